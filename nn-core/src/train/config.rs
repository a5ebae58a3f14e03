//! Training settings.

use std::boxed::Box;

use crate::augment::NoAugmentation;
use crate::optim::{LayerRates, Schedule};

/// Stops training when the validation loss has not improved for `patience` epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The number of epochs without improvement to wait before stopping.
    pub patience: usize,
    /// The smallest decrease of the validation loss that counts as an improvement.
    pub min_delta: f64,
    /// Whether to restore the parameters of the best epoch when training stops.
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement and restores the best parameters.
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            min_delta: 0.0,
            restore_best: true,
        }
    }
}

/// How [`fit`](super::fit()) trains: epochs, batch size `B`, seed, schedule and stopping.
///
/// The batch size is a type parameter because batches are statically sized matrices:
/// `TrainConfig::<32>::new(20)` trains 20 epochs on batches of 32 samples. `A` is the
/// data augmentation applied to each training sample as it is drawn.
pub struct TrainConfig<const B: usize, A = NoAugmentation> {
    /// The number of passes over the training set.
    pub epochs: usize,
    /// The seed of shuffling and dropout.
    pub seed: u64,
    /// The learning-rate schedule, evaluated per epoch from the optimizer's initial rate;
    /// `None` keeps the rate constant.
    pub schedule: Option<Box<dyn Schedule>>,
    /// Early stopping on the validation loss; needs a validation set.
    pub early_stopping: Option<EarlyStopping>,
    /// Clips the global gradient norm of each batch to this value.
    pub clip_grad_norm: Option<f64>,
    /// Learning-rate factors per layer, applied on top of the schedule; `None` trains
    /// every layer at the optimizer's rate.
    pub layer_rates: Option<LayerRates>,
    /// Whether to draw a progress bar and print one line per epoch (on stderr).
    pub progress: bool,
    /// The number of threads that compute the gradients of each batch and update the
    /// parameters, counting the calling thread; default 1. See [`threads`](Self::threads).
    pub threads: usize,
    /// The augmentation of training samples; validation samples are never augmented.
    pub augment: A,
}

impl<const B: usize> TrainConfig<B> {
    /// Trains `epochs` epochs with seed 0, a constant learning rate and a progress bar.
    pub fn new(epochs: usize) -> Self {
        Self {
            epochs,
            seed: 0,
            schedule: None,
            early_stopping: None,
            clip_grad_norm: None,
            layer_rates: None,
            progress: true,
            threads: 1,
            augment: NoAugmentation,
        }
    }
}

impl<const B: usize, A> TrainConfig<B, A> {
    /// Applies `augment` to every training sample as it is drawn, with the run's seeded
    /// random number generator.
    pub fn augment<A2>(self, augment: A2) -> TrainConfig<B, A2> {
        TrainConfig {
            epochs: self.epochs,
            seed: self.seed,
            schedule: self.schedule,
            early_stopping: self.early_stopping,
            clip_grad_norm: self.clip_grad_norm,
            layer_rates: self.layer_rates,
            progress: self.progress,
            threads: self.threads,
            augment,
        }
    }

    /// Sets the seed of shuffling and dropout.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule(mut self, schedule: impl Schedule + 'static) -> Self {
        self.schedule = Some(Box::new(schedule));
        self
    }

    /// Enables early stopping on the validation loss.
    pub fn early_stopping(mut self, early_stopping: EarlyStopping) -> Self {
        self.early_stopping = Some(early_stopping);
        self
    }

    /// Clips the global gradient norm of each batch.
    pub fn clip_grad_norm(mut self, max_norm: f64) -> Self {
        self.clip_grad_norm = Some(max_norm);
        self
    }

    /// Multiplies the learning rate of each layer by its factor in `rates`, for example
    /// to fine-tune a pretrained backbone more gently than a new head.
    ///
    /// [`fit`](super::fit()) rejects a name that matches no trainable tensor of the network
    /// before the first epoch.
    pub fn layer_rates(mut self, rates: LayerRates) -> Self {
        self.layer_rates = Some(rates);
        self
    }

    /// Trains on `threads` threads, counting the calling thread.
    ///
    /// With more than one, [`fit`](super::fit()) starts `threads - 1` worker threads
    /// ([`ParallelGrads`](super::parallel::ParallelGrads)) that split each batch with the
    /// calling thread, and the optimizer updates large tensors on all of them. Each batch
    /// is cut into sub-batches of a constant size: the largest of 64, 32, ..., 1 that
    /// divides the batch size into at least as many sub-batches as there are threads. That
    /// is 16 samples each for batches of 32 on two threads, but 2 for batches of 30 (15
    /// sub-batches), so batch sizes with a large power-of-two factor split best. With more
    /// threads than samples some threads stay idle.
    ///
    /// Shuffling and augmentation run on the calling thread with the run's generator.
    /// Dropout on several threads draws from a second generator seeded from
    /// [`seed`](Self::seed): sub-batch `c` of a step draws from a generator seeded from
    /// one value of it and from `c`. One thread runs each batch whole, with dropout drawn
    /// from the run's generator.
    ///
    /// Training is therefore bit-identical for the same seed and thread count on the same
    /// machine. A network without dropout gets the same batches in the same order for
    /// every thread count. The thread counts then differ only in the order in which
    /// gradients are summed: in the last bits after one step, more as training goes on.
    /// With dropout, each thread count also draws other masks, and one thread shuffles
    /// differently from more than one because its dropout draws from the run's generator.
    ///
    /// [`fit`](super::fit()) rejects 0 with [`TrainError::Threads`](super::TrainError::Threads).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Turns the progress bar and per-epoch lines off, for tests and CI.
    pub fn quiet(mut self) -> Self {
        self.progress = false;
        self
    }
}
