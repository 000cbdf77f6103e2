//! Why a live source stopped for good: the one error [`crate::source::run_source`] returns.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a source stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {name}: cannot open {}: {error}", path.display())]
    Open {
        name: Arc<str>,
        path: PathBuf,
        #[source]
        error: io::Error,
    },
    #[error("source {name}: reading {what} failed: {error}")]
    Read {
        name: Arc<str>,
        what: String,
        #[source]
        error: io::Error,
    },
    #[error("source {name}: {problem}")]
    Unsupported { name: Arc<str>, problem: String },
}
