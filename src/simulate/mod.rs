//! Deterministic scenario generator: a few weeks of AIS traffic off the Russian Far East with
//! North Korean tankers making dark calls at Vostochny among realistic confounders, written as
//! an NMEA 4.10 log, the same fixes as a MarineCadastre CSV, a watchlist and the ground truth
//! a detector must reproduce. One seed always gives byte-identical files.
//!
//! The plan (`plan`) decides every track, identity and silence up front; the stream (`stream`)
//! samples it in arrival order; the truth (`truth`) applies the detection rules to exactly
//! what was written and refuses to finish if any answer differs from the plan's intent or sits
//! too close to a threshold.

pub mod encode;
mod plan;
mod rng;
mod stream;
mod truth;
mod world;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::time::UnixMillis;

pub use plan::{GapLabel, WatchEntry};
pub use rng::SplitMix64;
pub use stream::CSV_HEADER;
pub use truth::at_sea::{
    AtSeaTruth, EncounterTruth, LoiteringTruth, NotEncounterLabel, NotEncounterTruth,
    NotRendezvousTruth, RendezvousTruth,
};
pub use truth::{
    Confidence, GapTruth, Judgement, PortTruth, ScenarioSize, TransmitterTruth, TripTruth, Truth,
    UnwatchedGapTruth, Window, WithdrawnTruth,
};
pub use world::{distance_nm, rules, DesignatedPort, LatLon, DESIGNATED_PORTS};

/// The first instant of every scenario: Monday 2024-03-04 00:00 UTC, the week the reported
/// series of Vostochny calls began.
pub const SCENARIO_START: UnixMillis = UnixMillis(1_709_510_400_000);

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioParams {
    pub seed: u64,
    /// Length of the scenario in days.
    pub days: u32,
    /// North Korean shuttle tankers; every four bring one set of confounders.
    pub tankers: u32,
    /// Ordinary traffic: port dwellers (coverage), traders and fishing boats.
    pub background: u32,
    /// Adds, to every set of confounders, two hulls interleaving their reports under one
    /// MMSI for the whole scenario (one a shuttle tanker making its dark calls) and an MMSI
    /// taken over by another hull across a silence near Vostochny.
    pub identity_cases: bool,
    /// Add the at-sea cases: a ship-to-ship meeting, a loiterer, a passing pair and a pair
    /// moored side by side in port.
    pub at_sea: bool,
}

impl Default for ScenarioParams {
    fn default() -> Self {
        ScenarioParams {
            seed: 2024,
            days: 21,
            tankers: 4,
            background: 16,
            identity_cases: false,
            at_sea: false,
        }
    }
}

#[derive(Debug, Error)]
pub enum SimulateError {
    #[error("invalid scenario: {0}")]
    Params(String),
    #[error("writing the scenario stream failed: {0}")]
    Stream(#[source] std::io::Error),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the generated scenario does not match its plan ({} problems): {}", problems.len(), problems.join("; "))]
    Inconsistent { problems: Vec<String> },
}

/// The files a scenario was written to, with its ground truth.
#[derive(Debug)]
pub struct ScenarioFiles {
    pub nmea: PathBuf,
    pub csv: PathBuf,
    pub truth: PathBuf,
    pub watchlist: PathBuf,
    pub truth_value: Truth,
}

/// Generates the scenario into writers: the NMEA log and the MarineCadastre CSV. Returns the
/// ground truth (which also lists the watchlist).
pub fn generate(
    params: &ScenarioParams,
    nmea: &mut dyn Write,
    csv: &mut dyn Write,
) -> Result<Truth, SimulateError> {
    let plan = plan::build(params, SCENARIO_START.0)?;
    let mut recorder = truth::Recorder::new(plan.start, plan.end);
    let counts =
        stream::run(&plan, params.seed, nmea, csv, &mut recorder).map_err(SimulateError::Stream)?;
    let size = ScenarioSize {
        days: params.days,
        tankers: params.tankers,
        background: params.background,
    };
    truth::build_truth(&plan, &recorder, counts, params.seed, size)
        .map_err(|problems| SimulateError::Inconsistent { problems })
}

/// `watchlist.csv`: header `mmsi,imo,name,note`.
pub fn watchlist_csv(entries: &[WatchEntry]) -> String {
    let mut out = String::from("mmsi,imo,name,note\n");
    for e in entries {
        out.push_str(&format!("{},{},{},{}\n", e.mmsi, e.imo, e.name, e.note));
    }
    out
}

/// Writes `<prefix>.nmea`, `<prefix>.csv`, `<prefix>.truth.json` and `watchlist.csv` into
/// `out_dir` (created if missing). Files appear only when the scenario is complete and
/// consistent: they are written under temporary names and renamed at the end.
pub fn write_scenario(
    params: &ScenarioParams,
    out_dir: &Path,
    prefix: &str,
) -> Result<ScenarioFiles, SimulateError> {
    if prefix.is_empty() || prefix.contains(['/', '\\']) {
        return Err(SimulateError::Params(format!(
            "--prefix must be a plain file name stem, got {prefix:?}"
        )));
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SimulateError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let nmea = out_dir.join(format!("{prefix}.nmea"));
    let csv = out_dir.join(format!("{prefix}.csv"));
    let truth_path = out_dir.join(format!("{prefix}.truth.json"));
    let watchlist = out_dir.join("watchlist.csv");
    let partial = |p: &Path| {
        p.with_extension(format!(
            "{}.partial",
            p.extension().and_then(|e| e.to_str()).unwrap_or("")
        ))
    };
    let (nmea_tmp, csv_tmp) = (partial(&nmea), partial(&csv));

    let result = (|| {
        let mut nmea_out =
            BufWriter::with_capacity(1 << 20, File::create(&nmea_tmp).map_err(io_err(&nmea_tmp))?);
        let mut csv_out =
            BufWriter::with_capacity(1 << 20, File::create(&csv_tmp).map_err(io_err(&csv_tmp))?);
        let truth = generate(params, &mut nmea_out, &mut csv_out)?;
        nmea_out.flush().map_err(io_err(&nmea_tmp))?;
        csv_out.flush().map_err(io_err(&csv_tmp))?;
        Ok(truth)
    })();
    let truth = match result {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_file(&nmea_tmp);
            let _ = std::fs::remove_file(&csv_tmp);
            return Err(e);
        }
    };
    let mut json = serde_json::to_string_pretty(&truth).map_err(|e| SimulateError::Io {
        path: truth_path.clone(),
        source: e.into(),
    })?;
    json.push('\n');
    std::fs::write(&truth_path, json).map_err(io_err(&truth_path))?;
    std::fs::write(&watchlist, watchlist_csv(&truth.watchlist)).map_err(io_err(&watchlist))?;
    std::fs::rename(&nmea_tmp, &nmea).map_err(io_err(&nmea))?;
    std::fs::rename(&csv_tmp, &csv).map_err(io_err(&csv))?;
    Ok(ScenarioFiles {
        nmea,
        csv,
        truth: truth_path,
        watchlist,
        truth_value: truth,
    })
}
