//! Line framing, one set of rules for every way bytes come in (live feeds and replayed logs
//! alike, so a replay sees the lines the service saw): `\n`, `\r\n` and a lone `\r` each end
//! one line, and a line longer than its bound is dropped and counted once.
//!
//! `LineEnds` is the core both readers share; it only finds where lines end and never copies,
//! so the replay reader can lend lines out of its buffer while [`LineFramer`] joins them across
//! the chunks a socket delivers.

use crate::bytes::find_either;

/// Where the next line of a slice ends. Remembers one thing between slices: that the last one
/// ended with a `\r`, so a `\n` opening the next is that line's `\r\n` and not an empty line.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LineEnds {
    after_cr: bool,
}

/// A cut of a slice by [`LineEnds::cut`]. `start` is 0, or 1 when the slice opened with the
/// `\n` of a `\r\n` split from its `\r`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// `hay[start..end]` ends a line (it may continue one begun in earlier slices); the next
    /// line starts at `hay[next]`.
    Ended {
        start: usize,
        end: usize,
        next: usize,
    },
    /// `hay[start..]` has no line ending: the line goes on.
    Open { start: usize },
}

impl LineEnds {
    /// Cuts `hay` at its first line ending.
    #[inline]
    pub fn cut(&mut self, hay: &[u8]) -> Cut {
        let start = usize::from(self.after_cr && hay.first() == Some(&b'\n'));
        if !hay.is_empty() {
            self.after_cr = false;
        }
        let Some(at) = find_either(&hay[start..], b'\n', b'\r') else {
            return Cut::Open { start };
        };
        let end = start + at;
        let mut next = end + 1;
        if hay[end] == b'\r' {
            match hay.get(next) {
                Some(b'\n') => next += 1,
                Some(_) => {}
                None => self.after_cr = true,
            }
        }
        Cut::Ended { start, end, next }
    }

    /// Forgets the stream so far.
    pub fn reset(&mut self) {
        self.after_cr = false;
    }
}

/// Splits a byte stream that arrives in chunks into owned lines, by the rules of this module.
/// Empty lines are not handed on (a live line costs a channel slot and carries nothing) unless
/// asked ([`LineFramer::numbering_every_line`]), and an over-long line is counted as soon as it
/// passes the bound, so an endless line never holds more than `max_line_bytes` of memory.
#[derive(Clone, Debug)]
pub struct LineFramer {
    max_line_bytes: usize,
    ends: LineEnds,
    partial: Vec<u8>,
    /// Inside a line already counted as too long: skip to its end.
    discarding: bool,
    /// Hand on an empty line for each empty or over-long one.
    every_line: bool,
}

impl LineFramer {
    pub fn new(max_line_bytes: usize) -> LineFramer {
        LineFramer {
            max_line_bytes: max_line_bytes.max(1),
            ends: LineEnds::default(),
            partial: Vec::new(),
            discarding: false,
            every_line: false,
        }
    }

    /// Hands on an empty line in place of each empty or over-long one (still counted as too
    /// long): a file's lines are then numbered as a replay of the file numbers them, which is
    /// what its evidence rows cite.
    pub fn numbering_every_line(mut self) -> LineFramer {
        self.every_line = true;
        self
    }

    /// Appends the complete lines in `chunk` (joined to what earlier chunks left) to `lines`;
    /// returns how many too-long lines were dropped.
    pub fn push(&mut self, chunk: &[u8], lines: &mut Vec<Vec<u8>>) -> u64 {
        self.push_with(chunk, |line, _| lines.push(line))
    }

