//! Runnable examples of the schemac library; see `examples/` beside this file
//! (`cargo run -p schemac-examples --example tables`).
