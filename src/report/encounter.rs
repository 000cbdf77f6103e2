//! The report of one encounter at sea as one self-contained HTML page an analyst can hand on:
//! both tracks around the meeting on a map with the meeting segment, the distance between
//! the two over time, both identities, both draughts before and after with the cargo
//! estimate worked through, where and when, what became of the judgement, and the
//! fingerprint of what judged. No network, no script; it prints on A4.

use std::fmt::Write;

use super::html::{
    bounds_of, end_page, escape, fingerprint_table, fixed, or_dash, points, scale_bar, section,
    CargoWorking, Projection, STYLE,
};
use crate::detect::at_sea::EpisodeStatus;
use crate::detect::encounters::{EncounterRecord, EncounterSide};
use crate::detect::DetectParams;
use crate::engine::provenance::Fingerprint;
use crate::model::Mmsi;
use crate::ports::{haversine_nm, METRES_PER_NM};
use crate::store::at_sea::AtSeaFilter;
use crate::store::read::IdentityAt;
use crate::store::{Reader, StoreError};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};
use crate::track::{Identity, TrackPoint};

/// Hours of both tracks shown before the meeting began and after it ended.
const TRACK_MARGIN_HOURS: f64 = 6.0;
/// Hours either side of the meeting on the closer map.
const DETAIL_MARGIN_HOURS: f64 = 0.5;
/// Two stored track points further apart than this are not interpolated between: the
/// distance is not known in a silence.
const MAX_INTERPOLATION_MS: i64 = 2 * MILLIS_PER_HOUR;

/// Which encounter: a vessel of it and its start, and the other vessel when two encounters of
/// that vessel start at the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncounterKey {
    pub mmsi: Mmsi,
    pub start: UnixMillis,
    pub with: Option<Mmsi>,
}

