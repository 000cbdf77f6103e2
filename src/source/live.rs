//! What every live source shares: the line it hands on ([`RawLine`]), its checked settings
//! ([`SourceSpec`]), its counters ([`SourceMetrics`]), line framing with a length bound,
//! reconnect backoff, and [`run_source`], the one entry point the service calls per source.
//!
//! Sources do I/O and framing only. They stamp each line with the wall-clock time it was read
//! (the stream clock is the engine's; this layer is the one place the wall clock is read for
//! data) and never judge content: a garbage line is the decoder's to count.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

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
/// A connection that stayed up this long was healthy: the next failure starts the backoff anew.
pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(60);

/// Bytes asked of the operating system per read: many lines at once on a busy feed, and small
/// enough that one read never holds much memory.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// One line as received, without its line ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawLine {
    /// The configured name of the source it came from.
    pub source: Arc<str>,
    /// Wall-clock time the bytes were read.
    pub received_at: UnixMillis,
    pub line: Vec<u8>,
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
    /// The `kind` value that selects it in the configuration.
    pub fn label(&self) -> &'static str {
        match self {
            SourceKind::Tcp { .. } => "tcp",
            SourceKind::TcpListen { .. } => "tcp-listen",
            SourceKind::Udp { .. } => "udp",
            SourceKind::Serial { .. } => "serial",
            SourceKind::File { .. } => "file",
            SourceKind::Stdin => "stdin",
        }
    }
}

/// How long to wait between attempts to reach a feed or device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Base of the first wait; doubles per failure.
    pub initial: Duration,
    /// Cap on the wait.
    pub max: Duration,
    /// A connection that lasted this long resets the doubling.
    pub reset_after: Duration,
}

impl ReconnectPolicy {
    /// Start at one second (or `max` if smaller) and double up to `max`.
    pub fn up_to(max: Duration) -> ReconnectPolicy {
        ReconnectPolicy {
            initial: Duration::from_secs(1).min(max),
            max,
            reset_after: BACKOFF_RESET_AFTER,
        }
    }
}

/// Exponential backoff with "equal jitter": each wait lies between half and all of the doubled
/// base. The jitter is drawn from the source name, so runs are reproducible while sources that
/// lost the same server do not all come back in the same instant.
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: ReconnectPolicy,
    failures: u32,
    seed: u64,
}

impl Backoff {
    pub fn new(policy: ReconnectPolicy, name: &str) -> Backoff {
        // FNV-1a: stable across builds, unlike the standard hasher's promise.
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Backoff {
            policy,
            failures: 0,
            seed,
        }
    }

    /// The wait before the next attempt; each call counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let doubled = self
            .policy
            .initial
            .saturating_mul(1u32 << self.failures.min(20));
        let base = doubled.min(self.policy.max);
        self.failures = self.failures.saturating_add(1);
        let draw = splitmix64(self.seed ^ u64::from(self.failures));
        let fraction = (draw >> 11) as f64 / (1u64 << 53) as f64;
        base / 2 + base.mul_f64(fraction / 2.0)
    }

    /// Tells how long the connection that just ended had been up.
    pub fn connection_lasted(&mut self, up: Duration) {
        if up >= self.policy.reset_after {
            self.failures = 0;
        }
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Counters of one source, shared between its task and whoever reports them.
#[derive(Debug, Default)]
pub struct SourceMetrics {
    /// Connections made, clients accepted, devices or files opened.
    pub(crate) connects: AtomicU64,
    /// Connections, clients, devices or files that ended (closed, failed, stalled, rotated).
    pub(crate) disconnects: AtomicU64,
    /// Read timeouts: a connection, client or device that went silent.
    pub(crate) stalls: AtomicU64,
    /// Lines handed on.
    pub(crate) lines: AtomicU64,
    /// Bytes read, garbage included.
    pub(crate) bytes: AtomicU64,
    /// Lines longer than `max_line_bytes`, dropped.
    pub(crate) too_long: AtomicU64,
    /// Lines dropped because the channel was full (UDP only: the rest wait instead).
    pub(crate) dropped: AtomicU64,
    /// Failed connects, opens, binds, reads, and clients refused over the limit.
    pub(crate) errors: AtomicU64,
    /// Open connections, clients, devices, files or bound sockets right now.
    pub(crate) connected: AtomicU64,
    /// Receive time of the last line handed on; 0 before the first.
    pub(crate) last_line_at_ms: AtomicI64,
}

/// A point-in-time copy of [`SourceMetrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SourceMetricsSnapshot {
    pub connects: u64,
    pub disconnects: u64,
    pub stalls: u64,
    pub lines: u64,
    pub bytes: u64,
    pub too_long: u64,
    pub dropped: u64,
    pub errors: u64,
    /// Open connections (or clients, devices, files, bound sockets) at the moment of the copy.
    pub connected: u64,
    pub last_line_at: Option<UnixMillis>,
}

