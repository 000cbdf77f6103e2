//! The core model: typed AIS facts as every later stage sees them, independent of the wire
//! format (NMEA sentence or CSV row) they came from. Units are the domain's: degrees, knots,
//! metres, UTC.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::time::UnixMillis;

mod text;
pub use text::ShortText;

/// Maritime Mobile Service Identity: the 30-bit station number every AIS message carries.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Mmsi(pub u32);

/// What kind of station an MMSI belongs to, from its digits (ITU-R M.585-9). `M` is a
/// Maritime Identification Digit group (`MID`, three digits, the first 2-7); `x` any digit.
///
/// | digits       | kind                                                  |
/// |--------------|-------------------------------------------------------|
/// | `MIDxxxxxx`  | ship station                                          |
/// | `0MIDxxxxx`  | group of ship stations (a fleet, a navy squadron)     |
/// | `00MIDxxxx`  | coast station (AIS base station)                      |
/// | `111MIDxxx`  | SAR aircraft                                          |
/// | `8MIDxxxxx`  | free-form number for a handheld or personal device    |
/// | `98MIDxxxx`  | craft associated with a parent ship                   |
/// | `99MIDxxxx`  | aid to navigation                                     |
/// | `970xxyyyy`, `972xxyyyy`, `974xxyyyy` | AIS-SART, MOB device, EPIRB-AIS |
///
/// Anything else (a MID starting 0, 1, 8 or 9, `971`/`973`, fewer or more digits) is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StationKind {
    /// A ship station (`MIDxxxxxx`): the kind that can go dark on a voyage.
    Vessel,
    /// Coast / base station (`00MIDxxxx`).
    BaseStation,
    /// A group of ship stations (`0MIDxxxxx`): sent by ships, so tracked as a vessel.
    Group,
    /// Search-and-rescue aircraft (`111MIDxxx`).
    SarAircraft,
    /// Aid to navigation (`99MIDxxxx`).
    AidToNavigation,
    /// AIS-SART, MOB device or EPIRB-AIS (`970`, `972`, `974`).
    Beacon,
    /// Craft associated with a parent ship (`98MIDxxxx`): a tender, a lifeboat.
    Auxiliary,
    /// A free-form device number (`8MIDxxxxx`): diver radios and other handhelds.
    FreeFormDevice,
    /// Anything else (test numbers, malformed identities).
    Other,
}

/// Whether `mid` is a Maritime Identification Digits group: three digits, the first 2-7.
fn is_mid(mid: u32) -> bool {
    (200..=799).contains(&mid)
}

impl Mmsi {
    pub fn kind(self) -> StationKind {
        let n = self.0;
        match n / 100_000_000 {
            2..=7 => StationKind::Vessel,
            0 if n < 10_000_000 && is_mid(n / 10_000) => StationKind::BaseStation,
            // Below 10,000,000, n / 100,000 is below 100: never a MID.
            0 if is_mid(n / 100_000) => StationKind::Group,
            1 if n / 1_000_000 == 111 && is_mid(n / 1_000 % 1_000) => StationKind::SarAircraft,
            8 if is_mid(n / 100_000 % 1_000) => StationKind::FreeFormDevice,
            9 => match n / 1_000_000 {
                970 | 972 | 974 => StationKind::Beacon,
                980..=989 if is_mid(n / 10_000 % 1_000) => StationKind::Auxiliary,
                990..=999 if is_mid(n / 10_000 % 1_000) => StationKind::AidToNavigation,
                _ => StationKind::Other,
            },
            _ => StationKind::Other,
        }
    }

    /// Whether the engine tracks the sender as a vessel: a ship station, or a group of ship
    /// stations (whose messages come from one of its ships).
    pub fn is_vessel(self) -> bool {
        matches!(self.kind(), StationKind::Vessel | StationKind::Group)
    }

