// The argument must be a string literal.
schemac_macros::catalogue!(42);

fn main() {}
