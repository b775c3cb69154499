//! A simulated phone: a deterministic model of what a DUT emits (RF bursts,
//! supply current, Ethernet frames on its link) given the state the bench
//! put it in. No I/O, no threads, no wall clock: the runner feeds events at
//! run-clock times with [`SimPhone::apply`] and collects what the phone did
//! with [`SimPhone::advance`].
//!
//! Everything the phone does is one agenda of timed jobs drawn from one
//! seeded PRNG and run in time order, so a run depends on the seed and the
//! events only, not on how the caller slices time into `advance` windows.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use benchctl_net::{dns, frame};
use benchctl_rng::{SimRng, mix};

pub use crate::config::implant::Implant;
use crate::config::implant::{Proto, SECRET, secret_bit};

/// Boot, from power-on to a running system: a typical Android cold boot to
/// the lock screen.
pub const BOOT_S: f64 = 8.0;
/// The modem and Wi-Fi come up this share of the way into a boot (2.5 s of
/// the default 8); before, the phone is silent.
const RADIO_UP_SHARE: f64 = 2.5 / 8.0;

/// LTE band 3 uplink centre (1710-1785 MHz).
pub const LTE_KHZ: u32 = 1_747_500;
/// Wi-Fi 2.4 GHz channel 6, the lab AP's channel.
pub const WIFI_KHZ: u32 = 2_437_000;
/// BLE primary advertising channels 37, 38, 39.
pub const BLE_KHZ: [u32; 3] = [2_402_000, 2_426_000, 2_480_000];
/// BLE advInterval the phone advertises with (Core spec Vol 6 Part B 4.4.2.2:
/// a multiple of 0.625 ms; 300 ms is within Android's "balanced" mode range).
pub const BLE_ADV_INTERVAL_S: f64 = 0.3;
/// BLE advDelay: a pseudo-random 0-10 ms added to every advertising event
/// (same section) so that two advertisers do not collide forever.
pub const BLE_ADV_DELAY_MAX_S: f64 = 0.010;
/// Push (FCM/GCM) heartbeat on the connection to mtalk.google.com.
const PUSH_HEARTBEAT_S: f64 = 28.0 * 60.0;
/// Round trip to the lab gateway's resolver and beyond, range.
const RTT_S: (f64, f64) = (0.008, 0.040);

/// How the phone's link is switched (the bench's side, not the phone's).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhoneNet {
    /// Nothing answers: the phone's packets are captured and dropped.
    #[default]
    Isolated,
    Open,
    /// The phone gets answers; the caller drops answers from destinations
    /// outside the allowlist (the phone cannot know the bench's list).
    Allowlist,
}

impl From<crate::config::NetState> for PhoneNet {
    fn from(n: crate::config::NetState) -> Self {
        match n {
            crate::config::NetState::Isolated => PhoneNet::Isolated,
            crate::config::NetState::Open => PhoneNet::Open,
            crate::config::NetState::Allowlist => PhoneNet::Allowlist,
        }
    }
}

/// Whether the phone has supply and runs.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub enum Mode {
    /// No supply.
    #[default]
    Off,
    Booting {
        since: f64,
    },
    Running,
}

/// What the phone was told, and the link it is on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhoneState {
    pub mode: Mode,
    pub airplane: bool,
    pub screen: bool,
    /// Switched off in software: the supply is still on.
    pub soft_off: bool,
    /// Bluetooth enabled (airplane mode turns the radio off regardless).
    pub bluetooth: bool,
    pub net: PhoneNet,
}

impl Default for PhoneState {
    fn default() -> Self {
        PhoneState {
            mode: Mode::Off,
            airplane: false,
            screen: false,
            soft_off: false,
            bluetooth: true,
            net: PhoneNet::Isolated,
        }
    }
}

impl PhoneState {
    /// The OS runs: not off, not booting, not switched off in software.
    pub fn running(&self) -> bool {
        self.mode == Mode::Running && !self.soft_off
    }

    /// Radios on and associated: cellular and Wi-Fi up.
    pub fn online(&self) -> bool {
        self.running() && !self.airplane
    }
}

/// Something the bench did to the phone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PhoneEvent {
    /// Supply on; also the power key on a phone switched off in software.
    PowerOn,
    /// Supply cut: every setting of this power-on is lost.
    PowerOff,
    AirplaneOn,
    AirplaneOff,
    ScreenOn,
    ScreenOff,
    Bluetooth(bool),
    /// "Power off" in the phone's menu.
    SoftPowerOff,
    Reboot,
    Network(PhoneNet),
}

/// One transmission as the enclosure antenna sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfBurst {
    pub start_s: f64,
    pub duration_s: f64,
    pub center_khz: u32,
    pub level_dbm: f32,
}

/// Supply current, constant over `[start_s, end_s)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurrentSpan {
    pub start_s: f64,
    pub end_s: f64,
    pub amps: f64,
}

/// One Ethernet frame on the phone's link.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub t_s: f64,
    pub frame: Vec<u8>,
    /// Sent by the phone; false for answers to it.
    pub outbound: bool,
}

/// What the phone emitted in one `advance` window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Emissions {
    /// In start order.
    pub rf: Vec<RfBurst>,
    /// Contiguous, non-overlapping, covering the window.
    pub current: Vec<CurrentSpan>,
    /// In time order.
    pub packets: Vec<Packet>,
}

impl Emissions {
    /// The current at `t`; 0 outside the window.
    pub fn current_at(&self, t: f64) -> f64 {
        let i = self.current.partition_point(|s| s.end_s <= t);
        self.current
            .get(i)
            .filter(|s| s.start_s <= t)
            .map_or(0.0, |s| s.amps)
    }

    /// Append a later window's emissions.
    pub fn extend(&mut self, later: Emissions) {
        self.rf.extend(later.rf);
        self.current.extend(later.current);
        self.packets.extend(later.packets);
    }
}

/// Names a benign phone resolves, with the addresses the lab gateway answers.
const CONNCHECK: (&str, [u8; 4]) = ("connectivitycheck.gstatic.com", [142, 250, 74, 99]);
const TIME: (&str, [u8; 4]) = ("time.android.com", [216, 239, 35, 0]);
const PUSH: (&str, [u8; 4]) = ("mtalk.google.com", [142, 250, 102, 188]);
const APPS: [(&str, [u8; 4]); 4] = [
    ("www.googleapis.com", [142, 250, 74, 74]),
    ("play.googleapis.com", [142, 250, 74, 106]),
    ("android.clients.google.com", [142, 250, 74, 78]),
    ("www.youtube.com", [142, 250, 74, 110]),
];

/// Which gate a job belongs to: when its gate closes, its pending jobs die.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Boot,
    Radio,
    /// The phone's network traffic: needs a link that leads somewhere.
    Net,
    Ble,
    Implant(usize),
}

/// A TCP connection's numbers, enough for plausible segments.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Conn {
    remote: Ipv4Addr,
    lport: u16,
    rport: u16,
    /// Next sequence number the phone sends.
    snd: u32,
    /// Next sequence number the remote sends.
    rcv: u32,
}

