//! The scenario plan, decided up front from the seed: every vessel's identity over time, its
//! track, when it is silent and why (with the judgement that silence should earn), and the
//! whole-feed outages. The stream writer only samples this plan.

use crate::model::TransceiverClass;

mod at_sea;
mod background;
mod confounders;
mod identities;
mod registry;
mod rendezvous;
mod shuttles;

use self::background::plan_background;
use self::confounders::{
    plan_class_b_tanker, plan_nakhodka_caller, plan_shared_mmsi, plan_unwatched_dark,
};
use self::identities::{plan_hull_takeover, plan_interleaved_mmsi};
use self::registry::Registry;
use self::shuttles::{plan_shuttle_tanker, plan_watched_cargo};
use super::rng::SplitMix64;
use super::truth::AtSeaTruth;
use super::world::{bearing_deg, distance_nm, offset, LatLon};
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
    /// The MMSI is sent by another hull (other dimensions and type) after the silence.
    HullTakeover,
    /// Two tankers dark together far out at sea, alongside each other for hours.
    DarkRendezvous,
    /// Two tankers dark at the same time, too far apart to have met.
    DarkDecoy,
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
    /// Fixes within reach of each other, but another hull after the silence.
    DifferentVessel,
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
    /// Which of the hulls sending `mmsi` at the same time this is (0 for all but the second
    /// of an interleaved pair): the truth judges each transmitter's fixes apart.
    pub transmitter: u8,
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
    /// The staged at-sea cases and what they must yield (empty without `--at-sea`).
    pub at_sea: AtSeaTruth,
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
/// Builds the whole plan for `params`.
pub fn build(params: &ScenarioParams, start: Ms) -> Result<Plan, SimulateError> {
    check_params(params)?;
    let end = start + i64::from(params.days) * 24 * HOUR;
    let root = SplitMix64::new(params.seed);
    let ctx = Ctx {
        start,
        end,
        outages: plan_outages(&mut root.fork(1), start, end),
    };

    let mut registry = Registry::new();
    let mut cast = Cast::default();
    let sets = params.tankers.div_ceil(4) as usize;
    for set in 0..sets {
        let shuttles = (params.tankers as usize - set * 4).min(4);
        plan_set(
            &ctx,
            &root.fork(100 + set as u64),
            &mut registry,
            shuttles,
            params.identity_cases,
            &mut cast,
        );
    }
    plan_background(
        &ctx,
        &mut root.fork(2),
        &mut registry,
        params.background,
        &mut cast.vessels,
    );
    let mut at_sea = if params.at_sea {
        at_sea::plan_at_sea(&ctx, &mut root.fork(4), &mut registry, &mut cast.vessels)
    } else {
        AtSeaTruth::default()
    };
    if params.at_sea {
        let (staged, decoy) =
            rendezvous::plan_rendezvous(&ctx, &mut root.fork(5), &mut registry, &mut cast.vessels);
        at_sea.rendezvous.push(staged);
        at_sea.not_rendezvous.push(decoy);
    }

    for v in &cast.vessels {
        for s in &v.silences {
            cast.intents.push(Intent {
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
        vessels: cast.vessels,
        outages: ctx.outages,
        intents: cast.intents,
        watchlist: cast.watchlist,
        at_sea,
    })
}

/// Refuses sizes the scenario cannot be built for, naming the flag.
fn check_params(params: &ScenarioParams) -> Result<(), SimulateError> {
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
    if params.at_sea && params.days < 3 {
        return Err(SimulateError::Params(format!(
            "--at-sea needs --days 3 or more (its cases take the second and third day), got {}",
            params.days
        )));
    }
    if params.background < MIN_BACKGROUND || params.background > 20_000 {
        return Err(SimulateError::Params(format!(
            "--background must be {MIN_BACKGROUND}-20000 (the ports need at least \
             {MIN_BACKGROUND} vessels for coverage), got {}",
            params.background
        )));
    }
    Ok(())
}

/// One whole-feed outage in each three-week block that has room for it.
fn plan_outages(rng: &mut SplitMix64, start: Ms, end: Ms) -> Vec<(Ms, Ms)> {
    let mut outages = Vec::new();
    let block = 21 * 24 * HOUR;
    let mut block_start = start;
    while block_start + 14 * 24 * HOUR <= end {
        let from = block_start + 9 * 24 * HOUR + rng.int(0, 72 * 3600) * SECOND;
        outages.push((from, from + OUTAGE));
        block_start += block;
    }
    outages
}

/// The vessels planned so far, with the windows the truth must explain and the watchlist.
#[derive(Default)]
struct Cast {
    vessels: Vec<VesselPlan>,
    intents: Vec<Intent>,
    watchlist: Vec<WatchEntry>,
}

/// One set of watched vessels (up to four shuttle tankers and the watchlisted cargo ship) with
/// the confounders that come with it.
fn plan_set(
    ctx: &Ctx,
    set_rng: &SplitMix64,
    registry: &mut Registry,
    shuttles: usize,
    identity_cases: bool,
    cast: &mut Cast,
) {
    for j in 0..shuttles {
        let tanker = plan_shuttle_tanker(ctx, &mut set_rng.fork(j as u64), registry, j);
        cast.vessels.push(tanker);
    }
    let (cargo, entry) = plan_watched_cargo(ctx, &mut set_rng.fork(10), registry);
    cast.watchlist.push(entry);
    cast.vessels.push(cargo);
    cast.vessels
        .push(plan_nakhodka_caller(ctx, &mut set_rng.fork(11), registry));
    cast.vessels
        .push(plan_class_b_tanker(ctx, &mut set_rng.fork(12), registry));
    let (first, second, intent) = plan_shared_mmsi(ctx, &mut set_rng.fork(13), registry);
    cast.vessels.push(first);
    cast.vessels.push(second);
    cast.intents.push(intent);
    for (k, ship_type) in [(14u64, 70u8), (15, 30)] {
        cast.vessels.push(plan_unwatched_dark(
            ctx,
            &mut set_rng.fork(k),
            registry,
            ship_type,
        ));
    }
    if identity_cases {
        let (shuttle, elsewhere) = plan_interleaved_mmsi(ctx, &mut set_rng.fork(16), registry);
        cast.vessels.push(shuttle);
        cast.vessels.push(elsewhere);
        let (before, after, intent) = plan_hull_takeover(ctx, &mut set_rng.fork(17), registry);
        cast.vessels.push(before);
        cast.vessels.push(after);
        cast.intents.push(intent);
    }
}
/// Fewest background vessels: three dwellers per port group plus one.
pub const MIN_BACKGROUND: u32 = 10;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const START: Ms = 1_709_510_400_000;

    #[test]
    fn silences_keep_clear_of_outages_and_statics_are_in_time_order() {
        let params = ScenarioParams {
            seed: 3,
            days: 42,
            tankers: 8,
            background: 20,
            identity_cases: false,
            at_sea: false,
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