    /// Maritime Identification Digits (flag) of the station, e.g. 445 = DPRK, 273 = Russia;
    /// `None` for beacons (numbered by manufacturer) and malformed identities.
    pub fn mid(self) -> Option<u16> {
        let n = self.0;
        let mid = match self.kind() {
            StationKind::Vessel => n / 1_000_000,
            StationKind::Group | StationKind::FreeFormDevice => n / 100_000 % 1_000,
            StationKind::BaseStation | StationKind::Auxiliary | StationKind::AidToNavigation => {
                n / 10_000 % 1_000
            }
            StationKind::SarAircraft => n / 1_000 % 1_000,
            StationKind::Beacon | StationKind::Other => return None,
        };
        Some(mid as u16)
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
    /// The moment the line was received, moved back by how far the source's own clock lags
    /// its receive times: a live line without the carrier that times the rest of its source
    /// (a satellite relay hours behind, an archive read as a file years behind).
    ReceivedOnSourceClock,
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
    /// The line the message ended on, set by whoever read it (not part of the decoded record).
    #[serde(skip)]
    pub line: Option<LineRef>,
}

/// Where a message's last line sits in its source: small enough to travel with every event,
/// enough to find the raw line(s) again when the message becomes evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct LineRef {
    /// The source's position among the inputs of one run (a replay's logs, a service's
    /// `[[source]]`s), named in the store's `evidence_sources` table.
    pub source: u32,
    /// 1-based physical line number in the source (the feed's own line counter, live).
    pub line: u64,
    /// Byte offset of the line's first byte in the source's decompressed text.
    pub offset: u64,
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
    pub name: Option<ShortText>,
    pub callsign: Option<ShortText>,
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
    pub destination: Option<ShortText>,
    /// Estimated time of arrival as sent: `MM-DDTHH:MMZ`, no year.
    pub eta: Option<ShortText>,
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

    /// Gives the event another time, said to come from `source` (a message held until its
    /// source's clock showed, moved onto that clock).
    pub fn retime(&mut self, time: UnixMillis, source: TimeSource) {
        let heard = match self {
            AisEvent::Fix(f) => &mut f.heard,
            AisEvent::VesselReport(r) => &mut r.heard,
            AisEvent::ReceiverHeartbeat(h) => &mut h.heard,
            AisEvent::PositionUnavailable(o) | AisEvent::Other(o) => &mut o.heard,
        };
        heard.time = Some(time);
        heard.time_source = Some(source);
    }

    /// Marks a position or static report with the line it came from; other events never
    /// become evidence and stay unmarked.
    pub fn mark_line(&mut self, at: LineRef) {
        match self {
            AisEvent::Fix(f) => f.heard.line = Some(at),
            AisEvent::VesselReport(r) => r.heard.line = Some(at),
            _ => {}
        }
    }

