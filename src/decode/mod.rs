//! The `decode` stage: physical lines of an NMEA 0183 AIS feed -> typed `AisEvent`s, with
//! every refused line or sentence counted by reason. Pure: no clock, no I/O; the receive time
//! comes in with each line.
//!
//! The pipeline inside: `nmea` frames and checksums sentences, `tagblock` and `timestamps` read
//! where and when they were heard, `clock` settles which of those times a source is timed by,
//! `fragments` assembles multi-sentence messages, `payload` unpacks the bits and interprets the
//! message layouts.
//!
//! Time: each source is timed by one carrier, the first one its first timed message has in the
//! order tag block `c:`, leading column, trailing epoch, `$PGHP`, last `$GPZDA` / `$GPRMC`
//! (see `clock`); other carriers are ignored and counted, and messages without the source's
//! carrier are untimed (live: timed by their receive time) and counted.

pub mod clock;
mod counters;
pub mod csv;
pub mod duplicates;
pub mod feed;
pub mod fragments;
pub mod nmea;
mod params;
pub mod payload;
pub mod raw_message;
pub mod sink;
mod stats;
pub mod tagblock;
pub mod timestamps;

pub use counters::flatten_counters;
pub use stats::{DecodeStats, Reject, RejectCounts, RejectNote, TalkerCounts};

use std::collections::HashMap;
use std::sync::Arc;

use crate::bytes::find_byte;
use crate::model::{AisEvent, Heard, TimeSource};

use crate::time::UnixMillis;
use clock::{Carrier, Carriers, Resolution, SourceClock, Timing};

use duplicates::DuplicateFilter;
use fragments::{Assembler, Assembly, Fragment, FragmentKey, Provenance};
use nmea::FrameError;
use payload::{PayloadBits, PayloadError};
use tagblock::TagBlock;
use timestamps::{GatehouseQueue, Trailer};

pub use params::DecodeParams;

/// How one source's lines are decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeOptions {
    /// The station name used when a sentence does not carry one (tag block `s:` or a
    /// libais-style trailer).
    pub station: Option<Arc<str>>,
    /// Use the data's own timestamps (tag block, `$PGHP`, log columns); when off, every event
    /// is timed by the receive time passed in with its line.
    pub trust_data_time: bool,
    /// An incomplete multi-sentence message is given up after this much event time.
    pub fragment_timeout_ms: i64,
    /// At most this many incomplete multi-sentence messages are held; the oldest is dropped.
    pub max_pending_groups: usize,
    /// A message whose payload repeats one heard at most this much event time before is a
    /// duplicate reception: counted, not emitted. 0 keeps every copy.
    pub duplicate_window_ms: i64,
    /// A `$GPZDA` / `$GPRMC` times at most this many lines after it (and, when lines carry
    /// their receive time, for at most `fragment_timeout_ms` of it).
    pub time_sentence_max_lines: u64,
    /// A message timed (by its own data) more than this ahead of its line's receive time is
    /// refused as `ahead_of_receipt`; 0 accepts any. Lines without a receive time (logs) are
    /// never checked.
    pub max_ahead_of_receipt_ms: i64,
    /// Mappings tried, in order, on a first line that may be a CSV header, before the
    /// built-in MarineCadastre and DMA layouts.
    pub csv_maps: Vec<csv::CsvMap>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            station: None,
            trust_data_time: true,
            fragment_timeout_ms: 60_000,
            max_pending_groups: 1024,
            duplicate_window_ms: 5_000,
            time_sentence_max_lines: DEFAULT_TIME_SENTENCE_MAX_LINES,
            max_ahead_of_receipt_ms: (params::DEFAULT_MAX_AHEAD_OF_RECEIPT_S * 1000.0) as i64,
            csv_maps: Vec::new(),
        }
    }
}

/// Lines a time sentence times by default: national networks write one a second among about
/// a hundred AIS lines, so this leaves a tenfold margin before a silent receiver clock counts.
pub const DEFAULT_TIME_SENTENCE_MAX_LINES: u64 = 1_000;

/// Refusal notes kept until the caller takes them; beyond this they are only counted.
const MAX_NOTES: usize = 64;
/// Distinct station names kept interned; beyond this a name is shared only per message.
const MAX_STATIONS: usize = 4096;

/// One `Arc<str>` per station name so that events share it instead of allocating.
#[derive(Debug, Default)]
struct Stations {
    /// The names met last: a feed interleaves a few receivers, so nearly every name is one of
    /// these and is found without hashing.
    recent: Vec<(Vec<u8>, Arc<str>)>,
    /// The slot of `recent` a name not in it replaces.
    next: usize,
    known: HashMap<Vec<u8>, Arc<str>>,
}

/// Names `Stations` compares before it looks in its map.
const RECENT_STATIONS: usize = 4;

impl Stations {
    fn intern(&mut self, name: &[u8]) -> Arc<str> {
        if let Some((_, arc)) = self.recent.iter().find(|(bytes, _)| bytes == name) {
            return arc.clone();
        }
        let arc = match self.known.get(name) {
            Some(arc) => arc.clone(),
            None => {
                let arc: Arc<str> = Arc::from(String::from_utf8_lossy(name).as_ref());
                if self.known.len() < MAX_STATIONS {
                    self.known.insert(name.to_vec(), arc.clone());
                }
                arc
            }
        };
        if self.recent.len() < RECENT_STATIONS {
            self.recent.push((name.to_vec(), arc.clone()));
        } else {
            let (bytes, last) = &mut self.recent[self.next];
            bytes.clear();
            bytes.extend_from_slice(name);
            *last = arc.clone();
            self.next = (self.next + 1) % RECENT_STATIONS;
        }
        arc
    }
}

