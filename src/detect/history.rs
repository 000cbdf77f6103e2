//! The history of a gap's judgement: every change of it, at which stream time and why, in
//! the words an analyst reads ("withdrawn at stream time T: late fix at ...").

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use super::{GapRecord, GapStatus};
use crate::model::Mmsi;
use crate::time::UnixMillis;

/// Why a gap's judgement changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The vessel has been silent long enough at the stream clock to be a gap.
    Silent,
    /// The silence went on: a threshold was reached (a port's gap hours, reachability, the
    /// coverage so far).
    StillSilent,
    /// The first fix after the silence arrived and closed it.
    Closed { fix: UnixMillis },
    /// A fix of the vessel itself, older than its latest, fell inside it.
    LateFix { fix: UnixMillis },
    /// The fix that ends an open gap arrived late, so soon after fix A that there never was a
    /// gap.
    NextFixLate { fix: UnixMillis },
    /// Other vessels heard near a port in one hour, after the gap was judged, changed the share
    /// of its hours that were covered.
    Coverage {
        port: String,
        hour: UnixMillis,
        /// Distinct vessels heard near the port in that hour now.
        vessels: u32,
        before: Option<f64>,
        after: Option<f64>,
    },
    /// The vessel was silent longer than `forget_after_hours` and left memory: the gap stays
    /// as last judged.
    Forgotten,
    /// More vessels were tracked than `max_tracked_vessels`: this one, among the longest
    /// silent, left memory and the gap stays as last judged.
    Evicted,
}

impl Reason {
    /// The reason's one spelling in the store.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Silent => "silent",
            Reason::StillSilent => "still_silent",
            Reason::Closed { .. } => "closed",
            Reason::LateFix { .. } => "late_fix",
            Reason::NextFixLate { .. } => "next_fix_late",
            Reason::Coverage { .. } => "coverage",
            Reason::Forgotten => "forgotten",
            Reason::Evicted => "evicted",
        }
    }
}

/// One change of one gap's judgement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgementChange {
    pub mmsi: Mmsi,
    /// The gap's key with `mmsi`: the time of fix A.
    pub dark_from: UnixMillis,
    /// The stream clock when the judgement changed.
    pub at: UnixMillis,
    /// The judgement before; `None` for the first.
    pub before: Option<GapStatus>,
    pub status: GapStatus,
    pub port: Option<String>,
    pub coverage: Option<f64>,
    pub dark_now: bool,
    pub reason: Reason,
}

impl JudgementChange {
    /// The change of `record`'s judgement from `before`, at stream time `at`.
    pub fn of(
        record: &GapRecord,
        before: Option<GapStatus>,
        at: UnixMillis,
        reason: Reason,
    ) -> JudgementChange {
        JudgementChange {
            mmsi: record.mmsi,
            dark_from: record.dark_from,
            at,
            before,
            status: record.status,
            port: record.port.clone(),
            coverage: record.coverage,
            dark_now: record.dark_now,
            reason,
        }
    }

    /// One sentence: what the judgement became, when, and why.
    pub fn describe(&self) -> String {
        let mut sentence = String::new();
        self.describe_into(&mut sentence);
        sentence
    }

    /// [`JudgementChange::describe`] appended to `out`, a buffer the store keeps from row to
    /// row: a year of passing vessels writes a sentence for each of their gaps.
    pub fn describe_into(&self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = self.write_sentence(out);
    }

    fn write_sentence(&self, out: &mut String) -> fmt::Result {
        match (self.before, self.status) {
            (Some(before), after) if before != after => {
                write!(out, "{} -> {}", before.as_str(), after.as_str())?
            }
            (_, GapStatus::Open) if self.dark_now => out.push_str("open, dark now"),
            (_, after) => out.push_str(after.as_str()),
        }
        write!(out, " at stream time {}", self.at)?;
        match (&self.port, self.coverage) {
            (Some(port), Some(coverage)) => write!(out, " ({port}, coverage {coverage:.2})")?,
            (Some(port), None) => write!(out, " ({port})")?,
            _ => {}
        }
        out.push_str(": ");
        match &self.reason {
            Reason::Silent => write!(out, "silent since {}", self.dark_from),
            Reason::StillSilent => write!(out, "still silent since {}", self.dark_from),
            Reason::Closed { fix } => write!(out, "closed by the fix at {fix}"),
            Reason::LateFix { fix } => write!(out, "late fix at {fix} inside it"),
            Reason::NextFixLate { fix } => write!(
                out,
                "the next fix, at {fix} ({:.2} h after {}), arrived late: no gap",
                self.dark_from.hours_until(*fix),
                self.dark_from
            ),
            Reason::Coverage {
                port,
                hour,
                vessels,
                before,
                after,
            } => write!(
                out,
                "coverage at {port} {} -> {}: fixes heard after the judgement leave {vessels} \
                 vessels in hour {hour}",
                share(*before),
                share(*after)
            ),
            Reason::Forgotten => {
                out.push_str(
                    "silent longer than forget_after_hours: no longer tracked, kept as last judged",
                );
                Ok(())
            }
            Reason::Evicted => {
                out.push_str("evicted from memory by max_tracked_vessels, kept as last judged");
                Ok(())
            }
        }
    }
}

fn share(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMillis = UnixMillis(1_709_856_000_000); // 2024-03-08T00:00:00Z

    fn change(before: Option<GapStatus>, status: GapStatus, reason: Reason) -> JudgementChange {
        JudgementChange {
            mmsi: Mmsi(445_000_001),
            dark_from: T0,
            at: T0.plus_hours(30.0),
            before,
            status,
            port: Some("Vostochny".into()),
            coverage: Some(0.8125),
            dark_now: false,
            reason,
        }
    }

    #[test]
    fn a_change_says_what_it_became_when_and_why() {
        let late = change(
            Some(GapStatus::Trip),
            GapStatus::Withdrawn,
            Reason::LateFix {
                fix: T0.plus_hours(3.0),
            },
        );
        assert_eq!(
            late.describe(),
            "trip -> withdrawn at stream time 2024-03-09T06:00:00Z (Vostochny, coverage 0.81): \
             late fix at 2024-03-08T03:00:00Z inside it"
        );
        let covered = change(
            Some(GapStatus::CoverageUnknown),
            GapStatus::Trip,
            Reason::Coverage {
                port: "Vostochny".into(),
                hour: T0.plus_hours(2.0),
                vessels: 3,
                before: Some(0.5),
                after: Some(0.8125),
            },
        );
        assert!(
            covered
                .describe()
                .starts_with("coverage_unknown -> trip at stream time 2024-03-09T06:00:00Z"),
            "{}",
            covered.describe()
        );
        assert!(covered
            .describe()
            .ends_with("coverage at Vostochny 0.50 -> 0.81: fixes heard after the judgement leave 3 vessels in hour 2024-03-08T02:00:00Z"));
        assert_eq!(covered.reason.kind(), "coverage");
    }
}
