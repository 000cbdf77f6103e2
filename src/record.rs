//! The compact binary form of a timed [`AisEvent`], whose byte order is the order events reach
//! the engine in: by event time, then by MMSI, then by what the event says. Sorting these
//! records sorts the events, in memory and in spill files alike, and two inputs holding the
//! same events in any order give the same sequence.
//!
//! Layout: the key first, big-endian so that bytes compare like numbers (time with its sign bit
//! flipped, MMSI, kind, message type), then the event's fields, then where it was heard. Within
//! one instant and one vessel a position comes before the static data of the same moment, as a
//! CSV row emits them, so a report timed like fix B counts as heard after B.
//!
//! A row record holds a fix and the static report of the same row (same vessel, message type
//! and reception) in one: the fix's record followed by the report's fields. It sorts where
//! the fix's record sorts; the reader hands the report back separately, and the sort puts it
//! where its own record would have sorted (see [`crate::offline::sort`]).

use std::sync::Arc;

use crate::model::{
    AisEvent, Fix, Heard, LineRef, Mmsi, OtherMessage, ReceiverHeartbeat, ShortText, TimeSource,
    TransceiverClass, VesselReport,
};
use crate::time::UnixMillis;

/// A record that does not decode: a spill file damaged or written by another version.
#[derive(Debug, thiserror::Error)]
#[error("an event record is damaged ({what} at byte {at})")]
pub struct RecordError {
    pub what: &'static str,
    pub at: usize,
}

/// Appends the record of `event` to `out`. The event must be timed: untimed events have no
/// place in time order.
pub fn encode(event: &AisEvent, out: &mut Vec<u8>) {
    let time = event.time().expect("only timed events are ordered");
    put_key(out, time, event.mmsi(), kind_rank(event), event.msg_type());
    match event {
        AisEvent::Fix(f) => put_fix(out, f),
        AisEvent::VesselReport(r) => put_report(out, &ReportFields::of(r)),
        AisEvent::ReceiverHeartbeat(h) => {
            put_opt(out, h.station_time, |o, v| put_i64(o, v.as_millis()));
            put_opt(out, h.lat, put_f64);
            put_opt(out, h.lon, put_f64);
        }
        AisEvent::PositionUnavailable(_) | AisEvent::Other(_) => {}
    }
    put_heard(out, event.heard());
}

/// Appends the record of `fix` as read from `line` (whatever line its reception names): the
/// same bytes as [`encode`] of the fix with that line. The fix must be timed.
pub fn encode_fix(fix: &Fix, line: Option<LineRef>, out: &mut Vec<u8>) {
    let time = fix.heard.time.expect("only timed events are ordered");
    put_key(out, time, fix.mmsi, FIX_RANK, fix.msg_type);
    put_fix(out, fix);
    put_heard_at(out, &fix.heard, line);
}

/// Appends the record of a vessel report given by its parts, read from `line`: the same
/// bytes as [`encode`] of the report they make. `heard` must be timed.
pub fn encode_report(
    mmsi: Mmsi,
    msg_type: u8,
    heard: &Heard,
    line: Option<LineRef>,
    fields: &ReportFields<'_>,
    out: &mut Vec<u8>,
) {
    let time = heard.time.expect("only timed events are ordered");
    put_key(out, time, mmsi, REPORT_RANK, msg_type);
    put_report(out, fields);
    put_heard_at(out, heard, line);
}

/// Appends the row record of `fix` and the static report of the same row, read from `line`:
/// the fix's record, then `fields`. The report is the fix's vessel's, of the fix's message
/// type, heard as the fix was (which [`fits_row`] tells). The fix must be timed.
pub fn encode_row(fix: &Fix, fields: &ReportFields<'_>, line: Option<LineRef>, out: &mut Vec<u8>) {
    let time = fix.heard.time.expect("only timed events are ordered");
    // One reservation for the whole row instead of growth checks failing part-way.
    out.reserve(ROW_RECORD_BYTES);
    put_key(out, time, fix.mmsi, FIX_RANK, fix.msg_type);
    put_fix(out, fix);
    put_heard_at(out, &fix.heard, line);
    put_report(out, fields);
}

