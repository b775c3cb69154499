//! `timing-channel` through the whole analysis at the rates recordings
//! come at (issue 14, item 2): run directories written with the recorder's
//! own writers, judged by the `benchctl analyze` binary.
//!
//! - An honest BLE advertiser that changes interval between phases (100 ms
//!   with the screen on, 250 ms after it, 1 s in the background, with an
//!   airplane phase in between where it is off) is no timing channel, at
//!   100 S/s, 1 kS/s and 10 kS/s: two steady periods one after the other
//!   carry no data (findings.md).
//! - A burst train whose gaps carry bits on two levels (150 / 300 ms, 4 %
//!   jitter) in one phase is found at the same rates.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use benchctl_format::sigmf::rf_channel;
use benchctl_format::{DutEntry, Expect, Journal, RfExpect, RunManifest, SigmfWriter, Unit};
use benchctl_rng::SimRng;
use serde_json::Value;

use common::TestBench;
use common::judged::{analyze, dut};

/// Floor and burst levels on the DUT's BLE channel (dBm).
const FLOOR_DBM: f32 = -95.0;
const BURST_DBM: f32 = -50.0;
/// One advertising event on three channels lasts about 1.5 ms.
const BURST_S: f64 = 0.0015;

/// One phase of the recording: its name, span, RF expectation, and when
/// the DUT transmits in it.
struct Phase {
    name: &'static str,
    from: f64,
    to: f64,
    rf: RfExpect,
    bursts: Vec<f64>,
}

/// BLE advertising at `interval` over `[from, to)`: each event delayed by
/// the spec's random advDelay of 0-10 ms (Core 5.3, Vol 6, Part B, 4.4.2.2.1).
fn advertiser(rng: &mut SimRng, interval: f64, from: f64, to: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut t = from + rng.range(0.0, interval);
    while t < to {
        out.push(t);
        t += interval + rng.range(0.0, 0.010);
    }
    out
}

/// A covert sender over `[from, to)`: each gap 150 ms for a 0, 300 ms for
/// a 1, random bits, 4 % Gaussian-like jitter (sum of uniforms).
fn two_levels(rng: &mut SimRng, from: f64, to: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut t = from + 0.5;
    while t < to {
        out.push(t);
        let level = if rng.below(2) == 0 { 0.150 } else { 0.300 };
        let jitter: f64 = (0..4).map(|_| rng.range(-0.04, 0.04)).sum::<f64>() / 2.0;
        t += level * (1.0 + jitter);
    }
    out
}

/// A run directory in `dir` of one DUT, phone-a, with `phases` recorded on
/// one RF channel at `rate` samples per second. A sample reads the burst
/// level when a burst overlaps its period (a log detector's averaging keeps
/// a short burst visible), the floor with a little noise otherwise.
fn write_run(dir: &Path, rate: f64, phases: &[Phase]) -> PathBuf {
    let run = dir.to_path_buf();
    std::fs::create_dir_all(&run).expect("run dir");
    let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_707_000);
    let started_utc = benchctl_format::utc_rfc3339_millis(started);
    let duts = vec![DutEntry {
        name: "phone-a".into(),
        model: "ble-advertiser".into(),
        ..DutEntry::default()
    }];
    let mut manifest = RunManifest::new("timing-rates", "test", "timing-rates", started, duts);
    manifest.write(&run).expect("run.json");
    let mut journal = Journal::create(&run).expect("journal");
    for p in phases {
        let expect = Expect {
            rf: p.rf,
            ..Expect::default()
        };
        journal
            .phase(p.from, "phone-a", p.name, expect)
            .expect("phase");
    }
    journal.finish().expect("journal");

    let end = phases.last().map_or(0.0, |p| p.to);
    let channels = vec![rf_channel(
        Some("phone-a"),
        "ble-adv",
        2_402_000_000,
        2_480_000_000,
    )];
    let mut rf =
        SigmfWriter::create(&run, "rf", rate, channels, Unit::Dbm, &started_utc).expect("rf");
    let mut bursts: Vec<f64> = phases.iter().flat_map(|p| p.bursts.clone()).collect();
    bursts.sort_by(f64::total_cmp);
    let mut noise = SimRng::new(99);
    let period = 1.0 / rate;
    let samples = (end * rate).round() as u64;
    let mut next = 0;
    let mut frames = Vec::with_capacity(samples as usize);
    for i in 0..samples {
        let (from, to) = (i as f64 * period, (i + 1) as f64 * period);
        while next < bursts.len() && bursts[next] + BURST_S <= from {
            next += 1;
        }
        let on = bursts.get(next).is_some_and(|&b| b < to);
        let level = if on { BURST_DBM } else { FLOOR_DBM };
        frames.push(level + noise.range(-0.5, 0.5) as f32);
    }
    rf.push_frames(&frames).expect("samples");
    rf.finish().expect("rf");
    manifest.finish(&run, end, true).expect("run.json finished");
    run
}

