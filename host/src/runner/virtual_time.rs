//! The virtual clock: time passes only when the runner asks it to, and
//! passing it steps the simulated lab, whose sensors write straight into the
//! run's files. No thread, no pty, no waiting: a 2 h 49 min nightly suite
//! records in seconds.
//!
//! The lab runs in ticks of 10 ms of virtual time (the plant thread's tick
//! on the wall clock). Waiting until `at` runs every tick that starts before
//! `at`, so an operation due at `at` is carried out before the phones'
//! next look at the lab, as on a live bench. Nothing is late but a step
//! that waits for a phone to start.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use benchctl_format::RecordError;

use super::files::{FilesSetup, RunFiles};
use super::progress::Progress;
use super::recorder::RecorderReport;
use super::{Ending, Timebase};
use crate::bench::{PlantReport, VIRTUAL_TICK_US as TICK_US, VirtualLab};
use crate::shutdown::Shutdown;

#[derive(Debug)]
pub(super) struct VirtualClock {
    lab: VirtualLab,
    files: RunFiles,
    /// Where the run is, µs since t = 0; shared with the journal's clock.
    now_us: Arc<AtomicU64>,
    /// The next tick of the lab, µs.
    next_tick_us: u64,
    /// The scenario's end: the lab is never run past it.
    end_us: u64,
    /// A write that failed: the run is aborted and `finish` returns it.
    failed: Option<RecordError>,
}

impl VirtualClock {
    /// Create the run's data files in `dir` and put the clock at t = 0.
    pub(super) fn start(
        dir: &Path,
        setup: &FilesSetup<'_>,
        lab: VirtualLab,
        end: Duration,
        now_us: Arc<AtomicU64>,
    ) -> Result<Self, RecordError> {
        let mut files = RunFiles::create(dir, setup)?;
        // Sample 0 is at t = 0: said outright, as the live recorder says
        // where its stream started.
        files.set_t0(0.0)?;
        now_us.store(0, Ordering::Relaxed);
        Ok(VirtualClock {
            lab,
            files,
            now_us,
            next_tick_us: 0,
            end_us: micros(end),
            failed: None,
        })
    }

    /// Hand the files to the kernel; what was recorded and what the
    /// simulated phones did.
    pub(super) fn finish(self) -> Result<(RecorderReport, Option<PlantReport>), RecordError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let report = RecorderReport {
            frames: self.files.frames,
            frames_lost: 0,
            packets: self.files.packets,
            shield_lost: false,
            t0: Some(0.0),
            clock_drift_ppm: Some(0.0),
        };
        let plant = self.lab.report().cloned();
        self.files.flush()?;
        Ok((report, plant))
    }
}

