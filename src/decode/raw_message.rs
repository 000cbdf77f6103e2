//! Which raw lines make one message, as evidence keeps them: the line a message ended on and
//! the earlier fragments of a multi-sentence message, found among the lines just before it.
//! Replay (reading its logs again) and the service (as lines arrive) use this one rule, so
//! that both store the same bytes and hashes for the same lines.

use std::collections::VecDeque;

/// Lines looked back over for the earlier fragments of a message (fragments of one message
/// arrive within a few lines of each other; a receiver interleaving more is not seen).
pub const FRAGMENT_LOOKBACK: u64 = 32;

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
/// block or time column. Every line of a log read again for evidence, and every line the
/// service takes, passes through here: the fields are cut by hand rather than by a generic
/// split and a parse through `str`, which cost several hundred instructions a line.
fn fragment_of(line: &[u8]) -> Option<Fragment<'_>> {
    let start = crate::bytes::find_byte(line, b'!')?;
    let mut rest = Some(&line[start..]);
    let mut field = || {
        let text = rest?;
        // Fields are a few bytes long: a plain scan beats the word-at-a-time search here.
        match text.iter().position(|&b| b == b',') {
            Some(comma) => {
                rest = Some(&text[comma + 1..]);
                Some(&text[..comma])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    };
    let talker = field()?;
    if talker.len() != 6 || !(talker.ends_with(b"VDM") || talker.ends_with(b"VDO")) {
        return None;
    }
    Some(Fragment {
        count: decimal(field()?)?,
        number: decimal(field()?)?,
        sequence: field()?,
        channel: field()?,
    })
}

/// A field read as `str::parse::<u32>` reads it: an optional `+`, then only digits, no
/// overflow.
fn decimal(field: &[u8]) -> Option<u32> {
    let digits = field.strip_prefix(b"+").unwrap_or(field);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |value, &byte| {
        let digit = byte.checked_sub(b'0').filter(|d| *d < 10)?;
        value.checked_mul(10)?.checked_add(u32::from(digit))
    })
}

/// The recent lines of one source that may be the first fragments of a message still to
/// end: only those are kept (a single-sentence line never is), at most
/// [`FRAGMENT_LOOKBACK`] lines back.
#[derive(Clone, Debug, Default)]
pub struct RecentFragments {
    lines: VecDeque<(u64, Vec<u8>)>,
}

impl RecentFragments {
    /// Notes line `number`, `text`: kept when it opens or continues a message of several
    /// sentences. Lines older than the look-back are let go.
    pub fn push(&mut self, number: u64, text: &[u8]) {
        while self
            .lines
            .front()
            .is_some_and(|(n, _)| *n + FRAGMENT_LOOKBACK < number)
        {
            self.lines.pop_front();
        }
        if fragment_of(text).is_some_and(|f| f.count > 1 && f.number < f.count) {
            self.lines.push_back((number, text.to_vec()));
        }
    }

