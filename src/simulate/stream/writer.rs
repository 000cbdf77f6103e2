//! The feed's writer: lines into the NMEA log and rows into the CSV, with what real feeds
//! carry besides the vessels' reports: damaged copies and garbage, fragments of one message
//! interleaved with another sentence, base-station heartbeats and time sentences.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::simulate::encode::{lat_raw, lon_raw, Armoured, BaseStationReport, TagBlock};
use crate::simulate::plan::{Ms, MINUTE, SECOND};
use crate::simulate::rng::SplitMix64;
use crate::simulate::truth::Counts;
use crate::simulate::world::STATIONS;
use crate::time::UnixMillis;

/// About one line in a thousand is followed by a damaged copy or garbage.
const CORRUPT_EVERY: (i64, i64) = (700, 1300);

/// Kinds of damaged line, in the order they are injected.
#[derive(Clone, Copy, Debug)]
enum Damage {
    BadChecksum,
    Truncated,
    Garbage,
    BadTagBlock,
}

const DAMAGES: [Damage; 4] = [
    Damage::BadChecksum,
    Damage::Truncated,
    Damage::Garbage,
    Damage::BadTagBlock,
];

pub(super) struct Writer<'a> {
    pub(super) nmea: &'a mut dyn Write,
    pub(super) csv: &'a mut dyn Write,
    pub(super) line: Vec<u8>,
    pub(super) text: String,
    pub(super) pending_fragment: Option<(Ms, Vec<u8>)>,
    last_heartbeat: Vec<u8>,
    pub(super) rng: SplitMix64,
    until_damage: i64,
    damage_index: usize,
    pub(super) group_id: u32,
    seq_id: [u8; 3],
    pub(super) counts: Counts,
    pub(super) csv_rows: u64,
}

impl Writer<'_> {
    pub(super) fn new<'a>(
        nmea: &'a mut dyn Write,
        csv: &'a mut dyn Write,
        rng: SplitMix64,
    ) -> Writer<'a> {
        let mut writer = Writer {
            nmea,
            csv,
            line: Vec::with_capacity(256),
            text: String::with_capacity(256),
            pending_fragment: None,
            last_heartbeat: Vec::new(),
            rng,
            until_damage: 0,
            damage_index: 0,
            group_id: 0,
            seq_id: [0; 3],
            counts: Counts {
                lines: 0,
                corrupt_lines: 0,
                zda_lines: 0,
                position_reports: 0,
            },
            csv_rows: 0,
        };
        writer.until_damage = writer.rng.int(CORRUPT_EVERY.0, CORRUPT_EVERY.1);
        writer
    }

    /// Writes a fragment still held back, flushes both files and checks that every position
    /// report has its CSV row.
    pub(super) fn finish(mut self) -> io::Result<Counts> {
        if let Some((_, fragment)) = self.pending_fragment.take() {
            self.raw_line(&fragment)?;
        }
        self.nmea.flush()?;
        self.csv.flush()?;
        if self.csv_rows != self.counts.position_reports {
            return Err(io::Error::other(format!(
                "wrote {} CSV rows for {} position reports",
                self.csv_rows, self.counts.position_reports
            )));
        }
        Ok(self.counts)
    }

    /// Writes one complete line (without its newline) of the feed.
    pub(super) fn emit(&mut self, t: Ms, bytes: &[u8], is_heartbeat: bool) -> io::Result<()> {
        if let Some((sent, fragment)) = self.pending_fragment.take() {
            // Fragments of different messages interleave only within moments of each other.
            if t > sent + MINUTE {
                self.raw_line(&fragment)?;
                self.raw_line(bytes)?;
            } else {
                self.raw_line(bytes)?;
                self.raw_line(&fragment)?;
            }
        } else {
            self.raw_line(bytes)?;
        }
        if is_heartbeat {
            self.last_heartbeat.clear();
            self.last_heartbeat.extend_from_slice(bytes);
        }
        self.until_damage -= 1;
        if self.until_damage <= 0 {
            self.until_damage = self.rng.int(CORRUPT_EVERY.0, CORRUPT_EVERY.1);
            let damage = DAMAGES[self.damage_index % DAMAGES.len()];
            self.damage_index += 1;
            let damaged = self.damaged(damage, bytes);
            self.raw_line(&damaged)?;
            self.counts.corrupt_lines += 1;
        }
        Ok(())
    }

    pub(super) fn raw_line(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.nmea.write_all(bytes)?;
        self.nmea.write_all(b"\n")?;
        self.counts.lines += 1;
        Ok(())
    }

    fn damaged(&mut self, damage: Damage, source: &[u8]) -> Vec<u8> {
        match damage {
            Damage::BadChecksum => {
                let mut copy = source.to_vec();
                if let Some(star) = copy.iter().rposition(|&b| b == b'*') {
                    let old = std::str::from_utf8(&copy[star + 1..])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .unwrap_or(0);
                    let wrong = format!("{:02X}", old ^ (1 + self.rng.int(0, 254) as u8));
                    copy.truncate(star + 1);
                    copy.extend_from_slice(wrong.as_bytes());
                }
                copy
            }
            Damage::Truncated => {
                let cut = (source.len() as f64 * self.rng.range(0.4, 0.85)) as usize;
                let star = source
                    .iter()
                    .rposition(|&b| b == b'*')
                    .unwrap_or(source.len());
                source[..cut.min(star)].to_vec()
            }
            Damage::Garbage => {
                let len = self.rng.int(16, 80) as usize;
                (0..len)
                    .map(|_| {
                        let b = self.rng.int(1, 255) as u8;
                        if b == b'\n' || b == b'\r' {
                            b'~'
                        } else {
                            b
                        }
                    })
                    .collect()
            }
            Damage::BadTagBlock => {
                let mut copy = if self.last_heartbeat.is_empty() {
                    source.to_vec()
                } else {
                    self.last_heartbeat.clone()
                };
                // The tag block's own checksum sits between its first `*` and the `\`.
                if let Some(star) = copy.iter().position(|&b| b == b'*') {
                    if copy.len() > star + 2 {
                        let flip = if copy[star + 1] == b'0' { b'F' } else { b'0' };
                        copy[star + 1] = flip;
                    }
                }
                copy
            }
        }
    }

    pub(super) fn next_seq(&mut self, station: usize) -> u8 {
        let s = self.seq_id[station];
        self.seq_id[station] = (s + 1) % 10;
        s
    }
}

