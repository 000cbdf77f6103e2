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

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::ports::{format_position, haversine_nm, load_ports, Port, PortZone};
use crate::source::serial::SUPPORTED_BAUDS;
use crate::source::{
    ReconnectPolicy, SourceKind, SourceSpec, DEFAULT_BAUD, DEFAULT_MAX_CLIENTS,
    DEFAULT_MAX_LINE_BYTES, DEFAULT_READ_TIMEOUT_S, DEFAULT_RECONNECT_MAX_S,
};
use crate::watchlist::Watchlist;

/// Where the service looks for its configuration when neither `--config` nor `$AISGAP_CONFIG`
/// names one.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/aisgap/aisgap.toml";
/// The development fallback, relative to the working directory.
pub const LOCAL_CONFIG_PATH: &str = "config/aisgap.toml";
/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "AISGAP_CONFIG";

/// The checked configuration. Built only by [`Config::load`] (or `Default` for tests), so
/// every value in it has passed validation. `Default` gives the documented defaults and no
/// ports.
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
    /// From the `[[source]]` sections, in file order; names are unique.
    pub sources: Vec<SourceSpec>,
}

/// `[detect]`: what makes a gap, a feasible port call and a cargo estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectParams {
    /// Minimum silence, in hours, that makes a gap.
    pub gap_hours: f64,
    /// Speed, in knots, at which a port must be reachable during a gap.
    pub max_speed_kn: f64,
    /// Hours a vessel must have had in port for a call to be feasible.
    pub min_port_hours: f64,
    /// Other vessels heard in an hour near the port for that hour to count as covered.
    pub coverage_min_vessels: u32,
    /// Share (0..=1) of a trip's hours that must be covered.
    pub min_coverage: f64,
    /// Implied speed, in knots, above which the fix after a gap is not the same voyage.
    pub jump_speed_kn: f64,
    /// Watch every vessel, not only tankers and the watchlist.
    pub watch_all: bool,
    /// Draught rise, in metres, above which cargo is estimated.
    pub cargo_min_draught_rise_m: f64,
    /// Draught rise, in metres, above which the estimate is high confidence.
    pub high_confidence_draught_rise_m: f64,
    /// Hull fullness for the displacement estimate.
    pub block_coefficient: f64,
    /// Tonnes per cubic metre.
    pub seawater_density_t_m3: f64,
    /// Barrels per tonne of cargo.
    pub barrels_per_tonne: f64,
}

impl Default for DetectParams {
    fn default() -> Self {
        DetectParams {
            gap_hours: 6.0,
            max_speed_kn: 15.0,
            min_port_hours: 4.0,
            coverage_min_vessels: 2,
            min_coverage: 0.75,
            jump_speed_kn: 40.0,
            watch_all: false,
            cargo_min_draught_rise_m: 0.3,
            high_confidence_draught_rise_m: 0.5,
            block_coefficient: 0.80,
            seawater_density_t_m3: 1.025,
            barrels_per_tonne: 7.33,
        }
    }
}

/// `[store]`: the SQLite database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreParams {
    /// Database file; after loading, relative paths are resolved against the config's folder.
    pub db: PathBuf,
    /// Thinned track: one fix per vessel per this many minutes.
    pub track_interval_minutes: u32,
    /// Rows per write transaction.
    pub batch_rows: usize,
    /// `aisgap run` commits (changes, checkpoint, source positions) this often, in
    /// milliseconds: the most input a `kill -9` can lose.
    pub commit_interval_ms: u64,
}

impl Default for StoreParams {
    fn default() -> Self {
        StoreParams {
            db: PathBuf::from("aisgap.db"),
            track_interval_minutes: 10,
            batch_rows: 5000,
            commit_interval_ms: 1000,
        }
    }
}

/// `[http]`: the service's metrics and health endpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpParams {
    /// Address to listen on, loopback by default; empty turns the listener off.
    pub listen: String,
}

/// `[alerts]`: where `aisgap run` reports vessels going dark, reappearing and trips tallied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertParams {
    /// `http://host:port/path` to POST each alert to as JSON.
    pub webhook: Option<String>,
    /// A JSON Lines file each alert is appended to; relative to the config's folder.
    pub file: Option<PathBuf>,
    /// Longest wait between attempts to deliver to the webhook, in seconds.
    pub retry_max_s: u32,
}

impl Default for AlertParams {
    fn default() -> Self {
        AlertParams {
            webhook: None,
            file: None,
            retry_max_s: 60,
        }
    }
}

impl AlertParams {
    /// Nothing to alert to.
    pub fn is_off(&self) -> bool {
        self.webhook.is_none() && self.file.is_none()
    }
}

/// Host and port, and path, of an `http://` address (the only scheme the webhook speaks: it
/// posts to a collector on the same host or network).
pub fn parse_http_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let (host, port) = authority.rsplit_once(':')?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return None;
    }
    Some((authority, path.to_string()))
}

/// Where `aisgap run` serves /metrics, /healthz and /readyz unless told otherwise.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9841";

impl Default for HttpParams {
    fn default() -> Self {
        HttpParams {
            listen: DEFAULT_HTTP_LISTEN.to_string(),
        }
    }
}

impl HttpParams {
    /// The address to bind, or none when the listener is turned off (checked at load).
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.listen.parse().ok()
    }
}

/// `[decode]`: multi-sentence message assembly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeParams {
    /// Seconds after which an incomplete multi-sentence message is dropped.
    pub fragment_timeout_s: u32,
    /// Most incomplete messages held at once; beyond it the oldest is dropped.
    pub max_pending_fragments: usize,
}

impl Default for DecodeParams {
    fn default() -> Self {
        DecodeParams {
            fragment_timeout_s: 60,
            max_pending_fragments: 1024,
        }
    }
}

