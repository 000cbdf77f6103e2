//! One log or feed's lines, whatever their format: NMEA (with any timestamp carrier) or a CSV
//! export recognised by its header, decoded into the same events and counted the same way.

use std::sync::Arc;

use crate::decode::csv::{CsvDecoder, CsvMap};
use crate::decode::{DecodeOptions, DecodeStats, NmeaDecoder, Reject, RejectNote};
use crate::model::AisEvent;
use crate::time::UnixMillis;

/// Decodes one source's lines; the format is settled by its first line that is not blank.
pub struct FeedDecoder {
    /// Names the source in log lines (a file path, a feed name).
    label: Arc<str>,
    station: Option<Arc<str>>,
    nmea: NmeaDecoder,
    csv: Option<CsvDecoder>,
    /// The first line was a CSV header this decoder could not use: every row is refused.
    csv_unusable: bool,
    /// Counters of CSV rows (the NMEA decoder keeps its own).
    csv_stats: DecodeStats,
    format_known: bool,
    csv_notes: Vec<RejectNote>,
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
            format_known: false,
            csv_notes: Vec::new(),
            csv_maps,
            csv_cells_logged: 0,
        }
    }

    pub fn decode_line(
        &mut self,
        line: &[u8],
        received_at: Option<UnixMillis>,
        out: &mut Vec<AisEvent>,
    ) {
        if !self.format_known {
            if line.iter().all(u8::is_ascii_whitespace) {
                self.nmea.decode_line(line, received_at, out);
                return;
            }
            self.format_known = true;
            let header = String::from_utf8_lossy(line);
            if let Some(map) = CsvMap::find(&header, &self.csv_maps) {
                self.csv_stats.lines += 1;
                self.csv_stats.non_ais_lines += 1;
                match CsvDecoder::with_map(&header, map, self.station.clone()) {
                    Ok(decoder) => {
                        if !decoder.absent_columns().is_empty() {
                            tracing::warn!(source = %self.label, csv_map = map.name(), absent = ?decoder.absent_columns(), "CSV header lacks mapped column(s); those fields stay unknown.");
                        }
                        self.csv = Some(decoder);
                    }
                    Err(error) => {
                        self.csv_unusable = true;
                        tracing::warn!(source = %self.label, csv_map = map.name(), %error, "CSV header not usable; every row will be refused.");
                    }
                }
                return;
            }
        }
        if self.csv.is_none() && !self.csv_unusable {
            self.nmea.decode_line(line, received_at, out);
            return;
        }
        self.csv_stats.lines += 1;
        let row = String::from_utf8_lossy(line);
        if row.trim().is_empty() {
            self.csv_stats.non_ais_lines += 1;
            return;
        }
        let line_number = self.csv_stats.lines;
        let before = out.len();
        let outcome = match &mut self.csv {
            Some(csv) => csv.decode_row(&row, out).map_err(|e| e.to_string()),
            None => Err("the header is not usable".to_string()),
        };
        match outcome {
            Ok(()) => {
                self.csv_stats.messages += 1;
                self.csv_stats.events += (out.len() - before) as u64;
                self.log_unreadable_cells(line_number);
            }
            Err(error) => {
                self.csv_stats.rejects.add(Reject::BadCsvRow, 1);
                tracing::debug!(source = %self.label, line = line_number, %error, "CSV row refused.");
                if self.csv_notes.len() < MAX_CSV_NOTES {
                    self.csv_notes.push(RejectNote {
                        reason: Reject::BadCsvRow,
                        line: line_number,
                        detail: "bad CSV row",
                    });
                }
            }
        }
    }

    /// The first unreadable cells at debug level, with their line; all are counted by column.
    fn log_unreadable_cells(&mut self, line_number: u64) {
        let Some(csv) = &self.csv else { return };
        for error in csv.dropped_cells() {
            if self.csv_cells_logged < MAX_CSV_NOTES {
                self.csv_cells_logged += 1;
                tracing::debug!(source = %self.label, line = line_number, %error, "CSV cell unreadable; row kept without it.");
            }
        }
    }

    pub fn count_line_too_long(&mut self) {
        if self.csv.is_some() {
            self.csv_stats.lines += 1;
            self.csv_stats.rejects.add(Reject::LineTooLong, 1);
        } else {
            self.nmea.count_line_too_long();
        }
    }

    /// End of input: incomplete multi-sentence messages are counted as expired.
    pub fn finish(&mut self) {
        self.nmea.finish();
    }

    /// Multi-sentence messages begun and not yet complete.
    pub fn pending_fragments(&self) -> usize {
        self.nmea.pending_groups()
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

    pub fn stats(&self) -> DecodeStats {
        let mut stats = self.nmea.stats().clone();
        stats.merge(&self.csv_stats);
        if let Some(csv) = &self.csv {
            stats.csv_unreadable_cells.extend(csv.unreadable_cells());
        }
        stats
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

    #[test]
    fn nmea_stays_nmea_whatever_follows() {
        let (events, stats) = decode(&[
            "",
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "MMSI,BaseDateTime,LAT,LON",
        ]);
        assert_eq!(events.len(), 1);
        assert_eq!(stats.rejects.unknown_line, 1);
    }
}
