//! Checks every kernel against a naive triple loop in `f64`, over shapes that exercise
//! full tiles, partial tiles, masked rows and inner-dimension blocks.

use std::format;
use std::vec;
use std::vec::Vec;

use super::blocked::{self, Dots, Gemm, Portable};
use super::small;
use crate::float::Float;
use crate::rng::Rng;

/// Returns `len` values uniform in `[-1, 1)`.
fn values<T: Float>(len: usize, seed: u64) -> Vec<T> {
    let mut rng = Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.uniform(-T::one(), T::one())).collect()
}

/// Computes `C + A B` naively in `f64`; `B` element `(p, j)` is `b[p * rsb + j * csb]`.
fn naive_gemm<T: Float>(
    (rows, cols, inner): (usize, usize, usize),
    a: &[T],
    b: &[T],
    (rsb, csb): (usize, usize),
    c: &[T],
) -> Vec<f64> {
    let mut out: Vec<f64> = c.iter().map(|v| v.as_f64()).collect();
    for j in 0..cols {
        for i in 0..rows {
            for p in 0..inner {
                out[i + j * rows] += a[i + p * rows].as_f64() * b[p * rsb + j * csb].as_f64();
            }
        }
    }
    out
}

/// Panics unless `actual` matches `expected` within `tolerance` times the inner length.
fn assert_close<T: Float>(
    case: &str,
    expected: &[f64],
    actual: &[T],
    inner: usize,
    tolerance: f64,
) {
    assert_eq!(expected.len(), actual.len(), "{case}: lengths differ");
    let bound = tolerance * (inner.max(1) as f64);
    for (index, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert!(
            (e - a.as_f64()).abs() <= bound,
            "{case}: value {index} is {a}, expected {e} (tolerance {bound})"
        );
    }
}

/// Returns the product `C += A B` of a column-major `A` and `B` (`rows x inner` and
/// `inner x cols`) with a column-major `C`, for the checks of shapes and lengths.
fn column_major<'a>(
    (rows, cols, inner): (usize, usize, usize),
    a: &'a [f32],
    b: &'a [f32],
) -> Gemm<'a, f32> {
    Gemm {
        rows,
        cols,
        inner,
        a,
        a_col_stride: rows,
        b,
        b_row_stride: 1,
        b_col_stride: inner,
        c_col_stride: rows,
    }
}

/// Returns the product `C = A^T B` of column-major `A` and `B` (`len x rows` and
/// `len x cols`) with a column-major `C`, for the checks of shapes and lengths.
fn dots_column_major<'a>(
    (rows, cols, len): (usize, usize, usize),
    a: &'a [f32],
    b: &'a [f32],
) -> Dots<'a, f32> {
    Dots {
        rows,
        cols,
        len,
        a,
        a_col_stride: len,
        b,
        b_col_stride: len,
        c_col_stride: rows,
    }
}

/// The shapes `(rows, cols, inner)` of the checks. With 16-lane vectors, three near the
/// end fill the tallest tile (16 vectors, one column), cut 250 rows into tiles of 8, 4, 2
/// and a masked 2 vectors, and leave one row for a masked tile of one vector. With `B`
/// transposed and 16 lanes, shapes of at least 128 rows and more than 2 columns take
/// tiles of 4 vectors, with widths the driver evens out. The last three reach widths 6
/// and 5 (over a masked tile of 2 vectors), 5 and 4, and 4 and 3. As dot products, the
/// shapes with `len` of at most 64 pack `A` in bands of more than 16 rows, and 500 x 4
/// of length 12 in two bands. Their transposes are partial where 8 does not divide the
/// length.
const SHAPES: [(usize, usize, usize); 22] = [
    (1, 1, 1),
    (3, 2, 5),
    (8, 1, 7),
    (10, 3, 9),
    (16, 6, 4),
    (17, 7, 3),
    (24, 2, 33),
    (32, 1, 40),
    (64, 1, 300),
    (70, 13, 20),
    (100, 9, 260),
    (128, 32, 64),
    (128, 64, 20),
    (9, 784, 5),
    (256, 1, 17),
    (250, 1, 3),
    (33, 5, 300),
    (150, 11, 7),
    (128, 9, 2),
    (128, 7, 3),
    (10, 40, 300),
    (500, 4, 12),
];

