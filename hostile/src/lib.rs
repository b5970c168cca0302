//! A catalogue of hostile names, compiled: `models/` holds models whose modules are Rust
//! keywords (`type`, `match`), tables and columns named by SQL reserved words, Rust keywords,
//! comment markers, braces, quotes, backslashes and non-Latin scripts, and enum labels with line
//! breaks. That this crate builds is the test that the generated Rust is valid for all of them;
//! `tests/round_trip.rs` takes documents through it and through PostgreSQL. The committed
//! files beside it are checked against `models/` as in `escrow-schema`.

schemac_macros::catalogue!("models");
