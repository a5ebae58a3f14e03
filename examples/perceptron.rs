//! Trains a single-layer perceptron (logistic regression) to separate iris setosa from
//! the other two species by petal length and width, with the library's training loop.
//!
//! Run with `cargo run --example perceptron`.

mod common;

use std::error::Error;

use static_nn::prelude::*;

network! {
    /// Returns the logit of "this flower is a setosa" from petal length and width.
    struct Perceptron<f32> {
        input: [2],
        unit: Dense(1),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let iris = Dataset::<f32, 4, 3>::read_csv_classification(common::repo_path("data/iris.csv"))?;
    let inputs = iris
        .inputs()
        .iter()
        .map(|x| SVector::<f32, 2>::new(x[2], x[3]));
    let targets = iris
        .labels()
        .unwrap_or_default()
        .iter()
        .map(|&label| SVector::<f32, 1>::new(f32::from(label == 0)));
    let data = Dataset::<f32, 2, 1>::from_targets(inputs.collect(), targets.collect())?;

    let mut net = Perceptron::new(1);
    let mut optimizer = Sgd::new(SgdConfig {
        learning_rate: 0.1,
        ..SgdConfig::default()
    })?;
    let config = TrainConfig::<10>::new(50).seed(1).quiet();
    let history = fit(
        &mut net,
        &mut optimizer,
        &BinaryCrossEntropyWithLogits,
        &data,
        None,
        &config,
    )?;

    let correct = data
        .inputs()
        .iter()
        .zip(data.targets())
        .filter(|(x, t)| (net.forward(x)[0] > 0.0) == (t[0] > 0.5))
        .count();
    let loss = history.last().map_or(f64::NAN, |record| record.train_loss);
    println!(
        "after {} epochs: loss {loss:.4}, {correct} of {} flowers classified correctly",
        history.epochs.len(),
        data.len()
    );
    println!(
        "decision boundary: {:.3} * petal_length + {:.3} * petal_width + {:.3} = 0",
        net.unit.weight[0], net.unit.weight[1], net.unit.bias[0]
    );
    Ok(())
}
