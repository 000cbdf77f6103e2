//! What happens at sea rather than at a berth, shared by the encounter and loitering detectors
//! and dark rendezvous: their settings, the slow-fix sample, the "away from
//! ports" rule, and how a vessel is named in their records.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Fix, Mmsi, ShortText};
use crate::ports::{Port, Ports};
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

/// `[rendezvous]`: a watched vessel's dark period that a partner's dark period or idling could
/// have shared. Modelled on Skylight's dark-rendezvous alerts, which flag a vessel whose
/// movement looks like a meeting while its partner is not seen; here the partner is a vessel
/// whose own record (silent, or idling with AIS on) leaves time and room to meet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RendezvousParams {
    pub enabled: bool,
    /// Hours the two must have been able to spend together (the encounter minimum).
    pub min_hours: f64,
    /// Knots either vessel may have made while dark (as for ports, `[detect] max_speed_kn`).
    pub max_speed_kn: f64,
    /// Longer silences are not paired: within them almost anyone could have met anyone.
    pub max_gap_hours: f64,
    /// Kilometres from every designated port zone the meeting place must keep.
    pub min_port_distance_km: f64,
}

impl Default for RendezvousParams {
    fn default() -> Self {
        RendezvousParams {
            enabled: true,
            min_hours: 2.0,
            max_speed_kn: 15.0,
            max_gap_hours: 24.0,
            min_port_distance_km: 10.0,
        }
    }
}

/// The at-sea detectors' settings, carried inside [`super::DetectParams`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AtSeaParams {
    pub encounters: EncounterParams,
    pub loitering: LoiteringParams,
    #[serde(default)]
    pub rendezvous: RendezvousParams,
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
    /// A late fix showed the vessel elsewhere during it.
    Withdrawn,
}

impl EpisodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EpisodeStatus::Ongoing => "ongoing",
            EpisodeStatus::Closed => "closed",
            EpisodeStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<EpisodeStatus> {
        match text {
            "ongoing" => Some(EpisodeStatus::Ongoing),
            "closed" => Some(EpisodeStatus::Closed),
            "withdrawn" => Some(EpisodeStatus::Withdrawn),
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
pub fn nearest_port(ports: &Ports, lat: f64, lon: f64) -> Option<(&Port, f64)> {
    ports.nearest(lat, lon)
}

/// Whether a position keeps at least `min_nm` from every designated port zone.
pub fn away_from_ports(ports: &Ports, lat: f64, lon: f64, min_nm: f64) -> bool {
    ports.all_at_least(lat, lon, min_nm)
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
    pub name: Option<ShortText>,
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

/// Counters of the at-sea detectors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AtSeaStats {
    pub encounters: u64,
    pub loitering: u64,
    /// Candidate pairs the grid proposed and a common-time evaluation followed.
    pub candidate_pairs: u64,
}

/// What the engine knows of the vessel at the fix.
pub struct Heard<'a> {
    pub mmsi: Mmsi,
    pub watched: bool,
    pub identity: &'a Arc<Identity>,
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
}
