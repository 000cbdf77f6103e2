//! `[[source]]` sections: each judged against its kind (a setting the kind would ignore is a
//! problem, not silently dropped) and built into a [`SourceSpec`]; and the addresses a source
//! connects to or listens on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::files::resolve_against;
use super::read::TomlProblems;
use crate::source::serial::SUPPORTED_BAUDS;
use crate::source::{
    ReconnectPolicy, SourceKind, SourceKindName, SourceSpec, DEFAULT_BAUD, DEFAULT_MAX_CLIENTS,
    DEFAULT_MAX_LINE_BYTES, DEFAULT_READ_TIMEOUT_S, DEFAULT_RECONNECT_MAX_S,
};

/// One `[[source]]` as written. Every key is optional here so that which keys a kind needs,
/// and which it would ignore, can be judged by hand with a message that names the kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    name: Option<String>,
    kind: Option<String>,
    address: Option<String>,
    path: Option<PathBuf>,
    baud: Option<u32>,
    follow: Option<bool>,
    trust_data_time: Option<bool>,
    station: Option<String>,
    max_line_bytes: Option<usize>,
    read_timeout_s: Option<u32>,
    reconnect_max_s: Option<u32>,
    max_clients: Option<usize>,
    receive_buffer_kb: Option<usize>,
}

/// Keys that only some kinds use, and those kinds.
const KIND_SPECIFIC_KEYS: [(&str, &[SourceKindName]); 8] = {
    use SourceKindName::{File, Serial, Tcp, TcpListen, Udp};
    [
        ("address", &[Tcp, TcpListen, Udp]),
        ("path", &[Serial, File]),
        ("baud", &[Serial]),
        ("follow", &[File]),
        ("max_clients", &[TcpListen]),
        ("read_timeout_s", &[Tcp, TcpListen, Udp, Serial]),
        ("reconnect_max_s", &[Tcp, TcpListen, Udp, Serial]),
        ("receive_buffer_kb", &[Udp]),
    ]
};

/// Where one `[[source]]` is written, to point each of its problems at a line.
struct SourceAt<'a, 'de> {
    index: usize,
    /// Where the section's header starts, and its table, when the file has it as a table.
    item: Option<(usize, &'a DeTable<'de>)>,
}

impl SourceAt<'_, '_> {
    fn field(&self, key: &str) -> String {
        format!("source[{}].{key}", self.index)
    }

    /// The setting's line, or the section header's when the setting is left out.
    fn at(&self, key: &str) -> Option<usize> {
        let (header, table) = self.item?;
        Some(table.get(key).map_or(header, |v| v.span().start))
    }

    fn fail(&self, problems: &mut TomlProblems<'_>, key: &str, message: String) {
        problems.push(self.at(key), Some(&self.field(key)), message);
    }

    /// A key already reported (wrong type, or not for this kind) is not judged again.
    fn reported(&self, problems: &TomlProblems<'_>, key: &str) -> bool {
        problems.mentions(&self.field(key))
    }

    /// A key the kind needs and the file left out (unless it was reported already).
    fn require(
        &self,
        problems: &mut TomlProblems<'_>,
        kind: SourceKindName,
        key: &str,
        what: &str,
    ) {
        if !self.reported(problems, key) {
            self.fail(
                problems,
                key,
                format!("is required for a {kind} source: {what}"),
            );
        }
    }
}

