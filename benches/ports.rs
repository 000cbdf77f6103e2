//! Designated ports at scale: `aisgap check-config` with 10,000, 30,000 and 100,000 extra
//! ports, and `aisgap replay` of the bundled sample with none and with 100,000 extra ports far
//! from its waters (which change no judgement), each timed on the built binary.
//!
//! Run: `cargo bench --bench ports` (`AISGAP_BENCH_PORTS` = comma-separated counts).

use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "../tests/integration/support.rs"]
mod support;

use support::{aisgap, repo_path, sample_path, write_far_ports};

fn config(dir: &Path, name: &str, extra: Option<&Path>) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let extra = extra.map_or_else(String::new, |p| format!("extra_files = [{p:?}]\n"));
    std::fs::write(
        &path,
        format!(
            "[ports]\nfile = {:?}\n{extra}\n[watchlist]\nfile = {:?}\n",
            repo_path("config/ports.geojson"),
            sample_path("watchlist.csv")
        ),
    )
    .expect("config written");
    path
}

fn timed(what: &str, args: &[&std::ffi::OsStr]) -> f64 {
    let started = Instant::now();
    let out = aisgap().args(args).output().expect("aisgap runs");
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    seconds
}

fn main() {
    let counts: Vec<usize> = std::env::var("AISGAP_BENCH_PORTS")
        .unwrap_or_else(|_| "10000,30000,100000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let dir = tempfile::tempdir().expect("temporary directory");
    let sample = sample_path("scenario.nmea");
    let replay = |name: &str, config: &Path| {
        let db = dir.path().join(format!("{name}.db"));
        timed(
            name,
            &[
                "replay".as_ref(),
                "--config".as_ref(),
                config.as_os_str(),
                "--db".as_ref(),
                db.as_os_str(),
                sample.as_os_str(),
            ],
        )
    };
    let plain = config(dir.path(), "plain", None);
    let base = replay("replay-0", &plain);
    println!("replay of the sample, its 5 ports: {base:.2} s");
    for count in counts {
        let ports = dir.path().join(format!("far-{count}.geojson"));
        write_far_ports(&ports, count);
        let config = config(dir.path(), &format!("far-{count}"), Some(&ports));
        let check = timed(
            "check-config",
            &[
                "check-config".as_ref(),
                "--config".as_ref(),
                config.as_os_str(),
            ],
        );
        let replayed = replay(&format!("replay-{count}"), &config);
        println!(
            "{count:>7} extra ports: check-config {check:.2} s; replay of the sample {replayed:.2} s ({:+.2} s)",
            replayed - base
        );
    }
}
