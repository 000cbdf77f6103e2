//! NMEA 0183 framing of `!xxVDM` / `!xxVDO` sentences: identification, the XOR checksum and
//! the six comma-separated fields, on bytes (no UTF-8 validation on the hot path).

use crate::bytes::find_byte;

/// One framed AIS sentence; the payload borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sentence<'a> {
    pub talker: [u8; 2],
    /// `VDO`: the receiver's own ship.
    pub own_ship: bool,
    pub total: u8,
    pub number: u8,
    pub seq_id: Option<u8>,
    pub channel: Option<u8>,
    pub payload: &'a [u8],
    pub fill_bits: u8,
    pub checksum: u8,
}

/// Why bytes starting with `!` did not frame as an AIS sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Another `!` sentence (`!AIPWR`, ...): not AIS traffic, skipped.
    NotAis,
    /// The talker is not two printable characters, or is one of the NMEA delimiters
    /// (`,` `*` `!` `$` `\`): line corruption.
    BadTalker,
    /// The three characters after the talker are not letters (`!=IV>l,0*1C`): line corruption.
    BadFormatter,
    MissingChecksum,
    BadChecksum {
        computed: u8,
        stated: u8,
    },
    /// Wrong number of fields, or a field out of range.
    BadField(&'static str),
}

impl FrameError {
    pub fn detail(&self) -> &'static str {
        match self {
            FrameError::NotAis => "not an AIS sentence",
            FrameError::BadTalker => "talker is not two printable characters",
            FrameError::BadFormatter => "sentence name is not three letters",
            FrameError::MissingChecksum => "no *hh checksum",
            FrameError::BadChecksum { .. } => "checksum does not match",
            FrameError::BadField(what) => what,
        }
    }
}

/// XOR of all bytes, eight at a time.
#[inline]
pub fn xor_checksum(bytes: &[u8]) -> u8 {
    let mut chunks = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        acc ^= u64::from_le_bytes(word);
    }
    let mut sum = fold(acc);
    for &b in chunks.remainder() {
        sum ^= b;
    }
    sum
}

/// Finds the first `*` after the leading `!` and XORs the bytes between them, in one pass of
/// eight bytes at a time.
#[inline]
fn checksum_to_star(bytes: &[u8]) -> Option<(usize, u8)> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const STAR: u64 = LO * b'*' as u64;
    let body = bytes.get(1..)?;
    let mut acc = 0u64;
    let mut chunks = body.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let x = w ^ STAR;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            let index = (found.trailing_zeros() / 8) as usize;
            // Keep only the bytes before the star (little-endian: the low ones).
            let before = if index == 0 {
                0
            } else {
                w & (u64::MAX >> (64 - 8 * index))
            };
            return Some((1 + offset + index, fold(acc ^ before)));
        }
        acc ^= w;
        offset += 8;
    }
    let mut sum = fold(acc);
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b == b'*' {
            return Some((1 + offset + i, sum));
        }
        sum ^= b;
    }
    None
}

#[inline]
fn fold(acc: u64) -> u8 {
    let mut folded = acc ^ (acc >> 32);
    folded ^= folded >> 16;
    folded ^= folded >> 8;
    folded as u8
}

#[inline]
pub fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Two hex digits at the start of `bytes`.
#[inline]
pub fn hex_byte(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [h, l, ..] => Some(hex_digit(*h)? << 4 | hex_digit(*l)?),
        _ => None,
    }
}

/// Whether `b` may stand in a talker: networks use letters, digits and signs (`AI`, `B1`,
/// `=I` of Australia's national network), so any visible ASCII character is accepted except
/// the delimiters that frame NMEA sentences and tag blocks. A space is not visible and so not
/// accepted: it only appears where a line was cut or joined.
#[inline]
pub fn is_talker_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b',' | b'*' | b'!' | b'$' | b'\\')
}

/// Whether `line` (starting with `!`) names a VDM/VDO sentence, regardless of talker.
pub fn is_vdm(line: &[u8]) -> bool {
    matches!(line.get(3..6), Some(b"VDM") | Some(b"VDO"))
}

