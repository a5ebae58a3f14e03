//! Optimizers, learning-rate schedules and gradient clipping.
//!
//! An optimizer walks trainable tensor `i` of the parameters ([`Trainable`]) and tensor
//! `i` of the gradients and of its own state buffers ([`Tensors`]) in lockstep. The
//! state buffers are values of the gradient type `G`, so they are typed like the network
//! and need no allocation: [`Adam`] for a generated `Net` stores two `NetGrads`, which
//! have no fields for frozen layers. For networks too large for the
//! stack, the `new_boxed` constructors (`alloc` feature) put each buffer in a `Box<G>`.
//!
//! The update rules follow the algorithms in PyTorch's documentation of `torch.optim`
//! (version 2.x): [`Sgd`], [`Adam`], [`AdamW`] and [`RmsProp`] give the same parameters
//! as `SGD`, `Adam`, `AdamW` and `RMSprop` with the same settings, up to rounding.
//! Hyperparameters are `f64` and converted to the scalar type once per step.
//!
//! One difference from PyTorch is deliberate: the optimizers store a running average
//! (momentum, moments, squared-gradient averages) that falls below the smallest normal
//! value of the scalar type as zero, where PyTorch keeps the subnormal value. Many x86-64
//! cores compute with subnormal numbers in microcode, many times slower. Such averages
//! are common: the weights of an input that is almost always zero get zero gradients in
//! most steps, so their averages shrink through the subnormal range for hundreds to
//! thousands of steps. Training a 784-128-10 network on MNIST for one epoch on one thread of an
//! Intel Xeon virtual machine spent
//! 0.31 s of 0.70 s in Adam updates when the averages were kept, and 0.13 s of 0.51 to
//! 0.53 s when they were stored as zero, with the same printed training loss (`cargo bench --bench
//! mnist_epoch`, see `BENCHMARKS.md`). The parameters move by
//! the learning rate times such an average divided by at least `eps`, far below half a
//! unit in the last place of any parameter above about `1e-25`. That holds for `eps` of
//! about `1e-12` and above (the default is `1e-8`): with a much smaller `eps`, a flushed
//! second moment also changes the denominator, and Adam and RMSProp then differ from
//! PyTorch.
//!
//! ```
//! use nn_core::bytemuck::Zeroable;
//! use nn_core::optim::{Adam, AdamConfig, Optimizer};
//! use nn_core::{Dense, DenseGrads};
//!
//! let mut layer = Dense::<f32, 2, 1>::zeroed();
//! let mut grads = DenseGrads::<f32, 2, 1>::zeroed();
//! grads.bias[0] = 0.5;
//!
//! let config = AdamConfig {
//!     learning_rate: 0.1,
//!     ..AdamConfig::default()
//! };
//! let mut adam = Adam::<DenseGrads<f32, 2, 1>>::new(config)?;
//! adam.step(&mut layer, &grads)?;
//! // Adam's first step moves a parameter with a nonzero gradient by the learning rate.
//! assert!((layer.bias[0] + 0.1).abs() < 1e-6);
//! # Ok::<(), nn_core::optim::OptimError>(())
//! ```

mod adam;
mod adamw;
mod clip;
mod elementwise;
mod layer_rates;
mod rmsprop;
mod schedule;
mod sgd;

use core::fmt;

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

use crate::float::Float;
use crate::tensors::{Tensors, Trainable};

pub(crate) use elementwise::{VectorRule, apply_vectorized, flush_subnormal};

pub use adam::{Adam, AdamConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use clip::{clip_grad_norm, clip_grad_value, grad_norm};
pub use elementwise::{MAX_STATE_BUFFERS, SingleThread, UpdateRunner, UpdateSlices};
pub use layer_rates::{LayerRates, MAX_LAYER_RATES};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{Constant, CosineAnnealing, Schedule, StepDecay, Warmup};
pub use sgd::{Sgd, SgdConfig};

/// The learning rate of an optimizer, which schedules read and set between steps.
///
/// Every [`Optimizer`] implements it. It is a separate trait because it does not depend
/// on the parameter types, so `optimizer.set_learning_rate(rate)` needs no annotations.
pub trait LearningRate {
    /// The learning rate the next step uses.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate of the following steps, as a schedule does.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidSetting`] unless `learning_rate` is finite and not negative.
    /// The rate is then left unchanged.
    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), OptimError>;
}

