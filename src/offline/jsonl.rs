//! The JSON-lines record of one decoded event, written straight into a byte buffer: the same
//! bytes serde_json writes for the serde form of the event (kept as [`serde_record`], which
//! the tests compare against every record of the corpora), at a fraction of its cost.
//!
//! Numbers go through the formatters serde_json itself uses (`itoa` for integers, `zmij` for
//! the shortest round-trip text of `f32` and `f64`; NaN and infinities are `null`), strings
//! through serde_json's escaping rules, so the text is the same value for value.

use std::io;

use serde::Serialize;

use crate::model::{AisEvent, Heard, StationKind, TimeSource, TransceiverClass};
use crate::time::{UnixMillis, MILLIS_PER_DAY};

/// A member's key as written after the one before it: `,"name":`. Keys are this module's own
/// literals, so nothing in them needs escaping.
macro_rules! key {
    ($name:literal) => {
        concat!(",\"", $name, "\":").as_bytes()
    };
}

/// The serde form of a record, and the reference the hand-written writer must match.
#[derive(Serialize)]
struct JsonRecord<'a> {
    #[serde(flatten)]
    event: &'a AisEvent,
    /// Given here for the kinds whose record has no `msg_type` of its own (a type 4 base
    /// station report), so that every record names its message type.
    #[serde(skip_serializing_if = "Option::is_none")]
    msg_type: Option<u8>,
    station_kind: StationKind,
}

/// Appends the record of `event` (with its newline) through serde_json: the reference
/// output, and the baseline the decode benchmark measures the writer against.
pub fn serde_record(event: &AisEvent, out: &mut Vec<u8>) -> io::Result<()> {
    let record = JsonRecord {
        event,
        msg_type: matches!(event, AisEvent::ReceiverHeartbeat(_)).then(|| event.msg_type()),
        station_kind: event.mmsi().kind(),
    };
    serde_json::to_writer(&mut *out, &record)?;
    out.push(b'\n');
    Ok(())
}

/// Appends the record of `event` (with its newline): byte for byte what [`serde_record`]
/// appends. A record at a time; a stream of them goes faster through a [`RecordChunk`].
pub fn push_record(event: &AisEvent, out: &mut Vec<u8>) {
    let mut chunk = RecordChunk::with_capacity(0);
    chunk.push(event);
    out.extend_from_slice(chunk.as_bytes());
}

/// Most bytes a record takes besides its strings: the longest kind's keys (under 400 bytes)
/// and at most 40 bytes for each of its fewer than 30 numbers, times and literals, with room
/// for the sixteen-byte stores of [`Fields::uint`]. A test checks records of extreme values
/// against it.
const FIXED_TEXT_MAX: usize = 2048;

/// JSON-lines records gathered for one large write, written straight into a buffer kept
/// zero-filled to its length. A record is written at an index held in a register, not through
/// a `Vec` whose length and capacity every store could have changed; that halves its cost.
pub struct RecordChunk {
    bytes: Vec<u8>,
    filled: usize,
    date: DateText,
}

/// The `YYYY-MM-DDT` of the last day a time was written on: records come in time order, so
/// the calendar arithmetic is done once a day rather than once a record.
struct DateText {
    day: i64,
    text: [u8; 11],
}

impl RecordChunk {
    /// A chunk that takes `capacity` bytes of records (and the record that crosses it) before
    /// it grows.
    pub fn with_capacity(capacity: usize) -> RecordChunk {
        RecordChunk {
            bytes: vec![0; capacity + FIXED_TEXT_MAX],
            filled: 0,
            date: DateText {
                day: i64::MIN,
                text: [0; 11],
            },
        }
    }

    /// The records written since the last [`RecordChunk::clear`].
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.filled]
    }

    pub fn len(&self) -> usize {
        self.filled
    }

    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// Appends the record of `event` (with its newline): byte for byte what
    /// [`serde_record`] appends.
    pub fn push(&mut self, event: &AisEvent) {
        let most = self.filled + FIXED_TEXT_MAX + string_text_max(event);
        if self.bytes.len() < most {
            self.bytes.resize(most, 0);
        }
        let mut w = Fields {
            bytes: &mut self.bytes,
            at: self.filled,
            date: &mut self.date,
        };
        w.record(event);
        self.filled = w.at;
    }
}

