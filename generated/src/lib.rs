//! The escrow catalogue, compiled. `catalogue!` validates `models/`, checks that the committed
//! files beside this crate match it (`src/schema/`, `catalogue.json`, `sql/`, `migrations/`:
//! what `schemac generate` and `schemac migrate new` write), and expands to the same code as
//! `src/schema/`: per collection its row types, enums, `from_mongo` and `to_mongo`. A stale file
//! is a compile error: `schema drift: models/payment.yaml changed; run `schemac generate``.

schemac_macros::catalogue!("../models");
