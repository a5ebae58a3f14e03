//! Data input: the real data sets under data/, every reader error on small files written
//! to a temporary folder, batches, splits and standardisation.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use static_nn::core::data::{DataError, Dataset, PartialBatch, Position, Standardizer, one_hot};
use static_nn::core::{Rng, SVector};

/// Returns the path of a file under the repository's data/ folder.
fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// A folder under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("static-nn-{test}-{}-{unique}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create temporary folder");
        Self(path)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Builds a plain IDX images file declaring `count` images of `rows x columns`.
fn idx_images(count: u32, rows: u32, columns: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = 0x0000_0803u32.to_be_bytes().to_vec();
    for dim in [count, rows, columns] {
        bytes.extend_from_slice(&dim.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

/// Builds a plain IDX labels file declaring `count` labels.
fn idx_labels(count: u32, labels: &[u8]) -> Vec<u8> {
    let mut bytes = 0x0000_0801u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(&count.to_be_bytes());
    bytes.extend_from_slice(labels);
    bytes
}

type Iris = Dataset<f32, 4, 3>;

// ---- real data sets ----

#[test]
fn iris_full_set_loads() {
    let iris = Iris::read_csv_classification(data_file("iris.csv")).unwrap();
    assert_eq!(iris.len(), 150);
    assert_eq!(iris.class_counts(), Some([50, 50, 50]));
    // The first row of the file is `5.1,3.5,1.4,0.2,0`.
    assert_eq!(iris.inputs()[0], SVector::<f32, 4>::new(5.1, 3.5, 1.4, 0.2));
    assert_eq!(iris.targets()[0], SVector::<f32, 3>::new(1.0, 0.0, 0.0));
    let labels = iris.labels().unwrap();
    assert_eq!(labels[0], 0);
    assert_eq!(labels[149], 2);
    assert_eq!(iris.targets()[149], SVector::<f32, 3>::new(0.0, 0.0, 1.0));
}

#[test]
fn iris_split_files_load() {
    let train = Iris::read_csv_classification(data_file("iris_train.csv")).unwrap();
    let test = Iris::read_csv_classification(data_file("iris_test.csv")).unwrap();
    assert_eq!(train.len(), 112);
    assert_eq!(test.len(), 38);
    assert_eq!(train.class_counts(), Some([38, 37, 37]));
    assert_eq!(test.class_counts(), Some([12, 13, 13]));
    // The first data row of iris_train.csv is `7.4,2.8,6.1,1.9,2`.
    assert_eq!(
        train.inputs()[0],
        SVector::<f32, 4>::new(7.4, 2.8, 6.1, 1.9)
    );
    assert_eq!(train.labels().unwrap()[0], 2);
}

#[test]
fn digits_split_files_load() {
    type Digits = Dataset<f64, 64, 10>;
    let train = Digits::read_csv_classification(data_file("digits_train.csv")).unwrap();
    let test = Digits::read_csv_classification(data_file("digits_test.csv")).unwrap();
    assert_eq!(train.len(), 1347);
    assert_eq!(test.len(), 450);
    assert_eq!(
        train.class_counts(),
        Some([133, 136, 133, 137, 136, 136, 136, 134, 131, 135])
    );
    assert_eq!(
        test.class_counts(),
        Some([45, 46, 44, 46, 45, 46, 45, 45, 43, 45])
    );
    for input in train.inputs().iter().chain(test.inputs()) {
        assert!(
            input
                .iter()
                .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
        );
    }
    // The first data row of digits_train.csv starts with `0,2,12,16,12`.
    assert_eq!(
        &train.inputs()[0].as_slice()[..5],
        &[0.0, 2.0, 12.0, 16.0, 12.0]
    );
}

#[test]
fn mnist_train_and_test_load() {
    type Mnist = Dataset<f32, 784, 10>;
    let mnist = |name: &str| data_file(&format!("mnist/{name}"));
    let train = Mnist::read_idx(
        mnist("train-images-idx3-ubyte.gz"),
        mnist("train-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let test = Mnist::read_idx(
        mnist("t10k-images-idx3-ubyte.gz"),
        mnist("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();

    assert_eq!(train.len(), 60_000);
    assert_eq!(test.len(), 10_000);
    assert_eq!(
        &train.labels().unwrap()[..10],
        &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    );
    assert_eq!(
        train.class_counts(),
        Some([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    );
    assert_eq!(
        test.class_counts(),
        Some([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    );
    assert_eq!(train.targets()[0], one_hot::<f32, 10>(5).unwrap());

    let mut sum = 0.0f64;
    for input in train.inputs() {
        assert!(input.iter().all(|&v| (0.0..=1.0).contains(&v)));
        sum += input.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    let mean = sum / (60_000.0 * 784.0);
    assert!((mean - 0.1307).abs() < 5e-4, "mean pixel {mean}");
    // Both 0 and 255 occur, so the scaling reaches both ends of [0, 1].
    assert!(train.inputs()[0].iter().any(|&v| v == 0.0));
    assert!(
        train
            .inputs()
            .iter()
            .any(|input| input.iter().any(|&v| v == 1.0))
    );
}

#[test]
fn real_file_of_other_shape_is_rejected() {
    let error = Dataset::<f32, 5, 3>::read_csv_classification(data_file("iris.csv")).unwrap_err();
    let DataError::ColumnCount {
        line,
        expected,
        found,
        ..
    } = error
    else {
        panic!("expected a column count error, got {error}");
    };
    assert_eq!((line, expected, found), (1, 6, 5));
}

// ---- CSV errors ----

#[test]
fn csv_missing_file() {
    let dir = TempDir::new("csv-missing");
    let path = dir.0.join("absent.csv");
    let error = Iris::read_csv_classification(&path).unwrap_err();
    let message = error.to_string();
    let DataError::Io {
        path: reported,
        source,
    } = error
    else {
        panic!("expected an I/O error, got {message}");
    };
    assert_eq!(reported, path);
    assert_eq!(source.kind(), ErrorKind::NotFound);
    assert!(message.contains("absent.csv"), "{message}");
}

#[test]
fn csv_wrong_column_count() {
    let dir = TempDir::new("csv-columns");
    let path = dir.write("bad.csv", "a,b,c,d,label\n1,2,3,4,0\n1,2,3,0\n");
    let error = Iris::read_csv_classification(&path).unwrap_err();
    let message = error.to_string();
    let DataError::ColumnCount {
        path: reported,
        line,
        expected,
        found,
        ..
    } = error
    else {
        panic!("expected a column count error, got {message}");
    };
    assert_eq!(reported, path);
    assert_eq!((line, expected, found), (3, 5, 4));
    assert!(message.contains("line 3"), "{message}");
    assert!(
        message.contains("4 feature columns then a label column"),
        "{message}"
    );
}

#[test]
fn csv_header_column_count() {
    let dir = TempDir::new("csv-header");
    let path = dir.write("bad.csv", "a,b,c,label\n1,2,3,4,0\n");
    let error = Iris::read_csv_classification(&path).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::ColumnCount {
                line: 1,
                expected: 5,
                found: 4,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn csv_non_numeric_field() {
    let dir = TempDir::new("csv-text");
    let path = dir.write("bad.csv", "a,b,c,d,label\n1,2,3,4,0\n1,two,3,4,1\n");
    let error = Iris::read_csv_classification(&path).unwrap_err();
    let message = error.to_string();
    let DataError::NotANumber {
        line,
        column,
        name,
        value,
        ..
    } = error
    else {
        panic!("expected a not-a-number error, got {message}");
    };
    assert_eq!((line, column), (3, 2));
    assert_eq!(name, "b");
    assert_eq!(value, "two");
    assert!(
        message.contains("bad.csv, line 3, column 2 (`b`)"),
        "{message}"
    );
}

#[test]
fn csv_empty_field_is_not_a_number() {
    let dir = TempDir::new("csv-blank");
    let path = dir.write("bad.csv", "a,b,c,d,label\n1,2,,4,0\n");
    let error = Iris::read_csv_classification(&path).unwrap_err();
    assert!(
        matches!(error, DataError::NotANumber { line: 2, column: 3, ref value, .. } if value.is_empty()),
        "{error}"
    );
}

#[test]
fn csv_nan_and_infinity() {
    let dir = TempDir::new("csv-nan");
    for (field, column) in [("NaN", 1), ("inf", 2), ("-infinity", 3), ("1e39", 4)] {
        let mut row = ["1"; 4];
        row[column - 1] = field;
        let text = format!("a,b,c,d,label\n{},0\n", row.join(","));
        let path = dir.write("bad.csv", text);
        let error = Iris::read_csv_classification(&path).unwrap_err();
        let message = error.to_string();
        let DataError::NotFinite {
            line,
            column: reported,
            value,
            scalar,
            ..
        } = error
        else {
            panic!("expected a not-finite error for `{field}`, got {message}");
        };
        assert_eq!((line, reported), (2, column), "{message}");
        assert_eq!(value, field);
        assert_eq!(scalar, "f32");
    }
}

#[test]
fn csv_large_value_fits_f64() {
    let dir = TempDir::new("csv-f64");
    let path = dir.write("big.csv", "a,b,c,d,label\n1e39,1,1,1,0\n");
    let data = Dataset::<f64, 4, 3>::read_csv_classification(&path).unwrap();
    assert_eq!(data.inputs()[0][0], 1e39);
}

#[test]
fn csv_empty_file_and_header_only() {
    let dir = TempDir::new("csv-empty");
    for (name, text) in [("empty.csv", ""), ("header.csv", "a,b,c,d,label\n")] {
        let path = dir.write(name, text);
        let error = Iris::read_csv_classification(&path).unwrap_err();
        let DataError::Empty { path: reported } = &error else {
            panic!("expected an empty-file error for {name}, got {error}");
        };
        assert_eq!(reported, &path);
    }
}

#[test]
fn csv_label_out_of_range() {
    let dir = TempDir::new("csv-label-range");
    for (label, value) in [("3", 3), ("-1", -1)] {
        let path = dir.write(
            "bad.csv",
            format!("a,b,c,d,label\n1,2,3,4,0\n1,2,3,4,{label}\n"),
        );
        let error = Iris::read_csv_classification(&path).unwrap_err();
        let message = error.to_string();
        let DataError::LabelOutOfRange {
            position,
            label: reported,
            classes,
            ..
        } = error
        else {
            panic!("expected a label range error for `{label}`, got {message}");
        };
        assert_eq!(position, Position::Line(3));
        assert_eq!(reported, value);
        assert_eq!(classes, 3);
        assert!(message.contains("from 0 to 2"), "{message}");
    }
}

#[test]
fn csv_label_not_an_integer() {
    let dir = TempDir::new("csv-label-text");
    for label in ["1.5", "setosa", ""] {
        let path = dir.write("bad.csv", format!("a,b,c,d,label\n1,2,3,4,{label}\n"));
        let error = Iris::read_csv_classification(&path).unwrap_err();
        let DataError::LabelNotInteger {
            line,
            column,
            value,
            ..
        } = &error
        else {
            panic!("expected a label error for `{label}`, got {error}");
        };
        assert_eq!((*line, *column), (2, 5));
        assert_eq!(value, label);
    }
}

#[test]
fn csv_label_written_as_decimal() {
    let dir = TempDir::new("csv-label-decimal");
    let path = dir.write("ok.csv", "a,b,c,d,label\n1,2,3,4,2.0\n 5 , 6,7,8, 1\n");
    let data = Iris::read_csv_classification(&path).unwrap();
    assert_eq!(data.labels(), Some(&[2, 1][..]));
    assert_eq!(data.inputs()[1], SVector::<f32, 4>::new(5.0, 6.0, 7.0, 8.0));
}

#[test]
fn csv_invalid_utf8() {
    let dir = TempDir::new("csv-utf8");
    let path = dir.write("bad.csv", b"a,b,c,d,label\n1,2,3,4,0\n1,\xff,3,4,0\n");
    let error = Iris::read_csv_classification(&path).unwrap_err();
    let DataError::Csv { line, message, .. } = &error else {
        panic!("expected a CSV error, got {error}");
    };
    assert_eq!(*line, 3);
    assert!(message.contains("field 2"), "{message}");
}

#[test]
fn csv_regression_reads_targets() {
    let dir = TempDir::new("csv-regression");
    let path = dir.write("ok.csv", "x1,x2,x3,y1,y2\n1,2,3,0.5,-0.5\n4,5,6,1.5,2.5\n");
    let data = Dataset::<f64, 3, 2>::read_csv_regression(&path).unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data.labels(), None);
    assert_eq!(data.inputs()[1], SVector::<f64, 3>::new(4.0, 5.0, 6.0));
    assert_eq!(data.targets()[0], SVector::<f64, 2>::new(0.5, -0.5));
    assert_eq!(data.targets()[1], SVector::<f64, 2>::new(1.5, 2.5));
}

#[test]
fn csv_regression_errors() {
    let dir = TempDir::new("csv-regression-errors");
    let path = dir.write("short.csv", "x1,x2,y\n1,2,3\n1,2\n");
    let error = Dataset::<f64, 2, 1>::read_csv_regression(&path).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::ColumnCount {
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("2 input columns then 1 target columns")
    );

    let path = dir.write("text.csv", "x1,x2,y\n1,2,high\n");
    let error = Dataset::<f64, 2, 1>::read_csv_regression(&path).unwrap_err();
    assert!(
        matches!(error, DataError::NotANumber { line: 2, column: 3, ref name, .. } if name == "y"),
        "{error}"
    );
}

#[test]
fn csv_from_reader() {
    let text = "a,b,c,d,label\n1,2,3,4,1\n";
    let data = Iris::parse_csv_classification(text.as_bytes(), "inline").unwrap();
    assert_eq!(data.labels(), Some(&[1][..]));
    let error = Iris::parse_csv_classification("a,b\n".as_bytes(), "inline").unwrap_err();
    assert!(error.to_string().starts_with("inline, line 1"), "{error}");
}

// ---- IDX ----

#[test]
fn idx_plain_files_load() {
    let dir = TempDir::new("idx-plain");
    let images = dir.write(
        "images",
        idx_images(2, 2, 3, &[0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 0]),
    );
    let labels = dir.write("labels", idx_labels(2, &[7, 2]));
    let data = Dataset::<f64, 6, 10>::read_idx(&images, &labels).unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data.labels(), Some(&[7, 2][..]));
    assert_eq!(
        data.inputs()[0],
        SVector::<f64, 6>::new(0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    );
    assert_eq!(data.inputs()[1][0], 1.0);
    assert_eq!(data.targets()[1], one_hot::<f64, 10>(2).unwrap());
}

#[test]
fn idx_missing_file() {
    let dir = TempDir::new("idx-missing");
    let labels = dir.write("labels", idx_labels(1, &[0]));
    let error = Dataset::<f32, 4, 10>::read_idx(dir.0.join("absent"), &labels).unwrap_err();
    assert!(
        matches!(&error, DataError::Io { source, .. } if source.kind() == ErrorKind::NotFound),
        "{error}"
    );
}

#[test]
fn idx_truncated_data() {
    let dir = TempDir::new("idx-truncated");
    let images = dir.write("images", idx_images(3, 2, 2, &[1; 10]));
    let labels = dir.write("labels", idx_labels(3, &[0, 1, 2]));
    let error = Dataset::<f32, 4, 10>::read_idx(&images, &labels).unwrap_err();
    let DataError::Truncated {
        path,
        expected,
        found,
    } = &error
    else {
        panic!("expected a truncation error, got {error}");
    };
    assert_eq!(path, &images);
    assert_eq!((*expected, *found), (16 + 12, 16 + 10));
}

#[test]
fn idx_truncated_header() {
    let dir = TempDir::new("idx-header");
    let labels = dir.write("labels", &idx_labels(1, &[0])[..6]);
    let images = dir.write("images", idx_images(1, 2, 2, &[0; 4]));
    let error = Dataset::<f32, 4, 10>::read_idx(&images, &labels).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::Truncated {
                expected: 8,
                found: 6,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn idx_trailing_bytes() {
    let dir = TempDir::new("idx-trailing");
    let labels = dir.write("labels", idx_labels(2, &[0, 1, 2]));
    let images = dir.write("images", idx_images(2, 2, 2, &[0; 8]));
    let error = Dataset::<f32, 4, 10>::read_idx(&images, &labels).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::TrailingBytes {
                expected: 10,
                found: 11,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn idx_swapped_files() {
    let dir = TempDir::new("idx-magic");
    let images = dir.write("images", idx_images(1, 2, 2, &[0; 4]));
    let labels = dir.write("labels", idx_labels(1, &[0]));
    let error = Dataset::<f32, 4, 10>::read_idx(&labels, &images).unwrap_err();
    let message = error.to_string();
    let DataError::WrongMagic {
        path,
        expected,
        found,
    } = error
    else {
        panic!("expected a magic number error, got {message}");
    };
    // Labels are read first, so the images file is the one reported.
    assert_eq!(path, images);
    assert_eq!((expected, found), (0x801, 0x803));
    assert!(message.contains("0x00000803"), "{message}");
    assert!(message.contains("swapped"), "{message}");
}

#[test]
fn idx_count_mismatch() {
    let dir = TempDir::new("idx-count");
    let images = dir.write("images", idx_images(3, 2, 2, &[0; 12]));
    let labels = dir.write("labels", idx_labels(2, &[0, 1]));
    let error = Dataset::<f32, 4, 10>::read_idx(&images, &labels).unwrap_err();
    let message = error.to_string();
    let DataError::CountMismatch {
        image_count,
        label_count,
        ..
    } = error
    else {
        panic!("expected a count mismatch, got {message}");
    };
    assert_eq!((image_count, label_count), (3, 2));
}

#[test]
fn idx_wrong_image_size() {
    let dir = TempDir::new("idx-size");
    let images = dir.write("images", idx_images(1, 2, 3, &[0; 6]));
    let labels = dir.write("labels", idx_labels(1, &[0]));
    let error = Dataset::<f32, 9, 10>::read_idx(&images, &labels).unwrap_err();
    let message = error.to_string();
    let DataError::ImageSize {
        rows,
        columns,
        expected,
        ..
    } = error
    else {
        panic!("expected an image size error, got {message}");
    };
    assert_eq!((rows, columns, expected), (2, 3, 9));
    assert!(message.contains("declare the input as [6]"), "{message}");
}

#[test]
fn idx_images_without_pixels() {
    let dir = TempDir::new("idx-no-pixels");
    let images = dir.write("images", idx_images(1, 0, 5, &[]));
    let labels = dir.write("labels", idx_labels(1, &[0]));
    let error = Dataset::<f32, 0, 10>::read_idx(&images, &labels).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::ImageSize {
                rows: 0,
                columns: 5,
                expected: 0,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn idx_label_out_of_range() {
    let dir = TempDir::new("idx-label");
    let images = dir.write("images", idx_images(3, 1, 1, &[0; 3]));
    let labels = dir.write("labels", idx_labels(3, &[1, 9, 4]));
    let error = Dataset::<f32, 1, 4>::read_idx(&images, &labels).unwrap_err();
    let message = error.to_string();
    let DataError::LabelOutOfRange {
        path,
        position,
        label,
        classes,
    } = error
    else {
        panic!("expected a label range error, got {message}");
    };
    assert_eq!(path, labels);
    assert_eq!(position, Position::Record(1));
    assert_eq!((label, classes), (9, 4));
    assert!(message.contains("record 1"), "{message}");
}

#[test]
fn idx_no_items() {
    let dir = TempDir::new("idx-empty");
    let images = dir.write("images", idx_images(0, 2, 2, &[]));
    let labels = dir.write("labels", idx_labels(0, &[]));
    let error = Dataset::<f32, 4, 10>::read_idx(&images, &labels).unwrap_err();
    assert!(
        matches!(&error, DataError::Empty { path } if path == &labels),
        "{error}"
    );
}

#[test]
fn idx_corrupt_gzip() {
    let dir = TempDir::new("idx-gzip");
    let images = dir.write("images.gz", [0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]);
    let labels = dir.write("labels", idx_labels(1, &[0]));
    let error = Dataset::<f32, 4, 10>::read_idx(&images, &labels).unwrap_err();
    assert!(
        matches!(&error, DataError::Decompress { path, .. } if path == &images),
        "{error}"
    );
}

// ---- in-memory data sets, batches, shuffling, splits ----

/// Builds a classification set whose sample `i` has inputs `[i, 10 i]` and label `i % 3`.
fn numbered(count: usize) -> Dataset<f64, 2, 3> {
    let inputs = (0..count)
        .map(|i| SVector::<f64, 2>::new(i as f64, 10.0 * i as f64))
        .collect();
    let labels = (0..count).map(|i| i % 3).collect();
    Dataset::from_labels(inputs, labels).unwrap()
}

#[test]
fn from_labels_checks_input() {
    let inputs = vec![SVector::<f32, 2>::zeros(); 3];
    let error = Dataset::<f32, 2, 3>::from_labels(inputs.clone(), vec![0, 1]).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::LengthMismatch {
                inputs: 3,
                targets: 2
            }
        ),
        "{error}"
    );
    let error = Dataset::<f32, 2, 3>::from_labels(inputs, vec![0, 3, 1]).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::InvalidLabel {
                index: 1,
                label: 3,
                classes: 3
            }
        ),
        "{error}"
    );
}

#[test]
fn one_hot_vectors() {
    assert_eq!(
        one_hot::<f32, 3>(1),
        Some(SVector::<f32, 3>::new(0.0, 1.0, 0.0))
    );
    assert_eq!(
        one_hot::<f32, 3>(0),
        Some(SVector::<f32, 3>::new(1.0, 0.0, 0.0))
    );
    assert_eq!(one_hot::<f32, 3>(3), None);
}

#[test]
fn batches_drop_partial() {
    let data = numbered(10);
    let order: Vec<usize> = (0..10).rev().collect();
    let batches = data.batches::<4>(&order, PartialBatch::Drop).unwrap();
    assert_eq!(batches.len(), 2);
    let batches: Vec<_> = batches.collect();
    assert_eq!(batches.len(), 2);
    for (b, batch) in batches.iter().enumerate() {
        assert_eq!(batch.len, 4);
        assert!(batch.is_full());
        for column in 0..4 {
            let index = order[4 * b + column];
            assert_eq!(batch.inputs.column(column), data.inputs()[index]);
            assert_eq!(batch.targets.column(column), data.targets()[index]);
            assert_eq!(batch.labels.unwrap()[column], index % 3);
        }
    }
}

#[test]
fn batches_pad_partial() {
    let data = numbered(10);
    let order = data.order();
    let batches: Vec<_> = data
        .batches::<4>(&order, PartialBatch::Pad)
        .unwrap()
        .collect();
    assert_eq!(batches.len(), 3);
    let last = &batches[2];
    assert_eq!(last.len, 2);
    assert!(!last.is_full());
    assert_eq!(last.real_labels(), Some(&[8 % 3, 9 % 3][..]));
    assert_eq!(last.inputs.column(1), data.inputs()[9]);
    for column in 2..4 {
        assert!(last.inputs.column(column).iter().all(|&v| v == 0.0));
        assert!(last.targets.column(column).iter().all(|&v| v == 0.0));
    }
}

#[test]
fn batches_next_into_reuses_buffer() {
    let data = numbered(5);
    let order = data.order();
    let mut batches = data.batches::<3>(&order, PartialBatch::Pad).unwrap();
    let mut batch = static_nn::core::data::Batch::zeros();
    assert!(batches.next_into(&mut batch));
    assert_eq!(batch.len, 3);
    assert!(batches.next_into(&mut batch));
    // The second batch overwrote the third column of the first with padding.
    assert_eq!(batch.len, 2);
    assert!(batch.inputs.column(2).iter().all(|&v| v == 0.0));
    assert!(!batches.next_into(&mut batch));
    assert_eq!(batch.len, 2);
}

#[test]
fn batches_reject_bad_order() {
    let data = numbered(4);
    let error = data
        .batches::<2>(&[0, 1, 4], PartialBatch::Drop)
        .unwrap_err();
    assert!(
        matches!(
            error,
            DataError::IndexOutOfRange {
                position: 2,
                index: 4,
                len: 4
            }
        ),
        "{error}"
    );
}

#[test]
fn regression_batches_have_no_labels() {
    let inputs = vec![SVector::<f32, 1>::new(1.0), SVector::<f32, 1>::new(2.0)];
    let targets = vec![SVector::<f32, 1>::new(3.0), SVector::<f32, 1>::new(4.0)];
    let data = Dataset::from_targets(inputs, targets).unwrap();
    let order = data.order();
    let batch = data
        .batches::<2>(&order, PartialBatch::Drop)
        .unwrap()
        .next()
        .unwrap();
    assert_eq!(batch.labels, None);
    assert_eq!(batch.real_labels(), None);
    assert_eq!(batch.targets[(0, 1)], 4.0);
}

#[test]
fn shuffled_order_is_seeded_permutation() {
    let data = numbered(50);
    let first = data.shuffled_order(&mut Rng::seed_from_u64(7));
    let again = data.shuffled_order(&mut Rng::seed_from_u64(7));
    let other = data.shuffled_order(&mut Rng::seed_from_u64(8));
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_ne!(first, data.order());
    let mut sorted = first.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, data.order());
}

#[test]
fn shuffle_keeps_samples_together() {
    let mut data = numbered(30);
    data.shuffle(&mut Rng::seed_from_u64(3));
    assert_ne!(data.inputs()[0][0], 0.0, "seed 3 should move sample 0");
    let labels = data.labels().unwrap();
    for i in 0..30 {
        let original = data.inputs()[i][0] as usize;
        assert_eq!(data.inputs()[i][1], 10.0 * original as f64);
        assert_eq!(labels[i], original % 3);
        assert_eq!(data.targets()[i], one_hot::<f64, 3>(original % 3).unwrap());
    }
}

#[test]
fn random_split_partitions_samples() {
    let data = numbered(20);
    let (train, validation) = data.split(0.25, &mut Rng::seed_from_u64(1)).unwrap();
    assert_eq!((train.len(), validation.len()), (15, 5));
    let ids = |d: &Dataset<f64, 2, 3>| -> Vec<usize> {
        d.inputs().iter().map(|x| x[0] as usize).collect()
    };
    let (train_ids, validation_ids) = (ids(&train), ids(&validation));
    assert!(
        train_ids.windows(2).all(|w| w[0] < w[1]),
        "train order {train_ids:?}"
    );
    assert!(validation_ids.windows(2).all(|w| w[0] < w[1]));
    let mut all = [train_ids, validation_ids.clone()].concat();
    all.sort_unstable();
    assert_eq!(all, (0..20).collect::<Vec<_>>());

    let (_, again) = data.split(0.25, &mut Rng::seed_from_u64(1)).unwrap();
    assert_eq!(ids(&again), validation_ids);
    let (_, other) = data.split(0.25, &mut Rng::seed_from_u64(2)).unwrap();
    assert_ne!(ids(&other), validation_ids);
}

#[test]
fn stratified_split_keeps_class_shares() {
    let iris = Iris::read_csv_classification(data_file("iris.csv")).unwrap();
    let (train, validation) = iris
        .split_stratified(0.2, &mut Rng::seed_from_u64(5))
        .unwrap();
    assert_eq!(train.class_counts(), Some([40, 40, 40]));
    assert_eq!(validation.class_counts(), Some([10, 10, 10]));
}

#[test]
fn split_rejects_bad_fractions() {
    let data = numbered(6);
    let mut rng = Rng::seed_from_u64(0);
    for fraction in [0.0, 1.0, -0.5, 1.5, f64::NAN, 0.01, 0.99] {
        let error = data.split(fraction, &mut rng).unwrap_err();
        assert!(
            matches!(error, DataError::InvalidSplit { len: 6, .. }),
            "{fraction}: {error}"
        );
        let error = data.split_stratified(fraction, &mut rng).unwrap_err();
        assert!(
            matches!(error, DataError::InvalidSplit { len: 6, .. }),
            "{fraction}: {error}"
        );
    }
}

#[test]
fn stratified_split_needs_labels() {
    let inputs = vec![SVector::<f32, 1>::new(1.0); 4];
    let data = Dataset::<f32, 1, 1>::from_targets(inputs.clone(), inputs).unwrap();
    let error = data
        .split_stratified(0.5, &mut Rng::seed_from_u64(0))
        .unwrap_err();
    assert!(matches!(error, DataError::NoLabels), "{error}");
}

// ---- standardisation ----

#[test]
fn standardizer_hand_computed() {
    // Feature 0: 1, 2, 3, 4 has mean 2.5 and population variance 1.25.
    // Feature 1 is constant, so its standard deviation is stored as 1.
    let inputs: Vec<_> = [1.0, 2.0, 3.0, 4.0]
        .iter()
        .map(|&v| SVector::<f64, 2>::new(v, 7.0))
        .collect();
    let scaler = Standardizer::fit(&inputs).unwrap();
    assert_eq!(scaler.mean(), &SVector::<f64, 2>::new(2.5, 7.0));
    assert!((scaler.std()[0] - 1.25f64.sqrt()).abs() < 1e-15);
    assert_eq!(scaler.std()[1], 1.0);
    let y = scaler.transform(&SVector::<f64, 2>::new(4.0, 7.0));
    assert!((y[0] - 1.5 / 1.25f64.sqrt()).abs() < 1e-15);
    assert_eq!(y[1], 0.0);
}

#[test]
fn standardizer_constant_feature_maps_to_zero() {
    // In f64, (0.1 + 0.1 + 0.1) / 3 is 0.10000000000000002, so the computed spread of this
    // constant feature is about 1e-17 instead of 0 and would blow rounding errors up to 1.
    let inputs = vec![SVector::<f64, 1>::new(0.1); 3];
    let scaler = Standardizer::fit(&inputs).unwrap();
    assert_eq!(scaler.std()[0], 1.0);
    let y = scaler.transform(&inputs[0]);
    assert!(y[0].abs() < 1e-12, "{y}");
}

#[test]
fn standardizer_fits_training_data_only() {
    let train = Iris::read_csv_classification(data_file("iris_train.csv")).unwrap();
    let mut test = Iris::read_csv_classification(data_file("iris_test.csv")).unwrap();
    let raw_test = test.clone();
    let mut scaled = train.clone();
    let scaler = Standardizer::fit(train.inputs()).unwrap();
    scaler.apply(&mut scaled);
    scaler.apply(&mut test);

    for feature in 0..4 {
        let values: Vec<f64> = scaled
            .inputs()
            .iter()
            .map(|x| f64::from(x[feature]))
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        assert!(mean.abs() < 1e-5, "feature {feature}: mean {mean}");
        assert!(
            (variance - 1.0).abs() < 1e-5,
            "feature {feature}: variance {variance}"
        );
    }
    // The test set uses the training statistics, not its own.
    let expected = (raw_test.inputs()[0] - scaler.mean()).component_div(scaler.std());
    assert_eq!(test.inputs()[0], expected);
    assert_eq!(test.labels(), raw_test.labels());
    let own = Standardizer::fit(raw_test.inputs()).unwrap();
    assert_ne!(own.mean(), scaler.mean());
}

#[test]
fn standardizer_errors() {
    let error = Standardizer::<f32, 3>::fit(&[]).unwrap_err();
    assert!(matches!(error, DataError::NoSamples), "{error}");
    let mean = SVector::<f32, 2>::zeros();
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let error = Standardizer::from_parts(mean, SVector::<f32, 2>::new(1.0, bad)).unwrap_err();
        assert!(
            matches!(
                error,
                DataError::InvalidStandardDeviation { feature: 1, .. }
            ),
            "{bad}: {error}"
        );
    }
    let scaler = Standardizer::from_parts(mean, SVector::<f32, 2>::new(2.0, 4.0)).unwrap();
    let y = scaler.transform(&SVector::<f32, 2>::new(1.0, 1.0));
    assert_eq!(y, SVector::<f32, 2>::new(0.5, 0.25));
}

mod standardize_layer {
    use static_nn::core::standardize::Standardize;
    use static_nn::prelude::*;

    use super::*;

    network! {
        struct IrisNet<f32> {
            input: [4],
            norm: Standardize<f32, 4> -> [4],
            out: Dense(3),
        }
    }

    #[test]
    fn to_layer_matches_transform() {
        let train = Iris::read_csv_classification(data_file("iris_train.csv")).unwrap();
        let scaler = Standardizer::fit(train.inputs()).unwrap();
        let layer = scaler.to_layer();
        for input in train.inputs() {
            assert_eq!(layer.forward(input), scaler.transform(input));
        }
    }

    #[test]
    fn standardize_as_first_network_layer() {
        let train = Iris::read_csv_classification(data_file("iris_train.csv")).unwrap();
        let scaler = Standardizer::fit(train.inputs()).unwrap();
        let mut net = IrisNet::new(1);
        // `new` leaves the layer at the identity.
        assert_eq!(net.norm.forward(&train.inputs()[0]), train.inputs()[0]);
        let reference = net.out.forward(&scaler.transform(&train.inputs()[0]));
        net.norm = scaler.to_layer();
        assert_eq!(net.forward(&train.inputs()[0]), reference);
        assert_eq!(<IrisNet as Tensors<f32>>::PARAMS, 4 * 3 + 3);
    }
}
