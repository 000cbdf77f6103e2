//! Historical CSV exports (MarineCadastre and the Danish Maritime Authority) turned into the
//! same typed events as decoded AIS messages: one row gives a fix and, when it carries any
//! static field, a vessel report.
//!
//! Columns are found by name, so their order (and the optional ones a year's export lacks)
//! does not matter. Parsing rules:
//! - A cell that cannot be read as its column's type (a date, a number) refuses the row with
//!   an error naming the column and the value.
//! - A number outside its field's range (lat 91, lon 181, heading 511, SOG 102.3 or more, COG
//!   360 or more, draught 0, IMO 0) is the export's way of writing "not available": `None`.
//! - Category words the export may extend (ship types, navigational statuses, types of mobile)
//!   that are not recognised are recorded as unknown rather than refusing the row.
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

mod words;

use std::sync::Arc;

use thiserror::Error;

use self::words::{mobile_from_text, nav_status_from_text, ship_type_from_text};
use crate::model::{AisEvent, Fix, Heard, Mmsi, OtherMessage, ReceiverHeartbeat, TimeSource};
use crate::model::{TransceiverClass, VesselReport};
use crate::time::UnixMillis;

/// Which export a CSV file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CsvDialect {
    /// US MarineCadastre / NOAA AccessAIS: `MMSI,BaseDateTime,LAT,LON,...`.
    MarineCadastre,
    /// Danish Maritime Authority daily files: `# Timestamp,Type of mobile,MMSI,...`.
    Dma,
}

impl CsvDialect {
    /// Recognises a dialect from its header line; `None` for anything else.
    pub fn detect(header_line: &str) -> Option<CsvDialect> {
        let names: Vec<String> = split_header(header_line);
        let has = |n: &str| names.iter().any(|c| c == n);
        if has("mmsi") && has("basedatetime") {
            Some(CsvDialect::MarineCadastre)
        } else if has("mmsi") && has("timestamp") && has("type of mobile") {
            Some(CsvDialect::Dma)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CsvDialect::MarineCadastre => "MarineCadastre",
            CsvDialect::Dma => "DMA",
        }
    }
}

/// Why a header line cannot be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CsvError {
    #[error("header is neither a MarineCadastre nor a DMA export: {header:?}")]
    UnknownDialect { header: String },
    #[error("{dialect} header lacks required column(s): {}", missing.join(", "))]
    MissingColumns {
        dialect: &'static str,
        missing: Vec<&'static str>,
    },
}

/// Why one data row was refused.
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

/// Every field the decoder understands, whatever the dialect calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Mmsi,
    Time,
    Lat,
    Lon,
    Sog,
    Cog,
    Heading,
    Rot,
    NavStatus,
    Name,
    Imo,
    Callsign,
    ShipType,
    Length,
    Width,
    Draught,
    Destination,
    Eta,
    Class,
    Mobile,
    ToBow,
    ToStern,
    ToPort,
    ToStarboard,
}

const FIELD_COUNT: usize = Field::ToStarboard as usize + 1;

impl Field {
    fn index(self) -> usize {
        self as usize
    }
}

/// Column names (lower case) of each dialect, and whether a row cannot be read without them.
const MARINE_CADASTRE_COLUMNS: &[(&str, Field, bool)] = &[
    ("mmsi", Field::Mmsi, true),
    ("basedatetime", Field::Time, true),
    ("lat", Field::Lat, true),
    ("lon", Field::Lon, true),
    ("sog", Field::Sog, false),
    ("cog", Field::Cog, false),
    ("heading", Field::Heading, false),
    ("vesselname", Field::Name, false),
    ("imo", Field::Imo, false),
    ("callsign", Field::Callsign, false),
    ("vesseltype", Field::ShipType, false),
    ("status", Field::NavStatus, false),
    ("length", Field::Length, false),
    ("width", Field::Width, false),
    ("draft", Field::Draught, false),
    ("transceiverclass", Field::Class, false),
];

