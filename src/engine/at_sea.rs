//! How the engine feeds the at-sea detectors (encounters, loitering, dark rendezvous) and
//! passes on what they find.

use super::{Change, Engine};
use crate::detect::at_sea::{Heard, Sample};
use crate::detect::sea_activity::AtSeaChange;
use crate::detect::{GapRecord, GapStatus};
use crate::model::Fix;
use crate::time::UnixMillis;
use crate::track::Position;

impl From<AtSeaChange> for Change {
    fn from(change: AtSeaChange) -> Change {
        match change {
            AtSeaChange::Encounter(e) => Change::Encounter(e),
            AtSeaChange::Loitering(l) => Change::Loitering(l),
            AtSeaChange::Rendezvous(r) => Change::Rendezvous(r),
        }
    }
}

impl Engine {
    pub(super) fn take_at_sea_changes(&mut self) {
        if !self.at_sea.has_changes() {
            return;
        }
        let at_sea = self.at_sea.take_changes();
        self.changes.extend(at_sea.into_iter().map(Change::from));
    }

    pub(super) fn at_sea_fix(&mut self, fix: &Fix, time: UnixMillis, previous: Option<Position>) {
        let (Some(vessel), Some(sample)) =
            (self.table.get(fix.mmsi), Sample::of(fix, time, previous))
        else {
            return;
        };
        let heard = Heard {
            mmsi: fix.mmsi,
            watched: vessel.watched,
            identity: &vessel.identity,
        };
        self.at_sea.on_fix(&self.params, &self.ports, heard, sample);
        self.take_at_sea_changes();
    }
}

impl Engine {
    /// A late fix: the at-sea episodes it contradicts are withdrawn.
    pub(super) fn at_sea_late_fix(&mut self, fix: &Fix, time: UnixMillis) {
        let sample = Sample {
            time,
            lat: fix.lat,
            lon: fix.lon,
            speed_kn: fix.sog.unwrap_or(f32::NAN),
        };
        let reported = fix.sog.filter(|s| *s <= 102.2);
        self.at_sea
            .on_late_fix(&self.params, &self.ports, fix.mmsi, sample, reported);
        self.take_at_sea_changes();
    }

    /// A gap's judgement is being written: the rendezvous detector takes closed silences as
    /// legs (their changes follow with the next [`Engine::take_at_sea_changes`]).
    pub(super) fn at_sea_gap(&mut self, record: &GapRecord) {
        if record.status == GapStatus::Open || !self.params.at_sea.rendezvous.enabled {
            return;
        }
        let identity = self.table.get(record.mmsi).map(|v| &v.identity);
        self.at_sea
            .on_gap(&self.params, &self.ports, record, identity);
    }

    /// The end of the input: every watched vessel still dark is paired as it stands.
    pub(super) fn at_sea_still_dark(&mut self, clock: UnixMillis) {
        if !self.params.at_sea.rendezvous.enabled {
            return;
        }
        for mmsi in &self.open {
            let Some(vessel) = self.table.get(*mmsi) else {
                continue;
            };
            let Some(a) = vessel.last_fix else { continue };
            let heard = Heard {
                mmsi: *mmsi,
                watched: vessel.watched,
                identity: &vessel.identity,
            };
            self.at_sea
                .on_still_dark(&self.params, &self.ports, heard, a, clock);
        }
        self.take_at_sea_changes();
    }
}
