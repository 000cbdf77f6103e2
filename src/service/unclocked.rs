//! A live source's first messages timed only by their reception: held until the source's own
//! clock shows, then moved onto it.
//!
//! A log read as a file, or a feed whose data runs behind its reception, can open with a few
//! messages that lack the carrier timing the rest (AMSA's `ais.txt` has 11 before its first
//! `$GPZDA`). Timed by the moment they were read, years after, they moved the stream clock to
//! now: every vessel of the log then looked silent, 2,151 of them were forgotten and 451 fixes
//! came late, where a replay of the same file finds none of it. The source's lag is only known
//! once a message timed by its own clock arrives, so the messages before are held for a short
//! while: when the clock shows, they take their receive time less its lag; when it does not
//! (a feed that has no clock of its own), they go on as they were, a moment late.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::decode::clock::on_source_clock;
use crate::model::{AisEvent, LineRef, TimeSource};
use crate::time::UnixMillis;

/// A source's lines looked at before it is taken to have no clock of its own: far more than
/// a time sentence's usual distance from the next (about 100 lines in AMSA's log).
pub const HOLD_LINES: u64 = 1_000;

/// Receive time a message is held at most: a clockless feed's first messages reach the
/// engine this much late, once.
pub const HOLD_MS: i64 = 2_000;

/// One source's hold.
#[derive(Debug)]
enum Hold {
    Holding {
        events: Vec<AisEvent>,
        /// Receive time of the first event held (the budget runs from it).
        since: Option<UnixMillis>,
        /// Lines of the source looked at while holding.
        lines: u64,
        /// Messages behind the held events, as the decoder counted them timed by reception.
        messages: u64,
    },
    Done,
}

/// What became of a source's held events at a line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Released {
    /// Messages moved onto the source's clock (the decoder counts them so).
    pub moved_messages: u64,
    /// Positions and static reports of the line just held: their raw line is to be kept.
    pub held_evidence: usize,
}

/// What the pipeline knows of a source's clock after one of its lines.
#[derive(Debug, Clone, Copy)]
pub struct LineSeen<'a> {
    pub source: &'a Arc<str>,
    /// When the line was read.
    pub received: UnixMillis,
    /// The source's clock once it has shown, with its lag when measured.
    pub shown: Option<Option<i64>>,
    /// False for a source whose lines are meant to be timed by reception.
    pub holds: bool,
    /// Messages of the line the decoder timed by reception.
    pub received_messages: u64,
}

/// The holds of every source of the pipeline.
#[derive(Debug, Default)]
pub struct UnclockedHolds {
    sources: BTreeMap<Arc<str>, Hold>,
}

/// What a commit saves of one source's hold, so that a restart neither loses the events
/// nor reads their lines twice.
#[derive(Serialize, Deserialize)]
struct SavedHold {
    source: String,
    events: Vec<AisEvent>,
    /// The line each event ended on (not part of an event's serialised form).
    lines: Vec<Option<LineRef>>,
    messages: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct SavedHolds {
    #[serde(default)]
    unclocked_held: Vec<SavedHold>,
}

impl UnclockedHolds {
    /// After `line` decoded into `events`: held events that may now go are appended to `out`,
    /// in arrival order; events still to be held are taken out of `events`.
    pub fn after_line(
        &mut self,
        line: LineSeen<'_>,
        events: &mut Vec<AisEvent>,
        out: &mut Vec<AisEvent>,
    ) -> Released {
        let LineSeen {
            source,
            received,
            shown,
            holds,
            received_messages,
        } = line;
        // Looked up without `entry`, which would take a reference to the name at every line.
        if !self.sources.contains_key(source) {
            let hold = if holds {
                Hold::Holding {
                    events: Vec::new(),
                    since: None,
                    lines: 0,
                    messages: 0,
                }
            } else {
                Hold::Done
            };
            self.sources.insert(source.clone(), hold);
        }
        let hold = self.sources.get_mut(source).expect("inserted when missing");
        let Hold::Holding {
            events: held,
            since,
            lines,
            messages,
        } = hold
        else {
            return Released::default();
        };
        *lines += 1;
        if let Some(lag) = shown {
            let moved = if lag.is_some() { *messages } else { 0 };
            for mut event in held.drain(..) {
                if let (Some(lag), Some(t)) = (lag, event.time()) {
                    event.retime(on_source_clock(t, lag), TimeSource::ReceivedOnSourceClock);
                }
                out.push(event);
            }
            *hold = Hold::Done;
            return Released {
                moved_messages: moved,
                held_evidence: 0,
            };
        }
        let spent = *lines > HOLD_LINES
            || since.is_some_and(|s| received.as_millis() - s.as_millis() > HOLD_MS);
        if spent {
            out.append(held);
            *hold = Hold::Done;
            return Released::default();
        }
        let mut held_evidence = 0;
        if received_messages > 0 {
            let before = held.len();
            let mut i = 0;
            while i < events.len() {
                if events[i].heard().time_source == Some(TimeSource::Received) {
                    let event = events.remove(i);
                    held_evidence += usize::from(matches!(
                        event,
                        AisEvent::Fix(_) | AisEvent::VesselReport(_)
                    ));
                    held.push(event);
                } else {
                    i += 1;
                }
            }
            if held.len() > before {
                *messages += received_messages;
                since.get_or_insert(received);
            }
        }
        Released {
            moved_messages: 0,
            held_evidence,
        }
    }

