//! Late data against confirmed encounters and loitering: a fix that arrives after the episode
//! was written, timed inside it, and shows the vessel elsewhere (beyond the encounter distance
//! from the meeting segment, or, for loitering, too fast or too near a port) withdraws it.
//! The parts either side are not judged again (the detectors keep no fixes once an episode is
//! written); the record stays, with status `withdrawn`, and later progress of the same episode
//! is not written over it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::at_sea::{EncounterParams, EpisodeStatus, LoiteringParams};
use super::encounters::EncounterRecord;
use super::loitering::LoiteringRecord;
use crate::model::Mmsi;
use crate::ports::{Ports, METRES_PER_NM};
use crate::time::UnixMillis;

type EncounterKey = (Mmsi, Mmsi, UnixMillis);
type LoiteringKey = (Mmsi, UnixMillis);

/// The confirmed episodes late data may still withdraw, and those it did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Withdrawals {
    encounters: Vec<EncounterRecord>,
    loitering: Vec<LoiteringRecord>,
    withdrawn_encounters: BTreeSet<EncounterKey>,
    withdrawn_loitering: BTreeSet<LoiteringKey>,
    /// Episodes withdrawn so far.
    #[serde(default)]
    pub count: u64,
}

/// Distance in nautical miles from a point to the segment p-q (planar, in a local frame: a
/// meeting segment is a few miles at most).
fn to_segment_nm(lat: f64, lon: f64, p: (f64, f64), q: (f64, f64)) -> f64 {
    let scale = lat.to_radians().cos();
    let (px, py) = ((p.1 - lon) * scale * 60.0, (p.0 - lat) * 60.0);
    let (qx, qy) = ((q.1 - lon) * scale * 60.0, (q.0 - lat) * 60.0);
    let (dx, dy) = (qx - px, qy - py);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 {
        (-(px * dx + py * dy) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (px + t * dx, py + t * dy);
    (x * x + y * y).sqrt()
}

impl Withdrawals {
    /// Keeps the latest written state of an encounter; `false` when it was withdrawn and the
    /// change must not be written.
    pub fn follow_encounter(&mut self, e: &EncounterRecord) -> bool {
        if e.status == EpisodeStatus::Withdrawn {
            return true;
        }
        if self.withdrawn_encounters.contains(&e.key()) {
            return false;
        }
        // From the newest: an ongoing episode's progress follows its confirmation closely.
        match self
            .encounters
            .iter_mut()
            .rev()
            .find(|r| r.key() == e.key())
        {
            Some(r) => r.clone_from(e),
            None => self.encounters.push(e.clone()),
        }
        true
    }

    /// As [`Withdrawals::follow_encounter`], for loitering.
    pub fn follow_loitering(&mut self, l: &LoiteringRecord) -> bool {
        if l.status == EpisodeStatus::Withdrawn {
            return true;
        }
        if self.withdrawn_loitering.contains(&l.key()) {
            return false;
        }
        match self.loitering.iter_mut().rev().find(|r| r.key() == l.key()) {
            Some(r) => r.clone_from(l),
            None => self.loitering.push(l.clone()),
        }
        true
    }

    /// A late fix of `mmsi`: every episode it contradicts, withdrawn.
    #[allow(clippy::too_many_arguments)]
    pub fn late_fix(
        &mut self,
        encounter: &EncounterParams,
        loitering: &LoiteringParams,
        ports: &Ports,
        mmsi: Mmsi,
        time: UnixMillis,
        (lat, lon): (f64, f64),
        speed_kn: Option<f32>,
        out: (&mut Vec<EncounterRecord>, &mut Vec<LoiteringRecord>),
    ) {
        let limit_nm = encounter.max_distance_m / METRES_PER_NM;
        let contradicted = |e: &EncounterRecord| {
            (e.a.vessel.mmsi == mmsi || e.b.vessel.mmsi == mmsi)
                && e.start <= time
                && time <= e.end
                && to_segment_nm(lat, lon, (e.start_lat, e.start_lon), (e.end_lat, e.end_lon))
                    > limit_nm
        };
        for mut e in extract(&mut self.encounters, contradicted) {
            tracing::info!(mmsi = mmsi.0, start = %e.start, late_fix = %time, "Encounter withdrawn by a late fix.");
            self.withdrawn_encounters.insert(e.key());
            e.status = EpisodeStatus::Withdrawn;
            e.newly_confirmed = false;
            self.count += 1;
            out.0.push(e);
        }
        let near_port = || !ports.all_at_least(lat, lon, loitering.min_port_distance_nm);
        let fast = speed_kn.is_some_and(|s| f64::from(s) >= loitering.max_speed_kn);
        let contradicted = |l: &LoiteringRecord| {
            l.vessel.mmsi == mmsi && l.start <= time && time <= l.end && (fast || near_port())
        };
        for mut l in extract(&mut self.loitering, contradicted) {
            tracing::info!(mmsi = mmsi.0, start = %l.start, late_fix = %time, "Loitering withdrawn by a late fix.");
            self.withdrawn_loitering.insert(l.key());
            l.status = EpisodeStatus::Withdrawn;
            l.newly_confirmed = false;
            self.count += 1;
            out.1.push(l);
        }
    }

    /// Episodes that ended before `keep_from` are beyond late data's reach.
    pub fn forget_before(&mut self, keep_from: UnixMillis) {
        self.encounters.retain(|e| e.end >= keep_from);
        self.loitering.retain(|l| l.end >= keep_from);
        self.withdrawn_encounters
            .retain(|k| k.2 >= keep_from.plus_hours(-24.0 * 30.0));
        self.withdrawn_loitering
            .retain(|k| k.1 >= keep_from.plus_hours(-24.0 * 30.0));
    }

    pub fn held(&self) -> usize {
        self.encounters.len() + self.loitering.len()
    }
}

/// Takes out the items matching `matches`, keeping the order of the rest.
fn extract<T>(items: &mut Vec<T>, matches: impl Fn(&T) -> bool) -> Vec<T> {
    let (taken, kept): (Vec<T>, Vec<T>) =
        std::mem::take(items).into_iter().partition(|t| matches(t));
    *items = kept;
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::at_sea::VesselAtSea;
    use crate::track::Identity;

    const HOUR: i64 = 3_600_000;

    fn loitering() -> LoiteringRecord {
        LoiteringRecord {
            vessel: VesselAtSea::of(Mmsi(445_000_001), &Identity::default(), true),
            status: EpisodeStatus::Closed,
            start: UnixMillis(0),
            end: UnixMillis(8 * HOUR),
            duration_hours: 8.0,
            start_lat: 41.0,
            start_lon: 134.0,
            end_lat: 41.0,
            end_lon: 134.0,
            lat: 41.0,
            lon: 134.0,
            fixes: 49,
            mean_speed_kn: 0.5,
            max_speed_kn: 0.9,
            distance_nm: 1.0,
            nearest_port: None,
            port_distance_nm: None,
            away_rule: "from_ports".into(),
            draught: None,
            newly_confirmed: false,
        }
    }

    #[test]
    fn a_late_fast_fix_inside_a_loitering_withdraws_it_and_later_progress_is_not_written() {
        let (e, l) = (EncounterParams::default(), LoiteringParams::default());
        let ports = Ports::from([]);
        let mut w = Withdrawals::default();
        assert!(w.follow_loitering(&loitering()));
        let (mut encounters, mut episodes) = (Vec::new(), Vec::new());
        let mmsi = Mmsi(445_000_001);
        // A slow late fix agrees with it; one outside the episode's time says nothing.
        for (time, speed) in [(4 * HOUR, 0.5), (9 * HOUR, 12.0)] {
            let out = (&mut encounters, &mut episodes);
            w.late_fix(
                &e,
                &l,
                &ports,
                mmsi,
                UnixMillis(time),
                (41.0, 134.0),
                Some(speed),
                out,
            );
        }
        assert!(episodes.is_empty());
        let out = (&mut encounters, &mut episodes);
        w.late_fix(
            &e,
            &l,
            &ports,
            mmsi,
            UnixMillis(4 * HOUR),
            (41.1, 134.0),
            Some(11.0),
            out,
        );
        assert_eq!(episodes.len(), 1);
        assert_eq!(episodes[0].status, EpisodeStatus::Withdrawn);
        assert!(w.follow_loitering(&episodes[0]));
        assert!(
            !w.follow_loitering(&loitering()),
            "not written over the withdrawal"
        );
        assert_eq!(w.count, 1);
    }

    #[test]
    fn the_distance_to_a_meeting_segment_is_to_its_nearest_point() {
        let d = to_segment_nm(41.0, 134.0, (41.0, 134.0), (41.1, 134.0));
        assert!(d < 1e-9);
        let beside = to_segment_nm(41.05, 134.02, (41.0, 134.0), (41.1, 134.0));
        assert!((beside - 0.02 * 60.0 * 41.05f64.to_radians().cos()).abs() < 0.01);
        let beyond = to_segment_nm(41.2, 134.0, (41.0, 134.0), (41.1, 134.0));
        assert!((beyond - 6.0).abs() < 0.01);
    }
}
