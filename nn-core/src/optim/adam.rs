//! Adam, and the moment buffers it shares with AdamW.

use core::marker::PhantomData;

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

use crate::float::{Float, c};
use crate::optim::{
    LearningRate, OptimError, Optimizer, SingleThread, StateBuffer, UpdateRunner, UpdateSlices,
    VectorRule, apply_vectorized, check_non_negative, check_positive, check_unit_interval,
    flush_subnormal, for_each_tensor, state_tensor,
};
use crate::tensors::{Tensors, Trainable};

/// The settings of [`Adam`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// The learning rate (PyTorch's `lr`); default 0.001.
    pub learning_rate: f64,
    /// The decay rate of the first-moment (mean) estimate, in `[0, 1)`; default 0.9.
    pub beta1: f64,
    /// The decay rate of the second-moment estimate, in `[0, 1)`; default 0.999.
    pub beta2: f64,
    /// The term added to the denominator, positive; default 1e-8.
    pub eps: f64,
    /// The L2 penalty: `weight_decay * param` is added to each gradient; default 0. For
    /// decoupled weight decay use [`AdamW`](super::AdamW).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first setting outside its range.
    pub fn validate(&self) -> Result<(), OptimError> {
        self.settings(false).validate("Adam")
    }

    pub(super) fn settings(&self, decoupled: bool) -> AdamSettings {
        AdamSettings {
            learning_rate: self.learning_rate,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            decoupled,
        }
    }
}

/// Adam, as PyTorch's `torch.optim.Adam` (without `amsgrad`).
///
/// For gradient `g`, parameter `p` and step number `t` (1 on the first step), one step
/// computes
///
/// ```text
/// g = g + weight_decay * p
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g^2
/// m_hat = m / (1 - beta1^t)
/// v_hat = v / (1 - beta2^t)
/// p = p - lr * m_hat / (sqrt(v_hat) + eps)
/// ```
///
/// The bias corrections make the first steps move each parameter by about `lr`. The code
/// computes `sqrt(v_hat)` as `sqrt(v) * (1 / sqrt(1 - beta2^t))`, a multiplication where
/// PyTorch divides, which saves one division per value and can change the last bit. `G` is
/// the gradient type. The moments `m` and `v` are stored as `S`, which is `G` (see
/// [`new`](Adam::new)) or `Box<G>` (see `new_boxed`).
#[derive(Clone, Debug)]
pub struct Adam<G, S = G> {
    config: AdamConfig,
    moments: Moments<G, S>,
}

impl<G: bytemuck::Zeroable> Adam<G> {
    /// Creates the optimizer with its two moment buffers inline.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first invalid setting.
    pub fn new(config: AdamConfig) -> Result<Self, OptimError> {
        Self::with_state(config)
    }
}

#[cfg(feature = "alloc")]
impl<G: bytemuck::Zeroable> Adam<G, Box<G>> {
    /// Creates the optimizer with its two moment buffers on the heap.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first invalid setting.
    pub fn new_boxed(config: AdamConfig) -> Result<Self, OptimError> {
        Self::with_state(config)
    }
}

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> Adam<G, S> {
    fn with_state(config: AdamConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Self {
            config,
            moments: Moments::zeroed(),
        })
    }

    /// The settings, with the current learning rate.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// The first-moment estimate `m`, before bias correction.
    pub fn first_moment(&self) -> &G {
        self.moments.first.buffer()
    }

    /// The second-moment estimate `v`, before bias correction.
    pub fn second_moment(&self) -> &G {
        self.moments.second.buffer()
    }

    /// The number of steps taken since creation or the last [`reset`](Self::reset).
    pub fn steps(&self) -> u64 {
        self.moments.steps
    }

    /// Zeroes both moments and the step counter, keeping the settings.
    pub fn reset(&mut self) {
        self.moments.reset();
    }
}

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> LearningRate for Adam<G, S> {
    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), OptimError> {
        check_non_negative("Adam", "learning_rate", learning_rate)?;
        self.config.learning_rate = learning_rate;
        Ok(())
    }
}

impl<T, P, G, S> Optimizer<T, P, G> for Adam<G, S>
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
        let settings = self.config.settings(false);
        self.moments
            .step(&settings, params, grads, lr_scale, runner)
    }
}

