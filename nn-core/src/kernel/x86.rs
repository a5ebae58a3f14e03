//! AVX2 + FMA tile kernels for `f32` and `f64` on x86-64.
//!
//! With the `std` feature the CPU is queried at run time with `is_x86_feature_detected!`,
//! which caches the result, so a build for the baseline x86-64 target still runs these
//! kernels. Without `std` they run only when the target enables `avx2` and `fma` at
//! compile time, for example with `-C target-cpu=x86-64-v3`.
//!
//! The tiles use 256-bit vectors. AVX-512 would halve the instruction count, but on
//! CPUs that split 512-bit operations into two halves (AMD Zen 4) it adds no
//! multiply-add throughput, and 256-bit kernels run on every CPU since 2013.

use core::any::TypeId;
use core::arch::x86_64::*;

use super::blocked::{self, Dots, Gemm, Portable, Tiles};
use crate::float::Float;

/// The AVX2 + FMA tile kernels.
struct Avx2;

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

/// Runs [`blocked::gemm`] with the AVX2 kernels and returns `true`, or returns `false`
/// when they do not apply to `T` or this CPU.
pub(super) fn gemm<T: Float>(product: &Gemm<'_, T>, c: &mut [T]) -> bool {
    if !has_avx2_fma() {
        return false;
    }
    if let Some(c) = same_type_mut::<T, f32>(c) {
        let product = retype_gemm::<T, f32>(product);
        // SAFETY: `blocked::gemm` checked the lengths, and the CPU has AVX2 and FMA.
        unsafe { blocked::drive_gemm::<f32, Avx2>(&product, c.as_mut_ptr()) };
        return true;
    }
    if let Some(c) = same_type_mut::<T, f64>(c) {
        let product = retype_gemm::<T, f64>(product);
        // SAFETY: as above.
        unsafe { blocked::drive_gemm::<f64, Avx2>(&product, c.as_mut_ptr()) };
        return true;
    }
    false
}

/// Runs [`blocked::dot_products`] with the AVX2 kernels and returns `true`, or returns
/// `false` when they do not apply to `T` or this CPU.
pub(super) fn dot_products<T: Float>(product: &Dots<'_, T>, c: &mut [T]) -> bool {
    if !has_avx2_fma() {
        return false;
    }
    if let Some(c) = same_type_mut::<T, f32>(c) {
        let product = retype_dots::<T, f32>(product);
        // SAFETY: `blocked::dot_products` checked the lengths, and the CPU has AVX2 and FMA.
        unsafe { blocked::drive_dots::<f32, Avx2>(&product, c.as_mut_ptr()) };
        return true;
    }
    if let Some(c) = same_type_mut::<T, f64>(c) {
        let product = retype_dots::<T, f64>(product);
        // SAFETY: as above.
        unsafe { blocked::drive_dots::<f64, Avx2>(&product, c.as_mut_ptr()) };
        return true;
    }
    false
}

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
        b: same_type(product.b).expect(same),
        b_row_stride: product.b_row_stride,
        b_col_stride: product.b_col_stride,
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
        b: same_type(product.b).expect(same),
    }
}

