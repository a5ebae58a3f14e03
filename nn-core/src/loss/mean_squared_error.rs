//! Mean squared error.

use crate::float::{Float, c};
use crate::loss::{ElementwiseLoss, impl_elementwise_loss};

/// Mean squared error, `mean((output - target)^2)` over all values of the batch.
///
/// Matches PyTorch's `nn.MSELoss()`. The gradient is `2 * (output - target) / (N * B)`.
///
/// ```
/// use nn_core::loss::{Loss, MeanSquaredError};
/// use nn_core::SMatrix;
///
/// let output = SMatrix::<f32, 2, 1>::new(1.0, 3.0);
/// let target = SMatrix::<f32, 2, 1>::new(0.0, 1.0);
/// let (loss, grad) = MeanSquaredError.loss_and_grad(&output, &target);
/// assert_eq!(loss, 2.5);
/// assert_eq!(grad, SMatrix::<f32, 2, 1>::new(1.0, 2.0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanSquaredError;

impl<T: Float> ElementwiseLoss<T> for MeanSquaredError {
    fn value(&self, output: T, target: T) -> T {
        let difference = output - target;
        difference * difference
    }

    fn derivative(&self, output: T, target: T) -> T {
        c::<T>(2.0) * (output - target)
    }
}

impl_elementwise_loss!(MeanSquaredError);

#[cfg(test)]
mod tests {
    use nalgebra::SMatrix;

    use super::*;
    use crate::loss::Loss;
    use crate::loss::testing::max_grad_error;

    #[test]
    fn value_and_gradient_by_hand() {
        // Differences 0.5, -1, 2, 0 over 4 values: loss (0.25 + 1 + 4 + 0) / 4.
        let output = SMatrix::<f64, 2, 2>::new(1.5, 1.0, -1.0, 3.0);
        let target = SMatrix::<f64, 2, 2>::new(1.0, -1.0, 0.0, 3.0);
        let (loss, grad) = MeanSquaredError.loss_and_grad(&output, &target);
        assert_eq!(loss, 1.3125);
        assert_eq!(grad, SMatrix::<f64, 2, 2>::new(0.25, 1.0, -0.5, 0.0));
        assert_eq!(MeanSquaredError.loss(&output, &target), loss);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let output = SMatrix::<f64, 3, 2>::new(0.3, -1.2, 2.0, 0.7, 0.1, -0.4);
        let target = SMatrix::<f64, 3, 2>::new(0.0, 1.0, 2.5, -0.3, 0.2, 0.9);
        let (_, grad) = MeanSquaredError.loss_and_grad(&output, &target);
        let error = max_grad_error(|o| MeanSquaredError.loss(o, &target), &output, &grad);
        assert!(error < 1e-8, "gradient error {error}");
    }

    #[test]
    fn gradient_does_not_grow_with_batch() {
        let single = SMatrix::<f32, 1, 1>::new(2.0);
        let many = SMatrix::<f32, 1, 8>::repeat(2.0);
        let (_, grad_one) = MeanSquaredError.loss_and_grad(&single, &SMatrix::zeros());
        let (_, grad_many) = MeanSquaredError.loss_and_grad(&many, &SMatrix::zeros());
        let total: f32 = grad_many.iter().sum();
        assert_eq!(total, grad_one[0]);
    }

    #[test]
    fn empty_batch_has_zero_loss() {
        let empty = SMatrix::<f32, 3, 0>::zeros();
        assert_eq!(MeanSquaredError.loss(&empty, &empty), 0.0);
    }
}
