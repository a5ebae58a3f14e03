//! Classification metrics: accuracy, confusion matrix, precision, recall and F1.
//!
//! Everything here works without `std` or `alloc`: a [`ConfusionMatrix<K>`] is a fixed
//! `K x K` array of counts, filled one sample or one batch at a time.
//!
//! A ratio whose denominator is 0 is defined as 0, as with scikit-learn's
//! `zero_division=0`. This covers the precision of a class that is never predicted, the
//! recall of a class without samples, their F1 score, and the accuracy of no samples.
//!
//! Macro averages are taken over the classes that occur at all, as a true class or as a
//! prediction, so a class absent from a small evaluation set does not pull them down.
//! scikit-learn's default does the same: it averages over the labels present in `y_true`
//! and `y_pred`.

use core::fmt;

use nalgebra::{SMatrix, SVector};

use crate::float::Float;

/// Returns the index of the largest value: the predicted class of a vector of scores or
/// probabilities.
///
/// The first index wins a tie. NaN is never the largest unless every value is NaN, and
/// then the result is 0.
pub fn argmax<T: Float, const K: usize>(values: &SVector<T, K>) -> usize {
    let mut best = 0;
    for (i, &value) in values.iter().enumerate() {
        let best_is_nan = values[best].as_f64().is_nan();
        if value > values[best] || best_is_nan && !value.as_f64().is_nan() {
            best = i;
        }
    }
    best
}

/// Returns the fraction of positions where `predicted` equals `actual`, or 0 for empty
/// slices.
///
/// # Errors
///
/// [`MetricsError::LengthMismatch`] when the slices differ in length.
pub fn accuracy(predicted: &[usize], actual: &[usize]) -> Result<f64, MetricsError> {
    check_lengths(predicted.len(), actual.len())?;
    let correct = predicted.iter().zip(actual).filter(|(p, a)| p == a).count();
    Ok(ratio(correct as u64, predicted.len() as u64))
}

/// An error in the arguments of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsError {
    /// The predictions and the true classes differ in number.
    LengthMismatch {
        /// The number of predictions.
        predicted: usize,
        /// The number of true classes.
        actual: usize,
    },
    /// A class index is not below the number of classes.
    ClassOutOfRange {
        /// The position of the sample in the slices or batch.
        index: usize,
        /// The class index found there.
        class: usize,
        /// The number of classes.
        classes: usize,
    },
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricsError::LengthMismatch { predicted, actual } => write!(
                f,
                "got {predicted} predictions but {actual} true classes; expected one prediction per sample"
            ),
            MetricsError::ClassOutOfRange {
                index,
                class,
                classes,
            } => write!(
                f,
                "sample {index} has class {class}, but there are only {classes} classes (0 to {})",
                classes.saturating_sub(1)
            ),
        }
    }
}

impl core::error::Error for MetricsError {}

/// Counts of (true class, predicted class) pairs for `K` classes.
///
/// Row `i`, column `j` counts the samples of true class `i` predicted as class `j`, so the
/// diagonal contains the correct predictions. `Display` prints the matrix with these rows
/// and columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix<const K: usize> {
    counts: [[u64; K]; K],
}

impl<const K: usize> Default for ConfusionMatrix<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize> ConfusionMatrix<K> {
    /// Creates an empty matrix.
    pub const fn new() -> Self {
        Self {
            counts: [[0; K]; K],
        }
    }

    /// Creates a matrix from true classes and predictions.
    ///
    /// # Errors
    ///
    /// As for [`add_all`](Self::add_all).
    pub fn from_classes(actual: &[usize], predicted: &[usize]) -> Result<Self, MetricsError> {
        let mut matrix = Self::new();
        matrix.add_all(actual, predicted)?;
        Ok(matrix)
    }

    /// Counts one sample.
    ///
    /// # Errors
    ///
    /// [`MetricsError::ClassOutOfRange`] (with index 0) when a class is `K` or more.
    pub fn add(&mut self, actual: usize, predicted: usize) -> Result<(), MetricsError> {
        check_class::<K>(0, actual)?;
        check_class::<K>(0, predicted)?;
        self.counts[actual][predicted] += 1;
        Ok(())
    }

