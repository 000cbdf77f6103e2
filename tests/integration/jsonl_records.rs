//! `aisgap decode --format jsonl` writes every record byte for byte as serde_json writes the
//! serde form of the event: checked on every record of the real corpora (NMEA of every kind,
//! the CSV exports) and the bundled sample, through the library and through the binary.

use std::path::{Path, PathBuf};

use aisgap::decode::feed::FeedDecoder;
use aisgap::decode::DecodeOptions;
use aisgap::model::AisEvent;
use aisgap::offline::jsonl;
use aisgap::source::file::{self, Line, LineReader, DEFAULT_MAX_LINE};

use crate::support::{aisgap, corpus, repo_path, sample_path};

/// Every event of a file, decoded as `aisgap decode` decodes it.
fn events_of(path: &Path) -> Vec<AisEvent> {
    let mut reader = LineReader::new(file::open(path).expect("input opens"), DEFAULT_MAX_LINE);
    let mut decoder = FeedDecoder::new(DecodeOptions::default(), "test".into());
    let mut events = Vec::new();
    while let Some(line) = reader.next_line().expect("input reads") {
        match line {
            Line::Text(bytes) => decoder.decode_line(bytes, None, &mut events),
            Line::TooLong { .. } => decoder.count_line_too_long(),
        }
    }
    decoder.finish();
    events
}

fn inputs() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = [
        "gpsd/ais-18-27.log",
        "gpsd/ais-nmea-type6-fid55.log",
        "gpsd/ais-nmea.log",
        "gpsd/ais-raw-messages.log",
        "gpsd/ais_unpack_sixbit.log",
        "gpsd/sample.aivdm",
        "kystverket/Ais1000Lines.nm4",
        "amsa/ais.txt",
        "amsa/exact-earth-augmented-2.txt",
        "amsa/exact-earth-with-tag-block.txt",
        "aisdb/test_data_noaa_20230101.csv",
    ]
    .iter()
    .map(|c| corpus(c))
    .collect();
    paths.push(sample_path("scenario.nmea"));
    paths.push(sample_path("scenario.csv"));
    for fixture in [
        "csv_dma.csv",
        "csv_marinecadastre.csv",
        "csv_marinecadastre_2017.csv",
    ] {
        paths.push(repo_path("tests/data").join(fixture));
    }
    paths
}

#[test]
fn every_record_of_the_corpora_is_written_as_serde_json_writes_it() {
    let (mut reference, mut written) = (Vec::new(), Vec::new());
    for path in inputs() {
        let events = events_of(&path);
        assert!(!events.is_empty(), "{} decodes to records", path.display());
        let mut kinds = std::collections::HashSet::new();
        for (i, event) in events.iter().enumerate() {
            reference.clear();
            written.clear();
            jsonl::serde_record(event, &mut reference).expect("serde_json writes the record");
            jsonl::push_record(event, &mut written);
            assert!(
                written == reference,
                "{} record {}:\n written  {}\n expected {}",
                path.display(),
                i + 1,
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(&reference)
            );
            kinds.insert(std::mem::discriminant(event));
        }
        println!(
            "{}: {} records, {} kinds",
            path.display(),
            events.len(),
            kinds.len()
        );
    }
}

/// The command's whole output equals the serde form of the same events, line for line.
#[test]
fn the_decode_command_writes_the_serde_records() {
    for path in [corpus("gpsd/sample.aivdm"), sample_path("scenario.csv")] {
        let output = aisgap()
            .args(["decode", "--format", "jsonl"])
            .arg(&path)
            .output()
            .expect("aisgap runs");
        assert!(output.status.success(), "{output:?}");
        let mut expected = Vec::new();
        for event in events_of(&path) {
            jsonl::serde_record(&event, &mut expected).unwrap();
        }
        assert!(!expected.is_empty());
        assert!(
            output.stdout == expected,
            "{}: decode output differs from serde_json's",
            path.display()
        );
    }
}