/// Updates parameters `P` from gradients `G`, where trainable tensor `i` of `P` and tensor
/// `i` of `G` are the same tensor.
///
/// The parameters' tensors that are not trainable (those of frozen layers) are never
/// read or written.
///
/// # Errors
///
/// Both methods return [`OptimError::TensorCountMismatch`] or
/// [`OptimError::TensorLengthMismatch`] when `params` and `grads` do not list tensors of
/// the same lengths, and then change nothing. A generated network and its gradient type
/// always match.
///
/// NOTE: `P` and `G` are not tied together in the type system, so the gradients of another
/// network whose tensors have the same lengths are accepted. `fit` and the generated
/// `backward_into` do tie them, so use those, or keep one optimizer per network.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an optimizer for `{P}` with gradients `{G}`",
    label = "this optimizer cannot update these parameters",
    note = "an optimizer's state is typed by the gradients of the network it was created for, so it cannot train another network; create a new optimizer with state for `{G}`"
)]
pub trait Optimizer<T: Float, P: Trainable<T>, G: Tensors<T>>: LearningRate {
    /// Applies one update to every trainable tensor of `params`.
    ///
    /// # Errors
    ///
    /// See the [trait documentation](Optimizer#errors).
    fn step(&mut self, params: &mut P, grads: &G) -> Result<(), OptimError> {
        self.step_scaled(params, grads, &|_| Some(1.0))
    }

    /// Applies one update with a learning rate chosen per tensor.
    ///
    /// `lr_scale(i)` returns the factor by which trainable tensor `i`'s learning rate is
    /// multiplied, or `None` to leave tensor `i` and its optimizer state untouched.
    /// The step counter advances for all tensors together. [`LayerRates`] builds
    /// `lr_scale` from layer names.
    ///
    /// # Errors
    ///
    /// See the [trait documentation](Optimizer#errors).
    fn step_scaled(
        &mut self,
        params: &mut P,
        grads: &G,
        lr_scale: &dyn Fn(usize) -> Option<f64>,
    ) -> Result<(), OptimError>;

    /// Applies one update like [`step_scaled`](Self::step_scaled), handing the update of
    /// each tensor to `runner`, which may spread it over several threads.
    ///
    /// [`Sgd`], [`Adam`], [`AdamW`] and [`RmsProp`] update every value independently of
    /// the others, so they give the same parameters with every runner. The default
    /// implementation ignores `runner` and calls `step_scaled`; an optimizer of your own
    /// needs to implement only that.
    ///
    /// # Errors
    ///
    /// See the [trait documentation](Optimizer#errors).
    fn step_scaled_with(
        &mut self,
        params: &mut P,
        grads: &G,
        lr_scale: &dyn Fn(usize) -> Option<f64>,
        runner: &dyn UpdateRunner<T>,
    ) -> Result<(), OptimError> {
        let _ = runner;
        self.step_scaled(params, grads, lr_scale)
    }
}

/// Storage for one optimizer buffer shaped like the gradients `G`.
///
/// `G` itself keeps the buffer inline, without allocation. `Box<G>` (`alloc` feature)
/// keeps it on the heap, for networks whose buffers do not fit on the stack.
pub trait StateBuffer<G: bytemuck::Zeroable>: Sized {
    /// Creates a buffer with every value zero.
    fn new_zeroed() -> Self;

    /// The buffer.
    fn buffer(&self) -> &G;

    /// The buffer for writing.
    fn buffer_mut(&mut self) -> &mut G;

    /// Sets every value to zero in place, without building a new buffer.
    fn reset_to_zero(&mut self) {
        bytemuck::write_zeroes(self.buffer_mut());
    }
}

