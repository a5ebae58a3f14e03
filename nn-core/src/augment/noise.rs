//! Additive Gaussian noise.

use nalgebra::SVector;

use super::Augment;
use super::error::{AugmentError, check_setting};
use crate::float::Float;
use crate::rng::Rng;

/// Adds independent Gaussian noise with mean 0 and standard deviation `std_dev` to every
/// value of the sample.
///
/// The noise is in the units of the raw sample: for 8x8 digits with pixels from 0 to
/// 16, a standard deviation of 1 is about 6% of the range.
///
/// ```
/// use nn_core::augment::{Augment, Noise};
/// use nn_core::{Rng, SVector};
///
/// let noise = Noise::new(0.1)?;
/// let mut sample = SVector::<f32, 4>::from_element(1.0);
/// noise.apply(&mut sample, &mut Rng::seed_from_u64(7));
/// assert!(sample.iter().all(|&v| (v - 1.0).abs() < 1.0));
/// # Ok::<(), nn_core::augment::AugmentError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    std_dev: f64,
}

impl Noise {
    /// Creates the transform.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless `std_dev` is finite and not negative.
    pub fn new(std_dev: f64) -> Result<Self, AugmentError> {
        let valid = std_dev >= 0.0 && std_dev.is_finite();
        check_setting(valid, "Noise", "std_dev", std_dev, "a finite number >= 0")?;
        Ok(Self { std_dev })
    }

    /// Returns the standard deviation of the noise.
    pub fn std_dev(&self) -> f64 {
        self.std_dev
    }
}

impl<T: Float, const N: usize> Augment<T, N> for Noise {
    /// Draws `N` normal samples, or nothing when the standard deviation is 0.
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
        if self.std_dev == 0.0 {
            return;
        }
        let std_dev = T::from_f64_lossy(self.std_dev);
        for value in sample.iter_mut() {
            *value += rng.normal(T::zero(), std_dev);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_std_dev_is_rejected() {
        for std_dev in [-0.1, f64::NAN, f64::INFINITY] {
            let error = Noise::new(std_dev).unwrap_err();
            let AugmentError::InvalidSetting { setting, .. } = error;
            assert_eq!(setting, "std_dev", "for {std_dev}");
        }
    }

    #[test]
    fn noise_changes_every_value() {
        let noise = Noise::new(0.5).unwrap();
        let mut sample = SVector::<f64, 16>::zeros();
        noise.apply(&mut sample, &mut Rng::seed_from_u64(1));
        assert!(sample.iter().all(|&v| v != 0.0), "{sample:?}");
    }
}
