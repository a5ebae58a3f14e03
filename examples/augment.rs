//! Measures what data augmentation changes in test accuracy on the 8x8 handwritten
//! digits (UCI, 1,347 training and 450 test images).
//!
//! The same 64-64-10 network is trained twice per seed, with the same initial weights,
//! training images and seed: once on the images as stored and once with each image
//! shifted by up to one pixel, rotated by up to 10 degrees and given Gaussian noise
//! (standard deviation 0.5 on pixels from 0 to 16). This runs for a subset of 300
//! training images, where augmentation has the most to add, and for the whole training
//! set, with five seeds each. The test set is only used for the final accuracies; the
//! augmentation settings were fixed before the first run.
//!
//! Run with `cargo run --release --example augment`.

mod common;

use std::error::Error;
use std::time::Instant;

use static_nn::core::augment::{Augment, NoAugmentation, Noise, Rotate, Shift};
use static_nn::prelude::*;

network! {
    /// Classifies 8x8 grey-scale digits (pixel values 0 to 16) into 0-9.
    pub struct DigitNet<f32> {
        input: [8, 8],
        /// Standardises raw pixels with statistics of the training set.
        norm: Standardize<f32, 64> -> [64],
        hidden: Dense(64), Relu,
        Dropout(0.2),
        out: Dense(10),
    }
}

type Digits = Dataset<f32, 64, 10>;

const EPOCHS: usize = 100;
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];
const SMALL_TRAINING_SET: usize = 300;

fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let train_all = Digits::read_csv_classification(common::repo_path("data/digits_train.csv"))?;
    let test = Digits::read_csv_classification(common::repo_path("data/digits_test.csv"))?;
    println!(
        "digits: {} training and {} test images; {EPOCHS} epochs per run",
        train_all.len(),
        test.len()
    );
    println!("augmentation: shift up to 1 pixel, rotation up to 10 degrees, noise std 0.5\n");

    for size in [SMALL_TRAINING_SET, train_all.len()] {
        compare(&train_all, &test, size)?;
    }
    println!("total time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Trains with and without augmentation on `size` training images for each seed and
/// prints the test accuracies.
fn compare(train_all: &Digits, test: &Digits, size: usize) -> Result<(), Box<dyn Error>> {
    println!("{size} training images");
    println!("seed  without augmentation  with augmentation  difference");
    let (mut sum_without, mut sum_with) = (0.0, 0.0);
    for seed in SEEDS {
        // A different random subset per seed, the same for both runs of that seed.
        let order = train_all.shuffled_order(&mut Rng::seed_from_u64(seed));
        let train = train_all.select(&order[..size])?;

        let without = train_and_test(&train, test, seed, NoAugmentation)?;
        let augment = (
            Shift::<8, 8>::new(1)?,
            Rotate::<8, 8>::new(10.0)?,
            Noise::new(0.5)?,
        );
        let with = train_and_test(&train, test, seed, augment)?;
        println!(
            "{seed:>4}  {:>19.2}%  {:>16.2}%  {:>+9.2} points",
            without * 100.0,
            with * 100.0,
            (with - without) * 100.0
        );
        sum_without += without;
        sum_with += with;
    }
    let runs = SEEDS.len() as f64;
    let (mean_without, mean_with) = (sum_without / runs, sum_with / runs);
    println!(
        "mean  {:>19.2}%  {:>16.2}%  {:>+9.2} points\n",
        mean_without * 100.0,
        mean_with * 100.0,
        (mean_with - mean_without) * 100.0
    );
    Ok(())
}

/// Trains a fresh network on `train` with `augment` and returns its test accuracy.
fn train_and_test<A: Augment<f32, 64>>(
    train: &Digits,
    test: &Digits,
    seed: u64,
    augment: A,
) -> Result<f64, Box<dyn Error>> {
    let mut net = DigitNet::new(seed);
    net.norm = Standardizer::fit(train.inputs())?.to_layer();
    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: 2e-3,
        ..AdamConfig::default()
    })?;
    let config = TrainConfig::<32>::new(EPOCHS)
        .seed(seed)
        .schedule(CosineAnnealing::new(EPOCHS, 1e-5)?)
        .quiet()
        .augment(augment);
    fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        train,
        None,
        &config,
    )?;

    let evaluation = evaluate::<_, _, _, 64, 10, 50>(&net, &SoftmaxCrossEntropy, test);
    Ok(evaluation.accuracy.unwrap_or(0.0))
}