impl Timebase for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_micros(self.now_us.load(Ordering::Relaxed))
    }

    /// Only a step that waited (for a phone to start) is late.
    fn late_by(&self, at: Duration) -> f64 {
        self.now().saturating_sub(at).as_secs_f64()
    }

    async fn until(
        &mut self,
        at: Duration,
        stop: &mut Shutdown,
        _progress: &mut Progress,
    ) -> Result<(), Ending> {
        if let Some(signal) = stop.signal() {
            return Err(Ending::Stopped { signal });
        }
        let at_us = micros(at);
        while self.next_tick_us < at_us.min(self.end_us) {
            let t_us = self.next_tick_us;
            let until_us = (t_us + TICK_US).min(self.end_us);
            if let Err(e) = self.lab.tick(t_us, until_us, &mut self.files) {
                let reason = format!("the recording failed: {e}");
                self.failed = Some(e);
                return Err(Ending::Aborted { reason });
            }
            self.next_tick_us += TICK_US;
        }
        // Never back: a step due earlier than a wait has already reached
        // (it waited with the phone) happens now.
        let now_us = self.now_us.load(Ordering::Relaxed).max(at_us);
        self.now_us.store(now_us, Ordering::Relaxed);
        self.lab.set_now(now_us);
        Ok(())
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::bench::VirtualOptions;
    use crate::config::BenchConfig;
    use crate::scenario::Scenario;
    use benchctl_format::read::{ChannelKind, RunDir, RunEvent};

    use crate::runner::record_in_virtual_time as record;

    fn repo_file(name: &str) -> (PathBuf, String) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
        let text = std::fs::read_to_string(&path).expect("repo file");
        (path, text)
    }

    fn default_bench() -> BenchConfig {
        let (path, text) = repo_file("bench.toml");
        crate::config::parse(&path, &text).expect("default bench")
    }

    fn scenario(bench: &BenchConfig, text: &str) -> Scenario {
        crate::scenario::parse(Path::new("t.toml"), text, bench).expect("scenario")
    }

    /// Channel `channel` of a recording as (t, value) in `[from, to)`.
    fn values(
        reader: &mut benchctl_format::read::SigmfReader,
        channel: usize,
        from: f64,
        to: f64,
    ) -> Vec<(f64, f64)> {
        reader
            .channel_values(channel, from, to)
            .expect("channel")
            .map(|s| s.map(|s| (s.t, s.value)).expect("sample"))
            .collect()
    }

    fn rf_channel(reader: &benchctl_format::read::SigmfReader, dut: Option<&str>) -> usize {
        reader
            .channels()
            .iter()
            .position(|c| {
                c.dut.as_deref() == dut
                    && matches!(&c.kind, ChannelKind::Band { band, .. } if band.starts_with("LTE"))
            })
            .expect("an LTE channel")
    }

    #[test]
    fn backdoor_hunt_offline_follows_the_spec_and_shows_the_implant() {
        let bench = default_bench();
        let (path, text) = repo_file("scenarios/backdoor-hunt.toml");
        let s = crate::scenario::parse(&path, &text, &bench).expect("backdoor-hunt");
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("20261126T153000Z-backdoor-hunt");
        let report = record(&bench, &s, &dir, &VirtualOptions::new(1)).expect("record");
        assert!(report.complete);
        assert_eq!(report.frames, 55_000, "one frame per ms of the run");
        assert!((report.duration_s - 55.0).abs() < 1e-9);

        let run = RunDir::open(&dir).expect("the reader takes the run");
        assert!(run.complete());
        assert_eq!(run.run_id(), "20261126T153000Z-backdoor-hunt");
        assert_eq!(run.duration_s(), Some(55.0));
        assert_eq!(run.duts().len(), 2);
        let b = run.dut("phone-b").expect("phone-b");
        assert_eq!(b.ip, ["10.77.2.2"]);
        // The bench side of its link, so readers need not guess it.
        assert_eq!(b.bench_mac.as_deref(), Some("02:00:00:4d:02:01"));
        assert_eq!(b.bench_ip, ["10.77.2.1"]);
        let events = run.events();
        assert!(!events.out_of_order() && !events.truncated());
        assert_eq!(events.faults().count(), 0);
        for dut in ["phone-a", "phone-b"] {
            let names: Vec<&str> = run
                .phase_intervals(dut)
                .expect("phases")
                .iter()
                .map(|p| p.phase.name.as_str())
                .collect();
            assert_eq!(
                names,
                ["boot", "online", "airplane", "isolated", "soft-off"]
            );
            let safe = events.all().iter().find(|e| {
                matches!(&e.event, RunEvent::Action(a) if a.action == "safe-state" && a.dut.as_deref() == Some(dut) && a.ok)
            });
            assert!(safe.is_some_and(|e| e.t == 55.0), "{dut} safe at the end");
        }
        assert!(events.all().iter().all(|e| match &e.event {
            RunEvent::Action(a) => a.ok,
            _ => true,
        }));
        let phase = |dut: &str, name: &str| {
            let p = run.phase_intervals(dut).expect("phases");
            let p = p.iter().find(|p| p.phase.name == name).expect("phase");
            (p.start, p.end)
        };

        // RF: phone-b's airplane-mode bursts in its LTE channel, nothing in
        // phone-a's beyond what the room (heard on the ambient antenna) put
        // there.
        let mut rf = run.rf().expect("rf").expect("rf present");
        assert_eq!(rf.frames(), 55_000);
        assert_eq!(rf.t0(), 0.0);
        assert_eq!(rf.meta().captures[0].t0, Some(0.0), "bench:t0 written");
        assert_eq!(rf.num_channels(), 9);
        let ambient = rf_channel(&rf, None);
        let (from, to) = phase("phone-b", "airplane");
        let room: Vec<f64> = values(&mut rf, ambient, from, to)
            .into_iter()
            .filter(|(_, v)| *v > -80.0)
            .map(|(t, _)| t)
            .collect();
        let mut heard = |dut: &str| -> Vec<f64> {
            let ch = rf_channel(&rf, Some(dut));
            values(&mut rf, ch, from + 0.1, to)
                .into_iter()
                .filter(|(t, v)| *v > -80.0 && !room.iter().any(|r| (r - t).abs() < 0.05))
                .map(|(_, v)| v)
                .collect()
        };
        let b = heard("phone-b");
        assert!(
            b.len() >= 3 && b.iter().any(|v| *v > -45.0),
            "phone-b's airplane-mode bursts: {b:?}"
        );
        let a = heard("phone-a");
        assert!(a.is_empty(), "phone-a in airplane mode: {a:?}");
        // Every value is a reading; the floor sits at -95 ± 1.5 dB.
        let all = values(&mut rf, ambient, 0.0, 55.0);
        assert!(all.iter().all(|(_, v)| v.is_finite() && *v >= -96.5));

        // Current: soft-off under 5 mA, online hundreds of mA.
        let mut power = run.power().expect("power").expect("power present");
        assert_eq!(power.frames(), 55_000);
        for (i, dut) in ["phone-a", "phone-b"].into_iter().enumerate() {
            let (from, to) = phase(dut, "soft-off");
            let off = values(&mut power, i, from + 0.5, to);
            assert!(off.iter().all(|(_, a)| *a < 0.005), "{dut} soft-off");
            let (from, to) = phase(dut, "online");
            let on = values(&mut power, i, from + 0.5, to);
            let mean = on.iter().map(|(_, a)| a).sum::<f64>() / on.len() as f64;
            assert!((0.1..1.0).contains(&mean), "{dut} online mean {mean} A");
        }

        // Packets on both links, none from an honest phone while isolated.
        let mut net = run.net().expect("net").expect("net present");
        let names: Vec<String> = net
            .interfaces()
            .iter()
            .map(|i| i.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["phone-a", "phone-b"]);
        let mut per_interface = [0u64; 2];
        let mut last = f64::NEG_INFINITY;
        while let Some(p) = net.next_packet().expect("packet") {
            let t = run.t_of(p.time.expect("timed"));
            assert!(t >= last && (0.0..55.0).contains(&t), "packet at {t}");
            last = t;
            per_interface[p.interface] += 1;
            let dut = &names[p.interface];
            let (from, to) = phase(dut, "isolated");
            assert!(
                !(t > from + 0.05 && t < to),
                "{dut} talked while isolated at {t}"
            );
        }
        assert!(per_interface.iter().all(|n| *n > 10), "{per_interface:?}");
        assert_eq!(per_interface.iter().sum::<u64>(), report.packets);
    }

    fn data_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        [
            "rf.sigmf-data",
            "power.sigmf-data",
            "net.pcapng",
            "events.jsonl",
        ]
        .into_iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).expect(f)))
        .collect()
    }

    #[test]
    fn the_same_seed_writes_the_same_files_another_seed_other_noise() {
        let bench = default_bench();
        let (path, text) = repo_file("scenarios/backdoor-hunt.toml");
        let s = crate::scenario::parse(&path, &text, &bench).expect("backdoor-hunt");
        let tmp = tempfile::tempdir().expect("tempdir");
        let run = |name: &str, seed: u64| {
            let dir = tmp.path().join(name);
            record(&bench, &s, &dir, &VirtualOptions::new(seed)).expect("record");
            data_files(&dir)
        };
        let first = run("a", 7);
        let again = run("b", 7);
        for ((name, x), (_, y)) in first.iter().zip(&again) {
            assert!(x == y, "{name} differs between two runs with seed 7");
        }
        let other = run("c", 8);
        assert_ne!(
            first[0].1, other[0].1,
            "another seed, another room and noise"
        );
        // The phones' own seeds are the bench's: their packets do not change.
        assert_eq!(first[2].1, other[2].1);
    }

    #[test]
    fn a_failed_action_aborts_as_the_runner_does() {
        let (path, text) = repo_file("bench.toml");
        let text = text.replace(
            "kind = \"sim\"\nchannels = 4",
            "kind = \"sim\"\nchannels = 4\nfail_after = 1",
        );
        let bench = crate::config::parse(&path, &text).expect("bench with a bad relay");
        let s = scenario(
            &bench,
            r#"
[scenario]
name = "cycle"
duts = ["phone-a"]
on_fault = "abort"
steps = [{ do = "power.on" }, { wait = "2s" }, { do = "power.cycle", off_time = "1s" }, { wait = "5s" }]
"#,
        );
        let tmp = tempfile::tempdir().expect("tempdir");
        let report = record(&bench, &s, tmp.path(), &VirtualOptions::new(1)).expect("record");
        assert!(!report.complete);
        assert!(
            (report.duration_s - 3.0).abs() < 1e-9,
            "{}",
            report.duration_s
        );
        let run = RunDir::open(tmp.path()).expect("read");
        assert!(!run.complete());
        let faults: Vec<_> = run.events().faults().collect();
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(faults[0].1.detail.contains("did not close"), "{faults:?}");
        assert_eq!(faults[0].0, 3.0);
        assert_eq!(run.manifest().extra["ending"]["how"], "aborted");
    }
}
