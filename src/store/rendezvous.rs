//! Dark rendezvous in the store: the writer's statement and the read `aisgap query
//! rendezvous` and the API answer from.

use rusqlite::{params, params_from_iter, OptionalExtension};

use super::at_sea::AtSeaFilter;
use super::cells::BadValue;
use super::read::Reader;
use super::StoreError;
use crate::detect::rendezvous::RendezvousRecord;

pub(super) const RENDEZVOUS_INSERT: &str = "INSERT OR REPLACE INTO rendezvous (mmsi, dark_from, partner_mmsi, partner_from, partner_kind, status, partner_watched, earliest, latest, slack_hours, lat, lon, record)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

pub(super) fn write_rendezvous(
    statement: &mut rusqlite::Statement<'_>,
    r: &RendezvousRecord,
) -> Result<(), StoreError> {
    let kind = serde_json::to_value(r.partner.kind).expect("kinds serialize");
    statement.execute(params![
        r.dark.vessel.mmsi.0,
        r.dark.from.as_millis(),
        r.partner.vessel.mmsi.0,
        r.partner.from.as_millis(),
        kind.as_str(),
        r.status.as_str(),
        r.partner.vessel.watched,
        r.earliest.as_millis(),
        r.latest.as_millis(),
        r.slack_hours,
        r.lat,
        r.lon,
        serde_json::to_string(r).expect("records serialize")
    ])?;
    Ok(())
}

/// The filter as SQL: either vessel, and the dark vessel's fix A inside the window (a
/// rendezvous is placed in time by the silence it was found in, as a gap is).
fn where_clause(filter: &AtSeaFilter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut clauses = vec!["1 = 1".to_string()];
    let mut values = Vec::new();
    if let Some(mmsi) = filter.mmsi {
        clauses.push("(mmsi = ? OR partner_mmsi = ?)".into());
        values.extend([Value::Integer(mmsi.0.into()), Value::Integer(mmsi.0.into())]);
    }
    if let Some(since) = filter.since {
        clauses.push("dark_from >= ?".into());
        values.push(Value::Integer(since.as_millis()));
    }
    if let Some(until) = filter.until {
        clauses.push("dark_from < ?".into());
        values.push(Value::Integer(until.as_millis()));
    }
    (clauses.join(" AND "), values)
}

impl Reader {
    /// Whether the database has the table (one written before it existed has none).
    fn has_rendezvous(&self) -> Result<bool, StoreError> {
        let exists: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'rendezvous'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(exists.is_some())
    }

    /// Dark rendezvous matching the filter, earliest silence first.
    pub fn rendezvous(&self, filter: &AtSeaFilter) -> Result<Vec<RendezvousRecord>, StoreError> {
        if !self.has_rendezvous()? {
            return Ok(Vec::new());
        }
        let (clause, mut values) = where_clause(filter);
        values.push(rusqlite::types::Value::Integer(
            filter.limit.map_or(-1, |l| l as i64),
        ));
        values.push(rusqlite::types::Value::Integer(filter.offset as i64));
        let sql = format!(
            "SELECT mmsi, dark_from, partner_mmsi, partner_from, record FROM rendezvous WHERE {clause}
             ORDER BY dark_from, mmsi, partner_mmsi, partner_from LIMIT ? OFFSET ?"
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(values), |row| {
            Ok((
                (
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ),
                row.get::<_, String>(4)?,
            ))
        })?;
        let mut records = Vec::new();
        for row in rows {
            let (key, text) = row?;
            let record = serde_json::from_str(&text).map_err(|err| {
                StoreError::BadValue(BadValue {
                    table: "rendezvous",
                    row: format!(
                        "mmsi {}, dark_from {}, partner_mmsi {}, partner_from {}",
                        key.0, key.1, key.2, key.3
                    ),
                    column: "record".into(),
                    problem: format!("unreadable JSON: {err}"),
                })
            })?;
            records.push(record);
        }
        Ok(records)
    }

    /// How many dark rendezvous match the filter, paging aside.
    pub fn count_rendezvous(&self, filter: &AtSeaFilter) -> Result<u64, StoreError> {
        if !self.has_rendezvous()? {
            return Ok(0);
        }
        let (clause, values) = where_clause(filter);
        let sql = format!("SELECT COUNT(*) FROM rendezvous WHERE {clause}");
        let n: i64 = self
            .conn
            .query_row(&sql, params_from_iter(values), |r| r.get(0))?;
        Ok(n as u64)
    }
}
