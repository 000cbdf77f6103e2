//! How the engine feeds the at-sea detectors (encounters, loitering, dark rendezvous) and
//! passes on what they find.

use super::partition::AtSeaCall;
use super::{Change, Engine};
use crate::detect::at_sea::Sample;
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
        let call = AtSeaCall::Fix {
            mmsi: fix.mmsi,
            watched: vessel.watched,
            identity: vessel.identity.clone(),
            sample,
        };
        self.call_at_sea(call);
        self.take_at_sea_changes();
    }

    /// A late fix: the at-sea episodes it contradicts are withdrawn.
    pub(super) fn at_sea_late_fix(&mut self, fix: &Fix, time: UnixMillis) {
        let sample = Sample {
            time,
            lat: fix.lat,
            lon: fix.lon,
            speed_kn: fix.sog.unwrap_or(f32::NAN),
        };
        let reported_speed = fix.sog.filter(|s| *s <= 102.2);
        self.call_at_sea(AtSeaCall::LateFix {
            mmsi: fix.mmsi,
            sample,
            reported_speed,
        });
        self.take_at_sea_changes();
    }

    /// A gap's judgement is being written: the rendezvous detector takes closed silences as
    /// legs (their changes follow with the next [`Engine::take_at_sea_changes`]).
    pub(super) fn at_sea_gap(&mut self, record: &GapRecord) {
        if record.status == GapStatus::Open || !self.params.at_sea.rendezvous.enabled {
            return;
        }
        let identity = self.table.get(record.mmsi).map(|v| v.identity.clone());
        self.call_at_sea(AtSeaCall::Gap {
            record: Box::new(record.clone()),
            identity,
        });
    }

    /// The end of the input: every watched vessel still dark is paired as it stands.
    pub(super) fn at_sea_still_dark(&mut self, clock: UnixMillis) {
        if !self.params.at_sea.rendezvous.enabled {
            return;
        }
        for mmsi in self.open_in_order() {
            let Some(vessel) = self.table.get(mmsi) else {
                continue;
            };
            let Some(a) = vessel.last_fix else { continue };
            let call = AtSeaCall::StillDark {
                mmsi,
                watched: vessel.watched,
                identity: vessel.identity.clone(),
                a,
                clock,
            };
            self.call_at_sea(call);
        }
        self.take_at_sea_changes();
    }
}
