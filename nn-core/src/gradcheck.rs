//! Gradient checks: a layer's backward pass against central finite differences.

use bytemuck::Zeroable;
use nalgebra::SMatrix;

use crate::float::Float;
use crate::layer::Layer;
use crate::rng::Rng;
use crate::tensors::{TensorName, Tensors, Trainable};

/// The seed of the dropout masks and of the output weights that a check uses. Every
/// evaluation reseeds with it, so dropout drops the same values each time.
const CHECK_SEED: u64 = 0x5eed_c4ec;

/// Where a checked derivative belongs: a parameter value or an input value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradCheckTarget {
    /// Value `index` (in the tensor's memory order) of the named parameter tensor.
    Param {
        /// The tensor's dotted name.
        name: TensorName,
        /// The index within the tensor's slice.
        index: usize,
    },
    /// Input value `row` of sample `column`.
    Input {
        /// The input row.
        row: usize,
        /// The sample (batch column).
        column: usize,
    },
}

/// The result of [`gradient_check`]: the worst disagreement between the backward pass and
/// finite differences.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheck {
    /// The largest error over all checked derivatives, `|a - n| / max(|a|, |n|, 1)` for the
    /// analytic derivative `a` and the numeric one `n`: relative for derivatives above 1,
    /// absolute below, so derivatives near zero do not inflate it. NaN if any derivative
    /// is NaN or infinite, or if a gradient tensor's length differs from its parameter
    /// tensor's.
    pub max_error: f64,
    /// The derivative with the largest error, or `None` if nothing was checked.
    pub worst: Option<GradCheckTarget>,
    /// The analytic derivative at `worst`.
    pub analytic: f64,
    /// The numeric derivative at `worst`.
    pub numeric: f64,
    /// How many derivatives were compared.
    pub checked: usize,
}

impl GradCheck {
    fn record(&mut self, target: GradCheckTarget, analytic: f64, numeric: f64) {
        let scale = analytic.abs().max(numeric.abs()).max(1.0);
        let error = (analytic - numeric).abs() / scale;
        self.checked += 1;
        // A NaN error ranks above every number, and once recorded no later error
        // replaces it, so it cannot hide.
        let worse = match (self.max_error.is_nan(), error.is_nan()) {
            (true, _) => false,
            (false, true) => true,
            (false, false) => error > self.max_error,
        };
        if self.worst.is_none() || worse {
            self.max_error = error;
            self.worst = Some(target);
            self.analytic = analytic;
            self.numeric = numeric;
        }
    }
}

