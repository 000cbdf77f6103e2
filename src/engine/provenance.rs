//! Where each gap's evidence came from: the line of the fix that opens it (A), of the fix that
//! closes it (B) and of the static reports its draught and identity rest on, and the
//! fingerprint of the settings that judged it. The engine keeps a few line references per
//! vessel (never the raw bytes: whoever reads the source finds them again by reference).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Change, Engine};
use crate::detect::{DetectParams, GapRecord};
use crate::hashed::MmsiMap;
use crate::model::{AisEvent, Heard, LineRef, Mmsi, TimeSource};
use crate::ports::Port;
use crate::time::{UnixMillis, MILLIS_PER_HOUR};
use crate::watchlist::Watchlist;

/// Recent fixes remembered per MMSI: enough for fix A to be found when another transmitter
/// of the same MMSI spoke a few times since.
pub const FIXES_KEPT: usize = 4;
/// Gaps per vessel whose evidence has been handed out, so that none is handed out twice.
const GAPS_KEPT: usize = 4;

/// What a piece of evidence is to its gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRole {
    /// The last fix before the silence.
    FixA,
    /// The first fix after it.
    FixB,
    /// The last static report heard at or before A: the draught and identity before.
    StaticBefore,
    /// A static report after B that completed the draught or identity after.
    StaticAfter,
}

impl EvidenceRole {
    pub const ALL: [EvidenceRole; 4] = [
        EvidenceRole::FixA,
        EvidenceRole::FixB,
        EvidenceRole::StaticBefore,
        EvidenceRole::StaticAfter,
    ];

    /// The role's one spelling: stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceRole::FixA => "fix_a",
            EvidenceRole::FixB => "fix_b",
            EvidenceRole::StaticBefore => "static_before",
            EvidenceRole::StaticAfter => "static_after",
        }
    }

    pub fn parse(text: &str) -> Option<EvidenceRole> {
        EvidenceRole::ALL.into_iter().find(|r| r.as_str() == text)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Where one message was heard: its last line, the clock that timed it, the receiver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    pub time: UnixMillis,
    pub msg_type: u8,
    pub line: LineRef,
    pub carrier: Option<TimeSource>,
    pub station: Option<Arc<str>>,
}

impl Origin {
    fn of(heard: &Heard, msg_type: u8, time: UnixMillis) -> Option<Origin> {
        Some(Origin {
            time,
            msg_type,
            line: heard.line?,
            carrier: heard.time_source,
            station: heard.station.clone(),
        })
    }
}

/// One message a gap's judgement rests on.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub mmsi: Mmsi,
    /// With `mmsi`, the gap's key.
    pub dark_from: UnixMillis,
    pub role: EvidenceRole,
    pub origin: Origin,
}

/// What judged: the program's version and hashes of the ports, the watchlist and the
/// detection settings in force. Any threshold changed gives another `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 of the four below, hex: the one value a judgement keeps.
    pub id: String,
    pub version: String,
    pub ports_sha256: String,
    pub watchlist_sha256: String,
    pub detect_sha256: String,
    /// The `[detect]` settings hashed (JSON; the hash also covers `[encounters]` and
    /// `[loitering]`).
    pub detect: String,
}

impl Fingerprint {
    pub fn of(params: &DetectParams, ports: &[Port], watchlist: &Watchlist) -> Fingerprint {
        let version = env!("CARGO_PKG_VERSION").to_string();
        let ports_sha256 = sha256_hex(format!("{ports:?}").as_bytes());
        // What decides: the identities listed, in no particular order (names, notes and line
        // numbers only describe them).
        let mut listed: Vec<(Option<u32>, Option<u32>)> = watchlist
            .entries()
            .iter()
            .map(|e| (e.mmsi.map(|m| m.0), e.imo))
            .collect();
        listed.sort_unstable();
        let watchlist_sha256 = sha256_hex(format!("{listed:?}").as_bytes());
        // The settings as `[detect]` names them (readable, and read back by reports), then the
        // at-sea settings that section does not carry.
        let detect = serde_json::to_string_pretty(params).unwrap_or_default();
        let at_sea = format!("{:?}", params.at_sea);
        let detect_sha256 = sha256_hex(format!("{detect}\n{at_sea}").as_bytes());
        let id = sha256_hex(
            format!("aisgap {version}\nports {ports_sha256}\nwatchlist {watchlist_sha256}\ndetect {detect_sha256}\n")
                .as_bytes(),
        );
        Fingerprint {
            id,
            version,
            ports_sha256,
            watchlist_sha256,
            detect_sha256,
            detect,
        }
    }
}

