//! Huber loss.

use crate::float::{Float, c};
use crate::loss::{ElementwiseLoss, LossError, impl_elementwise_loss};

/// Huber loss: quadratic for differences up to `delta`, linear beyond, averaged over all
/// values of the batch.
///
/// For `d = output - target` each value contributes `d^2 / 2` when `|d| <= delta` and
/// `delta * (|d| - delta / 2)` otherwise, as PyTorch's `nn.HuberLoss(delta=delta)`. The
/// derivative is `d` inside and `delta * sign(d)` outside, so outliers pull with a bounded
/// force.
///
/// ```
/// use nn_core::loss::{Huber, Loss};
/// use nn_core::SMatrix;
///
/// let huber = Huber::new(1.0)?;
/// let output = SMatrix::<f32, 2, 1>::new(0.5, 4.0);
/// let (loss, grad) = huber.loss_and_grad(&output, &SMatrix::zeros());
/// assert_eq!(loss, (0.125 + 3.5) / 2.0);
/// assert_eq!(grad, SMatrix::<f32, 2, 1>::new(0.25, 0.5));
/// # Ok::<(), nn_core::loss::LossError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    delta: f64,
}

impl Huber {
    /// Creates a Huber loss that turns linear at differences larger than `delta`.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameter`] unless `delta` is positive and finite.
    pub fn new(delta: f64) -> Result<Self, LossError> {
        if delta > 0.0 && delta.is_finite() {
            Ok(Self { delta })
        } else {
            Err(LossError::InvalidParameter {
                loss: "Huber",
                name: "delta",
                value: delta,
                expected: "a positive finite number",
            })
        }
    }

    /// The difference at which the loss turns from quadratic to linear.
    pub fn delta(&self) -> f64 {
        self.delta
    }
}

impl Default for Huber {
    /// `delta = 1`, PyTorch's default.
    fn default() -> Self {
        Self { delta: 1.0 }
    }
}

impl<T: Float> ElementwiseLoss<T> for Huber {
    fn value(&self, output: T, target: T) -> T {
        let delta = c::<T>(self.delta);
        let distance = (output - target).abs();
        if distance <= delta {
            c::<T>(0.5) * distance * distance
        } else {
            delta * (distance - c::<T>(0.5) * delta)
        }
    }

    fn derivative(&self, output: T, target: T) -> T {
        let delta = c::<T>(self.delta);
        let difference = output - target;
        if difference > delta {
            delta
        } else if difference < -delta {
            -delta
        } else {
            difference
        }
    }
}

impl_elementwise_loss!(Huber);

#[cfg(test)]
mod tests {
    use nalgebra::SMatrix;

    use super::*;
    use crate::loss::Loss;
    use crate::loss::testing::max_grad_error;

    #[test]
    fn value_and_gradient_by_hand() {
        // delta = 2; differences 1 (quadratic), -3 and 5 (linear), 2 (the boundary).
        // Values 0.5, 2 * (3 - 1) = 4, 2 * (5 - 1) = 8, 2; mean 14.5 / 4.
        let huber = Huber::new(2.0).unwrap();
        let output = SMatrix::<f64, 4, 1>::new(1.0, -3.0, 5.0, 2.0);
        let (loss, grad) = huber.loss_and_grad(&output, &SMatrix::zeros());
        assert_eq!(loss, 3.625);
        assert_eq!(grad, SMatrix::<f64, 4, 1>::new(0.25, -0.5, 0.5, 0.5));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let huber = Huber::new(0.7).unwrap();
        let output = SMatrix::<f64, 3, 2>::new(0.3, -1.2, 2.0, 0.7, 0.1, -0.4);
        let target = SMatrix::<f64, 3, 2>::new(0.0, 1.0, 2.5, -0.3, 0.2, 0.9);
        let (_, grad) = huber.loss_and_grad(&output, &target);
        let error = max_grad_error(|o| huber.loss(o, &target), &output, &grad);
        assert!(error < 1e-8, "gradient error {error}");
    }

    #[test]
    fn huge_differences_stay_finite() {
        let output = SMatrix::<f32, 2, 1>::new(1.0e38, -1.0e38);
        let (loss, grad) = Huber::default().loss_and_grad(&output, &SMatrix::zeros());
        assert!(loss.is_finite(), "loss {loss}");
        assert_eq!(grad, SMatrix::<f32, 2, 1>::new(0.5, -0.5));
    }

    #[test]
    fn invalid_delta_is_an_error() {
        for delta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let error = Huber::new(delta).unwrap_err();
            assert!(
                matches!(error, LossError::InvalidParameter { name: "delta", .. }),
                "delta {delta} gave {error:?}"
            );
        }
        let message = std::format!("{}", Huber::new(-1.0).unwrap_err());
        assert_eq!(
            message,
            "invalid Huber delta -1: expected a positive finite number"
        );
    }
}
