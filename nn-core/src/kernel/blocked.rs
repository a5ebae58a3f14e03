//! Register-tiled products for large layers.
//!
//! The driver splits the result into tiles of a few SIMD vectors of rows by a few
//! columns. A tile kernel keeps the whole tile in registers while it runs along the
//! inner dimension. Per step it loads one short column of `A` (contiguous in nalgebra's
//! column-major storage), broadcasts one value of `B` per tile column and computes one
//! fused multiply-add per accumulator. Nothing is allocated, so the kernels run without
//! `alloc`, and the weight gradient is accumulated directly into its storage.
//!
//! The inner dimension is cut into blocks of [`INNER_BLOCK`] steps, so the part of `A`
//! that a row of tiles reuses (a few rows by one block) stays in the L1 cache while the
//! tiles move along the columns.
//!
//! Two products exist: [`Gemm`] accumulates `C += A B` ([`gemm`]) or writes `C = A B`
//! ([`gemm_overwrite`]), and [`Dots`] writes `C = A^T B`,
//! which is how the input gradient `W^T g` reads the weights. For [`Dots`] with at least
//! [`PACKED_MIN_COLS`] columns the driver copies strips of `A^T` into a buffer on the
//! stack and runs the [`Gemm`] tiles on them. With fewer columns it computes dot products
//! of contiguous columns instead.

use core::mem::MaybeUninit;

use crate::float::Float;

/// The number of inner steps per block of the [`Gemm`] driver.
pub const INNER_BLOCK: usize = 256;

/// A product `C += A B` for [`gemm`].
///
/// `A` is `rows x inner` and column-major, its columns `a_col_stride` values apart.
/// Element `(p, j)` of `B` (`inner x cols`) is `b[p * b_row_stride + j * b_col_stride]`,
/// so `B` can be a column-major matrix (strides 1 and `inner`) or the transpose of one
/// (strides `cols` and 1). `C` is `rows x cols` and column-major, its columns
/// `c_col_stride` values apart. With column strides larger than `rows`, `A` and `C` are
/// a band of rows of taller matrices, such as one thread's rows of a weight matrix.
#[derive(Clone, Copy, Debug)]
pub struct Gemm<'a, T> {
    /// The number of rows of `A` and `C`.
    pub rows: usize,
    /// The number of columns of `B` and `C`.
    pub cols: usize,
    /// The number of columns of `A` and rows of `B`.
    pub inner: usize,
    /// The values of `A`, column-major.
    pub a: &'a [T],
    /// The distance between columns of `A`, at least `rows`.
    pub a_col_stride: usize,
    /// The values of `B`, laid out by the two strides.
    pub b: &'a [T],
    /// The distance between rows of `B`.
    pub b_row_stride: usize,
    /// The distance between columns of `B`.
    pub b_col_stride: usize,
    /// The distance between columns of `C`, at least `rows`.
    pub c_col_stride: usize,
}

/// A product `C = A^T B` for [`dot_products`]: `A` is `len x rows` and `B` is
/// `len x cols`, both column-major, so each value of the `rows x cols` result `C` is the
/// dot product of a column of `A` with a column of `B`. Each matrix's columns are its
/// column stride apart, at least `len` for `A` and `B` and `rows` for `C`.
#[derive(Clone, Copy, Debug)]
pub struct Dots<'a, T> {
    /// The number of columns of `A` and rows of `C`.
    pub rows: usize,
    /// The number of columns of `B` and `C`.
    pub cols: usize,
    /// The length of the columns of `A` and `B`.
    pub len: usize,
    /// The values of `A`, column-major.
    pub a: &'a [T],
    /// The distance between columns of `A`, at least `len`.
    pub a_col_stride: usize,
    /// The values of `B`, column-major.
    pub b: &'a [T],
    /// The distance between columns of `B`, at least `len`.
    pub b_col_stride: usize,
    /// The distance between columns of `C`, at least `rows`.
    pub c_col_stride: usize,
}

/// Adds `A B` to `c`.
///
/// # Panics
///
/// When a slice is shorter than its shape needs, or a column stride of `A` or `C` is
/// smaller than `rows`. Nothing is checked for an empty result, and the stride of `A`
/// is not checked when `inner` is 0.
#[inline]
pub fn gemm<T: Float>(product: Gemm<'_, T>, c: &mut [T]) {
    run_gemm(product, c, false, "gemm");
}

