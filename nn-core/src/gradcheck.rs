//! Gradient checks: a layer's backward pass against central finite differences.

use bytemuck::Zeroable;
use nalgebra::SMatrix;

use crate::float::Float;
use crate::layer::Layer;
use crate::rng::Rng;
use crate::tensors::{TensorName, Tensors};

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
    /// absolute below, so derivatives near zero do not inflate it.
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
        // `!(error <= max)` also records a NaN error, which must not hide.
        if self.worst.is_none() || !(error <= self.max_error) {
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
/// value is moved by `+-step` in turn (the layer is restored afterwards). Dropout uses
/// the same mask in every evaluation.
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

    for i in 0..L::COUNT {
        let (Some(info), Some(analytic)) = (L::tensor_info(i), grads.tensor(i)) else {
            continue;
        };
        for index in 0..analytic.len() {
            let Some(original) = layer.tensor(i).map(|values| values[index]) else {
                continue;
            };
            let mut evaluate = |value: T| {
                if let Some(values) = layer.tensor_mut(i) {
                    values[index] = value;
                }
                objective(layer, x)
            };
            let plus = evaluate(original + step_t);
            let minus = evaluate(original - step_t);
            evaluate(original);
            let numeric = (plus - minus) / (2.0 * step);
            let target = GradCheckTarget::Param {
                name: info.name,
                index,
            };
            report.record(target, analytic[index].as_f64(), numeric);
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
