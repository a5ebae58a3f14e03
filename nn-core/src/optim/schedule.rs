//! Learning-rate schedules.

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

use crate::optim::{OptimError, check_non_negative, check_setting};

/// A learning rate that changes with the step (or epoch) number.
///
/// The caller counts steps from 0 and passes the optimizer's initial rate as `base`,
/// then hands the result to
/// [`LearningRate::set_learning_rate`](super::LearningRate::set_learning_rate). Whether a
/// "step" is an optimizer step or an epoch is the caller's choice.
pub trait Schedule {
    /// Returns the learning rate for step `step`, counted from 0.
    fn learning_rate(&self, base: f64, step: usize) -> f64;
}

impl<S: Schedule + ?Sized> Schedule for &S {
    fn learning_rate(&self, base: f64, step: usize) -> f64 {
        (**self).learning_rate(base, step)
    }
}

#[cfg(feature = "alloc")]
impl<S: Schedule + ?Sized> Schedule for Box<S> {
    fn learning_rate(&self, base: f64, step: usize) -> f64 {
        (**self).learning_rate(base, step)
    }
}

/// The base learning rate at every step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Constant;

impl Schedule for Constant {
    fn learning_rate(&self, base: f64, _step: usize) -> f64 {
        base
    }
}

/// Multiplies the learning rate by `gamma` every `step_size` steps:
/// `base * gamma^floor(step / step_size)`, as PyTorch's `StepLR`.
///
/// ```
/// use nn_core::optim::{Schedule, StepDecay};
///
/// let decay = StepDecay::new(10, 0.5)?;
/// assert_eq!(decay.learning_rate(0.1, 9), 0.1);
/// assert_eq!(decay.learning_rate(0.1, 10), 0.05);
/// # Ok::<(), nn_core::optim::OptimError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay {
    step_size: usize,
    gamma: f64,
}

impl StepDecay {
    /// Creates the schedule.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] if `step_size` is 0 or `gamma` is negative or not
    /// finite.
    pub fn new(step_size: usize, gamma: f64) -> Result<Self, OptimError> {
        let expected = "a number of steps >= 1";
        check_setting(step_size > 0, "StepDecay", "step_size", 0.0, expected)?;
        check_non_negative("StepDecay", "gamma", gamma)?;
        Ok(Self { step_size, gamma })
    }
}

impl Schedule for StepDecay {
    fn learning_rate(&self, base: f64, step: usize) -> f64 {
        let decays = step / self.step_size;
        base * libm::pow(self.gamma, decays as f64)
    }
}

/// Cosine annealing from the base rate down to `min_learning_rate` over `total_steps`
/// steps, as PyTorch's `CosineAnnealingLR` with `T_max = total_steps`:
///
/// ```text
/// lr = min + (base - min) * (1 + cos(pi * step / total_steps)) / 2
/// ```
///
/// After `total_steps` the rate stays at `min_learning_rate`; PyTorch's formula would
/// rise again, which only matters when training runs past the planned end.
///
/// ```
/// use nn_core::optim::{CosineAnnealing, Schedule};
///
/// let cosine = CosineAnnealing::new(100, 0.0)?;
/// assert_eq!(cosine.learning_rate(0.1, 0), 0.1);
/// assert!((cosine.learning_rate(0.1, 50) - 0.05).abs() < 1e-15);
/// assert_eq!(cosine.learning_rate(0.1, 100), 0.0);
/// # Ok::<(), nn_core::optim::OptimError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealing {
    total_steps: usize,
    min_learning_rate: f64,
}

impl CosineAnnealing {
    /// Creates the schedule.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] if `total_steps` is 0 or `min_learning_rate` is
    /// negative or not finite.
    pub fn new(total_steps: usize, min_learning_rate: f64) -> Result<Self, OptimError> {
        let expected = "a number of steps >= 1";
        check_setting(
            total_steps > 0,
            "CosineAnnealing",
            "total_steps",
            0.0,
            expected,
        )?;
        check_non_negative("CosineAnnealing", "min_learning_rate", min_learning_rate)?;
        Ok(Self {
            total_steps,
            min_learning_rate,
        })
    }
}

impl Schedule for CosineAnnealing {
    fn learning_rate(&self, base: f64, step: usize) -> f64 {
        if step >= self.total_steps {
            return self.min_learning_rate;
        }
        let progress = step as f64 / self.total_steps as f64;
        let cosine = (1.0 + libm::cos(core::f64::consts::PI * progress)) / 2.0;
        self.min_learning_rate + (base - self.min_learning_rate) * cosine
    }
}

