//! What of the vessel table outlives memory: its checkpoints, and the vessels that leave it
//! (silent too long, or over the cap).

use super::{take_chunk, SegmentSet, TrackChunk, Vessel, VesselTable, VesselTableCheckpoint};
use crate::model::Mmsi;
use crate::time::UnixMillis;

impl VesselTable {
    /// The vessels changed since their last row and last heard before `cutoff`, in MMSI order,
    /// their changed flags cleared; the other vessels stay changed.
    pub fn take_dirty_heard_before(&mut self, cutoff: UnixMillis) -> Vec<Mmsi> {
        let vessels = &mut self.vessels;
        let mut quiet = Vec::new();
        self.dirty.retain(|&i| {
            let vessel = &mut vessels[i as usize];
            if vessel.last_heard >= cutoff {
                return true;
            }
            vessel.dirty = false;
            quiet.push(vessel.mmsi);
            false
        });
        quiet.sort_unstable();
        quiet
    }

    /// Those of `mmsis` (in MMSI order) changed since their last row, in the same order, their
    /// changed flags cleared; the other vessels stay changed.
    pub fn take_dirty_of(&mut self, mmsis: &[Mmsi]) -> Vec<Mmsi> {
        let mut taken = Vec::new();
        for &mmsi in mmsis {
            let Some(&i) = self.index.get(&mmsi) else {
                continue;
            };
            let vessel = &mut self.vessels[i as usize];
            if vessel.dirty {
                vessel.dirty = false;
                taken.push(mmsi);
            }
        }
        if !taken.is_empty() {
            let vessels = &self.vessels;
            self.dirty.retain(|&i| vessels[i as usize].dirty);
        }
        taken
    }

    /// A copy of the table's state, unwritten vessel rows marked as such.
    pub fn checkpoint(&self) -> VesselTableCheckpoint {
        VesselTableCheckpoint {
            vessels: self.vessels.clone(),
            ..self.checkpoint_apart()
        }
    }

    /// The checkpoint without its vessels (stored apart, one row each): the segments' side
    /// table and counts still travel with it.
    pub fn checkpoint_apart(&self) -> VesselTableCheckpoint {
        let mut segments: Vec<(Mmsi, SegmentSet)> = self
            .segments
            .iter()
            .map(|(mmsi, set)| (*mmsi, set.clone()))
            .collect();
        segments.sort_unstable_by_key(|(mmsi, _)| *mmsi);
        VesselTableCheckpoint {
            vessels: Vec::new(),
            segments,
            segment_counts: self.segment_counts,
        }
    }

    /// MMSIs heard from more than one transmitter.
    pub fn segmented_mmsis(&self) -> impl Iterator<Item = Mmsi> + '_ {
        self.segments.keys().copied()
    }

    /// Removes the vessels named (silent too long, or over the cap), handing over their
    /// unwritten track points; their other state is the caller's to have written already.
    pub fn forget(&mut self, mmsis: &[Mmsi], chunks: &mut Vec<TrackChunk>) -> Vec<Vessel> {
        let mut gone = Vec::with_capacity(mmsis.len());
        for mmsi in mmsis {
            let Some(i) = self.index.remove(mmsi) else {
                continue;
            };
            let mut vessel = self.vessels.swap_remove(i as usize);
            if let Some(moved) = self.vessels.get(i as usize) {
                self.index.insert(moved.mmsi, i);
            }
            if !vessel.track_buffer.is_empty() {
                chunks.push(take_chunk(&mut vessel));
            }
            // Its other transmitters leave with it: a returning MMSI starts as one.
            self.segments.remove(mmsi);
            gone.push(vessel);
        }
        // Indices moved: the dirty list is rebuilt from the flags it mirrors.
        self.dirty = (0..self.vessels.len() as u32)
            .filter(|&i| self.vessels[i as usize].dirty)
            .collect();
        gone
    }
}
