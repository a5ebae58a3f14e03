//! Generated networks against hand-written nalgebra code on one thread.
//!
//! The networks are 2-8-1, 64-32-10 and 784-128-10 perceptrons with a ReLU hidden layer,
//! in `f32`. There are four workloads: a forward pass of one sample, a forward pass of a
//! batch of [`FORWARD_BATCH`] samples, a training step on [`TRAIN_BATCH`] samples and a
//! training step on one sample. A training step is the training forward pass plus a
//! backward pass into gradient buffers allocated once, which skips the input gradient of
//! the first layer, as training does. Each workload runs three implementations in the
//! same process, with the same weights and inputs:
//!
//! - `generated`: the network declared with `network!`. Its step on [`TRAIN_BATCH`]
//!   samples is one call of `Layer::accumulate_pass`, which adds to the gradients. Its
//!   step on one sample (`train_single`) is the call `fit` makes on one thread,
//!   `train::compute_grads`, which sets them;
//! - `static`: the same math written by hand on nalgebra `SMatrix`/`SVector` types;
//! - `dynamic`: the same math on nalgebra `DMatrix` with buffers allocated once, so that
//!   large products go through nalgebra's `matrixmultiply` kernel.
//!
//! The hand-written steps on one sample set the weight gradients through nalgebra's
//! `gemm` with `beta` 0 and zero the bias gradients before adding to them.
//!
//! Start-up asserts that the three implementations agree numerically; the timings are
//! only compared after that. The group `peak/fma` times a loop of independent fused
//! multiply-adds of the vectors the blocked kernel uses (512-bit where the CPU has
//! AVX-512, else 256-bit): the most floating-point work one core can do per second.
//! `peak/tile_l1` times the blocked kernel on a product whose operands fit in a 32 KiB
//! L1 cache: what its tiles reach when no operand comes from further away. On CPUs where
//! the kernel runs AVX-512, `peak/tile_loop` times the inner loop of a 2 x 12 tile alone
//! on such operands. `peak/tile_loop_registers` times the same loop without its vector
//! loads. Both show how close to `peak/fma` that mix of instructions can get.
//! `scripts/bench-table.py` states each result as a fraction of that peak. Run with
//! `cargo bench --bench forward_backward`; the results and their ratios are recorded in
//! `BENCHMARKS.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use static_nn::core::bytemuck;
use static_nn::core::train;
use static_nn::nalgebra::DMatrix;
use static_nn::prelude::*;

network! {
    /// The 2-8-1 network (XOR-sized).
    struct Tiny<f32> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }

    /// The 64-32-10 network (8x8 digits).
    struct Small<f32> {
        input: [64],
        hidden: Dense(32), Relu,
        out: Dense(10),
    }

    /// The 784-128-10 network (MNIST-sized).
    struct Mnist<f32> {
        input: [784],
        hidden: Dense(128), Relu,
        out: Dense(10),
    }
}

/// The batch size of the batched forward pass.
const FORWARD_BATCH: usize = 64;

/// The batch size of the training step.
const TRAIN_BATCH: usize = 32;

/// The seed of the weights, inputs and output gradients.
const SEED: u64 = 2024;

/// ReLU written the way nn-core writes it, so NaN handling cannot differ.
fn relu(value: f32) -> f32 {
    if value < 0.0 { 0.0 } else { value }
}

/// Multiplies the incoming gradient `g` by the derivative of ReLU at pre-activation `z`.
fn relu_backward(g: f32, z: f32) -> f32 {
    if z > 0.0 { g } else { 0.0 }
}

// ---------------------------------------------------------------------------------------
// Hand-written network on statically sized nalgebra types.

/// A perceptron with one ReLU hidden layer, written by hand on `SMatrix`. The same type
/// holds the gradients.
#[derive(Clone)]
struct StaticMlp<const I: usize, const H: usize, const O: usize> {
    w1: SMatrix<f32, H, I>,
    b1: SVector<f32, H>,
    w2: SMatrix<f32, O, H>,
    b2: SVector<f32, O>,
}

/// What the hand-written training forward pass records for the backward pass.
struct StaticTrace<const I: usize, const H: usize, const B: usize> {
    input: SMatrix<f32, I, B>,
    pre_activation: SMatrix<f32, H, B>,
    hidden: SMatrix<f32, H, B>,
}

