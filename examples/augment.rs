//! Measures what data augmentation changes in test accuracy on the 8x8 handwritten
//! digits (UCI, 1,347 training and 450 test images).
//!
//! The same 64-64-10 network is trained three times per seed, with the same initial
//! weights, training images and seed:
//!
//! - on the images as stored;
//! - with every image shifted by up to one pixel along each axis, rotated by up to 10
//!   degrees and given Gaussian noise (standard deviation 0.5 on pixels from 0 to 16);
//! - the same, but with the shift applied to 30% of the images only.
//!
//! The augmented runs draw extra numbers from the random number generator that also
//! drives shuffling and dropout, so their dropout masks and later batch orders differ
//! from those of the run without augmentation.
//!
//! The digits fill their 8x8 frame, so a one-pixel shift often cuts a stroke off and
//! changes what the digit looks like. Shifting every image lowers the accuracy. The 30%
//! share was chosen on a validation split held out from the training set, never on the
//! test set, which is only used for the accuracies printed here. Each comparison runs for
//! a subset of 300 training images, where augmentation has the most to add, and for the
//! whole training set, with five seeds each.
//!
//! Run with `cargo run --release --example augment`.

mod common;

use std::error::Error;
use std::time::Instant;

use static_nn::core::augment::{Augment, NoAugmentation, Noise, RandomApply, Rotate, Shift};
use static_nn::prelude::*;

network! {
    /// Classifies 8x8 grey-scale digits (pixel values 0 to 16) into 0-9.
    pub struct DigitNet<f32> {
        input: [8, 8],
        /// Standardises raw pixels with statistics of augmented training images.
        norm: Standardize<f32, 64> -> [64],
        hidden: Dense(64), Relu,
        Dropout(0.2),
        out: Dense(10),
    }
}

type Digits = Dataset<f32, 64, 10>;

const EPOCHS: usize = 200;
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];
const SMALL_TRAINING_SET: usize = 300;
const AUGMENTED_COPIES: usize = 10;
const SHIFTED_SHARE: f64 = 0.3;

fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let train_all = Digits::read_csv_classification(common::repo_path("data/digits_train.csv"))?;
    let test = Digits::read_csv_classification(common::repo_path("data/digits_test.csv"))?;
    println!(
        "digits: {} training and {} test images; {EPOCHS} epochs per run",
        train_all.len(),
        test.len()
    );
    println!("augmented: shift up to 1 pixel, rotation up to 10 degrees, noise std 0.5");
    println!("test accuracy in percent; differences in percentage points\n");

    for size in [SMALL_TRAINING_SET, train_all.len()] {
        compare(&train_all, &test, size)?;
    }
    println!("total time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Trains without augmentation, with every image shifted and with 30% of the images
/// shifted, on `size` training images for each seed, and prints the test accuracies.
fn compare(train_all: &Digits, test: &Digits, size: usize) -> Result<(), Box<dyn Error>> {
    println!("{size} training images");
    println!("seed  not augmented  all shifted  30% shifted");
    let mut sums = [0.0; 3];
    for seed in SEEDS {
        // A different random subset per seed, the same for all runs of that seed.
        let order = train_all.shuffled_order(&mut Rng::seed_from_u64(seed));
        let train = train_all.select(&order[..size])?;

        let rotate = Rotate::<8, 8>::new(10.0)?;
        let noise = Noise::new(0.5)?;
        let shift = Shift::<8, 8>::new(1)?;
        let sometimes_shift = RandomApply::new(shift, SHIFTED_SHARE)?;
        let accuracies = [
            train_and_test(&train, test, seed, NoAugmentation)?,
            train_and_test(&train, test, seed, (shift, rotate, noise))?,
            train_and_test(&train, test, seed, (sometimes_shift, rotate, noise))?,
        ];
        println!(
            "{seed:>4}  {:>13.2}  {:>11.2}  {:>11.2}",
            accuracies[0] * 100.0,
            accuracies[1] * 100.0,
            accuracies[2] * 100.0
        );
        for (sum, accuracy) in sums.iter_mut().zip(accuracies) {
            *sum += accuracy;
        }
    }

    let means = sums.map(|sum| sum / SEEDS.len() as f64 * 100.0);
    println!(
        "mean  {:>13.2}  {:>11.2}  {:>11.2}",
        means[0], means[1], means[2]
    );
    println!(
        "difference to not augmented: all shifted {:+.2}, 30% shifted {:+.2}\n",
        means[1] - means[0],
        means[2] - means[0]
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
    net.norm = fit_standardizer(train, &augment, seed)?.to_layer();
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
    let accuracy = evaluation
        .accuracy
        .ok_or("the test set has no class labels")?;
    Ok(accuracy)
}

/// Fits the standardisation to `AUGMENTED_COPIES` augmented copies of each training
/// image, so it matches the inputs the network receives in training.
///
/// Fitted to the stored images instead, it divides by the tiny standard deviations of
/// some border pixels, about 0.03 on pixels from 0 to 16. Ink shifted or rotated onto
/// such a pixel then becomes an input of hundreds of standard deviations, and noise of
/// 0.5 one of about 20.
fn fit_standardizer<A: Augment<f32, 64>>(
    train: &Digits,
    augment: &A,
    seed: u64,
) -> Result<Standardizer<f32, 64>, Box<dyn Error>> {
    let mut rng = Rng::seed_from_u64(seed);
    let mut samples = Vec::with_capacity(train.len() * AUGMENTED_COPIES);
    for _ in 0..AUGMENTED_COPIES {
        for image in train.inputs() {
            let mut sample = *image;
            augment.apply(&mut sample, &mut rng);
            samples.push(sample);
        }
    }
    Ok(Standardizer::fit(&samples)?)
}