/// Most bytes the strings of `event`'s record can take: six for each byte (`\u001f`) and the
/// quotes.
fn string_text_max(event: &AisEvent) -> usize {
    let text = |value: Option<&str>| value.map_or(0, |v| 6 * v.len() + 2);
    let heard = event.heard();
    let mut most = text(heard.station.as_deref()) + 8;
    if let AisEvent::VesselReport(r) = event {
        for value in [&r.name, &r.callsign, &r.destination, &r.eta] {
            most += text(value.as_deref());
        }
    }
    most
}

/// The record being written into a buffer that has room for all of it.
struct Fields<'o> {
    bytes: &'o mut [u8],
    at: usize,
    date: &'o mut DateText,
}

impl Fields<'_> {
    fn record(&mut self, event: &AisEvent) {
        let w = self;
        match event {
            AisEvent::Fix(f) => {
                w.raw(b"{\"kind\":", b"\"fix\"");
                w.uint(key!("mmsi"), f.mmsi.0.into());
                w.uint(key!("msg_type"), f.msg_type.into());
                w.raw(key!("class"), class_text(f.class));
                w.heard(&f.heard);
                w.f64(key!("lat"), f.lat);
                w.f64(key!("lon"), f.lon);
                w.opt_f32(key!("sog"), f.sog);
                w.opt_f32(key!("cog"), f.cog);
                w.opt_uint(key!("heading"), f.heading.map(u64::from));
                w.opt_uint(key!("nav_status"), f.nav_status.map(u64::from));
                w.opt_f32(key!("turn"), f.turn);
                w.raw(key!("accuracy"), bool_text(f.accuracy));
                w.raw(key!("raim"), bool_text(f.raim));
                w.opt_uint(key!("second"), f.second.map(u64::from));
            }
            AisEvent::VesselReport(r) => {
                w.raw(b"{\"kind\":", b"\"vessel_report\"");
                w.uint(key!("mmsi"), r.mmsi.0.into());
                w.uint(key!("msg_type"), r.msg_type.into());
                if let Some(part) = r.part {
                    w.uint(key!("part"), part.into());
                }
                match r.class {
                    Some(class) => w.raw(key!("class"), class_text(class)),
                    None => w.raw(key!("class"), b"null"),
                }
                w.heard(&r.heard);
                w.opt_uint(key!("imo"), r.imo.map(u64::from));
                w.opt_str(key!("name"), r.name.as_deref());
                w.opt_str(key!("callsign"), r.callsign.as_deref());
                w.opt_uint(key!("ship_type"), r.ship_type.map(u64::from));
                w.opt_uint(key!("to_bow"), r.to_bow.map(u64::from));
                w.opt_uint(key!("to_stern"), r.to_stern.map(u64::from));
                w.opt_uint(key!("to_port"), r.to_port.map(u64::from));
                w.opt_uint(key!("to_starboard"), r.to_starboard.map(u64::from));
                w.opt_uint(key!("length"), r.length.map(u64::from));
                w.opt_uint(key!("beam"), r.beam.map(u64::from));
                w.opt_f32(key!("draught"), r.draught);
                w.opt_str(key!("destination"), r.destination.as_deref());
                w.opt_str(key!("eta"), r.eta.as_deref());
            }
            AisEvent::ReceiverHeartbeat(h) => {
                w.raw(b"{\"kind\":", b"\"receiver_heartbeat\"");
                w.uint(key!("mmsi"), h.mmsi.0.into());
                w.heard(&h.heard);
                w.opt_time(key!("station_time"), h.station_time);
                w.opt_f64(key!("lat"), h.lat);
                w.opt_f64(key!("lon"), h.lon);
                w.uint(key!("msg_type"), event.msg_type().into());
            }
            AisEvent::PositionUnavailable(o) | AisEvent::Other(o) => {
                let kind: &[u8] = match event {
                    AisEvent::PositionUnavailable(_) => b"\"position_unavailable\"",
                    _ => b"\"other\"",
                };
                w.raw(b"{\"kind\":", kind);
                w.uint(key!("mmsi"), o.mmsi.0.into());
                w.uint(key!("msg_type"), o.msg_type.into());
                w.heard(&o.heard);
            }
        }
        w.raw(key!("station_kind"), station_kind_text(event.mmsi().kind()));
        w.put(b"}\n");
    }

    #[inline]
    fn put(&mut self, text: &[u8]) {
        self.bytes[self.at..self.at + text.len()].copy_from_slice(text);
        self.at += text.len();
    }

    /// `text` of at most 32 bytes, copied as two fixed-size pieces that overlap (stores the
    /// compiler writes in place, where a copy of unknown length calls `memcpy`).
    #[inline]
    fn put_short(&mut self, text: &[u8]) {
        let len = text.len();
        let at = self.at;
        match len {
            16..=32 => {
                self.bytes[at..at + 16].copy_from_slice(&text[..16]);
                self.bytes[at + len - 16..at + len].copy_from_slice(&text[len - 16..]);
            }
            8..=15 => {
                self.bytes[at..at + 8].copy_from_slice(&text[..8]);
                self.bytes[at + len - 8..at + len].copy_from_slice(&text[len - 8..]);
            }
            _ => self.bytes[at..at + len].copy_from_slice(text),
        }
        self.at += len;
    }

    #[inline]
    fn byte(&mut self, byte: u8) {
        self.bytes[self.at] = byte;
        self.at += 1;
    }

    /// A member whose value is already JSON text.
    #[inline]
    fn raw(&mut self, key: &[u8], value: &[u8]) {
        self.put(key);
        self.put(value);
    }

    #[inline]
    fn uint(&mut self, key: &[u8], value: u64) {
        self.put(key);
        push_u64(self, value);
    }

    #[inline]
    fn opt_uint(&mut self, key: &[u8], value: Option<u64>) {
        match value {
            Some(value) => self.uint(key, value),
            None => self.raw(key, b"null"),
        }
    }

    #[inline]
    fn f64(&mut self, key: &[u8], value: f64) {
        self.put(key);
        if value.is_finite() {
            self.put_short(zmij::Buffer::new().format_finite(value).as_bytes());
        } else {
            self.put(b"null");
        }
    }

    #[inline]
    fn opt_f64(&mut self, key: &[u8], value: Option<f64>) {
        match value {
            Some(value) => self.f64(key, value),
            None => self.raw(key, b"null"),
        }
    }

    #[inline]
    fn opt_f32(&mut self, key: &[u8], value: Option<f32>) {
        self.put(key);
        match value {
            Some(value) if value.is_finite() => push_f32(self, value),
            _ => self.put(b"null"),
        }
    }

    #[inline]
    fn opt_str(&mut self, key: &[u8], value: Option<&str>) {
        self.put(key);
        match value {
            Some(value) => push_json_string(self, value),
            None => self.put(b"null"),
        }
    }

    #[inline]
    fn opt_time(&mut self, key: &[u8], value: Option<UnixMillis>) {
        self.put(key);
        match value {
            Some(time) => {
                self.byte(b'"');
                push_time(self, time);
                self.byte(b'"');
            }
            None => self.put(b"null"),
        }
    }

    fn heard(&mut self, heard: &Heard) {
        self.opt_time(key!("time"), heard.time);
        match heard.time_source {
            Some(source) => self.raw(key!("time_source"), time_source_text(source)),
            None => self.raw(key!("time_source"), b"null"),
        }
        self.opt_str(key!("station"), heard.station.as_deref());
        self.put(key!("channel"));
        match heard.channel {
            Some(channel) if channel.is_ascii_alphanumeric() => {
                self.put(&[b'"', channel as u8, b'"'])
            }
            Some(channel) => push_json_string(self, channel.encode_utf8(&mut [0; 4])),
            None => self.put(b"null"),
        }
    }
}

