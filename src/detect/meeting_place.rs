//! Where and when two vessels, each seen only around the time (before going dark and after
//! coming back, or idling in one place), could have been together for a given time: the port
//! feasibility test applied to a moving partner. Pure geometry on the crate's sphere.
//!
//! A dark vessel that left A at `ta` and reached B at `tb` at no more than `v` knots can be at
//! a place x from `ta + d(A,x)/v` until `tb - d(x,B)/v`: the places where that span is not
//! empty form an ellipse with foci A and B. Two vessels can stay together at x for T hours
//! when both spans hold a common T hours. The spare time beyond T ("slack") is the smaller
//! latest departure minus the larger earliest arrival, a concave function of x (concave minus
//! convex), so a shrinking grid finds its best place and each ray from there crosses the
//! boundary of the feasible area once.

use crate::ports::{haversine_nm, METRES_PER_NM};

/// Grid intervals per side of each refinement step.
const GRID: usize = 16;
/// The search stops refining once grid points are this close (nautical miles, about 20 m).
const FINEST_NM: f64 = 0.01;
/// Rays drawn from the best place to outline the feasible meeting area.
const RAYS: usize = 16;
/// Bisection steps along each ray.
const RAY_STEPS: usize = 24;
/// Hours charged per nautical mile outside an idling vessel's area: being elsewhere is as bad
/// as arriving far too late.
const OUTSIDE_PENALTY_H_PER_NM: f64 = 100.0;
/// Score charged to a place too close to a designated port: kept ordered, never chosen.
const NEAR_PORT_PENALTY_H: f64 = 1e6;

/// One vessel's whereabouts as far as the data tell. Times are hours since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Whereabouts {
    /// Dark from fix A to fix B; `b` is `None` while the vessel is still silent, and `tb` is
    /// then the stream clock: it could be anywhere within reach of A.
    Dark {
        a: (f64, f64),
        ta: f64,
        b: Option<(f64, f64)>,
        tb: f64,
    },
    /// Heard idling within `radius_nm` of `at` from `from` to `until`.
    Idle {
        at: (f64, f64),
        radius_nm: f64,
        from: f64,
        until: f64,
    },
}

/// A position with the cosine of its latitude worked out once: the search measures thousands
/// of places from the same fixes, and each place from up to four of them.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    lat: f64,
    lon: f64,
    cos_lat: f64,
}

impl Anchor {
    fn new((lat, lon): (f64, f64)) -> Anchor {
        Anchor {
            lat,
            lon,
            cos_lat: lat.to_radians().cos(),
        }
    }

    /// [`haversine_nm`] from here to `to`: the same operations in the same order, with the
    /// two cosines already known, so the same bits for a third of the transcendental calls.
    fn distance_nm(self, to: Anchor) -> f64 {
        let delta_theta = (to.lat - self.lat).to_radians();
        let delta_lambda = (to.lon - self.lon).to_radians();
        let a = (delta_theta / 2.0).sin().powi(2)
            + self.cos_lat * to.cos_lat * (delta_lambda / 2.0).sin().powi(2);
        let c = 2.0 * a.sqrt().asin();
        geo::Haversine.radius() * c / METRES_PER_NM
    }
}

/// [`Whereabouts`] with its fixes as anchors, for the many places one test measures.
#[derive(Clone, Copy, Debug)]
enum Anchored {
    Dark {
        a: Anchor,
        ta: f64,
        b: Option<Anchor>,
        tb: f64,
    },
    Idle {
        at: Anchor,
        radius_nm: f64,
        from: f64,
        until: f64,
    },
}

impl Anchored {
    /// When the vessel could be at `x`: its earliest arrival and the latest time it could
    /// begin `hours` there and still make its next fix.
    fn span(&self, x: Anchor, speed_kn: f64, hours: f64) -> (f64, f64) {
        match *self {
            Anchored::Dark { a, ta, b, tb } => {
                let arrive = ta + a.distance_nm(x) / speed_kn;
                let leave = tb - b.map_or(0.0, |b| x.distance_nm(b) / speed_kn);
                (arrive, leave - hours)
            }
            Anchored::Idle {
                at,
                radius_nm,
                from,
                until,
            } => {
                let outside = (at.distance_nm(x) - radius_nm).max(0.0);
                let penalty = outside * OUTSIDE_PENALTY_H_PER_NM;
                (from + penalty, until - hours - penalty)
            }
        }
    }
}

