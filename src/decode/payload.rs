//! The AIS payload: 6-bit armour, a bit reader over the unpacked bits, and the layouts of the
//! message types aisgap interprets (ITU-R M.1371-5), turned into model events.

use crate::model::{
    AisEvent, Fix, Heard, Mmsi, OtherMessage, ReceiverHeartbeat, ShortText, StationKind,
    TransceiverClass, VesselReport,
};
use crate::time::UnixMillis;

/// Why a payload could not become a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// A character outside the two armour ranges (`0`-`W`, `` ` ``-`w`).
    BadCharacter { index: usize, byte: u8 },
    /// Fill bits outside 0-5, or more fill bits than the payload has.
    BadFillBits(u8),
    /// Fewer bits than the fields we read need.
    Short {
        msg_type: u8,
        needed: usize,
        got: usize,
    },
    /// A message type number that ITU-R M.1371 does not define (0 or above 27).
    UnknownType(u8),
    /// A type 24 with a reserved part number (2 or 3).
    BadPart(u8),
}

impl PayloadError {
    pub fn detail(&self) -> &'static str {
        match self {
            PayloadError::BadCharacter { .. } => "payload character outside the 6-bit armour",
            PayloadError::BadFillBits(_) => "fill bits outside 0-5",
            PayloadError::Short { .. } => "payload shorter than its message type needs",
            PayloadError::UnknownType(_) => "message type not defined by ITU-R M.1371",
            PayloadError::BadPart(_) => "type 24 part number is reserved",
        }
    }
}

/// 0xFF marks bytes that are not armour characters.
const SIXBIT: [u8; 256] = {
    let mut table = [0xFFu8; 256];
    let mut c = 48;
    while c < 88 {
        table[c] = (c - 48) as u8;
        c += 1;
    }
    let mut c = 96;
    while c < 120 {
        table[c] = (c - 56) as u8;
        c += 1;
    }
    table
};

const L: u64 = 0x0101_0101_0101_0101;
const H: u64 = 0x8080_8080_8080_8080;

/// Eight armour characters (little-endian in `w`, first character lowest) to their 48 bits,
/// first character most significant; `None` when one is not an armour character. Works on all
/// eight bytes at once: every byte is kept at 0x80 or above before a subtraction so that no
/// borrow crosses into its neighbour.
#[inline]
fn unarmour8(w: u64) -> Option<u64> {
    let high = w & H;
    // t = c - 48 (mod 128) per byte.
    let t = ((w | H) - 48 * L) & !H;
    let at_least = |n: u64| ((t | H) - n * L) & H;
    let from_96 = at_least(48);
    let invalid = high | (at_least(40) & !from_96) | at_least(72);
    if invalid != 0 {
        return None;
    }
    // c >= 96: value = c - 56, i.e. 8 less.
    let v = t - (from_96 >> 4);
    // Pack 6-bit lanes, first character first: pairs, then quads, then all eight.
    let pairs = ((v & 0x00FF_00FF_00FF_00FF) << 6) | ((v >> 8) & 0x00FF_00FF_00FF_00FF);
    let quads = ((pairs & 0x0000_FFFF_0000_FFFF) << 12) | ((pairs >> 16) & 0x0000_FFFF_0000_FFFF);
    Some(((quads & 0xFFFF_FFFF) << 24) | (quads >> 32))
}

/// Bytes of padding kept after the payload so that the reader can always load 8 bytes.
const PAD: usize = 8;

/// Unpacked payload bits, MSB first. Reused between messages so that decoding allocates nothing.
#[derive(Debug, Default)]
pub struct PayloadBits {
    bytes: Vec<u8>,
    bit_len: usize,
}

impl PayloadBits {
    pub fn new() -> Self {
        PayloadBits {
            bytes: Vec::with_capacity(256),
            bit_len: 0,
        }
    }

