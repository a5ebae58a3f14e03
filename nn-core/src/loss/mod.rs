//! Loss functions and their gradients.
//!
//! A loss compares a network's output for a batch (one sample per column) with the
//! targets and returns the mean loss together with its gradient with respect to the
//! output, which is what a network's `backward` takes. Reductions follow PyTorch's
//! default `reduction="mean"`:
//!
//! - [`MeanSquaredError`], [`Huber`] and [`BinaryCrossEntropyWithLogits`] average over all
//!   `N * B` values of the batch;
//! - [`SoftmaxCrossEntropy`] sums over the `N` classes of a sample and averages over the
//!   `B` samples.
//!
//! Either way the gradient does not grow with the batch size. An empty batch (`B = 0`)
//! has loss 0.
//!
//! The cross-entropy losses take logits (values before a sigmoid or softmax). They are
//! written so that logits of any finite size, such as +-1000 in `f32`, give a finite loss
//! and gradient. Targets of exactly 0 or 1 never evaluate `log(0)`.

mod binary_cross_entropy;
mod huber;
mod mean_squared_error;
mod softmax_cross_entropy;

use core::fmt;

use nalgebra::SMatrix;

use crate::float::Float;

pub use binary_cross_entropy::BinaryCrossEntropyWithLogits;
pub use huber::Huber;
pub use mean_squared_error::MeanSquaredError;
pub use softmax_cross_entropy::SoftmaxCrossEntropy;

/// A loss between a batch of outputs and a batch of targets of the same shape.
///
/// `N` is the number of outputs per sample and each column is one sample, so a target
/// matrix of the wrong shape is a type error.
pub trait Loss<T: Float, const N: usize> {
    /// Returns the mean loss over the batch and its gradient with respect to `output`.
    fn loss_and_grad<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        target: &SMatrix<T, N, B>,
    ) -> (T, SMatrix<T, N, B>);

    /// Returns the mean loss over the batch.
    fn loss<const B: usize>(&self, output: &SMatrix<T, N, B>, target: &SMatrix<T, N, B>) -> T {
        self.loss_and_grad(output, target).0
    }
}

/// A classification loss that takes one integer class label per sample.
///
/// `labels` is an array of exactly `B` labels, so a label array that does not match the
/// batch is a type error. Each label must be below `N`, the number of classes.
pub trait ClassLoss<T: Float, const N: usize> {
    /// Returns the mean loss over the batch and its gradient with respect to `output`.
    ///
    /// # Errors
    ///
    /// [`LossError::LabelOutOfRange`] for the first label that is not below `N`.
    fn loss_and_grad_labels<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        labels: &[usize; B],
    ) -> Result<(T, SMatrix<T, N, B>), LossError>;

    /// Returns the mean loss over the batch.
    ///
    /// # Errors
    ///
    /// [`LossError::LabelOutOfRange`] for the first label that is not below `N`.
    fn loss_labels<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        labels: &[usize; B],
    ) -> Result<T, LossError> {
        self.loss_and_grad_labels(output, labels)
            .map(|(loss, _)| loss)
    }
}

/// An invalid loss setting or label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossError {
    /// A class label is not below the number of classes.
    LabelOutOfRange {
        /// The sample (batch column) whose label is invalid.
        sample: usize,
        /// The label.
        label: usize,
        /// The number of classes, `N`.
        classes: usize,
    },
    /// A loss parameter is outside its valid range.
    InvalidParameter {
        /// The loss, such as `Huber`.
        loss: &'static str,
        /// The parameter, such as `delta`.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// The valid range, such as `a positive finite number`.
        expected: &'static str,
    },
}

impl fmt::Display for LossError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LabelOutOfRange {
                sample,
                label,
                classes,
            } => write!(
                f,
                "label {label} of sample {sample} is out of range: expected a class index below {classes}"
            ),
            Self::InvalidParameter {
                loss,
                name,
                value,
                expected,
            } => write!(f, "invalid {loss} {name} {value}: expected {expected}"),
        }
    }
}

