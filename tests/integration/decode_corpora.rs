//! The NMEA decoder against real AIS corpora: field-by-field agreement with gpsd's expected
//! output, libais's per-type examples, the edge cases Global Fishing Watch collected, timing
//! from tag blocks, and robustness on noisy national-network traffic and fuzzed input.

use std::collections::HashMap;
use std::path::PathBuf;

use aisgap::decode::{DecodeOptions, DecodeStats, NmeaDecoder, Reject};
use aisgap::model::{AisEvent, Fix, Mmsi, ShortText, TimeSource, VesselReport};
use aisgap::source::file::{Line, LineReader, DEFAULT_MAX_LINE};
use aisgap::time::UnixMillis;
use serde_json::Value;

use crate::support::corpus;

fn read_corpus(relative: &str) -> Vec<u8> {
    std::fs::read(corpus(relative)).expect("corpus file is readable")
}

/// Decodes a whole file through the file source's line reader, as `aisgap decode` does.
fn decode_file(relative: &str) -> (Vec<AisEvent>, DecodeStats) {
    decode_file_with(relative, DecodeOptions::default())
}

fn decode_file_with(relative: &str, options: DecodeOptions) -> (Vec<AisEvent>, DecodeStats) {
    let input = aisgap::source::file::open(&corpus(relative)).expect("corpus file opens");
    let mut reader = LineReader::new(input, DEFAULT_MAX_LINE);
    let mut decoder = NmeaDecoder::new(options);
    let mut events = Vec::new();
    while let Some(line) = reader.next_line().expect("corpus file reads") {
        match line {
            Line::Text(bytes) => decoder.decode_line(bytes, None, &mut events),
            Line::TooLong { .. } => decoder.count_line_too_long(),
        }
    }
    decoder.finish();
    (events, decoder.stats().clone())
}

fn print_summary(name: &str, stats: &DecodeStats) {
    let rejects: Vec<String> = stats
        .rejects
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{}={n}", r.name()))
        .collect();
    println!(
        "{name}: {} lines, {} sentences, {} messages, {} events, non-AIS {}, rejects [{}]",
        stats.lines,
        stats.sentences,
        stats.messages,
        stats.events,
        stats.non_ais_lines,
        rejects.join(" ")
    );
}

// ---------------------------------------------------------------------------------------------
// gpsd as the oracle
// ---------------------------------------------------------------------------------------------

/// The message types aisgap interprets; everything else is only identified.
const INTERPRETED: [u64; 9] = [1, 2, 3, 4, 5, 18, 19, 24, 27];

/// One message as we decoded it: the events of one completed payload.
#[derive(Debug, Clone)]
struct Ours {
    msg_type: u8,
    mmsi: Mmsi,
    events: Vec<AisEvent>,
}

#[derive(Default)]
struct Tally {
    /// gpsd records of interpreted types compared field by field.
    compared: usize,
    /// Individual field comparisons made.
    fields: usize,
    mismatches: Vec<String>,
    /// gpsd decoded an interpreted message that we did not.
    gpsd_only: Vec<String>,
    /// We decoded a message gpsd printed nothing for (type 24 part A: gpsd holds it back and
    /// merges its name into the part B record).
    ours_only: Vec<String>,
    /// Our latest type 24 part A name per MMSI, to compare with gpsd's merged record.
    part_a_names: HashMap<u32, Option<ShortText>>,
    /// gpsd's ring of 8 part A slots (MAX_TYPE24_INTERLEAVE) waiting for their part B.
    gpsd_part_a_ring: [Option<u32>; 8],
    gpsd_part_a_next: usize,
    /// Type 24 part B that gpsd printed nothing for because it held no part A of that MMSI.
    unpaired_part_b: usize,
}

impl Tally {
    fn check(&mut self, context: &str, field: &str, ok: bool, ours: String, gpsd: &Value) {
        self.fields += 1;
        if !ok {
            self.mismatches
                .push(format!("{context}: {field}: ours {ours}, gpsd {gpsd}"));
        }
    }

    /// Remembers part A names (which gpsd never prints on their own).
    fn note_part_a(&mut self, ours: &Ours) {
        if ours.msg_type == 24 && part_of(ours) == Some(0) {
            let name = ours.events.iter().find_map(|e| match e {
                AisEvent::VesselReport(r) => Some(r.name.clone()),
                _ => None,
            });
            self.part_a_names.insert(ours.mmsi.0, name.flatten());
            self.gpsd_part_a_ring[self.gpsd_part_a_next] = Some(ours.mmsi.0);
            self.gpsd_part_a_next = (self.gpsd_part_a_next + 1) % self.gpsd_part_a_ring.len();
        }
    }
}

/// An integer field; libais writes some (IMO) as strings.
fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f.round() as i64))
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Text where we deliberately differ from gpsd: gpsd cuts 6-bit text at the first `@`, we
/// treat `@` as padding at either end, so a left-padded call sign keeps its characters.
/// (MMSI, field, ours, gpsd).
const TEXT_DIFFERENCES: [(u32, &str, &str, &str); 1] = [(244_710_865, "callsign", "J130B", "")];

/// gpsd text fields: empty means "not available". gpsd keeps leading spaces (" TINA"); we
/// trim them.
fn text_eq(ours: &Option<ShortText>, gpsd: &Value) -> bool {
    let g = gpsd.as_str().unwrap_or("").trim_start_matches(' ');
    match ours {
        None => g.is_empty(),
        Some(o) => o == g,
    }
}

fn text_field(
    tally: &mut Tally,
    ctx: &str,
    mmsi: Mmsi,
    field: &str,
    ours: &Option<ShortText>,
    g: &Value,
) {
    let known = TEXT_DIFFERENCES.iter().any(|&(m, f, o, gp)| {
        m == mmsi.0 && f == field && ours.as_deref() == Some(o) && g.as_str() == Some(gp)
    });
    tally.check(
        ctx,
        field,
        known || text_eq(ours, g),
        format!("{ours:?}"),
        g,
    );
}

/// The units of an expected record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Units {
    /// gpsd unscaled: 1/10000 minute, tenths of knots and degrees, decimetres, ROT_AIS.
    Raw,
    /// gpsd scaled: degrees with 7 decimals (4 for type 27), knots, metres, turn as text.
    Scaled,
    /// libais: scaled, but in single precision floats.
    Float32,
}

impl Units {
    fn scaled(self) -> bool {
        self != Units::Raw
    }

    fn position_tolerance(self, long_range: bool) -> f64 {
        match self {
            Units::Raw => 1e-9,
            Units::Scaled if long_range => 0.5e-4 + 1e-9,
            Units::Scaled => 0.5e-7 + 1e-12,
            Units::Float32 => 2e-5,
        }
    }
}

