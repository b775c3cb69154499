//! The recorder's files, checked by the outside readers the run directory
//! format names: the `sigmf` Python package's validator and reader, and
//! tshark. Both come from `scripts/install-test-deps`; a missing one fails
//! the test (rather than skipping it) so CI cannot pass without the check.

use std::time::{Duration, Instant, SystemTime};

use benchctl_format::sigmf::{current_channel, rf_channel};
use benchctl_format::{
    DutEntry, Event, Expect, Journal, PcapngWriter, RunManifest, SigmfWriter, Unit,
};
use serde_json::{Value, json};

mod common;
use common::outside::{epoch_nanos, sigmf_check, sigmf_validate_only, tshark_fields};

/// The values as the Python reader saw them (None for NaN).
fn values(report: &Value) -> Vec<Option<f32>> {
    report["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v.as_f64().map(|f| f as f32))
        .collect()
}

/// The samples pushed in the RF test, frame `i` channel `c`, with gaps.
fn rf_value(i: u64, c: usize) -> Option<f32> {
    if (1200..1450).contains(&i) || (c == 2 && (2000..2010).contains(&i)) {
        None
    } else {
        Some(-90.0 + c as f32 * 10.0 + (i % 97) as f32 * 0.25)
    }
}

fn started() -> (SystemTime, String) {
    let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_707_000_250);
    (t, benchctl_format::utc_rfc3339_millis(t))
}

#[test]
fn rf_recording_validates_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_, started_utc) = started();
    assert_eq!(started_utc, "2026-11-26T15:30:00.250Z");
    let channels = vec![
        rf_channel(Some("phone-a"), "lte-b3-ul", 1_710_000_000, 1_785_000_000),
        rf_channel(Some("phone-a"), "wifi-2g4", 2_400_000_000, 2_483_500_000),
        rf_channel(None, "lte-b3-ul", 1_710_000_000, 1_785_000_000),
    ];
    let mut rf =
        SigmfWriter::create(dir.path(), "rf", 1000.0, channels, Unit::Dbm, &started_utc).unwrap();
    let frames = 3500u64;
    let mut i = 0;
    while i < frames {
        if i == 1200 {
            rf.push_missing(250).unwrap();
            i += 250;
            continue;
        }
        let frame: Vec<f32> = (0..3).map(|c| rf_value(i, c).unwrap_or(f32::NAN)).collect();
        rf.push_frame(&frame).unwrap();
        i += 1;
    }
    // Added out of order: the writer keeps them sorted.
    rf.annotate_phase(2000, 1500, "airplane", "phone-a")
        .unwrap();
    rf.annotate_phase(0, 2000, "boot", "phone-a").unwrap();
    // Wrong shapes are refused, and name the file.
    let err = rf.push_frame(&[1.0, 2.0]).unwrap_err().to_string();
    assert!(err.contains("rf.sigmf-data"), "{err}");
    assert!(rf.push_frames(&[1.0; 4]).is_err());
    assert_eq!(rf.frames(), frames);
    let meta = rf.meta_path().to_path_buf();
    rf.finish().unwrap();

    let report = sigmf_check(&meta);
    assert_eq!(report["shape"], json!([frames, 3]));
    assert_eq!(report["sample_count"], json!(frames));
    let seen = values(&report);
    for i in 0..frames {
        for c in 0..3 {
            assert_eq!(
                seen[(i * 3) as usize + c],
                rf_value(i, c),
                "frame {i} channel {c}"
            );
        }
    }
    let labels: Vec<_> = report["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["core:sample_start"].clone(),
                a["core:label"].clone(),
                a["bench:dut"].clone(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            (json!(0), json!("phase:boot"), json!("phone-a")),
            (json!(2000), json!("phase:airplane"), json!("phone-a"))
        ]
    );
    assert_eq!(report["captures"][0]["core:datetime"], json!(started_utc));

    // The keys the run directory format asks for, as written.
    let written: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    let global = &written["global"];
    assert_eq!(global["core:datatype"], "rf32_le");
    assert_eq!(global["core:sample_rate"], 1000.0);
    assert_eq!(global["core:num_channels"], 3);
    assert_eq!(global["core:version"], "1.0.0");
    assert_eq!(
        global["core:extensions"],
        json!([{"name": "bench", "version": "1.0.0", "optional": true}])
    );
    assert_eq!(global["bench:unit"], "dBm");
    assert_eq!(global["bench:channels"][2]["dut"], Value::Null);
    assert_eq!(global["bench:channels"][0]["low_hz"], 1_710_000_000u64);
    assert_eq!(written["captures"][0]["core:sample_start"], 0);

    // And the raw bytes, read in Rust: little-endian f32, interleaved.
    let data = std::fs::read(dir.path().join("rf.sigmf-data")).unwrap();
    assert_eq!(data.len() as u64, frames * 3 * 4);
    let at = |i: u64, c: u64| {
        let o = ((i * 3 + c) * 4) as usize;
        f32::from_le_bytes(data[o..o + 4].try_into().unwrap())
    };
    assert_eq!(Some(at(5, 1)), rf_value(5, 1));
    assert!(at(1300, 0).is_nan() && at(2005, 2).is_nan() && !at(2005, 1).is_nan());
}