/// phone-a's `timing-channel` findings.
fn timing_findings(doc: &Value) -> Vec<&Value> {
    dut(doc, "phone-a")["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "timing-channel")
        .collect()
}

const RATES: [f64; 3] = [100.0, 1_000.0, 10_000.0];

#[test]
fn an_advertiser_changing_interval_between_phases_is_no_timing_channel() {
    let bench = TestBench::default_bench();
    for rate in RATES {
        for seed in 0..3 {
            let mut rng = SimRng::new(seed);
            let phases = [
                Phase {
                    name: "screen-on",
                    from: 0.0,
                    to: 60.0,
                    rf: RfExpect::Any,
                    bursts: advertiser(&mut rng, 0.100, 0.0, 60.0),
                },
                Phase {
                    name: "airplane",
                    from: 60.0,
                    to: 90.0,
                    rf: RfExpect::Silent,
                    bursts: Vec::new(),
                },
                Phase {
                    name: "screen-off",
                    from: 90.0,
                    to: 190.0,
                    rf: RfExpect::Any,
                    bursts: advertiser(&mut rng, 0.250, 90.0, 190.0),
                },
                Phase {
                    name: "background",
                    from: 190.0,
                    to: 390.0,
                    rf: RfExpect::Any,
                    bursts: advertiser(&mut rng, 1.0, 190.0, 390.0),
                },
                Phase {
                    name: "screen-on-again",
                    from: 390.0,
                    to: 450.0,
                    rf: RfExpect::Any,
                    bursts: advertiser(&mut rng, 0.100, 390.0, 450.0),
                },
            ];
            let dir = bench.dir.path().join(format!("honest-{rate}-{seed}"));
            let run = write_run(&dir, rate, &phases);
            let (code, doc) = analyze(&bench, &run);
            assert_eq!(
                timing_findings(&doc).len(),
                0,
                "{rate} S/s, seed {seed}: {doc}"
            );
            assert_eq!(code, Some(0), "{rate} S/s, seed {seed}: {doc}");
        }
    }
}

#[test]
fn a_two_level_burst_channel_is_found_at_every_rate() {
    let bench = TestBench::default_bench();
    for rate in RATES {
        let mut rng = SimRng::new(7);
        let phases = [
            Phase {
                name: "quiet",
                from: 0.0,
                to: 30.0,
                rf: RfExpect::Any,
                bursts: Vec::new(),
            },
            Phase {
                name: "idle",
                from: 30.0,
                to: 150.0,
                rf: RfExpect::Any,
                bursts: two_levels(&mut rng, 30.0, 150.0),
            },
        ];
        let run = write_run(
            &bench.dir.path().join(format!("covert-{rate}")),
            rate,
            &phases,
        );
        let (code, doc) = analyze(&bench, &run);
        let found = timing_findings(&doc);
        assert_eq!(found.len(), 1, "{rate} S/s: {doc}");
        assert_ne!(found[0]["severity"], "low", "{rate} S/s: {doc}");
        assert_eq!(code, Some(1), "{rate} S/s: {doc}");
    }
}
