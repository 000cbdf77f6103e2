//! The reading loops the byte-stream sources share: pump a reader through a framer into the
//! emitter until it ends, stalls, fails or must stop, and bind a listening socket with retries.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tracing::error;

use crate::source::backoff::{seconds, sleep_or_stop, Backoff};
use crate::source::emitter::Emitter;
use crate::source::framer::LineFramer;
use crate::source::metrics::SourceMetrics;
use crate::source::spec::SourceSpec;
use crate::time;

/// Bytes asked of the operating system per read: many lines at once on a busy feed, and small
/// enough that one read never holds much memory.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

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
        let received_at = time::now();
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
        Some(line) => out.deliver(line, time::now()).await,
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
