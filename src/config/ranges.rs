//! Range and cross-field rules of the plain sections (`[detect]`, `[store]`, `[alerts]`,
//! `[decode]`; `[http]` and the webhook have theirs in `http`), each reported at the line of the setting when the file sets it.

use toml::de::DeTable;

use super::read::{value_start, TomlProblems};
use super::service_settings::AlertParams;
use super::RawConfig;
use crate::decode::DecodeParams;
use crate::detect::{DetectParams, VisitParams};
use crate::store::StoreParams;

/// Every section's rules, in the order their problems are listed when they share a place.
pub(super) fn check_ranges(raw: &RawConfig, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    check_detect_bounds(&raw.detect, doc, problems);
    check_detect_rules(&raw.detect, doc, problems);
    check_visits(&raw.detect.visits, doc, problems);
    check_store(&raw.store, doc, problems);
    check_alerts(&raw.alerts, doc, problems);
    check_decode(&raw.decode, doc, problems);
}

/// Reports `section.key`, at its line when the file sets it.
fn report(
    problems: &mut TomlProblems<'_>,
    doc: &DeTable<'_>,
    section: &str,
    key: &str,
    message: String,
) {
    let at = value_start(doc, &[section, key]);
    problems.push(at, Some(&format!("{section}.{key}")), message);
}

/// Thresholds that must be positive, or at least 0, and the share of covered hours.
fn check_detect_bounds(d: &DetectParams, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    let mut fail = |key: &str, message: String| report(problems, doc, "detect", key, message);
    for (key, value) in [
        ("gap_hours", d.gap_hours),
        ("max_speed_kn", d.max_speed_kn),
        ("jump_speed_kn", d.jump_speed_kn),
        ("block_coefficient", d.block_coefficient),
        ("max_clock_jump_hours", d.max_clock_jump_hours),
        ("rejudge_horizon_hours", d.rejudge_horizon_hours),
        ("forget_after_hours", d.forget_after_hours),
    ] {
        if !(value.is_finite() && value > 0.0) {
            fail(key, format!("must be greater than 0, got {value}"));
        }
    }
    for (key, value) in [
        ("min_port_hours", d.min_port_hours),
        ("cargo_min_draught_rise_m", d.cargo_min_draught_rise_m),
        (
            "high_confidence_draught_rise_m",
            d.high_confidence_draught_rise_m,
        ),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            fail(key, format!("must be 0 or more, got {value}"));
        }
    }
    if !(d.segment_floor_nm.is_finite() && (0.0..=50.0).contains(&d.segment_floor_nm)) {
        fail(
            "segment_floor_nm",
            format!(
                "must lie in 0..=50 nautical miles (GPS scatter, not a voyage), got {}",
                d.segment_floor_nm
            ),
        );
    }
    if !(1..=64).contains(&d.segments_per_mmsi) {
        fail(
            "segments_per_mmsi",
            format!(
                "must lie in 1..=64 (1 keeps every MMSI one track), got {}",
                d.segments_per_mmsi
            ),
        );
    }
    if d.clock_jump_quorum == 0 {
        fail(
            "clock_jump_quorum",
            "must be at least 1 (the vessels that must agree on a jump of the clock), got 0"
                .to_string(),
        );
    }
    if d.max_tracked_vessels < 1000 {
        fail(
            "max_tracked_vessels",
            format!(
                "must be at least 1000 (vessels kept in memory), got {}",
                d.max_tracked_vessels
            ),
        );
    }
    if !(0.0..=1.0).contains(&d.min_coverage) {
        fail(
            "min_coverage",
            format!(
                "is a share of hours and must lie in 0..=1 (0.75 = 75%), got {}",
                d.min_coverage
            ),
        );
    }
}

/// `[detect.visits]`: distances, speeds and times that cannot be negative.
fn check_visits(v: &VisitParams, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    for (key, value) in [
        ("exit_margin_nm", v.exit_margin_nm),
        ("stop_speed_kn", v.stop_speed_kn),
        ("min_stop_hours", v.min_stop_hours),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            let at = value_start(doc, &["detect", "visits", key]);
            let field = format!("detect.visits.{key}");
            problems.push(at, Some(&field), format!("must be 0 or more, got {value}"));
        }
    }
}

