//! Rows that a later write in the same transaction replaces: each vessel's, gap's,
//! encounter's, loitering episode's and port visit's row is kept here, merged as the database
//! would merge it, and written once when the transaction ends.
//!
//! Why: a watched vessel that passes once has its open gap written again at each refresh
//! mark (6 h to 384 h); an encounter or a loitering episode under way is written again at each
//! of its fixes (on the 90-day generated log, 102,770 encounter writes for 3,202 encounters,
//! 44,949 for 829 episodes), a visit at each change. In a replay's transaction of 50,000
//! changes most of those writes are replaced before anyone can read them. Nothing the writer
//! runs inside a transaction reads these tables, so writing only the last state (folded as
//! the upsert folds it) leaves the same rows. The one thing an encounter's insert reads, the
//! fingerprint in force, is kept right by writing what waits before a new one is recorded.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::detect::encounters::EncounterRecord;
use crate::detect::loitering::LoiteringRecord;
use crate::detect::visits::Visit;
use crate::detect::GapRecord;
use crate::engine::VesselSnapshot;
use crate::model::Mmsi;
use crate::time::UnixMillis;
use crate::track::Identity;

/// The rows of one transaction that later ones replace, the latest of each key, and the
/// stream clock.
#[derive(Debug, Default)]
pub(super) struct SupersededRows {
    waiting: Waiting,
    /// The `stream_clock` state row: only the last is written.
    pub(super) clock: Option<UnixMillis>,
}

/// The rows waiting, each table by its key.
#[derive(Debug, Default)]
pub(super) struct Waiting {
    pub(super) vessels: BTreeMap<Mmsi, VesselSnapshot>,
    /// (MMSI, dark_from in ms).
    pub(super) gaps: BTreeMap<(Mmsi, i64), GapRecord>,
    /// (lower MMSI, higher MMSI, start in ms).
    pub(super) encounters: BTreeMap<(Mmsi, Mmsi, i64), EncounterRecord>,
    /// (MMSI, start in ms).
    pub(super) loitering: BTreeMap<(Mmsi, i64), LoiteringRecord>,
    /// (MMSI, arrived in ms).
    pub(super) visits: BTreeMap<(Mmsi, i64), Visit>,
}

impl SupersededRows {
    /// A vessel row to write: folded into the one already waiting as `INSERT ... ON CONFLICT
    /// DO UPDATE` in `BatchWriter` folds it into the stored row (earliest first_heard, the
    /// identity's known values kept where the newer snapshot knows nothing, the rest the
    /// newer's).
    pub(super) fn vessel(&mut self, next: VesselSnapshot) {
        match self.waiting.vessels.get_mut(&next.mmsi) {
            None => {
                self.waiting.vessels.insert(next.mmsi, next);
            }
            Some(waiting) => {
                let first_heard = waiting.first_heard.min(next.first_heard);
                let identity = fold_identity(&waiting.identity, &next.identity);
                *waiting = next;
                waiting.first_heard = first_heard;
                waiting.identity = identity;
            }
        }
    }

    /// A gap row to write (`INSERT OR REPLACE`: the newer replaces it whole).
    pub(super) fn gap(&mut self, record: GapRecord) {
        let key = (record.mmsi, record.dark_from.as_millis());
        self.waiting.gaps.insert(key, record);
    }

    /// An encounter row to write (`INSERT OR REPLACE`).
    pub(super) fn encounter(&mut self, record: EncounterRecord) {
        let key = (
            record.a.vessel.mmsi,
            record.b.vessel.mmsi,
            record.start.as_millis(),
        );
        self.waiting.encounters.insert(key, record);
    }

    /// A loitering row to write (`INSERT OR REPLACE`).
    pub(super) fn loitering(&mut self, record: LoiteringRecord) {
        let key = (record.vessel.mmsi, record.start.as_millis());
        self.waiting.loitering.insert(key, record);
    }

    /// A visit row to write (`INSERT OR REPLACE`).
    pub(super) fn visit(&mut self, visit: Visit) {
        let key = (visit.mmsi, visit.arrived.as_millis());
        self.waiting.visits.insert(key, visit);
    }

    /// `UPDATE gaps SET watched = ? WHERE mmsi = ?` for the rows still waiting.
    pub(super) fn set_watched(&mut self, mmsi: Mmsi, watched: bool) {
        let gaps = &mut self.waiting.gaps;
        for (_, record) in gaps.range_mut((mmsi, i64::MIN)..=(mmsi, i64::MAX)) {
            record.watched = watched;
        }
    }

