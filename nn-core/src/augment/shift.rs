//! Random shifts of an image by whole pixels.

use nalgebra::SVector;

use super::Augment;
use super::error::{AugmentError, check_finite, check_setting};
use super::image::{ImageSize, shift_pixels};
use crate::float::Float;
use crate::rng::Rng;

/// Shifts an image of `H` rows and `W` columns by a random whole number of pixels along
/// each axis.
///
/// Pixels that enter from outside the image become the fill value, 0 unless set with
/// [`fill_value`](Self::fill_value).
///
/// The vertical and the horizontal offset are drawn independently and uniformly from
/// `-max..=max` of their axis, so `Shift::<8, 8>::new(1)` leaves the image in place in
/// one case out of nine. See [`Image`](super::Image) for the pixel layout and the size
/// check.
///
/// ```
/// use nn_core::augment::{Augment, Shift};
/// use nn_core::{Rng, SVector};
///
/// let shift = Shift::<8, 8>::new(1)?;
/// let mut digit = SVector::<f32, 64>::from_element(1.0);
/// shift.apply(&mut digit, &mut Rng::seed_from_u64(5));
/// # Ok::<(), nn_core::augment::AugmentError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shift<const H: usize, const W: usize> {
    max_rows: usize,
    max_cols: usize,
    fill: f64,
}

impl<const H: usize, const W: usize> Shift<H, W> {
    /// Shifts by up to `max_pixels` pixels along each axis.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless `max_pixels` is smaller than both the
    /// height and the width, so that some of the image always stays in view.
    pub fn new(max_pixels: usize) -> Result<Self, AugmentError> {
        Self::per_axis(max_pixels, max_pixels)
    }

    /// Shifts by up to `max_rows` pixels vertically and `max_cols` pixels horizontally.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless `max_rows < H` and `max_cols < W`.
    pub fn per_axis(max_rows: usize, max_cols: usize) -> Result<Self, AugmentError> {
        let expected_rows = "a number of pixels smaller than the image height";
        check_setting(
            max_rows < H,
            "Shift",
            "max_rows",
            max_rows as f64,
            expected_rows,
        )?;
        let expected_cols = "a number of pixels smaller than the image width";
        check_setting(
            max_cols < W,
            "Shift",
            "max_cols",
            max_cols as f64,
            expected_cols,
        )?;
        Ok(Self {
            max_rows,
            max_cols,
            fill: 0.0,
        })
    }

    /// Sets the value of the pixels that enter from outside the image.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] if `fill` is NaN or infinite.
    pub fn fill_value(mut self, fill: f64) -> Result<Self, AugmentError> {
        check_finite("Shift", "fill", fill)?;
        self.fill = fill;
        Ok(self)
    }
}

impl<T: Float, const H: usize, const W: usize, const N: usize> Augment<T, N> for Shift<H, W> {
    /// Draws two uniform integers. Fails to compile unless `H * W == N`.
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
        let () = ImageSize::<H, W, N>::MATCHES;
        let rows = draw_offset(rng, self.max_rows);
        let cols = draw_offset(rng, self.max_cols);
        shift_pixels::<H, W, T, N>(sample, rows, cols, T::from_f64_lossy(self.fill));
    }
}

/// Draws an integer uniformly from `-max..=max`.
fn draw_offset(rng: &mut Rng, max: usize) -> isize {
    let choices = 2 * max as u64 + 1;
    rng.below(choices) as isize - max as isize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_as_large_as_image_is_rejected() {
        assert!(Shift::<4, 6>::new(4).is_err());
        assert!(Shift::<4, 6>::per_axis(3, 6).is_err());
        assert!(Shift::<4, 6>::per_axis(3, 5).is_ok());
        assert!(Shift::<4, 6>::new(1).unwrap().fill_value(f64::NAN).is_err());
    }

    #[test]
    fn offsets_cover_the_whole_range() {
        let mut rng = Rng::seed_from_u64(4);
        let mut seen = [0usize; 5];
        for _ in 0..5_000 {
            let offset = draw_offset(&mut rng, 2);
            assert!((-2..=2).contains(&offset), "offset {offset}");
            seen[(offset + 2) as usize] += 1;
        }
        assert!(seen.iter().all(|&count| count > 800), "{seen:?}");
    }
}