/// Compares one expected record with our message.
fn compare_record(tally: &mut Tally, context: &str, ours: &Ours, g: &Value, units: Units) {
    let msg_type = g["type"].as_u64().unwrap_or(0);
    tally.compared += 1;
    let ctx = format!("{context} type {msg_type} mmsi {}", ours.mmsi.0);
    tally.check(
        &ctx,
        "mmsi",
        u64::from(ours.mmsi.0) == g["mmsi"].as_u64().unwrap_or(u64::MAX),
        ours.mmsi.0.to_string(),
        &g["mmsi"],
    );
    tally.check(
        &ctx,
        "type",
        u64::from(ours.msg_type) == msg_type,
        ours.msg_type.to_string(),
        &g["type"],
    );
    match msg_type {
        1 | 2 | 3 | 18 | 19 | 27 => compare_position(tally, &ctx, ours, g, units),
        4 => compare_base_station(tally, &ctx, ours, g, units),
        _ => {}
    }
    if matches!(msg_type, 5 | 19 | 24) {
        compare_static(tally, &ctx, ours, g, units);
    }
}

/// Position fields. Type 27 uses 1/10 minute, whole knots and whole degrees.
fn compare_position(tally: &mut Tally, ctx: &str, ours: &Ours, g: &Value, units: Units) {
    let long_range = ours.msg_type == 27;
    let per_degree = if long_range { 600.0 } else { 600_000.0 };
    let (g_lat, g_lon) = if units.scaled() {
        (
            g["lat"].as_f64().unwrap_or(f64::NAN),
            g["lon"].as_f64().unwrap_or(f64::NAN),
        )
    } else {
        (
            int(&g["lat"]).unwrap_or(0) as f64 / per_degree,
            int(&g["lon"]).unwrap_or(0) as f64 / per_degree,
        )
    };
    let unavailable = (g_lat - 91.0).abs() < 1e-9 || (g_lon - 181.0).abs() < 1e-9;
    let off_globe = g_lat.abs() > 90.0 || g_lon.abs() > 180.0;
    let fix = ours.events.iter().find_map(|e| match e {
        AisEvent::Fix(f) => Some(f),
        _ => None,
    });
    let Some(fix) = fix else {
        let marked = ours
            .events
            .iter()
            .any(|e| matches!(e, AisEvent::PositionUnavailable(_)));
        tally.check(
            ctx,
            "position",
            marked && (unavailable || off_globe),
            "unavailable".into(),
            &Value::String(format!("{g_lat},{g_lon}")),
        );
        return;
    };
    let tolerance = units.position_tolerance(long_range);
    tally.check(
        ctx,
        "lat",
        (fix.lat - g_lat).abs() <= tolerance,
        fix.lat.to_string(),
        &g["lat"],
    );
    tally.check(
        ctx,
        "lon",
        (fix.lon - g_lon).abs() <= tolerance,
        fix.lon.to_string(),
        &g["lon"],
    );
    compare_motion(tally, ctx, fix, g, units);
    tally.check(
        ctx,
        "accuracy",
        Some(fix.accuracy) == g["accuracy"].as_bool(),
        fix.accuracy.to_string(),
        &g["accuracy"],
    );
    tally.check(
        ctx,
        "raim",
        Some(fix.raim) == g["raim"].as_bool(),
        fix.raim.to_string(),
        &g["raim"],
    );
}

fn compare_motion(tally: &mut Tally, ctx: &str, fix: &Fix, g: &Value, units: Units) {
    let long_range = fix.msg_type == 27;
    // Speed: tenths of a knot (1023 n/a), or whole knots for type 27 (63 n/a).
    let g_speed = if long_range || !units.scaled() {
        int(&g["speed"])
    } else {
        g["speed"].as_f64().map(|s| (s * 10.0).round() as i64)
    };
    let ours_speed = fix.sog.map(|s| {
        if long_range {
            s.round() as i64
        } else {
            (s * 10.0).round() as i64
        }
    });
    let na_speed = if long_range { 63 } else { 1023 };
    tally.check(
        ctx,
        "speed",
        match ours_speed {
            None => g_speed == Some(na_speed),
            s => s == g_speed,
        },
        format!("{:?}", fix.sog),
        &g["speed"],
    );
    // Course: tenths of a degree (3600 n/a), whole degrees for type 27 (511 n/a).
    let g_course = if long_range || !units.scaled() {
        int(&g["course"])
    } else {
        g["course"].as_f64().map(|c| (c * 10.0).round() as i64)
    };
    let ours_course = fix.cog.map(|c| {
        if long_range {
            c.round() as i64
        } else {
            (c * 10.0).round() as i64
        }
    });
    let course_ok = match ours_course {
        None if long_range => g_course.is_some_and(|c| c >= 360),
        None => g_course.is_some_and(|c| c >= 3600),
        c => c == g_course,
    };
    tally.check(
        ctx,
        "course",
        course_ok,
        format!("{:?}", fix.cog),
        &g["course"],
    );
    if long_range {
        tally.check(
            ctx,
            "status",
            status_eq(fix.nav_status, &g["status"]),
            format!("{:?}", fix.nav_status),
            &g["status"],
        );
        return;
    }
    tally.check(
        ctx,
        "heading",
        match fix.heading {
            None => int(&g["heading"]).is_some_and(|h| h >= 360),
            Some(h) => int(&g["heading"]) == Some(i64::from(h)),
        },
        format!("{:?}", fix.heading),
        &g["heading"],
    );
    tally.check(
        ctx,
        "second",
        match fix.second {
            None => int(&g["second"]).is_some_and(|s| s >= 60),
            Some(s) => int(&g["second"]) == Some(i64::from(s)),
        },
        format!("{:?}", fix.second),
        &g["second"],
    );
    if fix.msg_type <= 3 {
        tally.check(
            ctx,
            "status",
            status_eq(fix.nav_status, &g["status"]),
            format!("{:?}", fix.nav_status),
            &g["status"],
        );
        tally.check(
            ctx,
            "turn",
            turn_eq(fix.turn, &g["turn"], units),
            format!("{:?}", fix.turn),
            &g["turn"],
        );
    }
}

/// Status 15 ("not defined", the default) is `None` here.
fn status_eq(ours: Option<u8>, gpsd: &Value) -> bool {
    match ours {
        None => int(gpsd) == Some(15),
        Some(s) => int(gpsd) == Some(i64::from(s)),
    }
}

