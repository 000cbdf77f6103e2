//! The handlers of `/api/v1/visits` and `/api/v1/patterns`: calls heard with AIS on and
//! regular dark trips, answered as `aisgap query visits|patterns` answers them.

use axum::extract::{RawQuery, State};
use axum::response::Response;

use super::endpoints::{PATTERNS, VISITS};
use super::params::Format;
use super::routes::{parse, reply, to_json};
use super::{ApiError, ApiState};
use crate::detect::patterns::PatternParams;
use crate::query::visits as answers;

pub(super) async fn visits(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&VISITS, raw)?;
    let format = q.format;
    let mut filter = q.filter;
    filter.watched_only = true;
    let (body, total) = state
        .pool
        .run(move |reader| {
            let total = reader.count_visits(&filter)?;
            let visits = reader.visits(&filter)?;
            let body = match format {
                Format::Json => to_json(&visits)?,
                Format::Csv => {
                    let mut out = Vec::new();
                    answers::write_visit_csv(&visits, &mut out)
                        .map_err(|e| ApiError::Encode(e.to_string()))?;
                    out
                }
                Format::Geojson => to_json(&answers::visits_geojson(reader, &visits)?)?,
            };
            Ok((body, total))
        })
        .await?;
    Ok(reply(format, body, Some(total), "visits"))
}

pub(super) async fn patterns(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&PATTERNS, raw)?;
    let format = q.format;
    let (body, total) = state
        .pool
        .run(move |reader| {
            let params = PatternParams::default();
            let mut all = q.filter.clone();
            all.limit = None;
            all.offset = 0;
            let total = answers::patterns(reader, &all, &params)?.len() as u64;
            let found = answers::patterns(reader, &q.filter, &params)?;
            let body = match format {
                Format::Json => to_json(&found)?,
                Format::Csv => {
                    let mut out = Vec::new();
                    answers::write_pattern_csv(&found, &mut out)
                        .map_err(|e| ApiError::Encode(e.to_string()))?;
                    out
                }
                Format::Geojson => to_json(&answers::patterns_geojson(reader, &found)?)?,
            };
            Ok((body, total))
        })
        .await?;
    Ok(reply(format, body, Some(total), "patterns"))
}
