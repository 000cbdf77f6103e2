//! The ground truth of the at-sea cases (`simulate --at-sea`): the encounter and loitering
//! episodes the plan stages, the pairs that must not be taken for encounters, and the dark
//! rendezvous staged with its decoy.

use serde::{Deserialize, Serialize};

use crate::model::Mmsi;
use crate::time::UnixMillis;

/// A staged meeting at sea: vessels `a` (lower MMSI) and `b` side by side from `from` to
/// `until`, with the draughts their crews type in before and after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncounterTruth {
    pub a: Mmsi,
    pub b: Mmsi,
    pub from: UnixMillis,
    pub until: UnixMillis,
    /// Metres between the two while together.
    pub distance_m: f64,
    pub draught_before_a: f32,
    pub draught_after_a: f32,
    pub draught_before_b: f32,
    pub draught_after_b: f32,
    /// The vessel whose draught rises.
    pub receiving: Mmsi,
}

/// A watched vessel idling at sea, away from every designated port, from `from` to `until`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoiteringTruth {
    pub mmsi: Mmsi,
    pub from: UnixMillis,
    pub until: UnixMillis,
}

/// Why a pair of vessels close together is not an encounter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotEncounterLabel {
    /// Passing each other at speed within a few hundred metres.
    Passing,
    /// Moored side by side inside a designated port zone: a port visit.
    MooredInPort,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotEncounterTruth {
    pub a: Mmsi,
    pub b: Mmsi,
    pub label: NotEncounterLabel,
}

/// A staged dark rendezvous: `a` (lower MMSI) and `b` switch off at `dark_from`, lie
/// alongside at (`lat`, `lon`) from `met` to `parted`, and come back where they vanished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RendezvousTruth {
    pub a: Mmsi,
    pub b: Mmsi,
    pub dark_from: UnixMillis,
    pub met: UnixMillis,
    pub parted: UnixMillis,
    pub lat: f64,
    pub lon: f64,
}

/// Two vessels dark at the same time that could not have met.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotRendezvousTruth {
    pub a: Mmsi,
    pub b: Mmsi,
}

/// Everything the at-sea cases stage; empty unless the scenario was generated with them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AtSeaTruth {
    pub encounters: Vec<EncounterTruth>,
    pub loitering: Vec<LoiteringTruth>,
    pub not_encounters: Vec<NotEncounterTruth>,
    #[serde(default)]
    pub rendezvous: Vec<RendezvousTruth>,
    #[serde(default)]
    pub not_rendezvous: Vec<NotRendezvousTruth>,
}

impl AtSeaTruth {
    pub fn is_empty(&self) -> bool {
        self.encounters.is_empty()
            && self.loitering.is_empty()
            && self.not_encounters.is_empty()
            && self.rendezvous.is_empty()
    }
}