impl SourceMetrics {
    pub fn snapshot(&self) -> SourceMetricsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let last = self.last_line_at_ms.load(Ordering::Relaxed);
        SourceMetricsSnapshot {
            connects: get(&self.connects),
            disconnects: get(&self.disconnects),
            stalls: get(&self.stalls),
            lines: get(&self.lines),
            bytes: get(&self.bytes),
            too_long: get(&self.too_long),
            dropped: get(&self.dropped),
            errors: get(&self.errors),
            connected: get(&self.connected),
            last_line_at: (last != 0).then_some(UnixMillis(last)),
        }
    }

    /// Adds one and returns the new count.
    pub(crate) fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) -> u64 {
        counter.fetch_add(n, Ordering::Relaxed) + n
    }

    pub(crate) fn opened(&self) {
        Self::bump(&self.connects);
        self.connected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self) {
        Self::bump(&self.disconnects);
        // Saturating: a close is never counted without its open, but a gauge must not wrap.
        let _ = self
            .connected
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// Marks one connection, client, device or file as open for as long as it lives; dropping it
/// (also when a task is aborted) counts the disconnect.
#[derive(Debug)]
pub(crate) struct Opened(Arc<SourceMetrics>);

impl Opened {
    pub fn new(metrics: &Arc<SourceMetrics>) -> Opened {
        metrics.opened();
        Opened(metrics.clone())
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.0.closed();
    }
}

/// A counter of repeated trouble is logged at 1, 2, 4, 8, ...: the first occurrence is seen at
/// once and a flood cannot flood the log.
pub(crate) fn worth_logging(count: u64) -> bool {
    count.is_power_of_two()
}

/// Why a source stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {name}: cannot open {}: {error}", path.display())]
    Open {
        name: Arc<str>,
        path: PathBuf,
        #[source]
        error: io::Error,
    },
    #[error("source {name}: reading {what} failed: {error}")]
    Read {
        name: Arc<str>,
        what: String,
        #[source]
        error: io::Error,
    },
    #[error("source {name}: {problem}")]
    Unsupported { name: Arc<str>, problem: String },
}

/// Runs one source until `shutdown` is cancelled (it then returns within a few milliseconds),
/// until a one-shot file or standard input ends, or until the receiving end of `lines` is
/// dropped. Network and device trouble is logged, counted and retried, never returned.
///
/// Backpressure: TCP, serial, file and stdin sources stop reading while `lines` is full, so
/// nothing is lost; UDP cannot make its senders wait, so it drops whole datagrams and counts
/// their lines in `dropped`.
pub async fn run_source(
    spec: SourceSpec,
    lines: Sender<RawLine>,
    metrics: Arc<SourceMetrics>,
    shutdown: CancellationToken,
) -> Result<(), SourceError> {
    let out = Emitter {
        name: spec.name.clone(),
        max_line_bytes: spec.max_line_bytes,
        lines,
        metrics,
        shutdown,
    };
    info!(source = %spec.name, kind = spec.kind.label(), "Source starting.");
    let result = match &spec.kind {
        SourceKind::Tcp { address } => {
            crate::source::tcp::run_client(&spec, address, &out).await;
            Ok(())
        }
        SourceKind::TcpListen {
            address,
            max_clients,
        } => {
            crate::source::tcp::run_listener(&spec, *address, *max_clients, &out).await;
            Ok(())
        }
        SourceKind::Udp { address } => {
            crate::source::udp::run(&spec, *address, &out).await;
            Ok(())
        }
        SourceKind::Serial { path, baud } => {
            crate::source::serial::run(&spec, path, *baud, &out).await
        }
        SourceKind::File { path, follow: true } => {
            crate::source::follow::follow_file(&spec, path, &out).await;
            Ok(())
        }
        SourceKind::File {
            path,
            follow: false,
        } => crate::source::follow::read_file_once(&spec, path, &out).await,
        SourceKind::Stdin => crate::source::follow::read_stdin(&spec, &out).await,
    };
    match &result {
        Ok(()) => info!(source = %spec.name, "Source stopped."),
        Err(err) => warn!(source = %spec.name, error = %err, "Source failed."),
    }
    result
}

