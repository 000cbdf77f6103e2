//! Writes the planned scenario as it would reach a receiver: NMEA 4.10 lines with tag blocks
//! in arrival order (a heap of each sender's next report), and the same fixes and static data
//! as MarineCadastre CSV rows. Also injects what real feeds carry: late and out-of-order
//! reports, interleaved fragments, time sentences and corrupt lines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::TransceiverClass;
use crate::simulate::encode::{
    cog_raw, fragments, heading_raw, lat_raw, lon_raw, sog_raw, ClassBPosition, PositionReport,
    Sentence, StaticPartA, StaticPartB, StaticVoyage, TagBlock, MAX_FRAGMENT_CHARS,
};
use crate::time::UnixMillis;

mod writer;

use self::writer::{heartbeat, single_sentence, zda, Writer};
use super::plan::{Mode, Ms, Plan, StaticState, VesselPlan, HOUR, MINUTE, SECOND};
use super::rng::SplitMix64;
use super::truth::{quantised, Counts, Recorder};
use super::world::{station_for, LatLon, STATIONS};

/// The MarineCadastre header the CSV is written with.
pub const CSV_HEADER: &str = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass";

/// Base stations report every ten minutes (real ones every ten seconds).
const HEARTBEAT_EVERY: Ms = 10 * MINUTE;
/// A `$GPZDA` time sentence from the Nakhodka receiver twice a day.
const ZDA_EVERY: Ms = 12 * HOUR;
/// How often a satellite hears a vessel out of terrestrial reach.
const SATELLITE_EVERY: Ms = 30 * MINUTE;
/// Share of type 5 messages whose second fragment arrives after another sentence.
const INTERLEAVE_CHANCE: f64 = 0.15;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Task {
    Vessel(u32),
    Heartbeat(u8),
    Zda,
    /// A fix sent earlier and delivered now: index into the delayed list.
    Delayed(u32),
}

#[derive(Clone, Copy, Debug)]
struct DelayedFix {
    vessel: u32,
    at: Ms,
    via_satellite: bool,
}

/// Per-vessel sending state.
struct Sender {
    rng: SplitMix64,
    next_fix: Ms,
    next_static: Ms,
    started: bool,
    done: bool,
}

/// The feed's timetable: every sender's next line, earliest first, ties in the order they
/// were scheduled.
struct Schedule {
    heap: BinaryHeap<Reverse<(Ms, u64, Task)>>,
    order: u64,
}

impl Schedule {
    fn push(&mut self, t: Ms, task: Task) {
        self.order += 1;
        self.heap.push(Reverse((t, self.order, task)));
    }

    fn pop(&mut self) -> Option<(Ms, Task)> {
        self.heap.pop().map(|Reverse((t, _, task))| (t, task))
    }
}

/// Streams the plan. Returns the line counts; the recorder receives every fix and static
/// report in file order.
pub fn run(
    plan: &Plan,
    seed: u64,
    nmea: &mut dyn Write,
    csv: &mut dyn Write,
    recorder: &mut Recorder,
) -> io::Result<Counts> {
    let root = SplitMix64::new(seed).fork(3);
    let mut writer = Writer::new(nmea, csv, root.fork(1));
    writeln!(writer.csv, "{CSV_HEADER}")?;

    let mut senders: Vec<Sender> = plan
        .vessels
        .iter()
        .enumerate()
        .map(|(i, v)| Sender {
            rng: root.fork(1000 + i as u64),
            next_fix: v.active_from,
            next_static: v.active_from,
            started: false,
            done: false,
        })
        .collect();
    let (mut schedule, mut delayed) = first_schedule(plan);

    while let Some((t, task)) = schedule.pop() {
        if t >= plan.end {
            continue;
        }
        if writer
            .pending_fragment
            .as_ref()
            .is_some_and(|(sent, _)| t > sent + MINUTE)
        {
            if let Some((_, fragment)) = writer.pending_fragment.take() {
                writer.raw_line(&fragment)?;
            }
        }
        if let Some((_, until)) = plan.in_outage(t) {
            // Nothing reaches the feed; everything resumes when it is back.
            let resume = until + writer.rng.int(1, 300) * SECOND;
            match task {
                Task::Vessel(i) => {
                    let s = &mut senders[i as usize];
                    s.next_fix = s.next_fix.max(resume);
                    s.next_static = s.next_static.max(resume + 30 * SECOND);
                    schedule.push(s.next_fix.min(s.next_static), task);
                }
                _ => schedule.push(resume, task),
            }
            continue;
        }
        match task {
            Task::Heartbeat(i) => {
                heartbeat(&mut writer, usize::from(i), t)?;
                schedule.push(t + HEARTBEAT_EVERY, task);
            }
            Task::Zda => {
                zda(&mut writer, t)?;
                schedule.push(t + ZDA_EVERY, task);
            }
            Task::Delayed(k) => {
                let d = delayed[k as usize];
                let v = &plan.vessels[d.vessel as usize];
                let s = &mut senders[d.vessel as usize];
                fix(&mut writer, recorder, v, s, d.at, d.via_satellite)?;
            }
            Task::Vessel(i) => {
                let v = &plan.vessels[i as usize];
                let s = &mut senders[i as usize];
                if let Some(next) = vessel_tick(
                    &mut writer,
                    recorder,
                    plan,
                    v,
                    s,
                    t,
                    &mut |at| {
                        delayed.push(DelayedFix {
                            vessel: i,
                            at,
                            via_satellite: false,
                        });
                        delayed.len() as u32 - 1
                    },
                    &mut |emit, k| schedule.push(emit, Task::Delayed(k)),
                )? {
                    schedule.push(next, task);
                }
            }
        }
    }
    writer.finish()
}

