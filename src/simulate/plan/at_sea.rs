//! The at-sea cases (`simulate --at-sea`): a North Korean tanker meeting a Russian tanker
//! about 30 nm off Vostochny with both transponders on while cargo passes between them, a
//! tanker idling 8 h far from any port, two vessels passing within 200 m at 12 kn, and two
//! tankers moored side by side inside the Slavyanka zone. Outside their episodes the vessels
//! cruise lanes well out at sea, so that nothing else about them is slow.

use super::registry::{callsign, dims, eta_for, Registry};
use super::{
    hours, secs, Ctx, Identity, Mode, StaticState, TrackBuilder, VesselPlan, HOUR, MINUTE,
};
use crate::model::{Mmsi, TransceiverClass};
use crate::simulate::rng::SplitMix64;
use crate::simulate::truth::at_sea::{
    AtSeaTruth, EncounterTruth, LoiteringTruth, NotEncounterLabel, NotEncounterTruth,
};
use crate::simulate::world::{distance_nm, ll, offset, LatLon, DESIGNATED_PORTS, SLAVYANKA};
use crate::time::UnixMillis;

/// Where the two tankers meet: about 28 nm from the Vostochny zone, in terrestrial reach.
const MEETING: LatLon = ll(42.30, 133.40);
/// Metres between the two while alongside (a hose's length, with fenders).
const ALONGSIDE_M: f64 = 300.0;
/// Where the loiterer idles: about 37 nm from the Vostochny zone.
const LOITER: LatLon = ll(42.40, 133.80);
const MEETING_HOURS: i64 = 6;
/// Where the tankers of the meeting and the idler cruise once their episode is over: 66 to
/// 85 nm from every designated zone. Their first lanes lie 15 to 51 nm from Vostochny, where
/// a whole-feed outage's silence (9.5 h, about 87 nm to spare for a call at the dark speed)
/// makes a call there as likely as not, so the gap's judgement would hang on where in its lane
/// the outage caught the vessel. From these a call needs a detour of over 130 nm: unreachable
/// beyond doubt. Apart in latitude, so that they never sail together.
const KP_AFTER_LANE: [LatLon; 2] = [ll(41.60, 133.20), ll(41.60, 133.90)];
const RU_AFTER_LANE: [LatLon; 2] = [ll(41.50, 133.30), ll(41.50, 134.00)];
const CN_AFTER_LANE: [LatLon; 2] = [ll(41.70, 133.40), ll(41.70, 134.10)];
const LOITER_HOURS: i64 = 8;

/// How a vessel of the cast is registered.
pub(super) struct Hull {
    pub(super) mid: u32,
    pub(super) ship_type: u8,
    pub(super) length: f64,
    pub(super) beam: f64,
    pub(super) draught_dm: u8,
}

pub(super) fn identity(
    rng: &mut SplitMix64,
    registry: &mut Registry,
    hull: &Hull,
) -> (u32, Identity) {
    let mmsi = registry.mmsi(rng, hull.mid, false);
    let name = match hull.mid {
        445 => registry.korean_name(rng),
        273 => registry.russian_name(rng),
        _ => registry.chinese_name(rng),
    };
    let (to_bow, to_stern, to_port, to_starboard) = dims(rng, hull.length, hull.beam);
    let prefix = match hull.mid {
        445 => "HM",
        273 => "UB",
        _ => "BO",
    };
    let identity = Identity {
        imo: registry.imo(rng, hull.mid == 445),
        name,
        callsign: callsign(rng, prefix, 5),
        ship_type: hull.ship_type,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
    };
    (mmsi, identity)
}

pub(super) fn plan_of(
    ctx: &Ctx,
    mmsi: u32,
    identity: Identity,
    hull: &Hull,
    track: TrackBuilder,
    draught_changes: &[(super::Ms, u8)],
) -> VesselPlan {
    let first = StaticState {
        identity,
        draught_dm: hull.draught_dm,
        destination: String::new(),
        eta: eta_for(ctx.start + 48 * HOUR),
    };
    let mut statics = vec![(ctx.start, first)];
    for &(at, draught_dm) in draught_changes {
        let mut s = statics[statics.len() - 1].1.clone();
        s.draught_dm = draught_dm;
        statics.push((at, s));
    }
    VesselPlan {
        mmsi,
        class: TransceiverClass::A,
        track: track.finish(ctx.end, Mode::Underway),
        statics,
        silences: Vec::new(),
        late_fixes: Vec::new(),
        active_from: ctx.start + MINUTE,
        active_until: ctx.end,
        underway_every: 10 * MINUTE,
        slow_every: 10 * MINUTE,
        static_every: 3 * HOUR,
        late_minutes_chance: 0.0,
        transmitter: 0,
    }
}

