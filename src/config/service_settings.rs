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
}

/// `[alerts]`: where `aisgap run` reports vessels going dark, reappearing and trips tallied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertParams {
    /// `http://host:port/path` to POST each alert to as JSON.
    pub webhook: Option<String>,
    /// A JSON Lines file each alert is appended to; relative to the config's folder.
    pub file: Option<PathBuf>,
    /// Longest wait between attempts to deliver to the webhook, in seconds.
    pub retry_max_s: u32,
}

impl Default for AlertParams {
    fn default() -> Self {
        AlertParams {
            webhook: None,
            file: None,
            retry_max_s: 60,
        }
    }
}

impl AlertParams {
    /// Nothing to alert to.
    pub fn is_off(&self) -> bool {
        self.webhook.is_none() && self.file.is_none()
    }
}

/// Host and port, and path, of an `http://` address (the only scheme the webhook speaks: it
/// posts to a collector on the same host or network).
pub fn parse_http_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let (host, port) = authority.rsplit_once(':')?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return None;
    }
    Some((authority, path.to_string()))
}

/// Where `aisgap run` serves /metrics, /healthz and /readyz unless told otherwise.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9841";

impl Default for HttpParams {
    fn default() -> Self {
        HttpParams {
            listen: DEFAULT_HTTP_LISTEN.to_string(),
        }
    }
}

impl HttpParams {
    /// The address to bind, or none when the listener is turned off (checked at load).
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.listen.parse().ok()
    }
}
