//! A vessel's thinned track: its points and their packed 24-byte form, shared by the vessel
//! table's buffers and the store.

use serde::Serialize;

use crate::model::{Fix, Mmsi};
use crate::time::UnixMillis;

/// A stored point of a vessel's thinned track.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TrackPoint {
    pub time: UnixMillis,
    pub lat: f64,
    pub lon: f64,
    pub sog: Option<f32>,
    pub cog: Option<f32>,
    pub heading: Option<u16>,
    pub nav_status: Option<u8>,
    /// Arrived after a newer fix of the same vessel.
    pub late: bool,
    /// The segment (transmitter) of its MMSI it belongs to; kept by the chunk, not packed.
    pub segment: u32,
}

impl TrackPoint {
    pub fn of(fix: &Fix, time: UnixMillis, late: bool) -> TrackPoint {
        TrackPoint {
            time,
            lat: fix.lat,
            lon: fix.lon,
            sog: fix.sog,
            cog: fix.cog,
            heading: fix.heading,
            nav_status: fix.nav_status,
            late,
            segment: super::FIRST_SEGMENT,
        }
    }
}

/// A full track buffer or a finished day, ready to be written: packed points of one vessel
/// and one UTC day.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackChunk {
    pub mmsi: Mmsi,
    /// The segment of the MMSI every point belongs to.
    pub segment: u32,
    /// UTC day number since 1970-01-01.
    pub day: i64,
    pub packed: Vec<u8>,
}

impl TrackChunk {
    pub fn points(&self) -> Vec<TrackPoint> {
        unpack_points(&self.packed)
    }

    /// Earliest and latest point times.
    pub fn time_span(&self) -> (UnixMillis, UnixMillis) {
        let times = self.packed.chunks_exact(POINT_BYTES).map(point_time);
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for t in times {
            first = first.min(t);
            last = last.max(t);
        }
        (UnixMillis(first), UnixMillis(last))
    }
}

// Track points are packed, 24 bytes each, in memory and in the store alike, so a vessel-day of
// track costs little to buffer and is one row to write.
pub const POINT_BYTES: usize = 24;
const NONE_U16: u16 = u16::MAX;
const NONE_U8: u8 = u8::MAX;

/// Appends one point in its packed form: assembled first and appended at once, so that a
/// vessel's growing buffer is checked and grown once per point rather than once per field.
pub fn pack_point(point: &TrackPoint, packed: &mut Vec<u8>) {
    let tenths =
        |v: Option<f32>| v.map_or(NONE_U16, |v| (v * 10.0).round().clamp(0.0, 65_534.0) as u16);
    let mut bytes = [0u8; POINT_BYTES];
    bytes[0..8].copy_from_slice(&point.time.as_millis().to_le_bytes());
    bytes[8..12].copy_from_slice(&((point.lat * 1e7).round() as i32).to_le_bytes());
    bytes[12..16].copy_from_slice(&((point.lon * 1e7).round() as i32).to_le_bytes());
    bytes[16..18].copy_from_slice(&tenths(point.sog).to_le_bytes());
    bytes[18..20].copy_from_slice(&tenths(point.cog).to_le_bytes());
    bytes[20..22].copy_from_slice(&point.heading.unwrap_or(NONE_U16).to_le_bytes());
    bytes[22] = point.nav_status.unwrap_or(NONE_U8);
    bytes[23] = u8::from(point.late);
    packed.extend_from_slice(&bytes);
}

pub(super) fn point_time(b: &[u8]) -> i64 {
    i64::from_le_bytes(b[0..8].try_into().expect("8 bytes"))
}

/// Unpacks points written by [`pack_point`] (a trailing partial point is ignored).
pub fn unpack_points(packed: &[u8]) -> Vec<TrackPoint> {
    packed
        .chunks_exact(POINT_BYTES)
        .map(|b| {
            let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
            let i32_at = |i: usize| i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
            let tenths = |v: u16| (v != NONE_U16).then(|| f32::from(v) / 10.0);
            TrackPoint {
                time: UnixMillis(point_time(b)),
                lat: f64::from(i32_at(8)) / 1e7,
                lon: f64::from(i32_at(12)) / 1e7,
                sog: tenths(u16_at(16)),
                cog: tenths(u16_at(18)),
                heading: Some(u16_at(20)).filter(|h| *h != NONE_U16),
                nav_status: Some(b[22]).filter(|s| *s != NONE_U8),
                late: b[23] != 0,
                segment: super::FIRST_SEGMENT,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_points_round_trip_through_their_packed_form() {
        let points = vec![
            TrackPoint {
                time: UnixMillis(1_711_929_600_000),
                lat: 42.735_123_4,
                lon: 133.075_987_6,
                sog: Some(11.3),
                cog: Some(359.9),
                heading: Some(510),
                nav_status: Some(5),
                late: false,
                segment: 1,
            },
            TrackPoint {
                time: UnixMillis(1_711_929_660_000),
                lat: -33.5,
                lon: -179.999_999_9,
                sog: None,
                cog: None,
                heading: None,
                nav_status: None,
                late: true,
                segment: 1,
            },
        ];
        let mut packed = Vec::new();
        for p in &points {
            pack_point(p, &mut packed);
        }
        assert_eq!(packed.len(), 2 * POINT_BYTES);
        let decoded = unpack_points(&packed);
        assert_eq!(decoded.len(), 2);
        for (d, p) in decoded.iter().zip(&points) {
            assert_eq!(d.time, p.time);
            assert!((d.lat - p.lat).abs() < 1e-7 && (d.lon - p.lon).abs() < 1e-7);
            assert_eq!(
                (d.sog, d.cog, d.heading, d.nav_status, d.late),
                (p.sog, p.cog, p.heading, p.nav_status, p.late)
            );
        }
        let chunk = TrackChunk {
            mmsi: Mmsi(1),
            segment: 1,
            day: 0,
            packed,
        };
        assert_eq!(chunk.time_span(), (points[0].time, points[1].time));
    }
}
