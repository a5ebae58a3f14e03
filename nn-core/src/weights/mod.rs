//! Weight files in the safetensors format (`std` feature).
//!
//! A file contains one tensor per parameter tensor and per buffer of the network, named
//! with the dotted names of [`Tensors::tensor_info`] and [`Tensors::buffer_info`]
//! (`hidden.weight`, `backbone.features.bias`, `norm.mean`). Those are the `state_dict`
//! keys PyTorch gives the same architecture, where buffers are the tensors a module
//! registers with `register_buffer`. The values are stored
//! row-major with the logical shape (`[out, in]` for a dense weight), as PyTorch stores
//! them. So files move between static-nn and PyTorch in both directions:
//! `model.load_state_dict(safetensors.torch.load_file(path))` on one side, [`load`] on
//! the other.
//!
//! - [`save`] writes the network's scalar type (F32 or F64), [`save_as`] any [`Dtype`].
//!   The file replaces the target atomically (a temporary file in the same directory,
//!   renamed over it), and its metadata contains `format: pt` and the network's type name
//!   under `static_nn.network`.
//! - [`load`] accepts F32, F64, F16 and BF16 and converts to the network's scalar type.
//!   It is all or nothing: the whole file is checked first (every tensor and buffer
//!   present, no extra tensors, every shape and dtype acceptable), and any mismatch
//!   returns one
//!   [`WeightsError::Mismatch`] listing every problem, with the network unchanged.
//!
//! ```
//! use nn_core::weights::{self, Dtype};
//! use nn_core::{Dense, Layer, Rng};
//!
//! # fn main() -> Result<(), weights::WeightsError> {
//! let mut layer: Dense<f32, 4, 8> = nn_core::bytemuck::Zeroable::zeroed();
//! layer.init(&mut Rng::seed_from_u64(7));
//!
//! let bytes = weights::to_bytes(&layer)?;
//! let mut copy: Dense<f32, 4, 8> = nn_core::bytemuck::Zeroable::zeroed();
//! weights::load_bytes(&mut copy, &bytes)?;
//! assert_eq!(copy, layer);
//!
//! // A layer of another shape rejects the file and stays as it was.
//! let mut other: Dense<f32, 4, 6> = nn_core::bytemuck::Zeroable::zeroed();
//! let error = weights::load_bytes(&mut other, &bytes).unwrap_err();
//! assert!(error.to_string().contains("tensor `weight` in the byte buffer has shape [8, 4], expected [6, 4]"));
//! assert_eq!(other, nn_core::bytemuck::Zeroable::zeroed());
//!
//! // F16 stores two bytes per value instead of four.
//! let half = weights::to_bytes_as(&layer, Dtype::F16)?;
//! assert!(half.len() < bytes.len());
//!
//! // `Standardize` has no parameters, but its statistics are buffers, `mean` and `std`.
//! let norm = nn_core::Standardize::<f32, 2>::from_arrays([1.0, 2.0], [3.0, 4.0]);
//! let mut restored = nn_core::Standardize::<f32, 2>::identity();
//! weights::load_bytes(&mut restored, &weights::to_bytes(&norm)?)?;
//! assert_eq!(restored, norm);
//! # Ok(())
//! # }
//! ```

mod dtype;
mod error;
mod layout;
mod read;
mod write;

use std::borrow::ToOwned;
use std::format;
use std::path::Path;
use std::vec::Vec;

pub use dtype::Dtype;
pub use error::{Mismatch, Origin, WeightsError};

use crate::float::Float;
use crate::tensors::{TensorInfo, Tensors};

/// The metadata key under which [`save`] stores the network's Rust type name.
pub const NETWORK_KEY: &str = "static_nn.network";

/// Saves the parameters and buffers of `net` to the safetensors file `path` in the
/// network's scalar type (F32 for `f32`, F64 for `f64`).
///
/// The file is written next to `path` under a temporary name, flushed to disk and renamed
/// over `path`, so a crash leaves either the old file or the complete new one.
///
/// # Errors
///
/// [`WeightsError::Io`] when the directory does not exist or is not writable, and
/// [`WeightsError::InvalidNetwork`] when the network's `Tensors` implementation is
/// inconsistent.
pub fn save<T: Float, N: Tensors<T>>(net: &N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    save_as(net, path, Dtype::of::<T>())
}

/// Saves the parameters and buffers of `net` to `path` as `dtype`, rounding to nearest;
/// see [`save`].
///
/// # Errors
///
/// As [`save`], and [`WeightsError::OutOfRange`] when a finite value overflows `dtype`
/// (beyond 65504 in magnitude for F16, beyond the `f32` range for F32 and BF16).
pub fn save_as<T: Float, N: Tensors<T>>(
    net: &N,
    path: impl AsRef<Path>,
    dtype: Dtype,
) -> Result<(), WeightsError> {
    let bytes = to_bytes_as(net, dtype)?;
    write::replace_file(path.as_ref(), &bytes)
}

