//! AVX2 + FMA and AVX-512 tile kernels for `f32` and `f64` on x86-64.
//!
//! With the `std` feature the CPU is queried at run time with `is_x86_feature_detected!`,
//! which caches the result, so a build for the baseline x86-64 target still runs these
//! kernels. Without `std` they run only when the target enables the features at compile
//! time, for example `avx2` and `fma` with `-C target-cpu=x86-64-v3` and `avx512f` as
//! well with `-C target-cpu=x86-64-v4`.
//!
//! Both sets of kernels share one tile code, instantiated with 256-bit vectors (8 `f32`
//! lanes) and with 512-bit vectors (16 lanes). The AVX-512 set runs where the CPU has it.
//! CPUs with two 512-bit multiply-add units, such as the Intel Xeon virtual machine of
//! `BENCHMARKS.md`, then do twice the multiply-adds per cycle. `peak/fma` of
//! `benches/forward_backward.rs` measured about 109 GFLOP/s with 256-bit and 193 to 215
//! GFLOP/s with 512-bit vectors on one core there, in runs on one day. CPUs that split
//! each 512-bit operation into two halves (AMD Zen 4) run the same number of
//! multiply-adds per cycle either way.

use core::any::TypeId;
use core::arch::asm;
use core::arch::x86_64::*;

use super::blocked::{self, Dots, Gemm, Portable, Tiles};
use crate::float::Float;

/// The AVX2 + FMA tile kernels.
struct Avx2;

/// The AVX-512 tile kernels (AVX-512 Foundation, which includes multiply-add).
struct Avx512;

/// Returns whether this CPU runs AVX-512 Foundation instructions, and AVX2 and FMA, whose
/// transposes the AVX-512 kernels reuse.
#[inline]
fn has_avx512() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx512f") && has_avx2_fma()
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "avx512f") && has_avx2_fma()
    }
}

/// Returns whether this CPU runs AVX2 and FMA instructions.
#[inline]
fn has_avx2_fma() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
}

/// Returns whether the AVX2 kernels run for `T` on this CPU.
#[inline]
pub(super) fn available<T: 'static>() -> bool {
    let supported =
        TypeId::of::<T>() == TypeId::of::<f32>() || TypeId::of::<T>() == TypeId::of::<f64>();
    supported && has_avx2_fma()
}

/// Returns the name of the kernels that [`gemm`] and [`dot_products`] run on this CPU,
/// when it has AVX2 and FMA.
pub(super) fn instruction_set() -> &'static str {
    if has_avx512() { "avx512f" } else { "avx2+fma" }
}

/// Returns whether a product with `rows` result rows of `T` and `cols` columns (samples)
/// runs the AVX-512 kernels: when the CPU has them, the rows do not fit in one 256-bit
/// vector, and there is more than one column or the rows fit in two 512-bit vectors.
///
/// Rows that fit in one AVX2 vector (8 `f32`) fill an AVX2 tile but only half of a
/// 512-bit one. In `cargo bench --bench kernel_sweep` on the Intel Xeon machine of
/// `BENCHMARKS.md`, the 512-bit tiles lost to the small kernel on 8 x 8 layers where the
/// AVX2 tiles win. With 10 rows the 512-bit tiles were the faster set for 64 samples.
///
/// A single sample through a layer of more than two 512-bit vectors of rows reads each
/// weight once, so memory bounds it. The AVX2 tile of one column keeps 16 independent
/// sums over a 128-row layer where a 512-bit one keeps 8. On the Intel Xeon machine the
/// AVX2 tiles ran a 784-128-10 sample in 4.4 to 4.5 µs instead of 5.1 to 5.3 µs
/// (`cargo bench --bench forward_backward`, two runs each). Up to two vectors of
/// rows, a single sample waits on the latency of its multiply-adds instead, and the
/// 512-bit tile with its accumulator sets (see [`accumulator_sets`]) runs half as many
/// of them. On the AMD EPYC family 26 machine of `BENCHMARKS.md`, a 64-32-10 sample
/// took 104 to 106 ns with neither, 90 to 94 ns with the sets on AVX2 tiles (this rule
/// reverted to AVX2 for every single sample), and 77 to 80 ns with both (alternating
/// runs of `cargo bench --bench forward_backward -- '^forward/64-32-10/generated'`).
///
/// NOTE: before the sets, the AVX2 tiles ran that sample faster on the Intel Xeon
/// machine (137 to 139 ns against 176 to 179 ns), and the rule has not been measured
/// there since.
fn uses_wide<T>(rows: usize, cols: usize) -> bool {
    let bytes = rows * core::mem::size_of::<T>();
    bytes > 32 && (cols > 1 || bytes <= 128) && has_avx512()
}

