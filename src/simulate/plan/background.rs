//! Ordinary traffic: port dwellers that keep every port covered, traders between the ports and
//! the open sea, and fishing boats on their grounds.

use super::registry::{callsign, dims, eta_for, Registry};
use super::{
    hours, Ctx, Identity, Mode, StaticState, Track, TrackBuilder, VesselPlan, HOUR, MINUTE, SECOND,
};
use crate::model::TransceiverClass;
use crate::simulate::rng::SplitMix64;
use crate::simulate::world::{
    ll, offset, LatLon, DESIGNATED_PORTS, NAKHODKA, SLAVYANKA, VLADIVOSTOK, VOSTOCHNY,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Background {
    Dweller,
    Trader,
    Fishing,
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
pub(super) fn plan_background(
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
        transmitter: 0,
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