const DMA_COLUMNS: &[(&str, Field, bool)] = &[
    ("timestamp", Field::Time, true),
    ("type of mobile", Field::Mobile, false),
    ("mmsi", Field::Mmsi, true),
    ("latitude", Field::Lat, true),
    ("longitude", Field::Lon, true),
    ("navigational status", Field::NavStatus, false),
    ("rot", Field::Rot, false),
    ("sog", Field::Sog, false),
    ("cog", Field::Cog, false),
    ("heading", Field::Heading, false),
    ("imo", Field::Imo, false),
    ("callsign", Field::Callsign, false),
    ("name", Field::Name, false),
    ("ship type", Field::ShipType, false),
    ("width", Field::Width, false),
    ("length", Field::Length, false),
    ("draught", Field::Draught, false),
    ("destination", Field::Destination, false),
    ("eta", Field::Eta, false),
    ("a", Field::ToBow, false),
    ("b", Field::ToStern, false),
    ("c", Field::ToPort, false),
    ("d", Field::ToStarboard, false),
];

/// Decodes the data rows of one CSV export.
#[derive(Debug)]
pub struct CsvDecoder {
    dialect: CsvDialect,
    station: Option<Arc<str>>,
    /// Cell index of each field, when the header has it.
    columns: [Option<usize>; FIELD_COUNT],
    /// Header cell names as written, to name a column in errors.
    header: Vec<String>,
    cells: Vec<String>,
}

/// The fields read from one row before they become events.
struct StaticFields {
    imo: Option<u32>,
    name: Option<String>,
    callsign: Option<String>,
    ship_type: Option<u8>,
    to_bow: Option<u16>,
    to_stern: Option<u16>,
    to_port: Option<u16>,
    to_starboard: Option<u16>,
    length: Option<u16>,
    beam: Option<u16>,
    draught: Option<f32>,
    destination: Option<String>,
    eta: Option<String>,
}

impl StaticFields {
    fn any(&self) -> bool {
        self.imo.is_some()
            || self.name.is_some()
            || self.callsign.is_some()
            || self.ship_type.is_some()
            || self.to_bow.is_some()
            || self.to_stern.is_some()
            || self.to_port.is_some()
            || self.to_starboard.is_some()
            || self.length.is_some()
            || self.beam.is_some()
            || self.draught.is_some()
            || self.destination.is_some()
            || self.eta.is_some()
    }
}

/// What sent the row, from DMA's `Type of mobile` (MarineCadastre rows are all vessels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mobile {
    Vessel(TransceiverClass),
    BaseStation,
    AidToNavigation,
}

impl CsvDecoder {
    /// Reads the header line; refuses an unknown dialect or missing required columns.
    pub fn new(header_line: &str, station: Option<Arc<str>>) -> Result<Self, CsvError> {
        let dialect = CsvDialect::detect(header_line).ok_or_else(|| CsvError::UnknownDialect {
            header: header_line.chars().take(120).collect(),
        })?;
        let names = split_header(header_line);
        let table = match dialect {
            CsvDialect::MarineCadastre => MARINE_CADASTRE_COLUMNS,
            CsvDialect::Dma => DMA_COLUMNS,
        };
        let mut columns = [None; FIELD_COUNT];
        let mut missing = Vec::new();
        for &(name, field, required) in table {
            match names.iter().position(|n| n == name) {
                Some(i) => columns[field.index()] = Some(i),
                None if required => missing.push(name_as_written(dialect, name)),
                None => {}
            }
        }
        if !missing.is_empty() {
            return Err(CsvError::MissingColumns {
                dialect: dialect.name(),
                missing,
            });
        }
        let mut header = Vec::new();
        split_cells(header_line, &mut header).map_err(|_| CsvError::UnknownDialect {
            header: header_line.chars().take(120).collect(),
        })?;
        let header = header
            .into_iter()
            .map(|h| {
                h.trim_start_matches('\u{feff}')
                    .trim_start_matches('#')
                    .trim()
                    .to_string()
            })
            .collect();
        Ok(CsvDecoder {
            dialect,
            station,
            columns,
            header,
            cells: Vec::new(),
        })
    }

    pub fn dialect(&self) -> CsvDialect {
        self.dialect
    }

    /// One data row -> a Fix (if it has a valid position) and a VesselReport (if any static
    /// field is present). Appends to `out`; on error nothing is appended.
    pub fn decode_row(&mut self, row: &str, out: &mut Vec<AisEvent>) -> Result<(), CsvRowError> {
        let row = row.trim_end_matches(['\r', '\n']);
        let mut cells = std::mem::take(&mut self.cells);
        let split = split_cells(row, &mut cells);
        let result = match split {
            Err(at) => Err(CsvRowError::UnclosedQuote {
                column: self.column_name(at),
            }),
            Ok(()) if cells.len() != self.header.len() => Err(CsvRowError::CellCount {
                expected: self.header.len(),
                found: cells.len(),
            }),
            Ok(()) => self.decode_cells(&cells, out),
        };
        self.cells = cells;
        result
    }