/// Settings that must agree with each other, and the physical constants of the cargo estimate.
fn check_detect_rules(d: &DetectParams, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    let mut fail = |key: &str, message: String| report(problems, doc, "detect", key, message);
    if d.max_speed_kn.is_finite()
        && d.jump_speed_kn.is_finite()
        && d.jump_speed_kn <= d.max_speed_kn
    {
        fail(
            "jump_speed_kn",
            format!(
                "must be above max_speed_kn ({} kn), got {} kn; otherwise a reachable port call \
                 would count as a position jump",
                d.max_speed_kn, d.jump_speed_kn
            ),
        );
    }
    if d.forget_after_hours.is_finite()
        && d.gap_hours.is_finite()
        && d.forget_after_hours < d.gap_hours.max(24.0)
    {
        fail(
            "forget_after_hours",
            format!(
                "must be at least 24 h and at least gap_hours ({} h): a vessel forgotten sooner \
                 could never be seen dark, got {} h",
                d.gap_hours, d.forget_after_hours
            ),
        );
    }
    if d.high_confidence_draught_rise_m < d.cargo_min_draught_rise_m {
        fail(
            "high_confidence_draught_rise_m",
            format!(
                "must be at least cargo_min_draught_rise_m ({} m), got {} m",
                d.cargo_min_draught_rise_m, d.high_confidence_draught_rise_m
            ),
        );
    }
    if d.block_coefficient > 1.0 {
        fail(
            "block_coefficient",
            format!(
                "is a hull's fullness and cannot exceed 1 (tankers are about 0.80), got {}",
                d.block_coefficient
            ),
        );
    }
    if !(0.9..=1.1).contains(&d.seawater_density_t_m3) {
        fail(
            "seawater_density_t_m3",
            format!(
                "is in tonnes per cubic metre and must lie in 0.9..=1.1 (sea water is about \
                 1.025; 1025 would be kg/m3), got {}",
                d.seawater_density_t_m3
            ),
        );
    }
    if !(5.0..=13.0).contains(&d.barrels_per_tonne) {
        fail(
            "barrels_per_tonne",
            format!(
                "must lie in 5..=13 (crude about 7.3, diesel 7.5, gasoline 8.5), got {}",
                d.barrels_per_tonne
            ),
        );
    }
}

fn check_store(s: &StoreParams, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    let mut fail = |key: &str, message: String| report(problems, doc, "store", key, message);
    if s.db.as_os_str().is_empty() {
        fail("db", "must name the database file".to_owned());
    }
    if !(1..=1440).contains(&s.track_interval_minutes) {
        fail(
            "track_interval_minutes",
            format!(
                "must lie in 1..=1440 minutes, got {}",
                s.track_interval_minutes
            ),
        );
    }
    if !(1..=1_000_000).contains(&s.batch_rows) {
        fail(
            "batch_rows",
            format!("must lie in 1..=1000000, got {}", s.batch_rows),
        );
    }
    if !(10..=60_000).contains(&s.commit_interval_ms) {
        fail(
            "commit_interval_ms",
            format!(
                "must lie in 10..=60000 milliseconds, got {}",
                s.commit_interval_ms
            ),
        );
    }
    if !(1..=604_800).contains(&s.give_up_after_s) {
        fail(
            "give_up_after_s",
            format!(
                "must lie in 1..=604800 seconds (a week), got {}",
                s.give_up_after_s
            ),
        );
    }
}

fn check_alerts(a: &AlertParams, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    let mut fail = |key: &str, message: String| report(problems, doc, "alerts", key, message);
    if a.file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
        fail("file", "must name a file".to_owned());
    }
    if !(1..=3600).contains(&a.retry_max_s) {
        fail(
            "retry_max_s",
            format!("must lie in 1..=3600 seconds, got {}", a.retry_max_s),
        );
    }
}

