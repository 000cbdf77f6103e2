//! File and standard-input sources: a file read once to its end, a file followed like
//! `tail -F` (surviving rotation and truncation), and standard input.
//!
//! Every line of a file carries where it ends in the file ([`FileMark`]), and a file source
//! takes its file up again at a [`ResumeAt`] (the service's last committed one after a
//! restart): there if it is still the same file, from its start if the file was rotated,
//! truncated or replaced meanwhile. Lines are handed on only once their line ending has been
//! read, so a partial last line is never marked as read: a restart reads it again in full.

use std::io::{self, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::fs::File;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};
use tracing::{info, warn};

use crate::source::backoff::sleep_or_stop;
use crate::source::emitter::Emitter;
use crate::source::error::SourceError;
use crate::source::framer::LineFramer;
use crate::source::metrics::{worth_logging, Opened, SourceMetrics};
use crate::source::spec::{FileMark, SourceSpec};
use crate::source::stream::{deliver_last_line, pump_stream, StreamEnd, READ_CHUNK};
use crate::time;

/// How often a followed file is checked for new lines, rotation and truncation.
pub const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// The last bytes of the last line read that a [`ResumeAt`] keeps: enough to tell the file it
/// was read from from another one that reuses its inode, or that was truncated and written
/// again past the offset while the service was down.
pub const TAIL_BYTES: usize = 64;

/// Where a file source takes its file up again: just past the last line taken (`mark`), and
/// the last bytes of that line (`tail`, at most [`TAIL_BYTES`]; empty skips the check).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResumeAt {
    pub mark: FileMark,
    pub tail: Vec<u8>,
}

/// Device and inode: what stays the same while a file is renamed, and changes when a new file
/// takes over the path.
type Identity = (u64, u64);

fn identity(meta: &std::fs::Metadata) -> Identity {
    (meta.dev(), meta.ino())
}

/// What a resume position means for the file now at the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resumed {
    /// The same file, at least as long as the position: read on from `offset`.
    At(u64),
    /// Another file took over the path (rotation, or deleted and written anew).
    Rotated,
    /// The same file, shorter than the position: truncated.
    Truncated,
    /// The same inode, but the bytes before the position are not the line last read: the file
    /// was truncated and written again, or deleted and its inode reused.
    Replaced,
}

impl Resumed {
    fn offset(self) -> u64 {
        match self {
            Resumed::At(offset) => offset,
            Resumed::Rotated | Resumed::Truncated | Resumed::Replaced => 0,
        }
    }

    fn why(self) -> &'static str {
        match self {
            Resumed::At(_) => "the same file",
            Resumed::Rotated => "another file took over the path (rotated or replaced)",
            Resumed::Truncated => "the file is shorter than the position (truncated)",
            Resumed::Replaced => "the bytes before the position are not the last line read",
        }
    }
}

/// Judges `resume` against the open `file`, whose metadata is `meta`.
async fn judge(
    file: &mut File,
    meta: &std::fs::Metadata,
    resume: &ResumeAt,
) -> io::Result<Resumed> {
    let mark = resume.mark;
    if identity(meta) != (mark.device, mark.inode) {
        return Ok(Resumed::Rotated);
    }
    if meta.len() < mark.offset {
        return Ok(Resumed::Truncated);
    }
    if resume.tail.is_empty() {
        return Ok(Resumed::At(mark.offset));
    }
    // The line and its ending (`\n`, `\r\n` or `\r`) just before the offset.
    let span = mark.offset.min(resume.tail.len() as u64 + 2);
    let mut before = vec![0u8; span as usize];
    file.seek(SeekFrom::Start(mark.offset - span)).await?;
    file.read_exact(&mut before).await?;
    let line = before
        .strip_suffix(b"\n")
        .map(|rest| rest.strip_suffix(b"\r").unwrap_or(rest))
        .or_else(|| before.strip_suffix(b"\r"))
        .unwrap_or(&before);
    Ok(if line.ends_with(&resume.tail) {
        Resumed::At(mark.offset)
    } else {
        Resumed::Replaced
    })
}

/// Where reading one file has got: the file, and the offset of the next byte to read.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    identity: Identity,
    read_to: u64,
}

impl Cursor {
    fn mark(&self, offset: u64) -> FileMark {
        FileMark {
            device: self.identity.0,
            inode: self.identity.1,
            offset,
        }
    }
}