fn check_gemm<T: Float>(tolerance: f64) {
    for (case_index, &(rows, cols, inner)) in SHAPES.iter().enumerate() {
        let a = values::<T>(rows * inner, 1 + case_index as u64);
        let c0 = values::<T>(rows * cols, 100 + case_index as u64);
        // `B` column-major (the forward product), its transpose (the weight gradient),
        // and strided both ways, which each take their own addressing in the x86 tiles.
        let layouts = [
            ("column-major", (1, inner)),
            ("transposed", (cols, 1)),
            ("strided", (2, 2 * inner + 3)),
        ];
        for (layout, (rsb, csb)) in layouts {
            let b_len = (inner - 1) * rsb + (cols - 1) * csb + 1;
            let b = values::<T>(b_len, 200 + case_index as u64);
            let expected = naive_gemm((rows, cols, inner), &a, &b, (rsb, csb), &c0);
            let product = Gemm {
                rows,
                cols,
                inner,
                a: &a,
                a_col_stride: rows,
                b: &b,
                b_row_stride: rsb,
                b_col_stride: csb,
                c_col_stride: rows,
            };
            let case = format!("{} gemm {rows}x{cols}x{inner} with B {layout}", T::NAME);

            let mut c = c0.clone();
            blocked::gemm(product, &mut c);
            assert_close(
                &format!("{case} dispatched"),
                &expected,
                &c,
                inner,
                tolerance,
            );

            let mut c = c0.clone();
            // SAFETY: the slices have exactly the lengths of their shapes.
            unsafe { blocked::drive_gemm::<T, Portable>(&product, c.as_mut_ptr(), false) };
            assert_close(&format!("{case} portable"), &expected, &c, inner, tolerance);

            #[cfg(target_arch = "x86_64")]
            for (name, c) in super::x86::gemm_each(&product, &c0, false) {
                assert_close(&format!("{case} {name}"), &expected, &c, inner, tolerance);
            }

            check_overwrite(&product, &case);
        }
    }
}

/// Checks that every kernel writes the product over NaN values with the bits it adds to
/// zeros, so that it reads nothing of `C`.
fn check_overwrite<T: Float>(product: &Gemm<'_, T>, case: &str) {
    let size = product.rows * product.cols;
    let bits = |values: &[T]| -> Vec<u8> { bytemuck::cast_slice(values).to_vec() };
    let nan = T::zero() / T::zero();
    let mut added = vec![T::zero(); size];
    blocked::gemm(*product, &mut added);
    let mut written = vec![nan; size];
    blocked::gemm_overwrite(*product, &mut written);
    assert_eq!(bits(&written), bits(&added), "{case} dispatched overwrite");

    let mut added = vec![T::zero(); size];
    let mut written = vec![nan; size];
    // SAFETY: the slices have exactly the lengths of their shapes.
    unsafe {
        blocked::drive_gemm::<T, Portable>(product, added.as_mut_ptr(), false);
        blocked::drive_gemm::<T, Portable>(product, written.as_mut_ptr(), true);
    }
    assert_eq!(bits(&written), bits(&added), "{case} portable overwrite");

    #[cfg(target_arch = "x86_64")]
    {
        let added = super::x86::gemm_each(product, &vec![T::zero(); size], false);
        let written = super::x86::gemm_each(product, &vec![nan; size], true);
        assert_eq!(added.len(), written.len());
        for ((name, added), (_, written)) in added.iter().zip(&written) {
            assert_eq!(bits(written), bits(added), "{case} {name} overwrite");
        }
    }
}

fn check_dots<T: Float>(tolerance: f64) {
    for (case_index, &(rows, cols, len)) in SHAPES.iter().enumerate() {
        let a = values::<T>(len * rows, 300 + case_index as u64);
        let b = values::<T>(len * cols, 400 + case_index as u64);
        // A^T B is the gemm of A^T (rows x len, element (i, p) at a[p + i * len]) with B.
        let a_transposed: Vec<T> = (0..len * rows)
            .map(|n| a[(n / rows) + (n % rows) * len])
            .collect();
        let expected = naive_gemm(
            (rows, cols, len),
            &a_transposed,
            &b,
            (1, len),
            &vec![T::zero(); rows * cols],
        );
        let product = Dots {
            rows,
            cols,
            len,
            a: &a,
            a_col_stride: len,
            b: &b,
            b_col_stride: len,
            c_col_stride: rows,
        };
        let case = format!("{} dots {rows}x{cols} of length {len}", T::NAME);

        let mut c = values::<T>(rows * cols, 500);
        blocked::dot_products(product, &mut c);
        assert_close(&format!("{case} dispatched"), &expected, &c, len, tolerance);

        let mut c = values::<T>(rows * cols, 500);
        // SAFETY: the slices have exactly the lengths of their shapes.
        unsafe { blocked::drive_dots::<T, Portable>(&product, c.as_mut_ptr()) };
        assert_close(&format!("{case} portable"), &expected, &c, len, tolerance);

        #[cfg(target_arch = "x86_64")]
        for (name, c) in super::x86::dots_each(&product, &values::<T>(rows * cols, 500)) {
            assert_close(&format!("{case} {name}"), &expected, &c, len, tolerance);
        }
    }
}

