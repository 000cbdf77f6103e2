//! The command line: subcommands and their arguments (clap derive). Each command's work lives in
//! the library module it belongs to; `main` only dispatches.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::detect::{Confidence, GapStatus};
use crate::export::{ExportFormat, ExportWhat};
use crate::query::AnswerFormat;
use crate::source::file::DEFAULT_MAX_LINE;
use crate::store::read::TallyKey;

/// Watches AIS feeds, finds tankers that go dark near designated ports, and tallies the port
/// calls they probably made while dark.
#[derive(Debug, Parser)]
#[command(name = "aisgap", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode AIS logs (NMEA with any timestamp carrier; plain or .gz, `-` for stdin) into one
    /// record per event, with a summary of lines read, messages by type and rejects by reason.
    Decode(DecodeArgs),
    /// Run the whole pipeline over logs (NMEA or CSV, plain or .gz; several are merged by event
    /// time as live feeds would be) into a fresh database, then print the tally of trips.
    Replay(ReplayArgs),
    /// Generate a deterministic scenario: NMEA log, the same fixes as CSV, watchlist and truth.
    Simulate(SimulateArgs),
    /// Run the service: read the configured sources, detect as they arrive, commit to the
    /// database every commit interval; resume after a restart; SIGHUP reloads the configuration.
    Run(RunArgs),
    /// Check the configuration, its ports file and its watchlist; list every problem at once.
    CheckConfig(CheckConfigArgs),
    /// Ask the database: suspected trips, every gap, vessels dark now, tallies, a vessel, ports.
    Query(QueryArgs),
    /// Serve the analysts' HTTP API and map page over a database (read-only).
    Serve(ServeArgs),
    /// Write a whole table (fixes, tracks, gaps, trips, encounters, coverage) as GeoParquet,
    /// CSV or JSON lines into a folder, for DuckDB, Spark, GeoPandas or BigQuery.
    Export(ExportArgs),
    /// Write a self-contained HTML report (no network, prints on A4) from the database.
    Report(ReportArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ReportTripArgs {
    /// MMSI@TIME, TIME being fix A's time as `aisgap query trips` shows it
    /// (445114000@2024-03-06T13:05:12Z).
    pub trip: String,
    /// Database file [default: the config's [store] db, else ./aisgap.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Configuration file, used to find the database when --db is not given.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportEncounterArgs {
    /// MMSI@TIME: either vessel and the start as `aisgap query encounters` shows it
    /// (273617148@2024-03-09T11:00:00Z).
    pub encounter: String,
    /// The other vessel's MMSI, needed only when two encounters of that vessel start at the
    /// same time.
    #[arg(long, value_name = "MMSI")]
    pub with: Option<String>,
    /// Database file [default: the config's [store] db, else ./aisgap.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Configuration file, used to find the database when --db is not given.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct DecodeArgs {
    /// Input files; `-` reads stdin, names ending in .gz are decompressed.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Record format on stdout.
    #[arg(long, value_enum, default_value_t = RecordFormat::Jsonl)]
    pub format: RecordFormat,
    /// Decode and print only the summary, no records.
    #[arg(long)]
    pub summary: bool,
    /// Station name for sentences that do not name their receiver.
    #[arg(long)]
    pub station: Option<String>,
    /// Lines longer than this many bytes are skipped and counted.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE)]
    pub max_line_length: usize,
    /// CSV column mapping (a small TOML file; see the README's CSV mappings), tried before the
    /// built-in MarineCadastre and DMA layouts.
    #[arg(long, value_name = "FILE")]
    pub csv_map: Option<PathBuf>,
}

/// Record format of `aisgap decode` (the answers of `aisgap query` are an [`AnswerFormat`]).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    /// One JSON object per line: the event's serde form plus `station_kind`.
    Jsonl,
    /// One row per event under a header; see `offline::decode::CSV_HEADER`.
    Csv,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Logs to replay; `-` reads stdin.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// Configuration file [default: $AISGAP_CONFIG, else /etc/aisgap/aisgap.toml, else
    /// ./config/aisgap.toml, else the built-in defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database to write (its previous contents are replaced) [default: the config's [store]
    /// db, else ./aisgap.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// CSV column mapping (a small TOML file), tried before the config's [[csv_map]] sections
    /// and the built-in layouts.
    #[arg(long, value_name = "FILE")]
    pub csv_map: Option<PathBuf>,
    /// Engine threads the vessels are split across (by MMSI); the tables are the same whatever
    /// the number. 1 runs one engine on the replay's own thread [default: the cores available].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Settings given on the command line over the configuration file's (or the built-in
/// defaults'), checked as the file's are.
#[derive(Debug, Args, Clone, Default)]
pub struct SettingsArgs {
    /// Look for no configuration file: the built-in defaults (the shipped Far East ports,
    /// tankers watched, ./aisgap.db), changed only by the flags below.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Designated ports from this GeoJSON file instead of the configuration's.
    #[arg(long, value_name = "FILE")]
    pub ports: Option<PathBuf>,
    /// Watchlist CSV (mmsi,imo,name,note) instead of the configuration's.
    #[arg(long, value_name = "FILE")]
    pub watchlist: Option<PathBuf>,
    /// Watch every vessel, not only tankers (ship types 80-89) and the watchlist.
    #[arg(long)]
    pub watch_all: bool,
    /// Minimum silence, in hours, that makes a gap (the config's [detect] gap_hours).
    #[arg(long, value_name = "H", allow_negative_numbers = true)]
    pub gap_hours: Option<f64>,
}

impl SettingsArgs {
    pub fn overrides(&self) -> crate::config::Overrides {
        crate::config::Overrides {
            ports: self.ports.clone(),
            watchlist: self.watchlist.clone(),
            watch_all: self.watch_all,
            gap_hours: self.gap_hours,
        }
    }
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Seed of the scenario: the same seed always gives byte-identical files.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Length of the scenario in days.
    #[arg(long, default_value_t = 21)]
    pub days: u32,
    /// North Korean shuttle tankers; every four bring one set of confounders.
    #[arg(long, default_value_t = 4)]
    pub tankers: u32,
    /// Ordinary vessels: port dwellers, traders and fishing boats (at least 10).
    #[arg(long, default_value_t = 16)]
    pub background: u32,
    /// File name stem of the generated files.
    #[arg(long, default_value = "scenario")]
    pub prefix: String,
    /// Add shared identities to every set: two hulls interleaving under one MMSI (one of
    /// them a shuttle tanker making dark calls) and an MMSI taken over by another hull.
    #[arg(long)]
    pub identity_cases: bool,
    /// Also stage the at-sea cases: a North Korean tanker meeting a Russian one at sea with
    /// AIS on, a tanker loitering 8 h, a pair passing at 12 kn, a pair moored side by side
    /// in port, two tankers dark together meeting far out at sea (a dark rendezvous) and a
    /// decoy pair dark at the same time too far apart to meet (needs --days 3 or more).
    #[arg(long)]
    pub at_sea: bool,
}

impl SimulateArgs {
    pub fn params(&self) -> crate::simulate::ScenarioParams {
        crate::simulate::ScenarioParams {
            seed: self.seed,
            days: self.days,
            tankers: self.tankers,
            background: self.background,
            identity_cases: self.identity_cases,
            at_sea: self.at_sea,
        }
    }
}

/// What `aisgap query` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryWhat {
    /// Suspected dark port calls of watched vessels.
    Trips,
    /// Every dark period of a watched vessel, with its judgement.
    Gaps,
    /// Watched vessels silent now (at the stream clock) near a well-covered port.
    DarkNow,
    /// Trips counted by port, vessel and/or month (see --by), with estimated barrels.
    Tally,
    /// One vessel: identity history, gaps and track (give its MMSI).
    Vessel,
    /// Designated ports with their traffic, coverage and trips.
    Ports,
    /// Why gaps were judged as they are: every change of a judgement, with its stream time
    /// and reason (give an MMSI, or filter with --mmsi, --port, --status, --since, --until).
    History,
    /// Two vessels meeting at sea (within [encounters] max_distance_m for min_hours, slow, away
    /// from ports), at least one of them watched.
    Encounters,
    /// Watched vessels idling at sea ([loitering]).
    Loitering,
    /// Dark rendezvous ([rendezvous]): a watched vessel's silence that another vessel's
    /// silence or loitering could have shared, with the window, slack and meeting area.
    Rendezvous,
    /// Port visits of watched vessels heard with AIS on (arrival, departure, voyage).
    Visits,
    /// Shuttle patterns: repeated dark trips from one area to one port, with the window the
    /// next is due in (see --origin-km, --min-trips).
    Patterns,
    /// Hourly distinct-vessel counts near each port (--port, --since, --until on the hour).
    Coverage,
}

