//! Element-wise activation functions.
//!
//! Each activation propagates NaN inputs as NaN instead of hiding them, and stays finite
//! for finite inputs of any size.

use nalgebra::SMatrix;

use crate::float::{Float, c};
use crate::layer::Layer;
use crate::layers::{NoGrads, impl_no_tensors};
use crate::rng::Rng;
use crate::team::Team;

/// An activation applied to each value independently.
trait Elementwise<T: Float> {
    /// Computes the activation of `x`.
    fn apply(&self, x: T) -> T;

    /// Computes the derivative from the value the trace records: the input `x` for
    /// activations declared with `input` in [`elementwise_layer!`], the output
    /// `y = apply(x)` for those declared with `output`.
    fn derivative(&self, recorded: T) -> T;
}

/// The input of an element-wise activation whose derivative needs it (ReLU and its
/// variants, ELU, GELU, identity), recorded for `backward`.
///
/// Only the input is kept: the layer after the activation records the output if it needs
/// it, so keeping both would store every activation twice.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct ElementwiseTrace<T: Float, const N: usize, const B: usize> {
    /// The activation's input.
    pub input: SMatrix<T, N, B>,
}

impl<T: Float, const N: usize, const B: usize> ElementwiseTrace<T, N, B> {
    /// Views an activation's input as its trace, without copying it.
    pub fn of_input(input: &SMatrix<T, N, B>) -> &Self {
        // SAFETY: `ElementwiseTrace` is `repr(transparent)` over its one field, so both
        // types have the same layout, and the reference keeps the input's lifetime.
        unsafe { &*(input as *const SMatrix<T, N, B>).cast::<Self>() }
    }
}

/// The output of an element-wise activation whose derivative is cheapest from it
/// (sigmoid, tanh), recorded for `backward`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputTrace<T: Float, const N: usize, const B: usize> {
    /// The activation's output.
    pub output: SMatrix<T, N, B>,
}

/// Returns `grad_out` times the activation's derivative at each recorded value.
#[inline]
fn chain<T: Float, A: Elementwise<T>, const N: usize, const B: usize>(
    activation: &A,
    recorded: &SMatrix<T, N, B>,
    grad_out: &SMatrix<T, N, B>,
) -> SMatrix<T, N, B> {
    let mut grad_in = *grad_out;
    for (grad, &value) in grad_in.as_mut_slice().iter_mut().zip(recorded.as_slice()) {
        *grad *= activation.derivative(value);
    }
    grad_in
}

/// Implements `Layer<T, N, N>` (and empty `Tensors`) for an element-wise activation whose
/// trace records its `input` ([`ElementwiseTrace`]) or its `output` ([`OutputTrace`]).
macro_rules! elementwise_layer {
    ($ty:ty, $kind:literal, input $(, $generic:ident)?) => {
        elementwise_layer!(@impl $ty, $kind, ElementwiseTrace, input, |x, _y| x $(, $generic)?; {
            // The input is the trace, so the training pass of a `network!` hands the
            // activation's input to `backward` instead of copying it into a trace.
            fn input_trace<const B: usize>(x: &SMatrix<T, N, B>) -> Option<&Self::Trace<B>> {
                Some(ElementwiseTrace::of_input(x))
            }

            fn forward_train_untraced<const B: usize>(
                &self,
                x: &SMatrix<T, N, B>,
                _rng: &mut Rng,
            ) -> SMatrix<T, N, B> {
                Layer::<T, N, N>::forward(self, x)
            }

            fn forward_train_team_untraced<const B: usize>(
                &self,
                x: &SMatrix<T, N, B>,
                _rng: &mut Rng,
                _team: &dyn Team<T>,
            ) -> SMatrix<T, N, B> {
                Layer::<T, N, N>::forward(self, x)
            }
        });
    };
    ($ty:ty, $kind:literal, output $(, $generic:ident)?) => {
        elementwise_layer!(@impl $ty, $kind, OutputTrace, output, |_x, y| y $(, $generic)?; {});
    };
    (@impl $ty:ty, $kind:literal, $trace:ident, $field:ident, |$x:pat_param, $y:pat_param| $recorded:ident $(, $generic:ident)?; { $($extra:item)* }) => {
        impl_no_tensors!($ty $(, $generic)?);

        impl<T: Float, const N: usize> Layer<T, N, N> for $ty
        where
            $ty: Elementwise<T>,
        {
            type Trace<const B: usize> = $trace<T, N, B>;
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
                let ($x, $y) = (*x, output);
                (output, $trace { $field: $recorded })
            }

            fn backward<const B: usize>(
                &self,
                trace: &Self::Trace<B>,
                grad_out: &SMatrix<T, N, B>,
                _grads: &mut NoGrads,
            ) -> SMatrix<T, N, B> {
                chain(self, &trace.$field, grad_out)
            }

            fn init(&mut self, _rng: &mut Rng) {}

            $($extra)*
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

    fn derivative(&self, _x: T) -> T {
        T::one()
    }
}

elementwise_layer!(Identity, "Identity", input);

/// The rectified linear unit, `y = max(x, 0)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relu;

impl<T: Float> Elementwise<T> for Relu {
    fn apply(&self, x: T) -> T {
        // `max` would turn NaN into 0; this comparison keeps it.
        if x < T::zero() { T::zero() } else { x }
    }

    fn derivative(&self, x: T) -> T {
        if x > T::zero() { T::one() } else { T::zero() }
    }
}

elementwise_layer!(Relu, "Relu", input);

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

    fn derivative(&self, x: T) -> T {
        // At the kink x = 0 this returns the slope, as PyTorch does.
        if x > T::zero() { T::one() } else { self.slope }
    }
}

