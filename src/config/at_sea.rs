//! `[encounters]`, `[loitering]` and `[rendezvous]`: their range rules, each reported at the line of the
//! setting when the file sets it.

use toml::de::DeTable;

use super::read::{value_start, TomlProblems};
use crate::detect::at_sea::{EncounterParams, LoiteringParams, RendezvousParams};

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

fn positive(
    section: &str,
    settings: &[(&str, f64)],
    doc: &DeTable<'_>,
    problems: &mut TomlProblems<'_>,
) {
    for &(key, value) in settings {
        if !(value.is_finite() && value > 0.0) {
            report(
                problems,
                doc,
                section,
                key,
                format!("must be greater than 0, got {value}"),
            );
        }
    }
}

/// Distances, times and speeds must be positive; the distance also sizes the candidate grid
/// and a histogram of whole metres, so it is kept to what "side by side" can mean.
pub(super) fn check_at_sea(
    encounters: &EncounterParams,
    loitering: &LoiteringParams,
    doc: &DeTable<'_>,
    problems: &mut TomlProblems<'_>,
) {
    let e = encounters;
    positive(
        "encounters",
        &[
            ("max_distance_m", e.max_distance_m),
            ("min_hours", e.min_hours),
            ("max_median_speed_kn", e.max_median_speed_kn),
            ("max_silence_hours", e.max_silence_hours),
        ],
        doc,
        problems,
    );
    for (key, value) in [
        ("min_port_distance_km", e.min_port_distance_km),
        ("after_hours", e.after_hours),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            report(
                problems,
                doc,
                "encounters",
                key,
                format!("must be 0 or more, got {value}"),
            );
        }
    }
    if e.max_distance_m.is_finite() && e.max_distance_m > 10_000.0 {
        report(
            problems,
            doc,
            "encounters",
            "max_distance_m",
            format!(
                "must be at most 10000 m (Global Fishing Watch uses 500 m, Skylight 250 m), got {}",
                e.max_distance_m
            ),
        );
    }
    let l = loitering;
    positive(
        "loitering",
        &[
            ("max_speed_kn", l.max_speed_kn),
            ("min_hours", l.min_hours),
            ("max_silence_hours", l.max_silence_hours),
        ],
        doc,
        problems,
    );
    if !(l.min_port_distance_nm.is_finite() && l.min_port_distance_nm >= 0.0) {
        report(
            problems,
            doc,
            "loitering",
            "min_port_distance_nm",
            format!("must be 0 or more, got {}", l.min_port_distance_nm),
        );
    }
}

/// Times and the speed must be positive, and a pairing span of at least the meeting itself:
/// the speed and the span bound how many cells each silence is filed in.
pub(super) fn check_rendezvous(
    r: &RendezvousParams,
    doc: &DeTable<'_>,
    problems: &mut TomlProblems<'_>,
) {
    positive(
        "rendezvous",
        &[
            ("min_hours", r.min_hours),
            ("max_speed_kn", r.max_speed_kn),
            ("max_gap_hours", r.max_gap_hours),
        ],
        doc,
        problems,
    );
    if !(r.min_port_distance_km.is_finite() && r.min_port_distance_km >= 0.0) {
        report(
            problems,
            doc,
            "rendezvous",
            "min_port_distance_km",
            format!("must be 0 or more, got {}", r.min_port_distance_km),
        );
    }
    if r.max_speed_kn.is_finite() && r.max_speed_kn > 40.0 {
        report(
            problems,
            doc,
            "rendezvous",
            "max_speed_kn",
            format!(
                "must be at most 40 kn (no tanker is faster), got {}",
                r.max_speed_kn
            ),
        );
    }
    if r.max_gap_hours.is_finite() && r.max_gap_hours > 168.0 {
        report(
            problems,
            doc,
            "rendezvous",
            "max_gap_hours",
            format!(
                "must be at most 168 h: within a longer silence almost any two vessels could have met, got {}",
                r.max_gap_hours
            ),
        );
    }
    if r.min_hours.is_finite() && r.max_gap_hours.is_finite() && r.min_hours > r.max_gap_hours {
        report(
            problems,
            doc,
            "rendezvous",
            "min_hours",
            format!(
                "must not exceed max_gap_hours ({}), got {}",
                r.max_gap_hours, r.min_hours
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::{load, MINIMAL};

    #[test]
    fn each_bad_setting_is_named_with_its_section() {
        for (setting, field) in [
            (
                "[encounters]\nmax_distance_m = 0\n",
                "encounters.max_distance_m",
            ),
            (
                "[encounters]\nmax_distance_m = 20000\n",
                "encounters.max_distance_m",
            ),
            ("[encounters]\nmin_hours = -1\n", "encounters.min_hours"),
            (
                "[rendezvous]\nmax_speed_kn = 0\n",
                "rendezvous.max_speed_kn",
            ),
            (
                "[rendezvous]\nmax_gap_hours = 500\n",
                "rendezvous.max_gap_hours",
            ),
            (
                "[rendezvous]\nmin_port_distance_km = -1\n",
                "rendezvous.min_port_distance_km",
            ),
            ("[loitering]\nmax_speed_kn = 0\n", "loitering.max_speed_kn"),
            (
                "[loitering]\nmin_port_distance_nm = -3\n",
                "loitering.min_port_distance_nm",
            ),
        ] {
            let problems = load(&format!("{MINIMAL}{setting}"))
                .expect_err(setting)
                .problems;
            assert_eq!(problems.len(), 1, "{setting}: {problems:?}");
            assert_eq!(problems[0].field.as_deref(), Some(field), "{setting}");
            assert!(problems[0].location.is_some(), "{setting}: located");
        }
    }

    #[test]
    fn the_sections_reach_detection() {
        let config = load(&format!(
            "{MINIMAL}[encounters]\nmax_distance_m = 250\nmin_hours = 0.5\n[loitering]\nenabled = false\n"
        ))
        .unwrap();
        assert_eq!(config.detect.at_sea.encounters.max_distance_m, 250.0);
        assert_eq!(config.detect.at_sea.encounters.min_hours, 0.5);
        assert!(!config.detect.at_sea.loitering.enabled);
    }
}
