//! What the configuration's tests share: a folder holding a config file next to a one-port
//! ports file, and shorthands for the problems loading it finds.

use std::fs;
use std::path::PathBuf;

use super::{Config, ConfigErrors};
use crate::problem::ConfigProblem;

pub(super) const PORTS: &str = r#"{"type":"FeatureCollection","features":[
    {"type":"Feature","geometry":{"type":"Point","coordinates":[133.075,42.735]},
     "properties":{"name":"Vostochny","radius_nm":2.0}}]}"#;

/// A folder with `aisgap.toml` (the given text) next to a one-port ports file.
pub(super) fn setup(toml_text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ports.geojson"), PORTS).unwrap();
    let path = dir.path().join("aisgap.toml");
    fs::write(&path, toml_text).unwrap();
    (dir, path)
}

pub(super) fn load(toml_text: &str) -> Result<Config, ConfigErrors> {
    let (_dir, path) = setup(toml_text);
    Config::load(&path)
}

pub(super) fn problems(toml_text: &str) -> Vec<ConfigProblem> {
    load(toml_text).unwrap_err().problems
}

/// A one-problem config: its location and field.
pub(super) fn only_problem(toml_text: &str) -> (Option<String>, Option<String>, String) {
    let found = problems(toml_text);
    assert_eq!(found.len(), 1, "{found:#?}");
    let p = &found[0];
    (p.location.clone(), p.field.clone(), p.message.clone())
}

pub(super) const MINIMAL: &str = "[ports]\nfile = \"ports.geojson\"\n";
