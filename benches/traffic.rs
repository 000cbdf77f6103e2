//! Cost that follows traffic, not vessels x hours: replays a year of a busy feed in which most
//! vessels pass once and are never heard again (50,000 of them), against a year of the same
//! number of lines from 500 vessels (the same 50 regulars in both), both in the same run: once
//! with every vessel watched (each passer leaves a gap open until it is let go), once with the
//! regulars and every tenth passer watched (a watchlist, the share of tankers in real traffic;
//! an unwatched vessel is tracked but has no silence to judge). A sweep over
//! every silent vessel each stream hour makes the first case many times slower; timers per
//! silent vessel and forgetting after `forget_after_hours` keep the two rates close (target:
//! within 1.5x). Also prints the memory the engine kept at the end.
//!
//! Run: `cargo bench --bench traffic` (`AISGAP_BENCH_LINES`, `AISGAP_BENCH_VESSELS` scale it;
//! `AISGAP_BENCH_KEEP=DIR` keeps each feed there, to profile `aisgap replay` on it).

use std::path::Path;

use aisgap::config::Config;
use aisgap::offline::replay::replay;
use aisgap::store::Store;

#[path = "../tests/integration/support.rs"]
mod support;

use support::env_or;

/// Vessels heard all year in both feeds (see [`support::write_passing_traffic`]).
const REGULARS: u64 = support::TRAFFIC_REGULARS;
/// A leap year.
const YEAR_SECS: i64 = 366 * 86_400;

fn write_feed(path: &Path, vessels: u32, lines: u64) {
    support::write_passing_traffic(path, vessels, lines, YEAR_SECS);
}

/// Writes the feed of `vessels` vessels once, for every workload that replays it.
fn feed(dir: &Path, vessels: u32, lines: u64) -> std::path::PathBuf {
    let feed = dir.join(format!("year-{vessels}.nmea"));
    if !feed.exists() {
        let started = std::time::Instant::now();
        write_feed(&feed, vessels, lines);
        println!(
            "{vessels:>6} vessels: feed of {lines} lines generated in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // Kept for profiling `aisgap replay` on the same feed.
        if let Some(keep) = std::env::var_os("AISGAP_BENCH_KEEP") {
            let kept = Path::new(&keep).join(feed.file_name().expect("feed name"));
            std::fs::copy(&feed, &kept).expect("feed kept");
            println!("feed kept as {}", kept.display());
        }
    }
    feed
}

fn replay_rate(dir: &Path, config: &Config, vessels: u32, lines: u64) -> f64 {
    let feed = feed(dir, vessels, lines);
    let db = dir.join(format!("year-{vessels}.db"));
    let _ = std::fs::remove_file(&db);
    let (summary, store) = replay(
        config,
        Store::open(&db).expect("database"),
        std::slice::from_ref(&feed),
    )
    .expect("replay");
    drop(store);
    // Passers never come back, so their gaps stay open: the rows say how many there were.
    let gap_rows: i64 = rusqlite::Connection::open(&db)
        .and_then(|db| db.query_row("SELECT count(*) FROM gaps", [], |row| row.get(0)))
        .expect("gaps counted");
    let rate = summary.lines_per_second();
    println!(
        "{vessels:>6} vessels: {} lines replayed in {:.2} s = {:.3} M lines/s; {gap_rows} gaps ({} closed), {} vessels still tracked, {} forgotten, {} judged again",
        summary.decode.lines,
        summary.seconds,
        rate / 1e6,
        summary.engine.gaps,
        summary.vessels,
        summary.engine.forgotten_vessels,
        summary.engine.rejudged,
    );
    rate
}

/// The watchlist of the second workload: the regulars and every tenth other vessel.
fn write_watchlist(path: &Path, vessels: u32) {
    let mut text = String::from("mmsi,imo,name,note\n");
    for v in (0..vessels).filter(|v| u64::from(*v) < REGULARS || v % 10 == 3) {
        text.push_str(&format!("{},,,watched in the bench\n", 273_000_000 + v));
    }
    std::fs::write(path, text).expect("watchlist written");
}

fn main() {
    let lines: u64 = env_or("AISGAP_BENCH_LINES", 2_000_000);
    let many: u32 = env_or("AISGAP_BENCH_VESSELS", 50_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let ports = support::repo_path("config/ports.geojson");
    let watchlist = dir.path().join("watchlist.csv");
    write_watchlist(&watchlist, many);
    let workloads = [
        (
            "every vessel watched",
            format!(
                "[ports]\nfile = \"{}\"\n[detect]\nwatch_all = true\n",
                ports.display()
            ),
        ),
        (
            "a tenth of the passers watched",
            format!(
                "[ports]\nfile = \"{}\"\n[watchlist]\nfile = \"{}\"\n",
                ports.display(),
                watchlist.display()
            ),
        ),
    ];
    let mut ratios = Vec::new();
    for (name, config_text) in workloads {
        println!("-- {name}");
        let config_path = dir.path().join("bench.toml");
        std::fs::write(&config_path, config_text).expect("config written");
        let config = Config::load(&config_path).expect("bench config valid");
        let few_rate = replay_rate(dir.path(), &config, 500, lines);
        let many_rate = replay_rate(dir.path(), &config, many, lines);
        ratios.push((name, many_rate / few_rate));
    }
    for (name, ratio) in ratios {
        println!(
            "traffic, {name}: {many} vessels mostly passing once run at {ratio:.2}x the lines/s of 500 vessels (target >= 0.67, i.e. within 1.5x)"
        );
    }
}
