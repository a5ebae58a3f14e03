//! Encoding a network as safetensors and replacing a file atomically.

use std::borrow::{Cow, ToOwned};
use std::format;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;

use core::sync::atomic::{AtomicUsize, Ordering};

use super::dtype::Dtype;
use super::error::WeightsError;
use super::layout::memory_index;
use super::{NETWORK_KEY, network_entries};
use crate::float::Float;
use crate::tensors::{TensorInfo, Tensors};

/// One tensor encoded row-major in the file's dtype.
struct Encoded {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl safetensors::View for Encoded {
    fn dtype(&self) -> safetensors::Dtype {
        self.dtype.to_safetensors()
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }

    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Encodes every tensor and buffer of `net` as `dtype`, with PyTorch's names and
/// row-major layout.
pub(super) fn encode<T: Float, N: Tensors<T>>(
    net: &N,
    dtype: Dtype,
) -> Result<Vec<u8>, WeightsError> {
    let entries = network_entries::<T, N>(|slot| slot.values(net).map(<[T]>::len))?;
    let mut tensors = Vec::with_capacity(entries.len());
    for entry in &entries {
        let values = entry.slot.values(net).unwrap_or_default();
        let info = &entry.info;
        tensors.push((
            info.name.as_str().to_owned(),
            encode_tensor(values, info, dtype)?,
        ));
    }

    let plain = safetensors::serialize(tensors, None).map_err(|error| WeightsError::Serialize {
        problem: error.to_string(),
    })?;
    let metadata = [
        // `format: pt` marks PyTorch tensors: Hugging Face `transformers` writes it when
        // saving PyTorch models, and some loaders check it.
        ("format", "pt"),
        (NETWORK_KEY, core::any::type_name::<N>()),
    ];
    let bytes = with_metadata(&plain, &metadata)?;

    // Parse the result once, so a bug in the splicing can never reach a file.
    safetensors::SafeTensors::read_metadata(&bytes).map_err(|error| WeightsError::Serialize {
        problem: format!("the encoded header is invalid: {error}"),
    })?;
    Ok(bytes)
}

/// Inserts `__metadata__` with `entries`, in this order, at the front of the header of the
/// safetensors file `plain` and pads the header again to a multiple of 8 bytes.
///
/// safetensors takes metadata as a `HashMap`, whose iteration order changes from map to
/// map, so two saves of one network could differ in bytes. Writing the metadata here
/// keeps files reproducible. Tensor data offsets count from the end of the header, so
/// they stay valid.
fn with_metadata(plain: &[u8], entries: &[(&str, &str)]) -> Result<Vec<u8>, WeightsError> {
    let invalid = || WeightsError::Serialize {
        problem: "safetensors returned a header that does not start with `{`".to_owned(),
    };
    let (length_field, rest) = plain.split_first_chunk::<8>().ok_or_else(invalid)?;
    let header_len = usize::try_from(u64::from_le_bytes(*length_field)).map_err(|_| invalid())?;
    let (header, data) = rest.split_at_checked(header_len).ok_or_else(invalid)?;
    let header = header.trim_ascii_end();
    let tensors = header.strip_prefix(b"{").ok_or_else(invalid)?;

    let mut json = String::from("{\"__metadata__\":{");
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        push_json_string(&mut json, key);
        json.push(':');
        push_json_string(&mut json, value);
    }
    json.push('}');
    let mut header = json.into_bytes();
    if tensors != b"}" {
        header.push(b',');
    }
    header.extend_from_slice(tensors);
    header.resize(header.len().next_multiple_of(8), b' ');

    let mut bytes = Vec::with_capacity(8 + header.len() + data.len());
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(data);
    Ok(bytes)
}

/// Appends `text` as a JSON string literal.
fn push_json_string(json: &mut String, text: &str) {
    json.push('"');
    for c in text.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            c if u32::from(c) < 0x20 => json.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => json.push(c),
        }
    }
    json.push('"');
}

