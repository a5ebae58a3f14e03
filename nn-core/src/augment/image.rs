//! Deterministic operations on a sample that contains an image. The random image
//! transforms draw the parameters of these operations.

use core::marker::PhantomData;

use nalgebra::SVector;

use crate::float::Float;

/// Deterministic operations on a sample of `N` values that contains an image of `H` rows
/// and `W` columns in row-major order: pixel `(r, c)` is value `r * W + c`, as the IDX
/// and CSV readers store images.
///
/// Every operation, and the `apply` of every image transform, requires `H * W == N`.
/// Stable Rust cannot state that in a trait bound, so the check is a constant assertion
/// that the compiler evaluates when it instantiates the generic code. `cargo build`,
/// `cargo test` and `cargo run` reject a mismatch with the message "image transform size
/// mismatch", the sizes (`ImageSize::<28, 28, 64>`) and the function being instantiated
/// (`<Shift<28, 28> as Augment<f32, 64>>::apply`). `cargo check` stops before
/// instantiation and does not report it.
///
/// ```
/// use nn_core::SVector;
/// use nn_core::augment::Image;
///
/// // A 2x3 image: rows [1 2 3] and [4 5 6].
/// let mut sample = SVector::<f32, 6>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// Image::<2, 3>::flip_horizontal(&mut sample);
/// assert_eq!(sample.as_slice(), &[3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
/// Image::<2, 3>::shift(&mut sample, 1, 0, 0.0);
/// assert_eq!(sample.as_slice(), &[0.0, 0.0, 0.0, 3.0, 2.0, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Image<const H: usize, const W: usize>(PhantomData<[[(); W]; H]>);

/// The compile-time check that an image of `H` rows and `W` columns has `N` pixels.
///
/// Every public operation on images evaluates [`MATCHES`](Self::MATCHES), whose
/// initialiser fails when the sizes differ. The compiler reports that failure for each
/// instantiation, with the three sizes in the constant's name.
pub(crate) struct ImageSize<const H: usize, const W: usize, const N: usize>;

impl<const H: usize, const W: usize, const N: usize> ImageSize<H, W, N> {
    /// Evaluates to `()` when `H * W == N` and fails to compile otherwise.
    pub(crate) const MATCHES: () = assert!(
        H * W == N,
        "image transform size mismatch: the image height times its width must equal the \
         sample length; declare the transform with the image's height and width, such as \
         `Shift::<8, 8>` for samples of 64 values"
    );
}

impl<const H: usize, const W: usize> Image<H, W> {
    /// Moves the image `rows` pixels down and `cols` pixels right, or up and left for
    /// negative values. Pixels that enter from outside the image become `fill`.
    ///
    /// Works in place, without a copy of the sample.
    pub fn shift<T: Float, const N: usize>(
        sample: &mut SVector<T, N>,
        rows: isize,
        cols: isize,
        fill: T,
    ) {
        let () = ImageSize::<H, W, N>::MATCHES;
        shift_pixels::<H, W, T, N>(sample, rows, cols, fill);
    }

    /// Rotates the image by `degrees` counter-clockwise (as displayed, with row 0 at the
    /// top) about its centre, with bilinear interpolation. Pixels that come from outside
    /// the image become `fill`.
    ///
    /// Each output pixel blends the four input pixels around its source point, and a
    /// neighbour outside the image counts as `fill`, so the image edge blends smoothly
    /// into the fill. A rotation by 0 degrees returns the sample unchanged. The
    /// operation keeps a copy of the sample (`N` values) on the stack.
    pub fn rotate<T: Float, const N: usize>(sample: &mut SVector<T, N>, degrees: f64, fill: T) {
        let () = ImageSize::<H, W, N>::MATCHES;
        rotate_pixels::<H, W, T, N>(sample, degrees, fill);
    }

    /// Mirrors the image left to right: column `c` and column `W - 1 - c` swap.
    pub fn flip_horizontal<T: Float, const N: usize>(sample: &mut SVector<T, N>) {
        let () = ImageSize::<H, W, N>::MATCHES;
        flip_pixels::<W, T, N>(sample);
    }

