//! The answers of `/api/v1/visits` and `/api/v1/patterns`: calls heard with AIS on and
//! regular dark trips, written as `aisgap query visits|patterns` writes them.

use super::params::Format;
use super::ApiError;
use crate::detect::patterns::PatternParams;
use crate::query::visits as answers;
use crate::store::read::GapFilter;
use crate::store::Reader;

fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Encode(e.to_string()))
}

/// Visits of watched vessels in `format`, with how many match before paging.
pub(super) fn visits(
    reader: &Reader,
    filter: &GapFilter,
    format: Format,
) -> Result<(Vec<u8>, u64), ApiError> {
    let mut filter = filter.clone();
    filter.watched_only = true;
    let total = reader.count_visits(&filter)?;
    let visits = reader.visits(&filter)?;
    let body = match format {
        Format::Json => json(&visits)?,
        Format::Csv => {
            let mut out = Vec::new();
            answers::write_visit_csv(&visits, &mut out)
                .map_err(|e| ApiError::Encode(e.to_string()))?;
            out
        }
        Format::Geojson => json(&answers::visits_geojson(reader, &visits)?)?,
    };
    Ok((body, total))
}

/// Patterns at the default area and trip count in `format`, with how many there are before
/// paging.
pub(super) fn patterns(
    reader: &Reader,
    filter: &GapFilter,
    format: Format,
) -> Result<(Vec<u8>, u64), ApiError> {
    let params = PatternParams::default();
    let mut all = filter.clone();
    all.limit = None;
    all.offset = 0;
    let total = answers::patterns(reader, &all, &params)?.len() as u64;
    let found = answers::patterns(reader, filter, &params)?;
    let body = match format {
        Format::Json => json(&found)?,
        Format::Csv => {
            let mut out = Vec::new();
            answers::write_pattern_csv(&found, &mut out)
                .map_err(|e| ApiError::Encode(e.to_string()))?;
            out
        }
        Format::Geojson => json(&answers::patterns_geojson(reader, &found)?)?,
    };
    Ok((body, total))
}
