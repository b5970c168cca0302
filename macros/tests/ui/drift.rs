// The catalogue gained a field since the committed files (those of
// `fixtures/drift_committed`, written beside the ui crate by compile_fail.rs) were generated.
schemac_macros::catalogue!("fixtures/drift");

fn main() {}
