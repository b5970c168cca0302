//! Arbitrary bytes as a collection (first byte) and a BSON document (the rest): `from_mongo`
//! in both modes, `to_mongo`, and the transform of its output (see `schemac_fuzz::from_mongo`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    schemac_fuzz::from_mongo(data);
});
