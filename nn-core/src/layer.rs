//! The `Layer` trait that every building block of a network implements.

use core::fmt::Debug;

use nalgebra::SMatrix;

use crate::float::Float;
use crate::rng::Rng;
use crate::team::{SharedGrads, Team};
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

    /// Returns the number of parameters this layer splits over a team of `threads` threads in
    /// the layer split (see [`team`](crate::team)). The default is 0: the layer runs
    /// whole on every thread.
    fn split_params(threads: usize) -> usize {
        let _ = threads;
        0
    }

    /// Runs the training forward pass as one thread of `team`. Every thread of the team
    /// calls it with the same `x` and with generators in the same state.
    ///
    /// Every thread must return the same output, bit for bit. The default runs
    /// [`forward_train`](Layer::forward_train) on every thread, which does that as long as
    /// the layer is deterministic.
    fn forward_train_team<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
        team: &dyn Team<T>,
    ) -> (SMatrix<T, OUT, B>, Self::Trace<B>) {
        let _ = team;
        self.forward_train(x, rng)
    }

    /// [`backward`](Layer::backward) as one thread of `team`: adds this thread's share of
    /// the parameter gradients to `grads` and returns the whole input gradient, the same
    /// on every thread.
    ///
    /// The default lets thread 0 run `backward` (after zeroing `grads` when the team
    /// [overwrites gradients](Team::overwrite_grads)) and the others
    /// [`backward_input`](Layer::backward_input). A layer that overrides it may write
    /// only the parts of `grads` that no other thread writes in the same step, and must
    /// follow [`Team::overwrite_grads`].
    ///
    /// # Safety
    ///
    /// Layers decide from `team` which parts of `grads` the calling thread writes. So
    /// every thread that has a handle to the same gradients at the same time must call
    /// with its own member of one team (distinct indices, the same size), or a single
    /// thread must call with a team of which it plays every member ([`Solo`] or
    /// [`Serial`]). An override that passes its handle on to other layers must pass
    /// the `team` it received.
    ///
    /// [`Solo`]: crate::team::Solo
    /// [`Serial`]: crate::team::Serial
    unsafe fn backward_team<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        grads: SharedGrads<'_, Self::Grads>,
        team: &dyn Team<T>,
    ) -> SMatrix<T, IN, B> {
        // SAFETY: the caller keeps the contract of this method, which is that function's.
        unsafe { backward_team_whole(self, trace, grad_out, grads, team) }
    }

    /// [`accumulate_grads`](Layer::accumulate_grads) as one thread of `team`: adds this
    /// thread's share of the parameter gradients to `grads`, without the input gradient.
    ///
    /// The default lets thread 0 run `accumulate_grads` (after zeroing `grads` when the
    /// team [overwrites gradients](Team::overwrite_grads)) and does nothing on the others.
    ///
    /// # Safety
    ///
    /// As for [`backward_team`](Layer::backward_team).
    unsafe fn accumulate_grads_team<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        grads: SharedGrads<'_, Self::Grads>,
        team: &dyn Team<T>,
    ) {
        // SAFETY: as in `backward_team`.
        unsafe { accumulate_grads_team_whole(self, trace, grad_out, grads, team) }
    }

    /// Returns `x` itself as the trace of a training forward pass on `x`, for a layer
    /// whose trace is a copy of its input ([`Dense`](crate::Dense), and activations
    /// such as [`Relu`](crate::Relu) whose derivative needs their input), or `None`, the
    /// default.
    ///
    /// The [`accumulate_pass`](Layer::accumulate_pass) of a network declared with
    /// `network!` then calls [`forward_train_untraced`](Layer::forward_train_untraced)
    /// for the layer and hands `x` to its backward pass, which spares copying the batch.
    /// The trait's own `accumulate_pass` does not call this method. A layer that returns
    /// `Some` must return it for every `x`, and its backward methods must accept `x` as
    /// the trace.
    fn input_trace<const B: usize>(x: &SMatrix<T, IN, B>) -> Option<&Self::Trace<B>> {
        let _ = x;
        None
    }

    /// Returns the output of [`forward_train`](Layer::forward_train) without recording
    /// the trace, for a layer whose [`input_trace`](Layer::input_trace) is `Some`.
    fn forward_train_untraced<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
    ) -> SMatrix<T, OUT, B> {
        self.forward_train(x, rng).0
    }

    /// Returns the output of [`forward_train_team`](Layer::forward_train_team) without
    /// recording the trace, as [`forward_train_untraced`](Layer::forward_train_untraced)
    /// does for one thread.
    fn forward_train_team_untraced<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
        team: &dyn Team<T>,
    ) -> SMatrix<T, OUT, B> {
        self.forward_train_team(x, rng, team).0
    }

    /// Runs a whole training pass on a batch: [`forward_train`](Layer::forward_train),
    /// then `output_grad` on the outputs, then
    /// [`accumulate_grads`](Layer::accumulate_grads) with the gradient it returns.
    /// Returns what `output_grad` returned first, usually the loss, and the outputs.
    ///
    /// The result is the same as that of the three calls in a row. Networks declared
    /// with `network!` override it to keep each layer's trace in a local variable. The
    /// three separate calls move every trace into the network's trace and out again, and
    /// when the first layer is [`Dense`](crate::Dense), its trace is a copy of the batch.
    fn accumulate_pass<R, F, const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
        grads: &mut Self::Grads,
        output_grad: F,
    ) -> (R, SMatrix<T, OUT, B>)
    where
        F: FnOnce(&SMatrix<T, OUT, B>) -> (R, SMatrix<T, OUT, B>),
    {
        let (y, trace) = self.forward_train(x, rng);
        let (result, grad_out) = output_grad(&y);
        self.accumulate_grads(&trace, &grad_out, grads);
        (result, y)
    }

    /// [`accumulate_pass`](Layer::accumulate_pass) as one thread of `team`:
    /// [`forward_train_team`](Layer::forward_train_team), `output_grad` and
    /// [`accumulate_grads_team`](Layer::accumulate_grads_team) in a row.
    ///
    /// # Safety
    ///
    /// As for [`backward_team`](Layer::backward_team).
    unsafe fn accumulate_pass_team<R, F, const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
        grads: SharedGrads<'_, Self::Grads>,
        team: &dyn Team<T>,
        output_grad: F,
    ) -> (R, SMatrix<T, OUT, B>)
    where
        F: FnOnce(&SMatrix<T, OUT, B>) -> (R, SMatrix<T, OUT, B>),
    {
        let (y, trace) = self.forward_train_team(x, rng, team);
        let (result, grad_out) = output_grad(&y);
        // SAFETY: this method has the same contract as `accumulate_grads_team`.
        unsafe { self.accumulate_grads_team(&trace, &grad_out, grads, team) };
        (result, y)
    }
}

