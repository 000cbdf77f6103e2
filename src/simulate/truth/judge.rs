//! The detection rules applied to one recorded gap, every answer near a threshold tried both
//! ways: a gap whose outcome depends on one is refused as a knife edge.

use std::collections::BTreeSet;

use super::recorder::{FixRec, Recorder};
use super::Judgement;
use crate::simulate::plan::{Ms, HOUR};
use crate::simulate::world::{distance_nm, rules, DESIGNATED_PORTS};

/// A yes/no answer, or "too close to the threshold to rely on".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Edge,
}

fn tri_at_most(value: f64, limit: f64, margin: f64) -> Tri {
    if value <= limit - margin {
        Tri::Yes
    } else if value > limit + margin {
        Tri::No
    } else {
        Tri::Edge
    }
}

struct PortEval {
    near: Tri,
    reachable: Tri,
    covered: Tri,
    detour: f64,
}

/// The outcome of judging one gap: judgement and attributed port.
pub(super) type Outcome = (Judgement, Option<usize>);

#[derive(Debug)]
pub(super) struct Judged {
    pub(super) outcome: Outcome,
    /// Best-placed near and reachable port, for coverage_unknown.
    pub(super) best_port: Option<usize>,
}

/// Coverage of `port` over the gap, read two ways: every hour the gap touches, and only the
/// hours wholly inside it.
fn coverage(recorder: &Recorder, port: usize, mmsi: u32, a: Ms, b: Ms) -> (f64, f64) {
    let share = |first: Ms, last: Ms| -> Option<f64> {
        if last < first {
            return None;
        }
        let mut covered = 0;
        for h in first..=last {
            let heard = usize::try_from(h)
                .ok()
                .and_then(|h| recorder.heard[port].get(h))
                .map_or(0, |bin| bin.others(mmsi));
            if heard >= rules::COVERING_VESSELS {
                covered += 1;
            }
        }
        Some(f64::from(covered) / (last - first + 1) as f64)
    };
    let rel = |t: Ms| t - recorder.start;
    let touched = share(rel(a).div_euclid(HOUR), rel(b).div_euclid(HOUR)).unwrap_or(0.0);
    let inside = share(
        (rel(a) + HOUR - 1).div_euclid(HOUR),
        rel(b).div_euclid(HOUR) - 1,
    )
    .unwrap_or(touched);
    (touched, inside)
}

/// Judges one gap by the rules, refusing when a threshold is too close to call.
pub(super) fn judge(
    recorder: &Recorder,
    mmsi: u32,
    a: FixRec,
    b: FixRec,
) -> Result<Judged, String> {
    let hours = (b.t - a.t) as f64 / HOUR as f64;
    let speed = distance_nm(a.pos, b.pos) / hours;
    let jump = if speed > rules::JUMP_KN * 1.1 {
        Tri::Yes
    } else if speed < rules::JUMP_KN * 0.9 {
        Tri::No
    } else {
        Tri::Edge
    };
    let budget = rules::DARK_SPEED_KN * (hours - rules::PORT_HOURS);
    let evals = evaluate_ports(recorder, mmsi, a, b, budget);

    // Every combination of the uncertain answers must lead to the same outcome.
    let edges = uncertain_criteria(jump, &evals);
    if edges.len() > 12 {
        return Err(format!("{} uncertain criteria", edges.len()));
    }
    let mut outcomes = BTreeSet::new();
    let mut best_port = None;
    for mask in 0u32..(1 << edges.len()) {
        let pick = |port: usize, criterion: usize, tri: Tri| -> bool {
            match tri {
                Tri::Yes => true,
                Tri::No => false,
                Tri::Edge => {
                    let bit = edges
                        .iter()
                        .position(|&e| e == (port, criterion))
                        .unwrap_or(0);
                    mask & (1 << bit) != 0
                }
            }
        };
        let outcome: Outcome = if pick(usize::MAX, 0, jump) {
            (Judgement::PositionJump, None)
        } else {
            port_outcome(&evals, pick, &mut outcomes, &mut best_port)
        };
        outcomes.insert(outcome);
    }
    if outcomes.len() == 1 {
        let outcome = outcomes
            .into_iter()
            .next()
            .unwrap_or((Judgement::NotNear, None));
        Ok(Judged { outcome, best_port })
    } else {
        let detail: Vec<String> = evals
            .iter()
            .enumerate()
            .map(|(i, e)| {
                format!(
                    "{} near {:?} reachable {:?} ({:.1} of {:.1} nm) covered {:?}",
                    DESIGNATED_PORTS[i].name, e.near, e.reachable, e.detour, budget, e.covered
                )
            })
            .collect();
        Err(format!(
            "possible outcomes {outcomes:?}; {:.1} h, {speed:.1} kn; {}",
            hours,
            detail.join("; ")
        ))
    }
}

/// Each port's answers for the gap from `a` to `b`, with `budget` nm to spare for a call.
fn evaluate_ports(
    recorder: &Recorder,
    mmsi: u32,
    a: FixRec,
    b: FixRec,
    budget: f64,
) -> Vec<PortEval> {
    DESIGNATED_PORTS
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let (da, db) = (port.distance_nm(a.pos), port.distance_nm(b.pos));
            let detour = da + db;
            let near = tri_at_most(da.min(db), rules::APPROACH_NM, 3.0);
            let reachable = tri_at_most(detour, budget, (budget.abs() * 0.05).max(5.0));
            let (touched, inside) = coverage(recorder, i, mmsi, a.t, b.t);
            let covered = if touched.min(inside) >= rules::COVERED_SHARE + 0.1 {
                Tri::Yes
            } else if touched.max(inside) <= rules::COVERED_SHARE - 0.1 {
                Tri::No
            } else {
                Tri::Edge
            };
            PortEval {
                near,
                reachable,
                covered,
                detour,
            }
        })
        .collect()
}

