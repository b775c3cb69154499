//! A labelled corpus for the detector evaluation: per class of behaviour,
//! as many recordings as asked for, each with its own randomized
//! parameters, made in virtual time by benchctl's runner (`run_in_virtual_time`).
//!
//! Why randomized and tiered: a detector tuned on the demo's one implant
//! (three 5 ms bursts at -40 dBm) says nothing about the weak end, and a
//! detector that never saw a noisy but honest phone says nothing about
//! false alarms. So every class spans strengths down to the hard end
//! (one 50 ms burst 10 dB above the floor, beacons with 20 % jitter,
//! timing channels with 10 % jitter hidden in cover traffic, fake-off at
//! 8 mA, ...), and the benign class is made of hard negatives: a busy
//! room, BLE advertising, frequent push keep-alives, bursty app traffic,
//! slow networks.
//!
//! The set-up every case shares:
//!
//! - the bench is a copy of the default bench (`bench.toml`, compiled in).
//!   phone-b is the phone under test, with the case's implant (or none) and
//!   seed. phone-a stays on the bench but out of the scenario: switched
//!   off all run long, its enclosure is an empty shielded box whose
//!   antennas hear only the room, through the same 30 dB as phone-b's. That
//!   is the room reference in every band (the ambient antenna covers only
//!   LTE), as a lab would keep one enclosure empty to calibrate against.
//! - the scenario is [`eval_scenario_text`]: boot, online behind an
//!   allowlist (screen on, then off), isolated, airplane, soft-off; 650 s.
//! - the room interference rate, the network's round trip and the push
//!   keep-alive period are drawn per case (the benign tiers force them on),
//!   so they do not tell the classes apart.
//!
//! Everything is a pure function of `(class, index, master_seed)`: the
//! same triple gives the same case and, recorded, the same data files.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;

use benchctl::bench::{PhoneTuning, VirtualOptions};
use benchctl::config::implant::{
    AirplaneTx, Beacon, DnsExfil, FakeOff, Implant, IsolatedTalker, Proto, RfTiming, TimingChannel,
};
use benchctl::config::{
    BenchConfig, DEFAULT_SIM_BOOT, DEFAULT_SIM_BUILD, DeviceBackend, SimDevice,
};
use benchctl::runner::{RunError, RunOutcome, record_in_virtual_time};
use benchctl::scenario::Scenario;
use benchctl_rng::{SimRng, mix};

/// The phone under test in every case.
pub const DUT: &str = "phone-b";

/// The default bench, the template of every case's bench.
const DEFAULT_BENCH: &str = include_str!("../../../bench.toml");

/// The evaluation's scenario; its allowlist (what an honest phone talks to
/// online) is `scenarios/backdoor-hunt.toml`'s.
const EVAL_SCENARIO: &str = r#"# The detector evaluation's scenario (tools/eval, corpus.rs): one phone
# under test through every phase a backdoor might hide in, each just long
# enough for the weakest case of its class to show:
# - online 480 s (screen on, then off): >= 100 timing-channel gaps even
#   with cover traffic, >= 12 DNS-exfil queries at one per 40 s; with the
#   isolated phase after it (the phone stays "online" on an isolated link)
#   540 s of beacon time: 9 check-ins at a 60 s period, as a lab would
#   give a slow beacon minutes, not seconds;
# - isolated 60 s: an isolated talker sending every 55 s sends at least once;
# - airplane 60 s: a long quiet stretch for one weak 50 ms burst;
# - soft-off 40 s: a fake-off current shows at once.
# Every phase settles for 1 s (written into the run directory as
# expect.settle_s): the simulated phone obeys at once, the second is the
# bench's switching, as the thresholds were tuned with.
[scenario]
name = "eval"
description = "Detector evaluation: boot, online behind an allowlist, isolated, airplane, soft-off; one phone under test"
duts = ["phone-b"]
on_fault = "abort"
settle = "1s"

steps = [
  { phase = "boot" },
  { do = "net.isolate" },
  { do = "usb.on" },
  { do = "power.on" },
  { wait = "10s" },

  { phase = "online", net = "allowlist", allow = ["gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"] },
  { do = "net.allowlist", allow = ["gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"] },
  { do = "device.screen", state = "on" },
  { wait = "240s" },
  { do = "device.screen", state = "off" },
  { wait = "240s" },

  { phase = "isolated", net = "none" },
  { do = "net.isolate" },
  { wait = "60s" },

  { phase = "airplane", rf = "silent", net = "none" },
  { do = "device.airplane", state = "on" },
  { wait = "60s" },

  { phase = "soft-off", rf = "silent", net = "none", power = "off", off_current_a = 0.005 },
  { do = "device.power-off" },
  { wait = "40s" },
  { mark = "end of scenario" },
]
"#;

/// The scenario every case runs (see the module docs).
pub fn eval_scenario_text() -> &'static str {
    EVAL_SCENARIO
}