/// The settings of one Adam or AdamW step.
#[derive(Clone, Copy, Debug)]
pub(super) struct AdamSettings {
    pub(super) learning_rate: f64,
    pub(super) beta1: f64,
    pub(super) beta2: f64,
    pub(super) eps: f64,
    pub(super) weight_decay: f64,
    /// Whether weight decay shrinks the parameters directly (AdamW) instead of being
    /// added to the gradient (Adam).
    pub(super) decoupled: bool,
}

impl AdamSettings {
    pub(super) fn validate(&self, component: &'static str) -> Result<(), OptimError> {
        check_non_negative(component, "learning_rate", self.learning_rate)?;
        check_unit_interval(component, "beta1", self.beta1)?;
        check_unit_interval(component, "beta2", self.beta2)?;
        check_positive(component, "eps", self.eps)?;
        check_non_negative(component, "weight_decay", self.weight_decay)
    }
}

/// The first and second moment buffers and the step counter of Adam and AdamW.
#[derive(Clone, Debug)]
pub(super) struct Moments<G, S> {
    pub(super) first: S,
    pub(super) second: S,
    pub(super) steps: u64,
    grads: PhantomData<fn() -> G>,
}

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> Moments<G, S> {
    pub(super) fn zeroed() -> Self {
        Self {
            first: S::new_zeroed(),
            second: S::new_zeroed(),
            steps: 0,
            grads: PhantomData,
        }
    }

    pub(super) fn reset(&mut self) {
        self.first.reset_to_zero();
        self.second.reset_to_zero();
        self.steps = 0;
    }

    /// Applies one Adam or AdamW step to every tensor that `lr_scale` does not freeze,
    /// each through `runner`.
    pub(super) fn step<T, P>(
        &mut self,
        settings: &AdamSettings,
        params: &mut P,
        grads: &G,
        lr_scale: &dyn Fn(usize) -> Option<f64>,
        runner: &dyn UpdateRunner<T>,
    ) -> Result<(), OptimError>
    where
        T: Float,
        P: Trainable<T>,
        G: Tensors<T>,
    {
        // NOTE: the step number `t` of the bias correction is shared by all tensors, but
        // PyTorch counts per tensor. A tensor frozen for the first steps and trained later
        // therefore gets a weaker correction than PyTorch would give it.
        let t = self.steps + 1;
        let (first, second) = (&mut self.first, &mut self.second);
        for_each_tensor(
            params,
            grads,
            lr_scale,
            |tensor, scale, values, gradient| {
                let rule = AdamStep::<T>::new(settings, scale, t);
                let slices = UpdateSlices {
                    params: values,
                    grads: gradient,
                    state: [
                        state_tensor::<T, G, S>(first, tensor),
                        state_tensor::<T, G, S>(second, tensor),
                        &mut [],
                    ],
                };
                runner.run(slices, &|part| apply_vectorized(&rule, part));
            },
        )?;
        self.steps = t;
        Ok(())
    }
}

/// The coefficients of one step for one tensor, in the scalar type.
struct AdamStep<T> {
    /// `lr / (1 - beta1^t)`.
    step_size: T,
    beta1: T,
    beta1_complement: T,
    beta2: T,
    beta2_complement: T,
    /// `1 / sqrt(1 - beta2^t)`.
    inverse_sqrt_bias_correction2: T,
    eps: T,
    /// The L2 penalty added to the gradient (Adam), or 0.
    l2_penalty: T,
    /// The factor `1 - lr * weight_decay` applied to the parameters (AdamW), or 1.
    shrink: T,
    /// [`Float::SMALLEST_NORMAL`]: smaller moments are stored as zero.
    smallest_normal: T,
}