#[test]
fn packed_bands_fill_the_buffer() {
    // (steps, tile rows, lanes, rows per band): AVX-512 and AVX2 `f32`, AVX2 `f64`.
    let cases = [
        (256, 32, 16, 16),
        (256, 16, 8, 16),
        (200, 32, 16, 16),
        (129, 32, 16, 16),
        (128, 32, 16, 32),
        (64, 32, 16, 64),
        (10, 32, 16, 384),
        (10, 16, 8, 400),
        (10, 8, 4, 408),
        (1, 32, 16, 4096),
    ];
    for (k, tile_rows, lanes, expected) in cases {
        assert_eq!(
            blocked::band_height(k, tile_rows, lanes),
            expected,
            "{k} steps, tiles of {tile_rows} rows, {lanes} lanes"
        );
    }
}

#[test]
#[should_panic(expected = "band_height: expected 1 to 256 steps")]
fn packed_bands_reject_empty_blocks() {
    blocked::band_height(0, 32, 16);
}

#[test]
fn blocked_gemm_matches_naive() {
    check_gemm::<f32>(1e-6);
    check_gemm::<f64>(1e-14);
}

#[test]
fn blocked_dots_match_naive() {
    check_dots::<f32>(1e-6);
    check_dots::<f64>(1e-14);
}

/// Returns rows `start..start + rows` of a column-major matrix of `cols` columns whose
/// columns are `ld` values apart, as a contiguous `rows x cols` matrix.
fn band<T: Float>(full: &[T], ld: usize, start: usize, (rows, cols): (usize, usize)) -> Vec<T> {
    (0..cols)
        .flat_map(|j| full[start + j * ld..][..rows].to_vec())
        .collect()
}

/// Panics unless rows `start..start + rows` of `after` (columns `ld` apart) match
/// `expected` and every other value is the one in `before`.
#[allow(clippy::too_many_arguments)]
fn assert_band<T: Float>(
    case: &str,
    before: &[T],
    after: &[T],
    ld: usize,
    start: usize,
    (rows, cols): (usize, usize),
    expected: &[f64],
    (inner, tolerance): (usize, f64),
) {
    let actual = band(after, ld, start, (rows, cols));
    assert_close(case, expected, &actual, inner, tolerance);
    for (index, (a, b)) in after.iter().zip(before).enumerate() {
        let (i, j) = (index % ld, index / ld);
        let inside = j < cols && (start..start + rows).contains(&i);
        if !inside {
            assert_eq!(
                a.as_f64(),
                b.as_f64(),
                "{case}: value {index} outside the band"
            );
        }
    }
}

