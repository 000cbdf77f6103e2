//! The dark-rendezvous cases of `simulate --at-sea`: two tankers cruising about 28 nm apart
//! far out in the Sea of Japan (more than 100 nm from every designated port) switch off
//! together, sail to one place, lie alongside for hours and sail back to where they vanished
//! before switching on again; and a decoy pair, dark at the same time but about 130 nm apart
//! with too short silences to have met anywhere. Both pairs go dark when no other vessel of
//! the scenario is silent, so that nothing else could have been their partner.

use super::at_sea::{cruise, identity, plan_of, Hull};
use super::registry::Registry;
use super::{Ctx, Expect, GapLabel, Mode, Silence, TrackBuilder, VesselPlan, HOUR, MINUTE};
use crate::model::Mmsi;
use crate::simulate::rng::SplitMix64;
use crate::simulate::truth::at_sea::{NotRendezvousTruth, RendezvousTruth};
use crate::simulate::world::{distance_nm, ll, offset, LatLon};
use crate::time::UnixMillis;

/// Where the staged pair lies alongside.
const MEETING: LatLon = ll(39.5, 132.5);
/// Hours the staged pair spends together.
const TOGETHER_HOURS: i64 = 5;
/// Hours each decoy stays dark.
const DECOY_HOURS: i64 = 8;
const KNOTS: f64 = 10.0;
/// Metres between the two alongside.
const ALONGSIDE_M: f64 = 150.0;

/// The lanes, east to west, each at the latitude of the meeting.
const LANES: [[LatLon; 2]; 4] = [
    [ll(39.5, 131.9), ll(39.5, 132.2)],
    [ll(39.5, 132.8), ll(39.5, 133.1)],
    [ll(39.5, 135.8), ll(39.5, 136.1)],
    [ll(39.5, 138.9), ll(39.5, 139.2)],
];

/// The first hour from which `span` is free of every planned silence and outage (with an
/// hour's margin), searched from a day in.
fn quiet_window(ctx: &Ctx, vessels: &[VesselPlan], span: i64) -> i64 {
    let clear = |from: i64| {
        let until = from + span;
        let busy = |a: i64, b: i64| a < until + HOUR && from - HOUR < b;
        !ctx.outages.iter().any(|&(a, b)| busy(a, b))
            && !vessels
                .iter()
                .flat_map(|v| &v.silences)
                .any(|s| busy(s.from, s.until))
    };
    let mut from = ctx.start + 24 * HOUR;
    while from + span + 6 * HOUR < ctx.end {
        if clear(from) {
            return from;
        }
        from += HOUR;
    }
    ctx.start + 24 * HOUR
}

/// Cruises its lane until `dark`, arriving at a point of the lane exactly then.
fn cruise_until(b: &mut TrackBuilder, lane: [LatLon; 2], dark: i64) {
    cruise(b, lane, KNOTS, dark);
    let far = if distance_nm(b.pos, lane[0]) < distance_nm(b.pos, lane[1]) {
        lane[1]
    } else {
        lane[0]
    };
    let nm = (dark - b.t) as f64 / HOUR as f64 * KNOTS;
    if nm > 0.01 {
        let to = offset(b.pos, crate::simulate::world::bearing_deg(b.pos, far), nm);
        b.sail(to, KNOTS, Mode::Underway);
    }
}

/// One vessel's dark excursion: to `to`, lying there (alongside its partner) until `until`,
/// back to where it vanished. Returns (arrival, departure, back).
fn excursion(b: &mut TrackBuilder, to: LatLon, until: i64) -> (i64, i64, i64) {
    let vanished = b.pos;
    let arrived = b.sail(to, KNOTS, Mode::Underway);
    b.stay(Mode::Drifting, until);
    let left = b.t;
    let back = b.sail(vanished, KNOTS, Mode::Underway);
    (arrived, left, back)
}

/// Plans the four vessels; returns the staged rendezvous and the decoy pair.
pub(super) fn plan_rendezvous(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
    vessels: &mut Vec<VesselPlan>,
) -> (RendezvousTruth, NotRendezvousTruth) {
    let tail = ctx.end + 6 * HOUR;
    let dark = quiet_window(ctx, vessels, 14 * HOUR);
    let hull = |mid, ship_type, length, beam, draught_dm| Hull {
        mid,
        ship_type,
        length,
        beam,
        draught_dm,
    };
    let hulls = [
        hull(445, 81, 90.0, 14.0, 50),
        hull(667, 80, 105.0, 16.0, 88),
        hull(445, 80, 95.0, 15.0, 55),
        hull(511, 80, 100.0, 16.0, 60),
    ];
    let mut mmsis = Vec::new();
    let mut excursions = Vec::new();
    for (k, (hull, lane)) in hulls.iter().zip(LANES).enumerate() {
        let (mmsi, id) = identity(rng, registry, hull);
        let mut b = TrackBuilder::new(ctx.start, lane[0], 90);
        cruise_until(&mut b, lane, dark);
        // Every lane end lies within 3 h of the meeting; the decoys head 20 nm towards each
        // other, wait and turn back.
        let half = ALONGSIDE_M / 1852.0 / 2.0;
        let (to, until) = match k {
            0 => (
                offset(MEETING, 270.0, half),
                dark + (3 + TOGETHER_HOURS) * HOUR,
            ),
            1 => (
                offset(MEETING, 90.0, half),
                dark + (3 + TOGETHER_HOURS) * HOUR,
            ),
            2 => (offset(b.pos, 90.0, 20.0), dark + (DECOY_HOURS - 2) * HOUR),
            _ => (offset(b.pos, 270.0, 20.0), dark + (DECOY_HOURS - 2) * HOUR),
        };
        let trip = excursion(&mut b, to, until);
        cruise(&mut b, lane, KNOTS, tail);
        let mut plan = plan_of(ctx, mmsi, id, hull, b, &[]);
        plan.silences.push(Silence {
            from: dark + MINUTE,
            until: trip.2 + MINUTE,
            label: if k < 2 {
                GapLabel::DarkRendezvous
            } else {
                GapLabel::DarkDecoy
            },
            expect: Expect::NotNear,
        });
        vessels.push(plan);
        mmsis.push(mmsi);
        excursions.push(trip);
    }
    let (a, b) = (mmsis[0].min(mmsis[1]), mmsis[0].max(mmsis[1]));
    let met = excursions[0].0.max(excursions[1].0);
    let parted = excursions[0].1.min(excursions[1].1);
    let staged = RendezvousTruth {
        a: Mmsi(a),
        b: Mmsi(b),
        dark_from: UnixMillis(dark + MINUTE),
        met: UnixMillis(met),
        parted: UnixMillis(parted),
        lat: MEETING.lat,
        lon: MEETING.lon,
    };
    let decoy = NotRendezvousTruth {
        a: Mmsi(mmsis[2].min(mmsis[3])),
        b: Mmsi(mmsis[2].max(mmsis[3])),
    };
    (staged, decoy)
}