/// Computes `w * x + b` with `b` added to every column.
fn affine<const R: usize, const C: usize, const B: usize>(
    w: &SMatrix<f32, R, C>,
    b: &SVector<f32, R>,
    x: &SMatrix<f32, C, B>,
) -> SMatrix<f32, R, B> {
    let mut y = w * x;
    for mut column in y.column_iter_mut() {
        column += b;
    }
    y
}

impl<const I: usize, const H: usize, const O: usize> StaticMlp<I, H, O> {
    /// Copies the weights of a generated network, whose tensors are hidden weight, hidden
    /// bias, output weight and output bias, each stored column by column.
    fn from_tensors(network: &impl Tensors<f32>) -> Box<Self> {
        let tensor = |i| {
            network
                .tensor(i)
                .expect("the generated network has 4 tensors")
        };
        Box::new(Self {
            w1: SMatrix::from_column_slice(tensor(0)),
            b1: SVector::from_column_slice(tensor(1)),
            w2: SMatrix::from_column_slice(tensor(2)),
            b2: SVector::from_column_slice(tensor(3)),
        })
    }

    fn zeros() -> Box<Self> {
        Box::new(Self {
            w1: SMatrix::zeros(),
            b1: SVector::zeros(),
            w2: SMatrix::zeros(),
            b2: SVector::zeros(),
        })
    }

    fn tensors(&self) -> [&[f32]; 4] {
        [
            self.w1.as_slice(),
            self.b1.as_slice(),
            self.w2.as_slice(),
            self.b2.as_slice(),
        ]
    }

    fn forward<const B: usize>(&self, x: &SMatrix<f32, I, B>) -> SMatrix<f32, O, B> {
        let hidden = affine(&self.w1, &self.b1, x).map(relu);
        affine(&self.w2, &self.b2, &hidden)
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<f32, I, B>,
    ) -> (SMatrix<f32, O, B>, StaticTrace<I, H, B>) {
        let pre_activation = affine(&self.w1, &self.b1, x);
        let hidden = pre_activation.map(relu);
        let output = affine(&self.w2, &self.b2, &hidden);
        let trace = StaticTrace {
            input: *x,
            pre_activation,
            hidden,
        };
        (output, trace)
    }

    /// Adds the parameter gradients to `grads` and returns the input gradient.
    fn backward_into<const B: usize>(
        &self,
        trace: &StaticTrace<I, H, B>,
        grad_out: &SMatrix<f32, O, B>,
        grads: &mut Self,
    ) -> SMatrix<f32, I, B> {
        let grad_pre = self.accumulate_grads(trace, grad_out, grads, 1.0);
        self.w1.tr_mul(&grad_pre)
    }

    /// Sets `grads` to `keep` times their old values plus the parameter gradients (`keep`
    /// 1 adds to them, 0 sets them), and returns the gradient with respect to the hidden
    /// pre-activation. The input gradient, which training does not need, is not computed.
    fn accumulate_grads<const B: usize>(
        &self,
        trace: &StaticTrace<I, H, B>,
        grad_out: &SMatrix<f32, O, B>,
        grads: &mut Self,
        keep: f32,
    ) -> SMatrix<f32, H, B> {
        grads
            .w2
            .gemm(1.0, grad_out, &trace.hidden.transpose(), keep);
        if keep == 0.0 {
            grads.b2.as_mut_slice().fill(0.0);
            grads.b1.as_mut_slice().fill(0.0);
        }
        for column in grad_out.column_iter() {
            grads.b2 += column;
        }

        let grad_hidden = self.w2.tr_mul(grad_out);
        let grad_pre = grad_hidden.zip_map(&trace.pre_activation, relu_backward);

        grads
            .w1
            .gemm(1.0, &grad_pre, &trace.input.transpose(), keep);
        for column in grad_pre.column_iter() {
            grads.b1 += column;
        }
        grad_pre
    }
}

// ---------------------------------------------------------------------------------------
// Hand-written network on dynamically sized nalgebra types.

/// The same perceptron on `DMatrix`. The same type holds the gradients.
struct DynamicMlp {
    w1: DMatrix<f32>,
    b1: DMatrix<f32>,
    w2: DMatrix<f32>,
    b2: DMatrix<f32>,
}

