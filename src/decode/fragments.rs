//! Multi-sentence message assembly with bounded memory: fragments are grouped by channel,
//! sequential message id, fragment count and (when a tag block gives one) group id; groups that
//! do not complete in time, or that are pushed out by newer ones, are dropped and counted.

use std::sync::Arc;

use crate::decode::clock::Carriers;
use crate::time::UnixMillis;

/// A group older than this many sentences is given up even when no time is known: a sequence
/// id is reused within a few dozen sentences on a busy channel.
pub const MAX_AGE_SENTENCES: u64 = 2_000;

/// Which message a fragment belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentKey {
    pub channel: Option<u8>,
    pub seq_id: Option<u8>,
    pub total: u8,
    /// Tag block group id; fragments without one still join a group that has one.
    pub group_id: Option<u64>,
}

impl FragmentKey {
    fn joins(&self, group: &FragmentKey) -> bool {
        self.channel == group.channel
            && self.seq_id == group.seq_id
            && self.total == group.total
            && match (self.group_id, group.group_id) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// One sentence of a multi-sentence message.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    pub key: FragmentKey,
    /// 1-based position in the message.
    pub number: u8,
    pub payload: &'a [u8],
    pub fill_bits: u8,
}

/// Where and when a sentence was heard; merged over a message's fragments with the first
/// fragment's values taking precedence.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    /// The times the message's carriers give (see `clock`).
    pub carriers: Carriers,
    pub received: Option<UnixMillis>,
    pub station: Option<Arc<str>>,
    pub channel: Option<u8>,
    /// XOR of the sentence checksums (what a Gatehouse `$PGHP` refers to).
    pub checksum_xor: u8,
    /// Line number of the first fragment.
    pub first_line: u64,
}

impl Provenance {
    /// The times used to age fragment groups.
    fn clock(&self) -> FragmentClock {
        FragmentClock {
            data: self.carriers.any().map(UnixMillis::as_millis),
            received: self.received.map(UnixMillis::as_millis),
        }
    }

    fn absorb(&mut self, later: Provenance) {
        self.carriers.absorb(&later.carriers);
        self.received = self.received.or(later.received);
        if self.station.is_none() {
            self.station = later.station;
        }
        self.channel = self.channel.or(later.channel);
        self.checksum_xor ^= later.checksum_xor;
    }
}

/// When a fragment was sent, by the data's own clock and by the receive clock, each kept
/// apart: a live feed's data times can lag its receive times by hours (a satellite relay) or
/// years (an archive read as a file), and a second fragment often carries no time of its own
/// (a tag block with only `g:`), so one fragment's receive time measured against another's
/// data time expired every such message.
#[derive(Clone, Copy, Debug)]
struct FragmentClock {
    data: Option<i64>,
    received: Option<i64>,
}

