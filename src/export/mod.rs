//! `aisgap export`: whole tables out of the database for the engines analysts use (DuckDB,
//! Spark, GeoPandas, BigQuery), as GeoParquet, CSV or JSON lines, streamed from SQLite.

mod dataset;
mod parquet_file;
pub mod table;
mod text_file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::Mmsi;
use crate::query::Question;
use crate::store::at_sea::AtSeaFilter;
use crate::store::export::{TrackWindow, VesselDay};
use crate::store::read::GapFilter;
use crate::store::{Reader, StoreError};
use crate::time::UnixMillis;
use crate::track::TrackPoint;

pub use dataset::MAX_OPEN_FILES;
pub use parquet_file::{geo_metadata, ROW_GROUP_ROWS};
use table::{Cell, Column, FieldMismatch, Geometry};

/// Which table to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportWhat {
    /// Every stored fix (a point each), by month.
    Fixes,
    /// Each transmitter's track of each UTC day (a line), by month.
    Tracks,
    /// Every gap of a watched vessel, as `aisgap query gaps`.
    Gaps,
    /// The suspected trips, as `aisgap query trips`.
    Trips,
    /// Meetings at sea, as `aisgap query encounters`.
    Encounters,
    /// Hourly distinct-vessel counts near each port, as `aisgap query coverage`.
    Coverage,
}

impl ExportWhat {
    pub const ALL: [ExportWhat; 6] = [
        ExportWhat::Fixes,
        ExportWhat::Tracks,
        ExportWhat::Gaps,
        ExportWhat::Trips,
        ExportWhat::Encounters,
        ExportWhat::Coverage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportWhat::Fixes => "fixes",
            ExportWhat::Tracks => "tracks",
            ExportWhat::Gaps => "gaps",
            ExportWhat::Trips => "trips",
            ExportWhat::Encounters => "encounters",
            ExportWhat::Coverage => "coverage",
        }
    }

    /// The table's columns, before the geometry.
    pub fn columns(self) -> &'static [Column] {
        match self {
            ExportWhat::Fixes => table::FIX_COLUMNS,
            ExportWhat::Tracks => table::TRACK_COLUMNS,
            ExportWhat::Gaps | ExportWhat::Trips => table::GAP_COLUMNS,
            ExportWhat::Encounters => table::ENCOUNTER_COLUMNS,
            ExportWhat::Coverage => table::COVERAGE_COLUMNS,
        }
    }

    /// Tables that grow with every fix are split by month (of the fix, of the track's day).
    pub fn partitioned(self) -> bool {
        matches!(self, ExportWhat::Fixes | ExportWhat::Tracks)
    }
}

/// The file format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Parquet,
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [
        ExportFormat::Parquet,
        ExportFormat::Csv,
        ExportFormat::Jsonl,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    pub fn extension(self) -> &'static str {
        self.as_str()
    }
}

/// One export: what, how, where, and which rows (a vessel, a time window: fixes by their time,
/// gaps by fix A, encounters by their start, coverage by the hour).
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub what: ExportWhat,
    pub format: ExportFormat,
    pub out: PathBuf,
    /// An existing export in `out` is replaced (once the new one is complete).
    pub replace: bool,
    pub mmsi: Option<Mmsi>,
    pub since: Option<UnixMillis>,
    pub until: Option<UnixMillis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    pub rows: u64,
    pub files: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("{} is not a folder: --out names the folder the dataset is written into", .0.display())]
    NotAFolder(PathBuf),
    #[error("{} already holds files: name an empty or new folder, or add --replace", .0.display())]
    OutNotEmpty(PathBuf),
    #[error("--mmsi does not apply to {0}: it has no vessel column")]
    NoVessel(&'static str),
    #[error("exporting {what}: {mismatch}")]
    Field {
        what: &'static str,
        mismatch: FieldMismatch,
    },
}

/// Records read from the store per page: gaps and encounters are read a page at a time.
const PAGE: u64 = 10_000;

/// Writes the table asked for into `request.out`.
pub fn export(reader: &Reader, request: &ExportRequest) -> Result<ExportSummary, ExportError> {
    let what = request.what;
    if what == ExportWhat::Coverage && request.mmsi.is_some() {
        return Err(ExportError::NoVessel(what.as_str()));
    }
    let mut dataset = dataset::Dataset::create(
        &request.out,
        request.replace,
        request.format,
        what.columns(),
    )?;
    if !what.partitioned() {
        dataset.open_unpartitioned()?;
    }
    match what {
        ExportWhat::Fixes | ExportWhat::Tracks => export_tracks(reader, request, &mut dataset)?,
        ExportWhat::Gaps | ExportWhat::Trips => export_gaps(reader, request, &mut dataset)?,
        ExportWhat::Encounters => export_encounters(reader, request, &mut dataset)?,
        ExportWhat::Coverage => export_coverage(reader, request, &mut dataset)?,
    }
    let summary = ExportSummary {
        rows: dataset.rows,
        files: dataset.files,
    };
    dataset.publish()?;
    tracing::info!(what = what.as_str(), format = request.format.as_str(), rows = summary.rows, files = summary.files, out = %request.out.display(), "Exported.");
    Ok(summary)
}