/// Returns thread 0's gradients from `grads`, zeroed first when `team` overwrites them,
/// or `None` on the other threads.
///
/// # Safety
///
/// As for [`Layer::backward_team`]: then thread 0 alone writes these gradients.
unsafe fn leader_grads<'a, T: Float, G: Tensors<T>>(
    grads: SharedGrads<'a, G>,
    team: &dyn Team<T>,
) -> Option<&'a mut G> {
    // SAFETY: forwarded from the caller.
    let grads = unsafe { leader_grads_unzeroed(grads, team) }?;
    if team.overwrite_grads() {
        grads.fill_zero();
    }
    Some(grads)
}

/// Returns thread 0's gradients from `grads` without zeroing them, or `None` on the
/// other threads. A layer that sets its gradients itself when `team` overwrites them
/// takes this instead of zeroing them first.
///
/// # Safety
///
/// As for [`Layer::backward_team`]: then thread 0 alone writes these gradients.
pub(crate) unsafe fn leader_grads_unzeroed<'a, T, G>(
    grads: SharedGrads<'a, G>,
    team: &dyn Team<T>,
) -> Option<&'a mut G> {
    if team.index() != 0 {
        return None;
    }
    // SAFETY: the caller guarantees that the threads sharing `grads` are members of
    // `team` with distinct indices, so only this thread, thread 0, gets the reference.
    Some(unsafe { grads.get_mut() })
}

/// [`Layer::backward_team`] for a layer that runs whole on every thread: thread 0 runs
/// `backward`, the others `backward_input`. The trait's default, and what a layer that
/// splits only sometimes does when it does not.
///
/// # Safety
///
/// As for [`Layer::backward_team`].
pub unsafe fn backward_team_whole<T, L, const IN: usize, const OUT: usize, const B: usize>(
    layer: &L,
    trace: &L::Trace<B>,
    grad_out: &SMatrix<T, OUT, B>,
    grads: SharedGrads<'_, L::Grads>,
    team: &dyn Team<T>,
) -> SMatrix<T, IN, B>
where
    T: Float,
    L: Layer<T, IN, OUT> + ?Sized,
{
    // SAFETY: forwarded from the caller.
    match unsafe { leader_grads(grads, team) } {
        Some(grads) => layer.backward(trace, grad_out, grads),
        None => layer.backward_input(trace, grad_out),
    }
}

/// [`Layer::accumulate_grads_team`] for a layer that runs whole on every thread: thread 0
/// runs `accumulate_grads`, the others nothing.
///
/// # Safety
///
/// As for [`Layer::backward_team`].
pub unsafe fn accumulate_grads_team_whole<T, L, const IN: usize, const OUT: usize, const B: usize>(
    layer: &L,
    trace: &L::Trace<B>,
    grad_out: &SMatrix<T, OUT, B>,
    grads: SharedGrads<'_, L::Grads>,
    team: &dyn Team<T>,
) where
    T: Float,
    L: Layer<T, IN, OUT> + ?Sized,
{
    // SAFETY: forwarded from the caller.
    if let Some(grads) = unsafe { leader_grads(grads, team) } {
        layer.accumulate_grads(trace, grad_out, grads);
    }
}
