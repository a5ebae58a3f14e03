//! Random erasing of a rectangle (Zhong, Zheng, Kang, Li and Yang, "Random Erasing Data
//! Augmentation", AAAI 2020, arXiv:1708.04896).

use nalgebra::SVector;

use super::Augment;
use super::error::{AugmentError, check_finite, check_probability, check_setting};
use super::image::{ImageSize, erase_pixels};
use crate::float::Float;
use crate::rng::Rng;

/// How many rectangle sizes [`RandomErasing`] draws before it gives up on an image.
const MAX_ATTEMPTS: usize = 10;

/// Sets a rectangle of random size and position in an image of `H` rows and `W`
/// columns to a constant value, with probability `probability`.
///
/// For each image chosen, the transform draws the rectangle's area as a fraction of the
/// image area uniformly from the scale range, and its aspect ratio (height / width)
/// uniformly from the ratio range. The rectangle is `round(sqrt(area * ratio))` pixels
/// high and `round(sqrt(area / ratio))` wide, placed uniformly among the positions where
/// it fits. A size that does not fit is drawn again, up to 10 times, and after that the
/// image stays unchanged. Zhong et al. redraw until a size fits and erase with random
/// values, but this transform gives up, so it always ends, and erases with one value, 0
/// unless set with [`value`](Self::value).
///
/// The defaults are a scale range of `[0.02, 0.4]` and a ratio range of `[0.3, 1 / 0.3]`.
/// See [`Image`](super::Image) for the pixel layout and the size check.
///
/// ```
/// use nn_core::augment::{Augment, RandomErasing};
/// use nn_core::{Rng, SVector};
///
/// let erasing = RandomErasing::<8, 8>::new(1.0)?.scale(0.1, 0.2)?;
/// let mut digit = SVector::<f32, 64>::from_element(1.0);
/// erasing.apply(&mut digit, &mut Rng::seed_from_u64(5));
/// let erased = digit.iter().filter(|&&v| v == 0.0).count();
/// assert!((3..=16).contains(&erased), "{erased} pixels erased");
/// # Ok::<(), nn_core::augment::AugmentError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomErasing<const H: usize, const W: usize> {
    probability: f64,
    min_scale: f64,
    max_scale: f64,
    min_ratio: f64,
    max_ratio: f64,
    value: f64,
}

impl<const H: usize, const W: usize> RandomErasing<H, W> {
    /// Erases with probability `probability`, with the default scale and ratio ranges.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless `probability` lies in `[0, 1]`.
    pub fn new(probability: f64) -> Result<Self, AugmentError> {
        check_probability("RandomErasing", probability)?;
        Ok(Self {
            probability,
            min_scale: 0.02,
            max_scale: 0.4,
            min_ratio: 0.3,
            max_ratio: 1.0 / 0.3,
            value: 0.0,
        })
    }

    /// Sets the range of the erased area, as a fraction of the image area.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless both bounds lie in `(0, 1]` and
    /// `min <= max`.
    pub fn scale(mut self, min: f64, max: f64) -> Result<Self, AugmentError> {
        let expected = "a fraction of the image area in (0, 1]";
        let min_valid = min > 0.0 && min <= 1.0;
        check_setting(min_valid, "RandomErasing", "scale minimum", min, expected)?;
        let max_valid = max > 0.0 && max <= 1.0;
        check_setting(max_valid, "RandomErasing", "scale maximum", max, expected)?;
        let expected_order = "a fraction no larger than the scale maximum";
        check_setting(
            min <= max,
            "RandomErasing",
            "scale minimum",
            min,
            expected_order,
        )?;
        self.min_scale = min;
        self.max_scale = max;
        Ok(self)
    }

    /// Sets the range of the aspect ratio (height / width) of the erased rectangle.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] unless both bounds are finite and positive and
    /// `min <= max`.
    pub fn ratio(mut self, min: f64, max: f64) -> Result<Self, AugmentError> {
        let expected = "a finite ratio > 0";
        let min_valid = min > 0.0 && min.is_finite();
        check_setting(min_valid, "RandomErasing", "ratio minimum", min, expected)?;
        let max_valid = max > 0.0 && max.is_finite();
        check_setting(max_valid, "RandomErasing", "ratio maximum", max, expected)?;
        let expected_order = "a ratio no larger than the ratio maximum";
        check_setting(
            min <= max,
            "RandomErasing",
            "ratio minimum",
            min,
            expected_order,
        )?;
        self.min_ratio = min;
        self.max_ratio = max;
        Ok(self)
    }

