//! Live sources against real sockets, a pseudo-terminal, real files and a real standard input:
//! reconnects, stalls, bounds, backpressure, rotation and prompt shutdown. Every server here
//! listens on 127.0.0.1, serves a fixed number of connections and stops on its own.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aisgap::config::Config;
use aisgap::source::{
    run_source, RawLine, ReconnectPolicy, SourceError, SourceKind, SourceMetrics,
    SourceMetricsSnapshot, SourceSpec,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::support::repo_path;

/// Longest any single wait in these tests may take before it counts as a failure.
const PATIENCE: Duration = Duration::from_secs(5);
/// How soon a source must return once shutdown fires.
const PROMPT: Duration = Duration::from_millis(250);

/// A source with waits scaled down so reconnects happen within milliseconds.
fn quick(name: &str, kind: SourceKind) -> SourceSpec {
    let mut spec = SourceSpec::new(name, kind);
    spec.read_timeout = Duration::from_secs(2);
    spec.reconnect = ReconnectPolicy {
        initial: Duration::from_millis(40),
        max: Duration::from_millis(200),
        reset_after: Duration::from_secs(30),
    };
    spec
}

struct Running {
    lines: mpsc::Receiver<RawLine>,
    metrics: Arc<SourceMetrics>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), SourceError>>,
}

fn start(spec: SourceSpec, capacity: usize) -> Running {
    let (tx, rx) = mpsc::channel(capacity);
    let metrics = Arc::new(SourceMetrics::default());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_source(spec, tx, metrics.clone(), shutdown.clone()));
    Running {
        lines: rx,
        metrics,
        shutdown,
        task,
    }
}

impl Running {
    async fn next_line(&mut self) -> RawLine {
        tokio::time::timeout(PATIENCE, self.lines.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no line within {PATIENCE:?}; metrics {:?}",
                    self.metrics.snapshot()
                )
            })
            .expect("the source ended instead of sending a line")
    }

    async fn next_text(&mut self) -> String {
        String::from_utf8(self.next_line().await.line).expect("test lines are text")
    }

    async fn texts(&mut self, n: usize) -> Vec<String> {
        let mut got = Vec::with_capacity(n);
        for _ in 0..n {
            got.push(self.next_text().await);
        }
        got
    }

    async fn until(
        &self,
        what: &str,
        done: impl Fn(&SourceMetricsSnapshot) -> bool,
    ) -> SourceMetricsSnapshot {
        until(&self.metrics, what, done).await
    }

    /// Fires shutdown and returns how long the source took to return, and its result.
    async fn stop(self) -> (Duration, Result<(), SourceError>) {
        let fired = Instant::now();
        self.shutdown.cancel();
        let result = tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the source ignored shutdown")
            .expect("the source task panicked");
        (fired.elapsed(), result)
    }

    async fn stop_promptly(self) {
        let (took, result) = self.stop().await;
        assert!(took < PROMPT, "took {took:?} to stop");
        result.expect("a stopped source returns Ok");
    }
}