/// What a recording is labelled with: the phone's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// An honest phone, in hard conditions.
    Benign,
    AirplaneTx,
    FakeOff,
    IsolatedTalker,
    DnsExfil,
    Beacon,
    TimingChannel,
    RfTiming,
}

impl Class {
    pub const ALL: [Class; 8] = [
        Class::Benign,
        Class::AirplaneTx,
        Class::FakeOff,
        Class::IsolatedTalker,
        Class::DnsExfil,
        Class::Beacon,
        Class::TimingChannel,
        Class::RfTiming,
    ];

    /// `benign`, or the implant's kind as bench.toml names it.
    pub fn name(self) -> &'static str {
        match self {
            Class::Benign => "benign",
            Class::AirplaneTx => "airplane-tx",
            Class::FakeOff => "fake-off",
            Class::IsolatedTalker => "isolated-talker",
            Class::DnsExfil => "dns-exfil",
            Class::Beacon => "beacon",
            Class::TimingChannel => "timing-channel",
            Class::RfTiming => "rf-timing",
        }
    }

    /// The strength tiers of the class, strongest first; case `index`
    /// gets tier `index % len`, so any run of consecutive indexes covers
    /// them evenly. Benign tiers name the conditions the phone is in.
    pub fn strengths(self) -> &'static [&'static str] {
        match self {
            Class::Benign => &["quiet", "busy-room", "keepalive", "slow-net", "all-at-once"],
            _ => &["strong", "medium", "weak", "hardest"],
        }
    }

    fn salt(self) -> u64 {
        // Stable per class, whatever the enum's order becomes.
        self.name().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Class {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Class::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
                format!("no class \"{s}\" (classes: {})", names.join(", "))
            })
    }
}

/// One labelled recording to make.
#[derive(Debug, Clone)]
pub struct Case {
    pub class: Class,
    /// One of `class.strengths()`.
    pub strength: String,
    /// The default bench with this case's phone-b and room.
    pub bench: BenchConfig,
    /// [`eval_scenario_text`], checked against `bench`.
    pub scenario: Scenario,
    /// The run's seed: the room and the detectors' noise.
    pub seed: u64,
    /// phone-b's implant; `None` for a benign case.
    pub implant: Option<Implant>,
    /// The network and app traffic phone-b is in.
    pub phones: PhoneTuning,
}

impl Case {
    /// How to record it: its seed and tuning, at the fixed start time.
    pub fn options(&self) -> VirtualOptions {
        VirtualOptions {
            phones: self.phones,
            ..VirtualOptions::new(self.seed)
        }
    }

    /// Record it into the run directory `dir` (its name is the run id:
    /// leave the class out of it if the analyzer must not see it).
    pub fn record(&self, dir: &Path) -> Result<RunOutcome, RunError> {
        self.record_scenario(&self.scenario, dir)
    }

    /// Record `scenario` (made for the case's bench) as the case would be.
    pub fn record_scenario(&self, scenario: &Scenario, dir: &Path) -> Result<RunOutcome, RunError> {
        record_in_virtual_time(&self.bench, scenario, dir, &self.options())
    }

    /// The ground truth, for the evaluation's label file: class, strength,
    /// the implant's parameters and the conditions, as JSON.
    pub fn label(&self) -> serde_json::Value {
        let phone_seed = match self.bench.dut(DUT).map(|d| &d.device) {
            Some(DeviceBackend::Sim(sim)) => Some(sim.seed),
            _ => None,
        };
        serde_json::json!({
            "class": self.class,
            "strength": self.strength,
            "dut": DUT,
            "seed": self.seed,
            "phone_seed": phone_seed,
            "implant": self.implant,
            "room_interference_s": self
                .bench
                .shield
                .as_ref()
                .and_then(|s| s.room_interference)
                .map(|d| d.as_secs_f64()),
            "phones": self.phones,
        })
    }
}

/// Why no case could be made: the compiled-in bench or scenario does not
/// parse (a build that changed `bench.toml` under the corpus).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the evaluation's {what} does not parse: {detail}")]
pub struct CorpusError {
    what: &'static str,
    detail: String,
}

