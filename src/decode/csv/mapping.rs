//! Column mappings of CSV exports: which header column holds each field, how times are
//! written, the delimiter and the quote, and which headers a mapping recognises. The
//! MarineCadastre and DMA layouts are built-in presets; any other export is described by a
//! mapping read from the configuration or a `--csv-map` file.

use serde::{Deserialize, Serialize};

use super::time_format::TimeFormat;

/// Every field the decoder understands, whatever an export calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Mmsi,
    Time,
    Millis,
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

pub(super) const FIELD_COUNT: usize = Field::ToStarboard as usize + 1;

/// A row cannot become a fix without these.
pub(super) const CORE_FIELDS: [Field; 4] = [Field::Mmsi, Field::Time, Field::Lat, Field::Lon];

impl Field {
    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// A mapping as written (`[[csv_map]]` in the configuration, or a `--csv-map` file): every
/// key optional so that [`CsvMapParams::check`] can name each one missing or wrong.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvMapParams {
    /// Names the mapping in logs and errors.
    pub name: Option<String>,
    /// One character; `,` when left out (`"\t"` for tab-separated files).
    pub delimiter: Option<String>,
    /// One character, or `""` for none; `"` when left out (RFC 4180 quoting, `""` inside).
    pub quote: Option<String>,
    /// `iso` (default), `epoch_s`, `epoch_ms`, `day_first` or a pattern (`%Y%m%d_%H%M%S`).
    pub time_format: Option<String>,
    /// Columns a header must have for the mapping to apply; the mapped MMSI and time columns
    /// when left out.
    pub header_contains: Vec<String>,
    pub columns: CsvColumns,
}

/// Header column names (matched ignoring case) of each field; `mmsi`, `time`, `lat` and `lon`
/// are required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvColumns {
    pub mmsi: Option<String>,
    pub time: Option<String>,
    /// Milliseconds to add to a time written to the second.
    pub millis: Option<String>,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub sog: Option<String>,
    pub cog: Option<String>,
    pub heading: Option<String>,
    pub rot: Option<String>,
    pub nav_status: Option<String>,
    pub name: Option<String>,
    /// `1234567` or `IMO1234567`.
    pub imo: Option<String>,
    pub call_sign: Option<String>,
    /// An ITU code, or DMA's words (`Tanker`, `Tug`).
    pub ship_type: Option<String>,
    pub length: Option<String>,
    pub width: Option<String>,
    pub to_bow: Option<String>,
    pub to_stern: Option<String>,
    pub to_port: Option<String>,
    pub to_starboard: Option<String>,
    pub draught: Option<String>,
    pub destination: Option<String>,
    pub eta: Option<String>,
    /// `A` or `B` (also `Class A`).
    pub class: Option<String>,
    /// DMA's `Type of mobile` (`Class A`, `Class B`, `Base Station`, `AtoN`).
    pub mobile: Option<String>,
}

impl CsvColumns {
    /// `(key, field, column)` for every key, in the order the keys are documented.
    fn entries(&self) -> [(&'static str, Field, Option<&String>); FIELD_COUNT] {
        [
            ("mmsi", Field::Mmsi, self.mmsi.as_ref()),
            ("time", Field::Time, self.time.as_ref()),
            ("millis", Field::Millis, self.millis.as_ref()),
            ("lat", Field::Lat, self.lat.as_ref()),
            ("lon", Field::Lon, self.lon.as_ref()),
            ("sog", Field::Sog, self.sog.as_ref()),
            ("cog", Field::Cog, self.cog.as_ref()),
            ("heading", Field::Heading, self.heading.as_ref()),
            ("rot", Field::Rot, self.rot.as_ref()),
            ("nav_status", Field::NavStatus, self.nav_status.as_ref()),
            ("name", Field::Name, self.name.as_ref()),
            ("imo", Field::Imo, self.imo.as_ref()),
            ("call_sign", Field::Callsign, self.call_sign.as_ref()),
            ("ship_type", Field::ShipType, self.ship_type.as_ref()),
            ("length", Field::Length, self.length.as_ref()),
            ("width", Field::Width, self.width.as_ref()),
            ("to_bow", Field::ToBow, self.to_bow.as_ref()),
            ("to_stern", Field::ToStern, self.to_stern.as_ref()),
            ("to_port", Field::ToPort, self.to_port.as_ref()),
            (
                "to_starboard",
                Field::ToStarboard,
                self.to_starboard.as_ref(),
            ),
            ("draught", Field::Draught, self.draught.as_ref()),
            ("destination", Field::Destination, self.destination.as_ref()),
            ("eta", Field::Eta, self.eta.as_ref()),
            ("class", Field::Class, self.class.as_ref()),
            ("mobile", Field::Mobile, self.mobile.as_ref()),
        ]
    }
}

/// One thing wrong with a mapping: the key as written (`columns.lat`, `time_format`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvMapProblem {
    pub key: String,
    pub message: String,
}

