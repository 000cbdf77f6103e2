//! The read side: [`Reader`] and the built-in queries analysts run (trips, gaps, dark now,
//! tallies, vessels, ports) as its methods. Nothing here writes.

use std::collections::BTreeMap;

use std::path::Path;

use rusqlite::{params_from_iter, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use super::cells::{BadValue, Cells};
use super::{rows, StoreError};
use crate::detect::{Confidence, GapRecord, GapStatus, Visit};
use crate::model::Mmsi;
use crate::time::UnixMillis;
use crate::track::{unpack_points, Identity, TrackPoint, FIRST_SEGMENT, POINT_BYTES};

/// Which gaps a query wants. A gap is inside the window when it starts (fix A) inside it.
#[derive(Clone, Debug, Default)]
pub struct GapFilter {
    pub port: Option<String>,
    pub mmsi: Option<Mmsi>,
    pub imo: Option<u32>,
    pub since: Option<UnixMillis>,
    pub until: Option<UnixMillis>,
    pub confidence: Option<Confidence>,
    pub status: Option<GapStatus>,
    /// Only vessels that are watched (tankers, watchlist, or everything with `watch_all`).
    pub watched_only: bool,
    pub dark_now_only: bool,
    pub limit: Option<u64>,
    pub offset: u64,
}

impl GapFilter {
    pub fn trips() -> GapFilter {
        GapFilter {
            status: Some(GapStatus::Trip),
            watched_only: true,
            ..GapFilter::default()
        }
    }

    fn where_clause(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut clauses = vec!["1 = 1".to_string()];
        let mut values = Vec::new();
        if let Some(port) = &self.port {
            clauses.push("port = ?".into());
            values.push(Value::Text(port.clone()));
        }
        if let Some(mmsi) = self.mmsi {
            clauses.push("mmsi = ?".into());
            values.push(Value::Integer(mmsi.0.into()));
        }
        if let Some(imo) = self.imo {
            clauses.push("imo = ?".into());
            values.push(Value::Integer(imo.into()));
        }
        if let Some(since) = self.since {
            clauses.push("dark_from >= ?".into());
            values.push(Value::Integer(since.as_millis()));
        }
        if let Some(until) = self.until {
            clauses.push("dark_from < ?".into());
            values.push(Value::Integer(until.as_millis()));
        }
        if let Some(confidence) = self.confidence {
            clauses.push("confidence = ?".into());
            values.push(Value::Text(confidence.as_str().into()));
        }
        if let Some(status) = self.status {
            clauses.push("status = ?".into());
            values.push(Value::Text(status.as_str().into()));
        }
        if self.watched_only {
            clauses.push("watched = 1".into());
        }
        if self.dark_now_only {
            clauses.push("dark_now = 1".into());
        }
        (clauses.join(" AND "), values)
    }
}

/// The read side of one database: a connection that only reads, and the queries analysts
/// run as its methods. `aisgap query`, the HTTP API and a replay's closing tally all ask
/// through it, so they see the same answers.
pub struct Reader {
    pub(super) conn: Connection,
}

impl Reader {
    /// Opens an existing database read-only, for queries while a writer may be running.
    /// A file that is not an aisgap database is refused.
    pub fn open(path: &Path) -> Result<Reader, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|reason| StoreError::Open {
            path: path.to_path_buf(),
            reason,
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
        Ok(Reader { conn })
    }

    /// Read-only twice over: the open flags, and SQLite refusing any write statement. For
    /// connections that answer requests from outside.
    pub fn refuse_writes(self) -> Result<Reader, StoreError> {
        self.conn.pragma_update(None, "query_only", true)?;
        Ok(self)
    }

    /// Gaps matching the filter, oldest first.
    pub fn gaps(&self, filter: &GapFilter) -> Result<Vec<GapRecord>, StoreError> {
        let (clause, values) = filter.where_clause();
        let limit = filter.limit.map_or(-1, |l| l as i64);
        let sql = format!(
            "SELECT {} FROM gaps WHERE {clause} ORDER BY dark_from, mmsi LIMIT {limit} OFFSET {}",
            *rows::GAP_SELECT_LIST,
            filter.offset
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(values), rows::read_gap)?;
        let mut gaps: Vec<GapRecord> = rows.collect::<Result<_, _>>()?;
        if let Some(clock) = self.stream_clock()? {
            for gap in &mut gaps {
                gap.lasting_until(clock);
            }
        }
        self.add_last_open_calls(&mut gaps)?;
        Ok(gaps)
    }

    /// How many gaps match the filter, ignoring its limit and offset (for paging).
    pub fn count_gaps(&self, filter: &GapFilter) -> Result<u64, StoreError> {
        let (clause, values) = filter.where_clause();
        let sql = format!("SELECT COUNT(*) FROM gaps WHERE {clause}");
        let count: i64 = self
            .conn
            .query_row(&sql, params_from_iter(values), |row| row.get(0))?;
        Ok(count as u64)
    }
}

/// How trips are grouped in a tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TallyKey {
    Port,
    Vessel,
    Month,
}