/// Case `index` of `class`: deterministic from `(class, index,
/// master_seed)`, its tier `class.strengths()[index % len]`.
pub fn case(class: Class, index: u64, master_seed: u64) -> Result<Case, CorpusError> {
    let (bench, scenario) = template()?;
    let mut rng = SimRng::new(mix(mix(master_seed)
        ^ mix(class.salt())
        ^ mix(index ^ 0x4341_5345)));
    let tiers = class.strengths();
    let tier = usize::try_from(index % tiers.len() as u64).unwrap_or(0);
    let strength = tiers.get(tier).copied().unwrap_or("strong");
    let phone_seed = rng.next_u64();
    let seed = rng.next_u64();
    let mut conditions = Conditions::random(&mut rng);
    let implant = match class {
        Class::Benign => {
            conditions = Conditions::benign(strength, conditions, &mut rng);
            None
        }
        Class::AirplaneTx => Some(airplane_tx(strength, &mut rng)),
        Class::FakeOff => Some(fake_off(strength, &mut rng)),
        Class::IsolatedTalker => Some(isolated_talker(strength, &mut rng)),
        Class::DnsExfil => Some(dns_exfil(strength, &mut rng)),
        Class::Beacon => Some(beacon(strength, &mut rng)),
        Class::TimingChannel => Some(timing_channel(strength, &mut rng)),
        Class::RfTiming => Some(rf_timing(strength, &mut rng)),
    };

    let mut bench = bench.clone();
    bench.description = Some(format!(
        "Evaluation copy of the default bench: {DUT} under test ({class}, {strength}), phone-a off as the room reference"
    ));
    if let Some(dut) = bench.duts.iter_mut().find(|d| d.name == DUT) {
        dut.device = DeviceBackend::Sim(SimDevice {
            seed: phone_seed,
            build: DEFAULT_SIM_BUILD.to_string(),
            boot: DEFAULT_SIM_BOOT,
            implants: implant.iter().cloned().collect(),
        });
    }
    if let Some(shield) = &mut bench.shield {
        shield.room_interference = conditions.room_every;
    }
    Ok(Case {
        class,
        strength: strength.to_string(),
        bench,
        scenario: scenario.clone(),
        seed,
        implant,
        phones: conditions.phones,
    })
}

/// The default bench and the evaluation scenario, parsed once.
fn template() -> Result<&'static (BenchConfig, Scenario), CorpusError> {
    static TEMPLATE: OnceLock<Result<(BenchConfig, Scenario), CorpusError>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let bench =
                benchctl::config::parse(Path::new("bench.toml"), DEFAULT_BENCH).map_err(|e| {
                    CorpusError {
                        what: "default bench",
                        detail: e.to_string(),
                    }
                })?;
            let scenario = benchctl::scenario::parse(Path::new("eval.toml"), EVAL_SCENARIO, &bench)
                .map_err(|e| CorpusError {
                    what: "scenario",
                    detail: e.to_string(),
                })?;
            Ok((bench, scenario))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The conditions a phone is recorded in, beyond its implant.
#[derive(Debug, Clone, Copy)]
struct Conditions {
    /// Mean time between strong signals from the room; `None`: quiet.
    room_every: Option<Duration>,
    phones: PhoneTuning,
}

impl Conditions {
    /// What any case gets: a room that is quiet a third of the time, a
    /// slow network and frequent keep-alives a quarter of the time each.
    fn random(rng: &mut SimRng) -> Conditions {
        let room_every = (rng.unit() >= 1.0 / 3.0).then(|| secs(rng.range(5.0, 60.0)));
        let mut phones = PhoneTuning::default();
        if rng.unit() < 0.25 {
            phones.round_trip_s = Some(slow_round_trip(rng));
        }
        if rng.unit() < 0.25 {
            phones.push_heartbeat_s = Some(rng.range(20.0, 90.0));
        }
        Conditions { room_every, phones }
    }

    /// A benign tier's conditions: the ones it names forced on, hard.
    fn benign(tier: &str, drawn: Conditions, rng: &mut SimRng) -> Conditions {
        let busy_room = Some(secs(rng.range(3.0, 10.0)));
        let slow = Some(slow_round_trip(rng));
        // Periodic, to an allowed host, like a beacon: a beacon
        // detector's hardest negative.
        let keepalive = Some(rng.range(20.0, 60.0));
        let mut c = drawn;
        match tier {
            "quiet" => {
                c.room_every = None;
                c.phones = PhoneTuning::default();
            }
            "busy-room" => c.room_every = busy_room,
            "keepalive" => c.phones.push_heartbeat_s = keepalive,
            "slow-net" => c.phones.round_trip_s = slow,
            _ => {
                c.room_every = busy_room;
                c.phones.push_heartbeat_s = keepalive;
                c.phones.round_trip_s = slow;
            }
        }
        c
    }
}