    /// The line each of `events` ended on, for a checkpoint that saves them: a line is not
    /// part of an event's serialised form, and a restarted service needs it to find the raw
    /// line and hand out the evidence the event is. [`AisEvent::put_back_lines`] undoes it.
    pub fn lines_of<'a>(events: impl IntoIterator<Item = &'a AisEvent>) -> Vec<Option<LineRef>> {
        events.into_iter().map(|e| e.heard().line).collect()
    }

    /// Marks `events` with the lines [`AisEvent::lines_of`] saved (fewer lines, from a
    /// checkpoint written before they were saved, leave the rest unmarked).
    pub fn put_back_lines(events: &mut [AisEvent], lines: Vec<Option<LineRef>>) {
        for (event, line) in events.iter_mut().zip(lines) {
            if let Some(at) = line {
                event.mark_line(at);
            }
        }
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

impl Fix {
    /// A class A position report at `lat`, `lon` and nothing else known: no speed, course,
    /// heading, status or turn.
    pub fn bare(mmsi: Mmsi, msg_type: u8, heard: Heard, lat: f64, lon: f64) -> Fix {
        Fix {
            mmsi,
            msg_type,
            class: TransceiverClass::A,
            heard,
            lat,
            lon,
            sog: None,
            cog: None,
            heading: None,
            nav_status: None,
            turn: None,
            accuracy: false,
            raim: false,
            second: None,
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

    fn kind(digits: &str) -> StationKind {
        assert_eq!(digits.len(), 9, "{digits}");
        Mmsi(digits.parse().unwrap()).kind()
    }

    #[test]
    fn ship_stations_start_with_a_mid() {
        assert_eq!(kind("445123456"), StationKind::Vessel);
        assert_eq!(kind("201000000"), StationKind::Vessel);
        assert_eq!(kind("799999999"), StationKind::Vessel);
        assert_eq!(Mmsi(445_123_456).mid(), Some(445));
        assert!(Mmsi(273_000_001).is_vessel());
    }

    #[test]
    fn a_group_of_ship_stations_is_tracked_as_a_vessel() {
        // A navy ship heard under its group number.
        assert_eq!(kind("036926403"), StationKind::Group);
        assert_eq!(Mmsi(36_926_403).mid(), Some(369));
        assert!(Mmsi(36_926_403).is_vessel());
        assert_eq!(kind("019999999"), StationKind::Other, "MID 199");
        assert_eq!(kind("080000000"), StationKind::Other, "MID 800");
    }

    #[test]
    fn coast_stations_are_two_zeros_and_a_mid() {
        assert_eq!(kind("003669702"), StationKind::BaseStation);
        assert_eq!(Mmsi(3_669_702).mid(), Some(366));
        assert!(!Mmsi(3_669_702).is_vessel());
        assert_eq!(kind("001234567"), StationKind::Other, "MID 123");
        assert_eq!(kind("009012345"), StationKind::Other, "MID 901");
        assert_eq!(kind("000123456"), StationKind::Other);
    }

    #[test]
    fn sar_aircraft_are_111_and_a_mid() {
        assert_eq!(kind("111273100"), StationKind::SarAircraft);
        assert_eq!(Mmsi(111_273_100).mid(), Some(273));
        assert_eq!(kind("111123456"), StationKind::Other, "MID 123");
        assert_eq!(kind("112273100"), StationKind::Other);
        assert!(!Mmsi(111_273_100).is_vessel());
    }

    #[test]
    fn aids_to_navigation_are_99_and_a_mid() {
        assert_eq!(kind("992509976"), StationKind::AidToNavigation);
        assert_eq!(Mmsi(992_509_976).mid(), Some(250));
        assert_eq!(kind("991234567"), StationKind::Other, "MID 123");
        assert!(!Mmsi(992_509_976).is_vessel());
    }

    #[test]
    fn craft_associated_with_a_parent_ship_are_98_and_a_mid() {
        assert_eq!(kind("982570001"), StationKind::Auxiliary);
        assert_eq!(Mmsi(982_570_001).mid(), Some(257));
        assert_eq!(kind("980012345"), StationKind::Other, "MID 001");
        assert!(!Mmsi(982_570_001).is_vessel());
    }

    #[test]
    fn sart_mob_and_epirb_are_970_972_974() {
        assert_eq!(kind("970012345"), StationKind::Beacon);
        assert_eq!(kind("972291422"), StationKind::Beacon);
        assert_eq!(kind("974291422"), StationKind::Beacon);
        assert_eq!(Mmsi(974_291_422).mid(), None);
        assert_eq!(kind("971000000"), StationKind::Other);
        assert_eq!(kind("973000000"), StationKind::Other);
        assert!(!Mmsi(970_012_345).is_vessel());
    }

    #[test]
    fn free_form_devices_are_8_and_a_mid() {
        assert_eq!(kind("825912345"), StationKind::FreeFormDevice);
        assert_eq!(Mmsi(825_912_345).mid(), Some(259));
        assert_eq!(kind("819912345"), StationKind::Other, "MID 199");
        assert!(!Mmsi(825_912_345).is_vessel());
    }

    #[test]
    fn other_numbers_are_other() {
        assert_eq!(Mmsi(1_065_113_482).kind(), StationKind::Other);
        assert_eq!(kind("100000000"), StationKind::Other);
        assert_eq!(Mmsi(0).kind(), StationKind::Other);
        assert_eq!(Mmsi(0).mid(), None);
    }
}
