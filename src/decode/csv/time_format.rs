//! How a CSV export writes its times: ISO-8601, Unix seconds or milliseconds, DMA's day-first
//! dates, or a strftime-like pattern (`%Y%m%d_%H%M%S`) for everything else.

use std::cell::Cell;

use crate::time::UnixMillis;

/// One export's way of writing a time cell; all times are UTC unless the text says otherwise
/// (ISO-8601 offsets are honoured).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2024-03-07T04:12:31`, with optional fraction and zone (`iso`).
    Iso,
    /// Unix seconds, optionally with a fraction (`epoch_s`).
    EpochSeconds,
    /// Unix milliseconds (`epoch_ms`).
    EpochMillis,
    /// `31/12/2015 23:59:59`, seconds optional (`day_first`).
    DayFirst,
    /// A pattern of `%Y %m %d %H %M %S %f %%` and literal characters.
    Pattern(Vec<PatternPart>),
}

/// One piece of a time pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternPart {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// Decimal fraction of a second; its first three digits are kept.
    Fraction,
    Literal(char),
}

impl PatternPart {
    /// How many digits the part reads at most (it reads at least one).
    fn max_digits(self) -> usize {
        match self {
            PatternPart::Year => 4,
            PatternPart::Fraction => 9,
            _ => 2,
        }
    }
}

impl TimeFormat {
    /// Reads a format as written in a mapping; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<TimeFormat, String> {
        match text {
            "iso" => Ok(TimeFormat::Iso),
            "epoch_s" => Ok(TimeFormat::EpochSeconds),
            "epoch_ms" => Ok(TimeFormat::EpochMillis),
            "day_first" => Ok(TimeFormat::DayFirst),
            pattern if pattern.contains('%') => parse_pattern(pattern).map(TimeFormat::Pattern),
            other => Err(format!(
                "`{other}` is not a time format: use iso, epoch_s, epoch_ms, day_first or a \
                 pattern such as \"%Y%m%d_%H%M%S\""
            )),
        }
    }

    /// The instant a cell stands for, `None` when the cell is not written this way.
    pub fn read(&self, text: &str) -> Option<UnixMillis> {
        let text = text.trim();
        match self {
            TimeFormat::Iso => UnixMillis::parse_iso8601(text),
            TimeFormat::EpochSeconds => read_epoch_seconds(text),
            TimeFormat::EpochMillis => {
                let ms: i64 = digits_only(text)?.parse().ok()?;
                Some(UnixMillis(ms))
            }
            TimeFormat::DayFirst => parse_day_first(text),
            TimeFormat::Pattern(parts) => read_pattern(parts, text),
        }
    }
}

/// The date of the last ISO time read to the second and the instant its day starts: the rows
/// of one day, which an export keeps together, read only their time of day.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct IsoDay {
    date: [u8; 10],
    start: Option<i64>,
}

impl TimeFormat {
    /// What [`TimeFormat::read`] reads, through `day` for ISO times written to the second.
    pub(super) fn read_through(&self, text: &str, day: &Cell<IsoDay>) -> Option<UnixMillis> {
        let text = text.trim();
        let (TimeFormat::Iso, Some((date, seconds))) = (self, iso_date_and_second(text)) else {
            return self.read(text);
        };
        let known = day.get();
        if let Some(start) = known.start.filter(|_| known.date == *date) {
            return Some(UnixMillis(start + seconds * 1000));
        }
        let time = self.read(text)?;
        day.set(IsoDay {
            date: *date,
            start: Some(time.as_millis() - seconds * 1000),
        });
        Some(time)
    }
}

/// `YYYY-MM-DDTHH:MM:SS` as its date and the second of its day, when the time of day is one
/// [`UnixMillis::from_civil`] takes (hour to 23, minute to 59, second to 60); the date is
/// checked by the full reading that first meets it.
fn iso_date_and_second(text: &str) -> Option<(&[u8; 10], i64)> {
    let bytes = text.as_bytes();
    if bytes.len() != 19
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let two = |at: usize| {
        let (tens, ones) = (
            bytes[at].wrapping_sub(b'0'),
            bytes[at + 1].wrapping_sub(b'0'),
        );
        (tens < 10 && ones < 10).then(|| i64::from(tens * 10 + ones))
    };
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let date = bytes[..10].try_into().ok()?;
    Some((date, hour * 3600 + minute * 60 + second))
}