#[test]
fn power_recording_validates_with_t0() {
    let dir = tempfile::tempdir().unwrap();
    let (_, started_utc) = started();
    let channels = vec![
        current_channel(Some("phone-a")),
        current_channel(Some("phone-b")),
    ];
    let mut power = SigmfWriter::create(
        dir.path(),
        "power",
        50.0,
        channels,
        Unit::Ampere,
        &started_utc,
    )
    .unwrap();
    // The supply meter came up 0.4 s after the run started.
    power.set_t0(0.4).unwrap();
    let samples: Vec<f32> = (0..200)
        .flat_map(|i| [0.2 + i as f32 * 0.001, 0.003])
        .collect();
    power.push_frames(&samples).unwrap();
    power.push_missing(10).unwrap();
    power.push_frame(&[0.001, 0.002]).unwrap();
    power
        .annotate_phase(100, 111, "soft-off", "phone-b")
        .unwrap();
    let meta = power.meta_path().to_path_buf();
    power.finish().unwrap();

    let report = sigmf_check(&meta);
    assert_eq!(report["shape"], json!([211, 2]));
    let seen = values(&report);
    assert_eq!(seen[0], Some(0.2));
    assert_eq!(seen[199 * 2], Some(0.2 + 199.0 * 0.001));
    assert!(seen[200 * 2..210 * 2].iter().all(Option::is_none));
    assert_eq!(&seen[420..], [Some(0.001), Some(0.002)]);
    assert_eq!(report["captures"][0]["bench:t0"], json!(0.4));

    let written: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(written["global"]["bench:unit"], "A");
    assert_eq!(
        written["global"]["bench:channels"][1],
        json!({"dut": "phone-b", "quantity": "current"})
    );
}

/// An Ethernet/IPv4/UDP DNS query for `name` (A record), built by hand.
fn dns_query(src: [u8; 4], dst: [u8; 4], id: u16, name: &str) -> Vec<u8> {
    let mut dns = Vec::new();
    dns.extend_from_slice(&id.to_be_bytes());
    dns.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, 1 question
    for label in name.split('.') {
        dns.push(label.len() as u8);
        dns.extend_from_slice(label.as_bytes());
    }
    dns.extend_from_slice(&[0, 0, 1, 0, 1]); // root, type A, class IN

    let mut udp = Vec::new();
    udp.extend_from_slice(&40000u16.to_be_bytes());
    udp.extend_from_slice(&53u16.to_be_bytes());
    udp.extend_from_slice(&((8 + dns.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]); // no checksum (allowed over IPv4)
    udp.extend_from_slice(&dns);

    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + udp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]); // DF, TTL 64, UDP
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum: u32 = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    let checksum = !(((folded & 0xffff) + (folded >> 16)) as u16);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    ip.extend_from_slice(&udp);

    let mut frame = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00];
    frame.extend_from_slice(&ip);
    frame
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos()
}