/// Writes `A B` into `c`, with the same bits as [`gemm`] on a `c` of zeros, without
/// reading `c`. A training step that sets the weight gradient this way spares zeroing
/// it first and the tiles' loads of those zeros.
///
/// # Panics
///
/// As for [`gemm`].
#[inline]
pub fn gemm_overwrite<T: Float>(product: Gemm<'_, T>, c: &mut [T]) {
    run_gemm(product, c, true, "gemm_overwrite");
}

/// Runs [`gemm_overwrite`] with `overwrite`, else [`gemm`]: for callers that take the
/// choice as a flag.
#[inline]
pub(crate) fn gemm_or_overwrite<T: Float>(product: Gemm<'_, T>, c: &mut [T], overwrite: bool) {
    if overwrite {
        gemm_overwrite(product, c);
    } else {
        gemm(product, c);
    }
}

/// Writes `A B` into the values of `C` at `c`, or adds it to them without `overwrite`,
/// like [`gemm_overwrite`] and [`gemm`], through a pointer. It lets threads write
/// disjoint bands of rows of one matrix: two `&mut` slices over the same columns may not
/// exist at once, even where the rows each writes differ.
///
/// # Safety
///
/// `c` must be properly aligned, and valid for reads and writes of value
/// `i + j * c_col_stride` for every row `i < rows` and column `j < cols`, all within one
/// allocation. Without `overwrite` these values must be initialized. None of them may
/// lie in the memory of `a` or `b`, and no other thread may read or write them while the
/// call runs.
///
/// # Panics
///
/// As for [`gemm`].
#[inline]
pub unsafe fn gemm_at<T: Float>(product: Gemm<'_, T>, c: *mut T, overwrite: bool) {
    // SAFETY: forwarded from the caller.
    unsafe { run_gemm_at(product, c, overwrite, "gemm_at") }
}

/// Runs [`gemm`], or [`gemm_overwrite`] with `overwrite`. `name` names the function in
/// panic messages.
#[inline]
fn run_gemm<T: Float>(product: Gemm<'_, T>, c: &mut [T], overwrite: bool, name: &str) {
    // `run_gemm_at` checks the stride.
    let c_needed = strided_len(product.rows, product.cols, product.c_col_stride);
    check_len(name, "c", c.len(), c_needed);
    // SAFETY: every value of `C` lies in `c`, and the `&mut` keeps `a`, `b` and other
    // threads away from it.
    unsafe { run_gemm_at(product, c.as_mut_ptr(), overwrite, name) }
}

/// Checks the shape of `product` and runs it on the values of `C` at `c`.
///
/// # Safety
///
/// As for [`gemm_at`].
#[inline]
unsafe fn run_gemm_at<T: Float>(product: Gemm<'_, T>, c: *mut T, overwrite: bool, name: &str) {
    let Gemm {
        rows,
        cols,
        inner,
        a_col_stride,
        b_row_stride,
        b_col_stride,
        c_col_stride,
        ..
    } = product;
    if rows == 0 || cols == 0 {
        return;
    }
    check_stride(name, "c_col_stride", c_col_stride, "rows", rows);
    if inner == 0 {
        if overwrite {
            for j in 0..cols {
                // SAFETY: the caller guarantees access to rows `0..rows` of every column.
                unsafe { core::slice::from_raw_parts_mut(c.add(j * c_col_stride), rows) }
                    .fill(T::zero());
            }
        }
        return;
    }
    check_stride(name, "a_col_stride", a_col_stride, "rows", rows);
    check_len(
        name,
        "a",
        product.a.len(),
        strided_len(rows, inner, a_col_stride),
    );
    let b_needed = span(inner, cols, b_row_stride, b_col_stride);
    check_len(name, "b", product.b.len(), b_needed);

    #[cfg(target_arch = "x86_64")]
    // SAFETY: the checks above and the caller keep every index inside its matrix.
    if unsafe { super::x86::gemm(&product, c, overwrite) } {
        return;
    }
    // SAFETY: as above.
    unsafe { drive_gemm::<T, Portable>(&product, c, overwrite) }
}

/// Panics unless `stride`, the value of field `field`, is at least `least`, the value of
/// `least_name`. `name` names the calling function.
#[inline]
fn check_stride(name: &str, field: &str, stride: usize, least_name: &str, least: usize) {
    if stride < least {
        stride_failed(name, field, stride, least_name, least);
    }
}

