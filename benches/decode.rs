//! Decoding throughput on real traffic. Builds files of at least 1,000,000 lines in a temporary
//! directory by repeating corpus lines (tag-blocked position traffic from the Norwegian feed;
//! the noisy mixed AMSA log), then decodes each on one thread, file to events, and prints
//! sentences/s and MB/s. `AISGAP_BENCH_LINES` changes the line count.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use aisgap::decode::{DecodeOptions, NmeaDecoder};
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
