//! Bakes the trained digits network into the binary and checks it on the whole test set.
//!
//! `cargo run --release --example digits -- --save` trains the network and writes
//! `examples/digits_bake/digits.safetensors` (the weights and the standardisation
//! statistics, the buffers `norm.mean` and `norm.std`) and the classes it predicted for
//! the 450 test images to `examples/digits_bake/predictions.txt`. This program declares
//! the same network with `#[weights(...)]`, so the macro reads the file at compile time,
//! and uses it as a `static`, whose weights stay in read-only memory. It feeds it raw
//! pixels (the statistics are part of the baked network) and checks, for every test
//! image, that
//!
//! - the baked network's outputs have the same bits as those of the same file loaded at
//!   run time with `weights::load`;
//! - its predicted class is the one the training program saved.
//!
//! It exits with an error naming the first sample that differs.
//!
//! Run with `cargo run --release --example digits_baked`.

mod common;

use std::error::Error;
use std::process::ExitCode;

use common::Prediction;
use static_nn::prelude::*;

network! {
    /// The network of `examples/digits.rs` with its trained weights and statistics baked in.
    #[weights("examples/digits_bake/digits.safetensors")]
    pub struct DigitNet<f32> {
        input: [8, 8],
        norm: Standardize,
        hidden: Dense(64), Relu,
        Dropout(0.2),
        out: Dense(10),
    }
}

/// The baked network as firmware keeps it: a `static` in read-only memory.
static NET: DigitNet = DigitNet::BAKED;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let test =
        Dataset::<f32, 64, 10>::read_csv_classification(common::repo_path("data/digits_test.csv"))?;
    let predictions_path = common::repo_path(common::DIGITS_PREDICTIONS);
    let saved = common::parse_predictions(
        &std::fs::read_to_string(&predictions_path)?,
        &predictions_path,
    )?;
    if saved.len() != test.len() {
        return Err(format!(
            "{} has {} predictions but the test set has {} images; run `cargo run --release --example digits -- --save` to write them again",
            predictions_path.display(),
            saved.len(),
            test.len()
        )
        .into());
    }

    let mut loaded = DigitNet::new(0);
    weights::load(&mut loaded, common::repo_path(common::DIGITS_WEIGHTS))?;

    let labels = test.labels().unwrap_or_default();
    for (index, ((x, &label), expected)) in test.inputs().iter().zip(labels).zip(&saved).enumerate()
    {
        check_sample(index, x, label, expected, &loaded)?;
    }

    let correct = saved
        .iter()
        .filter(|prediction| prediction.label == prediction.predicted)
        .count();
    println!(
        "the baked network predicts all {} test images from raw pixels as the training program did, with outputs bit-identical to the file loaded at run time",
        test.len()
    );
    println!(
        "test accuracy: {:.2}% ({correct} of {})",
        100.0 * correct as f64 / test.len() as f64,
        test.len()
    );
    println!(
        "the weights and statistics take {} bytes of read-only memory (`DigitNet::PARAM_BYTES`)",
        DigitNet::PARAM_BYTES
    );
    Ok(())
}

/// Compares the baked network with the loaded one and with the saved prediction on test
/// image `index`.
fn check_sample(
    index: usize,
    x: &SVector<f32, 64>,
    label: usize,
    expected: &Prediction,
    loaded: &DigitNet,
) -> Result<(), String> {
    if expected.label != label {
        return Err(format!(
            "sample {index}: the saved predictions give label {}, but data/digits_test.csv has {label}; they were written for another test set",
            expected.label
        ));
    }
    let (baked, runtime) = (NET.forward(x), loaded.forward(x));
    let differs = baked
        .iter()
        .zip(runtime.iter())
        .any(|(b, r)| b.to_bits() != r.to_bits());
    if differs {
        return Err(format!(
            "sample {index}: the baked network outputs {:?}, the network loaded at run time {:?}",
            baked.as_slice(),
            runtime.as_slice()
        ));
    }
    let predicted = argmax(&baked);
    if predicted != expected.predicted {
        return Err(format!(
            "sample {index} (label {label}): the baked network predicts {predicted}, the training program predicted {}",
            expected.predicted
        ));
    }
    Ok(())
}