impl TallyKey {
    /// Every grouping, in the order a tally's columns come.
    pub const ALL: [TallyKey; 3] = [TallyKey::Port, TallyKey::Vessel, TallyKey::Month];

    /// The grouping's one spelling, on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TallyKey::Port => "port",
            TallyKey::Vessel => "vessel",
            TallyKey::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<TallyKey> {
        TallyKey::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One row of a tally: the trips of one group and their estimated cargo.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TallyRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmsi: Option<Mmsi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    pub trips: u64,
    pub high_confidence: u64,
    pub est_barrels: f64,
    /// Port visits with AIS on (no gap inside) by watched vessels, next to the dark trips.
    pub open_calls: u64,
}

/// A tally row's key: port, vessel and month, each only when asked for.
type TallyGroup = (Option<String>, Option<Mmsi>, Option<String>);

/// The row a trip or open call at `port` by `mmsi` at `at` counts in, by the keys asked for;
/// a vessel's row takes the first name heard.
fn tally_row<'g>(
    groups: &'g mut BTreeMap<TallyGroup, TallyRow>,
    keys: &[TallyKey],
    port: &str,
    mmsi: Mmsi,
    at: UnixMillis,
    name: Option<&str>,
) -> &'g mut TallyRow {
    let port = keys.contains(&TallyKey::Port).then(|| port.to_string());
    let mmsi = keys.contains(&TallyKey::Vessel).then_some(mmsi);
    let month = keys.contains(&TallyKey::Month).then(|| at.month_key());
    let row = groups
        .entry((port.clone(), mmsi, month.clone()))
        .or_insert_with(|| TallyRow {
            port,
            mmsi,
            month,
            ..TallyRow::default()
        });
    if mmsi.is_some() && row.name.is_none() {
        row.name = name.map(str::to_owned);
    }
    row
}

impl Reader {
    /// Counts trips by any combination of port, vessel and month (of dark_from, UTC), and
    /// next to them the open calls (by month of arrival).
    pub fn tally(
        &self,
        filter: &GapFilter,
        keys: &[TallyKey],
    ) -> Result<Vec<TallyRow>, StoreError> {
        let mut trips_filter = filter.clone();
        trips_filter.status = Some(GapStatus::Trip);
        trips_filter.watched_only = true;
        trips_filter.limit = None;
        trips_filter.offset = 0;
        let mut groups: BTreeMap<TallyGroup, TallyRow> = BTreeMap::new();
        for trip in self.gaps(&trips_filter)? {
            let port = trip.port.as_deref().unwrap_or_default();
            let row = tally_row(
                &mut groups,
                keys,
                port,
                trip.mmsi,
                trip.dark_from,
                trip.name.as_deref(),
            );
            row.trips += 1;
            row.high_confidence += u64::from(trip.confidence == Some(Confidence::High));
            row.est_barrels += trip.est_barrels.unwrap_or(0.0);
        }
        // Open calls have no confidence and are never dark now: a tally asked for those only
        // has none.
        let calls = if filter.confidence.is_none() && !filter.dark_now_only {
            self.open_calls(filter)?
        } else {
            Vec::new()
        };
        for call in calls {
            let visit = &call.visit;
            let row = tally_row(
                &mut groups,
                keys,
                &visit.port,
                visit.mmsi,
                visit.arrived,
                call.name.as_deref(),
            );
            row.open_calls += 1;
        }
        Ok(groups.into_values().collect())
    }
}

/// A stored port visit (see `store::visits`) with the vessel's name and whether it is watched, as queries show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VisitRow {
    #[serde(flatten)]
    pub visit: Visit,
    pub name: Option<String>,
    pub watched: bool,
    pub duration_hours: f64,
    pub open_call: bool,
}

