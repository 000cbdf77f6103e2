//! The core model: typed AIS facts as every later stage sees them, independent of the wire
//! format (NMEA sentence or CSV row) they came from. Units are the domain's: degrees, knots,
//! metres, UTC.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::time::UnixMillis;

/// Maritime Mobile Service Identity: the 30-bit station number every AIS message carries.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Mmsi(pub u32);

/// What kind of station an MMSI belongs to, from its leading digits (ITU-R M.585).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StationKind {
    /// A ship station (`MIDxxxxxx`): the only kind that can go dark on a voyage.
    Vessel,
    /// Coast / base station (`00MIDxxxx`).
    BaseStation,
    /// Group call (`0MIDxxxxx`).
    Group,
    /// Search-and-rescue aircraft (`111MIDxxx`).
    SarAircraft,
    /// Aid to navigation (`99MIDxxxx`).
    AidToNavigation,
    /// AIS-SART, MOB device or EPIRB-AIS (`970`-`974`).
    Beacon,
    /// Craft associated with a parent ship (`98MIDxxxx`).
    Auxiliary,
    /// Anything else (test numbers, malformed identities).
    Other,
}

impl Mmsi {
    pub fn kind(self) -> StationKind {
        let n = self.0;
        if n >= 1_000_000_000 {
            return StationKind::Other;
        }
        match n {
            0..=999_999 => StationKind::Other,
            1_000_000..=9_999_999 => StationKind::BaseStation,
            10_000_000..=99_999_999 => StationKind::Group,
            200_000_000..=799_999_999 => StationKind::Vessel,
            111_000_000..=111_999_999 => StationKind::SarAircraft,
            970_000_000..=974_999_999 => StationKind::Beacon,
            980_000_000..=989_999_999 => StationKind::Auxiliary,
            990_000_000..=999_999_999 => StationKind::AidToNavigation,
            _ => StationKind::Other,
        }
    }

    pub fn is_vessel(self) -> bool {
        self.kind() == StationKind::Vessel
    }

    /// Maritime Identification Digits (flag) of a ship station, e.g. 445 = DPRK, 273 = Russia.
    pub fn mid(self) -> Option<u16> {
        self.is_vessel().then_some((self.0 / 1_000_000) as u16)
    }
}

impl std::fmt::Display for Mmsi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

/// Where an event's time came from, most trusted first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// NMEA 4.10 tag block `c:` field.
    TagBlock,
    /// Gatehouse `$PGHP` line preceding the sentence.
    Gatehouse,
    /// A timestamp column before the sentence, or `,station,epoch` after its checksum.
    LogColumn,
    /// The timestamp column of a CSV export row.
    Csv,
    /// The last `$GPZDA` / `$GPRMC` time sentence before the line.
    TimeSentence,
    /// The moment the line was received (live feeds without timestamps).
    Received,
}

/// AIS transceiver class of the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransceiverClass {
    A,
    B,
}

/// Where and when a message was heard: shared by every event.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Heard {
    /// Event time; `None` only when neither the data nor the receiver gave one.
    pub time: Option<UnixMillis>,
    pub time_source: Option<TimeSource>,
    /// Receiving station (tag block `s:`, libais station column, or the feed's configured name).
    pub station: Option<Arc<str>>,
    /// VHF channel (`A`, `B`, `1`, `2`) when the sentence carried one.
    pub channel: Option<char>,
}

/// A position report (message types 1, 2, 3, 18, 19, 27, or a CSV row) with a valid position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub mmsi: Mmsi,
    /// AIS message type, or 0 for a CSV row.
    pub msg_type: u8,
    pub class: TransceiverClass,
    #[serde(flatten)]
    pub heard: Heard,
    /// Degrees, WGS84, north positive.
    pub lat: f64,
    /// Degrees, WGS84, east positive.
    pub lon: f64,
    /// Speed over ground, knots.
    pub sog: Option<f32>,
    /// Course over ground, degrees true.
    pub cog: Option<f32>,
    /// True heading, degrees.
    pub heading: Option<u16>,
    /// Navigational status code (0 under way using engine, 1 at anchor, 5 moored, ...).
    pub nav_status: Option<u8>,
    /// Rate of turn, degrees per minute (`None` when not available); positive is starboard.
    pub turn: Option<f32>,
    /// Position accuracy flag: true when better than 10 m.
    pub accuracy: bool,
    pub raim: bool,
    /// UTC second of the report (0-59), when the sender gave it.
    pub second: Option<u8>,
}

