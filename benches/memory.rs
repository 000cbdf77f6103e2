//! Memory per tracked vessel in steady state: 1,000,000 distinct MMSIs each report a fix every
//! three hours (under the gap threshold, as vessels in coverage do) for a day, every tenth with
//! static data; reports resident memory per vessel and the process's peak RSS. Then the same
//! million MMSIs, two fixes each, as an NMEA log through `aisgap replay` (the whole pipeline:
//! decode, sort, engine, store): the child's peak RSS per vessel; and the same log read once by
//! `aisgap run` (a file source, commits, checkpoints), stopped with SIGTERM once it has
//! committed every line: the service's peak RSS per vessel.
//!
//! Run: `cargo bench --bench memory` (`AISGAP_BENCH_REPLAY=0` skips the replay,
//! `AISGAP_BENCH_RUN=0` the service, `AISGAP_BENCH_RUN_TIMEOUT_S` bounds the wait for it,
//! default 900)

use std::io::Write;

use aisgap::detect::DetectParams;
use aisgap::engine::Engine;
use aisgap::model::{AisEvent, Fix, Heard, Mmsi, TimeSource, TransceiverClass, VesselReport};
use aisgap::ports::Port;
use aisgap::simulate::encode::{lat_raw, lon_raw, single_sentence, sog_raw, PositionReport};
use aisgap::time::UnixMillis;
use aisgap::watchlist::Watchlist;

const VESSELS: u32 = 1_000_000;
const T0: i64 = 1_709_856_000_000;

/// A field of `/proc/<process>/status` (`self` or a pid), KiB; 0 when the process is gone.
fn status_kib(process: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn fix(mmsi: u32, time: i64) -> AisEvent {
    // Spread vessels over the North Pacific so coverage bins see only a few of them.
    let lat = 20.0 + f64::from(mmsi % 4000) / 100.0;
    let lon = 120.0 + f64::from(mmsi / 4000 % 6000) / 100.0;
    AisEvent::Fix(Fix {
        mmsi: Mmsi(mmsi),
        msg_type: 1,
        class: TransceiverClass::A,
        heard: Heard {
            time: Some(UnixMillis(time)),
            time_source: Some(TimeSource::TagBlock),
            station: None,
            channel: Some('A'),
            line: None,
        },
        lat,
        lon,
        sog: Some(11.0),
        cog: Some(90.0),
        heading: Some(90),
        nav_status: Some(0),
        turn: None,
        accuracy: false,
        raim: false,
        second: Some(0),
    })
}

#[path = "../tests/integration/support.rs"]
mod support;

/// Peak resident memory of the children waited for so far, KiB.
fn children_peak_kib() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as u64
}

/// Every vessel's fix as a tag-blocked NMEA line, `rounds` times, in time order.
fn write_log(path: &std::path::Path, rounds: i64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("log file"));
    let mut line = String::with_capacity(128);
    for round in 0..rounds {
        for i in 0..VESSELS {
            let mmsi = 200_000_000 + i * 7;
            let secs = T0 / 1000 + round * 3 * 3600 + i64::from(i) / 100;
            let AisEvent::Fix(f) = fix(mmsi, secs * 1000) else {
                unreachable!("fix() makes fixes")
            };
            let armoured = PositionReport {
                msg_type: 1,
                repeat: 0,
                mmsi,
                nav_status: 0,
                turn: -128,
                sog: sog_raw(f.sog.map(f64::from)),
                accuracy: false,
                lon: lon_raw(Some(f.lon)),
                lat: lat_raw(Some(f.lat)),
                cog: 900,
                heading: 90,
                second: 0,
                maneuver: 0,
                raim: false,
                radio: 0,
            }
            .encode();
            single_sentence(&mut line, "bench", secs, 'A', &armoured);
            line.push('\n');
            out.write_all(line.as_bytes()).expect("log written");
        }
    }
    out.flush().expect("log written");
}

/// Lines of the log, two fixes of every vessel.
const LOG_LINES: u64 = 2 * VESSELS as u64;

/// `aisgap replay` of a million MMSIs in a child process: its peak RSS per vessel.
fn replay_peak(dir: &std::path::Path, log: &std::path::Path) {
    let started = std::time::Instant::now();
    let out = support::aisgap()
        .args(["replay", "--no-config", "--db"])
        .arg(dir.join("million.db"))
        .arg(log)
        .output()
        .expect("aisgap replay runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak = children_peak_kib();
    println!(
        "replay: {VESSELS} MMSIs x 2 fixes through `aisgap replay` in {:.1} s, peak RSS {:.1} MiB = {:.0} bytes per vessel (target <= 1024)",
        started.elapsed().as_secs_f64(),
        peak as f64 / 1024.0,
        peak as f64 * 1024.0 / f64::from(VESSELS)
    );
}

/// Lines of source `log` the service has committed, from its database (0 before the first
/// commit or while the database is being created).
fn committed_lines(db: &std::path::Path) -> u64 {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, flags) else {
        return 0;
    };
    conn.query_row(
        "SELECT lines FROM source_positions WHERE source = 'log'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |n| n as u64)
}

/// Waits for the child `pid` without blocking: its exit status and resource use once it has
/// exited. `Child::try_wait` would reap it and drop the rusage that says its own peak RSS.
fn try_wait4(pid: u32) -> Option<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: wait4 only writes the status and the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
    (reaped == pid as i32).then_some((status, usage))
}