/// Rate of turn: gpsd unscaled gives ROT_AIS; scaled gives degrees/min as text, or
/// "fastleft"/"fastright"/"n/a"; libais gives a number or null. We give degrees/min, `None`
/// for all markers.
fn turn_eq(ours: Option<f32>, gpsd: &Value, units: Units) -> bool {
    match (ours, gpsd) {
        (None, Value::Null) => true,
        (None, Value::String(s)) => matches!(s.as_str(), "n/a" | "nan" | "fastleft" | "fastright"),
        (Some(rate), Value::Number(n)) if units == Units::Float32 => n
            .as_f64()
            .is_some_and(|g| (f64::from(rate) - g).abs() <= 1e-3),
        (None, v) => int(v).is_some_and(|r| r.abs() >= 127),
        (Some(rate), Value::String(s)) => s
            .parse::<f64>()
            .is_ok_and(|g| (f64::from(rate) - g).abs() <= 0.005 + 1e-6),
        (Some(rate), v) => int(v).is_some_and(|raw| {
            let expected = (raw as f64 / 4.733).powi(2).copysign(raw as f64);
            (f64::from(rate) - expected).abs() <= 1e-3 * expected.abs().max(1.0)
        }),
    }
}

fn compare_base_station(tally: &mut Tally, ctx: &str, ours: &Ours, g: &Value, units: Units) {
    let Some(AisEvent::ReceiverHeartbeat(h)) = ours.events.first() else {
        tally
            .mismatches
            .push(format!("{ctx}: no receiver heartbeat: {:?}", ours.events));
        return;
    };
    let g_time = g["timestamp"].as_str().and_then(UnixMillis::parse_iso8601);
    tally.check(
        ctx,
        "timestamp",
        h.station_time == g_time,
        format!("{:?}", h.station_time),
        &g["timestamp"],
    );
    let (g_lat, g_lon) = if units.scaled() {
        (
            g["lat"].as_f64().unwrap_or(91.0),
            g["lon"].as_f64().unwrap_or(181.0),
        )
    } else {
        (
            int(&g["lat"]).unwrap_or(0) as f64 / 600_000.0,
            int(&g["lon"]).unwrap_or(0) as f64 / 600_000.0,
        )
    };
    let valid = g_lat.abs() <= 90.0 && g_lon.abs() <= 180.0;
    let tolerance = units.position_tolerance(false);
    let ok = match (h.lat, h.lon) {
        (Some(lat), Some(lon)) => {
            valid && (lat - g_lat).abs() <= tolerance && (lon - g_lon).abs() <= tolerance
        }
        _ => !valid,
    };
    tally.check(
        ctx,
        "lat/lon",
        ok,
        format!("{:?},{:?}", h.lat, h.lon),
        &Value::String(format!("{g_lat},{g_lon}")),
    );
}

fn compare_static(tally: &mut Tally, ctx: &str, ours: &Ours, g: &Value, units: Units) {
    let report = ours.events.iter().find_map(|e| match e {
        AisEvent::VesselReport(r) => Some(r),
        _ => None,
    });
    let Some(r) = report else {
        tally
            .mismatches
            .push(format!("{ctx}: no vessel report: {:?}", ours.events));
        return;
    };
    check_consistent_sizes(tally, ctx, r);
    if g.get("shipname").is_some() {
        let name = if r.msg_type == 24 && r.part == Some(1) {
            // gpsd merges the part A it saw earlier into this record.
            tally.part_a_names.get(&r.mmsi.0).cloned().flatten()
        } else {
            r.name.clone()
        };
        text_field(tally, ctx, r.mmsi, "shipname", &name, &g["shipname"]);
    }
    if r.msg_type == 24 && r.part == Some(0) {
        return;
    }
    tally.check(
        ctx,
        "shiptype",
        int(&g["shiptype"]) == Some(i64::from(r.ship_type.unwrap_or(0))),
        format!("{:?}", r.ship_type),
        &g["shiptype"],
    );
    let dims = [
        ("to_bow", r.to_bow),
        ("to_stern", r.to_stern),
        ("to_port", r.to_port),
        ("to_starboard", r.to_starboard),
    ];
    if g.get("mothership_mmsi").is_none() {
        for (field, ours) in dims {
            tally.check(
                ctx,
                field,
                int(&g[field]) == Some(i64::from(ours.unwrap_or(0))),
                format!("{ours:?}"),
                &g[field],
            );
        }
    }
    if r.msg_type == 19 {
        return;
    }
    text_field(tally, ctx, r.mmsi, "callsign", &r.callsign, &g["callsign"]);
    if r.msg_type != 5 {
        return;
    }
    tally.check(
        ctx,
        "imo",
        int(&g["imo"]) == Some(i64::from(r.imo.unwrap_or(0))),
        format!("{:?}", r.imo),
        &g["imo"],
    );
    let g_draught = if units.scaled() {
        g["draught"].as_f64().map(|d| (d * 10.0).round() as i64)
    } else {
        int(&g["draught"])
    };
    tally.check(
        ctx,
        "draught",
        g_draught == Some(r.draught.map_or(0, |d| (d * 10.0).round() as i64)),
        format!("{:?}", r.draught),
        &g["draught"],
    );
    text_field(
        tally,
        ctx,
        r.mmsi,
        "destination",
        &r.destination,
        &g["destination"],
    );
    // gpsd prints the ETA as sent, "00-00T24:60Z" when not available; libais leaves it out.
    if g.get("eta").is_none() {
        return;
    }
    let g_eta = g["eta"].as_str().unwrap_or("");
    let eta_ok = match &r.eta {
        Some(eta) => eta == g_eta,
        None => g_eta.starts_with("00-") || g_eta.get(3..5) == Some("00"),
    };
    tally.check(ctx, "eta", eta_ok, format!("{:?}", r.eta), &g["eta"]);
}

/// `length` and `beam` are bow + stern and port + starboard whenever those are known.
fn check_consistent_sizes(tally: &mut Tally, ctx: &str, r: &VesselReport) {
    let sum = |a: Option<u16>, b: Option<u16>| match (a, b) {
        (Some(a), Some(b)) if a + b > 0 => Some(a + b),
        _ => None,
    };
    tally.check(
        ctx,
        "length/beam",
        r.length == sum(r.to_bow, r.to_stern) && r.beam == sum(r.to_port, r.to_starboard),
        format!("{:?}/{:?}", r.length, r.beam),
        &Value::Null,
    );
}

/// Decodes one line and returns the message it completed, if any.
fn decode_one(decoder: &mut NmeaDecoder, line: &[u8]) -> Option<Ours> {
    let before = decoder.stats().messages;
    let mut events = Vec::new();
    decoder.decode_line(line, None, &mut events);
    if decoder.stats().messages == before {
        return None;
    }
    let first = events.first()?;
    Some(Ours {
        msg_type: first.msg_type(),
        mmsi: first.mmsi(),
        events,
    })
}

/// A `.log.chk` file: every input line echoed, then gpsd's unscaled JSON for what it
/// completed. Only the first JSON right after an echoed `!` line belongs to it (gpsd re-emits
/// its last AIS record after later non-AIS lines).
fn compare_log_chk(tally: &mut Tally, relative: &str) {
    let text = String::from_utf8_lossy(&read_corpus(relative)).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let mut decoder = NmeaDecoder::new(DecodeOptions::default());
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('{') {
            continue;
        }
        let ours = decode_one(&mut decoder, line.as_bytes());
        if !line.starts_with('!') {
            continue;
        }
        let gpsd = lines
            .get(i + 1)
            .filter(|next| next.starts_with("{\"class\":\"AIS\""))
            .and_then(|next| serde_json::from_str::<Value>(next).ok());
        pair(
            tally,
            &format!("{relative}:{}", i + 1),
            ours,
            gpsd,
            Units::Raw,
        );
    }
}

