//! A replay into a database that already holds another replay's results: every table is
//! emptied first, so nothing the earlier input found survives next to the new findings.

use std::path::Path;

use crate::support::{aisgap, sample_path, table_rows};

/// Every table the schema has, by name: what a forgotten table would hide from a fixed list.
fn tables(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("the database opens");
    let mut statement = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .expect("the schema reads");
    let names = statement
        .query_map([], |r| r.get(0))
        .expect("the schema reads");
    names.collect::<Result<_, _>>().expect("table names")
}

fn every_row(db: &Path) -> Vec<String> {
    let names = tables(db);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    table_rows(db, &names)
}

fn replay_sample(db: &Path) {
    let output = aisgap()
        .args(["replay", "--config"])
        .arg(sample_path("aisgap.toml"))
        .arg("--db")
        .arg(db)
        .arg(sample_path("scenario.nmea"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_second_replay_into_one_database_keeps_nothing_of_the_first() {
    let dir = tempfile::tempdir().unwrap();
    crate::at_sea::scenario(dir.path());
    let reused = dir.path().join("at_sea.db");
    let first = every_row(&reused);
    // The at-sea findings are what the bundled sample has none of: were they kept, they would
    // stand beside the sample's trips as if the sample had them.
    for table in [
        "encounters",
        "loitering",
        "rendezvous",
        "visits",
        "gaps",
        "evidence",
    ] {
        let prefix = format!("{table}: ");
        assert!(
            first.iter().any(|row| row.starts_with(&prefix)),
            "the at-sea replay wrote no {table}"
        );
    }

    replay_sample(&reused);
    let fresh = dir.path().join("fresh.db");
    replay_sample(&fresh);

    let second = every_row(&reused);
    let expected = every_row(&fresh);
    let stale: Vec<&String> = second
        .iter()
        .filter(|row| !expected.contains(row))
        .collect();
    assert!(
        stale.is_empty(),
        "{} rows of the first replay survived, e.g. {:?}",
        stale.len(),
        &stale[..stale.len().min(5)]
    );
    assert_eq!(
        second, expected,
        "the reused database differs from a fresh one"
    );
    assert!(
        first.iter().any(|row| !second.contains(row)),
        "the two inputs wrote the same rows: the test would not see a stale one"
    );
}