#[derive(Debug, Clone, PartialEq)]
enum What {
    BootDone,
    BootBurst,
    LteGrant,
    WifiNull,
    BleAdv,
    /// A packet computed earlier (an answer, a retry) whose time has come.
    Packet(Packet),
    ConnCheck {
        attempt: u32,
    },
    Ntp {
        attempt: u32,
    },
    Push {
        attempt: u32,
    },
    PushHeartbeat {
        conn: Conn,
    },
    AppBurst,
    AirplaneTx {
        left: u32,
    },
    FakeOffWake,
    Talker,
    DnsExfil,
    Beacon,
    TimingSend {
        bit: u64,
        pos: u8,
    },
    RfSend {
        bit: u64,
        closes: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Job {
    t: f64,
    seq: u64,
    gate: Gate,
    generation: u64,
    what: What,
}

/// A simulated phone.
#[derive(Debug, Clone)]
pub struct SimPhone {
    name: String,
    seed: u64,
    ip: Ipv4Addr,
    mac: [u8; 6],
    implants: Vec<Implant>,
    state: PhoneState,
    rng: SimRng,
    agenda: Vec<Job>,
    seq: u64,
    /// Generation per gate; index by [`SimPhone::gate_index`].
    gens: Vec<u64>,
    /// State changes not yet reported in a window's current.
    changes: Vec<(f64, PhoneState)>,
    /// Current added by transmissions: (start, end, amps); kept until it ends.
    spikes: Vec<(f64, f64, f64)>,
    /// App traffic flows until then; the modem gets more uplink grants.
    app_until: f64,
    ip_id: u16,
    exfil_count: u32,
    /// Round trip to the resolver and beyond, drawn uniformly per exchange.
    rtt_s: (f64, f64),
    /// Period of the push connection's keep-alive.
    push_heartbeat_s: f64,
    /// How long a boot takes.
    boot_s: f64,
    out: Emissions,
}

/// The simulated lab's gateway (and resolver) on the link of a phone at
/// `ip`: the same /24's .1.
pub fn gateway(ip: Ipv4Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[0], o[1], o[2], 1)
}

/// The simulated gateway's MAC on that link: locally administered,
/// 02:00:00:4d:<the subnet's third octet>:01.
pub fn gateway_mac(ip: Ipv4Addr) -> [u8; 6] {
    [0x02, 0x00, 0x00, 0x4d, ip.octets()[2], 0x01]
}

impl SimPhone {
    /// A phone with supply off, at 10.77.1.2 until [`SimPhone::with_ip`].
    pub fn new(name: &str, seed: u64, implants: Vec<Implant>) -> Self {
        let h = mix(seed ^ 0x0050_484f_4e45);
        // A locally administered unicast MAC, stable per seed.
        let b = h.to_be_bytes();
        let n = implants.len();
        SimPhone {
            name: name.to_string(),
            seed,
            ip: Ipv4Addr::new(10, 77, 1, 2),
            mac: [0x02, b[0], b[1], b[2], b[3], b[4]],
            implants,
            state: PhoneState::default(),
            rng: SimRng::new(seed),
            agenda: Vec::new(),
            seq: 0,
            gens: vec![0; 4 + n],
            changes: Vec::new(),
            spikes: Vec::new(),
            app_until: f64::NEG_INFINITY,
            ip_id: h as u16,
            exfil_count: 0,
            rtt_s: RTT_S,
            push_heartbeat_s: PUSH_HEARTBEAT_S,
            boot_s: BOOT_S,
            out: Emissions::default(),
        }
    }

    /// A phone that boots in `seconds` (bench.toml's `boot`).
    pub fn with_boot(mut self, seconds: f64) -> Self {
        self.boot_s = seconds.max(0.0);
        self
    }

    /// A slower, more variable network behind the link than the lab's
    /// (8-40 ms): each round trip is drawn from `min_s..max_s`, as on a
    /// congested cellular backhaul or a satellite hop.
    pub fn with_round_trip(mut self, min_s: f64, max_s: f64) -> Self {
        self.rtt_s = (min_s.min(max_s), max_s.max(min_s));
        self
    }

    /// Push keep-alives every `period_s` (± 5 %) instead of Android's
    /// 28 minutes, as on networks whose NAT forgets idle connections fast
    /// and with chat apps that keep their own connection alive.
    pub fn with_push_heartbeat(mut self, period_s: f64) -> Self {
        self.push_heartbeat_s = period_s;
        self
    }

    /// The phone's address on its link; its gateway and DNS server is the
    /// same /24's .1.
    pub fn with_ip(mut self, ip: Ipv4Addr) -> Self {
        self.ip = ip;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }
    pub fn state(&self) -> PhoneState {
        self.state
    }

    fn gateway(&self) -> Ipv4Addr {
        gateway(self.ip)
    }

    fn gate_index(gate: Gate) -> usize {
        match gate {
            Gate::Boot => 0,
            Gate::Radio => 1,
            Gate::Ble => 2,
            Gate::Net => 3,
            Gate::Implant(i) => 4 + i,
        }
    }

    fn gate_open(&self, gate: Gate, s: &PhoneState) -> bool {
        match gate {
            Gate::Boot => matches!(s.mode, Mode::Booting { .. }),
            Gate::Radio => s.online(),
            // An isolated link is an access point gone dark: an honest
            // phone has no network on it and sends nothing there.
            Gate::Net => s.online() && s.net != PhoneNet::Isolated,
            Gate::Ble => s.online() && s.bluetooth,
            Gate::Implant(i) => match &self.implants[i] {
                Implant::AirplaneTx(_) => s.running() && s.airplane,
                Implant::FakeOff(_) => s.mode == Mode::Running && s.soft_off,
                Implant::IsolatedTalker(_) => s.online() && s.net == PhoneNet::Isolated,
                Implant::DnsExfil(_) | Implant::Beacon(_) | Implant::TimingChannel(_) => s.online(),
                Implant::RfTiming(_) => s.running(),
            },
        }
    }

    /// The bench did something at `t`. Call `advance` up to `t` first.
    pub fn apply(&mut self, t: f64, event: PhoneEvent) {
        let old = self.state;
        let mut new = old;
        let mut restart = false;
        match event {
            PhoneEvent::PowerOn => {
                if old.mode == Mode::Off || old.soft_off {
                    if old.mode == Mode::Off {
                        new = PhoneState {
                            net: old.net,
                            ..PhoneState::default()
                        };
                    }
                    new.mode = Mode::Booting { since: t };
                    new.soft_off = false;
                    restart = true;
                }
            }
            PhoneEvent::PowerOff => {
                new = PhoneState {
                    net: old.net,
                    ..PhoneState::default()
                };
            }
            PhoneEvent::Reboot if old.mode != Mode::Off => {
                // Airplane mode is a persisted setting: it survives a reboot.
                new.mode = Mode::Booting { since: t };
                new.soft_off = false;
                restart = true;
            }
            PhoneEvent::Reboot => {}
            PhoneEvent::SoftPowerOff if old.mode != Mode::Off => {
                new.mode = Mode::Running;
                new.soft_off = true;
            }
            PhoneEvent::SoftPowerOff => {}
            PhoneEvent::AirplaneOn => new.airplane = true,
            PhoneEvent::AirplaneOff => new.airplane = false,
            PhoneEvent::ScreenOn => new.screen = old.mode != Mode::Off && !old.soft_off,
            PhoneEvent::ScreenOff => new.screen = false,
            PhoneEvent::Bluetooth(on) => new.bluetooth = on,
            PhoneEvent::Network(net) => new.net = net,
        }
        self.transition(t, old, new, restart);
    }

