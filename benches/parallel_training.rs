//! Training steps of the 784-128-10 network on one and on two threads.
//!
//! A step is the training forward pass, softmax cross-entropy against one-hot targets
//! and the backward pass into gradients allocated once (the first layer's input gradient
//! is skipped, as training does). Four implementations per batch size:
//!
//! - `sequential`: the whole batch on the calling thread through `Layer::accumulate_pass`
//!   (the training forward pass, the loss and `accumulate_grads` in one call), as `fit`
//!   runs a step on one thread;
//! - `parallel_1`: `ParallelGrads` with one thread, which shows its overhead;
//! - `parallel_2`: `ParallelGrads` with two threads and the batch split, each thread
//!   taking half of the batch;
//! - `parallel_2_layers`: two threads and the layer split, each thread taking half of the
//!   first layer's input columns.
//!
//! Three more per batch size add what `fit` does around a step: zeroing the gradients and
//! the Adam update. `sequential_adam` runs both on the calling thread;
//! `parallel_2_adam` and `parallel_2_layers_adam` run the step with zeroing
//! (`ParallelGrads::compute_grads`) and the update through `ParallelGrads`, with each
//! split, on the same two threads.
//!
//! Before the criterion groups, the program measures how much two threads can gain on
//! this machine at all. It runs a loop of independent multiply-adds, 10 ms of work per
//! thread, on one thread and then on two at the same time, 20 times, and prints the
//! speed-up of each trial: once with a thread started for each trial and once with one
//! thread kept spinning between trials. Two cores that each run one thread give about 2.
//! It also prints how long overwriting 400 KB takes after another thread read or wrote
//! it, against
//! after the same thread wrote it: the cost of moving gradients and weights between
//! cores, which every parallel step pays. The case after a read is also timed with the
//! writer first flushing the lines from the caches, as `ParallelGrads` does with the
//! weights before an optimizer update.
//!
//! Then, before criterion measures each case on its own, the program alternates one
//! thread and the two splits on two threads in rounds, with and without zeroing and the
//! Adam update, for batches of 32, 64 and 128, and prints the median step time of each
//! and the speed-ups over one thread (`interleaved` lines). A minute in which the second
//! core is slow then hits every way alike.
//!
//! Start-up asserts that the parallel gradients match the sequential ones. Run with
//! `cargo bench --bench parallel_training`; the speed-up is recorded in `BENCHMARKS.md`.

use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use static_nn::core::bytemuck;
use static_nn::core::optim::SingleThread;
use static_nn::core::train::parallel::{ParallelGrads, Split};
use static_nn::prelude::*;

