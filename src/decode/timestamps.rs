//! Timestamps carried outside tag blocks: a leading log column, Gatehouse `$PGHP` lines, and
//! the `,station,epoch` trailer after a sentence's checksum.

use crate::decode::nmea::{hex_byte, xor_checksum};
use crate::decode::tagblock::parse_u64;
use crate::time::UnixMillis;

/// Epoch numbers above this are milliseconds.
const MILLIS_THRESHOLD: u64 = 100_000_000_000;

/// Parses a leading log column: Unix seconds (decimals allowed), Unix milliseconds, or an
/// ISO-8601 date-time. `prefix` is everything before the sentence; separators around it
/// (space, tab, comma, semicolon) are ignored.
pub fn parse_leading_time(prefix: &[u8]) -> Option<UnixMillis> {
    let is_sep = |b: &u8| matches!(b, b' ' | b'\t' | b',' | b';');
    let start = prefix.iter().position(|b| !is_sep(b))?;
    let end = prefix.iter().rposition(|b| !is_sep(b))? + 1;
    let text = &prefix[start..end];
    if text.first()?.is_ascii_digit() && text.get(4) != Some(&b'-') {
        return parse_epoch(text);
    }
    UnixMillis::parse_iso8601(std::str::from_utf8(text).ok()?)
}

/// Unix seconds with optional decimals, or milliseconds when the number is that large.
pub fn parse_epoch(text: &[u8]) -> Option<UnixMillis> {
    let (whole, frac) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &text[text.len()..]),
    };
    let n = parse_u64(whole)?;
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if n > MILLIS_THRESHOLD {
        return i64::try_from(n).ok().map(UnixMillis);
    }
    let mut millis = 0i64;
    for i in 0..3 {
        millis = millis * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    Some(UnixMillis(n as i64 * 1000 + millis))
}

/// What follows a sentence's checksum in libais, USCG NAIS and exactEarth logs
/// (`,b003669712,1241544035`, `,d-109,S2105,t050056.00,T56.13718694,r003669946,1325394060,1325394001`
/// or `,1328133720012`).
///
/// NAIS fields: `d` signal strength (dBm), `S` slot, `t` receive time of day (`hhmmss.ss`), `T`
/// seconds within the minute, `r` / `b` the receiver, then Unix times. Of NAIS's two trailing
/// times the first agrees with `t` (0-4 s after it on the USCG lines) and the second lies about a
/// minute earlier: the line's time is the epoch whose time of day is nearest `t`, else the first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trailer<'a> {
    /// A receiver id field: `r...` (receiver) or `b...` (base station) followed by digits or
    /// letters.
    pub station: Option<&'a [u8]>,
    /// The line's Unix time (10 digits: seconds, 13: milliseconds).
    pub time: Option<UnixMillis>,
}

const DAY_MS: i64 = 86_400_000;

/// `rest` starts with the comma after the checksum.
pub fn parse_trailer(rest: &[u8]) -> Trailer<'_> {
    let mut trailer = Trailer::default();
    let mut time_of_day = None;
    let mut epochs = [None; 4];
    let mut count = 0;
    for field in rest.split(|&b| b == b',') {
        let field = trim(field);
        if field.is_empty() {
            continue;
        }
        if trailer.station.is_none()
            && matches!(field[0], b'r' | b'b')
            && field.len() >= 4
            && field[1..].iter().all(u8::is_ascii_alphanumeric)
            && field[1..].iter().any(u8::is_ascii_digit)
        {
            trailer.station = Some(field);
        } else if field[0] == b't' && time_of_day.is_none() {
            time_of_day = parse_time_of_day(&field[1..]);
        } else if matches!(field.len(), 10 | 13) && field.iter().all(u8::is_ascii_digit) {
            if let (Some(slot), Some(t)) = (epochs.get_mut(count), parse_epoch(field)) {
                *slot = Some(t);
                count += 1;
            }
        }
    }
    let epochs = epochs.iter().flatten();
    trailer.time = match time_of_day {
        Some(tod) => epochs.min_by_key(|t| {
            let off = (t.as_millis().rem_euclid(DAY_MS) - tod).rem_euclid(DAY_MS);
            off.min(DAY_MS - off)
        }),
        None => epochs.into_iter().next(),
    }
    .copied();
    trailer
}