    /// Unpacks armoured characters; `fill_bits` are dropped from the end.
    pub fn load(&mut self, armoured: &[u8], fill_bits: u8) -> Result<(), PayloadError> {
        if fill_bits > 5 || (armoured.is_empty() && fill_bits != 0) {
            return Err(PayloadError::BadFillBits(fill_bits));
        }
        let total_bits = armoured.len() * 6;
        // Eight characters (48 bits) are written in place at a time as one 8-byte store; the
        // zeroed padding after the data lets the reader load 8 bytes anywhere.
        let needed = total_bits.div_ceil(8) + 8 + PAD;
        if self.bytes.len() < needed {
            self.bytes.resize(needed, 0);
        }
        let mut chunks = armoured.chunks_exact(8);
        let mut index = 0;
        let mut at = 0;
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let Some(packed) = unarmour8(u64::from_le_bytes(word)) else {
                let bad = chunk
                    .iter()
                    .position(|&x| SIXBIT[x as usize] == 0xFF)
                    .unwrap_or(0);
                return Err(PayloadError::BadCharacter {
                    index: index + bad,
                    byte: chunk[bad],
                });
            };
            if let Some(slot) = self.bytes.get_mut(at..at + 8) {
                slot.copy_from_slice(&(packed << 16).to_be_bytes());
            }
            index += 8;
            at += 6;
        }
        let mut acc: u32 = 0;
        let mut acc_bits = 0;
        for &ch in chunks.remainder() {
            let v = SIXBIT[ch as usize];
            if v == 0xFF {
                return Err(PayloadError::BadCharacter { index, byte: ch });
            }
            acc = (acc << 6) | u32::from(v);
            acc_bits += 6;
            if acc_bits >= 8 {
                acc_bits -= 8;
                self.bytes[at] = (acc >> acc_bits) as u8;
                at += 1;
            }
            index += 1;
        }
        if acc_bits > 0 {
            self.bytes[at] = (acc << (8 - acc_bits)) as u8;
            at += 1;
        }
        // Bytes past the data read as zero; older payloads may have left others further on.
        self.bytes[at..at + PAD].fill(0);
        self.bit_len = total_bits - usize::from(fill_bits);
        Ok(())
    }

    pub fn bit_len(&self) -> usize {
        self.bit_len
    }

    /// Unsigned field of `len` (1-32) bits at `start`. Bits past the end read as zero.
    #[inline]
    pub fn ubits(&self, start: usize, len: u32) -> u32 {
        debug_assert!((1..=32).contains(&len));
        (self.window(start) >> (64 - len)) as u32
    }

    /// The 64 bits from `start` on, at least 57 of them valid; zero past the buffer.
    #[inline]
    fn window(&self, start: usize) -> u64 {
        let byte = start >> 3;
        let Some(window) = self.bytes.get(byte..byte + 8) else {
            return 0;
        };
        let mut word = [0u8; 8];
        word.copy_from_slice(window);
        u64::from_be_bytes(word) << (start & 7)
    }

    /// Two's-complement signed field of `len` (2-32) bits at `start`.
    #[inline]
    pub fn sbits(&self, start: usize, len: u32) -> i32 {
        let raw = self.ubits(start, len);
        let shift = 32 - len;
        ((raw << shift) as i32) >> shift
    }

    /// 6-bit text of `chars` characters at `start`, `@` padding and spaces trimmed; `None`
    /// when nothing is left. Characters past the end of the payload are treated as padding.
    pub fn text(&self, start: usize, chars: usize) -> Option<ShortText> {
        let available = self.bit_len.saturating_sub(start) / 6;
        let chars = chars.min(available);
        let mut buf = [0u8; 64];
        let chars = chars.min(buf.len());
        // Eight characters (48 bits) per 8-byte load.
        for (group, slots) in buf[..chars].chunks_mut(8).enumerate() {
            let word = self.window(start + 48 * group);
            for (j, slot) in slots.iter_mut().enumerate() {
                let v = ((word >> (58 - 6 * j)) & 0x3F) as u8;
                *slot = if v < 32 { v + 64 } else { v };
            }
        }
        // '@' (6-bit zero) is padding; some transmitters pad on the left too ("@@J130B").
        let is_padding = |b: &u8| matches!(b, b'@' | b' ');
        let start = buf[..chars].iter().position(|b| !is_padding(b))?;
        let end = buf[..chars].iter().rposition(|b| !is_padding(b))? + 1;
        // Every byte is printable ASCII, so this cannot fail; the fallback keeps it panic-free.
        std::str::from_utf8(&buf[start..end])
            .ok()
            .map(ShortText::new)
    }
}