impl Engine {
    /// Whether `mmsi` is watched now: only watched vessels' messages are witnessed.
    pub fn watches(&self, mmsi: Mmsi) -> bool {
        self.watched.contains(&mmsi)
    }

    /// The changes produced since [`Engine::pending_changes`] was `from` (and none taken
    /// since): a driver looks at each piece of evidence as it is handed out.
    pub fn changes_since(&self, from: usize) -> &[Change] {
        self.changes.get(from..).unwrap_or(&[])
    }

    /// What the witness remembers of `mmsi`, to be saved with the checkpoint.
    pub fn witnessed(&self, mmsi: Mmsi) -> Option<&Seen> {
        self.witness.seen.get(&mmsi)
    }

    /// Takes back what the witness remembered when the checkpoint was saved apart.
    pub fn restore_witness(&mut self, entries: impl IntoIterator<Item = (Mmsi, Seen)>) {
        self.witness.seen.extend(entries);
    }

    /// Where the witness stands before `event` is applied: whether its vessel is watched
    /// (only watched vessels' gaps can be trips: the others cost one set lookup), the changes
    /// so far, and the copies the engine has left out.
    pub(super) fn witness_before(&self, event: &AisEvent) -> Witnessing {
        Witnessing {
            from: self.changes.len(),
            watched: self.watched.contains(&event.mmsi()),
            copies: self.stats.duplicate_fixes + self.stats.duplicate_reports,
        }
    }

    /// After `event` was applied: remembers where it came from if its vessel was watched
    /// before or is now (its first message, watched from the start, or the report saying
    /// tanker: without it a vessel heard once before a silence has no A to show), unless the
    /// engine left it out as another reception of a message it has (the evidence is the
    /// reception the engine applied, and a copy takes no place in the ring); then hands out
    /// the evidence of the gaps it made or changed.
    pub(super) fn witness_applied(
        &mut self,
        event: &AisEvent,
        time: UnixMillis,
        before: Witnessing,
    ) {
        let copy = self.stats.duplicate_fixes + self.stats.duplicate_reports > before.copies;
        if !copy && (before.watched || self.watched.contains(&event.mmsi())) {
            self.witness.heard(event, time);
        }
        self.witness_gaps(Some(event), before.from);
    }

    /// Hands out the evidence of the gaps `event` (none: the end of the input) made or
    /// changed (the changes from `from`).
    pub(super) fn witness_gaps(&mut self, event: Option<&AisEvent>, from: usize) {
        if self.changes.len() > from {
            self.witness.witness(event, &mut self.changes, from);
        }
    }
}

/// Where the witness stood before an event was applied.
pub(super) struct Witnessing {
    /// The changes' count.
    from: usize,
    /// Whether the event's vessel was watched.
    watched: bool,
    /// The fix and report copies the engine had left out.
    copies: u64,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.as_ref() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// What the witness remembers of one MMSI: under 500 bytes. Saved with the engine's
/// checkpoint (the service stores it per vessel), so that a restart between A and B still
/// knows where A came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    fixes: [Option<Origin>; FIXES_KEPT],
    next: usize,
    /// The latest static report heard.
    report: Option<Origin>,
    /// The report before `report`: the one in force at A when A and the latest share a time.
    earlier_report: Option<Origin>,
    /// `(dark_from, roles handed out)` of its latest gaps.
    gaps: [(i64, u8); GAPS_KEPT],
    last_heard: i64,
}

