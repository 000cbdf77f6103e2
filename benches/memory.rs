//! Memory per tracked vessel in steady state: 1,000,000 distinct MMSIs each report a fix every
//! three hours (under the gap threshold, as vessels in coverage do) for a day, every tenth with
//! static data; reports resident memory per vessel and the process's peak RSS.
//!
//! Run: `cargo bench --bench memory`

use aisgap::detect::DetectParams;
use aisgap::engine::Engine;
use aisgap::model::{AisEvent, Fix, Heard, Mmsi, TimeSource, TransceiverClass, VesselReport};
use aisgap::ports::Port;
use aisgap::time::UnixMillis;
use aisgap::watchlist::Watchlist;

const VESSELS: u32 = 1_000_000;
const T0: i64 = 1_709_856_000_000;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn fix(mmsi: u32, time: i64) -> AisEvent {
    // Spread vessels over the North Pacific so coverage bins see only a few of them.
    let lat = 20.0 + f64::from(mmsi % 4000) / 100.0;
    let lon = 120.0 + f64::from(mmsi / 4000 % 6000) / 100.0;
    AisEvent::Fix(Fix {
        mmsi: Mmsi(mmsi),
        msg_type: 1,
        class: TransceiverClass::A,
        heard: Heard {
            time: Some(UnixMillis(time)),
            time_source: Some(TimeSource::TagBlock),
            station: None,
            channel: Some('A'),
        },
        lat,
        lon,
        sog: Some(11.0),
        cog: Some(90.0),
        heading: Some(90),
        nav_status: Some(0),
        turn: None,
        accuracy: false,
        raim: false,
        second: Some(0),
    })
}

fn main() {
    let ports = vec![Port::circle("Vostochny", 42.735, 133.075, 2.0)];
    let mut engine = Engine::new(DetectParams::default(), ports, Watchlist::default(), 10);
    let before = status_kib("VmRSS:");
    let started = std::time::Instant::now();
    for round in 0..8i64 {
        for i in 0..VESSELS {
            let mmsi = 200_000_000 + i * 7;
            let time = T0 + round * 3 * 3_600_000 + i64::from(i) * 10;
            engine.ingest(&fix(mmsi, time));
            if i % 10 == 0 {
                engine.ingest(&AisEvent::VesselReport(VesselReport {
                    mmsi: Mmsi(mmsi),
                    msg_type: 5,
                    heard: Heard {
                        time: Some(UnixMillis(time + 1)),
                        ..Heard::default()
                    },
                    name: Some(format!("VESSEL {i}")),
                    callsign: Some("UBAA7".into()),
                    imo: Some(9_000_000 + i),
                    ship_type: Some(if i % 20 == 0 { 80 } else { 70 }),
                    length: Some(120),
                    beam: Some(20),
                    draught: Some(7.5),
                    destination: Some("NAKHODKA".into()),
                    ..VesselReport::default()
                }));
            }
            if engine.pending_changes() > 100_000 {
                drop(engine.take_changes());
            }
        }
    }
    engine.finish();
    drop(engine.take_changes());
    let after = status_kib("VmRSS:");
    let per_vessel = (after.saturating_sub(before)) as f64 * 1024.0 / f64::from(VESSELS);
    println!(
        "memory: {} vessels tracked, {:.0} bytes resident per vessel (target <= 1024), peak RSS {:.1} MiB, {:.2} s",
        engine.vessels().len(),
        per_vessel,
        status_kib("VmHWM:") as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
}
