//! What a decoder counts: lines, messages by type and by talker, duplicates, and every refusal
//! by reason, with notes that say where the first refusals were.

use serde::ser::SerializeMap;
use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::clock::ClockStats;
use super::flatten_counters;

/// Why a line or sentence was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reject {
    /// The sentence's XOR checksum does not match (or a `$PGHP` line's).
    BadChecksum,
    /// A `!xxVDM` sentence without `*hh`.
    MissingChecksum,
    /// A tag block with a bad or missing checksum, a malformed field, or a group that
    /// contradicts the sentence.
    BadTagBlock,
    /// Fragment count, number, sequence id, channel or fill bits malformed (or a `$PGHP` line's
    /// fields).
    BadSentence,
    /// A payload character outside the armour, an undefined message type or type 24 part.
    BadPayload,
    /// Fewer payload bits than the message type's fields need.
    ShortPayload,
    /// A later fragment whose message start was never seen (or a repeated fragment).
    OrphanFragment,
    /// A fragment of a message that never completed (timed out, pushed out, superseded).
    ExpiredFragment,
    /// A line that is neither AIS, nor NMEA, nor a comment (e.g. `!=IVDM` line noise).
    UnknownLine,
    /// A line longer than the source's limit (counted by the source, not decoded).
    LineTooLong,
    /// A CSV export row with a bad cell, the wrong number of cells or an unclosed quote.
    BadCsvRow,
    /// A message whose own time is further ahead of the time its line was received than
    /// `[decode] max_ahead_of_receipt_s`: a receiver clock or a corrupt time no real
    /// transmission can have (live sources only; a log carries no receive time).
    AheadOfReceipt,
}

impl Reject {
    pub const ALL: [Reject; 12] = [
        Reject::BadChecksum,
        Reject::MissingChecksum,
        Reject::BadTagBlock,
        Reject::BadSentence,
        Reject::BadPayload,
        Reject::ShortPayload,
        Reject::OrphanFragment,
        Reject::ExpiredFragment,
        Reject::UnknownLine,
        Reject::LineTooLong,
        Reject::BadCsvRow,
        Reject::AheadOfReceipt,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Reject::BadChecksum => "bad_checksum",
            Reject::MissingChecksum => "missing_checksum",
            Reject::BadTagBlock => "bad_tag_block",
            Reject::BadSentence => "bad_sentence",
            Reject::BadPayload => "bad_payload",
            Reject::ShortPayload => "short_payload",
            Reject::OrphanFragment => "orphan_fragment",
            Reject::ExpiredFragment => "expired_fragment",
            Reject::UnknownLine => "unknown_line",
            Reject::LineTooLong => "line_too_long",
            Reject::BadCsvRow => "bad_csv_row",
            Reject::AheadOfReceipt => "ahead_of_receipt",
        }
    }
}

/// Refusals by reason. Line-level reasons (`unknown_line`, `line_too_long`) count lines; the
/// others count sentences, except `bad_payload` / `short_payload`, which count assembled
/// messages.
#[derive(Serialize, Default, Clone, Debug, PartialEq, Eq)]
pub struct RejectCounts {
    pub bad_checksum: u64,
    pub missing_checksum: u64,
    pub bad_tag_block: u64,
    pub bad_sentence: u64,
    pub bad_payload: u64,
    pub short_payload: u64,
    pub orphan_fragment: u64,
    pub expired_fragment: u64,
    pub unknown_line: u64,
    pub line_too_long: u64,
    pub bad_csv_row: u64,
    pub ahead_of_receipt: u64,
}

impl RejectCounts {
    fn slot(&mut self, reason: Reject) -> &mut u64 {
        match reason {
            Reject::BadChecksum => &mut self.bad_checksum,
            Reject::MissingChecksum => &mut self.missing_checksum,
            Reject::BadTagBlock => &mut self.bad_tag_block,
            Reject::BadSentence => &mut self.bad_sentence,
            Reject::BadPayload => &mut self.bad_payload,
            Reject::ShortPayload => &mut self.short_payload,
            Reject::OrphanFragment => &mut self.orphan_fragment,
            Reject::ExpiredFragment => &mut self.expired_fragment,
            Reject::UnknownLine => &mut self.unknown_line,
            Reject::LineTooLong => &mut self.line_too_long,
            Reject::BadCsvRow => &mut self.bad_csv_row,
            Reject::AheadOfReceipt => &mut self.ahead_of_receipt,
        }
    }

