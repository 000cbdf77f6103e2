//! Splitting a CSV line into cells (RFC 4180 quoting, any one-character delimiter) and reading
//! the numbers in them. A row's cells are byte ranges of the line itself; only a cell that
//! holds a quote is copied (unquoted) into a scratch buffer the splitter keeps, so that a row
//! costs no allocation once the first rows have sized the buffers.

/// Where one cell's text is: in the line, or (unquoted) in the splitter's scratch buffer.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    unquoted: bool,
}

/// The cells of the last line split, reused from row to row.
#[derive(Debug, Default)]
pub(super) struct Cells {
    spans: Vec<Span>,
    /// The text of the cells that held a quote, as read (quotes removed, doubled ones halved).
    unquoted: String,
}

/// One split line and its cells.
#[derive(Clone, Copy)]
pub(super) struct Row<'r> {
    line: &'r str,
    cells: &'r Cells,
}

impl<'r> Row<'r> {
    pub(super) fn new(line: &'r str, cells: &'r Cells) -> Row<'r> {
        Row { line, cells }
    }

    pub(super) fn len(&self) -> usize {
        self.cells.spans.len()
    }

    /// The cell's text as read, untrimmed.
    pub(super) fn get(&self, index: usize) -> Option<&'r str> {
        let span = self.cells.spans.get(index)?;
        let text = if span.unquoted {
            &self.cells.unquoted
        } else {
            self.line
        };
        text.get(span.start..span.end)
    }
}

/// The first of `delimiter` or `quote` at or after `from`, and whether it is the quote. Both
/// are whole UTF-8 characters, so a match of their bytes is always the character itself.
#[inline]
fn next_mark(line: &[u8], from: usize, delimiter: &[u8], quote: &[u8]) -> Option<(usize, bool)> {
    let (d, q) = (delimiter[0], quote.first().copied());
    // The usual one-byte delimiter and quote match on their byte alone, without comparing a
    // slice at every cell.
    let single = delimiter.len() == 1 && quote.len() <= 1;
    let q = q.unwrap_or(d);
    let mut at = from;
    while at < line.len() {
        let b = line[at];
        if b == d && (single || line[at..].starts_with(delimiter)) {
            return Some((at, false));
        }
        if b == q && !quote.is_empty() && (single || line[at..].starts_with(quote)) {
            return Some((at, true));
        }
        at += 1;
    }
    None
}

/// Splits one CSV line into `cells` at `delimiter`, honouring RFC 4180 quotes (a doubled
/// quote inside stands for one). A quote opens only where the cell so far is blank; text
/// after a closing quote joins the cell. On an unclosed quote returns the index of the cell
/// it opened.
pub(super) fn split_cells(
    line: &str,
    delimiter: char,
    quote: Option<char>,
    cells: &mut Cells,
) -> Result<(), usize> {
    cells.spans.clear();
    cells.unquoted.clear();
    let (mut d_buf, mut q_buf) = ([0u8; 4], [0u8; 4]);
    let d = delimiter.encode_utf8(&mut d_buf).as_bytes();
    let q: &[u8] = match quote {
        Some(q) => q.encode_utf8(&mut q_buf).as_bytes(),
        None => &[],
    };
    let bytes = line.as_bytes();
    let mut start = 0;
    if d.len() == 1 && q.len() <= 1 {
        match split_unquoted_prefix(bytes, d[0], q.first().copied(), cells) {
            Some(quoted_cell) => start = quoted_cell,
            None => return Ok(()),
        }
    }
    loop {
        match next_mark(bytes, start, d, q) {
            None => {
                cells.spans.push(Span {
                    start,
                    end: bytes.len(),
                    unquoted: false,
                });
                return Ok(());
            }
            Some((at, false)) => {
                cells.spans.push(Span {
                    start,
                    end: at,
                    unquoted: false,
                });
                start = at + d.len();
            }
            Some((_, true)) => {
                let quote = quote.expect("a quote was found, so there is one");
                match unquote_cell(line, start, delimiter, quote, &mut cells.unquoted) {
                    (span, Some(next)) => {
                        cells.spans.push(span);
                        start = next;
                    }
                    (span, None) => {
                        cells.spans.push(span);
                        return Ok(());
                    }
                }
                if start == usize::MAX {
                    return Err(cells.spans.len() - 1);
                }
            }
        }
    }
}

