//! Attacker-chosen text (resource names, tags, event names, policy
//! documents) leaving qrie for places that would act on it: a terminal runs
//! escape sequences, a spreadsheet runs formulas. One rule for each, used by
//! every table, document and CSV qrie writes. (HTML is escaped by the page
//! templates; SQL takes bound parameters.)

use std::borrow::Cow;
use std::fmt::Write;

/// Characters a terminal acts on or that reorder what it shows: C0 and C1
/// controls and DEL, and the Unicode bidirectional overrides and isolates
/// (which can make text read differently from what it is).
fn acted_on(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character a terminal would act on written as an escape
/// (`\x1b`, `\u{202e}`), so what is shown is what is stored. With
/// `keep_lines`, line feeds (the document's own layout) stay.
pub fn terminal_safe(s: &str, keep_lines: bool) -> Cow<'_, str> {
    let escaped = |c: char| acted_on(c) && !(keep_lines && c == '\n');
    if !s.chars().any(escaped) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !escaped(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// A CSV cell a spreadsheet would run as a formula (it starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading apostrophe, unless it
/// is a plain number (`-5`). Quoting (RFC 4180) is the CSV writer's.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && s.parse::<f64>().is_err() {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Longest stored names and free text, by field: what operators type is
/// stored, listed and shown on every page, so none of it is unbounded.
pub mod limits {
    /// An account's display name (AWS allows 50; names from elsewhere get room).
    pub const ACCOUNT_NAME: usize = 256;
    /// An IAM role ARN (AWS: 2048).
    pub const ROLE_ARN: usize = 2048;
    /// An STS external id (AWS: 1224).
    pub const EXTERNAL_ID: usize = 1224;
    /// A token's name.
    pub const TOKEN_NAME: usize = 128;
    /// A launched policy's remediation text.
    pub const REMEDIATION: usize = 10_000;
    /// A tag key and value in a scope (AWS: 128 and 256).
    pub const TAG_KEY: usize = 128;
    pub const TAG_VALUE: usize = 256;
    /// Entries of one list in a scope (accounts, OUs, regions, tags).
    pub const SCOPE_LIST: usize = 1_000;
}

/// Err when `s` is longer than `max` characters.
pub fn check_len(what: &'static str, s: &str, max: usize) -> Result<(), crate::ValidationError> {
    let got = s.chars().count();
    if got > max {
        return Err(crate::ValidationError::TooLong { what, max, got });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_run() {
        let evil = "Ok\u{1b}]0;PWNED\u{7}\u{1b}[31mred\u{9b}2J\u{7f}";
        let safe = terminal_safe(evil, false);
        assert_eq!(safe, "Ok\\x1b]0;PWNED\\x07\\x1b[31mred\\x9b2J\\x7f");
        assert!(!safe.chars().any(char::is_control));
        assert_eq!(terminal_safe("a\nb\tc", true), "a\nb\\x09c");
        assert_eq!(terminal_safe("a\nb", false), "a\\x0ab");
        assert_eq!(terminal_safe("abc\u{202e}gpj.exe", false), "abc\\u{202e}gpj.exe");
        assert!(matches!(terminal_safe("plain ünïcode ✓", false), Cow::Borrowed(_)));
    }

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        for (cell, expected) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+3+3", "'+3+3"),
            ("@SUM(1,1)", "'@SUM(1,1)"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-5", "-5"),
            ("+1.5", "+1.5"),
            ("bucket-=1", "bucket-=1"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(cell), expected, "{cell:?}");
        }
    }
}
