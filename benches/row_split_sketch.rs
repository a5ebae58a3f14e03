//! The gain of splitting the layers of a 784-128-10 network over two threads in
//! training, by the library's two splits and by a hand-built row split.
//!
//! A one-hidden-layer perceptron with 128 hidden units computes the sum of two
//! perceptrons with 64 hidden units each, whose output biases add up. Training the two
//! halves on two threads, each thread keeping its half of the weights, gradients and Adam
//! moments, is therefore a row split of both layers. The threads exchange only their
//! 10 x B partial outputs, and the loss gradient of the summed output is the output
//! gradient of both halves. Each half's output bias thus receives the gradient of the
//! whole output bias, so with a learning rate above 0 the summed bias would move twice
//! as far per step as in the full network. The sketch trains with rate 0 (see
//! `still_adam`), so the timings are unaffected. The library's layer split
//! (`Split::Layers`) cuts only the large first layer, by input columns, and runs the
//! small output layer whole on both threads. The sketch shows what splitting every layer
//! would add.
//!
//! Five ways of training on batches of 32 MNIST-sized random inputs. Each step sets the
//! gradients with one training pass (forward pass, loss and backward pass), as `fit`
//! does. The pass overwrites the gradients instead of adding to zeroed ones. The program
//! times each way twice, once with the step alone and once followed by the Adam update:
//!
//! - `sequential`: the 784-128-10 network on the calling thread;
//! - `batch split`: the same network through `ParallelGrads` with `Split::Batch` on two
//!   threads, which also cuts the Adam update of the large weight tensor in two;
//! - `layer split`: the same with `Split::Layers`, which `fit` chooses for this network
//!   and batch size;
//! - `row split`: the two 784-64-10 halves on two threads, synchronised by spinning;
//! - `one half`: one 784-64-10 half alone on the calling thread, the row split's limit.
//!
//! Rounds of 500 timed steps alternate between the five, so a change in the machine's
//! load affects all of them. Each round starts with 64 untimed steps, which cover the 32
//! steps in which a new `ParallelGrads` times its ways of handing work to its threads.
//! The program prints the median step time of each way over the rounds and the
//! speed-ups over `sequential`.
//!
//! Then it times what keeping the two halves in the library's one `Dense` layer would
//! cost (`gradient_bands`): two threads set the first layer's weight gradient of their
//! 64 rows, either into a matrix each or into their rows of one shared 128 x 784
//! matrix, which starts on a page, 64 bytes after one or 16 bytes after one. On the
//! matrix that starts on a page, and on the threads' own matrices, it also times the
//! kernel called once per block of 98 columns. Then it times what the optimizer update
//! of that layer would cost (`update_cuts`). Two threads each update half of the
//! weights, gradient and Adam moments: in matrices of their own, as rows of shared
//! matrices, or as contiguous halves of them. Last, it times the first layer's whole
//! cycle in a row split (`layer_cycles`): forward product, weight gradient and update,
//! in blocks of each thread's own or in shared matrices updated in contiguous halves.
//! Run with `cargo bench --bench row_split_sketch`.

use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use static_nn::core::bytemuck;
use static_nn::core::kernel::blocked;
use static_nn::core::optim::SingleThread;
use static_nn::core::team::{Serial, SharedGrads};
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
    struct Full<f32> {
        input: [784],
        hidden: Dense(128), Relu,
        out: Dense(10),
    }
}

network! {
    /// One half of the row split: 64 of the 128 hidden units and their output weights.
    struct Half<f32> {
        input: [784],
        hidden: Dense(64), Relu,
        out: Dense(10),
    }
}

/// The batch size.
const B: usize = 32;

/// The steps of one round of one way.
#[derive(Clone, Copy)]
struct Steps {
    /// Steps run before the clock starts.
    untimed: usize,
    /// Steps timed after them.
    timed: usize,
}

impl Steps {
    /// Runs `step` with the index of every step of the round and returns the mean time
    /// of the timed steps in microseconds.
    fn time(self, mut step: impl FnMut(usize)) -> f64 {
        let mut started = Instant::now();
        for index in 0..self.untimed + self.timed {
            if index == self.untimed {
                started = Instant::now();
            }
            step(index);
        }
        started.elapsed().as_secs_f64() / self.timed as f64 * 1e6
    }
}

