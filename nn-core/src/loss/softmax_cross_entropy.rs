//! Softmax cross-entropy on logits.

use nalgebra::SMatrix;

use crate::float::Float;
use crate::loss::{ClassLoss, Loss, LossError, mean_factor};

/// Softmax cross-entropy on logits: sums over the `N` classes of a sample and averages
/// over the `B` samples of the batch.
///
/// Each column of the output contains a sample's logits (values before the softmax). For a
/// target distribution `t` the loss of a sample is `-sum_i t_i * log(softmax(x)_i)`, as
/// PyTorch's `nn.CrossEntropyLoss()` with probability targets; with integer labels
/// ([`ClassLoss`]) it is `-log(softmax(x)_label)`, as `nn.CrossEntropyLoss()` with class
/// indices.
///
/// The log-softmax is computed as `x_i - max(x) - log(sum_j exp(x_j - max(x)))`. So
/// logits whose differences are finite (such as +-1000 in `f32`, or all equal and huge)
/// give a finite loss and gradient. Classes with target 0 contribute nothing, even where
/// their probability rounds to 0. The gradient is `softmax(x) * sum(t) - t` per
/// sample, which is `softmax(x) - t` for targets that sum to 1, divided by `B`.
///
/// Put no softmax layer before this loss; apply the softmax at inference time instead.
///
/// ```
/// use nn_core::loss::{ClassLoss, SoftmaxCrossEntropy};
/// use nn_core::SMatrix;
///
/// // Two samples with three classes each: equal logits, and a confident right answer.
/// let logits = SMatrix::<f32, 3, 2>::new(0.0, 1000.0, 0.0, -1000.0, 0.0, -1000.0);
/// let (loss, grad) = SoftmaxCrossEntropy.loss_and_grad_labels(&logits, &[2, 0])?;
/// assert_eq!(loss, 3.0_f32.ln() / 2.0);
/// assert_eq!(grad.column(1).sum(), 0.0);
///
/// // A label must name one of the 3 classes.
/// assert!(SoftmaxCrossEntropy.loss_labels(&logits, &[2, 3]).is_err());
/// # Ok::<(), nn_core::loss::LossError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

/// Writes `exp(x_i - max(x))` of one sample's logits `x` to `exps` and returns `max(x)`
/// and the sum of the written values, which is at least 1 when every logit is finite.
///
/// The gradient divides each exponential by the sum instead of exponentiating the
/// log-probability again, which halves the calls of `exp`.
///
/// A NaN or infinite logit makes the sum NaN (or 0 when every logit is minus infinity),
/// so it shows in the loss and the gradient.
fn shifted_exps<T: Float>(logits: &[T], exps: &mut [T]) -> (T, T) {
    let max = logits
        .iter()
        .fold(T::min_value().unwrap_or(T::zero()), |m, &v| {
            if v > m { v } else { m }
        });
    let mut sum = T::zero();
    for (exp, &logit) in exps.iter_mut().zip(logits) {
        *exp = (logit - max).exp();
        sum += *exp;
    }
    (max, sum)
}

impl<T: Float, const N: usize> Loss<T, N> for SoftmaxCrossEntropy {
    fn loss_and_grad<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        target: &SMatrix<T, N, B>,
    ) -> (T, SMatrix<T, N, B>) {
        let scale = mean_factor::<T>(B);
        let mut total = T::zero();
        let mut grad = SMatrix::<T, N, B>::zeros();
        let columns = output.as_slice().chunks_exact(N.max(1));
        let target_columns = target.as_slice().chunks_exact(N.max(1));
        let grad_columns = grad.as_mut_slice().chunks_exact_mut(N.max(1));
        for ((logits, targets), grad) in columns.zip(target_columns).zip(grad_columns) {
            let (max, sum) = shifted_exps(logits, grad);
            let log_sum = sum.ln();
            let target_sum = targets.iter().fold(T::zero(), |total, &t| total + t);
            for ((grad, &logit), &t) in grad.iter_mut().zip(logits).zip(targets) {
                // Skipping zero targets keeps 0 * log(0) = NaN out of the loss.
                if t != T::zero() {
                    total -= t * ((logit - max) - log_sum);
                }
                *grad = (*grad / sum * target_sum - t) * scale;
            }
        }
        (total * scale, grad)
    }
}

impl<T: Float, const N: usize> ClassLoss<T, N> for SoftmaxCrossEntropy {
    fn loss_and_grad_labels<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        labels: &[usize; B],
    ) -> Result<(T, SMatrix<T, N, B>), LossError> {
        check_labels::<N, B>(labels)?;
        let scale = mean_factor::<T>(B);
        let mut total = T::zero();
        let mut grad = SMatrix::<T, N, B>::zeros();
        let columns = output.as_slice().chunks_exact(N.max(1));
        let grad_columns = grad.as_mut_slice().chunks_exact_mut(N.max(1));
        for ((logits, grad), &label) in columns.zip(grad_columns).zip(labels) {
            let (max, sum) = shifted_exps(logits, grad);
            total += sum.ln() - (logits[label] - max);
            for (class, grad) in grad.iter_mut().enumerate() {
                let one_hot = if class == label { T::one() } else { T::zero() };
                *grad = (*grad / sum - one_hot) * scale;
            }
        }
        Ok((total * scale, grad))
    }
}