async fn until(
    metrics: &SourceMetrics,
    what: &str,
    done: impl Fn(&SourceMetricsSnapshot) -> bool,
) -> SourceMetricsSnapshot {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let snap = metrics.snapshot();
        if done(&snap) {
            return snap;
        }
        assert!(
            Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}; metrics {snap:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn local_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A loopback port nothing listens on right now (bound, then released).
fn free_tcp_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn free_udp_port() -> SocketAddr {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn accept(listener: &TcpListener) -> TcpStream {
    tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .expect("the source did not connect")
        .unwrap()
        .0
}

/// Connects to a listening source, retrying while it binds.
async fn connect_to(addr: SocketAddr) -> TcpStream {
    for _ in 0..200 {
        if let Ok(stream) = TcpStream::connect(addr).await {
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing listens on {addr}");
}

fn numbered(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range
        .map(|i| format!("!AIVDM,1,1,,A,line-{i},0*00"))
        .collect()
}

#[tokio::test]
async fn tcp_client_reconnects_with_growing_backoff_and_loses_no_line() {
    let (listener, addr) = local_listener().await;
    let server = tokio::spawn(async move {
        let mut closed_at = Vec::new();
        let mut accepted_at = Vec::new();
        for (batch, ending) in [(1..=3, "\r\n"), (4..=6, "\n"), (7..=9, "\r\n")] {
            let mut stream = accept(&listener).await;
            accepted_at.push(Instant::now());
            let lines = numbered(batch);
            let mut text = lines.join(ending);
            // The second connection closes without ending its last line.
            if ending != "\n" {
                text.push_str(ending);
            }
            stream.write_all(text.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            closed_at.push(Instant::now());
        }
        (accepted_at, closed_at)
    });
    let mut running = start(
        quick(
            "feed",
            SourceKind::Tcp {
                address: addr.to_string(),
            },
        ),
        64,
    );
    let got = running.texts(9).await;
    assert_eq!(got, numbered(1..=9));
    let (accepted_at, closed_at) = server.await.unwrap();
    let snap = running
        .until("three disconnects", |s| s.disconnects == 3)
        .await;
    assert_eq!(snap.connects, 3);
    assert_eq!(snap.lines, 9);
    assert_eq!(snap.stalls, 0);
    assert_eq!(snap.errors, 0, "a feed closing is not an error");
    // Waits: the first lies in 20..=40 ms, the second in 40..=80 ms.
    let first_wait = accepted_at[1] - closed_at[0];
    let second_wait = accepted_at[2] - closed_at[1];
    assert!(first_wait >= Duration::from_millis(20), "{first_wait:?}");
    assert!(second_wait >= Duration::from_millis(40), "{second_wait:?}");
    assert!(snap.last_line_at.is_some());
    running.stop_promptly().await;
}

#[tokio::test]
async fn tcp_client_takes_a_silent_feed_for_stalled_and_reconnects() {
    let (listener, addr) = local_listener().await;
    let server = tokio::spawn(async move {
        let mut silent = accept(&listener).await;
        silent.write_all(b"before-stall\n").await.unwrap();
        // Stay connected and say nothing; the source must give up on its own.
        let mut rest = Vec::new();
        let waited = tokio::time::timeout(PATIENCE, silent.read_to_end(&mut rest)).await;
        assert!(
            waited.is_ok(),
            "the source never closed the silent connection"
        );
        let mut fresh = accept(&listener).await;
        fresh.write_all(b"after-stall\n").await.unwrap();
        fresh.shutdown().await.unwrap();
    });
    let mut spec = quick(
        "feed",
        SourceKind::Tcp {
            address: addr.to_string(),
        },
    );
    spec.read_timeout = Duration::from_millis(150);
    let mut running = start(spec, 16);
    assert_eq!(running.next_text().await, "before-stall");
    let stalled = Instant::now();
    assert_eq!(running.next_text().await, "after-stall");
    assert!(stalled.elapsed() >= Duration::from_millis(150));
    server.await.unwrap();
    let snap = running
        .until("the second close", |s| s.disconnects == 2)
        .await;
    assert_eq!((snap.stalls, snap.connects), (1, 2));
    running.stop_promptly().await;
}

#[tokio::test]
async fn tcp_client_retries_a_closed_port_until_the_feed_appears() {
    let addr = free_tcp_port();
    let mut running = start(
        quick(
            "feed",
            SourceKind::Tcp {
                address: addr.to_string(),
            },
        ),
        16,
    );
    let snap = running.until("three refusals", |s| s.errors >= 3).await;
    assert_eq!((snap.connects, snap.connected), (0, 0));
    assert!(
        !running.task.is_finished(),
        "a refused connection must not end the source"
    );
    let listener = TcpListener::bind(addr).await.unwrap();
    let mut stream = accept(&listener).await;
    stream.write_all(b"finally\n").await.unwrap();
    assert_eq!(running.next_text().await, "finally");
    assert_eq!(running.metrics.snapshot().connected, 1);
    running.stop_promptly().await;
}

#[tokio::test]
async fn tcp_client_drops_garbage_and_an_endless_line_and_reads_on() {
    let (listener, addr) = local_listener().await;
    let server = tokio::spawn(async move {
        let mut stream = accept(&listener).await;
        let garbage: Vec<u8> = (0..5000u32).map(|i| 0x80 | (i % 0x7f) as u8).collect();
        stream.write_all(&garbage).await.unwrap();
        stream.write_all(b"\ngood-1\n").await.unwrap();
        // A line that does not end for a long time, sent in pieces.
        for _ in 0..100 {
            stream.write_all(&[b'A'; 100]).await.unwrap();
        }
        stream.write_all(b"\r\ngood-2\r\n").await.unwrap();
        stream.shutdown().await.unwrap();
    });
    let mut spec = quick(
        "feed",
        SourceKind::Tcp {
            address: addr.to_string(),
        },
    );
    spec.max_line_bytes = 100;
    let mut running = start(spec, 16);
    assert_eq!(running.texts(2).await, ["good-1", "good-2"]);
    server.await.unwrap();
    let snap = running.metrics.snapshot();
    assert_eq!(snap.too_long, 2);
    assert_eq!(snap.lines, 2);
    assert_eq!(snap.bytes, 5000 + 8 + 10_000 + 10);
    running.stop_promptly().await;
}

#[tokio::test]
async fn tcp_client_waits_for_a_slow_consumer_and_loses_nothing() {
    let (listener, addr) = local_listener().await;
    let lines = numbered(1..=3000);
    let text = lines.join("\n") + "\n";
    let server = tokio::spawn(async move {
        let mut stream = accept(&listener).await;
        stream.write_all(text.as_bytes()).await.unwrap();
        stream.shutdown().await.unwrap();
    });
    let mut running = start(
        quick(
            "feed",
            SourceKind::Tcp {
                address: addr.to_string(),
            },
        ),
        4,
    );
    let mut got = Vec::new();
    for i in 0..lines.len() {
        if i % 500 == 0 {
            // The channel is full meanwhile; the source must wait, not drop.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        got.push(running.next_text().await);
    }
    assert_eq!(got, lines);
    server.await.unwrap();
    assert_eq!(running.metrics.snapshot().dropped, 0);
    running.stop_promptly().await;
}

#[tokio::test]
async fn tcp_listener_serves_two_clients_and_refuses_a_third() {
    let addr = free_tcp_port();
    let spec = quick(
        "push",
        SourceKind::TcpListen {
            address: addr,
            max_clients: 2,
        },
    );
    let mut running = start(spec, 64);
    let mut first = connect_to(addr).await;
    let mut second = connect_to(addr).await;
    running.until("two clients", |s| s.connected == 2).await;
    first.write_all(b"first-1\nfir").await.unwrap();
    second.write_all(b"second-1\r\n").await.unwrap();
    first.write_all(b"st-2\n").await.unwrap();
    let mut got = running.texts(3).await;
    got.sort();
    assert_eq!(got, ["first-1", "first-2", "second-1"]);

    let mut third = connect_to(addr).await;
    let mut buf = [0u8; 1];
    let refused = tokio::time::timeout(PATIENCE, third.read(&mut buf)).await;
    assert!(matches!(refused, Ok(Ok(0)) | Ok(Err(_))), "{refused:?}");
    running.until("the refusal", |s| s.errors == 1).await;

    // A client leaving frees its slot, and its unterminated last line still counts.
    first.write_all(b"first-last").await.unwrap();
    drop(first);
    assert_eq!(running.next_text().await, "first-last");
    let snap = running.until("one left", |s| s.connected == 1).await;
    assert_eq!((snap.connects, snap.disconnects), (2, 1));
    let mut fourth = connect_to(addr).await;
    fourth.write_all(b"fourth-1\n").await.unwrap();
    let line = running.next_line().await;
    assert_eq!(
        (&*line.source, line.line.as_slice()),
        ("push", &b"fourth-1"[..])
    );
    running.stop_promptly().await;
    drop(second);
}

#[tokio::test]
async fn tcp_listener_closes_a_silent_client() {
    let addr = free_tcp_port();
    let mut spec = quick(
        "push",
        SourceKind::TcpListen {
            address: addr,
            max_clients: 1,
        },
    );
    spec.read_timeout = Duration::from_millis(100);
    let running = start(spec, 4);
    let mut client = connect_to(addr).await;
    let mut buf = [0u8; 1];
    let closed = tokio::time::timeout(PATIENCE, client.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
    let snap = running.until("the stall", |s| s.disconnects == 1).await;
    assert_eq!((snap.stalls, snap.connected), (1, 0));
    running.stop_promptly().await;
}

#[tokio::test]
async fn udp_datagrams_carry_several_lines_each() {
    let addr = free_udp_port();
    let mut running = start(quick("catcher", SourceKind::Udp { address: addr }), 64);
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    running.until("the socket", |s| s.connected == 1).await;
    for datagram in [
        &b"!AIVDM,a\r\n!AIVDM,b\r\n"[..],
        b"!AIVDM,c",
        b"\n\n!AIVDM,d\n!AIVDM,e",
    ] {
        sender.send_to(datagram, addr).await.unwrap();
    }
    let got = running.texts(5).await;
    assert_eq!(
        got,
        ["!AIVDM,a", "!AIVDM,b", "!AIVDM,c", "!AIVDM,d", "!AIVDM,e"]
    );
    let snap = running.metrics.snapshot();
    assert_eq!((snap.lines, snap.bytes, snap.dropped), (5, 20 + 8 + 19, 0));
    running.stop_promptly().await;
}

#[tokio::test]
async fn udp_silence_counts_one_stall_until_datagrams_resume() {
    let addr = free_udp_port();
    let mut spec = quick("catcher", SourceKind::Udp { address: addr });
    spec.read_timeout = Duration::from_millis(60);
    let mut running = start(spec, 16);
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    running.until("the first stall", |s| s.stalls == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        running.metrics.snapshot().stalls,
        1,
        "one silence, one stall"
    );
    sender.send_to(b"back\n", addr).await.unwrap();
    assert_eq!(running.next_text().await, "back");
    let snap = running.until("the second stall", |s| s.stalls == 2).await;
    assert_eq!(
        (snap.connected, snap.disconnects),
        (1, 0),
        "a socket has nothing to reconnect"
    );
    running.stop_promptly().await;
}

#[tokio::test]
async fn udp_flood_into_a_tiny_channel_is_dropped_whole_and_counted() {
    let addr = free_udp_port();
    let mut running = start(quick("catcher", SourceKind::Udp { address: addr }), 4);
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    running.until("the socket", |s| s.connected == 1).await;
    const DATAGRAMS: u64 = 100;
    for i in 0..DATAGRAMS {
        let datagram = format!("!AIVDM,2,1,{i}\r\n!AIVDM,2,2,{i}\r\n");
        sender.send_to(datagram.as_bytes(), addr).await.unwrap();
    }
    let snap = running
        .until("every datagram", |s| s.lines + s.dropped == 2 * DATAGRAMS)
        .await;
    assert_eq!(snap.lines, 4, "the channel holds four lines");
    assert_eq!(snap.dropped, 2 * DATAGRAMS - 4);
    assert_eq!(running.lines.len(), 4);
    // The two datagrams that fitted arrived whole, in order.
    let got = running.texts(4).await;
    assert_eq!(
        got,
        [
            "!AIVDM,2,1,0",
            "!AIVDM,2,2,0",
            "!AIVDM,2,1,1",
            "!AIVDM,2,2,1"
        ]
    );
    sender.send_to(b"after\n", addr).await.unwrap();
    assert_eq!(running.next_text().await, "after");
    running.stop_promptly().await;
}

/// A pseudo-terminal pair: the master end (the "receiver") and the slave's path (the
/// "device" the source opens).
fn pty_pair() -> (File, PathBuf) {
    // SAFETY: plain libc calls on a descriptor this function owns; ptsname_r writes a NUL-
    // terminated path into the buffer it is given.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(
            master >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        let master = OwnedFd::from_raw_fd(master);
        assert_eq!(libc::grantpt(master.as_raw_fd()), 0);
        assert_eq!(libc::unlockpt(master.as_raw_fd()), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()),
            0
        );
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_str()
            .unwrap()
            .to_owned();
        (File::from(master), PathBuf::from(path))
    }
}

fn termios_of(path: &Path) -> libc::termios {
    let device = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .unwrap();
    // SAFETY: tcgetattr fills the struct on success, checked before use.
    unsafe {
        let mut settings = std::mem::zeroed::<libc::termios>();
        assert_eq!(libc::tcgetattr(device.as_raw_fd(), &mut settings), 0);
        settings
    }
}

#[tokio::test]
async fn serial_device_is_set_raw_at_its_baud_and_read() {
    let (mut master, slave) = pty_pair();
    let spec = quick(
        "dongle",
        SourceKind::Serial {
            path: slave.clone(),
            baud: 38_400,
        },
    );
    let mut running = start(spec, 16);
    running.until("the device open", |s| s.connected == 1).await;
    let settings = termios_of(&slave);
    // SAFETY: reading fields of an initialised termios.
    let speed = unsafe { libc::cfgetispeed(&settings) };
    assert_eq!(speed, libc::B38400);
    assert_eq!(
        settings.c_lflag & (libc::ICANON | libc::ECHO),
        0,
        "raw: no line editing, no echo"
    );
    assert_eq!(
        settings.c_iflag & libc::ICRNL,
        0,
        "raw: carriage returns untouched"
    );
    assert_ne!(settings.c_cflag & libc::CLOCAL, 0);

    master
        .write_all(b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\r\n!AIVDM,partial")
        .unwrap();
    master.write_all(b"-then-done\r\n").unwrap();
    assert_eq!(
        running.texts(2).await,
        [
            "!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24",
            "!AIVDM,partial-then-done"
        ]
    );

    // Unplugged: the device ends, reopening fails and is retried.
    drop(master);
    let snap = running
        .until("the unplug and a failed reopen", |s| {
            s.disconnects == 1 && s.errors >= 2
        })
        .await;
    assert_eq!(snap.connected, 0);
    assert!(
        !running.task.is_finished(),
        "an unplugged device must not end the source"
    );
    running.stop_promptly().await;
}

#[tokio::test]
async fn serial_source_refuses_a_path_that_is_not_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("not-a-tty");
    fs::write(&plain, "x\n").unwrap();
    let running = start(
        quick(
            "dongle",
            SourceKind::Serial {
                path: plain.clone(),
                baud: 38_400,
            },
        ),
        4,
    );
    let result = tokio::time::timeout(PATIENCE, running.task)
        .await
        .unwrap()
        .unwrap();
    let message = result.unwrap_err().to_string();
    assert!(message.contains("not a serial device"), "{message}");
    assert!(message.contains("not-a-tty"), "{message}");
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn followed_file_survives_append_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ais.log");
    fs::write(&log, "written-before-start\n").unwrap();
    let spec = quick(
        "log",
        SourceKind::File {
            path: log.clone(),
            follow: true,
        },
    );
    let mut running = start(spec, 16);
    running.until("the file open", |s| s.connected == 1).await;

    append(&log, "new-1\nnew-");
    append(&log, "2\n");
    assert_eq!(
        running.texts(2).await,
        ["new-1", "new-2"],
        "old lines are skipped"
    );

    // logrotate's default: rename, the writer finishes its line in the old file, new file.
    let rotated = dir.path().join("ais.log.1");
    fs::rename(&log, &rotated).unwrap();
    append(&rotated, "late-in-old-file\n");
    fs::write(&log, "rotated-1\n").unwrap();
    assert_eq!(running.texts(2).await, ["late-in-old-file", "rotated-1"]);
    let snap = running.until("the reopen", |s| s.connects == 2).await;
    assert_eq!((snap.disconnects, snap.connected), (1, 1));

    // copytruncate: the same file cut to nothing, then written again.
    append(
        &log,
        "rotated-2 with enough text to be longer than what follows\n",
    );
    assert_eq!(
        running.next_text().await,
        "rotated-2 with enough text to be longer than what follows"
    );
    let file = OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len(0).unwrap();
    drop(file);
    append(&log, "after-truncation\n");
    assert_eq!(running.next_text().await, "after-truncation");
    let snap = running.until("the restart", |s| s.connects == 3).await;
    assert_eq!(snap.connected, 1);
    assert_eq!(snap.lines, 6);
    running.stop_promptly().await;
}

#[tokio::test]
async fn followed_file_that_appears_later_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("later.log");
    let mut running = start(
        quick(
            "log",
            SourceKind::File {
                path: log.clone(),
                follow: true,
            },
        ),
        16,
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(running.metrics.snapshot().connects, 0);
    fs::write(&log, "first\nsecond\n").unwrap();
    assert_eq!(running.texts(2).await, ["first", "second"]);
    running.stop_promptly().await;
}

#[tokio::test]
async fn one_shot_file_is_read_to_its_end_and_the_source_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("once.nmea");
    fs::write(&path, "a\r\nb\n\nc").unwrap();
    let mut running = start(
        quick(
            "once",
            SourceKind::File {
                path,
                follow: false,
            },
        ),
        16,
    );
    // The empty line is handed on too: a file's lines are numbered as a replay numbers them.
    assert_eq!(running.texts(4).await, ["a", "b", "", "c"]);
    let result = tokio::time::timeout(PATIENCE, &mut running.task)
        .await
        .expect("a one-shot file ends its source")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let snap = running.metrics.snapshot();
    assert_eq!((snap.connects, snap.disconnects, snap.lines), (1, 1, 4));

    let missing = dir.path().join("missing.nmea");
    let gone = start(
        quick(
            "gone",
            SourceKind::File {
                path: missing,
                follow: false,
            },
        ),
        4,
    );
    let result = tokio::time::timeout(PATIENCE, gone.task)
        .await
        .unwrap()
        .unwrap();
    let message = result.unwrap_err().to_string();
    assert!(message.contains("source gone: cannot open"), "{message}");
    assert!(message.contains("missing.nmea"), "{message}");
}

/// The environment variable that makes [`stdin_child`] act; its value is the mode.
const STDIN_CHILD: &str = "AISGAP_TEST_STDIN_CHILD";

/// Runs in a child process whose standard input the parent test controls. Mode "read" prints
/// every line and the result; mode "stop" fires shutdown after the first line and prints how
/// long the source took to return.
#[test]
// Ignored on purpose: it runs only as the child process the stdin tests spawn (with
// AISGAP_TEST_STDIN_CHILD set), reading the stdin they give it.
#[ignore = "a child process of the stdin tests, not a test of its own"]
fn stdin_child() {
    let mode = std::env::var(STDIN_CHILD).expect("run by the stdin tests only");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut running = start(quick("pipe", SourceKind::Stdin), 16);
        if mode == "read" {
            while let Some(line) = running.lines.recv().await {
                println!("line: {}", String::from_utf8_lossy(&line.line));
            }
            let result = running.task.await.unwrap();
            println!("result: {}", if result.is_ok() { "ok" } else { "error" });
        } else {
            let first = running.next_text().await;
            println!("line: {first}");
            let (took, result) = running.stop().await;
            println!("stopped: {} ms {}", took.as_millis(), result.is_ok());
        }
    });
    // Standard input's reader thread may still be blocked; do not wait for it.
    runtime.shutdown_background();
}

fn stdin_child_process(mode: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "sources::stdin_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(STDIN_CHILD, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the test binary again")
}

fn reports(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| {
            l.starts_with("line: ") || l.starts_with("result: ") || l.starts_with("stopped: ")
        })
        .collect()
}

#[test]
fn stdin_is_read_to_its_end() {
    let mut child = stdin_child_process("read");
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(b"!AIVDM,one\r\n!AIVDM,two\n!AIVDM,three")
        .unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        reports(&stdout),
        [
            "line: !AIVDM,one",
            "line: !AIVDM,two",
            "line: !AIVDM,three",
            "result: ok"
        ],
        "{stdout}"
    );
}