/// Buffers for one batch size, allocated once so the timed code does not allocate.
struct DynamicBuffers {
    pre_activation: DMatrix<f32>,
    hidden: DMatrix<f32>,
    output: DMatrix<f32>,
    grad_pre: DMatrix<f32>,
    grad_input: DMatrix<f32>,
    input_transposed: DMatrix<f32>,
    hidden_transposed: DMatrix<f32>,
}

impl DynamicBuffers {
    fn new(inputs: usize, hidden: usize, outputs: usize, batch: usize) -> Self {
        Self {
            pre_activation: DMatrix::zeros(hidden, batch),
            hidden: DMatrix::zeros(hidden, batch),
            output: DMatrix::zeros(outputs, batch),
            grad_pre: DMatrix::zeros(hidden, batch),
            grad_input: DMatrix::zeros(inputs, batch),
            input_transposed: DMatrix::zeros(batch, inputs),
            hidden_transposed: DMatrix::zeros(batch, hidden),
        }
    }
}

/// Sets `y = w * x + b`, with `b` added to every column.
fn affine_into(y: &mut DMatrix<f32>, w: &DMatrix<f32>, b: &DMatrix<f32>, x: &DMatrix<f32>) {
    y.gemm(1.0, w, x, 0.0);
    for mut column in y.column_iter_mut() {
        column += b;
    }
}

/// Adds the sum of the columns of `values` to the column vector `sum`.
fn add_column_sums(sum: &mut DMatrix<f32>, values: &DMatrix<f32>) {
    let mut sum = sum.column_mut(0);
    for column in values.column_iter() {
        sum += column;
    }
}

impl DynamicMlp {
    fn from_static<const I: usize, const H: usize, const O: usize>(
        network: &StaticMlp<I, H, O>,
    ) -> Self {
        Self {
            w1: DMatrix::from_column_slice(H, I, network.w1.as_slice()),
            b1: DMatrix::from_column_slice(H, 1, network.b1.as_slice()),
            w2: DMatrix::from_column_slice(O, H, network.w2.as_slice()),
            b2: DMatrix::from_column_slice(O, 1, network.b2.as_slice()),
        }
    }

    fn zeros(inputs: usize, hidden: usize, outputs: usize) -> Self {
        Self {
            w1: DMatrix::zeros(hidden, inputs),
            b1: DMatrix::zeros(hidden, 1),
            w2: DMatrix::zeros(outputs, hidden),
            b2: DMatrix::zeros(outputs, 1),
        }
    }

    fn tensors(&self) -> [&[f32]; 4] {
        [
            self.w1.as_slice(),
            self.b1.as_slice(),
            self.w2.as_slice(),
            self.b2.as_slice(),
        ]
    }

    /// Runs the forward pass; the output is left in `buffers.output`, and the
    /// pre-activation and hidden values in their buffers for a backward pass.
    fn forward(&self, x: &DMatrix<f32>, buffers: &mut DynamicBuffers) {
        affine_into(&mut buffers.pre_activation, &self.w1, &self.b1, x);
        buffers.hidden.copy_from(&buffers.pre_activation);
        buffers.hidden.apply(|value| *value = relu(*value));
        affine_into(&mut buffers.output, &self.w2, &self.b2, &buffers.hidden);
    }

