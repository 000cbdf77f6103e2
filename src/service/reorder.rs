//! The live reorder window: timed events wait until the newest event time seen is
//! `reorder_window_s` past them, and leave in the order replay sorts in (see
//! [`crate::record`]), so that feeds from several receivers that are slightly out of
//! step reach the engine in time order. Anything later than the window is late data, judged
//! by the engine's late-data rules. Bounded: beyond [`MAX_HELD`] events the earliest leave
//! early.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{AisEvent, LineRef};
use crate::record;

/// Most events held at once, whatever the window: a feed that bursts cannot grow memory
/// without bound.
pub const MAX_HELD: usize = 200_000;

/// Events waiting for earlier ones.
#[derive(Default)]
pub struct ReorderWindow {
    window_ms: i64,
    /// Keyed by record (the replay order), then arrival, which only parts identical events.
    held: BTreeMap<(Vec<u8>, u64), AisEvent>,
    arrivals: u64,
    newest: Option<i64>,
    /// Timed events that arrived after a later one: the ones the window had to put back.
    pub arrived_out_of_order: u64,
}

/// What a commit saves of the window: the events still held, so that a restart neither loses
/// them nor reads their lines twice.
#[derive(Serialize, Deserialize)]
struct HeldEvents {
    #[serde(default)]
    held_events: Vec<AisEvent>,
    /// The line each held event ended on, in the same order: an event's line is not part of
    /// its serialised form, and without it a restarted service can neither find the event's
    /// raw line nor hand out the evidence the event is (a gap's fix B, say).
    #[serde(default)]
    held_event_lines: Vec<Option<LineRef>>,
}

