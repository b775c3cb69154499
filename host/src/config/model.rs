//! The validated bench: what the rest of benchctl trusts. Every reference in
//! here resolves (a DUT's relay board exists and has that channel, no two DUTs
//! share an output), so code downstream never re-checks.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// A validated `bench.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchConfig {
    /// The file this was read from.
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    /// Where the lock, the sim lab and remembered output states live; `None`
    /// means the default runtime directory (see `bench::state_dir`).
    pub state_dir: Option<PathBuf>,
    pub relays: Vec<RelayBoardConfig>,
    pub hubs: Vec<HubConfig>,
    pub links: Vec<LinkConfig>,
    pub duts: Vec<DutConfig>,
    pub shield: Option<ShieldConfig>,
}

impl BenchConfig {
    /// The address a DUT takes on its link: host .2 of the link's subnet
    /// (the gateway is .1); `None` without a link or a subnet.
    pub fn dut_address(&self, dut: &str) -> Option<std::net::Ipv4Addr> {
        let link = self.link(self.dut(dut)?.link.as_deref()?)?;
        let (net, _) = link.subnet.as_deref()?.split_once('/')?;
        let o = net.parse::<std::net::Ipv4Addr>().ok()?.octets();
        Some(std::net::Ipv4Addr::new(o[0], o[1], o[2], o[3] | 2))
    }

    /// Every part that is not simulated, as `relay board "x" (serial-relay)`:
    /// empty for a fully simulated lab, which can run in virtual time.
    pub fn real_hardware(&self) -> Vec<String> {
        let mut real = Vec::new();
        let mut check = |what: &str, name: &str, kind: &str| {
            if kind != "sim" {
                real.push(format!("{what} \"{name}\" ({kind})"));
            }
        };
        for r in &self.relays {
            check("relay board", &r.name, r.backend.kind());
        }
        for h in &self.hubs {
            check("hub", &h.name, h.backend.kind());
        }
        for l in &self.links {
            check("link", &l.name, l.backend.kind());
        }
        if let Some(s) = &self.shield {
            check("shield", "shield", s.backend.kind());
        }
        for d in &self.duts {
            if matches!(d.device, DeviceBackend::None) {
                continue;
            }
            let kind = match &d.device {
                DeviceBackend::Sim(_) => "sim",
                DeviceBackend::None => "none",
            };
            check("device of", &d.name, kind);
        }
        real
    }