fn digits_only(text: &str) -> Option<&str> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// `1625165511` or `1625165511.25`; the fraction is read as digits so no float rounding
/// shifts the millisecond.
fn read_epoch_seconds(text: &str) -> Option<UnixMillis> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = digits_only(whole)?.parse().ok()?;
    if !fraction.is_empty() && digits_only(fraction).is_none() {
        return None;
    }
    let mut ms = 0i64;
    for i in 0..3 {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |d| i64::from(d - b'0'));
        ms = ms * 10 + digit;
    }
    Some(UnixMillis(secs.checked_mul(1000)? + ms))
}

fn parse_pattern(pattern: &str) -> Result<Vec<PatternPart>, String> {
    let mut parts = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            parts.push(PatternPart::Literal(c));
            continue;
        }
        let part = match chars.next() {
            Some('Y') => PatternPart::Year,
            Some('m') => PatternPart::Month,
            Some('d') => PatternPart::Day,
            Some('H') => PatternPart::Hour,
            Some('M') => PatternPart::Minute,
            Some('S') => PatternPart::Second,
            Some('f') => PatternPart::Fraction,
            Some('%') => PatternPart::Literal('%'),
            Some(other) => {
                return Err(format!(
                    "`%{other}` in \"{pattern}\" is not a time field: use %Y %m %d %H %M %S %f"
                ))
            }
            None => return Err(format!("\"{pattern}\" ends with a lone `%`")),
        };
        if !matches!(part, PatternPart::Literal(_)) && parts.contains(&part) {
            return Err(format!("\"{pattern}\" has the same field twice"));
        }
        parts.push(part);
    }
    for (needed, what) in [
        (PatternPart::Year, "%Y"),
        (PatternPart::Month, "%m"),
        (PatternPart::Day, "%d"),
    ] {
        if !parts.contains(&needed) {
            return Err(format!("\"{pattern}\" lacks {what}: a time needs its date"));
        }
    }
    Ok(parts)
}

/// Each numeric part reads up to its width of digits, so both `20210701` and `1/7/2021`-like
/// cells parse with the fitting pattern.
fn read_pattern(parts: &[PatternPart], text: &str) -> Option<UnixMillis> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let (mut year, mut month, mut day) = (None, 0, 0);
    let (mut hour, mut minute, mut second, mut millis) = (0, 0, 0, 0);
    for &part in parts {
        if let PatternPart::Literal(c) = part {
            let mut buf = [0u8; 4];
            let lit = c.encode_utf8(&mut buf).as_bytes();
            if !bytes[at..].starts_with(lit) {
                return None;
            }
            at += lit.len();
            continue;
        }
        let run = bytes[at..]
            .iter()
            .take(part.max_digits())
            .take_while(|b| b.is_ascii_digit())
            .count();
        if run == 0 {
            return None;
        }
        let digits = &text[at..at + run];
        at += run;
        let value: u32 = digits.parse().ok()?;
        match part {
            PatternPart::Year => year = Some(i64::from(value)),
            PatternPart::Month => month = value,
            PatternPart::Day => day = value,
            PatternPart::Hour => hour = value,
            PatternPart::Minute => minute = value,
            PatternPart::Second => second = value,
            PatternPart::Fraction => {
                let padded = format!("{digits:0<3}");
                millis = padded[..3].parse().ok()?;
            }
            PatternPart::Literal(_) => unreachable!("literals handled above"),
        }
    }
    if at != bytes.len() {
        return None;
    }
    UnixMillis::from_civil(year?, month, day, hour, minute, second, millis)
}

