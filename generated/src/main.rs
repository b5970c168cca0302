//! `escrow-schema backfill` and `escrow-schema verify`: the backfill and verification engines
//! over this catalogue's generated code (`schemac backfill` and `schemac verify` run this).

fn main() -> std::process::ExitCode {
    schemac_backfill::cli::main("escrow-schema", escrow_schema::schema::REGISTRY)
}