/// Adam settings for training on one fixed batch: learning rate 0.
///
/// Every step reads and writes the same values as with a real learning rate. But with
/// one the network learns the batch within a few thousand steps, the gradients shrink
/// to subnormal numbers, whose arithmetic is many times slower on x86-64. The timings
/// would then depend on how far each way had trained, not on the threads.
fn still_adam() -> AdamConfig {
    AdamConfig {
        learning_rate: 0.0,
        ..AdamConfig::default()
    }
}

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
    let start_two = |split| {
        ParallelGrads::<f32, Mnist, 784, 10>::with_split(2, split).expect("2 threads start")
    };
    let (mut two, mut two_layers) = (start_two(Split::Batch), start_two(Split::Layers));

    let (outputs, trace) = net.forward_train(&*inputs, &mut rng);
    let (_, grad_out) = loss.loss_and_grad(&outputs, &*targets);
    net.accumulate_grads(&trace, &grad_out, &mut grads);
    for (name, threads) in [("batch", &mut two), ("layer", &mut two_layers)] {
        let mut parallel = Mnist::zero_grads_boxed();
        threads.accumulate_grads(&net, &inputs, &targets, &loss, &mut rng, &mut parallel);
        let case = format!("batch {B}, 2 threads, {name} split");
        assert_grads_close(&case, &grads, &parallel);
    }

    let mut group = criterion.benchmark_group(format!("train_threads/784-128-10/batch_{B}"));
    group.throughput(Throughput::Elements(B as u64));
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let (value, outputs) =
                net.accumulate_pass(black_box(&*inputs), &mut rng, &mut grads, |y| {
                    loss.loss_and_grad(y, black_box(&*targets))
                });
            black_box((value, &outputs));
        })
    });
    let ways = [
        ("parallel_1", &mut one),
        ("parallel_2", &mut two),
        ("parallel_2_layers", &mut two_layers),
    ];
    for (name, threads) in ways {
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

    // The Adam updates below rewrite the weights (with the same values, at learning rate 0).
    let mut net = net;
    let all = |_: usize| Some(1.0);
    let mut adam = Adam::new_boxed(still_adam()).expect("valid settings");
    group.bench_function("sequential_adam", |b| {
        b.iter(|| {
            grads.fill_zero();
            let (value, outputs) =
                net.accumulate_pass(black_box(&*inputs), &mut rng, &mut grads, |y| {
                    loss.loss_and_grad(y, black_box(&*targets))
                });
            adam.step_scaled_with(&mut *net, &*grads, &all, &SingleThread)
                .expect("matching tensors");
            black_box((value, &outputs));
        })
    });
    for (name, threads) in [
        ("parallel_2_adam", &mut two),
        ("parallel_2_layers_adam", &mut two_layers),
    ] {
        let mut adam = Adam::new_boxed(still_adam()).expect("valid settings");
        group.bench_function(name, |b| {
            b.iter(|| {
                let (value, outputs) = threads.compute_grads(
                    &*net,
                    black_box(&inputs),
                    black_box(&targets),
                    &loss,
                    &mut rng,
                    &mut grads,
                );
                adam.step_scaled_with(&mut *net, &*grads, &all, &*threads)
                    .expect("matching tensors");
                black_box((value, &outputs));
            })
        });
    }
    group.finish();
}

/// Runs `iterations` rounds of 32 independent multiply-add chains and returns their sum.
#[inline(never)]
fn multiply_add_loop(iterations: u64) -> f32 {
    let mut sums = [1.0f32; 32];
    for _ in 0..iterations {
        for sum in sums.iter_mut() {
            *sum = *sum * 0.999_999 + 1e-7;
        }
    }
    sums.iter().sum()
}

/// Prints the speed-up of two threads over one on a loop of multiply-adds, `trials`
/// times, in two ways: with a thread started for each trial, and with one thread started
/// once that spins between trials. The second shows what the cores can give; where the
/// first falls to about 1 in some trials, the operating system placed the new thread on
/// the starting thread's core.
fn report_core_scaling(trials: usize) {
    // About 10 ms per thread in a release build on the machine of `BENCHMARKS.md`.
    let iterations = 1_000_000;
    let one_thread = || {
        let started = Instant::now();
        black_box(multiply_add_loop(black_box(iterations)));
        black_box(multiply_add_loop(black_box(iterations)));
        started.elapsed().as_secs_f64()
    };
    let mut started_each = Vec::with_capacity(trials);
    for _ in 0..trials {
        let one = one_thread();
        let started = Instant::now();
        std::thread::scope(|scope| {
            scope.spawn(|| black_box(multiply_add_loop(black_box(iterations))));
            black_box(multiply_add_loop(black_box(iterations)));
        });
        started_each.push(one / started.elapsed().as_secs_f64());
    }
    let go = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let mut kept = Vec::with_capacity(trials);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for trial in 1..=trials {
                while go.load(Ordering::Acquire) < trial {
                    std::hint::spin_loop();
                }
                black_box(multiply_add_loop(black_box(iterations)));
                done.store(trial, Ordering::Release);
            }
        });
        for trial in 1..=trials {
            let one = one_thread();
            let started = Instant::now();
            go.store(trial, Ordering::Release);
            black_box(multiply_add_loop(black_box(iterations)));
            while done.load(Ordering::Acquire) < trial {
                std::hint::spin_loop();
            }
            kept.push(one / started.elapsed().as_secs_f64());
        }
    });
    for (way, speedups) in [
        ("a thread started for each trial", &started_each),
        ("one thread kept spinning", &kept),
    ] {
        let list: Vec<String> = speedups.iter().map(|s| format!("{s:.2}")).collect();
        let below = speedups.iter().filter(|&&s| s < 1.5).count();
        println!(
            "core scaling, {way}: 2 threads ran a multiply-add loop {} times as fast as 1 ({below} of {trials} trials below 1.5)",
            list.join(" ")
        );
    }
}

