//! Prints what `main.c` prints, computed by the same source (`../src/model.rs`) built with
//! `std`, so `run.sh` can compare the two outputs line by line.

#[path = "../../src/model.rs"]
mod model;

/// The same samples and labels as `main.c`.
const SAMPLES: [[f32; model::INPUTS]; 3] = [
    [0.5, -1.0, 2.0, 0.25],
    [-2.0, -2.0, -1.0, -2.0],
    [-1.0, 2.0, -2.0, -2.0],
];
const LABELS: [usize; 3] = [0, 1, 2];

/// The number of SGD steps, as in `main.c`.
const TRAIN_STEPS: usize = 20;

fn main() {
    for (i, (sample, &label)) in SAMPLES.iter().zip(&LABELS).enumerate() {
        println!("sample {i} prediction {}", model::predict(sample));
        let bits: Vec<String> = model::logits(sample)
            .iter()
            .map(|value| format!("{:08x}", value.to_bits()))
            .collect();
        println!("sample {i} logits {}", bits.join(" "));
        match model::gradient_norm(sample, label) {
            Some(norm) => println!("sample {i} gradient_norm {norm:.9}"),
            None => println!("sample {i} gradient_norm -1"),
        }
    }
    match model::sgd_losses(&SAMPLES, &LABELS, TRAIN_STEPS) {
        Some((before, after)) => {
            println!("train loss_before {before:.9}");
            println!("train loss_after {after:.9}");
        }
        None => println!("train failed"),
    }
}