/// Panics with the message of [`check_stride`]. Kept out of line, so that the checks
/// inline into the kernels' callers and fold away where the shapes are constants.
#[cold]
#[inline(never)]
fn stride_failed(name: &str, field: &str, stride: usize, least_name: &str, least: usize) -> ! {
    panic!("{name}: `{field}` {stride} is smaller than `{least_name}` {least}")
}

/// Panics unless `needed` values fit in the slice named `slice`, of `len` values. `None`
/// means a count that overflowed `usize`, which fits in no slice. `name` names the
/// calling function.
#[inline]
fn check_len(name: &str, slice: &str, len: usize, needed: Option<usize>) {
    if needed.is_none_or(|needed| len < needed) {
        len_failed(name, slice, len, needed);
    }
}

/// Panics with the message of [`check_len`], out of line like [`stride_failed`].
#[cold]
#[inline(never)]
fn len_failed(name: &str, slice: &str, len: usize, needed: Option<usize>) -> ! {
    match needed {
        Some(needed) => {
            panic!("{name}: `{slice}` is too short: {len} values where the shape needs {needed}")
        }
        None => {
            panic!("{name}: `{slice}` is too short: the shape needs more values than fit in memory")
        }
    }
}

/// Returns the number of values that a column-major matrix of `rows x cols` takes with
/// its columns `stride` apart, from its first value to its last (see [`span`]).
#[inline]
fn strided_len(rows: usize, cols: usize, stride: usize) -> Option<usize> {
    span(rows, cols, 1, stride)
}

/// Returns the number of values from the first to the last element of a `rows x cols`
/// matrix whose element `(i, j)` is value `i * row_stride + j * col_stride`: 0 for an
/// empty matrix, and `None` when the count overflows `usize`, so no slice fits it.
#[inline]
fn span(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    let down = (rows - 1).checked_mul(row_stride)?;
    let across = (cols - 1).checked_mul(col_stride)?;
    down.checked_add(across)?.checked_add(1)
}

/// Writes `A^T B` into `c`.
///
/// # Panics
///
/// When a slice is shorter than its shape needs, or a column stride is smaller than
/// `len` (`A` and `B`) or `rows` (`C`). Nothing is checked for an empty result, and the
/// strides of `A` and `B` are not checked when `len` is 0.
#[inline]
pub fn dot_products<T: Float>(product: Dots<'_, T>, c: &mut [T]) {
    let Dots {
        rows,
        cols,
        len,
        a_col_stride,
        b_col_stride,
        c_col_stride,
        ..
    } = product;
    if rows == 0 || cols == 0 {
        return;
    }
    let name = "dot_products";
    check_stride(name, "c_col_stride", c_col_stride, "rows", rows);
    if len > 0 {
        check_stride(name, "a_col_stride", a_col_stride, "len", len);
        check_stride(name, "b_col_stride", b_col_stride, "len", len);
        check_len(
            name,
            "a",
            product.a.len(),
            strided_len(len, rows, a_col_stride),
        );
        check_len(
            name,
            "b",
            product.b.len(),
            strided_len(len, cols, b_col_stride),
        );
    }
    check_len(name, "c", c.len(), strided_len(rows, cols, c_col_stride));
    if len == 0 {
        for column in c.chunks_mut(c_col_stride).take(cols) {
            column[..rows].fill(T::zero());
        }
        return;
    }

    #[cfg(target_arch = "x86_64")]
    // SAFETY: the checks above keep every index inside its matrix, and the `&mut` keeps
    // `a` and `b` away from `c`.
    if unsafe { super::x86::dot_products(&product, c.as_mut_ptr()) } {
        return;
    }
    // SAFETY: as above.
    unsafe { drive_dots::<T, Portable>(&product, c.as_mut_ptr()) }
}

/// Returns the name of the tile kernels that [`gemm`] and [`dot_products`] use for `T`.
pub fn instruction_set<T: Float>() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if has_simd::<T>() {
        return super::x86::instruction_set();
    }
    "portable"
}

/// Returns whether [`gemm`] and [`dot_products`] run SIMD tile kernels for `T` on this
/// CPU, rather than the portable ones.
#[inline]
pub fn has_simd<T: Float>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::x86::available::<T>()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Tile kernels of one instruction set for scalar type `T`.
///
/// A tile has `vectors * LANES` rows (fewer for a tile that [`gemm_tile`] masks) and
/// `cols` columns. The drivers only request the shapes listed at each method.
///
/// [`gemm_tile`]: Tiles::gemm_tile
pub(crate) trait Tiles<T: Copy> {
    /// The number of `T` values in one SIMD vector.
    const LANES: usize;

