//! What replay reports about a log it could not read whole or in one format, and the counters
//! of those problems for the store's ingest table.

use std::path::{Path, PathBuf};

use crate::decode::feed::{FeedDecoder, FormatRefusal, FormatSwitch};
use crate::source::file::GzipBreak;

/// A log that replay could not read whole. Broken and refused logs leave the database built
/// from incomplete input (see `ReplaySummary::incomplete`); a format switch is a warning.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputProblem {
    /// Reading stopped before the end (a truncated or corrupt gzip, a read error): everything
    /// before the break is kept.
    #[error("{path}: input ends early after {lines} complete lines ({bytes} bytes of text): {detail}; the lines before the break are kept")]
    Broken {
        path: PathBuf,
        lines: u64,
        bytes: u64,
        /// Where and why, from the reader; for gzip, the compressed byte offset of the break.
        detail: String,
    },
    #[error("refused {0}")]
    Refused(FormatRefusal),
    #[error("{0}")]
    Switched(FormatSwitch),
}

impl InputProblem {
    /// A log that broke off after `lines` lines: what it kept and where it broke.
    pub(crate) fn broken(
        path: &Path,
        lines: u64,
        bytes: u64,
        error: &std::io::Error,
    ) -> InputProblem {
        let problem = InputProblem::Broken {
            path: path.to_path_buf(),
            lines,
            bytes,
            detail: error.to_string(),
        };
        let offset = GzipBreak::of(error).map(|b| b.offset);
        tracing::error!(file = %path.display(), lines, compressed_offset = offset, "{problem}.");
        problem
    }

    /// The refusal and the format switches of a log's decoder, once it is done.
    pub(crate) fn of_decoder(path: &Path, decoder: &FeedDecoder) -> Vec<InputProblem> {
        let mut problems = Vec::new();
        if let Some(refusal) = decoder.refusal() {
            tracing::error!(file = %path.display(), line = refusal.line, "Refused {refusal}.");
            problems.push(InputProblem::Refused(refusal.clone()));
        }
        let switches = decoder.format_switches().iter().cloned();
        problems.extend(switches.map(InputProblem::Switched));
        problems
    }

    /// Whether the log's data is missing from the database, in part or whole.
    pub fn makes_incomplete(&self) -> bool {
        !matches!(self, InputProblem::Switched(_))
    }
}

/// How many logs broke off, were refused, or switched format.
pub fn counters(problems: &[InputProblem]) -> [(String, u64); 3] {
    let count =
        |kind: fn(&InputProblem) -> bool| problems.iter().filter(|p| kind(p)).count() as u64;
    [
        (
            "input.broken_logs".to_string(),
            count(|p| matches!(p, InputProblem::Broken { .. })),
        ),
        (
            "input.refused_logs".to_string(),
            count(|p| matches!(p, InputProblem::Refused(_))),
        ),
        (
            "input.format_switches".to_string(),
            count(|p| matches!(p, InputProblem::Switched(_))),
        ),
    ]
}

/// Each refusal the decoder noted, with its log, line and reason, at debug level (the counts
/// are in the summary); replay and `aisgap decode` both report them so.
pub fn log_rejects(path: &Path, decoder: &mut FeedDecoder) {
    for note in decoder.take_reject_notes() {
        tracing::debug!(
            file = %path.display(),
            line = note.line,
            reason = note.reason.name(),
            "{}.",
            note.detail
        );
    }
}