    pub fn dut(&self, name: &str) -> Option<&DutConfig> {
        self.duts.iter().find(|d| d.name == name)
    }
    pub fn relay_board(&self, name: &str) -> Option<&RelayBoardConfig> {
        self.relays.iter().find(|r| r.name == name)
    }
    pub fn hub(&self, name: &str) -> Option<&HubConfig> {
        self.hubs.iter().find(|h| h.name == name)
    }
    pub fn link(&self, name: &str) -> Option<&LinkConfig> {
        self.links.iter().find(|l| l.name == name)
    }
    /// The DUT fed by a relay channel, if any.
    pub fn dut_on_relay(&self, board: &str, channel: u8) -> Option<&DutConfig> {
        self.duts.iter().find(|d| {
            d.power
                .as_ref()
                .is_some_and(|p| p.board == board && p.channel == channel)
        })
    }
    /// The DUT on a hub port, if any.
    pub fn dut_on_port(&self, hub: &str, port: u8) -> Option<&DutConfig> {
        self.duts.iter().find(|d| {
            d.usb
                .as_ref()
                .is_some_and(|u| u.hub == hub && u.port == port)
        })
    }
    /// The DUT on a network link, if any.
    pub fn dut_on_link(&self, link: &str) -> Option<&DutConfig> {
        self.duts.iter().find(|d| d.link.as_deref() == Some(link))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RelayBoardConfig {
    pub name: String,
    /// Channels are numbered 1..=channels, as printed on the board.
    pub channels: u8,
    pub backend: RelayBackend,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RelayBackend {
    Sim {
        /// Fault injection: switching requests after this many fail.
        fail_after: Option<u32>,
    },
    /// Relay HAT on Raspberry Pi GPIO, through rppal.
    RppalGpio {
        /// BCM GPIO number per channel; `pins[0]` drives channel 1.
        pins: Vec<u8>,
        active_low: bool,
    },
    /// Relays on any Linux board's GPIO, through the kernel's GPIO
    /// character device (gpiocdev).
    Gpiocdev {
        /// The chip's device, `/dev/gpiochip0`.
        chip: std::path::PathBuf,
        /// Line offset per channel; `lines[0]` drives channel 1.
        lines: Vec<u32>,
        active_low: bool,
    },
    /// CH340 "LCUS" USB serial relay module.
    SerialRelay { port: SerialPortSpec, baud: u32 },
}

impl RelayBackend {
    pub fn kind(&self) -> &'static str {
        match self {
            RelayBackend::Sim { .. } => "sim",
            RelayBackend::RppalGpio { .. } => "rppal-gpio",
            RelayBackend::Gpiocdev { .. } => "gpiocdev",
            RelayBackend::SerialRelay { .. } => "serial-relay",
        }
    }
}

/// How to find a serial device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SerialPortSpec {
    Path(String),
    Usb {
        vid: u16,
        pid: u16,
        serial: Option<String>,
    },
}

impl std::fmt::Display for SerialPortSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SerialPortSpec::Path(p) => f.write_str(p),
            SerialPortSpec::Usb { vid, pid, serial } => {
                write!(f, "usb {vid:04x}:{pid:04x}")?;
                if let Some(s) = serial {
                    write!(f, " serial {s}")?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HubConfig {
    pub name: String,
    /// Ports are numbered 1..=ports, as uhubctl and the hub's housing number them.
    pub ports: u8,
    pub backend: HubBackend,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HubBackend {
    Sim,
    Uhubctl {
        location: String,
        program: PathBuf,
        vbus_verified: bool,
    },
}

impl HubBackend {
    pub fn kind(&self) -> &'static str {
        match self {
            HubBackend::Sim => "sim",
            HubBackend::Uhubctl { .. } => "uhubctl",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkConfig {
    pub name: String,
    pub subnet: Option<String>,
    pub backend: LinkBackend,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LinkBackend {
    Sim,
}

impl LinkBackend {
    pub fn kind(&self) -> &'static str {
        match self {
            LinkBackend::Sim => "sim",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DutConfig {
    pub name: String,
    pub model: String,
    pub power: Option<RelayRef>,
    pub usb: Option<PortRef>,
    pub link: Option<String>,
    pub device: DeviceBackend,
    pub safe: SafeState,
    /// How long `power cycle` keeps the supply off unless told otherwise: long
    /// enough for the battery eliminator's capacitors to drain.
    #[serde(with = "crate::config::duration::serde_secs")]
    pub power_cycle_off: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayRef {
    pub board: String,
    pub channel: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortRef {
    pub hub: String,
    pub port: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DeviceBackend {
    /// A simulated phone (the default bench's DUTs).
    Sim(SimDevice),
    /// No device control wired up (no adb yet): only power, USB and network.
    None,
}

impl DeviceBackend {
    pub fn is_none(&self) -> bool {
        *self == DeviceBackend::None
    }
}

/// How a simulated phone behaves (see `sim::phone`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimDevice {
    /// Same seed, same scenario: the same emissions.
    pub seed: u64,
    /// The firmware build the phone reports (recorded in run.json).
    pub build: String,
    /// How long it takes to boot: radio up about a third of the way, ready
    /// for commands at the end.
    #[serde(with = "crate::config::duration::serde_secs")]
    pub boot: std::time::Duration,
    pub implants: Vec<crate::config::implant::Implant>,
}

/// How long a simulated phone boots unless bench.toml says otherwise.
pub const DEFAULT_SIM_BOOT: std::time::Duration = std::time::Duration::from_secs(8);

/// The build a simulated phone reports unless bench.toml says otherwise.
pub const DEFAULT_SIM_BUILD: &str = "sim-android 14 (UP1A.231005.007)";

/// The network state of a DUT's link.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetState {
    /// Nothing leaves the link.
    #[default]
    Isolated,
    /// The DUT reaches the outside network.
    Open,
    /// The DUT reaches only the destinations on the link's allowlist (set
    /// with the list, see `NetLink::set_allowlist`).
    Allowlist,
}

impl std::fmt::Display for NetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NetState::Isolated => "isolated",
            NetState::Open => "open",
            NetState::Allowlist => "allowlist",
        })
    }
}

/// Where a DUT's outputs go whenever a command that touched them ends badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SafeState {
    pub power: bool,
    pub usb: bool,
    pub net: NetState,
}

impl Default for SafeState {
    /// Off, unplugged, isolated: a DUT that can do nothing.
    fn default() -> Self {
        SafeState {
            power: false,
            usb: false,
            net: NetState::Isolated,
        }
    }
}

/// The radio shield: the bench's ears.
#[derive(Debug, Clone, Serialize)]
pub struct ShieldConfig {
    pub backend: ShieldBackend,
    pub sample_rate_hz: u32,
    #[serde(with = "crate::config::duration::serde_secs")]
    pub watchdog: Duration,
    /// Simulated shield only: mean time between room interference bursts;
    /// `None` for none.
    #[serde(with = "crate::config::duration::serde_secs_opt")]
    pub room_interference: Option<Duration>,
    /// In the order the shield streams them (by name).
    pub channels: Vec<ShieldChannel>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ShieldBackend {
    /// shield-core on a thread behind a pseudo-terminal.
    Sim,
    /// A real board (or the QEMU one) on a serial port.
    Serial { port: SerialPortSpec },
}

impl ShieldBackend {
    pub fn kind(&self) -> &'static str {
        match self {
            ShieldBackend::Sim => "sim",
            ShieldBackend::Serial { .. } => "serial",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ShieldChannel {
    pub name: String,
    /// None: the ambient reference antenna, outside every enclosure.
    pub dut: Option<String>,
    pub detector: u8,
    pub quantity: ShieldQuantity,
    /// 0 for sensors without tuning (current).
    pub center_khz: u32,
    /// The band the antenna's filter passes around `center_khz`; 0 for
    /// sensors without tuning.
    pub bandwidth_khz: u32,
    /// Free text, e.g. "LTE B3 uplink".
    pub band: Option<String>,
    pub calibration: ShieldCalibration,
    /// An enclosure antenna's isolation from the room (dB): what analysis
    /// weighs a burst's level by to tell the DUT's own from the room's.
    /// None: not measured (recorded as absent; readers assume
    /// [`DEFAULT_ISOLATION_DB`]).
    pub isolation_db: Option<f64>,
}

/// The enclosure isolation readers assume when a channel does not say
/// (`recording-format.md`).
pub const DEFAULT_ISOLATION_DB: f64 = 30.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShieldQuantity {
    /// RF power, dBm.
    Rf,
    /// Supply current, A.
    Current,
    /// Share of time a channel is busy (nRF24 RPD scan).
    Occupancy,
}

impl ShieldChannel {
    /// The isolation this channel's antenna has from the room: its own, or
    /// the default for an enclosure antenna; 0 for the ambient antenna.
    pub fn isolation(&self) -> f64 {
        match self.dut {
            Some(_) => self.isolation_db.unwrap_or(DEFAULT_ISOLATION_DB),
            None => 0.0,
        }
    }

    /// The band's edges in Hz, as SigMF's `bench:channels` records them.
    pub fn band_hz(&self) -> (u64, u64) {
        let center = u64::from(self.center_khz) * 1000;
        let half = u64::from(self.bandwidth_khz) * 500;
        (center.saturating_sub(half), center + half)
    }

    /// Whether a transmission centred on `khz` falls in this channel's band.
    pub fn hears(&self, khz: u32) -> bool {
        let (low, high) = self.band_hz();
        (low..=high).contains(&(u64::from(khz) * 1000))
    }
}

/// Per-channel calibration in lab units (converted to the wire's integers
/// by the shield link).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ShieldCalibration {
    Default,
    RssiOffset {
        db: f64,
    },
    LogSlope {
        slope_mv_per_db: f64,
        intercept_dbm: f64,
    },
    Shunt {
        mohm: f64,
        max_current_a: f64,
    },
}
