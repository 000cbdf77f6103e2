//! Loitering: a watched vessel idling far from every designated port for hours, the way a
//! tanker waits for a partner it may meet with its transponder off. One episode per vessel
//! at most, so memory follows the vessels currently slow at sea.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::at_sea::{
    nearest_port, AtSeaStats, EpisodeStatus, Heard, LoiteringParams, Sample, VesselAtSea, AWAY_RULE,
};
use super::round_to;
use crate::hashed::{in_key_order, sorted_keys, MmsiMap};
use crate::model::Mmsi;
use crate::ports::{haversine_nm, Port, Ports};
use crate::time::UnixMillis;
use crate::track::Identity;

/// One loitering episode: the record analysts query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoiteringRecord {
    pub vessel: VesselAtSea,
    pub status: EpisodeStatus,
    pub start: UnixMillis,
    /// The last slow fix so far.
    pub end: UnixMillis,
    pub duration_hours: f64,
    pub start_lat: f64,
    pub start_lon: f64,
    pub end_lat: f64,
    pub end_lon: f64,
    /// Mean position of the episode's fixes.
    pub lat: f64,
    pub lon: f64,
    pub fixes: u32,
    pub mean_speed_kn: f64,
    pub max_speed_kn: f64,
    /// Along the fixes, nautical miles.
    pub distance_nm: f64,
    /// The nearest designated port over the episode, and how close it came (nm).
    pub nearest_port: Option<String>,
    pub port_distance_nm: Option<f64>,
    /// How "away from shore" was decided: `from_ports` (no land mask is bundled).
    pub away_rule: String,
    pub draught: Option<f64>,
    /// Set on the one change that confirms the episode: what alerts are raised on.
    #[serde(skip)]
    pub newly_confirmed: bool,
}

impl LoiteringRecord {
    pub fn key(&self) -> (Mmsi, UnixMillis) {
        (self.vessel.mmsi, self.start)
    }
}

/// A watched vessel slow at sea right now, confirmed or not yet.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Episode {
    vessel: VesselAtSea,
    draught: Option<f32>,
    first: Sample,
    last: Sample,
    fixes: u32,
    speed_sum: f64,
    max_speed: f32,
    lat_sum: f64,
    lon_sum: f64,
    path_nm: f64,
    nearest: Option<(String, f64)>,
    confirmed: bool,
    /// Confirmed and grown since it was last written.
    dirty: bool,
}

impl Episode {
    fn start(vessel: &Heard<'_>, sample: Sample, nearest: Option<(&Port, f64)>) -> Episode {
        Episode {
            vessel: VesselAtSea::of(vessel.mmsi, vessel.identity, vessel.watched),
            draught: vessel.identity.draught,
            first: sample,
            last: sample,
            fixes: 1,
            speed_sum: f64::from(sample.speed_kn),
            max_speed: sample.speed_kn,
            lat_sum: sample.lat,
            lon_sum: sample.lon,
            path_nm: 0.0,
            nearest: nearest.map(|(p, nm)| (p.name.clone(), nm)),
            confirmed: false,
            dirty: false,
        }
    }

    fn extend(&mut self, sample: Sample, nearest: Option<(&Port, f64)>) {
        self.path_nm += haversine_nm(self.last.lat, self.last.lon, sample.lat, sample.lon);
        self.last = sample;
        self.fixes += 1;
        self.speed_sum += f64::from(sample.speed_kn);
        self.max_speed = self.max_speed.max(sample.speed_kn);
        self.lat_sum += sample.lat;
        self.lon_sum += sample.lon;
        if let Some((port, nm)) = nearest {
            if self.nearest.as_ref().is_none_or(|(_, best)| nm < *best) {
                self.nearest = Some((port.name.clone(), nm));
            }
        }
        self.dirty = self.confirmed;
    }

    fn hours(&self) -> f64 {
        self.first.time.hours_until(self.last.time)
    }

