//! The escrow catalogue, compiled. The build validates `models/` through `schemac-macros`, so an
//! invalid catalogue fails `cargo build`; `schemac generate` writes the committed files beside
//! this crate (`catalogue.json` today).

schemac_macros::catalogue!("../models");
