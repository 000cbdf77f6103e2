//! How the engine feeds the at-sea detectors (encounters, loitering) and passes on what they
//! find.

use super::{Change, Engine};
use crate::detect::at_sea::{Heard, Sample};
use crate::detect::sea_activity::AtSeaChange;
use crate::model::Fix;
use crate::time::UnixMillis;
use crate::track::Position;

impl From<AtSeaChange> for Change {
    fn from(change: AtSeaChange) -> Change {
        match change {
            AtSeaChange::Encounter(e) => Change::Encounter(e),
            AtSeaChange::Loitering(l) => Change::Loitering(l),
        }
    }
}

impl Engine {
    pub(super) fn take_at_sea_changes(&mut self) {
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
