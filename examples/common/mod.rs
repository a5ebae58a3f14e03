//! Helpers shared by the examples: paths into the repository, learning-curve plots, and
//! the predictions file of the digits network that `digits_baked` bakes.

// Each example compiles this module on its own and uses only some of it.
#![allow(dead_code)]

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use static_nn::core::train::History;

/// The weights and statistics of the trained digits network, relative to the repository
/// root. `cargo run --release --example digits -- --save` writes them, and
/// `examples/digits_baked.rs` bakes them with `#[weights]`.
pub const DIGITS_WEIGHTS: &str = "examples/digits_bake/digits.safetensors";

/// The predictions of that network on `data/digits_test.csv`, written next to it.
pub const DIGITS_PREDICTIONS: &str = "examples/digits_bake/predictions.txt";

/// The true class of one test image and the class a network predicted for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub label: usize,
    pub predicted: usize,
}

/// Formats predictions as `DIGITS_PREDICTIONS` stores them: comment lines starting with
/// `#`, then one line `sample <index> label <label> prediction <class>` per test image.
pub fn format_predictions(predictions: &[Prediction]) -> String {
    let correct = predictions
        .iter()
        .filter(|prediction| prediction.label == prediction.predicted)
        .count();
    let mut text = format!(
        "# Predictions of {DIGITS_WEIGHTS} on data/digits_test.csv, written by\n\
         # `cargo run --release --example digits -- --save`.\n\
         # test accuracy: {correct} of {}\n",
        predictions.len()
    );
    for (index, prediction) in predictions.iter().enumerate() {
        text.push_str(&format!(
            "sample {index} label {} prediction {}\n",
            prediction.label, prediction.predicted
        ));
    }
    text
}

/// Parses the predictions that `format_predictions` wrote. `path` names the file in
/// errors, which give the line, the text found and what was expected.
pub fn parse_predictions(text: &str, path: &Path) -> Result<Vec<Prediction>, String> {
    let mut predictions = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let invalid = |expected: &str| {
            format!(
                "{}:{}: found `{line}`, expected {expected}",
                path.display(),
                number + 1
            )
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ["sample", index, "label", label, "prediction", predicted] = fields[..] else {
            return Err(invalid("`sample <index> label <label> prediction <class>`"));
        };
        if index.parse() != Ok(predictions.len()) {
            return Err(invalid(&format!("sample number {}", predictions.len())));
        }
        let class = |text: &str| text.parse::<usize>().ok().filter(|&class| class < 10);
        let (Some(label), Some(predicted)) = (class(label), class(predicted)) else {
            return Err(invalid("a label and a prediction between 0 and 9"));
        };
        predictions.push(Prediction { label, predicted });
    }
    Ok(predictions)
}

/// A path relative to the repository root, so examples run from any directory.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Draws training and validation loss, and validation accuracy when present, against
/// the epoch, and writes the picture as SVG to `path`.
pub fn save_learning_curve(
    history: &History,
    title: &str,
    path: &Path,
) -> Result<(), Box<dyn Error>> {
    let epochs = history.epochs.len().max(2) as f64;
    let max_loss = history
        .epochs
        .iter()
        .flat_map(|record| [Some(record.train_loss), record.validation_loss])
        .flatten()
        .fold(0.0f64, f64::max)
        .max(1e-3);

    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .right_y_label_area_size(60)
        .build_cartesian_2d(1.0..epochs, 0.0..max_loss * 1.05)?
        .set_secondary_coord(1.0..epochs, 0.0..1.0);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss (mean cross-entropy)")
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("validation accuracy")
        .draw()?;

    let train: Vec<(f64, f64)> = history
        .epochs
        .iter()
        .map(|record| (record.epoch as f64, record.train_loss))
        .collect();
    chart
        .draw_series(LineSeries::new(train, &BLUE))?
        .label("training loss")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));

    let validation: Vec<(f64, f64)> = history
        .epochs
        .iter()
        .filter_map(|record| Some((record.epoch as f64, record.validation_loss?)))
        .collect();
    if !validation.is_empty() {
        chart
            .draw_series(LineSeries::new(validation, &RED))?
            .label("validation loss")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    }

    let accuracy: Vec<(f64, f64)> = history
        .epochs
        .iter()
        .filter_map(|record| Some((record.epoch as f64, record.validation_accuracy?)))
        .collect();
    if !accuracy.is_empty() {
        chart
            .draw_secondary_series(LineSeries::new(accuracy, &GREEN))?
            .label("validation accuracy (right axis)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
