//! The answers about calls heard with AIS on and about regular dark trips: `aisgap query
//! visits` and `aisgap query patterns` (the HTTP API writes the same rows).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Value};

use super::{csv_cell, opt, short_time, write_columns, write_json, AnswerFormat, QueryError};
use crate::detect::patterns::{find_patterns, Pattern, PatternParams};
use crate::store::read::{GapFilter, VisitRow};
use crate::store::Reader;

/// The trips patterns are looked for in: watched trips matching the filter, unpaged (a
/// pattern needs all of them; the limit applies to the patterns).
pub fn patterns(
    reader: &Reader,
    filter: &GapFilter,
    params: &PatternParams,
) -> Result<Vec<Pattern>, QueryError> {
    let mut trips = GapFilter::trips();
    trips.port.clone_from(&filter.port);
    trips.mmsi = filter.mmsi;
    trips.imo = filter.imo;
    trips.since = filter.since;
    trips.until = filter.until;
    trips.confidence = filter.confidence;
    let found = find_patterns(&reader.gaps(&trips)?, params);
    let limit = filter.limit.map_or(usize::MAX, |l| l as usize);
    Ok(found
        .into_iter()
        .skip(filter.offset as usize)
        .take(limit)
        .collect())
}

pub(super) fn answer_visits(
    reader: &Reader,
    filter: &GapFilter,
    format: AnswerFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let mut filter = filter.clone();
    filter.watched_only = true;
    let visits = reader.visits(&filter)?;
    match format {
        AnswerFormat::Table => write_visit_table(&visits, out)?,
        AnswerFormat::Json => write_json(&visits, out)?,
        AnswerFormat::Csv => write_visit_csv(&visits, out)?,
        AnswerFormat::Geojson => write_json(&visits_geojson(reader, &visits)?, out)?,
    }
    Ok(())
}

pub(super) fn answer_patterns(
    reader: &Reader,
    filter: &GapFilter,
    params: &PatternParams,
    format: AnswerFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let found = patterns(reader, filter, params)?;
    match format {
        AnswerFormat::Table => write_pattern_table(&found, out)?,
        AnswerFormat::Json => write_json(&found, out)?,
        AnswerFormat::Csv => write_pattern_csv(&found, out)?,
        AnswerFormat::Geojson => write_json(&patterns_geojson(reader, &found)?, out)?,
    }
    Ok(())
}

pub const VISIT_CSV_HEADER: &str = "mmsi,name,port,arrived,left,duration_hours,open_call,gap,longest_silence_hours,departure_unseen,stopped_hours,fixes,from_port,from_left";