/// Runs products on bands of rows of taller matrices, as the threads of a layer split by
/// rows would: `A` with its columns 5 values further apart than its rows, and `C` 7.
fn check_gemm_bands<T: Float>(tolerance: f64) {
    for (case_index, &(rows, cols, inner)) in SHAPES.iter().enumerate() {
        let (lda, a_start) = (rows + 5, 3);
        let (ldc, c_start) = (rows + 7, 2);
        let a_full = values::<T>(lda * inner, 600 + case_index as u64);
        let c_full = values::<T>(ldc * cols, 700 + case_index as u64);
        let b = values::<T>(inner * cols, 800 + case_index as u64);
        let a = band(&a_full, lda, a_start, (rows, inner));
        let c0 = band(&c_full, ldc, c_start, (rows, cols));
        // `B` column-major (the forward product) and transposed (the weight gradient,
        // whose tall products take other tiles).
        for (layout, strides) in [("column-major", (1, inner)), ("transposed", (cols, 1))] {
            let expected = naive_gemm((rows, cols, inner), &a, &b, strides, &c0);
            let overwritten = naive_gemm(
                (rows, cols, inner),
                &a,
                &b,
                strides,
                &vec![T::zero(); rows * cols],
            );
            let product = Gemm {
                rows,
                cols,
                inner,
                a: &a_full[a_start..],
                a_col_stride: lda,
                b: &b,
                b_row_stride: strides.0,
                b_col_stride: strides.1,
                c_col_stride: ldc,
            };
            let case = format!(
                "{} gemm band {rows}x{cols}x{inner} with B {layout}",
                T::NAME
            );
            let check = |way: &str, after: &[T], expected: &[f64]| {
                let case = format!("{case} {way}");
                let shape = (rows, cols);
                let accuracy = (inner, tolerance);
                assert_band(
                    &case, &c_full, after, ldc, c_start, shape, expected, accuracy,
                );
            };

            let mut c = c_full.clone();
            blocked::gemm(product, &mut c[c_start..]);
            check("dispatched", &c, &expected);

            let mut c = c_full.clone();
            blocked::gemm_overwrite(product, &mut c[c_start..]);
            check("dispatched overwrite", &c, &overwritten);

            let mut c = c_full.clone();
            // SAFETY: the band lies in `c`, and no other thread uses it.
            unsafe { blocked::gemm_at(product, c.as_mut_ptr().add(c_start), false) };
            check("through a pointer", &c, &expected);

            let mut c = c_full.clone();
            // SAFETY: as above.
            unsafe {
                blocked::drive_gemm::<T, Portable>(&product, c.as_mut_ptr().add(c_start), false)
            };
            check("portable", &c, &expected);

            #[cfg(target_arch = "x86_64")]
            for (name, tail) in super::x86::gemm_each(&product, &c_full[c_start..], false) {
                let mut c = c_full.clone();
                c[c_start..].copy_from_slice(&tail);
                check(name, &c, &expected);
            }
        }
    }
}

/// Runs [`Dots`] on matrices whose columns are further apart than their lengths: `A` by
/// 3 values, `B` by 4 and `C` by 6.
fn check_dots_strides<T: Float>(tolerance: f64) {
    for (case_index, &(rows, cols, len)) in SHAPES.iter().enumerate() {
        let (lda, ldb, ldc, c_start) = (len + 3, len + 4, rows + 6, 1);
        let a_full = values::<T>(lda * rows, 900 + case_index as u64);
        let b_full = values::<T>(ldb * cols, 1000 + case_index as u64);
        let c_full = values::<T>(ldc * cols, 1100 + case_index as u64);
        let a = band(&a_full, lda, 0, (len, rows));
        let b = band(&b_full, ldb, 0, (len, cols));
        let a_transposed: Vec<T> = (0..len * rows)
            .map(|n| a[(n / rows) + (n % rows) * len])
            .collect();
        let zeros = vec![T::zero(); rows * cols];
        let expected = naive_gemm((rows, cols, len), &a_transposed, &b, (1, len), &zeros);
        let product = Dots {
            rows,
            cols,
            len,
            a: &a_full,
            a_col_stride: lda,
            b: &b_full,
            b_col_stride: ldb,
            c_col_stride: ldc,
        };
        let case = format!(
            "{} dots with strides {rows}x{cols} of length {len}",
            T::NAME
        );
        let check = |way: &str, after: &[T]| {
            let case = format!("{case} {way}");
            let shape = (rows, cols);
            let accuracy = (len, tolerance);
            assert_band(
                &case, &c_full, after, ldc, c_start, shape, &expected, accuracy,
            );
        };

        let mut c = c_full.clone();
        blocked::dot_products(product, &mut c[c_start..]);
        check("dispatched", &c);

        let mut c = c_full.clone();
        // SAFETY: the result's values lie in `c` from `c_start` on.
        unsafe { blocked::drive_dots::<T, Portable>(&product, c.as_mut_ptr().add(c_start)) };
        check("portable", &c);

        #[cfg(target_arch = "x86_64")]
        for (name, tail) in super::x86::dots_each(&product, &c_full[c_start..]) {
            let mut c = c_full.clone();
            c[c_start..].copy_from_slice(&tail);
            check(name, &c);
        }
    }
}

