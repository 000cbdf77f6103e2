//! CSV exports of any provider turned into the same typed events as decoded AIS messages: one
//! row gives a fix and, when it carries any static field, a vessel report. A [`CsvMap`] says
//! which column holds what; MarineCadastre and the Danish Maritime Authority are built in.
//!
//! Columns are found by name (ignoring case), so their order (and the optional ones a year's
//! export lacks) does not matter. Parsing rules:
//! - A row whose MMSI, time, latitude or longitude cannot be read is refused with an error
//!   naming the column and the value; so is a row with the wrong number of cells or an
//!   unclosed quote.
//! - Any other cell that cannot be read (`Draft = NA`, a SOG of `fast`) is left out of the
//!   events and counted by column; the row's fix is kept.
//! - A number outside its field's range (lat 91, lon 181, heading 511, SOG 102.3 or more, COG
//!   360 or more, draught 0, IMO 0) is the export's way of writing "not available": `None`.
//! - Category words the export may extend (ship types, navigational statuses, types of mobile)
//!   that are not recognised are recorded as unknown rather than counted as unreadable.
//!
//! DMA text ship types map to one representative ITU code (the first of their range):
//!
//! | DMA text | ITU | DMA text | ITU |
//! |---|---|---|---|
//! | WIG | 20 | Pilot | 50 |
//! | Fishing | 30 | SAR | 51 |
//! | Towing | 31 | Tug | 52 |
//! | Towing long/wide | 32 | Port tender | 53 |
//! | Dredging | 33 | Anti-pollution | 54 |
//! | Diving | 34 | Law enforcement | 55 |
//! | Military | 35 | Spare 1 / Spare 2 | 56 / 57 |
//! | Sailing | 36 | Medical | 58 |
//! | Pleasure | 37 | Not party to conflict | 59 |
//! | HSC | 40 | Passenger | 60 |
//! | Cargo | 70 | Tanker | 80 |
//! | Other | 90 | Undefined / Unknown / Reserved / empty | none |
//!
//! A text that starts with one of these words (`Tanker - Hazard A`) takes its code; a number
//! in the column is taken as the ITU code itself.

mod cells;
mod events;
mod mapping;
mod time_format;
mod words;

use std::cell::Cell;
use std::sync::Arc;

use thiserror::Error;

use self::cells::{
    is_whole_byte, parse_float, parse_number, round_non_negative, split_cells, Cells, Row,
};
use self::events::{push_row_events, Eta, Mobile, Motion, RowReading, StaticFields};
use self::mapping::{header_names, Field, CORE_FIELDS, FIELD_COUNT};
use self::words::{mobile_from_text, nav_status_from_text, ship_type_from_text};
use crate::decode::sink::EventSink;
use crate::model::{AisEvent, Fix, Heard, Mmsi, TimeSource, TransceiverClass};
use crate::time::UnixMillis;

pub use self::mapping::{CsvColumns, CsvMap, CsvMapParams, CsvMapProblem};
use self::time_format::IsoDay;
pub use self::time_format::{parse_day_first, PatternPart, TimeFormat};

/// Why a header line cannot be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CsvError {
    #[error("no CSV mapping ({maps}) recognises the header {header:?}")]
    UnknownLayout { header: String, maps: String },
    #[error("{map} header lacks required column(s): {}", missing.join(", "))]
    MissingColumns { map: String, missing: Vec<String> },
}

/// Why one data row was refused, or (as [`CsvRowError::BadValue`] of an optional column) why
/// one of its cells was left out.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CsvRowError {
    #[error("row has {found} cells, the header has {expected}")]
    CellCount { expected: usize, found: usize },
    #[error("column {column}: quoted cell is not closed")]
    UnclosedQuote { column: String },
    #[error("column {column}: {reason}: {value:?}")]
    BadValue {
        column: String,
        value: String,
        reason: &'static str,
    },
}

/// Decodes the data rows of one CSV export.
#[derive(Debug)]
pub struct CsvDecoder {
    map: CsvMap,
    /// The fix of the row being read, kept from row to row with the reception all rows share:
    /// a row's events borrow it, so a row costs no copy of the station's name.
    fix: Fix,
    /// The day of the last row's time, to read the next row's without its date.
    iso_day: Cell<IsoDay>,
    /// Cell index of each field, when the header has it.
    columns: [Option<usize>; FIELD_COUNT],
    /// Header cell names as written, to name a column in errors.
    header: Vec<String>,
    /// Mapped optional columns the header lacks.
    absent: Vec<String>,
    cells: Cells,
    /// Cells left out as unreadable, by field.
    unreadable: [u64; FIELD_COUNT],
    /// The unreadable cells of the last row.
    dropped: Vec<(Field, CsvRowError)>,
}

impl CsvDecoder {
    /// Reads the header line of a built-in layout (MarineCadastre or DMA).
    pub fn new(header_line: &str, station: Option<Arc<str>>) -> Result<Self, CsvError> {
        CsvDecoder::with_maps(header_line, &CsvMap::presets(), station)
    }

