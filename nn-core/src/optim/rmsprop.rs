//! RMSProp, optionally centered and with momentum.

use core::marker::PhantomData;

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

use crate::float::{Float, c};
use crate::optim::{
    LearningRate, OptimError, Optimizer, SingleThread, StateBuffer, UpdateRunner, UpdateSlices,
    VectorRule, apply_vectorized, check_non_negative, check_positive, check_unit_interval,
    flush_subnormal, for_each_tensor, optional_state_tensor, state_tensor,
};
use crate::tensors::{Tensors, Trainable};

/// The settings of [`RmsProp`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// The learning rate (PyTorch's `lr`); default 0.01.
    pub learning_rate: f64,
    /// The decay rate of the squared-gradient average, in `[0, 1)`; default 0.99.
    pub alpha: f64,
    /// The term added to the denominator, positive; default 1e-8.
    pub eps: f64,
    /// The L2 penalty: `weight_decay * param` is added to each gradient; default 0.
    pub weight_decay: f64,
    /// The momentum factor in `[0, 1)`; 0 turns momentum off and allocates no buffer.
    pub momentum: f64,
    /// Whether to divide by an estimate of the gradient's variance instead of its
    /// second moment, which needs one more buffer.
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

impl RmsPropConfig {
    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first setting outside its range.
    pub fn validate(&self) -> Result<(), OptimError> {
        check_non_negative("RMSProp", "learning_rate", self.learning_rate)?;
        check_unit_interval("RMSProp", "alpha", self.alpha)?;
        check_positive("RMSProp", "eps", self.eps)?;
        check_non_negative("RMSProp", "weight_decay", self.weight_decay)?;
        check_unit_interval("RMSProp", "momentum", self.momentum)
    }
}

/// RMSProp, as PyTorch's `torch.optim.RMSprop`.
///
/// For gradient `g` and parameter `p`, one step computes
///
/// ```text
/// g = g + weight_decay * p
/// v = alpha * v + (1 - alpha) * g^2
/// a = sqrt(v) + eps                                        (plain)
/// m = alpha * m + (1 - alpha) * g;  a = sqrt(v - m^2) + eps  (centered)
/// b = momentum * b + g / a;  p = p - lr * b                (with momentum)
/// p = p - lr * g / a                                       (without)
/// ```
///
/// Every buffer starts at zero. In the centered form `v - m^2` is never negative in
/// exact arithmetic; it is clamped at 0 so that rounding cannot produce a NaN.
///
/// `G` is the gradient type. Each buffer is stored as `S`, which is `G` (see
/// [`new`](RmsProp::new)) or `Box<G>` (see `new_boxed`).
#[derive(Clone, Debug)]
pub struct RmsProp<G, S = G> {
    config: RmsPropConfig,
    square_avg: S,
    grad_avg: Option<S>,
    momentum_buffer: Option<S>,
    steps: u64,
    grads: PhantomData<fn() -> G>,
}

impl<G: bytemuck::Zeroable> RmsProp<G> {
    /// Creates the optimizer with its buffers inline.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first invalid setting.
    pub fn new(config: RmsPropConfig) -> Result<Self, OptimError> {
        Self::with_state(config)
    }
}

#[cfg(feature = "alloc")]
impl<G: bytemuck::Zeroable> RmsProp<G, Box<G>> {
    /// Creates the optimizer with its buffers on the heap.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first invalid setting.
    pub fn new_boxed(config: RmsPropConfig) -> Result<Self, OptimError> {
        Self::with_state(config)
    }
}

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> RmsProp<G, S> {
    fn with_state(config: RmsPropConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Self {
            config,
            square_avg: S::new_zeroed(),
            grad_avg: config.centered.then(S::new_zeroed),
            momentum_buffer: (config.momentum != 0.0).then(S::new_zeroed),
            steps: 0,
            grads: PhantomData,
        })
    }

    /// The settings, with the current learning rate.
    pub fn config(&self) -> &RmsPropConfig {
        &self.config
    }

    /// The running average of squared gradients `v`.
    pub fn square_avg(&self) -> &G {
        self.square_avg.buffer()
    }

    /// The running average of gradients `m`, or `None` unless centered.
    pub fn grad_avg(&self) -> Option<&G> {
        self.grad_avg.as_ref().map(S::buffer)
    }

    /// The momentum buffer `b`, or `None` without momentum.
    pub fn momentum_buffer(&self) -> Option<&G> {
        self.momentum_buffer.as_ref().map(S::buffer)
    }

    /// The number of steps taken since creation or the last [`reset`](Self::reset).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Zeroes every buffer and the step counter, keeping the settings.
    pub fn reset(&mut self) {
        self.square_avg.reset_to_zero();
        let optional = [&mut self.grad_avg, &mut self.momentum_buffer];
        for buffer in optional.into_iter().flatten() {
            buffer.reset_to_zero();
        }
        self.steps = 0;
    }
}

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> LearningRate for RmsProp<G, S> {
    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), OptimError> {
        check_non_negative("RMSProp", "learning_rate", learning_rate)?;
        self.config.learning_rate = learning_rate;
        Ok(())
    }
}

