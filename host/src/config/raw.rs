//! `bench.toml` as written: serde structs that keep every value's place in the
//! file, so that the checks in `validate.rs` can point at the line and column
//! of whatever is wrong. Nothing outside `config/` sees these types.
//!
//! Backend settings are flat optional fields next to `kind` rather than a
//! serde-tagged enum: an internally tagged enum buffers its content and loses
//! the spans, and the error would point at the table instead of the key.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBench {
    pub bench: Spanned<RawBenchHeader>,
    #[serde(default)]
    pub relays: BTreeMap<Spanned<String>, Spanned<RawRelayBoard>>,
    #[serde(default)]
    pub hubs: BTreeMap<Spanned<String>, Spanned<RawHub>>,
    #[serde(default)]
    pub links: BTreeMap<Spanned<String>, Spanned<RawLink>>,
    #[serde(default)]
    pub duts: BTreeMap<Spanned<String>, Spanned<RawDut>>,
    pub shield: Option<Spanned<RawShield>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBenchHeader {
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub state_dir: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RelayKind {
    Sim,
    RppalGpio,
    Gpiocdev,
    SerialRelay,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelayBoard {
    pub kind: Spanned<RelayKind>,
    pub channels: Spanned<i64>,
    /// rppal-gpio: BCM GPIO number per channel, channel 1 first.
    pub pins: Option<Spanned<Vec<Spanned<i64>>>>,
    /// rppal-gpio, gpiocdev: the relay closes when the line is low (most
    /// boards with optocouplers).
    pub active_low: Option<Spanned<bool>>,
    /// gpiocdev: the GPIO chip, `/dev/gpiochip0` or `gpiochip0`.
    pub chip: Option<Spanned<String>>,
    /// gpiocdev: line offset on the chip per channel, channel 1 first.
    pub lines: Option<Spanned<Vec<Spanned<i64>>>>,
    /// serial-relay: device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...
    pub port: Option<Spanned<String>>,
    /// serial-relay: find the port by USB identity instead of by path.
    pub usb: Option<Spanned<RawUsbMatch>>,
    /// serial-relay: line speed; the LCUS modules run at 9600.
    pub baud: Option<Spanned<i64>>,
    /// sim: fail every switching request after this many have succeeded
    /// (fault injection, to exercise error paths without hardware).
    pub fail_after: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUsbMatch {
    pub vid: Spanned<String>,
    pub pid: Spanned<String>,
    pub serial: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum HubKind {
    Sim,
    Uhubctl,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHub {
    pub kind: Spanned<HubKind>,
    pub ports: Spanned<i64>,
    /// uhubctl: the hub's location as uhubctl prints it (`1-1`, `2-1.4`).
    pub location: Option<Spanned<String>>,
    /// uhubctl: the program to run, if not `uhubctl` on PATH.
    pub program: Option<Spanned<String>>,
    /// uhubctl: someone measured that switching a port off really cuts VBUS.
    pub vbus_verified: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    Sim,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub kind: Spanned<LinkKind>,
    /// The DUT side of the link, e.g. "10.77.1.0/24" (informational for now).
    pub subnet: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDut {
    pub model: Spanned<String>,
    pub power: Option<Spanned<RawRelayRef>>,
    pub usb: Option<Spanned<RawPortRef>>,
    pub link: Option<Spanned<String>>,
    pub device: Option<Spanned<RawDevice>>,
    pub safe: Option<Spanned<RawSafeState>>,
    pub power_cycle_off: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelayRef {
    pub relay: Spanned<String>,
    pub channel: Spanned<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPortRef {
    pub hub: Spanned<String>,
    pub port: Spanned<i64>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    Sim,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    pub kind: Spanned<DeviceKind>,
    /// sim: the seed of the phone's behaviour (default: from the DUT name).
    pub seed: Option<Spanned<i64>>,
    /// sim: the firmware build the phone reports.
    pub build: Option<Spanned<String>>,
    /// sim: how long the phone takes to boot (default 8s).
    pub boot: Option<Spanned<String>>,
    /// sim: covert behaviours, each a table with `kind` and its parameters.
    /// Kept as TOML values here and read into `sim::implant::Implant` in
    /// validation, so a mistake inside one points at that table.
    pub implants: Option<Vec<Spanned<toml::Value>>>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RawNetState {
    Isolated,
    Open,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafeState {
    pub power: Option<OnOff>,
    pub usb: Option<OnOff>,
    pub net: Option<RawNetState>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ShieldKind {
    Sim,
    Serial,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShield {
    pub kind: Spanned<ShieldKind>,
    /// serial: device path, e.g. /dev/ttyACM0.
    pub port: Option<Spanned<String>>,
    /// serial: find the board by USB identity instead of by path.
    pub usb: Option<Spanned<RawUsbMatch>>,
    pub sample_rate_hz: Option<Spanned<i64>>,
    /// How long the shield streams on without hearing from the host.
    pub watchdog: Option<Spanned<String>>,
    /// sim: mean time between strong signals every antenna hears at once
    /// (a duration, or "off").
    pub room_interference: Option<Spanned<String>>,
    #[serde(default)]
    pub channels: BTreeMap<Spanned<String>, Spanned<RawShieldChannel>>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Quantity {
    Rf,
    Current,
    Occupancy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShieldChannel {
    /// The DUT whose enclosure this antenna or sensor is in; absent for the
    /// ambient reference.
    pub dut: Option<Spanned<String>>,
    /// The board's detector (as `benchctl shield info` lists them).
    pub detector: Spanned<i64>,
    pub frequency: Option<Spanned<String>>,
    /// The band the antenna's filter passes, centred on `frequency`.
    pub bandwidth: Option<Spanned<String>>,
    pub quantity: Option<Spanned<Quantity>>,
    pub band: Option<String>,
    pub calibration: Option<Spanned<RawCalibration>>,
    /// How much weaker a signal from inside the enclosure reaches antennas
    /// outside it, and a signal from outside reaches this one (dB).
    pub isolation_db: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalibration {
    /// CC1101 RSSI offset (datasheet table 31).
    pub rssi_offset_db: Option<f64>,
    /// Log-amp detector slope and intercept (AD8318: about -24.5 mV/dB, 20 dBm).
    pub slope_mv_per_db: Option<f64>,
    pub intercept_dbm: Option<f64>,
    /// INA226 shunt and the current its range must reach.
    pub shunt_mohm: Option<f64>,
    pub max_current_a: Option<f64>,
}
