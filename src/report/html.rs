//! What every HTML report needs: escaping, number formatting, and the projection of
//! positions onto an inline SVG map.

use std::fmt::Write;

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
