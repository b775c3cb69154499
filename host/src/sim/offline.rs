//! A scenario run in virtual time: the run directory `benchctl run` would
//! write on a simulated bench, computed as fast as the CPU allows.
//!
//! Why: a real run takes its scenario's time on the wall clock (the demo,
//! 54 s), and an evaluation of the detectors needs thousands of labelled
//! recordings. Nothing in a simulated run needs the wall clock except the
//! plumbing between the threads (pty, link, tap), so this module drives the
//! same models without it:
//!
//! - the scenario's operations (`runner::plan`) happen at their nominal
//!   times against an in-memory [`LabState`], switched as the simulated
//!   backends switch the lab file (see `Lab`);
//! - the plant's [`World`] runs the phone models from that lab state every
//!   10 ms of virtual time, as the plant thread does on the wall clock, and
//!   publishes what they emit into an [`Exposure`];
//! - one frame per sample period is measured from that exposure by the
//!   simulated shield's own [`DetectorModel`] (floor, peak hold, noise), so
//!   an offline recording and one made through the pty cannot drift apart;
//! - everything goes through the recorder's writers (`record`), split into
//!   the same files the real recorder writes.
//!
//! What differs from a live run, on purpose: the shield's clock is the run
//! clock (sample `i` is at `t = i / rate`, `bench:t0` = 0), no step is late,
//! no frame is lost, the lab starts with everything off and isolated, and
//! a bench whose relays, hubs or shield are real hardware is simulated as if
//! they were its simulated twins. The run's seed replaces the run id as the
//! seed of the room and of the detectors' noise, so the same seed gives the
//! same data files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use shield_protocol as wire;

use super::exposure::Exposure;
use super::phone::SimPhone;
use super::plant::{PlantSetup, World};
use benchctl_rng::mix;
use super::shield::DetectorModel;
use super::{LabState, PhoneSettings};
use crate::bench::BenchError;
use crate::bench::shield::{lab_value, wire_config};
use crate::config::{BenchConfig, NetState, RelayBackend, ShieldConfig, ShieldQuantity};
use crate::hw::shield::RunClock;
use crate::hw::{DeviceCommand, HwError, TappedPacket};
use benchctl_format::journal::{Event, Journal};
use benchctl_format::read::{Stream, run_dir::NET_FILE_NAME};
use crate::runner::recorder::{Route, split_channels, write_tapped};
use benchctl_format::sigmf::{SigmfWriter, Unit};
use benchctl_format::{PcapngWriter, RecordError, RunManifest};
use crate::runner::Ending;
use crate::runner::plan::{self, Act, Jitter, Op, What};
use crate::scenario::{Action, FaultPolicy, Scenario};

/// How often the plant runs the phones: the plant thread's tick.
const TICK_US: u64 = 10_000;

/// What a run needs besides the bench and the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineOptions {
    /// Seeds the room's interference and the detectors' noise (what the run
    /// id seeds in a live run). The phones' own seeds are in the bench.
    pub seed: u64,
    /// `t = 0`: `run.json`'s `started_utc`, the packets' UTC timestamps.
    pub started_utc: SystemTime,
    /// How every simulated phone's network behaves beyond bench.toml.
    pub phones: PhoneTuning,
}

impl OfflineOptions {
    /// A run with this seed starting at a fixed instant
    /// (2026-11-26T15:30:00Z), so that the same seed writes the same files,
    /// timestamps included.
    pub fn new(seed: u64) -> Self {
        OfflineOptions {
            seed,
            started_utc: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_707_000),
            phones: PhoneTuning::default(),
        }
    }
}

/// Traffic properties of the simulated phones that bench.toml has no key
/// for: the network behind the lab and the apps on the phone. `None` keeps
/// the phone model's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PhoneTuning {
    /// Each round trip drawn from `min..max` seconds (default 8-40 ms).
    pub round_trip_s: Option<(f64, f64)>,
    /// Push keep-alive period, seconds (default 28 minutes).
    pub push_heartbeat_s: Option<f64>,
}

