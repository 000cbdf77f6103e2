//! Port visits heard with AIS on: entry into a designated port zone, exit only beyond a
//! margin around it (hysteresis), the stop or silence inside that makes it a call rather than
//! a passage, and the voyage from the previous visit. Pure: fixes come in with their time.

use serde::{Deserialize, Serialize};

use crate::hashed::{in_key_order, MmsiMap};
use crate::model::{Fix, Mmsi};
use crate::ports::{haversine_nm, Port, Ports};
use crate::time::UnixMillis;

/// `[detect.visits]`: what makes a port visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisitParams {
    /// A visit ends only at a fix farther than this outside the zone. Global Fishing Watch
    /// enters port visits at 3 km and ends them at 4 km: 1 km = 0.54 nm of margin.
    pub exit_margin_nm: f64,
    /// Speed, in knots, at or under which a vessel in the zone counts as stopped.
    pub stop_speed_kn: f64,
    /// Hours stopped inside the zone that make a call; a passage through the zone without a
    /// stop (or a silence) is not a visit.
    pub min_stop_hours: f64,
}

impl Default for VisitParams {
    fn default() -> Self {
        VisitParams {
            exit_margin_nm: 0.54,
            stop_speed_kn: 0.5,
            min_stop_hours: 0.5,
        }
    }
}

/// Where and when a vessel was last seen calling openly, as a trip reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenCall {
    pub port: String,
    pub arrived: UnixMillis,
    /// The last fix within the exit margin before the vessel sailed.
    pub left_at: UnixMillis,
}

/// One call at a designated port, as stored (keyed by vessel and arrival).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub mmsi: Mmsi,
    pub port: String,
    /// The first fix inside the zone.
    pub arrived: UnixMillis,
    /// The last fix within the exit margin; `None` while the vessel is still in port.
    pub left: Option<UnixMillis>,
    /// The latest fix of the visit so far.
    pub last_heard: UnixMillis,
    pub fixes: u32,
    pub stopped_hours: f64,
    /// A silence of at least the port's gap threshold happened inside the zone.
    pub gap: bool,
    pub longest_silence_hours: f64,
    /// The vessel fell silent inside the zone and was next heard beyond the margin: its
    /// departure was not seen.
    pub departure_unseen: bool,
    /// The voyage that ended here: the previous visit's port and when the vessel left it.
    pub from_port: Option<String>,
    pub from_left: Option<UnixMillis>,
}

impl Visit {
    pub fn key(&self) -> (Mmsi, UnixMillis) {
        (self.mmsi, self.arrived)
    }

    /// Hours from arrival to departure, or to the latest fix while in port.
    pub fn duration_hours(&self) -> f64 {
        self.arrived
            .hours_until(self.left.unwrap_or(self.last_heard))
    }
}

/// The visit a vessel is on, until it qualifies and after.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct OnVisit {
    port: usize,
    visit: Visit,
    last_lat: f64,
    last_lon: f64,
    /// Already handed out as a change (it made a stop or contained a gap).
    counted: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct VesselVisits {
    on: Option<OnVisit>,
    /// The last counted visit's port and departure, for the next visit's voyage.
    last: Option<(String, UnixMillis)>,
}

/// Counters of what the tracker saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VisitStats {
    pub visits: u64,
    pub visits_with_gap: u64,
    /// Zone crossings without a stop or silence: passages, not calls.
    pub passages: u64,
}

impl VisitStats {
    pub fn add(&mut self, other: &VisitStats) {
        self.visits += other.visits;
        self.visits_with_gap += other.visits_with_gap;
        self.passages += other.passages;
    }
}

/// Every vessel's current visit and last departure. Its whole state goes into the engine's
/// checkpoint, so a restarted service continues a visit that began before the restart.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VisitTracker {
    #[serde(with = "in_key_order")]
    vessels: MmsiMap<VesselVisits>,
}

