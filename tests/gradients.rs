//! Finite-difference gradient checks of every built-in layer, of a user-defined layer and
//! of generated networks, for one sample and for batches.
//!
//! Every check runs in `f64` with central differences and the step
//! `<f64 as Float>::GRAD_CHECK_STEP` (1e-6), and requires an error below 1e-6 in
//! `GradCheck`'s measure `|a - n| / max(|a|, |n|, 1)`: relative for derivatives above 1,
//! absolute below.
//!
//! ReLU, leaky ReLU and ELU with `alpha != 1` have a kink at 0, where the derivative
//! jumps. If a moved input or parameter pushed a pre-activation across 0, the finite
//! difference would mix both slopes and disagree with the analytic derivative although
//! the backward pass is right. Inputs are therefore drawn with magnitudes of at least
//! 0.2, and the network tests assert that every pre-activation of such a layer is at
//! least `KINK_MARGIN` away from 0, far more than the step moves it.

use static_nn::core::bytemuck::Zeroable;
use static_nn::core::{
    GradCheck, GradCheckTarget, Layer, NoGrads, Shape, TensorInfo, TensorName, Tensors,
    gradient_check,
};
use static_nn::prelude::*;

/// The finite-difference step of every check.
const STEP: f64 = <f64 as Float>::GRAD_CHECK_STEP;

/// The largest accepted error of a correct backward pass.
const TOLERANCE: f64 = 1e-6;

/// The smallest accepted distance of a pre-activation from a kink at 0.
const KINK_MARGIN: f64 = 1e-3;

// ---------------------------------------------------------------------------------------
// A user-defined layer: per-feature scale and shift, `y = scale .* x + shift`.
// ---------------------------------------------------------------------------------------

/// A per-feature affine map with its own parameter tensors `scale` and `shift`.
#[derive(Clone, Debug, PartialEq)]
struct FeatureScale<const N: usize> {
    scale: SVector<f64, N>,
    shift: SVector<f64, N>,
}

/// The gradients of a [`FeatureScale`], shaped like its parameters.
#[derive(Clone, Debug, PartialEq)]
struct FeatureScaleGrads<const N: usize> {
    scale: SVector<f64, N>,
    shift: SVector<f64, N>,
}

// SAFETY: both types hold only `f64` vectors, for which all-zero bytes are 0.0.
unsafe impl<const N: usize> Zeroable for FeatureScale<N> {}
// SAFETY: as above.
unsafe impl<const N: usize> Zeroable for FeatureScaleGrads<N> {}

/// Returns the name and shape of tensor `i` of the layer and of its gradients: scale,
/// then shift.
fn feature_scale_info<const N: usize>(i: usize) -> Option<TensorInfo> {
    let name = match i {
        0 => "scale",
        1 => "shift",
        _ => return None,
    };
    Some(TensorInfo {
        name: TensorName::new(name),
        shape: Shape::vector(N),
        column_major: false,
    })
}

/// Implements `Tensors<f64>` for a type with `scale` and `shift` vector fields.
macro_rules! scale_shift_tensors {
    ($ty:ident) => {
        impl<const N: usize> Tensors<f64> for $ty<N> {
            const COUNT: usize = 2;
            const PARAMS: usize = 2 * N;

            fn tensor(&self, i: usize) -> Option<&[f64]> {
                match i {
                    0 => Some(self.scale.as_slice()),
                    1 => Some(self.shift.as_slice()),
                    _ => None,
                }
            }

            fn tensor_mut(&mut self, i: usize) -> Option<&mut [f64]> {
                match i {
                    0 => Some(self.scale.as_mut_slice()),
                    1 => Some(self.shift.as_mut_slice()),
                    _ => None,
                }
            }

            fn tensor_info(i: usize) -> Option<TensorInfo> {
                feature_scale_info::<N>(i)
            }
        }
    };
}

scale_shift_tensors!(FeatureScale);
scale_shift_tensors!(FeatureScaleGrads);

impl<const N: usize> Layer<f64, N, N> for FeatureScale<N> {
    type Trace<const B: usize> = SMatrix<f64, N, B>;
    type Grads = FeatureScaleGrads<N>;
    const KIND: &'static str = "FeatureScale";

