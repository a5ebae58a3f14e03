//! Trains a 2-8-1 network on XOR with a hand-written gradient-descent loop over the
//! generated backward pass, until it classifies all four points.
//!
//! Run with `cargo run --example xor`.

use static_nn::prelude::*;

network! {
    /// Maps two bits to the logit of their exclusive or.
    struct XorNet<f32> {
        input: [2],
        hidden: Dense(8), Tanh,
        out: Dense(1),
    }
}

const LEARNING_RATE: f32 = 0.5;
const MAX_EPOCHS: usize = 5_000;

fn main() {
    let inputs = SMatrix::<f32, 2, 4>::from_columns(&[
        SVector::<f32, 2>::new(0.0, 0.0),
        SVector::<f32, 2>::new(0.0, 1.0),
        SVector::<f32, 2>::new(1.0, 0.0),
        SVector::<f32, 2>::new(1.0, 1.0),
    ]);
    let targets = SMatrix::<f32, 1, 4>::new(0.0, 1.0, 1.0, 0.0);

    let mut net = XorNet::new(7);
    let mut rng = Rng::seed_from_u64(7);
    println!("{}", XorNet::summary());

    for epoch in 1..=MAX_EPOCHS {
        let (logits, trace) = net.forward_train(&inputs, &mut rng);

        // Binary cross-entropy on logits: the gradient is sigmoid(z) - target, averaged.
        let probabilities = logits.map(sigmoid);
        let loss = binary_cross_entropy(&logits, &targets);
        let grad_out = (probabilities - targets) / 4.0;

        let (grads, _) = net.backward(&trace, &grad_out);
        for i in 0..<XorNet as Tensors<f32>>::COUNT {
            let (Some(params), Some(grad)) = (net.tensor_mut(i), grads.tensor(i)) else {
                continue;
            };
            for (param, g) in params.iter_mut().zip(grad) {
                *param -= LEARNING_RATE * g;
            }
        }

        let correct = probabilities
            .iter()
            .zip(targets.iter())
            .filter(|(p, t)| (**p > 0.5) == (**t > 0.5))
            .count();
        if epoch % 25 == 0 {
            println!("epoch {epoch:>5}  loss {loss:.5}  correct {correct}/4");
        }
        if correct == 4 && loss < 0.05 {
            println!("epoch {epoch:>5}  loss {loss:.5}  all four points correct");
            break;
        }
    }

    for (x, t) in inputs.column_iter().zip(targets.iter()) {
        let p = sigmoid(net.forward(&x.into_owned())[0]);
        println!("{} xor {} = {t}: predicted probability {p:.3}", x[0], x[1]);
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Mean binary cross-entropy of logits `z` against 0/1 targets, in its stable form
/// `max(z, 0) - z t + ln(1 + exp(-|z|))`.
fn binary_cross_entropy(z: &SMatrix<f32, 1, 4>, t: &SMatrix<f32, 1, 4>) -> f32 {
    z.iter()
        .zip(t.iter())
        .map(|(&z, &t)| z.max(0.0) - z * t + (-z.abs()).exp().ln_1p())
        .sum::<f32>()
        / 4.0
}
