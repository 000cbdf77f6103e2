//! The `aisgap` binary: parses the command line, sets up logging and dispatches.

mod cli;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Simulate(args) => {
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
            println!("{}", files.nmea.display());
            println!("{}", files.csv.display());
            println!("{}", files.truth.display());
            println!("{}", files.watchlist.display());
        }
    }
    Ok(())
}