    /// The width in columns of the main tiles of 2 vectors (see `gemm_tile_shape`).
    const MAX_COLS: usize = 6;

    /// The height in vectors and the most columns of the main tiles of a [`gemm`] whose
    /// `B` is stored transposed (`b_col_stride == 1`), for results of more than 2 columns
    /// and at least two such tiles' rows. Among a dense layer's products that is the
    /// weight gradient, and the forward product of a layer with one input. `None` keeps
    /// the tiles of `gemm_tile_shape`.
    ///
    /// The weight gradient's inner dimension is the batch, so each tile loads and stores
    /// its part of `C` once per few dozen steps. A taller tile with fewer columns touches
    /// fewer and longer pieces of the columns of `C`, and fewer cache lines where `C`
    /// starts off a line. The AVX-512 `f32` kernels use 4 x 6 tiles there. On the Intel
    /// Xeon model 167 machine of `BENCHMARKS.md`, the weight gradient of a 128 x 784
    /// layer with 32 samples took 43.3 to 43.5 µs on them against 44.4 to 44.9 µs on
    /// 2 x 12 tiles. With `C` 16 bytes past a cache line it took 45.5 to 45.6 against
    /// 49.9 to 50.4 µs (`cargo bench --bench kernel_sweep -- alignment/weight`, two runs
    /// each).
    const TRANSPOSED_B_TILE: Option<(usize, usize)> = None;

    /// Adds the product of rows `0..rows` of `A` (`lda` apart per column, `k` columns)
    /// with `k x cols` values of `B` (strides `rsb` and `csb`) to `C` (`ldc` apart per
    /// column). With `overwrite` it writes the product instead, plus zero, so that the
    /// bits are those of adding it to zeros, and reads nothing of `C`.
    ///
    /// `(vectors, cols)` is one of `(16, 1)`, `(8, 1)`, `(4, 1..=6)`,
    /// `(2, 1..=MAX_COLS)` and `(1, 1..=MAX_COLS)`. `rows` equals `vectors * LANES`, except that with 1 or 2 vectors it
    /// may be smaller, down to `(vectors - 1) * LANES + 1`.
    ///
    /// # Safety
    ///
    /// Every index formed from the arguments must be inside its allocation. A tile reads
    /// and writes only rows `0..rows` of `A` and `C`: the drivers rely on that when they
    /// leave the rows past `rows` of a vector uninitialised or owned by another thread.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_tile(
        vectors: usize,
        cols: usize,
        rows: usize,
        k: usize,
        a: *const T,
        lda: usize,
        b: *const T,
        strides: (usize, usize),
        c: *mut T,
        ldc: usize,
        overwrite: bool,
    );

    /// Copies the first `k` values of `rows` columns of `A` (`lda` apart, starting at `a`)
    /// into `packed` as the rows of a column-major block, `ld` apart per column:
    /// `packed[r + p * ld] = a[r * lda + p]`.
    ///
    /// # Safety
    ///
    /// `a` must have `(rows - 1) * lda + k` readable values and `packed` room for
    /// `(k - 1) * ld + rows` values, with `rows <= ld`.
    unsafe fn pack_transposed(
        rows: usize,
        k: usize,
        a: *const T,
        lda: usize,
        packed: *mut T,
        ld: usize,
    ) {
        for r in 0..rows {
            for p in 0..k {
                // SAFETY: forwarded from the caller.
                unsafe { *packed.add(r + p * ld) = *a.add(r * lda + p) };
            }
        }
    }

    /// Writes the `rows x cols` dot products of `rows` columns of `A` with `cols` columns
    /// of `B`, each of length `len`, into `C` (`ldc` apart per column).
    ///
    /// `(rows, cols)` is one of `(8, 1)`, `(4, 3)`, `(4, 1)`, `(1, 3)` and `(1, 1)`.
    ///
    /// # Safety
    ///
    /// As for [`gemm_tile`](Tiles::gemm_tile).
    #[allow(clippy::too_many_arguments)]
    unsafe fn dot_tile(
        rows: usize,
        cols: usize,
        len: usize,
        a: *const T,
        lda: usize,
        b: *const T,
        ldb: usize,
        c: *mut T,
        ldc: usize,
    );
}

