//! `aisgap decode`: reads logs (NMEA or CSV exports) line by line through one decoder per file, writes one
//! record per event (JSON lines or CSV) and a summary of what was read and refused.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{DecodeArgs, RecordFormat};
use crate::config::{load_csv_map_file, ConfigErrors};
use crate::decode::clock::ClockStats;
use crate::decode::feed::{FeedDecoder, FormatRefusal, RECOGNITION_LINES};
use crate::decode::{DecodeOptions, DecodeStats};
use crate::model::{AisEvent, StationKind, TransceiverClass};
use crate::offline::{input, jsonl};
use crate::source::file::{self, Line, LineReader, OpenError};

#[derive(Debug, thiserror::Error)]
pub enum DecodeCommandError {
    #[error(transparent)]
    Source(#[from] OpenError),
    #[error("reading {path} after line {line}")]
    Read {
        path: PathBuf,
        line: u64,
        #[source]
        source: io::Error,
    },
    #[error("writing records")]
    Write(#[source] io::Error),
    #[error("CSV mapping: {0}")]
    CsvMap(#[from] ConfigErrors),
    /// Files whose format was not recognised; the others were decoded.
    #[error("{}", refused.iter().map(|r| format!("refused {r}")).collect::<Vec<_>>().join("; "))]
    Refused { refused: Vec<FormatRefusal> },
}

/// The CSV columns, in order. Empty cells are "not available" / "not in this message".
pub const CSV_HEADER: &str = "kind,mmsi,station_kind,msg_type,time,time_source,station,channel,\
class,lat,lon,sog,cog,heading,nav_status,turn,accuracy,raim,second,part,imo,name,callsign,\
ship_type,to_bow,to_stern,to_port,to_starboard,length,beam,draught,destination,eta,station_time";

/// Decodes every file of `args` in order, writing records to `out` (unless `--summary`) and
/// the summary to `summary`. Returns the merged counters.
pub fn run(
    args: &DecodeArgs,
    out: &mut dyn Write,
    summary: &mut dyn Write,
) -> Result<DecodeStats, DecodeCommandError> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    if !args.summary && args.format == RecordFormat::Csv {
        writeln!(out, "{CSV_HEADER}").map_err(DecodeCommandError::Write)?;
    }
    let csv_maps = match &args.csv_map {
        Some(path) => vec![load_csv_map_file(path)?],
        None => Vec::new(),
    };
    let options = DecodeOptions {
        station: args.station.as_deref().map(Arc::from),
        csv_maps,
        ..DecodeOptions::default()
    };
    let mut total = DecodeStats::default();
    let mut refused = Vec::new();
    for path in &args.files {
        let (stats, refusal) = decode_file(path, args, options.clone(), &mut out)?;
        total.merge(&stats);
        refused.extend(refusal);
    }
    out.flush().map_err(DecodeCommandError::Write)?;
    write_summary(summary, args.files.len(), &total).map_err(DecodeCommandError::Write)?;
    if !refused.is_empty() {
        return Err(DecodeCommandError::Refused { refused });
    }
    Ok(total)
}

fn decode_file(
    path: &Path,
    args: &DecodeArgs,
    options: DecodeOptions,
    out: &mut impl Write,
) -> Result<(DecodeStats, Option<FormatRefusal>), DecodeCommandError> {
    let mut reader = LineReader::new(file::open(path)?, args.max_line_length);
    let mut decoder = FeedDecoder::new(options, path.display().to_string().into())
        .refusing_unrecognised(RECOGNITION_LINES);
    let mut events = Vec::with_capacity(8);
    let mut csv_line = String::with_capacity(256);
    let mut json_line = jsonl::RecordChunk::with_capacity(JSON_CHUNK);
    loop {
        let line = match reader.next_line() {
            Ok(line) => line,
            Err(source) => {
                // What was decoded before the failure is still written.
                out.write_all(json_line.as_bytes())
                    .map_err(DecodeCommandError::Write)?;
                return Err(DecodeCommandError::Read {
                    path: path.to_path_buf(),
                    line: decoder.stats().lines,
                    source,
                });
            }
        };
        match line {
            None => break,
            Some(Line::Text(bytes)) => decoder.decode_line(bytes, None, &mut events),
            Some(Line::TooLong { .. }) => decoder.count_line_too_long(),
        }
        if decoder.has_reject_notes() {
            input::log_rejects(path, &mut decoder);
        }
        if !args.summary {
            for event in &events {
                write_record(out, args.format, event, &mut json_line, &mut csv_line)
                    .map_err(DecodeCommandError::Write)?;
            }
        }
        events.clear();
        // Records gather in one buffer handed on in large writes, which skip the copy
        // through the `BufWriter`.
        if json_line.len() >= JSON_CHUNK {
            out.write_all(json_line.as_bytes())
                .map_err(DecodeCommandError::Write)?;
            json_line.clear();
        }
        if decoder.refusal().is_some() {
            break;
        }
    }
    out.write_all(json_line.as_bytes())
        .map_err(DecodeCommandError::Write)?;
    decoder.finish();
    input::log_rejects(path, &mut decoder);
    Ok((decoder.stats(), decoder.refusal().cloned()))
}

/// Bytes of JSON records handed to the output at once: at least the `BufWriter`'s capacity.
const JSON_CHUNK: usize = 1 << 16;

/// Writes one record: JSON records are appended to `json` (written out by the caller), CSV
/// rows go to `out`.
fn write_record(
    out: &mut impl Write,
    format: RecordFormat,
    event: &AisEvent,
    json: &mut jsonl::RecordChunk,
    csv_line: &mut String,
) -> io::Result<()> {
    match format {
        RecordFormat::Jsonl => {
            json.push(event);
            Ok(())
        }
        RecordFormat::Csv => {
            csv_line.clear();
            csv_row(event, csv_line);
            out.write_all(csv_line.as_bytes())
        }
    }
}

/// Appends one CSV row (with its newline) for `event` under `CSV_HEADER`.
pub fn csv_row(event: &AisEvent, row: &mut String) {
    use std::fmt::Write as _;
    let heard = event.heard();
    let kind = match event {
        AisEvent::Fix(_) => "fix",
        AisEvent::PositionUnavailable(_) => "position_unavailable",
        AisEvent::VesselReport(_) => "vessel_report",
        AisEvent::ReceiverHeartbeat(_) => "receiver_heartbeat",
        AisEvent::Other(_) => "other",
    };
    let station_kind = station_kind_name(event.mmsi().kind());
    let _ = write!(
        row,
        "{kind},{},{station_kind},{},",
        event.mmsi(),
        event.msg_type()
    );
    opt(row, heard.time);
    row.push(',');
    if let Some(source) = heard.time_source {
        row.push_str(time_source_name(source));
    }
    row.push(',');
    text(row, heard.station.as_deref());
    row.push(',');
    if let Some(c) = heard.channel {
        row.push(c);
    }
    row.push(',');
    let class = match event {
        AisEvent::Fix(f) => Some(f.class),
        AisEvent::VesselReport(r) => r.class,
        _ => None,
    };
    if let Some(class) = class {
        row.push(match class {
            TransceiverClass::A => 'A',
            TransceiverClass::B => 'B',
        });
    }
    row.push(',');
    match event {
        AisEvent::Fix(f) => {
            let _ = write!(row, "{:.7},{:.7},", f.lat, f.lon);
            for value in [f.sog, f.cog] {
                opt(row, value);
                row.push(',');
            }
            opt(row, f.heading);
            row.push(',');
            opt(row, f.nav_status);
            row.push(',');
            if let Some(turn) = f.turn {
                let _ = write!(row, "{turn:.2}");
            }
            let _ = write!(row, ",{},{},", f.accuracy, f.raim);
            opt(row, f.second);
            row.push_str(",,,,,,,,,,,,,,,\n");
        }
        AisEvent::VesselReport(r) => {
            row.push_str(",,,,,,,,,,");
            opt(row, r.part);
            row.push(',');
            opt(row, r.imo);
            row.push(',');
            text(row, r.name.as_deref());
            row.push(',');
            text(row, r.callsign.as_deref());
            row.push(',');
            for value in [
                r.ship_type.map(u16::from),
                r.to_bow,
                r.to_stern,
                r.to_port,
                r.to_starboard,
                r.length,
                r.beam,
            ] {
                opt(row, value);
                row.push(',');
            }
            opt(row, r.draught);
            row.push(',');
            text(row, r.destination.as_deref());
            row.push(',');
            text(row, r.eta.as_deref());
            row.push_str(",\n");
        }
        AisEvent::ReceiverHeartbeat(h) => {
            if let (Some(lat), Some(lon)) = (h.lat, h.lon) {
                let _ = write!(row, "{lat:.7},{lon:.7}");
            } else {
                row.push(',');
            }
            row.push_str(",,,,,,,,,,,,,,,,,,,,,,,");
            opt(row, h.station_time);
            row.push('\n');
        }
        AisEvent::PositionUnavailable(_) | AisEvent::Other(_) => {
            row.push_str(",,,,,,,,,,,,,,,,,,,,,,,,\n");
        }
    }
}

fn opt<T: std::fmt::Display>(row: &mut String, value: Option<T>) {
    use std::fmt::Write as _;
    if let Some(v) = value {
        let _ = write!(row, "{v}");
    }
}

/// A text cell, quoted when it holds a comma or quote (6-bit text can hold both).
fn text(row: &mut String, value: Option<&str>) {
    let Some(value) = value else { return };
    if value.contains([',', '"', '\n']) {
        row.push('"');
        row.push_str(&value.replace('"', "\"\""));
        row.push('"');
    } else {
        row.push_str(value);
    }
}

fn station_kind_name(kind: StationKind) -> &'static str {
    match kind {
        StationKind::Vessel => "vessel",
        StationKind::BaseStation => "base_station",
        StationKind::Group => "group",
        StationKind::SarAircraft => "sar_aircraft",
        StationKind::AidToNavigation => "aid_to_navigation",
        StationKind::Beacon => "beacon",
        StationKind::Auxiliary => "auxiliary",
        StationKind::FreeFormDevice => "free_form_device",
        StationKind::Other => "other",
    }
}

fn time_source_name(source: crate::model::TimeSource) -> &'static str {
    use crate::model::TimeSource::*;
    match source {
        TagBlock => "tag_block",
        Gatehouse => "gatehouse",
        LogColumn => "log_column",
        Csv => "csv",
        TimeSentence => "time_sentence",
        Received => "received",
        ReceivedOnSourceClock => "received_on_source_clock",
    }
}

