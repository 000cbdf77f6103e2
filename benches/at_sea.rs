//! Encounter, loitering and dark-rendezvous detection at scale: 2,000 vessels (200 of them
//! watched tankers) for a month of stream time by default, a fix every 6 minutes each. A third
//! idle 8 h a day at their own spot at sea, then sail out 88 nm and back; 20 pairs (one
//! watched in each) idle side by side, 300 m apart, for those 8 h; the others sail their lanes
//! back and forth at 11 kn. Every track is continuous: lanes that wrapped around (an 88 nm jump
//! every 8 h) made silences by the thousand, each a rendezvous leg, and measured that instead.
//! The same events run through the engine twice in this one process, with the at-sea
//! detectors on and off, and the cost per event of each is compared (the engine alone: decode
//! and store, which replay adds to both, would only shrink the ratio). Reports the detectors'
//! memory as the vessels and pairs they hold, which follows the vessels slow at sea and the
//! active pairs, not the vessels squared.
//!
//! Then silences as a real extract's are (the NOAA sample in `aisdb/`: 997 vessels off the US
//! coast heard once each within an hour, then only 3 more rows 23 h later, so that every one
//! of them is a silence short enough to pair at the end): 3,000 watched vessels heard twice,
//! 10 minutes apart, in the first hour, each somewhere in one 10-degree square, then three
//! others 23 h later. Each silence's reach covers a hundred cells and more of the rendezvous
//! index, and each look at it asks which silences share one; the feed unheard in between, no
//! pair needs a meeting place.
//!
//! Run: `cargo bench --bench at_sea` (AISGAP_BENCH_DAYS=365 for a year;
//! AISGAP_BENCH_ALL_WATCHED=1 makes every vessel a watched tanker; AISGAP_BENCH_SILENT sets
//! the silences).

use std::time::Instant;

use aisgap::detect::DetectParams;
use aisgap::engine::Engine;
use aisgap::model::{AisEvent, Fix, Heard, Mmsi, TimeSource, TransceiverClass, VesselReport};
use aisgap::ports::Port;
use aisgap::simulate::SplitMix64;
use aisgap::time::UnixMillis;
use aisgap::watchlist::Watchlist;

#[path = "../tests/integration/support.rs"]
mod support;

const VESSELS: u32 = 2_000;
const WATCHED: u32 = 200;
const PAIRS: u32 = 20;
const EVERY_MS: i64 = 6 * 60_000;
const DAY_MS: i64 = 86_400_000;
const T0: i64 = 1_709_510_400_000;

/// Where a vessel is and how fast it goes at a moment of its day.
struct Vessel {
    mmsi: u32,
    lane: (f64, f64, f64),
    idle_spot: Option<(f64, f64)>,
}

fn vessels(rng: &mut SplitMix64) -> Vec<Vessel> {
    (0..VESSELS)
        .map(|i| {
            let mmsi = if i < WATCHED {
                445_000_000 + i
            } else {
                273_000_000 + i
            };
            let lane = (
                rng.range(38.0, 43.0),
                rng.range(131.0, 138.0),
                rng.range(0.0, 360.0),
            );
            let idle = i % 3 == 0 || i >= VESSELS - 2 * PAIRS;
            let spot = (rng.range(38.0, 43.0), rng.range(131.0, 138.0));
            Vessel {
                mmsi,
                lane,
                idle_spot: idle.then_some(spot),
            }
        })
        .collect()
}

fn fix(v: &Vessel, t: i64, paired_with: Option<&Vessel>) -> AisEvent {
    let hour = (t.rem_euclid(DAY_MS)) as f64 / 3_600_000.0;
    let (lat0, lon0, course) = v.lane;
    let sail = |from: (f64, f64), nm: f64| {
        let (s, c) = course.to_radians().sin_cos();
        (
            from.0 + nm * c / 60.0,
            from.1 + nm * s / (60.0 * from.0.to_radians().cos()),
        )
    };
    let ((lat, lon), sog) = match v.idle_spot {
        // Idle 8 h a day at its spot (a pair's second vessel 300 m east of the first's), then
        // out 88 nm along its course and back.
        Some(own) => {
            let spot = match paired_with.and_then(|first| first.idle_spot) {
                Some((lat, lon)) => (lat, lon + 300.0 / (111_195.0 * lat.to_radians().cos())),
                None => own,
            };
            if hour < 8.0 {
                (spot, 0.3)
            } else {
                let out = if hour < 16.0 { hour - 8.0 } else { 24.0 - hour };
                (sail(spot, 11.0 * out), 11.0)
            }
        }
        // Back and forth along its lane at 11 kn, 88 nm each way.
        None => {
            let phase = (t - T0).rem_euclid(16 * 3_600_000) as f64 / 3_600_000.0;
            let out = if phase < 8.0 { phase } else { 16.0 - phase };
            (sail((lat0, lon0), 11.0 * out), 11.0)
        }
    };
    AisEvent::Fix(Fix {
        mmsi: Mmsi(v.mmsi),
        msg_type: 1,
        class: TransceiverClass::A,
        heard: Heard {
            time: Some(UnixMillis(t)),
            time_source: Some(TimeSource::TagBlock),
            station: None,
            channel: Some('A'),
            line: None,
        },
        lat,
        lon,
        sog: Some(sog as f32),
        cog: Some(90.0),
        heading: Some(90),
        nav_status: Some(0),
        turn: None,
        accuracy: false,
        raim: false,
        second: Some(0),
    })
}