/// Bytes of a machine word, read at once by [`split_unquoted_prefix`].
const WORD: usize = 8;

/// Which bytes of `word` equal the byte broadcast in `pattern`: the high bit of each such
/// byte. No carry crosses a byte, so every bit is exact.
#[inline]
fn matching_bytes(word: u64, pattern: u64) -> u64 {
    const SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ pattern;
    !((x & SEVEN).wrapping_add(SEVEN) | x | SEVEN)
}

/// Splits at the one-byte `delimiter` a word at a time while no `quote` appears: cells are
/// pushed up to the first cell that holds a quote, whose start is returned (`None` when the
/// whole line was split).
#[inline]
fn split_unquoted_prefix(
    bytes: &[u8],
    delimiter: u8,
    quote: Option<u8>,
    cells: &mut Cells,
) -> Option<usize> {
    let broadcast = |b: u8| u64::from(b) * 0x0101_0101_0101_0101;
    let d = broadcast(delimiter);
    let q = quote.map(broadcast);
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let n = WORD.min(bytes.len() - at);
        let word = match bytes.get(at..at + WORD) {
            Some(whole) => u64::from_le_bytes(whole.try_into().expect("a word")),
            None => bytes[at..]
                .iter()
                .rev()
                .fold(0u64, |word, &b| (word << 8) | u64::from(b)),
        };
        let within = if n == WORD { !0 } else { (1u64 << (n * 8)) - 1 };
        let quotes = q.map_or(0, |q| matching_bytes(word, q)) & within;
        let mut delimiters = matching_bytes(word, d) & within;
        if quotes != 0 {
            // Only the delimiters before the first quote end cells of this prefix.
            delimiters &= (quotes & quotes.wrapping_neg()) - 1;
        }
        while delimiters != 0 {
            let found = at + (delimiters.trailing_zeros() / 8) as usize;
            cells.spans.push(Span {
                start,
                end: found,
                unquoted: false,
            });
            start = found + 1;
            delimiters &= delimiters - 1;
        }
        if quotes != 0 {
            return Some(start);
        }
        at += n;
    }
    cells.spans.push(Span {
        start,
        end: bytes.len(),
        unquoted: false,
    });
    None
}

/// Reads the cell starting at `start` that holds a quote, character by character, into
/// `scratch`. Returns its span and where the next cell starts (`None` at the end of the
/// line; `usize::MAX` when the line ends inside quotes).
fn unquote_cell(
    line: &str,
    start: usize,
    delimiter: char,
    quote: char,
    scratch: &mut String,
) -> (Span, Option<usize>) {
    let begin = scratch.len();
    let mut in_quotes = false;
    let mut chars = line[start..].char_indices().peekable();
    let mut next = None;
    while let Some((at, c)) = chars.next() {
        let is_quote = c == quote;
        match (is_quote, in_quotes) {
            (true, true) if chars.peek().map(|&(_, n)| n) == Some(c) => {
                chars.next();
                scratch.push(c);
            }
            (true, true) => in_quotes = false,
            (true, false) if scratch[begin..].trim().is_empty() => {
                scratch.truncate(begin);
                in_quotes = true;
            }
            (false, false) if c == delimiter => {
                next = Some(start + at + c.len_utf8());
                break;
            }
            _ => scratch.push(c),
        }
    }
    let span = Span {
        start: begin,
        end: scratch.len(),
        unquoted: true,
    };
    if in_quotes {
        return (span, Some(usize::MAX));
    }
    (span, next)
}

/// A decimal number; a lone decimal comma (`57,8794` in a quoted cell) is read as a point.
pub(super) fn parse_number(text: &str) -> Option<f64> {
    let value = match simple_decimal(text.as_bytes()) {
        Some(value) => value,
        None if text.contains(',') && !text.contains('.') => {
            text.replacen(',', ".", 1).parse::<f64>().ok()?
        }
        None => text.parse::<f64>().ok()?,
    };
    value.is_finite().then_some(value)
}

/// What `str::parse::<f64>` reads, through the quick path for the common form: for the code
/// columns (statuses, ship types) that may also hold words.
#[inline]
pub(super) fn parse_float(text: &str) -> Option<f64> {
    simple_decimal(text.as_bytes()).or_else(|| text.parse::<f64>().ok())
}