/// Returns the tile height in vectors and the tile width in columns of the main tiles of
/// a [`gemm`] with `cols` result columns, for kernels whose tiles of 2 vectors are at
/// most `max_cols` wide.
///
/// One column (a single sample) gets 16 vectors of rows. Its 16 independent accumulators
/// hide the latency of the multiply-adds, and a 128-row weight matrix is read front to
/// back in one stream. That measured 20% faster than two 8-vector tiles (3.5 against
/// 4.4 us for 128 x 784 on AMD Zen 4, where reading the 400 KB alone takes 3.4 us). Otherwise tiles are 2 vectors
/// high and 6 columns wide: 12 accumulators, 2 loaded vectors and 1 broadcast fill the
/// 16 vector registers of AVX2. A 2 x 4 tile (8 accumulators) measured 15% slower on a
/// 128 x 784 x 64 product on AMD Zen 4, even where 4 divides the columns and 6 does not,
/// and a 3 x 4 tile spilled registers. AVX-512 has 32 registers, and its tiles are 2
/// vectors by 12 columns (24 accumulators): each loaded column of `A` then serves twice
/// as many columns of `B`. On the Intel Xeon model 167 machine of `BENCHMARKS.md` the
/// 784-128-10 forward pass of 64 samples took 121 us with 512-bit tiles of 2 x 6 and 95
/// us with 2 x 12 (`cargo bench --bench forward_backward`, one run each).
fn gemm_tile_shape(cols: usize, max_cols: usize) -> (usize, usize) {
    match cols {
        1 => (16, 1),
        2 => (4, 2),
        _ if cols <= max_cols => (2, cols),
        _ => (2, max_cols),
    }
}

/// Runs [`gemm`], or [`gemm_overwrite`] with `overwrite`, with the tile kernels of `K`.
/// The first block of the inner dimension then writes `C`, and the others add to it.
/// `inner` is not zero: without a block, nothing would write `C`.
///
/// # Safety
///
/// The slices of `product` must be as long as their shapes need, `c` must be valid for
/// the `rows x cols` values of `C` with its columns `c_col_stride` apart, and `K`'s
/// instructions must be available on this CPU.
pub(crate) unsafe fn drive_gemm<T: Float, K: Tiles<T>>(
    product: &Gemm<'_, T>,
    c: *mut T,
    overwrite: bool,
) {
    let block = Block {
        rows: product.rows,
        cols: product.cols,
        k: product.inner,
        a: product.a.as_ptr(),
        lda: product.a_col_stride,
        b: product.b.as_ptr(),
        strides: (product.b_row_stride, product.b_col_stride),
        c,
        ldc: product.c_col_stride,
    };
    let tile = main_tile::<T, K>(block.rows, block.cols, block.strides.1);
    let mut p0 = 0;
    while p0 < block.k {
        let k = INNER_BLOCK.min(block.k - p0);
        // SAFETY: `p0 < inner` and `p0 + k <= inner`, and the rest is forwarded from the
        // caller.
        unsafe { run_tiles::<T, K>(&block.steps(p0, k), tile, overwrite && p0 == 0) };
        p0 += k;
    }
}

/// A product `C += A B` (or `C = A B`) on raw pointers, laid out as in [`Gemm`], with `k`
/// inner steps, for [`run_tiles`]. Element `(p, j)` of `B` is at
/// `b + p * strides.0 + j * strides.1`.
#[derive(Clone, Copy)]
struct Block<T> {
    rows: usize,
    cols: usize,
    k: usize,
    a: *const T,
    lda: usize,
    b: *const T,
    strides: (usize, usize),
    c: *mut T,
    ldc: usize,
}

impl<T> Block<T> {
    /// Returns inner steps `p0..p0 + k` of this product.
    ///
    /// # Safety
    ///
    /// `p0` must be below `self.k`, and `p0 + k` must not exceed it.
    unsafe fn steps(&self, p0: usize, k: usize) -> Self {
        // SAFETY: step `p0` of `A` and `B` lies inside them because `p0 < self.k`.
        unsafe {
            Self {
                k,
                a: self.a.add(p0 * self.lda),
                b: self.b.add(p0 * self.strides.0),
                ..*self
            }
        }
    }
}

