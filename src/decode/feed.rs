//! One log or feed's lines, whatever their format: NMEA (with any timestamp carrier) or a CSV
//! export recognised by its header, decoded into the same events and counted the same way.
//!
//! The format is settled by the first line that is not blank, and each later line still goes
//! to the decoder of its own shape: logs concatenated from NMEA and CSV files are read whole,
//! with a warning naming the line where the format switches. A file (see
//! [`FeedDecoder::refusing_unrecognised`]) whose first lines hold neither an NMEA sentence nor
//! a known CSV header is refused, named with its first line, instead of being counted as
//! thousands of rejects.

use std::fmt;
use std::sync::Arc;

use crate::decode::csv::{CsvDecoder, CsvMap};
use crate::decode::sink::EventSink;
use crate::decode::{DecodeOptions, DecodeStats, NmeaDecoder, Reject, RejectNote};
use crate::model::AisEvent;
use crate::time::UnixMillis;

/// How many non-blank lines of a file are read before it is refused for holding no NMEA
/// sentence and no known CSV header: enough for a receiver's start-up chatter, few enough that
/// a wrong file costs nothing.
pub const RECOGNITION_LINES: u64 = 200;

/// How long the excerpt of a line quoted in a warning or refusal is, in characters.
const EXCERPT_CHARS: usize = 60;

/// The shapes of line a source can switch between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    Nmea,
    Csv,
    /// Comma-separated rows with no header before them: they cannot be read without one, and
    /// are counted as bad CSV rows.
    CsvWithoutHeader,
}

impl fmt::Display for LineFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineFormat::Nmea => "NMEA",
            LineFormat::Csv => "CSV",
            LineFormat::CsvWithoutHeader => "CSV rows without a header",
        })
    }
}

/// A file refused because its format was not recognised.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{log}:{line}: format not recognised: no NMEA sentence and no known CSV header in {probed} \
     non-blank line(s), the first {excerpt:?}{hint}"
)]
pub struct FormatRefusal {
    pub log: Arc<str>,
    /// The first non-blank line, 1-based.
    pub line: u64,
    pub excerpt: String,
    pub probed: u64,
    /// What the first line looks like, when that can be told (binary data, JSON, a CSV header).
    pub hint: &'static str,
}

/// A source whose lines change format part-way; the first line of the new format is named.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{log}:{line}: switches from {from} to {to} here: {excerpt:?}")]
pub struct FormatSwitch {
    pub log: Arc<str>,
    pub line: u64,
    pub from: LineFormat,
    pub to: LineFormat,
    pub excerpt: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Only blank lines so far.
    Unsettled,
    Nmea,
    Csv,
}

/// The first non-blank line of a source, while none is recognised yet.
struct FirstLine {
    line: u64,
    excerpt: String,
    hint: &'static str,
}

/// Decodes one source's lines; the format is settled by its first line that is not blank.
pub struct FeedDecoder {
    /// Names the source in log lines (a file path, a feed name).
    label: Arc<str>,
    station: Option<Arc<str>>,
    nmea: NmeaDecoder,
    csv: Option<CsvDecoder>,
    /// The CSV header in force could not be used: every row is refused.
    csv_unusable: bool,
    /// Counters of CSV rows (the NMEA decoder keeps its own).
    csv_stats: DecodeStats,
    mode: Mode,
    csv_notes: Vec<RejectNote>,
    /// Physical lines handed in, for the `file:line` of notes.
    line: u64,
    /// Refuse after this many unrecognised non-blank lines; 0 never refuses (live feeds).
    recognition_lines: u64,
    /// An NMEA sentence or a known CSV header has been seen.
    recognised: bool,
    unrecognised_lines: u64,
    first_line: Option<FirstLine>,
    refusal: Option<FormatRefusal>,
    switches: Vec<FormatSwitch>,
    /// Configured mappings first, then the built-in layouts.
    csv_maps: Vec<CsvMap>,
    /// Unreadable cells logged so far (all are counted).
    csv_cells_logged: usize,
}

const MAX_CSV_NOTES: usize = 64;

