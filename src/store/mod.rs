//! The SQLite store: one writer applying the engine's changes in batched transactions (WAL),
//! and the read side, [`Reader`], that queries answer from (`read`).

pub mod at_sea;
mod cells;
pub mod export;
pub mod health;
pub mod history;
pub mod lock;
mod params;
pub mod positions;
pub mod provenance;
pub mod read;
pub mod rendezvous;
mod rows;
pub mod schema;
mod superseded;
pub mod visits;
mod writer;

pub use cells::BadValue;
pub use health::{FileIdentity, StoreHealth};
pub use lock::{LockError, WriterLock};
pub use params::StoreParams;
pub use positions::FilePosition;
pub use read::Reader;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};

use crate::detect::GapRecord;
use crate::engine::{Change, VesselSnapshot};
use crate::ports::Port;
use crate::time::UnixMillis;
use crate::track::{SegmentRow, TrackChunk, Vessel};
use superseded::SupersededRows;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite's reason is part of the message and deliberately not a `source`: its own chain
    /// repeats the same words ("unable to open database file" three times).
    #[error("database {path}: {reason}")]
    Open {
        path: PathBuf,
        reason: rusqlite::Error,
    },
    #[error(
        "no database at {}: run `aisgap replay LOG...` to build one, or name one with --db FILE",
        std::path::absolute(path).unwrap_or_else(|_| path.clone()).display()
    )]
    Missing { path: PathBuf },
    #[error(
        "database schema version {found} is newer than this aisgap knows ({known}); upgrade aisgap"
    )]
    NewerSchema { found: usize, known: usize },
    #[error("database {path} has no aisgap tables; run `aisgap replay` or `aisgap run` first")]
    NotAnAisgapDatabase { path: PathBuf },
    #[error("database: {0}")]
    Sql(rusqlite::Error),
    #[error(transparent)]
    BadValue(#[from] BadValue),
    #[error("the store writer stopped before all changes were written")]
    WriterGone,
    /// SQLite's words and code are in `cause`, deliberately not a `source`: the chain would
    /// repeat them.
    #[error("database {} could not be written for {waited_s:.1} s ([store] give_up_after_s): {cause}", path.display())]
    GaveUp {
        path: PathBuf,
        waited_s: f64,
        cause: String,
        kind: &'static str,
    },
    #[error("database {}: {error}", path.display())]
    FileCheck {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("database {} was deleted while aisgap had it open{}", path.display(), rescue_note(path, rescued.as_deref()))]
    Deleted {
        path: PathBuf,
        rescued: Option<PathBuf>,
    },
    #[error("database {} was replaced by another file while aisgap had it open{}", path.display(), rescue_note(path, rescued.as_deref()))]
    Replaced {
        path: PathBuf,
        rescued: Option<PathBuf>,
    },
}

/// What became of the open file's contents once its path no longer named it.
fn rescue_note(path: &Path, rescued: Option<&Path>) -> String {
    match rescued {
        Some(copy) => format!(
            "; everything it committed is saved in {} (to keep it: stop aisgap, move that file to {}, start again)",
            copy.display(),
            path.display()
        ),
        None => "; its contents could not be saved elsewhere".to_string(),
    }
}

impl From<rusqlite::Error> for StoreError {
    /// A stored value that did not parse keeps its location (table, row, column).
    fn from(error: rusqlite::Error) -> StoreError {
        match BadValue::from_sql_error(&error) {
            Some(bad) => StoreError::BadValue(bad),
            None => StoreError::Sql(error),
        }
    }
}

impl StoreError {
    /// Whether another connection held the database too long (the writer, mid-checkpoint): a
    /// moment's unavailability, not a fault.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
        )
    }
}

/// The `state` row that marks a database built from incomplete input; its value holds one
/// reason per line.
const INCOMPLETE_INPUT_KEY: &str = "incomplete_input";

