//! Classification metrics against values computed by hand.

use static_nn::core::metrics::{ConfusionMatrix, MetricsError, accuracy, argmax};
use static_nn::core::{SMatrix, SVector};

/// 9 samples of 3 classes. Counted by hand, rows are true classes and columns predictions:
///
/// ```text
/// true 0: 2 1 1   (support 4)
/// true 1: 0 2 0   (support 2)
/// true 2: 1 0 2   (support 3)
/// ```
///
/// Every column sums to 3, so each precision is 2/3, while the recalls are 2/4, 2/2 and
/// 2/3: a matrix read the wrong way round swaps them.
const ACTUAL: [usize; 9] = [0, 0, 0, 0, 1, 1, 2, 2, 2];
const PREDICTED: [usize; 9] = [0, 0, 1, 2, 1, 1, 0, 2, 2];

fn assert_close(actual: f64, expected: f64, quantity: &str) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "{quantity}: got {actual}, expected {expected}"
    );
}

#[test]
fn counts_rows_true_columns_predicted() {
    let matrix = ConfusionMatrix::<3>::from_classes(&ACTUAL, &PREDICTED).unwrap();
    assert_eq!(matrix.counts(), &[[2, 1, 1], [0, 2, 0], [1, 0, 2]]);
    assert_eq!(matrix.count(0, 2), 1);
    assert_eq!(matrix.count(2, 0), 1);
    assert_eq!(matrix.count(1, 0), 0);
    assert_eq!(matrix.count(3, 0), 0);
    assert_eq!(matrix.total(), 9);
    assert_eq!(matrix.correct(), 6);
    assert_eq!(
        [matrix.support(0), matrix.support(1), matrix.support(2)],
        [4, 2, 3]
    );
    assert_eq!(
        [
            matrix.predicted(0),
            matrix.predicted(1),
            matrix.predicted(2)
        ],
        [3, 3, 3]
    );
}

#[test]
fn per_class_precision_recall_f1() {
    let matrix = ConfusionMatrix::<3>::from_classes(&ACTUAL, &PREDICTED).unwrap();
    assert_close(matrix.accuracy(), 6.0 / 9.0, "accuracy");
    let expected = [
        // precision, recall, F1 = 2 p r / (p + r)
        (2.0 / 3.0, 0.5, 4.0 / 7.0),
        (2.0 / 3.0, 1.0, 0.8),
        (2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0),
    ];
    for (class, (precision, recall, f1)) in expected.into_iter().enumerate() {
        assert_close(
            matrix.precision(class),
            precision,
            &format!("precision {class}"),
        );
        assert_close(matrix.recall(class), recall, &format!("recall {class}"));
        assert_close(matrix.f1(class), f1, &format!("f1 {class}"));
    }
}

#[test]
fn macro_averages() {
    let matrix = ConfusionMatrix::<3>::from_classes(&ACTUAL, &PREDICTED).unwrap();
    assert_close(matrix.macro_precision(), 2.0 / 3.0, "macro precision");
    assert_close(
        matrix.macro_recall(),
        (0.5 + 1.0 + 2.0 / 3.0) / 3.0,
        "macro recall",
    );
    assert_close(
        matrix.macro_f1(),
        (4.0 / 7.0 + 0.8 + 2.0 / 3.0) / 3.0,
        "macro f1",
    );
}

#[test]
fn absent_class_is_zero_and_skipped() {
    // Class 3 has no samples and no predictions.
    let matrix = ConfusionMatrix::<4>::from_classes(&ACTUAL, &PREDICTED).unwrap();
    assert!(!matrix.occurs(3));
    assert_eq!(matrix.precision(3), 0.0);
    assert_eq!(matrix.recall(3), 0.0);
    assert_eq!(matrix.f1(3), 0.0);
    assert_close(
        matrix.macro_recall(),
        (0.5 + 1.0 + 2.0 / 3.0) / 3.0,
        "macro recall",
    );
    assert_close(
        matrix.macro_f1(),
        (4.0 / 7.0 + 0.8 + 2.0 / 3.0) / 3.0,
        "macro f1",
    );
}

#[test]
fn class_never_predicted() {
    // Class 1 has two samples, both predicted as 0.
    let matrix = ConfusionMatrix::<2>::from_classes(&[0, 1, 1], &[0, 0, 0]).unwrap();
    assert_eq!(matrix.precision(1), 0.0);
    assert_eq!(matrix.recall(1), 0.0);
    assert_eq!(matrix.f1(1), 0.0);
    assert_close(matrix.precision(0), 1.0 / 3.0, "precision 0");
    assert_close(matrix.recall(0), 1.0, "recall 0");
    assert_close(matrix.f1(0), 0.5, "f1 0");
    assert_close(matrix.macro_f1(), 0.25, "macro f1");
}

#[test]
fn class_predicted_without_samples() {
    // Class 1 is predicted once but has no samples; it still counts in the macro average.
    let matrix = ConfusionMatrix::<2>::from_classes(&[0, 0], &[0, 1]).unwrap();
    assert!(matrix.occurs(1));
    assert_eq!(matrix.precision(1), 0.0);
    assert_eq!(matrix.recall(1), 0.0);
    assert_close(matrix.precision(0), 1.0, "precision 0");
    assert_close(matrix.recall(0), 0.5, "recall 0");
    assert_close(matrix.macro_precision(), 0.5, "macro precision");
    assert_close(matrix.macro_recall(), 0.25, "macro recall");
}

