//! Receptions of one report by several sources: what tells a fix heard again from a new one.

use serde::{Deserialize, Serialize};

use super::Position;
use crate::model::{Fix, TransceiverClass, VesselReport};
use crate::time::UnixMillis;

/// How far apart in time two receptions of one report may be timed: receivers' clocks and a
/// network's delays differ by a few seconds at most, and a vessel reports again within that
/// only with another UTC second.
pub const DEFAULT_COPY_WINDOW_MS: i64 = 5_000;

/// A key no fix matches: before the first fix, and for a report without its UTC second.
pub const NO_COPY_KEY: u64 = 0;

/// What a fix reported besides its time, hashed: equal for two receptions of one transmission
/// (the same position, motion and UTC second), which the decoder's duplicate filter cannot see
/// when they come from different sources (two receivers' feeds, two stations' logs: the
/// simpleais log split by talker stored 7,359 fixes against 5,042 for the log as one). A
/// report without its UTC second (60-63, or a CSV row) has no key: in that log one vessel
/// reports every 2 s from the same place with the same motion, and only the second tells
/// its transmissions apart.
pub fn copy_key(fix: &Fix) -> u64 {
    let Some(second) = fix.second.filter(|s| *s < 60).map(u64::from) else {
        return NO_COPY_KEY;
    };
    let parts = [
        fix.lat.to_bits(),
        fix.lon.to_bits(),
        fix.sog.map_or(u64::MAX, |v| u64::from(v.to_bits())),
        fix.cog.map_or(u64::MAX, |v| u64::from(v.to_bits())),
        fix.heading.map_or(u64::MAX, u64::from),
        fix.nav_status.map_or(u64::MAX, u64::from),
        second,
        u64::from(fix.msg_type),
    ];
    Mix::of(parts)
}

/// A fix with `key` at `time` is the last fix (`last`, whose key was `last_key`) heard again,
/// `window_ms` apart at most.
pub fn is_copy(
    last: Option<Position>,
    last_key: u64,
    key: u64,
    time: UnixMillis,
    window_ms: i64,
) -> bool {
    key != NO_COPY_KEY
        && key == last_key
        && last.is_some_and(|last| (time.as_millis() - last.time.as_millis()).abs() <= window_ms)
}

/// What a static report said, hashed: equal for two receptions of one transmission. A vessel
/// sends its static data every few minutes (type 5 and 24 every 6), so the same words within
/// the copy window are another receiver's copy (or a repeater's, whose repeat indicator the
/// decoder's filter sees as a difference); applied again, it would only move the vessel's
/// last heard by the copy's delay.
pub fn report_copy_key(report: &VesselReport) -> u64 {
    let number = |value: Option<u64>| value.unwrap_or(u64::MAX);
    let class = report.class.map_or(u64::MAX, |c| match c {
        TransceiverClass::A => 0,
        TransceiverClass::B => 1,
    });
    let words = [
        u64::from(report.msg_type),
        number(report.part.map(u64::from)),
        class,
        number(report.imo.map(u64::from)),
        number(report.ship_type.map(u64::from)),
        number(report.to_bow.map(u64::from)),
        number(report.to_stern.map(u64::from)),
        number(report.to_port.map(u64::from)),
        number(report.to_starboard.map(u64::from)),
        number(report.length.map(u64::from)),
        number(report.beam.map(u64::from)),
        number(report.draught.map(|d| u64::from(d.to_bits()))),
    ];
    let mut mix = Mix::default();
    mix.push_all(words);
    for text in [
        &report.name,
        &report.callsign,
        &report.destination,
        &report.eta,
    ] {
        match text {
            // Eight bytes a word; the length ends each text, so that no two lists of texts
            // mix alike by moving bytes from one field to the next.
            Some(text) => {
                for chunk in text.as_bytes().chunks(8) {
                    let mut word = [0u8; 8];
                    word[..chunk.len()].copy_from_slice(chunk);
                    mix.push(u64::from_le_bytes(word));
                }
                mix.push(text.len() as u64);
            }
            None => mix.push(u64::MAX),
        }
    }
    mix.key()
}

/// The key of a list of words: a sum of the words each multiplied by an odd number of its own
/// position. A key is compared, never looked up, and is made for every fix and report: the
/// products do not wait for each other, as a chained hash's steps do, and a change of any one
/// word always changes the sum (an odd multiplier is a bijection of the 64-bit words).
#[derive(Default)]
struct Mix {
    sum: u64,
    multiplier: u64,
}

impl Mix {
    const STEP: u64 = 0x9E37_79B9_7F4A_7C15;

    fn push(&mut self, word: u64) {
        self.multiplier = self.multiplier.wrapping_add(Self::STEP.wrapping_mul(2));
        self.sum = self
            .sum
            .wrapping_add(word.wrapping_mul(self.multiplier | 1));
    }