/// A JSON string as serde_json writes it: `"` and `\` escaped, the control characters as
/// `\b \t \n \f \r` or `\u00xx`, everything else (DEL and non-ASCII included) as is.
fn push_json_string(out: &mut Fields, value: &str) {
    out.byte(b'"');
    let bytes = value.as_bytes();
    // Names and stations almost never need an escape: one pass without early exit (which the
    // compiler runs several bytes at a time) settles that before the byte-by-byte one.
    if !bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    }) {
        out.put(bytes);
        out.byte(b'"');
        return;
    }
    let mut run_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.put(&bytes[run_start..i]);
        run_start = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.put(b"\\u00");
            out.byte(HEX[usize::from(byte >> 4)]);
            out.byte(HEX[usize::from(byte & 0xf)]);
        } else {
            out.put(escape);
        }
    }
    out.put(&bytes[run_start..]);
    out.byte(b'"');
}

/// `00` to `99`, two bytes each.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `value` in decimal, as itoa writes it. Up to sixteen digits are formatted in a fixed array
/// that is stored whole and then counted for its digits only, a fixed-size store instead of a
/// copy of unknown length; MMSIs and the small fields fit, longer values take itoa.
#[inline]
fn push_u64(out: &mut Fields, value: u64) {
    if value < 10 {
        out.byte(b'0' + value as u8);
        return;
    }
    if value >= 10_000_000_000_000_000 {
        out.put(itoa::Buffer::new().format(value).as_bytes());
        return;
    }
    let len = value.ilog10() as usize + 1;
    let mut digits = [0u8; 16];
    let (mut rest, mut end) = (value, len);
    while rest >= 100 {
        let pair = (rest % 100) as usize * 2;
        rest /= 100;
        end -= 2;
        digits[end..end + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if rest >= 10 {
        let pair = rest as usize * 2;
        digits[..2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        digits[0] = b'0' + rest as u8;
    }
    let at = out.at;
    out.put(&digits);
    out.at = at + len;
}

/// Tenths written from their digits, at most this many.
const MAX_TENTHS: u32 = 99_999;

/// A finite `f32` as zmij writes it. Speeds, courses and draughts come from the payload as
/// tenths (`raw as f32 / 10.0`), and the shortest text that reads back as such a value is the
/// tenths' own decimal (`12.3`, `0.0`; the tests check it for every tenth up to
/// [`MAX_TENTHS`]), which is cheaper to write than to search for.
#[inline]
fn push_f32(out: &mut Fields, value: f32) {
    let scaled = value * 10.0;
    if (0.0..=MAX_TENTHS as f32).contains(&scaled) {
        // Not `round()`, a library call here: a near miss fails the check below anyway.
        let tenths = (scaled + 0.5) as u32;
        // Bit equality also sends -0.0 (which reads as 0.0 tenths) to the general path.
        if (tenths as f32 / 10.0).to_bits() == value.to_bits() {
            push_tenths(out, tenths);
            return;
        }
    }
    out.put_short(zmij::Buffer::new().format_finite(value).as_bytes());
}

/// `tenths / 10` with one decimal, `tenths` at most [`MAX_TENTHS`]; fixed-length stores per
/// digit count rather than a copy of a formatted buffer.
#[inline]
fn push_tenths(out: &mut Fields, tenths: u32) {
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let whole = tenths / 10;
    let tenth = digit(tenths);
    match whole {
        0..=9 => out.put(&[digit(whole), b'.', tenth]),
        10..=99 => out.put(&[digit(whole / 10), digit(whole), b'.', tenth]),
        100..=999 => out.put(&[
            digit(whole / 100),
            digit(whole / 10),
            digit(whole),
            b'.',
            tenth,
        ]),
        _ => out.put(&[
            digit(whole / 1000),
            digit(whole / 100),
            digit(whole / 10),
            digit(whole),
            b'.',
            tenth,
        ]),
    }
}

/// The text of `UnixMillis`' `Display` (`2024-03-07T04:12:31Z`, `.250` when there are
/// milliseconds), digit by digit; years outside 0-9999 take the `Display` path itself.
fn push_time(out: &mut Fields, time: UnixMillis) {
    let day = time.0.div_euclid(MILLIS_PER_DAY);
    if day != out.date.day {
        let (year, month, day_of_month, ..) = time.to_civil();
        if !(0..=9999).contains(&year) {
            out.put(time.to_string().as_bytes());
            return;
        }
        let year = year as u32;
        let [y1, y2] = two_digits(year / 100);
        let [y3, y4] = two_digits(year % 100);
        let [mo1, mo2] = two_digits(month);
        let [d1, d2] = two_digits(day_of_month);
        out.date.text = [y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T'];
        out.date.day = day;
    }
    let date = out.date.text;
    out.put(&date);
    let of_day = time.0.rem_euclid(MILLIS_PER_DAY) as u32;
    let (seconds, millis) = (of_day / 1000, of_day % 1000);
    let [h1, h2] = two_digits(seconds / 3600);
    let [mi1, mi2] = two_digits(seconds / 60 % 60);
    let [s1, s2] = two_digits(seconds % 60);
    out.put(&[h1, h2, b':', mi1, mi2, b':', s1, s2]);
    if millis != 0 {
        let [m2, m3] = two_digits(millis % 100);
        out.put(&[b'.', b'0' + (millis / 100) as u8, m2, m3]);
    }
    out.byte(b'Z');
}

/// `n` (below 100) as two digits.
#[inline]
fn two_digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]
}

fn bool_text(value: bool) -> &'static [u8] {
    if value {
        b"true"
    } else {
        b"false"
    }
}

fn class_text(class: TransceiverClass) -> &'static [u8] {
    match class {
        TransceiverClass::A => b"\"A\"",
        TransceiverClass::B => b"\"B\"",
    }
}

