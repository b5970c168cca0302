//! Runnable examples of the schemac library; see `examples/` beside this file
//! (`cargo run -p schemac-examples --example tables`).
//!
//! [`sample`] writes a deterministic mongodump of the escrow catalogue for demos and benchmarks;
//! [`handwritten`] is the serde transform of three collections the transform benchmark compares
//! the generated one with.

pub mod handwritten;
pub mod sample;
