//! The exported tables' columns: one list per table, named as `aisgap query ... --format json`
//! names its fields, and the typed cells and geometry of one row.

use serde_json::Value;

use crate::time::UnixMillis;

/// What a column holds, and so its Parquet type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// INT64.
    Int,
    /// FLOAT: speeds and courses are kept as the 32-bit values decoded.
    Float32,
    /// DOUBLE.
    Float64,
    /// UTF-8 text.
    Text,
    Bool,
    /// Milliseconds since 1970, UTC (TIMESTAMP(MILLIS, UTC)); ISO-8601 text in JSON and CSV.
    Time,
    /// Days since 1970 (DATE); `2024-03-07` in JSON and CSV.
    Date,
    /// A nested value (a list or an object) as JSON text (the JSON logical type).
    Json,
}

#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// Never null: Parquet's REQUIRED.
    pub required: bool,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        required: false,
    }
}

/// The column that holds each row's shape, after the named columns.
pub const GEOMETRY_COLUMN: &str = "geometry";

/// Fields of a gap (and a trip) in `aisgap query gaps --format json`, in the record's order.
pub const GAP_COLUMNS: &[Column] = &[
    col("mmsi", Kind::Int),
    col("segment", Kind::Int),
    opt("imo", Kind::Int),
    opt("name", Kind::Text),
    opt("callsign", Kind::Text),
    opt("ship_type", Kind::Int),
    col("status", Kind::Text),
    col("watched", Kind::Bool),
    opt("port", Kind::Text),
    col("dark_from", Kind::Time),
    opt("dark_until", Kind::Time),
    col("from_lat", Kind::Float64),
    col("from_lon", Kind::Float64),
    opt("until_lat", Kind::Float64),
    opt("until_lon", Kind::Float64),
    col("duration_hours", Kind::Float64),
    opt("distance_nm", Kind::Float64),
    opt("implied_speed_kn", Kind::Float64),
    opt("detour_nm", Kind::Float64),
    opt("slack_hours", Kind::Float64),
    opt("coverage", Kind::Float64),
    col("dark_now", Kind::Bool),
    opt("draught_before", Kind::Float64),
    opt("draught_after", Kind::Float64),
    opt("draught_change", Kind::Float64),
    col("identity_changes", Kind::Json),
    opt("est_tonnes", Kind::Float64),
    opt("est_barrels", Kind::Float64),
    opt("confidence", Kind::Text),
    col("candidates", Kind::Json),
    opt("last_open_call", Kind::Json),
];

/// Fields of an encounter in `aisgap query encounters --format json`.
pub const ENCOUNTER_COLUMNS: &[Column] = &[
    col("a", Kind::Json),
    col("b", Kind::Json),
    col("status", Kind::Text),
    col("start", Kind::Time),
    col("end", Kind::Time),
    col("duration_hours", Kind::Float64),
    col("min_distance_m", Kind::Float64),
    col("median_distance_m", Kind::Float64),
    col("median_speed_kn", Kind::Float64),
    col("lat", Kind::Float64),
    col("lon", Kind::Float64),
    col("start_lat", Kind::Float64),
    col("start_lon", Kind::Float64),
    col("end_lat", Kind::Float64),
    col("end_lon", Kind::Float64),
    col("samples", Kind::Int),
    opt("nearest_port", Kind::Text),
    opt("port_distance_nm", Kind::Float64),
    col("away_rule", Kind::Text),
    opt("receiving", Kind::Int),
    opt("est_tonnes", Kind::Float64),
    opt("est_barrels", Kind::Float64),
];

/// Hourly distinct-vessel counts near each port, as `aisgap query coverage --format json`.
pub const COVERAGE_COLUMNS: &[Column] = &[
    col("port", Kind::Text),
    col("hour", Kind::Time),
    col("vessels", Kind::Int),
];

