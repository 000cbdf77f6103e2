//! What `/api/v1/encounters` and `/api/v1/loitering` answer, and the schemas of their records
//! in the OpenAPI description.

use serde_json::{json, Value};

use super::params::Format;
use super::ApiError;
use crate::query::at_sea::{
    encounters_geojson, loitering_geojson, write_encounter_csv, write_loitering_csv,
};
use crate::store::at_sea::AtSeaFilter;
use crate::store::Reader;

pub(super) fn encode(result: std::io::Result<()>) -> Result<(), ApiError> {
    result.map_err(|e| ApiError::Encode(e.to_string()))
}

pub(super) fn json_body<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Encode(e.to_string()))
}

/// The encounters a request asks for, in its format, with the count paging aside.
pub fn encounters_answer(
    reader: &Reader,
    filter: &AtSeaFilter,
    format: Format,
) -> Result<(Vec<u8>, u64), ApiError> {
    let total = reader.count_encounters(filter)?;
    let records = reader.encounters(filter)?;
    let body = match format {
        Format::Json => json_body(&records)?,
        Format::Csv => {
            let mut out = Vec::new();
            encode(write_encounter_csv(&records, &mut out))?;
            out
        }
        Format::Geojson => json_body(&encounters_geojson(reader, &records)?)?,
    };
    Ok((body, total))
}

/// The loitering episodes a request asks for, in its format, with the count paging aside.
pub fn loitering_answer(
    reader: &Reader,
    filter: &AtSeaFilter,
    format: Format,
) -> Result<(Vec<u8>, u64), ApiError> {
    let total = reader.count_loitering(filter)?;
    let records = reader.loitering(filter)?;
    let body = match format {
        Format::Json => json_body(&records)?,
        Format::Csv => {
            let mut out = Vec::new();
            encode(write_loitering_csv(&records, &mut out))?;
            out
        }
        Format::Geojson => json_body(&loitering_geojson(reader, &records)?)?,
    };
    Ok((body, total))
}

pub(super) fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

pub(super) fn vessel_properties() -> serde_json::Map<String, Value> {
    let properties = json!({
        "mmsi": { "type": "integer" },
        "imo": { "type": ["integer", "null"] },
        "name": { "type": ["string", "null"] },
        "mid": { "type": ["integer", "null"], "description": "Maritime Identification Digits of the MMSI" },
        "flag": { "type": ["string", "null"], "description": "ISO 3166 alpha-2 of the MID, where known" },
        "ship_type": { "type": ["integer", "null"] },
        "length": { "type": ["integer", "null"], "description": "metres" },
        "beam": { "type": ["integer", "null"], "description": "metres" },
        "watched": { "type": "boolean" },
    });
    properties.as_object().cloned().unwrap_or_default()
}

pub(super) const VESSEL_REQUIRED: &[&str] = &[
    "mmsi",
    "imo",
    "name",
    "mid",
    "flag",
    "ship_type",
    "length",
    "beam",
    "watched",
];

pub(super) fn time() -> Value {
    json!({ "type": "string", "format": "date-time", "description": "UTC, ISO-8601" })
}

/// The schemas of the records these endpoints answer with, by component name.
pub fn schemas() -> Vec<(&'static str, Value)> {
    let mut side = vessel_properties();
    for key in ["draught_before", "draught_after", "draught_change"] {
        side.insert(
            key.into(),
            json!({ "type": ["number", "null"], "description": "metres" }),
        );
    }
    let mut side_required = VESSEL_REQUIRED.to_vec();
    side_required.extend(["draught_before", "draught_after", "draught_change"]);
    let status = json!({ "type": "string", "enum": ["ongoing", "closed", "withdrawn"] });
    let encounter = object(
        &[
            "a",
            "b",
            "status",
            "start",
            "end",
            "duration_hours",
            "min_distance_m",
            "median_distance_m",
            "median_speed_kn",
            "lat",
            "lon",
            "start_lat",
            "start_lon",
            "end_lat",
            "end_lon",
            "samples",
            "nearest_port",
            "port_distance_nm",
            "away_rule",
            "receiving",
            "est_tonnes",
            "est_barrels",
        ],
        json!({
            "a": { "$ref": "#/components/schemas/EncounterSide" },
            "b": { "$ref": "#/components/schemas/EncounterSide" },
            "status": status,
            "start": time(),
            "end": time(),
            "duration_hours": { "type": "number" },
            "min_distance_m": { "type": "number" },
            "median_distance_m": { "type": "number" },
            "median_speed_kn": { "type": "number" },
            "lat": { "type": "number" },
            "lon": { "type": "number" },
            "start_lat": { "type": "number" },
            "start_lon": { "type": "number" },
            "end_lat": { "type": "number" },
            "end_lon": { "type": "number" },
            "samples": { "type": "integer" },
            "nearest_port": { "type": ["string", "null"] },
            "port_distance_nm": { "type": ["number", "null"] },
            "away_rule": { "type": "string", "enum": ["from_ports"] },
            "receiving": { "type": ["integer", "null"], "description": "MMSI of the vessel whose draught rose" },
            "est_tonnes": { "type": ["number", "null"] },
            "est_barrels": { "type": ["number", "null"] },
        }),
    );
    let loitering = object(
        &[
            "vessel",
            "status",
            "start",
            "end",
            "duration_hours",
            "start_lat",
            "start_lon",
            "end_lat",
            "end_lon",
            "lat",
            "lon",
            "fixes",
            "mean_speed_kn",
            "max_speed_kn",
            "distance_nm",
            "nearest_port",
            "port_distance_nm",
            "away_rule",
            "draught",
        ],
        json!({
            "vessel": { "$ref": "#/components/schemas/VesselAtSea" },
            "status": status,
            "start": time(),
            "end": time(),
            "duration_hours": { "type": "number" },
            "start_lat": { "type": "number" },
            "start_lon": { "type": "number" },
            "end_lat": { "type": "number" },
            "end_lon": { "type": "number" },
            "lat": { "type": "number" },
            "lon": { "type": "number" },
            "fixes": { "type": "integer" },
            "mean_speed_kn": { "type": "number" },
            "max_speed_kn": { "type": "number" },
            "distance_nm": { "type": "number" },
            "nearest_port": { "type": ["string", "null"] },
            "port_distance_nm": { "type": ["number", "null"] },
            "away_rule": { "type": "string", "enum": ["from_ports"] },
            "draught": { "type": ["number", "null"] },
        }),
    );
    vec![
        ("Encounter", encounter),
        ("EncounterSide", object(&side_required, Value::Object(side))),
        ("Loitering", loitering),
        (
            "VesselAtSea",
            object(VESSEL_REQUIRED, Value::Object(vessel_properties())),
        ),
    ]
}