impl PhoneTuning {
    /// `phone` with these properties.
    pub fn apply(&self, mut phone: SimPhone) -> SimPhone {
        if let Some((min, max)) = self.round_trip_s {
            phone = phone.with_round_trip(min, max);
        }
        if let Some(period) = self.push_heartbeat_s {
            phone = phone.with_push_heartbeat(period);
        }
        phone
    }
}

/// What an offline run wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfflineReport {
    pub dir: PathBuf,
    pub run_id: String,
    /// Frames per SigMF recording (one per sample period).
    pub frames: u64,
    /// Packets in `net.pcapng`.
    pub packets: u64,
    /// Virtual seconds the run lasted (`run.json`'s `duration_s`).
    pub seconds: f64,
    /// False when a failed action aborted it (`on_fault = "abort"`).
    pub complete: bool,
}

/// Why an offline run could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The simulated shield would refuse this channel, as a live run's
    /// Configure would.
    #[error("shield channel \"{channel}\": {problem}")]
    Channel { channel: String, problem: String },
    #[error("the shield cannot sample at {0} samples per second")]
    SampleRate(u32),
}

/// Record `scenario` on `bench` into the run directory `dir` (created if
/// missing; files in it are replaced), in virtual time. The run id is the
/// directory's name, as in a live run.
pub fn record(
    bench: &BenchConfig,
    scenario: &Scenario,
    dir: &Path,
    options: &OfflineOptions,
) -> Result<OfflineReport, OfflineError> {
    let duts: Vec<String> = scenario.timelines.iter().map(|t| t.dut.clone()).collect();
    std::fs::create_dir_all(dir).map_err(RecordError::io(dir))?;
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| scenario.name.clone());

    let mut manifest = RunManifest::new(
        &run_id,
        &bench.name,
        &scenario.name,
        options.started_utc,
        crate::runner::dut_entries(bench, &duts),
    );
    manifest.extra.insert(
        "benchctl".into(),
        env!("CARGO_PKG_VERSION").to_string().into(),
    );
    manifest.write(dir)?;
    let mut journal = Journal::create(dir)?;
    let shield = bench
        .shield
        .as_ref()
        .map(|s| Shield::new(s, options.seed))
        .transpose()?;
    let tapped: Vec<&str> = duts
        .iter()
        .filter(|d| bench.dut(d).is_some_and(|c| c.link.is_some()))
        .map(String::as_str)
        .collect();
    let mut files = Files::create(dir, shield.as_ref(), &tapped, options.started_utc)?;

    // The plant, as the runner starts it: only with simulated phones.
    let names: Vec<&str> = duts.iter().map(String::as_str).collect();
    // "ROOMSEED": the room's stream apart from the noise's, same seed.
    let room_seed = mix(options.seed ^ 0x524f_4f4d_5345_4544);
    let mut setup = PlantSetup::for_bench(bench, &names, room_seed);
    for p in &mut setup.phones {
        p.phone = options.phones.apply(p.phone.clone());
    }
    let exposure = Exposure::new();
    // The shield's clock reads 0 at the run's t = 0.
    let origin = Instant::now();
    let mut world = (!setup.phones.is_empty())
        .then(|| World::new(setup, exposure.clone(), origin, RunClock::new(origin)));
    let (tap, tapped_rx) = mpsc::channel();

    let (ops, end) = plan::plan(scenario);
    let end_us = micros(end);
    let mut lab = Lab::new(bench);
    let mut sampler = shield.map(|s| Sampler::new(s, exposure));
    let mut next_op = 0;
    let mut ending = Ending::Finished;
    let mut stop_us = end_us;
    let mut t_us = 0;
    'run: while t_us < stop_us {
        // What the runner did by now; the plant sees it at this tick.
        while let Some(op) = ops.get(next_op).filter(|op| micros(op.at) <= t_us) {
            next_op += 1;
            if let Err(reason) = execute(&mut lab, &mut journal, op)?
                && scenario.on_fault == FaultPolicy::Abort
            {
                ending = Ending::Aborted { reason };
                stop_us = micros(op.at);
                break 'run;
            }
        }
        if let Some(world) = &mut world {
            world.tick(t_us as f64 / 1e6, &lab.state, &tap);
        }
        files.packets(&tapped_rx)?;
        let until_us = (t_us + TICK_US).min(stop_us);
        if let Some(s) = &mut sampler {
            s.sample(t_us, until_us, &mut files)?;
        }
        t_us += TICK_US;
    }
    if ending == Ending::Finished {
        // Steps due after the last tick, at the very end included.
        for op in &ops[next_op.min(ops.len())..] {
            if let Err(reason) = execute(&mut lab, &mut journal, op)?
                && scenario.on_fault == FaultPolicy::Abort
            {
                ending = Ending::Aborted { reason };
                stop_us = micros(op.at);
                break;
            }
        }
    }

    // Whatever happened: every DUT to its safe state, as the runner does.
    let t_end = stop_us as f64 / 1e6;
    for dut in &duts {
        let failures = lab.safe_state(dut);
        let detail = crate::runner::safe_state_words(bench, dut);
        journal.record(
            t_end,
            Event::action(Some(dut), "safe-state", failures.is_empty(), Some(&detail)),
        )?;
        for e in failures {
            journal.record(t_end, Event::fault("bench", e.to_string(), Some(dut)))?;
        }
    }
    // Nobody is late in virtual time.
    let step_timing = Jitter::of(&vec![0.0; lab.steps]);
    journal.note(
        t_end,
        &format!(
            "run ended ({ending}); recorded offline in virtual time (seed {}); step timing: {} steps, late by p50 0.00 ms, p99 0.00 ms, max 0.00 ms",
            options.seed,
            step_timing.steps,
        ),
    )?;
    journal.flush()?;
    drop(journal);
    let frames = sampler.as_ref().map_or(0, |s| s.frames);
    let packets = files.packets_written;
    files.finish()?;

    let complete = ending == Ending::Finished;
    let report = world.as_ref().map(|w| w.report().clone());
    let mut put = |k: &str, v: serde_json::Value| {
        manifest.extra.insert(k.to_string(), v);
    };
    put("ending", serde_json::to_value(&ending).unwrap_or_default());
    put(
        "step_timing",
        serde_json::to_value(&step_timing).unwrap_or_default(),
    );
    put(
        "recording",
        serde_json::json!({
            "frames": frames,
            "frames_lost": 0,
            "packets": packets,
            "shield_lost": false,
            "rf_t0_s": 0.0,
            "shield_clock_drift_ppm": 0.0,
        }),
    );
    let mut simulation = serde_json::json!({
        "offline": true,
        "seed": options.seed,
        "phones": options.phones,
    });
    if let (Some(p), Some(map)) = (&report, simulation.as_object_mut()) {
        for (k, v) in [
            ("rf_bursts", p.rf_bursts),
            ("room_bursts", p.room_bursts),
            ("packets", p.packets),
            ("packets_blocked_by_allowlist", p.packets_blocked),
            ("late_ticks", p.late_ticks),
        ] {
            map.insert(k.into(), v.into());
        }
    }
    put("simulation", simulation);
    manifest.finish(dir, t_end, complete)?;
    Ok(OfflineReport {
        dir: dir.to_path_buf(),
        run_id,
        frames,
        packets,
        seconds: t_end,
        complete,
    })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Do one operation on the lab and journal it, as the runner's loop does.