#[test]
fn pcapng_reads_in_tshark() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.pcapng");
    let (t0, _) = started();
    let mut pcap = PcapngWriter::create(&path, &["phone-a", "phone-b"]).unwrap();
    let packets = [
        (
            0u32,
            0.5,
            [10, 77, 1, 2],
            [10, 77, 0, 1],
            "connectivitycheck.gstatic.com",
        ),
        (
            1,
            1.25,
            [10, 77, 2, 2],
            [8, 8, 8, 8],
            "telemetry.example.net",
        ),
        // 789 ns past a microsecond: microsecond resolution drops them.
        (
            0,
            3.000_123_456_789,
            [10, 77, 1, 2],
            [10, 77, 0, 1],
            "time.android.com",
        ),
    ];
    let mut expected = Vec::new();
    for (k, (iface, dt, src, dst, name)) in packets.iter().enumerate() {
        let at = t0 + Duration::from_secs_f64(*dt);
        let frame = dns_query(*src, *dst, k as u16, name);
        // The frame is padded in the file (length not a multiple of 4).
        pcap.packet(*iface, at, &frame, frame.len() as u32).unwrap();
        expected.push((*iface, nanos(at) / 1000 * 1000, *dst, *name));
    }
    assert!(
        pcap.packet(2, t0, &[0; 60], 60).is_err(),
        "no third interface"
    );
    assert!(
        pcap.packet(0, t0, &[0; 60], 59).is_err(),
        "original below captured"
    );
    pcap.finish().unwrap();

    let rows = tshark_fields(
        &path,
        &[
            "frame.interface_id",
            "frame.interface_name",
            "frame.time_epoch",
            "ip.dst",
            "dns.qry.name",
        ],
    );
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    for (row, (iface, at, dst, name)) in rows.iter().zip(&expected) {
        let dut = ["phone-a", "phone-b"][*iface as usize];
        assert_eq!(row[0], iface.to_string());
        assert_eq!(row[1], dut);
        assert_eq!(epoch_nanos(&row[2]), *at, "timestamp of {name}: {}", row[2]);
        assert_eq!(
            row[3],
            format!("{}.{}.{}.{}", dst[0], dst[1], dst[2], dst[3])
        );
        assert_eq!(row[4], *name);
    }
}

#[test]
fn journal_lines_match_the_spec_examples() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(dir.path()).unwrap();
    journal
        .phase(0.0, "phone-a", "boot", Expect::any())
        .unwrap();
    journal
        .action(0.01, Some("phone-a"), "power.on", true, None)
        .unwrap();
    journal
        .phase(
            20.0,
            "phone-a",
            "airplane",
            Expect::any().rf_silent().net_none(),
        )
        .unwrap();
    journal
        .phase(
            40.0,
            "phone-a",
            "online",
            Expect::any().allowlist([
                "connectivitycheck.gstatic.com",
                "time.android.com",
                "10.77.0.1",
            ]),
        )
        .unwrap();
    journal
        .phase(
            50.0,
            "phone-a",
            "soft-off",
            Expect::any().rf_silent().net_none().power_off(Some(0.005)),
        )
        .unwrap();
    journal
        .fault(41.2, "shield", "3 frames lost (seq 1200..1202)", None)
        .unwrap();
    journal
        .action(51.0, None, "net.isolate", false, Some("bridge down"))
        .unwrap();
    journal.note(52.0, "done").unwrap();
    assert!(journal.record(f64::NAN, Event::note("x")).is_err());
    journal.finish().unwrap();

    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"t":0.0,"kind":"phase","dut":"phone-a","name":"boot","expect":{}}"#,
            r#"{"t":0.01,"kind":"action","dut":"phone-a","action":"power.on","ok":true}"#,
            r#"{"t":20.0,"kind":"phase","dut":"phone-a","name":"airplane","expect":{"rf":"silent","net":"none"}}"#,
            r#"{"t":40.0,"kind":"phase","dut":"phone-a","name":"online","expect":{"net":"allowlist","allow":["connectivitycheck.gstatic.com","time.android.com","10.77.0.1"]}}"#,
            r#"{"t":50.0,"kind":"phase","dut":"phone-a","name":"soft-off","expect":{"rf":"silent","net":"none","power":"off","off_current_a":0.005}}"#,
            r#"{"t":41.2,"kind":"fault","source":"shield","detail":"3 frames lost (seq 1200..1202)"}"#,
            r#"{"t":51.0,"kind":"action","dut":null,"action":"net.isolate","ok":false,"detail":"bridge down"}"#,
            r#"{"t":52.0,"kind":"note","text":"done"}"#,
        ]
    );
}

#[test]
fn run_manifest_round_trips_and_keeps_extra_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (t0, started_utc) = started();
    let duts = vec![DutEntry {
        name: "phone-a".into(),
        model: "sim-android".into(),
        ip: vec!["10.77.1.2".into(), "fe80::1".into()],
        build: None,
        ..DutEntry::default()
    }];
    let mut manifest = RunManifest::new(
        "20261126T153000Z-backdoor-hunt",
        "sim-lab",
        "backdoor-hunt",
        t0,
        duts,
    );
    manifest.extra.insert("operator".into(), json!("ci"));
    manifest.write(dir.path()).unwrap();
    let first: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(first["format"], "benchctl-run/1");
    assert_eq!(first["complete"], false);
    assert_eq!(first["started_utc"], json!(started_utc));
    assert_eq!(first["operator"], "ci");
    assert_eq!(first["duts"][0]["ip"][1], "fe80::1");

    manifest.finish(dir.path(), 60.0, true).unwrap();
    let back = RunManifest::read(dir.path()).unwrap();
    assert_eq!(back, manifest);
    assert!(back.complete && back.duration_s == 60.0);
    // Only run.json is left: the temporary file was renamed over it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["run.json"]);

    // A manifest from a recorder that died before the end may lack keys.
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"format":"benchctl-run/1","run_id":"r","bench":"b","scenario":"s","started_utc":"2026-11-26T15:30:00.250Z","future":1}"#,
    )
    .unwrap();
    let partial = RunManifest::read(dir.path()).unwrap();
    assert!(!partial.complete);
    assert_eq!(partial.extra["future"], 1);
}