/// Frames the sentence at the start of `bytes` (which starts with `!`). Returns it and what
/// follows its checksum.
pub fn parse_sentence(bytes: &[u8]) -> Result<(Sentence<'_>, &[u8]), FrameError> {
    let talker = match bytes.get(1..3) {
        Some(&[a, b]) => [a, b],
        _ => return Err(FrameError::BadTalker),
    };
    if !talker.iter().all(|&b| is_talker_char(b)) {
        return Err(FrameError::BadTalker);
    }
    if !is_vdm(bytes) {
        if !bytes
            .get(3..6)
            .is_some_and(|f| f.iter().all(u8::is_ascii_uppercase))
        {
            return Err(FrameError::BadFormatter);
        }
        return Err(FrameError::NotAis);
    }
    if bytes.get(6) != Some(&b',') {
        return Err(FrameError::BadField("no comma after the sentence name"));
    }
    let Some((star, computed)) = checksum_to_star(bytes) else {
        return Err(FrameError::MissingChecksum);
    };
    let Some(stated) = bytes.get(star + 1..).and_then(hex_byte) else {
        return Err(FrameError::MissingChecksum);
    };
    if computed != stated {
        return Err(FrameError::BadChecksum { computed, stated });
    }
    let rest = &bytes[star + 3..];
    let body = &bytes[7..star];
    if let Some(fields) = canonical_fields(body) {
        return Ok((
            Sentence {
                talker,
                own_ship: bytes[5] == b'O',
                checksum: stated,
                ..fields
            },
            rest,
        ));
    }
    let mut fields = body.split(|&b| b == b',');
    let mut next = || fields.next().ok_or(FrameError::BadField("too few fields"));
    let total = single_digit(next()?).ok_or(FrameError::BadField("fragment count"))?;
    let number = single_digit(next()?).ok_or(FrameError::BadField("fragment number"))?;
    let seq_field = next()?;
    let channel_field = next()?;
    let payload = next()?;
    let fill_field = next()?;
    if fields.next().is_some() {
        return Err(FrameError::BadField("too many fields"));
    }
    if total == 0 || number == 0 || number > total {
        return Err(FrameError::BadField("fragment number outside 1..count"));
    }
    let seq_id = match seq_field {
        [] => None,
        [d] if d.is_ascii_digit() => Some(d - b'0'),
        _ => return Err(FrameError::BadField("sequential message id")),
    };
    let channel = match channel_field {
        [] => None,
        [c] if c.is_ascii_alphanumeric() => Some(*c),
        _ => return Err(FrameError::BadField("channel")),
    };
    let fill_bits = match fill_field {
        [d @ b'0'..=b'5'] => d - b'0',
        _ => return Err(FrameError::BadField("fill bits")),
    };
    Ok((
        Sentence {
            talker,
            own_ship: bytes[5] == b'O',
            total,
            number,
            seq_id,
            channel,
            payload,
            fill_bits,
            checksum: stated,
        },
        rest,
    ))
}

/// The fields of a well-formed sentence (`t,n,[s],[c],payload,f`) read by position, the common
/// case; anything else goes through the field-by-field path that names what is wrong.
#[inline]
fn canonical_fields(body: &[u8]) -> Option<Sentence<'_>> {
    let n = body.len();
    if n < 8 || body[1] != b',' || body[3] != b',' || body[n - 2] != b',' {
        return None;
    }
    let total = body[0].wrapping_sub(b'0');
    let number = body[2].wrapping_sub(b'0');
    let fill_bits = body[n - 1].wrapping_sub(b'0');
    if !(1..=9).contains(&total) || number == 0 || number > total || fill_bits > 5 {
        return None;
    }
    let mut i = 4;
    let seq_id = match (body[i], body[i + 1]) {
        (b',', _) => {
            i += 1;
            None
        }
        (d @ b'0'..=b'9', b',') => {
            i += 2;
            Some(d - b'0')
        }
        _ => return None,
    };
    let channel = match (body.get(i)?, body.get(i + 1)?) {
        (b',', _) => {
            i += 1;
            None
        }
        (&c, b',') if c.is_ascii_alphanumeric() => {
            i += 2;
            Some(c)
        }
        _ => return None,
    };
    let payload = body.get(i..n - 2)?;
    if find_byte(payload, b',').is_some() {
        return None;
    }
    Some(Sentence {
        talker: [0, 0],
        own_ship: false,
        total,
        number,
        seq_id,
        channel,
        payload,
        fill_bits,
        checksum: 0,
    })
}

