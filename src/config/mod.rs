//! Configuration: the TOML file and the ports and watchlist files it names, checked once into a
//! [`Config`] that downstream code trusts; every problem in all of those files is reported at
//! once, each with its file and location.
//!
//! How problems are collected: the TOML is parsed with error recovery (every syntax error),
//! then deserialized into structs with `deny_unknown_fields`. Serde stops at its first error,
//! so each time it does, the offending entry is reported with its line and taken out of the
//! document, and deserialization runs again; the entry falls back to its default, which lets
//! the remaining checks (ranges, cross-field rules, the files named) run as well. New sections
//! (`[[source]]`, `[http]`, `[alerts]`) are new fields on `RawConfig` plus their checks.
//!
//! `[[source]]` sections become [`SourceSpec`]s: kind-specific settings are checked against
//! the kind, so a setting that would be ignored is reported rather than silently dropped.

mod at_sea;
mod csv_map;
mod defaults;
mod engine;
mod files;
mod http;
mod order;
mod ranges;
mod read;
mod report;
mod service_settings;
mod sources;
mod summary;
#[cfg(test)]
mod testing;
mod webhook;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::decode::csv::{CsvMap, CsvMapParams};
use crate::decode::{DecodeOptions, DecodeParams};
use crate::detect::at_sea::{AtSeaParams, EncounterParams, LoiteringParams, RendezvousParams};
use crate::detect::DetectParams;
use crate::ports::Port;
use crate::problem::render_problems;
pub use crate::problem::ConfigProblem;
use crate::report::tally::TallyReportParams;
use crate::source::SourceSpec;
use crate::store::StoreParams;
use crate::watchlist::Watchlist;
use csv_map::check_csv_maps;
pub use csv_map::load_csv_map_file;
pub use defaults::{Overrides, BUILTIN_PORTS_GEOJSON};
use files::{load_all_ports, load_watchlist, resolve_against, RawPorts, RawWatchlist};
pub use http::read_certificates;
use order::check_order;
pub use order::{OrderParams, MAX_REORDER_WINDOW_S};
use ranges::check_ranges;
use read::{read_toml, TomlProblems};
pub use service_settings::{AlertParams, HttpParams, DEFAULT_HTTP_LISTEN};
use sources::{check_sources, RawSource};
pub use webhook::{redact as redact_webhook, WebhookScheme, WebhookUrl, ACCEPTED_WEBHOOKS};

/// Where the service looks for its configuration when neither `--config` nor `$AISGAP_CONFIG`
/// names one.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/aisgap/aisgap.toml";
/// The development fallback, relative to the working directory.
pub const LOCAL_CONFIG_PATH: &str = "config/aisgap.toml";
/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "AISGAP_CONFIG";

/// The checked configuration. Built only by [`Config::load`], [`Config::builtin`] (no file)
/// or `Default` (tests), so every value in it has passed validation; command-line settings go
/// through the same checks ([`Config::with_overrides`]). `Default` gives the documented
/// defaults and no ports.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The file it came from.
    pub source_path: Option<PathBuf>,
    pub detect: DetectParams,
    /// From the `[ports]` files, in file order.
    pub ports: Vec<Port>,
    /// From the `[watchlist]` file; empty if none.
    pub watchlist: Watchlist,
    pub store: StoreParams,
    pub decode: DecodeParams,
    pub http: HttpParams,
    pub alerts: AlertParams,
    pub order: OrderParams,
    /// From the `[[source]]` sections, in file order; names are unique.
    pub sources: Vec<SourceSpec>,
    /// From the `[[csv_map]]` sections (and `--csv-map`), tried in order before the built-in
    /// CSV layouts.
    pub csv_maps: Vec<CsvMap>,
    /// `[report]`: the cap the tally report is set against.
    pub report: TallyReportParams,
}

/// Everything wrong with a configuration, found in one pass.
#[derive(Debug, thiserror::Error)]
#[error("{}", render_problems(&self.problems))]
pub struct ConfigErrors {
    pub problems: Vec<ConfigProblem>,
}

/// The configuration file to use: `explicit` if given, else `$AISGAP_CONFIG`, else
/// `/etc/aisgap/aisgap.toml` if it exists, else `./config/aisgap.toml` if it exists.
pub fn resolve_config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    resolve_config_path_from(
        explicit,
        std::env::var_os(CONFIG_ENV),
        &[Path::new(SYSTEM_CONFIG_PATH), Path::new(LOCAL_CONFIG_PATH)],
    )
}

