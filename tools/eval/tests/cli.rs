//! The `benchctl-eval` binary as a developer runs it.

use std::process::{Command, Output};

use serde_json::Value;

fn eval(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_benchctl-eval"))
        .args(args)
        .output()
        .expect("benchctl-eval runs")
}

/// `benchctl-eval` end to end on a tiny corpus: the report names every
/// class asked for, counts its runs and tiers, and the blatant implant is
/// caught. (The measured table is in the README; this only checks the
/// machinery, with 2 runs per class.)
#[test]
fn eval_reports_detection_and_false_positives_per_class() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keep = tmp.path().join("corpus");
    let out = eval(&[
        "--json",
        "--runs",
        "2",
        "--seed",
        "3",
        "--class",
        "airplane-tx",
        "--class",
        "benign",
        "--keep",
        keep.to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("eval --json is JSON");
    assert_eq!(report["seed"], 3);
    let classes = report["classes"].as_array().expect("classes");
    let by_name = |n: &str| {
        classes
            .iter()
            .find(|c| c["class"] == n)
            .unwrap_or_else(|| panic!("{n} in {report}"))
    };
    let tx = by_name("airplane-tx");
    assert_eq!(
        (tx["runs"].as_u64(), tx["detected"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(tx["by_strength"]["strong"], serde_json::json!([1, 1]));
    // No honest phone in an implant class: no rate, not a perfect 0.
    assert_eq!(tx["honest_phones"], 0);
    assert_eq!(tx["false_positive_rate"], Value::Null);
    let benign = by_name("benign");
    assert_eq!(benign["detection_rate"], Value::Null);
    assert_eq!(benign["honest_phones"], 2);
    assert_eq!(benign["false_positives"], 0);
    assert_eq!(benign["false_positive_rate"], 0.0);
    // The kept corpus: a run directory with its label per case.
    let labels: Vec<Value> = std::fs::read_dir(&keep)
        .expect("corpus kept")
        .map(|e| e.expect("entry").path().join("label.json"))
        .map(|p| serde_json::from_slice(&std::fs::read(&p).expect("label.json")).expect("label"))
        .collect();
    assert_eq!(labels.len(), 4);
    assert!(
        labels
            .iter()
            .any(|l| l["class"] == "airplane-tx" && l["strength"] == "medium")
    );
}

#[test]
fn help_teaches_how_to_reproduce_the_table() {
    let out = eval(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("cargo run --release -p benchctl-eval"),
        "{help}"
    );
    assert!(help.contains("--class"), "{help}");
}
