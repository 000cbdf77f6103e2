//! Command-line interface: the `aisgap` subcommands and their arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::source::file::DEFAULT_MAX_LINE;

#[derive(Parser, Debug)]
#[command(name = "aisgap", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Decode NMEA 0183 AIS files (plain or .gz, `-` for stdin) into one record per event,
    /// with a summary of lines read, messages by type and rejects by reason on stderr.
    Decode(DecodeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DecodeArgs {
    /// Input files; `-` reads stdin, names ending in .gz are decompressed.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Record format on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    pub format: OutputFormat,
    /// Decode and print only the summary, no records.
    #[arg(long)]
    pub summary: bool,
    /// Station name for sentences that do not name their receiver.
    #[arg(long)]
    pub station: Option<String>,
    /// Lines longer than this many bytes are skipped and counted.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE)]
    pub max_line_length: usize,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line: the event's serde form plus `station_kind`.
    Jsonl,
    /// One row per event under a header; see `commands::decode::CSV_HEADER`.
    Csv,
}