fn resolve_config_path_from(
    explicit: Option<&Path>,
    from_env: Option<std::ffi::OsString>,
    candidates: &[&Path],
) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    if let Some(path) = from_env.filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    candidates
        .iter()
        .find(|candidate| candidate.is_file())
        .map(|candidate| candidate.to_path_buf())
}

/// What `aisgap check-config` prints: a summary of a valid configuration, or every problem.
pub fn check_report(path: &Path) -> Result<String, ConfigErrors> {
    Config::load(path).map(|config| config.summary())
}

// The file as written; paths not yet resolved, ranges not yet checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    detect: DetectParams,
    #[serde(default)]
    encounters: EncounterParams,
    #[serde(default)]
    loitering: LoiteringParams,
    #[serde(default)]
    rendezvous: RendezvousParams,
    #[serde(default)]
    ports: RawPorts,
    #[serde(default)]
    watchlist: RawWatchlist,
    #[serde(default)]
    store: StoreParams,
    #[serde(default)]
    decode: DecodeParams,
    #[serde(default)]
    http: HttpParams,
    #[serde(default)]
    alerts: AlertParams,
    #[serde(default)]
    order: OrderParams,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "csv_map")]
    csv_maps: Vec<CsvMapParams>,
    #[serde(default)]
    report: TallyReportParams,
}