fn check_decode(c: &DecodeParams, doc: &DeTable<'_>, problems: &mut TomlProblems<'_>) {
    let mut fail = |key: &str, message: String| report(problems, doc, "decode", key, message);
    if !(1..=3600).contains(&c.fragment_timeout_s) {
        fail(
            "fragment_timeout_s",
            format!("must lie in 1..=3600 seconds, got {}", c.fragment_timeout_s),
        );
    }
    if c.max_pending_fragments == 0 {
        fail("max_pending_fragments", "must be at least 1".to_owned());
    }
    if !(c.duplicate_window_s.is_finite() && (0.0..=600.0).contains(&c.duplicate_window_s)) {
        fail(
            "duplicate_window_s",
            format!(
                "must lie in 0..=600 seconds (0 keeps every copy), got {}",
                c.duplicate_window_s
            ),
        );
    }
    if c.time_sentence_max_lines == 0 {
        fail("time_sentence_max_lines", "must be at least 1".to_owned());
    }
    if !(c.max_ahead_of_receipt_s.is_finite()
        && (0.0..=86_400.0).contains(&c.max_ahead_of_receipt_s))
    {
        fail(
            "max_ahead_of_receipt_s",
            format!(
                "must lie in 0..=86400 seconds (0 switches the check off), got {}",
                c.max_ahead_of_receipt_s
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load, MINIMAL};
    use crate::problem::ConfigProblem;

    fn detect_problem(setting: &str) -> Option<ConfigProblem> {
        match load(&format!("{MINIMAL}[detect]\n{setting}\n")) {
            Ok(_) => None,
            Err(errors) => {
                assert_eq!(errors.problems.len(), 1, "{setting}: {errors}");
                Some(errors.problems[0].clone())
            }
        }
    }

    #[test]
    fn visit_settings_are_read_and_a_negative_margin_is_refused_where_it_is_written() {
        let config = load(&format!(
            "{MINIMAL}[detect.visits]\nexit_margin_nm = 1.0\nmin_stop_hours = 2\n"
        ))
        .unwrap();
        assert_eq!(config.detect.visits.exit_margin_nm, 1.0);
        assert_eq!(config.detect.visits.min_stop_hours, 2.0);
        let errors = load(&format!("{MINIMAL}[detect.visits]\nexit_margin_nm = -1\n")).unwrap_err();
        assert_eq!(errors.problems.len(), 1, "{errors}");
        let text = errors.problems[0].to_string();
        assert!(text.contains("detect.visits.exit_margin_nm"), "{text}");
        assert!(text.contains("must be 0 or more"), "{text}");
    }

    #[test]
    fn detect_rule_boundaries() {
        let refused = [
            "gap_hours = 0",
            "gap_hours = -3.0",
            "gap_hours = nan",
            "gap_hours = inf",
            "max_speed_kn = 0",
            "min_port_hours = -0.1",
            "min_coverage = -0.01",
            "min_coverage = 1.5",
            "jump_speed_kn = 15.0",
            "cargo_min_draught_rise_m = -0.1\nhigh_confidence_draught_rise_m = 0.5",
            "high_confidence_draught_rise_m = 0.29",
            "block_coefficient = 0",
            "block_coefficient = 1.01",
            "seawater_density_t_m3 = 1025",
            "seawater_density_t_m3 = 0.89",
            "barrels_per_tonne = 4.9",
            "barrels_per_tonne = 13.1",
            "max_clock_jump_hours = 0",
            "max_clock_jump_hours = -1",
            "clock_jump_quorum = 0",
            "segment_floor_nm = -0.1",
            "segment_floor_nm = 50.1",
            "segments_per_mmsi = 0",
            "segments_per_mmsi = 65",
            "rejudge_horizon_hours = 0",
            "forget_after_hours = 12",
            "max_tracked_vessels = 999",
        ];
        for setting in refused {
            let problem = detect_problem(setting).unwrap_or_else(|| panic!("accepted {setting}"));
            let key = setting.split(' ').next().unwrap();
            assert_eq!(problem.field, Some(format!("detect.{key}")), "{setting}");
            assert_eq!(problem.location.as_deref(), Some("line 4"), "{setting}");
        }
        let accepted = [
            "gap_hours = 0.001",
            "min_port_hours = 0",
            "min_coverage = 0",
            "min_coverage = 1",
            "coverage_min_vessels = 0",
            "jump_speed_kn = 15.01",
            "high_confidence_draught_rise_m = 0.3",
            "cargo_min_draught_rise_m = 0\nhigh_confidence_draught_rise_m = 0",
            "block_coefficient = 1",
            "max_clock_jump_hours = 0.5",
            "clock_jump_quorum = 1",
            "segment_floor_nm = 0",
            "segments_per_mmsi = 1",
            "segments_per_mmsi = 64",
            "rejudge_horizon_hours = 0.5",
            "forget_after_hours = 24",
            "max_tracked_vessels = 1000",
            "seawater_density_t_m3 = 0.9",
            "seawater_density_t_m3 = 1.1",
            "barrels_per_tonne = 5",
            "barrels_per_tonne = 13",
            "watch_all = true",
        ];
        for setting in accepted {
            assert_eq!(detect_problem(setting), None, "{setting}");
        }
    }

    #[test]
    fn a_cross_field_rule_points_at_the_setting_that_is_written() {
        // jump_speed left at 40 kn, max_speed raised above it: the rule still fires, with no
        // line because jump_speed_kn is not in the file.
        let problem = detect_problem("max_speed_kn = 45").unwrap();
        assert_eq!(problem.field.as_deref(), Some("detect.jump_speed_kn"));
        assert_eq!(problem.location, None);
    }

    #[test]
    fn store_and_decode_rule_boundaries() {
        for (section, setting, ok) in [
            ("store", "track_interval_minutes = 0", false),
            ("store", "track_interval_minutes = 1", true),
            ("store", "track_interval_minutes = 1440", true),
            ("store", "track_interval_minutes = 1441", false),
            ("store", "batch_rows = 0", false),
            ("store", "batch_rows = 1", true),
            ("store", "batch_rows = 1000001", false),
            ("store", "commit_interval_ms = 9", false),
            ("store", "commit_interval_ms = 10", true),
            ("store", "commit_interval_ms = 60000", true),
            ("store", "commit_interval_ms = 60001", false),
            ("store", "give_up_after_s = 0", false),
            ("store", "give_up_after_s = 1", true),
            ("store", "give_up_after_s = 604800", true),
            ("store", "give_up_after_s = 604801", false),
            ("http", "listen = \"127.0.0.1:9841\"", true),
            ("http", "listen = \"[::1]:80\"", true),
            ("http", "listen = \"\"", true),
            ("http", "listen = \"localhost\"", false),
            ("http", "listen = \"127.0.0.1\"", false),
            ("alerts", "webhook = \"http://127.0.0.1:9000/hook\"", true),
            ("alerts", "webhook = \"http://collector\"", true),
            ("alerts", "webhook = \"https://collector/hook\"", true),
            (
                "alerts",
                "webhook = \"https://u:p@collector:8443/hook\"",
                true,
            ),
            ("alerts", "webhook = \"ftp://collector/hook\"", false),
            (
                "alerts",
                "webhook = \"http://collector/hook\"\nca_file = \"ca.pem\"",
                false,
            ),
            ("http", "max_connections = 0", false),
            ("http", "max_connections = 1", true),
            ("http", "header_timeout_s = 0", false),
            ("http", "idle_timeout_s = 86401", false),
            ("http", "token_file = \"missing.token\"", false),
            ("alerts", "webhook = \"http://:80/\"", false),
            ("alerts", "file = \"alerts.jsonl\"\nretry_max_s = 5", true),
            ("alerts", "retry_max_s = 0", false),
            ("store", "db = \"\"", false),
            ("decode", "fragment_timeout_s = 0", false),
            ("decode", "fragment_timeout_s = 1", true),
            ("decode", "fragment_timeout_s = 3600", true),
            ("decode", "fragment_timeout_s = 3601", false),
            ("decode", "duplicate_window_s = 0", true),
            ("decode", "duplicate_window_s = 0.5", true),
            ("decode", "duplicate_window_s = 600", true),
            ("decode", "duplicate_window_s = -1", false),
            ("decode", "duplicate_window_s = 601", false),
            ("decode", "max_ahead_of_receipt_s = 0", true),
            ("decode", "max_ahead_of_receipt_s = 86400", true),
            ("decode", "max_ahead_of_receipt_s = -5", false),
            ("decode", "max_ahead_of_receipt_s = 86401", false),
            ("decode", "max_pending_fragments = 0", false),
            ("decode", "time_sentence_max_lines = 0", false),
            ("decode", "time_sentence_max_lines = 1", true),
            ("decode", "max_pending_fragments = 1", true),
        ] {
            let result = load(&format!("{MINIMAL}[{section}]\n{setting}\n"));
            assert_eq!(result.is_ok(), ok, "[{section}] {setting}: {result:?}");
        }
    }
}
