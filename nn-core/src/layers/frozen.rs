//! Frozen layers: layers whose parameters training leaves unchanged.

use core::ops::{Deref, DerefMut};

use nalgebra::SMatrix;

use crate::float::Float;
use crate::layer::Layer;
use crate::layers::NoGrads;
use crate::rng::Rng;
use crate::team::Team;
use crate::tensors::{TensorInfo, Tensors};

/// A layer whose parameters are not trained: it computes the same outputs and input
/// gradients as `L`, but no parameter gradients.
///
/// In a `network!` declaration, write `#[frozen]` before a layer (`#[frozen] backbone:
/// Features`) and the field becomes `Frozen<Features>`. Compared with `L`:
///
/// - the gradient type is [`NoGrads`], so a network's gradients have no field for a frozen
///   layer, and optimizers keep no state for it;
/// - `backward` returns `L::backward_input`, which computes the input gradient only, so
///   layers before a frozen one still train;
/// - [`Tensors`] still lists all of `L`'s tensors and buffers, so weight files save and
///   load them, but [`Trainable`](crate::tensors::Trainable) lists none;
/// - [`init`](Layer::init) leaves the parameters unchanged, so a network's `init` and its
///   constructors `new` and `new_boxed` keep the frozen layer's values (zeros in a new
///   network). Assign pretrained weights, load a weights file, or call the generated
///   `reinit` with the layer's name to initialise it;
/// - the training forward pass is `L`'s, so dropout inside a frozen network stays active
///   in training.
///
/// `Frozen` dereferences to `L`, so `net.hidden.weight` reads the weights of a frozen
/// `Dense`, and `Frozen(layer)` and [`into_inner`](Frozen::into_inner) move weights in and
/// out by type.
///
/// ```
/// use nn_core::bytemuck::Zeroable;
/// use nn_core::layers::{Dense, DenseGrads, Frozen, NoGrads};
/// use nn_core::{Layer, SMatrix};
///
/// let mut dense = Dense::<f64, 2, 1>::zeroed();
/// dense.weight[(0, 0)] = 3.0;
/// let frozen = Frozen(dense.clone());
///
/// let x = SMatrix::<f64, 2, 1>::new(1.0, 2.0);
/// let (_, trace) = frozen.forward_train(&x, &mut nn_core::Rng::seed_from_u64(0));
/// let grad_out = SMatrix::<f64, 1, 1>::new(1.0);
/// let grad_in = frozen.backward(&trace, &grad_out, &mut NoGrads);
/// assert_eq!(grad_in[0], 3.0);
/// assert_eq!(frozen.into_inner(), dense);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub struct Frozen<L>(pub L);

impl<L> Frozen<L> {
    /// Returns the layer, for example to train it in a later phase.
    pub fn into_inner(self) -> L {
        self.0
    }
}

impl<L> From<L> for Frozen<L> {
    fn from(layer: L) -> Self {
        Self(layer)
    }
}

impl<L> Deref for Frozen<L> {
    type Target = L;

    fn deref(&self) -> &L {
        &self.0
    }
}

impl<L> DerefMut for Frozen<L> {
    fn deref_mut(&mut self) -> &mut L {
        &mut self.0
    }
}

// SAFETY: `Frozen<L>` is `repr(transparent)` over `L`, so its all-zero value is `L`'s,
// which `L: Zeroable` guarantees to be valid.
unsafe impl<L: bytemuck::Zeroable> bytemuck::Zeroable for Frozen<L> {}

impl<T, L: Tensors<T>> Tensors<T> for Frozen<L> {
    const COUNT: usize = L::COUNT;
    const PARAMS: usize = L::PARAMS;
    const TRAINABLE_COUNT: usize = 0;
    const TRAINABLE_PARAMS: usize = 0;

    fn tensor(&self, i: usize) -> Option<&[T]> {
        self.0.tensor(i)
    }

    fn tensor_mut(&mut self, i: usize) -> Option<&mut [T]> {
        self.0.tensor_mut(i)
    }

    fn tensor_info(i: usize) -> Option<TensorInfo> {
        L::tensor_info(i)
    }

    fn trainable_index(_i: usize) -> Option<usize> {
        None
    }

    const BUFFERS: usize = L::BUFFERS;
    const BUFFER_VALUES: usize = L::BUFFER_VALUES;

    fn buffer(&self, i: usize) -> Option<&[T]> {
        self.0.buffer(i)
    }

    fn buffer_mut(&mut self, i: usize) -> Option<&mut [T]> {
        self.0.buffer_mut(i)
    }

    fn buffer_info(i: usize) -> Option<TensorInfo> {
        L::buffer_info(i)
    }
}

