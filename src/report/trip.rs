//! The report of one gap (usually a trip) as one self-contained HTML page an analyst can hand
//! on: a map, the coverage hour by hour, the identity and draught across the silence, every
//! candidate port, the judgement history, the raw lines with their provenance and hashes,
//! the fingerprint of what judged, and the cargo estimate worked through. No network, no
//! script; it prints on A4.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::html::{
    bounds_of, end_page, escape, fingerprint_table, fixed, or_dash, points, scale_bar, section,
    CargoWorking, Projection, STYLE,
};
use crate::detect::{DetectParams, GapRecord};
use crate::engine::provenance::{EvidenceRole, Fingerprint};
use crate::model::Mmsi;
use crate::store::history::HistoryRow;
use crate::store::provenance::EvidenceRow;
use crate::store::read::{GapFilter, IdentityAt, PortHour, PortSummary, VesselDetail};
use crate::store::{Reader, StoreError};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};
use crate::track::{Identity, TrackPoint};

/// Hours of track shown before A and after B.
const TRACK_MARGIN_HOURS: f64 = 12.0;
/// Static reports this long after B count as the identity after (the engine's own window).
const AFTER_HOURS: f64 = 12.0;

/// Which gap: the vessel and the time of fix A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TripKey {
    pub mmsi: Mmsi,
    pub dark_from: UnixMillis,
}

