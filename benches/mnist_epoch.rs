//! Wall time of one MNIST training epoch of the 784-128-10 network (Adam, batches of
//! 32), on one and on two threads.
//!
//! Three runs per case, each a full epoch over the 60,000 training images:
//!
//! - `fit, 1 thread`: `static_nn::prelude::fit` with progress output off;
//! - `loop, 1 thread` and `loop, 2 threads`: the same work as `fit` (shuffle, gather a
//!   batch, training step, Adam update) written out here, with the training step on the
//!   calling thread or through `ParallelGrads` on two threads. `fit` itself runs on one
//!   thread until it is given a thread count.
//!
//! Prints the fastest of the runs of each case. Run with
//! `cargo bench --bench mnist_epoch` (about 30 s; it needs `data/mnist/`). The
//! scikit-learn comparison of `BENCHMARKS.md` is `benches/sklearn_mnist_epoch.py`.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

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

/// Trains one epoch with the training step on `threads` threads (the calling thread alone
/// for 1) and returns the wall time in seconds and the mean training loss.
fn epoch_loop(data: &Dataset<f32, 784, 10>, threads: usize) -> Result<(f64, f64), Box<dyn Error>> {
    let mut net = MnistNet::new_boxed(SEED);
    let mut optimizer = Adam::new_boxed(AdamConfig::default())?;
    let mut grads = MnistNet::zero_grads_boxed();
    let mut parallel = ParallelGrads::<f32, MnistNet, 784, 10>::new(threads)?;
    let mut inputs = Box::new(SMatrix::<f32, 784, BATCH>::zeros());
    let mut targets = Box::new(SMatrix::<f32, 10, BATCH>::zeros());
    let mut rng = Rng::seed_from_u64(SEED);
    let loss = SoftmaxCrossEntropy;

    let started = Instant::now();
    let order = data.shuffled_order(&mut rng);
    let mut total = 0.0;
    let mut step_seconds = 0.0;
    let batches = order.len() / BATCH;
    for chunk in order.chunks_exact(BATCH) {
        gather(data, chunk, &mut inputs, &mut targets);
        grads.fill_zero();
        let step_started = Instant::now();
        let batch_loss = if threads == 1 {
            let (outputs, trace) = net.forward_train(&*inputs, &mut rng);
            let (batch_loss, grad_out) = loss.loss_and_grad(&outputs, &*targets);
            net.accumulate_grads(&trace, &grad_out, &mut grads);
            batch_loss
        } else {
            let (batch_loss, _) =
                parallel.accumulate_grads(&*net, &inputs, &targets, &loss, &mut rng, &mut grads);
            batch_loss
        };
        step_seconds += step_started.elapsed().as_secs_f64();
        optimizer.step(&mut *net, &*grads)?;
        total += f64::from(batch_loss);
    }
    println!(
        "  training steps {step_seconds:.3} s of {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok((started.elapsed().as_secs_f64(), total / batches as f64))
}

/// Trains one epoch with `fit` and returns its wall time in seconds and training loss.
fn epoch_fit(data: &Dataset<f32, 784, 10>) -> Result<(f64, f64), Box<dyn Error>> {
    let mut net = MnistNet::new_boxed(SEED);
    let mut optimizer = Adam::new_boxed(AdamConfig::default())?;
    let config = TrainConfig::<BATCH>::new(1).seed(SEED).quiet();
    let started = Instant::now();
    let history = fit(
        &mut *net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        data,
        None,
        &config,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((seconds, history.epochs[0].train_loss))
}

/// Runs `epoch` `runs` times and prints the fastest wall time.
fn report(
    case: &str,
    runs: usize,
    mut epoch: impl FnMut() -> Result<(f64, f64), Box<dyn Error>>,
) -> Result<f64, Box<dyn Error>> {
    let mut best = f64::INFINITY;
    let mut train_loss = 0.0;
    for _ in 0..runs {
        let (seconds, loss) = epoch()?;
        best = best.min(seconds);
        train_loss = loss;
    }
    println!("{case:18} {best:6.2} s per epoch, training loss {train_loss:.4}");
    Ok(best)
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

    report("fit, 1 thread", runs, || epoch_fit(&data))?;
    let one = report("loop, 1 thread", runs, || epoch_loop(&data, 1))?;
    let two = report("loop, 2 threads", runs, || epoch_loop(&data, 2))?;
    println!("speed-up of 2 threads: {:.2}", one / two);
    Ok(())
}
