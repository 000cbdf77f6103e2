//! Puts a replay's events in record order while the logs are still being read, for logs whose
//! lines lag the newest line of their log before them by at most a window of event time. Each
//! log's records queue in record order (they nearly always come in it), and a record goes to
//! the engine once no log can still send one that sorts before it. A record that sorts before
//! one already gone is [`TooLate`]: the replay then sorts every event first ([`super::sort`])
//! and starts again, so neither the window nor the logs' order ever changes the tables.

use std::collections::VecDeque;

use crate::model::AisEvent;
use crate::record::{self, RecordError, RecordReader, KEY_PREFIX};
use crate::stream_clock::{EARLIEST_EVENT, LATEST_EVENT};
use crate::time::UnixMillis;

use super::sort::{key_prefix, WaitingReports};

/// A record that sorts before one the engine already has.
#[derive(Clone, Debug, PartialEq)]
pub struct TooLate {
    /// The log's position on the command line.
    pub log: usize,
    pub time: UnixMillis,
    /// How far it lags the newest event its log had sent before it (ms).
    pub lag_ms: i64,
}

/// Bytes of records gone out a queue keeps before it moves the rest down.
const COMPACT_BYTES: usize = 1 << 20;

/// Queued records a record out of order is compared with from the back, before a search.
const NEAR_BACK: usize = 8;

/// One log's records in record order. They nearly always come in it: a record earlier than
/// the last is put in its place, a short way from the back (lines of one second in another
/// order, a delayed line).
#[derive(Default)]
struct LogQueue {
    bytes: Vec<u8>,
    /// Each queued record's start in `bytes` and its length, in record order.
    entries: VecDeque<(usize, usize)>,
    /// Bytes of the queued records (the rest of `bytes` went out).
    live: usize,
    /// The log's newest event times, newest first (at most [`NEWEST_KEPT`]).
    newest: Vec<i64>,
    done: bool,
}

/// The newest times of a log kept: the oldest of them is how far the log has come, so that
/// one or two lines timed far ahead (a clock a day wrong) do not release everything before
/// the time they claim.
const NEWEST_KEPT: usize = 3;

impl LogQueue {
    fn record(&self, (start, len): (usize, usize)) -> &[u8] {
        &self.bytes[start..start + len]
    }

    fn front(&self) -> Option<&[u8]> {
        self.entries.front().map(|&entry| self.record(entry))
    }

    fn push(&mut self, record: &[u8]) {
        let entry = (self.bytes.len(), record.len());
        self.bytes.extend_from_slice(record);
        self.live += record.len();
        let in_order = self
            .entries
            .back()
            .is_none_or(|&back| self.record(back) <= record);
        if in_order {
            self.entries.push_back(entry);
            return;
        }
        // Most records out of order are lines of the same second in another order: their
        // place is a step or two from the back, where a search over the whole queue would
        // touch memory far away.
        let len = self.entries.len();
        let near = (1..len.min(NEAR_BACK))
            .map(|back| len - 1 - back)
            .find(|&at| self.record(self.entries[at]) <= record)
            .map(|at| at + 1);
        let at = near.unwrap_or_else(|| {
            self.entries
                .partition_point(|&queued| self.record(queued) <= record)
        });
        self.entries.insert(at, entry);
    }

    fn saw(&mut self, time: i64) {
        let at = self.newest.partition_point(|&newer| newer > time);
        if at < NEWEST_KEPT {
            self.newest.insert(at, time);
            self.newest.truncate(NEWEST_KEPT);
        }
    }

    /// How far the log has come: the oldest of its newest times, once it has sent that many.
    fn reached(&self) -> Option<i64> {
        (self.newest.len() == NEWEST_KEPT).then(|| self.newest[NEWEST_KEPT - 1])
    }

    fn pop_front(&mut self) {
        let Some((_, len)) = self.entries.pop_front() else {
            return;
        };
        self.live -= len;
        let gone = self.bytes.len() - self.live;
        if self.entries.is_empty() {
            self.bytes.clear();
        } else if gone >= COMPACT_BYTES && gone >= self.live {
            let mut kept = Vec::with_capacity(self.live.max(COMPACT_BYTES));
            for entry in &mut self.entries {
                let (start, len) = *entry;
                *entry = (kept.len(), len);
                kept.extend_from_slice(&self.bytes[start..start + len]);
            }
            self.bytes = kept;
        }
    }
}

