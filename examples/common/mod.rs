//! Helpers shared by the examples: paths into the repository and learning-curve plots.

// Each example compiles this module on its own and uses only some of it.
#![allow(dead_code)]

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use static_nn::core::train::History;

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
