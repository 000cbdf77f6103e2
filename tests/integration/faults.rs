//! `aisgap run` under the faults of an operator's machine: a disk that fills and empties, a
//! database deleted under the running service, a writer that cannot recover. The real binary on
//! loopback, fed the bundled scenario by a feed that resumes after the committed lines, as a
//! provider's replay API does; every wait is bounded.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::service::{
    collect_stderr, committed_lines, http_address, live_less_late_withdrawals, replayed,
    scenario_lines, terminate, wait_for_log, write_config,
};
use crate::support::{aisgap, http_get, metric, try_http_get};

/// A feed that sends each new connection the lines after those the service committed, up to
/// `limit` (raised by the test as it goes), then stays connected.
struct ResumingFeed {
    port: u16,
    limit: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ResumingFeed {
    fn start(lines: Arc<Vec<Vec<u8>>>, db: PathBuf, limit: usize) -> ResumingFeed {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let limit = Arc::new(AtomicUsize::new(limit));
        let stop = Arc::new(AtomicBool::new(false));
        let (limit2, stop2) = (limit.clone(), stop.clone());
        thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let from = committed_lines(&db, "feed") as usize;
                        let (lines, limit, stop) = (lines.clone(), limit2.clone(), stop2.clone());
                        thread::spawn(move || send_from(stream, &lines, from, &limit, &stop));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        ResumingFeed { port, limit, stop }
    }
}

impl Drop for ResumingFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn send_from(
    mut stream: TcpStream,
    lines: &[Vec<u8>],
    mut next: usize,
    limit: &AtomicUsize,
    stop: &AtomicBool,
) {
    stream.set_nonblocking(false).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let until = limit.load(Ordering::Relaxed).min(lines.len());
        if next >= until {
            thread::sleep(Duration::from_millis(10));
            continue;
        }
        let end = until.min(next + 500);
        let mut bytes = lines[next..end].join(&b'\n');
        bytes.push(b'\n');
        if stream.write_all(&bytes).is_err() {
            return;
        }
        next = end;
    }
}

/// A filesystem that the test can fill and empty: a small tmpfs when the test runs as root (as
/// CI does), unmounted when dropped, even when the test fails; otherwise a plain folder and a
/// file-size limit set on the service's process (`RLIMIT_FSIZE`), which fails its writes the
/// same way (short writes, then `EFBIG`).
struct SmallDisk {
    dir: PathBuf,
    mounted: bool,
    filler: PathBuf,
}

impl SmallDisk {
    fn new(dir: PathBuf) -> SmallDisk {
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: geteuid(2) has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        // The fallback can be tried as root too.
        let root = root && std::env::var_os("AISGAP_TEST_NO_TMPFS").is_none();
        let mounted = root && {
            let status = Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"])
                .arg(&dir)
                .status();
            let ok = status.is_ok_and(|s| s.success());
            if !ok {
                eprintln!("tmpfs could not be mounted; using RLIMIT_FSIZE instead");
            }
            ok
        };
        let filler = dir.join("filler");
        SmallDisk {
            dir,
            mounted,
            filler,
        }
    }

    /// Leaves no room on the disk (or no room for the service, under the size limit).
    fn fill(&self, service: &Child) {
        if !self.mounted {
            set_file_size_limit(service, 4096);
            return;
        }
        let mut file = std::fs::File::create(&self.filler).unwrap();
        for chunk in [1 << 20, 4096, 512] {
            let block = vec![0u8; chunk];
            while file.write_all(&block).is_ok() {}
        }
        let _ = file.sync_all();
    }

    /// Room again, for `service` if it still runs (a new process starts without the limit).
    fn empty(&self, service: Option<&Child>) {
        if !self.mounted {
            if let Some(service) = service {
                set_file_size_limit(service, libc::RLIM_INFINITY);
            }
            return;
        }
        std::fs::remove_file(&self.filler).unwrap();
    }

    /// `aisgap run` on a configuration on this disk; SIGXFSZ is ignored so that a write past
    /// the size limit fails instead of killing the process (as a full disk's would).
    fn start_service(&self, config: &Path) -> Service {
        let mut command = aisgap();
        command
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: only signal(2), async-signal-safe, runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
        Service(command.spawn().expect("starting aisgap run"))
    }
}