/// The time, MMSI and kind of the last record that went out: an arrival that sorts before it,
/// or has the same, is too late. An arrival of the same key is one the window had let go of
/// already, so beyond the window (or past the memory bound): starting again is right, and
/// keeping only the key spares a copy of every record.
#[derive(Default)]
struct Released {
    key: Option<[u8; KEY_PREFIX + 1]>,
}

impl Released {
    fn is_after(&self, arriving: &[u8]) -> bool {
        self.key
            .as_ref()
            .is_some_and(|key| arriving[..arriving.len().min(KEY_PREFIX + 1)] <= key[..])
    }

    fn record(&mut self, bytes: &[u8]) {
        let mut key = [0u8; KEY_PREFIX + 1];
        let len = bytes.len().min(key.len());
        key[..len].copy_from_slice(&bytes[..len]);
        self.key = Some(key);
    }

    fn report(&mut self, prefix: [u8; KEY_PREFIX]) {
        let mut key = [0u8; KEY_PREFIX + 1];
        key[..KEY_PREFIX].copy_from_slice(&prefix);
        key[KEY_PREFIX] = record::REPORT_RANK;
        self.key = Some(key);
    }
}

/// The events of several logs in record order, released as the logs' progress allows.
pub struct WindowedOrder {
    lateness_ms: i64,
    memory_bytes: usize,
    logs: Vec<LogQueue>,
    waiting: WaitingReports,
    released: Released,
    reader: RecordReader,
    scratch: Vec<u8>,
    events: u64,
    /// Records of times no event can have (before 2000, from 2100): the engine refuses them
    /// whatever came before, so they go out at once, out of order.
    impossible: VecDeque<Vec<u8>>,
    impossible_events: VecDeque<AisEvent>,
}

impl WindowedOrder {
    /// For `logs` logs whose lines lag the newest of their log by at most `lateness_ms`.
    /// Beyond `memory_bytes` held, the earliest record goes out whatever the logs' progress
    /// (a record that then comes before it is too late).
    pub fn new(logs: usize, lateness_ms: i64, memory_bytes: usize) -> WindowedOrder {
        WindowedOrder {
            lateness_ms,
            memory_bytes,
            logs: (0..logs).map(|_| LogQueue::default()).collect(),
            waiting: WaitingReports::default(),
            released: Released::default(),
            reader: RecordReader::default(),
            scratch: Vec::new(),
            events: 0,
            impossible: VecDeque::new(),
            impossible_events: VecDeque::new(),
        }
    }

    /// Timed events taken in.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The log still open that has come the least far (one that sent too little first):
    /// the one to read from, since it holds every other back.
    pub fn laggard(&self) -> Option<usize> {
        self.logs
            .iter()
            .enumerate()
            .filter(|(_, log)| !log.done)
            .min_by_key(|(index, log)| (log.reached(), *index))
            .map(|(index, _)| index)
    }

    /// The log has sent everything.
    pub fn log_done(&mut self, log: usize) {
        self.logs[log].done = true;
    }

    /// Adds a timed event of `log`.
    pub fn push_event(&mut self, log: usize, event: &AisEvent) -> Result<(), TooLate> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        record::encode(event, &mut scratch);
        let pushed = self.push_record(log, &scratch, 1);
        self.scratch = scratch;
        pushed
    }

    /// Adds a record of `log` holding `events` events (see [`crate::record`]).
    pub fn push_record(&mut self, log: usize, bytes: &[u8], events: u64) -> Result<(), TooLate> {
        let time = record::time_of(bytes)
            .expect("a record starts with its time")
            .as_millis();
        self.events += events;
        if !(EARLIEST_EVENT.as_millis()..LATEST_EVENT.as_millis()).contains(&time) {
            // The engine refuses it whenever it comes, and nothing else.
            self.impossible.push_back(bytes.to_vec());
            return Ok(());
        }
        let queue = &mut self.logs[log];
        if self.released.is_after(bytes) {
            return Err(TooLate {
                log,
                time: UnixMillis(time),
                lag_ms: queue.newest.first().map_or(0, |newest| newest - time),
            });
        }
        queue.saw(time);
        queue.push(bytes);
        Ok(())
    }

    /// The time before which no log still open can send an event without being too late.
    fn limit(&self) -> i64 {
        self.logs
            .iter()
            .filter(|log| !log.done)
            .map(|log| {
                log.reached()
                    .map_or(i64::MIN, |reached| reached.saturating_sub(self.lateness_ms))
            })
            .min()
            .unwrap_or(i64::MAX)
    }

    /// The next event in order, once it is sure to be next; `None` until then (or when
    /// everything is out).
    pub fn next_due(&mut self) -> Result<Option<AisEvent>, RecordError> {
        if let Some(event) = self.impossible_events.pop_front() {
            return Ok(Some(event));
        }
        if let Some(bytes) = self.impossible.pop_front() {
            let (event, report) = self.reader.read_row(&bytes)?;
            self.impossible_events.extend(report);
            return Ok(Some(event));
        }
        let limit = self.limit();
        let held: usize = self.logs.iter().map(|log| log.live).sum();
        let forced = held > self.memory_bytes;
        let next = next_log(&self.logs);
        let next_bytes = next.and_then(|log| self.logs[log].front());
        if self.waiting.first_is_due(next_bytes) {
            let time = self
                .waiting
                .first_time()
                .map_or(i64::MIN, |t| t.as_millis());
            if time >= limit && !forced {
                return Ok(None);
            }
            let (prefix, report) = self.waiting.take_first();
            self.released.report(prefix);
            return Ok(Some(report));
        }
        let (Some(next), Some(bytes)) = (next, next_bytes) else {
            return Ok(None);
        };
        let time = record::time_of(bytes).map_or(i64::MIN, |t| t.as_millis());
        if time >= limit && !forced {
            return Ok(None);
        }
        let (event, report) = self.reader.read_row(bytes)?;
        let prefix = key_prefix(bytes);
        self.released.record(bytes);
        self.logs[next].pop_front();
        if let Some(report) = report {
            self.waiting.wait(prefix, report);
        }
        Ok(Some(event))
    }
}

