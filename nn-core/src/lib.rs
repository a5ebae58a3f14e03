//! Layers, activations and training primitives of static-nn.
//!
//! Every tensor is a statically sized nalgebra matrix, so shapes are checked by the
//! compiler and nothing here allocates. The crate is `#![no_std]`; the `alloc` feature adds
//! heap constructors for networks too large for the stack, and `std` adds data input and
//! file I/O.
//!
//! Most users reach this crate through the `static-nn` facade and its `network!` macro,
//! which wires these layers into a typed network.
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod augment;
#[cfg(feature = "std")]
pub mod data;
pub mod float;
pub mod gradcheck;
#[cfg(feature = "alloc")]
pub mod heap;
pub mod init;
pub mod kernel;
pub mod layer;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod network;
pub mod optim;
pub mod rng;
pub mod standardize;
pub mod summary;
pub mod team;
pub mod tensors;
#[cfg(feature = "std")]
pub mod train;
#[cfg(feature = "std")]
pub mod weights;

pub use bytemuck;
pub use nalgebra;
pub use nalgebra::{SMatrix, SVector};

pub use float::Float;
pub use gradcheck::{GradCheck, GradCheckTarget, gradient_check};
pub use init::Init;
pub use layer::Layer;
pub use layers::{
    Dense, DenseGrads, Dropout, Elu, Frozen, Gelu, Identity, LeakyRelu, NoGrads, Relu, Sigmoid,
    Softmax, Tanh,
};
pub use metrics::{ConfusionMatrix, argmax};
pub use network::Network;
pub use optim::LayerRates;
pub use rng::Rng;
pub use standardize::Standardize;
pub use summary::{Summary, SummaryRow};
pub use tensors::{Shape, TensorInfo, TensorName, Tensors, Trainable, UnknownLayer};
