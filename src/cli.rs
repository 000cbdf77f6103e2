//! The command line: subcommands and their arguments (clap derive). Each command's work lives in
//! the library module it belongs to; `main` only dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Check the configuration, its ports file and its watchlist; list every problem at once.
    CheckConfig(CheckConfigArgs),
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// Configuration file [default: $AISGAP_CONFIG, else /etc/aisgap/aisgap.toml, else
    /// ./config/aisgap.toml, the first that is set or exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
        let Command::CheckConfig(args) = cli.command;
        assert_eq!(args.config, Some(PathBuf::from("x.toml")));
        let cli = Cli::try_parse_from(["aisgap", "check-config"]).unwrap();
        let Command::CheckConfig(args) = cli.command;
        assert_eq!(args.config, None);
    }
}
