//! The outside readers the run directory format names: the `sigmf` Python
//! package's validator and reader, and tshark. Both come from
//! `scripts/install-test-deps`; a missing one fails the test (rather than
//! skipping it) so CI cannot pass without the check.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::repo_root;

pub const INSTALL_HINT: &str = "run scripts/install-test-deps";

pub fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: {INSTALL_HINT}",
        python.display()
    );
    python
}

pub fn tshark() -> &'static str {
    let found = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "tshark missing: {INSTALL_HINT}");
    "tshark"
}

/// Validate a SigMF recording with the `sigmf` package and read its samples
/// back. Warnings are errors: the reader warns (and goes on) about a data
/// file that is not whole frames or that ends before an annotation.
const SIGMF_CHECK: &str = r#"
import json, sys, warnings
import numpy as np
from sigmf import sigmffile
warnings.simplefilter("error")
f = sigmffile.fromfile(sys.argv[1])
f.validate()
x = f.read_samples()
print(json.dumps({
    "shape": list(x.shape),
    "values": [None if np.isnan(v) else float(v) for v in x.reshape(-1)],
    "sample_count": int(f.sample_count),
    "annotations": f.get_annotations(),
    "captures": f.get_captures(),
}))
"#;

/// Run a Python `script` from the venv with `arg` as its argument; its
/// stdout. A failing script fails the test with its stderr and `what`.
pub fn run_python(script: &str, arg: &Path, what: &str) -> Vec<u8> {
    let out = Command::new(venv_python())
        .args(["-c", script])
        .arg(arg)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{what} {}: {}\n({INSTALL_HINT} if a package is missing)",
        arg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn sigmf_check(meta: &Path) -> Value {
    serde_json::from_slice(&run_python(SIGMF_CHECK, meta, "sigmf rejected"))
        .expect("checker output")
}

/// Validate a meta file against the `sigmf` package's schema without
/// opening its data file.
pub fn sigmf_validate_only(meta: &Path) {
    let script = "import json, sys, warnings\n\
                  from sigmf import validate\n\
                  warnings.simplefilter('error')\n\
                  validate.validate(json.load(open(sys.argv[1])))\n";
    run_python(script, meta, "sigmf rejected");
}

/// Validate a SigMF recording with the `sigmf` package and report its shape
/// and how many samples are NaN, without passing every value back.
const SIGMF_SUMMARY: &str = r#"
import json, sys, warnings
import numpy as np
from sigmf import sigmffile
warnings.simplefilter("error")
f = sigmffile.fromfile(sys.argv[1])
f.validate()
x = f.read_samples()
print(json.dumps({
    "shape": list(x.shape),
    "nan": int(np.isnan(x).sum()),
    "sample_count": int(f.sample_count),
    "captures": f.get_captures(),
    "global": f.get_global_info(),
}))
"#;

pub fn sigmf_summary(meta: &Path) -> Value {
    serde_json::from_slice(&run_python(SIGMF_SUMMARY, meta, "sigmf rejected"))
        .expect("checker output")
}

/// `tshark -T fields` rows of `file`.
pub fn tshark_fields(file: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new(tshark());
    cmd.arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark rejected {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("tshark output is UTF-8")
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

/// `frame.time_epoch` text (`1795707000.123456000`) as nanoseconds, exactly.
pub fn epoch_nanos(text: &str) -> u128 {
    let (secs, frac) = text.split_once('.').unwrap_or((text, "0"));
    let frac = format!("{frac:0<9}");
    secs.parse::<u128>().expect("seconds") * 1_000_000_000
        + frac[..9].parse::<u128>().expect("fraction")
}

/// (dut + test name, failed) of every JUnit testcase, as junitparser reads them.
pub fn junit_cases(path: &Path) -> Vec<(String, bool)> {
    junit_results(path)
        .into_iter()
        .map(|c| {
            let failed = matches!(c.outcome.as_str(), "failure" | "error");
            (c.name, failed)
        })
        .collect()
}

/// One JUnit testcase as junitparser reads it.
#[derive(Debug, serde::Deserialize)]
pub struct JunitCase {
    /// The DUT (last part of the classname), a space, the test name.
    pub name: String,
    /// `passed`, `failure`, `error` or `skipped`.
    pub outcome: String,
    /// The failure, error or skip message and text.
    pub message: String,
}

/// Every JUnit testcase with its outcome, as junitparser reads them.
pub fn junit_results(path: &Path) -> Vec<JunitCase> {
    let script = "import sys, json\nfrom junitparser import JUnitXml\nout = []\nfor suite in JUnitXml.fromfile(sys.argv[1]):\n    for case in suite:\n        dut = case.classname.split('.')[-1]\n        results = list(case.result)\n        outcome = results[0].__class__.__name__.lower() if results else 'passed'\n        message = ' '.join((r.message or '') + ' ' + (r.text or '') for r in results)\n        out.append({'name': dut + ' ' + case.name, 'outcome': outcome, 'message': message})\nprint(json.dumps(out))\n";
    let out = run_python(script, path, "junitparser rejected");
    serde_json::from_slice(&out).expect("cases")
}
