//! What `benchctl analyze` said of an input, for tests that build a
//! recording and check its verdicts: the exit code, the findings document
//! and the pieces of it tests look at.

use std::path::Path;

use serde_json::Value;

use super::TestBench;

/// `benchctl analyze --no-write --json` on one input (a run directory or a
/// capture): exit code and document.
pub fn analyze(bench: &TestBench, input: &Path) -> (Option<i32>, Value) {
    let out = bench.run(&[
        "analyze",
        "--no-write",
        "--json",
        input.to_str().expect("utf-8 path"),
    ]);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            input.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

/// A DUT's entry in the findings document.
pub fn dut<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["duts"]
        .as_array()
        .expect("duts")
        .iter()
        .find(|d| d["dut"] == name)
        .unwrap_or_else(|| panic!("{name} in {doc}"))
}

/// A DUT's findings of `kind` with severity medium or high.
pub fn failing<'a>(doc: &'a Value, name: &str, kind: &str) -> Vec<&'a Value> {
    dut(doc, name)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == kind && (f["severity"] == "medium" || f["severity"] == "high"))
        .collect()
}

/// The fixtures' run start (run.json `started`), Unix seconds: a rewritten
/// capture is stamped on the same clock.
pub const FIXTURE_STARTED_UNIX_S: u64 = 1_795_707_000;

/// The fixture's own frames, unchanged (a `rewrite` for
/// [`fixture_rewritten`]).
pub fn unchanged(_: &str, t: f64, f: &[u8]) -> Vec<(f64, Vec<u8>)> {
    vec![(t, f.to_vec())]
}

/// A copy of fixture `fixture` in `dir` whose capture is the fixture's,
/// each frame (interface name, run time, bytes) passed through `rewrite`,
/// which returns what replaces it (itself, nothing, or other frames), plus
/// `extra` (interface name, run time, bytes); in time order. The rest of
/// the fixture is copied as it is; nothing tracked is written.
pub fn fixture_rewritten(
    dir: &Path,
    fixture: &str,
    mut rewrite: impl FnMut(&str, f64, &[u8]) -> Vec<(f64, Vec<u8>)>,
    extra: &[(&str, f64, Vec<u8>)],
) -> std::path::PathBuf {
    use benchctl_format::PcapngWriter;
    use benchctl_format::read::RunDir;
    use std::time::{Duration, SystemTime};
    let source = super::repo_root().join("fixtures/runs").join(fixture);
    let run = dir.join(fixture);
    std::fs::create_dir_all(&run).expect("copy folder");
    for entry in std::fs::read_dir(&source).expect("fixture") {
        let entry = entry.expect("entry");
        if entry.file_name() != "net.pcapng" && entry.file_name() != "findings.json" {
            std::fs::copy(entry.path(), run.join(entry.file_name())).expect("copy");
        }
    }
    let original = RunDir::open(&source).expect("fixture opens");
    let started = original.started();
    let reader = original.net().expect("net").expect("a capture");
    let names: Vec<String> = reader
        .interfaces()
        .iter()
        .map(|i| i.name.clone().unwrap_or_default())
        .collect();
    let mut frames: Vec<(usize, f64, Vec<u8>)> = Vec::new();
    for p in reader {
        let p = p.expect("packet");
        let t = p.time.expect("timed").seconds_since(started);
        for (t, f) in rewrite(&names[p.interface], t, &p.data) {
            frames.push((p.interface, t, f));
        }
    }
    for (name, t, f) in extra {
        let i = names.iter().position(|n| n == name).expect("interface");
        frames.push((i, *t, f.clone()));
    }
    frames.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut out = PcapngWriter::create(&run.join("net.pcapng"), &names).expect("pcapng");
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(FIXTURE_STARTED_UNIX_S);
    for (i, t, f) in frames {
        let at = start + Duration::from_secs_f64(t);
        out.packet(i as u32, at, &f, f.len() as u32)
            .expect("packet");
    }
    out.finish().expect("finish");
    run
}
