//! Port visits with AIS on and shuttle patterns, end to end: a MarineCadastre CSV planned
//! here with its own ground truth (a tanker making open calls at Nakhodka between dark calls
//! at Vostochny, and a shuttle of six dark round trips), replayed with the shipped ports, and
//! the answers of `aisgap query visits|trips|tally|patterns` compared with the plan.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aisgap::time::UnixMillis;
use serde_json::Value;

use crate::support::{aisgap, repo_path};

const HOUR: i64 = 3_600_000;
const STEP: i64 = 10 * 60_000;
/// 2024-03-08T00:00:00Z.
const T0: i64 = 1_709_856_000_000;
const VOSTOCHNY: (f64, f64) = (42.735, 133.075);
const NAKHODKA: (f64, f64) = (42.80, 132.885);
pub(crate) const CALLER: u32 = 445_000_101;
const SHUTTLE: u32 = 445_000_202;
/// The shuttle's cycle times, in hours from one switch-off to the next.
const SHUTTLE_CYCLES: [i64; 5] = [72, 75, 70, 73, 74];
const CALLER_CYCLE_H: i64 = 96;
const DARK_H: i64 = 30;

fn nm_between(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin() / 1852.0
}

/// A point `nm` from `from` on `bearing` (flat approximation, ample at these distances).
fn offset(from: (f64, f64), bearing: f64, nm: f64) -> (f64, f64) {
    let b = bearing.to_radians();
    let lat = from.0 + nm * b.cos() / 60.0;
    (
        lat,
        from.1 + nm * b.sin() / (60.0 * from.0.to_radians().cos()),
    )
}

/// The rows of one vessel, and the times the plan says things happen.
struct Vessel {
    mmsi: u32,
    name: &'static str,
    rows: Vec<(i64, (f64, f64), f64)>,
    t: i64,
    at: (f64, f64),
}

impl Vessel {
    fn new(mmsi: u32, name: &'static str, t: i64, at: (f64, f64)) -> Vessel {
        Vessel {
            mmsi,
            name,
            rows: vec![(t, at, 0.0)],
            t,
            at,
        }
    }

    /// Straight to `to`, arriving at `until`, a fix every ten minutes and one on arrival.
    fn sail(&mut self, to: (f64, f64), until: i64) {
        let knots = nm_between(self.at, to) / ((until - self.t) as f64 / HOUR as f64);
        let (from, t0) = (self.at, self.t);
        let mut t = t0 + STEP;
        while t < until {
            let f = (t - t0) as f64 / (until - t0) as f64;
            let here = (from.0 + (to.0 - from.0) * f, from.1 + (to.1 - from.1) * f);
            self.rows.push((t, here, knots));
            t += STEP;
        }
        self.rows.push((until, to, knots));
        (self.t, self.at) = (until, to);
    }

    fn stay(&mut self, until: i64) {
        let at = self.at;
        self.sail(at, until);
    }

    /// Silent until `until`, heard again at `at`.
    fn dark(&mut self, until: i64, at: (f64, f64)) {
        self.rows.push((until, at, 9.0));
        (self.t, self.at) = (until, at);
    }
}

fn csv_time(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = UnixMillis(ms).to_civil();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
}

struct Plan {
    vessels: Vec<Vessel>,
    /// The caller's Nakhodka calls: (arrived, left) as the first fix inside the 2.0 nm zone
    /// and the last within its 2.54 nm exit line.
    open_calls: Vec<(i64, i64)>,
    caller_dark: Vec<i64>,
    shuttle_dark: Vec<i64>,
}

