//! Shuttle patterns: one vessel's repeated dark trips from the same area to the same
//! attributed port, the cycle time between them and when the next dark call is due if the
//! pattern holds. Pure: a function of stored trips, computed when asked.

use serde::{Deserialize, Serialize};

use crate::detect::{GapRecord, GapStatus};
use crate::model::Mmsi;
use crate::ports::{haversine_nm, METRES_PER_NM};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// What makes a pattern, given as query options (defaults shown in the README).
#[derive(Clone, Debug, PartialEq)]
pub struct PatternParams {
    /// Trips whose dark positions lie within this many km of another trip's (chained) share
    /// an origin area.
    pub origin_km: f64,
    /// Fewest trips that make a pattern: two give one cycle, three the first repeat of it.
    pub min_trips: usize,
}

impl Default for PatternParams {
    fn default() -> Self {
        PatternParams {
            origin_km: 50.0,
            min_trips: 3,
        }
    }
}

/// One vessel's shuttle between an origin area and a port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    pub mmsi: Mmsi,
    pub name: Option<String>,
    pub port: String,
    /// Centre of the dark positions (fix A) of the pattern's trips.
    pub origin_lat: f64,
    pub origin_lon: f64,
    /// Farthest trip's dark position from that centre.
    pub origin_radius_km: f64,
    pub trips: usize,
    /// When each trip went dark (fix A), oldest first.
    pub dark_from: Vec<UnixMillis>,
    /// Hours from one trip's going dark to the next's.
    pub cycle_median_hours: f64,
    /// Median absolute deviation of the cycle times: a spread one odd cycle cannot inflate.
    pub cycle_mad_hours: f64,
    pub cycle_min_hours: f64,
    pub cycle_max_hours: f64,
    /// The window in which the next dark call is due: last + median ± the larger of the
    /// deviation and a tenth of the median (identical cycles still leave some slack).
    pub next_expected_from: UnixMillis,
    pub next_expected_until: UnixMillis,
}

/// The patterns among `trips` (any order; gaps that are not watched trips are ignored),
/// sorted by vessel, port and first trip.
pub fn find_patterns(trips: &[GapRecord], params: &PatternParams) -> Vec<Pattern> {
    let mut trips: Vec<&GapRecord> = trips
        .iter()
        .filter(|t| t.status == GapStatus::Trip && t.watched && t.port.is_some())
        .collect();
    trips.sort_by(|a, b| (a.mmsi, &a.port, a.dark_from).cmp(&(b.mmsi, &b.port, b.dark_from)));
    let mut patterns = Vec::new();
    for group in trips.chunk_by(|a, b| a.mmsi == b.mmsi && a.port == b.port) {
        for area in origin_areas(group, params.origin_km) {
            if area.len() >= params.min_trips.max(2) {
                patterns.push(pattern_of(&area));
            }
        }
    }
    patterns
        .sort_by(|a, b| (a.mmsi, &a.port, a.dark_from[0]).cmp(&(b.mmsi, &b.port, b.dark_from[0])));
    patterns
}

/// Splits one vessel's trips to one port into areas: chains of dark positions each within
/// `origin_km` of another in the chain. Each area keeps time order.
fn origin_areas<'a>(trips: &[&'a GapRecord], origin_km: f64) -> Vec<Vec<&'a GapRecord>> {
    let mut area_of: Vec<usize> = (0..trips.len()).collect();
    fn root(area_of: &mut [usize], mut i: usize) -> usize {
        while area_of[i] != i {
            area_of[i] = area_of[area_of[i]];
            i = area_of[i];
        }
        i
    }
    for i in 0..trips.len() {
        for j in i + 1..trips.len() {
            if km_between(trips[i], trips[j]) <= origin_km {
                let (a, b) = (root(&mut area_of, i), root(&mut area_of, j));
                area_of[a.max(b)] = a.min(b);
            }
        }
    }
    let mut areas: Vec<(usize, Vec<&GapRecord>)> = Vec::new();
    for (i, trip) in trips.iter().enumerate() {
        let r = root(&mut area_of, i);
        match areas.iter_mut().find(|(root, _)| *root == r) {
            Some((_, area)) => area.push(trip),
            None => areas.push((r, vec![trip])),
        }
    }
    areas.into_iter().map(|(_, area)| area).collect()
}

fn km_between(a: &GapRecord, b: &GapRecord) -> f64 {
    haversine_nm(a.from_lat, a.from_lon, b.from_lat, b.from_lon) * METRES_PER_NM / 1000.0
}