/// The values of a vocabulary the library owns, spelled as its owner spells them: the command
/// line accepts exactly what the store holds and the API takes.
macro_rules! values_of_vocabulary {
    ($($vocabulary:ty),*) => {$(
        impl ValueEnum for $vocabulary {
            fn value_variants<'a>() -> &'a [Self] {
                &<$vocabulary>::ALL
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(self.as_str()))
            }
        }
    )*};
}

values_of_vocabulary!(GapStatus, Confidence, TallyKey, AnswerFormat);
values_of_vocabulary!(ExportWhat, ExportFormat);

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The question.
    #[arg(value_enum)]
    pub what: QueryWhat,
    /// MMSI of the vessel (for `vessel` and `history`).
    pub vessel: Option<u32>,
    /// Database file [default: the config's [store] db, else ./aisgap.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Configuration file, used to find the database when --db is not given.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only this designated port (by name).
    #[arg(long)]
    pub port: Option<String>,
    /// Only this vessel (by MMSI).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=999_999_999))]
    pub mmsi: Option<u32>,
    /// Only this vessel (by IMO number).
    #[arg(long)]
    pub imo: Option<u32>,
    /// Only gaps starting at or after this time (ISO-8601, e.g. 2024-03-07 or 2024-03-07T12:00Z, or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only gaps starting before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only trips of this confidence.
    #[arg(long, value_enum)]
    pub confidence: Option<Confidence>,
    /// Only gaps with this judgement.
    #[arg(long, value_enum)]
    pub status: Option<GapStatus>,
    /// Tally groups, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "port")]
    pub by: Vec<TallyKey>,
    /// Patterns: trips going dark within this many km of each other share an origin area.
    #[arg(long, value_name = "KM", default_value_t = 50.0)]
    pub origin_km: f64,
    /// Patterns: fewest trips that make one.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(2..=1000))]
    pub min_trips: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AnswerFormat::Table)]
    pub format: AnswerFormat,
    /// At most this many records.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=i64::MAX as u64))]
    pub limit: Option<u64>,
    /// Skip this many records first.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub offset: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Database file [default: the config's [store] db, else ./aisgap.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Configuration file, used to find the database when --db is not given.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on. Anything but a loopback address needs an access token.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// File holding the bearer token that API requests must present [default: the
    /// AISGAP_API_TOKEN variable, else no token, which only a loopback address allows].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Open connections at most; at the cap the longest-idle one is closed to make room.
    #[arg(long, value_name = "N", default_value_t = crate::api::listener::DEFAULT_MAX_CONNECTIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,
    /// Seconds from a request's first byte to the end of its head.
    #[arg(long, value_name = "S", default_value_t = crate::api::listener::DEFAULT_HEADER_TIMEOUT_S,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub header_timeout: u32,
    /// Seconds a connection may stay open with nothing in flight and no byte moving.
    #[arg(long, value_name = "S", default_value_t = crate::api::listener::DEFAULT_IDLE_TIMEOUT_S,
          value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub idle_timeout: u32,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The table.
    #[arg(long, value_enum)]
    pub what: ExportWhat,
    /// File format; fixes and tracks are split into one folder per month (`month=2024-03/`).
    #[arg(long, value_enum, default_value_t = ExportFormat::Parquet)]
    pub format: ExportFormat,
    /// Folder to write the dataset into (created; it must be new or empty unless --replace).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace what the folder holds, once the new export is complete.
    #[arg(long)]
    pub replace: bool,
    /// Database file [default: the config's [store] db, else ./aisgap.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Configuration file, used to find the database when --db is not given.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only this vessel (either vessel of an encounter).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=999_999_999))]
    pub mmsi: Option<u32>,
    /// Only rows at or after this time (fixes by their time, gaps by fix A, encounters by
    /// their start, coverage by the hour; tracks by their fixes).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only rows before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub what: ReportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ReportWhat {
    /// Trips per month per port with the open calls beside them, the cumulative estimated
    /// barrels against the annual cap ([report] annual_cap_bbl), the confidence split and
    /// every trip; CSV files of the same numbers alongside.
    Tally(TallyReportArgs),
    /// One gap (usually a trip): map, coverage by hour, identity and draught, candidate ports,
    /// judgement history, the raw lines with their provenance and hashes, the fingerprint of
    /// what judged, and the cargo estimate worked through.
    Trip(ReportTripArgs),
    /// One encounter at sea: both tracks around the meeting, the distance over time, both
    /// identities and draughts, the cargo estimate worked through, the judgement and the
    /// fingerprint of what judged.
    Encounter(ReportEncounterArgs),
}