/// One commit of the running service (see [`Store::commit`]).
#[derive(Clone, Debug, Default)]
pub struct Commit {
    pub changes: Vec<Change>,
    /// Counter increments since the previous commit.
    pub counters: Vec<(String, u64)>,
    /// The engine's checkpoint without its vessels, serialised.
    pub checkpoint: String,
    /// Each vessel that changed since the previous commit, as it stood then; serialised by the
    /// writer (a copy is a fraction of its JSON, and the pipeline goes on meanwhile).
    pub vessel_states: Vec<Vessel>,
    /// Vessels no longer tracked whose saved states are deleted (before `vessel_states` are
    /// written, so a vessel back in the same commit keeps its new state).
    pub vessels_gone: Vec<u32>,
    /// Each coverage bin `(port, hour, bin)` that changed since the previous commit.
    pub coverage_states: Vec<(String, i64, String)>,
    /// Lines consumed so far, per source name.
    pub positions: Vec<(String, u64)>,
    /// The designated ports, when a reload changed them: recorded with the checkpoint that
    /// was judged against them, so queries, the API and the map show the zones in force.
    pub ports: Option<Vec<Port>>,
    /// Where each file source's last consumed line ends (sources that consumed none since the
    /// last commit may be left out: their row stays).
    pub file_positions: Vec<FilePosition>,
    /// Wall-clock time of the commit.
    pub saved_at: UnixMillis,
    /// The sources evidence rows number, `(number, name, path)`, when new ones appeared.
    pub evidence_sources: Vec<(u32, String, Option<String>)>,
    /// The raw line(s) and hashes of the evidence rows in `changes` (and of earlier rows
    /// pointing at the same lines).
    pub evidence_lines: Vec<provenance::Resolved>,
    /// What the service remembers of each watched vessel that changed since the previous
    /// commit (`None`: forgotten).
    pub witness_states: Vec<(u32, Option<String>)>,
}

/// Where a restarted service resumes: the last committed checkpoint and source positions.
#[derive(Clone, Debug, PartialEq)]
pub struct ResumePoint {
    pub saved_at: UnixMillis,
    pub checkpoint: String,
    pub vessel_states: Vec<(u32, String)>,
    pub coverage_states: Vec<(String, i64, String)>,
    pub positions: Vec<(String, u64)>,
    pub file_positions: Vec<FilePosition>,
    pub witness_states: Vec<(u32, String)>,
}

