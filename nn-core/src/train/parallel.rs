//! Gradient computation across threads (`std` feature).
//!
//! A step is shared among the threads in one of two ways ([`Split`]). The layer split
//! runs the whole batch on every thread and splits the large dense layers by input
//! columns; [`team`](crate::team) describes it. [`Split::choose`] picks it for small
//! batches. The rest of this page describes the batch split.
//!
//! In the batch split, a batch of `B` samples is cut into `B / S` sub-batches of a constant size `S`, because
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
//! grouping, so its gradients can differ in the last bits. Sub-batch `c` draws its dropout
//! masks from its own generator, seeded from one value drawn from the caller's generator
//! and from `c`, so for a given sub-batch size they do not depend on the thread count.
//! [`accumulate_grads`](ParallelGrads::accumulate_grads) picks the sub-batch size from the
//! thread count, though.
//!
//! `ParallelGrads` is also an [`UpdateRunner`]: an optimizer step given it through
//! [`Optimizer::step_scaled_with`](crate::optim::Optimizer::step_scaled_with) updates each
//! large tensor in one range per thread, on the same threads. `fit` does both when
//! `TrainConfig::threads` is above 1.
//!
//! How the threads wait for each other is chosen while training runs, by timing steps
//! (see [`HANDOVER_CHECK_PERIOD`]): spinning, sleeping, or the calling thread doing all
//! the work itself where other threads only slow it down. The choice never changes the
//! results.
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
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};
use std::vec::Vec;

use nalgebra::SMatrix;

use crate::float::Float;
use crate::layer::Layer;
use crate::loss::Loss;
use crate::optim::{UpdateRunner, UpdateSlices};
use crate::rng::Rng;
use crate::team::{Serial, SharedGrads, Team};

use super::crew::Crew;
use crate::tensors::Tensors;

/// The stack size of the worker threads. A training pass returns its activations and
/// trace by value, so a sub-batch of a large network can need more than the 2 MiB that
/// threads get by default.
pub const WORKER_STACK_BYTES: usize = 16 << 20;

/// The sub-batch sizes [`ParallelGrads::accumulate_grads`] chooses from, largest first.
pub const SUB_BATCH_SIZES: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// The number of values from which a tensor's gradients are summed, and its parameters
/// updated, over threads in parallel. The calling thread handles smaller tensors (biases)
/// alone. On the machine of `BENCHMARKS.md` the Adam update of 16,384 `f32` values takes
/// about 5 µs on one thread. Handing a tensor to a second thread cost about 3 µs there:
/// the update of the 100,352 weights of a 784-128-10 network took 31 µs on one thread and
/// 18 µs on two.
const PARALLEL_MIN: usize = 16 * 1024;

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

/// The way [`ParallelGrads::accumulate_grads`] shares a training step among its threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Split {
    /// Each thread runs the whole network on its sub-batches into its own gradient
    /// buffer, and the buffers are summed (see the [module documentation](self)).
    Batch = 0,
    /// Each thread runs the whole batch, and the large dense layers are split over the
    /// threads by input columns (see [`team`](crate::team)): no gradient buffers to sum,
    /// and each thread keeps its part of the weights in its own core's cache.
    Layers = 1,
}

/// The largest batch for which [`Split::choose`] picks the layer split.
///
/// Measured on the two machines of `BENCHMARKS.md` with `cargo bench --bench
/// parallel_training` (the `interleaved` lines) for a 784-128-10 network on two threads,
/// as speed-ups over one thread with zeroing and the Adam update, as `fit` trains. At
/// 32 samples the layer split gave 1.59 to 1.64 against 1.37 to 1.38 for the batch split
/// in two runs at `f233a00` (AMD EPYC), and 1.55 to 1.61 against 1.13 to 1.15 in two runs
/// at `47a8dbe` (Intel Xeon). At 64 it gave 1.65 to 1.67 against 1.59 to 1.66, and 1.55
/// to 1.61 against 0.90 to 1.41. At 128 the batch split won: 1.66 to 1.68 against 1.56
/// to 1.58, and 1.66 to 1.75 against 1.52 to 1.57. Every thread of the layer split runs
/// the small layers, the activations and the loss on the whole batch: work that grows
/// with the batch and is not shared.
///
/// NOTE: the best limit depends on the machine and the kernels. At `079fbd7`, with the
/// AVX-512 kernels, the Intel Xeon gave the layer split 1.64 to 1.65 at 128 samples
/// against 1.44 to 1.48 for the batch split, so there `fit` takes the slower split.
/// Before `ff2abe7` the Adam update could read after its own writes at the same page
/// offsets and take up to 3 times as long, on one thread or on two. So the speed-ups
/// above may be off in either direction, though both splits share the one-thread step.
/// At `ff2abe7` on the AMD EPYC family 23 machine, criterion gave at 128 samples 1.74
/// (layer split) against 1.88 (batch split) for the step, and 1.73 against 1.69 with
/// zeroing and Adam.
pub const LAYER_SPLIT_MAX_BATCH: usize = 64;