    /// Sets `grads` to `keep` times their old values plus the parameter gradients of the
    /// last `forward` on `x` (`keep` 1 adds to them, 0 sets them). With `input_gradient`,
    /// the input gradient is left in `buffers.grad_input`.
    fn backward_into(
        &self,
        x: &DMatrix<f32>,
        grad_out: &DMatrix<f32>,
        buffers: &mut DynamicBuffers,
        grads: &mut Self,
        (keep, input_gradient): (f32, bool),
    ) {
        buffers.hidden.transpose_to(&mut buffers.hidden_transposed);
        grads
            .w2
            .gemm(1.0, grad_out, &buffers.hidden_transposed, keep);
        if keep == 0.0 {
            grads.b2.as_mut_slice().fill(0.0);
            grads.b1.as_mut_slice().fill(0.0);
        }
        add_column_sums(&mut grads.b2, grad_out);

        buffers.grad_pre.gemm_tr(1.0, &self.w2, grad_out, 0.0);
        buffers
            .grad_pre
            .zip_apply(&buffers.pre_activation, |g, z| *g = relu_backward(*g, z));

        x.transpose_to(&mut buffers.input_transposed);
        grads
            .w1
            .gemm(1.0, &buffers.grad_pre, &buffers.input_transposed, keep);
        add_column_sums(&mut grads.b1, &buffers.grad_pre);
        if input_gradient {
            buffers
                .grad_input
                .gemm_tr(1.0, &self.w1, &buffers.grad_pre, 0.0);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Agreement checks.

/// Panics unless `actual` equals `expected` within a tolerance for `f32` sums of up to a
/// few hundred terms: `1e-4` times the largest magnitude in `expected`, at least `1e-4`.
fn assert_close(case: &str, expected: &[f32], actual: &[f32]) {
    assert_eq!(expected.len(), actual.len(), "{case}: lengths differ");
    let scale = expected
        .iter()
        .fold(1.0f32, |max, value| max.max(value.abs()));
    for (index, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert!(
            (e - a).abs() <= 1e-4 * scale,
            "{case}: value {index} is {a}, expected {e} (tolerance {})",
            1e-4 * scale
        );
    }
}

/// Returns how many bytes past a 64-byte boundary a tensor starts.
fn line_offset(tensor: Option<&[f32]>) -> usize {
    tensor.expect("the network has tensors").as_ptr() as usize % 64
}

/// Compares the gradient tensors of the three implementations.
fn assert_grads_close<G: Tensors<f32>>(
    label: &str,
    generated: &G,
    hand_static: [&[f32]; 4],
    dynamic: [&[f32]; 4],
) {
    for i in 0..4 {
        let expected = generated.tensor(i).expect("the gradients have 4 tensors");
        assert_close(
            &format!("{label} static gradient {i}"),
            expected,
            hand_static[i],
        );
        assert_close(
            &format!("{label} dynamic gradient {i}"),
            expected,
            dynamic[i],
        );
    }
}

// ---------------------------------------------------------------------------------------
// Benchmarks.

/// Returns a matrix of uniform values in `[-1, 1)`.
fn random_matrix<const R: usize, const C: usize>(rng: &mut Rng) -> Box<SMatrix<f32, R, C>> {
    let mut matrix: Box<SMatrix<f32, R, C>> = bytemuck::zeroed_box();
    for value in matrix.iter_mut() {
        *value = rng.uniform(-1.0, 1.0);
    }
    matrix
}

fn to_dynamic<const R: usize, const C: usize>(matrix: &SMatrix<f32, R, C>) -> DMatrix<f32> {
    DMatrix::from_column_slice(R, C, matrix.as_slice())
}

/// The three implementations of one architecture, with identical weights.
struct Contestants<N, const I: usize, const H: usize, const O: usize> {
    label: String,
    generated: Box<N>,
    hand_static: Box<StaticMlp<I, H, O>>,
    dynamic: DynamicMlp,
}

impl<N, const I: usize, const H: usize, const O: usize> Contestants<N, I, H, O>
where
    N: Layer<f32, I, O> + HeapNew,
{
    fn new() -> Self {
        let generated = N::new_boxed(SEED);
        let hand_static = StaticMlp::<I, H, O>::from_tensors(&*generated);
        let dynamic = DynamicMlp::from_static(&hand_static);
        Self {
            label: format!("{I}-{H}-{O}"),
            generated,
            hand_static,
            dynamic,
        }
    }

    fn group<'a>(
        &self,
        criterion: &'a mut Criterion,
        workload: &str,
        batch: usize,
    ) -> BenchmarkGroup<'a, WallTime> {
        let mut group = criterion.benchmark_group(format!("{workload}/{}", self.label));
        group.throughput(Throughput::Elements(batch as u64));
        group
    }

    /// Benchmarks inference on a batch of `B` samples (`B = 1` is a single sample).
    fn bench_forward<const B: usize>(&self, criterion: &mut Criterion, workload: &str) {
        let mut rng = Rng::seed_from_u64(SEED + 1);
        let x = random_matrix::<I, B>(&mut rng);
        let x_dynamic = to_dynamic(&x);
        let mut buffers = DynamicBuffers::new(I, H, O, B);

        let generated = self.generated.forward(&*x);
        let hand_static = self.hand_static.forward(&*x);
        self.dynamic.forward(&x_dynamic, &mut buffers);
        let case = format!("{workload} {}", self.label);
        assert_close(
            &format!("{case} static"),
            generated.as_slice(),
            hand_static.as_slice(),
        );
        assert_close(
            &format!("{case} dynamic"),
            generated.as_slice(),
            buffers.output.as_slice(),
        );

        let mut group = self.group(criterion, workload, B);
        group.bench_function("generated", |b| {
            b.iter(|| black_box(&self.generated.forward(black_box(&*x))).sum())
        });
        group.bench_function("static", |b| {
            b.iter(|| black_box(&self.hand_static.forward(black_box(&*x))).sum())
        });
        group.bench_function("dynamic", |b| {
            b.iter(|| {
                self.dynamic.forward(black_box(&x_dynamic), &mut buffers);
                black_box(&buffers.output);
            })
        });
        group.finish();
    }

    /// Benchmarks a training step on `B` samples: training forward pass, then a backward
    /// pass that accumulates into gradients allocated once.
    ///
    /// `workload` names the group. For `train_single` every implementation sets the
    /// gradients instead of adding to them, as a training step does: the generated
    /// network through `train::compute_grads`, as `fit` on one thread, and the
    /// hand-written ones through nalgebra's `gemm` with `beta` 0.
    fn bench_train<const B: usize>(&self, criterion: &mut Criterion, workload: &str) {
        // The same RNG then feeds `forward_train`, which only uses it for dropout.
        let mut rng = Rng::seed_from_u64(SEED + 2);
        let x = random_matrix::<I, B>(&mut rng);
        let grad_out = random_matrix::<O, B>(&mut rng);
        let (x_dynamic, grad_out_dynamic) = (to_dynamic(&x), to_dynamic(&grad_out));
        let mut buffers = DynamicBuffers::new(I, H, O, B);

        let mut generated_grads: Box<<N as Layer<f32, I, O>>::Grads> = bytemuck::zeroed_box();
        let mut static_grads = StaticMlp::<I, H, O>::zeros();
        let mut dynamic_grads = DynamicMlp::zeros(I, H, O);

        let (generated_y, trace) = self.generated.forward_train(&*x, &mut rng);
        let generated_dx = self
            .generated
            .backward(&trace, &grad_out, &mut generated_grads);
        let (static_y, static_trace) = self.hand_static.forward_train(&*x);
        let static_dx = self
            .hand_static
            .backward_into(&static_trace, &grad_out, &mut static_grads);
        self.dynamic.forward(&x_dynamic, &mut buffers);
        self.dynamic.backward_into(
            &x_dynamic,
            &grad_out_dynamic,
            &mut buffers,
            &mut dynamic_grads,
            (1.0, true),
        );

        let case = format!("{workload} {}", self.label);
        assert_close(
            &format!("{case} static output"),
            generated_y.as_slice(),
            static_y.as_slice(),
        );
        assert_close(
            &format!("{case} dynamic output"),
            generated_y.as_slice(),
            buffers.output.as_slice(),
        );
        assert_close(
            &format!("{case} static input gradient"),
            generated_dx.as_slice(),
            static_dx.as_slice(),
        );
        assert_close(
            &format!("{case} dynamic input gradient"),
            generated_dx.as_slice(),
            buffers.grad_input.as_slice(),
        );
        assert_grads_close(
            &case,
            &*generated_grads,
            static_grads.tensors(),
            dynamic_grads.tensors(),
        );
        let set_grads = workload == "train_single";
        if set_grads {
            // The timed code sets the gradients: check it from stale values.
            for i in 0..<N as Layer<f32, I, O>>::Grads::COUNT {
                generated_grads.tensor_mut(i).unwrap().fill(123.0);
            }
            for tensor in [
                static_grads.w1.as_mut_slice(),
                static_grads.b1.as_mut_slice(),
                static_grads.w2.as_mut_slice(),
                static_grads.b2.as_mut_slice(),
                dynamic_grads.w1.as_mut_slice(),
                dynamic_grads.b1.as_mut_slice(),
                dynamic_grads.w2.as_mut_slice(),
                dynamic_grads.b2.as_mut_slice(),
            ] {
                tensor.fill(123.0);
            }
            train::compute_grads(
                &*self.generated,
                &*x,
                &mut Rng::seed_from_u64(SEED + 3),
                &mut generated_grads,
                |_| ((), *grad_out),
            );
            let (_, static_trace) = self.hand_static.forward_train(&*x);
            self.hand_static
                .accumulate_grads(&static_trace, &grad_out, &mut static_grads, 0.0);
            self.dynamic.forward(&x_dynamic, &mut buffers);
            self.dynamic.backward_into(
                &x_dynamic,
                &grad_out_dynamic,
                &mut buffers,
                &mut dynamic_grads,
                (0.0, false),
            );
            assert_grads_close(
                &format!("{case} from stale gradients"),
                &*generated_grads,
                static_grads.tensors(),
                dynamic_grads.tensors(),
            );
        }

        // The blocked kernel runs faster when the first layer's weights and their
        // gradient start on a cache line (`cargo bench --bench kernel_sweep --
        // alignment`). On x86-64 `Dense` is aligned to one; elsewhere the allocator
        // decides where they start.
        println!(
            "{}: first weight {} and its gradient {} bytes past a 64-byte boundary",
            self.label,
            line_offset(self.generated.tensor(0)),
            line_offset(generated_grads.tensor(0)),
        );

        let keep = if set_grads { 0.0 } else { 1.0 };
        let mut group = self.group(criterion, workload, B);
        group.bench_function("generated", |b| {
            b.iter(|| {
                let ((), y) = if set_grads {
                    train::compute_grads(
                        &*self.generated,
                        black_box(&*x),
                        &mut rng,
                        &mut generated_grads,
                        |_| ((), *black_box(&*grad_out)),
                    )
                } else {
                    self.generated.accumulate_pass(
                        black_box(&*x),
                        &mut rng,
                        &mut generated_grads,
                        |_| ((), *black_box(&*grad_out)),
                    )
                };
                black_box(&y);
            })
        });
        group.bench_function("static", |b| {
            b.iter(|| {
                let (y, trace) = self.hand_static.forward_train(black_box(&*x));
                let grad_pre = self.hand_static.accumulate_grads(
                    &trace,
                    black_box(&*grad_out),
                    &mut static_grads,
                    keep,
                );
                black_box((&y, &grad_pre));
            })
        });
        group.bench_function("dynamic", |b| {
            b.iter(|| {
                self.dynamic.forward(black_box(&x_dynamic), &mut buffers);
                self.dynamic.backward_into(
                    &x_dynamic,
                    black_box(&grad_out_dynamic),
                    &mut buffers,
                    &mut dynamic_grads,
                    (keep, false),
                );
                black_box(&buffers.output);
            })
        });
        group.finish();
    }

    fn bench_all(&self, criterion: &mut Criterion) {
        self.bench_forward::<1>(criterion, "forward");
        self.bench_forward::<FORWARD_BATCH>(criterion, "forward_batch");
        self.bench_train::<TRAIN_BATCH>(criterion, "train");
        self.bench_train::<1>(criterion, "train_single");
    }
}

// ---------------------------------------------------------------------------------------
// Floating-point peak.

/// The number of loop iterations of one `peak/fma` measurement.
#[cfg(target_arch = "x86_64")]
const PEAK_ITERATIONS: u64 = 100_000;

/// The number of independent accumulators of the peak loop. It exceeds the FMA latency
/// (4 to 5 cycles on current x86-64 cores) times their 2 FMA units, so that the units
/// need not wait for a result.
#[cfg(target_arch = "x86_64")]
const PEAK_CHAINS: usize = 12;

/// Runs `iterations` rounds of [`PEAK_CHAINS`] independent 256-bit `f32` multiply-adds
/// and returns a value that depends on all of them.
///
/// # Safety
///
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_peak_loop(iterations: u64, start: f32) -> f32 {
    use std::arch::x86_64::*;
    let (scale, shift) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(start); PEAK_CHAINS];
    for _ in 0..iterations {
        for value in &mut acc {
            *value = _mm256_fmadd_ps(*value, scale, shift);
        }
    }
    let mut lanes = [0.0f32; 8];
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |sum, &v| _mm256_add_ps(sum, v));
    // SAFETY: `lanes` has room for the 8 values of one vector.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    lanes.iter().sum()
}

