//! Data-parallel gradient computation across threads (`std` feature).
//!
//! A batch of `B` samples is cut into `B / S` sub-batches of a constant size `S`, because
//! every shape in a network is a constant and a thread cannot take "half a batch" of a
//! runtime size. The sub-batches are dealt to the threads in contiguous runs: with `t`
//! threads, thread `i` takes sub-batches `i * C / t .. (i + 1) * C / t` of the `C = B / S`.
//! Each thread runs the training forward pass, the loss and the backward pass on its
//! sub-batches one after the other and accumulates their parameter gradients into its own
//! buffer (thread 0 directly into the caller's gradients). The buffers are then added to
//! the caller's gradients in thread order, element by element.
//!
//! The result is deterministic: the same network, batch, seed and thread count give
//! bit-identical gradients, loss and outputs, however the operating system schedules the
//! threads. A different thread count adds the same per-sample terms in a different
//! grouping, so its gradients can differ in the last bits. Dropout masks do not depend on
//! the thread count: sub-batch `c` draws from its own generator, seeded from one value
//! drawn from the caller's generator and from `c`.
//!
//! Losses average over the batch, so each sub-batch's loss gradient is scaled by `S / B`
//! and the batch loss is the mean of the sub-batch losses: the gradient equals that of
//! the whole batch up to rounding.
//!
//! ```
//! use nn_core::bytemuck;
//! use nn_core::layers::{Dense, DenseGrads};
//! use nn_core::loss::MeanSquaredError;
//! use nn_core::train::parallel::ParallelGrads;
//! use nn_core::{Layer, Rng, SMatrix};
//!
//! let mut layer: Dense<f32, 3, 2> = bytemuck::Zeroable::zeroed();
//! layer.init(&mut Rng::seed_from_u64(1));
//! let x = SMatrix::<f32, 3, 8>::from_fn(|row, col| (row + col) as f32 * 0.1);
//! let target = SMatrix::<f32, 2, 8>::zeros();
//!
//! let mut parallel = ParallelGrads::<f32, Dense<f32, 3, 2>, 3, 2>::new(2)?;
//! let mut grads: DenseGrads<f32, 3, 2> = bytemuck::Zeroable::zeroed();
//! let mut rng = Rng::seed_from_u64(7);
//! // Two sub-batches of 4 samples, one per thread.
//! let (loss, outputs) =
//!     parallel.accumulate_grads(&layer, &x, &target, &MeanSquaredError, &mut rng, &mut grads);
//! assert!(loss > 0.0);
//! assert_eq!(outputs, layer.forward(&x));
//! # Ok::<(), nn_core::train::parallel::ParallelError>(())
//! ```

use std::boxed::Box;
use std::fmt;
use std::string::{String, ToString};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use std::vec::Vec;

use nalgebra::SMatrix;

use crate::float::Float;
use crate::layer::Layer;
use crate::loss::Loss;
use crate::rng::Rng;
use crate::tensors::Tensors;

/// The stack size of the worker threads. A training pass returns its activations and
/// trace by value, so a sub-batch of a large network can need more than the 2 MiB that
/// threads get by default.
pub const WORKER_STACK_BYTES: usize = 16 << 20;

/// The sub-batch sizes [`ParallelGrads::accumulate_grads`] chooses from, largest first.
pub const SUB_BATCH_SIZES: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// The number of values from which a gradient tensor is summed over threads in
/// parallel; smaller tensors (biases) are summed by the calling thread.
const PARALLEL_SUM_MIN: usize = 16 * 1024;

/// The error of creating a [`ParallelGrads`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParallelError {
    /// The thread count was 0.
    NoThreads,
    /// The operating system refused to start the worker threads; the message is rayon's.
    ThreadPool(String),
}

impl fmt::Display for ParallelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParallelError::NoThreads => {
                write!(f, "parallel training needs at least 1 thread, got 0")
            }
            ParallelError::ThreadPool(message) => {
                write!(f, "failed to start the training threads: {message}")
            }
        }
    }
}

impl std::error::Error for ParallelError {}

