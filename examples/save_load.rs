//! Trains the 8x8 digits network briefly, saves its weights and standardisation
//! statistics to `target/digits.safetensors`, loads them into a fresh network and checks
//! that both networks give identical outputs on every test image.
//!
//! The file uses PyTorch's names and layout (`hidden.weight` [64, 64], `out.bias` [10],
//! and the buffers `norm.mean` and `norm.std` [64]), so
//! `model.load_state_dict(safetensors.torch.load_file("target/digits.safetensors"))`
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
        norm: Standardize,
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
        "saved {} parameters in {} tensors and {} statistics in {} buffers to {} ({} bytes)",
        DigitNet::PARAMS,
        <DigitNet as Tensors<f32>>::COUNT,
        <DigitNet as Tensors<f32>>::BUFFER_VALUES,
        <DigitNet as Tensors<f32>>::BUFFERS,
        path.display(),
        std::fs::metadata(&path)?.len()
    );

    // The file contains the statistics of `norm` as buffers, so the fresh network needs
    // no training data: loading restores them with the parameters.
    let mut loaded = DigitNet::new(SEED + 1);
    weights::load(&mut loaded, &path)?;
    if loaded.norm != net.norm {
        return Err(
            "the loaded network's standardisation statistics differ from the trained network's"
                .into(),
        );
    }

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