/// `Ok(Err(words))` is a failed action (a fault); `Err` a journal that
/// cannot be written.
fn execute(
    lab: &mut Lab<'_>,
    journal: &mut Journal,
    op: &Op,
) -> Result<Result<(), String>, RecordError> {
    let t = op.at.as_secs_f64();
    lab.steps += 1;
    match &op.what {
        What::Phase { name, expect } => {
            journal.record(t, Event::phase(&op.dut, name, expect.clone()))?;
        }
        What::Mark(text) => journal.note(t, &format!("{}: {text}", op.dut))?,
        What::Act(act) => {
            let done = lab.act(&op.dut, act);
            let detail = match (&done, act.detail()) {
                (Ok(()), d) => d,
                (Err(e), Some(d)) => Some(format!("{d}: {e}")),
                (Err(e), None) => Some(e.to_string()),
            };
            journal.record(
                t,
                Event::action(Some(&op.dut), act.name(), done.is_ok(), detail.as_deref()),
            )?;
            if let Err(e) = done {
                let words = format!(
                    "{} {} (scenario line {}) failed: {e}",
                    op.dut,
                    act.name(),
                    op.line
                );
                journal.record(t, Event::fault("bench", words.clone(), Some(&op.dut)))?;
                return Ok(Err(words));
            }
        }
    }
    Ok(Ok(()))
}