/// The first line of every sender: each vessel when it comes on, the planned late fixes when
/// they are delivered, the base stations and the time sentence.
fn first_schedule(plan: &Plan) -> (Schedule, Vec<DelayedFix>) {
    let mut schedule = Schedule {
        heap: BinaryHeap::new(),
        order: 0,
    };
    for (i, v) in plan.vessels.iter().enumerate() {
        schedule.push(v.active_from, Task::Vessel(i as u32));
    }
    let mut delayed: Vec<DelayedFix> = Vec::new();
    for (i, v) in plan.vessels.iter().enumerate() {
        for late in &v.late_fixes {
            delayed.push(DelayedFix {
                vessel: i as u32,
                at: late.at,
                via_satellite: true,
            });
            schedule.push(
                late.at + late.delay,
                Task::Delayed(delayed.len() as u32 - 1),
            );
        }
    }
    for (i, station) in STATIONS.iter().enumerate() {
        if station.base_mmsi.is_some() {
            schedule.push(
                plan.start + (17 + 263 * i as i64) * SECOND,
                Task::Heartbeat(i as u8),
            );
        }
    }
    schedule.push(plan.start + 30 * MINUTE, Task::Zda);
    (schedule, delayed)
}

/// Handles a vessel's due report at `t`; returns when it next wants to send.
#[allow(clippy::too_many_arguments)]
fn vessel_tick(
    w: &mut Writer,
    recorder: &mut Recorder,
    plan: &Plan,
    v: &VesselPlan,
    s: &mut Sender,
    t: Ms,
    defer: &mut dyn FnMut(Ms) -> u32,
    schedule: &mut dyn FnMut(Ms, u32),
) -> io::Result<Option<Ms>> {
    if s.done {
        return Ok(None);
    }
    if !s.started {
        // A transponder coming on air sends its static data first.
        s.started = true;
        static_report(w, recorder, v, s, t)?;
        s.next_fix = t + s.rng.int(10, 40) * SECOND;
        s.next_static = t + jitter(&mut s.rng, v.static_every);
        return Ok(Some(s.next_fix.min(s.next_static)));
    }
    if let Some(silence) = v.silence_at(t) {
        s.next_fix = silence.until;
        s.next_static = silence.until + s.rng.int(20, 60) * SECOND;
        return Ok(Some(s.next_fix));
    }
    let final_fix = v.active_until < plan.end && t >= v.active_until;
    if t >= s.next_fix {
        let late = v.late_minutes_chance > 0.0 && s.rng.chance(v.late_minutes_chance);
        if late {
            let k = defer(t);
            schedule(t + s.rng.int(2, 8) * MINUTE, k);
        } else {
            fix(w, recorder, v, s, t, false)?;
        }
        if final_fix {
            s.done = true;
            return Ok(None);
        }
        let leg = v.track.leg_at(t);
        let mut every = if leg.mode.is_slow() {
            v.slow_every
        } else {
            v.underway_every
        };
        // Out of terrestrial reach only satellite passes hear the vessel.
        if STATIONS[station_for(leg.position(t))].base_mmsi.is_none() {
            every = every.max(SATELLITE_EVERY);
        }
        let mut next = t + jitter(&mut s.rng, every);
        // The last fix before a silence is sent exactly when it starts.
        if let Some(silence) = v.silences.iter().find(|x| x.from > t && x.from < next) {
            next = silence.from;
        }
        if v.active_until < plan.end && next > v.active_until {
            next = v.active_until;
        }
        s.next_fix = next;
    } else {
        static_report(w, recorder, v, s, t)?;
        let mut next = t + jitter(&mut s.rng, v.static_every);
        // A change typed in by the crew goes out at once.
        if let Some(&(change, _)) = v.statics.iter().find(|(c, _)| *c > t && *c < next) {
            next = change;
        }
        s.next_static = next;
    }
    if s.next_static > v.active_until && v.active_until < plan.end {
        s.next_static = Ms::MAX / 2;
    }
    Ok(Some(s.next_fix.min(s.next_static)))
}

