//! Optimizer updates against reference trajectories, and training runs that must learn.
//!
//! The trajectories between the BEGIN and END GENERATED lines come from
//! `tests/reference/optim_loss_reference.py`. It runs five steps on five parameters
//! (split over two tensors) of the objective `sum_i (C_i p_i^2 / 2 + D_i p_i)`, whose
//! gradient is `g = C * p + D`, and records the parameters after each step. Each update
//! is the pseudo-code of PyTorch's `torch.optim` documentation (version 2.x), value by
//! value, with `t` the step number counted from 1:
//!
//! ```text
//! SGD:     g = g + wd * p
//!          b = g (t = 1),  b = mu * b + (1 - dampening) * g (t > 1)    [momentum only]
//!          g = g + mu * b (Nesterov),  g = b (otherwise)                [momentum only]
//!          p = p - lr * g
//! Adam:    g = g + wd * p
//!          m = beta1 * m + (1 - beta1) * g,  v = beta2 * v + (1 - beta2) * g^2
//!          p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
//! AdamW:   p = p * (1 - lr * wd), then Adam's update without the wd term
//! RMSprop: g = g + wd * p
//!          v = alpha * v + (1 - alpha) * g^2
//!          a = sqrt(v) + eps,  or with centered: m = alpha * m + (1 - alpha) * g,
//!                                                a = sqrt(v - m^2) + eps
//!          b = mu * b + g / a,  p = p - lr * b (momentum);  p = p - lr * g / a (otherwise)
//! ```
//!
//! The first steps are where Adam's bias correction and SGD's buffer start matter, so
//! every step is compared, in `f64` (to 1e-12) and in `f32` (to 1e-5).

use static_nn::core::Tensors;
use static_nn::core::bytemuck::Zeroable;
use static_nn::core::loss::{ClassLoss, Loss, MeanSquaredError, SoftmaxCrossEntropy};
use static_nn::core::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, CosineAnnealing, LearningRate, OptimError, Optimizer,
    RmsProp, RmsPropConfig, Schedule, Sgd, SgdConfig, UpdateRunner, UpdateSlices, Warmup,
    clip_grad_norm,
};
use static_nn::core::tensors::{Shape, TensorInfo, TensorName};
use static_nn::prelude::*;

/// Five parameters in two tensors: `a` with three values and `b` with two.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Tiny<T> {
    a: [T; 3],
    b: [T; 2],
}

// SAFETY: two arrays of floats, for which all-zero bytes are 0.0.
unsafe impl<T: Float> Zeroable for Tiny<T> {}

impl<T> Tensors<T> for Tiny<T> {
    const COUNT: usize = 2;
    const PARAMS: usize = 5;

    fn tensor(&self, i: usize) -> Option<&[T]> {
        match i {
            0 => Some(&self.a),
            1 => Some(&self.b),
            _ => None,
        }
    }

    fn tensor_mut(&mut self, i: usize) -> Option<&mut [T]> {
        match i {
            0 => Some(&mut self.a),
            1 => Some(&mut self.b),
            _ => None,
        }
    }

    fn tensor_info(i: usize) -> Option<TensorInfo> {
        let (name, len) = [("a", 3), ("b", 2)].get(i).copied()?;
        Some(TensorInfo {
            name: TensorName::new(name),
            shape: Shape::vector(len),
            column_major: false,
        })
    }
}

impl<T: Float> Tiny<T> {
    fn from_values(values: &[f64; 5]) -> Self {
        let value = |i: usize| T::from_f64_lossy(values[i]);
        Self {
            a: [value(0), value(1), value(2)],
            b: [value(3), value(4)],
        }
    }

    fn values(&self) -> [f64; 5] {
        let [a0, a1, a2] = self.a;
        let [b0, b1] = self.b;
        [a0, a1, a2, b0, b1].map(T::as_f64)
    }

    /// The gradient `CURVATURE * p + OFFSET` of the reference objective.
    fn gradient(&self) -> Self {
        let p = self.values();
        Self::from_values(&core::array::from_fn(|i| CURVATURE[i] * p[i] + OFFSET[i]))
    }
}

/// The largest allowed error against a reference value, relative to `max(1, |value|)`.
fn tolerance<T: Float>() -> f64 {
    if T::NAME == "f64" { 1e-12 } else { 1e-5 }
}