/// DMA's day-first `31/12/2015 23:59:59` (seconds optional), UTC.
pub fn parse_day_first(text: &str) -> Option<UnixMillis> {
    let (date, time) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    let mut d = date.split('/');
    let day = d.next()?.parse().ok()?;
    let month = d.next()?.parse().ok()?;
    let year = d.next()?.parse().ok()?;
    if d.next().is_some() {
        return None;
    }
    let mut t = time.trim().split([':', '.']);
    let mut part = || -> Option<u32> {
        match t.next() {
            None | Some("") => Some(0),
            Some(s) => s.parse().ok(),
        }
    };
    let (hour, minute, second) = (part()?, part()?, part()?);
    if t.next().is_some() {
        return None;
    }
    UnixMillis::from_civil(year, month, day, hour, minute, second, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> Option<UnixMillis> {
        UnixMillis::parse_iso8601(text)
    }

    #[test]
    fn patterns_read_packed_and_separated_times() {
        let packed = TimeFormat::parse("%Y%m%d_%H%M%S").unwrap();
        assert_eq!(packed.read("20210701_185151"), iso("2021-07-01T18:51:51Z"));
        assert_eq!(packed.read("20210701_185151x"), None);
        assert_eq!(packed.read("20210231_185151"), None, "31 February");
        let us = TimeFormat::parse("%m/%d/%Y %H:%M:%S.%f").unwrap();
        assert_eq!(
            us.read("7/1/2021 18:51:51.25"),
            iso("2021-07-01T18:51:51.250Z")
        );
        let percent = TimeFormat::parse("%Y-%m-%d%%").unwrap();
        assert_eq!(percent.read("2021-07-01%"), iso("2021-07-01T00:00:00Z"));
    }

    #[test]
    fn iso_times_of_a_known_day_read_as_a_full_reading_does() {
        let day = Cell::new(IsoDay::default());
        let texts = [
            "2024-03-04T00:00:31",
            "2024-03-04T23:59:60",
            "2024-03-04 12:30:00",
            "2024-03-04T24:00:00",
            "2024-03-04T12:3a:00",
            "2024-03-05T00:00:00",
            "2024-03-04T07:08:09",
            "2024-02-30T01:00:00",
            "2024-02-30T01:00:01",
            "2024-03-04T07:08:09.5",
            " 2024-03-04T07:08:10 ",
            "2024-03-04T07:08:11Z",
            "1969-12-31T23:59:59",
            "1969-12-31T00:00:01",
        ];
        for text in texts {
            assert_eq!(
                TimeFormat::Iso.read_through(text, &day),
                TimeFormat::Iso.read(text),
                "{text}"
            );
        }
        assert!(day.get().start.is_some());
        let packed = TimeFormat::parse("%Y%m%d_%H%M%S").unwrap();
        assert_eq!(
            packed.read_through("20210701_185151", &day),
            packed.read("20210701_185151")
        );
    }

    proptest::proptest! {
        #[test]
        fn any_iso_second_reads_as_a_full_reading_does(
            days in proptest::collection::vec((1990i64..2040, 1u32..13, 1u32..32), 1..4),
            times in proptest::collection::vec((0u32..26, 0u32..62, 0u32..62), 1..12),
        ) {
            let day = Cell::new(IsoDay::default());
            for (i, (hour, minute, second)) in times.iter().enumerate() {
                let (year, month, date) = days[i % days.len()];
                let text = format!("{year:04}-{month:02}-{date:02}T{hour:02}:{minute:02}:{second:02}");
                proptest::prop_assert_eq!(
                    TimeFormat::Iso.read_through(&text, &day),
                    TimeFormat::Iso.read(&text),
                    "{}", text
                );
            }
        }
    }

    #[test]
    fn epochs_read_without_float_rounding() {
        assert_eq!(
            TimeFormat::EpochSeconds.read("1625165511.123"),
            Some(UnixMillis(1_625_165_511_123))
        );
        assert_eq!(
            TimeFormat::EpochSeconds.read("1625165511"),
            Some(UnixMillis(1_625_165_511_000))
        );
        assert_eq!(TimeFormat::EpochSeconds.read("1.6e9"), None);
        assert_eq!(
            TimeFormat::EpochMillis.read("1625165511123"),
            Some(UnixMillis(1_625_165_511_123))
        );
        assert_eq!(TimeFormat::EpochMillis.read("-5"), None);
    }

    #[test]
    fn bad_formats_say_what_is_wrong() {
        for (format, says) in [
            ("unix", "is not a time format"),
            ("%Y%m%d_%H%M%q", "`%q`"),
            ("%Y%m%d%", "lone `%`"),
            ("%H:%M:%S", "lacks %Y"),
            ("%Y%m%d%Y", "same field twice"),
        ] {
            let error = TimeFormat::parse(format).unwrap_err();
            assert!(error.contains(says), "{format}: {error}");
        }
    }

    #[test]
    fn day_first_dates_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_day_first("01/03/2024 00:00:00"),
            iso("2024-03-01T00:00:00Z")
        );
        assert_eq!(
            parse_day_first("31/12/2015 23:59:59"),
            iso("2015-12-31T23:59:59Z")
        );
        assert_eq!(parse_day_first("2024-03-01 00:00:00"), None);
        assert_eq!(parse_day_first("31/02/2024 00:00:00"), None);
    }
}