    pub fn get(&self, reason: Reject) -> u64 {
        match reason {
            Reject::BadChecksum => self.bad_checksum,
            Reject::MissingChecksum => self.missing_checksum,
            Reject::BadTagBlock => self.bad_tag_block,
            Reject::BadSentence => self.bad_sentence,
            Reject::BadPayload => self.bad_payload,
            Reject::ShortPayload => self.short_payload,
            Reject::OrphanFragment => self.orphan_fragment,
            Reject::ExpiredFragment => self.expired_fragment,
            Reject::UnknownLine => self.unknown_line,
            Reject::LineTooLong => self.line_too_long,
            Reject::BadCsvRow => self.bad_csv_row,
            Reject::AheadOfReceipt => self.ahead_of_receipt,
        }
    }

    pub fn add(&mut self, reason: Reject, n: u64) {
        *self.slot(reason) += n;
    }

    pub fn total(&self) -> u64 {
        Reject::ALL.iter().map(|&r| self.get(r)).sum()
    }

    /// `(reason, count)` for every reason, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (Reject, u64)> + '_ {
        Reject::ALL.iter().map(|&r| (r, self.get(r)))
    }
}

/// Counters of one source (or, merged, of several).
#[derive(Serialize, Default, Clone, Debug, PartialEq, Eq)]
pub struct DecodeStats {
    /// Physical lines read.
    pub lines: u64,
    /// `!xxVDM` / `!xxVDO` sentences found (a line may hold several).
    pub sentences: u64,
    /// Messages decoded (a multi-sentence message counts once).
    pub messages: u64,
    /// Events emitted (a type 19 gives two).
    pub events: u64,
    /// Messages by AIS type; index 0 is unused.
    #[serde(serialize_with = "serialize_by_type")]
    pub by_type: [u64; 28],
    /// Messages by the talker of the sentence that completed them (`AI`, `AB`, `BS`, `=I`).
    pub by_talker: TalkerCounts,
    /// Messages decoded but not emitted: the same payload again within the duplicate window
    /// (another receiver or talker relaying it). Counted in `messages` and `by_type` too.
    pub duplicates: u64,
    pub rejects: RejectCounts,
    /// Other NMEA sentences, comments and blank lines: skipped, not errors.
    pub non_ais_lines: u64,
    /// Gatehouse `$PGHP` time lines read.
    pub gatehouse_lines: u64,
    /// Tag blocks whose checksum covers everything but their `g:` field (accepted; see
    /// `TagBlock::group_unchecked`).
    pub tag_block_group_unchecked: u64,
    /// Tag blocks stating `*00` for a checksum they do not have (accepted unchecked; see
    /// `TagBlock::checksum_placeholder`).
    pub tag_block_checksum_placeholder: u64,
    /// Sentences preceded by text that is not a timestamp (decoded, untimed by it).
    pub unparsed_prefix: u64,
    /// Sentences followed by text that is neither a trailer nor another sentence (ignored).
    pub trailing_garbage: u64,
    /// Position reports whose position lies outside the globe: reported as unavailable.
    pub invalid_position: u64,
    /// Which carrier timed each message, what was ignored, what stayed untimed.
    pub clock: ClockStats,
    /// CSV cells that could not be read (`Draft = NA`), by column as the header writes it:
    /// left out of the events, their rows kept.
    pub csv_unreadable_cells: BTreeMap<String, u64>,
}

fn serialize_by_type<S: Serializer>(by_type: &[u64; 28], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(
        by_type
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(t, n)| (t.to_string(), n)),
    )
}

impl DecodeStats {
    /// Counts what a tag block's checksum let through unchecked.
    pub fn note_unchecked(&mut self, block: &super::tagblock::TagBlock<'_>) {
        self.tag_block_group_unchecked += u64::from(block.group_unchecked);
        self.tag_block_checksum_placeholder += u64::from(block.checksum_placeholder);
    }

    /// Every counter, flattened to `decode.field -> value` (`decode.rejects.bad_checksum`,
    /// `decode.by_type.1`), for the store's ingest table.
    pub fn counters(&self) -> Vec<(String, u64)> {
        flatten_counters("decode", self)
    }

    pub fn merge(&mut self, other: &DecodeStats) {
        self.lines += other.lines;
        self.sentences += other.sentences;
        self.messages += other.messages;
        self.events += other.events;
        for (mine, theirs) in self.by_type.iter_mut().zip(other.by_type.iter()) {
            *mine += theirs;
        }
        for (reason, n) in other.rejects.iter() {
            self.rejects.add(reason, n);
        }
        self.by_talker.merge(&other.by_talker);
        self.duplicates += other.duplicates;
        self.non_ais_lines += other.non_ais_lines;
        self.gatehouse_lines += other.gatehouse_lines;
        self.tag_block_group_unchecked += other.tag_block_group_unchecked;
        self.tag_block_checksum_placeholder += other.tag_block_checksum_placeholder;
        self.unparsed_prefix += other.unparsed_prefix;
        self.trailing_garbage += other.trailing_garbage;
        self.invalid_position += other.invalid_position;
        self.clock.merge(&other.clock);
        for (column, n) in &other.csv_unreadable_cells {
            *self.csv_unreadable_cells.entry(column.clone()).or_default() += n;
        }
    }