#[test]
fn stdin_source_stops_on_shutdown_while_input_stays_open() {
    let mut child = stdin_child_process("stop");
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"!AIVDM,only\n").unwrap();
    input.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + PATIENCE;
    let mut stopped = None;
    let mut line = String::new();
    while stopped.is_none() && Instant::now() < deadline {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.trim_end().strip_prefix("stopped: ") {
            stopped = Some(rest.to_owned());
        }
    }
    // Input is still open here: the source had to stop without seeing its end.
    drop(input);
    assert!(child.wait().unwrap().success());
    let stopped = stopped.expect("the child reported its stop");
    let (millis, ok) = stopped.split_once(" ms ").unwrap();
    assert_eq!(ok, "true");
    let millis: u128 = millis.parse().unwrap();
    assert!(millis < PROMPT.as_millis(), "took {millis} ms");
}

#[tokio::test]
async fn every_kind_stops_promptly_whatever_it_is_doing() {
    // A feed connected but silent.
    let (listener, addr) = local_listener().await;
    let silent_feed = start(
        quick(
            "silent",
            SourceKind::Tcp {
                address: addr.to_string(),
            },
        ),
        4,
    );
    let _held = accept(&listener).await;
    silent_feed.until("connected", |s| s.connected == 1).await;

    // A feed refused, waiting to retry.
    let refused = start(
        quick(
            "refused",
            SourceKind::Tcp {
                address: free_tcp_port().to_string(),
            },
        ),
        4,
    );
    refused.until("a refusal", |s| s.errors >= 1).await;

    // A feed blocked on a full channel.
    let (listener, addr) = local_listener().await;
    let blocked = start(
        quick(
            "blocked",
            SourceKind::Tcp {
                address: addr.to_string(),
            },
        ),
        1,
    );
    let mut busy = accept(&listener).await;
    busy.write_all(numbered(1..=50).join("\n").as_bytes())
        .await
        .unwrap();
    blocked.until("a full channel", |s| s.lines == 1).await;

    // A listener with a client connected.
    let push_addr = free_tcp_port();
    let push = start(
        quick(
            "push",
            SourceKind::TcpListen {
                address: push_addr,
                max_clients: 4,
            },
        ),
        4,
    );
    let _client = connect_to(push_addr).await;
    push.until("a client", |s| s.connected == 1).await;

    let udp = start(
        quick(
            "udp",
            SourceKind::Udp {
                address: free_udp_port(),
            },
        ),
        4,
    );
    udp.until("the socket", |s| s.connected == 1).await;

    let (_master, slave) = pty_pair();
    let serial = start(
        quick(
            "serial",
            SourceKind::Serial {
                path: slave,
                baud: 4800,
            },
        ),
        4,
    );
    serial.until("the device", |s| s.connected == 1).await;

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("f.log");
    fs::write(&log, "").unwrap();
    let followed = start(
        quick(
            "follow",
            SourceKind::File {
                path: log,
                follow: true,
            },
        ),
        4,
    );
    followed.until("the file", |s| s.connected == 1).await;

    for (name, running) in [
        ("silent feed", silent_feed),
        ("refused feed", refused),
        ("blocked feed", blocked),
        ("listener", push),
        ("udp", udp),
        ("serial", serial),
        ("followed file", followed),
    ] {
        let metrics = running.metrics.clone();
        let (took, result) = running.stop().await;
        assert!(took < PROMPT, "{name} took {took:?} to stop");
        assert!(result.is_ok(), "{name}: {result:?}");
        assert_eq!(
            metrics.snapshot().connected,
            0,
            "{name} left something open"
        );
    }
}

