//! The error the transform constructors return for invalid settings.

use core::fmt;

/// An invalid augmentation setting, returned by the constructor or setter that received
/// it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AugmentError {
    /// A setting is outside its valid range.
    InvalidSetting {
        /// The transform the setting belongs to, such as `Noise`.
        transform: &'static str,
        /// The setting, such as `std_dev`.
        setting: &'static str,
        /// The rejected value.
        value: f64,
        /// The valid range, such as `a finite number >= 0`.
        expected: &'static str,
    },
}

impl fmt::Display for AugmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSetting {
                transform,
                setting,
                value,
                expected,
            } => write!(
                f,
                "invalid {transform} {setting} {value}: expected {expected}"
            ),
        }
    }
}

impl core::error::Error for AugmentError {}

/// Returns `Ok(())` when `valid` holds, else an [`AugmentError::InvalidSetting`].
pub(crate) fn check_setting(
    valid: bool,
    transform: &'static str,
    setting: &'static str,
    value: f64,
    expected: &'static str,
) -> Result<(), AugmentError> {
    if valid {
        Ok(())
    } else {
        Err(AugmentError::InvalidSetting {
            transform,
            setting,
            value,
            expected,
        })
    }
}

/// Checks that `value` is a probability: a number in `[0, 1]`.
pub(crate) fn check_probability(transform: &'static str, value: f64) -> Result<(), AugmentError> {
    let valid = (0.0..=1.0).contains(&value);
    check_setting(valid, transform, "probability", value, "a number in [0, 1]")
}

/// Checks that `value` is finite, as fill values must be.
pub(crate) fn check_finite(
    transform: &'static str,
    setting: &'static str,
    value: f64,
) -> Result<(), AugmentError> {
    check_setting(
        value.is_finite(),
        transform,
        setting,
        value,
        "a finite number",
    )
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    #[test]
    fn message_names_transform_setting_and_range() {
        let error = check_probability("RandomApply", 1.5).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid RandomApply probability 1.5: expected a number in [0, 1]"
        );
    }

    #[test]
    fn probability_bounds_are_inclusive() {
        assert!(check_probability("HorizontalFlip", 0.0).is_ok());
        assert!(check_probability("HorizontalFlip", 1.0).is_ok());
        assert!(check_probability("HorizontalFlip", -1e-9).is_err());
        assert!(check_probability("HorizontalFlip", f64::NAN).is_err());
    }

    #[test]
    fn finite_check_rejects_nan_and_infinity() {
        assert!(check_finite("Shift", "fill", 0.5).is_ok());
        assert!(check_finite("Shift", "fill", f64::NAN).is_err());
        assert!(check_finite("Shift", "fill", f64::NEG_INFINITY).is_err());
    }
}
