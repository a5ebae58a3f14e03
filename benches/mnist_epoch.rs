//! Wall time of one MNIST training epoch of the 784-128-10 network (Adam, batches of
//! 32), on one and on two threads.
//!
//! Four cases, each a full epoch over the 60,000 training images:
//!
//! - `fit, 1 thread` and `fit, 2 threads`: `static_nn::prelude::fit` with progress output
//!   off and `TrainConfig::threads` set to 1 or 2;
//! - `loop, 1 thread` and `loop, 2 threads`: the same work as `fit` (shuffle, gather a
//!   batch, zero the gradients, training step, Adam update) written out here, timing each
//!   phase. On two threads the training step runs through `ParallelGrads::compute_grads`,
//!   which zeroes the gradients within the step, and the Adam update through
//!   `step_scaled_with`, which cuts the large weight tensor over the same threads, as
//!   `fit` does.
//!
//! Prints the fastest of the runs of each case, for the loops with the time of each phase
//! in that run, and the speed-ups of two threads. Run with `cargo bench --bench
//! mnist_epoch`, which needs `data/mnist/` and takes about 5 s on the AMD EPYC family 26
//! machine of `BENCHMARKS.md`. The scikit-learn comparison of `BENCHMARKS.md` is
//! `benches/sklearn_mnist_epoch.py`.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use static_nn::core::optim::SingleThread;
use static_nn::core::train::parallel::ParallelGrads;
use static_nn::prelude::*;

network! {
    /// The 784-128-10 network of `examples/mnist.rs`.
    struct MnistNet<f32> {
        input: [784],
        hidden: Dense(128), Relu,
        out: Dense(10),
    }
}

/// The batch size.
const BATCH: usize = 32;

/// The runs per case.
const RUNS: usize = 3;

/// The seed of the weights and the shuffling.
const SEED: u64 = 1998;

/// The result of one epoch.
#[derive(Clone, Copy, Default)]
struct Epoch {
    /// The wall time of the epoch in seconds.
    seconds: f64,
    /// The mean training loss.
    loss: f64,
    /// For the loops: the seconds of the training steps (forward, loss, backward).
    steps: f64,
    /// For the loops: the seconds of the optimizer updates.
    updates: f64,
}

/// Copies the samples `chunk` of `data` into a batch of inputs and targets.
fn gather(
    data: &Dataset<f32, 784, 10>,
    chunk: &[usize],
    inputs: &mut SMatrix<f32, 784, BATCH>,
    targets: &mut SMatrix<f32, 10, BATCH>,
) {
    for (column, &index) in chunk.iter().enumerate() {
        inputs.set_column(column, &data.inputs()[index]);
        targets.set_column(column, &data.targets()[index]);
    }
}

/// Trains one epoch with the training step and the Adam update on `threads` threads (the
/// calling thread alone for 1).
fn epoch_loop(data: &Dataset<f32, 784, 10>, threads: usize) -> Result<Epoch, Box<dyn Error>> {
    let mut net = MnistNet::new_boxed(SEED);
    let mut optimizer = Adam::new_boxed(AdamConfig::default())?;
    let mut grads = MnistNet::zero_grads_boxed();
    let mut parallel = ParallelGrads::<f32, MnistNet, 784, 10>::new(threads)?;
    let mut inputs = Box::new(SMatrix::<f32, 784, BATCH>::zeros());
    let mut targets = Box::new(SMatrix::<f32, 10, BATCH>::zeros());
    let mut rng = Rng::seed_from_u64(SEED);
    let loss = SoftmaxCrossEntropy;
    let all = |_: usize| Some(1.0);

    let started = Instant::now();
    let order = data.shuffled_order(&mut rng);
    let mut epoch = Epoch::default();
    let batches = order.len() / BATCH;
    for chunk in order.chunks_exact(BATCH) {
        gather(data, chunk, &mut inputs, &mut targets);
        if threads == 1 {
            grads.fill_zero();
        }

        let step_started = Instant::now();
        let batch_loss = if threads == 1 {
            let (batch_loss, _) = net.accumulate_pass(&*inputs, &mut rng, &mut grads, |y| {
                loss.loss_and_grad(y, &*targets)
            });
            batch_loss
        } else {
            let (batch_loss, _) =
                parallel.compute_grads(&*net, &inputs, &targets, &loss, &mut rng, &mut grads);
            batch_loss
        };
        epoch.steps += step_started.elapsed().as_secs_f64();

        let update_started = Instant::now();
        if threads == 1 {
            optimizer.step_scaled_with(&mut *net, &*grads, &all, &SingleThread)?;
        } else {
            optimizer.step_scaled_with(&mut *net, &*grads, &all, &parallel)?;
        }
        epoch.updates += update_started.elapsed().as_secs_f64();
        epoch.loss += f64::from(batch_loss);
    }
    epoch.seconds = started.elapsed().as_secs_f64();
    epoch.loss /= batches as f64;
    Ok(epoch)
}

