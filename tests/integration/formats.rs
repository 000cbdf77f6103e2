//! Input recognised by its content or refused by name: gzip by its magic bytes (renamed, piped
//! on stdin), a truncated gzip kept up to its break and the database marked incomplete, files
//! of no AIS format refused with their first line, logs that switch format read whole with a
//! warning at the switch.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use aisgap::config::Config;
use aisgap::decode::feed::{FeedDecoder, LineFormat, RECOGNITION_LINES};
use aisgap::decode::DecodeOptions;
use aisgap::offline::replay::{replay, InputProblem, ReplaySummary};
use aisgap::source::file::{self, Line, LineReader, DEFAULT_MAX_LINE};
use aisgap::store::{Reader, Store};

use crate::support::{aisgap, corpus, repo_path, sample_path, table_rows};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn scenario() -> Vec<u8> {
    std::fs::read(sample_path("scenario.nmea")).expect("samples/scenario.nmea")
}

/// `aisgap replay` with the sample config, `stdin` piped in when given.
fn replay_cli(db: &Path, logs: &[&Path], stdin: Option<&[u8]>) -> Output {
    let mut command = aisgap();
    command
        .args(["replay", "--config"])
        .arg(sample_path("aisgap.toml"))
        .arg("--db")
        .arg(db)
        .args(logs)
        .env("RUST_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("starting aisgap replay");
    if let Some(bytes) = stdin {
        // Written from a thread: the child may fill its stdout before it has read all of stdin.
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || pipe.write_all(&bytes).expect("feeding stdin"));
    }
    child.wait_with_output().expect("aisgap replay ends")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The replay's numbers line up to its timing, which differs from run to run.
fn counts_line(output: &Output) -> String {
    let text = stdout(output);
    let line = text
        .lines()
        .find(|l| l.contains(" lines, ") && l.contains(" fixes, "))
        .unwrap_or_else(|| panic!("no summary line in {text}"));
    line.split(';').next().unwrap().to_string()
}

/// The engine's tables (vessels, identities, gaps, tracks, port hours), row by row.
fn tables(db: &Path) -> Vec<String> {
    table_rows(
        db,
        &[
            "vessels",
            "identity_history",
            "gaps",
            "track_chunks",
            "port_hours",
        ],
    )
}

fn replay_lib(dir: &Path, name: &str, logs: &[PathBuf]) -> ReplaySummary {
    let config = Config::load(&sample_path("aisgap.toml")).expect("samples/aisgap.toml");
    let store = Store::open(&dir.join(name)).unwrap();
    replay(&config, store, logs).expect("replay runs").0
}

#[test]
fn renamed_and_piped_gzip_replays_like_the_plain_log() {
    let dir = tempfile::tempdir().unwrap();
    let plain_db = dir.path().join("plain.db");
    let plain = replay_cli(&plain_db, &[&sample_path("scenario.nmea")], None);
    assert!(plain.status.success(), "{plain:?}");
    let renamed = dir.path().join("scenario.log");
    let packed = gzip(&scenario());
    std::fs::write(&renamed, &packed).unwrap();
    let renamed_db = dir.path().join("renamed.db");
    let from_file = replay_cli(&renamed_db, &[&renamed], None);
    let piped_db = dir.path().join("piped.db");
    let from_stdin = replay_cli(&piped_db, &[Path::new("-")], Some(&packed));
    let expected = tables(&plain_db);
    assert!(expected.len() > 1000, "the sample fills the tables");
    for (how, output, db) in [
        ("renamed", &from_file, &renamed_db),
        ("stdin", &from_stdin, &piped_db),
    ] {
        assert!(output.status.success(), "{how}: {output:?}");
        assert_eq!(counts_line(output), counts_line(&plain), "{how}");
        assert!(tables(db) == expected, "{how}: the tables differ");
    }
}

/// The sample, gzipped and cut at a third; and the plain text of its lines before the cut,
/// decompressed independently of aisgap's reader.
fn truncated_sample(dir: &Path) -> (PathBuf, usize, PathBuf, usize) {
    let packed = gzip(&scenario());
    let cut = &packed[..packed.len() / 3];
    let truncated = dir.join("scenario.nmea.gz");
    std::fs::write(&truncated, cut).unwrap();
    let mut decoder = flate2::read::GzDecoder::new(cut);
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match decoder.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&chunk[..n]),
        }
    }
    let complete = text.iter().rposition(|&b| b == b'\n').unwrap() + 1;
    text.truncate(complete);
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    let before = dir.join("before-the-break.nmea");
    std::fs::write(&before, &text).unwrap();
    (truncated, cut.len(), before, lines)
}

