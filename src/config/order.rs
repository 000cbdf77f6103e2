//! `[order]`: how events are put in event-time order before the engine. `aisgap replay` sorts
//! all of them within a memory budget, spilling to disk beyond it; `aisgap run` holds them for
//! a short reorder window. Kept with the configuration because both `offline` and `service`
//! load it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::de::DeTable;

use super::read::{value_start, TomlProblems};

/// `[order]` as written and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrderParams {
    /// `aisgap replay`: memory (MiB) holding events being sorted; beyond it sorted runs are
    /// written to temporary files and merged.
    pub sort_memory_mb: u32,
    /// Folder for those files; `$TMPDIR` (else `/tmp`) when unset. Relative paths are resolved
    /// against the config's folder.
    pub spill_dir: Option<PathBuf>,
    /// `aisgap run`: seconds of event time an event waits for earlier ones from other
    /// receivers; 0 hands every event to the engine as it arrives.
    pub reorder_window_s: u32,
    /// `aisgap replay`: hours of event time a line may lag the newest line of its log before
    /// it for the events to be put in order while the logs are read, the engine running
    /// alongside; a line that lags more makes the replay sort every event first and start
    /// again (the same tables, more time). 0 always sorts first.
    pub one_pass_hours: u32,
}

impl Default for OrderParams {
    fn default() -> Self {
        OrderParams {
            sort_memory_mb: 512,
            spill_dir: None,
            reorder_window_s: 0,
            one_pass_hours: DEFAULT_ONE_PASS_HOURS,
        }
    }
}

/// A day: real logs seen lag by minutes, and a delayed station's lines by up to half a day.
pub const DEFAULT_ONE_PASS_HOURS: u32 = 24;
/// The longest lateness window of a replay in one pass: a year.
pub const MAX_ONE_PASS_HOURS: u32 = 8784;

/// The longest reorder window: events wait in memory that long, and each commit keeps them.
pub const MAX_REORDER_WINDOW_S: u32 = 600;

pub(super) fn check_order(o: &OrderParams, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    let mut fail = |key: &str, message: String| {
        let at = value_start(doc, &["order", key]);
        problems.push(at, Some(&format!("order.{key}")), message);
    };
    if !(1..=1_048_576).contains(&o.sort_memory_mb) {
        fail(
            "sort_memory_mb",
            format!("must lie in 1..=1048576 MiB, got {}", o.sort_memory_mb),
        );
    }
    if o.spill_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        fail(
            "spill_dir",
            "must name a folder, or be left out for $TMPDIR".to_owned(),
        );
    }
    if o.one_pass_hours > MAX_ONE_PASS_HOURS {
        fail(
            "one_pass_hours",
            format!(
                "must lie in 0..={MAX_ONE_PASS_HOURS} hours, got {}; 0 sorts every event first",
                o.one_pass_hours
            ),
        );
    }
    if o.reorder_window_s > MAX_REORDER_WINDOW_S {
        fail(
            "reorder_window_s",
            format!(
                "must lie in 0..={MAX_REORDER_WINDOW_S} seconds, got {}; data later than that \
                 is late data",
                o.reorder_window_s
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load, MINIMAL};

    #[test]
    fn order_settings_are_read_and_their_bounds_refused_at_their_line() {
        let config = load(&format!(
            "{MINIMAL}[order]\nsort_memory_mb = 64\nspill_dir = \"spill\"\nreorder_window_s = 5\n"
        ))
        .unwrap();
        assert_eq!(config.order.sort_memory_mb, 64);
        assert_eq!(config.order.reorder_window_s, 5);
        assert_eq!(config.order.one_pass_hours, 24, "a day unless set");
        let spill = config.order.spill_dir.unwrap();
        assert!(spill.is_absolute() && spill.ends_with("spill"), "{spill:?}");
        for (setting, ok) in [
            ("sort_memory_mb = 0", false),
            ("sort_memory_mb = 1", true),
            ("reorder_window_s = 0", true),
            ("reorder_window_s = 600", true),
            ("reorder_window_s = 601", false),
            ("spill_dir = \"\"", false),
            ("one_pass_hours = 0", true),
            ("one_pass_hours = 8784", true),
            ("one_pass_hours = 8785", false),
        ] {
            let result = load(&format!("{MINIMAL}[order]\n{setting}\n"));
            assert_eq!(result.is_ok(), ok, "[order] {setting}: {result:?}");
            if let Err(errors) = result {
                let key = setting.split(' ').next().unwrap();
                assert_eq!(
                    errors.problems[0].field.as_deref(),
                    Some(format!("order.{key}").as_str())
                );
                assert!(errors.problems[0].location.is_some());
            }
        }
    }
}