/// Trains one epoch with `fit` on `threads` threads.
fn epoch_fit(data: &Dataset<f32, 784, 10>, threads: usize) -> Result<Epoch, Box<dyn Error>> {
    let mut net = MnistNet::new_boxed(SEED);
    let mut optimizer = Adam::new_boxed(AdamConfig::default())?;
    let config = TrainConfig::<BATCH>::new(1)
        .seed(SEED)
        .threads(threads)
        .quiet();
    let started = Instant::now();
    let history = fit(
        &mut *net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        data,
        None,
        &config,
    )?;
    Ok(Epoch {
        seconds: started.elapsed().as_secs_f64(),
        loss: history.epochs[0].train_loss,
        ..Epoch::default()
    })
}

/// Runs `epoch` `runs` times, prints the fastest run and returns its wall time.
fn report(
    case: &str,
    runs: usize,
    mut epoch: impl FnMut() -> Result<Epoch, Box<dyn Error>>,
) -> Result<f64, Box<dyn Error>> {
    let mut best: Option<Epoch> = None;
    for _ in 0..runs {
        let run = epoch()?;
        if best.is_none_or(|best| run.seconds < best.seconds) {
            best = Some(run);
        }
    }
    let best = best.unwrap_or_default();
    print!(
        "{case:16} {:6.3} s per epoch, training loss {:.4}",
        best.seconds, best.loss
    );
    if best.steps > 0.0 {
        let rest = best.seconds - best.steps - best.updates;
        print!(
            " (training steps {:.3} s, Adam updates {:.3} s, rest {:.3} s)",
            best.steps, best.updates, rest
        );
    }
    println!();
    Ok(best.seconds)
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let mut data = Dataset::<f32, 784, 10>::read_idx(
        root.join("train-images-idx3-ubyte.gz"),
        root.join("train-labels-idx1-ubyte.gz"),
    )?;
    // `cargo test --benches` runs this binary without `--bench`, in a debug build: check
    // that every path works on a small subset once instead of timing full epochs.
    let timing = std::env::args().any(|arg| arg == "--bench");
    let runs = if timing { RUNS } else { 1 };
    if !timing {
        let subset: Vec<usize> = (0..20 * BATCH).collect();
        data = data.select(&subset)?;
    }
    println!("MNIST: {} training images, batches of {BATCH}", data.len());

    let fit_one = report("fit, 1 thread", runs, || epoch_fit(&data, 1))?;
    let fit_two = report("fit, 2 threads", runs, || epoch_fit(&data, 2))?;
    let loop_one = report("loop, 1 thread", runs, || epoch_loop(&data, 1))?;
    let loop_two = report("loop, 2 threads", runs, || epoch_loop(&data, 2))?;
    println!(
        "speed-up of 2 threads: {:.2} with fit, {:.2} with the loop",
        fit_one / fit_two,
        loop_one / loop_two
    );
    Ok(())
}
