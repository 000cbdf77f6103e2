//! CSV column mappings: the `[[csv_map]]` sections of the configuration and the small TOML
//! file `--csv-map` names, read into the decoder's [`CsvMap`]s with every problem located.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::read::{read_toml, TomlProblems};
use super::ConfigErrors;
use crate::decode::csv::{CsvMap, CsvMapParams, CsvMapProblem};
use crate::problem::ConfigProblem;

/// Checks every `[[csv_map]]` and builds the good ones, in file order; each needs a name, and
/// names are unique.
pub(super) fn check_csv_maps(
    raw: &[CsvMapParams],
    doc: &DeTable<'_>,
    problems: &mut TomlProblems<'_>,
) -> Vec<CsvMap> {
    let items: Vec<Option<&DeTable<'_>>> = match doc.get("csv_map").map(|v| v.get_ref()) {
        Some(DeValue::Array(items)) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Table(table) => Some(table),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let section_at = |i: usize| match doc.get("csv_map").map(|v| v.get_ref()) {
        Some(DeValue::Array(items)) => items.get(i).map(|item| item.span().start),
        _ => None,
    };
    let mut maps = Vec::new();
    let mut names: Vec<(String, usize)> = Vec::new();
    for (i, params) in raw.iter().enumerate() {
        let table = items.get(i).copied().flatten();
        let at = |key: &str| table.and_then(|t| locate(t, key)).or(section_at(i));
        let field = |key: &str| format!("csv_map[{i}].{key}");
        match params.name.as_deref().map(str::trim) {
            None => problems.push(
                at("name"),
                Some(&field("name")),
                "is required: names the mapping in logs and errors".into(),
            ),
            Some(name) if !name.is_empty() => {
                if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
                    problems.push(
                        at("name"),
                        Some(&field("name")),
                        format!("`{name}` is already the name of csv_map[{first}]"),
                    );
                }
                names.push((name.to_string(), i));
            }
            Some(_) => {}
        }
        match params.check("") {
            Ok(map) => maps.push(map),
            Err(found) => {
                for CsvMapProblem { key, message } in found {
                    // A value of the wrong type was reported already, and then left out.
                    if !problems.mentions(&field(&key)) {
                        problems.push(at(&key), Some(&field(&key)), message);
                    }
                }
            }
        }
    }
    maps
}

