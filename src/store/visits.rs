//! Port visits in the store: the `visits` row's one column list, its writing, and the reads
//! built on it (the visits query, a trip's last open call, open calls for the tally).

use rusqlite::{params_from_iter, OptionalExtension, Row, Statement};

use super::cells::Cells;
use super::read::{GapFilter, Reader, VisitRow};
use super::StoreError;
use crate::detect::{GapRecord, OpenCall, Visit};
use crate::model::Mmsi;
use crate::time::UnixMillis;

pub(super) const VISIT_INSERT: &str = "INSERT OR REPLACE INTO visits (mmsi, arrived, port, \
     left_at, last_heard, fixes, stopped_hours, gap, longest_silence_hours, departure_unseen, \
     from_port, from_left) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// A visit is a dark call, not an open one, when one of the vessel's trips went dark during
/// it (at the berth, or on its last fix inside): that call is already counted among the trips.
/// A silence inside that was not judged a trip (a feed outage, poor coverage) leaves the call
/// open: the vessel was heard arriving and leaving.
const DARK_CALL: &str = "EXISTS (SELECT 1 FROM gaps g WHERE g.mmsi = v.mmsi AND g.status = 'trip' \
     AND g.dark_from >= v.arrived AND g.dark_from <= COALESCE(v.left_at, v.last_heard))";

const VISIT_COLUMNS: &str = "v.mmsi, v.arrived, v.port, v.left_at, v.last_heard, v.fixes, \
     v.stopped_hours, v.gap, v.longest_silence_hours, v.departure_unseen, v.from_port, \
     v.from_left, n.name, COALESCE(n.watched, 0)";

pub(super) fn write_visit(insert: &mut Statement<'_>, v: &Visit) -> rusqlite::Result<()> {
    insert.execute(rusqlite::params![
        v.mmsi.0,
        v.arrived.as_millis(),
        v.port,
        v.left.map(UnixMillis::as_millis),
        v.last_heard.as_millis(),
        v.fixes,
        v.stopped_hours,
        v.gap,
        v.longest_silence_hours,
        v.departure_unseen,
        v.from_port,
        v.from_left.map(UnixMillis::as_millis)
    ])?;
    Ok(())
}

fn read_visit(row: &Row<'_>) -> rusqlite::Result<VisitRow> {
    let key = Cells::key_of(row, &[(0, "mmsi"), (1, "arrived")]);
    let cells = Cells::new(row, "visits", key);
    let millis = |index: usize| cells.get::<i64>(index).map(UnixMillis);
    let opt_millis = |index: usize| cells.get::<Option<i64>>(index).map(|t| t.map(UnixMillis));
    let visit = Visit {
        mmsi: Mmsi(cells.get(0)?),
        arrived: millis(1)?,
        port: cells.get(2)?,
        left: opt_millis(3)?,
        last_heard: millis(4)?,
        fixes: cells.get(5)?,
        stopped_hours: cells.get(6)?,
        gap: cells.get(7)?,
        longest_silence_hours: cells.get(8)?,
        departure_unseen: cells.get(9)?,
        from_port: cells.get(10)?,
        from_left: opt_millis(11)?,
    };
    Ok(VisitRow {
        duration_hours: visit.duration_hours(),
        visit,
        name: cells.get(12)?,
        watched: cells.get(13)?,
        open_call: !cells.get::<bool>(14)?,
    })
}

/// The WHERE clause of a gap filter, read for visits: the window applies to the arrival, the
/// judgement fields (status, confidence, dark now) do not apply.
fn visit_clause(filter: &GapFilter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut clauses = vec!["1 = 1".to_string()];
    let mut values = Vec::new();
    if let Some(port) = &filter.port {
        clauses.push("v.port = ?".into());
        values.push(Value::Text(port.clone()));
    }
    if let Some(mmsi) = filter.mmsi {
        clauses.push("v.mmsi = ?".into());
        values.push(Value::Integer(mmsi.0.into()));
    }
    if let Some(imo) = filter.imo {
        clauses.push("n.imo = ?".into());
        values.push(Value::Integer(imo.into()));
    }
    if let Some(since) = filter.since {
        clauses.push("v.arrived >= ?".into());
        values.push(Value::Integer(since.as_millis()));
    }
    if let Some(until) = filter.until {
        clauses.push("v.arrived < ?".into());
        values.push(Value::Integer(until.as_millis()));
    }
    if filter.watched_only {
        clauses.push("n.watched = 1".into());
    }
    (clauses.join(" AND "), values)
}

impl Reader {
    /// Port visits matching the filter (port, vessel, arrival window, watched, paging), oldest
    /// arrival first.
    pub fn visits(&self, filter: &GapFilter) -> Result<Vec<VisitRow>, StoreError> {
        let (clause, values) = visit_clause(filter);
        let limit = filter.limit.map_or(-1, |l| l as i64);
        let sql = format!(
            "SELECT {VISIT_COLUMNS}, {DARK_CALL} FROM visits v LEFT JOIN vessels n ON n.mmsi = v.mmsi \
             WHERE {clause} ORDER BY v.arrived, v.mmsi LIMIT {limit} OFFSET {}",
            filter.offset
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(values), read_visit)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many visits match the filter, ignoring its limit and offset (for paging).
    pub fn count_visits(&self, filter: &GapFilter) -> Result<u64, StoreError> {
        let (clause, values) = visit_clause(filter);
        let sql = format!(
            "SELECT COUNT(*) FROM visits v LEFT JOIN vessels n ON n.mmsi = v.mmsi WHERE {clause}"
        );
        let count: i64 = self
            .conn
            .query_row(&sql, params_from_iter(values), |row| row.get(0))?;
        Ok(count as u64)
    }

    /// The vessel's last open call (no trip went dark during it) that it had left by `before`.
    pub fn last_open_call(
        &self,
        mmsi: Mmsi,
        before: UnixMillis,
    ) -> Result<Option<OpenCall>, StoreError> {
        let sql = format!(
            "SELECT v.port, v.arrived, v.left_at FROM visits v WHERE v.mmsi = ?1 \
             AND v.left_at IS NOT NULL AND v.left_at <= ?2 AND NOT {DARK_CALL} \
             ORDER BY v.arrived DESC LIMIT 1"
        );
        let call = self
            .conn
            .query_row(&sql, rusqlite::params![mmsi.0, before.as_millis()], |row| {
                Ok(OpenCall {
                    port: row.get(0)?,
                    arrived: UnixMillis(row.get(1)?),
                    left_at: UnixMillis(row.get(2)?),
                })
            })
            .optional()?;
        Ok(call)
    }

    /// Fills in each gap's last open call before it went dark.
    pub(super) fn add_last_open_calls(&self, gaps: &mut [GapRecord]) -> Result<(), StoreError> {
        for gap in gaps {
            gap.last_open_call = self.last_open_call(gap.mmsi, gap.dark_from)?;
        }
        Ok(())
    }

    /// Open calls (visits during which no trip went dark) of watched vessels matching the filter, for the tally.
    pub(super) fn open_calls(&self, filter: &GapFilter) -> Result<Vec<VisitRow>, StoreError> {
        let mut filter = filter.clone();
        filter.watched_only = true;
        filter.limit = None;
        filter.offset = 0;
        Ok(self
            .visits(&filter)?
            .into_iter()
            .filter(|v| v.open_call)
            .collect())
    }
}
