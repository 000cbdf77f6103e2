//! The tally as the field publishes it: trips per month per port with the open calls beside
//! them, the cumulative estimated barrels against an annual cap, the confidence split and the
//! per-trip table, as one self-contained HTML file (inline SVG, prints on A4) and CSV files of
//! the same numbers. Built from the store only, so it says what `aisgap query tally` says.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::html::escape as esc;
use crate::detect::{Confidence, GapRecord};
use crate::query;
use crate::store::read::{GapFilter, TallyKey, TallyRow};
use crate::store::{Reader, StoreError};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// UN Security Council resolution 2397 (2017), paragraph 5: refined petroleum products
/// supplied to the DPRK are capped at 500,000 barrels for each twelve months.
pub const UN_REFINED_PRODUCTS_CAP_BBL: f64 = 500_000.0;
pub const UN_REFINED_PRODUCTS_CAP_LABEL: &str =
    "UN cap on refined petroleum products to the DPRK (UNSC resolution 2397): 500,000 bbl a year";

/// The longest label a chart can carry on one line.
pub const MAX_CAP_LABEL_CHARS: usize = 160;
/// Months drawn at most: a century of monthly bars is no longer a chart.
const MAX_MONTHS: usize = 1200;
const HOURS_PER_YEAR: f64 = 365.0 * 24.0;

/// `[report]` in the configuration: what the tally is set against.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TallyReportParams {
    /// The annual cap, in barrels, drawn as a line over the cumulative estimate.
    pub annual_cap_bbl: f64,
    /// What that cap is, as the chart labels it.
    pub cap_label: String,
}

impl Default for TallyReportParams {
    fn default() -> Self {
        TallyReportParams {
            annual_cap_bbl: UN_REFINED_PRODUCTS_CAP_BBL,
            cap_label: UN_REFINED_PRODUCTS_CAP_LABEL.to_string(),
        }
    }
}

impl TallyReportParams {
    /// Every setting that cannot make a report, with its key and why.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let cap = self.annual_cap_bbl;
        if !(cap.is_finite() && cap > 0.0) {
            problems.push((
                "annual_cap_bbl",
                format!("must be a number of barrels greater than 0, got {cap}"),
            ));
        }
        let chars = self.cap_label.chars().count();
        if self.cap_label.trim().is_empty() || chars > MAX_CAP_LABEL_CHARS {
            problems.push((
                "cap_label",
                format!("must be 1 to {MAX_CAP_LABEL_CHARS} characters, got {chars}"),
            ));
        }
        problems
    }
}

/// One month of the period, every port together.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MonthLine {
    pub month: String,
    pub trips: u64,
    pub open_calls: u64,
    pub high_confidence: u64,
    pub est_barrels: f64,
    /// Estimated barrels of every trip from the start of the period to the end of this month.
    pub cumulative_est_barrels: f64,
    /// The annual cap pro rata from the start of the period to the end of this month.
    pub cap_to_date_bbl: f64,
}

/// The trips of one confidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfidenceLine {
    pub confidence: Confidence,
    pub trips: u64,
    /// Trips with a cargo estimate (draught rose and the dimensions are known).
    pub with_estimate: u64,
    pub est_barrels: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub trips: u64,
    pub open_calls: u64,
    pub high_confidence: u64,
    pub with_estimate: u64,
    pub est_barrels: f64,
}

/// A trip with the running total its estimate brings the period to.
#[derive(Clone, Debug, Serialize)]
pub struct TripLine {
    #[serde(flatten)]
    pub trip: GapRecord,
    pub cumulative_est_barrels: f64,
}

/// Everything the report shows, computed once; the HTML, the CSV and the API's JSON are
/// renderings of it.
#[derive(Clone, Debug, Serialize)]
pub struct TallyReport {
    pub port: Option<String>,
    pub since: Option<UnixMillis>,
    pub until: Option<UnixMillis>,
    /// The period drawn: `since`, else the start of the first month with a trip or an open
    /// call; `until`, else the stream clock.
    pub period_from: Option<UnixMillis>,
    pub period_until: Option<UnixMillis>,
    pub stream_clock: Option<UnixMillis>,
    pub annual_cap_bbl: f64,
    pub cap_label: String,
    /// The annual cap pro rata over the whole period.
    pub cap_over_period_bbl: f64,
    /// Why the database was built from incomplete input, if it was.
    pub incomplete_input: Vec<String>,
    /// The tally by port and month, as `aisgap query tally --by port,month` gives it.
    pub rows: Vec<TallyRow>,
    pub months: Vec<MonthLine>,
    pub confidence: Vec<ConfidenceLine>,
    pub totals: Totals,
    pub trips: Vec<TripLine>,
}

