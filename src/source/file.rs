//! File and stdin input for replay and `aisgap decode`: opens a path (plain or gzip, `-` for
//! stdin) and yields its lines as bytes from one reused buffer, framed by the same rules as the
//! live sources (see [`crate::source::framer`]), skipping (and reporting) lines longer than a
//! limit instead of buffering them without bound.
//!
//! Gzip is recognised by its magic bytes, never by the name: renamed archives and archives
//! piped on stdin are common. A compressed stream that breaks (a truncated download, a corrupt
//! member) fails with a [`GzipBreak`] saying where in the compressed bytes it broke; every line
//! decompressed before the break has been handed out by then.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use crate::source::framer::{Cut, LineEnds};

/// Lines longer than this are skipped unless the caller chooses another limit. NMEA allows 82
/// characters; tag blocks and concatenated sentences make real lines a few hundred.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

const READ_CHUNK: usize = 1 << 20;

/// The first two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A log that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {path}")]
pub struct OpenError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// A gzip stream that broke before its end; carried inside the [`io::Error`] a read returns
/// (find it with [`GzipBreak::of`]).
#[derive(Debug, thiserror::Error)]
#[error("gzip stream broken at compressed byte {offset}: {cause}")]
pub struct GzipBreak {
    /// Compressed bytes the decompressor had consumed when it failed: for a truncated file,
    /// its length.
    pub offset: u64,
    pub cause: String,
}

impl GzipBreak {
    /// The break behind a read error, if it was one.
    pub fn of(error: &io::Error) -> Option<&GzipBreak> {
        error.get_ref()?.downcast_ref::<GzipBreak>()
    }
}

/// Opens `path` for reading: `-` is stdin; gzip content (all members) is decompressed,
/// whatever the name. The reader can move to another thread (replay decodes each log on its
/// own).
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>, OpenError> {
    let open_error = |source| OpenError {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        // Unlocked: reads come in large chunks, so locking per read costs nothing measurable.
        return sniffed(io::stdin()).map_err(open_error);
    }
    let file = File::open(path).map_err(open_error)?;
    sniffed(file).map_err(open_error)
}

/// Whether `file` holds gzip data (by its first bytes); it is left at its start.
pub fn gzipped(file: &mut File) -> io::Result<bool> {
    let mut head = [0u8; GZIP_MAGIC.len()];
    let got = read_head(file, &mut head)?;
    file.seek(io::SeekFrom::Start(0))?;
    Ok(head[..got] == GZIP_MAGIC)
}

/// Fills `head` from `inner` as far as it goes; how many bytes it got.
fn read_head(inner: &mut impl Read, head: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < head.len() {
        match inner.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// `inner` as it is, or decompressed when it starts with the gzip magic. The bytes read to
/// look are put back in front: stdin cannot seek.
fn sniffed<R: Read + Send + 'static>(mut inner: R) -> io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; GZIP_MAGIC.len()];
    let got = read_head(&mut inner, &mut head)?;
    let whole = io::Cursor::new(head[..got].to_vec()).chain(inner);
    if head[..got] == GZIP_MAGIC {
        Ok(Box::new(Gunzip::new(whole)))
    } else {
        Ok(Box::new(whole))
    }
}

/// Counts the bytes read through it, so that a break can say where it happened.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// A gzip decompressor whose errors say at which compressed byte the stream broke.
struct Gunzip<R> {
    decoder: MultiGzDecoder<BufReader<Counted<R>>>,
}

impl<R: Read> Gunzip<R> {
    fn new(inner: R) -> Self {
        let counted = Counted { inner, read: 0 };
        Gunzip {
            decoder: MultiGzDecoder::new(BufReader::with_capacity(READ_CHUNK, counted)),
        }
    }

    fn consumed(&self) -> u64 {
        let buffered = self.decoder.get_ref();
        buffered.get_ref().read - buffered.buffer().len() as u64
    }
}

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.decoder.read(buf).map_err(|error| {
            if error.kind() == io::ErrorKind::Interrupted || GzipBreak::of(&error).is_some() {
                return error;
            }
            let kind = match error.kind() {
                io::ErrorKind::UnexpectedEof => io::ErrorKind::UnexpectedEof,
                _ => io::ErrorKind::InvalidData,
            };
            io::Error::new(
                kind,
                GzipBreak {
                    offset: self.consumed(),
                    cause: error.to_string(),
                },
            )
        })
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
    /// Bytes read from `inner` so far: with the buffer's indices, where a line starts in it.
    read_total: u64,
}