/// The log whose first queued record is the earliest.
fn next_log(logs: &[LogQueue]) -> Option<usize> {
    let mut best: Option<(usize, &[u8])> = None;
    for (index, log) in logs.iter().enumerate() {
        if let Some(front) = log.front() {
            if best.is_none_or(|(_, bytes)| front < bytes) {
                best = Some((index, front));
            }
        }
    }
    best.map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Fix, Heard, Mmsi};
    use crate::offline::sort::{EventSorter, SortParams};

    /// 2023-11-14: the tests' times are seconds after it.
    const START_S: i64 = 1_700_000_000;

    fn fix(mmsi: u32, seconds: i64) -> AisEvent {
        fix_at(mmsi, START_S + seconds)
    }

    fn fix_at(mmsi: u32, unix_seconds: i64) -> AisEvent {
        let heard = Heard {
            time: Some(UnixMillis(unix_seconds * 1000)),
            ..Heard::default()
        };
        AisEvent::Fix(Fix::bare(Mmsi(mmsi), 1, heard, f64::from(mmsi % 90), 133.0))
    }

    /// The events of `logs`, taken in turn from the laggard as a replay does, in the order the
    /// window releases them; or the first that came too late.
    fn through_window(
        logs: &[Vec<AisEvent>],
        lateness_s: i64,
        memory: usize,
    ) -> Result<Vec<AisEvent>, TooLate> {
        let mut order = WindowedOrder::new(logs.len(), lateness_s * 1000, memory);
        let mut read = vec![0; logs.len()];
        let mut out = Vec::new();
        while let Some(log) = order.laggard() {
            // Two events at a time, as batches come.
            for _ in 0..2 {
                match logs[log].get(read[log]) {
                    Some(event) => order.push_event(log, event)?,
                    None => order.log_done(log),
                }
                read[log] += 1;
            }
            while let Some(event) = order.next_due().unwrap() {
                out.push(event);
            }
        }
        Ok(out)
    }

    fn fully_sorted(logs: &[Vec<AisEvent>]) -> Vec<AisEvent> {
        let dir = tempfile::tempdir().unwrap();
        let mut sorter = EventSorter::new(SortParams {
            memory_bytes: 1 << 20,
            spill_dir: dir.path().to_path_buf(),
            one_pass_lateness_ms: 0,
            engine_parts: 1,
        });
        for event in logs.iter().flatten() {
            sorter.push(event).unwrap();
        }
        let mut sorted = sorter.into_sorted().unwrap();
        let mut out = Vec::new();
        while let Some(event) = sorted.next_event().unwrap() {
            out.push(event);
        }
        out
    }

    /// Two receivers' logs of the same hours, each a little out of order (a late line every
    /// tenth, up to 50 s), several vessels heard in the same seconds.
    fn two_receivers() -> Vec<Vec<AisEvent>> {
        (0..2u32)
            .map(|receiver| {
                (0..300i64)
                    .map(|i| {
                        let late = if i % 10 == 7 { 50 } else { 0 };
                        fix(200_000_000 + (i % 7) as u32 + receiver, i * 10 - late)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn logs_late_within_the_window_come_out_as_the_full_sort_gives_them() {
        let logs = two_receivers();
        let expected = fully_sorted(&logs);
        let found = through_window(&logs, 60, 1 << 20).expect("nothing beyond the window");
        assert_eq!(found.len(), 600);
        assert_eq!(found, expected);
    }

    #[test]
    fn a_line_later_than_the_window_is_named_and_nothing_after_it_went_out_of_order() {
        let logs = two_receivers();
        // The window is 5 s behind the third newest line (20 s behind the newest): a line
        // 40 s behind the newest comes after lines of 30 s behind went out.
        let late = through_window(&logs, 5, 1 << 20).expect_err("a 40 s lag beyond 25 s");
        assert_eq!(late.lag_ms, 40_000, "{late:?}");
        assert_eq!(
            (late.time.as_millis() / 1000 - START_S) % 100,
            20,
            "{late:?}"
        );
    }

    #[test]
    fn over_its_memory_the_window_lets_the_earliest_go_and_a_lag_is_then_too_late() {
        let logs = two_receivers();
        // Every record goes out as soon as it comes: the first late line is too late.
        assert!(through_window(&logs, 3600, 1).is_err());
        // In order, memory does not matter.
        let in_order: Vec<Vec<AisEvent>> = vec![(0..100).map(|i| fix(200_000_001, i)).collect()];
        assert_eq!(
            through_window(&in_order, 3600, 1).unwrap(),
            fully_sorted(&in_order)
        );
    }

    #[test]
    fn a_line_timed_a_day_ahead_or_in_2100_releases_nothing_early() {
        let mut log: Vec<AisEvent> = (0..300).map(|i| fix(200_000_004, i * 10)).collect();
        // A day ahead: held until its time comes, as the full sort places it.
        log.insert(50, fix(200_000_005, 86_400 + 500));
        // From 2100 and before 2000: refused by the engine wherever they come.
        log.insert(100, fix_at(200_000_006, 4_200_000_000));
        log.insert(120, fix_at(200_000_007, 900_000_000));
        // Lines 40 s late after each: within a minute's window.
        for at in [52, 103, 124] {
            let before = log[at - 1].time().unwrap().as_millis() / 1000;
            let late = fix_at(200_000_008, before - 40);
            log.insert(at, late);
        }
        let logs = vec![log];
        let found = through_window(&logs, 60, 1 << 20).expect("nothing beyond the window");
        let expected = fully_sorted(&logs);
        let possible = |e: &&AisEvent| (EARLIEST_EVENT..LATEST_EVENT).contains(&e.time().unwrap());
        assert_eq!(
            found.iter().filter(possible).collect::<Vec<_>>(),
            expected.iter().filter(possible).collect::<Vec<_>>()
        );
        assert_eq!(found.len(), expected.len());
    }

    #[test]
    fn a_queue_keeps_records_in_order_whatever_order_they_come_in() {
        // Near the back, far from it, equal ones, and enough bytes gone to move the rest.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut queue = LogQueue::default();
        let mut held = std::collections::BTreeMap::<Vec<u8>, usize>::new();
        let take = |queue: &mut LogQueue, held: &mut std::collections::BTreeMap<_, _>| {
            let front = queue.front().unwrap().to_vec();
            let (least, count) = held.iter_mut().next().unwrap();
            assert_eq!(&front, least, "the queue's front is the least record held");
            *count -= 1;
            if *count == 0 {
                held.remove(&front);
            }
            queue.pop_front();
        };
        for i in 0..40_000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let lag = match state % 10 {
                0 => state % 5000,
                1..=3 => state % 4,
                _ => 0,
            };
            let mut record = i.saturating_sub(lag).to_be_bytes().to_vec();
            record.extend_from_slice(&[(state % 3) as u8; 40]);
            queue.push(&record);
            *held.entry(record).or_default() += 1;
            if i % 3 == 0 && i > 6000 {
                take(&mut queue, &mut held);
            }
        }
        while !held.is_empty() {
            take(&mut queue, &mut held);
        }
        assert!(queue.front().is_none());
        assert!(queue.bytes.is_empty() && queue.live == 0);
    }

    #[test]
    fn a_log_that_starts_later_waits_for_the_earlier_one() {
        let logs = vec![
            (100..200).map(|i| fix(200_000_002, i)).collect::<Vec<_>>(),
            (0..100).map(|i| fix(200_000_003, i)).collect::<Vec<_>>(),
        ];
        let found = through_window(&logs, 5, 1 << 20).expect("each log in order");
        assert_eq!(found, fully_sorted(&logs));
    }
}
