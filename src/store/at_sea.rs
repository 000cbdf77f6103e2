//! Encounters and loitering episodes in the store: the writer's statements and the reads
//! `aisgap query encounters|loitering` and the API answer from.

use rusqlite::{params, params_from_iter, OptionalExtension};

use super::read::Reader;
use super::StoreError;
use crate::detect::encounters::EncounterRecord;
use crate::detect::loitering::LoiteringRecord;
use crate::model::Mmsi;
use crate::time::UnixMillis;

/// Each encounter written carries the fingerprint in force, as each judgement of a gap does.
pub(super) const ENCOUNTER_INSERT: &str = "INSERT OR REPLACE INTO encounters (mmsi_a, mmsi_b, start, end, status, watched, duration_hours, min_distance_m, median_distance_m, median_speed_kn, lat, lon, est_barrels, record, fingerprint)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, (SELECT value FROM state WHERE key = 'judged_by'))";

pub(super) const LOITERING_INSERT: &str = "INSERT OR REPLACE INTO loitering (mmsi, start, end, status, watched, duration_hours, lat, lon, mean_speed_kn, record)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialize")
}

pub(super) fn write_encounter(
    statement: &mut rusqlite::Statement<'_>,
    e: &EncounterRecord,
) -> Result<(), StoreError> {
    statement.execute(params![
        e.a.vessel.mmsi.0,
        e.b.vessel.mmsi.0,
        e.start.as_millis(),
        e.end.as_millis(),
        e.status.as_str(),
        e.watched(),
        e.duration_hours,
        e.min_distance_m,
        e.median_distance_m,
        e.median_speed_kn,
        e.lat,
        e.lon,
        e.est_barrels,
        to_json(e)
    ])?;
    Ok(())
}

pub(super) fn write_loitering(
    statement: &mut rusqlite::Statement<'_>,
    l: &LoiteringRecord,
) -> Result<(), StoreError> {
    statement.execute(params![
        l.vessel.mmsi.0,
        l.start.as_millis(),
        l.end.as_millis(),
        l.status.as_str(),
        l.vessel.watched,
        l.duration_hours,
        l.lat,
        l.lon,
        l.mean_speed_kn,
        to_json(l)
    ])?;
    Ok(())
}

/// Which encounters or loitering episodes a query wants: those starting inside the window,
/// as for gaps, of one vessel (either side of an encounter) when `mmsi` is given.
#[derive(Clone, Debug, Default)]
pub struct AtSeaFilter {
    pub mmsi: Option<Mmsi>,
    pub since: Option<UnixMillis>,
    pub until: Option<UnixMillis>,
    pub limit: Option<u64>,
    pub offset: u64,
}

impl AtSeaFilter {
    fn where_clause(&self, mmsi_columns: &[&str]) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut clauses = vec!["1 = 1".to_string()];
        let mut values = Vec::new();
        if let Some(mmsi) = self.mmsi {
            let either: Vec<String> = mmsi_columns.iter().map(|c| format!("{c} = ?")).collect();
            clauses.push(format!("({})", either.join(" OR ")));
            values.extend(mmsi_columns.iter().map(|_| Value::Integer(mmsi.0.into())));
        }
        if let Some(since) = self.since {
            clauses.push("start >= ?".into());
            values.push(Value::Integer(since.as_millis()));
        }
        if let Some(until) = self.until {
            clauses.push("start < ?".into());
            values.push(Value::Integer(until.as_millis()));
        }
        (clauses.join(" AND "), values)
    }
}

impl Reader {
    /// The fingerprint of what last wrote the encounter keyed by (`a`, `b`, `start`), `a`
    /// the lower MMSI; `None` for encounters written before fingerprints were kept.
    pub fn encounter_fingerprint(
        &self,
        a: Mmsi,
        b: Mmsi,
        start: UnixMillis,
    ) -> Result<Option<String>, StoreError> {
        let found = self
            .conn
            .query_row(
                "SELECT fingerprint FROM encounters WHERE mmsi_a = ?1 AND mmsi_b = ?2 AND start = ?3",
                params![a.0, b.0, start.as_millis()],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional();
        match found {
            Ok(found) => Ok(found.flatten()),
            // A database from before the column: nothing recorded.
            Err(rusqlite::Error::SqlInputError { .. }) => Ok(None),
            Err(e) if e.to_string().contains("no such column") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Encounters matching the filter, earliest start first.
    pub fn encounters(&self, filter: &AtSeaFilter) -> Result<Vec<EncounterRecord>, StoreError> {
        self.records(
            "encounters",
            &["mmsi_a", "mmsi_b"],
            "start, mmsi_a, mmsi_b",
            filter,
        )
    }

    /// Loitering episodes matching the filter, earliest start first.
    pub fn loitering(&self, filter: &AtSeaFilter) -> Result<Vec<LoiteringRecord>, StoreError> {
        self.records("loitering", &["mmsi"], "start, mmsi", filter)
    }

    fn records<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        mmsi_columns: &[&str],
        order: &str,
        filter: &AtSeaFilter,
    ) -> Result<Vec<T>, StoreError> {
        // A database written before these tables existed has none of either: say so by an
        // empty answer rather than an SQL error, as it is read-only here and cannot migrate.
        let exists: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(Vec::new());
        }
        let (clause, mut values) = filter.where_clause(mmsi_columns);
        values.push(rusqlite::types::Value::Integer(
            filter.limit.map_or(-1, |l| l as i64),
        ));
        values.push(rusqlite::types::Value::Integer(filter.offset as i64));
        let sql =
            format!("SELECT record FROM {table} WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?");
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(values), |row| row.get::<_, String>(0))?;
        let mut records = Vec::new();
        for text in rows {
            let text = text?;
            let record = serde_json::from_str(&text).map_err(|err| {
                StoreError::Sql(rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(err),
                ))
            })?;
            records.push(record);
        }
        Ok(records)
    }
}

impl Reader {
    /// How many encounters match the filter, paging aside.
    pub fn count_encounters(&self, filter: &AtSeaFilter) -> Result<u64, StoreError> {
        self.count("encounters", &["mmsi_a", "mmsi_b"], filter)
    }

    /// How many loitering episodes match the filter, paging aside.
    pub fn count_loitering(&self, filter: &AtSeaFilter) -> Result<u64, StoreError> {
        self.count("loitering", &["mmsi"], filter)
    }

    fn count(
        &self,
        table: &str,
        mmsi_columns: &[&str],
        filter: &AtSeaFilter,
    ) -> Result<u64, StoreError> {
        let exists: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(0);
        }
        let (clause, values) = filter.where_clause(mmsi_columns);
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {clause}");
        let n: i64 = self
            .conn
            .query_row(&sql, params_from_iter(values), |r| r.get(0))?;
        Ok(n as u64)
    }
}