    fn column_name(&self, index: usize) -> String {
        self.header
            .get(index)
            .cloned()
            .unwrap_or_else(|| format!("#{}", index + 1))
    }

    fn cell<'c>(&self, cells: &'c [String], field: Field) -> Option<&'c str> {
        let i = self.columns[field.index()]?;
        let text = cells.get(i)?.trim();
        (!text.is_empty()).then_some(text)
    }

    fn bad(&self, field: Field, value: &str, reason: &'static str) -> CsvRowError {
        let column = self.columns[field.index()]
            .map(|i| self.column_name(i))
            .unwrap_or_default();
        CsvRowError::BadValue {
            column,
            value: value.to_string(),
            reason,
        }
    }

    fn number(&self, cells: &[String], field: Field) -> Result<Option<f64>, CsvRowError> {
        let Some(text) = self.cell(cells, field) else {
            return Ok(None);
        };
        parse_number(text)
            .map(Some)
            .ok_or_else(|| self.bad(field, text, "not a number"))
    }

    fn text(&self, cells: &[String], field: Field) -> Option<String> {
        let text = self.cell(cells, field)?;
        // AIS pads text with `@`; exports write unknown text as the word "Unknown".
        let text = text.trim_end_matches('@').trim();
        if text.is_empty() || text.eq_ignore_ascii_case("unknown") {
            None
        } else {
            Some(text.to_string())
        }
    }

    fn decode_cells(&self, cells: &[String], out: &mut Vec<AisEvent>) -> Result<(), CsvRowError> {
        // A refused row names its first bad cell in this order, so the order is kept.
        let mmsi = self.mmsi(cells)?;
        let time = self.time(cells)?;
        let mobile = self.mobile(cells)?;
        let motion = self.motion(cells)?;
        let statics = self.static_fields(cells)?;
        let heard = Heard {
            time: Some(time),
            time_source: Some(TimeSource::Csv),
            station: self.station.clone(),
            channel: None,
        };
        push_row_events(mmsi, mobile, motion, statics, heard, out);
        Ok(())
    }

    #[inline]
    fn mmsi(&self, cells: &[String]) -> Result<Mmsi, CsvRowError> {
        let mmsi_text = self.cell(cells, Field::Mmsi).unwrap_or("");
        mmsi_text
            .parse::<u32>()
            .map(Mmsi)
            .map_err(|_| self.bad(Field::Mmsi, mmsi_text, "not an MMSI"))
    }

    #[inline]
    fn time(&self, cells: &[String]) -> Result<UnixMillis, CsvRowError> {
        let time_text = self.cell(cells, Field::Time).unwrap_or("");
        match self.dialect {
            CsvDialect::MarineCadastre => UnixMillis::parse_iso8601(time_text),
            CsvDialect::Dma => parse_day_first(time_text),
        }
        .ok_or_else(|| self.bad(Field::Time, time_text, "not a date-time"))
    }

    #[inline]
    fn mobile(&self, cells: &[String]) -> Result<Mobile, CsvRowError> {
        Ok(match self.cell(cells, Field::Mobile) {
            Some(text) => mobile_from_text(text),
            None => Mobile::Vessel(match self.cell(cells, Field::Class) {
                Some(c) if c.eq_ignore_ascii_case("b") => TransceiverClass::B,
                Some(c) if c.eq_ignore_ascii_case("a") => TransceiverClass::A,
                Some(c) => return Err(self.bad(Field::Class, c, "not a transceiver class")),
                None => TransceiverClass::A,
            }),
        })
    }

    /// Position, speed, course, heading, turn and status; unavailable or out-of-range values
    /// become none, unreadable ones refuse the row.
    #[inline]
    fn motion(&self, cells: &[String]) -> Result<Motion, CsvRowError> {
        let lat = self.number(cells, Field::Lat)?;
        let lon = self.number(cells, Field::Lon)?;
        let position = match (lat, lon) {
            (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => Some((lat, lon)),
            _ => None,
        };
        let sog = self
            .number(cells, Field::Sog)?
            .filter(|s| (0.0..102.3).contains(s))
            .map(|s| s as f32);
        let cog = self
            .number(cells, Field::Cog)?
            .filter(|c| (0.0..360.0).contains(c))
            .map(|c| c as f32);
        let heading = self
            .number(cells, Field::Heading)?
            .filter(|h| (0.0..360.0).contains(h))
            .map(|h| h.round() as u16 % 360);
        let turn = self.number(cells, Field::Rot)?.map(|r| r as f32);
        let nav_status = match self.cell(cells, Field::NavStatus) {
            None => None,
            Some(text) => match text.parse::<f64>() {
                Ok(n) if (0.0..=15.0).contains(&n) && n.fract() == 0.0 => Some(n as u8),
                Ok(_) => return Err(self.bad(Field::NavStatus, text, "not a status code")),
                Err(_) => nav_status_from_text(text),
            },
        };
        Ok(Motion {
            position,
            sog,
            cog,
            heading,
            turn,
            nav_status,
        })
    }

    fn static_fields(&self, cells: &[String]) -> Result<StaticFields, CsvRowError> {
        let imo = match self.cell(cells, Field::Imo) {
            None => None,
            Some(text) if text.eq_ignore_ascii_case("unknown") => None,
            Some(text) => {
                let digits = text
                    .strip_prefix("IMO")
                    .or_else(|| text.strip_prefix("imo"))
                    .unwrap_or(text)
                    .trim();
                let n = digits
                    .parse::<u32>()
                    .map_err(|_| self.bad(Field::Imo, text, "not an IMO number"))?;
                (n != 0).then_some(n)
            }
        };
        let ship_type = match self.cell(cells, Field::ShipType) {
            None => None,
            Some(text) => match text.parse::<f64>() {
                // MarineCadastre's pre-2018 US codes (1001-1025) are not ITU codes.
                Ok(n) if (1.0..=99.0).contains(&n) && n.fract() == 0.0 => Some(n as u8),
                Ok(n) if n == 0.0 || n >= 100.0 => None,
                Ok(_) => return Err(self.bad(Field::ShipType, text, "not a ship type code")),
                Err(_) => ship_type_from_text(text),
            },
        };
        let metres = |field: Field| -> Result<Option<u16>, CsvRowError> {
            match self.number(cells, field)? {
                Some(m) if !(0.0..=2000.0).contains(&m) => {
                    let text = self.cell(cells, field).unwrap_or_default();
                    Err(self.bad(field, text, "not a plausible size in metres"))
                }
                Some(m) => Ok(Some(m.round() as u16).filter(|&m| m > 0)),
                None => Ok(None),
            }
        };
        let to_bow = metres(Field::ToBow)?;
        let to_stern = metres(Field::ToStern)?;
        let to_port = metres(Field::ToPort)?;
        let to_starboard = metres(Field::ToStarboard)?;
        let sum = |a: Option<u16>, b: Option<u16>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let length = metres(Field::Length)?.or(sum(to_bow, to_stern));
        let beam = metres(Field::Width)?.or(sum(to_port, to_starboard));
        let draught = match self.number(cells, Field::Draught)? {
            Some(d) if d < 0.0 => {
                let text = self.cell(cells, Field::Draught).unwrap_or_default();
                return Err(self.bad(Field::Draught, text, "negative draught"));
            }
            Some(d) => Some(d as f32).filter(|&d| d > 0.0),
            None => None,
        };
        let eta = match self.cell(cells, Field::Eta) {
            None => None,
            Some(text) => match parse_day_first(text) {
                Some(t) => {
                    let (_, mo, d, h, mi, ..) = t.to_civil();
                    Some(format!("{mo:02}-{d:02}T{h:02}:{mi:02}Z"))
                }
                None => return Err(self.bad(Field::Eta, text, "not a date-time")),
            },
        };
        Ok(StaticFields {
            imo,
            name: self.text(cells, Field::Name),
            callsign: self.text(cells, Field::Callsign),
            ship_type,
            to_bow,
            to_stern,
            to_port,
            to_starboard,
            length,
            beam,
            draught,
            destination: self.text(cells, Field::Destination),
            eta,
        })
    }
}