/// One stored fix: the vessel and the fields of a track point in `aisgap query vessel`.
pub const FIX_COLUMNS: &[Column] = &[
    col("mmsi", Kind::Int),
    col("segment", Kind::Int),
    col("time", Kind::Time),
    col("lat", Kind::Float64),
    col("lon", Kind::Float64),
    opt("sog", Kind::Float32),
    opt("cog", Kind::Float32),
    opt("heading", Kind::Int),
    opt("nav_status", Kind::Int),
    col("late", Kind::Bool),
];

/// One transmitter's track of one UTC day: its fixes as a line.
pub const TRACK_COLUMNS: &[Column] = &[
    col("mmsi", Kind::Int),
    col("segment", Kind::Int),
    col("day", Kind::Date),
    col("first_time", Kind::Time),
    col("last_time", Kind::Time),
    col("fixes", Kind::Int),
    col("late_fixes", Kind::Int),
];

/// One cell of a row, typed as its column.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float32(f32),
    Float64(f64),
    Text(String),
    Bool(bool),
    Time(UnixMillis),
    /// Days since 1970.
    Date(i32),
    Json(String),
}

/// A row's shape, longitude first (GeoParquet's OGC:CRS84 axis order).
#[derive(Clone, Debug, PartialEq)]
pub enum Geometry {
    Point(f64, f64),
    /// Two points or more.
    Line(Vec<(f64, f64)>),
}