/// Worker threads and per-thread gradient buffers for [`accumulate_grads`], created once
/// and reused for every batch, so a training step allocates nothing.
///
/// [`accumulate_grads`]: ParallelGrads::accumulate_grads
pub struct ParallelGrads<T: Float, N: Layer<T, IN, OUT>, const IN: usize, const OUT: usize> {
    /// The `threads - 1` worker threads; the calling thread does the rest of the work.
    /// `None` for one thread.
    pool: Option<rayon::ThreadPool>,
    awake: Awake,
    /// One zeroed gradient buffer for each thread after the first, on the heap.
    buffers: Vec<Box<N::Grads>>,
}

impl<T, N, const IN: usize, const OUT: usize> ParallelGrads<T, N, IN, OUT>
where
    T: Float,
    N: Layer<T, IN, OUT> + Sync,
    N::Grads: Send + Sync,
{
    /// Starts `threads - 1` worker threads, which work together with the calling thread,
    /// and allocates their gradient buffers.
    ///
    /// # Errors
    ///
    /// [`ParallelError::NoThreads`] for `threads == 0`, and
    /// [`ParallelError::ThreadPool`] when the threads cannot be started.
    pub fn new(threads: usize) -> Result<Self, ParallelError> {
        if threads == 0 {
            return Err(ParallelError::NoThreads);
        }
        let pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads - 1)
                .stack_size(WORKER_STACK_BYTES)
                .thread_name(|index| std::format!("static-nn-train-{}", index + 1))
                .build()
                .map_err(|error| ParallelError::ThreadPool(error.to_string()))?;
            Some(pool)
        } else {
            None
        };
        let buffers = (1..threads).map(|_| bytemuck::zeroed_box()).collect();
        Ok(Self {
            pool,
            awake: Awake::default(),
            buffers,
        })
    }

    /// Returns the number of threads, counting the calling thread.
    pub fn threads(&self) -> usize {
        self.buffers.len() + 1
    }

    /// Runs the training forward pass, `loss` and the backward pass of `net` on a batch of
    /// `B` samples spread over the threads, and adds the parameter gradients to `grads`
    /// (as `Layer::accumulate_grads` does, without an input gradient). Returns the mean
    /// loss over the batch and the network's outputs.
    ///
    /// The sub-batch size is the largest of [`SUB_BATCH_SIZES`] that divides `B` into at
    /// least as many sub-batches as there are threads: 64 of 128 samples on 2 threads, 16
    /// of 32. It therefore depends only on `B` and the thread count. Each size is a separate
    /// instance of the network's training pass, which the compiler builds for every size
    /// in the list. One value is drawn from `rng` per call to seed the sub-batches'
    /// dropout.
    pub fn accumulate_grads<L, const B: usize>(
        &mut self,
        net: &N,
        inputs: &SMatrix<T, IN, B>,
        targets: &SMatrix<T, OUT, B>,
        loss: &L,
        rng: &mut Rng,
        grads: &mut N::Grads,
    ) -> (T, SMatrix<T, OUT, B>)
    where
        L: Loss<T, OUT> + Sync,
    {
        let parts = self.threads().min(B.max(1));
        macro_rules! try_size {
            ($($size:literal),+) => {
                $(
                    if B.is_multiple_of($size) && B / $size >= parts {
                        return self.run::<L, B, $size>(net, inputs, targets, loss, rng, grads);
                    }
                )+
            };
        }
        try_size!(64, 32, 16, 8, 4, 2, 1);
        // Only `B = 0` gets here: every other `B` is a multiple of 1 with `B / 1 >= parts`.
        self.run::<L, B, 1>(net, inputs, targets, loss, rng, grads)
    }

    /// Like [`accumulate_grads`](Self::accumulate_grads), with sub-batches of `S` samples.
    ///
    /// `S` must divide `B`; otherwise the call does not compile.
    pub fn accumulate_grads_in<L, const B: usize, const S: usize>(
        &mut self,
        net: &N,
        inputs: &SMatrix<T, IN, B>,
        targets: &SMatrix<T, OUT, B>,
        loss: &L,
        rng: &mut Rng,
        grads: &mut N::Grads,
    ) -> (T, SMatrix<T, OUT, B>)
    where
        L: Loss<T, OUT> + Sync,
    {
        const {
            assert!(
                S > 0 && B.is_multiple_of(S),
                "the sub-batch size S must divide the batch size B"
            );
        }
        self.run::<L, B, S>(net, inputs, targets, loss, rng, grads)
    }

    /// Runs one step in sub-batches of `S`, which must divide `B`.
    fn run<L, const B: usize, const S: usize>(
        &mut self,
        net: &N,
        inputs: &SMatrix<T, IN, B>,
        targets: &SMatrix<T, OUT, B>,
        loss: &L,
        rng: &mut Rng,
        grads: &mut N::Grads,
    ) -> (T, SMatrix<T, OUT, B>)
    where
        L: Loss<T, OUT> + Sync,
    {
        assert!(
            S > 0 && B.is_multiple_of(S),
            "sub-batch size {S} does not divide batch size {B}"
        );
        if B == 0 {
            return (T::zero(), SMatrix::zeros());
        }
        let sub_batches = B / S;
        let threads = self.threads().min(sub_batches);
        let seed = rng.next_u64();
        let scale = T::from_f64_lossy(S as f64 / B as f64);

        let inputs: &[SMatrix<T, IN, S>] = bytemuck::cast_slice(inputs.as_slice());
        let targets: &[SMatrix<T, OUT, S>] = bytemuck::cast_slice(targets.as_slice());
        let mut outputs = SMatrix::<T, OUT, B>::zeros();
        let mut losses = [T::zero(); B];
        {
            let output_parts: &mut [SMatrix<T, OUT, S>] =
                bytemuck::cast_slice_mut(outputs.as_mut_slice());
            let mut jobs = Vec::with_capacity(threads);
            let mut rest_outputs = output_parts;
            let mut rest_losses = &mut losses[..sub_batches];
            let mut rest_buffers = self.buffers.iter_mut();
            let mut first_grads = Some(&mut *grads);
            for thread in 0..threads {
                let start = thread * sub_batches / threads;
                let end = (thread + 1) * sub_batches / threads;
                let (job_outputs, later_outputs) = rest_outputs.split_at_mut(end - start);
                let (job_losses, later_losses) = rest_losses.split_at_mut(end - start);
                rest_outputs = later_outputs;
                rest_losses = later_losses;
                let (target, zero): (&mut N::Grads, bool) = match first_grads.take() {
                    Some(grads) => (grads, false),
                    None => (
                        rest_buffers.next().expect("one buffer per extra thread"),
                        true,
                    ),
                };
                jobs.push(Job {
                    first: start,
                    outputs: job_outputs,
                    losses: job_losses,
                    grads: target,
                    zero,
                });
            }

            let work = |job: &mut Job<'_, T, N::Grads, OUT, S>| {
                if job.zero {
                    job.grads.fill_zero();
                }
                for (offset, (output, batch_loss)) in job
                    .outputs
                    .iter_mut()
                    .zip(job.losses.iter_mut())
                    .enumerate()
                {
                    let index = job.first + offset;
                    let mut sub_rng = Rng::seed_from_u64(sub_batch_seed(seed, index));
                    let (y, trace) = net.forward_train(&inputs[index], &mut sub_rng);
                    let (value, grad_out) = loss.loss_and_grad(&y, &targets[index]);
                    net.accumulate_grads(&trace, &(grad_out * scale), job.grads);
                    *output = y;
                    *batch_loss = value;
                }
            };
            let work = &work;
            self.awake.start_step();
            let awake = &self.awake;
            let mut jobs = jobs.into_iter();
            match (&self.pool, jobs.next()) {
                (Some(pool), Some(first)) => run_split(
                    pool,
                    first,
                    jobs,
                    &|mut job: Job<'_, T, N::Grads, OUT, S>, on_caller: bool| {
                        work(&mut job);
                        if on_caller {
                            awake.finish_work();
                        } else {
                            // Wait for the calling thread here instead of in the pool,
                            // where the worker would soon fall asleep before the sum.
                            awake.spin_while_running();
                        }
                    },
                ),
                (_, first) => first
                    .into_iter()
                    .chain(jobs)
                    .for_each(|mut job| work(&mut job)),
            }
        }

        self.sum_buffers(threads, grads);
        if let Some(pool) = &self.pool {
            self.awake.keep_awake(pool, self.buffers.len());
        }
        let mut total = T::zero();
        for &value in &losses[..sub_batches] {
            total += value;
        }
        (total * scale, outputs)
    }

    /// Adds the buffers of threads `1..threads` to `grads`, each value in thread order.
    /// Large tensors are cut into one contiguous range per thread, which the calling
    /// thread and the workers add in parallel.
    fn sum_buffers(&self, threads: usize, grads: &mut N::Grads) {
        let buffers = &self.buffers[..threads - 1];
        let Some(pool) = &self.pool else {
            return;
        };
        if buffers.is_empty() {
            return;
        }
        let add_range = |values: &mut [T], start: usize, tensor: usize| {
            for buffer in buffers {
                let part = buffer.tensor(tensor).unwrap_or(&[]);
                for (value, &add) in values.iter_mut().zip(&part[start..]) {
                    *value += add;
                }
            }
        };
        for tensor in 0..<N::Grads as Tensors<T>>::COUNT {
            let Some(sum) = grads.tensor_mut(tensor) else {
                continue;
            };
            if sum.len() < PARALLEL_SUM_MIN {
                add_range(sum, 0, tensor);
                continue;
            }
            let range = sum.len().div_ceil(threads);
            let mut parts = sum.chunks_mut(range).enumerate();
            let Some(first) = parts.next() else {
                continue;
            };
            run_split(
                pool,
                first,
                parts,
                &|(index, part): (usize, &mut [T]), _| add_range(part, index * range, tensor),
            );
        }
    }
}

