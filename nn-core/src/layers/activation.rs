//! Element-wise activation functions.
//!
//! Each activation propagates NaN inputs as NaN instead of hiding them, and stays finite
//! for finite inputs of any size.

use nalgebra::SMatrix;

use crate::float::{Float, c};
use crate::layer::Layer;
use crate::layers::{NoGrads, impl_no_tensors};
use crate::rng::Rng;

/// An activation applied to each value independently.
trait Elementwise<T: Float> {
    /// Computes the activation of `x`.
    fn apply(&self, x: T) -> T;

    /// Computes the derivative at input `x`, given the output `y = apply(x)`.
    fn derivative(&self, x: T, y: T) -> T;
}

/// The input and output of an element-wise activation, recorded for `backward`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ElementwiseTrace<T: Float, const N: usize, const B: usize> {
    /// The activation's input.
    pub input: SMatrix<T, N, B>,
    /// The activation's output.
    pub output: SMatrix<T, N, B>,
}

/// Implements `Layer<T, N, N>` (and empty `Tensors`) for an element-wise activation.
macro_rules! elementwise_layer {
    ($ty:ty, $kind:literal $(, $generic:ident)?) => {
        impl_no_tensors!($ty $(, $generic)?);

        impl<T: Float, const N: usize> Layer<T, N, N> for $ty
        where
            $ty: Elementwise<T>,
        {
            type Trace<const B: usize> = ElementwiseTrace<T, N, B>;
            type Grads = NoGrads;
            const KIND: &'static str = $kind;

            fn forward<const B: usize>(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
                x.map(|v| self.apply(v))
            }

            fn forward_train<const B: usize>(
                &self,
                x: &SMatrix<T, N, B>,
                _rng: &mut Rng,
            ) -> (SMatrix<T, N, B>, Self::Trace<B>) {
                let output = Layer::<T, N, N>::forward(self, x);
                (output, ElementwiseTrace { input: *x, output })
            }

            fn backward<const B: usize>(
                &self,
                trace: &Self::Trace<B>,
                grad_out: &SMatrix<T, N, B>,
                _grads: &mut NoGrads,
            ) -> SMatrix<T, N, B> {
                SMatrix::<T, N, B>::from_fn(|row, col| {
                    let slope = self.derivative(trace.input[(row, col)], trace.output[(row, col)]);
                    grad_out[(row, col)] * slope
                })
            }

            fn init(&mut self, _rng: &mut Rng) {}
        }
    };
}

/// The identity map, `y = x`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl<T: Float> Elementwise<T> for Identity {
    fn apply(&self, x: T) -> T {
        x
    }

    fn derivative(&self, _x: T, _y: T) -> T {
        T::one()
    }
}

elementwise_layer!(Identity, "Identity");

/// The rectified linear unit, `y = max(x, 0)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relu;

impl<T: Float> Elementwise<T> for Relu {
    fn apply(&self, x: T) -> T {
        // `max` would turn NaN into 0; this comparison keeps it.
        if x < T::zero() { T::zero() } else { x }
    }

    fn derivative(&self, x: T, _y: T) -> T {
        if x > T::zero() { T::one() } else { T::zero() }
    }
}

elementwise_layer!(Relu, "Relu");

/// The leaky rectified linear unit, `y = x` for `x >= 0` and `slope * x` below.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu<T> {
    /// The slope for negative inputs (PyTorch's `negative_slope`, default 0.01).
    pub slope: T,
}

impl<T: Float> LeakyRelu<T> {
    /// Creates a leaky ReLU with the given negative slope.
    pub const fn new(slope: T) -> Self {
        Self { slope }
    }
}

impl<T: Float> Elementwise<T> for LeakyRelu<T> {
    fn apply(&self, x: T) -> T {
        if x < T::zero() { x * self.slope } else { x }
    }

    fn derivative(&self, x: T, _y: T) -> T {
        // At the kink x = 0 this returns the slope, as PyTorch does.
        if x > T::zero() { T::one() } else { self.slope }
    }
}

elementwise_layer!(LeakyRelu<T>, "LeakyRelu");

/// The exponential linear unit, `y = x` for `x > 0` and `alpha * (exp(x) - 1)` otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu<T> {
    /// The saturation value for large negative inputs is `-alpha` (default 1).
    pub alpha: T,
}