/// One thing wrong with the configuration, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: PathBuf,
    /// "line 12", "feature 3 (Vostochny)", ...
    pub location: Option<String>,
    /// The setting, property or column concerned: "detect.gap_hours", "properties.radius_nm".
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(location) = &self.location {
            write!(f, ":{location}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything wrong with a configuration, found in one pass.
#[derive(Debug, thiserror::Error)]
#[error("{}", render_problems(&self.problems))]
pub struct ConfigErrors {
    pub problems: Vec<ConfigProblem>,
}

fn render_problems(problems: &[ConfigProblem]) -> String {
    let mut out = String::new();
    for problem in problems {
        out.push_str(&problem.to_string());
        out.push('\n');
    }
    let plural = if problems.len() == 1 { "" } else { "s" };
    out.push_str(&format!(
        "{} problem{plural} found in the configuration",
        problems.len()
    ));
    out
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
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPorts {
    /// Required, but checked by hand so that its absence is one clear problem.
    file: Option<PathBuf>,
    /// More designated-port files (an operator's own additions); names unique across all.
    #[serde(default)]
    extra_files: Vec<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatchlist {
    file: Option<PathBuf>,
}

/// One `[[source]]` as written. Every key is optional here so that which keys a kind needs,
/// and which it would ignore, can be judged by hand with a message that names the kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Option<String>,
    kind: Option<String>,
    address: Option<String>,
    path: Option<PathBuf>,
    baud: Option<u32>,
    follow: Option<bool>,
    trust_data_time: Option<bool>,
    station: Option<String>,
    max_line_bytes: Option<usize>,
    read_timeout_s: Option<u32>,
    reconnect_max_s: Option<u32>,
    max_clients: Option<usize>,
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
        let mut toml_problems = TomlProblems {
            file: path,
            text: &text,
            found: Vec::new(),
        };
        let (mut doc, syntax_errors) = DeTable::parse_recoverable(&text);
        let mut broken_lines = Vec::new();
        for err in syntax_errors {
            let at = err.span().map(|s| s.start);
            if let Some(at) = at {
                broken_lines.push(line_of(&text, at));
            }
            toml_problems.push(at, None, format!("TOML syntax: {}", err.message()));
        }
        // Recovery fills a broken line's value with a placeholder; judging it would only
        // produce a second, misleading problem for the same line.
        remove_entries_on_lines(doc.get_mut(), &text, &broken_lines);
        let raw = deserialize_every_problem(&mut doc, &mut toml_problems);
        check_ranges(&raw, doc.get_ref(), &mut toml_problems);

        let folder = path.parent().unwrap_or(Path::new(""));
        let sources = check_sources(&raw.sources, doc.get_ref(), folder, &mut toml_problems);
        let mut file_problems = Vec::new();
        let ports = load_all_ports(&raw.ports, folder, doc.get_ref(), &mut toml_problems)
            .unwrap_or_else(|problems| {
                file_problems.extend(problems);
                Vec::new()
            });
        let watchlist = match &raw.watchlist.file {
            None => Watchlist::default(),
            Some(file) if file.as_os_str().is_empty() => {
                let at = value_start(doc.get_ref(), &["watchlist", "file"]);
                toml_problems.push(
                    at,
                    Some("watchlist.file"),
                    "must not be empty; leave the key out for no watchlist".to_owned(),
                );
                Watchlist::default()
            }
            Some(file) => {
                let resolved = resolve_against(folder, file);
                if resolved.is_file() {
                    Watchlist::load(&resolved).unwrap_or_else(|problems| {
                        file_problems.extend(problems);
                        Watchlist::default()
                    })
                } else {
                    let at = value_start(doc.get_ref(), &["watchlist", "file"]);
                    toml_problems.push(
                        at,
                        Some("watchlist.file"),
                        missing_file_message("watchlist", &resolved),
                    );
                    Watchlist::default()
                }
            }
        };

        let mut problems = toml_problems.into_sorted();
        problems.extend(file_problems);
        if !problems.is_empty() {
            return Err(ConfigErrors { problems });
        }
        let mut store = raw.store;
        store.db = resolve_against(folder, &store.db);
        let mut alerts = raw.alerts;
        alerts.file = alerts.file.map(|f| resolve_against(folder, &f));
        Ok(Config {
            source_path: Some(path.to_path_buf()),
            detect: raw.detect,
            ports,
            watchlist,
            store,
            decode: raw.decode,
            http: raw.http,
            alerts,
            sources,
        })
    }

    /// The port of that name; an exact match first, then one ignoring ASCII case.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name).or_else(|| {
            self.ports
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
        })
    }

    /// A human summary: ports with zones, watchlist size, key parameters, and notes worth a
    /// second look (overlapping zones).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let source = self.source_path.as_deref().map_or_else(
            || "(built-in defaults)".to_owned(),
            |p| p.display().to_string(),
        );
        out.push_str(&format!("Configuration {source} is valid.\n"));
        out.push_str(&format!("Designated ports: {}\n", self.ports.len()));
        let width = self.ports.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for port in &self.ports {
            let gap = port
                .gap_hours
                .map_or_else(String::new, |h| format!(", gap {h} h"));
            out.push_str(&format!(
                "  {:width$}  {}; approach {} nm, coverage {} nm{gap}\n",
                port.name,
                port.zone_description(),
                port.approach_nm,
                port.coverage_nm,
            ));
        }
        let watched = if self.detect.watch_all {
            "every vessel"
        } else {
            "tankers and the watchlist"
        };
        out.push_str(&format!(
            "Watchlist: {} vessel(s); watching {watched}\n",
            self.watchlist.len()
        ));
        let d = &self.detect;
        out.push_str(&format!(
            "Detection: gap >= {} h; reachable at {} kn with {} h in port; an hour is covered \
             with >= {} other vessel(s) heard, a trip needs {:.0}% covered hours; jump above {} kn\n",
            d.gap_hours,
            d.max_speed_kn,
            d.min_port_hours,
            d.coverage_min_vessels,
            d.min_coverage * 100.0,
            d.jump_speed_kn,
        ));
        out.push_str(&format!(
            "Cargo: estimated above a {} m draught rise (high confidence above {} m); block \
             coefficient {}, sea water {} t/m3, {} bbl/t\n",
            d.cargo_min_draught_rise_m,
            d.high_confidence_draught_rise_m,
            d.block_coefficient,
            d.seawater_density_t_m3,
            d.barrels_per_tonne,
        ));
        out.push_str(&format!(
            "Store: {}; track thinned to one fix per {} min; {} rows per transaction\n",
            self.store.db.display(),
            self.store.track_interval_minutes,
            self.store.batch_rows,
        ));
        out.push_str(&format!(
            "Decode: incomplete messages dropped after {} s; at most {} pending\n",
            self.decode.fragment_timeout_s, self.decode.max_pending_fragments,
        ));
        if self.sources.is_empty() {
            out.push_str("Sources: none\n");
        } else {
            out.push_str(&format!("Sources: {}\n", self.sources.len()));
            let width = self.sources.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for spec in &self.sources {
                out.push_str(&format!(
                    "  {:width$}  {}\n",
                    spec.name,
                    describe_source(spec)
                ));
            }
        }
        for note in self
            .overlap_notes()
            .into_iter()
            .chain(self.listener_notes())
        {
            out.push_str(&format!("Note: {note}\n"));
        }
        out
    }

    /// Listeners reachable from other machines: allowed (receivers often push over the
    /// network), but worth a second look.
    fn listener_notes(&self) -> Vec<String> {
        self.sources
            .iter()
            .filter_map(|spec| match &spec.kind {
                SourceKind::TcpListen { address, .. } | SourceKind::Udp { address }
                    if !address.ip().is_loopback() =>
                {
                    Some(format!(
                        "source {} listens on {address}, reachable from other machines; \
                         use 127.0.0.1 to accept senders on this machine only",
                        spec.name
                    ))
                }
                _ => None,
            })
            .collect()
    }

    /// Circular zones that share water: a fix there is "in" both ports.
    fn overlap_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for (i, a) in self.ports.iter().enumerate() {
            for b in &self.ports[i + 1..] {
                if let (
                    PortZone::Circle {
                        lat: lat_a,
                        lon: lon_a,
                        radius_nm: r_a,
                    },
                    PortZone::Circle {
                        lat: lat_b,
                        lon: lon_b,
                        radius_nm: r_b,
                    },
                ) = (&a.zone, &b.zone)
                {
                    let apart = haversine_nm(*lat_a, *lon_a, *lat_b, *lon_b);
                    if apart < r_a + r_b {
                        notes.push(format!(
                            "zones {} and {} overlap: centres {} and {} are {apart:.1} nm \
                             apart, radii {r_a:.1} + {r_b:.1} nm",
                            a.name,
                            b.name,
                            format_position(*lat_a, *lon_a),
                            format_position(*lat_b, *lon_b),
                        ));
                    }
                }
            }
        }
        notes
    }
}

