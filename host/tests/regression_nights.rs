//! Issue 22: a nightly regression that sees what changed, and honest nights
//! that never flap red. Every night is recorded by the simulated lab in
//! virtual time (no sleeping): three good nights of phone-a (a new phone
//! seed and new room interference each night, a 30 s check-in to an
//! allowed host as part of its firmware), then one changed night, recorded
//! with an implant or edited from an honest night's copy (its
//! `rf.sigmf-data`, `power.sigmf-data` or `net.pcapng`), compared with
//! `benchctl diff` as a lab would. Each changed night must be red, naming
//! the measure that moved and the nights it was judged against; the
//! honest night, the positive controls and eight honest `backdoor-hunt`
//! nights through `benchctl suite` check the other side.
//!
//! The three good nights are recorded once per test process and copied
//! into each test's own runs folder (`base()`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use benchctl::history::Index;
use benchctl_format::read::{RunDir, UtcTime};
use serde_json::Value;

mod common;
use common::TestBench;
use common::firmware::ALLOW;

/// Boot, five minutes online with the screen off (an allowlist naming the
/// phone's services and the lab's 10.77.0.0/16), airplane mode, switched
/// off in software: about 6 minutes, 7 s to record in a debug build.
fn scenario_text() -> String {
    format!(
        r#"[scenario]
name = "regression-check"
duts = ["phone-a"]
on_fault = "abort"
steps = [
  {{ phase = "boot" }}, {{ do = "net.isolate" }}, {{ do = "usb.on" }}, {{ do = "power.on" }}, {{ wait = "10s" }},
  {{ phase = "online", net = "allowlist", allow = {ALLOW} }},
  {{ do = "net.allowlist", allow = {ALLOW} }}, {{ do = "device.screen", state = "off" }}, {{ wait = "300s" }},
  {{ phase = "airplane", rf = "silent", net = "none" }}, {{ do = "net.isolate" }},
  {{ do = "device.airplane", state = "on" }}, {{ wait = "20s" }},
  {{ phase = "soft-off", rf = "silent", net = "none", power = "off", off_current_a = 0.005 }},
  {{ do = "device.power-off" }}, {{ wait = "30s" }},
]
"#
    )
}

/// phone-a's firmware checks in with 10.77.0.5:443 (inside the allowlist)
/// every 30 s: a timer the good nights know.
const BEACON_30: &str = r#"{ kind = "beacon", dest_ip = "10.77.0.5", port = 443, period_s = 30, jitter = 0.1, proto = "tcp" }"#;