/// Defines the AVX2 tile kernels of one scalar type and implements [`Tiles`] with them.
macro_rules! avx2_tiles {
    (
        scalar: $t:ty,
        lanes: $lanes:literal,
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
        /// Adds a `V`-vector by `NR`-column tile of `A B` to `C`. With `MASKED`, the last
        /// vector covers only `rows - (V - 1) * LANES` rows.
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $gemm_tile<const V: usize, const NR: usize, const MASKED: bool>(
            rows: usize,
            k: usize,
            a: *const $t,
            lda: usize,
            b: *const $t,
            rsb: usize,
            csb: usize,
            c: *mut $t,
            ldc: usize,
        ) {
            let mask = $lane_mask(rows.saturating_sub((V - 1) * $lanes));
            let mut acc = [[$zero(); V]; NR];
            // SAFETY: the caller keeps every address inside its matrix, and the masked
            // loads and stores touch only the rows below `rows`.
            unsafe {
                for p in 0..k {
                    let a_p = a.add(p * lda);
                    let b_p = b.add(p * rsb);
                    let mut a_v = [$zero(); V];
                    for v in 0..V {
                        a_v[v] = if MASKED && v == V - 1 {
                            $mask_load(a_p.add(v * $lanes), mask)
                        } else {
                            $load(a_p.add(v * $lanes))
                        };
                    }
                    for j in 0..NR {
                        let b_j = $broadcast(&*b_p.add(j * csb));
                        for v in 0..V {
                            acc[j][v] = $fmadd(a_v[v], b_j, acc[j][v]);
                        }
                    }
                }
                for j in 0..NR {
                    let c_j = c.add(j * ldc);
                    for v in 0..V {
                        let address = c_j.add(v * $lanes);
                        if MASKED && v == V - 1 {
                            let sum = $add($mask_load(address, mask), acc[j][v]);
                            $mask_store(address, mask, sum);
                        } else {
                            $store(address, $add($load(address), acc[j][v]));
                        }
                    }
                }
            }
        }

        /// Writes an `R` by `C` tile of dot products of columns of `A` and `B`.
        #[target_feature(enable = "avx2,fma")]
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

        impl Tiles<$t> for Avx2 {
            const LANES: usize = $lanes;

            unsafe fn pack_transposed(
                rows: usize,
                k: usize,
                a: *const $t,
                len: usize,
                packed: *mut $t,
                ld: usize,
            ) {
                let (full_rows, full_k) = (rows / $lanes * $lanes, k / $lanes * $lanes);
                for r0 in (0..full_rows).step_by($lanes) {
                    for p0 in (0..full_k).step_by($lanes) {
                        // SAFETY: the block lies inside the `rows x k` region the caller
                        // guarantees, and the caller checked the CPU.
                        unsafe {
                            $transpose_block(
                                a.add(r0 * len + p0),
                                len,
                                packed.add(r0 + p0 * ld),
                                ld,
                            )
                        };
                    }
                }
                // The rows and steps left over from whole blocks, one value at a time.
                for r in 0..rows {
                    let first_p = if r < full_rows { full_k } else { 0 };
                    for p in first_p..k {
                        // SAFETY: as above.
                        unsafe { *packed.add(r + p * ld) = *a.add(r * len + p) };
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
            ) {
                let masked = rows < vectors * $lanes;
                let (rsb, csb) = strides;
                macro_rules! tile {
                    ($vectors:literal, $cols:literal, $masked:literal) => {
                        // SAFETY: forwarded from the caller, who checked the CPU.
                        unsafe {
                            $gemm_tile::<$vectors, $cols, $masked>(
                                rows, k, a, lda, b, rsb, csb, c, ldc,
                            )
                        }
                    };
                }
                match (vectors, cols, masked) {
                    (16, 1, false) => tile!(16, 1, false),
                    (8, 1, false) => tile!(8, 1, false),
                    (4, 1, false) => tile!(4, 1, false),
                    (4, 2, false) => tile!(4, 2, false),
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
                    // The driver requests no other shape, and the portable tile handles any.
                    _ => unsafe {
                        <Portable as Tiles<$t>>::gemm_tile(
                            vectors, cols, rows, k, a, lda, b, strides, c, ldc,
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

/// Transposes an 8 x 8 block: row `i` of the output (8 values at `dst + i * dst_stride`)
/// is lane `i` of the 8 input vectors at `src + j * src_stride`.
///
/// # Safety
///
/// The 8 input vectors must be readable and the 8 output vectors writable.
#[target_feature(enable = "avx2")]
unsafe fn transpose_block_f32(
    src: *const f32,
    src_stride: usize,
    dst: *mut f32,
    dst_stride: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let row = |j: usize| _mm256_loadu_ps(src.add(j * src_stride));
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
        let store = |i: usize, v: __m256| _mm256_storeu_ps(dst.add(i * dst_stride), v);
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

/// Transposes a 4 x 4 block, as [`transpose_block_f32`] does for 8 x 8.
///
/// # Safety
///
/// The 4 input vectors must be readable and the 4 output vectors writable.
#[target_feature(enable = "avx2")]
unsafe fn transpose_block_f64(
    src: *const f64,
    src_stride: usize,
    dst: *mut f64,
    dst_stride: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let row = |j: usize| _mm256_loadu_pd(src.add(j * src_stride));
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let (t0, t1) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
        let store = |i: usize, v: __m256d| _mm256_storeu_pd(dst.add(i * dst_stride), v);
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

avx2_tiles! {
    scalar: f32,
    lanes: 8,
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

avx2_tiles! {
    scalar: f64,
    lanes: 4,
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
