//! The rules of the source tree, checked from the `use` lines of `src/`: no import cycle between
//! the crate's top-level modules, a pure core that touches neither configuration, I/O, the
//! store nor the clock, and units small enough to read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo_path;

/// The stages that must stay pure: replay equals live, and their tests need no I/O, only
/// because none of these reads a socket, a file, the database, the configuration or the clock.
const PURE: [&str; 12] = [
    "bytes",
    "decode",
    "detect",
    "engine",
    "hashed",
    "model",
    "ports",
    "problem",
    "record",
    "stream_clock",
    "track",
    "watchlist",
];

/// What a pure stage may not name: the impure modules of this crate and the crates or calls
/// that reach the outside world.
const IMPURE_MODULES: [&str; 9] = [
    "api", "cli", "config", "offline", "query", "service", "simulate", "source", "store",
];
const IMPURE_WORDS: [&str; 6] = [
    "tokio::",
    "rusqlite",
    "SystemTime",
    "Instant::now",
    "time::now",
    "std::net",
];

/// A file or function longer than this says why, in a comment that starts with this marker.
const LONG_BY_DESIGN: &str = "Long by design:";
const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 120;

struct SourceFile {
    path: PathBuf,
    /// The top-level module the file belongs to (`decode` for `src/decode/csv.rs`).
    module: String,
    /// The lines before the file's `#[cfg(test)]` module: what ships.
    shipped: Vec<String>,
}

fn source_files() -> Vec<SourceFile> {
    let root = repo_path("src");
    let mut files = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(read_source(&root, path));
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(files.len() > 20, "src/ holds the crate's modules");
    files
}

fn read_source(root: &Path, path: PathBuf) -> SourceFile {
    let relative = path.strip_prefix(root).expect("under src/");
    let first = relative
        .components()
        .next()
        .expect("a path component")
        .as_os_str()
        .to_string_lossy();
    let module = first.trim_end_matches(".rs").to_string();
    let text = std::fs::read_to_string(&path).expect("a source file is UTF-8");
    let shipped = text
        .lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .map(str::to_string)
        .collect();
    SourceFile {
        path: Path::new("src").join(relative),
        module,
        shipped,
    }
}

/// Code lines, without comments (which may name modules in prose).
fn code_lines(file: &SourceFile) -> impl Iterator<Item = (usize, &str)> {
    file.shipped
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("")))
        .filter(|(_, l)| !l.trim().is_empty())
}

/// The crate's top-level modules a file names through `crate::` paths.
fn imported_modules(file: &SourceFile) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for (_, line) in code_lines(file) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                modules.insert(name);
            }
        }
        // `use crate::{a, b::c}` names several modules at once.
        if let Some(group) = line.split("crate::{").nth(1) {
            for part in group.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    modules.insert(name);
                }
            }
        }
    }
    modules
}

fn module_graph(files: &[SourceFile]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        if file.module == "lib" || file.module == "main" {
            continue;
        }
        let edges = graph.entry(file.module.clone()).or_default();
        for imported in imported_modules(file) {
            if imported != file.module {
                edges.insert(imported);
            }
        }
    }
    graph
}

/// Within each folder module, which sibling files a file names (`super::x`, `crate::m::x`);
/// the folder's `mod.rs` is its face, not a sibling.
fn sibling_graphs(files: &[SourceFile]) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut folders: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in files {
        let Some(stem) = file
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
        else {
            continue;
        };
        let in_folder = file
            .path
            .parent()
            .is_some_and(|p| p.ends_with(&file.module));
        if !in_folder || stem == "mod" {
            continue;
        }
        let siblings = folders.entry(file.module.clone()).or_default();
        let mut named = BTreeSet::new();
        let prefixes = ["super::".to_string(), format!("crate::{}::", file.module)];
        for (_, line) in code_lines(file) {
            for prefix in &prefixes {
                for part in line.split(prefix.as_str()).skip(1) {
                    // `super::{a, b::C}` names several at once.
                    let names = match part.strip_prefix('{') {
                        Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                        None => vec![part],
                    };
                    for name in names {
                        let name: String = name
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() && name != stem {
                            named.insert(name);
                        }
                    }
                }
            }
        }
        siblings.entry(stem).or_default().extend(named);
    }
    // Names that are not sibling files (items of mod.rs) are no edges.
    for siblings in folders.values_mut() {
        let stems: BTreeSet<String> = siblings.keys().cloned().collect();
        for named in siblings.values_mut() {
            named.retain(|n| stems.contains(n));
        }
    }
    folders
}