    fn transition(&mut self, t: f64, old: PhoneState, new: PhoneState, restart: bool) {
        self.state = new;
        if old != new {
            self.changes.push((t, new));
        }
        let gates = [Gate::Boot, Gate::Radio, Gate::Net, Gate::Ble]
            .into_iter()
            .chain((0..self.implants.len()).map(Gate::Implant));
        for gate in gates.collect::<Vec<_>>() {
            let was = self.gate_open(gate, &old) && !restart;
            let now = self.gate_open(gate, &new);
            if was != now {
                self.gens[Self::gate_index(gate)] += 1;
                if now {
                    self.start(t, gate);
                }
            }
        }
    }

    /// Schedule the first jobs of a gate that just opened.
    fn start(&mut self, t: f64, gate: Gate) {
        match gate {
            Gate::Boot => {
                if let Mode::Booting { since } = self.state.mode {
                    self.schedule(since + self.boot_s, gate, What::BootDone);
                    let first = since + self.boot_s * RADIO_UP_SHARE + self.rng.range(0.0, 0.3);
                    self.schedule(first, gate, What::BootBurst);
                }
            }
            Gate::Net => {
                // What Android does once a network is up: validate it
                // (NetworkMonitor), set the clock, connect to push.
                let d = self.rng.range(0.2, 0.6);
                self.schedule(t + d, gate, What::ConnCheck { attempt: 0 });
                let d = self.rng.range(1.0, 2.0);
                self.schedule(t + d, gate, What::Ntp { attempt: 0 });
                let d = self.rng.range(1.5, 3.0);
                self.schedule(t + d, gate, What::Push { attempt: 0 });
                let d = self.rng.range(2.0, 6.0);
                self.schedule(t + d, gate, What::AppBurst);
            }
            Gate::Radio => {
                let d = self.rng.exp(0.3);
                self.schedule(t + d, gate, What::LteGrant);
                let d = self.rng.range(0.1, 1.0);
                self.schedule(t + d, gate, What::WifiNull);
            }
            Gate::Ble => {
                let d = self.rng.range(0.0, BLE_ADV_INTERVAL_S);
                self.schedule(t + d, gate, What::BleAdv);
            }
            Gate::Implant(i) => {
                let what_t = match &self.implants[i] {
                    Implant::AirplaneTx(a) => (
                        t + self.rng.range(2.0, 5.0),
                        What::AirplaneTx { left: a.count },
                    ),
                    Implant::FakeOff(f) => (
                        t + f.wake_every_s * self.rng.range(0.5, 1.0),
                        What::FakeOffWake,
                    ),
                    Implant::IsolatedTalker(k) => {
                        (t + k.every_s * self.rng.range(0.5, 1.0), What::Talker)
                    }
                    Implant::DnsExfil(d) => {
                        (t + d.every_s * self.rng.range(0.5, 1.0), What::DnsExfil)
                    }
                    Implant::Beacon(b) => (t + b.period_s * self.rng.range(0.1, 1.0), What::Beacon),
                    Implant::TimingChannel(_) => (
                        t + self.rng.range(3.0, 6.0),
                        What::TimingSend { bit: 0, pos: 0 },
                    ),
                    Implant::RfTiming(_) => (
                        t + self.rng.range(0.5, 2.0),
                        What::RfSend {
                            bit: 0,
                            closes: false,
                        },
                    ),
                };
                self.schedule(what_t.0, gate, what_t.1);
            }
        }
    }

    fn schedule(&mut self, t: f64, gate: Gate, what: What) {
        self.seq += 1;
        self.agenda.push(Job {
            t,
            seq: self.seq,
            gate,
            generation: self.gens[Self::gate_index(gate)],
            what,
        });
    }

    /// What the phone emitted in `[t_from, t_to)`. Windows should follow one
    /// another; jobs due before `t_from` run late rather than vanish.
    pub fn advance(&mut self, t_from: f64, t_to: f64) -> Emissions {
        let start_state = self
            .changes
            .iter()
            .rev()
            .find(|(t, _)| *t <= t_from)
            .map(|&(_, s)| s);
        let mut changes: Vec<(f64, PhoneState)> = self
            .changes
            .iter()
            .filter(|(t, _)| *t > t_from && *t < t_to)
            .copied()
            .collect();
        loop {
            let next = self
                .agenda
                .iter()
                .enumerate()
                .filter(|(_, j)| j.t < t_to)
                .min_by(|a, b| a.1.t.total_cmp(&b.1.t).then(a.1.seq.cmp(&b.1.seq)))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let job = self.agenda.swap_remove(i);
            if job.generation != self.gens[Self::gate_index(job.gate)] {
                continue;
            }
            let before = self.changes.len();
            self.run(job);
            changes.extend(self.changes[before..].iter().copied());
        }
        // The state at t_from: the last change before the window, or what
        // the state was before every change inside it.
        let first = start_state.unwrap_or_else(|| {
            self.changes
                .iter()
                .find(|(t, _)| *t > t_from)
                .map_or(self.state, |_| self.state_before(t_from))
        });
        self.changes.retain(|(t, _)| *t >= t_to);
        self.changes.push((t_to, self.state));
        let mut out = std::mem::take(&mut self.out);
        out.rf.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        out.packets.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        out.current = self.current_spans(t_from, t_to, first, &changes);
        self.spikes.retain(|s| s.1 > t_to);
        out
    }

    /// Best effort for a window that starts before any recorded change: the
    /// state the first change inside it replaced is not kept, so use the
    /// default (off), which is what a phone is before its first event.
    fn state_before(&self, _t: f64) -> PhoneState {
        PhoneState::default()
    }

    fn current_spans(
        &self,
        t_from: f64,
        t_to: f64,
        first: PhoneState,
        changes: &[(f64, PhoneState)],
    ) -> Vec<CurrentSpan> {
        // Breakpoints: state changes, spike edges, and a 100 ms grid on
        // which the baseline wanders (±5 %), as a real supply trace does.
        let mut cuts: Vec<f64> = vec![t_from, t_to];
        cuts.extend(changes.iter().map(|c| c.0));
        let grid0 = (t_from * 10.0).ceil() as i64;
        let grid1 = (t_to * 10.0).floor() as i64;
        cuts.extend((grid0..=grid1).map(|k| k as f64 / 10.0));
        for &(a, b, _) in &self.spikes {
            cuts.push(a);
            cuts.push(b);
        }
        cuts.retain(|t| (t_from..=t_to).contains(t));
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        let mut spikes: Vec<(f64, f64, f64)> = self.spikes.clone();
        spikes.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut spans = Vec::with_capacity(cuts.len());
        let mut ci = 0;
        let mut state = first;
        let mut si = 0;
        let mut active: Vec<(f64, f64)> = Vec::new();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            if b <= a {
                continue;
            }
            while ci < changes.len() && changes[ci].0 <= a {
                state = changes[ci].1;
                ci += 1;
            }
            while si < spikes.len() && spikes[si].0 <= a {
                active.push((spikes[si].1, spikes[si].2));
                si += 1;
            }
            active.retain(|s| s.0 > a);
            let base = self.baseline(&state, (a * 10.0).floor() as i64);
            let extra: f64 = if base > 0.0 {
                active.iter().map(|s| s.1).sum()
            } else {
                0.0
            };
            spans.push(CurrentSpan {
                start_s: a,
                end_s: b,
                amps: base + extra,
            });
        }
        spans
    }

