//! Puts a replay's events in time order with bounded memory: records (see [`crate::record`])
//! gather in a buffer up to a set size, each full buffer is sorted and spilled to a temporary
//! file as a run, and the runs and the last buffer are merged k-way on the way to the engine.
//! A row record (a CSV row's fix and report in one) sorts as its fix; its report waits until
//! every record that sorts before the report's own record has gone out, so the engine gets
//! the events in the order their separate records would give.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use crate::model::AisEvent;
use crate::record::{self, read_varint, RecordError, RecordReader, KEY_PREFIX, REPORT_RANK};
use crate::time::UnixMillis;

/// How much memory the sort may hold and where its runs go when the input is larger.
#[derive(Clone, Debug)]
pub struct SortParams {
    /// Bytes of records (and their index) held before a sorted run is written out.
    pub memory_bytes: usize,
    /// Folder of the temporary run files; they are removed when the replay ends.
    pub spill_dir: PathBuf,
    /// How far (ms of event time) a line may lag the newest line of its log before it for the
    /// events to be put in order while the logs are read ([`super::window`]); 0 sorts every
    /// event first.
    pub one_pass_lateness_ms: i64,
    /// Engines the vessels are split across ([`crate::engine::partition`]); 1 runs one
    /// engine on the replay's thread. The tables are the same whatever it is.
    pub engine_parts: usize,
}

/// What the sort did, for the replay's summary and log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SortStats {
    /// Timed events sorted.
    pub events: u64,
    /// Sorted runs written to disk (0 when the input fitted in memory).
    pub runs: u64,
    /// Bytes written to run files.
    pub spilled_bytes: u64,
    /// The events were put in order while the logs were read, within the lateness window.
    pub one_pass: bool,
    /// Why a replay begun in one pass sorted every event first and started again.
    pub restarted: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SortError {
    #[error("spilling sorted events to {path}: {source}")]
    Spill {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading back sorted events from {path}: {source}")]
    Record { path: PathBuf, source: RecordError },
}

/// Where a record sits in the buffer; the first eight bytes (the event time) are copied out
/// so that most comparisons never touch the buffer. The start and the length share one word:
/// 16 bytes an entry instead of 24, which a CSV export's two events a row pay twice.
#[derive(Clone, Copy)]
struct Entry {
    time_key: u64,
    /// The start in the buffer above [`LEN_BITS`], the length below.
    place: u64,
}

/// Bits of [`Entry::place`] for the record's length: a record is one event, far shorter
/// than 16 MiB (a line is at most a few kilobytes), and the buffer far shorter than 1 TiB.
const LEN_BITS: u32 = 24;

impl Entry {
    fn new(time_key: u64, start: usize, len: usize) -> Entry {
        assert!(
            len < 1 << LEN_BITS && (start as u64) < 1 << (64 - LEN_BITS),
            "an event record of {len} bytes at {start}"
        );
        Entry {
            time_key,
            place: ((start as u64) << LEN_BITS) | len as u64,
        }
    }

    fn range(&self) -> std::ops::Range<usize> {
        let start = (self.place >> LEN_BITS) as usize;
        start..start + (self.place & ((1 << LEN_BITS) - 1)) as usize
    }
}

const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

/// Gathers events, then hands them back in record order.
pub struct EventSorter {
    params: SortParams,
    buffer: Vec<u8>,
    entries: Vec<Entry>,
    runs: Vec<RunFile>,
    stats: SortStats,
}

impl EventSorter {
    pub fn new(params: SortParams) -> EventSorter {
        EventSorter {
            params,
            buffer: Vec::new(),
            entries: Vec::new(),
            runs: Vec::new(),
            stats: SortStats::default(),
        }
    }

    /// Adds a timed event.
    pub fn push(&mut self, event: &AisEvent) -> Result<(), SortError> {
        let start = self.buffer.len();
        record::encode(event, &mut self.buffer);
        self.entry_from(start, 1)
    }

    /// Adds a record made by [`record`]: one event's, or a row record's two (`events`).
    pub fn push_record(&mut self, bytes: &[u8], events: u64) -> Result<(), SortError> {
        let start = self.buffer.len();
        self.buffer.extend_from_slice(bytes);
        self.entry_from(start, events)
    }

    /// Indexes the record written to the buffer from `start` on.
    fn entry_from(&mut self, start: usize, events: u64) -> Result<(), SortError> {
        let time_key = u64::from_be_bytes(self.buffer[start..start + 8].try_into().expect("8"));
        self.entries
            .push(Entry::new(time_key, start, self.buffer.len() - start));
        self.stats.events += events;
        if self.buffer.len() + self.entries.len() * ENTRY_BYTES >= self.params.memory_bytes {
            self.spill()?;
        }
        Ok(())
    }

    pub fn stats(&self) -> &SortStats {
        &self.stats
    }

    fn sort_buffer(&mut self) {
        let buffer = &self.buffer;
        let bytes = |e: &Entry| &buffer[e.range().start + 8..e.range().end];
        // Unstable is enough: records that compare equal are byte-identical events.
        self.entries.sort_unstable_by(|a, b| {
            a.time_key
                .cmp(&b.time_key)
                .then_with(|| bytes(a).cmp(bytes(b)))
        });
    }

    fn spill(&mut self) -> Result<(), SortError> {
        self.sort_buffer();
        let mut run = RunFile::create(&self.params.spill_dir)?;
        let mut frame = Vec::with_capacity(16);
        for entry in &self.entries {
            let bytes = &self.buffer[entry.range()];
            frame.clear();
            record::put_varint(&mut frame, bytes.len() as u64);
            run.write(&frame)?;
            run.write(bytes)?;
        }
        self.stats.spilled_bytes += run.finish_writing()?;
        self.stats.runs += 1;
        tracing::debug!(
            run = self.stats.runs,
            events = self.entries.len(),
            "Sorted run spilled to disk."
        );
        self.runs.push(run);
        self.buffer.clear();
        self.entries.clear();
        Ok(())
    }

    /// Ends the input: the events in order, merged from the runs and what is still in memory.
    pub fn into_sorted(mut self) -> Result<SortedEvents, SortError> {
        self.sort_buffer();
        let mut merge = SortedEvents {
            memory: MemoryRun {
                buffer: std::mem::take(&mut self.buffer),
                entries: std::mem::take(&mut self.entries).into_iter(),
            },
            runs: Vec::with_capacity(self.runs.len()),
            heap: BinaryHeap::new(),
            reader: RecordReader::default(),
            spare: Vec::new(),
            waiting: WaitingReports::default(),
        };
        for run in std::mem::take(&mut self.runs) {
            merge.runs.push(run.into_reader()?);
        }
        // With nothing spilled the buffer is read in place; otherwise every source, the buffer
        // last, gives its first record to the heap.
        if !merge.runs.is_empty() {
            for source in 0..=merge.runs.len() {
                let mut record = Vec::new();
                if merge.fill(source, &mut record)? {
                    merge.heap.push(Head { record, source });
                }
            }
        }
        Ok(merge)
    }
}

/// The sorted buffer, read in place.
struct MemoryRun {
    buffer: Vec<u8>,
    entries: std::vec::IntoIter<Entry>,
}

/// The next record of one source (a run file or the buffer), ordered for a min-heap.
struct Head {
    record: Vec<u8>,
    source: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.record == other.record
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        other.record.cmp(&self.record)
    }
}

