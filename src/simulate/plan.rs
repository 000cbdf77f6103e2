//! The scenario plan, decided up front from the seed: every vessel's identity over time, its
//! track, when it is silent and why (with the judgement that silence should earn), and the
//! whole-feed outages. The stream writer only samples this plan.

use std::collections::BTreeSet;

use crate::model::TransceiverClass;

use super::rng::SplitMix64;
use super::world::{
    bearing_deg, distance_nm, ll, offset, LatLon, CHONGJIN, DESIGNATED_PORTS, NAKHODKA, RAJIN,
    SLAVYANKA, VLADIVOSTOK, VOSTOCHNY,
};
use super::{ScenarioParams, SimulateError};

/// Milliseconds since the Unix epoch (always whole seconds in this scenario).
pub type Ms = i64;
pub const SECOND: Ms = 1000;
pub const MINUTE: Ms = 60 * SECOND;
pub const HOUR: Ms = 60 * MINUTE;

/// Rounds a time to the whole second, as the tag block's `c:` carries it.
fn secs(t: f64) -> Ms {
    (t / 1000.0).round() as Ms * 1000
}

fn hours(h: f64) -> Ms {
    secs(h * HOUR as f64)
}

/// What identifies a hull: the fields whose change across a gap raises confidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub imo: u32,
    pub name: String,
    pub callsign: String,
    pub ship_type: u8,
    pub to_bow: u16,
    pub to_stern: u16,
    pub to_port: u8,
    pub to_starboard: u8,
}

impl Identity {
    pub fn length(&self) -> u16 {
        self.to_bow + self.to_stern
    }

    pub fn beam(&self) -> u16 {
        u16::from(self.to_port) + u16::from(self.to_starboard)
    }
}

/// Static and voyage data as the crew has it entered at a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticState {
    pub identity: Identity,
    /// Decimetres; 0 = not available (Class B).
    pub draught_dm: u8,
    pub destination: String,
    /// Month, day, hour, minute.
    pub eta: [u8; 4],
}

/// How a vessel moves on a leg, and the navigational status it reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Moored,
    Anchored,
    Underway,
    Fishing,
    /// Stopped at sea, engines idle, drifting with the current.
    Drifting,
}

impl Mode {
    pub fn nav_status(self) -> u8 {
        match self {
            Mode::Moored => 5,
            Mode::Anchored => 1,
            Mode::Underway | Mode::Drifting => 0,
            Mode::Fishing => 7,
        }
    }

    /// Whether the vessel reports at the slow (moored) rate.
    pub fn is_slow(self) -> bool {
        matches!(self, Mode::Moored | Mode::Anchored | Mode::Drifting)
    }
}

/// One piece of a track: straight from `from` to `to` between `t0` and `t1`.
#[derive(Clone, Debug)]
pub struct Leg {
    pub t0: Ms,
    pub t1: Ms,
    pub from: LatLon,
    pub to: LatLon,
    pub mode: Mode,
    /// Heading while stationary; course-derived while moving.
    pub heading: u16,
}

impl Leg {
    pub fn knots(&self) -> f64 {
        let h = (self.t1 - self.t0) as f64 / HOUR as f64;
        if h <= 0.0 {
            0.0
        } else {
            distance_nm(self.from, self.to) / h
        }
    }

    pub fn course(&self) -> f64 {
        bearing_deg(self.from, self.to)
    }

    pub fn position(&self, t: Ms) -> LatLon {
        if self.t1 <= self.t0 {
            return self.to;
        }
        let f = ((t - self.t0) as f64 / (self.t1 - self.t0) as f64).clamp(0.0, 1.0);
        super::world::lerp(self.from, self.to, f)
    }
}

/// A vessel's whole movement, legs contiguous in time.
#[derive(Clone, Debug, Default)]
pub struct Track {
    pub legs: Vec<Leg>,
}

impl Track {
    /// The leg in force at `t` (the last one after the end).
    pub fn leg_at(&self, t: Ms) -> &Leg {
        let i = self.legs.partition_point(|l| l.t1 <= t);
        &self.legs[i.min(self.legs.len() - 1)]
    }

    pub fn position(&self, t: Ms) -> LatLon {
        self.leg_at(t).position(t)
    }
}

/// Builds a track leg by leg from a starting place and time.
struct TrackBuilder {
    t: Ms,
    pos: LatLon,
    legs: Vec<Leg>,
    heading: u16,
}

impl TrackBuilder {
    fn new(t: Ms, pos: LatLon, heading: u16) -> Self {
        TrackBuilder {
            t,
            pos,
            legs: Vec::new(),
            heading,
        }
    }

    /// Stays put until `until` (no-op if already later).
    fn stay(&mut self, mode: Mode, until: Ms) {
        if until <= self.t {
            return;
        }
        self.legs.push(Leg {
            t0: self.t,
            t1: until,
            from: self.pos,
            to: self.pos,
            mode,
            heading: self.heading,
        });
        self.t = until;
    }

    /// Sails straight to `to` at `knots`; returns the arrival time.
    fn sail(&mut self, to: LatLon, knots: f64, mode: Mode) -> Ms {
        let nm = distance_nm(self.pos, to);
        let t1 = self.t + secs(nm / knots * HOUR as f64).max(SECOND);
        let course = bearing_deg(self.pos, to);
        self.legs.push(Leg {
            t0: self.t,
            t1,
            from: self.pos,
            to,
            mode,
            heading: course.round() as u16 % 360,
        });
        self.heading = course.round() as u16 % 360;
        self.t = t1;
        self.pos = to;
        t1
    }

    fn sail_via(&mut self, waypoints: &[LatLon], knots: f64) -> Ms {
        for &w in waypoints {
            self.sail(w, knots, Mode::Underway);
        }
        self.t
    }

    /// Drifts for `duration` at `knots` on `bearing`.
    fn drift(&mut self, bearing: f64, knots: f64, duration: Ms) -> Ms {
        let to = offset(self.pos, bearing, knots * duration as f64 / HOUR as f64);
        let t1 = self.t + duration;
        self.legs.push(Leg {
            t0: self.t,
            t1,
            from: self.pos,
            to,
            mode: Mode::Drifting,
            heading: self.heading,
        });
        self.t = t1;
        self.pos = to;
        t1
    }

    fn finish(mut self, end: Ms, mode: Mode) -> Track {
        self.stay(mode, end + HOUR);
        Track { legs: self.legs }
    }
}

