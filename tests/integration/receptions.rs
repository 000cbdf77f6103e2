//! Real feeds as they are heard: every talker of the national networks decoded and counted,
//! repeated receptions of one transmission kept once through to the store, groups of ships
//! tracked as vessels, and every `decode --format jsonl` record naming its message type.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aisgap::config::Config;
use aisgap::decode::DecodeStats;
use aisgap::model::{Mmsi, StationKind};
use aisgap::offline::replay::{replay, ReplaySummary};
use aisgap::store::{Reader, Store};
use rusqlite::Connection;

use crate::support::{corpus, dump, provenance, repo_path};

/// Decodes a corpus file as `aisgap decode --summary` does, returning its counters.
fn decode_summary(relative: &str) -> DecodeStats {
    use aisgap::cli::{DecodeArgs, RecordFormat};
    let args = DecodeArgs {
        files: vec![corpus(relative)],
        format: RecordFormat::Jsonl,
        summary: true,
        station: None,
        max_line_length: aisgap::source::file::DEFAULT_MAX_LINE,
        csv_map: None,
    };
    let (mut out, mut summary) = (Vec::new(), Vec::new());
    let stats = aisgap::offline::decode::run(&args, &mut out, &mut summary).expect("decode runs");
    let summary = String::from_utf8(summary).expect("UTF-8 summary");
    assert!(
        summary.contains(&format!("messages by talker: {}", stats.by_talker)),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "duplicates (same payload again within the window, not emitted): {}",
            stats.duplicates
        )),
        "{summary}"
    );
    stats
}

fn talkers(stats: &DecodeStats) -> BTreeMap<String, u64> {
    assert_eq!(stats.by_talker.other(), 0);
    stats.by_talker.iter().collect()
}

