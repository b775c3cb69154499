//! The plant: the physics between the simulated bench and the simulated
//! shield. A thread that watches the simulated lab (relays, links, what the
//! phones were told, as `benchctl` switched them), runs each simulated
//! phone's model on the run clock, and puts what the phones emit where the
//! bench's sensors pick it up:
//!
//! - RF bursts and supply current into the simulated shield's [`Exposure`],
//!   so they reach the recording through the real shield firmware, the pty
//!   and the host link;
//! - Ethernet frames onto the DUT's link, as a tap on the link captures them
//!   (a channel to the recorder), filtered as the link's state says;
//! - now and then a strong signal from the room that every antenna hears.
//!
//! The runner does not talk to the plant: it switches the bench, the lab
//! file changes, and the plant sees it at its next tick, as a phone sees a
//! relay click.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::exposure::{self, CurrentSpan, Exposure, RfSpan};
use super::phone::{Emissions, PhoneEvent, PhoneNet, SimPhone};
use super::{LabState, SimLab};
use crate::config::{BenchConfig, DeviceBackend, NetState, ShieldChannel, ShieldQuantity};
use crate::hw::shield::RunClock;
use crate::hw::{HwError, TappedPacket};
use benchctl_net::Allowlist;
use benchctl_rng::{SimRng, mix};

/// How often the plant looks at the lab and runs the phones.
const TICK: Duration = Duration::from_millis(10);
/// How far ahead it tells the shield what the phones will emit: must cover
/// a late tick, or the shield samples a moment nobody described.
const FORECAST_S: f64 = 0.25;

/// A simulated phone on the bench and where it is wired.
#[derive(Debug, Clone)]
pub struct PlantPhone {
    pub dut: String,
    /// The relay feeding it; `None`: on its own battery, always powered.
    pub supply: Option<(String, u8)>,
    pub link: Option<String>,
    pub phone: SimPhone,
}

/// What the plant simulates.
#[derive(Debug, Clone)]
pub struct PlantSetup {
    pub phones: Vec<PlantPhone>,
    /// The shield's channels: which antenna hears which band for which DUT.
    pub channels: Vec<ShieldChannel>,
    /// Mean time between room interference bursts; `None`: a quiet room.
    pub room_every: Option<Duration>,
    pub room_seed: u64,
}

impl PlantSetup {
    /// The simulated phones among `duts` on `bench`, with the shield's
    /// channels; a DUT without a simulated device is not simulated.
    pub fn for_bench(bench: &BenchConfig, duts: &[&str], room_seed: u64) -> Self {
        let phones = duts
            .iter()
            .filter_map(|name| bench.dut(name))
            .filter_map(|dut| {
                let DeviceBackend::Sim(sim) = &dut.device else {
                    return None;
                };
                let mut phone = SimPhone::new(&dut.name, sim.seed, sim.implants.clone())
                    .with_boot(sim.boot.as_secs_f64());
                if let Some(ip) = bench.dut_address(&dut.name) {
                    phone = phone.with_ip(ip);
                }
                Some(PlantPhone {
                    dut: dut.name.clone(),
                    supply: dut.power.as_ref().map(|p| (p.board.clone(), p.channel)),
                    link: dut.link.clone(),
                    phone,
                })
            })
            .collect();
        let shield = bench.shield.as_ref();
        PlantSetup {
            phones,
            channels: shield.map(|s| s.channels.clone()).unwrap_or_default(),
            room_every: shield.and_then(|s| s.room_interference),
            room_seed,
        }
    }
}

/// What the plant did, for the run's summary and tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlantReport {
    pub ticks: u64,
    /// Ticks that started more than a forecast late (the shield then
    /// sampled moments the plant had not described).
    pub late_ticks: u64,
    pub rf_bursts: u64,
    pub room_bursts: u64,
    pub packets: u64,
    /// Answers the link's allowlist kept from the DUT.
    pub packets_blocked: u64,
    pub lab_read_errors: u64,
}

/// The running plant; `stop` ends it.
#[derive(Debug)]
pub struct Plant {
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<PlantReport>>,
}

