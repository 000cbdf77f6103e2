//! What a source is: its checked settings ([`SourceSpec`]), where its bytes come from
//! ([`SourceKind`], named by [`SourceKindName`]), the defaults the configuration falls back
//! on, and the line it hands on ([`RawLine`], with its [`FileMark`] when it comes from a file).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::source::backoff::ReconnectPolicy;
use crate::time::UnixMillis;

/// Longest line kept unless the configuration says otherwise. An NMEA sentence is at most 82
/// bytes; tag blocks and relay prefixes add a few hundred at most.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4096;
/// Silence after which a connection is taken for dead, in seconds. Busy feeds send several
/// lines a second, and even a quiet receiver hears base stations every 10 s.
pub const DEFAULT_READ_TIMEOUT_S: u32 = 120;
/// Longest wait between reconnect attempts, in seconds.
pub const DEFAULT_RECONNECT_MAX_S: u32 = 60;
/// The usual rate of AIS receivers' NMEA output (IEC 61162-2).
pub const DEFAULT_BAUD: u32 = 38_400;
/// Receivers that may push to one `tcp-listen` source at once.
pub const DEFAULT_MAX_CLIENTS: usize = 16;

/// One line as received, without its line ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawLine {
    /// The configured name of the source it came from.
    pub source: Arc<str>,
    /// Wall-clock time the bytes were read.
    pub received_at: UnixMillis,
    pub line: Vec<u8>,
    /// For a line of a file: where in the file it ends. The store commits it with the line's
    /// effects, so a restarted service takes the file up after the last line it committed.
    pub mark: Option<FileMark>,
}

/// Where a line of a file ends: the file (device and inode, which stay the same while a file
/// is renamed and change when a new file takes over its path) and the byte offset just past the
/// line's ending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileMark {
    pub device: u64,
    pub inode: u64,
    pub offset: u64,
}

/// The checked settings of one source (a `[[source]]` section).
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    /// Unique among the sources; tags every line and log record.
    pub name: Arc<str>,
    pub kind: SourceKind,
    /// Use times found in the data (tag blocks, `$PGHP`) rather than the receive time. Carried
    /// for the decoder; sources stamp the receive time either way.
    pub trust_data_time: bool,
    /// Receiving station recorded with every fix whose data names none. Carried for the decoder.
    pub station: Option<Arc<str>>,
    /// Longer lines are dropped and counted as `too_long`.
    pub max_line_bytes: usize,
    /// Silence after which a connection or device is reopened (a stall). Not used by files.
    pub read_timeout: Duration,
    pub reconnect: ReconnectPolicy,
    /// The socket's receive buffer (`SO_RCVBUF`) when set; UDP only, the kernel's default
    /// otherwise. A bigger one rides out bursts the service cannot take at once.
    pub receive_buffer_bytes: Option<usize>,
}

impl SourceSpec {
    /// A source with the documented defaults.
    pub fn new(name: &str, kind: SourceKind) -> SourceSpec {
        SourceSpec {
            name: Arc::from(name),
            kind,
            trust_data_time: true,
            station: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            read_timeout: Duration::from_secs(u64::from(DEFAULT_READ_TIMEOUT_S)),
            reconnect: ReconnectPolicy::up_to(Duration::from_secs(u64::from(
                DEFAULT_RECONNECT_MAX_S,
            ))),
            receive_buffer_bytes: None,
        }
    }
}

/// Where a source's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Connect to a feed at `host:port` (resolved at every attempt, so a moved feed is found).
    Tcp { address: String },
    /// Accept receivers that push lines; at most `max_clients` at once.
    TcpListen {
        address: SocketAddr,
        max_clients: usize,
    },
    /// Receive datagrams, each holding one or more lines.
    Udp { address: SocketAddr },
    /// A serial device, raw, at `baud`.
    Serial { path: PathBuf, baud: u32 },
    /// A file: read once to its end, or followed like `tail -F`.
    File { path: PathBuf, follow: bool },
    /// Standard input, read to its end.
    Stdin,
}

impl SourceKind {
    /// Which kind this is, without its settings.
    pub fn name(&self) -> SourceKindName {
        match self {
            SourceKind::Tcp { .. } => SourceKindName::Tcp,
            SourceKind::TcpListen { .. } => SourceKindName::TcpListen,
            SourceKind::Udp { .. } => SourceKindName::Udp,
            SourceKind::Serial { .. } => SourceKindName::Serial,
            SourceKind::File { .. } => SourceKindName::File,
            SourceKind::Stdin => SourceKindName::Stdin,
        }
    }

    /// The `kind` value that selects it in the configuration.
    pub fn label(&self) -> &'static str {
        self.name().as_str()
    }
}

/// The kinds of source, by the `kind` value that selects each in the configuration: the one
/// list of those names, for the configuration to check against and the logs to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKindName {
    Tcp,
    TcpListen,
    Udp,
    Serial,
    File,
    Stdin,
}

impl SourceKindName {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [SourceKindName; 6] = [
        SourceKindName::Tcp,
        SourceKindName::TcpListen,
        SourceKindName::Udp,
        SourceKindName::Serial,
        SourceKindName::File,
        SourceKindName::Stdin,
    ];

    /// The `kind` values of [`Self::ALL`], for messages that list the choices.
    pub const NAMES: [&'static str; 6] = [
        SourceKindName::Tcp.as_str(),
        SourceKindName::TcpListen.as_str(),
        SourceKindName::Udp.as_str(),
        SourceKindName::Serial.as_str(),
        SourceKindName::File.as_str(),
        SourceKindName::Stdin.as_str(),
    ];

    /// The `kind` value in the configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            SourceKindName::Tcp => "tcp",
            SourceKindName::TcpListen => "tcp-listen",
            SourceKindName::Udp => "udp",
            SourceKindName::Serial => "serial",
            SourceKindName::File => "file",
            SourceKindName::Stdin => "stdin",
        }
    }

    /// The kind a configuration's `kind` value selects; exact and case-sensitive, as the
    /// configuration has always been.
    pub fn parse(text: &str) -> Option<SourceKindName> {
        SourceKindName::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for SourceKindName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip_and_match_the_labels() {
        for kind in SourceKindName::ALL {
            assert_eq!(SourceKindName::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            SourceKindName::NAMES,
            ["tcp", "tcp-listen", "udp", "serial", "file", "stdin"]
        );
        assert_eq!(SourceKindName::parse("TCP"), None);
        assert_eq!(SourceKindName::parse(""), None);
        let listen = SourceKind::TcpListen {
            address: "127.0.0.1:1".parse().unwrap(),
            max_clients: 1,
        };
        assert_eq!(listen.label(), "tcp-listen");
        assert_eq!(SourceKind::Stdin.name(), SourceKindName::Stdin);
    }
}