/// The simulated lab in memory, switched as the simulated backends switch
/// the lab file.
///
/// Mirrored from `hw::sim` (and `Bench`'s wiring lookups), not shared:
/// those backends read and write the lab file at every switch, which a
/// live bench needs (the state outlives the process) and a run in virtual
/// time has no use for. Keep the two in step: a relay that closes counts a
/// power-on, `fail_after` refuses closing after that many switches, a
/// phone answers only with supply and not switched off in software (except
/// to reboot), and its settings belong to one power-on.
#[derive(Debug)]
struct Lab<'b> {
    bench: &'b BenchConfig,
    state: LabState,
    /// Switching requests per relay board, for `fail_after`.
    switched: BTreeMap<String, u32>,
    /// Operations carried out, for the step timing.
    steps: usize,
}

impl<'b> Lab<'b> {
    fn new(bench: &'b BenchConfig) -> Self {
        Lab {
            bench,
            state: LabState::default(),
            switched: BTreeMap::new(),
            steps: 0,
        }
    }

    fn act(&mut self, dut: &str, act: &Act) -> Result<(), BenchError> {
        match act {
            Act::CycleOff { .. } => self.set_power(dut, false),
            Act::CycleOn => self.set_power(dut, true),
            Act::Scenario(action) => match action {
                Action::PowerOn => self.set_power(dut, true),
                // A cycle is expanded into CycleOff/CycleOn by the plan.
                Action::PowerOff | Action::PowerCycle { .. } => self.set_power(dut, false),
                Action::UsbOn => self.set_usb(dut, true),
                Action::UsbOff => self.set_usb(dut, false),
                Action::NetIsolate => self.set_net(dut, NetState::Isolated, None),
                Action::NetOpen => self.set_net(dut, NetState::Open, None),
                Action::NetAllowlist { allow } => {
                    self.set_net(dut, NetState::Allowlist, Some(allow))
                }
                Action::Device { command } => self.device(dut, *command),
            },
        }
    }

    /// Network first, then USB, then power; every output tried.
    fn safe_state(&mut self, dut: &str) -> Vec<BenchError> {
        let Some(d) = self.bench.dut(dut) else {
            return Vec::new();
        };
        let (safe, net, usb, power) =
            (d.safe, d.link.is_some(), d.usb.is_some(), d.power.is_some());
        let mut failures = Vec::new();
        if net {
            failures.extend(self.set_net(dut, safe.net, None).err());
        }
        if usb {
            failures.extend(self.set_usb(dut, safe.usb).err());
        }
        if power {
            failures.extend(self.set_power(dut, safe.power).err());
        }
        failures
    }