/// Runs the optimizer from `INITIAL` and compares every step with `reference`.
fn follow<T: Float, O: Optimizer<T, Tiny<T>, Tiny<T>>>(
    name: &str,
    mut optimizer: O,
    reference: &[[f64; 5]; 5],
) {
    let mut params = Tiny::<T>::from_values(&INITIAL);
    for (step, expected) in reference.iter().enumerate() {
        let grads = params.gradient();
        optimizer.step(&mut params, &grads).unwrap();
        for (index, (actual, &expected)) in params.values().iter().zip(expected).enumerate() {
            let error = (actual - expected).abs() / expected.abs().max(1.0);
            assert!(
                error <= tolerance::<T>(),
                "{name} in {}, step {}, value {index}: got {actual}, reference {expected}",
                T::NAME,
                step + 1,
            );
        }
    }
}

#[test]
fn sgd_follows_reference() {
    let config = SgdConfig {
        learning_rate: 0.1,
        ..SgdConfig::default()
    };
    follow::<f64, _>("SGD", Sgd::<Tiny<f64>>::new(config).unwrap(), &SGD_PLAIN);
    follow::<f32, _>("SGD", Sgd::<Tiny<f32>>::new(config).unwrap(), &SGD_PLAIN);
}

#[test]
fn sgd_momentum_follows_reference() {
    let config = SgdConfig {
        learning_rate: 0.05,
        momentum: 0.9,
        dampening: 0.1,
        weight_decay: 0.01,
        nesterov: false,
    };
    follow::<f64, _>(
        "SGD momentum",
        Sgd::<Tiny<f64>>::new(config).unwrap(),
        &SGD_MOMENTUM,
    );
    follow::<f32, _>(
        "SGD momentum",
        Sgd::<Tiny<f32>>::new(config).unwrap(),
        &SGD_MOMENTUM,
    );
}

#[test]
fn sgd_nesterov_follows_reference() {
    let config = SgdConfig {
        learning_rate: 0.05,
        momentum: 0.8,
        dampening: 0.0,
        weight_decay: 0.05,
        nesterov: true,
    };
    follow::<f64, _>(
        "SGD Nesterov",
        Sgd::<Tiny<f64>>::new(config).unwrap(),
        &SGD_NESTEROV,
    );
    follow::<f32, _>(
        "SGD Nesterov",
        Sgd::<Tiny<f32>>::new(config).unwrap(),
        &SGD_NESTEROV,
    );
}

#[test]
fn adam_follows_reference() {
    let config = AdamConfig {
        learning_rate: 0.1,
        ..AdamConfig::default()
    };
    follow::<f64, _>("Adam", Adam::<Tiny<f64>>::new(config).unwrap(), &ADAM);
    follow::<f32, _>("Adam", Adam::<Tiny<f32>>::new(config).unwrap(), &ADAM);
}

#[test]
fn adam_l2_follows_reference() {
    let config = AdamConfig {
        learning_rate: 0.05,
        beta1: 0.8,
        beta2: 0.99,
        eps: 1e-6,
        weight_decay: 0.1,
    };
    follow::<f64, _>(
        "Adam with L2",
        Adam::<Tiny<f64>>::new(config).unwrap(),
        &ADAM_L2,
    );
    follow::<f32, _>(
        "Adam with L2",
        Adam::<Tiny<f32>>::new(config).unwrap(),
        &ADAM_L2,
    );
}

#[test]
fn adamw_follows_reference() {
    let config = AdamWConfig {
        learning_rate: 0.1,
        weight_decay: 0.1,
        ..AdamWConfig::default()
    };
    follow::<f64, _>("AdamW", AdamW::<Tiny<f64>>::new(config).unwrap(), &ADAMW);
    follow::<f32, _>("AdamW", AdamW::<Tiny<f32>>::new(config).unwrap(), &ADAMW);
}

#[test]
fn rmsprop_follows_reference() {
    let config = RmsPropConfig {
        learning_rate: 0.01,
        ..RmsPropConfig::default()
    };
    follow::<f64, _>(
        "RMSprop",
        RmsProp::<Tiny<f64>>::new(config).unwrap(),
        &RMSPROP,
    );
    follow::<f32, _>(
        "RMSprop",
        RmsProp::<Tiny<f32>>::new(config).unwrap(),
        &RMSPROP,
    );
}

