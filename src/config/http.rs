//! The rules of what the service exposes and whom it calls: `[http]` (its listener's address,
//! limits and token file) and `[alerts] webhook` and `ca_file` (the addresses and certificates
//! the alert client accepts). Each problem is reported at the line of the setting.

use std::path::Path;

use toml::de::DeTable;

use super::files::resolve_against;
use super::read::{value_start, TomlProblems};
use super::service_settings::{AlertParams, HttpParams, DEFAULT_HTTP_LISTEN};
use super::webhook::{redact, WebhookScheme, WebhookUrl, ACCEPTED_WEBHOOKS};
use crate::api::AccessToken;

fn report(
    problems: &mut TomlProblems<'_>,
    doc: &DeTable<'_>,
    section: &str,
    key: &str,
    message: String,
) {
    let at = value_start(doc, &[section, key]).or_else(|| value_start(doc, &[section]));
    problems.push(at, Some(&format!("{section}.{key}")), message);
}

/// `[http]`: an address or nothing, limits in range, and a token file that `aisgap serve`
/// would accept too.
pub(super) fn check_http(
    h: &HttpParams,
    folder: &Path,
    doc: &DeTable<'_>,
    problems: &mut TomlProblems<'_>,
) {
    let mut fail = |key: &str, message: String| report(problems, doc, "http", key, message);
    if !h.listen.is_empty() && h.listen.parse::<std::net::SocketAddr>().is_err() {
        fail(
            "listen",
            format!(
                "{:?} is not an address and port such as {DEFAULT_HTTP_LISTEN} (or \"\" for no listener)",
                h.listen
            ),
        );
    }
    if !(1..=65_536).contains(&h.max_connections) {
        fail(
            "max_connections",
            format!("must lie in 1..=65536, got {}", h.max_connections),
        );
    }
    if !(1..=3600).contains(&h.header_timeout_s) {
        fail(
            "header_timeout_s",
            format!("must lie in 1..=3600 seconds, got {}", h.header_timeout_s),
        );
    }
    if !(1..=86_400).contains(&h.idle_timeout_s) {
        fail(
            "idle_timeout_s",
            format!("must lie in 1..=86400 seconds, got {}", h.idle_timeout_s),
        );
    }
    if let Some(file) = &h.token_file {
        if let Err(error) = AccessToken::from_file(&resolve_against(folder, file)) {
            fail("token_file", error.to_string());
        }
    }
}

/// `[alerts] webhook` parses (said without its password) and `ca_file` holds certificates and
/// goes with an https webhook.
pub(super) fn check_webhook(
    a: &AlertParams,
    folder: &Path,
    doc: &DeTable<'_>,
    problems: &mut TomlProblems<'_>,
) {
    let mut fail = |key: &str, message: String| report(problems, doc, "alerts", key, message);
    let parsed = a.webhook.as_deref().map(WebhookUrl::parse);
    if let (Some(url), Some(Err(reason))) = (&a.webhook, &parsed) {
        fail(
            "webhook",
            format!(
                "{:?} is not accepted: {reason}; give {ACCEPTED_WEBHOOKS}",
                redact(url)
            ),
        );
    }
    let Some(ca_file) = &a.ca_file else { return };
    match &parsed {
        Some(Ok(url)) if url.scheme == WebhookScheme::Https => {}
        Some(Err(_)) => {}
        _ => fail(
            "ca_file",
            "applies only to an https:// webhook; leave it out".to_owned(),
        ),
    }
    if let Err(reason) = read_certificates(&resolve_against(folder, ca_file)) {
        fail("ca_file", reason);
    }
}

/// The PEM certificates of a CA file, or why there are none.
pub fn read_certificates(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certificates = rustls::pki_types::CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not a PEM certificate file: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certificates)
}

/// What `check-config` says of the listener and the webhook: one line each.
pub(super) fn describe(h: &HttpParams, a: &AlertParams) -> Vec<String> {
    let mut lines = Vec::new();
    match h.address() {
        None => lines.push("HTTP: no listener".to_owned()),
        Some(address) => lines.push(format!(
            "HTTP: {address}; /healthz and /readyz open, /metrics{}; at most {} connections, \
             request heads within {} s, idle connections closed after {} s",
            match &h.token_file {
                Some(file) => format!(" and /api/v1 need the token in {}", file.display()),
                None if address.ip().is_loopback() => {
                    ", the map page and /api/v1 open to this machine".to_owned()
                }
                None => " open to any machine, no analysts' API (no token)".to_owned(),
            },
            h.max_connections,
            h.header_timeout_s,
            h.idle_timeout_s,
        )),
    }
    if let Some(url) = &a.webhook {
        let line = match WebhookUrl::parse(url) {
            Ok(parsed) => format!(
                "Alerts: webhook {parsed}{}{}",
                if parsed.has_credentials() {
                    "; basic authentication from the URL"
                } else {
                    ""
                },
                match (parsed.scheme, &a.ca_file) {
                    (WebhookScheme::Https, Some(ca)) => format!(
                        "; certificates trusted: the public web PKI roots and {}",
                        ca.display()
                    ),
                    (WebhookScheme::Https, None) => {
                        "; certificates trusted: the public web PKI roots".to_owned()
                    }
                    (WebhookScheme::Http, _) => "; unencrypted".to_owned(),
                }
            ),
            Err(_) => format!("Alerts: webhook {}", redact(url)),
        };
        lines.push(line);
    }
    lines
}

/// A listener reachable beyond this machine with no token: anyone there reads the metrics.
pub(super) fn exposure_note(h: &HttpParams) -> Option<String> {
    let address = h.address()?;
    (!address.ip().is_loopback() && h.token_file.is_none()).then(|| {
        format!(
            "[http] listen = {address} serves /metrics and /healthz to other machines without \
             a token; set [http] token_file (then /metrics and the analysts' API need it), or \
             listen on 127.0.0.1"
        )
    })
}