/// The keys of the report's tally.
pub const TALLY_KEYS: [TallyKey; 2] = [TallyKey::Port, TallyKey::Month];

impl TallyReport {
    /// Reads the trips and open calls the filter selects (port, since, until; the trips of
    /// watched vessels only, as every tally).
    pub fn build(
        reader: &Reader,
        filter: &GapFilter,
        params: &TallyReportParams,
    ) -> Result<TallyReport, StoreError> {
        let mut filter = filter.clone();
        filter.limit = None;
        filter.offset = 0;
        let rows = reader.tally(&filter, &TALLY_KEYS)?;
        let trips = reader.gaps(&trips_like(&filter))?;
        let stream_clock = reader.stream_clock()?;
        let first_row = rows
            .iter()
            .filter_map(|r| r.month.as_deref())
            .min()
            .and_then(month_start);
        // Without a start, the period opens with the first month that has a call: publications
        // count "since March", and the cap runs from there.
        let period_from = filter
            .since
            .or(first_row)
            .or(trips.first().map(|t| t.dark_from));
        let period_until = filter.until.or(stream_clock).or_else(|| {
            trips
                .iter()
                .filter_map(|t| t.dark_until.or(Some(t.dark_from)))
                .max()
        });
        let mut report = TallyReport {
            port: filter.port.clone(),
            since: filter.since,
            until: filter.until,
            period_from,
            period_until,
            stream_clock,
            annual_cap_bbl: params.annual_cap_bbl,
            cap_label: params.cap_label.clone(),
            cap_over_period_bbl: 0.0,
            incomplete_input: reader.incomplete_input()?,
            rows,
            months: Vec::new(),
            confidence: Vec::new(),
            totals: Totals::default(),
            trips: Vec::new(),
        };
        report.cap_over_period_bbl = period_until.map_or(0.0, |end| report.cap_to(end));
        report.add_trips(trips);
        report.add_months();
        Ok(report)
    }

    /// The cap pro rata from the start of the period to `at`.
    pub fn cap_to(&self, at: UnixMillis) -> f64 {
        let Some(from) = self.period_from else {
            return 0.0;
        };
        let hours = from.hours_until(at).max(0.0);
        self.annual_cap_bbl * hours / HOURS_PER_YEAR
    }

    fn add_trips(&mut self, trips: Vec<GapRecord>) {
        let mut by_confidence: BTreeMap<Confidence, ConfidenceLine> = BTreeMap::new();
        let mut running = 0.0;
        for trip in trips {
            let barrels = trip.est_barrels.unwrap_or(0.0);
            running += barrels;
            self.totals.trips += 1;
            self.totals.est_barrels += barrels;
            self.totals.with_estimate += u64::from(trip.est_barrels.is_some());
            self.totals.high_confidence += u64::from(trip.confidence == Some(Confidence::High));
            if let Some(confidence) = trip.confidence {
                let line = by_confidence
                    .entry(confidence)
                    .or_insert_with(|| ConfidenceLine {
                        confidence,
                        trips: 0,
                        with_estimate: 0,
                        est_barrels: 0.0,
                    });
                line.trips += 1;
                line.with_estimate += u64::from(trip.est_barrels.is_some());
                line.est_barrels += barrels;
            }
            self.trips.push(TripLine {
                trip,
                cumulative_est_barrels: running,
            });
        }
        self.totals.open_calls = self.rows.iter().map(|r| r.open_calls).sum();
        // Strongest first, as the split is read.
        self.confidence = [Confidence::High, Confidence::Medium]
            .iter()
            .map(|c| {
                by_confidence.remove(c).unwrap_or(ConfidenceLine {
                    confidence: *c,
                    trips: 0,
                    with_estimate: 0,
                    est_barrels: 0.0,
                })
            })
            .collect();
    }