/// A checked mapping, ready to read headers and rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvMap {
    pub(super) name: String,
    pub(super) delimiter: char,
    pub(super) quote: Option<char>,
    pub(super) time: TimeFormat,
    /// Columns (as written) a header must have for this mapping to apply.
    recognise: Vec<String>,
    /// Column name (as written) of each mapped field.
    pub(super) columns: Vec<(Field, String)>,
    /// A mapped optional column the header lacks is worth a warning for a mapping someone
    /// wrote; the presets cover export years that lack some columns.
    pub(super) warn_absent: bool,
}

impl CsvMapParams {
    /// Checks the mapping; `default_name` names it when `name` is left out (a `--csv-map`
    /// file's stem). Every problem is returned, not only the first.
    pub fn check(&self, default_name: &str) -> Result<CsvMap, Vec<CsvMapProblem>> {
        let mut problems = Vec::new();
        let mut fail = |key: &str, message: String| {
            problems.push(CsvMapProblem {
                key: key.to_string(),
                message,
            })
        };
        let name = match self.name.as_deref().map(str::trim) {
            Some("") => {
                fail("name", "must not be empty".into());
                String::new()
            }
            Some(name) => name.to_string(),
            None => default_name.to_string(),
        };
        let delimiter = match self.delimiter.as_deref() {
            None => ',',
            Some(text) => match one_char(text) {
                Some(c) if c != '"' && c != '\n' && c != '\r' => c,
                _ => {
                    fail("delimiter", format!("must be one character, got {text:?}"));
                    ','
                }
            },
        };
        let quote = match self.quote.as_deref() {
            None => Some('"'),
            Some("") => None,
            Some(text) => match one_char(text) {
                Some(c) if c != delimiter => Some(c),
                _ => {
                    fail(
                        "quote",
                        format!("must be one character other than the delimiter, or \"\" for none, got {text:?}"),
                    );
                    Some('"')
                }
            },
        };
        let time = match TimeFormat::parse(self.time_format.as_deref().unwrap_or("iso")) {
            Ok(format) => format,
            Err(message) => {
                fail("time_format", message);
                TimeFormat::Iso
            }
        };
        let mut columns = Vec::new();
        for (key, field, column) in self.columns.entries() {
            match column.map(|c| c.trim()) {
                Some("") => fail(
                    &format!("columns.{key}"),
                    "must name a header column".into(),
                ),
                Some(column) => columns.push((field, column.to_string())),
                None if CORE_FIELDS.contains(&field) => fail(
                    &format!("columns.{key}"),
                    format!(
                        "is required: the header column that holds the {}",
                        describe(field)
                    ),
                ),
                None => {}
            }
        }
        let mut recognise: Vec<String> = self
            .header_contains
            .iter()
            .map(|c| c.trim().to_string())
            .collect();
        if recognise.iter().any(String::is_empty) {
            fail(
                "header_contains",
                "must not list an empty column name".into(),
            );
        }
        if recognise.is_empty() {
            recognise = columns
                .iter()
                .filter(|(f, _)| matches!(f, Field::Mmsi | Field::Time))
                .map(|(_, c)| c.clone())
                .collect();
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CsvMap {
            name,
            delimiter,
            quote,
            time,
            recognise,
            columns,
            warn_absent: true,
        })
    }
}

fn one_char(text: &str) -> Option<char> {
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

fn describe(field: Field) -> &'static str {
    match field {
        Field::Mmsi => "MMSI",
        Field::Time => "time of the report",
        Field::Lat => "latitude",
        _ => "longitude",
    }
}

impl CsvMap {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// US MarineCadastre / NOAA AccessAIS: `MMSI,BaseDateTime,LAT,LON,...`, ISO times.
    pub fn marine_cadastre() -> CsvMap {
        preset(
            "MarineCadastre",
            TimeFormat::Iso,
            &["MMSI", "BaseDateTime"],
            &[
                (Field::Mmsi, "MMSI"),
                (Field::Time, "BaseDateTime"),
                (Field::Lat, "LAT"),
                (Field::Lon, "LON"),
                (Field::Sog, "SOG"),
                (Field::Cog, "COG"),
                (Field::Heading, "Heading"),
                (Field::Name, "VesselName"),
                (Field::Imo, "IMO"),
                (Field::Callsign, "CallSign"),
                (Field::ShipType, "VesselType"),
                (Field::NavStatus, "Status"),
                (Field::Length, "Length"),
                (Field::Width, "Width"),
                (Field::Draught, "Draft"),
                (Field::Class, "TransceiverClass"),
            ],
        )
    }