/// Bits each interpreted layout needs: up to and including the last field we read, not the
/// nominal length (168 for types 1-3). Longer payloads are accepted and the extra bits ignored
/// (real receivers append some: the 186-bit position reports in the GFW samples decode to
/// plausible positions); shorter ones are refused as `short_payload`. The rule is the same for
/// every type: a field that is not all there is never read.
pub fn needed_bits(msg_type: u8, part: Option<u8>) -> usize {
    match msg_type {
        1..=3 => 149,
        4 => 149,
        // Through the draught; the destination is read as far as it goes, because short
        // type 5 payloads (418-420 bits) are common and their identity fields are intact.
        5 => 302,
        18 => 148,
        19 => 306,
        24 => match part {
            Some(0) => 160,
            _ => 162,
        },
        27 => 94,
        _ => 38,
    }
}

/// What decoding one payload produced (for the caller's counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub msg_type: u8,
    pub events: u8,
    /// A position outside the globe (not the 91/181 "not available" markers): reported as
    /// unavailable rather than as a fix.
    pub invalid_position: bool,
}

/// Decodes the message in `bits` and appends its events to `out`.
pub fn decode_message(
    bits: &PayloadBits,
    heard: Heard,
    out: &mut Vec<AisEvent>,
) -> Result<Decoded, PayloadError> {
    let got = bits.bit_len();
    if got < 38 {
        let msg_type = if got >= 6 { bits.ubits(0, 6) as u8 } else { 0 };
        return Err(PayloadError::Short {
            msg_type,
            needed: 38,
            got,
        });
    }
    let msg_type = bits.ubits(0, 6) as u8;
    if msg_type == 0 || msg_type > 27 {
        return Err(PayloadError::UnknownType(msg_type));
    }
    let part = (msg_type == 24).then(|| bits.ubits(38, 2) as u8);
    if let Some(p @ 2..=3) = part {
        return Err(PayloadError::BadPart(p));
    }
    let needed = needed_bits(msg_type, part);
    if got < needed {
        return Err(PayloadError::Short {
            msg_type,
            needed,
            got,
        });
    }
    let mmsi = Mmsi(bits.ubits(8, 30));
    let mut decoded = Decoded {
        msg_type,
        events: 1,
        invalid_position: false,
    };
    match msg_type {
        1..=3 => class_a_position(bits, mmsi, msg_type, heard, out, &mut decoded),
        18 | 19 => class_b_position(bits, mmsi, msg_type, heard, out, &mut decoded),
        27 => long_range_position(bits, mmsi, msg_type, heard, out, &mut decoded),
        5 => static_and_voyage(bits, mmsi, msg_type, heard, out),
        24 => static_part(bits, mmsi, msg_type, part, heard, out),
        4 => base_station(bits, mmsi, heard, out, &mut decoded),
        _ => out.push(AisEvent::Other(OtherMessage {
            mmsi,
            msg_type,
            heard,
        })),
    }
    Ok(decoded)
}

// One function per message type, each inlined into `decode_message` so the optimiser sees the
// same single pass over the bits as when they were one match.

