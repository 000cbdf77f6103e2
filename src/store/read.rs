//! The read side: the built-in queries analysts run (trips, gaps, dark now, tallies, vessels,
//! ports), on a read-only connection. Nothing here writes.

use std::collections::BTreeMap;

use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::{identity_from_row, StoreError};
use crate::detect::{Confidence, GapRecord, GapStatus};
use crate::model::Mmsi;
use crate::time::UnixMillis;
use crate::track::{unpack_points, Identity, TrackPoint};

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

const GAP_COLUMNS: &str = "mmsi, dark_from, dark_until, status, watched, port, from_lat, from_lon, until_lat, until_lon,
    duration_hours, distance_nm, implied_speed_kn, detour_nm, slack_hours, coverage, dark_now, imo, name, callsign, ship_type,
    draught_before, draught_after, draught_change, est_tonnes, est_barrels, confidence, identity_changes, candidates";

fn gap_from_row(row: &Row<'_>) -> rusqlite::Result<GapRecord> {
    let status: String = row.get(3)?;
    let confidence: Option<String> = row.get(26)?;
    let identity_changes: String = row.get(27)?;
    let candidates: String = row.get(28)?;
    Ok(GapRecord {
        mmsi: Mmsi(row.get(0)?),
        dark_from: UnixMillis(row.get(1)?),
        dark_until: row.get::<_, Option<i64>>(2)?.map(UnixMillis),
        status: GapStatus::parse(&status).unwrap_or(GapStatus::NotNear),
        watched: row.get(4)?,
        port: row.get(5)?,
        from_lat: row.get(6)?,
        from_lon: row.get(7)?,
        until_lat: row.get(8)?,
        until_lon: row.get(9)?,
        duration_hours: row.get(10)?,
        distance_nm: row.get(11)?,
        implied_speed_kn: row.get(12)?,
        detour_nm: row.get(13)?,
        slack_hours: row.get(14)?,
        coverage: row.get(15)?,
        dark_now: row.get(16)?,
        imo: row.get(17)?,
        name: row.get(18)?,
        callsign: row.get(19)?,
        ship_type: row.get(20)?,
        draught_before: row.get(21)?,
        draught_after: row.get(22)?,
        draught_change: row.get(23)?,
        est_tonnes: row.get(24)?,
        est_barrels: row.get(25)?,
        confidence: confidence.as_deref().and_then(Confidence::parse),
        identity_changes: serde_json::from_str(&identity_changes).unwrap_or_default(),
        candidates: serde_json::from_str(&candidates).unwrap_or_default(),
    })
}

