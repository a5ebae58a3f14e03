//! The softmax layer.

use nalgebra::SMatrix;

use crate::float::Float;
use crate::layer::Layer;
use crate::layers::{NoGrads, impl_no_tensors};
use crate::rng::Rng;

/// Softmax over each sample's values: `y_i = exp(x_i) / sum_j exp(x_j)`.
///
/// The maximum is subtracted before exponentiating, so logits of any finite size give
/// finite probabilities. A NaN anywhere in a sample makes the whole sample NaN. For
/// training a classifier, prefer raw logits with a softmax cross-entropy loss, which is
/// more accurate than this layer followed by a log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softmax;

// SAFETY: a unit struct has no bytes.
unsafe impl bytemuck::Zeroable for Softmax {}

impl_no_tensors!(Softmax);

impl<T: Float, const N: usize> Layer<T, N, N> for Softmax {
    /// The probabilities, from which the Jacobian follows.
    type Trace<const B: usize> = SMatrix<T, N, B>;
    type Grads = NoGrads;
    const KIND: &'static str = "Softmax";

    fn forward<const B: usize>(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        let mut y = *x;
        for mut column in y.column_iter_mut() {
            let max = column
                .iter()
                .fold(T::min_value().unwrap_or(T::zero()), |m, &v| {
                    if v > m { v } else { m }
                });
            let mut sum = T::zero();
            for v in column.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            column /= sum;
        }
        y
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<T, N, B>, Self::Trace<B>) {
        let y = Layer::<T, N, N>::forward(self, x);
        (y, y)
    }

    fn backward<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, N, B>,
        _grads: &mut NoGrads,
    ) -> SMatrix<T, N, B> {
        // dx = y * (g - <g, y>) for each sample.
        let mut grad_in = *grad_out;
        for (b, mut column) in grad_in.column_iter_mut().enumerate() {
            let y = trace.column(b);
            let dot = y.dot(&grad_out.column(b));
            for (v, &p) in column.iter_mut().zip(y.iter()) {
                *v = p * (*v - dot);
            }
        }
        grad_in
    }

    fn init(&mut self, _rng: &mut Rng) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::SVector;

    #[test]
    fn huge_logits_give_finite_probabilities() {
        let x = SVector::<f32, 3>::new(1000.0, -1000.0, 1000.0);
        let y = Layer::<f32, 3, 3>::forward(&Softmax, &x);
        assert_eq!(y, SVector::<f32, 3>::new(0.5, 0.0, 0.5));
    }

    #[test]
    fn nan_input_gives_nan_sample() {
        let x = SVector::<f32, 3>::new(1.0, f32::NAN, 0.0);
        let y = Layer::<f32, 3, 3>::forward(&Softmax, &x);
        assert!(y.iter().all(|v| v.is_nan()));
    }
}
