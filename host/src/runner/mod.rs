//! The runner: puts the DUTs through a scenario on the bench while
//! everything the sensors deliver goes into a new run directory.
//!
//! One run, in order, on either clock:
//!
//! 1. create the run directory and `run.json` (`complete: false` until the
//!    very end, so a crash leaves an honest manifest) and the journal;
//! 2. start what records: on the wall clock the shield's stream, the plant
//!    when the bench has simulated phones, and the recorder thread
//!    (`recorder`); in virtual time the simulated lab stepped by the clock
//!    itself (`virtual_time`);
//! 3. execute the scenario's operations at their times on the run clock
//!    (`plan`), journaling each with its `t` and outcome; a failed action
//!    is a fault, and the scenario's `on_fault` decides whether to go on;
//! 4. whatever happened (end, fault, Ctrl-C/SIGTERM): every DUT to its safe
//!    state, journaled; stop what records; finish the files; rewrite
//!    `run.json` with the duration, `complete` and the step timing.
//!
//! Steps 1, 3 and 4 are one code path for both clocks ([`Timebase`]): a
//! nightly suite in virtual time switches, journals and reaches the safe
//! state exactly as the live run of the same scenario does.

mod files;
pub mod journal;
pub mod plan;
pub mod progress;
pub mod recorder;
mod virtual_time;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::bench::{Bench, BenchError, PlantReport, VirtualLabError, VirtualOptions};
use crate::config::{BenchConfig, NetState};
use crate::hw::shield::RunClock;
use crate::scenario::{Action, FaultPolicy, Scenario};
use crate::shutdown::Shutdown;
use benchctl_format::journal::{Event, Journal};
use benchctl_format::{DutEntry, RecordError, RunManifest};
use files::FilesSetup;
use journal::{RunJournal, RunTime};
use plan::{Act, Jitter, Op, What};
use progress::{Counts, Progress};
use recorder::{Recorder, RecorderReport};
use virtual_time::VirtualClock;

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
    #[error(transparent)]
    VirtualLab(#[from] VirtualLabError),
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
    /// Run-clock seconds the run lasted (`run.json`'s `duration_s`).
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
    pub scenario_file: Option<&'a Path>,
    /// Where the run directory goes.
    pub destination: Destination<'a>,
    /// Draw a live progress bar when stderr is a terminal.
    pub live: bool,
    pub quiet: bool,
}

/// Where a run's directory goes.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'a> {
    /// A new directory `<UTC start>-<scenario>` in this folder.
    NewIn(&'a Path),
    /// This directory (created if missing; files in it are replaced); the
    /// run id is its name.
    Exactly(&'a Path),
}

/// How long after the shield stream starts the run clock reads 0.
const START_LEAD: Duration = Duration::from_millis(100);

/// How the run's time passes: the one thing the execution loop asks of
/// the wall clock or the virtual one.
trait Timebase {
    /// Run-clock time now.
    fn now(&self) -> Duration;
    /// How late an operation due at `at` starts if it starts now, seconds.
    fn late_by(&self, at: Duration) -> f64;
    /// Let the run go on until `at`: sleep on the wall clock (refreshing the
    /// display), or step the simulated lab in virtual time. `Err` ends the
    /// run: a stop signal, or a recording that broke.
    async fn until(
        &mut self,
        at: Duration,
        stop: &mut Shutdown,
        progress: &mut Progress,
    ) -> Result<(), Ending>;
}

/// Carry out `request` on `bench` on the wall clock, recording into a new
/// run directory.
pub async fn run(
    bench: &mut Bench,
    request: RunRequest<'_>,
    shutdown: &Shutdown,
) -> Result<RunOutcome, RunError> {
    let scenario = request.scenario;
    let duts = scenario_duts(scenario);
    let started_utc = SystemTime::now();
    let (dir, run_id) = request.destination.create(started_utc, &scenario.name)?;
    // Should this process die, whoever takes the bench over says so here.
    bench.note_run_dir(&dir);

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
    let mut manifest = start_manifest(bench, &request, &run_id, started_utc, &dir)?;
    let journal = Arc::new(RunJournal::new(
        Journal::create(&dir)?,
        RunTime::Wall(clock),
    ));
    let tapped = tapped_duts(bench.config(), &duts);
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
        &FilesSetup {
            channels: shield.as_ref().map_or(&[], |s| &s.config.channels),
            sample_rate_hz: shield.as_ref().map_or(1, |s| s.config.sample_rate_hz),
            tapped_duts: &tapped,
            started_utc,
        },
        clock,
        stream,
        tap_rx,
        journal.clone(),
    )?;
    let names: Vec<&str> = duts.iter().map(String::as_str).collect();
    let room_seed = benchctl_rng::mix(
        run_id
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))),
    );
    let plant = bench
        .start_plant(&names, shield.as_ref(), clock, tap_tx, room_seed)
        .map_err(BenchError::from)?;

    let (ops, end) = plan::plan(scenario);
    let mut progress = Progress::new(end, request.live, request.quiet);
    let mut wall = WallClock {
        clock,
        recorder: &recorder,
        journal: &journal,
    };
    let (ending, late) = execute(
        bench,
        &ops,
        end,
        scenario.on_fault,
        scenario.device_timeout,
        &mut wall,
        &journal,
        &mut progress,
        shutdown,
    )
    .await;
    to_safe_state(bench, &duts, &journal, &progress)?;
    // A run stopped before its clock's origin lasted no time at all.
    let duration_s = clock.seconds(Instant::now()).max(0.0);
    // Let the plant see the safe state and the last packets reach the tap.
    let plant_report = plant.map(|p| {
        std::thread::sleep(Duration::from_millis(30));
        p.stop()
    });
    let report = match recorder.finish() {
        Ok(r) => r,
        Err(e) => {
            journal.record(Event::fault("recorder", e.to_string(), None))?;
            journal.finish()?;
            return Err(e.into());
        }
    };
    drop(shield);
    let simulation = plant_report.map(|p| serde_json::Value::Object(plant_summary(&p)));
    conclude(
        Concluding {
            dir,
            run_id,
            manifest: &mut manifest,
            journal: &journal,
            ending,
            late: &late,
            how: "",
            report,
            simulation,
            duration_s,
        },
        &progress,
    )
}

