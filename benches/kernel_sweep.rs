//! The small and the blocked dense-layer kernel on the same shapes, to place the
//! threshold between them (`static_nn::core::kernel::uses_blocked`).
//!
//! For each layer shape `OUT x IN` and batch size `B` it times both kernels on the three
//! products of a dense layer: the forward product `W x`, the input gradient `W^T g` and
//! the weight gradient `g x^T`. In the forward product the small kernel also adds the
//! bias, and the blocked one accumulates into the output. Benchmark ids are `{product}/{OUT}x{IN}x{B}/{kernel}`.
//! `scripts/bench-table.py --sweep` turns the results into the table of
//! `docs/performance.md`.
//!
//! Two last groups time the large products of the 784-128-10 network's hidden layer with
//! its weights, or its weight gradient, at different offsets from a cache line (see
//! `alignment` and `weight_gradient_alignment`).
//!
//! The groups `one_sample_gradient/{OUT}x64x1` time the small kernel's weight gradient
//! of one sample, set or added (see `set_one_sample`).
//!
//! The group `fill/128x784` zeroes the hidden layer's 128 x 784 weight gradient through
//! nalgebra's `Matrix::fill` and through its storage slice, the reason that `clippy.toml`
//! forbids the first.
//!
//! A batch of 5 runs tiles of 5 columns and, for rows that fit in one vector, of fewer
//! than 8 accumulators, which spread their steps over several sets of them.
//!
//! Run with `cargo bench --bench kernel_sweep` (about 4 minutes on two cores).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use static_nn::core::kernel::{blocked, small};
use static_nn::prelude::*;

/// Returns `len` values uniform in `[-1, 1)`.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Describes the forward product `W x` of an `out x inputs` layer with `batch` samples
/// for [`blocked::gemm`].
fn forward_product<'a>(
    w: &'a [f32],
    x: &'a [f32],
    (out, inputs, batch): (usize, usize, usize),
) -> blocked::Gemm<'a, f32> {
    blocked::Gemm {
        rows: out,
        cols: batch,
        inner: inputs,
        a: w,
        a_col_stride: out,
        b: x,
        b_row_stride: 1,
        b_col_stride: inputs,
        c_col_stride: out,
    }
}

/// Describes the weight gradient `g x^T` of an `out x inputs` layer with `batch` samples
/// for [`blocked::gemm`].
fn weight_gradient_product<'a>(
    g: &'a [f32],
    x: &'a [f32],
    (out, inputs, batch): (usize, usize, usize),
) -> blocked::Gemm<'a, f32> {
    blocked::Gemm {
        rows: out,
        cols: inputs,
        inner: batch,
        a: g,
        a_col_stride: out,
        b: x,
        b_row_stride: inputs,
        b_col_stride: 1,
        c_col_stride: out,
    }
}

/// The `f32` values in one 64-byte cache line.
const LINE_VALUES: usize = 16;

/// Returns `len` zeros with room to start `len` of them at any offset from a 64-byte
/// boundary, and the index of the first value on one.
fn line_storage(len: usize) -> (Vec<f32>, usize) {
    let storage = vec![0.0f32; len + 2 * LINE_VALUES];
    let misalignment = storage.as_ptr() as usize % 64 / 4;
    (storage, (LINE_VALUES - misalignment) % LINE_VALUES)
}