/// The run of ASCII digits at the start of `digits`, read into `mantissa`: how many there are.
#[inline]
fn read_digits(digits: &[u8], mantissa: &mut u64) -> usize {
    let mut count = 0;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        // At most 16 digits are read before the caller refuses the text, so this cannot wrap.
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
        count += 1;
    }
    count
}

/// The common `-12.345678` form, read without the general parser: at most 15 significant
/// digits and 15 decimals, so that the digits and the power of ten are both exact doubles and
/// their quotient is the correctly rounded value (what `str::parse` returns). Anything else
/// is left to `str::parse`.
#[inline]
fn simple_decimal(text: &[u8]) -> Option<f64> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    // Longer texts never take this path, which bounds the digits read below.
    if digits.len() > 16 {
        return None;
    }
    let mut mantissa = 0u64;
    let whole = read_digits(digits, &mut mantissa);
    let decimals = match digits.get(whole) {
        None => 0,
        Some(b'.') => {
            let after = &digits[whole + 1..];
            let decimals = read_digits(after, &mut mantissa);
            if decimals != after.len() {
                return None;
            }
            decimals
        }
        Some(_) => return None,
    };
    // `1.` and `.5` parse; a lone `.` or sign does not, which `str::parse` then says.
    let count = whole + decimals;
    if count == 0 || count > 15 {
        return None;
    }
    // Dividing by 1 changes nothing; whole numbers (headings, types, sizes) skip it.
    let value = if decimals == 0 {
        mantissa as f64
    } else {
        mantissa as f64 / POWERS[decimals]
    };
    Some(if negative { -value } else { value })
}

/// `value.round()` for a number from 0 up to `u32::MAX`, without the library call: the
/// fraction `value - trunc(value)` is exact in this range, so a half rounds up as `round` does.
#[inline]
pub(super) fn round_non_negative(value: f64) -> u32 {
    debug_assert!((0.0..=f64::from(u32::MAX)).contains(&value));
    let whole = value as u32;
    whole + u32::from(value - f64::from(whole) >= 0.5)
}

