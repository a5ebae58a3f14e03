//! Gradient clipping.

use crate::float::{Float, c};
use crate::optim::{OptimError, check_non_negative};
use crate::tensors::Tensors;

/// Returns the Euclidean (L2) norm of all gradient values together, computed in `f64`.
///
/// Values whose squares overflow `f64` are rescaled first, so only a norm beyond
/// `f64::MAX` is infinite. A NaN value gives a NaN norm.
pub fn grad_norm<T: Float, G: Tensors<T>>(grads: &G) -> f64 {
    let sum_of_squares = fold_values(grads, 0.0, |sum, x| sum + x * x);
    if sum_of_squares.is_finite() || sum_of_squares.is_nan() {
        return libm::sqrt(sum_of_squares);
    }

    // Some square overflowed: divide by the largest magnitude before squaring.
    let largest = fold_values(grads, 0.0, |max: f64, x| max.max(x.abs()));
    if !largest.is_finite() {
        return largest;
    }
    let scaled = fold_values(grads, 0.0, |sum, x| {
        let ratio = x / largest;
        sum + ratio * ratio
    });
    largest * libm::sqrt(scaled)
}

/// Folds `f` over every gradient value, converted to `f64`.
fn fold_values<T: Float, G: Tensors<T>>(grads: &G, init: f64, f: impl Fn(f64, f64) -> f64) -> f64 {
    let mut accumulator = init;
    for tensor in 0..G::COUNT {
        for &value in grads.tensor(tensor).unwrap_or(&[]) {
            accumulator = f(accumulator, value.as_f64());
        }
    }
    accumulator
}

/// Scales the gradients so that their global L2 norm is at most `max_norm`, and returns
/// the norm before clipping.
///
/// Follows PyTorch's `torch.nn.utils.clip_grad_norm_`: when the norm exceeds `max_norm`,
/// every value is multiplied by `max_norm / (norm + 1e-6)`. Unlike PyTorch, gradients
/// with a NaN or infinite norm are left unchanged; the returned norm shows it, so the
/// caller can skip the step.
///
/// ```
/// use nn_core::bytemuck::Zeroable;
/// use nn_core::optim::clip_grad_norm;
/// use nn_core::DenseGrads;
///
/// let mut grads = DenseGrads::<f64, 1, 2>::zeroed();
/// grads.weight[(0, 0)] = 3.0;
/// grads.bias[1] = 4.0;
/// let norm = clip_grad_norm(&mut grads, 1.0)?;
/// assert_eq!(norm, 5.0);
/// assert!((grads.weight[(0, 0)] - 0.6).abs() < 1e-6);
/// # Ok::<(), nn_core::optim::OptimError>(())
/// ```
///
/// # Errors
///
/// [`OptimError::InvalidSetting`] if `max_norm` is negative or not finite; the
/// gradients are then unchanged.
pub fn clip_grad_norm<T: Float, G: Tensors<T>>(
    grads: &mut G,
    max_norm: f64,
) -> Result<f64, OptimError> {
    check_non_negative("clip_grad_norm", "max_norm", max_norm)?;
    let norm = grad_norm(grads);
    if norm.is_finite() && norm > max_norm {
        let factor = c::<T>(max_norm / (norm + 1e-6));
        for_each_value(grads, |value| *value *= factor);
    }
    Ok(norm)
}

/// Clamps every gradient value to `[-max_value, max_value]`, as PyTorch's
/// `torch.nn.utils.clip_grad_value_`. NaN values stay NaN.
///
/// # Errors
///
/// [`OptimError::InvalidSetting`] if `max_value` is negative or not finite; the
/// gradients are then unchanged.
pub fn clip_grad_value<T: Float, G: Tensors<T>>(
    grads: &mut G,
    max_value: f64,
) -> Result<(), OptimError> {
    check_non_negative("clip_grad_value", "max_value", max_value)?;
    let limit = c::<T>(max_value);
    for_each_value(grads, |value| {
        if *value > limit {
            *value = limit;
        } else if *value < -limit {
            *value = -limit;
        }
    });
    Ok(())
}

