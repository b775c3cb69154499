//! CH340 "LCUS" USB serial relay modules (LCUS-1, -2, -4, -8).
//!
//! The module is a CH340 USB-serial chip in front of a small MCU. At 9600 8N1
//! the host sends 4-byte frames `A0 <channel> <state> <checksum>`: channel from
//! 1, state 0x01 closes the relay (on) and 0x00 opens it (off), checksum = low
//! byte of 0xA0 + channel + state. The seller's protocol sheet, the same for
//! every variant, gives `A0 01 01 A2` (channel 1 on) and `A0 01 00 A1` (off);
//! copies at https://www.optimusdigital.ro/en/relay-modules/12595-usb-5v-10a-relay-module.html
//! and https://tilga.com/prod/5732195.
//!
//! What we learned about real modules, and what this backend does about it:
//!
//! - No acknowledgement, and no status query worth trusting. Some firmware
//!   answers a single 0xFF byte with text like `CH1: ON \r\nCH2: OFF\r\n`, and
//!   its author had to query twice because the first answer was often stale
//!   (lcus_relay by Brian Rzycki, tested on an LCUS_X2). Other boards sold
//!   under the same name do not answer 0xFF at all and want a per-channel
//!   `A0 <ch> 05 <sum>` check frame instead (SAMIROB boards,
//!   github.com/Pebble94464/lcus-usb-relay-module-controller, DeviceB.py); a
//!   CLI for these boards notes "FF = query (device-dependent response; many
//!   boards return nothing)"; and the usbrelay maintainer states it is not
//!   possible to query an LCUS relay's state (github.com/darrylb123/usbrelay
//!   issue 121). So `get` returns `Reading::Unknown` and benchctl shows the
//!   last state it set; `probe` says so.
//!
//! - Frames back to back may be missed by multi-channel boards. Drivers that
//!   were tested on hardware pace their frames: Tasmota's LC Technology relay
//!   driver (xdrv_20_lc_tech_relay.ino, the same A0 protocol on the ESP-01
//!   boards) waits 20 ms after every frame and repeats recent ones, and the
//!   Pebble94464 driver, tested on an LCUS-4, sleeps 100 ms after each write.
//!   Others send frames back to back on 2-channel boards without trouble.
//!   [`INTER_FRAME_GAP`] keeps consecutive frames at least 20 ms apart; a
//!   single switching request pays nothing.
//!
//! - The CH340 has no serial number (no EEPROM for one; see Klipper PR 4975
//!   and usb-serial-for-android issue 287), and 1a86:7523 is the VID:PID of
//!   every CH340 adapter, including the USB-serial cable on a DUT's console.
//!   USB matching refuses to guess between several matches, and the error
//!   shows each candidate's stable `/dev/serial/by-path/` name, which is the
//!   robust way to configure a CH340.
//!
//! - DTR/RTS: we found no source saying LCUS boards wire them to the MCU, and
//!   nothing in the protocol uses them; we leave them as the kernel sets them
//!   on open.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialport::{DataBits, FlowControl, Parity, SerialPort, SerialPortType, StopBits};

use super::{Check, HwError, Reading, RelayBoard, io_fix};
use crate::config::SerialPortSpec;

/// First byte of every frame ("start identifier" on the seller's sheet).
pub const FRAME_START: u8 = 0xA0;

/// Minimum time between the starts of two frames. A frame takes about 4 ms on
/// the wire at 9600 baud (40 bits); the rest leaves the module's MCU time to
/// act on one frame before the next arrives. 20 ms is what Tasmota's LC
/// Technology driver waits after each frame (see the module docs).
pub const INTER_FRAME_GAP: Duration = Duration::from_millis(20);

/// How long a write or a flush may block before the module counts as gone.
/// Four bytes at 9600 baud need 4 ms; a CH340 that takes half a second is
/// unplugged or wedged.
const IO_TIMEOUT: Duration = Duration::from_millis(500);

/// Where udev puts stable names for serial ports, one per physical USB port.
const BY_PATH_DIR: &str = "/dev/serial/by-path";

/// The frame that closes (`on`) or opens a relay. `channel` counts from 1.
pub fn frame(channel: u8, on: bool) -> [u8; 4] {
    let state = u8::from(on);
    let checksum = FRAME_START.wrapping_add(channel).wrapping_add(state);
    [FRAME_START, channel, state, checksum]
}

/// An LCUS module, open for the life of the value.
pub struct SerialRelayBoard {
    /// `relay board "relays" (/dev/ttyUSB0)`, for errors.
    device: String,
    name: String,
    spec: SerialPortSpec,
    /// The port as resolved: the configured path, or what USB matching found.
    path: String,
    baud: u32,
    channels: u8,
    port: Box<dyn SerialPort>,
    last_frame: Option<Instant>,
}