impl FragmentClock {
    /// How long after `earlier` this was sent, on the clock both have (the data's first).
    fn since(&self, earlier: &FragmentClock) -> Option<i64> {
        match ((self.data, earlier.data), (self.received, earlier.received)) {
            ((Some(now), Some(then)), _) | (_, (Some(now), Some(then))) => Some(now - then),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Group {
    key: FragmentKey,
    next: u8,
    payload: Vec<u8>,
    provenance: Provenance,
    clock: FragmentClock,
    started_sentence: u64,
}

/// What one fragment did.
#[derive(Debug, PartialEq)]
pub enum Assembly {
    /// Kept, waiting for the rest.
    Incomplete,
    /// The last fragment: the caller's buffer now holds the whole armoured payload.
    Complete {
        fill_bits: u8,
        provenance: Provenance,
    },
    /// A fragment that belongs to no open group (its start was lost, or it repeats one).
    Orphan,
}

/// Open fragment groups of one source.
#[derive(Debug)]
pub struct Assembler {
    groups: Vec<Group>,
    spare: Vec<Vec<u8>>,
    max_groups: usize,
    timeout_ms: i64,
    sentences: u64,
}

impl Assembler {
    pub fn new(max_groups: usize, timeout_ms: i64) -> Self {
        Assembler {
            groups: Vec::new(),
            spare: Vec::new(),
            max_groups: max_groups.max(1),
            timeout_ms,
            sentences: 0,
        }
    }

    pub fn pending_groups(&self) -> usize {
        self.groups.len()
    }

    /// The line number (the decoder's `first_line`) each open group began on.
    pub fn pending_first_lines(&self) -> impl Iterator<Item = u64> + '_ {
        self.groups.iter().map(|g| g.provenance.first_line)
    }

    /// Adds one fragment. Fragments of groups given up on are added
    /// to `dropped`; a completed payload is written to `done`.
    pub fn push(
        &mut self,
        fragment: Fragment<'_>,
        provenance: Provenance,
        done: &mut Vec<u8>,
        dropped: &mut u64,
    ) -> Assembly {
        self.sentences += 1;
        // The sentence's own time, not the latest seen: merged feeds (satellite relays) mix
        // times days apart, and a message's fragments travel together.
        self.expire(provenance.clock(), dropped);
        let Fragment {
            key,
            number,
            payload,
            fill_bits,
        } = fragment;
        let found = self.groups.iter().position(|g| key.joins(&g.key));
        if number == 1 {
            if let Some(i) = found {
                // The id was reused before the old message completed: it never will.
                let old = self.groups.remove(i);
                *dropped += u64::from(old.next - 1);
                self.recycle(old.payload);
            }
            if self.groups.len() >= self.max_groups {
                let oldest = self.groups.remove(0);
                *dropped += u64::from(oldest.next - 1);
                self.recycle(oldest.payload);
            }
            let mut buffer = self.spare.pop().unwrap_or_default();
            buffer.clear();
            buffer.extend_from_slice(payload);
            self.groups.push(Group {
                key,
                next: 2,
                payload: buffer,
                clock: provenance.clock(),
                provenance,
                started_sentence: self.sentences,
            });
            return Assembly::Incomplete;
        }
        let Some(i) = found else {
            return Assembly::Orphan;
        };
        let group = &mut self.groups[i];
        if number < group.next {
            // A repeat (the same fragment heard twice): the group stays open.
            return Assembly::Orphan;
        }
        if number > group.next {
            // A fragment is missing: the group cannot complete.
            let broken = self.groups.remove(i);
            *dropped += u64::from(broken.next - 1);
            self.recycle(broken.payload);
            return Assembly::Orphan;
        }
        group.payload.extend_from_slice(payload);
        group.provenance.absorb(provenance);
        group.next += 1;
        if group.next <= group.key.total {
            return Assembly::Incomplete;
        }
        let complete = self.groups.remove(i);
        done.clear();
        let previous = std::mem::replace(done, complete.payload);
        self.recycle(previous);
        Assembly::Complete {
            fill_bits,
            provenance: complete.provenance,
        }
    }

    /// Gives up every open group (end of input); returns how many fragments they held.
    pub fn flush(&mut self) -> u64 {
        let mut dropped = 0;
        for group in std::mem::take(&mut self.groups) {
            dropped += u64::from(group.next - 1);
            self.recycle(group.payload);
        }
        dropped
    }

    fn expire(&mut self, clock: FragmentClock, dropped: &mut u64) {
        let (timeout, now) = (self.timeout_ms, self.sentences);
        let stale = |g: &Group| {
            now - g.started_sentence > MAX_AGE_SENTENCES
                || clock.since(&g.clock).is_some_and(|age| age > timeout)
        };
        if !self.groups.iter().any(stale) {
            return;
        }
        let mut kept = Vec::with_capacity(self.groups.len());
        for group in std::mem::take(&mut self.groups) {
            if stale(&group) {
                *dropped += u64::from(group.next - 1);
                self.recycle(group.payload);
            } else {
                kept.push(group);
            }
        }
        self.groups = kept;
    }

    fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spare.len() < 16 {
            self.spare.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(channel: u8, seq: u8) -> FragmentKey {
        FragmentKey {
            channel: Some(channel),
            seq_id: Some(seq),
            total: 2,
            group_id: None,
        }
    }

    fn frag(key: FragmentKey, number: u8, payload: &[u8], fill_bits: u8) -> Fragment<'_> {
        Fragment {
            key,
            number,
            payload,
            fill_bits,
        }
    }

    fn at(ms: i64) -> Provenance {
        Provenance {
            received: Some(UnixMillis(ms)),
            ..Provenance::default()
        }
    }

    #[test]
    fn interleaved_groups_on_both_channels_complete() {
        let mut a = Assembler::new(8, 60_000);
        let (mut done, mut dropped) = (Vec::new(), 0);
        assert_eq!(
            a.push(
                frag(key(b'A', 1), 1, b"AA", 0),
                at(0),
                &mut done,
                &mut dropped
            ),
            Assembly::Incomplete
        );
        assert_eq!(
            a.push(
                frag(key(b'B', 1), 1, b"BB", 0),
                at(1),
                &mut done,
                &mut dropped
            ),
            Assembly::Incomplete
        );
        assert!(matches!(
            a.push(frag(key(b'A', 1), 2, b"aa", 2), at(2), &mut done, &mut dropped),
            Assembly::Complete { fill_bits: 2, provenance } if provenance.received == Some(UnixMillis(0))
        ));
        assert_eq!(done, b"AAaa");
        assert!(matches!(
            a.push(
                frag(key(b'B', 1), 2, b"bb", 0),
                at(3),
                &mut done,
                &mut dropped
            ),
            Assembly::Complete { .. }
        ));
        assert_eq!(done, b"BBbb");
        assert_eq!((a.pending_groups(), dropped), (0, 0));
    }

    #[test]
    fn late_fragments_are_orphans_not_glued() {
        let mut a = Assembler::new(8, 60_000);
        let (mut done, mut dropped) = (Vec::new(), 0);
        a.push(
            frag(key(b'A', 3), 1, b"old", 0),
            at(0),
            &mut done,
            &mut dropped,
        );
        // 61 s later a new message on another id moves the clock past the timeout.
        a.push(
            frag(key(b'A', 4), 1, b"new", 0),
            at(61_000),
            &mut done,
            &mut dropped,
        );
        assert_eq!(dropped, 1);
        assert_eq!(
            a.push(
                frag(key(b'A', 3), 2, b"tail", 0),
                at(61_001),
                &mut done,
                &mut dropped
            ),
            Assembly::Orphan
        );
        assert_eq!(a.pending_groups(), 1);
    }

    /// A live feed whose data clock lags its receive clock (here by years: an archive read as
    /// a file), and whose second fragments carry no time of their own (`\g:2-2-3454*5B\`, as
    /// in the aisdb extract): the fragments are seconds apart by the clock both have.
    #[test]
    fn fragments_age_on_the_clock_both_have() {
        let data_at = |data_ms: i64, received_ms: i64| Provenance {
            carriers: Carriers {
                tag_block: Some(UnixMillis(data_ms)),
                ..Carriers::default()
            },
            ..at(received_ms)
        };
        let years = 5 * 365 * 86_400_000;
        let mut a = Assembler::new(8, 60_000);
        let (mut done, mut dropped) = (Vec::new(), 0);
        a.push(
            frag(key(b'A', 2), 1, b"first", 0),
            data_at(0, years),
            &mut done,
            &mut dropped,
        );
        assert!(matches!(
            a.push(frag(key(b'A', 2), 2, b"second", 0), at(years + 5_000), &mut done, &mut dropped),
            Assembly::Complete { provenance, .. } if provenance.carriers.tag_block == Some(UnixMillis(0))
        ));
        assert_eq!((done.as_slice(), dropped), (&b"firstsecond"[..], 0));
        // By the data clock, where both have it, a group still times out.
        a.push(
            frag(key(b'A', 3), 1, b"old", 0),
            data_at(0, years),
            &mut done,
            &mut dropped,
        );
        a.push(
            frag(key(b'A', 4), 1, b"new", 0),
            data_at(61_000, years + 1_000),
            &mut done,
            &mut dropped,
        );
        assert_eq!((a.pending_groups(), dropped), (1, 1));
    }

    #[test]
    fn capacity_bounds_open_groups() {
        let mut a = Assembler::new(4, 60_000);
        let (mut done, mut dropped) = (Vec::new(), 0);
        for seq in 0..10 {
            a.push(
                frag(key(b'A', seq), 1, b"x", 0),
                Provenance::default(),
                &mut done,
                &mut dropped,
            );
            assert!(a.pending_groups() <= 4);
        }
        assert_eq!(dropped, 6);
        assert_eq!(a.flush(), 4);
    }

    #[test]
    fn reused_id_and_skipped_fragment_drop_the_group() {
        let mut a = Assembler::new(8, 60_000);
        let (mut done, mut dropped) = (Vec::new(), 0);
        let three = FragmentKey {
            total: 3,
            ..key(b'A', 5)
        };
        a.push(frag(three, 1, b"1", 0), at(0), &mut done, &mut dropped);
        a.push(frag(three, 1, b"1", 0), at(0), &mut done, &mut dropped);
        assert_eq!(dropped, 1, "superseded by a new first fragment");
        assert_eq!(
            a.push(frag(three, 3, b"3", 0), at(0), &mut done, &mut dropped),
            Assembly::Orphan
        );
        assert_eq!((a.pending_groups(), dropped), (0, 2));
    }

    #[test]
    fn group_ids_keep_same_numbered_messages_apart() {
        let mut a = Assembler::new(8, 60_000);
        let (mut done, mut dropped) = (Vec::new(), 0);
        let g = |id| FragmentKey {
            group_id: Some(id),
            ..key(b'A', 1)
        };
        a.push(frag(g(7), 1, b"seven", 0), at(0), &mut done, &mut dropped);
        assert_eq!(
            a.push(frag(g(8), 2, b"x", 0), at(0), &mut done, &mut dropped),
            Assembly::Orphan
        );
        // Without a group id on the second fragment it joins.
        assert!(matches!(
            a.push(
                frag(key(b'A', 1), 2, b"!", 0),
                at(0),
                &mut done,
                &mut dropped
            ),
            Assembly::Complete { .. }
        ));
        assert_eq!(done, b"seven!");
    }
}
