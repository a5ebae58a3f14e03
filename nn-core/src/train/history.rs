//! Per-epoch records of a training run.

use std::vec::Vec;

/// The losses and accuracies of one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochRecord {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The learning rate used in this epoch.
    pub learning_rate: f64,
    /// The mean training loss over the epoch's batches (dropout active).
    pub train_loss: f64,
    /// The fraction of training samples classified correctly during the epoch, for
    /// classification sets.
    pub train_accuracy: Option<f64>,
    /// The validation loss after the epoch, in inference mode.
    pub validation_loss: Option<f64>,
    /// The validation accuracy after the epoch, for classification sets.
    pub validation_accuracy: Option<f64>,
    /// The wall time of the epoch in seconds, including validation.
    pub seconds: f64,
}

/// The records of a training run, one per finished epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The records in epoch order.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose parameters the network holds after early stopping restored them.
    pub restored_epoch: Option<usize>,
}

impl History {
    /// The last record, if any epoch finished.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// The record with the lowest validation loss, if there was a validation set.
    pub fn best_validation(&self) -> Option<&EpochRecord> {
        self.epochs
            .iter()
            .filter(|record| record.validation_loss.is_some())
            .min_by(|a, b| {
                a.validation_loss
                    .partial_cmp(&b.validation_loss)
                    .unwrap_or(core::cmp::Ordering::Equal)
            })
    }
}
