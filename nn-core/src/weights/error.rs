//! Errors of saving and loading weights.

use core::fmt;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::string::String;
use std::vec::Vec;

use super::dtype::Dtype;

/// The source of loaded weights: a file or a byte buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk.
    File(PathBuf),
    /// A byte buffer passed to [`load_bytes`](super::load_bytes).
    Bytes,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Bytes => f.write_str("the byte buffer"),
        }
    }
}

/// One way in which a weight file does not fit a network.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Mismatch {
    /// The network has a tensor the file lacks.
    Missing {
        /// The tensor's dotted name.
        name: String,
        /// The tensor's shape in the network.
        expected: Vec<usize>,
        /// Whether the tensor is a buffer (statistics that are not trained, such as the
        /// `mean` of a `Standardize` layer) rather than a parameter.
        buffer: bool,
    },
    /// The file has a tensor the network lacks.
    Unexpected {
        /// The tensor's name in the file.
        name: String,
        /// The tensor's shape in the file.
        found: Vec<usize>,
        /// The tensor's dtype in the file, as the header spells it.
        dtype: String,
        /// A missing tensor of the network with the same shape, which this one may be
        /// under another name (a renamed layer or a prefix such as `module.`).
        similar: Option<String>,
    },
    /// A tensor has another shape in the file than in the network.
    Shape {
        /// The tensor's dotted name.
        name: String,
        /// The shape in the network.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor's dtype in the file is not F16, BF16, F32 or F64.
    Dtype {
        /// The tensor's dotted name.
        name: String,
        /// The dtype in the file, as the header spells it (`I64`).
        found: String,
        /// The shape in the network.
        expected_shape: Vec<usize>,
        /// The shape in the file.
        found_shape: Vec<usize>,
    },
    /// A finite value in the file overflows the network's scalar type (an F64 value
    /// beyond the `f32` range).
    OutOfRange {
        /// The tensor's dotted name.
        name: String,
        /// The first value that overflows.
        value: f64,
        /// The network's scalar type (`f32`).
        scalar: &'static str,
    },
}

