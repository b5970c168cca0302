//! The engines that move data with schemac's generated code: [`backfill`] a
//! mongodump into PostgreSQL, [`verify`](verify::verify) the result against the dump, and the
//! command line over both ([`cli::main`]) that a generated crate's binary runs.
//!
//! They know nothing about a particular catalogue: every collection comes from the generated
//! `schema::REGISTRY` (see [`schemac_runtime::registry`]).
#![deny(missing_docs)]

pub mod cli;
mod copy;
pub mod fast;
pub mod load;
pub mod order;
pub mod stage;
mod table;
pub mod verify;

pub use load::{Options, Report, backfill};
