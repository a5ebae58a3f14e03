//! Forward values and derivatives of every activation, of softmax and of a small network
//! against reference numbers.
//!
//! The numbers between the BEGIN and END GENERATED lines come from
//! `tests/reference/make_reference.py`, which evaluates the mathematical definitions in
//! double precision with Python's `math` module, independently of this crate. CI does
//! not run Python; after changing the script, regenerate the block with
//! `python3 tests/reference/make_reference.py --update tests/reference_values.rs` and
//! format the file with `rustfmt --edition 2024`.
//!
//! Every check runs in `f32` and in `f64`, with the tolerance of the scalar type. The
//! inputs are exactly representable in `f32`, so both types see the same numbers.

use static_nn::core::bytemuck::Zeroable;
use static_nn::core::{Layer, NoGrads, Tensors};
use static_nn::prelude::*;

/// An accepted difference of `abs + rel * |reference|`.
#[derive(Clone, Copy, Debug)]
struct Tolerance {
    rel: f64,
    abs: f64,
}

/// A scalar type with the tolerance its results are held to.
trait Scalar: Float {
    /// `rel` allows a few units in the last place through a small network. `abs` covers
    /// values that are differences of nearly equal numbers. GELU computes
    /// `x * (1 + erf(x / sqrt(2))) / 2` as PyTorch does, which loses the relative
    /// accuracy of its small negative outputs (GELU(-5) is about -1.4e-6). The
    /// derivatives `y * (1 - y)` and `1 - y^2` lose it the same way near saturation.
    const TOLERANCE: Tolerance;
}

impl Scalar for f32 {
    const TOLERANCE: Tolerance = Tolerance {
        rel: 1e-5,
        abs: 1e-6,
    };
}

impl Scalar for f64 {
    const TOLERANCE: Tolerance = Tolerance {
        rel: 1e-12,
        abs: 1e-14,
    };
}

/// The number of inputs of each activation table.
const N: usize = ACTIVATION_INPUTS.len();

/// Asserts that `actual` is finite and within the tolerance of `T` of `expected`.
fn assert_close<T: Scalar>(what: &str, actual: T, expected: f64) {
    let actual = actual.as_f64();
    let Tolerance { rel, abs } = T::TOLERANCE;
    assert!(
        actual.is_finite(),
        "{what} in {}: {actual} is not finite",
        T::NAME
    );
    let bound = abs + rel * expected.abs();
    assert!(
        (actual - expected).abs() <= bound,
        "{what} in {}: got {actual:e}, reference {expected:e}, difference {:e} above {bound:e}",
        T::NAME,
        (actual - expected).abs()
    );
}

/// Compares an activation's forward pass with `values` and its backward pass (for an
/// output gradient of ones) with `derivatives`, at every table input.
fn check_activation<T, L>(name: &str, layer: &L, values: &[f64; N], derivatives: &[f64; N])
where
    T: Scalar,
    L: Layer<T, N, N>,
{
    let x = SVector::<T, N>::from_fn(|i, _| T::from_f64_lossy(ACTIVATION_INPUTS[i]));
    let y = layer.forward(&x);
    let (y_train, trace) = layer.forward_train(&x, &mut Rng::seed_from_u64(0));
    assert_eq!(y, y_train, "{name}: inference and training forward differ");
    let mut grads = <L::Grads as Zeroable>::zeroed();
    let slopes = layer.backward(&trace, &SVector::repeat(T::one()), &mut grads);

    for i in 0..N {
        let input = ACTIVATION_INPUTS[i];
        assert_close::<T>(&format!("{name}({input})"), y[i], values[i]);
        assert_close::<T>(&format!("{name}'({input})"), slopes[i], derivatives[i]);
    }
}

/// Runs [`check_activation`] in `f32` and `f64` for an activation without parameters.
fn check_both<L>(name: &str, layer: &L, values: &[f64; N], derivatives: &[f64; N])
where
    L: Layer<f32, N, N> + Layer<f64, N, N>,
{
    check_activation::<f32, L>(name, layer, values, derivatives);
    check_activation::<f64, L>(name, layer, values, derivatives);
}

#[test]
fn identity_values() {
    check_both(
        "Identity",
        &Identity,
        &IDENTITY_VALUES,
        &IDENTITY_DERIVATIVES,
    );
}

#[test]
fn relu_values() {
    check_both("Relu", &Relu, &RELU_VALUES, &RELU_DERIVATIVES);
}

