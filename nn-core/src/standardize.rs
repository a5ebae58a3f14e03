//! A layer that standardises its input with fixed statistics.

use nalgebra::{ArrayStorage, SMatrix, SVector};

use crate::float::Float;
use crate::layer::Layer;
use crate::layers::NoGrads;
use crate::rng::Rng;
use crate::tensors::{Shape, TensorInfo, TensorName, Tensors};

/// Standardisation as a layer: `y = (x - mean) / std` per feature, with fixed statistics.
///
/// Put it first in a network so that deployed code takes raw inputs: `norm: Standardize`
/// in `network!` (which `#[weights]` can bake), or the equivalent custom-layer form
/// `norm: Standardize<f32, 64> -> [64]`. Then assign the statistics fitted
/// on the training set (with the `std` feature, `Standardizer::to_layer` returns this
/// layer). A standard deviation of 0 divides by 1 instead, so the all-zero layer that
/// `new(seed)` of a network starts from is the identity, and a constant feature maps to
/// `x - mean` instead of NaN or infinity.
///
/// The statistics are not trainable: the layer has no parameter tensors, so optimizers
/// and gradients leave it alone, and [`init`](Layer::init) keeps the statistics as they
/// are. They are its two [buffers](Tensors::buffer), `mean` and `std`, each of shape `[N]`,
/// so weight files save and load them next to the parameters (`norm.mean` and `norm.std`
/// for a layer named `norm`), as PyTorch saves a module's `register_buffer` tensors.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Standardize<T: Float, const N: usize> {
    /// The mean of each feature, subtracted first.
    pub mean: SVector<T, N>,
    /// The standard deviation of each feature, divided by second (0 divides by 1).
    pub std: SVector<T, N>,
}

// SAFETY: both fields are vectors of `Pod` floats, for which all-zero bytes are 0.0.
unsafe impl<T: Float, const N: usize> bytemuck::Zeroable for Standardize<T, N> {}

impl<T: Float, const N: usize> Standardize<T, N> {
    /// Creates the layer from the mean and standard deviation of each feature.
    pub const fn new(mean: SVector<T, N>, std: SVector<T, N>) -> Self {
        Self { mean, std }
    }

    /// Creates the layer from arrays, in a `const` or `static` item for firmware:
    /// `static NORM: Standardize<f32, 2> = Standardize::from_arrays([0.5, 1.0], [2.0, 4.0]);`
    pub const fn from_arrays(mean: [T; N], std: [T; N]) -> Self {
        Self {
            mean: SVector::from_array_storage(ArrayStorage([mean])),
            std: SVector::from_array_storage(ArrayStorage([std])),
        }
    }

    /// Creates the identity: mean 0 and standard deviation 1 for every feature.
    pub fn identity() -> Self {
        Self::new(SVector::zeros(), SVector::repeat(T::one()))
    }

    /// The divisor of feature `row`: its standard deviation, or 1 when that is 0.
    fn divisor(&self, row: usize) -> T {
        let std = self.std[row];
        if std == T::zero() { T::one() } else { std }
    }
}

impl<T: Float, const N: usize> Default for Standardize<T, N> {
    fn default() -> Self {
        Self::identity()
    }
}

impl<T: Float, const N: usize> Tensors<T> for Standardize<T, N> {
    const COUNT: usize = 0;
    const PARAMS: usize = 0;

    fn tensor(&self, _i: usize) -> Option<&[T]> {
        None
    }

    fn tensor_mut(&mut self, _i: usize) -> Option<&mut [T]> {
        None
    }

    fn tensor_info(_i: usize) -> Option<TensorInfo> {
        None
    }

    const BUFFERS: usize = 2;
    const BUFFER_VALUES: usize = 2 * N;

    fn buffer(&self, i: usize) -> Option<&[T]> {
        match i {
            0 => Some(self.mean.as_slice()),
            1 => Some(self.std.as_slice()),
            _ => None,
        }
    }

    fn buffer_mut(&mut self, i: usize) -> Option<&mut [T]> {
        match i {
            0 => Some(self.mean.as_mut_slice()),
            1 => Some(self.std.as_mut_slice()),
            _ => None,
        }
    }

    fn buffer_info(i: usize) -> Option<TensorInfo> {
        let name = match i {
            0 => "mean",
            1 => "std",
            _ => return None,
        };
        Some(TensorInfo {
            name: TensorName::new(name),
            shape: Shape::vector(N),
            column_major: false,
        })
    }
}

impl<T: Float, const N: usize> Layer<T, N, N> for Standardize<T, N> {
    /// Backward needs nothing from the forward pass: the map is affine.
    type Trace<const B: usize> = ();
    type Grads = NoGrads;
    const KIND: &'static str = "Standardize";

    fn forward<const B: usize>(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        let mut y = *x;
        for row in 0..N {
            let (mean, divisor) = (self.mean[row], self.divisor(row));
            for column in 0..B {
                y[(row, column)] = (x[(row, column)] - mean) / divisor;
            }
        }
        y
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<T, N, B>, Self::Trace<B>) {
        (self.forward(x), ())
    }

    fn backward<const B: usize>(
        &self,
        _trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, N, B>,
        _grads: &mut NoGrads,
    ) -> SMatrix<T, N, B> {
        let mut grad_in = *grad_out;
        for row in 0..N {
            let divisor = self.divisor(row);
            for column in 0..B {
                grad_in[(row, column)] /= divisor;
            }
        }
        grad_in
    }

