//! The `Layer` trait that every building block of a network implements.

use core::fmt::Debug;

use nalgebra::SMatrix;

use crate::float::Float;
use crate::rng::Rng;
use crate::tensors::Tensors;

/// A differentiable map from `IN` values to `OUT` values per sample.
///
/// Batches are matrices with one column per sample, so a single sample is the batch size
/// `B = 1` (`SVector<T, N>` is `SMatrix<T, N, 1>`). Built-in layers, user-defined layers
/// and whole networks implement this trait, which is how a network declared with
/// `network!` can be a layer of another.
///
/// # Implementing a custom layer
///
/// Declare it as `name: MyLayer -> [OUT]` in `network!`. The layer must also implement
/// [`Tensors`] for its parameters (zero tensors if it has none) and `bytemuck::Zeroable`,
/// because networks are created zeroed and then initialised in place.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer from {IN} to {OUT} `{T}` values per sample",
    label = "this layer does not fit here",
    note = "the layer before it produces {IN} values per sample and the declaration needs {OUT} from this one; change a size in the declaration, or use a layer that maps {IN} to {OUT} `{T}` values"
)]
pub trait Layer<T: Float, const IN: usize, const OUT: usize>: Tensors<T> {
    /// What the training forward pass records for `backward`, for a batch of `B` samples.
    type Trace<const B: usize>: Clone + Debug;

    /// The gradients of this layer's parameters, shaped like its tensors.
    type Grads: Tensors<T> + bytemuck::Zeroable + Clone + Debug;

    /// A short name of the layer's kind, shown by network summaries.
    const KIND: &'static str;

    /// Runs inference on a batch.
    fn forward<const B: usize>(&self, x: &SMatrix<T, IN, B>) -> SMatrix<T, OUT, B>;

    /// Runs the training forward pass (dropout active) and records what `backward` needs.
    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
    ) -> (SMatrix<T, OUT, B>, Self::Trace<B>);

    /// Adds the parameter gradients of the batch to `grads` and returns the gradient with
    /// respect to the input.
    ///
    /// `grad_out` is the gradient of the loss with respect to this layer's output.
    fn backward<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        grads: &mut Self::Grads,
    ) -> SMatrix<T, IN, B>;

    /// Adds the parameter gradients of the batch to `grads` without computing the input
    /// gradient, which a network's first layer does not need.
    fn accumulate_grads<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        grads: &mut Self::Grads,
    ) {
        let _ = self.backward(trace, grad_out, grads);
    }

    /// Returns the gradient with respect to the input without computing any parameter
    /// gradient, as a frozen layer needs.
    ///
    /// The default builds zero gradients on the stack and discards them; layers with large
    /// parameters override it.
    fn backward_input<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
    ) -> SMatrix<T, IN, B> {
        let mut discarded = <Self::Grads as bytemuck::Zeroable>::zeroed();
        self.backward(trace, grad_out, &mut discarded)
    }

    /// Initialises the parameters with the layer's default initialiser.
    fn init(&mut self, rng: &mut Rng);
}