impl Split {
    /// Returns the split [`ParallelGrads::new`] uses for network `N` on
    /// `threads` threads and batches of `batch` samples: [`Split::Layers`] when the layers
    /// that split have at least half of the trainable parameters, the batch has at most
    /// [`LAYER_SPLIT_MAX_BATCH`] samples and the build is optimized, else
    /// [`Split::Batch`].
    ///
    /// The layer split runs the whole batch on the calling thread, where the batch split
    /// runs sub-batches. A build without optimizations keeps every temporary matrix on
    /// the stack: training a 64-320-10 network on batches of 32 with the layer split
    /// overflowed the 2 MiB stack of a test thread there, and ran with 3 MB. Such builds
    /// therefore keep the batch split unless asked for the layer split.
    pub fn choose<T, N, const IN: usize, const OUT: usize>(threads: usize, batch: usize) -> Split
    where
        T: Float,
        N: Layer<T, IN, OUT>,
    {
        let trainable = <N::Grads as Tensors<T>>::PARAMS;
        if threads > 1
            && !cfg!(debug_assertions)
            && batch <= LAYER_SPLIT_MAX_BATCH
            && trainable > 0
            && 2 * N::split_params(threads) >= trainable
        {
            Split::Layers
        } else {
            Split::Batch
        }
    }
}

/// Worker threads and per-thread gradient buffers for [`accumulate_grads`], created once
/// and reused for every batch, so a training step allocates no gradient buffers (only a
/// list of one job per thread).
///
/// [`accumulate_grads`]: ParallelGrads::accumulate_grads
pub struct ParallelGrads<T: Float, N: Layer<T, IN, OUT>, const IN: usize, const OUT: usize> {
    /// The `threads - 1` worker threads; the calling thread does the rest of the work.
    /// `None` for one thread.
    pool: Option<Crew>,
    awake: Awake,
    handover_choice: HandoverChoice,
    /// One gradient buffer for each thread after the first, on the heap. Every value is
    /// zero between steps.
    buffers: Vec<Box<N::Grads>>,
    /// The split the caller asked for; `None` chooses by [`Split::choose`].
    split: Option<Split>,
    /// The split of the last step, which the optimizer update follows.
    last_split: AtomicU8,
    /// The slots in which the threads of a layer split exchange partial results.
    exchange: Exchange<T>,
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
    ///
    /// Each step is shared by the split that [`Split::choose`] picks for its batch size.
    pub fn new(threads: usize) -> Result<Self, ParallelError> {
        Self::start(threads, None)
    }

    /// Like [`new`](Self::new), with every step shared by `split`.
    ///
    /// # Errors
    ///
    /// As for [`new`](Self::new).
    pub fn with_split(threads: usize, split: Split) -> Result<Self, ParallelError> {
        Self::start(threads, Some(split))
    }