/// The single writer. Its connection sits inside a [`Reader`] so that whoever holds the store
/// (a replay, a test) reads its results back with the very queries `aisgap query` and the API
/// run.
pub struct Store {
    db: Reader,
    /// The file opened and what its path named then; `None` in memory.
    file: Option<(PathBuf, FileIdentity)>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_error = |reason| StoreError::Open {
            path: path.to_path_buf(),
            reason,
        };
        let mut conn = Connection::open(path).map_err(open_error)?;
        // SQLite creates the file lazily; WAL mode below makes it exist.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The writer touches the recent end of a few B-trees; a larger page cache keeps them
        // in memory instead of re-reading pages through the OS on every batch.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        let identity = FileIdentity::of(path)
            .map_err(|error| StoreError::FileCheck {
                path: path.to_path_buf(),
                error,
            })?
            .ok_or_else(|| StoreError::Deleted {
                path: path.to_path_buf(),
                rescued: None,
            })?;
        let mut store = Store::around(conn);
        store.file = Some((path.to_path_buf(), identity));
        Ok(store)
    }

    pub fn open_in_memory() -> Result<Store, StoreError> {
        let mut conn = Connection::open_in_memory()?;
        schema::migrate(&mut conn)?;
        Ok(Store::around(conn))
    }

    fn around(conn: Connection) -> Store {
        Store {
            db: Reader { conn },
            file: None,
        }
    }

    /// The read side of this store's own database.
    pub fn reader(&self) -> &Reader {
        &self.db
    }

    /// Bulk loading (a replay into a database it owns): no fsync per transaction, since an
    /// interrupted replay is simply run again. Off restores the service's durability.
    pub fn set_bulk_load(&mut self, bulk: bool) -> Result<(), StoreError> {
        // Pages go straight to the database file instead of through the WAL and a checkpoint:
        // half the bytes written. WAL comes back for the readers that follow.
        let journal = if bulk { "MEMORY" } else { "WAL" };
        self.db
            .conn
            .query_row(&format!("PRAGMA journal_mode = {journal}"), [], |_| Ok(()))?;
        self.db
            .conn
            .pragma_update(None, "synchronous", if bulk { "OFF" } else { "NORMAL" })?;
        Ok(())
    }

    /// Empties every table: a replay's database holds that replay's results only. The list
    /// comes from the schema itself, so a table added by a later migration is emptied too;
    /// the schema's version lives in `user_version`, not in a table, so nothing must survive.
    pub fn clear(&mut self) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        let tables: Vec<String> = {
            let mut statement = tx.prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 ORDER BY name",
            )?;
            let names = statement.query_map([], |row| row.get(0))?;
            names.collect::<Result<_, _>>()?
        };
        for table in &tables {
            // Names come from sqlite_schema, not from input; quoting keeps any name valid.
            tx.execute(
                &format!("DELETE FROM \"{}\"", table.replace('"', "\"\"")),
                [],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the designated ports so that queries and exports need no config.
    pub fn save_ports(&mut self, ports: &[Port]) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        write_ports(&tx, ports)?;
        tx.commit()?;
        Ok(())
    }

    /// Applies a batch of changes in one transaction.
    pub fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        {
            let mut writer = BatchWriter::new(&tx)?;
            for change in changes {
                writer.apply(change)?;
            }
            writer.finish()?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Persists one commit of the running service atomically: its changes, the counters
    /// added since the last commit, the engine checkpoint and the source positions (line counts,
    /// and where each file source's lines are read up to). A kill at
    /// any moment leaves either all of it or none.
    pub fn commit(&mut self, commit: &Commit) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        {
            let mut writer = BatchWriter::new(&tx)?;
            for change in &commit.changes {
                writer.apply(change)?;
            }
            writer.finish()?;
            let mut add = tx.prepare_cached(
                "INSERT INTO ingest (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            )?;
            for (name, value) in &commit.counters {
                if *value > 0 {
                    add.execute(params![name, *value as i64])?;
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO engine_checkpoint (id, saved_at, engine) VALUES (1, ?1, ?2)",
                params![commit.saved_at.as_millis(), commit.checkpoint],
            )?;
            let mut gone = tx.prepare_cached("DELETE FROM vessel_states WHERE mmsi = ?1")?;
            for mmsi in &commit.vessels_gone {
                gone.execute(params![mmsi])?;
            }
            let mut vessel = tx.prepare_cached(
                "INSERT OR REPLACE INTO vessel_states (mmsi, state) VALUES (?1, ?2)",
            )?;
            for saved in &commit.vessel_states {
                let state = serde_json::to_string(saved).expect("vessels always serialise");
                vessel.execute(params![saved.mmsi.0, state])?;
            }
            let mut bin = tx.prepare_cached(
                "INSERT OR REPLACE INTO coverage_states (port, hour, bin) VALUES (?1, ?2, ?3)",
            )?;
            for (port, hour, state) in &commit.coverage_states {
                bin.execute(params![port, hour, state])?;
            }
            let mut position = tx.prepare_cached(
                "INSERT OR REPLACE INTO source_positions (source, lines) VALUES (?1, ?2)",
            )?;
            for (source, lines) in &commit.positions {
                position.execute(params![source, *lines as i64])?;
            }
            if let Some(ports) = &commit.ports {
                write_ports(&tx, ports)?;
            }
            positions::write(&tx, &commit.file_positions)?;
            provenance::write_sources(&tx, &commit.evidence_sources)?;
            provenance::write_lines(&tx, &commit.evidence_lines)?;
            provenance::write_witness_states(&tx, &commit.witness_states)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The last commit's resume point, if the service ever committed into this database.
    pub fn resume_point(&self) -> Result<Option<ResumePoint>, StoreError> {
        let checkpoint: Option<(i64, String)> = self
            .db
            .conn
            .query_row(
                "SELECT saved_at, engine FROM engine_checkpoint WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((saved_at, checkpoint)) = checkpoint else {
            return Ok(None);
        };
        let mut select = self
            .db
            .conn
            .prepare("SELECT source, lines FROM source_positions ORDER BY source")?;
        let positions = select
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut select = self
            .db
            .conn
            .prepare("SELECT mmsi, state FROM vessel_states")?;
        let vessel_states = select
            .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut select = self
            .db
            .conn
            .prepare("SELECT port, hour, bin FROM coverage_states")?;
        let coverage_states = select
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ResumePoint {
            saved_at: UnixMillis(saved_at),
            checkpoint,
            vessel_states,
            coverage_states,
            positions,
            file_positions: positions::read(&self.db.conn)?,
            witness_states: provenance::read_witness_states(&self.db.conn)?,
        }))
    }

    /// Marks the database as built from incomplete input (a log broke off or was refused),
    /// one reason per entry, so that every later answer can say so. [`Store::clear`] lifts it.
    pub fn mark_incomplete_input(&mut self, reasons: &[String]) -> Result<(), StoreError> {
        self.db.conn.execute(
            "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)",
            params![INCOMPLETE_INPUT_KEY, reasons.join("\n")],
        )?;
        Ok(())
    }

    /// Adds counters (lines read, rejects by reason, ...) to the running totals.
    pub fn add_counters<'a>(
        &mut self,
        counters: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        {
            let mut add = tx.prepare(
                "INSERT INTO ingest (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            )?;
            for (name, value) in counters {
                if value > 0 {
                    add.execute(params![name, value as i64])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Starts the writer thread: changes sent in batches are applied in order; the handle
    /// returns the store once the sender is dropped and everything is written.
    pub fn spawn_writer(
        self,
        depth: usize,
    ) -> (
        SyncSender<Vec<Change>>,
        JoinHandle<Result<Store, StoreError>>,
    ) {
        let (sender, receiver) = sync_channel::<Vec<Change>>(depth);
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(self, receiver))
            .expect("spawning the store writer thread");
        (sender, handle)
    }
}

/// Replaces the stored ports with `ports`, inside the caller's transaction.
fn write_ports(tx: &rusqlite::Transaction<'_>, ports: &[Port]) -> Result<(), StoreError> {
    tx.execute("DELETE FROM ports", [])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO ports (name, lat, lon, approach_nm, coverage_nm, gap_hours, geometry) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for port in ports {
        let (lat, lon) = port.centre();
        insert.execute(params![
            port.name,
            lat,
            lon,
            port.approach_nm,
            port.coverage_nm,
            port.gap_hours,
            port.zone_geojson().to_string()
        ])?;
    }
    Ok(())
}

/// Changes a replay's writer commits at once, across the batches it is handed: a commit writes
/// every page the transaction dirtied, and a passing vessel's gap, vessel and track rows dirty
/// pages all over their tables. Committing every 5,000 changes cost the writer 38% more CPU on a
/// year of 50,000 passing vessels; the batches in flight stay small.
const REPLAY_TRANSACTION_CHANGES: usize = 50_000;

fn write_loop(mut store: Store, batches: Receiver<Vec<Change>>) -> Result<Store, StoreError> {
    let mut next = batches.recv().ok();
    while let Some(first) = next.take() {
        let tx = store.db.conn.transaction()?;
        {
            let mut writer = BatchWriter::new(&tx)?;
            let mut batch = first;
            let mut written = 0;
            loop {
                written += batch.len();
                for change in batch {
                    writer.take(change)?;
                }
                if written >= REPLAY_TRANSACTION_CHANGES {
                    break;
                }
                match batches.recv() {
                    Ok(more) => batch = more,
                    Err(_) => break,
                }
            }
            writer.finish()?;
        }
        tx.commit()?;
        next = batches.recv().ok();
    }
    Ok(store)
}

/// Rows a transaction keeps back at most before writing them (see [`superseded`]).
const WAITING_ROWS_AT_MOST: usize = 20_000;

struct BatchWriter<'t> {
    vessel: rusqlite::Statement<'t>,
    identity: rusqlite::Statement<'t>,
    gap: rusqlite::Statement<'t>,
    /// The JSON of the gap row's lists, written into buffers kept from row to row.
    gap_json: rows::GapJson,
    history: rusqlite::Statement<'t>,
    /// The history row's sentence, written into one buffer kept from row to row.
    sentence: String,
    watched: rusqlite::Statement<'t>,
    track: rusqlite::Statement<'t>,
    segment: rusqlite::Statement<'t>,
    port_hour: rusqlite::Statement<'t>,
    clock: rusqlite::Statement<'t>,
    encounter: rusqlite::Statement<'t>,
    loitering: rusqlite::Statement<'t>,
    rendezvous: rusqlite::Statement<'t>,
    visit: rusqlite::Statement<'t>,
    evidence: rusqlite::Statement<'t>,
    tx: &'t rusqlite::Transaction<'t>,
    /// Rows later changes replace, and the stream clock, written once at
    /// [`BatchWriter::finish`].
    superseded: SupersededRows,
}

impl<'t> BatchWriter<'t> {
    fn new(tx: &'t rusqlite::Transaction<'t>) -> Result<Self, StoreError> {
        Ok(BatchWriter {
            vessel: tx.prepare(
                // A vessel that left the engine's memory and came back is tracked afresh: what
                // the store knew of it stays where the new snapshot knows nothing yet.
                "INSERT INTO vessels (mmsi, first_heard, last_heard, last_fix_time, last_lat, last_lon, imo, name, callsign, ship_type, length, beam, draught, destination, class, watched, fixes, late_fixes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
                 ON CONFLICT(mmsi) DO UPDATE SET first_heard = MIN(first_heard, excluded.first_heard),
                   last_heard = excluded.last_heard, last_fix_time = excluded.last_fix_time,
                   last_lat = excluded.last_lat, last_lon = excluded.last_lon,
                   imo = COALESCE(excluded.imo, imo), name = COALESCE(excluded.name, name),
                   callsign = COALESCE(excluded.callsign, callsign),
                   ship_type = COALESCE(excluded.ship_type, ship_type),
                   length = COALESCE(excluded.length, length), beam = COALESCE(excluded.beam, beam),
                   draught = COALESCE(excluded.draught, draught),
                   destination = COALESCE(excluded.destination, destination),
                   class = COALESCE(excluded.class, class), watched = excluded.watched,
                   fixes = excluded.fixes, late_fixes = excluded.late_fixes",
            )?,
            identity: tx.prepare(
                "INSERT OR REPLACE INTO identity_history (mmsi, time, imo, name, callsign, ship_type, length, beam, draught, destination, class)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
            gap: tx.prepare(&rows::GAP_INSERT)?,
            gap_json: rows::GapJson::default(),
            sentence: String::new(),
            history: tx.prepare(
                "INSERT INTO gap_history (mmsi, dark_from, at, status_before, status, port, coverage, dark_now, reason, detail, fingerprint)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, (SELECT value FROM state WHERE key = 'judged_by'))",
            )?,
            watched: tx.prepare("UPDATE gaps SET watched = ?2 WHERE mmsi = ?1")?,
            track: tx.prepare(
                "INSERT INTO track_chunks (mmsi, day, seq, first_time, last_time, points, segment)
                 VALUES (?1, ?2, (SELECT COALESCE(MAX(seq) + 1, 0) FROM track_chunks WHERE mmsi = ?1 AND day = ?2), ?3, ?4, ?5, ?6)",
            )?,
            segment: tx.prepare(
                "INSERT OR REPLACE INTO segments (mmsi, segment, first_heard, last_heard, fixes, last_fix_time, last_lat, last_lon, imo, name, callsign, ship_type, length, beam, draught, destination, class, live)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?,
            port_hour: tx.prepare("INSERT OR REPLACE INTO port_hours (port, hour, vessels) VALUES (?1, ?2, ?3)")?,
            clock: tx.prepare("INSERT OR REPLACE INTO state (key, value) VALUES ('stream_clock', ?1)")?,
            encounter: tx.prepare(at_sea::ENCOUNTER_INSERT)?,
            loitering: tx.prepare(at_sea::LOITERING_INSERT)?,
            rendezvous: tx.prepare(rendezvous::RENDEZVOUS_INSERT)?,
            visit: tx.prepare(visits::VISIT_INSERT)?,
            evidence: tx.prepare(provenance::EVIDENCE_INSERT)?,
            tx,
            superseded: SupersededRows::default(),
        })
    }

    /// [`BatchWriter::apply`] of a change the caller no longer needs: the rows that wait for
    /// the end of the transaction are moved, not copied.
    fn take(&mut self, change: Change) -> Result<(), StoreError> {
        match change {
            Change::Vessel(v) => self.superseded.vessel(v),
            Change::Gap(g) => self.superseded.gap(*g),
            Change::Encounter(e) => self.superseded.encounter(*e),
            Change::Loitering(l) => self.superseded.loitering(*l),
            Change::Visit(visit) => self.superseded.visit(*visit),
            other => return self.apply(&other),
        }
        self.write_waiting_if_many()
    }

    /// Writes the rows waiting once they are many (the end of a replay hands every vessel's
    /// row over at once): writing a row early and again later leaves what writing it once
    /// does, and the waiting rows stay a few megabytes.
    fn write_waiting_if_many(&mut self) -> Result<(), StoreError> {
        if self.superseded.len() < WAITING_ROWS_AT_MOST {
            return Ok(());
        }
        self.write_waiting()
    }

    fn write_waiting(&mut self) -> Result<(), StoreError> {
        let waiting = self.superseded.take();
        for vessel in waiting.vessels.values() {
            self.vessel(vessel)?;
        }
        for gap in waiting.gaps.values() {
            self.gap(gap)?;
        }
        for encounter in waiting.encounters.values() {
            at_sea::write_encounter(&mut self.encounter, encounter)?;
        }
        for loitering in waiting.loitering.values() {
            at_sea::write_loitering(&mut self.loitering, loitering)?;
        }
        for visit in waiting.visits.values() {
            visits::write_visit(&mut self.visit, visit)?;
        }
        Ok(())
    }

    /// Writes what waits for the end of the transaction; the writer must not be dropped
    /// without it.
    fn finish(mut self) -> Result<(), StoreError> {
        self.write_waiting()?;
        if let Some(clock) = self.superseded.clock {
            self.clock.execute(params![clock.as_millis().to_string()])?;
        }
        Ok(())
    }

    fn apply(&mut self, change: &Change) -> Result<(), StoreError> {
        match change {
            Change::Vessel(v) => {
                self.superseded.vessel(v.clone());
                self.write_waiting_if_many()?;
            }
            Change::Identity {
                mmsi,
                time,
                identity,
            } => {
                let i = identity;
                self.identity.execute(params![
                    mmsi.0,
                    time.as_millis(),
                    i.imo,
                    i.name,
                    i.callsign,
                    i.ship_type,
                    i.length,
                    i.beam,
                    i.draught.map(f64::from),
                    i.destination,
                    rows::class_text(i.class)
                ])?;
            }
            Change::Gap(g) => {
                self.superseded.gap((**g).clone());
                self.write_waiting_if_many()?;
            }
            Change::Judgement(j) => {
                self.sentence.clear();
                j.describe_into(&mut self.sentence);
                self.history.execute(params![
                    j.mmsi.0,
                    j.dark_from.as_millis(),
                    j.at.as_millis(),
                    j.before.map(|s| s.as_str()),
                    j.status.as_str(),
                    j.port,
                    j.coverage,
                    j.dark_now,
                    j.reason.kind(),
                    self.sentence
                ])?;
            }
            Change::Watched { mmsi, watched } => {
                self.superseded.set_watched(*mmsi, *watched);
                self.watched.execute(params![mmsi.0, watched])?;
            }
            Change::Track(chunk) => self.track(chunk)?,
            Change::Segment(row) => self.segment(row)?,
            Change::PortHour {
                port,
                hour,
                vessels,
            } => {
                self.port_hour
                    .execute(params![port, hour.as_millis(), vessels])?;
            }
            Change::Clock(clock) => self.superseded.clock = Some(*clock),
            Change::Encounter(e) => {
                self.superseded.encounter((**e).clone());
                self.write_waiting_if_many()?;
            }
            Change::Loitering(l) => {
                self.superseded.loitering((**l).clone());
                self.write_waiting_if_many()?;
            }
            Change::Rendezvous(r) => rendezvous::write_rendezvous(&mut self.rendezvous, r)?,
            Change::Visit(visit) => {
                self.superseded.visit((**visit).clone());
                self.write_waiting_if_many()?;
            }
            Change::Evidence(evidence) => provenance::write_evidence(&mut self.evidence, evidence)?,
            Change::JudgedBy(fingerprint) => {
                // Encounters waiting were judged by the rules in force before this one.
                self.write_waiting()?;
                provenance::write_fingerprint(self.tx, fingerprint)?;
            }
            // What the tables hold of them stays; only a service's saved states are dropped
            // (`Commit::vessels_gone`).
            Change::LeftMemory(_) => {}
        }
        Ok(())
    }

    fn vessel(&mut self, v: &VesselSnapshot) -> Result<(), StoreError> {
        let i = &v.identity;
        self.vessel.execute(params![
            v.mmsi.0,
            v.first_heard.as_millis(),
            v.last_heard.as_millis(),
            v.last_fix.map(|p| p.time.as_millis()),
            v.last_fix.map(|p| p.lat),
            v.last_fix.map(|p| p.lon),
            i.imo,
            i.name,
            i.callsign,
            i.ship_type,
            i.length,
            i.beam,
            i.draught.map(f64::from),
            i.destination,
            rows::class_text(i.class),
            v.watched,
            v.fixes as i64,
            v.late_fixes as i64
        ])?;
        Ok(())
    }

    fn gap(&mut self, g: &GapRecord) -> Result<(), StoreError> {
        Ok(rows::write_gap(&mut self.gap, &mut self.gap_json, g)?)
    }

    fn track(&mut self, chunk: &TrackChunk) -> Result<(), StoreError> {
        let (first, last) = chunk.time_span();
        self.track.execute(params![
            chunk.mmsi.0,
            chunk.day,
            first.as_millis(),
            last.as_millis(),
            chunk.packed,
            chunk.segment
        ])?;
        Ok(())
    }

    fn segment(&mut self, row: &SegmentRow) -> Result<(), StoreError> {
        let (s, i) = (&row.summary, &row.identity);
        self.segment.execute(params![
            row.mmsi.0,
            s.segment,
            s.first_heard.as_millis(),
            s.last_heard.as_millis(),
            s.fixes,
            row.last_fix.map(|p| p.time.as_millis()),
            row.last_fix.map(|p| p.lat),
            row.last_fix.map(|p| p.lon),
            i.imo,
            i.name,
            i.callsign,
            i.ship_type,
            i.length,
            i.beam,
            i.draught.map(f64::from),
            i.destination,
            rows::class_text(i.class),
            row.live
        ])?;
        Ok(())
    }
}