/// Times both kernels on the three products of an `OUT x IN` layer with `B` samples.
fn sweep_shape<const IN: usize, const OUT: usize, const B: usize>(criterion: &mut Criterion) {
    let w = values(OUT * IN, 1);
    let x = values(IN * B, 2);
    let g = values(OUT * B, 3);
    let shape = format!("{OUT}x{IN}x{B}");
    let multiply_adds = (OUT * IN * B) as u64;

    let mut group = criterion.benchmark_group(format!("forward/{shape}"));
    group.throughput(Throughput::Elements(multiply_adds));
    let bias = values(OUT, 4);
    let mut y = vec![0.0f32; OUT * B];
    group.bench_function("small", |b| {
        b.iter(|| {
            small::affine::<f32, IN, OUT, B>(black_box(&w), black_box(&bias), black_box(&x), &mut y)
        })
    });
    group.bench_function("blocked", |b| {
        b.iter(|| {
            let product = forward_product(black_box(&w), black_box(&x), (OUT, IN, B));
            blocked::gemm(product, &mut y)
        })
    });
    group.finish();

    let mut group = criterion.benchmark_group(format!("input_gradient/{shape}"));
    group.throughput(Throughput::Elements(multiply_adds));
    let mut dx = vec![0.0f32; IN * B];
    group.bench_function("small", |b| {
        b.iter(|| {
            small::transpose_product::<f32, IN, OUT, B>(black_box(&w), black_box(&g), &mut dx)
        })
    });
    group.bench_function("blocked", |b| {
        b.iter(|| {
            let product = blocked::Dots {
                rows: IN,
                cols: B,
                len: OUT,
                a: black_box(&w),
                a_col_stride: OUT,
                b: black_box(&g),
                b_col_stride: OUT,
                c_col_stride: IN,
            };
            blocked::dot_products(product, &mut dx)
        })
    });
    group.finish();

    let mut group = criterion.benchmark_group(format!("weight_gradient/{shape}"));
    group.throughput(Throughput::Elements(multiply_adds));
    let mut dw = vec![0.0f32; OUT * IN];
    group.bench_function("small", |b| {
        b.iter(|| small::accumulate_outer::<f32, IN, OUT, B>(black_box(&g), black_box(&x), &mut dw))
    });
    group.bench_function("blocked", |b| {
        b.iter(|| {
            let product = weight_gradient_product(black_box(&g), black_box(&x), (OUT, IN, B));
            blocked::gemm(product, &mut dw)
        })
    });
    group.finish();
}

/// Times the blocked forward product of the 784-128-10 network's hidden layer (128 x
/// 784, 32 samples) with the weights starting 0, 16 and 32 bytes past a 64-byte
/// boundary, as `alignment/forward/128x784x32/{offset}`. A network on the heap has its
/// own offset, which vector loads of a whole cache line notice.
fn alignment(criterion: &mut Criterion) {
    const IN: usize = 784;
    const OUT: usize = 128;
    const B: usize = 32;

    let weights = values(OUT * IN, 1);
    let x = values(IN * B, 2);
    let mut y = vec![0.0f32; OUT * B];
    let (mut storage, line_start) = line_storage(OUT * IN);

    let mut group = criterion.benchmark_group("alignment/forward/128x784x32");
    group.throughput(Throughput::Elements((OUT * IN * B) as u64));
    for offset_bytes in [0, 16, 32] {
        let start = line_start + offset_bytes / 4;
        let w = &mut storage[start..start + OUT * IN];
        w.copy_from_slice(&weights);
        assert_eq!(w.as_ptr() as usize % 64, offset_bytes);
        let w = &*w;

        group.bench_function(format!("{offset_bytes}"), |b| {
            b.iter(|| {
                let product = forward_product(black_box(w), black_box(&x), (OUT, IN, B));
                blocked::gemm(product, &mut y)
            })
        });
    }
    group.finish();
}

/// Times the blocked weight gradient of the same hidden layer, `dW += g x^T` with 32
/// samples, the largest product of a training step, as
/// `alignment/weight_gradient/128x784x32/{offset}` with the gradient 0 or 16 bytes past a
/// 64-byte boundary. Its 400 KB are read and written once per call, so this product also
/// shows how well the tile loads and stores of `C` overlap the multiply-adds.
fn weight_gradient_alignment(criterion: &mut Criterion) {
    const IN: usize = 784;
    const OUT: usize = 128;
    const B: usize = 32;

    let g = values(OUT * B, 3);
    let x = values(IN * B, 2);
    let (mut storage, line_start) = line_storage(OUT * IN);

    let mut group = criterion.benchmark_group("alignment/weight_gradient/128x784x32");
    group.throughput(Throughput::Elements((OUT * IN * B) as u64));
    for offset_bytes in [0, 16] {
        let start = line_start + offset_bytes / 4;
        let dw = &mut storage[start..start + OUT * IN];
        assert_eq!(dw.as_ptr() as usize % 64, offset_bytes);
        group.bench_function(format!("{offset_bytes}"), |b| {
            b.iter(|| {
                let product = weight_gradient_product(black_box(&g), black_box(&x), (OUT, IN, B));
                blocked::gemm(product, &mut *dw)
            })
        });
    }
    group.finish();
}