#[test]
fn leaky_relu_values() {
    let tables = [&LEAKY_RELU_0_01_VALUES, &LEAKY_RELU_0_01_DERIVATIVES];
    check_activation::<f32, _>(
        "LeakyRelu(0.01)",
        &LeakyRelu::new(0.01f32),
        tables[0],
        tables[1],
    );
    check_activation::<f64, _>(
        "LeakyRelu(0.01)",
        &LeakyRelu::new(0.01f64),
        tables[0],
        tables[1],
    );
    let tables = [&LEAKY_RELU_0_2_VALUES, &LEAKY_RELU_0_2_DERIVATIVES];
    check_activation::<f32, _>(
        "LeakyRelu(0.2)",
        &LeakyRelu::new(0.2f32),
        tables[0],
        tables[1],
    );
    check_activation::<f64, _>(
        "LeakyRelu(0.2)",
        &LeakyRelu::new(0.2f64),
        tables[0],
        tables[1],
    );
}

#[test]
fn elu_values() {
    let tables = [&ELU_1_VALUES, &ELU_1_DERIVATIVES];
    check_activation::<f32, _>("Elu(1)", &Elu::new(1.0f32), tables[0], tables[1]);
    check_activation::<f64, _>("Elu(1)", &Elu::new(1.0f64), tables[0], tables[1]);
    let tables = [&ELU_0_5_VALUES, &ELU_0_5_DERIVATIVES];
    check_activation::<f32, _>("Elu(0.5)", &Elu::new(0.5f32), tables[0], tables[1]);
    check_activation::<f64, _>("Elu(0.5)", &Elu::new(0.5f64), tables[0], tables[1]);
}

#[test]
fn gelu_values() {
    check_both("Gelu", &Gelu, &GELU_VALUES, &GELU_DERIVATIVES);
}

#[test]
fn sigmoid_values() {
    check_both("Sigmoid", &Sigmoid, &SIGMOID_VALUES, &SIGMOID_DERIVATIVES);
}

#[test]
fn tanh_values() {
    check_both("Tanh", &Tanh, &TANH_VALUES, &TANH_DERIVATIVES);
}

/// Compares softmax over the reference samples (one per column) and its backward pass.
fn check_softmax<T: Scalar>() {
    const SAMPLES: usize = SOFTMAX_INPUTS.len();
    let x = SMatrix::<T, 4, SAMPLES>::from_fn(|row, column| {
        T::from_f64_lossy(SOFTMAX_INPUTS[column][row])
    });
    let (y, trace) = Layer::<T, 4, 4>::forward_train(&Softmax, &x, &mut Rng::seed_from_u64(0));
    assert_eq!(Layer::<T, 4, 4>::forward(&Softmax, &x), y);
    let grad_out =
        SMatrix::<T, 4, SAMPLES>::from_fn(|row, _| T::from_f64_lossy(SOFTMAX_GRAD_OUT[row]));
    let grad_in = Layer::<T, 4, 4>::backward(&Softmax, &trace, &grad_out, &mut NoGrads);

    for column in 0..SAMPLES {
        let logits = SOFTMAX_INPUTS[column];
        for row in 0..4 {
            let what = format!("softmax({logits:?})[{row}]");
            assert_close::<T>(&what, y[(row, column)], SOFTMAX_VALUES[column][row]);
            let what = format!("softmax backward at {logits:?}, [{row}]");
            assert_close::<T>(
                &what,
                grad_in[(row, column)],
                SOFTMAX_INPUT_GRADS[column][row],
            );
        }
        let total = y.column(column).iter().map(|p| p.as_f64()).sum::<f64>();
        assert_close::<T>(
            &format!("sum of softmax({logits:?})"),
            T::from_f64_lossy(total),
            1.0,
        );
    }
}

#[test]
fn softmax_values() {
    check_softmax::<f32>();
    check_softmax::<f64>();
}