impl<G: bytemuck::Zeroable> StateBuffer<G> for G {
    fn new_zeroed() -> Self {
        G::zeroed()
    }

    fn buffer(&self) -> &G {
        self
    }

    fn buffer_mut(&mut self) -> &mut G {
        self
    }
}

#[cfg(feature = "alloc")]
impl<G: bytemuck::Zeroable> StateBuffer<G> for Box<G> {
    fn new_zeroed() -> Self {
        // Allocates zeroed memory directly, so no `G` is ever built on the stack.
        bytemuck::zeroed_box()
    }

    fn buffer(&self) -> &G {
        self
    }

    fn buffer_mut(&mut self) -> &mut G {
        self
    }
}

/// An invalid optimizer, schedule or clipping setting, or parameters and gradients that
/// do not match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimError {
    /// A setting is outside its valid range.
    InvalidSetting {
        /// The optimizer, schedule or function the setting belongs to, such as `Adam`.
        component: &'static str,
        /// The setting, such as `beta1`.
        setting: &'static str,
        /// The rejected value.
        value: f64,
        /// The valid range, such as `a number in [0, 1)`.
        expected: &'static str,
    },
    /// The parameters and the gradients have different numbers of trainable tensors.
    TensorCountMismatch {
        /// The number of trainable parameter tensors.
        params: usize,
        /// The number of gradient tensors.
        grads: usize,
    },
    /// A parameter tensor and its gradient have different lengths.
    TensorLengthMismatch {
        /// The index; `Trainable::trainable_tensor_info(tensor)` of the parameter type
        /// names it.
        tensor: usize,
        /// The number of parameter values.
        params: usize,
        /// The number of gradient values.
        grads: usize,
    },
    /// A [`LayerRates`] factor is negative, infinite or NaN.
    InvalidLayerRate {
        /// The layer or tensor name the factor was given for.
        prefix: &'static str,
        /// The rejected factor.
        factor: f64,
    },
    /// A [`LayerRates`] has no room for another name.
    TooManyLayerRates {
        /// The name that did not fit.
        prefix: &'static str,
    },
    /// A [`LayerRates`] name matches no trainable tensor of the parameters: it is
    /// misspelt, or it names a frozen layer, which has no trainable tensors.
    LayerRateMatchesNothing {
        /// The name.
        prefix: &'static str,
    },
}

impl fmt::Display for OptimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSetting {
                component,
                setting,
                value,
                expected,
            } => write!(
                f,
                "invalid {component} {setting} {value}: expected {expected}"
            ),
            Self::TensorCountMismatch { params, grads } => write!(
                f,
                "the parameters have {params} tensors but the gradients have {grads}; \
                 pass the gradients of the same network"
            ),
            Self::TensorLengthMismatch {
                tensor,
                params,
                grads,
            } => write!(
                f,
                "tensor {tensor} has {params} parameter values but {grads} gradient values; \
                 pass the gradients of the same network"
            ),
            Self::InvalidLayerRate { prefix, factor } => write!(
                f,
                "invalid learning-rate factor {factor} for `{prefix}`: expected a finite number >= 0"
            ),
            Self::TooManyLayerRates { prefix } => write!(
                f,
                "cannot add a learning-rate factor for `{prefix}`: a LayerRates holds at most \
                 {MAX_LAYER_RATES} names; give a common prefix such as `backbone` instead of \
                 each of its layers"
            ),
            Self::LayerRateMatchesNothing { prefix } => write!(
                f,
                "the learning-rate factor for `{prefix}` matches no trainable tensor; \
                 give a layer name such as `hidden` or a tensor name such as `hidden.bias`, \
                 and note that frozen layers have no trainable tensors"
            ),
        }
    }
}

impl core::error::Error for OptimError {}

