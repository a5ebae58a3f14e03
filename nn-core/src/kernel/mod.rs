//! The matrix products behind [`Dense`](crate::Dense), with the kernel chosen from the
//! shapes at compile time.
//!
//! A dense layer with `OUT` outputs and `IN` inputs on a batch of `B` samples needs three
//! products, all on column-major nalgebra storage:
//!
//! - [`affine`]: `y = W x + b` (forward pass);
//! - [`transpose_mul`]: `dx = W^T g` (input gradient);
//! - [`accumulate_outer`]: `dW += g x^T` (weight gradient, accumulated in place).
//!
//! Each product takes one of two kernels, decided by [`uses_blocked`] (and
//! [`uses_blocked_transpose`] for the input gradient) from the constant shapes, so the
//! branch folds away at compile time:
//!
//! - **small** ([`small`]): loops with constant bounds that the compiler unrolls and
//!   vectorises for the target it compiles for. They have no call or dispatch overhead,
//!   which dominates for layers of a few hundred multiply-adds.
//! - **blocked** ([`blocked`]): a register-tiled kernel that keeps a tile of the result
//!   in SIMD registers and reads the weights straight from their storage, without
//!   allocating. It exists for x86-64 with AVX2 and FMA. With the `std` feature it
//!   detects them at run time, so a default build without `-C target-cpu` flags uses
//!   256-bit fused multiply-adds. Without `std` it runs when the target enables `avx2`
//!   and `fma` at compile time.
//!
//! Where the blocked kernel cannot run (other CPUs and architectures, or a `no_std` build
//! without those target features) every product takes the small kernel. The blocked
//! kernel's portable version of the same tiling, in plain Rust, measured 3 times slower
//! than the small kernel on a 128 x 784 layer with SSE2 only (9.6 against 30 GFLOP/s), so
//! it is only a fallback of [`blocked::gemm`] and [`blocked::dot_products`] themselves.
//!
//! Both kernels sum in a different order than nalgebra's products, and the blocked kernel
//! fuses multiply and add where it uses FMA, so results differ from nalgebra's in the
//! last bits. They are deterministic: the same build on the same CPU gives bit-identical
//! results for the same shapes. A sample's outputs can differ in the last bits between
//! batches of different sizes, because the batch size sets the tiles' widths, and tiles
//! of few columns split their sums into other partial sums.

pub mod blocked;
pub mod small;
#[cfg(target_arch = "x86_64")]
mod x86;

use core::ops::Range;

use nalgebra::{SMatrix, SVector};

use crate::float::Float;

/// The number of multiply-adds from which the forward product and the weight gradient
/// take the blocked kernel.
///
/// Chosen from `benches/kernel_sweep.rs`, which times both kernels on layers from 8 x 8
/// to 128 x 128 with batches of 1 to 64 samples (the table is in `docs/performance.md`).
/// On AMD Zen 4 the blocked kernel was faster from about 1,000 multiply-adds on (16 x 16
/// with 4 samples: 32 against 60 ns; 32 x 32 with one sample: 45 against 52 ns), and the
/// small one below (8 x 8 with 4 samples: 21 against 23 ns).
pub const BLOCKED_MIN_MULTIPLY_ADDS: usize = 1024;

/// The smallest side for which a product takes the blocked kernel.
///
/// A layer with fewer than 4 inputs or outputs, and a weight gradient of fewer than 4
/// samples, stays on the small kernel, whose loops vectorise along the other sides.
pub const BLOCKED_MIN_SIDE: usize = 4;

/// Returns whether the forward product or the weight gradient, a product of an
/// `rows x inner` matrix with an `inner x cols` matrix, uses the [`blocked`] kernel
/// rather than the [`small`] one.
pub const fn uses_blocked(rows: usize, inner: usize, cols: usize) -> bool {
    rows >= BLOCKED_MIN_SIDE
        && inner >= BLOCKED_MIN_SIDE
        && rows * inner * cols >= BLOCKED_MIN_MULTIPLY_ADDS
}