impl<T, L, const IN: usize, const OUT: usize> Layer<T, IN, OUT> for Frozen<L>
where
    T: Float,
    L: Layer<T, IN, OUT>,
{
    type Trace<const B: usize> = L::Trace<B>;
    type Grads = NoGrads;
    const KIND: &'static str = L::KIND;

    #[inline]
    fn forward<const B: usize>(&self, x: &SMatrix<T, IN, B>) -> SMatrix<T, OUT, B> {
        self.0.forward(x)
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
    ) -> (SMatrix<T, OUT, B>, Self::Trace<B>) {
        self.0.forward_train(x, rng)
    }

    fn input_trace<const B: usize>(x: &SMatrix<T, IN, B>) -> Option<&Self::Trace<B>> {
        L::input_trace(x)
    }

    fn forward_train_untraced<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
    ) -> SMatrix<T, OUT, B> {
        self.0.forward_train_untraced(x, rng)
    }

    // Like `forward_train_team`, the trait's default: a frozen layer runs whole on every
    // thread.
    fn forward_train_team_untraced<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
        _team: &dyn Team<T>,
    ) -> SMatrix<T, OUT, B> {
        self.0.forward_train_untraced(x, rng)
    }

    fn backward<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        _grads: &mut NoGrads,
    ) -> SMatrix<T, IN, B> {
        self.0.backward_input(trace, grad_out)
    }

    fn accumulate_grads<const B: usize>(
        &self,
        _trace: &Self::Trace<B>,
        _grad_out: &SMatrix<T, OUT, B>,
        _grads: &mut NoGrads,
    ) {
    }

    fn backward_input<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
    ) -> SMatrix<T, IN, B> {
        self.0.backward_input(trace, grad_out)
    }

    /// Leaves the parameters unchanged: a frozen layer keeps the weights it was given.
    fn init(&mut self, _rng: &mut Rng) {}
}

#[cfg(test)]
mod tests {
    use bytemuck::Zeroable;

    use super::*;
    use crate::layers::Dense;
    use crate::tensors::Trainable;

    fn dense() -> Dense<f64, 2, 3> {
        let mut dense = Dense::<f64, 2, 3>::zeroed();
        dense.init(&mut Rng::seed_from_u64(5));
        dense.bias.as_mut_slice().fill(0.25);
        dense
    }

    #[test]
    fn forward_and_input_gradient_match_inner_layer() {
        let (inner, frozen) = (dense(), Frozen(dense()));
        let x = SMatrix::<f64, 2, 4>::from_fn(|row, col| row as f64 - col as f64 * 0.5);
        assert_eq!(frozen.forward(&x), inner.forward(&x));

        let (_, trace) = frozen.forward_train(&x, &mut Rng::seed_from_u64(1));
        let grad_out = SMatrix::<f64, 3, 4>::from_fn(|row, col| (row * 4 + col) as f64 * 0.1);
        let mut grads = <Dense<f64, 2, 3> as Layer<f64, 2, 3>>::Grads::zeroed();
        let expected = inner.backward(&trace, &grad_out, &mut grads);
        assert_eq!(frozen.backward(&trace, &grad_out, &mut NoGrads), expected);
    }

    #[test]
    fn init_keeps_parameters() {
        let mut frozen = Frozen(dense());
        frozen.init(&mut Rng::seed_from_u64(99));
        assert_eq!(frozen.0, dense());
    }

    #[test]
    fn all_tensors_listed_but_none_trainable() {
        type F = Frozen<Dense<f64, 2, 3>>;
        assert_eq!(<F as Tensors<f64>>::COUNT, 2);
        assert_eq!(<F as Tensors<f64>>::PARAMS, 9);
        assert_eq!(<F as Tensors<f64>>::TRAINABLE_COUNT, 0);
        assert_eq!(<F as Tensors<f64>>::TRAINABLE_PARAMS, 0);
        assert_eq!(
            <F as Tensors<f64>>::tensor_info(0),
            <Dense<f64, 2, 3> as Tensors<f64>>::tensor_info(0)
        );
        let mut frozen = Frozen(dense());
        assert_eq!(frozen.tensor(1), Some(&[0.25; 3][..]));
        assert!(frozen.trainable_tensor_mut(0).is_none());
        assert!(<F as Trainable<f64>>::trainable_tensor_info(0).is_none());
    }

    #[test]
    fn buffers_are_forwarded() {
        use crate::standardize::Standardize;

        type F = Frozen<Standardize<f32, 2>>;
        assert_eq!(<F as Tensors<f32>>::BUFFERS, 2);
        assert_eq!(<F as Tensors<f32>>::BUFFER_VALUES, 4);
        assert_eq!(
            <F as Tensors<f32>>::buffer_info(1),
            <Standardize<f32, 2> as Tensors<f32>>::buffer_info(1)
        );
        let mut frozen = Frozen(Standardize::<f32, 2>::from_arrays([1.0, 2.0], [3.0, 4.0]));
        assert_eq!(frozen.buffer(0), Some(&[1.0, 2.0][..]));
        frozen.buffer_mut(1).unwrap()[0] = 5.0;
        assert_eq!(frozen.std[0], 5.0);
        assert!(frozen.buffer(2).is_none());
    }
}