/// The coefficients of one step for one tensor, in the scalar type.
struct RmsPropStep<T> {
    learning_rate: T,
    alpha: T,
    alpha_complement: T,
    eps: T,
    weight_decay: T,
    momentum: T,
    centered: bool,
    /// [`Float::SMALLEST_NORMAL`]: smaller averages are stored as zero.
    smallest_normal: T,
}

impl<T: Float> RmsPropStep<T> {
    fn new(config: &RmsPropConfig, lr_scale: f64) -> Self {
        Self {
            learning_rate: c(config.learning_rate * lr_scale),
            alpha: c(config.alpha),
            alpha_complement: c(1.0 - config.alpha),
            eps: c(config.eps),
            weight_decay: c(config.weight_decay),
            momentum: c(config.momentum),
            centered: config.centered,
            smallest_normal: c(T::SMALLEST_NORMAL),
        }
    }

    /// Updates every value, with weight decay (`DECAY`), the centered form (`CENTERED`) and
    /// momentum (`MOMENTUM`) compiled in or out, so the loop body has no branch.
    ///
    /// `state` contains the square average, then the gradient average (empty unless
    /// centered), then the momentum buffer (empty without momentum). A zero weight decay
    /// is skipped rather than added, so an infinite parameter does not turn the gradient
    /// into NaN.
    #[inline(always)]
    fn update<const DECAY: bool, const CENTERED: bool, const MOMENTUM: bool>(
        &self,
        slices: UpdateSlices<'_, T>,
    ) {
        let UpdateSlices {
            params,
            grads,
            state: [square_avg, grad_avg, momentum],
        } = slices;
        // Cutting every slice to the common length lets the compiler drop the bounds
        // checks of the indexing below.
        let mut len = params.len().min(grads.len()).min(square_avg.len());
        if CENTERED {
            len = len.min(grad_avg.len());
        }
        if MOMENTUM {
            len = len.min(momentum.len());
        }
        let (params, grads, square_avg) =
            (&mut params[..len], &grads[..len], &mut square_avg[..len]);
        let grad_avg_len = len.min(grad_avg.len());
        let grad_avg = &mut grad_avg[..grad_avg_len];
        let momentum_len = len.min(momentum.len());
        let momentum = &mut momentum[..momentum_len];
        for i in 0..len {
            // Every value is read before any is written (see `VectorRule`).
            let param = params[i];
            let g = if DECAY {
                grads[i] + self.weight_decay * param
            } else {
                grads[i]
            };
            let square = flush_subnormal(
                self.alpha * square_avg[i] + self.alpha_complement * g * g,
                self.smallest_normal,
            );
            let mut average = T::zero();
            let variance = if CENTERED {
                average = flush_subnormal(
                    self.alpha * grad_avg[i] + self.alpha_complement * g,
                    self.smallest_normal,
                );
                let centered = square - average * average;
                if centered > T::zero() {
                    centered
                } else {
                    T::zero()
                }
            } else {
                square
            };
            let scaled = g / (variance.sqrt() + self.eps);
            let mut step = scaled;
            if MOMENTUM {
                step = flush_subnormal(self.momentum * momentum[i] + scaled, self.smallest_normal);
            }
            square_avg[i] = square;
            if CENTERED {
                grad_avg[i] = average;
            }
            if MOMENTUM {
                momentum[i] = step;
            }
            params[i] = param - self.learning_rate * step;
        }
    }
}

impl<T: Float> VectorRule<T> for RmsPropStep<T> {
    #[inline(always)]
    fn apply(&self, slices: UpdateSlices<'_, T>) {
        let decay = self.weight_decay != T::zero();
        let momentum = self.momentum != T::zero();
        match (decay, self.centered, momentum) {
            (false, false, false) => self.update::<false, false, false>(slices),
            (false, false, true) => self.update::<false, false, true>(slices),
            (false, true, false) => self.update::<false, true, false>(slices),
            (false, true, true) => self.update::<false, true, true>(slices),
            (true, false, false) => self.update::<true, false, false>(slices),
            (true, false, true) => self.update::<true, false, true>(slices),
            (true, true, false) => self.update::<true, true, false>(slices),
            (true, true, true) => self.update::<true, true, true>(slices),
        }
    }
}

