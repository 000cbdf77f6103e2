//! What the engine remembers of the judgements it recorded: the last judgement of each gap
//! still open to change (to tell a change from a repeat), and the gaps near each port (to
//! find those that a change of that port's coverage in one hour reaches).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{GapRecord, GapStatus, OpenJudgement};
use crate::model::Mmsi;
use crate::ports::Ports;
use crate::time::UnixMillis;

/// The part of a recorded gap's judgement whose change is news.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    pub status: GapStatus,
    pub port: Option<String>,
    pub coverage: Option<f64>,
    pub dark_now: bool,
    /// Fix B; `None` while open.
    pub until: Option<UnixMillis>,
}

impl Judged {
    pub fn of(record: &GapRecord) -> Judged {
        Judged {
            status: record.status,
            port: record.port.clone(),
            coverage: record.coverage,
            dark_now: record.dark_now,
            until: record.dark_until,
        }
    }

    /// Whether going from `self` to `other` changes what an analyst is told: the judgement,
    /// the port it is attributed to, or whether the vessel is dark now (not a coverage figure
    /// moving within the same judgement).
    pub fn differs_in_judgement(&self, other: &Judged) -> bool {
        self.status != other.status || self.port != other.port || self.dark_now != other.dark_now
    }

    /// [`Judged::differs_in_judgement`] from an open silence's judgement not yet made a
    /// record (whose status is open).
    pub fn differs_from_open(&self, open: &OpenJudgement, ports: &Ports) -> bool {
        self.status != GapStatus::Open
            || self.port.as_deref() != open.port(ports)
            || self.dark_now != open.dark_now()
    }
}

/// Gaps keyed by (fix A, vessel), per port (by index).
#[derive(Clone, Debug, Default)]
pub struct GapsByPort {
    ports: Vec<BTreeSet<(UnixMillis, Mmsi)>>,
}

impl GapsByPort {
    pub fn new(ports: usize) -> GapsByPort {
        GapsByPort {
            ports: vec![BTreeSet::new(); ports],
        }
    }

    pub fn insert(&mut self, port: usize, mmsi: Mmsi, a: UnixMillis) {
        if let Some(set) = self.ports.get_mut(port) {
            set.insert((a, mmsi));
        }
    }

    pub fn remove(&mut self, port: usize, mmsi: Mmsi, a: UnixMillis) {
        if let Some(set) = self.ports.get_mut(port) {
            set.remove(&(a, mmsi));
        }
    }

    /// Gaps near port `index` whose fix A is before `before`, earliest first.
    pub fn starting_before(&self, index: usize, before: UnixMillis) -> Vec<(UnixMillis, Mmsi)> {
        self.ports.get(index).map_or_else(Vec::new, |set| {
            set.range(..(before, Mmsi(0))).copied().collect()
        })
    }

    /// Drops every entry `keep` refuses.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, Mmsi, UnixMillis) -> bool) {
        for (index, set) in self.ports.iter_mut().enumerate() {
            set.retain(|&(a, mmsi)| keep(index, mmsi, a));
        }
    }

    pub fn len(&self) -> usize {
        self.ports.iter().map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The last judgement of every gap still open to change, by key.
#[derive(Clone, Debug, Default)]
pub struct LastJudgements {
    judged: HashMap<(Mmsi, UnixMillis), Judged>,
}

impl LastJudgements {
    /// Remembers `record`'s judgement; returns the one it replaces.
    pub fn replace(&mut self, record: &GapRecord) -> Option<Judged> {
        self.judged.insert(record.key(), Judged::of(record))
    }

    pub fn get(&self, key: (Mmsi, UnixMillis)) -> Option<&Judged> {
        self.judged.get(&key)
    }

    pub fn remove(&mut self, key: (Mmsi, UnixMillis)) -> Option<Judged> {
        self.judged.remove(&key)
    }

    /// Forgets closed gaps whose fix B is before `horizon`: late data no longer changes them.
    pub fn forget_closed_before(&mut self, horizon: UnixMillis) {
        self.judged
            .retain(|_, j| j.until.is_none_or(|until| until >= horizon));
    }

    pub fn len(&self) -> usize {
        self.judged.len()
    }

    pub fn is_empty(&self) -> bool {
        self.judged.is_empty()
    }

    /// In key order, for a checkpoint.
    pub fn to_sorted(&self) -> Vec<((Mmsi, UnixMillis), Judged)> {
        let mut all: Vec<_> = self.judged.iter().map(|(k, j)| (*k, j.clone())).collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all
    }

    pub fn from_sorted(all: Vec<((Mmsi, UnixMillis), Judged)>) -> LastJudgements {
        LastJudgements {
            judged: all.into_iter().collect(),
        }
    }
}
