//! Query-string parameters of the HTTP API: one table that names each parameter, says what it
//! means and gives an example (the OpenAPI description is built from it), which endpoint takes
//! which, and the parsing that turns a query string into a store filter or refuses it, naming
//! the parameter.

use crate::detect::{Confidence, GapStatus};
use crate::model::Mmsi;
use crate::query::AnswerFormat;
use crate::store::read::{GapFilter, TallyKey};
use crate::time::UnixMillis;

/// Records a list answers when `limit` is not given.
pub const DEFAULT_LIMIT: u64 = 1000;
/// The largest `limit` accepted: bigger answers are paged with `offset`.
pub const MAX_LIMIT: u64 = 10_000;
/// The largest `offset` the database can skip (SQLite counts in signed 64 bits).
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// What a parameter's value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    Text,
    Mmsi,
    Imo,
    Time,
    Confidence,
    Status,
    Count,
    Format,
    TallyBy,
}

/// One query-string parameter as documented.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub description: &'static str,
    /// A value that is valid against the sample database (the OpenAPI test sends it).
    pub example: &'static str,
}

/// The judgements a `status` may name, spelled as [`GapStatus`] spells them.
pub fn status_values() -> Vec<&'static str> {
    GapStatus::ALL.iter().map(|s| s.as_str()).collect()
}

/// The confidences a `confidence` may name, spelled as [`Confidence`] spells them.
pub fn confidence_values() -> Vec<&'static str> {
    Confidence::ALL.iter().map(|c| c.as_str()).collect()
}

/// The groups a `by` may name, spelled as [`TallyKey`] spells them.
pub fn tally_by_values() -> Vec<&'static str> {
    TallyKey::ALL.iter().map(|k| k.as_str()).collect()
}

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "port",
        kind: ParamKind::Text,
        description: "Only gaps attributed to this designated port (its name, as in /api/v1/ports).",
        example: "Vostochny",
    },
    ParamSpec {
        name: "mmsi",
        kind: ParamKind::Mmsi,
        description: "Only this vessel, by MMSI.",
        example: "445126000",
    },
    ParamSpec {
        name: "imo",
        kind: ParamKind::Imo,
        description: "Only this vessel, by IMO number (as the vessel reported it).",
        example: "8372538",
    },
    ParamSpec {
        name: "since",
        kind: ParamKind::Time,
        description: "Only gaps starting (fix A) at or after this time; for a vessel or a port, the start of the window. ISO-8601 (2024-03-07, 2024-03-07T12:00:00Z) or Unix seconds.",
        example: "2024-03-01",
    },
    ParamSpec {
        name: "until",
        kind: ParamKind::Time,
        description: "Only gaps starting before this time; for a vessel or a port, the end of the window. Same forms as since.",
        example: "2024-04-01T00:00:00Z",
    },
    ParamSpec {
        name: "confidence",
        kind: ParamKind::Confidence,
        description: "Only trips of this confidence: medium or high.",
        example: "high",
    },
    ParamSpec {
        name: "status",
        kind: ParamKind::Status,
        description: "Only gaps with this judgement: open, trip, coverage_unknown, unreachable, not_near, position_jump, withdrawn or different_vessel (the MMSI changed hull across the gap).",
        example: "trip",
    },
    ParamSpec {
        name: "by",
        kind: ParamKind::TallyBy,
        description: "Tally groups, comma-separated: port, vessel and/or month (UTC month of fix A). Default port.",
        example: "port,month",
    },
    ParamSpec {
        name: "min_vessels",
        kind: ParamKind::Count,
        description: "An hour counts as covered when at least this many distinct vessels were heard near the port. Default 2.",
        example: "2",
    },
    ParamSpec {
        name: "limit",
        kind: ParamKind::Count,
        description: "At most this many records (default 1000, at most 10000). The header X-Total-Count gives the number matching.",
        example: "50",
    },
    ParamSpec {
        name: "offset",
        kind: ParamKind::Count,
        description: "Skip this many records first (default 0).",
        example: "0",
    },
    ParamSpec {
        name: "format",
        kind: ParamKind::Format,
        description: "json (default), csv or geojson where the endpoint lists it.",
        example: "json",
    },
];