fn export_gaps(
    reader: &Reader,
    request: &ExportRequest,
    dataset: &mut dataset::Dataset,
) -> Result<(), ExportError> {
    let question = match request.what {
        ExportWhat::Trips => Question::Trips,
        _ => Question::Gaps,
    };
    let mut filter = question.gap_filter(GapFilter {
        mmsi: request.mmsi,
        since: request.since,
        until: request.until,
        limit: Some(PAGE),
        ..GapFilter::default()
    });
    let mut cells = Vec::new();
    loop {
        let gaps = reader.gaps(&filter)?;
        for gap in &gaps {
            let record = serde_json::to_value(gap).unwrap_or_default();
            fill(request.what, &record, &mut cells)?;
            let from = (gap.from_lon, gap.from_lat);
            let geometry = match (gap.until_lon, gap.until_lat) {
                (Some(lon), Some(lat)) => Geometry::Line(vec![from, (lon, lat)]),
                _ => Geometry::Point(from.0, from.1),
            };
            dataset.write("", &cells, Some(&geometry))?;
        }
        if (gaps.len() as u64) < PAGE {
            return Ok(());
        }
        filter.offset += PAGE;
    }
}

fn export_encounters(
    reader: &Reader,
    request: &ExportRequest,
    dataset: &mut dataset::Dataset,
) -> Result<(), ExportError> {
    let mut filter = AtSeaFilter {
        mmsi: request.mmsi,
        since: request.since,
        until: request.until,
        limit: Some(PAGE),
        offset: 0,
    };
    let mut cells = Vec::new();
    loop {
        let encounters = reader.encounters(&filter)?;
        for encounter in &encounters {
            let record = serde_json::to_value(encounter).unwrap_or_default();
            fill(request.what, &record, &mut cells)?;
            // The meeting segment: where they were first and last close.
            let geometry = Geometry::Line(vec![
                (encounter.start_lon, encounter.start_lat),
                (encounter.end_lon, encounter.end_lat),
            ]);
            dataset.write("", &cells, Some(&geometry))?;
        }
        if (encounters.len() as u64) < PAGE {
            return Ok(());
        }
        filter.offset += PAGE;
    }
}

fn fill(
    what: ExportWhat,
    record: &serde_json::Value,
    cells: &mut Vec<Cell>,
) -> Result<(), ExportError> {
    table::cells_of(record, what.columns(), cells).map_err(|mismatch| ExportError::Field {
        what: what.as_str(),
        mismatch,
    })
}

fn export_coverage(
    reader: &Reader,
    request: &ExportRequest,
    dataset: &mut dataset::Dataset,
) -> Result<(), ExportError> {
    let places: BTreeMap<String, (f64, f64)> = reader
        .ports(None, None, 1)?
        .into_iter()
        .map(|p| (p.name, (p.lon, p.lat)))
        .collect();
    let mut cells = Vec::with_capacity(3);
    reader.for_each_port_hour(request.since, request.until, |port, hour, vessels| {
        cells.clear();
        cells.extend([
            Cell::Text(port.to_string()),
            Cell::Time(hour),
            Cell::Int(i64::from(vessels)),
        ]);
        // A port no longer designated keeps its counts; it has no place to draw them at.
        let place = places
            .get(port)
            .map(|&(lon, lat)| Geometry::Point(lon, lat));
        dataset.write("", &cells, place.as_ref())
    })
}

fn export_tracks(
    reader: &Reader,
    request: &ExportRequest,
    dataset: &mut dataset::Dataset,
) -> Result<(), ExportError> {
    let window = TrackWindow {
        mmsi: request.mmsi,
        since: request.since,
        until: request.until,
    };
    let mut cells = Vec::with_capacity(table::FIX_COLUMNS.len());
    let fixes = request.what == ExportWhat::Fixes;
    reader.for_each_vessel_day(&window, |day: VesselDay| {
        let month = UnixMillis(day.day * 86_400_000).month_key();
        if fixes {
            for point in &day.points {
                fix_cells(day.mmsi, point, &mut cells);
                dataset.write(&month, &cells, Some(&Geometry::Point(point.lon, point.lat)))?;
            }
            return Ok(());
        }
        let mut by_segment: BTreeMap<u32, Vec<&TrackPoint>> = BTreeMap::new();
        for point in &day.points {
            by_segment.entry(point.segment).or_default().push(point);
        }
        for (segment, points) in by_segment {
            let (Some(first), Some(last)) = (points.first(), points.last()) else {
                continue;
            };
            cells.clear();
            cells.extend([
                Cell::Int(i64::from(day.mmsi.0)),
                Cell::Int(i64::from(segment)),
                Cell::Date(day.day as i32),
                Cell::Time(first.time),
                Cell::Time(last.time),
                Cell::Int(points.len() as i64),
                Cell::Int(points.iter().filter(|p| p.late).count() as i64),
            ]);
            let line = points.iter().map(|p| (p.lon, p.lat)).collect();
            if let Some(geometry) = Geometry::through(line) {
                dataset.write(&month, &cells, Some(&geometry))?;
            }
        }
        Ok(())
    })
}

fn fix_cells(mmsi: Mmsi, point: &TrackPoint, cells: &mut Vec<Cell>) {
    let or_null = |v: Option<Cell>| v.unwrap_or(Cell::Null);
    cells.clear();
    cells.extend([
        Cell::Int(i64::from(mmsi.0)),
        Cell::Int(i64::from(point.segment)),
        Cell::Time(point.time),
        Cell::Float64(point.lat),
        Cell::Float64(point.lon),
        or_null(point.sog.map(Cell::Float32)),
        or_null(point.cog.map(Cell::Float32)),
        or_null(point.heading.map(|h| Cell::Int(h.into()))),
        or_null(point.nav_status.map(|n| Cell::Int(n.into()))),
        Cell::Bool(point.late),
    ]);
}

/// The one-line account of an export that the command prints.
pub fn describe(out: &Path, summary: &ExportSummary) -> String {
    format!(
        "{} rows in {} file{} under {}",
        summary.rows,
        summary.files,
        if summary.files == 1 { "" } else { "s" },
        out.display()
    )
}