/// The default bench with honest phones, phone-a with the seed of night
/// `night` and `implants`.
fn bench_for(night: u64, implants: &[&str]) -> String {
    let text = common::firmware::bench_text(false);
    let device = format!(
        r#"device = {{ kind = "sim", seed = {}, implants = [{}] }}"#,
        1000 + night,
        implants.join(", ")
    );
    let edited = text.replacen(r#"device = { kind = "sim" }"#, &device, 1);
    assert_ne!(edited, text, "phone-a's device line");
    edited
}

/// Record night `night` into `dir`: its own phone seed, room seed and day.
fn record(dir: &Path, night: u64, implants: &[&str]) {
    let bench = benchctl::config::parse(Path::new("bench.toml"), &bench_for(night, implants))
        .expect("bench parses");
    let scenario =
        benchctl::scenario::parse(Path::new("regression-check.toml"), &scenario_text(), &bench)
            .expect("scenario parses");
    let mut options = benchctl::bench::VirtualOptions::new(300 + night);
    options.started_utc += Duration::from_secs(86_400 * night);
    let report = benchctl::runner::record_in_virtual_time(&bench, &scenario, dir, &options)
        .expect("recorded");
    assert!(report.complete);
}

/// Analyze `dir`, write its findings.json and index it in `runs`, as
/// `benchctl run` does at its end; phone-a's verdict.
fn analyze_and_index(runs: &Path, dir: &Path) -> String {
    let findings = benchctl_detect::analyze::analyze(dir).expect("analyzed");
    benchctl_detect::analyze::write(dir, &findings).expect("findings.json");
    Index::open(runs)
        .expect("index")
        .add_run(dir, &findings)
        .expect("indexed");
    let verdict = serde_json::to_value(findings.duts[0].verdict).expect("verdict");
    verdict.as_str().unwrap_or_default().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

/// The good nights every test starts from, recorded once per process.
struct Base {
    /// A runs folder with night0..night2 indexed.
    runs: PathBuf,
    /// Night 3 as an honest phone records it: the copy the edited nights
    /// start from (not indexed).
    honest: PathBuf,
}

/// The name every changed night's boot phase (and the good nights') looks
/// up: a company under a multi-label public suffix.
const BBC: (&str, [u8; 4]) = ("www.bbc.co.uk", [212, 58, 244, 69]);

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let clock = Instant::now();
        // Under cargo's scratch folder, one per process; a folder left by a
        // process that is gone is removed (a static is never dropped).
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = std::fs::read_dir(scratch) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("regression-nights-")
                    && !Path::new("/proc").join(pid).exists()
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let root = scratch.join(format!("regression-nights-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let runs = root.join("runs");
        std::fs::create_dir_all(&runs).expect("runs");
        std::thread::scope(|s| {
            for n in 0..3u64 {
                let runs = &runs;
                s.spawn(move || {
                    let dir = runs.join(format!("night{n}"));
                    record(&dir, n, &[BEACON_30]);
                    let mut capture = Capture::open(&dir);
                    capture.lookup(6.0, BBC.0, BBC.1);
                    capture.save();
                });
            }
            let honest = root.join("honest");
            s.spawn(move || record(&honest, 3, &[BEACON_30]));
        });
        for n in 0..3 {
            let verdict = analyze_and_index(&runs, &runs.join(format!("night{n}")));
            assert_eq!(verdict, "pass", "good night {n}");
        }
        eprintln!(
            "three good nights and an honest one recorded in {:?}",
            clock.elapsed()
        );
        Base {
            runs,
            honest: root.join("honest"),
        }
    })
}

/// A test's own runs folder: the good nights, and `tonight` to fill.
struct Night {
    _tmp: tempfile::TempDir,
    runs: PathBuf,
    tonight: PathBuf,
    indexed: std::cell::Cell<bool>,
}

/// A copy of the good nights, with tonight a copy of the honest night 3
/// (its boot phase looking up www.bbc.co.uk, as every good night's does).
fn honest_night() -> Night {
    let night = empty_night();
    copy_dir(&base().honest, &night.tonight);
    let mut capture = Capture::open(&night.tonight);
    capture.lookup(6.0, BBC.0, BBC.1);
    capture.save();
    night
}

/// A copy of the good nights, tonight not there yet.
fn empty_night() -> Night {
    let base = base();
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path().join("runs");
    copy_dir(&base.runs, &runs);
    let tonight = runs.join("tonight");
    Night {
        _tmp: tmp,
        runs,
        tonight,
        indexed: std::cell::Cell::new(false),
    }
}

impl Night {
    /// Index tonight and compare it with `benchctl diff` (text and JSON):
    /// the exit code, the text, the JSON.
    fn diff(&self) -> (Option<i32>, String, Value) {
        if !self.indexed.replace(true) {
            let verdict = analyze_and_index(&self.runs, &self.tonight);
            eprintln!("tonight's verdict: {verdict}");
        }
        let bench = TestBench::default_bench();
        let path = self.tonight.to_str().expect("utf-8");
        let text = bench.run(&["diff", path]);
        let json = bench.run(&["diff", path, "--json"]);
        assert_eq!(text.status.code(), json.status.code());
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        eprintln!("{text}");
        let doc: Value = serde_json::from_slice(&json.stdout).expect("diff JSON");
        (json.status.code(), text, doc)
    }
}

/// phone-a's changes in a `diff --json` document.
fn changes(doc: &Value) -> Vec<Value> {
    doc["duts"][0]["changes"]
        .as_array()
        .expect("changes")
        .clone()
}

/// The night is red: exit 1, and a regression of `kind` whose measure
/// (or summary) contains `about`; that change.
fn red(night: &Night, kind: &str, about: &str) -> Value {
    let (code, text, doc) = night.diff();
    assert_eq!(code, Some(1), "red: {text}");
    // Judged against the three good nights, named in the output.
    assert!(
        text.contains("against 3 good nights, the latest first: night2, night1 and night0"),
        "{text}"
    );
    let nights: Vec<&str> = doc["duts"][0]["baseline_nights"]
        .as_array()
        .expect("nights")
        .iter()
        .filter_map(|n| n["dir"].as_str())
        .collect();
    assert_eq!(nights, ["night2", "night1", "night0"]);
    let found = changes(&doc).into_iter().find(|c| {
        c["kind"] == kind
            && c["regression"] == true
            && (c["measure"].as_str().is_some_and(|m| m.contains(about))
                || c["summary"].as_str().is_some_and(|s| s.contains(about)))
    });
    found.unwrap_or_else(|| panic!("no {kind} regression about {about:?}: {text}"))
}

/// phone-a's span of phase `name` in run `dir`.
fn phase(dir: &Path, name: &str) -> (f64, f64) {
    let run = RunDir::open(dir).expect("run");
    let phases = run.phase_intervals("phone-a").expect("phases");
    let p = phases.iter().find(|p| p.phase.name == name).expect("phase");
    (p.start + 1.0, p.end)
}

/// A SigMF recording of a run directory (`rf` or `power`), to edit.
struct Samples {
    data: PathBuf,
    /// Per column: its DUT and its band (RF) or quantity (current).
    columns: Vec<(Option<String>, String)>,
    rate: f64,
    t0: f64,
    values: Vec<f32>,
}

impl Samples {
    fn open(dir: &Path, stem: &str) -> Samples {
        let meta: Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("{stem}.sigmf-meta"))).expect("meta"),
        )
        .expect("meta JSON");
        let columns = meta["global"]["bench:channels"]
            .as_array()
            .expect("channels")
            .iter()
            .map(|c| {
                let label = c["band"].as_str().or(c["quantity"].as_str()).unwrap_or("");
                (c["dut"].as_str().map(str::to_string), label.to_string())
            })
            .collect();
        let data = dir.join(format!("{stem}.sigmf-data"));
        let bytes = std::fs::read(&data).expect("data");
        let values = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Samples {
            data,
            columns,
            rate: meta["global"]["core:sample_rate"].as_f64().expect("rate"),
            t0: meta["captures"][0]["bench:t0"].as_f64().unwrap_or(0.0),
            values,
        }
    }

    fn column(&self, dut: Option<&str>, label: &str) -> usize {
        self.columns
            .iter()
            .position(|(d, l)| d.as_deref() == dut && l == label)
            .unwrap_or_else(|| panic!("no column {label} of {dut:?}"))
    }

    fn width(&self) -> usize {
        self.columns.len()
    }

    /// The rows (samples) whose time lies in `[from, to)`.
    fn rows(&self, (from, to): (f64, f64)) -> std::ops::Range<usize> {
        let n = self.values.len() / self.width();
        let row = |t: f64| (((t - self.t0) * self.rate).ceil().max(0.0) as usize).min(n);
        row(from)..row(to)
    }

    fn t(&self, row: usize) -> f64 {
        self.t0 + row as f64 / self.rate
    }

    fn get(&self, row: usize, col: usize) -> f32 {
        self.values[row * self.width() + col]
    }

    fn set(&mut self, row: usize, col: usize, v: f32) {
        let w = self.width();
        self.values[row * w + col] = v;
    }

    fn median(&self, col: usize, span: (f64, f64)) -> f32 {
        let mut v: Vec<f32> = self
            .rows(span)
            .map(|r| self.get(r, col))
            .filter(|v| v.is_finite())
            .collect();
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    fn save(&self) {
        let bytes: Vec<u8> = self.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&self.data, bytes).expect("write samples");
    }
}