    /// `source`'s decoder was rebuilt (a reload) and knows its clock no more: its next lines
    /// are held again until it shows.
    pub fn start_again(&mut self, source: &Arc<str>) {
        if matches!(self.sources.get(source), Some(Hold::Done)) {
            self.sources.remove(source);
        }
    }

    /// Lets go, as they are, the events of sources that have held them past the budget by
    /// `now` without a line to say so (a clockless feed that went quiet).
    pub fn release_overdue(&mut self, now: UnixMillis, out: &mut Vec<AisEvent>) {
        for hold in self.sources.values_mut() {
            if let Hold::Holding {
                events,
                since: Some(since),
                ..
            } = hold
            {
                if now.as_millis() - since.as_millis() > HOLD_MS {
                    out.append(events);
                    *hold = Hold::Done;
                }
            }
        }
    }

    /// Lets go of everything held, as it is (the input ended).
    pub fn release_all(&mut self, out: &mut Vec<AisEvent>) {
        for hold in self.sources.values_mut() {
            if let Hold::Holding { events, .. } = hold {
                out.append(events);
            }
            *hold = Hold::Done;
        }
    }

    /// Events held now, all sources.
    pub fn held(&self) -> usize {
        self.sources
            .values()
            .map(|h| match h {
                Hold::Holding { events, .. } => events.len(),
                Hold::Done => 0,
            })
            .sum()
    }

    pub fn save_into(&self, checkpoint: &mut serde_json::Value) {
        let saved: Vec<SavedHold> = self
            .sources
            .iter()
            .filter_map(|(source, hold)| match hold {
                Hold::Holding {
                    events, messages, ..
                } if !events.is_empty() => Some(SavedHold {
                    source: source.to_string(),
                    events: events.clone(),
                    lines: AisEvent::lines_of(events),
                    messages: *messages,
                }),
                _ => None,
            })
            .collect();
        if let Some(object) = checkpoint.as_object_mut() {
            object.insert(
                "unclocked_held".into(),
                serde_json::to_value(saved).expect("events always serialise"),
            );
        }
    }