/// Returns the height in vectors and the maximum width of the main tiles for a product
/// of `rows x cols` whose `B` has column stride `b_col_stride`.
fn main_tile<T: Copy, K: Tiles<T>>(
    rows: usize,
    cols: usize,
    b_col_stride: usize,
) -> (usize, usize) {
    match K::TRANSPOSED_B_TILE {
        Some((vectors, max_cols))
            if b_col_stride == 1 && cols > 2 && rows >= 2 * vectors * K::LANES =>
        {
            (vectors, max_cols.min(cols))
        }
        _ => gemm_tile_shape(cols, K::MAX_COLS),
    }
}

/// Runs the tiles of `block`, whose main tiles are `main_vectors` high and at most
/// `main_cols` wide, over all its `k` steps at once. With `overwrite` they write `C`
/// instead of adding to it.
///
/// # Safety
///
/// As for [`drive_gemm`], with `block` in place of the product and `c`.
unsafe fn run_tiles<T: Float, K: Tiles<T>>(
    block: &Block<T>,
    (main_vectors, main_cols): (usize, usize),
    overwrite: bool,
) {
    // The columns are shared evenly among the fewest tiles of at most `main_cols`: 64
    // columns in tiles of 12 become 4 tiles of 11 and 2 of 10, not 5 of 12 and 1 of 4.
    // A narrow last tile has too few sums to keep the multiply-adds busy.
    let col_tiles = block.cols.div_ceil(main_cols);
    let (narrow, wide_tiles) = (block.cols / col_tiles, block.cols % col_tiles);
    let mut i0 = 0;
    while i0 < block.rows {
        let left = block.rows - i0;
        let vectors = tile_vectors(main_vectors, left, K::LANES);
        let rows = left.min(vectors * K::LANES);
        let mut j0 = 0;
        for tile in 0..col_tiles {
            let cols = narrow + usize::from(tile < wide_tiles);
            // SAFETY: `i0 + rows <= block.rows` and `j0 + cols <= block.cols` keep the
            // tile inside the three matrices.
            unsafe {
                K::gemm_tile(
                    vectors,
                    cols,
                    rows,
                    block.k,
                    block.a.add(i0),
                    block.lda,
                    block.b.add(j0 * block.strides.1),
                    block.strides,
                    block.c.add(i0 + j0 * block.ldc),
                    block.ldc,
                    overwrite,
                );
            }
            j0 += cols;
        }
        i0 += rows;
    }
}

/// The number of values in a [`Buffer`].
const BUFFER_LEN: usize = PACKED_ROWS * INNER_BLOCK;

/// An uninitialised buffer on the stack for [`drive_packed_dots`], aligned to a cache
/// line.
///
/// It is left uninitialised so that small products do not pay for zeroing 16 KiB (32
/// KiB for `f64`). The tiles read only the values that the driver packed into it.
#[repr(C, align(64))]
struct Buffer<T>([MaybeUninit<T>; BUFFER_LEN]);

impl<T> Buffer<T> {
    fn new() -> Self {
        Self([const { MaybeUninit::uninit() }; BUFFER_LEN])
    }

    fn as_mut_ptr(&mut self) -> *mut T {
        self.0.as_mut_ptr().cast::<T>()
    }
}

/// Returns the height in vectors of the next row tile when `left` rows remain: the
/// main height when it fits, else the largest smaller power of two that fits. Tiles of
/// 1 or 2 vectors may cover fewer rows than they hold, masking the rest, so a 10-row
/// output layer runs as one tile rather than a full and a masked one.
fn tile_vectors(main: usize, left: usize, lanes: usize) -> usize {
    let mut vectors = main;
    while vectors > 2 && vectors * lanes > left {
        vectors /= 2;
    }
    if vectors == 2 && left <= lanes {
        vectors = 1;
    }
    vectors
}

/// Runs [`dot_products`] with the tile kernels of `K`.
///
/// # Safety
///
/// As for [`drive_gemm`].
pub(crate) unsafe fn drive_dots<T: Float, K: Tiles<T>>(product: &Dots<'_, T>, c: *mut T) {
    if product.cols >= PACKED_MIN_COLS {
        // SAFETY: forwarded from the caller.
        unsafe { drive_packed_dots::<T, K>(product, c) };
        return;
    }
    let (main_rows, main_cols) = if product.cols == 1 { (8, 1) } else { (4, 3) };
    let (a, b, len) = (product.a.as_ptr(), product.b.as_ptr(), product.len);
    let (lda, ldb, ldc) = (
        product.a_col_stride,
        product.b_col_stride,
        product.c_col_stride,
    );

    let mut i0 = 0;
    while i0 < product.rows {
        let rows = if product.rows - i0 >= main_rows {
            main_rows
        } else {
            1
        };
        let mut j0 = 0;
        while j0 < product.cols {
            let cols = if product.cols - j0 >= main_cols {
                main_cols
            } else {
                1
            };
            // SAFETY: the tile stays inside the `rows x cols` result, and its columns of
            // `A` and `B` inside their matrices.
            unsafe {
                K::dot_tile(
                    rows,
                    cols,
                    len,
                    a.add(i0 * lda),
                    lda,
                    b.add(j0 * ldb),
                    ldb,
                    c.add(i0 + j0 * ldc),
                    ldc,
                );
            }
            j0 += cols;
        }
        i0 += rows;
    }
}