    /// Every month of the period, empty ones included, so that a quiet month shows as one.
    fn add_months(&mut self) {
        let mut keys: Vec<String> = match (self.period_from, self.period_until) {
            (Some(from), Some(until)) => month_range(from, until),
            _ => Vec::new(),
        };
        keys.extend(self.rows.iter().filter_map(|r| r.month.clone()));
        keys.sort();
        keys.dedup();
        let mut months: BTreeMap<String, MonthLine> = keys
            .into_iter()
            .map(|month| {
                (
                    month.clone(),
                    MonthLine {
                        month,
                        ..MonthLine::default()
                    },
                )
            })
            .collect();
        for row in &self.rows {
            let Some(line) = row.month.as_ref().and_then(|m| months.get_mut(m)) else {
                continue;
            };
            line.trips += row.trips;
            line.open_calls += row.open_calls;
            line.high_confidence += row.high_confidence;
            line.est_barrels += row.est_barrels;
        }
        let mut running = 0.0;
        for line in months.values_mut() {
            running += line.est_barrels;
            line.cumulative_est_barrels = running;
            let end = month_start(&line.month)
                .map(next_month)
                .map(|end| self.period_until.map_or(end, |until| end.min(until)));
            line.cap_to_date_bbl = end.map_or(0.0, |end| self.cap_to(end));
        }
        self.months = months.into_values().collect();
    }

    /// The ports of the tally, in its order.
    pub fn ports(&self) -> Vec<&str> {
        let mut ports: Vec<&str> = self.rows.iter().filter_map(|r| r.port.as_deref()).collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// The tally as CSV, exactly `aisgap query tally --by port,month --format csv`.
    pub fn write_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        query::write_tally_csv(&self.rows, &TALLY_KEYS, out)
    }

    /// One row per trip, oldest first, with the running total and the cap to its date.
    pub fn write_trips_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{TRIPS_CSV_HEADER}")?;
        for line in &self.trips {
            let t = &line.trip;
            let cells = [
                t.mmsi.to_string(),
                opt(t.imo),
                t.name.as_deref().unwrap_or_default().to_owned(),
                t.port.clone().unwrap_or_default(),
                t.dark_from.to_string(),
                t.dark_until.map(|u| u.to_string()).unwrap_or_default(),
                format!("{:.2}", t.duration_hours),
                opt_fixed(t.draught_before, 1),
                opt_fixed(t.draught_after, 1),
                opt_fixed(t.draught_change, 1),
                opt_fixed(t.est_barrels, 0),
                t.confidence.map(|c| c.as_str()).unwrap_or_default().into(),
                format!("{:.0}", line.cumulative_est_barrels),
                format!("{:.0}", self.cap_to(t.dark_from)),
            ];
            let cells: Vec<String> = cells.iter().map(|c| query::csv_cell(c)).collect();
            writeln!(out, "{}", cells.join(","))?;
        }
        Ok(())
    }
}

pub const TRIPS_CSV_HEADER: &str = "mmsi,imo,name,port,dark_from,dark_until,duration_hours,draught_before,draught_after,draught_change,est_barrels,confidence,cumulative_est_barrels,cap_to_date_bbl";

