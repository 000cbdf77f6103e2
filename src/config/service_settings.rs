//! The service's own settings: `[http]` (its metrics and health listener) and `[alerts]`
//! (where going-dark alerts are delivered). They stay with the configuration rather than in
//! `service`, because `service` loads the configuration and the two would import each other.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[http]`: the service's metrics and health endpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpParams {
    /// Address to listen on, loopback by default; empty turns the listener off.
    pub listen: String,
    /// File holding the bearer token `/metrics` and the analysts' API then require (one
    /// line, as for `aisgap serve --token-file`); relative to the config's folder.
    pub token_file: Option<PathBuf>,
    /// Open connections at most (the longest-idle one is closed to make room).
    pub max_connections: usize,
    /// Seconds from a request's first byte to the end of its head.
    pub header_timeout_s: u32,
    /// Seconds a connection may stay open with nothing in flight and no byte moving.
    pub idle_timeout_s: u32,
}

/// `[alerts]`: where `aisgap run` reports vessels going dark, reappearing and trips tallied.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertParams {
    /// `http(s)://[user:password@]host[:port]/path` to POST each alert to as JSON.
    pub webhook: Option<String>,
    /// PEM certificates to trust for an https webhook, besides the public web PKI roots;
    /// relative to the config's folder.
    pub ca_file: Option<PathBuf>,
    /// A JSON Lines file each alert is appended to; relative to the config's folder.
    pub file: Option<PathBuf>,
    /// Longest wait between attempts to deliver to the webhook, in seconds.
    pub retry_max_s: u32,
}

impl Default for AlertParams {
    fn default() -> Self {
        AlertParams {
            webhook: None,
            ca_file: None,
            file: None,
            retry_max_s: 60,
        }
    }
}

/// Never shows the webhook's password, wherever a configuration is printed.
impl std::fmt::Debug for AlertParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertParams")
            .field(
                "webhook",
                &self.webhook.as_deref().map(super::webhook::redact),
            )
            .field("ca_file", &self.ca_file)
            .field("file", &self.file)
            .field("retry_max_s", &self.retry_max_s)
            .finish()
    }
}

impl AlertParams {
    /// Nothing to alert to.
    pub fn is_off(&self) -> bool {
        self.webhook.is_none() && self.file.is_none()
    }
}

/// Where `aisgap run` serves /metrics, /healthz and /readyz unless told otherwise.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9841";

impl Default for HttpParams {
    fn default() -> Self {
        let limits = crate::api::ConnectionLimits::default();
        HttpParams {
            listen: DEFAULT_HTTP_LISTEN.to_string(),
            token_file: None,
            max_connections: limits.max_connections,
            header_timeout_s: crate::api::listener::DEFAULT_HEADER_TIMEOUT_S,
            idle_timeout_s: crate::api::listener::DEFAULT_IDLE_TIMEOUT_S,
        }
    }
}

impl HttpParams {
    /// The address to bind, or none when the listener is turned off (checked at load).
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.listen.parse().ok()
    }

    /// What the listener tolerates of its clients.
    pub fn limits(&self) -> crate::api::ConnectionLimits {
        crate::api::ConnectionLimits {
            max_connections: self.max_connections,
            header_timeout: std::time::Duration::from_secs(u64::from(self.header_timeout_s)),
            idle_timeout: std::time::Duration::from_secs(u64::from(self.idle_timeout_s)),
        }
    }
}