/// Returns a batch of inputs in `[0, 1)` and one-hot targets.
fn batch() -> (Box<SMatrix<f32, 784, B>>, Box<SMatrix<f32, 10, B>>) {
    let mut rng = Rng::seed_from_u64(7);
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

/// Spins until `counter` reaches `value`.
///
/// NOTE: nothing stops the spinning when the other thread panics, so a panic in a step
/// of the row split hangs the program instead of ending it.
fn wait_for(counter: &AtomicUsize, value: usize) {
    while counter.load(Ordering::Acquire) < value {
        std::hint::spin_loop();
    }
}

/// Runs one training pass of `net` on the calling thread and sets `grads` to its
/// gradients, as `fit` does on one thread. `output_grad` turns the outputs into the loss
/// and its gradient.
fn compute_grads<N, F>(
    net: &N,
    inputs: &SMatrix<f32, 784, B>,
    rng: &mut Rng,
    grads: &mut N::Grads,
    output_grad: F,
) -> f32
where
    N: Layer<f32, 784, 10>,
    F: FnOnce(&SMatrix<f32, 10, B>) -> (f32, SMatrix<f32, 10, B>),
{
    let team = Serial {
        size: 1,
        overwrite_grads: true,
    };
    // SAFETY: one thread uses the handle, with a team of one member.
    let (loss, _) = unsafe {
        net.accumulate_pass_team(inputs, rng, SharedGrads::new(grads), &team, output_grad)
    };
    loss
}

/// Trains the full network for one round of `steps` on the calling thread, with the Adam
/// update if `adam` is set, and returns the mean time of a timed step in microseconds.
fn sequential(
    adam: bool,
    inputs: &SMatrix<f32, 784, B>,
    targets: &SMatrix<f32, 10, B>,
    steps: Steps,
) -> f64 {
    let mut net = Full::new_boxed(1);
    let mut grads = Full::zero_grads_boxed();
    let mut optimizer = Adam::new_boxed(still_adam()).expect("valid settings");
    let mut rng = Rng::seed_from_u64(1);
    steps.time(|_| {
        let loss = compute_grads(&*net, inputs, &mut rng, &mut grads, |outputs| {
            SoftmaxCrossEntropy.loss_and_grad(outputs, targets)
        });
        if adam {
            optimizer
                .step_scaled_with(&mut *net, &*grads, &|_| Some(1.0), &SingleThread)
                .expect("matching tensors");
        }
        black_box(loss);
    })
}

/// Trains the full network for one round of `steps` with `split` of `ParallelGrads` on
/// two threads, with the Adam update if `adam` is set, and returns the mean time of a
/// timed step in microseconds.
fn library_split(
    split: Split,
    adam: bool,
    inputs: &SMatrix<f32, 784, B>,
    targets: &SMatrix<f32, 10, B>,
    steps: Steps,
) -> f64 {
    let mut net = Full::new_boxed(1);
    let mut grads = Full::zero_grads_boxed();
    let mut optimizer = Adam::new_boxed(still_adam()).expect("valid settings");
    let mut two =
        ParallelGrads::<f32, Full, 784, 10>::with_split(2, split).expect("2 threads start");
    let mut rng = Rng::seed_from_u64(1);
    steps.time(|_| {
        let (loss, _) = two.compute_grads(
            &*net,
            inputs,
            targets,
            &SoftmaxCrossEntropy,
            &mut rng,
            &mut grads,
        );
        if adam {
            optimizer
                .step_scaled_with(&mut *net, &*grads, &|_| Some(1.0), &two)
                .expect("matching tensors");
        }
        black_box(loss);
    })
}

/// The state one thread of the row split keeps to itself.
struct HalfState {
    net: Box<Half>,
    grads: Box<HalfGrads>,
    adam: Adam<HalfGrads, Box<HalfGrads>>,
    rng: Rng,
}

impl HalfState {
    fn new(seed: u64) -> Self {
        Self {
            net: Half::new_boxed(seed),
            grads: Half::zero_grads_boxed(),
            adam: Adam::new_boxed(still_adam()).expect("valid settings"),
            rng: Rng::seed_from_u64(seed),
        }
    }
}

/// The data the two threads of the row split share: their partial outputs and the count
/// of those published. [`in_lockstep`] keeps each thread from starting a step before the
/// other has read the previous step's partial outputs.
struct Exchange {
    partial_outputs: [Mutex<SMatrix<f32, 10, B>>; 2],
    /// Partial outputs published, two per step.
    published: AtomicUsize,
}

impl Exchange {
    fn new() -> Self {
        Exchange {
            partial_outputs: [Mutex::new(SMatrix::zeros()), Mutex::new(SMatrix::zeros())],
            published: AtomicUsize::new(0),
        }
    }
}

/// Runs `worker(step)` on a second thread and `caller(step)` on the calling thread for
/// every step of `steps`, and returns the mean time of a timed step in microseconds.
///
/// The worker starts a step only after the calling thread has started it, and the
/// calling thread starts the next step only after the worker has finished this one.
fn in_lockstep(
    steps: Steps,
    mut worker: impl FnMut(usize) + Send,
    mut caller: impl FnMut(usize),
) -> f64 {
    let (started, finished) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        let (started, finished) = (&started, &finished);
        scope.spawn(move || {
            for step in 0..steps.untimed + steps.timed {
                wait_for(started, step + 1);
                worker(step);
                finished.fetch_add(1, Ordering::Release);
            }
        });
        steps.time(|step| {
            started.fetch_add(1, Ordering::Release);
            caller(step);
            wait_for(finished, step + 1);
        })
    })
}

