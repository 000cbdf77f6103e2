//! Repeated receptions: feeds that merge several receivers (or one receiver relaying under two
//! talkers) deliver the same message more than once, milliseconds to seconds apart. A message
//! whose payload bits equal one heard within the window before it is the same transmission.
//!
//! Keyed by the assembled payload's bits (fill bits left out), so a multi-sentence message is
//! recognised whatever fragments or talkers carried it, and by event time, so a replay and a
//! live feed judge alike. A real retransmission is never bit-equal within seconds: position
//! reports carry the UTC second and the radio's slot state, and static reports repeat minutes
//! apart.

use crate::time::UnixMillis;

use super::payload::PayloadBits;

/// Slots of the table of first copies (a power of two): 1.5 MiB a source (times 0.5 MiB,
/// fingerprints 1 MiB), allocated when the first timed message arrives.
const SLOTS: usize = 1 << 16;

/// First copies remembered at most: the table's slots. A feed busier than that within one
/// window (some 13,000 messages a second with the default 5 s) makes a new copy take the
/// place of the oldest one along its probe run, and a later copy of that one passes as new;
/// memory stays bounded whatever the rate.
pub const MAX_REMEMBERED: usize = SLOTS;

/// How far a lookup probes from a fingerprint's home slot.
const PROBES: usize = 16;

/// A slot never used: nothing was stored at or after it along any probe run through it.
const NEVER: i64 = i64::MIN;

/// The messages heard within the last window of event time, by payload fingerprint: an
/// open-addressing table whose entries expire by themselves once their time falls out of the
/// window, so that nothing is allocated or removed per message on the decoder's hot path.
#[derive(Debug)]
pub struct DuplicateFilter {
    window_ms: i64,
    /// Event time of the first copy held in each slot, or `NEVER`. Apart from the
    /// fingerprints because a lookup reads the times of its whole probe run but a fingerprint
    /// only where a time is live, which in a steady feed is almost never: 16 times fit two
    /// cache lines, 16 (fingerprint, time) pairs took eight, and the table's random home slot
    /// missed the cache on every message.
    firsts: Vec<i64>,
    /// The fingerprint of each slot's first copy; meaningless where `firsts` is `NEVER`.
    keys: Vec<u128>,
    used: usize,
}

impl DuplicateFilter {
    /// A window of 0 (or less) remembers nothing: every message is new.
    pub fn new(window_ms: i64) -> Self {
        DuplicateFilter {
            window_ms,
            firsts: Vec::new(),
            keys: Vec::new(),
            used: 0,
        }
    }

    /// Slots holding a first copy, expired or not.
    pub fn remembered(&self) -> usize {
        self.used
    }

    /// Whether `bits`, heard at `time`, repeats a payload first heard within the window of
    /// it; if not, it is remembered as a first copy. Untimed messages are never repeats.
    pub fn is_repeat(&mut self, bits: &PayloadBits, time: Option<UnixMillis>) -> bool {
        let key = self.fingerprint(bits);
        self.is_repeat_of(key, time)
    }

    /// The fingerprint [`Self::is_repeat_of`] takes, computed as soon as the payload is
    /// unpacked: its slots are fetched into the cache meanwhile, so that the lookup after the
    /// message's decoding finds them there instead of waiting on memory.
    pub fn fingerprint(&self, bits: &PayloadBits) -> Fingerprint {
        if self.window_ms <= 0 {
            return Fingerprint(0);
        }
        let key = fingerprint(bits);
        let home = (key as usize) & (SLOTS - 1);
        // The probe run's times span at most three cache lines; its home fingerprint is
        // where a new first copy is written.
        for step in [0, PROBES / 2, PROBES - 1] {
            prefetch(&self.firsts, home + step);
        }
        prefetch(&self.keys, home);
        Fingerprint(key)
    }

    /// [`Self::is_repeat`] for a payload whose fingerprint was taken before.
    pub fn is_repeat_of(&mut self, key: Fingerprint, time: Option<UnixMillis>) -> bool {
        let Some(time) = time.map(UnixMillis::as_millis) else {
            return false;
        };
        if self.window_ms <= 0 {
            return false;
        }
        if self.firsts.is_empty() {
            self.firsts = vec![NEVER; SLOTS];
            self.keys = vec![0; SLOTS];
        }
        let key = key.0;
        let home = (key as usize) & (SLOTS - 1);
        let horizon = time.saturating_sub(self.window_ms);
        // Where to remember it: the first slot never used or expired, else the oldest.
        let mut free: Option<usize> = None;
        let mut oldest = home;
        for step in 0..PROBES {
            let index = (home + step) & (SLOTS - 1);
            let first = self.firsts[index];
            if first == NEVER {
                free.get_or_insert(index);
                break;
            }
            let live = first >= horizon && (time - first).abs() <= self.window_ms;
            if live && self.keys[index] == key {
                return true;
            }
            if !live {
                free.get_or_insert(index);
            } else if first < self.firsts[oldest] {
                oldest = index;
            }
        }
        let index = free.unwrap_or(oldest);
        self.used += usize::from(self.firsts[index] == NEVER);
        self.firsts[index] = time;
        self.keys[index] = key;
        false
    }
}

/// A payload's fingerprint, taken by [`DuplicateFilter::fingerprint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint(u128);

