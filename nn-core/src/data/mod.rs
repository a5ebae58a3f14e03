//! Data input (`std` feature).
