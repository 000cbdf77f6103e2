//! Load on the running service: a generator on loopback pushes a generated scenario over TCP
//! at a target rate (default 250,000 lines/s) for a bounded time into `aisgap run`, and the
//! run reports sustained throughput, the service's CPU share, p99 delay from receipt to
//! detection (from its /metrics histogram) and peak RSS.
//!
//! Run: `cargo bench --bench service` (`AISGAP_BENCH_RATE`, `AISGAP_BENCH_SECONDS`,
//! `AISGAP_BENCH_DAYS` change the rate, the duration and the size of the generated feed).

use std::io::Write;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aisgap::simulate::{write_scenario, ScenarioParams};

#[path = "../tests/integration/support.rs"]
mod support;

use support::{aisgap, env_or, http_get, metric};

/// The smallest bucket bound under which at least 99 % of the delays fall.
fn p99_seconds(page: &str) -> String {
    let buckets: Vec<(String, f64)> = page
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("aisgap_pipeline_delay_seconds_bucket{le=\"")?;
            let (le, value) = rest.split_once("\"} ")?;
            Some((le.to_string(), value.parse().ok()?))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets
        .iter()
        .find(|(_, n)| *n >= 0.99 * total)
        .map_or("-".to_string(), |(le, _)| format!("<= {le} s"))
}

/// CPU seconds (user + system) of a process, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let rate = env_or("AISGAP_BENCH_RATE", 250_000);
    let seconds = env_or("AISGAP_BENCH_SECONDS", 10);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let params = ScenarioParams {
        seed: 11,
        days: env_or("AISGAP_BENCH_DAYS", 60) as u32,
        tankers: 40,
        background: 400,
        identity_cases: false,
        at_sea: false,
    };
    let files = write_scenario(&params, dir.path(), "load").expect("generating the feed");
    let bytes = std::fs::read(&files.nmea).unwrap();
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    println!(
        "feed: {} lines generated in {:.1} s",
        lines.len(),
        started.elapsed().as_secs_f64()
    );

    let feed = TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let root = support::repo_path("");
    let config = dir.path().join("aisgap.toml");
    std::fs::write(
        &config,
        format!(
            "[ports]\nfile = {:?}\n\n[watchlist]\nfile = {:?}\n\n[store]\ndb = {:?}\n\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n\n[[source]]\nname = \"load\"\nkind = \"tcp\"\naddress = \"{}\"\n",
            root.join("config/ports.geojson"),
            files.watchlist,
            dir.path().join("load.db"),
            feed.local_addr().unwrap()
        ),
    )
    .unwrap();
    let mut service = aisgap()
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("starting aisgap run");
    let pid = service.id();
    let (mut stream, _) = feed.accept().expect("the service connects to the feed");
    let cpu_before = cpu_seconds(pid);

    // Paced in 10 ms slices; a service that keeps up takes each slice at once, one that
    // cannot makes the writes wait (TCP backpressure), which shows as a lower sent rate.
    let per_slice = (rate / 100).max(1) as usize;
    let mut sent = 0usize;
    let push_started = Instant::now();
    let mut buffer = Vec::with_capacity(per_slice * 90);
    while push_started.elapsed() < Duration::from_secs(seconds) && sent < lines.len() {
        let slice_end = push_started + Duration::from_millis(10 * (sent / per_slice + 1) as u64);
        buffer.clear();
        for line in &lines[sent..(sent + per_slice).min(lines.len())] {
            buffer.extend_from_slice(line);
            buffer.push(b'\n');
        }
        stream
            .write_all(&buffer)
            .expect("the service reads the feed");
        sent = (sent + per_slice).min(lines.len());
        if let Some(rest) = slice_end.checked_duration_since(Instant::now()) {
            std::thread::sleep(rest);
        }
    }
    let push_seconds = push_started.elapsed().as_secs_f64();
    // Wait until the service has committed what it was sent.
    let address = format!("127.0.0.1:{http_port}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let (all_seconds, cpu, page) = loop {
        let page = http_get(&address, "/metrics").1;
        let committed = metric(&page, "aisgap_source_lines_total{source=\"load\"}").unwrap_or(0.0);
        let depth = metric(&page, "aisgap_line_channel_depth").unwrap_or(0.0);
        if (committed as usize >= sent && depth == 0.0) || Instant::now() > deadline {
            // The next commit publishes the last delays.
            let taken = push_started.elapsed().as_secs_f64();
            let cpu = cpu_seconds(pid) - cpu_before;
            std::thread::sleep(Duration::from_millis(1500));
            break (taken, cpu, http_get(&address, "/metrics").1);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let rss = peak_rss_mb(pid);
    println!(
        "pushed {sent} lines in {push_seconds:.2} s: {:.0} lines/s offered (target {rate}/s)",
        sent as f64 / push_seconds
    );
    println!(
        "service: all taken and committed after {all_seconds:.2} s: {:.0} lines/s sustained; CPU {:.2} s = {:.0} % of one core; peak RSS {rss:.0} MiB",
        sent as f64 / all_seconds,
        cpu,
        100.0 * cpu / all_seconds
    );
    println!(
        "receive-to-detection delay p99 {}; mean {:.1} ms; commits {} (mean {:.1} ms); vessels {}; trips {}",
        p99_seconds(&page),
        1000.0 * metric(&page, "aisgap_pipeline_delay_seconds_sum").unwrap_or(0.0)
            / metric(&page, "aisgap_pipeline_delay_seconds_count").unwrap_or(0.0).max(1.0),
        metric(&page, "aisgap_db_commits_total").unwrap_or(0.0),
        1000.0 * metric(&page, "aisgap_db_commit_seconds_total").unwrap_or(0.0)
            / metric(&page, "aisgap_db_commits_total").unwrap_or(0.0).max(1.0),
        metric(&page, "aisgap_vessels_tracked").unwrap_or(0.0),
        metric(&page, "aisgap_trips_total").unwrap_or(0.0),
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = service.wait().unwrap();
    println!("stopped with {status}");
    let db = rusqlite::Connection::open(dir.path().join("load.db")).unwrap();
    let kib =
        |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(0) as f64 / 1024.0;
    let engine_row = kib("SELECT length(engine) FROM engine_checkpoint");
    let vessel_rows = kib("SELECT COALESCE(SUM(length(state)), 0) FROM vessel_states");
    let bin_rows = kib("SELECT COALESCE(SUM(length(bin)), 0) FROM coverage_states");
    let db_bytes = std::fs::metadata(dir.path().join("load.db")).map_or(0, |m| m.len());
    println!(
        "stored engine state: engine row {engine_row:.1} KiB (rewritten each commit), vessel rows {vessel_rows:.1} KiB and coverage rows {bin_rows:.1} KiB (rewritten when changed); database {:.1} MiB",
        db_bytes as f64 / 1_048_576.0
    );
}