pub fn write_visit_csv(visits: &[VisitRow], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{VISIT_CSV_HEADER}")?;
    for row in visits {
        let v = &row.visit;
        let cells = [
            v.mmsi.to_string(),
            csv_cell(row.name.as_deref().unwrap_or("")),
            csv_cell(&v.port),
            v.arrived.to_string(),
            v.left.map(|t| t.to_string()).unwrap_or_default(),
            format!("{:.2}", row.duration_hours),
            row.open_call.to_string(),
            v.gap.to_string(),
            format!("{:.2}", v.longest_silence_hours),
            v.departure_unseen.to_string(),
            format!("{:.2}", v.stopped_hours),
            v.fixes.to_string(),
            csv_cell(v.from_port.as_deref().unwrap_or("")),
            v.from_left.map(|t| t.to_string()).unwrap_or_default(),
        ];
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

pub(super) fn write_visit_table(visits: &[VisitRow], out: &mut dyn Write) -> io::Result<()> {
    if visits.is_empty() {
        return writeln!(out, "(none)");
    }
    let rows: Vec<Vec<String>> = visits
        .iter()
        .map(|row| {
            let v = &row.visit;
            vec![
                v.mmsi.to_string(),
                row.name.clone().unwrap_or_else(|| "-".into()),
                v.port.clone(),
                short_time(v.arrived),
                v.left.map_or_else(|| "(in port)".into(), short_time),
                format!("{:.1}", row.duration_hours),
                if row.open_call { "open" } else { "dark" }.into(),
                if v.gap { "yes" } else { "-" }.into(),
                v.from_port.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    write_columns(
        &[
            "MMSI", "NAME", "PORT", "ARRIVED", "LEFT", "HOURS", "CALL", "GAP", "FROM",
        ],
        &rows,
        out,
    )
}

pub const PATTERN_CSV_HEADER: &str = "mmsi,name,port,trips,origin_lat,origin_lon,origin_radius_km,first_dark_from,last_dark_from,cycle_median_hours,cycle_mad_hours,cycle_min_hours,cycle_max_hours,next_expected_from,next_expected_until";

pub fn write_pattern_csv(patterns: &[Pattern], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{PATTERN_CSV_HEADER}")?;
    for p in patterns {
        let cells = [
            p.mmsi.to_string(),
            csv_cell(p.name.as_deref().unwrap_or("")),
            csv_cell(&p.port),
            p.trips.to_string(),
            format!("{:.4}", p.origin_lat),
            format!("{:.4}", p.origin_lon),
            format!("{:.1}", p.origin_radius_km),
            opt(p.dark_from.first()),
            opt(p.dark_from.last()),
            format!("{:.1}", p.cycle_median_hours),
            format!("{:.1}", p.cycle_mad_hours),
            format!("{:.1}", p.cycle_min_hours),
            format!("{:.1}", p.cycle_max_hours),
            p.next_expected_from.to_string(),
            p.next_expected_until.to_string(),
        ];
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn write_pattern_table(patterns: &[Pattern], out: &mut dyn Write) -> io::Result<()> {
    if patterns.is_empty() {
        return writeln!(out, "(none)");
    }
    let rows: Vec<Vec<String>> = patterns
        .iter()
        .map(|p| {
            vec![
                p.mmsi.to_string(),
                p.name.clone().unwrap_or_else(|| "-".into()),
                p.port.clone(),
                p.trips.to_string(),
                format!("{:.2} {:.2}", p.origin_lat, p.origin_lon),
                format!("{:.1}", p.cycle_median_hours),
                format!("{:.1}", p.cycle_mad_hours),
                format!(
                    "{} .. {}",
                    short_time(p.next_expected_from),
                    short_time(p.next_expected_until)
                ),
            ]
        })
        .collect();
    write_columns(
        &[
            "MMSI",
            "NAME",
            "PORT",
            "TRIPS",
            "ORIGIN",
            "CYCLE H",
            "MAD H",
            "NEXT EXPECTED",
        ],
        &rows,
        out,
    )
}

fn port_centres(reader: &Reader) -> Result<BTreeMap<String, (f64, f64)>, QueryError> {
    Ok(reader
        .ports(None, None, 2)?
        .into_iter()
        .map(|p| (p.name, (p.lat, p.lon)))
        .collect())
}

/// Each visit as the vessel's track inside the port (a point at the port when too few
/// points were kept), with the visit's fields as properties.
pub fn visits_geojson(reader: &Reader, visits: &[VisitRow]) -> Result<Value, QueryError> {
    let centres = port_centres(reader)?;
    let mut features = Vec::new();
    for row in visits {
        let v = &row.visit;
        let track = reader.track(
            v.mmsi,
            Some(v.arrived),
            Some(v.left.unwrap_or(v.last_heard)),
        )?;
        let properties = serde_json::to_value(row).unwrap_or(Value::Null);
        let geometry = if track.len() >= 2 {
            let line: Vec<Value> = track.iter().map(|p| json!([p.lon, p.lat])).collect();
            json!({ "type": "LineString", "coordinates": line })
        } else {
            let (lat, lon) = centres.get(&v.port).copied().unwrap_or_default();
            json!({ "type": "Point", "coordinates": [lon, lat] })
        };
        features.push(json!({ "type": "Feature", "geometry": geometry, "properties": properties }));
    }
    Ok(json!({ "type": "FeatureCollection", "features": features }))
}

/// Each pattern as a line from its origin area to its port, with the statistics as
/// properties.
pub fn patterns_geojson(reader: &Reader, patterns: &[Pattern]) -> Result<Value, QueryError> {
    let centres = port_centres(reader)?;
    let features: Vec<Value> = patterns
        .iter()
        .map(|p| {
            let origin = json!([p.origin_lon, p.origin_lat]);
            let geometry = match centres.get(&p.port) {
                Some((lat, lon)) => {
                    json!({ "type": "LineString", "coordinates": [origin, [lon, lat]] })
                }
                None => json!({ "type": "Point", "coordinates": origin }),
            };
            let properties = serde_json::to_value(p).unwrap_or(Value::Null);
            json!({ "type": "Feature", "geometry": geometry, "properties": properties })
        })
        .collect();
    Ok(json!({ "type": "FeatureCollection", "features": features }))
}
