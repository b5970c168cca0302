//! Arbitrary bytes as one YAML model file: parse, validate, render the findings, and for a
//! valid catalogue derive every output (see `schemac_fuzz::catalogue`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    schemac_fuzz::catalogue(data);
});
