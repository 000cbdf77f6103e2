//! NMEA 4.10 tag blocks (`\c:1711929600,s:station,g:1-2-3985*hh\`): their checksum and the
//! three fields aisgap uses: `c:` time, `s:` station and `g:` fragment group.

use crate::bytes::find_byte;
use crate::decode::nmea::{hex_byte, xor_checksum};
use crate::time::UnixMillis;

/// `c:` values above this are milliseconds (10^11 s is in the year 5138).
const MILLIS_THRESHOLD: u64 = 100_000_000_000;

/// A fragment group: `g:1-2-3985` is fragment 1 of 2 in group 3985.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    pub number: u8,
    pub total: u8,
    /// The group id, hashed when it is not a plain number.
    pub id: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TagBlock<'a> {
    pub time: Option<UnixMillis>,
    pub station: Option<&'a [u8]>,
    pub group: Option<Group>,
    /// The checksum matched only once the `g:` field was left out: a known encoder defect
    /// (the Norwegian Coastal Administration feed adds `g:` after checksumming). The time
    /// and station are still covered by the checksum.
    pub group_unchecked: bool,
    /// The block states `*00` for a checksum that is not 00: a placeholder some writers put
    /// where they compute none (Spire's tag blocks, AMSA's timestamped test log). Not
    /// checked, and counted; the sentence's own checksum still covers the message, and the
    /// stream clock still refuses a time it cannot believe.
    pub checksum_placeholder: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagBlockError {
    MissingChecksum,
    BadChecksum { computed: u8, stated: u8 },
    BadField(&'static str),
}

impl TagBlockError {
    pub fn detail(&self) -> &'static str {
        match self {
            TagBlockError::MissingChecksum => "tag block has no *hh checksum",
            TagBlockError::BadChecksum { .. } => "tag block checksum does not match",
            TagBlockError::BadField(what) => what,
        }
    }
}

/// Parses the text between the two backslashes.
pub fn parse_tag_block(body: &[u8]) -> Result<TagBlock<'_>, TagBlockError> {
    let star = body
        .iter()
        .rposition(|&b| b == b'*')
        .ok_or(TagBlockError::MissingChecksum)?;
    let digits = &body[star + 1..];
    if digits.len() != 2 {
        return Err(TagBlockError::MissingChecksum);
    }
    let stated = hex_byte(digits).ok_or(TagBlockError::MissingChecksum)?;
    let fields = &body[..star];
    let computed = xor_checksum(fields);
    let mut block = TagBlock::default();
    // The fields between commas, found eight bytes at a time.
    let mut rest = Some(fields);
    while let Some(text) = rest {
        let field = match find_byte(text, b',') {
            Some(comma) => {
                rest = Some(&text[comma + 1..]);
                &text[..comma]
            }
            None => {
                rest = None;
                text
            }
        };
        let Some(colon) = find_byte(field, b':') else {
            continue;
        };
        let (key, value) = (&field[..colon], &field[colon + 1..]);
        match key {
            b"c" => block.time = Some(parse_time(value)?),
            b"s" => block.station = (!value.is_empty()).then_some(value),
            b"g" => block.group = Some(parse_group(value)?),
            // NMEA 4.00 grouping: `1G2:0125` is fragment 1 of 2 in group 0125.
            [n @ b'1'..=b'9', b'G', t @ b'1'..=b'9'] => {
                block.group = Some(Group {
                    number: n - b'0',
                    total: t - b'0',
                    id: group_id(value),
                })
            }
            _ => {}
        }
    }
    if computed != stated {
        if block.group.is_some() && xor_checksum_without_group(fields) == stated {
            block.group_unchecked = true;
        } else if stated == 0 {
            block.checksum_placeholder = true;
        } else {
            return Err(TagBlockError::BadChecksum { computed, stated });
        }
    }
    Ok(block)
}

fn xor_checksum_without_group(fields: &[u8]) -> u8 {
    let mut sum = 0u8;
    let mut first = true;
    for field in fields.split(|&b| b == b',') {
        if field.starts_with(b"g:") {
            continue;
        }
        if !first {
            sum ^= b',';
        }
        first = false;
        sum ^= xor_checksum(field);
    }
    sum
}

fn parse_time(value: &[u8]) -> Result<UnixMillis, TagBlockError> {
    let bad = TagBlockError::BadField("c: is not a Unix time");
    let (whole, frac) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &value[value.len()..]),
    };
    let n = parse_u64(whole).ok_or(bad)?;
    if n > MILLIS_THRESHOLD {
        return i64::try_from(n).map(UnixMillis).map_err(|_| bad);
    }
    let mut millis = 0i64;
    for i in 0..3 {
        let d = match frac.get(i) {
            Some(d) if d.is_ascii_digit() => i64::from(d - b'0'),
            Some(_) => return Err(bad),
            None => 0,
        };
        millis = millis * 10 + d;
    }
    Ok(UnixMillis(n as i64 * 1000 + millis))
}