impl<T: Float> AdamStep<T> {
    fn new(settings: &AdamSettings, lr_scale: f64, t: u64) -> Self {
        let learning_rate = settings.learning_rate * lr_scale;
        let bias_correction1 = 1.0 - libm::pow(settings.beta1, t as f64);
        let bias_correction2 = 1.0 - libm::pow(settings.beta2, t as f64);
        let (l2_penalty, shrink) = if settings.decoupled {
            (0.0, 1.0 - learning_rate * settings.weight_decay)
        } else {
            (settings.weight_decay, 1.0)
        };
        Self {
            step_size: c(learning_rate / bias_correction1),
            beta1: c(settings.beta1),
            beta1_complement: c(1.0 - settings.beta1),
            beta2: c(settings.beta2),
            beta2_complement: c(1.0 - settings.beta2),
            inverse_sqrt_bias_correction2: c(1.0 / libm::sqrt(bias_correction2)),
            eps: c(settings.eps),
            l2_penalty: c(l2_penalty),
            shrink: c(shrink),
            smallest_normal: c(T::SMALLEST_NORMAL),
        }
    }

    /// Updates every value, with the L2 penalty (`L2`) and the shrinking of the parameters
    /// (`SHRINK`) compiled in or out, so the loop body has no branch.
    ///
    /// A zero penalty is skipped rather than added, so an infinite parameter does not
    /// turn the gradient into NaN.
    #[inline(always)]
    fn update<const L2: bool, const SHRINK: bool>(&self, slices: UpdateSlices<'_, T>) {
        let UpdateSlices {
            params,
            grads,
            state: [first, second, _],
        } = slices;
        let moments = first.iter_mut().zip(second.iter_mut());
        for ((p, &g), (m, v)) in params.iter_mut().zip(grads).zip(moments) {
            // Every value is read before any is written (see `VectorRule`).
            let (param, first, second) = (*p, *m, *v);
            let g = if L2 { g + self.l2_penalty * param } else { g };
            let param = if SHRINK { param * self.shrink } else { param };
            let first = flush_subnormal(
                self.beta1 * first + self.beta1_complement * g,
                self.smallest_normal,
            );
            let second = flush_subnormal(
                self.beta2 * second + self.beta2_complement * g * g,
                self.smallest_normal,
            );
            let denominator = second.sqrt() * self.inverse_sqrt_bias_correction2 + self.eps;
            *m = first;
            *v = second;
            *p = param - self.step_size * first / denominator;
        }
    }
}