    /// Current without transmissions, amperes.
    fn baseline(&self, s: &PhoneState, slot: i64) -> f64 {
        let nominal = match s.mode {
            // No supply, no current.
            Mode::Off => return 0.0,
            // CPU flat out, screen on with the boot animation.
            Mode::Booting { .. } => 0.38,
            Mode::Running if s.soft_off => {
                let fake = self.implants.iter().find_map(|i| match i {
                    Implant::FakeOff(f) => Some(f.current_ma / 1000.0),
                    _ => None,
                });
                // PMIC, RTC and charger logic of a phone shut down: ~2 mA.
                fake.unwrap_or(0.002)
            }
            Mode::Running => {
                // Suspended SoC with the modem in connected DRX; airplane
                // mode saves the modem's share.
                let idle = if s.airplane { 0.06 } else { 0.09 };
                idle + if s.screen { 0.21 } else { 0.0 }
            }
        };
        let u = (mix(self.seed ^ (slot as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)) >> 11) as f64
            / (1u64 << 53) as f64;
        nominal * (1.0 + 0.05 * (2.0 * u - 1.0))
    }

    fn burst(&mut self, start_s: f64, duration_s: f64, center_khz: u32, level_dbm: f32, amps: f64) {
        self.out.rf.push(RfBurst {
            start_s,
            duration_s,
            center_khz,
            level_dbm,
        });
        self.spikes.push((start_s, start_s + duration_s, amps));
    }

    /// An LTE uplink transmission: PA current grows with output power.
    fn lte(&mut self, t: f64, duration_s: f64, level_dbm: f32) {
        let amps = 0.25 + 0.25 * f64::from(((level_dbm + 60.0) / 30.0).clamp(0.0, 1.0));
        self.burst(t, duration_s, LTE_KHZ, level_dbm, amps);
    }

    fn run(&mut self, job: Job) {
        let t = job.t;
        let gate = job.gate;
        match job.what {
            What::BootDone => {
                let old = self.state;
                let mut new = old;
                new.mode = Mode::Running;
                self.transition(t, old, new, false);
            }
            What::BootBurst => {
                if let Mode::Booting { since } = self.state.mode {
                    if self.rng.unit() < 0.5 {
                        // Attach: PRACH preambles and RRC setup at high power
                        // (open-loop power control ramps up).
                        let level = self.rng.range(-34.0, -28.0) as f32;
                        self.lte(t, 0.001, level);
                    } else {
                        // Wi-Fi scan: probe requests on channels 1, 6, 11.
                        let ch = [2_412_000, WIFI_KHZ, 2_462_000][self.rng.below(3) as usize];
                        let level = self.rng.range(-40.0, -36.0) as f32;
                        self.burst(t, 0.0001, ch, level, 0.2);
                    }
                    let next = t + self.rng.exp(0.12);
                    if next < since + self.boot_s {
                        self.schedule(next, gate, What::BootBurst);
                    }
                }
            }
            What::LteGrant => {
                // Uplink grants are whole 1 ms TTIs; more and longer with traffic.
                let busy = t < self.app_until;
                let ttis = if busy {
                    1 + self.rng.below(10)
                } else {
                    1 + self.rng.below(3)
                };
                let level = if busy {
                    self.rng.range(-45.0, -30.0)
                } else {
                    self.rng.range(-55.0, -40.0)
                } as f32;
                self.lte(t, ttis as f64 * 0.001, level);
                let next = t + self.rng.exp(if busy { 0.035 } else { 0.35 });
                self.schedule(next, gate, What::LteGrant);
            }
            What::WifiNull => {
                // Null-data frames telling the AP the phone dozes / wakes.
                let level = self.rng.range(-42.0, -38.0) as f32;
                self.burst(t, 0.00006, WIFI_KHZ, level, 0.15);
                let next = t + self.rng.range(0.3, 2.5);
                self.schedule(next, gate, What::WifiNull);
            }
            What::BleAdv => {
                // One advertising event: ADV_IND on 37, 38, 39 in turn,
                // ~376 µs each (31-byte payload at 1 Mbit/s).
                let level = self.rng.range(-44.0, -41.0) as f32;
                for (k, ch) in BLE_KHZ.into_iter().enumerate() {
                    self.burst(t + k as f64 * 0.0005, 0.000376, ch, level, 0.008);
                }
                let next = t + BLE_ADV_INTERVAL_S + self.rng.range(0.0, BLE_ADV_DELAY_MAX_S);
                self.schedule(next, gate, What::BleAdv);
            }
            What::Packet(p) => self.emit(p),
            What::ConnCheck { attempt } => self.conn_check(t, attempt),
            What::Ntp { attempt } => self.ntp(t, attempt),
            What::Push { attempt } => self.push(t, attempt),
            What::PushHeartbeat { conn } => self.heartbeat(t, conn),
            What::AppBurst => self.app_burst(t),
            What::AirplaneTx { left } => {
                if let Some(Implant::AirplaneTx(a)) = self.implant(gate) {
                    let (d, khz, lvl) = (a.duration_ms / 1000.0, a.center_khz, a.level_dbm);
                    self.burst(t, d, khz, lvl, 0.35);
                    if left > 1 {
                        let next = t + self.rng.range(1.0, 4.0);
                        self.schedule(next, gate, What::AirplaneTx { left: left - 1 });
                    }
                }
            }
            What::FakeOffWake => {
                if let Some(Implant::FakeOff(f)) = self.implant(gate) {
                    let (wake, every) = (f.wake_ms / 1000.0, f.wake_every_s);
                    // The SoC wakes, the modem sends a short report.
                    self.spikes.push((t, t + wake, 0.3));
                    self.out.rf.push(RfBurst {
                        start_s: t + wake / 2.0,
                        duration_s: 0.005,
                        center_khz: LTE_KHZ,
                        level_dbm: -40.0,
                    });
                    let next = t + every * self.rng.range(0.9, 1.1);
                    self.schedule(next, gate, What::FakeOffWake);
                }
            }
            What::Talker => {
                if let Some(Implant::IsolatedTalker(k)) = self.implant(gate) {
                    let (dest, every) = (k.dest_ip, k.every_s);
                    let n = 48 + self.rng.below(112) as usize;
                    let payload = self.rng.bytes(n);
                    let sport = self.rng.port();
                    let f = self.udp_frame(true, dest, sport, 443, &payload);
                    self.emit(Packet {
                        t_s: t,
                        frame: f,
                        outbound: true,
                    });
                    let next = t + every * self.rng.range(0.9, 1.1);
                    self.schedule(next, gate, What::Talker);
                }
            }
            What::DnsExfil => {
                if let Some(Implant::DnsExfil(d)) = self.implant(gate) {
                    let (domain, every, len) = (d.domain.clone(), d.every_s, d.label_len);
                    let label = self.exfil_label(len.clamp(8, 63));
                    let name = format!("{label}.{domain}");
                    self.dns(t, &name, Some([198, 51, 100, 53]), false);
                    let next = t + every * self.rng.range(0.9, 1.1);
                    self.schedule(next, gate, What::DnsExfil);
                }
            }
            What::Beacon => {
                if let Some(Implant::Beacon(b)) = self.implant(gate) {
                    let b = b.clone();
                    match b.proto {
                        Proto::Tcp => {
                            self.connect(t, b.dest_ip, b.port, 3);
                        }
                        Proto::Udp => {
                            let payload = self.rng.bytes(64);
                            let sport = self.rng.port();
                            let f = self.udp_frame(true, b.dest_ip, sport, b.port, &payload);
                            self.emit(Packet {
                                t_s: t,
                                frame: f,
                                outbound: true,
                            });
                        }
                    }
                    let next = t + b.period_s * (1.0 + b.jitter * self.rng.range(-1.0, 1.0));
                    self.schedule(next, gate, What::Beacon);
                }
            }
            What::TimingSend { bit, pos } => {
                if let Some(Implant::TimingChannel(c)) = self.implant(gate) {
                    let c = c.clone();
                    let n = if c.cover_traffic {
                        60 + self.rng.below(1100) as usize
                    } else {
                        32
                    };
                    let payload = self.rng.bytes(n);
                    let f = self.udp_frame(true, c.dest_ip, 50_123, c.port, &payload);
                    self.emit(Packet {
                        t_s: t,
                        frame: f,
                        outbound: true,
                    });
                    // A byte is sent as a burst of packets, then a pause: the
                    // gaps inside the burst carry its bits, `k` per gap.
                    let (gap, next) = if pos < 8 {
                        let (k, gaps) = c.alphabet();
                        let symbol = (0..u64::from(k))
                            .fold(0usize, |s, i| s << 1 | usize::from(secret_bit(bit + i)));
                        (
                            gaps[symbol] / 1000.0,
                            What::TimingSend {
                                bit: bit + u64::from(k),
                                pos: pos + k as u8,
                            },
                        )
                    } else if c.cover_traffic {
                        (
                            self.rng.exp(3.0) + 3.0 * c.long_ms / 1000.0,
                            What::TimingSend { bit, pos: 0 },
                        )
                    } else {
                        (3.0 * c.long_ms / 1000.0, What::TimingSend { bit, pos: 0 })
                    };
                    let j = if pos < 8 {
                        1.0 + c.jitter * self.rng.range(-1.0, 1.0)
                    } else {
                        1.0
                    };
                    self.schedule(t + gap * j, gate, next);
                }
            }
            What::RfSend { bit, closes } => {
                if let Some(Implant::RfTiming(r)) = self.implant(gate) {
                    let r = r.clone();
                    self.burst(t, 0.001, r.center_khz, -45.0, 0.2);
                    // One gap per bit; the burst after the secret's last bit
                    // closes the message and a 5 s pause marks the boundary.
                    if closes {
                        self.schedule(t + 5.0, gate, What::RfSend { bit, closes: false });
                    } else {
                        let ms = if secret_bit(bit) {
                            r.long_ms
                        } else {
                            r.short_ms
                        };
                        let next = bit + 1;
                        let closes = next % (SECRET.len() as u64 * 8) == 0;
                        self.schedule(t + ms / 1000.0, gate, What::RfSend { bit: next, closes });
                    }
                }
            }
        }
    }