    /// Counts a sample for each position of `actual` and `predicted`.
    ///
    /// Nothing is counted when an error is returned.
    ///
    /// # Errors
    ///
    /// [`MetricsError::LengthMismatch`] when the slices differ in length and
    /// [`MetricsError::ClassOutOfRange`] for a class of `K` or more.
    pub fn add_all(&mut self, actual: &[usize], predicted: &[usize]) -> Result<(), MetricsError> {
        check_lengths(predicted.len(), actual.len())?;
        for (index, (&a, &p)) in actual.iter().zip(predicted).enumerate() {
            check_class::<K>(index, a)?;
            check_class::<K>(index, p)?;
        }
        for (&a, &p) in actual.iter().zip(predicted) {
            self.counts[a][p] += 1;
        }
        Ok(())
    }

    /// Counts the first `labels.len()` columns of a batch of network outputs, predicting
    /// the class with the largest output ([`argmax`]) for each.
    ///
    /// Pass only the real samples' labels, so the padding columns of a padded batch are
    /// not counted. Nothing is counted when an error is returned.
    ///
    /// # Errors
    ///
    /// [`MetricsError::LengthMismatch`] when there are more labels than columns and
    /// [`MetricsError::ClassOutOfRange`] for a label of `K` or more.
    pub fn add_outputs<T: Float, const B: usize>(
        &mut self,
        outputs: &SMatrix<T, K, B>,
        labels: &[usize],
    ) -> Result<(), MetricsError> {
        if labels.len() > B {
            return Err(MetricsError::LengthMismatch {
                predicted: B,
                actual: labels.len(),
            });
        }
        for (index, &label) in labels.iter().enumerate() {
            check_class::<K>(index, label)?;
        }
        for (column, &label) in labels.iter().enumerate() {
            let predicted = argmax(&outputs.column(column).into_owned());
            self.counts[label][predicted] += 1;
        }
        Ok(())
    }

    /// Adds the counts of `other`, for example from another batch or thread.
    pub fn merge(&mut self, other: &Self) {
        for (row, other_row) in self.counts.iter_mut().zip(&other.counts) {
            for (count, other_count) in row.iter_mut().zip(other_row) {
                *count += other_count;
            }
        }
    }

    /// Returns the counts, indexed `[true class][predicted class]`.
    pub fn counts(&self) -> &[[u64; K]; K] {
        &self.counts
    }

    /// Returns the number of samples of true class `actual` predicted as `predicted`, or
    /// 0 when either is `K` or more.
    pub fn count(&self, actual: usize, predicted: usize) -> u64 {
        self.counts
            .get(actual)
            .and_then(|row| row.get(predicted))
            .copied()
            .unwrap_or(0)
    }

    /// Returns the number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Returns the number of correct predictions (the diagonal).
    pub fn correct(&self) -> u64 {
        (0..K).map(|i| self.counts[i][i]).sum()
    }

    /// Returns the fraction of correct predictions, or 0 when nothing was counted.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// Returns the number of samples whose true class is `class` (the row sum).
    pub fn support(&self, class: usize) -> u64 {
        self.counts.get(class).map_or(0, |row| row.iter().sum())
    }

    /// Returns the number of samples predicted as `class` (the column sum).
    pub fn predicted(&self, class: usize) -> u64 {
        if class >= K {
            return 0;
        }
        self.counts.iter().map(|row| row[class]).sum()
    }

    /// Returns the precision of `class`: the fraction of samples predicted as `class` that are of
    /// that class. 0 when `class` is never predicted.
    pub fn precision(&self, class: usize) -> f64 {
        ratio(self.count(class, class), self.predicted(class))
    }

    /// Returns the recall of `class`: the fraction of samples of that class predicted as `class`.
    /// 0 when the class has no samples.
    pub fn recall(&self, class: usize) -> f64 {
        ratio(self.count(class, class), self.support(class))
    }