/// The dynamic cells of a row.
struct Motion {
    position: Option<(f64, f64)>,
    sog: Option<f32>,
    cog: Option<f32>,
    heading: Option<u16>,
    turn: Option<f32>,
    nav_status: Option<u8>,
}

/// The events one row stands for: a base station's heartbeat, an aid to navigation, or a
/// vessel's fix (or its absence) and its static data.
#[inline]
fn push_row_events(
    mmsi: Mmsi,
    mobile: Mobile,
    motion: Motion,
    statics: StaticFields,
    heard: Heard,
    out: &mut Vec<AisEvent>,
) {
    let Motion {
        position,
        sog,
        cog,
        heading,
        turn,
        nav_status,
    } = motion;
    let class = match mobile {
        Mobile::Vessel(class) => class,
        Mobile::BaseStation => {
            out.push(AisEvent::ReceiverHeartbeat(ReceiverHeartbeat {
                mmsi,
                heard,
                station_time: None,
                lat: position.map(|p| p.0),
                lon: position.map(|p| p.1),
            }));
            return;
        }
        Mobile::AidToNavigation => {
            out.push(AisEvent::Other(OtherMessage {
                mmsi,
                msg_type: 0,
                heard,
            }));
            return;
        }
    };
    match position {
        Some((lat, lon)) => out.push(AisEvent::Fix(Fix {
            mmsi,
            msg_type: 0,
            class,
            heard: heard.clone(),
            lat,
            lon,
            sog,
            cog,
            heading,
            nav_status,
            turn,
            accuracy: false,
            raim: false,
            second: None,
        })),
        None if !statics.any() => out.push(AisEvent::PositionUnavailable(OtherMessage {
            mmsi,
            msg_type: 0,
            heard: heard.clone(),
        })),
        None => {}
    }
    if statics.any() {
        out.push(AisEvent::VesselReport(VesselReport {
            mmsi,
            msg_type: 0,
            part: None,
            class: Some(class),
            heard,
            imo: statics.imo,
            name: statics.name,
            callsign: statics.callsign,
            ship_type: statics.ship_type,
            to_bow: statics.to_bow,
            to_stern: statics.to_stern,
            to_port: statics.to_port,
            to_starboard: statics.to_starboard,
            length: statics.length,
            beam: statics.beam,
            draught: statics.draught,
            destination: statics.destination,
            eta: statics.eta,
        }));
    }
}

