//! The CI runner recipes in examples/ci/ are read as GitLab, GitHub Actions
//! and gitlab-runner would read them (YAML and TOML parsers), and every
//! `benchctl` command in them is parsed by benchctl's own command line, so
//! a renamed flag breaks this test instead of a lab's night.

use clap::Parser;
use serde_json::Value;

mod common;
use common::outside::run_python;
use common::repo_root;

/// YAML or TOML to JSON, by Python's PyYAML and tomllib.
fn load(file: &str) -> Value {
    let script = "import sys, json, tomllib, yaml\np = sys.argv[1]\nif p.endswith('.toml'):\n    d = tomllib.load(open(p, 'rb'))\nelse:\n    d = yaml.safe_load(open(p))\nprint(json.dumps(d))\n";
    let path = repo_root().join("examples/ci").join(file);
    serde_json::from_slice(&run_python(script, &path, "the recipe does not parse"))
        .expect("JSON from python")
}

/// Every shell line that runs benchctl must parse as a benchctl command.
fn check_benchctl_lines(lines: &[&str]) -> Vec<String> {
    let mut commands = Vec::new();
    for line in lines {
        for cmd in line
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("benchctl "))
        {
            let args: Vec<&str> = cmd.split_whitespace().collect();
            if let Err(e) = benchctl::cli::Cli::try_parse_from(&args) {
                panic!("`{cmd}` does not parse: {e}");
            }
            commands.push(args[1..].join(" "));
        }
    }
    commands
}

/// The subcommand of a benchctl command line, past the global options.
fn subcommand(cmd: &str) -> &str {
    let mut words = cmd.split_whitespace();
    while let Some(w) = words.next() {
        if w == "--wait" || w == "--bench" {
            words.next();
        } else if !w.starts_with('-') {
            return w;
        }
    }
    ""
}

#[test]
fn gitlab_pipeline_gates_on_doctor_and_reports_junit_and_evidence() {
    let ci = load("gitlab-ci.yml");
    let gate = &ci["bench-health"];
    let nightly = &ci["nightly-suite"];
    for job in [gate, nightly] {
        assert_eq!(job["tags"], serde_json::json!(["bench-lab1"]), "{job}");
    }
    assert_eq!(nightly["needs"], serde_json::json!(["bench-health"]));
    let script = |job: &Value| -> Vec<String> {
        let lines: Vec<&str> = job["script"]
            .as_array()
            .expect("script")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        check_benchctl_lines(&lines)
    };
    assert_eq!(
        script(gate)
            .iter()
            .map(|c| subcommand(c))
            .collect::<Vec<_>>(),
        ["doctor"]
    );
    let suite = script(nightly);
    assert_eq!(suite.len(), 1);
    assert_eq!(subcommand(&suite[0]), "suite");
    assert!(suite[0].contains("--wait"), "queues on the bench lock");
    assert!(suite[0].contains("--baseline last-pass"));
    assert_eq!(nightly["artifacts"]["when"], "always");
    assert_eq!(nightly["artifacts"]["reports"]["junit"], "nightly.xml");
    assert!(suite[0].contains("--junit nightly.xml"));
    assert!(suite[0].contains("--artifacts evidence"));
    assert_eq!(
        nightly["artifacts"]["paths"],
        serde_json::json!(["evidence/"])
    );

    let runner = load("gitlab-runner-config.toml");
    let r = &runner["runners"][0];
    assert_eq!(r["executor"], "shell");
    assert_eq!(runner["concurrent"], 1);
}

#[test]
fn github_workflow_gates_on_doctor_and_reports_junit_and_evidence() {
    let wf = load("github-actions-nightly.yml");
    // PyYAML reads the bare key `on` as the boolean true (YAML 1.1).
    let triggers = wf.get("on").or_else(|| wf.get("true")).expect("triggers");
    assert!(triggers["schedule"][0]["cron"].is_string());
    let job = &wf["jobs"]["nightly"];
    assert_eq!(
        job["runs-on"],
        serde_json::json!(["self-hosted", "linux", "bench-lab1"])
    );
    assert_eq!(wf["concurrency"]["group"], "bench-lab1");
    let steps = job["steps"].as_array().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let commands = check_benchctl_lines(&runs);
    let subs: Vec<&str> = commands.iter().map(|c| subcommand(c)).collect();
    assert_eq!(subs, ["doctor", "suite"], "doctor gates the suite");
    assert!(commands[1].contains("--junit nightly.xml"));
    assert!(commands[1].contains("--artifacts evidence"));
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        })
        .expect("artifacts uploaded");
    assert_eq!(upload["if"], "always()");
    assert_eq!(upload["with"]["path"], "evidence/");
    let junit = steps
        .iter()
        .find(|s| s["with"]["report_paths"].is_string())
        .expect("JUnit reported");
    assert_eq!(junit["with"]["report_paths"], "nightly.xml");
}
