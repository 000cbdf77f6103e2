//! The HTTP listener both `aisgap serve` and `aisgap run` answer on: HTTP/1.1 over hyper with
//! the limits that keep slow or idle clients from holding it (a header timeout, an idle
//! timeout and a connection cap that makes room by closing the longest-idle connection), and
//! the counters of what those limits did.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

/// Open connections allowed unless configured otherwise: well under the 1,024 file
/// descriptors a process gets by default, so a flood of clients never starves the database
/// and the sources of descriptors.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Connections the kernel queues before the server accepts them. tokio's `bind` asks for
/// 1,024: in a burst of more (a thousand clients connecting at once) the kernel dropped the
/// overflow's SYNs (counted as `ListenDrops`), and a client behind them waited the second
/// TCP takes to retry.
const ACCEPT_BACKLOG: u32 = 4_096;

/// Listens on `addr` with room for a burst of connections (see [`ACCEPT_BACKLOG`]; the
/// kernel may cap it at `net.core.somaxconn`).
pub fn bind(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}
/// Seconds a client has to send a request's head once it has begun sending it.
pub const DEFAULT_HEADER_TIMEOUT_S: u32 = 10;
/// Seconds a connection may sit without a request in flight and without a byte moving.
pub const DEFAULT_IDLE_TIMEOUT_S: u32 = 60;

/// How long requests in flight get to finish once the server is told to stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the listener tolerates of its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; beyond it the longest-idle one is closed to make room, and
    /// when every one is busy with a request the newcomer gets 503.
    pub max_connections: usize,
    /// From the first byte of a request to the end of its head.
    pub header_timeout: Duration,
    /// Between requests (keep-alive) or while an answer is not being read: no byte moved.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: Duration::from_secs(u64::from(DEFAULT_HEADER_TIMEOUT_S)),
            idle_timeout: Duration::from_secs(u64::from(DEFAULT_IDLE_TIMEOUT_S)),
        }
    }
}

/// What the limits did, for `/metrics` and the logs.
#[derive(Debug, Default)]
pub struct ConnectionMetrics {
    pub accepted: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// Refused with 503: the cap was reached and every connection had a request in flight.
    pub refused_full: AtomicU64,
    /// Closed to make room for a newcomer (the longest-idle one at the cap).
    pub closed_evicted: AtomicU64,
    /// Closed because a request's head did not arrive within the header timeout.
    pub closed_header_timeout: AtomicU64,
    /// Closed after the idle timeout with nothing in flight.
    pub closed_idle: AtomicU64,
    /// `accept` failures (out of file descriptors, mostly).
    pub accept_errors: AtomicU64,
}

impl ConnectionMetrics {
    fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// One connection's activity, shared by its socket wrapper, its request wrapper and the
/// accept loop. Times are milliseconds since the server started.
#[derive(Debug)]
struct Activity {
    /// Requests whose handler has not answered yet.
    in_flight: AtomicUsize,
    /// When the connection last became free of requests (or opened).
    idle_since: AtomicI64,
    /// When the first byte of the next request's head arrived; 0 while none has.
    head_started: AtomicI64,
    last_write: AtomicI64,
    /// Told to close (by the accept loop making room).
    evict: CancellationToken,
}

impl Activity {
    fn new(now: i64) -> Activity {
        Activity {
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicI64::new(now),
            head_started: AtomicI64::new(0),
            last_write: AtomicI64::new(now),
            evict: CancellationToken::new(),
        }
    }

    /// Why and when the connection is due to close, with nothing in flight; none while a
    /// handler is still working (a slow query is not a slow client).
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(i64, Closed)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let head = self.head_started.load(Ordering::Acquire);
        if head > 0 {
            return Some((head + millis(limits.header_timeout), Closed::HeaderTimeout));
        }
        let quiet_since = self
            .idle_since
            .load(Ordering::Acquire)
            .max(self.last_write.load(Ordering::Acquire));
        Some((quiet_since + millis(limits.idle_timeout), Closed::Idle))
    }

