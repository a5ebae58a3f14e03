//! Binary cross-entropy on logits.

use crate::float::Float;
use crate::loss::{ElementwiseLoss, impl_elementwise_loss};

/// Binary cross-entropy on logits, averaged over all values of the batch.
///
/// Each output value is a logit `x` (a value before the sigmoid) with a target
/// probability `t` in `[0, 1]`. The loss is `-(t * log(s) + (1 - t) * log(1 - s))` for
/// `s = sigmoid(x)`, as PyTorch's `nn.BCEWithLogitsLoss()`. It is computed as
/// `max(x, 0) - x * t + log(1 + exp(-|x|))`, which never takes `log(0)`, so logits of
/// any finite size and targets of exactly 0 or 1 give a finite loss. The derivative is
/// `sigmoid(x) - t`.
///
/// Put no sigmoid layer before this loss; apply the sigmoid at inference time instead.
///
/// ```
/// use nn_core::loss::{BinaryCrossEntropyWithLogits, Loss};
/// use nn_core::SMatrix;
///
/// let logits = SMatrix::<f32, 1, 2>::new(0.0, -1000.0);
/// let targets = SMatrix::<f32, 1, 2>::new(1.0, 1.0);
/// let (loss, grad) = BinaryCrossEntropyWithLogits.loss_and_grad(&logits, &targets);
/// assert_eq!(loss, (core::f32::consts::LN_2 + 1000.0) / 2.0);
/// assert_eq!(grad, SMatrix::<f32, 1, 2>::new(-0.25, -0.5));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropyWithLogits;

impl<T: Float> ElementwiseLoss<T> for BinaryCrossEntropyWithLogits {
    fn value(&self, output: T, target: T) -> T {
        let positive_part = if output > T::zero() {
            output
        } else {
            T::zero()
        };
        positive_part - output * target + (-output.abs()).exp().ln_1p()
    }

    fn derivative(&self, output: T, target: T) -> T {
        sigmoid(output) - target
    }
}

impl_elementwise_loss!(BinaryCrossEntropyWithLogits);

/// Computes the logistic sigmoid, exponentiating only non-positive numbers so that `exp`
/// cannot overflow.
fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::SMatrix;

    use super::*;
    use crate::loss::Loss;
    use crate::loss::testing::max_grad_error;

    /// Computes the textbook formula, which is accurate for moderate logits.
    fn naive(x: f64, t: f64) -> f64 {
        let s = 1.0 / (1.0 + (-x).exp());
        -(t * s.ln() + (1.0 - t) * (1.0 - s).ln())
    }

    #[test]
    fn value_matches_textbook_formula() {
        let logits = SMatrix::<f64, 2, 2>::new(0.3, -2.0, 4.0, -0.7);
        let targets = SMatrix::<f64, 2, 2>::new(1.0, 0.0, 0.25, 0.9);
        let expected = logits
            .iter()
            .zip(targets.iter())
            .map(|(&x, &t)| naive(x, t))
            .sum::<f64>()
            / 4.0;
        let loss = BinaryCrossEntropyWithLogits.loss(&logits, &targets);
        assert!((loss - expected).abs() < 1e-14, "{loss} against {expected}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let logits = SMatrix::<f64, 3, 2>::new(0.3, -1.2, 2.0, 0.7, 8.0, -9.0);
        let targets = SMatrix::<f64, 3, 2>::new(0.0, 1.0, 0.5, 1.0, 0.0, 0.2);
        let (_, grad) = BinaryCrossEntropyWithLogits.loss_and_grad(&logits, &targets);
        let loss = |o: &SMatrix<f64, 3, 2>| BinaryCrossEntropyWithLogits.loss(o, &targets);
        let error = max_grad_error(loss, &logits, &grad);
        assert!(error < 1e-8, "gradient error {error}");
    }

    #[test]
    fn huge_logits_stay_finite_in_f32() {
        // Confident right and wrong predictions, with targets of exactly 0 and 1.
        let logits = SMatrix::<f32, 4, 1>::new(1000.0, -1000.0, 1000.0, -1000.0);
        let targets = SMatrix::<f32, 4, 1>::new(1.0, 0.0, 0.0, 1.0);
        let (loss, grad) = BinaryCrossEntropyWithLogits.loss_and_grad(&logits, &targets);
        assert_eq!(loss, 500.0);
        assert_eq!(grad, SMatrix::<f32, 4, 1>::new(0.0, 0.0, 0.25, -0.25));
    }

    #[test]
    fn sigmoid_is_symmetric_and_bounded() {
        for x in [0.0_f32, 0.5, 3.0, 20.0, 100.0, 1000.0] {
            let sum = sigmoid(x) + sigmoid(-x);
            assert!(
                (sum - 1.0).abs() < 1e-6,
                "sigmoid({x}) + sigmoid(-{x}) = {sum}"
            );
            assert!(
                (0.0..=1.0).contains(&sigmoid(x)),
                "sigmoid({x}) = {}",
                sigmoid(x)
            );
        }
    }
}