impl Whereabouts {
    fn anchored(&self) -> Anchored {
        match *self {
            Whereabouts::Dark { a, ta, b, tb } => Anchored::Dark {
                a: Anchor::new(a),
                ta,
                b: b.map(Anchor::new),
                tb,
            },
            Whereabouts::Idle {
                at,
                radius_nm,
                from,
                until,
            } => Anchored::Idle {
                at: Anchor::new(at),
                radius_nm,
                from,
                until,
            },
        }
    }

    /// A box (south, west, north, east) in degrees holding every place it could be for
    /// `hours`; `None` when even staying put for `hours` does not fit.
    pub(super) fn reach_box(&self, speed_kn: f64, hours: f64) -> Option<[f64; 4]> {
        match *self {
            Whereabouts::Dark { a, ta, b, tb } => {
                let budget_nm = speed_kn * (tb - ta - hours);
                let (far, margin) = match b {
                    Some(b) => {
                        let d = haversine_nm(a.0, a.1, b.0, b.1);
                        if budget_nm < d {
                            return None;
                        }
                        // The farthest an ellipse point lies from its foci's segment.
                        (b, (budget_nm * budget_nm - d * d).sqrt() / 2.0)
                    }
                    None if budget_nm < 0.0 => return None,
                    None => (a, budget_nm),
                };
                Some(expand(a, far, margin))
            }
            Whereabouts::Idle {
                at,
                radius_nm,
                from,
                until,
            } => (until - from >= hours).then(|| expand(at, at, radius_nm)),
        }
    }
}

/// The box around two points widened by `margin_nm` on every side.
fn expand(p: (f64, f64), q: (f64, f64), margin_nm: f64) -> [f64; 4] {
    let north = p.0.max(q.0) + margin_nm / 60.0;
    let south = p.0.min(q.0) - margin_nm / 60.0;
    let widest = north.abs().max(south.abs()).min(89.0).to_radians().cos();
    let dlon = (margin_nm / (60.0 * widest)).min(180.0);
    [
        south.max(-90.0),
        p.1.min(q.1) - dlon,
        north.min(90.0),
        p.1.max(q.1) + dlon,
    ]
}

/// The best place two vessels could have met, and what the data allow around it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct MeetingPlace {
    pub lat: f64,
    pub lon: f64,
    /// Hours beyond the required time they could have spent together there.
    pub slack_hours: f64,
    /// The earliest they could have been together, and the latest they could have parted
    /// (hours since the epoch), over the sampled feasible area.
    pub earliest_h: f64,
    pub latest_h: f64,
    /// The feasible area's outline, (lat, lon), one point per ray.
    pub outline: Vec<(f64, f64)>,
    /// The farthest the outline lies from the best place.
    pub radius_nm: f64,
}

/// What the test needs besides the two vessels.
pub(super) struct Rule<'a> {
    pub speed_kn: f64,
    pub hours: f64,
    /// Whether a place keeps the required distance from every designated port.
    pub away: &'a dyn Fn(f64, f64) -> bool,
}

/// Spare hours the two have together at a place (negative: they cannot meet there).
fn slack(p: &Anchored, q: &Anchored, rule: &Rule<'_>, lat: f64, lon: f64) -> (f64, f64) {
    let x = Anchor::new((lat, lon));
    let (p_lo, p_hi) = p.span(x, rule.speed_kn, rule.hours);
    let (q_lo, q_hi) = q.span(x, rule.speed_kn, rule.hours);
    let lo = p_lo.max(q_lo);
    (p_hi.min(q_hi) - lo, lo)
}

