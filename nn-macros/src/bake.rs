//! Baked weights: reads the safetensors file that `#[weights("file")]` names while the
//! macro runs, checks every tensor against the declaration, and writes the values into
//! the expansion as data.
//!
//! The file format is the one `static_nn::core::weights::save` writes and PyTorch's
//! `safetensors.torch.save_file` writes: an 8-byte little-endian header length, a JSON
//! header mapping each tensor name to its dtype, shape and byte range, then the data.
//! A `Dense` layer has `<layer>.weight` with shape `[out, in]`, stored row by row, and
//! `<layer>.bias` with shape `[out]`. nalgebra stores a matrix column by column, so the
//! weight is transposed here. A `Standardize` layer has the buffers `<layer>.mean` and
//! `<layer>.std`, each with shape `[width]`.
//!
//! Each tensor becomes one byte-string literal with its values in the network's scalar
//! type, little-endian, in nalgebra's order, and `__private::baked_matrix` turns it into
//! a matrix in a `const`. One literal per tensor keeps the expansion cheap to
//! compile however many weights there are, and the values land in `.rodata` when the
//! network is used in a `static`.

use std::path::{Path, PathBuf};

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use syn::LitStr;

use crate::validate::{Errors, Kind, LayerModel, Model, Scalar, Size};

/// The weights of a network, ready for the expansion.
pub struct Baked {
    /// The file's absolute path, or `None` when it cannot be read. The expansion passes
    /// it to `include_bytes!`, so cargo rebuilds the crate when the file changes.
    tracked: Option<String>,
    /// One entry per layer with a field, in declaration order: the bytes of each of its
    /// tensors, in the order of [`LayerShape::tensors`].
    layers: Vec<LayerBytes>,
}

/// The values of one layer's tensors as little-endian bytes of the scalar type, each in
/// nalgebra's memory order (a matrix column by column).
type LayerBytes = Vec<Vec<u8>>;

/// One tensor of a layer as the declaration fixes it.
struct TensorShape {
    /// The last part of the tensor's name, which is also the field of the layer's type
    /// that stores it: `weight`, `bias`, `mean` or `std`.
    field: &'static str,
    /// The logical shape, as the file stores it: `[out, in]` for a weight, `[n]` for a
    /// vector.
    dims: Vec<usize>,
}

impl TensorShape {
    /// Returns the rows and columns of the nalgebra matrix that stores the tensor: a vector
    /// is one column.
    fn matrix(&self) -> (usize, usize) {
        match self.dims.as_slice() {
            [rows, cols] => (*rows, *cols),
            [rows] => (*rows, 1),
            _ => (0, 0),
        }
    }

    fn len(&self) -> usize {
        self.dims.iter().product()
    }
}

/// The tensors of one layer that can be baked, from the declaration.
struct LayerShape<'a> {
    layer: &'a LayerModel,
    tensors: Vec<TensorShape>,
}

impl<'a> LayerShape<'a> {
    /// Returns the tensors of a `Dense` or `Standardize` layer with known sizes, or
    /// `None` for any other layer.
    fn of(layer: &'a LayerModel) -> Option<Self> {
        let tensor = |field, dims| TensorShape { field, dims };
        let tensors = match (&layer.kind, &layer.input, &layer.output) {
            (Kind::Dense { .. }, Size::Known(inputs), Size::Known(outputs)) => vec![
                tensor("weight", vec![*outputs, *inputs]),
                tensor("bias", vec![*outputs]),
            ],
            (Kind::Standardize, Size::Known(width), _) => {
                vec![tensor("mean", vec![*width]), tensor("std", vec![*width])]
            }
            _ => return None,
        };
        Some(Self { layer, tensors })
    }

    /// Returns the dotted name of `tensor` in the file: `hidden.weight`.
    fn name(&self, tensor: &TensorShape) -> String {
        format!("{}.{}", self.layer.field, tensor.field)
    }

    /// Returns zeros for every tensor: a `Dense` of zeros, or a `Standardize` that is the
    /// identity (a standard deviation of 0 divides by 1).
    fn zeros(&self, scalar: Scalar) -> LayerBytes {
        self.tensors
            .iter()
            .map(|tensor| vec![0; tensor.len() * scalar_size(scalar)])
            .collect()
    }
}