fn single_digit(field: &[u8]) -> Option<u8> {
    match field {
        [d] if d.is_ascii_digit() => Some(d - b'0'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_a_single_sentence() {
        let line = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A,b003669712,1241544035";
        let (s, rest) = parse_sentence(line).unwrap();
        assert_eq!(s.talker, *b"AI");
        assert!(!s.own_ship);
        assert_eq!((s.total, s.number, s.seq_id), (1, 1, None));
        assert_eq!(s.channel, Some(b'A'));
        assert_eq!(s.payload, b"15RTgt0PAso;90TKcjM8h6g208CQ");
        assert_eq!(s.fill_bits, 0);
        assert_eq!(rest, b",b003669712,1241544035");
    }

    #[test]
    fn lower_case_checksums_and_other_talkers_are_accepted() {
        let (s, _) = parse_sentence(b"!BSVDO,2,2,7,,OeEEEGp4Q`p,2*64").unwrap_or_else(|e| {
            // Recompute so the test documents the checksum it expects.
            panic!(
                "{e:?}: checksum should be {:02x}",
                xor_checksum(b"BSVDO,2,2,7,,OeEEEGp4Q`p,2")
            )
        });
        assert!(s.own_ship);
        assert_eq!(
            (s.total, s.number, s.seq_id, s.channel),
            (2, 2, Some(7), None)
        );
    }

    /// `!xxVDM` with `xx` and a valid checksum.
    fn with_talker(talker: &[u8]) -> Vec<u8> {
        let mut body = talker.to_vec();
        body.extend_from_slice(b"VDM,1,1,,A,18JSmJ001D8FqSClKd51JAD20D0W,0");
        let mut line = vec![b'!'];
        line.extend_from_slice(&body);
        line.extend_from_slice(format!("*{:02X}", xor_checksum(&body)).as_bytes());
        line
    }

    #[test]
    fn any_two_printable_characters_but_the_delimiters_are_a_talker() {
        // The national network line as it is heard, checksum and all.
        let (s, _) = parse_sentence(b"!=IVDM,1,1,,A,18JSmJ001D8FqSClKd51JAD20D0W,0*2E").unwrap();
        assert_eq!(s.talker, *b"=I");
        for talker in [b"B1", b"B2", b"AB", b"BS", b"--", b"=I", b"a~", b"9#"] {
            let line = with_talker(talker);
            let (s, _) = parse_sentence(&line).unwrap_or_else(|e| panic!("{talker:?}: {e:?}"));
            assert_eq!(s.talker, *talker);
        }
        for talker in [
            b",A",
            b"A*",
            b"!A",
            b"$A",
            b"\\A",
            b" A",
            b"A\t",
            b"\xC3\xA9",
        ] {
            let line = with_talker(talker);
            assert_eq!(
                parse_sentence(&line).unwrap_err(),
                FrameError::BadTalker,
                "{talker:?}"
            );
        }
    }

    #[test]
    fn refusals_say_what_was_wrong() {
        assert_eq!(
            parse_sentence(b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B").unwrap_err(),
            FrameError::BadChecksum {
                computed: 0x4A,
                stated: 0x4B
            }
        );
        assert_eq!(
            parse_sentence(b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0").unwrap_err(),
            FrameError::MissingChecksum
        );
        assert_eq!(
            parse_sentence(b"!=IV>l,0*1C").unwrap_err(),
            FrameError::BadFormatter
        );
        assert_eq!(
            parse_sentence(b"!AIPWR,1*00").unwrap_err(),
            FrameError::NotAis
        );
        let body = b"AIVDM,1,2,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0,";
        let line = format!(
            "!{}*{:02X}",
            std::str::from_utf8(body).unwrap(),
            xor_checksum(body)
        );
        assert_eq!(
            parse_sentence(line.as_bytes()).unwrap_err(),
            FrameError::BadField("too many fields")
        );
    }

    #[test]
    fn star_search_and_checksum_agree_with_a_plain_scan() {
        let text = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A,x*y";
        for end in 0..text.len() {
            let hay = &text[..end];
            let plain = hay
                .iter()
                .skip(1)
                .position(|&b| b == b'*')
                .map(|p| (p + 1, xor_checksum(&hay[1..p + 1])));
            assert_eq!(checksum_to_star(hay), plain, "length {end}");
        }
        assert_eq!(checksum_to_star(b"!*"), Some((1, 0)));
        assert_eq!(checksum_to_star(b""), None);
    }

    #[test]
    fn wide_xor_matches_bytewise_xor() {
        let text = b"AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0";
        for len in 0..text.len() {
            let slow = text[..len].iter().fold(0u8, |a, b| a ^ b);
            assert_eq!(xor_checksum(&text[..len]), slow, "length {len}");
        }
    }
}