    fn forward<const B: usize>(&self, x: &SMatrix<f64, N, B>) -> SMatrix<f64, N, B> {
        SMatrix::from_fn(|row, column| self.scale[row] * x[(row, column)] + self.shift[row])
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<f64, N, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<f64, N, B>, Self::Trace<B>) {
        (Layer::<f64, N, N>::forward(self, x), *x)
    }

    fn backward<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<f64, N, B>,
        grads: &mut Self::Grads,
    ) -> SMatrix<f64, N, B> {
        for row in 0..N {
            for column in 0..B {
                grads.scale[row] += grad_out[(row, column)] * trace[(row, column)];
                grads.shift[row] += grad_out[(row, column)];
            }
        }
        SMatrix::from_fn(|row, column| self.scale[row] * grad_out[(row, column)])
    }

    fn init(&mut self, rng: &mut Rng) {
        self.scale = SVector::from_fn(|_, _| rng.uniform(0.5, 1.5));
        self.shift = SVector::from_fn(|_, _| rng.uniform(-0.1, 0.1));
    }
}

/// A fault built into [`FaultyScale`]: the scale gradient misses the factor `x`.
const WRONG_GRADIENT: u8 = 0;
/// A fault built into [`FaultyScale`]: the first scale gradient is NaN.
const NAN_GRADIENT: u8 = 1;
/// A fault built into [`FaultyScale`]: the scale gradient tensor lists one value too few.
const SHORT_GRADIENT: u8 = 2;
/// A fault built into [`FaultyScale`]: the scale gradient tensor lists one value too many.
const LONG_GRADIENT: u8 = 3;

/// [`FeatureScale`] with the deliberate fault `FAULT`, which a gradient check must reject.
#[derive(Clone, Debug, PartialEq)]
struct FaultyScale<const N: usize, const FAULT: u8> {
    scale: SVector<f64, N>,
    shift: SVector<f64, N>,
}

/// The gradients of a [`FaultyScale`]. Column 0 contains the scale gradient and column 1
/// the shift gradient. With `LONG_GRADIENT` the scale tensor runs into the first shift
/// value.
#[derive(Clone, Debug, PartialEq)]
struct FaultyScaleGrads<const N: usize, const FAULT: u8> {
    values: SMatrix<f64, N, 2>,
}

// SAFETY: both types hold only `f64` matrices, for which all-zero bytes are 0.0.
unsafe impl<const N: usize, const FAULT: u8> Zeroable for FaultyScale<N, FAULT> {}
// SAFETY: as above.
unsafe impl<const N: usize, const FAULT: u8> Zeroable for FaultyScaleGrads<N, FAULT> {}

impl<const N: usize, const FAULT: u8> Tensors<f64> for FaultyScale<N, FAULT> {
    const COUNT: usize = 2;
    const PARAMS: usize = 2 * N;

    fn tensor(&self, i: usize) -> Option<&[f64]> {
        match i {
            0 => Some(self.scale.as_slice()),
            1 => Some(self.shift.as_slice()),
            _ => None,
        }
    }

    fn tensor_mut(&mut self, i: usize) -> Option<&mut [f64]> {
        match i {
            0 => Some(self.scale.as_mut_slice()),
            1 => Some(self.shift.as_mut_slice()),
            _ => None,
        }
    }

    fn tensor_info(i: usize) -> Option<TensorInfo> {
        feature_scale_info::<N>(i)
    }
}

impl<const N: usize, const FAULT: u8> FaultyScaleGrads<N, FAULT> {
    /// The length of the scale gradient tensor, wrong for the length faults.
    const SCALE_LEN: usize = match FAULT {
        SHORT_GRADIENT => N - 1,
        LONG_GRADIENT => N + 1,
        _ => N,
    };
}

impl<const N: usize, const FAULT: u8> Tensors<f64> for FaultyScaleGrads<N, FAULT> {
    const COUNT: usize = 2;
    const PARAMS: usize = 2 * N;

    fn tensor(&self, i: usize) -> Option<&[f64]> {
        match i {
            0 => Some(&self.values.as_slice()[..Self::SCALE_LEN]),
            1 => Some(&self.values.as_slice()[N..2 * N]),
            _ => None,
        }
    }

