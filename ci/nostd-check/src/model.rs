//! The network and the computations of the check, shared by the `#![no_std]` library and
//! the std reference program in `reference/`, so both compile the same source.

use static_nn::nalgebra::ComplexField;
use static_nn::prelude::*;

network! {
    /// A 4-8-3 classifier with dropout, so training also draws from the RNG.
    pub struct CheckNet<f32> {
        input: [4],
        hidden: Dense(8), Relu,
        Dropout(0.25),
        out: Dense(3),
    }
}

/// The seed of the weights and of the dropout masks.
pub const SEED: u64 = 7;

/// The number of input values per sample.
pub const INPUTS: usize = CheckNet::INPUT;

/// The number of classes.
pub const CLASSES: usize = CheckNet::OUTPUT;

/// The number of samples in the training batch of [`sgd_losses`].
pub const BATCH: usize = 3;

/// The learning rate and momentum of [`sgd_losses`].
const SGD: SgdConfig = SgdConfig {
    learning_rate: 0.1,
    momentum: 0.9,
    dampening: 0.0,
    weight_decay: 0.0,
    nesterov: false,
};

/// Runs inference on one sample with the network initialised from [`SEED`].
pub fn logits(input: &[f32; INPUTS]) -> [f32; CLASSES] {
    let network = CheckNet::new(SEED);
    network.forward(&SVector::from_column_slice(input)).into()
}

/// Returns the index of the largest logit; the first one wins a tie.
pub fn predict(input: &[f32; INPUTS]) -> usize {
    let logits = logits(input);
    let mut best = 0;
    for (class, &value) in logits.iter().enumerate() {
        if value > logits[best] {
            best = class;
        }
    }
    best
}

/// Runs one training step on one sample (forward with dropout, softmax cross-entropy
/// against `label`, backward into gradients on the stack) and returns the Euclidean norm
/// of all parameter gradients together.
///
/// Returns `None` when `label` is not a class index.
pub fn gradient_norm(input: &[f32; INPUTS], label: usize) -> Option<f32> {
    if label >= CLASSES {
        return None;
    }
    let network = CheckNet::new(SEED);
    let mut rng = Rng::seed_from_u64(SEED);
    let (logits, trace) = network.forward_train(&SVector::from_column_slice(input), &mut rng);

    // d(cross-entropy)/d(logits) = softmax(logits) - one_hot(label); subtracting the
    // maximum first keeps `exp` from overflowing.
    let max = logits.max();
    let exps = logits.map(|value| ComplexField::exp(value - max));
    let mut grad_out = exps / exps.sum();
    grad_out[label] -= 1.0;

    let mut grads = CheckNet::zero_grads();
    network.backward_into(&trace, &grad_out, &mut grads);

    let mut sum_of_squares = 0.0f32;
    for i in 0..<CheckNetGrads as Tensors<f32>>::COUNT {
        for value in grads.tensor(i).unwrap_or(&[]) {
            sum_of_squares += value * value;
        }
    }
    Some(ComplexField::sqrt(sum_of_squares))
}

/// Trains the network initialised from [`SEED`] for `steps` steps of SGD with momentum on
/// one batch (`inputs` with class `labels`), and returns the mean softmax cross-entropy
/// of the batch before and after, computed without dropout.
///
/// Everything lives on the stack: the network, the gradients, the trace and the
/// optimizer's momentum buffer, which `Sgd::new` keeps inline. Returns `None` when a
/// label is not a class index.
pub fn sgd_losses(
    inputs: &[[f32; INPUTS]; BATCH],
    labels: &[usize; BATCH],
    steps: usize,
) -> Option<(f32, f32)> {
    let batch = SMatrix::<f32, INPUTS, BATCH>::from_fn(|row, column| inputs[column][row]);
    let loss = |network: &CheckNet| {
        SoftmaxCrossEntropy
            .loss_labels(&network.forward_batch(&batch), labels)
            .ok()
    };

    let mut network = CheckNet::new(SEED);
    let mut optimizer = Sgd::<CheckNetGrads>::new(SGD).ok()?;
    let mut grads = CheckNet::zero_grads();
    let mut rng = Rng::seed_from_u64(SEED);
    let before = loss(&network)?;
    for _ in 0..steps {
        let (logits, trace) = network.forward_train(&batch, &mut rng);
        let (_, grad_out) = SoftmaxCrossEntropy
            .loss_and_grad_labels(&logits, labels)
            .ok()?;
        grads.fill_zero();
        network.backward_into(&trace, &grad_out, &mut grads);
        optimizer.step(&mut network, &grads).ok()?;
    }
    Some((before, loss(&network)?))
}