#[test]
fn saturating_activations_finite_at_1000_in_f32() {
    let x = SVector::<f32, 2>::new(1000.0, -1000.0);
    let ones = SVector::<f32, 2>::repeat(1.0);

    let (y, trace) = Layer::<f32, 2, 2>::forward_train(&Sigmoid, &x, &mut Rng::seed_from_u64(0));
    assert_eq!(y, SVector::<f32, 2>::new(1.0, 0.0), "sigmoid at +-1000");
    let slope = Layer::<f32, 2, 2>::backward(&Sigmoid, &trace, &ones, &mut NoGrads);
    assert_eq!(slope, SVector::<f32, 2>::zeros(), "sigmoid' at +-1000");

    let (y, trace) = Layer::<f32, 2, 2>::forward_train(&Tanh, &x, &mut Rng::seed_from_u64(0));
    assert_eq!(y, SVector::<f32, 2>::new(1.0, -1.0), "tanh at +-1000");
    let slope = Layer::<f32, 2, 2>::backward(&Tanh, &trace, &ones, &mut NoGrads);
    assert_eq!(slope, SVector::<f32, 2>::zeros(), "tanh' at +-1000");

    // One sample per column: mixed +-1000, then three equal logits of -1000.
    let logits = SMatrix::<f32, 3, 2>::from_column_slice(&[
        1000.0, -1000.0, 1000.0, -1000.0, -1000.0, -1000.0,
    ]);
    let (y, trace) =
        Layer::<f32, 3, 3>::forward_train(&Softmax, &logits, &mut Rng::seed_from_u64(0));
    assert!(y.iter().all(|p| p.is_finite()), "softmax at +-1000: {y}");
    let third = 1.0 / 3.0;
    let expected = SMatrix::<f32, 3, 2>::from_column_slice(&[0.5, 0.0, 0.5, third, third, third]);
    assert_eq!(y, expected, "softmax at +-1000");
    let grad = SMatrix::<f32, 3, 2>::from_fn(|row, column| (row + 2 * column) as f32 - 2.0);
    let grad_in = Layer::<f32, 3, 3>::backward(&Softmax, &trace, &grad, &mut NoGrads);
    assert!(
        grad_in.iter().all(|g| g.is_finite()),
        "softmax backward at +-1000: {grad_in}"
    );
}

#[test]
fn elu_and_gelu_at_large_negative_inputs() {
    fn check<T: Scalar>() {
        let x = SVector::<T, 3>::new(
            T::from_f64_lossy(-1000.0),
            T::from_f64_lossy(-100.0),
            T::from_f64_lossy(-30.0),
        );
        let elu = Layer::<T, 3, 3>::forward(&Elu::new(T::from_f64_lossy(0.5)), &x);
        for value in elu.iter() {
            assert_close::<T>("Elu(0.5) far below 0", *value, -0.5);
        }
        let gelu = Layer::<T, 3, 3>::forward(&Gelu, &x);
        for value in gelu.iter() {
            assert!(
                !value.as_f64().is_nan(),
                "GELU far below 0 gave NaN in {}",
                T::NAME
            );
            // GELU(-30) = -30 * Phi(-30) is about -1.5e-196: zero in f32, a tiny negative
            // number in f64.
            assert!(
                value.as_f64() <= 0.0 && value.as_f64() > -1e-190,
                "GELU far below 0 gave {value:?} in {}",
                T::NAME
            );
        }
    }
    check::<f32>();
    check::<f64>();
}

#[test]
fn sigmoid_tail_keeps_relative_accuracy() {
    // sigmoid(-30) = 9.36e-14 is far below the absolute tolerance, so check it
    // relatively: the stable formula exponentiates only non-positive numbers.
    let expected = SIGMOID_VALUES[1];
    assert_eq!(ACTIVATION_INPUTS[1], -30.0);
    let y32 = Layer::<f32, 1, 1>::forward(&Sigmoid, &SVector::<f32, 1>::new(-30.0))[0];
    let y64 = Layer::<f64, 1, 1>::forward(&Sigmoid, &SVector::<f64, 1>::new(-30.0))[0];
    assert!(
        (f64::from(y32) / expected - 1.0).abs() < 1e-6,
        "sigmoid(-30) in f32 is {y32:e}"
    );
    assert!(
        (y64 / expected - 1.0).abs() < 1e-14,
        "sigmoid(-30) in f64 is {y64:e}"
    );
}

/// Asserts that a NaN input gives NaN while the other input of the batch stays finite.
fn assert_nan_stays<T: Scalar, L: Layer<T, 1, 1>>(name: &str, layer: &L) {
    let x = SMatrix::<T, 1, 2>::new(T::from_f64_lossy(f64::NAN), T::from_f64_lossy(0.5));
    let y = layer.forward(&x);
    assert!(
        y[0].as_f64().is_nan(),
        "{name} in {} turned NaN into {}",
        T::NAME,
        y[0]
    );
    assert!(
        y[1].is_finite(),
        "{name} in {}: NaN spread to another sample",
        T::NAME
    );
}

