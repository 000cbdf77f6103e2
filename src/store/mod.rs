//! The SQLite store: one writer applying the engine's changes in batched transactions (WAL),
//! and read-only connections for queries (`read`).

mod params;
pub mod read;
pub mod schema;

pub use params::StoreParams;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::detect::GapRecord;
use crate::engine::{Change, VesselSnapshot};
use crate::model::TransceiverClass;
use crate::ports::{Port, PortZone};
use crate::time::UnixMillis;
use crate::track::{Identity, TrackChunk};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "database schema version {found} is newer than this aisgap knows ({known}); upgrade aisgap"
    )]
    NewerSchema { found: usize, known: usize },
    #[error("database {path} has no aisgap tables; run `aisgap replay` or `aisgap run` first")]
    NotAnAisgapDatabase { path: PathBuf },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the store writer stopped before all changes were written")]
    WriterGone,
}

/// One commit of the running service (see [`Store::commit`]).
#[derive(Clone, Debug, Default)]
pub struct Commit {
    pub changes: Vec<Change>,
    /// Counter increments since the previous commit.
    pub counters: Vec<(String, u64)>,
    /// The engine's checkpoint without its vessels, serialised.
    pub checkpoint: String,
    /// The state of each vessel that changed since the previous commit, serialised.
    pub vessel_states: Vec<(u32, String)>,
    /// Each coverage bin `(port, hour, bin)` that changed since the previous commit.
    pub coverage_states: Vec<(String, i64, String)>,
    /// Lines consumed so far, per source name.
    pub positions: Vec<(String, u64)>,
    /// Wall-clock time of the commit.
    pub saved_at: UnixMillis,
}

/// Where a restarted service resumes: the last committed checkpoint and source positions.
#[derive(Clone, Debug, PartialEq)]
pub struct ResumePoint {
    pub saved_at: UnixMillis,
    pub checkpoint: String,
    pub vessel_states: Vec<(u32, String)>,
    pub coverage_states: Vec<(String, i64, String)>,
    pub positions: Vec<(String, u64)>,
}

/// The single writer.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The writer touches the recent end of a few B-trees; a larger page cache keeps them
        // in memory instead of re-reading pages through the OS on every batch.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    pub fn open_in_memory() -> Result<Store, StoreError> {
        let mut conn = Connection::open_in_memory()?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Bulk loading (a replay into a database it owns): no fsync per transaction, since an
    /// interrupted replay is simply run again. Off restores the service's durability.
    pub fn set_bulk_load(&mut self, bulk: bool) -> Result<(), StoreError> {
        // Pages go straight to the database file instead of through the WAL and a checkpoint:
        // half the bytes written. WAL comes back for the readers that follow.
        let journal = if bulk { "MEMORY" } else { "WAL" };
        self.conn
            .query_row(&format!("PRAGMA journal_mode = {journal}"), [], |_| Ok(()))?;
        self.conn
            .pragma_update(None, "synchronous", if bulk { "OFF" } else { "NORMAL" })?;
        Ok(())
    }

    /// Empties every table: a replay's database holds that replay's results only.
    pub fn clear(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "BEGIN;
             DELETE FROM vessels; DELETE FROM identity_history; DELETE FROM gaps; DELETE FROM track_chunks;
             DELETE FROM port_hours; DELETE FROM ports; DELETE FROM ingest; DELETE FROM state;
             DELETE FROM engine_checkpoint; DELETE FROM vessel_states; DELETE FROM coverage_states; DELETE FROM source_positions;
             COMMIT;",
        )?;
        Ok(())
    }

    /// Records the designated ports so that queries and exports need no config.
    pub fn save_ports(&mut self, ports: &[Port]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM ports", [])?;
        {
            let mut insert = tx.prepare(
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
                    zone_geojson(port).to_string()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Applies a batch of changes in one transaction.
    pub fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut writer = BatchWriter::new(&tx)?;
            for change in changes {
                writer.apply(change)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Persists one commit of the running service atomically: its changes, the counters
    /// added since the last commit, the engine checkpoint and the source positions. A kill at
    /// any moment leaves either all of it or none.
    pub fn commit(&mut self, commit: &Commit) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut writer = BatchWriter::new(&tx)?;
            for change in &commit.changes {
                writer.apply(change)?;
            }
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
            let mut vessel = tx.prepare_cached(
                "INSERT OR REPLACE INTO vessel_states (mmsi, state) VALUES (?1, ?2)",
            )?;
            for (mmsi, state) in &commit.vessel_states {
                vessel.execute(params![mmsi, state])?;
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
        }
        tx.commit()?;
        Ok(())
    }

    /// The last commit's resume point, if the service ever committed into this database.
    pub fn resume_point(&self) -> Result<Option<ResumePoint>, StoreError> {
        let checkpoint: Option<(i64, String)> = self
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
            .conn
            .prepare("SELECT source, lines FROM source_positions ORDER BY source")?;
        let positions = select
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut select = self.conn.prepare("SELECT mmsi, state FROM vessel_states")?;
        let vessel_states = select
            .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut select = self
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
        }))
    }

    /// Adds counters (lines read, rejects by reason, ...) to the running totals.
    pub fn add_counters<'a>(
        &mut self,
        counters: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
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

