//! An MNIST-sized 784-512-256-10 network, its gradients and Adam's two moment buffers,
//! built and trained for one step inside a plain `#[test]`.
//!
//! Test threads get a 2 MiB stack unless `RUST_MIN_STACK` sets another size. In `f64` the
//! first weight matrix alone takes 784 * 512 * 8 bytes = 3.2 MB, so any copy of it on
//! the stack (a network built by value, a weight-sized temporary in a backward pass)
//! overflows and aborts the test binary. The checks therefore run in the debug build,
//! where the compiler removes no copies.

use static_nn::core::{Layer, Tensors};
use static_nn::prelude::*;

network! {
    /// The classic MNIST multilayer perceptron in double precision.
    struct Mnist<f64> {
        input: [784],
        hidden1: Dense(512), Relu,
        hidden2: Dense(256), Relu,
        out: Dense(10),
    }
}

network! {
    /// The same architecture in single precision.
    struct MnistF32<f32> {
        input: [784],
        hidden1: Dense(512), Relu,
        hidden2: Dense(256), Relu,
        out: Dense(10),
    }
}

/// The batch size of the training steps.
const BATCH: usize = 4;

/// The number of scalar parameters of a 784-512-256-10 dense network.
const MNIST_PARAMS: usize = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10;

/// Returns a batch of pseudo-images with pixel values in `[0, 1)`.
fn images(seed: u64) -> SMatrix<f64, 784, BATCH> {
    let mut rng = Rng::seed_from_u64(seed);
    SMatrix::from_fn(|_, _| rng.uniform(0.0, 1.0))
}

/// Returns the gradient of `0.5 * |y - target|^2` with the target one-hot at class
/// `column % 10` for each sample.
fn squared_error_gradient(output: &SMatrix<f64, 10, BATCH>) -> SMatrix<f64, 10, BATCH> {
    SMatrix::from_fn(|row, column| {
        let target = if row == column % 10 { 1.0 } else { 0.0 };
        output[(row, column)] - target
    })
}

/// Returns every gradient value of every tensor, in tensor order.
fn flatten<G: Tensors<f64>>(grads: &G) -> Vec<f64> {
    (0..G::COUNT)
        .flat_map(|i| grads.tensor(i).unwrap_or(&[]).iter().copied())
        .collect()
}

#[test]
fn mnist_network_sizes() {
    assert_eq!(Mnist::INPUT, 784);
    assert_eq!(Mnist::OUTPUT, 10);
    assert_eq!(Mnist::PARAMS, MNIST_PARAMS);
    assert_eq!(<MnistGrads as Tensors<f64>>::PARAMS, MNIST_PARAMS);
    assert_eq!(<Mnist as Tensors<f64>>::COUNT, 6);
}

#[test]
fn boxed_backward_fits_default_stack() {
    let net = Mnist::new_boxed(7);
    let mut grads = Mnist::zero_grads_boxed();
    let x = images(1);

    let (y, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(2));
    assert_eq!(y.nrows(), Mnist::OUTPUT);
    assert_eq!(y.ncols(), BATCH);
    assert!(y.iter().all(|v| v.is_finite()), "non-finite output {y}");
    assert_eq!(
        net.forward_batch(&x),
        y,
        "inference and training forward differ"
    );
    // A single sample can take narrower kernel tiles than a batch, which add the same
    // products in another order (see `nn_core::kernel`).
    let first = net.forward(&x.column(0).into_owned());
    assert!(
        first.iter().all(|v| v.is_finite()),
        "non-finite single-sample output {first}"
    );
    let scale = y.column(0).amax().max(1.0);
    let difference = (first - y.column(0)).amax();
    assert!(
        difference <= 1e-12 * scale,
        "single-sample forward differs from the batch by {difference:e}: {first} against {}",
        y.column(0)
    );

    let grad_out = squared_error_gradient(&y);
    let grad_input = net.backward_into(&trace, &grad_out, &mut grads);
    assert!(grad_input.iter().all(|v| v.is_finite()));
    assert!(
        grad_input.iter().any(|&v| v != 0.0),
        "input gradient is all zero"
    );

    for i in 0..<MnistGrads as Tensors<f64>>::COUNT {
        let name = <MnistGrads as Tensors<f64>>::tensor_info(i).map(|info| info.name);
        let values = grads.tensor(i).unwrap_or(&[]);
        assert!(!values.is_empty(), "tensor {name:?} is empty");
        assert!(
            values.iter().all(|v| v.is_finite()),
            "tensor {name:?} has a non-finite value"
        );
        assert!(
            values.iter().any(|&v| v != 0.0),
            "tensor {name:?} is all zero"
        );
    }
}

