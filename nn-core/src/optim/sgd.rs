//! Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

use core::marker::PhantomData;

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

use crate::float::{Float, c};
use crate::optim::{
    LearningRate, OptimError, Optimizer, SingleThread, StateBuffer, UpdateRunner, UpdateSlices,
    VectorRule, apply_vectorized, check_non_negative, check_setting, check_unit_interval,
    flush_subnormal, for_each_tensor, optional_state_tensor,
};
use crate::tensors::{Tensors, Trainable};

/// The settings of [`Sgd`]. The defaults are PyTorch's: plain gradient descent with
/// learning rate 0.001.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// The learning rate (PyTorch's `lr`).
    pub learning_rate: f64,
    /// The momentum factor in `[0, 1)`; 0 turns momentum off and allocates no buffer.
    pub momentum: f64,
    /// The dampening in `[0, 1]`: the momentum buffer adds `(1 - dampening)` times the
    /// gradient.
    pub dampening: f64,
    /// The L2 penalty: `weight_decay * param` is added to each gradient.
    pub weight_decay: f64,
    /// Whether to use Nesterov momentum, which needs a positive momentum and zero
    /// dampening.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl SgdConfig {
    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first setting outside its range.
    pub fn validate(&self) -> Result<(), OptimError> {
        check_non_negative("SGD", "learning_rate", self.learning_rate)?;
        check_unit_interval("SGD", "momentum", self.momentum)?;
        let dampening_valid = (0.0..=1.0).contains(&self.dampening);
        let expected = "a number in [0, 1]";
        check_setting(
            dampening_valid,
            "SGD",
            "dampening",
            self.dampening,
            expected,
        )?;
        check_non_negative("SGD", "weight_decay", self.weight_decay)?;
        if self.nesterov {
            let expected = "a number in (0, 1) with Nesterov momentum";
            check_setting(
                self.momentum > 0.0,
                "SGD",
                "momentum",
                self.momentum,
                expected,
            )?;
            let expected = "0 with Nesterov momentum";
            check_setting(
                self.dampening == 0.0,
                "SGD",
                "dampening",
                self.dampening,
                expected,
            )?;
        }
        Ok(())
    }
}

/// Stochastic gradient descent, as PyTorch's `torch.optim.SGD`.
///
/// For gradient `g`, parameter `p`, learning rate `lr`, momentum `mu` and dampening
/// `tau`, one step computes
///
/// ```text
/// g = g + weight_decay * p
/// b = g                                  on the first step
/// b = mu * b + (1 - tau) * g             afterwards          (only with momentum)
/// g = g + mu * b  (Nesterov)  or  g = b  (otherwise)         (only with momentum)
/// p = p - lr * g
/// ```
///
/// `G` is the gradient type. The momentum buffer `b` is stored as `S`, which is `G`
/// (see [`new`](Sgd::new)) or `Box<G>` (see `new_boxed`).
#[derive(Clone, Debug)]
pub struct Sgd<G, S = G> {
    config: SgdConfig,
    momentum_buffer: Option<S>,
    steps: u64,
    grads: PhantomData<fn() -> G>,
}

impl<G: bytemuck::Zeroable> Sgd<G> {
    /// Creates the optimizer with its momentum buffer (if any) inline.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first invalid setting.
    pub fn new(config: SgdConfig) -> Result<Self, OptimError> {
        Self::with_state(config)
    }
}

#[cfg(feature = "alloc")]
impl<G: bytemuck::Zeroable> Sgd<G, Box<G>> {
    /// Creates the optimizer with its momentum buffer (if any) on the heap.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first invalid setting.
    pub fn new_boxed(config: SgdConfig) -> Result<Self, OptimError> {
        Self::with_state(config)
    }
}

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> Sgd<G, S> {
    fn with_state(config: SgdConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Self {
            config,
            momentum_buffer: (config.momentum != 0.0).then(S::new_zeroed),
            steps: 0,
            grads: PhantomData,
        })
    }

    /// The settings, with the current learning rate.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// The momentum buffer, or `None` without momentum.
    pub fn momentum_buffer(&self) -> Option<&G> {
        self.momentum_buffer.as_ref().map(S::buffer)
    }

    /// The number of steps taken since creation or the last [`reset`](Self::reset).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Zeroes the momentum buffer and the step counter, keeping the settings.
    pub fn reset(&mut self) {
        if let Some(buffer) = &mut self.momentum_buffer {
            buffer.reset_to_zero();
        }
        self.steps = 0;
    }
}

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> LearningRate for Sgd<G, S> {
    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), OptimError> {
        check_non_negative("SGD", "learning_rate", learning_rate)?;
        self.config.learning_rate = learning_rate;
        Ok(())
    }
}

