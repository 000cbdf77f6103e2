//! File and stdin input for replay and `aisgap decode`: opens a path (plain or gzip, `-` for
//! stdin) and yields its lines as bytes from one reused buffer, framed by the same rules as the
//! live sources (see [`crate::source::framer`]), skipping (and reporting) lines longer than a
//! limit instead of buffering them without bound.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::source::framer::{Cut, LineEnds};

/// Lines longer than this are skipped unless the caller chooses another limit. NMEA allows 82
/// characters; tag blocks and concatenated sentences make real lines a few hundred.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

const READ_CHUNK: usize = 1 << 20;

/// A log that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {path}")]
pub struct OpenError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Opens `path` for reading: `-` is stdin, a `.gz` name is decompressed (all members). The
/// reader can move to another thread (replay decodes each log on its own).
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>, OpenError> {
    if path.as_os_str() == "-" {
        // Unlocked: reads come in large chunks, so locking per read costs nothing measurable.
        return Ok(Box::new(io::stdin()));
    }
    let file = File::open(path).map_err(|source| OpenError {
        path: path.to_path_buf(),
        source,
    })?;
    let gzipped = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
    if gzipped {
        Ok(Box::new(MultiGzDecoder::new(io::BufReader::with_capacity(
            READ_CHUNK, file,
        ))))
    } else {
        Ok(Box::new(file))
    }
}

/// One line as read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line's bytes without its line ending.
    Text(&'a [u8]),
    /// A line over the limit, skipped; `length` is how long it was, without its line ending.
    TooLong { length: usize },
}

/// Splits a byte stream into lines without allocating per line. Unlike [`LineFramer`], it hands
/// on empty lines too: the decoder counts every line of a log, and `aisgap decode` reports
/// those counts per file.
///
/// [`LineFramer`]: crate::source::framer::LineFramer
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max_line: usize,
    ends: LineEnds,
    eof: bool,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R, max_line: usize) -> Self {
        let max_line = max_line.max(1);
        LineReader {
            inner,
            buf: vec![0; READ_CHUNK.max(2 * max_line + 1)],
            start: 0,
            end: 0,
            max_line,
            ends: LineEnds::default(),
            eof: false,
        }
    }

    /// The next line, `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            match self.ends.cut(&self.buf[self.start..self.end]) {
                Cut::Ended { start, end, next } => {
                    let line_start = self.start + start;
                    let length = end - start;
                    self.start += next;
                    if length > self.max_line {
                        return Ok(Some(Line::TooLong { length }));
                    }
                    return Ok(Some(Line::Text(&self.buf[line_start..line_start + length])));
                }
                Cut::Open { start } => self.start += start,
            }
            let pending = self.end - self.start;
            if pending > self.max_line {
                let length = pending + self.skip_past_line_end()?;
                return Ok(Some(Line::TooLong { length }));
            }
            if self.eof {
                if pending == 0 {
                    return Ok(None);
                }
                let line_start = self.start;
                self.start = self.end;
                return Ok(Some(Line::Text(&self.buf[line_start..self.end])));
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Discards the buffered part of an over-long line and the rest of it up to and including
    /// its line ending; returns how many bytes after the buffered part it had.
    fn skip_past_line_end(&mut self) -> io::Result<usize> {
        let mut skipped = 0;
        self.start = 0;
        self.end = 0;
        loop {
            if self.eof {
                return Ok(skipped);
            }
            self.fill()?;
            match self.ends.cut(&self.buf[..self.end]) {
                Cut::Ended { end, next, .. } => {
                    self.start = next;
                    return Ok(skipped + end);
                }
                Cut::Open { .. } => {
                    skipped += self.end;
                    self.end = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<String, usize>> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(match line {
                Line::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
                Line::TooLong { length } => Err(length),
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        assert_eq!(
            lines(b"a\r\nbb\n\nccc", 100),
            [
                Ok("a".into()),
                Ok("bb".into()),
                Ok("".into()),
                Ok("ccc".into())
            ]
        );
        assert!(lines(b"", 100).is_empty());
    }

    #[test]
    fn over_long_lines_are_skipped_and_measured() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * READ_CHUNK));
        input.extend_from_slice(b"\nafter\n");
        assert_eq!(
            lines(&input, 10),
            [Ok("short".into()), Err(3 * READ_CHUNK), Ok("after".into())]
        );
        assert_eq!(lines(b"12345678901\nok", 10), [Err(11), Ok("ok".into())]);
    }

    #[test]
    fn newline_search_agrees_with_a_plain_scan() {
        let text = b"0123456789abcdef\n0123";
        for start in 0..text.len() {
            let hay = &text[start..];
            let found = match LineEnds::default().cut(hay) {
                Cut::Ended { end, .. } => Some(end),
                Cut::Open { .. } => None,
            };
            assert_eq!(found, hay.iter().position(|&b| b == b'\n'));
        }
        assert!(matches!(
            LineEnds::default().cut(&[0x8a, b'\n']),
            Cut::Ended { end: 1, .. }
        ));
    }

    #[test]
    fn gzip_files_are_decompressed() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.nmea.gz");
        let mut gz = GzEncoder::new(File::create(&path).unwrap(), Compression::fast());
        gz.write_all(b"!AIVDM,1\n!AIVDM,2\n").unwrap();
        gz.finish().unwrap();
        let mut reader = LineReader::new(open(&path).unwrap(), 100);
        assert_eq!(reader.next_line().unwrap(), Some(Line::Text(b"!AIVDM,1")));
        assert_eq!(reader.next_line().unwrap(), Some(Line::Text(b"!AIVDM,2")));
        assert_eq!(reader.next_line().unwrap(), None);
        assert!(matches!(
            open(&dir.path().join("missing")),
            Err(OpenError { .. })
        ));
    }
}
