//! What a log's decoding thread hands to the sort: whole events, and the sort records of CSV
//! rows, encoded as each row is read (a row's fix and report as one row record, see
//! [`crate::record`]) so that a row's text is never copied into owned events. Everything is
//! stamped with the line it came from.

use crate::decode::sink::{EventSink, RowReport};
use crate::model::{AisEvent, Fix, LineRef};
use crate::record;
use crate::time::UnixMillis;

/// One log's decoded output, in the log's own order within each kind.
#[derive(Default)]
pub struct LogBatch {
    pub events: Vec<AisEvent>,
    records: Vec<u8>,
    /// Where each record ends in `records`, and how many events it holds (1, or 2 for a row
    /// record).
    ends: Vec<(usize, u8)>,
    /// The line being decoded.
    line: LineRef,
}

impl LogBatch {
    pub fn with_capacity(items: usize) -> LogBatch {
        LogBatch {
            events: Vec::with_capacity(items),
            records: Vec::with_capacity(items * record::ROW_RECORD_BYTES),
            ends: Vec::with_capacity(items),
            line: LineRef::default(),
        }
    }

    /// What follows comes from this line.
    pub fn at_line(&mut self, line: LineRef) {
        self.line = line;
    }

    /// Marks the events from the `from`th on with the line set by [`LogBatch::at_line`]: the
    /// positions and static reports among them can become evidence and keep their origin
    /// (records are stamped as they are encoded).
    pub fn stamp_events_from(&mut self, from: usize) {
        for event in &mut self.events[from..] {
            event.mark_line(self.line);
        }
    }

    /// Events and records held.
    pub fn len(&self) -> usize {
        self.events.len() + self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many records it holds.
    pub fn record_count(&self) -> usize {
        self.ends.len()
    }

    /// The records from the `from`th on, each with how many events it holds.
    pub fn records_from(&self, from: usize) -> impl Iterator<Item = (&[u8], u64)> {
        let mut start = from.checked_sub(1).map_or(0, |before| self.ends[before].0);
        self.ends[from..].iter().map(move |&(end, events)| {
            let record = &self.records[start..end];
            start = end;
            (record, u64::from(events))
        })
    }

    /// Counts in `order` the timed events of this batch from these positions on, in the order
    /// they were read (a line gives either events or records).
    pub fn observe_order(&self, events_from: usize, records_from: usize, order: &mut LogOrder) {
        for time in self.events[events_from..].iter().filter_map(AisEvent::time) {
            order.observe(time);
        }
        for (bytes, events) in self.records_from(records_from) {
            let time = record::time_of(bytes).expect("a record starts with its time");
            for _ in 0..events {
                order.observe(time);
            }
        }
    }

    fn push_record(&mut self, events: u8) {
        self.ends.push((self.records.len(), events));
    }
}

impl EventSink for LogBatch {
    fn events(&mut self) -> &mut Vec<AisEvent> {
        &mut self.events
    }

    fn row(&mut self, fix: Option<&Fix>, report: Option<RowReport<'_>>) {
        let line = Some(self.line);
        // Untimed events have no record: they go to the engine as events, which counts them.
        let fix = match fix {
            Some(fix) if fix.heard.time.is_none() => {
                let mut fix = fix.clone();
                fix.heard.line = line;
                self.events.push(AisEvent::Fix(fix));
                None
            }
            other => other,
        };
        let report = match report {
            Some(report) if report.heard.time.is_none() => {
                let mut heard = report.heard.clone();
                heard.line = line;
                let RowReport { mmsi, msg_type, .. } = report;
                let event = report.fields.to_report(mmsi, msg_type, heard);
                self.events.push(AisEvent::VesselReport(event));
                None
            }
            other => other,
        };
        // Records are written as read from this line, whatever line the reception names.
        match (fix, report) {
            (Some(fix), Some(report))
                if record::fits_row(fix, report.mmsi, report.msg_type, report.heard) =>
            {
                record::encode_row(fix, &report.fields, line, &mut self.records);
                self.push_record(2);
            }
            (fix, report) => {
                if let Some(fix) = fix {
                    record::encode_fix(fix, line, &mut self.records);
                    self.push_record(1);
                }
                if let Some(r) = report {
                    record::encode_report(
                        r.mmsi,
                        r.msg_type,
                        r.heard,
                        line,
                        &r.fields,
                        &mut self.records,
                    );
                    self.push_record(1);
                }
            }
        }
    }
}

/// Timed events of one log earlier than one before them in the log: what the sort put right.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOrder {
    latest: Option<UnixMillis>,
    pub out_of_order: u64,
}