    fn start(threads: usize, split: Option<Split>) -> Result<Self, ParallelError> {
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
            Some(Crew::new(pool, threads))
        } else {
            None
        };
        let buffers = (1..threads).map(|_| bytemuck::zeroed_box()).collect();
        Ok(Self {
            pool,
            awake: Awake::new(),
            handover_choice: HandoverChoice::default(),
            buffers,
            split,
            last_split: AtomicU8::new(Split::Batch as u8),
            exchange: Exchange::new(threads),
        })
    }

    /// Returns how [`accumulate_grads`](Self::accumulate_grads) shares a step of `B`
    /// samples among the threads.
    pub fn split_for<const B: usize>(&self) -> Split {
        self.split
            .unwrap_or_else(|| Split::choose::<T, N, IN, OUT>(self.threads(), B))
    }

    /// Returns the split of the last step.
    fn last_split(&self) -> Split {
        if self.last_split.load(Ordering::Relaxed) == Split::Layers as u8 {
            Split::Layers
        } else {
            Split::Batch
        }
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
    ///
    /// # Panics
    ///
    /// When a layer or the loss panics on any thread (the panic reaches the caller), and
    /// in every later call: a panic leaves the threads' shared state unusable, so create a
    /// new `ParallelGrads` to go on.
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
        self.step(net, inputs, targets, loss, rng, grads, false)
    }

    /// Like [`accumulate_grads`](Self::accumulate_grads), but sets `grads` to the batch's
    /// gradients instead of adding to them, as [`fill_zero`](Self::fill_zero) followed by
    /// `accumulate_grads` does, with the same results.
    ///
    /// With the layer split each thread zeroes its own part of the gradients within the
    /// step, which spares handing the zeroing to the threads separately.
    ///
    /// # Panics
    ///
    /// As [`accumulate_grads`](Self::accumulate_grads).
    pub fn compute_grads<L, const B: usize>(
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
        self.step(net, inputs, targets, loss, rng, grads, true)
    }

    /// Runs one step, adding to `grads` or, with `overwrite`, setting them.
    #[allow(clippy::too_many_arguments)]
    fn step<L, const B: usize>(
        &mut self,
        net: &N,
        inputs: &SMatrix<T, IN, B>,
        targets: &SMatrix<T, OUT, B>,
        loss: &L,
        rng: &mut Rng,
        grads: &mut N::Grads,
        overwrite: bool,
    ) -> (T, SMatrix<T, OUT, B>)
    where
        L: Loss<T, OUT> + Sync,
    {
        self.assert_not_poisoned();
        let split = self.split_for::<B>();
        self.last_split.store(split as u8, Ordering::Relaxed);
        if split == Split::Layers && self.pool.is_some() {
            return self.run_layers(net, inputs, targets, loss, rng, grads, overwrite);
        }
        if overwrite {
            self.fill_zero(grads);
        }
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
    /// `S` must divide `B`. Otherwise building the call fails with "the sub-batch size S
    /// must divide the batch size B" when the compiler instantiates it, which `cargo
    /// check` does not do.
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
        self.assert_not_poisoned();
        self.last_split.store(Split::Batch as u8, Ordering::Relaxed);
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
        if let Some(crew) = &self.pool {
            let handover = self.handover_choice.start_step(self.awake.handover());
            self.awake.set_handover(handover);
            crew.set_idle_spin(self.awake.spin_limit());
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
                let target: &mut N::Grads = match first_grads.take() {
                    Some(grads) => grads,
                    None => rest_buffers.next().expect("one buffer per extra thread"),
                };
                jobs.push(Job {
                    first: start,
                    outputs: job_outputs,
                    losses: job_losses,
                    grads: target,
                });
            }

            let poisoned = &self.exchange.poisoned;
            let work = |job: &mut Job<'_, T, N::Grads, OUT, S>| {
                let _guard = PanicGuard(poisoned);
                for (offset, (output, batch_loss)) in job
                    .outputs
                    .iter_mut()
                    .zip(job.losses.iter_mut())
                    .enumerate()
                {
                    let index = job.first + offset;
                    let mut sub_rng = Rng::seed_from_u64(sub_batch_seed(seed, index));
                    let (value, y) =
                        net.accumulate_pass(&inputs[index], &mut sub_rng, job.grads, |y| {
                            let (value, grad_out) = loss.loss_and_grad(y, &targets[index]);
                            (value, grad_out * scale)
                        });
                    *output = y;
                    *batch_loss = value;
                }
            };
            match self.awake.pool(&self.pool) {
                Some(crew) => run_split(crew, jobs, &|mut job: Job<'_, T, N::Grads, OUT, S>| {
                    work(&mut job)
                }),
                None => jobs.into_iter().for_each(|mut job| work(&mut job)),
            }
        }

        self.sum_buffers(threads, grads);
        let mut total = T::zero();
        for &value in &losses[..sub_batches] {
            total += value;
        }
        (total * scale, outputs)
    }

    /// Panics when a thread panicked in an earlier step: the exchange of the layer split
    /// then no longer counts right, and the gradient buffers of the batch split may hold
    /// that step's partial sums.
    fn assert_not_poisoned(&self) {
        assert!(
            !self.exchange.poisoned.load(Ordering::Acquire),
            "a thread panicked in an earlier step of this `ParallelGrads`; create a new one"
        );
    }

    /// Runs one step with the layer split. Every thread runs the whole batch through the
    /// layers' team methods, thread 0 with `rng` itself and the others with copies of it,
    /// so that layers drawing random numbers (dropout) draw the same on every thread.
    #[allow(clippy::too_many_arguments)]
    fn run_layers<L, const B: usize>(
        &mut self,
        net: &N,
        inputs: &SMatrix<T, IN, B>,
        targets: &SMatrix<T, OUT, B>,
        loss: &L,
        rng: &mut Rng,
        grads: &mut N::Grads,
        overwrite: bool,
    ) -> (T, SMatrix<T, OUT, B>)
    where
        L: Loss<T, OUT> + Sync,
    {
        if B == 0 {
            if overwrite {
                grads.fill_zero();
            }
            return (T::zero(), SMatrix::zeros());
        }
        let size = self.threads();
        let handover = self.handover_choice.start_step(self.awake.handover());
        self.awake.set_handover(handover);
        let Some(crew) = self.awake.pool(&self.pool) else {
            // The calling thread plays every member of the team, with the same results.
            let team = Serial {
                size,
                overwrite_grads: overwrite,
            };
            // SAFETY: one thread uses the handle, with a team of which it plays every
            // member.
            return unsafe {
                let shared = SharedGrads::new(grads);
                net.accumulate_pass_team(inputs, rng, shared, &team, |y| {
                    loss.loss_and_grad(y, targets)
                })
            };
        };

        let copies: Vec<Rng> = (1..size).map(|_| rng.clone()).collect();
        let mut result = None;
        let exchange = &self.exchange;
        // SAFETY: each thread below passes the handle only to the network's team methods,
        // with a `Member` of one team whose indices are distinct.
        let shared = unsafe { SharedGrads::new(grads) };
        let work = |job: LayerJob<'_, T, OUT, B>| {
            let LayerJob { index, rng, result } = job;
            let mut copy;
            let rng = match rng {
                TeamRng::Caller(rng) => rng,
                TeamRng::Copy(rng) => {
                    copy = rng;
                    &mut copy
                }
            };
            let _guard = PanicGuard(&exchange.poisoned);
            let member = Member {
                exchange,
                index,
                size,
                overwrite,
            };
            // SAFETY: every thread holding `shared` calls with its own member of one team.
            let done = unsafe {
                net.accumulate_pass_team(inputs, rng, shared, &member, |y| {
                    loss.loss_and_grad(y, targets)
                })
            };
            if let Some(result) = result {
                *result = Some(done);
            }
        };
        let first = LayerJob {
            index: 0,
            rng: TeamRng::Caller(rng),
            result: Some(&mut result),
        };
        let others = copies.into_iter().enumerate().map(|(k, copy)| LayerJob {
            index: k + 1,
            rng: TeamRng::Copy(copy),
            result: None,
        });
        crew.set_idle_spin(self.awake.spin_limit());
        run_split(crew, core::iter::once(first).chain(others), &work);
        result.expect("thread 0 ran its share")
    }

    /// Sets every gradient in `grads` to zero, each large tensor in one range per thread
    /// on the threads that update it (see the [`UpdateRunner`] implementation).
    ///
    /// With the layer split each thread thus finds its part of the gradients in its own
    /// core's cache at the next step. Zeroing them all on the calling thread would move
    /// the other threads' parts into its cache, and back again when they accumulate.
    pub fn fill_zero(&mut self, grads: &mut N::Grads) {
        let threads = self.threads();
        let pool = self.awake.pool(&self.pool);
        for tensor in 0..<N::Grads as Tensors<T>>::COUNT {
            let Some(values) = grads.tensor_mut(tensor) else {
                continue;
            };
            let Some(pool) = pool.filter(|_| values.len() >= PARALLEL_MIN) else {
                values.fill(T::zero());
                continue;
            };
            let range = part_len(values.len(), threads);
            run_split(pool, values.chunks_mut(range), &|part: &mut [T]| {
                part.fill(T::zero())
            });
        }
    }

    /// Adds the buffers of threads `1..threads` to `grads`, each value in thread order, and
    /// zeroes them for the next step. Large tensors are cut into one contiguous range per
    /// thread, which the calling thread and the workers add in parallel.
    ///
    /// Zeroing here, while the values are in cache, keeps it out of the next step, where
    /// a worker that zeroes its buffer first finishes later than the calling thread.
    fn sum_buffers(&mut self, threads: usize, grads: &mut N::Grads) {
        let Self {
            pool,
            awake,
            buffers,
            ..
        } = self;
        let pool = awake.pool(pool);
        for buffer in buffers[..threads - 1].iter_mut() {
            for tensor in 0..<N::Grads as Tensors<T>>::COUNT {
                let (Some(sum), Some(add)) = (grads.tensor_mut(tensor), buffer.tensor_mut(tensor))
                else {
                    continue;
                };
                let Some(pool) = pool.filter(|_| sum.len() >= PARALLEL_MIN) else {
                    add_and_zero(sum, add);
                    continue;
                };
                let range = part_len(sum.len(), threads);
                let parts = sum.chunks_mut(range).zip(add.chunks_mut(range));
                run_split(pool, parts, &|(sum, add)| add_and_zero(sum, add));
            }
        }
    }
}

