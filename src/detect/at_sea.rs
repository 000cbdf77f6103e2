//! What happens at sea rather than at a berth: the settings of encounter and loitering
//! detection, the slow-fix sample both share, the "away from ports" rule, and the one detector
//! ([`AtSea`]) the engine feeds with every fix, static report and advance of the stream clock.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::encounters::{EncounterRecord, Encounters};
use super::loitering::{Loitering, LoiteringRecord};
use super::DetectParams;
use crate::model::{Fix, Mmsi};
use crate::ports::Port;
use crate::time::UnixMillis;
use crate::track::{Identity, Position};

/// `[encounters]`: two vessels meeting at sea. Defaults are Global Fishing Watch's encounter
/// rule: within 500 m for at least 2 h at a median speed under 2 kn, at least 10 km from an
/// anchorage (here: from any designated port zone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncounterParams {
    pub enabled: bool,
    /// Metres between the two vessels at a common time for that moment to count.
    pub max_distance_m: f64,
    /// Hours the vessels must stay that close.
    pub min_hours: f64,
    /// Knots: the median speed of both vessels over the meeting must be below this.
    pub max_median_speed_kn: f64,
    /// Kilometres from every designated port zone the meeting must keep.
    pub min_port_distance_km: f64,
    /// Hours without a fix from either vessel that end the meeting.
    pub max_silence_hours: f64,
    /// Hours after the end in which static reports still count as the draught "after".
    pub after_hours: f64,
}

impl Default for EncounterParams {
    fn default() -> Self {
        EncounterParams {
            enabled: true,
            max_distance_m: 500.0,
            min_hours: 2.0,
            max_median_speed_kn: 2.0,
            min_port_distance_km: 10.0,
            max_silence_hours: 2.0,
            after_hours: 12.0,
        }
    }
}

/// `[loitering]`: a watched vessel idling at sea. Defaults are Global Fishing Watch's loitering
/// rule (under 2 kn for at least 4 h, at least 20 nm from shore), with the distance measured
/// from the designated port zones: no coastline is bundled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoiteringParams {
    pub enabled: bool,
    /// Knots every fix of the episode must stay under.
    pub max_speed_kn: f64,
    /// Hours the vessel must idle.
    pub min_hours: f64,
    /// Nautical miles from every designated port zone.
    pub min_port_distance_nm: f64,
    /// Hours without a fix that end the episode.
    pub max_silence_hours: f64,
}

impl Default for LoiteringParams {
    fn default() -> Self {
        LoiteringParams {
            enabled: true,
            max_speed_kn: 2.0,
            min_hours: 4.0,
            min_port_distance_nm: 20.0,
            max_silence_hours: 2.0,
        }
    }
}

/// Both detectors' settings, carried inside [`super::DetectParams`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AtSeaParams {
    pub encounters: EncounterParams,
    pub loitering: LoiteringParams,
}

/// How a record's "away from ports" was decided: only the distance from the designated port
/// zones is known (no land mask is bundled).
pub const AWAY_RULE: &str = "from_ports";

/// Where an episode stands: confirmed and still going, or over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeStatus {
    Ongoing,
    Closed,
}

impl EpisodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EpisodeStatus::Ongoing => "ongoing",
            EpisodeStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<EpisodeStatus> {
        match text {
            "ongoing" => Some(EpisodeStatus::Ongoing),
            "closed" => Some(EpisodeStatus::Closed),
            _ => None,
        }
    }
}

/// One fix as the at-sea detectors keep it: where, when, and how fast.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub time: UnixMillis,
    pub lat: f64,
    pub lon: f64,
    /// Knots: speed over ground as reported, or implied by the previous fix.
    pub speed_kn: f32,
}

/// SOG is "not available" at 102.3 kn; above what any hull does it is not a speed.
const SOG_NOT_AVAILABLE: f32 = 102.2;

impl Sample {
    /// The fix's reported speed, or the speed implied by the previous fix; `None` when neither
    /// is known (a vessel's first fix without SOG).
    pub fn of(fix: &Fix, time: UnixMillis, previous: Option<Position>) -> Option<Sample> {
        let speed = match fix.sog.filter(|s| *s <= SOG_NOT_AVAILABLE) {
            Some(sog) => sog,
            None => {
                let p = previous?;
                let hours = p.time.hours_until(time);
                if hours <= 0.0 {
                    return None;
                }
                (crate::ports::haversine_nm(p.lat, p.lon, fix.lat, fix.lon) / hours) as f32
            }
        };
        Some(Sample {
            time,
            lat: fix.lat,
            lon: fix.lon,
            speed_kn: speed,
        })
    }
}