#[test]
fn nan_input_stays_nan() {
    fn check<T: Scalar>() {
        assert_nan_stays::<T, _>("Identity", &Identity);
        assert_nan_stays::<T, _>("Relu", &Relu);
        assert_nan_stays::<T, _>("LeakyRelu", &LeakyRelu::new(T::from_f64_lossy(0.01)));
        assert_nan_stays::<T, _>("Elu", &Elu::new(T::one()));
        assert_nan_stays::<T, _>("Gelu", &Gelu);
        assert_nan_stays::<T, _>("Sigmoid", &Sigmoid);
        assert_nan_stays::<T, _>("Tanh", &Tanh);
        assert_nan_stays::<T, _>("Softmax", &Softmax);

        // A NaN logit makes its whole sample NaN and leaves the other sample alone.
        let nan = T::from_f64_lossy(f64::NAN);
        let logits = SMatrix::<T, 3, 2>::from_fn(|row, column| {
            if (row, column) == (1, 0) {
                nan
            } else {
                T::from_f64_lossy(row as f64)
            }
        });
        let y = Layer::<T, 3, 3>::forward(&Softmax, &logits);
        assert!(
            y.column(0).iter().all(|p| p.as_f64().is_nan()),
            "softmax of a NaN sample: {y}"
        );
        assert!(
            y.column(1).iter().all(|p| p.is_finite()),
            "NaN spread to another sample: {y}"
        );
    }
    check::<f32>();
    check::<f64>();
}

// ---------------------------------------------------------------------------------------
// A small network with fixed weights.
// ---------------------------------------------------------------------------------------

network! {
    /// The reference network of `make_reference.py`.
    struct ReferenceNet<f64> {
        input: [3],
        hidden: Dense(4), Tanh,
        mid: Dense(4), Gelu,
        out: Dense(3), Softmax,
    }

    /// The same network in single precision.
    struct ReferenceNetF32<f32> {
        input: [3],
        hidden: Dense(4), Tanh,
        mid: Dense(4), Gelu,
        out: Dense(3), Softmax,
    }
}

/// Returns the rows of a matrix literal as slices.
fn rows<const C: usize>(matrix: &[[f64; C]]) -> Vec<&[f64]> {
    matrix.iter().map(|row| row.as_slice()).collect()
}

/// Returns the index of the tensor called `name`.
fn tensor_index<T, C: Tensors<T>>(name: &str) -> usize {
    (0..C::COUNT)
        .find(|&i| C::tensor_info(i).is_some_and(|info| info.name.as_str() == name))
        .unwrap_or_else(|| panic!("no tensor named `{name}`"))
}

/// Returns the position of element `[row][column]` of a tensor in its slice, from the
/// tensor's logical shape and memory order.
fn position<T, C: Tensors<T>>(index: usize, row: usize, column: usize) -> usize {
    let info = C::tensor_info(index).unwrap_or_else(|| panic!("tensor {index} has no info"));
    match *info.shape.dims() {
        [_] => row,
        [rows, _] if info.column_major => column * rows + row,
        [_, columns] => row * columns + column,
        _ => panic!("tensor `{}` has shape {}", info.name, info.shape),
    }
}

/// Writes `values` (`[out][in]` rows for a weight, one row for a bias) into the tensor
/// called `name`, as a weights loader would.
fn set_tensor<T: Float, C: Tensors<T>>(net: &mut C, name: &str, values: &[&[f64]]) {
    let index = tensor_index::<T, C>(name);
    let info = C::tensor_info(index).unwrap_or_else(|| panic!("no info for `{name}`"));
    let count: usize = values.iter().map(|row| row.len()).sum();
    assert_eq!(info.shape.len(), count, "`{name}` has shape {}", info.shape);
    for (row, row_values) in values.iter().enumerate() {
        for (column, &value) in row_values.iter().enumerate() {
            let (r, c) = if values.len() == 1 {
                (column, 0)
            } else {
                (row, column)
            };
            let at = position::<T, C>(index, r, c);
            let slice = net
                .tensor_mut(index)
                .unwrap_or_else(|| panic!("`{name}` not writable"));
            slice[at] = T::from_f64_lossy(value);
        }
    }
}