/// Where the two could have been together for `rule.hours`, away from ports; `None` when
/// nowhere.
pub(super) fn meeting_place(
    p: &Whereabouts,
    q: &Whereabouts,
    rule: &Rule<'_>,
) -> Option<MeetingPlace> {
    let pb = p.reach_box(rule.speed_kn, rule.hours)?;
    let qb = q.reach_box(rule.speed_kn, rule.hours)?;
    let mut box_ = [
        pb[0].max(qb[0]),
        pb[1].max(qb[1]),
        pb[2].min(qb[2]),
        pb[3].min(qb[3]),
    ];
    if box_[0] > box_[2] || box_[1] > box_[3] {
        return None;
    }
    let (p, q) = (&p.anchored(), &q.anchored());
    let score = |lat: f64, lon: f64| {
        let s = slack(p, q, rule, lat, lon).0;
        if (rule.away)(lat, lon) {
            s
        } else {
            s - NEAR_PORT_PENALTY_H
        }
    };
    let (mut best, mut best_score) = ((box_[0], box_[1]), f64::NEG_INFINITY);
    for _ in 0..40 {
        let step_lat = (box_[2] - box_[0]) / GRID as f64;
        let step_lon = (box_[3] - box_[1]) / GRID as f64;
        for i in 0..=GRID {
            for j in 0..=GRID {
                let lat = box_[0] + step_lat * i as f64;
                let lon = box_[1] + step_lon * j as f64;
                let s = score(lat, lon);
                if s > best_score {
                    (best, best_score) = ((lat, lon), s);
                }
            }
        }
        let step_nm = (step_lat * 60.0).max(step_lon * 60.0 * best.0.to_radians().cos());
        if step_nm < FINEST_NM {
            break;
        }
        box_ = [
            best.0 - 2.0 * step_lat,
            best.1 - 2.0 * step_lon,
            best.0 + 2.0 * step_lat,
            best.1 + 2.0 * step_lon,
        ];
    }
    if best_score < 0.0 {
        return None;
    }
    let reach_nm = {
        let union = [pb[0].min(qb[0]), pb[2].max(qb[2])];
        (union[1] - union[0]) * 60.0 + 1.0
    };
    Some(outline(p, q, rule, best, best_score, reach_nm))
}

