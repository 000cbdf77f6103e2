//! Splitting the vessels of one input across several engines: which engine tracks a vessel,
//! the at-sea calls each engine hands to the one at-sea stage (in the order a whole engine
//! makes them), and the counters that add up.
//!
//! Every engine of a split takes every event: each keeps the stream clock, its guard and the
//! coverage counts of all vessels exactly as a whole engine does, and tracks, judges and writes
//! only its own vessels. Whatever a whole engine decides from the clock and the coverage, a
//! part decides at the same event from the same state, so the rows are those of one engine.

use std::sync::Arc;

use super::{Engine, EngineStats};
use crate::detect::at_sea::{Heard, Sample};
use crate::detect::sea_activity::AtSea;
use crate::detect::{DetectParams, GapRecord};
use crate::model::{AisEvent, Fix, Mmsi};
use crate::ports::Ports;
use crate::time::UnixMillis;
use crate::track::{Identity, Position};

/// The vessels one engine of a split tracks: those whose MMSI hashes to `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Partition {
    /// Every vessel: the one engine of an input that is not split.
    pub const WHOLE: Partition = Partition { index: 0, count: 1 };

    /// Part `index` of `count` (`index < count`, `count >= 1`).
    pub fn new(index: u32, count: u32) -> Partition {
        assert!(index < count, "part {index} of {count}");
        Partition { index, count }
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether this part tracks `mmsi`. MMSIs are spread by a multiplicative hash, so that
    /// the numbers of one country (one MID, consecutive blocks) fall to every part.
    pub fn owns(&self, mmsi: Mmsi) -> bool {
        self.count == 1 || part_of(mmsi, self.count) == self.index
    }

    /// The part that writes what belongs to no vessel (port-hour counts, the clock, the
    /// fingerprint of the judging rules) and counts the events every part sees.
    pub fn is_first(&self) -> bool {
        self.index == 0
    }
}

fn part_of(mmsi: Mmsi, count: u32) -> u32 {
    let spread = u64::from(mmsi.0).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    (spread % u64::from(count)) as u32
}

/// The steps of one applied event in which a whole engine calls the at-sea detectors, in
/// the order it takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    /// The hourly sweep's MMSIs with several transmitters, in MMSI order.
    Transmitters,
    /// Recorded gaps judged again: by flipped bin, then fix A's time, then MMSI.
    Rejudged,
    /// Vessels leaving memory at the daily sweep, in MMSI order.
    Forgotten,
    /// The clock's hour moved.
    Clock,
    /// Timers due, by due time then MMSI.
    Timers,
    /// The event's own vessel.
    #[default]
    Event,
    /// Vessels over the memory cap, in MMSI order.
    Evicted,
    /// The end of the input: open gaps written as they stand, in MMSI order.
    StillDark,
}

/// Where an at-sea call falls among all the calls of an input: the whole engine makes them in
/// this order, so the stage that takes the calls of several parts merges them by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AtSeaOrder {
    /// Events applied so far (every part applies every event).
    applied: u64,
    phase: Phase,
    /// Within the phase, what orders the vessels before their MMSI.
    within: (i64, i64),
    mmsi: Mmsi,
    /// The part's own count of calls: one vessel's calls come from one part, in its order.
    call: u64,
}

/// The step a part is in, which [`AtSeaOrder`] each call gets.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Place {
    pub applied: u64,
    pub phase: Phase,
    pub within: (i64, i64),
}

/// What the at-sea detectors are told, with what the engine knew of the vessel then.
#[derive(Clone, Debug)]
pub enum AtSeaCall {
    Fix {
        mmsi: Mmsi,
        watched: bool,
        identity: Arc<Identity>,
        sample: Sample,
    },
    LateFix {
        mmsi: Mmsi,
        sample: Sample,
        reported_speed: Option<f32>,
    },
    Identity {
        mmsi: Mmsi,
        time: UnixMillis,
        identity: Arc<Identity>,
    },
    Gap {
        record: Box<GapRecord>,
        identity: Option<Arc<Identity>>,
    },
    Clock(UnixMillis),
    StillDark {
        mmsi: Mmsi,
        watched: bool,
        identity: Arc<Identity>,
        a: Position,
        clock: UnixMillis,
    },
}

