//! How real logs are timed: one carrier per source (no late fixes from switching between a
//! satellite log's two clocks), USCG NAIS trailers read by their fields, `$GPZDA` / `$GPRMC`
//! timing the untimed lines after them, and a log with no time at all refused loudly.

use std::collections::HashMap;

use aisgap::config::Config;
use aisgap::decode::clock::Carrier;
use aisgap::decode::{DecodeOptions, DecodeStats, NmeaDecoder};
use aisgap::engine::Engine;
use aisgap::model::{AisEvent, TimeSource};
use aisgap::offline::replay::{replay, ReplayError};
use aisgap::store::Store;
use aisgap::time::UnixMillis;

use crate::support::{aisgap, corpus, sample_path};

fn corpus_lines(relative: &str) -> Vec<String> {
    let bytes = std::fs::read(corpus(relative)).expect("corpus file is readable");
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Decodes lines as one source, in their order; each event with the line it completed on.
fn decode(lines: &[String]) -> (Vec<(usize, AisEvent)>, NmeaDecoder) {
    let mut decoder = NmeaDecoder::new(DecodeOptions::default());
    let mut events = Vec::new();
    let mut out = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        decoder.decode_line(line.as_bytes(), None, &mut out);
        events.extend(out.drain(..).map(|e| (index, e)));
    }
    decoder.finish();
    (events, decoder)
}

/// exactEarth: every sentence has its ground receive epoch after the checksum, about half are
/// also named by a `$PGHP` with the satellite time (0.3-2 h earlier). The epoch, on every line,
/// times them all; the engine, fed in file order, sees no fix go back in time.
#[test]
fn exact_earth_is_timed_by_its_ground_epoch_alone() {
    let lines = corpus_lines("amsa/exact-earth-augmented-2.txt");
    let (events, decoder) = decode(&lines);
    let stats = decoder.stats();
    assert_eq!(decoder.source_clock(), Some(Carrier::TrailingEpoch));
    assert!(stats.messages > 1_000, "{stats:?}");
    assert_eq!(stats.clock.untimed, 0, "every message gets a time");
    assert_eq!(stats.clock.timed_by_trailing_epoch, stats.messages);
    assert!(stats.gatehouse_lines > 900);
    assert!(
        stats.clock.other_carrier_ignored > 0
            && stats.clock.other_carrier_ignored <= stats.gatehouse_lines,
        "{:?}",
        stats.clock
    );
    // Each event's time is the epoch written on its own line.
    for (index, event) in &events {
        let epoch: i64 = lines[*index].rsplit(',').next().unwrap().parse().unwrap();
        assert_eq!(event.time(), Some(UnixMillis(epoch)), "line {}", index + 1);
        assert_eq!(event.heard().time_source, Some(TimeSource::LogColumn));
    }
    // Per vessel, time never goes backwards.
    let mut last: HashMap<u32, UnixMillis> = HashMap::new();
    for (index, event) in &events {
        let t = event.time().unwrap();
        if let Some(before) = last.insert(event.mmsi().0, t) {
            assert!(t >= before, "line {}: {} after {}", index + 1, t, before);
        }
    }
    let config = Config::load(&sample_path("aisgap.toml")).expect("samples/aisgap.toml");
    let mut engine = Engine::new(
        config.detect.clone(),
        config.ports.clone(),
        config.watchlist.clone(),
        config.store.track_interval_minutes,
    );
    for (_, event) in &events {
        engine.ingest(event);
    }
    engine.finish();
    assert!(engine.stats().fixes > 500, "{:?}", engine.stats());
    assert_eq!(engine.stats().late_fixes, 0, "{:?}", engine.stats());
}

/// Seconds into the day of a NAIS `t` field (`t050056.00`).
fn nais_time_of_day(line: &str) -> i64 {
    let t = line
        .split(',')
        .find_map(|f| f.strip_prefix('t'))
        .expect("a t field");
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    n(0..2) * 3600 + n(2..4) * 60 + n(4..6)
}

/// USCG NAIS: `...*hh,d-109,S2105,t050056.00,T56.13718694,r003669946,1325394060,1325394001`.
/// The line's time is the epoch a few seconds after its `t` receive time of day (the other one
/// is about a minute earlier); the station is the `r` receiver.
#[test]
fn nais_lines_take_the_epoch_that_agrees_with_their_receive_time() {
    let lines = corpus_lines("aisdb/test_data_201201.nmea");
    let (events, decoder) = decode(&lines);
    let sentences = lines.iter().filter(|l| l.starts_with('!')).count() as u64;
    assert_eq!(decoder.stats().messages, sentences);
    assert_eq!(decoder.stats().clock.timed_by_trailing_epoch, sentences);
    for (index, event) in &events {
        let line = &lines[*index];
        let fields: Vec<&str> = line.split(',').collect();
        let first: i64 = fields[fields.len() - 2].parse().unwrap();
        let second: i64 = fields[fields.len() - 1].parse().unwrap();
        assert_eq!(event.time(), Some(UnixMillis::from_secs(first)), "{line}");
        let after_t = (first.rem_euclid(86_400) - nais_time_of_day(line)).rem_euclid(86_400);
        assert!(after_t <= 5, "{line}: {after_t} s after t");
        assert!(first - second >= 25, "{line}: the other epoch is earlier");
        let station = fields.iter().find(|f| f.starts_with('r')).unwrap();
        assert_eq!(event.heard().station.as_deref(), Some(*station));
    }
}