    fn record(&self, status: EpisodeStatus) -> LoiteringRecord {
        let n = f64::from(self.fixes);
        LoiteringRecord {
            vessel: self.vessel.clone(),
            status,
            start: self.first.time,
            end: self.last.time,
            duration_hours: round_to(self.hours(), 4),
            start_lat: self.first.lat,
            start_lon: self.first.lon,
            end_lat: self.last.lat,
            end_lon: self.last.lon,
            lat: round_to(self.lat_sum / n, 6),
            lon: round_to(self.lon_sum / n, 6),
            fixes: self.fixes,
            mean_speed_kn: round_to(self.speed_sum / n, 2),
            max_speed_kn: round_to(f64::from(self.max_speed), 2),
            distance_nm: round_to(self.path_nm, 3),
            nearest_port: self.nearest.as_ref().map(|(p, _)| p.clone()),
            port_distance_nm: self.nearest.as_ref().map(|(_, nm)| round_to(*nm, 3)),
            away_rule: AWAY_RULE.to_owned(),
            draught: self.draught.map(|d| round_to(f64::from(d), 2)),
            newly_confirmed: false,
        }
    }
}

/// The loitering detector: the episode of each watched vessel now slow at sea.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Loitering {
    #[serde(with = "in_key_order")]
    episodes: MmsiMap<Episode>,
}

impl Loitering {
    pub(super) fn on_fix(
        &mut self,
        params: &LoiteringParams,
        ports: &Ports,
        vessel: &Heard<'_>,
        sample: Sample,
        changes: &mut Vec<LoiteringRecord>,
        stats: &mut AtSeaStats,
    ) {
        let silence_ms = (params.max_silence_hours * 3_600_000.0) as i64;
        let slow = f64::from(sample.speed_kn) < params.max_speed_kn;
        // Only a slow fix starts or extends an episode, so only a slow fix needs the nearest
        // port: a watched vessel under way costs no port search.
        let nearest = slow
            .then(|| nearest_port(ports, sample.lat, sample.lon))
            .flatten();
        let away = slow && nearest.is_none_or(|(_, nm)| nm >= params.min_port_distance_nm);
        let episode = away
            .then(|| self.episodes.get_mut(&vessel.mmsi))
            .flatten()
            .filter(|e| sample.time.as_millis() - e.last.time.as_millis() <= silence_ms);
        if let Some(episode) = episode {
            episode.extend(sample, nearest);
            if !episode.confirmed && episode.hours() >= params.min_hours {
                episode.confirmed = true;
                stats.loitering += 1;
                let mut record = episode.record(EpisodeStatus::Ongoing);
                record.newly_confirmed = true;
                changes.push(record);
                tracing::info!(
                    mmsi = vessel.mmsi.0,
                    start = %episode.first.time,
                    hours = format_args!("{:.1}", episode.hours()),
                    "Loitering confirmed."
                );
            }
            return;
        }
        if let Some(ended) = self.episodes.remove(&vessel.mmsi) {
            close(ended, changes);
        }
        if away {
            self.episodes
                .insert(vessel.mmsi, Episode::start(vessel, sample, nearest));
        }
    }

    pub(super) fn on_identity(&mut self, mmsi: Mmsi, identity: &Arc<Identity>) {
        if let Some(episode) = self.episodes.get_mut(&mmsi) {
            let watched = episode.vessel.watched;
            episode.vessel = VesselAtSea::of(mmsi, identity, watched);
        }
    }

    pub(super) fn on_clock(
        &mut self,
        params: &LoiteringParams,
        clock: UnixMillis,
        changes: &mut Vec<LoiteringRecord>,
    ) {
        let silence_ms = (params.max_silence_hours * 3_600_000.0) as i64;
        // In MMSI order, as the changes were always written.
        let silent = sorted_keys(&self.episodes, |e| {
            clock.as_millis() - e.last.time.as_millis() > silence_ms
        });
        for mmsi in silent {
            if let Some(ended) = self.episodes.remove(&mmsi) {
                close(ended, changes);
            }
        }
        for mmsi in sorted_keys(&self.episodes, |e| e.dirty) {
            let episode = self.episodes.get_mut(&mmsi).expect("just listed");
            episode.dirty = false;
            changes.push(episode.record(EpisodeStatus::Ongoing));
        }
    }