/// Adds `add` to `sum` value by value and sets `add` to zero.
fn add_and_zero<T: Float>(sum: &mut [T], add: &mut [T]) {
    for (value, added) in sum.iter_mut().zip(add) {
        *value += *added;
        *added = T::zero();
    }
}

impl<T, N, const IN: usize, const OUT: usize> UpdateRunner<T> for ParallelGrads<T, N, IN, OUT>
where
    T: Float,
    N: Layer<T, IN, OUT> + Sync,
    N::Grads: Send + Sync,
{
    /// Cuts a tensor of at least 16,384 values into one contiguous range per thread and
    /// updates the ranges at the same time, the calling thread taking the first. When every
    /// thread had a sub-batch, the ranges are those in which
    /// [`accumulate_grads`](Self::accumulate_grads) summed the tensor's gradients, so on
    /// two threads each half is updated on the core that summed it. Smaller tensors are
    /// updated on the calling thread.
    fn run(&self, slices: UpdateSlices<'_, T>, update: &(dyn Fn(UpdateSlices<'_, T>) + Sync)) {
        let Some(crew) = self.awake.pool(&self.pool) else {
            return update(slices);
        };
        if slices.len() < PARALLEL_MIN {
            return update(slices);
        }
        let range = part_len(slices.len(), self.threads());
        let mut rest = Some(slices);
        let parts = core::iter::from_fn(move || {
            let tail = rest.take().filter(|tail| !tail.is_empty())?;
            let (part, after) = tail.split_at(range);
            rest = Some(after);
            Some(part)
        });
        run_split(crew, parts, &|part: UpdateSlices<'_, T>| {
            // In the layer split each thread read only its own columns of the large
            // tensors, which its core should keep. After the batch split, evicting the
            // lines helps on some machines and costs a lot on others, so the hand-over
            // check times both.
            if self.last_split() == Split::Batch && self.awake.handover() == Handover::SpinEvict {
                evict_cache_lines(part.params);
            }
            update(part);
        });
    }
}

/// Writes back and evicts the cache lines of `values` from the caches of every core, on
/// x86-64 (`clflush`); does nothing on other targets. The values stay the same.
///
/// In the batch split every thread reads all weights in the training pass, so at the
/// update each core has shared copies of the weights that another core is about to
/// write. The `handover` line of `cargo bench --bench parallel_training` times
/// overwriting 400 KB in that state, with and without flushing the lines first. The two
/// virtual machines of `BENCHMARKS.md` disagree. On the AMD EPYC one, overwriting took
/// 150 to 180 µs without the flush and 26 µs with it. On the Intel Xeon one it took 21 µs
/// without the flush, and the flush alone 1.3 to 1.4 ms. [`HandoverChoice`] therefore times steps with and without the flush
/// ([`Handover::SpinEvict`] and [`Handover::Spin`]) and keeps the faster.
fn evict_cache_lines<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        const LINE_BYTES: usize = 64;
        let start = values.as_ptr() as usize;
        let end = start + core::mem::size_of_val(values);
        let mut line = start & !(LINE_BYTES - 1);
        while line < end {
            // SAFETY: `line` is in a cache line that `values` overlaps, so its page is
            // mapped. `clflush` writes the line back and drops it, changing no value.
            unsafe { core::arch::x86_64::_mm_clflush(line as *const u8) };
            line += LINE_BYTES;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Returns the length of the ranges into which a tensor of `len` values is cut for
/// `threads` threads: the last range may be shorter.
/// The generator a thread of the layer split draws from: the caller's own for thread 0,
/// a copy of it for the others.
enum TeamRng<'a> {
    Caller(&'a mut Rng),
    Copy(Rng),
}

/// One thread's share of a layer-split step.
struct LayerJob<'a, T: Float, const OUT: usize, const B: usize> {
    index: usize,
    rng: TeamRng<'a>,
    /// The place for thread 0's loss and outputs.
    result: Option<&'a mut Option<(T, SMatrix<T, OUT, B>)>>,
}

