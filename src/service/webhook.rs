//! The alert webhook's client: one HTTP/1.1 POST an alert, over TCP or TLS (rustls, trusting
//! the public web PKI roots and `[alerts] ca_file`), with the URL's credentials sent only as
//! `Authorization: Basic`. Only the host goes to the resolver; every error names the webhook
//! with its password replaced by `***`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;

use crate::config::{read_certificates, WebhookScheme, WebhookUrl};

/// For each of connecting, sending and waiting for the answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// The status line is all we read of the answer.
const MAX_STATUS_LINE: usize = 1024;

/// Why the webhook cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook {url}: {reason}")]
    Address { url: String, reason: String },
    #[error("webhook {url}: ca_file: {reason}")]
    CaFile { url: String, reason: String },
    #[error("webhook {url}: setting up TLS: {reason}")]
    Tls { url: String, reason: String },
}

/// Where alerts are posted, and how.
pub struct Webhook {
    url: WebhookUrl,
    authorization: Option<String>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({})", self.url)
    }
}

impl Webhook {
    /// The client for `url`; `ca_file` adds certificates to trust for an https one.
    pub fn new(url: &str, ca_file: Option<&Path>) -> Result<Webhook, WebhookError> {
        let parsed = WebhookUrl::parse(url).map_err(|reason| WebhookError::Address {
            url: crate::config::redact_webhook(url),
            reason,
        })?;
        let tls = match parsed.scheme {
            WebhookScheme::Http => None,
            WebhookScheme::Https => Some(tls_config(&parsed, ca_file)?),
        };
        Ok(Webhook {
            authorization: parsed.authorization(),
            url: parsed,
            tls,
        })
    }

    /// The address as it may be shown (password redacted).
    pub fn shown(&self) -> String {
        self.url.to_string()
    }

    /// POSTs one JSON body; success is a 2xx status.
    pub fn post(&self, body: &str) -> Result<(), String> {
        let shown = &self.url;
        let stream = self.connect()?;
        stream
            .set_read_timeout(Some(WEBHOOK_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(WEBHOOK_TIMEOUT)))
            .map_err(|e| format!("{shown}: {e}"))?;
        let request = self.request(body);
        let status_line = match &self.tls {
            None => exchange(stream, &request),
            Some(config) => {
                let name = ServerName::try_from(self.url.host.clone())
                    .map_err(|e| format!("{shown}: {e}"))?;
                let connection = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(|e| format!("{shown}: TLS: {e}"))?;
                exchange(rustls::StreamOwned::new(connection, stream), &request)
            }
        }
        .map_err(|e| format!("{shown}: {e}"))?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok());
        match status {
            Some(code) if (200..300).contains(&code) => Ok(()),
            Some(code) => Err(format!("{shown} answered {code}")),
            None => Err(format!("{shown} gave no HTTP status")),
        }
    }

    /// Tries every address the host resolves to, in the resolver's order.
    fn connect(&self) -> Result<TcpStream, String> {
        let shown = &self.url;
        let addresses: Vec<SocketAddr> = (self.url.host.as_str(), self.url.port)
            .to_socket_addrs()
            .map_err(|e| format!("{shown}: resolving {}: {e}", self.url.host))?
            .collect();
        let mut last = format!("{} resolves to no address", self.url.host);
        for address in addresses {
            match TcpStream::connect_timeout(&address, WEBHOOK_TIMEOUT) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = format!("connecting to {address}: {e}"),
            }
        }
        Err(format!("{shown}: {last}"))
    }

    fn request(&self, body: &str) -> String {
        let authorization = self
            .authorization
            .as_ref()
            .map_or_else(String::new, |value| format!("Authorization: {value}\r\n"));
        format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: aisgap/{}\r\n\r\n{body}",
            self.url.path,
            self.url.authority(),
            body.len(),
            env!("CARGO_PKG_VERSION")
        )
    }
}

/// Sends the request and reads the status line.
fn exchange(mut stream: impl Read + Write, request: &str) -> std::io::Result<String> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut head = Vec::with_capacity(128);
    let mut chunk = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < MAX_STATUS_LINE {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(String::from_utf8_lossy(line).trim_end().to_owned())
}

fn tls_config(
    url: &WebhookUrl,
    ca_file: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, WebhookError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let refuse = |reason: String| WebhookError::CaFile {
            url: url.to_string(),
            reason,
        };
        for certificate in read_certificates(path).map_err(refuse)? {
            roots
                .add(certificate)
                .map_err(|e| refuse(format!("{}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| WebhookError::Tls {
            url: url.to_string(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_basic_auth_and_the_host_without_credentials() {
        let hook = Webhook::new("http://ops:pa%3Ass@127.0.0.1:9/alerts", None).unwrap();
        let request = hook.request("{}");
        assert!(request.starts_with("POST /alerts HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
        // "ops:pa:ss" in base64.
        assert!(
            request.contains("Authorization: Basic b3BzOnBhOnNz\r\n"),
            "{request}"
        );
        assert!(
            !request.contains("pa%3Ass") && !request.contains("ops:"),
            "{request}"
        );
        assert_eq!(hook.shown(), "http://ops:***@127.0.0.1:9/alerts");
    }

    #[test]
    fn errors_never_repeat_the_password() {
        // Nothing listens on the discard port of loopback in a test environment.
        let hook = Webhook::new("http://ops:hunter2secret@127.0.0.1:9/a", None).unwrap();
        let error = hook.post("{}").unwrap_err();
        assert!(error.contains("ops:***@127.0.0.1:9"), "{error}");
        assert!(!error.contains("hunter2secret"), "{error}");
        let error = Webhook::new("https://ops:hunter2secret@h/a", Some(Path::new("/nowhere")))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ca_file") && !error.contains("hunter2secret"),
            "{error}"
        );
    }
}
