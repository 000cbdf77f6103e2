//! The answer about dark rendezvous: `aisgap query rendezvous` (and the API's endpoint of the
//! same name) as a table, JSON, CSV or GeoJSON.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{csv_cell, short_time, write_columns, write_json, AnswerFormat, QueryError};
use crate::detect::rendezvous::{LegKind, RendezvousLeg, RendezvousRecord};
use crate::store::at_sea::AtSeaFilter;
use crate::store::Reader;

pub fn answer_rendezvous(
    reader: &Reader,
    filter: &AtSeaFilter,
    format: AnswerFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let found = reader.rendezvous(filter)?;
    match format {
        AnswerFormat::Table => write_rendezvous_table(&found, out)?,
        AnswerFormat::Json => write_json(&found, out)?,
        AnswerFormat::Csv => write_rendezvous_csv(&found, out)?,
        AnswerFormat::Geojson => write_json(&rendezvous_geojson(reader, &found)?, out)?,
    }
    Ok(())
}

fn kind_str(kind: LegKind) -> &'static str {
    match kind {
        LegKind::Gap => "gap",
        LegKind::OpenGap => "open_gap",
        LegKind::Loitering => "loitering",
    }
}

fn leg_cell(leg: &RendezvousLeg) -> String {
    format!(
        "{} {} ({}) {} {}-{}",
        leg.vessel.mmsi,
        leg.vessel.name.as_deref().unwrap_or("-"),
        leg.vessel.flag.as_deref().unwrap_or("?"),
        kind_str(leg.kind),
        short_time(leg.from),
        short_time(leg.until)
    )
}

const TABLE: [&str; 8] = [
    "status",
    "dark vessel",
    "partner",
    "earliest",
    "latest",
    "slack h",
    "meeting place",
    "area nm",
];

fn write_rendezvous_table(found: &[RendezvousRecord], out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|r| {
            vec![
                r.status.as_str().to_owned(),
                leg_cell(&r.dark),
                leg_cell(&r.partner),
                short_time(r.earliest),
                short_time(r.latest),
                format!("{:.1}", r.slack_hours),
                crate::ports::format_position(r.lat, r.lon),
                format!("{:.1}", r.area_radius_nm),
            ]
        })
        .collect();
    write_columns(&TABLE, &rows, out)?;
    writeln!(out, "{} dark rendezvous candidate(s)", found.len())
}

const CSV: &str = "status,mmsi,name,flag,ship_type,kind,dark_from,dark_until,from_lat,from_lon,until_lat,until_lon,partner_mmsi,partner_name,partner_flag,partner_ship_type,partner_watched,partner_kind,partner_from,partner_until,partner_from_lat,partner_from_lon,partner_until_lat,partner_until_lon,earliest,latest,slack_hours,together_hours,lat,lon,area_radius_nm,nearest_port,port_distance_nm,away_rule,min_hours,max_speed_kn";

fn opt_csv<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

fn leg_cells(leg: &RendezvousLeg, with_watched: bool) -> Vec<String> {
    let mut cells = vec![
        leg.vessel.mmsi.to_string(),
        csv_cell(leg.vessel.name.as_deref().unwrap_or("")),
        leg.vessel.flag.clone().unwrap_or_default(),
        opt_csv(leg.vessel.ship_type),
    ];
    if with_watched {
        cells.push(leg.vessel.watched.to_string());
    }
    cells.extend([
        kind_str(leg.kind).to_owned(),
        leg.from.to_string(),
        leg.until.to_string(),
        leg.from_lat.to_string(),
        leg.from_lon.to_string(),
        opt_csv(leg.until_lat),
        opt_csv(leg.until_lon),
    ]);
    cells
}

pub fn write_rendezvous_csv(found: &[RendezvousRecord], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{CSV}")?;
    for r in found {
        let mut cells = vec![r.status.as_str().to_owned()];
        cells.extend(leg_cells(&r.dark, false));
        cells.extend(leg_cells(&r.partner, true));
        cells.extend([
            r.earliest.to_string(),
            r.latest.to_string(),
            r.slack_hours.to_string(),
            r.together_hours.to_string(),
            r.lat.to_string(),
            r.lon.to_string(),
            r.area_radius_nm.to_string(),
            csv_cell(r.nearest_port.as_deref().unwrap_or("")),
            opt_csv(r.port_distance_nm),
            r.away_rule.clone(),
            r.min_hours.to_string(),
            r.max_speed_kn.to_string(),
        ]);
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

/// A leg as drawn: a silence as the straight line from fix A to fix B (what is known of it;
/// fix A alone while it is open), an idling as its stored track (its ends when none is kept).
fn leg_geometry(reader: &Reader, leg: &RendezvousLeg) -> Result<Value, QueryError> {
    let a = json!([leg.from_lon, leg.from_lat]);
    let b = leg
        .until_lon
        .zip(leg.until_lat)
        .map(|(lon, lat)| json!([lon, lat]));
    if leg.kind == LegKind::Loitering {
        let points: Vec<Value> = reader
            .track(leg.vessel.mmsi, Some(leg.from), Some(leg.until))?
            .iter()
            .map(|p| json!([p.lon, p.lat]))
            .collect();
        if points.len() >= 2 {
            return Ok(json!({ "type": "LineString", "coordinates": points }));
        }
    }
    Ok(match b {
        Some(b) => json!({ "type": "LineString", "coordinates": [a, b] }),
        None => json!({ "type": "Point", "coordinates": a }),
    })
}

/// Each rendezvous as features sharing its properties: the best meeting place, the area
/// where the two could have met, and both legs.
pub fn rendezvous_geojson(
    reader: &Reader,
    found: &[RendezvousRecord],
) -> Result<Value, QueryError> {
    let mut features = Vec::new();
    for r in found {
        let properties = serde_json::to_value(r).unwrap_or(Value::Null);
        features.push(feature(
            json!({ "type": "Point", "coordinates": [r.lon, r.lat] }),
            &properties,
            "meeting_place",
        ));
        if r.area.len() >= 4 {
            features.push(feature(
                json!({ "type": "Polygon", "coordinates": [r.area] }),
                &properties,
                "meeting_area",
            ));
        }
        features.push(feature(
            leg_geometry(reader, &r.dark)?,
            &properties,
            "dark_leg",
        ));
        features.push(feature(
            leg_geometry(reader, &r.partner)?,
            &properties,
            "partner_leg",
        ));
    }
    Ok(json!({ "type": "FeatureCollection", "features": features }))
}
