//! The runner: puts the DUTs through a scenario on the bench while the
//! recorder writes everything the sensors deliver into a new run directory.
//!
//! One run, in order:
//!
//! 1. create `<out>/<UTC start>-<scenario>/` and `run.json` (`complete:
//!    false` until the very end, so a crash leaves an honest manifest);
//! 2. open the shield and start its stream; start the plant when the bench
//!    has simulated phones; start the recorder;
//! 3. execute the scenario's operations at their times on the run clock
//!    (`plan`), journaling each with its `t` and outcome; a failed action
//!    is a fault, and the scenario's `on_fault` decides whether to go on;
//! 4. whatever happened (end, fault, Ctrl-C/SIGTERM): every DUT to its safe
//!    state, journaled; stop the plant and the stream; finish the files;
//!    rewrite `run.json` with the duration, `complete` and the step timing.

pub mod plan;
pub mod progress;
pub mod recorder;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::bench::shield::BenchShield;
use crate::bench::{Bench, BenchError};
use crate::config::{BenchConfig, NetState, ShieldBackend};
use crate::hw::shield::RunClock;
use benchctl_format::journal::{Event, Journal};
use crate::runner::recorder::{Recorder, RecorderReport, RecorderSetup, RunJournal};
use benchctl_format::{DutEntry, RecordError, RunManifest};
use crate::scenario::{Action, FaultPolicy, Scenario};
use crate::shutdown::Shutdown;
use crate::sim::exposure::Exposure;
use crate::sim::plant::{Plant, PlantReport, PlantSetup, dut_ip};
use plan::{Act, Jitter, Op, What};
use progress::{Counts, Progress};

/// Why a run could not be carried out at all (before or after the DUTs were
/// touched). A run that started and then stopped is a `RunOutcome`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error("shield: {0}")]
    Shield(String),
    #[error("cannot start the {what}: {source}")]
    Thread {
        what: &'static str,
        source: std::io::Error,
    },
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum Ending {
    /// Every step ran.
    Finished,
    /// A failed action with `on_fault = "abort"`, or a broken recorder.
    Aborted { reason: String },
    /// Ctrl-C, SIGTERM or SIGHUP.
    Stopped { signal: i32 },
}

impl std::fmt::Display for Ending {
    /// How the journal and the log say it: `finished`, `aborted: why`,
    /// `stopped by signal 15`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Finished => f.write_str("finished"),
            Ending::Aborted { reason } => write!(f, "aborted: {reason}"),
            Ending::Stopped { signal } => write!(f, "stopped by signal {signal}"),
        }
    }
}

/// What a run left behind.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub run_id: String,
    pub ending: Ending,
    pub complete: bool,
    pub duration_s: f64,
    pub faults: u64,
    pub step_timing: Jitter,
    pub frames: u64,
    pub frames_lost: u64,
    pub packets: u64,
}

/// What a run needs besides the bench.
#[derive(Debug)]
pub struct RunRequest<'a> {
    pub scenario: &'a Scenario,
    /// The scenario file, recorded in run.json.
    pub scenario_file: &'a Path,
    /// The folder new run directories go in.
    pub out: &'a Path,
    /// Draw a live progress bar when stderr is a terminal.
    pub live: bool,
    pub quiet: bool,
}

/// How long after the shield stream starts the run clock reads 0.
const START_LEAD: Duration = Duration::from_millis(100);

/// The last stretch before a step is slept on the thread, not the runtime's
/// timer, whose resolution is a millisecond.
const FINE_SLEEP: Duration = Duration::from_millis(2);

/// How often the loop wakes between operations to refresh the progress
/// display and look for a broken recorder.
const REFRESH: Duration = Duration::from_millis(250);