    /// Sets the pixels of the rectangle of `height` rows and `width` columns whose
    /// top-left pixel is `(top, left)` to `value`.
    ///
    /// The part of the rectangle outside the image is ignored.
    pub fn erase<T: Float, const N: usize>(
        sample: &mut SVector<T, N>,
        top: usize,
        left: usize,
        height: usize,
        width: usize,
        value: T,
    ) {
        let () = ImageSize::<H, W, N>::MATCHES;
        erase_pixels::<H, W, T, N>(sample, top, left, height, width, value);
    }
}

// The functions below do the work of the `Image` operations without the size check, so
// that a transform can run its own check and a mismatch is reported once, at the call
// of the transform's `apply`. Every caller evaluates `ImageSize::<H, W, N>::MATCHES`
// first.

/// Runs [`Image::shift`] without the size check.
pub(crate) fn shift_pixels<const H: usize, const W: usize, T: Float, const N: usize>(
    sample: &mut SVector<T, N>,
    rows: isize,
    cols: isize,
    fill: T,
) {
    if rows == 0 && cols == 0 {
        return;
    }

    // Pixel (r, c) takes the value of pixel (r - rows, c - cols). Visiting rows and
    // columns away from the direction of the shift reads every source pixel before it
    // is overwritten.
    let values = sample.as_mut_slice();
    for row_step in 0..H {
        let r = if rows > 0 { H - 1 - row_step } else { row_step };
        for col_step in 0..W {
            let c = if cols > 0 { W - 1 - col_step } else { col_step };
            let source_row = (r as isize).saturating_sub(rows);
            let source_col = (c as isize).saturating_sub(cols);
            values[r * W + c] = match pixel_index::<H, W>(source_row, source_col) {
                Some(index) => values[index],
                None => fill,
            };
        }
    }
}

/// Runs [`Image::rotate`] without the size check.
pub(crate) fn rotate_pixels<const H: usize, const W: usize, T: Float, const N: usize>(
    sample: &mut SVector<T, N>,
    degrees: f64,
    fill: T,
) {
    if degrees == 0.0 {
        return;
    }

    let source = *sample;
    let radians = degrees.to_radians();
    let (sin, cos) = (libm::sin(radians), libm::cos(radians));
    let center_row = (H as f64 - 1.0) / 2.0;
    let center_col = (W as f64 - 1.0) / 2.0;
    for r in 0..H {
        for c in 0..W {
            // Output point (x right, y up) comes from the input point rotated back by
            // the angle: multiply by the rotation matrix of -degrees.
            let x = c as f64 - center_col;
            let y = center_row - r as f64;
            let source_x = cos * x + sin * y;
            let source_y = -sin * x + cos * y;
            let source_row = center_row - source_y;
            let source_col = center_col + source_x;
            sample[r * W + c] = bilinear::<H, W, T, N>(&source, source_row, source_col, fill);
        }
    }
}

/// Runs [`Image::flip_horizontal`] without the size check.
pub(crate) fn flip_pixels<const W: usize, T: Float, const N: usize>(sample: &mut SVector<T, N>) {
    // `max(1)` only avoids a zero chunk size, which panics. An image of width 0 has no
    // values, so nothing is flipped.
    for row in sample.as_mut_slice().chunks_exact_mut(W.max(1)) {
        row.reverse();
    }
}

/// Runs [`Image::erase`] without the size check.
pub(crate) fn erase_pixels<const H: usize, const W: usize, T: Float, const N: usize>(
    sample: &mut SVector<T, N>,
    top: usize,
    left: usize,
    height: usize,
    width: usize,
    value: T,
) {
    let bottom = top.saturating_add(height).min(H);
    let right = left.saturating_add(width).min(W);
    for r in top.min(H)..bottom {
        for c in left.min(W)..right {
            sample[r * W + c] = value;
        }
    }
}

/// Returns the index of pixel `(row, col)`, or `None` outside an `H x W` image.
fn pixel_index<const H: usize, const W: usize>(row: isize, col: isize) -> Option<usize> {
    let inside = (0..H as isize).contains(&row) && (0..W as isize).contains(&col);
    inside.then(|| row as usize * W + col as usize)
}