/// [`fma_peak_loop`] with 512-bit vectors.
///
/// # Safety
///
/// The CPU must support AVX-512 Foundation.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_peak_loop_512(iterations: u64, start: f32) -> f32 {
    use std::arch::x86_64::*;
    let (scale, shift) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_set1_ps(start); PEAK_CHAINS];
    for _ in 0..iterations {
        for value in &mut acc {
            *value = _mm512_fmadd_ps(*value, scale, shift);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm512_setzero_ps(), |sum, &v| _mm512_add_ps(sum, v));
    _mm512_reduce_add_ps(sum)
}

/// Measures the FMA peak as `peak/fma`, with the floating-point operations per iteration
/// as its throughput, so criterion reports FLOP/s. Uses 512-bit vectors when the blocked
/// kernel does (`blocked_instruction_set` is `avx512f`). Skipped on CPUs without AVX2 and
/// FMA.
fn fma_peak(criterion: &mut Criterion) {
    // Only x86-64 has the peak loops, so other targets measure nothing here.
    #[cfg(not(target_arch = "x86_64"))]
    let _ = criterion;
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        let wide = static_nn::core::kernel::blocked_instruction_set::<f32>() == "avx512f";
        let lanes = if wide { 16 } else { 8 };
        let flops = PEAK_ITERATIONS * PEAK_CHAINS as u64 * lanes * 2;
        let mut group = criterion.benchmark_group("peak");
        group.throughput(Throughput::Elements(flops));
        group.bench_function("fma", |b| {
            if wide {
                // SAFETY: the blocked kernel runs AVX-512 only where the CPU has it.
                b.iter(|| unsafe { fma_peak_loop_512(black_box(PEAK_ITERATIONS), black_box(1.0)) })
            } else {
                // SAFETY: the CPU supports AVX2 and FMA, checked above.
                b.iter(|| unsafe { fma_peak_loop(black_box(PEAK_ITERATIONS), black_box(1.0)) })
            }
        });
        group.finish();
        tile_in_l1(criterion);
        if wide {
            tile_loop(criterion);
        }
    }
}