/// Carry out `request` on `bench`, recording into a new run directory.
pub async fn run(
    bench: &mut Bench,
    request: RunRequest<'_>,
    shutdown: &Shutdown,
) -> Result<RunOutcome, RunError> {
    let scenario = request.scenario;
    let duts: Vec<String> = scenario.timelines.iter().map(|t| t.dut.clone()).collect();
    let started_utc = SystemTime::now();
    let (dir, run_id) = new_run_dir(request.out, started_utc, &scenario.name)?;

    // The shield first: its stream must run before t = 0 matters.
    let shield = match &bench.config().shield {
        Some(_) => Some(
            bench
                .open_shield()
                .map_err(|e| RunError::Shield(e.to_string()))?,
        ),
        None => None,
    };

    // t = 0 a moment from now: the files and threads below start before
    // it, so the first step is not late by their start-up time.
    let clock = RunClock::new(Instant::now() + START_LEAD);
    let mut manifest = RunManifest::new(
        &run_id,
        &bench.config().name,
        &scenario.name,
        started_utc,
        dut_entries(bench.config(), &duts),
    );
    manifest.extra.insert(
        "scenario_file".into(),
        request.scenario_file.display().to_string().into(),
    );
    manifest.extra.insert(
        "benchctl".into(),
        env!("CARGO_PKG_VERSION").to_string().into(),
    );
    manifest.write(&dir)?;

    let journal = Arc::new(RunJournal::new(Journal::create(&dir)?, clock));
    let tapped: Vec<String> = duts
        .iter()
        .filter(|d| bench.config().dut(d).is_some_and(|c| c.link.is_some()))
        .cloned()
        .collect();
    let (tap_tx, tap_rx) = std::sync::mpsc::channel();
    let stream = match &shield {
        Some(s) => Some(
            s.link
                .start(&s.wire_config())
                .map_err(|e| RunError::Shield(e.to_string()))?,
        ),
        None => None,
    };
    let recorder = Recorder::start(
        &dir,
        RecorderSetup {
            channels: shield
                .as_ref()
                .map(|s| s.config.channels.clone())
                .unwrap_or_default(),
            sample_rate_hz: shield.as_ref().map_or(1, |s| s.config.sample_rate_hz),
            tapped_duts: tapped,
            started_utc,
        },
        stream,
        tap_rx,
        journal.clone(),
    )?;
    let plant = start_plant(bench, &duts, shield.as_ref(), clock, tap_tx, &run_id)?;

    let (ops, end) = plan::plan(scenario);
    let mut progress = Progress::new(end, request.live, request.quiet);
    let mut state = Execution {
        journal: &journal,
        clock,
        progress: &mut progress,
        recorder: &recorder,
        late: Vec::new(),
    };
    let ending = state
        .execute(bench, &ops, end, scenario.on_fault, shutdown)
        .await;
    let late = std::mem::take(&mut state.late);

    // Whatever happened: DUTs to their safe state, every one of them before
    // anything is written (a journal that cannot be written, a full disk,
    // must not leave the next DUT switched on), then recorded as actions.
    let safe: Vec<_> = duts
        .iter()
        .map(|dut| (dut, bench.apply_safe_state(dut)))
        .collect();
    for (dut, failures) in safe {
        let detail = safe_state_words(bench.config(), dut);
        journal.record(Event::action(
            Some(dut),
            "safe-state",
            failures.is_empty(),
            Some(&detail),
        ))?;
        for e in failures {
            progress.warn(&format!("{dut}: could not reach the safe state: {e}"));
            journal.record(Event::fault("bench", e.to_string(), Some(dut)))?;
        }
    }
    // A run stopped before its clock's origin lasted no time at all.
    let duration_s = clock.seconds(Instant::now()).max(0.0);
    // Let the plant see the safe state and the last packets reach the tap.
    let plant_report = plant.map(|p| {
        std::thread::sleep(Duration::from_millis(30));
        p.stop()
    });
    let recorded = recorder.finish();
    let report = match recorded {
        Ok(r) => r,
        Err(e) => {
            journal.record(Event::fault("recorder", e.to_string(), None))?;
            journal.finish()?;
            return Err(e.into());
        }
    };
    drop(shield);
    let step_timing = Jitter::of(&late);
    let complete = ending == Ending::Finished && !report.shield_lost;
    journal.record(Event::note(format!(
        "run ended ({ending}); step timing: {} steps, late by p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        step_timing.steps,
        step_timing.p50_ms,
        step_timing.p99_ms,
        step_timing.max_ms
    )))?;
    let faults = journal.faults();
    journal.finish()?;
    record_summary(
        &mut manifest,
        &ending,
        &step_timing,
        &report,
        plant_report.as_ref(),
    );
    manifest.finish(&dir, duration_s, complete)?;
    progress.finish();
    Ok(RunOutcome {
        dir,
        run_id,
        ending,
        complete,
        duration_s,
        faults,
        step_timing,
        frames: report.frames,
        frames_lost: report.frames_lost,
        packets: report.packets,
    })
}

/// The loop over the scenario's operations.
struct Execution<'a> {
    journal: &'a RunJournal,
    clock: RunClock,
    progress: &'a mut Progress,
    recorder: &'a Recorder,
    /// How late each operation started, seconds.
    late: Vec<f64>,
}