/// Whether a report (of `mmsi`, in a message of `msg_type`, heard so) can share a row record
/// with `fix`: it is the fix's vessel's, of its message type, and was heard as the fix was.
pub fn fits_row(fix: &Fix, mmsi: Mmsi, msg_type: u8, heard: &Heard) -> bool {
    fix.mmsi == mmsi && fix.msg_type == msg_type && fix.heard == *heard
}

/// What a vessel report says besides who sent it and how it was heard, its text borrowed (from
/// a CSV row or a [`VesselReport`]): what a record holds after its key.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReportFields<'a> {
    pub part: Option<u8>,
    pub class: Option<TransceiverClass>,
    pub imo: Option<u32>,
    pub name: Option<&'a str>,
    pub callsign: Option<&'a str>,
    pub ship_type: Option<u8>,
    pub to_bow: Option<u16>,
    pub to_stern: Option<u16>,
    pub to_port: Option<u16>,
    pub to_starboard: Option<u16>,
    pub length: Option<u16>,
    pub beam: Option<u16>,
    pub draught: Option<f32>,
    pub destination: Option<&'a str>,
    pub eta: Option<&'a str>,
}

impl<'a> ReportFields<'a> {
    pub fn of(r: &'a VesselReport) -> ReportFields<'a> {
        ReportFields {
            part: r.part,
            class: r.class,
            imo: r.imo,
            name: r.name.as_deref(),
            callsign: r.callsign.as_deref(),
            ship_type: r.ship_type,
            to_bow: r.to_bow,
            to_stern: r.to_stern,
            to_port: r.to_port,
            to_starboard: r.to_starboard,
            length: r.length,
            beam: r.beam,
            draught: r.draught,
            destination: r.destination.as_deref(),
            eta: r.eta.as_deref(),
        }
    }

    /// The report these fields make, sent by `mmsi` in a message of `msg_type`.
    pub fn to_report(&self, mmsi: Mmsi, msg_type: u8, heard: Heard) -> VesselReport {
        VesselReport {
            mmsi,
            msg_type,
            part: self.part,
            class: self.class,
            heard,
            imo: self.imo,
            name: self.name.map(ShortText::new),
            callsign: self.callsign.map(ShortText::new),
            ship_type: self.ship_type,
            to_bow: self.to_bow,
            to_stern: self.to_stern,
            to_port: self.to_port,
            to_starboard: self.to_starboard,
            length: self.length,
            beam: self.beam,
            draught: self.draught,
            destination: self.destination.map(ShortText::new),
            eta: self.eta.map(ShortText::new),
        }
    }
}

/// Room for one CSV row record (about 130 bytes with names and destination).
pub const ROW_RECORD_BYTES: usize = 160;

/// Bytes of a record's key before its kind: the event time and the MMSI.
pub const KEY_PREFIX: usize = 12;

/// The kind byte of a vessel report's record, right after [`KEY_PREFIX`].
pub const REPORT_RANK: u8 = 2;

const FIX_RANK: u8 = 0;

#[inline]
fn put_key(out: &mut Vec<u8>, time: UnixMillis, mmsi: Mmsi, rank: u8, msg_type: u8) {
    out.extend_from_slice(&((time.as_millis() as u64) ^ (1 << 63)).to_be_bytes());
    out.extend_from_slice(&mmsi.0.to_be_bytes());
    out.push(rank);
    out.push(msg_type);
}

#[inline]
fn put_fix(out: &mut Vec<u8>, f: &Fix) {
    put_class(out, Some(f.class));
    put_f64(out, f.lat);
    put_f64(out, f.lon);
    put_opt_f32(out, f.sog);
    put_opt_f32(out, f.cog);
    put_opt(out, f.heading, |o, v| o.extend_from_slice(&v.to_be_bytes()));
    put_opt(out, f.nav_status, |o, v| o.push(v));
    put_opt_f32(out, f.turn);
    out.push(u8::from(f.accuracy) | (u8::from(f.raim) << 1));
    put_opt(out, f.second, |o, v| o.push(v));
}

/// The event time a record starts with, without decoding the rest.
pub fn time_of(record: &[u8]) -> Option<UnixMillis> {
    let bytes: [u8; 8] = record.get(..8)?.try_into().ok()?;
    Some(UnixMillis((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64))
}

fn kind_rank(event: &AisEvent) -> u8 {
    match event {
        AisEvent::Fix(_) => FIX_RANK,
        AisEvent::PositionUnavailable(_) => 1,
        AisEvent::VesselReport(_) => REPORT_RANK,
        AisEvent::ReceiverHeartbeat(_) => 3,
        AisEvent::Other(_) => 4,
    }
}

#[inline]
fn put_report(out: &mut Vec<u8>, r: &ReportFields<'_>) {
    put_opt(out, r.part, |o, v| o.push(v));
    put_class(out, r.class);
    put_opt(out, r.imo, |o, v| o.extend_from_slice(&v.to_be_bytes()));
    put_opt(out, r.name, put_str);
    put_opt(out, r.callsign, put_str);
    put_opt(out, r.ship_type, |o, v| o.push(v));
    for value in [
        r.to_bow,
        r.to_stern,
        r.to_port,
        r.to_starboard,
        r.length,
        r.beam,
    ] {
        put_opt(out, value, |o, v| o.extend_from_slice(&v.to_be_bytes()));
    }
    put_opt_f32(out, r.draught);
    put_opt(out, r.destination, put_str);
    put_opt(out, r.eta, put_str);
}

#[inline]
fn put_heard(out: &mut Vec<u8>, heard: &Heard) {
    put_heard_at(out, heard, heard.line);
}

/// [`put_heard`] with the line the event was read from in place of the one `heard` names.
#[inline]
fn put_heard_at(out: &mut Vec<u8>, heard: &Heard, line: Option<LineRef>) {
    out.push(match heard.time_source {
        None => 0,
        Some(TimeSource::TagBlock) => 1,
        Some(TimeSource::Gatehouse) => 2,
        Some(TimeSource::LogColumn) => 3,
        Some(TimeSource::Csv) => 4,
        Some(TimeSource::Received) => 5,
        Some(TimeSource::TimeSentence) => 6,
        Some(TimeSource::ReceivedOnSourceClock) => 7,
    });
    put_opt(out, heard.channel, |o, c| {
        o.extend_from_slice(&u32::from(c).to_be_bytes())
    });
    // The station comes last: a receiver's name never decides which of two events goes first
    // unless they are otherwise identical.
    put_opt(out, heard.station.as_deref(), put_str);
    // Where the line was read sorts after everything the message says: two copies of one
    // message from two receivers keep their content order.
    put_opt(out, line, |o, line| {
        put_varint(o, u64::from(line.source));
        put_varint(o, line.line);
        put_varint(o, line.offset);
    });
}

#[inline(always)]
fn put_opt<T>(out: &mut Vec<u8>, value: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put(out, v);
        }
    }
}