impl Plant {
    /// Start the plant thread. `shield_boot` is the instant the simulated
    /// shield's clock reads 0, `clock` the run clock packets are stamped on.
    pub fn start(
        setup: PlantSetup,
        lab: Arc<SimLab>,
        exposure: Exposure,
        shield_boot: Instant,
        clock: RunClock,
        tap: Sender<TappedPacket>,
    ) -> std::io::Result<Plant> {
        let running = Arc::new(AtomicBool::new(true));
        let thread = {
            let running = running.clone();
            std::thread::Builder::new()
                .name("sim-plant".into())
                .spawn(move || {
                    let mut world = World::new(setup, exposure, shield_boot, clock);
                    while running.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        match lab.snapshot() {
                            Ok(state) => world.tick(clock.seconds(started), &state, &tap),
                            Err(e) => world.lab_unreadable(&e),
                        }
                        std::thread::sleep(TICK.saturating_sub(started.elapsed()));
                    }
                    world.report
                })?
        };
        Ok(Plant {
            running,
            thread: Some(thread),
        })
    }

    /// Stop the thread and say what it did.
    pub fn stop(mut self) -> PlantReport {
        self.finish()
    }

    fn finish(&mut self) -> PlantReport {
        self.running.store(false, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Plant {
    fn drop(&mut self) {
        self.finish();
    }
}

/// What the plant knows of one phone's inputs, from the lab file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Inputs {
    powered: bool,
    power_on: u64,
    airplane: bool,
    screen: bool,
    soft_off: bool,
    reboots: u64,
    net: NetState,
}

#[derive(Debug)]
struct PhoneSlot {
    wiring: PlantPhone,
    /// Inputs already applied to the model.
    applied: Inputs,
    /// The link's allowlist while it is in state allowlist.
    allow: Option<Allowlist>,
    allow_entries: Vec<String>,
}

/// The plant's state, separate from its thread so tests drive it tick by tick.
#[derive(Debug)]
pub struct World {
    phones: Vec<PhoneSlot>,
    channels: Vec<ShieldChannel>,
    exposure: Exposure,
    /// Run time (s) the phones have been run up to.
    committed: f64,
    /// Shield µs at run time 0.
    shield_us_at_origin: i128,
    room: Option<Room>,
    report: PlantReport,
}

impl World {
    pub fn new(
        setup: PlantSetup,
        exposure: Exposure,
        shield_boot: Instant,
        clock: RunClock,
    ) -> Self {
        let shield_us_at_origin = match clock.origin().checked_duration_since(shield_boot) {
            Some(d) => d.as_micros() as i128,
            None => -(shield_boot.duration_since(clock.origin()).as_micros() as i128),
        };
        let centers = rf_centers(&setup.channels);
        let room = setup
            .room_every
            .filter(|_| !centers.is_empty())
            .map(|every| Room {
                every_s: every.as_secs_f64(),
                rng: SimRng::new(mix(setup.room_seed ^ 0x524f_4f4d)),
                queue: VecDeque::new(),
                centers,
            });
        World {
            phones: setup
                .phones
                .into_iter()
                .map(|wiring| PhoneSlot {
                    wiring,
                    applied: Inputs::default(),
                    allow: None,
                    allow_entries: Vec::new(),
                })
                .collect(),
            channels: setup.channels,
            exposure,
            committed: 0.0,
            shield_us_at_origin,
            room,
            report: PlantReport::default(),
        }
    }

    pub fn report(&self) -> &PlantReport {
        &self.report
    }

    /// The lab could not be read this tick: the phones keep their inputs.
    pub fn lab_unreadable(&mut self, e: &HwError) {
        self.report.lab_read_errors += 1;
        tracing::warn!("plant: cannot read the simulated lab: {e}");
    }

    fn shield_us(&self, t: f64) -> u64 {
        let us = self.shield_us_at_origin + (t * 1e6).round() as i128;
        u64::try_from(us.max(0)).unwrap_or(u64::MAX)
    }

    /// Run the world up to run time `now` with the lab as it is.
    pub fn tick(&mut self, now: f64, lab: &LabState, tap: &Sender<TappedPacket>) {
        self.report.ticks += 1;
        if now - self.committed > FORECAST_S {
            self.report.late_ticks += 1;
        }
        let from = self.committed;
        let now = now.max(from);
        let mut packets = Vec::new();
        for slot in &mut self.phones {
            // What happened up to now was forecast already; now it is final.
            let done = slot.wiring.phone.advance(from, now);
            self.report.rf_bursts += done.rf.len() as u64;
            for p in done.packets {
                if p.outbound {
                    slot.sends(p.t_s, &p.frame);
                } else if !slot.lets_in(p.t_s, &p.frame) {
                    self.report.packets_blocked += 1;
                    continue;
                }
                packets.push(TappedPacket {
                    dut: slot.wiring.dut.clone(),
                    t: p.t_s,
                    frame: p.frame,
                    outbound: p.outbound,
                });
            }
            slot.follow(now, lab);
        }
        self.committed = now;
        packets.sort_by(|a, b| a.t.total_cmp(&b.t));
        self.report.packets += packets.len() as u64;
        for p in packets {
            // A closed tap means the recorder is gone: the run is ending.
            let _ = tap.send(p);
        }
        self.forecast(now);
    }

    /// Tell the shield what the phones and the room will emit over the
    /// next `FORECAST_S` if nothing changes.
    fn forecast(&mut self, now: f64) {
        let until = now + FORECAST_S;
        let mut rf = Vec::new();
        let mut current = Vec::new();
        for slot in &self.phones {
            let coming = slot.wiring.phone.clone().advance(now, until);
            self.hear(&slot.wiring.dut, &coming, &mut rf, &mut current);
        }
        if let Some(room) = &mut self.room {
            let (bursts, new) = room.bursts(now, until);
            self.report.room_bursts += new;
            for burst in bursts {
                for ch in self
                    .channels
                    .iter()
                    .filter(|c| c.quantity == ShieldQuantity::Rf)
                {
                    if !ch.hears(burst.center_khz) {
                        continue;
                    }
                    // The enclosure lets the room in weakened by its isolation.
                    let loss = ch.isolation();
                    rf.push(RfSpan {
                        detector: ch.detector,
                        center_khz: ch.center_khz,
                        start_us: self.shield_us(burst.start),
                        end_us: self.shield_us(burst.end),
                        mw: exposure::mw(burst.level_dbm - loss),
                    });
                }
            }
        }
        self.exposure.publish(self.shield_us(now), rf, current);
    }

    /// Which shield channels pick up what `dut` emits.
    fn hear(
        &self,
        dut: &str,
        coming: &Emissions,
        rf: &mut Vec<RfSpan>,
        current: &mut Vec<CurrentSpan>,
    ) {
        let mine = self
            .channels
            .iter()
            .filter(|c| c.dut.as_deref() == Some(dut));
        for ch in mine {
            match ch.quantity {
                ShieldQuantity::Rf | ShieldQuantity::Occupancy => {
                    for b in coming.rf.iter().filter(|b| ch.hears(b.center_khz)) {
                        rf.push(RfSpan {
                            detector: ch.detector,
                            center_khz: ch.center_khz,
                            start_us: self.shield_us(b.start_s),
                            end_us: self.shield_us(b.start_s + b.duration_s),
                            mw: exposure::mw(f64::from(b.level_dbm)),
                        });
                    }
                }
                ShieldQuantity::Current => {
                    for s in &coming.current {
                        current.push(CurrentSpan {
                            detector: ch.detector,
                            start_us: self.shield_us(s.start_s),
                            end_us: self.shield_us(s.end_s),
                            amps: s.amps,
                        });
                    }
                }
            }
        }
    }
}

impl PhoneSlot {
    /// What the lab file says this phone's inputs are now.
    fn inputs(&self, lab: &LabState) -> Inputs {
        let (powered, power_on) = match &self.wiring.supply {
            None => (true, 0),
            Some((board, ch)) => (lab.relay_closed(board, *ch), lab.power_on_count(board, *ch)),
        };
        let settings = lab
            .phones
            .get(&self.wiring.dut)
            .filter(|s| s.power_on == power_on)
            .copied()
            .unwrap_or_default();
        let net = self
            .wiring
            .link
            .as_ref()
            .and_then(|l| lab.links.get(l).copied())
            .unwrap_or(NetState::Isolated);
        Inputs {
            powered,
            power_on,
            airplane: powered && settings.airplane,
            screen: powered && settings.screen,
            soft_off: powered && settings.soft_off,
            reboots: if powered { settings.reboots } else { 0 },
            net,
        }
    }

    /// Apply at `t` whatever changed in the lab since the last tick.
    fn follow(&mut self, t: f64, lab: &LabState) {
        let new = self.inputs(lab);
        let old = self.applied;
        if new.net != old.net || (new.net == NetState::Allowlist && self.allow_changed(lab)) {
            self.set_allowlist(lab, new.net);
        }
        if new == old {
            return;
        }
        let phone = &mut self.wiring.phone;
        let mut events = Vec::new();
        if new.power_on != old.power_on && old.powered {
            // Cut and restored between two ticks (a quick cycle).
            events.push(PhoneEvent::PowerOff);
        }
        if new.powered != old.powered || new.power_on != old.power_on {
            events.push(if new.powered {
                PhoneEvent::PowerOn
            } else {
                PhoneEvent::PowerOff
            });
        }
        if new.powered {
            if new.airplane != old.airplane {
                events.push(if new.airplane {
                    PhoneEvent::AirplaneOn
                } else {
                    PhoneEvent::AirplaneOff
                });
            }
            if new.screen != old.screen {
                events.push(if new.screen {
                    PhoneEvent::ScreenOn
                } else {
                    PhoneEvent::ScreenOff
                });
            }
            if new.soft_off && !old.soft_off {
                events.push(PhoneEvent::SoftPowerOff);
            }
            if new.reboots > old.reboots && new.power_on == old.power_on {
                events.push(PhoneEvent::Reboot);
            }
        }
        if new.net != old.net {
            events.push(PhoneEvent::Network(PhoneNet::from(new.net)));
        }
        for event in events {
            phone.apply(t, event);
        }
        self.applied = new;
    }

    fn allow_changed(&self, lab: &LabState) -> bool {
        let entries = self
            .wiring
            .link
            .as_ref()
            .and_then(|l| lab.allowlists.get(l));
        entries.is_none_or(|e| *e != self.allow_entries)
    }

    fn set_allowlist(&mut self, lab: &LabState, net: NetState) {
        if net != NetState::Allowlist {
            self.allow = None;
            self.allow_entries.clear();
            return;
        }
        let entries = self
            .wiring
            .link
            .as_ref()
            .and_then(|l| lab.allowlists.get(l))
            .cloned()
            .unwrap_or_default();
        self.allow = match Allowlist::parse(&entries) {
            Ok(a) => Some(a),
            Err(e) => {
                // The scenario checked its entries; another writer of the
                // lab file may not have. Nothing gets through a bad list.
                tracing::warn!(dut = %self.wiring.dut, "plant: unusable allowlist: {e}");
                Some(Allowlist::default())
            }
        };
        self.allow_entries = entries;
    }

    /// A frame the DUT sent: the link passes it (the analyzer judges it)
    /// but notes its DNS queries, whose answers it then lets teach the
    /// allowlist.
    fn sends(&mut self, t: f64, frame: &[u8]) {
        if self.applied.net == NetState::Allowlist
            && let Some(allow) = &mut self.allow
        {
            allow.lets_out(t, frame);
        }
    }

    /// Whether an answer to the DUT gets through its link.
    fn lets_in(&mut self, t: f64, frame: &[u8]) -> bool {
        match self.applied.net {
            NetState::Open => true,
            // The phone model sends no answers on an isolated link; if one
            // came, the isolation would drop it.
            NetState::Isolated => false,
            NetState::Allowlist => match &mut self.allow {
                None => false,
                Some(allow) => allow.lets_in(t, frame),
            },
        }
    }
}

/// A distinct RF centre per band the shield listens to: where room
/// interference lands.
fn rf_centers(channels: &[ShieldChannel]) -> Vec<u32> {
    let mut centers: Vec<u32> = channels
        .iter()
        .filter(|c| c.quantity == ShieldQuantity::Rf)
        .map(|c| c.center_khz)
        .collect();
    centers.sort_unstable();
    centers.dedup();
    centers
}

/// Interference from the room: another phone walking past, a neighbour's
/// access point, a LoRa gateway. Poisson arrivals, 20-300 ms long, strong.
#[derive(Debug)]
struct Room {
    every_s: f64,
    rng: SimRng,
    /// Drawn bursts not yet over, in time order; the last one starts after
    /// the latest forecast.
    queue: VecDeque<RoomBurst>,
    centers: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
struct RoomBurst {
    start: f64,
    end: f64,
    center_khz: u32,
    level_dbm: f64,
    /// Counted in the report once it has been forecast.
    counted: bool,
}

impl Room {
    fn draw(&mut self, after: f64) -> RoomBurst {
        let start = after + self.rng.exp(self.every_s);
        let pick = self.rng.below(self.centers.len() as u64) as usize;
        RoomBurst {
            start,
            end: start + self.rng.range(0.02, 0.3),
            center_khz: self.centers[pick],
            level_dbm: self.rng.range(-50.0, -20.0),
            counted: false,
        }
    }

    /// The bursts overlapping `[from, until)`, and how many of them are new.
    fn bursts(&mut self, from: f64, until: f64) -> (Vec<RoomBurst>, u64) {
        while self.queue.back().is_none_or(|b| b.start < until) {
            let after = self.queue.back().map_or(from, |b| b.end);
            let next = self.draw(after);
            self.queue.push_back(next);
        }
        self.queue.retain(|b| b.end > from);
        let mut new = 0;
        let mut out = Vec::new();
        for b in self.queue.iter_mut().filter(|b| b.start < until) {
            new += u64::from(!b.counted);
            b.counted = true;
            out.push(*b);
        }
        (out, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::sim::PhoneSettings;

    fn bench() -> BenchConfig {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench.toml"));
        crate::config::parse(path, &std::fs::read_to_string(path).expect("bench.toml"))
            .expect("default bench")
    }

    /// A world on the default bench whose shield booted at the run's start.
    fn world(room: Option<Duration>) -> (World, Exposure) {
        let bench = bench();
        let mut setup = PlantSetup::for_bench(&bench, &["phone-a", "phone-b"], 7);
        setup.room_every = room;
        let exposure = Exposure::new();
        let origin = Instant::now();
        (
            World::new(setup, exposure.clone(), origin, RunClock::new(origin)),
            exposure,
        )
    }

    /// Tick every 10 ms over `[from, to)` with the lab as `lab` says.
    fn run(w: &mut World, lab: &LabState, from: f64, to: f64) -> Vec<TappedPacket> {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut t = from;
        while t < to {
            w.tick(t, lab, &tx);
            t += 0.01;
        }
        rx.try_iter().collect()
    }

    fn us(t: f64) -> u64 {
        (t * 1e6) as u64
    }

    #[test]
    fn phones_follow_the_lab_and_reach_the_shield() {
        let (mut w, exposure) = world(None);
        let mut lab = LabState::default();
        // Supply off: nothing on phone-a's antenna (detector 0) or sensor (8).
        run(&mut w, &lab, 0.0, 1.0);
        assert_eq!(exposure.current_a(8, us(0.9)), Some(0.0));
        lab.relays.insert("relays".into(), vec![1]);
        lab.power_ons.insert("relays/1".into(), 1);
        lab.links.insert("link-a".into(), NetState::Open);
        run(&mut w, &lab, 1.0, 3.0);
        // Booting draws hundreds of mA (the exposure keeps the last two
        // seconds and the forecast).
        assert!(exposure.current_a(8, us(2.9)).is_some_and(|a| a > 0.1));
        assert_eq!(exposure.current_a(9, us(2.9)), Some(0.0));
        // Running, the phone talks on its link (only phone-a: its supply is on).
        let packets = run(&mut w, &lab, 3.0, 30.0);
        assert!(packets.iter().any(|p| p.dut == "phone-a" && p.outbound));
        assert!(packets.iter().all(|p| p.dut == "phone-a"));
        assert!(w.report().rf_bursts > 50, "{:?}", w.report());
        let lte = (28_000..30_000)
            .filter(|ms| exposure.rf_mw(0, 1_747_500, ms * 1000, ms * 1000 + 1000) > 0.0)
            .count();
        assert!(lte > 0, "LTE on phone-a's antenna within the last 2 s kept");

        // Airplane mode, told through the lab: the antenna goes quiet.
        lab.phones.insert(
            "phone-a".into(),
            PhoneSettings {
                airplane: true,
                power_on: 1,
                ..PhoneSettings::default()
            },
        );
        run(&mut w, &lab, 30.0, 40.0);
        let heard = (38_000..40_000u64)
            .filter(|ms| exposure.rf_mw(0, 1_747_500, ms * 1000, ms * 1000 + 1000) > 0.0)
            .count();
        assert_eq!(heard, 0);
        // A supply cut: the current drops to zero within a tick.
        lab.relays.clear();
        run(&mut w, &lab, 40.0, 41.0);
        assert_eq!(exposure.current_a(8, us(40.5)), Some(0.0));
    }

    #[test]
    fn the_room_is_heard_by_every_antenna_weaker_inside_the_enclosures() {
        let (mut w, exposure) = world(Some(Duration::from_millis(500)));
        let lab = LabState::default();
        run(&mut w, &lab, 0.0, 60.0);
        assert!(w.report().room_bursts >= 60, "{:?}", w.report());
        // The phones are off: whatever the antennas hear is the room. Both
        // enclosures hear it alike; the ambient antenna (LTE only) 30 dB
        // stronger.
        let mut heard = 0;
        for ms in 58_000..60_000u64 {
            let (a, b) = (ms * 1000, ms * 1000 + 1000);
            for center in [1_747_500, 2_437_000, 2_402_000, 866_500] {
                let inside = exposure.rf_mw(0, center, a, b);
                assert_eq!(inside, exposure.rf_mw(1, center, a, b));
                if inside > 0.0 {
                    heard += 1;
                }
                if center == 1_747_500 && inside > 0.0 {
                    let ambient = exposure.rf_mw(2, center, a, b);
                    let loss = exposure::dbm(ambient) - exposure::dbm(inside);
                    assert!(
                        (loss - crate::config::DEFAULT_ISOLATION_DB).abs() < 1e-6,
                        "{loss}"
                    );
                }
            }
        }
        assert!(heard > 0, "a burst in the last two seconds");
    }
}