    /// As [`LineFramer::push`], handing each line to `take` with the index in `chunk` just past
    /// its line ending: how a file source knows the byte offset up to which its lines are read.
    pub fn push_with(&mut self, chunk: &[u8], mut take: impl FnMut(Vec<u8>, usize)) -> u64 {
        let mut too_long = 0;
        let mut rest = chunk;
        while !rest.is_empty() {
            let (piece, ended) = match self.ends.cut(rest) {
                Cut::Open { start } => (&rest[start..], false),
                Cut::Ended { start, end, next } => {
                    let piece = &rest[start..end];
                    rest = &rest[next..];
                    (piece, true)
                }
            };
            let past = chunk.len() - rest.len();
            if !ended {
                if !self.discarding {
                    if self.partial.len() + piece.len() > self.max_line_bytes {
                        too_long += 1;
                        self.partial.clear();
                        self.discarding = true;
                    } else {
                        self.partial.extend_from_slice(piece);
                    }
                }
                break;
            }
            if self.discarding {
                self.discarding = false;
            } else if self.partial.len() + piece.len() > self.max_line_bytes {
                too_long += 1;
                self.partial.clear();
            } else if !(self.partial.is_empty() && piece.is_empty()) {
                let mut line = Vec::with_capacity(self.partial.len() + piece.len());
                line.extend_from_slice(&self.partial);
                line.extend_from_slice(piece);
                self.partial.clear();
                take(line, past);
                continue;
            }
            if self.every_line {
                take(Vec::new(), past);
            }
        }
        too_long
    }