    fn accumulate_grads<const B: usize>(
        &self,
        _trace: &Self::Trace<B>,
        _grad_out: &SMatrix<T, N, B>,
        _grads: &mut NoGrads,
    ) {
    }

    /// Keeps the statistics: they come from data, not from random initialisation.
    fn init(&mut self, _rng: &mut Rng) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_subtracts_mean_and_divides_by_std() {
        let layer = Standardize::<f64, 2>::from_arrays([1.0, -2.0], [2.0, 0.5]);
        let x = SMatrix::<f64, 2, 2>::new(3.0, 0.0, -1.0, -1.0);
        let y = layer.forward(&x);
        assert_eq!(y, SMatrix::<f64, 2, 2>::new(1.0, -0.5, 2.0, 2.0));
    }

    #[test]
    fn zero_std_divides_by_one() {
        let layer = Standardize::<f32, 2>::from_arrays([1.0, 5.0], [0.0, 2.0]);
        let y = layer.forward(&SVector::<f32, 2>::new(4.0, 9.0));
        assert_eq!(y, SVector::<f32, 2>::new(3.0, 2.0));
    }

    #[test]
    fn zeroed_layer_is_identity() {
        let layer: Standardize<f32, 3> = bytemuck::Zeroable::zeroed();
        let x = SVector::<f32, 3>::new(-1.5, 0.0, 7.25);
        assert_eq!(layer.forward(&x), x);
        assert_eq!(Standardize::<f32, 3>::identity().forward(&x), x);
    }

    #[test]
    fn backward_divides_by_std() {
        let layer = Standardize::<f64, 2>::from_arrays([3.0, 1.0], [4.0, 0.0]);
        let grad_out = SVector::<f64, 2>::new(2.0, -3.0);
        let grad_in = layer.backward(&(), &grad_out, &mut NoGrads);
        assert_eq!(grad_in, SVector::<f64, 2>::new(0.5, -3.0));
    }

    #[test]
    fn backward_matches_finite_differences() {
        let layer = Standardize::<f64, 3>::from_arrays([0.5, -1.0, 2.0], [0.25, 3.0, 1.5]);
        let x = SVector::<f64, 3>::new(0.3, 2.0, -4.0);
        // The loss is the weighted sum `w . y`, so its gradient with respect to y is w.
        let weights = SVector::<f64, 3>::new(1.0, -2.0, 0.5);
        let loss = |x: &SVector<f64, 3>| weights.dot(&layer.forward(x));
        let analytic = layer.backward(&(), &weights, &mut NoGrads);
        let step = 1e-6;
        for i in 0..3 {
            let (mut plus, mut minus) = (x, x);
            plus[i] += step;
            minus[i] -= step;
            let numeric = (loss(&plus) - loss(&minus)) / (2.0 * step);
            assert!(
                (numeric - analytic[i]).abs() < 1e-6,
                "input {i}: numeric {numeric}, analytic {}",
                analytic[i]
            );
        }
    }

    #[test]
    fn init_keeps_statistics() {
        let mut layer = Standardize::<f32, 2>::from_arrays([1.0, 2.0], [3.0, 4.0]);
        let before = layer;
        Layer::<f32, 2, 2>::init(&mut layer, &mut Rng::seed_from_u64(9));
        assert_eq!(layer, before);
    }

    #[test]
    fn statistics_are_buffers_not_parameters() {
        type Layer = Standardize<f32, 3>;
        assert_eq!(<Layer as Tensors<f32>>::COUNT, 0);
        assert_eq!(<Layer as Tensors<f32>>::PARAMS, 0);
        assert_eq!(<Layer as Tensors<f32>>::BUFFERS, 2);
        assert_eq!(<Layer as Tensors<f32>>::BUFFER_VALUES, 6);

        let mean = <Layer as Tensors<f32>>::buffer_info(0).unwrap();
        assert_eq!(mean.name.as_str(), "mean");
        assert_eq!(mean.shape, Shape::vector(3));
        let std = <Layer as Tensors<f32>>::buffer_info(1).unwrap();
        assert_eq!(std.name.as_str(), "std");
        assert!(<Layer as Tensors<f32>>::buffer_info(2).is_none());

        let mut layer = Layer::from_arrays([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]);
        assert_eq!(layer.buffer(0), Some(&[1.0, 2.0, 3.0][..]));
        assert_eq!(layer.buffer(1), Some(&[4.0, 5.0, 6.0][..]));
        assert!(layer.buffer(2).is_none());
        layer.buffer_mut(1).unwrap()[2] = 7.0;
        assert_eq!(layer.std[2], 7.0);
        assert!(layer.buffer_mut(2).is_none());
    }

    #[test]
    fn fill_zero_keeps_statistics() {
        let mut layer = Standardize::<f64, 2>::from_arrays([1.0, 2.0], [3.0, 4.0]);
        let before = layer;
        layer.fill_zero();
        assert_eq!(layer, before);
    }

    #[test]
    fn const_construction_works_in_a_static() {
        static NORM: Standardize<f32, 2> = Standardize::from_arrays([0.5, 1.0], [2.0, 4.0]);
        let y = NORM.forward(&SVector::<f32, 2>::new(4.5, 9.0));
        assert_eq!(y, SVector::<f32, 2>::new(2.0, 2.0));
    }
}