/// Gaps matching the filter, oldest first.
pub fn gaps(conn: &Connection, filter: &GapFilter) -> Result<Vec<GapRecord>, StoreError> {
    let (clause, values) = filter.where_clause();
    let limit = filter.limit.map_or(-1, |l| l as i64);
    let sql = format!(
        "SELECT {GAP_COLUMNS} FROM gaps WHERE {clause} ORDER BY dark_from, mmsi LIMIT {limit} OFFSET {}",
        filter.offset
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(params_from_iter(values), gap_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many gaps match the filter, ignoring its limit and offset (for paging).
pub fn count_gaps(conn: &Connection, filter: &GapFilter) -> Result<u64, StoreError> {
    let (clause, values) = filter.where_clause();
    let sql = format!("SELECT COUNT(*) FROM gaps WHERE {clause}");
    let count: i64 = conn.query_row(&sql, params_from_iter(values), |row| row.get(0))?;
    Ok(count as u64)
}

/// How trips are grouped in a tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TallyKey {
    Port,
    Vessel,
    Month,
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
}

/// Counts trips by any combination of port, vessel and month (of dark_from, UTC).
pub fn tally(
    conn: &Connection,
    filter: &GapFilter,
    keys: &[TallyKey],
) -> Result<Vec<TallyRow>, StoreError> {
    let mut trips_filter = filter.clone();
    trips_filter.status = Some(GapStatus::Trip);
    trips_filter.watched_only = true;
    trips_filter.limit = None;
    trips_filter.offset = 0;
    type Group = (Option<String>, Option<Mmsi>, Option<String>);
    let mut groups: BTreeMap<Group, TallyRow> = BTreeMap::new();
    for trip in gaps(conn, &trips_filter)? {
        let port = keys
            .contains(&TallyKey::Port)
            .then(|| trip.port.clone().unwrap_or_default());
        let mmsi = keys.contains(&TallyKey::Vessel).then_some(trip.mmsi);
        let month = keys
            .contains(&TallyKey::Month)
            .then(|| trip.dark_from.month_key());
        let row = groups
            .entry((port.clone(), mmsi, month.clone()))
            .or_insert_with(|| TallyRow {
                port,
                mmsi,
                month,
                ..TallyRow::default()
            });
        if mmsi.is_some() && row.name.is_none() {
            row.name.clone_from(&trip.name);
        }
        row.trips += 1;
        row.high_confidence += u64::from(trip.confidence == Some(Confidence::High));
        row.est_barrels += trip.est_barrels.unwrap_or(0.0);
    }
    Ok(groups.into_values().collect())
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
    pub gaps: Vec<GapRecord>,
    pub track: Vec<TrackPoint>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IdentityAt {
    pub time: UnixMillis,
    #[serde(flatten)]
    pub identity: Identity,
}

pub fn vessel(
    conn: &Connection,
    mmsi: Mmsi,
    since: Option<UnixMillis>,
    until: Option<UnixMillis>,
) -> Result<Option<VesselDetail>, StoreError> {
    let detail = conn
        .query_row(
            "SELECT first_heard, last_heard, last_fix_time, last_lat, last_lon, watched, fixes, late_fixes,
                    imo, name, callsign, ship_type, length, beam, draught, destination, class
             FROM vessels WHERE mmsi = ?1",
            [mmsi.0],
            |row| {
                Ok(VesselDetail {
                    mmsi,
                    first_heard: UnixMillis(row.get(0)?),
                    last_heard: UnixMillis(row.get(1)?),
                    last_fix_time: row.get::<_, Option<i64>>(2)?.map(UnixMillis),
                    last_lat: row.get(3)?,
                    last_lon: row.get(4)?,
                    watched: row.get(5)?,
                    fixes: row.get::<_, i64>(6)? as u64,
                    late_fixes: row.get::<_, i64>(7)? as u64,
                    identity: identity_from_row(row, 8)?,
                    identity_history: Vec::new(),
                    gaps: Vec::new(),
                    track: Vec::new(),
                })
            },
        )
        .optional()?;
    let Some(mut detail) = detail else {
        return Ok(None);
    };
    let mut history = conn.prepare(
        "SELECT time, imo, name, callsign, ship_type, length, beam, draught, destination, class
         FROM identity_history WHERE mmsi = ?1 ORDER BY time",
    )?;
    detail.identity_history = history
        .query_map([mmsi.0], |row| {
            Ok(IdentityAt {
                time: UnixMillis(row.get(0)?),
                identity: identity_from_row(row, 1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    detail.gaps = gaps(
        conn,
        &GapFilter {
            mmsi: Some(mmsi),
            since,
            until,
            ..GapFilter::default()
        },
    )?;
    detail.track = track(conn, mmsi, since, until)?;
    Ok(Some(detail))
}

/// A vessel's stored track between two times, in time order (late points sorted in).
pub fn track(
    conn: &Connection,
    mmsi: Mmsi,
    since: Option<UnixMillis>,
    until: Option<UnixMillis>,
) -> Result<Vec<TrackPoint>, StoreError> {
    let since = since.map_or(i64::MIN, UnixMillis::as_millis);
    let until = until.map_or(i64::MAX, UnixMillis::as_millis);
    // Every chunk holds points of its own UTC day only, so the key range (mmsi, day) bounds
    // the scan: without it each window read every chunk of the vessel's whole history.
    let mut statement = conn.prepare_cached(
        "SELECT points FROM track_chunks WHERE mmsi = ?1 AND day >= ?4 AND day <= ?5
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
        |row| row.get::<_, Vec<u8>>(0),
    )?;
    for blob in rows {
        points.extend(
            unpack_points(&blob?)
                .into_iter()
                .filter(|p| p.time.as_millis() >= since && p.time.as_millis() <= until),
        );
    }
    points.sort_by_key(|p| p.time);
    Ok(points)
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

pub fn ports(
    conn: &Connection,
    since: Option<UnixMillis>,
    until: Option<UnixMillis>,
    min_vessels: u32,
) -> Result<Vec<PortSummary>, StoreError> {
    let mut statement = conn.prepare("SELECT name, lat, lon, approach_nm, coverage_nm, gap_hours, geometry FROM ports ORDER BY name")?;
    let mut summaries: Vec<PortSummary> = statement
        .query_map([], |row| {
            let geometry: String = row.get(6)?;
            Ok(PortSummary {
                name: row.get(0)?,
                lat: row.get(1)?,
                lon: row.get(2)?,
                approach_nm: row.get(3)?,
                coverage_nm: row.get(4)?,
                gap_hours: row.get(5)?,
                geometry: serde_json::from_str(&geometry).unwrap_or(serde_json::Value::Null),
                hours_heard: 0,
                hours_covered: 0,
                mean_vessels_per_hour: 0.0,
                trips: 0,
                dark_now: 0,
            })
        })?
        .collect::<Result<_, _>>()?;
    // Counted in SQL: a year is 8,760 hours per port, and a page asks for this on every load.
    let mut hours = conn.prepare_cached(
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
        summary.hours_heard = heard as u64;
        summary.hours_covered = covered as u64;
        if heard > 0 {
            summary.mean_vessels_per_hour = (vessels as f64 / heard as f64 * 100.0).round() / 100.0;
        }
        let filter = GapFilter {
            port: Some(summary.name.clone()),
            since,
            until,
            ..GapFilter::trips()
        };
        summary.trips = count_gaps(conn, &filter)?;
        let dark = GapFilter {
            port: Some(summary.name.clone()),
            status: Some(GapStatus::Open),
            watched_only: true,
            dark_now_only: true,
            ..GapFilter::default()
        };
        summary.dark_now = count_gaps(conn, &dark)?;
    }
    Ok(summaries)
}

/// Names of the designated ports recorded in the database.
pub fn port_names(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut statement = conn.prepare("SELECT name FROM ports ORDER BY name")?;
    let rows = statement.query_map([], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn port_hours(
    conn: &Connection,
    port: &str,
    since: Option<UnixMillis>,
    until: Option<UnixMillis>,
) -> Result<Vec<PortHour>, StoreError> {
    let mut statement = conn.prepare("SELECT hour, vessels FROM port_hours WHERE port = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY hour")?;
    let rows = statement.query_map(
        rusqlite::params![
            port,
            since.map_or(i64::MIN, UnixMillis::as_millis),
            until.map_or(i64::MAX, UnixMillis::as_millis)
        ],
        |row| {
            Ok(PortHour {
                hour: UnixMillis(row.get(0)?),
                vessels: row.get(1)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The stream clock of the last write: "now" for dark-now questions.
pub fn stream_clock(conn: &Connection) -> Result<Option<UnixMillis>, StoreError> {
    let value: Option<String> = conn
        .query_row(
            "SELECT value FROM state WHERE key = 'stream_clock'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).map(UnixMillis))
}

/// Ingest counters (lines, messages by type, rejects by reason, ...).
pub fn counters(conn: &Connection) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut statement = conn.prepare("SELECT name, value FROM ingest ORDER BY name")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
