//! Trains the 1-16-16-1 sine-regression network, saves it for the firmware example in
//! `examples/embedded/`, and writes the predictions that firmware must reproduce.
//!
//! The network maps x in [0, 2 pi] to sin x, the small regression model that TinyML
//! benchmarks and TensorFlow Lite Micro's "hello world" use. Training draws 1000 samples
//! uniformly from [0, 2 pi] and fits them with mean squared error and Adam. Then it
//!
//! - saves the weights with `weights::save` to `examples/embedded/sine.safetensors`,
//!   which `examples/embedded/` bakes into a `#![no_std]` static library with
//!   `#[weights("sine.safetensors")]`;
//! - writes the predictions at x = 0, 0.4, ..., 6.0 to
//!   `examples/embedded/predictions.txt`.
//!
//! Both files are committed, so CI needs no training. With `--check` the program trains
//! nothing: it loads the committed weights at run time and prints the predictions in the
//! same format, which `examples/embedded/run.sh` compares with the firmware's output.
//!
//! Run with `cargo run --release --example sine` (train and save) or
//! `cargo run --example sine -- --check` (print the committed model's predictions).

mod common;

use std::error::Error;
use std::f32::consts::TAU;
use std::fmt::Write as _;

use static_nn::prelude::*;

network! {
    /// Predicts sin x for x in [0, 2 pi].
    pub struct SineNet<f32> {
        input: [1],
        hidden1: Dense(16), Relu,
        hidden2: Dense(16), Relu,
        out: Dense(1),
    }
}

const SEED: u64 = 11;
const SAMPLES: usize = 1000;
const EPOCHS: usize = 400;
const WEIGHTS: &str = "examples/embedded/sine.safetensors";
const PREDICTIONS: &str = "examples/embedded/predictions.txt";

/// The number of points at which the predictions are written.
const POINTS: usize = 16;

fn main() -> Result<(), Box<dyn Error>> {
    if std::env::args().any(|arg| arg == "--check") {
        let mut net = SineNet::new(0);
        weights::load(&mut net, common::repo_path(WEIGHTS))?;
        print!("{}", predictions(&net));
        return Ok(());
    }

    let net = train()?;
    weights::save(&net, common::repo_path(WEIGHTS))?;
    let table = predictions(&net);
    std::fs::write(common::repo_path(PREDICTIONS), &table)?;
    print!("{table}");
    println!("saved {WEIGHTS} and {PREDICTIONS}");
    Ok(())
}

/// Draws `count` points uniformly from [0, 2 pi] with their sines.
fn sine_samples(count: usize, rng: &mut Rng) -> Result<Dataset<f32, 1, 1>, DataError> {
    let inputs: Vec<SVector<f32, 1>> = (0..count)
        .map(|_| SVector::<f32, 1>::new(rng.uniform(0.0, TAU)))
        .collect();
    let targets = inputs.iter().map(|x| x.map(f32::sin)).collect();
    Dataset::from_targets(inputs, targets)
}

fn train() -> Result<SineNet, Box<dyn Error>> {
    let mut rng = Rng::seed_from_u64(SEED);
    let train = sine_samples(SAMPLES, &mut rng)?;
    let validation = sine_samples(SAMPLES / 5, &mut rng)?;

    let mut net = SineNet::new(SEED);
    println!("{}", SineNet::summary());
    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: 1e-2,
        ..AdamConfig::default()
    })?;
    let config = TrainConfig::<16>::new(EPOCHS)
        .seed(SEED)
        .schedule(CosineAnnealing::new(EPOCHS, 1e-4)?)
        .quiet();
    let history = fit(
        &mut net,
        &mut optimizer,
        &MeanSquaredError,
        &train,
        Some(&validation),
        &config,
    )?;
    if let Some(last) = history.last() {
        println!(
            "after {} epochs: training MSE {:.6}, validation MSE {:.6}",
            last.epoch,
            last.train_loss,
            last.validation_loss.unwrap_or(f64::NAN)
        );
    }
    Ok(net)
}

/// Formats the predictions at x = 0.4 k for k = 0..16, one line each with the bits of x
/// and of the prediction, as the firmware's C program prints them.
fn predictions(net: &SineNet) -> String {
    let mut table = String::new();
    for k in 0..POINTS {
        // The C program computes x the same way: `(float)k * 0.4f`.
        let x = k as f32 * 0.4;
        let y = net.forward(&SVector::<f32, 1>::new(x))[0];
        let _ = writeln!(
            table,
            "x {x:.9} bits {:08x} prediction {y:.9} bits {:08x} sin {:.9}",
            x.to_bits(),
            y.to_bits(),
            x.sin()
        );
    }
    table
}