/// Reads the mapping file `--csv-map` names: the keys of one `[[csv_map]]` at its top level,
/// its name defaulting to the file's stem.
pub fn load_csv_map_file(path: &Path) -> Result<CsvMap, ConfigErrors> {
    let unreadable = |message: String| ConfigErrors {
        problems: vec![ConfigProblem {
            file: path.to_path_buf(),
            location: None,
            field: None,
            message,
        }],
    };
    let text = std::fs::read_to_string(path)
        .map_err(|err| unreadable(format!("cannot read the CSV mapping file: {err}")))?;
    let mut problems = TomlProblems::new(path, &text);
    let (doc, params): (_, CsvMapParams) = read_toml(&text, &mut problems);
    let stem = path.file_stem().map_or_else(
        || "csv-map".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let checked = params.check(&stem);
    if let Err(found) = &checked {
        let fresh: Vec<&CsvMapProblem> = found
            .iter()
            .filter(|p| !problems.mentions(&p.key))
            .collect();
        for problem in fresh {
            let at = locate(doc.get_ref(), &problem.key);
            problems.push(at, Some(&problem.key), problem.message.clone());
        }
    }
    let problems = problems.into_sorted();
    match checked {
        Ok(map) if problems.is_empty() => Ok(map),
        _ => Err(ConfigErrors { problems }),
    }
}

/// Where a dotted key (`columns.lat`) is written, or else the nearest table around it that is.
fn locate(table: &DeTable<'_>, key: &str) -> Option<usize> {
    let (first, rest) = key
        .split_once('.')
        .map_or((key, None), |(a, b)| (a, Some(b)));
    let value = table.get(first)?;
    match (rest, value.get_ref()) {
        (Some(rest), DeValue::Table(inner)) => locate(inner, rest).or(Some(value.span().start)),
        _ => Some(value.span().start),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{problems, MINIMAL};
    use super::*;

    const SPIRE: &str = "[[csv_map]]\nname = \"spire\"\ntime_format = \"iso\"\n\
        [csv_map.columns]\nmmsi = \"mmsi\"\ntime = \"timestamp\"\nlat = \"latitude\"\n\
        lon = \"longitude\"\nsog = \"speed\"\n";

    #[test]
    fn csv_maps_are_read_in_file_order() {
        let config = super::super::testing::load(&format!("{MINIMAL}{SPIRE}")).unwrap();
        assert_eq!(config.csv_maps.len(), 1);
        assert_eq!(config.csv_maps[0].name(), "spire");
        assert!(config.csv_maps[0].recognises("mmsi,timestamp,latitude,longitude,speed"));
        assert_eq!(config.decode_options(None).csv_maps, config.csv_maps);
    }

    #[test]
    fn csv_map_problems_name_file_line_and_key() {
        let text = format!(
            "{MINIMAL}[[csv_map]]\ntime_format = \"%Y%m%d_%H%M%Q\"\n[csv_map.columns]\n\
             mmsi = \"MMSI\"\nspeeed = \"SOG\"\n"
        );
        let found = problems(&text);
        let seen: Vec<(Option<&str>, Option<&str>)> = found
            .iter()
            .map(|p| (p.location.as_deref(), p.field.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (Some("line 3"), Some("csv_map[0].name")),
                (Some("line 4"), Some("csv_map[0].time_format")),
                (Some("line 5"), Some("csv_map[0].columns.time")),
                (Some("line 5"), Some("csv_map[0].columns.lat")),
                (Some("line 5"), Some("csv_map[0].columns.lon")),
                (Some("line 7"), Some("csv_map[0].columns.speeed")),
            ],
            "{found:#?}"
        );
        assert!(
            found[5].message.contains("unknown field `speeed`"),
            "{found:#?}"
        );
        assert!(found[1].message.contains("`%Q`"), "{found:#?}");
    }

    #[test]
    fn two_csv_maps_cannot_share_a_name() {
        let found = problems(&format!("{MINIMAL}{SPIRE}{SPIRE}"));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].field.as_deref(), Some("csv_map[1].name"));
        assert!(found[0].message.contains("csv_map[0]"));
    }

    #[test]
    fn a_csv_map_file_is_one_mapping_named_by_its_stem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spire.toml");
        let body = SPIRE
            .replace("[[csv_map]]\nname = \"spire\"\n", "")
            .replace("csv_map.columns", "columns");
        std::fs::write(&path, body).unwrap();
        let map = load_csv_map_file(&path).unwrap();
        assert_eq!(map.name(), "spire");

        std::fs::write(
            &path,
            "delimiter = \";;\"\n[columns]\nmmsi = \"MMSI\"\nlat = 3\n",
        )
        .unwrap();
        let errors = load_csv_map_file(&path).unwrap_err();
        let rendered = errors.to_string();
        let fields: Vec<Option<&str>> =
            errors.problems.iter().map(|p| p.field.as_deref()).collect();
        assert_eq!(
            fields,
            [
                Some("delimiter"),
                Some("columns.time"),
                Some("columns.lon"),
                Some("columns.lat")
            ],
            "{rendered}"
        );
        assert!(rendered.contains("spire.toml:line 1"), "{rendered}");
        assert!(rendered.contains("line 4"), "{rendered}");
        let missing = load_csv_map_file(&dir.path().join("absent.toml")).unwrap_err();
        assert!(missing
            .to_string()
            .contains("cannot read the CSV mapping file"));
    }
}
