//! What every HTML report needs: the page's style and sections, escaping, number
//! formatting, the projection of positions onto an inline SVG map with its scale bar, and the
//! table of what judged.

use std::fmt::Write;

use crate::detect::DetectParams;
use crate::engine::provenance::Fingerprint;
use crate::time::UnixMillis;

/// The style every report page shares: readable on screen, laid out for A4 in print.
pub const STYLE: &str = r#"
body { font: 10.5pt/1.4 system-ui, "DejaVu Sans", Arial, sans-serif; color: #111; margin: 1.5em auto; max-width: 190mm; padding: 0 1em; }
h1 { font-size: 16pt; margin: 0 0 .2em; } h2 { font-size: 12pt; margin: 1.2em 0 .4em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; margin: .3em 0; } th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: left; vertical-align: top; }
th { background: #eee; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { white-space: pre-wrap; word-break: break-all; background: #f6f6f6; border: 1px solid #ddd; padding: 4px; margin: 2px 0; font-size: 8.5pt; }
code, .hash { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; word-break: break-all; }
.status { display: inline-block; padding: 1px 6px; border: 1px solid #333; border-radius: 3px; }
.changed { background: #fff1c2; } .muted { color: #555; } svg { width: 100%; height: auto; border: 1px solid #ccc; }
section { break-inside: avoid; page-break-inside: avoid; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; padding: 0; } section.evidence { break-inside: auto; } a { color: inherit; text-decoration: none; } }
"#;

/// Appends a titled section, `id` naming it for links and tests.
pub fn section(out: &mut String, id: &str, title: &str, body: &str) {
    let _ = writeln!(
        out,
        "<section class=\"{id}\" id=\"{id}\"><h2>{title}</h2>\n{body}</section>"
    );
}

/// The box (`min_lat`, `min_lon`, `max_lat`, `max_lon`) around the positions, `margin`
/// degrees wider on every side.
pub fn bounds_of(lats: &[f64], lons: &[f64], margin: f64) -> [f64; 4] {
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    [
        min(lats) - margin,
        min(lons) - margin,
        max(lats) + margin,
        max(lons) + margin,
    ]
}

/// A scale bar of a round number of nautical miles, about a fifth of the map's width, in its
/// lower left corner.
pub fn scale_bar(p: &Projection, w: f64, h: f64) -> String {
    let nm = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
        .into_iter()
        .rev()
        .find(|nm| nm * p.px_per_nm() <= w / 5.0)
        .unwrap_or(0.1);
    let len = nm * p.px_per_nm();
    format!(
        "<line x1=\"20\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\" stroke=\"#000\" stroke-width=\"2\"/><text x=\"20\" y=\"{ty:.1}\" font-size=\"11\">{nm} nm</text>",
        y = h - 14.0,
        x2 = 20.0 + len,
        ty = h - 18.0
    )
}

/// The table of one fingerprint: the program's version, the hashes of the ports, the
/// watchlist and the settings, and the settings themselves.
pub fn fingerprint_table(f: &Fingerprint) -> String {
    format!(
        "<table class=\"fingerprint\"><tr><th>fingerprint</th><td class=\"hash\" id=\"fingerprint-{id}\">{id}</td></tr>\
         <tr><th>aisgap</th><td>{}</td></tr><tr><th>ports (SHA-256)</th><td class=\"hash\">{}</td></tr>\
         <tr><th>watchlist (SHA-256)</th><td class=\"hash\">{}</td></tr><tr><th>detection settings (SHA-256)</th><td class=\"hash\">{}</td></tr></table>\
         <pre class=\"settings\">{}</pre>\n",
        escape(&f.version),
        f.ports_sha256,
        f.watchlist_sha256,
        f.detect_sha256,
        escape(&f.detect),
        id = escape(&f.id),
    )
}

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value or an em dash when there is none.
pub fn or_dash<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "—".to_string(), |v| escape(&v.to_string()))
}

/// `value` with `places` decimals, or an em dash.
pub fn fixed(value: Option<f64>, places: usize) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:.places$}"))
}

/// Positions to SVG coordinates: equirectangular with longitude scaled by the cosine of the
/// middle latitude (true shape at this scale), north up, fitted into `width` x `height`.
#[derive(Clone, Copy, Debug)]
pub struct Projection {
    min_lon: f64,
    max_lat: f64,
    scale: f64,
    lon_factor: f64,
    pad: f64,
}