/// Wall-clock now, for `received_at`.
pub(crate) fn now_millis() -> UnixMillis {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UnixMillis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}

/// Splits a byte stream into lines: `\n`, `\r\n` and a lone `\r` all end a line, empty lines
/// are skipped, and a line longer than the bound is dropped and counted as soon as it passes
/// the bound, so an endless line never holds more than `max_line_bytes` of memory.
#[derive(Clone, Debug)]
pub struct LineFramer {
    max_line_bytes: usize,
    partial: Vec<u8>,
    /// Inside a line already counted as too long: skip to its end.
    discarding: bool,
}

impl LineFramer {
    pub fn new(max_line_bytes: usize) -> LineFramer {
        LineFramer {
            max_line_bytes: max_line_bytes.max(1),
            partial: Vec::new(),
            discarding: false,
        }
    }

    /// Appends the complete lines in `chunk` (joined to what earlier chunks left) to `lines`;
    /// returns how many too-long lines were dropped.
    pub fn push(&mut self, chunk: &[u8], lines: &mut Vec<Vec<u8>>) -> u64 {
        let mut too_long = 0;
        let mut rest = chunk;
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                if !self.discarding {
                    if self.partial.len() + rest.len() > self.max_line_bytes {
                        too_long += 1;
                        self.partial.clear();
                        self.discarding = true;
                    } else {
                        self.partial.extend_from_slice(rest);
                    }
                }
                break;
            };
            let piece = &rest[..end];
            rest = &rest[end + 1..];
            if self.discarding {
                self.discarding = false;
            } else if self.partial.len() + piece.len() > self.max_line_bytes {
                too_long += 1;
                self.partial.clear();
            } else if !(self.partial.is_empty() && piece.is_empty()) {
                let mut line = Vec::with_capacity(self.partial.len() + piece.len());
                line.extend_from_slice(&self.partial);
                line.extend_from_slice(piece);
                self.partial.clear();
                lines.push(line);
            }
        }
        too_long
    }

    /// The unterminated last line at the end of a stream, if any; the framer starts afresh.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.discarding = false;
        (!self.partial.is_empty()).then(|| std::mem::take(&mut self.partial))
    }

    /// Forgets a partial line: the stream it belonged to is gone and must not be joined to the
    /// next one.
    pub fn reset(&mut self) {
        self.partial.clear();
        self.discarding = false;
    }
}

/// Hands lines to the service on behalf of one source, counting as it goes.
#[derive(Clone, Debug)]
pub(crate) struct Emitter {
    pub name: Arc<str>,
    /// For log records; the framers hold the bound itself.
    pub max_line_bytes: usize,
    pub lines: Sender<RawLine>,
    pub metrics: Arc<SourceMetrics>,
    pub shutdown: CancellationToken,
}

/// What became of a datagram's lines offered without waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    Delivered,
    Dropped,
    Closed,
}