#[inline(always)]
fn put_class(out: &mut Vec<u8>, class: Option<TransceiverClass>) {
    out.push(match class {
        None => 0,
        Some(TransceiverClass::A) => 1,
        Some(TransceiverClass::B) => 2,
    });
}

#[inline]
fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&((v as u64) ^ (1 << 63)).to_be_bytes());
}

#[inline(always)]
fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_be_bytes());
}

#[inline(always)]
fn put_opt_f32(out: &mut Vec<u8>, v: Option<f32>) {
    put_opt(out, v, |o, v| {
        o.extend_from_slice(&v.to_bits().to_be_bytes())
    });
}

/// Length first (a varint), so that a shorter string sorts before a longer one sharing its
/// start and the record stays self-delimiting.
#[inline(always)]
fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// LEB128: seven bits a byte, high bit set while more follow.
#[inline(always)]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at the start of `bytes`: its value and its length in bytes.
#[inline]
pub fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Turns records back into events. Keeps the station names it has seen, so that the events of
/// one receiver share one name again instead of one allocation each.
#[derive(Default)]
pub struct RecordReader {
    stations: Vec<Arc<str>>,
}

/// Distinct station names remembered; beyond them names are allocated per event.
const MAX_STATIONS: usize = 256;

impl RecordReader {
    /// The event of a record of one event; a row record is refused.
    pub fn read(&mut self, record: &[u8]) -> Result<AisEvent, RecordError> {
        match self.read_row(record)? {
            (event, None) => Ok(event),
            (_, Some(_)) => Err(RecordError {
                what: "bytes after the record",
                at: record.len(),
            }),
        }
    }

