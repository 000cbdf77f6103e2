//! One log or feed's lines, whatever their format: NMEA (with any timestamp carrier) or a CSV
//! export recognised by its header, decoded into the same events.

use std::sync::Arc;

use crate::config::Config;
use crate::decode::csv::{CsvDecoder, CsvDialect};
use crate::decode::{DecodeOptions, DecodeStats, NmeaDecoder, Reject};
use crate::model::AisEvent;
use crate::time::UnixMillis;

/// Decodes one source's lines; the format is settled by the first line that is not blank.
pub struct LogDecoder {
    nmea: NmeaDecoder,
    csv: Option<CsvDecoder>,
    /// Statistics of CSV rows (the NMEA decoder keeps its own).
    csv_stats: DecodeStats,
    format_known: bool,
    station: Option<Arc<str>>,
}

impl LogDecoder {
    pub fn new(config: &Config, station: Option<Arc<str>>) -> LogDecoder {
        LogDecoder::with_options(DecodeOptions {
            station: station.clone(),
            trust_data_time: true,
            fragment_timeout_ms: i64::from(config.decode.fragment_timeout_s) * 1000,
            max_pending_groups: config.decode.max_pending_fragments,
        })
    }

    pub fn with_options(options: DecodeOptions) -> LogDecoder {
        LogDecoder {
            station: options.station.clone(),
            nmea: NmeaDecoder::new(options),
            csv: None,
            csv_stats: DecodeStats::default(),
            format_known: false,
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
            if CsvDialect::detect(&header).is_some() {
                self.csv_stats.lines += 1;
                self.csv_stats.non_ais_lines += 1;
                match CsvDecoder::new(&header, self.station.clone()) {
                    Ok(decoder) => self.csv = Some(decoder),
                    Err(error) => {
                        tracing::warn!(%error, "CSV header not usable; rows will be rejected.");
                    }
                }
                return;
            }
        }
        match &mut self.csv {
            Some(csv) => {
                self.csv_stats.lines += 1;
                let before = out.len();
                let row = String::from_utf8_lossy(line);
                if row.trim().is_empty() {
                    self.csv_stats.non_ais_lines += 1;
                    return;
                }
                match csv.decode_row(&row, out) {
                    Ok(()) => {
                        self.csv_stats.messages += 1;
                        self.csv_stats.events += (out.len() - before) as u64;
                    }
                    Err(error) => {
                        self.csv_stats.rejects.add(Reject::BadCsvRow, 1);
                        tracing::debug!(line = self.csv_stats.lines, %error, "CSV row rejected.");
                    }
                }
            }
            None => self.nmea.decode_line(line, received_at, out),
        }
    }

    pub fn count_line_too_long(&mut self) {
        self.nmea.count_line_too_long();
    }

    /// End of input: incomplete multi-sentence messages are counted as expired.
    pub fn finish(&mut self, _out: &mut Vec<AisEvent>) {
        self.nmea.finish();
    }

    pub fn stats(&self) -> DecodeStats {
        let mut stats = self.nmea.stats().clone();
        stats.merge(&self.csv_stats);
        stats
    }
}