/// Types 1, 2 and 3: the Class A position report.
#[inline]
fn class_a_position(
    bits: &PayloadBits,
    mmsi: Mmsi,
    msg_type: u8,
    heard: Heard,
    out: &mut Vec<AisEvent>,
    decoded: &mut Decoded,
) {
    let position = position(bits.sbits(89, 27), bits.sbits(61, 28), 600_000.0);
    let fix = |lat, lon| Fix {
        mmsi,
        msg_type,
        class: TransceiverClass::A,
        heard: heard.clone(),
        lat,
        lon,
        sog: speed_tenths(bits.ubits(50, 10)),
        cog: course_tenths(bits.ubits(116, 12)),
        heading: heading(bits.ubits(128, 9)),
        nav_status: nav_status(bits.ubits(38, 4)),
        turn: rate_of_turn(bits.sbits(42, 8)),
        accuracy: bits.ubits(60, 1) == 1,
        raim: bits.ubits(148, 1) == 1,
        second: second(bits.ubits(137, 6)),
    };
    push_position(out, position, fix, mmsi, msg_type, &heard, decoded);
}

/// Types 18 and 19: the Class B position report (19 with the vessel's name, type and size).
#[inline]
fn class_b_position(
    bits: &PayloadBits,
    mmsi: Mmsi,
    msg_type: u8,
    heard: Heard,
    out: &mut Vec<AisEvent>,
    decoded: &mut Decoded,
) {
    let position = position(bits.sbits(85, 27), bits.sbits(57, 28), 600_000.0);
    let raim_bit = if msg_type == 18 { 147 } else { 305 };
    let fix = |lat, lon| Fix {
        mmsi,
        msg_type,
        class: TransceiverClass::B,
        heard: heard.clone(),
        lat,
        lon,
        sog: speed_tenths(bits.ubits(46, 10)),
        cog: course_tenths(bits.ubits(112, 12)),
        heading: heading(bits.ubits(124, 9)),
        nav_status: None,
        turn: None,
        accuracy: bits.ubits(56, 1) == 1,
        raim: bits.ubits(raim_bit, 1) == 1,
        second: second(bits.ubits(133, 6)),
    };
    push_position(out, position, fix, mmsi, msg_type, &heard, decoded);
    if msg_type == 19 {
        let (to_bow, to_stern, to_port, to_starboard) = dimensions(bits, 271);
        out.push(AisEvent::VesselReport(VesselReport {
            mmsi,
            msg_type,
            part: None,
            class: Some(TransceiverClass::B),
            heard,
            name: bits.text(143, 20),
            ship_type: ship_type(bits.ubits(263, 8)),
            ..with_dimensions(to_bow, to_stern, to_port, to_starboard)
        }));
        decoded.events = 2;
    }
}

/// Type 27: the long-range (satellite) position report, in coarse units.
#[inline]
fn long_range_position(
    bits: &PayloadBits,
    mmsi: Mmsi,
    msg_type: u8,
    heard: Heard,
    out: &mut Vec<AisEvent>,
    decoded: &mut Decoded,
) {
    let position = position(bits.sbits(62, 17), bits.sbits(44, 18), 600.0);
    let speed = bits.ubits(79, 6);
    let course = bits.ubits(85, 9);
    let fix = |lat, lon| Fix {
        mmsi,
        msg_type,
        class: TransceiverClass::A,
        heard: heard.clone(),
        lat,
        lon,
        sog: (speed != 63).then_some(speed as f32),
        cog: (course < 360).then_some(course as f32),
        heading: None,
        nav_status: nav_status(bits.ubits(40, 4)),
        turn: None,
        accuracy: bits.ubits(38, 1) == 1,
        raim: bits.ubits(39, 1) == 1,
        second: None,
    };
    push_position(out, position, fix, mmsi, msg_type, &heard, decoded);
}

