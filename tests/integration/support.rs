//! What the integration tests and the benchmarks share: where the repository's files and the
//! shared corpora are, the aisgap binary, a loopback HTTP GET, Prometheus samples, settings from
//! the environment.

// Each benchmark binary includes this file and uses only a few of its helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use aisgap::simulate::encode::{
    cog_raw, lat_raw, lon_raw, single_sentence, sog_raw, PositionReport,
};
use aisgap::simulate::SplitMix64;
use std::time::Duration;

/// A file or folder of the repository, by its path from the repository's root.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A file of `samples/`, the bundled scenario and its configuration.
pub fn sample_path(name: &str) -> PathBuf {
    repo_path("samples").join(name)
}

/// A file of the shared real-world corpora (`../shared/corpora/`); fails, never skips, when
/// they are not checked out next to the repository, so a missing corpus cannot pass silently.
pub fn corpus(relative: &str) -> PathBuf {
    let path = repo_path("../shared/corpora").join(relative);
    assert!(
        path.exists(),
        "corpus file {} is missing: these tests need the shared corpora checked out next to the \
         repository (../shared/corpora)",
        path.display()
    );
    path
}

/// The aisgap binary this test run built.
pub fn aisgap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aisgap"))
}

/// A loopback port nobody listens on (free a moment ago).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a loopback port to bind")
        .local_addr()
        .expect("the bound port")
        .port()
}

/// One HTTP/1.1 GET on loopback, closed after the answer: status code and body (status 0 when
/// the answer has no status line).
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    try_http_get(address, path).expect("the HTTP listener answers")
}

/// [`http_get`] for a service that may be exiting: a refused or reset connection is an error,
/// not a failed test.
pub fn try_http_get(address: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The value of one series in a Prometheus text page.
pub fn metric(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Every row of `tables` in the database at `db`, one line a row (`table: cell | cell`), in a
/// fixed order: what tests compare to say two runs wrote the same database.
pub fn table_rows(db: &Path, tables: &[&str]) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("the database opens");
    let mut rows = Vec::new();
    for table in tables {
        let mut statement = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
            .expect("the table exists");
        let columns = statement.column_count();
        let mut query = statement.query([]).expect("the table reads");
        while let Some(row) = query.next().expect("a row reads") {
            let cells: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).expect("a cell")))
                .collect();
            rows.push(format!("{table}: {}", cells.join(" | ")));
        }
    }
    rows
}

/// Every row of every table of the database at `db` (see [`table_rows`]) but the provenance
/// of evidence, which says where lines were read and so differs, rightly, between two
/// arrangements of the same lines (see [`provenance`]).
pub fn dump(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("the database opens");
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT IN ('evidence', 'evidence_sources') ORDER BY name",
        )
        .expect("the schema reads")
        .query_map([], |r| r.get(0))
        .expect("the schema reads")
        .collect::<Result<_, _>>()
        .expect("table names");
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    table_rows(db, &names)
}

/// The evidence rows of the database at `db` without where their lines were (source, line,
/// offset): what two arrangements of the same lines must agree on.
pub fn provenance(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("the database opens");
    let mut statement = conn
        .prepare(
            "SELECT mmsi, dark_from, role, time, msg_type, carrier, station, sha256 FROM evidence \
             ORDER BY mmsi, dark_from, role",
        )
        .expect("the evidence table exists");
    let rows = statement
        .query_map([], |r| {
            Ok((0..8)
                .map(|i| format!("{:?}", r.get_ref(i).expect("a cell")))
                .collect::<Vec<_>>()
                .join(" | "))
        })
        .expect("the evidence reads");
    rows.collect::<Result<_, _>>().expect("evidence rows")
}