impl ReorderWindow {
    pub fn new(window_s: u32) -> ReorderWindow {
        ReorderWindow {
            window_ms: i64::from(window_s) * 1000,
            ..ReorderWindow::default()
        }
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Takes one event and appends to `ready` every event whose time has come, in order.
    /// Untimed events, and every event when the window is 0, pass straight through.
    pub fn push(&mut self, event: AisEvent, ready: &mut Vec<AisEvent>) {
        let Some(time) = event.time().map(|t| t.as_millis()) else {
            ready.push(event);
            return;
        };
        if self.newest.is_some_and(|newest| time < newest) {
            self.arrived_out_of_order += 1;
        }
        if self.window_ms == 0 && self.held.is_empty() {
            self.newest = self.newest.max(Some(time));
            ready.push(event);
            return;
        }
        self.newest = self.newest.max(Some(time));
        self.hold(event);
        self.release(ready);
    }

    fn hold(&mut self, event: AisEvent) {
        let mut key = Vec::with_capacity(64);
        record::encode(&event, &mut key);
        self.held.insert((key, self.arrivals), event);
        self.arrivals += 1;
    }

    fn release(&mut self, ready: &mut Vec<AisEvent>) {
        let limit = self
            .newest
            .unwrap_or(i64::MIN)
            .saturating_sub(self.window_ms);
        loop {
            let full = self.held.len() > MAX_HELD;
            let Some(entry) = self.held.first_entry() else {
                break;
            };
            let time = record::time_of(&entry.key().0).map_or(i64::MIN, |t| t.as_millis());
            if time > limit && !full {
                break;
            }
            ready.push(entry.remove());
        }
    }

    /// A reloaded window: appends to `ready` what the new one no longer holds back.
    pub fn set_window(&mut self, window_s: u32, ready: &mut Vec<AisEvent>) {
        self.window_ms = i64::from(window_s) * 1000;
        self.release(ready);
    }

    /// Everything held, in order: the input has ended.
    pub fn drain(&mut self, ready: &mut Vec<AisEvent>) {
        ready.extend(std::mem::take(&mut self.held).into_values());
    }

    /// Adds the held events to a checkpoint (a JSON object) for a commit.
    pub fn save_into(&self, checkpoint: &mut serde_json::Value) {
        if let Some(object) = checkpoint.as_object_mut() {
            let held: Vec<&AisEvent> = self.held.values().collect();
            let lines = AisEvent::lines_of(held.iter().copied());
            object.insert(
                "held_events".into(),
                serde_json::to_value(held).expect("events always serialise"),
            );
            object.insert(
                "held_event_lines".into(),
                serde_json::to_value(lines).expect("line references always serialise"),
            );
        }
    }

    /// Holds again the events a checkpoint saved.
    pub fn restore_from(&mut self, checkpoint: &str) -> Result<(), serde_json::Error> {
        let mut saved: HeldEvents = serde_json::from_str(checkpoint)?;
        AisEvent::put_back_lines(&mut saved.held_events, saved.held_event_lines);
        for event in saved.held_events {
            let time = event.time().map(|t| t.as_millis());
            self.newest = self.newest.max(time);
            self.hold(event);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Heard, Mmsi, OtherMessage, VesselReport};
    use crate::time::UnixMillis;

    fn event(mmsi: u32, time: Option<i64>) -> AisEvent {
        AisEvent::Other(OtherMessage {
            mmsi: Mmsi(mmsi),
            msg_type: 21,
            heard: Heard {
                time: time.map(UnixMillis),
                station: Some("RU-VVO".into()),
                ..Heard::default()
            },
        })
    }

    fn times(events: &[AisEvent]) -> Vec<Option<i64>> {
        events
            .iter()
            .map(|e| e.time().map(|t| t.as_millis()))
            .collect()
    }

    #[test]
    fn a_reloaded_shorter_window_lets_go_of_what_it_no_longer_holds_back() {
        let mut window = ReorderWindow::new(600);
        let mut ready = Vec::new();
        for (mmsi, time) in [(1, 10_000), (2, 70_000), (3, 100_000)] {
            window.push(event(mmsi, Some(time)), &mut ready);
        }
        assert!(ready.is_empty());
        window.set_window(60, &mut ready);
        assert_eq!(times(&ready), [Some(10_000)]);
        window.set_window(0, &mut ready);
        assert_eq!(times(&ready), [Some(10_000), Some(70_000), Some(100_000)]);
    }

    #[test]
    fn events_wait_for_the_window_and_leave_in_time_order() {
        let mut window = ReorderWindow::new(5);
        let mut ready = Vec::new();
        for (mmsi, time) in [(1, 10_000), (2, 8_000), (3, 12_000), (4, 9_000)] {
            window.push(event(mmsi, Some(time)), &mut ready);
        }
        window.push(event(5, None), &mut ready);
        assert_eq!(
            times(&ready),
            [None],
            "nothing is 5 s old yet; untimed passes"
        );
        window.push(event(6, Some(14_500)), &mut ready);
        assert_eq!(times(&ready), [None, Some(8_000), Some(9_000)]);
        assert_eq!(window.arrived_out_of_order, 2);
        // Later than the window: released at once, the engine's late-data rules take it.
        window.push(event(7, Some(1_000)), &mut ready);
        assert_eq!(times(&ready)[3..], [Some(1_000)]);
        window.drain(&mut ready);
        assert_eq!(
            times(&ready)[4..],
            [Some(10_000), Some(12_000), Some(14_500)]
        );
        assert_eq!(window.held(), 0);
    }

    #[test]
    fn a_zero_window_passes_every_event_through_in_arrival_order() {
        let mut window = ReorderWindow::new(0);
        let mut ready = Vec::new();
        for time in [10_000, 8_000, 10_000] {
            window.push(event(1, Some(time)), &mut ready);
        }
        assert_eq!(times(&ready), [Some(10_000), Some(8_000), Some(10_000)]);
    }

    #[test]
    fn held_events_survive_a_checkpoint() {
        let mut window = ReorderWindow::new(60);
        let mut ready = Vec::new();
        let line = |n: u64| LineRef {
            source: 3,
            line: n,
            offset: 100 * n,
        };
        for (n, time) in [(1, 5_000), (2, 2_000)] {
            let mut held = AisEvent::VesselReport(VesselReport {
                mmsi: Mmsi(n),
                msg_type: 5,
                heard: Heard {
                    time: Some(UnixMillis(time)),
                    ..Heard::default()
                },
                ..VesselReport::default()
            });
            held.mark_line(line(u64::from(n)));
            window.push(held, &mut ready);
        }
        let mut checkpoint = serde_json::json!({ "clock": 5000 });
        window.save_into(&mut checkpoint);
        let mut restored = ReorderWindow::new(60);
        restored.restore_from(&checkpoint.to_string()).unwrap();
        assert_eq!(restored.held(), 2);
        restored.push(event(3, Some(65_000)), &mut ready);
        assert_eq!(times(&ready), [Some(2_000), Some(5_000)]);
        // Each keeps the line it ended on: its raw line and its evidence are found by it.
        let lines: Vec<_> = ready.iter().map(|e| e.heard().line).collect();
        assert_eq!(lines, [Some(line(2)), Some(line(1))]);
        // A checkpoint from before the window existed holds nothing.
        let mut old = ReorderWindow::new(60);
        old.restore_from("{\"clock\": 5000}").unwrap();
        assert_eq!(old.held(), 0);
    }
}