/// Type 5: Class A static and voyage data.
#[inline]
fn static_and_voyage(
    bits: &PayloadBits,
    mmsi: Mmsi,
    msg_type: u8,
    heard: Heard,
    out: &mut Vec<AisEvent>,
) {
    let (to_bow, to_stern, to_port, to_starboard) = dimensions(bits, 240);
    let imo = bits.ubits(40, 30);
    let draught = bits.ubits(294, 8);
    out.push(AisEvent::VesselReport(VesselReport {
        mmsi,
        msg_type,
        part: None,
        class: Some(TransceiverClass::A),
        heard,
        imo: (imo != 0).then_some(imo),
        callsign: bits.text(70, 7),
        name: bits.text(112, 20),
        ship_type: ship_type(bits.ubits(232, 8)),
        draught: (draught != 0).then_some(draught as f32 / 10.0),
        destination: bits.text(302, 20),
        eta: eta(
            bits.ubits(274, 4),
            bits.ubits(278, 5),
            bits.ubits(283, 5),
            bits.ubits(288, 6),
        ),
        ..with_dimensions(to_bow, to_stern, to_port, to_starboard)
    }));
}

/// Type 24: Class B static data, part A (name) or part B (type, call sign, size).
#[inline]
fn static_part(
    bits: &PayloadBits,
    mmsi: Mmsi,
    msg_type: u8,
    part: Option<u8>,
    heard: Heard,
    out: &mut Vec<AisEvent>,
) {
    let report = if part == Some(0) {
        VesselReport {
            mmsi,
            msg_type,
            part,
            class: Some(TransceiverClass::B),
            heard,
            name: bits.text(40, 20),
            ..VesselReport::default()
        }
    } else {
        // Craft associated with a parent ship send the parent's MMSI where others send
        // their dimensions.
        let (to_bow, to_stern, to_port, to_starboard) = if mmsi.kind() == StationKind::Auxiliary {
            (None, None, None, None)
        } else {
            dimensions(bits, 132)
        };
        VesselReport {
            mmsi,
            msg_type,
            part,
            class: Some(TransceiverClass::B),
            heard,
            ship_type: ship_type(bits.ubits(40, 8)),
            callsign: bits.text(90, 7),
            ..with_dimensions(to_bow, to_stern, to_port, to_starboard)
        }
    };
    out.push(AisEvent::VesselReport(report));
}

/// Type 4: a base station's report, proof that its receiver is alive.
#[inline]
fn base_station(
    bits: &PayloadBits,
    mmsi: Mmsi,
    heard: Heard,
    out: &mut Vec<AisEvent>,
    decoded: &mut Decoded,
) {
    let (lat, lon) = match position(bits.sbits(107, 27), bits.sbits(79, 28), 600_000.0) {
        Position::Valid { lat, lon } => (Some(lat), Some(lon)),
        Position::Unavailable => (None, None),
        Position::Invalid => {
            decoded.invalid_position = true;
            (None, None)
        }
    };
    let station_time = station_time(
        bits.ubits(38, 14),
        bits.ubits(52, 4),
        bits.ubits(56, 5),
        bits.ubits(61, 5),
        bits.ubits(66, 6),
        bits.ubits(72, 6),
    );
    out.push(AisEvent::ReceiverHeartbeat(ReceiverHeartbeat {
        mmsi,
        heard,
        station_time,
        lat,
        lon,
    }));
}

enum Position {
    Valid {
        lat: f64,
        lon: f64,
    },
    /// The 91 / 181 "not available" markers.
    Unavailable,
    /// Outside the globe: a corrupt field, not a position.
    Invalid,
}

fn position(raw_lat: i32, raw_lon: i32, units_per_degree: f64) -> Position {
    let unavailable_lat = (91.0 * units_per_degree) as i32;
    let unavailable_lon = (181.0 * units_per_degree) as i32;
    if raw_lat == unavailable_lat || raw_lon == unavailable_lon {
        return Position::Unavailable;
    }
    let lat = f64::from(raw_lat) / units_per_degree;
    let lon = f64::from(raw_lon) / units_per_degree;
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        return Position::Invalid;
    }
    Position::Valid { lat, lon }
}