/// Runs `work(first, true)` on the calling thread and `work(job, false)` for each of
/// `rest` on the pool, and returns when all have finished.
///
/// The calling thread spins while it waits, for at most [`KEEP_AWAKE`], before it lets
/// rayon block it: a blocked thread takes as long to wake as a sleeping worker.
fn run_split<J, W>(pool: &rayon::ThreadPool, first: J, rest: impl Iterator<Item = J>, work: &W)
where
    J: Send,
    W: Fn(J, bool) + Sync,
{
    let pending = AtomicUsize::new(0);
    pool.in_place_scope(|scope| {
        for job in rest {
            pending.fetch_add(1, Ordering::Relaxed);
            let pending = &pending;
            scope.spawn(move |_| {
                work(job, false);
                pending.fetch_sub(1, Ordering::Release);
            });
        }
        work(first, true);
        let started = Instant::now();
        while pending.load(Ordering::Acquire) != 0 && started.elapsed() < KEEP_AWAKE {
            core::hint::spin_loop();
        }
    });
}

/// The sub-batches one thread runs, and where it writes their results.
struct Job<'a, T: Float, G, const OUT: usize, const S: usize> {
    /// The index of the first sub-batch.
    first: usize,
    outputs: &'a mut [SMatrix<T, OUT, S>],
    losses: &'a mut [T],
    grads: &'a mut G,
    /// Whether `grads` is a thread's buffer, which the thread zeroes first.
    zero: bool,
}

