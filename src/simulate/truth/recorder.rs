//! What the stream wrote, as the truth needs it: every fix in file order, every static
//! report, and the vessels heard near each port in each hour.

use std::collections::BTreeMap;

use crate::simulate::plan::{Ms, StaticState, HOUR};
use crate::simulate::world::{rules, LatLon, DESIGNATED_PORTS};

/// One fix as written: event time, quantised position and file order.
#[derive(Clone, Copy, Debug)]
pub(super) struct FixRec {
    pub(super) t: Ms,
    pub(super) pos: LatLon,
    pub(super) line: u64,
}

/// Distinct vessels heard near one port in one hour; three is all any rule needs.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct HourHeard {
    ids: [u32; 3],
    n: u8,
}

impl HourHeard {
    fn add(&mut self, mmsi: u32) {
        let n = usize::from(self.n);
        if n < 3 && !self.ids[..n].contains(&mmsi) {
            self.ids[n] = mmsi;
            self.n += 1;
        }
    }

    pub(super) fn others(&self, mmsi: u32) -> usize {
        self.ids[..usize::from(self.n)]
            .iter()
            .filter(|&&m| m != mmsi)
            .count()
    }
}

/// Collects what the stream writes, for judging afterwards.
pub struct Recorder {
    pub(super) start: Ms,
    hours: usize,
    /// By MMSI and transmitter (hulls sending one MMSI at the same time are judged apart).
    pub(super) fixes: BTreeMap<(u32, u8), Vec<FixRec>>,
    pub(super) statics: BTreeMap<(u32, u8), Vec<(Ms, StaticState)>>,
    pub(super) heard: Vec<Vec<HourHeard>>,
}

impl Recorder {
    pub fn new(start: Ms, end: Ms) -> Self {
        let hours = ((end - start) / HOUR + 2) as usize;
        Recorder {
            start,
            hours,
            fixes: BTreeMap::new(),
            statics: BTreeMap::new(),
            heard: vec![vec![HourHeard::default(); hours]; DESIGNATED_PORTS.len()],
        }
    }

    pub fn fix(&mut self, mmsi: u32, transmitter: u8, t: Ms, pos: LatLon, line: u64) {
        self.fixes
            .entry((mmsi, transmitter))
            .or_default()
            .push(FixRec { t, pos, line });
        if let Some(hour) = self.hour(t) {
            for (i, port) in DESIGNATED_PORTS.iter().enumerate() {
                if port.distance_nm(pos) <= rules::COVERAGE_NM {
                    self.heard[i][hour].add(mmsi);
                }
            }
        }
    }

    pub fn static_report(&mut self, mmsi: u32, transmitter: u8, t: Ms, state: &StaticState) {
        self.statics
            .entry((mmsi, transmitter))
            .or_default()
            .push((t, state.clone()));
    }

    fn hour(&self, t: Ms) -> Option<usize> {
        let h = (t - self.start).div_euclid(HOUR);
        (0..self.hours as i64).contains(&h).then_some(h as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_bins_count_only_other_vessels() {
        let mut h = HourHeard::default();
        for m in [1, 2, 2, 3, 4] {
            h.add(m);
        }
        assert_eq!(h.n, 3);
        assert_eq!(h.others(1), 2);
        assert_eq!(h.others(9), 3);
    }
}
