//! `Numeric` against a real PostgreSQL: our binary encoding must read back as the same text
//! PostgreSQL prints, and PostgreSQL's encoding must decode to the same value.
//!
//! Each test gets its own database from schemac-testdb (see DEVELOPERS.md).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use postgres::Client;
use schemac_runtime::bsonval::{POSTGRES_MIN_TIMESTAMP_MILLIS, datetime_from_bson};
use schemac_runtime::{Numeric, NumericError};
use schemac_testdb::TestDb;

/// 2^256 - 1.
const UINT256_MAX: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";
/// The largest numeric(38,18) value.
const MONEY_MAX: &str = "99999999999999999999.999999999999999999";

/// Values whose text form PostgreSQL must print back unchanged.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.0001",
    "10000",
    "0.000000000000000001",
    "1.50",
    "100.000",
    "-12345.6789",
    "0.1",
    "9999.9999",
    "123456789012345678901234567890.123456789",
    MONEY_MAX,
    UINT256_MAX,
];

/// A fresh database of its own (schemac-testdb: DATABASE_URL, the local server, or a private
/// one), dropped with the returned guard.
fn connect() -> (TestDb, Client) {
    let db = TestDb::new();
    let client = db.client();
    (db, client)
}

fn num(text: &str) -> Numeric {
    Numeric::from_str(text).expect("test literal parses")
}

#[test]
fn postgres_reads_our_binary_encoding() {
    let (_db, mut client) = connect();
    let statement = client
        .prepare("SELECT $1::numeric::text")
        .expect("prepares");
    for text in VALUES.iter().copied().chain(["-0", "-0.000"]) {
        let value = num(text);
        let row = client
            .query_one(&statement, &[&value])
            .expect("PostgreSQL accepts the value");
        let printed: String = row.get(0);
        assert_eq!(printed, value.to_postgres_text(), "{text}");
    }
}

#[test]
fn we_decode_postgres_binary_encoding() {
    let (_db, mut client) = connect();
    for text in VALUES {
        let row = client
            .query_one(&format!("SELECT '{text}'::numeric"), &[])
            .expect("query");
        let value: Numeric = row.get(0);
        assert_eq!(value.to_string(), *text);
    }
    let row = client
        .query_one("SELECT 'NaN'::numeric", &[])
        .expect("query");
    let nan: Result<Numeric, _> = row.try_get(0);
    assert!(nan.is_err(), "NaN must not decode");
}

#[test]
fn extreme_columns_round_trip() {
    let (_db, mut client) = connect();
    let mut transaction = client.transaction().expect("begins");
    transaction
        .batch_execute("CREATE TEMP TABLE amounts (money numeric(38,18), big numeric(78,0))")
        .expect("creates");
    let (money, big) = (num(MONEY_MAX), num(UINT256_MAX));
    assert!(money.fits(38, 18) && big.fits(78, 0));
    transaction
        .execute("INSERT INTO amounts VALUES ($1, $2)", &[&money, &big])
        .expect("inserts");
    let row = transaction
        .query_one("SELECT money, big FROM amounts", &[])
        .expect("selects");
    let (money_back, big_back): (Numeric, Numeric) = (row.get(0), row.get(1));
    assert_eq!(money_back.to_string(), MONEY_MAX);
    assert_eq!(big_back.to_string(), UINT256_MAX);
}

#[test]
fn check_rejects_what_postgres_would_reject_or_round() {
    let (_db, mut client) = connect();
    let statement = client
        .prepare("SELECT $1::numeric(38,18)::text")
        .expect("prepares");
    let too_large = num("100000000000000000000");
    assert!(matches!(
        too_large.check(38, 18),
        Err(NumericError::TooLarge { .. })
    ));
    assert!(
        client.query_one(&statement, &[&too_large]).is_err(),
        "PostgreSQL overflows too"
    );
    // PostgreSQL would round this silently; our check refuses it.
    let too_precise = num("1.0000000000000000001");
    assert!(matches!(
        too_precise.check(38, 18),
        Err(NumericError::WouldRound { .. })
    ));
    let row = client
        .query_one(&statement, &[&too_precise])
        .expect("PostgreSQL rounds");
    assert_eq!(row.get::<_, String>(0), "1.000000000000000000");
}

#[test]
fn earliest_timestamp_is_postgres_earliest() {
    let (_db, mut client) = connect();
    let first = datetime_from_bson(bson_date(POSTGRES_MIN_TIMESTAMP_MILLIS)).expect("in range");
    let row = client
        .query_one("SELECT $1::timestamptz", &[&first])
        .expect("PostgreSQL accepts it");
    assert_eq!(row.get::<_, DateTime<Utc>>(0), first);
    let row = client
        .query_one(
            "SELECT '4714-11-24 00:00:00+00 BC'::timestamptz = $1",
            &[&first],
        )
        .expect("compares");
    assert!(row.get::<_, bool>(0));
    let before = client.query_one("SELECT '4714-11-23 23:59:59+00 BC'::timestamptz", &[]);
    assert!(
        before.is_err(),
        "one second earlier is out of PostgreSQL's range"
    );
}

fn bson_date(millis: i64) -> schemac_runtime::bson::DateTime {
    schemac_runtime::bson::DateTime::from_millis(millis)
}