/// The slots in which the threads of a layer split exchange partial results, and the
/// count of their arrivals.
///
/// There are two slots per thread, used in turn by successive calls of
/// [`Team::all_reduce`]. A thread can write the slot of call `k + 2` only after every
/// thread has arrived at call `k + 1`, which is after every thread has finished reading
/// the slots of call `k`.
struct Exchange<T> {
    /// Slot `parity * threads + index` contains thread `index`'s values of the calls with
    /// that parity.
    ///
    /// Read-write locks, because every thread reads every slot of a call at the same
    /// time: with mutexes the readers contended, and a thread that lost the race slept
    /// in the kernel. Waking it took longer than the whole exchange.
    slots: Vec<RwLock<Vec<T>>>,
    /// The number of calls of `all_reduce` so far, over all threads.
    arrived: AtomicUsize,
    /// The number of calls each thread has made so far.
    calls: Vec<AtomicUsize>,
    /// Set when a thread panicked in a step of either split. In the layer split its
    /// partners would otherwise wait for it forever, and the counts no longer match. In
    /// the batch split its gradient buffer may contain partial sums. Either way the
    /// `ParallelGrads` stays unusable.
    poisoned: AtomicBool,
}

/// Marks the exchange as poisoned when dropped during a panic.
struct PanicGuard<'a>(&'a AtomicBool);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Release);
        }
    }
}

impl<T: Float> Exchange<T> {
    fn new(threads: usize) -> Self {
        Self {
            slots: (0..2 * threads).map(|_| RwLock::new(Vec::new())).collect(),
            arrived: AtomicUsize::new(0),
            calls: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
            poisoned: AtomicBool::new(false),
        }
    }
}

/// Thread `index`'s view of a team of `size` threads that share an [`Exchange`].
struct Member<'a, T> {
    exchange: &'a Exchange<T>,
    index: usize,
    size: usize,
    /// The value of [`Team::overwrite_grads`].
    overwrite: bool,
}

/// Spins until `counter` reaches `value`, yielding the core after a while: a partner
/// thread that has not started yet, or whose core the host took away, may take long.
///
/// # Panics
///
/// When `poisoned` is set: another thread panicked and will never arrive.
fn wait_until(counter: &AtomicUsize, value: usize, poisoned: &AtomicBool) {
    let mut spins = 0u32;
    while counter.load(Ordering::Acquire) < value {
        assert!(
            !poisoned.load(Ordering::Acquire),
            "another thread of the layer split panicked"
        );
        if spins < 20_000 {
            spins += 1;
            core::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

// SAFETY: `ParallelGrads::run_layers` gives each thread a `Member` with its own index, from
// 0 to `size - 1`, and the same `size`.
unsafe impl<T: Float> Team<T> for Member<'_, T> {
    fn index(&self) -> usize {
        self.index
    }

    fn size(&self) -> usize {
        self.size
    }

    fn overwrite_grads(&self) -> bool {
        self.overwrite
    }

    fn all_reduce(&self, values: &mut [T]) {
        let exchange = self.exchange;
        let call = exchange.calls[self.index].fetch_add(1, Ordering::Relaxed);
        let slots = &exchange.slots[(call % 2) * self.size..][..self.size];
        // Only the slot's thread writes it, while no thread reads it (see `Exchange`).
        fn read<T>(slot: &RwLock<Vec<T>>) -> std::sync::RwLockReadGuard<'_, Vec<T>> {
            slot.read().unwrap_or_else(PoisonError::into_inner)
        }
        {
            let mut own = slots[self.index]
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            own.clear();
            own.extend_from_slice(values);
        }
        exchange.arrived.fetch_add(1, Ordering::AcqRel);
        wait_until(
            &exchange.arrived,
            (call + 1) * self.size,
            &exchange.poisoned,
        );
        if let [first, second] = slots {
            // Two threads, the common case: one pass over both slots.
            let (first, second) = (read(first), read(second));
            for ((sum, &a), &b) in values.iter_mut().zip(first.iter()).zip(second.iter()) {
                *sum = a + b;
            }
            return;
        }
        values.copy_from_slice(&read(&slots[0]));
        for slot in &slots[1..] {
            for (sum, &value) in values.iter_mut().zip(read(slot).iter()) {
                *sum += value;
            }
        }
    }
}

fn part_len(len: usize, threads: usize) -> usize {
    len.div_ceil(threads.max(1)).max(1)
}

/// Runs `work(job)` for every job of `jobs`, the first on the calling thread and the
/// others on the crew's workers, and returns when all have finished. With more jobs than
/// threads, thread `i` takes jobs `i`, `i + size`, and so on.
fn run_split<J, W>(crew: &Crew, jobs: impl IntoIterator<Item = J>, work: &W)
where
    J: Send,
    W: Fn(J) + Sync,
{
    let slots: Vec<Mutex<Option<J>>> = jobs.into_iter().map(|job| Mutex::new(Some(job))).collect();
    let size = crew.size();
    crew.run(&|index| {
        for slot in slots.iter().skip(index).step_by(size) {
            let job = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(job) = job {
                work(job);
            }
        }
    });
}

/// The sub-batches one thread runs, and where it writes their results.
struct Job<'a, T: Float, G, const OUT: usize, const S: usize> {
    /// The index of the first sub-batch.
    first: usize,
    outputs: &'a mut [SMatrix<T, OUT, S>],
    losses: &'a mut [T],
    /// The caller's gradients for the first thread, else the thread's buffer, which
    /// [`ParallelGrads::sum_buffers`] left zeroed.
    grads: &'a mut G,
}