impl Projection {
    /// Fits the box (`min_lat`, `min_lon`, `max_lat`, `max_lon`) with `pad` pixels around.
    pub fn fit(bounds: [f64; 4], width: f64, height: f64, pad: f64) -> Projection {
        let [min_lat, min_lon, max_lat, max_lon] = bounds;
        let lon_factor = ((min_lat + max_lat) / 2.0).to_radians().cos().max(0.05);
        let span_x = ((max_lon - min_lon) * lon_factor).max(1e-6);
        let span_y = (max_lat - min_lat).max(1e-6);
        let scale = ((width - 2.0 * pad) / span_x).min((height - 2.0 * pad) / span_y);
        // Centre the shorter side.
        let extra_x = (width - 2.0 * pad - span_x * scale) / 2.0;
        let extra_y = (height - 2.0 * pad - span_y * scale) / 2.0;
        Projection {
            min_lon: min_lon - extra_x / scale / lon_factor,
            max_lat: max_lat + extra_y / scale,
            scale,
            lon_factor,
            pad,
        }
    }

    /// SVG `(x, y)` of a position.
    pub fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            self.pad + (lon - self.min_lon) * self.lon_factor * self.scale,
            self.pad + (self.max_lat - lat) * self.scale,
        )
    }

    /// Pixels per nautical mile (a minute of latitude).
    pub fn px_per_nm(&self) -> f64 {
        self.scale / 60.0
    }
}

/// The `points` attribute of a polyline through `positions`.
pub fn points(projection: &Projection, positions: impl Iterator<Item = (f64, f64)>) -> String {
    let mut out = String::new();
    for (lat, lon) in positions {
        let (x, y) = projection.xy(lat, lon);
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out.trim_end().to_string()
}

/// Closes a report: the version that wrote it and the database's stream clock.
pub fn end_page(out: &mut String, stream_clock: Option<UnixMillis>) {
    let _ = writeln!(
        out,
        "<p class=\"muted\">aisgap {}; database stream clock {}.</p>\n</body></html>",
        env!("CARGO_PKG_VERSION"),
        or_dash(stream_clock)
    );
}

/// The cargo estimate worked through for a report: the formula, its inputs in a table, and the
/// sum with its result (or why there is none).
pub struct CargoWorking<'a> {
    /// What precedes the table, as HTML: the formula and when an estimate is made.
    pub preamble: String,
    /// The input table's `id`, if it has one.
    pub table_id: Option<&'a str>,
    pub length: Option<u16>,
    pub beam: Option<u16>,
    pub rise: f64,
    pub tonnes: Option<f64>,
    pub barrels: Option<f64>,
    /// Why there is no estimate when the dimensions are known but the rise is too small.
    pub too_small: &'a str,
    /// Why there is none when length or beam is unknown.
    pub no_dimensions: &'a str,
}

impl CargoWorking<'_> {
    pub fn to_html(&self, p: &DetectParams) -> String {
        let id = self
            .table_id
            .map_or(String::new(), |id| format!(" id=\"{id}\""));
        let rise = self.rise;
        let mut out = format!(
            "{}<table{id}><tr><th>length</th><th>beam</th><th>block coefficient</th><th>draught rise</th><th>density</th><th>bbl per t</th></tr>\
             <tr><td class=\"num\">{} m</td><td class=\"num\">{} m</td><td class=\"num\">{}</td><td class=\"num\">{rise:.2} m</td><td class=\"num\">{} t/m³</td><td class=\"num\">{}</td></tr></table>\n",
            self.preamble,
            or_dash(self.length),
            or_dash(self.beam),
            p.block_coefficient,
            p.seawater_density_t_m3,
            p.barrels_per_tonne
        );
        match (self.length, self.beam, self.tonnes) {
            (Some(l), Some(b), Some(tonnes)) => {
                let _ = writeln!(
                    out,
                    "<p>{l} × {b} × {} × {rise:.2} × {} = <b>{tonnes:.1} t</b>; × {} = <b>{} bbl</b>.</p>",
                    p.block_coefficient,
                    p.seawater_density_t_m3,
                    p.barrels_per_tonne,
                    fixed(self.barrels, 0)
                );
            }
            _ => {
                let why = if self.length.is_none() || self.beam.is_none() {
                    self.no_dimensions
                } else {
                    self.too_small
                };
                let _ = writeln!(out, "<p>No estimate: {why}.</p>");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_shown_not_run() {
        assert_eq!(
            escape(r#"<b>"A&B's"</b>"#),
            "&lt;b&gt;&quot;A&amp;B&#39;s&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn the_box_fits_with_north_up_and_true_shape() {
        let p = Projection::fit([42.0, 133.0, 43.0, 134.0], 400.0, 400.0, 10.0);
        let (x0, y0) = p.xy(42.0, 133.0);
        let (x1, y1) = p.xy(43.0, 134.0);
        assert!(y1 < y0, "north is up");
        assert!(x1 > x0);
        // A degree of longitude at 42.5° N is cos(42.5°) of a degree of latitude.
        let ratio = (x1 - x0) / (y0 - y1);
        assert!((ratio - 42.5f64.to_radians().cos()).abs() < 1e-9);
        assert!((10.0..=390.0).contains(&x0) && (10.0..=390.0).contains(&y1));
    }
}
