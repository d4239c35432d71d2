//! Confirmation for operations that cost something (purges, hard deletes).

use anyhow::{bail, Result};
use std::io::{BufRead, IsTerminal, Write};

/// Proceeds when `--yes` was given, or when an operator at a terminal agrees.
/// Without a terminal and without `--yes` it refuses rather than guess.
pub fn confirm(warning: &str, yes: bool) -> Result<()> {
    ask(warning, yes, "Continue? [y/N] ", |a| matches!(a, "y" | "Y" | "yes"), "cancelled")
}

/// Proceeds when `--yes` was given, or when an operator at a terminal types
/// `expected` (a policy id) again: for what cannot be undone.
pub fn confirm_typed(warning: &str, expected: &str, yes: bool) -> Result<()> {
    let refused = format!("cancelled: what was typed is not {expected}");
    ask(warning, yes, &format!("Type {expected} to confirm: "), |a| a == expected, &refused)
}

fn ask(warning: &str, yes: bool, prompt: &str, accept: impl Fn(&str) -> bool, refused: &str) -> Result<()> {
    eprintln!("warning: {warning}");
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("not confirmed: pass --yes to proceed without a prompt");
    }
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if accept(answer.trim()) {
        Ok(())
    } else {
        bail!("{refused}")
    }
}