    fn dut(&self, dut: &str) -> Result<&'b crate::config::DutConfig, BenchError> {
        self.bench.dut(dut).ok_or_else(|| BenchError::UnknownDut {
            name: dut.to_string(),
            bench: self.bench.name.clone(),
            suggestion: None,
        })
    }

    fn set_power(&mut self, dut: &str, on: bool) -> Result<(), BenchError> {
        let r = self.dut(dut)?.power.as_ref().ok_or(BenchError::NotWired {
            dut: dut.to_string(),
            what: "power relay",
        })?;
        let fail_after = match self.bench.relay_board(&r.board).map(|b| &b.backend) {
            Some(RelayBackend::Sim { fail_after }) => *fail_after,
            _ => None,
        };
        let switched = self.switched.entry(r.board.clone()).or_default();
        if on && fail_after.is_some_and(|n| *switched >= n) {
            return Err(HwError::new(
                format!("relay board \"{}\"", r.board),
                format!(
                    "channel {} did not close (simulated fault: fail_after)",
                    r.channel
                ),
            )
            .into());
        }
        *switched += 1;
        let s = &mut self.state;
        if on && !s.relay_closed(&r.board, r.channel) {
            *s.power_ons
                .entry(format!("{}/{}", r.board, r.channel))
                .or_default() += 1;
        }
        crate::hw::sim::set_member(s.relays.entry(r.board.clone()).or_default(), r.channel, on);
        Ok(())
    }

    fn set_usb(&mut self, dut: &str, on: bool) -> Result<(), BenchError> {
        let p = self.dut(dut)?.usb.as_ref().ok_or(BenchError::NotWired {
            dut: dut.to_string(),
            what: "USB hub port",
        })?;
        crate::hw::sim::set_member(
            self.state.hubs.entry(p.hub.clone()).or_default(),
            p.port,
            on,
        );
        Ok(())
    }

    fn set_net(
        &mut self,
        dut: &str,
        net: NetState,
        allow: Option<&[String]>,
    ) -> Result<(), BenchError> {
        let link = self.dut(dut)?.link.as_ref().ok_or(BenchError::NotWired {
            dut: dut.to_string(),
            what: "network link",
        })?;
        if let Some(allow) = allow {
            self.state.allowlists.insert(link.clone(), allow.to_vec());
        }
        self.state.links.insert(link.clone(), net);
        Ok(())
    }

    fn device(&mut self, dut: &str, cmd: DeviceCommand) -> Result<(), BenchError> {
        let d = self.dut(dut)?;
        if d.device.is_none() {
            return Err(BenchError::NotWired {
                dut: dut.to_string(),
                what: "device control",
            });
        }
        let (powered, power_on) = match &d.power {
            // A phone with no relay on the bench is on its own battery.
            None => (true, 0),
            Some(r) => (
                self.state.relay_closed(&r.board, r.channel),
                self.state.power_on_count(&r.board, r.channel),
            ),
        };
        // What the phone remembers: nothing from before its supply was cut.
        let mut settings = match self.state.phones.get(dut) {
            Some(s) if s.power_on == power_on => *s,
            _ => PhoneSettings {
                power_on,
                ..PhoneSettings::default()
            },
        };
        settings.obey(dut, powered, cmd)?;
        self.state.phones.insert(dut.to_string(), settings);
        Ok(())
    }
}

/// The simulated shield as configured: its detectors, and each channel's
/// wire configuration and destination.
#[derive(Debug)]
struct Shield {
    model: DetectorModel,
    channels: Vec<(wire::ChannelConfig, ShieldQuantity, Route)>,
    /// The `bench:channels` entries of the two recordings.
    rf_channels: Vec<serde_json::Value>,
    power_channels: Vec<serde_json::Value>,
    rate_hz: u32,
    period_us: u64,
}