fn pair(tally: &mut Tally, context: &str, ours: Option<Ours>, gpsd: Option<Value>, units: Units) {
    if let Some(ours) = &ours {
        tally.note_part_a(ours);
        if ours.msg_type == 24 && part_of(ours) == Some(1) {
            let slot = tally
                .gpsd_part_a_ring
                .iter_mut()
                .find(|slot| **slot == Some(ours.mmsi.0));
            let gpsd_had_part_a = slot.map(Option::take).is_some();
            if gpsd.is_none() && !gpsd_had_part_a {
                tally.unpaired_part_b += 1;
                return;
            }
        }
    }
    match (ours, gpsd) {
        (Some(ours), Some(g)) => {
            if INTERPRETED.contains(&g["type"].as_u64().unwrap_or(0)) {
                compare_record(tally, context, &ours, &g, units);
            } else {
                let same = u64::from(ours.msg_type) == g["type"].as_u64().unwrap_or(0)
                    && u64::from(ours.mmsi.0) == g["mmsi"].as_u64().unwrap_or(0);
                tally.check(
                    context,
                    "type/mmsi",
                    same,
                    format!("{}/{}", ours.msg_type, ours.mmsi.0),
                    &g,
                );
            }
        }
        (None, Some(g)) => {
            if INTERPRETED.contains(&g["type"].as_u64().unwrap_or(0)) {
                tally.gpsd_only.push(format!("{context}: {g}"));
            }
        }
        (Some(ours), None) => tally.ours_only.push(format!(
            "{context}: type {} part {:?} mmsi {}",
            ours.msg_type,
            part_of(&ours),
            ours.mmsi.0
        )),
        (None, None) => {}
    }
}

fn part_of(ours: &Ours) -> Option<u8> {
    ours.events.iter().find_map(|e| match e {
        AisEvent::VesselReport(r) => r.part,
        _ => None,
    })
}

/// `sample.aivdm` against `sample.aivdm.js.chk` (scaled JSON, no echo): records are in input
/// order, one per message gpsd printed, so our messages are walked in the same order and
/// paired by type and MMSI.
fn compare_sample_aivdm(tally: &mut Tally) {
    let input = read_corpus("gpsd/sample.aivdm");
    let expected = String::from_utf8_lossy(&read_corpus("gpsd/sample.aivdm.js.chk")).into_owned();
    let mut gpsd: std::collections::VecDeque<Value> = expected
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("gpsd JSON parses"))
        .collect();
    let mut decoder = NmeaDecoder::new(DecodeOptions::default());
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        let Some(ours) = decode_one(&mut decoder, line) else {
            continue;
        };
        let context = format!("gpsd/sample.aivdm:{}", i + 1);
        let matches_next = gpsd.front().is_some_and(|g| {
            g["type"].as_u64() == Some(u64::from(ours.msg_type))
                && g["mmsi"].as_u64() == Some(u64::from(ours.mmsi.0))
        });
        // gpsd never prints a type 24 part A on its own.
        let part_a = ours.msg_type == 24 && part_of(&ours) == Some(0);
        let next = if matches_next && !part_a {
            gpsd.pop_front()
        } else {
            None
        };
        pair(tally, &context, Some(ours), next, Units::Scaled);
    }
    for g in gpsd {
        pair(
            tally,
            "gpsd/sample.aivdm (unmatched)",
            None,
            Some(g),
            Units::Scaled,
        );
    }
}

/// Every record gpsd decodes, of the types we interpret, in all of its test files, agrees with
/// ours field by field.
///
/// Deliberate differences (each is mapped, then compared, in the comparison functions above):
/// - "Not available" values are `None` where gpsd prints the raw marker: lat 91 / lon 181,
///   speed 102.3 (1023), course 360 (3600), heading 511, second 60-63, status 15, turn -128,
///   IMO 0, ship type 0, draught 0, all-zero dimensions, empty text, ETA with month or day 0.
/// - Rate of turn +-127 ("fastright"/"fastleft") has no number, so it is `None` as well.
/// - A position outside the globe (gpsd prints e.g. lat 109.33 for a corrupt type 4) is not a
///   position: `PositionUnavailable` for reports, `None` lat/lon for base stations.
/// - Type 24: gpsd prints nothing for part A and merges its name into the next part B of the
///   same MMSI, holding at most 8 part A; a part B with no part A waiting prints nothing. We
///   emit each part as its own report, so part A's name is compared with gpsd's merged record,
///   and unpaired part B are counted, not compared.
/// - Text: gpsd cuts 6-bit text at the first `@` and keeps leading spaces; we trim `@` and
///   spaces at both ends (see `TEXT_DIFFERENCES` for the one left-padded call sign in the
///   corpus, and `text_eq` for leading spaces).
/// - Length checks: we accept any payload that reaches the last field we read (type 5: the
///   draught, 302 bits, reading the destination as far as it goes; types 1-3: 149 bits) and
///   ignore extra bits. The test asserts that every record gpsd decoded, we decoded too, and
///   that everything we decoded where gpsd printed nothing is explained above.
#[test]
fn every_gpsd_record_of_our_types_matches_field_by_field() {
    let mut tally = Tally::default();
    compare_sample_aivdm(&mut tally);
    for log in [
        "gpsd/ais-18-27.log.chk",
        "gpsd/ais-nmea-type6-fid55.log.chk",
        "gpsd/ais-nmea.log.chk",
        "gpsd/ais-raw-messages.log.chk",
        "gpsd/ais_unpack_sixbit.log.chk",
    ] {
        compare_log_chk(&mut tally, log);
    }
    println!(
        "gpsd: {} records compared, {} fields, {} mismatches, {} gpsd-only, {} ours-only, \
         {} type 24 part B without a part A",
        tally.compared,
        tally.fields,
        tally.mismatches.len(),
        tally.gpsd_only.len(),
        tally.ours_only.len(),
        tally.unpaired_part_b
    );
    assert!(
        tally.compared >= 1_400,
        "too few records compared: {}",
        tally.compared
    );
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches:\n{}",
        tally.mismatches.len(),
        tally.mismatches.join("\n")
    );
    assert!(
        tally.gpsd_only.is_empty(),
        "gpsd decoded messages we did not:\n{}",
        tally.gpsd_only.join("\n")
    );
    // The only messages we decode that gpsd does not print are type 24 part A (merged into
    // part B by gpsd).
    let unexplained: Vec<&String> = tally
        .ours_only
        .iter()
        .filter(|l| !l.contains("type 24 part Some(0)"))
        .collect();
    assert!(
        unexplained.is_empty(),
        "decoded where gpsd did not: {unexplained:#?}"
    );
}

