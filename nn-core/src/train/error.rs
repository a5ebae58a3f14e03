//! Errors that stop training.

use std::fmt;

use super::parallel::ParallelError;
use crate::optim::OptimError;

/// Why [`fit`](super::fit()) stopped before finishing.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainError {
    /// The loss of a batch became NaN or infinite.
    NonFiniteLoss {
        /// The epoch, counting from 1.
        epoch: usize,
        /// The batch within the epoch, counting from 1.
        batch: usize,
        /// The loss value.
        loss: f64,
    },
    /// The training set has fewer samples than one batch.
    TooFewSamples {
        /// The number of training samples.
        samples: usize,
        /// The batch size.
        batch: usize,
    },
    /// Early stopping was requested without a validation set.
    NoValidationSet,
    /// The optimizer, schedule, gradient clipping or layer rates rejected a setting.
    Optimizer(OptimError),
    /// The thread count ([`TrainConfig::threads`](super::TrainConfig::threads)) was 0,
    /// or the worker threads could not be started.
    Threads(ParallelError),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::NonFiniteLoss { epoch, batch, loss } => write!(
                f,
                "loss became {loss} in epoch {epoch}, batch {batch}; lower the learning rate or clip gradients"
            ),
            TrainError::TooFewSamples { samples, batch } => write!(
                f,
                "the training set has {samples} samples, fewer than one batch of {batch}; use a smaller batch size"
            ),
            TrainError::NoValidationSet => write!(
                f,
                "early stopping needs a validation set; pass one to `fit` or turn early stopping off"
            ),
            TrainError::Optimizer(error) => write!(f, "{error}"),
            TrainError::Threads(ParallelError::NoThreads) => write!(
                f,
                "invalid thread count 0: training needs at least 1 thread; set `TrainConfig::threads` to 1 or more"
            ),
            TrainError::Threads(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for TrainError {}