impl AtSeaCall {
    fn mmsi(&self) -> Mmsi {
        match self {
            AtSeaCall::Fix { mmsi, .. }
            | AtSeaCall::LateFix { mmsi, .. }
            | AtSeaCall::Identity { mmsi, .. }
            | AtSeaCall::StillDark { mmsi, .. } => *mmsi,
            AtSeaCall::Gap { record, .. } => record.mmsi,
            AtSeaCall::Clock(_) => Mmsi(0),
        }
    }

    /// Tells the detectors; their changes wait in `at_sea`.
    pub fn apply(self, at_sea: &mut AtSea, params: &DetectParams, ports: &Ports) {
        match self {
            AtSeaCall::Fix {
                mmsi,
                watched,
                identity,
                sample,
            } => {
                let heard = Heard {
                    mmsi,
                    watched,
                    identity: &identity,
                };
                at_sea.on_fix(params, ports, heard, sample);
            }
            AtSeaCall::LateFix {
                mmsi,
                sample,
                reported_speed,
            } => at_sea.on_late_fix(params, ports, mmsi, sample, reported_speed),
            AtSeaCall::Identity {
                mmsi,
                time,
                identity,
            } => at_sea.on_identity(params, mmsi, time, &identity),
            AtSeaCall::Gap { record, identity } => {
                at_sea.on_gap(params, ports, &record, identity.as_ref())
            }
            AtSeaCall::Clock(clock) => at_sea.on_clock(params, ports, clock),
            AtSeaCall::StillDark {
                mmsi,
                watched,
                identity,
                a,
                clock,
            } => {
                let heard = Heard {
                    mmsi,
                    watched,
                    identity: &identity,
                };
                at_sea.on_still_dark(params, ports, heard, a, clock);
            }
        }
    }
}

/// Where an engine's at-sea calls go.
#[derive(Debug, Default)]
pub(super) enum AtSeaCalls {
    /// To its own detectors, at once: a whole engine.
    #[default]
    Direct,
    /// Queued with their order for the stage that merges the parts' calls.
    Queued(Vec<(AtSeaOrder, AtSeaCall)>),
}

impl Engine {
    /// An engine that tracks only the vessels of `partition` (see [`Partition`]); its at-sea
    /// calls wait for [`Engine::take_at_sea_calls`] instead of reaching its own detectors.
    pub fn partitioned(
        params: DetectParams,
        ports: Vec<crate::ports::Port>,
        watchlist: crate::watchlist::Watchlist,
        track_interval_minutes: u32,
        partition: Partition,
    ) -> Engine {
        let mut engine = Engine::new(params, ports, watchlist, track_interval_minutes);
        engine.partition = partition;
        engine.at_sea_calls = AtSeaCalls::Queued(Vec::new());
        if !partition.is_first() {
            // One part writes what judges; the rows it carries are the same in every part.
            engine.changes.clear();
        }
        engine
    }

    /// [`Engine::ingest`] of an event whose fix's ports in reach were found already
    /// ([`crate::track::CoverageReach`]): the parts of a split all count every fix, and finding
    /// its ports once spares each of them the distances.
    pub fn ingest_reached(&mut self, event: &AisEvent, reached: &[u32]) {
        if let AisEvent::Fix(fix) = event {
            self.reached.clear();
            self.reached.extend_from_slice(reached);
            self.reached_at = Some((fix.lat.to_bits(), fix.lon.to_bits()));
        }
        self.ingest(event);
        self.reached_at = None;
    }