pub fn spec(name: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| p.name == name)
}

/// An answer's representation over HTTP: the formats of `aisgap query` that another program
/// reads, each with its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Geojson,
}

impl From<Format> for AnswerFormat {
    fn from(format: Format) -> AnswerFormat {
        match format {
            Format::Json => AnswerFormat::Json,
            Format::Csv => AnswerFormat::Csv,
            Format::Geojson => AnswerFormat::Geojson,
        }
    }
}

impl Format {
    pub fn as_str(self) -> &'static str {
        AnswerFormat::from(self).as_str()
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Geojson => "application/geo+json",
        }
    }
}

/// The parameters of one endpoint, checked.
#[derive(Clone, Debug)]
pub struct ApiQuery {
    pub filter: GapFilter,
    pub format: Format,
    pub by: Vec<TallyKey>,
    pub min_vessels: u32,
}

/// A parameter the API refuses, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("parameter {parameter}: {message}")]
pub struct ParamError {
    pub parameter: String,
    pub message: String,
}

fn refuse(parameter: &str, message: impl Into<String>) -> ParamError {
    ParamError {
        parameter: parameter.to_string(),
        message: message.into(),
    }
}

/// Parses a query string against the parameters `allowed`, with `formats` the representations
/// the endpoint offers (the first is the default). Unknown, repeated and malformed parameters
/// are refused: a typo must not silently widen an answer.
pub fn parse(
    raw: Option<&str>,
    allowed: &[&str],
    formats: &[Format],
) -> Result<ApiQuery, ParamError> {
    let mut query = ApiQuery {
        filter: GapFilter {
            limit: allowed.contains(&"limit").then_some(DEFAULT_LIMIT),
            ..GapFilter::default()
        },
        format: formats.first().copied().unwrap_or(Format::Json),
        by: vec![TallyKey::Port],
        min_vessels: 2,
    };
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let name = name.into_owned();
        if !allowed.contains(&name.as_str()) {
            let known = if allowed.is_empty() {
                "this endpoint takes none".to_string()
            } else {
                format!("known here: {}", allowed.join(", "))
            };
            return Err(refuse(&name, format!("unknown parameter ({known})")));
        }
        if seen.contains(&name) {
            return Err(refuse(&name, "given more than once"));
        }
        seen.push(name.clone());
        apply(&mut query, &name, value.trim(), formats)?;
    }
    if let (Some(since), Some(until)) = (query.filter.since, query.filter.until) {
        if until <= since {
            return Err(refuse(
                "until",
                format!("{until} is not after since ({since})"),
            ));
        }
    }
    Ok(query)
}