    /// The message ending on `last` (line `number`), with its earlier fragments from the
    /// lines noted before it: `(first line number, the lines joined by \n)`.
    pub fn message(&self, last: &[u8], number: u64) -> (u64, Vec<u8>) {
        let mut lines: Vec<(u64, &[u8])> = vec![(number, last)];
        if let Some(end) = fragment_of(last).filter(|f| f.count > 1 && f.number == f.count) {
            let mut wanted = end.number - 1;
            let within = self
                .lines
                .iter()
                .rev()
                .filter(|(n, _)| *n < number && *n + FRAGMENT_LOOKBACK >= number);
            for (n, text) in within {
                if wanted == 0 {
                    break;
                }
                let Some(f) = fragment_of(text) else { continue };
                if f.count == end.count
                    && f.number == wanted
                    && f.sequence == end.sequence
                    && f.channel == end.channel
                {
                    lines.push((*n, text));
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

    /// The lines noted so far of the message whose first fragment is line `number`: that line
    /// and the later fragments continuing it, in order. Empty when line `number` was not noted
    /// or does not open a message.
    pub fn begun_at(&self, number: u64) -> Vec<(u64, &[u8])> {
        let mut lines: Vec<(u64, &[u8])> = Vec::new();
        let mut kept = self.lines.iter().skip_while(|(n, _)| *n < number);
        let Some((n, text)) = kept.next().filter(|(n, _)| *n == number) else {
            return lines;
        };
        let Some(first) = fragment_of(text).filter(|f| f.number == 1) else {
            return lines;
        };
        lines.push((*n, text));
        let mut wanted = 2;
        for (n, text) in kept {
            let Some(f) = fragment_of(text) else { continue };
            if (f.count, f.sequence, f.channel) != (first.count, first.sequence, first.channel) {
                continue;
            }
            if f.number != wanted {
                break;
            }
            lines.push((*n, text));
            wanted += 1;
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbering as a generic split and `str::parse` read it.
    fn numbered_by_parse(line: &[u8]) -> Option<(u32, u32, Vec<u8>, Vec<u8>)> {
        let start = line.iter().position(|&b| b == b'!')?;
        let mut fields = line[start..].split(|&b| b == b',');
        let talker = fields.next()?;
        if talker.len() != 6 || !(talker.ends_with(b"VDM") || talker.ends_with(b"VDO")) {
            return None;
        }
        let number = |field: &[u8]| std::str::from_utf8(field).ok()?.parse::<u32>().ok();
        Some((
            number(fields.next()?)?,
            number(fields.next()?)?,
            fields.next()?.to_vec(),
            fields.next()?.to_vec(),
        ))
    }

    #[test]
    fn fragments_are_numbered_as_a_parse_of_the_fields_numbers_them() {
        let lines: [&[u8]; 16] = [
            b"\\g:1-2-73,c:1709856000*00\\!AIVDM,2,1,7,B,55NBj>P0,0*00",
            b"!AIVDO,1,1,,A,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09",
            b"1709856000,!BSVDM,3,3,9,,88,2*2C",
            b"!AIVDM,+2,+1,1,A,x,0*00",
            b"!AIVDM,-2,1,1,A,x,0*00",
            b"!AIVDM,4294967295,1,1,A",
            b"!AIVDM,4294967296,1,1,A,x",
            b"!AIVDM,,1,1,A,x",
            b"!AIVDM,+,1,1,A,x",
            b"!AIVDM,2,1,1",
            b"!AIVDM,2,1,1,",
            b"!AIVDM,2,1",
            b"!AIVDMX,2,1,1,A,x",
            b"$GPGGA,2,1,1,A,x",
            b"!AIVDM,2 ,1,1,A,x",
            b"!AIVDM,\xc3\xa9,1,1,A,x",
        ];
        for line in lines {
            let fast = fragment_of(line)
                .map(|f| (f.count, f.number, f.sequence.to_vec(), f.channel.to_vec()));
            assert_eq!(
                fast,
                numbered_by_parse(line),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(
            fragment_of(lines[3]).map(|f| (f.count, f.number)),
            Some((2, 1))
        );
        assert!(fragment_of(lines[6]).is_none() && fragment_of(lines[9]).is_none());
    }

    #[test]
    fn a_two_part_message_is_its_two_lines_and_a_single_one_is_its_own() {
        let first = b"\\g:1-2-73,c:1709856000*00\\!AIVDM,2,1,7,B,55NBj>P0,0*00".to_vec();
        let noise = b"!AIVDM,1,1,,A,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09".to_vec();
        let last = b"\\g:2-2-73*00\\!AIVDM,2,2,7,B,88888888880,2*2C".to_vec();
        let mut recent = RecentFragments::default();
        recent.push(10, &first);
        recent.push(11, &noise);
        let (from, raw) = recent.message(&last, 12);
        assert_eq!(from, 10);
        assert_eq!(raw, [first.as_slice(), last.as_slice()].join(&b'\n'));
        assert_eq!(recent.message(&noise, 11), (11, noise));
    }

    #[test]
    fn a_fragment_of_another_sequence_or_too_far_back_is_not_taken() {
        let other = b"!AIVDM,2,1,8,B,55NBj>P0,0*00".to_vec();
        let mine = b"!AIVDM,2,1,7,B,55NBj>P0,0*00".to_vec();
        let last = b"!AIVDM,2,2,7,B,888,2*2C".to_vec();
        let mut recent = RecentFragments::default();
        recent.push(4, &other);
        assert_eq!(recent.message(&last, 5), (5, last.clone()));
        recent.push(10, &mine);
        assert_eq!(recent.message(&last, 10 + FRAGMENT_LOOKBACK + 1).0, 43);
        assert_eq!(recent.message(&last, 10 + FRAGMENT_LOOKBACK).0, 10);
    }

    #[test]
    fn a_message_begun_is_found_with_its_continuations_and_nothing_else() {
        let first = b"!AIVDM,3,1,7,B,55NBj>P0,0*00".to_vec();
        let other = b"!AIVDM,2,1,8,B,55NBj>P0,0*00".to_vec();
        let second = b"!AIVDM,3,2,7,B,0000,0*00".to_vec();
        let mut recent = RecentFragments::default();
        recent.push(20, &first);
        recent.push(21, &other);
        recent.push(22, &second);
        let lines: Vec<(u64, Vec<u8>)> = recent
            .begun_at(20)
            .into_iter()
            .map(|(n, text)| (n, text.to_vec()))
            .collect();
        assert_eq!(lines, [(20, first), (22, second.clone())]);
        assert_eq!(recent.begun_at(21).len(), 1);
        // Not an opening line, and a line never noted.
        assert!(recent.begun_at(22).is_empty());
        assert!(recent.begun_at(19).is_empty());
    }

    #[test]
    fn only_opening_fragments_are_kept() {
        let mut recent = RecentFragments::default();
        recent.push(1, b"!AIVDM,1,1,,A,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09");
        recent.push(2, b"!AIVDM,2,2,7,B,888,2*2C");
        recent.push(3, b"$GPZDA,114702.51,27,01,2012,,*66");
        assert!(recent.lines.is_empty());
    }
}
