//! Parsing a safetensors file and checking it against a network before anything is copied.

use std::borrow::ToOwned;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use safetensors::SafeTensorError;
use safetensors::tensor::{Metadata, TensorInfo as FileTensor};

use super::dtype::Dtype;
use super::error::{Mismatch, Origin, WeightsError};
use super::layout::memory_index;
use super::{Entry, NETWORK_KEY, network_entries};
use crate::float::Float;
use crate::tensors::Tensors;

/// The bytes before the header: its length as a little-endian `u64`.
const LENGTH_FIELD: usize = 8;

/// A parsed file: the header and the tensor data that follows it.
struct Parsed<'a> {
    metadata: Metadata,
    data: &'a [u8],
}

/// Checks `bytes` against `net` and copies the values in only if everything fits.
pub(super) fn load_into<T: Float, N: Tensors<T>>(
    net: &mut N,
    bytes: &[u8],
    origin: Origin,
) -> Result<(), WeightsError> {
    let parsed = parse(bytes, &origin)?;
    let entries = network_entries::<T, N>(|slot| slot.values_mut(net).map(|values| values.len()))?;

    // Decode every tensor and buffer into a staging buffer first, collecting all
    // mismatches, so a file that does not fit leaves the network untouched.
    let mut staged = Vec::with_capacity(entries.len());
    let mut mismatches = Vec::new();
    for entry in &entries {
        match stage::<T>(&parsed, entry) {
            Ok(values) => staged.push(values),
            Err(mismatch) => mismatches.push(mismatch),
        }
    }
    let unexpected = unexpected_tensors(&parsed.metadata, &entries, &mismatches);
    mismatches.extend(unexpected);
    if !mismatches.is_empty() {
        return Err(WeightsError::Mismatch {
            origin,
            network: core::any::type_name::<N>(),
            saved_from: saved_from(&parsed.metadata),
            mismatches,
        });
    }

    for (entry, values) in entries.iter().zip(&staged) {
        if let Some(target) = entry.slot.values_mut(net) {
            // `network_entries` checked that the lengths agree.
            target.copy_from_slice(values);
        }
    }
    Ok(())
}

fn parse<'a>(bytes: &'a [u8], origin: &Origin) -> Result<Parsed<'a>, WeightsError> {
    let format_error = |problem: String| WeightsError::Format {
        origin: origin.clone(),
        problem,
    };
    check_header(bytes).map_err(format_error)?;
    let (header_len, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|error| format_error(describe(&error, bytes)))?;
    let data = LENGTH_FIELD
        .checked_add(header_len)
        .and_then(|start| bytes.get(start..))
        .ok_or_else(|| format_error("the header runs past the end of the file".to_owned()))?;
    Ok(Parsed { metadata, data })
}

/// Checks the header length field and every number in the header against the file size.
///
/// NOTE: safetensors 0.8 adds the header's last data offset to the header length without
/// an overflow check, so a forged offset near `usize::MAX` panics in debug builds and can
/// slice out of bounds in release builds. No offset or size in a valid header exceeds the
/// file length, so rejecting larger numbers first keeps loading panic-free. It also
/// rejects a zero-sized tensor with a dimension larger than the file, which no network
/// here has.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    let Some((field, rest)) = bytes.split_first_chunk::<LENGTH_FIELD>() else {
        return Err(format!(
            "it is {} bytes long, shorter than the 8-byte header length; the file is empty, truncated or not a safetensors file",
            bytes.len()
        ));
    };
    let header_len = u64::from_le_bytes(*field);
    let header = usize::try_from(header_len)
        .ok()
        .and_then(|len| rest.get(..len))
        .ok_or_else(|| {
            format!(
                "the header length field is {header_len} bytes but only {} bytes follow it; the file is truncated or not a safetensors file",
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

/// Words for a safetensors parse error of the file `bytes`: what is wrong and what
/// probably caused it.
fn describe(error: &SafeTensorError, bytes: &[u8]) -> String {
    match error {
        SafeTensorError::InvalidHeader(source) => {
            format!("the header is not valid UTF-8 ({source}); the file is corrupt")
        }
        SafeTensorError::InvalidHeaderDeserialization(source) => format!(
            "the header is not a valid safetensors JSON header ({source}); the file is corrupt"
        ),
        SafeTensorError::HeaderTooLarge => {
            "the header length is over the 100 MB safetensors allows; the file is corrupt or not a safetensors file".to_owned()
        }
        SafeTensorError::HeaderTooSmall | SafeTensorError::InvalidHeaderLength => {
            "the header length field does not fit the file; the file is truncated or not a safetensors file".to_owned()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "the tensor data declared in the header does not end where the file ends; the file is truncated or has bytes appended".to_owned()
        }
        SafeTensorError::InvalidOffset(name) => format!(
            "the data offsets of tensor `{name}` do not start where the previous tensor ends; the header is corrupt"
        ),
        SafeTensorError::TensorInvalidInfo => match missized_tensor(bytes) {
            Some((name, covered, needed)) => format!(
                "the data offsets of tensor `{name}` cover {covered} bytes, but its shape and dtype need {needed}; the header is corrupt"
            ),
            None => "a tensor's data offsets cover another number of bytes than its shape and dtype need; the header is corrupt".to_owned(),
        },
        SafeTensorError::ValidationOverflow => {
            "a tensor's shape has more elements than memory can address; the header is corrupt".to_owned()
        }
        other => format!("{other}; the file is corrupt"),
    }
}

/// Finds the first tensor, by name, whose data offsets in the header of `bytes` cover
/// another number of bytes than its shape and dtype need, and returns its name with both
/// byte counts. The safetensors crate reports this error without the name.
fn missized_tensor(bytes: &[u8]) -> Option<(String, u128, u128)> {
    let (field, rest) = bytes.split_first_chunk::<LENGTH_FIELD>()?;
    let header = rest.get(..usize::try_from(u64::from_le_bytes(*field)).ok()?)?;
    let entries: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).ok()?;
    let mut names: Vec<&String> = entries
        .keys()
        .filter(|name| *name != "__metadata__")
        .collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let entry = &entries[name];
        let dtype: safetensors::Dtype = serde_json::from_value(entry.get("dtype")?.clone()).ok()?;
        let shape: Vec<u128> = serde_json::from_value(entry.get("shape")?.clone()).ok()?;
        let [start, end]: [u128; 2] =
            serde_json::from_value(entry.get("data_offsets")?.clone()).ok()?;
        let covered = end.checked_sub(start)?;
        let bits = shape
            .iter()
            .try_fold(dtype.bitsize() as u128, |total, &dim| {
                total.checked_mul(dim)
            })?;
        let needed = bits.div_ceil(8);
        (covered != needed).then(|| (name.clone(), covered, needed))
    })
}

