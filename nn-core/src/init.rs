//! Weight initialisers.

use crate::float::{Float, c};
use crate::rng::Rng;

/// How a weight tensor is filled before training.
///
/// Fan-in and fan-out are the layer's input and output widths. The "He" variants suit
/// ReLU-family activations (they keep the activations' variance through the layer), the
/// "Glorot" variants suit sigmoid, tanh and linear outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Uniform on `[-a, a]` with `a = sqrt(6 / (fan_in + fan_out))` (Glorot and Bengio, 2010).
    GlorotUniform,
    /// Normal with standard deviation `sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// Uniform on `[-a, a]` with `a = sqrt(6 / fan_in)` (He et al., 2015).
    HeUniform,
    /// Normal with standard deviation `sqrt(2 / fan_in)`.
    HeNormal,
    /// All zeros.
    Zeros,
}

impl Init {
    /// Fills `values` for a layer with the given fan-in and fan-out.
    pub fn fill<T: Float>(self, values: &mut [T], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        let fan_in = fan_in.max(1) as f64;
        let fan_sum = (fan_in + fan_out as f64).max(1.0);
        match self {
            Init::GlorotUniform => fill_uniform(values, libm::sqrt(6.0 / fan_sum), rng),
            Init::GlorotNormal => fill_normal(values, libm::sqrt(2.0 / fan_sum), rng),
            Init::HeUniform => fill_uniform(values, libm::sqrt(6.0 / fan_in), rng),
            Init::HeNormal => fill_normal(values, libm::sqrt(2.0 / fan_in), rng),
            Init::Zeros => values.fill(T::zero()),
        }
    }
}

fn fill_uniform<T: Float>(values: &mut [T], limit: f64, rng: &mut Rng) {
    for value in values {
        *value = rng.uniform(c(-limit), c(limit));
    }
}

fn fill_normal<T: Float>(values: &mut [T], std_dev: f64, rng: &mut Rng) {
    for value in values {
        *value = rng.normal(T::zero(), c(std_dev));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_uniform_respects_limit() {
        let mut values = [0.0f64; 4096];
        Init::GlorotUniform.fill(&mut values, 64, 32, &mut Rng::seed_from_u64(1));
        let limit = (6.0f64 / 96.0).sqrt();
        assert!(values.iter().all(|v| v.abs() <= limit));
        let max = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            max > 0.95 * limit,
            "samples should reach near the limit, max {max}"
        );
    }

    #[test]
    fn he_normal_has_expected_spread() {
        let mut values = [0.0f64; 20_000];
        Init::HeNormal.fill(&mut values, 50, 10, &mut Rng::seed_from_u64(2));
        let variance = values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64;
        assert!((variance - 2.0 / 50.0).abs() < 0.002, "variance {variance}");
    }

    #[test]
    fn same_seed_gives_identical_weights() {
        let mut a = [0.0f32; 100];
        let mut b = [0.0f32; 100];
        Init::HeUniform.fill(&mut a, 10, 10, &mut Rng::seed_from_u64(9));
        Init::HeUniform.fill(&mut b, 10, 10, &mut Rng::seed_from_u64(9));
        assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
    }
}