/// The answers too close to call, as (port, criterion): `usize::MAX` stands for the jump
/// test; criteria 0, 1, 2 are near, reachable, covered.
fn uncertain_criteria(jump: Tri, evals: &[PortEval]) -> Vec<(usize, usize)> {
    let mut edges: Vec<(usize, usize)> = Vec::new();
    if jump == Tri::Edge {
        edges.push((usize::MAX, 0));
    }
    for (i, e) in evals.iter().enumerate() {
        for (k, t) in [e.near, e.reachable, e.covered].into_iter().enumerate() {
            if t == Tri::Edge {
                edges.push((i, k));
            }
        }
    }
    edges
}

/// The outcome when no jump: the feasible port of least detour (noting the runner-up as a
/// possible outcome when it is nearly as good), else the best reachable port's coverage is
/// unknown, else unreachable or not near.
fn port_outcome(
    evals: &[PortEval],
    pick: impl Fn(usize, usize, Tri) -> bool,
    outcomes: &mut BTreeSet<Outcome>,
    best_port: &mut Option<usize>,
) -> Outcome {
    let near: Vec<usize> = (0..evals.len())
        .filter(|&i| pick(i, 0, evals[i].near))
        .collect();
    let reachable: Vec<usize> = near
        .iter()
        .copied()
        .filter(|&i| pick(i, 1, evals[i].reachable))
        .collect();
    let feasible: Vec<usize> = reachable
        .iter()
        .copied()
        .filter(|&i| pick(i, 2, evals[i].covered))
        .collect();
    let by_detour = |set: &[usize]| -> Vec<usize> {
        let mut v = set.to_vec();
        v.sort_by(|&x, &y| evals[x].detour.total_cmp(&evals[y].detour));
        v
    };
    if !feasible.is_empty() {
        let order = by_detour(&feasible);
        if order.len() > 1 && evals[order[1]].detour - evals[order[0]].detour < 1.5 {
            outcomes.insert((Judgement::Trip, Some(order[1])));
        }
        (Judgement::Trip, Some(order[0]))
    } else if !reachable.is_empty() {
        *best_port = by_detour(&reachable).first().copied();
        (Judgement::CoverageUnknown, None)
    } else if !near.is_empty() {
        (Judgement::Unreachable, None)
    } else {
        (Judgement::NotNear, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::world::LatLon;
    use crate::simulate::world::{offset, VOSTOCHNY};

    const START: Ms = 1_709_510_400_000;

    /// A recorder in which three other vessels are heard near Vostochny every hour for `days`.
    fn covered_recorder(days: i64) -> Recorder {
        let mut r = Recorder::new(START, START + days * 24 * HOUR);
        let centre = DESIGNATED_PORTS[VOSTOCHNY].centre;
        let mut line = 0;
        for h in 0..days * 24 {
            for (k, mmsi) in [273_000_001u32, 273_000_002, 273_000_003]
                .iter()
                .enumerate()
            {
                line += 1;
                let p = offset(centre, 90.0 * k as f64, 3.0);
                r.fix(*mmsi, 0, START + h * HOUR + 600_000, p, line);
            }
        }
        r
    }

    fn rec(t: Ms, pos: LatLon) -> FixRec {
        FixRec { t, pos, line: 0 }
    }

    #[test]
    fn a_covered_reachable_gap_is_a_trip_at_the_port_of_least_detour() {
        let r = covered_recorder(3);
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        let a = rec(START + 5 * HOUR, offset(v, 140.0, 40.0));
        let b = rec(START + 41 * HOUR, offset(v, 135.0, 45.0));
        let judged = judge(&r, 445_000_001, a, b).unwrap();
        assert_eq!(judged.outcome, (Judgement::Trip, Some(VOSTOCHNY)));
    }

    #[test]
    fn an_uncovered_gap_is_coverage_unknown_and_far_ends_are_not_near() {
        let r = Recorder::new(START, START + 3 * 24 * HOUR);
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        let a = rec(START + 5 * HOUR, offset(v, 140.0, 40.0));
        let b = rec(START + 41 * HOUR, offset(v, 135.0, 45.0));
        let judged = judge(&r, 445_000_001, a, b).unwrap();
        assert_eq!(judged.outcome, (Judgement::CoverageUnknown, None));
        assert_eq!(judged.best_port, Some(VOSTOCHNY));

        let far = rec(START + 5 * HOUR, offset(v, 180.0, 200.0));
        let far_b = rec(START + 15 * HOUR, offset(v, 182.0, 205.0));
        let judged = judge(&r, 445_000_001, far, far_b).unwrap();
        assert_eq!(judged.outcome, (Judgement::NotNear, None));
    }

    #[test]
    fn a_gap_ending_at_the_approach_distance_is_refused_as_a_knife_edge() {
        let r = covered_recorder(2);
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        // 102 nm from the centre is 100 nm from the zone: near or not depends on rounding.
        let a = rec(START + 5 * HOUR, offset(v, 95.0, 102.0));
        let b = rec(START + 15 * HOUR, offset(v, 95.0, 103.0));
        let err = judge(&r, 445_000_001, a, b).unwrap_err();
        assert!(
            err.contains("Unreachable") && err.contains("NotNear"),
            "{err}"
        );
    }

    #[test]
    fn a_jump_faster_than_any_ship_is_a_position_jump() {
        let r = covered_recorder(2);
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        let a = rec(START + 5 * HOUR, offset(v, 140.0, 30.0));
        let b = rec(START + 13 * HOUR, offset(v, 200.0, 480.0));
        let judged = judge(&r, 445_000_001, a, b).unwrap();
        assert_eq!(judged.outcome, (Judgement::PositionJump, None));
    }
}
