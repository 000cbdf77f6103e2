//! The judgement history as an answer: one line per change of a gap's judgement, saying what
//! it became, at which stream time and why.

use std::io::{self, Write};

use super::{csv_cell, opt, short_time, write_columns, write_json, AnswerFormat, QueryError};
use crate::store::history::HistoryRow;

pub const HISTORY_CSV_HEADER: &str =
    "mmsi,dark_from,at,before,status,port,coverage,dark_now,reason,detail";

pub fn write_history(
    rows: &[HistoryRow],
    format: AnswerFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    match format {
        AnswerFormat::Table => write_history_table(rows, out)?,
        AnswerFormat::Json => write_json(rows, out)?,
        AnswerFormat::Csv => write_history_csv(rows, out)?,
        AnswerFormat::Geojson => {
            return Err(QueryError::UnsupportedFormat {
                format: AnswerFormat::Geojson.as_str(),
                question: "history",
                supported: "table, json or csv",
            })
        }
    }
    Ok(())
}

fn write_history_table(rows: &[HistoryRow], out: &mut dyn Write) -> io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "(none)");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.mmsi.0.to_string(),
                short_time(r.dark_from),
                r.detail.clone(),
            ]
        })
        .collect();
    write_columns(&["mmsi", "dark_from", "change"], &cells, out)
}

fn write_history_csv(rows: &[HistoryRow], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{HISTORY_CSV_HEADER}")?;
    for r in rows {
        let cells = [
            r.mmsi.0.to_string(),
            r.dark_from.to_string(),
            r.at.to_string(),
            r.before.clone().unwrap_or_default(),
            r.status.clone(),
            r.port.clone().unwrap_or_default(),
            opt(r.coverage),
            r.dark_now.to_string(),
            r.reason.clone(),
            r.detail.clone(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}
