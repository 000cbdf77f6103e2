//! Reading the TOML file so that every problem in it is found: syntax errors with recovery,
//! then serde's errors one at a time, each entry taken out and the rest read again.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::problem::ConfigProblem;

/// Parses the file, reporting every syntax error, then deserializes what is left, reporting
/// each entry that does not fit; returns the document (to locate settings in) and the settings.
pub(super) fn read_toml<'t, T: DeserializeOwned + Default>(
    text: &'t str,
    problems: &mut TomlProblems<'_>,
) -> (Spanned<DeTable<'t>>, T) {
    let (mut doc, syntax_errors) = DeTable::parse_recoverable(text);
    let mut broken_lines = Vec::new();
    for err in syntax_errors {
        let at = err.span().map(|s| s.start);
        if let Some(at) = at {
            broken_lines.push(line_of(text, at));
        }
        problems.push(at, None, format!("TOML syntax: {}", err.message()));
    }
    // Recovery fills a broken line's value with a placeholder; judging it would only
    // produce a second, misleading problem for the same line.
    remove_entries_on_lines(doc.get_mut(), text, &broken_lines);
    let raw = deserialize_every_problem(&mut doc, problems);
    (doc, raw)
}

/// Problems in the TOML file itself, kept with their byte offset so they can be listed in
/// file order.
pub(super) struct TomlProblems<'a> {
    file: &'a Path,
    text: &'a str,
    found: Vec<(Option<usize>, ConfigProblem)>,
}

impl<'a> TomlProblems<'a> {
    pub(super) fn new(file: &'a Path, text: &'a str) -> Self {
        TomlProblems {
            file,
            text,
            found: Vec::new(),
        }
    }

    /// How many have been found so far; a check compares it before and after to tell whether
    /// what it judged was clean.
    pub(super) fn count(&self) -> usize {
        self.found.len()
    }

    /// Whether `field` already has a problem (e.g. a wrong type, after which it is absent).
    pub(super) fn mentions(&self, field: &str) -> bool {
        self.found
            .iter()
            .any(|(_, p)| p.field.as_deref() == Some(field))
    }

    pub(super) fn push(&mut self, at: Option<usize>, field: Option<&str>, message: String) {
        let location = at.map(|offset| format!("line {}", line_of(self.text, offset)));
        self.found.push((
            at,
            ConfigProblem {
                file: self.file.to_path_buf(),
                location,
                field: field.map(str::to_owned),
                message,
            },
        ));
    }