/// phone-a's column `band` in phase `name`: the column, the phase's span,
/// and a level 10 dB above the column's median there (the noise floor: the
/// phone sends a few % of the time), from which a sample is the phone's.
fn rf_column(s: &Samples, dir: &Path, name: &str, band: &str) -> (usize, (f64, f64), f32) {
    let span = phase(dir, name);
    let col = s.column(Some("phone-a"), band);
    let on = s.median(col, span) + 10.0;
    (col, span, on)
}

/// Which rows of `span` the room antenna hears something in: the room's
/// bursts are not the phone's to edit.
fn room_rows(s: &Samples, span: (f64, f64)) -> Vec<bool> {
    let room = s.column(None, "LTE B3 uplink, room");
    let quiet = s.median(room, span) + 10.0;
    s.rows(span).map(|r| s.get(r, room) > quiet).collect()
}

/// Every phone-a transmission in `band` during `name` lasts `ms`.
fn stretch(dir: &Path, name: &str, band: &str, ms: usize) {
    let mut s = Samples::open(dir, "rf");
    let (col, span, on) = rf_column(&s, dir, name, band);
    let rows = s.rows(span);
    let room = room_rows(&s, span);
    let mut r = rows.start;
    let mut stretched = 0;
    while r < rows.end {
        if s.get(r, col) > on && !room[r - rows.start] {
            let peak = (r..(r + 3).min(rows.end))
                .map(|k| s.get(k, col))
                .fold(f32::MIN, f32::max);
            let end = (r + ms).min(rows.end);
            for k in r..end {
                s.set(k, col, s.get(k, col).max(peak));
            }
            stretched += 1;
            r = end + 1;
        } else {
            r += 1;
        }
    }
    assert!(stretched > 100, "{stretched} transmissions stretched");
    s.save();
}

