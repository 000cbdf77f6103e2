//! Stored rows that do not parse (a database altered by hand or by another program) are refused
//! by `aisgap query` and the API with the table, the row and the column named, never answered
//! from a default.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::support::{aisgap, free_port, http_get, sample_path};

/// The bundled sample replayed into a fresh database in `dir`.
fn replayed_sample(dir: &Path) -> PathBuf {
    let db = dir.join("sample.db");
    let output = aisgap()
        .args(["replay", "--config"])
        .arg(sample_path("aisgap.toml"))
        .arg("--db")
        .arg(&db)
        .arg(sample_path("scenario.nmea"))
        .output()
        .expect("aisgap replay runs");
    assert!(output.status.success(), "replay: {output:?}");
    db
}

/// `aisgap query ARGS --db DB`: exit success and stderr.
fn query(db: &Path, args: &[&str]) -> (bool, String, String) {
    let output = aisgap()
        .arg("query")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("aisgap query runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The first trip's key, as `(mmsi, dark_from millis)`.
fn first_trip(conn: &Connection) -> (u32, i64) {
    conn.query_row(
        "SELECT mmsi, dark_from FROM gaps WHERE status = 'trip' AND watched = 1 ORDER BY dark_from, mmsi LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .expect("the sample has trips")
}

struct Served(Child, String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &Path) -> Served {
    let address = format!("127.0.0.1:{}", free_port());
    let child = aisgap()
        .args(["serve", "--listen", &address, "--db"])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aisgap serve starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&address).is_err() {
        assert!(Instant::now() < deadline, "aisgap serve did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Served(child, address)
}

#[test]
fn an_unknown_status_is_an_error_naming_the_row_in_query_and_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = replayed_sample(dir.path());
    let (ok, before, _) = query(&db, &["trips", "--format", "json"]);
    assert!(ok, "the untouched database answers");
    let trips: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(trips.as_array().unwrap().len(), 14, "the sample's trips");

    let conn = Connection::open(&db).unwrap();
    let (mmsi, dark_from) = first_trip(&conn);
    conn.execute(
        "UPDATE gaps SET status = 'smuggled' WHERE mmsi = ?1 AND dark_from = ?2",
        rusqlite::params![mmsi, dark_from],
    )
    .unwrap();
    drop(conn);

    // `gaps` lists every status, so the altered row is among its answers.
    let (ok, out, err) = query(&db, &["gaps"]);
    assert!(!ok, "query gaps must fail; it printed:\n{out}");
    for needle in [
        "table gaps",
        &format!("mmsi {mmsi}"),
        &format!("dark_from {dark_from}"),
        "column status",
        "\"smuggled\"",
    ] {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    let served = serve(&db);
    let (status, body) = http_get(&served.1, "/api/v1/gaps");
    assert_eq!(status, 500, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("table gaps") && message.contains("column status"),
        "{message}"
    );
    assert!(message.contains(&format!("mmsi {mmsi}")), "{message}");
}

#[test]
fn unreadable_json_a_wrong_type_and_a_cut_track_are_errors_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = replayed_sample(dir.path());
    let conn = Connection::open(&db).unwrap();
    let (mmsi, dark_from) = first_trip(&conn);

    conn.execute(
        "UPDATE gaps SET candidates = '[{\"port\": ' WHERE mmsi = ?1 AND dark_from = ?2",
        rusqlite::params![mmsi, dark_from],
    )
    .unwrap();
    let (ok, _, err) = query(&db, &["trips"]);
    assert!(!ok, "query trips must fail");
    assert!(
        err.contains("column candidates") && err.contains("unreadable JSON"),
        "{err}"
    );
    assert!(err.contains(&format!("mmsi {mmsi}")), "{err}");
    conn.execute(
        "UPDATE gaps SET candidates = '[]', duration_hours = 'long' WHERE mmsi = ?1 AND dark_from = ?2",
        rusqlite::params![mmsi, dark_from],
    )
    .unwrap();
    let (ok, _, err) = query(&db, &["trips"]);
    assert!(!ok, "query trips must fail");
    assert!(
        err.contains("column duration_hours") && err.contains("text \"long\""),
        "{err}"
    );
    conn.execute(
        "UPDATE gaps SET duration_hours = 30.5 WHERE mmsi = ?1 AND dark_from = ?2",
        rusqlite::params![mmsi, dark_from],
    )
    .unwrap();

    // Ports: a zone that is no longer GeoJSON.
    let port: String = conn
        .query_row("SELECT name FROM ports ORDER BY name LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    conn.execute(
        "UPDATE ports SET geometry = 'not json' WHERE name = ?1",
        [&port],
    )
    .unwrap();
    let (ok, _, err) = query(&db, &["ports"]);
    assert!(!ok, "query ports must fail");
    assert!(
        err.contains("table ports")
            && err.contains(&format!("name {port:?}"))
            && err.contains("column geometry"),
        "{err}"
    );

    // A vessel's class, and its track cut mid-point.
    conn.execute("UPDATE vessels SET class = 'Z' WHERE mmsi = ?1", [mmsi])
        .unwrap();
    let mmsi_text = mmsi.to_string();
    let (ok, _, err) = query(&db, &["vessel", &mmsi_text]);
    assert!(!ok, "query vessel must fail");
    assert!(
        err.contains("table vessels") && err.contains("column class") && err.contains("\"Z\""),
        "{err}"
    );
    conn.execute("UPDATE vessels SET class = 'A' WHERE mmsi = ?1", [mmsi])
        .unwrap();
    let chunk: i64 = conn
        .query_row(
            "SELECT id FROM track_chunks WHERE mmsi = ?1 ORDER BY day, seq LIMIT 1",
            [mmsi],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE track_chunks SET points = substr(points, 1, length(points) - 5) WHERE id = ?1",
        [chunk],
    )
    .unwrap();
    let (ok, _, err) = query(&db, &["vessel", &mmsi_text]);
    assert!(!ok, "query vessel must fail");
    assert!(
        err.contains("table track_chunks")
            && err.contains(&format!("id {chunk}"))
            && err.contains("column points"),
        "{err}"
    );
}
