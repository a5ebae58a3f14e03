//! Random horizontal flips.

use nalgebra::SVector;

use super::Augment;
use super::error::{AugmentError, check_probability};
use super::image::{ImageSize, flip_pixels};
use crate::float::Float;
use crate::rng::Rng;

/// Mirrors an image of `H` rows and `W` columns left to right with probability
/// `probability`.
///
/// Use it only where a mirrored sample keeps its label: it suits photographs of objects
/// but not digits or letters. See [`Image`](super::Image) for the pixel layout and the
/// size check.
///
/// ```
/// use nn_core::augment::{Augment, HorizontalFlip};
/// use nn_core::{Rng, SVector};
///
/// let flip = HorizontalFlip::<1, 3>::new(1.0)?;
/// let mut row = SVector::<f32, 3>::new(1.0, 2.0, 3.0);
/// flip.apply(&mut row, &mut Rng::seed_from_u64(0));
/// assert_eq!(row, SVector::<f32, 3>::new(3.0, 2.0, 1.0));
/// # Ok::<(), nn_core::augment::AugmentError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HorizontalFlip<const H: usize, const W: usize> {
    probability: f64,
}

impl<const H: usize, const W: usize> HorizontalFlip<H, W> {
    /// Creates the transform.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless `probability` lies in `[0, 1]`.
    pub fn new(probability: f64) -> Result<Self, AugmentError> {
        check_probability("HorizontalFlip", probability)?;
        Ok(Self { probability })
    }

    /// Returns the probability that an image is flipped.
    pub fn probability(&self) -> f64 {
        self.probability
    }
}

impl<T: Float, const H: usize, const W: usize, const N: usize> Augment<T, N>
    for HorizontalFlip<H, W>
{
    /// Draws one uniform sample. Fails to compile unless `H * W == N`.
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
        let () = ImageSize::<H, W, N>::MATCHES;
        if rng.bernoulli(self.probability) {
            flip_pixels::<W, T, N>(sample);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probability_zero_never_flips() {
        let flip = HorizontalFlip::<2, 2>::new(0.0).unwrap();
        let original = SVector::<f32, 4>::new(1.0, 2.0, 3.0, 4.0);
        let mut rng = Rng::seed_from_u64(9);
        for _ in 0..100 {
            let mut image = original;
            flip.apply(&mut image, &mut rng);
            assert_eq!(image, original);
        }
    }
}