/// Returns `Ok(())` when `valid` holds, else an [`OptimError::InvalidSetting`].
pub(crate) fn check_setting(
    valid: bool,
    component: &'static str,
    setting: &'static str,
    value: f64,
    expected: &'static str,
) -> Result<(), OptimError> {
    if valid {
        Ok(())
    } else {
        Err(OptimError::InvalidSetting {
            component,
            setting,
            value,
            expected,
        })
    }
}

/// Checks that `value` is finite and not negative.
pub(crate) fn check_non_negative(
    component: &'static str,
    setting: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    let valid = value >= 0.0 && value.is_finite();
    check_setting(valid, component, setting, value, "a finite number >= 0")
}

/// Checks that `value` lies in `[0, 1)`, the range of momentum and averaging factors.
pub(crate) fn check_unit_interval(
    component: &'static str,
    setting: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    let valid = (0.0..1.0).contains(&value);
    check_setting(valid, component, setting, value, "a number in [0, 1)")
}

/// Checks that `value` is finite and positive, as the `eps` terms must be.
pub(crate) fn check_positive(
    component: &'static str,
    setting: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    let valid = value > 0.0 && value.is_finite();
    check_setting(valid, component, setting, value, "a finite number > 0")
}

/// Checks that the trainable tensors of `params` and the tensors of `grads` agree in
/// number and lengths.
pub(crate) fn check_shapes<T, P, G>(params: &P, grads: &G) -> Result<(), OptimError>
where
    P: Trainable<T>,
    G: Tensors<T>,
{
    if P::TRAINABLE_COUNT != G::COUNT {
        return Err(OptimError::TensorCountMismatch {
            params: P::TRAINABLE_COUNT,
            grads: G::COUNT,
        });
    }
    for tensor in 0..G::COUNT {
        let params_len = params.trainable_tensor(tensor).map_or(0, <[T]>::len);
        let grads_len = grads.tensor(tensor).map_or(0, <[T]>::len);
        if params_len != grads_len {
            return Err(OptimError::TensorLengthMismatch {
                tensor,
                params: params_len,
                grads: grads_len,
            });
        }
    }
    Ok(())
}

/// Checks the shapes, then calls `update(i, scale, params_i, grads_i)` for each trainable
/// tensor `i` that `lr_scale` does not skip.
///
/// This loop is the one place that pairs tensors, so per-tensor rules (frozen layers,
/// per-layer learning rates) live in `lr_scale`.
pub(crate) fn for_each_tensor<T, P, G>(
    params: &mut P,
    grads: &G,
    lr_scale: &dyn Fn(usize) -> Option<f64>,
    mut update: impl FnMut(usize, f64, &mut [T], &[T]),
) -> Result<(), OptimError>
where
    P: Trainable<T>,
    G: Tensors<T>,
{
    check_shapes(params, grads)?;
    for tensor in 0..G::COUNT {
        let Some(scale) = lr_scale(tensor) else {
            continue;
        };
        let pair = (params.trainable_tensor_mut(tensor), grads.tensor(tensor));
        if let (Some(values), Some(gradient)) = pair {
            update(tensor, scale, values, gradient);
        }
    }
    Ok(())
}

/// Returns tensor `i` of a state buffer, which has the gradients' shapes.
pub(crate) fn state_tensor<'a, T, G, S>(state: &'a mut S, tensor: usize) -> &'a mut [T]
where
    G: Tensors<T> + bytemuck::Zeroable + 'a,
    S: StateBuffer<G>,
{
    // The buffer has type `G`, the type of the gradients whose tensor `i` exists.
    state.buffer_mut().tensor_mut(tensor).unwrap_or(&mut [])
}

/// Returns tensor `i` of an optional state buffer, or an empty slice without the buffer.
pub(crate) fn optional_state_tensor<'a, T, G, S>(
    state: &'a mut Option<S>,
    tensor: usize,
) -> &'a mut [T]
where
    G: Tensors<T> + bytemuck::Zeroable + 'a,
    S: StateBuffer<G>,
{
    match state {
        Some(buffer) => state_tensor::<T, G, S>(buffer, tensor),
        None => &mut [],
    }
}