/// `hhmmss` or `hhmmss.ss` as milliseconds into the day.
fn parse_time_of_day(text: &[u8]) -> Option<i64> {
    let digits = |r: std::ops::Range<usize>| text.get(r).and_then(parse_u64).map(|n| n as i64);
    let (h, m, s) = (digits(0..2)?, digits(2..4)?, digits(4..6)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let millis = match text.get(6) {
        Some(b'.') => text[7..]
            .iter()
            .chain(b"000")
            .take(3)
            .try_fold(0i64, |m, d| {
                d.is_ascii_digit().then(|| m * 10 + i64::from(d - b'0'))
            })?,
        Some(_) => return None,
        None => 0,
    };
    Some(((h * 60 + m) * 60 + s) * 1000 + millis)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// A Gatehouse `$PGHP,1,YYYY,M,D,h,m,s,ms,country,region,pss,online,hh*cs` line: the time a
/// message was received, and (last field) the XOR of that message's sentence checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gatehouse {
    pub time: UnixMillis,
    pub message_checksum: Option<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatehouseError {
    MissingChecksum,
    BadChecksum,
    /// Not type 1, or a date-time field out of range.
    BadField(&'static str),
}

impl GatehouseError {
    pub fn detail(&self) -> &'static str {
        match self {
            GatehouseError::MissingChecksum => "$PGHP without *hh checksum",
            GatehouseError::BadChecksum => "$PGHP checksum does not match",
            GatehouseError::BadField(what) => what,
        }
    }
}

/// Parses a line starting with `$PGHP,`.
pub fn parse_pghp(line: &[u8]) -> Result<Gatehouse, GatehouseError> {
    let star = line
        .iter()
        .position(|&b| b == b'*')
        .ok_or(GatehouseError::MissingChecksum)?;
    let stated = line
        .get(star + 1..)
        .and_then(hex_byte)
        .ok_or(GatehouseError::MissingChecksum)?;
    if xor_checksum(&line[1..star]) != stated {
        return Err(GatehouseError::BadChecksum);
    }
    let mut fields = line[6..star].split(|&b| b == b',');
    let mut number = || -> Result<u32, GatehouseError> {
        let field = fields
            .next()
            .ok_or(GatehouseError::BadField("$PGHP has too few fields"))?;
        parse_u64(field)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(GatehouseError::BadField(
                "$PGHP date-time field is not a number",
            ))
    };
    if number()? != 1 {
        return Err(GatehouseError::BadField("$PGHP is not message type 1"));
    }
    let (year, month, day) = (number()?, number()?, number()?);
    let (hour, minute, second, millis) = (number()?, number()?, number()?, number()?);
    let time = UnixMillis::from_civil(i64::from(year), month, day, hour, minute, second, millis)
        .ok_or(GatehouseError::BadField("$PGHP date-time out of range"))?;
    // Country, region, PSS MMSI, online flag, then the checksum of the message it times.
    let last = line[6..star].rsplit(|&b| b == b',').next().unwrap_or(&[]);
    let field_count = line[6..star].split(|&b| b == b',').count();
    let message_checksum = if field_count >= 13 && last.len() == 2 {
        hex_byte(last)
    } else {
        None
    };
    Ok(Gatehouse {
        time,
        message_checksum,
    })
}

/// How many lines a `$PGHP` waits for its message before it is forgotten.
const GATEHOUSE_MAX_AGE_LINES: u64 = 16;
const GATEHOUSE_QUEUE: usize = 8;

/// Recent `$PGHP` lines waiting for their message. Gatehouse servers (and satellite feeds
/// relayed through them) do not always put the `$PGHP` right before its sentence; its last
/// field, the XOR of the message's sentence checksums, says which message it times.
#[derive(Debug, Default)]
pub struct GatehouseQueue {
    entries: Vec<(u64, Gatehouse)>,
}

impl GatehouseQueue {
    pub fn push(&mut self, line_no: u64, gatehouse: Gatehouse) {
        if self.entries.len() == GATEHOUSE_QUEUE {
            self.entries.remove(0);
        }
        self.entries.push((line_no, gatehouse));
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The time for a message whose sentence checksums XOR to `checksum`, taken out of the
    /// queue. A `$PGHP` without that field times only a message that starts on the very next
    /// line (`first_line`).
    pub fn take(&mut self, now_line: u64, first_line: u64, checksum: u8) -> Option<UnixMillis> {
        self.entries
            .retain(|(line, _)| now_line.saturating_sub(*line) <= GATEHOUSE_MAX_AGE_LINES);
        let index = self
            .entries
            .iter()
            .rposition(|(line, g)| match g.message_checksum {
                Some(c) => c == checksum,
                None => *line + 1 == first_line,
            })?;
        Some(self.entries.remove(index).1.time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_columns_in_the_forms_logs_use() {
        let t = UnixMillis::from_secs(1_711_929_600);
        assert_eq!(
            parse_leading_time(b"1711929600.25 "),
            Some(UnixMillis(t.0 + 250))
        );
        assert_eq!(parse_leading_time(b"1711929600"), Some(t));
        assert_eq!(parse_leading_time(b"1711929600000;"), Some(t));
        assert_eq!(parse_leading_time(b"2024-04-01T00:00:00Z,"), Some(t));
        assert_eq!(parse_leading_time(b"2024-04-01 09:00:00+09:00\t"), Some(t));
        assert_eq!(parse_leading_time(b"receiver7 "), None);
        assert_eq!(parse_leading_time(b"  "), None);
    }

    #[test]
    fn trailers_give_station_and_epoch() {
        let t = parse_trailer(b",b003669712,1241544035");
        assert_eq!(t.station, Some(&b"b003669712"[..]));
        assert_eq!(t.time, Some(UnixMillis::from_secs(1_241_544_035)));
        let t = parse_trailer(b",d-093,S2212,t235959.00,T59.00339837,r09STOL1,1272844797");
        assert_eq!(t.station, Some(&b"r09STOL1"[..]));
        assert_eq!(t.time, Some(UnixMillis::from_secs(1_272_844_797)));
        let t = parse_trailer(b",1328133720012");
        assert_eq!(t.time, Some(UnixMillis(1_328_133_720_012)));
        let t = parse_trailer(b",s36310,d-081,T59.01777335");
        assert_eq!(t, Trailer::default());
    }

    #[test]
    fn nais_trailers_take_the_epoch_that_agrees_with_their_time_of_day() {
        let t =
            parse_trailer(b",d-109,S2105,t050056.00,T56.13718694,r003669946,1325394060,1325394001");
        assert_eq!(t.station, Some(&b"r003669946"[..]));
        assert_eq!(t.time, Some(UnixMillis::from_secs(1_325_394_060)));
        // The same with the epochs swapped: still the one a few seconds after `t`.
        let t = parse_trailer(b",t050056.00,r003669946,1325394001,1325394060");
        assert_eq!(t.time, Some(UnixMillis::from_secs(1_325_394_060)));
        // Just before midnight, an epoch just after it is the near one.
        let t = parse_trailer(b",t235959.00,r1,1325462401,1325462300");
        assert_eq!(t.time, Some(UnixMillis::from_secs(1_325_462_401)));
        assert_eq!(parse_time_of_day(b"050056.25"), Some(18_056_250));
        assert_eq!(parse_time_of_day(b"250056"), None);
    }

    #[test]
    fn pghp_gives_time_and_message_checksum() {
        let g = parse_pghp(b"$PGHP,1,2010,6,11,11,46,11,929,244,0,,1,72*21").unwrap();
        assert_eq!(
            g.time,
            UnixMillis::from_civil(2010, 6, 11, 11, 46, 11, 929).unwrap()
        );
        assert_eq!(g.message_checksum, Some(0x72));
        assert_eq!(
            parse_pghp(b"$PGHP,1,2010,6,11,11,46,11,929,244,0,,1,72*22"),
            Err(GatehouseError::BadChecksum)
        );
    }

    #[test]
    fn queue_matches_by_checksum_then_forgets() {
        let mut q = GatehouseQueue::default();
        let at = |s| Gatehouse {
            time: UnixMillis::from_secs(s),
            message_checksum: Some(s as u8),
        };
        q.push(1, at(0x4D));
        q.push(2, at(0x35));
        assert_eq!(q.take(3, 3, 0x4D), Some(UnixMillis::from_secs(0x4D)));
        assert_eq!(q.take(3, 3, 0x4D), None, "each $PGHP times one message");
        assert_eq!(q.take(40, 40, 0x35), None, "too old");
        q.push(
            50,
            Gatehouse {
                time: UnixMillis(7),
                message_checksum: None,
            },
        );
        assert_eq!(q.take(52, 52, 0x11), None, "not adjacent");
        q.push(
            60,
            Gatehouse {
                time: UnixMillis(8),
                message_checksum: None,
            },
        );
        assert_eq!(q.take(61, 61, 0x11), Some(UnixMillis(8)));
    }
}