/// Reads and checks the weights file of `model`, if it has one.
///
/// On an error the weights are zeros, so that the expansion still defines `BAKED` and
/// code that uses it reports nothing beyond the file's mistakes.
pub fn read(model: &Model) -> (Option<Baked>, Result<(), syn::Error>) {
    if !model.options.bakes {
        return (None, Ok(()));
    }
    let Some(shapes) = layer_shapes(model) else {
        // `validate` reported the layers that cannot be baked.
        return (None, Ok(()));
    };
    let zeros = || Baked {
        tracked: None,
        layers: shapes
            .iter()
            .map(|shape| shape.zeros(model.scalar))
            .collect(),
    };
    let Some(file) = &model.options.weights else {
        // `options` reported the malformed attribute.
        return (Some(zeros()), Ok(()));
    };

    let path = match resolve(file) {
        Ok(path) => path,
        Err(error) => return (Some(zeros()), Err(error)),
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
            let message = format!(
                "cannot read the weights file `{}`: {error}; a relative path starts at the crate's manifest directory, {manifest_dir}",
                file.value(),
            );
            return (Some(zeros()), Err(syn::Error::new(file.span(), message)));
        }
    };
    let tracked = path.to_str().map(str::to_owned);

    match decode_file(model, file, &bytes, &shapes) {
        Ok(layers) => (Some(Baked { tracked, layers }), Ok(())),
        Err(error) => {
            let baked = Baked { tracked, ..zeros() };
            (Some(baked), Err(error))
        }
    }
}

/// Returns the shapes of the layers with fields, or `None` when one of them is neither a
/// `Dense` nor a `Standardize` with known sizes.
fn layer_shapes(model: &Model) -> Option<Vec<LayerShape<'_>>> {
    model
        .layers
        .iter()
        .filter(|layer| layer.kind.has_field())
        .map(LayerShape::of)
        .collect()
}

/// Joins the attribute's path to the manifest directory of the crate being compiled.
fn resolve(file: &LitStr) -> Result<PathBuf, syn::Error> {
    let relative = PathBuf::from(file.value());
    if relative.is_absolute() {
        return Ok(relative);
    }
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => Ok(Path::new(&dir).join(relative)),
        None => Err(syn::Error::new(
            file.span(),
            format!(
                "cannot find the weights file `{}`: the path is relative to the crate's manifest directory, but `CARGO_MANIFEST_DIR` is not set; build with cargo or give an absolute path",
                file.value()
            ),
        )),
    }
}

/// Parses the file and decodes every tensor the declaration expects, collecting every
/// mismatch.
fn decode_file(
    model: &Model,
    file: &LitStr,
    bytes: &[u8],
    shapes: &[LayerShape<'_>],
) -> Result<Vec<LayerBytes>, syn::Error> {
    let name = file.value();
    let parsed = parse(bytes).map_err(|problem| {
        syn::Error::new(
            file.span(),
            format!("`{name}` is not a valid safetensors file: {problem}"),
        )
    })?;

    let checker = Checker {
        model,
        file: &name,
        parsed: &parsed,
        expected: shapes
            .iter()
            .flat_map(|shape| shape.tensors.iter().map(|tensor| shape.name(tensor)))
            .collect(),
    };
    let mut errors = Errors::default();
    let mut layers = Vec::new();
    for shape in shapes {
        let mut tensors = Vec::new();
        for tensor in &shape.tensors {
            match checker.tensor(shape, tensor) {
                Ok(values) => tensors.push(memory_order(&values, tensor, model.scalar)),
                Err(message) => errors.push(file.span(), message),
            }
        }
        layers.push(tensors);
    }
    for message in checker.unexpected() {
        errors.push(file.span(), message);
    }
    errors.finish()?;
    Ok(layers)
}

/// Encodes a tensor's row-major values in the scalar type and nalgebra's order: a matrix
/// is transposed to column-major, a vector stays as it is.
fn memory_order(values: &[f64], tensor: &TensorShape, scalar: Scalar) -> Vec<u8> {
    match tensor.dims.as_slice() {
        [rows, cols] => transpose(values, *rows, *cols, scalar),
        _ => encode(values, scalar),
    }
}

/// Parses a safetensors file, first rejecting headers whose numbers exceed the file.
fn parse(bytes: &[u8]) -> Result<SafeTensors<'_>, String> {
    check_header_numbers(bytes)?;
    SafeTensors::deserialize(bytes).map_err(|error| describe(&error))
}

/// The bytes before the header: its length as a little-endian `u64`.
const LENGTH_FIELD: usize = 8;