impl<T: Float> VectorRule<T> for AdamStep<T> {
    #[inline(always)]
    fn apply(&self, slices: UpdateSlices<'_, T>) {
        let l2 = self.l2_penalty != T::zero();
        let shrink = self.shrink != T::one();
        match (l2, shrink) {
            (false, false) => self.update::<false, false>(slices),
            (true, false) => self.update::<true, false>(slices),
            (false, true) => self.update::<false, true>(slices),
            (true, true) => self.update::<true, true>(slices),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytemuck::Zeroable;

    use super::*;
    use crate::layers::{Dense, DenseGrads};

    type Grads = DenseGrads<f32, 3, 2>;
    type Params = Dense<f32, 3, 2>;

    #[test]
    fn subnormal_moments_stored_as_zero() {
        // One tiny gradient, then zeros: without the flush, the first moment shrinks by
        // beta1 per step and passes through the subnormal range of `f32`.
        let config = AdamConfig {
            learning_rate: 0.01,
            ..AdamConfig::default()
        };
        let mut adam = Adam::<Grads>::new(config).unwrap();
        let mut params = Params::zeroed();
        params.weight.as_mut_slice().fill(0.5);
        let mut grads = Grads::zeroed();
        grads.weight[(0, 0)] = 1e-30;
        // The coefficients as the optimizer rounds them: computed in `f64`, then converted.
        let (beta1, eps) = (config.beta1 as f32, config.eps as f32);
        let beta1_complement = (1.0 - config.beta1) as f32;
        let (mut reference_m, mut reference_p) = (0.0f32, 0.5f32);
        let mut reference_was_subnormal = false;
        for t in 1..=500u64 {
            adam.step(&mut params, &grads).unwrap();
            // The same step without the flush. The second moment is 0 throughout, since
            // the square of 1e-30 underflows to zero.
            let g = grads.weight[(0, 0)];
            reference_m = beta1 * reference_m + beta1_complement * g;
            let step_size = (0.01 / (1.0 - libm::pow(config.beta1, t as f64))) as f32;
            reference_p -= step_size * reference_m / eps;
            reference_was_subnormal |= reference_m.is_subnormal();
            grads.weight[(0, 0)] = 0.0;

            let m = adam.first_moment().weight[(0, 0)];
            assert!(
                !m.is_subnormal(),
                "step {t}: first moment {m:e} is subnormal"
            );
            if reference_m.is_normal() {
                assert_eq!(m.to_bits(), reference_m.to_bits(), "step {t}");
            }
            assert_eq!(
                params.weight[(0, 0)].to_bits(),
                reference_p.to_bits(),
                "step {t}: the flush changed the parameter"
            );
        }
        assert!(
            reference_was_subnormal,
            "the test must reach the subnormal range"
        );
    }

    #[test]
    fn first_step_moves_by_learning_rate() {
        // With bias correction, m_hat = g and v_hat = g^2 after one step, so each
        // parameter moves by lr * g / (|g| + eps), which is lr * sign(g) for |g| >> eps.
        let config = AdamConfig {
            learning_rate: 0.01,
            ..AdamConfig::default()
        };
        let mut adam = Adam::<Grads>::new(config).unwrap();
        let mut params = Params::zeroed();
        let mut grads = Grads::zeroed();
        grads.weight = nalgebra::SMatrix::from_fn(|r, c| (r as f32 - 0.5) * (c as f32 + 1.0));
        grads.bias[1] = 1e-3;
        adam.step(&mut params, &grads).unwrap();
        for (&p, &g) in params.weight.iter().zip(grads.weight.iter()) {
            assert!(
                (p + 0.01 * g.signum()).abs() < 1e-6,
                "param {p} for gradient {g}"
            );
        }
        assert_eq!(
            params.bias[0], 0.0,
            "zero gradient must not move the parameter"
        );
        assert!(
            (params.bias[1] + 0.01).abs() < 1e-6,
            "bias {}",
            params.bias[1]
        );
        let m = adam.first_moment().bias[1];
        assert!((m - 1e-4).abs() < 1e-10, "first moment {m}");
    }

    #[test]
    fn invalid_settings_are_errors() {
        let cases = [
            (
                "learning_rate",
                AdamConfig {
                    learning_rate: f64::INFINITY,
                    ..AdamConfig::default()
                },
            ),
            (
                "beta1",
                AdamConfig {
                    beta1: 1.0,
                    ..AdamConfig::default()
                },
            ),
            (
                "beta2",
                AdamConfig {
                    beta2: -0.1,
                    ..AdamConfig::default()
                },
            ),
            (
                "eps",
                AdamConfig {
                    eps: 0.0,
                    ..AdamConfig::default()
                },
            ),
            (
                "weight_decay",
                AdamConfig {
                    weight_decay: f64::NAN,
                    ..AdamConfig::default()
                },
            ),
        ];
        for (setting, config) in cases {
            match Adam::<Grads>::new(config) {
                Err(OptimError::InvalidSetting {
                    component,
                    setting: found,
                    ..
                }) => {
                    assert_eq!(component, "Adam");
                    assert_eq!(found, setting, "{config:?}");
                }
                other => panic!("{config:?} gave {:?}", other.map(|_| ())),
            }
        }
        let message = std::format!(
            "{}",
            AdamConfig {
                beta1: 1.5,
                ..AdamConfig::default()
            }
            .validate()
            .unwrap_err()
        );
        assert_eq!(
            message,
            "invalid Adam beta1 1.5: expected a number in [0, 1)"
        );
    }

    #[test]
    fn reset_restarts_bias_correction() {
        let mut adam = Adam::<Grads>::new(AdamConfig::default()).unwrap();
        let mut grads = Grads::zeroed();
        grads.bias.as_mut_slice().fill(2.0);
        let mut first = Params::zeroed();
        adam.step(&mut first, &grads).unwrap();
        adam.step(&mut first, &grads).unwrap();
        adam.reset();
        assert_eq!(adam.second_moment().bias[0], 0.0);
        let mut second = Params::zeroed();
        adam.step(&mut second, &grads).unwrap();
        let mut fresh = Adam::<Grads>::new(AdamConfig::default()).unwrap();
        let mut third = Params::zeroed();
        fresh.step(&mut third, &grads).unwrap();
        assert_eq!(second, third);
    }
}
