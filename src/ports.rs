//! Designated ports: their zones as read from GeoJSON, and the distance and containment tests
//! that detection asks of them.
//!
//! Earth model, used by every distance in this crate: a sphere of mean radius 6371.0088 km
//! (the IUGG/GRS80 mean radius, the one `geo`'s `Haversine` uses), great-circle distances by
//! the haversine formula, and 1 nautical mile = 1852 m exactly. The sphere is off from the
//! WGS84 ellipsoid by at most about 0.5 %, far below AIS position noise at the distances that
//! matter here (a few to a few hundred nautical miles).

use std::collections::HashMap;
use std::path::Path;

use geo::{
    Centroid, Closest, Coord, Distance, Haversine, HaversineClosestPoint, Intersects, LineString,
    MultiPolygon, Point, Polygon, Validation,
};
use serde_json::{Map, Value};

use crate::problem::ConfigProblem;

/// Metres in one nautical mile (exact, by definition).
pub const METRES_PER_NM: f64 = 1852.0;

/// `approach_nm` when a feature does not give one.
pub const DEFAULT_APPROACH_NM: f64 = 100.0;

/// `coverage_nm` when a feature does not give one.
pub const DEFAULT_COVERAGE_NM: f64 = 20.0;

/// Great-circle distance in nautical miles between two positions given in degrees.
/// Haversine on a sphere of mean radius 6371.0088 km (see the module docs).
pub fn haversine_nm(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    Haversine.distance(Point::new(lon1, lat1), Point::new(lon2, lat2)) / METRES_PER_NM
}

/// A designated port: where it is, and how far out detection should look around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    /// Unique across all ports files; how users and reports name the port.
    pub name: String,
    pub zone: PortZone,
    /// A gap that starts or ends within this distance of the zone is a candidate port call.
    pub approach_nm: f64,
    /// Radius around the zone in which other vessels' fixes count towards coverage.
    pub coverage_nm: f64,
    /// Per-port override of `[detect] gap_hours`.
    pub gap_hours: Option<f64>,
}

/// The water that counts as "in port".
#[derive(Clone, Debug, PartialEq)]
pub enum PortZone {
    /// Everything within `radius_nm` of a centre (a GeoJSON Point with `radius_nm`).
    Circle { lat: f64, lon: f64, radius_nm: f64 },
    /// A drawn area (a GeoJSON Polygon or MultiPolygon); x is longitude, y latitude.
    Area(MultiPolygon<f64>),
}

impl Port {
    /// A circular port with the default approach and coverage distances and no gap override.
    pub fn circle(name: &str, lat: f64, lon: f64, radius_nm: f64) -> Port {
        Port {
            name: name.to_owned(),
            zone: PortZone::Circle {
                lat,
                lon,
                radius_nm,
            },
            approach_nm: DEFAULT_APPROACH_NM,
            coverage_nm: DEFAULT_COVERAGE_NM,
            gap_hours: None,
        }
    }

    /// Great-circle distance in nautical miles from a position to the zone, 0 inside it.
    /// Circle: `max(0, haversine(centre) - radius)`. Area: distance to the nearest point of the
    /// boundary, measured along great circles (haversine, mean radius 6371.0088 km, 1 nm =
    /// 1852 m). Containment itself is decided in plain longitude/latitude, which for zones a
    /// few miles across differs from the spherical answer by metres.
    pub fn distance_nm(&self, lat: f64, lon: f64) -> f64 {
        match &self.zone {
            PortZone::Circle {
                lat: c_lat,
                lon: c_lon,
                radius_nm,
            } => (haversine_nm(lat, lon, *c_lat, *c_lon) - radius_nm).max(0.0),
            PortZone::Area(area) => {
                let here = Point::new(lon, lat);
                if area.intersects(&here) {
                    return 0.0;
                }
                match area.haversine_closest_point(&here) {
                    Closest::Intersection(_) => 0.0,
                    Closest::SinglePoint(nearest) => {
                        Haversine.distance(here, nearest) / METRES_PER_NM
                    }
                    // Only reachable for degenerate rings, which loading rejects; the nearest
                    // vertex is still an honest upper bound.
                    Closest::Indeterminate => area
                        .iter()
                        .flat_map(|polygon| polygon.exterior().points())
                        .map(|vertex| Haversine.distance(here, vertex) / METRES_PER_NM)
                        .fold(f64::INFINITY, f64::min),
                }
            }
        }
    }