    /// Sets the value the erased pixels get.
    ///
    /// # Errors
    ///
    /// [`AugmentError::InvalidSetting`] if `value` is NaN or infinite.
    pub fn value(mut self, value: f64) -> Result<Self, AugmentError> {
        check_finite("RandomErasing", "value", value)?;
        self.value = value;
        Ok(self)
    }

    /// Draws the rectangle `(top, left, height, width)` to erase, or `None` when no
    /// drawn size fits the image.
    fn draw_rectangle(&self, rng: &mut Rng) -> Option<(usize, usize, usize, usize)> {
        let image_area = (H * W) as f64;
        for _ in 0..MAX_ATTEMPTS {
            let area = rng.uniform(self.min_scale, self.max_scale) * image_area;
            let ratio: f64 = rng.uniform(self.min_ratio, self.max_ratio);
            let height = libm::round(libm::sqrt(area * ratio)) as usize;
            let width = libm::round(libm::sqrt(area / ratio)) as usize;
            if height == 0 || width == 0 || height > H || width > W {
                continue;
            }
            let top = rng.below((H - height + 1) as u64) as usize;
            let left = rng.below((W - width + 1) as u64) as usize;
            return Some((top, left, height, width));
        }
        None
    }
}

impl<T: Float, const H: usize, const W: usize, const N: usize> Augment<T, N>
    for RandomErasing<H, W>
{
    /// Draws one uniform sample, and for an image chosen for erasing two more per
    /// attempted size and two integers for the position. Fails to compile unless
    /// `H * W == N`.
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
        let () = ImageSize::<H, W, N>::MATCHES;
        if !rng.bernoulli(self.probability) {
            return;
        }
        if let Some((top, left, height, width)) = self.draw_rectangle(rng) {
            let value = T::from_f64_lossy(self.value);
            erase_pixels::<H, W, T, N>(sample, top, left, height, width, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_ranges_are_rejected() {
        let erasing = RandomErasing::<8, 8>::new(0.5).unwrap();
        assert!(erasing.scale(0.0, 0.5).is_err());
        assert!(erasing.scale(0.1, 1.5).is_err());
        assert!(erasing.scale(0.5, 0.1).is_err());
        assert!(erasing.scale(1.0, 1.0).is_ok());
        assert!(erasing.ratio(0.0, 2.0).is_err());
        assert!(erasing.ratio(2.0, 1.0).is_err());
        assert!(erasing.ratio(0.5, f64::INFINITY).is_err());
        assert!(erasing.value(f64::NAN).is_err());
        assert!(RandomErasing::<8, 8>::new(1.1).is_err());
    }

    #[test]
    fn rectangles_fit_and_match_the_drawn_area() {
        let erasing = RandomErasing::<10, 20>::new(1.0)
            .unwrap()
            .scale(0.1, 0.2)
            .unwrap()
            .ratio(0.5, 2.0)
            .unwrap();
        let mut rng = Rng::seed_from_u64(8);
        for _ in 0..1_000 {
            let (top, left, height, width) = erasing.draw_rectangle(&mut rng).unwrap();
            assert!(top + height <= 10, "rows {top}..{}", top + height);
            assert!(left + width <= 20, "columns {left}..{}", left + width);
            // Rounding each side by up to half a pixel changes the area by at most
            // (h + w + 1) / 2 + 1 / 4 pixels.
            let slack = (height + width + 1) as f64 / 2.0 + 0.25;
            let area = (height * width) as f64;
            assert!(
                area >= 0.1 * 200.0 - slack && area <= 0.2 * 200.0 + slack,
                "{height}x{width}"
            );
        }
    }

    #[test]
    fn whole_image_area_fits_only_as_a_square() {
        // With scale 1, only ratios that round both sides to 4 pixels fit, so many
        // attempts fail. A rectangle, when found, covers the whole 4x4 image.
        let erasing = RandomErasing::<4, 4>::new(1.0)
            .unwrap()
            .scale(1.0, 1.0)
            .unwrap();
        let mut rng = Rng::seed_from_u64(2);
        let mut found = 0;
        for _ in 0..100 {
            if let Some(rectangle) = erasing.draw_rectangle(&mut rng) {
                assert_eq!(rectangle, (0, 0, 4, 4));
                found += 1;
            }
        }
        assert!(found > 0, "no rectangle fitted in 100 images");
    }
}
