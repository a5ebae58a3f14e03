//! IDX input, the format of the MNIST files, plain or gzip-compressed.
//!
//! An IDX file starts with a big-endian magic number: two zero bytes, a type code
//! (`0x08` for unsigned bytes) and the number of dimensions. One big-endian `u32` per
//! dimension follows, then the data in row-major order.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::vec::Vec;

use flate2::read::MultiGzDecoder;
use nalgebra::SVector;

use super::{DataError, Dataset, Position, one_hot};
use crate::float::Float;

/// The magic number of an IDX file of unsigned bytes in 3 dimensions (images).
pub(super) const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of unsigned bytes in 1 dimension (labels).
pub(super) const LABELS_MAGIC: u32 = 0x0000_0801;
/// The first two bytes of every gzip stream. IDX files start with two zero bytes, so the
/// two cannot be confused.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl<T: Float, const IN: usize, const OUT: usize> Dataset<T, IN, OUT> {
    /// Reads a classification set from an IDX images file and an IDX labels file, such as
    /// MNIST's `train-images-idx3-ubyte.gz` and `train-labels-idx1-ubyte.gz`.
    ///
    /// Each file may be gzip-compressed or plain, and gzip is recognised by its magic
    /// bytes, not by the file name. Pixels are scaled from `0..=255` to `[0, 1]`, and each image
    /// becomes one input vector in row-major order (index `row * width + column`), so
    /// `IN` must be the number of pixels per image. Labels must be below `OUT` and become
    /// one-hot targets.
    ///
    /// # Errors
    ///
    /// Those of [`read_idx_images`] and [`read_idx_labels`],
    /// [`DataError::CountMismatch`] when the files contain different numbers of items, and
    /// [`DataError::LabelOutOfRange`] for a label of `OUT` or more.
    pub fn read_idx(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Self, DataError> {
        let (images, labels_path) = (images.as_ref(), labels.as_ref());
        let labels = read_idx_labels(labels_path)?;
        let inputs = read_idx_images::<T, IN>(images)?;
        if inputs.len() != labels.len() {
            return Err(DataError::CountMismatch {
                images: images.to_path_buf(),
                image_count: inputs.len(),
                labels: labels_path.to_path_buf(),
                label_count: labels.len(),
            });
        }
        let mut targets = Vec::with_capacity(labels.len());
        for (index, &label) in labels.iter().enumerate() {
            let target = one_hot(label).ok_or_else(|| DataError::LabelOutOfRange {
                path: labels_path.to_path_buf(),
                position: Position::Record(index),
                label: label as i64,
                classes: OUT,
            })?;
            targets.push(target);
        }
        Ok(Self {
            inputs,
            targets,
            labels: Some(labels),
        })
    }
}

/// Reads an IDX images file (magic `0x00000803`: unsigned bytes, dimensions count × rows ×
/// columns), plain or gzip-compressed, with pixels scaled from `0..=255` to `[0, 1]`.
///
/// Each image becomes one vector in row-major order, so `N` must equal rows × columns.
///
/// # Errors
///
/// [`DataError::Io`] when the file cannot be read, [`DataError::Decompress`] for broken
/// gzip data, [`DataError::WrongMagic`], [`DataError::Truncated`] and
/// [`DataError::TrailingBytes`] when the bytes do not match the header,
/// [`DataError::ImageSize`] when an image does not have `N` pixels, and
/// [`DataError::Empty`] when the file contains no images.
pub fn read_idx_images<T: Float, const N: usize>(
    path: impl AsRef<Path>,
) -> Result<Vec<SVector<T, N>>, DataError> {
    let path = path.as_ref();
    let bytes = read_decompressed(path)?;
    let [count, rows, columns] = parse_header::<3>(&bytes, path, IMAGES_MAGIC)?;
    let pixels = &bytes[header_len(3)..];
    if N == 0 || rows.checked_mul(columns) != Some(N) {
        return Err(DataError::ImageSize {
            path: path.to_path_buf(),
            rows,
            columns,
            expected: N,
        });
    }
    if count == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }

    // Every pixel is one of 256 values, so a table replaces a division per pixel.
    let scale: [T; 256] = core::array::from_fn(|value| T::from_f64_lossy(value as f64 / 255.0));
    let images = pixels
        .chunks_exact(N)
        .map(|image| SVector::<T, N>::from_fn(|i, _| scale[usize::from(image[i])]))
        .collect();
    Ok(images)
}

