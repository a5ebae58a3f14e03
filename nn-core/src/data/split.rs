//! Seeded train/validation splits.

use std::vec::Vec;

use super::{DataError, Dataset};
use crate::float::Float;
use crate::rng::Rng;

impl<T: Float, const IN: usize, const OUT: usize> Dataset<T, IN, OUT> {
    /// Splits off a random `validation_fraction` of the samples and returns
    /// `(train, validation)`.
    ///
    /// The validation set has `round(validation_fraction * len())` samples, drawn with
    /// `rng`, so the same seed gives the same split. Both parts keep the samples' original
    /// relative order.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidSplit`] when `validation_fraction` is not in `(0, 1)` or either
    /// part would be empty.
    pub fn split(
        &self,
        validation_fraction: f64,
        rng: &mut Rng,
    ) -> Result<(Self, Self), DataError> {
        check_fraction(validation_fraction, self.len())?;
        let mut order = self.order();
        rng.shuffle(&mut order);
        let count = validation_count(validation_fraction, self.len());
        self.split_at_indices(order.split_off(order.len() - count), validation_fraction)
    }

    /// Splits off a `validation_fraction` of the samples of each class and returns
    /// `(train, validation)`, so both parts keep the class proportions.
    ///
    /// Class `c` with `n` samples gives `round(validation_fraction * n)` of them to the
    /// validation set, drawn with `rng`. Because each class is rounded on its own, the
    /// total can differ by a few samples from `round(validation_fraction * len())`. Both
    /// parts keep the samples' original relative order.
    ///
    /// # Errors
    ///
    /// [`DataError::NoLabels`] for a regression set and [`DataError::InvalidSplit`] when
    /// `validation_fraction` is not in `(0, 1)` or either part would be empty.
    pub fn split_stratified(
        &self,
        validation_fraction: f64,
        rng: &mut Rng,
    ) -> Result<(Self, Self), DataError> {
        let labels = self.labels().ok_or(DataError::NoLabels)?;
        check_fraction(validation_fraction, self.len())?;
        let mut validation = Vec::new();
        for class in 0..OUT {
            let mut members: Vec<usize> = (0..self.len()).filter(|&i| labels[i] == class).collect();
            rng.shuffle(&mut members);
            let count = validation_count(validation_fraction, members.len());
            validation.extend_from_slice(&members[members.len() - count..]);
        }
        self.split_at_indices(validation, validation_fraction)
    }

    /// Puts the samples at `validation` into the second part and the rest into the first,
    /// each in the original order.
    fn split_at_indices(
        &self,
        mut validation: Vec<usize>,
        fraction: f64,
    ) -> Result<(Self, Self), DataError> {
        if validation.is_empty() || validation.len() == self.len() {
            return Err(DataError::InvalidSplit {
                fraction,
                len: self.len(),
            });
        }
        validation.sort_unstable();
        let mut in_validation = Vec::new();
        in_validation.resize(self.len(), false);
        for &index in &validation {
            in_validation[index] = true;
        }
        let train: Vec<usize> = (0..self.len()).filter(|&i| !in_validation[i]).collect();
        Ok((self.select(&train)?, self.select(&validation)?))
    }
}

fn check_fraction(fraction: f64, len: usize) -> Result<(), DataError> {
    // NaN fails both comparisons, so it is rejected too.
    if fraction > 0.0 && fraction < 1.0 {
        Ok(())
    } else {
        Err(DataError::InvalidSplit { fraction, len })
    }
}

/// Returns the number of samples out of `len` that go to the validation set.
fn validation_count(fraction: f64, len: usize) -> usize {
    ((fraction * len as f64).round() as usize).min(len)
}
