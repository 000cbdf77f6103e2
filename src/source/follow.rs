//! File and standard-input sources: a file read once to its end, a file followed like
//! `tail -F` (surviving rotation and truncation), and standard input.

use std::io::{self, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use tokio::fs::File;
use tokio::io::{AsyncRead, AsyncSeekExt};
use tracing::{info, warn};

use crate::source::backoff::sleep_or_stop;
use crate::source::emitter::Emitter;
use crate::source::error::SourceError;
use crate::source::framer::LineFramer;
use crate::source::metrics::{worth_logging, Opened};
use crate::source::spec::SourceSpec;
use crate::source::stream::{deliver_last_line, pump_stream, StreamEnd};

/// How often a followed file is checked for new lines, rotation and truncation.
pub const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Device and inode: what stays the same while a file is renamed, and changes when a new file
/// takes over the path.
type Identity = (u64, u64);

fn identity(meta: &std::fs::Metadata) -> Identity {
    (meta.dev(), meta.ino())
}

struct Followed {
    file: File,
    identity: Identity,
    /// Counts the file as open while it is followed.
    _open: Opened,
}

/// Follows `path` until shutdown. The file there at start is followed from its end (its lines
/// were written before the service ran; `aisgap replay` reads old logs), while a file that
/// appears later, after a rotation or for the first time, is read from its start. A file
/// renamed away is read to its end before the new one is opened; a file truncated in place is
/// read again from its start. A missing file is waited for.
pub(crate) async fn follow_file(spec: &SourceSpec, path: &Path, out: &Emitter) {
    let mut framer = LineFramer::new(spec.max_line_bytes);
    let mut current: Option<Followed> = None;
    let mut from_start = false;
    let mut told_missing = false;
    loop {
        if current.is_none() {
            match open_followed(path, from_start, out).await {
                Ok(followed) => {
                    info!(
                        source = %spec.name, path = %path.display(), from_start,
                        "Following file."
                    );
                    current = Some(followed);
                    told_missing = false;
                }
                Err(err) => {
                    // Whatever appears at the path from now on is new.
                    from_start = true;
                    if err.kind() == io::ErrorKind::NotFound {
                        if !told_missing {
                            told_missing = true;
                            info!(source = %spec.name, path = %path.display(), "File not there yet; waiting for it.");
                        }
                    } else if worth_logging(out.error()) {
                        warn!(source = %spec.name, path = %path.display(), error = %err, "Cannot open file; retrying.");
                    }
                }
            }
        }
        if let Some(followed) = current.as_mut() {
            match pump_stream(&mut followed.file, &mut framer, out, None).await {
                StreamEnd::Stopped => return,
                StreamEnd::Eof | StreamEnd::Stalled => {}
                StreamEnd::Failed(err) => {
                    out.error();
                    warn!(source = %spec.name, path = %path.display(), error = %err, "Reading the file failed; reopening it.");
                    framer.reset();
                    current = None;
                    from_start = true;
                }
            }
        }
        if sleep_or_stop(FOLLOW_POLL, &out.shutdown).await {
            return;
        }
        let Some(followed) = current.as_mut() else {
            continue;
        };
        match tokio::fs::metadata(path).await {
            Ok(meta) if identity(&meta) != followed.identity => {
                // Rotated: what the writer added to the old file before switching is still ours.
                if let StreamEnd::Stopped =
                    pump_stream(&mut followed.file, &mut framer, out, None).await
                {
                    return;
                }
                if !deliver_last_line(&mut framer, out).await {
                    return;
                }
                info!(source = %spec.name, path = %path.display(), "File rotated; reading the new one from its start.");
                current = None;
                from_start = true;
            }
            Ok(meta) => {
                let position = followed.file.stream_position().await.unwrap_or(0);
                if meta.len() < position {
                    info!(
                        source = %spec.name, path = %path.display(), was = position, now = meta.len(),
                        "File truncated; reading it from its start."
                    );
                    if let Err(err) = followed.file.seek(SeekFrom::Start(0)).await {
                        out.error();
                        warn!(source = %spec.name, path = %path.display(), error = %err, "Cannot rewind the truncated file; reopening it.");
                        current = None;
                        from_start = true;
                    } else {
                        // Counted like a reopen: the stream started over.
                        followed._open = Opened::new(&out.metrics);
                    }
                    framer.reset();
                }
            }
            // Renamed away and no new file yet: keep reading the old one, the writer may still
            // be appending to it.
            Err(_) => {}
        }
    }
}

async fn open_followed(path: &Path, from_start: bool, out: &Emitter) -> io::Result<Followed> {
    let mut file = File::open(path).await?;
    let meta = file.metadata().await?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if !from_start {
        file.seek(SeekFrom::End(0)).await?;
    }
    Ok(Followed {
        file,
        identity: identity(&meta),
        _open: Opened::new(&out.metrics),
    })
}

/// Reads `path` once, to its end; the source then ends.
pub(crate) async fn read_file_once(
    spec: &SourceSpec,
    path: &Path,
    out: &Emitter,
) -> Result<(), SourceError> {
    let mut file = File::open(path).await.map_err(|error| {
        out.error();
        SourceError::Open {
            name: spec.name.clone(),
            path: path.to_path_buf(),
            error,
        }
    })?;
    info!(source = %spec.name, path = %path.display(), "Reading file.");
    read_to_end(spec, &mut file, &path.display().to_string(), out).await
}

/// Reads standard input to its end; the source then ends.
///
/// Tokio reads standard input on a blocking thread that cannot be interrupted: after shutdown
/// this source returns at once, but that thread lingers until input arrives or closes, so the
/// service should leave its runtime with `shutdown_timeout` rather than waiting for it.
pub(crate) async fn read_stdin(spec: &SourceSpec, out: &Emitter) -> Result<(), SourceError> {
    read_to_end(spec, &mut tokio::io::stdin(), "standard input", out).await
}

async fn read_to_end<R: AsyncRead + Unpin>(
    spec: &SourceSpec,
    reader: &mut R,
    what: &str,
    out: &Emitter,
) -> Result<(), SourceError> {
    let _open = Opened::new(&out.metrics);
    let mut framer = LineFramer::new(spec.max_line_bytes);
    match pump_stream(reader, &mut framer, out, None).await {
        StreamEnd::Eof | StreamEnd::Stalled => {
            deliver_last_line(&mut framer, out).await;
            info!(source = %spec.name, input = what, "Input ended.");
            Ok(())
        }
        StreamEnd::Stopped => Ok(()),
        StreamEnd::Failed(error) => {
            out.error();
            Err(SourceError::Read {
                name: spec.name.clone(),
                what: what.to_owned(),
                error,
            })
        }
    }
}