/// Carry out `request` on a fully simulated `bench` in virtual time: the
/// run directory a live run would write, computed as fast as the CPU
/// allows. Relay boards and hubs of other kinds are simulated as their
/// simulated twins; the lab starts with everything off and isolated.
pub fn run_in_virtual_time(
    config: &BenchConfig,
    request: RunRequest<'_>,
    options: &VirtualOptions,
    shutdown: &Shutdown,
) -> Result<RunOutcome, RunError> {
    let mut bench = Bench::in_virtual_time(config.clone());
    let scenario = request.scenario;
    let duts = scenario_duts(scenario);
    let (dir, run_id) = request
        .destination
        .create(options.started_utc, &scenario.name)?;
    let mut manifest = start_manifest(&bench, &request, &run_id, options.started_utc, &dir)?;
    let now = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let journal = RunJournal::new(Journal::create(&dir)?, RunTime::Virtual(now.clone()));
    let names: Vec<&str> = duts.iter().map(String::as_str).collect();
    let lab = bench.virtual_lab(&names, options)?;
    let tapped = tapped_duts(config, &duts);
    let shield = config.shield.as_ref();
    let setup = FilesSetup {
        channels: shield.map_or(&[], |s| &s.channels),
        sample_rate_hz: shield.map_or(1, |s| s.sample_rate_hz),
        tapped_duts: &tapped,
        started_utc: options.started_utc,
    };
    let (ops, end) = plan::plan(scenario);
    let mut clock = VirtualClock::start(&dir, &setup, lab, end, now)?;
    let mut progress = Progress::new(end, false, true);
    let (ending, late) = block_on_ready(execute(
        &mut bench,
        &ops,
        end,
        scenario.on_fault,
        scenario.device_timeout,
        &mut clock,
        &journal,
        &mut progress,
        shutdown,
    ));
    to_safe_state(&mut bench, &duts, &journal, &progress)?;
    let duration_s = clock.now().as_secs_f64();
    let (report, plant) = match clock.finish() {
        Ok(r) => r,
        Err(e) => {
            journal.record(Event::fault("recorder", e.to_string(), None))?;
            journal.finish()?;
            return Err(e.into());
        }
    };
    let mut simulation = plant.as_ref().map(plant_summary).unwrap_or_default();
    simulation.insert("offline".into(), true.into());
    simulation.insert("seed".into(), options.seed.into());
    simulation.insert(
        "phones".into(),
        serde_json::to_value(options.phones).unwrap_or_default(),
    );
    conclude(
        Concluding {
            dir,
            run_id,
            manifest: &mut manifest,
            journal: &journal,
            ending,
            late: &late,
            how: &format!("recorded offline in virtual time (seed {}); ", options.seed),
            report,
            simulation: Some(serde_json::Value::Object(simulation)),
            duration_s,
        },
        &progress,
    )
}

