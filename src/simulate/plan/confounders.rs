//! The vessels that test the detector's judgement: a coastal tanker calling with its
//! transponder on, a Class B bunkering tanker's short silences, two hulls sharing one MMSI, and
//! unwatched vessels going dark in port.

use super::registry::{callsign, dims, eta_for, Registry};
use super::{
    hours, overlaps_outage, secs, Ctx, Expect, GapLabel, Identity, Intent, Mode, Silence,
    StaticState, TrackBuilder, VesselPlan, HOUR, MINUTE, OUTAGE_CLEARANCE, SECOND,
};
use crate::model::TransceiverClass;
use crate::simulate::rng::SplitMix64;
use crate::simulate::world::{
    ll, offset, LatLon, DESIGNATED_PORTS, NAKHODKA, VLADIVOSTOK, VOSTOCHNY,
};

/// A Russian coastal tanker calling at Nakhodka and Vladivostok with its transponder on.
pub(super) fn plan_nakhodka_caller(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
) -> VesselPlan {
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
        transmitter: 0,
    }
}

/// A Class B bunkering tanker working Vladivostok harbour, with short silences only.
pub(super) fn plan_class_b_tanker(
    ctx: &Ctx,
    rng: &mut SplitMix64,
    registry: &mut Registry,
) -> VesselPlan {
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
        transmitter: 0,
    }
}

/// A tanker sailing far offshore until a second vessel starts sending its MMSI some 450 nm
/// away, eight hours later; the first is not heard again.
pub(super) fn plan_shared_mmsi(
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
        transmitter: 0,
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
        transmitter: 0,
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
pub(super) fn plan_unwatched_dark(
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
        transmitter: 0,
    }
}