impl TripKey {
    /// `MMSI@TIME`, TIME as `aisgap query trips` shows fix A (RFC 3339) or Unix seconds.
    pub fn parse(text: &str) -> Result<TripKey, ReportError> {
        let bad = || ReportError::BadKey(text.to_string());
        let (mmsi, time) = text.split_once('@').ok_or_else(bad)?;
        let mmsi = mmsi.trim().parse::<u32>().map_err(|_| bad())?;
        let dark_from = UnixMillis::parse_user(time.trim()).ok_or_else(bad)?;
        Ok(TripKey {
            mmsi: Mmsi(mmsi),
            dark_from,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0:?} does not name a trip: write MMSI@TIME, TIME being fix A's time as `aisgap query trips` shows it (445114000@2024-03-06T13:05:12Z)")]
    BadKey(String),
    #[error("no gap of vessel {mmsi} starts at {dark_from} in this database (`aisgap query gaps --mmsi {mmsi}` lists its gaps)")]
    NotFound { mmsi: Mmsi, dark_from: UnixMillis },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything the store holds about one gap, gathered for the page.
#[derive(Clone, Debug)]
pub struct TripEvidence {
    pub gap: GapRecord,
    pub vessel: Option<VesselDetail>,
    /// Each change of the judgement with the fingerprint it was made under.
    pub history: Vec<(HistoryRow, Option<String>)>,
    pub fingerprints: Vec<Fingerprint>,
    pub evidence: Vec<EvidenceRow>,
    pub ports: Vec<PortSummary>,
    /// Other vessels heard near the attributed (or best) port, hour by hour, over the gap.
    pub hours: Vec<PortHour>,
    pub stream_clock: Option<UnixMillis>,
    /// The settings of the latest fingerprint, when it can be read back.
    pub params: Option<DetectParams>,
}

/// Reads what the page shows about the gap `key` names.
pub fn gather(reader: &Reader, key: TripKey) -> Result<TripEvidence, ReportError> {
    let found = reader.gaps(&GapFilter {
        mmsi: Some(key.mmsi),
        since: Some(key.dark_from),
        until: Some(UnixMillis(key.dark_from.as_millis() + 1)),
        ..GapFilter::default()
    })?;
    let gap = found.into_iter().next().ok_or(ReportError::NotFound {
        mmsi: key.mmsi,
        dark_from: key.dark_from,
    })?;
    let end = gap.dark_until.unwrap_or(gap.dark_from);
    let vessel = reader.vessel(
        key.mmsi,
        Some(gap.dark_from.plus_hours(-TRACK_MARGIN_HOURS)),
        Some(end.plus_hours(TRACK_MARGIN_HOURS)),
    )?;
    let rows = reader.gap_history(&GapFilter {
        mmsi: Some(key.mmsi),
        since: Some(gap.dark_from),
        until: Some(UnixMillis(gap.dark_from.as_millis() + 1)),
        ..GapFilter::default()
    })?;
    let mut prints = reader.history_fingerprints(key.mmsi, key.dark_from)?;
    prints.resize(rows.len(), None);
    let history: Vec<_> = rows.into_iter().zip(prints).collect();
    let ids: BTreeSet<&String> = history.iter().filter_map(|(_, f)| f.as_ref()).collect();
    let mut fingerprints = Vec::new();
    for id in ids {
        fingerprints.extend(reader.fingerprint(id)?);
    }
    let latest = history.iter().rev().find_map(|(_, f)| f.as_ref());
    let params = latest
        .and_then(|id| fingerprints.iter().find(|f| &f.id == id))
        .and_then(|f| serde_json::from_str::<DetectParams>(&f.detect).ok());
    let hours = match &gap.port {
        Some(port) => {
            let from =
                UnixMillis(gap.dark_from.as_millis().div_euclid(MILLIS_PER_HOUR) * MILLIS_PER_HOUR);
            let until = gap.dark_from.plus_hours(gap.duration_hours);
            reader.port_hours(port, Some(from), Some(until))?
        }
        None => Vec::new(),
    };
    Ok(TripEvidence {
        evidence: reader.evidence_of(key.mmsi, key.dark_from)?,
        ports: reader.ports(None, None, 0)?,
        stream_clock: reader.stream_clock()?,
        gap,
        vessel,
        history,
        fingerprints,
        hours,
        params,
    })
}

/// The report of the gap `key` names, as one HTML page.
pub fn report(reader: &Reader, key: TripKey) -> Result<String, ReportError> {
    Ok(render(&gather(reader, key)?))
}

/// The page.
pub fn render(e: &TripEvidence) -> String {
    let g = &e.gap;
    let name = g.name.as_deref().unwrap_or("unnamed vessel");
    let mut out = String::with_capacity(64 * 1024);
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} {} dark from {}: aisgap trip report</title><style>{STYLE}</style></head><body>",
        escape(name),
        g.mmsi,
        g.dark_from
    );
    summary(&mut out, e);
    section(&mut out, "map", "Map", &map(e));
    section(&mut out, "coverage", "Coverage hour by hour", &timeline(e));
    section(
        &mut out,
        "identity",
        "Identity and draught before and after",
        &identity(e),
    );
    section(&mut out, "candidates", "Candidate ports", &candidates(e));
    section(&mut out, "cargo", "Cargo estimate", &cargo(e));
    section(&mut out, "history", "Judgement history", &history(e));
    section(
        &mut out,
        "evidence",
        "Raw lines and provenance",
        &evidence(e),
    );
    section(&mut out, "fingerprint", "What judged", &fingerprints(e));
    end_page(&mut out, e.stream_clock);
    out
}

fn summary(out: &mut String, e: &TripEvidence) {
    let g = &e.gap;
    let _ = writeln!(
        out,
        "<h1>{} <span class=\"muted\">MMSI {} · IMO {}</span></h1>\n\
         <p><span class=\"status\" id=\"status\">{}</span> {} · confidence {}</p>\n\
         <table class=\"facts\"><tr><th>fix A (dark from)</th><td id=\"dark-from\">{}</td><th>fix B (dark until)</th><td id=\"dark-until\">{}</td></tr>\
         <tr><th>silent</th><td class=\"num\">{} h</td><th>distance A–B</th><td class=\"num\">{} nm</td></tr>\
         <tr><th>detour</th><td class=\"num\">{} nm</td><th>slack</th><td class=\"num\">{} h</td></tr>\
         <tr><th>coverage</th><td class=\"num\">{}</td><th>draught change</th><td class=\"num\">{} m</td></tr>\
         <tr><th>estimated cargo</th><td class=\"num\" id=\"barrels\">{} bbl</td><th>call sign · type</th><td>{} · {}</td></tr></table>",
        escape(g.name.as_deref().unwrap_or("unnamed vessel")),
        g.mmsi,
        or_dash(g.imo),
        g.status.as_str(),
        g.port.as_deref().map_or_else(|| "no port".to_string(), |p| format!("at <b id=\"port\">{}</b>", escape(p))),
        or_dash(g.confidence.map(|c| c.as_str())),
        g.dark_from,
        or_dash(g.dark_until),
        fixed(Some(g.duration_hours), 1),
        fixed(g.distance_nm, 1),
        fixed(g.detour_nm, 1),
        fixed(g.slack_hours, 1),
        fixed(g.coverage, 2),
        fixed(g.draught_change, 2),
        fixed(g.est_barrels, 0),
        or_dash(g.callsign.as_deref()),
        or_dash(g.ship_type),
    );
}

fn port_named<'a>(e: &'a TripEvidence, name: &str) -> Option<&'a PortSummary> {
    e.ports.iter().find(|p| p.name == name)
}

