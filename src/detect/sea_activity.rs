//! The one at-sea detector the engine feeds with every fresh fix, identity change and hourly
//! advance of the stream clock: encounters and loitering side by side, their changes in the
//! order they happened.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::at_sea::{AtSeaStats, Heard, Sample};
use super::encounters::{EncounterRecord, Encounters};
use super::loitering::{Loitering, LoiteringRecord};
use super::DetectParams;
use crate::model::Mmsi;
use crate::ports::Ports;
use crate::time::UnixMillis;
use crate::track::Identity;

/// What the at-sea detectors ask the store to persist.
#[derive(Clone, Debug, PartialEq)]
pub enum AtSeaChange {
    /// Insert or replace the encounter keyed by (mmsi_a, mmsi_b, start).
    Encounter(Box<EncounterRecord>),
    /// Insert or replace the loitering episode keyed by (mmsi, start).
    Loitering(Box<LoiteringRecord>),
}

/// Encounter and loitering detection over the fixes as the engine applies them: pure, fed in
/// stream-clock order, so that a replay and a live run confirm the same episodes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AtSea {
    encounters: Encounters,
    loitering: Loitering,
    stats: AtSeaStats,
    #[serde(skip)]
    changes: Vec<AtSeaChange>,
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
        self.gather();
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
        self.gather();
    }

    /// The stream clock moved: ends episodes whose vessels fell silent, and writes the
    /// progress of ongoing ones.
    pub fn on_clock(&mut self, params: &DetectParams, ports: &Ports, clock: UnixMillis) {
        self.encounters
            .on_clock(params, ports, clock, &mut self.found_encounters);
        self.loitering
            .on_clock(&params.at_sea.loitering, clock, &mut self.found_loitering);
        self.gather();
    }

    /// Loitering first: a vessel's idling is confirmed before the meeting it waited for.
    fn gather(&mut self) {
        let loitering = self.found_loitering.drain(..);
        self.changes
            .extend(loitering.map(|l| AtSeaChange::Loitering(Box::new(l))));
        let encounters = self.found_encounters.drain(..);
        self.changes
            .extend(encounters.map(|e| AtSeaChange::Encounter(Box::new(e))));
    }

    pub fn take_changes(&mut self) -> Vec<AtSeaChange> {
        std::mem::take(&mut self.changes)
    }

    pub fn stats(&self) -> &AtSeaStats {
        &self.stats
    }

    /// Vessels and pairs held: what the detectors' memory is proportional to.
    pub fn held(&self) -> (usize, usize) {
        (
            self.encounters.vessels_held() + self.loitering.vessels_held(),
            self.encounters.pairs_held(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    /// Two vessels together 0-240 min, one watched, fed in time order; `split` takes a
    /// checkpoint (JSON, as the service stores it) at that minute and goes on from it.
    fn run(split: Option<i64>) -> Vec<AtSeaChange> {
        let params = DetectParams::default();
        let identity = Arc::new(Identity::default());
        let mut at_sea = AtSea::default();
        let mut changes = Vec::new();
        for minute in (0..=400).step_by(5) {
            if Some(minute) == split {
                let text = serde_json::to_string(&at_sea).unwrap();
                at_sea = serde_json::from_str(&text).unwrap();
            }
            let time = UnixMillis(minute * MINUTE);
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
            changes.extend(at_sea.take_changes());
        }
        changes
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