impl Mismatch {
    /// Returns the name of the tensor concerned.
    pub fn name(&self) -> &str {
        match self {
            Mismatch::Missing { name, .. }
            | Mismatch::Unexpected { name, .. }
            | Mismatch::Shape { name, .. }
            | Mismatch::Dtype { name, .. }
            | Mismatch::OutOfRange { name, .. } => name,
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, origin: &Origin) -> fmt::Result {
        match self {
            Mismatch::Missing {
                name,
                expected,
                buffer,
            } => write!(
                f,
                "{} `{name}` (shape {}) is missing from {origin}",
                if *buffer { "buffer" } else { "tensor" },
                Dims(expected)
            ),
            Mismatch::Unexpected {
                name,
                found,
                dtype,
                similar,
            } => {
                write!(
                    f,
                    "tensor `{name}` in {origin} (shape {}, {dtype}) is not a tensor of the network",
                    Dims(found)
                )?;
                match similar {
                    Some(similar) => write!(
                        f,
                        "; the network lacks `{similar}` of the same shape, so rename one of them if they are the same layer"
                    ),
                    None => Ok(()),
                }
            }
            Mismatch::Shape {
                name,
                expected,
                found,
            } => write!(
                f,
                "tensor `{name}` in {origin} has shape {}, expected {}",
                Dims(found),
                Dims(expected)
            ),
            Mismatch::Dtype {
                name,
                found,
                expected_shape,
                found_shape,
            } => write!(
                f,
                "tensor `{name}` in {origin} has dtype {found} and shape {}, expected F32, F64, F16 or BF16 and shape {}",
                Dims(found_shape),
                Dims(expected_shape)
            ),
            Mismatch::OutOfRange {
                name,
                value,
                scalar,
            } => write!(
                f,
                "tensor `{name}` in {origin} holds {value:e}, which overflows {scalar}"
            ),
        }
    }

    /// Returns whether this mismatch points to another architecture or other layer names.
    fn is_structural(&self) -> bool {
        matches!(
            self,
            Mismatch::Missing { .. } | Mismatch::Unexpected { .. } | Mismatch::Shape { .. }
        )
    }

    /// Returns whether this mismatch is a buffer the file lacks.
    fn is_missing_buffer(&self) -> bool {
        matches!(self, Mismatch::Missing { buffer: true, .. })
    }
}

/// An error of saving or loading weights.
///
/// Loading is all or nothing: when [`load`](super::load) or
/// [`load_bytes`](super::load_bytes) returns an error, the network is unchanged.
#[derive(Debug)]
#[non_exhaustive]
pub enum WeightsError {
    /// Reading, writing or renaming a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The failed operation: `read`, `write` or `replace`.
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The data is not a valid safetensors file: it is truncated, its header is corrupt,
    /// or its tensor offsets disagree with the shapes and dtypes.
    Format {
        /// The source of the data.
        origin: Origin,
        /// A description of the problem.
        problem: String,
    },
    /// The file is valid but does not fit the network; every mismatch is listed.
    Mismatch {
        /// The source of the data.
        origin: Origin,
        /// The type name of the network the weights were loaded into.
        network: &'static str,
        /// The type name stored in the file by [`save`](super::save)
        /// (`static_nn.network` metadata), if any.
        saved_from: Option<String>,
        /// Every mismatch, tensors of the network first, in network order, then tensors
        /// only the file has, by name.
        mismatches: Vec<Mismatch>,
    },
    /// A value does not fit the dtype chosen for saving (beyond 65504 for F16).
    OutOfRange {
        /// The tensor's dotted name.
        name: String,
        /// The first value that does not fit.
        value: f64,
        /// The dtype requested.
        dtype: Dtype,
    },
    /// The network's [`Tensors`](crate::Tensors) implementation is inconsistent: a tensor
    /// below `COUNT` or a buffer below `BUFFERS` without data or info, a slice length that
    /// disagrees with the shape, or two tensors or buffers with the same name.
    InvalidNetwork {
        /// The network's type name.
        network: &'static str,
        /// A description of the inconsistency.
        problem: String,
    },
    /// The safetensors writer rejected the data (for example a header over 100 MB).
    Serialize {
        /// The writer's description.
        problem: String,
    },
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsError::Io {
                path,
                action,
                source,
            } => {
                write!(
                    f,
                    "failed to {action} weights file {}: {source}",
                    path.display()
                )?;
                // Creating the temporary file with `create_new` fails with `NotFound` only
                // when its directory is missing.
                let parent = path
                    .parent()
                    .filter(|parent| !parent.as_os_str().is_empty());
                match parent {
                    Some(parent) if *action == "write" && source.kind() == ErrorKind::NotFound => {
                        write!(
                            f,
                            "; the directory {} does not exist, create it first",
                            parent.display()
                        )
                    }
                    _ => Ok(()),
                }
            }
            WeightsError::Format { origin, problem } => {
                write!(f, "{origin} is not a valid safetensors file: {problem}")
            }
            WeightsError::Mismatch {
                origin,
                network,
                saved_from,
                mismatches,
            } => write_mismatches(f, origin, network, saved_from.as_deref(), mismatches),
            WeightsError::OutOfRange { name, value, dtype } => write!(
                f,
                "tensor `{name}` holds {value:e}, which overflows {dtype}; save as a wider dtype (F32 or BF16)"
            ),
            WeightsError::InvalidNetwork { network, problem } => write!(
                f,
                "the `Tensors` implementation of `{network}` is inconsistent: {problem}"
            ),
            WeightsError::Serialize { problem } => {
                write!(f, "failed to encode weights as safetensors: {problem}")
            }
        }
    }
}

fn write_mismatches(
    f: &mut fmt::Formatter<'_>,
    origin: &Origin,
    network: &str,
    saved_from: Option<&str>,
    mismatches: &[Mismatch],
) -> fmt::Result {
    let plural = if mismatches.len() == 1 { "" } else { "es" };
    write!(
        f,
        "weights in {origin} do not fit `{network}` ({} mismatch{plural}), so nothing was loaded:",
        mismatches.len()
    )?;
    for mismatch in mismatches {
        f.write_str("\n  - ")?;
        mismatch.write(f, origin)?;
    }

    let structural: Vec<&Mismatch> = mismatches
        .iter()
        .filter(|mismatch| mismatch.is_structural())
        .collect();
    if structural.is_empty() {
        return Ok(());
    }
    if structural
        .iter()
        .all(|mismatch| mismatch.is_missing_buffer())
    {
        f.write_str(
            "\nthe file lacks the network's buffers, the statistics that training does not change (such as the `mean` and `std` of a `Standardize` layer). It was saved from a network without them or before weight files contained buffers, so save it again from a network whose statistics are set",
        )?;
    } else {
        match saved_from {
            Some(saved) if saved != network => write!(
                f,
                "\nthe file was saved from `{saved}`, a different architecture; load it into that network, or declare this one with the same layer names and sizes"
            )?,
            _ => f.write_str(
                "\nthe file was saved from a different architecture or with other layer names; declare the network with the layer names and sizes of the file",
            )?,
        }
    }
    Ok(())
}

impl std::error::Error for WeightsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WeightsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Formats dimensions as PyTorch prints a shape: `[10, 64]`.
pub(super) struct Dims<'a>(pub(super) &'a [usize]);

impl fmt::Display for Dims<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, dim) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{dim}")?;
        }
        f.write_str("]")
    }
}
