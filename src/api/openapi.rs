//! The OpenAPI 3.1 description of `/api/v1`, built from the same endpoint and parameter tables
//! the router and the parameter parser use; the records' schemas are written here and checked
//! against real answers by the integration tests.

use serde_json::{json, Map, Value};

use super::endpoints::{Endpoint, ENDPOINTS};
use super::params::{self, Format, ParamKind};

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

/// An enum that also admits null, as the schema of an optional field.
fn nullable_enum(values: &[&str]) -> Value {
    let mut values: Vec<Value> = values.iter().map(|v| json!(v)).collect();
    values.push(Value::Null);
    Value::Array(values)
}

fn described(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

fn time() -> Value {
    json!({ "type": "string", "format": "date-time", "description": "UTC, ISO-8601" })
}

fn nullable_time() -> Value {
    json!({ "type": ["string", "null"], "format": "date-time", "description": "UTC, ISO-8601" })
}

fn gap_schema() -> Value {
    let properties = json!({
        "mmsi": { "type": "integer" },
        "imo": nullable("integer"),
        "name": nullable("string"),
        "callsign": nullable("string"),
        "ship_type": nullable("integer"),
        "status": { "type": "string", "enum": params::status_values() },
        "watched": { "type": "boolean" },
        "port": described(nullable("string"), "The port a trip is attributed to, or the best candidate of any other judgement."),
        "dark_from": described(time(), "Time of fix A, the last before the silence (UTC)."),
        "dark_until": described(nullable_time(), "Time of fix B, the first after it; null while open."),
        "from_lat": described(json!({ "type": "number" }), "Fix A, degrees."),
        "from_lon": described(json!({ "type": "number" }), "Fix A, degrees."),
        "until_lat": described(nullable("number"), "Fix B, degrees."),
        "until_lon": described(nullable("number"), "Fix B, degrees."),
        "duration_hours": described(json!({ "type": "number" }), "Until fix B, or until the stream clock while open."),
        "distance_nm": described(nullable("number"), "Great-circle distance A to B, nautical miles."),
        "implied_speed_kn": described(nullable("number"), "Knots."),
        "detour_nm": described(nullable("number"), "A to the port to B, nautical miles."),
        "slack_hours": described(nullable("number"), "Hours the vessel could have stayed in port at the maximum speed."),
        "coverage": described(nullable("number"), "Share (0-1) of the dark hours in which enough other vessels were heard near the port."),
        "dark_now": described(json!({ "type": "boolean" }), "Open gaps only: near a port and covered so far."),
        "draught_before": described(nullable("number"), "Metres."),
        "draught_after": described(nullable("number"), "Metres."),
        "draught_change": described(nullable("number"), "Metres."),
        "identity_changes": { "type": "array", "items": { "$ref": "#/components/schemas/IdentityChange" } },
        "est_tonnes": described(nullable("number"), "Cargo estimated from the draught change, tonnes."),
        "est_barrels": described(nullable("number"), "The same in barrels."),
        "confidence": { "type": ["string", "null"], "enum": nullable_enum(&params::confidence_values()) },
        "candidates": { "type": "array", "items": { "$ref": "#/components/schemas/PortCandidate" } },
        "segment": described(json!({ "type": "integer" }), "The transmitter (segment) of the MMSI whose silence it is, numbered from 1: fixes A and B are both its."),
    });
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({ "type": "object", "required": required, "properties": properties })
}

fn segment_schema() -> Value {
    described(
        object(
            &[
                "segment",
                "first_heard",
                "last_heard",
                "fixes",
                "last_fix_time",
                "last_lat",
                "last_lon",
                "live",
                "identity",
            ],
            json!({
                "segment": { "type": "integer" },
                "first_heard": time(),
                "last_heard": time(),
                "fixes": { "type": "integer" },
                "last_fix_time": nullable_time(),
                "last_lat": nullable("number"),
                "last_lon": nullable("number"),
                "live": described(json!({ "type": "boolean" }), "Still tracked; false once the bound on segments per MMSI gave it up."),
                "identity": { "$ref": "#/components/schemas/Identity" },
            }),
        ),
        "One transmitter of an MMSI: fixes no other segment of it could have sent.",
    )
}

/// A trip's last open call is optional: absent when the vessel was never seen calling openly
/// before it went dark.
fn with_last_open_call(mut gap: Value) -> Value {
    gap["properties"]["last_open_call"] = described(
        json!({ "$ref": "#/components/schemas/OpenCall" }),
        "The vessel's last open call (see Visit.open_call) that it left before going dark; absent when there was none.",
    );
    gap
}

fn visit_schema() -> Value {
    let properties = json!({
        "mmsi": { "type": "integer" },
        "port": { "type": "string" },
        "arrived": described(time(), "The first fix inside the zone."),
        "left": described(nullable_time(), "The last fix within the exit margin; null while in port."),
        "last_heard": described(time(), "The latest fix of the visit."),
        "fixes": { "type": "integer" },
        "stopped_hours": { "type": "number" },
        "gap": described(json!({ "type": "boolean" }), "A silence at least as long as the port's gap threshold happened inside the zone."),
        "longest_silence_hours": { "type": "number" },
        "departure_unseen": described(json!({ "type": "boolean" }), "Fell silent inside and was next heard beyond the margin."),
        "from_port": described(nullable("string"), "The previous visit's port: the voyage that ended here."),
        "from_left": described(nullable_time(), "When the vessel left that port."),
        "name": nullable("string"),
        "watched": { "type": "boolean" },
        "duration_hours": { "type": "number" },
        "open_call": described(json!({ "type": "boolean" }), "No trip of the vessel went dark during the visit: counted as an open call in the tally (a silence that was not judged a trip, e.g. a feed outage, leaves it open)."),
    });
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({ "type": "object", "required": required, "properties": properties })
}

fn pattern_schema() -> Value {
    let hours = |what: &str| described(json!({ "type": "number" }), what);
    let properties = json!({
        "mmsi": { "type": "integer" },
        "name": nullable("string"),
        "port": { "type": "string" },
        "origin_lat": described(json!({ "type": "number" }), "Centre of the trips' dark positions."),
        "origin_lon": { "type": "number" },
        "origin_radius_km": { "type": "number" },
        "trips": { "type": "integer" },
        "dark_from": { "type": "array", "items": time() },
        "cycle_median_hours": hours("Median hours from one trip going dark to the next."),
        "cycle_mad_hours": hours("Median absolute deviation of the cycle times."),
        "cycle_min_hours": hours("Shortest cycle."),
        "cycle_max_hours": hours("Longest cycle."),
        "next_expected_from": described(time(), "Last trip + median cycle - the larger of the deviation and a tenth of the median."),
        "next_expected_until": described(time(), "Last trip + median cycle + the same."),
    });
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({ "type": "object", "required": required, "properties": properties })
}

fn identity_properties() -> Map<String, Value> {
    let properties = json!({
        "imo": nullable("integer"),
        "name": nullable("string"),
        "callsign": nullable("string"),
        "ship_type": nullable("integer"),
        "length": described(nullable("integer"), "Metres."),
        "beam": described(nullable("integer"), "Metres."),
        "draught": described(nullable("number"), "Metres."),
        "destination": nullable("string"),
        "class": { "type": ["string", "null"], "enum": ["A", "B", null] },
    });
    properties.as_object().cloned().unwrap_or_default()
}

/// One change of a gap's judgement, as `/api/v1/history` lists them.
fn judgement_change_schema() -> Value {
    object(
        &[
            "mmsi",
            "dark_from",
            "at",
            "before",
            "status",
            "port",
            "coverage",
            "dark_now",
            "reason",
            "detail",
        ],
        json!({
            "mmsi": { "type": "integer" },
            "dark_from": described(time(), "With mmsi, the gap's key: time of fix A (UTC)."),
            "at": described(time(), "Stream time of the change."),
            "before": described(nullable("string"), "The judgement before; null for the gap's first."),
            "status": described(json!({ "type": "string" }), "The judgement it became."),
            "port": nullable("string"),
            "coverage": nullable("number"),
            "dark_now": { "type": "boolean" },
            "reason": described(json!({ "type": "string", "enum": ["silent", "still_silent", "closed", "late_fix", "next_fix_late", "coverage", "forgotten", "evicted"] }), "Why it changed."),
            "detail": described(json!({ "type": "string" }), "The change in one sentence."),
        }),
    )
}

// Long by design: one table naming every record the API answers with, in one place.
fn schemas() -> Value {
    let identity = identity_properties();
    let identity_names: Vec<&String> = identity.keys().collect();
    let mut identity_at = identity.clone();
    identity_at.insert("time".into(), time());
    let mut identity_at_required: Vec<&str> = identity_names.iter().map(|s| s.as_str()).collect();
    identity_at_required.push("time");
    json!({
        "Gap": with_last_open_call(gap_schema()),
        "OpenCall": object(
            &["port", "arrived", "left_at"],
            json!({ "port": { "type": "string" }, "arrived": time(), "left_at": time() }),
        ),
        "Visit": visit_schema(),
        "Pattern": pattern_schema(),
        "PortCandidate": object(
            &["port", "detour_nm", "slack_hours", "reachable", "coverage", "feasible"],
            json!({
                "port": { "type": "string" },
                "detour_nm": { "type": "number" },
                "slack_hours": { "type": "number" },
                "reachable": { "type": "boolean" },
                "coverage": { "type": "number" },
                "feasible": { "type": "boolean" },
            }),
        ),
        "IdentityChange": object(
            &["field", "before", "after"],
            json!({ "field": { "type": "string" }, "before": { "type": "string" }, "after": { "type": "string" } }),
        ),
        "TallyRow": described(object(
            &["trips", "open_calls", "high_confidence", "est_barrels"],
            json!({
                "port": described(json!({ "type": "string" }), "With by=port."),
                "mmsi": described(json!({ "type": "integer" }), "With by=vessel."),
                "name": described(json!({ "type": "string" }), "With by=vessel, when known."),
                "month": described(json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" }), "With by=month (UTC)."),
                "trips": { "type": "integer" },
                "open_calls": described(json!({ "type": "integer" }), "Port visits of watched vessels during which no trip went dark (see Visit.open_call), by month of arrival."),
                "high_confidence": { "type": "integer" },
                "est_barrels": { "type": "number" },
            }),
        ), "Only the group columns asked for with by appear."),
        "Port": object(
            &["name", "lat", "lon", "approach_nm", "coverage_nm", "gap_hours", "geometry", "hours_heard",
              "hours_covered", "mean_vessels_per_hour", "trips", "dark_now"],
            json!({
                "name": { "type": "string" },
                "lat": { "type": "number" },
                "lon": { "type": "number" },
                "approach_nm": { "type": "number" },
                "coverage_nm": { "type": "number" },
                "gap_hours": nullable("number"),
                "geometry": described(json!({ "type": "object" }), "GeoJSON geometry of the zone: a Point with radius_nm, or a MultiPolygon."),
                "hours_heard": { "type": "integer" },
                "hours_covered": { "type": "integer" },
                "mean_vessels_per_hour": { "type": "number" },
                "trips": { "type": "integer" },
                "dark_now": { "type": "integer" },
            }),
        ),
        "JudgementChange": judgement_change_schema(),
        "PortHour": object(&["hour", "vessels"], json!({ "hour": time(), "vessels": { "type": "integer" } })),
        "Identity": { "type": "object", "required": identity_names, "properties": identity },
        "IdentityAt": { "type": "object", "required": identity_at_required, "properties": identity_at },
        "TrackPoint": object(
            &["time", "lat", "lon", "sog", "cog", "heading", "nav_status", "late", "segment"],
            json!({
                "time": time(),
                "lat": { "type": "number" },
                "lon": { "type": "number" },
                "sog": described(nullable("number"), "Knots."),
                "cog": described(nullable("number"), "Degrees."),
                "heading": nullable("integer"),
                "nav_status": nullable("integer"),
                "late": described(json!({ "type": "boolean" }), "Arrived after a newer fix of the same vessel."),
                "segment": described(json!({ "type": "integer" }), "The transmitter (segment) of the MMSI it came from."),
            }),
        ),
        "Segment": segment_schema(),
        "Vessel": object(
            &["mmsi", "first_heard", "last_heard", "last_fix_time", "last_lat", "last_lon", "watched", "fixes",
              "late_fixes", "identity", "identity_history", "segments", "gaps", "track", "visits"],
            json!({
                "mmsi": { "type": "integer" },
                "first_heard": time(),
                "last_heard": time(),
                "last_fix_time": nullable_time(),
                "last_lat": nullable("number"),
                "last_lon": nullable("number"),
                "watched": { "type": "boolean" },
                "fixes": { "type": "integer" },
                "late_fixes": { "type": "integer" },
                "identity": { "$ref": "#/components/schemas/Identity" },
                "identity_history": { "type": "array", "items": { "$ref": "#/components/schemas/IdentityAt" } },
                "segments": described(json!({ "type": "array", "items": { "$ref": "#/components/schemas/Segment" } }), "The transmitters the MMSI's fixes split into; more than one is a shared or spoofed identity."),
                "gaps": { "type": "array", "items": { "$ref": "#/components/schemas/Gap" } },
                "track": { "type": "array", "items": { "$ref": "#/components/schemas/TrackPoint" } },
                "visits": { "type": "array", "items": { "$ref": "#/components/schemas/Visit" } },
            }),
        ),
        "Summary": object(
            &["stream_clock", "complete_input", "incomplete_input", "counters"],
            json!({
                "stream_clock": described(nullable_time(), "Time of the latest data written."),
                "complete_input": described(json!({ "type": "boolean" }), "False when a log broke off or was refused: answers may miss data."),
                "incomplete_input": described(json!({ "type": "array", "items": { "type": "string" } }), "Why the input is incomplete, one entry per log (file, where, what was kept); empty when complete."),
                "counters": { "type": "object", "additionalProperties": { "type": "integer" } },
            }),
        ),
        "OpenApi": { "type": "object" },
        "FeatureCollection": described(
            object(&["type", "features"], json!({ "type": { "const": "FeatureCollection" }, "features": { "type": "array" } })),
            "GeoJSON; each feature carries the record's fields plus role (dark_from, dark_until, dark_leg, track, port).",
        ),
        "Error": object(
            &["error"],
            json!({
                "error": { "type": "string" },
                "parameter": described(json!({ "type": "string" }), "The query parameter refused, for a 400."),
            }),
        ),
    })
}

fn parameter_schema(kind: ParamKind, endpoint: &Endpoint) -> Value {
    match kind {
        ParamKind::Text => json!({ "type": "string" }),
        ParamKind::Mmsi => json!({ "type": "integer", "minimum": 1, "maximum": 999_999_999 }),
        ParamKind::Imo => json!({ "type": "integer", "minimum": 1 }),
        ParamKind::Time => json!({ "type": "string" }),
        ParamKind::Confidence => json!({ "type": "string", "enum": params::confidence_values() }),
        ParamKind::Status => json!({ "type": "string", "enum": params::status_values() }),
        ParamKind::Count => json!({ "type": "integer", "minimum": 0 }),
        ParamKind::Format => {
            let formats: Vec<&str> = endpoint.formats.iter().map(|f| f.as_str()).collect();
            json!({ "type": "string", "enum": formats, "default": formats.first() })
        }
        ParamKind::TallyBy => json!({
            "type": "string",
            "pattern": format!("^({0})(,({0}))*$", params::tally_by_values().join("|")),
            "default": "port",
        }),
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
    })
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut parameters = Vec::new();
    for segment in endpoint.path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let schema = if name == "mmsi" || name == "with" {
                json!({ "type": "integer", "minimum": 1, "maximum": 999_999_999 })
            } else if name == "time" {
                json!({ "type": "string", "description": "Fix A's time (an encounter's start, for an encounter report): RFC 3339 (2024-03-06T13:05:12Z) or Unix seconds." })
            } else {
                json!({ "type": "string" })
            };
            parameters
                .push(json!({ "name": name, "in": "path", "required": true, "schema": schema }));
        }
    }
    for name in endpoint.params {
        let Some(spec) = params::spec(name) else {
            continue;
        };
        parameters.push(json!({
            "name": spec.name,
            "in": "query",
            "required": false,
            "description": spec.description,
            "schema": parameter_schema(spec.kind, endpoint),
            "example": spec.example,
        }));
    }
    let record = json!({ "$ref": format!("#/components/schemas/{}", endpoint.record) });
    let mut content = Map::new();
    for format in endpoint.formats {
        let schema = match format {
            Format::Json if endpoint.list => json!({ "type": "array", "items": record }),
            Format::Json => record.clone(),
            Format::Csv => {
                json!({ "type": "string", "description": "A header line, then one row per record." })
            }
            Format::Geojson => json!({ "$ref": "#/components/schemas/FeatureCollection" }),
        };
        let media_type = format.media_type().split(';').next().unwrap_or("");
        content.insert(media_type.to_string(), json!({ "schema": schema }));
    }
    if endpoint.formats.is_empty() {
        // A page, not a record: the trip report.
        content.insert(
            "text/html".to_string(),
            json!({ "schema": { "type": "string", "description": "A self-contained HTML page (no script, no network) that prints on A4." } }),
        );
    }
    let mut ok = json!({ "description": endpoint.summary, "content": content });
    if endpoint.list && endpoint.params.contains(&"limit") {
        ok["headers"] = json!({
            "X-Total-Count": {
                "description": "Records matching, before limit and offset.",
                "schema": { "type": "integer" },
            }
        });
    }
    let mut responses = json!({
        "200": ok,
        "400": error_response("A parameter is unknown, repeated or malformed; the answer names it."),
        "401": error_response("An access token is configured and the request did not present it."),
        "500": error_response("The database could not answer."),
    });
    if endpoint.path.contains('{') {
        responses["404"] = error_response("No such vessel or port.");
    }
    json!({
        "summary": endpoint.summary,
        "description": endpoint.description,
        "operationId": endpoint.path.trim_start_matches("/api/v1/").replace(['/', '{', '}', '.', '-'], "_"),
        "parameters": parameters,
        "responses": responses,
    })
}