#[test]
fn boxed_output_layer_gradient_matches_formula() {
    let net = Mnist::new_boxed(11);
    let mut grads = Mnist::zero_grads_boxed();
    let x = images(3);
    let (y, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(4));
    let grad_out = squared_error_gradient(&y);
    net.accumulate_grads(&trace, &grad_out, &mut grads);

    // `out` is a dense layer fed by the second ReLU, so its weight gradient is
    // grad_out * h^T and its bias gradient the sum of grad_out over the batch. The
    // hidden activations h are recomputed here layer by layer.
    let h1 = Layer::<f64, 784, 512>::forward(&net.hidden1, &x).map(|v| v.max(0.0));
    let h = Layer::<f64, 512, 256>::forward(&net.hidden2, &h1).map(|v| v.max(0.0));
    for row in 0..10 {
        let bias: f64 = grad_out.row(row).sum();
        assert!((grads.out.bias[row] - bias).abs() <= 1e-12 * bias.abs().max(1.0));
        for column in [0, 17, 128, 255] {
            let weight: f64 = (0..BATCH)
                .map(|b| grad_out[(row, b)] * h[(column, b)])
                .sum();
            let analytic = grads.out.weight[(row, column)];
            assert!(
                (analytic - weight).abs() <= 1e-12 * weight.abs().max(1.0),
                "out.weight[{row}, {column}]: backward gives {analytic}, formula {weight}"
            );
        }
    }
}

#[test]
fn second_backward_doubles_boxed_grads() {
    let net = Mnist::new_boxed(5);
    let x = images(6);
    let (y, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(8));
    let grad_out = squared_error_gradient(&y);

    let mut once = Mnist::zero_grads_boxed();
    net.accumulate_grads(&trace, &grad_out, &mut once);
    let mut twice = Mnist::zero_grads_boxed();
    net.backward_into(&trace, &grad_out, &mut twice);
    net.backward_into(&trace, &grad_out, &mut twice);

    let once = flatten(&*once);
    let twice = flatten(&*twice);
    assert_eq!(once.len(), MNIST_PARAMS);
    assert_eq!(twice.len(), MNIST_PARAMS);
    let nonzero = once.iter().filter(|&&g| g != 0.0).count();
    assert!(
        nonzero > MNIST_PARAMS / 4,
        "only {nonzero} non-zero gradients"
    );
    // The second pass adds each sample's term to the first pass's sum, so the sums are
    // rounded in another order; where a gradient's terms nearly cancel, its relative
    // error can exceed 1e-12 (it did on AArch64, whose small kernel fuses the adds). The
    // bound is relative to the largest gradient instead, far below the factor of 2 that a
    // pass which overwrites instead of accumulating would leave.
    let largest = once.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (index, (&g1, &g2)) in once.iter().zip(&twice).enumerate() {
        let expected = 2.0 * g1;
        assert!(
            (g2 - expected).abs() <= 1e-12 * (expected.abs() + largest),
            "value {index}: two backward passes give {g2}, expected twice {g1}"
        );
    }
}