/// Problems in the TOML file itself, kept with their byte offset so they can be listed in
/// file order.
struct TomlProblems<'a> {
    file: &'a Path,
    text: &'a str,
    found: Vec<(Option<usize>, ConfigProblem)>,
}

impl TomlProblems<'_> {
    /// Whether `field` already has a problem (e.g. a wrong type, after which it is absent).
    fn mentions(&self, field: &str) -> bool {
        self.found
            .iter()
            .any(|(_, p)| p.field.as_deref() == Some(field))
    }

    fn push(&mut self, at: Option<usize>, field: Option<&str>, message: String) {
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

    fn into_sorted(mut self) -> Vec<ConfigProblem> {
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

/// Deserializes `RawConfig`, reporting and removing each offending entry until the rest
/// deserializes. Each round removes one entry, so this ends.
fn deserialize_every_problem(
    doc: &mut Spanned<DeTable<'_>>,
    problems: &mut TomlProblems<'_>,
) -> RawConfig {
    loop {
        let err = match RawConfig::deserialize(toml::de::Deserializer::from(doc.clone())) {
            Ok(raw) => return raw,
            Err(err) => err,
        };
        let at = err.span().map(|s| s.start);
        let removed = at.and_then(|at| remove_entry_at(doc.get_mut(), at, ""));
        problems.push(at, removed.as_deref(), plain_serde_message(err.message()));
        if removed.is_none() {
            // Nothing left to blame; the problem is reported and the defaults stand in.
            return RawConfig::default();
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
fn value_start(doc: &DeTable<'_>, path: &[&str]) -> Option<usize> {
    value_span(doc, path).map(|s| s.start)
}

fn value_span(doc: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
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

/// Range and cross-field rules, reported at the line of the setting when the file sets it.
fn check_ranges(raw: &RawConfig, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    let mut fail = |section: &str, key: &str, message: String| {
        let at = value_start(doc, &[section, key]);
        problems.push(at, Some(&format!("{section}.{key}")), message);
    };
    let d = &raw.detect;
    for (key, value) in [
        ("gap_hours", d.gap_hours),
        ("max_speed_kn", d.max_speed_kn),
        ("jump_speed_kn", d.jump_speed_kn),
        ("block_coefficient", d.block_coefficient),
    ] {
        if !(value.is_finite() && value > 0.0) {
            fail(
                "detect",
                key,
                format!("must be greater than 0, got {value}"),
            );
        }
    }
    for (key, value) in [
        ("min_port_hours", d.min_port_hours),
        ("cargo_min_draught_rise_m", d.cargo_min_draught_rise_m),
        (
            "high_confidence_draught_rise_m",
            d.high_confidence_draught_rise_m,
        ),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            fail("detect", key, format!("must be 0 or more, got {value}"));
        }
    }
    if !(0.0..=1.0).contains(&d.min_coverage) {
        fail(
            "detect",
            "min_coverage",
            format!(
                "is a share of hours and must lie in 0..=1 (0.75 = 75%), got {}",
                d.min_coverage
            ),
        );
    }
    if d.max_speed_kn.is_finite()
        && d.jump_speed_kn.is_finite()
        && d.jump_speed_kn <= d.max_speed_kn
    {
        fail(
            "detect",
            "jump_speed_kn",
            format!(
                "must be above max_speed_kn ({} kn), got {} kn; otherwise a reachable port call \
                 would count as a position jump",
                d.max_speed_kn, d.jump_speed_kn
            ),
        );
    }
    if d.high_confidence_draught_rise_m < d.cargo_min_draught_rise_m {
        fail(
            "detect",
            "high_confidence_draught_rise_m",
            format!(
                "must be at least cargo_min_draught_rise_m ({} m), got {} m",
                d.cargo_min_draught_rise_m, d.high_confidence_draught_rise_m
            ),
        );
    }
    if d.block_coefficient > 1.0 {
        fail(
            "detect",
            "block_coefficient",
            format!(
                "is a hull's fullness and cannot exceed 1 (tankers are about 0.80), got {}",
                d.block_coefficient
            ),
        );
    }
    if !(0.9..=1.1).contains(&d.seawater_density_t_m3) {
        fail(
            "detect",
            "seawater_density_t_m3",
            format!(
                "is in tonnes per cubic metre and must lie in 0.9..=1.1 (sea water is about \
                 1.025; 1025 would be kg/m3), got {}",
                d.seawater_density_t_m3
            ),
        );
    }
    if !(5.0..=13.0).contains(&d.barrels_per_tonne) {
        fail(
            "detect",
            "barrels_per_tonne",
            format!(
                "must lie in 5..=13 (crude about 7.3, diesel 7.5, gasoline 8.5), got {}",
                d.barrels_per_tonne
            ),
        );
    }

    let s = &raw.store;
    if s.db.as_os_str().is_empty() {
        fail("store", "db", "must name the database file".to_owned());
    }
    if !(1..=1440).contains(&s.track_interval_minutes) {
        fail(
            "store",
            "track_interval_minutes",
            format!(
                "must lie in 1..=1440 minutes, got {}",
                s.track_interval_minutes
            ),
        );
    }
    if !(1..=1_000_000).contains(&s.batch_rows) {
        fail(
            "store",
            "batch_rows",
            format!("must lie in 1..=1000000, got {}", s.batch_rows),
        );
    }

    if !(10..=60_000).contains(&s.commit_interval_ms) {
        fail(
            "store",
            "commit_interval_ms",
            format!(
                "must lie in 10..=60000 milliseconds, got {}",
                s.commit_interval_ms
            ),
        );
    }

    let h = &raw.http;
    if !h.listen.is_empty() && h.listen.parse::<std::net::SocketAddr>().is_err() {
        fail(
            "http",
            "listen",
            format!(
                "{:?} is not an address and port such as {DEFAULT_HTTP_LISTEN} (or \"\" for no listener)",
                h.listen
            ),
        );
    }

    let a = &raw.alerts;
    if let Some(url) = &a.webhook {
        if parse_http_url(url).is_none() {
            fail(
                "alerts",
                "webhook",
                format!("{url:?} is not an http://host:port/path address"),
            );
        }
    }
    if a.file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
        fail("alerts", "file", "must name a file".to_owned());
    }
    if !(1..=3600).contains(&a.retry_max_s) {
        fail(
            "alerts",
            "retry_max_s",
            format!("must lie in 1..=3600 seconds, got {}", a.retry_max_s),
        );
    }

    let c = &raw.decode;
    if !(1..=3600).contains(&c.fragment_timeout_s) {
        fail(
            "decode",
            "fragment_timeout_s",
            format!("must lie in 1..=3600 seconds, got {}", c.fragment_timeout_s),
        );
    }
    if c.max_pending_fragments == 0 {
        fail(
            "decode",
            "max_pending_fragments",
            "must be at least 1".to_owned(),
        );
    }
}

/// One line describing a source for `check-config`.
fn describe_source(spec: &SourceSpec) -> String {
    let timeout = spec.read_timeout.as_secs();
    let reconnect = spec.reconnect.max.as_secs();
    let mut text = match &spec.kind {
        SourceKind::Tcp { address } => format!(
            "tcp client of {address}; stall after {timeout} s silent, reconnect within {reconnect} s"
        ),
        SourceKind::TcpListen {
            address,
            max_clients,
        } => format!(
            "tcp listener on {address} for up to {max_clients} client(s); a client silent \
             {timeout} s is closed"
        ),
        SourceKind::Udp { address } => {
            format!("udp listener on {address}; stall noted after {timeout} s silent")
        }
        SourceKind::Serial { path, baud } => format!(
            "serial {} at {baud} baud; reopened after {timeout} s silent, retry within {reconnect} s",
            path.display()
        ),
        SourceKind::File { path, follow: true } => {
            format!("file {}, followed from its end", path.display())
        }
        SourceKind::File {
            path,
            follow: false,
        } => format!("file {}, read once", path.display()),
        SourceKind::Stdin => "standard input, read once".to_owned(),
    };
    text.push_str(if spec.trust_data_time {
        "; times from the data"
    } else {
        "; times of receipt"
    });
    if let Some(station) = &spec.station {
        text.push_str(&format!("; station {station}"));
    }
    if spec.max_line_bytes != DEFAULT_MAX_LINE_BYTES {
        text.push_str(&format!("; lines up to {} bytes", spec.max_line_bytes));
    }
    text
}

/// The kinds a `[[source]]` may name, as written in the file.
const SOURCE_KINDS: [&str; 6] = ["tcp", "tcp-listen", "udp", "serial", "file", "stdin"];

/// Keys that only some kinds use, and those kinds.
const KIND_SPECIFIC_KEYS: [(&str, &[&str]); 7] = [
    ("address", &["tcp", "tcp-listen", "udp"]),
    ("path", &["serial", "file"]),
    ("baud", &["serial"]),
    ("follow", &["file"]),
    ("max_clients", &["tcp-listen"]),
    ("read_timeout_s", &["tcp", "tcp-listen", "udp", "serial"]),
    ("reconnect_max_s", &["tcp", "tcp-listen", "udp", "serial"]),
];

/// Checks every `[[source]]` and builds the specs of the good ones; problems go to `problems`,
/// each at the line of the setting concerned (or of the section's header when it is missing).
fn check_sources(
    raw: &[RawSource],
    doc: &DeTable<'_>,
    folder: &Path,
    problems: &mut TomlProblems<'_>,
) -> Vec<SourceSpec> {
    let items: Vec<Option<(usize, &DeTable<'_>)>> = match doc.get("source").map(|v| v.get_ref()) {
        Some(DeValue::Array(items)) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Table(table) => Some((item.span().start, table)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut specs = Vec::new();
    let mut names: Vec<(String, usize)> = Vec::new();
    let mut listeners: Vec<(&'static str, SocketAddr, usize)> = Vec::new();
    let mut stdin_at: Option<usize> = None;
    for (i, source) in raw.iter().enumerate() {
        let item = items.get(i).copied().flatten();
        let at = |key: &str| -> Option<usize> {
            let (header, table) = item?;
            Some(table.get(key).map_or(header, |v| v.span().start))
        };
        let field = |key: &str| format!("source[{i}].{key}");
        let fail = |problems: &mut TomlProblems<'_>, key: &str, message: String| {
            problems.push(at(key), Some(&field(key)), message);
        };
        let before = problems.found.len();

        let name = match source.name.as_deref().map(str::trim) {
            None if problems.mentions(&field("name")) => None,
            None => {
                fail(
                    problems,
                    "name",
                    "is required: a unique name that tags the source's lines, logs and metrics"
                        .to_owned(),
                );
                None
            }
            Some("") => {
                fail(problems, "name", "must not be empty".to_owned());
                None
            }
            Some(name) if name.chars().any(char::is_control) => {
                fail(
                    problems,
                    "name",
                    "must not contain control characters".to_owned(),
                );
                None
            }
            Some(name) if name.chars().count() > 64 => {
                fail(problems, "name", "must be at most 64 characters".to_owned());
                None
            }
            Some(name) => {
                if let Some((_, first)) = names.iter().find(|(seen, _)| seen == name) {
                    fail(
                        problems,
                        "name",
                        format!(
                            "duplicate source name {name:?}: source[{first}] already uses it; \
                             names must be unique"
                        ),
                    );
                } else {
                    names.push((name.to_owned(), i));
                }
                Some(name.to_owned())
            }
        };

        let kind = match source.kind.as_deref() {
            None if problems.mentions(&field("kind")) => None,
            None => {
                fail(
                    problems,
                    "kind",
                    format!("is required: one of {}", SOURCE_KINDS.join(", ")),
                );
                None
            }
            Some(kind) if SOURCE_KINDS.contains(&kind) => Some(kind),
            Some(other) => {
                fail(
                    problems,
                    "kind",
                    format!(
                        "unknown kind {other:?}; expected one of {}",
                        SOURCE_KINDS.join(", ")
                    ),
                );
                None
            }
        };

        if let Some(kind) = kind {
            let set = [
                ("address", source.address.is_some()),
                ("path", source.path.is_some()),
                ("baud", source.baud.is_some()),
                ("follow", source.follow.is_some()),
                ("max_clients", source.max_clients.is_some()),
                ("read_timeout_s", source.read_timeout_s.is_some()),
                ("reconnect_max_s", source.reconnect_max_s.is_some()),
            ];
            for ((key, kinds), (_, is_set)) in KIND_SPECIFIC_KEYS.iter().zip(set) {
                if is_set && !kinds.contains(&kind) {
                    fail(
                        problems,
                        key,
                        format!(
                            "applies to {} sources only; this is a {kind} source",
                            kinds.join(", ")
                        ),
                    );
                }
            }
        }

        // A key already reported (wrong type, or not for this kind) is not judged again.
        let judged = |problems: &TomlProblems<'_>, key: &str| !problems.mentions(&field(key));
        let max_line_bytes = source.max_line_bytes.unwrap_or(DEFAULT_MAX_LINE_BYTES);
        if !(82..=1_048_576).contains(&max_line_bytes) && judged(problems, "max_line_bytes") {
            fail(
                problems,
                "max_line_bytes",
                format!(
                    "must lie in 82..=1048576 (an NMEA sentence alone is up to 82 bytes), got \
                     {max_line_bytes}"
                ),
            );
        }
        let read_timeout_s = source.read_timeout_s.unwrap_or(DEFAULT_READ_TIMEOUT_S);
        if !(1..=86_400).contains(&read_timeout_s) && judged(problems, "read_timeout_s") {
            fail(
                problems,
                "read_timeout_s",
                format!("must lie in 1..=86400 seconds, got {read_timeout_s}"),
            );
        }
        let reconnect_max_s = source.reconnect_max_s.unwrap_or(DEFAULT_RECONNECT_MAX_S);
        if !(1..=3600).contains(&reconnect_max_s) && judged(problems, "reconnect_max_s") {
            fail(
                problems,
                "reconnect_max_s",
                format!("must lie in 1..=3600 seconds, got {reconnect_max_s}"),
            );
        }
        let max_clients = source.max_clients.unwrap_or(DEFAULT_MAX_CLIENTS);
        if !(1..=1024).contains(&max_clients) && judged(problems, "max_clients") {
            fail(
                problems,
                "max_clients",
                format!("must lie in 1..=1024, got {max_clients}"),
            );
        }
        let baud = source.baud.unwrap_or(DEFAULT_BAUD);
        if !SUPPORTED_BAUDS.contains(&baud) && judged(problems, "baud") {
            fail(
                problems,
                "baud",
                format!(
                    "must be one of {SUPPORTED_BAUDS:?} (AIS receivers usually use 38400), got \
                     {baud}"
                ),
            );
        }
        let station = match source.station.as_deref().map(str::trim) {
            Some("") => {
                fail(
                    problems,
                    "station",
                    "must not be empty; leave the key out when the data names its station"
                        .to_owned(),
                );
                None
            }
            other => other.map(Arc::<str>::from),
        };

        let required = |problems: &mut TomlProblems<'_>, key: &str, what: &str| {
            if !problems.mentions(&field(key)) {
                fail(
                    problems,
                    key,
                    format!("is required for a {} source: {what}", kind.unwrap_or("")),
                );
            }
        };
        let built = match kind {
            Some("tcp") => match source.address.as_deref() {
                None => {
                    required(
                        problems,
                        "address",
                        "the feed's host:port, e.g. \"153.44.253.27:5631\"",
                    );
                    None
                }
                Some(address) => match check_host_port(address) {
                    Ok(()) => Some(SourceKind::Tcp {
                        address: address.to_owned(),
                    }),
                    Err(message) => {
                        fail(problems, "address", message);
                        None
                    }
                },
            },
            Some(kind @ ("tcp-listen" | "udp")) => match source.address.as_deref() {
                None => {
                    required(
                        problems,
                        "address",
                        "the address and port to listen on, e.g. \"0.0.0.0:10110\"",
                    );
                    None
                }
                Some(address) => match check_listen_address(address) {
                    Ok(address) => {
                        let protocol = if kind == "udp" { "udp" } else { "tcp" };
                        if let Some((_, other, j)) = listeners.iter().find(|(p, other, _)| {
                            *p == protocol && listen_addresses_clash(*other, address)
                        }) {
                            fail(
                                problems,
                                "address",
                                format!(
                                    "{address} clashes with source[{j}], which listens on \
                                     {other} ({protocol})"
                                ),
                            );
                        }
                        listeners.push((protocol, address, i));
                        Some(if kind == "udp" {
                            SourceKind::Udp { address }
                        } else {
                            SourceKind::TcpListen {
                                address,
                                max_clients,
                            }
                        })
                    }
                    Err(message) => {
                        fail(problems, "address", message);
                        None
                    }
                },
            },
            Some(kind @ ("serial" | "file")) => match &source.path {
                None => {
                    let what = if kind == "serial" {
                        "the device, e.g. \"/dev/ttyUSB0\""
                    } else {
                        "the file to read"
                    };
                    required(problems, "path", what);
                    None
                }
                Some(path) if path.as_os_str().is_empty() => {
                    fail(problems, "path", "must not be empty".to_owned());
                    None
                }
                Some(path) => {
                    let path = resolve_against(folder, path);
                    if kind == "serial" {
                        Some(SourceKind::Serial { path, baud })
                    } else if path.extension().is_some_and(|e| e == "gz") {
                        fail(
                            problems,
                            "path",
                            "a compressed file cannot be followed or read live; read it with \
                             `aisgap replay`"
                                .to_owned(),
                        );
                        None
                    } else {
                        Some(SourceKind::File {
                            path,
                            follow: source.follow.unwrap_or(true),
                        })
                    }
                }
            },
            Some("stdin") => {
                if let Some(first) = stdin_at {
                    fail(
                        problems,
                        "kind",
                        format!("source[{first}] already reads standard input; there is only one"),
                    );
                }
                stdin_at.get_or_insert(i);
                Some(SourceKind::Stdin)
            }
            _ => None,
        };

        if let (Some(name), Some(kind), true) = (name, built, problems.found.len() == before) {
            specs.push(SourceSpec {
                name: Arc::from(name),
                kind,
                trust_data_time: source.trust_data_time.unwrap_or(true),
                station,
                max_line_bytes,
                read_timeout: Duration::from_secs(u64::from(read_timeout_s)),
                reconnect: ReconnectPolicy::up_to(Duration::from_secs(u64::from(reconnect_max_s))),
            });
        }
    }
    specs
}

/// A feed address: `host:port`, `a.b.c.d:port` or `[v6]:port`, port 1..=65535.
fn check_host_port(address: &str) -> Result<(), String> {
    let example = "write it as host:port, e.g. \"153.44.253.27:5631\" or \"ais.example.org:5631\"";
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("{address:?} has no port; {example}"));
    };
    check_port(address, port)?;
    if let Some(inner) = host.strip_prefix('[') {
        let valid = inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
        return if valid {
            Ok(())
        } else {
            Err(format!(
                "{address:?} has a malformed IPv6 address; write it as [2001:db8::1]:5631"
            ))
        };
    }
    if host.contains(':') {
        return Err(format!(
            "{address:?}: an IPv6 address needs brackets, e.g. [2001:db8::1]:5631"
        ));
    }
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if host_ok {
        Ok(())
    } else {
        Err(format!("{address:?} has no valid host name; {example}"))
    }
}

fn check_port(address: &str, port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(0) => Err(format!("{address:?}: port 0 is not a port to use")),
        Ok(port) => Ok(port),
        Err(_) => Err(format!(
            "{address:?}: the port must be a number in 1..=65535, got {port:?}"
        )),
    }
}

/// A listening address: an IP literal and a port (a host name would leave unclear which
/// interface is meant).
fn check_listen_address(address: &str) -> Result<SocketAddr, String> {
    if let Some((_, port)) = address.rsplit_once(':') {
        check_port(address, port)?;
    }
    address.parse::<SocketAddr>().map_err(|_| {
        format!(
            "{address:?} is not an IP address and port; listen on e.g. \"0.0.0.0:10110\" (every \
             interface) or \"127.0.0.1:10110\" (this machine only)"
        )
    })
}

/// Two listeners of one protocol that could not both bind.
fn listen_addresses_clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && (a.ip() == b.ip()
            || (a.is_ipv4() == b.is_ipv4() && (a.ip().is_unspecified() || b.ip().is_unspecified())))
}

/// Loads `[ports] file` and `extra_files`: missing files are TOML problems (at the line naming
/// them), bad features are problems of the GeoJSON file. Names must be unique across files.
fn load_all_ports(
    raw: &RawPorts,
    folder: &Path,
    doc: &DeTable<'_>,
    toml_problems: &mut TomlProblems<'_>,
) -> Result<Vec<Port>, Vec<ConfigProblem>> {
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

    let mut problems = Vec::new();
    let mut ports: Vec<(Port, PathBuf)> = Vec::new();
    let mut loaded_files = Vec::new();
    for (file, at, field) in named {
        let resolved = resolve_against(folder, file);
        if !resolved.is_file() {
            toml_problems.push(at, Some(field), missing_file_message("ports", &resolved));
            continue;
        }
        loaded_files.push(resolved.clone());
        match load_ports(&resolved) {
            Ok(loaded) => {
                // Every feature of a file that loads is a port, so positions are feature numbers.
                for (index, port) in loaded.into_iter().enumerate() {
                    if let Some((_, first_file)) = ports.iter().find(|(p, _)| p.name == port.name) {
                        problems.push(ConfigProblem {
                            file: resolved.clone(),
                            location: Some(format!("feature {} ({})", index + 1, port.name)),
                            field: Some("properties.name".to_owned()),
                            message: format!(
                                "duplicate port name: {} already defines it",
                                first_file.display()
                            ),
                        });
                    } else {
                        ports.push((port, resolved.clone()));
                    }
                }
            }
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() && ports.is_empty() && !loaded_files.is_empty() {
        problems.push(ConfigProblem {
            file: loaded_files[0].clone(),
            location: None,
            field: Some("features".to_owned()),
            message: "no designated ports: detection needs at least one".to_owned(),
        });
    }
    if problems.is_empty() {
        Ok(ports.into_iter().map(|(port, _)| port).collect())
    } else {
        Err(problems)
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
fn resolve_against(folder: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        folder.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const PORTS: &str = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","geometry":{"type":"Point","coordinates":[133.075,42.735]},
         "properties":{"name":"Vostochny","radius_nm":2.0}}]}"#;

    /// A folder with `aisgap.toml` (the given text) next to a one-port ports file.
    fn setup(toml_text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("ports.geojson"), PORTS).unwrap();
        let path = dir.path().join("aisgap.toml");
        fs::write(&path, toml_text).unwrap();
        (dir, path)
    }

    fn load(toml_text: &str) -> Result<Config, ConfigErrors> {
        let (_dir, path) = setup(toml_text);
        Config::load(&path)
    }

    fn problems(toml_text: &str) -> Vec<ConfigProblem> {
        load(toml_text).unwrap_err().problems
    }

    /// A one-problem config: its location and field.
    fn only_problem(toml_text: &str) -> (Option<String>, Option<String>, String) {
        let found = problems(toml_text);
        assert_eq!(found.len(), 1, "{found:#?}");
        let p = &found[0];
        (p.location.clone(), p.field.clone(), p.message.clone())
    }

    const MINIMAL: &str = "[ports]\nfile = \"ports.geojson\"\n";

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

    fn detect_problem(setting: &str) -> Option<ConfigProblem> {
        match load(&format!("{MINIMAL}[detect]\n{setting}\n")) {
            Ok(_) => None,
            Err(errors) => {
                assert_eq!(errors.problems.len(), 1, "{setting}: {errors}");
                Some(errors.problems[0].clone())
            }
        }
    }

    #[test]
    fn detect_rule_boundaries() {
        let refused = [
            "gap_hours = 0",
            "gap_hours = -3.0",
            "gap_hours = nan",
            "gap_hours = inf",
            "max_speed_kn = 0",
            "min_port_hours = -0.1",
            "min_coverage = -0.01",
            "min_coverage = 1.5",
            "jump_speed_kn = 15.0",
            "cargo_min_draught_rise_m = -0.1\nhigh_confidence_draught_rise_m = 0.5",
            "high_confidence_draught_rise_m = 0.29",
            "block_coefficient = 0",
            "block_coefficient = 1.01",
            "seawater_density_t_m3 = 1025",
            "seawater_density_t_m3 = 0.89",
            "barrels_per_tonne = 4.9",
            "barrels_per_tonne = 13.1",
        ];
        for setting in refused {
            let problem = detect_problem(setting).unwrap_or_else(|| panic!("accepted {setting}"));
            let key = setting.split(' ').next().unwrap();
            assert_eq!(problem.field, Some(format!("detect.{key}")), "{setting}");
            assert_eq!(problem.location.as_deref(), Some("line 4"), "{setting}");
        }
        let accepted = [
            "gap_hours = 0.001",
            "min_port_hours = 0",
            "min_coverage = 0",
            "min_coverage = 1",
            "coverage_min_vessels = 0",
            "jump_speed_kn = 15.01",
            "high_confidence_draught_rise_m = 0.3",
            "cargo_min_draught_rise_m = 0\nhigh_confidence_draught_rise_m = 0",
            "block_coefficient = 1",
            "seawater_density_t_m3 = 0.9",
            "seawater_density_t_m3 = 1.1",
            "barrels_per_tonne = 5",
            "barrels_per_tonne = 13",
            "watch_all = true",
        ];
        for setting in accepted {
            assert_eq!(detect_problem(setting), None, "{setting}");
        }
    }

    #[test]
    fn a_cross_field_rule_points_at_the_setting_that_is_written() {
        // jump_speed left at 40 kn, max_speed raised above it: the rule still fires, with no
        // line because jump_speed_kn is not in the file.
        let problem = detect_problem("max_speed_kn = 45").unwrap();
        assert_eq!(problem.field.as_deref(), Some("detect.jump_speed_kn"));
        assert_eq!(problem.location, None);
    }

    #[test]
    fn store_and_decode_rule_boundaries() {
        for (section, setting, ok) in [
            ("store", "track_interval_minutes = 0", false),
            ("store", "track_interval_minutes = 1", true),
            ("store", "track_interval_minutes = 1440", true),
            ("store", "track_interval_minutes = 1441", false),
            ("store", "batch_rows = 0", false),
            ("store", "batch_rows = 1", true),
            ("store", "batch_rows = 1000001", false),
            ("store", "commit_interval_ms = 9", false),
            ("store", "commit_interval_ms = 10", true),
            ("store", "commit_interval_ms = 60000", true),
            ("store", "commit_interval_ms = 60001", false),
            ("http", "listen = \"127.0.0.1:9841\"", true),
            ("http", "listen = \"[::1]:80\"", true),
            ("http", "listen = \"\"", true),
            ("http", "listen = \"localhost\"", false),
            ("http", "listen = \"127.0.0.1\"", false),
            ("alerts", "webhook = \"http://127.0.0.1:9000/hook\"", true),
            ("alerts", "webhook = \"http://collector\"", true),
            ("alerts", "webhook = \"https://collector/hook\"", false),
            ("alerts", "webhook = \"http://:80/\"", false),
            ("alerts", "file = \"alerts.jsonl\"\nretry_max_s = 5", true),
            ("alerts", "retry_max_s = 0", false),
            ("store", "db = \"\"", false),
            ("decode", "fragment_timeout_s = 0", false),
            ("decode", "fragment_timeout_s = 1", true),
            ("decode", "fragment_timeout_s = 3600", true),
            ("decode", "fragment_timeout_s = 3601", false),
            ("decode", "max_pending_fragments = 0", false),
            ("decode", "max_pending_fragments = 1", true),
        ] {
            let result = load(&format!("{MINIMAL}[{section}]\n{setting}\n"));
            assert_eq!(result.is_ok(), ok, "[{section}] {setting}: {result:?}");
        }
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

    #[test]
    fn unreadable_config_is_one_problem() {
        let errors = Config::load(Path::new("/nonexistent/aisgap.toml")).unwrap_err();
        assert_eq!(errors.problems.len(), 1);
        assert!(errors
            .to_string()
            .ends_with("1 problem found in the configuration"));
    }

    #[test]
    fn problem_display_leaves_out_what_is_unknown() {
        let mut p = ConfigProblem {
            file: PathBuf::from("a.toml"),
            location: Some("line 3".into()),
            field: Some("detect.gap_hours".into()),
            message: "must be greater than 0, got -3".into(),
        };
        assert_eq!(
            p.to_string(),
            "a.toml:line 3: detect.gap_hours: must be greater than 0, got -3"
        );
        p.location = None;
        p.field = None;
        assert_eq!(p.to_string(), "a.toml: must be greater than 0, got -3");
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

    #[test]
    fn every_kind_of_source_becomes_a_spec() {
        let (dir, path) = setup(&format!(
            "{MINIMAL}
[[source]]
name = \"norway\"
kind = \"tcp\"
address = \"153.44.253.27:5631\"
read_timeout_s = 30
reconnect_max_s = 120

[[source]]
name = \"push\"
kind = \"tcp-listen\"
address = \"127.0.0.1:5000\"
max_clients = 4
station = \"roof\"

[[source]]
name = \"catcher\"
kind = \"udp\"
address = \"[::]:10110\"
trust_data_time = false

[[source]]
name = \"dongle\"
kind = \"serial\"
path = \"/dev/ttyUSB0\"

[[source]]
name = \"log\"
kind = \"file\"
path = \"logs/ais.nmea\"
max_line_bytes = 512

[[source]]
name = \"old\"
kind = \"file\"
path = \"/var/log/old.nmea\"
follow = false

[[source]]
name = \"pipe\"
kind = \"stdin\"
"
        ));
        let config = Config::load(&path).unwrap();
        let specs = &config.sources;
        assert_eq!(specs.len(), 7);
        assert_eq!(&*specs[0].name, "norway");
        assert_eq!(
            specs[0].kind,
            SourceKind::Tcp {
                address: "153.44.253.27:5631".into()
            }
        );
        assert_eq!(specs[0].read_timeout, Duration::from_secs(30));
        assert_eq!(specs[0].reconnect.max, Duration::from_secs(120));
        assert_eq!(specs[0].reconnect.initial, Duration::from_secs(1));
        assert!(specs[0].trust_data_time);
        assert_eq!(specs[0].station, None);
        assert_eq!(specs[0].max_line_bytes, DEFAULT_MAX_LINE_BYTES);
        assert_eq!(
            specs[1].kind,
            SourceKind::TcpListen {
                address: "127.0.0.1:5000".parse().unwrap(),
                max_clients: 4
            }
        );
        assert_eq!(specs[1].station.as_deref(), Some("roof"));
        assert_eq!(specs[1].read_timeout, Duration::from_secs(120), "default");
        assert_eq!(
            specs[2].kind,
            SourceKind::Udp {
                address: "[::]:10110".parse().unwrap()
            }
        );
        assert!(!specs[2].trust_data_time);
        assert_eq!(
            specs[3].kind,
            SourceKind::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 38_400
            }
        );
        assert_eq!(
            specs[4].kind,
            SourceKind::File {
                path: dir.path().join("logs/ais.nmea"),
                follow: true
            },
            "relative to the config's folder, followed by default"
        );
        assert_eq!(specs[4].max_line_bytes, 512);
        assert_eq!(
            specs[5].kind,
            SourceKind::File {
                path: "/var/log/old.nmea".into(),
                follow: false
            }
        );
        assert_eq!(specs[6].kind, SourceKind::Stdin);

        let summary = config.summary();
        assert!(summary.contains("Sources: 7"), "{summary}");
        assert!(
            summary.contains("norway   tcp client of 153.44.253.27:5631; stall after 30 s"),
            "{summary}"
        );
        assert!(
            summary.contains("serial /dev/ttyUSB0 at 38400 baud"),
            "{summary}"
        );
        assert!(summary.contains("times of receipt"), "{summary}");
        let notes: Vec<&str> = summary.lines().filter(|l| l.starts_with("Note:")).collect();
        assert_eq!(
            notes.len(),
            1,
            "only the udp listener is open to others: {summary}"
        );
        assert!(
            notes[0].contains("source catcher listens on [::]:10110"),
            "{summary}"
        );
    }

    #[test]
    fn no_sources_is_valid_and_said() {
        let config = load(MINIMAL).unwrap();
        assert!(config.sources.is_empty());
        assert!(config.summary().contains("Sources: none"));
    }

    #[test]
    fn every_source_problem_is_listed_with_its_line_and_field() {
        let text = format!(
            "{MINIMAL}
[[source]]
kind = \"tcp\"
address = \"feed.example.org\"

[[source]]
name = \"a\"
kind = \"tpc\"

[[source]]
name = \"a\"
kind = \"udp\"
address = \"localhost:10110\"
baud = 9600

[[source]]
name = \"b\"
kind = \"serial\"
baud = 12345
max_line_bytes = 10

[[source]]
name = \"c\"
kind = \"file\"
path = \"x.nmea.gz\"
read_timeout_s = 0

[[source]]
name = \"d\"
kind = \"tcp-listen\"
address = \"0.0.0.0:10110\"
max_clients = 0
colour = \"red\"

[[source]]
name = \"e\"
kind = \"tcp-listen\"
address = \"127.0.0.1:10110\"

[[source]]
name = \"f\"
kind = \"stdin\"

[[source]]
name = \"g\"
kind = \"stdin\"
follow = \"yes\"

[[source]]
name = \"h\"
kind = \"tcp\"
address = \"ais.example.org:70000\"
station = \" \"
"
        );
        let found = problems(&text);
        let got: Vec<(String, String)> = found
            .iter()
            .map(|p| {
                (
                    p.location.clone().unwrap_or_default(),
                    p.field.clone().unwrap_or_default(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = [
            (4, "source[0].name"),
            (6, "source[0].address"),
            (10, "source[1].kind"),
            (13, "source[2].name"),
            (15, "source[2].address"),
            (16, "source[2].baud"),
            (18, "source[3].path"),
            (21, "source[3].baud"),
            (22, "source[3].max_line_bytes"),
            (27, "source[4].path"),
            (28, "source[4].read_timeout_s"),
            (34, "source[5].max_clients"),
            (35, "source[5].colour"),
            (40, "source[6].address"),
            (48, "source[8].kind"),
            (49, "source[8].follow"),
            (54, "source[9].address"),
            (55, "source[9].station"),
        ]
        .iter()
        .map(|(line, field)| (format!("line {line}"), field.to_string()))
        .collect();
        let rendered: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(got, want, "{rendered:#?}");
        let message = |field: &str| {
            found
                .iter()
                .find(|p| p.field.as_deref() == Some(field))
                .map(|p| p.message.clone())
                .unwrap()
        };
        assert!(message("source[0].name").starts_with("is required"));
        assert!(message("source[0].address").contains("has no port"));
        assert!(message("source[1].kind").contains("unknown kind \"tpc\""));
        assert!(message("source[2].name").contains("duplicate source name \"a\""));
        assert!(message("source[2].address").contains("not an IP address and port"));
        assert!(message("source[2].baud").contains("applies to serial sources only"));
        assert!(message("source[3].path").starts_with("is required for a serial source"));
        assert!(message("source[3].baud").contains("got 12345"));
        assert!(message("source[4].path").contains("aisgap replay"));
        assert!(message("source[4].read_timeout_s").contains("this is a file source"));
        assert!(message("source[6].address").contains("clashes with source[5]"));
        assert!(message("source[8].kind").contains("source[7] already reads standard input"));
        assert!(message("source[8].follow").contains("expected true or false"));
        assert!(message("source[9].address").contains("1..=65535"));
    }

    #[test]
    fn feed_and_listen_addresses() {
        for ok in [
            "153.44.253.27:5631",
            "ais.example.org:5631",
            "localhost:1",
            "[2001:db8::1]:65535",
            "my_relay:10110",
        ] {
            assert_eq!(check_host_port(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ais.example.org",
            ":5631",
            "host:0",
            "host:port",
            "2001:db8::1:5631",
            "[2001:db8::zz]:5631",
            "bad host:5631",
        ] {
            assert!(check_host_port(bad).is_err(), "{bad}");
        }
        assert!(check_listen_address("0.0.0.0:10110").is_ok());
        assert!(check_listen_address("[::1]:10110").is_ok());
        assert!(check_listen_address("0.0.0.0:0")
            .unwrap_err()
            .contains("port 0"));
        assert!(check_listen_address("localhost:10110").is_err());
        let any = "0.0.0.0:10110".parse().unwrap();
        let local = "127.0.0.1:10110".parse().unwrap();
        let other_port = "127.0.0.1:10111".parse().unwrap();
        let v6_any = "[::]:10110".parse().unwrap();
        assert!(listen_addresses_clash(any, local));
        assert!(!listen_addresses_clash(local, other_port));
        assert!(
            !listen_addresses_clash(local, v6_any),
            "separate families bind apart"
        );
    }

    #[test]
    fn summary_lists_ports_and_notes_overlaps() {
        let config = Config {
            ports: vec![
                Port::circle("Vostochny", 42.735, 133.075, 2.0),
                Port::circle("Kozmino", 42.728, 133.005, 1.5),
                Port::circle("Vladivostok", 43.105, 131.885, 3.0),
            ],
            ..Config::default()
        };
        let summary = config.summary();
        assert!(summary.contains("Designated ports: 3"), "{summary}");
        assert!(
            summary.contains("circle 2.0 nm around 42.7350 N 133.0750 E"),
            "{summary}"
        );
        let notes: Vec<&str> = summary.lines().filter(|l| l.starts_with("Note:")).collect();
        assert_eq!(notes.len(), 1, "{summary}");
        assert!(
            notes[0].contains("Vostochny and Kozmino overlap"),
            "{summary}"
        );
    }
}