    /// The events of any record: one, or a row record's fix and the report that follows it.
    pub fn read_row(&mut self, record: &[u8]) -> Result<(AisEvent, Option<AisEvent>), RecordError> {
        let mut c = Cursor {
            bytes: record,
            at: 0,
        };
        let time = time_of(c.take(8)?).expect("eight bytes");
        let mmsi = Mmsi(c.u32()?);
        let rank = c.u8()?;
        let msg_type = c.u8()?;
        let event = match rank {
            0 => self.read_fix(&mut c, mmsi, msg_type, time)?,
            2 => {
                let mut report = read_report(&mut c, mmsi, msg_type)?;
                report.heard = self.read_heard(&mut c, time)?;
                AisEvent::VesselReport(report)
            }
            3 => {
                let station_time = c.opt(|c| c.i64().map(UnixMillis))?;
                let lat = c.opt(Cursor::f64)?;
                let lon = c.opt(Cursor::f64)?;
                AisEvent::ReceiverHeartbeat(ReceiverHeartbeat {
                    mmsi,
                    heard: self.read_heard(&mut c, time)?,
                    station_time,
                    lat,
                    lon,
                })
            }
            1 | 4 => {
                let other = OtherMessage {
                    mmsi,
                    msg_type,
                    heard: self.read_heard(&mut c, time)?,
                };
                if rank == 1 {
                    AisEvent::PositionUnavailable(other)
                } else {
                    AisEvent::Other(other)
                }
            }
            _ => return Err(c.error("unknown event kind")),
        };
        if c.at == record.len() {
            return Ok((event, None));
        }
        let AisEvent::Fix(fix) = &event else {
            return Err(c.error("bytes after the record"));
        };
        // A row record: the report of the fix's row follows, heard as the fix was.
        let mut report = read_report(&mut c, mmsi, msg_type)?;
        if c.at != record.len() {
            return Err(c.error("bytes after the record"));
        }
        report.heard = fix.heard.clone();
        Ok((event, Some(AisEvent::VesselReport(report))))
    }

    fn read_fix(
        &mut self,
        c: &mut Cursor<'_>,
        mmsi: Mmsi,
        msg_type: u8,
        time: UnixMillis,
    ) -> Result<AisEvent, RecordError> {
        let class = c.class()?.ok_or_else(|| c.error("a fix without class"))?;
        let lat = c.f64()?;
        let lon = c.f64()?;
        let sog = c.opt(Cursor::f32)?;
        let cog = c.opt(Cursor::f32)?;
        let heading = c.opt(Cursor::u16)?;
        let nav_status = c.opt(Cursor::u8)?;
        let turn = c.opt(Cursor::f32)?;
        let flags = c.u8()?;
        let second = c.opt(Cursor::u8)?;
        Ok(AisEvent::Fix(Fix {
            mmsi,
            msg_type,
            class,
            heard: self.read_heard(c, time)?,
            lat,
            lon,
            sog,
            cog,
            heading,
            nav_status,
            turn,
            accuracy: flags & 1 != 0,
            raim: flags & 2 != 0,
            second,
        }))
    }