fn plan() -> Plan {
    let sea = (42.45, 132.885);
    let mut caller = Vessel::new(CALLER, "PUNG PHYONG", T0, sea);
    let mut caller_dark = Vec::new();
    for k in 0..3 {
        let c0 = T0 + k * CALLER_CYCLE_H * HOUR;
        caller.sail(offset(NAKHODKA, 200.0, 0.3), c0 + 4 * HOUR);
        caller.stay(c0 + 24 * HOUR);
        caller.sail(sea, c0 + 28 * HOUR);
        let dark_from = c0 + 34 * HOUR;
        caller.sail(offset(VOSTOCHNY, 135.0 + k as f64, 40.0), dark_from);
        caller_dark.push(dark_from);
        caller.dark(dark_from + DARK_H * HOUR, offset(VOSTOCHNY, 140.0, 42.0));
        caller.sail(sea, c0 + 76 * HOUR);
        caller.stay(c0 + CALLER_CYCLE_H * HOUR);
    }
    let open_calls = calls_at(&caller, NAKHODKA, 2.0, 2.54);

    let home = (42.20, 131.20);
    let start = T0 + 20 * HOUR;
    let mut shuttle = Vessel::new(SHUTTLE, "CHON MA 5", T0, home);
    let mut shuttle_dark = vec![start];
    for cycle in SHUTTLE_CYCLES {
        shuttle_dark.push(shuttle_dark.last().unwrap() + cycle * HOUR);
    }
    for (k, &dark_from) in shuttle_dark.iter().enumerate() {
        shuttle.sail(offset(VOSTOCHNY, 128.0 + 2.0 * k as f64, 45.0), dark_from);
        shuttle.dark(dark_from + DARK_H * HOUR, offset(VOSTOCHNY, 132.0, 47.0));
        let next = shuttle_dark
            .get(k + 1)
            .copied()
            .unwrap_or(dark_from + 72 * HOUR);
        let turn = shuttle.t + (next - shuttle.t) / 2;
        shuttle.sail(home, turn);
        if k + 1 == shuttle_dark.len() {
            shuttle.stay(turn + 12 * HOUR);
        }
    }
    // A fishing boat heard all along, 10 nm off Vostochny: the receivers were working (the
    // coverage the trips need) and the stream clock moves while both tankers are dark.
    let mut fishing = Vessel::new(273_000_303, "ZARYA", T0, (42.60, 133.20));
    let end = shuttle.t.max(caller.t);
    fishing.sail((42.62, 133.28), end);
    caller.stay(end);
    Plan {
        vessels: vec![caller, shuttle, fishing],
        open_calls,
        caller_dark,
        shuttle_dark,
    }
}

/// The calls in a vessel's rows read straight from the positions: entry at the first fix
/// within `enter_nm` of the centre, exit after the last fix within `exit_nm`.
fn calls_at(v: &Vessel, centre: (f64, f64), enter_nm: f64, exit_nm: f64) -> Vec<(i64, i64)> {
    let mut calls = Vec::new();
    let mut inside: Option<(i64, i64)> = None;
    for &(t, at, _) in &v.rows {
        let d = nm_between(at, centre);
        inside = match inside {
            None if d <= enter_nm => Some((t, t)),
            Some((a, _)) if d <= exit_nm => Some((a, t)),
            Some(call) => {
                calls.push(call);
                None
            }
            None => None,
        };
    }
    calls
}