/// Static and voyage facts about a vessel (types 5, 19, 24A/B, or a CSV row). Every field is
/// optional because each message carries only some of them.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct VesselReport {
    pub mmsi: Mmsi,
    pub msg_type: u8,
    /// Type 24 part: 0 = A (name), 1 = B (type, call sign, dimensions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<u8>,
    pub class: Option<TransceiverClass>,
    #[serde(flatten)]
    pub heard: Heard,
    pub imo: Option<u32>,
    pub name: Option<String>,
    pub callsign: Option<String>,
    /// ITU ship and cargo type (80-89 tanker).
    pub ship_type: Option<u8>,
    /// Metres from the reference point to bow, stern, port and starboard.
    pub to_bow: Option<u16>,
    pub to_stern: Option<u16>,
    pub to_port: Option<u16>,
    pub to_starboard: Option<u16>,
    /// Length overall, metres: bow + stern for AIS messages, the export's column for CSV rows.
    pub length: Option<u16>,
    /// Beam, metres: port + starboard for AIS messages, the export's column for CSV rows.
    pub beam: Option<u16>,
    /// Present static draught, metres.
    pub draught: Option<f32>,
    pub destination: Option<String>,
    /// Estimated time of arrival as sent: `MM-DDTHH:MMZ`, no year.
    pub eta: Option<String>,
}

/// A base station report (type 4): proof that a receiver is alive and hearing its area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiverHeartbeat {
    pub mmsi: Mmsi,
    #[serde(flatten)]
    pub heard: Heard,
    /// The station's own UTC clock reading, when valid.
    pub station_time: Option<UnixMillis>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// Any other message: identified and counted, not interpreted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtherMessage {
    pub mmsi: Mmsi,
    pub msg_type: u8,
    #[serde(flatten)]
    pub heard: Heard,
}

/// One decoded fact, in the order it was read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AisEvent {
    Fix(Fix),
    /// A message whose position was "not available" still proves the sender was transmitting.
    PositionUnavailable(OtherMessage),
    VesselReport(VesselReport),
    ReceiverHeartbeat(ReceiverHeartbeat),
    Other(OtherMessage),
}

impl AisEvent {
    pub fn mmsi(&self) -> Mmsi {
        match self {
            AisEvent::Fix(f) => f.mmsi,
            AisEvent::VesselReport(r) => r.mmsi,
            AisEvent::ReceiverHeartbeat(h) => h.mmsi,
            AisEvent::PositionUnavailable(o) | AisEvent::Other(o) => o.mmsi,
        }
    }

    pub fn heard(&self) -> &Heard {
        match self {
            AisEvent::Fix(f) => &f.heard,
            AisEvent::VesselReport(r) => &r.heard,
            AisEvent::ReceiverHeartbeat(h) => &h.heard,
            AisEvent::PositionUnavailable(o) | AisEvent::Other(o) => &o.heard,
        }
    }

    pub fn time(&self) -> Option<UnixMillis> {
        self.heard().time
    }

    /// AIS message type (0 for CSV rows).
    pub fn msg_type(&self) -> u8 {
        match self {
            AisEvent::Fix(f) => f.msg_type,
            AisEvent::VesselReport(r) => r.msg_type,
            AisEvent::ReceiverHeartbeat(_) => 4,
            AisEvent::PositionUnavailable(o) | AisEvent::Other(o) => o.msg_type,
        }
    }
}

/// Ship types 80-89: tankers (all categories).
pub fn is_tanker_type(ship_type: u8) -> bool {
    (80..=89).contains(&ship_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmsi_kinds_follow_itu_prefixes() {
        assert_eq!(Mmsi(445_123_456).kind(), StationKind::Vessel);
        assert_eq!(Mmsi(445_123_456).mid(), Some(445));
        assert_eq!(Mmsi(3_669_702).kind(), StationKind::BaseStation);
        assert_eq!(Mmsi(111_273_100).kind(), StationKind::SarAircraft);
        assert_eq!(Mmsi(970_012_345).kind(), StationKind::Beacon);
        assert_eq!(Mmsi(974_291_422).kind(), StationKind::Beacon);
        assert_eq!(Mmsi(992_509_976).kind(), StationKind::AidToNavigation);
        assert_eq!(Mmsi(1_065_113_482).kind(), StationKind::Other);
        assert!(!Mmsi(992_509_976).is_vessel());
    }
}
