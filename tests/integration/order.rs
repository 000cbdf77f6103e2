//! Replay's tables do not depend on the order of the input's lines: the bundled scenario
//! shuffled, dealt into interleaved files, sorted with a memory budget so small that it spills,
//! and its CSV export reversed, each gives the very rows of the log as written.
//!
//! "Order of lines" means the order of the input's units: a unit is one line, except that the
//! lines a decoder reads together stay together, in their order, moved as one: the sentences of
//! one multi-sentence message (a tag-block `g:` group, or NMEA fragments sharing a sequence id
//! and channel) and a `$PGHP` line with the sentence it times. Those belong to one message, so
//! no log shuffles them apart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aisgap::config::Config;
use aisgap::offline::replay::{replay_with, sort_params, ReplaySummary};
use aisgap::offline::sort::SortParams;
use aisgap::store::Store;

use crate::support::sample_path;
use crate::support::{dump, provenance};

/// The lines of a file as bytes (the sample holds binary garbage lines on purpose).
fn lines_of(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

fn write_lines(path: &Path, lines: &[&Vec<u8>]) {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    std::fs::write(path, out).unwrap();
}

/// Which message a line is a part of: (key of the message, this part, of how many).
fn part_of(line: &str) -> Option<(String, u32, u32)> {
    let (tag, sentence) = match line.strip_prefix('\\') {
        Some(rest) => rest.split_once('\\')?,
        None => ("", line),
    };
    let group = tag
        .split(['*', ','])
        .find_map(|field| field.strip_prefix("g:"))
        .and_then(|g| {
            let mut numbers = g.splitn(3, '-');
            let part = numbers.next()?.parse().ok()?;
            let total = numbers.next()?.parse().ok()?;
            Some((format!("g{}", numbers.next()?), part, total))
        });
    if group.is_some() {
        return group;
    }
    let fields: Vec<&str> = sentence.split(',').collect();
    if !fields.first()?.ends_with("VDM") && !fields.first()?.ends_with("VDO") {
        return None;
    }
    let total: u32 = fields.get(1)?.parse().ok()?;
    let part: u32 = fields.get(2)?.parse().ok()?;
    let key = format!("s{}{}", fields.get(3)?, fields.get(4)?);
    (total > 1).then_some((key, part, total))
}

/// The input's units, in file order, each its lines in file order.
fn units(lines: &[Vec<u8>]) -> Vec<Vec<&Vec<u8>>> {
    let mut units: Vec<Vec<&Vec<u8>>> = Vec::new();
    let mut open: HashMap<String, usize> = HashMap::new();
    let mut timing_line: Option<usize> = None;
    for line in lines {
        let text = String::from_utf8_lossy(line);
        let joined = timing_line.take();
        if text.starts_with("$PGHP") {
            units.push(vec![line]);
            timing_line = Some(units.len() - 1);
            continue;
        }
        let unit = match (part_of(&text), joined) {
            (_, Some(unit)) => {
                units[unit].push(line);
                unit
            }
            // Any part of an open message joins it, a repeated first part too (a damaged copy
            // of a sentence is read next to the sentence it copies).
            (Some((key, _, _)), None) if open.contains_key(&key) => {
                let unit = open[&key];
                units[unit].push(line);
                unit
            }
            _ => {
                units.push(vec![line]);
                units.len() - 1
            }
        };
        if let Some((key, part, total)) = part_of(&text) {
            if part < total {
                open.insert(key, unit);
            } else {
                open.remove(&key);
            }
        }
    }
    units
}

/// A fixed permutation (xorshift, Fisher-Yates): the same on every run.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

fn sample_config() -> Config {
    Config::load(&sample_path("aisgap.toml")).expect("samples/aisgap.toml is valid")
}

/// How a test replay puts events in order.
#[derive(Clone, Copy)]
enum EventOrder {
    /// As configured: in one pass within a day's lateness, else sorted first.
    AsConfigured,
    /// Every event sorted first, with this much memory before spilling (bytes).
    SortedFirst(Option<usize>),
}

/// Replays `logs` into `dir/name` with the sample config, spilling (if at all) into `dir`.
fn replay_dump(
    dir: &Path,
    name: &str,
    logs: &[PathBuf],
    ordering: EventOrder,
) -> (ReplaySummary, Vec<String>) {
    let config = sample_config();
    let configured = sort_params(&config);
    assert_eq!(
        configured.one_pass_lateness_ms,
        24 * 3_600_000,
        "a day by default"
    );
    let sort = match ordering {
        EventOrder::AsConfigured => SortParams {
            spill_dir: dir.to_path_buf(),
            ..configured
        },
        EventOrder::SortedFirst(memory_bytes) => SortParams {
            memory_bytes: memory_bytes.unwrap_or(configured.memory_bytes),
            spill_dir: dir.to_path_buf(),
            one_pass_lateness_ms: 0,
            engine_parts: configured.engine_parts,
        },
    };
    let db = dir.join(name);
    let (summary, store) =
        replay_with(&config, Store::open(&db).unwrap(), logs, &sort).expect("replay succeeds");
    drop(store);
    let mut rows = dump(&db);
    assert!(rows.len() > 1000, "the dump covers the whole database");
    // The evidence is the same messages, read from wherever their lines now are.
    let evidence = provenance(&db);
    assert!(!evidence.is_empty(), "evidence kept");
    rows.extend(evidence);
    (summary, rows)
}

/// The sample's lines shuffled by unit, written to `dir/name`.
fn shuffled_sample(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let lines = lines_of(&sample_path("scenario.nmea"));
    let mut units = units(&lines);
    assert!(
        units.iter().filter(|u| u.len() == 2).count() > 1000,
        "the type 5 messages are two-sentence units"
    );
    shuffle(&mut units, seed);
    let path = dir.join(name);
    write_lines(&path, &units.concat());
    path
}

/// The first difference between two dumps, for a readable failure.
fn assert_same_rows(expected: &[String], found: &[String], what: &str) {
    if let Some((e, f)) = expected.iter().zip(found).find(|(e, f)| e != f) {
        panic!("{what}: first differing row\n  expected {e}\n  found    {f}");
    }
    assert_eq!(expected.len(), found.len(), "{what}: row count");
}

#[test]
fn the_sample_in_one_pass_gives_the_tables_of_the_sample_sorted_first() {
    let dir = tempfile::tempdir().unwrap();
    let sample = [sample_path("scenario.nmea")];
    let (sorted, expected) =
        replay_dump(dir.path(), "a.db", &sample, EventOrder::SortedFirst(None));
    assert!(!sorted.sort.one_pass);
    let (summary, found) = replay_dump(dir.path(), "b.db", &sample, EventOrder::AsConfigured);
    assert!(
        summary.sort.one_pass && summary.sort.restarted.is_none(),
        "the sample's lines lag by less than a day: {:?}",
        summary.sort
    );
    assert!(
        summary.out_of_order > 100,
        "the sample has delayed lines for the window to put in place: {}",
        summary.out_of_order
    );
    assert_eq!(summary.sort.events, sorted.sort.events);
    assert_eq!(summary.engine, sorted.engine);
    assert_same_rows(&expected, &found, "one pass");
}

#[test]
fn the_sample_shuffled_gives_the_tables_of_the_sample_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let (original, expected) = replay_dump(
        dir.path(),
        "a.db",
        &[sample_path("scenario.nmea")],
        EventOrder::AsConfigured,
    );
    let shuffled = shuffled_sample(dir.path(), "shuffled.nmea", 2024);
    let (summary, found) = replay_dump(dir.path(), "b.db", &[shuffled], EventOrder::AsConfigured);
    let restarted = summary.sort.restarted.as_deref().unwrap_or_default();
    assert!(
        !summary.sort.one_pass && restarted.contains("lags its log by"),
        "a shuffle lags by days: the replay starts again sorted first ({:?})",
        summary.sort
    );
    assert!(
        summary.out_of_order > summary.sort.events / 3,
        "the shuffle put most events out of order ({} of {})",
        summary.out_of_order,
        summary.sort.events
    );
    assert!(
        summary.out_of_order > original.out_of_order * 10,
        "{} against {} in the log as written",
        summary.out_of_order,
        original.out_of_order
    );
    assert_eq!(summary.sort.events, original.sort.events);
    assert_eq!(summary.engine.late_fixes, 0);
    assert_same_rows(&expected, &found, "shuffled");
}