/// Compares the tensor called `name` with `expected` (`[out][in]` rows for a weight).
fn assert_tensor<T: Scalar, C: Tensors<T>>(grads: &C, name: &str, expected: &[&[f64]]) {
    let index = tensor_index::<T, C>(name);
    let slice = grads
        .tensor(index)
        .unwrap_or_else(|| panic!("`{name}` not readable"));
    for (row, row_values) in expected.iter().enumerate() {
        for (column, &value) in row_values.iter().enumerate() {
            let (r, c) = if expected.len() == 1 {
                (column, 0)
            } else {
                (row, column)
            };
            let at = position::<T, C>(index, r, c);
            assert_close::<T>(&format!("{name}[{row}][{column}]"), slice[at], value);
        }
    }
}

/// Compares forward and backward passes of a network with the reference weights.
fn check_network<T: Scalar, Net: Layer<T, 3, 3>>(net: &Net)
where
    Net::Grads: Tensors<T>,
{
    let x = SMatrix::<T, 3, 2>::from_fn(|row, column| T::from_f64_lossy(NET_INPUT[column][row]));
    let y = net.forward(&x);
    let (y_train, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(0));
    assert_eq!(y, y_train, "inference and training forward differ");
    let single = net.forward(&x.column(1).into_owned());
    assert_eq!(single, y.column(1), "one sample and the batch differ");

    let grad_out =
        SMatrix::<T, 3, 2>::from_fn(|row, column| T::from_f64_lossy(NET_GRAD_OUT[column][row]));
    let mut grads = <Net::Grads as Zeroable>::zeroed();
    let grad_in = net.backward(&trace, &grad_out, &mut grads);
    for column in 0..2 {
        for row in 0..3 {
            assert_close::<T>(
                &format!("output[{row}] of sample {column}"),
                y[(row, column)],
                NET_OUTPUT[column][row],
            );
            let what = format!("input gradient [{row}] of sample {column}");
            assert_close::<T>(&what, grad_in[(row, column)], NET_INPUT_GRAD[column][row]);
        }
    }

    assert_tensor::<T, _>(&grads, "hidden.weight", &rows(&NET_HIDDEN_WEIGHT_GRAD));
    assert_tensor::<T, _>(&grads, "hidden.bias", &[&NET_HIDDEN_BIAS_GRAD]);
    assert_tensor::<T, _>(&grads, "mid.weight", &rows(&NET_MID_WEIGHT_GRAD));
    assert_tensor::<T, _>(&grads, "mid.bias", &[&NET_MID_BIAS_GRAD]);
    assert_tensor::<T, _>(&grads, "out.weight", &rows(&NET_OUT_WEIGHT_GRAD));
    assert_tensor::<T, _>(&grads, "out.bias", &[&NET_OUT_BIAS_GRAD]);
}

#[test]
fn network_values_f64() {
    // `hidden` is set through the indexed tensor interface, as a weights loader does;
    // `mid` and `out` through the struct fields.
    let mut net = ReferenceNet::new(0);
    set_tensor::<f64, _>(&mut net, "hidden.weight", &rows(&NET_HIDDEN_WEIGHT));
    set_tensor::<f64, _>(&mut net, "hidden.bias", &[&NET_HIDDEN_BIAS]);
    assert_eq!(
        net.hidden.weight[(1, 2)],
        NET_HIDDEN_WEIGHT[1][2],
        "`hidden.weight` layout"
    );
    net.mid.weight = SMatrix::from_fn(|row, column| NET_MID_WEIGHT[row][column]);
    net.mid.bias = SVector::from_column_slice(&NET_MID_BIAS);
    net.out.weight = SMatrix::from_fn(|row, column| NET_OUT_WEIGHT[row][column]);
    net.out.bias = SVector::from_column_slice(&NET_OUT_BIAS);
    check_network::<f64, _>(&net);
}

#[test]
fn network_values_f32() {
    let mut net = ReferenceNetF32::new(0);
    let weights: [(&str, Vec<&[f64]>); 6] = [
        ("hidden.weight", rows(&NET_HIDDEN_WEIGHT)),
        ("hidden.bias", vec![&NET_HIDDEN_BIAS]),
        ("mid.weight", rows(&NET_MID_WEIGHT)),
        ("mid.bias", vec![&NET_MID_BIAS]),
        ("out.weight", rows(&NET_OUT_WEIGHT)),
        ("out.bias", vec![&NET_OUT_BIAS]),
    ];
    for (name, values) in &weights {
        set_tensor::<f32, _>(&mut net, name, values);
    }
    assert_eq!(
        net.out.weight[(2, 3)],
        NET_OUT_WEIGHT[2][3] as f32,
        "`out.weight` layout"
    );
    check_network::<f32, _>(&net);
}