/// Decodes the tensor or buffer that `entry` describes into the network's memory order,
/// or returns the mismatch that keeps the file's tensor from fitting.
fn stage<T: Float>(parsed: &Parsed<'_>, entry: &Entry) -> Result<Vec<T>, Mismatch> {
    let info = &entry.info;
    let name = info.name.as_str();
    let expected = info.shape.dims();
    let Some(file_tensor) = parsed.metadata.info(name) else {
        return Err(Mismatch::Missing {
            name: name.to_owned(),
            expected: expected.to_vec(),
            buffer: entry.is_buffer(),
        });
    };
    let Some(dtype) = Dtype::from_safetensors(file_tensor.dtype) else {
        return Err(Mismatch::Dtype {
            name: name.to_owned(),
            found: file_tensor.dtype.to_string(),
            expected_shape: expected.to_vec(),
            found_shape: file_tensor.shape.clone(),
        });
    };
    if file_tensor.shape != expected {
        return Err(Mismatch::Shape {
            name: name.to_owned(),
            expected: expected.to_vec(),
            found: file_tensor.shape.clone(),
        });
    }

    // safetensors checked that the offsets lie back to back inside the data and cover
    // exactly shape x dtype size bytes; `get` keeps this panic-free regardless.
    let (start, end) = file_tensor.data_offsets;
    let bytes = parsed.data.get(start..end).unwrap_or_default();
    let mut values = std::vec![T::zero(); info.shape.len()];
    for (k, element) in bytes.chunks_exact(dtype.size()).enumerate() {
        let stored = dtype.decode(element);
        let value = T::from_f64_lossy(stored);
        if stored.is_finite() && !value.as_f64().is_finite() {
            return Err(Mismatch::OutOfRange {
                name: name.to_owned(),
                value: stored,
                scalar: T::NAME,
            });
        }
        if let Some(slot) = values.get_mut(memory_index(&info.shape, info.column_major, k)) {
            *slot = value;
        }
    }
    Ok(values)
}

/// Lists the file's tensors that the network lacks, sorted by name.
fn unexpected_tensors(
    metadata: &Metadata,
    entries: &[Entry],
    mismatches: &[Mismatch],
) -> Vec<Mismatch> {
    let mut extra: Vec<(String, &FileTensor)> = metadata
        .tensors()
        .into_iter()
        .filter(|(name, _)| !entries.iter().any(|entry| entry.info.name.as_str() == name))
        .collect();
    extra.sort_by(|(a, _), (b, _)| a.cmp(b));

    extra
        .into_iter()
        .map(|(name, tensor)| Mismatch::Unexpected {
            similar: similar_missing(&name, &tensor.shape, mismatches),
            found: tensor.shape.clone(),
            dtype: tensor.dtype.to_string(),
            name,
        })
        .collect()
}

/// Returns a missing tensor of the same shape, preferring one whose name ends the
/// unexpected name (`module.hidden.weight` for `hidden.weight`) or ends like it.
fn similar_missing(name: &str, shape: &[usize], mismatches: &[Mismatch]) -> Option<String> {
    let candidates = || {
        mismatches.iter().filter_map(|mismatch| match mismatch {
            Mismatch::Missing {
                name: missing,
                expected,
                ..
            } if expected == shape => Some(missing.as_str()),
            _ => None,
        })
    };
    let last_segment = |text: &str| text.rsplit('.').next().unwrap_or(text).to_owned();
    candidates()
        .find(|missing| name.ends_with(&format!(".{missing}")))
        .or_else(|| candidates().find(|missing| last_segment(missing) == last_segment(name)))
        .or_else(|| candidates().next())
        .map(str::to_owned)
}

fn saved_from(metadata: &Metadata) -> Option<String> {
    metadata.metadata().as_ref()?.get(NETWORK_KEY).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_number_skips_strings() {
        let header =
            br#"{"__metadata__":{"note":"99999"},"a":{"shape":[8,4],"data_offsets":[0,128]}}"#;
        assert_eq!(largest_number(header), Some(128));
        assert_eq!(largest_number(br#"{"a\"9999":[7]}"#), Some(7));
        assert_eq!(
            largest_number(b"[1234567890123456789012345678901234567890123]"),
            Some(u128::MAX)
        );
        assert_eq!(largest_number(b"{}"), None);
    }
}