/// The header's column names, lower case, without a leading `#` or byte-order mark.
fn split_header(header_line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let _ = split_cells(header_line.trim_end_matches(['\r', '\n']), &mut cells);
    cells
        .iter()
        .map(|c| {
            c.trim_start_matches('\u{feff}')
                .trim_start_matches('#')
                .trim()
                .to_ascii_lowercase()
        })
        .collect()
}

/// How a dialect spells a required column, for error messages.
fn name_as_written(dialect: CsvDialect, lower: &'static str) -> &'static str {
    match (dialect, lower) {
        (CsvDialect::MarineCadastre, "mmsi") => "MMSI",
        (CsvDialect::MarineCadastre, "basedatetime") => "BaseDateTime",
        (CsvDialect::MarineCadastre, "lat") => "LAT",
        (CsvDialect::MarineCadastre, "lon") => "LON",
        (CsvDialect::Dma, "timestamp") => "Timestamp",
        (CsvDialect::Dma, "mmsi") => "MMSI",
        (CsvDialect::Dma, "latitude") => "Latitude",
        (CsvDialect::Dma, "longitude") => "Longitude",
        (_, other) => other,
    }
}

/// Splits one CSV line into `cells` (reusing their allocations), honouring double quotes and
/// `""` escapes. On an unclosed quote returns the index of the cell it opened.
fn split_cells(line: &str, cells: &mut Vec<String>) -> Result<(), usize> {
    let mut used = 0;
    let mut next = |cells: &mut Vec<String>| -> usize {
        if used == cells.len() {
            cells.push(String::new());
        } else {
            cells[used].clear();
        }
        used += 1;
        used - 1
    };
    let mut current = next(cells);
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells[current].push('"');
            }
            ('"', true) => in_quotes = false,
            ('"', false) if cells[current].trim().is_empty() => {
                cells[current].clear();
                in_quotes = true;
            }
            (',', false) => current = next(cells),
            (c, _) => cells[current].push(c),
        }
    }
    cells.truncate(used);
    if in_quotes {
        Err(current)
    } else {
        Ok(())
    }
}

/// A decimal number; a lone decimal comma (`57,8794` in a quoted cell) is read as a point.
fn parse_number(text: &str) -> Option<f64> {
    let value = if text.contains(',') && !text.contains('.') {
        text.replacen(',', ".", 1).parse::<f64>().ok()?
    } else {
        text.parse::<f64>().ok()?
    };
    value.is_finite().then_some(value)
}