/// Asks the processor to fetch `slots[index]` into its cache; nothing when out of range (a
/// probe run that wraps around the table's end) or on other architectures.
#[inline]
fn prefetch<T>(slots: &[T], index: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(slot) = slots.get(index) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let address = (slot as *const T).cast::<i8>();
        // SAFETY: a prefetch only hints the cache and never faults; the address is within
        // the slice anyway. (Newer compilers call it safe, hence the allowance.)
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(address)
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slots, index);
}

/// 128 bits that stand for the payload's bits and length: two independent multiply-rotate
/// chains over its 32-bit words, each finished by a full avalanche. Comparing fingerprints
/// instead of the bits themselves keeps the filter free of allocation on the decoder's hot
/// path; two different payloads within one window share a fingerprint with a probability
/// near 2^-128 times the pairs compared, far below a line's chance of a valid checksum on
/// corrupted bits.
fn fingerprint(bits: &PayloadBits) -> u128 {
    let len = bits.bit_len();
    let mut a = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    let mut b = 0xC2B2_AE3D_27D4_EB4F ^ (len as u64).rotate_left(32);
    let mut start = 0;
    while start < len {
        let take = (len - start).min(32) as u32;
        let word = u64::from(bits.ubits(start, take));
        a = (a ^ word)
            .wrapping_mul(0xFF51_AFD7_ED55_8CCD)
            .rotate_left(29);
        b = (b.rotate_left(23) ^ word).wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        start += take as usize;
    }
    (u128::from(avalanche(a)) << 64) | u128::from(avalanche(b ^ a.rotate_left(17)))
}

/// The 64-bit finaliser of splitmix64: every input bit moves about half the output bits.
fn avalanche(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(armoured: &str, fill: u8) -> PayloadBits {
        let mut bits = PayloadBits::new();
        bits.load(armoured.as_bytes(), fill).unwrap();
        bits
    }

    fn at(ms: i64) -> Option<UnixMillis> {
        Some(UnixMillis(ms))
    }

    const REPORT: &str = "15N2Wl?P02oRV=nCBrNn3gvJ2@7T";
    const OTHER: &str = "403OthQv0EGM<oV9DFC5hdg020S:";

    #[test]
    fn a_copy_within_the_window_is_a_repeat_and_after_it_is_new() {
        let mut filter = DuplicateFilter::new(5_000);
        assert!(!filter.is_repeat(&bits(REPORT, 0), at(1_000)));
        assert!(filter.is_repeat(&bits(REPORT, 0), at(1_010)));
        assert!(!filter.is_repeat(&bits(OTHER, 0), at(1_020)));
        // Measured from the first copy, so a chain of copies cannot extend the window.
        assert!(filter.is_repeat(&bits(REPORT, 0), at(6_000)));
        assert!(!filter.is_repeat(&bits(REPORT, 0), at(6_001)));
        assert!(filter.is_repeat(&bits(REPORT, 0), at(6_002)));
    }

    #[test]
    fn copies_slightly_out_of_order_are_still_repeats() {
        let mut filter = DuplicateFilter::new(5_000);
        assert!(!filter.is_repeat(&bits(REPORT, 0), at(10_000)));
        assert!(filter.is_repeat(&bits(REPORT, 0), at(9_000)));
    }

    #[test]
    fn fill_bits_are_not_part_of_the_payload() {
        // The same 424 bits with different fill: only the last character's two low bits differ.
        let mut filter = DuplicateFilter::new(5_000);
        assert!(!filter.is_repeat(
            &bits(
                "55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD`88888888888880",
                2
            ),
            at(0)
        ));
        assert!(filter.is_repeat(
            &bits(
                "55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD`88888888888883",
                2
            ),
            at(1)
        ));
        assert!(!filter.is_repeat(
            &bits(
                "55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD`88888888888884",
                2
            ),
            at(2)
        ));
    }

    #[test]
    fn untimed_messages_and_a_zero_window_are_never_repeats() {
        let mut filter = DuplicateFilter::new(5_000);
        assert!(!filter.is_repeat(&bits(REPORT, 0), None));
        assert!(!filter.is_repeat(&bits(REPORT, 0), None));
        let mut off = DuplicateFilter::new(0);
        assert!(!off.is_repeat(&bits(REPORT, 0), at(0)));
        assert!(!off.is_repeat(&bits(REPORT, 0), at(0)));
        assert_eq!(off.remembered(), 0);
    }

    #[test]
    fn memory_stays_bounded_on_a_flood_of_distinct_messages() {
        let mut filter = DuplicateFilter::new(3_600_000);
        let mut payload = bits(REPORT, 0);
        let armour = |v: u32| char::from(if v < 40 { v + 48 } else { v + 56 } as u8);
        for i in 0..(MAX_REMEMBERED as u32 + 100) {
            // Distinct three-character payloads (18 bits), all within one window.
            let text: String = (0..3).map(|k| armour((i >> (6 * k)) & 63)).collect();
            payload.load(text.as_bytes(), 0).unwrap();
            assert!(!filter.is_repeat(&payload, at(i64::from(i))), "{text}");
        }
        assert!(filter.remembered() <= MAX_REMEMBERED);
        assert_eq!(filter.firsts.len(), MAX_REMEMBERED, "the table never grows");
        assert_eq!(filter.keys.len(), MAX_REMEMBERED, "the table never grows");
    }
}