#[test]
fn the_sample_dealt_into_three_interleaved_files_gives_the_same_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (_, expected) = replay_dump(
        dir.path(),
        "a.db",
        &[sample_path("scenario.nmea")],
        EventOrder::SortedFirst(None),
    );
    let lines = lines_of(&sample_path("scenario.nmea"));
    let units = units(&lines);
    let logs: Vec<PathBuf> = (0..3)
        .map(|k| {
            let dealt: Vec<&Vec<u8>> = units.iter().skip(k).step_by(3).flatten().copied().collect();
            let path = dir.path().join(format!("receiver-{k}.nmea"));
            write_lines(&path, &dealt);
            path
        })
        .collect();
    let (summary, found) = replay_dump(dir.path(), "b.db", &logs, EventOrder::AsConfigured);
    assert!(summary.sort.one_pass, "{:?}", summary.sort);
    assert_eq!(summary.decode.lines, lines.len() as u64);
    assert_same_rows(&expected, &found, "three interleaved files");
}

#[test]
fn a_sort_that_spills_to_disk_gives_the_tables_of_one_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (_, expected) = replay_dump(
        dir.path(),
        "a.db",
        &[sample_path("scenario.nmea")],
        EventOrder::AsConfigured,
    );
    let shuffled = shuffled_sample(dir.path(), "shuffled.nmea", 7);
    let (summary, found) = replay_dump(
        dir.path(),
        "b.db",
        &[shuffled],
        EventOrder::SortedFirst(Some(64 * 1024)),
    );
    assert!(
        summary.sort.runs >= 10,
        "{} runs spilled",
        summary.sort.runs
    );
    assert!(summary.sort.spilled_bytes > 1_000_000);
    assert_same_rows(&expected, &found, "spilled");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".run"))
        .collect();
    assert!(left.is_empty(), "run files left behind: {left:?}");
}

