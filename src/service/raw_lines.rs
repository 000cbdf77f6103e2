//! The raw line(s) of the messages live evidence may come from. The engine's witness keeps
//! only where each recent message of a watched vessel was heard; this keeps, beside it and by
//! the same rule (the last few fixes and the last two static reports of each watched vessel,
//! nothing for the others), the bytes of those lines, so that every evidence row the engine
//! hands out is stored with its raw text and SHA-256 as a replay stores them.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::engine::provenance::{forget_silent_before, sha256_hex, Evidence, Seen, FIXES_KEPT};
use crate::model::{AisEvent, LineRef, Mmsi};
use crate::store::provenance::{Resolved, Unresolved};

/// One message as read: the number of its first line and its line(s) joined by `\n`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawMessage {
    pub first_line: u64,
    pub bytes: Bytes,
}

/// Bytes saved as text when they are text (every NMEA line is), else as numbers: the
/// checkpoint stays readable and small, and no byte is ever changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bytes {
    Text(String),
    Binary(Vec<u8>),
}

impl Bytes {
    fn of(bytes: Vec<u8>) -> Bytes {
        match String::from_utf8(bytes) {
            Ok(text) => Bytes::Text(text),
            Err(e) => Bytes::Binary(e.into_bytes()),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Bytes::Text(text) => text.as_bytes(),
            Bytes::Binary(bytes) => bytes,
        }
    }
}

impl RawMessage {
    pub fn new(first_line: u64, bytes: Vec<u8>) -> RawMessage {
        RawMessage {
            first_line,
            bytes: Bytes::of(bytes),
        }
    }
}

/// What is kept of one watched vessel: a line reference and its message, per slot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeptLines {
    fixes: [Option<(LineRef, RawMessage)>; FIXES_KEPT],
    next: usize,
    report: Option<(LineRef, RawMessage)>,
    earlier_report: Option<(LineRef, RawMessage)>,
    last_heard: i64,
}

impl KeptLines {
    fn find(&self, at: LineRef) -> Option<&RawMessage> {
        self.fixes
            .iter()
            .chain([&self.report, &self.earlier_report])
            .flatten()
            .find(|(line, _)| *line == at)
            .map(|(_, message)| message)
    }
}

/// One vessel's saved state: the witness's memory and the lines kept beside it.
#[derive(Serialize, Deserialize)]
pub struct SavedWitness {
    pub witness: Option<Seen>,
    pub lines: Option<KeptLines>,
}

/// The raw lines kept for the watched vessels' evidence.
#[derive(Default)]
pub struct RawLines {
    kept: HashMap<Mmsi, KeptLines>,
    /// Messages of events the reorder window still holds, by where they ended, with how many
    /// of its events hold each (a CSV row is a fix and a static report).
    in_flight: HashMap<LineRef, (RawMessage, u32)>,
    /// Vessels whose kept lines or witness changed since the last commit.
    changed: BTreeSet<Mmsi>,
    pruned_day: i64,
}

impl RawLines {
    /// Holds `message` for an event the reorder window holds.
    pub fn hold(&mut self, at: LineRef, message: RawMessage) {
        self.in_flight
            .entry(at)
            .and_modify(|(_, events)| *events += 1)
            .or_insert((message, 1));
    }

    /// The message of an event leaving the reorder window (the line's other events still
    /// find it).
    pub fn release(&mut self, at: LineRef) -> Option<RawMessage> {
        let std::collections::hash_map::Entry::Occupied(mut held) = self.in_flight.entry(at) else {
            return None;
        };
        let (message, events) = held.get_mut();
        if *events > 1 {
            *events -= 1;
            return Some(message.clone());
        }
        Some(held.remove().0)
    }

    /// Keeps `message`, the line(s) of `event`, whose vessel is watched (asked before the
    /// engine takes the event, as the witness asks).
    pub fn keep(&mut self, event: &AisEvent, message: RawMessage) {
        let (mmsi, heard, is_fix) = match event {
            AisEvent::Fix(f) => (f.mmsi, &f.heard, true),
            AisEvent::VesselReport(r) => (r.mmsi, &r.heard, false),
            _ => return,
        };
        let (Some(at), Some(time)) = (heard.line, heard.time) else {
            return;
        };
        if let Some(horizon) = forget_silent_before(&mut self.pruned_day, time) {
            let changed = &mut self.changed;
            self.kept.retain(|mmsi, k| {
                let keep = k.last_heard >= horizon;
                if !keep {
                    changed.insert(*mmsi);
                }
                keep
            });
        }
        let kept = self.kept.entry(mmsi).or_default();
        kept.last_heard = kept.last_heard.max(time.as_millis());
        if is_fix {
            let next = kept.next;
            kept.fixes[next] = Some((at, message));
            kept.next = (next + 1) % FIXES_KEPT;
        } else {
            kept.earlier_report = kept.report.replace((at, message));
        }
        self.changed.insert(mmsi);
    }

    /// The raw line(s) of `evidence`, when kept; the vessel's witness changed either way.
    pub fn lines_of(&mut self, evidence: &Evidence) -> Option<Resolved> {
        self.changed.insert(evidence.mmsi);
        let at = evidence.origin.line;
        let message = self.kept.get(&evidence.mmsi)?.find(at)?;
        let raw = message.bytes.as_bytes().to_vec();
        Some(Resolved {
            at: Unresolved {
                source: at.source,
                line: at.line,
                offset: at.offset,
            },
            first_line: message.first_line,
            sha256: sha256_hex(&raw),
            raw,
        })
    }