/// What the checks of one source need to know of the sources before it.
#[derive(Default)]
struct EarlierSources {
    names: Vec<(String, usize)>,
    listeners: Vec<(&'static str, SocketAddr, usize)>,
    stdin_at: Option<usize>,
}

/// A source's numeric settings, defaults filled in, each judged.
struct SourceLimits {
    max_line_bytes: usize,
    read_timeout_s: u32,
    reconnect_max_s: u32,
    max_clients: usize,
    baud: u32,
    receive_buffer_kb: Option<usize>,
}

/// Checks every `[[source]]` and builds the specs of the good ones; problems go to `problems`,
/// each at the line of the setting concerned (or of the section's header when it is missing).
pub(super) fn check_sources(
    raw: &[RawSource],
    doc: &DeTable<'_>,
    folder: &Path,
    problems: &mut TomlProblems<'_>,
) -> Vec<SourceSpec> {
    let items = source_tables(doc);
    let mut earlier = EarlierSources::default();
    let mut specs = Vec::new();
    for (index, source) in raw.iter().enumerate() {
        let place = SourceAt {
            index,
            item: items.get(index).copied().flatten(),
        };
        if let Some(spec) = check_source(source, &place, folder, &mut earlier, problems) {
            specs.push(spec);
        }
    }
    specs
}

/// Each `[[source]]` table as the document has it, by position.
fn source_tables<'a, 'de>(doc: &'a DeTable<'de>) -> Vec<Option<(usize, &'a DeTable<'de>)>> {
    match doc.get("source").map(|v| v.get_ref()) {
        Some(DeValue::Array(items)) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Table(table) => Some((item.span().start, table)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// One source's checks; its spec when none of them found a problem.
fn check_source(
    source: &RawSource,
    place: &SourceAt<'_, '_>,
    folder: &Path,
    earlier: &mut EarlierSources,
    problems: &mut TomlProblems<'_>,
) -> Option<SourceSpec> {
    let before = problems.count();
    let name = check_name(source, place, earlier, problems);
    let kind = check_kind(source, place, problems);
    if let Some(kind) = kind {
        check_kind_specific_keys(source, kind, place, problems);
    }
    let limits = check_limits(source, place, problems);
    let station = check_station(source, place, problems);
    let built =
        kind.and_then(|kind| build_kind(source, kind, &limits, place, folder, earlier, problems));
    if problems.count() != before {
        return None;
    }
    Some(SourceSpec {
        name: Arc::from(name?),
        kind: built?,
        trust_data_time: source.trust_data_time.unwrap_or(true),
        station,
        max_line_bytes: limits.max_line_bytes,
        read_timeout: Duration::from_secs(u64::from(limits.read_timeout_s)),
        receive_buffer_bytes: limits.receive_buffer_kb.map(|kb| kb * 1024),
        reconnect: ReconnectPolicy::up_to(Duration::from_secs(u64::from(limits.reconnect_max_s))),
    })
}

/// The source's name: required, printable, short and unique.
fn check_name(
    source: &RawSource,
    place: &SourceAt<'_, '_>,
    earlier: &mut EarlierSources,
    problems: &mut TomlProblems<'_>,
) -> Option<String> {
    let fail = |problems: &mut TomlProblems<'_>, message: &str| {
        place.fail(problems, "name", message.to_owned());
    };
    match source.name.as_deref().map(str::trim) {
        None if place.reported(problems, "name") => None,
        None => {
            fail(
                problems,
                "is required: a unique name that tags the source's lines, logs and metrics",
            );
            None
        }
        Some("") => {
            fail(problems, "must not be empty");
            None
        }
        Some(name) if name.chars().any(char::is_control) => {
            fail(problems, "must not contain control characters");
            None
        }
        Some(name) if name.chars().count() > 64 => {
            fail(problems, "must be at most 64 characters");
            None
        }
        Some(name) => {
            if let Some((_, first)) = earlier.names.iter().find(|(seen, _)| seen == name) {
                fail(
                    problems,
                    &format!(
                        "duplicate source name {name:?}: source[{first}] already uses it; \
                         names must be unique"
                    ),
                );
            } else {
                earlier.names.push((name.to_owned(), place.index));
            }
            Some(name.to_owned())
        }
    }
}

/// The source's kind, when it is one of [`SourceKindName::ALL`].
fn check_kind(
    source: &RawSource,
    place: &SourceAt<'_, '_>,
    problems: &mut TomlProblems<'_>,
) -> Option<SourceKindName> {
    match source.kind.as_deref() {
        None if place.reported(problems, "kind") => None,
        None => {
            place.fail(
                problems,
                "kind",
                format!("is required: one of {}", SourceKindName::NAMES.join(", ")),
            );
            None
        }
        Some(kind) if SourceKindName::parse(kind).is_some() => SourceKindName::parse(kind),
        Some(other) => {
            place.fail(
                problems,
                "kind",
                format!(
                    "unknown kind {other:?}; expected one of {}",
                    SourceKindName::NAMES.join(", ")
                ),
            );
            None
        }
    }
}

/// Settings this kind would ignore.
fn check_kind_specific_keys(
    source: &RawSource,
    kind: SourceKindName,
    place: &SourceAt<'_, '_>,
    problems: &mut TomlProblems<'_>,
) {
    let set = [
        ("address", source.address.is_some()),
        ("path", source.path.is_some()),
        ("baud", source.baud.is_some()),
        ("follow", source.follow.is_some()),
        ("max_clients", source.max_clients.is_some()),
        ("read_timeout_s", source.read_timeout_s.is_some()),
        ("reconnect_max_s", source.reconnect_max_s.is_some()),
        ("receive_buffer_kb", source.receive_buffer_kb.is_some()),
    ];
    for ((key, kinds), (_, is_set)) in KIND_SPECIFIC_KEYS.iter().zip(set) {
        if is_set && !kinds.contains(&kind) {
            place.fail(
                problems,
                key,
                format!(
                    "applies to {} sources only; this is a {kind} source",
                    kinds
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
}

/// The numeric settings, judged whether or not the kind uses them (a kind that does not was
/// reported already, and is not judged again).
fn check_limits(
    source: &RawSource,
    place: &SourceAt<'_, '_>,
    problems: &mut TomlProblems<'_>,
) -> SourceLimits {
    let judged = |problems: &TomlProblems<'_>, key: &str| !place.reported(problems, key);
    let max_line_bytes = source.max_line_bytes.unwrap_or(DEFAULT_MAX_LINE_BYTES);
    if !(82..=1_048_576).contains(&max_line_bytes) && judged(problems, "max_line_bytes") {
        place.fail(
            problems,
            "max_line_bytes",
            format!(
                "must lie in 82..=1048576 (an NMEA sentence alone is up to 82 bytes), got \
                 {max_line_bytes}"
            ),
        );
    }
    let read_timeout_s = source.read_timeout_s.unwrap_or(DEFAULT_READ_TIMEOUT_S);
    if !(1..=86_400).contains(&read_timeout_s) && judged(problems, "read_timeout_s") {
        place.fail(
            problems,
            "read_timeout_s",
            format!("must lie in 1..=86400 seconds, got {read_timeout_s}"),
        );
    }
    let reconnect_max_s = source.reconnect_max_s.unwrap_or(DEFAULT_RECONNECT_MAX_S);
    if !(1..=3600).contains(&reconnect_max_s) && judged(problems, "reconnect_max_s") {
        place.fail(
            problems,
            "reconnect_max_s",
            format!("must lie in 1..=3600 seconds, got {reconnect_max_s}"),
        );
    }
    let max_clients = source.max_clients.unwrap_or(DEFAULT_MAX_CLIENTS);
    if !(1..=1024).contains(&max_clients) && judged(problems, "max_clients") {
        place.fail(
            problems,
            "max_clients",
            format!("must lie in 1..=1024, got {max_clients}"),
        );
    }
    let baud = source.baud.unwrap_or(DEFAULT_BAUD);
    if !SUPPORTED_BAUDS.contains(&baud) && judged(problems, "baud") {
        place.fail(
            problems,
            "baud",
            format!(
                "must be one of {SUPPORTED_BAUDS:?} (AIS receivers usually use 38400), got \
                 {baud}"
            ),
        );
    }
    let receive_buffer_kb = source.receive_buffer_kb;
    if receive_buffer_kb.is_some_and(|kb| !(4..=1_048_576).contains(&kb))
        && judged(problems, "receive_buffer_kb")
    {
        place.fail(
            problems,
            "receive_buffer_kb",
            format!(
                "must lie in 4..=1048576 KiB, got {}",
                receive_buffer_kb.unwrap_or_default()
            ),
        );
    }
    SourceLimits {
        max_line_bytes,
        read_timeout_s,
        reconnect_max_s,
        max_clients,
        baud,
        receive_buffer_kb,
    }
}

fn check_station(
    source: &RawSource,
    place: &SourceAt<'_, '_>,
    problems: &mut TomlProblems<'_>,
) -> Option<Arc<str>> {
    match source.station.as_deref().map(str::trim) {
        Some("") => {
            place.fail(
                problems,
                "station",
                "must not be empty; leave the key out when the data names its station".to_owned(),
            );
            None
        }
        other => other.map(Arc::<str>::from),
    }
}

/// What the source reads from, by kind.
fn build_kind(
    source: &RawSource,
    kind: SourceKindName,
    limits: &SourceLimits,
    place: &SourceAt<'_, '_>,
    folder: &Path,
    earlier: &mut EarlierSources,
    problems: &mut TomlProblems<'_>,
) -> Option<SourceKind> {
    match kind {
        SourceKindName::Tcp => check_feed(source, place, problems),
        SourceKindName::TcpListen | SourceKindName::Udp => {
            check_listener(source, kind, limits.max_clients, place, earlier, problems)
        }
        SourceKindName::Serial | SourceKindName::File => {
            check_path(source, kind, limits.baud, place, folder, problems)
        }
        SourceKindName::Stdin => {
            if let Some(first) = earlier.stdin_at {
                place.fail(
                    problems,
                    "kind",
                    format!("source[{first}] already reads standard input; there is only one"),
                );
            }
            earlier.stdin_at.get_or_insert(place.index);
            Some(SourceKind::Stdin)
        }
    }
}

/// A `tcp` source: the feed it connects to.
fn check_feed(
    source: &RawSource,
    place: &SourceAt<'_, '_>,
    problems: &mut TomlProblems<'_>,
) -> Option<SourceKind> {
    let Some(address) = source.address.as_deref() else {
        place.require(
            problems,
            SourceKindName::Tcp,
            "address",
            "the feed's host:port, e.g. \"153.44.253.27:5631\"",
        );
        return None;
    };
    match check_host_port(address) {
        Ok(()) => Some(SourceKind::Tcp {
            address: address.to_owned(),
        }),
        Err(message) => {
            place.fail(problems, "address", message);
            None
        }
    }
}

/// A `tcp-listen` or `udp` source: the address it listens on, which no earlier listener of
/// the same protocol may hold.
fn check_listener(
    source: &RawSource,
    kind: SourceKindName,
    max_clients: usize,
    place: &SourceAt<'_, '_>,
    earlier: &mut EarlierSources,
    problems: &mut TomlProblems<'_>,
) -> Option<SourceKind> {
    let Some(address) = source.address.as_deref() else {
        place.require(
            problems,
            kind,
            "address",
            "the address and port to listen on, e.g. \"0.0.0.0:10110\"",
        );
        return None;
    };
    let address = match check_listen_address(address) {
        Ok(address) => address,
        Err(message) => {
            place.fail(problems, "address", message);
            return None;
        }
    };
    let protocol = if kind == SourceKindName::Udp {
        "udp"
    } else {
        "tcp"
    };
    if let Some((_, other, j)) = earlier
        .listeners
        .iter()
        .find(|(p, other, _)| *p == protocol && listen_addresses_clash(*other, address))
    {
        place.fail(
            problems,
            "address",
            format!("{address} clashes with source[{j}], which listens on {other} ({protocol})"),
        );
    }
    earlier.listeners.push((protocol, address, place.index));
    Some(if kind == SourceKindName::Udp {
        SourceKind::Udp { address }
    } else {
        SourceKind::TcpListen {
            address,
            max_clients,
        }
    })
}

/// A `serial` or `file` source: the device or file it reads.
fn check_path(
    source: &RawSource,
    kind: SourceKindName,
    baud: u32,
    place: &SourceAt<'_, '_>,
    folder: &Path,
    problems: &mut TomlProblems<'_>,
) -> Option<SourceKind> {
    let path = match &source.path {
        None => {
            let what = if kind == SourceKindName::Serial {
                "the device, e.g. \"/dev/ttyUSB0\""
            } else {
                "the file to read"
            };
            place.require(problems, kind, "path", what);
            return None;
        }
        Some(path) if path.as_os_str().is_empty() => {
            place.fail(problems, "path", "must not be empty".to_owned());
            return None;
        }
        Some(path) => resolve_against(folder, path),
    };
    if kind == SourceKindName::Serial {
        Some(SourceKind::Serial { path, baud })
    } else if path.extension().is_some_and(|e| e == "gz") {
        place.fail(
            problems,
            "path",
            "a compressed file cannot be followed or read live; read it with `aisgap replay`"
                .to_owned(),
        );
        None
    } else {
        Some(SourceKind::File {
            path,
            follow: source.follow.unwrap_or(true),
        })
    }
}

/// A feed address: `host:port`, `a.b.c.d:port` or `[v6]:port`, port 1..=65535.
fn check_host_port(address: &str) -> Result<(), String> {
    let example = "write it as host:port, e.g. \"153.44.253.27:5631\" or \"ais.example.org:5631\"";
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("{address:?} has no port; {example}"));
    };
    check_port(address, port)?;
    if let Some(inner) = host.strip_prefix('[') {
        let valid = inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
        return if valid {
            Ok(())
        } else {
            Err(format!(
                "{address:?} has a malformed IPv6 address; write it as [2001:db8::1]:5631"
            ))
        };
    }
    if host.contains(':') {
        return Err(format!(
            "{address:?}: an IPv6 address needs brackets, e.g. [2001:db8::1]:5631"
        ));
    }
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if host_ok {
        Ok(())
    } else {
        Err(format!("{address:?} has no valid host name; {example}"))
    }
}

fn check_port(address: &str, port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(0) => Err(format!("{address:?}: port 0 is not a port to use")),
        Ok(port) => Ok(port),
        Err(_) => Err(format!(
            "{address:?}: the port must be a number in 1..=65535, got {port:?}"
        )),
    }
}

/// A listening address: an IP literal and a port (a host name would leave unclear which
/// interface is meant).
fn check_listen_address(address: &str) -> Result<SocketAddr, String> {
    if let Some((_, port)) = address.rsplit_once(':') {
        check_port(address, port)?;
    }
    address.parse::<SocketAddr>().map_err(|_| {
        format!(
            "{address:?} is not an IP address and port; listen on e.g. \"0.0.0.0:10110\" (every \
             interface) or \"127.0.0.1:10110\" (this machine only)"
        )
    })
}

/// Two listeners of one protocol that could not both bind.
fn listen_addresses_clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && (a.ip() == b.ip()
            || (a.is_ipv4() == b.is_ipv4() && (a.ip().is_unspecified() || b.ip().is_unspecified())))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{problems, setup, MINIMAL};
    use super::super::Config;
    use super::*;

    #[test]
    fn every_kind_of_source_becomes_a_spec() {
        let (dir, path) = setup(&format!(
            "{MINIMAL}
[[source]]
name = \"norway\"
kind = \"tcp\"
address = \"153.44.253.27:5631\"
read_timeout_s = 30
reconnect_max_s = 120

[[source]]
name = \"push\"
kind = \"tcp-listen\"
address = \"127.0.0.1:5000\"
max_clients = 4
station = \"roof\"

[[source]]
name = \"catcher\"
kind = \"udp\"
address = \"[::]:10110\"
trust_data_time = false

[[source]]
name = \"dongle\"
kind = \"serial\"
path = \"/dev/ttyUSB0\"

[[source]]
name = \"log\"
kind = \"file\"
path = \"logs/ais.nmea\"
max_line_bytes = 512

[[source]]
name = \"old\"
kind = \"file\"
path = \"/var/log/old.nmea\"
follow = false

[[source]]
name = \"pipe\"
kind = \"stdin\"
"
        ));
        let config = Config::load(&path).unwrap();
        let specs = &config.sources;
        assert_eq!(specs.len(), 7);
        assert_eq!(&*specs[0].name, "norway");
        assert_eq!(
            specs[0].kind,
            SourceKind::Tcp {
                address: "153.44.253.27:5631".into()
            }
        );
        assert_eq!(specs[0].read_timeout, Duration::from_secs(30));
        assert_eq!(specs[0].reconnect.max, Duration::from_secs(120));
        assert_eq!(specs[0].reconnect.initial, Duration::from_secs(1));
        assert!(specs[0].trust_data_time);
        assert_eq!(specs[0].station, None);
        assert_eq!(specs[0].max_line_bytes, DEFAULT_MAX_LINE_BYTES);
        assert_eq!(
            specs[1].kind,
            SourceKind::TcpListen {
                address: "127.0.0.1:5000".parse().unwrap(),
                max_clients: 4
            }
        );
        assert_eq!(specs[1].station.as_deref(), Some("roof"));
        assert_eq!(specs[1].read_timeout, Duration::from_secs(120), "default");
        assert_eq!(
            specs[2].kind,
            SourceKind::Udp {
                address: "[::]:10110".parse().unwrap()
            }
        );
        assert!(!specs[2].trust_data_time);
        assert_eq!(
            specs[3].kind,
            SourceKind::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 38_400
            }
        );
        assert_eq!(
            specs[4].kind,
            SourceKind::File {
                path: dir.path().join("logs/ais.nmea"),
                follow: true
            },
            "relative to the config's folder, followed by default"
        );
        assert_eq!(specs[4].max_line_bytes, 512);
        assert_eq!(
            specs[5].kind,
            SourceKind::File {
                path: "/var/log/old.nmea".into(),
                follow: false
            }
        );
        assert_eq!(specs[6].kind, SourceKind::Stdin);

        let summary = config.summary();
        assert!(summary.contains("Sources: 7"), "{summary}");
        assert!(
            summary.contains("norway   tcp client of 153.44.253.27:5631; stall after 30 s"),
            "{summary}"
        );
        assert!(
            summary.contains("serial /dev/ttyUSB0 at 38400 baud"),
            "{summary}"
        );
        assert!(summary.contains("times of receipt"), "{summary}");
        let notes: Vec<&str> = summary.lines().filter(|l| l.starts_with("Note:")).collect();
        assert_eq!(
            notes.len(),
            1,
            "only the udp listener is open to others: {summary}"
        );
        assert!(
            notes[0].contains("source catcher listens on [::]:10110"),
            "{summary}"
        );
    }

    #[test]
    fn every_source_problem_is_listed_with_its_line_and_field() {
        let text = format!(
            "{MINIMAL}
[[source]]
kind = \"tcp\"
address = \"feed.example.org\"

[[source]]
name = \"a\"
kind = \"tpc\"

[[source]]
name = \"a\"
kind = \"udp\"
address = \"localhost:10110\"
baud = 9600

[[source]]
name = \"b\"
kind = \"serial\"
baud = 12345
max_line_bytes = 10

[[source]]
name = \"c\"
kind = \"file\"
path = \"x.nmea.gz\"
read_timeout_s = 0

[[source]]
name = \"d\"
kind = \"tcp-listen\"
address = \"0.0.0.0:10110\"
max_clients = 0
colour = \"red\"

[[source]]
name = \"e\"
kind = \"tcp-listen\"
address = \"127.0.0.1:10110\"

[[source]]
name = \"f\"
kind = \"stdin\"

[[source]]
name = \"g\"
kind = \"stdin\"
follow = \"yes\"

[[source]]
name = \"h\"
kind = \"tcp\"
address = \"ais.example.org:70000\"
station = \" \"
"
        );
        let found = problems(&text);
        let got: Vec<(String, String)> = found
            .iter()
            .map(|p| {
                (
                    p.location.clone().unwrap_or_default(),
                    p.field.clone().unwrap_or_default(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = [
            (4, "source[0].name"),
            (6, "source[0].address"),
            (10, "source[1].kind"),
            (13, "source[2].name"),
            (15, "source[2].address"),
            (16, "source[2].baud"),
            (18, "source[3].path"),
            (21, "source[3].baud"),
            (22, "source[3].max_line_bytes"),
            (27, "source[4].path"),
            (28, "source[4].read_timeout_s"),
            (34, "source[5].max_clients"),
            (35, "source[5].colour"),
            (40, "source[6].address"),
            (48, "source[8].kind"),
            (49, "source[8].follow"),
            (54, "source[9].address"),
            (55, "source[9].station"),
        ]
        .iter()
        .map(|(line, field)| (format!("line {line}"), field.to_string()))
        .collect();
        let rendered: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(got, want, "{rendered:#?}");
        let message = |field: &str| {
            found
                .iter()
                .find(|p| p.field.as_deref() == Some(field))
                .map(|p| p.message.clone())
                .unwrap()
        };
        assert!(message("source[0].name").starts_with("is required"));
        assert!(message("source[0].address").contains("has no port"));
        assert!(message("source[1].kind").contains("unknown kind \"tpc\""));
        assert!(message("source[2].name").contains("duplicate source name \"a\""));
        assert!(message("source[2].address").contains("not an IP address and port"));
        assert!(message("source[2].baud").contains("applies to serial sources only"));
        assert!(message("source[3].path").starts_with("is required for a serial source"));
        assert!(message("source[3].baud").contains("got 12345"));
        assert!(message("source[4].path").contains("aisgap replay"));
        assert!(message("source[4].read_timeout_s").contains("this is a file source"));
        assert!(message("source[6].address").contains("clashes with source[5]"));
        assert!(message("source[8].kind").contains("source[7] already reads standard input"));
        assert!(message("source[8].follow").contains("expected true or false"));
        assert!(message("source[9].address").contains("1..=65535"));
    }

    #[test]
    fn feed_and_listen_addresses() {
        for ok in [
            "153.44.253.27:5631",
            "ais.example.org:5631",
            "localhost:1",
            "[2001:db8::1]:65535",
            "my_relay:10110",
        ] {
            assert_eq!(check_host_port(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ais.example.org",
            ":5631",
            "host:0",
            "host:port",
            "2001:db8::1:5631",
            "[2001:db8::zz]:5631",
            "bad host:5631",
        ] {
            assert!(check_host_port(bad).is_err(), "{bad}");
        }
        assert!(check_listen_address("0.0.0.0:10110").is_ok());
        assert!(check_listen_address("[::1]:10110").is_ok());
        assert!(check_listen_address("0.0.0.0:0")
            .unwrap_err()
            .contains("port 0"));
        assert!(check_listen_address("localhost:10110").is_err());
        let any = "0.0.0.0:10110".parse().unwrap();
        let local = "127.0.0.1:10110".parse().unwrap();
        let other_port = "127.0.0.1:10111".parse().unwrap();
        let v6_any = "[::]:10110".parse().unwrap();
        assert!(listen_addresses_clash(any, local));
        assert!(!listen_addresses_clash(local, other_port));
        assert!(
            !listen_addresses_clash(local, v6_any),
            "separate families bind apart"
        );
    }
}
