//! Random scaling of a whole sample.

use nalgebra::SVector;

use super::Augment;
use super::error::{AugmentError, check_setting};
use crate::float::Float;
use crate::rng::Rng;

/// Multiplies the whole sample by one factor drawn uniformly from
/// `[1 - strength, 1 + strength)`, a new factor per sample.
///
/// It scales the values (signal amplitude, image contrast), not the size of an image.
///
/// ```
/// use nn_core::augment::{Augment, RandomScale};
/// use nn_core::{Rng, SVector};
///
/// let scale = RandomScale::new(0.2)?;
/// let mut sample = SVector::<f64, 3>::new(1.0, 2.0, -4.0);
/// scale.apply(&mut sample, &mut Rng::seed_from_u64(3));
/// let factor = sample[0];
/// assert!((0.8..1.2).contains(&factor));
/// assert_eq!(sample[1], 2.0 * factor);
/// # Ok::<(), nn_core::augment::AugmentError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomScale {
    strength: f64,
}

impl RandomScale {
    /// Creates the transform.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless `strength` lies in `[0, 1]`, which keeps
    /// the factor from turning negative and flipping the sign of the sample.
    pub fn new(strength: f64) -> Result<Self, AugmentError> {
        let valid = (0.0..=1.0).contains(&strength);
        check_setting(
            valid,
            "RandomScale",
            "strength",
            strength,
            "a number in [0, 1]",
        )?;
        Ok(Self { strength })
    }

    /// Returns the largest relative change of the factor from 1.
    pub fn strength(&self) -> f64 {
        self.strength
    }
}

impl<T: Float, const N: usize> Augment<T, N> for RandomScale {
    /// Draws one uniform sample.
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
        let factor: f64 = rng.uniform(1.0 - self.strength, 1.0 + self.strength);
        *sample *= T::from_f64_lossy(factor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_outside_unit_interval_is_rejected() {
        for strength in [-0.01, 1.01, f64::NAN] {
            assert!(RandomScale::new(strength).is_err(), "accepted {strength}");
        }
    }

    #[test]
    fn every_value_gets_the_same_factor() {
        let scale = RandomScale::new(0.5).unwrap();
        let mut sample = SVector::<f64, 4>::new(1.0, 2.0, 3.0, 4.0);
        scale.apply(&mut sample, &mut Rng::seed_from_u64(2));
        let factor = sample[0];
        assert_ne!(factor, 1.0);
        for i in 0..4 {
            assert!(
                (sample[i] - (i + 1) as f64 * factor).abs() < 1e-12,
                "{sample:?}"
            );
        }
    }
}