impl Config {
    /// Reads the TOML file and the ports and watchlist files it names, and returns the checked
    /// configuration or every problem found in any of them.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigErrors {
            problems: vec![ConfigProblem {
                file: path.to_path_buf(),
                location: None,
                field: None,
                message: format!("cannot read the configuration file: {err}"),
            }],
        })?;
        let mut toml_problems = TomlProblems::new(path, &text);
        let (doc, raw) = read_toml(&text, &mut toml_problems);
        let doc = doc.get_ref();
        check_ranges(&raw, doc, &mut toml_problems);
        at_sea::check_at_sea(&raw.encounters, &raw.loitering, doc, &mut toml_problems);
        at_sea::check_rendezvous(&raw.rendezvous, doc, &mut toml_problems);
        check_order(&raw.order, doc, &mut toml_problems);
        report::check_report(&raw.report, doc, &mut toml_problems);

        let folder = path.parent().unwrap_or(Path::new(""));
        http::check_http(&raw.http, folder, doc, &mut toml_problems);
        http::check_webhook(&raw.alerts, folder, doc, &mut toml_problems);
        let sources = check_sources(&raw.sources, doc, folder, &mut toml_problems);
        let csv_maps = check_csv_maps(&raw.csv_maps, doc, &mut toml_problems);
        let mut file_problems = Vec::new();
        let ports = load_all_ports(&raw.ports, folder, doc, &mut toml_problems).unwrap_or_else(
            |problems| {
                file_problems.extend(problems);
                Vec::new()
            },
        );
        let watchlist = load_watchlist(&raw.watchlist, folder, doc, &mut toml_problems)
            .unwrap_or_else(|problems| {
                file_problems.extend(problems);
                Watchlist::default()
            });

        let mut problems = toml_problems.into_sorted();
        problems.extend(file_problems);
        if !problems.is_empty() {
            return Err(ConfigErrors { problems });
        }
        let mut store = raw.store;
        store.db = resolve_against(folder, &store.db);
        let mut alerts = raw.alerts;
        alerts.file = alerts.file.map(|f| resolve_against(folder, &f));
        alerts.ca_file = alerts.ca_file.map(|f| resolve_against(folder, &f));
        let mut http = raw.http;
        http.token_file = http.token_file.map(|f| resolve_against(folder, &f));
        let mut order = raw.order;
        order.spill_dir = order.spill_dir.map(|d| resolve_against(folder, &d));
        let mut detect = raw.detect;
        detect.at_sea = AtSeaParams {
            encounters: raw.encounters,
            loitering: raw.loitering,
            rendezvous: raw.rendezvous,
        };
        Ok(Config {
            source_path: Some(path.to_path_buf()),
            detect,
            ports,
            watchlist,
            store,
            decode: raw.decode,
            http,
            alerts,
            order,
            sources,
            csv_maps,
            report: raw.report,
        })
    }

    /// Puts a mapping ahead of the configured ones (`--csv-map` on the command line).
    pub fn prefer_csv_map(&mut self, map: CsvMap) {
        self.csv_maps.insert(0, map);
    }

    /// How a source with this station name is decoded under this configuration.
    pub fn decode_options(&self, station: Option<Arc<str>>) -> DecodeOptions {
        DecodeOptions {
            station,
            trust_data_time: true,
            fragment_timeout_ms: i64::from(self.decode.fragment_timeout_s) * 1000,
            max_pending_groups: self.decode.max_pending_fragments,
            duplicate_window_ms: self.decode.duplicate_window_ms(),
            time_sentence_max_lines: self.decode.time_sentence_max_lines,
            max_ahead_of_receipt_ms: self.decode.max_ahead_of_receipt_ms(),
            csv_maps: self.csv_maps.clone(),
        }
    }

    /// The port of that name; an exact match first, then one ignoring ASCII case.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name).or_else(|| {
            self.ports
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::testing::{load, setup, MINIMAL};
    use super::*;

    #[test]
    fn minimal_file_gets_every_default() {
        let config = load(MINIMAL).unwrap();
        assert_eq!(config.detect, DetectParams::default());
        assert_eq!(config.decode, DecodeParams::default());
        assert_eq!(config.store.track_interval_minutes, 10);
        assert_eq!(config.store.batch_rows, 5000);
        assert!(config.store.db.ends_with("aisgap.db"));
        assert!(
            config.store.db.is_absolute(),
            "resolved against the temp folder"
        );
        assert_eq!(config.ports.len(), 1);
        assert!(config.watchlist.is_empty());
        assert_eq!(config.port("Vostochny").unwrap().approach_nm, 100.0);
        assert_eq!(config.port("vostochny").unwrap().name, "Vostochny");
        assert!(config.port("Kozmino").is_none());
    }

    #[test]
    fn integers_are_accepted_where_decimals_are_expected() {
        let config = load(&format!(
            "{MINIMAL}[detect]\ngap_hours = 12\nmin_coverage = 1\n"
        ))
        .unwrap();
        assert_eq!(config.detect.gap_hours, 12.0);
        assert_eq!(config.detect.min_coverage, 1.0);
    }

    #[test]
    fn paths_resolve_against_the_config_folder() {
        let (dir, path) = setup(&format!("{MINIMAL}[store]\ndb = \"data/track.db\"\n"));
        let config = Config::load(&path).unwrap();
        assert_eq!(config.store.db, dir.path().join("data/track.db"));
        let config = load(&format!(
            "{MINIMAL}[store]\ndb = \"/var/lib/aisgap/aisgap.db\"\n"
        ))
        .unwrap();
        assert_eq!(config.store.db, Path::new("/var/lib/aisgap/aisgap.db"));
        assert_eq!(
            config
                .source_path
                .as_deref()
                .map(|p| p.ends_with("aisgap.toml")),
            Some(true)
        );
    }

    #[test]
    fn unreadable_config_is_one_problem() {
        let errors = Config::load(Path::new("/nonexistent/aisgap.toml")).unwrap_err();
        assert_eq!(errors.problems.len(), 1);
        assert!(errors
            .to_string()
            .ends_with("1 problem found in the configuration"));
    }

    #[test]
    fn errors_list_every_problem_then_their_number() {
        let p = ConfigProblem {
            file: PathBuf::from("a.toml"),
            location: None,
            field: None,
            message: "must be greater than 0, got -3".into(),
        };
        let errors = ConfigErrors {
            problems: vec![p.clone(), p],
        };
        assert_eq!(
            errors.to_string(),
            "a.toml: must be greater than 0, got -3\n\
             a.toml: must be greater than 0, got -3\n\
             2 problems found in the configuration"
        );
    }

    #[test]
    fn config_path_resolution_order() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join("present.toml");
        fs::write(&present, "").unwrap();
        let absent = dir.path().join("absent.toml");
        let candidates = [absent.as_path(), present.as_path()];
        let explicit = Path::new("explicit.toml");
        assert_eq!(
            resolve_config_path_from(Some(explicit), Some("env.toml".into()), &candidates),
            Some(explicit.to_path_buf())
        );
        assert_eq!(
            resolve_config_path_from(None, Some("env.toml".into()), &candidates),
            Some(PathBuf::from("env.toml"))
        );
        assert_eq!(
            resolve_config_path_from(None, Some("".into()), &candidates),
            Some(present.clone())
        );
        assert_eq!(
            resolve_config_path_from(None, None, &candidates),
            Some(present)
        );
        assert_eq!(
            resolve_config_path_from(None, None, &[absent.as_path()]),
            None
        );
    }
}