fn pattern_of(trips: &[&GapRecord]) -> Pattern {
    let n = trips.len() as f64;
    let origin_lat = trips.iter().map(|t| t.from_lat).sum::<f64>() / n;
    let origin_lon = trips.iter().map(|t| t.from_lon).sum::<f64>() / n;
    let origin_radius_km = trips
        .iter()
        .map(|t| haversine_nm(origin_lat, origin_lon, t.from_lat, t.from_lon) * METRES_PER_NM)
        .fold(0.0, f64::max)
        / 1000.0;
    let cycles: Vec<f64> = trips
        .windows(2)
        .map(|w| w[0].dark_from.hours_until(w[1].dark_from))
        .collect();
    let median = median(&cycles);
    let deviations: Vec<f64> = cycles.iter().map(|c| (c - median).abs()).collect();
    let mad = median_of(&deviations);
    let half_width = mad.max(median / 10.0);
    let last = trips[trips.len() - 1].dark_from;
    let at = |hours: f64| UnixMillis(last.as_millis() + (hours * MILLIS_PER_HOUR as f64) as i64);
    Pattern {
        mmsi: trips[0].mmsi,
        name: trips
            .iter()
            .rev()
            .find_map(|t| t.name.as_deref().map(str::to_owned)),
        port: trips[0].port.clone().unwrap_or_default(),
        origin_lat,
        origin_lon,
        origin_radius_km,
        trips: trips.len(),
        dark_from: trips.iter().map(|t| t.dark_from).collect(),
        cycle_median_hours: median,
        cycle_mad_hours: mad,
        cycle_min_hours: cycles.iter().copied().fold(f64::INFINITY, f64::min),
        cycle_max_hours: cycles.iter().copied().fold(0.0, f64::max),
        next_expected_from: at(median - half_width),
        next_expected_until: at(median + half_width),
    }
}

fn median(values: &[f64]) -> f64 {
    median_of(values)
}

fn median_of(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Confidence;

    const T0: i64 = 1_709_856_000_000;
    const H: i64 = MILLIS_PER_HOUR;

    fn trip(mmsi: u32, port: &str, hour: i64, lat: f64, lon: f64) -> GapRecord {
        let time = |h: i64| serde_json::to_value(UnixMillis(T0 + h * H)).unwrap();
        let mut record = serde_json::from_value::<GapRecord>(serde_json::json!({
            "mmsi": mmsi, "imo": null, "name": "SHUTTLE", "callsign": null, "ship_type": 80,
            "status": "trip", "watched": true, "port": port,
            "dark_from": time(hour), "dark_until": time(hour + 30),
            "from_lat": lat, "from_lon": lon, "until_lat": lat, "until_lon": lon,
            "duration_hours": 30.0, "distance_nm": 0.0, "implied_speed_kn": 0.0,
            "detour_nm": 60.0, "slack_hours": 20.0, "coverage": 1.0, "dark_now": false,
            "draught_before": null, "draught_after": null, "draught_change": null,
            "identity_changes": [], "est_tonnes": null, "est_barrels": null,
            "confidence": "medium", "candidates": []
        }))
        .unwrap();
        record.confidence = Some(Confidence::Medium);
        record
    }

    #[test]
    fn six_round_trips_make_one_pattern_with_the_next_call_due_a_cycle_after_the_last() {
        let cycles = [72, 70, 75, 72, 90];
        let mut hour = 0;
        let mut trips = vec![trip(445_000_001, "Vostochny", 0, 42.3, 132.6)];
        for (i, c) in cycles.iter().enumerate() {
            hour += c;
            trips.push(trip(
                445_000_001,
                "Vostochny",
                hour,
                42.3 + i as f64 * 0.05,
                132.6,
            ));
        }
        // Another port and a lone far origin are not part of it.
        trips.push(trip(445_000_001, "Nakhodka", 40, 42.3, 132.6));
        trips.push(trip(445_000_001, "Vostochny", 500, 40.0, 129.0));
        let patterns = find_patterns(&trips, &PatternParams::default());
        assert_eq!(patterns.len(), 1, "{patterns:#?}");
        let p = &patterns[0];
        assert_eq!(p.trips, 6);
        assert_eq!(p.cycle_median_hours, 72.0);
        // Deviations 0, 2, 3, 0, 18: median 2.
        assert_eq!(p.cycle_mad_hours, 2.0);
        assert_eq!((p.cycle_min_hours, p.cycle_max_hours), (70.0, 90.0));
        // Half-width max(2, 7.2) around last + 72 h.
        assert_eq!(
            p.next_expected_from,
            UnixMillis(T0 + (379 + 72) * H - 72 * H / 10)
        );
        assert_eq!(
            p.next_expected_until,
            UnixMillis(T0 + (379 + 72) * H + 72 * H / 10)
        );
    }

    #[test]
    fn two_trips_are_not_yet_a_pattern_and_withdrawn_gaps_do_not_count() {
        let mut trips = vec![
            trip(445_000_001, "Vostochny", 0, 42.3, 132.6),
            trip(445_000_001, "Vostochny", 72, 42.3, 132.6),
        ];
        let mut withdrawn = trip(445_000_001, "Vostochny", 144, 42.3, 132.6);
        withdrawn.status = GapStatus::Withdrawn;
        trips.push(withdrawn);
        assert!(find_patterns(&trips, &PatternParams::default()).is_empty());
        let two = PatternParams {
            min_trips: 2,
            ..PatternParams::default()
        };
        assert_eq!(find_patterns(&trips, &two)[0].trips, 2);
    }
}
