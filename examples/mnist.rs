//! Trains a 784-128-10 network on MNIST (60,000 training and 10,000 test images of
//! handwritten digits), prints the wall time of every epoch and the test accuracy, and
//! writes the learning curve to `target/mnist-learning-curve.svg`.
//!
//! Run with `cargo run --release --example mnist [THREADS]`. THREADS is the number of
//! training threads, default 2 (`TrainConfig::threads`).

mod common;

use std::error::Error;
use std::time::Instant;

use static_nn::prelude::*;

network! {
    /// Classifies 28x28 grey-scale digits (pixels scaled to [0, 1]) into 0-9.
    pub struct MnistNet<f32> {
        input: [28, 28],
        hidden: Dense(128), Relu,
        out: Dense(10),
    }
}

const SEED: u64 = 1998;
const EPOCHS: usize = 12;
const DEFAULT_THREADS: usize = 2;

/// Returns the thread count given as the first argument, or [`DEFAULT_THREADS`].
fn thread_count() -> Result<usize, String> {
    let Some(argument) = std::env::args().nth(1) else {
        return Ok(DEFAULT_THREADS);
    };
    match argument.parse::<usize>() {
        Ok(threads) if threads > 0 => Ok(threads),
        _ => Err(format!(
            "invalid thread count `{argument}`: expected a whole number of at least 1, for example `cargo run --release --example mnist -- 2`"
        )),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let threads = match thread_count() {
        Ok(threads) => threads,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let train = Dataset::<f32, 784, 10>::read_idx(
        common::repo_path("data/mnist/train-images-idx3-ubyte.gz"),
        common::repo_path("data/mnist/train-labels-idx1-ubyte.gz"),
    )?;
    let test = Dataset::<f32, 784, 10>::read_idx(
        common::repo_path("data/mnist/t10k-images-idx3-ubyte.gz"),
        common::repo_path("data/mnist/t10k-labels-idx1-ubyte.gz"),
    )?;
    println!(
        "MNIST: {} training and {} test images, loaded in {:.1} s",
        train.len(),
        test.len(),
        started.elapsed().as_secs_f64()
    );

    // About 400 KB of parameters: build the network on the heap.
    let mut net = MnistNet::new_boxed(SEED);
    println!("{}", MnistNet::summary());
    let mut optimizer = Adam::new_boxed(AdamConfig {
        learning_rate: 1e-3,
        ..AdamConfig::default()
    })?;
    // The test set is passed as the validation set only to draw its curve; nothing (no
    // early stopping, no model choice) is tuned on it.
    let config = TrainConfig::<32>::new(EPOCHS)
        .seed(SEED)
        .threads(threads)
        .schedule(CosineAnnealing::new(EPOCHS, 1e-5)?);
    println!("training on {threads} thread(s)");
    let history = fit(
        &mut *net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        Some(&test),
        &config,
    )?;

    let seconds: Vec<f64> = history.epochs.iter().map(|record| record.seconds).collect();
    let mean = seconds.iter().sum::<f64>() / seconds.len().max(1) as f64;
    println!(
        "wall time per epoch (training plus test evaluation, {threads} thread(s)): mean {mean:.2} s, {:.0} training samples/s",
        train.len() as f64 / mean
    );

    let mut confusion = ConfusionMatrix::<10>::default();
    for (x, &label) in test.inputs().iter().zip(test.labels().unwrap_or_default()) {
        confusion.add(label, argmax(&net.forward(x)))?;
    }
    println!(
        "test accuracy: {:.2}% ({} of {})",
        confusion.accuracy() * 100.0,
        confusion.correct(),
        confusion.total()
    );
    println!("{confusion}");

    let plot = common::repo_path("target/mnist-learning-curve.svg");
    std::fs::create_dir_all(common::repo_path("target"))?;
    common::save_learning_curve(&history, "MNIST, 784-128-10 MLP", &plot)?;
    println!("learning curve written to {}", plot.display());
    Ok(())
}
