//! Event time: UTC milliseconds since the Unix epoch, and the few calendar conversions AIS
//! formats need (ISO-8601, Gatehouse `$PGHP`, day-first CSV dates). All of it is pure but
//! [`now`], the one reading of the wall clock in the crate: the I/O stages (sources, service,
//! API) call it, the pure stages never do.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant in milliseconds since 1970-01-01T00:00:00Z.
///
/// Serialised as ISO-8601 (`2024-03-07T12:00:00Z`, with `.sss` only when non-zero) so that
/// every output an analyst reads shows a human date, and parsed from the same form or from
/// Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMillis(pub i64);

pub const MILLIS_PER_HOUR: i64 = 3_600_000;
pub const MILLIS_PER_DAY: i64 = 24 * MILLIS_PER_HOUR;

/// The wall clock now: the receive time of live lines, the age of data for health checks, the
/// time a checkpoint was saved. A clock set before 1970 reads as the epoch.
pub fn now() -> UnixMillis {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UnixMillis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}

/// The latest Unix second a user may give as a time bound: 9999-12-31T23:59:59Z, the last
/// instant ISO-8601's four-digit years can name.
pub const MAX_USER_SECS: i64 = 253_402_300_799;

impl UnixMillis {
    pub const fn from_secs(secs: i64) -> Self {
        UnixMillis(secs * 1000)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Hours from `self` to `later` (negative when `later` is earlier).
    pub fn hours_until(self, later: UnixMillis) -> f64 {
        (later.0 - self.0) as f64 / MILLIS_PER_HOUR as f64
    }

    pub fn plus_hours(self, hours: f64) -> UnixMillis {
        UnixMillis(self.0 + (hours * MILLIS_PER_HOUR as f64).round() as i64)
    }

    /// The start of the UTC hour containing this instant.
    pub const fn hour_floor(self) -> UnixMillis {
        UnixMillis(self.0.div_euclid(MILLIS_PER_HOUR) * MILLIS_PER_HOUR)
    }

    /// Builds an instant from UTC calendar fields; `None` when a field is out of range.
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        millis: u32,
    ) -> Option<UnixMillis> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
            || millis > 999
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        Some(UnixMillis(secs * 1000 + i64::from(millis)))
    }

    /// UTC calendar fields: (year, month, day, hour, minute, second, millis).
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let secs = self.0.div_euclid(1000);
        let millis = self.0.rem_euclid(1000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, sod / 3600, sod / 60 % 60, sod % 60, millis)
    }

    /// `YYYY-MM` of this instant, the key of monthly tallies.
    pub fn month_key(self) -> String {
        let (y, m, ..) = self.to_civil();
        format!("{y:04}-{m:02}")
    }

    /// Parses ISO-8601 / RFC 3339 date-times as found in AIS logs and CSV exports:
    /// `2024-03-07T12:00:00Z`, `2024-03-07 12:00:00`, `2024-03-07T12:00:00.250+09:00`,
    /// `2024-03-07` (midnight). A missing zone means UTC.
    pub fn parse_iso8601(text: &str) -> Option<UnixMillis> {
        let s = text.trim().as_bytes();
        if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
            return None;
        }
        let year = digits(&s[0..4])? as i64;
        let month = digits(&s[5..7])?;
        let day = digits(&s[8..10])?;
        let mut rest = &s[10..];
        let (mut hour, mut minute, mut second, mut millis) = (0, 0, 0, 0);
        if !rest.is_empty() {
            if !matches!(rest[0], b'T' | b't' | b' ') || rest.len() < 6 || rest[3] != b':' {
                return None;
            }
            hour = digits(&rest[1..3])?;
            minute = digits(&rest[4..6])?;
            rest = &rest[6..];
            if rest.first() == Some(&b':') {
                second = digits(rest.get(1..3)?)?;
                rest = &rest[3..];
            }
            if matches!(rest.first(), Some(b'.') | Some(b',')) {
                let frac_len = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
                if frac_len == 0 {
                    return None;
                }
                let frac = &rest[1..1 + frac_len];
                let mut ms = 0u32;
                for i in 0..3 {
                    ms = ms * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
                }
                millis = ms;
                rest = &rest[1 + frac_len..];
            }
        }
        let offset_minutes: i64 = match rest {
            [] | [b'Z'] | [b'z'] => 0,
            [sign @ (b'+' | b'-'), zone @ ..] => {
                let (h, m) = match zone {
                    [h1, h2] => (digits(&[*h1, *h2])?, 0),
                    [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                        (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                    }
                    _ => return None,
                };
                let total = i64::from(h * 60 + m);
                if *sign == b'-' {
                    -total
                } else {
                    total
                }
            }
            _ => return None,
        };
        let local = UnixMillis::from_civil(year, month, day, hour, minute, second, millis)?;
        Some(UnixMillis(local.0 - offset_minutes * 60_000))
    }

    /// Parses what a user may type for a time bound: ISO-8601 or Unix seconds.
    pub fn parse_user(text: &str) -> Option<UnixMillis> {
        let t = text.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse::<i64>()
                .ok()
                .filter(|secs| *secs <= MAX_USER_SECS)
                .map(UnixMillis::from_secs);
        }
        UnixMillis::parse_iso8601(t)
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    let mut value = 0u32;
    for b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Some(value)
}