#[test]
fn rmsprop_centered_follows_reference() {
    let config = RmsPropConfig {
        learning_rate: 0.01,
        alpha: 0.9,
        eps: 1e-8,
        weight_decay: 0.01,
        momentum: 0.9,
        centered: true,
    };
    follow::<f64, _>(
        "centered RMSprop",
        RmsProp::<Tiny<f64>>::new(config).unwrap(),
        &RMSPROP_CENTERED,
    );
    follow::<f32, _>(
        "centered RMSprop",
        RmsProp::<Tiny<f32>>::new(config).unwrap(),
        &RMSPROP_CENTERED,
    );
}

#[test]
fn boxed_state_follows_reference() {
    let config = AdamWConfig {
        learning_rate: 0.1,
        weight_decay: 0.1,
        ..AdamWConfig::default()
    };
    let optimizer = AdamW::<Tiny<f64>, Box<Tiny<f64>>>::new_boxed(config).unwrap();
    follow::<f64, _>("boxed AdamW", optimizer, &ADAMW);
}

network! {
    /// Fits y = sin(x) on [-pi, pi].
    #[derive(Clone, Debug, PartialEq)]
    struct SineNet<f32> {
        input: [1],
        hidden: Dense(16), Tanh,
        out: Dense(1),
    }
}

/// The number of samples of the sine problem, all in one batch.
const SINE_SAMPLES: usize = 32;

/// Evenly spaced `x` in `[-pi, pi]` and `y = sin(x)`.
fn sine_data() -> (SMatrix<f32, 1, SINE_SAMPLES>, SMatrix<f32, 1, SINE_SAMPLES>) {
    let step = 2.0 * core::f32::consts::PI / (SINE_SAMPLES - 1) as f32;
    let x = SMatrix::from_fn(|_, i| -core::f32::consts::PI + step * i as f32);
    (x, x.map(f32::sin))
}

/// Trains `SineNet` (seed 7) with full-batch steps and returns the first and last loss.
fn train_sine<O: Optimizer<f32, SineNet, SineNetGrads>>(
    optimizer: &mut O,
    steps: usize,
) -> (f32, f32) {
    let (x, y) = sine_data();
    let mut net = SineNet::new(7);
    let mut rng = Rng::seed_from_u64(0);
    let first = MeanSquaredError.loss(&net.forward_batch(&x), &y);
    for _ in 0..steps {
        let (output, trace) = net.forward_train(&x, &mut rng);
        let (_, grad_out) = MeanSquaredError.loss_and_grad(&output, &y);
        let (grads, _) = net.backward(&trace, &grad_out);
        optimizer.step(&mut net, &grads).unwrap();
    }
    (first, MeanSquaredError.loss(&net.forward_batch(&x), &y))
}

/// Asserts that training cut the loss to below 2% of its start.
fn assert_learns(name: &str, (first, last): (f32, f32)) {
    assert!(
        first > 0.1,
        "{name}: the untrained loss {first} is already small"
    );
    assert!(
        last < 0.02 * first,
        "{name}: loss fell only from {first} to {last}"
    );
}

#[test]
fn sgd_learns_sine() {
    let config = SgdConfig {
        learning_rate: 0.1,
        ..SgdConfig::default()
    };
    let mut sgd = Sgd::<SineNetGrads>::new(config).unwrap();
    assert_learns("SGD", train_sine(&mut sgd, 1500));
}

#[test]
fn sgd_nesterov_learns_sine() {
    let config = SgdConfig {
        learning_rate: 0.02,
        momentum: 0.9,
        nesterov: true,
        ..SgdConfig::default()
    };
    let mut sgd = Sgd::<SineNetGrads>::new(config).unwrap();
    assert_learns("SGD Nesterov", train_sine(&mut sgd, 1500));
}

#[test]
fn adam_learns_sine() {
    let config = AdamConfig {
        learning_rate: 0.01,
        ..AdamConfig::default()
    };
    let mut adam = Adam::<SineNetGrads>::new(config).unwrap();
    assert_learns("Adam", train_sine(&mut adam, 1500));
}

#[test]
fn adamw_learns_sine() {
    let config = AdamWConfig {
        learning_rate: 0.01,
        ..AdamWConfig::default()
    };
    let mut adamw = AdamW::<SineNetGrads>::new(config).unwrap();
    assert_learns("AdamW", train_sine(&mut adamw, 1500));
}

