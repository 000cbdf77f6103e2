//! UDP listener: AIS-catcher and most SDR decoders send each batch of sentences as one
//! datagram. Senders cannot be slowed down, so when the service falls behind whole datagrams
//! are dropped and counted rather than queued without bound.

use std::net::SocketAddr;

use tokio::net::UdpSocket;
use tracing::{info, warn};

use crate::source::backoff::{seconds, sleep_or_stop};
use crate::source::emitter::{Emitter, Offer};
use crate::source::framer::LineFramer;
use crate::source::metrics::{worth_logging, Opened, SourceMetrics};
use crate::source::spec::SourceSpec;
use crate::source::stream::bind_with_retry;
use crate::time;

/// Largest UDP payload over IPv4; a bigger buffer would never fill.
const MAX_DATAGRAM: usize = 65_507;

/// Receives datagrams on `address` until shutdown. A datagram's last line needs no line
/// ending. Silence longer than the read timeout is counted as one stall (there is nothing to
/// reconnect; it tells the operator the sender stopped).
pub(crate) async fn run(spec: &SourceSpec, address: SocketAddr, out: &Emitter) {
    let Some(socket) = bind_with_retry(spec, address, out, || UdpSocket::bind(address)).await
    else {
        return;
    };
    let _open = Opened::new(&out.metrics);
    let local = socket.local_addr().unwrap_or(address);
    info!(source = %spec.name, addr = %local, "Listening for datagrams.");
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut framer = LineFramer::new(spec.max_line_bytes);
    let mut silent = false;
    loop {
        let received = tokio::select! {
            biased;
            _ = out.shutdown.cancelled() => return,
            received = tokio::time::timeout(spec.read_timeout, socket.recv_from(&mut buf)) => received,
        };
        match received {
            Err(_) => {
                if !silent {
                    silent = true;
                    SourceMetrics::bump(&out.metrics.stalls);
                    warn!(
                        source = %spec.name, addr = %local, silent_s = seconds(spec.read_timeout),
                        "No datagrams within the read timeout."
                    );
                }
            }
            Ok(Err(err)) => {
                if worth_logging(out.error()) {
                    warn!(source = %spec.name, addr = %local, error = %err, "Receiving a datagram failed.");
                }
                // Errors that repeat at once (none are expected) must not spin a core.
                if sleep_or_stop(std::time::Duration::from_millis(10), &out.shutdown).await {
                    return;
                }
            }
            Ok(Ok((n, peer))) => {
                if silent {
                    silent = false;
                    info!(source = %spec.name, addr = %local, peer = %peer, "Datagrams resumed.");
                }
                let received_at = time::now();
                SourceMetrics::add(&out.metrics.bytes, n as u64);
                // Each datagram stands alone: nothing carries over to the next one.
                framer.reset();
                let mut lines = Vec::new();
                out.too_long(framer.push(&buf[..n], &mut lines));
                lines.extend(framer.finish());
                if out.offer_all(lines, received_at) == Offer::Closed {
                    return;
                }
            }
        }
    }
}