fn encode_tensor<T: Float>(
    values: &[T],
    info: &TensorInfo,
    dtype: Dtype,
) -> Result<Encoded, WeightsError> {
    let mut data = Vec::with_capacity(values.len() * dtype.size());
    for k in 0..values.len() {
        // `network_entries` checked that `values` has one element per position of the
        // shape, and `memory_index` maps positions one to one.
        let value = values[memory_index(&info.shape, info.column_major, k)].as_f64();
        let stored = dtype.encode(value, &mut data);
        if value.is_finite() && !stored.is_finite() {
            return Err(WeightsError::OutOfRange {
                name: info.name.as_str().to_owned(),
                value,
                dtype,
            });
        }
    }
    Ok(Encoded {
        dtype,
        shape: info.shape.dims().to_vec(),
        data,
    })
}

/// Writes `bytes` to a new file next to `path`, flushes it to disk and renames it over
/// `path`, so `path` contains either its old content or all of `bytes`, never a part.
pub(super) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), WeightsError> {
    let io_error = |action, source| WeightsError::Io {
        path: path.to_owned(),
        action,
        source,
    };

    let (temporary, mut file) =
        create_temporary(path).map_err(|source| io_error("write", source))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(source) = written {
        let _ = fs::remove_file(&temporary);
        return Err(io_error("write", source));
    }
    if let Err(source) = fs::rename(&temporary, path) {
        let _ = fs::remove_file(&temporary);
        return Err(io_error("replace", source));
    }
    sync_directory(path);
    Ok(())
}

/// Creates a new temporary file next to `path`. A name that already exists (left behind
/// by a crashed process with the same id) is skipped, never truncated or removed.
fn create_temporary(path: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    const ATTEMPTS: usize = 16;
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        let temporary = temporary_path(path);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
        {
            Ok(file) => return Ok((temporary, file)),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| ErrorKind::AlreadyExists.into()))
}

/// The number of temporary names this process has made, part of the next name.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Returns a hidden name in the target's directory, unique per process and call, so
/// concurrent saves never share a temporary file.
fn temporary_path(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| String::from("weights"));
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{file_name}.{}-{unique}.tmp", std::process::id()))
}

/// Flushes the directory entry of the rename to disk where the platform allows it.
fn sync_directory(path: &Path) {
    #[cfg(unix)]
    {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // NOTE: a failed directory sync is not reported, because the file is complete once
        // renamed. It only means that the rename might not survive a power cut.
        if let Ok(handle) = fs::File::open(directory) {
            let _ = handle.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_spliced_in_order_and_escaped() {
        let plain = safetensors::serialize(
            [(
                "w",
                Encoded {
                    dtype: Dtype::F32,
                    shape: std::vec![1],
                    data: 1f32.to_le_bytes().to_vec(),
                },
            )],
            None,
        )
        .unwrap();
        let bytes = with_metadata(&plain, &[("format", "pt"), ("note", "a \"b\" \\ \n")]).unwrap();

        let (header_len, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(header_len % 8, 0);
        let entries = metadata.metadata().as_ref().unwrap();
        assert_eq!(entries["format"], "pt");
        assert_eq!(entries["note"], "a \"b\" \\ \n");
        let header = core::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
        assert!(
            header.starts_with(r#"{"__metadata__":{"format":"pt","note":"#),
            "{header}"
        );
        assert_eq!(bytes[8 + header_len..], 1f32.to_le_bytes());
    }

    #[test]
    fn stale_temporary_files_are_skipped_and_kept() {
        let dir = std::env::temp_dir().join(format!("nn-core-weights-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");

        // Only this test makes temporary names in this process, so the next two names
        // are known.
        let next = COUNTER.load(Ordering::Relaxed);
        let stale: std::vec::Vec<PathBuf> = (next..next + 2)
            .map(|n| dir.join(format!(".model.safetensors.{}-{n}.tmp", std::process::id())))
            .collect();
        for file in &stale {
            fs::write(file, b"stale").unwrap();
        }

        replace_file(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        for file in &stale {
            assert_eq!(fs::read(file).unwrap(), b"stale");
        }
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 3);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn metadata_fits_a_file_without_tensors() {
        let plain = safetensors::serialize(std::vec::Vec::<(&str, Encoded)>::new(), None).unwrap();
        let bytes = with_metadata(&plain, &[("format", "pt")]).unwrap();
        let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(metadata.metadata().as_ref().unwrap()["format"], "pt");
    }
}