/// The nearest designated port and its distance (nm) from a position, if any port exists.
pub fn nearest_port(ports: &[Port], lat: f64, lon: f64) -> Option<(&Port, f64)> {
    ports
        .iter()
        .map(|p| (p, p.distance_nm(lat, lon)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Whether a position keeps at least `min_nm` from every designated port zone.
pub fn away_from_ports(ports: &[Port], lat: f64, lon: f64, min_nm: f64) -> bool {
    ports.iter().all(|p| p.distance_nm(lat, lon) >= min_nm)
}

/// ISO 3166 alpha-2 code of the flag a Maritime Identification Digit stands for, for the flags
/// analysts of this trade meet most; `None` for the rest (the MID itself is always reported).
pub fn flag_of(mid: u16) -> Option<&'static str> {
    Some(match mid {
        445 => "KP",
        273 => "RU",
        412..=414 => "CN",
        440 | 441 => "KR",
        431 | 432 => "JP",
        477 => "HK",
        416 => "TW",
        351..=357 | 370..=373 => "PA",
        636 | 637 => "LR",
        538 => "MH",
        511 => "PW",
        574 => "VN",
        533 => "MY",
        563..=566 => "SG",
        572 => "TV",
        667 => "SL",
        341 => "KN",
        620 => "KM",
        613 => "CM",
        677 => "TZ",
        312 => "BZ",
        457 => "MN",
        518 => "CK",
        _ => return None,
    })
}

/// A vessel as an at-sea record names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VesselAtSea {
    pub mmsi: Mmsi,
    pub imo: Option<u32>,
    pub name: Option<String>,
    /// Maritime Identification Digits of the MMSI.
    pub mid: Option<u16>,
    pub flag: Option<String>,
    pub ship_type: Option<u8>,
    pub length: Option<u16>,
    pub beam: Option<u16>,
    pub watched: bool,
}

impl VesselAtSea {
    pub fn of(mmsi: Mmsi, identity: &Identity, watched: bool) -> VesselAtSea {
        let mid = mmsi.mid();
        VesselAtSea {
            mmsi,
            imo: identity.imo,
            name: identity.name.clone(),
            mid,
            flag: mid.and_then(flag_of).map(str::to_owned),
            ship_type: identity.ship_type,
            length: identity.length,
            beam: identity.beam,
            watched,
        }
    }
}

/// What the at-sea detectors ask the store to persist.
#[derive(Clone, Debug, PartialEq)]
pub enum AtSeaChange {
    /// Insert or replace the encounter keyed by (mmsi_a, mmsi_b, start).
    Encounter(Box<EncounterRecord>),
    /// Insert or replace the loitering episode keyed by (mmsi, start).
    Loitering(Box<LoiteringRecord>),
}

/// Counters of the at-sea detectors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AtSeaStats {
    pub encounters: u64,
    pub loitering: u64,
    /// Candidate pairs the grid proposed and a common-time evaluation followed.
    pub candidate_pairs: u64,
}

/// Encounter and loitering detection over the fixes as the engine applies them: pure, fed in
/// stream-clock order, so that a replay and a live run confirm the same episodes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AtSea {
    encounters: Encounters,
    loitering: Loitering,
    stats: AtSeaStats,
    #[serde(skip)]
    changes: Vec<AtSeaChange>,
}

/// What the engine knows of the vessel at the fix.
pub struct Heard<'a> {
    pub mmsi: Mmsi,
    pub watched: bool,
    pub identity: &'a Arc<Identity>,
}

impl AtSea {
    pub fn on_fix(
        &mut self,
        params: &DetectParams,
        ports: &[Port],
        vessel: Heard<'_>,
        sample: Sample,
    ) {
        if params.at_sea.loitering.enabled && vessel.watched {
            self.loitering.on_fix(
                &params.at_sea.loitering,
                ports,
                &vessel,
                sample,
                &mut self.changes,
                &mut self.stats,
            );
        }
        if params.at_sea.encounters.enabled {
            self.encounters.on_fix(
                params,
                ports,
                &vessel,
                sample,
                &mut self.changes,
                &mut self.stats,
            );
        }
    }

    /// A static report changed what the engine knows of the vessel.
    pub fn on_identity(
        &mut self,
        params: &DetectParams,
        mmsi: Mmsi,
        time: UnixMillis,
        identity: &Arc<Identity>,
    ) {
        self.encounters
            .on_identity(params, mmsi, time, identity, &mut self.changes);
        self.loitering.on_identity(mmsi, identity);
    }

    /// The stream clock moved: ends episodes whose vessels fell silent, and writes the
    /// progress of ongoing ones.
    pub fn on_clock(&mut self, params: &DetectParams, ports: &[Port], clock: UnixMillis) {
        self.encounters
            .on_clock(params, ports, clock, &mut self.changes);
        self.loitering
            .on_clock(&params.at_sea.loitering, clock, &mut self.changes);
    }

    pub fn take_changes(&mut self) -> Vec<AtSeaChange> {
        std::mem::take(&mut self.changes)
    }

    pub fn stats(&self) -> &AtSeaStats {
        &self.stats
    }

    /// Vessels and pairs held: what the detectors' memory is proportional to.
    pub fn held(&self) -> (usize, usize) {
        (
            self.encounters.vessels_held() + self.loitering.vessels_held(),
            self.encounters.pairs_held(),
        )
    }
}

/// Rounds to `places` decimals, as every stored number is.
pub(super) fn round_to(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_of_the_trade_are_named_and_others_left_to_the_mid() {
        assert_eq!(flag_of(445), Some("KP"));
        assert_eq!(flag_of(273), Some("RU"));
        assert_eq!(flag_of(999), None);
    }

    #[test]
    fn speed_comes_from_sog_or_the_previous_fix() {
        let mut fix = crate::detect::encounters::tests::fix(445_000_001, 42.0, 134.0, None);
        let t = UnixMillis(3_600_000);
        assert_eq!(Sample::of(&fix, t, None), None);
        let previous = Position {
            time: UnixMillis(0),
            lat: 42.0 - 1.0 / 60.0,
            lon: 134.0,
        };
        let implied = Sample::of(&fix, t, Some(previous)).unwrap().speed_kn;
        assert!((implied - 1.0).abs() < 0.01, "{implied}");
        fix.sog = Some(102.3);
        assert!((Sample::of(&fix, t, Some(previous)).unwrap().speed_kn - 1.0).abs() < 0.01);
        fix.sog = Some(0.4);
        assert_eq!(Sample::of(&fix, t, Some(previous)).unwrap().speed_kn, 0.4);
    }
}