    /// Whether a position lies in the zone (its boundary included).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        match &self.zone {
            PortZone::Circle {
                lat: c_lat,
                lon: c_lon,
                radius_nm,
            } => haversine_nm(lat, lon, *c_lat, *c_lon) <= *radius_nm,
            PortZone::Area(area) => area.intersects(&Point::new(lon, lat)),
        }
    }

    /// `(lat, lon)` of the circle's centre or the area's centroid.
    pub fn centre(&self) -> (f64, f64) {
        match &self.zone {
            PortZone::Circle { lat, lon, .. } => (*lat, *lon),
            PortZone::Area(area) => match area.centroid() {
                Some(c) => (c.y(), c.x()),
                // Loading guarantees at least one non-degenerate ring, so this is a fallback
                // for hand-built zones only.
                None => area
                    .iter()
                    .flat_map(|polygon| polygon.exterior().points())
                    .next()
                    .map_or((0.0, 0.0), |p| (p.y(), p.x())),
            },
        }
    }

    /// One line describing the zone, for summaries: "circle 2.0 nm around 42.7350 N 133.0750 E".
    pub fn zone_description(&self) -> String {
        match &self.zone {
            PortZone::Circle {
                lat,
                lon,
                radius_nm,
            } => format!(
                "circle {radius_nm:.1} nm around {}",
                format_position(*lat, *lon)
            ),
            PortZone::Area(area) => {
                let (lat, lon) = self.centre();
                let vertices: usize = area.iter().map(|p| p.exterior().0.len() - 1).sum();
                format!(
                    "area of {} polygon(s), {vertices} vertices, centred {}",
                    area.0.len(),
                    format_position(lat, lon)
                )
            }
        }
    }

    /// The zone as a GeoJSON geometry, the form [`parse_ports`] reads: a circle as its centre
    /// Point carrying `radius_nm`, an area as a MultiPolygon. The store keeps ports in this
    /// form so that queries and exports need no config.
    pub fn zone_geojson(&self) -> Value {
        match &self.zone {
            PortZone::Circle {
                lat,
                lon,
                radius_nm,
            } => {
                serde_json::json!({ "type": "Point", "coordinates": [lon, lat], "radius_nm": radius_nm })
            }
            PortZone::Area(area) => {
                let polygons: Vec<Value> = area
                    .0
                    .iter()
                    .map(|polygon| {
                        let ring = |line: &geo::LineString<f64>| {
                            line.0
                                .iter()
                                .map(|c| serde_json::json!([c.x, c.y]))
                                .collect::<Vec<_>>()
                        };
                        let mut rings = vec![ring(polygon.exterior())];
                        rings.extend(polygon.interiors().iter().map(ring));
                        serde_json::json!(rings)
                    })
                    .collect();
                serde_json::json!({ "type": "MultiPolygon", "coordinates": polygons })
            }
        }
    }
}

/// "42.7350 N 133.0750 E"
pub fn format_position(lat: f64, lon: f64) -> String {
    let ns = if lat < 0.0 { 'S' } else { 'N' };
    let ew = if lon < 0.0 { 'W' } else { 'E' };
    format!("{:.4} {ns} {:.4} {ew}", lat.abs(), lon.abs())
}

/// Reads a GeoJSON FeatureCollection of designated ports. Every bad feature is reported, each
/// with its position in the file (1-based) and its name when it has one.
pub fn load_ports(path: &Path) -> Result<Vec<Port>, Vec<ConfigProblem>> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        vec![ConfigProblem {
            file: path.to_path_buf(),
            location: None,
            field: None,
            message: format!("cannot read the ports file: {err}"),
        }]
    })?;
    parse_ports(&text, path)
}

/// Parses the text of a ports GeoJSON file; `path` only labels the problems.
pub fn parse_ports(text: &str, path: &Path) -> Result<Vec<Port>, Vec<ConfigProblem>> {
    let problem = |location: Option<String>, field: Option<&str>, message: String| ConfigProblem {
        file: path.to_path_buf(),
        location,
        field: field.map(str::to_owned),
        message,
    };
    let root: Value = serde_json::from_str(text).map_err(|err| {
        vec![problem(
            Some(format!("line {}, column {}", err.line(), err.column())),
            None,
            format!("not valid JSON: {err}"),
        )]
    })?;
    let Some(root) = root.as_object() else {
        return Err(vec![problem(
            None,
            None,
            "expected a GeoJSON FeatureCollection object".to_owned(),
        )]);
    };
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(vec![problem(
            None,
            Some("type"),
            "expected \"FeatureCollection\"".to_owned(),
        )]);
    }
    let Some(features) = root.get("features").and_then(Value::as_array) else {
        return Err(vec![problem(
            None,
            Some("features"),
            "expected an array of features".to_owned(),
        )]);
    };

    let mut problems = Vec::new();
    let mut ports = Vec::new();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (index, feature) in features.iter().enumerate() {
        let number = index + 1;
        let name = feature
            .get("properties")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let location = match name {
            Some(name) => format!("feature {number} ({name})"),
            None => format!("feature {number}"),
        };
        let mut feature_problems = Vec::new();
        let port = parse_feature(feature, &mut |field: &str, message: String| {
            feature_problems.push(problem(Some(location.clone()), Some(field), message));
        });
        if let Some(name) = name {
            match first_seen.get(name) {
                Some(first) => feature_problems.push(problem(
                    Some(location.clone()),
                    Some("properties.name"),
                    format!("duplicate port name: feature {first} already uses it"),
                )),
                None => {
                    first_seen.insert(name.to_owned(), number);
                }
            }
        }
        match port {
            Some(port) if feature_problems.is_empty() => ports.push(port),
            _ => problems.extend(feature_problems),
        }
    }
    if problems.is_empty() {
        Ok(ports)
    } else {
        Err(problems)
    }
}