/// The coefficients of one step for one tensor, in the scalar type.
struct SgdStep<T> {
    learning_rate: T,
    momentum: T,
    dampening_complement: T,
    weight_decay: T,
    nesterov: bool,
    /// Whether the optimizer has a momentum buffer, the first state slice.
    has_buffer: bool,
    first: bool,
    /// [`Float::SMALLEST_NORMAL`]: smaller buffer values are stored as zero.
    smallest_normal: T,
}

impl<T: Float> SgdStep<T> {
    fn new(config: &SgdConfig, lr_scale: f64, has_buffer: bool, first: bool) -> Self {
        Self {
            learning_rate: c(config.learning_rate * lr_scale),
            momentum: c(config.momentum),
            dampening_complement: c(1.0 - config.dampening),
            weight_decay: c(config.weight_decay),
            nesterov: config.nesterov,
            has_buffer,
            first,
            smallest_normal: c(T::SMALLEST_NORMAL),
        }
    }

    /// Adds the weight decay to `gradient` when `DECAY` is set. A zero decay is compiled
    /// out rather than added, so an infinite parameter does not turn the gradient into NaN.
    #[inline(always)]
    fn decayed<const DECAY: bool>(&self, gradient: T, param: T) -> T {
        if DECAY {
            gradient + self.weight_decay * param
        } else {
            gradient
        }
    }

    /// Updates every value without momentum.
    #[inline(always)]
    fn plain<const DECAY: bool>(&self, slices: UpdateSlices<'_, T>) {
        for (p, &g) in slices.params.iter_mut().zip(slices.grads) {
            *p -= self.learning_rate * self.decayed::<DECAY>(g, *p);
        }
    }

    /// Updates every value with momentum, with the first step's buffer initialisation
    /// (`FIRST`) and Nesterov momentum (`NESTEROV`) compiled in or out.
    #[inline(always)]
    fn with_momentum<const DECAY: bool, const FIRST: bool, const NESTEROV: bool>(
        &self,
        slices: UpdateSlices<'_, T>,
    ) {
        let UpdateSlices {
            params,
            grads,
            state: [buffer, _, _],
        } = slices;
        for ((p, &g), b) in params.iter_mut().zip(grads).zip(buffer.iter_mut()) {
            // Every value is read before any is written (see `VectorRule`).
            let (param, previous) = (*p, *b);
            let g = self.decayed::<DECAY>(g, param);
            let buffer = if FIRST {
                g
            } else {
                self.momentum * previous + self.dampening_complement * g
            };
            let buffer = flush_subnormal(buffer, self.smallest_normal);
            let direction = if NESTEROV {
                g + self.momentum * buffer
            } else {
                buffer
            };
            *b = buffer;
            *p = param - self.learning_rate * direction;
        }
    }
}

impl<T: Float> VectorRule<T> for SgdStep<T> {
    #[inline(always)]
    fn apply(&self, slices: UpdateSlices<'_, T>) {
        let decay = self.weight_decay != T::zero();
        if !self.has_buffer {
            return match decay {
                false => self.plain::<false>(slices),
                true => self.plain::<true>(slices),
            };
        }
        match (decay, self.first, self.nesterov) {
            (false, false, false) => self.with_momentum::<false, false, false>(slices),
            (false, false, true) => self.with_momentum::<false, false, true>(slices),
            (false, true, false) => self.with_momentum::<false, true, false>(slices),
            (false, true, true) => self.with_momentum::<false, true, true>(slices),
            (true, false, false) => self.with_momentum::<true, false, false>(slices),
            (true, false, true) => self.with_momentum::<true, false, true>(slices),
            (true, true, false) => self.with_momentum::<true, true, false>(slices),
            (true, true, true) => self.with_momentum::<true, true, true>(slices),
        }
    }
}

