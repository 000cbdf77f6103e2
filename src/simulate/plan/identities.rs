//! Shared identities, with `--identity-cases`: two hulls interleaving their reports under one
//! MMSI for the whole scenario (one of them a shuttle tanker making its dark calls, the other
//! a tanker some 600 nm away), and an MMSI taken over by a smaller tanker across a silence off
//! Vostochny, where the position alone would make it a dark call.

use super::registry::{callsign, dims, eta_for, Registry};
use super::shuttles::plan_shuttle_tanker;
use super::{
    hours, overlaps_outage, secs, Ctx, Expect, GapLabel, Identity, Intent, Mode, StaticState,
    TrackBuilder, VesselPlan, HOUR, MINUTE, OUTAGE_CLEARANCE, SECOND,
};
use crate::model::TransceiverClass;
use crate::simulate::rng::SplitMix64;
use crate::simulate::world::{ll, offset, DESIGNATED_PORTS, VOSTOCHNY};

/// Set slot of the interleaved shuttle: past the four planned roles, so its cycles are plain
/// round trips.
const INTERLEAVED_SLOT: usize = 5;

fn tanker_identity(
    rng: &mut SplitMix64,
    registry: &mut Registry,
    length: f64,
    ship_type: u8,
) -> Identity {
    let (to_bow, to_stern, to_port, to_starboard) = dims(rng, length, length * 0.16);
    Identity {
        imo: registry.imo(rng, true),
        name: registry.korean_name(rng),
        callsign: callsign(rng, "HM", 5),
        ship_type,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
    }
}

/// A vessel heard from `from` to `until`, every 12 minutes under way, static data every three
/// hours.
fn tanker_plan(
    mmsi: u32,
    track: super::Track,
    state: StaticState,
    from: i64,
    until: i64,
) -> VesselPlan {
    VesselPlan {
        mmsi,
        class: TransceiverClass::A,
        track,
        statics: vec![(from, state)],
        silences: Vec::new(),
        late_fixes: Vec::new(),
        active_from: from,
        active_until: until,
        underway_every: 12 * MINUTE,
        slow_every: 40 * MINUTE,
        static_every: 3 * HOUR,
        late_minutes_chance: 0.0,
        transmitter: 0,
    }
}

/// A shuttle tanker making its dark calls at Vostochny, and a larger tanker in the East China
/// Sea sending the same MMSI all the while, their reports interleaved.
pub(super) fn plan_interleaved_mmsi(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
) -> (VesselPlan, VesselPlan) {
    let shuttle = plan_shuttle_tanker(ctx, rng, registry, INTERLEAVED_SLOT);
    let length = rng.range(150.0, 175.0);
    let identity = tanker_identity(rng, registry, length, 80);
    // Some 600 nm from the shuttle's waters: no fix of one is within reach of the other,
    // whatever the time between them (an outage included).
    let origin = ll(rng.range(32.6, 33.2), rng.range(126.2, 126.8));
    let from = ctx.start + rng.int(10, 600) * SECOND;
    let mut b = TrackBuilder::new(from, origin, 0);
    while b.t < ctx.end {
        let to = offset(origin, rng.range(0.0, 360.0), rng.range(10.0, 50.0));
        b.sail(to, rng.range(9.0, 12.0), Mode::Underway);
    }
    let state = StaticState {
        identity,
        draught_dm: rng.int(80, 100) as u8,
        destination: "SHANGHAI".into(),
        eta: eta_for(ctx.start + 72 * HOUR),
    };
    let mut elsewhere = tanker_plan(
        shuttle.mmsi,
        b.finish(ctx.end, Mode::Underway),
        state,
        from,
        ctx.end,
    );
    elsewhere.transmitter = 1;
    (shuttle, elsewhere)
}

/// A tanker that falls silent 55-70 nm south-east of Vostochny; about 30 hours later a
/// smaller tanker starts sending its MMSI within reach of where it vanished. The position
/// alone would make it a dark call; the hull says it is another vessel.
pub(super) fn plan_hull_takeover(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
) -> (VesselPlan, VesselPlan, Intent) {
    let mmsi = registry.mmsi(rng, 445, true);
    let (long, short) = (rng.range(95.0, 110.0), rng.range(55.0, 62.0));
    let first = tanker_identity(rng, registry, long, 83);
    let second = tanker_identity(rng, registry, short, 80);
    let span = (ctx.end - ctx.start) as f64;
    let mut switch = ctx.start + secs(span * rng.range(0.5, 0.6));
    let gap = hours(rng.range(28.0, 32.0));
    while let Some(after) = overlaps_outage(&ctx.outages, switch, switch + gap, OUTAGE_CLEARANCE) {
        switch = after + OUTAGE_CLEARANCE + HOUR;
    }
    let port = DESIGNATED_PORTS[VOSTOCHNY].centre;
    let near = |rng: &mut SplitMix64| offset(port, rng.range(135.0, 165.0), rng.range(55.0, 70.0));
    let mut b = TrackBuilder::new(ctx.start, near(rng), 0);
    while b.t < switch {
        let to = near(rng);
        b.sail(to, rng.range(5.0, 7.0), Mode::Underway);
    }
    let before = tanker_plan(
        mmsi,
        b.finish(ctx.end, Mode::Underway),
        StaticState {
            identity: first,
            draught_dm: rng.int(40, 50) as u8,
            destination: "VOSTOCHNY".into(),
            eta: eta_for(switch),
        },
        ctx.start + rng.int(10, 600) * SECOND,
        switch,
    );
    let appear = switch + gap;
    let mut b = TrackBuilder::new(appear, near(rng), 0);
    while b.t < ctx.end {
        let to = near(rng);
        b.sail(to, rng.range(5.0, 7.0), Mode::Underway);
    }
    let after = tanker_plan(
        mmsi,
        b.finish(ctx.end, Mode::Underway),
        StaticState {
            identity: second,
            draught_dm: rng.int(30, 36) as u8,
            destination: "RAJIN".into(),
            eta: eta_for(appear + 24 * HOUR),
        },
        appear,
        ctx.end,
    );
    let intent = Intent {
        mmsi,
        from: switch,
        until: appear,
        label: GapLabel::HullTakeover,
        expect: Expect::DifferentVessel,
    };
    (before, after, intent)
}
