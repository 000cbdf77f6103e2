//! The files the TOML names: the designated ports (`[ports]`) and the watchlist
//! (`[watchlist]`). A file that is missing is a problem of the TOML, at the line naming it; what
//! is wrong inside a file is a problem of that file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::read::{value_span, value_start, TomlProblems};
use crate::ports::{load_ports, Port};
use crate::problem::ConfigProblem;
use crate::watchlist::Watchlist;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPorts {
    /// Required, but checked by hand so that its absence is one clear problem.
    file: Option<PathBuf>,
    /// More designated-port files (an operator's own additions); names unique across all.
    #[serde(default)]
    extra_files: Vec<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWatchlist {
    file: Option<PathBuf>,
}

/// A ports file the TOML names: where it names it, and as which setting.
type NamedFile<'r> = (&'r PathBuf, Option<usize>, &'static str);

/// Loads `[ports] file` and `extra_files`: missing files are TOML problems (at the line naming
/// them), bad features are problems of the GeoJSON file. Names must be unique across files.
pub(super) fn load_all_ports(
    raw: &RawPorts,
    folder: &Path,
    doc: &DeTable<'_>,
    toml_problems: &mut TomlProblems<'_>,
) -> Result<Vec<Port>, Vec<ConfigProblem>> {
    let named = named_ports_files(raw, doc, toml_problems);
    let mut problems = Vec::new();
    let mut ports = UniquePorts::default();
    let mut loaded_files = Vec::new();
    for (file, at, field) in named {
        let resolved = resolve_against(folder, file);
        if !resolved.is_file() {
            toml_problems.push(at, Some(field), missing_file_message("ports", &resolved));
            continue;
        }
        loaded_files.push(resolved.clone());
        match load_ports(&resolved) {
            Ok(loaded) => add_unique_ports(loaded, &resolved, &mut ports, &mut problems),
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() && ports.ports.is_empty() && !loaded_files.is_empty() {
        problems.push(ConfigProblem {
            file: loaded_files[0].clone(),
            location: None,
            field: Some("features".to_owned()),
            message: "no designated ports: detection needs at least one".to_owned(),
        });
    }
    if problems.is_empty() {
        Ok(ports.ports)
    } else {
        Err(problems)
    }
}

/// The ports loaded so far, and which file defined each name (a lookup per port, not a scan:
/// files of 100,000 ports are designated).
#[derive(Default)]
struct UniquePorts {
    ports: Vec<Port>,
    defined_in: std::collections::HashMap<String, usize>,
    files: Vec<PathBuf>,
}

/// The ports files in the order they are read, `file` first; a `file` left out or empty is
/// reported here.
fn named_ports_files<'r>(
    raw: &'r RawPorts,
    doc: &DeTable<'_>,
    toml_problems: &mut TomlProblems<'_>,
) -> Vec<NamedFile<'r>> {
    let mut named = Vec::new();
    match &raw.file {
        Some(file) if !file.as_os_str().is_empty() => {
            named.push((file, value_start(doc, &["ports", "file"]), "ports.file"));
        }
        Some(_) => toml_problems.push(
            value_start(doc, &["ports", "file"]),
            Some("ports.file"),
            "must name the GeoJSON file of designated ports".to_owned(),
        ),
        None => toml_problems.push(
            value_start(doc, &["ports"]),
            Some("ports.file"),
            "is required: the GeoJSON file of designated ports, e.g. \
             `[ports] file = \"ports.geojson\"`"
                .to_owned(),
        ),
    }
    let extra_span = value_span(doc, &["ports", "extra_files"]);
    let extra_items = match doc
        .get("ports")
        .map(|p| p.get_ref())
        .and_then(|p| p.get("extra_files"))
        .map(|e| e.get_ref())
    {
        Some(DeValue::Array(items)) => items.iter().map(|i| i.span().start).collect(),
        _ => Vec::new(),
    };
    for (i, file) in raw.extra_files.iter().enumerate() {
        let at = extra_items
            .get(i)
            .copied()
            .or(extra_span.as_ref().map(|s| s.start));
        named.push((file, at, "ports.extra_files"));
    }
    named
}

/// Adds the ports of one file, reporting each whose name an earlier file already defines.
fn add_unique_ports(
    loaded: Vec<Port>,
    file: &Path,
    ports: &mut UniquePorts,
    problems: &mut Vec<ConfigProblem>,
) {
    let file_number = ports.files.len();
    ports.files.push(file.to_path_buf());
    // Every feature of a file that loads is a port, so positions are feature numbers.
    for (index, port) in loaded.into_iter().enumerate() {
        if let Some(&first) = ports.defined_in.get(&port.name) {
            let first_file = &ports.files[first];
            problems.push(ConfigProblem {
                file: file.to_path_buf(),
                location: Some(format!("feature {} ({})", index + 1, port.name)),
                field: Some("properties.name".to_owned()),
                message: format!(
                    "duplicate port name: {} already defines it",
                    first_file.display()
                ),
            });
        } else {
            ports.defined_in.insert(port.name.clone(), file_number);
            ports.ports.push(port);
        }
    }
}

/// Loads `[watchlist] file` when it names one; none is an empty watchlist.
pub(super) fn load_watchlist(
    raw: &RawWatchlist,
    folder: &Path,
    doc: &DeTable<'_>,
    toml_problems: &mut TomlProblems<'_>,
) -> Result<Watchlist, Vec<ConfigProblem>> {
    let at = || value_start(doc, &["watchlist", "file"]);
    match &raw.file {
        None => Ok(Watchlist::default()),
        Some(file) if file.as_os_str().is_empty() => {
            toml_problems.push(
                at(),
                Some("watchlist.file"),
                "must not be empty; leave the key out for no watchlist".to_owned(),
            );
            Ok(Watchlist::default())
        }
        Some(file) => {
            let resolved = resolve_against(folder, file);
            if resolved.is_file() {
                Watchlist::load(&resolved)
            } else {
                toml_problems.push(
                    at(),
                    Some("watchlist.file"),
                    missing_file_message("watchlist", &resolved),
                );
                Ok(Watchlist::default())
            }
        }
    }
}

fn missing_file_message(what: &str, resolved: &Path) -> String {
    let reason = match std::fs::metadata(resolved) {
        Ok(_) => "is not a regular file".to_owned(),
        Err(err) => format!("cannot be read ({err})"),
    };
    format!(
        "{what} file {} {reason}; relative paths are resolved against the configuration \
         file's folder",
        resolved.display()
    )
}

/// Relative paths in a config file mean "next to the config file", wherever it was loaded from.
pub(super) fn resolve_against(folder: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        folder.join(path)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::super::testing::{only_problem, problems, setup, MINIMAL, PORTS};
    use super::super::Config;

    #[test]
    fn ports_file_is_required_and_must_exist() {
        let (location, field, _) = only_problem("[detect]\ngap_hours = 6\n");
        assert_eq!((location, field.as_deref()), (None, Some("ports.file")));
        let (location, field, message) = only_problem("[ports]\nfile = \"nowhere.geojson\"\n");
        assert_eq!(location.as_deref(), Some("line 2"));
        assert_eq!(field.as_deref(), Some("ports.file"));
        assert!(
            message.contains("nowhere.geojson cannot be read"),
            "{message}"
        );
        let found = problems(&format!(
            "{MINIMAL}extra_files = [\n  \"gone-1.geojson\",\n  \"gone-2.geojson\",\n]\n"
        ));
        let at: Vec<_> = found
            .iter()
            .map(|p| (p.location.as_deref(), p.field.as_deref()))
            .collect();
        assert_eq!(
            at,
            [
                (Some("line 4"), Some("ports.extra_files")),
                (Some("line 5"), Some("ports.extra_files")),
            ],
            "each missing element at its own line"
        );
    }

    #[test]
    fn a_ports_file_without_ports_is_refused() {
        let (dir, path) = setup(MINIMAL);
        fs::write(
            dir.path().join("ports.geojson"),
            r#"{"type":"FeatureCollection","features":[]}"#,
        )
        .unwrap();
        let found = Config::load(&path).unwrap_err().problems;
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].file.ends_with("ports.geojson"));
        assert!(found[0].message.starts_with("no designated ports"));
    }

    #[test]
    fn port_names_are_unique_across_files() {
        let (dir, path) = setup(&format!("{MINIMAL}extra_files = [\"again.geojson\"]\n"));
        fs::write(dir.path().join("again.geojson"), PORTS).unwrap();
        let found = Config::load(&path).unwrap_err().problems;
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].file.ends_with("again.geojson"));
        assert!(found[0].message.starts_with("duplicate port name"));
        assert_eq!(found[0].location.as_deref(), Some("feature 1 (Vostochny)"));
    }

    #[test]
    fn watchlist_file_must_exist_when_named() {
        let (location, field, _) =
            only_problem(&format!("{MINIMAL}[watchlist]\nfile = \"list.csv\"\n"));
        assert_eq!(location.as_deref(), Some("line 4"));
        assert_eq!(field.as_deref(), Some("watchlist.file"));
        let (dir, path) = setup(&format!("{MINIMAL}[watchlist]\nfile = \"list.csv\"\n"));
        fs::write(
            dir.path().join("list.csv"),
            "mmsi,imo,name,note\n445000001,,,\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.watchlist.len(), 1);
    }
}
