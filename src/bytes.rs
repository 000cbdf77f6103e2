//! Byte search shared by the source and decode stages: eight bytes at a time, because every
//! line of a feed is scanned for its separators.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Position of the first `needle` in `hay`.
#[inline]
pub fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pattern = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word) ^ pattern;
        // The lowest flagged byte is exact; false flags only occur above a true zero byte.
        let zero = w.wrapping_sub(LO) & !w & HI;
        if zero != 0 {
            return Some(offset + (zero.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|p| offset + p)
}

/// Position of the first `a` or `b` in `hay`: line framing looks for either line-ending byte.
#[inline]
pub fn find_either(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let (pattern_a, pattern_b) = (LO * u64::from(a), LO * u64::from(b));
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let (wa, wb) = (word ^ pattern_a, word ^ pattern_b);
        let zero = ((wa.wrapping_sub(LO) & !wa) | (wb.wrapping_sub(LO) & !wb)) & HI;
        if zero != 0 {
            return Some(offset + (zero.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == a || c == b)
        .map(|p| offset + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_a_plain_scan() {
        let text = b"0123456789abcdef\n0123*,\x8a\n";
        for needle in [b'\n', b'*', b',', 0x8a, b'z'] {
            for start in 0..text.len() {
                let hay = &text[start..];
                assert_eq!(
                    find_byte(hay, needle),
                    hay.iter().position(|&b| b == needle),
                    "needle {needle} from {start}"
                );
            }
        }
    }

    #[test]
    fn either_agrees_with_a_plain_scan() {
        let text = b"0123456789abcdef\r0123\n4567\x8a\x0d\x0a";
        for (a, b) in [(b'\n', b'\r'), (b'*', b','), (0x8a, b'z'), (b'z', b'y')] {
            for start in 0..text.len() {
                let hay = &text[start..];
                assert_eq!(
                    find_either(hay, a, b),
                    hay.iter().position(|&c| c == a || c == b),
                    "needles {a} {b} from {start}"
                );
            }
        }
    }
}