fn time_source_text(source: TimeSource) -> &'static [u8] {
    match source {
        TimeSource::TagBlock => b"\"tag_block\"",
        TimeSource::Gatehouse => b"\"gatehouse\"",
        TimeSource::LogColumn => b"\"log_column\"",
        TimeSource::Csv => b"\"csv\"",
        TimeSource::TimeSentence => b"\"time_sentence\"",
        TimeSource::Received => b"\"received\"",
        TimeSource::ReceivedOnSourceClock => b"\"received_on_source_clock\"",
    }
}

fn station_kind_text(kind: StationKind) -> &'static [u8] {
    match kind {
        StationKind::Vessel => b"\"vessel\"",
        StationKind::BaseStation => b"\"base_station\"",
        StationKind::Group => b"\"group\"",
        StationKind::SarAircraft => b"\"sar_aircraft\"",
        StationKind::AidToNavigation => b"\"aid_to_navigation\"",
        StationKind::Beacon => b"\"beacon\"",
        StationKind::Auxiliary => b"\"auxiliary\"",
        StationKind::FreeFormDevice => b"\"free_form_device\"",
        StationKind::Other => b"\"other\"",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Fix, Mmsi, OtherMessage, ReceiverHeartbeat, VesselReport};

    fn both(event: &AisEvent) -> (String, String) {
        let mut reference = Vec::new();
        serde_record(event, &mut reference).unwrap();
        let mut written = Vec::new();
        push_record(event, &mut written);
        (
            String::from_utf8(reference).unwrap(),
            String::from_utf8(written).unwrap(),
        )
    }

    /// What `write` writes into an empty record, with `before` written ahead of it.
    fn text_of(before: &[u8], write: impl FnOnce(&mut Fields)) -> Vec<u8> {
        let mut bytes = vec![0; FIXED_TEXT_MAX];
        let mut date = DateText {
            day: i64::MIN,
            text: [0; 11],
        };
        let mut fields = Fields {
            bytes: &mut bytes,
            at: 0,
            date: &mut date,
        };
        fields.put(before);
        write(&mut fields);
        let at = fields.at;
        bytes.truncate(at);
        bytes
    }

    #[test]
    fn every_tenth_is_written_as_zmij_writes_it() {
        for tenths in 0..=MAX_TENTHS + 10 {
            let value = tenths as f32 / 10.0;
            let bits = value.to_bits();
            let neighbours = [bits + 1, bits.saturating_sub(1)].map(f32::from_bits);
            for value in [value, -value, neighbours[0], neighbours[1]] {
                let written = text_of(b"", |w| push_f32(w, value));
                assert_eq!(
                    written,
                    zmij::Buffer::new().format_finite(value).as_bytes(),
                    "{value:?}"
                );
            }
        }
    }

    #[test]
    fn integers_are_written_as_itoa_writes_them() {
        let powers = (0..20).map(|e| 10u64.pow(e));
        let edges = powers.flat_map(|p| [p - 1, p, p + 1]);
        for value in (0..100_000).chain(edges).chain([u32::MAX.into(), u64::MAX]) {
            let written = text_of(b"x", |w| push_u64(w, value));
            let expected = format!("x{}", itoa::Buffer::new().format(value));
            assert_eq!(written, expected.as_bytes());
        }
    }

    #[test]
    fn strings_without_escapes_are_copied_whole() {
        for (value, expected) in [
            ("", "\"\""),
            ("RU-NKH", "\"RU-NKH\""),
            ("a\"b", "\"a\\\"b\""),
            ("\\", "\"\\\\\""),
            ("\u{1f}x", "\"\\u001fx\""),
            ("é\u{7f}", "\"é\u{7f}\""),
        ] {
            let written = text_of(b"", |w| push_json_string(w, value));
            assert_eq!(String::from_utf8(written).unwrap(), expected);
            assert_eq!(serde_json::to_string(value).unwrap(), expected);
        }
    }

    /// Values the corpora rarely or never hold: escapes, non-finite and extreme numbers,
    /// years outside four digits, a multi-byte channel.
    #[test]
    fn edge_values_are_written_as_serde_json_writes_them() {
        let heard = Heard {
            time: Some(UnixMillis(-62_198_755_200_001)),
            time_source: Some(TimeSource::Received),
            station: Some(Arc::from("st\"a\\t\u{1}\u{7f}\u{8}\u{c}\r\n\té")),
            channel: Some('é'),
            line: None,
        };
        let fix = AisEvent::Fix(Fix {
            mmsi: Mmsi(u32::MAX),
            msg_type: 27,
            class: TransceiverClass::B,
            heard: heard.clone(),
            lat: -0.0,
            lon: 1e-300,
            sog: Some(f32::NAN),
            cog: Some(f32::INFINITY),
            heading: Some(511),
            nav_status: None,
            turn: Some(-720.0032),
            accuracy: true,
            raim: false,
            second: Some(60),
        });
        let report = AisEvent::VesselReport(VesselReport {
            mmsi: Mmsi(0),
            part: Some(1),
            heard: Heard {
                time: Some(UnixMillis(253_402_300_800_000)),
                ..Heard::default()
            },
            name: Some("".into()),
            draught: Some(f32::MAX),
            eta: Some("\u{1f}".into()),
            ..VesselReport::default()
        });
        let heartbeat = AisEvent::ReceiverHeartbeat(ReceiverHeartbeat {
            mmsi: Mmsi(2_190_064),
            heard,
            station_time: Some(UnixMillis(1_709_784_751_007)),
            lat: Some(f64::NEG_INFINITY),
            lon: Some(179.999_999_999_999_97),
        });
        for event in [fix, report, heartbeat] {
            let (reference, written) = both(&event);
            assert_eq!(written, reference);
        }
    }
    /// Every kind with each number, time and literal at its longest text and every string
    /// needing the longest escapes: the fixed part stays well inside its bound, and the record
    /// written through a chunk (which sizes itself from that bound) is serde_json's.
    #[test]
    fn the_longest_records_fit_their_bound() {
        let longest_time = Some(UnixMillis(-9_000_000_000_000_001));
        let escapes = "\u{1}".repeat(400);
        let heard = |station: &str| Heard {
            time: longest_time,
            time_source: Some(TimeSource::TimeSentence),
            station: Some(Arc::from(station)),
            channel: Some('\u{1}'),
            line: None,
        };
        let long_f32 = Some(-1.175_494_2e-38_f32);
        let long_f64 = -2.225_073_858_507_201_4e-308;
        let events = |station: &str, text: &str| {
            let fix = Fix {
                mmsi: Mmsi(u32::MAX),
                msg_type: u8::MAX,
                class: TransceiverClass::A,
                heard: heard(station),
                lat: long_f64,
                lon: long_f64,
                sog: long_f32,
                cog: long_f32,
                heading: Some(u16::MAX),
                nav_status: Some(u8::MAX),
                turn: long_f32,
                accuracy: false,
                raim: false,
                second: Some(u8::MAX),
            };
            let report = VesselReport {
                mmsi: Mmsi(u32::MAX),
                msg_type: u8::MAX,
                part: Some(u8::MAX),
                class: Some(TransceiverClass::B),
                heard: heard(station),
                imo: Some(u32::MAX),
                name: Some(text.into()),
                callsign: Some(text.into()),
                ship_type: Some(u8::MAX),
                to_bow: Some(u16::MAX),
                to_stern: Some(u16::MAX),
                to_port: Some(u16::MAX),
                to_starboard: Some(u16::MAX),
                length: Some(u16::MAX),
                beam: Some(u16::MAX),
                draught: long_f32,
                destination: Some(text.into()),
                eta: Some(text.into()),
            };
            let heartbeat = ReceiverHeartbeat {
                mmsi: Mmsi(u32::MAX),
                heard: heard(station),
                station_time: longest_time,
                lat: Some(long_f64),
                lon: Some(long_f64),
            };
            let other = OtherMessage {
                mmsi: Mmsi(u32::MAX),
                msg_type: u8::MAX,
                heard: heard(station),
            };
            [
                AisEvent::Fix(fix),
                AisEvent::VesselReport(report),
                AisEvent::ReceiverHeartbeat(heartbeat),
                AisEvent::PositionUnavailable(other.clone()),
                AisEvent::Other(other),
            ]
        };
        for event in events("", "") {
            let (reference, written) = both(&event);
            assert_eq!(written, reference);
            assert!(
                written.len() + 16 <= FIXED_TEXT_MAX / 2,
                "{} bytes without strings: {written}",
                written.len()
            );
        }
        let mut chunk = RecordChunk::with_capacity(0);
        for event in events(&escapes, &escapes) {
            let (reference, _) = both(&event);
            chunk.clear();
            chunk.push(&event);
            assert_eq!(
                String::from_utf8(chunk.as_bytes().to_vec()).unwrap(),
                reference
            );
        }
    }
}