/// Defines `$name`, which runs a `$product` through `blocked::$drive` with the AVX-512 or
/// the AVX2 kernels (see [`uses_wide`]) and returns `true`, or returns `false` when
/// neither applies to `T` or this CPU. The caller has checked the product's shape, and
/// `c` must be valid for every value of the result that the shape names.
macro_rules! on_kernel_set {
    (
        $(#[$doc:meta])* $name:ident, $product:ident, $retype:ident, $drive:ident
        $(, $arg:ident: $arg_type:ty)*
    ) => {
        $(#[$doc])*
        pub(super) unsafe fn $name<T: Float>(
            product: &$product<'_, T>,
            c: *mut T
            $(, $arg: $arg_type)*
        ) -> bool {
            if !has_avx2_fma() {
                return false;
            }
            let wide = uses_wide::<T>(product.rows, product.cols);
            on_kernel_set!(@scalars [f32, f64] product, c, wide, $retype, $drive, [$($arg),*]);
            false
        }
    };
    (
        @scalars [$($scalar:ty),*] $product:ident, $c:ident, $wide:ident, $retype:ident,
        $drive:ident, $args:tt
    ) => {
        $(
            if TypeId::of::<T>() == TypeId::of::<$scalar>() {
                let product = $retype::<T, $scalar>($product);
                // The `TypeId` check above shows that `T` is `$scalar`.
                let c = $c.cast::<$scalar>();
                // SAFETY: the caller checked the shape and passes a `c` valid for it, and
                // the CPU has the kernels' features.
                unsafe {
                    if $wide {
                        call!(blocked::$drive::<$scalar, Avx512>; &product, c; $args);
                    } else {
                        call!(blocked::$drive::<$scalar, Avx2>; &product, c; $args);
                    }
                }
                return true;
            }
        )*
    };
}

/// Calls `$function` with the arguments before the brackets and then those inside them.
macro_rules! call {
    ($function:expr; $($argument:expr),*; [$($more:expr),*]) => {
        $function($($argument,)* $($more),*)
    };
}

on_kernel_set!(
    /// Runs [`blocked::gemm`], or [`blocked::gemm_overwrite`] with `overwrite`, on this
    /// CPU's SIMD kernels.
    ///
    /// # Safety
    ///
    /// The caller has checked the product's shape, and `c` is valid as
    /// [`blocked::gemm_at`] requires.
    gemm, Gemm, retype_gemm, drive_gemm, overwrite: bool
);
on_kernel_set!(
    /// Runs [`blocked::dot_products`] on this CPU's SIMD kernels.
    ///
    /// # Safety
    ///
    /// `blocked::dot_products` has checked the product's shape, and `c` points to a
    /// slice as long as it needs, apart from `a` and `b`.
    dot_products, Dots, retype_dots, drive_dots
);

/// Defines a test helper `$name` that runs a `$product` (`C += A B`, `C = A B` with
/// `overwrite`, or `C = A^T B`) from `c` with each set of kernels this CPU has and
/// returns the named results.
macro_rules! with_each_kernel_set {
    ($name:ident, $product:ident, $retype:ident, $drive:ident $(, $arg:ident: $arg_type:ty)*) => {
        #[cfg(test)]
        pub(super) fn $name<T: Float>(
            product: &$product<'_, T>,
            c: &[T]
            $(, $arg: $arg_type)*
        ) -> std::vec::Vec<(&'static str, std::vec::Vec<T>)> {
            let mut results = std::vec::Vec::new();
            for (name, available) in [("avx2", has_avx2_fma()), ("avx512", has_avx512())] {
                if !available {
                    continue;
                }
                let mut out = c.to_vec();
                let ran = with_each_kernel_set!(
                    @scalars [f32, f64] product, out, name, $retype, $drive, [$($arg),*]
                );
                if ran {
                    results.push((name, out));
                }
            }
            results
        }
    };
    (
        @scalars [$($scalar:ty),*] $product:ident, $out:ident, $set:ident, $retype:ident,
        $drive:ident, $args:tt
    ) => {
        $(
            if let Some(out) = same_type_mut::<T, $scalar>(&mut $out) {
                let product = $retype::<T, $scalar>($product);
                let out = out.as_mut_ptr();
                // SAFETY: the caller passes slices of the product's shape, and the CPU
                // has the kernels' features.
                unsafe {
                    match $set {
                        "avx2" => call!(blocked::$drive::<$scalar, Avx2>; &product, out; $args),
                        _ => call!(blocked::$drive::<$scalar, Avx512>; &product, out; $args),
                    }
                }
                true
            } else
        )* {
            false
        }
    };
}

with_each_kernel_set!(gemm_each, Gemm, retype_gemm, drive_gemm, overwrite: bool);
with_each_kernel_set!(dots_each, Dots, retype_dots, drive_dots);

/// Reinterprets a slice of `T` as a slice of `U` when both are the same type.
fn same_type<T: 'static, U: 'static>(values: &[T]) -> Option<&[U]> {
    if TypeId::of::<T>() == TypeId::of::<U>() {
        // SAFETY: `T` and `U` are the same type.
        Some(unsafe { core::slice::from_raw_parts(values.as_ptr().cast(), values.len()) })
    } else {
        None
    }
}

/// Like [`same_type`], for a mutable slice.
#[cfg(test)]
fn same_type_mut<T: 'static, U: 'static>(values: &mut [T]) -> Option<&mut [U]> {
    if TypeId::of::<T>() == TypeId::of::<U>() {
        // SAFETY: `T` and `U` are the same type.
        Some(unsafe { core::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len()) })
    } else {
        None
    }
}

/// Views a product of `T` as one of `U`, which the caller has found to be the same type.
fn retype_gemm<'a, T: 'static, U: 'static>(product: &Gemm<'a, T>) -> Gemm<'a, U> {
    let same = "retype_gemm is only called with equal types";
    Gemm {
        rows: product.rows,
        cols: product.cols,
        inner: product.inner,
        a: same_type(product.a).expect(same),
        a_col_stride: product.a_col_stride,
        b: same_type(product.b).expect(same),
        b_row_stride: product.b_row_stride,
        b_col_stride: product.b_col_stride,
        c_col_stride: product.c_col_stride,
    }
}