fn for_each_value<T: Float, G: Tensors<T>>(grads: &mut G, mut f: impl FnMut(&mut T)) {
    for tensor in 0..G::COUNT {
        if let Some(values) = grads.tensor_mut(tensor) {
            values.iter_mut().for_each(&mut f);
        }
    }
}

#[cfg(test)]
mod tests {
    use bytemuck::Zeroable;

    use super::*;
    use crate::layers::DenseGrads;

    type Grads = DenseGrads<f64, 2, 2>;

    /// Gradients with weight values 1, 2, 2, 0 and bias values 4, 0: norm 5.
    fn grads() -> Grads {
        let mut grads = Grads::zeroed();
        grads.weight[(0, 0)] = 1.0;
        grads.weight[(1, 0)] = 2.0;
        grads.weight[(0, 1)] = -2.0;
        grads.bias[0] = 4.0;
        grads
    }

    #[test]
    fn norm_spans_all_tensors() {
        assert_eq!(grad_norm(&grads()), 5.0);
        assert_eq!(grad_norm(&Grads::zeroed()), 0.0);
    }

    #[test]
    fn clipping_scales_to_max_norm() {
        let mut clipped = grads();
        let norm = clip_grad_norm(&mut clipped, 2.5).unwrap();
        assert_eq!(norm, 5.0);
        let factor = 2.5 / (5.0 + 1e-6);
        assert_eq!(clipped.bias[0], 4.0 * factor);
        assert_eq!(clipped.weight[(0, 1)], -2.0 * factor);
        assert!((grad_norm(&clipped) - 2.5).abs() < 1e-6);
    }

    #[test]
    fn norm_below_max_is_unchanged() {
        let mut unclipped = grads();
        assert_eq!(clip_grad_norm(&mut unclipped, 5.0).unwrap(), 5.0);
        assert_eq!(unclipped, grads());
        assert_eq!(clip_grad_norm(&mut unclipped, 100.0).unwrap(), 5.0);
        assert_eq!(unclipped, grads());
    }

    #[test]
    fn huge_values_give_finite_norm() {
        let mut huge = Grads::zeroed();
        huge.weight[(0, 0)] = 3e200;
        huge.bias[1] = -4e200;
        let norm = grad_norm(&huge);
        assert!((norm / 5e200 - 1.0).abs() < 1e-14, "norm {norm}");
        let norm = clip_grad_norm(&mut huge, 1.0).unwrap();
        assert!(norm.is_finite());
        assert!((grad_norm(&huge) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn non_finite_gradients_are_left_alone() {
        let mut broken = grads();
        broken.weight[(1, 1)] = f64::NAN;
        assert!(clip_grad_norm(&mut broken, 1.0).unwrap().is_nan());
        assert_eq!(broken.bias[0], 4.0);

        let mut infinite = grads();
        infinite.bias[1] = f64::INFINITY;
        assert_eq!(clip_grad_norm(&mut infinite, 1.0).unwrap(), f64::INFINITY);
        assert_eq!(infinite.bias[0], 4.0);
    }

    #[test]
    fn value_clipping_clamps_each_value() {
        let mut clamped = grads();
        clip_grad_value(&mut clamped, 1.5).unwrap();
        assert_eq!(clamped.weight[(1, 0)], 1.5);
        assert_eq!(clamped.weight[(0, 1)], -1.5);
        assert_eq!(clamped.weight[(0, 0)], 1.0);
        assert_eq!(clamped.bias[0], 1.5);
    }

    #[test]
    fn invalid_limits_are_errors() {
        let mut unchanged = grads();
        assert!(clip_grad_norm(&mut unchanged, -1.0).is_err());
        assert!(clip_grad_norm(&mut unchanged, f64::NAN).is_err());
        assert!(clip_grad_value(&mut unchanged, f64::INFINITY).is_err());
        assert_eq!(unchanged, grads());
    }
}