impl Seen {
    fn fix_at(&self, time: UnixMillis) -> Option<&Origin> {
        self.fixes.iter().flatten().find(|o| o.time == time)
    }

    fn report_at_or_before(&self, time: UnixMillis) -> Option<&Origin> {
        [&self.report, &self.earlier_report]
            .into_iter()
            .flatten()
            .find(|o| o.time <= time)
    }

    /// Marks `role` handed out for the gap from `dark_from`; false when it already was.
    fn hand_out(&mut self, dark_from: UnixMillis, role: EvidenceRole) -> bool {
        let key = dark_from.as_millis();
        let slot = match self.gaps.iter().position(|(k, _)| *k == key) {
            Some(slot) => slot,
            None => {
                // The oldest gap makes room.
                let slot = (0..GAPS_KEPT)
                    .min_by_key(|&i| self.gaps[i].0)
                    .expect("GAPS_KEPT > 0");
                self.gaps[slot] = (key, 0);
                slot
            }
        };
        let fresh = self.gaps[slot].1 & role.bit() == 0;
        self.gaps[slot].1 |= role.bit();
        fresh
    }
}

/// Watches the events the engine applies and the gap changes they cause, and hands out the
/// evidence of each gap once.
#[derive(Default)]
pub struct Witness {
    seen: MmsiMap<Seen>,
    /// The stream day of the last pruning.
    pruned_day: i64,
}

/// Vessels silent this long are forgotten by the witness (their gaps' A was handed out when
/// the gaps opened).
const FORGET_AFTER_MS: i64 = 14 * 24 * MILLIS_PER_HOUR;

/// When the witness lets silent vessels go: at the first event of each new day, before that
/// event is remembered (`pruned_day` is the last day it did), those last heard before the
/// returned time. From the day's start,
/// not the event's time: a restart (which prunes at its first event) lets go of exactly the
/// vessels an uninterrupted run let go of that day. Whatever keeps lines beside the witness
/// lets go by this same rule.
pub fn forget_silent_before(pruned_day: &mut i64, time: UnixMillis) -> Option<i64> {
    let day = time.as_millis().div_euclid(24 * MILLIS_PER_HOUR);
    if day <= *pruned_day {
        return None;
    }
    *pruned_day = day;
    Some(day * 24 * MILLIS_PER_HOUR - FORGET_AFTER_MS)
}

impl Witness {
    /// Everything remembered, by MMSI: the checkpoint's part.
    pub fn entries(&self) -> Vec<(Mmsi, Seen)> {
        let mut entries: Vec<(Mmsi, Seen)> =
            self.seen.iter().map(|(m, s)| (*m, s.clone())).collect();
        entries.sort_unstable_by_key(|(mmsi, _)| *mmsi);
        entries
    }

    /// Vessels remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Remembers where `event` came from, before the engine applies it.
    pub fn heard(&mut self, event: &AisEvent, time: UnixMillis) {
        let (mmsi, origin, is_fix) = match event {
            AisEvent::Fix(f) => (f.mmsi, Origin::of(&f.heard, f.msg_type, time), true),
            AisEvent::VesselReport(r) => (r.mmsi, Origin::of(&r.heard, r.msg_type, time), false),
            _ => return,
        };
        let Some(origin) = origin else { return };
        // Before this message is remembered: which vessels go then depends only on the day,
        // not on whose message came first that day (nor on which engine of a partitioned
        // replay remembers it).
        if let Some(horizon) = forget_silent_before(&mut self.pruned_day, time) {
            self.seen.retain(|_, s| s.last_heard >= horizon);
        }
        let seen = self.seen.entry(mmsi).or_default();
        seen.last_heard = seen.last_heard.max(time.as_millis());
        // A message timed as one already remembered is another reception of it (the engine
        // keeps one fix per vessel and time): the first reception stays the evidence, whatever
        // slot of the ring either would take.
        if is_fix {
            if seen.fix_at(origin.time).is_none() {
                let next = seen.next;
                seen.fixes[next] = Some(origin);
                seen.next = (next + 1) % FIXES_KEPT;
            }
        } else if seen.report.as_ref().is_none_or(|r| r.time != origin.time) {
            seen.earlier_report = seen.report.replace(origin);
        }
    }