/// One feature to a port, or `None` after reporting why not through `fail(field, message)`.
fn parse_feature(feature: &Value, fail: &mut dyn FnMut(&str, String)) -> Option<Port> {
    let Some(feature) = feature.as_object() else {
        fail("type", "expected a GeoJSON Feature object".to_owned());
        return None;
    };
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        fail("type", "expected \"Feature\"".to_owned());
    }
    let empty = Map::new();
    let properties = match feature.get("properties") {
        Some(Value::Object(p)) => p,
        _ => {
            fail(
                "properties",
                "expected an object with at least `name`".to_owned(),
            );
            &empty
        }
    };
    let name = match properties.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => Some(n.trim().to_owned()),
        Some(Value::String(_)) => {
            fail("properties.name", "must not be empty".to_owned());
            None
        }
        Some(other) => {
            fail(
                "properties.name",
                format!("expected a string, found {}", json_kind(other)),
            );
            None
        }
        None => {
            // Without a properties object that problem is already reported.
            if matches!(feature.get("properties"), Some(Value::Object(_))) {
                fail("properties.name", "is required".to_owned());
            }
            None
        }
    };
    let approach_nm = optional_positive(properties, "approach_nm", fail);
    let coverage_nm = optional_positive(properties, "coverage_nm", fail);
    let gap_hours = optional_positive(properties, "gap_hours", fail);
    let radius_nm = optional_positive(properties, "radius_nm", fail);

    let zone = match feature.get("geometry") {
        Some(Value::Object(geometry)) => parse_zone(geometry, radius_nm, properties, fail),
        Some(Value::Null) | None => {
            fail(
                "geometry",
                "is required (a Point, Polygon or MultiPolygon)".to_owned(),
            );
            None
        }
        Some(other) => {
            fail(
                "geometry",
                format!("expected an object, found {}", json_kind(other)),
            );
            None
        }
    };
    Some(Port {
        name: name?,
        zone: zone?,
        approach_nm: approach_nm.ok()?.unwrap_or(DEFAULT_APPROACH_NM),
        coverage_nm: coverage_nm.ok()?.unwrap_or(DEFAULT_COVERAGE_NM),
        gap_hours: gap_hours.ok()?,
    })
}

/// `Ok(None)` when absent, `Ok(Some(v))` for a finite number > 0, `Err(())` after reporting.
fn optional_positive(
    properties: &Map<String, Value>,
    key: &str,
    fail: &mut dyn FnMut(&str, String),
) -> Result<Option<f64>, ()> {
    let field = format!("properties.{key}");
    match properties.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
            _ => {
                fail(&field, format!("must be a number greater than 0, got {n}"));
                Err(())
            }
        },
        Some(other) => {
            fail(
                &field,
                format!("expected a number, found {}", json_kind(other)),
            );
            Err(())
        }
    }
}

fn parse_zone(
    geometry: &Map<String, Value>,
    radius_nm: Result<Option<f64>, ()>,
    properties: &Map<String, Value>,
    fail: &mut dyn FnMut(&str, String),
) -> Option<PortZone> {
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
    let Some(coordinates) = geometry.get("coordinates") else {
        fail("geometry.coordinates", "is required".to_owned());
        return None;
    };
    match kind {
        "Point" => {
            let position = parse_position(coordinates, "geometry.coordinates", fail);
            let radius_nm = match radius_nm {
                Ok(Some(r)) => Some(r),
                Ok(None) => {
                    fail(
                        "properties.radius_nm",
                        "a Point zone needs radius_nm (nautical miles, > 0)".to_owned(),
                    );
                    None
                }
                Err(()) => None,
            };
            let (lon, lat) = position?;
            Some(PortZone::Circle {
                lat,
                lon,
                radius_nm: radius_nm?,
            })
        }
        "Polygon" | "MultiPolygon" => {
            if properties.contains_key("radius_nm") {
                fail(
                    "properties.radius_nm",
                    format!("applies only to Point zones; a {kind} is its own boundary"),
                );
            }
            let polygons = if kind == "Polygon" {
                vec![parse_polygon(coordinates, "geometry.coordinates", fail)]
            } else {
                match coordinates.as_array() {
                    Some(items) if !items.is_empty() => items
                        .iter()
                        .enumerate()
                        .map(|(i, p)| parse_polygon(p, &format!("geometry.coordinates[{i}]"), fail))
                        .collect(),
                    _ => {
                        fail(
                            "geometry.coordinates",
                            "expected a non-empty array of polygons".to_owned(),
                        );
                        vec![None]
                    }
                }
            };
            let polygons: Option<Vec<Polygon<f64>>> = polygons.into_iter().collect();
            let area = MultiPolygon(polygons?);
            let mut valid = true;
            for invalid in area.validation_errors() {
                fail("geometry", format!("invalid {kind}: {invalid}"));
                valid = false;
            }
            valid.then_some(PortZone::Area(area))
        }
        "" => {
            fail("geometry.type", "is required".to_owned());
            None
        }
        other => {
            fail(
                "geometry.type",
                format!("unsupported geometry {other:?}; use Point, Polygon or MultiPolygon"),
            );
            None
        }
    }
}