/// The running service, killed if a failing test leaves it running.
struct Service(Child);

impl std::ops::Deref for Service {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Service {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Lowers (or lifts) the soft file-size limit of the running service; its hard limit stays,
/// so lifting it again needs no privilege.
fn set_file_size_limit(service: &Child, bytes: libc::rlim_t) {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit(2) on our own child, reading its limits into a local.
    let read = unsafe {
        libc::prlimit(
            service.id() as i32,
            libc::RLIMIT_FSIZE,
            std::ptr::null(),
            &mut old,
        )
    };
    assert_eq!(read, 0, "reading the service's file-size limit");
    let new = libc::rlimit {
        rlim_cur: bytes.min(old.rlim_max),
        rlim_max: old.rlim_max,
    };
    // SAFETY: as above, setting them from a local.
    let set = unsafe {
        libc::prlimit(
            service.id() as i32,
            libc::RLIMIT_FSIZE,
            &new,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "setting the service's file-size limit");
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn page(address: &str) -> String {
    http_get(address, "/metrics").1
}

fn store_errors(page: &str) -> f64 {
    ["full", "io"]
        .iter()
        .filter_map(|kind| metric(page, &format!("aisgap_db_errors_total{{kind=\"{kind}\"}}")))
        .sum()
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_disk_that_fills_holds_intake_back_and_when_it_empties_nothing_is_lost() {
    let outer = tempfile::tempdir().unwrap();
    let disk = SmallDisk::new(outer.path().join("disk"));
    let db = disk.dir.join("service.db");
    let lines = scenario_lines();
    let total = lines.len();
    let half = total / 2;
    let feed = ResumingFeed::start(lines, db.clone(), half);
    let config = write_config(&disk.dir, feed.port, "");
    let expected = replayed(outer.path(), &config);
    let address = http_address(&config);
    let mut service = disk.start_service(&config);
    let log = collect_stderr(&mut service);
    wait_until("the first half committed", Duration::from_secs(20), || {
        committed_lines(&db, "feed") == half as u64
    });
    assert_eq!(http_get(&address, "/readyz").0, 200);

    disk.fill(&service);
    feed.limit.store(total, Ordering::Relaxed);
    let filled = Instant::now();
    wait_until("readiness failing", Duration::from_secs(15), || {
        http_get(&address, "/readyz").0 == 503
    });
    let noticed_s = filled.elapsed().as_secs_f64();
    let (health, reason) = http_get(&address, "/healthz");
    assert_eq!(health, 503, "{reason}");
    assert!(reason.contains("database cannot be written"), "{reason}");
    assert!(
        reason.contains("(SQLite error "),
        "the cause with its code: {reason}"
    );
    assert!(http_get(&address, "/readyz").1.contains("intake held back"));
    wait_for_log(&log, "Cannot write to the database", Duration::from_secs(5));
    let logged = log.lock().unwrap().join("\n");
    assert!(logged.contains(&db.display().to_string()), "{logged}");
    assert!(logged.contains("sqlite_code="), "{logged}");

    // While failing, the pipeline takes no line and nothing more is committed.
    let before = page(&address);
    let committed = committed_lines(&db, "feed");
    thread::sleep(Duration::from_millis(1500));
    let during = page(&address);
    assert_eq!(
        metric(&before, "aisgap_lines_total"),
        metric(&during, "aisgap_lines_total"),
        "the pipeline took lines while the database could not be written"
    );
    assert_eq!(committed_lines(&db, "feed"), committed);
    assert!(store_errors(&during) >= 2.0, "retried: {during}");
    assert_eq!(metric(&during, "aisgap_db_available"), Some(0.0));
    assert!(metric(&during, "aisgap_db_unavailable_seconds_total").unwrap() >= 1.0);

    disk.empty(Some(&*service));
    let emptied = Instant::now();
    wait_until("readiness back", Duration::from_secs(15), || {
        http_get(&address, "/readyz").0 == 200
    });
    let resumed_s = emptied.elapsed().as_secs_f64();
    wait_until("every line committed", Duration::from_secs(30), || {
        committed_lines(&db, "feed") == total as u64
    });
    let after = page(&address);
    assert_eq!(metric(&after, "aisgap_db_recoveries_total"), Some(1.0));
    assert_eq!(
        metric(&after, "aisgap_source_connects_total{source=\"feed\"}"),
        Some(1.0),
        "the feed was never dropped"
    );
    assert_eq!(http_get(&address, "/healthz").0, 200);
    let status = terminate(&mut service);
    assert!(status.success(), "SIGTERM exit: {status:?}");
    eprintln!(
        "full disk ({}): readiness failed {noticed_s:.1} s after the fill, back {resumed_s:.1} s \
         after space returned, {} store errors, {} s unavailable",
        if disk.mounted {
            "tmpfs"
        } else {
            "RLIMIT_FSIZE"
        },
        store_errors(&after),
        metric(&after, "aisgap_db_unavailable_seconds_total").unwrap_or(-1.0)
    );
    assert_eq!(integrity(&db), "ok");
    assert_eq!(live_less_late_withdrawals(&db), expected, "nothing lost");
}

#[test]
fn under_a_udp_feed_a_full_disk_loses_only_the_datagrams_it_counts() {
    let outer = tempfile::tempdir().unwrap();
    let disk = SmallDisk::new(outer.path().join("disk"));
    let db = disk.dir.join("service.db");
    let udp_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let radio = format!(
        "\n[[source]]\nname = \"radio\"\nkind = \"udp\"\naddress = \"127.0.0.1:{udp_port}\"\n"
    );
    // The TCP feed of the shared configuration has nobody to connect to; only UDP brings lines.
    let config = write_config(&disk.dir, crate::support::free_port(), &radio);
    let address = http_address(&config);
    let mut service = disk.start_service(&config);
    wait_until("the UDP source bound", Duration::from_secs(15), || {
        TcpStream::connect(&address).is_ok()
            && metric(&page(&address), "aisgap_source_connected{source=\"radio\"}") == Some(1.0)
    });
    let lines = scenario_lines();
    let total = lines.len() as u64;
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let send = |range: std::ops::Range<usize>| {
        for (n, chunk) in lines[range].chunks(20).enumerate() {
            let mut datagram = chunk.join(&b'\n');
            datagram.push(b'\n');
            sender.send_to(&datagram, ("127.0.0.1", udp_port)).unwrap();
            if n % 5 == 4 {
                thread::sleep(Duration::from_millis(5));
            }
        }
    };
    send(0..5000);
    wait_until(
        "5000 datagram lines committed",
        Duration::from_secs(15),
        || committed_lines(&db, "radio") == 5000,
    );
    disk.fill(&service);
    // The last lines come after the outage: the kernel tells of datagrams it dropped only with
    // the next one it delivers, as a live feed always sends.
    let after_outage = lines.len() - 200;
    send(5000..after_outage);
    assert_eq!(http_get(&address, "/readyz").0, 503, "the outage began");
    disk.empty(Some(&*service));
    wait_until("the outage ended", Duration::from_secs(30), || {
        http_get(&address, "/readyz").0 == 200
    });
    send(after_outage..lines.len());
    // Both the service's own drops and the kernel's (a full socket buffer) are counted losses.
    let dropped = || {
        let page = page(&address);
        ["pipeline_full", "kernel_overflow"]
            .iter()
            .map(|reason| {
                let series =
                    format!("aisgap_source_dropped_total{{source=\"radio\",reason=\"{reason}\"}}");
                metric(&page, &series).unwrap_or(0.0) as u64
            })
            .sum::<u64>()
    };
    wait_until(
        "every line committed or counted as dropped",
        Duration::from_secs(30),
        || committed_lines(&db, "radio") + dropped() == total,
    );
    let dropped = dropped();
    assert!(
        dropped > 0,
        "the channel never filled: the test proves nothing"
    );
    assert!(terminate(&mut service).success());
    eprintln!(
        "UDP under a full disk: {} lines committed, {dropped} dropped and counted, of {total}",
        committed_lines(&db, "radio")
    );
}

#[test]
fn stopped_while_the_disk_is_full_the_service_waits_for_room_and_writes_everything() {
    let outer = tempfile::tempdir().unwrap();
    let disk = SmallDisk::new(outer.path().join("disk"));
    let db = disk.dir.join("service.db");
    let feed = ResumingFeed::start(scenario_lines(), db.clone(), 4000);
    let config = write_config(&disk.dir, feed.port, "");
    let address = http_address(&config);
    let mut service = disk.start_service(&config);
    wait_until("4000 lines committed", Duration::from_secs(20), || {
        committed_lines(&db, "feed") == 4000
    });
    disk.fill(&service);
    feed.limit.store(8000, Ordering::Relaxed);
    wait_until(
        "the next 4000 lines received",
        Duration::from_secs(15),
        || {
            metric(
                &page(&address),
                "aisgap_source_lines_total{source=\"feed\"}",
            ) == Some(8000.0)
        },
    );
    wait_until("readiness failing", Duration::from_secs(15), || {
        http_get(&address, "/readyz").0 == 503
    });
    // SAFETY: kill(2) with a pid of our own child process.
    unsafe { libc::kill(service.id() as i32, libc::SIGTERM) };
    thread::sleep(Duration::from_millis(1500));
    assert!(
        service.try_wait().unwrap().is_none(),
        "the service left before what it received was written"
    );
    assert_eq!(committed_lines(&db, "feed"), 4000);
    disk.empty(Some(&*service));
    let status = terminate(&mut service);
    assert!(status.success(), "{status:?}");
    assert_eq!(
        committed_lines(&db, "feed"),
        8000,
        "everything received is written"
    );
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn a_disk_full_for_longer_than_give_up_after_s_ends_the_service_with_its_cause() {
    let outer = tempfile::tempdir().unwrap();
    let disk = SmallDisk::new(outer.path().join("disk"));
    let db = disk.dir.join("service.db");
    let lines = scenario_lines();
    let total = lines.len();
    let third = total / 3;
    let feed = ResumingFeed::start(lines, db.clone(), third);
    let config = write_config(&disk.dir, feed.port, "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "commit_interval_ms = 100",
        "commit_interval_ms = 100\ngive_up_after_s = 2",
    );
    std::fs::write(&config, text).unwrap();
    let expected = replayed(outer.path(), &config);
    let mut service = disk.start_service(&config);
    let log = collect_stderr(&mut service);
    wait_until("the first third committed", Duration::from_secs(20), || {
        committed_lines(&db, "feed") == third as u64
    });

    // No watchdog is configured: the writer giving up must end the service by itself.
    disk.fill(&service);
    feed.limit.store(total, Ordering::Relaxed);
    let filled = Instant::now();
    let deadline = filled + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = service.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = service.kill();
            panic!("still running 20 s after the disk filled");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let ended_s = filled.elapsed().as_secs_f64();
    assert!(
        !status.success(),
        "a service whose writes fail exits with an error"
    );
    assert_eq!(status.code(), Some(1));
    thread::sleep(Duration::from_millis(200));
    let logged = log.lock().unwrap().join("\n");
    assert!(logged.contains("Giving up on the database"), "{logged}");
    let last = logged.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "aisgap: database {} could not be written for",
            db.display()
        )) && last.contains("SQLite error"),
        "the last word names the database and SQLite's cause: {last}"
    );
    eprintln!("give-up after 2 s of a full disk: exited {ended_s:.1} s after the fill: {last}");

    // Space returns; the restarted service resumes from its last commit and loses nothing.
    disk.empty(None);
    let committed = committed_lines(&db, "feed");
    assert!(committed >= third as u64, "{committed}");
    assert_eq!(integrity(&db), "ok");
    let mut service = disk.start_service(&config);
    wait_until(
        "every line committed after the restart",
        Duration::from_secs(30),
        || committed_lines(&db, "feed") == total as u64,
    );
    assert!(terminate(&mut service).success());
    assert_eq!(live_less_late_withdrawals(&db), expected, "nothing lost");
}

#[test]
fn a_database_deleted_under_the_service_ends_it_loudly_with_its_commits_saved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("service.db");
    let lines = scenario_lines();
    let total = lines.len();
    let third = total / 3;
    let feed = ResumingFeed::start(lines, db.clone(), third);
    let config = write_config(dir.path(), feed.port, "");
    let expected = replayed(dir.path(), &config);
    let disk = SmallDisk {
        dir: dir.path().to_path_buf(),
        mounted: false,
        filler: PathBuf::new(),
    };
    let mut service = disk.start_service(&config);
    let log = collect_stderr(&mut service);
    wait_until("the first third committed", Duration::from_secs(20), || {
        committed_lines(&db, "feed") == third as u64
    });

    // Deleted while idle (only the idle check can see it), as `rm` by mistake does.
    std::fs::remove_file(&db).unwrap();
    let deleted = Instant::now();
    let status = loop {
        if let Some(status) = service.try_wait().unwrap() {
            break status;
        }
        if deleted.elapsed() > Duration::from_secs(15) {
            let _ = service.kill();
            panic!("still running 15 s after its database was deleted");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let ended_s = deleted.elapsed().as_secs_f64();
    assert_eq!(status.code(), Some(1), "{status:?}");
    thread::sleep(Duration::from_millis(200));
    let logged = log.lock().unwrap().join("\n");
    let last = logged.lines().last().unwrap_or_default().to_string();
    let named = format!(
        "database {} was deleted while aisgap had it open",
        db.display()
    );
    assert!(last.contains(&named), "{logged}");
    let rescued: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("service.db.orphaned-"))
        .collect();
    assert_eq!(rescued.len(), 1, "{rescued:?}");
    let leftover = PathBuf::from(format!("{}-wal", db.display()));
    assert!(
        !leftover.exists(),
        "the lost file's WAL would be applied to the next database"
    );
    assert!(last.contains(&rescued[0].display().to_string()), "{last}");
    eprintln!("deleted database: exited {ended_s:.1} s after the deletion: {last}");

    // What the docs tell the operator: move the saved copy back and start again.
    std::fs::rename(&rescued[0], &db).unwrap();
    assert_eq!(
        committed_lines(&db, "feed"),
        third as u64,
        "every commit was saved"
    );
    feed.limit.store(total, Ordering::Relaxed);
    let mut service = disk.start_service(&config);
    wait_until(
        "every line committed after the restart",
        Duration::from_secs(30),
        || committed_lines(&db, "feed") == total as u64,
    );
    assert!(terminate(&mut service).success());
    assert_eq!(live_less_late_withdrawals(&db), expected, "nothing lost");
}

#[test]
fn a_database_replaced_under_the_service_is_told_from_a_deleted_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("service.db");
    let feed = ResumingFeed::start(scenario_lines(), db.clone(), 2000);
    let config = write_config(dir.path(), feed.port, "");
    let disk = SmallDisk {
        dir: dir.path().to_path_buf(),
        mounted: false,
        filler: PathBuf::new(),
    };
    let mut service = disk.start_service(&config);
    let log = collect_stderr(&mut service);
    let address = http_address(&config);
    wait_until("the first lines committed", Duration::from_secs(20), || {
        committed_lines(&db, "feed") == 2000
    });
    // An operator restoring a backup over the live file.
    let backup = dir.path().join("backup.db");
    std::fs::copy(&db, &backup).unwrap();
    std::fs::rename(&backup, &db).unwrap();
    feed.limit.store(4000, Ordering::Relaxed);
    let replaced = Instant::now();
    let mut saw_failing = false;
    let status = loop {
        if let Some(status) = service.try_wait().unwrap() {
            break status;
        }
        // The service may exit between the connect and the answer.
        if let Ok((code, body)) = try_http_get(&address, "/readyz") {
            saw_failing |= code == 503 && body.contains("replaced");
        }
        assert!(
            replaced.elapsed() < Duration::from_secs(15),
            "still running 15 s after its database was replaced"
        );
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(1), "{status:?}");
    thread::sleep(Duration::from_millis(200));
    let logged = log.lock().unwrap().join("\n");
    assert!(
        logged.contains(&format!(
            "database {} was replaced by another file",
            db.display()
        )),
        "{logged}"
    );
    eprintln!("replaced database: readiness seen failing before the exit: {saw_failing}");
}