/// How long idle worker threads wait for the next job by spinning before they let rayon
/// put them to sleep, when [`ParallelGrads`] hands work over by spinning. The calling
/// thread always spins while it waits for the workers.
///
/// Rayon puts idle workers to sleep within microseconds, and waking one is slow on some
/// machines. On the 2-core virtual machine of `BENCHMARKS.md`, a 32-sample step of a
/// 784-128-10 network took 210 to 220 us on two threads whose worker slept between the
/// phases of a step, against 150 us on one thread and 115 to 125 us with spinning. That
/// puts the cost of a wake-up there at an estimated 50 to 130 us. Spinning between steps
/// is what OpenMP runtimes do by default for the same reason. It costs CPU time only while
/// the calling thread does something else between steps, such as updating small tensors
/// and gathering and zeroing the next batch. That took 20 to 30 us per step in
/// `benches/mnist_epoch.rs` on the machine of `BENCHMARKS.md`, well within this limit.
pub const KEEP_AWAKE: Duration = Duration::from_micros(250);

/// The number of steps after which [`ParallelGrads`] times a few steps with each way of
/// handing work to its threads and keeps the fastest until the next check.
///
/// The three ways are spinning threads, sleeping threads, and no hand-over at all: the
/// calling thread runs every thread's share itself, in the same order into the same
/// buffers, so the results are the same bits. Spinning is fastest when each thread has a
/// core to itself. When two threads share a core, a spinning thread takes the time of the
/// thread it waits for. Linux wakes a thread near the thread that woke it. On the machine
/// of `BENCHMARKS.md` a thread started for each trial of a loop of multiply-adds shared
/// the starting thread's core for the whole 10 ms trial in 0 to 8 of 20 trials, while a
/// thread kept spinning almost never did (`cargo bench --bench parallel_training`,
/// `core scaling` lines). Rayon's workers sleep when idle, so a wake-up can land a worker
/// on the calling thread's core. Steps with a 1 ms spin limit then took 3.3 ms against
/// 0.27 ms with sleeping threads, and an MNIST epoch on two spinning threads took 0.6 to
/// 1.4 s against 0.4 s on one. Another process that keeps a core busy does the same.
/// Pinning the workers to cores of their own did not help reliably there: in alternating
/// runs the pinned build was sometimes slower than one thread.
pub const HANDOVER_CHECK_PERIOD: u64 = 2048;

/// The number of steps timed each way at every check of [`HANDOVER_CHECK_PERIOD`].
const HANDOVER_CHECK_STEPS: usize = 8;

/// The way [`ParallelGrads`] hands work to its worker threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handover {
    /// The calling thread runs all work itself.
    Inline = 0,
    /// Idle workers sleep at once.
    Sleep = 1,
    /// Idle workers spin for up to [`KEEP_AWAKE`] before they sleep.
    Spin = 2,
    /// As `Spin`, and after a batch-split step each thread evicts its range of a large
    /// tensor from every cache before it updates it (see [`evict_cache_lines`]).
    SpinEvict = 3,
}

impl Handover {
    /// The ways in the order a check times them.
    const ALL: [Handover; 4] = [
        Handover::Inline,
        Handover::Sleep,
        Handover::Spin,
        Handover::SpinEvict,
    ];
}

/// Times steps with each [`Handover`] and chooses the fastest.
///
/// The first `4 * HANDOVER_CHECK_STEPS` steps of each period of [`HANDOVER_CHECK_PERIOD`]
/// run `HANDOVER_CHECK_STEPS` steps each way, in the order of [`Handover::ALL`]. The next
/// step takes the way whose median step was shortest, which the rest of the period keeps
/// unless `HANDOVER_CHECK_STEPS` steps in a row take more than twice that median: then a
/// new period starts at once. A step lasts from the start of one
/// [`ParallelGrads::accumulate_grads`] call to the start of the next, so it includes the
/// caller's work between them, such as the optimizer update. The choice changes who
/// computes what when, never what is computed.
#[derive(Default)]
struct HandoverChoice {
    /// The number of steps started in the current period.
    steps: u64,
    /// When the last step started.
    last_start: Option<Instant>,
    /// The durations of the timed steps, one row per way of [`Handover::ALL`].
    durations: [[Duration; HANDOVER_CHECK_STEPS]; Handover::ALL.len()],
    /// The median step of the chosen way.
    chosen_median: Duration,
    /// The number of steps in a row since the choice that took more than twice
    /// `chosen_median`.
    slow_steps: usize,
}

