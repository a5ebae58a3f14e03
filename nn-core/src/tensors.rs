//! Indexed access to the parameter tensors of layers, networks and gradients.
//!
//! Optimizers, weight files and freezing walk a network's tensors by index: tensor `i` of
//! a network, of its gradients and of any optimizer buffer shaped like them is the same
//! tensor, so an update loop needs no allocation and no closures.

use core::fmt;

/// The maximum length in bytes of a dotted tensor name such as `backbone.hidden.weight`.
pub const MAX_NAME_LEN: usize = 192;

/// A dotted tensor name stored inline, so no allocation is needed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TensorName {
    bytes: [u8; MAX_NAME_LEN],
    len: usize,
}

impl TensorName {
    /// Creates a name from one segment, such as `weight`.
    pub fn new(segment: &str) -> Self {
        let mut name = Self {
            bytes: [0; MAX_NAME_LEN],
            len: 0,
        };
        name.push(segment);
        name
    }

    /// Returns this name with `prefix.` in front, as a network does for its layers.
    pub fn prefixed(self, prefix: &str) -> Self {
        let mut name = Self::new(prefix);
        name.push(".");
        name.push(self.as_str());
        name
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        // `push` only ever copies whole characters, so the bytes are valid UTF-8.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }

    fn push(&mut self, text: &str) {
        // NOTE: names longer than MAX_NAME_LEN are cut at a character boundary; layer names
        // are Rust identifiers, so only networks nested many levels deep can reach it.
        let mut end = text.len().min(MAX_NAME_LEN - self.len);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.bytes[self.len..self.len + end].copy_from_slice(&text.as_bytes()[..end]);
        self.len += end;
    }
}

impl fmt::Display for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The logical shape of a tensor, as PyTorch reports it (`[out, in]` for a dense weight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    dims: [usize; 4],
    rank: usize,
}

impl Shape {
    /// A vector of `len` values.
    pub const fn vector(len: usize) -> Self {
        Self {
            dims: [len, 0, 0, 0],
            rank: 1,
        }
    }

    /// A matrix with `rows` rows and `cols` columns.
    pub const fn matrix(rows: usize, cols: usize) -> Self {
        Self {
            dims: [rows, cols, 0, 0],
            rank: 2,
        }
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.dims().iter().product()
    }

    /// Whether the tensor has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, dim) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{dim}")?;
        }
        f.write_str("]")
    }
}

/// The name, logical shape and memory order of one parameter tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The dotted name, matching PyTorch's `state_dict` keys (`hidden.weight`).
    pub name: TensorName,
    /// The logical shape (`[out, in]` for a dense weight).
    pub shape: Shape,
    /// Whether the slice stores a matrix column by column, as nalgebra does. PyTorch stores
    /// row by row, so weight files transpose such tensors.
    pub column_major: bool,
}

impl TensorInfo {
    /// Returns this info with `prefix.` in front of the name, as a network does for the
    /// tensors of its layers.
    pub fn prefixed(self, prefix: &str) -> Self {
        Self {
            name: self.name.prefixed(prefix),
            ..self
        }
    }
}

/// A collection of parameter tensors addressed by index.
///
/// Implemented by layers, by generated networks and by their gradient types. A network and
/// its gradients list the same tensors in the same order with the same shapes.
pub trait Tensors<T> {
    /// The number of tensors.
    const COUNT: usize;

    /// The number of scalar values in all tensors together.
    const PARAMS: usize;

    /// The values of tensor `i`, or `None` when `i >= COUNT`.
    fn tensor(&self, i: usize) -> Option<&[T]>;

    /// The values of tensor `i` for writing, or `None` when `i >= COUNT`.
    fn tensor_mut(&mut self, i: usize) -> Option<&mut [T]>;

    /// The name and shape of tensor `i`, or `None` when `i >= COUNT`.
    fn tensor_info(i: usize) -> Option<TensorInfo>;

    /// Sets every value of every tensor to zero.
    fn fill_zero(&mut self)
    where
        T: Copy + Default,
    {
        for i in 0..Self::COUNT {
            if let Some(values) = self.tensor_mut(i) {
                values.fill(T::default());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_names_join_with_dots() {
        let name = TensorName::new("weight")
            .prefixed("hidden")
            .prefixed("backbone");
        assert_eq!(name.as_str(), "backbone.hidden.weight");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let mut name = TensorName::new("é");
        for _ in 0..200 {
            name = name.prefixed("é");
        }
        assert!(name.as_str().len() <= MAX_NAME_LEN);
        assert!(name.as_str().starts_with('é'));
    }

    #[test]
    fn shape_displays_like_pytorch() {
        assert_eq!(std::format!("{}", Shape::matrix(32, 64)), "[32, 64]");
        assert_eq!(Shape::matrix(32, 64).len(), 2048);
        assert_eq!(std::format!("{}", Shape::vector(10)), "[10]");
    }
}
