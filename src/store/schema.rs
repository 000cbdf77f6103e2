//! Database schema and migrations, applied in order and recorded in SQLite's `user_version`.

use rusqlite::Connection;

use super::StoreError;

/// Each entry moves the schema from version `index` to `index + 1`. Never edit a shipped entry;
/// append a new one.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE vessels (
    mmsi INTEGER PRIMARY KEY,
    first_heard INTEGER NOT NULL,
    last_heard INTEGER NOT NULL,
    last_fix_time INTEGER,
    last_lat REAL,
    last_lon REAL,
    imo INTEGER,
    name TEXT,
    callsign TEXT,
    ship_type INTEGER,
    length INTEGER,
    beam INTEGER,
    draught REAL,
    destination TEXT,
    class TEXT,
    watched INTEGER NOT NULL,
    fixes INTEGER NOT NULL,
    late_fixes INTEGER NOT NULL
);
CREATE TABLE identity_history (
    mmsi INTEGER NOT NULL,
    time INTEGER NOT NULL,
    imo INTEGER,
    name TEXT,
    callsign TEXT,
    ship_type INTEGER,
    length INTEGER,
    beam INTEGER,
    draught REAL,
    destination TEXT,
    class TEXT,
    PRIMARY KEY (mmsi, time)
) WITHOUT ROWID;
CREATE TABLE gaps (
    mmsi INTEGER NOT NULL,
    dark_from INTEGER NOT NULL,
    dark_until INTEGER,
    status TEXT NOT NULL,
    watched INTEGER NOT NULL,
    port TEXT,
    from_lat REAL NOT NULL,
    from_lon REAL NOT NULL,
    until_lat REAL,
    until_lon REAL,
    duration_hours REAL NOT NULL,
    distance_nm REAL,
    implied_speed_kn REAL,
    detour_nm REAL,
    slack_hours REAL,
    coverage REAL,
    dark_now INTEGER NOT NULL,
    imo INTEGER,
    name TEXT,
    callsign TEXT,
    ship_type INTEGER,
    draught_before REAL,
    draught_after REAL,
    draught_change REAL,
    est_tonnes REAL,
    est_barrels REAL,
    confidence TEXT,
    identity_changes TEXT NOT NULL,
    candidates TEXT NOT NULL,
    PRIMARY KEY (mmsi, dark_from)
) WITHOUT ROWID;
CREATE INDEX gaps_by_status ON gaps (status, dark_from);
-- A rowid table: its packed-point blobs (about a kilobyte each) sit in the table's pages
-- instead of spilling out of a WITHOUT ROWID index b-tree; the key is a separate index.
CREATE TABLE track_chunks (
    id INTEGER PRIMARY KEY,
    mmsi INTEGER NOT NULL,
    day INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    first_time INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    points BLOB NOT NULL
);
CREATE UNIQUE INDEX track_chunks_by_vessel_day ON track_chunks (mmsi, day, seq);
CREATE TABLE port_hours (
    port TEXT NOT NULL,
    hour INTEGER NOT NULL,
    vessels INTEGER NOT NULL,
    PRIMARY KEY (port, hour)
) WITHOUT ROWID;
CREATE TABLE ports (
    name TEXT PRIMARY KEY,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    approach_nm REAL NOT NULL,
    coverage_nm REAL NOT NULL,
    gap_hours REAL,
    geometry TEXT NOT NULL
);
CREATE TABLE ingest (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
-- The running service's resume point, written in the same transaction as the changes it
-- covers: the engine's state (JSON) without its vessels, each vessel's state in its own row
-- (rewritten only when it changed), and, per source, how many lines it had consumed.
CREATE TABLE engine_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    saved_at INTEGER NOT NULL,
    engine TEXT NOT NULL
);
CREATE TABLE vessel_states (
    mmsi INTEGER PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE coverage_states (
    port TEXT NOT NULL,
    hour INTEGER NOT NULL,
    bin TEXT NOT NULL,
    PRIMARY KEY (port, hour)
) WITHOUT ROWID;
CREATE TABLE source_positions (
    source TEXT PRIMARY KEY,
    lines INTEGER NOT NULL
);
"#,
    r#"
-- Where each file source has got, committed with the checkpoint that covers its lines: the
-- file (device, inode), the offset just past the last committed line, and that line's last
-- bytes (to tell the file from another that reuses its inode).
CREATE TABLE file_positions (
    source TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    tail BLOB NOT NULL
);
"#,
    r#"
-- An MMSI is not a vessel: fixes split into segments (transmitters), numbered per MMSI from 1.
-- Rows written before segments existed belong to their MMSI's first.
ALTER TABLE gaps ADD COLUMN segment INTEGER NOT NULL DEFAULT 1;
ALTER TABLE track_chunks ADD COLUMN segment INTEGER NOT NULL DEFAULT 1;
-- Only MMSIs heard from more than one transmitter have rows; the others' one transmitter is
-- their row in vessels.
CREATE TABLE segments (
    mmsi INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    first_heard INTEGER NOT NULL,
    last_heard INTEGER NOT NULL,
    fixes INTEGER NOT NULL,
    last_fix_time INTEGER,
    last_lat REAL,
    last_lon REAL,
    imo INTEGER,
    name TEXT,
    callsign TEXT,
    ship_type INTEGER,
    length INTEGER,
    beam INTEGER,
    draught REAL,
    destination TEXT,
    class TEXT,
    live INTEGER NOT NULL,
    PRIMARY KEY (mmsi, segment)
) WITHOUT ROWID;
"#,
    r#"
-- Every change of a gap's judgement, in the order it happened: at which stream time, from
-- what to what, and why (a reason code and the sentence analysts read).
CREATE TABLE gap_history (
    id INTEGER PRIMARY KEY,
    mmsi INTEGER NOT NULL,
    dark_from INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status_before TEXT,
    status TEXT NOT NULL,
    port TEXT,
    coverage REAL,
    dark_now INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX gap_history_by_gap ON gap_history (mmsi, dark_from, id);
"#,
    r#"
-- Meetings and idling at sea. The columns queries filter and sort on, with the whole record
-- (both vessels' identities and draughts, the cargo estimate) as JSON in `record`.
CREATE TABLE encounters (
    mmsi_a INTEGER NOT NULL,
    mmsi_b INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    status TEXT NOT NULL,
    watched INTEGER NOT NULL,
    duration_hours REAL NOT NULL,
    min_distance_m REAL NOT NULL,
    median_distance_m REAL NOT NULL,
    median_speed_kn REAL NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    est_barrels REAL,
    record TEXT NOT NULL,
    PRIMARY KEY (mmsi_a, mmsi_b, start)
) WITHOUT ROWID;
CREATE INDEX encounters_by_start ON encounters (start);
CREATE INDEX encounters_by_b ON encounters (mmsi_b, start);
CREATE TABLE loitering (
    mmsi INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    status TEXT NOT NULL,
    watched INTEGER NOT NULL,
    duration_hours REAL NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    mean_speed_kn REAL NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (mmsi, start)
) WITHOUT ROWID;
CREATE INDEX loitering_by_start ON loitering (start);
"#,
    r#"
-- Port visits heard with AIS on, keyed by vessel and arrival (first fix inside the zone);
-- left_at stays NULL while the vessel is in port.
CREATE TABLE visits (
    mmsi INTEGER NOT NULL,
    arrived INTEGER NOT NULL,
    port TEXT NOT NULL,
    left_at INTEGER,
    last_heard INTEGER NOT NULL,
    fixes INTEGER NOT NULL,
    stopped_hours REAL NOT NULL,
    gap INTEGER NOT NULL,
    longest_silence_hours REAL NOT NULL,
    departure_unseen INTEGER NOT NULL,
    from_port TEXT,
    from_left INTEGER,
    PRIMARY KEY (mmsi, arrived)
) WITHOUT ROWID;
CREATE INDEX visits_by_port ON visits (port, arrived);
"#,
    r#"
-- Dark rendezvous: a watched vessel's silence (mmsi, dark_from) and the partner's silence or
-- loitering (partner_mmsi, partner_from) that could have shared it; the whole record (both
-- legs, the meeting place and area, the window and slack) as JSON in `record`.
CREATE TABLE rendezvous (
    mmsi INTEGER NOT NULL,
    dark_from INTEGER NOT NULL,
    partner_mmsi INTEGER NOT NULL,
    partner_from INTEGER NOT NULL,
    partner_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    partner_watched INTEGER NOT NULL,
    earliest INTEGER NOT NULL,
    latest INTEGER NOT NULL,
    slack_hours REAL NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (mmsi, dark_from, partner_mmsi, partner_from)
) WITHOUT ROWID;
CREATE INDEX rendezvous_by_dark_from ON rendezvous (dark_from);
CREATE INDEX rendezvous_by_partner ON rendezvous (partner_mmsi, partner_from);
"#,
    r#"
-- Where each gap's evidence came from: fix A, fix B and the static reports before and after,
-- by the source's number in evidence_sources, the line (1-based) and byte offset of the
-- message's last line, the clock that timed it and the receiver; raw holds the message's
-- line(s) as read, first_line the line number of the first of them, sha256 their hash.
CREATE TABLE evidence (
    mmsi INTEGER NOT NULL,
    dark_from INTEGER NOT NULL,
    role TEXT NOT NULL,
    time INTEGER NOT NULL,
    msg_type INTEGER NOT NULL,
    source INTEGER NOT NULL,
    line INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    carrier TEXT,
    station TEXT,
    first_line INTEGER,
    raw BLOB,
    sha256 TEXT,
    PRIMARY KEY (mmsi, dark_from, role)
) WITHOUT ROWID;
-- Raw lines are found by where they are.
CREATE INDEX evidence_by_line ON evidence (source, line);
CREATE TABLE evidence_sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT
);
-- What judged: version and hashes of the ports, the watchlist and the detection settings.
CREATE TABLE fingerprints (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    ports_sha256 TEXT NOT NULL,
    watchlist_sha256 TEXT NOT NULL,
    detect_sha256 TEXT NOT NULL,
    detect TEXT NOT NULL
);
ALTER TABLE gap_history ADD COLUMN fingerprint TEXT;
"#,
    r#"
-- What the service remembers of each watched vessel's recent messages (where each came from,
-- with its raw line(s)), saved apart from the checkpoint like vessel_states: a restart
-- between a gap's A and B still stores A's provenance and raw lines.
CREATE TABLE witness_states (
    mmsi INTEGER PRIMARY KEY,
    state TEXT NOT NULL
);
-- What judged each encounter as last written (see fingerprints).
ALTER TABLE encounters ADD COLUMN fingerprint TEXT;
"#,
];

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let current = usize::try_from(current).unwrap_or(usize::MAX);
    if current > MIGRATIONS.len() {
        return Err(StoreError::NewerSchema {
            found: current,
            known: MIGRATIONS.len(),
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_in_order_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::NewerSchema { found: 99, .. })
        ));
    }

    #[test]
    fn rows_written_before_segments_existed_belong_to_the_first_segment() {
        let mut conn = Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..3] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute_batch(
            "INSERT INTO gaps (mmsi, dark_from, status, watched, from_lat, from_lon, duration_hours,
                               dark_now, identity_changes, candidates)
             VALUES (445000001, 1, 'trip', 1, 42.0, 133.0, 30.0, 0, '[]', '[]');
             INSERT INTO track_chunks (mmsi, day, seq, first_time, last_time, points)
             VALUES (445000001, 0, 0, 1, 1, x'00');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let segments: (u32, u32) = conn
            .query_row(
                "SELECT (SELECT segment FROM gaps), (SELECT segment FROM track_chunks)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(segments, (1, 1));
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM segments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }
}