/// Interpolates the image bilinearly at the fractional position `(row, col)`, taking
/// `fill` for neighbours outside the image.
fn bilinear<const H: usize, const W: usize, T: Float, const N: usize>(
    image: &SVector<T, N>,
    row: f64,
    col: f64,
    fill: T,
) -> T {
    let top = libm::floor(row);
    let left = libm::floor(col);
    let down = row - top;
    let right = col - left;
    let pixel =
        |dr: f64, dc: f64| match pixel_index::<H, W>((top + dr) as isize, (left + dc) as isize) {
            Some(index) => image[index],
            None => fill,
        };

    let weight = |w: f64| T::from_f64_lossy(w);
    pixel(0.0, 0.0) * weight((1.0 - down) * (1.0 - right))
        + pixel(0.0, 1.0) * weight((1.0 - down) * right)
        + pixel(1.0, 0.0) * weight(down * (1.0 - right))
        + pixel(1.0, 1.0) * weight(down * right)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns a 3x4 image whose pixel (r, c) is 10 * r + c.
    fn numbered() -> SVector<f64, 12> {
        SVector::from_fn(|i, _| (10 * (i / 4) + i % 4) as f64)
    }

    #[test]
    fn shift_down_right_moves_every_pixel() {
        let mut image = numbered();
        Image::<3, 4>::shift(&mut image, 1, 2, -1.0);
        #[rustfmt::skip]
        let expected = [
            -1.0, -1.0, -1.0, -1.0,
            -1.0, -1.0,  0.0,  1.0,
            -1.0, -1.0, 10.0, 11.0,
        ];
        assert_eq!(image.as_slice(), &expected);
    }

    #[test]
    fn shift_up_left_moves_every_pixel() {
        let mut image = numbered();
        Image::<3, 4>::shift(&mut image, -1, -1, -1.0);
        #[rustfmt::skip]
        let expected = [
            11.0, 12.0, 13.0, -1.0,
            21.0, 22.0, 23.0, -1.0,
            -1.0, -1.0, -1.0, -1.0,
        ];
        assert_eq!(image.as_slice(), &expected);
    }

    #[test]
    fn shift_beyond_image_fills_everything() {
        let mut image = numbered();
        Image::<3, 4>::shift(&mut image, 3, 0, 7.0);
        assert!(image.iter().all(|&v| v == 7.0), "{image:?}");
    }

    #[test]
    fn rotate_half_turn_reverses_pixel_order() {
        let mut image = numbered();
        Image::<3, 4>::rotate(&mut image, 180.0, 0.0);
        let original = numbered();
        for i in 0..12 {
            let expected = original[11 - i];
            assert!(
                (image[i] - expected).abs() < 1e-9,
                "pixel {i}: {} instead of {expected}",
                image[i]
            );
        }
    }

    #[test]
    fn rotate_by_zero_is_identity() {
        let mut image = numbered();
        Image::<3, 4>::rotate(&mut image, 0.0, 5.0);
        assert_eq!(image, numbered());
    }

    #[test]
    fn bilinear_blends_neighbours_and_fill() {
        let image = numbered();
        let midway = bilinear::<3, 4, f64, 12>(&image, 0.5, 1.5, 0.0);
        assert!((midway - (1.0 + 2.0 + 11.0 + 12.0) / 4.0).abs() < 1e-12);
        let past_edge = bilinear::<3, 4, f64, 12>(&image, 2.5, 0.0, 100.0);
        assert!((past_edge - (20.0 + 100.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn erase_clips_rectangle_to_image() {
        let mut image = SVector::<f32, 12>::from_element(1.0);
        Image::<3, 4>::erase(&mut image, 1, 2, 5, 5, 0.0);
        let zeros: usize = image.iter().filter(|&&v| v == 0.0).count();
        assert_eq!(zeros, 4);
        assert_eq!(image[4 + 2], 0.0);
        assert_eq!(image[8 + 3], 0.0);
        assert_eq!(image[4 + 1], 1.0);
    }
}