impl HandoverChoice {
    /// Records the start of a step and returns its way of handing over work, given the
    /// last step's.
    fn start_step(&mut self, last: Handover) -> Handover {
        self.start_step_at(last, Instant::now())
    }

    /// [`start_step`](Self::start_step) for a step that starts at `now`.
    fn start_step_at(&mut self, last: Handover, now: Instant) -> Handover {
        const CHECK_END: usize = Handover::ALL.len() * HANDOVER_CHECK_STEPS;
        let mut position = (self.steps % HANDOVER_CHECK_PERIOD) as usize;
        if let Some(last_start) = self.last_start.replace(now)
            && position > 0
        {
            // The step that ends now started at `position - 1`.
            let ended = position - 1;
            let took = now - last_start;
            if ended < CHECK_END {
                let row = ended / HANDOVER_CHECK_STEPS;
                self.durations[row][ended % HANDOVER_CHECK_STEPS] = took;
            } else if took > 2 * self.chosen_median {
                self.slow_steps += 1;
            } else {
                self.slow_steps = 0;
            }
        }
        if position > CHECK_END && self.slow_steps >= HANDOVER_CHECK_STEPS {
            position = 0;
            self.steps = 0;
            self.slow_steps = 0;
        }
        self.steps += 1;

        if position < CHECK_END {
            return Handover::ALL[position / HANDOVER_CHECK_STEPS];
        }
        if position > CHECK_END {
            return last;
        }
        let mut best = Handover::Spin;
        let mut best_median = median(self.durations[Handover::Spin as usize]);
        for way in [Handover::SpinEvict, Handover::Sleep, Handover::Inline] {
            let way_median = median(self.durations[way as usize]);
            if way_median < best_median {
                (best, best_median) = (way, way_median);
            }
        }
        self.chosen_median = best_median;
        best
    }
}

/// Returns the median of `durations`, the upper one of the middle two.
fn median(mut durations: [Duration; HANDOVER_CHECK_STEPS]) -> Duration {
    durations.sort_unstable();
    durations[HANDOVER_CHECK_STEPS / 2]
}

/// The way [`ParallelGrads`] hands work to its threads, which [`HandoverChoice`] changes
/// while training runs.
struct Awake {
    /// The current [`Handover`], as its number.
    handover: AtomicU8,
}

impl Awake {
    /// Starts with spinning threads.
    fn new() -> Self {
        Self {
            handover: AtomicU8::new(Handover::Spin as u8),
        }
    }

    /// Returns the current way of handing over work.
    fn handover(&self) -> Handover {
        match self.handover.load(Ordering::Relaxed) {
            0 => Handover::Inline,
            1 => Handover::Sleep,
            2 => Handover::Spin,
            _ => Handover::SpinEvict,
        }
    }

    /// Sets the way of handing over work for the following phases.
    fn set_handover(&self, handover: Handover) {
        self.handover.store(handover as u8, Ordering::Relaxed);
    }

    /// Returns `crew`, or `None` when the calling thread runs all work itself.
    fn pool<'p>(&self, crew: &'p Option<Crew>) -> Option<&'p Crew> {
        crew.as_ref()
            .filter(|_| self.handover() != Handover::Inline)
    }

    /// Returns how long idle workers wait for the next job before their threads sleep:
    /// [`KEEP_AWAKE`] when spinning, else zero.
    fn spin_limit(&self) -> Duration {
        if matches!(self.handover(), Handover::Spin | Handover::SpinEvict) {
            KEEP_AWAKE
        } else {
            Duration::ZERO
        }
    }
}

