//! Indexed access to the parameter tensors of layers, networks and gradients.
//!
//! Weight files and initialisation walk all of a network's tensors by index ([`Tensors`]).
//! Optimizers walk the trainable ones ([`Trainable`]): trainable tensor `i` of a network,
//! tensor `i` of its gradients and of any optimizer buffer shaped like them are the same
//! tensor, so an update loop needs no allocation and no closures.
//!
//! A second, separate list holds buffers in PyTorch's sense (`register_buffer`): tensors
//! that are not parameters but belong in a weights file, such as the statistics of a
//! [`Standardize`](crate::Standardize) layer, as `state_dict` contains them next to the
//! parameters. They are unrelated to optimizer state. Buffers have their own indices, so
//! the parameter indices that gradients and optimizer state share do not depend on them.

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

/// The name, logical shape and memory order of one parameter tensor or buffer.
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

/// A collection of parameter tensors addressed by index, and of buffers.
///
/// Implemented by layers, by generated networks and by their gradient types. A network and
/// its gradients list the same tensors in the same order with the same shapes.
///
/// Buffers (`buffer`, `buffer_info`) are the tensors that are saved and loaded with the
/// parameters but never trained, initialised or zeroed: a layer's fixed statistics. A type
/// has none unless it overrides [`BUFFERS`](Self::BUFFERS), and gradient types never do.
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

    /// Sets every value of every tensor to zero. Buffers keep their values.
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

    /// The number of tensors that training updates, which [`Trainable`] lists.
    ///
    /// All tensors by default. [`Frozen`](crate::layers::Frozen) sets it to zero, and a
    /// generated network adds up its layers' counts, so a network with a frozen layer has
    /// fewer trainable tensors than tensors.
    const TRAINABLE_COUNT: usize = Self::COUNT;

    /// The number of scalar values in the trainable tensors.
    const TRAINABLE_PARAMS: usize = Self::PARAMS;

    /// Returns the index among all tensors of trainable tensor `i`, or `None` when
    /// `i >= TRAINABLE_COUNT`.
    ///
    /// The mapping keeps the order: trainable tensor `i + 1` comes after trainable tensor
    /// `i`. The default maps every tensor to itself.
    fn trainable_index(i: usize) -> Option<usize> {
        (i < Self::COUNT).then_some(i)
    }

    /// The number of buffers: tensors that weight files contain but that are not
    /// parameters, so nothing trains, initialises or zeroes them. None by default.
    const BUFFERS: usize = 0;

    /// The number of scalar values in all buffers together.
    const BUFFER_VALUES: usize = 0;

    /// The values of buffer `i`, or `None` when `i >= BUFFERS`.
    fn buffer(&self, _i: usize) -> Option<&[T]> {
        None
    }

    /// The values of buffer `i` for writing, or `None` when `i >= BUFFERS`.
    fn buffer_mut(&mut self, _i: usize) -> Option<&mut [T]> {
        None
    }

    /// The name and shape of buffer `i`, or `None` when `i >= BUFFERS`. Buffer names
    /// share one namespace with tensor names, as in PyTorch's `state_dict`.
    fn buffer_info(_i: usize) -> Option<TensorInfo> {
        None
    }
}

/// The tensors that training updates, indexed like the gradients.
///
/// [`Tensors`] lists every parameter tensor, which weight files, initialisation and
/// copying need. This trait lists only the tensors that have gradients: trainable tensor
/// `i` of a network is tensor `i` of its gradient type and of every optimizer buffer, so
/// optimizers bound their parameters with it. For a network without frozen layers both
/// lists are the same.
///
/// Every `Tensors` type implements it. The trainable tensors are chosen by
/// [`Tensors::TRAINABLE_COUNT`] and [`Tensors::trainable_index`], because only `Tensors`
/// can be implemented per type. The methods have their own names, so both traits can be
/// in scope together.
///
/// ```
/// use nn_core::bytemuck::Zeroable;
/// use nn_core::layers::{Dense, Frozen};
/// use nn_core::tensors::{Tensors, Trainable};
///
/// type FrozenDense = Frozen<Dense<f32, 3, 2>>;
/// assert_eq!(FrozenDense::COUNT, 2);
/// assert_eq!(FrozenDense::TRAINABLE_COUNT, 0);
///
/// let frozen = Frozen(Dense::<f32, 3, 2>::zeroed());
/// assert!(frozen.tensor(0).is_some());
/// assert!(frozen.trainable_tensor(0).is_none());
/// ```
pub trait Trainable<T>: Tensors<T> {
    /// The values of trainable tensor `i`, or `None` when `i >= TRAINABLE_COUNT`.
    fn trainable_tensor(&self, i: usize) -> Option<&[T]>;

    /// The values of trainable tensor `i` for writing, or `None` when
    /// `i >= TRAINABLE_COUNT`.
    fn trainable_tensor_mut(&mut self, i: usize) -> Option<&mut [T]>;

    /// The name and shape of trainable tensor `i`, or `None` when `i >= TRAINABLE_COUNT`.
    fn trainable_tensor_info(i: usize) -> Option<TensorInfo>;
}