fn track(e: &TripEvidence) -> &[TrackPoint] {
    e.vessel.as_ref().map_or(&[], |v| v.track.as_slice())
}

/// The outer ring of a port's GeoJSON polygon, `(lat, lon)`.
fn zone_ring(port: &PortSummary) -> Vec<(f64, f64)> {
    let ring = match port.geometry["type"].as_str() {
        Some("Polygon") => &port.geometry["coordinates"][0],
        Some("MultiPolygon") => &port.geometry["coordinates"][0][0],
        _ => return Vec::new(),
    };
    ring.as_array()
        .map(|coords| {
            coords
                .iter()
                .filter_map(|c| Some((c[1].as_f64()?, c[0].as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

// Long by design: one SVG drawn layer by layer (coverage, zone, track, leg, detour, marks),
// each a few lines; split, the layers would lose the projection and bounds they share.
fn map(e: &TripEvidence) -> String {
    let g = &e.gap;
    let a = (g.from_lat, g.from_lon);
    let b = g.until_lat.zip(g.until_lon);
    let port = g.port.as_deref().and_then(|p| port_named(e, p));
    let mut lats = vec![a.0];
    let mut lons = vec![a.1];
    if let Some((lat, lon)) = b {
        lats.push(lat);
        lons.push(lon);
    }
    if let Some(p) = port {
        let r = p.coverage_nm / 60.0;
        lats.extend([p.lat - r, p.lat + r]);
        let r_lon = r / p.lat.to_radians().cos().max(0.05);
        lons.extend([p.lon - r_lon, p.lon + r_lon]);
    }
    for point in track(e) {
        lats.push(point.lat);
        lons.push(point.lon);
    }
    let bounds = bounds_of(&lats, &lons, 0.02);
    let (w, h) = (720.0, 460.0);
    let p = Projection::fit(bounds, w, h, 24.0);
    let mut svg = format!(
        "<svg id=\"trip-map\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Map of fix A, fix B, the dark leg and the detour through the port\">\
         <rect width=\"{w}\" height=\"{h}\" fill=\"#eef4fa\"/>"
    );
    if let Some(port) = port {
        let (x, y) = p.xy(port.lat, port.lon);
        let r = port.coverage_nm * p.px_per_nm();
        let _ = write!(
            svg,
            "<circle class=\"coverage\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"#2a7\" fill-opacity=\"0.08\" stroke=\"#2a7\" stroke-dasharray=\"2 3\"/>"
        );
        let ring = zone_ring(port);
        if ring.len() > 2 {
            let _ = write!(
                svg,
                "<polygon class=\"zone\" points=\"{}\" fill=\"#2a7\" fill-opacity=\"0.35\" stroke=\"#175\"/>",
                points(&p, ring.into_iter())
            );
        }
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#175\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#175\">{} (coverage {} nm)</text>",
            x + 6.0,
            y - 6.0,
            escape(&port.name),
            port.coverage_nm
        );
    }
    let before: Vec<_> = track(e).iter().filter(|t| t.time <= g.dark_from).collect();
    let after: Vec<_> = track(e)
        .iter()
        .filter(|t| g.dark_until.is_some_and(|b| t.time >= b))
        .collect();
    for (class, part) in [("track-before", &before), ("track-after", &after)] {
        if part.len() > 1 {
            let _ = write!(
                svg,
                "<polyline class=\"{class}\" points=\"{}\" fill=\"none\" stroke=\"#246\" stroke-width=\"1.5\"/>",
                points(&p, part.iter().map(|t| (t.lat, t.lon)))
            );
        }
    }
    if let Some((blat, blon)) = b {
        if let Some(port) = port {
            let _ = write!(
                svg,
                "<polyline class=\"detour\" points=\"{}\" fill=\"none\" stroke=\"#d60\" stroke-width=\"1.5\" stroke-dasharray=\"1 3\"/>",
                points(&p, [a, (port.lat, port.lon), (blat, blon)].into_iter())
            );
        }
        let _ = write!(
            svg,
            "<polyline class=\"leg\" points=\"{}\" fill=\"none\" stroke=\"#c00\" stroke-width=\"2\" stroke-dasharray=\"8 5\"/>",
            points(&p, [a, (blat, blon)].into_iter())
        );
    }
    for (label, at, time) in [("A", Some(a), Some(g.dark_from)), ("B", b, g.dark_until)] {
        if let (Some((lat, lon)), Some(time)) = (at, time) {
            let (x, y) = p.xy(lat, lon);
            // Labels on the right half read leftwards, so that none runs off the map.
            let (dx, anchor) = if x > w / 2.0 {
                (-7.0, "end")
            } else {
                (7.0, "start")
            };
            // The northern fix is labelled above its mark, the other below: close fixes keep
            // legible labels.
            let a_north = b.is_none_or(|(blat, _)| g.from_lat >= blat);
            let dy = if (label == "A") == a_north {
                -8.0
            } else {
                18.0
            };
            let _ = write!(
                svg,
                "<circle class=\"fix-{label}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"#c00\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\" text-anchor=\"{anchor}\">{label} {time}</text>",
                x + dx,
                y + dy
            );
        }
    }
    svg.push_str(&scale_bar(&p, w, h));
    svg.push_str("</svg>");
    let legend = "<p class=\"muted\">Red dashed: the dark leg A–B. Orange dotted: the detour \
                  through the attributed port. Green: the port zone and the circle in which \
                  other vessels' fixes count as coverage. Blue: the track heard 12 h either side \
                  (from the store's track points). North up.</p>";
    format!("{svg}\n{legend}\n")
}

/// The stream time of the judgement in force: the last change of the history.
fn judged_at(e: &TripEvidence) -> Option<UnixMillis> {
    e.history.last().map(|(row, _)| row.at)
}

// Long by design: one chart (bars, threshold, clock marker, axis labels) sharing its scales.
fn timeline(e: &TripEvidence) -> String {
    let g = &e.gap;
    let Some(port) = g.port.as_deref() else {
        return "<p>No port is attributed, so no port's coverage was weighed.</p>\n".into();
    };
    let threshold = e.params.as_ref().map(|p| p.coverage_min_vessels);
    let first = g.dark_from.as_millis().div_euclid(MILLIS_PER_HOUR);
    let last = g
        .dark_from
        .plus_hours(g.duration_hours)
        .as_millis()
        .div_euclid(MILLIS_PER_HOUR);
    let heard: BTreeMap<i64, u32> = e
        .hours
        .iter()
        .map(|h| (h.hour.as_millis().div_euclid(MILLIS_PER_HOUR), h.vessels))
        .collect();
    let hours: Vec<(i64, u32)> = (first..=last)
        .map(|h| (h, heard.get(&h).copied().unwrap_or(0)))
        .collect();
    let peak = hours
        .iter()
        .map(|(_, v)| *v)
        .max()
        .unwrap_or(0)
        .max(threshold.unwrap_or(1))
        .max(1);
    let (w, h, left, bottom) = (720.0, 220.0, 34.0, 30.0);
    let bar = (w - left - 8.0) / hours.len().max(1) as f64;
    let y_of = |v: f64| (h - bottom) - v / f64::from(peak) * (h - bottom - 12.0);
    let mut svg = format!(
        "<svg id=\"coverage-chart\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Other vessels heard near {} each hour of the gap\"><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>",
        escape(port)
    );
    let mut covered = 0;
    for (i, (hour, vessels)) in hours.iter().enumerate() {
        let ok = threshold.is_some_and(|t| *vessels >= t);
        covered += usize::from(ok);
        let x = left + i as f64 * bar;
        let y = y_of(f64::from(*vessels));
        let _ = write!(
            svg,
            "<rect class=\"hour\" data-hour=\"{}\" data-vessels=\"{vessels}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {vessels} vessels</title></rect>",
            UnixMillis(hour * MILLIS_PER_HOUR),
            (bar - 1.0).max(0.5),
            (h - bottom) - y,
            if ok { "#2a7" } else { "#bbb" },
            UnixMillis(hour * MILLIS_PER_HOUR)
        );
    }
    if let Some(t) = threshold {
        let y = y_of(f64::from(t));
        let _ = write!(
            svg,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" fill=\"#c00\" text-anchor=\"end\">{t} vessels: covered</text>",
            w - 8.0,
            w - 8.0,
            y - 3.0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"2\" y=\"{:.1}\" font-size=\"10\">{peak}</text><text x=\"2\" y=\"{:.1}\" font-size=\"10\">0</text>\
         <text x=\"{left}\" y=\"{:.1}\" font-size=\"10\">{}</text><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
        y_of(f64::from(peak)) + 9.0,
        h - bottom,
        h - 8.0,
        UnixMillis(first * MILLIS_PER_HOUR),
        w - 8.0,
        h - 8.0,
        UnixMillis(last * MILLIS_PER_HOUR)
    );
    if let Some(at) = judged_at(e) {
        let hour = at.as_millis().div_euclid(MILLIS_PER_HOUR);
        if (first..=last).contains(&hour) {
            let x = left + (hour - first) as f64 * bar;
            let _ = write!(svg, "<line class=\"judged\" x1=\"{x:.1}\" y1=\"4\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#000\"/>", h - bottom);
        }
    }
    svg.push_str("</svg>\n");
    let _ = writeln!(
        svg,
        "<p>Hours of the gap with at least {} other vessels heard within {} nm of {}: \
         <b id=\"covered-hours\">{covered}</b> of <b id=\"gap-hours\">{}</b> (stored coverage {}). \
         Judged at stream time <b id=\"judged-at\">{}</b>{}.</p>",
        or_dash(threshold),
        or_dash(port_named(e, port).map(|p| p.coverage_nm)),
        escape(port),
        hours.len(),
        fixed(g.coverage, 2),
        or_dash(judged_at(e)),
        if judged_at(e).is_some_and(|t| t.as_millis().div_euclid(MILLIS_PER_HOUR) > last) {
            " (after the gap: the black line is off the chart)"
        } else {
            " (black line)"
        }
    );
    svg
}

fn identity_at_or_before(history: &[IdentityAt], time: UnixMillis) -> Option<&Identity> {
    history
        .iter()
        .rev()
        .find(|i| i.time <= time)
        .map(|i| &i.identity)
}

fn identity_after(history: &[IdentityAt], b: UnixMillis) -> Option<&Identity> {
    history
        .iter()
        .find(|i| i.time >= b && b.hours_until(i.time) <= AFTER_HOURS)
        .map(|i| &i.identity)
}

type Field = (&'static str, fn(&Identity) -> Option<String>);

const FIELDS: [Field; 8] = [
    ("name", |i| i.name.as_deref().map(str::to_owned)),
    ("imo", |i| i.imo.map(|v| v.to_string())),
    ("callsign", |i| i.callsign.as_deref().map(str::to_owned)),
    ("ship_type", |i| i.ship_type.map(|v| v.to_string())),
    ("length", |i| i.length.map(|v| format!("{v} m"))),
    ("beam", |i| i.beam.map(|v| format!("{v} m"))),
    ("draught", |i| i.draught.map(|v| format!("{v:.1} m"))),
    ("destination", |i| {
        i.destination.as_deref().map(str::to_owned)
    }),
];

fn identity(e: &TripEvidence) -> String {
    let g = &e.gap;
    let history = e
        .vessel
        .as_ref()
        .map_or(&[][..], |v| v.identity_history.as_slice());
    let before = identity_at_or_before(history, g.dark_from);
    let after = g.dark_until.and_then(|b| identity_after(history, b));
    let changed: BTreeSet<&str> = g
        .identity_changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    let mut out = String::from("<table><tr><th>field</th><th>before A</th><th>after B</th></tr>");
    for (field, read) in FIELDS {
        let class = if changed.contains(field) {
            " class=\"changed\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{class}><th>{field}</th><td>{}</td><td>{}</td></tr>",
            or_dash(before.and_then(read)),
            or_dash(after.and_then(read))
        );
    }
    let _ = writeln!(
        out,
        "<tr><th>draught judged</th><td id=\"draught-before\">{}</td><td id=\"draught-after\">{}</td></tr></table>\n\
         <p>Draught change <b>{} m</b>; identity changes: {}. Static reports after B count for {AFTER_HOURS} h.</p>",
        fixed(g.draught_before, 2),
        fixed(g.draught_after, 2),
        fixed(g.draught_change, 2),
        if g.identity_changes.is_empty() {
            "none".to_string()
        } else {
            g.identity_changes
                .iter()
                .map(|c| format!("{} {} → {}", escape(&c.field), escape(&c.before), escape(&c.after)))
                .collect::<Vec<_>>()
                .join("; ")
        }
    );
    out
}

fn candidates(e: &TripEvidence) -> String {
    if e.gap.candidates.is_empty() {
        return "<p>Neither A nor B lies within any designated port's approach distance.</p>\n"
            .into();
    }
    let mut out = String::from(
        "<table id=\"candidate-table\"><tr><th>port</th><th>detour (nm)</th><th>slack (h)</th><th>reachable</th><th>coverage</th><th>feasible</th></tr>",
    );
    for c in &e.gap.candidates {
        let attributed = e.gap.port.as_deref() == Some(c.port.as_str());
        let _ = write!(
            out,
            "<tr{}><td>{}{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td>{}</td><td class=\"num\">{:.2}</td><td>{}</td></tr>",
            if attributed { " class=\"changed\"" } else { "" },
            escape(&c.port),
            if attributed { " (attributed)" } else { "" },
            c.detour_nm,
            c.slack_hours,
            if c.reachable { "yes" } else { "no" },
            c.coverage,
            if c.feasible { "yes" } else { "no" }
        );
    }
    out.push_str("</table>\n");
    if let Some(p) = &e.params {
        let _ = writeln!(
            out,
            "<p>Reachable: A → port → B at {} kn leaves at least {} h in port (slack). Feasible: reachable and at least {:.0} % of the gap's hours covered.</p>",
            p.max_speed_kn,
            p.min_port_hours,
            p.min_coverage * 100.0
        );
    }
    out
}

fn cargo(e: &TripEvidence) -> String {
    let g = &e.gap;
    let Some(p) = &e.params else {
        return format!("<p>Estimated {} t, {} bbl; the settings that made it are not recorded in this database.</p>\n", fixed(g.est_tonnes, 1), fixed(g.est_barrels, 0));
    };
    let history = e
        .vessel
        .as_ref()
        .map_or(&[][..], |v| v.identity_history.as_slice());
    let before = identity_at_or_before(history, g.dark_from);
    let after = g.dark_until.and_then(|b| identity_after(history, b));
    let length = after
        .and_then(|i| i.length)
        .or(before.and_then(|i| i.length));
    let beam = after.and_then(|i| i.beam).or(before.and_then(|i| i.beam));
    let rise = g.draught_change.unwrap_or(0.0);
    CargoWorking {
        preamble: format!(
            "<p>tonnes = length × beam × block coefficient × draught rise × seawater density; barrels = tonnes × barrels per tonne. \
             An estimate is made when the rise exceeds {} m; the trip is high confidence from a rise of {} m (or any identity change).</p>\
             ",
            p.cargo_min_draught_rise_m, p.high_confidence_draught_rise_m,
        ),
        table_id: None,
        length,
        beam,
        rise,
        tonnes: g.est_tonnes,
        barrels: g.est_barrels,
        too_small: "the draught did not rise enough",
        no_dimensions: "the vessel's length or beam is unknown",
    }
    .to_html(p)
}

fn history(e: &TripEvidence) -> String {
    if e.history.is_empty() {
        return "<p>No history is recorded for this gap (a database written before histories were kept).</p>\n".into();
    }
    let mut out = String::from(
        "<table id=\"history-table\"><tr><th>stream time</th><th>from</th><th>to</th><th>port</th><th>reason</th><th>why</th><th>fingerprint</th></tr>",
    );
    for (row, print) in &e.history {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"hash\">{}</td></tr>",
            row.at,
            or_dash(row.before.as_deref()),
            escape(&row.status),
            or_dash(row.port.as_deref()),
            escape(&row.reason),
            escape(&row.detail),
            print.as_deref().map_or_else(|| "—".to_string(), |p| escape(&p[..p.len().min(16)]))
        );
    }
    out.push_str("</table>\n");
    out
}

fn evidence(e: &TripEvidence) -> String {
    if e.evidence.is_empty() {
        return "<p>No provenance is recorded for this gap (a database written before provenance was kept).</p>\n".into();
    }
    let mut out = String::from(
        "<p>SHA-256 is of the message's line(s) exactly as read, without line endings, fragments joined by a line feed. Lines are numbered from 1; the offset is the byte where the message's last line starts.</p>\n",
    );
    for row in &e.evidence {
        let what = match row.role {
            EvidenceRole::FixA => "Fix A: the last position before the silence",
            EvidenceRole::FixB => "Fix B: the first position after it",
            EvidenceRole::StaticBefore => "Static report in force at A",
            EvidenceRole::StaticAfter => "Static report after B",
        };
        let lines = match row.first_line {
            Some(first) if first != row.line => format!("{first}–{}", row.line),
            _ => row.line.to_string(),
        };
        let _ = writeln!(
            out,
            "<div class=\"evidence-item\" id=\"evidence-{role}\" data-line=\"{line}\" data-first-line=\"{first}\"><h3 style=\"font-size:10.5pt;margin:.6em 0 .1em\">{what}</h3>\
             <table><tr><th>heard</th><td>{time}</td><th>message type</th><td>{ty}</td></tr>\
             <tr><th>source</th><td>{source}</td><th>line(s), offset</th><td>{lines}, byte {offset}</td></tr>\
             <tr><th>time carrier</th><td>{carrier}</td><th>station</th><td>{station}</td></tr>\
             <tr><th>SHA-256</th><td colspan=\"3\" class=\"hash sha256\">{sha}</td></tr></table>\
             <pre class=\"raw\">{raw}</pre></div>",
            role = row.role.as_str(),
            line = row.line,
            first = row.first_line.unwrap_or(row.line),
            time = row.time,
            ty = row.msg_type,
            source = escape(&source_label(row)),
            offset = row.offset,
            carrier = or_dash(row.carrier.as_deref()),
            station = or_dash(row.station.as_deref()),
            sha = or_dash(row.sha256.as_deref()),
            raw = row.raw.as_deref().map_or_else(|| "(the raw line could not be read again from its source)".to_string(), escape),
        );
    }
    out
}

fn source_label(row: &EvidenceRow) -> String {
    match (&row.source_name, &row.source_path) {
        (Some(name), Some(path)) if name != path => format!("{name} ({path})"),
        (Some(name), _) => name.clone(),
        (None, _) => format!("source #{}", row.source),
    }
}

fn fingerprints(e: &TripEvidence) -> String {
    if e.fingerprints.is_empty() {
        return "<p>No fingerprint is recorded (a database written before fingerprints were kept).</p>\n".into();
    }
    let mut out = String::new();
    for f in &e.fingerprints {
        out.push_str(&fingerprint_table(f));
    }
    out
}