impl VisitTracker {
    /// Takes the next fix of a vessel in time order (late and duplicate fixes never come
    /// here) and appends each visit that started counting, changed or ended to `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        stats: &mut VisitStats,
        params: &VisitParams,
        default_gap_hours: f64,
        ports: &Ports,
        fix: &Fix,
        time: UnixMillis,
        out: &mut Vec<Visit>,
    ) {
        // Only vessels that have been in a port zone are remembered: months of traffic that
        // never calls keep no state here (nor in the checkpoint).
        // One hash lookup for a vessel already remembered; the zone test for the others.
        let state = match self.vessels.get_mut(&fix.mmsi) {
            Some(state) => state,
            None if ports.containing(fix.lat, fix.lon).is_none() => return,
            None => self.vessels.entry(fix.mmsi).or_default(),
        };
        if let Some(on) = &mut state.on {
            let port = &ports[on.port.min(ports.len().saturating_sub(1))];
            let within = on.port < ports.len()
                && port.distance_nm(fix.lat, fix.lon) <= params.exit_margin_nm;
            let gap_hours = port.gap_hours.unwrap_or(default_gap_hours);
            let silence = on.visit.last_heard.hours_until(time);
            if within {
                stay(on, params, gap_hours, fix, time, silence);
                if !on.counted && qualifies(&on.visit, params) {
                    on.counted = true;
                    on.visit.from_port = state.last.as_ref().map(|(p, _)| p.clone());
                    on.visit.from_left = state.last.as_ref().map(|(_, t)| *t);
                    stats.visits += 1;
                    out.push(on.visit.clone());
                } else if on.counted && silence >= gap_hours {
                    out.push(on.visit.clone());
                }
                return;
            }
            let mut ended = state.on.take().expect("on a visit");
            if ended.counted {
                ended.visit.left = Some(ended.visit.last_heard);
                ended.visit.departure_unseen = silence >= gap_hours;
                stats.visits_with_gap += u64::from(ended.visit.gap);
                state.last = Some((ended.visit.port.clone(), ended.visit.last_heard));
                out.push(ended.visit);
            } else {
                stats.passages += 1;
            }
        }
        if let Some(index) = ports.containing(fix.lat, fix.lon) {
            state.on = Some(OnVisit {
                port: index,
                visit: Visit {
                    mmsi: fix.mmsi,
                    port: ports[index].name.clone(),
                    arrived: time,
                    left: None,
                    last_heard: time,
                    fixes: 1,
                    stopped_hours: 0.0,
                    gap: false,
                    longest_silence_hours: 0.0,
                    departure_unseen: false,
                    from_port: None,
                    from_left: None,
                },
                last_lat: fix.lat,
                last_lon: fix.lon,
                counted: false,
            });
        }
    }

    /// After a reload the ports may be others: a visit to a port no longer designated (or
    /// moved in the list) is dropped, uncounted, so it cannot be attributed to the wrong one.
    pub fn follow_ports(&mut self, ports: &[Port]) {
        for state in self.vessels.values_mut() {
            let still = state
                .on
                .as_ref()
                .is_some_and(|on| ports.get(on.port).is_some_and(|p| p.name == on.visit.port));
            if !still {
                state.on = None;
            }
        }
    }

    /// Vessels on a visit right now.
    pub fn in_port(&self) -> usize {
        self.vessels.values().filter(|s| s.on.is_some()).count()
    }

    /// Vessels remembered: those that have been in a port zone.
    pub fn remembered(&self) -> usize {
        self.vessels.len()
    }
}

/// A fix within the margin of the visit's port: time stopped and silences inside.
fn stay(
    on: &mut OnVisit,
    params: &VisitParams,
    gap_hours: f64,
    fix: &Fix,
    time: UnixMillis,
    silence: f64,
) {
    let moved_nm = haversine_nm(on.last_lat, on.last_lon, fix.lat, fix.lon);
    let speed = match fix.sog {
        Some(sog) => f64::from(sog),
        None if silence > 0.0 => moved_nm / silence,
        None => 0.0,
    };
    if silence >= gap_hours {
        // A silence inside the zone is part of the visit: the vessel stayed (or came back
        // before it was heard outside), which is what a dark call at the berth looks like.
        on.visit.gap = true;
    } else if speed <= params.stop_speed_kn {
        on.visit.stopped_hours += silence;
    }
    on.visit.longest_silence_hours = on.visit.longest_silence_hours.max(silence);
    on.visit.last_heard = time;
    on.visit.fixes += 1;
    on.last_lat = fix.lat;
    on.last_lon = fix.lon;
}