/// Every phone-a transmission in `band` during `name` `db` stronger.
fn louder(dir: &Path, name: &str, band: &str, db: f32) {
    let mut s = Samples::open(dir, "rf");
    let (col, span, on) = rf_column(&s, dir, name, band);
    let floor = on - 10.0;
    let rows = s.rows(span);
    let room = room_rows(&s, span);
    let mut raised = 0;
    for r in rows.clone() {
        let v = s.get(r, col);
        if v > floor + 6.0 && !room[r - rows.start] {
            s.set(r, col, v + db);
            raised += 1;
        }
    }
    assert!(raised > 100, "{raised} samples raised");
    s.save();
}

/// `count` bursts of 5 ms, 40 dB above the floor, evenly over phase
/// `name` on phone-a's `band`.
fn bursts(dir: &Path, name: &str, band: &str, count: usize) {
    let mut s = Samples::open(dir, "rf");
    let (col, span, on) = rf_column(&s, dir, name, band);
    let rows = s.rows(span);
    let step = (rows.end - rows.start) / (count + 1);
    for k in 1..=count {
        let at = rows.start + k * step;
        for r in at..at + 5 {
            s.set(r, col, on + 30.0);
        }
    }
    s.save();
}

/// phone-a's supply current in phase `name`: `amps` more during the first
/// `duty` of every second.
fn more_current(dir: &Path, name: &str, amps: f32, duty: f64) {
    let mut s = Samples::open(dir, "power");
    let span = phase(dir, name);
    let col = s.column(Some("phone-a"), "current");
    for r in s.rows(span) {
        if s.t(r).fract() < duty {
            s.set(r, col, s.get(r, col) + amps);
        }
    }
    s.save();
}

/// phone-a's supply current in phase `name` times `factor`.
fn scale_current(dir: &Path, name: &str, factor: f32) {
    let mut s = Samples::open(dir, "power");
    let span = phase(dir, name);
    let col = s.column(Some("phone-a"), "current");
    for r in s.rows(span) {
        s.set(r, col, s.get(r, col) * factor);
    }
    s.save();
}

/// A run directory's capture, to add packets to (in time order when
/// saved).
struct Capture {
    path: PathBuf,
    started: UtcTime,
    interfaces: Vec<String>,
    packets: Vec<benchctl_format::read::OwnedPacket>,
}

/// phone-a's link as its own packets show it.
struct Link {
    phone_mac: [u8; 6],
    gateway_mac: [u8; 6],
    phone: Ipv4Addr,
    resolver: Ipv4Addr,
}

impl Capture {
    fn open(dir: &Path) -> Capture {
        let run = RunDir::open(dir).expect("run");
        let path = dir.join("net.pcapng");
        let reader = benchctl_format::read::PacketReader::open(&path).expect("capture");
        let interfaces = reader
            .interfaces()
            .iter()
            .map(|i| i.name.clone().unwrap_or_default())
            .collect();
        let packets = reader.map(|p| p.expect("packet")).collect();
        Capture {
            path,
            started: run.started(),
            interfaces,
            packets,
        }
    }

    fn phone_a(&self) -> usize {
        self.interfaces
            .iter()
            .position(|n| n == "phone-a")
            .expect("phone-a's interface")
    }

    /// From phone-a's first DNS query: its addresses and the resolver's.
    fn link(&self) -> Link {
        let i = self.phone_a();
        let p = self
            .packets
            .iter()
            .find(|p| {
                let d = &p.data;
                p.interface == i
                    && d.len() > 42
                    && d[12..14] == [8, 0]
                    && d[23] == 17
                    && d[36..38] == [0, 53]
            })
            .expect("a DNS query from phone-a");
        let d = &p.data;
        let mac = |at: usize| <[u8; 6]>::try_from(&d[at..at + 6]).expect("mac");
        let ip = |at: usize| Ipv4Addr::new(d[at], d[at + 1], d[at + 2], d[at + 3]);
        Link {
            gateway_mac: mac(0),
            phone_mac: mac(6),
            phone: ip(26),
            resolver: ip(30),
        }
    }