/// Checks the header length and every number in the header against the file size.
///
/// NOTE: safetensors 0.8 adds the last data offset to the header length without an
/// overflow check, so a forged offset near `usize::MAX` would panic inside the macro. A
/// valid header has no number larger than the file, so rejecting those first keeps
/// parsing panic-free.
fn check_header_numbers(bytes: &[u8]) -> Result<(), String> {
    let Some((field, rest)) = bytes.split_first_chunk::<LENGTH_FIELD>() else {
        return Err(format!(
            "it is {} bytes long, shorter than the 8-byte header length",
            bytes.len()
        ));
    };
    let header_len = u64::from_le_bytes(*field);
    let header = usize::try_from(header_len)
        .ok()
        .and_then(|len| rest.get(..len))
        .ok_or_else(|| {
            format!(
                "the header length field says {header_len} bytes but only {} bytes follow it; the file is truncated",
                rest.len()
            )
        })?;
    match largest_number(header) {
        Some(number) if number > bytes.len() as u128 => Err(format!(
            "the header declares the size or offset {number}, beyond the end of the file ({} bytes); the header is corrupt",
            bytes.len()
        )),
        _ => Ok(()),
    }
}

/// Returns the largest run of digits outside JSON strings, saturating at `u128::MAX`.
fn largest_number(header: &[u8]) -> Option<u128> {
    let mut largest = None;
    let mut current: Option<u128> = None;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in header {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if byte.is_ascii_digit() {
            let digit = u128::from(byte - b'0');
            current = Some(
                current
                    .unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(digit),
            );
            continue;
        }
        largest = largest.max(current.take());
        in_string = byte == b'"';
    }
    largest.max(current)
}

/// Words for a safetensors parse error.
fn describe(error: &SafeTensorError) -> String {
    match error {
        SafeTensorError::InvalidHeader(_) | SafeTensorError::InvalidHeaderDeserialization(_) => {
            format!("its header is not valid safetensors JSON ({error})")
        }
        SafeTensorError::HeaderTooLarge
        | SafeTensorError::HeaderTooSmall
        | SafeTensorError::InvalidHeaderLength => {
            "its header length field does not fit the file".to_owned()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "the tensor data in the header does not end where the file ends; the file is truncated or has bytes appended".to_owned()
        }
        other => format!("{other}"),
    }
}

/// Checks tensors of one parsed file against the declaration.
struct Checker<'a> {
    model: &'a Model,
    file: &'a str,
    parsed: &'a SafeTensors<'a>,
    /// The dotted names of every tensor the declaration needs.
    expected: Vec<String>,
}

impl Checker<'_> {
    /// Returns the values of `tensor` of layer `shape`, converted to the network's scalar
    /// type and in the file's row-major order, or the message that explains why it does
    /// not fit.
    fn tensor(&self, shape: &LayerShape<'_>, tensor: &TensorShape) -> Result<Vec<f64>, String> {
        let (file, network) = (self.file, &self.model.name);
        let layer = &shape.layer.field;
        let name = shape.name(tensor);
        let expected = tensor.dims.as_slice();
        let Ok(view) = self.parsed.tensor(&name) else {
            let buffer_hint = match shape.layer.kind {
                Kind::Standardize => {
                    " (a statistic of the `Standardize` layer, which `weights::save` writes and a PyTorch module saves when it registers it with `register_buffer`)"
                }
                _ => "",
            };
            return Err(format!(
                "`{file}` has no tensor `{name}`; layer `{layer}` of `{network}` needs it with shape {}{buffer_hint}{}",
                dims(expected),
                self.similar_hint(&name, expected),
            ));
        };
        if !matches!(
            view.dtype(),
            Dtype::F32 | Dtype::F64 | Dtype::F16 | Dtype::BF16
        ) {
            return Err(format!(
                "tensor `{name}` in `{file}` has dtype {:?}, but baked weights must be F32, F64, F16 or BF16; save the file with float tensors",
                view.dtype()
            ));
        }
        if view.shape() != expected {
            return Err(format!(
                "tensor `{name}` in `{file}` has shape {}, but layer `{layer}` of `{network}` needs {}; bake a file saved from this architecture, or change the layer's sizes to the file's",
                dims(view.shape()),
                dims(expected)
            ));
        }
        self.values(&name, &view)
    }

    /// Decodes a tensor's values and checks that each fits the scalar type.
    fn values(&self, name: &str, view: &TensorView<'_>) -> Result<Vec<f64>, String> {
        let values = decode(view);
        if self.model.scalar == Scalar::F32 {
            let overflow = values
                .iter()
                .find(|value| value.is_finite() && !(**value as f32).is_finite());
            if let Some(value) = overflow {
                return Err(format!(
                    "tensor `{name}` in `{}` holds {value:e}, beyond the range of `f32`; declare the network `<f64>` or save smaller values",
                    self.file
                ));
            }
        }
        Ok(values)
    }

    /// Lists the file's tensors that the declaration does not have, sorted by name.
    fn unexpected(&self) -> Vec<String> {
        let mut extra: Vec<(String, TensorView<'_>)> = self
            .parsed
            .tensors()
            .into_iter()
            .filter(|(name, _)| !self.expected.contains(name))
            .collect();
        extra.sort_by(|(a, _), (b, _)| a.cmp(b));
        extra
            .into_iter()
            .map(|(name, view)| {
                format!(
                    "`{}` has tensor `{name}` with shape {}, which `{}` does not have; remove it from the file, or add a layer for it",
                    self.file,
                    dims(view.shape()),
                    self.model.name
                )
            })
            .collect()
    }

    /// Names a tensor of the file that the declaration does not have, with the expected
    /// shape of the missing tensor `name`. It prefers a name that ends with `name`, as a
    /// prefix such as `module.` in front of PyTorch keys gives, then one with the same
    /// last segment (`hiden.weight` for `hidden.weight`), then any.
    fn similar_hint(&self, name: &str, expected: &[usize]) -> String {
        let mut candidates: Vec<String> = self
            .parsed
            .tensors()
            .into_iter()
            .filter(|(other, view)| view.shape() == expected && !self.expected.contains(other))
            .map(|(other, _)| other)
            .collect();
        candidates.sort();
        let suffix = format!(".{name}");
        if let Some(other) = candidates.iter().find(|other| other.ends_with(&suffix)) {
            return format!(" (the file has `{other}` of that shape; rename it to `{name}`)");
        }
        let last_segment = |text: &str| text.rsplit('.').next().unwrap_or(text).to_owned();
        let same_segment = candidates
            .iter()
            .find(|other| last_segment(other) == last_segment(name));
        match same_segment.or(candidates.first()) {
            Some(other) => format!(
                " (the file has `{other}` of that shape, which `{}` does not have; if they are the same tensor, rename the layer or the file's tensor so the names match)",
                self.model.name
            ),
            None => String::new(),
        }
    }
}