    fn implant(&self, gate: Gate) -> Option<&Implant> {
        match gate {
            Gate::Implant(i) => self.implants.get(i),
            _ => None,
        }
    }

    /// A never-repeating, random-looking label: a counter XORed with a fixed
    /// key (a bijection, so labels are distinct) followed by random bytes,
    /// all in base32 as DNS tunnels encode.
    fn exfil_label(&mut self, len: usize) -> String {
        const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
        let key = mix(self.seed ^ 0xE8F1) as u32;
        let c = self.exfil_count ^ key;
        self.exfil_count += 1;
        let mut bits: Vec<u8> = c.to_be_bytes().to_vec();
        bits.extend(self.rng.bytes(len));
        let mut out = String::with_capacity(len);
        let mut acc: u64 = 0;
        let mut nbits = 0;
        for b in bits {
            acc = (acc << 8) | u64::from(b);
            nbits += 8;
            while nbits >= 5 && out.len() < len {
                nbits -= 5;
                out.push(B32[((acc >> nbits) & 31) as usize] as char);
            }
        }
        out
    }

    /// Network round trip to the gateway's resolver or beyond.
    fn rtt(&mut self) -> f64 {
        self.rng.range(self.rtt_s.0, self.rtt_s.1)
    }

    fn answered(&self) -> bool {
        self.state.net != PhoneNet::Isolated
    }

    fn later(&mut self, t: f64, frame: Vec<u8>, outbound: bool) {
        self.schedule(
            t,
            Gate::Net,
            What::Packet(Packet {
                t_s: t,
                frame,
                outbound,
            }),
        );
    }

    /// Put a packet on the link. Every frame crosses the air first: the
    /// phone's own data frames, or the 802.11 ACK it sends a SIFS (16 µs)
    /// after receiving one.
    fn emit(&mut self, p: Packet) {
        if p.outbound {
            // ~65 Mbit/s MCS7 plus a 40 µs preamble.
            let d = 40e-6 + p.frame.len() as f64 * 8.0 / 65e6;
            let level = self.rng.range(-38.0, -33.0) as f32;
            self.burst(p.t_s, d, WIFI_KHZ, level, 0.22);
        } else {
            self.burst(p.t_s + 16e-6, 44e-6, WIFI_KHZ, -38.0, 0.15);
        }
        self.out.packets.push(p);
    }

    /// Resolve `name` (A and AAAA in parallel, as Android's resolver does);
    /// returns when the A answer arrives, None if nothing answers. With
    /// `retry`, an unanswered query is resent after the resolver's 5 s timeout.
    fn dns(&mut self, t: f64, name: &str, addr: Option<[u8; 4]>, retry: bool) -> Option<f64> {
        let gw = self.gateway();
        let mut reply = None;
        for (k, qtype) in [dns::rtype::A, dns::rtype::AAAA].into_iter().enumerate() {
            let id = self.rng.next_u64() as u16;
            let sport = self.rng.port();
            let q = dns::build_query(id, name, qtype);
            let tq = t + k as f64 * 0.0004;
            let f = self.udp_frame(true, gw, sport, 53, &q);
            self.later(tq, f, true);
            if self.answered() {
                let ta = tq + self.rtt();
                // The lab is IPv4 only: AAAA gets an empty NOERROR.
                let ans = match addr {
                    Some(a) if qtype == dns::rtype::A => {
                        dns::build_response(id, name, &[Ipv4Addr::from(a)], 300)
                    }
                    _ => dns::build_nodata(id, name, qtype),
                };
                let f = self.udp_frame_in(gw, 53, sport, &ans);
                self.later(ta, f, false);
                if qtype == 1 {
                    reply = Some(ta);
                }
            } else if retry {
                let id = self.rng.next_u64() as u16;
                let q = dns::build_query(id, name, qtype);
                let f = self.udp_frame(true, gw, sport, 53, &q);
                self.later(tq + 5.0, f, true);
            }
        }
        reply
    }

    /// A TCP handshake from `t`; unanswered SYNs are retransmitted after
    /// Linux's 1 s initial RTO, doubling, `retries` times.
    fn connect(
        &mut self,
        t: f64,
        remote: Ipv4Addr,
        rport: u16,
        retries: u32,
    ) -> Option<(f64, Conn)> {
        let mut c = Conn {
            remote,
            lport: self.rng.port(),
            rport,
            snd: self.rng.next_u64() as u32,
            rcv: self.rng.next_u64() as u32,
        };
        let syn = self.tcp_frame(true, &c, SYN, &[]);
        self.later(t, syn.clone(), true);
        if !self.answered() {
            let mut rto = 1.0;
            let mut ts = t;
            for _ in 0..retries {
                ts += rto;
                rto *= 2.0;
                self.later(ts, syn.clone(), true);
            }
            return None;
        }
        c.snd = c.snd.wrapping_add(1);
        let ta = t + self.rtt();
        let synack = self.tcp_frame(false, &c, SYN | ACK, &[]);
        self.later(ta, synack, false);
        c.rcv = c.rcv.wrapping_add(1);
        let ack = self.tcp_frame(true, &c, ACK, &[]);
        self.later(ta + 0.0002, ack, true);
        Some((ta + 0.0002, c))
    }

