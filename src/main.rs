//! The `aisgap` binary: parse the command line, run the command, turn its outcome into an exit
//! code. All behaviour lives in the library.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Parser;

use aisgap::cli::{
    CheckConfigArgs, Cli, Command, DecodeArgs, ExportArgs, QueryArgs, QueryWhat, ReplayArgs,
    ReportArgs, ReportEncounterArgs, ReportTripArgs, ReportWhat, RunArgs, ServeArgs, SettingsArgs,
    SimulateArgs, TallyReportArgs,
};
use aisgap::config::{
    self, Config, ConfigErrors, CONFIG_ENV, LOCAL_CONFIG_PATH, SYSTEM_CONFIG_PATH,
};
use aisgap::model::Mmsi;
use aisgap::offline;
use aisgap::query::{self, Question};
use aisgap::store::read::{GapFilter, TallyKey};
use aisgap::store::{Reader, Store};
use aisgap::time::UnixMillis;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let outcome = match cli.command {
        Command::Decode(args) => decode(&args),
        Command::Replay(args) => replay(&args),
        Command::Simulate(args) => simulate(&args),
        Command::CheckConfig(args) => check_config(&args),
        Command::Run(args) => run_service(&args),
        Command::Query(args) => run_query(&args),
        Command::Serve(args) => serve(&args),
        Command::Export(args) => export(&args),
        Command::Report(ReportArgs {
            what: ReportWhat::Tally(args),
        }) => report_tally(&args),
        Command::Report(ReportArgs {
            what: ReportWhat::Trip(args),
        }) => report_trip(&args),
        Command::Report(ReportArgs {
            what: ReportWhat::Encounter(args),
        }) => report_encounter(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "aisgap: {}", error_message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, like `{:#}`, but a cause whose words the line
/// already says is left out: libraries often put their cause into their own message too, and
/// the reader should not be told the same thing three times.
fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// `aisgap decode ... | head` closes the pipe early; that is the reader's choice, not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn replay(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut config =
        load_settings(args.config.as_deref(), &args.settings).map_err(|e| anyhow!("{e}"))?;
    if let Some(path) = &args.csv_map {
        config.prefer_csv_map(config::load_csv_map_file(path)?);
    }
    let db = args.db.clone().unwrap_or_else(|| config.store.db.clone());
    say_which_settings(&config, &args.settings, &db);
    // A replay clears the store: never under a running service.
    let _writer_lock = aisgap::store::WriterLock::acquire(&db)?;
    let store = Store::open(&db)?;
    let config_file = config
        .source_path
        .as_deref()
        .unwrap_or(Path::new("(built-in defaults)"));
    tracing::info!(config = %config_file.display(), db = %db.display(), logs = args.logs.len(), ports = config.ports.len(), "Replaying.");
    let mut params = aisgap::offline::replay::sort_params(&config);
    if let Some(threads) = args.threads {
        params.engine_parts = usize::from(threads);
    }
    tracing::info!(
        engine_threads = params.engine_parts,
        "Vessels split across {} engine thread(s).",
        params.engine_parts
    );
    let (summary, store) =
        aisgap::offline::replay::replay_with(&config, store, &args.logs, &params)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let keys = [TallyKey::Port, TallyKey::Month];
    let rows = store.reader().tally(&GapFilter::default(), &keys)?;
    writeln!(out, "Suspected dark port calls (trips) by port and month:")?;
    query::write_tally_table(&rows, &keys, &mut out)?;
    writeln!(out)?;
    // Final judgements, after late data withdrew or split what it had to.
    let watched = GapFilter {
        watched_only: true,
        ..GapFilter::default()
    };
    // Counted, not read: a busy feed's open gaps run to hundreds of thousands of rows.
    let gaps = store.reader().count_gaps(&watched)?;
    let trips = store.reader().count_gaps(&GapFilter::trips())?;
    let e = &summary.engine;
    writeln!(
        out,
        "{} lines, {} fixes, {} vessels, {} gaps of watched vessels, {} trips, {} rejected, {} untimed, {} late fixes; {:.2} s ({:.0} lines/s); stream clock {}; database {}",
        summary.decode.lines,
        e.fixes,
        summary.vessels,
        gaps,
        trips,
        summary.decode.rejected(),
        summary.decode.clock.untimed,
        e.late_fixes,
        summary.seconds,
        summary.lines_per_second(),
        summary.stream_clock.map_or_else(|| "-".to_string(), |c| c.to_string()),
        db.display()
    )?;
    if e.segments_started > 0 {
        writeln!(
            out,
            "{} MMSIs heard from several transmitters at the end ({} segments started after an MMSI's first, {} given up by the bound per MMSI)",
            e.mmsis_with_several_transmitters, e.segments_started, e.segments_dropped
        )?;
    }
    writeln!(
        out,
        "messages by talker: {}; {} duplicate receptions not passed on",
        summary.decode.by_talker, summary.decode.duplicates
    )?;
    let sort = &summary.sort;
    if sort.one_pass {
        writeln!(
            out,
            "events put in time order as the logs were read ({} of {} behind an earlier one in their log)",
            summary.out_of_order, sort.events
        )?;
    } else {
        writeln!(
            out,
            "events sorted by time before detection ({} of {} behind an earlier one in their log; {} sorted runs spilled)",
            summary.out_of_order, sort.events, sort.runs
        )?;
    }
    if let Some(reason) = &sort.restarted {
        writeln!(out, "replayed again after sorting first: {reason}")?;
    }
    match params.engine_parts {
        1 => writeln!(out, "one engine thread (--threads 1)")?,
        parts => writeln!(
            out,
            "vessels split across {parts} engine threads by MMSI (--threads; the tables are those of one)"
        )?,
    }
    offline::decode::write_unreadable_cells(&mut out, &summary.decode)?;
    for problem in &summary.problems {
        if !problem.makes_incomplete() {
            writeln!(out, "warning: {problem}")?;
        }
    }
    let incomplete = store.reader().incomplete_input()?;
    if !incomplete.is_empty() {
        query::write_incomplete_input(&incomplete, &mut out)?;
    }
    out.flush()?;
    Ok(if summary.incomplete() {
        ExitCode::from(INCOMPLETE_INPUT_EXIT)
    } else {
        ExitCode::SUCCESS
    })
}

/// `aisgap replay`'s exit status when it wrote a database from incomplete input (a log broke
/// off or was refused): distinct from 1, a replay that wrote nothing usable.
const INCOMPLETE_INPUT_EXIT: u8 = 2;

fn simulate(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let files = aisgap::simulate::write_scenario(&args.params(), &args.out, &args.prefix)
        .with_context(|| format!("simulating into {}", args.out.display()))?;
    let truth = &files.truth_value;
    tracing::info!(
        lines = truth.lines,
        position_reports = truth.position_reports,
        trips = truth.trips.len(),
        gaps = truth.gaps.len(),
        withdrawn = truth.withdrawn.len(),
        seconds = started.elapsed().as_secs_f64(),
        "Scenario written."
    );
    for path in [&files.nmea, &files.csv, &files.truth, &files.watchlist] {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn decode(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let stderr = io::stderr();
    offline::decode::run(args, &mut stdout.lock(), &mut stderr.lock()).context("decode failed")?;
    Ok(ExitCode::SUCCESS)
}

/// Logs go to stderr so that records and answers on stdout stay clean; RUST_LOG overrides.
/// Under systemd (`JOURNAL_STREAM` set) stderr is the journal, which stamps the time itself and
/// shows colour codes as garbage: plain lines then. Colour only on a terminal.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.with_ansi(false).without_time().init();
    } else {
        use std::io::IsTerminal;
        builder.with_ansi(io::stderr().is_terminal()).init();
    }
}

fn run_service(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let path = config::resolve_config_path(args.config.as_deref()).ok_or_else(no_config_found)?;
    aisgap::service::run(&path)?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the configuration named or found; a broken one is refused with every problem listed.
fn load_config(explicit: Option<&Path>) -> anyhow::Result<Config> {
    let path = config::resolve_config_path(explicit).ok_or_else(no_config_found)?;
    Config::load(&path).map_err(|errors| anyhow!("{errors}"))
}

/// For the commands that cannot run on the built-in defaults (the service needs its sources).
fn no_config_found() -> anyhow::Error {
    anyhow!(
        "no configuration file found: pass --config FILE, set ${CONFIG_ENV}, or create \
         {SYSTEM_CONFIG_PATH} or ./{LOCAL_CONFIG_PATH}"
    )
}

/// The configuration named or found, else the built-in defaults, with the command line's
/// settings over it; every problem in the file and the flags is refused at once.
fn load_settings(explicit: Option<&Path>, settings: &SettingsArgs) -> Result<Config, ConfigErrors> {
    let found = if settings.no_config {
        None
    } else {
        config::resolve_config_path(explicit)
    };
    let base = match found {
        Some(path) => Config::load(&path),
        None => Ok(Config::builtin()),
    };
    let overrides = settings.overrides();
    match base {
        Ok(config) => config.with_overrides(&overrides),
        // The flags' problems too, so that one run lists everything to fix.
        Err(mut errors) => {
            if let Err(more) = Config::builtin().with_overrides(&overrides) {
                errors.problems.extend(more.problems);
            }
            Err(errors)
        }
    }
}

/// Says on stderr which configuration a run uses when it is not a file the user chose, so
/// that nobody reads results without knowing which ports and vessels they cover.
fn say_which_settings(config: &Config, settings: &SettingsArgs, db: &Path) {
    let overrides = settings.overrides();
    let db = if db.is_relative() && db.parent() == Some(Path::new("")) {
        format!("./{}", db.display())
    } else {
        db.display().to_string()
    };
    let brief = config.brief(&overrides);
    match &config.source_path {
        None if settings.no_config => {
            eprintln!("aisgap: --no-config: using the built-in defaults: {brief}, database {db}");
        }
        None => eprintln!(
            "aisgap: no config file found; using the built-in defaults: {brief}, database {db}"
        ),
        Some(path) if !overrides.is_empty() => eprintln!(
            "aisgap: using {} with {}: {brief}, database {db}",
            path.display(),
            overrides.flags().join(" ")
        ),
        // A file the user chose or installed: the run's own log line names it.
        Some(_) => {}
    }
}

/// The database a read command opens: --db, else the config's, else ./aisgap.db.
fn database_path(db: Option<&Path>, config: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(db) = db {
        return Ok(db.to_path_buf());
    }
    if config.is_some() || config::resolve_config_path(None).is_some() {
        return Ok(load_config(config)?.store.db);
    }
    Ok(PathBuf::from("aisgap.db"))
}

fn parse_time(parameter: &str, text: Option<&str>) -> anyhow::Result<Option<UnixMillis>> {
    text.map(|t| {
        UnixMillis::parse_user(t)
            .ok_or_else(|| anyhow!("{parameter} {t:?} is not a time: use ISO-8601 (2024-03-07, 2024-03-07T12:00:00Z) or Unix seconds 0 to {}", aisgap::time::MAX_USER_SECS))
    })
    .transpose()
}

fn run_query(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let filter = GapFilter {
        port: args.port.clone(),
        mmsi: args
            .mmsi
            .or(match args.what {
                QueryWhat::History => args.vessel,
                _ => None,
            })
            .map(Mmsi),
        imo: args.imo,
        since: parse_time("--since", args.since.as_deref())?,
        until: parse_time("--until", args.until.as_deref())?,
        confidence: args.confidence,
        status: args.status,
        watched_only: false,
        dark_now_only: false,
        limit: args.limit,
        offset: args.offset,
    };
    let question = match args.what {
        QueryWhat::Trips => Question::Trips,
        QueryWhat::Gaps => Question::Gaps,
        QueryWhat::DarkNow => Question::DarkNow,
        QueryWhat::Ports => Question::Ports,
        QueryWhat::History => Question::History,
        QueryWhat::Encounters => Question::Encounters,
        QueryWhat::Loitering => Question::Loitering,
        QueryWhat::Rendezvous => Question::Rendezvous,
        QueryWhat::Tally => Question::Tally(args.by.clone()),
        QueryWhat::Visits => Question::Visits,
        QueryWhat::Coverage => Question::Coverage,
        QueryWhat::Patterns => {
            if !(args.origin_km.is_finite() && args.origin_km > 0.0) {
                bail!(
                    "--origin-km must be a positive number of km, got {}",
                    args.origin_km
                );
            }
            Question::Patterns(aisgap::detect::patterns::PatternParams {
                origin_km: args.origin_km,
                min_trips: args.min_trips as usize,
            })
        }
        QueryWhat::Vessel => match args.vessel.or(args.mmsi) {
            Some(mmsi) => Question::Vessel(Mmsi(mmsi)),
            None => bail!("query vessel needs an MMSI: aisgap query vessel 445123456"),
        },
    };
    let db = database_path(args.db.as_deref(), args.config.as_deref())?;
    let reader = Reader::open(&db)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    query::answer(&reader, &question, &filter, args.format, &mut out)
        .with_context(|| format!("answering from {}", db.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let request = aisgap::export::ExportRequest {
        what: args.what,
        format: args.format,
        out: args.out.clone(),
        replace: args.replace,
        mmsi: args.mmsi.map(Mmsi),
        since: parse_time("--since", args.since.as_deref())?,
        until: parse_time("--until", args.until.as_deref())?,
    };
    let db = database_path(args.db.as_deref(), args.config.as_deref())?;
    let reader = Reader::open(&db)?;
    let started = std::time::Instant::now();
    let summary = aisgap::export::export(&reader, &request)
        .with_context(|| format!("exporting {} from {}", args.what.as_str(), db.display()))?;
    println!(
        "{} {}: {} ({:.2} s)",
        args.what.as_str(),
        args.format.as_str(),
        aisgap::export::describe(&args.out, &summary),
        started.elapsed().as_secs_f64()
    );
    let incomplete = reader.incomplete_input()?;
    if !incomplete.is_empty() {
        tracing::warn!(
            reasons = incomplete.len(),
            "The database was built from incomplete input: {}.",
            incomplete.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `[report]` of the configuration named (which must load) or found (a broken one found
/// by the search is said and passed over: `serve --db` never needed a configuration).
fn report_settings(
    explicit: Option<&Path>,
) -> anyhow::Result<aisgap::report::tally::TallyReportParams> {
    let Some(path) = config::resolve_config_path(explicit) else {
        return Ok(Default::default());
    };
    match Config::load(&path) {
        Ok(config) => Ok(config.report),
        Err(errors) if explicit.is_none() => {
            tracing::warn!(config = %path.display(), %errors, "The configuration found has mistakes: the tally's cap is the default.");
            Ok(Default::default())
        }
        Err(errors) => Err(anyhow!("{errors}")),
    }
}

/// `aisgap report tally`: the HTML and its two CSV files, each written whole or not at all.
fn report_tally(args: &TallyReportArgs) -> anyhow::Result<ExitCode> {
    use aisgap::report::tally::TallyReport;
    let config = config::resolve_config_path(args.config.as_deref())
        .map(|path| Config::load(&path).map_err(|errors| anyhow!("{errors}")))
        .transpose()?;
    let db = args
        .db
        .clone()
        .or_else(|| config.as_ref().map(|c| c.store.db.clone()))
        .unwrap_or_else(|| PathBuf::from("aisgap.db"));
    let params = config.map(|c| c.report).unwrap_or_default();
    let filter = GapFilter {
        port: args.port.clone(),
        since: parse_time("--since", args.since.as_deref())?,
        until: parse_time("--until", args.until.as_deref())?,
        ..GapFilter::default()
    };
    let reader = Reader::open(&db)?;
    if let Some(port) = &args.port {
        let names = reader.port_names()?;
        if !names.contains(port) {
            bail!(
                "--port {port:?} is not a designated port of {}: use one of {}",
                db.display(),
                names.join(", ")
            );
        }
    }
    let report = TallyReport::build(&reader, &filter, &params)
        .with_context(|| format!("reading the tally from {}", db.display()))?;
    let (tally_csv, trips_csv) = args.csv_paths();
    write_whole(&args.out, |out| report.write_html(out))?;
    write_whole(&tally_csv, |out| report.write_csv(out))?;
    write_whole(&trips_csv, |out| report.write_trips_csv(out))?;
    tracing::info!(
        html = %args.out.display(),
        csv = %tally_csv.display(),
        trips_csv = %trips_csv.display(),
        trips = report.totals.trips,
        open_calls = report.totals.open_calls,
        est_barrels = report.totals.est_barrels.round(),
        "Tally report written."
    );
    println!("{}", args.out.display());
    println!("{}", tally_csv.display());
    println!("{}", trips_csv.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes `path` through a temporary file beside it, so that a reader never sees half a file
/// and a failed write leaves the previous one.
fn write_whole(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let partial = path.with_file_name(format!(
        ".{}.partial",
        path.file_name()
            .map_or_else(|| "report".into(), |n| n.to_string_lossy())
    ));
    let result = (|| -> io::Result<()> {
        let mut out = io::BufWriter::new(std::fs::File::create(&partial)?);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&partial, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        anyhow!("writing {}: {e}", path.display())
    })
}

fn report_trip(args: &ReportTripArgs) -> anyhow::Result<ExitCode> {
    use aisgap::report::trip::{self, TripKey};
    let key = TripKey::parse(&args.trip)?;
    let db = database_path(args.db.as_deref(), args.config.as_deref())?;
    let reader = Reader::open(&db)?;
    let page =
        trip::report(&reader, key).with_context(|| format!("reporting from {}", db.display()))?;
    write_whole(&args.out, |out| out.write_all(page.as_bytes()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn report_encounter(args: &ReportEncounterArgs) -> anyhow::Result<ExitCode> {
    use aisgap::report::encounter::{self, EncounterKey};
    let key = EncounterKey::parse(&args.encounter, args.with.as_deref())?;
    let db = database_path(args.db.as_deref(), args.config.as_deref())?;
    let reader = Reader::open(&db)?;
    let page = encounter::report(&reader, key)
        .with_context(|| format!("reporting from {}", db.display()))?;
    write_whole(&args.out, |out| out.write_all(page.as_bytes()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Where the API token comes from: --token-file, else $AISGAP_API_TOKEN, else none.
const TOKEN_ENV: &str = "AISGAP_API_TOKEN";

fn serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    use aisgap::api::{self, AccessToken, ApiState};
    let token = match (&args.token_file, std::env::var(TOKEN_ENV)) {
        (Some(path), _) => Some(AccessToken::from_file(path)?),
        (None, Ok(text)) => Some(AccessToken::new(&text, &format!("${TOKEN_ENV}"))?),
        (None, Err(_)) => None,
    };
    let db = database_path(args.db.as_deref(), args.config.as_deref())?;
    let state = ApiState::open(&db, token.clone())?
        .with_tally_report(report_settings(args.config.as_deref())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = api::bind(&args.listen, token.as_ref()).await?;
        let address = listener.local_addr().context("reading the bound address")?;
        tracing::info!(db = %db.display(), %address, token = token.is_some(), "Serving the API and map page.");
        // Interrupt or TERM (systemd's stop) ends it after the requests in flight.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the TERM handler")?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        let limits = api::ConnectionLimits {
            max_connections: args.max_connections as usize,
            header_timeout: std::time::Duration::from_secs(u64::from(args.header_timeout)),
            idle_timeout: std::time::Duration::from_secs(u64::from(args.idle_timeout)),
        };
        let connections = std::sync::Arc::new(api::ConnectionMetrics::default());
        api::serve_limited(listener, api::router(state), limits, connections, shutdown)
            .await
            .context("serving HTTP")?;
        tracing::info!("Stopped serving.");
        Ok(ExitCode::SUCCESS)
    })
}

fn check_config(args: &CheckConfigArgs) -> anyhow::Result<ExitCode> {
    match load_settings(args.config.as_deref(), &args.settings) {
        Ok(config) => {
            say_which_settings(&config, &args.settings, &config.store.db);
            print!("{}", config.summary());
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}
