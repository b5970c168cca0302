// A catalogue directory without model files.
schemac_macros::catalogue!("fixtures/empty");

fn main() {}
