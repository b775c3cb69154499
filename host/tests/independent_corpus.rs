//! Run directories we did not write: the independent generator
//! (`eval/independent/`, written from the contracts alone) makes one run
//! per class, its own check passes on them, and `benchctl analyze` reads
//! every one of them and judges every DUT its labels name. What the verdicts
//! should be is measured by `eval/independent/score.py` (README
//! "Evaluation"), not asserted here: this is the contract, not the rates.

mod common;

use std::process::Command;

use serde_json::Value;

use common::TestBench;
use common::judged::analyze;
use common::outside::venv_python;

#[test]
fn every_run_the_independent_generator_writes_is_read_and_judged() {
    let bench = TestBench::default_bench();
    let corpus = bench.dir.path().join("indep");
    let script = common::repo_root().join("eval/independent/generate.py");
    let generate = Command::new(venv_python())
        .arg(&script)
        .args(["--out", corpus.to_str().expect("utf-8"), "--per-class", "1"])
        .args(["--seed", "11"])
        .output()
        .expect("run generate.py");
    assert!(
        generate.status.success(),
        "generate.py: {}",
        String::from_utf8_lossy(&generate.stderr)
    );
    let check = Command::new(venv_python())
        .arg(&script)
        .args(["--check", corpus.to_str().expect("utf-8")])
        .output()
        .expect("run generate.py --check");
    assert!(
        check.status.success(),
        "generate.py --check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let labels: Value =
        serde_json::from_slice(&std::fs::read(corpus.join("labels.json")).expect("labels.json"))
            .expect("labels JSON");
    let runs = labels["runs"].as_object().expect("runs");
    assert!(runs.len() >= 9, "one run per class: {}", runs.len());
    for (name, label) in runs {
        let (code, doc) = analyze(&bench, &corpus.join(name));
        // 0 pass, 1 fail, 3 incomplete; 2 would be "cannot read it".
        assert!(
            matches!(code, Some(0 | 1 | 3)),
            "{name} ({}): exit {code:?}: {doc}",
            label["class"]
        );
        let judged: Vec<&str> = doc["duts"]
            .as_array()
            .expect("duts")
            .iter()
            .filter_map(|d| d["dut"].as_str())
            .collect();
        for dut in label["duts"].as_object().expect("labelled DUTs").keys() {
            assert!(
                judged.contains(&dut.as_str()),
                "{name}: {dut} not judged: {doc}"
            );
        }
    }
}
