//! The tally report over a year of generated traffic: the simulator writes 365 days (8 shuttle
//! tankers, 24 background vessels: about a million lines, some 570 trips), replay loads them
//! into a temporary database, then the report is read from the store and rendered N times in a
//! row (median and worst), and `aisgap report tally` is run once end to end. Prints the time
//! against the 1 s target and the HTML's size against the 2 MB target.
//!
//!     cargo bench --bench report                  # a year, 10 renderings
//!     AISGAP_BENCH_DAYS=60 AISGAP_BENCH_RUNS=5 cargo bench --bench report
//!
//! Exits non-zero when either target is missed, so it can gate a change by hand.

use std::time::{Duration, Instant};

use aisgap::config::Config;
use aisgap::report::tally::{TallyReport, TallyReportParams};
use aisgap::simulate::{write_scenario, ScenarioParams};
use aisgap::store::read::GapFilter;
use aisgap::store::{Reader, Store};

#[path = "../tests/integration/support.rs"]
mod support;

use support::{env_or, repo_path};

const TIME_TARGET: Duration = Duration::from_secs(1);
const SIZE_TARGET: u64 = 2_000_000;

fn main() {
    let days = env_or("AISGAP_BENCH_DAYS", 365);
    let runs = env_or("AISGAP_BENCH_RUNS", 10).max(1) as usize;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let params = ScenarioParams {
        seed: 2024,
        days,
        tankers: 8,
        background: 24,
        identity_cases: false,
        at_sea: false,
    };
    let files = write_scenario(&params, dir.path(), "year").expect("simulating");
    let config_path = dir.path().join("aisgap.toml");
    std::fs::write(
        &config_path,
        format!(
            "[ports]\nfile = {:?}\n\n[watchlist]\nfile = \"watchlist.csv\"\n",
            repo_path("config/ports.geojson").display().to_string()
        ),
    )
    .unwrap();
    let config = Config::load(&config_path).expect("the bench configuration");
    let db = dir.path().join("year.db");
    let (summary, store) = aisgap::offline::replay::replay(
        &config,
        Store::open(&db).unwrap(),
        std::slice::from_ref(&files.nmea),
    )
    .expect("replaying");
    drop(store);

    let reader = Reader::open(&db).expect("the database");
    let mut times = Vec::with_capacity(runs);
    let mut html = Vec::new();
    let mut report = None;
    for _ in 0..runs {
        let started = Instant::now();
        let built = TallyReport::build(
            &reader,
            &GapFilter::default(),
            &TallyReportParams::default(),
        )
        .expect("reading the tally");
        html.clear();
        built.write_html(&mut html).expect("rendering");
        times.push(started.elapsed());
        report = Some(built);
    }
    times.sort();
    let report = report.expect("at least one run");
    let (median, worst) = (times[times.len() / 2], times[times.len() - 1]);

    let out = dir.path().join("tally.html");
    let started = Instant::now();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_aisgap"))
        .args(["report", "tally", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&config_path)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("running aisgap report tally");
    let end_to_end = started.elapsed();
    assert!(status.success(), "aisgap report tally: {status}");
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);

    println!(
        "{days} days: {} lines, {} trips, {} open calls, {} months, {} ports with calls",
        summary.decode.lines,
        report.totals.trips,
        report.totals.open_calls,
        report.months.len(),
        report.ports().len()
    );
    println!(
        "tally report: read and rendered in {:.1} ms median, {:.1} ms worst of {runs} (target {} ms); \
         `aisgap report tally` end to end {:.1} ms; HTML {:.2} MB (target {:.0} MB), CSV files beside it",
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        TIME_TARGET.as_millis(),
        end_to_end.as_secs_f64() * 1e3,
        size as f64 / 1e6,
        SIZE_TARGET as f64 / 1e6
    );
    let mut missed = Vec::new();
    if worst > TIME_TARGET || end_to_end > TIME_TARGET {
        missed.push("time");
    }
    if size > SIZE_TARGET || html.len() as u64 > SIZE_TARGET {
        missed.push("size");
    }
    if !missed.is_empty() {
        eprintln!("missed the target: {}", missed.join(", "));
        std::process::exit(1);
    }
}
