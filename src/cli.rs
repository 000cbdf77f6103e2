//! Command-line interface: the subcommands and their arguments (parsing only; the work lives
//! in the library modules).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "aisgap",
    version,
    about = "Finds tankers that go dark near designated ports."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a deterministic scenario: NMEA log, the same fixes as CSV, watchlist and truth.
    Simulate(SimulateArgs),
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
}

impl SimulateArgs {
    pub fn params(&self) -> aisgap::simulate::ScenarioParams {
        aisgap::simulate::ScenarioParams {
            seed: self.seed,
            days: self.days,
            tankers: self.tankers,
            background: self.background,
        }
    }
}