fn write_loop(mut store: Store, batches: Receiver<Vec<Change>>) -> Result<Store, StoreError> {
    while let Ok(batch) = batches.recv() {
        store.apply(&batch)?;
    }
    Ok(store)
}

struct BatchWriter<'t> {
    vessel: rusqlite::Statement<'t>,
    identity: rusqlite::Statement<'t>,
    gap: rusqlite::Statement<'t>,
    watched: rusqlite::Statement<'t>,
    track: rusqlite::Statement<'t>,
    port_hour: rusqlite::Statement<'t>,
    clock: rusqlite::Statement<'t>,
}

impl<'t> BatchWriter<'t> {
    fn new(tx: &'t rusqlite::Transaction<'t>) -> Result<Self, StoreError> {
        Ok(BatchWriter {
            vessel: tx.prepare(
                "INSERT OR REPLACE INTO vessels (mmsi, first_heard, last_heard, last_fix_time, last_lat, last_lon, imo, name, callsign, ship_type, length, beam, draught, destination, class, watched, fixes, late_fixes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?,
            identity: tx.prepare(
                "INSERT OR REPLACE INTO identity_history (mmsi, time, imo, name, callsign, ship_type, length, beam, draught, destination, class)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
            gap: tx.prepare(
                "INSERT OR REPLACE INTO gaps (mmsi, dark_from, dark_until, status, watched, port, from_lat, from_lon, until_lat, until_lon,
                    duration_hours, distance_nm, implied_speed_kn, detour_nm, slack_hours, coverage, dark_now, imo, name, callsign, ship_type,
                    draught_before, draught_after, draught_change, est_tonnes, est_barrels, confidence, identity_changes, candidates)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)",
            )?,
            watched: tx.prepare("UPDATE gaps SET watched = ?2 WHERE mmsi = ?1")?,
            track: tx.prepare(
                "INSERT INTO track_chunks (mmsi, day, seq, first_time, last_time, points)
                 VALUES (?1, ?2, (SELECT COALESCE(MAX(seq) + 1, 0) FROM track_chunks WHERE mmsi = ?1 AND day = ?2), ?3, ?4, ?5)",
            )?,
            port_hour: tx.prepare("INSERT OR REPLACE INTO port_hours (port, hour, vessels) VALUES (?1, ?2, ?3)")?,
            clock: tx.prepare("INSERT OR REPLACE INTO state (key, value) VALUES ('stream_clock', ?1)")?,
        })
    }

