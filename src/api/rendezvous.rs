//! What `/api/v1/rendezvous` answers, and the schema of its record in the OpenAPI
//! description.

use serde_json::{json, Value};

use super::at_sea::{encode, json_body, object, time, vessel_properties, VESSEL_REQUIRED};
use super::params::Format;
use super::ApiError;
use crate::query::rendezvous::{rendezvous_geojson, write_rendezvous_csv};
use crate::store::at_sea::AtSeaFilter;
use crate::store::Reader;

/// The dark rendezvous a request asks for, in its format, with the count paging aside.
pub fn rendezvous_answer(
    reader: &Reader,
    filter: &AtSeaFilter,
    format: Format,
) -> Result<(Vec<u8>, u64), ApiError> {
    let total = reader.count_rendezvous(filter)?;
    let records = reader.rendezvous(filter)?;
    let body = match format {
        Format::Json => json_body(&records)?,
        Format::Csv => {
            let mut out = Vec::new();
            encode(write_rendezvous_csv(&records, &mut out))?;
            out
        }
        Format::Geojson => json_body(&rendezvous_geojson(reader, &records)?)?,
    };
    Ok((body, total))
}

const LEG_FIELDS: &[&str] = &[
    "kind",
    "from",
    "from_lat",
    "from_lon",
    "until",
    "until_lat",
    "until_lon",
    "hours",
];

const RECORD_FIELDS: &[&str] = &[
    "dark",
    "partner",
    "status",
    "earliest",
    "latest",
    "slack_hours",
    "together_hours",
    "lat",
    "lon",
    "area",
    "area_radius_nm",
    "nearest_port",
    "port_distance_nm",
    "away_rule",
    "min_hours",
    "max_speed_kn",
];

/// The schemas of the records this endpoint answers with, by component name.
pub fn schemas() -> Vec<(&'static str, Value)> {
    let mut leg = vessel_properties();
    let extra = json!({
        "kind": { "type": "string", "enum": ["gap", "open_gap", "loitering"], "description": "a closed silence, one still open at the end of the input, or idling heard with AIS on" },
        "from": time(),
        "from_lat": { "type": "number", "description": "fix A, or the first idle fix" },
        "from_lon": { "type": "number" },
        "until": { "type": "string", "format": "date-time", "description": "fix B, the last idle fix, or for an open silence the stream clock" },
        "until_lat": { "type": ["number", "null"] },
        "until_lon": { "type": ["number", "null"] },
        "hours": { "type": "number" },
        "idle_area": {
            "type": "object",
            "description": "loitering only: the mean position and the radius its ends lie within",
            "properties": { "lat": { "type": "number" }, "lon": { "type": "number" }, "radius_nm": { "type": "number" } },
        },
    });
    if let Some(map) = extra.as_object() {
        leg.extend(map.clone());
    }
    let mut leg_required = VESSEL_REQUIRED.to_vec();
    leg_required.extend(LEG_FIELDS);
    let record = object(
        RECORD_FIELDS,
        json!({
            "dark": { "$ref": "#/components/schemas/RendezvousLeg", "description": "the watched vessel's silence (of two watched vessels dark, the lower MMSI's)" },
            "partner": { "$ref": "#/components/schemas/RendezvousLeg" },
            "status": { "type": "string", "enum": ["candidate", "open", "withdrawn"], "description": "open while either is still dark; withdrawn when later data left no time or room" },
            "earliest": { "type": "string", "format": "date-time", "description": "the earliest the two could have been together" },
            "latest": { "type": "string", "format": "date-time", "description": "the latest they could have parted" },
            "slack_hours": { "type": "number", "description": "hours beyond min_hours they could have spent together at the meeting place" },
            "together_hours": { "type": "number" },
            "lat": { "type": "number", "description": "the meeting place allowing the most time together, away from ports" },
            "lon": { "type": "number" },
            "area": { "type": "array", "items": { "type": "array", "items": { "type": "number" } }, "description": "closed ring of [lon, lat]: everywhere they could have met for min_hours" },
            "area_radius_nm": { "type": "number" },
            "nearest_port": { "type": ["string", "null"] },
            "port_distance_nm": { "type": ["number", "null"] },
            "away_rule": { "type": "string", "enum": ["from_ports"] },
            "min_hours": { "type": "number" },
            "max_speed_kn": { "type": "number" },
        }),
    );
    vec![
        ("Rendezvous", record),
        ("RendezvousLeg", object(&leg_required, Value::Object(leg))),
    ]
}
