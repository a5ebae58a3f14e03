//! Data input (`std` feature): CSV and IDX readers, seeded shuffling, mini-batches,
//! train/validation splits, standardisation and one-hot labels.
//!
//! A [`Dataset<T, IN, OUT>`] carries its input and target sizes in its type, so passing a
//! data set to a network of another shape is a compile error, not a run-time one:
//!
//! ```compile_fail,E0308
//! use nn_core::data::Dataset;
//!
//! fn train_iris(_data: &Dataset<f32, 4, 3>) {}
//!
//! let digits = Dataset::<f32, 64, 10>::from_labels(Vec::new(), Vec::new()).unwrap();
//! train_iris(&digits); // expected `Dataset<f32, 4, 3>`, found `Dataset<f32, 64, 10>`
//! ```
//!
//! Readers
//! check every value and return a [`DataError`] that names the file, the line (or IDX
//! record) and the column, instead of panicking on bad input.
//!
//! ```no_run
//! use nn_core::data::{Dataset, DataError, PartialBatch, Standardizer};
//! use nn_core::Rng;
//!
//! # fn main() -> Result<(), DataError> {
//! // 4 features, 3 classes (one-hot targets).
//! let data = Dataset::<f32, 4, 3>::read_csv_classification("data/iris.csv")?;
//! let mut rng = Rng::seed_from_u64(42);
//! let (mut train, mut validation) = data.split_stratified(0.2, &mut rng)?;
//!
//! // Standardise with statistics of the training set only.
//! let scaler = Standardizer::fit(train.inputs())?;
//! scaler.apply(&mut train);
//! scaler.apply(&mut validation);
//!
//! let order = train.shuffled_order(&mut rng);
//! for batch in train.batches::<16>(&order, PartialBatch::Drop)? {
//!     assert_eq!(batch.len, 16);
//! }
//! # Ok(())
//! # }
//! ```

mod batch;
mod csv;
mod error;
mod idx;
mod split;
mod standardize;

use std::vec::Vec;

use nalgebra::SVector;

use crate::float::Float;
use crate::rng::Rng;

pub use batch::{Batch, Batches, PartialBatch};
pub use error::{DataError, Position};
pub use idx::{read_idx_images, read_idx_labels};
pub use standardize::Standardizer;

/// Samples with `IN` input values and `OUT` target values each.
///
/// A classification set has `OUT` classes: its targets are one-hot vectors and it also
/// stores the integer labels ([`labels`](Self::labels) returns `Some`). A regression set
/// stores only targets. Inputs, targets and labels always have the same length.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T: Float, const IN: usize, const OUT: usize> {
    inputs: Vec<SVector<T, IN>>,
    targets: Vec<SVector<T, OUT>>,
    labels: Option<Vec<usize>>,
}

impl<T: Float, const IN: usize, const OUT: usize> Dataset<T, IN, OUT> {
    /// Creates a classification set from inputs and class labels in `0..OUT`; the targets
    /// are the labels' one-hot vectors.
    ///
    /// # Errors
    ///
    /// [`DataError::LengthMismatch`] when the lengths differ and
    /// [`DataError::InvalidLabel`] for a label of `OUT` or more.
    pub fn from_labels(inputs: Vec<SVector<T, IN>>, labels: Vec<usize>) -> Result<Self, DataError> {
        if inputs.len() != labels.len() {
            return Err(DataError::LengthMismatch {
                inputs: inputs.len(),
                targets: labels.len(),
            });
        }
        let mut targets = Vec::with_capacity(labels.len());
        for (index, &label) in labels.iter().enumerate() {
            let target = one_hot(label).ok_or(DataError::InvalidLabel {
                index,
                label,
                classes: OUT,
            })?;
            targets.push(target);
        }
        Ok(Self {
            inputs,
            targets,
            labels: Some(labels),
        })
    }