/// Returns whether the input gradient `W^T g`, with `rows` inputs, `inner` outputs and
/// `cols` samples, uses the [`blocked`] kernel.
///
/// It does from the smallest sides on, because the small kernel's dot products cannot be
/// vectorised along their length without reordering the sums. The sweep measured the
/// blocked kernel faster at every shape with both sides at least 4 (8 x 8 with one
/// sample: 16 against 21 ns).
pub const fn uses_blocked_transpose(rows: usize, inner: usize, _cols: usize) -> bool {
    rows >= BLOCKED_MIN_SIDE && inner >= BLOCKED_MIN_SIDE
}

/// Computes `weight * x + bias`, with `bias` added to every column.
#[inline]
pub fn affine<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    weight: &SMatrix<T, OUT, IN>,
    bias: &SVector<T, OUT>,
    x: &SMatrix<T, IN, B>,
) -> SMatrix<T, OUT, B> {
    // nalgebra's `from_fn` and `zeros` build the matrix in a temporary and copy it (a
    // memmove in a profile of a training step), which `zeroed` does not.
    let mut y: SMatrix<T, OUT, B> = bytemuck::Zeroable::zeroed();
    if uses_blocked(OUT, IN, B) && blocked::has_simd::<T>() {
        repeat_column(y.as_mut_slice(), bias.as_slice());
        blocked::gemm(
            blocked::Gemm {
                rows: OUT,
                cols: B,
                inner: IN,
                a: weight.as_slice(),
                a_col_stride: OUT,
                b: x.as_slice(),
                b_row_stride: 1,
                b_col_stride: IN,
                c_col_stride: OUT,
            },
            y.as_mut_slice(),
        );
    } else {
        small::affine::<T, IN, OUT, B>(
            weight.as_slice(),
            bias.as_slice(),
            x.as_slice(),
            y.as_mut_slice(),
        );
    }
    y
}

/// Fills `matrix`, whose length is a multiple of `column.len()`, with copies of
/// `column`.
///
/// It copies what is already filled, doubling each time: a batch of 64 takes 7 copies
/// instead of 64. With one copy per column, the hidden layer of a 784-128-10 network
/// called `memcpy` for its 512-byte bias once per sample (counted with `gdb` on
/// `benches/forward_backward.rs`).
fn repeat_column<T: Copy>(matrix: &mut [T], column: &[T]) {
    debug_assert!(matrix.len().is_multiple_of(column.len()));
    if column.is_empty() || matrix.len() < column.len() {
        return;
    }
    matrix[..column.len()].copy_from_slice(column);
    let mut filled = column.len();
    while filled < matrix.len() {
        let count = filled.min(matrix.len() - filled);
        matrix.copy_within(..count, filled);
        filled += count;
    }
}

/// Computes `weight^T * grad`, the input gradient of a dense layer.
#[inline]
pub fn transpose_mul<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    weight: &SMatrix<T, OUT, IN>,
    grad: &SMatrix<T, OUT, B>,
) -> SMatrix<T, IN, B> {
    let mut dx: SMatrix<T, IN, B> = bytemuck::Zeroable::zeroed();
    if uses_blocked_transpose(IN, OUT, B) && blocked::has_simd::<T>() {
        blocked::dot_products(
            blocked::Dots {
                rows: IN,
                cols: B,
                len: OUT,
                a: weight.as_slice(),
                a_col_stride: OUT,
                b: grad.as_slice(),
                b_col_stride: OUT,
                c_col_stride: IN,
            },
            dx.as_mut_slice(),
        );
    } else {
        small::transpose_product::<T, IN, OUT, B>(
            weight.as_slice(),
            grad.as_slice(),
            dx.as_mut_slice(),
        );
    }
    dx
}