#[test]
fn adam_step_on_boxed_buffers() {
    let mut net = Mnist::new_boxed(9);
    let mut grads = Mnist::zero_grads_boxed();
    let mut first_moment = Mnist::zero_grads_boxed();
    let mut second_moment = Mnist::zero_grads_boxed();
    let before = Mnist::new_boxed(9);

    let x = images(10);
    let (y, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(12));
    let loss_before = 0.5 * squared_error_gradient(&y).norm_squared();
    net.accumulate_grads(&trace, &squared_error_gradient(&y), &mut grads);

    // One Adam step (beta1 = 0.9, beta2 = 0.999) over the boxed buffers, tensor by
    // tensor. After bias correction the first step is lr * g / (|g| + eps) per value.
    let (lr, beta1, beta2, eps) = (1e-4, 0.9, 0.999, 1e-12);
    for i in 0..<Mnist as Tensors<f64>>::COUNT {
        let g = grads.tensor(i).unwrap_or(&[]);
        let m = first_moment.tensor_mut(i).unwrap_or(&mut []);
        for (m, &g) in m.iter_mut().zip(g) {
            *m = beta1 * *m + (1.0 - beta1) * g;
        }
        let v = second_moment.tensor_mut(i).unwrap_or(&mut []);
        for (v, &g) in v.iter_mut().zip(g) {
            *v = beta2 * *v + (1.0 - beta2) * g * g;
        }
        let m = first_moment.tensor(i).unwrap_or(&[]);
        let v = second_moment.tensor(i).unwrap_or(&[]);
        let params = net.tensor_mut(i).unwrap_or(&mut []);
        for ((p, &m), &v) in params.iter_mut().zip(m).zip(v) {
            let m_hat = m / (1.0 - beta1);
            let v_hat = v / (1.0 - beta2);
            *p -= lr * m_hat / (v_hat.sqrt() + eps);
        }
    }

    let mut moved = 0;
    for i in 0..<Mnist as Tensors<f64>>::COUNT {
        let g = grads.tensor(i).unwrap_or(&[]);
        let old = before.tensor(i).unwrap_or(&[]);
        let new = net.tensor(i).unwrap_or(&[]);
        for ((&g, &old), &new) in g.iter().zip(old).zip(new) {
            if g.abs() > 1e-6 {
                let step = old - new;
                assert!(
                    (step - lr * g.signum()).abs() < 1e-3 * lr,
                    "tensor {i}: gradient {g} moved the value by {step}, expected {}",
                    lr * g.signum()
                );
                moved += 1;
            }
        }
    }
    assert!(moved > MNIST_PARAMS / 4, "only {moved} values moved");

    let (y_after, _) = net.forward_train(&x, &mut Rng::seed_from_u64(12));
    let loss_after = 0.5 * squared_error_gradient(&y_after).norm_squared();
    assert!(
        loss_after < loss_before,
        "one Adam step raised the loss from {loss_before} to {loss_after}"
    );
}

#[test]
fn boxed_f32_network_trains_on_default_stack() {
    let net = MnistF32::new_boxed(3);
    let mut grads = MnistF32::zero_grads_boxed();
    let mut first_moment = MnistF32::zero_grads_boxed();
    let second_moment = MnistF32::zero_grads_boxed();
    let x = images(2).map(|v| v as f32);

    let (y, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(1));
    assert!(y.iter().all(|v| v.is_finite()));
    let grad_out = SMatrix::<f32, 10, BATCH>::from_fn(|row, column| {
        y[(row, column)] - if row == column { 1.0 } else { 0.0 }
    });
    let grad_input = net.backward_into(&trace, &grad_out, &mut grads);
    assert!(grad_input.iter().all(|v| v.is_finite()));

    for i in 0..<MnistF32 as Tensors<f32>>::COUNT {
        let g = grads.tensor(i).unwrap_or(&[]);
        assert!(
            g.iter().all(|v| v.is_finite()),
            "tensor {i} has a non-finite gradient"
        );
        assert!(g.iter().any(|&v| v != 0.0), "tensor {i} is all zero");
        let m = first_moment.tensor_mut(i).unwrap_or(&mut []);
        for (m, &g) in m.iter_mut().zip(g) {
            *m += 0.1 * g;
        }
    }
    assert!(
        second_moment
            .tensor(0)
            .unwrap_or(&[])
            .iter()
            .all(|&v| v == 0.0)
    );
    let first_layer_moment = first_moment.tensor(0).unwrap_or(&[]);
    assert_eq!(first_layer_moment.len(), 784 * 512);
    assert!(first_layer_moment.iter().any(|&v| v != 0.0));
}

#[test]
fn dense_layer_accumulates_in_boxed_grads() {
    // The first layer on its own, through the `Layer` trait: its weight gradient is
    // accumulated into a boxed buffer that is larger than the whole test thread stack.
    let net = Mnist::new_boxed(21);
    let mut grads = Mnist::zero_grads_boxed();
    let x = images(22);
    let (h, trace) =
        Layer::<f64, 784, 512>::forward_train(&net.hidden1, &x, &mut Rng::seed_from_u64(0));
    let grad_out = h.map(|v| v.signum());
    Layer::<f64, 784, 512>::accumulate_grads(&net.hidden1, &trace, &grad_out, &mut grads.hidden1);
    Layer::<f64, 784, 512>::accumulate_grads(&net.hidden1, &trace, &grad_out, &mut grads.hidden1);

    for (row, column) in [(0, 0), (511, 783), (100, 400)] {
        let expected: f64 = 2.0
            * (0..BATCH)
                .map(|b| grad_out[(row, b)] * x[(column, b)])
                .sum::<f64>();
        let analytic = grads.hidden1.weight[(row, column)];
        assert!(
            (analytic - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "hidden1.weight[{row}, {column}]: {analytic}, expected {expected}"
        );
    }
}