    /// Counts the fix in the coverage bins. Its ports in reach depend on its position alone,
    /// so those found for the event ingested serve any fix at the same position (an event the
    /// clock guard releases with it finds its own).
    pub(super) fn count_coverage(&mut self, fix: &Fix, time: UnixMillis) {
        if self.reached_at == Some((fix.lat.to_bits(), fix.lon.to_bits())) {
            self.coverage.count_reached(fix.mmsi, time, &self.reached);
        } else {
            self.coverage
                .observe(&self.ports, fix.mmsi, time, fix.lat, fix.lon);
        }
    }

    /// The at-sea calls made since the last call, in the order they were made.
    pub fn take_at_sea_calls(&mut self) -> Vec<(AtSeaOrder, AtSeaCall)> {
        match &mut self.at_sea_calls {
            AtSeaCalls::Direct => Vec::new(),
            AtSeaCalls::Queued(calls) => std::mem::take(calls),
        }
    }

    /// `max_tracked_vessels` shared out among the parts: the one setting whose results differ
    /// with the number of parts, and only once it is reached.
    pub(super) fn tracked_cap(&self) -> usize {
        (self.params.max_tracked_vessels as usize).div_ceil(self.partition.count as usize)
    }

    pub(super) fn set_phase(&mut self, phase: Phase, within: (i64, i64)) {
        self.place.phase = phase;
        self.place.within = within;
    }

    /// Hands `call` to the detectors, or queues it with its order.
    pub(super) fn call_at_sea(&mut self, call: AtSeaCall) {
        self.at_sea_made += 1;
        let order = AtSeaOrder {
            applied: self.place.applied,
            phase: self.place.phase,
            within: self.place.within,
            mmsi: call.mmsi(),
            call: self.at_sea_made,
        };
        match &mut self.at_sea_calls {
            AtSeaCalls::Queued(calls) => calls.push((order, call)),
            AtSeaCalls::Direct => {
                // The order a split's stage merges by must be the order calls are made in.
                debug_assert!(
                    self.last_at_sea_order.is_none_or(|last| last < order),
                    "at-sea call {order:?} after {:?}",
                    self.last_at_sea_order
                );
                self.last_at_sea_order = Some(order);
                call.apply(&mut self.at_sea, &self.params, &self.ports);
            }
        }
    }
}

impl EngineStats {
    /// Adds another part's counters of its own vessels. The counts of events every part sees
    /// (events, untimed, refused times) are the first part's alone.
    pub fn add_part(&mut self, part: &EngineStats) {
        let EngineStats {
            events: _,
            untimed: _,
            refused_time: _,
            fixes,
            non_vessel_fixes,
            duplicate_fixes,
            duplicate_reports,
            late_fixes,
            position_unavailable,
            vessel_reports,
            heartbeats,
            other_messages,
            gaps,
            trips,
            position_jumps,
            withdrawn,
            different_vessels,
            segments_started,
            segments_dropped,
            mmsis_with_several_transmitters,
            rejudged,
            forgotten_vessels,
            evicted_vessels,
            visits,
        } = part;
        self.fixes += fixes;
        self.non_vessel_fixes += non_vessel_fixes;
        self.duplicate_fixes += duplicate_fixes;
        self.duplicate_reports += duplicate_reports;
        self.late_fixes += late_fixes;
        self.position_unavailable += position_unavailable;
        self.vessel_reports += vessel_reports;
        self.heartbeats += heartbeats;
        self.other_messages += other_messages;
        self.gaps += gaps;
        self.trips += trips;
        self.position_jumps += position_jumps;
        self.withdrawn += withdrawn;
        self.different_vessels += different_vessels;
        self.segments_started += segments_started;
        self.segments_dropped += segments_dropped;
        self.mmsis_with_several_transmitters += mmsis_with_several_transmitters;
        self.rejudged += rejudged;
        self.forgotten_vessels += forgotten_vessels;
        self.evicted_vessels += evicted_vessels;
        self.visits.add(visits);
    }
}