pub(crate) fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(d - b'0');
    }
    Some(n)
}

fn parse_group(value: &[u8]) -> Result<Group, TagBlockError> {
    let bad = TagBlockError::BadField("g: is not number-total-id");
    let mut parts = value.splitn(3, |&b| b == b'-');
    let number = parts.next().and_then(parse_u64).ok_or(bad)?;
    let total = parts.next().and_then(parse_u64).ok_or(bad)?;
    let id = parts.next().ok_or(bad)?;
    if !(1..=9).contains(&total) || number == 0 || number > total {
        return Err(bad);
    }
    Ok(Group {
        number: number as u8,
        total: total as u8,
        id: group_id(id),
    })
}

fn group_id(id: &[u8]) -> u64 {
    parse_u64(id).unwrap_or_else(|| {
        // FNV-1a: ids such as "-001" still compare equal to themselves.
        id.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }) | 1 << 63
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_time_station_and_group() {
        let block = parse_tag_block(b"g:1-2-3985,s:rEV02,c:1334337317*2D").unwrap();
        assert_eq!(block.time, Some(UnixMillis::from_secs(1_334_337_317)));
        assert_eq!(block.station, Some(&b"rEV02"[..]));
        assert_eq!(
            block.group,
            Some(Group {
                number: 1,
                total: 2,
                id: 3985
            })
        );
        assert!(!block.group_unchecked);
    }

    #[test]
    fn milliseconds_are_recognised_by_size() {
        let body = b"c:1711929600250";
        let line = [&body[..], format!("*{:02X}", xor_checksum(body)).as_bytes()].concat();
        let block = parse_tag_block(&line).unwrap();
        assert_eq!(block.time, Some(UnixMillis(1_711_929_600_250)));
    }

    #[test]
    fn bad_checksums_are_refused() {
        assert_eq!(
            parse_tag_block(b"c:1420030798*5A"),
            Err(TagBlockError::BadChecksum {
                computed: 0x5B,
                stated: 0x5A
            })
        );
        assert_eq!(
            parse_tag_block(b"g:1-2-73874,n:157036,s:r003669945,c:12415440354*A"),
            Err(TagBlockError::MissingChecksum)
        );
        assert_eq!(
            parse_tag_block(b"c:1420030798"),
            Err(TagBlockError::MissingChecksum)
        );
    }

    #[test]
    fn a_placeholder_checksum_is_tolerated_and_flagged() {
        // AMSA's timestamped log: "c:1420030798" checksums to 5B, the line states 00.
        let block = parse_tag_block(b"c:1420030798*00").expect("placeholder accepted");
        assert!(block.checksum_placeholder);
        assert_eq!(block.time, Some(UnixMillis::from_secs(1_420_030_798)));
        let checked = parse_tag_block(b"c:1420030798*5B").expect("right checksum");
        assert!(!checked.checksum_placeholder);
        // A block whose checksum is 00 is checked as any other.
        let zero = b"c:1420030798,s:rt8*00";
        assert_eq!(xor_checksum(&zero[..zero.len() - 3]), 0);
        assert!(!parse_tag_block(zero).unwrap().checksum_placeholder);
    }

    #[test]
    fn checksum_that_leaves_out_the_group_is_tolerated_and_flagged() {
        // Kystverket: *53 is the checksum of "c:1565218798" alone.
        let block = parse_tag_block(b"g:1-2-9999,c:1565218798*53").unwrap();
        assert!(block.group_unchecked);
        assert_eq!(block.time, Some(UnixMillis::from_secs(1_565_218_798)));
        // The same trick does not rescue a tag block without a group.
        assert!(parse_tag_block(b"n:1,c:1565218798*53").is_err());
    }

    #[test]
    fn old_style_and_odd_group_ids() {
        let block = parse_tag_block(b"1G2:0125,c:1354719387*0D").unwrap();
        assert_eq!(
            block.group.map(|g| (g.number, g.total, g.id)),
            Some((1, 2, 125))
        );
        let a = parse_tag_block(b"g:1-2--001,c:1326055296*3C").unwrap();
        let b = parse_tag_block(b"g:2-2--001*41").unwrap();
        assert_eq!(a.group.unwrap().id, b.group.unwrap().id);
    }
}