/// Tag blocks parsed lately: a feed repeats the same block (`\c:1565218798*53\`) on every
/// sentence of a second, interleaved with a few others (fragment groups, other stations), so a
/// byte-equal block is not checksummed and parsed again.
#[derive(Debug, Default)]
struct TagBlockCache {
    entries: Vec<(Vec<u8>, CachedTag)>,
    next: usize,
}

const TAG_BLOCK_CACHE: usize = 4;

#[derive(Clone, Copy, Debug)]
struct CachedTag {
    time: Option<UnixMillis>,
    /// Byte range of the station within the body.
    station: Option<(usize, usize)>,
    group: Option<tagblock::Group>,
    group_unchecked: bool,
    checksum_placeholder: bool,
}

impl TagBlockCache {
    fn parse<'a>(&mut self, body: &'a [u8]) -> Result<TagBlock<'a>, tagblock::TagBlockError> {
        // Blocks that differ mostly differ in their checksum, which ends them: the last byte
        // is compared before the whole.
        let ends_alike = |bytes: &Vec<u8>| bytes.len() == body.len() && bytes.last() == body.last();
        if let Some((_, cached)) = self
            .entries
            .iter()
            .find(|(bytes, _)| ends_alike(bytes) && bytes[..] == body[..])
        {
            return Ok(TagBlock {
                time: cached.time,
                station: cached.station.map(|(from, to)| &body[from..to]),
                group: cached.group,
                group_unchecked: cached.group_unchecked,
                checksum_placeholder: cached.checksum_placeholder,
            });
        }
        let block = tagblock::parse_tag_block(body)?;
        let cached = CachedTag {
            time: block.time,
            station: block.station.map(|s| {
                let from = s.as_ptr() as usize - body.as_ptr() as usize;
                (from, from + s.len())
            }),
            group: block.group,
            group_unchecked: block.group_unchecked,
            checksum_placeholder: block.checksum_placeholder,
        };
        if self.entries.len() < TAG_BLOCK_CACHE {
            self.entries.push((body.to_vec(), cached));
        } else {
            let (bytes, slot) = &mut self.entries[self.next];
            bytes.clear();
            bytes.extend_from_slice(body);
            *slot = cached;
            self.next = (self.next + 1) % TAG_BLOCK_CACHE;
        }
        Ok(block)
    }
}

/// A tag block alone on its line: it belongs to the sentence on the next line.
#[derive(Debug)]
struct CarriedTag {
    time: Option<UnixMillis>,
    station: Option<Arc<str>>,
    group: Option<tagblock::Group>,
}

/// Decoder of one input source: owns its framing state, `$PGHP` carry-over and fragment groups.
#[derive(Debug)]
pub struct NmeaDecoder {
    options: DecodeOptions,
    stats: DecodeStats,
    bits: PayloadBits,
    assembler: Assembler,
    assembled: Vec<u8>,
    gatehouse: GatehouseQueue,
    clock: SourceClock,
    stations: Stations,
    tag_blocks: TagBlockCache,
    carried: Option<CarriedTag>,
    notes: Vec<RejectNote>,
    duplicates: DuplicateFilter,
    /// Talker of the sentence being decoded, for the counts by talker.
    talker: [u8; 2],
}

/// Where a sentence's surroundings say it was heard, before fragment merging.
struct Surroundings<'a> {
    tag: Option<TagBlock<'a>>,
    carried: Option<CarriedTag>,
    trailer: Trailer<'a>,
    line_time: Option<UnixMillis>,
    received_at: Option<UnixMillis>,
}

impl NmeaDecoder {
    pub fn new(options: DecodeOptions) -> Self {
        NmeaDecoder {
            assembler: Assembler::new(options.max_pending_groups, options.fragment_timeout_ms),
            duplicates: DuplicateFilter::new(options.duplicate_window_ms),
            clock: SourceClock::new(options.time_sentence_max_lines, options.fragment_timeout_ms),
            options,
            stats: DecodeStats::default(),
            bits: PayloadBits::new(),
            assembled: Vec::with_capacity(256),
            gatehouse: GatehouseQueue::default(),
            stations: Stations::default(),
            tag_blocks: TagBlockCache::default(),
            carried: None,
            notes: Vec::new(),
            talker: [0; 2],
        }
    }

    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// The carrier that times this source, once its first timed message has settled it.
    pub fn source_clock(&self) -> Option<Carrier> {
        self.clock.settled()
    }

    /// How far the source's clock lags its receive times, once measured.
    pub fn source_lag_ms(&self) -> Option<i64> {
        self.clock.lag_ms()
    }

    /// Counts `messages` decoded earlier as timed on the source's clock rather than by their
    /// reception: the caller held them until the clock showed and moved them onto it.
    pub fn count_moved_onto_source_clock(&mut self, messages: u64) {
        let clock = &mut self.stats.clock;
        let moved = messages.min(clock.timed_by_received);
        clock.timed_by_received -= moved;
        clock.timed_by_received_on_source_clock += moved;
    }