/// Compares `layer`'s backward pass with central finite differences at input `x`.
///
/// The objective is `sum(c .* y)` for the training output `y` and fixed random weights
/// `c` in `[-1, 1]`, so every output contributes. Each parameter value and each input
/// value is moved by `+-step` in turn (the layer is restored afterwards). Only trainable
/// tensors are checked, because a frozen layer has no parameter gradients; the input
/// gradient still covers the path through it. Dropout uses the same mask in every
/// evaluation.
///
/// Cost: two forward passes per parameter, and the gradients live on the stack, so use it
/// on small networks. In `f32`, rounding limits the agreement to about 1e-3; check
/// in `f64` for tight bounds. A ReLU input within `step` of zero gives a large error
/// that is not a bug, because the derivative jumps there.
pub fn gradient_check<T, L, const IN: usize, const OUT: usize, const B: usize>(
    layer: &mut L,
    x: &SMatrix<T, IN, B>,
    step: f64,
) -> GradCheck
where
    T: Float,
    L: Layer<T, IN, OUT>,
{
    let mut output_rng = Rng::seed_from_u64(CHECK_SEED ^ 1);
    let weights = SMatrix::<T, OUT, B>::from_fn(|_, _| output_rng.uniform(-T::one(), T::one()));
    let objective = |layer: &L, x: &SMatrix<T, IN, B>| {
        let (y, _) = layer.forward_train(x, &mut Rng::seed_from_u64(CHECK_SEED));
        y.dot(&weights).as_f64()
    };

    let (_, trace) = layer.forward_train(x, &mut Rng::seed_from_u64(CHECK_SEED));
    let mut grads = L::Grads::zeroed();
    let grad_input = layer.backward(&trace, &weights, &mut grads);

    let mut report = GradCheck {
        max_error: 0.0,
        worst: None,
        analytic: 0.0,
        numeric: 0.0,
        checked: 0,
    };
    let step_t = T::from_f64_lossy(step);

    // Trainable tensor `i` is gradient tensor `i`; frozen tensors have no gradient.
    for i in 0..L::TRAINABLE_COUNT {
        let name =
            L::trainable_tensor_info(i).map_or(TensorName::new("<unnamed>"), |info| info.name);
        let param_len = layer.trainable_tensor(i).map_or(0, <[T]>::len);
        let grad_len = grads.tensor(i).map_or(0, <[T]>::len);
        for index in 0..param_len.max(grad_len) {
            let target = GradCheckTarget::Param { name, index };
            // A value without a partner in the other tensor is a NaN error, so a gradient
            // shaped unlike its parameter fails the check instead of panicking or
            // leaving values unchecked.
            let analytic = grads.tensor(i).and_then(|values| values.get(index));
            let original = layer
                .trainable_tensor(i)
                .and_then(|values| values.get(index));
            let (Some(analytic), Some(&original)) = (analytic, original) else {
                report.record(target, f64::NAN, f64::NAN);
                continue;
            };
            let analytic = analytic.as_f64();
            let mut evaluate = |value: T| {
                let values = layer.trainable_tensor_mut(i);
                if let Some(slot) = values.and_then(|values| values.get_mut(index)) {
                    *slot = value;
                }
                objective(layer, x)
            };
            let plus = evaluate(original + step_t);
            let minus = evaluate(original - step_t);
            evaluate(original);
            let numeric = (plus - minus) / (2.0 * step);
            report.record(target, analytic, numeric);
        }
    }

    for column in 0..B {
        for row in 0..IN {
            let mut moved = *x;
            moved[(row, column)] = x[(row, column)] + step_t;
            let plus = objective(layer, &moved);
            moved[(row, column)] = x[(row, column)] - step_t;
            let minus = objective(layer, &moved);
            let numeric = (plus - minus) / (2.0 * step);
            let analytic = grad_input[(row, column)].as_f64();
            report.record(GradCheckTarget::Input { row, column }, analytic, numeric);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(row: usize) -> GradCheckTarget {
        GradCheckTarget::Input { row, column: 0 }
    }

    fn empty_report() -> GradCheck {
        GradCheck {
            max_error: 0.0,
            worst: None,
            analytic: 0.0,
            numeric: 0.0,
            checked: 0,
        }
    }

    #[test]
    fn nan_error_stays_worst() {
        let mut report = empty_report();
        report.record(input(0), 1.0, 1.5);
        report.record(input(1), f64::NAN, 1.0);
        report.record(input(2), 4.0, 1.0);
        report.record(input(3), 1.0, 1.0);
        assert!(report.max_error.is_nan(), "{report:?}");
        assert_eq!(report.worst, Some(input(1)));
        assert_eq!(report.checked, 4);
    }

    #[test]
    fn infinite_derivative_is_nan_error() {
        let mut report = empty_report();
        report.record(input(0), f64::INFINITY, 1.0);
        assert!(report.max_error.is_nan(), "{report:?}");
    }

    #[test]
    fn error_is_relative_above_one_and_absolute_below() {
        let mut report = empty_report();
        report.record(input(0), 200.0, 202.0);
        assert!((report.max_error - 2.0 / 202.0).abs() < 1e-15);
        report.record(input(1), 0.01, 0.5);
        assert!((report.max_error - 0.49).abs() < 1e-15);
        assert_eq!(report.worst, Some(input(1)));
    }
}
