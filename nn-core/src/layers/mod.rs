//! Built-in layers: dense, activations and dropout, and the frozen wrapper.

mod activation;
mod dense;
mod dropout;
mod frozen;
mod softmax;

pub use activation::{Elu, Gelu, Identity, LeakyRelu, Relu, Sigmoid, Tanh};
pub use dense::{Dense, DenseGrads};
pub use dropout::Dropout;
pub use frozen::Frozen;
pub use softmax::Softmax;

use crate::tensors::{TensorInfo, Tensors};

/// The gradient type of layers without parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoGrads;

// SAFETY: a unit struct has no bytes, so the all-zero value is valid.
unsafe impl bytemuck::Zeroable for NoGrads {}

impl<T> Tensors<T> for NoGrads {
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
}

/// Implements `Tensors` with no tensors, for layers without parameters.
macro_rules! impl_no_tensors {
    ($ty:ty $(, $generic:ident)?) => {
        impl<T $(, $generic)?> $crate::tensors::Tensors<T> for $ty {
            const COUNT: usize = 0;
            const PARAMS: usize = 0;

            fn tensor(&self, _i: usize) -> Option<&[T]> {
                None
            }

            fn tensor_mut(&mut self, _i: usize) -> Option<&mut [T]> {
                None
            }

            fn tensor_info(_i: usize) -> Option<$crate::tensors::TensorInfo> {
                None
            }
        }
    };
}
pub(crate) use impl_no_tensors;
