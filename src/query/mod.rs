//! Analysts' questions answered from the store and written as a table, JSON, CSV or GeoJSON:
//! the one renderer behind `aisgap query` (and the replay tally).

pub mod at_sea;
pub mod coverage;
mod filters;
mod history;
pub mod rendezvous;
pub mod visits;

use std::io::{self, Write};

pub use history::{write_history, HISTORY_CSV_HEADER};

use serde_json::{json, Value};

use crate::detect::patterns::PatternParams;
use crate::detect::{GapRecord, GapStatus};
use crate::model::Mmsi;
use crate::store::read::{GapFilter, PortSummary, SegmentAt, TallyKey, TallyRow};
use crate::store::Reader;
use crate::store::StoreError;
use crate::time::UnixMillis;

/// How an answer is written: an aligned table for the terminal, or JSON, CSV or GeoJSON for
/// other programs (the HTTP API offers the last three, see `api::Format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerFormat {
    Table,
    Json,
    Csv,
    Geojson,
}

impl AnswerFormat {
    pub const ALL: [AnswerFormat; 4] = [
        AnswerFormat::Table,
        AnswerFormat::Json,
        AnswerFormat::Csv,
        AnswerFormat::Geojson,
    ];

    /// The format's one spelling, for `--format` and the API's `format` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerFormat::Table => "table",
            AnswerFormat::Json => "json",
            AnswerFormat::Csv => "csv",
            AnswerFormat::Geojson => "geojson",
        }
    }
}

/// What to ask.
#[derive(Clone, Debug, PartialEq)]
pub enum Question {
    /// Suspected trips of watched vessels.
    Trips,
    /// Every dark period of a watched vessel with its judgement.
    Gaps,
    /// Watched vessels silent now near a covered port.
    DarkNow,
    Tally(Vec<TallyKey>),
    Vessel(Mmsi),
    Ports,
    /// Every change of the judgement of the gaps selected, with its stream time and reason.
    History,
    /// Two vessels meeting at sea, at least one of them watched.
    Encounters,
    /// Watched vessels idling at sea.
    Loitering,
    /// A watched vessel's silence another vessel's silence or idling could have shared.
    Rendezvous,
    /// Port visits heard with AIS on.
    Visits,
    /// Shuttle patterns among the trips.
    Patterns(PatternParams),
    /// Hourly distinct-vessel counts near each port.
    Coverage,
}