/// Reads `file` from `cursor` and hands on its lines, each marked with where it ends, until the
/// end of what is written, a failure, or the source must stop. `delivered` follows the last
/// line handed on. A partial last line stays in `framer`.
async fn pump_file(
    file: &mut File,
    framer: &mut LineFramer,
    out: &Emitter,
    cursor: &mut Cursor,
    delivered: &mut Option<ResumeAt>,
) -> StreamEnd {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut lines = Vec::new();
    loop {
        let read = tokio::select! {
            biased;
            _ = out.shutdown.cancelled() => return StreamEnd::Stopped,
            read = file.read(&mut buf) => read,
        };
        let n = match read {
            Ok(0) => return StreamEnd::Eof,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return StreamEnd::Failed(err),
        };
        let received_at = time::now();
        SourceMetrics::add(&out.metrics.bytes, n as u64);
        let chunk_start = cursor.read_to;
        cursor.read_to += n as u64;
        out.too_long(framer.push_with(&buf[..n], |line, past| {
            lines.push((line, chunk_start + past as u64));
        }));
        for (line, end) in lines.drain(..) {
            let mark = cursor.mark(end);
            if !out.deliver_marked(line, received_at, Some(mark)).await {
                return StreamEnd::Stopped;
            }
            *delivered = Some(ResumeAt {
                mark,
                tail: Vec::new(),
            });
        }
    }
}

/// Hands on the unterminated last line of a file that is complete (read once, or rotated
/// away), marked at the end of the file.
async fn deliver_last_file_line(
    framer: &mut LineFramer,
    out: &Emitter,
    cursor: &Cursor,
    delivered: &mut Option<ResumeAt>,
) -> bool {
    let Some(line) = framer.finish() else {
        return true;
    };
    let mark = cursor.mark(cursor.read_to);
    if !out.deliver_marked(line, time::now(), Some(mark)).await {
        return false;
    }
    *delivered = Some(ResumeAt {
        mark,
        tail: Vec::new(),
    });
    true
}

struct Followed {
    file: File,
    cursor: Cursor,
    /// Counts the file as open while it is followed.
    _open: Opened,
}

/// How to open the file at a followed path.
enum Opening<'a> {
    /// The first file of a source that never read one: from its end, as `tail -F` does (its
    /// lines were written before the service ran; `aisgap replay` reads old logs).
    AtEnd,
    /// A file that appeared after the source started, or took over the path: all of it.
    FromStart,
    /// Where the source was when it last stopped.
    Resume(&'a ResumeAt),
}