impl Shield {
    /// Check the channels as the simulated shield's Configure and the
    /// bench's wiring check would, and get the detectors ready.
    fn new(config: &ShieldConfig, seed: u64) -> Result<Shield, OfflineError> {
        let wire = wire_config(config);
        let rate = config.sample_rate_hz;
        let period_us = u64::from(1_000_000u32.checked_div(rate).unwrap_or(0));
        if period_us == 0 {
            return Err(OfflineError::SampleRate(rate));
        }
        let mut model = DetectorModel::seeded(seed);
        let split = split_channels(&config.channels);
        let mut channels = Vec::new();
        for (index, ((ch, wire_ch), route)) in config
            .channels
            .iter()
            .zip(wire.channels.iter())
            .zip(split.routes.iter().copied())
            .enumerate()
        {
            let refuse = |problem: String| OfflineError::Channel {
                channel: ch.name.clone(),
                problem,
            };
            let unit = match ch.quantity {
                ShieldQuantity::Rf => wire::Unit::CentiDbm,
                ShieldQuantity::Current => wire::Unit::MicroAmp,
                ShieldQuantity::Occupancy => wire::Unit::Permille,
            };
            match model.detectors().iter().find(|d| d.id == ch.detector) {
                Some(d) if d.unit != unit => {
                    return Err(refuse(format!(
                        "detector {} of the simulated shield does not measure {:?}",
                        ch.detector, ch.quantity
                    )));
                }
                Some(_) => {}
                None => {
                    return Err(refuse(format!(
                        "the simulated shield has no detector {}",
                        ch.detector
                    )));
                }
            }
            let channel = u8::try_from(index).unwrap_or(u8::MAX);
            model
                .prepare(channel, wire_ch)
                .map_err(|e| refuse(e.to_string()))?;
            channels.push((wire_ch.clone(), ch.quantity, route));
        }
        Ok(Shield {
            model,
            channels,
            rf_channels: split.rf,
            power_channels: split.power,
            rate_hz: rate,
            period_us,
        })
    }
}

/// Measures every channel once per sample period from the exposure.
#[derive(Debug)]
struct Sampler {
    shield: Shield,
    exposure: Exposure,
    /// The next sample's index; its time is `index * period_us`.
    next: u64,
    frames: u64,
    rf: Vec<f32>,
    power: Vec<f32>,
}

impl Sampler {
    fn new(shield: Shield, exposure: Exposure) -> Self {
        Sampler {
            shield,
            exposure,
            next: 0,
            frames: 0,
            rf: Vec::new(),
            power: Vec::new(),
        }
    }

    /// Every sample due in `[from_us, until_us)`, into the files.
    fn sample(
        &mut self,
        from_us: u64,
        until_us: u64,
        files: &mut Files,
    ) -> Result<(), RecordError> {
        let period = self.shield.period_us;
        let first_us = self.next * period;
        if first_us >= until_us {
            return Ok(());
        }
        let last = (until_us - 1) / period;
        // Copied once per tick: the peak hold of the first sample looks
        // back one period (a millisecond at the first sample of all).
        let window = self.exposure.window(
            first_us.min(from_us).saturating_sub(period.max(1_000)),
            last * period,
        );
        self.rf.clear();
        self.power.clear();
        for index in self.next..=last {
            let t_us = index * period;
            for (channel, (config, quantity, route)) in self.shield.channels.iter().enumerate() {
                let channel = u8::try_from(channel).unwrap_or(u8::MAX);
                let raw = self.shield.model.measure(channel, config, t_us, &window);
                let value = lab_value(*quantity, raw).map_or(f32::NAN, |v| v as f32);
                match route {
                    Route::Rf => self.rf.push(value),
                    Route::Power => self.power.push(value),
                    Route::Skip => {}
                }
            }
        }
        if let Some(w) = &mut files.rf {
            w.push_frames(&self.rf)?;
        }
        if let Some(w) = &mut files.power {
            w.push_frames(&self.power)?;
        }
        self.frames += last + 1 - self.next;
        self.next = last + 1;
        Ok(())
    }
}

/// The run directory's data files.
#[derive(Debug)]
struct Files {
    rf: Option<SigmfWriter>,
    power: Option<SigmfWriter>,
    net: Option<PcapngWriter>,
    /// The pcapng interfaces: DUT names in interface order.
    tapped: Vec<String>,
    started_utc: SystemTime,
    packets_written: u64,
}

