//! Access control of the HTTP API: the bearer token, compared in constant time, and the rule
//! that a listener reachable beyond this machine needs one.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use super::ApiError;

/// Shortest token accepted: anything shorter is guessable over a network.
pub const MIN_TOKEN_LEN: usize = 16;

/// The configured bearer token.
#[derive(Clone)]
pub struct AccessToken(Arc<[u8]>);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

impl AccessToken {
    /// A token from text (surrounding whitespace and a trailing newline are not part of it).
    /// `origin` names where it came from, for the refusal.
    pub fn new(text: &str, origin: &str) -> Result<AccessToken, ApiError> {
        let token = text.trim();
        let refuse = |reason: String| ApiError::Token {
            origin: origin.to_string(),
            reason,
        };
        if token.len() < MIN_TOKEN_LEN {
            return Err(refuse(format!(
                "the token has {} characters; use at least {MIN_TOKEN_LEN} (e.g. `head -c 32 /dev/urandom | base64`)",
                token.len()
            )));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(refuse(
                "the token must be printable ASCII without spaces, as it travels in an HTTP header"
                    .into(),
            ));
        }
        Ok(AccessToken(Arc::from(token.as_bytes())))
    }

    /// Reads a token file (one line). Refused when other users may read or change it (group
    /// read is allowed, for a service group that shares it).
    pub fn from_file(path: &Path) -> Result<AccessToken, ApiError> {
        let refuse = |reason: String| ApiError::Token {
            origin: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| refuse(e.to_string()))?;
        let token = AccessToken::new(&text, &path.display().to_string())?;
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| refuse(e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o027 != 0 {
            return Err(refuse(format!(
                "mode {:04o} lets other users read or change the token; `chmod 600` it (or 640 for a group that shares it)",
                mode & 0o7777
            )));
        }
        Ok(token)
    }

    /// Whether a presented token is this one. The time taken depends only on the presented
    /// token's length, never on how much of it matches.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected: &[u8] = &self.0;
        let mut difference = u8::from(presented.len() != expected.len());
        for (i, byte) in presented.iter().enumerate() {
            // Compare against the expected byte at the same place, or a stand-in past its end,
            // so that every presented byte costs the same.
            let other = expected.get(i).copied().unwrap_or(!*byte);
            difference |= std::hint::black_box(byte ^ other);
        }
        difference == 0
    }

    /// Checks an `Authorization` header value: `Bearer <token>`.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let scheme = b"bearer ";
        if value.len() < scheme.len() || !value[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return false;
        }
        self.matches(value[scheme.len()..].trim_ascii())
    }
}

/// Refuses an address reachable beyond this machine unless a token guards it.
pub fn check_exposure(addr: SocketAddr, token: Option<&AccessToken>) -> Result<(), ApiError> {
    if addr.ip().is_loopback() || token.is_some() {
        Ok(())
    } else {
        Err(ApiError::PublicWithoutToken { addr })
    }
}

/// Whether a `Host` header names this machine: `localhost`, a 127.x address or `[::1]`, with
/// or without a port. Without a token, only these reach the API: a page on another site that
/// points its own name at 127.0.0.1 (DNS rebinding) still sends its own name.
pub fn is_loopback_host(host: &[u8]) -> bool {
    let Ok(host) = std::str::from_utf8(host) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, after)) if after.is_empty() || after.starts_with(':') => inside,
            _ => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Middleware: refuses a request whose `Host` is not [`is_loopback_host`] with 421.
pub async fn loopback_host_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .map(axum::http::HeaderValue::as_bytes);
    if host.is_some_and(is_loopback_host) {
        return next.run(request).await;
    }
    ApiError::ForeignHost.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_host_names_pass() {
        for good in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.9.8.7:1",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_host(good.as_bytes()), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "192.0.2.1:80",
            "[::2]:80",
            "",
            "[::1]x",
        ] {
            assert!(!is_loopback_host(bad.as_bytes()), "{bad}");
        }
    }

    fn token() -> AccessToken {
        AccessToken::new("s3cret-token-0123456789\n", "test").unwrap()
    }

    #[test]
    fn only_the_exact_token_is_admitted() {
        let t = token();
        assert!(t.matches(b"s3cret-token-0123456789"));
        assert!(!t.matches(b"s3cret-token-012345678"));
        assert!(!t.matches(b"s3cret-token-01234567890"));
        assert!(!t.matches(b"S3cret-token-0123456789"));
        assert!(!t.matches(b""));
        assert!(t.admits(Some(b"Bearer s3cret-token-0123456789")));
        assert!(t.admits(Some(b"bearer  s3cret-token-0123456789 ")));
        assert!(!t.admits(Some(b"Basic s3cret-token-0123456789")));
        assert!(!t.admits(Some(b"Bearer")));
        assert!(!t.admits(None));
    }

    #[test]
    fn weak_tokens_are_refused_with_the_reason() {
        let e = AccessToken::new("short", "--token-file x").unwrap_err();
        assert!(e.to_string().contains("--token-file x"), "{e}");
        assert!(e.to_string().contains("at least 16"), "{e}");
        let e = AccessToken::new("has a space inside it ok", "env").unwrap_err();
        assert!(e.to_string().contains("printable ASCII"), "{e}");
    }

    #[test]
    fn token_files_others_can_read_or_change_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.token");
        std::fs::write(&path, "s3cret-token-0123456789\n").unwrap();
        for (mode, ok) in [
            (0o600, true),
            (0o640, true),
            (0o400, true),
            (0o644, false),
            (0o660, false),
            (0o602, false),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let read = AccessToken::from_file(&path);
            assert_eq!(read.is_ok(), ok, "mode {mode:o}: {read:?}");
            if let Err(e) = read {
                let e = e.to_string();
                assert!(e.contains("api.token") && e.contains("chmod 600"), "{e}");
            }
        }
    }

    #[test]
    fn public_addresses_need_a_token() {
        let loopback: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let loopback6: SocketAddr = "[::1]:8080".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let lan: SocketAddr = "192.0.2.10:8080".parse().unwrap();
        assert!(check_exposure(loopback, None).is_ok());
        assert!(check_exposure(loopback6, None).is_ok());
        for addr in [any, lan] {
            let e = check_exposure(addr, None).unwrap_err();
            assert!(e.to_string().contains(&addr.to_string()), "{e}");
            assert!(e.to_string().contains("token"), "{e}");
            assert!(check_exposure(addr, Some(&token())).is_ok());
        }
    }
}