/// Like [`retype_gemm`], for [`Dots`].
fn retype_dots<'a, T: 'static, U: 'static>(product: &Dots<'a, T>) -> Dots<'a, U> {
    let same = "retype_dots is only called with equal types";
    Dots {
        rows: product.rows,
        cols: product.cols,
        len: product.len,
        a: same_type(product.a).expect(same),
        a_col_stride: product.a_col_stride,
        b: same_type(product.b).expect(same),
        b_col_stride: product.b_col_stride,
        c_col_stride: product.c_col_stride,
    }
}

/// Defines the tile kernels of one scalar type and vector width and implements [`Tiles`]
/// for `$kernels` with them. `$features` enables the instructions of the width, and
/// `pack_transposed` works in blocks of `$block` values with `$transpose_block`.
macro_rules! simd_tiles {
    (
        kernels: $kernels:ident,
        features: $features:literal,
        scalar: $t:ty,
        lanes: $lanes:literal,
        max_cols: $max_cols:literal,
        transposed_b_tile: $transposed_b_tile:expr,
        block: $block:literal,
        vector: $v:ty,
        zero: $zero:ident,
        load: $load:ident,
        store: $store:ident,
        broadcast: $broadcast:ident,
        fmadd: $fmadd:ident,
        add: $add:ident,
        mask_load: $mask_load:ident,
        mask_store: $mask_store:ident,
        lane_mask: $lane_mask:ident,
        horizontal_sum: $hsum:ident,
        transpose_block: $transpose_block:ident,
        gemm_tile: $gemm_tile:ident,
        dot_tile: $dot_tile:ident $(,)?
    ) => {
        /// Adds a `V`-vector by `NR`-column tile of `A B` to `C`, or writes it with
        /// `overwrite` (see [`Tiles::gemm_tile`]). With `MASKED`, the last vector covers
        /// only `rows - (V - 1) * LANES` rows. The inner steps go round-robin to `S`
        /// sets of accumulators, which are added at the end (see [`accumulator_sets`]).
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $gemm_tile<
            const V: usize,
            const NR: usize,
            const S: usize,
            const MASKED: bool,
        >(
            rows: usize,
            k: usize,
            a: *const $t,
            lda: usize,
            b: *const $t,
            rsb: usize,
            csb: usize,
            c: *mut $t,
            ldc: usize,
            overwrite: bool,
        ) {
            let mask = $lane_mask(rows.saturating_sub((V - 1) * $lanes));
            let mut sets = [[[$zero(); V]; NR]; S];
            // SAFETY: the caller keeps every address inside its matrix, and the masked
            // loads and stores touch only the rows below `rows`.
            unsafe {
                // The steps along the inner dimension, given the address of element
                // `(p, j)` of `B` as an expression of `p` and `j`. Step `p` adds to set
                // `p % S`.
                macro_rules! steps {
                    (|$p:ident, $j:ident| $b_value:expr) => {
                        let step = |$p: usize, acc: &mut [[$v; V]; NR]| {
                            let a_p = a.add($p * lda);
                            let mut a_v = [$zero(); V];
                            for v in 0..V {
                                a_v[v] = if MASKED && v == V - 1 {
                                    $mask_load(a_p.add(v * $lanes), mask)
                                } else {
                                    $load(a_p.add(v * $lanes))
                                };
                            }
                            for $j in 0..NR {
                                let b_j = $broadcast(&*$b_value);
                                for v in 0..V {
                                    acc[$j][v] = $fmadd(a_v[v], b_j, acc[$j][v]);
                                }
                            }
                        };
                        let whole = k - k % S;
                        let mut first = 0;
                        while first < whole {
                            for (set, acc) in sets.iter_mut().enumerate() {
                                step(first + set, acc);
                            }
                            first += S;
                        }
                        // Constant indices keep the sets in registers. Zipping the
                        // sets with the run-time range of the last steps made the
                        // compiler keep them on the stack and store them at every step
                        // of the loop above (read with objdump).
                        for (set, acc) in sets.iter_mut().enumerate() {
                            if whole + set < k {
                                step(whole + set, acc);
                            }
                        }
                    };
                }
                // With both strides known only at run time, the compiler computes the
                // `NR` addresses of `B` at every step with a chain of integer additions
                // (read with objdump). The two layouts the dense layers use get simpler
                // addressing. In the weight gradient the values of one step are adjacent,
                // at fixed offsets from one pointer. In the forward product each column of
                // `B` is contiguous and gets its own pointer, set up once and made opaque
                // with `opaque_pointer` so that the compiler keeps it. On the 784-128-10
                // hidden layer the first made the weight gradient 4 to 5% faster and the
                // second the forward product 6 to 7% (`cargo bench --bench kernel_sweep --
                // alignment`).
                if csb == 1 {
                    steps!(|p, j| b.add(p * rsb + j));
                } else if rsb == 1 {
                    let columns: [*const $t; NR] =
                        core::array::from_fn(|j| opaque_pointer(b.add(j * csb)));
                    steps!(|p, j| columns[j].add(p));
                } else {
                    steps!(|p, j| b.add(p * rsb + j * csb));
                }
                let mut acc = sets[0];
                for set in &sets[1..] {
                    for j in 0..NR {
                        for v in 0..V {
                            acc[j][v] = $add(acc[j][v], set[j][v]);
                        }
                    }
                }
                // Unless `overwrite` skips the loads, every value of the tile in `C` is
                // loaded before any is stored. A masked store ends inside the vector's span. When the columns of `C` are closer
                // than a vector (10 rows), the load of the next column overlaps that span,
                // and a load after the store waited for the store to complete.
                // That cost about 20 cycles per column: the weight gradient of a 10 x 32
                // layer took 270 ns whether it had 1 or 4 samples, against 129 ns for the
                // small kernel with 4.
                for j in 0..NR {
                    let c_j = c.add(j * ldc);
                    for v in 0..V {
                        let address = c_j.add(v * $lanes);
                        let old = if overwrite {
                            $zero()
                        } else if MASKED && v == V - 1 {
                            $mask_load(address, mask)
                        } else {
                            $load(address)
                        };
                        acc[j][v] = $add(old, acc[j][v]);
                    }
                }
                for j in 0..NR {
                    let c_j = c.add(j * ldc);
                    for v in 0..V {
                        let address = c_j.add(v * $lanes);
                        if MASKED && v == V - 1 {
                            $mask_store(address, mask, acc[j][v]);
                        } else {
                            $store(address, acc[j][v]);
                        }
                    }
                }
            }
        }

        /// Writes an `R` by `C` tile of dot products of columns of `A` and `B`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $dot_tile<const R: usize, const C: usize>(
            len: usize,
            a: *const $t,
            lda: usize,
            b: *const $t,
            ldb: usize,
            c: *mut $t,
            ldc: usize,
        ) {
            let full = len / $lanes * $lanes;
            let mut acc = [[$zero(); R]; C];
            // SAFETY: the caller keeps every address inside its matrix; the tail uses
            // masked loads that read only the values below `len`.
            unsafe {
                let mut s = 0;
                while s < full {
                    let mut a_v = [$zero(); R];
                    for i in 0..R {
                        a_v[i] = $load(a.add(i * lda + s));
                    }
                    for j in 0..C {
                        let b_v = $load(b.add(j * ldb + s));
                        for i in 0..R {
                            acc[j][i] = $fmadd(a_v[i], b_v, acc[j][i]);
                        }
                    }
                    s += $lanes;
                }
                if full < len {
                    let mask = $lane_mask(len - full);
                    let mut a_v = [$zero(); R];
                    for i in 0..R {
                        a_v[i] = $mask_load(a.add(i * lda + full), mask);
                    }
                    for j in 0..C {
                        let b_v = $mask_load(b.add(j * ldb + full), mask);
                        for i in 0..R {
                            acc[j][i] = $fmadd(a_v[i], b_v, acc[j][i]);
                        }
                    }
                }
                for j in 0..C {
                    for i in 0..R {
                        *c.add(i + j * ldc) = $hsum(acc[j][i]);
                    }
                }
            }
        }

        impl Tiles<$t> for $kernels {
            const LANES: usize = $lanes;
            const MAX_COLS: usize = $max_cols;
            const TRANSPOSED_B_TILE: Option<(usize, usize)> = $transposed_b_tile;

            unsafe fn pack_transposed(
                rows: usize,
                k: usize,
                a: *const $t,
                lda: usize,
                packed: *mut $t,
                ld: usize,
            ) {
                // Blocks of `$block x $block` values, partial ones along the edges.
                for r0 in (0..rows).step_by($block) {
                    for p0 in (0..k).step_by($block) {
                        let size = ((rows - r0).min($block), (k - p0).min($block));
                        // SAFETY: the block lies inside the `rows x k` region the caller
                        // guarantees, and the caller checked the CPU.
                        unsafe {
                            $transpose_block(
                                a.add(r0 * lda + p0),
                                lda,
                                packed.add(r0 + p0 * ld),
                                ld,
                                size,
                            )
                        };
                    }
                }
            }

            unsafe fn gemm_tile(
                vectors: usize,
                cols: usize,
                rows: usize,
                k: usize,
                a: *const $t,
                lda: usize,
                b: *const $t,
                strides: (usize, usize),
                c: *mut $t,
                ldc: usize,
                overwrite: bool,
            ) {
                let masked = rows < vectors * $lanes;
                let (rsb, csb) = strides;
                macro_rules! tile {
                    ($vectors:literal, $cols:literal, $masked:literal) => {
                        // SAFETY: forwarded from the caller, who checked the CPU.
                        unsafe {
                            $gemm_tile::<
                                $vectors,
                                $cols,
                                { accumulator_sets($vectors, $cols) },
                                $masked,
                            >(rows, k, a, lda, b, rsb, csb, c, ldc, overwrite)
                        }
                    };
                }
                match (vectors, cols, masked) {
                    (16, 1, false) => tile!(16, 1, false),
                    (8, 1, false) => tile!(8, 1, false),
                    (4, 1, false) => tile!(4, 1, false),
                    (4, 2, false) => tile!(4, 2, false),
                    // Only kernels with a `TRANSPOSED_B_TILE` request 4 x 3 to 4 x 6.
                    (4, 3, false) => tile!(4, 3, false),
                    (4, 4, false) => tile!(4, 4, false),
                    (4, 5, false) => tile!(4, 5, false),
                    (4, 6, false) => tile!(4, 6, false),
                    (2, 1, false) => tile!(2, 1, false),
                    (2, 2, false) => tile!(2, 2, false),
                    (2, 3, false) => tile!(2, 3, false),
                    (2, 4, false) => tile!(2, 4, false),
                    (2, 5, false) => tile!(2, 5, false),
                    (2, 6, false) => tile!(2, 6, false),
                    (1, 1, false) => tile!(1, 1, false),
                    (1, 2, false) => tile!(1, 2, false),
                    (1, 3, false) => tile!(1, 3, false),
                    (1, 4, false) => tile!(1, 4, false),
                    (1, 5, false) => tile!(1, 5, false),
                    (1, 6, false) => tile!(1, 6, false),
                    (2, 1, true) => tile!(2, 1, true),
                    (2, 2, true) => tile!(2, 2, true),
                    (2, 3, true) => tile!(2, 3, true),
                    (2, 4, true) => tile!(2, 4, true),
                    (2, 5, true) => tile!(2, 5, true),
                    (2, 6, true) => tile!(2, 6, true),
                    (1, 1, true) => tile!(1, 1, true),
                    (1, 2, true) => tile!(1, 2, true),
                    (1, 3, true) => tile!(1, 3, true),
                    (1, 4, true) => tile!(1, 4, true),
                    (1, 5, true) => tile!(1, 5, true),
                    (1, 6, true) => tile!(1, 6, true),
                    (2, 7, false) => tile!(2, 7, false),
                    (2, 8, false) => tile!(2, 8, false),
                    (2, 9, false) => tile!(2, 9, false),
                    (2, 10, false) => tile!(2, 10, false),
                    (2, 11, false) => tile!(2, 11, false),
                    (2, 12, false) => tile!(2, 12, false),
                    (2, 7, true) => tile!(2, 7, true),
                    (2, 8, true) => tile!(2, 8, true),
                    (2, 9, true) => tile!(2, 9, true),
                    (2, 10, true) => tile!(2, 10, true),
                    (2, 11, true) => tile!(2, 11, true),
                    (2, 12, true) => tile!(2, 12, true),
                    (1, 7, false) => tile!(1, 7, false),
                    (1, 8, false) => tile!(1, 8, false),
                    (1, 9, false) => tile!(1, 9, false),
                    (1, 10, false) => tile!(1, 10, false),
                    (1, 11, false) => tile!(1, 11, false),
                    (1, 12, false) => tile!(1, 12, false),
                    (1, 7, true) => tile!(1, 7, true),
                    (1, 8, true) => tile!(1, 8, true),
                    (1, 9, true) => tile!(1, 9, true),
                    (1, 10, true) => tile!(1, 10, true),
                    (1, 11, true) => tile!(1, 11, true),
                    (1, 12, true) => tile!(1, 12, true),
                    // The driver requests no other shape, and the portable tile handles any.
                    _ => unsafe {
                        <Portable as Tiles<$t>>::gemm_tile(
                            vectors, cols, rows, k, a, lda, b, strides, c, ldc, overwrite,
                        )
                    },
                }
            }

            unsafe fn dot_tile(
                rows: usize,
                cols: usize,
                len: usize,
                a: *const $t,
                lda: usize,
                b: *const $t,
                ldb: usize,
                c: *mut $t,
                ldc: usize,
            ) {
                macro_rules! tile {
                    ($rows:literal, $cols:literal) => {
                        // SAFETY: forwarded from the caller, who checked the CPU.
                        unsafe { $dot_tile::<$rows, $cols>(len, a, lda, b, ldb, c, ldc) }
                    };
                }
                match (rows, cols) {
                    (8, 1) => tile!(8, 1),
                    (4, 3) => tile!(4, 3),
                    (4, 1) => tile!(4, 1),
                    (1, 3) => tile!(1, 3),
                    (1, 1) => tile!(1, 1),
                    // The driver requests no other shape, and the portable tile handles any.
                    _ => unsafe {
                        <Portable as Tiles<$t>>::dot_tile(rows, cols, len, a, lda, b, ldb, c, ldc)
                    },
                }
            }
        }
    };
}

