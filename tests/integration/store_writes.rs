//! The store's rows do not depend on how changes are grouped into transactions: the writer
//! keeps only the last vessel and gap row of each key in a transaction (folded as the upserts
//! fold them), and that must leave exactly the rows that writing every change on its own does.

use std::path::Path;

use aisgap::config::Config;
use aisgap::decode::feed::FeedDecoder;
use aisgap::engine::{Change, Engine};
use aisgap::store::Store;

use crate::support::{dump, sample_path, table_rows};

/// Every change the engine makes over the bundled sample, with vessels let go after a day of
/// silence so that some come back knowing nothing of their identity yet.
fn sample_changes() -> Vec<Change> {
    let mut config =
        Config::load(&sample_path("aisgap.toml")).expect("samples/aisgap.toml is valid");
    config.detect.forget_after_hours = 24.0;
    let mut engine = Engine::new(
        config.detect.clone(),
        config.ports.clone(),
        config.watchlist.clone(),
        config.store.track_interval_minutes,
    );
    let log = std::fs::read(sample_path("scenario.nmea")).expect("samples/scenario.nmea");
    let mut decoder = FeedDecoder::new(config.decode_options(None), "scenario".into());
    let mut events = Vec::new();
    for line in log.split(|&b| b == b'\n') {
        decoder.decode_line(line, None, &mut events);
        for event in events.drain(..) {
            engine.ingest(&event);
        }
    }
    engine.finish();
    let changes = engine.take_changes();
    assert!(
        engine.stats().forgotten_vessels > 0,
        "the sample must let vessels go for this test to mean anything"
    );
    changes
}

fn stored(path: &Path, group: impl Fn(&mut Store, &[Change])) -> Vec<String> {
    let changes = sample_changes();
    let mut store = Store::open(path).expect("database");
    group(&mut store, &changes);
    drop(store);
    let mut rows = dump(path);
    rows.extend(table_rows(path, &["evidence"]));
    rows
}

#[test]
fn one_transaction_for_all_changes_stores_what_one_per_change_does() {
    let dir = tempfile::tempdir().unwrap();
    let each = stored(&dir.path().join("each.db"), |store, changes| {
        for change in changes {
            store.apply(std::slice::from_ref(change)).expect("written");
        }
    });
    let all = stored(&dir.path().join("all.db"), |store, changes| {
        store.apply(changes).expect("written");
    });
    let rewritten = |prefix: &str| {
        sample_changes()
            .iter()
            .filter(|c| match c {
                Change::Gap(_) => prefix == "gaps",
                Change::Vessel(_) => prefix == "vessels",
                _ => false,
            })
            .count()
    };
    let rows = |prefix: &str| each.iter().filter(|r| r.starts_with(prefix)).count();
    // Rows were replaced in the one transaction, so the fold had work to do.
    assert!(
        rewritten("gaps") > rows("gaps:"),
        "no gap row was written twice"
    );
    assert!(
        rewritten("vessels") > rows("vessels:"),
        "no vessel row was written twice"
    );
    assert_eq!(all.len(), each.len());
    for (a, e) in all.iter().zip(&each) {
        assert_eq!(a, e);
    }
}
