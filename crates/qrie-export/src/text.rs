//! Text that must fit a consumer's limits.

use std::borrow::Cow;

/// `s` cut to at most `max` characters (an ellipsis marks the cut), on a
/// character boundary; Security Hub rejects a whole finding over a limit.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some(_) => {
            let keep: String = s.chars().take(max.saturating_sub(1)).collect();
            Cow::Owned(keep + "…")
        }
    }
}

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`), `aws` if it has none.
pub fn partition(arn: &str) -> &str {
    match arn.split(':').nth(1) {
        Some(p) if p.starts_with("aws") => p,
        _ => "aws",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééééé", 4).chars().count(), 4);
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn partitions_come_from_the_arn() {
        assert_eq!(partition("arn:aws:s3:::b"), "aws");
        assert_eq!(partition("arn:aws-us-gov:iam::1:role/r"), "aws-us-gov");
        assert_eq!(partition("not-an-arn"), "aws");
    }
}