fn push_position(
    out: &mut Vec<AisEvent>,
    position: Position,
    fix: impl FnOnce(f64, f64) -> Fix,
    mmsi: Mmsi,
    msg_type: u8,
    heard: &Heard,
    decoded: &mut Decoded,
) {
    match position {
        Position::Valid { lat, lon } => out.push(AisEvent::Fix(fix(lat, lon))),
        Position::Unavailable | Position::Invalid => {
            decoded.invalid_position = matches!(position, Position::Invalid);
            out.push(AisEvent::PositionUnavailable(OtherMessage {
                mmsi,
                msg_type,
                heard: heard.clone(),
            }));
        }
    }
}

fn speed_tenths(raw: u32) -> Option<f32> {
    (raw != 1023).then(|| raw as f32 / 10.0)
}

fn course_tenths(raw: u32) -> Option<f32> {
    (raw < 3600).then(|| raw as f32 / 10.0)
}

fn heading(raw: u32) -> Option<u16> {
    (raw < 360).then_some(raw as u16)
}

fn second(raw: u32) -> Option<u8> {
    (raw < 60).then_some(raw as u8)
}

/// 15 is "not defined", the transmitter's default.
fn nav_status(raw: u32) -> Option<u8> {
    (raw != 15).then_some(raw as u8)
}

/// 0 is "not available".
fn ship_type(raw: u32) -> Option<u8> {
    (raw != 0).then_some(raw as u8)
}

/// ROT_AIS to degrees per minute: ROT = (ROT_AIS / 4.733)^2, sign kept. -128 is "not
/// available"; +-127 means "turning faster than 5 degrees per 30 s" without a number.
pub fn rate_of_turn(raw: i32) -> Option<f32> {
    if raw.abs() >= 127 {
        return None;
    }
    let rate = (raw as f32 / 4.733).powi(2);
    Some(if raw < 0 { -rate } else { rate })
}

/// Dimensions A-D (bow, stern, port, starboard) at `start`; all zero means "not available".
fn dimensions(
    bits: &PayloadBits,
    start: usize,
) -> (Option<u16>, Option<u16>, Option<u16>, Option<u16>) {
    let a = bits.ubits(start, 9) as u16;
    let b = bits.ubits(start + 9, 9) as u16;
    let c = bits.ubits(start + 18, 6) as u16;
    let d = bits.ubits(start + 24, 6) as u16;
    if a == 0 && b == 0 && c == 0 && d == 0 {
        return (None, None, None, None);
    }
    (Some(a), Some(b), Some(c), Some(d))
}

fn with_dimensions(
    to_bow: Option<u16>,
    to_stern: Option<u16>,
    to_port: Option<u16>,
    to_starboard: Option<u16>,
) -> VesselReport {
    let sum = |x: Option<u16>, y: Option<u16>| match (x, y) {
        (Some(x), Some(y)) if x + y > 0 => Some(x + y),
        _ => None,
    };
    VesselReport {
        to_bow,
        to_stern,
        to_port,
        to_starboard,
        length: sum(to_bow, to_stern),
        beam: sum(to_port, to_starboard),
        ..VesselReport::default()
    }
}

/// `MM-DDTHH:MMZ` as sent, or `None` when month or day is "not available" (0) or impossible.
fn eta(month: u32, day: u32, hour: u32, minute: u32) -> Option<ShortText> {
    if month == 0 || month > 12 || day == 0 {
        return None;
    }
    let mut eta = [0u8; 12];
    for (slot, (value, separator)) in
        eta.chunks_exact_mut(3)
            .zip([(month, b'-'), (day, b'T'), (hour, b':'), (minute, b'Z')])
    {
        slot[0] = b'0' + (value / 10 % 10) as u8;
        slot[1] = b'0' + (value % 10) as u8;
        slot[2] = separator;
    }
    // Digits and separators only, so always UTF-8.
    std::str::from_utf8(&eta).ok().map(ShortText::new)
}