fn qualifies(visit: &Visit, params: &VisitParams) -> bool {
    visit.gap || visit.stopped_hours >= params.min_stop_hours
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Heard, TimeSource};

    const T0: i64 = 1_709_856_000_000;
    const MIN: i64 = 60_000;

    fn port() -> Port {
        // Zone of 3 km (1.62 nm) radius, as the field's entry distance.
        Port::circle("Vostochny", 42.73, 133.07, 1.62)
    }

    fn fix(minute: i64, north_nm: f64, sog: f32) -> (Fix, UnixMillis) {
        let time = UnixMillis(T0 + minute * MIN);
        let heard = Heard {
            time: Some(time),
            time_source: Some(TimeSource::TagBlock),
            ..Heard::default()
        };
        let fix = Fix {
            sog: Some(sog),
            ..Fix::bare(Mmsi(445_000_001), 1, heard, 42.73 + north_nm / 60.0, 133.07)
        };
        (fix, time)
    }

    fn run(track: &[(i64, f64, f32)]) -> (Vec<Visit>, VisitStats) {
        let mut tracker = VisitTracker::default();
        let mut stats = VisitStats::default();
        let mut out = Vec::new();
        let ports = [port()];
        for &(minute, north, sog) in track {
            let (fix, time) = fix(minute, north, sog);
            let params = VisitParams::default();
            tracker.observe(
                &mut stats,
                &params,
                6.0,
                &Ports::from(ports.clone()),
                &fix,
                time,
                &mut out,
            );
        }
        (out, stats)
    }

    #[test]
    fn a_stop_inside_makes_one_visit_and_leaving_beyond_the_margin_ends_it() {
        // In at 1.5 nm, moored at the centre for 2 h, then out past 1.62 + 0.54 nm.
        let mut track = vec![(0, 1.5, 8.0)];
        track.extend((1..=40).map(|i| (i * 3, 0.0, 0.0)));
        track.extend([(125, 1.0, 8.0), (130, 2.0, 9.0), (135, 3.0, 10.0)]);
        let (visits, stats) = run(&track);
        assert_eq!(visits.len(), 2, "counted, then ended: {visits:#?}");
        let ended = &visits[1];
        assert_eq!(ended.arrived, UnixMillis(T0));
        // 2.0 nm north is inside the 2.16 nm exit line: still the visit.
        assert_eq!(ended.left, Some(UnixMillis(T0 + 130 * MIN)));
        assert!(!ended.gap);
        assert_eq!(stats.visits, 1);
    }

    #[test]
    fn wandering_between_the_zone_and_the_exit_line_does_not_split_the_visit() {
        let mut track = vec![(0, 0.0, 0.0), (40, 0.0, 0.0)];
        for i in 0..10 {
            track.push((50 + i * 10, if i % 2 == 0 { 1.9 } else { 1.0 }, 1.0));
        }
        track.push((200, 0.0, 0.0));
        track.push((210, 5.0, 10.0));
        let (visits, stats) = run(&track);
        assert_eq!(stats.visits, 1);
        assert_eq!(
            visits.last().unwrap().left,
            Some(UnixMillis(T0 + 200 * MIN))
        );
    }

    #[test]
    fn a_silence_inside_the_zone_is_part_of_one_visit_marked_as_containing_a_gap() {
        let track = [
            (0, 0.5, 0.0),
            (10, 0.5, 0.0),
            (10 + 30 * 60, 0.4, 0.0),
            (1900, 4.0, 9.0),
        ];
        let (visits, stats) = run(&track);
        let ended = visits.last().unwrap();
        assert!(ended.gap);
        assert_eq!(ended.longest_silence_hours, 30.0);
        assert!(!ended.departure_unseen);
        assert_eq!((stats.visits, stats.visits_with_gap), (1, 1));
    }

    #[test]
    fn vessels_that_never_enter_a_zone_leave_no_state() {
        let mut tracker = VisitTracker::default();
        let mut stats = VisitStats::default();
        let mut out = Vec::new();
        for minute in 0..50 {
            let (fix, time) = fix(minute, 30.0 + minute as f64 * 0.1, 10.0);
            let params = VisitParams::default();
            tracker.observe(
                &mut stats,
                &params,
                6.0,
                &Ports::from([port()]),
                &fix,
                time,
                &mut out,
            );
        }
        assert_eq!(tracker.remembered(), 0);
        assert!(out.is_empty());
    }

    #[test]
    fn a_passage_without_a_stop_is_not_a_visit() {
        let track: Vec<_> = (0..16).map(|i| (i, 1.5 - i as f64 * 0.3, 9.0)).collect();
        let (visits, stats) = run(&track);
        assert!(visits.is_empty());
        assert_eq!(stats.passages, 1);
    }

    #[test]
    fn consecutive_visits_form_a_voyage_from_the_previous_port() {
        let nakhodka = Port::circle("Nakhodka", 42.80, 132.88, 1.62);
        let ports = [port(), nakhodka];
        let mut tracker = VisitTracker::default();
        let mut stats = VisitStats::default();
        let mut out = Vec::new();
        let params = VisitParams::default();
        let mut feed = |minute: i64, lat: f64, lon: f64, sog: f32, out: &mut Vec<Visit>| {
            let (mut f, t) = fix(minute, 0.0, sog);
            f.lat = lat;
            f.lon = lon;
            tracker.observe(
                &mut stats,
                &params,
                6.0,
                &Ports::from(ports.clone()),
                &f,
                t,
                out,
            );
        };
        for m in (0..120).step_by(10) {
            feed(m, 42.73, 133.07, 0.0, &mut out);
        }
        feed(200, 42.76, 132.98, 10.0, &mut out);
        for m in (300..420).step_by(10) {
            feed(m, 42.80, 132.88, 0.0, &mut out);
        }
        let second = out.iter().find(|v| v.port == "Nakhodka").unwrap();
        assert_eq!(second.from_port.as_deref(), Some("Vostochny"));
        assert_eq!(second.from_left, Some(UnixMillis(T0 + 110 * MIN)));
        assert_eq!(second.left, None);
    }
}