impl Files {
    fn create(
        dir: &Path,
        shield: Option<&Shield>,
        tapped: &[&str],
        started_utc: SystemTime,
    ) -> Result<Files, RecordError> {
        let started = benchctl_format::utc_rfc3339_millis(started_utc);
        let recording = |stream: Stream, channels: &[serde_json::Value], unit, rate| {
            (!channels.is_empty())
                .then(|| {
                    SigmfWriter::create(dir, stream.name(), rate, channels.to_vec(), unit, &started)
                })
                .transpose()
        };
        let (mut rf, mut power) = match shield {
            Some(s) => {
                let rate = f64::from(s.rate_hz);
                (
                    recording(Stream::Rf, &s.rf_channels, Unit::Dbm, rate)?,
                    recording(Stream::Power, &s.power_channels, Unit::Ampere, rate)?,
                )
            }
            None => (None, None),
        };
        // Sample 0 is at t = 0: said outright, as the live recorder says
        // where its stream started.
        for w in [&mut rf, &mut power].into_iter().flatten() {
            w.set_t0(0.0)?;
        }
        let net = (!tapped.is_empty())
            .then(|| PcapngWriter::create(&dir.join(NET_FILE_NAME), tapped))
            .transpose()?;
        Ok(Files {
            rf,
            power,
            net,
            tapped: tapped.iter().map(|s| s.to_string()).collect(),
            started_utc,
            packets_written: 0,
        })
    }

    /// The packets the plant put on the links, stamped on the run clock.
    fn packets(&mut self, tap: &Receiver<TappedPacket>) -> Result<(), RecordError> {
        for p in tap.try_iter() {
            if let Some(net) = &mut self.net
                && write_tapped(net, &self.tapped, self.started_utc, &p)?
            {
                self.packets_written += 1;
            }
        }
        Ok(())
    }

