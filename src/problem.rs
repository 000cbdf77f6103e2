//! One thing wrong with a configuration file (the TOML, a ports file, a watchlist) and how a
//! list of them is shown: shared by every reader of those files so that each can report
//! problems in the same words without depending on the others.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with the configuration, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: PathBuf,
    /// "line 12", "feature 3 (Vostochny)", ...
    pub location: Option<String>,
    /// The setting, property or column concerned: "detect.gap_hours", "properties.radius_nm".
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(location) = &self.location {
            write!(f, ":{location}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem on a line of its own, then how many there were.
pub fn render_problems(problems: &[ConfigProblem]) -> String {
    let mut out = String::new();
    for problem in problems {
        out.push_str(&problem.to_string());
        out.push('\n');
    }
    let plural = if problems.len() == 1 { "" } else { "s" };
    out.push_str(&format!(
        "{} problem{plural} found in the configuration",
        problems.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_display_leaves_out_what_is_unknown() {
        let mut p = ConfigProblem {
            file: PathBuf::from("a.toml"),
            location: Some("line 3".into()),
            field: Some("detect.gap_hours".into()),
            message: "must be greater than 0, got -3".into(),
        };
        assert_eq!(
            p.to_string(),
            "a.toml:line 3: detect.gap_hours: must be greater than 0, got -3"
        );
        p.location = None;
        p.field = None;
        assert_eq!(p.to_string(), "a.toml: must be greater than 0, got -3");
        assert_eq!(
            render_problems(&[p.clone(), p]),
            "a.toml: must be greater than 0, got -3\n\
             a.toml: must be greater than 0, got -3\n\
             2 problems found in the configuration"
        );
    }
}
