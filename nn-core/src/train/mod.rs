//! The training loop (`std` feature).
