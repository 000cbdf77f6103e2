//! Messages of each type in real captures, against an independent decoder: the expected counts
//! are pyais 3.3.1's on the same files (`scripts/pyais_counts.sh FILE...` prints them), and
//! what aisgap refuses in each file is named by reason.

use aisgap::decode::feed::FeedDecoder;
use aisgap::decode::{DecodeOptions, DecodeStats};
use aisgap::source::file::{self, Line, LineReader, DEFAULT_MAX_LINE};

use crate::support::corpus;

/// A corpus file through the same per-source decoder replay uses.
fn decode(relative: &str) -> DecodeStats {
    let path = corpus(relative);
    let input = file::open(&path).expect("corpus file opens");
    let mut lines = LineReader::new(input, DEFAULT_MAX_LINE);
    let mut decoder = FeedDecoder::new(DecodeOptions::default(), relative.into());
    let mut events = Vec::new();
    while let Some(line) = lines.next_line().expect("corpus file reads") {
        match line {
            Line::Text(text) => decoder.decode_line(text, None, &mut events),
            Line::TooLong { .. } => decoder.count_line_too_long(),
        }
        events.clear();
    }
    decoder.finish();
    decoder.stats()
}

fn by_type(stats: &DecodeStats) -> Vec<(usize, u64)> {
    (0..stats.by_type.len())
        .filter(|&t| stats.by_type[t] > 0)
        .map(|t| (t, stats.by_type[t]))
        .collect()
}

/// The reasons aisgap refused lines or sentences for, with their counts.
fn refusals(stats: &DecodeStats) -> Vec<(&'static str, u64)> {
    stats
        .rejects
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| (reason.name(), n))
        .collect()
}

fn check(relative: &str, pyais: &[(usize, u64)], refused: &[(&str, u64)]) -> DecodeStats {
    let stats = decode(relative);
    assert_eq!(by_type(&stats), pyais, "{relative}: messages by type");
    assert_eq!(
        stats.messages,
        pyais.iter().map(|(_, n)| n).sum::<u64>(),
        "{relative}: messages"
    );
    assert_eq!(refusals(&stats), refused, "{relative}: refusals");
    stats
}

/// US coastal traffic with a leading time column, most messages received twice: every copy is
/// decoded and counted by type, the copies are then held back as duplicates.
#[test]
fn us_coastal_log_with_duplicate_receptions() {
    let stats = check(
        "simpleais/sample.ais",
        &[
            (1, 6836),
            (3, 840),
            (4, 540),
            (5, 339),
            (7, 1),
            (8, 116),
            (10, 1),
            (18, 440),
            (20, 12),
            (21, 19),
            (24, 327),
        ],
        // Second fragments whose first was never received before the fragment timeout.
        &[("expired_fragment", 72)],
    );
    assert_eq!(stats.clock.timed_by_leading_column, stats.messages);
    assert!(stats.duplicates > 2_000, "{} duplicates", stats.duplicates);
    assert_eq!(stats.events + stats.duplicates, stats.messages);
}

/// Tag-blocked traffic with an empty channel field.
#[test]
fn tag_blocked_log_with_empty_channels() {
    let stats = check(
        "aisdb/test_data_20211101.nm4",
        &[
            (1, 608),
            (3, 104),
            (4, 5),
            (5, 18),
            (6, 1),
            (8, 1),
            (18, 74),
            (19, 4),
            (21, 11),
            (24, 24),
            (25, 2),
            (27, 127),
        ],
        &[],
    );
    assert_eq!(stats.clock.timed_by_tag_block, stats.messages);
}

/// USCG NAIS lines with their receiver fields after the checksum: one message of each type.
#[test]
fn uscg_nais_log_with_receiver_fields() {
    let every_type: Vec<(usize, u64)> = (1..=27).filter(|&t| t != 19).map(|t| (t, 1)).collect();
    let stats = check("aisdb/test_data_201201.nmea", &every_type, &[]);
    assert_eq!(stats.clock.timed_by_trailing_epoch, 26);
}

/// exactEarth satellite traffic with two clocks: every message timed by the one clock all its
/// lines carry.
#[test]
fn satellite_log_with_two_clocks() {
    let stats = check(
        "amsa/exact-earth-augmented-2.txt",
        &[
            (1, 616),
            (3, 96),
            (5, 198),
            (6, 18),
            (7, 5),
            (8, 18),
            (10, 5),
            (12, 5),
            (13, 3),
            (14, 2),
            (15, 5),
            (16, 10),
            (17, 5),
            (18, 85),
            (20, 6),
            (21, 10),
            (22, 2),
            (23, 5),
            (24, 30),
            (25, 5),
            (26, 3),
            (27, 1),
        ],
        // Two payloads whose length fits no layout of their type; pyais skips them too.
        &[("bad_payload", 2)],
    );
    assert_eq!(stats.clock.timed_by_trailing_epoch, stats.messages);
    assert_eq!(stats.clock.untimed, 0);
}

/// A log without any time: decoded and counted, and said to be untimed.
#[test]
fn untimed_log() {
    let stats = check(
        "ais-decoder/nmea_data_sample.txt",
        &[
            (1, 667),
            (3, 76),
            (4, 6),
            (15, 7),
            (18, 19),
            (20, 1),
            (24, 2),
        ],
        // 100 sentences with an empty payload; 20 first fragments never completed.
        &[("short_payload", 100), ("expired_fragment", 20)],
    );
    assert_eq!(stats.clock.untimed, stats.messages);
}

/// The Norwegian national feed's tag-blocked sample.
#[test]
fn norwegian_feed_sample() {
    let stats = check(
        "kystverket/Ais1000Lines.nm4",
        &[(1, 621), (3, 115), (5, 123), (18, 12), (24, 6)],
        &[],
    );
    assert_eq!(stats.clock.timed_by_tag_block, stats.messages);
}
