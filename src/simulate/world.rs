//! The scenario's geography: designated ports (the same zones as `config/ports.geojson`), the
//! North Korean home ports, receiving stations, and the great-circle arithmetic in nautical
//! miles that both the tracks and the ground truth use.

/// Mean Earth radius (6,371,008.8 m) in nautical miles: the haversine radius `geo` uses.
pub const EARTH_RADIUS_NM: f64 = 6_371_008.8 / 1852.0;

/// A position in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

pub const fn ll(lat: f64, lon: f64) -> LatLon {
    LatLon { lat, lon }
}

/// Great-circle distance (haversine), nautical miles.
pub fn distance_nm(a: LatLon, b: LatLon) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_NM * h.sqrt().min(1.0).asin()
}

/// Initial true bearing from `a` to `b`, degrees in [0, 360).
pub fn bearing_deg(a: LatLon, b: LatLon) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlon = (b.lon - a.lon).to_radians();
    let y = dlon.sin() * la2.cos();
    let x = la1.cos() * la2.sin() - la1.sin() * la2.cos() * dlon.cos();
    (y.atan2(x).to_degrees() + 360.0) % 360.0
}

/// The point `nm` nautical miles from `a` on initial bearing `bearing` degrees.
pub fn offset(a: LatLon, bearing: f64, nm: f64) -> LatLon {
    let la1 = a.lat.to_radians();
    let lo1 = a.lon.to_radians();
    let b = bearing.to_radians();
    let d = nm / EARTH_RADIUS_NM;
    let la2 = (la1.sin() * d.cos() + la1.cos() * d.sin() * b.cos()).asin();
    let lo2 = lo1 + (b.sin() * d.sin() * la1.cos()).atan2(d.cos() - la1.sin() * la2.sin());
    ll(la2.to_degrees(), lo2.to_degrees())
}

/// Straight interpolation in degrees: exact enough over the tens of miles of one leg.
pub fn lerp(a: LatLon, b: LatLon, f: f64) -> LatLon {
    ll(a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f)
}

/// A designated port: a circle zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DesignatedPort {
    pub name: &'static str,
    pub centre: LatLon,
    pub radius_nm: f64,
}

impl DesignatedPort {
    /// Distance from a point to the zone: zero inside the circle.
    pub fn distance_nm(&self, p: LatLon) -> f64 {
        (distance_nm(self.centre, p) - self.radius_nm).max(0.0)
    }
}

/// The designated ports of the Russian Far East scenario; `config/ports.geojson` carries the
/// same circles with approach 100 nm and coverage 20 nm.
pub const DESIGNATED_PORTS: [DesignatedPort; 5] = [
    DesignatedPort {
        name: "Vostochny",
        centre: ll(42.735, 133.075),
        radius_nm: 2.0,
    },
    DesignatedPort {
        name: "Kozmino",
        centre: ll(42.728, 133.005),
        radius_nm: 1.5,
    },
    DesignatedPort {
        name: "Nakhodka",
        centre: ll(42.800, 132.885),
        radius_nm: 2.0,
    },
    DesignatedPort {
        name: "Vladivostok",
        centre: ll(43.105, 131.885),
        radius_nm: 3.0,
    },
    DesignatedPort {
        name: "Slavyanka",
        centre: ll(42.860, 131.380),
        radius_nm: 1.5,
    },
];

pub const VOSTOCHNY: usize = 0;
pub const NAKHODKA: usize = 2;
pub const VLADIVOSTOK: usize = 3;
pub const SLAVYANKA: usize = 4;

/// The detection rules the ground truth is computed with (the product's defaults).
pub mod rules {
    /// A gap end within this of a port makes the port "near", nm.
    pub const APPROACH_NM: f64 = 100.0;
    /// Other vessels heard within this of a port prove coverage, nm.
    pub const COVERAGE_NM: f64 = 20.0;
    /// Fastest plausible speed while dark, knots.
    pub const DARK_SPEED_KN: f64 = 15.0;
    /// Least time spent in port for a call, hours.
    pub const PORT_HOURS: f64 = 4.0;
    /// Share of the gap's hours that must be covered.
    pub const COVERED_SHARE: f64 = 0.75;
    /// Other vessels that must be heard in an hour for it to count as covered.
    pub const COVERING_VESSELS: usize = 2;
    /// Faster than this between A and B means two vessels share the MMSI, knots.
    pub const JUMP_KN: f64 = 40.0;
    /// A draught rise of at least this across the gap means loading, metres.
    pub const DRAUGHT_RISE_M: f64 = 0.5;
}

/// North Korean east-coast ports the tankers sail from.
pub const RAJIN: LatLon = ll(42.24, 130.30);
pub const CHONGJIN: LatLon = ll(41.77, 129.82);

/// A receiving station: tag-block `s:` name, its base station (type 4 heartbeat) and reach.
#[derive(Clone, Copy, Debug)]
pub struct Station {
    pub name: &'static str,
    /// Base-station MMSI sending type 4 every ten minutes; `None` for the satellite feed.
    pub base_mmsi: Option<u32>,
    pub site: LatLon,
    /// Vessels within this many nm are heard by this station.
    pub reach_nm: f64,
}

pub const STATIONS: [Station; 3] = [
    Station {
        name: "RU-NKH",
        base_mmsi: Some(2_734_410),
        site: ll(42.812, 132.902),
        reach_nm: 60.0,
    },
    Station {
        name: "RU-VVO",
        base_mmsi: Some(2_734_420),
        site: ll(43.112, 131.872),
        reach_nm: 60.0,
    },
    Station {
        name: "SAT-1",
        base_mmsi: None,
        site: ll(0.0, 0.0),
        reach_nm: f64::INFINITY,
    },
];

/// The station that hears a vessel at `p`: the nearest terrestrial one in reach, else the
/// satellite feed.
pub fn station_for(p: LatLon) -> usize {
    STATIONS
        .iter()
        .enumerate()
        .filter(|(_, s)| s.base_mmsi.is_some() && distance_nm(s.site, p) <= s.reach_nm)
        .min_by(|a, b| {
            distance_nm(a.1.site, p)
                .partial_cmp(&distance_nm(b.1.site, p))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(i, _)| i)
        .unwrap_or(STATIONS.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_offsets_agree() {
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        for bearing in [0.0, 45.0, 135.0, 200.0, 300.0] {
            let p = offset(v, bearing, 40.0);
            assert!((distance_nm(v, p) - 40.0).abs() < 1e-6);
            assert!((bearing_deg(v, p) - bearing).abs() < 1e-6);
        }
        // One minute of latitude is one nautical mile (to within the sphere's flattening).
        let d = distance_nm(ll(42.0, 133.0), ll(42.0 + 1.0 / 60.0, 133.0));
        assert!((d - 1.0).abs() < 0.01, "{d}");
    }

    #[test]
    fn port_distance_is_zero_inside_the_circle() {
        let v = &DESIGNATED_PORTS[VOSTOCHNY];
        assert_eq!(v.distance_nm(offset(v.centre, 90.0, 1.5)), 0.0);
        assert!((v.distance_nm(offset(v.centre, 90.0, 10.0)) - 8.0).abs() < 1e-6);
    }

    #[test]
    fn stations_hear_their_own_waters() {
        assert_eq!(
            STATIONS[station_for(DESIGNATED_PORTS[VOSTOCHNY].centre)].name,
            "RU-NKH"
        );
        assert_eq!(
            STATIONS[station_for(DESIGNATED_PORTS[VLADIVOSTOK].centre)].name,
            "RU-VVO"
        );
        assert_eq!(STATIONS[station_for(RAJIN)].name, "SAT-1");
    }
}