    /// Appends the evidence of the gaps in `changes[from..]` that `event` (just applied) made
    /// or completed.
    pub fn witness(&mut self, event: Option<&AisEvent>, changes: &mut Vec<Change>, from: usize) {
        let mut found = Vec::new();
        for change in &changes[from..] {
            if let Change::Gap(gap) = change {
                self.evidence_of(gap, event, &mut found);
            }
        }
        changes.extend(found.into_iter().map(|e| Change::Evidence(Box::new(e))));
    }

    fn evidence_of(
        &mut self,
        gap: &GapRecord,
        event: Option<&AisEvent>,
        found: &mut Vec<Evidence>,
    ) {
        let Some(seen) = self.seen.get_mut(&gap.mmsi) else {
            return;
        };
        let mut hand_out = |seen: &mut Seen, role, origin: Option<Origin>| {
            if let Some(origin) = origin {
                if seen.hand_out(gap.dark_from, role) {
                    found.push(Evidence {
                        mmsi: gap.mmsi,
                        dark_from: gap.dark_from,
                        role,
                        origin,
                    });
                }
            }
        };
        let a = seen.fix_at(gap.dark_from).cloned();
        let has_a = a.is_some();
        hand_out(seen, EvidenceRole::FixA, a);
        if has_a {
            let before = seen.report_at_or_before(gap.dark_from).cloned();
            hand_out(seen, EvidenceRole::StaticBefore, before);
        }
        if let Some(b) = gap.dark_until {
            let b_origin = seen.fix_at(b).cloned();
            hand_out(seen, EvidenceRole::FixB, b_origin);
            let completes_after = gap.draught_after.is_some() || !gap.identity_changes.is_empty();
            if let Some(AisEvent::VesselReport(report)) = event {
                if completes_after && report.mmsi == gap.mmsi {
                    let origin = seen.report.clone().filter(|o| o.time >= b);
                    hand_out(seen, EvidenceRole::StaticAfter, origin);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Fix, Heard, LineRef, VesselReport};

    const MMSI: Mmsi = Mmsi(205_686_000);

    fn heard(source: u32, line: u64) -> Heard {
        Heard {
            time: Some(UnixMillis(1_673_395_202_000)),
            line: Some(LineRef {
                source,
                line,
                offset: line * 120,
            }),
            ..Heard::default()
        }
    }

    /// The same export given twice: each row is heard from two sources at one time.
    #[test]
    fn a_message_heard_again_at_its_time_leaves_the_first_reception_as_the_evidence() {
        let time = UnixMillis(1_673_395_202_000);
        let mut witness = Witness::default();
        for source in [0, 1] {
            let fix = Fix::bare(MMSI, 1, heard(source, 825), 32.14278, -118.47444);
            witness.heard(&AisEvent::Fix(fix), time);
            let report = VesselReport {
                mmsi: MMSI,
                heard: heard(source, 825),
                ..VesselReport::default()
            };
            witness.heard(&AisEvent::VesselReport(report), time);
        }
        let seen = &witness.seen[&MMSI];
        assert_eq!(seen.fix_at(time).map(|o| o.line.source), Some(0));
        assert_eq!(seen.fixes.iter().flatten().count(), 1, "one slot taken");
        let before = seen.report_at_or_before(time).map(|o| o.line.source);
        assert_eq!(before, Some(0));
        assert_eq!(seen.earlier_report, None);
    }
}
