//! `[report]`: what the tally report sets its estimate against, each problem at its line.

use toml::de::DeTable;

use super::read::{value_start, TomlProblems};
use crate::report::tally::TallyReportParams;

pub(super) fn check_report(
    report: &TallyReportParams,
    doc: &DeTable<'_>,
    problems: &mut TomlProblems<'_>,
) {
    for (key, message) in report.problems() {
        let at = value_start(doc, &["report", key]);
        problems.push(at, Some(&format!("report.{key}")), message);
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::{load, MINIMAL};

    #[test]
    fn the_cap_defaults_to_the_un_one_and_can_be_set() {
        let config = load(MINIMAL).unwrap();
        assert_eq!(config.report.annual_cap_bbl, 500_000.0);
        let config = load(&format!(
            "{MINIMAL}[report]\nannual_cap_bbl = 60000\ncap_label = \"crude oil, 4 million bbl a year\"\n"
        ))
        .unwrap();
        assert_eq!(config.report.annual_cap_bbl, 60_000.0);
        assert_eq!(config.report.cap_label, "crude oil, 4 million bbl a year");
    }

    #[test]
    fn a_bad_cap_is_named_at_its_line() {
        for (setting, field) in [
            ("[report]\nannual_cap_bbl = 0\n", "report.annual_cap_bbl"),
            ("[report]\ncap_label = \"\"\n", "report.cap_label"),
        ] {
            let problems = load(&format!("{MINIMAL}{setting}"))
                .expect_err(setting)
                .problems;
            assert_eq!(problems.len(), 1, "{setting}: {problems:?}");
            assert_eq!(problems[0].field.as_deref(), Some(field), "{setting}");
            assert!(problems[0].location.is_some(), "{setting}: located");
        }
    }
}