/// How long worker threads spin, waiting for the next step or phase, before they let
/// rayon put them to sleep.
///
/// Rayon puts idle workers to sleep within microseconds, and waking one is slow on some
/// machines. On the 2-core virtual machine of `BENCHMARKS.md`, a 32-sample step of a
/// 784-128-10 network took 210 to 220 us on two threads whose worker slept between the
/// phases of a step, against 150 us on one thread and 115 to 125 us with spinning. That
/// puts the cost of a wake-up there at an estimated 50 to 130 us. Spinning between steps is what
/// OpenMP runtimes do by default for the same reason. It costs CPU time only while the
/// calling thread does something else between steps (the optimizer update, the next
/// batch), and at most this long.
pub const KEEP_AWAKE: Duration = Duration::from_millis(1);

/// Keeps the worker threads spinning between the phases of a step and between steps.
#[derive(Default)]
struct Awake {
    /// Counts phases: odd while the threads of a step are computing gradients, even
    /// between steps. Workers spin while it has the value they saw.
    phase: Arc<AtomicU64>,
}

impl Awake {
    /// Marks the start of a step's gradient phase, which ends workers' spinning.
    fn start_step(&self) {
        self.phase.fetch_add(1, Ordering::Release);
    }

    /// Marks the end of the calling thread's share of the gradient phase.
    fn finish_work(&self) {
        self.phase.fetch_add(1, Ordering::Release);
    }