impl fmt::Debug for SerialRelayBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SerialRelayBoard")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .field("path", &self.path)
            .field("baud", &self.baud)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl SerialRelayBoard {
    /// Finds the port (by path, or by USB identity) and opens it 8N1 at `baud`.
    /// Sends nothing: the relays keep whatever state they have.
    pub fn open(
        name: &str,
        port: &SerialPortSpec,
        baud: u32,
        channels: u8,
    ) -> Result<Self, HwError> {
        let path = resolve(name, port)?;
        let device = format!("relay board \"{name}\" ({path})");
        let serial = serialport::new(&path, baud)
            .data_bits(DataBits::Eight)
            .parity(Parity::None)
            .stop_bits(StopBits::One)
            .flow_control(FlowControl::None)
            .timeout(IO_TIMEOUT)
            .open()
            .map_err(|e| open_error(&device, &path, e))?;
        Ok(SerialRelayBoard {
            device,
            name: name.to_owned(),
            spec: port.clone(),
            path,
            baud,
            channels,
            port: serial,
            last_frame: None,
        })
    }

    /// The tty in use, e.g. `/dev/ttyUSB0`.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn check_channel(&self, channel: u8) -> Result<(), HwError> {
        if (1..=self.channels).contains(&channel) {
            Ok(())
        } else {
            Err(HwError::new(
                &self.device,
                format!(
                    "no channel {channel}: the board has channels 1 to {}",
                    self.channels
                ),
            )
            .with_fix("check `channels` and the DUTs' `power.channel` in bench.toml"))
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), HwError> {
        if let Some(last) = self.last_frame {
            let since = last.elapsed();
            if since < INTER_FRAME_GAP {
                std::thread::sleep(INTER_FRAME_GAP - since);
            }
        }
        let result = self.port.write_all(bytes).and_then(|()| self.port.flush());
        // Counted from the attempt: a frame that half went out still needs the gap.
        self.last_frame = Some(Instant::now());
        result.map_err(|e| {
            let mut err = HwError::io(&self.device, &self.path, e);
            if err.fix.is_none() {
                err.fix = Some(format!(
                    "is the module still plugged in? `benchctl doctor` checks {}",
                    self.path
                ));
            }
            err
        })
    }
}

impl RelayBoard for SerialRelayBoard {
    fn set(&mut self, channel: u8, on: bool) -> Result<(), HwError> {
        self.check_channel(channel)?;
        self.send(&frame(channel, on))
    }

    /// Always `Unknown`: LCUS modules only listen (see the module docs).
    fn get(&mut self, channel: u8) -> Result<Reading<bool>, HwError> {
        self.check_channel(channel)?;
        Ok(Reading::Unknown)
    }

    fn probe(&mut self) -> Vec<Check> {
        let mut checks = Vec::new();
        if let SerialPortSpec::Usb { .. } = &self.spec {
            checks.push(Check::ok(format!(
                "relay board \"{}\": {} is {}",
                self.name, self.spec, self.path
            )));
        }
        // Reading the line settings back asks the driver, so it also notices a
        // module unplugged since it was opened.
        match self.port.baud_rate() {
            Ok(actual) if actual == self.baud => checks.push(Check::ok(format!(
                "{}: open at {} baud, 8N1",
                self.device, self.baud
            ))),
            Ok(actual) => checks.push(Check::fail(
                format!(
                    "{}: asked for {} baud, the port runs at {actual}",
                    self.device, self.baud
                ),
                Some("LCUS modules run at 9600: set `baud = 9600` or leave it out".into()),
            )),
            Err(e) => checks.push(Check::from_error(&HwError::io(
                &self.device,
                &self.path,
                e.into(),
            ))),
        }
        checks.push(Check::warn(
            format!(
                "{}: the module cannot report its relays; benchctl shows the last state it set",
                self.device
            ),
            "after the module was replugged or switched by another program, set its channels again",
        ));
        if let SerialPortSpec::Usb { serial: None, .. } = &self.spec {
            let stable = by_path_name(Path::new(&self.path))
                .map(|p| format!("port = \"{}\"", p.display()))
                .unwrap_or_else(|| "a `port` path under /dev/serial/by-path/".into());
            checks.push(Check::warn(
                format!(
                    "{}: found by {} alone, which any other adapter with the same chip also matches",
                    self.device, self.spec
                ),
                format!("use {stable} instead of `usb`, which stays valid while the module keeps its USB socket"),
            ));
        }
        checks
    }
}

