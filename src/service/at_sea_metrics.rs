//! The at-sea detectors' counters on `/metrics`: one family, labelled by the counter's name in
//! the ingest table, so that a drop added to a detector shows without a new series here.

use std::fmt::Write;

use super::pipeline::PipelineMetrics;

const FAMILY: &str = "aisgap_at_sea_total";

/// Appends the family; the label is the ingest name without its `at_sea.` prefix.
pub(super) fn render_at_sea(out: &mut String, p: &PipelineMetrics) {
    let counters = p.at_sea.lock().map(|c| c.clone()).unwrap_or_default();
    let _ = writeln!(
        out,
        "# HELP {FAMILY} At-sea detectors by counter: findings (encounters, loitering, \
         rendezvous.found, rendezvous.withdrawn), pairs evaluated, and silences or pairs left \
         unjudged (rendezvous.too_long, rendezvous.in_port, rendezvous.feed_unheard).\n\
         # TYPE {FAMILY} counter"
    );
    for (name, value) in counters {
        let label = name.strip_prefix("at_sea.").unwrap_or(&name);
        let _ = writeln!(out, "{FAMILY}{{counter=\"{label}\"}} {value}");
    }
}
