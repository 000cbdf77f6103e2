//! The webhook's address as `[alerts] webhook` gives it: `http://` or `https://`, host, port and
//! path, and credentials in the URL (`user:password@`) taken out of it, to travel only as an
//! `Authorization: Basic` header and never in a log line, a resolver query or a summary.

use std::fmt;

/// How the webhook is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookScheme {
    Http,
    Https,
}

/// Basic-auth credentials from the URL's userinfo, percent-decoded. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(..)")
    }
}

/// A webhook address that parsed. Its `Display` and `Debug` redact the password.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    pub scheme: WebhookScheme,
    /// Host name or IP address, IPv6 without brackets.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    credentials: Option<Credentials>,
}

/// What `[alerts] webhook` accepts, for refusals and the docs.
pub const ACCEPTED_WEBHOOKS: &str = "http://host[:port]/path or https://host[:port]/path, \
     optionally with user:password@ before the host for basic authentication";

impl WebhookUrl {
    /// Parses an address, or says what is wrong with it (without repeating a password).
    pub fn parse(url: &str) -> Result<WebhookUrl, String> {
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
            (WebhookScheme::Https, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
            (WebhookScheme::Http, rest)
        } else {
            return Err("the scheme must be http:// or https://".to_owned());
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if path.contains('#') {
            return Err("a fragment (#...) is never sent; leave it out".to_owned());
        }
        let path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err("the path must not contain spaces or control characters".to_owned());
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let credentials = userinfo.map(parse_userinfo).transpose()?;
        let (host, port) = split_host_port(hostport, scheme)?;
        Ok(WebhookUrl {
            scheme,
            host,
            port,
            path,
            credentials,
        })
    }

    /// The `Authorization` header's value, when the URL carried credentials.
    pub fn authorization(&self) -> Option<String> {
        self.credentials.as_ref().map(|c| {
            let pair = format!("{}:{}", c.user, c.password);
            format!("Basic {}", base64(pair.as_bytes()))
        })
    }

    /// Whether the URL carried credentials.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// `host:port` as the `Host` header and the resolver want it (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            WebhookScheme::Http => "http",
            WebhookScheme::Https => "https",
        };
        let user = match &self.credentials {
            Some(c) => format!("{}:***@", c.user),
            None => String::new(),
        };
        write!(f, "{scheme}://{user}{}{}", self.authority(), self.path)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({self})")
    }
}

/// A webhook setting as it may be shown: its password replaced by `***` whether or not the
/// rest of it parses.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|at| at + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((userinfo, _)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{}{shown}{}", &url[..scheme_end], &rest[userinfo.len()..])
        }
        None => url.to_owned(),
    }
}

fn strip_prefix_ignore_case<'u>(url: &'u str, prefix: &str) -> Option<&'u str> {
    let head = url.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &url[prefix.len()..])
}

fn parse_userinfo(userinfo: &str) -> Result<Credentials, String> {
    let Some((user, password)) = userinfo.split_once(':') else {
        return Err(
            "credentials must be user:password@ (percent-encode ':' or '@' inside them)".to_owned(),
        );
    };
    let user = percent_decode(user).ok_or("the user name has a broken %-escape")?;
    let password = percent_decode(password).ok_or("the password has a broken %-escape")?;
    if user.is_empty() {
        return Err("the user name before ':' is empty".to_owned());
    }
    if user.contains(':') {
        return Err("a user name for basic authentication cannot contain ':'".to_owned());
    }
    Ok(Credentials { user, password })
}

fn split_host_port(hostport: &str, scheme: WebhookScheme) -> Result<(String, u16), String> {
    let default_port = match scheme {
        WebhookScheme::Http => 80,
        WebhookScheme::Https => 443,
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address must be closed with ']'")?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("[{inside}] is not an IPv6 address"));
        }
        match after {
            "" => (inside, None),
            p => (
                inside,
                Some(
                    p.strip_prefix(':')
                        .ok_or("expected ':' and a port after ']'")?,
                ),
            ),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("the host is missing".to_owned());
    }
    if !host.contains(':')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(format!("{host:?} is not a host name or IP address"));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("the port {p:?} is not a number in 1..=65535")),
        },
    };
    Ok((host.to_ascii_lowercase(), port))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Standard base64 with padding (RFC 4648), all basic authentication needs.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }

    #[test]
    fn credentials_become_a_header_and_never_show() {
        let url =
            WebhookUrl::parse("https://ops:s%40cret:x@Collector.example:8443/hook?x=1").unwrap();
        assert_eq!(url.scheme, WebhookScheme::Https);
        assert_eq!(url.host, "collector.example");
        assert_eq!(url.port, 8443);
        assert_eq!(url.path, "/hook?x=1");
        // "ops:s@cret:x" in base64.
        assert_eq!(url.authorization().unwrap(), "Basic b3BzOnNAY3JldDp4");
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("cret"), "{shown}");
        assert!(shown.contains("https://ops:***@collector.example:8443/hook?x=1"));
        assert_eq!(
            redact("https://ops:s%40cret@h/p"),
            "https://ops:***@h/p",
            "redacted even before parsing"
        );
        assert_eq!(redact("http://token@h/p"), "http://***@h/p");
        assert_eq!(redact("http://h/p@q"), "http://h/p@q");
    }

    #[test]
    fn defaults_ports_and_paths_by_scheme() {
        let plain = WebhookUrl::parse("http://127.0.0.1").unwrap();
        assert_eq!((plain.port, plain.path.as_str()), (80, "/"));
        assert_eq!(plain.authorization(), None);
        let tls = WebhookUrl::parse("HTTPS://[::1]/a").unwrap();
        assert_eq!((tls.host.as_str(), tls.port), ("::1", 443));
        assert_eq!(tls.authority(), "[::1]:443");
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        for (url, says) in [
            ("ftp://h/", "http:// or https://"),
            ("http://:80/", "host is missing"),
            ("http://h:0/", "1..=65535"),
            ("http://h:99999/", "1..=65535"),
            ("http://user@h/", "user:password@"),
            ("http://:pw@h/", "user name"),
            ("http://u:p%zz@h/", "%-escape"),
            ("http://h/a b", "spaces"),
            ("http://h/#frag", "fragment"),
            ("http://[::1/", "closed"),
            ("http://bad host/", "not a host name"),
        ] {
            let error = WebhookUrl::parse(url).unwrap_err();
            assert!(error.contains(says), "{url}: {error}");
        }
        let error = WebhookUrl::parse("http://u:topsecret@h:0/").unwrap_err();
        assert!(!error.contains("topsecret"), "{error}");
    }
}