#[test]
fn blocked_gemm_runs_on_bands_of_rows() {
    check_gemm_bands::<f32>(1e-6);
    check_gemm_bands::<f64>(1e-14);
}

#[test]
fn blocked_dots_follow_column_strides() {
    check_dots_strides::<f32>(1e-6);
    check_dots_strides::<f64>(1e-14);
}

#[test]
#[should_panic(expected = "gemm: `c_col_stride` 3 is smaller than `rows` 4")]
fn gemm_rejects_c_stride_below_rows() {
    let product = Gemm {
        c_col_stride: 3,
        ..column_major((4, 2, 2), &[1.0f32; 8], &[1.0f32; 4])
    };
    blocked::gemm(product, &mut [0.0f32; 8]);
}

#[test]
#[should_panic(expected = "gemm: `a_col_stride` 3 is smaller than `rows` 4")]
fn gemm_rejects_a_stride_below_rows() {
    let product = Gemm {
        a_col_stride: 3,
        ..column_major((4, 1, 2), &[1.0f32; 8], &[1.0f32; 2])
    };
    blocked::gemm(product, &mut [0.0f32; 4]);
}

#[test]
#[should_panic(expected = "dot_products: `b_col_stride` 1 is smaller than `len` 2")]
fn dot_products_rejects_b_stride_below_length() {
    let product = Dots {
        b_col_stride: 1,
        ..dots_column_major((1, 2, 2), &[1.0f32; 2], &[1.0f32; 4])
    };
    blocked::dot_products(product, &mut [0.0f32; 2]);
}

#[test]
#[should_panic(expected = "dot_products: `a_col_stride` 2 is smaller than `len` 3")]
fn dot_products_rejects_a_stride_below_length() {
    let product = Dots {
        a_col_stride: 2,
        ..dots_column_major((2, 1, 3), &[1.0f32; 6], &[1.0f32; 3])
    };
    blocked::dot_products(product, &mut [0.0f32; 2]);
}

#[test]
#[should_panic(expected = "dot_products: `c_col_stride` 1 is smaller than `rows` 2")]
fn dot_products_rejects_c_stride_below_rows() {
    let product = Dots {
        c_col_stride: 1,
        ..dots_column_major((2, 2, 1), &[1.0f32; 2], &[1.0f32; 2])
    };
    blocked::dot_products(product, &mut [0.0f32; 4]);
}

#[test]
#[should_panic(expected = "gemm_at: `a` is too short: 7 values where the shape needs 8")]
fn gemm_at_names_itself() {
    let product = column_major((4, 1, 2), &[1.0f32; 7], &[1.0f32; 2]);
    let mut c = [0.0f32; 4];
    // SAFETY: the 4 x 1 result lies in `c`, apart from `a` and `b`.
    unsafe { blocked::gemm_at(product, c.as_mut_ptr(), false) };
}

/// Checks that products without inner steps write zeros into their band of rows with
/// `overwrite` (and `dot_products` always), and nothing else.
#[test]
fn empty_inner_dimension_touches_only_the_band() {
    // A 2 x 3 band at row 1 of a matrix with 4 rows: values 1, 2, 5, 6, 9 and 10.
    let band = [1, 2, 5, 6, 9, 10];
    let check = |case: &str, c: &[f32], written: bool| {
        for (index, &value) in c.iter().enumerate() {
            let expected = if written && band.contains(&index) {
                0.0
            } else {
                7.0
            };
            assert_eq!(value, expected, "{case}: value {index}");
        }
    };
    let product = Gemm {
        a_col_stride: 4,
        c_col_stride: 4,
        ..column_major((2, 3, 0), &[], &[])
    };
    let mut c = [7.0f32; 12];
    blocked::gemm(product, &mut c[1..]);
    check("gemm", &c, false);
    blocked::gemm_overwrite(product, &mut c[1..]);
    check("gemm_overwrite", &c, true);
    let mut c = [7.0f32; 12];
    // SAFETY: the band lies in `c` from value 1 on, apart from `a` and `b`.
    unsafe { blocked::gemm_at(product, c.as_mut_ptr().add(1), true) };
    check("gemm_at", &c, true);

    let dots = Dots {
        c_col_stride: 4,
        ..dots_column_major((2, 3, 0), &[], &[])
    };
    let mut c = [7.0f32; 12];
    blocked::dot_products(dots, &mut c[1..]);
    check("dot_products", &c, true);
}