/// Where the next line lies, without borrowing the buffer.
enum Span {
    Text {
        at: u64,
        start: usize,
        length: usize,
    },
    TooLong {
        at: u64,
        length: usize,
    },
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
            read_total: 0,
        }
    }

    /// The next line, `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        Ok(self.next_line_at()?.map(|(_, line)| line))
    }

    /// The next line and the byte offset of its first byte in the input.
    pub fn next_line_at(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        Ok(match self.next_span()? {
            None => None,
            Some(Span::Text { at, start, length }) => {
                Some((at, Line::Text(&self.buf[start..start + length])))
            }
            Some(Span::TooLong { at, length }) => Some((at, Line::TooLong { length })),
        })
    }

    /// The input offset of buffer index `index`.
    fn offset_of(&self, index: usize) -> u64 {
        self.read_total - (self.end - index) as u64
    }

    fn next_span(&mut self) -> io::Result<Option<Span>> {
        loop {
            match self.ends.cut(&self.buf[self.start..self.end]) {
                Cut::Ended { start, end, next } => {
                    let line_start = self.start + start;
                    let at = self.offset_of(line_start);
                    let length = end - start;
                    self.start += next;
                    if length > self.max_line {
                        return Ok(Some(Span::TooLong { at, length }));
                    }
                    return Ok(Some(Span::Text {
                        at,
                        start: line_start,
                        length,
                    }));
                }
                Cut::Open { start } => self.start += start,
            }
            let pending = self.end - self.start;
            if pending > self.max_line {
                let at = self.offset_of(self.start);
                let length = pending + self.skip_past_line_end()?;
                return Ok(Some(Span::TooLong { at, length }));
            }
            if self.eof {
                if pending == 0 {
                    return Ok(None);
                }
                let line_start = self.start;
                self.start = self.end;
                return Ok(Some(Span::Text {
                    at: self.offset_of(line_start),
                    start: line_start,
                    length: self.end - line_start,
                }));
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
                    self.read_total += n as u64;
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
    fn each_line_knows_where_it_starts_whatever_its_ending() {
        let text = b"a\r\nbb\n\nccc";
        let mut reader = LineReader::new(&text[..], 100);
        let mut starts = Vec::new();
        while let Some((at, line)) = reader.next_line_at().unwrap() {
            let Line::Text(bytes) = line else {
                panic!("no line is too long")
            };
            assert_eq!(&text[at as usize..at as usize + bytes.len()], bytes);
            starts.push(at);
        }
        assert_eq!(starts, [0, 3, 6, 7]);
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

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn read_lines(reader: Box<dyn Read + Send>) -> (Vec<String>, Option<io::Error>) {
        let mut reader = LineReader::new(reader, 100);
        let mut out = Vec::new();
        loop {
            match reader.next_line() {
                Ok(Some(Line::Text(t))) => out.push(String::from_utf8_lossy(t).into_owned()),
                Ok(Some(Line::TooLong { .. })) => out.push("(too long)".into()),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// Hands out one byte per read, as a slow pipe may.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }

    #[test]
    fn gzip_is_recognised_by_content_whatever_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let packed = gzip(b"!AIVDM,1\n!AIVDM,2\n");
        let plain = b"!AIVDM,1\n!AIVDM,2\n".to_vec();
        for (name, bytes) in [
            ("feed.nmea.gz", &packed),
            ("renamed.log", &packed),
            ("not-really.gz", &plain),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let (lines, error) = read_lines(open(&path).unwrap());
            assert_eq!(lines, ["!AIVDM,1", "!AIVDM,2"], "{name}");
            assert!(error.is_none(), "{name}: {error:?}");
        }
        assert!(matches!(
            open(&dir.path().join("missing")),
            Err(OpenError { .. })
        ));
    }

    #[test]
    fn sniffing_loses_no_byte_of_a_slow_stream() {
        for bytes in [
            gzip(b"a\nb\n"),
            b"a\nb\n".to_vec(),
            b"a".to_vec(),
            Vec::new(),
        ] {
            let expected = read_lines(Box::new(io::Cursor::new(
                if bytes.starts_with(&GZIP_MAGIC) {
                    b"a\nb\n".to_vec()
                } else {
                    bytes.clone()
                },
            )))
            .0;
            let (lines, error) = read_lines(sniffed(Trickle(bytes, 0)).unwrap());
            assert_eq!(lines, expected);
            assert!(error.is_none());
        }
    }

    #[test]
    fn a_truncated_gzip_hands_out_its_lines_then_says_where_it_broke() {
        let text: String = (0..5000).map(|i| format!("!AIVDM,line {i}\n")).collect();
        let packed = gzip(text.as_bytes());
        let cut = &packed[..packed.len() * 2 / 3];
        let (lines, error) = read_lines(sniffed(io::Cursor::new(cut.to_vec())).unwrap());
        let error = error.expect("the break is an error");
        let broken = GzipBreak::of(&error).expect("a gzip break");
        assert_eq!(broken.offset, cut.len() as u64, "{broken}");
        assert!(lines.len() > 1000 && lines.len() < 5000, "{}", lines.len());
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line, &format!("!AIVDM,line {i}"));
        }
    }
}