/// A benchmark setting from the environment, or its default when unset or unreadable.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A GeoJSON file of `count` small circular ports (1 nm) in the South Pacific, far from the
/// bundled sample's waters and from each other (about 5 nm apart): scale that changes no
/// judgement of the sample. Named `far-<n>`.
pub fn write_far_ports(path: &Path, count: usize) {
    let side = (count as f64).sqrt().ceil() as usize;
    let mut features = Vec::with_capacity(count);
    for n in 0..count {
        let (row, column) = (n / side, n % side);
        let lat = -60.0 + 30.0 * row as f64 / side as f64;
        let lon = -150.0 + 60.0 * column as f64 / side as f64;
        features.push(format!(
            r#"{{"type":"Feature","properties":{{"name":"far-{n}","radius_nm":1.0}},"geometry":{{"type":"Point","coordinates":[{lon:.5},{lat:.5}]}}}}"#
        ));
    }
    let text = format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",\n")
    );
    std::fs::write(path, text).expect("the ports file is written");
}

/// 2024-01-01T00:00:00Z.
const YEAR_START_SECS: i64 = 1_704_067_200;
/// Vessels heard all the time in a passing-traffic feed (the same ships, every 26 minutes at 2,000,000 lines);
/// every other vessel passes once, for a day or two. A share of the vessels instead would give
/// the busy feed's regulars a fix every 44 hours, a gap at every fix: a different feed, not the
/// same traffic with more vessels passing.
pub const TRAFFIC_REGULARS: u64 = 50;

/// `span_secs` from 2024-01-01 of `vessels` vessels' position reports, `lines` in all, in time
/// order, off the Russian Far East (some near Vostochny and Nakhodka, so that coverage is kept
/// there): the regulars all the time, every other vessel passing once.
pub fn write_passing_traffic(path: &Path, vessels: u32, lines: u64, span_secs: i64) {
    let mut rng = SplitMix64::new(u64::from(vessels));
    let regulars = TRAFFIC_REGULARS.min(u64::from(vessels));
    // Regulars carry half the lines, the passing vessels the other half.
    let per_regular = (lines / 2 / regulars).max(2);
    let per_passer = (lines / 2 / (u64::from(vessels) - regulars).max(1)).max(2);
    let mut events: Vec<(i64, u32, u32)> = Vec::with_capacity(lines as usize + 1024);
    let mut counts = Vec::with_capacity(vessels as usize);
    for v in 0..vessels {
        let regular = u64::from(v) < regulars;
        let (start, span, count) = if regular {
            (0, span_secs, per_regular)
        } else {
            let span = 86_400 + (rng.next_u64() % 86_400) as i64;
            let start = (rng.next_u64() % (span_secs - span) as u64) as i64;
            (start, span, per_passer)
        };
        counts.push(count);
        let step = span / count as i64;
        for k in 0..count {
            events.push((YEAR_START_SECS + start + k as i64 * step, v, k as u32));
        }
    }
    events.sort_unstable();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("feed file"));
    let mut line = String::with_capacity(128);
    for (secs, v, k) in events {
        // Each vessel sails its own straight line through the area, a quarter of a degree
        // north over its time in the feed, a few tenths of a degree from one of two ports, or
        // stays near Vostochny (every tenth). A track that jumped back to its start every 500
        // fixes, as before, split the 500-vessel feed's MMSIs into two transmitters each.
        let base_lat = 41.5 + f64::from(v % 200) * 0.01;
        let base_lon = 131.0 + f64::from(v % 300) * 0.01;
        let (lat, lon) = if v % 10 == 0 {
            (42.70 + f64::from(v % 7) * 0.01, 133.0)
        } else {
            let along = f64::from(k) / counts[v as usize] as f64;
            (base_lat + 0.25 * along, base_lon)
        };
        let report = PositionReport {
            msg_type: 1,
            repeat: 0,
            mmsi: 273_000_000 + v,
            nav_status: 0,
            turn: -128,
            sog: sog_raw(Some(8.0)),
            accuracy: false,
            lon: lon_raw(Some(lon)),
            lat: lat_raw(Some(lat)),
            cog: cog_raw(Some(10.0)),
            heading: 10,
            second: (secs % 60) as u8,
            maneuver: 0,
            raim: false,
            radio: 0,
        };
        let armoured = report.encode();
        single_sentence(&mut line, "bench", secs, 'A', &armoured);
        line.push('\n');
        out.write_all(line.as_bytes()).expect("feed written");
    }
    out.flush().expect("feed written");
}