/// GeoJSON Polygon coordinates: rings of `[lon, lat]`, each closed, the first the exterior.
fn parse_polygon(
    rings: &Value,
    field: &str,
    fail: &mut dyn FnMut(&str, String),
) -> Option<Polygon<f64>> {
    let Some(rings) = rings.as_array().filter(|r| !r.is_empty()) else {
        fail(
            field,
            "expected a non-empty array of linear rings".to_owned(),
        );
        return None;
    };
    let mut parsed = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let ring_field = format!("{field}[{r}]");
        let Some(points) = ring.as_array() else {
            fail(&ring_field, "expected an array of positions".to_owned());
            parsed.push(None);
            continue;
        };
        let positions: Option<Vec<(f64, f64)>> = points
            .iter()
            .enumerate()
            .map(|(p, point)| parse_position(point, &format!("{ring_field}[{p}]"), fail))
            .collect();
        let Some(positions) = positions else {
            parsed.push(None);
            continue;
        };
        let role = if r == 0 { "exterior" } else { "interior" };
        if positions.len() < 4 {
            fail(
                &ring_field,
                format!(
                    "{role} ring has {} positions; a closed ring needs at least 4",
                    positions.len()
                ),
            );
            parsed.push(None);
            continue;
        }
        if positions.first() != positions.last() {
            fail(&ring_field, {
                let (first, last) = (positions[0], positions[positions.len() - 1]);
                format!(
                    "{role} ring is not closed: it must end where it starts, [{}, {}], \
                         not at [{}, {}]",
                    first.0, first.1, last.0, last.1
                )
            });
            parsed.push(None);
            continue;
        }
        let (min_lon, max_lon) = positions
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (lon, _)| {
                (lo.min(*lon), hi.max(*lon))
            });
        if max_lon - min_lon > 180.0 {
            fail(
                &ring_field,
                "spans more than 180 degrees of longitude; zones across the antimeridian are \
                 not supported, split it into a MultiPolygon on either side"
                    .to_owned(),
            );
            parsed.push(None);
            continue;
        }
        parsed.push(Some(LineString(
            positions.into_iter().map(|(x, y)| Coord { x, y }).collect(),
        )));
    }
    let mut rings: Vec<LineString<f64>> = parsed.into_iter().collect::<Option<_>>()?;
    let exterior = rings.remove(0);
    Some(Polygon::new(exterior, rings))
}