/// Why a vessel is silent, as the ground truth labels the resulting gap.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum GapLabel {
    /// Transponder off from 30-60 nm out, port call, back on at sea.
    DarkTrip,
    /// Transponder off at the berth itself.
    BerthDark,
    /// Silent in a reception hole far out at sea.
    ReceptionHole,
    /// Silent while drifting about 90 nm off Vostochny, reappearing where it vanished.
    LoiterFarOut,
    /// Silent near the port with one satellite fix delivered half a day late.
    LateFixSplit,
    /// A second vessel transmitting with the same MMSI far away.
    SharedMmsi,
    /// The whole feed was down.
    FeedOutage,
    /// A vessel that is not watched switched off in port.
    UnwatchedDark,
    /// A silence too short to be a gap.
    ShortSilence,
}

/// The judgement a silence must earn from the detection rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Trip {
        port: usize,
        high: bool,
    },
    Unreachable,
    NotNear,
    PositionJump,
    Withdrawn,
    /// Shorter than a gap: nothing at all.
    NoGap,
    /// The vessel is not watched: listed, never judged.
    NotWatched,
}

/// A window in which a vessel sends nothing. The last fix before it is sent exactly at
/// `from` and the first after it exactly at `until`, so the gap is the window itself.
#[derive(Clone, Debug)]
pub struct Silence {
    pub from: Ms,
    pub until: Ms,
    pub label: GapLabel,
    pub expect: Expect,
}

/// A position report heard by a satellite inside a silence and delivered `delay` late.
#[derive(Clone, Copy, Debug)]
pub struct LateFix {
    pub at: Ms,
    pub delay: Ms,
}

/// Kinds of ordinary traffic, each with its own reporting habits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Background {
    Dweller,
    Trader,
    Fishing,
}

#[derive(Clone, Debug)]
pub struct VesselPlan {
    pub mmsi: u32,
    pub class: TransceiverClass,
    pub track: Track,
    /// Static data in force from each time on (sorted; the first at `active_from`).
    pub statics: Vec<(Ms, StaticState)>,
    pub silences: Vec<Silence>,
    pub late_fixes: Vec<LateFix>,
    /// First and last moment the transponder is heard (a fix is sent at both).
    pub active_from: Ms,
    pub active_until: Ms,
    pub underway_every: Ms,
    pub slow_every: Ms,
    pub static_every: Ms,
    /// Chance that a fix reaches the feed a few minutes late (background traffic only).
    pub late_minutes_chance: f64,
}

impl VesselPlan {
    pub fn static_at(&self, t: Ms) -> &StaticState {
        let i = self.statics.partition_point(|(from, _)| *from <= t);
        &self.statics[i.saturating_sub(1)].1
    }

    /// The silence containing `t` (open at both ends).
    pub fn silence_at(&self, t: Ms) -> Option<&Silence> {
        self.silences.iter().find(|s| s.from < t && t < s.until)
    }
}

/// A label for a window of one MMSI that the truth must explain.
#[derive(Clone, Debug)]
pub struct Intent {
    pub mmsi: u32,
    pub from: Ms,
    pub until: Ms,
    pub label: GapLabel,
    pub expect: Expect,
}

/// An entry of `watchlist.csv`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WatchEntry {
    pub mmsi: u32,
    pub imo: u32,
    pub name: String,
    pub note: String,
}

pub struct Plan {
    pub start: Ms,
    pub end: Ms,
    pub vessels: Vec<VesselPlan>,
    /// Whole-feed outages: no line at all in [from, until).
    pub outages: Vec<(Ms, Ms)>,
    pub intents: Vec<Intent>,
    pub watchlist: Vec<WatchEntry>,
}

impl Plan {
    pub fn in_outage(&self, t: Ms) -> Option<(Ms, Ms)> {
        self.outages
            .iter()
            .copied()
            .find(|&(from, until)| from <= t && t < until)
    }
}

/// Length of a whole-feed outage.
const OUTAGE: Ms = 9 * HOUR + 30 * MINUTE;
/// Least distance kept between a planned silence or voyage and an outage.
const OUTAGE_CLEARANCE: Ms = 2 * HOUR;

/// Allocates unique MMSIs and IMO numbers and invents names in the flag's style.
struct Registry {
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
    fn new() -> Self {
        Registry {
            mmsis: BTreeSet::new(),
            imos: BTreeSet::new(),
            names: BTreeSet::new(),
        }
    }

