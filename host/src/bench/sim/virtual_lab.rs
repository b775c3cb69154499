//! The simulated lab in virtual time: the phones, the room and the shield's
//! detectors stepped by the caller instead of by threads on the wall clock.
//!
//! Why: a live run takes its scenario's time on the wall clock (the demo,
//! 55 s), and an evaluation of the detectors needs thousands of labelled
//! recordings. Nothing in a simulated run needs the wall clock except the
//! plumbing between the threads (pty, link, tap), so the runner's virtual
//! clock (`runner::virtual_time`) drives the same models without it:
//!
//! - the bench switches the in-memory [`SimLab`] through the same simulated
//!   backends a live bench uses (`backends.rs`);
//! - each [`VirtualLab::tick`] runs the plant's [`World`] from that lab
//!   state, as the plant thread does every 10 ms on the wall clock, and
//!   publishes what the phones emit into an [`Exposure`];
//! - one frame per sample period is measured from that exposure by the
//!   simulated shield's own [`DetectorModel`] (floor, peak hold, noise), so
//!   a recording in virtual time and one made through the pty cannot drift
//!   apart.
//!
//! What differs from a live run, on purpose: the shield's clock is the run
//! clock (sample `i` is at `t = i / rate`), no frame is lost, and the seed
//! replaces the run id as the seed of the room and of the detectors' noise,
//! so the same seed gives the same data.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use shield_protocol as wire;

use super::exposure::Exposure;
use super::phone::SimPhone;
use super::plant::{PlantReport, PlantSetup, World};
use super::shield::DetectorModel;
use super::{LazyLab, SimLab};
use crate::bench::shield::wire_config;
use crate::config::{BenchConfig, ShieldConfig, ShieldQuantity};
use crate::hw::shield::RunClock;
use crate::hw::{HwError, TappedPacket};
use benchctl_rng::mix;

/// How often the lab runs the phones: the plant thread's tick.
pub const TICK_US: u64 = 10_000;

/// What a run in virtual time needs besides the bench and the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualOptions {
    /// Seeds the room's interference and the detectors' noise (what the run
    /// id seeds in a live run). The phones' own seeds are in the bench.
    pub seed: u64,
    /// `t = 0`: `run.json`'s `started_utc`, the packets' UTC timestamps.
    pub started_utc: SystemTime,
    /// How every simulated phone's network behaves beyond bench.toml.
    pub phones: PhoneTuning,
}