/// The inner steps one round of [`tile_loop_512`] cycles through. Its operands take
/// 5.5 KiB, so every load hits L1.
#[cfg(target_arch = "x86_64")]
const TILE_LOOP_STEPS: usize = 32;

/// The rounds of one `peak/tile_loop` measurement: about as many multiply-adds as one
/// `peak/fma` measurement.
#[cfg(target_arch = "x86_64")]
const TILE_LOOP_ROUNDS: u64 = 1_500;

/// Runs `rounds` times [`TILE_LOOP_STEPS`] steps of the AVX-512 kernel's 2 x 12 tile: per
/// step 2 vector loads of `a`, 12 broadcasts of `b` and 24 multiply-adds into 24 register
/// sums. The 12 values of `b` one step reads are adjacent, as in a weight gradient and in
/// `peak/tile_l1`. Without `LOAD_A`, the two vectors of `a` stay in registers, so a step
/// loads only its 12 broadcasts. Returns a value that depends on every sum.
///
/// # Safety
///
/// The CPU must support AVX-512 Foundation.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_loop_512<const LOAD_A: bool>(
    rounds: u64,
    a: &[f32; 32 * TILE_LOOP_STEPS],
    b: &[f32; 12 * TILE_LOOP_STEPS],
) -> f32 {
    use std::arch::x86_64::*;
    let load = |offset: usize| {
        let vector: &[f32; 16] = a[offset..offset + 16].try_into().expect("16 values");
        // SAFETY: the 16 values of `vector` are the 64 bytes this load reads.
        unsafe { _mm512_loadu_ps(vector.as_ptr()) }
    };
    let mut sums = [[_mm512_setzero_ps(); 2]; 12];
    let fixed = [load(0), load(16)];
    for _ in 0..rounds {
        for (step, column) in b.chunks_exact(12).enumerate() {
            let a_step = if LOAD_A {
                [load(32 * step), load(32 * step + 16)]
            } else {
                fixed
            };
            for (sum, &value) in sums.iter_mut().zip(column) {
                let broadcast = _mm512_set1_ps(value);
                for (partial, &a_vector) in sum.iter_mut().zip(&a_step) {
                    *partial = _mm512_fmadd_ps(a_vector, broadcast, *partial);
                }
            }
        }
    }
    let total = sums
        .iter()
        .flatten()
        .fold(_mm512_setzero_ps(), |total, &v| _mm512_add_ps(total, v));
    _mm512_reduce_add_ps(total)
}