    /// Rows waiting.
    pub(super) fn len(&self) -> usize {
        let w = &self.waiting;
        w.vessels.len() + w.gaps.len() + w.encounters.len() + w.loitering.len() + w.visits.len()
    }

    /// Every row waiting, in key order, leaving none.
    pub(super) fn take(&mut self) -> Waiting {
        std::mem::take(&mut self.waiting)
    }
}

/// `COALESCE(newer, older)` field by field; the newer identity itself when it lacks nothing
/// the older knows (the usual case, with no copy).
fn fold_identity(older: &Arc<Identity>, newer: &Arc<Identity>) -> Arc<Identity> {
    if Arc::ptr_eq(older, newer) || !newer.lacks_any_of(older) {
        return newer.clone();
    }
    let mut folded = Identity::clone(newer);
    folded.fill_unknown_from(older);
    Arc::new(folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Change;
    use crate::model::TransceiverClass;
    use crate::store::Store;
    use crate::track::Position;

    const T0: i64 = 1_709_856_000_000;

    fn snapshot(first: i64, last: i64, identity: Identity) -> Change {
        snapshot_of(Mmsi(445_000_001), first, last, identity)
    }

    fn snapshot_of(mmsi: Mmsi, first: i64, last: i64, identity: Identity) -> Change {
        Change::Vessel(VesselSnapshot {
            mmsi,
            first_heard: UnixMillis(first),
            last_heard: UnixMillis(last),
            last_fix: Some(Position {
                time: UnixMillis(last),
                lat: 42.7,
                lon: 133.1,
            }),
            identity: Arc::new(identity),
            watched: true,
            fixes: 3,
            late_fixes: 0,
        })
    }

    fn vessel_rows(store: &Store) -> Vec<String> {
        rows(store, "SELECT * FROM vessels ORDER BY mmsi")
    }

    fn rows(store: &Store, select: &str) -> Vec<String> {
        let mut statement = store.db.conn.prepare(select).unwrap();
        let columns = statement.column_count();
        statement
            .query_map([], |row| {
                Ok((0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join(" | "))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A vessel that left memory and came back: its newer snapshot knows a later first fix
    /// and no identity yet, and must not wipe what the older one knew.
    #[test]
    fn vessel_rows_fold_in_one_transaction_as_the_upsert_folds_them_in_several() {
        let known = Identity {
            imo: Some(9_000_001),
            name: Some("OLD NAME".into()),
            callsign: Some("ABCD".into()),
            ship_type: Some(80),
            length: Some(180),
            beam: Some(30),
            draught: Some(9.5),
            destination: Some("VOSTOCHNY".into()),
            class: Some(TransceiverClass::A),
        };
        let partly = Identity {
            name: Some("NEW NAME".into()),
            draught: Some(6.1),
            ..Identity::default()
        };
        let changes = vec![
            snapshot(T0, T0 + 3_600_000, known),
            snapshot(T0 + 90_000_000, T0 + 91_000_000, Identity::default()),
            snapshot(T0 + 90_000_000, T0 + 95_000_000, partly),
        ];
        let (each, all) = each_and_all(&changes);
        let rows = vessel_rows(&each);
        assert_eq!(vessel_rows(&all), rows);
        assert!(rows[0].contains(&format!("Integer({T0})")), "{rows:?}");
        assert!(rows[0].contains("Integer(9000001)"), "{rows:?}");
    }

    fn gap_rows(store: &Store) -> Vec<String> {
        rows(
            store,
            "SELECT mmsi, dark_from, status, watched, duration_hours FROM gaps ORDER BY 1, 2",
        )
    }

    /// An open gap written again, its vessel no longer watched in between, then another gap
    /// after the switch: the switch reaches the row that waits, not the gap after it.
    #[test]
    fn a_watch_switch_reaches_the_gap_rows_still_waiting() {
        let open = crate::store::rows::tests::distinct_gap();
        let mut longer = open.clone();
        longer.duration_hours += 6.0;
        let mut later = open.clone();
        later.dark_from = UnixMillis(open.dark_from.as_millis() + 86_400_000);
        let changes = vec![
            Change::Gap(Box::new(open.clone())),
            Change::Gap(Box::new(longer)),
            Change::Watched {
                mmsi: open.mmsi,
                watched: false,
            },
            Change::Gap(Box::new(later)),
        ];
        let (each, all) = each_and_all(&changes);
        let rows = gap_rows(&each);
        assert_eq!(gap_rows(&all), rows);
        assert_eq!(rows.len(), 2);
        assert!(
            rows[0].contains("Integer(0)") && rows[1].contains("Integer(1)"),
            "{rows:?}"
        );
    }

    /// The fingerprint of the default rules, or of rules that differ from them.
    fn judged_by(other_rules: bool) -> Change {
        let mut params = crate::detect::DetectParams::default();
        if other_rules {
            params.gap_hours += 1.0;
        }
        let watchlist = crate::watchlist::Watchlist::default();
        let fingerprint = crate::engine::provenance::Fingerprint::of(&params, &[], &watchlist);
        Change::JudgedBy(Arc::new(fingerprint))
    }

    /// The staged case of two vessels side by side at sea (an encounter, a loitering
    /// episode): every change the at-sea detectors make, with other rules recorded in the
    /// middle of the encounter.
    fn at_sea_changes() -> Vec<Change> {
        let mut changes = vec![judged_by(false)];
        for (minute, step) in crate::detect::sea_activity::staged::side_by_side(T0, |_, _| {}) {
            if minute == 150 {
                changes.push(judged_by(true));
            }
            changes.extend(step.into_iter().map(Change::from));
        }
        changes
    }

    /// `changes` applied one per transaction, and all in one.
    fn each_and_all(changes: &[Change]) -> (Store, Store) {
        let mut each = Store::open_in_memory().unwrap();
        for change in changes {
            each.apply(std::slice::from_ref(change)).unwrap();
        }
        let mut all = Store::open_in_memory().unwrap();
        all.apply(changes).unwrap();
        (each, all)
    }

    /// Encounter and loitering rows written again in one transaction are the rows one
    /// transaction per change leaves, the fingerprint each was written under included.
    #[test]
    fn at_sea_rows_written_again_in_one_transaction_are_the_last_written() {
        let changes = at_sea_changes();
        let written = |kind: fn(&Change) -> bool| changes.iter().filter(|c| kind(c)).count();
        assert!(written(|c| matches!(c, Change::Encounter(_))) >= 3);
        assert!(written(|c| matches!(c, Change::Loitering(_))) >= 3);
        let (each, all) = each_and_all(&changes);
        let encounters = "SELECT * FROM encounters ORDER BY 1, 2, 3";
        let loitering = "SELECT * FROM loitering ORDER BY 1, 2";
        assert_eq!(rows(&all, encounters), rows(&each, encounters));
        assert_eq!(rows(&all, loitering), rows(&each, loitering));
        assert_eq!(rows(&each, encounters).len(), 1);
        assert_eq!(rows(&each, loitering).len(), 1);
    }

    /// An encounter waiting in the transaction when other rules are recorded carries the
    /// rules it was judged under.
    #[test]
    fn an_encounter_waiting_keeps_the_fingerprint_it_was_judged_under() {
        let changes = at_sea_changes();
        let encounter = changes
            .iter()
            .find(|c| matches!(c, Change::Encounter(_)))
            .expect("an encounter")
            .clone();
        let (each, all) = each_and_all(&[judged_by(false), encounter, judged_by(true)]);
        let fingerprint = "SELECT fingerprint FROM encounters";
        let rules = "SELECT value FROM state WHERE key = 'judged_by'";
        assert_eq!(rows(&all, fingerprint), rows(&each, fingerprint));
        assert_ne!(
            rows(&all, fingerprint),
            rows(&all, rules),
            "not the later rules"
        );
    }

    /// More rows than a transaction keeps back: some are written early and folded again by
    /// the database, and the result is still what one change per transaction gives.
    #[test]
    fn rows_written_early_fold_as_rows_kept_to_the_end() {
        let vessels = crate::store::WAITING_ROWS_AT_MOST as u32 + 1_000;
        let named = Identity {
            name: Some("FIRST".into()),
            ..Identity::default()
        };
        let mut changes = Vec::new();
        for round in 0..2 {
            for v in 0..vessels {
                let identity = if round == 0 {
                    named.clone()
                } else {
                    Identity::default()
                };
                let last = T0 + (round + 1) * 3_600_000;
                changes.push(snapshot_of(
                    Mmsi(273_000_000 + v),
                    T0 + round,
                    last,
                    identity,
                ));
            }
        }
        // Each transaction of the reference names a vessel once: only the database folds.
        let mut each = Store::open_in_memory().unwrap();
        for chunk in changes.chunks(1_000) {
            each.apply(chunk).unwrap();
        }
        let mut all = Store::open_in_memory().unwrap();
        all.apply(&changes).unwrap();
        let rows = vessel_rows(&each);
        assert_eq!(rows.len(), vessels as usize);
        let first = format!("{:?}", rusqlite::types::ValueRef::Text(b"FIRST"));
        assert!(rows.iter().all(|r| r.contains(&first)), "{:?}", rows[0]);
        assert_eq!(vessel_rows(&all), rows);
    }
}