    /// A request and its response on an open connection; returns when done.
    fn exchange(&mut self, t: f64, c: &mut Conn, out_len: usize, in_len: usize) -> f64 {
        let req = self.rng.bytes(out_len);
        let f = self.tcp_frame(true, c, PSH | ACK, &req);
        self.later(t, f, true);
        c.snd = c.snd.wrapping_add(out_len as u32);
        let mut ti = t + self.rtt();
        let mut left = in_len;
        while left > 0 {
            let n = left.min(1400);
            let data = self.rng.bytes(n);
            let f = self.tcp_frame(false, c, PSH | ACK, &data);
            self.later(ti, f, false);
            c.rcv = c.rcv.wrapping_add(n as u32);
            left -= n;
            ti += self.rng.range(0.0002, 0.002);
        }
        let f = self.tcp_frame(true, c, ACK, &[]);
        self.later(ti, f, true);
        ti
    }

    fn close(&mut self, t: f64, c: &mut Conn) {
        let f = self.tcp_frame(true, c, FIN | ACK, &[]);
        self.later(t, f, true);
        c.snd = c.snd.wrapping_add(1);
        let ta = t + self.rtt();
        let f = self.tcp_frame(false, c, FIN | ACK, &[]);
        self.later(ta, f, false);
        c.rcv = c.rcv.wrapping_add(1);
        let f = self.tcp_frame(true, c, ACK, &[]);
        self.later(ta + 0.0002, f, true);
    }

    fn conn_check(&mut self, t: f64, attempt: u32) {
        match self.dns(t, CONNCHECK.0, Some(CONNCHECK.1), true) {
            Some(ta) => {
                // Validated; Android does not probe a validated network again
                // until something changes. (The TLS exchange is cut to a
                // request and a response of typical size.)
                if let Some((tc, mut c)) = self.connect(ta + 0.001, CONNCHECK.1.into(), 443, 0) {
                    let done = self.exchange(tc + 0.001, &mut c, 517, 4200);
                    self.close(done + 0.05, &mut c);
                }
            }
            None => {
                // NetworkMonitor: a probe times out after ~10 s, then it
                // re-evaluates with a delay doubling from 1 s up to 10 min.
                let delay = 10.0 + 2f64.powi(attempt.min(10) as i32).min(600.0);
                self.schedule(
                    t + delay,
                    Gate::Net,
                    What::ConnCheck {
                        attempt: attempt + 1,
                    },
                );
            }
        }
    }

    fn ntp(&mut self, t: f64, attempt: u32) {
        match self.dns(t, TIME.0, Some(TIME.1), false) {
            Some(ta) => {
                let server: Ipv4Addr = TIME.1.into();
                let sport = self.rng.port();
                let tq = ta + 0.001;
                let req = ntp_packet(0x23, &self.rng.bytes(8));
                let f = self.udp_frame(true, server, sport, 123, &req);
                self.later(tq, f, true);
                let resp = ntp_packet(0x24, &self.rng.bytes(8));
                let f = self.udp_frame_in(server, 123, sport, &resp);
                let tr = tq + self.rtt();
                self.later(tr, f, false);
            }
            None => {
                // NetworkTimeUpdateService: 3 retries a minute apart, then
                // it waits for the daily poll.
                if attempt < 3 {
                    self.schedule(
                        t + 60.0,
                        Gate::Net,
                        What::Ntp {
                            attempt: attempt + 1,
                        },
                    );
                }
            }
        }
    }

    fn push(&mut self, t: f64, attempt: u32) {
        let connected = self
            .dns(t, PUSH.0, Some(PUSH.1), false)
            .and_then(|ta| self.connect(ta + 0.001, PUSH.1.into(), 5228, 0));
        match connected {
            Some((tc, mut c)) => {
                let done = self.exchange(tc + 0.001, &mut c, 280, 900);
                let next = done + self.push_heartbeat_s * self.rng.range(0.95, 1.05);
                self.schedule(next, Gate::Net, What::PushHeartbeat { conn: c });
            }
            None => {
                // Reconnect backoff, 10 s doubling to 15 min, randomised.
                let d = (10.0 * 2f64.powi(attempt.min(10) as i32)).min(900.0);
                let next = t + d * self.rng.range(0.8, 1.2);
                self.schedule(
                    next,
                    Gate::Net,
                    What::Push {
                        attempt: attempt + 1,
                    },
                );
            }
        }
    }

    fn heartbeat(&mut self, t: f64, mut c: Conn) {
        if self.answered() {
            let done = self.exchange(t, &mut c, 31, 31);
            let next = done + self.push_heartbeat_s * self.rng.range(0.95, 1.05);
            self.schedule(next, Gate::Net, What::PushHeartbeat { conn: c });
        } else {
            // The link went dark: retransmit (RTO from 0.4 s, doubling),
            // give up, and reconnect later.
            let data = self.rng.bytes(31);
            let f = self.tcp_frame(true, &c, PSH | ACK, &data);
            let mut ts = t;
            let mut rto = 0.4;
            for _ in 0..4 {
                self.later(ts, f.clone(), true);
                ts += rto;
                rto *= 2.0;
            }
            self.schedule(ts + 30.0, Gate::Net, What::Push { attempt: 0 });
        }
    }

    fn app_burst(&mut self, t: f64) {
        let (name, addr) = APPS[self.rng.below(APPS.len() as u64) as usize];
        let mut end = t + 0.1;
        if let Some(ta) = self.dns(t, name, Some(addr), true) {
            // A kept-alive connection: a session of request/response pairs
            // with short exponential think times.
            let mut c = Conn {
                remote: addr.into(),
                lport: self.rng.port(),
                rport: 443,
                snd: self.rng.next_u64() as u32,
                rcv: self.rng.next_u64() as u32,
            };
            let pairs = 1 + self.rng.below(8);
            let mut tp = ta + 0.002;
            for _ in 0..pairs {
                let out_len = 80 + self.rng.below(600) as usize;
                let in_len = 200 + self.rng.pareto(800.0, 1.2).min(60_000.0) as usize;
                tp = self.exchange(tp, &mut c, out_len, in_len) + self.rng.exp(0.15);
            }
            end = tp;
        }
        self.app_until = self.app_until.max(end);
        // Sessions: heavy-tailed pauses, shorter while someone uses the
        // screen, long while the phone dozes.
        let xm = if self.state.screen { 2.0 } else { 15.0 };
        let gap = self.rng.pareto(xm, 1.5).min(1800.0);
        self.schedule(end + gap, Gate::Net, What::AppBurst);
    }

    fn next_ip_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    /// An Ethernet/IPv4 frame between the phone and `remote` via the gateway.
    fn ip_frame(&mut self, outbound: bool, remote: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
        let gw = self.gateway();
        let gw_mac = gateway_mac(self.ip);
        let (src, dst, smac, dmac, ttl) = if outbound {
            (self.ip, remote, self.mac, gw_mac, 64)
        } else {
            // Answers from beyond the gateway arrive with hops used up.
            let ttl = if remote == gw { 64 } else { 117 };
            (remote, self.ip, gw_mac, self.mac, ttl)
        };
        let id = if outbound {
            self.next_ip_id()
        } else {
            self.rng.next_u64() as u16
        };
        frame::ethernet(
            dmac,
            smac,
            frame::ETHERTYPE_IPV4,
            &frame::ipv4(src, dst, proto, ttl, id, l4),
        )
    }

