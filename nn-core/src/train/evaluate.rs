//! Inference-mode evaluation of a network on a dataset.

use nalgebra::{SMatrix, SVector};

use crate::data::Dataset;
use crate::float::Float;
use crate::layer::Layer;
use crate::loss::Loss;

/// The mean loss and, for classification sets, the accuracy on a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss per sample.
    pub loss: f64,
    /// The fraction of samples whose largest output is the true class.
    pub accuracy: Option<f64>,
    /// The number of samples evaluated.
    pub samples: usize,
}

/// Evaluates `net` on `data` in inference mode (dropout off), `B` samples at a time.
pub fn evaluate<T, N, L, const IN: usize, const OUT: usize, const B: usize>(
    net: &N,
    loss: &L,
    data: &Dataset<T, IN, OUT>,
) -> Evaluation
where
    T: Float,
    N: Layer<T, IN, OUT>,
    L: Loss<T, OUT>,
{
    let mut total_loss = 0.0;
    let mut correct = 0usize;
    let labels = data.labels();
    let count = data.len();

    let mut start = 0;
    while start < count {
        let len = (count - start).min(B);
        let inputs = SMatrix::<T, IN, B>::from_fn(|row, col| {
            if col < len {
                data.inputs()[start + col][row]
            } else {
                T::zero()
            }
        });
        let outputs = net.forward(&inputs);
        for col in 0..len {
            let output: SVector<T, OUT> = outputs.column(col).into_owned();
            let target = &data.targets()[start + col];
            total_loss += loss.loss(&output, target).as_f64();
            if let Some(labels) = labels
                && output.imax() == labels[start + col]
            {
                correct += 1;
            }
        }
        start += len;
    }

    let samples = count.max(1) as f64;
    Evaluation {
        loss: total_loss / samples,
        accuracy: labels.map(|_| correct as f64 / samples),
        samples: count,
    }
}