/// The human summary: what was read, decoded by type, and refused by reason.
pub fn write_summary(w: &mut dyn Write, files: usize, stats: &DecodeStats) -> io::Result<()> {
    writeln!(
        w,
        "decoded {files} file(s): {} lines, {} sentences, {} messages, {} events",
        stats.lines, stats.sentences, stats.messages, stats.events
    )?;
    write!(w, "messages by type:")?;
    for (msg_type, n) in stats.types() {
        write!(w, " {msg_type}={n}")?;
    }
    writeln!(w)?;
    writeln!(w, "messages by talker: {}", stats.by_talker)?;
    writeln!(
        w,
        "duplicates (same payload again within the window, not emitted): {}",
        stats.duplicates
    )?;
    writeln!(w, "rejected: {}", stats.rejected())?;
    for (reason, n) in stats.rejects.iter() {
        writeln!(w, "  {:<18} {n}", reason.name())?;
    }
    writeln!(
        w,
        "skipped non-AIS lines: {}; $PGHP time lines: {}",
        stats.non_ais_lines, stats.gatehouse_lines
    )?;
    write_clock_summary(w, &stats.clock)?;
    writeln!(
        w,
        "notes: {} tag blocks checksummed without g:, {} with *00 for a checksum, {} untimed prefixes, {} trailing garbage, {} positions off the globe",
        stats.tag_block_group_unchecked,
        stats.tag_block_checksum_placeholder,
        stats.unparsed_prefix,
        stats.trailing_garbage,
        stats.invalid_position
    )?;
    write_unreadable_cells(w, stats)
}