/// `every` with up to a tenth either way, in whole seconds.
fn jitter(rng: &mut SplitMix64, every: Ms) -> Ms {
    let spread = every / 10 / SECOND;
    every + rng.int(-spread, spread) * SECOND
}

fn position_of(v: &VesselPlan, s: &mut Sender, t: Ms) -> (LatLon, Mode, f64, f64, u16) {
    let leg = v.track.leg_at(t);
    let mut p = leg.position(t);
    let (sog, cog, heading) = match leg.mode {
        Mode::Moored | Mode::Anchored => {
            // A moored antenna still wanders a few metres.
            p.lat += s.rng.range(-2e-5, 2e-5);
            p.lon += s.rng.range(-2e-5, 2e-5);
            (s.rng.range(0.0, 0.15), s.rng.range(0.0, 360.0), leg.heading)
        }
        Mode::Drifting => (
            (leg.knots() + s.rng.range(-0.1, 0.1)).max(0.0),
            (leg.course() + s.rng.range(-20.0, 20.0) + 360.0) % 360.0,
            leg.heading,
        ),
        Mode::Underway | Mode::Fishing => {
            let course = leg.course();
            (
                (leg.knots() + s.rng.range(-0.3, 0.3)).max(0.0),
                (course + s.rng.range(-2.0, 2.0) + 360.0) % 360.0,
                ((course + s.rng.range(-3.0, 3.0) + 360.0).round() as u16) % 360,
            )
        }
    };
    (p, leg.mode, sog, cog, heading)
}

/// Writes one position report (NMEA line and CSV row) with event time `t`.
fn fix(
    w: &mut Writer,
    recorder: &mut Recorder,
    v: &VesselPlan,
    s: &mut Sender,
    t: Ms,
    via_satellite: bool,
) -> io::Result<()> {
    let (p, mode, sog, cog, heading) = position_of(v, s, t);
    let (lat, lon) = (lat_raw(Some(p.lat)), lon_raw(Some(p.lon)));
    let (sog, cog) = (sog_raw(Some(sog)), cog_raw(Some(cog)));
    let second = ((t / SECOND) % 60) as u8;
    let armoured = match v.class {
        TransceiverClass::A => PositionReport {
            msg_type: if mode == Mode::Moored && s.rng.chance(0.5) {
                3
            } else {
                1
            },
            repeat: 0,
            mmsi: v.mmsi,
            nav_status: mode.nav_status(),
            turn: if mode.is_slow() { -128 } else { 0 },
            sog,
            accuracy: s.rng.chance(0.3),
            lon,
            lat,
            cog,
            heading: heading_raw(Some(heading)),
            second,
            maneuver: 0,
            raim: false,
            radio: s.rng.int(0, (1 << 19) - 1) as u32,
        }
        .encode(),
        TransceiverClass::B => ClassBPosition {
            repeat: 0,
            mmsi: v.mmsi,
            sog,
            accuracy: false,
            lon,
            lat,
            cog,
            heading: 511,
            second,
            cs: true,
            display: false,
            dsc: true,
            band: true,
            msg22: true,
            assigned: false,
            raim: false,
            radio: 0b1100_0000_0000_0000_0110,
        }
        .encode(),
    };
    let station = if via_satellite {
        STATIONS.len() - 1
    } else {
        station_for(p)
    };
    let channel = if s.rng.chance(0.5) { 'A' } else { 'B' };
    single_sentence(&mut w.text, STATIONS[station].name, t, channel, &armoured);
    w.line.clear();
    w.line.extend_from_slice(w.text.as_bytes());
    let line = std::mem::take(&mut w.line);
    w.emit(t, &line, false)?;
    w.line = line;
    w.counts.position_reports += 1;
    let q = quantised(lat, lon);
    recorder.fix(v.mmsi, v.transmitter, t, q, w.counts.lines);

    csv_row(w, v, t, q, (sog, cog, heading), mode)
}