impl LogOrder {
    fn observe(&mut self, time: UnixMillis) {
        if self.latest.is_some_and(|latest| time < latest) {
            self.out_of_order += 1;
        } else {
            self.latest = Some(time);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::feed::FeedDecoder;
    use crate::decode::DecodeOptions;
    use crate::model::Mmsi;
    use crate::record::RecordReader;

    const FIXTURES: [&str; 4] = [
        include_str!("../../tests/data/csv_marinecadastre.csv"),
        include_str!("../../tests/data/csv_marinecadastre_bad_rows.csv"),
        include_str!("../../tests/data/csv_dma.csv"),
        include_str!("../../tests/data/csv_dma_bad_rows.csv"),
    ];

    fn decoder() -> FeedDecoder {
        let options = DecodeOptions {
            station: Some("csv-test".into()),
            ..DecodeOptions::default()
        };
        FeedDecoder::new(options, "test".into())
    }

    /// Every line into a batch and into a list of events: the batch's events and records,
    /// read back, are the list's events, line by line, stamped the same.
    #[test]
    fn a_batch_holds_the_events_the_decoder_lists() {
        let mut reader = RecordReader::default();
        let (mut rows, mut fused) = (0, 0);
        for (source, text) in FIXTURES.iter().enumerate() {
            let (mut listing, mut batching) = (decoder(), decoder());
            let mut batch = LogBatch::with_capacity(16);
            let (mut order, mut listed_order) = (LogOrder::default(), LogOrder::default());
            for (n, line) in text.lines().enumerate() {
                let at = LineRef {
                    source: source as u32,
                    line: n as u64 + 1,
                    offset: 1000 + n as u64,
                };
                let mut listed = Vec::new();
                listing.decode_line(line.as_bytes(), None, &mut listed);
                for event in &mut listed {
                    event.mark_line(at);
                    if let Some(time) = event.time() {
                        listed_order.observe(time);
                    }
                }
                let (events, records) = (batch.events.len(), batch.record_count());
                batch.at_line(at);
                batching.decode_line_into(line.as_bytes(), None, &mut batch);
                batch.observe_order(events, records, &mut order);
                let mut got: Vec<AisEvent> = batch.events[events..].to_vec();
                for (bytes, count) in batch.records_from(records) {
                    let (first, second) = reader.read_row(bytes).unwrap();
                    assert_eq!(u64::from(second.is_some()) + 1, count);
                    fused += usize::from(second.is_some());
                    got.push(first);
                    got.extend(second);
                }
                rows += usize::from(!listed.is_empty());
                assert_eq!(got, listed, "line {} of fixture {source}", n + 1);
            }
            assert_eq!(batching.stats(), listing.stats());
            assert_eq!(
                order.out_of_order, listed_order.out_of_order,
                "fixture {source}"
            );
        }
        assert!(rows > 15 && fused > 8, "{rows} rows, {fused} row records");
    }

    #[test]
    fn a_row_out_of_time_order_counts_as_its_two_events() {
        let mut decoder = decoder();
        let mut batch = LogBatch::default();
        let mut order = LogOrder::default();
        let header = FIXTURES[0].lines().next().unwrap();
        let row = |time: &str| {
            format!("445118000,{time},42.1,133.6,9.8,322.4,321,PAEK YANG 3,IMO8705271,HMYP3,80,0,96,15,4.1,,A")
        };
        for line in [
            header.to_string(),
            row("2024-03-07T04:12:31"),
            row("2024-03-07T04:10:00"),
        ] {
            let (events, records) = (batch.events.len(), batch.record_count());
            decoder.decode_line_into(line.as_bytes(), None, &mut batch);
            batch.observe_order(events, records, &mut order);
        }
        assert_eq!(batch.record_count(), 2);
        assert_eq!(order.out_of_order, 2);
        let (fix, report) = RecordReader::default()
            .read_row(batch.records_from(1).next().unwrap().0)
            .unwrap();
        assert_eq!(fix.mmsi(), Mmsi(445_118_000));
        assert!(
            matches!(report, Some(AisEvent::VesselReport(r)) if r.name.as_deref() == Some("PAEK YANG 3"))
        );
    }
}