#[derive(Debug, Args)]
pub struct TallyReportArgs {
    /// Database file [default: the config's [store] db, else ./aisgap.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Configuration file, for the database and the [report] cap.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only this designated port (by name).
    #[arg(long)]
    pub port: Option<String>,
    /// Only trips going dark (and open calls arriving) at or after this time.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only trips going dark before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
    /// The tally's CSV [default: FILE.csv next to the HTML]; the trips go to FILE-trips.csv
    /// beside it.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

impl TallyReportArgs {
    /// Where the tally's CSV and the trips' CSV go.
    pub fn csv_paths(&self) -> (PathBuf, PathBuf) {
        let tally = self
            .csv
            .clone()
            .unwrap_or_else(|| self.out.with_extension("csv"));
        let stem = tally
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tally".into());
        let trips = tally.with_file_name(format!("{stem}-trips.csv"));
        (tally, trips)
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file [default: $AISGAP_CONFIG, else /etc/aisgap/aisgap.toml, else
    /// ./config/aisgap.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// Configuration file [default: $AISGAP_CONFIG, else /etc/aisgap/aisgap.toml, else
    /// ./config/aisgap.toml, the first that is set or exists, else the built-in defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn check_config_takes_an_optional_file() {
        let cli = Cli::try_parse_from(["aisgap", "check-config", "--config", "x.toml"]).unwrap();
        let Command::CheckConfig(args) = cli.command else {
            panic!("not check-config")
        };
        assert_eq!(args.config, Some(PathBuf::from("x.toml")));
        let cli = Cli::try_parse_from(["aisgap", "check-config"]).unwrap();
        let Command::CheckConfig(args) = cli.command else {
            panic!("not check-config")
        };
        assert_eq!(args.config, None);
    }

    #[test]
    fn replay_takes_settings_over_the_configuration() {
        let cli = Cli::try_parse_from([
            "aisgap",
            "replay",
            "--no-config",
            "--gap-hours",
            "-2",
            "--watch-all",
            "a.nmea",
        ])
        .unwrap();
        let Command::Replay(args) = cli.command else {
            panic!("not replay")
        };
        assert!(args.settings.no_config);
        let overrides = args.settings.overrides();
        assert_eq!(overrides.gap_hours, Some(-2.0), "checked later, by name");
        assert!(overrides.watch_all);
        assert_eq!((overrides.ports, overrides.watchlist), (None, None));
        assert_eq!(args.logs, [PathBuf::from("a.nmea")]);
        let both = Cli::try_parse_from(["aisgap", "replay", "--no-config", "--config", "x", "a"]);
        assert!(both.is_err(), "--no-config and --config exclude each other");
    }

    #[test]
    fn decode_and_replay_take_a_csv_map() {
        let cli =
            Cli::try_parse_from(["aisgap", "decode", "--csv-map", "m.toml", "a.csv"]).unwrap();
        let Command::Decode(args) = cli.command else {
            panic!("not decode")
        };
        assert_eq!(args.csv_map, Some(PathBuf::from("m.toml")));
        let cli =
            Cli::try_parse_from(["aisgap", "replay", "a.csv", "--csv-map", "m.toml"]).unwrap();
        let Command::Replay(args) = cli.command else {
            panic!("not replay")
        };
        assert_eq!(args.csv_map, Some(PathBuf::from("m.toml")));
    }

    #[test]
    fn serve_listens_on_loopback_unless_told() {
        let cli = Cli::try_parse_from(["aisgap", "serve", "--db", "a.db"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.listen, "127.0.0.1:8080");
        assert_eq!(args.db, Some(PathBuf::from("a.db")));
        assert_eq!(args.token_file, None);
    }

    #[test]
    fn report_tally_writes_its_csv_beside_the_html_unless_told() {
        let cli = Cli::try_parse_from([
            "aisgap",
            "report",
            "tally",
            "--out",
            "out/t.html",
            "--port",
            "Vostochny",
        ])
        .unwrap();
        let Command::Report(ReportArgs {
            what: ReportWhat::Tally(args),
        }) = cli.command
        else {
            panic!("not report tally")
        };
        assert_eq!(args.port.as_deref(), Some("Vostochny"));
        assert_eq!(
            args.csv_paths(),
            (PathBuf::from("out/t.csv"), PathBuf::from("out/t-trips.csv"))
        );
        let cli = Cli::try_parse_from([
            "aisgap", "report", "tally", "--out", "t.html", "--csv", "x/n.csv",
        ])
        .unwrap();
        let Command::Report(ReportArgs {
            what: ReportWhat::Tally(args),
        }) = cli.command
        else {
            panic!("not report tally")
        };
        assert_eq!(args.csv_paths().1, PathBuf::from("x/n-trips.csv"));
        assert!(
            Cli::try_parse_from(["aisgap", "report", "tally"]).is_err(),
            "--out is required"
        );
    }

    #[test]
    fn query_takes_a_question_filters_and_tally_groups() {
        let cli = Cli::try_parse_from([
            "aisgap",
            "query",
            "tally",
            "--by",
            "port,month",
            "--since",
            "2024-03-01",
        ])
        .unwrap();
        let Command::Query(args) = cli.command else {
            panic!("not query")
        };
        assert_eq!(args.what, QueryWhat::Tally);
        assert_eq!(args.by, vec![TallyKey::Port, TallyKey::Month]);
        let cli =
            Cli::try_parse_from(["aisgap", "query", "vessel", "445000001", "--format", "json"])
                .unwrap();
        let Command::Query(args) = cli.command else {
            panic!("not query")
        };
        assert_eq!(
            (args.what, args.vessel, args.format),
            (QueryWhat::Vessel, Some(445_000_001), AnswerFormat::Json)
        );
    }
}
