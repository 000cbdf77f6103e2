//! `[detect]`'s parameters: the thresholds gap and trip judgement and the cargo estimate use.

use serde::{Deserialize, Serialize};

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
            visits: VisitParams::default(),
        }
    }
}
