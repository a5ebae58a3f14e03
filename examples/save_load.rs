//! Trains the 8x8 digits network briefly, saves its weights to
//! `target/digits.safetensors`, loads them into a fresh network and checks that both
//! networks give identical outputs on every test image.
//!
//! The file uses PyTorch's names and layout (`hidden.weight` [64, 64], `out.bias` [10]),
//! so `model.load_state_dict(safetensors.torch.load_file("target/digits.safetensors"))`
//! loads it into the equivalent PyTorch model; see `docs/weights.md`.
//!
//! Run with `cargo run --release --example save_load`.

mod common;

use std::error::Error;

use static_nn::core::weights;
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

const SEED: u64 = 2026;
const EPOCHS: usize = 10;

fn main() -> Result<(), Box<dyn Error>> {
    let train = Dataset::<f32, 64, 10>::read_csv_classification(common::repo_path(
        "data/digits_train.csv",
    ))?;
    let test =
        Dataset::<f32, 64, 10>::read_csv_classification(common::repo_path("data/digits_test.csv"))?;

    let mut net = DigitNet::new(SEED);
    net.norm = Standardizer::fit(train.inputs())?.to_layer();
    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: 2e-3,
        ..AdamConfig::default()
    })?;
    let config = TrainConfig::<32>::new(EPOCHS).seed(SEED);
    fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )?;

    let path = common::repo_path("target/digits.safetensors");
    std::fs::create_dir_all(common::repo_path("target"))?;
    weights::save(&net, &path)?;
    println!(
        "saved {} parameters in {} tensors to {} ({} bytes)",
        DigitNet::PARAMS,
        <DigitNet as Tensors<f32>>::COUNT,
        path.display(),
        std::fs::metadata(&path)?.len()
    );

    // The file contains the parameter tensors only. `Standardize` has no tensors (its
    // statistics are not trained), so the fresh network gets them the way the trained
    // one did: fitted on the same training set, which gives the same values.
    let mut loaded = DigitNet::new(SEED + 1);
    loaded.norm = Standardizer::fit(train.inputs())?.to_layer();
    weights::load(&mut loaded, &path)?;

    let mut confusion = ConfusionMatrix::<10>::default();
    for (i, (x, &label)) in test
        .inputs()
        .iter()
        .zip(test.labels().unwrap_or_default())
        .enumerate()
    {
        let expected = net.forward(x);
        let actual = loaded.forward(x);
        if actual != expected {
            return Err(format!("test image {i}: the loaded network outputs {actual:?}, the trained one {expected:?}").into());
        }
        confusion.add(label, argmax(&actual))?;
    }
    println!(
        "the loaded network reproduces all {} test outputs exactly; test accuracy {:.2}% after {EPOCHS} epochs",
        test.len(),
        confusion.accuracy() * 100.0
    );
    Ok(())
}