impl Question {
    /// The filter a question about gaps applies on top of the one asked with (the HTTP API
    /// asks the same questions, so it narrows the same way).
    pub fn gap_filter(&self, mut filter: GapFilter) -> GapFilter {
        filter.watched_only = true;
        match self {
            Question::Trips => filter.status = Some(GapStatus::Trip),
            Question::DarkNow => {
                filter.status = Some(GapStatus::Open);
                filter.dark_now_only = true;
            }
            _ => {}
        }
        filter
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the answer: {0}")]
    Io(#[from] io::Error),
    #[error("--format {format} does not apply to {question}; use {supported}")]
    UnsupportedFormat {
        format: &'static str,
        question: &'static str,
        supported: &'static str,
    },
    #[error("no vessel with MMSI {0} in the database")]
    UnknownVessel(Mmsi),
    #[error("{filters} not apply to query {question} ({why}); it takes {applied}")]
    FilterDoesNotApply {
        filters: String,
        question: &'static str,
        applied: String,
        why: &'static str,
    },
}

/// How much track around a gap a GeoJSON export draws.
const TRACK_CONTEXT_HOURS: f64 = 24.0;

/// Answers one question, writing it to `out`.
// Long by design: one arm per question, each a call to the module that answers it.
pub fn answer(
    reader: &Reader,
    question: &Question,
    filter: &GapFilter,
    format: AnswerFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    filters::check(question, filter)?;
    match question {
        Question::Trips | Question::Gaps | Question::DarkNow => {
            let filter = question.gap_filter(filter.clone());
            let gaps = reader.gaps(&filter)?;
            match format {
                AnswerFormat::Table => write_gap_table(&gaps, out)?,
                AnswerFormat::Json => write_json(&gaps, out)?,
                AnswerFormat::Csv => write_gap_csv(&gaps, out)?,
                AnswerFormat::Geojson => write_json(&gaps_geojson(reader, &gaps)?, out)?,
            }
        }
        Question::Tally(keys) => {
            let rows = reader.tally(filter, keys)?;
            match format {
                AnswerFormat::Table => write_tally_table(&rows, keys, out)?,
                AnswerFormat::Json => write_json(&rows, out)?,
                AnswerFormat::Csv => write_tally_csv(&rows, keys, out)?,
                AnswerFormat::Geojson => {
                    return Err(QueryError::UnsupportedFormat {
                        format: AnswerFormat::Geojson.as_str(),
                        question: "tally",
                        supported: "table, json or csv",
                    })
                }
            }
        }
        Question::Vessel(mmsi) => {
            let detail = reader
                .vessel(*mmsi, filter.since, filter.until)?
                .ok_or(QueryError::UnknownVessel(*mmsi))?;
            match format {
                AnswerFormat::Json => write_json(&detail, out)?,
                AnswerFormat::Table => {
                    let i = &detail.identity;
                    writeln!(
                        out,
                        "MMSI {}  {}  IMO {}  call sign {}  ship type {}",
                        mmsi,
                        i.name.as_deref().unwrap_or("-"),
                        opt(i.imo),
                        i.callsign.as_deref().unwrap_or("-"),
                        opt(i.ship_type)
                    )?;
                    writeln!(
                        out,
                        "heard {} .. {}  fixes {} (late {})  watched {}",
                        detail.first_heard,
                        detail.last_heard,
                        detail.fixes,
                        detail.late_fixes,
                        detail.watched
                    )?;
                    writeln!(
                        out,
                        "length {} m  beam {} m  draught {} m  destination {}",
                        opt(i.length),
                        opt(i.beam),
                        opt(i.draught),
                        i.destination.as_deref().unwrap_or("-")
                    )?;
                    writeln!(
                        out,
                        "identity changes: {}  track points: {}",
                        detail.identity_history.len(),
                        detail.track.len()
                    )?;
                    write_transmitters(&detail.segments, out)?;
                    writeln!(out)?;
                    write_gap_table(&detail.gaps, out)?;
                    writeln!(out)?;
                    writeln!(out, "port visits:")?;
                    visits::write_visit_table(&detail.visits, out)?;
                }
                AnswerFormat::Csv => {
                    write_gap_csv(&detail.gaps, out)?;
                }
                AnswerFormat::Geojson => write_json(&gaps_geojson(reader, &detail.gaps)?, out)?,
            }
        }
        Question::History => history::write_history(&reader.gap_history(filter)?, format, out)?,
        Question::Encounters => {
            at_sea::answer_encounters(reader, &at_sea::at_sea_filter(filter), format, out)?
        }
        Question::Loitering => {
            at_sea::answer_loitering(reader, &at_sea::at_sea_filter(filter), format, out)?
        }
        Question::Rendezvous => {
            rendezvous::answer_rendezvous(reader, &at_sea::at_sea_filter(filter), format, out)?
        }
        Question::Visits => visits::answer_visits(reader, filter, format, out)?,
        Question::Patterns(params) => visits::answer_patterns(reader, filter, params, format, out)?,
        Question::Coverage => coverage::answer_coverage(reader, filter, format, out)?,
        Question::Ports => {
            let ports = reader.ports(filter.since, filter.until, 2)?;
            match format {
                AnswerFormat::Table => write_ports_table(&ports, out)?,
                AnswerFormat::Json => write_json(&ports, out)?,
                AnswerFormat::Csv => write_ports_csv(&ports, out)?,
                AnswerFormat::Geojson => write_json(&ports_geojson(&ports), out)?,
            }
        }
    }
    let incomplete = reader.incomplete_input()?;
    if !incomplete.is_empty() {
        // Other formats are read by programs, which find the mark in the API's summary.
        if format == AnswerFormat::Table {
            write_incomplete_input(&incomplete, out)?;
        } else {
            tracing::warn!(
                reasons = incomplete.len(),
                "The database was built from incomplete input: {}.",
                incomplete.join("; ")
            );
        }
    }
    out.flush()?;
    Ok(())
}

/// How many transmitters sent the MMSI, and when each was heard: more than one is a shared,
/// spoofed or laundered identity.
fn write_transmitters(segments: &[SegmentAt], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "transmitters (segments): {}", segments.len())?;
    let rows: Vec<Vec<String>> = segments
        .iter()
        .map(|s| {
            let i = &s.identity;
            vec![
                s.segment.to_string(),
                short_time(s.first_heard),
                s.last_fix_time.map_or_else(|| "-".into(), short_time),
                s.fixes.to_string(),
                i.name.as_deref().unwrap_or("-").to_owned(),
                opt(i.ship_type),
                opt(i.length),
                opt(i.beam),
                if s.live { "live" } else { "given up" }.to_string(),
            ]
        })
        .collect();
    write_columns(
        &[
            "segment",
            "first heard",
            "last fix",
            "fixes",
            "name",
            "type",
            "length",
            "beam",
            "state",
        ],
        &rows,
        out,
    )
}

/// The footer of a table answered from a database built from incomplete input.
pub fn write_incomplete_input(reasons: &[String], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "WARNING: this database was built from incomplete input; answers may miss data:"
    )?;
    for reason in reasons {
        writeln!(out, "  - {reason}")?;
    }
    Ok(())
}

fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Quotes a CSV cell when it needs it (RFC 4180).
pub fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn short_time(time: UnixMillis) -> String {
    let text = time.to_string();
    text.get(..16).map_or(text.clone(), |t| t.replace('T', " "))
}

pub const GAP_CSV_HEADER: &str = "mmsi,imo,name,status,port,dark_from,dark_until,duration_hours,from_lat,from_lon,until_lat,until_lon,distance_nm,implied_speed_kn,detour_nm,slack_hours,coverage,dark_now,draught_before,draught_after,draught_change,est_tonnes,est_barrels,confidence,identity_changes,segment";

/// Gaps as CSV under [`GAP_CSV_HEADER`] (shared by `aisgap query` and the HTTP API).
pub fn write_gap_csv(gaps: &[GapRecord], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{GAP_CSV_HEADER}")?;
    for g in gaps {
        let changes: Vec<String> = g
            .identity_changes
            .iter()
            .map(|c| format!("{}: {} -> {}", c.field, c.before, c.after))
            .collect();
        let cells = [
            g.mmsi.to_string(),
            opt(g.imo).replace('-', ""),
            csv_cell(g.name.as_deref().unwrap_or("")),
            g.status.as_str().to_string(),
            csv_cell(g.port.as_deref().unwrap_or("")),
            g.dark_from.to_string(),
            g.dark_until.map(|t| t.to_string()).unwrap_or_default(),
            g.duration_hours.to_string(),
            g.from_lat.to_string(),
            g.from_lon.to_string(),
            g.until_lat.map(|v| v.to_string()).unwrap_or_default(),
            g.until_lon.map(|v| v.to_string()).unwrap_or_default(),
            g.distance_nm.map(|v| v.to_string()).unwrap_or_default(),
            g.implied_speed_kn
                .map(|v| v.to_string())
                .unwrap_or_default(),
            g.detour_nm.map(|v| v.to_string()).unwrap_or_default(),
            g.slack_hours.map(|v| v.to_string()).unwrap_or_default(),
            g.coverage.map(|v| v.to_string()).unwrap_or_default(),
            g.dark_now.to_string(),
            g.draught_before.map(|v| v.to_string()).unwrap_or_default(),
            g.draught_after.map(|v| v.to_string()).unwrap_or_default(),
            g.draught_change.map(|v| v.to_string()).unwrap_or_default(),
            g.est_tonnes.map(|v| v.to_string()).unwrap_or_default(),
            g.est_barrels.map(|v| v.to_string()).unwrap_or_default(),
            g.confidence
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            csv_cell(&changes.join("; ")),
            g.segment.to_string(),
        ];
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

/// Writes rows as aligned text columns.
fn write_columns(header: &[&str], rows: &[Vec<String>], out: &mut dyn Write) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(
        out,
        "{}",
        line(header.iter().map(|h| h.to_string()).collect())
    )?;
    for row in rows {
        writeln!(out, "{}", line(row.clone()))?;
    }
    Ok(())
}

fn write_gap_table(gaps: &[GapRecord], out: &mut dyn Write) -> io::Result<()> {
    if gaps.is_empty() {
        return writeln!(out, "(none)");
    }
    let rows: Vec<Vec<String>> = gaps
        .iter()
        .map(|g| {
            vec![
                g.mmsi.to_string(),
                g.name.as_deref().unwrap_or("-").to_owned(),
                g.status.as_str().to_string(),
                g.port.clone().unwrap_or_else(|| "-".into()),
                short_time(g.dark_from),
                g.dark_until.map_or_else(|| "(dark)".into(), short_time),
                format!("{:.1}", g.duration_hours),
                g.slack_hours
                    .map_or_else(|| "-".into(), |v| format!("{v:.1}")),
                g.coverage
                    .map_or_else(|| "-".into(), |v| format!("{:.0}%", v * 100.0)),
                match (g.draught_before, g.draught_after) {
                    (Some(b), Some(a)) => format!("{b:.1}->{a:.1}"),
                    (Some(b), None) => format!("{b:.1}->?"),
                    _ => "-".into(),
                },
                g.est_barrels.map_or_else(|| "-".into(), whole_barrels),
                g.confidence
                    .map_or_else(|| "-".into(), |c| c.as_str().to_string()),
            ]
        })
        .collect();
    write_columns(
        &[
            "MMSI",
            "NAME",
            "STATUS",
            "PORT",
            "DARK FROM (UTC)",
            "DARK UNTIL (UTC)",
            "HOURS",
            "SLACK H",
            "COVERAGE",
            "DRAUGHT M",
            "EST BBL",
            "CONFIDENCE",
        ],
        &rows,
        out,
    )
}

fn tally_header(keys: &[TallyKey]) -> Vec<&'static str> {
    let mut header = Vec::new();
    if keys.contains(&TallyKey::Port) {
        header.push("port");
    }
    if keys.contains(&TallyKey::Vessel) {
        header.extend(["mmsi", "name"]);
    }
    if keys.contains(&TallyKey::Month) {
        header.push("month");
    }
    header.extend(["trips", "open_calls", "high_confidence", "est_barrels"]);
    header
}