    /// Returns the F1 score of `class`, the harmonic mean of precision and recall. 0 when both
    /// are 0.
    pub fn f1(&self, class: usize) -> f64 {
        // 2 tp / (2 tp + fp + fn) equals the harmonic mean and avoids dividing twice.
        let true_positives = self.count(class, class);
        let denominator = self.support(class) + self.predicted(class);
        ratio(2 * true_positives, denominator)
    }

    /// Returns the mean precision over the classes that occur.
    pub fn macro_precision(&self) -> f64 {
        self.macro_average(Self::precision)
    }

    /// Returns the mean recall over the classes that occur.
    pub fn macro_recall(&self) -> f64 {
        self.macro_average(Self::recall)
    }

    /// Returns the mean F1 score over the classes that occur.
    pub fn macro_f1(&self) -> f64 {
        self.macro_average(Self::f1)
    }

    /// Returns whether `class` is the true class or the prediction of at least one sample.
    pub fn occurs(&self, class: usize) -> bool {
        self.support(class) > 0 || self.predicted(class) > 0
    }

    /// Returns a value that displays precision, recall, F1 score and support per class,
    /// then accuracy and the macro averages.
    pub fn report(&self) -> Report<'_, K> {
        Report { matrix: self }
    }

    fn macro_average(&self, metric: fn(&Self, usize) -> f64) -> f64 {
        let classes = (0..K).filter(|&class| self.occurs(class));
        let (sum, count) = classes.fold((0.0, 0u64), |(sum, count), class| {
            (sum + metric(self, class), count + 1)
        });
        if count == 0 { 0.0 } else { sum / count as f64 }
    }
}

impl<const K: usize> fmt::Display for ConfusionMatrix<K> {
    /// Prints one row per true class and one column per predicted class, under a header
    /// `true \ predicted`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CORNER: &str = "true \\ predicted";
        let largest = self.counts.iter().flatten().copied().max().unwrap_or(0);
        let width = digits(largest).max(digits(K.saturating_sub(1) as u64));

        write!(f, "{CORNER}")?;
        for class in 0..K {
            write!(f, " {class:>width$}")?;
        }
        for (class, row) in self.counts.iter().enumerate() {
            write!(f, "\n{class:>corner$}", corner = CORNER.len())?;
            for count in row {
                write!(f, " {count:>width$}")?;
            }
        }
        Ok(())
    }
}

/// Per-class precision, recall, F1 score and support of a [`ConfusionMatrix`], for
/// printing. Made by [`ConfusionMatrix::report`].
#[derive(Clone, Copy, Debug)]
pub struct Report<'a, const K: usize> {
    matrix: &'a ConfusionMatrix<K>,
}

impl<const K: usize> fmt::Display for Report<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.matrix;
        writeln!(f, "class  precision  recall      f1  support")?;
        for class in 0..K {
            writeln!(
                f,
                "{class:>5}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
                m.precision(class),
                m.recall(class),
                m.f1(class),
                m.support(class)
            )?;
        }
        writeln!(f, "accuracy {:.4} of {} samples", m.accuracy(), m.total())?;
        write!(
            f,
            "macro average: precision {:.4}, recall {:.4}, f1 {:.4}",
            m.macro_precision(),
            m.macro_recall(),
            m.macro_f1()
        )
    }
}

fn check_lengths(predicted: usize, actual: usize) -> Result<(), MetricsError> {
    if predicted != actual {
        return Err(MetricsError::LengthMismatch { predicted, actual });
    }
    Ok(())
}

fn check_class<const K: usize>(index: usize, class: usize) -> Result<(), MetricsError> {
    if class >= K {
        return Err(MetricsError::ClassOutOfRange {
            index,
            class,
            classes: K,
        });
    }
    Ok(())
}

/// `numerator / denominator`, or 0 when the denominator is 0.
fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// The number of decimal digits of `value`.
fn digits(value: u64) -> usize {
    value.checked_ilog10().map_or(1, |log| log as usize + 1)
}
