//! Per-port hourly coverage: the distinct vessels heard near each port in each UTC hour, the
//! share of a span that was well covered, and the checkpoint a restart resumes from.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::hashed::Spread;
use crate::model::Mmsi;
use crate::ports::{Port, PortIndex};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// What a restarted service needs of the coverage bins: the bins per port (by port name, so a
/// reload that reorders ports keeps them) and the hours not yet written.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoverageCheckpoint {
    bins: Vec<(String, Vec<(i64, HourBin)>)>,
    changed: Vec<(String, i64)>,
    /// Bins whose covered state changed and whose gaps are not yet judged again.
    #[serde(default)]
    flipped: Vec<(String, i64)>,
}

impl CoverageCheckpoint {
    /// The bins as `(port, hour, bin)`, leaving the checkpoint without them (a store keeps
    /// each bin in its own row and rewrites only the ones that changed).
    pub fn take_bins(&mut self) -> Vec<(String, i64, HourBin)> {
        let mut rows = Vec::new();
        for (port, hours) in std::mem::take(&mut self.bins) {
            rows.extend(
                hours
                    .into_iter()
                    .map(|(hour, bin)| (port.clone(), hour, bin)),
            );
        }
        rows
    }

    /// Puts bins back, whatever their order.
    pub fn put_bins(&mut self, rows: Vec<(String, i64, HourBin)>) {
        let mut by_port: BTreeMap<String, Vec<(i64, HourBin)>> = BTreeMap::new();
        for (port, hour, bin) in rows {
            by_port.entry(port).or_default().push((hour, bin));
        }
        for hours in by_port.values_mut() {
            hours.sort_unstable_by_key(|(hour, _)| *hour);
        }
        self.bins = by_port.into_iter().collect();
    }
}

/// Distinct vessels heard in one UTC hour near one port.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HourBin {
    /// Sorted MMSIs; small (tens) even at busy ports. Emptied once the hour is old enough that
    /// only its count matters.
    vessels: Vec<u32>,
    count: u32,
}

impl HourBin {
    fn heard_besides(&self, exclude: Mmsi) -> usize {
        self.count as usize - usize::from(self.vessels.binary_search(&exclude.0).is_ok())
    }
}

const HOURS_A_WEEK: usize = 168;
const WEEK_MS: i64 = HOURS_A_WEEK as i64 * MILLIS_PER_HOUR;

/// One port's distinct-vessel counts of the 168 hours of a week (weeks counted from the epoch).
type WeekCounts = Box<[u32; HOURS_A_WEEK]>;

/// Per port: week number -> counts. Hashed: a silence's coverage is summed a few hours at a
/// time as it grows, and finding its week in a B-tree cost more than adding up its hours.
type Weeks = HashMap<i64, WeekCounts, Spread>;

fn set_week_count(weeks: &mut Weeks, hour: i64, count: u32) {
    let week = hour.div_euclid(WEEK_MS);
    let slot = ((hour - week * WEEK_MS) / MILLIS_PER_HOUR) as usize;
    weeks
        .entry(week)
        .or_insert_with(|| Box::new([0; HOURS_A_WEEK]))[slot] = count;
}

/// Which ports' coverage distance includes a position: the part of counting a fix that depends
/// on its position alone, found once for the engines of a split replay that all count it.
#[derive(Debug)]
pub struct CoverageReach {
    /// Each port's zone widened by its coverage distance: most fixes are far from every port.
    index: PortIndex,
    /// The candidates of the last fix, kept to spare an allocation per fix.
    nearby: Vec<usize>,
}

impl CoverageReach {
    pub fn new(ports: &[Port]) -> CoverageReach {
        CoverageReach {
            index: PortIndex::new(ports, |p| p.coverage_nm),
            nearby: Vec::new(),
        }
    }

    /// Appends to `out` the indices, ascending, of the ports whose coverage distance includes
    /// the position.
    pub fn find(&mut self, ports: &[Port], lat: f64, lon: f64, out: &mut Vec<u32>) {
        self.index.candidates(lat, lon, &mut self.nearby);
        out.extend(
            self.nearby
                .iter()
                .filter(|&&index| reaches(&ports[index], lat, lon))
                .map(|&index| index as u32),
        );
    }
}

/// Whether the position is within the port's coverage distance (a distance that cannot be
/// compared, as from a position that is not one, counts as within, as it always has).
fn reaches(port: &Port, lat: f64, lon: f64) -> bool {
    port.distance_nm(lat, lon).partial_cmp(&port.coverage_nm) != Some(std::cmp::Ordering::Greater)
}

