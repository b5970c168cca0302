// A model with a misspelt BSON type: the error names file:line:column and the fix.
schemac_macros::catalogue!("fixtures/unknown_type");

fn main() {}