fn report(v: &Vessel, t: i64, watched: bool) -> AisEvent {
    AisEvent::VesselReport(VesselReport {
        mmsi: Mmsi(v.mmsi),
        msg_type: 5,
        part: None,
        class: Some(TransceiverClass::A),
        heard: Heard {
            time: Some(UnixMillis(t)),
            time_source: Some(TimeSource::TagBlock),
            station: None,
            channel: Some('A'),
            line: None,
        },
        imo: None,
        name: Some(format!("VESSEL {}", v.mmsi).into()),
        callsign: None,
        ship_type: Some(if watched { 80 } else { 70 }),
        to_bow: Some(80),
        to_stern: Some(20),
        to_port: Some(8),
        to_starboard: Some(8),
        length: Some(100),
        beam: Some(16),
        draught: Some(6.0),
        destination: None,
        eta: None,
    })
}

struct Run {
    events: u64,
    seconds: f64,
    /// CPU seconds of this process over the run: on a machine shared with other work the
    /// wall clock counts their time too, the CPU time only this run's.
    cpu_seconds: f64,
    encounters: u64,
    loitering: u64,
    peak_vessels: usize,
    peak_pairs: usize,
}

/// CPU seconds (user and system) this process has used so far.
fn own_cpu() -> f64 {
    // SAFETY: getrusage fills the struct it is given and touches nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn run(days: i64, on: bool, all_watched: bool) -> Run {
    let mut params = DetectParams::default();
    params.at_sea.encounters.enabled = on;
    params.at_sea.loitering.enabled = on;
    params.at_sea.rendezvous.enabled = on;
    let ports = vec![Port::circle("Vostochny", 42.735, 133.075, 2.0)];
    let mut engine = Engine::new(params, ports, Watchlist::default(), 10);
    let fleet = vessels(&mut SplitMix64::new(7));
    let partner = |i: usize| -> Option<&Vessel> {
        let first = VESSELS as usize - 2 * PAIRS as usize;
        (i >= first && (i - first) % 2 == 1).then(|| &fleet[i - 1])
    };
    let (mut events, mut peak_vessels, mut peak_pairs) = (0u64, 0, 0);
    let (started, cpu_before) = (Instant::now(), own_cpu());
    let mut t = T0;
    while t < T0 + days * DAY_MS {
        for (i, v) in fleet.iter().enumerate() {
            let at = t + i64::from(v.mmsi % 300) * 1000;
            if (t - T0) % (6 * 3_600_000) == 0 {
                // The first WATCHED vessels and the first of each meeting pair report a
                // tanker's ship type, the others a cargo ship's (unless all are watched).
                let watched = all_watched || i < WATCHED as usize || partner(i + 1).is_some();
                engine.ingest(&report(v, at, watched));
                events += 1;
            }
            engine.ingest(&fix(v, at, partner(i)));
            events += 1;
        }
        let _ = engine.take_changes();
        if (t - T0) % 3_600_000 == 0 {
            let (held, pairs) = engine.at_sea().held();
            peak_vessels = peak_vessels.max(held);
            peak_pairs = peak_pairs.max(pairs);
        }
        t += EVERY_MS;
    }
    engine.finish();
    let stats = engine.at_sea().stats().clone();
    Run {
        events,
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: own_cpu() - cpu_before,
        encounters: stats.encounters,
        loitering: stats.loitering,
        peak_vessels,
        peak_pairs,
    }
}