/// Measures `peak/tile_loop` and `peak/tile_loop_registers`: the inner loop of the
/// AVX-512 2 x 12 tile on operands in L1 ([`tile_loop_512`]), with and without its
/// vector loads. Unlike `peak/tile_l1`, no call, loop around the tiles or access to `C`
/// takes time, so the gap to `peak/fma` is that of the loop's instructions alone: the
/// most any kernel with this tile can reach on the CPU. Throughput is the loop's
/// floating-point operations.
#[cfg(target_arch = "x86_64")]
fn tile_loop(criterion: &mut Criterion) {
    let mut rng = Rng::seed_from_u64(SEED);
    // Small values, so that the sums stay finite over all rounds.
    let a: [f32; 32 * TILE_LOOP_STEPS] = std::array::from_fn(|_| rng.uniform(-1e-3, 1e-3));
    let b: [f32; 12 * TILE_LOOP_STEPS] = std::array::from_fn(|_| rng.uniform(-1e-3, 1e-3));
    let flops = TILE_LOOP_ROUNDS * (TILE_LOOP_STEPS * 24 * 16 * 2) as u64;
    let mut group = criterion.benchmark_group("peak");
    group.throughput(Throughput::Elements(flops));
    group.bench_function("tile_loop", |bencher| {
        // SAFETY: the caller runs this only where the blocked kernel runs AVX-512.
        bencher.iter(|| unsafe {
            tile_loop_512::<true>(black_box(TILE_LOOP_ROUNDS), black_box(&a), black_box(&b))
        })
    });
    group.bench_function("tile_loop_registers", |bencher| {
        // SAFETY: as above.
        bencher.iter(|| unsafe {
            tile_loop_512::<false>(black_box(TILE_LOOP_ROUNDS), black_box(&a), black_box(&b))
        })
    });
    group.finish();
}