impl Geometry {
    /// The GeoParquet name of the geometry's type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Geometry::Point(..) => "Point",
            Geometry::Line(_) => "LineString",
        }
    }

    /// Widens `bbox` (min lon, min lat, max lon, max lat) to take in the geometry.
    pub fn extend_bounds(&self, bbox: &mut Option<[f64; 4]>) {
        let mut take = |lon: f64, lat: f64| {
            let b = bbox.get_or_insert([lon, lat, lon, lat]);
            *b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
        };
        match self {
            Geometry::Point(lon, lat) => take(*lon, *lat),
            Geometry::Line(points) => points.iter().for_each(|&(lon, lat)| take(lon, lat)),
        }
    }

    /// The line through `points`, or the point when there is only one.
    pub fn through(points: Vec<(f64, f64)>) -> Option<Geometry> {
        match points.len() {
            0 => None,
            1 => Some(Geometry::Point(points[0].0, points[0].1)),
            _ => Some(Geometry::Line(points)),
        }
    }

    /// Well-known binary, little-endian (ISO 19125 / OGC simple features).
    pub fn to_wkb(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(1);
        match self {
            Geometry::Point(lon, lat) => {
                out.extend_from_slice(&1u32.to_le_bytes());
                out.extend_from_slice(&lon.to_le_bytes());
                out.extend_from_slice(&lat.to_le_bytes());
            }
            Geometry::Line(points) => {
                out.extend_from_slice(&2u32.to_le_bytes());
                out.extend_from_slice(&(points.len() as u32).to_le_bytes());
                for (lon, lat) in points {
                    out.extend_from_slice(&lon.to_le_bytes());
                    out.extend_from_slice(&lat.to_le_bytes());
                }
            }
        }
    }

    /// Well-known text, for CSV.
    pub fn to_wkt(&self) -> String {
        let coordinates = |points: &[(f64, f64)]| {
            points
                .iter()
                .map(|(lon, lat)| format!("{lon} {lat}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Geometry::Point(lon, lat) => format!("POINT ({lon} {lat})"),
            Geometry::Line(points) => format!("LINESTRING ({})", coordinates(points)),
        }
    }

    /// The GeoJSON geometry object, for JSON lines.
    pub fn to_geojson(&self) -> Value {
        match self {
            Geometry::Point(lon, lat) => {
                serde_json::json!({ "type": "Point", "coordinates": [lon, lat] })
            }
            Geometry::Line(points) => {
                let coordinates: Vec<[f64; 2]> = points.iter().map(|&(x, y)| [x, y]).collect();
                serde_json::json!({ "type": "LineString", "coordinates": coordinates })
            }
        }
    }
}

/// A field of a serialized record that its column cannot hold: the record and its column
/// lists disagree (a field's type changed without its column).
#[derive(Debug, thiserror::Error)]
#[error("field {column} holds {value}, which is not {kind:?}")]
pub struct FieldMismatch {
    pub column: &'static str,
    pub kind: Kind,
    pub value: String,
}

/// The cells of one serialized record (a JSON object, as `aisgap query` writes it), by the
/// columns' names; a field the record leaves out is null.
pub fn cells_of(
    record: &Value,
    columns: &[Column],
    cells: &mut Vec<Cell>,
) -> Result<(), FieldMismatch> {
    cells.clear();
    for column in columns {
        let value = record.get(column.name).unwrap_or(&Value::Null);
        cells.push(cell_of(value, column)?);
    }
    Ok(())
}

fn cell_of(value: &Value, column: &Column) -> Result<Cell, FieldMismatch> {
    if value.is_null() {
        return Ok(Cell::Null);
    }
    let cell = match column.kind {
        Kind::Int => value.as_i64().map(Cell::Int),
        Kind::Float32 => value.as_f64().map(|v| Cell::Float32(v as f32)),
        Kind::Float64 => value.as_f64().map(Cell::Float64),
        Kind::Text => value.as_str().map(|s| Cell::Text(s.to_string())),
        Kind::Bool => value.as_bool().map(Cell::Bool),
        Kind::Time => value
            .as_str()
            .and_then(UnixMillis::parse_user)
            .map(Cell::Time),
        Kind::Date => None,
        Kind::Json => Some(Cell::Json(value.to_string())),
    };
    cell.ok_or_else(|| FieldMismatch {
        column: column.name,
        kind: column.kind,
        value: value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_and_without_milliseconds_read_back_exactly() {
        for millis in [1_709_510_400_000, 1_709_510_400_123, 1_709_510_400_007] {
            let text = UnixMillis(millis).to_string();
            let column = col("dark_from", Kind::Time);
            assert_eq!(
                cell_of(&Value::from(text), &column).unwrap(),
                Cell::Time(UnixMillis(millis))
            );
        }
    }

    #[test]
    fn a_field_its_column_cannot_hold_is_named() {
        let record = serde_json::json!({ "mmsi": "not a number" });
        let mut cells = Vec::new();
        let error = cells_of(&record, &[col("mmsi", Kind::Int)], &mut cells).unwrap_err();
        assert_eq!(
            error.to_string(),
            "field mmsi holds \"not a number\", which is not Int"
        );
        let absent = serde_json::json!({});
        cells_of(&absent, &[opt("imo", Kind::Int)], &mut cells).unwrap();
        assert_eq!(cells, [Cell::Null]);
    }

    #[test]
    fn geometries_are_little_endian_wkb() {
        let mut wkb = Vec::new();
        Geometry::Point(133.5, 42.25).to_wkb(&mut wkb);
        let mut expected = vec![1, 1, 0, 0, 0];
        expected.extend(133.5f64.to_le_bytes());
        expected.extend(42.25f64.to_le_bytes());
        assert_eq!(wkb, expected);
        Geometry::Line(vec![(1.0, 2.0), (3.0, 4.0)]).to_wkb(&mut wkb);
        assert_eq!(&wkb[..9], &[1, 2, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(wkb.len(), 9 + 32);
        assert_eq!(
            Geometry::Line(vec![(1.0, 2.0), (3.0, 4.0)]).to_wkt(),
            "LINESTRING (1 2, 3 4)"
        );
        assert_eq!(
            Geometry::through(vec![(1.0, 2.0)]),
            Some(Geometry::Point(1.0, 2.0))
        );
        assert_eq!(Geometry::through(vec![]), None);
        let mut bbox = None;
        Geometry::Line(vec![(1.0, 5.0), (3.0, 4.0)]).extend_bounds(&mut bbox);
        Geometry::Point(-1.0, 4.5).extend_bounds(&mut bbox);
        assert_eq!(bbox, Some([-1.0, 4.0, 3.0, 5.0]));
    }
}