    fn udp_frame(
        &mut self,
        outbound: bool,
        remote: Ipv4Addr,
        lport: u16,
        rport: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let (src, dst, sp, dp) = if outbound {
            (self.ip, remote, lport, rport)
        } else {
            (remote, self.ip, rport, lport)
        };
        let seg = frame::udp(src.into(), dst.into(), sp, dp, payload);
        self.ip_frame(outbound, remote, 17, &seg)
    }

    /// An answer from `remote:rport` to the phone's `lport`.
    fn udp_frame_in(
        &mut self,
        remote: Ipv4Addr,
        rport: u16,
        lport: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        self.udp_frame(false, remote, lport, rport, payload)
    }

    fn tcp_frame(&mut self, outbound: bool, c: &Conn, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (src, dst, sp, dp, seq, ack) = if outbound {
            (self.ip, c.remote, c.lport, c.rport, c.snd, c.rcv)
        } else {
            (c.remote, self.ip, c.rport, c.lport, c.rcv, c.snd)
        };
        // A SYN carries what Android's kernel offers: MSS 1460, SACK
        // permitted, timestamps, window scale 7 (20 option bytes).
        let mut syn_options = [0u8; 20];
        let options: &[u8] = if flags & SYN != 0 {
            syn_options[..8].copy_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
            syn_options[8..12].copy_from_slice(&seq.rotate_left(7).to_be_bytes());
            syn_options[12..].copy_from_slice(&[0, 0, 0, 0, 1, 3, 3, 7]);
            &syn_options
        } else {
            &[]
        };
        let seg = frame::Tcp {
            sport: sp,
            dport: dp,
            seq,
            ack: if flags & ACK != 0 { ack } else { 0 },
            flags,
            window: if flags & SYN != 0 { 65535 } else { 502 },
            options,
        }
        .segment(src.into(), dst.into(), payload);
        self.ip_frame(outbound, c.remote, 6, &seg)
    }
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// An SNTP packet (RFC 4330): `first` = LI/VN/mode (0x23 client v4, 0x24
/// server v4), transmit timestamp from `ts`.
fn ntp_packet(first: u8, ts: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 48];
    p[0] = first;
    if first & 7 == 4 {
        p[1] = 1; // stratum 1
        p[12..16].copy_from_slice(b"GOOG");
    }
    let n = ts.len().min(8);
    p[40..40 + n].copy_from_slice(&ts[..n]);
    p
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Apply `events` in order, advancing in 1 s windows up to `until`.
    pub(crate) fn run(p: &mut SimPhone, events: &[(f64, PhoneEvent)], until: f64) -> Emissions {
        let mut all = Emissions::default();
        let mut t = 0.0;
        let mut ev = events.iter().peekable();
        while t < until {
            while let Some((te, e)) = ev.peek() {
                if *te <= t {
                    p.apply(*te, *e);
                    ev.next();
                } else {
                    break;
                }
            }
            let next = ev
                .peek()
                .map_or(t + 1.0, |(te, _)| te.min(t + 1.0))
                .min(until);
            all.extend(p.advance(t, next));
            t = next;
        }
        all
    }

    pub(crate) struct Udp {
        pub dst: Ipv4Addr,
        pub sport: u16,
        pub dport: u16,
        pub payload: Vec<u8>,
    }

    pub(crate) struct Tcp {
        pub dst: Ipv4Addr,
        pub flags: u8,
    }

    /// The IPv4 packet of an Ethernet frame, with its header checked.
    fn ipv4_of(frame: &[u8]) -> (u8, Ipv4Addr, Ipv4Addr, &[u8]) {
        assert_eq!(&frame[12..14], &[0x08, 0x00], "ethertype");
        let ip = &frame[14..];
        assert_eq!(ip[0], 0x45);
        assert_eq!(frame::checksum(&ip[..20], 0), 0, "IPv4 header checksum");
        let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
        assert_eq!(total, ip.len(), "IPv4 total length");
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        (ip[9], src, dst, &ip[20..])
    }

    pub(crate) fn decode_udp(frame: &[u8]) -> Option<Udp> {
        let (proto, src, dst, l4) = ipv4_of(frame);
        if proto != 17 {
            return None;
        }
        let len = u16::from_be_bytes([l4[4], l4[5]]) as usize;
        assert_eq!(len, l4.len(), "UDP length");
        assert_eq!(
            frame::checksum(l4, frame::pseudo_sum(src.into(), dst.into(), 17, len)),
            0,
            "UDP checksum"
        );
        Some(Udp {
            dst,
            sport: u16::from_be_bytes([l4[0], l4[1]]),
            dport: u16::from_be_bytes([l4[2], l4[3]]),
            payload: l4[8..].to_vec(),
        })
    }

    pub(crate) fn decode_tcp(frame: &[u8]) -> Option<Tcp> {
        let (proto, src, dst, l4) = ipv4_of(frame);
        if proto != 6 {
            return None;
        }
        assert_eq!(
            frame::checksum(l4, frame::pseudo_sum(src.into(), dst.into(), 6, l4.len())),
            0,
            "TCP checksum"
        );
        assert!(usize::from(l4[12] >> 4) * 4 <= l4.len());
        Some(Tcp { dst, flags: l4[13] })
    }

    /// The question name of a DNS query or answer frame.
    pub(crate) fn dns_name(frame: &[u8]) -> Option<String> {
        let u = decode_udp(frame)?;
        if u.dport != 53 && u.sport != 53 {
            return None;
        }
        let m = &u.payload;
        assert_eq!(u16::from_be_bytes([m[4], m[5]]), 1, "one question");
        let mut i = 12;
        let mut labels = Vec::new();
        while m[i] != 0 {
            let n = m[i] as usize;
            assert!(n <= 63);
            labels.push(String::from_utf8(m[i + 1..i + 1 + n].to_vec()).expect("ascii"));
            i += 1 + n;
        }
        Some(labels.join("."))
    }

    fn day(p: &mut SimPhone, net: PhoneNet) -> Emissions {
        run(
            p,
            &[
                (0.0, PhoneEvent::Network(net)),
                (1.0, PhoneEvent::PowerOn),
                (30.0, PhoneEvent::ScreenOn),
                (90.0, PhoneEvent::ScreenOff),
            ],
            200.0,
        )
    }

    #[test]
    fn same_seed_same_emissions_whatever_the_windows() {
        let a = day(&mut SimPhone::new("phone-a", 42, vec![]), PhoneNet::Open);
        let b = day(&mut SimPhone::new("phone-a", 42, vec![]), PhoneNet::Open);
        assert_eq!(a, b);
        assert!(!a.packets.is_empty() && !a.rf.is_empty());
        // One big window: the same RF and packets, the same current.
        let mut p = SimPhone::new("phone-a", 42, vec![]);
        p.apply(0.0, PhoneEvent::Network(PhoneNet::Open));
        p.apply(1.0, PhoneEvent::PowerOn);
        let mut c = p.advance(1.0, 30.0);
        p.apply(30.0, PhoneEvent::ScreenOn);
        c.extend(p.advance(30.0, 90.0));
        p.apply(90.0, PhoneEvent::ScreenOff);
        c.extend(p.advance(90.0, 200.0));
        assert_eq!(a.rf, c.rf);
        assert_eq!(a.packets, c.packets);
        for k in 0..2000 {
            let t = 1.05 + k as f64 * 0.0991;
            assert!((a.current_at(t) - c.current_at(t)).abs() < 1e-12, "at {t}");
        }
        let d = day(&mut SimPhone::new("phone-a", 43, vec![]), PhoneNet::Open);
        assert_ne!(a.rf, d.rf);
    }