/// Adds `grad * x^T` to `weight_grad` in place, the weight gradient of a dense layer
/// summed over the batch. Allocates nothing and builds no weight-sized temporary.
#[inline]
pub fn accumulate_outer<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    grad: &SMatrix<T, OUT, B>,
    x: &SMatrix<T, IN, B>,
    weight_grad: &mut SMatrix<T, OUT, IN>,
) {
    outer::<T, IN, OUT, B>(grad, x, weight_grad, false);
}

/// Sets `weight_grad` to `grad * x^T`, with the bits that zeroing it and
/// [`accumulate_outer`] give. The blocked kernel does not read the old values, which
/// spares a training step zeroing the gradient and loading the zeros again.
#[inline]
pub fn set_outer<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    grad: &SMatrix<T, OUT, B>,
    x: &SMatrix<T, IN, B>,
    weight_grad: &mut SMatrix<T, OUT, IN>,
) {
    outer::<T, IN, OUT, B>(grad, x, weight_grad, true);
}

/// Runs [`accumulate_outer`], or [`set_outer`] with `overwrite`.
#[inline]
fn outer<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    grad: &SMatrix<T, OUT, B>,
    x: &SMatrix<T, IN, B>,
    weight_grad: &mut SMatrix<T, OUT, IN>,
    overwrite: bool,
) {
    if uses_blocked(OUT, B, IN) && blocked::has_simd::<T>() {
        let product = blocked::Gemm {
            rows: OUT,
            cols: IN,
            inner: B,
            a: grad.as_slice(),
            a_col_stride: OUT,
            b: x.as_slice(),
            b_row_stride: IN,
            b_col_stride: 1,
            c_col_stride: OUT,
        };
        blocked::gemm_or_overwrite(product, weight_grad.as_mut_slice(), overwrite);
    } else {
        let (grad, x, weight_grad) = (grad.as_slice(), x.as_slice(), weight_grad.as_mut_slice());
        if overwrite {
            small::set_outer::<T, IN, OUT, B>(grad, x, weight_grad);
        } else {
            small::accumulate_outer::<T, IN, OUT, B>(grad, x, weight_grad);
        }
    }
}

/// Adds the sum of the columns of `grad` to `bias_grad`, the bias gradient of a dense
/// layer summed over the batch.
#[inline]
pub fn accumulate_column_sum<T: Float, const OUT: usize, const B: usize>(
    grad: &SMatrix<T, OUT, B>,
    bias_grad: &mut SVector<T, OUT>,
) {
    if OUT == 0 {
        return;
    }
    let bias_grad = bias_grad.as_mut_slice();
    for column in grad.as_slice().chunks_exact(OUT) {
        for (sum, &value) in bias_grad.iter_mut().zip(column) {
            *sum += value;
        }
    }
}

/// Returns `weight[.., columns] * x[columns, ..]`: the part of `weight * x` that the input
/// columns `columns` contribute, as one thread of a layer split computes it (see
/// [`team`](crate::team)). Uses the [`blocked`] kernel, whose column range is a runtime
/// value.
///
/// # Panics
///
/// When `columns` does not lie within `0..IN`.
pub fn partial_product<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    weight: &SMatrix<T, OUT, IN>,
    x: &SMatrix<T, IN, B>,
    columns: Range<usize>,
) -> SMatrix<T, OUT, B> {
    assert!(columns.start <= columns.end, "the column range is reversed");
    assert!(columns.end <= IN, "the column range ends after column {IN}");
    let mut y: SMatrix<T, OUT, B> = bytemuck::Zeroable::zeroed();
    if B > 0 {
        blocked::gemm(
            blocked::Gemm {
                rows: OUT,
                cols: B,
                inner: columns.len(),
                a: &weight.as_slice()[columns.start * OUT..columns.end * OUT],
                a_col_stride: OUT,
                b: &x.as_slice()[columns.start..],
                b_row_stride: 1,
                b_col_stride: IN,
                c_col_stride: OUT,
            },
            y.as_mut_slice(),
        );
    }
    y
}

