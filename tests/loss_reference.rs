//! Loss values and gradients against reference numbers and finite differences.
//!
//! The numbers between the BEGIN and END GENERATED lines come from
//! `tests/reference/optim_loss_reference.py`, which writes each loss from its definition
//! in Python's double precision (PyTorch's `reduction="mean"`). The batch contains four
//! samples of three outputs: moderate values, logits of +-1000 with confidently wrong
//! targets, small values, and three equal logits. Every input is exact in `f32`, so the
//! `f32` checks feed the same numbers and only rounding separates them from the
//! reference.

use static_nn::core::SMatrix;
use static_nn::core::loss::{
    BinaryCrossEntropyWithLogits, ClassLoss, Huber, Loss, MeanSquaredError, SoftmaxCrossEntropy,
};
use static_nn::prelude::Float;

/// The largest error allowed against the reference, relative to `max(1, |reference|)`.
trait Tolerance: Float {
    const TOLERANCE: f64;
}

impl Tolerance for f64 {
    const TOLERANCE: f64 = 1e-12;
}

impl Tolerance for f32 {
    const TOLERANCE: f64 = 2e-6;
}

/// Builds a batch matrix from one inner array per sample.
fn batch<T: Float>(samples: &[[f64; 3]; 4]) -> SMatrix<T, 3, 4> {
    SMatrix::from_fn(|row, column| T::from_f64_lossy(samples[column][row]))
}

fn assert_close(context: &str, actual: f64, expected: f64, tolerance: f64) {
    let error = (actual - expected).abs() / expected.abs().max(1.0);
    assert!(
        error <= tolerance,
        "{context}: got {actual}, reference {expected}, error {error:e} > {tolerance:e}"
    );
}

/// Compares a loss value and gradient with the reference.
fn check<T: Tolerance>(
    name: &str,
    (loss, grad): (T, SMatrix<T, 3, 4>),
    expected_loss: f64,
    expected_grad: &[[f64; 3]; 4],
) {
    let context = format!("{name} loss in {}", T::NAME);
    assert_close(&context, loss.as_f64(), expected_loss, T::TOLERANCE);
    for (sample, expected) in expected_grad.iter().enumerate() {
        for (row, &value) in expected.iter().enumerate() {
            let context = format!("{name} gradient [{row}, {sample}] in {}", T::NAME);
            assert_close(&context, grad[(row, sample)].as_f64(), value, T::TOLERANCE);
        }
    }
}

/// Returns the largest error of `grad` against central finite differences of `loss`,
/// relative to `max(1, |derivative|)`.
fn finite_difference_error(
    loss: impl Fn(&SMatrix<f64, 3, 4>) -> f64,
    output: &SMatrix<f64, 3, 4>,
    grad: &SMatrix<f64, 3, 4>,
) -> f64 {
    let step = 1e-5;
    let mut worst = 0.0_f64;
    for index in 0..12 {
        let mut moved = *output;
        moved[index] = output[index] + step;
        let plus = loss(&moved);
        moved[index] = output[index] - step;
        let minus = loss(&moved);
        let numeric = (plus - minus) / (2.0 * step);
        let error = (numeric - grad[index]).abs() / numeric.abs().max(grad[index].abs()).max(1.0);
        worst = worst.max(error);
        assert!(!error.is_nan(), "NaN derivative at value {index}");
    }
    worst
}

#[test]
fn mean_squared_error_matches_reference() {
    let mse = MeanSquaredError;
    let (output, target) = (batch::<f64>(&OUTPUT), batch(&REGRESSION_TARGET));
    check(
        "MSE",
        mse.loss_and_grad(&output, &target),
        MSE_LOSS,
        &MSE_GRAD,
    );
    let (output, target) = (batch::<f32>(&OUTPUT), batch(&REGRESSION_TARGET));
    check(
        "MSE",
        mse.loss_and_grad(&output, &target),
        MSE_LOSS,
        &MSE_GRAD,
    );
}

#[test]
fn huber_matches_reference() {
    let huber = Huber::new(HUBER_DELTA).unwrap();
    let (output, target) = (batch::<f64>(&OUTPUT), batch(&REGRESSION_TARGET));
    check(
        "Huber",
        huber.loss_and_grad(&output, &target),
        HUBER_LOSS,
        &HUBER_GRAD,
    );
    let (output, target) = (batch::<f32>(&OUTPUT), batch(&REGRESSION_TARGET));
    check(
        "Huber",
        huber.loss_and_grad(&output, &target),
        HUBER_LOSS,
        &HUBER_GRAD,
    );
}