    fn read_heard(&mut self, c: &mut Cursor<'_>, time: UnixMillis) -> Result<Heard, RecordError> {
        let time_source = match c.u8()? {
            0 => None,
            1 => Some(TimeSource::TagBlock),
            2 => Some(TimeSource::Gatehouse),
            3 => Some(TimeSource::LogColumn),
            4 => Some(TimeSource::Csv),
            5 => Some(TimeSource::Received),
            6 => Some(TimeSource::TimeSentence),
            7 => Some(TimeSource::ReceivedOnSourceClock),
            _ => return Err(c.error("unknown time source")),
        };
        let channel = c.opt(|c| {
            char::from_u32(c.u32()?).ok_or_else(|| c.error("a channel that is no character"))
        })?;
        let station = c.opt(|c| c.str_bytes())?;
        let station = match station {
            None => None,
            Some(bytes) => Some(self.station(c, bytes)?),
        };
        let line = c.opt(|c| {
            Ok(LineRef {
                source: u32::try_from(c.varint()?)
                    .map_err(|_| c.error("a source number out of range"))?,
                line: c.varint()?,
                offset: c.varint()?,
            })
        })?;
        Ok(Heard {
            time: Some(time),
            time_source,
            station,
            channel,
            line,
        })
    }

    fn station(&mut self, c: &Cursor<'_>, bytes: &[u8]) -> Result<Arc<str>, RecordError> {
        if let Some(known) = self.stations.iter().find(|s| s.as_bytes() == bytes) {
            return Ok(known.clone());
        }
        let name: Arc<str> = std::str::from_utf8(bytes)
            .map_err(|_| c.error("a station name that is not UTF-8"))?
            .into();
        if self.stations.len() < MAX_STATIONS {
            self.stations.push(name.clone());
        }
        Ok(name)
    }
}

