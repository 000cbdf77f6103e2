//! The `aisgap` binary: parse the command line, run the command, turn its outcome into an exit
//! code. All behaviour lives in the library.

use std::process::ExitCode;

use anyhow::anyhow;
use clap::Parser;

use aisgap::cli::{CheckConfigArgs, Cli, Command};
use aisgap::config::{self, CONFIG_ENV, LOCAL_CONFIG_PATH, SYSTEM_CONFIG_PATH};

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => check_config(&args),
    }
}

fn check_config(args: &CheckConfigArgs) -> anyhow::Result<ExitCode> {
    let path = config::resolve_config_path(args.config.as_deref()).ok_or_else(|| {
        anyhow!(
            "no configuration file found: pass --config FILE, set ${CONFIG_ENV}, or create \
             {SYSTEM_CONFIG_PATH} or ./{LOCAL_CONFIG_PATH}"
        )
    })?;
    match config::check_report(&path) {
        Ok(summary) => {
            print!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}