    /// Reads the header line with the first of `maps` that recognises it; refuses a header
    /// none recognises, or one that lacks a required column.
    pub fn with_maps(
        header_line: &str,
        maps: &[CsvMap],
        station: Option<Arc<str>>,
    ) -> Result<Self, CsvError> {
        let map = CsvMap::find(header_line, maps).ok_or_else(|| CsvError::UnknownLayout {
            header: header_line.chars().take(120).collect(),
            maps: maps.iter().map(CsvMap::name).collect::<Vec<_>>().join(", "),
        })?;
        CsvDecoder::with_map(header_line, map, station)
    }

    /// Reads the header line with this mapping.
    pub fn with_map(
        header_line: &str,
        map: &CsvMap,
        station: Option<Arc<str>>,
    ) -> Result<Self, CsvError> {
        let header = header_names(header_line, map.delimiter, map.quote);
        let mut columns = [None; FIELD_COUNT];
        let mut missing = Vec::new();
        let mut absent = Vec::new();
        for (field, name) in &map.columns {
            match header.iter().position(|n| n.eq_ignore_ascii_case(name)) {
                Some(i) => columns[field.index()] = Some(i),
                None if CORE_FIELDS.contains(field) => missing.push(name.clone()),
                None => absent.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(CsvError::MissingColumns {
                map: map.name.clone(),
                missing,
            });
        }
        if !map.warn_absent {
            absent.clear();
        }
        Ok(CsvDecoder {
            map: map.clone(),
            fix: Fix::bare(
                Mmsi(0),
                0,
                Heard {
                    time_source: Some(TimeSource::Csv),
                    station,
                    ..Heard::default()
                },
                0.0,
                0.0,
            ),
            columns,
            header,
            absent,
            iso_day: Cell::default(),
            cells: Cells::default(),
            unreadable: [0; FIELD_COUNT],
            dropped: Vec::new(),
        })
    }

    /// The mapping the header was read with.
    pub fn map(&self) -> &CsvMap {
        &self.map
    }

    /// Columns the mapping names that the header lacks (their fields stay unknown).
    pub fn absent_columns(&self) -> &[String] {
        &self.absent
    }

    /// One data row -> a Fix (if it has a valid position) and a VesselReport (if any static
    /// field is present). Appends to `out`; on error nothing is appended. Unreadable optional
    /// cells are left out and counted (see [`CsvDecoder::unreadable_cells`]).
    pub fn decode_row(&mut self, row: &str, out: &mut Vec<AisEvent>) -> Result<(), CsvRowError> {
        self.decode_row_into(row, out).map(|_| ())
    }

    /// [`CsvDecoder::decode_row`] into any sink; how many events the row gave.
    pub fn decode_row_into<S: EventSink + ?Sized>(
        &mut self,
        row: &str,
        out: &mut S,
    ) -> Result<usize, CsvRowError> {
        let row = row.trim_end_matches(['\r', '\n']);
        let mut cells = std::mem::take(&mut self.cells);
        let mut dropped = std::mem::take(&mut self.dropped);
        dropped.clear();
        let split = split_cells(row, self.map.delimiter, self.map.quote, &mut cells);
        let split_row = Row::new(row, &cells);
        let result = match split {
            Err(at) => Err(CsvRowError::UnclosedQuote {
                column: self.column_name(at),
            }),
            Ok(()) if split_row.len() != self.header.len() => Err(CsvRowError::CellCount {
                expected: self.header.len(),
                found: split_row.len(),
            }),
            Ok(()) => self
                .decode_cells(&split_row, &mut dropped)
                .map(|reading| push_row_events(reading, &mut self.fix, out)),
        };
        if result.is_ok() {
            for (field, _) in &dropped {
                self.unreadable[field.index()] += 1;
            }
        } else {
            dropped.clear();
        }
        self.cells = cells;
        self.dropped = dropped;
        result
    }

    /// The cells of the last row that were left out as unreadable.
    pub fn dropped_cells(&self) -> impl Iterator<Item = &CsvRowError> {
        self.dropped.iter().map(|(_, e)| e)
    }

    /// Cells left out as unreadable so far, by column name as the header writes it.
    pub fn unreadable_cells(&self) -> Vec<(String, u64)> {
        self.map
            .columns
            .iter()
            .filter_map(|&(field, _)| {
                let n = self.unreadable[field.index()];
                let i = self.columns[field.index()]?;
                (n > 0).then(|| (self.column_name(i), n))
            })
            .collect()
    }

    fn column_name(&self, index: usize) -> String {
        self.header
            .get(index)
            .cloned()
            .unwrap_or_else(|| format!("#{}", index + 1))
    }

    fn cell<'c>(&self, cells: &Row<'c>, field: Field) -> Option<&'c str> {
        let i = self.columns[field.index()]?;
        let text = trim_cell(cells.get(i)?);
        (!text.is_empty()).then_some(text)
    }

    fn bad(&self, field: Field, value: &str, reason: &'static str) -> CsvRowError {
        let column = self.columns[field.index()]
            .map(|i| self.column_name(i))
            .or_else(|| self.map.column(field).map(str::to_string))
            .unwrap_or_default();
        CsvRowError::BadValue {
            column,
            value: value.to_string(),
            reason,
        }
    }

    fn number(&self, cells: &Row<'_>, field: Field) -> Result<Option<f64>, CsvRowError> {
        let Some(text) = self.cell(cells, field) else {
            return Ok(None);
        };
        parse_number(text)
            .map(Some)
            .ok_or_else(|| self.bad(field, text, "not a number"))
    }

    fn text<'c>(&self, cells: &Row<'c>, field: Field) -> Option<&'c str> {
        let text = self.cell(cells, field)?;
        // AIS pads text with `@`; exports write unknown text as the word "Unknown". A cell
        // starts and ends with no white space, so only a padded one needs trimming again.
        let text = match text.as_bytes().last() {
            Some(b'@') => text.trim_end_matches('@').trim_end(),
            _ => text,
        };
        if text.is_empty() || text.eq_ignore_ascii_case("unknown") {
            None
        } else {
            Some(text)
        }
    }

    fn decode_cells<'c>(
        &self,
        cells: &Row<'c>,
        dropped: &mut Vec<(Field, CsvRowError)>,
    ) -> Result<RowReading<'c>, CsvRowError> {
        // A refused row names its first bad core cell in this order, so the order is kept.
        let mmsi = self.mmsi(cells)?;
        let time = self.time(cells, dropped)?;
        let position = self.position(cells)?;
        let mut row = OptionalCells {
            decoder: self,
            cells: *cells,
            dropped,
        };
        let mobile = row.mobile();
        let motion = row.motion(position);
        let statics = row.static_fields();
        Ok(RowReading {
            mmsi,
            time,
            mobile,
            motion,
            statics,
        })
    }

    #[inline]
    fn mmsi(&self, cells: &Row<'_>) -> Result<Mmsi, CsvRowError> {
        let mmsi_text = self.cell(cells, Field::Mmsi).unwrap_or("");
        mmsi_text
            .parse::<u32>()
            .map(Mmsi)
            .map_err(|_| self.bad(Field::Mmsi, mmsi_text, "not an MMSI"))
    }

    /// The row's time; a milliseconds column that cannot be read leaves the time to the second.
    #[inline]
    fn time(
        &self,
        cells: &Row<'_>,
        dropped: &mut Vec<(Field, CsvRowError)>,
    ) -> Result<UnixMillis, CsvRowError> {
        let time_text = self.cell(cells, Field::Time).unwrap_or("");
        let time = self
            .map
            .time
            .read_through(time_text, &self.iso_day)
            .ok_or_else(|| self.bad(Field::Time, time_text, "not a date-time"))?;
        let Some(ms_text) = self.cell(cells, Field::Millis) else {
            return Ok(time);
        };
        match ms_text.parse::<u16>() {
            Ok(ms) if ms < 1000 => Ok(UnixMillis(time.as_millis() + i64::from(ms))),
            _ => {
                let error = self.bad(Field::Millis, ms_text, "not milliseconds (0-999)");
                dropped.push((Field::Millis, error));
                Ok(time)
            }
        }
    }

    /// Latitude and longitude: unreadable refuses the row, out of range is "not available".
    #[inline]
    fn position(&self, cells: &Row<'_>) -> Result<Option<(f64, f64)>, CsvRowError> {
        let lat = self.number(cells, Field::Lat)?;
        let lon = self.number(cells, Field::Lon)?;
        Ok(match (lat, lon) {
            (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => Some((lat, lon)),
            _ => None,
        })
    }
}

