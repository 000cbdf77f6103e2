//! The same rows as CSV (a header of the column names, geometry as WKT) or JSON lines (one
//! object per row with the fields of `aisgap query ... --format json`, geometry as GeoJSON).

use std::fs::File;
use std::io::{self, BufWriter, Write};

use super::table::{Cell, Column, Geometry, GEOMETRY_COLUMN};
use crate::query::csv_cell;

pub struct TextFile {
    out: BufWriter<File>,
    columns: &'static [Column],
    jsonl: bool,
    rows: u64,
    line: String,
}

impl TextFile {
    pub fn create(file: File, columns: &'static [Column], jsonl: bool) -> io::Result<TextFile> {
        let mut out = BufWriter::new(file);
        if !jsonl {
            let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
            writeln!(out, "{},{GEOMETRY_COLUMN}", names.join(","))?;
        }
        Ok(TextFile {
            out,
            columns,
            jsonl,
            rows: 0,
            line: String::new(),
        })
    }

    pub fn write(&mut self, cells: &[Cell], geometry: Option<&Geometry>) -> io::Result<()> {
        self.line.clear();
        if self.jsonl {
            self.line.push('{');
            for (column, cell) in self.columns.iter().zip(cells) {
                self.line.push_str(&serde_json::to_string(column.name)?);
                self.line.push(':');
                json_cell(cell, &mut self.line)?;
                self.line.push(',');
            }
            self.line.push_str(&serde_json::to_string(GEOMETRY_COLUMN)?);
            self.line.push(':');
            self.line.push_str(
                &geometry
                    .map_or(serde_json::Value::Null, Geometry::to_geojson)
                    .to_string(),
            );
            self.line.push('}');
        } else {
            for cell in cells {
                self.line.push_str(&csv_cell(&text_cell(cell)));
                self.line.push(',');
            }
            self.line.push_str(&csv_cell(
                &geometry.map(Geometry::to_wkt).unwrap_or_default(),
            ));
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.rows)
    }
}

/// A cell as JSON, as serde writes the record's field: times as ISO-8601 text.
fn json_cell(cell: &Cell, line: &mut String) -> io::Result<()> {
    match cell {
        Cell::Null => line.push_str("null"),
        Cell::Json(text) => line.push_str(text),
        Cell::Int(i) => line.push_str(&i.to_string()),
        Cell::Float32(f) => line.push_str(&serde_json::to_string(f)?),
        Cell::Float64(f) => line.push_str(&serde_json::to_string(f)?),
        Cell::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
        Cell::Text(_) | Cell::Time(_) | Cell::Date(_) => {
            line.push_str(&serde_json::to_string(&text_cell(cell))?)
        }
    }
    Ok(())
}

/// A cell as CSV text (empty for null), times as ISO-8601 and dates as `2024-03-07`.
fn text_cell(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Int(i) => i.to_string(),
        Cell::Float32(f) => f.to_string(),
        Cell::Float64(f) => f.to_string(),
        Cell::Text(s) | Cell::Json(s) => s.clone(),
        Cell::Bool(b) => b.to_string(),
        Cell::Time(t) => t.to_string(),
        Cell::Date(days) => {
            let midnight = crate::time::UnixMillis(i64::from(*days) * 86_400_000).to_string();
            midnight[..10].to_string()
        }
    }
}
