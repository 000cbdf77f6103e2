//! The one at-sea detector the engine feeds with every fresh fix, identity change, gap
//! judgement and hourly advance of the stream clock: encounters, loitering and dark rendezvous
//! side by side, their changes in the order they happened.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::at_sea::{AtSeaStats, Heard, Sample, VesselAtSea};
use super::encounters::{EncounterRecord, Encounters};
use super::loitering::{Loitering, LoiteringRecord};
use super::rendezvous::{IdleArea, LegKind, PairRule, Rendezvous, RendezvousLeg, RendezvousRecord};
use super::round_to;
use super::withdrawals::Withdrawals;
use super::{DetectParams, GapRecord, GapStatus};
use crate::model::Mmsi;
use crate::ports::Ports;
use crate::time::UnixMillis;
use crate::track::Identity;

/// The at-sea detectors' counters in one record, flattened into the ingest table and the
/// metrics (`at_sea.encounters`, `at_sea.rendezvous.too_long`, ...): what an operator reads to
/// see why a meeting was not paired.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AtSeaCounters {
    #[serde(flatten)]
    pub found: AtSeaStats,
    pub rendezvous: super::rendezvous::RendezvousStats,
}
/// What the at-sea detectors ask the store to persist.
#[derive(Clone, Debug, PartialEq)]
pub enum AtSeaChange {
    /// Insert or replace the encounter keyed by (mmsi_a, mmsi_b, start).
    Encounter(Box<EncounterRecord>),
    /// Insert or replace the loitering episode keyed by (mmsi, start).
    Loitering(Box<LoiteringRecord>),
    /// Insert or replace the dark rendezvous keyed by both legs.
    Rendezvous(Box<RendezvousRecord>),
}

/// Encounter and loitering detection over the fixes as the engine applies them: pure, fed in
/// stream-clock order, so that a replay and a live run confirm the same episodes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AtSea {
    encounters: Encounters,
    loitering: Loitering,
    #[serde(default)]
    rendezvous: Rendezvous,
    #[serde(default)]
    withdrawals: Withdrawals,
    stats: AtSeaStats,
    #[serde(skip)]
    changes: Vec<AtSeaChange>,
    #[serde(skip)]
    found_rendezvous: Vec<RendezvousRecord>,
    #[serde(skip)]
    found_encounters: Vec<EncounterRecord>,
    #[serde(skip)]
    found_loitering: Vec<LoiteringRecord>,
}

impl AtSea {
    pub fn on_fix(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        vessel: Heard<'_>,
        sample: Sample,
    ) {
        self.rendezvous.heard(sample.time);
        if params.at_sea.loitering.enabled && vessel.watched {
            self.loitering.on_fix(
                &params.at_sea.loitering,
                ports,
                &vessel,
                sample,
                &mut self.found_loitering,
                &mut self.stats,
            );
        }
        if params.at_sea.encounters.enabled {
            self.encounters.on_fix(
                params,
                ports,
                &vessel,
                sample,
                &mut self.found_encounters,
                &mut self.stats,
            );
        }
        self.gather(params, ports);
    }

    /// A static report changed what the engine knows of the vessel.
    pub fn on_identity(
        &mut self,
        params: &DetectParams,
        mmsi: Mmsi,
        time: UnixMillis,
        identity: &Arc<Identity>,
    ) {
        self.encounters
            .on_identity(params, mmsi, time, identity, &mut self.found_encounters);
        self.loitering.on_identity(mmsi, identity);
        self.flush();
    }

    /// The stream clock moved: ends episodes whose vessels fell silent, and writes the
    /// progress of ongoing ones.
    pub fn on_clock(&mut self, params: &DetectParams, ports: &Ports, clock: UnixMillis) {
        self.encounters
            .on_clock(params, ports, clock, &mut self.found_encounters);
        self.loitering
            .on_clock(&params.at_sea.loitering, clock, &mut self.found_loitering);
        // A leg can still pair while a gap it overlaps may close or be judged again.
        let keep = params.rejudge_horizon_hours + params.at_sea.rendezvous.max_gap_hours;
        self.rendezvous.forget_before(clock.plus_hours(-keep));
        self.withdrawals
            .forget_before(clock.plus_hours(-params.rejudge_horizon_hours));
        self.gather(params, ports);
    }