fn apply(
    query: &mut ApiQuery,
    name: &str,
    value: &str,
    formats: &[Format],
) -> Result<(), ParamError> {
    let Some(spec) = spec(name) else {
        return Err(refuse(name, "unknown parameter"));
    };
    if value.is_empty() {
        return Err(refuse(name, "is empty"));
    }
    let filter = &mut query.filter;
    match spec.kind {
        ParamKind::Text => filter.port = Some(value.to_string()),
        ParamKind::Mmsi => filter.mmsi = Some(parse_mmsi(name, value)?),
        ParamKind::Imo => {
            filter.imo = Some(
                value
                    .parse::<u32>()
                    .ok()
                    .filter(|imo| *imo > 0)
                    .ok_or_else(|| refuse(name, format!("{value:?} is not an IMO number")))?,
            );
        }
        ParamKind::Time => {
            let time = UnixMillis::parse_user(value).ok_or_else(|| {
                refuse(
                    name,
                    format!("{value:?} is not a time: use ISO-8601 (2024-03-07, 2024-03-07T12:00:00Z) or Unix seconds 0 to {}", crate::time::MAX_USER_SECS),
                )
            })?;
            if name == "since" {
                filter.since = Some(time);
            } else {
                filter.until = Some(time);
            }
        }
        ParamKind::Confidence => {
            filter.confidence = Some(Confidence::parse(value).ok_or_else(|| {
                refuse(
                    name,
                    format!(
                        "{value:?} is not a confidence: use {}",
                        confidence_values().join(" or ")
                    ),
                )
            })?);
        }
        ParamKind::Status => {
            filter.status = Some(GapStatus::parse(value).ok_or_else(|| {
                refuse(
                    name,
                    format!(
                        "{value:?} is not a judgement: use one of {}",
                        status_values().join(", ")
                    ),
                )
            })?);
        }
        ParamKind::Count => {
            let count = parse_count(name, value)?;
            match name {
                "limit" if count == 0 || count > MAX_LIMIT => {
                    return Err(refuse(
                        name,
                        format!(
                            "{count} is out of range: give 1 to {MAX_LIMIT} and page with offset"
                        ),
                    ))
                }
                "limit" => filter.limit = Some(count),
                "offset" if count > MAX_OFFSET => {
                    return Err(refuse(
                        name,
                        format!("{count} is out of range: give 0 to {MAX_OFFSET}"),
                    ))
                }
                "offset" => filter.offset = count,
                _ => {
                    query.min_vessels = u32::try_from(count)
                        .map_err(|_| refuse(name, format!("{count} is too large")))?;
                }
            }
        }
        ParamKind::Format => {
            query.format = formats
                .iter()
                .copied()
                .find(|f| f.as_str() == value)
                .ok_or_else(|| {
                    let offered: Vec<&str> = formats.iter().map(|f| f.as_str()).collect();
                    refuse(
                        name,
                        format!("{value:?} is not offered here: use {}", offered.join(", ")),
                    )
                })?;
        }
        ParamKind::TallyBy => {
            let mut keys = Vec::new();
            for part in value.split(',').map(str::trim) {
                let key = TallyKey::parse(part).ok_or_else(|| {
                    refuse(
                        name,
                        format!(
                            "{part:?} is not a tally group: use {}, comma-separated",
                            one_or_more(&tally_by_values())
                        ),
                    )
                })?;
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            query.by = keys;
        }
    }
    Ok(())
}

/// A count that fits the database's signed 64 bits; a bigger one is out of range, not malformed.
fn parse_count(name: &str, value: &str) -> Result<u64, ParamError> {
    value.parse().map_err(|e: std::num::ParseIntError| {
        if *e.kind() == std::num::IntErrorKind::PosOverflow {
            refuse(
                name,
                format!("{value} is out of range: give 0 to {MAX_OFFSET}"),
            )
        } else {
            refuse(name, format!("{value:?} is not a whole number"))
        }
    })
}

/// "a, b and/or c"
fn one_or_more(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and/or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// An MMSI: nine digits at most.
pub fn parse_mmsi(parameter: &str, value: &str) -> Result<Mmsi, ParamError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|m| (1..=999_999_999).contains(m))
        .map(Mmsi)
        .ok_or_else(|| {
            refuse(
                parameter,
                format!("{value:?} is not an MMSI (up to nine digits)"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &[&str] = &[
        "port", "since", "until", "limit", "offset", "format", "status",
    ];
    const FORMATS: &[Format] = &[Format::Json, Format::Csv];

    #[test]
    fn every_parameter_example_parses_as_its_kind() {
        let names: Vec<&str> = PARAMS.iter().map(|p| p.name).collect();
        let formats = [Format::Json, Format::Csv, Format::Geojson];
        for p in PARAMS {
            let raw = format!("{}={}", p.name, p.example);
            parse(Some(&raw), &names, &formats)
                .unwrap_or_else(|e| panic!("example of {} refused: {e}", p.name));
        }
    }

    #[test]
    fn filters_and_paging_are_read() {
        let q = parse(
            Some("port=Vostochny&since=2024-03-01&until=2024-03-10T12%3A00%3A00Z&limit=5&offset=10&status=unreachable&format=csv"),
            LIST,
            FORMATS,
        )
        .unwrap();
        assert_eq!(q.filter.port.as_deref(), Some("Vostochny"));
        assert_eq!(q.filter.since, UnixMillis::parse_user("2024-03-01"));
        assert_eq!(
            q.filter.until,
            UnixMillis::parse_user("2024-03-10T12:00:00Z")
        );
        assert_eq!((q.filter.limit, q.filter.offset), (Some(5), 10));
        assert_eq!(q.filter.status, Some(GapStatus::Unreachable));
        assert_eq!(q.format, Format::Csv);
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let q = parse(None, LIST, FORMATS).unwrap();
        assert_eq!(q.filter.limit, Some(DEFAULT_LIMIT));
        assert_eq!(q.format, Format::Json);
        assert_eq!(q.by, vec![TallyKey::Port]);
        let q = parse(None, &["since"], FORMATS).unwrap();
        assert_eq!(
            q.filter.limit, None,
            "no limit where the endpoint does not page"
        );
    }

    #[test]
    fn refusals_name_the_parameter() {
        let cases = [
            ("prot=Vostochny", "prot", "unknown parameter"),
            ("port=A&port=B", "port", "more than once"),
            ("since=yesterday", "since", "not a time"),
            ("since=2024-03-10&until=2024-03-01", "until", "not after"),
            ("limit=0", "limit", "out of range"),
            ("limit=10001", "limit", "out of range"),
            ("limit=-3", "limit", "whole number"),
            ("offset=x", "offset", "whole number"),
            ("format=geojson", "format", "not offered"),
            ("status=dark", "status", "not a judgement"),
            ("port=", "port", "empty"),
        ];
        for (raw, parameter, words) in cases {
            let e = parse(Some(raw), LIST, FORMATS).expect_err(raw);
            assert_eq!(e.parameter, parameter, "{raw}");
            assert!(e.to_string().contains(words), "{raw}: {e}");
        }
        let e = parse(Some("mmsi=12345678901"), &["mmsi"], FORMATS).unwrap_err();
        assert_eq!(e.parameter, "mmsi");
        let e = parse(Some("by=port,year"), &["by"], FORMATS).unwrap_err();
        assert!(e.message.contains("\"year\""), "{e}");
        let e = parse(Some("confidence=low"), &["confidence"], FORMATS).unwrap_err();
        assert!(e.message.contains("medium or high"), "{e}");
    }

    /// The descriptions are prose, so they spell the vocabularies out; they must name every
    /// value the parser takes, in order.
    #[test]
    fn descriptions_name_every_value_of_their_vocabulary() {
        let lists = [
            ("status", status_values()),
            ("confidence", confidence_values()),
            ("by", tally_by_values()),
        ];
        for (name, values) in lists {
            let description = spec(name).unwrap().description;
            let mut rest = description;
            for value in values {
                let at = rest
                    .find(value)
                    .unwrap_or_else(|| panic!("{name}: {value} missing from {description:?}"));
                rest = &rest[at + value.len()..];
            }
        }
    }

    /// A filter's value is the spelling the records carry, so that what a client reads back it
    /// can ask for.
    #[test]
    fn parameter_values_are_the_spellings_of_the_records() {
        for status in GapStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for confidence in Confidence::ALL {
            assert_eq!(
                serde_json::to_value(confidence).unwrap(),
                confidence.as_str()
            );
        }
    }

    #[test]
    fn tally_groups_keep_their_order_once_each() {
        let q = parse(Some("by=month,port,month"), &["by"], FORMATS).unwrap();
        assert_eq!(q.by, vec![TallyKey::Month, TallyKey::Port]);
    }
}
