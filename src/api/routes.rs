//! The routes of `/api/v1`: each endpoint of the table in `endpoints` mounted on its handler,
//! and the handlers that answer from the store's built-in read queries.

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use serde_json::json;

use super::endpoints::{
    Endpoint, DARK_NOW, ENCOUNTERS, ENCOUNTER_REPORT, ENCOUNTER_REPORT_WITH, GAPS, HISTORY,
    LOITERING, OPENAPI, PATTERNS, PORTS, PORT_HOURS, RENDEZVOUS, SUMMARY, TALLY, TALLY_REPORT,
    TRIPS, TRIP_REPORT, VESSEL, VISITS,
};
use super::params::{self, parse_mmsi, ApiQuery, Format};
use super::{calls, openapi, page, ApiError, ApiState};
use crate::query::{self, Question};
use crate::store::read::GapFilter;
use crate::store::Reader;

/// The API's routes, path by path; [`router`] mounts exactly these.
pub fn api_routes() -> Vec<(&'static str, MethodRouter<ApiState>)> {
    vec![
        (TRIPS.path, get(trips)),
        (GAPS.path, get(gaps)),
        (DARK_NOW.path, get(dark_now)),
        (TALLY.path, get(tally)),
        (VESSEL.path, get(vessel)),
        (PORTS.path, get(ports)),
        (PORT_HOURS.path, get(port_hours)),
        (HISTORY.path, get(history)),
        (ENCOUNTERS.path, get(encounters)),
        (LOITERING.path, get(loitering)),
        (SUMMARY.path, get(summary)),
        (OPENAPI.path, get(openapi_document)),
        (VISITS.path, get(visits)),
        (PATTERNS.path, get(patterns)),
        (TALLY_REPORT.path, get(tally_report)),
        (RENDEZVOUS.path, get(rendezvous)),
        (TRIP_REPORT.path, get(trip_report)),
        (ENCOUNTER_REPORT.path, get(encounter_report)),
        (ENCOUNTER_REPORT_WITH.path, get(encounter_report_with)),
    ]
}