/// DMA's day-first `31/12/2015 23:59:59` (seconds optional), UTC.
pub fn parse_day_first(text: &str) -> Option<UnixMillis> {
    let (date, time) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    let mut d = date.split('/');
    let day = d.next()?.parse().ok()?;
    let month = d.next()?.parse().ok()?;
    let year = d.next()?.parse().ok()?;
    if d.next().is_some() {
        return None;
    }
    let mut t = time.trim().split([':', '.']);
    let mut part = || -> Option<u32> {
        match t.next() {
            None | Some("") => Some(0),
            Some(s) => s.parse().ok(),
        }
    };
    let (hour, minute, second) = (part()?, part()?, part()?);
    if t.next().is_some() {
        return None;
    }
    UnixMillis::from_civil(year, month, day, hour, minute, second, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn marinecadastre_bad_rows_name_their_column() {
        let (events, errors) = decode_file(MC_BAD_FIXTURE);
        assert!(
            events.is_empty(),
            "a refused row appends nothing: {events:?}"
        );
        let named: Vec<(usize, String)> = errors
            .iter()
            .map(|(line, e)| {
                let column = match e {
                    CsvRowError::BadValue { column, .. } => column.clone(),
                    CsvRowError::UnclosedQuote { column } => column.clone(),
                    CsvRowError::CellCount { .. } => "(cells)".to_string(),
                };
                (*line, column)
            })
            .collect();
        let expected = [
            (2, "MMSI"),
            (3, "BaseDateTime"),
            (4, "LAT"),
            (5, "SOG"),
            (6, "IMO"),
            (7, "Draft"),
            (8, "TransceiverClass"),
            (9, "(cells)"),
            (10, "VesselName"),
        ];
        let expected: Vec<(usize, String)> =
            expected.iter().map(|(l, c)| (*l, c.to_string())).collect();
        assert_eq!(named, expected);
        let message = errors[0].1.to_string();
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
    fn dma_bad_rows_name_their_column() {
        let (events, errors) = decode_file(DMA_BAD_FIXTURE);
        assert!(events.is_empty(), "{events:?}");
        let named: Vec<String> = errors
            .iter()
            .map(|(_, e)| match e {
                CsvRowError::BadValue { column, .. } => column.clone(),
                CsvRowError::UnclosedQuote { column } => column.clone(),
                CsvRowError::CellCount { .. } => "(cells)".to_string(),
            })
            .collect();
        assert_eq!(
            named,
            ["Timestamp", "ETA", "C", "(cells)", "ROT", "Width", "IMO"]
        );
        assert_eq!(errors.len(), 7);
    }

    #[test]
    fn detects_both_dialects_and_refuses_others() {
        assert_eq!(
            CsvDialect::detect(MC_HEADER),
            Some(CsvDialect::MarineCadastre)
        );
        assert_eq!(CsvDialect::detect(DMA_HEADER), Some(CsvDialect::Dma));
        assert_eq!(
            CsvDialect::detect("\u{feff}mmsi,basedatetime,lat,lon\r\n"),
            Some(CsvDialect::MarineCadastre)
        );
        assert_eq!(CsvDialect::detect("time,mmsi,lat,lon"), None);
        assert!(matches!(
            CsvDecoder::new("time,mmsi,lat,lon", None),
            Err(CsvError::UnknownDialect { .. })
        ));
    }

    #[test]
    fn missing_required_columns_are_named() {
        let err = CsvDecoder::new("MMSI,BaseDateTime,SOG", None).unwrap_err();
        assert_eq!(
            err,
            CsvError::MissingColumns {
                dialect: "MarineCadastre",
                missing: vec!["LAT", "LON"]
            }
        );
        assert!(err.to_string().contains("LAT, LON"));
    }

    #[test]
    fn quoted_cells_keep_commas_and_escaped_quotes() {
        let mut cells = Vec::new();
        split_cells(r#"1,"KAPITAN, ""BELOUSOV""",3"#, &mut cells).unwrap();
        assert_eq!(cells, vec!["1", r#"KAPITAN, "BELOUSOV""#, "3"]);
        assert_eq!(split_cells(r#"1,"open,2"#, &mut cells), Err(1));
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

    #[test]
    fn day_first_dates_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_day_first("01/03/2024 00:00:00"),
            UnixMillis::parse_iso8601("2024-03-01T00:00:00Z")
        );
        assert_eq!(
            parse_day_first("31/12/2015 23:59:59"),
            UnixMillis::parse_iso8601("2015-12-31T23:59:59Z")
        );
        assert_eq!(parse_day_first("2024-03-01 00:00:00"), None);
        assert_eq!(parse_day_first("31/02/2024 00:00:00"), None);
    }
}
