//! Trains a 4-16-3 network on Fisher's iris measurements (112 training, 38 test flowers)
//! and prints the test accuracy and confusion matrix.
//!
//! Run with `cargo run --release --example iris`.

mod common;

use std::error::Error;

use static_nn::prelude::*;

network! {
    /// Classifies iris flowers from sepal and petal length and width in centimetres.
    pub struct IrisNet<f32> {
        input: [4],
        norm: Standardize<f32, 4> -> [4],
        hidden: Dense(16), Tanh,
        out: Dense(3),
    }
}

const SEED: u64 = 7;
const EPOCHS: usize = 80;
const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

fn main() -> Result<(), Box<dyn Error>> {
    let train =
        Dataset::<f32, 4, 3>::read_csv_classification(common::repo_path("data/iris_train.csv"))?;
    let test =
        Dataset::<f32, 4, 3>::read_csv_classification(common::repo_path("data/iris_test.csv"))?;

    let mut net = IrisNet::new(SEED);
    net.norm = Standardizer::fit(train.inputs())?.to_layer();
    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: 1e-2,
        ..AdamConfig::default()
    })?;
    let config = TrainConfig::<16>::new(EPOCHS).seed(SEED);
    let history = fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )?;
    if let Some(last) = history.last() {
        println!("final training loss {:.4}", last.train_loss);
    }

    let mut confusion = ConfusionMatrix::<3>::default();
    for (x, &label) in test.inputs().iter().zip(test.labels().unwrap_or_default()) {
        confusion.add(label, argmax(&net.forward(x)))?;
    }
    println!(
        "test accuracy: {:.2}% ({} of {})",
        confusion.accuracy() * 100.0,
        confusion.correct(),
        confusion.total()
    );
    println!(
        "classes: {}",
        SPECIES
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{i} = {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("{confusion}");
    Ok(())
}