/// A vessel's stored state, identity history, gaps and track.
#[derive(Clone, Debug, Serialize)]
pub struct VesselDetail {
    pub mmsi: Mmsi,
    pub first_heard: UnixMillis,
    pub last_heard: UnixMillis,
    pub last_fix_time: Option<UnixMillis>,
    pub last_lat: Option<f64>,
    pub last_lon: Option<f64>,
    pub watched: bool,
    pub fixes: u64,
    pub late_fixes: u64,
    pub identity: Identity,
    pub identity_history: Vec<IdentityAt>,
    /// The transmitters the MMSI's fixes split into (one for most), oldest first.
    pub segments: Vec<SegmentAt>,
    pub gaps: Vec<GapRecord>,
    pub track: Vec<TrackPoint>,
    /// Port visits heard with AIS on, arriving inside the window.
    pub visits: Vec<VisitRow>,
}

/// One transmitter of an MMSI: when it was heard, how often, and the static data it sent.
#[derive(Clone, Debug, Serialize)]
pub struct SegmentAt {
    pub segment: u32,
    pub first_heard: UnixMillis,
    pub last_heard: UnixMillis,
    pub fixes: u64,
    pub last_fix_time: Option<UnixMillis>,
    pub last_lat: Option<f64>,
    pub last_lon: Option<f64>,
    /// Still tracked; false once the bound on segments per MMSI gave it up.
    pub live: bool,
    pub identity: Identity,
}

#[derive(Clone, Debug, Serialize)]
pub struct IdentityAt {
    pub time: UnixMillis,
    #[serde(flatten)]
    pub identity: Identity,
}

