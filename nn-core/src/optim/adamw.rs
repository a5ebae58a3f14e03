//! AdamW: Adam with decoupled weight decay.

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

use crate::float::Float;
use crate::optim::adam::{AdamSettings, Moments};
use crate::optim::{
    LearningRate, OptimError, Optimizer, SingleThread, StateBuffer, UpdateRunner,
    check_non_negative,
};
use crate::tensors::{Tensors, Trainable};

/// The settings of [`AdamW`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    /// The learning rate (PyTorch's `lr`); default 0.001.
    pub learning_rate: f64,
    /// The decay rate of the first-moment (mean) estimate, in `[0, 1)`; default 0.9.
    pub beta1: f64,
    /// The decay rate of the second-moment estimate, in `[0, 1)`; default 0.999.
    pub beta2: f64,
    /// The term added to the denominator, positive; default 1e-8.
    pub eps: f64,
    /// The decoupled weight decay: each step multiplies the parameters by
    /// `1 - learning_rate * weight_decay`; default 0.01.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-2,
        }
    }
}

impl AdamWConfig {
    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first setting outside its range.
    pub fn validate(&self) -> Result<(), OptimError> {
        self.settings().validate("AdamW")
    }

    fn settings(&self) -> AdamSettings {
        AdamSettings {
            learning_rate: self.learning_rate,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            decoupled: true,
        }
    }
}

/// AdamW, as PyTorch's `torch.optim.AdamW` (without `amsgrad`).
///
/// Like [`Adam`](super::Adam), except that weight decay shrinks the parameters directly
/// instead of entering the gradient, so it is not rescaled by the adaptive denominator.
/// For gradient `g`, parameter `p` and step number `t` (1 on the first step):
///
/// ```text
/// p = p * (1 - lr * weight_decay)
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g^2
/// m_hat = m / (1 - beta1^t)
/// v_hat = v / (1 - beta2^t)
/// p = p - lr * m_hat / (sqrt(v_hat) + eps)
/// ```
///
/// `G` is the gradient type. The moments are stored as `S`, which is `G` (see
/// [`new`](AdamW::new)) or `Box<G>` (see `new_boxed`).
#[derive(Clone, Debug)]
pub struct AdamW<G, S = G> {
    config: AdamWConfig,
    moments: Moments<G, S>,
}

impl<G: bytemuck::Zeroable> AdamW<G> {
    /// Creates the optimizer with its two moment buffers inline.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first invalid setting.
    pub fn new(config: AdamWConfig) -> Result<Self, OptimError> {
        Self::with_state(config)
    }
}

#[cfg(feature = "alloc")]
impl<G: bytemuck::Zeroable> AdamW<G, Box<G>> {
    /// Creates the optimizer with its two moment buffers on the heap.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] for the first invalid setting.
    pub fn new_boxed(config: AdamWConfig) -> Result<Self, OptimError> {
        Self::with_state(config)
    }
}

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> AdamW<G, S> {
    fn with_state(config: AdamWConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Self {
            config,
            moments: Moments::zeroed(),
        })
    }

    /// The settings, with the current learning rate.
    pub fn config(&self) -> &AdamWConfig {
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

impl<G: bytemuck::Zeroable, S: StateBuffer<G>> LearningRate for AdamW<G, S> {
    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), OptimError> {
        check_non_negative("AdamW", "learning_rate", learning_rate)?;
        self.config.learning_rate = learning_rate;
        Ok(())
    }
}

impl<T, P, G, S> Optimizer<T, P, G> for AdamW<G, S>
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
        let settings = self.config.settings();
        self.moments
            .step(&settings, params, grads, lr_scale, runner)
    }
}

#[cfg(test)]
mod tests {
    use bytemuck::Zeroable;

    use super::*;
    use crate::layers::{Dense, DenseGrads};
    use crate::optim::{Adam, AdamConfig};

    type Grads = DenseGrads<f64, 2, 2>;
    type Params = Dense<f64, 2, 2>;

    #[test]
    fn zero_gradient_only_shrinks() {
        let config = AdamWConfig {
            learning_rate: 0.1,
            weight_decay: 0.5,
            ..AdamWConfig::default()
        };
        let mut adamw = AdamW::<Grads>::new(config).unwrap();
        let mut params = Params::zeroed();
        params.bias.as_mut_slice().fill(2.0);
        adamw.step(&mut params, &Grads::zeroed()).unwrap();
        // Decoupled decay: 2 * (1 - 0.1 * 0.5); the zero gradient adds nothing.
        assert!((params.bias[0] - 1.9).abs() < 1e-15, "{}", params.bias[0]);
    }

    #[test]
    fn decay_differs_from_adam_l2_penalty() {
        let mut grads = Grads::zeroed();
        grads.bias.as_mut_slice().fill(1.0);
        let mut decoupled = Params::zeroed();
        decoupled.bias.as_mut_slice().fill(3.0);
        let mut coupled = decoupled.clone();

        let adamw_config = AdamWConfig {
            weight_decay: 0.1,
            ..AdamWConfig::default()
        };
        let mut adamw = AdamW::<Grads>::new(adamw_config).unwrap();
        let adam_config = AdamConfig {
            weight_decay: 0.1,
            ..AdamConfig::default()
        };
        let mut adam = Adam::<Grads>::new(adam_config).unwrap();
        adamw.step(&mut decoupled, &grads).unwrap();
        adam.step(&mut coupled, &grads).unwrap();

        // Adam's first step moves by lr whatever the gradient's size, so its decay is
        // invisible; AdamW shrinks on top: 3 * (1 - 1e-3 * 0.1) - 1e-3.
        assert!(
            (coupled.bias[0] - (3.0 - 1e-3)).abs() < 1e-9,
            "{}",
            coupled.bias[0]
        );
        let expected = 3.0 * (1.0 - 1e-4) - 1e-3;
        assert!(
            (decoupled.bias[0] - expected).abs() < 1e-9,
            "{}",
            decoupled.bias[0]
        );
    }

    #[test]
    fn invalid_settings_name_adamw() {
        let config = AdamWConfig {
            eps: -1.0,
            ..AdamWConfig::default()
        };
        let error = AdamW::<Grads>::new(config).map(|_| ()).unwrap_err();
        assert!(
            matches!(
                error,
                OptimError::InvalidSetting {
                    component: "AdamW",
                    setting: "eps",
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