/// Sails the lane end to end at `knots` for as long as a whole leg ends by `until`.
pub(super) fn cruise(b: &mut TrackBuilder, lane: [LatLon; 2], knots: f64, until: super::Ms) {
    loop {
        let far = if distance_nm(b.pos, lane[0]) < distance_nm(b.pos, lane[1]) {
            lane[1]
        } else {
            lane[0]
        };
        if b.t + secs(distance_nm(b.pos, far) / knots * HOUR as f64) > until {
            return;
        }
        b.sail(far, knots, Mode::Underway);
    }
}

/// Arrival time at `to` from where the builder is, at `knots`.
fn arrival(b: &TrackBuilder, to: LatLon, knots: f64) -> super::Ms {
    b.t + secs(distance_nm(b.pos, to) / knots * HOUR as f64).max(super::SECOND)
}

pub(super) fn plan_at_sea(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
    vessels: &mut Vec<VesselPlan>,
) -> AtSeaTruth {
    let mut truth = AtSeaTruth::default();
    let tail = ctx.end + 6 * HOUR;

    // The Russian tanker sails in first in the plan (its arrival fixes the meeting time).
    let russian = Hull {
        mid: 273,
        ship_type: 80,
        length: 110.0,
        beam: 17.0,
        draught_dm: 90,
    };
    let (ru, ru_identity) = identity(rng, registry, &russian);
    let lane_ru = [ll(42.45, 133.55), ll(42.45, 134.05)];
    let mut b = TrackBuilder::new(ctx.start, lane_ru[0], 90);
    cruise(&mut b, lane_ru, 10.0, ctx.start + 24 * HOUR);
    let alongside = offset(MEETING, 90.0, ALONGSIDE_M / 1852.0);
    b.sail(alongside, 10.0, Mode::Underway);
    let met = b.t;
    b.drift(60.0, 0.3, MEETING_HOURS * HOUR);
    let parted = b.t;
    cruise(&mut b, RU_AFTER_LANE, 10.0, tail);
    vessels.push(plan_of(
        ctx,
        ru,
        ru_identity,
        &russian,
        b,
        &[(parted + 90 * MINUTE, 64)],
    ));

    // The North Korean tanker arrives first and waits for it.
    let korean = Hull {
        mid: 445,
        ship_type: 81,
        length: 85.0,
        beam: 13.0,
        draught_dm: 42,
    };
    let (kp, kp_identity) = identity(rng, registry, &korean);
    let lane_kp = [ll(42.10, 133.20), ll(42.10, 133.90)];
    let mut b = TrackBuilder::new(ctx.start, lane_kp[1], 270);
    loop {
        let far = if distance_nm(b.pos, lane_kp[0]) < distance_nm(b.pos, lane_kp[1]) {
            lane_kp[1]
        } else {
            lane_kp[0]
        };
        let mut next = TrackBuilder::new(b.t, b.pos, b.heading);
        next.sail(far, 10.0, Mode::Underway);
        if arrival(&next, MEETING, 10.0) > met - 2 * HOUR {
            break;
        }
        b.sail(far, 10.0, Mode::Underway);
    }
    b.sail(MEETING, 10.0, Mode::Underway);
    let waited_from = b.t;
    b.stay(Mode::Drifting, met);
    b.drift(60.0, 0.3, MEETING_HOURS * HOUR);
    b.stay(Mode::Drifting, parted + 30 * MINUTE);
    let left = b.t;
    cruise(&mut b, KP_AFTER_LANE, 9.0, tail);
    vessels.push(plan_of(
        ctx,
        kp,
        kp_identity,
        &korean,
        b,
        &[(parted + HOUR, 68)],
    ));

    let (a, b_) = (ru.min(kp), ru.max(kp));
    let (ru_before, ru_after, kp_before, kp_after) = (9.0, 6.4, 4.2, 6.8);
    let (before_a, after_a, before_b, after_b) = if a == ru {
        (ru_before, ru_after, kp_before, kp_after)
    } else {
        (kp_before, kp_after, ru_before, ru_after)
    };
    truth.encounters.push(EncounterTruth {
        a: Mmsi(a),
        b: Mmsi(b_),
        from: UnixMillis(met),
        until: UnixMillis(parted),
        distance_m: ALONGSIDE_M,
        draught_before_a: before_a,
        draught_after_a: after_a,
        draught_before_b: before_b,
        draught_after_b: after_b,
        receiving: Mmsi(kp),
    });
    truth.loitering.push(LoiteringTruth {
        mmsi: Mmsi(kp),
        from: UnixMillis(waited_from),
        until: UnixMillis(left),
    });
    truth.loitering.push(LoiteringTruth {
        mmsi: Mmsi(ru),
        from: UnixMillis(met),
        until: UnixMillis(parted),
    });

    // A tanker idling 8 h, alone.
    let idler = Hull {
        mid: 413,
        ship_type: 84,
        length: 120.0,
        beam: 19.0,
        draught_dm: 71,
    };
    let (cn, cn_identity) = identity(rng, registry, &idler);
    let lane_cn = [ll(42.20, 133.50), ll(42.55, 134.00)];
    let mut b = TrackBuilder::new(ctx.start, lane_cn[0], 45);
    cruise(&mut b, lane_cn, 11.0, ctx.start + 40 * HOUR);
    b.sail(LOITER, 11.0, Mode::Underway);
    let idle_from = b.t;
    b.drift(200.0, 0.4, LOITER_HOURS * HOUR);
    let idle_until = b.t;
    cruise(&mut b, CN_AFTER_LANE, 11.0, tail);
    vessels.push(plan_of(ctx, cn, cn_identity, &idler, b, &[]));
    truth.loitering.push(LoiteringTruth {
        mmsi: Mmsi(cn),
        from: UnixMillis(idle_from),
        until: UnixMillis(idle_until),
    });

    // Two vessels passing each other at 12 kn, 200 m apart, on one lane.
    let passing = [
        Hull {
            mid: 413,
            ship_type: 80,
            length: 100.0,
            beam: 16.0,
            draught_dm: 60,
        },
        Hull {
            mid: 273,
            ship_type: 70,
            length: 90.0,
            beam: 14.0,
            draught_dm: 50,
        },
    ];
    let lanes = [
        [ll(42.25, 132.95), ll(42.25, 133.85)],
        [ll(42.2518, 133.85), ll(42.2518, 132.95)],
    ];
    let mut pair = Vec::new();
    for (hull, lane) in passing.iter().zip(lanes) {
        let (mmsi, id) = identity(rng, registry, hull);
        let mut b = TrackBuilder::new(ctx.start, lane[0], 90);
        cruise(&mut b, lane, 12.0, tail);
        vessels.push(plan_of(ctx, mmsi, id, hull, b, &[]));
        pair.push(mmsi);
    }
    truth.not_encounters.push(NotEncounterTruth {
        a: Mmsi(pair[0].min(pair[1])),
        b: Mmsi(pair[0].max(pair[1])),
        label: NotEncounterLabel::Passing,
    });

    // Two tankers moored side by side inside the Slavyanka zone the whole time.
    let berth = offset(DESIGNATED_PORTS[SLAVYANKA].centre, 45.0, 0.3);
    let moored = [
        Hull {
            mid: 445,
            ship_type: 80,
            length: 95.0,
            beam: 15.0,
            draught_dm: 55,
        },
        Hull {
            mid: 273,
            ship_type: 80,
            length: 100.0,
            beam: 16.0,
            draught_dm: 62,
        },
    ];
    let mut pair = Vec::new();
    for (k, hull) in moored.iter().enumerate() {
        let (mmsi, id) = identity(rng, registry, hull);
        let at = offset(berth, 90.0, k as f64 * 40.0 / 1852.0);
        let mut b = TrackBuilder::new(ctx.start, at, 0);
        b.stay(Mode::Moored, ctx.end + hours(2.0));
        vessels.push(plan_of(ctx, mmsi, id, hull, b, &[]));
        pair.push(mmsi);
    }
    truth.not_encounters.push(NotEncounterTruth {
        a: Mmsi(pair[0].min(pair[1])),
        b: Mmsi(pair[0].max(pair[1])),
        label: NotEncounterLabel::MooredInPort,
    });
    truth
}