#[test]
fn the_csv_export_reversed_gives_the_tables_of_the_export_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let (_, expected) = replay_dump(
        dir.path(),
        "a.db",
        &[sample_path("scenario.csv")],
        EventOrder::AsConfigured,
    );
    let lines = lines_of(&sample_path("scenario.csv"));
    let (header, rows) = lines.split_first().unwrap();
    let mut reversed: Vec<&Vec<u8>> = vec![header];
    reversed.extend(rows.iter().rev());
    // Same file name as the export: a CSV row's station is its file's name.
    let folder = dir.path().join("reversed");
    std::fs::create_dir(&folder).unwrap();
    let path = folder.join("scenario.csv");
    write_lines(&path, &reversed);
    let (summary, found) = replay_dump(dir.path(), "b.db", &[path], EventOrder::AsConfigured);
    assert!(summary.out_of_order > 20_000, "{}", summary.out_of_order);
    assert!(summary.sort.restarted.is_some(), "{:?}", summary.sort);
    assert_same_rows(&expected, &found, "reversed CSV");
}

#[test]
fn units_keep_each_message_whole() {
    let lines: Vec<Vec<u8>> = [
        "\\g:1-2-3,s:SAT-1,c:1709510471*2E\\!AIVDM,2,1,0,A,56`a,0*1D",
        "\\g:1-2-4,s:SAT-1,c:1709510473*2B\\!AIVDM,2,1,1,B,56T6,0*2C",
        "\\g:2-2-3,s:SAT-1,c:1709510471*2D\\!AIVDM,2,2,0,A,0000,2*24",
        "$PGHP,1,2008,5,9,0,0,0,10,338,2,,1,09*17",
        "!AIVDM,2,1,7,B,55Mq,0*00",
        "\\g:2-2-4,s:SAT-1,c:1709510473*28\\!AIVDM,2,2,1,B,0000,2*26",
        "!AIVDM,2,2,7,B,0000,2*00",
        "!AIVDM,1,1,,B,15Mq,0*72",
    ]
    .iter()
    .map(|l| l.as_bytes().to_vec())
    .collect();
    let found: Vec<Vec<usize>> = units(&lines)
        .iter()
        .map(|u| {
            u.iter()
                .map(|l| lines.iter().position(|x| x == *l).unwrap())
                .collect()
        })
        .collect();
    assert_eq!(found, [vec![0, 2], vec![1, 5], vec![3, 4, 6], vec![7]]);
}