impl<T: Float> Elu<T> {
    /// Creates an ELU with the given `alpha`.
    pub const fn new(alpha: T) -> Self {
        Self { alpha }
    }
}

impl<T: Float> Elementwise<T> for Elu<T> {
    fn apply(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            self.alpha * x.exp_m1()
        }
    }

    fn derivative(&self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            self.alpha * x.exp()
        }
    }
}

elementwise_layer!(Elu<T>, "Elu");

/// The Gaussian error linear unit in its exact form, `y = x * Phi(x)`, as PyTorch's
/// `nn.GELU()` computes by default.
///
/// `Phi(x)` is computed as `erfc(-x / sqrt(2)) / 2`, which keeps its relative accuracy for
/// large negative inputs, where `1 + erf(x / sqrt(2))` cancels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gelu;

impl<T: Float> Elementwise<T> for Gelu {
    fn apply(&self, x: T) -> T {
        let cdf = c::<T>(0.5) * (-x * c(core::f64::consts::FRAC_1_SQRT_2)).erfc();
        x * cdf
    }

    fn derivative(&self, x: T, _y: T) -> T {
        let cdf = c::<T>(0.5) * (-x * c(core::f64::consts::FRAC_1_SQRT_2)).erfc();
        // 1 / sqrt(2 pi)
        let pdf = c::<T>(0.398_942_280_401_432_7) * (-x * x * c(0.5)).exp();
        cdf + x * pdf
    }
}

elementwise_layer!(Gelu, "Gelu");

/// The logistic sigmoid, `y = 1 / (1 + exp(-x))`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sigmoid;

impl<T: Float> Elementwise<T> for Sigmoid {
    fn apply(&self, x: T) -> T {
        // Only ever exponentiate a non-positive number, so nothing overflows.
        if x >= T::zero() {
            T::one() / (T::one() + (-x).exp())
        } else {
            let e = x.exp();
            e / (T::one() + e)
        }
    }

    fn derivative(&self, _x: T, y: T) -> T {
        y * (T::one() - y)
    }
}

elementwise_layer!(Sigmoid, "Sigmoid");

/// The hyperbolic tangent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tanh;

impl<T: Float> Elementwise<T> for Tanh {
    fn apply(&self, x: T) -> T {
        x.tanh()
    }

    fn derivative(&self, _x: T, y: T) -> T {
        T::one() - y * y
    }
}

elementwise_layer!(Tanh, "Tanh");

// SAFETY (all four): unit structs have no bytes, and the float-field activations accept
// 0.0, so the all-zero value is valid.
unsafe impl bytemuck::Zeroable for Identity {}
unsafe impl bytemuck::Zeroable for Relu {}
unsafe impl bytemuck::Zeroable for Gelu {}
unsafe impl bytemuck::Zeroable for Sigmoid {}
unsafe impl bytemuck::Zeroable for Tanh {}
unsafe impl<T: Float> bytemuck::Zeroable for LeakyRelu<T> {}
unsafe impl<T: Float> bytemuck::Zeroable for Elu<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn extremes<A: Elementwise<f32>>(activation: A) {
        for x in [-1000.0f32, -88.0, -1.0, 0.0, 1.0, 88.0, 1000.0] {
            let y = activation.apply(x);
            assert!(y.is_finite(), "output {y} at {x}");
            let slope = activation.derivative(x, y);
            assert!(slope.is_finite(), "slope {slope} at {x}");
        }
        assert!(
            activation.apply(f32::NAN).is_nan(),
            "NaN input must stay NaN"
        );
    }

    #[test]
    fn activations_are_finite_at_extremes_and_keep_nan() {
        extremes(Identity);
        extremes(Relu);
        extremes(LeakyRelu::new(0.01));
        extremes(Elu::new(1.0));
        extremes(Gelu);
        extremes(Sigmoid);
        extremes(Tanh);
    }

    #[test]
    fn sigmoid_saturates_exactly() {
        assert_eq!(Elementwise::<f32>::apply(&Sigmoid, 1000.0), 1.0);
        assert_eq!(Elementwise::<f32>::apply(&Sigmoid, -1000.0), 0.0);
    }
}
