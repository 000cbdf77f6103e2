//! The raw lines behind a replay's evidence: each evidence row points at its message's last
//! line in a log; this reads the logs once more, only as far as the last such line, and
//! stores the message's line(s) (every fragment of a multi-sentence message) with their
//! SHA-256.

use std::path::{Path, PathBuf};

use crate::decode::raw_message::RecentFragments;
use crate::engine::provenance::sha256_hex;
use crate::source::file::{self, Line, LineReader, DEFAULT_MAX_LINE};
use crate::store::provenance::{Resolved, Unresolved};
use crate::store::{Store, StoreError};

/// Reads each log the evidence rows point into and stores their lines and hashes. Rows
/// whose log cannot be read again (standard input, a file gone or changed since) keep their
/// reference without raw text; they are counted in the return value's second part.
pub fn resolve(store: &mut Store, logs: &[PathBuf]) -> Result<(usize, usize), StoreError> {
    let unresolved = store.unresolved_evidence()?;
    let mut found = Vec::new();
    let mut missed = 0;
    let mut at = 0;
    while at < unresolved.len() {
        let source = unresolved[at].source;
        let end = at + unresolved[at..].partition_point(|u| u.source == source);
        let wanted = &unresolved[at..end];
        let before = found.len();
        match logs.get(source as usize) {
            Some(path) if path.as_os_str() != "-" => {
                if let Err(error) = read_lines(path, wanted, &mut found) {
                    tracing::warn!(file = %path.display(), %error, "The raw lines of this log's evidence could not be read again; the evidence keeps its line numbers only.");
                }
            }
            _ => {}
        }
        missed += wanted.len() - (found.len() - before);
        at = end;
    }
    store.resolve_evidence(&found)?;
    Ok((found.len(), missed))
}

/// Scans `path` for the lines `wanted` (sorted by line) names, checking that each still starts
/// at the byte offset recorded (a log rewritten since is not taken for the one read).
fn read_lines(
    path: &Path,
    wanted: &[Unresolved],
    found: &mut Vec<Resolved>,
) -> std::io::Result<()> {
    let reader = file::open(path).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut lines = LineReader::new(reader, DEFAULT_MAX_LINE);
    let mut recent = RecentFragments::default();
    let mut number = 0u64;
    let mut next = wanted.iter().peekable();
    while next.peek().is_some() {
        let Some((offset, line)) = lines.next_line_at()? else {
            break;
        };
        number += 1;
        let Line::Text(text) = line else { continue };
        while let Some(target) = next.next_if(|t| t.line == number) {
            if target.offset == offset {
                let (first_line, raw) = recent.message(text, number);
                found.push(Resolved {
                    at: target.clone(),
                    first_line,
                    sha256: sha256_hex(&raw),
                    raw,
                });
            }
        }
        recent.push(number, text);
    }
    Ok(())
}