fn read_report(c: &mut Cursor<'_>, mmsi: Mmsi, msg_type: u8) -> Result<VesselReport, RecordError> {
    let part = c.opt(Cursor::u8)?;
    let class = c.class()?;
    let imo = c.opt(Cursor::u32)?;
    let name = c.opt(Cursor::text)?;
    let callsign = c.opt(Cursor::text)?;
    let ship_type = c.opt(Cursor::u8)?;
    let mut sizes = [None; 6];
    for size in &mut sizes {
        *size = c.opt(Cursor::u16)?;
    }
    let [to_bow, to_stern, to_port, to_starboard, length, beam] = sizes;
    Ok(VesselReport {
        mmsi,
        msg_type,
        part,
        class,
        heard: Heard::default(),
        imo,
        name,
        callsign,
        ship_type,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
        length,
        beam,
        draught: c.opt(Cursor::f32)?,
        destination: c.opt(Cursor::text)?,
        eta: c.opt(Cursor::text)?,
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn error(&self, what: &'static str) -> RecordError {
        RecordError { what, at: self.at }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let end = self.at + n;
        let bytes = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| self.error("record cut short"))?;
        self.at = end;
        Ok(bytes)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        Ok(self.take(N)?.try_into().expect("N bytes taken"))
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    fn u16(&mut self) -> Result<u16, RecordError> {
        self.array().map(u16::from_be_bytes)
    }

    #[inline]
    fn u32(&mut self) -> Result<u32, RecordError> {
        self.array().map(u32::from_be_bytes)
    }

    #[inline]
    fn i64(&mut self) -> Result<i64, RecordError> {
        self.array()
            .map(|b| (u64::from_be_bytes(b) ^ (1 << 63)) as i64)
    }

    #[inline]
    fn f64(&mut self) -> Result<f64, RecordError> {
        self.array().map(|b| f64::from_bits(u64::from_be_bytes(b)))
    }

    #[inline]
    fn f32(&mut self) -> Result<f32, RecordError> {
        self.array().map(|b| f32::from_bits(u32::from_be_bytes(b)))
    }

    #[inline]
    fn class(&mut self) -> Result<Option<TransceiverClass>, RecordError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(TransceiverClass::A)),
            2 => Ok(Some(TransceiverClass::B)),
            _ => Err(self.error("unknown transceiver class")),
        }
    }

    #[inline]
    fn opt<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, RecordError>,
    ) -> Result<Option<T>, RecordError> {
        match self.u8()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(self.error("a presence flag that is neither 0 nor 1")),
        }
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, RecordError> {
        let (value, used) =
            read_varint(&self.bytes[self.at..]).ok_or_else(|| self.error("bad varint"))?;
        self.at += used;
        Ok(value)
    }

    #[inline]
    fn str_bytes(&mut self) -> Result<&'a [u8], RecordError> {
        let (len, used) =
            read_varint(&self.bytes[self.at..]).ok_or_else(|| self.error("bad length"))?;
        self.at += used;
        self.take(len as usize)
    }

    #[inline]
    fn text(&mut self) -> Result<ShortText, RecordError> {
        let bytes = self.str_bytes()?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(ShortText::new(text)),
            Err(_) => Err(self.error("text that is not UTF-8")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(time: i64, station: &str) -> Heard {
        Heard {
            time: Some(UnixMillis(time)),
            time_source: Some(TimeSource::TagBlock),
            station: Some(station.into()),
            channel: Some('B'),
            line: Some(LineRef {
                source: 3,
                line: 1_000_000_007,
                offset: 90_000_000_123,
            }),
        }
    }

    fn fix(mmsi: u32, time: i64, lat: f64) -> AisEvent {
        AisEvent::Fix(Fix {
            mmsi: Mmsi(mmsi),
            msg_type: 1,
            class: TransceiverClass::A,
            heard: heard(time, "RU-NKH"),
            lat,
            lon: 133.41,
            sog: Some(11.2),
            cog: None,
            heading: Some(45),
            nav_status: Some(0),
            turn: Some(-2.5),
            accuracy: true,
            raim: false,
            second: Some(12),
        })
    }

    fn report(mmsi: u32, time: i64) -> AisEvent {
        AisEvent::VesselReport(VesselReport {
            mmsi: Mmsi(mmsi),
            msg_type: 5,
            part: None,
            class: Some(TransceiverClass::A),
            heard: heard(time, "SAT-1"),
            imo: Some(8_914_934),
            name: Some("UN BYOL 2".into()),
            callsign: Some("HMYU7".into()),
            ship_type: Some(81),
            to_bow: Some(80),
            to_stern: Some(15),
            to_port: Some(7),
            to_starboard: Some(7),
            length: Some(95),
            beam: Some(14),
            draught: Some(3.6),
            destination: Some("VOSTOCHNY".into()),
            eta: Some("03-07T12:00Z".into()),
        })
    }

    fn others(time: i64) -> Vec<AisEvent> {
        let other = OtherMessage {
            mmsi: Mmsi(2_734_410),
            msg_type: 21,
            heard: Heard {
                time: Some(UnixMillis(time)),
                ..Heard::default()
            },
        };
        vec![
            AisEvent::ReceiverHeartbeat(ReceiverHeartbeat {
                mmsi: Mmsi(2_734_410),
                heard: heard(time, "RU-VVO"),
                station_time: Some(UnixMillis(time - 1000)),
                lat: Some(42.8),
                lon: None,
            }),
            AisEvent::Other(other.clone()),
            AisEvent::PositionUnavailable(other),
        ]
    }

    fn record(event: &AisEvent) -> Vec<u8> {
        let mut out = Vec::new();
        encode(event, &mut out);
        out
    }

    #[test]
    fn every_kind_of_event_comes_back_as_it_went_in() {
        let mut events = vec![
            fix(445_114_000, 1_709_510_415_000, 42.25),
            report(445_114_000, 0),
        ];
        events.extend(others(-5_000));
        let mut reader = RecordReader::default();
        for event in &events {
            let bytes = record(event);
            assert_eq!(&reader.read(&bytes).unwrap(), event);
            assert_eq!(time_of(&bytes), event.time());
        }
    }

    #[test]
    fn records_sort_by_time_then_vessel_then_position_before_static_data() {
        let mut events = [
            report(445_114_000, 2_000),
            fix(445_114_000, 2_000, 42.0),
            fix(273_000_000, 2_000, 43.0),
            fix(445_114_000, -1_000, 41.0),
            fix(445_114_000, 1_999, 40.0),
        ];
        events.sort_by_key(record);
        let order: Vec<(Option<UnixMillis>, u32, u8)> = events
            .iter()
            .map(|e| (e.time(), e.mmsi().0, e.msg_type()))
            .collect();
        assert_eq!(
            order,
            [
                (Some(UnixMillis(-1_000)), 445_114_000, 1),
                (Some(UnixMillis(1_999)), 445_114_000, 1),
                (Some(UnixMillis(2_000)), 273_000_000, 1),
                (Some(UnixMillis(2_000)), 445_114_000, 1),
                (Some(UnixMillis(2_000)), 445_114_000, 5),
            ]
        );
    }

    #[test]
    fn a_row_record_sorts_as_its_fix_and_reads_back_as_fix_and_report() {
        let mut fix = fix(445_114_000, 1_709_510_415_000, 42.25);
        let AisEvent::VesselReport(mut report) = report(445_114_000, 0) else {
            unreachable!()
        };
        let AisEvent::Fix(f) = &mut fix else {
            unreachable!()
        };
        report.msg_type = f.msg_type;
        report.heard = f.heard.clone();
        assert!(fits_row(f, report.mmsi, report.msg_type, &report.heard));
        report.heard.channel = Some('A');
        assert!(!fits_row(f, report.mmsi, report.msg_type, &report.heard));
        report.heard = f.heard.clone();
        let fields = ReportFields::of(&report);
        let mut row = Vec::new();
        encode_row(f, &fields, f.heard.line, &mut row);
        let alone = record(&fix);
        assert_eq!(&row[..alone.len()], alone.as_slice());
        let report_event = AisEvent::VesselReport(report.clone());
        let mut by_parts = Vec::new();
        encode_report(
            report.mmsi,
            report.msg_type,
            &report.heard,
            report.heard.line,
            &fields,
            &mut by_parts,
        );
        assert_eq!(by_parts, record(&report_event));
        // Read from another line than the reception names: as if the event named that line.
        let AisEvent::Fix(f) = &fix else {
            unreachable!()
        };
        let elsewhere = Some(LineRef {
            source: 1,
            line: 2,
            offset: 3,
        });
        let mut moved = f.clone();
        moved.heard.line = elsewhere;
        let mut fix_at = Vec::new();
        encode_fix(f, elsewhere, &mut fix_at);
        assert_eq!(fix_at, record(&AisEvent::Fix(moved.clone())));
        let mut row_at = Vec::new();
        encode_row(f, &fields, elsewhere, &mut row_at);
        assert_eq!(&row_at[..fix_at.len()], fix_at.as_slice());
        let mut report_at = Vec::new();
        encode_report(
            report.mmsi,
            report.msg_type,
            &report.heard,
            elsewhere,
            &fields,
            &mut report_at,
        );
        let mut moved_report = report.clone();
        moved_report.heard.line = elsewhere;
        assert_eq!(report_at, record(&AisEvent::VesselReport(moved_report)));
        assert_eq!(
            fields.to_report(report.mmsi, report.msg_type, report.heard.clone()),
            report
        );
        let mut reader = RecordReader::default();
        assert_eq!(
            reader.read_row(&row).unwrap(),
            (fix.clone(), Some(report_event))
        );
        assert!(reader.read(&row).is_err(), "one event's read refuses two");
        assert!(reader.read_row(&row[..row.len() - 1]).is_err());
    }

    #[test]
    fn a_damaged_record_is_refused_not_misread() {
        let bytes = record(&report(445_114_000, 0));
        let mut reader = RecordReader::default();
        for cut in [0, 5, 13, bytes.len() - 1] {
            assert!(reader.read(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(reader.read(&longer).is_err());
        let mut wrong_kind = bytes;
        wrong_kind[12] = 9;
        assert!(reader.read(&wrong_kind).is_err());
    }
}