/// `aisgap run` reading the million-MMSI log once, as an operator's file source: its peak RSS
/// per vessel once every line is committed, and at its exit after SIGTERM (the last commit
/// and checkpoint included).
fn run_peak(dir: &std::path::Path, log: &std::path::Path) {
    use std::time::{Duration, Instant};
    let db = dir.join("run.db");
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        format!(
            "[ports]\nfile = {ports:?}\n\n[store]\ndb = {db:?}\n\n[http]\nlisten = \"\"\n\n\
             [[source]]\nname = \"log\"\nkind = \"file\"\npath = {log:?}\nfollow = false\n",
            ports = support::repo_path("config/ports.geojson"),
        ),
    )
    .expect("the service configuration is written");
    let stderr = std::fs::File::create(dir.join("run.log")).expect("the service log file");
    let started = Instant::now();
    // Reaped by wait4 below, which also gives its own peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = support::aisgap()
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("aisgap run starts");
    let pid = child.id();
    let log_text = || std::fs::read_to_string(dir.join("run.log")).unwrap_or_default();
    let timeout = Duration::from_secs(support::env_or("AISGAP_BENCH_RUN_TIMEOUT_S", 900));
    let mut committed = 0;
    while committed < LOG_LINES {
        if let Some((status, _)) = try_wait4(pid) {
            panic!(
                "aisgap run exited ({status}) after {committed} of {LOG_LINES} lines; log:\n{}",
                log_text()
            );
        }
        if started.elapsed() > timeout {
            // SAFETY: kill(2) with the pid of our own child process.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("aisgap run committed {committed} of {LOG_LINES} lines within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
        committed = committed_lines(&db);
    }
    let taken = started.elapsed();
    let before_stop = status_kib(&pid.to_string(), "VmHWM:");
    // SAFETY: kill(2) with the pid of our own child process.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let (status, usage) = loop {
        if let Some(exited) = try_wait4(pid) {
            break exited;
        }
        if Instant::now() > deadline {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("aisgap run did not stop within 60 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "aisgap run stopped with status {status}; log:\n{}",
        log_text()
    );
    let peak = (usage.ru_maxrss as u64).max(before_stop);
    println!(
        "run: {VESSELS} MMSIs x 2 fixes through `aisgap run` (file source) committed in {:.1} s, \
         peak RSS {:.1} MiB = {:.0} bytes per vessel (target <= 1024); {:.1} MiB when every line \
         was committed",
        taken.as_secs_f64(),
        peak as f64 / 1024.0,
        peak as f64 * 1024.0 / f64::from(VESSELS),
        before_stop as f64 / 1024.0,
    );
}

fn main() {
    let replay = support::env_or("AISGAP_BENCH_REPLAY", 1) == 1;
    let run = support::env_or("AISGAP_BENCH_RUN", 1) == 1;
    if replay || run {
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = dir.path().join("million.nmea");
        write_log(&log, 2);
        if replay {
            replay_peak(dir.path(), &log);
        }
        if run {
            run_peak(dir.path(), &log);
        }
    }
    let ports = vec![Port::circle("Vostochny", 42.735, 133.075, 2.0)];
    let mut engine = Engine::new(DetectParams::default(), ports, Watchlist::default(), 10);
    let before = status_kib("self", "VmRSS:");
    let started = std::time::Instant::now();
    for round in 0..8i64 {
        for i in 0..VESSELS {
            let mmsi = 200_000_000 + i * 7;
            let time = T0 + round * 3 * 3_600_000 + i64::from(i) * 10;
            engine.ingest(&fix(mmsi, time));
            if i % 10 == 0 {
                engine.ingest(&AisEvent::VesselReport(VesselReport {
                    mmsi: Mmsi(mmsi),
                    msg_type: 5,
                    heard: Heard {
                        time: Some(UnixMillis(time + 1)),
                        ..Heard::default()
                    },
                    name: Some(format!("VESSEL {i}").into()),
                    callsign: Some("UBAA7".into()),
                    imo: Some(9_000_000 + i),
                    ship_type: Some(if i % 20 == 0 { 80 } else { 70 }),
                    length: Some(120),
                    beam: Some(20),
                    draught: Some(7.5),
                    destination: Some("NAKHODKA".into()),
                    ..VesselReport::default()
                }));
            }
            if engine.pending_changes() > 100_000 {
                drop(engine.take_changes());
            }
        }
    }
    engine.finish();
    drop(engine.take_changes());
    let after = status_kib("self", "VmRSS:");
    let per_vessel = (after.saturating_sub(before)) as f64 * 1024.0 / f64::from(VESSELS);
    println!(
        "memory: {} vessels tracked, {:.0} bytes resident per vessel (target <= 1024), peak RSS {:.1} MiB, {:.2} s",
        engine.vessels().len(),
        per_vessel,
        status_kib("self", "VmHWM:") as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
}