/// The shape of the `peak/tile_l1` product `C += A B`: `A` is 32 x 128, `B` 128 x 12
/// and `C` 32 x 12, 23.5 KiB together, which fits in an L1 data cache of 32 KiB.
#[cfg(target_arch = "x86_64")]
const TILE_L1_SHAPE: (usize, usize, usize) = (32, 128, 12);

/// Measures `peak/tile_l1`: the blocked kernel on a [`TILE_L1_SHAPE`] product, with `A`
/// starting on a 64-byte boundary and `B` stored transposed, as in a weight gradient, so
/// that the 12 values of `B` one inner step reads are adjacent. Every call reads the
/// same operands, so they stay in L1. Its throughput is the product's floating-point
/// operations.
#[cfg(target_arch = "x86_64")]
fn tile_in_l1(criterion: &mut Criterion) {
    use static_nn::core::kernel::blocked;
    let (rows, inner, cols) = TILE_L1_SHAPE;
    let mut rng = Rng::seed_from_u64(SEED);
    let a_storage: Vec<f32> = (0..rows * inner + 16)
        .map(|_| rng.uniform(-1.0, 1.0))
        .collect();
    let first = (16 - (a_storage.as_ptr() as usize / 4) % 16) % 16;
    let a = &a_storage[first..first + rows * inner];
    let b: Vec<f32> = (0..inner * cols).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut c = vec![0.0f32; rows * cols];
    let product = blocked::Gemm {
        rows,
        cols,
        inner,
        a,
        a_col_stride: rows,
        b: &b,
        b_row_stride: cols,
        b_col_stride: 1,
        c_col_stride: rows,
    };
    let mut group = criterion.benchmark_group("peak");
    group.throughput(Throughput::Elements((2 * rows * inner * cols) as u64));
    group.bench_function("tile_l1", |bencher| {
        bencher.iter(|| blocked::gemm(black_box(product), black_box(&mut c)))
    });
    group.finish();
}

fn forward_backward(criterion: &mut Criterion) {
    fma_peak(criterion);
    println!(
        "blocked kernel: {}",
        static_nn::core::kernel::blocked_instruction_set::<f32>()
    );
    Contestants::<Tiny, 2, 8, 1>::new().bench_all(criterion);
    Contestants::<Small, 64, 32, 10>::new().bench_all(criterion);
    Contestants::<Mnist, 784, 128, 10>::new().bench_all(criterion);
}

/// Short measurements, so that all 27 benchmarks finish in about two minutes on two
/// cores; pass `--measurement-time` for longer runs.
fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = forward_backward
}
criterion_main!(benches);
