//! Parsing: catalogue files in, typed declarations ([`syntax`]) and diagnostics out.

pub mod decode;
pub mod keys;
pub mod syntax;
pub mod yaml;