#[test]
fn shipped_source_examples_are_valid_once_uncommented() {
    let shipped = repo_path("config");
    let text = fs::read_to_string(shipped.join("aisgap.toml")).unwrap();
    let is_setting = |l: &str| {
        ["[[source]]", "[[csv_map]]", "[csv_map.columns]"].contains(&l)
            || l.split_once(" = ").is_some_and(|(key, _)| {
                !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
    };
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_setting(rest) => rest,
            _ => line,
        })
        .flat_map(|line| [line, "\n"])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for file in ["ports.geojson", "watchlist.csv"] {
        fs::copy(shipped.join(file), dir.path().join(file)).unwrap();
    }
    let path = dir.path().join("aisgap.toml");
    fs::write(&path, &uncommented).unwrap();
    let config = Config::load(&path).unwrap_or_else(|errors| panic!("{errors}"));
    let kinds: Vec<&str> = config.sources.iter().map(|s| s.kind.label()).collect();
    assert_eq!(
        kinds,
        ["tcp", "tcp-listen", "udp", "serial", "file", "stdin"]
    );
    assert_eq!(config.sources[2].station.as_deref(), Some("roof-antenna"));
    let maps: Vec<&str> = config.csv_maps.iter().map(|m| m.name()).collect();
    assert_eq!(maps, ["spire"]);
}