/// The base station's clock reading, when every field is valid (year 0, month 0, day 0,
/// hour 24, minute 60, second 60 mean "not available").
fn station_time(
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<UnixMillis> {
    if year == 0 || second > 59 {
        return None;
    }
    UnixMillis::from_civil(i64::from(year), month, day, hour, minute, second, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits_of(armoured: &str, fill: u8) -> PayloadBits {
        let mut bits = PayloadBits::new();
        bits.load(armoured.as_bytes(), fill).unwrap();
        bits
    }

    fn decode(armoured: &str, fill: u8) -> Vec<AisEvent> {
        let mut out = Vec::new();
        decode_message(&bits_of(armoured, fill), Heard::default(), &mut out).unwrap();
        out
    }

    #[test]
    fn armour_unpacks_both_character_ranges() {
        // '0' = 0, 'W' = 39, '`' = 40, 'w' = 63.
        let bits = bits_of("0W`w", 0);
        assert_eq!(bits.bit_len(), 24);
        assert_eq!(bits.ubits(0, 6), 0);
        assert_eq!(bits.ubits(6, 6), 39);
        assert_eq!(bits.ubits(12, 6), 40);
        assert_eq!(bits.ubits(18, 6), 63);
        assert_eq!(bits.sbits(18, 6), -1);
        let mut bits = PayloadBits::new();
        assert_eq!(
            bits.load(b"15X", 0),
            Err(PayloadError::BadCharacter {
                index: 2,
                byte: b'X'
            })
        );
        assert_eq!(
            bits.load(b"15RTgt0PAso;90TKcjM8h6g208CQa", 6),
            Err(PayloadError::BadFillBits(6))
        );
    }

    #[test]
    fn eight_at_a_time_agrees_with_the_table_for_every_byte() {
        let reference = |chars: [u8; 8]| -> Option<u64> {
            chars.iter().try_fold(0u64, |acc, &c| {
                let v = SIXBIT[c as usize];
                (v != 0xFF).then(|| (acc << 6) | u64::from(v))
            })
        };
        let base = *b"15RTgt0P";
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut chars = base;
                chars[position] = byte;
                assert_eq!(
                    unarmour8(u64::from_le_bytes(chars)),
                    reference(chars),
                    "byte {byte} at {position}"
                );
            }
        }
    }

    #[test]
    fn a_short_payload_after_a_long_one_reads_zeros_past_its_end() {
        let mut bits = PayloadBits::new();
        bits.load(b"wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww", 0)
            .unwrap();
        bits.load(b"w", 0).unwrap();
        assert_eq!(bits.bit_len(), 6);
        assert_eq!(bits.ubits(0, 6), 63);
        assert_eq!(bits.ubits(6, 32), 0);
        assert_eq!(bits.ubits(40, 32), 0);
    }

    #[test]
    fn type1_fields_match_the_published_decoding() {
        // gpsd's sample.aivdm, first message (checked there against two other decoders).
        let events = decode("15RTgt0PAso;90TKcjM8h6g208CQ", 0);
        let AisEvent::Fix(fix) = &events[0] else {
            panic!("expected a fix, got {events:?}");
        };
        assert_eq!(fix.mmsi, Mmsi(371_798_000));
        assert_eq!(fix.nav_status, Some(0));
        assert_eq!(fix.turn, None, "ROT_AIS -127 has no number");
        assert_eq!(fix.sog, Some(12.3));
        assert!(fix.accuracy);
        assert!((fix.lon - -123.395_383_333).abs() < 1e-6);
        assert!((fix.lat - 48.381_633_333).abs() < 1e-6);
        assert_eq!(fix.cog, Some(224.0));
        assert_eq!(fix.heading, Some(215));
        assert_eq!(fix.second, Some(33));
        assert!(!fix.raim);
    }

    #[test]
    fn rate_of_turn_follows_the_square_law() {
        assert_eq!(rate_of_turn(-128), None);
        assert_eq!(rate_of_turn(127), None);
        assert_eq!(rate_of_turn(-127), None);
        assert_eq!(rate_of_turn(0), Some(0.0));
        let r = rate_of_turn(-10).unwrap();
        assert!((r - -(10.0f32 / 4.733).powi(2)).abs() < 1e-4);
        assert!(rate_of_turn(126).unwrap() > 708.0);
    }

    #[test]
    fn type5_static_and_voyage_data() {
        // gpsd sample.aivdm type 5 (EVER DIADEM), both fragments' payloads joined.
        let events = decode(
            "55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp888888888880",
            2,
        );
        let AisEvent::VesselReport(report) = &events[0] else {
            panic!("expected a vessel report, got {events:?}");
        };
        assert_eq!(report.mmsi, Mmsi(351_759_000));
        assert_eq!(report.imo, Some(9_134_270));
        assert_eq!(report.callsign.as_deref(), Some("3FOF8"));
        assert_eq!(report.name.as_deref(), Some("EVER DIADEM"));
        assert_eq!(report.ship_type, Some(70));
        assert_eq!(
            (
                report.to_bow,
                report.to_stern,
                report.to_port,
                report.to_starboard
            ),
            (Some(225), Some(70), Some(1), Some(31))
        );
        assert_eq!((report.length, report.beam), (Some(295), Some(32)));
        assert_eq!(report.draught, Some(12.2));
        assert_eq!(report.destination.as_deref(), Some("NEW YORK"));
        assert_eq!(report.eta.as_deref(), Some("05-15T14:00Z"));
    }

    #[test]
    fn short_payloads_are_refused_with_the_bits_needed() {
        let mut out = Vec::new();
        let bits = bits_of("15RTgt0PAso;90TKcjM8h6g2", 0);
        assert_eq!(
            decode_message(&bits, Heard::default(), &mut out),
            Err(PayloadError::Short {
                msg_type: 1,
                needed: 149,
                got: 144
            })
        );
        assert!(out.is_empty());
        let bits = bits_of("", 0);
        assert!(matches!(
            decode_message(&bits, Heard::default(), &mut out),
            Err(PayloadError::Short { got: 0, .. })
        ));
    }

    #[test]
    fn unavailable_position_is_not_a_fix() {
        // Type 18 with lon 181, lat 91 built bit by bit.
        let mut raw = vec![0u8; 168];
        let put = |raw: &mut Vec<u8>, start: usize, len: usize, value: u64| {
            for i in 0..len {
                raw[start + i] = ((value >> (len - 1 - i)) & 1) as u8;
            }
        };
        put(&mut raw, 0, 6, 18);
        put(&mut raw, 8, 30, 366_764_000);
        put(&mut raw, 57, 28, 181 * 600_000);
        put(&mut raw, 85, 27, 91 * 600_000);
        let armoured: String = raw
            .chunks(6)
            .map(|c| {
                let v = c.iter().fold(0u8, |acc, b| acc << 1 | b);
                (if v < 40 { v + 48 } else { v + 56 }) as char
            })
            .collect();
        let events = decode(&armoured, 0);
        assert!(matches!(
            &events[..],
            [AisEvent::PositionUnavailable(OtherMessage {
                mmsi: Mmsi(366_764_000),
                msg_type: 18,
                ..
            })]
        ));
    }

    #[test]
    fn text_trims_padding_but_keeps_inner_spaces() {
        // "@@J" in 6-bit: @=0 @=0 J=10.
        let left: String = [0u8, 0, 10].iter().map(|&v| (v + 48) as char).collect();
        assert_eq!(bits_of(&left, 0).text(0, 3).as_deref(), Some("J"));
        // "AB C@@" in 6-bit: A=1 B=2 ' '=32 C=3 @=0 @=0.
        let armoured: String = [1u8, 2, 32, 3, 0, 0]
            .iter()
            .map(|&v| (if v < 40 { v + 48 } else { v + 56 }) as char)
            .collect();
        let bits = bits_of(&armoured, 0);
        assert_eq!(bits.text(0, 6).as_deref(), Some("AB C"));
        assert_eq!(bits.text(24, 2), None);
        assert_eq!(
            bits.text(0, 40).as_deref(),
            Some("AB C"),
            "stops at the end"
        );
    }
}