impl Emitter {
    /// Waits for room in the channel (this is the backpressure); false once the source must
    /// stop: shutdown, or nobody is listening any more.
    pub async fn deliver(&self, line: Vec<u8>, received_at: UnixMillis) -> bool {
        let raw = RawLine {
            source: self.name.clone(),
            received_at,
            line,
        };
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => false,
            sent = self.lines.send(raw) => {
                if sent.is_ok() {
                    self.line_delivered(received_at);
                }
                sent.is_ok()
            }
        }
    }

    /// Offers all `lines` at once or none (a datagram's sentences stay together), without
    /// waiting.
    pub fn offer_all(&self, lines: Vec<Vec<u8>>, received_at: UnixMillis) -> Offer {
        if lines.is_empty() {
            return Offer::Delivered;
        }
        let count = lines.len();
        if count > self.lines.max_capacity() {
            // More than the channel can ever hold together: offer them one by one.
            let mut offer = Offer::Delivered;
            for line in lines {
                match self.lines.try_send(self.raw(line, received_at)) {
                    Ok(()) => self.line_delivered(received_at),
                    Err(TrySendError::Full(_)) => {
                        self.dropped(1);
                        offer = Offer::Dropped;
                    }
                    Err(TrySendError::Closed(_)) => return Offer::Closed,
                }
            }
            return offer;
        }
        match self.lines.try_reserve_many(count) {
            Ok(permits) => {
                for (permit, line) in permits.zip(lines) {
                    permit.send(self.raw(line, received_at));
                    self.line_delivered(received_at);
                }
                Offer::Delivered
            }
            Err(TrySendError::Full(())) => {
                self.dropped(count as u64);
                Offer::Dropped
            }
            Err(TrySendError::Closed(())) => Offer::Closed,
        }
    }

    fn raw(&self, line: Vec<u8>, received_at: UnixMillis) -> RawLine {
        RawLine {
            source: self.name.clone(),
            received_at,
            line,
        }
    }

    fn line_delivered(&self, received_at: UnixMillis) {
        SourceMetrics::bump(&self.metrics.lines);
        self.metrics
            .last_line_at_ms
            .store(received_at.as_millis(), Ordering::Relaxed);
    }

    fn dropped(&self, n: u64) {
        let before = self.metrics.dropped.load(Ordering::Relaxed);
        let after = SourceMetrics::add(&self.metrics.dropped, n);
        // Log when the count crosses a power of two, however many were dropped at once.
        if (before + 1..=after).any(worth_logging) {
            warn!(source = %self.name, dropped = after, "Channel full; dropping datagrams.");
        }
    }

    pub fn too_long(&self, n: u64) {
        if n == 0 {
            return;
        }
        let before = self.metrics.too_long.load(Ordering::Relaxed);
        let after = SourceMetrics::add(&self.metrics.too_long, n);
        if (before + 1..=after).any(worth_logging) {
            warn!(
                source = %self.name,
                too_long = after,
                max_line_bytes = self.max_line_bytes,
                "Line over the length limit dropped."
            );
        }
    }

    pub fn error(&self) -> u64 {
        SourceMetrics::bump(&self.metrics.errors)
    }
}

/// How a stream of bytes ended.
#[derive(Debug)]
pub(crate) enum StreamEnd {
    /// The other side closed it.
    Eof,
    /// Nothing arrived within the read timeout.
    Stalled,
    Failed(io::Error),
    /// Shutdown, or nobody listens any more: the source ends.
    Stopped,
}

/// Reads `reader` and hands on its lines until it ends, stalls, fails or the source must stop.
/// A partial last line stays in `framer`; the caller decides whether it was a line.
pub(crate) async fn pump_stream<R: AsyncRead + Unpin>(
    reader: &mut R,
    framer: &mut LineFramer,
    out: &Emitter,
    read_timeout: Option<Duration>,
) -> StreamEnd {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut lines = Vec::new();
    loop {
        let read = tokio::select! {
            biased;
            _ = out.shutdown.cancelled() => return StreamEnd::Stopped,
            read = read_within(reader, &mut buf, read_timeout) => read,
        };
        let n = match read {
            None => return StreamEnd::Stalled,
            Some(Ok(0)) => return StreamEnd::Eof,
            Some(Ok(n)) => n,
            Some(Err(err)) if err.kind() == io::ErrorKind::Interrupted => continue,
            Some(Err(err)) => return StreamEnd::Failed(err),
        };
        let received_at = now_millis();
        SourceMetrics::add(&out.metrics.bytes, n as u64);
        out.too_long(framer.push(&buf[..n], &mut lines));
        for line in lines.drain(..) {
            if !out.deliver(line, received_at).await {
                return StreamEnd::Stopped;
            }
        }
    }
}

/// One read, or `None` when `limit` passed first.
async fn read_within<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
    limit: Option<Duration>,
) -> Option<io::Result<usize>> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, reader.read(buf)).await.ok(),
        None => Some(reader.read(buf).await),
    }
}

/// Hands on the unterminated last line of a stream that ended normally.
pub(crate) async fn deliver_last_line(framer: &mut LineFramer, out: &Emitter) -> bool {
    match framer.finish() {
        Some(line) => out.deliver(line, now_millis()).await,
        None => true,
    }
}