/// Returns how many sets of accumulators a tile of `vectors` by `cols` vectors spreads
/// its inner steps over: enough for 8 independent chains of multiply-adds.
///
/// A multiply-add waits for the one before it on the same accumulator. With two FMA
/// units and a latency of 4 cycles, a core keeps 8 of them in flight. A tile of fewer
/// than 8 accumulators, such as the 2 x 1 tile of a single sample through a 32-output
/// layer, therefore waits on latency. Sets add their sums in a fixed order, so results
/// stay deterministic, but a value computed in such a tile can differ in its last bits
/// from the same value computed in a wider one.
const fn accumulator_sets(vectors: usize, cols: usize) -> usize {
    let accumulators = vectors * cols;
    if accumulators >= 8 {
        1
    } else if accumulators >= 4 {
        2
    } else if accumulators >= 2 {
        4
    } else {
        8
    }
}

/// Returns `pointer` unchanged, through an empty `asm!` block that the compiler cannot
/// see into.
///
/// The forward product's tiles read `B` through one pointer per column, `csb` values
/// apart. When it can see through them, the compiler folds them back into `b + j * csb`
/// and rebuilds the addresses at every inner step with 9 or 10 integer additions (read
/// with `perf annotate` and objdump). With opaque pointers every broadcast addresses
/// `column + p`. Up to 11 pointers stay in registers; a 12-column tile keeps two of them
/// on the stack and reloads them at every step.
#[inline(always)]
#[allow(
    clippy::pointers_in_nomem_asm_block,
    reason = "the block only hides the value and never dereferences it"
)]
fn opaque_pointer<T>(mut pointer: *const T) -> *const T {
    // SAFETY: the template is only a comment, so the block touches no memory, stack or
    // flags and returns `pointer` unchanged, with its provenance.
    unsafe {
        asm!("/* {0} */", inout(reg) pointer, options(pure, nomem, nostack, preserves_flags))
    };
    pointer
}

