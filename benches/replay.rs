//! End-to-end replay throughput: generates months of traffic for hundreds of vessels with the
//! scenario generator (>= 3,000,000 NMEA lines), then in the same run measures
//! 1. decode only: every line through the NMEA decoder, events discarded (the baseline),
//! 2. replay: decode + track + detect + SQLite store, into a fresh database, with one engine
//!    thread and with the vessels split across one engine per core (alternately, best of
//!    two each; the machine's core count is printed),
//! 3. the analysts' queries (trips, tally by port and month) on that database,
//! 4. replay of the same lines shuffled (a fixed permutation), sort included, against the log
//!    in order: the ratio is the price of an unsorted input.
//!
//! Run: `cargo bench --bench replay` (`AISGAP_BENCH_DAYS`, `_TANKERS`, `_BACKGROUND` scale it).

use std::path::Path;
use std::time::Instant;

use aisgap::config::Config;
use aisgap::decode::feed::FeedDecoder;
use aisgap::offline::replay::{
    default_engine_parts, replay, replay_with, sort_params, ReplaySummary,
};
use aisgap::offline::sort::SortParams;
use aisgap::query::{self, AnswerFormat, Question};
use aisgap::simulate::{write_scenario, ScenarioParams};
use aisgap::source::file::{self, Line, LineReader, DEFAULT_MAX_LINE};
use aisgap::store::read::{GapFilter, TallyKey};
use aisgap::store::{Reader, Store};

#[path = "../tests/integration/support.rs"]
mod support;

use support::env_or;

fn decode_only(path: &Path, config: &Config) -> (u64, f64) {
    let started = Instant::now();
    let mut lines = LineReader::new(file::open(path).expect("generated log"), DEFAULT_MAX_LINE);
    let mut decoder = FeedDecoder::new(config.decode_options(None), "bench".into());
    let mut events = Vec::with_capacity(16);
    let mut count = 0u64;
    while let Some(line) = lines.next_line().expect("readable") {
        if let Line::Text(text) = line {
            decoder.decode_line(text, None, &mut events);
            count += events.len() as u64;
            events.clear();
        }
    }
    std::hint::black_box(count);
    (decoder.stats().lines, started.elapsed().as_secs_f64())
}

/// The log's lines in a fixed random order (xorshift, Fisher-Yates). Whole lines move: the
/// sentences of a two-part message may end up apart, as in a badly merged export.
fn write_shuffled(from: &Path, to: &Path) {
    let text = std::fs::read(from).expect("generated log");
    let mut lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..lines.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        lines.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut out = Vec::with_capacity(text.len());
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    std::fs::write(to, out).expect("shuffled log written");
}

/// The log replayed into a fresh `db` with the vessels split across `parts` engines.
fn replay_parts(config: &Config, db: &Path, log: &Path, parts: usize) -> ReplaySummary {
    let _ = std::fs::remove_file(db);
    let sort = SortParams {
        engine_parts: parts,
        ..sort_params(config)
    };
    let store = Store::open(db).expect("database");
    let (summary, store) = replay_with(
        config,
        store,
        std::slice::from_ref(&log.to_path_buf()),
        &sort,
    )
    .expect("replay");
    drop(store);
    summary
}

fn time_query(reader: &Reader, question: &Question, runs: u32) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        let mut sink = Vec::new();
        query::answer(
            reader,
            question,
            &GapFilter::default(),
            AnswerFormat::Json,
            &mut sink,
        )
        .expect("query answers");
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
    }
    best
}