impl<T, X: Tensors<T> + ?Sized> Trainable<T> for X {
    fn trainable_tensor(&self, i: usize) -> Option<&[T]> {
        self.tensor(X::trainable_index(i)?)
    }

    fn trainable_tensor_mut(&mut self, i: usize) -> Option<&mut [T]> {
        self.tensor_mut(X::trainable_index(i)?)
    }

    fn trainable_tensor_info(i: usize) -> Option<TensorInfo> {
        X::tensor_info(X::trainable_index(i)?)
    }
}

/// The error of a generated network's `reinit` for a name that is not one of its layers
/// with parameters.
///
/// Its `Display` lists the valid names: "unknown layer `hiden`; the layers with
/// parameters are `hidden`, `out`".
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UnknownLayer {
    /// The start of the requested name, so the error stays small enough to return by
    /// value; layer names are far shorter.
    name: [u8; UNKNOWN_NAME_LEN],
    len: u8,
    truncated: bool,
    valid: &'static [&'static str],
}

/// The number of bytes of the requested name that [`UnknownLayer`] keeps.
const UNKNOWN_NAME_LEN: usize = 64;

impl UnknownLayer {
    /// Creates the error for the requested `name` in a network whose layers with
    /// parameters are `valid`.
    pub fn new(name: &str, valid: &'static [&'static str]) -> Self {
        let mut end = name.len().min(UNKNOWN_NAME_LEN);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut kept = [0; UNKNOWN_NAME_LEN];
        kept[..end].copy_from_slice(&name.as_bytes()[..end]);
        Self {
            name: kept,
            // `end` is at most UNKNOWN_NAME_LEN, which fits in a `u8`.
            len: end as u8,
            truncated: end < name.len(),
            valid,
        }
    }

    /// Returns the requested name, cut to its first 64 bytes (at a character boundary)
    /// when it is longer.
    pub fn name(&self) -> &str {
        // `new` copies whole characters only, so the bytes are valid UTF-8.
        core::str::from_utf8(&self.name[..usize::from(self.len)]).unwrap_or("")
    }

    /// Returns the names of the network's layers with parameters.
    pub fn valid_names(&self) -> &'static [&'static str] {
        self.valid
    }
}

impl fmt::Display for UnknownLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ellipsis = if self.truncated { "..." } else { "" };
        write!(f, "unknown layer `{}{ellipsis}`; ", self.name())?;
        if self.valid.is_empty() {
            return f.write_str("the network has no layers with parameters");
        }
        f.write_str("the layers with parameters are ")?;
        for (k, valid) in self.valid.iter().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{valid}`")?;
        }
        if self.name().contains('.') {
            f.write_str("; call the nested network's own `reinit` for a layer inside it")?;
        }
        Ok(())
    }
}

impl fmt::Debug for UnknownLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnknownLayer")
            .field("name", &self.name())
            .field("valid", &self.valid)
            .finish()
    }
}

impl core::error::Error for UnknownLayer {}

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
    fn unknown_layer_lists_valid_names() {
        let error = UnknownLayer::new("hiden", &["hidden", "out"]);
        assert_eq!(
            std::format!("{error}"),
            "unknown layer `hiden`; the layers with parameters are `hidden`, `out`"
        );
        assert_eq!(error.name(), "hiden");
        assert_eq!(error.valid_names(), ["hidden", "out"]);
    }

    #[test]
    fn dotted_unknown_layer_points_to_nested_reinit() {
        let error = UnknownLayer::new("backbone.hidden", &["backbone", "out"]);
        assert_eq!(
            std::format!("{error}"),
            "unknown layer `backbone.hidden`; the layers with parameters are `backbone`, `out`; \
             call the nested network's own `reinit` for a layer inside it"
        );
    }

    #[test]
    fn long_unknown_layer_name_is_cut() {
        let name = "é".repeat(40);
        let error = UnknownLayer::new(&name, &["out"]);
        assert_eq!(error.name(), "é".repeat(32));
        assert!(
            std::format!("{error}")
                .starts_with(&std::format!("unknown layer `{}...`", "é".repeat(32)))
        );
        assert!(core::mem::size_of::<UnknownLayer>() <= 96);
    }

    #[test]
    fn unknown_layer_without_parameters() {
        let error = UnknownLayer::new("out", &[]);
        assert_eq!(
            std::format!("{error}"),
            "unknown layer `out`; the network has no layers with parameters"
        );
    }

    #[test]
    fn layers_have_no_buffers_by_default() {
        type Layer = crate::layers::Dense<f32, 2, 3>;
        assert_eq!(<Layer as Tensors<f32>>::BUFFERS, 0);
        assert_eq!(<Layer as Tensors<f32>>::BUFFER_VALUES, 0);
        assert!(<Layer as Tensors<f32>>::buffer_info(0).is_none());
        let mut layer: Layer = bytemuck::Zeroable::zeroed();
        assert!(layer.buffer(0).is_none());
        assert!(layer.buffer_mut(0).is_none());
    }

    #[test]
    fn shape_displays_like_pytorch() {
        assert_eq!(std::format!("{}", Shape::matrix(32, 64)), "[32, 64]");
        assert_eq!(Shape::matrix(32, 64).len(), 2048);
        assert_eq!(std::format!("{}", Shape::vector(10)), "[10]");
    }
}