/// The report of a row record taken out, waiting for its place.
struct Waiting {
    /// The event time and MMSI its record starts with.
    prefix: [u8; KEY_PREFIX],
    report: AisEvent,
}

/// Reports of row records taken out, in the order of their own records (nearly always none
/// or one): each goes out once the next record sorts after its own.
#[derive(Default)]
pub(super) struct WaitingReports {
    waiting: Vec<Waiting>,
    /// A waiting report's own record, when it must be compared whole.
    scratch: Vec<u8>,
}

impl WaitingReports {
    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The event time of the first waiting report.
    pub(super) fn first_time(&self) -> Option<UnixMillis> {
        self.waiting
            .first()
            .and_then(|first| record::time_of(&first.prefix))
    }

    /// Whether the first waiting report's record sorts before `next` (or none is left). Its
    /// record starts like its fix's, with the kind of a report: the time, the MMSI and the
    /// kind mostly settle it without encoding it.
    pub(super) fn first_is_due(&mut self, next: Option<&[u8]>) -> bool {
        let Some(first) = self.waiting.first() else {
            return false;
        };
        match next {
            None => true,
            // Too short to be a record: taking it out names the damage.
            Some(next) if next.len() <= KEY_PREFIX => false,
            Some(next) => {
                let (next_prefix, next_rank) = (&next[..KEY_PREFIX], next[KEY_PREFIX]);
                match first.prefix.as_slice().cmp(next_prefix) {
                    Ordering::Less => true,
                    Ordering::Greater => false,
                    Ordering::Equal if next_rank != REPORT_RANK => REPORT_RANK < next_rank,
                    Ordering::Equal => {
                        self.scratch.clear();
                        record::encode(&first.report, &mut self.scratch);
                        self.scratch.as_slice() <= next
                    }
                }
            }
        }
    }

