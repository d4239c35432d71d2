//! IAM wildcard patterns: `*` matches any run of characters (also none), `?`
//! exactly one. Actions compare case-insensitively, resources and ARNs
//! case-sensitively ([`Case`]).
//!
//! Three questions, each exact for patterns made of `*`, `?` and literals:
//! - [`matches()`]: does the pattern match this concrete string?
//! - [`intersects`]: is there a string both patterns match? (`s3:Get*` and
//!   `s3:*Object` do: `s3:GetObject`.)
//! - [`covers`]: does the first pattern match everything the second matches?
//!   (`s3:*` covers `s3:Get*`; `s3:Get*` does not cover `s3:*`.)

/// How characters compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Action names (`s3:getobject` is `s3:GetObject`).
    Insensitive,
    /// Resource ARNs, principal ARNs, condition values.
    Sensitive,
}

fn eq(a: u8, b: u8, case: Case) -> bool {
    match case {
        Case::Insensitive => a.eq_ignore_ascii_case(&b),
        Case::Sensitive => a == b,
    }
}

/// Whether a string has wildcards, i.e. is a pattern rather than one value.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Whether `pattern` matches the concrete string `text` (whose `*` and `?`,
/// if any, are plain characters).
pub fn matches(pattern: &str, text: &str, case: Case) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    // Classic greedy matcher with backtracking to the last star.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == b'?' || (p[i] != b'*' && eq(p[i], t[j], case))) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// Whether some string is matched by both patterns.
pub fn intersects(a: &str, b: &str, case: Case) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // reach[i][j]: the prefixes a[..i] and b[..j] can produce the same string.
    let mut reach = vec![vec![false; b.len() + 1]; a.len() + 1];
    reach[0][0] = true;
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if !reach[i][j] {
                continue;
            }
            // A star may produce nothing...
            if i < a.len() && a[i] == b'*' {
                reach[i + 1][j] = true;
            }
            if j < b.len() && b[j] == b'*' {
                reach[i][j + 1] = true;
            }
            // ...or absorb one character the other side produces.
            if i < a.len() && j < b.len() {
                let (x, y) = (a[i], b[j]);
                match (x, y) {
                    // Two stars: covered by "produce nothing" above.
                    (b'*', b'*') => {}
                    (b'*', _) => reach[i][j + 1] = true,
                    (_, b'*') => reach[i + 1][j] = true,
                    _ if x == b'?' || y == b'?' || eq(x, y, case) => reach[i + 1][j + 1] = true,
                    _ => {}
                }
            }
        }
    }
    reach[a.len()][b.len()]
}

/// Whether `general` matches every string `specific` matches.
pub fn covers(general: &str, specific: &str, case: Case) -> bool {
    let (g, s) = (general.as_bytes(), specific.as_bytes());
    // reach[i][j]: g[..i] matches everything s[..j] matches. A star of `s`
    // can only be absorbed by a star of `g`; a `?` of `s` by `?` or `*`.
    let mut reach = vec![vec![false; s.len() + 1]; g.len() + 1];
    reach[0][0] = true;
    for i in 0..=g.len() {
        for j in 0..=s.len() {
            if !reach[i][j] {
                continue;
            }
            if i < g.len() && g[i] == b'*' {
                // The star produces nothing, or absorbs s[j] (whatever it is).
                reach[i + 1][j] = true;
                if j < s.len() {
                    reach[i][j + 1] = true;
                }
            }
            if i < g.len() && j < s.len() && g[i] != b'*' {
                let ok = match (g[i], s[j]) {
                    (_, b'*') => false,
                    (b'?', _) => true,
                    (_, b'?') => false,
                    (x, y) => eq(x, y, case),
                };
                if ok {
                    reach[i + 1][j + 1] = true;
                }
            }
        }
    }
    reach[g.len()][s.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let ci = Case::Insensitive;
        for (p, t, want) in [
            ("*", "s3:GetObject", true),
            ("s3:*", "s3:GetObject", true),
            ("s3:Get*", "s3:getobject", true),
            ("s3:Get*", "s3:PutObject", false),
            ("s3:*Object", "s3:PutObject", true),
            ("s3:*Object", "s3:PutObjectAcl", false),
            ("s3:Get?bject", "s3:GetObject", true),
            ("s3:Get?bject", "s3:Getbject", false),
            ("iam:*", "s3:GetObject", false),
            ("s3:GetObject", "s3:GetObject", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("", "", true),
            ("*", "", true),
        ] {
            assert_eq!(matches(p, t, ci), want, "{p} ~ {t}");
        }
        assert!(!matches("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/x", Case::Sensitive));
        assert!(matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/x", Case::Sensitive));
    }

    #[test]
    fn intersection() {
        let ci = Case::Insensitive;
        for (a, b, want) in [
            ("s3:Get*", "s3:*Object", true),
            ("s3:Get*", "s3:Put*", false),
            ("s3:*", "*", true),
            ("s3:Get*", "s3:GetObject", true),
            ("s3:GetObject", "s3:getobject", true),
            ("iam:*", "s3:*", false),
            ("s3:Put*Acl", "s3:PutBucket*", true),
            ("s3:Put*Acl", "s3:PutObject", false),
            ("a?c", "a*", true),
            ("a?c", "ab", false),
            ("*a", "b*", true),
        ] {
            assert_eq!(intersects(a, b, ci), want, "{a} & {b}");
            assert_eq!(intersects(b, a, ci), want, "{b} & {a}");
        }
    }

    #[test]
    fn coverage() {
        let ci = Case::Insensitive;
        for (g, s, want) in [
            ("*", "s3:Get*", true),
            ("s3:*", "s3:Get*", true),
            ("s3:Get*", "s3:*", false),
            ("s3:Get*", "s3:GetObject", true),
            ("s3:GetObject", "s3:Get*", false),
            ("s3:Put*Acl", "s3:PutBucketAcl", true),
            ("s3:Put*Acl", "s3:Put*", false),
            // `?` matches one character, but not every string a `*` stands for.
            ("a?", "a*", false),
            ("a*", "a?", true),
            ("a?", "a?", true),
            ("s3:GETOBJECT", "s3:GetObject", true),
        ] {
            assert_eq!(covers(g, s, ci), want, "{g} covers {s}");
        }
        assert!(!covers("arn:aws:s3:::B/*", "arn:aws:s3:::b/*", Case::Sensitive));
    }
}