pub fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// Howard Hinnant's days-from-civil algorithm: exact for the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s, ms) = self.to_civil();
        if ms == 0 {
            write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        } else {
            write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
        }
    }
}

impl Serialize for UnixMillis {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UnixMillis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        UnixMillis::parse_user(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a date-time: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_across_leap_days_and_centuries() {
        for &(y, m, d) in &[
            (1970, 1, 1),
            (2000, 2, 29),
            (2024, 2, 29),
            (2100, 3, 1),
            (1969, 12, 31),
        ] {
            let t = UnixMillis::from_civil(y, m, d, 13, 14, 15, 16).unwrap();
            assert_eq!(t.to_civil(), (y, m, d, 13, 14, 15, 16));
        }
        assert_eq!(UnixMillis::from_civil(2023, 2, 29, 0, 0, 0, 0), None);
    }

    #[test]
    fn parses_the_iso_forms_seen_in_logs() {
        let t = UnixMillis::from_secs(1_711_929_600); // 2024-04-01T00:00:00Z
        assert_eq!(UnixMillis::parse_iso8601("2024-04-01T00:00:00Z"), Some(t));
        assert_eq!(UnixMillis::parse_iso8601("2024-04-01 00:00:00"), Some(t));
        assert_eq!(
            UnixMillis::parse_iso8601("2024-04-01T09:00:00+09:00"),
            Some(t)
        );
        assert_eq!(
            UnixMillis::parse_iso8601("2024-03-31T23:30:00-0030"),
            Some(t)
        );
        assert_eq!(UnixMillis::parse_iso8601("2024-04-01"), Some(t));
        assert_eq!(
            UnixMillis::parse_iso8601("2024-04-01T00:00:00.25Z"),
            Some(UnixMillis(t.0 + 250))
        );
        assert_eq!(UnixMillis::parse_iso8601("2024-13-01T00:00:00Z"), None);
        assert_eq!(UnixMillis::parse_iso8601("2024-04-01T00:00:00Q"), None);
        assert_eq!(UnixMillis::parse_user("1711929600"), Some(t));
    }

    #[test]
    fn displays_iso_and_month_keys() {
        let t = UnixMillis::from_secs(1_711_929_600);
        assert_eq!(t.to_string(), "2024-04-01T00:00:00Z");
        assert_eq!(UnixMillis(t.0 + 5).to_string(), "2024-04-01T00:00:00.005Z");
        assert_eq!(UnixMillis(t.0 - 1).month_key(), "2024-03");
        assert_eq!(UnixMillis(t.0 + 1_234_567).hour_floor(), t);
    }
}
