// `registry!()` takes no input: it names the package's own `schema::REGISTRY`.
static R: &[u8] = schemac_macros::registry!(escrow_schema);

fn main() {}