/// Checks that every label names one of the `N` classes.
fn check_labels<const N: usize, const B: usize>(labels: &[usize; B]) -> Result<(), LossError> {
    match labels.iter().position(|&label| label >= N) {
        Some(sample) => Err(LossError::LabelOutOfRange {
            sample,
            label: labels[sample],
            classes: N,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::SMatrix;

    use super::*;
    use crate::loss::testing::max_grad_error;

    /// Turns labels into one-hot columns.
    fn one_hot<const N: usize, const B: usize>(labels: &[usize; B]) -> SMatrix<f64, N, B> {
        SMatrix::from_fn(|class, sample| if labels[sample] == class { 1.0 } else { 0.0 })
    }

    #[test]
    fn value_by_hand() {
        // Logits (0, ln 3): softmax (1/4, 3/4), so label 1 costs ln(4/3) and label 0 ln 4.
        let logits = SMatrix::<f64, 2, 2>::new(0.0, 0.0, 3.0_f64.ln(), 3.0_f64.ln());
        let (loss, grad) = SoftmaxCrossEntropy
            .loss_and_grad_labels(&logits, &[1, 0])
            .unwrap();
        let expected = ((4.0_f64 / 3.0).ln() + 4.0_f64.ln()) / 2.0;
        assert!((loss - expected).abs() < 1e-15, "{loss} against {expected}");
        let expected_grad = SMatrix::<f64, 2, 2>::new(0.125, -0.375, -0.125, 0.375);
        assert!((grad - expected_grad).abs().max() < 1e-15, "{grad}");
    }

    #[test]
    fn labels_agree_with_one_hot_targets() {
        let logits = SMatrix::<f64, 4, 3>::from_fn(|r, c| (r as f64 - 1.5) * (c as f64 + 0.5));
        let labels = [3, 0, 2];
        let (loss, grad) = SoftmaxCrossEntropy
            .loss_and_grad_labels(&logits, &labels)
            .unwrap();
        let (soft_loss, soft_grad) = SoftmaxCrossEntropy.loss_and_grad(&logits, &one_hot(&labels));
        assert!(
            (loss - soft_loss).abs() < 1e-15,
            "{loss} against {soft_loss}"
        );
        assert!((grad - soft_grad).abs().max() < 1e-15);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let logits = SMatrix::<f64, 3, 2>::new(0.3, -1.2, 2.0, 0.7, 5.0, -4.0);
        let labels = [1, 2];
        let (_, grad) = SoftmaxCrossEntropy
            .loss_and_grad_labels(&logits, &labels)
            .unwrap();
        let loss = |o: &SMatrix<f64, 3, 2>| SoftmaxCrossEntropy.loss_labels(o, &labels).unwrap();
        let error = max_grad_error(loss, &logits, &grad);
        assert!(error < 1e-8, "label gradient error {error}");

        // Soft targets that do not sum to 1 exercise the `sum(t)` factor.
        let targets = SMatrix::<f64, 3, 2>::new(0.2, 0.5, 0.3, 0.0, 0.6, 0.9);
        let (_, grad) = SoftmaxCrossEntropy.loss_and_grad(&logits, &targets);
        let loss = |o: &SMatrix<f64, 3, 2>| SoftmaxCrossEntropy.loss(o, &targets);
        let error = max_grad_error(loss, &logits, &grad);
        assert!(error < 1e-8, "soft-target gradient error {error}");
    }

    #[test]
    fn huge_logits_stay_finite_in_f32() {
        let logits = SMatrix::<f32, 3, 1>::new(1000.0, -1000.0, 0.0);
        let (loss, grad) = SoftmaxCrossEntropy
            .loss_and_grad_labels(&logits, &[1])
            .unwrap();
        assert_eq!(loss, 2000.0);
        assert_eq!(grad, SMatrix::<f32, 3, 1>::new(1.0, -1.0, 0.0));

        let targets = SMatrix::<f32, 3, 1>::new(0.0, 0.0, 1.0);
        let (loss, grad) = SoftmaxCrossEntropy.loss_and_grad(&logits, &targets);
        assert_eq!(loss, 1000.0);
        assert_eq!(grad, SMatrix::<f32, 3, 1>::new(1.0, 0.0, -1.0));
    }

    #[test]
    fn equal_huge_logits_give_uniform_probabilities() {
        let logits = SMatrix::<f32, 4, 1>::repeat(3.0e38);
        let (loss, grad) = SoftmaxCrossEntropy
            .loss_and_grad_labels(&logits, &[2])
            .unwrap();
        assert!((loss - 4.0_f32.ln()).abs() < 1e-6, "loss {loss}");
        let expected = SMatrix::<f32, 4, 1>::new(0.25, 0.25, -0.75, 0.25);
        assert!((grad - expected).abs().max() < 1e-6, "gradient {grad}");
    }

    #[test]
    fn label_out_of_range_is_an_error() {
        let logits = SMatrix::<f32, 3, 2>::zeros();
        let error = SoftmaxCrossEntropy
            .loss_and_grad_labels(&logits, &[0, 3])
            .unwrap_err();
        assert_eq!(
            error,
            LossError::LabelOutOfRange {
                sample: 1,
                label: 3,
                classes: 3
            }
        );
        assert_eq!(
            std::format!("{error}"),
            "label 3 of sample 1 is out of range: expected a class index below 3"
        );
        assert!(
            SoftmaxCrossEntropy
                .loss_labels(&logits, &[usize::MAX, 0])
                .is_err()
        );
    }

    #[test]
    fn nan_logit_shows_in_the_loss() {
        let logits = SMatrix::<f32, 3, 1>::new(0.0, f32::NAN, 1.0);
        let loss = SoftmaxCrossEntropy.loss_labels(&logits, &[0]).unwrap();
        assert!(loss.is_nan(), "loss {loss}");
    }
}