/// Whether `value`, known to lie from 0 to 255, is a whole number (`value.fract() == 0.0`).
#[inline]
pub(super) fn is_whole_byte(value: f64) -> bool {
    f64::from(value as u8) == value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str, delimiter: char, quote: Option<char>) -> Result<Vec<String>, usize> {
        let mut cells = Cells::default();
        split_cells(line, delimiter, quote, &mut cells)?;
        let row = Row::new(line, &cells);
        Ok((0..row.len())
            .map(|i| row.get(i).unwrap().to_string())
            .collect())
    }

    #[test]
    fn quoted_cells_keep_delimiters_and_doubled_quotes() {
        let cells = split(r#"1,"KAPITAN, ""BELOUSOV""",3"#, ',', Some('"')).unwrap();
        assert_eq!(cells, vec!["1", r#"KAPITAN, "BELOUSOV""#, "3"]);
        assert_eq!(split(r#"1,"open,2"#, ',', Some('"')), Err(1));
        let cells = split("1;'a;b';57,8", ';', Some('\'')).unwrap();
        assert_eq!(cells, vec!["1", "a;b", "57,8"]);
        assert_eq!(parse_number(&cells[2]), Some(57.8));
        let cells = split("1\t\"x\t2", '\t', None).unwrap();
        assert_eq!(cells, vec!["1", "\"x", "2"]);
    }

    #[test]
    fn odd_quoting_reads_as_the_rules_say() {
        // A quote after text is kept; text after a closing quote joins the cell; a blank
        // cell may open a quote after its spaces; empty cells at both ends count.
        assert_eq!(
            split(r#"ab"c,"x"y, "z" ,"",,"#, ',', Some('"')).unwrap(),
            vec![r#"ab"c"#, "xy", "z ", "", "", ""]
        );
        assert_eq!(split("", ',', Some('"')).unwrap(), vec![""]);
        assert_eq!(split(r#"a,"b"#, ',', Some('"')), Err(1));
        assert_eq!(
            split("é§ü§«x§y«", '§', Some('«')).unwrap(),
            vec!["é", "ü", "x§y"]
        );
    }

    /// The splitter as it read cells before they became spans: character by character into
    /// owned strings. The span splitter must give the same cells and the same errors.
    fn reference_split(
        line: &str,
        delimiter: char,
        quote: Option<char>,
    ) -> Result<Vec<String>, usize> {
        let mut cells = vec![String::new()];
        let mut in_quotes = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            let current = cells.len() - 1;
            match (Some(c) == quote, in_quotes) {
                (true, true) if chars.peek() == Some(&c) => {
                    chars.next();
                    cells[current].push(c);
                }
                (true, true) => in_quotes = false,
                (true, false) if cells[current].trim().is_empty() => {
                    cells[current].clear();
                    in_quotes = true;
                }
                (false, false) if c == delimiter => cells.push(String::new()),
                _ => cells[current].push(c),
            }
        }
        if in_quotes {
            Err(cells.len() - 1)
        } else {
            Ok(cells)
        }
    }

    proptest::proptest! {
        #[test]
        fn spans_split_as_the_character_reader_did(
            line in "[a,; \"'é§«]{0,24}",
            delimiter in proptest::sample::select(vec![',', ';', '§']),
            quote in proptest::sample::select(vec![Some('"'), Some('\''), Some('«'), None]),
        ) {
            proptest::prop_assume!(quote != Some(delimiter));
            proptest::prop_assert_eq!(
                split(&line, delimiter, quote),
                reference_split(&line, delimiter, quote)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn the_quick_path_reads_what_the_general_parser_reads(
            text in "[-+]?[0-9]{0,17}([.][0-9]{0,17})?[0-9.e+-]?",
        ) {
            let quick = simple_decimal(text.as_bytes());
            if let Some(value) = quick {
                let general = text.parse::<f64>().expect("the quick path reads only numbers");
                proptest::prop_assert_eq!(value.to_bits(), general.to_bits(), "{}", text);
            }
            proptest::prop_assert_eq!(
                parse_float(&text).map(f64::to_bits),
                text.parse::<f64>().ok().map(f64::to_bits)
            );
        }

        #[test]
        fn coordinates_read_as_the_general_parser_reads_them(
            value in -180.0f64..180.0,
            decimals in 0usize..10,
        ) {
            let text = format!("{value:.decimals$}");
            proptest::prop_assert_eq!(
                parse_number(&text).map(f64::to_bits),
                text.parse::<f64>().ok().map(f64::to_bits)
            );
        }

        #[test]
        fn sizes_round_as_the_library_rounds(value in 0.0f64..4000.0) {
            proptest::prop_assert_eq!(f64::from(round_non_negative(value)), value.round());
            let byte = value / 16.0;
            proptest::prop_assert_eq!(is_whole_byte(byte), byte.fract() == 0.0);
        }
    }

    #[test]
    fn halves_and_whole_numbers_at_the_edges() {
        for value in [
            0.0,
            -0.0,
            0.5,
            0.49999999999999994,
            1.5,
            2.5,
            359.5,
            1999.4999999999998,
            2000.0,
            4_294_967_295.0,
        ] {
            assert_eq!(
                f64::from(round_non_negative(value)),
                value.round(),
                "{value}"
            );
        }
        for value in [
            0.0,
            -0.0,
            1.0,
            15.0,
            99.0,
            255.0,
            0.5,
            98.99999999999999,
            1e-300,
        ] {
            assert_eq!(is_whole_byte(value), value.fract() == 0.0, "{value}");
        }
    }

    #[test]
    fn simple_decimals_read_as_the_general_parser_reads_them() {
        for text in [
            "0",
            "-0",
            "42.190733",
            "-133.602150",
            "1.",
            ".5",
            "+7.25",
            "0.1",
            "999999999999999",
            "0.000000000000001",
            "89.99999999999999",
            "1234567890.12345",
        ] {
            assert_eq!(
                parse_number(text).map(f64::to_bits),
                text.parse::<f64>().ok().map(f64::to_bits),
                "{text}"
            );
        }
        for text in [
            "1e5",
            "1234567890123456789",
            "0.0000000000000001",
            "-",
            ".",
            "1.2.3",
        ] {
            assert_eq!(simple_decimal(text.as_bytes()), None, "{text}");
            assert_eq!(parse_number(text), text.parse::<f64>().ok(), "{text}");
        }
    }
}