/// Follows `path` until shutdown. The first file is taken up at `delivered` (where the source
/// was when it last stopped) if it is still the same file, from its start if another file took
/// over the path meanwhile (after reading what the old file, found renamed beside it, still
/// held), and from its end when the source never read one. A file that appears later, after a
/// rotation or for the first time, is read from its start. A file renamed away is read to its
/// end before the new one is opened; a file truncated in place is read again from its start. A
/// missing file is waited for. On return, `delivered` is just past the last line handed on.
pub(crate) async fn follow_file(
    spec: &SourceSpec,
    path: &Path,
    out: &Emitter,
    delivered: &mut Option<ResumeAt>,
) {
    let mut framer = LineFramer::new(spec.max_line_bytes).numbering_every_line();
    let mut current: Option<Followed> = None;
    let mut resume = delivered.clone();
    let mut from_start = false;
    let mut told_missing = false;
    loop {
        if current.is_none() {
            let opening = match (&resume, from_start) {
                (Some(at), _) => Opening::Resume(at),
                (None, true) => Opening::FromStart,
                (None, false) => Opening::AtEnd,
            };
            match open_followed(spec, path, opening, out, delivered).await {
                Ok(Some(followed)) => {
                    info!(
                        source = %spec.name, path = %path.display(), offset = followed.cursor.read_to,
                        "Following file."
                    );
                    current = Some(followed);
                    resume = None;
                    told_missing = false;
                }
                Ok(None) => return,
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
            let end = pump_file(
                &mut followed.file,
                &mut framer,
                out,
                &mut followed.cursor,
                delivered,
            )
            .await;
            match end {
                StreamEnd::Stopped => return,
                StreamEnd::Eof | StreamEnd::Stalled => {}
                StreamEnd::Failed(err) => {
                    out.error();
                    warn!(source = %spec.name, path = %path.display(), error = %err, "Reading the file failed; reopening it.");
                    framer.reset();
                    // Taken up again after the last line handed on, if it is still the file.
                    resume = delivered.clone();
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
            Ok(meta) if identity(&meta) != followed.cursor.identity => {
                // Rotated: what the writer added to the old file before switching is still ours.
                let (file, cursor) = (&mut followed.file, &mut followed.cursor);
                if let StreamEnd::Stopped =
                    pump_file(file, &mut framer, out, cursor, delivered).await
                {
                    return;
                }
                if !deliver_last_file_line(&mut framer, out, cursor, delivered).await {
                    return;
                }
                info!(source = %spec.name, path = %path.display(), "File rotated; reading the new one from its start.");
                current = None;
                from_start = true;
            }
            Ok(meta) => {
                let position = followed.cursor.read_to;
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
                        followed.cursor.read_to = 0;
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

/// Opens the file at `path` as `opening` says; `None` when the source must stop (while it read
/// the rest of a rotated file first).
async fn open_followed(
    spec: &SourceSpec,
    path: &Path,
    opening: Opening<'_>,
    out: &Emitter,
    delivered: &mut Option<ResumeAt>,
) -> io::Result<Option<Followed>> {
    let mut file = File::open(path).await?;
    let meta = file.metadata().await?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let offset = match opening {
        Opening::AtEnd => meta.len(),
        Opening::FromStart => 0,
        Opening::Resume(at) => {
            let resumed = judge(&mut file, &meta, at).await?;
            log_resumed(spec, path, at, resumed);
            if resumed == Resumed::Rotated && !finish_rotated(spec, path, at, out, delivered).await
            {
                return Ok(None);
            }
            resumed.offset()
        }
    };
    file.seek(SeekFrom::Start(offset)).await?;
    Ok(Some(Followed {
        file,
        cursor: Cursor {
            identity: identity(&meta),
            read_to: offset,
        },
        _open: Opened::new(&out.metrics),
    }))
}

fn log_resumed(spec: &SourceSpec, path: &Path, at: &ResumeAt, resumed: Resumed) {
    match resumed {
        Resumed::At(offset) => info!(
            source = %spec.name, path = %path.display(), offset,
            "Taking the file up where the last committed line ended."
        ),
        _ => warn!(
            source = %spec.name, path = %path.display(), offset = at.mark.offset,
            reason = resumed.why(), "Reading the file from its start."
        ),
    }
}

/// Reads to its end what the file last read still held past `at`, if it is found renamed in
/// the same directory (as log rotation leaves it); false when the source must stop.
async fn finish_rotated(
    spec: &SourceSpec,
    path: &Path,
    at: &ResumeAt,
    out: &Emitter,
    delivered: &mut Option<ResumeAt>,
) -> bool {
    let Some(old) = renamed_beside(path, (at.mark.device, at.mark.inode)).await else {
        return true;
    };
    let Ok(mut file) = File::open(&old).await else {
        return true;
    };
    let Ok(meta) = file.metadata().await else {
        return true;
    };
    match judge(&mut file, &meta, at).await {
        Ok(Resumed::At(offset)) => {
            if file.seek(SeekFrom::Start(offset)).await.is_err() {
                return true;
            }
            info!(
                source = %spec.name, path = %old.display(), offset, until = meta.len(),
                "Reading the rest of the rotated file first."
            );
            let _open = Opened::new(&out.metrics);
            let mut framer = LineFramer::new(spec.max_line_bytes).numbering_every_line();
            let mut cursor = Cursor {
                identity: identity(&meta),
                read_to: offset,
            };
            match pump_file(&mut file, &mut framer, out, &mut cursor, delivered).await {
                StreamEnd::Stopped => false,
                StreamEnd::Eof | StreamEnd::Stalled | StreamEnd::Failed(_) => {
                    deliver_last_file_line(&mut framer, out, &cursor, delivered).await
                }
            }
        }
        _ => true,
    }
}

/// The file in `path`'s directory that is `wanted` (device and inode), if any.
async fn renamed_beside(path: &Path, wanted: Identity) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut entries = tokio::fs::read_dir(&dir).await.ok()?;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        if meta.is_file() && identity(&meta) == wanted {
            return Some(entry.path());
        }
    }
    None
}

/// Reads `path` once, to its end; the source then ends. The file is taken up at `delivered`
/// if it is still the same file (a file read to its end is not read again), from its start
/// otherwise. An unterminated last line is a line, ending at the end of the file. On return,
/// `delivered` is just past the last line handed on.
pub(crate) async fn read_file_once(
    spec: &SourceSpec,
    path: &Path,
    out: &Emitter,
    delivered: &mut Option<ResumeAt>,
) -> Result<(), SourceError> {
    let failed = |error| {
        out.error();
        SourceError::Open {
            name: spec.name.clone(),
            path: path.to_path_buf(),
            error,
        }
    };
    let mut file = File::open(path).await.map_err(failed)?;
    let meta = file.metadata().await.map_err(failed)?;
    let offset = match delivered.clone() {
        None => 0,
        Some(at) => {
            let resumed = judge(&mut file, &meta, &at).await.map_err(failed)?;
            log_resumed(spec, path, &at, resumed);
            resumed.offset()
        }
    };
    file.seek(SeekFrom::Start(offset)).await.map_err(failed)?;
    info!(source = %spec.name, path = %path.display(), offset, size = meta.len(), "Reading file.");
    let _open = Opened::new(&out.metrics);
    let mut framer = LineFramer::new(spec.max_line_bytes).numbering_every_line();
    let mut cursor = Cursor {
        identity: identity(&meta),
        read_to: offset,
    };
    match pump_file(&mut file, &mut framer, out, &mut cursor, delivered).await {
        StreamEnd::Eof | StreamEnd::Stalled => {
            deliver_last_file_line(&mut framer, out, &cursor, delivered).await;
            info!(source = %spec.name, path = %path.display(), offset = cursor.read_to, "File read to its end.");
            Ok(())
        }
        StreamEnd::Stopped => Ok(()),
        StreamEnd::Failed(error) => {
            out.error();
            Err(SourceError::Read {
                name: spec.name.clone(),
                what: path.display().to_string(),
                error,
            })
        }
    }
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
    let mut framer = LineFramer::new(spec.max_line_bytes).numbering_every_line();
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn judged(bytes: &[u8], resume: impl Fn(&std::fs::Metadata) -> ResumeAt) -> Resumed {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.log");
        std::fs::write(&path, bytes).unwrap();
        let mut file = File::open(&path).await.unwrap();
        let meta = file.metadata().await.unwrap();
        judge(&mut file, &meta, &resume(&meta)).await.unwrap()
    }

    fn at(meta: &std::fs::Metadata, offset: u64, tail: &[u8]) -> ResumeAt {
        ResumeAt {
            mark: FileMark {
                device: meta.dev(),
                inode: meta.ino(),
                offset,
            },
            tail: tail.to_vec(),
        }
    }

    #[tokio::test]
    async fn a_position_is_kept_only_for_the_file_it_was_taken_in() {
        let text = b"!AIVDM,first\r\n!AIVDM,second\n!AIVDM,third\rpartial";
        let after_second = 28;
        assert_eq!(&text[after_second - 1..after_second], b"\n");
        // The same file, grown or not, whatever its line endings.
        for (offset, tail) in [
            (after_second as u64, &b"second"[..]),
            (14, b"!AIVDM,first"),
            (41, b"third"),
            (41, b""),
            (0, b""),
        ] {
            let resumed = judged(text, |m| at(m, offset, tail)).await;
            assert_eq!(resumed, Resumed::At(offset), "{offset} {tail:?}");
        }
        let whole_tail = &text[..after_second - 1];
        let resumed = judged(text, |m| {
            at(
                m,
                after_second as u64,
                &whole_tail[whole_tail.len() - TAIL_BYTES.min(whole_tail.len())..],
            )
        })
        .await;
        assert_eq!(resumed, Resumed::At(after_second as u64));
        // Shorter than the position, another file, other bytes before the position.
        assert_eq!(judged(text, |m| at(m, 1000, b"")).await, Resumed::Truncated);
        let other = |m: &std::fs::Metadata| ResumeAt {
            mark: FileMark {
                inode: m.ino() + 1,
                ..at(m, 14, b"").mark
            },
            tail: Vec::new(),
        };
        assert_eq!(judged(text, other).await, Resumed::Rotated);
        assert_eq!(
            judged(text, |m| at(m, after_second as u64, b"third")).await,
            Resumed::Replaced
        );
        assert_eq!(
            judged(text, |m| at(m, 20, b"second")).await,
            Resumed::Replaced,
            "mid-line"
        );
    }
}