/// The trips a tally with this filter counts.
fn trips_like(filter: &GapFilter) -> GapFilter {
    let mut trips = filter.clone();
    trips.status = Some(crate::detect::GapStatus::Trip);
    trips.watched_only = true;
    trips
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn opt_fixed(value: Option<f64>, places: usize) -> String {
    value.map(|v| format!("{v:.places$}")).unwrap_or_default()
}

/// The first instant of a `YYYY-MM` month.
fn month_start(month: &str) -> Option<UnixMillis> {
    let (year, month) = month.split_once('-')?;
    UnixMillis::from_civil(year.parse().ok()?, month.parse().ok()?, 1, 0, 0, 0, 0)
}

fn next_month(start: UnixMillis) -> UnixMillis {
    let (year, month, ..) = start.to_civil();
    let (year, month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    UnixMillis::from_civil(year, month, 1, 0, 0, 0, 0).unwrap_or(start)
}

/// The months from the one holding `from` to the one holding the last instant before `until`.
fn month_range(from: UnixMillis, until: UnixMillis) -> Vec<String> {
    // A window that ends before it starts (--until before --since) is one month, not a walk
    // that never meets its end.
    let last = UnixMillis(until.0.max(from.0 + 1) - 1).month_key();
    let mut months = Vec::new();
    let mut at = month_start(&from.month_key()).unwrap_or(from);
    while months.len() < MAX_MONTHS {
        let key = at.month_key();
        let done = key == last;
        months.push(key);
        if done {
            break;
        }
        at = next_month(at);
    }
    months
}

/// Whole barrels with thousands separated, as publications print them.
fn barrels(value: f64) -> String {
    let rounded = value.round();
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn day(at: Option<UnixMillis>) -> String {
    at.map_or_else(|| "-".into(), |t| t.to_string()[..10].to_string())
}

fn minute(at: UnixMillis) -> String {
    let text = at.to_string();
    format!("{} {}", &text[..10], &text[11..16])
}

/// A round step for an axis up to `top` in about `ticks` steps.
fn nice_step(top: f64, ticks: f64) -> f64 {
    let raw = (top / ticks).max(1e-9);
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

const STYLE: &str = "
@page { size: A4; margin: 14mm 12mm; }
body { font: 10.5pt/1.4 system-ui, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1b1b1b; margin: 0 auto; max-width: 186mm; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 2mm; } h2 { font-size: 12.5pt; margin: 7mm 0 2mm; border-bottom: 1px solid #bbb; }
p.meta { color: #444; margin: 0 0 1mm; } .warning { border: 1px solid #c92a2a; color: #8a1c1c; padding: 2mm 3mm; }
.figures { display: flex; flex-wrap: wrap; gap: 3mm; margin: 4mm 0; }
.figure { border: 1px solid #ccc; padding: 2mm 3mm; min-width: 30mm; } .figure b { display: block; font-size: 14pt; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; } th, td { border-bottom: 1px solid #ddd; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f1f3f5; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
thead { display: table-header-group; } tr, svg, .figure { break-inside: avoid; }
svg { width: 100%; height: auto; display: block; } svg text { font: 9px system-ui, Helvetica, Arial, sans-serif; fill: #333; }
.axis line { stroke: #e3e3e3; } .dark { fill: #c92a2a; } .open { fill: #74a9cf; } .high { fill: #c92a2a; } .medium { fill: #f08c00; }
.cumulative { fill: none; stroke: #c92a2a; stroke-width: 1.6; } .cap { stroke: #1b1b1b; stroke-dasharray: 6 3; stroke-width: 1.2; }
.pro-rata { stroke: #555; stroke-dasharray: 1.5 2.5; stroke-width: 1.2; } .key { display: inline-block; width: 9pt; height: 9pt; vertical-align: -1pt; margin-right: 1mm; }
.key.dark, .key.high, .key.cumulative-key { background: #c92a2a; } .key.open { background: #74a9cf; } .key.medium { background: #f08c00; }
.notes { font-size: 9pt; color: #333; } code { font-size: 9pt; }
@media print { body { padding: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
";

impl TallyReport {
    /// The report as one HTML file that needs nothing else: no script, no network.
    pub fn write_html(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut page = String::with_capacity(64 * 1024 + self.trips.len() * 600);
        self.html_head(&mut page);
        self.html_figures(&mut page);
        page.push_str("<h2>Trips per month and port: dark calls beside open calls</h2>\n");
        page.push_str("<p class=\"notes\"><span class=\"key dark\"></span>dark calls (suspected trips) <span class=\"key open\"></span>open calls (port visits heard with AIS on)</p>\n");
        self.monthly_charts(&mut page);
        page.push_str("<h2>Cumulative estimated barrels against the cap</h2>\n");
        self.cumulative_chart(&mut page);
        page.push_str("<h2>Confidence</h2>\n");
        self.confidence_table(&mut page);
        page.push_str("<h2>By port and month</h2>\n");
        self.tally_table(&mut page);
        page.push_str("<h2>Trips</h2>\n");
        self.trips_table(&mut page);
        self.notes(&mut page);
        page.push_str("</body>\n</html>\n");
        out.write_all(page.as_bytes())
    }

    fn html_head(&self, page: &mut String) {
        let scope = self
            .port
            .as_deref()
            .map_or_else(|| "all designated ports".to_string(), esc);
        let _ = write!(
            page,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>aisgap tally: {scope}, {} to {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>Suspected dark port calls: tally</h1>\n",
            day(self.period_from),
            day(self.period_until)
        );
        let _ = writeln!(
            page,
            "<p class=\"meta\">{scope}; trips that went dark from {} to {} (UTC){}.</p>",
            day(self.period_from),
            day(self.period_until),
            if self.since.is_none() && self.until.is_none() {
                ", the whole database"
            } else {
                ""
            }
        );
        let _ = writeln!(
            page,
            "<p class=\"meta\">Data as of the stream clock {} (the latest event time in the database). aisgap {}.</p>",
            self.stream_clock.map_or_else(|| "-".into(), |c| c.to_string()),
            env!("CARGO_PKG_VERSION")
        );
        if !self.incomplete_input.is_empty() {
            let _ = writeln!(
                page,
                "<p class=\"warning\">Built from incomplete input: {}</p>",
                esc(&self.incomplete_input.join("; "))
            );
        }
    }

    fn html_figures(&self, page: &mut String) {
        let t = &self.totals;
        let share = if self.cap_over_period_bbl > 0.0 {
            format!(
                "{:.0}% of the cap pro rata",
                100.0 * t.est_barrels / self.cap_over_period_bbl
            )
        } else {
            String::new()
        };
        let _ = write!(
            page,
            "<div class=\"figures\">\n<div class=\"figure\" id=\"total-trips\" data-value=\"{}\"><b>{}</b>dark calls (trips)</div>\n\
             <div class=\"figure\" id=\"total-open-calls\" data-value=\"{}\"><b>{}</b>open calls</div>\n\
             <div class=\"figure\" id=\"total-high\" data-value=\"{}\"><b>{}</b>high confidence</div>\n\
             <div class=\"figure\" id=\"total-barrels\" data-value=\"{:.0}\"><b>{}</b>estimated barrels ({} of {} trips estimated)</div>\n\
             <div class=\"figure\" id=\"cap-period\" data-value=\"{:.0}\"><b>{}</b>bbl cap over the period{}</div>\n</div>\n",
            t.trips,
            t.trips,
            t.open_calls,
            t.open_calls,
            t.high_confidence,
            t.high_confidence,
            t.est_barrels,
            barrels(t.est_barrels),
            t.with_estimate,
            t.trips,
            self.cap_over_period_bbl,
            barrels(self.cap_over_period_bbl),
            if share.is_empty() { share } else { format!(", estimate {share}") }
        );
    }

    /// One small chart per port, months along, a dark and an open bar in each month, every
    /// port on the same scale so that their heights compare.
    fn monthly_charts(&self, page: &mut String) {
        let ports = self.ports();
        if ports.is_empty() || self.months.is_empty() {
            page.push_str("<p>No trip and no open call in the period.</p>\n");
            return;
        }
        let mut cells: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
        for row in &self.rows {
            if let (Some(port), Some(month)) = (row.port.as_deref(), row.month.as_deref()) {
                cells.insert((port, month), (row.trips, row.open_calls));
            }
        }
        let top = cells
            .values()
            .map(|&(d, o)| d.max(o))
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let step = nice_step(top, 4.0).max(1.0);
        let top = (top / step).ceil() * step;
        let (width, height, left, bottom) = (680.0, 120.0, 34.0, 18.0);
        let plot_h = height - bottom - 16.0;
        let slot = (width - left - 6.0) / self.months.len() as f64;
        let bar = (slot * 0.38).min(14.0);
        let label_every = (self.months.len() as f64 / 12.0).ceil().max(1.0) as usize;
        for port in ports {
            let _ = write!(
                page,
                "<svg class=\"port-chart\" data-port=\"{p}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Dark and open calls per month at {p}\">\n<text x=\"{left}\" y=\"10\" font-weight=\"bold\">{p}</text>\n<g class=\"axis\">",
                p = esc(port)
            );
            let mut v = 0.0;
            while v <= top + 1e-9 {
                let y = height - bottom - v / top * plot_h;
                let _ = write!(page, "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>", width - 6.0, left - 4.0, y + 3.0);
                v += step;
            }
            page.push_str("</g>\n");
            for (i, m) in self.months.iter().enumerate() {
                let x = left + i as f64 * slot + slot / 2.0;
                let (dark, open) = cells
                    .get(&(port, m.month.as_str()))
                    .copied()
                    .unwrap_or((0, 0));
                for (class, value, x0, attribute) in [
                    ("dark", dark, x - bar, "data-trips"),
                    ("open", open, x, "data-open-calls"),
                ] {
                    let h = value as f64 / top * plot_h;
                    let _ = write!(
                        page,
                        "<rect class=\"{class}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" data-month=\"{}\" {attribute}=\"{value}\"><title>{}, {}: {value} {}</title></rect>",
                        height - bottom - h,
                        m.month,
                        esc(port),
                        m.month,
                        if class == "dark" { "dark calls" } else { "open calls" }
                    );
                }
                if i % label_every == 0 {
                    let _ = write!(
                        page,
                        "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                        height - 5.0,
                        m.month
                    );
                }
            }
            page.push_str("\n</svg>\n");
        }
    }

    /// The running total of estimated barrels over the period, the annual cap as a level and
    /// the cap pro rata as a slope from the start of the period.
    fn cumulative_chart(&self, page: &mut String) {
        let (Some(from), Some(until)) = (self.period_from, self.period_until) else {
            page.push_str("<p>No period to draw.</p>\n");
            return;
        };
        let span = (until.0 - from.0).max(MILLIS_PER_HOUR) as f64;
        let total = self.totals.est_barrels;
        let top = total.max(self.annual_cap_bbl).max(self.cap_over_period_bbl) * 1.08;
        let step = nice_step(top, 5.0);
        let top = (top / step).ceil() * step;
        let (width, height, left, right, upper, bottom) = (680.0, 250.0, 58.0, 8.0, 10.0, 22.0);
        let x_of = |at: UnixMillis| {
            left + ((at.0 - from.0) as f64 / span).clamp(0.0, 1.0) * (width - left - right)
        };
        let y_of = |v: f64| height - bottom - v / top * (height - bottom - upper);
        let _ = write!(page, "<svg id=\"cumulative\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Cumulative estimated barrels against the annual cap\">\n<g class=\"axis\">");
        let mut v = 0.0;
        while v <= top + 1e-6 {
            let y = y_of(v);
            let _ = write!(page, "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", width - right, left - 4.0, y + 3.0, barrels(v));
            v += step;
        }
        let label_every = (self.months.len() as f64 / 12.0).ceil().max(1.0) as usize;
        for (i, m) in self
            .months
            .iter()
            .enumerate()
            .filter(|(i, _)| i % label_every == 0)
        {
            if let Some(start) = month_start(&m.month) {
                let x = x_of(start.max(from));
                let _ = write!(
                    page,
                    "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
                    height - 7.0,
                    if i == 0 { "start" } else { "middle" },
                    m.month
                );
            }
        }
        page.push_str("</g>\n");
        let cap_y = y_of(self.annual_cap_bbl);
        let _ = writeln!(page, "<line class=\"cap\" x1=\"{left}\" x2=\"{}\" y1=\"{cap_y:.1}\" y2=\"{cap_y:.1}\" data-cap=\"{:.0}\"/><text x=\"{}\" y=\"{:.1}\">{}</text>", width - right, self.annual_cap_bbl, left + 4.0, cap_y - 4.0, esc(&self.cap_label));
        let _ = writeln!(
            page,
            "<line class=\"pro-rata\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
            x_of(from),
            y_of(0.0),
            x_of(until),
            y_of(self.cap_over_period_bbl)
        );
        let mut path = format!("M{:.1} {:.1}", x_of(from), y_of(0.0));
        let mut last = 0.0;
        for line in &self.trips {
            let x = x_of(line.trip.dark_from);
            let _ = write!(path, "H{x:.1}V{:.1}", y_of(line.cumulative_est_barrels));
            last = line.cumulative_est_barrels;
        }
        let _ = write!(path, "H{:.1}", x_of(until));
        let _ = writeln!(page, "<path class=\"cumulative\" d=\"{path}\" data-total=\"{last:.0}\"><title>{} estimated barrels over the period</title></path>\n</svg>", barrels(last));
        let _ = writeln!(page, "<p class=\"notes\"><span class=\"key cumulative-key\"></span>cumulative estimate, stepping at each trip's dark_from; dashed: {}; dotted: that cap pro rata from {} ({} bbl by {}).</p>", esc(&self.cap_label), day(Some(from)), barrels(self.cap_over_period_bbl), day(Some(until)));
    }

    fn confidence_table(&self, page: &mut String) {
        let total = self.totals.trips.max(1) as f64;
        page.push_str(
            "<svg viewBox=\"0 0 680 26\" role=\"img\" aria-label=\"Trips by confidence\">",
        );
        let mut x = 0.0;
        for line in &self.confidence {
            let w = line.trips as f64 / total * 680.0;
            let _ = write!(page, "<rect class=\"{c}\" x=\"{x:.1}\" y=\"2\" width=\"{w:.1}\" height=\"18\"><title>{c}: {} trips</title></rect>", line.trips, c = line.confidence.as_str());
            x += w;
        }
        page.push_str("</svg>\n<table id=\"confidence\"><thead><tr><th>Confidence</th><th class=\"num\">Trips</th><th class=\"num\">With an estimate</th><th class=\"num\">Est. barrels</th></tr></thead><tbody>\n");
        for line in &self.confidence {
            let _ = writeln!(page, "<tr data-confidence=\"{c}\" data-trips=\"{}\" data-est-barrels=\"{:.0}\"><td><span class=\"key {c}\"></span>{c}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>", line.trips, line.est_barrels, line.trips, line.with_estimate, barrels(line.est_barrels), c = line.confidence.as_str());
        }
        page.push_str("</tbody></table>\n<p class=\"notes\">High: a trip with a draught rise of at least the configured threshold or an identity change across the gap; medium: every other trip.</p>\n");
    }

    fn tally_table(&self, page: &mut String) {
        page.push_str("<table id=\"tally\"><thead><tr><th>Port</th><th>Month</th><th class=\"num\">Dark calls</th><th class=\"num\">Open calls</th><th class=\"num\">High confidence</th><th class=\"num\">Est. barrels</th></tr></thead><tbody>\n");
        for row in &self.rows {
            let port = esc(row.port.as_deref().unwrap_or_default());
            let month = row.month.as_deref().unwrap_or_default();
            let _ = writeln!(page, "<tr data-port=\"{port}\" data-month=\"{month}\" data-trips=\"{t}\" data-open-calls=\"{o}\" data-high-confidence=\"{h}\" data-est-barrels=\"{b:.0}\"><td>{port}</td><td>{month}</td><td class=\"num\">{t}</td><td class=\"num\">{o}</td><td class=\"num\">{h}</td><td class=\"num\">{}</td></tr>", barrels(row.est_barrels), t = row.trips, o = row.open_calls, h = row.high_confidence, b = row.est_barrels);
        }
        let t = &self.totals;
        let _ = writeln!(page, "</tbody><tfoot><tr><th colspan=\"2\">Total</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th></tr></tfoot></table>", t.trips, t.open_calls, t.high_confidence, barrels(t.est_barrels));
    }

    fn trips_table(&self, page: &mut String) {
        if self.trips.is_empty() {
            page.push_str("<p>No trip in the period.</p>\n");
            return;
        }
        page.push_str("<table id=\"trips\"><thead><tr><th>Vessel</th><th>Port</th><th>Dark from (UTC)</th><th>Dark until</th><th class=\"num\">Hours</th><th class=\"num\">Draught m</th><th class=\"num\">Est. bbl</th><th>Confidence</th><th class=\"num\">Cumulative bbl</th></tr></thead><tbody>\n");
        for line in &self.trips {
            let t = &line.trip;
            let draught = match (t.draught_before, t.draught_after) {
                (Some(b), Some(a)) => format!("{b:.1} to {a:.1}"),
                (Some(b), None) => format!("{b:.1} to ?"),
                _ => String::new(),
            };
            let imo = t.imo.map(|i| format!(", IMO {i}")).unwrap_or_default();
            let _ = writeln!(page, "<tr data-mmsi=\"{}\" data-dark-from=\"{}\" data-est-barrels=\"{}\"><td>{}<br><small>MMSI {}{imo}</small></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{draught}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                t.mmsi, t.dark_from, opt_fixed(t.est_barrels, 0),
                esc(t.name.as_deref().unwrap_or("unnamed")), t.mmsi,
                esc(t.port.as_deref().unwrap_or_default()), minute(t.dark_from),
                t.dark_until.map(minute).unwrap_or_default(), t.duration_hours,
                t.est_barrels.map(barrels).unwrap_or_default(),
                t.confidence.map(|c| c.as_str()).unwrap_or_default(),
                barrels(line.cumulative_est_barrels));
        }
        page.push_str("</tbody></table>\n");
    }

    fn notes(&self, page: &mut String) {
        page.push_str("<h2>How these numbers are made</h2>\n<div class=\"notes\">\n<p>A <b>dark call</b> (trip) is a closed gap of a watched vessel with a designated port near, reachable in the time with time to spare in port, and covered by receivers for enough of the gap; it counts once, at the port with the smallest detour, in the month of its last fix before the silence (<code>dark_from</code>). An <b>open call</b> is a port visit heard with AIS on during which none of the vessel's trips went dark, counted in the month of arrival.</p>\n");
        page.push_str("<p><b>Estimated barrels</b>: when the draught rose across the gap and the hull's dimensions are known, <code>tonnes = length &times; beam &times; block coefficient &times; draught rise &times; sea-water density</code>, <code>barrels = tonnes &times; barrels per tonne</code> (the detection settings). A trip without an estimate adds nothing to the total, so the total is a floor for the trips counted.</p>\n");
        let _ = writeln!(page, "<p>The <b>cap</b> is {} bbl a year ([report] annual_cap_bbl); pro rata over the period, from {} to {}, that is {} bbl. The same numbers are in the CSV files written with this report and in <code>aisgap query tally --by port,month</code> and <code>aisgap query trips</code>.</p>\n</div>", barrels(self.annual_cap_bbl), day(self.period_from), day(self.period_until), barrels(self.cap_over_period_bbl));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barrels_are_grouped_by_thousands() {
        assert_eq!(barrels(0.0), "0");
        assert_eq!(barrels(-0.0), "0");
        assert_eq!(barrels(999.4), "999");
        assert_eq!(barrels(187_482.0), "187,482");
        assert_eq!(barrels(1_000_000.0), "1,000,000");
        assert_eq!(barrels(-12_345.0), "-12,345");
    }

    #[test]
    fn a_period_spans_every_month_it_touches() {
        let from = UnixMillis::parse_user("2024-11-20").unwrap();
        let until = UnixMillis::parse_user("2025-02-01").unwrap();
        assert_eq!(
            month_range(from, until),
            ["2024-11", "2024-12", "2025-01"],
            "until is exclusive"
        );
        let same = UnixMillis::parse_user("2024-03-05").unwrap();
        assert_eq!(month_range(same, same), ["2024-03"]);
        assert_eq!(
            month_range(until, from),
            ["2025-02"],
            "backwards: the start's month"
        );
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(nice_step(540_000.0, 5.0), 200_000.0);
        assert_eq!(nice_step(14.0, 4.0), 5.0);
        assert_eq!(nice_step(3.0, 4.0), 1.0);
    }

    #[test]
    fn the_default_cap_is_the_un_one_and_bad_settings_are_named() {
        let params = TallyReportParams::default();
        assert_eq!(params.annual_cap_bbl, 500_000.0);
        assert!(params.cap_label.contains("2397"));
        assert!(params.problems().is_empty());
        let bad = TallyReportParams {
            annual_cap_bbl: -1.0,
            cap_label: " ".into(),
        };
        let keys: Vec<&str> = bad.problems().iter().map(|p| p.0).collect();
        assert_eq!(keys, ["annual_cap_bbl", "cap_label"]);
    }

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