impl VirtualOptions {
    /// A run with this seed starting at a fixed instant
    /// (2026-11-26T15:30:00Z), so that the same seed writes the same files,
    /// timestamps included.
    pub fn new(seed: u64) -> Self {
        VirtualOptions {
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

/// Why the virtual lab cannot be set up for a bench.
#[derive(Debug, thiserror::Error)]
pub enum VirtualLabError {
    /// The simulated shield would refuse this channel, as a live run's
    /// Configure would.
    #[error("shield channel \"{channel}\": {problem}")]
    Channel { channel: String, problem: String },
    #[error("the shield cannot sample at {0} samples per second")]
    SampleRate(u32),
    #[error(transparent)]
    Hw(#[from] HwError),
}

/// Where what the lab's sensors pick up goes: the run's files.
pub trait SensorSink {
    type Error;
    /// A packet the tap saw on a DUT's link.
    fn packet(&mut self, packet: &TappedPacket) -> Result<(), Self::Error>;
    /// Whole shield frames, interleaved: one raw wire value per channel
    /// (`shield_protocol::NO_READING` for none), channel 0 first.
    fn frames(&mut self, raw: &[i32]) -> Result<(), Self::Error>;
}

/// The simulated lab of one run in virtual time.
#[derive(Debug)]
pub struct VirtualLab {
    lab: Arc<SimLab>,
    world: Option<World>,
    sampler: Option<Sampler>,
    tap: Sender<TappedPacket>,
    tapped: Receiver<TappedPacket>,
}

impl VirtualLab {
    /// The simulated phones among `duts`, and the shield's detectors as
    /// bench.toml configures them, over `lab` (the bench's own, in memory).
    pub fn new(
        bench: &BenchConfig,
        lab: &LazyLab,
        duts: &[&str],
        options: &VirtualOptions,
    ) -> Result<Self, VirtualLabError> {
        let sampler = bench
            .shield
            .as_ref()
            .map(|s| Sampler::new(s, options.seed))
            .transpose()?;
        // "ROOMSEED": the room's stream apart from the noise's, same seed.
        let room_seed = mix(options.seed ^ 0x524f_4f4d_5345_4544);
        let mut setup = PlantSetup::for_bench(bench, duts, room_seed);
        for p in &mut setup.phones {
            p.phone = options.phones.apply(p.phone.clone());
        }
        let exposure = sampler
            .as_ref()
            .map_or_else(Exposure::new, |s| s.exposure.clone());
        // The shield's clock reads 0 at the run's t = 0.
        let origin = Instant::now();
        let world = (!setup.phones.is_empty())
            .then(|| World::new(setup, exposure, origin, RunClock::new(origin)));
        let (tap, tapped) = mpsc::channel();
        Ok(VirtualLab {
            lab: lab.get()?,
            world,
            sampler,
            tap,
            tapped,
        })
    }

    /// One tick: the phones run up to `t_us` with the lab as the bench has
    /// switched it by then, their packets go to `out`, then every shield
    /// sample due in `[t_us, until_us)` is measured into `out`.
    pub fn tick<S: SensorSink>(
        &mut self,
        t_us: u64,
        until_us: u64,
        out: &mut S,
    ) -> Result<(), S::Error> {
        if let Some(world) = &mut self.world {
            let tap = &self.tap;
            // The lab is in memory: reading it cannot fail, but if it did the
            // phones would keep their inputs for a tick, as on a live bench.
            if let Err(e) = self
                .lab
                .inspect(|state| world.tick(t_us as f64 / 1e6, state, tap))
            {
                world.lab_unreadable(&e);
            }
        }
        for p in self.tapped.try_iter() {
            out.packet(&p)?;
        }
        if let Some(s) = &mut self.sampler {
            s.sample(t_us, until_us, out)?;
        }
        Ok(())
    }

    /// Set the lab's clock to run time `t_us` (the runner's virtual now,
    /// between ticks): device control times a phone's boot by it.
    pub fn set_now(&self, t_us: u64) {
        let _ = self.lab.update(|s| s.virtual_now = Some(t_us as f64 / 1e6));
    }

    /// What the phones and the room did.
    pub fn report(&self) -> Option<&PlantReport> {
        self.world.as_ref().map(|w| w.report())
    }
}

/// The simulated shield's detectors as configured, measuring every channel
/// once per sample period from the exposure.
#[derive(Debug)]
struct Sampler {
    model: DetectorModel,
    channels: Vec<wire::ChannelConfig>,
    exposure: Exposure,
    period_us: u64,
    /// The next sample's index; its time is `index * period_us`.
    next: u64,
    /// Reused: a tick's frames.
    raw: Vec<i32>,
}

impl Sampler {
    /// Check the channels as the simulated shield's Configure and the
    /// bench's wiring check would, and get the detectors ready.
    fn new(config: &ShieldConfig, seed: u64) -> Result<Sampler, VirtualLabError> {
        let wire = wire_config(config);
        let rate = config.sample_rate_hz;
        let period_us = u64::from(1_000_000u32.checked_div(rate).unwrap_or(0));
        if period_us == 0 {
            return Err(VirtualLabError::SampleRate(rate));
        }
        let mut model = DetectorModel::seeded(seed);
        for (index, (ch, wire_ch)) in config.channels.iter().zip(wire.channels.iter()).enumerate() {
            let refuse = |problem: String| VirtualLabError::Channel {
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
        }
        Ok(Sampler {
            model,
            channels: wire.channels.to_vec(),
            exposure: Exposure::new(),
            period_us,
            next: 0,
            raw: Vec::new(),
        })
    }

    /// Every sample due in `[from_us, until_us)`, into `out`.
    fn sample<S: SensorSink>(
        &mut self,
        from_us: u64,
        until_us: u64,
        out: &mut S,
    ) -> Result<(), S::Error> {
        let period = self.period_us;
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
        self.raw.clear();
        for index in self.next..=last {
            let t_us = index * period;
            for (channel, config) in self.channels.iter().enumerate() {
                let channel = u8::try_from(channel).unwrap_or(u8::MAX);
                self.raw
                    .push(self.model.measure(channel, config, t_us, &window));
            }
        }
        self.next = last + 1;
        out.frames(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_tuning_slows_the_network_and_hastens_keepalives() {
        use super::super::phone::tests::run;
        use super::super::phone::{Emissions, PhoneEvent, PhoneNet};
        use benchctl_net::parse_ethernet;
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