#[test]
fn binary_cross_entropy_matches_reference() {
    let bce = BinaryCrossEntropyWithLogits;
    let (output, target) = (batch::<f64>(&OUTPUT), batch(&BINARY_TARGET));
    check(
        "BCE",
        bce.loss_and_grad(&output, &target),
        BCE_LOSS,
        &BCE_GRAD,
    );
    let (output, target) = (batch::<f32>(&OUTPUT), batch(&BINARY_TARGET));
    check(
        "BCE",
        bce.loss_and_grad(&output, &target),
        BCE_LOSS,
        &BCE_GRAD,
    );
}

#[test]
fn softmax_cross_entropy_matches_reference() {
    let ce = SoftmaxCrossEntropy;
    let (output, target) = (batch::<f64>(&OUTPUT), batch(&SOFT_TARGET));
    check(
        "soft-target CE",
        ce.loss_and_grad(&output, &target),
        SOFT_CE_LOSS,
        &SOFT_CE_GRAD,
    );
    let (output, target) = (batch::<f32>(&OUTPUT), batch(&SOFT_TARGET));
    check(
        "soft-target CE",
        ce.loss_and_grad(&output, &target),
        SOFT_CE_LOSS,
        &SOFT_CE_GRAD,
    );
}

#[test]
fn label_cross_entropy_matches_reference() {
    let ce = SoftmaxCrossEntropy;
    let result = ce
        .loss_and_grad_labels(&batch::<f64>(&OUTPUT), &LABELS)
        .unwrap();
    check("label CE", result, LABEL_CE_LOSS, &LABEL_CE_GRAD);
    let result = ce
        .loss_and_grad_labels(&batch::<f32>(&OUTPUT), &LABELS)
        .unwrap();
    check("label CE", result, LABEL_CE_LOSS, &LABEL_CE_GRAD);
    let loss = ce.loss_labels(&batch::<f64>(&OUTPUT), &LABELS).unwrap();
    assert_close("label CE loss alone", loss, LABEL_CE_LOSS, f64::TOLERANCE);
}

#[test]
fn gradients_match_finite_differences() {
    let output = batch::<f64>(&OUTPUT);
    let huber = Huber::new(HUBER_DELTA).unwrap();
    let regression = batch(&REGRESSION_TARGET);
    let binary = batch(&BINARY_TARGET);
    let soft = batch(&SOFT_TARGET);

    let (_, grad) = MeanSquaredError.loss_and_grad(&output, &regression);
    let error = finite_difference_error(|o| MeanSquaredError.loss(o, &regression), &output, &grad);
    assert!(error < 1e-7, "MSE gradient error {error:e}");

    let (_, grad) = huber.loss_and_grad(&output, &regression);
    let error = finite_difference_error(|o| huber.loss(o, &regression), &output, &grad);
    assert!(error < 1e-7, "Huber gradient error {error:e}");

    let bce = BinaryCrossEntropyWithLogits;
    let (_, grad) = bce.loss_and_grad(&output, &binary);
    let error = finite_difference_error(|o| bce.loss(o, &binary), &output, &grad);
    assert!(error < 1e-7, "BCE gradient error {error:e}");

    let ce = SoftmaxCrossEntropy;
    let (_, grad) = ce.loss_and_grad(&output, &soft);
    let error = finite_difference_error(|o| ce.loss(o, &soft), &output, &grad);
    assert!(error < 1e-7, "soft-target CE gradient error {error:e}");

    let (_, grad) = ce.loss_and_grad_labels(&output, &LABELS).unwrap();
    let loss = |o: &SMatrix<f64, 3, 4>| ce.loss_labels(o, &LABELS).unwrap_or(f64::NAN);
    let error = finite_difference_error(loss, &output, &grad);
    assert!(error < 1e-7, "label CE gradient error {error:e}");
}

#[test]
fn label_out_of_range_names_sample() {
    let error = SoftmaxCrossEntropy
        .loss_and_grad_labels(&batch::<f32>(&OUTPUT), &[0, 1, 7, 2])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "label 7 of sample 2 is out of range: expected a class index below 3"
    );
}