    /// Spins until the phase changes from the current one, or for [`KEEP_AWAKE`].
    fn spin_while_running(&self) {
        spin_while(&self.phase, self.phase.load(Ordering::Acquire) | 1);
    }

    /// Gives each of the `workers` threads a task that spins until the next step starts,
    /// or for [`KEEP_AWAKE`].
    fn keep_awake(&self, pool: &rayon::ThreadPool, workers: usize) {
        let between_steps = self.phase.load(Ordering::Acquire);
        for _ in 0..workers {
            let phase = Arc::clone(&self.phase);
            pool.spawn(move || spin_while(&phase, between_steps));
        }
    }
}

/// Spins while `phase` equals `value`, for at most [`KEEP_AWAKE`].
fn spin_while(phase: &AtomicU64, value: u64) {
    let started = Instant::now();
    while phase.load(Ordering::Acquire) == value && started.elapsed() < KEEP_AWAKE {
        for _ in 0..64 {
            core::hint::spin_loop();
        }
    }
}

/// Returns the dropout seed of sub-batch `index` of a step whose drawn seed is `seed`.
fn sub_batch_seed(seed: u64, index: usize) -> u64 {
    seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Dense, DenseGrads};
    use crate::loss::MeanSquaredError;

    type Net = Dense<f64, 5, 3>;
    const B: usize = 12;

    fn setup() -> (Net, SMatrix<f64, 5, B>, SMatrix<f64, 3, B>) {
        let mut net: Net = bytemuck::Zeroable::zeroed();
        let mut rng = Rng::seed_from_u64(11);
        net.init(&mut rng);
        net.bias.fill(0.25);
        let x = SMatrix::from_fn(|_, _| rng.uniform(-1.0, 1.0));
        let y = SMatrix::from_fn(|_, _| rng.uniform(-1.0, 1.0));
        (net, x, y)
    }

    fn run<const S: usize>(
        threads: usize,
    ) -> (f64, SMatrix<f64, 3, B>, Box<DenseGrads<f64, 5, 3>>) {
        let (net, x, y) = setup();
        let mut parallel = ParallelGrads::<f64, Net, 5, 3>::new(threads).expect("threads start");
        let mut grads: Box<DenseGrads<f64, 5, 3>> = bytemuck::zeroed_box();
        let mut rng = Rng::seed_from_u64(5);
        let (loss, outputs) = parallel.accumulate_grads_in::<_, B, S>(
            &net,
            &x,
            &y,
            &MeanSquaredError,
            &mut rng,
            &mut grads,
        );
        (loss, outputs, grads)
    }

    #[test]
    fn parallel_matches_whole_batch() {
        let (net, x, y) = setup();
        let (output, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(0));
        let (expected_loss, grad_out) = MeanSquaredError.loss_and_grad(&output, &y);
        let mut expected: DenseGrads<f64, 5, 3> = bytemuck::Zeroable::zeroed();
        net.accumulate_grads(&trace, &grad_out, &mut expected);

        for threads in [1, 2, 3, 8] {
            let (loss, outputs, grads) = run::<3>(threads);
            assert!(
                (loss - expected_loss).abs() < 1e-12,
                "{threads} threads: loss {loss}, expected {expected_loss}"
            );
            assert_eq!(outputs, output, "{threads} threads: outputs differ");
            for (i, (a, e)) in grads.weight.iter().zip(expected.weight.iter()).enumerate() {
                assert!(
                    (a - e).abs() < 1e-12,
                    "{threads} threads: weight gradient {i} is {a}, expected {e}"
                );
            }
            for (i, (a, e)) in grads.bias.iter().zip(expected.bias.iter()).enumerate() {
                assert!(
                    (a - e).abs() < 1e-12,
                    "{threads} threads: bias gradient {i} is {a}, expected {e}"
                );
            }
        }
    }

    #[test]
    fn automatic_sub_batches_match_whole_batch() {
        let (net, x, y) = setup();
        let (output, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(0));
        let (expected_loss, grad_out) = MeanSquaredError.loss_and_grad(&output, &y);
        let mut expected: DenseGrads<f64, 5, 3> = bytemuck::Zeroable::zeroed();
        net.accumulate_grads(&trace, &grad_out, &mut expected);

        // 12 samples: sub-batches of 4 on 1 to 3 threads, of 1 on 8 threads.
        for threads in [1, 2, 3, 8] {
            let mut parallel =
                ParallelGrads::<f64, Net, 5, 3>::new(threads).expect("threads start");
            let mut grads: Box<DenseGrads<f64, 5, 3>> = bytemuck::zeroed_box();
            let mut rng = Rng::seed_from_u64(5);
            let (loss, outputs) =
                parallel.accumulate_grads(&net, &x, &y, &MeanSquaredError, &mut rng, &mut grads);
            assert!(
                (loss - expected_loss).abs() < 1e-12,
                "{threads} threads: loss {loss}, expected {expected_loss}"
            );
            assert_eq!(outputs, output, "{threads} threads: outputs differ");
            for (i, (a, e)) in grads.weight.iter().zip(expected.weight.iter()).enumerate() {
                assert!(
                    (a - e).abs() < 1e-12,
                    "{threads} threads: weight gradient {i} is {a}, expected {e}"
                );
            }
        }
    }

    #[test]
    fn empty_batch_adds_nothing() {
        let (net, _, _) = setup();
        let mut parallel = ParallelGrads::<f64, Net, 5, 3>::new(2).expect("threads start");
        let mut grads: Box<DenseGrads<f64, 5, 3>> = bytemuck::zeroed_box();
        let (x, y) = (SMatrix::<f64, 5, 0>::zeros(), SMatrix::<f64, 3, 0>::zeros());
        let (loss, _) = parallel.accumulate_grads(
            &net,
            &x,
            &y,
            &MeanSquaredError,
            &mut Rng::seed_from_u64(1),
            &mut grads,
        );
        assert_eq!(loss, 0.0);
        assert!(
            grads.weight.iter().all(|&g| g == 0.0),
            "gradients changed: {:?}",
            grads.weight
        );
    }

    #[test]
    fn parallel_is_deterministic() {
        for threads in [1, 2, 4] {
            let first = run::<2>(threads);
            let second = run::<2>(threads);
            assert_eq!(
                first.0.to_bits(),
                second.0.to_bits(),
                "{threads} threads: loss differs"
            );
            assert_eq!(first.1, second.1, "{threads} threads: outputs differ");
            assert_eq!(first.2, second.2, "{threads} threads: gradients differ");
        }
    }

    #[test]
    fn parallel_accumulates_into_existing_grads() {
        let (_, _, once) = run::<4>(2);
        let (net, x, y) = setup();
        let mut parallel = ParallelGrads::<f64, Net, 5, 3>::new(2).expect("threads start");
        let mut grads: Box<DenseGrads<f64, 5, 3>> = bytemuck::zeroed_box();
        for _ in 0..2 {
            let mut rng = Rng::seed_from_u64(5);
            parallel.accumulate_grads_in::<_, B, 4>(
                &net,
                &x,
                &y,
                &MeanSquaredError,
                &mut rng,
                &mut grads,
            );
        }
        for (twice, once) in grads.weight.iter().zip(once.weight.iter()) {
            assert!(
                (twice - 2.0 * once).abs() < 1e-12,
                "second step must add to the first: {twice} against 2 * {once}"
            );
        }
    }

    #[test]
    fn zero_threads_is_an_error() {
        let error = ParallelGrads::<f64, Net, 5, 3>::new(0)
            .err()
            .expect("0 threads must fail");
        assert!(matches!(error, ParallelError::NoThreads));
        assert_eq!(
            error.to_string(),
            "parallel training needs at least 1 thread, got 0"
        );
    }
}