#[test]
#[should_panic(expected = "dot_products: `c` is too short")]
fn dot_products_check_c_with_its_stride() {
    let product = Dots {
        c_col_stride: 3,
        ..dots_column_major((2, 2, 1), &[1.0f32; 2], &[1.0f32; 2])
    };
    // Column 1 of `C` starts at 3 and needs 2 values: 5 in all.
    blocked::dot_products(product, &mut [0.0f32; 4]);
}

#[test]
fn small_kernels_match_naive() {
    const IN: usize = 13;
    const OUT: usize = 11;
    const B: usize = 3;
    let w = values::<f64>(OUT * IN, 1);
    let x = values::<f64>(IN * B, 2);
    let g = values::<f64>(OUT * B, 3);

    let bias = values::<f64>(OUT, 4);
    let y0: Vec<f64> = (0..OUT * B).map(|n| bias[n % OUT]).collect();
    let mut y = values::<f64>(OUT * B, 6);
    small::affine::<f64, IN, OUT, B>(&w, &bias, &x, &mut y);
    let expected = naive_gemm((OUT, B, IN), &w, &x, (1, IN), &y0);
    assert_close("small forward", &expected, &y, IN, 1e-14);

    let mut dx = vec![0.0; IN * B];
    small::transpose_product::<f64, IN, OUT, B>(&w, &g, &mut dx);
    let w_transposed: Vec<f64> = (0..OUT * IN)
        .map(|n| w[(n / IN) + (n % IN) * OUT])
        .collect();
    let expected = naive_gemm(
        (IN, B, OUT),
        &w_transposed,
        &g,
        (1, OUT),
        &vec![0.0; IN * B],
    );
    assert_close("small input gradient", &expected, &dx, OUT, 1e-14);

    let dw0 = values::<f64>(OUT * IN, 5);
    let mut dw = dw0.clone();
    small::accumulate_outer::<f64, IN, OUT, B>(&g, &x, &mut dw);
    let expected = naive_gemm((OUT, IN, B), &g, &x, (IN, 1), &dw0);
    assert_close("small weight gradient", &expected, &dw, B, 1e-14);
}

/// The small kernel's `set_outer` must give the bits of zeroing and `accumulate_outer`
/// without reading the old gradient, which starts as NaN here, for one sample and for
/// several.
#[test]
fn small_set_outer_overwrites_without_reading() {
    fn check<const B: usize>() {
        const IN: usize = 13;
        const OUT: usize = 11;
        let x = values::<f32>(IN * B, 2);
        let g = values::<f32>(OUT * B, 3);
        let bits = |values: &[f32]| -> Vec<u32> { values.iter().map(|v| v.to_bits()).collect() };
        let mut added = vec![0.0; OUT * IN];
        small::accumulate_outer::<f32, IN, OUT, B>(&g, &x, &mut added);
        let mut written = vec![f32::NAN; OUT * IN];
        small::set_outer::<f32, IN, OUT, B>(&g, &x, &mut written);
        assert_eq!(bits(&written), bits(&added), "batch of {B}");
    }
    check::<1>();
    check::<3>();
}

/// Checks `affine` against `W x + b` with a bias that differs from row to row, on a
/// shape large enough for the blocked kernel where it runs.
fn check_affine_bias<T: Float, const IN: usize, const OUT: usize, const B: usize>(seed: u64) {
    use nalgebra::{SMatrix, SVector};

    let weight = SMatrix::<T, OUT, IN>::from_column_slice(&values::<T>(OUT * IN, seed));
    let bias = SVector::<T, OUT>::from_column_slice(&values::<T>(OUT, seed + 1));
    let x = SMatrix::<T, IN, B>::from_column_slice(&values::<T>(IN * B, seed + 2));
    let y = super::affine(&weight, &bias, &x);
    let biased: Vec<T> = (0..B).flat_map(|_| bias.iter().copied()).collect();
    let expected = naive_gemm(
        (OUT, B, IN),
        weight.as_slice(),
        x.as_slice(),
        (1, IN),
        &biased,
    );
    let case = format!("affine {OUT} x {IN} with {B} samples");
    assert_close(&case, &expected, y.as_slice(), IN, 1e-6);
}