    /// Add `frame` on phone-a's link at run time `t`.
    fn add(&mut self, t: f64, frame: Vec<u8>) {
        let nanos = (t * 1e9).round() as u64 + u64::from(self.started.nanos);
        let time = UtcTime::new(self.started.secs, nanos);
        self.packets.push(benchctl_format::read::OwnedPacket {
            interface: self.phone_a(),
            time: Some(time),
            original_len: frame.len() as u32,
            data: frame,
            offset: 0,
        });
    }

    /// At run time `t`, phone-a looks `name` up (answered with `addr`)
    /// and opens a TLS connection to it, sending a few segments.
    fn lookup(&mut self, t: f64, name: &str, addr: [u8; 4]) {
        let link = self.link();
        let addr = Ipv4Addr::from(addr);
        let id = 0x5a17;
        let sport = 40_000 + (addr.octets()[3] as u16);
        let query = benchctl_net::dns::build_query(id, name, 1);
        let answer = benchctl_net::dns::build_response(id, name, &[addr], 300);
        let q = udp(&link, true, link.resolver, sport, 53, &query);
        let a = udp(&link, false, link.resolver, 53, sport, &answer);
        self.add(t, q);
        self.add(t + 0.02, a);
        let mut seq = 1_000;
        for (k, len) in [0usize, 517, 93, 64].into_iter().enumerate() {
            let f = tcp(
                &link,
                addr,
                51_000,
                443,
                seq,
                if len == 0 { 0x02 } else { 0x18 },
                &vec![0x17; len],
            );
            self.add(t + 0.05 + 0.03 * k as f64, f);
            seq += len.max(1) as u32;
        }
    }

    /// phone-a sends `bytes` of payload on its existing connection to
    /// `dest`:`port` (the last segment it sent there says which), in
    /// 1400-byte segments every `gap` s from run time `t`.
    fn upload(&mut self, t: f64, dest: Ipv4Addr, port: u16, bytes: usize, gap: f64) -> usize {
        let link = self.link();
        let i = self.phone_a();
        let last = self
            .packets
            .iter()
            .rfind(|p| {
                let d = &p.data;
                p.interface == i
                    && d.len() >= 54
                    && d[23] == 6
                    && d[26..30] == link.phone.octets()
                    && d[30..34] == dest.octets()
                    && d[36..38] == port.to_be_bytes()
            })
            .expect("a segment on the connection")
            .data
            .clone();
        let sport = u16::from_be_bytes([last[34], last[35]]);
        let mut seq = u32::from_be_bytes([last[38], last[39], last[40], last[41]]);
        let segments = bytes.div_ceil(1400);
        let payload = vec![0x17u8; 1400];
        for k in 0..segments {
            let f = tcp(&link, dest, sport, port, seq, 0x18, &payload);
            self.add(t + k as f64 * gap, f);
            seq = seq.wrapping_add(1400);
        }
        segments
    }

    fn save(mut self) {
        self.packets.sort_by_key(|p| p.time);
        let mut w = benchctl_format::PcapngWriter::create(&self.path, &self.interfaces)
            .expect("rewrite capture");
        for p in &self.packets {
            let time = p.time.expect("timed");
            let at = SystemTime::UNIX_EPOCH + Duration::new(time.secs as u64, time.nanos);
            w.packet(p.interface as u32, at, &p.data, p.original_len)
                .expect("packet");
        }
        w.finish().expect("capture written");
    }
}

fn udp(link: &Link, out: bool, peer: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let (src, dst, smac, dmac) = if out {
        (link.phone, peer, link.phone_mac, link.gateway_mac)
    } else {
        (peer, link.phone, link.gateway_mac, link.phone_mac)
    };
    let l4 = benchctl_net::frame::udp(IpAddr::V4(src), IpAddr::V4(dst), sport, dport, payload);
    let ip = benchctl_net::frame::ipv4(src, dst, 17, 64, 1, &l4);
    benchctl_net::frame::ethernet(dmac, smac, benchctl_net::frame::ETHERTYPE_IPV4, &ip)
}

