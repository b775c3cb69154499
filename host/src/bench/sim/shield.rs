//! The simulated radio shield: the real firmware logic (`shield-core`'s
//! engine with a synthetic front end) on a thread, behind a pseudo-terminal.
//! The host opens the pty's path with exactly the code it uses for a board on
//! `/dev/ttyACM0`, so every byte of the link is exercised.
//!
//! Its inputs: detectors 0-7 are RF antennas (300 MHz to 6 GHz, centi-dBm),
//! 8-11 current sensors (µA). What they hear comes from two places: steady
//! levels set with `Stimulus` (as a hardware-in-the-loop rig drives the
//! sensors), and the simulated phones' emissions the plant publishes in the
//! shield's [`Exposure`], read at each sample's own time.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use shield_core::synthetic::SyntheticFrontEnd;
use shield_core::{FrontEnd, Identity, Limits, Shield};
use shield_protocol::{
    ChannelConfig, DetectorInfo, DetectorKind, MAX_CHANNELS, MAX_FRAME, NO_READING, SelfTestReport,
    ShieldError, Stimulus, Unit,
};

use super::exposure::{self, Exposure, Heard};
use benchctl_rng::SimRng;

/// RF antenna inputs of the simulated shield: detectors 0..RF_INPUTS.
pub const RF_INPUTS: u8 = 8;
/// Current sensors: detectors RF_INPUTS..RF_INPUTS + CURRENT_INPUTS.
pub const CURRENT_INPUTS: u8 = 4;

/// What the simulated board can sustain: far more than a bench needs, so
/// the host side is what a benchmark measures.
const MAX_SAMPLES_PER_S: u32 = 200_000;

/// The simulated board's detectors.
pub fn detectors() -> Vec<DetectorInfo> {
    let rf = (0..RF_INPUTS).map(|id| DetectorInfo {
        id,
        kind: DetectorKind::Synthetic,
        min_khz: 300_000,
        max_khz: 6_000_000,
        unit: Unit::CentiDbm,
    });
    let current = (RF_INPUTS..RF_INPUTS + CURRENT_INPUTS).map(|id| DetectorInfo {
        id,
        kind: DetectorKind::Synthetic,
        min_khz: 0,
        max_khz: 0,
        unit: Unit::MicroAmp,
    });
    rf.chain(current).collect()
}

/// A running simulated shield. Dropping it stops the thread and closes the pty.
#[derive(Debug)]
pub struct SimShield {
    path: PathBuf,
    stimuli: mpsc::Sender<Stimulus>,
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    status: Arc<SimShieldState>,
    exposure: Exposure,
    boot: Instant,
}

/// What the simulated shield is doing, for tests and the standalone server.
#[derive(Debug, Default)]
pub struct SimShieldState {
    streaming: AtomicBool,
}

impl SimShield {
    /// Start the shield on a new pty pair; `path()` is the tty to open.
    pub fn start() -> std::io::Result<SimShield> {
        let (mut board_side, host_side) = TTYPort::pair().map_err(std::io::Error::other)?;
        let path = host_side
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| std::io::Error::other("the pty has no name"))?;
        // The board side polls: a short read timeout is its idle tick.
        board_side
            .set_timeout(Duration::from_millis(1))
            .map_err(std::io::Error::other)?;
        let (stimuli, inbox) = mpsc::channel();
        let running = Arc::new(AtomicBool::new(true));
        let status = Arc::new(SimShieldState::default());
        let exposure = Exposure::new();
        let boot = Instant::now();
        let thread = {
            let running = running.clone();
            let status = status.clone();
            let exposure = exposure.clone();
            std::thread::Builder::new()
                .name("sim-shield".into())
                .spawn(move || {
                    // Keep the host side open for the shield's life: a pty whose
                    // slave was never opened, or was closed by every host, reads
                    // as hung up on the master side.
                    let _keep_open = host_side;
                    run(board_side, inbox, running, status, exposure, boot)
                })?
        };
        Ok(SimShield {
            path,
            stimuli,
            running,
            thread: Some(thread),
            status,
            exposure,
            boot,
        })
    }

    /// What the antennas and sensors are exposed to, for the plant to fill.
    pub fn exposure(&self) -> &Exposure {
        &self.exposure
    }

    /// The instant the shield's clock reads 0.
    pub fn boot(&self) -> Instant {
        self.boot
    }

    /// The tty the host opens, e.g. /dev/pts/7.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Set what the simulated antennas and sensors measure.
    pub fn stimulus(&self, s: Stimulus) {
        // The thread only ends when we drop; a send error cannot happen before.
        let _ = self.stimuli.send(s);
    }

    /// Whether the shield is streaming samples right now.
    pub fn is_streaming(&self) -> bool {
        self.status.streaming.load(Ordering::Relaxed)
    }
}