fn write_csv(plan: &Plan, path: &Path) {
    let mut text = String::from("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n");
    let mut rows: Vec<(i64, u32, String)> = Vec::new();
    for v in &plan.vessels {
        let ship_type = if v.mmsi.to_string().starts_with("445") {
            80
        } else {
            30
        };
        for &(t, (lat, lon), sog) in &v.rows {
            let status = if sog < 0.1 { 5 } else { 0 };
            rows.push((
                t,
                v.mmsi,
                format!(
                    "{},{},{lat:.6},{lon:.6},{sog:.1},0.0,511,{},,,{ship_type},{status},95,14,5.0,,A",
                    v.mmsi,
                    csv_time(t),
                    v.name
                ),
            ));
        }
    }
    rows.sort();
    for (_, _, row) in rows {
        writeln!(text, "{row}").unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// The fixture replayed into `dir`: the database (the page's browser test shows its visits).
pub(crate) fn replayed(dir: &Path) -> PathBuf {
    let plan = plan();
    let csv = dir.join("calls.csv");
    write_csv(&plan, &csv);
    let config = dir.join("aisgap.toml");
    let ports = repo_path("config/ports.geojson");
    std::fs::write(
        &config,
        format!(
            "# One other vessel heard near the port makes an hour covered: the fixture's only\n\
             # other traffic is the fishing boat.\n\
             [detect]\ncoverage_min_vessels = 1\n\n[ports]\nfile = {:?}\n",
            ports.display().to_string()
        ),
    )
    .unwrap();
    let db = dir.join("calls.db");
    let out = aisgap()
        .args(["replay", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn query(db: &Path, args: &[&str]) -> Value {
    let out = aisgap()
        .arg("query")
        .args(args)
        .args(["--format", "json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn iso(ms: i64) -> Value {
    serde_json::to_value(UnixMillis(ms)).unwrap()
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[test]
fn open_calls_dark_calls_and_shuttles_are_found_exactly_as_planned() {
    let dir = tempfile::tempdir().unwrap();
    let db = replayed(dir.path());
    let plan = plan();
    assert_eq!(
        plan.open_calls.len(),
        3,
        "the plan calls at Nakhodka three times"
    );

    // Visits: the caller's three Nakhodka calls, each open, the later ones a voyage from the
    // previous call; the shuttle never enters a zone with AIS on.
    let visits = query(&db, &["visits"]);
    let found: Vec<(u64, String, Value, Value, bool)> = visits
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["mmsi"].as_u64().unwrap(),
                v["port"].as_str().unwrap().to_string(),
                v["arrived"].clone(),
                v["left"].clone(),
                v["open_call"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(u64, String, Value, Value, bool)> = plan
        .open_calls
        .iter()
        .map(|&(a, l)| (u64::from(CALLER), "Nakhodka".into(), iso(a), iso(l), true))
        .collect();
    assert_eq!(found, expected);
    assert_eq!(visits[0]["from_port"], Value::Null);
    for (k, visit) in visits.as_array().unwrap().iter().enumerate().skip(1) {
        assert_eq!(visit["from_port"], "Nakhodka");
        assert_eq!(visit["from_left"], iso(plan.open_calls[k - 1].1));
        assert_eq!(visit["gap"], false);
    }

    // Trips: three dark calls of the caller, each naming the open call before it; six of the
    // shuttle, which never called openly.
    let trips = query(&db, &["trips"]);
    let trips = trips.as_array().unwrap();
    let of = |mmsi: u32| -> Vec<&Value> {
        trips
            .iter()
            .filter(|t| t["mmsi"].as_u64() == Some(u64::from(mmsi)))
            .collect()
    };
    let caller_trips = of(CALLER);
    let dark: Vec<Value> = caller_trips
        .iter()
        .map(|t| t["dark_from"].clone())
        .collect();
    assert_eq!(
        dark,
        plan.caller_dark.iter().map(|&t| iso(t)).collect::<Vec<_>>()
    );
    for (trip, &(arrived, left)) in caller_trips.iter().zip(&plan.open_calls) {
        assert_eq!(trip["port"], "Vostochny");
        assert_eq!(
            trip["last_open_call"],
            serde_json::json!({ "port": "Nakhodka", "arrived": iso(arrived), "left_at": iso(left) })
        );
    }
    let shuttle_trips = of(SHUTTLE);
    let dark: Vec<Value> = shuttle_trips
        .iter()
        .map(|t| t["dark_from"].clone())
        .collect();
    assert_eq!(
        dark,
        plan.shuttle_dark
            .iter()
            .map(|&t| iso(t))
            .collect::<Vec<_>>()
    );
    assert!(shuttle_trips
        .iter()
        .all(|t| t.get("last_open_call").is_none()));

    // The tally shows open calls next to dark ones, per port and vessel.
    let tally = query(&db, &["tally", "--by", "port,vessel"]);
    let rows: Vec<(String, u64, u64, u64)> = tally
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["port"].as_str().unwrap().to_string(),
                r["mmsi"].as_u64().unwrap(),
                r["trips"].as_u64().unwrap(),
                r["open_calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Nakhodka".into(), u64::from(CALLER), 0, 3),
            ("Vostochny".into(), u64::from(CALLER), 3, 0),
            ("Vostochny".into(), u64::from(SHUTTLE), 6, 0),
        ]
    );

    // Patterns: both vessels shuttle to Vostochny; the statistics follow from the planned
    // switch-off times.
    let patterns = query(&db, &["patterns"]);
    let patterns = patterns.as_array().unwrap();
    assert_eq!(patterns.len(), 2, "{patterns:#?}");
    for (pattern, (mmsi, dark)) in patterns
        .iter()
        .zip([(CALLER, &plan.caller_dark), (SHUTTLE, &plan.shuttle_dark)])
    {
        assert_eq!(pattern["mmsi"].as_u64(), Some(u64::from(mmsi)));
        assert_eq!(pattern["port"], "Vostochny");
        assert_eq!(pattern["trips"].as_u64(), Some(dark.len() as u64));
        let cycles: Vec<f64> = dark
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64 / HOUR as f64)
            .collect();
        let m = median(&cycles);
        let deviations: Vec<f64> = cycles.iter().map(|c| (c - m).abs()).collect();
        let mad = median(&deviations);
        assert_eq!(pattern["cycle_median_hours"].as_f64(), Some(m));
        assert_eq!(pattern["cycle_mad_hours"].as_f64(), Some(mad));
        let half = mad.max(m / 10.0);
        let last = *dark.last().unwrap();
        let at = |h: f64| iso(last + (h * HOUR as f64) as i64);
        assert_eq!(pattern["next_expected_from"], at(m - half));
        assert_eq!(pattern["next_expected_until"], at(m + half));
    }
    assert_eq!(patterns[1]["cycle_median_hours"].as_f64(), Some(73.0));

    // Fewer trips than asked for is no pattern.
    let strict = query(&db, &["patterns", "--min-trips", "4"]);
    assert_eq!(strict.as_array().unwrap().len(), 1);
}