impl<T, P, G, S> Optimizer<T, P, G> for RmsProp<G, S>
where
    T: Float,
    P: Trainable<T>,
    G: Tensors<T> + bytemuck::Zeroable,
    S: StateBuffer<G>,
{
    fn step_scaled(
        &mut self,
        params: &mut P,
        grads: &G,
        lr_scale: &dyn Fn(usize) -> Option<f64>,
    ) -> Result<(), OptimError> {
        self.step_scaled_with(params, grads, lr_scale, &SingleThread)
    }

    fn step_scaled_with(
        &mut self,
        params: &mut P,
        grads: &G,
        lr_scale: &dyn Fn(usize) -> Option<f64>,
        runner: &dyn UpdateRunner<T>,
    ) -> Result<(), OptimError> {
        let config = self.config;
        let (square_avg, grad_avg) = (&mut self.square_avg, &mut self.grad_avg);
        let momentum_buffer = &mut self.momentum_buffer;
        for_each_tensor(
            params,
            grads,
            lr_scale,
            |tensor, scale, values, gradient| {
                let slices = UpdateSlices {
                    params: values,
                    grads: gradient,
                    state: [
                        state_tensor::<T, G, S>(square_avg, tensor),
                        optional_state_tensor::<T, G, S>(grad_avg, tensor),
                        optional_state_tensor::<T, G, S>(momentum_buffer, tensor),
                    ],
                };
                let rule = RmsPropStep::<T>::new(&config, scale);
                runner.run(slices, &|part| apply_vectorized(&rule, part));
            },
        )?;
        self.steps += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytemuck::Zeroable;

    use super::*;
    use crate::layers::{Dense, DenseGrads};

    type Grads = DenseGrads<f32, 1, 1>;
    type Params = Dense<f32, 1, 1>;

    #[test]
    fn subnormal_averages_stored_as_zero() {
        let config = RmsPropConfig {
            alpha: 0.5,
            centered: true,
            momentum: 0.5,
            ..RmsPropConfig::default()
        };
        let mut rmsprop = RmsProp::<Grads>::new(config).unwrap();
        let mut params = Params::zeroed();
        let mut grads = Grads::zeroed();
        grads.bias[0] = 1e-15;
        for step in 0..300 {
            rmsprop.step(&mut params, &grads).unwrap();
            grads.bias[0] = 0.0;
            let values = [
                rmsprop.square_avg().bias[0],
                rmsprop.grad_avg().unwrap().bias[0],
                rmsprop.momentum_buffer().unwrap().bias[0],
            ];
            assert!(
                values.iter().all(|v| !v.is_subnormal()),
                "step {step}: {values:?}"
            );
        }
        // All three averages halve (or shrink) every step, so they are zero by now.
        assert_eq!(rmsprop.square_avg().bias[0], 0.0);
        assert_eq!(rmsprop.grad_avg().unwrap().bias[0], 0.0);
    }

    #[test]
    fn buffers_exist_only_when_configured() {
        let plain = RmsProp::<Grads>::new(RmsPropConfig::default()).unwrap();
        assert!(plain.grad_avg().is_none());
        assert!(plain.momentum_buffer().is_none());
        let config = RmsPropConfig {
            centered: true,
            momentum: 0.9,
            ..RmsPropConfig::default()
        };
        let full = RmsProp::<Grads>::new(config).unwrap();
        assert!(full.grad_avg().is_some());
        assert!(full.momentum_buffer().is_some());
    }

    #[test]
    fn constant_gradient_centered_stays_finite() {
        // With a constant gradient, v - m^2 shrinks towards 0. For this bias gradient
        // f32 rounding makes it negative after 25 steps; the clamp keeps the step finite.
        let config = RmsPropConfig {
            centered: true,
            alpha: 0.5,
            ..RmsPropConfig::default()
        };
        let mut rmsprop = RmsProp::<Grads>::new(config).unwrap();
        let mut params = Params::zeroed();
        let mut grads = Grads::zeroed();
        grads.weight.as_mut_slice().fill(0.1);
        grads.bias.as_mut_slice().fill(0.124_456_7);
        for step in 0..50 {
            rmsprop.step(&mut params, &grads).unwrap();
            assert!(
                params.bias[0].is_finite(),
                "bias {} after step {step}",
                params.bias[0]
            );
            assert!(
                params.weight[0].is_finite(),
                "weight {} after step {step}",
                params.weight[0]
            );
        }
    }

    #[test]
    fn invalid_settings_are_errors() {
        let cases = [
            (
                "alpha",
                RmsPropConfig {
                    alpha: 1.0,
                    ..RmsPropConfig::default()
                },
            ),
            (
                "eps",
                RmsPropConfig {
                    eps: f64::NAN,
                    ..RmsPropConfig::default()
                },
            ),
            (
                "momentum",
                RmsPropConfig {
                    momentum: -0.5,
                    ..RmsPropConfig::default()
                },
            ),
            (
                "learning_rate",
                RmsPropConfig {
                    learning_rate: -1.0,
                    ..RmsPropConfig::default()
                },
            ),
        ];
        for (setting, config) in cases {
            match RmsProp::<Grads>::new(config) {
                Err(OptimError::InvalidSetting { setting: found, .. }) => {
                    assert_eq!(found, setting, "{config:?}");
                }
                other => panic!("{config:?} gave {:?}", other.map(|_| ())),
            }
        }
    }
}
