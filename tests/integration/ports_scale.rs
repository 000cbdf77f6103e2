//! Designated ports by the ten thousand: far-away ports change no judgement while every
//! overlap and duplicate among them is still found. How long check-config and replay take
//! with them (the zones are indexed, not compared pairwise or tested one by one per fix) is
//! the benchmark's to say: `cargo bench --bench ports` times 100,000. Here the times are only
//! printed: a bound on them failed on a loaded machine without anything being slow.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{aisgap, dump, repo_path, sample_path, write_far_ports};

fn config_with_extra(dir: &Path, extra: &[&Path]) -> PathBuf {
    let path = dir.join("aisgap.toml");
    let extra: Vec<String> = extra.iter().map(|p| format!("{p:?}")).collect();
    let text = format!(
        "[ports]\nfile = {ports:?}\nextra_files = [{}]\n\n[watchlist]\nfile = {watchlist:?}\n",
        extra.join(", "),
        ports = repo_path("config/ports.geojson"),
        watchlist = sample_path("watchlist.csv"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn check(config: &Path) -> (bool, String, String, Duration) {
    let started = Instant::now();
    let out = aisgap()
        .args(["check-config", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn thirty_thousand_ports_check_in_seconds_with_every_overlap_and_duplicate_found() {
    let dir = tempfile::tempdir().unwrap();
    let far = dir.path().join("far.geojson");
    write_far_ports(&far, 30_000);
    // Two zones that share water among the far ones, and a name a second file repeats.
    let odd = dir.path().join("odd.geojson");
    std::fs::write(
        &odd,
        r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"twin-a","radius_nm":3},"geometry":{"type":"Point","coordinates":[-120.0,-20.0]}},
{"type":"Feature","properties":{"name":"twin-b","radius_nm":3},"geometry":{"type":"Point","coordinates":[-120.05,-20.0]}}]}"#,
    )
    .unwrap();
    let (ok, stdout, stderr, took) = check(&config_with_extra(dir.path(), &[&far, &odd]));
    assert!(ok, "{stderr}");
    eprintln!("check-config of 30,007 ports: {took:?}");
    assert!(stdout.contains("Designated ports: 30007"), "{stdout}");
    assert!(
        stdout.contains("Note: zones twin-a and twin-b overlap"),
        "{stdout}"
    );
    let overlaps = stdout.lines().filter(|l| l.contains(" overlap: ")).count();
    let shipped = check(&config_with_extra(dir.path(), &[])).1;
    let shipped_overlaps = shipped.lines().filter(|l| l.contains(" overlap: ")).count();
    assert_eq!(
        overlaps,
        shipped_overlaps + 1,
        "the far ports lie apart; only the twins are new:\n{stdout}"
    );

    let again = dir.path().join("again.geojson");
    write_far_ports(&again, 3);
    let (ok, _, stderr, _) = check(&config_with_extra(dir.path(), &[&far, &again]));
    assert!(!ok);
    for n in 0..3 {
        assert!(
            stderr.contains(&format!("feature {} (far-{n})", n + 1)),
            "{stderr}"
        );
    }
    assert_eq!(stderr.matches("duplicate port name").count(), 3, "{stderr}");
}

#[test]
fn replay_with_thirty_thousand_far_ports_judges_the_sample_as_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let far = dir.path().join("far.geojson");
    write_far_ports(&far, 30_000);
    let replay = |name: &str, config: &Path| {
        let db = dir.path().join(format!("{name}.db"));
        let started = Instant::now();
        let out = aisgap()
            .args(["replay", "--config"])
            .arg(config)
            .arg("--db")
            .arg(&db)
            .arg(sample_path("scenario.nmea"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (db, started.elapsed())
    };
    let (plain, plain_took) = replay("plain", &config_with_extra(dir.path(), &[]));
    let (scaled, scaled_took) = replay("scaled", &config_with_extra(dir.path(), &[&far]));
    eprintln!("replay of the sample: {plain_took:?}; with 30,000 far ports: {scaled_took:?}");
    // Every table but the ports themselves, and what judged (whose ports hash differs), is the
    // same.
    let judged_by = format!(
        "state: {:?} | ",
        rusqlite::types::ValueRef::Text(b"judged_by")
    );
    let without_ports = |db: &Path| -> Vec<String> {
        dump(db)
            .into_iter()
            .filter(|row| !row.starts_with("ports: ") && !row.starts_with("meta: "))
            .filter(|row| !row.starts_with("fingerprints: ") && !row.starts_with(&judged_by))
            .map(|row| {
                // The last cell of a judgement and of an encounter is the fingerprint it was
                // made under, which hashes the ports.
                if row.starts_with("gap_history: ") || row.starts_with("encounters: ") {
                    row.rsplit_once(" | ")
                        .map_or(row.clone(), |(kept, _)| kept.to_string())
                } else {
                    row
                }
            })
            .collect()
    };
    let (a, b) = (without_ports(&plain), without_ports(&scaled));
    assert!(
        a.iter().any(|r| r.starts_with("gaps: ")),
        "the sample has gaps"
    );
    assert_eq!(a.len(), b.len());
    let differing: Vec<_> = a.iter().zip(&b).filter(|(x, y)| x != y).take(5).collect();
    assert!(differing.is_empty(), "{differing:#?}");
}