/// One import cycle of the graph, as the modules along it, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let graph = module_graph(&source_files());
    assert!(graph.contains_key("engine") && graph.contains_key("store"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle in src/: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_files_of_a_folder_import_each_other_without_a_cycle() {
    let folders = sibling_graphs(&source_files());
    assert!(folders.contains_key("source") && folders.contains_key("api"));
    let cycles: Vec<String> = folders
        .iter()
        .filter_map(|(folder, graph)| {
            let cycle = find_cycle(graph)?;
            Some(format!("src/{folder}/: {}", cycle.join(" -> ")))
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_pure_core_names_no_configuration_io_store_or_clock() {
    let mut found = Vec::new();
    for file in source_files() {
        if !PURE.contains(&file.module.as_str()) {
            continue;
        }
        for module in imported_modules(&file) {
            if IMPURE_MODULES.contains(&module.as_str()) {
                found.push(format!("{}: imports crate::{module}", file.path.display()));
            }
        }
        for (number, line) in code_lines(&file) {
            for word in IMPURE_WORDS {
                if line.contains(word) {
                    found.push(format!("{}:{number}: {word}", file.path.display()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the pure core reaches out:\n{}",
        found.join("\n")
    );
}

/// A function's length from its `fn` line to its closing brace at the same indentation.
fn long_functions(file: &SourceFile) -> Vec<(usize, usize, String)> {
    let mut long = Vec::new();
    for (start, line) in file.shipped.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "async fn ",
            "pub async fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_fn || trimmed.ends_with(';') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let closing = " ".repeat(indent) + "}";
        let Some(length) = file.shipped[start..].iter().position(|l| *l == closing) else {
            continue;
        };
        let body = &file.shipped[start.saturating_sub(3)..=start + length];
        let explained = body.iter().any(|l| l.contains(LONG_BY_DESIGN));
        if length + 1 > MAX_FN_LINES && !explained {
            long.push((start + 1, length + 1, trimmed.to_string()));
        }
    }
    long
}

#[test]
fn files_and_functions_stay_small_or_say_why() {
    let mut found = Vec::new();
    for file in source_files() {
        let explained = file.shipped.iter().any(|l| l.contains(LONG_BY_DESIGN));
        if file.shipped.len() > MAX_FILE_LINES && !explained {
            found.push(format!(
                "{}: {} lines before its tests (at most {MAX_FILE_LINES}, or say why with \
                 `{LONG_BY_DESIGN}`)",
                file.path.display(),
                file.shipped.len()
            ));
        }
        for (line, length, signature) in long_functions(&file) {
            found.push(format!(
                "{}:{line}: a function of {length} lines (at most {MAX_FN_LINES}, or say why \
                 with `{LONG_BY_DESIGN}`): {signature}",
                file.path.display()
            ));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_checks_see_a_cycle_and_a_long_function_when_there_is_one() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(4));
    graph.insert("c".to_string(), BTreeSet::new());
    assert_eq!(find_cycle(&graph), None);

    let mut shipped = vec!["fn long() {".to_string()];
    shipped.extend((0..MAX_FN_LINES).map(|i| format!("    let _x{i} = {i};")));
    shipped.push("}".to_string());
    let file = SourceFile {
        path: PathBuf::from("src/x.rs"),
        module: "x".to_string(),
        shipped: shipped.clone(),
    };
    assert_eq!(long_functions(&file).len(), 1);
    shipped.insert(
        1,
        format!("    // {LONG_BY_DESIGN} one table, read top to bottom."),
    );
    let explained = SourceFile { shipped, ..file };
    assert!(long_functions(&explained).is_empty());
    let uses = SourceFile {
        path: PathBuf::from("src/y.rs"),
        module: "y".to_string(),
        shipped: vec![
            "use crate::{config::Config, store};".to_string(),
            "// crate::api is only named in prose".to_string(),
            "let t = crate::time::now();".to_string(),
        ],
    };
    let named: Vec<String> = imported_modules(&uses).into_iter().collect();
    assert_eq!(named, ["config", "store", "time"]);
}
