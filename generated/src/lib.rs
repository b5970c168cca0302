//! The escrow catalogue, compiled. The build validates `models/` through `schemac-macros`, so an
//! invalid catalogue fails `cargo build`; `schemac generate` writes the committed files beside
//! this crate: `src/schema/` (row types, enums, `from_mongo` / `to_mongo` per collection),
//! `catalogue.json`, `sql/` and `migrations/`.

schemac_macros::catalogue!("../models");

#[rustfmt::skip] // Formatted by schemac (prettyplease), compared byte for byte by `schemac check`.
pub mod schema;