/// The number of result columns from which [`dot_products`] transposes blocks of `A` and
/// runs the [`gemm`] tiles. With fewer columns each block would be used too few times to
/// pay for its transposition, and dot products of contiguous columns read `A` at the
/// full memory bandwidth.
pub const PACKED_MIN_COLS: usize = 3;

/// The number of rows of a transposed block of `A` in [`drive_packed_dots`] for a full
/// inner block: with [`INNER_BLOCK`] steps, the 2-vector tile height of `f32` with 8
/// lanes. Shorter dot products get taller blocks in the same [`Buffer`].
const PACKED_ROWS: usize = 16;

/// Runs [`dot_products`] as a [`gemm`] of `A^T` with `B`.
///
/// For each inner block the driver copies bands of columns of `A` into a [`Buffer`],
/// laid out as the tile kernels read `A` (rows contiguous per inner step), and runs the
/// tiles on each band. A band has as many rows as fit in the buffer, in whole tiles:
/// 16 for 256 steps, and 384 with AVX-512 `f32` tiles (400 with AVX2 `f32`) for the 10
/// steps of a 10-output layer's input gradient (see [`band_height`]). With bands of 16
/// rows at every length, that gradient ran on 1-vector AVX-512 tiles. For a 10 x 128
/// layer with 32 samples it then took 933 ns instead of 775 ns on the Intel Xeon model
/// 207 machine of `BENCHMARKS.md` (`cargo bench --bench kernel_sweep --
/// input_gradient/10x128x32`). Masked transposes on the edges, instead of copying the
/// values there one by one, brought it to 667 ns.
///
/// # Safety
///
/// As for [`drive_gemm`].
unsafe fn drive_packed_dots<T: Float, K: Tiles<T>>(product: &Dots<'_, T>, c: *mut T) {
    let Dots {
        rows,
        cols,
        len,
        a_col_stride,
        b_col_stride,
        c_col_stride,
        ..
    } = *product;
    let (a, b) = (product.a.as_ptr(), product.b.as_ptr());
    let tile = gemm_tile_shape(cols, K::MAX_COLS);
    let mut buffer = Buffer::<T>::new();
    let packed = buffer.as_mut_ptr();

    let mut p0 = 0;
    while p0 < len {
        let k = INNER_BLOCK.min(len - p0);
        let band = band_height(k, tile.0 * K::LANES, K::LANES);
        let mut i0 = 0;
        while i0 < rows {
            let band_rows = band.min(rows - i0);
            // Each step's values start a whole number of vectors apart. `band` is a
            // multiple of `LANES`, so `ld <= band`.
            let ld = band_rows.next_multiple_of(K::LANES);
            // SAFETY: columns `i0..i0 + band_rows` of `A` have `len >= p0 + k` values,
            // and the buffer has room for `ld * k <= band * k <= BUFFER_LEN` values.
            unsafe {
                K::pack_transposed(
                    band_rows,
                    k,
                    a.add(i0 * a_col_stride + p0),
                    a_col_stride,
                    packed,
                    ld,
                );
            }
            let block = Block {
                rows: band_rows,
                cols,
                k,
                a: packed.cast_const(),
                lda: ld,
                // SAFETY: rows `p0..p0 + k` of `B` and rows `i0..i0 + band_rows` of `C`
                // lie inside their matrices.
                b: unsafe { b.add(p0) },
                strides: (1, b_col_stride),
                c: unsafe { c.add(i0) },
                ldc: c_col_stride,
            };
            // SAFETY: the buffer contains the band's `band_rows x k` values of `A^T`, `ld`
            // apart per step, and the tiles read no row past `band_rows`.
            unsafe { run_tiles::<T, K>(&block, tile, p0 == 0) };
            i0 += band_rows;
        }
        p0 += k;
    }
}