    /// Takes the first waiting report out, with the key prefix of its record.
    pub(super) fn take_first(&mut self) -> ([u8; KEY_PREFIX], AisEvent) {
        let first = self.waiting.remove(0);
        (first.prefix, first.report)
    }

    /// Puts a row record's report among the waiting ones, in the order of their records.
    pub(super) fn wait(&mut self, prefix: [u8; KEY_PREFIX], report: AisEvent) {
        let mut at = self.waiting.len();
        if at > 0 {
            let own = |event: &AisEvent| {
                let mut bytes = Vec::new();
                record::encode(event, &mut bytes);
                bytes
            };
            let bytes = own(&report);
            at = self.waiting.partition_point(|w| own(&w.report) <= bytes);
        }
        self.waiting.insert(at, Waiting { prefix, report });
    }
}

/// The first `KEY_PREFIX` bytes of a record (zeros where it is shorter).
pub(super) fn key_prefix(bytes: &[u8]) -> [u8; KEY_PREFIX] {
    let mut prefix = [0u8; KEY_PREFIX];
    if let Some(start) = bytes.get(..KEY_PREFIX) {
        prefix.copy_from_slice(start);
    }
    prefix
}

/// The events of a finished sort, earliest first.
pub struct SortedEvents {
    memory: MemoryRun,
    runs: Vec<RunReader>,
    heap: BinaryHeap<Head>,
    reader: RecordReader,
    spare: Vec<u8>,
    waiting: WaitingReports,
}

impl SortedEvents {
    /// The next event, or `None` when all are out.
    pub fn next_event(&mut self) -> Result<Option<AisEvent>, SortError> {
        if !self.waiting.is_empty() {
            let next = peek(&self.runs, &self.memory, &self.heap);
            if self.waiting.first_is_due(next) {
                return Ok(Some(self.waiting.take_first().1));
            }
        }
        let Some((prefix, (event, report))) = self.take_record()? else {
            return Ok(None);
        };
        if let Some(report) = report {
            self.waiting.wait(prefix, report);
        }
        Ok(Some(event))
    }

    /// The next record's key prefix and events.
    #[allow(clippy::type_complexity)]
    fn take_record(
        &mut self,
    ) -> Result<Option<([u8; KEY_PREFIX], (AisEvent, Option<AisEvent>))>, SortError> {
        if self.runs.is_empty() {
            // Nothing spilled: straight from the sorted buffer, no copy.
            let Some(entry) = self.memory.entries.next() else {
                return Ok(None);
            };
            let bytes = &self.memory.buffer[entry.range()];
            return self
                .reader
                .read_row(bytes)
                .map(|events| Some((key_prefix(bytes), events)))
                .map_err(|source| SortError::Record {
                    path: PathBuf::from("memory"),
                    source,
                });
        }
        let Some(head) = self.heap.pop() else {
            return Ok(None);
        };
        let events = self
            .reader
            .read_row(&head.record)
            .map_err(|source| SortError::Record {
                path: self.source_path(head.source),
                source,
            })?;
        let taken = key_prefix(&head.record);
        let mut record = std::mem::replace(&mut self.spare, head.record);
        if self.fill(head.source, &mut record)? {
            self.heap.push(Head {
                record,
                source: head.source,
            });
        } else {
            self.spare = record;
        }
        Ok(Some((taken, events)))
    }

    fn source_path(&self, source: usize) -> PathBuf {
        self.runs
            .get(source)
            .map_or_else(|| PathBuf::from("memory"), |r| r.path.clone())
    }

    /// Reads the next record of `source` (the runs, then the buffer last) into `record`.
    fn fill(&mut self, source: usize, record: &mut Vec<u8>) -> Result<bool, SortError> {
        record.clear();
        match self.runs.get_mut(source) {
            Some(run) => run.next_record(record),
            None => match self.memory.entries.next() {
                Some(entry) => {
                    record.extend_from_slice(&self.memory.buffer[entry.range()]);
                    Ok(true)
                }
                None => Ok(false),
            },
        }
    }
}

