//! Products for small layers: plain loops over constant bounds.
//!
//! Every loop runs along a contiguous column (the `OUT` values of one weight column or of
//! one sample), so the compiler vectorises it with the target's vector width and never
//! needs gather or scatter instructions. Dot products, which a compiler may not reorder,
//! are split into [`LANES`] independent partial sums that it can keep in one vector.
//!
//! Multiply-adds are fused only when the build has the `std` feature and the target has
//! a fused multiply-add instruction at compile time: x86-64 with `fma` enabled
//! (`-C target-cpu=native` on a CPU with FMA), or AArch64, whose base instruction set has
//! one. They go through `mul_add`. Without `std`, `mul_add` would be libm's software routine, so those builds
//! multiply and add separately. A `no_std` build therefore computes the same bits as a
//! `std` build for the same target without `fma`.

use crate::float::Float;

/// The number of partial sums of a dot product.
pub const LANES: usize = 8;

/// Returns `a * b + c`, fused where the target supports it (see the module docs).
#[inline(always)]
fn multiply_add<T: Float>(a: T, b: T, c: T) -> T {
    // NOTE: the AArch64 case is tested under qemu in CI (`ci/aarch64-check.sh`) but its
    // speed was never measured, because only x86-64 machines were available.
    #[cfg(all(feature = "std", any(target_feature = "fma", target_arch = "aarch64")))]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(all(feature = "std", any(target_feature = "fma", target_arch = "aarch64"))))]
    {
        a * b + c
    }
}

/// Writes `w * x + bias` into `y`, with `w` an `OUT x IN` matrix, `x` an `IN x B`
/// matrix, `bias` a vector of `OUT` values added to every column, and `y` an `OUT x B`
/// matrix, all column-major.
///
/// Each output column starts from the bias and accumulates one weight column at a time
/// (axpy form) in a local array, which vectorises along `OUT`. The local array matters.
/// Accumulating in `y` itself let LLVM keep the sums in memory when the kernel was
/// inlined into a caller that it could not prove free of aliasing. That measured 13
/// times slower (656 against 50 ns for 32 x 32 on one sample).
#[inline]
pub fn affine<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    w: &[T],
    bias: &[T],
    x: &[T],
    y: &mut [T],
) {
    let (w, bias, x, y) = (
        &w[..OUT * IN],
        &bias[..OUT],
        &x[..IN * B],
        &mut y[..OUT * B],
    );
    // Chunks of zero values do not exist, and without inputs every column is the bias.
    if OUT == 0 {
        return;
    }
    if IN == 0 {
        for y_column in y.chunks_exact_mut(OUT) {
            y_column.copy_from_slice(bias);
        }
        return;
    }
    for (x_column, y_column) in x.chunks_exact(IN).zip(y.chunks_exact_mut(OUT)) {
        let mut sums = [T::zero(); OUT];
        sums.copy_from_slice(bias);
        for (w_column, &x_value) in w.chunks_exact(OUT).zip(x_column) {
            for (sum, &w_value) in sums.iter_mut().zip(w_column) {
                *sum = multiply_add(w_value, x_value, *sum);
            }
        }
        y_column.copy_from_slice(&sums);
    }
}

/// Writes `w^T * g` into `dx`, with `w` an `OUT x IN` matrix, `g` an `OUT x B` matrix and
/// `dx` an `IN x B` matrix, all column-major.
///
/// Each value is the dot product of a weight column with a column of `g`, both
/// contiguous.
#[inline]
pub fn transpose_product<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    w: &[T],
    g: &[T],
    dx: &mut [T],
) {
    let (w, g, dx) = (&w[..OUT * IN], &g[..OUT * B], &mut dx[..IN * B]);
    // A product over zero outputs is zero, and chunks of zero values do not exist.
    if IN == 0 || OUT == 0 {
        dx.fill(T::zero());
        return;
    }
    for (g_column, dx_column) in g.chunks_exact(OUT).zip(dx.chunks_exact_mut(IN)) {
        for (w_column, dx_value) in w.chunks_exact(OUT).zip(dx_column.iter_mut()) {
            *dx_value = dot::<T, OUT>(w_column, g_column);
        }
    }
}

/// Adds `g * x^T` to `dw`, with `g` an `OUT x B` matrix, `x` an `IN x B` matrix and `dw`
/// an `OUT x IN` matrix, all column-major.
///
/// Each weight-gradient column is copied to a local array once, accumulates every sample
/// of the batch and is stored once.
#[inline]
pub fn accumulate_outer<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    g: &[T],
    x: &[T],
    dw: &mut [T],
) {
    outer::<T, IN, OUT, B>(g, x, dw, false);
}

/// Sets `dw` to `g x^T`, with the bits that zeroing it and [`accumulate_outer`] give,
/// without reading `dw`: one pass over the gradient instead of two.
#[inline]
pub fn set_outer<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    g: &[T],
    x: &[T],
    dw: &mut [T],
) {
    outer::<T, IN, OUT, B>(g, x, dw, true);
}

/// Runs [`accumulate_outer`], or [`set_outer`] with `overwrite`.
#[inline(always)]
fn outer<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    g: &[T],
    x: &[T],
    dw: &mut [T],
    overwrite: bool,
) {
    let (g, x, dw) = (&g[..OUT * B], &x[..IN * B], &mut dw[..OUT * IN]);
    if IN == 0 || OUT == 0 {
        return;
    }
    for (k, dw_column) in dw.chunks_exact_mut(OUT).enumerate() {
        let mut sums = [T::zero(); OUT];
        if !overwrite {
            sums.copy_from_slice(dw_column);
        }
        for (sample, g_column) in g.chunks_exact(OUT).enumerate() {
            let x_value = x[sample * IN + k];
            for (sum, &g_value) in sums.iter_mut().zip(g_column) {
                *sum = multiply_add(g_value, x_value, *sum);
            }
        }
        dw_column.copy_from_slice(&sums);
    }
}

/// Returns the dot product of the first `N` values of `a` and `b`, summed in [`LANES`]
/// independent partial sums that are added at the end.
#[inline(always)]
pub fn dot<T: Float, const N: usize>(a: &[T], b: &[T]) -> T {
    let (a, b) = (&a[..N], &b[..N]);
    let mut partial = [T::zero(); LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (a_chunk, b_chunk) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            partial[lane] = multiply_add(a_chunk[lane], b_chunk[lane], partial[lane]);
        }
    }
    for (lane, (&a_value, &b_value)) in a_tail.iter().zip(b_tail).enumerate() {
        partial[lane] = multiply_add(a_value, b_value, partial[lane]);
    }
    let mut sum = T::zero();
    for value in partial {
        sum += value;
    }
    sum
}
