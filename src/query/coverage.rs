//! `aisgap query coverage`: the hourly distinct-vessel counts near each port that coverage is
//! judged on, one row per port and hour heard (the rows `aisgap export --what coverage` writes).

use std::io::Write;

use serde::Serialize;

use super::{csv_cell, write_columns, write_json, AnswerFormat, QueryError};
use crate::store::read::GapFilter;
use crate::store::{Reader, StoreError};
use crate::time::UnixMillis;

/// Vessels heard near `port` in the hour starting at `hour`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageRow {
    pub port: String,
    pub hour: UnixMillis,
    pub vessels: u32,
}

/// The rows of the filter's port (all ports without one) and window, by port then hour, paged
/// by its limit and offset.
pub fn coverage_rows(reader: &Reader, filter: &GapFilter) -> Result<Vec<CoverageRow>, StoreError> {
    let mut rows = Vec::new();
    let mut skipped = 0;
    let limit = filter.limit.map_or(usize::MAX, |l| l as usize);
    reader.for_each_port_hour(filter.since, filter.until, |port, hour, vessels| {
        if filter.port.as_deref().is_some_and(|p| p != port) || rows.len() >= limit {
            return Ok::<(), StoreError>(());
        }
        if skipped < filter.offset {
            skipped += 1;
            return Ok(());
        }
        rows.push(CoverageRow {
            port: port.to_string(),
            hour,
            vessels,
        });
        Ok(())
    })?;
    Ok(rows)
}

pub fn answer_coverage(
    reader: &Reader,
    filter: &GapFilter,
    format: AnswerFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let rows = coverage_rows(reader, filter)?;
    match format {
        AnswerFormat::Json => write_json(&rows, out)?,
        AnswerFormat::Csv => {
            writeln!(out, "port,hour,vessels")?;
            for row in &rows {
                writeln!(out, "{},{},{}", csv_cell(&row.port), row.hour, row.vessels)?;
            }
        }
        AnswerFormat::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| vec![r.port.clone(), r.hour.to_string(), r.vessels.to_string()])
                .collect();
            write_columns(&["PORT", "HOUR (UTC)", "VESSELS"], &cells, out)?;
        }
        AnswerFormat::Geojson => {
            return Err(QueryError::UnsupportedFormat {
                format: AnswerFormat::Geojson.as_str(),
                question: "coverage",
                supported: "table, json or csv",
            })
        }
    }
    Ok(())
}