/// Returns the number of rows of a band of [`drive_packed_dots`] for inner blocks of `k`
/// steps: as many whole tiles of `tile_rows` as fit in a [`Buffer`], or if not even one
/// fits, as many whole vectors of `lanes`.
///
/// # Panics
///
/// When `k` is 0 or above [`INNER_BLOCK`], or `lanes` above 16: the band could then
/// hold no vector, and the driver would not advance.
pub(crate) fn band_height(k: usize, tile_rows: usize, lanes: usize) -> usize {
    assert!(
        (1..=INNER_BLOCK).contains(&k) && lanes <= BUFFER_LEN / INNER_BLOCK,
        "band_height: expected 1 to {INNER_BLOCK} steps and at most 16 lanes, got {k} \
         steps and {lanes} lanes"
    );
    let fitting = BUFFER_LEN / k;
    let unit = if fitting >= tile_rows {
        tile_rows
    } else {
        lanes
    };
    fitting / unit * unit
}

/// Tile kernels in plain Rust, for CPUs and builds without a SIMD version.
pub(crate) struct Portable;

impl<T: Float> Tiles<T> for Portable {
    const LANES: usize = 8;

    unsafe fn gemm_tile(
        vectors: usize,
        cols: usize,
        rows: usize,
        k: usize,
        a: *const T,
        lda: usize,
        b: *const T,
        strides: (usize, usize),
        c: *mut T,
        ldc: usize,
        overwrite: bool,
    ) {
        let _ = vectors;
        // SAFETY: forwarded from the caller.
        unsafe { portable_gemm_tile(cols, rows, k, a, lda, b, strides, c, ldc, overwrite) }
    }

    unsafe fn dot_tile(
        rows: usize,
        cols: usize,
        len: usize,
        a: *const T,
        lda: usize,
        b: *const T,
        ldb: usize,
        c: *mut T,
        ldc: usize,
    ) {
        for j in 0..cols {
            for i in 0..rows {
                // SAFETY: forwarded from the caller.
                unsafe {
                    let a_column = core::slice::from_raw_parts(a.add(i * lda), len);
                    let b_column = core::slice::from_raw_parts(b.add(j * ldb), len);
                    *c.add(i + j * ldc) = dot(a_column, b_column);
                }
            }
        }
    }
}

/// Adds a tile of `A B` to `C`, or writes it with `overwrite`, in plain Rust, up to 8 rows
/// of one column at a time, each accumulated along the inner dimension.
///
/// # Safety
///
/// As for [`Tiles::gemm_tile`].
#[allow(clippy::too_many_arguments)]
unsafe fn portable_gemm_tile<T: Float>(
    cols: usize,
    rows: usize,
    k: usize,
    a: *const T,
    lda: usize,
    b: *const T,
    (rsb, csb): (usize, usize),
    c: *mut T,
    ldc: usize,
    overwrite: bool,
) {
    const CHUNK: usize = 8;
    let mut r0 = 0;
    while r0 < rows {
        let height = CHUNK.min(rows - r0);
        for j in 0..cols {
            let mut acc = [T::zero(); CHUNK];
            for p in 0..k {
                // SAFETY: forwarded from the caller; `r0 + height <= rows`.
                unsafe {
                    let b_value = *b.add(p * rsb + j * csb);
                    let a_column = core::slice::from_raw_parts(a.add(r0 + p * lda), height);
                    for (sum, &a_value) in acc.iter_mut().zip(a_column) {
                        *sum += a_value * b_value;
                    }
                }
            }
            // SAFETY: as above.
            unsafe {
                let c_column = core::slice::from_raw_parts_mut(c.add(r0 + j * ldc), height);
                for (value, sum) in c_column.iter_mut().zip(acc) {
                    *value = if overwrite { T::zero() } else { *value } + sum;
                }
            }
        }
        r0 += height;
    }
}

/// Returns the dot product of `a` and `b`, in 8 partial sums.
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    const LANES: usize = 8;
    let mut partial = [T::zero(); LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (a_chunk, b_chunk) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            partial[lane] += a_chunk[lane] * b_chunk[lane];
        }
    }
    for (lane, (&a_value, &b_value)) in a_tail.iter().zip(b_tail).enumerate() {
        partial[lane] += a_value * b_value;
    }
    partial.iter().fold(T::zero(), |sum, &value| sum + value)
}