    /// Incomplete multi-sentence messages currently held (never above `max_pending_groups`).
    pub fn pending_groups(&self) -> usize {
        self.assembler.pending_groups()
    }

    /// How many of its lines back each incomplete message began (0: on the last line).
    pub fn pending_groups_begun_lines_back(&self) -> Vec<u64> {
        let last = self.stats.lines;
        self.assembler
            .pending_first_lines()
            .map(|first| last.saturating_sub(first))
            .collect()
    }

    /// Refusals since the last call, with line numbers, for logging (at most 64 are kept).
    pub fn take_reject_notes(&mut self) -> impl Iterator<Item = RejectNote> + '_ {
        self.notes.drain(..)
    }

    pub fn has_reject_notes(&self) -> bool {
        !self.notes.is_empty()
    }

    /// Counts a line the source refused to read because it was too long.
    pub fn count_line_too_long(&mut self) {
        self.stats.lines += 1;
        self.reject(Reject::LineTooLong, "line longer than the limit");
    }

    /// End of input: incomplete messages can no longer complete and are counted as expired.
    pub fn finish(&mut self) {
        let dropped = self.assembler.flush();
        if dropped > 0 {
            self.stats.rejects.add(Reject::ExpiredFragment, dropped);
            self.note(
                Reject::ExpiredFragment,
                "message incomplete at end of input",
            );
        }
    }

    /// Decodes one physical line; appends 0..n events to `out`.
    pub fn decode_line(
        &mut self,
        line: &[u8],
        received_at: Option<UnixMillis>,
        out: &mut Vec<AisEvent>,
    ) {
        self.stats.lines += 1;
        let line = trim_end(line);
        // An empty line leaves a carried tag block for the next sentence: live framing never
        // hands empty lines on, and a replay of the same bytes must time them alike.
        let Some(&first) = line.first() else {
            self.stats.non_ais_lines += 1;
            return;
        };
        let carried = self.carried.take();
        match first {
            b'!' | b'\\' => self.decode_units(line, None, carried, received_at, out),
            b'$' => {
                if line.starts_with(b"$PGHP,") {
                    self.gatehouse_line(line);
                } else {
                    self.other_nmea_line(line, received_at);
                }
            }
            b'#' => self.stats.non_ais_lines += 1,
            _ => match line.iter().position(|&b| b == b'!' || b == b'\\') {
                Some(start) => {
                    let prefix = &line[..start];
                    let line_time = timestamps::parse_leading_time(prefix);
                    if line_time.is_none() && !prefix.iter().all(u8::is_ascii_whitespace) {
                        self.stats.unparsed_prefix += 1;
                    }
                    self.decode_units(&line[start..], line_time, carried, received_at, out);
                }
                None => self.reject(Reject::UnknownLine, "neither AIS, NMEA nor a comment"),
            },
        }
    }

    fn gatehouse_line(&mut self, line: &[u8]) {
        self.stats.gatehouse_lines += 1;
        match timestamps::parse_pghp(line) {
            Ok(g) => self.gatehouse.push(self.stats.lines, g),
            Err(timestamps::GatehouseError::BadChecksum) => {
                self.reject(Reject::BadChecksum, "$PGHP checksum does not match")
            }
            Err(e) => self.reject(Reject::BadSentence, e.detail()),
        }
    }

    /// A `$` sentence other than `$PGHP`: skipped, but a `$xxZDA` / `$xxRMC` sets the source's
    /// time-sentence clock.
    fn other_nmea_line(&mut self, line: &[u8], received_at: Option<UnixMillis>) {
        self.stats.non_ais_lines += 1;
        if !self.options.trust_data_time {
            return;
        }
        match clock::parse_time_sentence(line) {
            None => {}
            Some(Ok(time)) => {
                self.stats.clock.time_sentences += 1;
                self.clock
                    .time_sentence(time, self.stats.lines, received_at);
            }
            Some(Err(_)) => self.stats.clock.time_sentences_refused += 1,
        }
    }

    /// Decodes the `[\tag\]!sentence[trailer]` units of a line, several when concatenated.
    fn decode_units(
        &mut self,
        mut rest: &[u8],
        line_time: Option<UnixMillis>,
        mut carried: Option<CarriedTag>,
        received_at: Option<UnixMillis>,
        out: &mut Vec<AisEvent>,
    ) {
        let mut first_unit = true;
        loop {
            let mut tag = None;
            if rest.first() == Some(&b'\\') {
                let Some(close) = find_byte(&rest[1..], b'\\') else {
                    self.reject(Reject::BadTagBlock, "tag block not closed by a backslash");
                    return;
                };
                let body = &rest[1..1 + close];
                rest = &rest[close + 2..];
                match self.tag_blocks.parse(body) {
                    Ok(block) => tag = Some(block),
                    Err(e) => {
                        if rest.first() == Some(&b'!') {
                            self.stats.sentences += 1;
                        }
                        self.reject(Reject::BadTagBlock, e.detail());
                        match next_unit(rest) {
                            Some(next) => {
                                rest = next;
                                first_unit = false;
                                continue;
                            }
                            None => return,
                        }
                    }
                }
                if rest.is_empty() {
                    if let Some(block) = tag {
                        self.carried = Some(CarriedTag {
                            time: block.time,
                            station: block.station.map(|s| self.stations.intern(s)),
                            group: block.group,
                        });
                        self.stats.note_unchecked(&block);
                    }
                    return;
                }
            }
            if rest.first() == Some(&b'$') {
                // A tag-blocked non-AIS sentence ($GPZDA from the same receiver): as it would be
                // without the tag block.
                self.other_nmea_line(rest, received_at);
                return;
            }
            if rest.first() != Some(&b'!') {
                self.reject(Reject::UnknownLine, "tag block not followed by a sentence");
                return;
            }
            match nmea::parse_sentence(rest) {
                Ok((sentence, after)) => {
                    self.stats.sentences += 1;
                    let (trailer, next) = split_after_sentence(after);
                    if trailer.is_none() && next.is_none() && !after.is_empty() {
                        self.stats.trailing_garbage += 1;
                    }
                    let surroundings = Surroundings {
                        tag,
                        carried: carried.take(),
                        trailer: trailer.map(timestamps::parse_trailer).unwrap_or_default(),
                        line_time,
                        received_at,
                    };
                    self.decode_sentence(&sentence, surroundings, out);
                    match next {
                        Some(next) => rest = next,
                        None => return,
                    }
                }
                Err(FrameError::NotAis) if first_unit && tag.is_none() => {
                    self.stats.non_ais_lines += 1;
                    return;
                }
                Err(e) => {
                    let reason = match e {
                        FrameError::NotAis | FrameError::BadTalker | FrameError::BadFormatter => {
                            Reject::UnknownLine
                        }
                        FrameError::MissingChecksum => Reject::MissingChecksum,
                        FrameError::BadChecksum { .. } => Reject::BadChecksum,
                        FrameError::BadField(_) => Reject::BadSentence,
                    };
                    if reason != Reject::UnknownLine {
                        self.stats.sentences += 1;
                    }
                    self.reject(reason, e.detail());
                    match next_unit(&rest[1..]) {
                        Some(next) => rest = next,
                        None => return,
                    }
                }
            }
            first_unit = false;
        }
    }

    fn decode_sentence(
        &mut self,
        sentence: &nmea::Sentence<'_>,
        around: Surroundings<'_>,
        out: &mut Vec<AisEvent>,
    ) {
        self.talker = sentence.talker;
        let trust = self.options.trust_data_time;
        let (tag_time, tag_station, group) = match (&around.tag, around.carried) {
            (Some(block), _) => {
                self.stats.note_unchecked(block);
                (
                    block.time,
                    block.station.map(|s| self.stations.intern(s)),
                    block.group,
                )
            }
            (None, Some(carried)) => (carried.time, carried.station, carried.group),
            (None, None) => (None, None, None),
        };
        if let Some(g) = group {
            if g.total != sentence.total || g.number != sentence.number {
                self.reject(
                    Reject::BadTagBlock,
                    "g: fragment numbers disagree with the sentence",
                );
                return;
            }
        }
        let station = tag_station
            .or_else(|| around.trailer.station.map(|s| self.stations.intern(s)))
            .or_else(|| self.options.station.clone());
        let carriers = if trust {
            let (time_sentence, time_sentence_stale) =
                self.clock.context_at(self.stats.lines, around.received_at);
            Carriers {
                tag_block: tag_time,
                leading_column: around.line_time,
                trailing_epoch: around.trailer.time,
                time_sentence,
                time_sentence_stale,
            }
        } else {
            Carriers::default()
        };
        let provenance = Provenance {
            carriers,
            received: around.received_at,
            station,
            channel: sentence.channel,
            checksum_xor: sentence.checksum,
            first_line: self.stats.lines,
        };
        if sentence.total == 1 {
            self.decode_payload(sentence.payload, sentence.fill_bits, provenance, out);
            return;
        }
        let key = FragmentKey {
            channel: sentence.channel,
            seq_id: sentence.seq_id,
            total: sentence.total,
            group_id: group.map(|g| g.id),
        };
        let mut done = std::mem::take(&mut self.assembled);
        let mut dropped = 0;
        let fragment = Fragment {
            key,
            number: sentence.number,
            payload: sentence.payload,
            fill_bits: sentence.fill_bits,
        };
        let assembly = self
            .assembler
            .push(fragment, provenance, &mut done, &mut dropped);
        if dropped > 0 {
            self.stats.rejects.add(Reject::ExpiredFragment, dropped);
            self.note(Reject::ExpiredFragment, "message did not complete");
        }
        match assembly {
            Assembly::Incomplete => {}
            Assembly::Orphan => self.reject(
                Reject::OrphanFragment,
                "fragment without the start of its message",
            ),
            Assembly::Complete {
                fill_bits,
                provenance,
            } => self.decode_payload(&done, fill_bits, provenance, out),
        }
        self.assembled = done;
    }

    fn decode_payload(
        &mut self,
        armoured: &[u8],
        fill_bits: u8,
        provenance: Provenance,
        out: &mut Vec<AisEvent>,
    ) {
        if let Err(e) = self.bits.load(armoured, fill_bits) {
            self.reject(Reject::BadPayload, e.detail());
            return;
        }
        let fingerprint = self.duplicates.fingerprint(&self.bits);
        let resolution = self.resolve_time(&provenance);
        // A live message timed by its source's clock: checked against, then measuring, its
        // reception.
        let data_received = match (resolution.timing, provenance.received) {
            (Timing::Data(_, time), Some(received)) => Some((time, received)),
            _ => None,
        };
        if let Some((time, received)) = data_received {
            let tolerance = self.options.max_ahead_of_receipt_ms;
            if tolerance > 0 && time.as_millis() - received.as_millis() > tolerance {
                self.reject(
                    Reject::AheadOfReceipt,
                    "the message's own time is ahead of when its line was received",
                );
                return;
            }
        }
        let (time, time_source) = match resolution.timing {
            Timing::Data(carrier, t) => (Some(t), Some(time_source(carrier))),
            Timing::Received(t) => (Some(t), Some(TimeSource::Received)),
            Timing::ReceivedOnSourceClock(t) => (Some(t), Some(TimeSource::ReceivedOnSourceClock)),
            Timing::Untimed => (None, None),
        };
        let heard = Heard {
            time,
            time_source,
            station: provenance.station,
            channel: provenance.channel.map(char::from),
            line: None,
        };
        let emitted = out.len();
        match payload::decode_message(&self.bits, heard, out) {
            Ok(decoded) => {
                self.stats.messages += 1;
                self.stats.clock.count(&resolution);
                // Only a message that decoded measures its source's lag: a corrupt one's time
                // is no better than its payload.
                if let Some((time, received)) = data_received {
                    self.clock.note_lag(time, received);
                }
                self.stats.by_type[usize::from(decoded.msg_type)] += 1;
                self.stats.by_talker.add(self.talker, 1);
                if self.duplicates.is_repeat_of(fingerprint, time) {
                    out.truncate(emitted);
                    self.stats.duplicates += 1;
                    return;
                }
                self.stats.events += u64::from(decoded.events);
                if decoded.invalid_position {
                    self.stats.invalid_position += 1;
                }
            }
            Err(e @ PayloadError::Short { .. }) => self.reject(Reject::ShortPayload, e.detail()),
            Err(e) => self.reject(Reject::BadPayload, e.detail()),
        }
    }

    /// The source's clock (see `clock`), else the receive time. A `$PGHP` naming the message is
    /// taken out of the queue whether or not it is used, so that it times nothing else.
    fn resolve_time(&mut self, p: &Provenance) -> Resolution {
        let gatehouse = if self.options.trust_data_time && !self.gatehouse.is_empty() {
            self.gatehouse
                .take(self.stats.lines, p.first_line, p.checksum_xor)
        } else {
            None
        };
        self.clock.resolve(&p.carriers, gatehouse, p.received)
    }

    fn reject(&mut self, reason: Reject, detail: &'static str) {
        self.stats.rejects.add(reason, 1);
        self.note(reason, detail);
    }

    fn note(&mut self, reason: Reject, detail: &'static str) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(RejectNote {
                reason,
                line: self.stats.lines,
                detail,
            });
        }
    }
}

