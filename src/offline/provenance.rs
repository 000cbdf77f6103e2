//! The raw lines behind a replay's evidence: each evidence row points at its message's last
//! line in a log; this reads the logs once more, only as far as the last such line, and
//! stores the message's line(s) (every fragment of a multi-sentence message) with their
//! SHA-256.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use crate::engine::provenance::sha256_hex;
use crate::source::file::{self, Line, LineReader, DEFAULT_MAX_LINE};
use crate::store::provenance::{Resolved, Unresolved};
use crate::store::{Store, StoreError};

/// Lines looked back over for the earlier fragments of a message (fragments of one message
/// arrive within a few lines of each other; a receiver interleaving more is not seen).
const FRAGMENT_LOOKBACK: usize = 32;

/// How one line's AIS sentence is numbered: fragment count, fragment number, sequence id,
/// channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fragment<'a> {
    count: u32,
    number: u32,
    sequence: &'a [u8],
    channel: &'a [u8],
}

/// The fragment numbering of the first `!xxVDM`/`!xxVDO` sentence on `line`, after any tag
/// block or time column.
fn fragment_of(line: &[u8]) -> Option<Fragment<'_>> {
    let start = line.iter().position(|&b| b == b'!')?;
    let mut fields = line[start..].split(|&b| b == b',');
    let talker = fields.next()?;
    if talker.len() != 6 || !(talker.ends_with(b"VDM") || talker.ends_with(b"VDO")) {
        return None;
    }
    let number = |field: &[u8]| std::str::from_utf8(field).ok()?.parse::<u32>().ok();
    Some(Fragment {
        count: number(fields.next()?)?,
        number: number(fields.next()?)?,
        sequence: fields.next()?,
        channel: fields.next()?,
    })
}

/// The message ending on `last` (line `line`), with its earlier fragments from `before` (the
/// lines just before it, oldest first): `(first line number, the lines joined by \n)`.
fn message_lines(last: &[u8], line: u64, before: &VecDeque<(u64, Vec<u8>)>) -> (u64, Vec<u8>) {
    let mut lines: Vec<(u64, &[u8])> = vec![(line, last)];
    if let Some(end) = fragment_of(last).filter(|f| f.count > 1 && f.number == f.count) {
        let mut wanted = end.number - 1;
        for (number, text) in before.iter().rev() {
            if wanted == 0 {
                break;
            }
            let Some(f) = fragment_of(text) else { continue };
            if f.count == end.count
                && f.number == wanted
                && f.sequence == end.sequence
                && f.channel == end.channel
            {
                lines.push((*number, text));
                wanted -= 1;
            }
        }
    }
    lines.reverse();
    let first = lines[0].0;
    let joined = lines
        .iter()
        .map(|(_, text)| *text)
        .collect::<Vec<_>>()
        .join(&b'\n');
    (first, joined)
}

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
    let mut recent: VecDeque<(u64, Vec<u8>)> = VecDeque::with_capacity(FRAGMENT_LOOKBACK + 1);
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
                let (first_line, raw) = message_lines(text, number, &recent);
                found.push(Resolved {
                    at: target.clone(),
                    first_line,
                    sha256: sha256_hex(&raw),
                    raw,
                });
            }
        }
        // The oldest line's buffer takes the newest: no allocation per line read.
        let mut slot = if recent.len() == FRAGMENT_LOOKBACK {
            recent.pop_front().expect("the look-back is full")
        } else {
            (0, Vec::new())
        };
        slot.0 = number;
        slot.1.clear();
        slot.1.extend_from_slice(text);
        recent.push_back(slot);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_part_message_is_its_two_lines_and_a_single_one_is_its_own() {
        let first = b"\\g:1-2-73,c:1709856000*00\\!AIVDM,2,1,7,B,55NBj>P0,0*00".to_vec();
        let noise = b"!AIVDM,1,1,,A,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09".to_vec();
        let last = b"\\g:2-2-73*00\\!AIVDM,2,2,7,B,88888888880,2*2C".to_vec();
        let before: VecDeque<_> = [(10, first.clone()), (11, noise.clone())].into();
        let (from, raw) = message_lines(&last, 12, &before);
        assert_eq!(from, 10);
        assert_eq!(raw, [first.as_slice(), last.as_slice()].join(&b'\n'));
        let (from, raw) = message_lines(&noise, 11, &before);
        assert_eq!((from, raw), (11, noise));
    }

    #[test]
    fn a_fragment_of_another_sequence_is_not_taken() {
        let other = b"!AIVDM,2,1,8,B,55NBj>P0,0*00".to_vec();
        let last = b"!AIVDM,2,2,7,B,888,2*2C".to_vec();
        let before: VecDeque<_> = [(4, other)].into();
        assert_eq!(message_lines(&last, 5, &before), (5, last));
    }
}