/// libais's `typeexamples.json` holds one scaled record per type but no NMEA, and none of its
/// messages is in `libais/test.aivdm`. Their sentences come from libais's own
/// `typeexamples.nmea`, kept for the interpreted types in `tests/data/libais_typeexamples.nmea`;
/// each record is matched by type and MMSI and compared field by field. Values are
/// single-precision floats there, so positions are compared to 2e-5 degrees.
#[test]
fn libais_type_examples_match_their_test_messages() {
    let examples = String::from_utf8_lossy(&read_corpus("libais/typeexamples.json")).into_owned();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/libais_typeexamples.nmea"
    );
    let input = std::fs::read(fixture).expect("fixture tests/data/libais_typeexamples.nmea");
    let mut decoder = NmeaDecoder::new(DecodeOptions::default());
    let mut ours = Vec::new();
    for line in input.split(|&b| b == b'\n') {
        ours.extend(decode_one(&mut decoder, line));
    }
    let mut tally = Tally::default();
    let mut wanted = 0;
    for line in examples.lines().filter(|l| l.starts_with('{')) {
        let g: Value = serde_json::from_str(line).expect("libais JSON parses");
        let msg_type = g["type"].as_u64().unwrap_or(0);
        if !INTERPRETED.contains(&msg_type) {
            continue;
        }
        wanted += 1;
        let found = ours.iter().find(|o| {
            u64::from(o.msg_type) == msg_type
                && g["mmsi"].as_u64() == Some(u64::from(o.mmsi.0))
                && (msg_type != 24 || g["part_num"].as_u64() == part_of(o).map(u64::from))
        });
        match found {
            Some(o) => compare_record(&mut tally, "libais", o, &g, Units::Float32),
            None => tally
                .gpsd_only
                .push(format!("libais example without a decoded message: {g}")),
        }
    }
    println!(
        "libais: {wanted} examples of our types, {} compared, {} fields, {} mismatches",
        tally.compared,
        tally.fields,
        tally.mismatches.len()
    );
    assert_eq!(
        wanted, 8,
        "one example each of types 1, 2, 3, 4, 5, 18, 24 and 27"
    );
    assert!(tally.gpsd_only.is_empty(), "{:#?}", tally.gpsd_only);
    assert!(tally.mismatches.is_empty(), "{:#?}", tally.mismatches);
    assert_eq!(tally.compared, wanted);
}

// ---------------------------------------------------------------------------------------------
// pyais samples
// ---------------------------------------------------------------------------------------------

/// pyais's clean samples decode without a single refusal.
#[test]
fn pyais_clean_samples_decode_without_rejects() {
    for (file, messages) in [("pyais/ais_test_messages", 7), ("pyais/messages.ais", 6)] {
        let (_, stats) = decode_file(file);
        print_summary(file, &stats);
        assert_eq!(stats.rejected(), 0, "{file}: {:?}", stats.rejects);
        assert_eq!(stats.messages, messages, "{file}");
    }
}

/// `$PGHP` lines time the message whose checksum they name: in pyais's Gatehouse samples the
/// first one does; the second was edited (2008 -> 2009) without fixing its checksum, so it is
/// refused, and the messages after it stay untimed rather than borrowing a stale time.
#[test]
fn pyais_gatehouse_samples_time_only_the_messages_they_name() {
    for file in ["pyais/gatehouse.nmea", "pyais/timestamped.ais"] {
        let (events, stats) = decode_file(file);
        print_summary(file, &stats);
        assert_eq!(stats.messages, 4, "{file}");
        assert_eq!(stats.gatehouse_lines, 4, "{file}");
        assert_eq!(stats.rejects.bad_checksum, 1, "{file}: the edited $PGHP");
        assert_eq!(stats.rejected(), 1, "{file}: {:?}", stats.rejects);
        assert_eq!(
            events[0].time(),
            UnixMillis::from_civil(2008, 5, 9, 0, 0, 0, 10),
            "{file}"
        );
        assert_eq!(events[0].heard().time_source, Some(TimeSource::Gatehouse));
        assert!(events[1..].iter().all(|e| e.time().is_none()), "{file}");
    }
}

/// pyais's mixed file: AIS among other NMEA, comments and junk. The refusals are exactly the
/// junk lines, the tag blocks with one-digit checksums, and the edited `$PGHP`.
#[test]
fn pyais_mixed_file_refuses_only_its_broken_lines() {
    let (_, stats) = decode_file("pyais/mixed.txt");
    print_summary("pyais/mixed.txt", &stats);
    assert_eq!(stats.messages, 10);
    assert_eq!(
        stats.rejects.unknown_line, 2,
        "foobar, IamNotAnAisMessage1111"
    );
    assert_eq!(stats.rejects.bad_tag_block, 3, "checksums written as *A");
    assert_eq!(stats.rejects.bad_checksum, 1, "the edited $PGHP");
    assert_eq!(stats.rejected(), 6, "{:?}", stats.rejects);
}

/// pyais's 898-line capture: its only refusals are the 100 empty payloads
/// (`!AIVDM,1,1,,B,,0*25`) and first fragments whose second fragment is not in the file.
#[test]
fn pyais_capture_refuses_empty_payloads_and_lone_fragments() {
    let text = String::from_utf8_lossy(&read_corpus("pyais/nmea_data_sample.txt")).into_owned();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let empty = lines.iter().filter(|l| l.contains(",,0*")).count() as u64;
    let lone_first = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            l.starts_with("!AIVDM,2,1,")
                && !lines
                    .get(i + 1)
                    .is_some_and(|next| next.starts_with("!AIVDM,2,2,"))
        })
        .count() as u64;
    let (_, stats) = decode_file("pyais/nmea_data_sample.txt");
    print_summary("pyais/nmea_data_sample.txt", &stats);
    assert_eq!(stats.rejects.short_payload, empty);
    assert_eq!(stats.rejects.expired_fragment, lone_first);
    assert_eq!(stats.rejected(), empty + lone_first, "{:?}", stats.rejects);
    assert_eq!(stats.messages + stats.rejected(), stats.sentences);
}

// ---------------------------------------------------------------------------------------------
// Global Fishing Watch edge cases
// ---------------------------------------------------------------------------------------------

/// A group id written `-001` (`g:1-2--001`) is still a group: both fragments join and the
/// type 21 aid-to-navigation report is decoded at fragment 1's time.
#[test]
fn gfw_bad_tagblock_group_still_assembles() {
    let (events, stats) = decode_file("gfw-ais-tools/bad-tagblock-group.nmea");
    print_summary("bad-tagblock-group", &stats);
    assert_eq!(stats.rejected(), 0, "{:?}", stats.rejects);
    assert_eq!(stats.by_type[21], 1);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].time(), Some(UnixMillis::from_secs(1_326_055_296)));
}

