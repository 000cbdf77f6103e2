//! Decoding throughput on real traffic. Builds files of at least 1,000,000 lines in a temporary
//! directory by repeating corpus lines (tag-blocked position traffic from the Norwegian feed;
//! the noisy mixed AMSA log), then decodes each on one thread, file to events, and prints
//! sentences/s and MB/s. `AISGAP_BENCH_LINES` changes the line count.
//!
//! Then the same generated traffic as an NMEA log and as a MarineCadastre CSV: fixes/s of
//! each through the feed decoder (the CSV must keep up with the NMEA), and JSON-lines records/s
//! of the hand-written writer against serde_json on the same events (`AISGAP_BENCH_DAYS`,
//! `_TANKERS`, `_BACKGROUND` scale the scenario).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use aisgap::decode::feed::FeedDecoder;
use aisgap::decode::{DecodeOptions, NmeaDecoder};
use aisgap::model::AisEvent;
use aisgap::offline::jsonl;
use aisgap::simulate::{write_scenario, ScenarioParams};
use aisgap::source::file::{self, Line, LineReader, DEFAULT_MAX_LINE};

#[path = "../tests/integration/support.rs"]
mod support;

/// Runs per variant (best kept); `AISGAP_BENCH_RUNS` changes it.
fn runs() -> usize {
    std::env::var("AISGAP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

struct Outcome {
    lines: u64,
    sentences: u64,
    messages: u64,
    rejected: u64,
    elapsed: Duration,
}

fn main() {
    let target_lines: usize = std::env::var("AISGAP_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, corpus) in [
        (
            "tag-blocked positions (kystverket)",
            "kystverket/Ais1000Lines.nm4",
        ),
        ("mixed noisy log (amsa)", "amsa/ais.txt"),
    ] {
        let source = support::corpus(corpus);
        let Ok(bytes) = fs::read(&source) else {
            panic!(
                "benchmark input {} is missing: the shared corpora must be checked out next to \
                 the repository",
                source.display()
            );
        };
        let path = dir.path().join(corpus.replace('/', "_"));
        let size = write_repeated(&bytes, target_lines, &path);
        let mut best: Option<Outcome> = None;
        for _ in 0..runs() {
            let outcome = decode_file(&path);
            if best.as_ref().is_none_or(|b| outcome.elapsed < b.elapsed) {
                best = Some(outcome);
            }
        }
        let best = best.expect("at least one run");
        let secs = best.elapsed.as_secs_f64();
        println!("{name}: {} lines, {:.1} MB", best.lines, size as f64 / 1e6);
        println!(
            "  {} sentences, {} messages, {} rejected, best of {}: {:.3} s",
            best.sentences,
            best.messages,
            best.rejected,
            runs(),
            secs
        );
        println!(
            "  {:.2} M sentences/s, {:.2} M lines/s, {:.0} MB/s (one thread, file to events)",
            best.sentences as f64 / secs / 1e6,
            best.lines as f64 / secs / 1e6,
            size as f64 / secs / 1e6
        );
        let in_memory = decode_in_memory(&fs::read(&path).expect("read bench file"));
        let secs = in_memory.elapsed.as_secs_f64();
        println!(
            "  {:.2} M sentences/s, {:.0} MB/s (lines already in memory: the decoder alone)",
            in_memory.sentences as f64 / secs / 1e6,
            size as f64 / secs / 1e6
        );
    }
    same_traffic_as_nmea_and_csv(dir.path());
}

/// Fixes/s of the NMEA log and of the CSV of the same traffic, then the JSON-lines writers.
fn same_traffic_as_nmea_and_csv(dir: &Path) {
    let params = ScenarioParams {
        days: support::env_or("AISGAP_BENCH_DAYS", 60),
        tankers: support::env_or("AISGAP_BENCH_TANKERS", 16),
        background: support::env_or("AISGAP_BENCH_BACKGROUND", 120),
        ..ScenarioParams::default()
    };
    let files = write_scenario(&params, dir, "same").expect("scenario written");
    let mut rates = Vec::new();
    for (name, path) in [("NMEA", &files.nmea), ("CSV", &files.csv)] {
        let bytes = fs::read(path).expect("generated file");
        let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        let (mut best, mut fixes, mut events) = (f64::MAX, 0, Vec::new());
        for _ in 0..runs() {
            events.clear();
            let start = Instant::now();
            let mut decoder = FeedDecoder::new(DecodeOptions::default(), name.into());
            for line in &lines {
                decoder.decode_line(line, None, &mut events);
            }
            decoder.finish();
            best = best.min(start.elapsed().as_secs_f64());
            fixes = events
                .iter()
                .filter(|e| matches!(e, AisEvent::Fix(_)))
                .count();
        }
        println!(
            "{name} of the generated traffic: {} lines, {fixes} fixes, {} events, best of {}: {best:.3} s, {:.2} M fixes/s (decoder alone)",
            lines.len(),
            events.len(),
            runs(),
            fixes as f64 / best / 1e6
        );
        rates.push(fixes as f64 / best);
        if name == "NMEA" {
            json_writers(&events);
        }
    }
    println!("  CSV / NMEA fixes/s: {:.2}", rates[1] / rates[0]);
}

/// Records/s of the hand-written JSON-lines writer and of serde_json, same events, same run.
fn json_writers(events: &[AisEvent]) {
    let best_of = |write: &mut dyn FnMut(&AisEvent)| {
        let mut best = f64::MAX;
        for _ in 0..runs() {
            let start = Instant::now();
            for event in events {
                write(event);
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        events.len() as f64 / best
    };
    let mut chunk = jsonl::RecordChunk::with_capacity(1 << 16);
    let written = best_of(&mut |event| {
        chunk.push(event);
        if chunk.len() >= 1 << 16 {
            std::hint::black_box(chunk.as_bytes());
            chunk.clear();
        }
    });
    let mut buffer = Vec::with_capacity(1 << 17);
    let serde = best_of(&mut |event| {
        jsonl::serde_record(event, &mut buffer).expect("serde_json writes");
        if buffer.len() >= 1 << 16 {
            std::hint::black_box(&buffer);
            buffer.clear();
        }
    });
    println!(
        "  JSON lines of these {} events: writer {:.2} M records/s, serde_json {:.2} M records/s ({:.1}x)",
        events.len(),
        written / 1e6,
        serde / 1e6,
        written / serde
    );
}

fn decode_in_memory(bytes: &[u8]) -> Outcome {
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let mut best: Option<Outcome> = None;
    for _ in 0..runs() {
        let start = Instant::now();
        let mut decoder = NmeaDecoder::new(DecodeOptions::default());
        let mut events = Vec::with_capacity(8);
        for line in &lines {
            decoder.decode_line(line, None, &mut events);
            events.clear();
        }
        let elapsed = start.elapsed();
        let stats = decoder.stats();
        let outcome = Outcome {
            lines: stats.lines,
            sentences: stats.sentences,
            messages: stats.messages,
            rejected: stats.rejected(),
            elapsed,
        };
        if best.as_ref().is_none_or(|b| outcome.elapsed < b.elapsed) {
            best = Some(outcome);
        }
    }
    best.expect("at least one run")
}

/// Writes `bytes`' lines again and again until the file has at least `target` lines.
fn write_repeated(bytes: &[u8], target: usize, path: &Path) -> u64 {
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = std::io::BufWriter::new(fs::File::create(path).expect("create bench file"));
    let mut written = 0;
    let mut size = 0u64;
    while written < target {
        for line in &lines {
            out.write_all(line).expect("write bench file");
            out.write_all(b"\n").expect("write bench file");
            size += line.len() as u64 + 1;
        }
        written += lines.len();
    }
    out.flush().expect("flush bench file");
    size
}

fn decode_file(path: &Path) -> Outcome {
    let start = Instant::now();
    let mut reader = LineReader::new(file::open(path).expect("open bench file"), DEFAULT_MAX_LINE);
    let mut decoder = NmeaDecoder::new(DecodeOptions::default());
    let mut events = Vec::with_capacity(8);
    let mut kept = 0u64;
    while let Some(line) = reader.next_line().expect("read bench file") {
        match line {
            Line::Text(bytes) => decoder.decode_line(bytes, None, &mut events),
            Line::TooLong { .. } => decoder.count_line_too_long(),
        }
        kept += events.len() as u64;
        events.clear();
    }
    decoder.finish();
    let elapsed = start.elapsed();
    let stats = decoder.stats();
    assert_eq!(kept, stats.events);
    Outcome {
        lines: stats.lines,
        sentences: stats.sentences,
        messages: stats.messages,
        rejected: stats.rejected(),
        elapsed,
    }
}
