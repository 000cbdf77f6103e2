//! The raw lines behind a replay's evidence: each evidence row points at its message's last
//! line in a log (its number and byte offset); this reads those lines again and stores the
//! message's line(s) (every fragment of a multi-sentence message) with their SHA-256. A plain
//! log is read only around each such line, a compressed one from its start to the last.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::decode::raw_message::{RecentFragments, FRAGMENT_LOOKBACK};
use crate::engine::provenance::sha256_hex;
use crate::source::file::{self, Line, LineReader, DEFAULT_MAX_LINE};
use crate::source::framer::{Cut, LineEnds};
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

/// Finds the lines `wanted` (sorted by line) names in `path`: around each of them when the
/// log is plain, from the start when it is compressed.
fn read_lines(path: &Path, wanted: &[Unresolved], found: &mut Vec<Resolved>) -> io::Result<()> {
    let mut plain = File::open(path)?;
    if file::gzipped(&mut plain)? {
        let reader = file::open(path).map_err(|e| io::Error::other(e.to_string()))?;
        return scan_lines(reader, wanted, found);
    }
    seek_lines(&mut plain, wanted, found)
}

/// Scans `reader` from its start for the lines `wanted` names, checking that each still starts
/// at the byte offset recorded (a log rewritten since is not taken for the one read).
fn scan_lines(
    reader: impl Read,
    wanted: &[Unresolved],
    found: &mut Vec<Resolved>,
) -> io::Result<()> {
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

/// Bytes read before a wanted line, at first, for the lines that may hold its message's
/// earlier fragments ([`FRAGMENT_LOOKBACK`] of them): room for 32 tag-blocked sentences of
/// 256 bytes. A log of longer lines is read further back.
const LOOK_BACK_BYTES: u64 = 8 * 1024;
/// Bytes read after a wanted line's start, at first, to find its end.
const TAIL_BYTES: u64 = 1024;
/// Wanted lines closer than this to the one before are found in the same read.
const SAME_READ_BYTES: u64 = 64 * 1024;

/// What one read around some wanted lines came to.
enum Around {
    /// The first `n` wanted lines were looked for (each found or not).
    Looked(usize),
    /// The read began too late for the earlier fragments of the first line's message.
    TooLate,
    /// The read ended inside the last wanted line.
    TooEarly,
}

/// Finds the lines `wanted` names in a plain log by their byte offsets, reading only around
/// them: the same lines, fragments and hashes as [`scan_lines`] finds in a log unchanged since.
/// Within one read, each line's number is checked against the first's (and the first's
/// against its own when the read begins at the log's start); a line whose offset starts no
/// line, or whose number disagrees, is not found.
fn seek_lines(file: &mut File, wanted: &[Unresolved], found: &mut Vec<Resolved>) -> io::Result<()> {
    let length = file.metadata()?.len();
    // In a log unchanged since, the order of lines is that of offsets.
    let mut wanted = wanted.to_vec();
    wanted.sort_unstable_by_key(|w| (w.offset, w.line));
    let mut bytes = Vec::new();
    let mut at = 0;
    while at < wanted.len() {
        let mut together = 1;
        while at + together < wanted.len()
            && wanted[at + together].offset <= wanted[at + together - 1].offset + SAME_READ_BYTES
        {
            together += 1;
        }
        let group = &wanted[at..at + together];
        let (mut back, mut tail) = (LOOK_BACK_BYTES, TAIL_BYTES);
        loop {
            let start = group[0].offset.saturating_sub(back);
            let end = length.min(group[together - 1].offset.saturating_add(tail));
            read_span(file, start, end, &mut bytes)?;
            match look_around(&bytes, start, end == length, group, found) {
                Around::Looked(n) => {
                    at += n;
                    break;
                }
                Around::TooLate if start > 0 => back *= 4,
                Around::TooEarly if end < length => tail *= 4,
                // Nothing more to read: the lines left are not in this log.
                Around::TooLate | Around::TooEarly => {
                    at += together;
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Reads `[start, end)` of `file` into `bytes` (less if the file is shorter now).
fn read_span(file: &mut File, start: u64, end: u64, bytes: &mut Vec<u8>) -> io::Result<()> {
    bytes.clear();
    file.seek(SeekFrom::Start(start))?;
    file.take(end.saturating_sub(start)).read_to_end(bytes)?;
    Ok(())
}

/// Looks for `group` in `bytes`, the log from byte `start` (to its end when `to_end`).
fn look_around(
    bytes: &[u8],
    start: u64,
    to_end: bool,
    group: &[Unresolved],
    found: &mut Vec<Resolved>,
) -> Around {
    let mut ends = LineEnds::default();
    // Lines are numbered from the read's first: only differences are used.
    let mut pos = 0;
    if start > 0 {
        // The read may begin inside a line: the first whole one starts after a line end.
        match ends.cut(bytes) {
            Cut::Ended { next, .. } => pos = next,
            Cut::Open { .. } => return Around::TooLate,
        }
    }
    let mut recent = RecentFragments::default();
    let mut number = 0u64;
    // The first wanted line found: its number in this read and in the log.
    let mut anchor: Option<(u64, u64)> = None;
    let mut next = 0;
    let before = found.len();
    while next < group.len() {
        let (line_start, line_end, after) = match ends.cut(&bytes[pos..]) {
            Cut::Ended { start, end, next } => (pos + start, pos + end, pos + next),
            Cut::Open { start } if to_end && pos + start < bytes.len() => {
                (pos + start, bytes.len(), bytes.len())
            }
            Cut::Open { .. } if to_end => break,
            Cut::Open { .. } => {
                found.truncate(before);
                return Around::TooEarly;
            }
        };
        number += 1;
        let offset = start + line_start as u64;
        let text = &bytes[line_start..line_end];
        let is_text = text.len() <= DEFAULT_MAX_LINE;
        while next < group.len() && group[next].offset <= offset {
            let target = &group[next];
            next += 1;
            if target.offset != offset || !is_text {
                continue;
            }
            let (first_number, first_line) = match anchor {
                None if start > 0 && number <= FRAGMENT_LOOKBACK => {
                    found.truncate(before);
                    return Around::TooLate;
                }
                // Read from the log's start, the number is the line's own.
                None if start == 0 && number != target.line => continue,
                None => {
                    anchor = Some((number, target.line));
                    (number, target.line)
                }
                Some(first) => first,
            };
            if target.line.checked_sub(first_line) != Some(number - first_number) {
                continue;
            }
            let (first, raw) = recent.message(text, number);
            found.push(Resolved {
                at: target.clone(),
                first_line: target.line - (number - first),
                sha256: sha256_hex(&raw),
                raw,
            });
        }
        if is_text {
            recent.push(number, text);
        }
        pos = after;
        if pos >= bytes.len() {
            break;
        }
    }
    if next < group.len() && !to_end {
        found.truncate(before);
        return Around::TooEarly;
    }
    Around::Looked(group.len())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;

    /// Every line of `log` as [`scan_lines`] numbers it: (number, offset, whether text).
    fn lines_of(log: &[u8]) -> Vec<(u64, u64, bool)> {
        let mut reader = LineReader::new(log, DEFAULT_MAX_LINE);
        let mut lines = Vec::new();
        while let Some((offset, line)) = reader.next_line_at().unwrap() {
            let text = matches!(line, Line::Text(_));
            lines.push((lines.len() as u64 + 1, offset, text));
        }
        lines
    }

    /// What each way finds of `wanted` in `log`, in the order of lines.
    fn found_both(log: &[u8], wanted: &[Unresolved]) -> (Vec<Resolved>, Vec<Resolved>) {
        let mut scanned = Vec::new();
        scan_lines(log, wanted, &mut scanned).unwrap();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(log).unwrap();
        let mut sought = Vec::new();
        seek_lines(&mut file, wanted, &mut sought).unwrap();
        let order = |r: &Resolved| (r.at.line, r.at.offset);
        scanned.sort_by_key(order);
        sought.sort_by_key(order);
        (scanned, sought)
    }

    fn wanted(line: u64, offset: u64) -> Unresolved {
        Unresolved {
            source: 0,
            line,
            offset,
        }
    }

    /// One line of a generated log, and how it ends.
    #[derive(Clone, Debug)]
    enum Piece {
        Single,
        /// The first or second sentence of a two-sentence message with this sequence id.
        Fragment(u8, u8),
        Empty,
        /// Text longer than the first read looks back.
        Long,
        /// Over the line limit: counted, never text.
        TooLong,
    }

    fn log_of(pieces: &[(Piece, u8)], last_ended: bool) -> Vec<u8> {
        let mut log = Vec::new();
        for (i, (piece, ending)) in pieces.iter().enumerate() {
            match piece {
                Piece::Single => log.extend_from_slice(
                    format!("\\c:{i}*00\\!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24")
                        .as_bytes(),
                ),
                Piece::Fragment(seq, n) => log.extend_from_slice(
                    format!("!AIVDM,2,{n},{seq},B,5E@:gf8000000000000p4{i},0*00").as_bytes(),
                ),
                Piece::Empty => {}
                Piece::Long => log.extend(std::iter::repeat_n(b'x', 9_000)),
                Piece::TooLong => log.extend(std::iter::repeat_n(b'y', DEFAULT_MAX_LINE + 10)),
            }
            if i + 1 < pieces.len() || last_ended {
                log.extend_from_slice(match ending % 3 {
                    0 => &b"\n"[..],
                    1 => b"\r\n",
                    _ => b"\r",
                });
            }
        }
        log
    }

    fn piece() -> impl Strategy<Value = (Piece, u8)> {
        let piece = prop_oneof![
            12 => Just(Piece::Single),
            6 => (0u8..4, 1u8..=2).prop_map(|(seq, n)| Piece::Fragment(seq, n)),
            2 => Just(Piece::Empty),
            1 => Just(Piece::Long),
        ];
        (piece, any::<u8>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn reading_around_each_line_finds_what_reading_from_the_start_finds(
            pieces in proptest::collection::vec(piece(), 0..500),
            last_ended in any::<bool>(),
            picks in proptest::collection::vec(any::<u16>(), 0..40),
            misses in proptest::collection::vec(any::<u16>(), 0..4),
        ) {
            let log = log_of(&pieces, last_ended);
            let all_lines = lines_of(&log);
            let lines: Vec<_> = all_lines.iter().copied().filter(|l| l.2).collect();
            prop_assume!(!lines.is_empty());
            let mut targets: Vec<Unresolved> = picks
                .iter()
                .map(|&p| {
                    let (line, offset, _) = lines[p as usize % lines.len()];
                    wanted(line, offset)
                })
                .collect();
            // Offsets that start no line are found by neither. (One that starts another line,
            // under a wrong number, is told apart only against the other lines of its read.)
            targets.extend(misses.iter().filter_map(|&p| {
                let (line, offset, _) = lines[p as usize % lines.len()];
                let starts_a_line = all_lines.iter().any(|l| l.1 == offset + 1);
                (!starts_a_line).then(|| wanted(line, offset + 1))
            }));
            targets.sort_by_key(|t| (t.line, t.offset));
            targets.dedup_by_key(|t| (t.line, t.offset));
            let true_lines = targets
                .iter()
                .filter(|t| lines.iter().any(|l| (l.0, l.1) == (t.line, t.offset)))
                .count();
            let (scanned, sought) = found_both(&log, &targets);
            prop_assert_eq!(scanned.len(), true_lines);
            prop_assert_eq!(sought, scanned);
        }
    }

    #[test]
    fn a_fragment_far_behind_a_long_line_is_still_joined() {
        // The message's first sentence, then lines longer than the first read looks back.
        let mut pieces = vec![(Piece::Single, 0); 40];
        pieces.push((Piece::Fragment(3, 1), 0));
        pieces.push((Piece::Long, 0));
        pieces.push((Piece::Long, 1));
        pieces.push((Piece::Fragment(3, 2), 2));
        pieces.extend(vec![(Piece::Single, 0); 5]);
        let log = log_of(&pieces, true);
        let lines = lines_of(&log);
        let (line, offset, _) = lines[43];
        let (scanned, sought) = found_both(&log, &[wanted(line, offset)]);
        assert_eq!(scanned.len(), 1);
        assert_eq!(
            scanned[0].first_line, 41,
            "the first sentence is three lines back"
        );
        assert_eq!(sought, scanned);
    }

    #[test]
    fn a_line_past_one_over_the_limit_keeps_its_number() {
        let mut pieces = vec![(Piece::Single, 0); 3];
        pieces.push((Piece::TooLong, 1));
        pieces.extend(vec![(Piece::Single, 0); 3]);
        let log = log_of(&pieces, false);
        let lines = lines_of(&log);
        assert!(!lines[3].2, "the over-long line is no text");
        let targets: Vec<_> = lines[4..].iter().map(|l| wanted(l.0, l.1)).collect();
        let (scanned, sought) = found_both(&log, &targets);
        assert_eq!(scanned.len(), 3);
        assert_eq!(sought, scanned);
    }

    #[test]
    fn a_line_whose_number_disagrees_is_not_found() {
        let pieces = vec![(Piece::Single, 0); 200];
        let log = log_of(&pieces, true);
        let lines = lines_of(&log);
        // Near the start (read from the first line) and far from it (numbers compared within
        // one read): the right offset under the wrong number.
        for at in [5, 150] {
            let (line, offset, _) = lines[at];
            let (next_line, next_offset, _) = lines[at + 1];
            let targets = [wanted(line, offset), wanted(next_line + 1, next_offset)];
            let (scanned, sought) = found_both(&log, &targets);
            assert_eq!(scanned.len(), 1, "only the line at its own number");
            assert_eq!(sought, scanned, "at line {line}");
        }
    }

    #[test]
    fn a_log_shorter_than_the_offsets_finds_nothing_past_its_end() {
        let log = log_of(&vec![(Piece::Single, 0); 10], true);
        let end = log.len() as u64;
        let (scanned, sought) = found_both(&log, &[wanted(11, end), wanted(40, end + 5_000)]);
        assert!(scanned.is_empty());
        assert_eq!(sought, scanned);
    }
}
