//! The configuration used when no file is found (the shipped Far East ports, tankers watched,
//! `./aisgap.db`), and the settings the command line gives over a file's or those defaults,
//! each checked as strictly as the file's own.

use std::path::{Path, PathBuf};

use super::{Config, ConfigErrors};
use crate::ports::{load_ports, parse_ports};
use crate::problem::ConfigProblem;
use crate::watchlist::Watchlist;

/// The shipped designated ports, compiled in so that the binary alone can replay a log.
pub const BUILTIN_PORTS_GEOJSON: &str = include_str!("../../config/ports.geojson");

/// What problems of the compiled-in ports would name as their file (there are none: a test
/// loads them).
const BUILTIN_PORTS_LABEL: &str = "(built-in ports)";

/// Where a problem of a command-line setting is said to be.
const COMMAND_LINE: &str = "command line";

/// Settings given on the command line; each replaces the configuration's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// `--ports FILE`: these designated ports instead of `[ports] file` and `extra_files`.
    pub ports: Option<PathBuf>,
    /// `--watchlist FILE`: this watchlist instead of `[watchlist] file`.
    pub watchlist: Option<PathBuf>,
    /// `--watch-all`: watch every vessel; it can only switch watching on.
    pub watch_all: bool,
    /// `--gap-hours H`: `[detect] gap_hours`; a port's own `gap_hours` still wins for it.
    pub gap_hours: Option<f64>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }

    /// The flags as they were given, for telling the user what changed the configuration.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(path) = &self.ports {
            flags.push(format!("--ports {}", path.display()));
        }
        if let Some(path) = &self.watchlist {
            flags.push(format!("--watchlist {}", path.display()));
        }
        if self.watch_all {
            flags.push("--watch-all".to_owned());
        }
        if let Some(hours) = self.gap_hours {
            flags.push(format!("--gap-hours {hours}"));
        }
        flags
    }
}

impl Config {
    /// The built-in defaults: the shipped Far East ports, no watchlist (tankers are watched
    /// anyway), every parameter at its documented default, database `aisgap.db` in the
    /// working directory.
    pub fn builtin() -> Config {
        let ports = parse_ports(BUILTIN_PORTS_GEOJSON, Path::new(BUILTIN_PORTS_LABEL))
            .expect("the compiled-in ports file is valid (its unit test loads it)");
        Config {
            ports,
            ..Config::default()
        }
    }

    /// This configuration with the command line's settings in place of its own, or every
    /// problem with them: a flag's bad value names the flag, a bad file's rows are located in
    /// that file.
    pub fn with_overrides(mut self, overrides: &Overrides) -> Result<Config, ConfigErrors> {
        let mut problems = Vec::new();
        if let Some(path) = &overrides.ports {
            match override_ports(path) {
                Ok(ports) => self.ports = ports,
                Err(found) => problems.extend(found),
            }
        }
        if let Some(path) = &overrides.watchlist {
            match readable_file(path, "--watchlist", "watchlist").and_then(Watchlist::load) {
                Ok(watchlist) => self.watchlist = watchlist,
                Err(found) => problems.extend(found),
            }
        }
        if overrides.watch_all {
            self.detect.watch_all = true;
        }
        if let Some(hours) = overrides.gap_hours {
            if hours.is_finite() && hours > 0.0 {
                self.detect.gap_hours = hours;
            } else {
                problems.push(flag_problem(
                    "--gap-hours",
                    format!("must be a number of hours greater than 0, got {hours}"),
                ));
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ConfigErrors { problems })
        }
    }

    /// One line on what this configuration watches and where: "5 ports (Far East), tankers
    /// watched". `overrides` says whether the ports are the shipped ones.
    pub fn brief(&self, overrides: &Overrides) -> String {
        let ports = match &overrides.ports {
            Some(path) => format!(
                "{} from {}",
                plural(self.ports.len(), "port"),
                path.display()
            ),
            None if self.source_path.is_none() => {
                format!("{} (Far East)", plural(self.ports.len(), "port"))
            }
            None => plural(self.ports.len(), "port"),
        };
        let watched = if self.detect.watch_all {
            "every vessel watched".to_owned()
        } else if self.watchlist.is_empty() {
            "tankers watched".to_owned()
        } else {
            format!(
                "tankers and {} watched",
                plural(self.watchlist.len(), "watchlisted vessel")
            )
        };
        format!("{ports}, {watched}, gaps from {} h", self.detect.gap_hours)
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn override_ports(path: &Path) -> Result<Vec<crate::ports::Port>, Vec<ConfigProblem>> {
    let ports = readable_file(path, "--ports", "ports").and_then(load_ports)?;
    if ports.is_empty() {
        return Err(vec![ConfigProblem {
            file: path.to_path_buf(),
            location: None,
            field: Some("features".to_owned()),
            message: "no designated ports: detection needs at least one".to_owned(),
        }]);
    }
    Ok(ports)
}

/// The file a flag names, or the problem that it cannot be read, named by the flag.
fn readable_file<'p>(
    path: &'p Path,
    flag: &str,
    what: &str,
) -> Result<&'p Path, Vec<ConfigProblem>> {
    let reason = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => return Ok(path),
        Ok(_) => "is not a regular file".to_owned(),
        Err(err) => format!("cannot be read ({err})"),
    };
    Err(vec![flag_problem(
        flag,
        format!("{what} file {} {reason}", path.display()),
    )])
}