/// The national-network log: `$GPZDA` / `$GPRMC` once a second among untimed lines. Every
/// message after the first time sentence is timed by the last one; only those before it stay
/// untimed; times never go backwards.
#[test]
fn amsa_network_log_is_timed_by_its_time_sentences() {
    let lines = corpus_lines("amsa/ais.txt");
    let (events, decoder) = decode(&lines);
    let stats = decoder.stats();
    let first_time_sentence = lines
        .iter()
        .position(|l| l.starts_with("$GPZDA") || l.starts_with("$GPRMC"))
        .unwrap();
    let (before, _) = decode(&lines[..first_time_sentence]);
    assert_eq!(decoder.source_clock(), Some(Carrier::TimeSentence));
    assert_eq!(stats.clock.untimed, before.len() as u64);
    assert_eq!(
        stats.clock.timed_by_time_sentence,
        stats.messages - stats.clock.untimed
    );
    let time_sentences = lines
        .iter()
        .filter(|l| l.starts_with("$GPZDA") || l.starts_with("$GPRMC"))
        .count() as u64;
    assert_eq!(
        stats.clock.time_sentences + stats.clock.time_sentences_refused,
        time_sentences
    );
    assert!(stats.messages > 30_000 && stats.clock.untimed < 20);
    let times: Vec<UnixMillis> = events.iter().filter_map(|(_, e)| e.time()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // 2012-01-27 11:47:02.51, the first $GPZDA.
    assert_eq!(
        times.first().copied(),
        UnixMillis::from_civil(2012, 1, 27, 11, 47, 2, 510)
    );
}

/// The same log read from its middle (a feed joined late, a log split in two): one receiver's
/// lines in it end in a trailing epoch, and one of them comes before the first `$GPZDA`. That
/// epoch used to settle the source's clock for good, and 16,583 of the second half's 17,000
/// messages stayed untimed; now it gives way to the time sentences within a few messages.
#[test]
fn amsa_network_log_read_from_its_middle_is_timed_by_its_time_sentences_too() {
    let lines = corpus_lines("amsa/ais.txt");
    let half = &lines[lines.len() / 2..];
    let first_time_sentence = half.iter().position(|l| l.starts_with("$GPZDA")).unwrap();
    assert!(
        half[..first_time_sentence]
            .iter()
            .any(|l| l.starts_with('!') && l.rsplit(',').next().is_some_and(|t| t.len() == 10)),
        "a line with a trailing epoch comes before the half's first time sentence"
    );
    let (_, decoder) = decode(half);
    let clock = &decoder.stats().clock;
    assert_eq!(decoder.source_clock(), Some(Carrier::TimeSentence));
    assert_eq!(clock.carrier_revised, 1);
    let (before, _) = decode(&half[..first_time_sentence]);
    assert!(
        clock.untimed < before.len() as u64 + 20,
        "{} untimed, {} messages before the first time sentence",
        clock.untimed,
        before.len()
    );
    assert!(clock.timed_by_time_sentence > 16_000, "{clock:?}");
    let (_, whole) = decode(&lines);
    assert_eq!(whole.stats().clock.carrier_revised, 0);
}

/// gpsd's NMEA log: a `$GPRMC` before almost every AIS message.
#[test]
fn gpsd_log_is_timed_by_its_rmc_sentences() {
    let lines = corpus_lines("gpsd/ais-nmea.log");
    let (events, decoder) = decode(&lines);
    let stats: &DecodeStats = decoder.stats();
    assert_eq!(decoder.source_clock(), Some(Carrier::TimeSentence));
    let first_rmc = lines.iter().position(|l| l.starts_with("$GPRMC")).unwrap();
    for (index, event) in &events {
        if *index < first_rmc {
            assert_eq!(event.time(), None);
            continue;
        }
        let rmc = lines[..*index]
            .iter()
            .rev()
            .find(|l| l.starts_with("$GPRMC"))
            .unwrap();
        let f: Vec<&str> = rmc.split(',').collect();
        let n = |s: &str, r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap();
        let expected = UnixMillis::from_civil(
            2000 + i64::from(n(f[9], 4..6)),
            n(f[9], 2..4),
            n(f[9], 0..2),
            n(f[1], 0..2),
            n(f[1], 2..4),
            n(f[1], 4..6),
            0,
        );
        assert_eq!(event.time(), expected, "line {}", index + 1);
    }
    assert!(stats.clock.timed_by_time_sentence > 150);
}

/// A log with no time at all: the replay names the file and fails rather than reporting
/// "0 fixes" as success.
#[test]
fn a_log_with_no_time_at_all_fails_the_replay_loudly() {
    let log = corpus("ais-decoder/nmea_data_sample.txt");
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&sample_path("aisgap.toml")).expect("samples/aisgap.toml");
    let store = Store::open(&dir.path().join("untimed.db")).unwrap();
    match replay(&config, store, std::slice::from_ref(&log)) {
        Err(ReplayError::NothingTimed { logs, messages }) => {
            assert_eq!(logs, std::slice::from_ref(&log));
            assert!(messages > 700, "{messages}");
        }
        other => panic!("expected NothingTimed, got {:?}", other.map(|(s, _)| s)),
    }
    let output = aisgap()
        .arg("replay")
        .arg("--config")
        .arg(sample_path("aisgap.toml"))
        .arg("--db")
        .arg(dir.path().join("cli.db"))
        .arg(&log)
        .output()
        .expect("run the aisgap binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("nmea_data_sample.txt"), "{stderr}");
    assert!(stderr.contains("could be timed"), "{stderr}");
    // With a timed log beside it, the replay succeeds and still warns about the untimed one.
    let output = aisgap()
        .arg("replay")
        .arg("--config")
        .arg(sample_path("aisgap.toml"))
        .arg("--db")
        .arg(dir.path().join("both.db"))
        .arg(&log)
        .arg(corpus("kystverket/Ais1000Lines.nm4"))
        .output()
        .expect("run the aisgap binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("nmea_data_sample.txt") && stderr.contains("could be timed"),
        "{stderr}"
    );
}