/// Returns a mask whose first `n` of 8 lanes are set.
#[target_feature(enable = "avx2")]
fn lane_mask_f32(n: usize) -> __m256i {
    let n = n.min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// Returns a mask whose first `n` of 4 lanes are set.
#[target_feature(enable = "avx2")]
fn lane_mask_f64(n: usize) -> __m256i {
    let n = n.min(4) as i64;
    _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3))
}

/// Transposes a block of up to 8 x 8 values: row `i` of the output (the values at
/// `dst + i * dst_stride`) is lane `i` of the input vectors at `src + j * src_stride`.
///
/// The block has `inputs` input vectors of `lanes` values each, both at most 8, so it
/// writes `lanes` output rows of `inputs` values. A partial block loads and stores with
/// masks and touches nothing outside it.
///
/// # Safety
///
/// The `lanes` values of each of the `inputs` input vectors must be readable, and the
/// `inputs` values of each of the `lanes` output rows writable.
#[target_feature(enable = "avx2")]
unsafe fn transpose_block_f32(
    src: *const f32,
    src_stride: usize,
    dst: *mut f32,
    dst_stride: usize,
    (inputs, lanes): (usize, usize),
) {
    let full = inputs == 8 && lanes == 8;
    let (lane_mask, input_mask) = (lane_mask_f32(lanes), lane_mask_f32(inputs));
    // SAFETY: forwarded from the caller, and masked-off lanes are neither read nor written.
    unsafe {
        let row = |j: usize| {
            if full {
                _mm256_loadu_ps(src.add(j * src_stride))
            } else if j < inputs {
                _mm256_maskload_ps(src.add(j * src_stride), lane_mask)
            } else {
                _mm256_setzero_ps()
            }
        };
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
        let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
        let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
        let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
        let (u0, u1) = (
            _mm256_shuffle_ps::<0x44>(t0, t2),
            _mm256_shuffle_ps::<0xee>(t0, t2),
        );
        let (u2, u3) = (
            _mm256_shuffle_ps::<0x44>(t1, t3),
            _mm256_shuffle_ps::<0xee>(t1, t3),
        );
        let (u4, u5) = (
            _mm256_shuffle_ps::<0x44>(t4, t6),
            _mm256_shuffle_ps::<0xee>(t4, t6),
        );
        let (u6, u7) = (
            _mm256_shuffle_ps::<0x44>(t5, t7),
            _mm256_shuffle_ps::<0xee>(t5, t7),
        );
        let store = |i: usize, v: __m256| {
            if full {
                _mm256_storeu_ps(dst.add(i * dst_stride), v);
            } else if i < lanes {
                _mm256_maskstore_ps(dst.add(i * dst_stride), input_mask, v);
            }
        };
        store(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
        store(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
        store(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
        store(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
        store(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
        store(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
        store(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
        store(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
    }
}

/// Transposes a block of up to 4 x 4 values, as [`transpose_block_f32`] does for 8 x 8.
///
/// # Safety
///
/// As for [`transpose_block_f32`], with 4 in place of 8.
#[target_feature(enable = "avx2")]
unsafe fn transpose_block_f64(
    src: *const f64,
    src_stride: usize,
    dst: *mut f64,
    dst_stride: usize,
    (inputs, lanes): (usize, usize),
) {
    let full = inputs == 4 && lanes == 4;
    let (lane_mask, input_mask) = (lane_mask_f64(lanes), lane_mask_f64(inputs));
    // SAFETY: forwarded from the caller, and masked-off lanes are neither read nor written.
    unsafe {
        let row = |j: usize| {
            if full {
                _mm256_loadu_pd(src.add(j * src_stride))
            } else if j < inputs {
                _mm256_maskload_pd(src.add(j * src_stride), lane_mask)
            } else {
                _mm256_setzero_pd()
            }
        };
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let (t0, t1) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
        let store = |i: usize, v: __m256d| {
            if full {
                _mm256_storeu_pd(dst.add(i * dst_stride), v);
            } else if i < lanes {
                _mm256_maskstore_pd(dst.add(i * dst_stride), input_mask, v);
            }
        };
        store(0, _mm256_permute2f128_pd::<0x20>(t0, t2));
        store(1, _mm256_permute2f128_pd::<0x20>(t1, t3));
        store(2, _mm256_permute2f128_pd::<0x31>(t0, t2));
        store(3, _mm256_permute2f128_pd::<0x31>(t1, t3));
    }
}

/// Returns the sum of the 8 lanes of `v`.
#[target_feature(enable = "avx2")]
fn horizontal_sum_f32(v: __m256) -> f32 {
    let sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    let sum = _mm_add_ss(sum, _mm_shuffle_ps::<1>(sum, sum));
    _mm_cvtss_f32(sum)
}

/// Returns the sum of the 4 lanes of `v`.
#[target_feature(enable = "avx2")]
fn horizontal_sum_f64(v: __m256d) -> f64 {
    let sum = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    let sum = _mm_add_sd(sum, _mm_unpackhi_pd(sum, sum));
    _mm_cvtsd_f64(sum)
}

simd_tiles! {
    kernels: Avx2,
    features: "avx2,fma",
    scalar: f32,
    lanes: 8,
    max_cols: 6,
    transposed_b_tile: None,
    block: 8,
    vector: __m256,
    zero: _mm256_setzero_ps,
    load: _mm256_loadu_ps,
    store: _mm256_storeu_ps,
    broadcast: _mm256_broadcast_ss,
    fmadd: _mm256_fmadd_ps,
    add: _mm256_add_ps,
    mask_load: _mm256_maskload_ps,
    mask_store: _mm256_maskstore_ps,
    lane_mask: lane_mask_f32,
    horizontal_sum: horizontal_sum_f32,
    transpose_block: transpose_block_f32,
    gemm_tile: gemm_tile_f32,
    dot_tile: dot_tile_f32,
}

simd_tiles! {
    kernels: Avx2,
    features: "avx2,fma",
    scalar: f64,
    lanes: 4,
    max_cols: 6,
    transposed_b_tile: None,
    block: 4,
    vector: __m256d,
    zero: _mm256_setzero_pd,
    load: _mm256_loadu_pd,
    store: _mm256_storeu_pd,
    broadcast: _mm256_broadcast_sd,
    fmadd: _mm256_fmadd_pd,
    add: _mm256_add_pd,
    mask_load: _mm256_maskload_pd,
    mask_store: _mm256_maskstore_pd,
    lane_mask: lane_mask_f64,
    horizontal_sum: horizontal_sum_f64,
    transpose_block: transpose_block_f64,
    gemm_tile: gemm_tile_f64,
    dot_tile: dot_tile_f64,
}

/// Returns a mask whose first `n` of 16 lanes are set.
fn lane_mask_f32x16(n: usize) -> __mmask16 {
    if n >= 16 { u16::MAX } else { (1u16 << n) - 1 }
}

/// Returns a mask whose first `n` of 8 lanes are set.
fn lane_mask_f64x8(n: usize) -> __mmask8 {
    if n >= 8 { u8::MAX } else { (1u8 << n) - 1 }
}

/// Loads the lanes of `mask` from `address` and sets the others to zero, reading no
/// memory for them.
///
/// # Safety
///
/// The lanes of `mask` must be readable.
#[target_feature(enable = "avx512f")]
unsafe fn mask_load_f32x16(address: *const f32, mask: __mmask16) -> __m512 {
    // SAFETY: forwarded from the caller.
    unsafe { _mm512_maskz_loadu_ps(mask, address) }
}

/// Stores the lanes of `mask` of `v` at `address`, writing no memory for the others.
///
/// # Safety
///
/// The lanes of `mask` must be writable.
#[target_feature(enable = "avx512f")]
unsafe fn mask_store_f32x16(address: *mut f32, mask: __mmask16, v: __m512) {
    // SAFETY: forwarded from the caller.
    unsafe { _mm512_mask_storeu_ps(address, mask, v) }
}

/// Loads the lanes of `mask` from `address`, as [`mask_load_f32x16`] does for 8 `f64`
/// lanes.
///
/// # Safety
///
/// As for [`mask_load_f32x16`].
#[target_feature(enable = "avx512f")]
unsafe fn mask_load_f64x8(address: *const f64, mask: __mmask8) -> __m512d {
    // SAFETY: forwarded from the caller.
    unsafe { _mm512_maskz_loadu_pd(mask, address) }
}

/// Stores the lanes of `mask` of `v` at `address`, as [`mask_store_f32x16`] does for 8
/// `f64` lanes.
///
/// # Safety
///
/// As for [`mask_store_f32x16`].
#[target_feature(enable = "avx512f")]
unsafe fn mask_store_f64x8(address: *mut f64, mask: __mmask8, v: __m512d) {
    // SAFETY: forwarded from the caller.
    unsafe { _mm512_mask_storeu_pd(address, mask, v) }
}

/// Returns a vector with `value` in all 16 lanes.
#[target_feature(enable = "avx512f")]
fn broadcast_f32x16(value: &f32) -> __m512 {
    _mm512_set1_ps(*value)
}

/// Returns a vector with `value` in all 8 lanes.
#[target_feature(enable = "avx512f")]
fn broadcast_f64x8(value: &f64) -> __m512d {
    _mm512_set1_pd(*value)
}

/// Returns the sum of the 16 lanes of `v`.
#[target_feature(enable = "avx512f")]
fn horizontal_sum_f32x16(v: __m512) -> f32 {
    _mm512_reduce_add_ps(v)
}

/// Returns the sum of the 8 lanes of `v`.
#[target_feature(enable = "avx512f")]
fn horizontal_sum_f64x8(v: __m512d) -> f64 {
    _mm512_reduce_add_pd(v)
}

// The AVX-512 kernels pack with the AVX2 transposes: a CPU with AVX-512 Foundation has
// AVX2 (`has_avx512` checks both), and packing is a small part of a product.
simd_tiles! {
    kernels: Avx512,
    features: "avx512f,avx2,fma",
    scalar: f32,
    lanes: 16,
    max_cols: 12,
    transposed_b_tile: Some((4, 6)),
    block: 8,
    vector: __m512,
    zero: _mm512_setzero_ps,
    load: _mm512_loadu_ps,
    store: _mm512_storeu_ps,
    broadcast: broadcast_f32x16,
    fmadd: _mm512_fmadd_ps,
    add: _mm512_add_ps,
    mask_load: mask_load_f32x16,
    mask_store: mask_store_f32x16,
    lane_mask: lane_mask_f32x16,
    horizontal_sum: horizontal_sum_f32x16,
    transpose_block: transpose_block_f32,
    gemm_tile: gemm_tile_f32x16,
    dot_tile: dot_tile_f32x16,
}

simd_tiles! {
    kernels: Avx512,
    features: "avx512f,avx2,fma",
    scalar: f64,
    lanes: 8,
    max_cols: 12,
    transposed_b_tile: None,
    block: 4,
    vector: __m512d,
    zero: _mm512_setzero_pd,
    load: _mm512_loadu_pd,
    store: _mm512_storeu_pd,
    broadcast: broadcast_f64x8,
    fmadd: _mm512_fmadd_pd,
    add: _mm512_add_pd,
    mask_load: mask_load_f64x8,
    mask_store: mask_store_f64x8,
    lane_mask: lane_mask_f64x8,
    horizontal_sum: horizontal_sum_f64x8,
    transpose_block: transpose_block_f64,
    gemm_tile: gemm_tile_f64x8,
    dot_tile: dot_tile_f64x8,
}