#[test]
fn empty_matrix_is_zero() {
    let matrix = ConfusionMatrix::<3>::new();
    assert_eq!(matrix.total(), 0);
    assert_eq!(matrix.accuracy(), 0.0);
    assert_eq!(matrix.macro_precision(), 0.0);
    assert_eq!(matrix.macro_recall(), 0.0);
    assert_eq!(matrix.macro_f1(), 0.0);
}

#[test]
fn errors_count_nothing() {
    let mut matrix = ConfusionMatrix::<3>::new();
    let error = matrix.add_all(&[0, 1], &[0]).unwrap_err();
    assert_eq!(
        error,
        MetricsError::LengthMismatch {
            predicted: 1,
            actual: 2
        }
    );
    let error = matrix.add_all(&[0, 1, 2], &[0, 3, 1]).unwrap_err();
    assert_eq!(
        error,
        MetricsError::ClassOutOfRange {
            index: 1,
            class: 3,
            classes: 3
        }
    );
    assert!(
        error.to_string().contains("sample 1 has class 3"),
        "{error}"
    );
    assert_eq!(
        matrix.add(5, 0),
        Err(MetricsError::ClassOutOfRange {
            index: 0,
            class: 5,
            classes: 3
        })
    );
    assert_eq!(matrix.total(), 0);
    matrix.add(2, 1).unwrap();
    assert_eq!(matrix.count(2, 1), 1);
}

#[test]
fn add_outputs_skips_padding() {
    // Columns are samples; the fourth column is padding and must not be counted.
    let outputs = SMatrix::<f32, 3, 4>::from_columns(&[
        SVector::<f32, 3>::new(0.1, 2.0, -1.0),
        SVector::<f32, 3>::new(5.0, 5.0, 1.0),
        SVector::<f32, 3>::new(-3.0, -2.0, -1.0),
        SVector::<f32, 3>::new(9.0, 0.0, 0.0),
    ]);
    let mut matrix = ConfusionMatrix::<3>::new();
    matrix.add_outputs(&outputs, &[1, 1, 2]).unwrap();
    assert_eq!(matrix.total(), 3);
    assert_eq!(matrix.count(1, 1), 1);
    // A tie goes to the first index.
    assert_eq!(matrix.count(1, 0), 1);
    assert_eq!(matrix.count(2, 2), 1);

    let error = matrix.add_outputs(&outputs, &[0, 0, 0, 0, 0]).unwrap_err();
    assert_eq!(
        error,
        MetricsError::LengthMismatch {
            predicted: 4,
            actual: 5
        }
    );
    let error = matrix.add_outputs(&outputs, &[0, 7]).unwrap_err();
    assert_eq!(
        error,
        MetricsError::ClassOutOfRange {
            index: 1,
            class: 7,
            classes: 3
        }
    );
    assert_eq!(matrix.total(), 3);
}

#[test]
fn argmax_ties_and_nan() {
    assert_eq!(argmax(&SVector::<f64, 4>::new(1.0, 3.0, 3.0, 2.0)), 1);
    assert_eq!(argmax(&SVector::<f64, 3>::new(f64::NAN, -1.0, -2.0)), 1);
    assert_eq!(argmax(&SVector::<f64, 3>::new(0.5, f64::NAN, 0.7)), 2);
    assert_eq!(argmax(&SVector::<f64, 2>::new(f64::NAN, f64::NAN)), 0);
    assert_eq!(
        argmax(&SVector::<f32, 3>::new(f32::NEG_INFINITY, -1e30, -1e31)),
        1
    );
}

#[test]
fn merge_adds_counts() {
    let mut first = ConfusionMatrix::<3>::from_classes(&ACTUAL[..4], &PREDICTED[..4]).unwrap();
    let second = ConfusionMatrix::<3>::from_classes(&ACTUAL[4..], &PREDICTED[4..]).unwrap();
    first.merge(&second);
    assert_eq!(
        first,
        ConfusionMatrix::<3>::from_classes(&ACTUAL, &PREDICTED).unwrap()
    );
}

#[test]
fn accuracy_of_slices() {
    assert_close(
        accuracy(&[1, 2, 3], &[1, 2, 0]).unwrap(),
        2.0 / 3.0,
        "accuracy",
    );
    assert_eq!(accuracy(&[], &[]).unwrap(), 0.0);
    assert_eq!(
        accuracy(&[1], &[1, 2]),
        Err(MetricsError::LengthMismatch {
            predicted: 1,
            actual: 2
        })
    );
}

#[test]
fn display_confusion_matrix() {
    let mut matrix = ConfusionMatrix::<3>::from_classes(&ACTUAL, &PREDICTED).unwrap();
    let expected = "\
true \\ predicted 0 1 2
               0 2 1 1
               1 0 2 0
               2 1 0 2";
    assert_eq!(matrix.to_string(), expected);

    // Columns widen to the largest count.
    for _ in 0..10 {
        matrix.add(1, 1).unwrap();
    }
    let expected = "\
true \\ predicted  0  1  2
               0  2  1  1
               1  0 12  0
               2  1  0  2";
    assert_eq!(matrix.to_string(), expected);
}

#[test]
fn display_report() {
    let matrix = ConfusionMatrix::<3>::from_classes(&ACTUAL, &PREDICTED).unwrap();
    let report = matrix.report().to_string();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "class  precision  recall      f1  support");
    // Class 0: precision 2/3, recall 1/2, F1 4/7, support 4.
    assert_eq!(lines[1], "    0     0.6667  0.5000  0.5714        4");
    assert_eq!(lines[2], "    1     0.6667  1.0000  0.8000        2");
    assert_eq!(lines[4], "accuracy 0.6667 of 9 samples");
    assert_eq!(
        lines[5],
        "macro average: precision 0.6667, recall 0.7222, f1 0.6794"
    );
}