    /// Holds again what a checkpoint saved, as if received at `now`: the restarted source's
    /// clock is not known yet either, and its lag measured after the restart moves them.
    pub fn restore_from(
        &mut self,
        checkpoint: &str,
        now: UnixMillis,
    ) -> Result<(), serde_json::Error> {
        let saved: SavedHolds = serde_json::from_str(checkpoint)?;
        for mut hold in saved.unclocked_held {
            AisEvent::put_back_lines(&mut hold.events, hold.lines);
            self.sources.insert(
                Arc::from(hold.source.as_str()),
                Hold::Holding {
                    events: hold.events,
                    since: Some(now),
                    lines: 0,
                    messages: hold.messages,
                },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Heard, Mmsi, OtherMessage};

    fn seen(
        source: &Arc<str>,
        received: UnixMillis,
        shown: Option<Option<i64>>,
        received_messages: u64,
    ) -> LineSeen<'_> {
        LineSeen {
            source,
            received,
            shown,
            holds: true,
            received_messages,
        }
    }

    fn heard(time: i64, source: TimeSource) -> Heard {
        Heard {
            time: Some(UnixMillis(time)),
            time_source: Some(source),
            ..Heard::default()
        }
    }

    fn event(mmsi: u32, time: i64, source: TimeSource, line: u64) -> AisEvent {
        let fix = crate::model::Fix::bare(Mmsi(mmsi), 1, heard(time, source), 42.0, 133.0);
        let mut event = AisEvent::Fix(fix);
        event.mark_line(LineRef {
            source: 1,
            line,
            offset: line * 50,
        });
        event
    }

    fn times(events: &[AisEvent]) -> Vec<(i64, Option<TimeSource>)> {
        events
            .iter()
            .map(|e| (e.time().unwrap().as_millis(), e.heard().time_source))
            .collect()
    }

    const NOW: i64 = 1_800_000_000_000;
    const LAG: i64 = 14 * 365 * 86_400_000;

    #[test]
    fn messages_before_the_clock_shows_are_moved_onto_it() {
        let mut holds = UnclockedHolds::default();
        let source: Arc<str> = Arc::from("log");
        let mut out = Vec::new();
        for line in 1..=3 {
            let mut events = vec![event(
                line as u32,
                NOW + line as i64,
                TimeSource::Received,
                line,
            )];
            let released = holds.after_line(
                seen(&source, UnixMillis(NOW), None, 1),
                &mut events,
                &mut out,
            );
            assert!(events.is_empty() && out.is_empty(), "held");
            assert_eq!(
                released,
                Released {
                    moved_messages: 0,
                    held_evidence: 1
                }
            );
        }
        assert_eq!(holds.held(), 3);
        // The first time sentence's message: the clock shows, 14 years behind.
        let mut events = vec![event(9, NOW - LAG, TimeSource::TimeSentence, 4)];
        let released = holds.after_line(
            seen(&source, UnixMillis(NOW + 4), Some(Some(LAG)), 0),
            &mut events,
            &mut out,
        );
        assert_eq!(released.moved_messages, 3);
        assert_eq!(
            times(&out),
            (1..=3)
                .map(|i| (NOW + i - LAG, Some(TimeSource::ReceivedOnSourceClock)))
                .collect::<Vec<_>>()
        );
        assert_eq!(events.len(), 1, "the line's own event goes on");
        // Each keeps its line, for its evidence.
        assert_eq!(out[2].heard().line.map(|l| l.line), Some(3));
        // Done: later lines pass untouched.
        let mut later = vec![event(5, NOW + 9, TimeSource::Received, 5)];
        holds.after_line(
            seen(&source, UnixMillis(NOW + 9), Some(Some(LAG)), 1),
            &mut later,
            &mut out,
        );
        assert_eq!(later.len(), 1);
        assert_eq!(holds.held(), 0);
    }

    #[test]
    fn a_feed_without_a_clock_lets_go_after_the_budget_as_it_was() {
        let source: Arc<str> = Arc::from("feed");
        let mut out = Vec::new();
        // By lines.
        let mut holds = UnclockedHolds::default();
        for line in 1..=HOLD_LINES + 1 {
            let mut events = vec![event(7, NOW, TimeSource::Received, line)];
            holds.after_line(
                seen(&source, UnixMillis(NOW), None, 1),
                &mut events,
                &mut out,
            );
        }
        assert_eq!(
            out.len() as u64,
            HOLD_LINES,
            "the lines within the budget were held"
        );
        assert!(times(&out)
            .iter()
            .all(|&(t, s)| t == NOW && s == Some(TimeSource::Received)));
        // By receive time, at a line.
        let mut holds = UnclockedHolds::default();
        out.clear();
        let mut events = vec![event(7, NOW, TimeSource::Received, 1)];
        holds.after_line(
            seen(&source, UnixMillis(NOW), None, 1),
            &mut events,
            &mut out,
        );
        let mut next = vec![event(8, NOW + HOLD_MS + 1, TimeSource::Received, 2)];
        holds.after_line(
            seen(&source, UnixMillis(NOW + HOLD_MS + 1), None, 1),
            &mut next,
            &mut out,
        );
        assert_eq!((out.len(), next.len()), (1, 1));
        // By receive time, idle.
        let mut holds = UnclockedHolds::default();
        out.clear();
        let mut events = vec![event(7, NOW, TimeSource::Received, 1)];
        holds.after_line(
            seen(&source, UnixMillis(NOW), None, 1),
            &mut events,
            &mut out,
        );
        holds.release_overdue(UnixMillis(NOW + HOLD_MS), &mut out);
        assert!(out.is_empty());
        holds.release_overdue(UnixMillis(NOW + HOLD_MS + 1), &mut out);
        assert_eq!(out.len(), 1);
        // A source timed by reception on purpose holds nothing.
        let mut holds = UnclockedHolds::default();
        let mut events = vec![event(7, NOW, TimeSource::Received, 1)];
        let line = LineSeen {
            holds: false,
            ..seen(&source, UnixMillis(NOW), None, 1)
        };
        holds.after_line(line, &mut events, &mut out);
        assert_eq!((events.len(), holds.held()), (1, 0));
    }

    #[test]
    fn held_events_survive_a_checkpoint_with_their_lines() {
        let source: Arc<str> = Arc::from("log");
        let mut holds = UnclockedHolds::default();
        let mut out = Vec::new();
        let mut events = vec![
            event(1, NOW, TimeSource::Received, 1),
            AisEvent::Other(OtherMessage {
                mmsi: Mmsi(2),
                msg_type: 8,
                heard: heard(NOW, TimeSource::TagBlock),
            }),
        ];
        holds.after_line(
            seen(&source, UnixMillis(NOW), None, 1),
            &mut events,
            &mut out,
        );
        assert_eq!(events.len(), 1, "only what reception timed is held");
        let mut checkpoint = serde_json::json!({});
        holds.save_into(&mut checkpoint);
        let mut restored = UnclockedHolds::default();
        restored
            .restore_from(&checkpoint.to_string(), UnixMillis(NOW + 60_000))
            .unwrap();
        assert_eq!(restored.held(), 1);
        let mut none = Vec::new();
        let released = restored.after_line(
            seen(&source, UnixMillis(NOW + 60_001), Some(Some(LAG)), 0),
            &mut none,
            &mut out,
        );
        assert_eq!(released.moved_messages, 1);
        assert_eq!(
            times(&out),
            [(NOW - LAG, Some(TimeSource::ReceivedOnSourceClock))]
        );
        assert_eq!(out[0].heard().line.map(|l| l.line), Some(1));
        // A checkpoint from before holds existed holds nothing.
        let mut old = UnclockedHolds::default();
        old.restore_from("{\"clock\": 5000}", UnixMillis(NOW))
            .unwrap();
        assert_eq!(old.held(), 0);
    }
}
