//! Applying a transform to a random share of the samples.

use nalgebra::SVector;

use super::Augment;
use super::error::{AugmentError, check_probability};
use crate::float::Float;
use crate::rng::Rng;

/// Applies `transform` to each sample with probability `probability`, and leaves the
/// sample unchanged otherwise.
///
/// ```
/// use nn_core::augment::{Augment, Noise, RandomApply};
/// use nn_core::{Rng, SVector};
///
/// // Half of the samples get noise.
/// let sometimes = RandomApply::new(Noise::new(0.1)?, 0.5)?;
/// let mut sample = SVector::<f32, 4>::zeros();
/// sometimes.apply(&mut sample, &mut Rng::seed_from_u64(1));
/// # Ok::<(), nn_core::augment::AugmentError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomApply<A> {
    transform: A,
    probability: f64,
}

impl<A> RandomApply<A> {
    /// Creates the transform.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless `probability` lies in `[0, 1]`.
    pub fn new(transform: A, probability: f64) -> Result<Self, AugmentError> {
        check_probability("RandomApply", probability)?;
        Ok(Self {
            transform,
            probability,
        })
    }

    /// Returns the transform applied to the chosen samples.
    pub fn transform(&self) -> &A {
        &self.transform
    }

    /// Returns the probability that a sample is transformed.
    pub fn probability(&self) -> f64 {
        self.probability
    }
}

impl<T: Float, const N: usize, A: Augment<T, N>> Augment<T, N> for RandomApply<A> {
    /// Draws one uniform sample, then whatever `transform` draws if it runs.
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
        if rng.bernoulli(self.probability) {
            self.transform.apply(sample, rng);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::Noise;

    #[test]
    fn probability_outside_unit_interval_is_rejected() {
        let noise = Noise::new(1.0).unwrap();
        for probability in [-0.5, 1.5, f64::NAN] {
            assert!(
                RandomApply::new(noise, probability).is_err(),
                "accepted {probability}"
            );
        }
    }

    #[test]
    fn share_of_transformed_samples_matches_probability() {
        let sometimes = RandomApply::new(Noise::new(1.0).unwrap(), 0.3).unwrap();
        let mut rng = Rng::seed_from_u64(11);
        let trials = 10_000;
        let mut changed = 0;
        for _ in 0..trials {
            let mut sample = SVector::<f64, 2>::zeros();
            sometimes.apply(&mut sample, &mut rng);
            if sample != SVector::<f64, 2>::zeros() {
                changed += 1;
            }
        }
        // The standard deviation of the count is sqrt(10000 * 0.3 * 0.7) = 46.
        assert!(
            (2800..3200).contains(&changed),
            "{changed} of {trials} changed"
        );
    }
}