fn tally_cells(row: &TallyRow, keys: &[TallyKey]) -> Vec<String> {
    let mut cells = Vec::new();
    if keys.contains(&TallyKey::Port) {
        cells.push(row.port.clone().unwrap_or_default());
    }
    if keys.contains(&TallyKey::Vessel) {
        cells.push(row.mmsi.map(|m| m.to_string()).unwrap_or_default());
        cells.push(row.name.clone().unwrap_or_default());
    }
    if keys.contains(&TallyKey::Month) {
        cells.push(row.month.clone().unwrap_or_default());
    }
    cells.extend([
        row.trips.to_string(),
        row.open_calls.to_string(),
        row.high_confidence.to_string(),
        whole_barrels(row.est_barrels),
    ]);
    cells
}

/// Barrels to the barrel. An empty sum of floats is -0.0, and nothing rounds to "-0" barrels.
fn whole_barrels(barrels: f64) -> String {
    let rounded = barrels.round();
    if rounded == 0.0 {
        "0".to_owned()
    } else {
        format!("{rounded:.0}")
    }
}

/// Writes a tally as a table with a total line.
pub fn write_tally_table(
    rows: &[TallyRow],
    keys: &[TallyKey],
    out: &mut dyn Write,
) -> io::Result<()> {
    let header: Vec<String> = tally_header(keys)
        .iter()
        .map(|h| h.to_uppercase().replace('_', " "))
        .collect();
    let mut body: Vec<Vec<String>> = rows.iter().map(|r| tally_cells(r, keys)).collect();
    let total = TallyRow {
        trips: rows.iter().map(|r| r.trips).sum(),
        open_calls: rows.iter().map(|r| r.open_calls).sum(),
        high_confidence: rows.iter().map(|r| r.high_confidence).sum(),
        est_barrels: rows.iter().map(|r| r.est_barrels).sum(),
        ..TallyRow::default()
    };
    let mut total_cells = tally_cells(&total, keys);
    if let Some(first) = total_cells.first_mut() {
        if keys.is_empty() {
            body.clear();
        } else {
            *first = "TOTAL".into();
        }
    }
    body.push(total_cells);
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    write_columns(&header_refs, &body, out)
}