fn with_at_sea(mut schemas: Value) -> Value {
    if let Some(map) = schemas.as_object_mut() {
        map.extend(
            super::at_sea::schemas()
                .into_iter()
                .chain(super::rendezvous::schemas())
                .map(|(name, schema)| (name.to_owned(), schema)),
        );
    }
    schemas
}

/// The records of `/api/v1/tally/report`, what `aisgap report tally` draws.
fn with_tally_report(mut schemas: Value) -> Value {
    let count = || json!({ "type": "integer" });
    let number = || json!({ "type": "number" });
    let mut trip = gap_schema();
    trip["properties"]["cumulative_est_barrels"] = described(
        number(),
        "Estimated barrels of this trip and every earlier one in the period.",
    );
    let added = json!({
        "TallyReport": object(
            &["port", "since", "until", "period_from", "period_until", "stream_clock", "annual_cap_bbl",
              "cap_label", "cap_over_period_bbl", "incomplete_input", "rows", "months", "confidence", "totals", "trips"],
            json!({
                "port": nullable("string"),
                "since": nullable_time(),
                "until": nullable_time(),
                "period_from": described(nullable_time(), "since, else the start of the first month with a trip or an open call."),
                "period_until": described(nullable_time(), "until, else the stream clock."),
                "stream_clock": nullable_time(),
                "annual_cap_bbl": described(number(), "[report] annual_cap_bbl; by default the UN's 500,000 bbl a year of refined products to the DPRK."),
                "cap_label": { "type": "string" },
                "cap_over_period_bbl": described(number(), "The annual cap pro rata over the period (365 days a year)."),
                "incomplete_input": { "type": "array", "items": { "type": "string" } },
                "rows": described(json!({ "type": "array", "items": { "$ref": "#/components/schemas/TallyRow" } }), "The tally by port and month, as /api/v1/tally?by=port,month."),
                "months": { "type": "array", "items": { "$ref": "#/components/schemas/TallyMonth" } },
                "confidence": { "type": "array", "items": { "$ref": "#/components/schemas/TallyConfidence" } },
                "totals": object(&["trips", "open_calls", "high_confidence", "with_estimate", "est_barrels"], json!({
                    "trips": count(), "open_calls": count(), "high_confidence": count(), "with_estimate": count(), "est_barrels": number(),
                })),
                "trips": { "type": "array", "items": { "$ref": "#/components/schemas/TallyTrip" } },
            }),
        ),
        "TallyMonth": described(object(
            &["month", "trips", "open_calls", "high_confidence", "est_barrels", "cumulative_est_barrels", "cap_to_date_bbl"],
            json!({
                "month": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" },
                "trips": count(), "open_calls": count(), "high_confidence": count(), "est_barrels": number(),
                "cumulative_est_barrels": described(number(), "From the start of the period to the end of the month."),
                "cap_to_date_bbl": described(number(), "The annual cap pro rata from the start of the period to the end of the month."),
            }),
        ), "Every month of the period, every port together; empty months included."),
        "TallyConfidence": object(
            &["confidence", "trips", "with_estimate", "est_barrels"],
            json!({
                "confidence": { "type": "string", "enum": params::confidence_values() },
                "trips": count(),
                "with_estimate": described(count(), "Trips with a cargo estimate."),
                "est_barrels": number(),
            }),
        ),
        "TallyTrip": described(trip, "A trip (as Gap) with the running total of estimated barrels."),
    });
    if let (Some(map), Value::Object(added)) = (schemas.as_object_mut(), added) {
        map.extend(added);
    }
    schemas
}

/// The whole description.
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in ENDPOINTS {
        paths.insert(
            endpoint.path.to_string(),
            json!({ "get": operation(endpoint) }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "aisgap analyst API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Read-only answers about vessels that went dark near designated ports. Times are UTC ISO-8601, positions in degrees, distances in nautical miles, speeds in knots, draught in metres. Lists are paged with limit and offset.",
        },
        "paths": paths,
        "components": {
            "schemas": with_tally_report(with_at_sea(schemas())),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        },
        "security": [{}, { "bearer": [] }],
    })
}