/// A recorder killed with `kill -9` right after a flush: no `finish`, no
/// destructor (`mem::forget`), and a second of data still in the buffers.
/// What reached the files must still read.
#[test]
fn crash_after_flush_leaves_readable_files() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path();
    let (t0, started_utc) = started();
    RunManifest::new("crash", "sim-lab", "crash", t0, Vec::new())
        .write(run)
        .unwrap();
    // The flush clock starts before the writers do, so the Python
    // validation below (seconds on a loaded machine) cannot make a flush
    // due before the test says so.
    let start = Instant::now();
    let mut journal = Journal::create(run).unwrap();
    let channels = vec![
        rf_channel(Some("phone-a"), "lte-b3-ul", 1_710_000_000, 1_785_000_000),
        rf_channel(None, "lte-b3-ul", 1_710_000_000, 1_785_000_000),
    ];
    let mut rf = SigmfWriter::create(run, "rf", 1000.0, channels, Unit::Dbm, &started_utc).unwrap();
    let mut pcap = PcapngWriter::create(&run.join("net.pcapng"), &["phone-a"]).unwrap();

    // The meta file is valid before the first sample. Schema check only:
    // sigmf-python cannot open a recording whose data file is still empty
    // (numpy refuses to mmap 0 bytes), a limit of that reader, not the file.
    sigmf_validate_only(rf.meta_path());

    for k in 0..3 {
        journal.note(f64::from(k), &format!("line {k}")).unwrap();
    }
    for i in 0..1500u32 {
        rf.push_frame(&[-80.0 + (i % 10) as f32, -100.0]).unwrap();
    }
    rf.push_missing(20).unwrap();
    rf.annotate_phase(0, 1000, "boot", "phone-a").unwrap();
    let frame = dns_query([10, 77, 1, 2], [10, 77, 0, 1], 1, "time.android.com");
    pcap.packet(0, t0 + Duration::from_secs(1), &frame, frame.len() as u32)
        .unwrap();

    // Not yet due: nothing is promised on disk, nothing flushed.
    assert!(!rf.maybe_flush(start).unwrap());
    let later = start + Duration::from_millis(1100);
    assert!(journal.maybe_flush(later).unwrap());
    assert!(rf.maybe_flush(later).unwrap());
    assert!(pcap.maybe_flush(later).unwrap());
    // Just flushed: not due again until another second has passed.
    assert!(!rf.maybe_flush(later + Duration::from_millis(500)).unwrap());

    // The last second, still buffered when the process dies.
    journal.note(3.5, "lost in the crash").unwrap();
    rf.push_frame(&[-1.0, -1.0]).unwrap();
    rf.annotate_phase(1000, 520, "lost", "phone-a").unwrap();
    pcap.packet(0, t0 + Duration::from_secs(3), &frame, frame.len() as u32)
        .unwrap();
    let meta = rf.meta_path().to_path_buf();
    std::mem::forget(journal);
    std::mem::forget(rf);
    std::mem::forget(pcap);

    let manifest = RunManifest::read(run).unwrap();
    assert!(
        !manifest.complete,
        "the crashed run must read as incomplete"
    );

    let text = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["text"], "line 2");

    let data_len = std::fs::metadata(run.join("rf.sigmf-data")).unwrap().len();
    assert_eq!(
        data_len,
        1520 * 2 * 4,
        "the frames pushed before the flush, whole"
    );
    let report = sigmf_check(&meta);
    assert_eq!(report["shape"], json!([1520, 2]));
    assert_eq!(report["annotations"].as_array().unwrap().len(), 1);

    let rows = tshark_fields(
        &run.join("net.pcapng"),
        &["frame.interface_name", "dns.qry.name"],
    );
    assert_eq!(rows, [["phone-a", "time.android.com"]]);
}