fn main() {
    let params = ScenarioParams {
        seed: 7,
        days: env_or("AISGAP_BENCH_DAYS", 90),
        tankers: env_or("AISGAP_BENCH_TANKERS", 40),
        background: env_or("AISGAP_BENCH_BACKGROUND", 400),
        identity_cases: false,
        at_sea: false,
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let started = Instant::now();
    let files = write_scenario(&params, dir.path(), "bench").expect("scenario generated");
    let size_mb = std::fs::metadata(&files.nmea).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "generated {} days, {} tankers, {} background vessels: {} lines ({size_mb:.0} MB) in {:.1} s",
        params.days,
        params.tankers,
        params.background,
        files.truth_value.lines,
        started.elapsed().as_secs_f64()
    );
    let config_text = format!(
        "[ports]\nfile = \"{}\"\n[watchlist]\nfile = \"{}\"\n",
        support::repo_path("config/ports.geojson").display(),
        files.watchlist.display()
    );
    let config_path = dir.path().join("bench.toml");
    std::fs::write(&config_path, config_text).expect("config written");
    let config = Config::load(&config_path).expect("bench config valid");

    let (lines, decode_s) = decode_only(&files.nmea, &config);
    let decode_rate = lines as f64 / decode_s;
    println!(
        "decode only:  {lines} lines in {decode_s:.2} s = {:.2} M lines/s ({:.0} MB/s)",
        decode_rate / 1e6,
        size_mb / decode_s
    );

    let db = dir.path().join("bench.db");
    let cores = default_engine_parts();
    let (mut one, mut all): (Option<ReplaySummary>, Option<ReplaySummary>) = (None, None);
    for _ in 0..2 {
        let whole = replay_parts(&config, &db, &files.nmea, 1);
        if one.as_ref().is_none_or(|o| whole.seconds < o.seconds) {
            one = Some(whole);
        }
        let split = replay_parts(&config, &db, &files.nmea, cores);
        if all.as_ref().is_none_or(|a| split.seconds < a.seconds) {
            all = Some(split);
        }
    }
    let (one, summary) = (one.expect("replayed"), all.expect("replayed"));
    println!(
        "threads:      {cores} cores available; 1 engine thread {:.2} s, {cores} engine threads {:.2} s = {:.2}x (target >= 1.7 on 2 cores); {} and {} trips",
        one.seconds,
        summary.seconds,
        one.seconds / summary.seconds,
        one.engine.trips,
        summary.engine.trips
    );
    let replay_rate = summary.lines_per_second();
    println!(
        "replay:       {} lines in {:.2} s = {:.2} M lines/s ({:.2}x decode-only); {} fixes, {} vessels, {} gap judgements; database {:.0} MB",
        summary.decode.lines,
        summary.seconds,
        replay_rate / 1e6,
        replay_rate / decode_rate,
        summary.engine.fixes,
        summary.vessels,
        summary.engine.gaps,
        std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
    );

    let shuffled = dir.path().join("shuffled.nmea");
    write_shuffled(&files.nmea, &shuffled);
    let shuffled_db = dir.path().join("shuffled.db");
    let (unsorted, store) = replay(
        &config,
        Store::open(&shuffled_db).expect("database"),
        std::slice::from_ref(&shuffled),
    )
    .expect("replay of the shuffled log");
    drop(store);
    println!(
        "shuffled:     {} lines in {:.2} s = {:.2} M lines/s; {} of {} events out of order, {} sorted runs spilled; {:.2}x the time of the log in order",
        unsorted.decode.lines,
        unsorted.seconds,
        unsorted.lines_per_second() / 1e6,
        unsorted.out_of_order,
        unsorted.sort.events,
        unsorted.sort.runs,
        unsorted.seconds / summary.seconds
    );

    let reader = Reader::open(&db).expect("read-only database");
    let trips = reader.gaps(&GapFilter::trips()).expect("trips").len();
    let trips_ms = time_query(&reader, &Question::Trips, 10);
    let tally_ms = time_query(
        &reader,
        &Question::Tally(vec![TallyKey::Port, TallyKey::Month]),
        10,
    );
    println!(
        "queries:      trips ({trips} records, JSON) {trips_ms:.1} ms; tally by port and month {tally_ms:.1} ms (target < 100 ms); expected trips {}",
        files.truth_value.trips.len()
    );
}