/// A TCP segment from phone-a (flags: 0x02 SYN, 0x18 PSH ACK).
fn tcp(
    link: &Link,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut s = Vec::with_capacity(20 + payload.len());
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&seq.to_be_bytes());
    s.extend_from_slice(&1u32.to_be_bytes());
    s.extend_from_slice(&[0x50, flags]);
    s.extend_from_slice(&65_535u16.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(payload);
    let sum = benchctl_net::frame::pseudo_sum(IpAddr::V4(link.phone), IpAddr::V4(dst), 6, s.len());
    let c = benchctl_net::frame::checksum(&s, sum);
    s[16..18].copy_from_slice(&c.to_be_bytes());
    let ip = benchctl_net::frame::ipv4(link.phone, dst, 6, 64, 2, &s);
    benchctl_net::frame::ethernet(
        link.gateway_mac,
        link.phone_mac,
        benchctl_net::frame::ETHERTYPE_IPV4,
        &ip,
    )
}

/// The negative control: the honest night 3 is green against the good
/// nights (what every test below changes one thing of).
#[test]
fn an_honest_night_stays_green() {
    let clock = Instant::now();
    let night = honest_night();
    let (code, text, doc) = night.diff();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        changes(&doc).iter().all(|c| c["regression"] == false),
        "{text}"
    );
    eprintln!("in {:?}", clock.elapsed());
}