// BEGIN GENERATED by tests/reference/make_reference.py; do not edit by hand.
/// Inputs of the activation tables.
const ACTIVATION_INPUTS: [f64; 15] = [
    -1000.0, -30.0, -5.0, -3.5, -1.25, -0.5, -0.0625, 0.0, 0.0625, 0.5, 1.25, 3.5, 5.0, 30.0,
    1000.0,
];
/// The activation at each input.
const IDENTITY_VALUES: [f64; 15] = [
    -1000.0, -30.0, -5.0, -3.5, -1.25, -0.5, -0.0625, 0.0, 0.0625, 0.5, 1.25, 3.5, 5.0, 30.0,
    1000.0,
];
/// The derivative at each input.
const IDENTITY_DERIVATIVES: [f64; 15] = [
    1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
];
/// The activation at each input.
const RELU_VALUES: [f64; 15] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0625, 0.5, 1.25, 3.5, 5.0, 30.0, 1000.0,
];
/// The derivative at each input.
const RELU_DERIVATIVES: [f64; 15] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
];
/// The activation at each input.
const LEAKY_RELU_0_01_VALUES: [f64; 15] = [
    -10.0, -0.3, -0.05, -0.035, -0.0125, -0.005, -0.000625, 0.0, 0.0625, 0.5, 1.25, 3.5, 5.0, 30.0,
    1000.0,
];
/// The derivative at each input.
const LEAKY_RELU_0_01_DERIVATIVES: [f64; 15] = [
    0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
];
/// The activation at each input.
const LEAKY_RELU_0_2_VALUES: [f64; 15] = [
    -200.0,
    -6.0,
    -1.0,
    -0.7000000000000001,
    -0.25,
    -0.1,
    -0.0125,
    0.0,
    0.0625,
    0.5,
    1.25,
    3.5,
    5.0,
    30.0,
    1000.0,
];
/// The derivative at each input.
const LEAKY_RELU_0_2_DERIVATIVES: [f64; 15] = [
    0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
];
/// The activation at each input.
const ELU_1_VALUES: [f64; 15] = [
    -1.0,
    -0.9999999999999064,
    -0.9932620530009145,
    -0.9698026165776815,
    -0.7134952031398099,
    -0.3934693402873666,
    -0.06058693718652421,
    0.0,
    0.0625,
    0.5,
    1.25,
    3.5,
    5.0,
    30.0,
    1000.0,
];
/// The derivative at each input.
const ELU_1_DERIVATIVES: [f64; 15] = [
    0.0,
    9.357622968840175e-14,
    0.006737946999085467,
    0.0301973834223185,
    0.2865047968601901,
    0.6065306597126334,
    0.9394130628134758,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
];
/// The activation at each input.
const ELU_0_5_VALUES: [f64; 15] = [
    -0.5,
    -0.4999999999999532,
    -0.49663102650045726,
    -0.48490130828884076,
    -0.3567476015699049,
    -0.1967346701436833,
    -0.030293468593262107,
    0.0,
    0.0625,
    0.5,
    1.25,
    3.5,
    5.0,
    30.0,
    1000.0,
];
/// The derivative at each input.
const ELU_0_5_DERIVATIVES: [f64; 15] = [
    0.0,
    4.6788114844200874e-14,
    0.0033689734995427335,
    0.01509869171115925,
    0.14325239843009505,
    0.3032653298563167,
    0.4697065314067379,
    0.5,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
];
/// The activation at each input.
const GELU_VALUES: [f64; 15] = [
    -0.0,
    -1.4720141781446293e-196,
    -1.4332578593959731e-06,
    -0.0008142017766243376,
    -0.1320622170835691,
    -0.15426876936299344,
    -0.02969264568567205,
    0.0,
    0.03280735431432795,
    0.34573123063700656,
    1.1179377829164308,
    3.4991857982233756,
    4.99999856674214,
    30.0,
    1000.0,
];
/// The derivative at each input.
const GELU_DERIVATIVES: [f64; 15] = [
    0.0,
    -4.416031690708494e-195,
    -7.146946001792295e-06,
    -0.0028217603536246356,
    -0.12266158306942211,
    0.13250487534383712,
    0.45019708992782237,
    0.5,
    0.5498029100721776,
    0.8674951246561629,
    1.122661583069422,
    1.0028217603536247,
    1.0000071469460017,
    1.0,
    1.0,
];
/// The activation at each input.
const SIGMOID_VALUES: [f64; 15] = [
    0.0,
    9.3576229688393e-14,
    0.006692850924284856,
    0.029312230751356316,
    0.22270013882530884,
    0.37754066879814546,
    0.48438008427698437,
    0.5,
    0.5156199157230156,
    0.6224593312018546,
    0.7772998611746911,
    0.9706877692486436,
    0.9933071490757153,
    0.9999999999999065,
    1.0,
];
/// The derivative at each input.
const SIGMOID_DERIVATIVES: [f64; 15] = [
    0.0,
    9.357622968838425e-14,
    0.006648056670790156,
    0.028453023879735556,
    0.17310478699249698,
    0.23500371220159452,
    0.24975601823280585,
    0.25,
    0.24975601823280585,
    0.23500371220159452,
    0.17310478699249698,
    0.028453023879735556,
    0.006648056670790156,
    9.357622968838425e-14,
    0.0,
];
/// The activation at each input.
const TANH_VALUES: [f64; 15] = [
    -1.0,
    -1.0,
    -0.9999092042625951,
    -0.9981778976111987,
    -0.8482836399575129,
    -0.46211715726000974,
    -0.062418746747512514,
    0.0,
    0.062418746747512514,
    0.46211715726000974,
    0.8482836399575129,
    0.9981778976111987,
    0.9999092042625951,
    1.0,
    1.0,
];
/// The derivative at each input.
const TANH_DERIVATIVES: [f64; 15] = [
    0.0,
    3.502604305078608e-26,
    0.00018158323094380667,
    0.003640884720487306,
    0.2804148661804327,
    0.7864477329659275,
    0.9961039000544699,
    1.0,
    0.9961039000544699,
    0.7864477329659275,
    0.2804148661804327,
    0.003640884720487306,
    0.00018158323094380667,
    3.502604305078608e-26,
    0.0,
];
/// Softmax logits, one sample each.
const SOFTMAX_INPUTS: [[f64; 4]; 5] = [
    [1.0, 2.0, 3.0, 4.0],
    [-0.5, 0.0, 0.25, 3.5],
    [1000.0, 1000.0, 1000.0, 1000.0],
    [-1000.0, -1000.0, -1000.0, -1000.0],
    [1000.0, -1000.0, 999.0, 0.0],
];
/// Softmax of each sample.
const SOFTMAX_VALUES: [[f64; 4]; 5] = [
    [
        0.03205860328008499,
        0.08714431874203257,
        0.23688281808991013,
        0.6439142598879724,
    ],
    [
        0.0168452625773312,
        0.027773142721774814,
        0.03566142115605502,
        0.9197201735448389,
    ],
    [0.25, 0.25, 0.25, 0.25],
    [0.25, 0.25, 0.25, 0.25],
    [0.7310585786300049, 0.0, 0.2689414213699951, 0.0],
];
/// The output gradient of the softmax backward table.
const SOFTMAX_GRAD_OUT: [f64; 4] = [0.5, -1.0, 0.25, 2.0];
/// Softmax input gradient of each sample.
const SOFTMAX_INPUT_GRADS: [[f64; 4]; 5] = [
    [
        -0.024875366919957682,
        -0.19833473598782106,
        -0.2430261861755286,
        0.46623628908330733,
    ],
    [
        -0.022387441408114526,
        -0.07857036492877348,
        -0.056309569121907495,
        0.15726737545879552,
    ],
    [0.015625, -0.359375, -0.046875, 0.390625],
    [0.015625, -0.359375, -0.046875, 0.390625],
    [0.049152983310370484, -0.0, -0.049152983310370456, 0.0],
];
/// A network parameter, `[out][in]` for weights.
const NET_HIDDEN_WEIGHT: [[f64; 3]; 4] = [
    [0.5, -0.3, 0.8],
    [-0.6, 0.2, 0.4],
    [0.1, 0.9, -0.7],
    [0.3, -0.5, -0.2],
];
/// A network parameter, `[out][in]` for weights.
const NET_HIDDEN_BIAS: [f64; 4] = [0.1, -0.2, 0.05, 0.3];
/// A network parameter, `[out][in]` for weights.
const NET_MID_WEIGHT: [[f64; 4]; 4] = [
    [0.7, -0.4, 0.2, 0.6],
    [-0.3, 0.8, -0.5, 0.1],
    [0.4, 0.3, 0.9, -0.6],
    [-0.2, -0.7, 0.3, 0.5],
];
/// A network parameter, `[out][in]` for weights.
const NET_MID_BIAS: [f64; 4] = [-0.1, 0.2, 0.0, 0.15];
/// A network parameter, `[out][in]` for weights.
const NET_OUT_WEIGHT: [[f64; 4]; 3] = [
    [0.6, -0.2, 0.4, -0.8],
    [-0.5, 0.7, 0.1, 0.3],
    [0.2, 0.4, -0.6, 0.9],
];
/// A network parameter, `[out][in]` for weights.
const NET_OUT_BIAS: [f64; 3] = [0.05, -0.05, 0.1];
/// The network input, one sample per row.
const NET_INPUT: [[f64; 3]; 2] = [[1.0, -2.0, 0.5], [-0.75, 0.25, 1.5]];
/// The output gradient, one sample per row.
const NET_GRAD_OUT: [[f64; 3]; 2] = [[1.0, -0.5, 0.25], [-1.5, 0.75, 2.0]];
/// The network output, one sample per row.
const NET_OUTPUT: [[f64; 3]; 2] = [
    [0.3088509486288222, 0.1484929054348002, 0.5426561459363777],
    [0.2641743202637998, 0.4152350273054546, 0.32059065243074564],
];
/// The input gradient, one sample per row.
const NET_INPUT_GRAD: [[f64; 3]; 2] = [
    [
        0.004132941854284785,
        -0.005748354240258248,
        0.03102993998104862,
    ],
    [
        -0.13977998121180224,
        -0.2027366565738361,
        0.08406180017330184,
    ],
];
/// A parameter gradient summed over the batch.
const NET_HIDDEN_WEIGHT_GRAD: [[f64; 3]; 4] = [
    [
        0.13508855148208399,
        -0.09373375867876697,
        -0.19712074068705948,
    ],
    [
        -0.08305558444237535,
        -7.147368997473258e-05,
        0.20774617164090048,
    ],
    [
        0.1775865526103136,
        -0.057441964067606384,
        -0.3578034354243745,
    ],
    [
        -0.08722784634787367,
        0.031191041735463866,
        0.17128305326648838,
    ],
];
/// A parameter gradient summed over the batch.
const NET_HIDDEN_BIAS_GRAD: [f64; 4] = [
    -0.11193213051747739,
    0.14960011516224025,
    -0.2392370450039156,
    0.1133426649965232,
];
/// A parameter gradient summed over the batch.
const NET_MID_WEIGHT_GRAD: [[f64; 4]; 4] = [
    [
        0.11475673511041633,
        -0.20401410626741767,
        -0.12272470277508526,
        0.19879367034040418,
    ],
    [
        0.19481215309698063,
        0.3113677877725039,
        -0.19211199257792422,
        -0.1811194887589092,
    ],
    [
        -0.19924348921190083,
        -0.18433566989982827,
        0.19979074303305164,
        0.07949116365186398,
    ],
    [
        -0.25008808053036113,
        0.15717817303705311,
        0.26036126707158247,
        -0.206594935685861,
    ],
];
/// A parameter gradient summed over the batch.
const NET_MID_BIAS_GRAD: [f64; 4] = [
    0.10328884641004923,
    0.3031701096849012,
    -0.28400080247229686,
    -0.28095828057226846,
];
/// A parameter gradient summed over the batch.
const NET_OUT_WEIGHT_GRAD: [[f64; 4]; 3] = [
    [
        0.259853519956215,
        -0.39615095097109565,
        -0.04562320507676703,
        0.18701139060735514,
    ],
    [
        -0.1451324552022468,
        0.06381445174408217,
        0.019763067687839326,
        -0.07729944358985744,
    ],
    [
        -0.1147210647539682,
        0.33233649922701336,
        0.025860137388927704,
        -0.10971194701749769,
    ],
];
/// A parameter gradient summed over the batch.
const NET_OUT_BIAS_GRAD: [f64; 3] = [
    -0.34874067070811837,
    -0.04881681833052022,
    0.3975574890386384,
];
// END GENERATED