    /// The vessels changed since the last call, with their kept lines.
    pub fn take_changed(&mut self) -> Vec<(Mmsi, Option<&KeptLines>)> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .map(|mmsi| (mmsi, self.kept.get(&mmsi)))
            .collect()
    }

    /// Takes back the lines saved with the last commit.
    pub fn restore(&mut self, mmsi: Mmsi, lines: KeptLines) {
        self.kept.insert(mmsi, lines);
    }

    /// The held messages, for the checkpoint (the reorder window's events are saved there).
    pub fn save_into(&self, checkpoint: &mut serde_json::Value) {
        let mut held: Vec<(&LineRef, &RawMessage)> = self
            .in_flight
            .iter()
            .flat_map(|(at, (message, events))| {
                std::iter::repeat_n((at, message), *events as usize)
            })
            .collect();
        held.sort_unstable_by_key(|(at, _)| (at.source, at.line, at.offset));
        if let serde_json::Value::Object(map) = checkpoint {
            map.insert(
                "held_lines".into(),
                serde_json::to_value(held).expect("raw messages always serialise"),
            );
        }
    }

    /// Holds again the messages held at the last commit.
    pub fn restore_from(&mut self, checkpoint: &str) -> Result<(), serde_json::Error> {
        #[derive(Deserialize)]
        struct Held {
            #[serde(default)]
            held_lines: Vec<(LineRef, RawMessage)>,
        }
        let held: Held = serde_json::from_str(checkpoint)?;
        for (at, message) in held.held_lines {
            self.hold(at, message);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::provenance::{EvidenceRole, Origin};
    use crate::model::{Fix, Heard, VesselReport};
    use crate::time::UnixMillis;
    use crate::time::MILLIS_PER_HOUR;

    fn heard(time: i64, line: u64) -> Heard {
        Heard {
            time: Some(UnixMillis(time)),
            line: Some(LineRef {
                source: 7,
                line,
                offset: line * 100,
            }),
            ..Heard::default()
        }
    }

    fn fix(time: i64, line: u64) -> AisEvent {
        AisEvent::Fix(Fix::bare(
            Mmsi(445114000),
            1,
            heard(time, line),
            42.0,
            133.0,
        ))
    }

    fn evidence_at(line: u64, role: EvidenceRole) -> Evidence {
        Evidence {
            mmsi: Mmsi(445114000),
            dark_from: UnixMillis(0),
            role,
            origin: Origin {
                time: UnixMillis(0),
                msg_type: 1,
                line: LineRef {
                    source: 7,
                    line,
                    offset: line * 100,
                },
                carrier: None,
                station: None,
            },
        }
    }

    #[test]
    fn the_last_fixes_and_two_reports_are_kept_with_their_hashes_and_older_ones_let_go() {
        let mut raw = RawLines::default();
        for line in 1..=6u64 {
            let text = format!("!AIVDM,1,1,,A,fix{line},0*00").into_bytes();
            raw.keep(&fix(line as i64 * 1000, line), RawMessage::new(line, text));
        }
        let report = AisEvent::VesselReport(VesselReport {
            mmsi: Mmsi(445114000),
            msg_type: 5,
            heard: heard(7000, 9),
            ..VesselReport::default()
        });
        raw.keep(&report, RawMessage::new(8, b"part one\npart two".to_vec()));
        // Four fixes are kept: the first two made room.
        assert!(raw.lines_of(&evidence_at(2, EvidenceRole::FixA)).is_none());
        let a = raw.lines_of(&evidence_at(3, EvidenceRole::FixA)).unwrap();
        assert_eq!(a.raw, b"!AIVDM,1,1,,A,fix3,0*00");
        assert_eq!(a.sha256, sha256_hex(b"!AIVDM,1,1,,A,fix3,0*00"));
        assert_eq!((a.at.line, a.at.offset, a.first_line), (3, 300, 3));
        let report = raw
            .lines_of(&evidence_at(9, EvidenceRole::StaticBefore))
            .unwrap();
        assert_eq!(
            (report.first_line, report.raw.as_slice()),
            (8, &b"part one\npart two"[..])
        );
        assert_eq!(raw.take_changed().len(), 1);
        assert!(raw.take_changed().is_empty(), "nothing changed since");
    }

    #[test]
    fn a_vessel_silent_for_two_weeks_is_let_go_and_saved_as_gone() {
        let mut raw = RawLines::default();
        raw.keep(&fix(0, 1), RawMessage::new(1, b"a".to_vec()));
        raw.take_changed();
        let other = match fix(15 * 24 * MILLIS_PER_HOUR, 2) {
            AisEvent::Fix(mut f) => {
                f.mmsi = Mmsi(273617148);
                AisEvent::Fix(f)
            }
            _ => unreachable!(),
        };
        raw.keep(&other, RawMessage::new(2, vec![0xff, b'b']));
        let changed = raw.take_changed();
        assert!(changed.contains(&(Mmsi(445114000), None)), "{changed:?}");
        assert!(raw.lines_of(&evidence_at(1, EvidenceRole::FixA)).is_none());
    }

    #[test]
    fn held_messages_and_bytes_that_are_not_text_survive_the_checkpoint() {
        let mut raw = RawLines::default();
        let at = LineRef {
            source: 1,
            line: 5,
            offset: 40,
        };
        raw.hold(at, RawMessage::new(4, vec![b'!', 0xfe, b'\n', b'x']));
        let mut checkpoint = serde_json::json!({});
        raw.save_into(&mut checkpoint);
        let mut restored = RawLines::default();
        restored.restore_from(&checkpoint.to_string()).unwrap();
        assert_eq!(
            restored.release(at),
            Some(RawMessage::new(4, vec![b'!', 0xfe, b'\n', b'x']))
        );
        assert_eq!(restored.release(at), None);
    }
}