    #[test]
    fn airplane_mode_is_rf_silent_and_offline() {
        let mut p = SimPhone::new("phone-a", 1, vec![]);
        let e = run(
            &mut p,
            &[
                (0.0, PhoneEvent::PowerOn),
                (15.0, PhoneEvent::AirplaneOn),
                (80.0, PhoneEvent::AirplaneOff),
            ],
            100.0,
        );
        let during = |b: &RfBurst| b.start_s >= 15.0 && b.start_s < 80.0;
        assert!(!e.rf.iter().any(during));
        assert!(!e.packets.iter().any(|p| (15.0..80.0).contains(&p.t_s)));
        // Before and after: the phone's radios are busy.
        assert!(
            e.rf.iter()
                .filter(|b| b.start_s >= 80.0 && b.center_khz == LTE_KHZ)
                .count()
                > 20
        );
        assert!(e.rf.iter().any(|b| b.start_s < 8.0), "boot bursts");
        let idle = e.current_at(50.0);
        assert!((0.05..0.07).contains(&idle), "{idle}");
    }

    #[test]
    fn ble_advertises_every_300_ms_plus_adv_delay() {
        let mut p = SimPhone::new("phone-a", 5, vec![]);
        let e = run(&mut p, &[(0.0, PhoneEvent::PowerOn)], 120.0);
        let adv: Vec<f64> =
            e.rf.iter()
                .filter(|b| b.center_khz == BLE_KHZ[0])
                .map(|b| b.start_s)
                .collect();
        assert!(adv.len() > 350, "{}", adv.len());
        for w in adv.windows(2) {
            let g = w[1] - w[0];
            assert!((0.300 - 1e-9..=0.310 + 1e-9).contains(&g), "gap {g}");
        }
        let mean = (adv[adv.len() - 1] - adv[0]) / (adv.len() - 1) as f64;
        assert!((0.303..0.307).contains(&mean), "{mean}");
        assert!(adv[0] >= BOOT_S);
    }

    #[test]
    fn off_draws_nothing_soft_off_little_running_tens_of_ma() {
        let mut p = SimPhone::new("phone-a", 9, vec![]);
        let e = run(
            &mut p,
            &[
                (2.0, PhoneEvent::PowerOn),
                (40.0, PhoneEvent::ScreenOn),
                (60.0, PhoneEvent::ScreenOff),
                (80.0, PhoneEvent::SoftPowerOff),
                (100.0, PhoneEvent::PowerOff),
            ],
            120.0,
        );
        assert!(e.current_at(1.0) < 0.001);
        assert!(e.current_at(110.0) < 0.001);
        assert!(e.rf.iter().all(|b| b.start_s < 80.0) && e.packets.iter().all(|p| p.t_s < 80.0));
        assert!((0.3..0.5).contains(&e.current_at(5.0)), "booting");
        let soft = e.current_at(90.0);
        assert!(soft > 0.0 && soft < 0.005, "{soft}");
        // Median, not mean: transmit spikes sit on top of the baseline.
        let median = |a: f64, b: f64| {
            let mut v: Vec<f64> = (0..200)
                .map(|k| e.current_at(a + (b - a) * k as f64 / 200.0))
                .collect();
            v.sort_by(f64::total_cmp);
            v[100]
        };
        assert!((0.06..0.15).contains(&median(20.0, 40.0)));
        assert!((0.25..0.35).contains(&median(41.0, 59.0)));
        let peak = e.current.iter().map(|s| s.amps).fold(0.0, f64::max);
        assert!(peak > 0.3, "transmit spikes {peak}");
        // Spans tile the run.
        for w in e.current.windows(2) {
            assert!((w[0].end_s - w[1].start_s).abs() < 1e-12);
        }
    }

    #[test]
    fn every_frame_parses_and_dns_names_decode() {
        let mut p = SimPhone::new("phone-b", 11, Vec::new()).with_ip(Ipv4Addr::new(10, 77, 2, 2));
        let e = day(&mut p, PhoneNet::Open);
        let mut names = std::collections::BTreeSet::new();
        for pk in &e.packets {
            assert!(decode_udp(&pk.frame).is_some() || decode_tcp(&pk.frame).is_some());
            if let Some(n) = dns_name(&pk.frame) {
                names.insert(n);
            }
        }
        for want in [
            "connectivitycheck.gstatic.com",
            "time.android.com",
            "mtalk.google.com",
        ] {
            assert!(names.contains(want), "{names:?}");
        }
        // Answers come from the gateway, the NTP server answers mode 4.
        let gw = Ipv4Addr::new(10, 77, 2, 1);
        assert!(
            e.packets
                .iter()
                .any(|p| !p.outbound && dns_name(&p.frame).is_some() && ipv4_of(&p.frame).1 == gw)
        );
        assert!(
            e.packets
                .iter()
                .any(|p| decode_udp(&p.frame)
                    .is_some_and(|u| u.sport == 123 && u.payload[0] == 0x24))
        );
        // A TCP SYN to 443 for the connectivity check.
        assert!(e.packets.iter().any(|p| {
            p.outbound
                && decode_tcp(&p.frame)
                    .is_some_and(|t| t.flags == SYN && t.dst == Ipv4Addr::from(CONNCHECK.1))
        }));
    }

    #[test]
    fn isolated_phone_is_silent_on_its_link_but_its_radios_stay_on() {
        // Isolation is the DUT's access point gone dark: an honest phone has
        // no network there, so the tap sees nothing from it, while its
        // modem and Wi-Fi radio go on transmitting.
        let mut p = SimPhone::new("phone-a", 3, vec![]);
        let e = day(&mut p, PhoneNet::Isolated);
        assert!(e.packets.is_empty(), "{} packets", e.packets.len());
        assert!(e.rf.iter().any(|b| b.center_khz == LTE_KHZ));
        // Back on a live link, it validates the network at once.
        let mut p = SimPhone::new("phone-a", 3, vec![]);
        let e = run(
            &mut p,
            &[
                (0.0, PhoneEvent::Network(PhoneNet::Isolated)),
                (1.0, PhoneEvent::PowerOn),
                (100.0, PhoneEvent::Network(PhoneNet::Open)),
            ],
            110.0,
        );
        assert!(e.packets.iter().all(|p| p.t_s >= 100.0));
        let check = e
            .packets
            .iter()
            .find(|p| dns_name(&p.frame).as_deref() == Some(CONNCHECK.0))
            .expect("a connectivity check");
        assert!(check.t_s < 101.0, "at {}", check.t_s);
    }

    #[test]
    fn push_heartbeat_every_28_minutes() {
        let mut p = SimPhone::new("phone-a", 4, vec![]);
        let e = run(
            &mut p,
            &[
                (0.0, PhoneEvent::Network(PhoneNet::Open)),
                (0.0, PhoneEvent::PowerOn),
            ],
            3600.0 * 1.5,
        );
        let hb: Vec<f64> = e
            .packets
            .iter()
            .filter(|p| p.outbound)
            .filter(|p| {
                let ip = &p.frame[14..];
                ip[9] == 6
                    && ip.len() == 20 + 20 + 31
                    && u16::from_be_bytes([ip[22], ip[23]]) == 5228
            })
            .map(|p| p.t_s)
            .collect();
        assert!(hb.len() >= 2, "{hb:?}");
        for w in hb.windows(2) {
            assert!((1590.0..1770.0).contains(&(w[1] - w[0])), "{hb:?}");
        }
    }
}