/// Writes back and evicts `values` from every core's caches (`clflush` on x86-64, as
/// `ParallelGrads` does before an optimizer update); does nothing on other targets.
#[inline(never)]
fn flush(values: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in values.chunks(16) {
        // SAFETY: `line` is a part of `values`, so its address is mapped; `clflush`
        // changes no value.
        unsafe { std::arch::x86_64::_mm_clflush(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Overwrites `values` with `value`.
#[inline(never)]
fn overwrite(values: &mut [f32], value: f32) {
    values.fill(value);
    black_box(values);
}

/// Prints how long one thread takes to overwrite 400 KB (the size of the 784-128-10
/// gradients) that it wrote itself, that another thread read since, and that another
/// thread wrote since, averaged over `reps` times each. This is the cost of handing data
/// between cores, as a parallel training step hands over gradients and weights.
fn report_handover(reps: usize) {
    let buffer = Mutex::new(vec![0.0f32; 100_000]);
    // Odd phases ask the other thread to read the buffer, even ones to write it.
    let phase = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let (mut own, mut after_read, mut after_write) = (0.0, 0.0, 0.0);
    let mut after_read_flushed = 0.0;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut seen = 0;
            while seen != usize::MAX {
                let now = phase.load(Ordering::Acquire);
                if now == seen {
                    std::hint::spin_loop();
                    continue;
                }
                seen = now;
                let mut values = buffer.lock().unwrap_or_else(|e| e.into_inner());
                if now % 2 == 1 {
                    black_box(values.iter().sum::<f32>());
                } else if now != usize::MAX {
                    overwrite(&mut values, 1.0);
                }
                done.store(now, Ordering::Release);
            }
        });
        let hand_over = |request: usize| {
            phase.store(request, Ordering::Release);
            while done.load(Ordering::Acquire) != request {
                std::hint::spin_loop();
            }
        };
        let timed = |value: f32| {
            let mut values = buffer.lock().unwrap_or_else(|e| e.into_inner());
            let started = Instant::now();
            overwrite(&mut values, value);
            started.elapsed().as_secs_f64()
        };
        let timed_flushed = |value: f32| {
            let mut values = buffer.lock().unwrap_or_else(|e| e.into_inner());
            let started = Instant::now();
            flush(&values);
            overwrite(&mut values, value);
            started.elapsed().as_secs_f64()
        };
        for rep in 0..reps {
            timed(2.0);
            own += timed(3.0);
            hand_over(6 * rep + 1);
            after_read += timed(4.0);
            hand_over(6 * rep + 3);
            after_read_flushed += timed_flushed(5.0);
            hand_over(6 * rep + 4);
            after_write += timed(6.0);
        }
        phase.store(usize::MAX, Ordering::Release);
    });
    let micros = |seconds: f64| seconds / reps as f64 * 1e6;
    println!(
        "handover: overwriting 400 KB took {:.1} us after this thread wrote it, {:.1} us after another thread read it ({:.1} us when this thread first flushed it from the caches), {:.1} us after another thread wrote it",
        micros(own),
        micros(after_read),
        micros(after_read_flushed),
        micros(after_write)
    );
}

/// The ways of training that [`report_interleaved`] alternates.
const WAYS: [&str; 3] = ["one thread", "batch split", "layer split"];

