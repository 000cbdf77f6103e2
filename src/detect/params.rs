//! `[detect]`'s parameters: the thresholds gap and trip judgement and the cargo estimate use.

use serde::{Deserialize, Serialize};

use super::at_sea::AtSeaParams;
use super::visits::VisitParams;

/// `[detect]`: what makes a gap, a feasible port call and a cargo estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectParams {
    /// Minimum silence, in hours, that makes a gap.
    pub gap_hours: f64,
    /// Speed, in knots, at which a port must be reachable during a gap.
    pub max_speed_kn: f64,
    /// Hours a vessel must have had in port for a call to be feasible.
    pub min_port_hours: f64,
    /// Other vessels heard in an hour near the port for that hour to count as covered.
    pub coverage_min_vessels: u32,
    /// Share (0..=1) of a trip's hours that must be covered.
    pub min_coverage: f64,
    /// Implied speed, in knots, above which the fix after a gap is not the same voyage.
    pub jump_speed_kn: f64,
    /// Watch every vessel, not only tankers and the watchlist.
    pub watch_all: bool,
    /// Draught rise, in metres, above which cargo is estimated.
    pub cargo_min_draught_rise_m: f64,
    /// Draught rise, in metres, above which the estimate is high confidence.
    pub high_confidence_draught_rise_m: f64,
    /// Hull fullness for the displacement estimate.
    pub block_coefficient: f64,
    /// Tonnes per cubic metre.
    pub seawater_density_t_m3: f64,
    /// Barrels per tonne of cargo.
    pub barrels_per_tonne: f64,
    /// Hours an event may be ahead of the stream clock before other vessels must confirm it.
    pub max_clock_jump_hours: f64,
    /// Distinct MMSIs whose events must agree on a time that far ahead before the clock moves.
    pub clock_jump_quorum: u32,
    /// Distance, in nautical miles, a fix may lie from its segment's last fix whatever the
    /// time between them (GPS scatter); beyond it, `jump_speed_kn` bounds the distance.
    pub segment_floor_nm: f64,
    /// Transmitters (segments) tracked per MMSI; the one heard least recently is given up
    /// for a new one. 1 keeps every MMSI one track.
    pub segments_per_mmsi: u32,
    /// Hours (by fix B, before the stream clock) during which a recorded gap is judged again
    /// when late data changes it: a late fix of its own inside it, or other vessels' late fixes
    /// that change its coverage. Older gaps keep their judgement.
    pub rejudge_horizon_hours: f64,
    /// Hours of silence after which a vessel leaves memory (its stored rows stay).
    pub forget_after_hours: f64,
    /// Vessels tracked in memory at most; beyond it the longest silent leave first.
    pub max_tracked_vessels: u32,
    /// `[encounters]` and `[loitering]`: read as sections of their own, carried here so that
    /// every engine (replay, run, reload) gets them with the rest of detection.
    #[serde(skip)]
    pub at_sea: AtSeaParams,
    /// `[detect.visits]`: port visits heard with AIS on.
    pub visits: VisitParams,
}

impl Default for DetectParams {
    fn default() -> Self {
        DetectParams {
            gap_hours: 6.0,
            max_speed_kn: 15.0,
            min_port_hours: 4.0,
            coverage_min_vessels: 2,
            min_coverage: 0.75,
            jump_speed_kn: 40.0,
            watch_all: false,
            cargo_min_draught_rise_m: 0.3,
            high_confidence_draught_rise_m: 0.5,
            block_coefficient: 0.80,
            seawater_density_t_m3: 1.025,
            barrels_per_tonne: 7.33,
            max_clock_jump_hours: 12.0,
            clock_jump_quorum: 3,
            segment_floor_nm: 1.0,
            segments_per_mmsi: 4,
            rejudge_horizon_hours: 72.0,
            forget_after_hours: 720.0,
            max_tracked_vessels: 1_000_000,
            at_sea: AtSeaParams::default(),
            visits: VisitParams::default(),
        }
    }
}