/// Replaces `text` with one single-fragment `!AIVDM` sentence behind its tag block (station and
/// time), the form of every one-sentence message in the feed.
pub(super) fn single_sentence(
    text: &mut String,
    station: &str,
    t: Ms,
    channel: char,
    armoured: &Armoured,
) {
    crate::simulate::encode::single_sentence(text, station, t / SECOND, channel, armoured);
}

pub(super) fn heartbeat(w: &mut Writer, station: usize, t: Ms) -> io::Result<()> {
    let st = &STATIONS[station];
    let Some(mmsi) = st.base_mmsi else {
        return Ok(());
    };
    let (y, mo, d, h, mi, s, _) = UnixMillis(t).to_civil();
    let armoured = BaseStationReport {
        repeat: 0,
        mmsi,
        year: y as u16,
        month: mo as u8,
        day: d as u8,
        hour: h as u8,
        minute: mi as u8,
        second: s as u8,
        accuracy: true,
        lon: lon_raw(Some(st.site.lon)),
        lat: lat_raw(Some(st.site.lat)),
        epfd: 7,
        raim: false,
        radio: w.rng.int(0, (1 << 19) - 1) as u32,
    }
    .encode();
    let channel = if w.rng.chance(0.5) { 'A' } else { 'B' };
    single_sentence(&mut w.text, st.name, t, channel, &armoured);
    let line = w.text.as_bytes().to_vec();
    w.emit(t, &line, true)
}

pub(super) fn zda(w: &mut Writer, t: Ms) -> io::Result<()> {
    let (y, mo, d, h, mi, s, _) = UnixMillis(t).to_civil();
    w.text.clear();
    TagBlock {
        group: None,
        station: Some(STATIONS[0].name),
        unix_secs: Some(t / SECOND),
    }
    .write(&mut w.text);
    let start = w.text.len();
    let _ = write!(
        w.text,
        "$GPZDA,{h:02}{mi:02}{s:02}.00,{d:02},{mo:02},{y:04},00,00"
    );
    let sum = crate::simulate::encode::checksum(&w.text.as_bytes()[start + 1..]);
    let _ = write!(w.text, "*{sum:02X}");
    let line = w.text.as_bytes().to_vec();
    w.counts.zda_lines += 1;
    w.emit(t, &line, false)
}