/// Record `scenario` on the simulated `config` into the run directory `dir`
/// in virtual time, quietly and without a stop signal: what the evaluation,
/// the benchmarks and the fixtures need.
pub fn record_in_virtual_time(
    config: &BenchConfig,
    scenario: &Scenario,
    dir: &Path,
    options: &VirtualOptions,
) -> Result<RunOutcome, RunError> {
    let request = RunRequest {
        scenario,
        scenario_file: None,
        destination: Destination::Exactly(dir),
        live: false,
        quiet: true,
    };
    run_in_virtual_time(config, request, options, &Shutdown::never())
}

/// run.json's `simulation`: what the simulated phones and the room did.
fn plant_summary(p: &PlantReport) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    for (k, v) in [
        ("rf_bursts", p.rf_bursts),
        ("room_bursts", p.room_bursts),
        ("packets", p.packets),
        ("packets_blocked_by_allowlist", p.packets_blocked),
        ("late_ticks", p.late_ticks),
    ] {
        map.insert(k.into(), v.into());
    }
    map
}

/// The DUTs the scenario drives, in its order.
fn scenario_duts(scenario: &Scenario) -> Vec<String> {
    scenario.timelines.iter().map(|t| t.dut.clone()).collect()
}

/// The DUTs whose link the run captures: one pcapng interface each.
fn tapped_duts(config: &BenchConfig, duts: &[String]) -> Vec<String> {
    duts.iter()
        .filter(|d| config.dut(d).is_some_and(|c| c.link.is_some()))
        .cloned()
        .collect()
}

/// `run.json` as a run starts: `complete: false`.
fn start_manifest(
    bench: &Bench,
    request: &RunRequest<'_>,
    run_id: &str,
    started_utc: SystemTime,
    dir: &Path,
) -> Result<RunManifest, RecordError> {
    let scenario = request.scenario;
    let mut manifest = RunManifest::new(
        run_id,
        &bench.config().name,
        &scenario.name,
        started_utc,
        dut_entries(bench, &scenario_duts(scenario)),
    );
    if let Some(file) = request.scenario_file {
        manifest
            .extra
            .insert("scenario_file".into(), file.display().to_string().into());
    }
    manifest.extra.insert(
        "benchctl".into(),
        env!("CARGO_PKG_VERSION").to_string().into(),
    );
    manifest.write(dir)?;
    Ok(manifest)
}

/// The loop over the scenario's operations: each at its time on the run
/// clock, journaled. Returns how the run ended and how late each operation
/// started (seconds).
#[allow(clippy::too_many_arguments)]
async fn execute<T: Timebase>(
    bench: &mut Bench,
    ops: &[Op],
    end: Duration,
    on_fault: FaultPolicy,
    device_timeout: Duration,
    clock: &mut T,
    journal: &RunJournal,
    progress: &mut Progress,
    shutdown: &Shutdown,
) -> (Ending, Vec<f64>) {
    let mut stop = shutdown.clone();
    let mut late = Vec::with_capacity(ops.len());
    let mut waited: Option<(&str, Duration)> = None;
    for (k, op) in ops.iter().enumerate() {
        if let Err(ending) = clock.until(op.at, &mut stop, progress).await {
            return (ending, late);
        }
        // A phone still starting cannot take a command: the DUT's steps due
        // at the same time as a device command (the phase it opens, most
        // often) wait for the phone together, up to the scenario's
        // device_timeout, and are late by that.
        let group = (op.dut.as_str(), op.at);
        let commands_phone = ops[k..].iter().take_while(|o| o.at == op.at).any(|o| {
            o.dut == op.dut && matches!(o.what, What::Act(Act::Scenario(Action::Device { .. })))
        });
        if commands_phone && waited != Some(group) {
            waited = Some(group);
            let since = clock.now();
            match wait_until_ready(bench, &op.dut, device_timeout, clock, &mut stop, progress).await
            {
                Err(ending) => return (ending, late),
                // Ready at the first look: nothing to say.
                Ok(false) => {}
                Ok(true) => {
                    let waited_for = clock.now().saturating_sub(since);
                    // A person reading the journal sees why the step came late.
                    let _ = journal.record(Event::note(format!(
                        "{}: waited {:.2} s for the phone to finish starting",
                        op.dut,
                        waited_for.as_secs_f64()
                    )));
                }
            }
        }
        late.push(clock.late_by(op.at));
        match carry_out(bench, op, clock.now(), journal, progress) {
            Ok(()) => {}
            Err(reason) if on_fault == FaultPolicy::Abort => {
                return (Ending::Aborted { reason }, late);
            }
            Err(_) => {}
        }
    }
    match clock.until(end, &mut stop, progress).await {
        Ok(()) => (Ending::Finished, late),
        Err(ending) => (ending, late),
    }
}