fn expected(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

/// The expected counts come from a short Python count over each file: every `!ttVDM` /
/// `!ttVDO` sentence (`tt` any two characters but `,*!$\`) with a valid XOR checksum, a
/// multi-sentence message counted once, when its last sentence arrives.
#[test]
fn every_talker_of_the_national_networks_is_decoded_and_counted() {
    // Australia's network: 1,355 `!=IVDM` lines, 1,348 of them with valid checksums (the
    // other 7 are cut before their `*hh`), and 148 `!=IVDO`, all valid: 1,492 messages.
    // Python also counts AI 13,483 and BS 7,022: one AI sentence (line 1965) is a type 5
    // too short for its fields and one BS sentence (line 7535) has an undefined type.
    let amsa = decode_summary("amsa/ais.txt");
    assert_eq!(
        talkers(&amsa),
        expected(&[
            ("=I", 1_492),
            ("AB", 11_208),
            ("AI", 13_482),
            ("AS", 804),
            ("BS", 7_021)
        ])
    );
    assert_eq!(amsa.by_talker.get(*b"=I"), 1_492);
    // Only the two line-noise fragments `!=IV>l,0*1C` (line 30314) and
    // `!=IV00008FLF?l<dI1qkoP0<1:,0*23` (line 32946) are not sentences.
    assert_eq!(amsa.rejects.unknown_line, 2, "{:?}", amsa.rejects);
    assert_eq!(amsa.rejects.short_payload + amsa.rejects.bad_payload, 2);

    let norway = decode_summary("kystverket/Ais1000Lines.nm4");
    assert_eq!(
        talkers(&norway),
        expected(&[("AB", 23), ("AI", 11), ("BS", 843)])
    );
    let denmark = decode_summary("dma-aislib/stream_example.txt");
    assert_eq!(
        talkers(&denmark),
        expected(&[
            ("--", 18),
            ("AB", 206),
            ("AI", 933),
            ("BS", 2_879),
            ("BY", 8),
            ("SS", 7)
        ])
    );
    for stats in [&amsa, &norway, &denmark] {
        let by_talker: u64 = stats.by_talker.iter().map(|(_, n)| n).sum();
        assert_eq!(by_talker, stats.messages);
    }
}

/// A config like the sample's, with absolute paths and the given `[decode]` settings.
fn config_in(dir: &Path, decode: &str) -> Config {
    let path = dir.join("aisgap.toml");
    let text = format!(
        "[ports]\nfile = {:?}\n\n[watchlist]\nfile = {:?}\n\n[store]\ndb = {:?}\n\n[decode]\n{decode}\n",
        repo_path("config/ports.geojson"),
        repo_path("samples/watchlist.csv"),
        dir.join("unused.db"),
    );
    std::fs::write(&path, text).unwrap();
    Config::load(&path).expect("the test config is valid")
}

fn replay_into(dir: &Path, decode: &str, name: &str, log: &str) -> (ReplaySummary, PathBuf) {
    let config = config_in(dir, decode);
    let db = dir.join(name);
    let store = Store::open(&db).unwrap();
    let (summary, store) = replay(&config, store, &[corpus(log)]).expect("replay succeeds");
    drop(store);
    (summary, db)
}

/// Stored track points that repeat another of the same vessel (same time and position).
fn repeated_track_points(db: &Path) -> (u64, u64) {
    let conn = Connection::open(db).unwrap();
    let mmsis: Vec<u32> = conn
        .prepare("SELECT mmsi FROM vessels")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let fixes: i64 = conn
        .query_row("SELECT SUM(fixes) FROM vessels", [], |r| r.get(0))
        .unwrap();
    let reader = Reader::open(db).unwrap();
    let mut repeated = 0;
    for mmsi in mmsis {
        let track = reader.track(Mmsi(mmsi), None, None).unwrap();
        let mut seen = std::collections::HashSet::new();
        for p in &track {
            if !seen.insert((p.time, p.lat.to_bits(), p.lon.to_bits())) {
                repeated += 1;
            }
        }
    }
    (fixes as u64, repeated)
}

/// The US coastal log hears most traffic twice (`!AIVDM` and `!ABVDM`, ~10 ms apart). The
/// expected counts come from a short Python count over the file: checksummed sentences,
/// fragments assembled per talker, sequence id and channel, a message timed by its first
/// sentence's leading column and keyed by its payload bits without fill bits; a message is a
/// duplicate when a kept message with the same bits was heard at most 5 s before or after it.
/// That gives 9,471 messages (AI 6,000, AB 3,105, WS 366), 2,736 duplicates, 6,735 kept; of
/// the kept, 5,042 are position reports of ship stations with a position (7,361 with every
/// copy).
#[test]
fn repeated_receptions_are_counted_and_stored_once() {
    let log = "simpleais/sample.ais";
    let stats = decode_summary(log);
    assert_eq!(
        talkers(&stats),
        expected(&[("AB", 3_105), ("AI", 6_000), ("WS", 366)])
    );
    assert_eq!(
        (stats.messages, stats.duplicates, stats.events),
        (9_471, 2_736, 6_735)
    );

    let dir = tempfile::tempdir().unwrap();
    let (once, once_db) = replay_into(dir.path(), "", "once.db", log);
    let (every, every_db) = replay_into(dir.path(), "duplicate_window_s = 0", "every.db", log);
    assert_eq!(once.decode.duplicates, 2_736);
    assert_eq!(every.decode.duplicates, 0);
    assert_eq!(once.engine.fixes, 5_042);
    // Five type 3 reports were sent twice within 0.6 s, the same in everything but their
    // radio status bits (the same position, motion and UTC second): the engine stores one.
    assert_eq!(once.engine.duplicate_fixes, 5);
    // With every copy kept, only copies with the very same millisecond (10 in Python's count
    // with a window of 0) are caught by the engine's own same-time check; the rest are stored.
    assert_eq!(
        (every.engine.fixes, every.engine.duplicate_fixes),
        (7_361, 10)
    );
    let counters = Reader::open(&once_db).unwrap().counters().unwrap();
    assert_eq!(counters.get("decode.duplicates"), Some(&2_736));
    assert_eq!(counters.get("decode.by_talker.AB"), Some(&3_105));

    let (stored_once, repeated_once) = repeated_track_points(&once_db);
    let (stored_every, _) = repeated_track_points(&every_db);
    assert_eq!(stored_once, 5_042 - 5, "each fix counted once per vessel");
    assert_eq!(stored_every, 7_361 - 10);
    assert_eq!(repeated_once, 0);
}

/// The US coastal log written as two logs in `dir`, one per receiver (`!AIVDM` and the other
/// talkers), as two sources' logs would be.
fn split_by_receiver(dir: &Path) -> [PathBuf; 2] {
    let text = std::fs::read_to_string(corpus("simpleais/sample.ais")).unwrap();
    let (ai, other): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.contains(" !AI"));
    [("ai.ais", ai), ("other.ais", other)].map(|(name, lines)| {
        let path = dir.join(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    })
}

/// The same log as two sources, one per receiver (`!AIVDM` and the other talkers): each
/// decoder sees one copy of each transmission only, so it has nothing to drop, and 7,359 fixes
/// were stored against 5,037 for the log as one. The engine knows another receiver's copy
/// of a vessel's last fix by its content (the same position, motion and UTC second) within
/// `duplicate_window_s`.
#[test]
fn one_transmission_heard_by_two_sources_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = split_by_receiver(dir.path());
    let replay_both = |decode: &str, name: &str| {
        let config = config_in(dir.path(), decode);
        let db = dir.path().join(name);
        let (summary, store) = replay(&config, Store::open(&db).unwrap(), &logs).unwrap();
        drop(store);
        (summary, db)
    };
    let (two, two_db) = replay_both("", "two.db");
    assert_eq!(two.decode.duplicates, 2, "the decoders see nearly no copy");
    assert_eq!(two.engine.fixes, 7_361 - 2);
    let (stored, repeated) = repeated_track_points(&two_db);
    // The log as one stores 5,037; 8 copies carry no UTC second (60) and are kept, as a
    // vessel reporting every 2 s from one place says the same with no second to tell by.
    assert_eq!(stored, 5_037 + 8);
    assert_eq!(two.engine.duplicate_fixes, 7_359 - stored);
    assert_eq!(repeated, 0);
    // A window of 0 keeps every copy here too.
    let (every, every_db) = replay_both("duplicate_window_s = 0", "every.db");
    assert_eq!(every.engine.duplicate_fixes, 10);
    assert_eq!(repeated_track_points(&every_db).0, 7_361 - 10);
}