/// Encodes the parameters and buffers of `net` as a safetensors file in memory, in the
/// network's scalar type.
///
/// # Errors
///
/// [`WeightsError::InvalidNetwork`] when the network's `Tensors` implementation is
/// inconsistent.
pub fn to_bytes<T: Float, N: Tensors<T>>(net: &N) -> Result<Vec<u8>, WeightsError> {
    to_bytes_as(net, Dtype::of::<T>())
}

/// Encodes the parameters and buffers of `net` as a safetensors file in memory, as
/// `dtype`.
///
/// # Errors
///
/// As [`to_bytes`], and [`WeightsError::OutOfRange`] when a finite value overflows
/// `dtype`.
pub fn to_bytes_as<T: Float, N: Tensors<T>>(
    net: &N,
    dtype: Dtype,
) -> Result<Vec<u8>, WeightsError> {
    write::encode(net, dtype)
}

/// Loads the parameters and buffers of `net` from the safetensors file `path`, all or
/// nothing.
///
/// Tensors are matched by name; F32, F64, F16 and BF16 values are converted to the
/// network's scalar type, rounding to nearest.
///
/// # Errors
///
/// - [`WeightsError::Io`] when the file cannot be read.
/// - [`WeightsError::Format`] when it is not a valid safetensors file (truncated, corrupt
///   header).
/// - [`WeightsError::Mismatch`] listing every tensor or buffer that is missing, extra, of
///   another shape, of an unsupported dtype, or out of the scalar type's range.
///
/// On every error `net` is unchanged.
pub fn load<T: Float, N: Tensors<T>>(
    net: &mut N,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.to_owned(),
        action: "read",
        source,
    })?;
    read::load_into(net, &bytes, Origin::File(path.to_owned()))
}

/// Loads the parameters and buffers of `net` from a safetensors file in memory; see
/// [`load`].
///
/// # Errors
///
/// As [`load`], except that no file is read. Messages name the data "the byte buffer".
pub fn load_bytes<T: Float, N: Tensors<T>>(net: &mut N, bytes: &[u8]) -> Result<(), WeightsError> {
    read::load_into(net, bytes, Origin::Bytes)
}

/// The place of one tensor of a weights file in the network: parameter tensor `i` or
/// buffer `i`, which [`Tensors`] index separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Tensor(usize),
    Buffer(usize),
}

impl Slot {
    /// Returns the values of this slot of `net`.
    fn values<T, N: Tensors<T>>(self, net: &N) -> Option<&[T]> {
        match self {
            Slot::Tensor(i) => net.tensor(i),
            Slot::Buffer(i) => net.buffer(i),
        }
    }

    /// Returns the values of this slot of `net` for writing.
    fn values_mut<T, N: Tensors<T>>(self, net: &mut N) -> Option<&mut [T]> {
        match self {
            Slot::Tensor(i) => net.tensor_mut(i),
            Slot::Buffer(i) => net.buffer_mut(i),
        }
    }
}

/// One tensor of the network as a weights file contains it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    info: TensorInfo,
    slot: Slot,
}

impl Entry {
    /// Returns whether the entry is a buffer rather than a parameter tensor.
    fn is_buffer(&self) -> bool {
        matches!(self.slot, Slot::Buffer(_))
    }
}

/// Collects the info of every parameter tensor of `N`, then of every buffer, and checks
/// it against the slice lengths `len(slot)` reports, so that reading and writing can
/// index without further checks.
fn network_entries<T: Float, N: Tensors<T>>(
    mut len: impl FnMut(Slot) -> Option<usize>,
) -> Result<Vec<Entry>, WeightsError> {
    let invalid = |problem| WeightsError::InvalidNetwork {
        network: core::any::type_name::<N>(),
        problem,
    };
    let tensors = (0..N::COUNT).map(|i| (Slot::Tensor(i), N::tensor_info(i)));
    let buffers = (0..N::BUFFERS).map(|i| (Slot::Buffer(i), N::buffer_info(i)));
    let mut entries: Vec<Entry> = Vec::with_capacity(N::COUNT + N::BUFFERS);
    for (slot, info) in tensors.chain(buffers) {
        let info = info.ok_or_else(|| {
            invalid(match slot {
                Slot::Tensor(i) => {
                    format!("`tensor_info({i})` is `None` but `COUNT` is {}", N::COUNT)
                }
                Slot::Buffer(i) => format!(
                    "`buffer_info({i})` is `None` but `BUFFERS` is {}",
                    N::BUFFERS
                ),
            })
        })?;
        let found = len(slot).ok_or_else(|| {
            invalid(match slot {
                Slot::Tensor(i) => format!("tensor {i} (`{}`) has no data", info.name),
                Slot::Buffer(i) => format!("buffer {i} (`{}`) has no data", info.name),
            })
        })?;
        if found != info.shape.len() {
            return Err(invalid(format!(
                "tensor `{}` has {found} values but its shape {} needs {}",
                info.name,
                info.shape,
                info.shape.len()
            )));
        }
        if entries.iter().any(|earlier| earlier.info.name == info.name) {
            return Err(invalid(format!("two tensors are named `{}`", info.name)));
        }
        entries.push(Entry { info, slot });
    }
    Ok(entries)
}