/// The feasible area around the best place, and the time window over its samples.
fn outline(
    p: &Anchored,
    q: &Anchored,
    rule: &Rule<'_>,
    best: (f64, f64),
    best_slack: f64,
    reach_nm: f64,
) -> MeetingPlace {
    let at = |s: f64, angle: f64| {
        let lat = best.0 + s * angle.cos() / 60.0;
        let lon = best.1 + s * angle.sin() / (60.0 * best.0.to_radians().cos().max(1e-6));
        (lat, lon)
    };
    let (_, lo) = slack(p, q, rule, best.0, best.1);
    let (mut earliest, mut latest) = (lo, lo + best_slack + rule.hours);
    let mut points = Vec::with_capacity(RAYS);
    let mut radius_nm: f64 = 0.0;
    for ray in 0..RAYS {
        let angle = std::f64::consts::TAU * ray as f64 / RAYS as f64;
        let (mut inside, mut outside) = (0.0, reach_nm);
        for _ in 0..RAY_STEPS {
            let mid = (inside + outside) / 2.0;
            let (lat, lon) = at(mid, angle);
            if slack(p, q, rule, lat, lon).0 >= 0.0 {
                inside = mid;
            } else {
                outside = mid;
            }
        }
        for k in 1..=3 {
            let (lat, lon) = at(inside * f64::from(k) / 3.0, angle);
            let (s, lo) = slack(p, q, rule, lat, lon);
            if s >= 0.0 {
                earliest = earliest.min(lo);
                latest = latest.max(lo + s + rule.hours);
            }
        }
        radius_nm = radius_nm.max(inside);
        points.push(at(inside, angle));
    }
    MeetingPlace {
        lat: best.0,
        lon: best.1,
        slack_hours: best_slack,
        earliest_h: earliest,
        latest_h: latest,
        outline: points,
        radius_nm,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_anchored_distance_is_the_haversine_bit_for_bit() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut range = |lo: f64, hi: f64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            lo + (hi - lo) * (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..20_000 {
            let (a, b) = (
                (range(-89.0, 89.0), range(-180.0, 180.0)),
                (range(-89.0, 89.0), range(-180.0, 180.0)),
            );
            let near = (a.0 + range(-0.5, 0.5), a.1 + range(-0.5, 0.5));
            for to in [b, near] {
                let want = haversine_nm(a.0, a.1, to.0, to.1);
                let got = Anchor::new(a).distance_nm(Anchor::new(to));
                assert_eq!(got.to_bits(), want.to_bits(), "{a:?} to {to:?}");
            }
        }
    }

    use super::*;

    fn anywhere(_: f64, _: f64) -> bool {
        true
    }

    fn rule(away: &dyn Fn(f64, f64) -> bool) -> Rule<'_> {
        Rule {
            speed_kn: 15.0,
            hours: 2.0,
            away,
        }
    }

    /// A vessel that went dark 30 nm west (or east) of (41.0, 134.0) and came back where it
    /// left, silent from hour 0 to hour `hours`.
    fn dark(dlon_nm: f64, hours: f64) -> Whereabouts {
        let lon = 134.0 + dlon_nm / (60.0 * 41f64.to_radians().cos());
        Whereabouts::Dark {
            a: (41.0, lon),
            ta: 0.0,
            b: Some((41.0, lon)),
            tb: hours,
        }
    }

    #[test]
    fn two_vessels_dark_together_long_enough_meet_halfway_with_the_slack_the_sums_give() {
        // 60 nm apart, 10 h dark: each needs 2 h out and 2 h back to the midpoint, which
        // leaves 6 h together, 4 h beyond the 2 h asked.
        let place = meeting_place(&dark(-30.0, 10.0), &dark(30.0, 10.0), &rule(&anywhere)).unwrap();
        assert!((place.lat - 41.0).abs() < 0.01, "{place:?}");
        assert!((place.lon - 134.0).abs() < 0.01, "{place:?}");
        assert!((place.slack_hours - 4.0).abs() < 0.01, "{place:?}");
        assert!((place.earliest_h - 2.0).abs() < 0.05, "{place:?}");
        assert!((place.latest_h - 8.0).abs() < 0.05, "{place:?}");
        assert_eq!(place.outline.len(), RAYS);
        assert!(place.radius_nm > 1.0 && place.radius_nm < 60.0, "{place:?}");
    }

    #[test]
    fn vessels_too_far_apart_for_their_silences_cannot_meet() {
        // 300 nm apart and 10 h dark: even halfway needs 10 h each way.
        assert!(meeting_place(&dark(-150.0, 10.0), &dark(150.0, 10.0), &rule(&anywhere)).is_none());
        // Apart in time: the second went dark after the first came back.
        let later = match dark(30.0, 10.0) {
            Whereabouts::Dark { a, b, .. } => Whereabouts::Dark {
                a,
                ta: 12.0,
                b,
                tb: 22.0,
            },
            other => other,
        };
        assert!(meeting_place(&dark(-30.0, 10.0), &later, &rule(&anywhere)).is_none());
    }

    #[test]
    fn an_idle_partner_is_met_where_it_idles_and_only_while_it_idles() {
        let idle = Whereabouts::Idle {
            at: (41.0, 134.0),
            radius_nm: 0.5,
            from: 3.0,
            until: 9.0,
        };
        let place = meeting_place(&dark(-30.0, 10.0), &idle, &rule(&anywhere)).unwrap();
        assert!(
            haversine_nm(place.lat, place.lon, 41.0, 134.0) <= 0.51,
            "{place:?}"
        );
        // Arrives at 2 h, must leave by 8 h, the partner idles 3-9 h: 3-8 h less the 2 h.
        assert!((place.slack_hours - 3.0).abs() < 0.05, "{place:?}");
        let short = Whereabouts::Idle {
            at: (41.0, 134.0),
            radius_nm: 0.5,
            from: 3.0,
            until: 4.0,
        };
        assert!(meeting_place(&dark(-30.0, 10.0), &short, &rule(&anywhere)).is_none());
    }

    #[test]
    fn a_meeting_possible_only_near_a_port_is_not_found_at_sea() {
        let near = |lat: f64, lon: f64| haversine_nm(lat, lon, 41.0, 134.0) > 200.0;
        assert!(meeting_place(&dark(-30.0, 10.0), &dark(30.0, 10.0), &rule(&near)).is_none());
    }

    #[test]
    fn a_vessel_still_dark_can_be_anywhere_within_reach_of_its_last_fix() {
        let open = Whereabouts::Dark {
            a: (41.0, 134.0),
            ta: 0.0,
            b: None,
            tb: 6.0,
        };
        assert!(meeting_place(&open, &dark(30.0, 10.0), &rule(&anywhere)).is_some());
        assert!(open.reach_box(15.0, 2.0).is_some());
        assert!(open.reach_box(15.0, 7.0).is_none());
    }
}