/// The encounter report page; `time` is the start, as the encounters answer gives it.
async fn encounter_report(
    State(state): State<ApiState>,
    Path((mmsi, time)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    encounter_page(state, mmsi, time, None).await
}

/// The same, the other vessel named.
async fn encounter_report_with(
    State(state): State<ApiState>,
    Path((mmsi, time, with)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    encounter_page(state, mmsi, time, Some(with)).await
}

async fn encounter_page(
    state: ApiState,
    mmsi: String,
    time: String,
    with: Option<String>,
) -> Result<Response, ApiError> {
    use crate::report::encounter::{self, EncounterKey};
    let mmsi = parse_mmsi("mmsi", &mmsi)?;
    let with = with.map(|w| parse_mmsi("with", &w)).transpose()?;
    let key = EncounterKey::parse(
        &format!("{}@{time}", mmsi.0),
        with.map(|w| w.0.to_string()).as_deref(),
    )?;
    let page = state
        .pool
        .run(move |reader| Ok::<_, ApiError>(encounter::report(reader, key)?))
        .await?;
    Ok(html_page(page))
}

fn html_page(page: String) -> Response {
    let mut response = (StatusCode::OK, page).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The trip report page; `time` is fix A's, as the trips answer gives it.
async fn trip_report(
    State(state): State<ApiState>,
    Path((mmsi, time)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    use crate::report::trip::{self, TripKey};
    let mmsi = parse_mmsi("mmsi", &mmsi)?;
    let key = TripKey::parse(&format!("{}@{time}", mmsi.0))?;
    let page = state
        .pool
        .run(move |reader| Ok::<_, ApiError>(trip::report(reader, key)?))
        .await?;
    Ok(html_page(page))
}

pub fn router(state: ApiState) -> Router {
    let mut api = Router::new();
    for (path, route) in api_routes() {
        api = api.route(path, route);
    }
    let api = api.route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let tokenless = state.token.is_none();
    let router = Router::new()
        .route("/", get(page::index))
        .route("/assets/{file}", get(page::asset))
        .merge(api)
        .fallback(no_route);
    // Without a token the listener is loopback-only (see `check_exposure`); the Host check
    // keeps other sites' pages from reaching it through a rebound name.
    let router = if tokenless {
        router.layer(middleware::from_fn(super::auth::loopback_host_only))
    } else {
        router
    };
    router.with_state(state)
}

async fn require_token(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if !token.admits(presented) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(request).await
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute(format!("{method} {}", uri.path()))
}

/// An answer in its representation, with the paging total when there is one.
fn reply(format: Format, body: Vec<u8>, total: Option<u64>, name: &str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    if let Some(total) = total {
        headers.insert("x-total-count", HeaderValue::from(total));
    }
    if format != Format::Json {
        // The file is named for its format, spelled as the format parameter spells it.
        let extension = format.as_str();
        if let Ok(value) =
            HeaderValue::from_str(&format!("inline; filename=\"aisgap-{name}.{extension}\""))
        {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Encode(e.to_string()))
}

fn parse(endpoint: &Endpoint, raw: Option<String>) -> Result<ApiQuery, ApiError> {
    Ok(params::parse(
        raw.as_deref(),
        endpoint.params,
        endpoint.formats,
    )?)
}

fn answer_gaps(
    reader: &Reader,
    filter: &GapFilter,
    format: Format,
) -> Result<(Vec<u8>, u64), ApiError> {
    let total = reader.count_gaps(filter)?;
    let gaps = reader.gaps(filter)?;
    let body = match format {
        Format::Json => to_json(&gaps)?,
        Format::Csv => {
            let mut out = Vec::new();
            query::write_gap_csv(&gaps, &mut out).map_err(|e| ApiError::Encode(e.to_string()))?;
            out
        }
        Format::Geojson => to_json(&query::gaps_geojson(reader, &gaps)?)?,
    };
    Ok((body, total))
}

async fn gap_list(
    state: ApiState,
    endpoint: &Endpoint,
    question: Question,
    raw: Option<String>,
    name: &'static str,
) -> Result<Response, ApiError> {
    let q = parse(endpoint, raw)?;
    let filter = question.gap_filter(q.filter);
    let format = q.format;
    let (body, total) = state
        .pool
        .run(move |reader| answer_gaps(reader, &filter, format))
        .await?;
    Ok(reply(format, body, Some(total), name))
}

async fn encounters(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&ENCOUNTERS, raw)?;
    let (filter, format) = (query::at_sea::at_sea_filter(&q.filter), q.format);
    let (body, total) = state
        .pool
        .run(move |reader| super::at_sea::encounters_answer(reader, &filter, format))
        .await?;
    Ok(reply(format, body, Some(total), "encounters"))
}

async fn loitering(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&LOITERING, raw)?;
    let (filter, format) = (query::at_sea::at_sea_filter(&q.filter), q.format);
    let (body, total) = state
        .pool
        .run(move |reader| super::at_sea::loitering_answer(reader, &filter, format))
        .await?;
    Ok(reply(format, body, Some(total), "loitering"))
}

async fn rendezvous(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&RENDEZVOUS, raw)?;
    let (filter, format) = (query::at_sea::at_sea_filter(&q.filter), q.format);
    let (body, total) = state
        .pool
        .run(move |reader| super::rendezvous::rendezvous_answer(reader, &filter, format))
        .await?;
    Ok(reply(format, body, Some(total), "rendezvous"))
}

async fn trips(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    gap_list(state, &TRIPS, Question::Trips, raw, "trips").await
}

async fn gaps(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    gap_list(state, &GAPS, Question::Gaps, raw, "gaps").await
}

async fn dark_now(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    gap_list(state, &DARK_NOW, Question::DarkNow, raw, "dark-now").await
}

async fn history(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&HISTORY, raw)?;
    let format = q.format;
    let (body, total) = state
        .pool
        .run(move |reader| {
            let page = q.filter.clone();
            let all = GapFilter {
                limit: None,
                offset: 0,
                ..q.filter
            };
            let total = reader.gap_history(&all)?.len() as u64;
            let rows = reader.gap_history(&page)?;
            let body = match format {
                Format::Csv => {
                    let mut out = Vec::new();
                    query::write_history(&rows, query::AnswerFormat::Csv, &mut out)
                        .map_err(|e| ApiError::Encode(e.to_string()))?;
                    out
                }
                _ => to_json(&rows)?,
            };
            Ok((body, total))
        })
        .await?;
    Ok(reply(format, body, Some(total), "history"))
}

async fn tally(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&TALLY, raw)?;
    let format = q.format;
    let (body, total) = state
        .pool
        .run(move |reader| {
            let rows = reader.tally(&q.filter, &q.by)?;
            let total = rows.len() as u64;
            let page: Vec<_> = rows
                .into_iter()
                .skip(usize::try_from(q.filter.offset).unwrap_or(usize::MAX))
                .take(usize::try_from(q.filter.limit.unwrap_or(u64::MAX)).unwrap_or(usize::MAX))
                .collect();
            let body = match format {
                Format::Csv => {
                    let mut out = Vec::new();
                    query::write_tally_csv(&page, &q.by, &mut out)
                        .map_err(|e| ApiError::Encode(e.to_string()))?;
                    out
                }
                _ => to_json(&page)?,
            };
            Ok((body, total))
        })
        .await?;
    Ok(reply(format, body, Some(total), "tally"))
}