/// A congested or far-away network: 50-200 ms at best, up to 1.5 s.
fn slow_round_trip(rng: &mut SimRng) -> (f64, f64) {
    let min = rng.range(0.05, 0.2);
    (min, min + rng.range(0.2, 1.3))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A whole number in `lo..=hi`.
fn between(rng: &mut SimRng, lo: u64, hi: u64) -> u64 {
    lo + rng.below(hi.saturating_sub(lo) + 1)
}

/// One of `items` at random; `fallback` if there are none.
fn pick<T: Copy>(rng: &mut SimRng, items: &[T], fallback: T) -> T {
    let i = usize::try_from(rng.below(items.len() as u64)).unwrap_or(0);
    items.get(i).copied().unwrap_or(fallback)
}

/// A centre frequency (kHz) well inside one of the bands phone-b's
/// antenna channels hear on the default bench.
fn center_in_band(rng: &mut SimRng, bands: &[Band]) -> u32 {
    let (lo, hi) = match pick(rng, bands, Band::Lte) {
        Band::Lte => (1_715_000, 1_780_000),
        Band::Wifi => (2_430_000, 2_444_000),
        Band::Ble => (2_401_500, 2_402_500),
        Band::SubGhz => (864_000, 869_000),
    };
    u32::try_from(between(rng, lo, hi)).unwrap_or(lo as u32)
}

#[derive(Debug, Clone, Copy)]
enum Band {
    /// LTE B3 uplink, where the phone's own grants are.
    Lte,
    /// Wi-Fi channel 6, where its own frames are.
    Wifi,
    /// BLE advertising channel 37.
    Ble,
    /// SRD 868, where a phone never sends.
    SubGhz,
}

const ALL_BANDS: [Band; 4] = [Band::Lte, Band::Wifi, Band::Ble, Band::SubGhz];

/// Addresses in the documentation ranges (RFC 5737), nobody's servers.
fn test_net_ip(rng: &mut SimRng) -> Ipv4Addr {
    let prefix = pick(
        rng,
        &[[192, 0, 2], [198, 51, 100], [203, 0, 113]],
        [203, 0, 113],
    );
    Ipv4Addr::new(prefix[0], prefix[1], prefix[2], between(rng, 1, 254) as u8)
}

/// An address in Google's 142.250.0.0/15 that no DNS answer of the honest
/// phone gives: looks like the phone's usual traffic, is on no allowlist.
fn google_looking_ip(rng: &mut SimRng) -> Ipv4Addr {
    Ipv4Addr::new(
        142,
        251,
        between(rng, 0, 255) as u8,
        between(rng, 1, 254) as u8,
    )
}

fn airplane_tx(tier: &str, rng: &mut SimRng) -> Implant {
    let (count, level_dbm, duration_ms, center_khz) = match tier {
        "strong" => (
            between(rng, 3, 6),
            rng.range(-50.0, -35.0),
            rng.range(2.0, 10.0),
            center_in_band(rng, &[Band::Lte]),
        ),
        "medium" => (
            between(rng, 2, 3),
            rng.range(-70.0, -55.0),
            rng.range(1.0, 5.0),
            center_in_band(rng, &ALL_BANDS),
        ),
        "weak" => (
            1,
            rng.range(-85.0, -78.0),
            rng.range(5.0, 50.0),
            center_in_band(rng, &ALL_BANDS),
        ),
        // The issue's hard end: one 50 ms burst 10 dB above the floor.
        _ => (1, -85.0, 50.0, center_in_band(rng, &[Band::Lte])),
    };
    Implant::AirplaneTx(AirplaneTx {
        count: u32::try_from(count).unwrap_or(1),
        level_dbm: level_dbm as f32,
        duration_ms,
        center_khz,
    })
}

fn fake_off(tier: &str, rng: &mut SimRng) -> Implant {
    let (current, every, wake) = match tier {
        "strong" => ((40.0, 150.0), (10.0, 30.0), (100.0, 500.0)),
        "medium" => ((15.0, 40.0), (20.0, 60.0), (50.0, 300.0)),
        "weak" => ((10.0, 15.0), (30.0, 120.0), (20.0, 200.0)),
        // 8 mA: above the 5 mA a soft-off phone may draw, barely; wake-ups
        // so rare the phase may see none.
        _ => ((8.0, 10.0), (60.0, 300.0), (20.0, 100.0)),
    };
    Implant::FakeOff(FakeOff {
        current_ma: rng.range(current.0, current.1),
        wake_every_s: rng.range(every.0, every.1),
        wake_ms: rng.range(wake.0, wake.1),
    })
}

fn isolated_talker(tier: &str, rng: &mut SimRng) -> Implant {
    let (every, dest_ip) = match tier {
        "strong" => ((2.0, 8.0), test_net_ip(rng)),
        "medium" => ((8.0, 20.0), test_net_ip(rng)),
        "weak" => ((20.0, 40.0), test_net_ip(rng)),
        // At most 55 s: at least one packet in the 60 s isolated phase.
        _ => ((40.0, 55.0), google_looking_ip(rng)),
    };
    Implant::IsolatedTalker(IsolatedTalker {
        every_s: rng.range(every.0, every.1),
        dest_ip,
    })
}

fn dns_exfil(tier: &str, rng: &mut SimRng) -> Implant {
    const DOMAINS: [&str; 6] = [
        "cdn-metrics.example.net",
        "telemetry-sync.example.org",
        "img.static-cache.example.com",
        "update-check.example.net",
        "api.analytics-edge.example.com",
        "t.example.org",
    ];
    let (label, every) = match tier {
        "strong" => ((48, 63), (2.0, 8.0)),
        "medium" => ((32, 48), (8.0, 15.0)),
        "weak" => ((20, 32), (15.0, 30.0)),
        // 20 characters, the first 6 the implant's sequence header: 14
        // characters of data per query, a query every 30-40 s. (At 16, 10
        // characters of data, a name carries no more than a CDN node id
        // does, and the shape of the names no longer tells them apart.)
        _ => ((20, 24), (30.0, 40.0)),
    };
    Implant::DnsExfil(DnsExfil {
        domain: pick(rng, &DOMAINS, DOMAINS[0]).to_string(),
        every_s: rng.range(every.0, every.1),
        label_len: usize::try_from(between(rng, label.0, label.1)).unwrap_or(16),
    })
}

fn beacon(tier: &str, rng: &mut SimRng) -> Implant {
    let (period, jitter) = match tier {
        "strong" => ((5.0, 15.0), (0.0, 0.05)),
        "medium" => ((15.0, 30.0), (0.05, 0.1)),
        "weak" => ((30.0, 45.0), (0.1, 0.2)),
        _ => ((45.0, 60.0), (0.2, 0.2)),
    };
    let dest_ip = if tier == "hardest" {
        google_looking_ip(rng)
    } else {
        test_net_ip(rng)
    };
    let proto = if rng.unit() < 0.7 {
        Proto::Tcp
    } else {
        Proto::Udp
    };
    Implant::Beacon(Beacon {
        dest_ip,
        port: pick(rng, &[443, 8443, 80, 53, 4444], 443),
        period_s: rng.range(period.0, period.1),
        jitter: rng.range(jitter.0, jitter.1),
        proto,
    })
}

fn timing_channel(tier: &str, rng: &mut SimRng) -> Implant {
    // An allowed host: the lab's own network (10.77.0.0/16 is on the list).
    let dest_ip = Ipv4Addr::new(10, 77, 0, pick(rng, &[1, 1, 53, 10], 1));
    let port = pick(rng, &[443, 853, 8443], 443);
    let short = rng.range(30.0, 60.0);
    let channel = match tier {
        "strong" => TimingChannel {
            short_ms: short,
            long_ms: short * rng.range(2.5, 4.0),
            jitter: rng.range(0.0, 0.03),
            cover_traffic: false,
            ..TimingChannel::default()
        },
        "medium" => TimingChannel {
            short_ms: short,
            long_ms: short * rng.range(1.6, 2.5),
            jitter: rng.range(0.05, 0.1),
            cover_traffic: rng.unit() < 0.5,
            ..TimingChannel::default()
        },
        // The issue's hard end: 10 % jitter, hidden in cover traffic.
        "weak" => TimingChannel {
            short_ms: short,
            long_ms: short * rng.range(1.6, 2.5),
            jitter: 0.1,
            cover_traffic: true,
            ..TimingChannel::default()
        },
        // The same, with two bits per gap: four levels.
        _ => TimingChannel {
            levels_ms: levels(4, short, rng.range(25.0, 50.0)),
            jitter: 0.1,
            cover_traffic: true,
            ..TimingChannel::default()
        },
    };
    Implant::TimingChannel(TimingChannel {
        dest_ip,
        port,
        ..channel
    })
}

/// `n` evenly spaced gaps from `first_ms`, `step_ms` apart.
fn levels(n: u32, first_ms: f64, step_ms: f64) -> Vec<f64> {
    (0..n).map(|i| first_ms + f64::from(i) * step_ms).collect()
}

fn rf_timing(tier: &str, rng: &mut SimRng) -> Implant {
    let (bands, short, ratio): (&[Band], _, _) = match tier {
        // SRD 868: a band the phone never uses.
        "strong" => (&[Band::SubGhz], (20.0, 40.0), (2.5, 3.5)),
        "medium" => (&[Band::Lte], (15.0, 30.0), (2.0, 3.0)),
        "weak" => (&[Band::Wifi], (10.0, 30.0), (1.5, 2.0)),
        // Among the phone's own Wi-Fi frames, gaps barely apart.
        _ => (&[Band::Wifi], (10.0, 20.0), (1.2, 1.5)),
    };
    let short_ms = rng.range(short.0, short.1);
    // At least 4 ms apart: at 1 kS/s a gap reads as the two ticks either
    // side of it and now and then one more, so closer levels overlap in
    // what the shield can see (a faster shield would resolve them).
    let long_ms = (short_ms * rng.range(ratio.0, ratio.1)).max(short_ms + 4.0);
    Implant::RfTiming(RfTiming {
        center_khz: center_in_band(rng, bands),
        short_ms,
        long_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use benchctl_format::read::{ChannelKind, RunDir, SigmfReader};
    use benchctl_net::{Allowlist, Direction, parse_ethernet};

    /// The evaluation's phases, a few seconds each: enough to see every
    /// class record, quick in a debug build.
    const SHORT: &str = r#"
[scenario]
name = "eval-short"
duts = ["phone-b"]
steps = [
  { phase = "boot" }, { do = "net.isolate" }, { do = "usb.on" }, { do = "power.on" }, { wait = "10s" },
  { phase = "online", net = "allowlist", allow = ["gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"] },
  { do = "net.allowlist", allow = ["gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"] },
  { do = "device.screen", state = "on" }, { wait = "8s" },
  { phase = "isolated", net = "none" }, { do = "net.isolate" }, { wait = "5s" },
  { phase = "airplane", rf = "silent", net = "none" }, { do = "device.airplane", state = "on" }, { wait = "5s" },
  { phase = "soft-off", rf = "silent", net = "none", power = "off" }, { do = "device.power-off" }, { wait = "5s" },
]
"#;

    #[test]
    fn every_class_generates_and_records() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for class in Class::ALL {
            let c = case(class, 3, 42).expect("case");
            assert_eq!(c.class, class);
            assert!(class.strengths().contains(&c.strength.as_str()));
            assert_eq!(c.implant.is_none(), class == Class::Benign);
            if let Some(i) = &c.implant {
                assert_eq!(i.kind(), class.name());
            }
            let short = benchctl::scenario::parse(Path::new("short.toml"), SHORT, &c.bench)
                .expect("short scenario on the case's bench");
            let dir = tmp.path().join(format!("run-{class}"));
            let report = c.record_scenario(&short, &dir).expect("recorded");
            assert!(report.complete, "{class}");
            assert_eq!(report.frames, 33_000, "{class}");
            assert!(report.packets > 0, "{class}");
            let run = RunDir::open(&dir).expect("the reader takes it");
            assert_eq!(run.duts().len(), 1);
            assert_eq!(run.duts()[0].name, DUT);
            assert_eq!(run.phase_intervals(DUT).expect("phases").len(), 5);
            let label = c.label();
            assert_eq!(label["class"], class.name());
            assert_eq!(label["strength"], c.strength);
        }
    }

    #[test]
    fn cases_are_deterministic() {
        for class in Class::ALL {
            for index in [0, 1, 7, 1_000_003] {
                let a = case(class, index, 9).expect("case");
                let b = case(class, index, 9).expect("case");
                assert_eq!(a.label(), b.label());
                assert_eq!(
                    serde_json::to_value(&a.bench).expect("bench"),
                    serde_json::to_value(&b.bench).expect("bench")
                );
                assert_eq!(
                    serde_json::to_value(&a.scenario).expect("scenario"),
                    serde_json::to_value(&b.scenario).expect("scenario")
                );
            }
        }
    }

    #[test]
    fn parameters_differ_between_indexes_and_tiers_cycle() {
        for class in Class::ALL {
            let tiers = class.strengths();
            let cases: Vec<Case> = (0..12).map(|i| case(class, i, 9).expect("case")).collect();
            for (i, c) in cases.iter().enumerate() {
                assert_eq!(c.strength, tiers[i % tiers.len()], "{class} {i}");
                for d in &cases[..i] {
                    assert_ne!(c.seed, d.seed, "{class}");
                    assert_ne!(c.label(), d.label(), "{class}");
                    if class != Class::Benign && c.strength != "hardest" {
                        assert_ne!(c.implant, d.implant, "{class}");
                    }
                }
            }
            // Another master seed, another corpus.
            let other = case(class, 0, 10).expect("case");
            assert_ne!(other.label(), cases[0].label(), "{class}");
        }
    }

    #[test]
    fn implants_are_valid_and_reach_the_hard_end() {
        for class in Class::ALL {
            for index in 0..200 {
                let c = case(class, index, 5).expect("case");
                if let Some(i) = &c.implant {
                    assert_eq!(i.problem(), None, "{class} {index}: {i:?}");
                }
                let Some(DeviceBackend::Sim(sim)) = c.bench.dut(DUT).map(|d| &d.device) else {
                    panic!("{DUT} is simulated");
                };
                assert_eq!(sim.implants.as_slice(), c.implant.as_slice());
                match &c.implant {
                    Some(Implant::AirplaneTx(a)) if c.strength == "hardest" => {
                        assert_eq!((a.count, a.level_dbm, a.duration_ms), (1, -85.0, 50.0));
                    }
                    Some(Implant::FakeOff(f)) => assert!(f.current_ma >= 8.0),
                    Some(Implant::DnsExfil(d)) => assert!((20..=63).contains(&d.label_len)),
                    Some(Implant::Beacon(b)) => {
                        assert!((5.0..=60.0).contains(&b.period_s) && b.jitter <= 0.2)
                    }
                    Some(Implant::TimingChannel(t)) => {
                        assert!(t.jitter <= 0.1);
                        if c.strength == "weak" || c.strength == "hardest" {
                            assert!(t.cover_traffic && t.jitter == 0.1);
                        }
                        if c.strength == "hardest" {
                            assert_eq!(t.levels_ms.len(), 4);
                        }
                    }
                    Some(Implant::RfTiming(r)) => {
                        assert!(r.long_ms - r.short_ms >= 4.0 - 1e-9, "{r:?}");
                    }
                    _ => {}
                }
            }
        }
        let benign: Vec<Case> = (0..5)
            .map(|i| case(Class::Benign, i, 5).expect("case"))
            .collect();
        let hard = &benign[4];
        assert_eq!(hard.strength, "all-at-once");
        assert!(hard.phones.round_trip_s.is_some() && hard.phones.push_heartbeat_s.is_some());
        assert!(
            hard.bench
                .shield
                .as_ref()
                .is_some_and(|s| s.room_interference.is_some())
        );
        assert_eq!(benign[0].phones, PhoneTuning::default());
    }

    #[test]
    fn the_eval_scenario_has_every_phase_in_under_eleven_minutes() {
        let c = case(Class::Benign, 0, 1).expect("case");
        assert_eq!(c.scenario.nominal_duration(), Duration::from_secs(650));
        assert_eq!(c.scenario.timelines.len(), 1);
        let phases: Vec<&str> = c.scenario.timelines[0]
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                benchctl::scenario::StepKind::Phase { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            phases,
            ["boot", "online", "isolated", "airplane", "soft-off"]
        );
        assert_eq!(
            "timing-channel".parse::<Class>().expect("class"),
            Class::TimingChannel
        );
        assert!("nope".parse::<Class>().is_err());
    }

    /// A recorded case read back: phases, samples and packets.
    struct Recorded {
        run: RunDir,
        rf: SigmfReader,
        power: SigmfReader,
        /// (t, outbound, frame).
        packets: Vec<(f64, bool, Vec<u8>)>,
    }

    impl Recorded {
        fn of(c: &Case, dir: &Path) -> Recorded {
            assert!(c.record(dir).expect("recorded").complete);
            let run = RunDir::open(dir).expect("read");
            let rf = run.rf().expect("rf").expect("rf present");
            let power = run.power().expect("power").expect("power present");
            let ip = run.dut(DUT).expect("dut").ip[0].clone();
            let mut net = run.net().expect("net").expect("net present");
            let mut packets = Vec::new();
            while let Some(p) = net.next_packet().expect("packet") {
                let t = run.t_of(p.time.expect("time"));
                let frame = parse_ethernet(p.data).expect("frame");
                let outbound = frame.ip().is_some_and(|ip_| ip_.src.to_string() == ip);
                packets.push((t, outbound, p.data.to_vec()));
            }
            Recorded {
                run,
                rf,
                power,
                packets,
            }
        }

        fn phase(&self, name: &str) -> (f64, f64) {
            let p = self.run.phase_intervals(DUT).expect("phases");
            let p = p.iter().find(|p| p.phase.name == name).expect("phase");
            (p.start, p.end)
        }

        /// The rf channel of `dut` whose band hears `khz`.
        fn channel(&self, dut: &str, khz: u32) -> usize {
            let hz = f64::from(khz) * 1000.0;
            self.rf
                .channels()
                .iter()
                .position(|c| {
                    c.dut.as_deref() == Some(dut)
                        && matches!(c.kind, ChannelKind::Band { low_hz, high_hz, .. } if (low_hz..=high_hz).contains(&hz))
                })
                .expect("a channel hears it")
        }

        /// Times in `[from, to)` when phone-b's channel hearing `khz` reads
        /// above `dbm` and phone-a's empty enclosure, on the same band, does
        /// not: what is left is phone-b's, not the room's.
        fn above(&mut self, khz: u32, dbm: f64, from: f64, to: f64) -> Vec<f64> {
            let (mine, reference) = (self.channel(DUT, khz), self.channel("phone-a", khz));
            let read = |r: &mut SigmfReader, ch| -> Vec<(f64, f64)> {
                r.channel_values(ch, from, to)
                    .expect("values")
                    .map(|s| s.map(|s| (s.t, s.value)).expect("sample"))
                    .collect()
            };
            let room: Vec<f64> = read(&mut self.rf, reference)
                .into_iter()
                .filter(|(_, v)| *v > -90.0)
                .map(|(t, _)| t)
                .collect();
            read(&mut self.rf, mine)
                .into_iter()
                .filter(|(t, v)| *v > dbm && !room.iter().any(|r| (r - t).abs() < 0.01))
                .map(|(t, _)| t)
                .collect()
        }

        /// phone-b's supply current in `[from, to)`, amperes.
        fn current(&mut self, from: f64, to: f64) -> Vec<f64> {
            let ch = self
                .power
                .channels()
                .iter()
                .position(|c| c.dut.as_deref() == Some(DUT))
                .expect("phone-b's current");
            self.power
                .channel_values(ch, from, to)
                .expect("values")
                .map(|s| s.expect("sample").value)
                .collect()
        }

        fn outbound_in(&self, (from, to): (f64, f64)) -> Vec<&[u8]> {
            self.packets
                .iter()
                .filter(|(t, out, _)| *out && *t > from + 0.05 && *t < to)
                .map(|(_, _, f)| f.as_slice())
                .collect()
        }
    }

    fn dst(frame: &[u8]) -> Option<std::net::IpAddr> {
        parse_ethernet(frame).ok()?.ip().map(|p| p.dst)
    }

    /// The hardest case of each class on the full scenario: what the class
    /// is labelled with really is in the recording (release builds only:
    /// eight 650 s recordings).
    #[test]
    #[cfg_attr(debug_assertions, ignore = "eight full recordings: run with --release")]
    fn the_hardest_case_of_every_class_is_in_its_recording() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for class in Class::ALL {
            // Index 3 is every implant's hardest tier; benign 4 is all the
            // hard conditions at once.
            let index = if class == Class::Benign { 4 } else { 3 };
            let c = case(class, index, 2026).expect("case");
            let mut r = Recorded::of(&c, &tmp.path().join(class.name()));
            let why = format!("{class}: {:?}", c.implant);
            match &c.implant {
                Some(Implant::AirplaneTx(a)) => {
                    let (from, to) = r.phase("airplane");
                    let heard = r.above(a.center_khz, -90.0, from, to);
                    assert!(heard.len() >= 40, "{why}: {heard:?}");
                }
                Some(Implant::FakeOff(_)) => {
                    let (from, to) = r.phase("soft-off");
                    let current = r.current(from + 0.5, to);
                    let mean = current.iter().sum::<f64>() / current.len() as f64;
                    assert!(mean > 0.0075, "{why}: {mean} A");
                }
                Some(Implant::IsolatedTalker(k)) => {
                    let to_dest = r
                        .outbound_in(r.phase("isolated"))
                        .into_iter()
                        .filter(|f| dst(f) == Some(k.dest_ip.into()))
                        .count();
                    assert!(to_dest >= 1, "{why}");
                }
                Some(Implant::DnsExfil(d)) => {
                    let queries = r
                        .outbound_in(r.phase("online"))
                        .into_iter()
                        .filter_map(|f| {
                            let frame = parse_ethernet(f).ok()?;
                            let m = benchctl_net::dns::parse_packet(frame.ip()?)?.ok()?;
                            m.questions.first().map(|q| q.name.clone())
                        })
                        .filter(|n| n.ends_with(&d.domain))
                        .count();
                    // A and AAAA per leak.
                    assert!(queries >= 10, "{why}: {queries}");
                }
                Some(Implant::Beacon(b)) => {
                    let (online, isolated) = (r.phase("online"), r.phase("isolated"));
                    let n = r
                        .outbound_in((online.0, isolated.1))
                        .into_iter()
                        .filter(|f| dst(f) == Some(b.dest_ip.into()))
                        .count();
                    assert!(n >= 4, "{why}: {n}");
                }
                Some(Implant::TimingChannel(t)) => {
                    let n = r
                        .outbound_in(r.phase("online"))
                        .into_iter()
                        .filter(|f| dst(f) == Some(t.dest_ip.into()))
                        .count();
                    assert!(n > 100, "{why}: {n} packets, fewer than 100 gaps");
                }
                Some(Implant::RfTiming(t)) => {
                    let (from, to) = r.phase("airplane");
                    let heard = r.above(t.center_khz, -60.0, from, to);
                    assert!(heard.len() >= 100, "{why}: {}", heard.len());
                }
                None => {
                    // Honest under a busy room, a slow network and
                    // frequent keep-alives: silent where it must be...
                    for phase in ["isolated", "airplane", "soft-off"] {
                        let sent = r.outbound_in(r.phase(phase));
                        assert!(sent.is_empty(), "{why}: {} packets in {phase}", sent.len());
                    }
                    let (from, to) = r.phase("airplane");
                    for khz in [1_747_500, 2_437_000, 2_402_000, 866_500] {
                        let heard = r.above(khz, -90.0, from + 0.1, to);
                        assert!(heard.is_empty(), "{why}: {khz} kHz in airplane: {heard:?}");
                    }
                    // ...and only to what the allowlist names online.
                    let (from, to) = r.phase("online");
                    let allow: Vec<String> = r.run.phase_intervals(DUT).expect("phases")[1]
                        .phase
                        .expect
                        .allow
                        .clone();
                    let mut list = Allowlist::parse(&allow).expect("allowlist");
                    let mut keepalives = 0;
                    for (t, out, f) in &r.packets {
                        if *t < from || *t >= to {
                            continue;
                        }
                        let frame = parse_ethernet(f).expect("frame");
                        let dir = if *out {
                            Direction::FromDut
                        } else {
                            Direction::ToDut
                        };
                        let d = list.observe(*t, &frame, dir);
                        assert!(!(*out && d.is_denied()), "{why}: {d:?} at {t}");
                        keepalives += usize::from(
                            *out && frame
                                .ip()
                                .and_then(|p| p.ports())
                                .is_some_and(|p| p.1 == 5228),
                        );
                    }
                    assert!(keepalives >= 5, "{why}: {keepalives} push packets");
                    let (from, to) = r.phase("soft-off");
                    let off = r.current(from + 0.5, to);
                    assert!(off.iter().all(|a| *a < 0.005), "{why}: soft-off current");
                }
            }
        }
    }
}