/// Returns the dropout seed of sub-batch `index` of a step whose drawn seed is `seed`.
fn sub_batch_seed(seed: u64, index: usize) -> u64 {
    seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::layers::{Dense, DenseGrads};
    use crate::loss::MeanSquaredError;
    use crate::optim::{Adam, AdamConfig, Optimizer, SingleThread};

    type Net = Dense<f64, 5, 3>;
    const B: usize = 12;

    fn setup() -> (Net, SMatrix<f64, 5, B>, SMatrix<f64, 3, B>) {
        let mut net: Net = bytemuck::Zeroable::zeroed();
        let mut rng = Rng::seed_from_u64(11);
        net.init(&mut rng);
        net.bias.as_mut_slice().fill(0.25);
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
    fn runner_cuts_large_tensors_per_thread() {
        let mut params = std::vec![0.0f64; 20_000];
        let grads = std::vec![1.0f64; 20_000];
        for threads in [1, 2, 3] {
            let parallel = ParallelGrads::<f64, Net, 5, 3>::new(threads).expect("threads start");
            let calls = AtomicUsize::new(0);
            let values = AtomicUsize::new(0);
            let count = |part: UpdateSlices<'_, f64>| {
                calls.fetch_add(1, Ordering::Relaxed);
                values.fetch_add(part.len(), Ordering::Relaxed);
                for (p, g) in part.params.iter_mut().zip(part.grads) {
                    *p += g;
                }
            };
            let runner: &dyn UpdateRunner<f64> = &parallel;
            let slices = UpdateSlices {
                params: &mut params,
                grads: &grads,
                state: [&mut [], &mut [], &mut []],
            };
            runner.run(slices, &count);
            assert_eq!(calls.load(Ordering::Relaxed), threads, "{threads} threads");
            assert_eq!(values.load(Ordering::Relaxed), 20_000, "{threads} threads");

            calls.store(0, Ordering::Relaxed);
            let small = UpdateSlices {
                params: &mut params[..100],
                grads: &grads[..100],
                state: [&mut [], &mut [], &mut []],
            };
            runner.run(small, &count);
            assert_eq!(
                calls.load(Ordering::Relaxed),
                1,
                "a small tensor must stay whole"
            );
        }
        // Three runs over all values and three over the first 100 add 1 each time.
        let expected = [6.0, 3.0];
        assert_eq!(
            [params[0], params[100]],
            expected,
            "every value updated once per call"
        );
    }

    #[test]
    fn parallel_adam_matches_single_thread() {
        type Wide = Dense<f32, 160, 128>;
        type WideGrads = DenseGrads<f32, 160, 128>;
        let mut rng = Rng::seed_from_u64(3);
        let mut layer: Box<Wide> = bytemuck::zeroed_box();
        layer.init(&mut rng);
        let mut grads: Box<WideGrads> = bytemuck::zeroed_box();
        for value in grads.weight.iter_mut().chain(grads.bias.iter_mut()) {
            *value = rng.uniform(-1.0, 1.0);
        }
        let config = AdamConfig {
            weight_decay: 0.01,
            ..AdamConfig::default()
        };
        for threads in [2, 3] {
            let parallel =
                ParallelGrads::<f32, Wide, 160, 128>::new(threads).expect("threads start");
            let (mut one, mut many) = (layer.clone(), layer.clone());
            let mut one_adam = Adam::<WideGrads, Box<WideGrads>>::new_boxed(config).unwrap();
            let mut many_adam = Adam::<WideGrads, Box<WideGrads>>::new_boxed(config).unwrap();
            for _ in 0..3 {
                one_adam
                    .step_scaled_with(&mut *one, &*grads, &|_| Some(1.0), &SingleThread)
                    .unwrap();
                many_adam
                    .step_scaled_with(&mut *many, &*grads, &|_| Some(1.0), &parallel)
                    .unwrap();
            }
            assert!(one == many, "{threads} threads: parameters differ");
            assert!(
                one_adam.second_moment() == many_adam.second_moment(),
                "{threads} threads: second moments differ"
            );
            assert!(*one != *layer, "the steps changed nothing");
        }
    }

    /// Runs `steps` steps of `choice`, sleeping in each step for as long as `pause`
    /// returns for its way, and returns the ways in order.
    /// Runs `steps` steps through `choice` on a simulated clock that starts at `clock`,
    /// each step lasting `pause(way)`, and returns the ways chosen.
    fn run_choice(
        choice: &mut HandoverChoice,
        clock: &mut Instant,
        steps: usize,
        pause: impl Fn(Handover) -> Duration,
    ) -> Vec<Handover> {
        let mut last = Handover::Spin;
        let mut ways = Vec::with_capacity(steps);
        for _ in 0..steps {
            last = choice.start_step_at(last, *clock);
            ways.push(last);
            *clock += pause(last);
        }
        ways
    }

    #[test]
    fn handover_check_times_each_way_then_keeps_fastest() {
        let mut choice = HandoverChoice::default();
        // Sleeping threads are the fast way here; the others take 3 ms per step.
        let pause = |way| match way {
            Handover::Sleep => Duration::ZERO,
            _ => Duration::from_millis(3),
        };
        let mut clock = Instant::now();
        let ways = run_choice(&mut choice, &mut clock, 4 * HANDOVER_CHECK_STEPS + 5, pause);
        let n = HANDOVER_CHECK_STEPS;
        assert!(ways[..n].iter().all(|&w| w == Handover::Inline), "{ways:?}");
        assert!(
            ways[n..2 * n].iter().all(|&w| w == Handover::Sleep),
            "{ways:?}"
        );
        assert!(
            ways[2 * n..3 * n].iter().all(|&w| w == Handover::Spin),
            "{ways:?}"
        );
        assert!(
            ways[3 * n..4 * n].iter().all(|&w| w == Handover::SpinEvict),
            "{ways:?}"
        );
        assert!(
            ways[4 * n..].iter().all(|&w| w == Handover::Sleep),
            "the fastest way must be kept: {ways:?}"
        );
    }

    #[test]
    fn slow_steps_restart_the_check() {
        let mut choice = HandoverChoice::default();
        let pause = |way| match way {
            Handover::Spin => Duration::from_millis(1),
            _ => Duration::from_millis(4),
        };
        let mut clock = Instant::now();
        let checked = run_choice(&mut choice, &mut clock, 4 * HANDOVER_CHECK_STEPS + 1, pause);
        assert_eq!(checked.last(), Some(&Handover::Spin));
        // Spinning turns slow: after HANDOVER_CHECK_STEPS slow steps a new check starts.
        let slow = run_choice(&mut choice, &mut clock, HANDOVER_CHECK_STEPS + 1, |_| {
            Duration::from_millis(4)
        });
        assert!(
            slow[..HANDOVER_CHECK_STEPS]
                .iter()
                .all(|&w| w == Handover::Spin),
            "{slow:?}"
        );
        assert_eq!(
            slow[HANDOVER_CHECK_STEPS],
            Handover::Inline,
            "a new check must start: {slow:?}"
        );
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
