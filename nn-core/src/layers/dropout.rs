//! Inverted dropout.

use nalgebra::SMatrix;

use crate::float::Float;
use crate::layer::Layer;
use crate::layers::{NoGrads, impl_no_tensors};
use crate::rng::Rng;

/// Inverted dropout: in training each value is zeroed with probability `rate` and the
/// survivors are scaled by `1 / (1 - rate)`, so inference is the identity.
///
/// `network!` rejects rates outside `[0, 1)` at compile time; a rate of 0 is the identity
/// in training too.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout<T> {
    /// The probability of zeroing each value, in `[0, 1)`.
    pub rate: T,
}

impl<T: Float> Dropout<T> {
    /// Creates a dropout layer with the given rate.
    pub const fn new(rate: T) -> Self {
        Self { rate }
    }
}

// SAFETY: a float field, for which all-zero bytes are 0.0.
unsafe impl<T: Float> bytemuck::Zeroable for Dropout<T> {}

impl_no_tensors!(Dropout<T>);

impl<T: Float, const N: usize> Layer<T, N, N> for Dropout<T> {
    /// The mask: 0 for dropped values, `1 / (1 - rate)` for kept ones.
    type Trace<const B: usize> = SMatrix<T, N, B>;
    type Grads = NoGrads;
    const KIND: &'static str = "Dropout";

    fn forward<const B: usize>(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        *x
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        rng: &mut Rng,
    ) -> (SMatrix<T, N, B>, Self::Trace<B>) {
        let rate = self.rate.as_f64();
        let scale = T::one() / (T::one() - self.rate);
        let mask = if rate > 0.0 {
            SMatrix::<T, N, B>::from_fn(|_, _| {
                if rng.bernoulli(rate) {
                    T::zero()
                } else {
                    scale
                }
            })
        } else {
            SMatrix::<T, N, B>::from_element(T::one())
        };
        (x.component_mul(&mask), mask)
    }

    fn backward<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, N, B>,
        _grads: &mut NoGrads,
    ) -> SMatrix<T, N, B> {
        grad_out.component_mul(trace)
    }

    fn init(&mut self, _rng: &mut Rng) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_about_the_rate_and_keeps_the_mean() {
        let dropout = Dropout::new(0.25f64);
        let x = SMatrix::<f64, 100, 40>::from_element(1.0);
        let (y, mask) =
            Layer::<f64, 100, 100>::forward_train(&dropout, &x, &mut Rng::seed_from_u64(4));
        let dropped = mask.iter().filter(|&&m| m == 0.0).count() as f64 / 4000.0;
        assert!((dropped - 0.25).abs() < 0.03, "dropped fraction {dropped}");
        let mean = y.sum() / 4000.0;
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn rate_zero_is_identity_in_training() {
        let dropout = Dropout::new(0.0f32);
        let x = SMatrix::<f32, 8, 2>::from_fn(|r, c| (r * 3 + c) as f32);
        let (y, _) = Layer::<f32, 8, 8>::forward_train(&dropout, &x, &mut Rng::seed_from_u64(1));
        assert_eq!(y, x);
    }
}