/// Binds a listening socket, retrying with backoff: the address may still be held by a
/// previous instance of the service, or an interface may come up late. `None` on shutdown.
pub(crate) async fn bind_with_retry<T, F, Fut>(
    spec: &SourceSpec,
    address: SocketAddr,
    out: &Emitter,
    mut bind: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut backoff = Backoff::new(spec.reconnect, &spec.name);
    loop {
        let bound = tokio::select! {
            biased;
            _ = out.shutdown.cancelled() => return None,
            bound = bind() => bound,
        };
        match bound {
            Ok(socket) => return Some(socket),
            Err(err) => {
                out.error();
                let delay = backoff.next_delay();
                error!(
                    source = %spec.name,
                    addr = %address,
                    error = %err,
                    retry_in_s = seconds(delay),
                    "Cannot listen on the address; retrying."
                );
                if sleep_or_stop(delay, &out.shutdown).await {
                    return None;
                }
            }
        }
    }
}

/// Sleeps for `delay`; true if the source must stop instead.
pub(crate) async fn sleep_or_stop(delay: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(delay) => false,
    }
}

/// Seconds, to the millisecond, for log fields.
pub(crate) fn seconds(d: Duration) -> f64 {
    d.as_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(max: usize, chunks: &[&[u8]]) -> (Vec<String>, u64) {
        let mut framer = LineFramer::new(max);
        let mut lines = Vec::new();
        let mut too_long = 0;
        for chunk in chunks {
            too_long += framer.push(chunk, &mut lines);
        }
        let text = lines
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect();
        (text, too_long)
    }

    #[test]
    fn every_line_ending_is_understood_and_empty_lines_skipped() {
        let (lines, too_long) = frame(100, &[b"!AIVDM,a\r\n!AIVDM,b\n\n!AIVDM,c\r!AIVDM,d\r\n"]);
        assert_eq!(lines, ["!AIVDM,a", "!AIVDM,b", "!AIVDM,c", "!AIVDM,d"]);
        assert_eq!(too_long, 0);
    }

    #[test]
    fn lines_are_joined_across_chunks_and_the_tail_waits() {
        let mut framer = LineFramer::new(100);
        let mut lines = Vec::new();
        framer.push(b"!AIV", &mut lines);
        framer.push(b"DM,1\r", &mut lines);
        framer.push(b"\n!AIVDM,2", &mut lines);
        assert_eq!(lines, [b"!AIVDM,1".to_vec()]);
        assert_eq!(framer.finish(), Some(b"!AIVDM,2".to_vec()));
        assert_eq!(framer.finish(), None);
    }

    #[test]
    fn a_line_at_the_bound_passes_and_one_byte_more_is_dropped() {
        let (lines, too_long) = frame(5, &[b"12345\n123456\nok\n"]);
        assert_eq!(lines, ["12345", "ok"]);
        assert_eq!(too_long, 1);
    }

    #[test]
    fn an_endless_line_is_counted_once_before_it_ends_and_memory_stays_bounded() {
        let mut framer = LineFramer::new(10);
        let mut lines = Vec::new();
        let mut too_long = 0;
        for _ in 0..1000 {
            too_long += framer.push(&[0xAB; 7], &mut lines);
            assert!(framer.partial.len() <= 10);
        }
        assert_eq!(too_long, 1, "counted as soon as it passed the bound");
        too_long += framer.push(b"tail\ngood\n", &mut lines);
        assert_eq!(too_long, 1);
        assert_eq!(
            lines,
            [b"good".to_vec()],
            "the tail belonged to the long line"
        );
    }

    #[test]
    fn reset_forgets_the_partial_line() {
        let mut framer = LineFramer::new(10);
        let mut lines = Vec::new();
        framer.push(b"half", &mut lines);
        framer.reset();
        framer.push(b"new\n", &mut lines);
        assert_eq!(lines, [b"new".to_vec()]);
    }

    proptest! {
        // Each case is a whole stream; a hundred keep the debug-build suite quick.
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn framing_does_not_depend_on_how_the_stream_was_cut(
            stream in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(0xFFu8), any::<u8>()],
                0..300,
            ),
            cuts in proptest::collection::vec(0usize..300, 0..12),
            max in 1usize..40,
        ) {
            let mut whole = LineFramer::new(max);
            let mut expected = Vec::new();
            let expected_too_long = whole.push(&stream, &mut expected);
            let expected_tail = whole.finish();

            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            cuts.sort_unstable();
            let mut pieces = LineFramer::new(max);
            let mut got = Vec::new();
            let mut too_long = 0;
            let mut start = 0;
            for cut in cuts.into_iter().chain([stream.len()]) {
                too_long += pieces.push(&stream[start..cut], &mut got);
                start = cut;
            }
            prop_assert_eq!(&got, &expected);
            prop_assert_eq!(too_long, expected_too_long);
            prop_assert_eq!(pieces.finish(), expected_tail);
            for line in &got {
                prop_assert!(!line.is_empty() && line.len() <= max);
                prop_assert!(!line.contains(&b'\n') && !line.contains(&b'\r'));
            }
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_resets_after_a_good_connection() {
        let policy = ReconnectPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            reset_after: Duration::from_secs(5),
        };
        let mut backoff = Backoff::new(policy, "norway");
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay()).collect();
        for (i, delay) in delays.iter().enumerate() {
            let base = Duration::from_millis(100 * (1 << i)).min(policy.max);
            assert!(
                *delay >= base / 2 && *delay <= base,
                "attempt {i}: {delay:?} not within half of {base:?}"
            );
        }
        assert!(delays[7] <= policy.max);
        backoff.connection_lasted(Duration::from_secs(1));
        assert!(
            backoff.next_delay() >= Duration::from_millis(500),
            "short-lived: no reset"
        );
        backoff.connection_lasted(Duration::from_secs(5));
        assert!(backoff.next_delay() <= Duration::from_millis(100), "reset");

        // Deterministic per name, and different between names.
        let again: Vec<Duration> = {
            let mut b = Backoff::new(policy, "norway");
            (0..8).map(|_| b.next_delay()).collect()
        };
        assert_eq!(again, delays);
        let other: Vec<Duration> = {
            let mut b = Backoff::new(policy, "catcher");
            (0..8).map(|_| b.next_delay()).collect()
        };
        assert_ne!(other, delays);
    }

    #[test]
    fn backoff_survives_a_long_outage_without_overflow() {
        let mut backoff = Backoff::new(ReconnectPolicy::up_to(Duration::from_secs(60)), "x");
        for _ in 0..10_000 {
            assert!(backoff.next_delay() <= Duration::from_secs(60));
        }
    }

    #[test]
    fn snapshot_reports_counters_and_the_last_line_time() {
        let metrics = SourceMetrics::default();
        assert_eq!(metrics.snapshot(), SourceMetricsSnapshot::default());
        metrics.opened();
        metrics.opened();
        metrics.closed();
        metrics
            .last_line_at_ms
            .store(1_700_000_000_000, Ordering::Relaxed);
        let snap = metrics.snapshot();
        assert_eq!((snap.connects, snap.disconnects, snap.connected), (2, 1, 1));
        assert_eq!(snap.last_line_at, Some(UnixMillis(1_700_000_000_000)));
        let json = serde_json::to_string(&snap).unwrap();
        assert!(
            json.contains("\"last_line_at\":\"2023-11-14T22:13:20Z\""),
            "{json}"
        );
    }

    #[tokio::test]
    async fn datagram_lines_are_offered_all_or_none() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(3);
        let out = Emitter {
            name: Arc::from("udp"),
            max_line_bytes: 100,
            lines: tx,
            metrics: Arc::default(),
            shutdown: CancellationToken::new(),
        };
        let two = || vec![b"a".to_vec(), b"b".to_vec()];
        assert_eq!(out.offer_all(two(), UnixMillis(1)), Offer::Delivered);
        assert_eq!(
            out.offer_all(two(), UnixMillis(2)),
            Offer::Dropped,
            "one slot left"
        );
        assert_eq!(
            out.offer_all(vec![b"c".to_vec()], UnixMillis(3)),
            Offer::Delivered
        );
        let many: Vec<Vec<u8>> = (0..5).map(|i| vec![b'0' + i]).collect();
        rx.recv().await.unwrap();
        assert_eq!(out.offer_all(many, UnixMillis(4)), Offer::Dropped);
        let snap = out.metrics.snapshot();
        assert_eq!((snap.lines, snap.dropped), (4, 6), "one of five fitted");
        drop(rx);
        assert_eq!(out.offer_all(two(), UnixMillis(5)), Offer::Closed);
    }
}