/// How often a step waiting for a phone to start looks again.
const READY_POLL: Duration = Duration::from_millis(50);

/// Let the run go on until `dut`'s phone can take a command, at most
/// `timeout`. A phone that is off, or not up by then, is left to the
/// command, which then fails with the reason. True if it had to wait.
async fn wait_until_ready<T: Timebase>(
    bench: &mut Bench,
    dut: &str,
    timeout: Duration,
    clock: &mut T,
    stop: &mut Shutdown,
    progress: &mut Progress,
) -> Result<bool, Ending> {
    let since = clock.now();
    let mut waited = false;
    loop {
        match bench.device_ready(dut) {
            Ok(crate::hw::Readiness::Starting(_)) if clock.now() < since + timeout => {
                waited = true;
                clock
                    .until(clock.now() + READY_POLL, stop, progress)
                    .await?;
            }
            _ => return Ok(waited),
        }
    }
}

/// Do one operation and journal it. `Err` carries the fault's words.
fn carry_out(
    bench: &mut Bench,
    op: &Op,
    now: Duration,
    journal: &RunJournal,
    progress: &mut Progress,
) -> Result<(), String> {
    let journaled = match &op.what {
        What::Phase { name, expect } => {
            progress.phase(now, &op.dut, name);
            journal.record(Event::phase(&op.dut, name, expect.clone()))
        }
        What::Mark(text) => journal.record(Event::note(format!("{}: {text}", op.dut))),
        What::Act(act) => {
            let done = act_on(bench, &op.dut, act);
            let detail = match (&done, act.detail()) {
                (Ok(()), d) => d,
                (Err(e), Some(d)) => Some(format!("{d}: {e}")),
                (Err(e), None) => Some(e.to_string()),
            };
            let line = journal.record(Event::action(
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
                progress.warn(&words);
                let _ = journal.record(Event::fault("bench", words.clone(), Some(&op.dut)));
                return Err(words);
            }
            line
        }
    };
    journaled.map(|_| ()).map_err(|e| {
        let words = format!("cannot write the journal: {e}");
        progress.warn(&words);
        words
    })
}

/// Whatever happened: DUTs to their safe state, every one of them before
/// anything is written (a journal that cannot be written, a full disk,
/// must not leave the next DUT switched on), then recorded as actions.
fn to_safe_state(
    bench: &mut Bench,
    duts: &[String],
    journal: &RunJournal,
    progress: &Progress,
) -> Result<(), RecordError> {
    let safe: Vec<_> = duts
        .iter()
        .map(|dut| (dut, bench.apply_safe_state(dut)))
        .collect();
    for (dut, failures) in safe {
        let detail = bench.safe_state_words(dut);
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
    Ok(())
}

/// What the end of a run writes, whichever clock it ran on.
struct Concluding<'a> {
    dir: PathBuf,
    run_id: String,
    manifest: &'a mut RunManifest,
    journal: &'a RunJournal,
    ending: Ending,
    late: &'a [f64],
    /// Words on how it was recorded, for the journal's last note.
    how: &'a str,
    report: RecorderReport,
    /// run.json's `simulation`, when simulated phones were recorded.
    simulation: Option<serde_json::Value>,
    duration_s: f64,
}

/// The journal's last note, run.json's summary and `complete`.
fn conclude(c: Concluding<'_>, progress: &Progress) -> Result<RunOutcome, RunError> {
    let step_timing = Jitter::of(c.late);
    let complete = c.ending == Ending::Finished && !c.report.shield_lost;
    c.journal.record(Event::note(format!(
        "run ended ({}); {}step timing: {} steps, late by p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        c.ending,
        c.how,
        step_timing.steps,
        step_timing.p50_ms,
        step_timing.p99_ms,
        step_timing.max_ms
    )))?;
    let faults = c.journal.faults();
    c.journal.finish()?;
    record_summary(c.manifest, &c.ending, &step_timing, &c.report, c.simulation);
    c.manifest.finish(&c.dir, c.duration_s, complete)?;
    progress.finish();
    Ok(RunOutcome {
        dir: c.dir,
        run_id: c.run_id,
        ending: c.ending,
        complete,
        duration_s: c.duration_s,
        faults,
        step_timing,
        frames: c.report.frames,
        frames_lost: c.report.frames_lost,
        packets: c.report.packets,
    })
}

/// The wall clock: sleeps until each operation is due, refreshing the
/// display and watching the recorder thread.
struct WallClock<'a> {
    clock: RunClock,
    recorder: &'a Recorder,
    journal: &'a RunJournal,
}