/// Decodes every element of a float tensor to `f64`, which represents each exactly.
fn decode(view: &TensorView<'_>) -> Vec<f64> {
    let data = view.data();
    match view.dtype() {
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap_or_default()))
            .collect(),
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|chunk| f64::from(f32::from_le_bytes(chunk.try_into().unwrap_or_default())))
            .collect(),
        Dtype::F16 => half_values(data, |bits| half::f16::from_bits(bits).to_f64()),
        Dtype::BF16 => half_values(data, |bits| half::bf16::from_bits(bits).to_f64()),
        _ => Vec::new(),
    }
}

fn half_values(data: &[u8], to_f64: impl Fn(u16) -> f64) -> Vec<f64> {
    data.chunks_exact(2)
        .map(|chunk| to_f64(u16::from_le_bytes([chunk[0], chunk[1]])))
        .collect()
}

/// Encodes values in the scalar type, little-endian, in the given order.
fn encode(values: &[f64], scalar: Scalar) -> Vec<u8> {
    match scalar {
        // `Checker::values` rejected values that overflow `f32`; the rest round to
        // nearest, as loading at run time does.
        Scalar::F32 => values
            .iter()
            .flat_map(|value| (*value as f32).to_le_bytes())
            .collect(),
        Scalar::F64 => values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect(),
    }
}

/// Encodes a row-major `rows x cols` matrix column by column, as nalgebra stores it.
fn transpose(values: &[f64], rows: usize, cols: usize, scalar: Scalar) -> Vec<u8> {
    let column_major: Vec<f64> = (0..cols)
        .flat_map(|col| (0..rows).map(move |row| row * cols + col))
        .map(|index| values.get(index).copied().unwrap_or_default())
        .collect();
    encode(&column_major, scalar)
}

/// Formats a shape as messages print it: `[16, 1]`.
fn dims(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", parts.join(", "))
}

fn scalar_size(scalar: Scalar) -> usize {
    match scalar {
        Scalar::F32 => 4,
        Scalar::F64 => 8,
    }
}

/// The expansion of baked weights: the `BAKED` constant for the inherent impl, and the
/// `include_bytes!` item that makes cargo track the file.
pub struct BakedItems {
    pub constant: TokenStream,
    pub tracking: TokenStream,
}

