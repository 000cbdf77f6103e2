//! The answers about meetings and idling at sea: `aisgap query encounters|loitering` (and the
//! API's endpoints of the same names) as a table, JSON, CSV or GeoJSON.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{csv_cell, opt, short_time, write_columns, write_json, AnswerFormat, QueryError};
use crate::detect::encounters::{EncounterRecord, EncounterSide};
use crate::detect::loitering::LoiteringRecord;
use crate::model::Mmsi;
use crate::store::at_sea::AtSeaFilter;
use crate::store::read::GapFilter;
use crate::store::Reader;
use crate::time::UnixMillis;

/// The at-sea filter a gap filter's vessel, window and paging stand for.
pub fn at_sea_filter(filter: &GapFilter) -> AtSeaFilter {
    AtSeaFilter {
        mmsi: filter.mmsi,
        since: filter.since,
        until: filter.until,
        limit: filter.limit,
        offset: filter.offset,
    }
}

pub fn answer_encounters(
    reader: &Reader,
    filter: &AtSeaFilter,
    format: AnswerFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let encounters = reader.encounters(filter)?;
    match format {
        AnswerFormat::Table => write_encounter_table(&encounters, out)?,
        AnswerFormat::Json => write_json(&encounters, out)?,
        AnswerFormat::Csv => write_encounter_csv(&encounters, out)?,
        AnswerFormat::Geojson => write_json(&encounters_geojson(reader, &encounters)?, out)?,
    }
    Ok(())
}

pub fn answer_loitering(
    reader: &Reader,
    filter: &AtSeaFilter,
    format: AnswerFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let episodes = reader.loitering(filter)?;
    match format {
        AnswerFormat::Table => write_loitering_table(&episodes, out)?,
        AnswerFormat::Json => write_json(&episodes, out)?,
        AnswerFormat::Csv => write_loitering_csv(&episodes, out)?,
        AnswerFormat::Geojson => write_json(&loitering_geojson(reader, &episodes)?, out)?,
    }
    Ok(())
}

fn vessel_cell(side: &EncounterSide) -> String {
    format!(
        "{} {} ({})",
        side.vessel.mmsi,
        side.vessel.name.as_deref().unwrap_or("-"),
        side.vessel.flag.as_deref().unwrap_or("?")
    )
}

fn draughts(side: &EncounterSide) -> String {
    format!(
        "{} -> {}",
        opt(side.draught_before),
        opt(side.draught_after)
    )
}

const ENCOUNTER_TABLE: [&str; 11] = [
    "start",
    "end",
    "hours",
    "vessel a",
    "vessel b",
    "min m",
    "median m",
    "kn",
    "draught a",
    "draught b",
    "barrels",
];

fn write_encounter_table(encounters: &[EncounterRecord], out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = encounters
        .iter()
        .map(|e| {
            vec![
                short_time(e.start),
                short_time(e.end),
                format!("{:.1}", e.duration_hours),
                vessel_cell(&e.a),
                vessel_cell(&e.b),
                format!("{:.0}", e.min_distance_m),
                format!("{:.0}", e.median_distance_m),
                format!("{:.1}", e.median_speed_kn),
                draughts(&e.a),
                draughts(&e.b),
                e.est_barrels.map_or("-".into(), |b| format!("{b:.0}")),
            ]
        })
        .collect();
    write_columns(&ENCOUNTER_TABLE, &rows, out)?;
    writeln!(out, "{} encounter(s)", encounters.len())
}

const ENCOUNTER_CSV: &str = "start,end,status,duration_hours,mmsi_a,name_a,flag_a,ship_type_a,draught_before_a,draught_after_a,mmsi_b,name_b,flag_b,ship_type_b,draught_before_b,draught_after_b,min_distance_m,median_distance_m,median_speed_kn,lat,lon,nearest_port,port_distance_nm,away_rule,receiving,est_tonnes,est_barrels";

fn side_cells(side: &EncounterSide) -> Vec<String> {
    vec![
        side.vessel.mmsi.to_string(),
        csv_cell(side.vessel.name.as_deref().unwrap_or("")),
        side.vessel.flag.clone().unwrap_or_default(),
        opt_csv(side.vessel.ship_type),
        opt_csv(side.draught_before),
        opt_csv(side.draught_after),
    ]
}

fn opt_csv<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