/// The cell without surrounding white space. Most cells start and end with a visible ASCII
/// character and are taken as they are, without the Unicode-aware scan of `str::trim`.
#[inline]
fn trim_cell(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// The optional cells of one row: each that cannot be read is recorded in `dropped` and read
/// as unknown, so that it never costs the row its fix.
struct OptionalCells<'d, 'r> {
    decoder: &'d CsvDecoder,
    cells: Row<'r>,
    dropped: &'d mut Vec<(Field, CsvRowError)>,
}

impl<'r> OptionalCells<'_, 'r> {
    fn keep<T>(&mut self, field: Field, read: Result<Option<T>, CsvRowError>) -> Option<T> {
        read.unwrap_or_else(|error| {
            self.dropped.push((field, error));
            None
        })
    }

    fn cell(&self, field: Field) -> Option<&str> {
        self.decoder.cell(&self.cells, field)
    }

    fn number(&mut self, field: Field) -> Option<f64> {
        let read = self.decoder.number(&self.cells, field);
        self.keep(field, read)
    }

    fn bad<T>(&self, field: Field, text: &str, reason: &'static str) -> Result<T, CsvRowError> {
        Err(self.decoder.bad(field, text, reason))
    }

    fn mobile(&mut self) -> Mobile {
        if let Some(text) = self.cell(Field::Mobile) {
            return mobile_from_text(text);
        }
        let class = match self.cell(Field::Class) {
            None => Ok(None),
            Some(text) => {
                let letter = match text.get(..5) {
                    Some(word) if word.eq_ignore_ascii_case("class") => text[5..].trim(),
                    _ => text,
                };
                match letter {
                    "A" | "a" => Ok(Some(TransceiverClass::A)),
                    "B" | "b" => Ok(Some(TransceiverClass::B)),
                    _ => self.bad(Field::Class, text, "not a transceiver class"),
                }
            }
        };
        Mobile::Vessel(
            self.keep(Field::Class, class)
                .unwrap_or(TransceiverClass::A),
        )
    }

    /// Speed, course, heading, turn and status; unavailable or out-of-range values are none.
    fn motion(&mut self, position: Option<(f64, f64)>) -> Motion {
        let sog = self
            .number(Field::Sog)
            .filter(|s| (0.0..102.3).contains(s))
            .map(|s| s as f32);
        let cog = self
            .number(Field::Cog)
            .filter(|c| (0.0..360.0).contains(c))
            .map(|c| c as f32);
        let heading = self
            .number(Field::Heading)
            .filter(|h| (0.0..360.0).contains(h))
            .map(|h| round_non_negative(h) as u16 % 360);
        let turn = self.number(Field::Rot).map(|r| r as f32);
        let nav_status = match self.cell(Field::NavStatus) {
            None => Ok(None),
            Some(text) => match parse_float(text) {
                Some(n) if (0.0..=15.0).contains(&n) && is_whole_byte(n) => Ok(Some(n as u8)),
                Some(_) => self.bad(Field::NavStatus, text, "not a status code"),
                None => Ok(nav_status_from_text(text)),
            },
        };
        let nav_status = self.keep(Field::NavStatus, nav_status);
        Motion {
            position,
            sog,
            cog,
            heading,
            turn,
            nav_status,
        }
    }

    fn imo(&mut self) -> Option<u32> {
        let imo = match self.cell(Field::Imo) {
            None => Ok(None),
            Some(text) if text.eq_ignore_ascii_case("unknown") => Ok(None),
            Some(text) => {
                // Byte patterns, not `strip_prefix`: this runs for every row of an export.
                let digits = match text.as_bytes() {
                    [b'I', b'M', b'O', ..] | [b'i', b'm', b'o', ..] => &text[3..],
                    _ => text,
                }
                .trim();
                match digits.parse::<u32>() {
                    Ok(n) => Ok((n != 0).then_some(n)),
                    Err(_) => self.bad(Field::Imo, text, "not an IMO number"),
                }
            }
        };
        self.keep(Field::Imo, imo)
    }

    fn ship_type(&mut self) -> Option<u8> {
        let ship_type = match self.cell(Field::ShipType) {
            None => Ok(None),
            Some(text) => match parse_float(text) {
                // MarineCadastre's pre-2018 US codes (1001-1025) are not ITU codes.
                Some(n) if (1.0..=99.0).contains(&n) && is_whole_byte(n) => Ok(Some(n as u8)),
                Some(n) if n == 0.0 || n >= 100.0 => Ok(None),
                Some(_) => self.bad(Field::ShipType, text, "not a ship type code"),
                None => Ok(ship_type_from_text(text)),
            },
        };
        self.keep(Field::ShipType, ship_type)
    }

    fn metres(&mut self, field: Field) -> Option<u16> {
        let metres = match self.decoder.number(&self.cells, field) {
            Ok(Some(m)) if !(0.0..=2000.0).contains(&m) => {
                let text = self.cell(field).unwrap_or_default();
                self.bad(field, text, "not a plausible size in metres")
            }
            Ok(m) => Ok(m.and_then(|m| Some(round_non_negative(m) as u16).filter(|&m| m > 0))),
            Err(error) => Err(error),
        };
        self.keep(field, metres)
    }

    fn draught(&mut self) -> Option<f32> {
        let draught = match self.decoder.number(&self.cells, Field::Draught) {
            Ok(Some(d)) if d < 0.0 => {
                let text = self.cell(Field::Draught).unwrap_or_default();
                self.bad(Field::Draught, text, "negative draught")
            }
            Ok(d) => Ok(d.and_then(|d| Some(d as f32).filter(|&d| d > 0.0))),
            Err(error) => Err(error),
        };
        self.keep(Field::Draught, draught)
    }

    /// AIS writes the ETA without a year: `MM-DDTHH:MMZ`.
    fn eta(&mut self) -> Option<Eta> {
        let eta = match self.cell(Field::Eta) {
            None => Ok(None),
            Some(text) => {
                match parse_day_first(text).or_else(|| self.decoder.map.time.read(text)) {
                    Some(t) => {
                        let (_, mo, d, h, mi, ..) = t.to_civil();
                        Ok(Some(Eta::new(mo, d, h, mi)))
                    }
                    None => self.bad(Field::Eta, text, "not a date-time"),
                }
            }
        };
        self.keep(Field::Eta, eta)
    }

    fn static_fields(&mut self) -> StaticFields<'r> {
        let imo = self.imo();
        let ship_type = self.ship_type();
        let to_bow = self.metres(Field::ToBow);
        let to_stern = self.metres(Field::ToStern);
        let to_port = self.metres(Field::ToPort);
        let to_starboard = self.metres(Field::ToStarboard);
        let sum = |a: Option<u16>, b: Option<u16>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let length = self.metres(Field::Length).or(sum(to_bow, to_stern));
        let beam = self.metres(Field::Width).or(sum(to_port, to_starboard));
        let draught = self.draught();
        let eta = self.eta();
        StaticFields {
            imo,
            name: self.decoder.text(&self.cells, Field::Name),
            callsign: self.decoder.text(&self.cells, Field::Callsign),
            ship_type,
            to_bow,
            to_stern,
            to_port,
            to_starboard,
            length,
            beam,
            draught,
            destination: self.decoder.text(&self.cells, Field::Destination),
            eta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Fix, VesselReport};

    const MC_HEADER: &str = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass";
    const DMA_HEADER: &str = "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D";

    fn decode(header: &str, row: &str) -> Result<Vec<AisEvent>, CsvRowError> {
        let mut d = CsvDecoder::new(header, Some(Arc::from("test"))).unwrap();
        let mut out = Vec::new();
        d.decode_row(row, &mut out).map(|()| out)
    }

    const MC_FIXTURE: &str = include_str!("../../../tests/data/csv_marinecadastre.csv");
    const MC_2017_FIXTURE: &str = include_str!("../../../tests/data/csv_marinecadastre_2017.csv");
    const MC_BAD_FIXTURE: &str =
        include_str!("../../../tests/data/csv_marinecadastre_bad_rows.csv");
    const DMA_FIXTURE: &str = include_str!("../../../tests/data/csv_dma.csv");
    const DMA_BAD_FIXTURE: &str = include_str!("../../../tests/data/csv_dma_bad_rows.csv");

    /// Decodes a whole fixture: events of the good rows, and (line number, error) of the bad.
    fn decode_file(text: &str) -> (Vec<AisEvent>, Vec<(usize, CsvRowError)>) {
        let mut lines = text.lines();
        let header = lines.next().expect("fixture has a header");
        let mut decoder = CsvDecoder::new(header, Some(Arc::from("csv-test"))).unwrap();
        let mut events = Vec::new();
        let mut errors = Vec::new();
        for (i, line) in lines.enumerate() {
            if let Err(e) = decoder.decode_row(line, &mut events) {
                errors.push((i + 2, e));
            }
        }
        (events, errors)
    }

    fn fixes(events: &[AisEvent]) -> Vec<&Fix> {
        events
            .iter()
            .filter_map(|e| match e {
                AisEvent::Fix(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    fn reports(events: &[AisEvent]) -> Vec<&VesselReport> {
        events
            .iter()
            .filter_map(|e| match e {
                AisEvent::VesselReport(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn marinecadastre_rows_become_fixes_and_reports() {
        let (events, errors) = decode_file(MC_FIXTURE);
        assert!(errors.is_empty(), "{errors:?}");
        let fixes = fixes(&events);
        let reports = reports(&events);
        assert_eq!(fixes.len(), 5, "row with lat 91 / lon 181 has no fix");
        assert_eq!(reports.len(), 4, "rows without static cells give no report");

        let tanker = fixes[0];
        assert_eq!(tanker.mmsi, Mmsi(445_118_000));
        assert_eq!(tanker.msg_type, 0);
        assert_eq!(tanker.class, TransceiverClass::A);
        assert_eq!(
            tanker.heard.time,
            UnixMillis::parse_iso8601("2024-03-07T04:12:31Z")
        );
        assert_eq!(tanker.heard.time_source, Some(TimeSource::Csv));
        assert_eq!(tanker.heard.station.as_deref(), Some("csv-test"));
        assert_eq!((tanker.lat, tanker.lon), (42.190733, 133.602150));
        assert_eq!(
            (tanker.sog, tanker.cog, tanker.heading),
            (Some(9.8), Some(322.4), Some(321))
        );
        assert_eq!(tanker.nav_status, Some(0));

        let r = reports[0];
        assert_eq!(r.imo, Some(8_705_271));
        assert_eq!(r.name.as_deref(), Some("PAEK YANG 3"));
        assert_eq!(r.callsign.as_deref(), Some("HMYP3"));
        assert_eq!(r.ship_type, Some(80));
        assert_eq!((r.length, r.beam), (Some(96), Some(15)));
        assert_eq!(r.draught, Some(4.1));
        assert_eq!(reports[1].draught, Some(6.6));

        let moored = fixes[2];
        assert_eq!((moored.cog, moored.heading), (None, None));
        assert_eq!(moored.nav_status, Some(5));

        let tug = fixes[3];
        assert_eq!(tug.class, TransceiverClass::B);
        assert_eq!(reports[3].name.as_deref(), Some("TAIFUN, 12"));
        assert_eq!(reports[3].class, Some(TransceiverClass::B));
        assert_eq!(reports[3].imo, None);

        assert!(events.iter().any(|e| matches!(
            e,
            AisEvent::PositionUnavailable(o) if o.mmsi == Mmsi(412_448_120)
        )));
        let bare = fixes[4];
        assert_eq!(bare.mmsi, Mmsi(441_206_000));
        assert_eq!((bare.sog, bare.class), (None, TransceiverClass::A));
    }

    #[test]
    fn older_marinecadastre_years_without_transceiver_class_still_decode() {
        let (events, errors) = decode_file(MC_2017_FIXTURE);
        assert!(errors.is_empty(), "{errors:?}");
        let fixes = fixes(&events);
        let reports = reports(&events);
        assert_eq!(fixes.len(), 2);
        assert_eq!(
            fixes[0].nav_status,
            Some(0),
            "2017 wrote the status as text"
        );
        assert_eq!(fixes[0].cog, None, "negative course is not available");
        assert_eq!(
            reports[0].ship_type, None,
            "US code 1025 is not an ITU type"
        );
        assert_eq!((reports[0].length, reports[0].beam), (Some(20), Some(6)));
        assert_eq!(reports[1].imo, Some(8_518_340));
        assert_eq!(reports[1].draught, Some(2.8));
    }

    /// The column an error names (`(cells)` for a row of the wrong width).
    fn named_column(error: &CsvRowError) -> String {
        match error {
            CsvRowError::BadValue { column, .. } => column.clone(),
            CsvRowError::UnclosedQuote { column } => column.clone(),
            CsvRowError::CellCount { .. } => "(cells)".to_string(),
        }
    }

    #[test]
    fn marinecadastre_bad_core_cells_refuse_the_row_and_bad_optional_cells_only_themselves() {
        let mut lines = MC_BAD_FIXTURE.lines();
        let mut decoder = CsvDecoder::new(lines.next().unwrap(), None).unwrap();
        let (mut events, mut refused, mut kept) = (Vec::new(), Vec::new(), Vec::new());
        for (i, line) in lines.enumerate() {
            match decoder.decode_row(line, &mut events) {
                Err(e) => refused.push((i + 2, named_column(&e))),
                Ok(()) => kept.push((i + 2, decoder.dropped_cells().map(named_column).collect())),
            }
        }
        let refused_expected = [
            (2, "MMSI"),
            (3, "BaseDateTime"),
            (4, "LAT"),
            (9, "(cells)"),
            (10, "VesselName"),
        ];
        let refused_expected: Vec<(usize, String)> = refused_expected
            .iter()
            .map(|(l, c)| (*l, c.to_string()))
            .collect();
        assert_eq!(refused, refused_expected);
        let kept_expected: Vec<(usize, Vec<String>)> = [
            (5, "SOG"),
            (6, "IMO"),
            (7, "Draft"),
            (8, "TransceiverClass"),
        ]
        .iter()
        .map(|(l, c)| (*l, vec![c.to_string()]))
        .collect();
        assert_eq!(kept, kept_expected);
        let fixes = fixes(&events);
        assert_eq!(fixes.len(), 4, "each kept row keeps its fix");
        assert_eq!(fixes[0].sog, None, "SOG `fast` left out");
        assert_eq!(fixes[1].sog, Some(9.8));
        assert_eq!(
            fixes[3].class,
            TransceiverClass::A,
            "class `C` read as unknown"
        );
        let reports = reports(&events);
        assert_eq!(reports[1].imo, None, "IMO87O5271 left out");
        assert_eq!(reports[1].name.as_deref(), Some("PAEK YANG 3"));
        assert_eq!(reports[2].draught, None, "negative draught left out");
        assert_eq!(
            decoder.unreadable_cells(),
            [
                ("SOG", 1),
                ("IMO", 1),
                ("Draft", 1),
                ("TransceiverClass", 1)
            ]
            .map(|(c, n)| (c.to_string(), n))
        );
        let message = CsvDecoder::new(MC_HEADER, None)
            .unwrap()
            .decode_row(MC_BAD_FIXTURE.lines().nth(1).unwrap(), &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("MMSI") && message.contains("44511800X"),
            "{message}"
        );
    }

    #[test]
    fn dma_rows_map_mobiles_words_and_dimensions() {
        let (events, errors) = decode_file(DMA_FIXTURE);
        assert!(errors.is_empty(), "{errors:?}");
        let heartbeat = events
            .iter()
            .find_map(|e| match e {
                AisEvent::ReceiverHeartbeat(h) => Some(h),
                _ => None,
            })
            .expect("base station row");
        assert_eq!(heartbeat.mmsi, Mmsi(2_190_064));
        assert_eq!(heartbeat.lat, Some(56.716570));
        assert!(events
            .iter()
            .any(|e| matches!(e, AisEvent::Other(o) if o.mmsi == Mmsi(992_191_010))));

        let fixes = fixes(&events);
        let reports = reports(&events);
        let fishing = fixes[0];
        assert_eq!(fishing.mmsi, Mmsi(219_024_000));
        assert_eq!(
            fishing.heard.time,
            UnixMillis::parse_iso8601("2024-03-01T00:00:01Z")
        );
        assert_eq!(fishing.nav_status, Some(7));
        assert_eq!(fishing.turn, Some(0.0));
        assert_eq!(fishing.heading, Some(309));

        let tug = reports
            .iter()
            .find(|r| r.mmsi == Mmsi(219_012_382))
            .unwrap();
        assert_eq!(tug.ship_type, Some(52));
        assert_eq!(tug.imo, None, "\"Unknown\" IMO");
        assert_eq!(
            (tug.to_bow, tug.to_stern, tug.to_port, tug.to_starboard),
            (Some(5), Some(13), Some(3), Some(3))
        );
        assert_eq!((tug.length, tug.beam), (Some(18), Some(6)));
        assert_eq!(tug.destination.as_deref(), Some("HANSTHOLM"));
        assert_eq!(tug.eta.as_deref(), Some("10-29T07:00Z"));

        let tanker = reports
            .iter()
            .find(|r| r.mmsi == Mmsi(636_017_423))
            .unwrap();
        assert_eq!(tanker.ship_type, Some(80));
        assert_eq!(tanker.imo, Some(9_412_311));
        assert_eq!(tanker.draught, Some(6.9));
        assert_eq!((tanker.length, tanker.beam), (Some(144), Some(23)));

        let pleasure = fixes.iter().find(|f| f.mmsi == Mmsi(219_028_471)).unwrap();
        assert_eq!(pleasure.class, TransceiverClass::B);
        assert_eq!(pleasure.nav_status, Some(15));
        let pleasure_report = reports
            .iter()
            .find(|r| r.mmsi == Mmsi(219_028_471))
            .unwrap();
        assert_eq!(pleasure_report.name.as_deref(), Some("SKIBBY, II"));
        assert_eq!(pleasure_report.ship_type, Some(37));

        // Position not available, static data present: a report and no fix.
        assert!(!fixes.iter().any(|f| f.mmsi == Mmsi(244_059_000)));
        let cargo = reports
            .iter()
            .find(|r| r.mmsi == Mmsi(244_059_000))
            .unwrap();
        assert_eq!(cargo.ship_type, Some(70));
        assert_eq!(cargo.draught, Some(3.5));

        let aircraft = fixes.iter().find(|f| f.mmsi == Mmsi(111_219_503)).unwrap();
        assert_eq!(aircraft.sog, None, "112 kn is beyond the SOG field");
    }

    #[test]
    fn dma_bad_rows_keep_their_fix_unless_a_core_cell_is_bad() {
        let mut lines = DMA_BAD_FIXTURE.lines();
        let mut decoder = CsvDecoder::new(lines.next().unwrap(), None).unwrap();
        let mut events = Vec::new();
        let refused: Vec<String> = lines
            .filter_map(|line| decoder.decode_row(line, &mut events).err())
            .map(|e| named_column(&e))
            .collect();
        assert_eq!(refused, ["Timestamp", "(cells)"]);
        assert_eq!(fixes(&events).len(), 5);
        assert_eq!(
            decoder.unreadable_cells(),
            [("ROT", 1), ("IMO", 1), ("Width", 1), ("ETA", 1), ("C", 1)]
                .map(|(c, n)| (c.to_string(), n)),
            "in the order of the mapping's columns"
        );
        let tug = reports(&events)[1];
        assert_eq!(tug.to_port, None, "`three` left out");
        assert_eq!(tug.beam, Some(6), "the width column still gives the beam");
    }

    #[test]
    fn recognises_both_presets_and_refuses_others() {
        let presets = CsvMap::presets();
        let name = |header: &str| CsvMap::find(header, &presets).map(|m| m.name().to_string());
        assert_eq!(name(MC_HEADER).as_deref(), Some("MarineCadastre"));
        assert_eq!(name(DMA_HEADER).as_deref(), Some("DMA"));
        assert_eq!(
            name("\u{feff}mmsi,basedatetime,lat,lon\r\n").as_deref(),
            Some("MarineCadastre")
        );
        assert_eq!(name("time,mmsi,lat,lon"), None);
        let err = CsvDecoder::new("time,mmsi,lat,lon", None).unwrap_err();
        assert!(matches!(err, CsvError::UnknownLayout { .. }));
        assert!(err.to_string().contains("MarineCadastre, DMA"), "{err}");
    }

    #[test]
    fn missing_required_columns_are_named() {
        let err = CsvDecoder::new("MMSI,BaseDateTime,SOG", None).unwrap_err();
        assert_eq!(
            err,
            CsvError::MissingColumns {
                map: "MarineCadastre".into(),
                missing: vec!["LAT".into(), "LON".into()]
            }
        );
        assert!(err.to_string().contains("LAT, LON"));
    }

    #[test]
    fn not_available_values_become_none() {
        let row = "273111111,2024-03-04T00:00:00,91.0,181.0,102.3,360.0,511.0,,IMO0000000,,0,15,0,0,0.0,,";
        let events = decode(MC_HEADER, row).unwrap();
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0], AisEvent::PositionUnavailable(_)));
        let row = "273111111,2024-03-04T00:00:00,42.7,133.0,102.3,360.0,511.0,,,,,,,,,,";
        let events = decode(MC_HEADER, row).unwrap();
        let AisEvent::Fix(fix) = &events[0] else {
            panic!("expected a fix: {events:?}")
        };
        assert_eq!((fix.sog, fix.cog, fix.heading), (None, None, None));
    }

    fn map(columns: CsvColumns, time_format: &str, delimiter: &str) -> CsvMap {
        CsvMapParams {
            name: Some("test".into()),
            delimiter: Some(delimiter.into()),
            time_format: Some(time_format.into()),
            columns,
            ..CsvMapParams::default()
        }
        .check("")
        .unwrap()
    }

    #[test]
    fn a_packed_time_with_a_milliseconds_column_and_semicolons() {
        let map = map(
            CsvColumns {
                mmsi: Some("MMSI".into()),
                time: Some("DATE_TIME".into()),
                millis: Some("MSEC".into()),
                lat: Some("LAT".into()),
                lon: Some("LON".into()),
                class: Some("CLASS".into()),
                length: Some("LEN".into()),
                ..CsvColumns::default()
            },
            "%Y%m%d_%H%M%S",
            ";",
        );
        let header = "MMSI;DATE_TIME;MSEC;LAT;LON;CLASS";
        let mut decoder = CsvDecoder::with_map(header, &map, None).unwrap();
        assert_eq!(decoder.absent_columns(), ["LEN"]);
        let mut out = Vec::new();
        decoder
            .decode_row(
                "257000001;20210701_185151;250;59,91;10,75;Class B",
                &mut out,
            )
            .unwrap();
        decoder
            .decode_row("257000001;20210701_185152;n/a;59.92;10.76;B", &mut out)
            .unwrap();
        let fixes = fixes(&out);
        assert_eq!(
            fixes[0].heard.time,
            UnixMillis::parse_iso8601("2021-07-01T18:51:51.250Z")
        );
        assert_eq!((fixes[0].lat, fixes[0].lon), (59.91, 10.75));
        assert_eq!(fixes[0].class, TransceiverClass::B);
        assert_eq!(
            fixes[1].heard.time,
            UnixMillis::parse_iso8601("2021-07-01T18:51:52Z"),
            "unreadable milliseconds leave the time to the second"
        );
        assert_eq!(decoder.unreadable_cells(), [("MSEC".to_string(), 1)]);
        let refused = decoder.decode_row("257000001;2021-07-01 18:51:53;0;59.9;10.7;A", &mut out);
        assert!(
            matches!(&refused, Err(CsvRowError::BadValue { column, .. }) if column == "DATE_TIME"),
            "{refused:?}"
        );
    }

    #[test]
    fn epoch_times_and_a_header_missing_a_mapped_core_column() {
        let columns = CsvColumns {
            mmsi: Some("mmsi".into()),
            time: Some("ts".into()),
            lat: Some("lat".into()),
            lon: Some("lon".into()),
            ..CsvColumns::default()
        };
        let epoch = map(columns.clone(), "epoch_ms", ",");
        let mut decoder = CsvDecoder::with_map("mmsi,ts,lat,lon", &epoch, None).unwrap();
        let mut out = Vec::new();
        decoder
            .decode_row("257000001,1625165511123,59.9,10.7", &mut out)
            .unwrap();
        assert_eq!(out[0].time(), Some(UnixMillis(1_625_165_511_123)));
        let err = CsvDecoder::with_map("mmsi,ts,latitude,longitude", &epoch, None).unwrap_err();
        assert_eq!(
            err,
            CsvError::MissingColumns {
                map: "test".into(),
                missing: vec!["lat".into(), "lon".into()]
            }
        );
    }
}
