//! What `benchctl analyze` said of an input, for tests that build a
//! recording and check its verdicts: the exit code, the findings document
//! and the pieces of it tests look at.

use std::net::Ipv4Addr;
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

/// phone-b's link in the fixtures: its MAC, the bench's, its address and
/// the bench's (its gateway and resolver).
pub const PHONE_B_MAC: [u8; 6] = [0x02, 0x1b, 0xd4, 0x68, 0x75, 0x1d];
pub const BENCH_B_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x4d, 0x02, 0x01];
pub const PHONE_B: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 2);
pub const BENCH_B: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 1);
/// The implant's server in the fixtures (TEST-NET-3).
pub const C2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);

/// An Ethernet/IPv4/UDP frame.
pub fn udp_frame(
    (src_mac, dst_mac): ([u8; 6], [u8; 6]),
    (src, sport): (Ipv4Addr, u16),
    (dst, dport): (Ipv4Addr, u16),
    id: u16,
    payload: &[u8],
) -> Vec<u8> {
    use benchctl_net::frame::{ETHERTYPE_IPV4, ethernet, ipv4, udp};
    let l4 = udp(src.into(), dst.into(), sport, dport, payload);
    ethernet(
        dst_mac,
        src_mac,
        ETHERTYPE_IPV4,
        &ipv4(src, dst, 17, 64, id, &l4),
    )
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