/// `unreadable CSV cells (rows kept): Draft=228 SOG=3`, when there were any.
pub fn write_unreadable_cells(w: &mut dyn Write, stats: &DecodeStats) -> io::Result<()> {
    if stats.csv_unreadable_cells.is_empty() {
        return Ok(());
    }
    write!(w, "unreadable CSV cells (rows kept):")?;
    for (column, n) in &stats.csv_unreadable_cells {
        write!(w, " {column}={n}")?;
    }
    writeln!(w)
}

/// Which carrier timed the messages, and how many stayed untimed (the engine drops those).
fn write_clock_summary(w: &mut dyn Write, clock: &ClockStats) -> io::Result<()> {
    write!(w, "timed by:")?;
    for (carrier, n) in clock.timed_by() {
        if n > 0 {
            write!(w, " {}={n}", carrier.name())?;
        }
    }
    for (name, n) in clock.timed_by_receipt() {
        if n > 0 {
            write!(w, " {name}={n}")?;
        }
    }
    write!(
        w,
        "; other carrier ignored: {}; untimed: {} ({} after a stale time sentence); time sentences: {} used, {} refused",
        clock.other_carrier_ignored,
        clock.untimed,
        clock.untimed_stale_time_sentence,
        clock.time_sentences,
        clock.time_sentences_refused
    )?;
    if clock.carrier_revised > 0 {
        write!(
            w,
            "; first carrier gave way: {} source(s)",
            clock.carrier_revised
        )?;
    }
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_have_as_many_cells_as_the_header() {
        let lines = [
            "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            "!AIVDM,2,1,9,B,55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD,0*2A",
            "!AIVDM,2,2,9,B,`88888888888880,2*76",
            "!AIVDM,1,1,,A,402u=TiuaA000r5UJ`H4`?7000S:,0*75",
            "!AIVDM,1,1,,B,:6TMCD1GOS60,0*5B",
        ];
        let mut decoder = crate::decode::NmeaDecoder::new(DecodeOptions::default());
        let mut events = Vec::new();
        for line in lines {
            decoder.decode_line(line.as_bytes(), None, &mut events);
        }
        assert_eq!(events.len(), 4, "{:?}", decoder.stats());
        let columns = CSV_HEADER.split(',').count();
        for event in &events {
            let mut row = String::new();
            csv_row(event, &mut row);
            assert!(row.ends_with('\n'));
            assert_eq!(row.trim_end().split(',').count(), columns, "{row}");
        }
    }

    #[test]
    fn text_cells_are_quoted_when_needed() {
        let mut row = String::new();
        text(&mut row, Some("A,\"B\""));
        assert_eq!(row, "\"A,\"\"B\"\"\"");
    }
}
