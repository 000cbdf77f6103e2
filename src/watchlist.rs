//! The watchlist: vessels to watch whatever their ship type, by MMSI and/or IMO number, read
//! from a small CSV file (`mmsi,imo,name,note`).

use std::collections::HashMap;
use std::path::Path;

use crate::model::Mmsi;
use crate::problem::ConfigProblem;

/// One listed vessel. At least one of `mmsi` and `imo` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEntry {
    pub mmsi: Option<Mmsi>,
    pub imo: Option<u32>,
    pub name: Option<String>,
    pub note: Option<String>,
    /// 1-based line in the file it came from, for messages.
    pub line: usize,
}

/// Watched vessels, looked up by MMSI or IMO.
#[derive(Clone, Debug, Default)]
pub struct Watchlist {
    entries: Vec<WatchEntry>,
    by_mmsi: HashMap<Mmsi, usize>,
    by_imo: HashMap<u32, usize>,
}

/// The problems found in one watchlist file, each at its line.
struct FileProblems<'a> {
    path: &'a Path,
    found: Vec<ConfigProblem>,
}

impl FileProblems<'_> {
    fn fail(&mut self, line: usize, field: Option<&str>, message: String) {
        self.found.push(ConfigProblem {
            file: self.path.to_path_buf(),
            location: Some(format!("line {line}")),
            field: field.map(str::to_owned),
            message,
        });
    }
}

/// The columns a watchlist file may have, in the documented order.
const COLUMNS: [&str; 4] = ["mmsi", "imo", "name", "note"];

impl Watchlist {
    /// Whether the vessel is listed under its MMSI or, when known, its IMO number. Matching on
    /// IMO catches a listed hull that changed flag and so MMSI.
    pub fn contains(&self, mmsi: Mmsi, imo: Option<u32>) -> bool {
        self.entry_for(mmsi, imo).is_some()
    }

    /// The listed entry for this vessel, MMSI match first.
    pub fn entry_for(&self, mmsi: Mmsi, imo: Option<u32>) -> Option<&WatchEntry> {
        self.by_mmsi
            .get(&mmsi)
            .or_else(|| imo.and_then(|imo| self.by_imo.get(&imo)))
            .map(|&i| &self.entries[i])
    }

    /// Number of listed vessels (rows).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[WatchEntry] {
        &self.entries
    }

    /// Reads a watchlist CSV file; every bad row is reported with its line and column.
    pub fn load(path: &Path) -> Result<Watchlist, Vec<ConfigProblem>> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            vec![ConfigProblem {
                file: path.to_path_buf(),
                location: None,
                field: None,
                message: format!("cannot read the watchlist file: {err}"),
            }]
        })?;
        Watchlist::parse(&text, path)
    }

    /// Parses watchlist CSV text; `path` only labels the problems.
    ///
    /// Format: a header naming the columns (`mmsi` and `imo` required, `name` and `note`
    /// optional, any order), then one vessel per row with an MMSI (9 digits, a ship station),
    /// an IMO number (7 digits with a valid check digit, `IMO` prefix allowed) or both. Lines
    /// starting with `#` and blank lines are ignored. Fields containing commas are quoted.
    pub fn parse(text: &str, path: &Path) -> Result<Watchlist, Vec<ConfigProblem>> {
        let mut problems = FileProblems {
            path,
            found: Vec::new(),
        };
        let mut watchlist = Watchlist::default();
        let mut header: Option<Vec<usize>> = None;
        let mut header_refused = false;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let raw = raw.trim_start_matches('\u{feff}');
            if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
                continue;
            }
            let fields = match split_csv_line(raw) {
                Ok(fields) => fields,
                Err(message) => {
                    problems.fail(line, None, message);
                    continue;
                }
            };
            let Some(columns) = &header else {
                match parse_header(&fields) {
                    Ok(columns) => header = Some(columns),
                    Err(message) => {
                        problems.fail(line, None, message);
                        // Without a header no row can be read; the rest would only repeat it.
                        header_refused = true;
                        break;
                    }
                }
                continue;
            };
            if let Some(entry) = watchlist.check_row(line, &fields, columns, &mut problems) {
                watchlist.push(entry);
            }
        }
        if header.is_none() && !header_refused {
            problems.fail(
                1,
                None,
                "no header; the first line that is not a comment must be `mmsi,imo,name,note`"
                    .to_owned(),
            );
        }
        if problems.found.is_empty() {
            Ok(watchlist)
        } else {
            Err(problems.found)
        }
    }

    /// One row as an entry, or none when something in it was reported; a vessel listed on an
    /// earlier row is reported too.
    fn check_row(
        &self,
        line: usize,
        fields: &[String],
        columns: &[usize],
        problems: &mut FileProblems<'_>,
    ) -> Option<WatchEntry> {
        if fields.len() > columns.len() {
            problems.fail(
                line,
                None,
                format!(
                    "{} fields but the header has {} columns (quote a field that contains \
                     a comma)",
                    fields.len(),
                    columns.len()
                ),
            );
            return None;
        }
        let mut cells: [Option<&str>; 4] = [None; 4];
        for (field, &column) in fields.iter().zip(columns) {
            let value = field.trim();
            cells[column] = (!value.is_empty()).then_some(value);
        }
        let [mmsi_text, imo_text, name, note] = cells;
        let mut row_ok = true;
        let mmsi = mmsi_text.and_then(|text| match parse_mmsi(text) {
            Ok(mmsi) => Some(mmsi),
            Err(message) => {
                problems.fail(line, Some("mmsi"), message);
                row_ok = false;
                None
            }
        });
        let imo = imo_text.and_then(|text| match parse_imo(text) {
            Ok(imo) => Some(imo),
            Err(message) => {
                problems.fail(line, Some("imo"), message);
                row_ok = false;
                None
            }
        });
        if mmsi_text.is_none() && imo_text.is_none() {
            problems.fail(
                line,
                None,
                "row has neither an mmsi nor an imo; give at least one".to_owned(),
            );
            row_ok = false;
        }
        if let Some(first) = mmsi.and_then(|m| self.by_mmsi.get(&m)) {
            let first = self.entries[*first].line;
            problems.fail(
                line,
                Some("mmsi"),
                format!(
                    "{} is already listed on line {first}",
                    mmsi.unwrap_or_default()
                ),
            );
            row_ok = false;
        }
        if let Some(first) = imo.and_then(|i| self.by_imo.get(&i)) {
            let first = self.entries[*first].line;
            problems.fail(
                line,
                Some("imo"),
                format!(
                    "{} is already listed on line {first}",
                    imo.unwrap_or_default()
                ),
            );
            row_ok = false;
        }
        row_ok.then(|| WatchEntry {
            mmsi,
            imo,
            name: name.map(str::to_owned),
            note: note.map(str::to_owned),
            line,
        })
    }

    fn push(&mut self, entry: WatchEntry) {
        let index = self.entries.len();
        if let Some(mmsi) = entry.mmsi {
            self.by_mmsi.insert(mmsi, index);
        }
        if let Some(imo) = entry.imo {
            self.by_imo.insert(imo, index);
        }
        self.entries.push(entry);
    }
}