/// A GeoJSON position `[lon, lat]` (extra elements such as altitude are ignored) -> `(lon, lat)`.
fn parse_position(
    position: &Value,
    field: &str,
    fail: &mut dyn FnMut(&str, String),
) -> Option<(f64, f64)> {
    let numbers: Option<Vec<f64>> = position
        .as_array()
        .map(|items| items.iter().map(Value::as_f64).collect())
        .unwrap_or(None);
    match numbers.as_deref() {
        Some([lon, lat, ..]) => {
            if !(-180.0..=180.0).contains(lon) || !(-90.0..=90.0).contains(lat) {
                fail(
                    field,
                    format!(
                        "position [{lon}, {lat}] is out of range; GeoJSON order is \
                         [longitude -180..180, latitude -90..90]"
                    ),
                );
                None
            } else {
                Some((*lon, *lat))
            }
        }
        _ => {
            fail(
                field,
                format!("expected a position [longitude, latitude], found {position}"),
            );
            None
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Margin on every indexed box: the degrees-per-mile conversions below are first-order, and a
/// box a little too wide only costs an exact test more.
const INDEX_MARGIN: f64 = 1.02;

type IndexedBox = rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>;

/// The ports whose zone lies within some distance of a position, found through an R-tree of
/// each zone's bounding box widened by that distance, so that a fix far from every port costs
/// a tree descent instead of a test per port. Candidates are a superset; callers still apply
/// the exact distance.
#[derive(Debug)]
pub struct PortIndex {
    tree: rstar::RTree<IndexedBox>,
}

impl PortIndex {
    /// Indexes `ports` (by position in the slice), each widened by `reach_nm(port)`.
    pub fn new(ports: &[Port], reach_nm: impl Fn(&Port) -> f64) -> PortIndex {
        let mut boxes = Vec::with_capacity(ports.len());
        for (index, port) in ports.iter().enumerate() {
            for [lon_min, lat_min, lon_max, lat_max] in port.reach_boxes(reach_nm(port)) {
                let corners = rstar::primitives::Rectangle::from_corners(
                    [lon_min, lat_min],
                    [lon_max, lat_max],
                );
                boxes.push(IndexedBox::new(corners, index));
            }
        }
        PortIndex {
            tree: rstar::RTree::bulk_load(boxes),
        }
    }

    /// The indices of the ports that may lie within reach of the position, ascending (the
    /// order of the ports, so that results do not depend on the tree's layout).
    pub fn candidates(&self, lat: f64, lon: f64, out: &mut Vec<usize>) {
        out.clear();
        out.extend(self.tree.locate_all_at_point(&[lon, lat]).map(|b| b.data));
        out.sort_unstable();
        out.dedup();
    }

    /// The indices, ascending, of the ports whose widened box meets `port`'s zone widened by
    /// `reach_nm`: candidates for zones that share water.
    pub fn meeting(&self, port: &Port, reach_nm: f64, out: &mut Vec<usize>) {
        out.clear();
        for [lon_min, lat_min, lon_max, lat_max] in port.reach_boxes(reach_nm) {
            let envelope = rstar::AABB::from_corners([lon_min, lat_min], [lon_max, lat_max]);
            out.extend(
                self.tree
                    .locate_in_envelope_intersecting(&envelope)
                    .map(|b| b.data),
            );
        }
        out.sort_unstable();
        out.dedup();
    }
}

impl Port {
    /// `[lon_min, lat_min, lon_max, lat_max]` boxes that hold every position within `reach_nm`
    /// of the zone: one, or two when the widened box crosses the antimeridian; on the stack,
    /// as the at-sea detectors ask this at every slow fix.
    fn reach_boxes(&self, reach_nm: f64) -> impl Iterator<Item = [f64; 4]> {
        let (lat_min, lat_max, lon_min, lon_max, reach_nm) = match &self.zone {
            PortZone::Circle {
                lat,
                lon,
                radius_nm,
            } => (*lat, *lat, *lon, *lon, reach_nm + radius_nm),
            PortZone::Area(area) => {
                use geo::BoundingRect;
                match area.bounding_rect() {
                    Some(r) => (r.min().y, r.max().y, r.min().x, r.max().x, reach_nm),
                    None => return [[0.0; 4]; 2].into_iter().take(0),
                }
            }
        };
        // A degree of latitude is 60.04 nm on this sphere; 60 errs on the wide side.
        let reach_deg = reach_nm.max(0.0) / 60.0 * INDEX_MARGIN + 1e-9;
        let (south, north) = (lat_min - reach_deg, lat_max + reach_deg);
        let poleward = south.abs().max(north.abs());
        let lon_reach = if poleward >= 89.0 {
            f64::INFINITY
        } else {
            reach_deg / poleward.to_radians().cos()
        };
        let (south, north) = (south.max(-90.0), north.min(90.0));
        let (west, east) = (lon_min - lon_reach, lon_max + lon_reach);
        let first = [west.max(-180.0), south, east.min(180.0), north];
        let (boxes, len) = match () {
            _ if east - west >= 360.0 => ([[-180.0, south, 180.0, north]; 2], 1),
            _ if west < -180.0 => ([first, [west + 360.0, south, 180.0, north]], 2),
            _ if east > 180.0 => ([first, [-180.0, south, east - 360.0, north]], 2),
            _ => ([first; 2], 1),
        };
        boxes.into_iter().take(len)
    }
}

/// The designated ports as detection uses them: the list, an index of each port's approach
/// distance, and the lowest per-port gap threshold, computed once rather than per judgement.
#[derive(Debug)]
pub struct Ports {
    list: Vec<Port>,
    approach: PortIndex,
    /// Each zone's own bounding box, for "within some distance" questions of any distance.
    zones: PortIndex,
    lowest_gap_hours: Option<f64>,
}

impl Ports {
    pub fn new(list: Vec<Port>) -> Ports {
        Ports {
            approach: PortIndex::new(&list, |p| p.approach_nm),
            zones: PortIndex::new(&list, |_| 0.0),
            lowest_gap_hours: list.iter().filter_map(|p| p.gap_hours).reduce(f64::min),
            list,
        }
    }

    /// Indices, ascending, of the ports that may be within their approach distance of the
    /// position (a superset: the caller applies the exact test).
    pub fn near(&self, lat: f64, lon: f64, out: &mut Vec<usize>) {
        self.approach.candidates(lat, lon, out);
    }

    /// Indices, ascending, of the ports whose zone may lie within `nm` of the position (a
    /// superset: the caller applies the exact distance).
    pub fn within(&self, lat: f64, lon: f64, nm: f64, out: &mut Vec<usize>) {
        let probe = Port::circle("", lat, lon, 0.0);
        self.zones.meeting(&probe, nm, out);
    }

    /// The nearest port and its distance (nm) from the position; the same answer as measuring
    /// every port, found by widening an indexed search until it holds one.
    pub fn nearest(&self, lat: f64, lon: f64) -> Option<(&Port, f64)> {
        let mut near = Vec::new();
        for radius_nm in [25.0, 250.0, 2_500.0] {
            self.within(lat, lon, radius_nm, &mut near);
            let best = near
                .iter()
                .map(|&i| (&self.list[i], self.list[i].distance_nm(lat, lon)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            // Any port nearer than one found within the radius is within it too.
            if let Some(best) = best.filter(|b| b.1 <= radius_nm) {
                return Some(best);
            }
        }
        self.list
            .iter()
            .map(|p| (p, p.distance_nm(lat, lon)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The first port (in the list's order) whose zone holds the position.
    pub fn containing(&self, lat: f64, lon: f64) -> Option<usize> {
        // A zone's own box holds every point of it: a point query, which allocates nothing
        // away from every port (the case of almost every fix).
        let mut near = Vec::new();
        self.zones.candidates(lat, lon, &mut near);
        near.into_iter().find(|&i| self.list[i].contains(lat, lon))
    }

    /// Whether every zone lies at least `min_nm` from the position: [`Ports::within`]'s
    /// candidates straight from the tree (a port met twice cannot change an "all"), unallocated.
    pub fn all_at_least(&self, lat: f64, lon: f64, min_nm: f64) -> bool {
        let probe = Port::circle("", lat, lon, 0.0);
        probe.reach_boxes(min_nm).all(|[west, south, east, north]| {
            let envelope = rstar::AABB::from_corners([west, south], [east, north]);
            let mut near = self.zones.tree.locate_in_envelope_intersecting(&envelope);
            near.all(|b| self.list[b.data].distance_nm(lat, lon) >= min_nm)
        })
    }

    /// The lowest `gap_hours` any port overrides the global threshold with.
    pub fn lowest_gap_hours(&self) -> Option<f64> {
        self.lowest_gap_hours
    }
}

impl std::ops::Deref for Ports {
    type Target = [Port];

    fn deref(&self) -> &[Port] {
        &self.list
    }
}

impl From<Vec<Port>> for Ports {
    fn from(list: Vec<Port>) -> Ports {
        Ports::new(list)
    }
}

impl<const N: usize> From<[Port; N]> for Ports {
    fn from(list: [Port; N]) -> Ports {
        Ports::new(list.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_finds_every_port_within_reach_across_the_antimeridian_and_near_the_pole() {
        let square = |lon: f64, lat: f64, d: f64| {
            MultiPolygon(vec![Polygon::new(
                LineString::from(vec![
                    (lon - d, lat - d),
                    (lon + d, lat - d),
                    (lon + d, lat + d),
                    (lon - d, lat + d),
                    (lon - d, lat - d),
                ]),
                vec![],
            )])
        };
        let mut ports = vec![
            Port::circle("dateline", 10.0, 179.9, 2.0),
            Port::circle("west of it", -20.0, -179.8, 5.0),
            Port::circle("arctic", 78.0, 15.0, 3.0),
            Port::circle("vostochny", 42.735, 133.075, 2.0),
        ];
        ports.push(Port {
            zone: PortZone::Area(square(133.3, 42.8, 0.05)),
            ..Port::circle("kozmino", 0.0, 0.0, 1.0)
        });
        let index = PortIndex::new(&ports, |p| p.approach_nm);
        let mut found = Vec::new();
        let mut checked = 0;
        for (lat0, lon0) in [(10.0, 179.9), (-20.0, -179.8), (78.0, 15.0), (42.8, 133.2)] {
            for i in -40..=40 {
                for j in -40..=40 {
                    let lat = (lat0 + f64::from(i) * 0.06).clamp(-90.0, 90.0);
                    let mut lon = lon0 + f64::from(j) * 0.15;
                    if lon > 180.0 {
                        lon -= 360.0;
                    }
                    if lon < -180.0 {
                        lon += 360.0;
                    }
                    index.candidates(lat, lon, &mut found);
                    for (n, port) in ports.iter().enumerate() {
                        if port.distance_nm(lat, lon) <= port.approach_nm {
                            checked += 1;
                            assert!(found.contains(&n), "{} missed at {lat} {lon}", port.name);
                        }
                    }
                    assert!(
                        found.windows(2).all(|w| w[0] < w[1]),
                        "ascending: {found:?}"
                    );
                }
            }
        }
        assert!(
            checked > 5_000,
            "the grid reaches into every zone's approach: {checked}"
        );
        index.candidates(0.0, 0.0, &mut found);
        assert!(found.is_empty(), "far from every port: {found:?}");
    }

    fn parse(text: &str) -> Result<Vec<Port>, Vec<ConfigProblem>> {
        parse_ports(text, Path::new("test.geojson"))
    }

    fn collection(features: &str) -> String {
        format!(r#"{{"type":"FeatureCollection","features":[{features}]}}"#)
    }

    fn point(name: &str, lon: f64, lat: f64, extra: &str) -> String {
        format!(
            r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{lon},{lat}]}},
               "properties":{{"name":"{name}"{extra}}}}}"#
        )
    }

    fn messages(problems: &[ConfigProblem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn haversine_matches_a_known_distance() {
        // One degree of latitude on the 6371.0088 km sphere: 111.195 km = 60.04 nm.
        let d = haversine_nm(42.0, 133.0, 43.0, 133.0);
        assert!((d - 60.04).abs() < 0.01, "{d}");
        assert_eq!(haversine_nm(42.7, 133.0, 42.7, 133.0), 0.0);
        // Across the antimeridian the short way round.
        let across = haversine_nm(0.0, 179.5, 0.0, -179.5);
        assert!((across - 60.04).abs() < 0.01, "{across}");
    }

    #[test]
    fn indexed_nearest_and_distance_tests_agree_with_measuring_every_port() {
        let mut list = Vec::new();
        for i in 0..400 {
            let (lat, lon) = (
                -70.0 + (i % 20) as f64 * 7.3,
                -179.5 + (i / 20) as f64 * 17.9,
            );
            list.push(Port::circle(
                &format!("P{i}"),
                lat,
                lon,
                1.0 + (i % 3) as f64,
            ));
        }
        let ports = Ports::new(list.clone());
        for k in 0..500 {
            let (lat, lon) = (
                -80.0 + (k * 37 % 160) as f64 + 0.3,
                -180.0 + (k * 53 % 360) as f64,
            );
            let brute = list
                .iter()
                .map(|p| (p.name.clone(), p.distance_nm(lat, lon)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            let (port, nm) = ports.nearest(lat, lon).unwrap();
            assert_eq!((port.name.clone(), nm), brute, "nearest to ({lat}, {lon})");
            for min_nm in [5.0, 60.0, 600.0] {
                let every = list.iter().all(|p| p.distance_nm(lat, lon) >= min_nm);
                assert_eq!(
                    ports.all_at_least(lat, lon, min_nm),
                    every,
                    "({lat}, {lon}) {min_nm}"
                );
            }
        }
    }

    #[test]
    fn circle_distance_is_zero_inside_and_measured_from_the_rim_outside() {
        let port = Port::circle("Vostochny", 42.735, 133.075, 2.0);
        assert_eq!(port.distance_nm(42.735, 133.075), 0.0);
        assert!(port.contains(42.735, 133.075));
        // 3 nm due north of the centre: 1 nm beyond the rim.
        let north = 42.735 + 3.0 * METRES_PER_NM / 111_195.08;
        let d = port.distance_nm(north, 133.075);
        assert!((d - 1.0).abs() < 0.01, "{d}");
        assert!(!port.contains(north, 133.075));
        // On the rim counts as inside.
        let rim = 42.735 + 2.0 * METRES_PER_NM / 111_195.08;
        assert!(port.contains(rim - 1e-9, 133.075));
        assert_eq!(port.centre(), (42.735, 133.075));
    }

    fn square_port() -> Port {
        // 0.1 x 0.1 degree box around (42.75 N, 133.05 E).
        let ring = LineString::from(vec![
            (133.0, 42.7),
            (133.1, 42.7),
            (133.1, 42.8),
            (133.0, 42.8),
            (133.0, 42.7),
        ]);
        Port {
            zone: PortZone::Area(MultiPolygon(vec![Polygon::new(ring, vec![])])),
            ..Port::circle("Box", 0.0, 0.0, 1.0)
        }
    }

    #[test]
    fn area_distance_is_to_the_nearest_boundary_point() {
        let port = square_port();
        assert!(port.contains(42.75, 133.05));
        assert_eq!(port.distance_nm(42.75, 133.05), 0.0);
        // On the boundary.
        assert!(port.contains(42.7, 133.05));
        assert_eq!(port.distance_nm(42.7, 133.05), 0.0);
        // Due south of the south edge by 0.1 degree of latitude = 6.004 nm.
        let d = port.distance_nm(42.6, 133.05);
        assert!((d - 6.004).abs() < 0.01, "{d}");
        // Beyond a corner, the corner itself is nearest.
        let d = port.distance_nm(42.6, 133.2);
        let corner = haversine_nm(42.6, 133.2, 42.7, 133.1);
        assert!((d - corner).abs() < 1e-6, "{d} vs {corner}");
        let (lat, lon) = port.centre();
        assert!((lat - 42.75).abs() < 1e-9 && (lon - 133.05).abs() < 1e-9);
    }

    #[test]
    fn loads_points_with_defaults_and_overrides() {
        let text = collection(&[
            point("A", 133.075, 42.735, r#","radius_nm":2.0"#),
            point(
                "B",
                131.885,
                43.105,
                r#","radius_nm":3,"approach_nm":50,"coverage_nm":10,"gap_hours":12,"unlocode":"RUVVO""#,
            ),
        ]
        .join(","));
        let ports = parse(&text).unwrap();
        assert_eq!(ports.len(), 2);
        assert_eq!(ports[0], Port::circle("A", 42.735, 133.075, 2.0));
        assert_eq!(ports[1].approach_nm, 50.0);
        assert_eq!(ports[1].coverage_nm, 10.0);
        assert_eq!(ports[1].gap_hours, Some(12.0));
    }

    #[test]
    fn point_without_radius_is_refused() {
        let problems = parse(&collection(&point("Nakhodka", 132.885, 42.8, ""))).unwrap_err();
        assert_eq!(
            messages(&problems),
            [
                "test.geojson:feature 1 (Nakhodka): properties.radius_nm: a Point zone needs \
              radius_nm (nautical miles, > 0)"
            ]
        );
    }

    #[test]
    fn optional_distances_must_be_positive_numbers() {
        for (extra, field) in [
            (r#","radius_nm":0"#, "properties.radius_nm"),
            (r#","radius_nm":-1"#, "properties.radius_nm"),
            (
                r#","radius_nm":1,"approach_nm":0"#,
                "properties.approach_nm",
            ),
            (
                r#","radius_nm":1,"coverage_nm":-5"#,
                "properties.coverage_nm",
            ),
            (r#","radius_nm":1,"gap_hours":0"#, "properties.gap_hours"),
            (r#","radius_nm":1,"gap_hours":"6""#, "properties.gap_hours"),
        ] {
            let problems = parse(&collection(&point("P", 133.0, 42.0, extra))).unwrap_err();
            assert_eq!(problems.len(), 1, "{extra}: {problems:?}");
            assert_eq!(problems[0].field.as_deref(), Some(field), "{extra}");
        }
        // The smallest positive values are fine.
        let ok = point("P", 133.0, 42.0, r#","radius_nm":0.01,"gap_hours":0.5"#);
        assert!(parse(&collection(&ok)).is_ok());
    }

    #[test]
    fn every_bad_feature_is_reported_with_its_number_and_name() {
        let unclosed = r#"{"type":"Feature","properties":{"name":"Open"},
            "geometry":{"type":"Polygon","coordinates":[[[133,42],[133.1,42],[133.1,42.1],[133,42.1]]]}}"#;
        let nameless = r#"{"type":"Feature","properties":{},
            "geometry":{"type":"Point","coordinates":[133,42]}}"#;
        let text = collection(
            &[
                point("Dup", 133.0, 42.0, r#","radius_nm":1"#),
                point("Dup", 133.5, 42.5, r#","radius_nm":1"#),
                unclosed.to_owned(),
                nameless.to_owned(),
                point("Flipped", 42.0, 133.0, r#","radius_nm":1"#),
            ]
            .join(","),
        );
        let problems = parse(&text).unwrap_err();
        let text = messages(&problems).join("\n");
        assert!(text.contains("feature 2 (Dup): properties.name: duplicate port name: feature 1"));
        assert!(
            text.contains("feature 3 (Open): geometry.coordinates[0]: exterior ring is not closed")
        );
        assert!(text.contains("feature 4: properties.name: is required"));
        assert!(text.contains("feature 4: properties.radius_nm: a Point zone needs radius_nm"));
        assert!(text.contains(
            "feature 5 (Flipped): geometry.coordinates: position [42, 133] is out of range"
        ));
        assert_eq!(problems.len(), 5, "{text}");
    }

    #[test]
    fn polygon_rules() {
        let polygon = |coords: &str, extra: &str| {
            collection(&format!(
                r#"{{"type":"Feature","properties":{{"name":"Z"{extra}}},
                    "geometry":{{"type":"Polygon","coordinates":{coords}}}}}"#
            ))
        };
        let square = "[[[133,42],[133.1,42],[133.1,42.1],[133,42.1],[133,42]]]";
        let port = &parse(&polygon(square, "")).unwrap()[0];
        assert!(port.contains(42.05, 133.05));
        // Three positions cannot make a closed ring.
        let short = parse(&polygon("[[[133,42],[133.1,42],[133,42]]]", "")).unwrap_err();
        assert!(short[0].message.contains("at least 4"), "{short:?}");
        // A bow tie crosses itself.
        let bow = "[[[133,42],[133.1,42.1],[133.1,42],[133,42.1],[133,42]]]";
        let crossed = parse(&polygon(bow, "")).unwrap_err();
        assert!(
            crossed[0].message.starts_with("invalid Polygon"),
            "{crossed:?}"
        );
        // radius_nm means nothing on a polygon.
        let radius = parse(&polygon(square, r#","radius_nm":1"#)).unwrap_err();
        assert_eq!(radius[0].field.as_deref(), Some("properties.radius_nm"));
        // Antimeridian.
        let wide = "[[[179,65],[-179,65],[-179,66],[179,66],[179,65]]]";
        let wide = parse(&polygon(wide, "")).unwrap_err();
        assert!(wide[0].message.contains("antimeridian"), "{wide:?}");
    }

    #[test]
    fn multipolygon_zones_load() {
        let text = collection(
            r#"{"type":"Feature","properties":{"name":"Two"},"geometry":{"type":"MultiPolygon",
            "coordinates":[[[[133,42],[133.1,42],[133.1,42.1],[133,42.1],[133,42]]],
                           [[[134,42],[134.1,42],[134.1,42.1],[134,42.1],[134,42]]]]}}"#,
        );
        let port = &parse(&text).unwrap()[0];
        assert!(port.contains(42.05, 134.05));
        assert!(!port.contains(42.05, 133.5));
        // Between the two squares: nearest is the first square's east edge, 0.4 degrees of
        // longitude away at 42.05 N.
        let d = port.distance_nm(42.05, 133.5);
        let to_edge = haversine_nm(42.05, 133.5, 42.05, 133.1);
        assert!((d - to_edge).abs() < 0.01, "{d} vs {to_edge}");
    }

    #[test]
    fn not_a_feature_collection() {
        let problems = parse(r#"{"type":"Feature"}"#).unwrap_err();
        assert_eq!(problems[0].field.as_deref(), Some("type"));
        let problems = parse("{ nope").unwrap_err();
        assert_eq!(problems[0].location.as_deref(), Some("line 1, column 3"));
        let problems = parse(r#"{"type":"FeatureCollection"}"#).unwrap_err();
        assert_eq!(problems[0].field.as_deref(), Some("features"));
        let problems = parse(&collection(
            r#"{"type":"Feature","properties":{"name":"L"},"geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]}}"#,
        ))
        .unwrap_err();
        assert!(problems[0].message.contains("unsupported geometry"));
    }
}
