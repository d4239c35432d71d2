//! Severity 0–100 and its labels. The label boundaries live here and nowhere else.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ValidationError;

/// A severity score from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Severity(u8);

impl Severity {
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        if (0..=100).contains(&value) {
            Ok(Severity(value as u8))
        } else {
            Err(ValidationError::Severity(value))
        }
    }

    /// For constants in the catalog; panics at compile time on a bad value.
    pub const fn of(value: u8) -> Self {
        assert!(value <= 100, "severity must be 0..=100");
        Severity(value)
    }

    pub fn value(self) -> u8 {
        self.0
    }

    pub fn label(self) -> SeverityLabel {
        match self.0 {
            90..=100 => SeverityLabel::Critical,
            70..=89 => SeverityLabel::High,
            40..=69 => SeverityLabel::Medium,
            10..=39 => SeverityLabel::Low,
            _ => SeverityLabel::Informational,
        }
    }
}

impl TryFrom<i64> for Severity {
    type Error = ValidationError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Severity::new(v)
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The named bands of severity, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityLabel {
    Critical,
    High,
    Medium,
    Low,
    Informational,
}

impl SeverityLabel {
    pub const ALL: [SeverityLabel; 5] = [
        SeverityLabel::Critical,
        SeverityLabel::High,
        SeverityLabel::Medium,
        SeverityLabel::Low,
        SeverityLabel::Informational,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLabel::Critical => "critical",
            SeverityLabel::High => "high",
            SeverityLabel::Medium => "medium",
            SeverityLabel::Low => "low",
            SeverityLabel::Informational => "informational",
        }
    }

    /// The lowest score that carries this label.
    pub fn min_score(self) -> u8 {
        match self {
            SeverityLabel::Critical => 90,
            SeverityLabel::High => 70,
            SeverityLabel::Medium => 40,
            SeverityLabel::Low => 10,
            SeverityLabel::Informational => 0,
        }
    }
}

impl fmt::Display for SeverityLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_at_every_boundary() {
        let cases = [
            (0, SeverityLabel::Informational),
            (9, SeverityLabel::Informational),
            (10, SeverityLabel::Low),
            (39, SeverityLabel::Low),
            (40, SeverityLabel::Medium),
            (69, SeverityLabel::Medium),
            (70, SeverityLabel::High),
            (89, SeverityLabel::High),
            (90, SeverityLabel::Critical),
            (100, SeverityLabel::Critical),
        ];
        for (score, label) in cases {
            assert_eq!(Severity::new(score).unwrap().label(), label, "{score}");
            assert!(Severity::new(score).unwrap().value() >= label.min_score());
        }
    }

    #[test]
    fn out_of_range_is_rejected() {
        assert_eq!(Severity::new(101), Err(ValidationError::Severity(101)));
        assert_eq!(Severity::new(-1), Err(ValidationError::Severity(-1)));
        assert!(serde_json::from_str::<Severity>("150").is_err());
        assert_eq!(serde_json::from_str::<Severity>("75").unwrap(), Severity::of(75));
    }
}