impl<T, P, G, S> Optimizer<T, P, G> for Sgd<G, S>
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
        // NOTE: "first step" is counted for all tensors together, while PyTorch starts
        // each tensor's buffer on that tensor's first update. The two differ only for a
        // tensor frozen at the start and trained later with nonzero dampening.
        let first = self.steps == 0;
        let momentum_buffer = &mut self.momentum_buffer;
        let has_buffer = momentum_buffer.is_some();
        for_each_tensor(
            params,
            grads,
            lr_scale,
            |tensor, scale, values, gradient| {
                let slices = UpdateSlices {
                    params: values,
                    grads: gradient,
                    state: [
                        optional_state_tensor::<T, G, S>(momentum_buffer, tensor),
                        &mut [],
                        &mut [],
                    ],
                };
                let rule = SgdStep::<T>::new(&config, scale, has_buffer, first);
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

    type Grads = DenseGrads<f64, 2, 1>;

    #[test]
    fn subnormal_momentum_stored_as_zero() {
        let config = SgdConfig {
            learning_rate: 0.1,
            momentum: 0.5,
            ..SgdConfig::default()
        };
        let mut sgd = Sgd::<Grads>::new(config).unwrap();
        let mut params = Dense::<f64, 2, 1>::zeroed();
        let mut grads = Grads::zeroed();
        grads.bias[0] = 1e-300;
        let mut reference = 0.0f64;
        let mut reference_was_subnormal = false;
        for step in 0..100 {
            sgd.step(&mut params, &grads).unwrap();
            reference = if step == 0 {
                grads.bias[0]
            } else {
                0.5 * reference + grads.bias[0]
            };
            reference_was_subnormal |= reference.is_subnormal();
            grads.bias[0] = 0.0;
            let buffer = sgd.momentum_buffer().unwrap().bias[0];
            assert!(!buffer.is_subnormal(), "step {step}: buffer {buffer:e}");
            if reference.is_normal() {
                assert_eq!(buffer.to_bits(), reference.to_bits(), "step {step}");
            }
        }
        assert!(
            reference_was_subnormal,
            "the test must reach the subnormal range"
        );
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-15,
            "{actual} against {expected}"
        );
    }

    fn layer() -> Dense<f64, 2, 1> {
        let mut layer = Dense::zeroed();
        layer.weight[(0, 0)] = 1.0;
        layer.weight[(0, 1)] = -2.0;
        layer.bias[0] = 0.5;
        layer
    }

    fn grads() -> Grads {
        let mut grads = Grads::zeroed();
        grads.weight[(0, 0)] = 0.5;
        grads.weight[(0, 1)] = 1.0;
        grads.bias[0] = -4.0;
        grads
    }

    #[test]
    fn plain_step_moves_against_gradient() {
        let config = SgdConfig {
            learning_rate: 0.1,
            ..SgdConfig::default()
        };
        let mut sgd = Sgd::<Grads>::new(config).unwrap();
        assert!(sgd.momentum_buffer().is_none());
        let mut params = layer();
        sgd.step(&mut params, &grads()).unwrap();
        assert_close(params.weight[(0, 0)], 1.0 - 0.1 * 0.5);
        assert_close(params.weight[(0, 1)], -2.0 - 0.1 * 1.0);
        assert_close(params.bias[0], 0.5 + 0.1 * 4.0);
        assert_eq!(sgd.steps(), 1);
    }

    #[test]
    fn frozen_tensor_is_untouched() {
        let config = SgdConfig {
            learning_rate: 0.1,
            momentum: 0.9,
            ..SgdConfig::default()
        };
        let mut sgd = Sgd::<Grads>::new(config).unwrap();
        let mut params = layer();
        // Tensor 0 is the weight, tensor 1 the bias: freeze the weight, halve the bias rate.
        let scale = |tensor: usize| (tensor == 1).then_some(0.5);
        sgd.step_scaled(&mut params, &grads(), &scale).unwrap();
        assert_eq!(params.weight, layer().weight);
        assert_close(params.bias[0], 0.5 + 0.05 * 4.0);
        let buffer = sgd.momentum_buffer().unwrap();
        assert_eq!(buffer.weight, Grads::zeroed().weight);
        assert_eq!(buffer.bias[0], -4.0);
    }

    #[test]
    fn reset_zeroes_buffer_and_counter() {
        let config = SgdConfig {
            momentum: 0.5,
            ..SgdConfig::default()
        };
        let mut sgd = Sgd::<Grads>::new(config).unwrap();
        let mut params = layer();
        sgd.step(&mut params, &grads()).unwrap();
        sgd.reset();
        assert_eq!(sgd.steps(), 0);
        assert_eq!(sgd.momentum_buffer().unwrap().bias[0], 0.0);
    }

    #[test]
    fn invalid_settings_are_errors() {
        let cases = [
            (
                "learning_rate",
                SgdConfig {
                    learning_rate: -0.1,
                    ..SgdConfig::default()
                },
            ),
            (
                "learning_rate",
                SgdConfig {
                    learning_rate: f64::NAN,
                    ..SgdConfig::default()
                },
            ),
            (
                "momentum",
                SgdConfig {
                    momentum: 1.0,
                    ..SgdConfig::default()
                },
            ),
            (
                "dampening",
                SgdConfig {
                    dampening: 1.5,
                    ..SgdConfig::default()
                },
            ),
            (
                "weight_decay",
                SgdConfig {
                    weight_decay: -1e-4,
                    ..SgdConfig::default()
                },
            ),
            (
                "momentum",
                SgdConfig {
                    nesterov: true,
                    ..SgdConfig::default()
                },
            ),
            (
                "dampening",
                SgdConfig {
                    nesterov: true,
                    momentum: 0.9,
                    dampening: 0.1,
                    ..SgdConfig::default()
                },
            ),
        ];
        for (setting, config) in cases {
            match Sgd::<Grads>::new(config) {
                Err(OptimError::InvalidSetting { setting: found, .. }) => {
                    assert_eq!(found, setting, "{config:?}");
                }
                other => panic!("{config:?} gave {:?}", other.map(|_| ())),
            }
        }
    }

    #[test]
    fn invalid_learning_rate_is_kept_out() {
        let mut sgd = Sgd::<Grads>::new(SgdConfig::default()).unwrap();
        let result = sgd.set_learning_rate(-1.0);
        assert!(result.is_err());
        assert_eq!(sgd.config().learning_rate, 1e-3);
    }

    #[test]
    fn mismatched_gradients_change_nothing() {
        let mut sgd = Sgd::<DenseGrads<f64, 3, 2>>::new(SgdConfig::default()).unwrap();
        let mut params = Dense::<f64, 2, 3>::zeroed();
        params.bias.as_mut_slice().fill(1.0);
        let grads = DenseGrads::<f64, 3, 2>::zeroed();
        let error = sgd.step(&mut params, &grads).unwrap_err();
        assert!(
            matches!(
                error,
                OptimError::TensorLengthMismatch {
                    tensor: 1,
                    params: 3,
                    grads: 2,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            std::format!("{error}"),
            "tensor 1 has 3 parameter values but 2 gradient values; \
             pass the gradients of the same network"
        );
        assert_eq!(params.bias, nalgebra::SVector::<f64, 3>::repeat(1.0));
        assert_eq!(sgd.steps(), 0);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn boxed_state_matches_inline_state() {
        let config = SgdConfig {
            learning_rate: 0.05,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.01,
            ..SgdConfig::default()
        };
        let mut inline = Sgd::<Grads>::new(config).unwrap();
        let mut boxed = Sgd::<Grads, alloc::boxed::Box<Grads>>::new_boxed(config).unwrap();
        let (mut a, mut b) = (layer(), layer());
        for _ in 0..3 {
            inline.step(&mut a, &grads()).unwrap();
            boxed.step(&mut b, &grads()).unwrap();
        }
        assert_eq!(a, b);
    }
}