pub fn write_encounter_csv(encounters: &[EncounterRecord], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{ENCOUNTER_CSV}")?;
    for e in encounters {
        let mut cells = vec![
            e.start.to_string(),
            e.end.to_string(),
            e.status.as_str().to_owned(),
            e.duration_hours.to_string(),
        ];
        cells.extend(side_cells(&e.a));
        cells.extend(side_cells(&e.b));
        cells.extend([
            e.min_distance_m.to_string(),
            e.median_distance_m.to_string(),
            e.median_speed_kn.to_string(),
            e.lat.to_string(),
            e.lon.to_string(),
            csv_cell(e.nearest_port.as_deref().unwrap_or("")),
            opt_csv(e.port_distance_nm),
            e.away_rule.clone(),
            opt_csv(e.receiving),
            opt_csv(e.est_tonnes),
            opt_csv(e.est_barrels),
        ]);
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

const LOITERING_TABLE: [&str; 9] = [
    "start",
    "end",
    "hours",
    "vessel",
    "mean kn",
    "max kn",
    "position",
    "nearest port",
    "nm",
];

fn write_loitering_table(episodes: &[LoiteringRecord], out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = episodes
        .iter()
        .map(|l| {
            vec![
                short_time(l.start),
                short_time(l.end),
                format!("{:.1}", l.duration_hours),
                format!(
                    "{} {} ({})",
                    l.vessel.mmsi,
                    l.vessel.name.as_deref().unwrap_or("-"),
                    l.vessel.flag.as_deref().unwrap_or("?")
                ),
                format!("{:.1}", l.mean_speed_kn),
                format!("{:.1}", l.max_speed_kn),
                crate::ports::format_position(l.lat, l.lon),
                l.nearest_port.clone().unwrap_or_else(|| "-".into()),
                l.port_distance_nm
                    .map_or("-".into(), |nm| format!("{nm:.0}")),
            ]
        })
        .collect();
    write_columns(&LOITERING_TABLE, &rows, out)?;
    writeln!(out, "{} loitering episode(s)", episodes.len())
}

const LOITERING_CSV: &str = "start,end,status,duration_hours,mmsi,name,flag,ship_type,watched,lat,lon,start_lat,start_lon,end_lat,end_lon,fixes,mean_speed_kn,max_speed_kn,distance_nm,nearest_port,port_distance_nm,away_rule,draught";

pub fn write_loitering_csv(episodes: &[LoiteringRecord], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{LOITERING_CSV}")?;
    for l in episodes {
        let cells = [
            l.start.to_string(),
            l.end.to_string(),
            l.status.as_str().to_owned(),
            l.duration_hours.to_string(),
            l.vessel.mmsi.to_string(),
            csv_cell(l.vessel.name.as_deref().unwrap_or("")),
            l.vessel.flag.clone().unwrap_or_default(),
            opt_csv(l.vessel.ship_type),
            l.vessel.watched.to_string(),
            l.lat.to_string(),
            l.lon.to_string(),
            l.start_lat.to_string(),
            l.start_lon.to_string(),
            l.end_lat.to_string(),
            l.end_lon.to_string(),
            l.fixes.to_string(),
            l.mean_speed_kn.to_string(),
            l.max_speed_kn.to_string(),
            l.distance_nm.to_string(),
            csv_cell(l.nearest_port.as_deref().unwrap_or("")),
            opt_csv(l.port_distance_nm),
            l.away_rule.clone(),
            opt_csv(l.draught),
        ];
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn feature(geometry: Value, properties: &Value, role: &str) -> Value {
    let mut p = properties.clone();
    if let Some(map) = p.as_object_mut() {
        map.insert("role".into(), json!(role));
    }
    json!({ "type": "Feature", "geometry": geometry, "properties": p })
}

/// The vessel's stored points from `start` to `end` as a LineString, if there are two.
fn track_line(
    reader: &Reader,
    mmsi: Mmsi,
    start: UnixMillis,
    end: UnixMillis,
) -> Result<Option<Value>, QueryError> {
    let points: Vec<Value> = reader
        .track(mmsi, Some(start), Some(end))?
        .iter()
        .map(|p| json!([p.lon, p.lat]))
        .collect();
    Ok((points.len() >= 2).then(|| json!({ "type": "LineString", "coordinates": points })))
}

/// Each encounter as features sharing its properties: where it happened, the meeting segment
/// (the midpoint between the two from the first to the last close moment) and both vessels'
/// tracks during it.
pub fn encounters_geojson(
    reader: &Reader,
    encounters: &[EncounterRecord],
) -> Result<Value, QueryError> {
    let mut features = Vec::new();
    for e in encounters {
        let properties = serde_json::to_value(e).unwrap_or(Value::Null);
        features.push(feature(
            json!({ "type": "Point", "coordinates": [e.lon, e.lat] }),
            &properties,
            "encounter",
        ));
        features.push(feature(
            json!({ "type": "LineString", "coordinates": [[e.start_lon, e.start_lat], [e.end_lon, e.end_lat]] }),
            &properties,
            "meeting_segment",
        ));
        for (side, role) in [(&e.a, "track_a"), (&e.b, "track_b")] {
            if let Some(line) = track_line(reader, side.vessel.mmsi, e.start, e.end)? {
                features.push(feature(line, &properties, role));
            }
        }
    }
    Ok(json!({ "type": "FeatureCollection", "features": features }))
}

/// Each loitering episode as its mean position, its first and last slow fix, and the track.
pub fn loitering_geojson(
    reader: &Reader,
    episodes: &[LoiteringRecord],
) -> Result<Value, QueryError> {
    let mut features = Vec::new();
    for l in episodes {
        let properties = serde_json::to_value(l).unwrap_or(Value::Null);
        for (lat, lon, role) in [
            (l.lat, l.lon, "loitering"),
            (l.start_lat, l.start_lon, "start"),
            (l.end_lat, l.end_lon, "end"),
        ] {
            features.push(feature(
                json!({ "type": "Point", "coordinates": [lon, lat] }),
                &properties,
                role,
            ));
        }
        if let Some(line) = track_line(reader, l.vessel.mmsi, l.start, l.end)? {
            features.push(feature(line, &properties, "track"));
        }
    }
    Ok(json!({ "type": "FeatureCollection", "features": features }))
}