/// The CSV row of a fix: the same fix with the static data in force at its time. `motion` is
/// speed and course as sent (tenths) and the heading.
fn csv_row(
    w: &mut Writer,
    v: &VesselPlan,
    t: Ms,
    q: LatLon,
    (sog, cog, heading): (u16, u16, u16),
    mode: Mode,
) -> io::Result<()> {
    let state = v.static_at(t);
    let id = &state.identity;
    w.text.clear();
    let _ = write!(
        w.text,
        "{},{},{:.6},{:.6},{:.1},{:.1},{},",
        v.mmsi,
        csv_time(t),
        q.lat,
        q.lon,
        f64::from(sog) / 10.0,
        f64::from(cog) / 10.0,
        if v.class == TransceiverClass::A {
            heading_raw(Some(heading))
        } else {
            511
        },
    );
    csv_text(&mut w.text, &id.name);
    w.text.push(',');
    if id.imo != 0 {
        let _ = write!(w.text, "IMO{:07}", id.imo);
    }
    w.text.push(',');
    csv_text(&mut w.text, &id.callsign);
    let _ = write!(w.text, ",{},", id.ship_type);
    if v.class == TransceiverClass::A {
        let _ = write!(w.text, "{}", mode.nav_status());
    }
    let _ = write!(w.text, ",{},{},", id.length(), id.beam());
    if state.draught_dm > 0 {
        let _ = write!(w.text, "{:.1}", f64::from(state.draught_dm) / 10.0);
    }
    let _ = writeln!(
        w.text,
        ",,{}",
        if v.class == TransceiverClass::A {
            "A"
        } else {
            "B"
        }
    );
    w.csv.write_all(w.text.as_bytes())?;
    w.csv_rows += 1;
    Ok(())
}

fn csv_time(t: Ms) -> String {
    let (y, mo, d, h, mi, s, _) = UnixMillis(t).to_civil();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
}

fn csv_text(out: &mut String, text: &str) {
    if text.contains([',', '"']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// Writes the vessel's static data: type 5 in two fragments (Class A) or 24A + 24B (Class B).
fn static_report(
    w: &mut Writer,
    recorder: &mut Recorder,
    v: &VesselPlan,
    s: &mut Sender,
    t: Ms,
) -> io::Result<()> {
    let state = v.static_at(t);
    recorder.static_report(v.mmsi, v.transmitter, t, state);
    let p = v.track.position(t);
    let station = station_for(p);
    let channel = if s.rng.chance(0.5) { 'A' } else { 'B' };
    match v.class {
        TransceiverClass::A => {
            let armoured = type5(v.mmsi, state).encode();
            let parts = fragments(&armoured, MAX_FRAGMENT_CHARS);
            let seq = w.next_seq(station);
            w.group_id += 1;
            let group = w.group_id;
            let mut lines: Vec<Vec<u8>> = Vec::with_capacity(parts.len());
            for (n, (payload, fill)) in parts.iter().enumerate() {
                w.text.clear();
                TagBlock {
                    group: Some((n as u8 + 1, parts.len() as u8, group)),
                    station: Some(STATIONS[station].name),
                    unix_secs: Some(t / SECOND),
                }
                .write(&mut w.text);
                Sentence {
                    head: "AIVDM",
                    fragments: parts.len() as u8,
                    fragment: n as u8 + 1,
                    seq_id: Some(seq),
                    channel: Some(channel),
                    payload,
                    fill_bits: *fill,
                }
                .write(&mut w.text);
                lines.push(w.text.as_bytes().to_vec());
            }
            let interleave = lines.len() == 2 && s.rng.chance(INTERLEAVE_CHANCE);
            let last = lines.pop();
            for line in &lines {
                w.emit(t, line, false)?;
            }
            if let Some(last) = last {
                if interleave {
                    w.pending_fragment = Some((t, last));
                } else {
                    w.emit(t, &last, false)?;
                }
            }
        }
        TransceiverClass::B => {
            let id = &state.identity;
            let a = StaticPartA {
                repeat: 0,
                mmsi: v.mmsi,
                name: id.name.clone(),
            }
            .encode();
            let b = StaticPartB {
                repeat: 0,
                mmsi: v.mmsi,
                ship_type: id.ship_type,
                vendor: "SRT".into(),
                model: 2,
                serial: v.mmsi % 1_000_000,
                callsign: id.callsign.clone(),
                to_bow: id.to_bow,
                to_stern: id.to_stern,
                to_port: id.to_port,
                to_starboard: id.to_starboard,
            }
            .encode();
            for armoured in [a, b] {
                single_sentence(&mut w.text, STATIONS[station].name, t, channel, &armoured);
                let line = w.text.as_bytes().to_vec();
                w.emit(t, &line, false)?;
            }
        }
    }
    Ok(())
}

fn type5(mmsi: u32, state: &StaticState) -> StaticVoyage {
    let id = &state.identity;
    StaticVoyage {
        repeat: 0,
        mmsi,
        ais_version: 0,
        imo: id.imo,
        callsign: id.callsign.clone(),
        name: id.name.clone(),
        ship_type: id.ship_type,
        to_bow: id.to_bow,
        to_stern: id.to_stern,
        to_port: id.to_port,
        to_starboard: id.to_starboard,
        epfd: 1,
        eta_month: state.eta[0],
        eta_day: state.eta[1],
        eta_hour: state.eta[2],
        eta_minute: state.eta[3],
        draught: state.draught_dm,
        destination: state.destination.clone(),
        dte: false,
    }
}