impl Execution<'_> {
    async fn execute(
        &mut self,
        bench: &mut Bench,
        ops: &[Op],
        end: Duration,
        on_fault: FaultPolicy,
        shutdown: &Shutdown,
    ) -> Ending {
        let mut stop = shutdown.clone();
        let origin = self.clock.origin();
        for op in ops {
            if let Err(ending) = self.wait_until(origin + op.at, &mut stop).await {
                return ending;
            }
            let started = Instant::now();
            self.late
                .push(started.duration_since(origin + op.at).as_secs_f64());
            match self.op(bench, op) {
                Ok(()) => {}
                Err(reason) if on_fault == FaultPolicy::Abort => {
                    return Ending::Aborted { reason };
                }
                Err(_) => {}
            }
        }
        match self.wait_until(origin + end, &mut stop).await {
            Ok(()) => Ending::Finished,
            Err(ending) => ending,
        }
    }

    /// Sleep until `deadline`, refreshing the display; stop early on a
    /// signal or a recorder that gave up.
    async fn wait_until(&mut self, deadline: Instant, stop: &mut Shutdown) -> Result<(), Ending> {
        loop {
            self.refresh();
            if self.recorder.failed() {
                return Err(Ending::Aborted {
                    reason: "the recorder stopped (see the error below)".into(),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            if deadline - now <= FINE_SLEEP {
                // Blocks the runtime for at most FINE_SLEEP; a signal that
                // comes meanwhile is seen at the next wait.
                std::thread::sleep(deadline - now);
                return Ok(());
            }
            let wake = deadline.min(now + REFRESH).min(deadline - FINE_SLEEP);
            tokio::select! {
                _ = tokio::time::sleep_until(wake.into()) => {}
                signal = stop.requested() => return Err(Ending::Stopped { signal }),
            }
        }
    }

    fn refresh(&mut self) {
        let stats = self.recorder.stats();
        let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        self.progress.update(
            self.clock.origin().elapsed(),
            Counts {
                frames: load(&stats.frames),
                frames_lost: load(&stats.frames_lost),
                packets: load(&stats.packets),
                faults: self.journal.faults(),
            },
        );
    }

    /// Do one operation and journal it. `Err` carries the fault's words.
    fn op(&mut self, bench: &mut Bench, op: &Op) -> Result<(), String> {
        let journaled = match &op.what {
            What::Phase { name, expect } => {
                let t = self.clock.origin().elapsed();
                self.progress.phase(t, &op.dut, name);
                self.journal
                    .record(Event::phase(&op.dut, name, expect.clone()))
            }
            What::Mark(text) => self
                .journal
                .record(Event::note(format!("{}: {text}", op.dut))),
            What::Act(act) => {
                let done = act_on(bench, &op.dut, act);
                let detail = match (&done, act.detail()) {
                    (Ok(()), d) => d,
                    (Err(e), Some(d)) => Some(format!("{d}: {e}")),
                    (Err(e), None) => Some(e.to_string()),
                };
                let line = self.journal.record(Event::action(
                    Some(&op.dut),
                    act.name(),
                    done.is_ok(),
                    detail.as_deref(),
                ));
                if let Err(e) = done {
                    let words = format!(
                        "{} {} (scenario line {}) failed: {e}",
                        op.dut,
                        act.name(),
                        op.line
                    );
                    self.progress.warn(&words);
                    let _ =
                        self.journal
                            .record(Event::fault("bench", words.clone(), Some(&op.dut)));
                    return Err(words);
                }
                line
            }
        };
        journaled.map(|_| ()).map_err(|e| {
            let words = format!("cannot write the journal: {e}");
            self.progress.warn(&words);
            words
        })
    }
}

/// Switch the bench as `act` says.
fn act_on(bench: &mut Bench, dut: &str, act: &Act) -> Result<(), BenchError> {
    match act {
        Act::CycleOff { .. } => bench.set_power(dut, false),
        Act::CycleOn => bench.set_power(dut, true),
        Act::Scenario(action) => match action {
            Action::PowerOn => bench.set_power(dut, true),
            Action::PowerOff => bench.set_power(dut, false),
            // Expanded into CycleOff/CycleOn by the plan.
            Action::PowerCycle { .. } => bench.set_power(dut, false),
            Action::UsbOn => bench.set_usb(dut, true),
            Action::UsbOff => bench.set_usb(dut, false),
            Action::NetIsolate => bench.set_net(dut, NetState::Isolated),
            Action::NetOpen => bench.set_net(dut, NetState::Open),
            Action::NetAllowlist { allow } => bench.set_net_allowlist(dut, allow),
            Action::Device { command } => bench.device_command(dut, *command),
        },
    }
}

/// `<out>/<20261126T153000Z>-<scenario>`, made unique with `-2`, `-3`...
/// (also the virtual-time suite's run directories).
pub fn new_run_dir(
    out: &Path,
    started: SystemTime,
    scenario: &str,
) -> Result<(PathBuf, String), RecordError> {
    std::fs::create_dir_all(out).map_err(RecordError::io(out))?;
    let stamp = benchctl_format::utc_rfc3339_millis(started);
    // 2026-11-26T15:30:00.123Z -> 20261126T153000Z
    let compact: String = stamp
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let base = format!("{compact}Z-{scenario}");
    for n in 1.. {
        let id = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let dir = out.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((dir, id)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(RecordError::io(&dir)(e)),
        }
    }
    unreachable!("the loop returns")
}

/// run.json's DUT list: model, address on the link, firmware build (the
/// offline recorder writes the same).
pub fn dut_entries(config: &BenchConfig, duts: &[String]) -> Vec<DutEntry> {
    duts.iter()
        .filter_map(|name| config.dut(name))
        .map(|d| DutEntry {
            name: d.name.clone(),
            model: d.model.clone(),
            ip: dut_ip(config, &d.name)
                .map(|ip| vec![ip.to_string()])
                .unwrap_or_default(),
            // Only what bench.toml knows, without asking the device: a
            // simulated phone's build; for a DUT without device control (adb
            // comes later) nothing, written as no `build` key (null to readers).
            build: match &d.device {
                crate::config::DeviceBackend::Sim(sim) => Some(sim.build.clone()),
                crate::config::DeviceBackend::None => None,
            },
        })
        .collect()
}

/// The safe state in words, for the journal.
pub fn safe_state_words(config: &BenchConfig, dut: &str) -> String {
    match config.dut(dut) {
        Some(d) => {
            let on_off = |on: bool| if on { "on" } else { "off" };
            format!(
                "power {}, usb {}, net {}",
                on_off(d.safe.power),
                on_off(d.safe.usb),
                d.safe.net
            )
        }
        None => String::new(),
    }
}

/// The plant, when the bench has simulated phones among the run's DUTs.
fn start_plant(
    bench: &Bench,
    duts: &[String],
    shield: Option<&BenchShield>,
    clock: RunClock,
    tap: std::sync::mpsc::Sender<crate::hw::TappedPacket>,
    run_id: &str,
) -> Result<Option<Plant>, RunError> {
    let names: Vec<&str> = duts.iter().map(String::as_str).collect();
    let seed = benchctl_rng::mix(
        run_id
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))),
    );
    let setup = PlantSetup::for_bench(bench.config(), &names, seed);
    if setup.phones.is_empty() {
        return Ok(None);
    }
    // A real shield hears real phones only; the simulated phones then
    // still talk on their links.
    let sim = shield
        .filter(|s| matches!(s.config.backend, ShieldBackend::Sim))
        .and_then(|s| s.sim());
    let (exposure, boot) = match sim {
        Some(s) => (s.exposure().clone(), s.boot()),
        None => (Exposure::new(), Instant::now()),
    };
    Plant::start(setup, bench.sim_lab(), exposure, boot, clock, tap)
        .map(Some)
        .map_err(|source| RunError::Thread {
            what: "simulated lab",
            source,
        })
}

/// What run.json records about how the run went, beyond the spec's keys.
fn record_summary(
    manifest: &mut RunManifest,
    ending: &Ending,
    timing: &Jitter,
    report: &RecorderReport,
    plant: Option<&PlantReport>,
) {
    let mut put = |k: &str, v: serde_json::Value| {
        manifest.extra.insert(k.to_string(), v);
    };
    put("ending", serde_json::to_value(ending).unwrap_or_default());
    put(
        "step_timing",
        serde_json::to_value(timing).unwrap_or_default(),
    );
    put(
        "recording",
        serde_json::json!({
            "frames": report.frames,
            "frames_lost": report.frames_lost,
            "packets": report.packets,
            "shield_lost": report.shield_lost,
            "rf_t0_s": report.t0,
            "shield_clock_drift_ppm": report.clock_drift_ppm,
        }),
    );
    if let Some(p) = plant {
        put(
            "simulation",
            serde_json::json!({
                "rf_bursts": p.rf_bursts,
                "room_bursts": p.room_bursts,
                "packets": p.packets,
                "packets_blocked_by_allowlist": p.packets_blocked,
                "late_ticks": p.late_ticks,
            }),
        );
    }
}