impl Reader {
    pub fn vessel(
        &self,
        mmsi: Mmsi,
        since: Option<UnixMillis>,
        until: Option<UnixMillis>,
    ) -> Result<Option<VesselDetail>, StoreError> {
        let sql = format!(
        "SELECT first_heard, last_heard, last_fix_time, last_lat, last_lon, watched, fixes, late_fixes,
                {}
         FROM vessels WHERE mmsi = ?1",
        rows::IDENTITY_SELECT_LIST
    );
        let detail = self
            .conn
            .query_row(&sql, [mmsi.0], |row| {
                let key = format!("mmsi {}", mmsi.0);
                let cells = Cells::new(row, "vessels", key.clone());
                Ok(VesselDetail {
                    mmsi,
                    first_heard: UnixMillis(cells.get(0)?),
                    last_heard: UnixMillis(cells.get(1)?),
                    last_fix_time: cells.get::<Option<i64>>(2)?.map(UnixMillis),
                    last_lat: cells.get(3)?,
                    last_lon: cells.get(4)?,
                    watched: cells.get(5)?,
                    fixes: cells.count(6)?,
                    late_fixes: cells.count(7)?,
                    identity: rows::read_identity(row, "vessels", key)?,
                    identity_history: Vec::new(),
                    segments: Vec::new(),
                    gaps: Vec::new(),
                    visits: Vec::new(),
                    track: Vec::new(),
                })
            })
            .optional()?;
        let Some(mut detail) = detail else {
            return Ok(None);
        };
        let mut history = self.conn.prepare(&format!(
            "SELECT time, {}
         FROM identity_history WHERE mmsi = ?1 ORDER BY time",
            rows::IDENTITY_SELECT_LIST
        ))?;
        detail.identity_history = history
            .query_map([mmsi.0], |row| {
                let key = Cells::key_of(row, &[(0, "time")]);
                let key = format!("mmsi {}, {key}", mmsi.0);
                let cells = Cells::new(row, "identity_history", key.clone());
                Ok(IdentityAt {
                    time: UnixMillis(cells.get(0)?),
                    identity: rows::read_identity(row, "identity_history", key)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        detail.segments = self.segments(mmsi)?;
        if detail.segments.is_empty() {
            // One transmitter: the vessel row is its summary.
            detail.segments.push(SegmentAt {
                segment: FIRST_SEGMENT,
                first_heard: detail.first_heard,
                last_heard: detail.last_heard,
                fixes: detail.fixes,
                last_fix_time: detail.last_fix_time,
                last_lat: detail.last_lat,
                last_lon: detail.last_lon,
                live: true,
                identity: detail.identity.clone(),
            });
        }
        detail.gaps = self.gaps(&GapFilter {
            mmsi: Some(mmsi),
            since,
            until,
            ..GapFilter::default()
        })?;
        detail.track = self.track(mmsi, since, until)?;
        detail.visits = self.visits(&GapFilter {
            mmsi: Some(mmsi),
            since,
            until,
            ..GapFilter::default()
        })?;
        Ok(Some(detail))
    }

    /// The segments stored for an MMSI heard from more than one transmitter, oldest first.
    pub fn segments(&self, mmsi: Mmsi) -> Result<Vec<SegmentAt>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT segment, first_heard, last_heard, fixes, last_fix_time, last_lat, last_lon, live, {}
             FROM segments WHERE mmsi = ?1 ORDER BY segment",
            rows::IDENTITY_SELECT_LIST
        ))?;
        let segments = statement
            .query_map([mmsi.0], |row| {
                let key = format!("mmsi {mmsi}, {}", Cells::key_of(row, &[(0, "segment")]));
                let cells = Cells::new(row, "segments", key.clone());
                Ok(SegmentAt {
                    segment: cells.get(0)?,
                    first_heard: UnixMillis(cells.get(1)?),
                    last_heard: UnixMillis(cells.get(2)?),
                    fixes: cells.count(3)?,
                    last_fix_time: cells.get::<Option<i64>>(4)?.map(UnixMillis),
                    last_lat: cells.get(5)?,
                    last_lon: cells.get(6)?,
                    live: cells.get(7)?,
                    identity: rows::read_identity(row, "segments", key)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(segments)
    }

    /// A vessel's stored track between two times, in time order (late points sorted in).
    pub fn track(
        &self,
        mmsi: Mmsi,
        since: Option<UnixMillis>,
        until: Option<UnixMillis>,
    ) -> Result<Vec<TrackPoint>, StoreError> {
        let since = since.map_or(i64::MIN, UnixMillis::as_millis);
        let until = until.map_or(i64::MAX, UnixMillis::as_millis);
        // Every chunk holds points of its own UTC day only, so the key range (mmsi, day) bounds
        // the scan: without it each window read every chunk of the vessel's whole history.
        let mut statement = self.conn.prepare_cached(
            "SELECT points, segment, id FROM track_chunks WHERE mmsi = ?1 AND day >= ?4 AND day <= ?5
           AND last_time >= ?2 AND first_time <= ?3 ORDER BY day, seq",
        )?;
        let mut points = Vec::new();
        let rows = statement.query_map(
            rusqlite::params![
                mmsi.0,
                since,
                until,
                crate::track::day_of(UnixMillis(since)),
                crate::track::day_of(UnixMillis(until))
            ],
            |row| {
                let cells = Cells::new(row, "track_chunks", Cells::key_of(row, &[(2, "id")]));
                let blob: Vec<u8> = cells.get(0)?;
                // Points have one fixed size: a remainder means the blob was cut or altered.
                if blob.len() % POINT_BYTES != 0 {
                    return Err(cells.bad(
                        0,
                        format!(
                            "{} bytes is not a whole number of {POINT_BYTES}-byte track points",
                            blob.len()
                        ),
                    ));
                }
                Ok((blob, cells.get::<u32>(1)?))
            },
        )?;
        for row in rows {
            let (blob, segment) = row?;
            points.extend(
                unpack_points(&blob)
                    .into_iter()
                    .filter(|p| p.time.as_millis() >= since && p.time.as_millis() <= until)
                    .map(|p| TrackPoint { segment, ..p }),
            );
        }
        points.sort_by_key(|p| p.time);
        Ok(points)
    }
}

/// A designated port as stored, with its traffic and coverage over a window.
#[derive(Clone, Debug, Serialize)]
pub struct PortSummary {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub approach_nm: f64,
    pub coverage_nm: f64,
    pub gap_hours: Option<f64>,
    pub geometry: serde_json::Value,
    /// Hours in the window in which any vessel was heard near the port.
    pub hours_heard: u64,
    /// Hours in which at least `min_vessels` were heard.
    pub hours_covered: u64,
    pub mean_vessels_per_hour: f64,
    pub trips: u64,
    pub dark_now: u64,
}

/// Hourly distinct-vessel counts of one port.
#[derive(Clone, Debug, Serialize)]
pub struct PortHour {
    pub hour: UnixMillis,
    pub vessels: u32,
}

impl Reader {
    pub fn ports(
        &self,
        since: Option<UnixMillis>,
        until: Option<UnixMillis>,
        min_vessels: u32,
    ) -> Result<Vec<PortSummary>, StoreError> {
        let mut statement = self.conn.prepare("SELECT name, lat, lon, approach_nm, coverage_nm, gap_hours, geometry FROM ports ORDER BY name")?;
        let mut summaries: Vec<PortSummary> = statement
            .query_map([], |row| {
                let cells = Cells::new(row, "ports", Cells::key_of(row, &[(0, "name")]));
                Ok(PortSummary {
                    name: cells.get(0)?,
                    lat: cells.get(1)?,
                    lon: cells.get(2)?,
                    approach_nm: cells.get(3)?,
                    coverage_nm: cells.get(4)?,
                    gap_hours: cells.get(5)?,
                    geometry: cells.json(6)?,
                    hours_heard: 0,
                    hours_covered: 0,
                    mean_vessels_per_hour: 0.0,
                    trips: 0,
                    dark_now: 0,
                })
            })?
            .collect::<Result<_, _>>()?;
        // Counted in SQL: a year is 8,760 hours per port, and a page asks for this on every load.
        let mut hours = self.conn.prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(vessels >= ?4), 0), COALESCE(SUM(vessels), 0)
         FROM port_hours WHERE port = ?1 AND hour >= ?2 AND hour < ?3",
        )?;
        for summary in &mut summaries {
            let (heard, covered, vessels): (i64, i64, i64) = hours.query_row(
                rusqlite::params![
                    summary.name,
                    since.map_or(i64::MIN, UnixMillis::as_millis),
                    until.map_or(i64::MAX, UnixMillis::as_millis),
                    min_vessels
                ],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )?;
            let (heard, covered, vessels): (i64, i64, i64) = (heard, covered, vessels);
            summary.hours_heard = heard as u64;
            summary.hours_covered = covered as u64;
            if heard > 0 {
                summary.mean_vessels_per_hour =
                    (vessels as f64 / heard as f64 * 100.0).round() / 100.0;
            }
            let filter = GapFilter {
                port: Some(summary.name.clone()),
                since,
                until,
                ..GapFilter::trips()
            };
            summary.trips = self.count_gaps(&filter)?;
            let dark = GapFilter {
                port: Some(summary.name.clone()),
                status: Some(GapStatus::Open),
                watched_only: true,
                dark_now_only: true,
                ..GapFilter::default()
            };
            summary.dark_now = self.count_gaps(&dark)?;
        }
        Ok(summaries)
    }

    /// Names of the designated ports recorded in the database.
    pub fn port_names(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self.conn.prepare("SELECT name FROM ports ORDER BY name")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn port_hours(
        &self,
        port: &str,
        since: Option<UnixMillis>,
        until: Option<UnixMillis>,
    ) -> Result<Vec<PortHour>, StoreError> {
        let mut statement = self.conn.prepare("SELECT hour, vessels FROM port_hours WHERE port = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY hour")?;
        let rows = statement.query_map(
            rusqlite::params![
                port,
                since.map_or(i64::MIN, UnixMillis::as_millis),
                until.map_or(i64::MAX, UnixMillis::as_millis)
            ],
            |row| {
                let key = format!("port {port:?}, {}", Cells::key_of(row, &[(0, "hour")]));
                let cells = Cells::new(row, "port_hours", key);
                Ok(PortHour {
                    hour: UnixMillis(cells.get(0)?),
                    vessels: cells.get(1)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stream clock of the last write: "now" for dark-now questions.
    pub fn stream_clock(&self) -> Result<Option<UnixMillis>, StoreError> {
        let value: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM state WHERE key = 'stream_clock'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(value) = value else { return Ok(None) };
        match value.parse() {
            Ok(millis) => Ok(Some(UnixMillis(millis))),
            Err(_) => Err(StoreError::BadValue(BadValue {
                table: "state",
                row: "key stream_clock".into(),
                column: "value".into(),
                problem: format!("{value:?} is not a time in milliseconds"),
            })),
        }
    }

    /// Why the database was built from incomplete input (a log that broke off or was refused),
    /// one reason each; empty when its input was read whole.
    pub fn incomplete_input(&self) -> Result<Vec<String>, StoreError> {
        let value: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM state WHERE key = ?1",
                [super::INCOMPLETE_INPUT_KEY],
                |r| r.get(0),
            )
            .optional()?;
        Ok(value.map_or_else(Vec::new, |v| v.lines().map(str::to_string).collect()))
    }

    /// Ingest counters (lines, messages by type, rejects by reason, ...).
    pub fn counters(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT name, value FROM ingest ORDER BY name")?;
        let rows = statement.query_map([], |row| {
            let cells = Cells::new(row, "ingest", Cells::key_of(row, &[(0, "name")]));
            Ok((cells.get::<String>(0)?, cells.count(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
impl Reader {
    /// The connection itself, for tests that must show what it refuses.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}