/// Runs `steps` steps of `way` (an index into [`WAYS`]) and returns the mean step time
/// in microseconds. With `adam`, each step also zeroes the gradients and applies Adam.
#[allow(clippy::too_many_arguments)]
fn timed_steps<const B: usize>(
    way: usize,
    adam: Option<&mut Adam<MnistGrads, Box<MnistGrads>>>,
    net: &mut Mnist,
    grads: &mut MnistGrads,
    threads: &mut [ParallelGrads<f32, Mnist, 784, 10>; 2],
    inputs: &SMatrix<f32, 784, B>,
    targets: &SMatrix<f32, 10, B>,
    steps: usize,
) -> f64 {
    let loss = SoftmaxCrossEntropy;
    let mut rng = Rng::seed_from_u64(SEED + 3);
    let all = |_: usize| Some(1.0);
    let started = Instant::now();
    match adam {
        None => {
            for _ in 0..steps {
                let value = if way == 0 {
                    let (value, _) = net.accumulate_pass(inputs, &mut rng, grads, |y| {
                        loss.loss_and_grad(y, targets)
                    });
                    value
                } else {
                    let parallel = &mut threads[way - 1];
                    parallel
                        .accumulate_grads(net, inputs, targets, &loss, &mut rng, grads)
                        .0
                };
                black_box(value);
            }
        }
        Some(adam) => {
            for _ in 0..steps {
                let value = if way == 0 {
                    grads.fill_zero();
                    let (value, _) = net.accumulate_pass(inputs, &mut rng, grads, |y| {
                        loss.loss_and_grad(y, targets)
                    });
                    adam.step_scaled_with(net, grads, &all, &SingleThread)
                        .expect("matching tensors");
                    value
                } else {
                    let parallel = &mut threads[way - 1];
                    let (value, _) =
                        parallel.compute_grads(net, inputs, targets, &loss, &mut rng, grads);
                    adam.step_scaled_with(net, grads, &all, &*parallel)
                        .expect("matching tensors");
                    value
                };
                black_box(value);
            }
        }
    }
    started.elapsed().as_secs_f64() / steps as f64 * 1e6
}

/// Prints the median step time of each of [`WAYS`] on batches of `B`, without and with
/// zeroing and the Adam update, over `rounds` rounds of `steps` steps that alternate
/// between the six, and the speed-ups over one thread. Alternating makes minutes in which
/// the second core is slow, or another process runs, hit every way alike, which
/// criterion's consecutive measurements do not.
fn report_interleaved<const B: usize>(rounds: usize, steps: usize) {
    let (inputs, targets) = batch::<B>();
    let mut threads = [Split::Batch, Split::Layers].map(|split| {
        ParallelGrads::<f32, Mnist, 784, 10>::with_split(2, split).expect("2 threads start")
    });
    let mut nets: Vec<Box<Mnist>> = (0..6).map(|_| Mnist::new_boxed(SEED)).collect();
    let mut grads: Vec<Box<MnistGrads>> = (0..6).map(|_| Mnist::zero_grads_boxed()).collect();
    let mut adams: Vec<_> = (0..3)
        .map(|_| Adam::new_boxed(still_adam()).expect("valid settings"))
        .collect();
    let mut times: Vec<Vec<f64>> = (0..6).map(|_| Vec::with_capacity(rounds)).collect();
    for _ in 0..rounds {
        for case in 0..6 {
            let (way, with_adam) = (case % 3, case >= 3);
            let adam = with_adam.then(|| &mut adams[way]);
            let time = timed_steps(
                way,
                adam,
                &mut nets[case],
                &mut grads[case],
                &mut threads,
                &inputs,
                &targets,
                steps,
            );
            times[case].push(time);
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|values| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        })
        .collect();
    for (with_adam, name) in [(false, "step"), (true, "step, zeroing and Adam")] {
        let base = if with_adam { 3 } else { 0 };
        let cells: Vec<String> = (0..3)
            .map(|way| {
                let time = medians[base + way];
                let speedup = medians[base] / time;
                format!("{} {time:.1} us ({speedup:.2})", WAYS[way])
            })
            .collect();
        println!(
            "interleaved, batch {B}, {name}: {} [median of {rounds} rounds of {steps} steps]",
            cells.join(", ")
        );
    }
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

fn main() {
    // `cargo test --benches` runs this binary without `--bench`, in a debug build.
    let timing = std::env::args().any(|arg| arg == "--bench");
    report_core_scaling(if timing { 20 } else { 1 });
    report_handover(if timing { 1000 } else { 2 });
    let (rounds, steps) = if timing { (9, 400) } else { (1, 2) };
    report_interleaved::<32>(rounds, steps);
    report_interleaved::<64>(rounds, steps / 2);
    report_interleaved::<128>(rounds, steps / 4);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