    pub(super) fn vessels_held(&self) -> usize {
        self.episodes.len()
    }
}

/// An episode that ended: written as closed if it had been confirmed, forgotten otherwise.
fn close(episode: Episode, changes: &mut Vec<LoiteringRecord>) {
    if episode.confirmed {
        changes.push(episode.record(EpisodeStatus::Closed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::sea_activity::{AtSea, AtSeaChange};
    use crate::detect::DetectParams;

    const HOUR: i64 = 3_600_000;

    fn run(speeds_and_lats: &[(i64, f64, f32)], ports: &[Port]) -> Vec<LoiteringRecord> {
        let ports = &Ports::new(ports.to_vec());
        let params = DetectParams::default();
        let mut at_sea = AtSea::default();
        let identity = Arc::new(Identity::default());
        for &(minutes, lat, speed) in speeds_and_lats {
            let time = UnixMillis(minutes * 60_000);
            let heard = Heard {
                mmsi: Mmsi(445_000_001),
                watched: true,
                identity: &identity,
            };
            let sample = Sample {
                time,
                lat,
                lon: 134.0,
                speed_kn: speed,
            };
            at_sea.on_fix(&params, ports, heard, sample);
            at_sea.on_clock(&params, ports, time);
        }
        at_sea.on_clock(&params, ports, UnixMillis(100 * HOUR));
        at_sea
            .take_changes()
            .into_iter()
            .filter_map(|c| match c {
                AtSeaChange::Loitering(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn eight_slow_hours_at_sea_are_one_episode_confirmed_then_closed() {
        let fixes: Vec<(i64, f64, f32)> = (0..=48).map(|i| (i * 10, 41.0, 0.8)).collect();
        let records = run(&fixes, &[Port::circle("Vostochny", 42.735, 133.075, 2.0)]);
        let last = records.last().unwrap();
        assert_eq!(records[0].status, EpisodeStatus::Ongoing);
        assert_eq!(records[0].duration_hours, 4.0);
        assert_eq!(last.status, EpisodeStatus::Closed);
        assert_eq!(last.duration_hours, 8.0);
        assert_eq!(last.fixes, 49);
        assert_eq!(last.away_rule, "from_ports");
        assert_eq!(last.nearest_port.as_deref(), Some("Vostochny"));
        assert!(records.iter().all(|r| r.start == UnixMillis(0)));
    }

    #[test]
    fn short_fast_or_near_port_idling_is_not_loitering() {
        let short: Vec<_> = (0..=20).map(|i| (i * 10, 41.0, 0.8)).collect();
        assert!(run(&short, &[]).is_empty());
        let fast: Vec<_> = (0..=48).map(|i| (i * 10, 41.0, 2.5)).collect();
        assert!(run(&fast, &[]).is_empty());
        let near = [Port::circle("Vostochny", 41.1, 134.0, 2.0)];
        let at_anchor: Vec<_> = (0..=48).map(|i| (i * 10, 41.0, 0.1)).collect();
        assert!(run(&at_anchor, &near).is_empty());
    }

    #[test]
    fn a_silence_beyond_the_limit_splits_the_episode() {
        let mut fixes: Vec<_> = (0..=30).map(|i| (i * 10, 41.0, 0.5)).collect();
        fixes.extend((0..=30).map(|i| (600 + i * 10, 41.0, 0.5)));
        let records = run(&fixes, &[]);
        let closed: Vec<_> = records
            .iter()
            .filter(|r| r.status == EpisodeStatus::Closed)
            .collect();
        assert_eq!(closed.len(), 2);
        assert_eq!(closed[0].end, UnixMillis(300 * 60_000));
        assert_eq!(closed[1].start, UnixMillis(600 * 60_000));
    }
}