    fn apply(&mut self, change: &Change) -> Result<(), StoreError> {
        match change {
            Change::Vessel(v) => self.vessel(v)?,
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
                    class_text(i.class)
                ])?;
            }
            Change::Gap(g) => self.gap(g)?,
            Change::Watched { mmsi, watched } => {
                self.watched.execute(params![mmsi.0, watched])?;
            }
            Change::Track(chunk) => self.track(chunk)?,
            Change::PortHour {
                port,
                hour,
                vessels,
            } => {
                self.port_hour
                    .execute(params![port, hour.as_millis(), vessels])?;
            }
            Change::Clock(clock) => {
                self.clock.execute(params![clock.as_millis().to_string()])?;
            }
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
            class_text(i.class),
            v.watched,
            v.fixes as i64,
            v.late_fixes as i64
        ])?;
        Ok(())
    }

    fn gap(&mut self, g: &GapRecord) -> Result<(), StoreError> {
        let changes = serde_json::to_string(&g.identity_changes).unwrap_or_else(|_| "[]".into());
        let candidates = serde_json::to_string(&g.candidates).unwrap_or_else(|_| "[]".into());
        self.gap.execute(params![
            g.mmsi.0,
            g.dark_from.as_millis(),
            g.dark_until.map(UnixMillis::as_millis),
            g.status.as_str(),
            g.watched,
            g.port,
            g.from_lat,
            g.from_lon,
            g.until_lat,
            g.until_lon,
            g.duration_hours,
            g.distance_nm,
            g.implied_speed_kn,
            g.detour_nm,
            g.slack_hours,
            g.coverage,
            g.dark_now,
            g.imo,
            g.name,
            g.callsign,
            g.ship_type,
            g.draught_before,
            g.draught_after,
            g.draught_change,
            g.est_tonnes,
            g.est_barrels,
            g.confidence.map(|c| c.as_str()),
            changes,
            candidates
        ])?;
        Ok(())
    }

    fn track(&mut self, chunk: &TrackChunk) -> Result<(), StoreError> {
        let (first, last) = chunk.time_span();
        self.track.execute(params![
            chunk.mmsi.0,
            chunk.day,
            first.as_millis(),
            last.as_millis(),
            chunk.packed
        ])?;
        Ok(())
    }
}

fn class_text(class: Option<TransceiverClass>) -> Option<&'static str> {
    class.map(|c| match c {
        TransceiverClass::A => "A",
        TransceiverClass::B => "B",
    })
}

/// The GeoJSON geometry of a port's zone (circle zones as their centre Point).
pub fn zone_geojson(port: &Port) -> serde_json::Value {
    match &port.zone {
        PortZone::Circle {
            lat,
            lon,
            radius_nm,
        } => {
            serde_json::json!({ "type": "Point", "coordinates": [lon, lat], "radius_nm": radius_nm })
        }
        PortZone::Area(area) => {
            let polygons: Vec<serde_json::Value> = area
                .0
                .iter()
                .map(|polygon| {
                    let ring = |line: &geo::LineString<f64>| {
                        line.0
                            .iter()
                            .map(|c| serde_json::json!([c.x, c.y]))
                            .collect::<Vec<_>>()
                    };
                    let mut rings = vec![ring(polygon.exterior())];
                    rings.extend(polygon.interiors().iter().map(ring));
                    serde_json::json!(rings)
                })
                .collect();
            serde_json::json!({ "type": "MultiPolygon", "coordinates": polygons })
        }
    }
}

/// Opens an existing database read-only, for queries while a writer may be running.
pub fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let has_gaps: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'gaps'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_gaps.is_none() {
        return Err(StoreError::NotAnAisgapDatabase {
            path: path.to_path_buf(),
        });
    }
    Ok(conn)
}

/// Identity from a stored row (shared by the read side).
pub(crate) fn identity_from_row(
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<Identity> {
    let class: Option<String> = row.get(first + 8)?;
    Ok(Identity {
        imo: row.get(first)?,
        name: row.get(first + 1)?,
        callsign: row.get(first + 2)?,
        ship_type: row.get(first + 3)?,
        length: row.get(first + 4)?,
        beam: row.get(first + 5)?,
        draught: row.get::<_, Option<f64>>(first + 6)?.map(|d| d as f32),
        destination: row.get(first + 7)?,
        class: match class.as_deref() {
            Some("A") => Some(TransceiverClass::A),
            Some("B") => Some(TransceiverClass::B),
            _ => None,
        },
    })
}