/// Each line holds two `\tag\sentence` units (the two fragments of a type 5); they are split
/// and assembled. Two of the three payloads are short of the 424 bits of the layout (400 and
/// 420 bits): their identity fields are intact, so they are decoded, the destination as far as
/// it goes. The message takes fragment 1's time even where fragment 2's tag block says a
/// second earlier. The last three lines are bare payloads: unknown lines.
#[test]
fn gfw_bad_type5_concatenated_units_decode() {
    let (events, stats) = decode_file("gfw-ais-tools/bad-type5.nmea");
    print_summary("bad-type5", &stats);
    assert_eq!(stats.sentences, 6);
    assert_eq!(stats.by_type[5], 3);
    assert_eq!(stats.rejects.unknown_line, 3);
    assert_eq!(stats.rejected(), 3, "{:?}", stats.rejects);
    let reports: Vec<&VesselReport> = events
        .iter()
        .filter_map(|e| match e {
            AisEvent::VesselReport(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 3);
    assert_eq!(
        reports[0].heard.time,
        Some(UnixMillis::from_secs(1_698_785_948))
    );
    assert_eq!(reports[0].heard.station.as_deref(), Some("rMT2083"));
    assert!(reports
        .iter()
        .all(|r| r.name.is_some() && r.ship_type.is_some()));
}

/// exactEarth multi-line groups (`g:1-2-1278` then `g:2-2-1278`, the second without `c:` or
/// `s:`): every message is decoded, timed and placed by its first fragment.
#[test]
fn gfw_ee_multiline_groups_take_the_first_fragments_tags() {
    let (events, stats) = decode_file("gfw-ais-tools/ee-multiline.nmea");
    print_summary("ee-multiline", &stats);
    assert_eq!(stats.rejected(), 0, "{:?}", stats.rejects);
    assert_eq!(stats.messages, 8);
    assert_eq!(stats.by_type[5], 2);
    let type5: Vec<&AisEvent> = events.iter().filter(|e| e.msg_type() == 5).collect();
    assert_eq!(type5[0].time(), Some(UnixMillis::from_secs(1_661_782_369)));
    assert_eq!(type5[1].time(), Some(UnixMillis::from_secs(1_661_782_458)));
    assert!(events
        .iter()
        .all(|e| e.heard().station.as_deref() == Some("66")
            && e.heard().time_source == Some(TimeSource::TagBlock)));
}

/// Truncated payloads that kept their original checksum are refused by the checksum; the
/// intact sentences around them decode.
#[test]
fn gfw_errors_truncations_fail_the_checksum() {
    let (_, stats) = decode_file("gfw-ais-tools/errors.nmea");
    print_summary("errors", &stats);
    assert_eq!(stats.sentences, 5);
    assert_eq!(stats.rejects.bad_checksum, 2);
    assert_eq!(stats.messages, 3);
    assert_eq!(stats.rejected(), 2);
}

/// Every message of the mixed-type and multi-part samples decodes: as many messages as the
/// files have final fragments, nothing refused, and a type 19 gives a fix and a report.
#[test]
fn gfw_mixed_types_and_multi_part_decode_completely() {
    for file in [
        "gfw-ais-tools/mixed_types.nmea",
        "gfw-ais-tools/multi-part.nmea",
    ] {
        let text = String::from_utf8_lossy(&read_corpus(file)).into_owned();
        let finals = text
            .lines()
            .filter(|l| {
                let f: Vec<&str> = l.split(',').collect();
                f.len() > 2 && f[0].ends_with("VDM") && f[1] == f[2]
            })
            .count() as u64;
        let (events, stats) = decode_file(file);
        print_summary(file, &stats);
        assert_eq!(stats.rejected(), 0, "{file}: {:?}", stats.rejects);
        assert_eq!(stats.messages, finals, "{file}");
        assert_eq!(
            events.len() as u64,
            stats.messages + stats.by_type[19],
            "{file}"
        );
    }
    let (_, stats) = decode_file("gfw-ais-tools/multi-part.nmea");
    assert!(
        stats.by_type[12] > 0 && stats.by_type[14] > 0,
        "3-part messages"
    );
}

/// Spire's tag blocks carry `*00` for a checksum, a placeholder: read unchecked and counted
/// (refusing them dropped every message of the feed), so the first line's two fragments
/// assemble into their type 5, timed and named by their blocks. The second line's second
/// block calls itself fragment 2 of 1 (`g:2-1-1`): refused, and its first fragment expires.
#[test]
fn gfw_spire_placeholder_checksums_are_read_and_counted() {
    let (events, stats) = decode_file("gfw-ais-tools/spire-test.nmea");
    print_summary("spire-test", &stats);
    assert_eq!(stats.sentences, 4);
    assert_eq!(stats.tag_block_checksum_placeholder, 3);
    assert_eq!(stats.rejects.bad_tag_block, 1);
    assert_eq!(stats.rejects.expired_fragment, 1);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].msg_type(), 5);
    assert_eq!(events[0].time(), Some(UnixMillis::from_secs(1_662_052_384)));
    assert_eq!(events[0].heard().station.as_deref(), Some("FM112"));
}