/// The tty to open for a port spec.
pub(crate) fn resolve(name: &str, spec: &SerialPortSpec) -> Result<String, HwError> {
    let (vid, pid, serial) = match spec {
        SerialPortSpec::Path(path) => return Ok(path.clone()),
        SerialPortSpec::Usb { vid, pid, serial } => (*vid, *pid, serial.as_deref()),
    };
    let device = format!("relay board \"{name}\" ({spec})");
    let ports = usb_ports().map_err(|what| {
        HwError::new(&device, what)
            .with_fix("check that /sys is mounted, or configure the port by path")
    })?;
    pick_usb_port(&ports, vid, pid, serial).map_err(|(what, fix)| {
        let mut err = HwError::new(&device, what);
        err.fix = fix;
        err
    })
}

/// A USB serial port as enumeration sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UsbPort {
    path: String,
    vid: u16,
    pid: u16,
    serial: Option<String>,
    product: Option<String>,
}

impl fmt::Display for UsbPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:04x}:{:04x}", self.path, self.vid, self.pid)?;
        match &self.serial {
            Some(s) => write!(f, ", serial {s}")?,
            None => f.write_str(", no serial number")?,
        }
        if let Some(p) = &self.product {
            write!(f, ", \"{p}\"")?;
        }
        f.write_str(")")?;
        if let Some(stable) = by_path_name(Path::new(&self.path)) {
            write!(f, " = {}", stable.display())?;
        }
        Ok(())
    }
}

/// Every USB serial port on the host.
fn usb_ports() -> Result<Vec<UsbPort>, String> {
    // Without libudev, serialport enumerates from /sys/class/tty and panics if
    // it is missing (some containers); fail like any other error instead.
    #[cfg(target_os = "linux")]
    if !Path::new("/sys/class/tty").is_dir() {
        return Err("cannot list serial ports: /sys/class/tty does not exist".into());
    }
    let ports =
        serialport::available_ports().map_err(|e| format!("cannot list serial ports: {e}"))?;
    Ok(ports
        .into_iter()
        .filter_map(|p| match p.port_type {
            SerialPortType::UsbPort(usb) => Some(UsbPort {
                path: p.port_name,
                vid: usb.vid,
                pid: usb.pid,
                serial: usb.serial_number,
                product: usb.product,
            }),
            _ => None,
        })
        .collect())
}

/// The one port matching a USB identity, or what was wrong and the fix.
fn pick_usb_port(
    ports: &[UsbPort],
    vid: u16,
    pid: u16,
    serial: Option<&str>,
) -> Result<String, (String, Option<String>)> {
    let wanted = |p: &&UsbPort| {
        p.vid == vid && p.pid == pid && serial.is_none_or(|s| p.serial.as_deref() == Some(s))
    };
    let matches: Vec<&UsbPort> = ports.iter().filter(wanted).collect();
    let list = |ports: &mut dyn Iterator<Item = &UsbPort>| {
        ports.map(|p| format!("\n  {p}")).collect::<String>()
    };
    match matches.as_slice() {
        [one] => Ok(one.path.clone()),
        [] => {
            let found = if ports.is_empty() {
                "no USB serial ports at all".to_owned()
            } else {
                format!("USB serial ports found:{}", list(&mut ports.iter()))
            };
            let same_chip = ports.iter().any(|p| p.vid == vid && p.pid == pid);
            let fix = if serial.is_some() && same_chip {
                "a port with this VID:PID is there but its serial number differs; \
                 CH340 modules have none: drop `serial` and match by path instead"
            } else {
                "is the module plugged in? `lsusb` shows what the host sees"
            };
            Err((
                format!("no USB serial port matches; {found}"),
                Some(fix.to_owned()),
            ))
        }
        several => Err((
            format!(
                "{} USB serial ports match, benchctl will not guess:{}",
                several.len(),
                list(&mut several.iter().copied())
            ),
            Some(if serial.is_some() {
                "configure the module by its `port` path under /dev/serial/by-path/".to_owned()
            } else {
                "add the module's `serial` to `usb`, or (CH340 modules have no serial number) \
                 configure it by its `port` path under /dev/serial/by-path/"
                    .to_owned()
            }),
        )),
    }
}

/// The stable `/dev/serial/by-path/...` link to a tty, if udev made one.
fn by_path_name(tty: &Path) -> Option<PathBuf> {
    let target = tty.canonicalize().ok()?;
    std::fs::read_dir(BY_PATH_DIR)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|link| link.canonicalize().is_ok_and(|t| t == target))
}