/// Column order of the header as indexes into `COLUMNS`.
fn parse_header(fields: &[String]) -> Result<Vec<usize>, String> {
    let mut columns = Vec::with_capacity(fields.len());
    for field in fields {
        let name = field.trim().to_ascii_lowercase();
        match COLUMNS.iter().position(|c| *c == name) {
            Some(i) if columns.contains(&i) => {
                return Err(format!("header names column `{name}` twice"));
            }
            Some(i) => columns.push(i),
            None => {
                return Err(format!(
                    "expected the header `mmsi,imo,name,note`; `{}` is not one of those columns",
                    field.trim()
                ));
            }
        }
    }
    for required in [0, 1] {
        if !columns.contains(&required) {
            return Err(format!(
                "header lacks the `{}` column; expected `mmsi,imo,name,note`",
                COLUMNS[required]
            ));
        }
    }
    Ok(columns)
}

fn parse_mmsi(text: &str) -> Result<Mmsi, String> {
    if text.len() != 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not an MMSI (9 digits)"));
    }
    let mmsi = Mmsi(
        text.parse()
            .map_err(|_| format!("`{text}` is not an MMSI"))?,
    );
    if !mmsi.is_vessel() {
        return Err(format!(
            "{mmsi} is not a ship station (ship MMSIs start with a flag code 2xx-7xx, \
             groups of ships with 0 and a flag code); only vessels can go dark on a voyage"
        ));
    }
    Ok(mmsi)
}

