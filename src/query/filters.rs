//! Which of `aisgap query`'s filters each question answers to: a filter a question cannot apply
//! is refused by name, never silently ignored (a `--mmsi` on the coverage counts would
//! otherwise return every vessel's counts as if they were one vessel's).

use super::{QueryError, Question};
use crate::store::read::GapFilter;

/// The filters of the command line, by flag.
const PORT: &str = "--port";
const MMSI: &str = "--mmsi";
const IMO: &str = "--imo";
const SINCE: &str = "--since";
const UNTIL: &str = "--until";
const CONFIDENCE: &str = "--confidence";
const STATUS: &str = "--status";
const LIMIT: &str = "--limit";
const OFFSET: &str = "--offset";

const GAP_FILTERS: &[&str] = &[
    PORT, MMSI, IMO, SINCE, UNTIL, CONFIDENCE, STATUS, LIMIT, OFFSET,
];
const AT_SEA_FILTERS: &[&str] = &[MMSI, SINCE, UNTIL, LIMIT, OFFSET];

impl Question {
    fn name(&self) -> &'static str {
        match self {
            Question::Trips => "trips",
            Question::Gaps => "gaps",
            Question::DarkNow => "dark-now",
            Question::Tally(_) => "tally",
            Question::Vessel(_) => "vessel",
            Question::Ports => "ports",
            Question::History => "history",
            Question::Encounters => "encounters",
            Question::Loitering => "loitering",
            Question::Rendezvous => "rendezvous",
            Question::Visits => "visits",
            Question::Patterns(_) => "patterns",
            Question::Coverage => "coverage",
        }
    }

    /// The filters this question applies, and why the others cannot be.
    fn filters(&self) -> (&'static [&'static str], &'static str) {
        match self {
            Question::Trips | Question::Gaps | Question::DarkNow => (GAP_FILTERS, ""),
            Question::Tally(_) => (
                &[PORT, MMSI, IMO, SINCE, UNTIL, CONFIDENCE],
                "a tally counts every trip and open call of the selection",
            ),
            Question::Vessel(_) => (&[MMSI, SINCE, UNTIL], "it answers for one vessel"),
            Question::Ports => (&[SINCE, UNTIL], "it lists every designated port"),
            Question::History => (
                &[PORT, MMSI, SINCE, UNTIL, STATUS, LIMIT, OFFSET],
                "history rows carry no identity or confidence of their own",
            ),
            Question::Encounters | Question::Loitering | Question::Rendezvous => (
                AT_SEA_FILTERS,
                "episodes at sea are away from every port and carry no gap judgement",
            ),
            Question::Visits => (
                &[PORT, MMSI, IMO, SINCE, UNTIL, LIMIT, OFFSET],
                "visits are heard calls, with no gap judgement",
            ),
            Question::Patterns(_) => (
                &[PORT, MMSI, IMO, SINCE, UNTIL, CONFIDENCE, LIMIT, OFFSET],
                "patterns are made of trips",
            ),
            Question::Coverage => (
                &[PORT, SINCE, UNTIL, LIMIT, OFFSET],
                "the hourly counts are of distinct vessels, not kept per vessel",
            ),
        }
    }
}

/// The filters set in `filter`, by flag.
fn set_filters(filter: &GapFilter) -> Vec<&'static str> {
    let set = [
        (PORT, filter.port.is_some()),
        (MMSI, filter.mmsi.is_some()),
        (IMO, filter.imo.is_some()),
        (SINCE, filter.since.is_some()),
        (UNTIL, filter.until.is_some()),
        (CONFIDENCE, filter.confidence.is_some()),
        (STATUS, filter.status.is_some()),
        (LIMIT, filter.limit.is_some()),
        (OFFSET, filter.offset > 0),
    ];
    set.into_iter()
        .filter(|(_, set)| *set)
        .map(|(flag, _)| flag)
        .collect()
}

/// Refuses the filters `question` cannot apply, naming each of them.
pub(super) fn check(question: &Question, filter: &GapFilter) -> Result<(), QueryError> {
    let (applied, why) = question.filters();
    let refused: Vec<&str> = set_filters(filter)
        .into_iter()
        .filter(|flag| !applied.contains(flag))
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    let verb = if refused.len() == 1 { "does" } else { "do" };
    Err(QueryError::FilterDoesNotApply {
        filters: format!("{} {verb}", refused.join(", ")),
        question: question.name(),
        applied: applied.join(", "),
        why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mmsi;

    #[test]
    fn a_filter_a_question_cannot_apply_is_refused_by_name() {
        let filter = GapFilter {
            mmsi: Some(Mmsi(273_000_001)),
            confidence: Some(crate::detect::Confidence::High),
            ..GapFilter::default()
        };
        let refused = check(&Question::Coverage, &filter).unwrap_err().to_string();
        assert!(
            refused.starts_with("--mmsi, --confidence do not apply to query coverage"),
            "{refused}"
        );
        assert!(
            refused.contains("--port, --since, --until, --limit, --offset"),
            "{refused}"
        );
        assert!(check(&Question::Gaps, &filter).is_ok());
        assert!(check(&Question::Encounters, &filter).is_err());
        let by_port = GapFilter {
            port: Some("Vostochny".into()),
            ..GapFilter::default()
        };
        assert!(check(&Question::Coverage, &by_port).is_ok());
        assert!(check(&Question::Ports, &by_port).is_err());
    }
}