/// A slow DNS tunnel under a new domain: the `dns-exfil` implant every 30
/// s with 8-character labels under t.example.net, to the lab's resolver (a
/// known destination); no finding catches labels this short.
#[test]
fn a_slow_dns_tunnel_under_a_new_domain_is_red() {
    let clock = Instant::now();
    let night = empty_night();
    record(
        &night.tonight,
        3,
        &[
            BEACON_30,
            r#"{ kind = "dns-exfil", domain = "t.example.net", every_s = 30, label_len = 8 }"#,
        ],
    );
    let c = red(&night, "new-dns-name", "example.net");
    let summary = c["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("new names under example.net"), "{summary}");
    assert!(summary.contains("never asked for"), "{summary}");
    assert_eq!(c["phase"], "online");
    eprintln!("in {:?}", clock.elapsed());
}

/// A known 30 s check-in (every good night had it) that fires every 3 s.
#[test]
fn a_known_timer_that_fires_every_3_s_instead_of_30_is_red() {
    let clock = Instant::now();
    let night = empty_night();
    record(
        &night.tonight,
        3,
        &[
            r#"{ kind = "beacon", dest_ip = "10.77.0.5", port = 443, period_s = 3, jitter = 0.1, proto = "tcp" }"#,
        ],
    );
    let c = red(&night, "timer-period", "10.77.0.5");
    assert!(
        c["now"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{c}"
    );
    let was = c["was"].as_str().unwrap_or_default();
    assert!(was.starts_with("2") || was.starts_with("3"), "{c}");
    eprintln!("in {:?}", clock.elapsed());
}

/// Every LTE transmission of the online phase stretched from 1-3 ms to 40
/// ms (the burst count even falls: stretched ones merge).
#[test]
fn lte_transmissions_stretched_to_40_ms_are_red() {
    let clock = Instant::now();
    let night = honest_night();
    stretch(&night.tonight, "online", "LTE B3 uplink", 40);
    let c = red(&night, "longer-transmissions", "LTE B3 uplink");
    assert!(c["now"].as_str().is_some_and(|v| v.starts_with("4")), "{c}");
    red(&night, "more-on-air-time", "LTE B3 uplink");
    eprintln!("in {:?}", clock.elapsed());
}

/// LTE and Wi-Fi 20 dB stronger in the online phase.
#[test]
fn lte_and_wifi_20_db_stronger_are_red() {
    let clock = Instant::now();
    let night = honest_night();
    louder(&night.tonight, "online", "LTE B3 uplink", 20.0);
    louder(&night.tonight, "online", "Wi-Fi 2.4 GHz ch 6", 20.0);
    for band in [
        "LTE B3 uplink: median level",
        "Wi-Fi 2.4 GHz ch 6: median level",
    ] {
        red(&night, "stronger-transmissions", band);
    }
    eprintln!("in {:?}", clock.elapsed());
}

/// 12 bursts on SRD 868 in the 5 online minutes, a band the phone never
/// used: 2.4 a minute, under the rate rule's 3 a minute.
#[test]
fn twelve_bursts_on_a_band_never_used_are_red() {
    let clock = Instant::now();
    let night = honest_night();
    bursts(&night.tonight, "online", "SRD 868", 12);
    let c = red(&night, "new-band", "SRD 868");
    assert!(
        c["now"].as_str().is_some_and(|v| v.starts_with("12 ")),
        "{c}"
    );
    eprintln!("in {:?}", clock.elapsed());
}

/// The CPU kept awake: +200 mA for 450 ms of every second of the online
/// phase. The mean doubles, the median moves about 4 %.
#[test]
fn the_cpu_kept_awake_is_red() {
    let clock = Instant::now();
    let night = honest_night();
    more_current(&night.tonight, "online", 0.200, 0.45);
    let c = red(&night, "higher-current", "current: mean");
    eprintln!("{c}");
    let (_, text, doc) = night.diff();
    assert!(
        !changes(&doc)
            .iter()
            .any(|c| c["measure"] == "current: median"),
        "the median barely moves: {text}"
    );
    eprintln!("in {:?}", clock.elapsed());
}

/// 20 MB to a known host on its existing connection (the push service,
/// about 0.5 kB a night).
#[test]
fn twenty_megabytes_to_a_known_host_are_red() {
    let clock = Instant::now();
    let night = honest_night();
    let mut capture = Capture::open(&night.tonight);
    let segments = capture.upload(
        120.0,
        Ipv4Addr::new(142, 250, 102, 188),
        5228,
        20_000_000,
        0.0015,
    );
    capture.save();
    assert!(segments > 14_000);
    let c = red(&night, "more-traffic", "142.250.102.188:5228/tcp");
    assert!(c["now"].as_str().is_some_and(|v| v.ends_with("MB")), "{c}");
    eprintln!("in {:?}", clock.elapsed());
}

/// `c2.evil-updates.co.uk` where the good nights had `www.bbc.co.uk`: the
/// same public suffix, another company (in the boot phase, where nothing
/// judges the network: only the comparison can see it).
#[test]
fn a_new_company_under_co_uk_is_red() {
    let clock = Instant::now();
    let night = empty_night();
    copy_dir(&base().honest, &night.tonight);
    let mut capture = Capture::open(&night.tonight);
    capture.lookup(6.0, "c2.evil-updates.co.uk", [203, 0, 113, 50]);
    capture.save();
    let c = red(&night, "new-destination", "c2.evil-updates.co.uk");
    let summary = c["summary"].as_str().unwrap_or_default();
    assert!(!summary.contains("other hosts of"), "{summary}");
    red(&night, "new-dns-name", "evil-updates.co.uk");
    eprintln!("in {:?}", clock.elapsed());
}

/// Switched off in software, the phone draws twice its usual 2.4 mA: under
/// the phase's 5 mA budget (no finding) and under the +5 mA that counts
/// elsewhere, but double what it was.
#[test]
fn a_doubled_off_current_is_red() {
    let clock = Instant::now();
    let night = honest_night();
    scale_current(&night.tonight, "soft-off", 2.0);
    let c = red(&night, "higher-current", "current: median");
    assert_eq!(c["phase"], "soft-off");
    eprintln!("in {:?}", clock.elapsed());
}

/// What was red before issue 22 stays red: a new host under a new domain,
/// +40 mA idle, bursts on a new band at 11 a minute.
#[test]
fn the_positive_controls_stay_red() {
    let clock = Instant::now();
    let night = empty_night();
    copy_dir(&base().honest, &night.tonight);
    let mut capture = Capture::open(&night.tonight);
    capture.lookup(6.0, BBC.0, BBC.1);
    capture.lookup(7.0, "api.unknown-vendor.io", [198, 51, 100, 77]);
    capture.save();
    red(&night, "new-destination", "api.unknown-vendor.io");

    let night = honest_night();
    more_current(&night.tonight, "online", 0.040, 1.0);
    red(&night, "higher-current", "current: median");

    let night = honest_night();
    bursts(&night.tonight, "online", "SRD 868", 55);
    red(&night, "new-band", "SRD 868");
    eprintln!("in {:?}", clock.elapsed());
}

/// Eight honest `backdoor-hunt` nights through `benchctl suite
/// --virtual-time --baseline last-pass`, as a lab runs them: each night
/// both phones get new seeds (other apps waking at other times, other CDN
/// hosts, YouTube some nights and not others) and the room new
/// interference. No night may be red: from the second night on each is
/// judged against all the good nights before it, and a red night would
/// never join them.
#[test]
fn eight_honest_backdoor_hunt_nights_stay_green() {
    let clock = Instant::now();
    let bench = TestBench::with_bench(&common::firmware::bench_text(false));
    let dir = bench.dir.path();
    let scenario = common::repo_root().join("scenarios/backdoor-hunt.toml");
    std::fs::write(
        dir.join("hunt.toml"),
        format!(
            "[suite]\nname = \"hunt\"\nscenarios = [{:?}]\n",
            scenario.to_str().expect("utf-8")
        ),
    )
    .expect("suite");
    for n in 0..8u64 {
        let text = common::firmware::bench_text(false)
            .replacen(
                r#"device = { kind = "sim" }"#,
                &format!(r#"device = {{ kind = "sim", seed = {} }}"#, 100 + n),
                1,
            )
            .replacen(
                "implants = []",
                &format!("seed = {}\nimplants = []", 200 + n),
                1,
            );
        std::fs::write(bench.bench_file(), text).expect("new seeds");
        let out = bench.run(&[
            "--json",
            "suite",
            "hunt.toml",
            "--virtual-time",
            "--seed",
            &(400 + n).to_string(),
            "--baseline",
            "last-pass",
        ]);
        let report: Value = serde_json::from_slice(&out.stdout).expect("suite JSON");
        let run = &report["runs"][0];
        let diff = &run["diff"];
        let words = |d: &Value| {
            d["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("{} {}: {}", c["kind"], c["regression"], c["summary"]))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for d in diff["duts"].as_array().expect("duts") {
            eprintln!(
                "night {n}, {} against {} night(s):\n{}",
                d["dut"],
                d["baseline_nights"].as_array().map_or(0, Vec::len),
                words(d)
            );
            if n > 0 {
                assert_eq!(
                    d["baseline_nights"].as_array().map(Vec::len),
                    Some(n.min(7) as usize),
                    "every good night before it, seven at most"
                );
            }
        }
        assert_eq!(
            out.status.code(),
            Some(0),
            "night {n} is red: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            diff
        );
        assert_eq!(run["regressed"], false, "night {n}: {diff}");
    }
    eprintln!("eight nights in {:?}", clock.elapsed());
}

/// The shipped nightly suite (`suites/nightly.toml`: airplane-silence, then
/// the 2 h 49 min nightly scenario) over six honest nights, both phones and
/// the room with new seeds each night, as CI would run it with
/// `--baseline last-pass`: no night is red. About a minute in a release
/// build and several in a debug one, so it runs by hand (README "History
/// and regression" has the command and the last result):
///
///     cargo test --release -p benchctl --test regression_nights -- --ignored six_nights
#[test]
#[ignore = "slow in a debug build: 17 h of virtual time; run with --release --ignored six_nights"]
fn six_nights_of_the_shipped_nightly_suite_stay_green() {
    let clock = Instant::now();
    let bench = TestBench::with_bench(&common::firmware::bench_text(false));
    let suite = common::repo_root().join("suites/nightly.toml");
    let suite = suite.to_str().expect("utf-8");
    for n in 0..6u64 {
        let text = common::firmware::bench_text(false)
            .replacen(
                r#"device = { kind = "sim" }"#,
                &format!(r#"device = {{ kind = "sim", seed = {} }}"#, 600 + n),
                1,
            )
            .replacen(
                "implants = []",
                &format!("seed = {}\nimplants = []", 700 + n),
                1,
            );
        std::fs::write(bench.bench_file(), text).expect("new seeds");
        let out = bench.run(&[
            "--json",
            "suite",
            suite,
            "--virtual-time",
            "--seed",
            &(800 + n).to_string(),
            "--baseline",
            "last-pass",
            "--out",
            "runs",
        ]);
        let report: Value = serde_json::from_slice(&out.stdout).expect("suite JSON");
        for run in report["runs"].as_array().expect("runs") {
            let regressions: Vec<String> = run["diff"]["duts"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|d| d["changes"].as_array().cloned().unwrap_or_default())
                .filter(|c| c["regression"] == true)
                .map(|c| format!("{}: {}", c["kind"], c["summary"]))
                .collect();
            eprintln!(
                "night {n}, {}: {} {}",
                run["scenario"],
                run["verdict"],
                if regressions.is_empty() {
                    "no regression".to_string()
                } else {
                    regressions.join("; ")
                }
            );
            assert!(regressions.is_empty(), "night {n} is red: {regressions:?}");
        }
        assert_eq!(
            out.status.code(),
            Some(0),
            "night {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!("six nights in {:?}", clock.elapsed());
}
