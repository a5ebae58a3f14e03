//! Neural networks whose architecture is fixed in the source.
//!
//! The [`network!`] macro turns a layer declaration into plain structs of statically
//! sized nalgebra matrices with generated forward and backward passes. Every shape is
//! known to the compiler, so a shape mismatch is a compile error, the forward pass
//! allocates nothing and needs no `std`, and loop bounds are constants.
//!
//! ```
//! use static_nn::prelude::*;
//!
//! network! {
//!     /// Classifies 8x8 grey-scale digits.
//!     pub struct DigitNet<f32> {
//!         input: [64],
//!         hidden: Dense(32), Relu,
//!         Dropout(0.2),
//!         out: Dense(10),
//!     }
//! }
//!
//! let net = DigitNet::new(42);
//! let logits = net.forward(&SVector::<f32, 64>::zeros());
//! assert_eq!(logits.len(), 10);
//! assert_eq!(DigitNet::PARAMS, 64 * 32 + 32 + 32 * 10 + 10);
//! ```
//!
//! # Features
//!
//! - `std` (default): data input, file I/O and progress output; implies `alloc`.
//! - `alloc`: heap constructors ([`HeapNew`](prelude::HeapNew)) for large networks.
//! - `libm`: libm's float functions even with `std`, for identical results on host and
//!   firmware.
#![no_std]
#![deny(missing_docs)]

pub use nn_core as core;
pub use nn_core::nalgebra;
pub use nn_macros::network;

/// The items most programs need: the macro, the layer types and the core traits.
pub mod prelude {
    #[cfg(feature = "std")]
    pub use nn_core::data::{DataError, Dataset, PartialBatch, Standardizer};
    #[cfg(feature = "alloc")]
    pub use nn_core::heap::HeapNew;
    pub use nn_core::layers::Frozen;
    pub use nn_core::augment::{
        Augment, AugmentError, HorizontalFlip, NoAugmentation, Noise, RandomApply,
        RandomErasing, RandomScale, Rotate, Shift,
    };
    pub use nn_core::loss::{
        BinaryCrossEntropyWithLogits, ClassLoss, Huber, Loss, MeanSquaredError, SoftmaxCrossEntropy,
    };
    pub use nn_core::optim::{
        Adam, AdamConfig, AdamW, AdamWConfig, Constant, CosineAnnealing, LayerRates, LearningRate,
        Optimizer, RmsProp, RmsPropConfig, Schedule, Sgd, SgdConfig, StepDecay, Warmup,
        clip_grad_norm,
    };
    pub use nn_core::tensors::{Trainable, UnknownLayer};
    #[cfg(feature = "std")]
    pub use nn_core::weights::{self, WeightsError};
    #[cfg(feature = "std")]
    pub use nn_core::train::{EarlyStopping, History, TrainConfig, evaluate, fit};
    pub use nn_core::{ConfusionMatrix, Standardize, argmax};
    pub use nn_core::{
        Dense, Dropout, Elu, Float, Gelu, GradCheck, Identity, Init, Layer, LeakyRelu, Network,
        Relu, Rng, SMatrix, SVector, Sigmoid, Softmax, Summary, Tanh, Tensors,
    };
    pub use nn_macros::network;
}

/// Items the expansion of [`network!`] refers to. Not public API: they may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use ::core::option::Option;
    pub use ::core::primitive::{f32, f64, str, u64, usize};
    pub use ::core::result::Result;
    pub use nn_core::bytemuck::Zeroable;
    pub use nn_core::layer::Layer;
    pub use nn_core::layers::Frozen;
    pub use nn_core::tensors::UnknownLayer;
    pub use nn_core::{
        Dense, Dropout, Elu, Float, Gelu, GradCheck, Identity, Init, LeakyRelu, Network, NoGrads,
        Relu, Rng, SMatrix, SVector, Sigmoid, Softmax, Summary, SummaryRow, Tanh, TensorInfo,
        Tensors, gradient_check,
    };
}