    fn tensor_mut(&mut self, i: usize) -> Option<&mut [f64]> {
        match i {
            0 => Some(&mut self.values.as_mut_slice()[..Self::SCALE_LEN]),
            1 => Some(&mut self.values.as_mut_slice()[N..2 * N]),
            _ => None,
        }
    }

    fn tensor_info(i: usize) -> Option<TensorInfo> {
        feature_scale_info::<N>(i)
    }
}

impl<const N: usize, const FAULT: u8> Layer<f64, N, N> for FaultyScale<N, FAULT> {
    type Trace<const B: usize> = SMatrix<f64, N, B>;
    type Grads = FaultyScaleGrads<N, FAULT>;
    const KIND: &'static str = "FaultyScale";

    fn forward<const B: usize>(&self, x: &SMatrix<f64, N, B>) -> SMatrix<f64, N, B> {
        SMatrix::from_fn(|row, column| self.scale[row] * x[(row, column)] + self.shift[row])
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<f64, N, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<f64, N, B>, Self::Trace<B>) {
        (Layer::<f64, N, N>::forward(self, x), *x)
    }

    fn backward<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<f64, N, B>,
        grads: &mut Self::Grads,
    ) -> SMatrix<f64, N, B> {
        for row in 0..N {
            for column in 0..B {
                let g = grad_out[(row, column)];
                // d(scale * x)/d(scale) is x, but `WRONG_GRADIENT` uses 1.
                let x = if FAULT == WRONG_GRADIENT {
                    1.0
                } else {
                    trace[(row, column)]
                };
                grads.values[(row, 0)] += g * x;
                grads.values[(row, 1)] += g;
            }
        }
        if FAULT == NAN_GRADIENT {
            grads.values[(0, 0)] = f64::NAN;
        }
        SMatrix::from_fn(|row, column| self.scale[row] * grad_out[(row, column)])
    }

    fn init(&mut self, rng: &mut Rng) {
        self.scale = SVector::from_fn(|_, _| rng.uniform(0.5, 1.5));
        self.shift = SVector::from_fn(|_, _| rng.uniform(-0.1, 0.1));
    }
}

// ---------------------------------------------------------------------------------------
// Networks.
// ---------------------------------------------------------------------------------------

network! {
    /// Every built-in layer kind in one stack, with three kinks (ReLU, leaky ReLU and
    /// ELU with alpha 0.5) right after dense layers.
    struct Mlp<f64> {
        input: [4],
        a: Dense(6), Relu,
        b: Dense(5), LeakyRelu(0.1),
        c: Dense(5), Elu(0.5), Identity,
        d: Dense(4), Gelu, Sigmoid,
        e: Dense(4), Tanh, Dropout(0.3),
        f: Dense(3), Softmax,
    }
}

network! {
    /// A backbone used as the first layer of `Classifier` and inside `Sandwich`.
    struct Encoder<f64> {
        input: [6],
        a: Dense(5), Tanh,
        b: Dense(4), Gelu,
    }

    /// A head on a nested backbone: the backbone is the first layer with parameters,
    /// so `accumulate_grads` skips its input gradient.
    struct Classifier<f64> {
        input: [6],
        backbone: Encoder,
        head: Dense(3), Softmax,
    }

    /// A nested backbone between two dense layers, so its input gradient is used.
    struct Sandwich<f64> {
        input: [3],
        pre: Dense(6), Sigmoid,
        backbone: Encoder,
        post: Dense(2),
    }

    /// A network that nests a network with a nested backbone.
    struct Stacked<f64> {
        input: [6],
        inner: Classifier,
        out: Dense(2), Tanh,
    }
}

network! {
    /// A user-defined layer between built-in ones.
    struct Scaled<f64> {
        input: [4],
        a: Dense(5), Tanh,
        scale: FeatureScale<5> -> [5],
        b: Dense(2),
    }

    /// The same network with a user-defined layer whose scale gradient is wrong.
    struct Misderived<f64> {
        input: [4],
        a: Dense(5), Tanh,
        scale: FaultyScale<5, WRONG_GRADIENT> -> [5],
        b: Dense(2),
    }
}