#[test]
fn rmsprop_learns_sine() {
    let config = RmsPropConfig {
        learning_rate: 0.003,
        ..RmsPropConfig::default()
    };
    let mut rmsprop = RmsProp::<SineNetGrads>::new(config).unwrap();
    assert_learns("RMSprop", train_sine(&mut rmsprop, 1500));

    let config = RmsPropConfig {
        learning_rate: 0.001,
        momentum: 0.9,
        centered: true,
        ..RmsPropConfig::default()
    };
    let mut centered = RmsProp::<SineNetGrads>::new(config).unwrap();
    assert_learns("centered RMSprop", train_sine(&mut centered, 1500));
}

network! {
    /// Classifies the four XOR inputs into two classes.
    struct XorNet<f32> {
        input: [2],
        hidden: Dense(8), Tanh,
        out: Dense(2),
    }
}

#[test]
fn xor_learns_with_schedule_and_clipping() {
    let x = SMatrix::<f32, 2, 4>::new(0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0);
    let labels = [0, 1, 1, 0];
    let steps = 400;
    let schedule = Warmup::new(20, CosineAnnealing::new(steps - 20, 0.0).unwrap());
    let config = SgdConfig {
        learning_rate: 0.5,
        momentum: 0.9,
        ..SgdConfig::default()
    };
    let mut sgd = Sgd::<XorNetGrads>::new(config).unwrap();
    let mut net = XorNet::new(3);
    let mut rng = Rng::seed_from_u64(0);
    let ce = SoftmaxCrossEntropy;
    let first = ce.loss_labels(&net.forward_batch(&x), &labels).unwrap();

    for step in 0..steps {
        let rate = schedule.learning_rate(0.5, step);
        sgd.set_learning_rate(rate).unwrap();
        let (output, trace) = net.forward_train(&x, &mut rng);
        let (_, grad_out) = ce.loss_and_grad_labels(&output, &labels).unwrap();
        let (mut grads, _) = net.backward(&trace, &grad_out);
        let norm = clip_grad_norm(&mut grads, 1.0).unwrap();
        assert!(norm.is_finite(), "gradient norm {norm} at step {step}");
        sgd.step(&mut net, &grads).unwrap();
    }

    let output = net.forward_batch(&x);
    let last = ce.loss_labels(&output, &labels).unwrap();
    assert!(last < 0.02 * first, "loss fell only from {first} to {last}");
    for (sample, &label) in labels.iter().enumerate() {
        let predicted = output.column(sample).argmax().0;
        assert_eq!(
            predicted,
            label,
            "sample {sample}: outputs {}",
            output.column(sample)
        );
    }
}

network! {
    /// The classic MNIST multilayer perceptron.
    struct Mnist<f32> {
        input: [784],
        hidden1: Dense(512), Relu,
        hidden2: Dense(256), Relu,
        out: Dense(10),
    }
}

#[test]
fn boxed_optimizers_fit_mnist_network_on_default_stack() -> Result<(), OptimError> {
    let mut net = Mnist::new_boxed(1);
    let before = Mnist::new_boxed(1);
    let mut grads = Mnist::zero_grads_boxed();
    let mut rng = Rng::seed_from_u64(2);
    let x = SMatrix::<f32, 784, 2>::from_fn(|_, _| rng.uniform(0.0, 1.0));
    let (output, trace) = net.forward_train(&x, &mut rng);
    let (_, grad_out) = MeanSquaredError.loss_and_grad(&output, &SMatrix::zeros());
    net.accumulate_grads(&trace, &grad_out, &mut grads);

    let config = AdamConfig {
        learning_rate: 1e-3,
        ..AdamConfig::default()
    };
    let mut adam = Adam::<MnistGrads, Box<MnistGrads>>::new_boxed(config)?;
    adam.step(&mut *net, &*grads)?;

    // Adam's first step moves every value with a clearly nonzero gradient by about lr.
    let mut moved = 0;
    for i in 0..<Mnist as Tensors<f32>>::COUNT {
        let (old, new) = (before.tensor(i).unwrap(), net.tensor(i).unwrap());
        for ((&old, &new), &g) in old.iter().zip(new).zip(grads.tensor(i).unwrap()) {
            if g.abs() > 1e-4 {
                let step = old - new;
                assert!(
                    (step - 1e-3 * g.signum()).abs() < 2e-5,
                    "step {step} for gradient {g}"
                );
                moved += 1;
            }
        }
    }
    assert!(moved > 100_000, "only {moved} values had a clear gradient");

    let sgd_config = SgdConfig {
        momentum: 0.9,
        ..SgdConfig::default()
    };
    let mut sgd = Sgd::<MnistGrads, Box<MnistGrads>>::new_boxed(sgd_config)?;
    sgd.step(&mut *net, &*grads)?;
    let mut adamw = AdamW::<MnistGrads, Box<MnistGrads>>::new_boxed(AdamWConfig::default())?;
    adamw.step(&mut *net, &*grads)?;
    let rms_config = RmsPropConfig {
        momentum: 0.9,
        centered: true,
        ..RmsPropConfig::default()
    };
    let mut rmsprop = RmsProp::<MnistGrads, Box<MnistGrads>>::new_boxed(rms_config)?;
    rmsprop.step(&mut *net, &*grads)?;
    assert!(net.tensor(0).unwrap().iter().all(|v| v.is_finite()));
    Ok(())
}