/// The next record in order, not taken out.
fn peek<'a>(
    runs: &[RunReader],
    memory: &'a MemoryRun,
    heap: &'a BinaryHeap<Head>,
) -> Option<&'a [u8]> {
    if runs.is_empty() {
        let entry = memory.entries.as_slice().first()?;
        return Some(&memory.buffer[entry.range()]);
    }
    heap.peek().map(|head| head.record.as_slice())
}

/// Names temporary run files apart between runs and replays of one process.
static RUN_NUMBER: AtomicU64 = AtomicU64::new(0);

/// A run being written; the file goes away with it.
struct RunFile {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    bytes: u64,
}

impl RunFile {
    fn create(dir: &Path) -> Result<RunFile, SortError> {
        let number = RUN_NUMBER.fetch_add(1, AtomicOrdering::Relaxed);
        let path = dir.join(format!(".aisgap-sort-{}-{number}.run", std::process::id()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| SortError::Spill {
                path: path.clone(),
                source,
            })?;
        Ok(RunFile {
            path,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            bytes: 0,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SortError> {
        self.bytes += bytes.len() as u64;
        let writer = self.writer.as_mut().expect("still writing");
        writer.write_all(bytes).map_err(|source| SortError::Spill {
            path: self.path.clone(),
            source,
        })
    }

    fn finish_writing(&mut self) -> Result<u64, SortError> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush().map_err(|source| SortError::Spill {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(self.bytes)
    }

    fn into_reader(self) -> Result<RunReader, SortError> {
        let file = File::open(&self.path).map_err(|source| SortError::Spill {
            path: self.path.clone(),
            source,
        })?;
        Ok(RunReader {
            path: self.path.clone(),
            reader: BufReader::with_capacity(1 << 20, file),
            _file: self,
        })
    }
}

impl Drop for RunFile {
    fn drop(&mut self) {
        self.writer = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A finished run read back in order.
struct RunReader {
    path: PathBuf,
    reader: BufReader<File>,
    /// Kept so the file is removed when the merge is done with it.
    _file: RunFile,
}

impl RunReader {
    fn next_record(&mut self, record: &mut Vec<u8>) -> Result<bool, SortError> {
        let io = |source| SortError::Spill {
            path: self.path.clone(),
            source,
        };
        let mut length = [0u8; 10];
        let mut used = 0;
        loop {
            let mut byte = [0u8; 1];
            if self.reader.read(&mut byte).map_err(io)? == 0 {
                if used == 0 {
                    return Ok(false);
                }
                return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            length[used] = byte[0];
            used += 1;
            if byte[0] & 0x80 == 0 || used == length.len() {
                break;
            }
        }
        let (len, _) = read_varint(&length[..used]).ok_or_else(|| SortError::Record {
            path: self.path.clone(),
            source: RecordError {
                what: "bad record length",
                at: 0,
            },
        })?;
        record.resize(len as usize, 0);
        self.reader.read_exact(record).map_err(io)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Fix, Heard, Mmsi, ReceiverHeartbeat, VesselReport};
    use crate::time::UnixMillis;

    fn fix(mmsi: u32, time: i64) -> AisEvent {
        let heard = Heard {
            time: Some(UnixMillis(time)),
            station: Some(format!("st{}", mmsi % 3).into()),
            ..Heard::default()
        };
        AisEvent::Fix(Fix::bare(Mmsi(mmsi), 1, heard, f64::from(mmsi % 90), 133.0))
    }

    /// A fixed shuffle of `n` fixes over a few vessels and many repeated times.
    fn shuffled(n: u32) -> Vec<AisEvent> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                fix(
                    200_000_000 + (state % 7) as u32,
                    ((state >> 8) % 500) as i64 * 1000,
                )
            })
            .collect()
    }

    fn sorted_with(events: &[AisEvent], memory_bytes: usize, dir: &Path) -> (Vec<AisEvent>, u64) {
        let mut sorter = EventSorter::new(SortParams {
            memory_bytes,
            spill_dir: dir.to_path_buf(),
            one_pass_lateness_ms: 0,
            engine_parts: 1,
        });
        for e in events {
            sorter.push(e).unwrap();
        }
        let runs = sorter.stats().runs;
        let mut sorted = sorter.into_sorted().unwrap();
        let mut out = Vec::new();
        while let Some(e) = sorted.next_event().unwrap() {
            out.push(e);
        }
        (out, runs)
    }

    #[test]
    fn spilled_runs_merge_to_the_order_an_all_in_memory_sort_gives() {
        let dir = tempfile::tempdir().unwrap();
        let events = shuffled(5000);
        let (in_memory, no_runs) = sorted_with(&events, usize::MAX, dir.path());
        assert_eq!(no_runs, 0);
        assert_eq!(in_memory.len(), events.len());
        assert!(in_memory.windows(2).all(|w| w[0].time() <= w[1].time()));
        let (spilled, runs) = sorted_with(&events, 4096, dir.path());
        assert!(runs > 10, "{runs} runs");
        assert_eq!(spilled, in_memory);
        // Another order of the same events gives the same sequence.
        let mut reversed = events.clone();
        reversed.reverse();
        assert_eq!(sorted_with(&reversed, 4096, dir.path()).0, in_memory);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "run files are removed"
        );
    }

    fn report_of(fix: &Fix, name: &str) -> VesselReport {
        VesselReport {
            mmsi: fix.mmsi,
            msg_type: fix.msg_type,
            part: None,
            class: Some(fix.class),
            heard: fix.heard.clone(),
            imo: None,
            name: Some(name.into()),
            callsign: None,
            ship_type: Some(80),
            to_bow: None,
            to_stern: None,
            to_port: None,
            to_starboard: None,
            length: Some(120),
            beam: None,
            draught: None,
            destination: None,
            eta: None,
        }
    }

    /// CSV-like rows (a fix and its report) crowded on few vessels and instants, with lone
    /// fixes, reports and heartbeats of the same vessels and instants among them.
    fn crowded(n: u32) -> (Vec<(Fix, VesselReport)>, Vec<AisEvent>) {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let names = ["A", "B", "C", "AB"];
        let (mut rows, mut lone) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let r = next();
            let AisEvent::Fix(mut f) = fix(200_000_000 + (r % 3) as u32, ((r >> 8) % 20) as i64)
            else {
                unreachable!()
            };
            f.lat = ((r >> 16) % 4) as f64;
            let name = names[((r >> 24) % 4) as usize];
            match (r >> 32) % 8 {
                0 => lone.push(AisEvent::VesselReport(report_of(&f, name))),
                1 => lone.push(AisEvent::Fix(f)),
                2 => lone.push(AisEvent::ReceiverHeartbeat(ReceiverHeartbeat {
                    mmsi: f.mmsi,
                    heard: f.heard.clone(),
                    station_time: None,
                    lat: None,
                    lon: None,
                })),
                _ => {
                    let report = report_of(&f, name);
                    rows.push((f, report));
                }
            }
        }
        (rows, lone)
    }

    fn drain(mut sorted: SortedEvents) -> Vec<AisEvent> {
        let mut out = Vec::new();
        while let Some(e) = sorted.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn row_records_give_the_order_of_their_events_own_records() {
        let dir = tempfile::tempdir().unwrap();
        let (rows, lone) = crowded(4000);
        let params = |memory_bytes| SortParams {
            memory_bytes,
            spill_dir: dir.path().to_path_buf(),
            one_pass_lateness_ms: 0,
            engine_parts: 1,
        };
        let mut apart = EventSorter::new(params(usize::MAX));
        for (f, r) in &rows {
            apart.push(&AisEvent::Fix(f.clone())).unwrap();
            apart.push(&AisEvent::VesselReport(r.clone())).unwrap();
        }
        for e in &lone {
            apart.push(e).unwrap();
        }
        let events = apart.stats().events;
        let expected = drain(apart.into_sorted().unwrap());
        for memory_bytes in [usize::MAX, 2048] {
            let mut joined = EventSorter::new(params(memory_bytes));
            let mut record = Vec::new();
            for (f, r) in rows.iter().rev() {
                record.clear();
                record::encode_row(f, &record::ReportFields::of(r), f.heard.line, &mut record);
                joined.push_record(&record, 2).unwrap();
            }
            for e in &lone {
                joined.push(e).unwrap();
            }
            assert_eq!(joined.stats().events, events);
            assert_eq!(memory_bytes == usize::MAX, joined.stats().runs == 0);
            let got = drain(joined.into_sorted().unwrap());
            assert_eq!(got.len(), expected.len());
            assert!(got == expected, "order differs with memory {memory_bytes}");
        }
    }

    #[test]
    fn a_spill_folder_that_cannot_be_written_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not-there");
        let mut sorter = EventSorter::new(SortParams {
            memory_bytes: 1,
            spill_dir: missing.clone(),
            one_pass_lateness_ms: 0,
            engine_parts: 1,
        });
        let error = sorter.push(&fix(200_000_001, 0)).unwrap_err();
        assert!(error.to_string().contains("not-there"), "{error}");
    }
}