/// A database replayed from a truncated gzip of the sample, for the API's tests too.
pub fn truncated_replay_db(dir: &Path) -> PathBuf {
    let (truncated, _, _, _) = truncated_sample(dir);
    let db = dir.join("truncated.db");
    let output = replay_cli(&db, &[&truncated], None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    db
}

fn query(db: &Path, args: &[&str]) -> Output {
    aisgap()
        .arg("query")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("running aisgap query")
}

#[test]
fn a_truncated_gzip_keeps_every_line_before_the_break_and_marks_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (truncated, compressed, before, lines) = truncated_sample(dir.path());
    let db = dir.path().join("truncated.db");
    let output = replay_cli(&db, &[&truncated], None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let said = stdout(&output);
    assert!(
        said.contains(&format!(
            "{}: input ends early after {lines} complete lines",
            truncated.display()
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "gzip stream broken at compressed byte {compressed}"
        )),
        "{said}"
    );
    assert!(said.contains("WARNING: this database was built from incomplete input"));

    // Everything before the break is in the database: exactly what the same lines give.
    let control_db = dir.path().join("control.db");
    let control = replay_cli(&control_db, &[&before], None);
    assert!(control.status.success(), "{control:?}");
    let kept = tables(&db);
    assert!(
        kept.iter().any(|r| r.starts_with("track_chunks")),
        "fixes are kept"
    );
    assert!(kept == tables(&control_db), "the kept tables differ");
    assert_eq!(counts_line(&output), counts_line(&control));

    let reasons = Reader::open(&db).unwrap().incomplete_input().unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(Reader::open(&control_db)
        .unwrap()
        .incomplete_input()
        .unwrap()
        .is_empty());
    for question in [&["trips"][..], &["ports"], &["tally", "--by", "port"]] {
        let answer = query(&db, question);
        assert!(answer.status.success(), "{answer:?}");
        let table = stdout(&answer);
        assert!(
            table.contains("WARNING: this database was built from incomplete input")
                && table.contains(&reasons[0]),
            "query {question:?}: {table}"
        );
        assert!(!stdout(&query(&control_db, question)).contains("WARNING"));
    }
    // Machine-read answers stay clean; the mark goes to stderr (and the API's summary).
    let json = query(&db, &["trips", "--format", "json"]);
    serde_json::from_slice::<serde_json::Value>(&json.stdout).expect("JSON on stdout");
    assert!(String::from_utf8_lossy(&json.stderr).contains("incomplete input"));
}

#[test]
fn files_of_no_ais_format_are_refused_by_name_and_the_rest_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let plain_db = dir.path().join("plain.db");
    let plain = replay_cli(&plain_db, &[&sample_path("scenario.nmea")], None);
    assert!(plain.status.success());
    let unknown_csv = dir.path().join("spire.csv");
    std::fs::write(
        &unknown_csv,
        "timestamp,mmsi,latitude,longitude,speed\n2024-03-04T00:00:26Z,273176925,42.389713,134.108843,5.9\n",
    )
    .unwrap();
    let refused: [(PathBuf, &str); 4] = [
        (corpus("libais/typeexamples.json"), "JSON"),
        (corpus("gpsd/sample.aivdm.chk"), "delimited text"),
        (unknown_csv, "delimited text"),
        // A database passed by mistake: binary.
        (plain_db.clone(), "binary data"),
    ];
    let nmea = sample_path("scenario.nmea");
    let mut logs: Vec<&Path> = vec![&nmea];
    logs.extend(refused.iter().map(|(p, _)| p.as_path()));
    let db = dir.path().join("mixed.db");
    let output = replay_cli(&db, &logs, None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let said = stdout(&output);
    for (path, hint) in &refused {
        let first_line = std::fs::read(path)
            .unwrap()
            .split(|&b| b == b'\n')
            .position(|l| !l.iter().all(u8::is_ascii_whitespace))
            .unwrap()
            + 1;
        let named = format!(
            "refused {}:{first_line}: format not recognised",
            path.display()
        );
        let line = said
            .lines()
            .find(|l| l.contains(&named))
            .unwrap_or_else(|| panic!("{named} in {said}"));
        assert!(line.contains(hint), "{line}");
    }
    // Refused files add nothing, not even rejects: the rest reads as it does alone.
    assert_eq!(counts_line(&output), counts_line(&plain));
    assert!(tables(&db) == tables(&plain_db));
    let reasons = Reader::open(&db).unwrap().incomplete_input().unwrap();
    assert_eq!(reasons.len(), refused.len());
}

fn lines_of(path: &Path) -> usize {
    std::fs::read(path)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn switches(summary: &ReplaySummary) -> Vec<(u64, LineFormat, LineFormat)> {
    summary
        .problems
        .iter()
        .map(|p| match p {
            InputProblem::Switched(s) => (s.line, s.from, s.to),
            other => panic!("only switches expected: {other}"),
        })
        .collect()
}

#[test]
fn a_log_that_switches_format_is_read_whole_with_a_warning_at_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let nmea = sample_path("scenario.nmea");
    let csv = sample_path("scenario.csv");
    let (nmea_lines, csv_lines) = (lines_of(&nmea) as u64, lines_of(&csv) as u64);
    let alone_nmea = replay_lib(dir.path(), "nmea.db", std::slice::from_ref(&nmea));
    let alone_csv = replay_lib(dir.path(), "csv.db", std::slice::from_ref(&csv));
    let concatenated = |name: &str, parts: &[&[u8]]| {
        let path = dir.path().join(name);
        std::fs::write(&path, parts.concat()).unwrap();
        path
    };
    let (nmea_text, csv_text) = (scenario(), std::fs::read(&csv).unwrap());

    let nmea_then_csv = concatenated("nmea-then-csv.log", &[&nmea_text, &csv_text]);
    let summary = replay_lib(dir.path(), "a.db", std::slice::from_ref(&nmea_then_csv));
    assert_eq!(
        switches(&summary),
        [(nmea_lines + 1, LineFormat::Nmea, LineFormat::Csv)]
    );
    let csv_then_nmea = concatenated("csv-then-nmea.log", &[&csv_text, &nmea_text]);
    let other_way = replay_lib(dir.path(), "b.db", std::slice::from_ref(&csv_then_nmea));
    assert_eq!(
        switches(&other_way),
        [(csv_lines + 1, LineFormat::Csv, LineFormat::Nmea)]
    );
    for both in [&summary, &other_way] {
        // Every line is decoded by the decoder of its own format.
        assert_eq!(
            both.decode.messages,
            alone_nmea.decode.messages + alone_csv.decode.messages
        );
        assert_eq!(
            both.decode.rejected(),
            alone_nmea.decode.rejected() + alone_csv.decode.rejected()
        );
        assert!(!both.incomplete());
    }

    // CSV rows with no header cannot be read: counted as bad CSV rows, named at the first.
    let rows = &csv_text[csv_text.iter().position(|&b| b == b'\n').unwrap() + 1..];
    let headerless = concatenated("headerless.log", &[&nmea_text, rows]);
    let summary = replay_lib(dir.path(), "c.db", std::slice::from_ref(&headerless));
    assert_eq!(
        switches(&summary),
        [(
            nmea_lines + 1,
            LineFormat::Nmea,
            LineFormat::CsvWithoutHeader
        )]
    );
    assert_eq!(
        summary.decode.rejects.bad_csv_row,
        alone_nmea.decode.rejects.bad_csv_row + csv_lines - 1
    );
    assert_eq!(summary.decode.messages, alone_nmea.decode.messages);

    let output = replay_cli(&dir.path().join("d.db"), &[&nmea_then_csv], None);
    assert!(output.status.success(), "a switch is a warning: {output:?}");
    let warning = format!(
        "warning: {}:{}: switches from NMEA to CSV here: \"MMSI,BaseDateTime,",
        nmea_then_csv.display(),
        nmea_lines + 1
    );
    assert!(stdout(&output).contains(&warning), "{}", stdout(&output));
}

#[test]
fn every_ais_corpus_log_is_recognised_and_the_decoded_ones_are_refused() {
    let root = repo_path("../shared/corpora");
    let mut files = Vec::new();
    let mut folders = vec![corpus("")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    // Licences, the README, and gpsd's and libais's decoded outputs (JSON, `|`-separated).
    let not_ais = |p: &Path| {
        let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
        name.starts_with("license")
            || name == "copying"
            || name == "readme.md"
            || name.ends_with(".json")
            || name.ends_with(".js.chk")
            || name.ends_with(".ju.chk")
            || name == "sample.aivdm.chk"
    };
    let mut recognised = 0;
    for path in &files {
        let mut reader = LineReader::new(file::open(path).unwrap(), DEFAULT_MAX_LINE);
        let label = path.strip_prefix(&root).unwrap().display().to_string();
        let mut decoder = FeedDecoder::new(DecodeOptions::default(), label.into())
            .refusing_unrecognised(RECOGNITION_LINES);
        let mut events = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            match line {
                Line::Text(text) => decoder.decode_line(text, None, &mut events),
                Line::TooLong { .. } => decoder.count_line_too_long(),
            }
            events.clear();
        }
        decoder.finish();
        if not_ais(path) {
            if path.extension().is_some_and(|e| e == "json" || e == "chk") {
                assert!(decoder.refusal().is_some(), "{} refused", path.display());
            }
        } else {
            assert!(decoder.refusal().is_none(), "{:?}", decoder.refusal());
            recognised += 1;
        }
    }
    assert!(recognised >= 30, "{recognised} AIS logs in the corpora");
}

#[test]
fn a_log_that_cannot_be_opened_leaves_the_last_replays_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kept.db");
    let first = replay_cli(&db, &[&sample_path("scenario.nmea")], None);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = tables(&db);
    assert!(before.iter().any(|r| r.starts_with("gaps: ")));

    let missing = dir.path().join("scenari.nmea");
    let refused = replay_cli(&db, &[&sample_path("scenario.nmea"), &missing], None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("scenari.nmea"), "names the log: {stderr}");
    assert_eq!(tables(&db), before, "nothing was cleared");
}