fn main() {
    let days: i64 = support::env_or("AISGAP_BENCH_DAYS", 30);
    // Every vessel a tanker: the detectors' heaviest case, each vessel's every fix theirs.
    let all_watched = support::env_or("AISGAP_BENCH_ALL_WATCHED", 0) == 1;
    let off = run(days, false, all_watched);
    let on = run(days, true, all_watched);
    let per = |r: &Run| r.seconds * 1e9 / r.events as f64;
    let per_cpu = |r: &Run| r.cpu_seconds * 1e9 / r.events as f64;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let period = match days {
        365 => "a year".to_string(),
        30 => "a month (the default; AISGAP_BENCH_DAYS=365 for a year)".to_string(),
        _ => format!("{days} days"),
    };
    println!(
        "AISGAP_BENCH_DAYS={days}: {period}, {VESSELS} vessels ({} watched, {PAIRS} meeting pairs), {} events per run, {cores} cores (both runs on one)",
        if all_watched { "all".to_string() } else { format!("{}", WATCHED + PAIRS) },
        on.events
    );
    println!(
        "detectors off: {:.0} ns/event ({:.1} s), {:.0} ns/event of CPU",
        per(&off),
        off.seconds,
        per_cpu(&off)
    );
    println!(
        "detectors on:  {:.0} ns/event ({:.1} s), {:.0} ns/event of CPU: {} encounters, {} loitering episodes confirmed",
        per(&on),
        on.seconds,
        per_cpu(&on),
        on.encounters,
        on.loitering
    );
    println!(
        "cost ratio on/off: {:.2} (target <= 1.5); of CPU time: {:.2}",
        per(&on) / per(&off),
        per_cpu(&on) / per_cpu(&off)
    );
    println!(
        "at-sea memory: at most {} vessels and {} pairs held at once (of {VESSELS} vessels, {} possible pairs)",
        on.peak_vessels,
        on.peak_pairs,
        u64::from(VESSELS) * u64::from(VESSELS - 1) / 2
    );
    scattered(support::env_or("AISGAP_BENCH_SILENT", 3_000));
}

/// The scattered silences, the rendezvous detector on and off.
fn scattered(vessels: u32) {
    let mut rng = SplitMix64::new(11);
    let mut heard: Vec<(i64, Vessel)> = (0..vessels)
        .map(|i| {
            // In the first hour (a vessel with an idle spot spends the day's first 8 h there).
            let minute = rng.range(0.0, 49.0) as i64;
            let spot = (rng.range(30.0, 40.0), rng.range(-80.0, -70.0));
            let v = Vessel {
                mmsi: 366_000_000 + i,
                lane: (spot.0, spot.1, 0.0),
                idle_spot: Some(spot),
            };
            (T0 + minute * 60_000, v)
        })
        .collect();
    heard.sort_by_key(|(at, v)| (*at, v.mmsi));
    let mut events = Vec::new();
    for (at, v) in &heard {
        events.push((*at, report(v, *at, true)));
        events.push((*at, fix(v, *at, None)));
        events.push((at + 10 * 60_000, fix(v, at + 10 * 60_000, None)));
    }
    // Three vessels heard 23 h later end the input.
    events.extend((0..3).map(|k| {
        let sailing = Vessel {
            mmsi: 273_999_990 + k,
            lane: (35.0, -75.0, 45.0),
            idle_spot: None,
        };
        let at = T0 + 23 * 3_600_000 + i64::from(k) * 60_000;
        (at, fix(&sailing, at, None))
    }));
    events.sort_by_key(|(at, event)| (*at, event.mmsi()));
    let mut seconds = [0.0; 2];
    let mut weighed = 0;
    for (slot, on) in [(0, false), (1, true)] {
        let mut params = DetectParams::default();
        params.at_sea.encounters.enabled = false;
        params.at_sea.loitering.enabled = false;
        params.at_sea.rendezvous.enabled = on;
        let ports = vec![Port::circle("Vostochny", 42.735, 133.075, 2.0)];
        let mut engine = Engine::new(params, ports, Watchlist::default(), 10);
        let started = Instant::now();
        for (_, event) in &events {
            engine.ingest(event);
            let _ = engine.take_changes();
        }
        engine.finish();
        seconds[slot] = started.elapsed().as_secs_f64();
        let rendezvous = engine.at_sea().rendezvous_stats();
        weighed = rendezvous.feed_unheard + rendezvous.pairs_tested;
    }
    println!(
        "silences: {vessels} watched vessels dark in one 10-degree square for a day: {:.2} s with the rendezvous detector, {:.2} s without ({weighed} pairs weighed)",
        seconds[1], seconds[0]
    );
}
