//! The `source` stage: I/O only. Brings raw lines in (feeds, receivers, devices, files, stdin)
//! within their length bounds, and nothing else: every line goes to `decode` untouched.
//!
//! Sources stamp each line with the wall-clock time it was read (the stream clock is the
//! engine's) and never judge content: a garbage line is the decoder's to count.
//!
//! This file is the dispatcher, [`run_source`], the one entry point the service calls per
//! source. The kit the sources share lives beside it (`spec`, `framer`, `emitter`, `metrics`,
//! `backoff`, `stream`, `error`); the sources (`tcp`, `udp`, `serial`, `follow`) use the kit and
//! never this file, and `file` is the reader replay and `aisgap decode` use.

use std::sync::Arc;

use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub mod backoff;
pub(crate) mod emitter;
pub mod error;
pub mod file;
pub mod follow;
pub mod framer;
pub mod metrics;
pub mod serial;
pub mod spec;
pub(crate) mod stream;
pub mod tcp;
pub mod udp;

pub use backoff::{Backoff, ReconnectPolicy, BACKOFF_RESET_AFTER};
pub use error::SourceError;
pub use file::{Line, LineReader, OpenError, DEFAULT_MAX_LINE};
pub use follow::{ResumeAt, TAIL_BYTES};
pub use framer::LineFramer;
pub use metrics::{SourceMetrics, SourceMetricsSnapshot};
pub use spec::{
    FileMark, RawLine, SourceKind, SourceKindName, SourceSpec, DEFAULT_BAUD, DEFAULT_MAX_CLIENTS,
    DEFAULT_MAX_LINE_BYTES, DEFAULT_READ_TIMEOUT_S, DEFAULT_RECONNECT_MAX_S,
};

use emitter::Emitter;

/// Runs one source until `shutdown` is cancelled (it then returns within a few milliseconds),
/// until a one-shot file or standard input ends, or until the receiving end of `lines` is
/// dropped. Network and device trouble is logged, counted and retried, never returned.
///
/// Backpressure: TCP, serial, file and stdin sources stop reading while `lines` is full, so
/// nothing is lost; UDP cannot make its senders wait, so it drops whole datagrams and counts
/// their lines in `dropped`.
pub async fn run_source(
    spec: SourceSpec,
    lines: Sender<RawLine>,
    metrics: Arc<SourceMetrics>,
    shutdown: CancellationToken,
) -> Result<(), SourceError> {
    run_source_at(spec, None, lines, metrics, shutdown).await.0
}

/// As [`run_source`], a file source taking its file up at `resume` (see [`ResumeAt`]; other
/// kinds ignore it). Returns, with the outcome, where the next run of this source should take
/// the file up: just past the last line it handed on, or `resume` if it handed on none.
pub async fn run_source_at(
    spec: SourceSpec,
    resume: Option<ResumeAt>,
    lines: Sender<RawLine>,
    metrics: Arc<SourceMetrics>,
    shutdown: CancellationToken,
) -> (Result<(), SourceError>, Option<ResumeAt>) {
    let out = Emitter {
        name: spec.name.clone(),
        max_line_bytes: spec.max_line_bytes,
        lines,
        metrics,
        shutdown,
    };
    let mut delivered = resume;
    info!(source = %spec.name, kind = spec.kind.label(), "Source starting.");
    let result = match &spec.kind {
        SourceKind::Tcp { address } => {
            tcp::run_client(&spec, address, &out).await;
            Ok(())
        }
        SourceKind::TcpListen {
            address,
            max_clients,
        } => {
            tcp::run_listener(&spec, *address, *max_clients, &out).await;
            Ok(())
        }
        SourceKind::Udp { address } => {
            udp::run(&spec, *address, &out).await;
            Ok(())
        }
        SourceKind::Serial { path, baud } => serial::run(&spec, path, *baud, &out).await,
        SourceKind::File { path, follow: true } => {
            follow::follow_file(&spec, path, &out, &mut delivered).await;
            Ok(())
        }
        SourceKind::File {
            path,
            follow: false,
        } => follow::read_file_once(&spec, path, &out, &mut delivered).await,
        SourceKind::Stdin => follow::read_stdin(&spec, &out).await,
    };
    match &result {
        Ok(()) => info!(source = %spec.name, "Source stopped."),
        Err(err) => warn!(source = %spec.name, error = %err, "Source failed."),
    }
    (result, delivered)
}