/// An open failure, with the fix a lab engineer needs.
pub(crate) fn open_error(device: &str, path: &str, e: serialport::Error) -> HwError {
    if let serialport::ErrorKind::NoDevice = e.kind {
        // serialport reports EBUSY (TIOCEXCL) and a held flock this way:
        // another process has the port open.
        return HwError::new(device, format!("{path} is in use by another program ({e})"))
            .with_fix(format!(
                "find it with `fuser -v {path}` and close it (a serial terminal, ModemManager, another benchctl)"
            ));
    }
    let e = std::io::Error::from(e);
    // The fix depends on the real node (dialout applies to /dev/ttyUSB0, not
    // to the /dev/serial/by-path/ link that points at it); the message names
    // the path as configured.
    let node = Path::new(path)
        .canonicalize()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .unwrap_or_else(|| path.to_owned());
    HwError {
        device: device.to_owned(),
        what: format!("{path}: {e}"),
        fix: io_fix(&node, &e),
        source: Some(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_the_sheet() {
        assert_eq!(frame(1, true), [0xA0, 0x01, 0x01, 0xA2]);
        assert_eq!(frame(1, false), [0xA0, 0x01, 0x00, 0xA1]);
        assert_eq!(frame(2, true), [0xA0, 0x02, 0x01, 0xA3]);
        assert_eq!(frame(2, false), [0xA0, 0x02, 0x00, 0xA2]);
        assert_eq!(frame(8, true), [0xA0, 0x08, 0x01, 0xA9]);
    }

    #[test]
    fn checksum_wraps_like_a_byte() {
        // Not a channel any board has; checks the sum is taken modulo 256.
        assert_eq!(frame(0x60, true), [0xA0, 0x60, 0x01, 0x01]);
    }

    fn port(path: &str, vid: u16, pid: u16, serial: Option<&str>) -> UsbPort {
        UsbPort {
            path: path.into(),
            vid,
            pid,
            serial: serial.map(Into::into),
            product: Some("USB Serial".into()),
        }
    }

    #[test]
    fn one_usb_match_is_taken() {
        let ports = [
            port("/dev/ttyACM0", 0x2e8a, 0x000a, Some("E660")),
            port("/dev/ttyUSB0", 0x1a86, 0x7523, None),
        ];
        assert_eq!(
            pick_usb_port(&ports, 0x1a86, 0x7523, None),
            Ok("/dev/ttyUSB0".into())
        );
    }

    #[test]
    fn usb_match_by_serial_number() {
        let ports = [
            port("/dev/ttyUSB0", 0x0403, 0x6001, Some("A1")),
            port("/dev/ttyUSB1", 0x0403, 0x6001, Some("B2")),
        ];
        assert_eq!(
            pick_usb_port(&ports, 0x0403, 0x6001, Some("B2")),
            Ok("/dev/ttyUSB1".into())
        );
    }

    #[test]
    fn several_usb_matches_are_listed_not_guessed() {
        let ports = [
            port("/dev/ttyUSB0", 0x1a86, 0x7523, None),
            port("/dev/ttyUSB1", 0x1a86, 0x7523, None),
        ];
        let (what, fix) = pick_usb_port(&ports, 0x1a86, 0x7523, None).expect_err("ambiguous");
        assert!(what.contains("2 USB serial ports match"), "{what}");
        assert!(
            what.contains("/dev/ttyUSB0 (1a86:7523, no serial number"),
            "{what}"
        );
        assert!(what.contains("/dev/ttyUSB1"), "{what}");
        assert!(fix.expect("a fix").contains("/dev/serial/by-path/"));
    }

    #[test]
    fn no_usb_match_lists_what_is_there() {
        let ports = [port("/dev/ttyUSB0", 0x0403, 0x6001, Some("A1"))];
        let (what, fix) = pick_usb_port(&ports, 0x1a86, 0x7523, None).expect_err("no match");
        assert!(what.contains("no USB serial port matches"), "{what}");
        assert!(
            what.contains("/dev/ttyUSB0 (0403:6001, serial A1"),
            "{what}"
        );
        assert!(fix.expect("a fix").contains("plugged in"));

        let (what, _) = pick_usb_port(&[], 0x1a86, 0x7523, None).expect_err("no ports");
        assert!(what.contains("no USB serial ports at all"), "{what}");
    }

    #[test]
    fn a_serial_number_on_a_ch340_explains_itself() {
        let ports = [port("/dev/ttyUSB0", 0x1a86, 0x7523, None)];
        let (_, fix) =
            pick_usb_port(&ports, 0x1a86, 0x7523, Some("1234")).expect_err("serial differs");
        assert!(fix.expect("a fix").contains("drop `serial`"));
    }
}