/// A tally as CSV: the group columns of `keys`, then trips, open_calls, high_confidence,
/// est_barrels.
pub fn write_tally_csv(
    rows: &[TallyRow],
    keys: &[TallyKey],
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "{}", tally_header(keys).join(","))?;
    for row in rows {
        let cells: Vec<String> = tally_cells(row, keys).iter().map(|c| csv_cell(c)).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn write_ports_table(ports: &[PortSummary], out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = ports
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                format!("{:.4}", p.lat),
                format!("{:.4}", p.lon),
                format!("{}", p.approach_nm),
                format!("{}", p.coverage_nm),
                p.hours_heard.to_string(),
                p.hours_covered.to_string(),
                format!("{:.1}", p.mean_vessels_per_hour),
                p.trips.to_string(),
                p.dark_now.to_string(),
            ]
        })
        .collect();
    write_columns(
        &[
            "PORT",
            "LAT",
            "LON",
            "APPROACH NM",
            "COVERAGE NM",
            "HOURS HEARD",
            "HOURS COVERED",
            "VESSELS/H",
            "TRIPS",
            "DARK NOW",
        ],
        &rows,
        out,
    )
}

/// Ports as CSV, one row each (no geometry).
pub fn write_ports_csv(ports: &[PortSummary], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "name,lat,lon,approach_nm,coverage_nm,hours_heard,hours_covered,mean_vessels_per_hour,trips,dark_now")?;
    for p in ports {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_cell(&p.name),
            p.lat,
            p.lon,
            p.approach_nm,
            p.coverage_nm,
            p.hours_heard,
            p.hours_covered,
            p.mean_vessels_per_hour,
            p.trips,
            p.dark_now
        )?;
    }
    Ok(())
}

fn port_feature(p: &PortSummary) -> Value {
    let mut geometry = p.geometry.clone();
    if let Some(map) = geometry.as_object_mut() {
        map.remove("radius_nm");
    }
    json!({
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "role": "port", "port": p.name, "approach_nm": p.approach_nm, "coverage_nm": p.coverage_nm,
            "radius_nm": p.geometry.get("radius_nm"), "trips": p.trips, "dark_now": p.dark_now,
        }
    })
}

/// Ports as a GeoJSON FeatureCollection, one feature with role "port" each.
pub fn ports_geojson(ports: &[PortSummary]) -> Value {
    json!({ "type": "FeatureCollection", "features": ports.iter().map(port_feature).collect::<Vec<_>>() })
}