impl Drop for SimShield {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    mut port: TTYPort,
    inbox: mpsc::Receiver<Stimulus>,
    running: Arc<AtomicBool>,
    status: Arc<SimShieldState>,
    exposure: Exposure,
    boot: Instant,
) {
    let front_end = PlantFrontEnd {
        model: DetectorModel::new(),
        exposure,
    };
    let mut shield = Shield::new(
        front_end,
        Identity {
            firmware: concat!("shield-core ", env!("CARGO_PKG_VERSION")),
            board: "sim",
            serial: heapless::String::try_from("SIM-0001").unwrap_or_default(),
        },
        Limits {
            max_samples_per_s: MAX_SAMPLES_PER_S,
        },
    );
    let now_us = || boot.elapsed().as_micros() as u64;
    let mut rx = [0u8; 4096];
    let mut frame = [0u8; MAX_FRAME];
    while running.load(Ordering::Relaxed) {
        for s in inbox.try_iter() {
            shield.front_end().model.apply(&s);
        }
        match port.read(&mut rx) {
            Ok(0) => {}
            Ok(n) => shield.on_rx(&rx[..n], now_us()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            // EIO: no host has the pty open right now. Keep running: a host
            // may open it later, as with a board on a USB cable.
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
        shield.poll(now_us());
        while let Some(n) = shield.next_frame(&mut frame) {
            if port.write_all(&frame[..n]).is_err() {
                // Nobody is listening: the frame is lost, as on a real UART.
                break;
            }
        }
        status
            .streaming
            .store(shield.is_streaming(), Ordering::Relaxed);
    }
}

/// The simulated board's front end: the detector model reading the plant's
/// [`Exposure`].
struct PlantFrontEnd {
    model: DetectorModel,
    exposure: Exposure,
}

impl FrontEnd for PlantFrontEnd {
    fn detectors(&self) -> &[DetectorInfo] {
        self.model.detectors()
    }

    fn prepare(&mut self, channel: u8, config: &ChannelConfig) -> Result<(), ShieldError> {
        self.model.prepare(channel, config)
    }

    fn measure(&mut self, channel: u8, config: &ChannelConfig, now_us: u64) -> i32 {
        self.model.measure(channel, config, now_us, &self.exposure)
    }

    fn self_test(&mut self) -> SelfTestReport {
        self.model.self_test()
    }
}

/// How the simulated shield's detectors turn what they are exposed to into
/// readings: the steady levels `Stimulus` set (the noise floor, ±1.5 dB),
/// plus what the plant says the phones and the room emit, peak-held over
/// the sample period, with the detector's own noise on top.
///
/// One model for the live simulated shield and the offline recorder
/// (`sim::offline`): a recording made in virtual time cannot drift from
/// one made through the pty, because both read the same detectors.
#[derive(Debug, Clone)]
pub struct DetectorModel {
    steady: SyntheticFrontEnd,
    /// Per channel, the time of its previous sample: an RF detector reports
    /// the peak since then (a log amp's envelope, held per sample).
    last_us: [Option<u64>; MAX_CHANNELS],
    noise: SimRng,
}

/// How much a reading wanders around the exposure's value: ±0.5 dB on RF
/// (a log amp's repeatability), ±1% on current.
const RF_NOISE_DB: f64 = 0.5;
const CURRENT_NOISE: f64 = 0.01;

/// The live simulated shield's detector noise seed (any value works; fixed,
/// so a sim shield measures the same noise every time it starts).
const DETECTOR_NOISE_SEED: u64 = 0x5348_4945_4c44;

impl Default for DetectorModel {
    fn default() -> Self {
        Self::new()
    }
}

impl DetectorModel {
    /// The simulated board's detectors ([`detectors`]), every antenna at the
    /// noise floor, with the live shield's noise.
    pub fn new() -> Self {
        // The synthetic front end's own default seed for the floor's noise.
        Self::with_noise(None, DETECTOR_NOISE_SEED)
    }

    /// The same board with other noise: recordings made in bulk should not
    /// all carry the same noise sample for sample.
    pub fn seeded(seed: u64) -> Self {
        let mixed = benchctl_rng::mix(seed ^ DETECTOR_NOISE_SEED);
        // xorshift32 is stuck at 0; `with_seed` maps 0 to its default.
        Self::with_noise(Some((mixed >> 32) as u32), mixed)
    }

    fn with_noise(steady_seed: Option<u32>, detector_seed: u64) -> Self {
        let mut steady = SyntheticFrontEnd::new(&detectors());
        if let Some(seed) = steady_seed {
            steady = steady.with_seed(seed);
        }
        for detector in 0..RF_INPUTS {
            steady.apply(&Stimulus::Set {
                detector,
                center_khz: 0,
                level: RF_FLOOR,
                noise: RF_FLOOR_NOISE,
            });
        }
        DetectorModel {
            steady,
            last_us: [None; MAX_CHANNELS],
            noise: SimRng::new(detector_seed),
        }
    }

    /// Set a steady level (see `Stimulus`), as a hardware-in-the-loop rig
    /// drives the sensors.
    pub fn apply(&mut self, stimulus: &Stimulus) {
        self.steady.apply(stimulus);
    }

    pub fn detectors(&self) -> &[DetectorInfo] {
        self.steady.detectors()
    }

    /// Get `channel` ready to stream `config`; refuses what the board would
    /// (no such detector, a calibration it does not take).
    pub fn prepare(&mut self, channel: u8, config: &ChannelConfig) -> Result<(), ShieldError> {
        if let Some(last) = self.last_us.get_mut(usize::from(channel)) {
            *last = None;
        }
        self.steady.prepare(channel, config)
    }

    /// The raw reading (centi-dBm or µA) of `channel` at `now_us` on the
    /// shield's clock, hearing `heard`. Channels must be measured in stream
    /// order at each sample, as the engine does: the noise is drawn in that
    /// order.
    pub fn measure(
        &mut self,
        channel: u8,
        config: &ChannelConfig,
        now_us: u64,
        heard: &impl Heard,
    ) -> i32 {
        let steady = self.steady.measure(channel, config, now_us);
        if steady == NO_READING {
            return steady;
        }
        let since = self
            .last_us
            .get_mut(usize::from(channel))
            .and_then(|last| last.replace(now_us))
            .unwrap_or(now_us.saturating_sub(1_000));
        if config.detector < RF_INPUTS {
            let mw = heard.rf_mw(config.detector, config.center_khz, since, now_us);
            if mw <= 0.0 {
                return steady;
            }
            // Powers add: what the phone sends on top of what the antenna
            // hears anyway.
            let floor_mw = exposure::mw(f64::from(steady) / 100.0);
            let dbm = exposure::dbm(mw + floor_mw) + self.noise.range(-RF_NOISE_DB, RF_NOISE_DB);
            (dbm * 100.0).round() as i32
        } else {
            match heard.current_a(config.detector, now_us) {
                None => steady,
                Some(amps) => {
                    let amps = amps * (1.0 + self.noise.range(-CURRENT_NOISE, CURRENT_NOISE));
                    // The sensor's own offset (its floor) stays under it.
                    (amps * 1e6).round() as i32 + shield_core::synthetic::FLOOR_MICRO_AMP
                }
            }
        }
    }

    pub fn self_test(&mut self) -> SelfTestReport {
        self.steady.self_test()
    }
}

/// The RF noise floor every simulated antenna hears (centi-dBm), give or
/// take `RF_FLOOR_NOISE`: a flat line would hide detector bugs.
const RF_FLOOR: i32 = -9500;
const RF_FLOOR_NOISE: u16 = 150;

/// A powered simulated phone idles at this supply current (µA)...
const PHONE_IDLE_UA: i32 = 150_000;
/// ...give or take this much (µA, peak).
const PHONE_IDLE_NOISE_UA: u16 = 15_000;

/// What the simulated shield's sensors should read for the lab as it is,
/// beyond the noise floor every antenna hears from the start: a phone whose
/// supply relay is closed draws current on its sensor. (The phones' RF
/// emissions come with the phone models.)
pub fn stimuli_for(
    shield: &crate::config::ShieldConfig,
    lab: &super::LabState,
    bench: &crate::config::BenchConfig,
) -> Vec<Stimulus> {
    shield
        .channels
        .iter()
        .filter(|ch| ch.quantity == crate::config::ShieldQuantity::Current)
        .filter_map(|ch| {
            let dut = bench.dut(ch.dut.as_deref()?)?;
            let relay = dut.power.as_ref()?;
            lab.relay_closed(&relay.board, relay.channel)
                .then_some(Stimulus::Set {
                    detector: ch.detector,
                    center_khz: 0,
                    level: PHONE_IDLE_UA,
                    noise: PHONE_IDLE_NOISE_UA,
                })
        })
        .collect()
}