    /// Danish Maritime Authority daily files: `# Timestamp,Type of mobile,MMSI,...`,
    /// day-first times, words for ship types and statuses, A/B/C/D dimensions.
    pub fn dma() -> CsvMap {
        preset(
            "DMA",
            TimeFormat::DayFirst,
            &["MMSI", "Timestamp", "Type of mobile"],
            &[
                (Field::Time, "Timestamp"),
                (Field::Mobile, "Type of mobile"),
                (Field::Mmsi, "MMSI"),
                (Field::Lat, "Latitude"),
                (Field::Lon, "Longitude"),
                (Field::NavStatus, "Navigational status"),
                (Field::Rot, "ROT"),
                (Field::Sog, "SOG"),
                (Field::Cog, "COG"),
                (Field::Heading, "Heading"),
                (Field::Imo, "IMO"),
                (Field::Callsign, "Callsign"),
                (Field::Name, "Name"),
                (Field::ShipType, "Ship type"),
                (Field::Width, "Width"),
                (Field::Length, "Length"),
                (Field::Draught, "Draught"),
                (Field::Destination, "Destination"),
                (Field::Eta, "ETA"),
                (Field::ToBow, "A"),
                (Field::ToStern, "B"),
                (Field::ToPort, "C"),
                (Field::ToStarboard, "D"),
            ],
        )
    }

    /// The built-in layouts, tried after any configured mapping.
    pub fn presets() -> Vec<CsvMap> {
        vec![CsvMap::marine_cadastre(), CsvMap::dma()]
    }

    /// Whether this mapping applies to a header (its recognition columns are all there).
    pub fn recognises(&self, header_line: &str) -> bool {
        let names = header_names(header_line, self.delimiter, self.quote);
        self.recognise
            .iter()
            .all(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)))
    }

    /// The first of `maps` that recognises the header.
    pub fn find<'m>(header_line: &str, maps: &'m [CsvMap]) -> Option<&'m CsvMap> {
        maps.iter().find(|m| m.recognises(header_line))
    }

    pub(super) fn column(&self, field: Field) -> Option<&str> {
        self.columns
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, c)| c.as_str())
    }
}

fn preset(name: &str, time: TimeFormat, recognise: &[&str], columns: &[(Field, &str)]) -> CsvMap {
    CsvMap {
        name: name.to_string(),
        delimiter: ',',
        quote: Some('"'),
        time,
        recognise: recognise.iter().map(|c| c.to_string()).collect(),
        columns: columns.iter().map(|&(f, c)| (f, c.to_string())).collect(),
        warn_absent: false,
    }
}

/// A header's column names as written, without a byte-order mark, a leading `#` or padding.
pub(super) fn header_names(header_line: &str, delimiter: char, quote: Option<char>) -> Vec<String> {
    let line = header_line.trim_end_matches(['\r', '\n']);
    let mut cells = super::cells::Cells::default();
    let _ = super::cells::split_cells(line, delimiter, quote, &mut cells);
    let row = super::cells::Row::new(line, &cells);
    (0..row.len())
        .filter_map(|i| row.get(i))
        .map(|c| {
            c.trim_start_matches('\u{feff}')
                .trim_start_matches('#')
                .trim()
                .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spire() -> CsvMapParams {
        CsvMapParams {
            columns: CsvColumns {
                mmsi: Some("mmsi".into()),
                time: Some("timestamp".into()),
                lat: Some("latitude".into()),
                lon: Some("longitude".into()),
                ..CsvColumns::default()
            },
            ..CsvMapParams::default()
        }
    }

    #[test]
    fn a_mapping_recognises_headers_by_its_mmsi_and_time_columns() {
        let map = spire().check("spire").unwrap();
        assert_eq!(map.name(), "spire");
        assert!(map.recognises("MMSI,Timestamp,Latitude,Longitude\r\n"));
        assert!(!map.recognises("mmsi,time,latitude,longitude"));
        let presets = CsvMap::presets();
        let found = CsvMap::find("MMSI,BaseDateTime,LAT,LON", &presets);
        assert_eq!(found.map(CsvMap::name), Some("MarineCadastre"));
        let found = CsvMap::find("# Timestamp,Type of mobile,MMSI,Latitude", &presets);
        assert_eq!(found.map(CsvMap::name), Some("DMA"));
        assert_eq!(CsvMap::find("time,mmsi,lat,lon", &presets), None);
    }

    #[test]
    fn every_problem_of_a_mapping_is_named_by_its_key() {
        let params = CsvMapParams {
            delimiter: Some(";;".into()),
            quote: Some(";".into()),
            time_format: Some("%Y%m%d_%H%M%Q".into()),
            columns: CsvColumns {
                mmsi: Some("mmsi".into()),
                sog: Some(" ".into()),
                ..CsvColumns::default()
            },
            ..CsvMapParams::default()
        };
        let problems = params.check("x").unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "delimiter",
                "time_format",
                "columns.time",
                "columns.lat",
                "columns.lon",
                "columns.sog"
            ],
            "{problems:?}"
        );
        assert!(problems[2].message.contains("is required"));
    }
}
