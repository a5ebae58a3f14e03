//! Errors of data input.

use std::fmt;
use std::path::PathBuf;
use std::string::String;

/// Where in a file a bad value was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// A line of a text file, counting from 1 (the header is line 1).
    Line(u64),
    /// An item of an IDX file, counting from 0.
    Record(usize),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(line) => write!(f, "line {line}"),
            Position::Record(index) => write!(f, "record {index}"),
        }
    }
}

/// An error while reading or preparing a data set.
///
/// Every variant that comes from a file names the file and, where it applies, the line
/// (or IDX record) and the column, and its message says what was expected.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be opened or read (for example, it does not exist).
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A CSV file is malformed in a way the CSV parser reports, such as invalid UTF-8.
    Csv {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1, or 0 when the parser gave none.
        line: u64,
        /// The parser's description.
        message: String,
    },
    /// A file contains no samples: no data rows after the header, or an IDX count of 0.
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A CSV line has the wrong number of fields.
    ColumnCount {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1 (the header is line 1).
        line: u64,
        /// The number of fields the data set's type needs.
        expected: usize,
        /// The number of fields on the line.
        found: usize,
        /// What the expected columns are, such as "4 feature columns then a `label` column".
        layout: String,
    },
    /// A feature or target field is not a number.
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: u64,
        /// The column, counting from 1.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The field as written.
        value: String,
    },
    /// A feature or target field is NaN, infinite, or too large for the scalar type.
    NotFinite {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: u64,
        /// The column, counting from 1.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The field as written.
        value: String,
        /// The scalar type, `f32` or `f64`.
        scalar: &'static str,
    },
    /// A label field is not an integer.
    LabelNotInteger {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: u64,
        /// The column, counting from 1.
        column: usize,
        /// The field as written.
        value: String,
        /// The number of classes of the data set.
        classes: usize,
    },
    /// A label of a file is outside `0..classes`.
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// The CSV line or IDX record.
        position: Position,
        /// The label.
        label: i64,
        /// The number of classes of the data set.
        classes: usize,
    },
    /// An IDX file (after decompression) is shorter than its header declares.
    Truncated {
        /// The file.
        path: PathBuf,
        /// The number of bytes the header declares, header included.
        expected: u64,
        /// The number of bytes in the file.
        found: u64,
    },
    /// An IDX file (after decompression) is longer than its header declares.
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The number of bytes the header declares, header included.
        expected: u64,
        /// The number of bytes in the file.
        found: u64,
    },
    /// An IDX file starts with the wrong magic number.
    WrongMagic {
        /// The file.
        path: PathBuf,
        /// The magic number of the expected kind of file.
        expected: u32,
        /// The first four bytes of the file, big-endian.
        found: u32,
    },
    /// A gzip-compressed file could not be decompressed.
    Decompress {
        /// The file.
        path: PathBuf,
        /// The decompressor's error.
        source: std::io::Error,
    },
    /// An IDX images file and an IDX labels file hold different numbers of items.
    CountMismatch {
        /// The images file.
        images: PathBuf,
        /// The number of images.
        image_count: usize,
        /// The labels file.
        labels: PathBuf,
        /// The number of labels.
        label_count: usize,
    },
    /// The images of an IDX file have a different number of pixels than the data set's
    /// input size.
    ImageSize {
        /// The file.
        path: PathBuf,
        /// The image height in pixels.
        rows: usize,
        /// The image width in pixels.
        columns: usize,
        /// The input size of the data set's type.
        expected: usize,
    },
    /// In-memory inputs and targets (or labels) differ in number.
    LengthMismatch {
        /// The number of inputs.
        inputs: usize,
        /// The number of targets or labels.
        targets: usize,
    },
    /// An in-memory label is outside `0..classes`.
    InvalidLabel {
        /// The sample's index.
        index: usize,
        /// The label.
        label: usize,
        /// The number of classes of the data set.
        classes: usize,
    },
    /// A sample order or selection names a sample the data set does not have.
    IndexOutOfRange {
        /// The position in the order.
        position: usize,
        /// The sample index found there.
        index: usize,
        /// The number of samples.
        len: usize,
    },
    /// A train/validation split would leave one side empty, or its fraction is not in
    /// `(0, 1)`.
    InvalidSplit {
        /// The requested validation fraction.
        fraction: f64,
        /// The number of samples.
        len: usize,
    },
    /// An operation that needs class labels was called on a regression data set.
    NoLabels,
    /// A statistic needs at least one sample, but the data set is empty.
    NoSamples,
    /// A standard deviation given to a standardizer is not finite and positive.
    InvalidStandardDeviation {
        /// The feature, counting from 0.
        feature: usize,
        /// The value given.
        value: f64,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { path, source } => {
                write!(f, "failed to read `{}`: {source}", path.display())
            }
            DataError::Csv {
                path,
                line,
                message,
            } => write!(f, "{}, line {line}: invalid CSV: {message}", path.display()),
            DataError::Empty { path } => write!(
                f,
                "`{}` contains no samples; expected at least one data row after the header, or an IDX file with at least one item",
                path.display()
            ),
            DataError::ColumnCount {
                path,
                line,
                expected,
                found,
                layout,
            } => write!(
                f,
                "{}, line {line}: found {found} columns, expected {expected} ({layout})",
                path.display()
            ),
            DataError::NotANumber {
                path,
                line,
                column,
                name,
                value,
            } => write!(
                f,
                "{}, line {line}, column {column} (`{name}`): `{value}` is not a number",
                path.display()
            ),
            DataError::NotFinite {
                path,
                line,
                column,
                name,
                value,
                scalar,
            } => write!(
                f,
                "{}, line {line}, column {column} (`{name}`): `{value}` is NaN, infinite or out of range for {scalar}; expected a finite number",
                path.display()
            ),
            DataError::LabelNotInteger {
                path,
                line,
                column,
                value,
                classes,
            } => write!(
                f,
                "{}, line {line}, column {column}: label `{value}` is not an integer; expected a class index from 0 to {}",
                path.display(),
                classes.saturating_sub(1)
            ),
            DataError::LabelOutOfRange {
                path,
                position,
                label,
                classes,
            } => write!(
                f,
                "{}, {position}: label {label} is out of range; expected a class index from 0 to {} because the data set has {classes} classes",
                path.display(),
                classes.saturating_sub(1)
            ),
            DataError::Truncated {
                path,
                expected,
                found,
            } => write!(
                f,
                "`{}` is truncated: its IDX header declares {expected} bytes, but the file has {found}",
                path.display()
            ),
            DataError::TrailingBytes {
                path,
                expected,
                found,
            } => write!(
                f,
                "`{}` has {found} bytes, but its IDX header declares {expected}; the file is corrupt or not an IDX file",
                path.display()
            ),
            DataError::WrongMagic {
                path,
                expected,
                found,
            } => write!(
                f,
                "`{}` has IDX magic number 0x{found:08x}, expected 0x{expected:08x} ({}); check that the images and labels files are not swapped",
                path.display(),
                magic_meaning(*expected)
            ),
            DataError::Decompress { path, source } => write!(
                f,
                "`{}` starts like a gzip file but could not be decompressed: {source}",
                path.display()
            ),
            DataError::CountMismatch {
                images,
                image_count,
                labels,
                label_count,
            } => write!(
                f,
                "`{}` contains {image_count} images but `{}` contains {label_count} labels; expected one label per image",
                images.display(),
                labels.display()
            ),
            DataError::ImageSize {
                path,
                rows,
                columns,
                expected,
            } => write!(
                f,
                "`{}` contains {rows}x{columns} images ({pixels} pixels), but the data set's input size is {expected}; declare the input as [{pixels}]",
                path.display(),
                pixels = *rows as u128 * *columns as u128,
            ),
            DataError::LengthMismatch { inputs, targets } => write!(
                f,
                "got {inputs} inputs but {targets} targets or labels; expected one per input"
            ),
            DataError::InvalidLabel {
                index,
                label,
                classes,
            } => write!(
                f,
                "label {label} of sample {index} is out of range; expected a class index from 0 to {}",
                classes.saturating_sub(1)
            ),
            DataError::IndexOutOfRange {
                position,
                index,
                len,
            } => write!(
                f,
                "entry {position} of the sample order is {index}, but the data set has {len} samples"
            ),
            DataError::InvalidSplit { fraction, len } => write!(
                f,
                "cannot split {len} samples with validation fraction {fraction}; expected a fraction in (0, 1) that leaves at least one sample on each side"
            ),
            DataError::NoLabels => write!(
                f,
                "this operation needs class labels, but the data set has regression targets"
            ),
            DataError::NoSamples => write!(
                f,
                "the data set is empty; expected at least one sample to compute statistics from"
            ),
            DataError::InvalidStandardDeviation { feature, value } => write!(
                f,
                "standard deviation {value} of feature {feature} is invalid; expected a finite positive number"
            ),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } | DataError::Decompress { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Describes the kind of IDX file a magic number stands for.
fn magic_meaning(magic: u32) -> &'static str {
    match magic {
        super::idx::IMAGES_MAGIC => "unsigned bytes in 3 dimensions, an images file",
        super::idx::LABELS_MAGIC => "unsigned bytes in 1 dimension, a labels file",
        _ => "an IDX file",
    }
}