    /// How long the connection has been quiet, for choosing whom to close at the cap; none
    /// when a request is in flight.
    fn quiet_since(&self) -> Option<i64> {
        (self.in_flight.load(Ordering::Acquire) == 0).then(|| {
            self.idle_since
                .load(Ordering::Acquire)
                .max(self.last_write.load(Ordering::Acquire))
                .max(self.head_started.load(Ordering::Acquire))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closed {
    HeaderTimeout,
    Idle,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// The server's monotonic clock, in milliseconds since it started.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(&self) -> i64 {
        millis(self.0.elapsed())
    }

    fn instant(&self, at: i64) -> Instant {
        self.0 + Duration::from_millis(u64::try_from(at.max(0)).unwrap_or(0))
    }
}

/// The socket, noting when bytes move.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
    clock: Clock,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before && self.activity.in_flight.load(Ordering::Acquire) == 0 {
            // The first byte of a head starts its clock; later ones do not reset it.
            let now = self.clock.now().max(1);
            let _ = self.activity.head_started.compare_exchange(
                0,
                now,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            let now = self.clock.now();
            self.activity.last_write.store(now, Ordering::Release);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Marks a request in flight for as long as its handler runs (dropped too when the client
/// goes away mid-request).
struct InFlight {
    activity: Arc<Activity>,
    clock: Clock,
}

impl InFlight {
    fn start(activity: Arc<Activity>, clock: Clock) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_started.store(0, Ordering::Release);
        InFlight { activity, clock }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity
            .idle_since
            .store(self.clock.now(), Ordering::Release);
        self.activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections, by number.
type Registry = Arc<Mutex<HashMap<u64, Arc<Activity>>>>;

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, closes idle connections and gives requests in flight a few seconds to finish.
pub async fn serve_limited<F>(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    metrics: Arc<ConnectionMetrics>,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let clock = Clock(Instant::now());
    let registry: Registry = Arc::default();
    let stopping = CancellationToken::new();
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut next_id = 0u64;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                let failures = ConnectionMetrics::bump(&metrics.accept_errors);
                if failures.is_power_of_two() {
                    tracing::warn!(%error, failures, "Accepting an HTTP connection failed.");
                }
                // Out of descriptors repeats at once; waiting lets connections close.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !make_room(&registry, limits.max_connections, &metrics) {
            refuse_busy(stream, &metrics);
            continue;
        }
        next_id += 1;
        let activity = Arc::new(Activity::new(clock.now()));
        registry
            .lock()
            .expect("the registry is never poisoned")
            .insert(next_id, activity.clone());
        ConnectionMetrics::bump(&metrics.accepted);
        metrics.open.fetch_add(1, Ordering::Relaxed);
        let connection = Connection {
            id: next_id,
            activity,
            clock,
            limits,
            registry: registry.clone(),
            metrics: metrics.clone(),
            stopping: stopping.clone(),
        };
        connections.spawn(connection.run(stream, router.clone()));
    }
    drop(listener);
    stopping.cancel();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "HTTP requests still in flight after the drain timeout; closing them."
        );
    }
    Ok(())
}

/// Below the cap there is room; at it, the connection quiet the longest (nothing in flight)
/// is told to close and its place is taken at once. False when every connection is busy.
fn make_room(registry: &Registry, cap: usize, metrics: &ConnectionMetrics) -> bool {
    let mut open = registry.lock().expect("the registry is never poisoned");
    if open.len() < cap.max(1) {
        return true;
    }
    let quietest = open
        .iter()
        .filter_map(|(id, a)| a.quiet_since().map(|since| (since, *id)))
        .min();
    let Some((_, id)) = quietest else {
        return false;
    };
    if let Some(activity) = open.remove(&id) {
        activity.evict.cancel();
        let evicted = ConnectionMetrics::bump(&metrics.closed_evicted);
        if evicted.is_power_of_two() {
            tracing::warn!(
                evicted,
                cap,
                "HTTP connection cap reached; closing the longest-idle connections to make room."
            );
        }
    }
    true
}

/// Answers 503 without waiting on the client, and closes.
fn refuse_busy(stream: TcpStream, metrics: &ConnectionMetrics) {
    let refused = ConnectionMetrics::bump(&metrics.refused_full);
    if refused.is_power_of_two() {
        tracing::warn!(
            refused,
            "HTTP connection cap reached with every connection busy; refusing with 503."
        );
    }
    let _ = stream.try_write(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
}

/// One accepted connection and what it needs to keep itself within the limits.
struct Connection {
    id: u64,
    activity: Arc<Activity>,
    clock: Clock,
    limits: ConnectionLimits,
    registry: Registry,
    metrics: Arc<ConnectionMetrics>,
    stopping: CancellationToken,
}

impl Connection {
    async fn run(self, stream: TcpStream, router: Router) {
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Tracked {
            stream,
            activity: self.activity.clone(),
            clock: self.clock,
        });
        let (activity, clock) = (self.activity.clone(), self.clock);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let guard = InFlight::start(activity.clone(), clock);
            let mut router = router.clone();
            async move {
                let _in_flight = guard;
                let response: Result<_, Infallible> = router.call(request).await;
                response
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        // The header timeout is enforced here, from the head's first byte, not by hyper from
        // the connection's start: keep-alive idleness has a limit of its own.
        builder.timer(hyper_util::rt::TokioTimer::new());
        builder.header_read_timeout(None);
        let mut conn = pin!(builder.serve_connection(io, service));
        let mut draining = false;
        loop {
            let due = self.activity.deadline(&self.limits);
            let wake = due.map_or_else(
                || Instant::now() + Duration::from_millis(250),
                |(at, _)| self.clock.instant(at),
            );
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(%error, "HTTP connection ended with an error.");
                    }
                    break;
                }
                () = self.activity.evict.cancelled() => break,
                () = self.stopping.cancelled(), if !draining => {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep_until(wake) => {
                    if let Some((at, why)) = self.activity.deadline(&self.limits) {
                        if self.clock.now() >= at {
                            self.count_close(why);
                            break;
                        }
                    }
                }
            }
        }
        self.registry
            .lock()
            .expect("the registry is never poisoned")
            .remove(&self.id);
        self.metrics.open.fetch_sub(1, Ordering::Relaxed);
    }

    fn count_close(&self, why: Closed) {
        let counter = match why {
            Closed::HeaderTimeout => &self.metrics.closed_header_timeout,
            Closed::Idle => &self.metrics.closed_idle,
        };
        let closed = ConnectionMetrics::bump(counter);
        if why == Closed::HeaderTimeout && closed.is_power_of_two() {
            tracing::info!(
                closed,
                timeout_s = self.limits.header_timeout.as_secs(),
                "Closed HTTP connections whose request head did not arrive in time."
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 2,
            header_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn a_started_head_is_due_at_the_header_timeout_an_idle_one_at_the_idle_timeout() {
        let a = Activity::new(100);
        assert_eq!(a.deadline(&limits()), Some((5_100, Closed::Idle)));
        a.last_write.store(2_000, Ordering::Release);
        assert_eq!(a.deadline(&limits()), Some((7_000, Closed::Idle)));
        a.head_started.store(3_000, Ordering::Release);
        assert_eq!(a.deadline(&limits()), Some((4_000, Closed::HeaderTimeout)));
        a.in_flight.store(1, Ordering::Release);
        assert_eq!(
            a.deadline(&limits()),
            None,
            "a working handler is never timed out"
        );
        assert_eq!(a.quiet_since(), None);
    }

    #[test]
    fn at_the_cap_the_quietest_idle_connection_makes_room_and_busy_ones_never_do() {
        let metrics = ConnectionMetrics::default();
        let registry: Registry = Arc::default();
        let (old, recent) = (Arc::new(Activity::new(10)), Arc::new(Activity::new(20)));
        registry.lock().unwrap().insert(1, recent.clone());
        registry.lock().unwrap().insert(2, old.clone());
        assert!(make_room(&registry, 2, &metrics));
        assert!(old.evict.is_cancelled() && !recent.evict.is_cancelled());
        assert_eq!(metrics.closed_evicted.load(Ordering::Relaxed), 1);
        assert!(make_room(&registry, 2, &metrics), "one place is free now");

        let busy = Arc::new(Activity::new(5));
        busy.in_flight.store(1, Ordering::Release);
        registry.lock().unwrap().insert(3, busy.clone());
        recent.in_flight.store(1, Ordering::Release);
        assert!(
            !make_room(&registry, 2, &metrics),
            "every connection is busy"
        );
        assert!(!busy.evict.is_cancelled());
    }
}