fn flag_problem(flag: &str, message: String) -> ConfigProblem {
    ConfigProblem {
        file: PathBuf::from(COMMAND_LINE),
        location: None,
        field: Some(flag.to_owned()),
        message,
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::super::testing::PORTS;
    use super::*;
    use crate::detect::DetectParams;

    #[test]
    fn builtin_defaults_are_the_shipped_ports_and_tankers_only() {
        let config = Config::builtin();
        let names: Vec<_> = config.ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Vostochny",
                "Kozmino",
                "Nakhodka",
                "Vladivostok",
                "Slavyanka"
            ]
        );
        assert!(config.watchlist.is_empty());
        assert_eq!(config.detect, DetectParams::default());
        assert_eq!(config.store.db, Path::new("aisgap.db"));
        assert_eq!(config.source_path, None);
        assert_eq!(
            config.brief(&Overrides::default()),
            "5 ports (Far East), tankers watched, gaps from 6 h"
        );
    }

    #[test]
    fn each_override_replaces_its_setting() {
        let dir = tempfile::tempdir().unwrap();
        let ports = dir.path().join("one.geojson");
        fs::write(&ports, PORTS).unwrap();
        let watchlist = dir.path().join("list.csv");
        fs::write(&watchlist, "mmsi,imo,name,note\n445000001,,,\n").unwrap();
        let overrides = Overrides {
            ports: Some(ports.clone()),
            watchlist: Some(watchlist),
            watch_all: true,
            gap_hours: Some(12.5),
        };
        let config = Config::builtin().with_overrides(&overrides).unwrap();
        assert_eq!(config.ports.len(), 1);
        assert_eq!(config.ports[0].name, "Vostochny");
        assert_eq!(config.watchlist.len(), 1);
        assert!(config.detect.watch_all);
        assert_eq!(config.detect.gap_hours, 12.5);
        assert_eq!(
            config.brief(&overrides),
            format!(
                "1 port from {}, every vessel watched, gaps from 12.5 h",
                ports.display()
            )
        );
        assert_eq!(
            overrides.flags(),
            [
                format!("--ports {}", ports.display()),
                format!("--watchlist {}", dir.path().join("list.csv").display()),
                "--watch-all".to_owned(),
                "--gap-hours 12.5".to_owned(),
            ]
        );
        let unchanged = Config::builtin()
            .with_overrides(&Overrides::default())
            .unwrap();
        assert_eq!(unchanged.detect, DetectParams::default());
        assert_eq!(unchanged.ports.len(), 5);
    }

    #[test]
    fn bad_overrides_are_refused_together_each_named() {
        let dir = tempfile::tempdir().unwrap();
        let ports = dir.path().join("bad.geojson");
        fs::write(
            &ports,
            r#"{"type":"FeatureCollection","features":[
              {"type":"Feature","geometry":{"type":"Point","coordinates":[133.0,42.0]},
               "properties":{"name":"A"}},
              {"type":"Feature","geometry":{"type":"Point","coordinates":[200.0,42.0]},
               "properties":{"name":"B","radius_nm":1}}]}"#,
        )
        .unwrap();
        let overrides = Overrides {
            ports: Some(ports.clone()),
            watchlist: Some(dir.path().join("missing.csv")),
            watch_all: false,
            gap_hours: Some(0.0),
        };
        let found = Config::builtin()
            .with_overrides(&overrides)
            .unwrap_err()
            .problems;
        let at: Vec<_> = found
            .iter()
            .map(|p| (p.file.clone(), p.location.clone(), p.field.clone()))
            .collect();
        assert_eq!(
            at,
            [
                (
                    ports.clone(),
                    Some("feature 1 (A)".to_owned()),
                    Some("properties.radius_nm".to_owned())
                ),
                (
                    ports.clone(),
                    Some("feature 2 (B)".to_owned()),
                    Some("geometry.coordinates".to_owned())
                ),
                (
                    PathBuf::from(COMMAND_LINE),
                    None,
                    Some("--watchlist".to_owned())
                ),
                (
                    PathBuf::from(COMMAND_LINE),
                    None,
                    Some("--gap-hours".to_owned())
                ),
            ],
            "{found:#?}"
        );
        for hours in [-3.0, f64::NAN, f64::INFINITY] {
            let found = Config::builtin()
                .with_overrides(&Overrides {
                    gap_hours: Some(hours),
                    ..Overrides::default()
                })
                .unwrap_err()
                .problems;
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].field.as_deref(), Some("--gap-hours"), "{hours}");
        }
    }

    #[test]
    fn a_ports_override_without_ports_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ports = dir.path().join("empty.geojson");
        fs::write(&ports, r#"{"type":"FeatureCollection","features":[]}"#).unwrap();
        let found = Config::builtin()
            .with_overrides(&Overrides {
                ports: Some(ports.clone()),
                ..Overrides::default()
            })
            .unwrap_err()
            .problems;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file, ports);
        assert!(found[0].message.starts_with("no designated ports"));
        let found = Config::builtin()
            .with_overrides(&Overrides {
                ports: Some(dir.path().to_path_buf()),
                ..Overrides::default()
            })
            .unwrap_err()
            .problems;
        assert_eq!(found[0].field.as_deref(), Some("--ports"));
        assert!(found[0].message.ends_with("is not a regular file"));
    }
}
