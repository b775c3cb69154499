//! Suites: several scenarios run back to back on one bench, as a nightly
//! regression does. A suite file is TOML (`suites/*.toml`):
//!
//! ```toml
//! [suite]
//! name = "nightly"
//! description = "What runs every night against the day's build"
//! # Run in this order, each into its own run directory; relative paths
//! # are relative to this file.
//! scenarios = ["../scenarios/backdoor-hunt.toml", "../scenarios/nightly.toml"]
//! ```
//!
//! Every scenario is read and checked against the bench before the first
//! one starts: a typo in the third scenario of a four-hour night fails at
//! 18:00 with its place, not at 21:00 with two runs wasted.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::{BenchConfig, ConfigError, ConfigErrors, Diagnostics};
use crate::scenario::{self, Scenario};

/// A checked suite: its scenarios in order, each read from its file.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub description: Option<String>,
    pub entries: Vec<SuiteEntry>,
}

#[derive(Debug, Clone)]
pub struct SuiteEntry {
    /// The scenario file, resolved against the suite file's folder.
    pub file: PathBuf,
    pub scenario: Scenario,
}

impl Suite {
    /// Sum of the scenarios' nominal durations.
    pub fn nominal_duration(&self) -> std::time::Duration {
        self.entries
            .iter()
            .map(|e| e.scenario.nominal_duration())
            .sum()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuiteFile {
    suite: Spanned<RawSuite>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    name: Spanned<String>,
    description: Option<String>,
    scenarios: Spanned<Vec<Spanned<String>>>,
}

/// Read a suite file and check every scenario it names against `bench`.
pub fn load(path: &Path, bench: &BenchConfig) -> Result<Suite, ConfigErrors> {
    let source = crate::config::read_source(
        path,
        "suite",
        benchctl_format::input::MAX_CONFIG_BYTES,
        "suites shipped with benchctl are in suites/, e.g. suites/nightly.toml",
    )?;
    parse(path, &source, bench)
}

/// Check suite text; `path` is used in messages and to resolve the
/// scenario files.
pub fn parse(path: &Path, source: &str, bench: &BenchConfig) -> Result<Suite, ConfigErrors> {
    let raw: RawSuiteFile = crate::config::parse_toml(path, source)?;
    let mut diag = Diagnostics::new(path, source);
    let suite = raw.suite.into_inner();
    let name = suite.name.get_ref().clone();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        diag.error(
            suite.name.span(),
            format!("suite name \"{name}\" is not usable in a file name; use letters, digits, `-`, `_`, `.`"),
        );
    }
    if suite.scenarios.get_ref().is_empty() {
        diag.error_with_help(
            suite.scenarios.span(),
            "a suite needs at least one scenario",
            "scenarios = [\"../scenarios/backdoor-hunt.toml\"]",
        );
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut entries = Vec::new();
    // A scenario's own errors are in its own file; they are collected
    // after the suite's, all of them, so one pass shows every problem.
    let mut scenario_errors: Vec<ConfigError> = Vec::new();
    for file in suite.scenarios.get_ref() {
        let resolved = tidy(&base.join(file.get_ref()));
        if !resolved.is_file() {
            diag.error_with_help(
                file.span(),
                format!(
                    "scenario file \"{}\" not found (looked for {})",
                    file.get_ref(),
                    resolved.display()
                ),
                "paths in a suite are relative to the suite file",
            );
            continue;
        }
        match scenario::load(&resolved, bench) {
            Ok(scenario) => entries.push(SuiteEntry {
                file: resolved,
                scenario,
            }),
            Err(e) => scenario_errors.extend(e.0),
        }
    }
    let mut errors = diag.finish().err().map(|e| e.0).unwrap_or_default();
    errors.extend(scenario_errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Suite {
        name,
        description: suite.description,
        entries,
    })
}

/// `suites/../scenarios/x.toml` as `scenarios/x.toml`, for messages and
/// run listings people read. Lexical: a `..` after a symlinked folder
/// would go elsewhere, so a path that does not name the same file after
/// tidying is kept as it was.
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            c => out.push(c),
        }
    }
    let same = match (path.canonicalize(), out.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        (Err(_), Err(_)) => true,
        _ => false,
    };
    if same { out } else { path.to_path_buf() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_drops_parent_steps_but_not_leading_ones() {
        // Neither path exists, so the lexical form stands.
        assert_eq!(
            tidy(Path::new("/no/such/suites/../scenarios/x.toml")),
            Path::new("/no/such/scenarios/x.toml")
        );
        assert_eq!(tidy(Path::new("../a/./b/../c")), Path::new("../a/c"));
        assert_eq!(tidy(Path::new("../../x")), Path::new("../../x"));
    }

    fn bench() -> BenchConfig {
        let text = include_str!("../../bench.toml");
        crate::config::parse(Path::new("bench.toml"), text).expect("default bench")
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    const SCENARIO: &str = r#"[scenario]
name = "short"
duts = ["phone-a"]
steps = [{ phase = "boot" }, { do = "power.on" }, { wait = "2s" }]
"#;

    #[test]
    fn scenarios_resolve_against_the_suite_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join("scenarios")).expect("mkdir");
        std::fs::create_dir(tmp.path().join("suites")).expect("mkdir");
        write(&tmp.path().join("scenarios"), "short.toml", SCENARIO);
        let suite = write(
            &tmp.path().join("suites"),
            "s.toml",
            "[suite]\nname = \"s\"\nscenarios = [\"../scenarios/short.toml\", \"../scenarios/short.toml\"]\n",
        );
        let s = load(&suite, &bench()).expect("suite");
        assert_eq!(s.name, "s");
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.entries[0].scenario.name, "short");
        assert_eq!(s.nominal_duration(), std::time::Duration::from_secs(4));
    }

    #[test]
    fn every_problem_is_placed_in_its_own_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let bad = write(
            tmp.path(),
            "bad.toml",
            "[scenario]\nname = \"bad\"\nduts = [\"phone-z\"]\nsteps = []\n",
        );
        let suite = write(
            tmp.path(),
            "s.toml",
            "[suite]\nname = \"s\"\nscenarios = [\"missing.toml\", \"bad.toml\"]\n",
        );
        let e = load(&suite, &bench())
            .expect_err("two problems")
            .to_string();
        assert!(
            e.contains(&format!(
                "{}:3:14: scenario file \"missing.toml\" not found",
                suite.display()
            )),
            "{e}"
        );
        assert!(e.contains(&format!("{}:3:", bad.display())), "{e}");
        assert!(e.contains("phone-z"), "{e}");
    }

    #[test]
    fn shape_errors_say_where() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let suite = write(
            tmp.path(),
            "s.toml",
            "[suite]\nname = \"s\"\nscenario = [\"a.toml\"]\n",
        );
        let e = load(&suite, &bench()).expect_err("typo").to_string();
        assert!(e.contains("s.toml:3:1"), "{e}");
        assert!(e.contains("scenarios"), "{e}");
        let empty = write(
            tmp.path(),
            "e.toml",
            "[suite]\nname = \"e\"\nscenarios = []\n",
        );
        let e = load(&empty, &bench()).expect_err("empty").to_string();
        assert!(e.contains("at least one scenario"), "{e}");
    }
}