impl core::error::Error for LossError {}

/// A loss computed value by value, averaged over all `N * B` values.
pub(crate) trait ElementwiseLoss<T: Float> {
    /// The loss of one output value against its target.
    fn value(&self, output: T, target: T) -> T;

    /// The derivative of [`value`](Self::value) with respect to `output`.
    fn derivative(&self, output: T, target: T) -> T;
}

/// Returns `1 / count` as `T`, or 0 for an empty batch.
fn mean_factor<T: Float>(count: usize) -> T {
    if count == 0 {
        T::zero()
    } else {
        T::one() / T::from_f64_lossy(count as f64)
    }
}

/// Averages an element-wise loss over the batch and scales its derivatives to match.
fn elementwise_loss_and_grad<T, L, const N: usize, const B: usize>(
    loss: &L,
    output: &SMatrix<T, N, B>,
    target: &SMatrix<T, N, B>,
) -> (T, SMatrix<T, N, B>)
where
    T: Float,
    L: ElementwiseLoss<T>,
{
    let scale = mean_factor::<T>(N * B);
    let mut total = T::zero();
    let grad = SMatrix::<T, N, B>::from_fn(|row, column| {
        let (o, t) = (output[(row, column)], target[(row, column)]);
        total += loss.value(o, t);
        loss.derivative(o, t) * scale
    });
    (total * scale, grad)
}

/// Averages an element-wise loss over the batch.
fn elementwise_loss<T, L, const N: usize, const B: usize>(
    loss: &L,
    output: &SMatrix<T, N, B>,
    target: &SMatrix<T, N, B>,
) -> T
where
    T: Float,
    L: ElementwiseLoss<T>,
{
    let total = output
        .iter()
        .zip(target.iter())
        .fold(T::zero(), |sum, (&o, &t)| sum + loss.value(o, t));
    total * mean_factor::<T>(N * B)
}

/// Implements [`Loss`] for a type that implements [`ElementwiseLoss`].
macro_rules! impl_elementwise_loss {
    ($ty:ty) => {
        impl<T: $crate::float::Float, const N: usize> $crate::loss::Loss<T, N> for $ty {
            fn loss_and_grad<const B: usize>(
                &self,
                output: &nalgebra::SMatrix<T, N, B>,
                target: &nalgebra::SMatrix<T, N, B>,
            ) -> (T, nalgebra::SMatrix<T, N, B>) {
                $crate::loss::elementwise_loss_and_grad(self, output, target)
            }

            fn loss<const B: usize>(
                &self,
                output: &nalgebra::SMatrix<T, N, B>,
                target: &nalgebra::SMatrix<T, N, B>,
            ) -> T {
                $crate::loss::elementwise_loss(self, output, target)
            }
        }
    };
}
pub(crate) use impl_elementwise_loss;

/// Test helpers: central finite differences of a loss in `f64`.
#[cfg(test)]
pub(crate) mod testing {
    use nalgebra::SMatrix;

    /// Returns the largest difference between `grad` and the central finite difference of
    /// `loss` at `output`, relative to `max(1, |derivative|)`.
    pub(crate) fn max_grad_error<const N: usize, const B: usize>(
        loss: impl Fn(&SMatrix<f64, N, B>) -> f64,
        output: &SMatrix<f64, N, B>,
        grad: &SMatrix<f64, N, B>,
    ) -> f64 {
        let step = 1e-6;
        let mut worst = 0.0_f64;
        for index in 0..N * B {
            let mut moved = *output;
            moved[index] = output[index] + step;
            let plus = loss(&moved);
            moved[index] = output[index] - step;
            let minus = loss(&moved);
            let numeric = (plus - minus) / (2.0 * step);
            let scale = numeric.abs().max(grad[index].abs()).max(1.0);
            let error = (numeric - grad[index]).abs() / scale;
            // A NaN error must show, so it replaces any finite one.
            if error.is_nan() || error > worst {
                worst = error;
            }
        }
        worst
    }
}