/// 7 digits, optionally after `IMO`, whose last digit is the check digit: the sum of the first
/// six digits weighted 7, 6, 5, 4, 3, 2, modulo 10.
fn parse_imo(text: &str) -> Result<u32, String> {
    let digits = match text.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case("IMO") => text[3..].trim_start(),
        _ => text,
    };
    if digits.len() != 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{text}` is not an IMO number (7 digits, `IMO` prefix allowed)"
        ));
    }
    let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let expected = d[..6]
        .iter()
        .zip([7, 6, 5, 4, 3, 2])
        .map(|(digit, weight)| digit * weight)
        .sum::<u32>()
        % 10;
    if d[6] != expected {
        return Err(format!(
            "IMO {digits} fails its check digit: the last digit should be {expected}, not {}",
            d[6]
        ));
    }
    digits
        .parse()
        .map_err(|_| format!("`{text}` is not an IMO number"))
}

/// Splits one CSV line (RFC 4180 quoting within the line; `""` is a quote inside a quoted
/// field).
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start || field.trim().is_empty() => {
                field.clear();
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quoted field (fields cannot span lines)".to_owned());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Watchlist, Vec<ConfigProblem>> {
        Watchlist::parse(text, Path::new("w.csv"))
    }

    fn rendered(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn reads_rows_by_mmsi_and_imo() {
        let list = parse(
            "# watched vessels\n\
             mmsi,imo,name,note\n\
             \n\
             445000001,,EXAMPLE ONE,\n\
             ,IMO1234567,EXAMPLE TWO,\"hull, old name\"\n\
             445000003,9074729,,\n",
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        assert!(!list.is_empty());
        assert!(list.contains(Mmsi(445_000_001), None));
        assert!(list.contains(Mmsi(273_000_000), Some(1_234_567)));
        assert!(list.contains(Mmsi(445_000_003), None));
        assert!(list.contains(Mmsi(999_999), Some(9_074_729)));
        assert!(!list.contains(Mmsi(445_000_002), Some(7_654_321)));
        let two = list.entry_for(Mmsi(1), Some(1_234_567)).unwrap();
        assert_eq!(two.note.as_deref(), Some("hull, old name"));
        assert_eq!(two.line, 5);
    }

    #[test]
    fn imo_check_digit() {
        assert_eq!(parse_imo("1234567"), Ok(1_234_567));
        assert_eq!(parse_imo("IMO1234567"), Ok(1_234_567));
        assert_eq!(parse_imo("imo 9074729"), Ok(9_074_729));
        assert_eq!(
            parse_imo("1234568"),
            Err("IMO 1234568 fails its check digit: the last digit should be 7, not 8".into())
        );
        assert!(parse_imo("123456").is_err());
        assert!(parse_imo("12345678").is_err());
        assert!(parse_imo("IMO12345a7").is_err());
    }

    #[test]
    fn mmsi_must_be_nine_digits_of_a_ship_station() {
        assert_eq!(parse_mmsi("445000001"), Ok(Mmsi(445_000_001)));
        assert_eq!(parse_mmsi("200000000"), Ok(Mmsi(200_000_000)));
        assert_eq!(parse_mmsi("799999999"), Ok(Mmsi(799_999_999)));
        assert_eq!(
            parse_mmsi("036926403"),
            Ok(Mmsi(36_926_403)),
            "a group of ships"
        );
        assert!(parse_mmsi("44500001").is_err());
        assert!(parse_mmsi("4450000011").is_err());
        assert!(parse_mmsi("199999999")
            .unwrap_err()
            .contains("not a ship station"));
        assert!(parse_mmsi("800000000")
            .unwrap_err()
            .contains("not a ship station"));
        assert!(parse_mmsi("002734500")
            .unwrap_err()
            .contains("not a ship station"));
        assert!(parse_mmsi("44500000x").is_err());
    }

    #[test]
    fn every_bad_row_is_reported_with_line_and_column() {
        let problems = rendered(
            "mmsi,imo,name,note\n\
             445000001,1234568,BAD CHECK,\n\
             ,,NOBODY,\n\
             12345,,SHORT,\n\
             445000001,,AGAIN,\n\
             445000009,,A,B,C\n\
             \"445000010,,OPEN\n",
        );
        assert_eq!(
            problems,
            [
                "w.csv:line 2: imo: IMO 1234568 fails its check digit: the last digit should \
                 be 7, not 8",
                "w.csv:line 3: row has neither an mmsi nor an imo; give at least one",
                "w.csv:line 4: mmsi: `12345` is not an MMSI (9 digits)",
                "w.csv:line 6: 5 fields but the header has 4 columns (quote a field that \
                 contains a comma)",
                "w.csv:line 7: unterminated quoted field (fields cannot span lines)",
            ]
        );
    }

    #[test]
    fn duplicates_are_reported_against_the_first_listing() {
        let problems =
            rendered("mmsi,imo,name,note\n445000001,1234567,,\n445000001,,,\n,IMO1234567,,\n");
        assert_eq!(
            problems,
            [
                "w.csv:line 3: mmsi: 445000001 is already listed on line 2",
                "w.csv:line 4: imo: 1234567 is already listed on line 2",
            ]
        );
    }

    #[test]
    fn header_rules() {
        // Column order is free and name/note are optional.
        let list = parse("imo,mmsi\n1234567,445000001\n").unwrap();
        assert!(list.contains(Mmsi(445_000_001), None));
        assert_eq!(
            rendered("mmsi,name\n445000001,X\n"),
            ["w.csv:line 1: header lacks the `imo` column; expected `mmsi,imo,name,note`"]
        );
        assert_eq!(
            rendered("# only a comment\n445000001,,X,\n"),
            [
                "w.csv:line 2: expected the header `mmsi,imo,name,note`; `445000001` is not one \
              of those columns"
            ]
        );
        assert_eq!(
            rendered("# nothing\n"),
            [
                "w.csv:line 1: no header; the first line that is not a comment must be \
              `mmsi,imo,name,note`"
            ]
        );
        // A header and nothing else is an empty, valid list.
        assert!(parse("mmsi,imo,name,note\n").unwrap().is_empty());
        // Fewer fields than columns: the missing ones are empty.
        assert!(parse("mmsi,imo,name,note\n445000001\n").unwrap().len() == 1);
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(split_csv_line("a,b,,d").unwrap(), ["a", "b", "", "d"]);
        assert_eq!(
            split_csv_line(r#"1,"x, ""y""",z"#).unwrap(),
            ["1", r#"x, "y""#, "z"]
        );
        assert!(split_csv_line(r#"1,"open"#).is_err());
    }
}