    /// Hand everything to the kernel. Not fsynced, unlike a live run's
    /// files: a recording made from a seed is made again from it, and a
    /// corpus of thousands would spend more time waiting for the disk than
    /// computing.
    fn finish(mut self) -> Result<(), RecordError> {
        for w in [&mut self.rf, &mut self.power].into_iter().flatten() {
            w.flush()?;
        }
        if let Some(net) = &mut self.net {
            net.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use benchctl_format::read::{ChannelKind, RunDir, RunEvent};

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
        let report = record(&bench, &s, &dir, &OfflineOptions::new(1)).expect("record");
        assert!(report.complete);
        assert_eq!(report.frames, 54_000, "one frame per ms of the run");
        assert!((report.seconds - 54.0).abs() < 1e-9);

        let run = RunDir::open(&dir).expect("the reader takes the run");
        assert!(run.complete());
        assert_eq!(run.run_id(), "20261126T153000Z-backdoor-hunt");
        assert_eq!(run.duration_s(), Some(54.0));
        assert_eq!(run.duts().len(), 2);
        assert_eq!(run.dut("phone-b").expect("phone-b").ip, ["10.77.2.2"]);
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
            assert!(safe.is_some_and(|e| e.t == 54.0), "{dut} safe at the end");
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
        assert_eq!(rf.frames(), 54_000);
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
        let all = values(&mut rf, ambient, 0.0, 54.0);
        assert!(all.iter().all(|(_, v)| v.is_finite() && *v >= -96.5));

        // Current: soft-off under 5 mA, online hundreds of mA.
        let mut power = run.power().expect("power").expect("power present");
        assert_eq!(power.frames(), 54_000);
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
            assert!(t >= last && (0.0..54.0).contains(&t), "packet at {t}");
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
            record(&bench, &s, &dir, &OfflineOptions::new(seed)).expect("record");
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
    fn the_lab_switches_as_the_simulated_backends_do() {
        let bench = default_bench();
        let mut lab = Lab::new(&bench);
        let off = lab
            .device("phone-a", DeviceCommand::Airplane(true))
            .expect_err("no supply, no answer");
        assert!(off.to_string().contains("the phone is off"), "{off}");
        lab.set_power("phone-a", true).expect("on");
        lab.set_power("phone-a", true).expect("still on");
        assert_eq!(lab.state.power_on_count("relays", 1), 1, "one closing");
        lab.device("phone-a", DeviceCommand::Airplane(true))
            .expect("airplane");
        assert!(lab.state.phones["phone-a"].airplane);
        lab.device("phone-a", DeviceCommand::PowerOff).expect("off");
        assert!(lab.device("phone-a", DeviceCommand::Screen(true)).is_err());
        lab.device("phone-a", DeviceCommand::Reboot)
            .expect("a soft-off phone still reboots on the power key");
        // A cut supply forgets the settings: the next power-on starts afresh.
        lab.set_power("phone-a", false).expect("off");
        lab.set_power("phone-a", true).expect("on");
        assert_eq!(lab.state.power_on_count("relays", 1), 2);
        lab.device("phone-a", DeviceCommand::Screen(true))
            .expect("screen");
        assert!(!lab.state.phones["phone-a"].airplane);
        lab.set_net("phone-b", NetState::Allowlist, Some(&["10.0.0.0/8".into()]))
            .expect("allowlist");
        assert_eq!(lab.state.links["link-b"], NetState::Allowlist);
        assert_eq!(lab.state.allowlists["link-b"], ["10.0.0.0/8"]);
        assert!(lab.safe_state("phone-a").is_empty());
        assert!(!lab.state.relay_closed("relays", 1));
        assert_eq!(lab.state.links["link-a"], NetState::Isolated);
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
        let report = record(&bench, &s, tmp.path(), &OfflineOptions::new(1)).expect("record");
        assert!(!report.complete);
        assert!((report.seconds - 3.0).abs() < 1e-9, "{}", report.seconds);
        let run = RunDir::open(tmp.path()).expect("read");
        assert!(!run.complete());
        let faults: Vec<_> = run.events().faults().collect();
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(faults[0].1.detail.contains("did not close"), "{faults:?}");
        assert_eq!(faults[0].0, 3.0);
        assert_eq!(run.manifest().extra["ending"]["how"], "aborted");
    }

    #[test]
    fn phone_tuning_slows_the_network_and_hastens_keepalives() {
        use benchctl_net::parse_ethernet;
        use crate::sim::phone::tests::run;
        use crate::sim::phone::{Emissions, PhoneEvent, PhoneNet};
        let events = [
            (0.0, PhoneEvent::Network(PhoneNet::Open)),
            (0.0, PhoneEvent::PowerOn),
        ];
        let phone = || SimPhone::new("phone-a", 3, Vec::new());
        let plain = run(&mut phone(), &events, 200.0);
        let untuned = run(&mut PhoneTuning::default().apply(phone()), &events, 200.0);
        assert_eq!(plain, untuned, "no tuning, the model's own defaults");
        let slow = PhoneTuning {
            round_trip_s: Some((0.5, 0.6)),
            push_heartbeat_s: Some(30.0),
        };
        let tuned = run(&mut slow.apply(phone()), &events, 200.0);
        let first_answer = |e: &Emissions| {
            let sent = e.packets.iter().find(|p| p.outbound).expect("a query").t_s;
            e.packets
                .iter()
                .find(|p| !p.outbound)
                .expect("an answer")
                .t_s
                - sent
        };
        assert!(first_answer(&plain) < 0.05);
        assert!(first_answer(&tuned) >= 0.49, "{}", first_answer(&tuned));
        let push = |e: &Emissions| {
            e.packets
                .iter()
                .filter(|p| {
                    p.outbound
                        && parse_ethernet(&p.frame)
                            .ok()
                            .and_then(|f| f.ip().and_then(|ip| ip.ports()))
                            .is_some_and(|(_, dport)| dport == 5228)
                })
                .count()
        };
        // Connect and one exchange without tuning; a keep-alive (request
        // and ack) about every 30 s with it.
        assert!(
            push(&tuned) >= push(&plain) + 10,
            "{} vs {}",
            push(&tuned),
            push(&plain)
        );
    }
}
