//! Repeated receptions: feeds that merge several receivers (or one receiver relaying under two
//! talkers) deliver the same message more than once, milliseconds to seconds apart. A message
//! whose payload bits equal one heard within the window before it is the same transmission.
//!
//! Keyed by the assembled payload's bits (fill bits left out), so a multi-sentence message is
//! recognised whatever fragments or talkers carried it, and by event time, so a replay and a
//! live feed judge alike. A real retransmission is never bit-equal within seconds: position
//! reports carry the UTC second and the radio's slot state, and static reports repeat minutes
//! apart.

use std::collections::{HashMap, VecDeque};

use crate::time::UnixMillis;

use super::payload::PayloadBits;

/// First copies remembered at once; beyond it the oldest is forgotten early (a later copy of
/// it then passes as a new message), so memory stays bounded on any feed rate.
pub const MAX_REMEMBERED: usize = 1 << 16;

/// The messages heard within the last window of event time, by payload bits.
#[derive(Debug)]
pub struct DuplicateFilter {
    window_ms: i64,
    /// When each remembered payload's first copy was heard.
    first_heard: HashMap<Box<[u32]>, i64>,
    /// The same payloads in the order they were remembered, to forget them once out of the
    /// window.
    order: VecDeque<(i64, Box<[u32]>)>,
    key: Vec<u32>,
}

impl DuplicateFilter {
    /// A window of 0 (or less) remembers nothing: every message is new.
    pub fn new(window_ms: i64) -> Self {
        DuplicateFilter {
            window_ms,
            first_heard: HashMap::new(),
            order: VecDeque::new(),
            key: Vec::with_capacity(40),
        }
    }

    /// Payloads currently remembered (never above `MAX_REMEMBERED`).
    pub fn remembered(&self) -> usize {
        self.order.len()
    }

    /// Whether the message in `bits`, heard at `time`, repeats one heard less than the window
    /// before or after it. An untimed message cannot be placed in a window and is always new.
    pub fn is_repeat(&mut self, bits: &PayloadBits, time: Option<UnixMillis>) -> bool {
        let Some(time) = time.map(UnixMillis::as_millis) else {
            return false;
        };
        if self.window_ms <= 0 {
            return false;
        }
        self.load_key(bits);
        self.forget_before(time.saturating_sub(self.window_ms));
        if let Some(&first) = self.first_heard.get(self.key.as_slice()) {
            if (time - first).abs() <= self.window_ms {
                return true;
            }
        }
        let key: Box<[u32]> = self.key.as_slice().into();
        self.first_heard.insert(key.clone(), time);
        self.order.push_back((time, key));
        if self.order.len() > MAX_REMEMBERED {
            self.forget_oldest();
        }
        false
    }

    /// The payload's bit length, then its bits 32 at a time (the last word right-aligned).
    fn load_key(&mut self, bits: &PayloadBits) {
        let len = bits.bit_len();
        self.key.clear();
        self.key.push(len as u32);
        let mut start = 0;
        while start < len {
            let take = (len - start).min(32) as u32;
            self.key.push(bits.ubits(start, take));
            start += take as usize;
        }
    }

    /// Forgets the payloads remembered before `horizon`. Event time can step back a little
    /// (receivers' clocks differ); such entries are forgotten when the ones before them are.
    fn forget_before(&mut self, horizon: i64) {
        while self.order.front().is_some_and(|(t, _)| *t < horizon) {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        let Some((time, key)) = self.order.pop_front() else {
            return;
        };
        // A payload heard again after its window has a newer entry: keep that one.
        if self.first_heard.get(&key) == Some(&time) {
            self.first_heard.remove(&key);
        }
    }
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
        assert_eq!(filter.first_heard.len(), filter.remembered());
    }
}