/// Linear warm-up for `steps` steps, then another schedule.
///
/// During warm-up the rate rises linearly from `base / steps` at step 0 to `base` at
/// step `steps - 1`. From step `steps` on, `inner` takes over with its steps counted from
/// the end of warm-up, so `Warmup::new(5, CosineAnnealing::new(95, 0.0)?)` plans 100
/// steps in all. `steps = 0` means no warm-up.
///
/// ```
/// use nn_core::optim::{Constant, Schedule, Warmup};
///
/// let warmup = Warmup::new(4, Constant);
/// assert_eq!(warmup.learning_rate(0.1, 0), 0.025);
/// assert_eq!(warmup.learning_rate(0.1, 3), 0.1);
/// assert_eq!(warmup.learning_rate(0.1, 50), 0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warmup<S> {
    steps: usize,
    inner: S,
}

impl<S: Schedule> Warmup<S> {
    /// Warms up for `steps` steps, then follows `inner`.
    pub fn new(steps: usize, inner: S) -> Self {
        Self { steps, inner }
    }

    /// The schedule that follows the warm-up.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Schedule> Schedule for Warmup<S> {
    fn learning_rate(&self, base: f64, step: usize) -> f64 {
        if step < self.steps {
            base * (step + 1) as f64 / self.steps as f64
        } else {
            self.inner.learning_rate(base, step - self.steps)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-12,
            "{actual} against {expected}"
        );
    }

    #[test]
    fn constant_ignores_step() {
        for step in [0, 1, 1000] {
            assert_eq!(Constant.learning_rate(0.3, step), 0.3);
        }
    }

    #[test]
    fn step_decay_known_values() {
        let decay = StepDecay::new(3, 0.1).unwrap();
        let expected = [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01, 0.01];
        for (step, &rate) in expected.iter().enumerate() {
            assert_close(decay.learning_rate(1.0, step), rate);
        }
    }

    #[test]
    fn cosine_known_values() {
        // min + (base - min) * (1 + cos(pi * t / 8)) / 2 with base 1, min 0.2.
        let cosine = CosineAnnealing::new(8, 0.2).unwrap();
        let expected = [
            1.0,
            0.969_551_813_004_514_7,
            0.882_842_712_474_619,
            0.6,
            0.2,
        ];
        for (step, &rate) in [0, 1, 2, 4, 8].iter().zip(&expected) {
            assert_close(cosine.learning_rate(1.0, *step), rate);
        }
        assert_eq!(cosine.learning_rate(1.0, 20), 0.2);
    }

    #[test]
    fn warmup_then_cosine() {
        let schedule = Warmup::new(4, CosineAnnealing::new(4, 0.0).unwrap());
        let expected = [
            0.25,
            0.5,
            0.75,
            1.0,
            1.0,
            0.853_553_390_593_273_7,
            0.5,
            0.146_446_609_406_726_3,
            0.0,
        ];
        for (step, &rate) in expected.iter().enumerate() {
            assert_close(schedule.learning_rate(1.0, step), rate);
        }
    }

    #[test]
    fn zero_warmup_is_inner() {
        let schedule = Warmup::new(0, StepDecay::new(1, 0.5).unwrap());
        assert_eq!(schedule.learning_rate(2.0, 0), 2.0);
        assert_eq!(schedule.learning_rate(2.0, 1), 1.0);
    }

    #[test]
    fn invalid_settings_are_errors() {
        assert!(StepDecay::new(0, 0.5).is_err());
        assert!(StepDecay::new(5, -0.5).is_err());
        assert!(StepDecay::new(5, f64::NAN).is_err());
        assert!(CosineAnnealing::new(0, 0.0).is_err());
        assert!(CosineAnnealing::new(10, -1e-3).is_err());
        let message = std::format!("{}", StepDecay::new(0, 0.5).unwrap_err());
        assert_eq!(
            message,
            "invalid StepDecay step_size 0: expected a number of steps >= 1"
        );
    }

    #[test]
    fn boxed_schedule_is_a_schedule() {
        let schedule: std::boxed::Box<dyn Schedule> =
            std::boxed::Box::new(Warmup::new(2, Constant));
        assert_eq!(schedule.learning_rate(1.0, 0), 0.5);
    }
}
