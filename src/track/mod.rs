//! Vessel state: every vessel heard, keyed by MMSI (last fix, identity and static data, thinned
//! track buffer), the segments (transmitters) an MMSI's fixes split into, and per-port hourly
//! coverage bins (distinct vessels heard near each port).
//! Pure: facts in, state out; the caller passes event times and never a clock.
//!
//! The vessel table lives in `vessels`, who a vessel says it is in `identity`, the packed
//! track points in `points` and the coverage bins in `coverage`; their public names are
//! re-exported here.

mod copies;
mod coverage;
mod identity;
mod points;
mod segments;
mod vessels;

use serde::{Deserialize, Serialize};

use crate::model::Fix;
use crate::time::UnixMillis;

pub use coverage::{Coverage, CoverageCheckpoint, CoverageReach, HourBin};
pub use identity::{Identity, IdentityChange};
pub use points::{pack_point, unpack_points, TrackChunk, TrackPoint, POINT_BYTES};
pub use segments::{LeftSegment, SegmentCounts, SegmentRow, SegmentRule, SegmentSummary};
pub use vessels::{FixOrder, SilenceEvidence, Vessel, VesselTable, VesselTableCheckpoint};

/// Where and when a vessel was: the part of a fix that gap judgement needs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub time: UnixMillis,
    pub lat: f64,
    pub lon: f64,
}

impl Position {
    pub fn of(fix: &Fix, time: UnixMillis) -> Position {
        Position {
            time,
            lat: fix.lat,
            lon: fix.lon,
        }
    }
}

/// Segments are numbered per MMSI from 1, in the order they were first heard.
pub const FIRST_SEGMENT: u32 = 1;

fn first_segment() -> u32 {
    FIRST_SEGMENT
}

pub fn day_of(time: UnixMillis) -> i64 {
    time.as_millis().div_euclid(86_400_000)
}
