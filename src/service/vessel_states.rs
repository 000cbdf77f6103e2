//! Which vessels' saved states (`vessel_states`, one row each) a commit rewrites: the vessels
//! the commit's own changes name, so that a commit costs what the traffic since the last one
//! changed, not a serialisation of every vessel tracked (a million at 1 KB each, every second).

use crate::engine::Change;
use crate::model::Mmsi;
use crate::track::{Vessel, VesselTable};

/// Finds the vessels whose state changed since the last commit.
///
/// Every change of a vessel's saved state is named by a change of the same commit: a fix or
/// a report marks the vessel for its row (`Change::Vessel`), a watch flag changed does too, and
/// a track buffer taken out (end of a day, shutdown, a vessel leaving memory) becomes a
/// `Change::Track`. Debug builds check that claim at every commit against a hash of every
/// vessel, so that a new way of changing a vessel without naming it fails the tests.
#[derive(Debug, Default)]
pub(crate) struct SavedVessels {
    /// Saved states of vessels not tracked, found at a restart: deleted by the next commit.
    stale: Vec<u32>,
    #[cfg(debug_assertions)]
    hashes: std::collections::HashMap<Mmsi, u64>,
}

impl SavedVessels {
    /// After a restart: `stale` are the saved states no tracked vessel has (left over from a
    /// version that kept them, or from a vessel let go as the service stopped).
    pub(crate) fn resumed(stale: Vec<u32>) -> SavedVessels {
        // Every field named: without debug assertions `stale` is the only one, and clippy
        // refuses a struct update that sets nothing.
        SavedVessels {
            stale,
            #[cfg(debug_assertions)]
            hashes: Default::default(),
        }
    }

    /// The vessels whose saved states a commit deletes: those that left the engine's memory
    /// by its `changes` and are not tracked again, and any stale ones. Without it the table
    /// grew by every vessel ever heard, and a restart read all of it.
    pub(crate) fn gone(&mut self, changes: &[Change], table: &VesselTable) -> Vec<u32> {
        let mut gone = std::mem::take(&mut self.stale);
        for change in changes {
            if let Change::LeftMemory(mmsis) = change {
                gone.extend(
                    mmsis
                        .iter()
                        .filter(|mmsi| table.get(**mmsi).is_none())
                        .map(|mmsi| mmsi.0),
                );
            }
        }
        #[cfg(debug_assertions)]
        for mmsi in &gone {
            self.hashes.remove(&Mmsi(*mmsi));
        }
        gone.sort_unstable();
        gone.dedup();
        gone
    }

    /// A copy of each vessel still tracked that `changes` name, in MMSI order.
    pub(crate) fn changed(&mut self, changes: &[Change], table: &VesselTable) -> Vec<Vessel> {
        let mut named: Vec<Mmsi> = changes
            .iter()
            .filter_map(|change| match change {
                Change::Vessel(snapshot) => Some(snapshot.mmsi),
                Change::Track(chunk) => Some(chunk.mmsi),
                _ => None,
            })
            .collect();
        named.sort_unstable();
        named.dedup();
        let states = named
            .iter()
            .filter_map(|&mmsi| table.get(mmsi).cloned())
            .collect();
        #[cfg(debug_assertions)]
        self.check_nothing_else_changed(&named, table);
        states
    }

    /// Panics when a vessel the changes did not name differs from its state at the last
    /// commit: its row would be stale after a restart.
    #[cfg(debug_assertions)]
    fn check_nothing_else_changed(&mut self, named: &[Mmsi], table: &VesselTable) {
        use std::hash::{Hash, Hasher};
        for vessel in table.iter() {
            let state = serde_json::to_string(vessel).expect("vessels always serialise");
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            state.hash(&mut hasher);
            let hash = hasher.finish();
            let before = self.hashes.insert(vessel.mmsi, hash);
            assert!(
                before.is_none_or(|b| b == hash) || named.binary_search(&vessel.mmsi).is_ok(),
                "vessel {} changed without a change naming it: its saved state would be stale",
                vessel.mmsi.0
            );
        }
    }
}