// BEGIN GENERATED by tests/reference/optim_loss_reference.py; do not edit by hand.
/// The outputs (logits), one inner array per sample.
const OUTPUT: [[f64; 3]; 4] = [
    [0.5, -1.25, 2.0],
    [1000.0, -1000.0, 0.0],
    [-3.5, 0.0625, 0.75],
    [30.0, 30.0, 30.0],
];
/// Targets of MSE and Huber.
const REGRESSION_TARGET: [[f64; 3]; 4] = [
    [0.0, -1.0, 2.5],
    [999.0, -998.0, 0.5],
    [-3.0, 0.0, 1.5],
    [29.0, 31.0, 30.0],
];
/// Targets of the binary cross-entropy.
const BINARY_TARGET: [[f64; 3]; 4] = [
    [1.0, 0.0, 0.25],
    [0.0, 1.0, 0.5],
    [0.75, 1.0, 0.0],
    [1.0, 0.0, 0.5],
];
/// Target distributions of the softmax cross-entropy.
const SOFT_TARGET: [[f64; 3]; 4] = [
    [0.25, 0.25, 0.5],
    [0.0, 1.0, 0.0],
    [0.125, 0.75, 0.125],
    [1.0, 0.0, 0.0],
];
/// Class labels of the softmax cross-entropy.
const LABELS: [usize; 4] = [2, 1, 0, 1];
/// The Huber loss's delta.
const HUBER_DELTA: f64 = 1.5;
/// The mean MSE loss.
const MSE_LOSS: f64 = 0.7190755208333334;
/// The gradient of the MSE loss.
const MSE_GRAD: [[f64; 3]; 4] = [
    [
        0.08333333333333333,
        -0.041666666666666664,
        -0.08333333333333333,
    ],
    [
        0.16666666666666666,
        -0.3333333333333333,
        -0.08333333333333333,
    ],
    [-0.08333333333333333, 0.010416666666666666, -0.125],
    [0.16666666666666666, -0.16666666666666666, 0.0],
];
/// The mean HUBER loss.
const HUBER_LOSS: f64 = 0.34912109375;
/// The gradient of the HUBER loss.
const HUBER_GRAD: [[f64; 3]; 4] = [
    [
        0.041666666666666664,
        -0.020833333333333332,
        -0.041666666666666664,
    ],
    [0.08333333333333333, -0.125, -0.041666666666666664],
    [-0.041666666666666664, 0.005208333333333333, -0.0625],
    [0.08333333333333333, -0.08333333333333333, 0.0],
];
/// The mean BCE loss.
const BCE_LOSS: f64 = 171.04167400532285;
/// The gradient of the BCE loss.
const BCE_GRAD: [[f64; 3]; 4] = [
    [
        -0.03146172239984545,
        0.01855834490210907,
        0.052566423164823524,
    ],
    [0.08333333333333333, -0.08333333333333333, 0.0],
    [
        -0.060057314104053634,
        -0.04036500702308204,
        0.05659822493128275,
    ],
    [
        -7.790064889453182e-15,
        0.08333333333332554,
        0.04166666666665888,
    ],
];
/// The mean SOFT_CE loss.
const SOFT_CE_LOSS: f64 = 500.9956017822323;
/// The gradient of the SOFT_CE loss.
const SOFT_CE_GRAD: [[f64; 3]; 4] = [
    [
        -0.018294954473138926,
        -0.05481831491839089,
        0.07311326939152982,
    ],
    [0.25, -0.25, 0.0],
    [
        -0.02889941775639677,
        -0.10463911968621036,
        0.13353853744260716,
    ],
    [
        -0.16666666666666669,
        0.08333333333333333,
        0.08333333333333333,
    ],
];
/// The mean LABEL_CE loss.
const LABEL_CE_LOSS: f64 = 501.4995080322323;
/// The gradient of the LABEL_CE loss.
const LABEL_CE_GRAD: [[f64; 3]; 4] = [
    [
        0.044205045526861074,
        0.007681685081609108,
        -0.05188673060847018,
    ],
    [0.25, -0.25, 0.0],
    [
        -0.24764941775639676,
        0.08286088031378964,
        0.16478853744260716,
    ],
    [
        0.08333333333333333,
        -0.16666666666666669,
        0.08333333333333333,
    ],
];
// END GENERATED
