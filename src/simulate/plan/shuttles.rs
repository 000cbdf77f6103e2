//! The watched vessels' errand: round trips from Rajin or Chongjin to Vostochny, dark for each
//! call, with the confounders folded into particular cycles.

use super::registry::{callsign, dims, eta_for, Registry};
use super::{
    hours, overlaps_outage, Ctx, Expect, GapLabel, Identity, LateFix, Mode, Ms, Silence,
    StaticState, TrackBuilder, VesselPlan, WatchEntry, HOUR, MINUTE, OUTAGE_CLEARANCE, SECOND,
};
use crate::model::TransceiverClass;
use crate::simulate::rng::SplitMix64;
use crate::simulate::world::{ll, offset, LatLon, CHONGJIN, DESIGNATED_PORTS, RAJIN, VOSTOCHNY};

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
    let mut trip = Cycle {
        builder: TrackBuilder::new(depart, home_berth, 0),
        silences: Vec::new(),
        statics: Vec::new(),
        late_fixes: Vec::new(),
    };

    let mut outbound = base.clone();
    outbound.destination = (*rng.pick(&["NAMPO", "VLADIVOSTOK", "FOR ORDERS", "NAKHODKA"])).into();
    outbound.eta = eta_for(depart + 30 * HOUR);
    trip.statics.push((depart, outbound.clone()));

    trip.sail_out(rng, home, vostochny, knots, extras);
    let (at_berth, dark_until) = trip.call_dark(rng, vostochny, berth, knots, kind, extras);

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
    trip.statics
        .push((at_berth + hours(rng.range(4.0, 10.0)), loaded.clone()));

    if extras.late_fix_split {
        trip.wait_for_late_fix(rng, vostochny, knots);
    }

    let route = home_route(home);
    let b = &mut trip.builder;
    b.sail(route[1], knots, Mode::Underway);
    b.sail(route[0], knots, Mode::Underway);
    b.sail(home_berth, knots * 0.6, Mode::Underway);
    trip
}

// The steps of a round trip, in sailing order. Each draws from the trip's generator in the
// order the voyage happens, so the same seed keeps giving the same scenario.
impl Cycle {
    /// Out of the home port towards Vostochny, by a reception hole or a loiter far out when
    /// the cycle calls for one.
    fn sail_out(
        &mut self,
        rng: &mut SplitMix64,
        home: LatLon,
        vostochny: LatLon,
        knots: f64,
        extras: Extras,
    ) {
        let b = &mut self.builder;
        let route = home_route(home);
        b.sail(route[0], knots * 0.7, Mode::Underway);
        if extras.reception_hole {
            // A ship-to-ship rendezvous far out at sea, outside any receiver's reach.
            let hole = ll(rng.range(39.9, 40.1), rng.range(131.7, 132.3));
            b.sail(hole, knots, Mode::Underway);
            let loiter_start = b.t;
            b.drift(rng.range(0.0, 360.0), rng.range(0.3, 0.8), 13 * HOUR);
            let from = loiter_start + hours(rng.range(1.5, 2.5));
            self.silences.push(Silence {
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
            self.silences.push(Silence {
                from,
                until: from + hours(rng.range(8.8, 9.3)),
                label: GapLabel::LoiterFarOut,
                expect: Expect::Unreachable,
            });
        }
    }

    /// The approach, the switch-off (at sea, or at the berth itself), the call and the
    /// reappearance at sea; returns when it came alongside and when it was heard again.
    fn call_dark(
        &mut self,
        rng: &mut SplitMix64,
        vostochny: LatLon,
        berth: LatLon,
        knots: f64,
        kind: TripKind,
        extras: Extras,
    ) -> (Ms, Ms) {
        let b = &mut self.builder;
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
            self.silences.push(Silence {
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
        self.silences.push(Silence {
            from: dark_from,
            until: dark_until,
            label: if extras.berth_dark {
                GapLabel::BerthDark
            } else {
                GapLabel::DarkTrip
            },
            expect,
        });
        (at_berth, dark_until)
    }

    /// Waiting near the port on the way home; a satellite catches one report mid-way and
    /// delivers it half a day late.
    fn wait_for_late_fix(&mut self, rng: &mut SplitMix64, vostochny: LatLon, knots: f64) {
        let b = &mut self.builder;
        let spot = offset(vostochny, rng.range(135.0, 150.0), rng.range(24.0, 30.0));
        b.sail(spot, knots * 0.7, Mode::Underway);
        let loiter_start = b.t;
        b.drift(rng.range(0.0, 360.0), rng.range(0.1, 0.3), 12 * HOUR);
        let from = loiter_start + hours(rng.range(1.0, 1.5));
        let until = from + hours(9.5);
        self.silences.push(Silence {
            from,
            until,
            label: GapLabel::LateFixSplit,
            expect: Expect::Withdrawn,
        });
        self.late_fixes.push(LateFix {
            at: from + hours(4.75),
            delay: 12 * HOUR,
        });
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
        transmitter: 0,
    }
}

/// One of a set's North Korean product tankers (slot `j`, 0-3), home at Rajin or Chongjin.
pub(super) fn plan_shuttle_tanker(
    ctx: &Ctx,
    r: &mut SplitMix64,
    registry: &mut Registry,
    j: usize,
) -> VesselPlan {
    let mmsi = registry.mmsi(r, 445, true);
    let length = r.range(78.0, 112.0);
    let beam = length * r.range(0.14, 0.16);
    let (to_bow, to_stern, to_port, to_starboard) = dims(r, length, beam);
    let identity = Identity {
        imo: registry.imo(r, true),
        name: registry.korean_name(r),
        callsign: callsign(r, "HM", 5),
        ship_type: r.int(80, 84) as u8,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
    };
    let light = r.int(36, 46) as u8;
    let laden = light + r.int(20, 28) as u8;
    let home = if j % 2 == 0 { RAJIN } else { CHONGJIN };
    plan_shuttle(
        ctx, r, registry, j, mmsi, identity, light, laden, home, false,
    )
}

/// A general cargo ship on the watchlist running the same errand, with its watchlist entry.
pub(super) fn plan_watched_cargo(
    ctx: &Ctx,
    r: &mut SplitMix64,
    registry: &mut Registry,
) -> (VesselPlan, WatchEntry) {
    let mmsi = registry.mmsi(r, 445, true);
    let length = r.range(95.0, 125.0);
    let (to_bow, to_stern, to_port, to_starboard) = dims(r, length, length * 0.15);
    let identity = Identity {
        imo: registry.imo(r, true),
        name: registry.korean_name(r),
        callsign: callsign(r, "HM", 5),
        ship_type: 70,
        to_bow,
        to_stern,
        to_port,
        to_starboard,
    };
    let entry = WatchEntry {
        mmsi,
        imo: identity.imo,
        name: identity.name.clone(),
        note: "general cargo named in a sanctions designation".into(),
    };
    let light = r.int(40, 50) as u8;
    let plan = plan_shuttle(
        ctx,
        r,
        registry,
        4,
        mmsi,
        identity,
        light,
        light + 3,
        CHONGJIN,
        true,
    );
    (plan, entry)
}