    /// A gap's judgement was written. A closed silence of a pairable length becomes a
    /// rendezvous leg (again, if late data moved its ends); one withdrawn or found to join two
    /// transmitters or hulls takes its rendezvous with it. Open silences wait for the end of
    /// the input ([`AtSea::on_still_dark`]).
    pub fn on_gap(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        gap: &GapRecord,
        identity: Option<&Arc<Identity>>,
    ) {
        let p = &params.at_sea.rendezvous;
        if !p.enabled {
            return;
        }
        match gap.status {
            GapStatus::Open => return,
            GapStatus::Withdrawn | GapStatus::PositionJump | GapStatus::DifferentVessel => {
                self.rendezvous
                    .withdraw_leg(gap.key(), &mut self.found_rendezvous);
            }
            _ => {
                let (Some(until), Some(lat), Some(lon)) =
                    (gap.dark_until, gap.until_lat, gap.until_lon)
                else {
                    return;
                };
                let leg = RendezvousLeg {
                    vessel: vessel_of(gap, identity),
                    kind: LegKind::Gap,
                    from: gap.dark_from,
                    from_lat: gap.from_lat,
                    from_lon: gap.from_lon,
                    until,
                    until_lat: Some(lat),
                    until_lon: Some(lon),
                    hours: gap.duration_hours,
                    idle_area: None,
                };
                self.rendezvous
                    .on_leg(rule_of(params), ports, leg, &mut self.found_rendezvous);
            }
        }
        self.gather(params, ports);
    }

    /// A fix older than the vessel's latest arrived: confirmed encounters and loitering it
    /// contradicts are withdrawn (and rendezvous with that loitering).
    pub fn on_late_fix(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        mmsi: Mmsi,
        sample: Sample,
        reported_speed: Option<f32>,
    ) {
        let mut encounters = Vec::new();
        self.withdrawals.late_fix(
            &params.at_sea.encounters,
            &params.at_sea.loitering,
            ports,
            mmsi,
            sample.time,
            (sample.lat, sample.lon),
            reported_speed,
            (&mut encounters, &mut self.found_loitering),
        );
        self.found_encounters.extend(encounters);
        self.gather(params, ports);
    }

    pub fn withdrawn_episodes(&self) -> u64 {
        self.withdrawals.count
    }

    /// The end of the input: a watched vessel still dark since fix A at `clock` is paired
    /// as it stands (it could be anywhere within reach of A).
    pub fn on_still_dark(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        vessel: Heard<'_>,
        a: crate::track::Position,
        clock: UnixMillis,
    ) {
        let p = &params.at_sea.rendezvous;
        if !p.enabled {
            return;
        }
        let leg = RendezvousLeg {
            vessel: VesselAtSea::of(vessel.mmsi, vessel.identity, vessel.watched),
            kind: LegKind::OpenGap,
            from: a.time,
            from_lat: a.lat,
            from_lon: a.lon,
            until: clock,
            until_lat: None,
            until_lon: None,
            hours: round_to(a.time.hours_until(clock), 4),
            idle_area: None,
        };
        self.rendezvous
            .on_leg(rule_of(params), ports, leg, &mut self.found_rendezvous);
        self.gather(params, ports);
    }

    /// Loitering first: a vessel's idling is confirmed before the meeting it waited for. Each
    /// loitering record is also a rendezvous leg for watched vessels dark at the time.
    fn gather(&mut self, params: &DetectParams, ports: &Ports) {
        // Most fixes find nothing: they pay no more than these looks.
        if self.found_loitering.is_empty()
            && self.found_encounters.is_empty()
            && self.found_rendezvous.is_empty()
        {
            return;
        }
        let p = &params.at_sea.rendezvous;
        for l in std::mem::take(&mut self.found_loitering) {
            if !self.withdrawals.follow_loitering(&l) {
                continue;
            }
            if l.status == super::at_sea::EpisodeStatus::Withdrawn {
                self.rendezvous
                    .withdraw_leg(l.key(), &mut self.found_rendezvous);
            } else if p.enabled {
                self.rendezvous.on_leg(
                    rule_of(params),
                    ports,
                    idle_leg(&l),
                    &mut self.found_rendezvous,
                );
            }
            self.changes.push(AtSeaChange::Loitering(Box::new(l)));
        }
        self.flush();
    }

    /// Encounters, then the rendezvous found since the last call.
    fn flush(&mut self) {
        debug_assert!(self.found_loitering.is_empty());
        for e in std::mem::take(&mut self.found_encounters) {
            if self.withdrawals.follow_encounter(&e) {
                self.changes.push(AtSeaChange::Encounter(Box::new(e)));
            }
        }
        let rendezvous = self.found_rendezvous.drain(..);
        self.changes
            .extend(rendezvous.map(|r| AtSeaChange::Rendezvous(Box::new(r))));
    }

    pub fn take_changes(&mut self) -> Vec<AtSeaChange> {
        std::mem::take(&mut self.changes)
    }

    /// Whether anything waits for [`AtSea::take_changes`].
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn stats(&self) -> &AtSeaStats {
        &self.stats
    }

    pub fn rendezvous_stats(&self) -> &super::rendezvous::RendezvousStats {
        self.rendezvous.stats()
    }

    /// Every counter of the at-sea detectors, findings and what was left unjudged alike.
    pub fn counters(&self) -> AtSeaCounters {
        AtSeaCounters {
            found: self.stats.clone(),
            rendezvous: self.rendezvous.stats().clone(),
        }
    }

    /// Vessels and pairs the encounter and loitering detectors hold: what their memory is
    /// proportional to.
    pub fn held(&self) -> (usize, usize) {
        (
            self.encounters.vessels_held() + self.loitering.vessels_held(),
            self.encounters.pairs_held(),
        )
    }

