//! The training loop (`std` feature): mini-batch training with a progress bar,
//! validation, early stopping and a returned history.

mod config;
mod crew;
mod error;
mod evaluate;
mod fit;
mod history;
pub mod parallel;

pub use config::{EarlyStopping, TrainConfig};
pub use error::TrainError;
pub use evaluate::{Evaluation, evaluate};
pub use fit::{SET_GRADS_MIN_VALUES, compute_grads, fit};
pub use history::{EpochRecord, History};
