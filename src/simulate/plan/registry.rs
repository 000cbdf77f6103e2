//! Who the scenario's vessels are: unique MMSIs, IMO numbers with valid check digits, names in
//! each flag's style, call signs, hull dimensions.

use std::collections::BTreeSet;

use super::Ms;
use crate::simulate::rng::SplitMix64;

/// Allocates unique MMSIs and IMO numbers and invents names in the flag's style.
pub(super) struct Registry {
    mmsis: BTreeSet<u32>,
    imos: BTreeSet<u32>,
    names: BTreeSet<String>,
}

const KOREAN_SYLLABLES: &[&str] = &[
    "PAEK", "YANG", "SO", "HAE", "UN", "PA", "MYONG", "RYU", "CHOL", "BONG", "KUM", "SAN", "NAM",
    "JONG", "SONG", "RIM", "AN", "HYANG", "RO", "SAE", "BYOL", "YU", "CHON", "KWANG", "RA", "SIN",
];
const RUSSIAN_FIRST: &[&str] = &[
    "KAPITAN", "MYS", "VOSTOK", "ZARYA", "PRIMORYE", "AMUR", "SADKO", "TAIFUN", "BEREG",
    "SVETLAYA", "ZOLOTOY", "RUBIN", "ALMAZ", "BOTSMAN", "LAZURIT", "NADEZHDA", "YANTAR", "OKEAN",
];
const RUSSIAN_SECOND: &[&str] = &[
    "BELOUSOV",
    "POVOROTNY",
    "SHULTS",
    "ROG",
    "SOKOL",
    "ASKOLD",
    "BURUN",
    "PUTYATIN",
    "GAMOV",
    "SHMIDT",
    "ZHUKOV",
    "STARK",
    "VYATKIN",
    "ORLOV",
    "BRUSNIKA",
    "TUMAN",
];
const CHINESE: &[&str] = &[
    "HAI", "XING", "XIN", "HUA", "FU", "YUAN", "DA", "CHANG", "JIN", "HONG", "TAI", "AN",
];

impl Registry {
    pub(super) fn new() -> Self {
        Registry {
            mmsis: BTreeSet::new(),
            imos: BTreeSet::new(),
            names: BTreeSet::new(),
        }
    }

    /// A ship-station MMSI under `mid`; `round` ones end in 000 as many older ships' do.
    pub(super) fn mmsi(&mut self, rng: &mut SplitMix64, mid: u32, round: bool) -> u32 {
        let mut attempt = 0;
        loop {
            let n = if round && attempt < 20 {
                mid * 1_000_000 + rng.int(100, 999) as u32 * 1000
            } else {
                mid * 1_000_000 + rng.int(100_000, 999_999) as u32
            };
            if self.mmsis.insert(n) {
                return n;
            }
            attempt += 1;
        }
    }

    /// An IMO number with a valid check digit; `old` hulls get low numbers.
    pub(super) fn imo(&mut self, rng: &mut SplitMix64, old: bool) -> u32 {
        loop {
            let six = if old {
                rng.int(700_000, 879_999)
            } else {
                rng.int(900_000, 979_999)
            } as u32;
            let n = six * 10 + imo_check_digit(six);
            if self.imos.insert(n) {
                return n;
            }
        }
    }

    /// A name not used yet; after many collisions a running number tells hulls apart.
    fn unique(&mut self, mut make: impl FnMut() -> String) -> String {
        let mut attempt = 0;
        loop {
            let mut name = make();
            if attempt >= 50 {
                name = format!("{name} {}", attempt - 48);
            }
            if name.len() <= 20 && self.names.insert(name.clone()) {
                return name;
            }
            attempt += 1;
        }
    }

    pub(super) fn korean_name(&mut self, rng: &mut SplitMix64) -> String {
        let mut r = rng.clone();
        let name = self.unique(|| {
            let a = r.pick(KOREAN_SYLLABLES);
            let b = r.pick(KOREAN_SYLLABLES);
            format!("{a} {b} {}", r.int(1, 12))
        });
        *rng = r;
        name
    }

    pub(super) fn russian_name(&mut self, rng: &mut SplitMix64) -> String {
        let mut r = rng.clone();
        let name = self.unique(|| {
            let a = r.pick(RUSSIAN_FIRST);
            let b = r.pick(RUSSIAN_SECOND);
            if r.chance(0.4) {
                format!("{a}-{}", r.int(1, 60))
            } else {
                format!("{a} {b}")
            }
        });
        *rng = r;
        name
    }

    pub(super) fn chinese_name(&mut self, rng: &mut SplitMix64) -> String {
        let mut r = rng.clone();
        let name =
            self.unique(|| format!("{} {} {}", r.pick(CHINESE), r.pick(CHINESE), r.int(1, 99)));
        *rng = r;
        name
    }
}

/// The IMO check digit of the first six digits: their sum weighted 7 down to 2, modulo 10.
fn imo_check_digit(six: u32) -> u32 {
    (0..6u32)
        .map(|i| (six / 10u32.pow(5 - i) % 10) * (7 - i))
        .sum::<u32>()
        % 10
}

pub(super) fn callsign(rng: &mut SplitMix64, prefix: &str, len: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut s = prefix.to_string();
    while s.len() < len {
        s.push(char::from(*rng.pick(ALNUM)));
    }
    s
}

/// Splits a hull length and beam into reference-point offsets (antenna aft of midships).
pub(super) fn dims(rng: &mut SplitMix64, length: f64, beam: f64) -> (u16, u16, u8, u8) {
    let length = length.round() as u16;
    let beam = beam.round() as u16;
    let to_stern = (f64::from(length) * rng.range(0.15, 0.3)).round() as u16;
    let to_port = (beam / 2) as u8;
    (
        length - to_stern,
        to_stern,
        to_port,
        (beam - beam / 2) as u8,
    )
}

pub(super) fn eta_for(t: Ms) -> [u8; 4] {
    let (_, mo, d, h, mi, ..) = crate::time::UnixMillis(t).to_civil();
    [mo as u8, d as u8, h as u8, (mi / 10 * 10) as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imo_numbers_carry_a_valid_check_digit() {
        let mut registry = Registry::new();
        let mut rng = SplitMix64::new(5);
        for _ in 0..200 {
            let old = rng.chance(0.5);
            let imo = registry.imo(&mut rng, old);
            let d: Vec<u32> = imo
                .to_string()
                .bytes()
                .map(|b| u32::from(b - b'0'))
                .collect();
            assert_eq!(d.len(), 7);
            let sum: u32 = (0..6).map(|i| d[i] * (7 - i as u32)).sum();
            assert_eq!(sum % 10, d[6], "IMO {imo}");
        }
        // IMO's own published example: 9074729.
        assert_eq!(imo_check_digit(907_472), 9);
    }
}