network! {
    /// A smooth single-precision network for the `f32` path of the generated check.
    struct SmoothF32<f32> {
        input: [4],
        a: Dense(5), Tanh,
        b: Dense(4), Gelu,
        c: Dense(3), Sigmoid,
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------

/// Returns inputs with magnitudes in `[0.2, 1.5]` and random signs, away from the kink
/// at 0.
fn inputs<const N: usize, const B: usize>(seed: u64) -> SMatrix<f64, N, B> {
    let mut rng = Rng::seed_from_u64(seed);
    SMatrix::from_fn(|_, _| {
        let magnitude = rng.uniform(0.2, 1.5);
        if rng.bernoulli(0.5) {
            -magnitude
        } else {
            magnitude
        }
    })
}

/// Sets every parameter to a uniform value in `[-0.8, 0.8]`, so that biases are not
/// zero and every parameter influences the output.
fn randomize<N: Tensors<f64>>(network: &mut N, seed: u64) {
    let mut rng = Rng::seed_from_u64(seed);
    for i in 0..N::COUNT {
        for value in network.tensor_mut(i).unwrap_or(&mut []) {
            *value = rng.uniform(-0.8, 0.8);
        }
    }
}

/// Asserts that a check passed and visited `expected` derivatives.
fn assert_passed(what: &str, report: &GradCheck, expected: usize) {
    assert_eq!(
        report.checked, expected,
        "{what}: checked {} derivatives, expected {expected} (parameters plus inputs)",
        report.checked
    );
    assert!(
        report.max_error < TOLERANCE,
        "{what}: error {:e} at {:?} (backward {}, finite difference {})",
        report.max_error,
        report.worst,
        report.analytic,
        report.numeric
    );
}

/// Checks a single layer with `static_nn::core::gradient_check` at batch size `B`.
fn check_layer<L, const IN: usize, const OUT: usize, const B: usize>(
    what: &str,
    layer: &mut L,
    seed: u64,
) where
    L: Layer<f64, IN, OUT>,
{
    let x = inputs::<IN, B>(seed);
    let report = gradient_check::<f64, L, IN, OUT, B>(layer, &x, STEP);
    let expected = <L as Tensors<f64>>::PARAMS + IN * B;
    assert_passed(&format!("{what} (B = {B})"), &report, expected);
}

/// Checks a single layer for one sample and for batches of 3 and 5.
fn check_layer_batches<L, const IN: usize, const OUT: usize>(what: &str, layer: &mut L)
where
    L: Layer<f64, IN, OUT>,
{
    check_layer::<L, IN, OUT, 1>(what, layer, 1);
    check_layer::<L, IN, OUT, 3>(what, layer, 2);
    check_layer::<L, IN, OUT, 5>(what, layer, 3);
}

/// Asserts that no value is within `KINK_MARGIN` of 0.
fn assert_away_from_kink<const N: usize, const B: usize>(what: &str, z: &SMatrix<f64, N, B>) {
    for (index, &value) in z.iter().enumerate() {
        assert!(
            value.abs() >= KINK_MARGIN,
            "{what}: pre-activation {index} is {value}, within {KINK_MARGIN} of the kink; \
             pick another input or seed"
        );
    }
}

/// Recomputes the pre-activations of `Mlp`'s three kinked activations and asserts that
/// they stay away from 0.
fn assert_mlp_away_from_kinks<const B: usize>(net: &Mlp, x: &SMatrix<f64, 4, B>) {
    let za = Layer::<f64, 4, 6>::forward(&net.a, x);
    assert_away_from_kink("a (ReLU)", &za);
    let zb = Layer::<f64, 6, 5>::forward(&net.b, &za.map(|v| v.max(0.0)));
    assert_away_from_kink("b (leaky ReLU)", &zb);
    let ha = zb.map(|v| if v < 0.0 { 0.1 * v } else { v });
    let zc = Layer::<f64, 5, 5>::forward(&net.c, &ha);
    assert_away_from_kink("c (ELU)", &zc);
}

/// Returns every value of every tensor, in tensor order.
fn flatten<G: Tensors<f64>>(grads: &G) -> Vec<f64> {
    (0..G::COUNT)
        .flat_map(|i| grads.tensor(i).unwrap_or(&[]).iter().copied())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Single built-in layers through `static_nn::core::gradient_check`.
// ---------------------------------------------------------------------------------------

#[test]
fn dense_layer() {
    let mut dense: Dense<f64, 4, 3> = Zeroable::zeroed();
    randomize(&mut dense, 10);
    check_layer_batches::<_, 4, 3>("Dense(4 -> 3)", &mut dense);
}

#[test]
fn dense_layer_wide() {
    let mut dense: Dense<f64, 7, 9> = Zeroable::zeroed();
    Layer::<f64, 7, 9>::init(&mut dense, &mut Rng::seed_from_u64(11));
    randomize(&mut dense, 12);
    check_layer_batches::<_, 7, 9>("Dense(7 -> 9)", &mut dense);
}

#[test]
fn identity_layer() {
    check_layer_batches::<_, 5, 5>("Identity", &mut Identity);
}

#[test]
fn relu_layer() {
    check_layer_batches::<_, 5, 5>("Relu", &mut Relu);
}

#[test]
fn leaky_relu_layer() {
    check_layer_batches::<_, 5, 5>("LeakyRelu(0.01)", &mut LeakyRelu::new(0.01));
    check_layer_batches::<_, 5, 5>("LeakyRelu(0.3)", &mut LeakyRelu::new(0.3));
}

#[test]
fn elu_layer() {
    check_layer_batches::<_, 5, 5>("Elu(1)", &mut Elu::new(1.0));
    check_layer_batches::<_, 5, 5>("Elu(0.5)", &mut Elu::new(0.5));
}

#[test]
fn gelu_layer() {
    check_layer_batches::<_, 5, 5>("Gelu", &mut Gelu);
}

#[test]
fn sigmoid_layer() {
    check_layer_batches::<_, 5, 5>("Sigmoid", &mut Sigmoid);
}

#[test]
fn tanh_layer() {
    check_layer_batches::<_, 5, 5>("Tanh", &mut Tanh);
}

#[test]
fn softmax_layer() {
    check_layer_batches::<_, 5, 5>("Softmax", &mut Softmax);
}

#[test]
fn dropout_layer() {
    // `gradient_check` reseeds the RNG with a fixed seed before every evaluation, so
    // each forward pass drops the same values as the one that recorded the trace.
    check_layer_batches::<_, 5, 5>("Dropout(0.5)", &mut Dropout::new(0.5));
    check_layer_batches::<_, 5, 5>("Dropout(0)", &mut Dropout::new(0.0));
}

#[test]
fn dropout_backward_uses_recorded_mask() {
    let dropout = Dropout::new(0.5f64);
    let x = inputs::<16, 4>(5);
    let (y, mask) = Layer::<f64, 16, 16>::forward_train(&dropout, &x, &mut Rng::seed_from_u64(6));
    let (y_again, _) =
        Layer::<f64, 16, 16>::forward_train(&dropout, &x, &mut Rng::seed_from_u64(6));
    assert_eq!(y, y_again, "the same seed must drop the same values");

    let dropped = mask.iter().filter(|&&m| m == 0.0).count();
    assert!(
        (8..=56).contains(&dropped),
        "{dropped} of 64 values dropped at rate 0.5"
    );
    assert!(mask.iter().all(|&m| m == 0.0 || m == 2.0), "mask {mask}");

    let grad_out = inputs::<16, 4>(7);
    let grad_in = Layer::<f64, 16, 16>::backward(&dropout, &mask, &grad_out, &mut NoGrads);
    for index in 0..64 {
        assert_eq!(y[index], x[index] * mask[index]);
        assert_eq!(grad_in[index], grad_out[index] * mask[index]);
    }
}

// ---------------------------------------------------------------------------------------
// A user-defined layer, on its own and inside a network.
// ---------------------------------------------------------------------------------------

#[test]
fn custom_layer() {
    let mut layer: FeatureScale<5> = Zeroable::zeroed();
    Layer::<f64, 5, 5>::init(&mut layer, &mut Rng::seed_from_u64(3));
    check_layer_batches::<_, 5, 5>("FeatureScale", &mut layer);
}

#[test]
fn custom_layer_network() {
    let mut net = Scaled::new(4);
    randomize(&mut net, 5);
    let expected = |batch| Scaled::PARAMS + Scaled::INPUT * batch;
    assert_eq!(Scaled::PARAMS, 4 * 5 + 5 + 2 * 5 + 5 * 2 + 2);

    let report = net.gradient_check(&inputs::<4, 1>(1));
    assert_passed("Scaled, one sample", &report, expected(1));
    let report = net.gradient_check_batch(&inputs::<4, 3>(2));
    assert_passed("Scaled, B = 3", &report, expected(3));
    let report = net.gradient_check_batch(&inputs::<4, 5>(3));
    assert_passed("Scaled, B = 5", &report, expected(5));
}

/// Runs `gradient_check` on a `FaultyScale` with fault `FAULT` for a batch of 3.
fn check_faulty<const FAULT: u8>() -> GradCheck {
    let mut layer: FaultyScale<5, FAULT> = Zeroable::zeroed();
    Layer::<f64, 5, 5>::init(&mut layer, &mut Rng::seed_from_u64(3));
    gradient_check::<f64, _, 5, 5, 3>(&mut layer, &inputs::<5, 3>(4), STEP)
}

/// Asserts that the worst derivative of `report` is value `index` of tensor `name`.
fn assert_worst_param(report: &GradCheck, name: &str, index: usize) {
    let Some(GradCheckTarget::Param {
        name: worst,
        index: worst_index,
    }) = report.worst
    else {
        panic!("the worst derivative should be a parameter: {report:?}");
    };
    assert_eq!(worst.as_str(), name, "{report:?}");
    assert_eq!(worst_index, index, "{report:?}");
}

#[test]
fn wrong_custom_backward_fails() {
    let report = check_faulty::<WRONG_GRADIENT>();
    assert_eq!(report.checked, 2 * 5 + 5 * 3);
    assert!(
        report.max_error > 0.1,
        "a wrong scale gradient passed: {report:?}"
    );
    let Some(GradCheckTarget::Param { name, .. }) = report.worst else {
        panic!("the worst derivative should be a parameter: {report:?}");
    };
    assert_eq!(name.as_str(), "scale");
}

#[test]
fn nan_custom_gradient_fails() {
    let report = check_faulty::<NAN_GRADIENT>();
    assert_eq!(report.checked, 2 * 5 + 5 * 3);
    assert!(
        report.max_error.is_nan(),
        "a NaN gradient passed: {report:?}"
    );
    assert_worst_param(&report, "scale", 0);
}

#[test]
fn short_custom_gradient_fails() {
    // The gradient lists 4 scale values for 5 parameters: the fifth is an error.
    let report = check_faulty::<SHORT_GRADIENT>();
    assert_eq!(report.checked, 2 * 5 + 5 * 3);
    assert!(
        report.max_error.is_nan(),
        "a short gradient passed: {report:?}"
    );
    assert_worst_param(&report, "scale", 4);
}

#[test]
fn long_custom_gradient_fails() {
    // The gradient lists 6 scale values for 5 parameters: the sixth is an error.
    let report = check_faulty::<LONG_GRADIENT>();
    assert_eq!(report.checked, 2 * 5 + 1 + 5 * 3);
    assert!(
        report.max_error.is_nan(),
        "a long gradient passed: {report:?}"
    );
    assert_worst_param(&report, "scale", 5);
}

#[test]
fn wrong_custom_backward_fails_in_network() {
    let mut net = Misderived::new(4);
    randomize(&mut net, 5);
    let report = net.gradient_check_batch(&inputs::<4, 3>(2));
    assert_eq!(report.checked, Misderived::PARAMS + Misderived::INPUT * 3);
    assert!(
        report.max_error > 0.1,
        "a wrong scale gradient passed: {report:?}"
    );
    let Some(GradCheckTarget::Param { name, .. }) = report.worst else {
        panic!("the worst derivative should be a parameter: {report:?}");
    };
    assert_eq!(name.as_str(), "scale.scale");
}

// ---------------------------------------------------------------------------------------
// Whole networks through the generated `gradient_check` and `gradient_check_batch`.
// ---------------------------------------------------------------------------------------

#[test]
fn every_layer_network_one_sample() {
    let mut net = Mlp::new(1);
    randomize(&mut net, 2);
    let x = inputs::<4, 1>(3);
    assert_mlp_away_from_kinks(&net, &x);
    let report = net.gradient_check(&x);
    assert_passed("Mlp, one sample", &report, Mlp::PARAMS + Mlp::INPUT);
}

#[test]
fn every_layer_network_batches() {
    let mut net = Mlp::new(1);
    randomize(&mut net, 2);

    let x = inputs::<4, 3>(4);
    assert_mlp_away_from_kinks(&net, &x);
    let report = net.gradient_check_batch(&x);
    assert_passed("Mlp, B = 3", &report, Mlp::PARAMS + Mlp::INPUT * 3);

    let x = inputs::<4, 5>(5);
    assert_mlp_away_from_kinks(&net, &x);
    let report = net.gradient_check_batch(&x);
    assert_passed("Mlp, B = 5", &report, Mlp::PARAMS + Mlp::INPUT * 5);
}

#[test]
fn nested_backbone_networks() {
    let mut classifier = Classifier::new(1);
    randomize(&mut classifier, 2);
    let report = classifier.gradient_check(&inputs::<6, 1>(3));
    assert_passed("Classifier, one sample", &report, Classifier::PARAMS + 6);
    let report = classifier.gradient_check_batch(&inputs::<6, 5>(4));
    assert_passed("Classifier, B = 5", &report, Classifier::PARAMS + 6 * 5);

    let mut sandwich = Sandwich::new(5);
    randomize(&mut sandwich, 6);
    let report = sandwich.gradient_check(&inputs::<3, 1>(7));
    assert_passed("Sandwich, one sample", &report, Sandwich::PARAMS + 3);
    let report = sandwich.gradient_check_batch(&inputs::<3, 3>(8));
    assert_passed("Sandwich, B = 3", &report, Sandwich::PARAMS + 3 * 3);

    let mut stacked = Stacked::new(9);
    randomize(&mut stacked, 10);
    assert_eq!(Stacked::PARAMS, Classifier::PARAMS + 3 * 2 + 2);
    let report = stacked.gradient_check_batch(&inputs::<6, 3>(11));
    assert_passed("Stacked, B = 3", &report, Stacked::PARAMS + 6 * 3);
}

#[test]
fn f32_network_within_f32_rounding() {
    // In f32 the step is 1e-2 and rounding limits the agreement, so the bound is looser.
    let mut net = SmoothF32::new(1);
    let x = inputs::<4, 3>(2).map(|v| v as f32);
    let report = net.gradient_check_batch(&x);
    assert_eq!(report.checked, SmoothF32::PARAMS + 4 * 3);
    assert!(report.max_error < 1e-3, "SmoothF32: {report:?}");
}

#[test]
fn accumulate_grads_matches_backward() {
    // `gradient_check` runs `backward`; the generated `accumulate_grads` is a separate
    // code path that skips the input gradient and must give the same parameter gradients.
    fn compare<const B: usize>(what: &str, backward: Vec<f64>, accumulated: Vec<f64>) {
        assert_eq!(backward.len(), accumulated.len(), "{what} (B = {B})");
        assert!(
            backward.iter().any(|&g| g != 0.0),
            "{what}: gradients are all zero"
        );
        assert_eq!(backward, accumulated, "{what} (B = {B})");
    }

    let net = Mlp::new(3);
    let x = inputs::<4, 3>(1);
    let (_, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(2));
    let grad_out = inputs::<3, 3>(3);
    let (grads, _) = net.backward(&trace, &grad_out);
    let mut accumulated = Mlp::zero_grads();
    net.accumulate_grads(&trace, &grad_out, &mut accumulated);
    compare::<3>("Mlp", flatten(&grads), flatten(&accumulated));

    let net = Classifier::new(4);
    let x = inputs::<6, 2>(1);
    let (_, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(2));
    let grad_out = inputs::<3, 2>(3);
    let (grads, _) = net.backward(&trace, &grad_out);
    let mut accumulated = Classifier::zero_grads();
    net.accumulate_grads(&trace, &grad_out, &mut accumulated);
    compare::<2>("Classifier", flatten(&grads), flatten(&accumulated));

    let net = Scaled::new(5);
    let x = inputs::<4, 1>(1);
    let (_, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(2));
    let grad_out = inputs::<2, 1>(3);
    let (grads, _) = net.backward(&trace, &grad_out);
    let mut accumulated = Scaled::zero_grads();
    net.accumulate_grads(&trace, &grad_out, &mut accumulated);
    compare::<1>("Scaled", flatten(&grads), flatten(&accumulated));
}
