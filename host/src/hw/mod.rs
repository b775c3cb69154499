//! Hardware behind small traits, and one file per real backend. The
//! simulated twins live with the simulated lab (`bench::sim::backends`);
//! `bench::open` is where a validated config becomes a backend.
//!
//! Outputs are numbered as on the hardware: relay channels and hub ports from 1.
//! Every method is blocking and short (a few bytes on a serial line, one
//! `uhubctl` call); the runner calls them from a blocking-friendly context.

pub mod gpio_lines;
pub mod gpiocdev;
pub mod rppal_gpio;
pub mod serial_relay;
pub mod shield;
pub mod uhubctl;

use std::fmt;

use serde::Serialize;

pub use crate::config::NetState;

/// What a backend knows about an output it drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "source", content = "value")]
pub enum Reading<T> {
    /// Read back from the hardware (a GPIO level, a hub's port status).
    Read(T),
    /// The hardware cannot report it (LCUS modules only listen).
    Unknown,
}

/// A board of relays feeding DUT supplies.
pub trait RelayBoard: Send {
    /// Close (`on`) or open a relay. `channel` is 1-based and within the board.
    fn set(&mut self, channel: u8, on: bool) -> Result<(), HwError>;
    fn get(&mut self, channel: u8) -> Result<Reading<bool>, HwError>;
    /// Health checks for `benchctl doctor`; must not switch anything.
    fn probe(&mut self) -> Vec<Check>;
}

/// A packet on a DUT's link, as the tap captured it.
#[derive(Debug, Clone, PartialEq)]
pub struct TappedPacket {
    /// The DUT on the link.
    pub dut: String,
    /// Run-clock seconds.
    pub t: f64,
    pub frame: Vec<u8>,
    /// Sent by the DUT (false: sent to it).
    pub outbound: bool,
}

/// A USB hub with per-port power switching.
pub trait UsbHub: Send {
    fn set_port(&mut self, port: u8, on: bool) -> Result<(), HwError>;
    fn get_port(&mut self, port: u8) -> Result<Reading<bool>, HwError>;
    fn probe(&mut self) -> Vec<Check>;
}

/// A DUT's network link, which the bench can cut off from the outside.
pub trait NetLink: Send {
    fn set(&mut self, state: NetState) -> Result<(), HwError>;
    /// Let the DUT reach only these destinations (DNS names with their
    /// subdomains, IP addresses, CIDR blocks; see `net::Allowlist`).
    fn set_allowlist(&mut self, allow: &[String]) -> Result<(), HwError>;
    fn get(&mut self) -> Result<Reading<NetState>, HwError>;
    fn probe(&mut self) -> Vec<Check>;
}

/// What the bench can ask of the phone itself (adb on real phones, later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceCommand {
    Airplane(bool),
    Screen(bool),
    /// "Switch off" in software: the phone claims to be off, the supply stays on.
    PowerOff,
    Reboot,
}

impl fmt::Display for DeviceCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on_off = |b: &bool| if *b { "on" } else { "off" };
        match self {
            DeviceCommand::Airplane(b) => write!(f, "airplane {}", on_off(b)),
            DeviceCommand::Screen(b) => write!(f, "screen {}", on_off(b)),
            DeviceCommand::PowerOff => f.write_str("power-off"),
            DeviceCommand::Reboot => f.write_str("reboot"),
        }
    }
}

/// What the phone says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeviceState {
    /// The phone's own state as it reports it.
    pub mode: DeviceMode,
    pub airplane: bool,
    pub screen: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceMode {
    /// No supply, or switched off in software.
    Off,
    Booting,
    Running,
}

pub trait DeviceControl: Send {
    fn command(&mut self, cmd: DeviceCommand) -> Result<(), HwError>;
    fn state(&mut self) -> Result<DeviceState, HwError>;
    /// Whether the phone can take a command now: a phone still booting
    /// cannot (it would not obey, or it would obey only later), so callers
    /// wait for it, up to a timeout, before they command it.
    fn ready(&mut self) -> Result<Readiness, HwError>;
    fn probe(&mut self) -> Vec<Check>;
}

/// Whether a phone can take a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Booting or restarting: it will be, soon. Why, in words.
    Starting(String),
    /// Off (no power, switched off in software): waiting will not help.
    Off(String),
}

/// A hardware failure, with the device it concerns and, where known, the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("{device}: {what}{}", fix.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
pub struct HwError {
    /// The device as the user knows it: `relay board "relays" (/dev/ttyUSB0)`.
    pub device: String,
    pub what: String,
    pub fix: Option<String>,
    #[source]
    pub source: Option<std::io::Error>,
}

impl HwError {
    pub fn new(device: impl Into<String>, what: impl Into<String>) -> Self {
        HwError {
            device: device.into(),
            what: what.into(),
            fix: None,
            source: None,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// An I/O error opening or talking to a device node, with the usual fixes.
    pub fn io(device: impl Into<String>, node: &str, e: std::io::Error) -> Self {
        let fix = io_fix(node, &e);
        HwError {
            device: device.into(),
            what: format!("{node}: {e}"),
            fix,
            source: Some(e),
        }
    }
}

/// The fix a lab engineer needs for the common ways opening a device fails.
pub fn io_fix(node: &str, e: &std::io::Error) -> Option<String> {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied if node.starts_with("/dev/tty") => Some(
            "add the user to dialout: `sudo usermod -aG dialout $USER`, then log in again".into(),
        ),
        std::io::ErrorKind::PermissionDenied if node.contains("gpio") => {
            Some("add the user to gpio: `sudo usermod -aG gpio $USER`, then log in again".into())
        }
        std::io::ErrorKind::PermissionDenied => {
            Some(format!("check the permissions of {node} (`ls -l {node}`)"))
        }
        std::io::ErrorKind::NotFound => Some(format!(
            "{node} does not exist: is the device plugged in? `benchctl doctor` lists serial ports"
        )),
        _ => None,
    }
}

/// One line of `benchctl doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub level: CheckLevel,
    pub message: String,
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckLevel {
    Ok,
    Warn,
    Fail,
}

impl Check {
    pub fn ok(message: impl Into<String>) -> Self {
        Check {
            level: CheckLevel::Ok,
            message: message.into(),
            fix: None,
        }
    }
    pub fn warn(message: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            level: CheckLevel::Warn,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn fail(message: impl Into<String>, fix: Option<String>) -> Self {
        Check {
            level: CheckLevel::Fail,
            message: message.into(),
            fix,
        }
    }
    /// A failed check from a hardware error, keeping its fix.
    pub fn from_error(e: &HwError) -> Self {
        Check {
            level: CheckLevel::Fail,
            message: format!("{}: {}", e.device, e.what),
            fix: e.fix.clone(),
        }
    }
}