/// Runs step `step` of half `index`: its forward pass, the exchange of partial outputs,
/// the loss gradient of their sum and its backward pass, then its Adam update if `adam`
/// is set.
fn half_step(
    state: &mut HalfState,
    index: usize,
    step: usize,
    adam: bool,
    exchange: &Exchange,
    inputs: &SMatrix<f32, 784, B>,
    targets: &SMatrix<f32, 10, B>,
) {
    let HalfState {
        net,
        grads,
        adam: optimizer,
        rng,
    } = state;
    let loss = compute_grads(&**net, inputs, rng, grads, |partial| {
        *exchange.partial_outputs[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = *partial;
        exchange.published.fetch_add(1, Ordering::AcqRel);
        wait_for(&exchange.published, 2 * (step + 1));

        // Both threads add the halves in the same order, so they see the same output.
        let read = |k: usize| {
            *exchange.partial_outputs[k]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        let outputs = read(0) + read(1);
        SoftmaxCrossEntropy.loss_and_grad(&outputs, targets)
    });
    if adam {
        optimizer
            .step(&mut **net, &**grads)
            .expect("matching tensors");
    }
    black_box(loss);
}

/// Trains the two halves for one round of `steps` on two threads, with the Adam update
/// if `adam` is set, and returns the mean time of a timed step in microseconds.
fn row_split(
    adam: bool,
    inputs: &SMatrix<f32, 784, B>,
    targets: &SMatrix<f32, 10, B>,
    steps: Steps,
) -> f64 {
    let exchange = Exchange::new();
    let mut first = HalfState::new(1);
    let mut second = HalfState::new(2);
    let exchange = &exchange;
    in_lockstep(
        steps,
        |step| half_step(&mut second, 1, step, adam, exchange, inputs, targets),
        |step| half_step(&mut first, 0, step, adam, exchange, inputs, targets),
    )
}

/// Trains one half alone on the calling thread, as its thread does in the row split but
/// without waiting for a partner, and returns the mean time of a timed step in
/// microseconds: the best the row split can reach.
fn one_half(
    adam: bool,
    inputs: &SMatrix<f32, 784, B>,
    targets: &SMatrix<f32, 10, B>,
    steps: Steps,
) -> f64 {
    let exchange = Exchange::new();
    let mut state = HalfState::new(1);
    steps.time(|step| {
        // Publish the missing partner's output, so the half never waits.
        exchange.published.fetch_add(1, Ordering::AcqRel);
        half_step(&mut state, 0, step, adam, &exchange, inputs, targets);
    })
}

/// The matrices into which the threads of [`gradient_bands`] write the weight gradients
/// of their bands. Each matrix starts on a 4 KiB page, except with `StraddledPairs` and
/// `Misaligned`. The gradients of a `Dense` layer start on a 64-byte cache line.
#[derive(Clone, Copy, PartialEq)]
enum Bands {
    /// Each thread into a 64 x 784 matrix of its own, as each half of the row split
    /// keeps it.
    OwnBlocks,
    /// Both threads into one 128 x 784 column-major matrix, each into its 64 rows of
    /// every column, as threads splitting one `Dense` layer by rows would. A column is
    /// 512 bytes, so each thread writes four whole cache lines of it. The matrix starts
    /// on a 4 KiB page, so each aligned 128-byte pair of lines, which the adjacent-line
    /// prefetcher fetches together, lies in the rows of one thread.
    SharedMatrix,
    /// As `SharedMatrix`, with the matrix starting 64 bytes after a page: two of the
    /// 128-byte pairs of every column hold a line of each thread.
    StraddledPairs,
    /// As `SharedMatrix`, with each thread calling the kernel once per block of 98
    /// columns ([`COLUMN_BLOCKS`] blocks). The kernel's tiles are 32 rows high with
    /// AVX-512 `f32` (16 with AVX2), so each thread then writes all its row tiles of a
    /// block's columns before the next block, instead of sweeping all 784 columns once
    /// per row tile.
    ColumnBlocks,
    /// As `OwnBlocks`, with the kernel called once per block of 98 columns as in
    /// `ColumnBlocks`: what the blocks change without sharing.
    OwnColumnBlocks,
    /// As `SharedMatrix`, with the matrix starting 16 bytes after a page: each thread's
    /// rows then cover five lines of a column, two of them shared with the other thread.
    Misaligned,
    /// The first thread alone into its rows of a 128 x 784 matrix, without a partner.
    Alone,
}

/// The number of column blocks of [`Bands::ColumnBlocks`], 98 columns each.
const COLUMN_BLOCKS: usize = 8;

/// The number of `f32` values in a 4 KiB page.
const PAGE_VALUES: usize = 1024;

/// Returns zeros with room for `len` values from the first value on a 4 KiB page plus up
/// to `PAGE_VALUES`, and the index of that first value.
fn page_aligned(len: usize) -> (Vec<f32>, usize) {
    let values = vec![0.0f32; len + 2 * PAGE_VALUES];
    let misalignment = values.as_ptr() as usize % (PAGE_VALUES * 4) / 4;
    let first = (PAGE_VALUES - misalignment) % PAGE_VALUES;
    (values, first)
}

/// The first layer's weight gradient, an `f32` matrix of `HIDDEN x INPUTS`.
const HIDDEN: usize = 128;
const INPUTS: usize = 784;

/// A pointer to a matrix that the threads of [`gradient_bands`], [`update_cuts`] or
/// [`layer_cycles`] read or write.
#[derive(Clone, Copy)]
struct Target(*mut f32);

// SAFETY: a `Target` is only an address, and the matrices outlive the threads. The
// threads of `gradient_bands` and `update_cuts` may hold the same address, but each
// writes only its own half of the values, which no other thread reads or writes.
unsafe impl Send for Target {}

// SAFETY: a `Target` is only an address. The threads of `layer_cycles` share the list
// of addresses, and in the shared layout one thread updates values that the other read
// or wrote earlier. A `Meeting` orders those accesses within a step and `in_lockstep`
// across steps, so no two accesses to one value race.
unsafe impl Sync for Target {}

/// Sets the weight gradient of half `index` of the first layer's hidden units, `64`
/// rows, from the output gradient `grad` (`HIDDEN x B`) and the inputs, with the
/// library's blocked kernel, at `target` with columns `ld` values apart. It calls the
/// kernel once per block of columns, `column_blocks` blocks of nearly equal width.
///
/// # Safety
///
/// `target` must point to `INPUTS` columns of at least 64 values, `ld` apart, that no
/// other thread reads or writes during the call.
unsafe fn band_gradient(
    index: usize,
    grad: &[f32],
    inputs: &SMatrix<f32, INPUTS, B>,
    (target, ld): (Target, usize),
    column_blocks: usize,
) {
    let rows = HIDDEN / 2;
    for block in 0..column_blocks {
        let columns = INPUTS * block / column_blocks..INPUTS * (block + 1) / column_blocks;
        let product = blocked::Gemm {
            rows,
            cols: columns.len(),
            inner: B,
            a: &grad[index * rows..],
            a_col_stride: HIDDEN,
            b: &inputs.as_slice()[columns.start..],
            b_row_stride: INPUTS,
            b_col_stride: 1,
            c_col_stride: ld,
        };
        // SAFETY: forwarded from the caller; the block's columns lie within the `INPUTS`
        // columns at `target`.
        unsafe { blocked::gemm_at(product, target.0.add(columns.start * ld), true) };
    }
}

/// Times the weight gradient of the first layer of the row split on two threads, each
/// thread setting the 64 rows of its half of the hidden units in every step, into the
/// matrices that `bands` names. Returns the mean time of a timed step in microseconds.
///
/// The row split keeps each half's gradient in a matrix of its own. A row split of the
/// library's `Dense` layer would have both threads write into one column-major matrix,
/// whose columns each hold 64 values of either thread: 256 bytes each, four whole cache
/// lines when the matrix starts on a line.
fn gradient_bands(bands: Bands, inputs: &SMatrix<f32, INPUTS, B>, steps: Steps) -> f64 {
    let mut rng = Rng::seed_from_u64(3);
    let grad: Vec<f32> = (0..HIDDEN * B).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let (mut shared, shared_start) = page_aligned(HIDDEN * INPUTS);
    let (mut first, first_start) = page_aligned(HIDDEN / 2 * INPUTS);
    let (mut second, second_start) = page_aligned(HIDDEN / 2 * INPUTS);
    // 0, 16 or 4 values after a page, within the room `page_aligned` leaves.
    let shared_start = shared_start
        + match bands {
            Bands::StraddledPairs => 16,
            Bands::Misaligned => 4,
            _ => 0,
        };
    // SAFETY (of the pointer offsets below): each matrix starts within its vector with
    // room for all its values after it, and thread 1's rows start 64 values into the
    // first column of the shared matrix.
    let targets = match bands {
        Bands::OwnBlocks | Bands::OwnColumnBlocks => unsafe {
            [
                (Target(first.as_mut_ptr().add(first_start)), HIDDEN / 2),
                (Target(second.as_mut_ptr().add(second_start)), HIDDEN / 2),
            ]
        },
        // Thread 1's rows start 64 values into each column of the shared matrix.
        _ => unsafe {
            let start = shared.as_mut_ptr().add(shared_start);
            [
                (Target(start), HIDDEN),
                (Target(start.add(HIDDEN / 2)), HIDDEN),
            ]
        },
    };

    let grad = &grad;
    let blocks = if matches!(bands, Bands::ColumnBlocks | Bands::OwnColumnBlocks) {
        COLUMN_BLOCKS
    } else {
        1
    };
    if bands == Bands::Alone {
        // SAFETY: only this thread writes the matrix.
        return steps.time(|_| unsafe { band_gradient(0, grad, inputs, targets[0], blocks) });
    }

    let [first_target, second_target] = targets;
    let time = in_lockstep(
        steps,
        // SAFETY: the worker alone writes the second half's rows.
        move |_| unsafe { band_gradient(1, grad, inputs, second_target, blocks) },
        // SAFETY: the calling thread alone writes the first half's rows.
        |_| unsafe { band_gradient(0, grad, inputs, first_target, blocks) },
    );
    black_box((&shared, &first, &second));
    time
}

/// The ways in which the two threads of [`update_cuts`] share the first layer's weights,
/// weight gradient and two Adam moments, four `HIDDEN x INPUTS` matrices.
#[derive(Clone, Copy, PartialEq)]
enum UpdateCut {
    /// Each thread updates four 64 x 784 matrices of its own, as each half of the row
    /// split keeps them.
    OwnBlocks,
    /// Each thread updates its 64 rows of four shared column-major matrices, 784 runs of
    /// 64 values, as a row split of one `Dense` layer would.
    RowBands,
    /// Each thread updates a contiguous half of each shared matrix, 392 whole columns, as
    /// `ParallelGrads` cuts the update in the layer split.
    ColumnHalves,
    /// The first thread alone updates its rows of the shared matrices, without a partner.
    Alone,
}

/// Runs an Adam update with learning rate 0 on `params`, with the moments `first` and
/// `second` of the gradient `grads`: the reads and writes of `Adam`'s update, without its
/// bias correction.
fn adam_update(params: &mut [f32], grads: &[f32], first: &mut [f32], second: &mut [f32]) {
    let values = params.iter_mut().zip(grads).zip(first).zip(second);
    for (((param, &grad), first), second) in values {
        *first = 0.9 * *first + 0.1 * grad;
        *second = 0.999 * *second + 0.001 * grad * grad;
        *param -= 0.0 * *first / (second.sqrt() + 1e-8);
    }
}

/// Runs [`adam_update`] on the runs of `len` values that start at each of `starts` in the
/// four matrices at `matrices` (weights, gradient, first and second moment).
///
/// # Safety
///
/// The four matrices must not overlap, every run must lie inside each of them, and no
/// other thread may write the runs during the call, or read those of the weights and
/// moments.
unsafe fn update_runs(matrices: [Target; 4], starts: &[usize], len: usize) {
    for &start in starts {
        // SAFETY: forwarded from the caller.
        unsafe {
            let [params, grads, first, second] = matrices.map(|matrix| matrix.0.add(start));
            adam_update(
                std::slice::from_raw_parts_mut(params, len),
                std::slice::from_raw_parts(grads, len),
                std::slice::from_raw_parts_mut(first, len),
                std::slice::from_raw_parts_mut(second, len),
            );
        }
    }
}

/// Times the optimizer update of the first layer on two threads, each thread updating
/// half of it in every step, cut as `cut` names. Returns the mean time of a timed step
/// in microseconds.
fn update_cuts(cut: UpdateCut, steps: Steps) -> f64 {
    let len = HIDDEN * INPUTS;
    let mut shared: Vec<(Vec<f32>, usize)> = (0..4).map(|_| page_aligned(len)).collect();
    let mut own: Vec<(Vec<f32>, usize)> = (0..8).map(|_| page_aligned(len / 2)).collect();
    // Values other than zero: pages of zeros that are only read may all map to one
    // shared page of zeros, which would leave the gradient's reads out of the timing.
    let mut rng = Rng::seed_from_u64(4);
    for (values, _) in shared.iter_mut().chain(&mut own) {
        for value in values.iter_mut() {
            *value = rng.uniform(0.0, 1e-3);
        }
    }
    let start = |(values, first): &mut (Vec<f32>, usize)| {
        // SAFETY: `first` is inside `values`, with room for the matrix after it.
        Target(unsafe { values.as_mut_ptr().add(*first) })
    };
    let shared_matrices: [Target; 4] = core::array::from_fn(|m| start(&mut shared[m]));
    let own_matrices: [[Target; 4]; 2] =
        core::array::from_fn(|half| core::array::from_fn(|m| start(&mut own[4 * half + m])));

    let half = HIDDEN / 2;
    // The runs of each thread: (matrices, starts, run length).
    let runs = |thread: usize| match cut {
        UpdateCut::OwnBlocks => (own_matrices[thread], vec![0], len / 2),
        UpdateCut::RowBands | UpdateCut::Alone => (
            shared_matrices,
            (0..INPUTS).map(|j| j * HIDDEN + thread * half).collect(),
            half,
        ),
        UpdateCut::ColumnHalves => (shared_matrices, vec![thread * len / 2], len / 2),
    };
    let (first_runs, second_runs) = (runs(0), runs(1));

    let time = if cut == UpdateCut::Alone {
        // SAFETY: only this thread touches the matrices.
        steps.time(|_| unsafe { update_runs(first_runs.0, &first_runs.1, first_runs.2) })
    } else {
        in_lockstep(
            steps,
            // SAFETY: the worker alone touches the second thread's runs.
            move |_| unsafe { update_runs(second_runs.0, &second_runs.1, second_runs.2) },
            // SAFETY: the calling thread alone touches the first thread's runs.
            |_| unsafe { update_runs(first_runs.0, &first_runs.1, first_runs.2) },
        )
    };
    black_box((&shared, &own));
    time
}

/// The storage of the first layer's weights, weight gradient and two Adam moments in
/// [`layer_cycles`].
#[derive(Clone, Copy, PartialEq)]
enum CycleLayout {
    /// Four 64 x 784 matrices per thread: each thread reads, writes and updates only its
    /// own, as each half of the row split does.
    OwnBlocks,
    /// Four shared 128 x 784 column-major matrices, as a row split of one `Dense` layer
    /// would keep them. Each thread reads its 64 rows of the weights and writes its rows
    /// of the gradient in blocks of 98 columns. Then both update contiguous halves, as
    /// `ParallelGrads` cuts the update, so each thread updates weights that the other
    /// thread reads and reads gradient rows that the other thread wrote.
    SharedHalves,
}

/// A spin barrier for two threads: [`Meeting::meet`] returns once both have called it
/// the same number of times.
struct Meeting(AtomicUsize);

impl Meeting {
    /// Waits until the other thread has also made call number `call` (from 1).
    fn meet(&self, call: usize) {
        self.0.fetch_add(1, Ordering::AcqRel);
        wait_for(&self.0, 2 * call);
    }
}

/// Times the first layer's part of a row split's step on two threads, with the matrices
/// stored as `layout` names. Each thread runs the forward product of its 64 hidden units
/// and its rows of the weight gradient, both with the library's blocked kernel. Once both
/// threads have finished those, each runs an Adam-like update of half of the layer.
/// Returns the mean time of a timed step in microseconds.
///
/// The two layouts do the same arithmetic on the same tile kernels. They differ in the
/// values that cross between the cores and in how each thread's values are spread over
/// lines and pages, which decides whether a row split can keep the `Dense` layer's
/// column-major layout and `ParallelGrads`' contiguous update ranges.
fn layer_cycles(layout: CycleLayout, inputs: &SMatrix<f32, INPUTS, B>, steps: Steps) -> f64 {
    let len = HIDDEN * INPUTS;
    let half = HIDDEN / 2;
    let mut rng = Rng::seed_from_u64(5);
    let grad: Vec<f32> = (0..HIDDEN * B).map(|_| rng.uniform(-1.0, 1.0)).collect();

    let (matrix_count, matrix_len) = match layout {
        CycleLayout::OwnBlocks => (8, len / 2),
        CycleLayout::SharedHalves => (4, len),
    };
    let mut storage: Vec<(Vec<f32>, usize)> = (0..matrix_count)
        .map(|_| page_aligned(matrix_len))
        .collect();
    for (values, _) in &mut storage {
        for value in values.iter_mut() {
            *value = rng.uniform(0.0, 1e-3);
        }
    }
    let starts: Vec<Target> = storage
        .iter_mut()
        // SAFETY: `first` is inside `values`, with room for the matrix after it.
        .map(|(values, first)| Target(unsafe { values.as_mut_ptr().add(*first) }))
        .collect();

    // Per thread: the four matrices, the weights' column stride, the offset of the
    // thread's rows in each column, and the thread's update run (start, length).
    let plan = |thread: usize| -> ([Target; 4], usize, usize, (usize, usize)) {
        match layout {
            CycleLayout::OwnBlocks => (
                core::array::from_fn(|m| starts[4 * thread + m]),
                half,
                0,
                (0, len / 2),
            ),
            CycleLayout::SharedHalves => (
                core::array::from_fn(|m| starts[m]),
                HIDDEN,
                thread * half,
                (thread * len / 2, len / 2),
            ),
        }
    };

    let meeting = Meeting(AtomicUsize::new(0));
    let cycle = |thread: usize, step: usize| {
        let (matrices, ld, row, (first, count)) = plan(thread);
        {
            let mut hidden = SMatrix::<f32, 64, B>::zeros();
            // SAFETY: the slice runs from the thread's first row to its last value of the
            // last column, inside the matrix. In the shared layout it also spans the other
            // thread's rows, but no thread writes the weights while it lives. The previous
            // step's updates finished before `in_lockstep` started this step, and this
            // step's come after the meeting below, once the block has ended.
            let weights = unsafe {
                std::slice::from_raw_parts(matrices[0].0.add(row), (INPUTS - 1) * ld + half)
            };
            let product = blocked::Gemm {
                rows: half,
                cols: B,
                inner: INPUTS,
                a: weights,
                a_col_stride: ld,
                b: inputs.as_slice(),
                b_row_stride: 1,
                b_col_stride: INPUTS,
                c_col_stride: half,
            };
            blocked::gemm_overwrite(product, hidden.as_mut_slice());
            black_box(&hidden);
        }
        // SAFETY: `row` is 0 or 64, inside the gradient matrix.
        let gradient = unsafe { Target(matrices[1].0.add(row)) };
        // SAFETY: each thread writes only its rows of the gradient. The other thread reads
        // them only in its update after the meeting below, and the previous step's
        // updates finished before `in_lockstep` started this step.
        unsafe { band_gradient(thread, &grad, inputs, (gradient, ld), COLUMN_BLOCKS) };
        meeting.meet(step + 1);
        // SAFETY: the threads' update runs do not overlap, and both threads finished
        // reading the weights and writing the gradient before meeting.
        unsafe { update_runs(matrices, &[first], count) };
    };
    let time = in_lockstep(steps, |step| cycle(1, step), |step| cycle(0, step));
    black_box((&storage, meeting.0.load(Ordering::Relaxed)));
    time
}

/// Times each of `cases` with `run` once per round, `rounds` rounds in turn, and prints
/// `title` and the median step time of each case.
fn time_cases<C: Copy>(
    title: &str,
    cases: &[(&str, C)],
    (rounds, steps): (usize, Steps),
    mut run: impl FnMut(C) -> f64,
) {
    let mut times = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for ((_, case), values) in cases.iter().zip(&mut times) {
            values.push(run(*case));
        }
    }
    println!(
        "{title}; median over {rounds} rounds of {} steps",
        steps.timed
    );
    for ((name, _), values) in cases.iter().zip(&mut times) {
        println!("{name:32} {:7.1} us per step", median(values));
    }
}

/// Returns the median of `values`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this binary without `--bench`, in a debug build: run
    // every way a few steps once instead of timing them.
    let timing = std::env::args().any(|arg| arg == "--bench");
    let (rounds, steps) = if timing {
        (
            9,
            Steps {
                untimed: 64,
                timed: 500,
            },
        )
    } else {
        (
            1,
            Steps {
                untimed: 1,
                timed: 3,
            },
        )
    };
    let (inputs, targets) = batch();

    for adam in [false, true] {
        let mut times = [Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..rounds {
            times[0].push(sequential(adam, &inputs, &targets, steps));
            times[1].push(library_split(Split::Batch, adam, &inputs, &targets, steps));
            times[2].push(library_split(Split::Layers, adam, &inputs, &targets, steps));
            times[3].push(row_split(adam, &inputs, &targets, steps));
            times[4].push(one_half(adam, &inputs, &targets, steps));
        }
        let sequential_median = median(&mut times[0]);
        let work = if adam { "step and Adam" } else { "step" };
        println!(
            "784-128-10, batches of {B}, {work}; median over {rounds} rounds of {} steps",
            steps.timed
        );
        let names = [
            "sequential",
            "batch split",
            "layer split",
            "row split",
            "one half",
        ];
        for (name, values) in names.iter().zip(&mut times) {
            let step = median(values);
            println!(
                "{name:12} {step:7.1} us per step, {:.2} times sequential",
                sequential_median / step
            );
        }
    }

    let ways = [
        ("own blocks", Bands::OwnBlocks),
        ("shared matrix", Bands::SharedMatrix),
        ("shared, +64 B", Bands::StraddledPairs),
        ("shared, 98 columns at a time", Bands::ColumnBlocks),
        ("own blocks, 98 columns at a time", Bands::OwnColumnBlocks),
        ("misaligned", Bands::Misaligned),
        ("one alone", Bands::Alone),
    ];
    time_cases(
        &format!("Weight gradient of 64 of the 128 hidden units per thread, batches of {B}"),
        &ways,
        (rounds, steps),
        |bands| gradient_bands(bands, &inputs, steps),
    );

    let cuts = [
        ("own blocks", UpdateCut::OwnBlocks),
        ("row bands of shared", UpdateCut::RowBands),
        ("column halves of shared", UpdateCut::ColumnHalves),
        ("row bands, one alone", UpdateCut::Alone),
    ];
    time_cases(
        "Adam-like update of half of the first layer's weights per thread",
        &cuts,
        (rounds, steps),
        |cut| update_cuts(cut, steps),
    );

    let layouts = [
        ("own blocks", CycleLayout::OwnBlocks),
        ("shared, halves updated", CycleLayout::SharedHalves),
    ];
    time_cases(
        "First layer of a row split per thread: forward product, weight gradient, update",
        &layouts,
        (rounds, steps),
        |layout| layer_cycles(layout, &inputs, steps),
    );
}