/// Per-port hourly coverage: which vessels were heard within each port's coverage distance.
#[derive(Debug)]
pub struct Coverage {
    reach: CoverageReach,
    /// Per port: hour start (millis) -> bin.
    bins: Vec<BTreeMap<i64, HourBin>>,
    /// Per port: the bins' counts again, a week of hours to a slice. A silence's coverage
    /// reads every hour of it at every port near fix A; walking the bins' map for that was
    /// a quarter of the engine's time on a feed of watched vessels passing once.
    weeks: Vec<Weeks>,
    /// (port index, hour start) of bins changed since `take_changed`.
    changed: Vec<(usize, i64)>,
    /// The counts at which a bin's hour becomes covered for some vessel (`min_vessels` for a
    /// vessel not in it, one more for one that is): reaching them may change a judgement.
    flip_counts: [u32; 2],
    /// (port index, hour start) of bins that reached a flip count since `take_flipped`.
    flipped: Vec<(usize, i64)>,
}

impl Coverage {
    pub fn new(ports: &[Port]) -> Coverage {
        Coverage {
            reach: CoverageReach::new(ports),
            bins: ports.iter().map(|_| BTreeMap::new()).collect(),
            weeks: ports.iter().map(|_| Weeks::default()).collect(),
            changed: Vec::new(),
            flip_counts: [u32::MAX; 2],
            flipped: Vec::new(),
        }
    }

    /// Starts listing the bins whose hour becomes covered at `min_vessels` (see
    /// [`Coverage::take_flipped`]). With 0 every hour is covered and nothing ever flips.
    pub fn watch_flips(&mut self, min_vessels: u32) {
        self.flip_counts = match min_vessels {
            0 => [u32::MAX; 2],
            n => [n, n.saturating_add(1)],
        };
    }

    /// Bins that became covered for some vessel since the last call, as (port index, hour
    /// start), in a stable order: the gaps spanning them may be judged differently now.
    pub fn take_flipped(&mut self) -> Vec<(usize, UnixMillis)> {
        self.flipped.sort_unstable();
        self.flipped.dedup();
        // Drained, not taken: the list keeps its capacity for the next stream hour.
        self.flipped
            .drain(..)
            .map(|(index, hour)| (index, UnixMillis(hour)))
            .collect()
    }