    /// Written episodes kept for late data, and rendezvous legs and pairs: memory that follows
    /// the re-judging horizon, not the vessels.
    pub fn held_for_late_data(&self) -> (usize, usize, usize) {
        let (legs, pairs) = self.rendezvous.held();
        (self.withdrawals.held(), legs, pairs)
    }
}

fn rule_of(params: &DetectParams) -> PairRule<'_> {
    PairRule {
        params: &params.at_sea.rendezvous,
        min_feed_share: params.min_coverage,
    }
}

/// A gap's vessel as a rendezvous names it: the gap's identity, with the hull's dimensions
/// the engine knows.
fn vessel_of(gap: &GapRecord, identity: Option<&Arc<Identity>>) -> VesselAtSea {
    let mut vessel = match identity {
        Some(identity) => VesselAtSea::of(gap.mmsi, identity, gap.watched),
        None => VesselAtSea::of(gap.mmsi, &Identity::default(), gap.watched),
    };
    vessel.imo = gap.imo.or(vessel.imo);
    vessel.name = gap.name.clone().or(vessel.name);
    vessel.ship_type = gap.ship_type.or(vessel.ship_type);
    vessel
}

/// A loitering episode as a rendezvous leg: idling around its mean position, as far out as
/// its first or last fix lay (at least a cable, for GPS scatter).
fn idle_leg(l: &LoiteringRecord) -> RendezvousLeg {
    let radius_nm = crate::ports::haversine_nm(l.lat, l.lon, l.start_lat, l.start_lon)
        .max(crate::ports::haversine_nm(
            l.lat, l.lon, l.end_lat, l.end_lon,
        ))
        .max(0.1);
    RendezvousLeg {
        vessel: l.vessel.clone(),
        kind: LegKind::Loitering,
        from: l.start,
        from_lat: l.start_lat,
        from_lon: l.start_lon,
        until: l.end,
        until_lat: Some(l.end_lat),
        until_lon: Some(l.end_lon),
        hours: l.duration_hours,
        idle_area: Some(IdleArea {
            lat: l.lat,
            lon: l.lon,
            radius_nm: round_to(radius_nm, 3),
        }),
    }
}

/// A staged case for tests: two vessels side by side at sea for 4 h, one watched (an
/// encounter, a loitering episode), then apart.
#[cfg(test)]
pub(crate) mod staged {
    use super::*;

    const MINUTE: i64 = 60_000;

    /// The detectors' changes at each 5-minute step from `t0` to 400 minutes after, fed in time
    /// order; `before_step` may replace the detectors (a checkpoint restored) at each minute.
    pub(crate) fn side_by_side(
        t0: i64,
        mut before_step: impl FnMut(i64, &mut AtSea),
    ) -> Vec<(i64, Vec<AtSeaChange>)> {
        let params = DetectParams::default();
        let identity = Arc::new(Identity::default());
        let mut at_sea = AtSea::default();
        let mut steps = Vec::new();
        for minute in (0..=400).step_by(5) {
            before_step(minute, &mut at_sea);
            let time = UnixMillis(t0 + minute * MINUTE);
            for (k, mmsi) in [(0u32, 445_000_001u32), (1, 273_000_001)] {
                let apart = if minute > 240 { 0.3 } else { 0.002 };
                let sample = Sample {
                    time: UnixMillis(time.as_millis() + i64::from(k) * 60_000),
                    lat: 41.0 + f64::from(k) * apart,
                    lon: 134.0,
                    speed_kn: 0.2,
                };
                let heard = Heard {
                    mmsi: Mmsi(mmsi),
                    watched: k == 0,
                    identity: &identity,
                };
                at_sea.on_fix(&params, &Ports::from([]), heard, sample);
            }
            if minute % 60 == 0 {
                at_sea.on_clock(&params, &Ports::from([]), time);
            }
            steps.push((minute, at_sea.take_changes()));
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The staged case side by side; `split` takes a checkpoint (JSON, as the service stores
    /// it) at that minute and goes on from it.
    fn run(split: Option<i64>) -> Vec<AtSeaChange> {
        let steps = staged::side_by_side(0, |minute, at_sea| {
            if Some(minute) == split {
                let text = serde_json::to_string(&*at_sea).unwrap();
                *at_sea = serde_json::from_str(&text).unwrap();
            }
        });
        steps.into_iter().flat_map(|(_, changes)| changes).collect()
    }

    #[test]
    fn a_restored_checkpoint_goes_on_as_if_never_interrupted() {
        let whole = run(None);
        assert!(whole
            .iter()
            .any(|c| matches!(c, AtSeaChange::Encounter(e) if e.status == super::super::at_sea::EpisodeStatus::Closed)));
        for split in [0, 5, 100, 200, 245, 300] {
            assert_eq!(run(Some(split)), whole, "checkpoint at minute {split}");
        }
    }
}