    pub(super) fn into_sorted(mut self) -> Vec<ConfigProblem> {
        // Located problems in file order, then the ones about settings left out.
        self.found
            .sort_by_key(|(at, _)| at.map_or((1, 0), |offset| (0, offset)));
        self.found.into_iter().map(|(_, p)| p).collect()
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Deserializes the settings (`RawConfig`, or a file of one section's shape), reporting and
/// removing each offending entry until the rest deserializes. Each round removes one entry,
/// so this ends.
fn deserialize_every_problem<T: DeserializeOwned + Default>(
    doc: &mut Spanned<DeTable<'_>>,
    problems: &mut TomlProblems<'_>,
) -> T {
    loop {
        let err = match T::deserialize(toml::de::Deserializer::from(doc.clone())) {
            Ok(raw) => return raw,
            Err(err) => err,
        };
        let at = err.span().map(|s| s.start);
        let removed = at.and_then(|at| remove_entry_at(doc.get_mut(), at, ""));
        problems.push(at, removed.as_deref(), plain_serde_message(err.message()));
        if removed.is_none() {
            // Nothing left to blame; the problem is reported and the defaults stand in.
            return T::default();
        }
    }
}

/// Serde names Rust types ("expected struct DetectParams", "expected f64"); users wrote TOML.
fn plain_serde_message(message: &str) -> String {
    if let Some(i) = message.find("expected struct ") {
        return format!("{}expected a table", &message[..i]);
    }
    for (rust, toml) in [
        ("expected f64", "expected a number"),
        ("expected u32", "expected a whole number 0 or more"),
        ("expected usize", "expected a whole number 0 or more"),
        ("expected a boolean", "expected true or false"),
    ] {
        if let Some(head) = message.strip_suffix(rust) {
            return format!("{head}{toml}");
        }
    }
    message.to_owned()
}

/// Removes the innermost table entry whose key or value covers byte `at`; returns its dotted
/// path ("store.batch_size", "source[1].port").
fn remove_entry_at(table: &mut DeTable<'_>, at: usize, prefix: &str) -> Option<String> {
    let mut hit = None;
    for (key, value) in table.iter_mut() {
        let path = join_key(prefix, key.get_ref());
        match value.get_mut() {
            DeValue::Table(inner) => {
                if let Some(found) = remove_entry_at(inner, at, &path) {
                    return Some(found);
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let DeValue::Table(inner) = item.get_mut() {
                        if let Some(found) = remove_entry_at(inner, at, &format!("{path}[{i}]")) {
                            return Some(found);
                        }
                    }
                }
            }
            _ => {}
        }
        if key.span().contains(&at) || value.span().contains(&at) {
            hit = Some(key.get_ref().to_string());
        }
    }
    let name = hit?;
    table.remove(name.as_str());
    Some(join_key(prefix, &name))
}

/// Removes every entry (at any depth) whose key is written on one of `lines`.
fn remove_entries_on_lines(table: &mut DeTable<'_>, text: &str, lines: &[usize]) {
    if lines.is_empty() {
        return;
    }
    let mut doomed = Vec::new();
    for (key, value) in table.iter_mut() {
        if lines.contains(&line_of(text, key.span().start)) {
            doomed.push(key.get_ref().to_string());
            continue;
        }
        match value.get_mut() {
            DeValue::Table(inner) => remove_entries_on_lines(inner, text, lines),
            DeValue::Array(items) => {
                for item in items.iter_mut() {
                    if let DeValue::Table(inner) = item.get_mut() {
                        remove_entries_on_lines(inner, text, lines);
                    }
                }
            }
            _ => {}
        }
    }
    for key in doomed {
        table.remove(key.as_str());
    }
}

fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Byte offset where the value at `path` starts, when the file sets it.
pub(super) fn value_start(doc: &DeTable<'_>, path: &[&str]) -> Option<usize> {
    value_span(doc, path).map(|s| s.start)
}

pub(super) fn value_span(doc: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let value = doc.get(*first)?;
    if rest.is_empty() {
        return Some(value.span());
    }
    match value.get_ref() {
        DeValue::Table(inner) => value_span(inner, rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{only_problem, problems, MINIMAL};
    use super::*;

    #[test]
    fn unknown_key_is_reported_with_its_line_and_section() {
        let (location, field, message) =
            only_problem(&format!("{MINIMAL}\n[store]\nbatch_size = 100\n"));
        assert_eq!(location.as_deref(), Some("line 5"));
        assert_eq!(field.as_deref(), Some("store.batch_size"));
        assert!(
            message.starts_with("unknown field `batch_size`"),
            "{message}"
        );
        assert!(
            message.contains("batch_rows"),
            "names the valid keys: {message}"
        );
        // Unknown sections and top-level keys too.
        let (_, field, _) = only_problem(&format!("{MINIMAL}[alert]\nemail = \"x\"\n"));
        assert_eq!(field.as_deref(), Some("alert"));
        let (location, field, _) = only_problem(&format!("gap_hours = 6\n{MINIMAL}"));
        assert_eq!(
            (location.as_deref(), field.as_deref()),
            (Some("line 1"), Some("gap_hours"))
        );
    }

    #[test]
    fn wrong_value_types_are_reported() {
        let found = problems(&format!(
            "{MINIMAL}[detect]\nmax_speed_kn = \"fast\"\nwatch_all = 1\ncoverage_min_vessels = -2\n\
             [decode]\nfragment_timeout_s = 1.5\n"
        ));
        let rendered: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 4, "{rendered:#?}");
        assert_eq!(found[0].location.as_deref(), Some("line 4"));
        assert_eq!(found[0].field.as_deref(), Some("detect.max_speed_kn"));
        assert!(
            found[0].message.contains("invalid type: string \"fast\""),
            "{rendered:?}"
        );
        assert_eq!(found[1].field.as_deref(), Some("detect.watch_all"));
        assert_eq!(
            found[2].field.as_deref(),
            Some("detect.coverage_min_vessels")
        );
        assert_eq!(found[3].location.as_deref(), Some("line 8"));
        assert_eq!(found[3].field.as_deref(), Some("decode.fragment_timeout_s"));
    }

    #[test]
    fn a_section_of_the_wrong_type_names_tables_not_rust_types() {
        let (_, field, message) = only_problem(&format!("detect = 5\n{MINIMAL}"));
        assert_eq!(field.as_deref(), Some("detect"));
        assert!(message.ends_with("expected a table"), "{message}");
    }

    #[test]
    fn syntax_errors_are_reported_with_lines_alongside_other_problems() {
        let found = problems(&format!(
            "{MINIMAL}[detect]\ngap_hours = = 3\nmin_coverage = 2.0\n"
        ));
        assert!(found.len() >= 2, "{found:#?}");
        assert_eq!(found[0].location.as_deref(), Some("line 4"));
        assert!(found[0].message.starts_with("TOML syntax"), "{found:#?}");
        // The broken line's placeholder value is not judged as well.
        assert!(
            !found
                .iter()
                .any(|p| p.field.as_deref() == Some("detect.gap_hours")),
            "{found:#?}"
        );
        let coverage = found
            .iter()
            .find(|p| p.field.as_deref() == Some("detect.min_coverage"));
        assert_eq!(coverage.unwrap().location.as_deref(), Some("line 5"));
    }

    #[test]
    fn entries_inside_arrays_of_tables_are_found_and_removed() {
        // The shape the service's [[source]] sections will have.
        let text = "[[source]]\nname = \"a\"\nport = 1\n[[source]]\nname = \"b\"\nport = \"x\"\n";
        let (mut doc, errors) = DeTable::parse_recoverable(text);
        assert!(errors.is_empty());
        let at = text.find("\"x\"").unwrap();
        assert_eq!(
            remove_entry_at(doc.get_mut(), at, "").as_deref(),
            Some("source[1].port")
        );
        let at = text.find("name = \"a\"").unwrap();
        assert_eq!(
            remove_entry_at(doc.get_mut(), at, "").as_deref(),
            Some("source[0].name")
        );
        assert_eq!(remove_entry_at(doc.get_mut(), text.len() + 10, ""), None);
    }
}