    /// A ship-station MMSI under `mid`; `round` ones end in 000 as many older ships' do.
    fn mmsi(&mut self, rng: &mut SplitMix64, mid: u32, round: bool) -> u32 {
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
    fn imo(&mut self, rng: &mut SplitMix64, old: bool) -> u32 {
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

    fn korean_name(&mut self, rng: &mut SplitMix64) -> String {
        let mut r = rng.clone();
        let name = self.unique(|| {
            let a = r.pick(KOREAN_SYLLABLES);
            let b = r.pick(KOREAN_SYLLABLES);
            format!("{a} {b} {}", r.int(1, 12))
        });
        *rng = r;
        name
    }

    fn russian_name(&mut self, rng: &mut SplitMix64) -> String {
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

    fn chinese_name(&mut self, rng: &mut SplitMix64) -> String {
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

fn callsign(rng: &mut SplitMix64, prefix: &str, len: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut s = prefix.to_string();
    while s.len() < len {
        s.push(char::from(*rng.pick(ALNUM)));
    }
    s
}

/// Splits a hull length and beam into reference-point offsets (antenna aft of midships).
fn dims(rng: &mut SplitMix64, length: f64, beam: f64) -> (u16, u16, u8, u8) {
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

fn eta_for(t: Ms) -> [u8; 4] {
    let (_, mo, d, h, mi, ..) = crate::time::UnixMillis(t).to_civil();
    [mo as u8, d as u8, h as u8, (mi / 10 * 10) as u8]
}

fn overlaps_outage(outages: &[(Ms, Ms)], from: Ms, until: Ms, clearance: Ms) -> Option<Ms> {
    outages
        .iter()
        .find(|&&(o_from, o_until)| from < o_until + clearance && o_from - clearance < until)
        .map(|&(_, o_until)| o_until)
}

/// Context shared by the planners.
struct Ctx {
    start: Ms,
    end: Ms,
    outages: Vec<(Ms, Ms)>,
}

/// How a dark trip ends and whether it leaves evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TripKind {
    /// Draught rises by 2.0-2.8 m across the gap: high.
    Laden,
    /// Draught not updated: medium.
    Unchanged,
    /// Renamed while dark, draught not updated: high.
    Renamed,
    /// Draught typed up by only 0.3 m: below the rule, medium.
    SlightRise,
}

/// Extra behaviour folded into one round trip.
#[derive(Clone, Copy, Debug, Default)]
struct Extras {
    berth_dark: bool,
    reception_hole: bool,
    loiter_far_out: bool,
    short_silence: bool,
    late_fix_split: bool,
}

/// The watched vessels' round-trip roles, by slot in a set (0-3 tankers, 4 the watchlisted
/// cargo ship) and by cycle.
fn shuttle_cycle(slot: usize, cycle: usize, rng: &mut SplitMix64) -> (TripKind, Extras) {
    let mut e = Extras::default();
    let kind = match (slot, cycle) {
        (0, 0) => {
            e.reception_hole = true;
            TripKind::Laden
        }
        (0, 1) => {
            e.berth_dark = true;
            TripKind::Laden
        }
        (1, 0) => {
            e.loiter_far_out = true;
            TripKind::Unchanged
        }
        (1, 1) => {
            e.short_silence = true;
            TripKind::Laden
        }
        (2, 0) => {
            e.short_silence = true;
            TripKind::Laden
        }
        (2, 1) => TripKind::Renamed,
        (3, 0) => {
            e.late_fix_split = true;
            TripKind::Laden
        }
        (3, 1) => {
            e.short_silence = true;
            TripKind::Laden
        }
        _ => {
            e.short_silence = rng.chance(0.3);
            e.berth_dark = rng.chance(0.25);
            if rng.chance(0.15) {
                TripKind::Unchanged
            } else {
                TripKind::Laden
            }
        }
    };
    (kind, e)
}

/// One planned round trip from a North Korean port, before it is committed.
struct Cycle {
    builder: TrackBuilder,
    silences: Vec<Silence>,
    statics: Vec<(Ms, StaticState)>,
    late_fixes: Vec<LateFix>,
}

/// Routes out of and back into the home ports, clear of the coast.
fn home_route(home: LatLon) -> [LatLon; 2] {
    if home == RAJIN {
        [ll(42.02, 130.75), ll(41.80, 131.70)]
    } else {
        [ll(41.55, 130.45), ll(41.62, 131.55)]
    }
}

/// Plans one round trip leaving `depart`; the caller checks it against outages and the end.
#[allow(clippy::too_many_arguments)]
fn plan_round_trip(
    rng: &mut SplitMix64,
    depart: Ms,
    home: LatLon,
    home_berth: LatLon,
    berth: LatLon,
    base: &StaticState,
    laden_dm: u8,
    kind: TripKind,
    extras: Extras,
    registry_name: &str,
) -> Cycle {
    let vostochny = DESIGNATED_PORTS[VOSTOCHNY].centre;
    let knots = rng.range(9.0, 11.0);
    let mut b = TrackBuilder::new(depart, home_berth, 0);
    let mut silences = Vec::new();
    let mut statics = Vec::new();
    let mut late_fixes = Vec::new();

    let mut outbound = base.clone();
    outbound.destination = (*rng.pick(&["NAMPO", "VLADIVOSTOK", "FOR ORDERS", "NAKHODKA"])).into();
    outbound.eta = eta_for(depart + 30 * HOUR);
    statics.push((depart, outbound.clone()));

    let route = home_route(home);
    b.sail(route[0], knots * 0.7, Mode::Underway);
    if extras.reception_hole {
        // A ship-to-ship rendezvous far out at sea, outside any receiver's reach.
        let hole = ll(rng.range(39.9, 40.1), rng.range(131.7, 132.3));
        b.sail(hole, knots, Mode::Underway);
        let loiter_start = b.t;
        b.drift(rng.range(0.0, 360.0), rng.range(0.3, 0.8), 13 * HOUR);
        let from = loiter_start + hours(rng.range(1.5, 2.5));
        silences.push(Silence {
            from,
            until: from + hours(rng.range(7.8, 8.4)),
            label: GapLabel::ReceptionHole,
            expect: Expect::NotNear,
        });
    } else {
        b.sail(route[1], knots, Mode::Underway);
    }
    if extras.loiter_far_out {
        // Waiting for orders about 90 nm off the port, then drifting back near the same spot.
        let spot = offset(vostochny, rng.range(150.0, 165.0), rng.range(89.5, 91.5));
        b.sail(spot, knots, Mode::Underway);
        let loiter_start = b.t;
        b.drift(rng.range(0.0, 360.0), rng.range(0.1, 0.3), 12 * HOUR);
        let from = loiter_start + hours(rng.range(1.2, 1.8));
        silences.push(Silence {
            from,
            until: from + hours(rng.range(8.8, 9.3)),
            label: GapLabel::LoiterFarOut,
            expect: Expect::Unreachable,
        });
    }

    // Where it switches off (or, for a berth-dark call, the line it approaches on).
    let dark_bearing = rng.range(122.0, 150.0);
    let dark_nm = rng.range(33.0, 55.0);
    let approach = offset(vostochny, dark_bearing, dark_nm + 10.0);
    b.sail(approach, knots, Mode::Underway);
    if extras.short_silence {
        let spot = offset(
            vostochny,
            dark_bearing + rng.range(-8.0, 8.0),
            dark_nm + rng.range(5.0, 9.0),
        );
        b.sail(spot, knots * 0.6, Mode::Underway);
        let loiter_start = b.t;
        b.drift(rng.range(0.0, 360.0), rng.range(0.2, 0.5), 7 * HOUR);
        let from = loiter_start + hours(rng.range(0.8, 1.5));
        silences.push(Silence {
            from,
            until: from + hours(rng.range(2.2, 4.6)),
            label: GapLabel::ShortSilence,
            expect: Expect::NoGap,
        });
    }
    let dark_point = offset(vostochny, dark_bearing, dark_nm);
    b.sail(dark_point, knots, Mode::Underway);

    let high = matches!(kind, TripKind::Laden | TripKind::Renamed);
    let expect = Expect::Trip {
        port: VOSTOCHNY,
        high,
    };
    let dark_from;
    let at_berth;
    if extras.berth_dark {
        b.sail(berth, knots * 0.5, Mode::Underway);
        b.stay(Mode::Moored, b.t + hours(rng.range(3.0, 8.0)));
        dark_from = b.t;
        at_berth = b.t;
        b.stay(Mode::Moored, b.t + hours(rng.range(24.0, 32.0)));
    } else {
        dark_from = b.t;
        b.sail(berth, knots * 0.8, Mode::Underway);
        at_berth = b.t;
        b.stay(Mode::Moored, b.t + hours(rng.range(24.0, 36.0)));
    }
    let reappear = offset(vostochny, rng.range(122.0, 150.0), rng.range(31.0, 55.0));
    b.sail(reappear, knots * 0.9, Mode::Underway);
    let dark_until = b.t;
    silences.push(Silence {
        from: dark_from,
        until: dark_until,
        label: if extras.berth_dark {
            GapLabel::BerthDark
        } else {
            GapLabel::DarkTrip
        },
        expect,
    });

    // What the crew types in while alongside.
    let mut loaded = outbound.clone();
    loaded.destination = if home == RAJIN { "RAJIN" } else { "CHONGJIN" }.into();
    loaded.eta = eta_for(dark_until + 16 * HOUR);
    match kind {
        TripKind::Laden => loaded.draught_dm = laden_dm,
        TripKind::SlightRise => loaded.draught_dm = base.draught_dm + 3,
        TripKind::Unchanged => {}
        TripKind::Renamed => loaded.identity.name = registry_name.to_string(),
    }
    statics.push((at_berth + hours(rng.range(4.0, 10.0)), loaded.clone()));

    if extras.late_fix_split {
        // Waiting near the port on the way home; a satellite catches one report mid-way.
        let spot = offset(vostochny, rng.range(135.0, 150.0), rng.range(24.0, 30.0));
        b.sail(spot, knots * 0.7, Mode::Underway);
        let loiter_start = b.t;
        b.drift(rng.range(0.0, 360.0), rng.range(0.1, 0.3), 12 * HOUR);
        let from = loiter_start + hours(rng.range(1.0, 1.5));
        let until = from + hours(9.5);
        silences.push(Silence {
            from,
            until,
            label: GapLabel::LateFixSplit,
            expect: Expect::Withdrawn,
        });
        late_fixes.push(LateFix {
            at: from + hours(4.75),
            delay: 12 * HOUR,
        });
    }

    let route = home_route(home);
    b.sail(route[1], knots, Mode::Underway);
    b.sail(route[0], knots, Mode::Underway);
    b.sail(home_berth, knots * 0.6, Mode::Underway);
    Cycle {
        builder: b,
        silences,
        statics,
        late_fixes,
    }
}

/// A vessel that shuttles between a North Korean port and Vostochny, going dark for each call.
#[allow(clippy::too_many_arguments)]
fn plan_shuttle(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
    slot: usize,
    mmsi: u32,
    identity: Identity,
    light_dm: u8,
    laden_dm: u8,
    home: LatLon,
    slight_rise: bool,
) -> VesselPlan {
    let vostochny = &DESIGNATED_PORTS[VOSTOCHNY];
    let home_berth = offset(home, rng.range(0.0, 360.0), rng.range(0.1, 0.5));
    let berth = offset(
        vostochny.centre,
        rng.range(60.0, 120.0),
        rng.range(0.5, 1.2),
    );
    let base = StaticState {
        identity,
        draught_dm: light_dm,
        destination: if home == RAJIN { "RAJIN" } else { "CHONGJIN" }.into(),
        eta: eta_for(ctx.start),
    };
    let mut statics = vec![(ctx.start, base.clone())];
    let mut builder = TrackBuilder::new(ctx.start, home_berth, rng.int(0, 359) as u16);
    let mut silences = Vec::new();
    let mut late_fixes = Vec::new();
    let mut depart = ctx.start + hours(slot as f64 * 14.0 + rng.range(3.0, 14.0));
    let mut cycle = 0;
    let mut attempt = 0u64;
    let mut current = base;
    loop {
        let mut cycle_rng = rng.fork(cycle as u64 * 1000 + attempt);
        let (mut kind, extras) = shuttle_cycle(slot, cycle, &mut cycle_rng);
        if slight_rise {
            kind = TripKind::SlightRise;
        }
        let new_name = if kind == TripKind::Renamed {
            registry.korean_name(&mut cycle_rng)
        } else {
            String::new()
        };
        let mut planned = plan_round_trip(
            &mut cycle_rng,
            depart,
            home,
            home_berth,
            berth,
            &current,
            laden_dm,
            kind,
            extras,
            &new_name,
        );
        // Home again: the cargo is discharged within the day.
        let arrive = planned.builder.t;
        if arrive + 14 * HOUR > ctx.end {
            break;
        }
        if let Some(after) = overlaps_outage(&ctx.outages, depart, arrive, OUTAGE_CLEARANCE) {
            depart = after + OUTAGE_CLEARANCE + hours(rng.range(0.5, 3.0));
            attempt += 1;
            continue;
        }
        builder.stay(Mode::Moored, depart);
        builder.legs.append(&mut planned.builder.legs);
        builder.t = planned.builder.t;
        builder.pos = planned.builder.pos;
        silences.append(&mut planned.silences);
        late_fixes.append(&mut planned.late_fixes);
        if let Some((_, last)) = planned.statics.last() {
            current = last.clone();
        }
        statics.append(&mut planned.statics);
        let mut unloaded = current.clone();
        unloaded.draught_dm = light_dm;
        unloaded.destination = (*rng.pick(&["VLADIVOSTOK", "NAKHODKA", "FOR ORDERS"])).into();
        unloaded.eta = eta_for(arrive + 4 * 24 * HOUR);
        statics.push((arrive + hours(rng.range(8.0, 20.0)), unloaded.clone()));
        current = unloaded;
        depart = arrive + hours(rng.range(36.0, 80.0));
        cycle += 1;
        attempt = 0;
    }
    statics.sort_by_key(|(t, _)| *t);
    VesselPlan {
        mmsi,
        class: TransceiverClass::A,
        track: builder.finish(ctx.end, Mode::Moored),
        statics,
        silences,
        late_fixes,
        active_from: ctx.start + rng.int(10, 600) * SECOND,
        active_until: ctx.end,
        underway_every: 12 * MINUTE,
        slow_every: 40 * MINUTE,
        static_every: 3 * HOUR,
        late_minutes_chance: 0.0,
    }
}

/// Builds the whole plan for `params`.
pub fn build(params: &ScenarioParams, start: Ms) -> Result<Plan, SimulateError> {
    if params.days == 0 || params.days > 400 {
        return Err(SimulateError::Params(format!(
            "--days must be 1-400, got {}",
            params.days
        )));
    }
    if params.tankers == 0 || params.tankers > 400 {
        return Err(SimulateError::Params(format!(
            "--tankers must be 1-400, got {}",
            params.tankers
        )));
    }
    if params.background < MIN_BACKGROUND || params.background > 20_000 {
        return Err(SimulateError::Params(format!(
            "--background must be {MIN_BACKGROUND}-20000 (the ports need at least \
             {MIN_BACKGROUND} vessels for coverage), got {}",
            params.background
        )));
    }
    let end = start + i64::from(params.days) * 24 * HOUR;
    let root = SplitMix64::new(params.seed);
    let mut rng = root.fork(1);

    // One whole-feed outage in each three-week block that has room for it.
    let mut outages = Vec::new();
    let block = 21 * 24 * HOUR;
    let mut block_start = start;
    while block_start + 14 * 24 * HOUR <= end {
        let from = block_start + 9 * 24 * HOUR + rng.int(0, 72 * 3600) * SECOND;
        outages.push((from, from + OUTAGE));
        block_start += block;
    }
    let ctx = Ctx {
        start,
        end,
        outages,
    };

    let mut registry = Registry::new();
    let mut vessels = Vec::new();
    let mut intents = Vec::new();
    let mut watchlist = Vec::new();
    let sets = params.tankers.div_ceil(4) as usize;
    for set in 0..sets {
        let set_rng = root.fork(100 + set as u64);
        let shuttles = (params.tankers as usize - set * 4).min(4);
        for j in 0..shuttles {
            let mut r = set_rng.fork(j as u64);
            let mmsi = registry.mmsi(&mut r, 445, true);
            let length = r.range(78.0, 112.0);
            let beam = length * r.range(0.14, 0.16);
            let (to_bow, to_stern, to_port, to_starboard) = dims(&mut r, length, beam);
            let identity = Identity {
                imo: registry.imo(&mut r, true),
                name: registry.korean_name(&mut r),
                callsign: callsign(&mut r, "HM", 5),
                ship_type: r.int(80, 84) as u8,
                to_bow,
                to_stern,
                to_port,
                to_starboard,
            };
            let light = r.int(36, 46) as u8;
            let laden = light + r.int(20, 28) as u8;
            let home = if j % 2 == 0 { RAJIN } else { CHONGJIN };
            vessels.push(plan_shuttle(
                &ctx,
                &mut r,
                &mut registry,
                j,
                mmsi,
                identity,
                light,
                laden,
                home,
                false,
            ));
        }
        // A general cargo ship on the watchlist running the same errand.
        {
            let mut r = set_rng.fork(10);
            let mmsi = registry.mmsi(&mut r, 445, true);
            let length = r.range(95.0, 125.0);
            let (to_bow, to_stern, to_port, to_starboard) = dims(&mut r, length, length * 0.15);
            let identity = Identity {
                imo: registry.imo(&mut r, true),
                name: registry.korean_name(&mut r),
                callsign: callsign(&mut r, "HM", 5),
                ship_type: 70,
                to_bow,
                to_stern,
                to_port,
                to_starboard,
            };
            watchlist.push(WatchEntry {
                mmsi,
                imo: identity.imo,
                name: identity.name.clone(),
                note: "general cargo named in a sanctions designation".into(),
            });
            let light = r.int(40, 50) as u8;
            vessels.push(plan_shuttle(
                &ctx,
                &mut r,
                &mut registry,
                4,
                mmsi,
                identity,
                light,
                light + 3,
                CHONGJIN,
                true,
            ));
        }
        vessels.push(plan_nakhodka_caller(
            &ctx,
            &mut set_rng.fork(11),
            &mut registry,
        ));
        vessels.push(plan_class_b_tanker(
            &ctx,
            &mut set_rng.fork(12),
            &mut registry,
        ));
        let (first, second, intent) = plan_shared_mmsi(&ctx, &mut set_rng.fork(13), &mut registry);
        vessels.push(first);
        vessels.push(second);
        intents.push(intent);
        for (k, ship_type) in [(14u64, 70u8), (15, 30)] {
            vessels.push(plan_unwatched_dark(
                &ctx,
                &mut set_rng.fork(k),
                &mut registry,
                ship_type,
            ));
        }
    }
    plan_background(
        &ctx,
        &mut root.fork(2),
        &mut registry,
        params.background,
        &mut vessels,
    );

    for v in &vessels {
        for s in &v.silences {
            intents.push(Intent {
                mmsi: v.mmsi,
                from: s.from,
                until: s.until,
                label: s.label,
                expect: s.expect,
            });
        }
    }
    Ok(Plan {
        start,
        end,
        vessels,
        outages: ctx.outages,
        intents,
        watchlist,
    })
}

/// Fewest background vessels: three dwellers per port group plus one.
pub const MIN_BACKGROUND: u32 = 10;

/// A Russian coastal tanker calling at Nakhodka and Vladivostok with its transponder on.
fn plan_nakhodka_caller(ctx: &Ctx, rng: &mut SplitMix64, registry: &mut Registry) -> VesselPlan {
    let mmsi = registry.mmsi(rng, 273, false);
    let length = rng.range(100.0, 140.0);
    let (to_bow, to_stern, to_port, to_starboard) = dims(rng, length, length * 0.16);
    let identity = Identity {
        imo: registry.imo(rng, false),
        name: registry.russian_name(rng),
        callsign: callsign(rng, "UB", 5),
        ship_type: 80,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
    };
    let vvo = offset(
        DESIGNATED_PORTS[VLADIVOSTOK].centre,
        rng.range(0.0, 360.0),
        rng.range(0.3, 1.5),
    );
    let nkh = offset(
        DESIGNATED_PORTS[NAKHODKA].centre,
        rng.range(0.0, 360.0),
        rng.range(0.3, 1.2),
    );
    let out_route = [ll(42.98, 131.95), ll(42.62, 132.35), ll(42.70, 132.78)];
    let mut b = TrackBuilder::new(ctx.start, vvo, rng.int(0, 359) as u16);
    let mut at_vvo = true;
    let mut depart = ctx.start + hours(rng.range(4.0, 30.0));
    let mut statics = vec![(
        ctx.start,
        StaticState {
            identity,
            draught_dm: rng.int(70, 80) as u8,
            destination: "NAKHODKA".into(),
            eta: eta_for(ctx.start + 30 * HOUR),
        },
    )];
    loop {
        let knots = rng.range(10.5, 12.5);
        let mut trial = TrackBuilder::new(depart, b.pos, b.heading);
        if at_vvo {
            trial.sail_via(&out_route, knots);
            trial.sail(nkh, knots * 0.5, Mode::Underway);
        } else {
            let back: Vec<LatLon> = out_route.iter().rev().copied().collect();
            trial.sail_via(&back, knots);
            trial.sail(vvo, knots * 0.5, Mode::Underway);
        }
        let arrive = trial.t;
        if arrive + 2 * HOUR > ctx.end {
            break;
        }
        if let Some(after) = overlaps_outage(&ctx.outages, depart, arrive, OUTAGE_CLEARANCE) {
            depart = after + OUTAGE_CLEARANCE + hours(rng.range(0.5, 2.0));
            continue;
        }
        b.stay(Mode::Moored, depart);
        b.legs.append(&mut trial.legs);
        b.t = trial.t;
        b.pos = trial.pos;
        b.heading = trial.heading;
        let mut s = statics[statics.len() - 1].1.clone();
        s.destination = if at_vvo { "VLADIVOSTOK" } else { "NAKHODKA" }.into();
        s.eta = eta_for(arrive + 40 * HOUR);
        statics.push((arrive + hours(rng.range(2.0, 6.0)), s));
        at_vvo = !at_vvo;
        depart = arrive + hours(rng.range(18.0, 36.0));
    }
    VesselPlan {
        mmsi,
        class: TransceiverClass::A,
        track: b.finish(ctx.end, Mode::Moored),
        statics,
        silences: Vec::new(),
        late_fixes: Vec::new(),
        active_from: ctx.start + rng.int(10, 600) * SECOND,
        active_until: ctx.end,
        underway_every: 12 * MINUTE,
        slow_every: 40 * MINUTE,
        static_every: 3 * HOUR,
        late_minutes_chance: 0.0,
    }
}

/// A Class B bunkering tanker working Vladivostok harbour, with short silences only.
fn plan_class_b_tanker(ctx: &Ctx, rng: &mut SplitMix64, registry: &mut Registry) -> VesselPlan {
    let mmsi = registry.mmsi(rng, 273, false);
    let length = rng.range(28.0, 42.0);
    let (to_bow, to_stern, to_port, to_starboard) = dims(rng, length, 8.0);
    let identity = Identity {
        imo: 0,
        name: registry.russian_name(rng),
        callsign: callsign(rng, "UF", 5),
        ship_type: 80,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
    };
    let centre = DESIGNATED_PORTS[VLADIVOSTOK].centre;
    let spots: Vec<LatLon> = (0..5)
        .map(|_| offset(centre, rng.range(0.0, 360.0), rng.range(0.5, 3.5)))
        .collect();
    let mut b = TrackBuilder::new(ctx.start, spots[0], 90);
    while b.t < ctx.end {
        b.stay(Mode::Moored, b.t + hours(rng.range(4.0, 14.0)));
        let to = *rng.pick(&spots);
        if to != b.pos {
            b.sail(to, rng.range(5.0, 7.0), Mode::Underway);
        }
    }
    let mut silences = Vec::new();
    let mut t = ctx.start + hours(rng.range(20.0, 40.0));
    while t + 10 * HOUR < ctx.end {
        let until = t + hours(rng.range(2.2, 4.6));
        if overlaps_outage(&ctx.outages, t, until, 3 * HOUR).is_none() {
            silences.push(Silence {
                from: t,
                until,
                label: GapLabel::ShortSilence,
                expect: Expect::NoGap,
            });
        }
        t = until + hours(rng.range(40.0, 70.0));
    }
    VesselPlan {
        mmsi,
        class: TransceiverClass::B,
        track: b.finish(ctx.end, Mode::Moored),
        statics: vec![(
            ctx.start,
            StaticState {
                identity,
                draught_dm: 0,
                destination: String::new(),
                eta: [0; 4],
            },
        )],
        silences,
        late_fixes: Vec::new(),
        active_from: ctx.start + rng.int(10, 600) * SECOND,
        active_until: ctx.end,
        underway_every: 15 * MINUTE,
        slow_every: 40 * MINUTE,
        static_every: 6 * HOUR,
        late_minutes_chance: 0.0,
    }
}

/// A tanker sailing far offshore until a second vessel starts sending its MMSI some 450 nm
/// away, eight hours later; the first is not heard again.
fn plan_shared_mmsi(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
) -> (VesselPlan, VesselPlan, Intent) {
    let mmsi = registry.mmsi(rng, 445, true);
    let make_identity = |rng: &mut SplitMix64, registry: &mut Registry| {
        let length = rng.range(80.0, 110.0);
        let (to_bow, to_stern, to_port, to_starboard) = dims(rng, length, length * 0.15);
        Identity {
            imo: registry.imo(rng, true),
            name: registry.korean_name(rng),
            callsign: callsign(rng, "HM", 5),
            ship_type: rng.int(80, 84) as u8,
            to_bow,
            to_stern,
            to_port,
            to_starboard,
        }
    };
    let first_identity = make_identity(rng, registry);
    let second_identity = make_identity(rng, registry);

    let span = (ctx.end - ctx.start) as f64;
    let mut switch = ctx.start + secs(span * rng.range(0.3, 0.45));
    let gap = hours(rng.range(7.7, 8.3));
    while let Some(after) = overlaps_outage(&ctx.outages, switch, switch + gap, OUTAGE_CLEARANCE) {
        switch = after + OUTAGE_CLEARANCE + HOUR;
    }
    let far_point = |rng: &mut SplitMix64| ll(rng.range(38.6, 39.6), rng.range(130.6, 133.4));
    let mut b = TrackBuilder::new(ctx.start, far_point(rng), 0);
    while b.t < switch {
        let to = far_point(rng);
        b.sail(to, rng.range(9.0, 11.0), Mode::Underway);
    }
    let last = b.legs.last().map(|l| l.position(switch)).unwrap_or(b.pos);
    let first = VesselPlan {
        mmsi,
        class: TransceiverClass::A,
        track: b.finish(ctx.end, Mode::Underway),
        statics: vec![(
            ctx.start,
            StaticState {
                identity: first_identity,
                draught_dm: rng.int(40, 60) as u8,
                destination: "NAMPO".into(),
                eta: eta_for(switch),
            },
        )],
        silences: Vec::new(),
        late_fixes: Vec::new(),
        active_from: ctx.start + rng.int(10, 600) * SECOND,
        active_until: switch,
        underway_every: 12 * MINUTE,
        slow_every: 40 * MINUTE,
        static_every: 3 * HOUR,
        late_minutes_chance: 0.0,
    };

    let appear = switch + gap;
    let origin = offset(last, rng.range(198.0, 212.0), rng.range(445.0, 455.0));
    let mut b = TrackBuilder::new(appear, origin, 0);
    while b.t < ctx.end {
        let to = offset(origin, rng.range(0.0, 360.0), rng.range(10.0, 60.0));
        b.sail(to, rng.range(9.0, 12.0), Mode::Underway);
    }
    let second = VesselPlan {
        mmsi,
        class: TransceiverClass::A,
        track: b.finish(ctx.end, Mode::Underway),
        statics: vec![(
            appear,
            StaticState {
                identity: second_identity,
                draught_dm: rng.int(50, 70) as u8,
                destination: "NINGBO".into(),
                eta: eta_for(appear + 48 * HOUR),
            },
        )],
        silences: Vec::new(),
        late_fixes: Vec::new(),
        active_from: appear,
        active_until: ctx.end,
        underway_every: 12 * MINUTE,
        slow_every: 40 * MINUTE,
        static_every: 3 * HOUR,
        late_minutes_chance: 0.0,
    };
    let intent = Intent {
        mmsi,
        from: switch,
        until: appear,
        label: GapLabel::SharedMmsi,
        expect: Expect::PositionJump,
    };
    (first, second, intent)
}

/// A cargo ship or fishing boat alongside in Vostochny that switches off for about 20 hours
/// in each three-week block; not watched, so never a trip.
fn plan_unwatched_dark(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
    ship_type: u8,
) -> VesselPlan {
    let cargo = ship_type == 70;
    let mmsi = if cargo {
        registry.mmsi(rng, 445, true)
    } else {
        registry.mmsi(rng, 273, false)
    };
    let (length, beam) = if cargo {
        (rng.range(90.0, 120.0), 16.0)
    } else {
        (rng.range(25.0, 45.0), 8.0)
    };
    let (to_bow, to_stern, to_port, to_starboard) = dims(rng, length, beam);
    let identity = Identity {
        imo: if cargo { registry.imo(rng, true) } else { 0 },
        name: if cargo {
            registry.korean_name(rng)
        } else {
            registry.russian_name(rng)
        },
        callsign: if cargo {
            callsign(rng, "HM", 5)
        } else {
            callsign(rng, "UG", 5)
        },
        ship_type,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
    };
    let berth = offset(
        DESIGNATED_PORTS[VOSTOCHNY].centre,
        rng.range(0.0, 360.0),
        rng.range(0.3, 1.5),
    );
    let mut silences = Vec::new();
    let block = 21 * 24 * HOUR;
    let mut block_start = ctx.start;
    while block_start + 5 * 24 * HOUR <= ctx.end {
        let latest = (block_start + block).min(ctx.end) - 24 * HOUR;
        let mut from = block_start + hours(rng.range(30.0, 200.0));
        if from + 21 * HOUR > latest {
            block_start += block;
            continue;
        }
        let dur = hours(rng.range(19.0, 21.0));
        while let Some(after) = overlaps_outage(&ctx.outages, from, from + dur, 3 * HOUR) {
            from = after + 3 * HOUR + HOUR;
        }
        if from + dur < latest {
            silences.push(Silence {
                from,
                until: from + dur,
                label: GapLabel::UnwatchedDark,
                expect: Expect::NotWatched,
            });
        }
        block_start += block;
    }
    let b = TrackBuilder::new(ctx.start, berth, rng.int(0, 359) as u16);
    VesselPlan {
        mmsi,
        class: TransceiverClass::A,
        track: b.finish(ctx.end, Mode::Moored),
        statics: vec![(
            ctx.start,
            StaticState {
                identity,
                draught_dm: if cargo { rng.int(50, 70) as u8 } else { 30 },
                destination: "VOSTOCHNY".into(),
                eta: eta_for(ctx.start),
            },
        )],
        silences,
        late_fixes: Vec::new(),
        active_from: ctx.start + rng.int(10, 600) * SECOND,
        active_until: ctx.end,
        underway_every: 12 * MINUTE,
        slow_every: 40 * MINUTE,
        static_every: 6 * HOUR,
        late_minutes_chance: 0.0,
    }
}

/// Where the port dwellers stay: (centre, radius nm, ports it covers).
fn dweller_groups() -> [(LatLon, f64); 3] {
    [
        // Between Nakhodka, Kozmino and Vostochny: within 20 nm of all three.
        (ll(42.770, 132.985), 4.0),
        (DESIGNATED_PORTS[VLADIVOSTOK].centre, 3.0),
        (DESIGNATED_PORTS[SLAVYANKA].centre, 3.0),
    ]
}

/// Ordinary traffic: port dwellers that keep every port covered, traders between the ports
/// and the open sea, and fishing boats on their grounds.
fn plan_background(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
    count: u32,
    vessels: &mut Vec<VesselPlan>,
) {
    let count = count as usize;
    let dwellers = 10 + count.saturating_sub(16) / 10;
    let rest = count - dwellers;
    let traders = rest * 11 / 20;
    for i in 0..count {
        let mut r = rng.fork(i as u64);
        let plan = if i < dwellers {
            let groups = dweller_groups();
            // Four in the Nakhodka gulf, three at each of the others, then round the groups.
            let group = match i {
                0..=3 => 0,
                4..=6 => 1,
                7..=9 => 2,
                _ => i % 3,
            };
            plan_dweller(ctx, &mut r, registry, groups[group])
        } else if i < dwellers + traders {
            plan_trader(ctx, &mut r, registry)
        } else {
            plan_fishing(ctx, &mut r, registry)
        };
        vessels.push(plan);
    }
}

fn background_identity(
    rng: &mut SplitMix64,
    registry: &mut Registry,
    ship_type: u8,
    length: f64,
) -> (u32, Identity) {
    let flag = rng.unit();
    let (mid, prefix, name) = if ship_type == 70 && flag < 0.15 {
        (413, "BQ", registry.chinese_name(rng))
    } else if ship_type == 70 && flag < 0.25 {
        (440, "DS", registry.korean_name(rng))
    } else if ship_type == 70 && flag < 0.35 {
        (
            *rng.pick(&[351, 352, 353, 355, 370, 371]),
            "3E",
            registry.russian_name(rng),
        )
    } else {
        (273, "U", registry.russian_name(rng))
    };
    let mmsi = registry.mmsi(rng, mid, false);
    let (to_bow, to_stern, to_port, to_starboard) = dims(rng, length, length * 0.16);
    let identity = Identity {
        imo: if length > 60.0 {
            let old = rng.chance(0.5);
            registry.imo(rng, old)
        } else {
            0
        },
        name,
        callsign: callsign(rng, prefix, 5),
        ship_type,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
    };
    (mmsi, identity)
}

fn background_plan(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    mmsi: u32,
    identity: Identity,
    track: Track,
    kind: Background,
) -> VesselPlan {
    let draught_dm = if identity.to_bow + identity.to_stern > 60 {
        rng.int(50, 95) as u8
    } else {
        rng.int(20, 40) as u8
    };
    VesselPlan {
        mmsi,
        class: TransceiverClass::A,
        track,
        statics: vec![(
            ctx.start,
            StaticState {
                identity,
                draught_dm,
                destination: (*rng.pick(&["VLADIVOSTOK", "NAKHODKA", "VOSTOCHNY", "BUSAN", ""]))
                    .into(),
                eta: eta_for(ctx.start + hours(rng.range(10.0, 100.0))),
            },
        )],
        silences: Vec::new(),
        late_fixes: Vec::new(),
        active_from: ctx.start + rng.int(10, 600) * SECOND,
        active_until: ctx.end,
        underway_every: match kind {
            Background::Fishing => 15 * MINUTE,
            Background::Trader => 10 * MINUTE,
            _ => 12 * MINUTE,
        },
        slow_every: 40 * MINUTE,
        static_every: 6 * HOUR,
        late_minutes_chance: 0.01,
    }
}

fn plan_dweller(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
    (centre, radius): (LatLon, f64),
) -> VesselPlan {
    let ship_type = *rng.pick(&[52u8, 52, 50, 53, 70, 60]);
    let length = match ship_type {
        70 => rng.range(90.0, 160.0),
        60 => rng.range(40.0, 70.0),
        _ => rng.range(20.0, 35.0),
    };
    let (mmsi, identity) = background_identity(rng, registry, ship_type, length);
    let spots: Vec<LatLon> = (0..4)
        .map(|_| offset(centre, rng.range(0.0, 360.0), rng.range(0.2, radius)))
        .collect();
    let mut b = TrackBuilder::new(ctx.start, spots[0], rng.int(0, 359) as u16);
    while b.t < ctx.end {
        let mode = if ship_type == 70 {
            Mode::Anchored
        } else {
            Mode::Moored
        };
        b.stay(mode, b.t + hours(rng.range(3.0, 30.0)));
        let to = *rng.pick(&spots);
        if to != b.pos {
            b.sail(to, rng.range(4.0, 8.0), Mode::Underway);
        }
    }
    let track = b.finish(ctx.end, Mode::Moored);
    background_plan(ctx, rng, mmsi, identity, track, Background::Dweller)
}

fn plan_trader(ctx: &Ctx, rng: &mut SplitMix64, registry: &mut Registry) -> VesselPlan {
    let length = rng.range(90.0, 190.0);
    let (mmsi, identity) = background_identity(rng, registry, 70, length);
    let ports: Vec<LatLon> = [VLADIVOSTOK, NAKHODKA, VOSTOCHNY, SLAVYANKA]
        .iter()
        .map(|&p| offset(DESIGNATED_PORTS[p].centre, rng.range(0.0, 360.0), 1.0))
        .collect();
    let gates = [
        ll(41.30, 131.20),
        ll(41.50, 134.80),
        ll(42.20, 135.80),
        ll(40.80, 132.90),
    ];
    let mut b = TrackBuilder::new(ctx.start, *rng.pick(&ports), rng.int(0, 359) as u16);
    let knots = rng.range(11.0, 14.5);
    // Some start at sea on their way in.
    if rng.chance(0.5) {
        b.pos = *rng.pick(&gates);
    }
    while b.t < ctx.end {
        let port = *rng.pick(&ports);
        b.sail(port, knots, Mode::Underway);
        b.stay(Mode::Moored, b.t + hours(rng.range(10.0, 40.0)));
        let gate = *rng.pick(&gates);
        b.sail(gate, knots, Mode::Underway);
    }
    let track = b.finish(ctx.end, Mode::Underway);
    background_plan(ctx, rng, mmsi, identity, track, Background::Trader)
}

fn plan_fishing(ctx: &Ctx, rng: &mut SplitMix64, registry: &mut Registry) -> VesselPlan {
    let length = rng.range(22.0, 55.0);
    let (mmsi, identity) = background_identity(rng, registry, 30, length);
    let ground = ll(rng.range(42.1, 42.6), rng.range(131.6, 134.2));
    let mut b = TrackBuilder::new(ctx.start, ground, rng.int(0, 359) as u16);
    while b.t < ctx.end {
        let to = offset(ground, rng.range(0.0, 360.0), rng.range(1.0, 15.0));
        b.sail(to, rng.range(3.0, 7.0), Mode::Fishing);
        if rng.chance(0.2) {
            b.drift(rng.range(0.0, 360.0), 0.4, hours(rng.range(1.0, 4.0)));
        }
    }
    let track = b.finish(ctx.end, Mode::Fishing);
    background_plan(ctx, rng, mmsi, identity, track, Background::Fishing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: Ms = 1_709_510_400_000;

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

    #[test]
    fn silences_keep_clear_of_outages_and_statics_are_in_time_order() {
        let params = ScenarioParams {
            seed: 3,
            days: 42,
            tankers: 8,
            background: 20,
        };
        let plan = build(&params, START).unwrap();
        assert_eq!(plan.outages.len(), 2);
        for v in &plan.vessels {
            assert!(v.statics.windows(2).all(|w| w[0].0 <= w[1].0));
            assert!(v.silences.windows(2).all(|w| w[0].until < w[1].from));
            for s in &v.silences {
                assert!(s.from < s.until);
                assert!(
                    overlaps_outage(&plan.outages, s.from, s.until, HOUR).is_none(),
                    "MMSI {} silent across an outage",
                    v.mmsi
                );
            }
            // Tracks are contiguous from the start past the end.
            assert!(v.track.legs.windows(2).all(|w| w[0].t1 == w[1].t0));
            assert!(v.track.legs.last().unwrap().t1 > plan.end);
        }
        let mmsis: BTreeSet<u32> = plan.vessels.iter().map(|v| v.mmsi).collect();
        // Two vessels per set share one MMSI; every other vessel has its own.
        assert_eq!(mmsis.len(), plan.vessels.len() - 2);
    }

    #[test]
    fn parameters_out_of_range_are_refused_by_name() {
        for (params, word) in [
            (
                ScenarioParams {
                    days: 0,
                    ..ScenarioParams::default()
                },
                "--days",
            ),
            (
                ScenarioParams {
                    tankers: 0,
                    ..ScenarioParams::default()
                },
                "--tankers",
            ),
            (
                ScenarioParams {
                    background: 9,
                    ..ScenarioParams::default()
                },
                "--background",
            ),
        ] {
            let err = build(&params, START).err().unwrap();
            assert!(err.to_string().contains(word), "{err}");
        }
    }
}