/// Writes `BAKED`, which builds the network from the file's values in a `const`.
pub fn expand(model: &Model, baked: &Baked, scalar: &TokenStream) -> BakedItems {
    let vis = &model.vis;
    let file = model.options.weights.as_ref().map_or_else(
        || "the file of `#[weights]`".to_owned(),
        |file| format!("`{}`", file.value()),
    );
    let shapes = model.layers.iter().filter_map(LayerShape::of);
    let fields = shapes.zip(&baked.layers).map(|(shape, bytes)| {
        let field = &shape.layer.field;
        let value = layer_value(&shape, bytes, scalar);
        quote!(#field: #value,)
    });
    let doc = format!(
        "The network with the weights of {file}, read when the crate was compiled.\n\nUse it in a `static` so that the weights stay in read-only memory (flash on a microcontroller) and are not copied: `static NET: {name} = {name}::BAKED;`.",
        name = model.name
    );
    let constant = quote! {
        #[doc = #doc]
        #vis const BAKED: Self = Self { #(#fields)* };
    };
    let tracking = match &baked.tracked {
        Some(path) => quote!(
            const _: &[::core::primitive::u8] = ::core::include_bytes!(#path);
        ),
        None => TokenStream::new(),
    };
    BakedItems { constant, tracking }
}

/// Writes the value of one baked layer: its type's struct literal with one
/// `baked_matrix` call per tensor, wrapped in `Frozen` for a frozen layer.
fn layer_value(shape: &LayerShape<'_>, bytes: &LayerBytes, scalar: &TokenStream) -> TokenStream {
    let p = quote!(::static_nn::__private);
    let tensors = shape.tensors.iter().zip(bytes).map(|(tensor, bytes)| {
        let field = format_ident!("{}", tensor.field);
        let (rows, cols) = tensor.matrix();
        let (rows, cols) = (
            Literal::usize_unsuffixed(rows),
            Literal::usize_unsuffixed(cols),
        );
        let len = Literal::usize_unsuffixed(bytes.len());
        let literal = Literal::byte_string(bytes);
        quote!(#field: #p::baked_matrix::<#scalar, #rows, #cols, #len>(#literal),)
    });
    let ty = match shape.layer.kind {
        Kind::Standardize => quote!(#p::Standardize),
        _ => quote!(#p::Dense),
    };
    let value = quote!(#ty { #(#tensors)* });
    if shape.layer.frozen {
        quote!(#p::Frozen(#value))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid file with one F32 tensor `t` of shape [2] holding 1.0 and 2.0.
    fn valid_file() -> Vec<u8> {
        let mut header = r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.to_owned();
        while !header.len().is_multiple_of(8) {
            header.push(' ');
        }
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend(header.as_bytes());
        file.extend(1.0f32.to_le_bytes());
        file.extend(2.0f32.to_le_bytes());
        file
    }

    #[test]
    fn valid_file_parses() {
        let file = valid_file();
        let parsed = parse(&file).expect("a valid file");
        let view = parsed.tensor("t").expect("tensor t");
        assert_eq!(view.shape(), &[2]);
        assert_eq!(decode(&view), vec![1.0, 2.0]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let file = valid_file();
        for len in 0..file.len() {
            assert!(parse(&file[..len]).is_err(), "{len} bytes parsed");
        }
    }

    #[test]
    fn offset_near_usize_max_is_rejected() {
        let header = format!(
            r#"{{"t":{{"dtype":"F32","shape":[2],"data_offsets":[0,{}]}}}}"#,
            usize::MAX
        );
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend(header.as_bytes());
        let Err(error) = parse(&file) else {
            panic!("the forged offset was accepted");
        };
        assert!(error.contains("beyond the end of the file"), "{error}");
    }

    #[test]
    fn header_length_beyond_file_is_rejected() {
        let mut file = u64::MAX.to_le_bytes().to_vec();
        file.extend(b"{}");
        let Err(error) = parse(&file) else {
            panic!("the header length was accepted");
        };
        assert!(error.contains("the file is truncated"), "{error}");
    }

    #[test]
    fn largest_number_skips_strings() {
        let header =
            br#"{"__metadata__":{"note":"99999"},"a":{"shape":[8,4],"data_offsets":[0,128]}}"#;
        assert_eq!(largest_number(header), Some(128));
        assert_eq!(largest_number(br#"{"a\"9999":[7]}"#), Some(7));
        assert_eq!(largest_number(b"{}"), None);
    }

    #[test]
    fn transpose_writes_columns() {
        // [[1, 2, 3], [4, 5, 6]] row by row becomes 1, 4, 2, 5, 3, 6.
        let bytes = transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3, Scalar::F32);
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
            .collect();
        assert_eq!(values, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}
