//! Training steps of the 784-128-10 network on one and on two threads.
//!
//! A step is the training forward pass, softmax cross-entropy against one-hot targets
//! and the backward pass into gradients allocated once (the first layer's input gradient
//! is skipped, as training does). Three implementations per batch size:
//!
//! - `sequential`: `forward_train`, `loss_and_grad` and `accumulate_grads` on the whole
//!   batch on the calling thread;
//! - `parallel_1`: `ParallelGrads` with one thread, which shows its overhead;
//! - `parallel_2`: `ParallelGrads` with two threads, each taking half of the batch.
//!
//! Start-up asserts that the parallel gradients match the sequential ones. Run with
//! `cargo bench --bench parallel_training`; the speed-up is recorded in `BENCHMARKS.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use static_nn::core::bytemuck;
use static_nn::core::train::parallel::ParallelGrads;
use static_nn::prelude::*;

network! {
    /// The 784-128-10 network (MNIST-sized).
    struct Mnist<f32> {
        input: [784],
        hidden: Dense(128), Relu,
        out: Dense(10),
    }
}

/// The seed of the weights and inputs.
const SEED: u64 = 2024;

/// Returns a batch of inputs in `[0, 1)` and one-hot targets.
fn batch<const B: usize>() -> (Box<SMatrix<f32, 784, B>>, Box<SMatrix<f32, 10, B>>) {
    let mut rng = Rng::seed_from_u64(SEED + 1);
    let mut inputs: Box<SMatrix<f32, 784, B>> = bytemuck::zeroed_box();
    for value in inputs.iter_mut() {
        *value = rng.uniform(0.0, 1.0);
    }
    let mut targets: Box<SMatrix<f32, 10, B>> = bytemuck::zeroed_box();
    for column in 0..B {
        targets[(rng.below(10) as usize, column)] = 1.0;
    }
    (inputs, targets)
}

/// Panics unless the two gradients agree within `1e-4` of the largest value.
fn assert_grads_close(case: &str, expected: &MnistGrads, actual: &MnistGrads) {
    for i in 0..<MnistGrads as Tensors<f32>>::COUNT {
        let (e, a) = (
            expected.tensor(i).unwrap_or(&[]),
            actual.tensor(i).unwrap_or(&[]),
        );
        let scale = e.iter().fold(1e-3f32, |max, v| max.max(v.abs()));
        for (index, (e, a)) in e.iter().zip(a).enumerate() {
            assert!(
                (e - a).abs() <= 1e-4 * scale,
                "{case}: tensor {i} value {index} is {a}, expected {e}"
            );
        }
    }
}

/// Benchmarks the three implementations on batches of `B` samples; the parallel ones
/// split them into sub-batches of the size `ParallelGrads::accumulate_grads` chooses
/// (`B / 2` on two threads).
fn bench_batch<const B: usize>(criterion: &mut Criterion) {
    let net = Mnist::new_boxed(SEED);
    let (inputs, targets) = batch::<B>();
    let loss = SoftmaxCrossEntropy;
    let mut rng = Rng::seed_from_u64(SEED + 2);
    let mut grads = Mnist::zero_grads_boxed();
    let mut one = ParallelGrads::<f32, Mnist, 784, 10>::new(1).expect("1 thread starts");
    let mut two = ParallelGrads::<f32, Mnist, 784, 10>::new(2).expect("2 threads start");

    let (outputs, trace) = net.forward_train(&*inputs, &mut rng);
    let (_, grad_out) = loss.loss_and_grad(&outputs, &*targets);
    net.accumulate_grads(&trace, &grad_out, &mut grads);
    let mut parallel = Mnist::zero_grads_boxed();
    two.accumulate_grads(&net, &inputs, &targets, &loss, &mut rng, &mut parallel);
    assert_grads_close(&format!("batch {B}, 2 threads"), &grads, &parallel);

    let mut group = criterion.benchmark_group(format!("train_threads/784-128-10/batch_{B}"));
    group.throughput(Throughput::Elements(B as u64));
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let (outputs, trace) = net.forward_train(black_box(&*inputs), &mut rng);
            let (value, grad_out) = loss.loss_and_grad(&outputs, black_box(&*targets));
            net.accumulate_grads(&trace, &grad_out, &mut grads);
            black_box((value, &outputs));
        })
    });
    for (name, threads) in [("parallel_1", &mut one), ("parallel_2", &mut two)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let (value, outputs) = threads.accumulate_grads(
                    &net,
                    black_box(&inputs),
                    black_box(&targets),
                    &loss,
                    &mut rng,
                    &mut grads,
                );
                black_box((value, &outputs));
            })
        });
    }
    group.finish();
}

fn parallel_training(criterion: &mut Criterion) {
    bench_batch::<32>(criterion);
    bench_batch::<64>(criterion);
    bench_batch::<128>(criterion);
}

/// Longer measurements than the single-thread benchmarks: thread start-up and the
/// other processes on the machine add more variance to multi-threaded timings.
fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = parallel_training
}
criterion_main!(benches);