/// Runs [`sweep_shape`] for each layer shape `OUT x IN` with each batch size.
macro_rules! sweep {
    ($criterion:expr; $(($out:literal, $in:literal)),+; $batches:tt) => {
        $( sweep!(@batches $criterion, $out, $in, $batches); )+
    };
    (@batches $criterion:expr, $out:literal, $in:literal, [$($batch:literal),+]) => {
        $( sweep_shape::<$in, $out, $batch>($criterion); )+
    };
}

fn kernel_sweep(criterion: &mut Criterion) {
    println!(
        "blocked kernel: {}",
        static_nn::core::kernel::blocked_instruction_set::<f32>()
    );
    sweep!(criterion; (8, 8), (16, 16), (10, 32), (10, 128), (32, 32), (32, 64), (64, 64), (128, 128); [1, 4, 5, 16, 32, 64]);
    alignment(criterion);
    weight_gradient_alignment(criterion);
    fill(criterion);
    set_one_sample::<16>(criterion);
    set_one_sample::<24>(criterion);
    set_one_sample::<32>(criterion);
    set_one_sample::<40>(criterion);
    set_one_sample::<48>(criterion);
    set_one_sample::<64>(criterion);
}

/// Times the small kernel's weight gradient of one sample for an `OUT x 64` layer, set
/// without reading the gradient (`small::set_outer`) and added to it
/// (`small::accumulate_outer`), as `one_sample_gradient/{OUT}x64x1/{set,accumulate}`.
/// Setting writes the same values without reading them, yet the compiler's code for it
/// can be slower than for adding, depending on the row count.
fn set_one_sample<const OUT: usize>(criterion: &mut Criterion) {
    const IN: usize = 64;
    let (g, x) = (values(OUT, 21), values(IN, 22));
    let mut dw = vec![0.0f32; OUT * IN];
    let mut group = criterion.benchmark_group(format!("one_sample_gradient/{OUT}x{IN}x1"));
    group.throughput(Throughput::Elements((OUT * IN) as u64));
    group.bench_function("set", |b| {
        b.iter(|| small::set_outer::<f32, IN, OUT, 1>(black_box(&g), black_box(&x), &mut dw))
    });
    group.bench_function("accumulate", |b| {
        b.iter(|| small::accumulate_outer::<f32, IN, OUT, 1>(black_box(&g), black_box(&x), &mut dw))
    });
    group.finish();
}

/// Times zeroing a 128 x 784 `f32` matrix with nalgebra's `Matrix::fill`, which visits
/// one element at a time, and with a fill of its storage slice.
#[allow(clippy::disallowed_methods)]
fn fill(criterion: &mut Criterion) {
    let mut matrix: Box<SMatrix<f32, 128, 784>> = static_nn::core::bytemuck::zeroed_box();
    let mut group = criterion.benchmark_group("fill/128x784");
    group.throughput(Throughput::Elements((128 * 784) as u64));
    group.bench_function("nalgebra", |b| b.iter(|| black_box(&mut *matrix).fill(0.0)));
    group.bench_function("slice", |b| {
        b.iter(|| black_box(&mut *matrix).as_mut_slice().fill(0.0))
    });
    group.finish();
}

/// Short measurements: 307 benchmarks at about one second each.
fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_millis(500))
        .warm_up_time(Duration::from_millis(200))
        .sample_size(15)
}

criterion_group! {
    name = benches;
    config = config();
    targets = kernel_sweep
}
criterion_main!(benches);