impl EncounterKey {
    /// `MMSI@TIME` (TIME the start as `aisgap query encounters` shows it, or Unix seconds),
    /// and the other vessel's MMSI when one is given.
    pub fn parse(text: &str, with: Option<&str>) -> Result<EncounterKey, EncounterReportError> {
        let bad = || EncounterReportError::BadKey(text.to_string());
        let (mmsi, time) = text.split_once('@').ok_or_else(bad)?;
        let mmsi = mmsi.trim().parse::<u32>().map_err(|_| bad())?;
        let start = UnixMillis::parse_user(time.trim()).ok_or_else(bad)?;
        let with = match with {
            Some(other) => {
                Some(Mmsi(other.trim().parse::<u32>().map_err(|_| {
                    EncounterReportError::BadWith(other.to_string())
                })?))
            }
            None => None,
        };
        Ok(EncounterKey {
            mmsi: Mmsi(mmsi),
            start,
            with,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncounterReportError {
    #[error("{0:?} does not name an encounter: write MMSI@TIME, TIME being the start as `aisgap query encounters` shows it (273617148@2024-03-09T11:00:00Z)")]
    BadKey(String),
    #[error("{0:?} is not an MMSI: the other vessel of the encounter is named by its MMSI")]
    BadWith(String),
    #[error("no encounter of vessel {mmsi}{} starts at {start} in this database (`aisgap query encounters --mmsi {mmsi}` lists its encounters)", with.map_or_else(String::new, |w| format!(" with {w}")))]
    NotFound {
        mmsi: Mmsi,
        start: UnixMillis,
        with: Option<Mmsi>,
    },
    #[error("vessel {mmsi} has {} encounters starting at {start}, with {}: name the other vessel (`--with MMSI`; in the API, /api/v1/report/encounter/{mmsi}/TIME/MMSI)", partners.len(), partners.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(" and "))]
    Ambiguous {
        mmsi: Mmsi,
        start: UnixMillis,
        partners: Vec<Mmsi>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything the store holds about one encounter, gathered for the page.
#[derive(Clone, Debug)]
pub struct EncounterEvidence {
    pub record: EncounterRecord,
    /// Each vessel's stored track around the meeting, in the record's order (a, b).
    pub tracks: [Vec<TrackPoint>; 2],
    /// Each vessel's identity history, in the same order.
    pub identities: [Vec<IdentityAt>; 2],
    /// The distance between the two over time, from their stored tracks (metres).
    pub distances: Vec<(UnixMillis, f64)>,
    pub fingerprint: Option<Fingerprint>,
    /// The settings of the fingerprint, when they can be read back.
    pub params: Option<DetectParams>,
    pub stream_clock: Option<UnixMillis>,
}

/// Reads what the page shows about the encounter `key` names.
pub fn gather(
    reader: &Reader,
    key: EncounterKey,
) -> Result<EncounterEvidence, EncounterReportError> {
    let found: Vec<EncounterRecord> = reader
        .encounters(&AtSeaFilter {
            mmsi: Some(key.mmsi),
            since: Some(key.start),
            until: Some(UnixMillis(key.start.as_millis() + 1)),
            ..AtSeaFilter::default()
        })?
        .into_iter()
        .filter(|e| key.with.is_none_or(|w| partner(e, key.mmsi) == w))
        .collect();
    let record = match found.len() {
        0 => {
            return Err(EncounterReportError::NotFound {
                mmsi: key.mmsi,
                start: key.start,
                with: key.with,
            })
        }
        1 => found.into_iter().next().expect("one encounter"),
        _ => {
            return Err(EncounterReportError::Ambiguous {
                mmsi: key.mmsi,
                start: key.start,
                partners: found.iter().map(|e| partner(e, key.mmsi)).collect(),
            })
        }
    };
    let since = record.start.plus_hours(-TRACK_MARGIN_HOURS);
    let until = record.end.plus_hours(TRACK_MARGIN_HOURS);
    let mut tracks: [Vec<TrackPoint>; 2] = Default::default();
    let mut identities: [Vec<IdentityAt>; 2] = Default::default();
    for (i, side) in [&record.a, &record.b].into_iter().enumerate() {
        if let Some(v) = reader.vessel(side.vessel.mmsi, Some(since), Some(until))? {
            tracks[i] = v.track;
            identities[i] = v.identity_history;
        }
    }
    let print =
        reader.encounter_fingerprint(record.a.vessel.mmsi, record.b.vessel.mmsi, record.start)?;
    let fingerprint = match print {
        Some(id) => reader.fingerprint(&id)?,
        None => None,
    };
    let params = fingerprint
        .as_ref()
        .and_then(|f| serde_json::from_str::<DetectParams>(&f.detect).ok());
    Ok(EncounterEvidence {
        distances: distances(&tracks[0], &tracks[1]),
        stream_clock: reader.stream_clock()?,
        record,
        tracks,
        identities,
        fingerprint,
        params,
    })
}

/// The other vessel of `e` than `mmsi`.
fn partner(e: &EncounterRecord, mmsi: Mmsi) -> Mmsi {
    if e.a.vessel.mmsi == mmsi {
        e.b.vessel.mmsi
    } else {
        e.a.vessel.mmsi
    }
}

/// Where `track` was at `time`, between its two nearest points (never across a silence).
fn position_at(track: &[TrackPoint], time: UnixMillis) -> Option<(f64, f64)> {
    let after = track.partition_point(|p| p.time < time);
    let next = track.get(after)?;
    if next.time == time {
        return Some((next.lat, next.lon));
    }
    let prev = track.get(after.checked_sub(1)?)?;
    let span = next.time.as_millis() - prev.time.as_millis();
    if span > MAX_INTERPOLATION_MS {
        return None;
    }
    let f = (time.as_millis() - prev.time.as_millis()) as f64 / span as f64;
    Some((
        prev.lat + (next.lat - prev.lat) * f,
        prev.lon + (next.lon - prev.lon) * f,
    ))
}

/// The distance between the two tracks at each time either has a point (the other's position
/// interpolated), metres, in time order.
pub fn distances(a: &[TrackPoint], b: &[TrackPoint]) -> Vec<(UnixMillis, f64)> {
    let mut times: Vec<UnixMillis> = a.iter().chain(b).map(|p| p.time).collect();
    times.sort_unstable();
    times.dedup();
    times
        .into_iter()
        .filter_map(|t| {
            let (alat, alon) = position_at(a, t)?;
            let (blat, blon) = position_at(b, t)?;
            Some((t, haversine_nm(alat, alon, blat, blon) * METRES_PER_NM))
        })
        .collect()
}

/// The report of the encounter `key` names, as one HTML page.
pub fn report(reader: &Reader, key: EncounterKey) -> Result<String, EncounterReportError> {
    Ok(render(&gather(reader, key)?))
}

fn label(side: &EncounterSide) -> String {
    format!(
        "{} ({})",
        side.vessel.name.as_deref().unwrap_or("unnamed vessel"),
        side.vessel.mmsi
    )
}

/// The page.
pub fn render(e: &EncounterEvidence) -> String {
    let r = &e.record;
    let mut out = String::with_capacity(48 * 1024);
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} and {} from {}: aisgap encounter report</title><style>{STYLE}</style></head><body>",
        escape(&label(&r.a)),
        escape(&label(&r.b)),
        r.start
    );
    summary(&mut out, e);
    let overview = map(e, "encounter-map", TRACK_MARGIN_HOURS);
    section(&mut out, "map", "Map", &overview);
    let detail = map(e, "meeting-map", DETAIL_MARGIN_HOURS);
    section(&mut out, "meeting", "The meeting, closer", &detail);
    section(
        &mut out,
        "distance",
        "Distance over time",
        &distance_chart(e),
    );
    section(&mut out, "identity", "Both vessels", &identities(e));
    section(
        &mut out,
        "draught",
        "Draughts before and after",
        &draughts(e),
    );
    section(&mut out, "cargo", "Cargo estimate", &cargo(e));
    section(&mut out, "history", "Judgement", &judgement(e));
    section(&mut out, "fingerprint", "What judged", &fingerprint(e));
    end_page(&mut out, e.stream_clock);
    out
}

fn summary(out: &mut String, e: &EncounterEvidence) {
    let r = &e.record;
    let _ = writeln!(
        out,
        "<h1>Encounter: {} and {}</h1>\n\
         <p><span class=\"status\" id=\"status\">{}</span> at sea, {} from the nearest designated port{}</p>\n\
         <table class=\"facts\"><tr><th>start</th><td id=\"start\">{}</td><th>end</th><td id=\"end\">{}</td></tr>\
         <tr><th>duration</th><td class=\"num\" id=\"duration\">{} h</td><th>where (mean midpoint)</th><td id=\"where\">{:.4}, {:.4}</td></tr>\
         <tr><th>closest</th><td class=\"num\" id=\"min-distance\">{} m</td><th>median distance</th><td class=\"num\" id=\"median-distance\">{} m</td></tr>\
         <tr><th>median speed</th><td class=\"num\">{} kn</td><th>common times judged</th><td class=\"num\">{}</td></tr>\
         <tr><th>estimated cargo</th><td class=\"num\" id=\"barrels\">{} bbl</td><th>receiving</th><td id=\"receiving\">{}</td></tr></table>",
        escape(&label(&r.a)),
        escape(&label(&r.b)),
        r.status.as_str(),
        r.port_distance_nm.map_or_else(|| "far".to_string(), |d| format!("{d:.1} nm")),
        r.nearest_port.as_deref().map_or_else(String::new, |p| format!(" ({})", escape(p))),
        r.start,
        r.end,
        fixed(Some(r.duration_hours), 1),
        r.lat,
        r.lon,
        fixed(Some(r.min_distance_m), 0),
        fixed(Some(r.median_distance_m), 0),
        fixed(Some(r.median_speed_kn), 1),
        r.samples,
        fixed(r.est_barrels, 0),
        or_dash(r.receiving),
    );
}

const COLOURS: [&str; 2] = ["#246", "#a3c"];

// Long by design: one SVG drawn layer by layer (both tracks, their parts during the meeting,
// the meeting segment, the marks and labels), each a few lines sharing one projection.
fn map(e: &EncounterEvidence, id: &str, margin_hours: f64) -> String {
    let r = &e.record;
    let (from, to) = (
        r.start.plus_hours(-margin_hours),
        r.end.plus_hours(margin_hours),
    );
    let tracks: Vec<Vec<&TrackPoint>> = e
        .tracks
        .iter()
        .map(|t| {
            t.iter()
                .filter(|p| p.time >= from && p.time <= to)
                .collect()
        })
        .collect();
    let mut lats = vec![r.start_lat, r.end_lat, r.lat];
    let mut lons = vec![r.start_lon, r.end_lon, r.lon];
    for p in tracks.iter().flatten() {
        lats.push(p.lat);
        lons.push(p.lon);
    }
    let (w, h) = (720.0, 460.0);
    let p = Projection::fit(bounds_of(&lats, &lons, 0.002), w, h, 24.0);
    let mut svg = format!(
        "<svg id=\"{id}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Map of both tracks around the meeting and the meeting segment\">\
         <rect width=\"{w}\" height=\"{h}\" fill=\"#eef4fa\"/>"
    );
    let during = |t: &TrackPoint| t.time >= r.start && t.time <= r.end;
    for (i, track) in tracks.iter().enumerate() {
        let colour = COLOURS[i];
        if track.len() > 1 {
            let _ = write!(
                svg,
                "<polyline class=\"track-{i}\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.2\" stroke-opacity=\"0.7\"/>",
                points(&p, track.iter().map(|t| (t.lat, t.lon)))
            );
        }
        let meeting: Vec<&TrackPoint> = track.iter().copied().filter(|t| during(t)).collect();
        if meeting.len() > 1 {
            let _ = write!(
                svg,
                "<polyline class=\"meeting-track-{i}\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"3\"/>",
                points(&p, meeting.iter().map(|t| (t.lat, t.lon)))
            );
        }
        if let Some(first) = track.first() {
            let (x, y) = p.xy(first.lat, first.lon);
            let side = if i == 0 { &r.a } else { &r.b };
            let (dx, anchor) = if x > w / 2.0 {
                (-7.0, "end")
            } else {
                (7.0, "start")
            };
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"{colour}\" text-anchor=\"{anchor}\">{} {}</text>",
                x + dx,
                y + if i == 0 { -6.0 } else { 14.0 },
                escape(&label(side)),
                first.time
            );
        }
    }
    let _ = write!(
        svg,
        "<polyline class=\"meeting-segment\" points=\"{}\" fill=\"none\" stroke=\"#c00\" stroke-width=\"4\" stroke-linecap=\"round\" stroke-opacity=\"0.8\"/>",
        points(&p, [(r.start_lat, r.start_lon), (r.end_lat, r.end_lon)].into_iter())
    );
    let (x, y) = p.xy(r.lat, r.lon);
    let _ = write!(
        svg,
        "<circle class=\"meeting-point\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"none\" stroke=\"#c00\" stroke-width=\"2\"/>"
    );
    svg.push_str(&scale_bar(&p, w, h));
    svg.push_str("</svg>");
    let legend = format!(
        "<p class=\"muted\">Thin: each vessel's stored track {margin_hours} h either side of the meeting \
         (<span style=\"color:{}\">{}</span>, <span style=\"color:{}\">{}</span>); thick: the same during the meeting. \
         Red: the meeting segment, from the midpoint between the two at the first close common time to that at the last; \
         the red ring is the mean midpoint. North up.</p>",
        COLOURS[0],
        escape(&label(&r.a)),
        COLOURS[1],
        escape(&label(&r.b))
    );
    format!("{svg}\n{legend}\n")
}

/// The median of `values` (the lower of the two middle ones), if any.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[(values.len() - 1) / 2])
}

// Long by design: one chart (meeting window, line, min and median rules, axes) sharing scales.
fn distance_chart(e: &EncounterEvidence) -> String {
    let r = &e.record;
    if e.distances.len() < 2 {
        return "<p>The stored tracks do not overlap enough to draw the distance between the two.</p>\n".into();
    }
    let (t0, t1) = (e.distances[0].0, e.distances[e.distances.len() - 1].0);
    let span = (t1.as_millis() - t0.as_millis()).max(1) as f64;
    // Metres on a logarithmic scale: a meeting a few hundred metres apart and the tens of
    // kilometres before and after it are both readable.
    let peak = e
        .distances
        .iter()
        .map(|(_, d)| *d)
        .fold(r.median_distance_m, f64::max)
        .max(100.0);
    let floor = 10.0f64;
    let decades = (peak / floor).log10().max(1.0);
    let (w, h, left, bottom) = (720.0, 220.0, 48.0, 30.0);
    let x_of =
        |t: UnixMillis| left + (t.as_millis() - t0.as_millis()) as f64 / span * (w - left - 8.0);
    let y_of =
        |m: f64| (h - bottom) - (m.max(floor) / floor).log10() / decades * (h - bottom - 12.0);
    let mut svg = format!(
        "<svg id=\"distance-chart\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Distance between the two vessels over time\"><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>"
    );
    let (ms, me) = (x_of(r.start.max(t0)), x_of(r.end.min(t1)));
    let _ = write!(
        svg,
        "<rect class=\"meeting-window\" x=\"{ms:.1}\" y=\"4\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#c00\" fill-opacity=\"0.08\"/>",
        (me - ms).max(1.0),
        h - bottom - 4.0
    );
    let line: Vec<String> = e
        .distances
        .iter()
        .map(|(t, d)| format!("{:.1},{:.1}", x_of(*t), y_of(*d)))
        .collect();
    let _ = write!(
        svg,
        "<polyline class=\"distance\" points=\"{}\" fill=\"none\" stroke=\"#246\" stroke-width=\"1.5\"/>",
        line.join(" ")
    );
    // The min label reads from the left end, the median's from the right: equal values
    // keep both legible.
    for (class, value, colour, x, anchor) in [
        ("min", r.min_distance_m, "#c00", left + 4.0, "start"),
        ("median", r.median_distance_m, "#d60", w - 8.0, "end"),
    ] {
        let y = y_of(value);
        let _ = write!(
            svg,
            "<line class=\"{class}\" x1=\"{left}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-dasharray=\"4 3\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{colour}\" text-anchor=\"{anchor}\">{class} {value:.0} m</text>",
            w - 8.0,
            y - 3.0
        );
    }
    let mut tick = floor;
    while tick <= peak * 1.0001 {
        let label = if tick >= 1000.0 {
            format!("{} km", tick / 1000.0)
        } else {
            format!("{tick} m")
        };
        let y = y_of(tick);
        let _ = write!(
            svg,
            "<line x1=\"{}\" y1=\"{y:.1}\" x2=\"{left}\" y2=\"{y:.1}\" stroke=\"#999\"/><text x=\"2\" y=\"{:.1}\" font-size=\"10\">{label}</text>",
            left - 4.0,
            y + 3.0
        );
        tick *= 10.0;
    }
    let _ = writeln!(
        svg,
        "<text x=\"{left}\" y=\"{:.1}\" font-size=\"10\">{t0}</text><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{t1}</text></svg>",
        h - 8.0,
        w - 8.0,
        h - 8.0,
    );
    let mut during: Vec<f64> = e
        .distances
        .iter()
        .filter(|(t, _)| *t >= r.start && *t <= r.end)
        .map(|(_, d)| *d)
        .collect();
    let tracked_min = during.iter().copied().reduce(f64::min);
    let tracked_median = median(&mut during);
    let _ = writeln!(
        svg,
        "<p>Shaded: the meeting; metres on a logarithmic scale. The detector judged the two at {} common times while close \
         (both tracks interpolated to each time): closest <b>{:.0} m</b>, median <b>{:.0} m</b>. \
         From the stored track points (thinned to the track interval), during the meeting: \
         closest {} m, median {} m over {} times.</p>",
        r.samples,
        r.min_distance_m,
        r.median_distance_m,
        fixed(tracked_min, 0),
        fixed(tracked_median, 0),
        during.len()
    );
    svg
}

/// The identity in force at `time`: the last reported at or before it, else the first after.
fn identity_at(history: &[IdentityAt], time: UnixMillis) -> Option<&Identity> {
    history
        .iter()
        .rev()
        .find(|i| i.time <= time)
        .or(history.first())
        .map(|i| &i.identity)
}

fn identities(e: &EncounterEvidence) -> String {
    let r = &e.record;
    let sides = [&r.a, &r.b];
    let known = [
        identity_at(&e.identities[0], r.start),
        identity_at(&e.identities[1], r.start),
    ];
    let mut out = format!(
        "<table id=\"identity-table\"><tr><th>field</th><th style=\"color:{}\">{}</th><th style=\"color:{}\">{}</th></tr>",
        COLOURS[0],
        escape(&label(&r.a)),
        COLOURS[1],
        escape(&label(&r.b))
    );
    type Row = (
        &'static str,
        fn(&EncounterSide, Option<&Identity>) -> Option<String>,
    );
    let rows: [Row; 9] = [
        ("MMSI", |s, _| Some(s.vessel.mmsi.to_string())),
        ("name", |s, _| s.vessel.name.as_deref().map(str::to_owned)),
        ("IMO", |s, _| s.vessel.imo.map(|v| v.to_string())),
        ("call sign", |_, i| {
            i.and_then(|i| i.callsign.as_deref().map(str::to_owned))
        }),
        ("flag (MID)", |s, _| {
            s.vessel.flag.clone().map(|f| {
                format!(
                    "{f} ({})",
                    s.vessel.mid.map_or_else(String::new, |m| m.to_string())
                )
            })
        }),
        ("ship type", |s, _| {
            s.vessel.ship_type.map(|v| v.to_string())
        }),
        ("length", |s, _| s.vessel.length.map(|v| format!("{v} m"))),
        ("beam", |s, _| s.vessel.beam.map(|v| format!("{v} m"))),
        ("watched", |s, _| {
            Some(if s.vessel.watched { "yes" } else { "no" }.to_string())
        }),
    ];
    for (field, read) in rows {
        let _ = write!(
            out,
            "<tr><th>{field}</th><td>{}</td><td>{}</td></tr>",
            or_dash(read(sides[0], known[0])),
            or_dash(read(sides[1], known[1]))
        );
    }
    out.push_str("</table>\n<p class=\"muted\">As reported at the start of the meeting (the call sign from the static report in force then).</p>\n");
    out
}

fn trend(change: Option<f64>) -> &'static str {
    match change {
        Some(c) if c > 0.0 => "rising",
        Some(c) if c < 0.0 => "falling",
        Some(_) => "unchanged",
        None => "not known",
    }
}

fn draughts(e: &EncounterEvidence) -> String {
    let r = &e.record;
    let mut out = String::from(
        "<table id=\"draught-table\"><tr><th>vessel</th><th>before</th><th>after</th><th>change</th><th></th></tr>",
    );
    for (i, side) in [&r.a, &r.b].into_iter().enumerate() {
        let _ = write!(
            out,
            "<tr id=\"draught-{i}\"><td>{}</td><td class=\"num\">{} m</td><td class=\"num\">{} m</td><td class=\"num\">{} m</td><td class=\"trend\">{}</td></tr>",
            escape(&label(side)),
            fixed(side.draught_before, 1),
            fixed(side.draught_after, 1),
            fixed(side.draught_change, 2),
            trend(side.draught_change)
        );
    }
    let after = e.params.as_ref().map(|p| p.at_sea.encounters.after_hours);
    let _ = writeln!(
        out,
        "</table>\n<p>Before: the draught in force when the meeting began; after: the latest reported up to {} h after it ended. \
         One vessel's draught rising while the other's falls is what a transfer between them looks like.</p>",
        after.map_or_else(|| "[encounters] after_hours".to_string(), |h| h.to_string())
    );
    out
}

fn cargo(e: &EncounterEvidence) -> String {
    let r = &e.record;
    let receiver = [&r.a, &r.b]
        .into_iter()
        .max_by(|x, y| {
            x.draught_change
                .unwrap_or(0.0)
                .total_cmp(&y.draught_change.unwrap_or(0.0))
        })
        .expect("two sides");
    let receiver = r
        .receiving
        .and_then(|m| [&r.a, &r.b].into_iter().find(|s| s.vessel.mmsi == m))
        .unwrap_or(receiver);
    let rise = receiver.draught_change.unwrap_or(0.0);
    let Some(p) = &e.params else {
        return format!(
            "<p>Estimated {} t, {} bbl from the draught rise of {}; the settings that made it are not recorded in this database.</p>\n",
            fixed(r.est_tonnes, 1),
            fixed(r.est_barrels, 0),
            escape(&label(receiver))
        );
    };
    CargoWorking {
        preamble: format!(
            "<p>tonnes = length × beam × block coefficient × draught rise × seawater density; barrels = tonnes × barrels per tonne, \
             for the vessel whose draught rose more ({}). An estimate is made when the rise exceeds {} m.</p>\
             ",
            escape(&label(receiver)),
            p.cargo_min_draught_rise_m,
        ),
        table_id: Some("cargo-inputs"),
        length: receiver.vessel.length,
        beam: receiver.vessel.beam,
        rise,
        tonnes: r.est_tonnes,
        barrels: r.est_barrels,
        too_small: "neither draught rose enough",
        no_dimensions: "the receiving vessel's length or beam is unknown",
    }
    .to_html(p)
}

fn judgement(e: &EncounterEvidence) -> String {
    let r = &e.record;
    let why = match r.status {
        EpisodeStatus::Ongoing => format!(
            "Confirmed: the two stayed within the encounter distance for at least the minimum hours, slowly, at least {} from every designated port; still going at the last fix heard of either.",
            escape(&r.away_rule)
        ),
        EpisodeStatus::Closed => format!(
            "Confirmed and over: the two stayed within the encounter distance for {:.1} h at a median {:.1} kn, away from ports ({}), until they parted or fell silent.",
            r.duration_hours,
            r.median_speed_kn,
            escape(&r.away_rule)
        ),
        EpisodeStatus::Withdrawn => "Withdrawn: a fix that arrived after the encounter was written, timed inside it, showed one of the two vessels beyond the encounter distance from the meeting segment, so the two cannot have been together throughout. The record is kept as it was, marked withdrawn; it counts in no tally.".to_string(),
    };
    format!(
        "<table id=\"history-table\"><tr><th>status</th><th>why</th></tr><tr><td>{}</td><td>{why}</td></tr></table>\n\
         <p class=\"muted\">An encounter keeps its latest judgement only; late data that changes it rewrites the record, with the fingerprint of what judged it.</p>\n",
        r.status.as_str()
    )
}

fn fingerprint(e: &EncounterEvidence) -> String {
    match &e.fingerprint {
        Some(f) => fingerprint_table(f),
        None => "<p>No fingerprint is recorded for this encounter (a database written before fingerprints were kept).</p>\n".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(minutes: i64, lat: f64, lon: f64) -> TrackPoint {
        TrackPoint {
            time: UnixMillis(minutes * 60_000),
            lat,
            lon,
            sog: None,
            cog: None,
            heading: None,
            nav_status: None,
            late: false,
            segment: 1,
        }
    }

    #[test]
    fn distances_interpolate_the_other_track_and_not_across_a_silence() {
        let a = vec![
            point(0, 42.0, 133.0),
            point(10, 42.0, 133.0),
            point(20, 42.0, 133.0),
            point(500, 42.0, 133.0),
        ];
        // A minute of latitude: a nautical mile, to the sphere's 0.07 %.
        let b = vec![
            point(0, 42.0 + 1.0 / 60.0, 133.0),
            point(20, 42.0, 133.0),
            point(300, 42.0, 133.0),
        ];
        let d = distances(&a, &b);
        let at = |m: i64| {
            d.iter()
                .find(|(t, _)| *t == UnixMillis(m * 60_000))
                .map(|(_, d)| *d)
        };
        let mile = haversine_nm(42.0, 133.0, 42.0 + 1.0 / 60.0, 133.0) * METRES_PER_NM;
        assert!((mile - METRES_PER_NM).abs() < 2.0);
        assert!((at(0).unwrap() - mile).abs() < 0.01);
        assert!((at(10).unwrap() - mile / 2.0).abs() < 0.01);
        assert!(at(20).unwrap() < 1.0);
        assert_eq!(at(300), None, "a was silent from 20 to 500");
        assert_eq!(at(500), None, "b is not heard after 300");
    }

    #[test]
    fn a_key_names_the_vessel_its_start_and_perhaps_the_other() {
        let key = EncounterKey::parse("273617148@2024-03-09T11:00:00Z", Some("445114000")).unwrap();
        assert_eq!(key.mmsi, Mmsi(273617148));
        assert_eq!(key.with, Some(Mmsi(445114000)));
        assert_eq!(
            key.start,
            UnixMillis::parse_user("2024-03-09T11:00:00Z").unwrap()
        );
        assert!(matches!(
            EncounterKey::parse("273617148", None),
            Err(EncounterReportError::BadKey(_))
        ));
        assert!(matches!(
            EncounterKey::parse("1@1709982000", Some("x")),
            Err(EncounterReportError::BadWith(_))
        ));
    }
}
