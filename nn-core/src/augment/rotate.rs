//! Random rotations of an image.

use nalgebra::SVector;

use super::Augment;
use super::error::{AugmentError, check_finite, check_setting};
use super::image::{ImageSize, rotate_pixels};
use crate::float::Float;
use crate::rng::Rng;

/// Rotates an image of `H` rows and `W` columns about its centre by an angle drawn
/// uniformly from a range of degrees, with bilinear interpolation.
///
/// Pixels that come from outside the image become the fill value, 0 unless set with
/// [`fill_value`](Self::fill_value).
///
/// Positive angles turn the image counter-clockwise as displayed, with row 0 at the
/// top. See [`Image::rotate`](super::Image::rotate) for the interpolation and
/// [`Image`](super::Image) for the pixel layout and the size check.
///
/// ```
/// use nn_core::augment::{Augment, Rotate};
/// use nn_core::{Rng, SVector};
///
/// // Up to 10 degrees either way.
/// let rotate = Rotate::<8, 8>::new(10.0)?;
/// let mut digit = SVector::<f32, 64>::from_element(1.0);
/// rotate.apply(&mut digit, &mut Rng::seed_from_u64(5));
/// # Ok::<(), nn_core::augment::AugmentError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rotate<const H: usize, const W: usize> {
    min_degrees: f64,
    max_degrees: f64,
    fill: f64,
}

impl<const H: usize, const W: usize> Rotate<H, W> {
    /// Rotates by an angle from `[-max_degrees, max_degrees)`.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless `max_degrees` lies in `[0, 180]`.
    pub fn new(max_degrees: f64) -> Result<Self, AugmentError> {
        let valid = (0.0..=180.0).contains(&max_degrees);
        let expected = "an angle in [0, 180] degrees";
        check_setting(valid, "Rotate", "max_degrees", max_degrees, expected)?;
        Self::between(-max_degrees, max_degrees)
    }

    /// Rotates by an angle from `[min_degrees, max_degrees)`, or by exactly
    /// `min_degrees` when both are equal.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless
    /// `-180 <= min_degrees <= max_degrees <= 180`.
    pub fn between(min_degrees: f64, max_degrees: f64) -> Result<Self, AugmentError> {
        let expected = "an angle in [-180, 180] degrees";
        let min_valid = (-180.0..=180.0).contains(&min_degrees);
        check_setting(min_valid, "Rotate", "min_degrees", min_degrees, expected)?;
        let max_valid = (-180.0..=180.0).contains(&max_degrees);
        check_setting(max_valid, "Rotate", "max_degrees", max_degrees, expected)?;
        let ordered = min_degrees <= max_degrees;
        let expected_order = "an angle no larger than max_degrees";
        check_setting(
            ordered,
            "Rotate",
            "min_degrees",
            min_degrees,
            expected_order,
        )?;
        Ok(Self {
            min_degrees,
            max_degrees,
            fill: 0.0,
        })
    }

    /// Sets the value of the pixels that come from outside the image.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] if `fill` is NaN or infinite.
    pub fn fill_value(mut self, fill: f64) -> Result<Self, AugmentError> {
        check_finite("Rotate", "fill", fill)?;
        self.fill = fill;
        Ok(self)
    }
}

impl<T: Float, const H: usize, const W: usize, const N: usize> Augment<T, N> for Rotate<H, W> {
    /// Draws one uniform sample. Fails to compile unless `H * W == N`.
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
        let () = ImageSize::<H, W, N>::MATCHES;
        let degrees: f64 = rng.uniform(self.min_degrees, self.max_degrees);
        rotate_pixels::<H, W, T, N>(sample, degrees, T::from_f64_lossy(self.fill));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_angles_are_rejected() {
        assert!(Rotate::<3, 3>::new(-1.0).is_err());
        assert!(Rotate::<3, 3>::new(181.0).is_err());
        assert!(Rotate::<3, 3>::new(f64::NAN).is_err());
        assert!(Rotate::<3, 3>::between(10.0, 5.0).is_err());
        assert!(Rotate::<3, 3>::between(-200.0, 5.0).is_err());
        assert!(Rotate::<3, 3>::between(90.0, 90.0).is_ok());
    }

    #[test]
    fn equal_bounds_rotate_by_that_angle() {
        // A dot right of the centre of a 3x3 image moves above it after 90 degrees.
        let rotate = Rotate::<3, 3>::between(90.0, 90.0).unwrap();
        let mut image = SVector::<f64, 9>::zeros();
        image[3 + 2] = 1.0;
        rotate.apply(&mut image, &mut Rng::seed_from_u64(1));
        assert!((image[1] - 1.0).abs() < 1e-12, "{image:?}");
        assert!(image[3 + 2].abs() < 1e-12, "{image:?}");
    }
}