/// Updates each tensor in pieces of `.0` values, one after the other, as a runner that
/// spreads the update over threads cuts it.
struct Pieces(usize);

impl<T> UpdateRunner<T> for Pieces {
    fn run(&self, slices: UpdateSlices<'_, T>, update: &(dyn Fn(UpdateSlices<'_, T>) + Sync)) {
        let mut rest = slices;
        while !rest.is_empty() {
            let (piece, tail) = rest.split_at(self.0);
            update(piece);
            rest = tail;
        }
    }
}

/// Takes three steps with `make()` on the whole tensors and three with another
/// `make()` in pieces of 997 values, and asserts that the parameters agree bit for bit.
fn assert_pieces_match<O>(name: &str, make: impl Fn() -> O) -> Result<(), OptimError>
where
    O: Optimizer<f32, Mnist, MnistGrads>,
{
    let mut grads = Mnist::zero_grads_boxed();
    let mut rng = Rng::seed_from_u64(4);
    let mut whole = Mnist::new_boxed(3);
    let x = SMatrix::<f32, 784, 2>::from_fn(|_, _| rng.uniform(0.0, 1.0));
    let (output, trace) = whole.forward_train(&x, &mut rng);
    let (_, grad_out) = MeanSquaredError.loss_and_grad(&output, &SMatrix::zeros());
    whole.accumulate_grads(&trace, &grad_out, &mut grads);

    let mut pieces = Mnist::new_boxed(3);
    let (mut whole_optimizer, mut pieces_optimizer) = (make(), make());
    for _ in 0..3 {
        whole_optimizer.step(&mut *whole, &*grads)?;
        pieces_optimizer.step_scaled_with(&mut *pieces, &*grads, &|_| Some(1.0), &Pieces(997))?;
    }
    for i in 0..<Mnist as Tensors<f32>>::COUNT {
        let pairs = whole
            .tensor(i)
            .unwrap()
            .iter()
            .zip(pieces.tensor(i).unwrap());
        for (index, (a, b)) in pairs.enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{name}: tensor {i} value {index} is {b} in pieces, {a} whole"
            );
        }
    }
    assert!(
        whole.tensor(0) != Mnist::new_boxed(3).tensor(0),
        "{name}: the steps changed nothing"
    );
    Ok(())
}

#[test]
fn updates_in_pieces_match_whole_tensors() -> Result<(), OptimError> {
    let sgd =
        |config: SgdConfig| move || Sgd::<MnistGrads, Box<MnistGrads>>::new_boxed(config).unwrap();
    assert_pieces_match(
        "SGD with weight decay",
        sgd(SgdConfig {
            learning_rate: 0.1,
            weight_decay: 0.01,
            ..SgdConfig::default()
        }),
    )?;
    assert_pieces_match(
        "SGD with momentum and dampening",
        sgd(SgdConfig {
            learning_rate: 0.1,
            momentum: 0.9,
            dampening: 0.1,
            ..SgdConfig::default()
        }),
    )?;
    assert_pieces_match(
        "SGD with Nesterov momentum",
        sgd(SgdConfig {
            learning_rate: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.01,
            ..SgdConfig::default()
        }),
    )?;
    assert_pieces_match("Adam with L2 penalty", || {
        let config = AdamConfig {
            weight_decay: 0.01,
            ..AdamConfig::default()
        };
        Adam::<MnistGrads, Box<MnistGrads>>::new_boxed(config).unwrap()
    })?;
    assert_pieces_match("AdamW", || {
        AdamW::<MnistGrads, Box<MnistGrads>>::new_boxed(AdamWConfig::default()).unwrap()
    })?;
    let rmsprop = |config: RmsPropConfig| {
        move || RmsProp::<MnistGrads, Box<MnistGrads>>::new_boxed(config).unwrap()
    };
    assert_pieces_match("RMSProp", rmsprop(RmsPropConfig::default()))?;
    assert_pieces_match(
        "centered RMSProp with momentum and weight decay",
        rmsprop(RmsPropConfig {
            centered: true,
            momentum: 0.9,
            weight_decay: 0.01,
            ..RmsPropConfig::default()
        }),
    )
}