/// Position reports with 186 bits instead of 168: all the fields are there and plausible, so
/// they are decoded and the extra bits ignored.
#[test]
fn gfw_overlong_position_reports_decode() {
    let (events, stats) = decode_file("gfw-ais-tools/type1-bad-bitcount.nmea");
    print_summary("type1-bad-bitcount", &stats);
    assert_eq!(stats.rejected(), 0);
    assert_eq!(events.len(), 12);
    for event in &events {
        let AisEvent::Fix(fix) = event else {
            panic!("expected a fix: {event:?}");
        };
        // The Eastern Mediterranean, where these receivers are.
        assert!(
            (30.0..46.0).contains(&fix.lat) && (10.0..36.0).contains(&fix.lon),
            "{fix:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Timing and robustness
// ---------------------------------------------------------------------------------------------

/// Decodes a tag-blocked corpus line by line, checking that every event is timed by its
/// line's `c:` (fragment 1's for a two-part message); the events so timed and the stats.
fn decode_timed_by_tag_blocks(relative: &str) -> (u64, DecodeStats) {
    let text = String::from_utf8_lossy(&read_corpus(relative)).into_owned();
    let mut decoder = NmeaDecoder::new(DecodeOptions::default());
    let mut first_fragment_time = None;
    let mut timed = 0;
    for line in text.lines() {
        let c = line
            .split(['\\', ',', '*'])
            .find_map(|f| f.strip_prefix("c:"))
            .and_then(|v| v.parse::<i64>().ok())
            .map(UnixMillis::from_secs);
        if line.contains("VDM,2,1,") {
            first_fragment_time = c;
        }
        let expected = if line.contains("VDM,2,2,") {
            first_fragment_time
        } else {
            c
        };
        let mut events = Vec::new();
        decoder.decode_line(line.as_bytes(), None, &mut events);
        for event in &events {
            assert_eq!(event.time(), expected, "{line}");
            assert_eq!(event.heard().time_source, Some(TimeSource::TagBlock));
            timed += 1;
        }
    }
    let stats = decoder.stats().clone();
    print_summary(relative, &stats);
    (timed, stats)
}

/// The Norwegian feed: every event is timed by its line's `c:` (fragment 1's for type 5), and
/// the grouped tag blocks whose checksum leaves out `g:` are accepted and counted.
#[test]
fn kystverket_events_carry_their_tag_block_time() {
    let (timed, stats) = decode_timed_by_tag_blocks("kystverket/Ais1000Lines.nm4");
    assert_eq!(stats.rejected(), 0, "{:?}", stats.rejects);
    assert_eq!(timed, stats.events);
    assert_eq!(stats.messages, 877);
    assert_eq!(stats.tag_block_group_unchecked, 246);
    assert_eq!(stats.by_type[5], 123, "every type 5 pair assembles");
}

/// AMSA's timestamped log states `*00` for every tag block's checksum (its writer computes
/// none): every line decodes, timed by its own `c:`, and each placeholder is counted.
#[test]
fn amsa_tag_blocks_with_a_placeholder_checksum_are_read_and_counted() {
    let text = String::from_utf8_lossy(&read_corpus("amsa/nmea-timestamped.txt")).into_owned();
    assert!(text.lines().all(|line| line.contains("*00\\")));
    let (timed, stats) = decode_timed_by_tag_blocks("amsa/nmea-timestamped.txt");
    assert_eq!(stats.rejected(), 0, "{:?}", stats.rejects);
    assert_eq!(stats.lines, 100);
    assert_eq!(stats.tag_block_checksum_placeholder, 100);
    assert_eq!(timed, 100);
}

/// The noisy national-network log: most sentences decode (the `=I` receiver's too), only
/// line noise that is no sentence at all is an unknown line, every `$` line is skipped, and
/// other refusals are rare.
#[test]
fn amsa_noisy_log_gives_a_plausible_summary() {
    let text = String::from_utf8_lossy(&read_corpus("amsa/ais.txt")).into_owned();
    // `!=IV>l,0*1C` and `!=IV00008FLF?l<dI1qkoP0<1:,0*23`: a talker and no sentence name.
    let noise = text
        .lines()
        .filter(|l| l.starts_with("!=IV") && !l.starts_with("!=IVD"))
        .count() as u64;
    let dollar = text
        .lines()
        .filter(|l| l.starts_with('$') && !l.starts_with("$PGHP"))
        .count() as u64;
    let (events, stats) = decode_file("amsa/ais.txt");
    print_summary("amsa/ais.txt", &stats);
    assert_eq!(stats.lines, 44_687);
    assert_eq!(noise, 2);
    assert_eq!(stats.rejects.unknown_line, noise);
    assert!(stats.non_ais_lines >= dollar);
    assert!(
        stats.messages * 100 >= stats.sentences * 99,
        "{} of {} sentences decoded",
        stats.messages,
        stats.sentences
    );
    let other_rejects = stats.rejected() - stats.rejects.unknown_line;
    assert!(
        other_rejects * 1000 < stats.sentences,
        "{:?}",
        stats.rejects
    );
    assert!(stats.by_type[1] > 15_000 && stats.by_type[5] > 1_000 && stats.by_type[4] > 5_000);
    // Its time sentences time the messages, so the copies relayed by a second talker within
    // seconds are found: every copy is still decoded and counted, only the first is passed on.
    let every_copy = DecodeOptions {
        duplicate_window_ms: 0,
        ..DecodeOptions::default()
    };
    let (all_events, all_stats) = decode_file_with("amsa/ais.txt", every_copy);
    let fixes = |events: &[AisEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, AisEvent::Fix(_)))
            .count()
    };
    assert!(fixes(&all_events) > 20_000, "{} fixes", fixes(&all_events));
    assert_eq!(all_stats.duplicates, 0);
    assert_eq!(all_stats.messages, stats.messages);
    assert!(stats.duplicates > 0);
    assert_eq!(
        all_events.len() - events.len(),
        stats.duplicates as usize,
        "each duplicate is one event held back"
    );
}

/// Every file in the corpora decodes without panicking; the counts are printed
/// (`cargo test -- --nocapture`) and always add up.
#[test]
fn every_corpus_file_decodes_without_panic() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(corpus("")).expect("corpora folder lists") {
        let dir = dir.expect("corpora entry").path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("corpus folder lists") {
            files.push(file.expect("corpus entry").path());
        }
    }
    files.sort();
    assert!(
        files.len() > 30,
        "expected the whole corpora, found {}",
        files.len()
    );
    for path in files {
        let bytes = std::fs::read(&path).expect("corpus file is readable");
        let mut decoder = NmeaDecoder::new(DecodeOptions::default());
        let mut events = Vec::new();
        let mut lines = 0;
        for line in bytes.split(|&b| b == b'\n') {
            decoder.decode_line(line, None, &mut events);
            lines += 1;
        }
        decoder.finish();
        let stats = decoder.stats();
        print_summary(&path.display().to_string(), stats);
        assert_eq!(stats.lines, lines);
        assert_eq!(stats.events, events.len() as u64);
        assert_eq!(decoder.pending_groups(), 0);
        assert!(stats.messages <= stats.sentences);
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const BOUND: usize = 4;

    fn real_sentences() -> Vec<Vec<u8>> {
        [
            "gfw-ais-tools/multi-part.nmea",
            "gfw-ais-tools/bad-type5.nmea",
            "kystverket/Ais1000Lines.nm4",
            "dma-aislib/small_cb_example.txt",
            "libais/test.aivdm",
        ]
        .iter()
        .flat_map(|f| {
            read_corpus(f)
                .split(|&b| b == b'\n')
                .take(120)
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        FlipBit(usize, u8),
        Truncate(usize),
        Insert(usize, u8),
        Remove(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
            any::<usize>().prop_map(Mutation::Truncate),
            (
                any::<usize>(),
                prop::sample::select(vec![b',', b'\\', b'*', b'!', b'0', b'w'])
            )
                .prop_map(|(i, c)| Mutation::Insert(i, c)),
            any::<usize>().prop_map(Mutation::Remove),
        ]
    }

    fn apply(line: &mut Vec<u8>, m: &Mutation) {
        if line.is_empty() {
            return;
        }
        match *m {
            Mutation::FlipBit(i, bit) => {
                let i = i % line.len();
                line[i] ^= 1 << bit;
            }
            Mutation::Truncate(i) => line.truncate(i % line.len()),
            Mutation::Insert(i, c) => {
                let i = i % (line.len() + 1);
                line.insert(i, c);
            }
            Mutation::Remove(i) => {
                let i = i % line.len();
                line.remove(i);
            }
        }
    }

    fn small_decoder() -> NmeaDecoder {
        NmeaDecoder::new(DecodeOptions {
            max_pending_groups: BOUND,
            ..DecodeOptions::default()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..40)) {
            let mut decoder = small_decoder();
            let mut events = Vec::new();
            for line in &lines {
                decoder.decode_line(line, Some(UnixMillis(0)), &mut events);
                prop_assert!(decoder.pending_groups() <= BOUND);
            }
            prop_assert_eq!(decoder.stats().lines, lines.len() as u64);
        }

        #[test]
        fn mutated_real_sentences_never_panic(
            picks in prop::collection::vec((any::<prop::sample::Index>(), prop::collection::vec(mutation(), 0..4)), 1..60)
        ) {
            let corpus = real_sentences();
            let mut decoder = small_decoder();
            let mut events = Vec::new();
            for (index, mutations) in &picks {
                let mut line = index.get(&corpus).clone();
                for m in mutations {
                    apply(&mut line, m);
                }
                decoder.decode_line(&line, None, &mut events);
                prop_assert!(decoder.pending_groups() <= BOUND);
            }
            prop_assert_eq!(decoder.stats().events, events.len() as u64);
            decoder.finish();
            prop_assert_eq!(decoder.pending_groups(), 0);
        }
    }

    /// Many interleaved first fragments never hold more than the bound; the overflow is counted.
    #[test]
    fn pending_groups_stay_bounded_and_overflow_is_counted() {
        let mut decoder = small_decoder();
        let mut events = Vec::new();
        for line in read_corpus("pyais/nmea_data_sample.txt").split(|&b| b == b'\n') {
            decoder.decode_line(line, None, &mut events);
            assert!(decoder.pending_groups() <= BOUND);
        }
        let expired_before_finish = decoder.stats().rejects.expired_fragment;
        decoder.finish();
        assert!(expired_before_finish >= 20 - BOUND as u64);
        assert_eq!(decoder.stats().rejects.expired_fragment, 20);
        assert_eq!(decoder.stats().rejects.get(Reject::ExpiredFragment), 20);
    }
}

// ---------------------------------------------------------------------------------------------
// The `aisgap decode` command
// ---------------------------------------------------------------------------------------------

mod command {
    use super::*;
    use aisgap::cli::{DecodeArgs, RecordFormat};
    use aisgap::offline::decode::{run, CSV_HEADER};

    fn args(files: Vec<PathBuf>, format: RecordFormat, summary: bool) -> DecodeArgs {
        DecodeArgs {
            files,
            format,
            summary,
            station: None,
            max_line_length: DEFAULT_MAX_LINE,
            csv_map: None,
        }
    }

    /// JSON lines: one parseable record per event, with the sender's station kind; the summary
    /// names every refusal reason.
    #[test]
    fn jsonl_writes_one_record_per_event_and_a_summary() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let files = vec![
            corpus("gfw-ais-tools/ee-multiline.nmea"),
            corpus("pyais/mixed.txt"),
        ];
        let stats =
            run(&args(files, RecordFormat::Jsonl, false), &mut out, &mut err).expect("decode runs");
        let records: Vec<Value> = String::from_utf8(out)
            .expect("UTF-8 output")
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(records.len() as u64, stats.events);
        assert_eq!(stats.lines, 10 + 35);
        assert!(records
            .iter()
            .all(|r| r["station_kind"].is_string() && r["kind"].is_string()));
        assert_eq!(records[0]["time"], "2022-08-29T14:14:34Z");
        let summary = String::from_utf8(err).expect("UTF-8 summary");
        print!("{summary}");
        for reason in Reject::ALL {
            assert!(summary.contains(reason.name()), "{summary}");
        }
        assert!(summary.contains("decoded 2 file(s): 45 lines"), "{summary}");
    }

    /// Cells of a CSV row, commas inside double quotes not counting.
    fn cells(row: &str) -> usize {
        let mut quoted = false;
        1 + row
            .chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == ',' && !quoted
            })
            .count()
    }

    /// CSV: the header, then one row per event with as many cells as the header.
    #[test]
    fn csv_rows_follow_the_header() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let files = vec![corpus("gfw-ais-tools/mixed_types.nmea")];
        let stats =
            run(&args(files, RecordFormat::Csv, false), &mut out, &mut err).expect("decode runs");
        let text = String::from_utf8(out).expect("UTF-8 output");
        let mut rows = text.lines();
        assert_eq!(rows.next(), Some(CSV_HEADER));
        let columns = CSV_HEADER.split(',').count();
        let mut count = 0;
        let mut quoted_cells = 0;
        for row in rows {
            assert_eq!(cells(row), columns, "{row}");
            quoted_cells += usize::from(row.contains('"'));
            count += 1;
        }
        assert!(quoted_cells > 0, "a destination with a comma is quoted");
        assert_eq!(count, stats.events);
    }

    /// `--summary` writes no records; a gzip copy decodes exactly like the plain file; an
    /// over-long line is counted, not decoded.
    #[test]
    fn summary_only_gzip_input_and_line_limit() {
        use std::io::Write;
        let plain = corpus("kystverket/Ais1000Lines.nm4");
        let dir = tempfile::tempdir().expect("temporary directory");
        let gz = dir.path().join("feed.nm4.gz");
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).expect("create gz"),
            flate2::Compression::fast(),
        );
        encoder
            .write_all(&read_corpus("kystverket/Ais1000Lines.nm4"))
            .expect("write gz");
        encoder.finish().expect("finish gz");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let from_plain = run(
            &args(vec![plain], RecordFormat::Jsonl, true),
            &mut out,
            &mut err,
        )
        .expect("plain decodes");
        let from_gz = run(
            &args(vec![gz], RecordFormat::Jsonl, true),
            &mut out,
            &mut err,
        )
        .expect("gzip decodes");
        assert!(out.is_empty(), "--summary writes no records");
        assert_eq!(from_plain, from_gz);
        let mut short = args(
            vec![corpus("kystverket/Ais1000Lines.nm4")],
            RecordFormat::Jsonl,
            true,
        );
        short.max_line_length = 60;
        let limited = run(&short, &mut out, &mut err).expect("decodes with a limit");
        assert!(limited.rejects.line_too_long > 0);
        assert_eq!(limited.lines, from_plain.lines);
        assert!(limited.messages < from_plain.messages);
    }

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let missing = PathBuf::from("/nonexistent/feed.nmea");
        let error = run(
            &args(vec![missing], RecordFormat::Jsonl, false),
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .expect_err("a missing file fails");
        assert!(
            error.to_string().contains("/nonexistent/feed.nmea"),
            "{error}"
        );
    }
}