    fn of(words: impl IntoIterator<Item = u64>) -> u64 {
        let mut mix = Mix::default();
        mix.push_all(words);
        mix.key()
    }

    fn push_all(&mut self, words: impl IntoIterator<Item = u64>) {
        for word in words {
            self.push(word);
        }
    }

    fn key(&self) -> u64 {
        let sum = self.sum ^ (self.sum >> 29);
        sum.wrapping_mul(0xBF58_476D_1CE4_E5B9).max(1)
    }
}

/// The vessel's last applied static report: its [`report_copy_key`] folded to 32 bits and the
/// low 32 bits of its time in milliseconds (8 bytes a vessel, as a service tracks every MMSI
/// it hears). Two reports of one vessel within seconds of each other whose keys collide, or
/// that are a multiple of 49.7 days apart give or take the window, would be taken for copies:
/// the second says what the first said, so only its time would be lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSeen {
    key: u32,
    millis: u32,
}

impl ReportSeen {
    pub fn new(key: u64, time: UnixMillis) -> ReportSeen {
        ReportSeen {
            key: fold(key),
            millis: time.as_millis() as u32,
        }
    }

    /// A report with `key` at `time` is this one heard again, `window_ms` apart at most.
    pub fn is_copy(&self, key: u64, time: UnixMillis, window_ms: i64) -> bool {
        let apart = (time.as_millis() as u32).wrapping_sub(self.millis) as i32;
        self.key != 0 && self.key == fold(key) && i64::from(apart).abs() <= window_ms
    }
}

/// A key in 32 bits, never 0 (0: no report yet).
fn fold(key: u64) -> u32 {
    ((key >> 32) as u32 ^ key as u32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Heard, Mmsi};

    fn report(station: &str, millis: i64) -> VesselReport {
        VesselReport {
            mmsi: Mmsi(311_827_000),
            msg_type: 5,
            class: Some(TransceiverClass::A),
            heard: Heard {
                time: Some(UnixMillis(millis)),
                station: Some(station.into()),
                ..Heard::default()
            },
            imo: Some(9_304_045),
            name: Some("NORWEGIAN JEWEL".into()),
            callsign: Some("C6TX6".into()),
            ship_type: Some(69),
            length: Some(294),
            draught: Some(8.5),
            destination: Some("CABO SAN LUCAS".into()),
            ..VesselReport::default()
        }
    }

    #[test]
    fn a_report_heard_by_another_receiver_is_a_copy_within_the_window_only() {
        let first = report("AI", 1_000);
        let key = report_copy_key(&first);
        assert_eq!(
            key,
            report_copy_key(&report("AB", 1_026)),
            "reception aside"
        );
        let seen = ReportSeen::new(key, UnixMillis(1_000));
        assert!(seen.is_copy(key, UnixMillis(1_026), DEFAULT_COPY_WINDOW_MS));
        assert!(seen.is_copy(key, UnixMillis(990), DEFAULT_COPY_WINDOW_MS));
        // The same data sent again six minutes later is a new report.
        assert!(!seen.is_copy(key, UnixMillis(361_000), DEFAULT_COPY_WINDOW_MS));
        // A window of 0 keeps every copy but one of the very same millisecond.
        assert!(!seen.is_copy(key, UnixMillis(1_026), 0));
        assert!(!ReportSeen::default().is_copy(key, UnixMillis(0), DEFAULT_COPY_WINDOW_MS));
        // Times are kept in their low 32 bits: a copy across their wrap is still a copy.
        let wrap = 1_709_510_410_000 - 1_709_510_410_000 % (1 << 32) + (1 << 32);
        let before = ReportSeen::new(key, UnixMillis(wrap - 10));
        assert!(before.is_copy(key, UnixMillis(wrap + 16), DEFAULT_COPY_WINDOW_MS));
        assert!(!before.is_copy(key, UnixMillis(wrap + 6_000), DEFAULT_COPY_WINDOW_MS));
    }

    #[test]
    fn any_field_of_the_report_makes_another_key() {
        let base = report("AI", 1_000);
        let key = report_copy_key(&base);
        let changed: [fn(&mut VesselReport); 6] = [
            |r| r.draught = Some(8.6),
            |r| r.destination = None,
            |r| r.part = Some(0),
            |r| r.class = Some(TransceiverClass::B),
            |r| r.msg_type = 24,
            // Bytes moved from one text to the next.
            |r| {
                r.name = Some("NORWEGIAN JEWELC".into());
                r.callsign = Some("6TX6".into());
            },
        ];
        for change in changed {
            let mut other = base.clone();
            change(&mut other);
            assert_ne!(report_copy_key(&other), key, "{other:?}");
        }
    }
}
