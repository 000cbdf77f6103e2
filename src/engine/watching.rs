//! Which vessels the engine watches: the watchlist, or static data saying tanker, and what
//! changes when a vessel starts or stops being watched.

use super::{Change, Engine};
use crate::model::{is_tanker_type, Mmsi};

impl Engine {
    pub(super) fn is_watched(&self, mmsi: Mmsi) -> bool {
        let Some(vessel) = self.table.get(mmsi) else {
            return false;
        };
        // One watched transmitter makes the MMSI watched: another hull sharing its number
        // must not switch the watch off and on with every report.
        self.params.watch_all
            || vessel.identity.ship_type.is_some_and(is_tanker_type)
            || self.watchlist.contains(mmsi, vessel.identity.imo)
            || self.table.segment_identities(mmsi).any(|identity| {
                identity.ship_type.is_some_and(is_tanker_type)
                    || self.watchlist.contains(mmsi, identity.imo)
            })
    }

    pub(super) fn set_watched(&mut self, mmsi: Mmsi, watched: bool) {
        if !self.table.set_watched(mmsi, watched) {
            return;
        }
        if watched {
            self.watched.insert(mmsi);
            self.schedule_silence(mmsi);
        } else {
            self.watched.remove(&mmsi);
            self.cancel_silence(mmsi);
        }
        self.changes.push(Change::Watched { mmsi, watched });
    }
}