/// The same split as above, for static reports: another receiver's copy of the report a
/// vessel's static data came from last, within `duplicate_window_s`, is not applied again.
/// Applied, it moved the vessel's last heard by the copy's delay (10 of 327 vessels differed
/// from the log as one). Now the split applies the very reports the log as one applies, and a
/// vessel's row differs only where a fix copy without its UTC second was kept.
#[test]
fn a_static_report_heard_by_two_sources_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = split_by_receiver(dir.path());
    let (whole, whole_db) = replay_into(dir.path(), "", "whole.db", "simpleais/sample.ais");
    let config = config_in(dir.path(), "");
    let split_db = dir.path().join("split.db");
    let (split, store) = replay(&config, Store::open(&split_db).unwrap(), &logs).unwrap();
    drop(store);
    assert_eq!(
        whole.engine.duplicate_reports, 0,
        "the decoder took the copies"
    );
    assert_eq!(split.engine.vessel_reports, whole.engine.vessel_reports);
    assert_eq!(split.engine.vessel_reports, 480);
    assert_eq!(split.engine.duplicate_reports, 90);

    let rows = |db: &Path| -> BTreeMap<u32, (i64, String)> {
        let conn = Connection::open(db).unwrap();
        let mut statement = conn
            .prepare(
                "SELECT mmsi, fixes, first_heard, last_heard, last_fix_time, name, callsign, \
                 ship_type, length, beam, draught, destination, class FROM vessels",
            )
            .unwrap();
        statement
            .query_map([], |r| {
                let rest: Vec<String> = (2..13)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok((r.get(0)?, (r.get(1)?, rest.join("|"))))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let (whole_rows, split_rows) = (rows(&whole_db), rows(&split_db));
    assert_eq!(whole_rows.len(), 327);
    assert_eq!(
        whole_rows.keys().collect::<Vec<_>>(),
        split_rows.keys().collect::<Vec<_>>()
    );
    let mut differing = Vec::new();
    for (mmsi, (fixes, row)) in &whole_rows {
        let (split_fixes, split_row) = &split_rows[mmsi];
        if (fixes, row) != (split_fixes, split_row) {
            assert!(split_fixes > fixes, "{mmsi}: {row} against {split_row}");
            differing.push(*mmsi);
        }
    }
    assert_eq!(
        differing,
        [366_926_740, 477_282_800],
        "the vessels with kept fix copies"
    );
}

/// Overlapping exports are an analyst's everyday: the same log given twice (here, the file
/// and a copy of it under the same name in another folder) stores nothing twice and cites the
/// same evidence. Fixes with their UTC second and static reports are other receptions by their
/// content; a CSV row's fix, which has no UTC second, by its time (one fix per vessel and
/// time); and the evidence of a message heard twice at one time is its first reception.
#[test]
fn a_log_given_twice_replays_as_the_log_once() {
    // The first two have silences of 6 h and more, so evidence; AMSA's noisy hour has many
    // receivers' copies and time sentences.
    for (log, evidence) in [
        ("aisdb/test_data_noaa_20230101.csv", true),
        ("libais/test.aivdm", true),
        ("amsa/ais.txt", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        // Every vessel watched, so that every silence has evidence to compare.
        let watch_all = "\n[detect]\nwatch_all = true";
        let (once, once_db) = replay_into(dir.path(), watch_all, "once.db", log);
        let copy_dir = dir.path().join("copy");
        std::fs::create_dir(&copy_dir).unwrap();
        let original = corpus(log);
        let copy = copy_dir.join(original.file_name().unwrap());
        std::fs::copy(&original, &copy).unwrap();
        let config = config_in(dir.path(), watch_all);
        let twice_db = dir.path().join("twice.db");
        let store = Store::open(&twice_db).unwrap();
        let (twice, store) = replay(&config, store, &[original, copy]).unwrap();
        drop(store);
        assert_eq!(twice.engine.fixes, 2 * once.engine.fixes, "{log}");
        assert!(twice.engine.duplicate_fixes >= once.engine.fixes, "{log}");
        assert_eq!(provenance(&once_db).len() > 10, evidence, "{log}");
        // Every table but the counters, which count the copies.
        let tables = |db: &Path| -> Vec<String> {
            let rows = dump(db).into_iter();
            rows.filter(|row| !row.starts_with("ingest: ")).collect()
        };
        assert_eq!(tables(&twice_db), tables(&once_db), "{log}");
        assert_eq!(provenance(&twice_db), provenance(&once_db), "{log}");
    }
}

/// Real position reports sent under group numbers (`0` + MID + 5 digits) in the Danish
/// stream: tracked and stored like any ship.
#[test]
fn groups_of_ships_are_tracked_as_vessels() {
    let group = Mmsi(32_310_738);
    assert_eq!(group.kind(), StationKind::Group);
    let dir = tempfile::tempdir().unwrap();
    let (summary, db) = replay_into(dir.path(), "", "dma.db", "dma-aislib/stream_example.txt");
    let vessel = Reader::open(&db)
        .unwrap()
        .vessel(group, None, None)
        .unwrap()
        .expect("the group's ship is stored");
    assert!(vessel.fixes > 0 && !vessel.track.is_empty(), "{vessel:?}");
    assert!(summary.engine.fixes > 0);
}

/// Every `decode --format jsonl` record names its message type, base station reports too.
#[test]
fn every_jsonl_record_has_a_msg_type() {
    use aisgap::cli::{DecodeArgs, RecordFormat};
    let args = DecodeArgs {
        files: vec![
            corpus("dma-aislib/stream_example.txt"),
            corpus("gpsd/sample.aivdm"),
        ],
        format: RecordFormat::Jsonl,
        summary: false,
        station: None,
        max_line_length: aisgap::source::file::DEFAULT_MAX_LINE,
        csv_map: None,
    };
    let (mut out, mut summary) = (Vec::new(), Vec::new());
    let stats = aisgap::offline::decode::run(&args, &mut out, &mut summary).expect("decode runs");
    let mut kinds = BTreeMap::new();
    for line in String::from_utf8(out).unwrap().lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let msg_type = record["msg_type"].as_u64();
        assert!(msg_type.is_some(), "{line}");
        let kind = record["kind"].as_str().unwrap().to_string();
        if kind == "receiver_heartbeat" {
            assert_eq!(msg_type, Some(4), "{line}");
        }
        *kinds.entry(kind).or_insert(0u64) += 1;
    }
    assert_eq!(kinds.values().sum::<u64>(), stats.events);
    for kind in [
        "fix",
        "vessel_report",
        "receiver_heartbeat",
        "position_unavailable",
        "other",
    ] {
        assert!(kinds.contains_key(kind), "{kind} in {kinds:?}");
    }
}