#[test]
fn affine_adds_the_bias_to_every_column() {
    assert!(super::uses_blocked(40, 24, 9));
    check_affine_bias::<f32, 24, 40, 9>(70);
    check_affine_bias::<f64, 24, 40, 9>(71);
    check_affine_bias::<f32, 32, 20, 64>(72);
    check_affine_bias::<f32, 8, 4, 1>(73);
}

#[test]
fn kernels_take_layers_without_inputs_or_outputs() {
    use nalgebra::{SMatrix, SVector};

    // Without inputs every output is its bias, and the input gradient is empty.
    let bias = SVector::<f64, 4>::new(1.0, 2.0, 3.0, 4.0);
    let y = super::affine(
        &SMatrix::<f64, 4, 0>::zeros(),
        &bias,
        &SMatrix::<f64, 0, 3>::zeros(),
    );
    for column in y.column_iter() {
        assert_eq!(column, bias);
    }
    let grad = SMatrix::<f64, 4, 3>::from_element(0.5);
    let dx = super::transpose_mul(&SMatrix::<f64, 4, 0>::zeros(), &grad);
    assert_eq!(dx.len(), 0);
    let mut dw = SMatrix::<f64, 4, 0>::zeros();
    super::accumulate_outer(&grad, &SMatrix::<f64, 0, 3>::zeros(), &mut dw);

    // Without outputs the input gradient sums nothing, so it is zero.
    let x = SMatrix::<f64, 5, 3>::from_element(2.0);
    let y = super::affine(
        &SMatrix::<f64, 0, 5>::zeros(),
        &SVector::<f64, 0>::zeros(),
        &x,
    );
    assert_eq!(y.len(), 0);
    let dx = super::transpose_mul(
        &SMatrix::<f64, 0, 5>::zeros(),
        &SMatrix::<f64, 0, 3>::zeros(),
    );
    assert_eq!(dx, SMatrix::<f64, 5, 3>::zeros());
    let mut bias_grad = SVector::<f64, 0>::zeros();
    super::accumulate_column_sum(&SMatrix::<f64, 0, 3>::zeros(), &mut bias_grad);
    let mut dw = SMatrix::<f64, 0, 5>::zeros();
    super::accumulate_outer(&SMatrix::<f64, 0, 3>::zeros(), &x, &mut dw);
}

#[test]
fn threshold_separates_small_and_large_layers() {
    assert!(
        !super::uses_blocked(8, 2, 64),
        "a 2-input layer stays small"
    );
    assert!(
        !super::uses_blocked(1, 8, 64),
        "a 1-output layer stays small"
    );
    assert!(
        super::uses_blocked(128, 784, 1),
        "one MNIST sample is blocked"
    );
    assert!(
        super::uses_blocked(128, 784, 64),
        "an MNIST batch is blocked"
    );
    assert!(
        !super::uses_blocked(8, 8, 4),
        "256 multiply-adds stay small"
    );
    assert!(
        !super::uses_blocked(128, 1, 784),
        "a one-sample weight gradient stays small"
    );
    assert!(
        super::uses_blocked_transpose(8, 8, 1),
        "an 8 x 8 input gradient is blocked"
    );
    assert!(
        !super::uses_blocked_transpose(8, 1, 32),
        "a one-output input gradient stays small"
    );
}

/// The column shares of a split layer add up to the whole products, for ranges that are
/// empty, partial tiles, and the whole layer.
#[test]
fn column_shares_add_up_to_whole_products() {
    use nalgebra::{SMatrix, SVector};

    use crate::team::column_range;

    const IN: usize = 37;
    const OUT: usize = 21;
    const B: usize = 5;
    let weight = SMatrix::<f64, OUT, IN>::from_iterator(values::<f64>(OUT * IN, 1));
    let x = SMatrix::<f64, IN, B>::from_iterator(values::<f64>(IN * B, 2));
    let grad = SMatrix::<f64, OUT, B>::from_iterator(values::<f64>(OUT * B, 3));
    let zero_bias = SVector::<f64, OUT>::zeros();

    let whole_output = super::affine(&weight, &zero_bias, &x);
    let whole_input_grad = super::transpose_mul(&weight, &grad);
    let mut whole_weight_grad = SMatrix::<f64, OUT, IN>::zeros();
    super::accumulate_outer(&grad, &x, &mut whole_weight_grad);

    for size in [1, 2, 3, 5, 40] {
        let mut output = SMatrix::<f64, OUT, B>::zeros();
        let mut input_grad = SMatrix::<f64, IN, B>::zeros();
        let mut weight_grad = SMatrix::<f64, OUT, IN>::zeros();
        for index in 0..size {
            let columns = column_range(IN, index, size);
            output += super::partial_product(&weight, &x, columns.clone());
            let share = super::transpose_mul_rows(&weight, &grad, columns.clone());
            for (row, values) in share.row_iter().enumerate() {
                if !columns.contains(&row) {
                    assert!(
                        values.iter().all(|&v| v == 0.0),
                        "{size} threads, thread {index}: row {row} outside its columns is not zero"
                    );
                }
            }
            input_grad += share;
            let part = &mut weight_grad.as_mut_slice()[columns.start * OUT..columns.end * OUT];
            super::accumulate_outer_columns(&grad, &x, columns, part);
        }
        let case = format!("{size} threads");
        assert!((output - whole_output).amax() < 1e-12, "{case}: outputs");
        assert!(
            (input_grad - whole_input_grad).amax() < 1e-12,
            "{case}: input gradient"
        );
        assert!(
            (weight_grad - whole_weight_grad).amax() < 1e-12,
            "{case}: weight gradient"
        );
    }
}