/// Each gap as GeoJSON features sharing its properties: fix A, fix B, the straight dark leg
/// between them, the track around the gap, and (once per export) each port involved.
pub fn gaps_geojson(reader: &Reader, gaps: &[GapRecord]) -> Result<Value, QueryError> {
    let ports = reader.ports(None, None, 2)?;
    let mut features = Vec::new();
    let mut ports_drawn = std::collections::BTreeSet::new();
    for gap in gaps {
        let properties = serde_json::to_value(gap).unwrap_or(Value::Null);
        let with_role = |role: &str| {
            let mut p = properties.clone();
            if let Some(map) = p.as_object_mut() {
                map.insert("role".into(), json!(role));
            }
            p
        };
        features.push(json!({ "type": "Feature", "geometry": { "type": "Point", "coordinates": [gap.from_lon, gap.from_lat] }, "properties": with_role("dark_from") }));
        if let (Some(lat), Some(lon)) = (gap.until_lat, gap.until_lon) {
            features.push(json!({ "type": "Feature", "geometry": { "type": "Point", "coordinates": [lon, lat] }, "properties": with_role("dark_until") }));
            features.push(json!({ "type": "Feature", "geometry": { "type": "LineString", "coordinates": [[gap.from_lon, gap.from_lat], [lon, lat]] }, "properties": with_role("dark_leg") }));
        }
        let end = gap.dark_until.unwrap_or(gap.dark_from);
        let track = reader.track(
            gap.mmsi,
            Some(gap.dark_from.plus_hours(-TRACK_CONTEXT_HOURS)),
            Some(end.plus_hours(TRACK_CONTEXT_HOURS)),
        )?;
        let before: Vec<Value> = track
            .iter()
            .filter(|p| p.time <= gap.dark_from)
            .map(|p| json!([p.lon, p.lat]))
            .chain([json!([gap.from_lon, gap.from_lat])])
            .collect();
        let mut after: Vec<Value> = Vec::new();
        if let (Some(lat), Some(lon), Some(until)) = (gap.until_lat, gap.until_lon, gap.dark_until)
        {
            after.push(json!([lon, lat]));
            after.extend(
                track
                    .iter()
                    .filter(|p| p.time >= until)
                    .map(|p| json!([p.lon, p.lat])),
            );
        }
        let lines: Vec<Value> = [before, after]
            .into_iter()
            .filter(|l| l.len() >= 2)
            .map(Value::Array)
            .collect();
        if !lines.is_empty() {
            features.push(json!({ "type": "Feature", "geometry": { "type": "MultiLineString", "coordinates": lines }, "properties": with_role("track") }));
        }
        if let Some(name) = &gap.port {
            if ports_drawn.insert(name.clone()) {
                if let Some(port) = ports.iter().find(|p| &p.name == name) {
                    features.push(port_feature(port));
                }
            }
        }
    }
    Ok(json!({ "type": "FeatureCollection", "features": features }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally_table(rows: &[TallyRow], keys: &[TallyKey]) -> String {
        let mut out = Vec::new();
        write_tally_table(rows, keys, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_tally_without_trips_totals_zero_barrels() {
        let table = tally_table(&[], &[TallyKey::Port, TallyKey::Month]);
        let total = table.lines().last().unwrap();
        assert!(total.starts_with("TOTAL"), "{table}");
        assert_eq!(
            total.split_whitespace().collect::<Vec<_>>(),
            ["TOTAL", "0", "0", "0", "0"],
            "{table}"
        );
        let table = tally_table(&[], &[]);
        assert!(!table.contains("-0"), "{table}");
    }

    #[test]
    fn barrels_round_to_whole_barrels_without_a_negative_zero() {
        assert_eq!(whole_barrels(-0.0), "0");
        assert_eq!(whole_barrels(-0.4), "0");
        assert_eq!(whole_barrels(0.0), "0");
        assert_eq!(whole_barrels(12_345.6), "12346");
        let row = TallyRow {
            port: Some("Vostochny".into()),
            trips: 2,
            high_confidence: 1,
            est_barrels: 12_345.6,
            open_calls: 3,
            ..TallyRow::default()
        };
        let table = tally_table(&[row], &[TallyKey::Port]);
        let lines: Vec<Vec<&str>> = table
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[1], ["Vostochny", "2", "3", "1", "12346"], "{table}");
        assert_eq!(lines[2], ["TOTAL", "2", "3", "1", "12346"], "{table}");
    }
}