    /// Creates a regression set from inputs and targets.
    ///
    /// # Errors
    ///
    /// [`DataError::LengthMismatch`] when the lengths differ.
    pub fn from_targets(
        inputs: Vec<SVector<T, IN>>,
        targets: Vec<SVector<T, OUT>>,
    ) -> Result<Self, DataError> {
        if inputs.len() != targets.len() {
            return Err(DataError::LengthMismatch {
                inputs: inputs.len(),
                targets: targets.len(),
            });
        }
        Ok(Self {
            inputs,
            targets,
            labels: None,
        })
    }

    /// Returns the number of samples.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Returns whether the data set has no samples.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Returns the input vectors, one per sample.
    pub fn inputs(&self) -> &[SVector<T, IN>] {
        &self.inputs
    }

    /// Returns the input vectors for changing in place, for example by data augmentation.
    pub fn inputs_mut(&mut self) -> &mut [SVector<T, IN>] {
        &mut self.inputs
    }

    /// Returns the target vectors, one per sample (one-hot for a classification set).
    pub fn targets(&self) -> &[SVector<T, OUT>] {
        &self.targets
    }

    /// Returns the class labels of a classification set, or `None` for a regression set.
    pub fn labels(&self) -> Option<&[usize]> {
        self.labels.as_deref()
    }

    /// Returns whether the data set has class labels.
    pub fn is_classification(&self) -> bool {
        self.labels.is_some()
    }

    /// Counts the samples of each class; returns `None` for a regression set.
    pub fn class_counts(&self) -> Option<[usize; OUT]> {
        let labels = self.labels.as_ref()?;
        let mut counts = [0; OUT];
        for &label in labels {
            counts[label] += 1;
        }
        Some(counts)
    }

    /// Returns a new data set with the samples at `indices`, in that order (an index may
    /// repeat).
    ///
    /// # Errors
    ///
    /// [`DataError::IndexOutOfRange`] for an index of `len()` or more.
    pub fn select(&self, indices: &[usize]) -> Result<Self, DataError> {
        check_order(indices, self.len())?;
        Ok(Self {
            inputs: indices.iter().map(|&i| self.inputs[i]).collect(),
            targets: indices.iter().map(|&i| self.targets[i]).collect(),
            labels: self
                .labels
                .as_ref()
                .map(|labels| indices.iter().map(|&i| labels[i]).collect()),
        })
    }

    /// Returns the indices `0..len()` in order, for evaluation batches.
    pub fn order(&self) -> Vec<usize> {
        (0..self.len()).collect()
    }

    /// Returns the indices `0..len()` shuffled with `rng` (Fisher-Yates), for training
    /// batches.
    ///
    /// The same seed gives the same order. To reshuffle each epoch without allocating,
    /// keep the vector and call [`Rng::shuffle`] on it.
    pub fn shuffled_order(&self, rng: &mut Rng) -> Vec<usize> {
        let mut order = self.order();
        rng.shuffle(&mut order);
        order
    }

    /// Shuffles the samples in place, keeping inputs, targets and labels together.
    pub fn shuffle(&mut self, rng: &mut Rng) {
        let order = self.shuffled_order(rng);
        self.inputs = order.iter().map(|&i| self.inputs[i]).collect();
        self.targets = order.iter().map(|&i| self.targets[i]).collect();
        if let Some(labels) = &mut self.labels {
            *labels = order.iter().map(|&i| labels[i]).collect();
        }
    }
}

/// Returns the one-hot vector of class `label` among `K` classes, or `None` when `label`
/// is `K` or more.
///
/// [`metrics::argmax`](crate::metrics::argmax) is the inverse.
pub fn one_hot<T: Float, const K: usize>(label: usize) -> Option<SVector<T, K>> {
    if label >= K {
        return None;
    }
    let mut target = SVector::<T, K>::zeros();
    target[label] = T::one();
    Some(target)
}

/// Checks that every entry of `order` is a sample index below `len`.
fn check_order(order: &[usize], len: usize) -> Result<(), DataError> {
    match order.iter().position(|&index| index >= len) {
        Some(position) => Err(DataError::IndexOutOfRange {
            position,
            index: order[position],
            len,
        }),
        None => Ok(()),
    }
}