/// The numbers `aisgap report tally` draws, for the page's tally section.
async fn tally_report(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&TALLY_REPORT, raw)?;
    let format = q.format;
    let params = state.tally_report.clone();
    let body = state
        .pool
        .run(move |reader| {
            let report = crate::report::tally::TallyReport::build(reader, &q.filter, &params)?;
            match format {
                Format::Csv => {
                    let mut out = Vec::new();
                    report
                        .write_csv(&mut out)
                        .map_err(|e| ApiError::Encode(e.to_string()))?;
                    Ok(out)
                }
                _ => to_json(&report),
            }
        })
        .await?;
    Ok(reply(format, body, None, "tally-report"))
}

async fn visits(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&VISITS, raw)?;
    let format = q.format;
    let (body, total) = state
        .pool
        .run(move |reader| calls::visits(reader, &q.filter, format))
        .await?;
    Ok(reply(format, body, Some(total), "visits"))
}

async fn patterns(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&PATTERNS, raw)?;
    let format = q.format;
    let (body, total) = state
        .pool
        .run(move |reader| calls::patterns(reader, &q.filter, format))
        .await?;
    Ok(reply(format, body, Some(total), "patterns"))
}

async fn vessel(
    State(state): State<ApiState>,
    Path(mmsi): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mmsi = parse_mmsi("mmsi", &mmsi)?;
    let q = parse(&VESSEL, raw)?;
    let body = state
        .pool
        .run(move |reader| {
            let detail = reader
                .vessel(mmsi, q.filter.since, q.filter.until)?
                .ok_or(ApiError::UnknownVessel(mmsi))?;
            to_json(&detail)
        })
        .await?;
    Ok(reply(Format::Json, body, None, "vessel"))
}

async fn ports(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&PORTS, raw)?;
    let format = q.format;
    let (body, total) = state
        .pool
        .run(move |reader| {
            let ports = reader.ports(q.filter.since, q.filter.until, q.min_vessels)?;
            let body = match format {
                Format::Json => to_json(&ports)?,
                Format::Csv => {
                    let mut out = Vec::new();
                    query::write_ports_csv(&ports, &mut out)
                        .map_err(|e| ApiError::Encode(e.to_string()))?;
                    out
                }
                Format::Geojson => to_json(&query::ports_geojson(&ports))?,
            };
            Ok((body, ports.len() as u64))
        })
        .await?;
    Ok(reply(format, body, Some(total), "ports"))
}

async fn port_hours(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse(&PORT_HOURS, raw)?;
    let body = state
        .pool
        .run(move |reader| {
            if !reader.port_names()?.contains(&name) {
                return Err(ApiError::UnknownPort(name));
            }
            to_json(&reader.port_hours(&name, q.filter.since, q.filter.until)?)
        })
        .await?;
    Ok(reply(Format::Json, body, None, "port-hours"))
}

async fn summary(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    parse(&SUMMARY, raw)?;
    let body = state
        .pool
        .run(|reader| {
            let clock = reader.stream_clock()?;
            let counters = reader.counters()?;
            let incomplete = reader.incomplete_input()?;
            to_json(&json!({
                "stream_clock": clock,
                "complete_input": incomplete.is_empty(),
                "incomplete_input": incomplete,
                "counters": counters,
            }))
        })
        .await?;
    Ok(reply(Format::Json, body, None, "summary"))
}

async fn openapi_document(RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    parse(&OPENAPI, raw)?;
    Ok(reply(
        Format::Json,
        to_json(&openapi::document())?,
        None,
        "openapi",
    ))
}