/// The last stretch before a step is slept on the thread, not the runtime's
/// timer, whose resolution is a millisecond.
const FINE_SLEEP: Duration = Duration::from_millis(2);

/// How often the loop wakes between operations to refresh the progress
/// display and look for a broken recorder.
const REFRESH: Duration = Duration::from_millis(250);

impl Timebase for WallClock<'_> {
    fn now(&self) -> Duration {
        self.clock.origin().elapsed()
    }

    fn late_by(&self, at: Duration) -> f64 {
        Instant::now()
            .duration_since(self.clock.origin() + at)
            .as_secs_f64()
    }

    async fn until(
        &mut self,
        at: Duration,
        stop: &mut Shutdown,
        progress: &mut Progress,
    ) -> Result<(), Ending> {
        let deadline = self.clock.origin() + at;
        loop {
            let stats = self.recorder.stats();
            let load =
                |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            progress.update(
                self.clock.origin().elapsed(),
                Counts {
                    frames: load(&stats.frames),
                    frames_lost: load(&stats.frames_lost),
                    packets: load(&stats.packets),
                    faults: self.journal.faults(),
                },
            );
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
}

/// Run a future whose every await is ready at once (the virtual clock never
/// waits) to its end on this thread, without a runtime.
fn block_on_ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        // Not expected; if something did wait, let it make progress.
        std::thread::yield_now();
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

impl Destination<'_> {
    /// Create the run directory; returns it and the run id.
    fn create(self, started: SystemTime, scenario: &str) -> Result<(PathBuf, String), RecordError> {
        match self {
            Destination::NewIn(out) => new_run_dir(out, started, scenario),
            Destination::Exactly(dir) => {
                std::fs::create_dir_all(dir).map_err(RecordError::io(dir))?;
                let run_id = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| scenario.to_string());
                Ok((dir.to_path_buf(), run_id))
            }
        }
    }
}

/// `<out>/<20261126T153000Z>-<scenario>`, made unique with `-2`, `-3`...
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

/// run.json's DUT list: model, address on the link, firmware build, the
/// bench side of its link.
pub fn dut_entries(bench: &Bench, duts: &[String]) -> Vec<DutEntry> {
    let config = bench.config();
    duts.iter()
        .filter_map(|name| config.dut(name))
        .map(|d| {
            let (bench_mac, bench_ip) = bench.link_bench_side(&d.name);
            DutEntry {
                name: d.name.clone(),
                model: d.model.clone(),
                ip: config
                    .dut_address(&d.name)
                    .map(|ip| vec![ip.to_string()])
                    .unwrap_or_default(),
                // Only what bench.toml knows, without asking the device: a
                // simulated phone's build; for a DUT without device control (adb
                // comes later) nothing, written as no `build` key (null to readers).
                build: match &d.device {
                    crate::config::DeviceBackend::Sim(sim) => Some(sim.build.clone()),
                    crate::config::DeviceBackend::None => None,
                },
                bench_mac: bench_mac.map(|m| m.to_string()),
                bench_ip: bench_ip.iter().map(ToString::to_string).collect(),
            }
        })
        .collect()
}

/// What run.json records about how the run went, beyond the spec's keys.
fn record_summary(
    manifest: &mut RunManifest,
    ending: &Ending,
    timing: &Jitter,
    report: &RecorderReport,
    simulation: Option<serde_json::Value>,
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
    if let Some(simulation) = simulation {
        put("simulation", simulation);
    }
}