/// Reads an IDX labels file (magic `0x00000801`: unsigned bytes, 1 dimension), plain or
/// gzip-compressed.
///
/// # Errors
///
/// [`DataError::Io`] when the file cannot be read, [`DataError::Decompress`] for broken
/// gzip data, [`DataError::WrongMagic`], [`DataError::Truncated`] and
/// [`DataError::TrailingBytes`] when the bytes do not match the header, and
/// [`DataError::Empty`] when the file contains no labels.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>, DataError> {
    let path = path.as_ref();
    let bytes = read_decompressed(path)?;
    let [count] = parse_header::<1>(&bytes, path, LABELS_MAGIC)?;
    if count == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes[header_len(1)..]
        .iter()
        .map(|&label| usize::from(label))
        .collect())
}

/// Reads a whole file and decompresses it if it starts with the gzip magic bytes.
fn read_decompressed(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut decompressed = Vec::new();
    MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut decompressed)
        .map_err(|source| DataError::Decompress {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(decompressed)
}

/// Returns the length in bytes of the header of an IDX file with `dims` dimensions.
const fn header_len(dims: usize) -> usize {
    4 + 4 * dims
}

/// Checks the magic number and that the file length matches the `D` dimensions the
/// header declares, and returns them.
fn parse_header<const D: usize>(
    bytes: &[u8],
    path: &Path,
    magic: u32,
) -> Result<[usize; D], DataError> {
    let header_len = header_len(D);
    let word = |i: usize| -> Option<u32> {
        let slice = bytes.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes([slice[0], slice[1], slice[2], slice[3]]))
    };
    let truncated = |expected: u64| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: bytes.len() as u64,
    };

    let found = word(0).ok_or_else(|| truncated(header_len as u64))?;
    if found != magic {
        return Err(DataError::WrongMagic {
            path: path.to_path_buf(),
            expected: magic,
            found,
        });
    }
    let mut dims = [0usize; D];
    let mut data_len = 1u64;
    for (i, dim) in dims.iter_mut().enumerate() {
        let value = word(1 + i).ok_or_else(|| truncated(header_len as u64))?;
        *dim = value as usize;
        // Saturating keeps the length check correct for absurd dimensions that would
        // overflow: no file can be that long.
        data_len = data_len.saturating_mul(u64::from(value));
    }
    let expected = data_len.saturating_add(header_len as u64);

    match (bytes.len() as u64).cmp(&expected) {
        core::cmp::Ordering::Less => Err(truncated(expected)),
        core::cmp::Ordering::Greater => Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            found: bytes.len() as u64,
        }),
        core::cmp::Ordering::Equal => Ok(dims),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let unique = std::format!("static-nn-idx-{}-{name}", std::process::id());
        let path = std::env::temp_dir().join(unique);
        fs::write(&path, bytes).expect("write temporary file");
        path
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("compress in memory");
        encoder.finish().expect("compress in memory")
    }

    #[test]
    fn gzip_and_plain_files_read_the_same() {
        let mut labels = LABELS_MAGIC.to_be_bytes().to_vec();
        labels.extend_from_slice(&3u32.to_be_bytes());
        labels.extend_from_slice(&[4, 0, 9]);
        let plain = temp_file("plain-labels", &labels);
        let compressed = temp_file("gzip-labels", &gzip(&labels));

        let from_plain = read_idx_labels(&plain);
        let from_gzip = read_idx_labels(&compressed);
        let _ = (fs::remove_file(&plain), fs::remove_file(&compressed));
        assert_eq!(from_plain.unwrap(), [4, 0, 9]);
        assert_eq!(from_gzip.unwrap(), [4, 0, 9]);
    }

    #[test]
    fn gzip_with_truncated_stream_is_an_error() {
        let mut labels = LABELS_MAGIC.to_be_bytes().to_vec();
        labels.extend_from_slice(&100u32.to_be_bytes());
        labels.extend_from_slice(&[1; 100]);
        let compressed = gzip(&labels);
        let path = temp_file("cut-labels", &compressed[..compressed.len() / 2]);
        let result = read_idx_labels(&path);
        let _ = fs::remove_file(&path);
        assert!(
            matches!(result, Err(DataError::Decompress { .. })),
            "{result:?}"
        );
    }
}