fn time_source(carrier: Carrier) -> TimeSource {
    match carrier {
        Carrier::TagBlock => TimeSource::TagBlock,
        Carrier::LeadingColumn | Carrier::TrailingEpoch => TimeSource::LogColumn,
        Carrier::Gatehouse => TimeSource::Gatehouse,
        Carrier::TimeSentence => TimeSource::TimeSentence,
    }
}

fn trim_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |e| e + 1);
    &line[..end]
}

/// Splits what follows a sentence's checksum into its trailer (`,station,epoch`) and the next
/// `\tag\!sentence` unit on the same line, if any.
fn split_after_sentence(after: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    match after.first() {
        None => (None, None),
        Some(b',') => match after.iter().position(|&b| b == b'\\') {
            Some(i) => match next_unit(&after[i..]) {
                Some(next) => (Some(&after[..i]), Some(next)),
                None => (Some(after), None),
            },
            None => (Some(after), None),
        },
        Some(_) => (None, next_unit(after)),
    }
}

/// The next `\tag\!` unit in `bytes`, if one starts there or later.
fn next_unit(bytes: &[u8]) -> Option<&[u8]> {
    let mut from = 0;
    while let Some(open) = bytes[from..].iter().position(|&b| b == b'\\') {
        let start = from + open;
        let close = bytes[start + 1..].iter().position(|&b| b == b'\\')?;
        let after_close = start + 1 + close + 1;
        if bytes.get(after_close) == Some(&b'!') {
            return Some(&bytes[start..]);
        }
        from = start + 1 + close;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mmsi;

    /// Decodes with every copy kept: these tests repeat lines on purpose.
    fn decode_all(lines: &[&str]) -> (Vec<AisEvent>, NmeaDecoder) {
        let mut decoder = NmeaDecoder::new(DecodeOptions {
            duplicate_window_ms: 0,
            ..DecodeOptions::default()
        });
        let mut out = Vec::new();
        for line in lines {
            decoder.decode_line(line.as_bytes(), None, &mut out);
        }
        (out, decoder)
    }

    #[test]
    fn tag_block_time_and_station_are_used() {
        let (events, decoder) = decode_all(&[
            r"\s:rEV02,c:1334337317*58\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F",
        ]);
        assert_eq!(decoder.stats().messages, 1);
        let heard = events[0].heard();
        assert_eq!(heard.time, Some(UnixMillis::from_secs(1_334_337_317)));
        assert_eq!(heard.time_source, Some(TimeSource::TagBlock));
        assert_eq!(heard.station.as_deref(), Some("rEV02"));
        assert_eq!(heard.channel, Some('B'));
    }

    #[test]
    fn two_fragment_message_takes_the_first_fragments_time() {
        let (events, decoder) = decode_all(&[
            r"\g:1-2-3985,s:rEV02,c:1334337317*2D\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0*70",
            r"\g:2-2-3985*5A\!AIVDM,2,2,9,B,PFRC88888888880,2*29",
        ]);
        assert_eq!(decoder.stats().rejected(), 0, "{:?}", decoder.stats());
        assert_eq!(events.len(), 1);
        let AisEvent::VesselReport(report) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(
            report.heard.time,
            Some(UnixMillis::from_secs(1_334_337_317))
        );
        assert_eq!(report.heard.station.as_deref(), Some("rEV02"));
    }

    #[test]
    fn without_trust_the_receive_time_is_used() {
        let mut decoder = NmeaDecoder::new(DecodeOptions {
            trust_data_time: false,
            station: Some(Arc::from("home")),
            ..DecodeOptions::default()
        });
        let mut out = Vec::new();
        decoder.decode_line(
            br"\c:1334337317*5E\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F",
            Some(UnixMillis(42)),
            &mut out,
        );
        assert_eq!(out[0].heard().time, Some(UnixMillis(42)));
        assert_eq!(out[0].heard().time_source, Some(TimeSource::Received));
        assert_eq!(out[0].heard().station.as_deref(), Some("home"));
    }

    /// A live source timed by tag blocks whose data runs years behind its receive times (an
    /// archive read as a file; a satellite relay runs hours behind): a line without a tag block
    /// is timed on the source's clock, not at the moment it was received, so that it cannot
    /// move the stream clock to now. The lag is the median of the last few, so one line with a
    /// wrong clock does not carry its error over.
    #[test]
    fn an_untimed_live_line_takes_its_sources_lag() {
        let sentence = "!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F";
        let tagged = |secs: i64| {
            let fields = format!("c:{secs}");
            let sum = nmea::xor_checksum(fields.as_bytes());
            format!("\\{fields}*{sum:02X}\\{sentence}").into_bytes()
        };
        let data = 1_334_337_317_i64;
        let lag_ms = 5 * 365 * 86_400_000;
        let received = |secs: i64| Some(UnixMillis(secs * 1000 + lag_ms));
        let mut decoder = NmeaDecoder::new(DecodeOptions::default());
        let mut out = Vec::new();
        for (i, line) in [tagged(data), tagged(data + 1), tagged(data - 86_400)]
            .iter()
            .enumerate()
        {
            decoder.decode_line(line, received(data + i as i64), &mut out);
        }
        // Lines refused as timed ahead of their reception measure nothing: three of them
        // would otherwise be the median.
        for i in 0..3 {
            let ahead = UnixMillis((data + 7_200) * 1000);
            decoder.decode_line(&tagged(data + 10_800 + i), Some(ahead), &mut out);
        }
        assert_eq!(decoder.stats().rejects.ahead_of_receipt, 3);
        decoder.decode_line(sentence.as_bytes(), received(data + 10), &mut out);
        let untimed = out.last().expect("decoded").heard();
        // The lags were 5 years, 5 years and 5 years and a day: the median is 5 years.
        assert_eq!(untimed.time, Some(UnixMillis::from_secs(data + 10)));
        assert_eq!(untimed.time_source, Some(TimeSource::ReceivedOnSourceClock));
        let clock = &decoder.stats().clock;
        assert_eq!(
            (
                clock.timed_by_tag_block,
                clock.timed_by_received_on_source_clock
            ),
            (3, 1)
        );
        // A source that has not shown a clock of its own yet: the receive time as it is.
        let mut fresh = NmeaDecoder::new(DecodeOptions::default());
        out.clear();
        fresh.decode_line(sentence.as_bytes(), received(data), &mut out);
        assert_eq!(out[0].heard().time, received(data));
        assert_eq!(out[0].heard().time_source, Some(TimeSource::Received));
    }

    #[test]
    fn a_time_ahead_of_its_own_reception_is_refused_on_live_lines_only() {
        let line = br"\c:1334337317*5E\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F";
        let data_time = UnixMillis::from_secs(1_334_337_317);
        let decode = |received: Option<UnixMillis>| {
            let mut decoder = NmeaDecoder::new(DecodeOptions::default());
            let mut out = Vec::new();
            decoder.decode_line(line, received, &mut out);
            (out.len(), decoder.stats().rejects.ahead_of_receipt)
        };
        let tolerance = DecodeOptions::default().max_ahead_of_receipt_ms;
        // Received an hour before the time it claims: refused, counted, nothing emitted.
        assert_eq!(
            decode(Some(UnixMillis(data_time.as_millis() - 3_600_000))),
            (0, 1)
        );
        // Within the tolerance, after it, or from a log without receive times: accepted.
        assert_eq!(
            decode(Some(UnixMillis(data_time.as_millis() - tolerance))),
            (1, 0)
        );
        assert_eq!(
            decode(Some(UnixMillis(data_time.as_millis() + 60_000))),
            (1, 0)
        );
        assert_eq!(decode(None), (1, 0));
        let mut off = NmeaDecoder::new(DecodeOptions {
            max_ahead_of_receipt_ms: 0,
            ..DecodeOptions::default()
        });
        let mut out = Vec::new();
        off.decode_line(line, Some(UnixMillis(0)), &mut out);
        assert_eq!(out.len(), 1, "0 switches the check off");
    }

    #[test]
    fn leading_column_and_trailer_time_sentences() {
        // One source each: a source is timed by one carrier (see the next test).
        let lines = [
            "1711929600.25 !AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "2024-04-01T00:00:00Z,!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A,b003669712,1241544035",
        ];
        let events: Vec<AisEvent> = lines
            .iter()
            .flat_map(|line| decode_all(&[line]).0)
            .collect();
        let times: Vec<_> = events
            .iter()
            .map(|e| e.time().unwrap().as_millis())
            .collect();
        assert_eq!(
            times,
            [1_711_929_600_250, 1_711_929_600_000, 1_241_544_035_000]
        );
        assert!(events
            .iter()
            .all(|e| e.heard().time_source == Some(TimeSource::LogColumn)));
        assert_eq!(events[2].heard().station.as_deref(), Some("b003669712"));
    }

    #[test]
    fn a_source_keeps_the_carrier_its_first_timed_message_settled() {
        let (events, decoder) = decode_all(&[
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "1711929600 !AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A,b003669712,1241544035",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A,b003669712,1241544035",
            "1711929601 !AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
        ]);
        assert_eq!(decoder.source_clock(), Some(Carrier::LeadingColumn));
        let times: Vec<_> = events.iter().map(|e| e.time()).collect();
        assert_eq!(
            times,
            [
                None,
                Some(UnixMillis::from_secs(1_711_929_600)),
                None,
                Some(UnixMillis::from_secs(1_711_929_601))
            ]
        );
        let c = &decoder.stats().clock;
        assert_eq!(
            (
                c.timed_by_leading_column,
                c.untimed,
                c.other_carrier_ignored
            ),
            (2, 2, 2)
        );
    }

    #[test]
    fn time_sentences_time_the_lines_after_them_until_stale() {
        let mut decoder = NmeaDecoder::new(DecodeOptions {
            time_sentence_max_lines: 2,
            // The same sentence repeats on purpose.
            duplicate_window_ms: 0,
            ..DecodeOptions::default()
        });
        let mut out = Vec::new();
        for line in [
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "$GPZDA,114702.51,27,01,2012,,*66",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A,1327664821",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "$GPZDA,114702.51,27,01,2012,,*67",
        ] {
            decoder.decode_line(line.as_bytes(), None, &mut out);
        }
        let zda = UnixMillis::from_civil(2012, 1, 27, 11, 47, 2, 510);
        let times: Vec<_> = out.iter().map(|e| e.time()).collect();
        assert_eq!(times, [None, zda, zda, None]);
        assert_eq!(out[1].heard().time_source, Some(TimeSource::TimeSentence));
        assert_eq!(decoder.source_clock(), Some(Carrier::TimeSentence));
        let c = &decoder.stats().clock;
        assert_eq!(
            (
                c.timed_by_time_sentence,
                c.untimed,
                c.untimed_stale_time_sentence,
                c.other_carrier_ignored,
                c.time_sentences,
                c.time_sentences_refused
            ),
            (2, 2, 1, 1, 1, 1)
        );
        assert_eq!(decoder.stats().non_ais_lines, 2);
    }

    #[test]
    fn gatehouse_times_the_message_whose_checksums_it_names() {
        let (events, decoder) = decode_all(&[
            "$PGHP,1,2010,6,11,11,46,11,929,244,0,,1,72*21",
            "!AIVDM,2,1,1,,53cMa3@000010WSW?V105=<45B2222222222220t388151:9e2UiDm851DTh,0*65",
            "!AIVDM,2,2,1,,j1C32CQp888,2*17",
        ]);
        assert_eq!(decoder.stats().rejected(), 0, "{:?}", decoder.stats());
        assert_eq!(
            events[0].time(),
            UnixMillis::from_civil(2010, 6, 11, 11, 46, 11, 929)
        );
        assert_eq!(events[0].heard().time_source, Some(TimeSource::Gatehouse));
    }

    #[test]
    fn noise_is_counted_not_decoded() {
        let (events, decoder) = decode_all(&[
            "",
            "# comment",
            "$GPZDA,114702.51,27,01,2012,,*66",
            "!AIPWR,1,2*00",
            "!=IV>l,0*1C",
            "IamNotAnAisMessage1111",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0",
            "!AIVDM,1,1,,B,,0*25",
            "!AIVDM,2,2,3,A,888888888888880,2*27",
        ]);
        assert!(events.is_empty());
        let s = decoder.stats();
        assert_eq!(s.lines, 10);
        assert_eq!(s.non_ais_lines, 4);
        assert_eq!(s.rejects.unknown_line, 2);
        assert_eq!(s.rejects.bad_checksum, 1);
        assert_eq!(s.rejects.missing_checksum, 1);
        assert_eq!(s.rejects.short_payload, 1);
        assert_eq!(s.rejects.orphan_fragment, 1);
        assert_eq!(s.rejected(), 6);
    }

    #[test]
    fn every_talker_is_decoded_and_counted() {
        let (events, decoder) = decode_all(&[
            "!=IVDM,1,1,,A,18JSmJ001D8FqSClKd51JAD20D0W,0*2E",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "!BSVDM,1,1,,B,14QsDOP01?0nGuHOM4n;vqTn0p4S,0*23",
        ]);
        assert_eq!(events.len(), 3, "{:?}", decoder.stats());
        let talkers = &decoder.stats().by_talker;
        assert_eq!(talkers.to_string(), "=I=1 AI=1 BS=1");
    }

    #[test]
    fn a_message_relayed_twice_is_emitted_once() {
        let mut decoder = NmeaDecoder::new(DecodeOptions::default());
        let mut out = Vec::new();
        // One type 5, heard by two receivers 10 ms apart, fragments under different talkers
        // and sequence ids; then the same bits a minute later, outside the window.
        for (time, line) in [
            (
                1_000,
                "!AIVDM,2,1,9,B,55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD,0*2A",
            ),
            (
                1_005,
                "!ABVDM,2,1,3,B,55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD,0*2B",
            ),
            (1_010, "!AIVDM,2,2,9,B,`88888888888880,2*76"),
            (1_015, "!ABVDM,2,2,3,B,`88888888888880,2*77"),
            (
                61_000,
                "!AIVDM,2,1,9,B,55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD,0*2A",
            ),
            (61_010, "!AIVDM,2,2,9,B,`88888888888880,2*76"),
        ] {
            let line = format!("{} {line}", f64::from(time) / 1000.0 + 1_452_468_552.0);
            decoder.decode_line(line.as_bytes(), None, &mut out);
        }
        let stats = decoder.stats();
        assert_eq!(stats.rejected(), 0, "{stats:?}");
        assert_eq!((stats.messages, stats.duplicates, stats.events), (3, 1, 2));
        assert_eq!(out.len(), 2);
        assert_eq!(stats.by_talker.to_string(), "AB=1 AI=2");
    }

    #[test]
    fn concatenated_units_on_one_line_are_split() {
        let (events, decoder) = decode_all(&[
            r"\s:rMT2083,t:marinetraffic,c:1698785962*4C\!AIVDM,2,1,9,A,53do3d800003TP7CK?8=9U=@4j0@D9E==T00001521o484d@04A3i1Eh,0*68\s:rMT2083,t:marinetraffic,c:1698785961*4F\!AIVDM,2,2,9,A,88888888880,2*2D",
        ]);
        assert_eq!(decoder.stats().sentences, 2);
        assert_eq!(decoder.stats().messages, 1, "{:?}", decoder.stats());
        assert_eq!(events[0].mmsi(), Mmsi(248_366_000));
        assert_eq!(events[0].time(), Some(UnixMillis::from_secs(1_698_785_962)));
    }

    #[test]
    fn a_repeated_tag_block_is_read_from_the_cache_with_the_same_result() {
        let mut cache = TagBlockCache::default();
        let body = b"s:rEV02,c:1334337317*58";
        let first = cache.parse(body).unwrap();
        let copy = body.to_vec();
        let second = cache.parse(&copy).unwrap();
        assert_eq!(first, second);
        assert_eq!(second.station, Some(&b"rEV02"[..]));
        assert!(cache.parse(b"s:rEV02,c:1334337317*59").is_err());
        assert_eq!(cache.parse(&copy).unwrap(), first);
    }

    #[test]
    fn a_tag_block_alone_on_its_line_times_the_next_lines_sentence() {
        let (events, decoder) = decode_all(&[
            r"\c:1354719388*56\",
            "!BSVDM,1,1,,B,14QsDOP01?0nGuHOM4n;vqTn0p4S,0*23",
            "!BSVDM,1,1,,B,14QsDOP01?0nGuHOM4n;vqTn0p4S,0*23",
        ]);
        assert_eq!(decoder.stats().rejected(), 0);
        assert_eq!(events[0].time(), Some(UnixMillis::from_secs(1_354_719_388)));
        assert_eq!(events[1].time(), None, "only the very next line");
    }

    #[test]
    fn an_empty_line_between_a_tag_block_and_its_sentence_changes_nothing() {
        let sentence = "!BSVDM,1,1,,B,14QsDOP01?0nGuHOM4n;vqTn0p4S,0*23";
        let (framed_live, _) = decode_all(&[r"\c:1354719388*56\", sentence]);
        let (replayed, decoder) = decode_all(&[r"\c:1354719388*56\", "", "", sentence]);
        assert_eq!(replayed, framed_live);
        assert_eq!(
            replayed[0].time(),
            Some(UnixMillis::from_secs(1_354_719_388))
        );
        assert_eq!(
            decoder.stats().non_ais_lines,
            2,
            "the empty lines are counted"
        );
    }

    #[test]
    fn stations_are_shared_not_copied() {
        let line = r"\s:rEV02,c:1334337317*58\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F";
        let (events, _) = decode_all(&[line, line]);
        let a = events[0].heard().station.clone().unwrap();
        let b = events[1].heard().station.clone().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }
}