    /// The bins [`Coverage::take_flipped`] will list, left listed.
    pub fn flipped_so_far(&self) -> impl Iterator<Item = (usize, UnixMillis)> + '_ {
        self.flipped
            .iter()
            .map(|&(index, hour)| (index, UnixMillis(hour)))
    }

    /// Counts `mmsi` as heard at `time` near every port whose coverage distance includes it.
    /// A vessel already in the hour's bin needs no distance: most of its fixes in an hour
    /// are found there. The counts depend on the fixes alone, not on which vessels are in
    /// memory (nor on which engine of a split replay tracks them).
    pub fn observe(&mut self, ports: &[Port], mmsi: Mmsi, time: UnixMillis, lat: f64, lon: f64) {
        let hour = time.hour_floor().as_millis();
        let mut nearby = std::mem::take(&mut self.reach.nearby);
        self.reach.index.candidates(lat, lon, &mut nearby);
        for &index in &nearby {
            let port = &ports[index];
            let counted = self.bins[index]
                .get(&hour)
                .is_some_and(|bin| bin.vessels.binary_search(&mmsi.0).is_ok());
            if counted || !reaches(port, lat, lon) {
                continue;
            }
            self.count_in(index, hour, mmsi);
        }
        self.reach.nearby = nearby;
    }

    /// What [`Coverage::observe`] does, with the ports whose coverage distance includes the
    /// fix already found ([`CoverageReach`]): the same bins, without the position.
    pub fn count_reached(&mut self, mmsi: Mmsi, time: UnixMillis, reached: &[u32]) {
        let hour = time.hour_floor().as_millis();
        for &index in reached {
            self.count_in(index as usize, hour, mmsi);
        }
    }

    fn count_in(&mut self, index: usize, hour: i64, mmsi: Mmsi) {
        let bins = &mut self.bins[index];
        // Fixes come nearly in time order: most fall in a port's newest hour, found down the
        // tree's right edge without a comparison on the way.
        let bin = match bins.last_entry() {
            Some(last) if *last.key() == hour => last.into_mut(),
            _ => bins.entry(hour).or_default(),
        };
        if let Err(slot) = bin.vessels.binary_search(&mmsi.0) {
            bin.vessels.insert(slot, mmsi.0);
            bin.count += 1;
            set_week_count(&mut self.weeks[index], hour, bin.count);
            self.changed.push((index, hour));
            if self.flip_counts.contains(&bin.count) {
                self.flipped.push((index, hour));
            }
        }
    }

    /// Distinct vessels heard near port `index` in the hour starting at `hour`.
    pub fn vessels_in_hour(&self, index: usize, hour: i64) -> usize {
        self.bins[index]
            .get(&hour)
            .map_or(0, |bin| bin.count as usize)
    }

    /// The share of `[from, until)` spent in hours where at least `min_vessels` vessels other
    /// than `exclude` were heard near port `index`. Each hour weighs by its overlap with the
    /// span, so a boundary hour counts only for the part of it inside the span.
    pub fn covered_share(
        &self,
        index: usize,
        from: UnixMillis,
        until: UnixMillis,
        exclude: Mmsi,
        min_vessels: u32,
    ) -> f64 {
        let span = until.as_millis() - from.as_millis();
        if span <= 0 {
            return 0.0;
        }
        self.covered_ms(index, from, until, exclude, min_vessels) as f64 / span as f64
    }

    /// The milliseconds of `[from, until)` that [`Coverage::covered_share`] counts as covered:
    /// additive over adjacent spans, so a long silence can be summed as it grows.
    pub fn covered_ms(
        &self,
        index: usize,
        from: UnixMillis,
        until: UnixMillis,
        exclude: Mmsi,
        min_vessels: u32,
    ) -> i64 {
        let span = until.as_millis() - from.as_millis();
        if span <= 0 {
            return 0;
        }
        // No other vessel needs to be heard: every hour is covered, heard from or not.
        if min_vessels == 0 {
            return span;
        }
        let (from, until) = (from.as_millis(), until.as_millis());
        let start_hour = UnixMillis(from).hour_floor().as_millis();
        let first_week = start_hour.div_euclid(WEEK_MS);
        let bins = &self.bins[index];
        let mut covered_ms = 0i64;
        let weeks = &self.weeks[index];
        // Only weeks with a bin can hold a covered hour: walk those, not every hour of the span.
        for (week, counts) in (first_week..=(until - 1).div_euclid(WEEK_MS))
            .filter_map(|week| weeks.get(&week).map(|counts| (week, counts)))
        {
            let week_start = week * WEEK_MS;
            let first = ((start_hour.max(week_start) - week_start) / MILLIS_PER_HOUR) as usize;
            let last = ((until - week_start + MILLIS_PER_HOUR - 1) / MILLIS_PER_HOUR)
                .min(HOURS_A_WEEK as i64) as usize;
            for (slot, &count) in counts.iter().enumerate().take(last).skip(first) {
                if count < min_vessels {
                    continue;
                }
                let hour = week_start + slot as i64 * MILLIS_PER_HOUR;
                // At exactly the threshold the hour is covered only if `exclude` is not one of
                // its vessels.
                if count == min_vessels
                    && bins
                        .get(&hour)
                        .is_some_and(|bin| bin.heard_besides(exclude) < min_vessels as usize)
                {
                    continue;
                }
                covered_ms += (hour + MILLIS_PER_HOUR).min(until) - hour.max(from);
            }
        }
        covered_ms
    }

    /// Bins changed since the last call, with their current distinct-vessel counts, in a
    /// stable order.
    pub fn take_changed(&mut self) -> Vec<(usize, UnixMillis, u32)> {
        self.changed.sort_unstable();
        self.changed.dedup();
        // Drained, not taken: the list keeps its capacity for the next stream hour.
        let bins = &self.bins;
        self.changed
            .drain(..)
            .map(|(index, hour)| {
                let vessels = bins[index].get(&hour).map_or(0, |bin| bin.count);
                (index, UnixMillis(hour), vessels)
            })
            .collect()
    }

    /// Forgets which vessels were heard in hours before `before`, keeping their counts: late
    /// data that old may then count a vessel twice in an hour, a bounded error traded for
    /// bounded memory over months of service.
    pub fn forget_detail_before(&mut self, before: UnixMillis) {
        for bins in &mut self.bins {
            for (_, bin) in bins.range_mut(..before.as_millis()).rev() {
                if bin.vessels.is_empty() {
                    break;
                }
                bin.vessels = Vec::new();
            }
        }
    }

    /// A copy of the bins, keyed by port name.
    pub fn checkpoint(&self, ports: &[Port]) -> CoverageCheckpoint {
        CoverageCheckpoint {
            bins: ports
                .iter()
                .zip(&self.bins)
                .filter(|(_, bins)| !bins.is_empty())
                .map(|(port, bins)| {
                    let hours = bins.iter().map(|(h, b)| (*h, b.clone())).collect();
                    (port.name.clone(), hours)
                })
                .collect(),
            changed: self
                .changed
                .iter()
                .map(|&(index, hour)| (ports[index].name.clone(), hour))
                .collect(),
            flipped: self
                .flipped
                .iter()
                .map(|&(index, hour)| (ports[index].name.clone(), hour))
                .collect(),
        }
    }

    /// Bins from a checkpoint for the ports configured now: a port no longer designated is
    /// dropped, a new one starts empty.
    pub fn restore(ports: &[Port], checkpoint: CoverageCheckpoint) -> Coverage {
        let mut coverage = Coverage::new(ports);
        let by_name: std::collections::HashMap<&str, usize> = ports
            .iter()
            .enumerate()
            .map(|(index, p)| (p.name.as_str(), index))
            .collect();
        let index_of = |name: &str| by_name.get(name).copied();
        for (name, hours) in checkpoint.bins {
            if let Some(index) = index_of(&name) {
                for (hour, bin) in &hours {
                    set_week_count(&mut coverage.weeks[index], *hour, bin.count);
                }
                coverage.bins[index] = hours.into_iter().collect();
            }
        }
        for (name, hour) in checkpoint.changed {
            if let Some(index) = index_of(&name) {
                coverage.changed.push((index, hour));
            }
        }
        for (name, hour) in checkpoint.flipped {
            if let Some(index) = index_of(&name) {
                coverage.flipped.push((index, hour));
            }
        }
        coverage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = MILLIS_PER_HOUR;

    /// The covered milliseconds hour by hour from the bins alone, as the rule says.
    fn walked(coverage: &Coverage, from: i64, until: i64, exclude: Mmsi, min: u32) -> i64 {
        let mut covered = 0;
        let mut hour = UnixMillis(from).hour_floor().as_millis();
        while hour < until {
            let besides = coverage.bins[0]
                .get(&hour)
                .map_or(0, |bin| bin.heard_besides(exclude));
            if min == 0 || besides >= min as usize {
                covered += (hour + HOUR).min(until) - hour.max(from);
            }
            hour += HOUR;
        }
        covered
    }

    #[test]
    fn covered_time_across_a_week_boundary_counts_each_hour_as_its_bin_says() {
        let port = Port::circle("Vostochny", 42.735, 133.075, 2.0);
        let ports = [port];
        let mut coverage = Coverage::new(&ports);
        let week = 2_850 * WEEK_MS;
        // (hour from the week's start, vessels heard): 2 and 1 before it, 3 and 2 after, the
        // last hour's two including the silent vessel 9 itself.
        let heard: [(i64, &[u32]); 4] = [(-2, &[1, 2]), (-1, &[1]), (0, &[1, 2, 3]), (1, &[2, 9])];
        for (hour, vessels) in heard {
            for &mmsi in vessels {
                let time = UnixMillis(week + hour * HOUR + 600_000);
                coverage.observe(&ports, Mmsi(mmsi), time, 42.735, 133.075);
            }
        }
        let silent = Mmsi(9);
        let from = week - 2 * HOUR + 30 * 60_000;
        let until = week + 2 * HOUR;
        let covered = coverage.covered_ms(0, UnixMillis(from), UnixMillis(until), silent, 2);
        // Half of hour -2 and all of hour 0; hour 1 has only one vessel besides 9.
        assert_eq!(covered, 90 * 60_000);
        for (from, until, min) in [
            (from, until, 1),
            (from, until, 3),
            (week - 3 * HOUR, week + 5 * HOUR + 1, 2),
            (week + 17 * 60_000, week + 40 * 60_000, 3),
            (week - WEEK_MS, week + WEEK_MS, 1),
            (from, until, 0),
        ] {
            assert_eq!(
                coverage.covered_ms(0, UnixMillis(from), UnixMillis(until), silent, min),
                walked(&coverage, from, until, silent, min),
                "from {from} until {until} at {min} vessels"
            );
        }
        let restored = Coverage::restore(&ports, coverage.checkpoint(&ports));
        assert_eq!(
            restored.covered_ms(0, UnixMillis(from), UnixMillis(until), silent, 2),
            covered
        );
    }
}