    /// Everything refused, all reasons together.
    pub fn rejected(&self) -> u64 {
        self.rejects.total()
    }

    /// `(type, count)` for the message types seen.
    pub fn types(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        self.by_type
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(t, &n)| (t as u8, n))
    }
}

/// Messages by NMEA talker, for at most `MAX_TALKERS` distinct talkers: a corrupt or hostile
/// feed can send any two characters, so talkers beyond the first ones seen are counted together
/// as `other`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TalkerCounts {
    /// Sorted by talker, so that equal counts compare and print alike.
    known: Vec<([u8; 2], u64)>,
    other: u64,
}

impl TalkerCounts {
    pub const MAX_TALKERS: usize = 32;

    pub fn add(&mut self, talker: [u8; 2], n: u64) {
        match self.known.binary_search_by_key(&talker, |(t, _)| *t) {
            Ok(i) => self.known[i].1 += n,
            Err(_) if self.known.len() >= Self::MAX_TALKERS => self.other += n,
            Err(i) => self.known.insert(i, (talker, n)),
        }
    }

    /// Messages heard from `talker` (0 when it is not one of the talkers kept).
    pub fn get(&self, talker: [u8; 2]) -> u64 {
        self.known
            .binary_search_by_key(&talker, |(t, _)| *t)
            .map_or(0, |i| self.known[i].1)
    }

    /// Messages from talkers beyond the first `MAX_TALKERS`.
    pub fn other(&self) -> u64 {
        self.other
    }

    /// `(talker, count)` in talker order; the talker as text (its bytes are visible ASCII).
    pub fn iter(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        self.known
            .iter()
            .map(|(t, n)| (String::from_utf8_lossy(t).into_owned(), *n))
    }

    pub fn merge(&mut self, other: &TalkerCounts) {
        for &(talker, n) in &other.known {
            self.add(talker, n);
        }
        self.other += other.other;
    }
}

impl std::fmt::Display for TalkerCounts {
    /// `AB=3 AI=5 other=1`, or `-` when nothing was counted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.known.is_empty() && self.other == 0 {
            return f.write_str("-");
        }
        let mut first = true;
        for (talker, n) in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{talker}={n}")?;
            first = false;
        }
        if self.other > 0 {
            write!(f, "{}other={}", if first { "" } else { " " }, self.other)?;
        }
        Ok(())
    }
}

impl Serialize for TalkerCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (talker, n) in self.iter() {
            map.serialize_entry(&talker, &n)?;
        }
        if self.other > 0 {
            map.serialize_entry("other", &self.other)?;
        }
        map.end()
    }
}

/// One refusal with where it happened (the decoder's line number) and what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectNote {
    pub reason: Reject,
    pub line: u64,
    pub detail: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talkers_beyond_the_cap_are_counted_as_other() {
        let mut counts = TalkerCounts::default();
        // A flood of distinct garbage talkers: memory stays at the cap, nothing is lost.
        for a in b'!'..=b'~' {
            for b in [b'A', b'B'] {
                counts.add([a, b], 1);
            }
        }
        counts.add(*b"AI", 10);
        let kept: u64 = counts.iter().map(|(_, n)| n).sum();
        assert_eq!(counts.iter().count(), TalkerCounts::MAX_TALKERS);
        assert_eq!(kept + counts.other(), 2 * 94 + 10);
        assert!(counts.other() > 0);
    }

    #[test]
    fn talker_counts_merge_flatten_and_print_in_talker_order() {
        let mut a = TalkerCounts::default();
        a.add(*b"BS", 2);
        a.add(*b"=I", 1);
        let mut b = TalkerCounts::default();
        b.add(*b"AI", 4);
        b.add(*b"BS", 1);
        a.merge(&b);
        assert_eq!(a.to_string(), "=I=1 AI=4 BS=3");
        assert_eq!(a.get(*b"BS"), 3);
        assert_eq!(TalkerCounts::default().to_string(), "-");
        let stats = DecodeStats {
            by_talker: a,
            duplicates: 7,
            ..DecodeStats::default()
        };
        let counters = stats.counters();
        for (name, value) in [
            ("decode.by_talker.=I", 1),
            ("decode.by_talker.BS", 3),
            ("decode.duplicates", 7),
        ] {
            assert!(
                counters.contains(&(name.to_string(), value)),
                "{name} in {counters:?}"
            );
        }
    }
}