// BEGIN GENERATED by tests/reference/optim_loss_reference.py; do not edit by hand.
/// The parameters before the first step.
const INITIAL: [f64; 5] = [0.5, -1.0, 2.0, 0.1, -0.3];
/// The gradient is `CURVATURE * p + OFFSET`, value by value.
const CURVATURE: [f64; 5] = [1.0, 2.0, 0.5, 3.0, 0.1];
/// See [`CURVATURE`].
const OFFSET: [f64; 5] = [0.3, -0.5, 0.2, 0.0, 1.0];
/// The parameters after each step of PyTorch's `SGD(lr=0.1)`.
const SGD_PLAIN: [[f64; 5]; 5] = [
    [0.42, -0.75, 1.88, 0.07, -0.397],
    [0.348, -0.55, 1.766, 0.049, -0.49303],
    [0.2832, -0.39, 1.6577, 0.0343, -0.5880997],
    [
        0.22488000000000002,
        -0.262,
        1.554815,
        0.024009999999999997,
        -0.682218703,
    ],
    [
        0.17239200000000002,
        -0.15960000000000002,
        1.45707425,
        0.016807,
        -0.77539651597,
    ],
];
/// The parameters after each step of PyTorch's `SGD(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)`.
const SGD_MOMENTUM: [[f64; 5]; 5] = [
    [0.45975, -0.8745, 1.939, 0.08495, -0.34835],
    [
        0.38912936249999996,
        -0.6599514750000001,
        1.83059995,
        0.059898522499999995,
        -0.4351406675,
    ],
    [
        0.29438485922437496,
        -0.38466519158625,
        1.6820276361475002,
        0.02923893787737499,
        -0.556098321945875,
    ],
    [
        0.18223501442456463,
        -0.07961456993489868,
        1.500710019430665,
        -0.00231510241847796,
        -0.7072075242535305,
    ],
    [
        0.059517572699138876,
        0.22463212740192912,
        1.2940828694395796,
        -0.030400158062162775,
        -0.8847051290853654,
    ],
];
/// The parameters after each step of PyTorch's `SGD(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True)`.
const SGD_NESTEROV: [[f64; 5]; 5] = [
    [0.42574999999999996, -0.7705, 1.883, 0.07255, -0.38595],
    [
        0.33211662499999994,
        -0.50174275,
        1.7301915,
        0.042875025,
        -0.5012996750000001,
    ],
    [
        0.22870640393749994,
        -0.232346412625,
        1.55372622075,
        0.016216950637499995,
        -0.6391275693875,
    ],
    [
        0.12331437016540617,
        0.009895664904312512,
        1.363708762422875,
        -0.00433030875249376,
        -0.7937694607607688,
    ],
    [
        0.021953204132475257,
        0.2078111709176669,
        1.1683731888777427,
        -0.017600978534154224,
        -0.9606018515554384,
    ],
];
/// The parameters after each step of PyTorch's `Adam(lr=0.1)`.
const ADAM: [[f64; 5]; 5] = [
    [
        0.40000000124999996,
        -0.9000000003999999,
        1.9000000008333333,
        3.3333332205565114e-09,
        -0.3999999989690722,
    ],
    [
        0.3005682854014775,
        -0.8003037271694131,
        1.8001335229552289,
        -0.06700582140254253,
        -0.49997164487725887,
    ],
    [
        0.20222006950529692,
        -0.7011554497242888,
        1.700497930712188,
        -0.07443756164957777,
        -0.5998957035515304,
    ],
    [
        0.10560022778271645,
        -0.6028353137568631,
        1.6011970209975706,
        -0.04902276275381334,
        -0.6997527454939702,
    ],
    [
        0.011504288046135111,
        -0.5056628393021054,
        1.5023411173207304,
        -0.010852077470716648,
        -0.799523189773542,
    ],
];
/// The parameters after each step of PyTorch's `Adam(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)`.
const ADAM_L2: [[f64; 5]; 5] = [
    [
        0.4500000588234602,
        -0.9500000192307618,
        1.9500000357142602,
        0.05000016128980229,
        -0.3499999468085672,
    ],
    [
        0.400205329320601,
        -0.9001199564420157,
        1.9000604511533565,
        0.0042539608229408,
        -0.3999708128775907,
    ],
    [
        0.350770252498689,
        -0.8504452988268142,
        1.8502225747707322,
        -0.030225404593185547,
        -0.4498931329349936,
    ],
    [
        0.3018617230142171,
        -0.8010647759572811,
        1.8005280181658148,
        -0.046796351009829984,
        -0.49974763347094503,
    ],
    [
        0.2536580599367608,
        -0.7520695526149653,
        1.751018263068147,
        -0.04634306297831784,
        -0.5495154213518009,
    ],
];
/// The parameters after each step of PyTorch's `AdamW(lr=0.1, weight_decay=0.1)`.
const ADAMW: [[f64; 5]; 5] = [
    [
        0.39500000124999995,
        -0.8900000003999999,
        1.8800000008333333,
        -0.0009999966666667803,
        -0.3969999989690722,
    ],
    [
        0.2916610052994967,
        -0.7814454399518929,
        1.761366487286899,
        -0.0672479961887753,
        -0.49300253898462554,
    ],
    [
        0.19051621156529308,
        -0.6745989829657223,
        1.6442069409900943,
        -0.0733928041165277,
        -0.587999372951614,
    ],
    [
        0.09222650682146913,
        -0.5697604106310906,
        1.5286354965085462,
        -0.04717377769562465,
        -0.6819824625089995,
    ],
    [
        -0.0024028278434642947,
        -0.467269490803128,
        1.4147728817059981,
        -0.008958335868973745,
        -0.7749440256880664,
    ],
];
/// The parameters after each step of PyTorch's `RMSprop(lr=0.01)`.
const RMSPROP: [[f64; 5]; 5] = [
    [
        0.4000000124999985,
        -0.9000000039999999,
        1.9000000083333326,
        3.3333322269069043e-08,
        -0.39999998969072265,
    ],
    [
        0.33396228221593804,
        -0.8321102596463156,
        1.8306284342669885,
        -1.6791589622837726e-10,
        -0.4705216986362083,
    ],
    [
        0.2824439955604004,
        -0.7780833262164389,
        1.7746139230232678,
        1.6960630555095965e-12,
        -0.5280633535575642,
    ],
    [
        0.23948663176250404,
        -0.7322364422992578,
        1.7265008112081395,
        -2.576212733686005e-14,
        -0.5778989562477064,
    ],
    [
        0.2023559274115342,
        -0.6919449208303649,
        1.6837533113754246,
        5.230665975622311e-16,
        -0.6224936302078372,
    ],
];
/// The parameters after each step of PyTorch's `RMSprop(lr=0.01, alpha=0.9, weight_decay=0.01, momentum=0.9, centered=True)`.
const RMSPROP_CENTERED: [[f64; 5]; 5] = [
    [
        0.46666666804692886,
        -0.9666666671093405,
        1.9666666675774134,
        0.0666666703580653,
        -0.3333333321843043,
    ],
    [
        0.4116994035422532,
        -0.9115057690168586,
        1.9113462940997907,
        0.016556775679736936,
        -0.3887780354113434,
    ],
    [
        0.3410979900672963,
        -0.8402121935851569,
        1.8394931447505205,
        -0.0338064213576366,
        -0.4610607811918925,
    ],
    [
        0.2589952634118178,
        -0.7565156572248458,
        1.754536911184853,
        -0.06899237375888306,
        -0.5469658372445553,
    ],
    [
        0.1687020378858432,
        -0.6632034526138623,
        1.658899741578318,
        -0.08326536644998479,
        -0.6443147366200955,
    ],
];
// END GENERATED