impl FeedDecoder {
    pub fn new(mut options: DecodeOptions, label: Arc<str>) -> FeedDecoder {
        let mut csv_maps = std::mem::take(&mut options.csv_maps);
        csv_maps.extend(CsvMap::presets());
        FeedDecoder {
            label,
            station: options.station.clone(),
            nmea: NmeaDecoder::new(options),
            csv: None,
            csv_unusable: false,
            csv_stats: DecodeStats::default(),
            mode: Mode::Unsettled,
            csv_notes: Vec::new(),
            line: 0,
            recognition_lines: 0,
            recognised: false,
            unrecognised_lines: 0,
            first_line: None,
            refusal: None,
            switches: Vec::new(),
            csv_maps,
            csv_cells_logged: 0,
        }
    }

    /// For files: refuses the source when its first `lines` non-blank lines (or all of them,
    /// if it has fewer) hold no NMEA sentence and no known CSV header. Once refused, it
    /// ignores every further line; see [`FeedDecoder::refusal`].
    pub fn refusing_unrecognised(mut self, lines: u64) -> FeedDecoder {
        self.recognition_lines = lines;
        self
    }

    pub fn decode_line(
        &mut self,
        line: &[u8],
        received_at: Option<UnixMillis>,
        out: &mut Vec<AisEvent>,
    ) {
        self.decode_line_into(line, received_at, out);
    }

    /// [`FeedDecoder::decode_line`] into any sink: a CSV row's fix and report reach it as
    /// the row is read.
    pub fn decode_line_into<S: EventSink + ?Sized>(
        &mut self,
        line: &[u8],
        received_at: Option<UnixMillis>,
        out: &mut S,
    ) {
        self.line += 1;
        if self.refusal.is_some() {
            return;
        }
        match self.mode {
            // The hot path: a sentence or tag block in an NMEA source.
            Mode::Nmea if matches!(line.first(), Some(b'!' | b'\\')) => {
                self.nmea.decode_line(line, received_at, out.events())
            }
            Mode::Csv => self.line_of_csv_source(line, received_at, out),
            Mode::Nmea | Mode::Unsettled => self.line_of_nmea_source(line, received_at, out),
        }
        if !self.recognised && self.recognition_lines > 0 {
            self.probe(line);
        }
    }

    fn line_of_nmea_source<S: EventSink + ?Sized>(
        &mut self,
        line: &[u8],
        received_at: Option<UnixMillis>,
        out: &mut S,
    ) {
        let text = line.trim_ascii_start();
        if text.is_empty() {
            self.nmea.decode_line(line, received_at, out.events());
            return;
        }
        if !starts_sentence(text) && !has_ais_sentence(line) {
            if let Some(map) = self.csv_header(line) {
                if self.mode == Mode::Nmea {
                    self.note_switch(LineFormat::Nmea, LineFormat::Csv, line);
                }
                self.start_csv(line, &map);
                return;
            }
            if self.mode == Mode::Nmea && looks_like_csv_row(text) {
                if self.csv.is_some() || self.csv_unusable {
                    // Back to the rows of the header seen before.
                    self.note_switch(LineFormat::Nmea, LineFormat::Csv, line);
                    self.mode = Mode::Csv;
                    self.line_of_csv_source(line, received_at, out);
                    return;
                }
                self.note_switch(LineFormat::Nmea, LineFormat::CsvWithoutHeader, line);
                self.csv_stats.lines += 1;
                self.refuse_csv_row("CSV row without a header");
                return;
            }
        }
        self.mode = Mode::Nmea;
        self.nmea.decode_line(line, received_at, out.events());
    }

