//! TCP sources: a client that keeps a connection to a feed alive (reconnecting with backoff,
//! noticing silent connections), and a listener that receivers push lines to.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::source::backoff::{seconds, sleep_or_stop, Backoff};
use crate::source::emitter::Emitter;
use crate::source::framer::LineFramer;
use crate::source::metrics::{Opened, SourceMetrics};
use crate::source::spec::SourceSpec;
use crate::source::stream::{bind_with_retry, deliver_last_line, pump_stream, StreamEnd};

/// Idle time before the first keepalive probe. Far below the kernel default of two hours, so a
/// peer that vanished (power cut, NAT entry expired) is noticed even on a quiet feed, and NAT
/// boxes on the way see traffic.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
/// Time between unanswered keepalive probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Turns on TCP keepalive with the idle time and interval above.
pub fn set_keepalive(stream: &TcpStream) -> io::Result<()> {
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    SockRef::from(stream).set_tcp_keepalive(&keepalive)
}

/// Connects to `address` and reads it until shutdown, reconnecting after every close, failure
/// or stall. Connecting is bounded by the read timeout too.
pub(crate) async fn run_client(spec: &SourceSpec, address: &str, out: &Emitter) {
    let mut backoff = Backoff::new(spec.reconnect, &spec.name);
    let mut framer = LineFramer::new(spec.max_line_bytes);
    loop {
        let attempt = tokio::select! {
            biased;
            _ = out.shutdown.cancelled() => return,
            attempt = tokio::time::timeout(spec.read_timeout, TcpStream::connect(address)) => attempt,
        };
        let failure = match attempt {
            Ok(Ok(stream)) => {
                let started = Instant::now();
                let end = serve_connection(spec, address, stream, &mut framer, out).await;
                backoff.connection_lasted(started.elapsed());
                let delay = backoff.next_delay();
                let up_s = seconds(started.elapsed());
                let retry_in_s = seconds(delay);
                match end {
                    StreamEnd::Stopped => return,
                    StreamEnd::Eof => info!(
                        source = %spec.name, addr = %address, up_s, retry_in_s,
                        "Feed closed the connection; reconnecting."
                    ),
                    StreamEnd::Stalled => {
                        SourceMetrics::bump(&out.metrics.stalls);
                        warn!(
                            source = %spec.name, addr = %address,
                            silent_s = seconds(spec.read_timeout), retry_in_s,
                            "Feed went silent; reconnecting."
                        );
                    }
                    StreamEnd::Failed(err) => {
                        out.error();
                        warn!(
                            source = %spec.name, addr = %address, error = %err, up_s, retry_in_s,
                            "Feed connection failed; reconnecting."
                        );
                    }
                }
                if sleep_or_stop(delay, &out.shutdown).await {
                    return;
                }
                continue;
            }
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {} s", seconds(spec.read_timeout)),
        };
        out.error();
        let delay = backoff.next_delay();
        warn!(
            source = %spec.name, addr = %address, error = %failure, retry_in_s = seconds(delay),
            "Cannot connect to feed; retrying."
        );
        if sleep_or_stop(delay, &out.shutdown).await {
            return;
        }
    }
}

/// One connection, from "connected" to its end; the disconnect is counted when it returns.
async fn serve_connection(
    spec: &SourceSpec,
    address: &str,
    mut stream: TcpStream,
    framer: &mut LineFramer,
    out: &Emitter,
) -> StreamEnd {
    if let Err(err) = set_keepalive(&stream) {
        warn!(source = %spec.name, addr = %address, error = %err, "Cannot enable TCP keepalive.");
    }
    let _open = Opened::new(&out.metrics);
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "unknown".to_owned(), |p| p.to_string());
    info!(source = %spec.name, addr = %address, peer = %peer, "Feed connected.");
    // A partial line from the previous connection is not the start of this one's first line.
    framer.reset();
    let end = pump_stream(&mut stream, framer, out, Some(spec.read_timeout)).await;
    if matches!(end, StreamEnd::Eof) && !deliver_last_line(framer, out).await {
        return StreamEnd::Stopped;
    }
    end
}

/// Accepts receivers on `address` until shutdown; each client's lines carry the source's name.
/// Clients over `max_clients` are closed at once (and counted as errors) so a misbehaving
/// sender cannot exhaust sockets or memory.
pub(crate) async fn run_listener(
    spec: &SourceSpec,
    address: SocketAddr,
    max_clients: usize,
    out: &Emitter,
) {
    let Some(listener) = bind_with_retry(spec, address, out, || TcpListener::bind(address)).await
    else {
        return;
    };
    let local = listener.local_addr().unwrap_or(address);
    info!(source = %spec.name, addr = %local, max_clients, "Listening for feed clients.");
    let slots = Arc::new(Semaphore::new(max_clients.max(1)));
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = out.shutdown.cancelled() => break,
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        clients.spawn(serve_client(spec.clone(), stream, peer, slot, out.clone()));
                    }
                    Err(_) => {
                        out.error();
                        warn!(
                            source = %spec.name, peer = %peer, max_clients,
                            "Feed client refused: too many clients."
                        );
                    }
                },
                Err(err) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    out.error();
                    warn!(source = %spec.name, addr = %local, error = %err, "Accepting a feed client failed.");
                    if sleep_or_stop(Duration::from_millis(100), &out.shutdown).await {
                        break;
                    }
                }
            }
        }
    }
    clients.shutdown().await;
}

async fn serve_client(
    spec: SourceSpec,
    mut stream: TcpStream,
    peer: SocketAddr,
    _slot: OwnedSemaphorePermit,
    out: Emitter,
) {
    if let Err(err) = set_keepalive(&stream) {
        warn!(source = %spec.name, peer = %peer, error = %err, "Cannot enable TCP keepalive.");
    }
    let _open = Opened::new(&out.metrics);
    info!(source = %spec.name, peer = %peer, "Feed client connected.");
    let mut framer = LineFramer::new(spec.max_line_bytes);
    let end = pump_stream(&mut stream, &mut framer, &out, Some(spec.read_timeout)).await;
    match end {
        StreamEnd::Stopped => {}
        StreamEnd::Eof => {
            deliver_last_line(&mut framer, &out).await;
            info!(source = %spec.name, peer = %peer, "Feed client disconnected.");
        }
        StreamEnd::Stalled => {
            SourceMetrics::bump(&out.metrics.stalls);
            warn!(
                source = %spec.name, peer = %peer, silent_s = seconds(spec.read_timeout),
                "Feed client went silent; closing it."
            );
        }
        StreamEnd::Failed(err) => {
            out.error();
            warn!(source = %spec.name, peer = %peer, error = %err, "Feed client connection failed.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keepalive_probes_start_after_the_short_idle_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        set_keepalive(&stream).unwrap();
        let socket = SockRef::from(&stream);
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), KEEPALIVE_IDLE);
        assert_eq!(socket.tcp_keepalive_interval().unwrap(), KEEPALIVE_INTERVAL);
    }
}