elementwise_layer!(LeakyRelu<T>, "LeakyRelu", input);

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

    fn derivative(&self, x: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            self.alpha * x.exp()
        }
    }
}

elementwise_layer!(Elu<T>, "Elu", input);

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

    fn derivative(&self, x: T) -> T {
        let cdf = c::<T>(0.5) * (-x * c(core::f64::consts::FRAC_1_SQRT_2)).erfc();
        // 1 / sqrt(2 pi)
        let pdf = c::<T>(0.398_942_280_401_432_7) * (-x * x * c(0.5)).exp();
        cdf + x * pdf
    }
}

elementwise_layer!(Gelu, "Gelu", input);

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

    fn derivative(&self, y: T) -> T {
        y * (T::one() - y)
    }
}

elementwise_layer!(Sigmoid, "Sigmoid", output);

/// The hyperbolic tangent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tanh;

impl<T: Float> Elementwise<T> for Tanh {
    fn apply(&self, x: T) -> T {
        x.tanh()
    }

    fn derivative(&self, y: T) -> T {
        T::one() - y * y
    }
}

elementwise_layer!(Tanh, "Tanh", output);

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
            // The derivative takes the input or the output, depending on the activation.
            for recorded in [x, y] {
                let slope = activation.derivative(recorded);
                assert!(slope.is_finite(), "slope {slope} at {recorded}");
            }
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

    /// Returns whether `L` hands its input itself to `backward` as its trace.
    fn traces_its_input<L: Layer<f32, 3, 3>>() -> bool {
        let x = SMatrix::<f32, 3, 2>::from_element(0.5);
        L::input_trace(&x).is_some_and(|trace| core::ptr::addr_eq(trace, &x))
    }

    #[test]
    fn input_recording_activations_trace_their_input() {
        assert!(traces_its_input::<Identity>());
        assert!(traces_its_input::<Relu>());
        assert!(traces_its_input::<LeakyRelu<f32>>());
        assert!(traces_its_input::<Elu<f32>>());
        assert!(traces_its_input::<Gelu>());
        // Sigmoid and tanh record their output, which the input cannot replace.
        assert!(!traces_its_input::<Sigmoid>());
        assert!(!traces_its_input::<Tanh>());
    }

    #[test]
    fn sigmoid_saturates_exactly() {
        assert_eq!(Elementwise::<f32>::apply(&Sigmoid, 1000.0), 1.0);
        assert_eq!(Elementwise::<f32>::apply(&Sigmoid, -1000.0), 0.0);
    }
}