    fn line_of_csv_source<S: EventSink + ?Sized>(
        &mut self,
        line: &[u8],
        received_at: Option<UnixMillis>,
        out: &mut S,
    ) {
        let text = line.trim_ascii_start();
        if starts_sentence(text) || has_ais_sentence(line) {
            // Later lines are judged as NMEA, as a concatenated NMEA log's noise should be.
            self.note_switch(LineFormat::Csv, LineFormat::Nmea, line);
            self.mode = Mode::Nmea;
            self.nmea.decode_line(line, received_at, out.events());
            return;
        }
        self.csv_stats.lines += 1;
        // Nearly every row is valid UTF-8, which the plain validator checks faster than the
        // lossy conversion does.
        let row = match std::str::from_utf8(line) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        if row.trim().is_empty() {
            self.csv_stats.non_ais_lines += 1;
            return;
        }
        let outcome = match &mut self.csv {
            Some(csv) => csv.decode_row_into(&row, out).map_err(|e| e.to_string()),
            None => Err("the header is not usable".to_string()),
        };
        match outcome {
            Ok(events) => {
                self.csv_stats.messages += 1;
                self.csv_stats.events += events as u64;
                self.log_unreadable_cells();
            }
            Err(error) => {
                // Exports concatenated with their headers: the next header starts its layout.
                if let Some(map) = self.csv_header(line) {
                    self.csv_stats.lines -= 1;
                    self.start_csv(line, &map);
                    return;
                }
                tracing::debug!(source = %self.label, line = self.line, %error, "CSV row refused.");
                self.refuse_csv_row("bad CSV row");
            }
        }
    }

    /// The mapping (configured first, then the built-in layouts) a header line matches.
    fn csv_header(&self, line: &[u8]) -> Option<CsvMap> {
        CsvMap::find(&String::from_utf8_lossy(line), &self.csv_maps).cloned()
    }

    /// A header line that `map` recognises: CSV rows follow, read by its columns.
    fn start_csv(&mut self, line: &[u8], map: &CsvMap) {
        self.mode = Mode::Csv;
        self.recognised = true;
        self.csv_stats.lines += 1;
        self.csv_stats.non_ais_lines += 1;
        let header = String::from_utf8_lossy(line);
        match CsvDecoder::with_map(&header, map, self.station.clone()) {
            Ok(decoder) => {
                if !decoder.absent_columns().is_empty() {
                    tracing::warn!(source = %self.label, csv_map = map.name(), absent = ?decoder.absent_columns(), "CSV header lacks mapped column(s); those fields stay unknown.");
                }
                self.csv = Some(decoder);
                self.csv_unusable = false;
            }
            Err(error) => {
                self.csv = None;
                self.csv_unusable = true;
                tracing::warn!(source = %self.label, line = self.line, csv_map = map.name(), %error, "CSV header not usable; every row will be refused.");
            }
        }
    }

    /// The first unreadable cells at debug level, with their line; all are counted by column.
    fn log_unreadable_cells(&mut self) {
        let Some(csv) = &self.csv else { return };
        for error in csv.dropped_cells() {
            if self.csv_cells_logged < MAX_CSV_NOTES {
                self.csv_cells_logged += 1;
                tracing::debug!(source = %self.label, line = self.line, %error, "CSV cell unreadable; row kept without it.");
            }
        }
    }

    fn refuse_csv_row(&mut self, detail: &'static str) {
        self.csv_stats.rejects.add(Reject::BadCsvRow, 1);
        if self.csv_notes.len() < MAX_CSV_NOTES {
            self.csv_notes.push(RejectNote {
                reason: Reject::BadCsvRow,
                line: self.line,
                detail,
            });
        }
    }

    /// Warns of the first switch of each kind; the lines themselves are counted by the decoder
    /// of their format.
    fn note_switch(&mut self, from: LineFormat, to: LineFormat, line: &[u8]) {
        if self.switches.iter().any(|s| s.from == from && s.to == to) {
            return;
        }
        let switch = FormatSwitch {
            log: self.label.clone(),
            line: self.line,
            from,
            to,
            excerpt: excerpt(line),
        };
        tracing::warn!(source = %self.label, line = self.line, %from, %to, "{switch}.");
        self.switches.push(switch);
    }

    /// Looks at one more line of a source not yet recognised.
    fn probe(&mut self, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if is_nmea_sentence(line) {
            self.recognised = true;
            return;
        }
        self.count_unrecognised(|| (excerpt(line), hint(line)));
    }

