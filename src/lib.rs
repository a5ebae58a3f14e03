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
    pub use nn_core::augment::{
        Augment, AugmentError, HorizontalFlip, NoAugmentation, Noise, RandomApply, RandomErasing,
        RandomScale, Rotate, Shift,
    };
    #[cfg(feature = "std")]
    pub use nn_core::data::{DataError, Dataset, PartialBatch, Standardizer};
    #[cfg(feature = "alloc")]
    pub use nn_core::heap::HeapNew;
    pub use nn_core::layers::Frozen;
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
    pub use nn_core::train::{EarlyStopping, History, TrainConfig, evaluate, fit};
    #[cfg(feature = "std")]
    pub use nn_core::weights::{self, WeightsError};
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
    pub use ::core::ops::FnOnce;
    pub use ::core::option::Option;
    pub use ::core::primitive::{f32, f64, str, u64, usize};
    pub use ::core::result::Result;
    pub use nn_core::bytemuck::Zeroable;
    pub use nn_core::layer::Layer;
    pub use nn_core::layers::Frozen;
    pub use nn_core::team::{SharedGrads, Team};
    pub use nn_core::tensors::UnknownLayer;
    pub use nn_core::{
        Dense, Dropout, Elu, Float, Gelu, GradCheck, Identity, Init, LeakyRelu, Network, NoGrads,
        Relu, Rng, SMatrix, SVector, Sigmoid, Softmax, Standardize, Summary, SummaryRow, Tanh,
        TensorInfo, Tensors, gradient_check,
    };

    /// Builds an `R x C` matrix from `N` bytes: its values column by column, each in
    /// little-endian order. The expansion of `#[weights]` calls it in a `const`, with one
    /// byte-string literal per tensor.
    ///
    /// # Panics
    ///
    /// When `N` is not `R * C` times the size of `T`; in a `const` that is a compile
    /// error. The macro always passes the right length.
    pub const fn baked_matrix<T, const R: usize, const C: usize, const N: usize>(
        bytes: &[u8; N],
    ) -> SMatrix<T, R, C>
    where
        T: nn_core::bytemuck::Pod,
    {
        let size = core::mem::size_of::<T>();
        assert!(N == R * C * size, "the baked bytes do not match the matrix");
        let mut bytes = *bytes;
        if cfg!(target_endian = "big") {
            // Reverse each value's bytes, so they read as the same numbers on this target.
            let mut start = 0;
            while start < N {
                let (mut low, mut high) = (start, start + size - 1);
                while low < high {
                    let byte = bytes[low];
                    bytes[low] = bytes[high];
                    bytes[high] = byte;
                    low += 1;
                    high -= 1;
                }
                start += size;
            }
        }
        // SAFETY: `bytes` contains exactly the `R * C` values of the storage (asserted above),
        // `read_unaligned` needs no alignment, and `T: Pod` accepts every bit pattern.
        let columns = unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<[[T; R]; C]>()) };
        SMatrix::from_array_storage(nn_core::nalgebra::ArrayStorage(columns))
    }

    /// The memory figures of a network that a network nesting it uses in its own. The
    /// expansion of `network!` implements it with the network's inherent constants.
    pub trait NetworkMemory {
        /// The network's `PARAM_BYTES`.
        const PARAM_BYTES: usize;
        /// The network's `GRAD_BYTES`.
        const GRAD_BYTES: usize;
        /// The network's `FORWARD_BYTES`.
        const FORWARD_BYTES: usize;
    }

    /// The check that a custom layer implements `Zeroable`, with a message that explains why
    /// it must. The attribute lives here because a module with `#![no_implicit_prelude]`,
    /// where the expansion may be, cannot resolve the `diagnostic` namespace.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` must implement `bytemuck::Zeroable` to be a layer of a network, because networks are created zeroed and then initialised",
        label = "`{Self}` does not implement `Zeroable`",
        note = "implement `Zeroable` for `{Self}` if all-zero bytes are a valid value, as for structs of floats; static_nn re-exports `bytemuck` as `static_nn::core::bytemuck`"
    )]
    pub trait ZeroableLayer {
        /// Always true; naming it checks the bound.
        const CHECKED: bool = true;
    }

    impl<L: nn_core::bytemuck::Zeroable> ZeroableLayer for L {}

    /// The check of a `#[budget]` limit whose figure only the compiler can compute: the
    /// expansion requires `Needs<Figure, NEEDED, LIMIT, { NEEDED <= LIMIT }>:
    /// WithinBudget`, so the error shows both numbers.
    #[diagnostic::on_unimplemented(
        message = "the network needs more bytes than its `#[budget]` allows: `{Self}`",
        label = "over this budget",
        note = "the arguments of `Needs` are the figure the budget limits, the bytes the network needs and the budget in bytes; shrink a layer or raise the budget"
    )]
    pub trait WithinBudget {}

    /// The bytes a network needs for `Figure` and its budget, see [`WithinBudget`].
    pub struct Needs<Figure, const NEEDED: usize, const LIMIT: usize, const FITS: bool>(
        core::marker::PhantomData<Figure>,
    );

    impl<Figure, const NEEDED: usize, const LIMIT: usize> WithinBudget
        for Needs<Figure, NEEDED, LIMIT, true>
    {
    }

    /// Compiles only when `N` is within its budget.
    pub const fn check_budget<N: WithinBudget>() {}

    /// The figure of `flash`: `PARAM_BYTES`.
    pub struct ParamBytes;
    /// The figure of `ram` for a network with `#[weights]`: `FORWARD_BYTES`.
    pub struct ForwardBytes;
    /// The figure of `ram` for a network without `#[weights]`: `PARAM_BYTES + FORWARD_BYTES`.
    pub struct ParamAndForwardBytes;
    /// The figure of `train_ram`: `TRAIN_BYTES`.
    pub struct TrainBytes;

    /// Returns the largest value, or 0 for none: the memory figures of a network whose
    /// layers include a nested network.
    pub const fn max_bytes(values: &[usize]) -> usize {
        let mut largest = 0;
        let mut i = 0;
        while i < values.len() {
            if values[i] > largest {
                largest = values[i];
            }
            i += 1;
        }
        largest
    }
}
