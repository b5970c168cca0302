//! Why a number could not be read, stored or converted exactly.

use crate::error::TransformErrorKind;

/// A failure to read, store or convert a [`Numeric`](super::Numeric) without losing anything.
///
/// Values inside the variants are the offending number as text, cut to about 60 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumericError {
    /// The text is not a decimal number.
    #[error("not a decimal number: {input:?}")]
    Invalid {
        /// The text that was read.
        input: String,
    },
    /// NaN or an infinity, which a `numeric` column must not receive.
    #[error("{value} is not a finite number")]
    NotFinite {
        /// `NaN`, `Infinity` or `-Infinity` as given.
        value: String,
    },
    /// More than 131072 digits before the point or 16383 after (PostgreSQL's own limits).
    #[error("{value} is outside the range of PostgreSQL numeric")]
    OutOfRange {
        /// The number.
        value: String,
    },
    /// Storing the value in `numeric(precision, scale)` would round away non-zero digits.
    #[error("{value} has more fractional digits than numeric({precision},{scale}) keeps")]
    WouldRound {
        /// The number.
        value: String,
        /// The declared precision.
        precision: u32,
        /// The declared scale.
        scale: i32,
    },
    /// The value has too many digits before the point for `numeric(precision, scale)`.
    #[error("{value} is too large for numeric({precision},{scale})")]
    TooLarge {
        /// The number.
        value: String,
        /// The declared precision.
        precision: u32,
        /// The declared scale.
        scale: i32,
    },
    /// The value cannot be a BSON Decimal128 exactly (over 34 significant digits, or an exponent
    /// outside -6176..=6111).
    #[error("{value} cannot be stored exactly as a Decimal128: {reason}")]
    NotDecimal128 {
        /// The number.
        value: String,
        /// Which Decimal128 limit was hit.
        reason: &'static str,
    },
    /// Bytes in PostgreSQL's binary `numeric` format that are malformed.
    #[error("malformed binary numeric: {0}")]
    Wire(&'static str),
}

impl NumericError {
    /// The transform error for a value that was meant for the column type `target`
    /// (for example `numeric(38,18)`).
    pub fn into_transform_kind(self, target: &str) -> TransformErrorKind {
        match self {
            NumericError::WouldRound { value, .. } => TransformErrorKind::InexactNumber { value },
            NumericError::Invalid { input } => TransformErrorKind::TypeMismatch {
                expected: target.to_owned(),
                found: input,
            },
            NumericError::NotFinite { value }
            | NumericError::OutOfRange { value }
            | NumericError::TooLarge { value, .. }
            | NumericError::NotDecimal128 { value, .. } => TransformErrorKind::OutOfRange {
                value,
                target: target.to_owned(),
            },
            NumericError::Wire(reason) => TransformErrorKind::TypeMismatch {
                expected: target.to_owned(),
                found: format!("malformed binary numeric ({reason})"),
            },
        }
    }
}
