//! Mini-batches: samples gathered into matrices with one column per sample.

use nalgebra::SMatrix;

use super::{DataError, Dataset, check_order};
use crate::float::Float;

/// What happens to the last batch of an epoch when the number of samples is not a
/// multiple of the batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartialBatch {
    /// Skip the remaining samples, so every batch is full. This suits training, where a
    /// new shuffle each epoch puts other samples in the remainder.
    Drop,
    /// Return them in a last batch padded with zero columns; its
    /// [`len`](Batch::len) is the number of real samples. This suits evaluation, where
    /// every sample must count.
    Pad,
}

/// `B` samples gathered into matrices, one column per sample.
///
/// Only the first [`len`](Self::len) columns are samples. The others, present only in a
/// last batch made with [`PartialBatch::Pad`], are zero inputs and targets with label 0,
/// so metrics and losses must ignore them.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch<T: Float, const IN: usize, const OUT: usize, const B: usize> {
    /// The inputs, one column per sample.
    pub inputs: SMatrix<T, IN, B>,
    /// The targets, one column per sample.
    pub targets: SMatrix<T, OUT, B>,
    /// The class labels of a classification set, or `None` for a regression set.
    pub labels: Option<[usize; B]>,
    /// The number of real samples: `B`, or fewer in a padded last batch.
    pub len: usize,
}

impl<T: Float, const IN: usize, const OUT: usize, const B: usize> Batch<T, IN, OUT, B> {
    /// Creates an all-zero batch with no samples, to be filled by
    /// [`Batches::next_into`].
    pub fn zeros() -> Self {
        Self {
            inputs: SMatrix::zeros(),
            targets: SMatrix::zeros(),
            labels: None,
            len: 0,
        }
    }

    /// Whether every column is a real sample.
    pub fn is_full(&self) -> bool {
        self.len == B
    }

    /// The labels of the real samples (without padding), or `None` for a regression set.
    pub fn real_labels(&self) -> Option<&[usize]> {
        self.labels.as_ref().map(|labels| &labels[..self.len])
    }
}

impl<T: Float, const IN: usize, const OUT: usize> Dataset<T, IN, OUT> {
    /// Returns an iterator over batches of `B` samples, taken in `order` (a list of sample
    /// indices, such as [`shuffled_order`](Self::shuffled_order) or
    /// [`order`](Self::order)).
    ///
    /// `partial` decides what happens to the last `order.len() % B` samples:
    /// [`PartialBatch::Drop`] skips them and [`PartialBatch::Pad`] returns them in a
    /// zero-padded batch whose `len` is below `B`.
    ///
    /// # Errors
    ///
    /// [`DataError::IndexOutOfRange`] when `order` contains an index of `len()` or more.
    pub fn batches<'a, const B: usize>(
        &'a self,
        order: &'a [usize],
        partial: PartialBatch,
    ) -> Result<Batches<'a, T, IN, OUT, B>, DataError> {
        const { assert!(B > 0, "the batch size must be at least 1") };
        check_order(order, self.len())?;
        Ok(Batches {
            data: self,
            order,
            next: 0,
            partial,
        })
    }
}

/// An iterator over the mini-batches of a [`Dataset`], made by [`Dataset::batches`].
#[derive(Clone, Debug)]
pub struct Batches<'a, T: Float, const IN: usize, const OUT: usize, const B: usize> {
    data: &'a Dataset<T, IN, OUT>,
    order: &'a [usize],
    /// The position in `order` of the next batch's first sample.
    next: usize,
    partial: PartialBatch,
}

impl<T: Float, const IN: usize, const OUT: usize, const B: usize> Batches<'_, T, IN, OUT, B> {
    /// Fills `batch` with the next batch in place and returns `false` when there is none
    /// left, leaving `batch` unchanged then.
    ///
    /// This avoids moving the batch matrices, which helps when a large batch would
    /// otherwise be copied on a small thread stack.
    pub fn next_into(&mut self, batch: &mut Batch<T, IN, OUT, B>) -> bool {
        let remaining = self.order.len() - self.next;
        let len = remaining.min(B);
        if len == 0 || len < B && self.partial == PartialBatch::Drop {
            return false;
        }
        let indices = &self.order[self.next..self.next + len];
        self.next += len;

        batch.inputs.as_mut_slice().fill(T::zero());
        batch.targets.as_mut_slice().fill(T::zero());
        for (column, &index) in indices.iter().enumerate() {
            batch.inputs.set_column(column, &self.data.inputs[index]);
            batch.targets.set_column(column, &self.data.targets[index]);
        }
        batch.labels = self.data.labels.as_ref().map(|labels| {
            let mut batch_labels = [0; B];
            for (column, &index) in indices.iter().enumerate() {
                batch_labels[column] = labels[index];
            }
            batch_labels
        });
        batch.len = len;
        true
    }
}

impl<T: Float, const IN: usize, const OUT: usize, const B: usize> Iterator
    for Batches<'_, T, IN, OUT, B>
{
    type Item = Batch<T, IN, OUT, B>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch = Batch::zeros();
        self.next_into(&mut batch).then_some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.order.len() - self.next;
        let count = match self.partial {
            PartialBatch::Drop => remaining / B,
            PartialBatch::Pad => remaining.div_ceil(B),
        };
        (count, Some(count))
    }
}

impl<T: Float, const IN: usize, const OUT: usize, const B: usize> ExactSizeIterator
    for Batches<'_, T, IN, OUT, B>
{
}