/// Adds `grad * x[columns, ..]^T` to `weight_grad_columns`, the columns `columns` of a
/// weight gradient (`OUT` values per column, column-major): the share of
/// [`accumulate_outer`] that one thread of a layer split computes.
///
/// # Panics
///
/// When `columns` does not lie within `0..IN` or `weight_grad_columns` does not hold
/// `OUT` values per column of `columns`.
pub fn accumulate_outer_columns<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    grad: &SMatrix<T, OUT, B>,
    x: &SMatrix<T, IN, B>,
    columns: Range<usize>,
    weight_grad_columns: &mut [T],
) {
    outer_columns::<T, IN, OUT, B>(grad, x, columns, weight_grad_columns, false);
}

/// Sets `weight_grad_columns` to `grad * x[columns, ..]^T`, as [`set_outer`] sets a whole
/// weight gradient: the share of it that one thread of a layer split computes.
///
/// # Panics
///
/// As [`accumulate_outer_columns`].
pub fn set_outer_columns<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    grad: &SMatrix<T, OUT, B>,
    x: &SMatrix<T, IN, B>,
    columns: Range<usize>,
    weight_grad_columns: &mut [T],
) {
    outer_columns::<T, IN, OUT, B>(grad, x, columns, weight_grad_columns, true);
}

/// Runs [`accumulate_outer_columns`], or [`set_outer_columns`] with `overwrite`.
fn outer_columns<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    grad: &SMatrix<T, OUT, B>,
    x: &SMatrix<T, IN, B>,
    columns: Range<usize>,
    weight_grad_columns: &mut [T],
    overwrite: bool,
) {
    assert!(columns.start <= columns.end, "the column range is reversed");
    assert!(columns.end <= IN, "the column range ends after column {IN}");
    assert_eq!(weight_grad_columns.len(), columns.len() * OUT);
    if B == 0 {
        if overwrite {
            weight_grad_columns.fill(T::zero());
        }
        return;
    }
    let product = blocked::Gemm {
        rows: OUT,
        cols: columns.len(),
        inner: B,
        a: grad.as_slice(),
        a_col_stride: OUT,
        b: &x.as_slice()[columns.start..],
        b_row_stride: IN,
        b_col_stride: 1,
        c_col_stride: OUT,
    };
    blocked::gemm_or_overwrite(product, weight_grad_columns, overwrite);
}

/// Returns the rows `columns` of `weight^T * grad`, with every other row zero: the share
/// of [`transpose_mul`] that one thread of a layer split computes. The shares of all
/// threads add up to the whole input gradient.
///
/// # Panics
///
/// When `columns` does not lie within `0..IN`.
pub fn transpose_mul_rows<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    weight: &SMatrix<T, OUT, IN>,
    grad: &SMatrix<T, OUT, B>,
    columns: Range<usize>,
) -> SMatrix<T, IN, B> {
    assert!(columns.start <= columns.end, "the column range is reversed");
    assert!(columns.end <= IN, "the column range ends after column {IN}");
    let mut dx: SMatrix<T, IN, B> = bytemuck::Zeroable::zeroed();
    if columns.is_empty() || B == 0 {
        return dx;
    }
    // The products land in their rows of `dx`, `IN` values apart per sample. The other
    // rows keep their zeros.
    blocked::dot_products(
        blocked::Dots {
            rows: columns.len(),
            cols: B,
            len: OUT,
            a: &weight.as_slice()[columns.start * OUT..columns.end * OUT],
            a_col_stride: OUT,
            b: grad.as_slice(),
            b_col_stride: OUT,
            c_col_stride: IN,
        },
        &mut dx.as_mut_slice()[columns.start..],
    );
    dx
}

/// Returns the name of the instruction set the blocked kernel runs with for `T` on this
/// CPU: `"avx512f"`, `"avx2+fma"`, or `"portable"` when it does not run and the dense
/// layers use the small kernel for every product. Benchmarks print it next to their results.
pub fn blocked_instruction_set<T: Float>() -> &'static str {
    blocked::instruction_set::<T>()
}

#[cfg(test)]
mod tests;
