//! Trains a 64-64-10 network on the 8x8 handwritten digits set (UCI, 1,347 training and
//! 450 test images), prints the test accuracy and confusion matrix, and writes the
//! learning curve to `target/digits-learning-curve.svg`.
//!
//! With `--save` it also writes the trained network, standardisation statistics
//! included, to `examples/digits_bake/digits.safetensors`, and its predictions on the
//! test set to `examples/digits_bake/predictions.txt`. Both files are committed:
//! `examples/digits_baked.rs` bakes the weights into a `static` network and checks that
//! it predicts the same classes from raw pixels.
//!
//! Run with `cargo run --release --example digits`, or with `-- --save` to rewrite the
//! committed files.

mod common;

use std::error::Error;

use common::Prediction;
use static_nn::prelude::*;

network! {
    /// Classifies 8x8 grey-scale digits (pixel values 0 to 16) into 0-9.
    pub struct DigitNet<f32> {
        input: [8, 8],
        /// Standardises raw pixels with statistics of the training set.
        norm: Standardize,
        hidden: Dense(64), Relu,
        Dropout(0.2),
        out: Dense(10),
    }
}

const SEED: u64 = 2026;
const EPOCHS: usize = 80;

fn main() -> Result<(), Box<dyn Error>> {
    let save = save_requested()?;
    let train_all = Dataset::<f32, 64, 10>::read_csv_classification(common::repo_path(
        "data/digits_train.csv",
    ))?;
    let test =
        Dataset::<f32, 64, 10>::read_csv_classification(common::repo_path("data/digits_test.csv"))?;
    let (train, validation) = train_all.split_stratified(0.1, &mut Rng::seed_from_u64(SEED))?;
    println!(
        "digits: {} training, {} validation, {} test images",
        train.len(),
        validation.len(),
        test.len()
    );

    let mut net = DigitNet::new(SEED);
    net.norm = Standardizer::fit(train.inputs())?.to_layer();
    println!("{}", DigitNet::summary());

    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: 2e-3,
        ..AdamConfig::default()
    })?;
    let config = TrainConfig::<32>::new(EPOCHS)
        .seed(SEED)
        .schedule(CosineAnnealing::new(EPOCHS, 1e-5)?)
        .early_stopping(EarlyStopping::new(15));
    let history = fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        Some(&validation),
        &config,
    )?;
    if let Some(epoch) = history.restored_epoch {
        println!("early stopping restored the parameters of epoch {epoch}");
    }

    let mut confusion = ConfusionMatrix::<10>::default();
    let mut predictions = Vec::with_capacity(test.len());
    for (x, &label) in test.inputs().iter().zip(test.labels().unwrap_or_default()) {
        let predicted = argmax(&net.forward(x));
        confusion.add(label, predicted)?;
        predictions.push(Prediction { label, predicted });
    }
    println!(
        "\ntest accuracy: {:.2}% ({} of {})",
        confusion.accuracy() * 100.0,
        confusion.correct(),
        confusion.total()
    );
    println!("\nconfusion matrix (rows: true digit, columns: predicted digit)\n{confusion}");
    println!("{}", confusion.report());

    let plot = common::repo_path("target/digits-learning-curve.svg");
    std::fs::create_dir_all(common::repo_path("target"))?;
    common::save_learning_curve(&history, "8x8 digits, 64-64-10 MLP", &plot)?;
    println!("learning curve written to {}", plot.display());

    if save {
        weights::save(&net, common::repo_path(common::DIGITS_WEIGHTS))?;
        let table = common::format_predictions(&predictions);
        std::fs::write(common::repo_path(common::DIGITS_PREDICTIONS), table)?;
        println!(
            "saved {} and {}",
            common::DIGITS_WEIGHTS,
            common::DIGITS_PREDICTIONS
        );
    }
    Ok(())
}

/// Returns whether the command line requests `--save`, rejecting every other argument.
fn save_requested() -> Result<bool, Box<dyn Error>> {
    let mut save = false;
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--save" => save = true,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; the only option is `--save`, which writes {} and {}",
                    common::DIGITS_WEIGHTS,
                    common::DIGITS_PREDICTIONS
                )
                .into());
            }
        }
    }
    Ok(save)
}
