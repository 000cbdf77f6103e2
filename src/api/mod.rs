//! The analysts' HTTP API and map page: read-only JSON, CSV and GeoJSON under `/api/v1`, its
//! OpenAPI description, and a self-contained page at `/`. Served by `aisgap serve` over a
//! database file, and mountable by a long-running service through [`router`] and [`serve`].

pub mod at_sea;
pub mod auth;
mod calls;
pub mod endpoints;
pub mod listener;
pub mod openapi;
pub mod page;
pub mod params;
pub mod pool;
pub mod rendezvous;
pub mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;

pub use auth::{check_exposure, AccessToken};
pub use endpoints::{Endpoint, ENDPOINTS};
pub use listener::{serve_limited, ConnectionLimits, ConnectionMetrics};
pub use params::{Format, ParamError};
pub use pool::ReadPool;

use crate::model::Mmsi;
use crate::query::QueryError;
use crate::report::tally::TallyReportParams;
use crate::store::StoreError;

/// Queries that may run on the database at the same time; more wait their turn.
pub const DEFAULT_READERS: usize = 4;

/// Why a request or the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    BadParameter(#[from] ParamError),
    #[error("no vessel with MMSI {0} in the database")]
    UnknownVessel(Mmsi),
    #[error("no designated port named {0:?} in the database")]
    UnknownPort(String),
    #[error("no such route: {0}")]
    NoRoute(String),
    #[error(transparent)]
    Report(#[from] crate::report::trip::ReportError),
    #[error(transparent)]
    EncounterReport(#[from] crate::report::encounter::EncounterReportError),
    #[error("this API needs an access token: send the header `Authorization: Bearer <token>`")]
    Unauthorized,
    #[error("this API serves only requests addressed to this machine (Host: localhost or 127.0.0.1) unless an access token is configured")]
    ForeignHost,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("encoding the answer: {0}")]
    Encode(String),
    #[error("the database worker failed: {0}")]
    Worker(String),
    #[error("refusing to listen on {addr}: it is reachable beyond this machine and no access token is configured; give one with --token-file FILE (or the AISGAP_API_TOKEN variable), or listen on a loopback address such as 127.0.0.1")]
    PublicWithoutToken { addr: SocketAddr },
    #[error("access token from {origin}: {reason}")]
    Token { origin: String, reason: String },
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::UnknownVessel(_) | ApiError::UnknownPort(_) | ApiError::NoRoute(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Report(crate::report::trip::ReportError::NotFound { .. }) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Report(crate::report::trip::ReportError::BadKey(_)) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::EncounterReport(e) => {
                use crate::report::encounter::EncounterReportError as E;
                match e {
                    E::BadKey(_) | E::BadWith(_) => StatusCode::BAD_REQUEST,
                    E::NotFound { .. } => StatusCode::NOT_FOUND,
                    E::Ambiguous { .. } => StatusCode::CONFLICT,
                    E::Store(e) if e.is_busy() => StatusCode::SERVICE_UNAVAILABLE,
                    E::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::ForeignHost => StatusCode::MISDIRECTED_REQUEST,
            ApiError::Store(e) if e.is_busy() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "Request failed.");
        }
        let body = match &self {
            ApiError::BadParameter(p) => {
                json!({ "error": self.to_string(), "parameter": p.parameter })
            }
            _ => json!({ "error": self.to_string() }),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"aisgap\""),
            );
        }
        response
    }
}

/// What every handler shares: the database's read connections and the access token.
#[derive(Clone)]
pub struct ApiState {
    pub pool: Arc<ReadPool>,
    pub token: Option<AccessToken>,
    /// What the tally report sets its estimate against (`[report]`).
    pub tally_report: Arc<TallyReportParams>,
}

impl ApiState {
    /// Opens `db` read-only (refusing a file that is not an aisgap database).
    pub fn open(db: &Path, token: Option<AccessToken>) -> Result<ApiState, ApiError> {
        Ok(ApiState {
            pool: Arc::new(ReadPool::open(db, DEFAULT_READERS)?),
            token,
            tally_report: Arc::new(TallyReportParams::default()),
        })
    }

    /// The same, with the configuration's `[report]` in place of the defaults.
    pub fn with_tally_report(mut self, params: TallyReportParams) -> ApiState {
        self.tally_report = Arc::new(params);
        self
    }

    pub fn db(&self) -> PathBuf {
        self.pool.db().to_path_buf()
    }
}

/// The page, its assets and `/api/v1`, with the token check on the API when a token is set.
/// A service adds its own routes (health, metrics) with `Router::merge`.
pub fn router(state: ApiState) -> Router {
    routes::router(state)
}

/// Binds the API's listener, refusing an address reachable beyond this machine without a
/// token. Host names are resolved and every address they name must pass.
pub async fn bind(address: &str, token: Option<&AccessToken>) -> Result<TcpListener, ApiError> {
    let bind_error = |reason: String| ApiError::Bind {
        addr: address.to_string(),
        reason,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(address)
        .await
        .map_err(|e| bind_error(format!("{e} (give HOST:PORT, e.g. 127.0.0.1:8080)")))?
        .collect();
    for addr in &addrs {
        check_exposure(*addr, token)?;
    }
    let mut last_error = "the name resolved to no address".to_string();
    for addr in addrs {
        match listener::bind(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(bind_error(last_error))
}

/// Serves `router` on `listener` within the default [`ConnectionLimits`] until `shutdown`
/// completes, then lets requests in flight finish.
pub async fn serve<F>(listener: TcpListener, router: Router, shutdown: F) -> Result<(), ApiError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let metrics = Arc::new(ConnectionMetrics::default());
    serve_limited(
        listener,
        router,
        ConnectionLimits::default(),
        metrics,
        shutdown,
    )
    .await
    .map_err(ApiError::Serve)
}
