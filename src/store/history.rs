//! The read side of the judgement history: every change of the judgement of the gaps a
//! filter selects, gap by gap, in the order the changes happened.

use rusqlite::{params_from_iter, OptionalExtension};
use serde::Serialize;

use super::read::GapFilter;
use super::{Reader, StoreError};
use crate::model::Mmsi;
use crate::time::UnixMillis;

/// One change of one gap's judgement, as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryRow {
    pub mmsi: Mmsi,
    /// With `mmsi`, the gap's key: the time of fix A.
    pub dark_from: UnixMillis,
    /// Stream time of the change.
    pub at: UnixMillis,
    /// The judgement before; `None` for a gap's first.
    pub before: Option<String>,
    pub status: String,
    pub port: Option<String>,
    pub coverage: Option<f64>,
    pub dark_now: bool,
    /// The reason's code: silent, still_silent, closed, late_fix, next_fix_late, coverage,
    /// forgotten or evicted.
    pub reason: String,
    /// The change in one sentence.
    pub detail: String,
}

impl Reader {
    /// The history of the gaps `filter` selects by vessel, port, start time and latest
    /// status; empty for a database written before histories were kept.
    pub fn gap_history(&self, filter: &GapFilter) -> Result<Vec<HistoryRow>, StoreError> {
        let kept: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'gap_history'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if kept.is_none() {
            return Ok(Vec::new());
        }
        let mut clauses = vec!["1 = 1".to_string()];
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        use rusqlite::types::Value;
        if let Some(mmsi) = filter.mmsi {
            clauses.push("h.mmsi = ?".into());
            values.push(Value::Integer(mmsi.0.into()));
        }
        if let Some(since) = filter.since {
            clauses.push("h.dark_from >= ?".into());
            values.push(Value::Integer(since.as_millis()));
        }
        if let Some(until) = filter.until {
            clauses.push("h.dark_from < ?".into());
            values.push(Value::Integer(until.as_millis()));
        }
        // Port and status select gaps by what they are now, so a gap's whole history comes.
        if let Some(port) = &filter.port {
            clauses.push("g.port = ?".into());
            values.push(Value::Text(port.clone()));
        }
        if let Some(status) = filter.status {
            clauses.push("g.status = ?".into());
            values.push(Value::Text(status.as_str().into()));
        }
        let limit = filter.limit.map_or(-1, |l| l as i64);
        let sql = format!(
            "SELECT h.mmsi, h.dark_from, h.at, h.status_before, h.status, h.port, h.coverage,
                    h.dark_now, h.reason, h.detail
             FROM gap_history h LEFT JOIN gaps g ON g.mmsi = h.mmsi AND g.dark_from = h.dark_from
             WHERE {} ORDER BY h.dark_from, h.mmsi, h.id LIMIT {limit} OFFSET {}",
            clauses.join(" AND "),
            filter.offset
        );
        let mut select = self.conn.prepare(&sql)?;
        let rows = select
            .query_map(params_from_iter(values), |r| {
                Ok(HistoryRow {
                    mmsi: Mmsi(r.get(0)?),
                    dark_from: UnixMillis(r.get(1)?),
                    at: UnixMillis(r.get(2)?),
                    before: r.get(3)?,
                    status: r.get(4)?,
                    port: r.get(5)?,
                    coverage: r.get(6)?,
                    dark_now: r.get(7)?,
                    reason: r.get(8)?,
                    detail: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
