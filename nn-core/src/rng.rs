//! A seeded random number generator that needs neither `std` nor `alloc`.

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::float::Float;

/// A seeded PCG random number generator (PCG-XSL-RR 128/64, MCG variant).
///
/// The same seed gives the same sequence on every platform, so initialisation, dropout
/// masks and shuffling are reproducible bit for bit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    inner: Pcg64Mcg,
}

impl Rng {
    /// Creates a generator from a 64-bit seed.
    pub fn seed_from_u64(seed: u64) -> Self {
        Self {
            inner: Pcg64Mcg::seed_from_u64(seed),
        }
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Returns a uniform sample from `[0, 1)` with 53 random bits.
    pub fn uniform_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns a uniform sample from `[low, high)`.
    pub fn uniform<T: Float>(&mut self, low: T, high: T) -> T {
        let unit = T::from_f64_lossy(self.uniform_f64());
        low + (high - low) * unit
    }

    /// Returns a normal sample with the given mean and standard deviation (Box-Muller).
    pub fn normal<T: Float>(&mut self, mean: T, std_dev: T) -> T {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.uniform_f64();
        let u2 = self.uniform_f64();
        let radius = libm::sqrt(-2.0 * libm::log(u1));
        let standard = radius * libm::cos(core::f64::consts::TAU * u2);
        mean + std_dev * T::from_f64_lossy(standard)
    }

    /// Returns `true` with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform_f64() < p
    }

    /// Returns a uniform integer from `0..n`; `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0, "Rng::below needs a positive bound");
        // Lemire's multiply-shift with rejection, which has no modulo bias.
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// Shuffles a slice in place (Fisher-Yates).
    pub fn shuffle<X>(&mut self, items: &mut [X]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::seed_from_u64(7);
        let mut b = Rng::seed_from_u64(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn uniform_stays_in_range() {
        let mut rng = Rng::seed_from_u64(1);
        for _ in 0..10_000 {
            let v: f32 = rng.uniform(-2.0, 3.0);
            assert!((-2.0..3.0).contains(&v), "{v} outside [-2, 3)");
        }
    }

    #[test]
    fn normal_has_expected_moments() {
        let mut rng = Rng::seed_from_u64(3);
        let n = 200_000;
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for _ in 0..n {
            let v: f64 = rng.normal(1.0, 2.0);
            sum += v;
            sum_sq += v * v;
        }
        let mean = sum / n as f64;
        let variance = sum_sq / n as f64 - mean * mean;
        assert!((mean - 1.0).abs() < 0.02, "mean {mean}");
        assert!((variance - 4.0).abs() < 0.05, "variance {variance}");
    }

    #[test]
    fn below_covers_every_value() {
        let mut rng = Rng::seed_from_u64(5);
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            seen[rng.below(7) as usize] += 1;
        }
        for (value, count) in seen.iter().enumerate() {
            assert!(
                (800..1200).contains(count),
                "value {value} drawn {count} times"
            );
        }
    }
}