    fn count_unrecognised(&mut self, first: impl FnOnce() -> (String, &'static str)) {
        self.unrecognised_lines += 1;
        if self.first_line.is_none() {
            let (excerpt, hint) = first();
            self.first_line = Some(FirstLine {
                line: self.line,
                excerpt,
                hint,
            });
        }
        if self.unrecognised_lines >= self.recognition_lines {
            self.refuse();
        }
    }

    fn refuse(&mut self) {
        let Some(first) = &self.first_line else {
            return;
        };
        self.refusal = Some(FormatRefusal {
            log: self.label.clone(),
            line: first.line,
            excerpt: first.excerpt.clone(),
            probed: self.unrecognised_lines,
            hint: first.hint,
        });
    }

    pub fn count_line_too_long(&mut self) {
        self.line += 1;
        if self.refusal.is_some() {
            return;
        }
        if self.mode == Mode::Csv {
            self.csv_stats.lines += 1;
            self.csv_stats.rejects.add(Reject::LineTooLong, 1);
        } else {
            self.nmea.count_line_too_long();
        }
        if !self.recognised && self.recognition_lines > 0 {
            self.count_unrecognised(|| {
                (
                    "(a line over the length limit)".to_string(),
                    " (binary data or not line-based?)",
                )
            });
        }
    }

    /// End of input: incomplete multi-sentence messages are counted as expired, and a file
    /// with fewer lines than the recognition window is judged on the lines it has.
    pub fn finish(&mut self) {
        self.nmea.finish();
        if !self.recognised && self.recognition_lines > 0 && self.refusal.is_none() {
            self.refuse();
        }
    }

    /// Why the source was refused, once it was: its lines are then neither decoded nor counted.
    pub fn refusal(&self) -> Option<&FormatRefusal> {
        self.refusal.as_ref()
    }

    /// The first switch of each kind between formats, in the order they happened.
    pub fn format_switches(&self) -> &[FormatSwitch] {
        &self.switches
    }

    /// Messages timed by the moment their line was received, so far.
    pub fn timed_by_received(&self) -> u64 {
        self.nmea.stats().clock.timed_by_received
    }

    /// Once the source's clock has shown (a message carried it): how far it lags reception,
    /// when live messages measured that.
    pub fn shown_clock(&self) -> Option<Option<i64>> {
        self.nmea.source_clock().map(|_| self.nmea.source_lag_ms())
    }

    /// See [`NmeaDecoder::count_moved_onto_source_clock`].
    pub fn count_moved_onto_source_clock(&mut self, messages: u64) {
        self.nmea.count_moved_onto_source_clock(messages);
    }

    /// Multi-sentence messages begun and not yet complete.
    pub fn pending_fragments(&self) -> usize {
        self.nmea.pending_groups()
    }

    /// How many NMEA lines back each message begun and not yet complete began (0: on the last
    /// one): what a restart must read again, unseen by the counters, to complete them.
    pub fn pending_fragments_begun_lines_back(&self) -> Vec<u64> {
        self.nmea.pending_groups_begun_lines_back()
    }

    pub fn has_reject_notes(&self) -> bool {
        self.nmea.has_reject_notes() || !self.csv_notes.is_empty()
    }

    /// Refusals since the last call, with line numbers, for logging.
    pub fn take_reject_notes(&mut self) -> Vec<RejectNote> {
        let mut notes: Vec<RejectNote> = self.nmea.take_reject_notes().collect();
        notes.append(&mut self.csv_notes);
        notes
    }

    /// What was decoded and refused. A refused source counts nothing: it is reported as
    /// refused, not as the rejects of the lines it took to tell.
    pub fn stats(&self) -> DecodeStats {
        if self.refusal.is_some() {
            return DecodeStats::default();
        }
        let mut stats = self.nmea.stats().clone();
        stats.merge(&self.csv_stats);
        if let Some(csv) = &self.csv {
            stats.csv_unreadable_cells.extend(csv.unreadable_cells());
        }
        stats
    }
}

/// A line that begins like NMEA: a sentence (`!`, `$`) or a tag block (`\`).
fn starts_sentence(text: &[u8]) -> bool {
    matches!(text.first(), Some(b'!' | b'$' | b'\\'))
}

/// Whether the line holds an AIS sentence anywhere (`!xxVDM,` / `!xxVDO,`, any talker): logs
/// put times and receiver names before or after it.
fn has_ais_sentence(line: &[u8]) -> bool {
    // Most lines of a CSV export hold neither mark: one word-at-a-time scan says so.
    if crate::bytes::find_either(line, b'!', b'$').is_none() {
        return false;
    }
    line.iter().enumerate().any(|(at, &b)| {
        matches!(b, b'!' | b'$') && matches!(line.get(at + 3..at + 7), Some(b"VDM," | b"VDO,"))
    })
}

/// An AIS sentence, or any NMEA sentence or tag block with its `*hh` checksum.
fn is_nmea_sentence(line: &[u8]) -> bool {
    if has_ais_sentence(line) {
        return true;
    }
    starts_sentence(line.trim_ascii_start())
        && line
            .windows(3)
            .any(|w| w[0] == b'*' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// A row of at least four comma-separated fields of text (line noise is not a row).
fn looks_like_csv_row(text: &[u8]) -> bool {
    text.iter().filter(|&&b| b == b',').count() >= 3 && !is_binary(text)
}

fn is_binary(line: &[u8]) -> bool {
    std::str::from_utf8(line).is_err()
        || line
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\r'))
}

/// The start of a line, as text, for a warning.
fn excerpt(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// What an unrecognised line looks like, when it can be told.
fn hint(line: &[u8]) -> &'static str {
    let text = line.trim_ascii();
    if is_binary(line) {
        " (binary data: a compressed or packed format other than gzip?)"
    } else if matches!(text.first(), Some(b'{' | b'[')) {
        " (JSON, which is not an AIS format aisgap reads)"
    } else if text.iter().any(|b| matches!(b, b',' | b';' | b'\t' | b'|')) {
        " (delimited text: a CSV export whose header no known layout matches? name its columns with --csv-map FILE or a [[csv_map]] section)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AisEvent;

    fn decode(lines: &[&str]) -> (Vec<AisEvent>, DecodeStats) {
        let mut decoder = FeedDecoder::new(DecodeOptions::default(), "test".into());
        let mut events = Vec::new();
        for line in lines {
            decoder.decode_line(line.as_bytes(), None, &mut events);
        }
        decoder.finish();
        (events, decoder.stats())
    }

    #[test]
    fn a_csv_header_switches_the_source_to_csv_rows() {
        let (events, stats) = decode(&[
            "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass",
            "445114000,2024-03-06T13:05:12,42.25,133.41,11.2,44.0,45,UN BYOL 2,IMO8914934,HMYU7,81,0,95,14,3.6,,A",
            "445114000,not a time,42.25,133.41,11.2,44.0,45,UN BYOL 2,IMO8914934,HMYU7,81,0,95,14,3.6,,A",
        ]);
        assert!(matches!(events[0], AisEvent::Fix(_)), "{events:?}");
        assert!(events
            .iter()
            .any(|e| matches!(e, AisEvent::VesselReport(_))));
        assert_eq!((stats.lines, stats.rejects.bad_csv_row), (3, 1));
    }

    const SENTENCE: &str = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A";
    const HEADER: &str = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass";
    const ROW: &str = "445114000,2024-03-06T13:05:12,42.25,133.41,11.2,44.0,45,UN BYOL 2,IMO8914934,HMYU7,81,0,95,14,3.6,,A";

    fn file_decoder() -> FeedDecoder {
        FeedDecoder::new(DecodeOptions::default(), "log.txt".into()).refusing_unrecognised(5)
    }

    fn feed(decoder: &mut FeedDecoder, lines: &[&str]) -> Vec<AisEvent> {
        let mut events = Vec::new();
        for line in lines {
            decoder.decode_line(line.as_bytes(), None, &mut events);
        }
        decoder.finish();
        events
    }

    #[test]
    fn a_csv_header_after_nmea_switches_to_csv_with_a_warning() {
        let mut decoder = file_decoder();
        let events = feed(&mut decoder, &["", SENTENCE, HEADER, ROW, SENTENCE, ROW]);
        let stats = decoder.stats();
        // The last row goes back to the header's layout; each kind of switch is named once.
        assert_eq!((stats.lines, stats.messages, stats.rejected()), (6, 4, 0));
        assert!(events.iter().any(|e| e.mmsi().0 == 445114000));
        let switches = decoder.format_switches();
        assert_eq!(switches.len(), 2, "{switches:?}");
        assert_eq!(
            (switches[0].line, switches[0].from, switches[0].to),
            (3, LineFormat::Nmea, LineFormat::Csv)
        );
        assert_eq!(
            (switches[1].line, switches[1].from, switches[1].to),
            (5, LineFormat::Csv, LineFormat::Nmea)
        );
        assert!(switches[0]
            .to_string()
            .starts_with("log.txt:3: switches from NMEA to CSV here: \"MMSI,BaseDateTime"));
        assert!(decoder.refusal().is_none());
    }

    #[test]
    fn headerless_rows_in_an_nmea_log_are_counted_as_bad_csv_rows() {
        let mut decoder = file_decoder();
        feed(&mut decoder, &[SENTENCE, ROW, ROW, "# a comment"]);
        let stats = decoder.stats();
        assert_eq!(stats.rejects.bad_csv_row, 2);
        assert_eq!(stats.rejects.unknown_line, 0, "{stats:?}");
        assert_eq!(stats.lines, 4);
        let switches = decoder.format_switches();
        assert_eq!(switches.len(), 1);
        assert_eq!(
            (switches[0].line, switches[0].to),
            (2, LineFormat::CsvWithoutHeader)
        );
    }

    #[test]
    fn a_file_without_any_sentence_or_known_header_is_refused_with_its_first_line() {
        let json = r#"{"mmsi": 445114000, "lat": 42.25, "lon": 133.41}"#;
        let cases: [(&[&str], u64, &str); 4] = [
            (&["", json, json, json, json, json, json, json], 2, "JSON"),
            (&["time;mmsi;lat;lon", "1;2;3;4"], 1, "CSV export"),
            (&["\u{1}\u{2}binary\u{0}", "x"], 1, "binary"),
            (&["hello", "world"], 1, ""),
        ];
        for (lines, line, hint) in cases {
            let mut decoder = file_decoder();
            let events = feed(&mut decoder, lines);
            assert!(events.is_empty());
            let refusal = decoder
                .refusal()
                .unwrap_or_else(|| panic!("{lines:?} refused"));
            assert_eq!(refusal.line, line, "{refusal}");
            assert!(refusal.hint.contains(hint), "{refusal}");
            assert!(refusal
                .to_string()
                .starts_with(&format!("log.txt:{line}: format not recognised")));
            // Reported as refused, not as one reject per line of a long wrong file.
            assert_eq!(decoder.stats(), DecodeStats::default());
        }
        let mut decoder = file_decoder();
        let long: Vec<&str> = std::iter::repeat_n("not ais", 1000).collect();
        feed(&mut decoder, &long);
        assert_eq!(decoder.refusal().map(|r| r.probed), Some(5));
    }

    #[test]
    fn a_sentence_within_the_window_is_enough_and_live_feeds_are_never_refused() {
        let start = [
            "junk",
            "$GPZDA,120000.00,06,03,2024,00,00*6B",
            "junk",
            SENTENCE,
        ];
        let mut decoder = file_decoder();
        assert_eq!(feed(&mut decoder, &start).len(), 1);
        assert!(decoder.refusal().is_none());
        let leading_time = format!("1709730000.123 {SENTENCE}");
        let mut decoder = file_decoder();
        assert_eq!(feed(&mut decoder, &[leading_time.as_str()]).len(), 1);
        assert!(decoder.refusal().is_none());
        let mut live = FeedDecoder::new(DecodeOptions::default(), "feed".into());
        let mut lines: Vec<&str> = std::iter::repeat_n("junk", 500).collect();
        lines.push(SENTENCE);
        assert_eq!(feed(&mut live, &lines).len(), 1);
        assert!(live.refusal().is_none());
        let mut empty = file_decoder();
        feed(&mut empty, &["", " "]);
        assert!(
            empty.refusal().is_none(),
            "an empty file has nothing to refuse"
        );
    }
}