    /// The unterminated last line at the end of a stream, if any; the framer starts afresh.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.discarding = false;
        self.ends.reset();
        (!self.partial.is_empty()).then(|| std::mem::take(&mut self.partial))
    }

    /// Forgets a partial line: the stream it belonged to is gone and must not be joined to the
    /// next one.
    pub fn reset(&mut self) {
        self.partial.clear();
        self.discarding = false;
        self.ends.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::file::{Line, LineReader};
    use proptest::prelude::*;
    use std::io::Read;

    /// Hands out the stream in the given pieces, one per read.
    struct Pieces(Vec<Vec<u8>>);
    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            // An empty read means the end: pieces left empty by repeated cuts are skipped.
            self.0.retain(|piece| !piece.is_empty());
            if self.0.is_empty() {
                return Ok(0);
            }
            let piece = &mut self.0[0];
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            piece.drain(..n);
            if piece.is_empty() {
                self.0.remove(0);
            }
            Ok(n)
        }
    }

    /// Frames `pieces` as replay does: (lines, empty lines among them, too-long count).
    fn replay(pieces: Vec<Vec<u8>>, max: usize) -> (Vec<Vec<u8>>, usize, u64) {
        let mut reader = LineReader::new(Pieces(pieces), max);
        let (mut lines, mut empty, mut too_long) = (Vec::new(), 0, 0);
        while let Some(line) = reader.next_line().unwrap() {
            match line {
                Line::Text([]) => empty += 1,
                Line::Text(text) => lines.push(text.to_vec()),
                Line::TooLong { .. } => too_long += 1,
            }
        }
        (lines, empty, too_long)
    }

    /// Frames `pieces` as a live source does, its last line included: (lines, too-long count).
    fn live(pieces: &[Vec<u8>], max: usize) -> (Vec<Vec<u8>>, u64) {
        let mut framer = LineFramer::new(max);
        let (mut lines, mut too_long) = (Vec::new(), 0);
        for piece in pieces {
            too_long += framer.push(piece, &mut lines);
        }
        lines.extend(framer.finish());
        (lines, too_long)
    }

    fn cut(stream: &[u8], cuts: impl IntoIterator<Item = usize>) -> Vec<Vec<u8>> {
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([stream.len()]) {
            pieces.push(stream[start..cut].to_vec());
            start = cut;
        }
        pieces
    }

    fn frame(max: usize, chunks: &[&[u8]]) -> (Vec<String>, u64) {
        let mut framer = LineFramer::new(max);
        let mut lines = Vec::new();
        let mut too_long = 0;
        for chunk in chunks {
            too_long += framer.push(chunk, &mut lines);
        }
        let text = lines
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect();
        (text, too_long)
    }

    #[test]
    fn every_line_ending_is_understood_and_empty_lines_skipped() {
        let (lines, too_long) = frame(100, &[b"!AIVDM,a\r\n!AIVDM,b\n\n!AIVDM,c\r!AIVDM,d\r\n"]);
        assert_eq!(lines, ["!AIVDM,a", "!AIVDM,b", "!AIVDM,c", "!AIVDM,d"]);
        assert_eq!(too_long, 0);
    }

    #[test]
    fn lines_are_joined_across_chunks_and_the_tail_waits() {
        let mut framer = LineFramer::new(100);
        let mut lines = Vec::new();
        framer.push(b"!AIV", &mut lines);
        framer.push(b"DM,1\r", &mut lines);
        framer.push(b"\n!AIVDM,2", &mut lines);
        assert_eq!(lines, [b"!AIVDM,1".to_vec()]);
        assert_eq!(framer.finish(), Some(b"!AIVDM,2".to_vec()));
        assert_eq!(framer.finish(), None);
    }

    #[test]
    fn a_line_at_the_bound_passes_and_one_byte_more_is_dropped() {
        let (lines, too_long) = frame(5, &[b"12345\n123456\nok\n"]);
        assert_eq!(lines, ["12345", "ok"]);
        assert_eq!(too_long, 1);
    }

    #[test]
    fn an_endless_line_is_counted_once_before_it_ends_and_memory_stays_bounded() {
        let mut framer = LineFramer::new(10);
        let mut lines = Vec::new();
        let mut too_long = 0;
        for _ in 0..1000 {
            too_long += framer.push(&[0xAB; 7], &mut lines);
            assert!(framer.partial.len() <= 10);
        }
        assert_eq!(too_long, 1, "counted as soon as it passed the bound");
        too_long += framer.push(b"tail\ngood\n", &mut lines);
        assert_eq!(too_long, 1);
        assert_eq!(
            lines,
            [b"good".to_vec()],
            "the tail belonged to the long line"
        );
    }

    #[test]
    fn reset_forgets_the_partial_line() {
        let mut framer = LineFramer::new(10);
        let mut lines = Vec::new();
        framer.push(b"half", &mut lines);
        framer.reset();
        framer.push(b"new\n", &mut lines);
        assert_eq!(lines, [b"new".to_vec()]);
    }

    #[test]
    fn each_line_is_handed_on_with_where_its_ending_stops() {
        let stream = b"ab\r\ncd\n\nef\rgh\r\n";
        let mut expected = Vec::new();
        let mut framer = LineFramer::new(100);
        framer.push_with(stream, |line, past| expected.push((line, past)));
        assert_eq!(
            expected,
            [
                (b"ab".to_vec(), 4),
                (b"cd".to_vec(), 7),
                (b"ef".to_vec(), 11),
                (b"gh".to_vec(), 15)
            ]
        );
        // Cut anywhere, the offsets (from the start of the stream) are the same, except that
        // a `\r\n` split between chunks is a line ending at its `\r`.
        for cut in 0..=stream.len() {
            let mut framer = LineFramer::new(100);
            let mut got = Vec::new();
            framer.push_with(&stream[..cut], |line, past| got.push((line, past)));
            framer.push_with(&stream[cut..], |line, past| got.push((line, cut + past)));
            let wanted: Vec<_> = expected
                .iter()
                .map(|(line, past)| {
                    let split_crlf = cut + 1 == *past && stream[cut - 1..=cut] == *b"\r\n";
                    (line.clone(), if split_crlf { cut } else { *past })
                })
                .collect();
            assert_eq!(got, wanted, "cut at {cut}");
        }
    }

    proptest! {
        // Each case is a whole stream; a hundred keep the debug-build suite quick.
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn framing_does_not_depend_on_how_the_stream_was_cut(
            stream in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(0xFFu8), any::<u8>()],
                0..300,
            ),
            cuts in proptest::collection::vec(0usize..300, 0..12),
            max in 1usize..40,
        ) {
            let mut whole = LineFramer::new(max);
            let mut expected = Vec::new();
            let expected_too_long = whole.push(&stream, &mut expected);
            let expected_tail = whole.finish();

            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            cuts.sort_unstable();
            let mut pieces = LineFramer::new(max);
            let mut got = Vec::new();
            let mut too_long = 0;
            let mut start = 0;
            for cut in cuts.into_iter().chain([stream.len()]) {
                too_long += pieces.push(&stream[start..cut], &mut got);
                start = cut;
            }
            prop_assert_eq!(&got, &expected);
            prop_assert_eq!(too_long, expected_too_long);
            prop_assert_eq!(pieces.finish(), expected_tail);
            for line in &got {
                prop_assert!(!line.is_empty() && line.len() <= max);
                prop_assert!(!line.contains(&b'\n') && !line.contains(&b'\r'));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn replay_and_live_agree_on_any_stream_however_cut(
            stream in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()],
                0..300,
            ),
            cuts in proptest::collection::vec(0usize..300, 0..12),
            max in 1usize..40,
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            cuts.sort_unstable();
            let pieces = cut(&stream, cuts);
            let (replayed, _, replay_too_long) = replay(pieces.clone(), max);
            let (live, live_too_long) = live(&pieces, max);
            prop_assert_eq!(replayed, live);
            prop_assert_eq!(replay_too_long, live_too_long);
        }
    }

    /// The replay reader and the live framer, fed the same bytes cut at awkward places (inside
    /// a `\r\n`, inside the over-long line, right after a lone `\r`), give the same lines and
    /// count the same over-long ones; the replay reader also hands on the empty lines, which
    /// the live framer does not.
    #[test]
    fn replay_and_live_frame_a_stream_alike() {
        let mut stream = b"!AIVDM,a\r\n!AIVDM,b\r\n\r\n!AIVDM,c\r!AIVDM,d\n\n".to_vec();
        stream.extend_from_slice(&[b'x'; 40]);
        stream.extend_from_slice(b"\r\n!AIVDM,e\r\r\n!AIVDM,exactly-20-by\r\n");
        stream.extend_from_slice(b"!AIVDM,twenty-one-byt\n!AIVDM,tail");
        // Between a \r and its \n, right after a lone \r, inside the over-long lines.
        let pieces = cut(&stream, [9, 19, 21, 31, 41, 50, 82, 92, 93, 100, 125, 140]);
        let (replayed, replayed_empty, replay_too_long) = replay(pieces.clone(), 20);
        let (live, live_too_long) = live(&pieces, 20);

        let text = |lines: &[Vec<u8>]| -> Vec<String> {
            lines
                .iter()
                .map(|l| String::from_utf8(l.clone()).unwrap())
                .collect()
        };
        assert_eq!(
            text(&live),
            [
                "!AIVDM,a",
                "!AIVDM,b",
                "!AIVDM,c",
                "!AIVDM,d",
                "!AIVDM,e",
                "!AIVDM,exactly-20-by",
                "!AIVDM,tail"
            ]
        );
        assert_eq!(text(&replayed), text(&live));
        assert_eq!((replay_too_long, live_too_long), (2, 2));
        assert_eq!(replayed_empty, 3, "the empty lines after b, d and e");

        // Numbering every line, as a file source does: an empty line stands for each empty
        // and over-long one, so the n-th line handed on is the replay's line n.
        let mut framer = LineFramer::new(20).numbering_every_line();
        let mut numbered = Vec::new();
        let mut numbered_too_long = 0;
        for piece in &pieces {
            numbered_too_long += framer.push(piece, &mut numbered);
        }
        numbered.extend(framer.finish());
        assert_eq!(numbered_too_long, 2);
        let mut reader = LineReader::new(Pieces(pieces), 20);
        let mut by_number = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            by_number.push(match line {
                Line::Text(text) => String::from_utf8(text.to_vec()).unwrap(),
                Line::TooLong { .. } => String::new(),
            });
        }
        assert_eq!(text(&numbered), by_number);
        assert_eq!(by_number.len(), live.len() + 3 + 2);
    }
}