#[test]
#[should_panic(expected = "gemm: `a` is too short: the shape needs more values than fit in memory")]
fn gemm_rejects_overflowing_shape() {
    let (a, b, mut c) = ([1.0f32; 4], [1.0f32; 4], [0.0f32; 4]);
    // `rows * inner` is 2^64 and `B` repeats one value, so without checked products
    // every check would pass.
    let product = Gemm {
        b_row_stride: 0,
        b_col_stride: 0,
        ..column_major((4, 1, 1 << (usize::BITS - 2)), &a, &b)
    };
    blocked::gemm(product, &mut c);
}

#[test]
#[should_panic(expected = "gemm: `b` is too short: the shape needs more values than fit in memory")]
fn gemm_rejects_overflowing_b_stride() {
    let (a, b, mut c) = ([1.0f32; 4], [1.0f32; 4], [0.0f32; 4]);
    // The last value of `B` is at `usize::MAX + 1`, which wraps around to 0.
    let product = Gemm {
        b_row_stride: usize::MAX,
        b_col_stride: 1,
        ..column_major((1, 2, 2), &a, &b)
    };
    blocked::gemm(product, &mut c);
}

#[test]
#[should_panic(expected = "gemm: `c` is too short")]
fn gemm_checks_c_without_inner_steps() {
    let product = column_major((4, 4, 0), &[], &[]);
    blocked::gemm(product, &mut [0.0f32; 3]);
}

#[test]
#[should_panic(expected = "gemm_overwrite: `a` is too short")]
fn gemm_overwrite_names_itself() {
    let product = column_major((4, 1, 2), &[1.0f32; 7], &[1.0f32; 2]);
    blocked::gemm_overwrite(product, &mut [0.0f32; 4]);
}

#[test]
#[should_panic(expected = "dot_products: `b` is too short: 3 values where the shape needs 4")]
fn dot_products_checks_b() {
    let product = dots_column_major((1, 2, 2), &[1.0f32; 2], &[1.0f32; 3]);
    blocked::dot_products(product, &mut [0.0f32; 2]);
}

#[test]
#[should_panic(
    expected = "dot_products: `a` is too short: the shape needs more values than fit in memory"
)]
fn dot_products_rejects_overflowing_shape() {
    let (a, b, mut c) = ([1.0f32; 4], [1.0f32; 4], [0.0f32; 4]);
    let side = 1 << (usize::BITS / 2);
    let product = dots_column_major((side, side, side), &a, &b);
    blocked::dot_products(product, &mut c);
}

#[test]
fn repeat_column_fills_every_column() {
    let column = [1.0f32, 2.0, 3.0];
    for columns in [1, 2, 3, 5, 8, 64] {
        let mut matrix = vec![0.0f32; 3 * columns];
        super::repeat_column(&mut matrix, &column);
        for (index, chunk) in matrix.chunks_exact(3).enumerate() {
            assert_eq!(chunk, column, "column {index} of {columns}");
        }
    }

    // Empty inputs have nothing to fill, so both calls return at once.
    let mut empty: [f32; 0] = [];
    super::repeat_column(&mut empty, &column);
    super::repeat_column(&mut empty, &[]);
}
