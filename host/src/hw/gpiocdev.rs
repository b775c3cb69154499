//! Relays on any Linux board's GPIO through the kernel's GPIO character
//! device (`/dev/gpiochipN`), with the `gpiocdev` crate: a BeagleBone, a
//! Rock Pi, an x86 box with a USB GPIO adapter, or a Raspberry Pi without
//! rppal. (rppal drives the Pi's registers directly and is in maintenance:
//! no new features, fixes only; it stays for the Pi, `kind = "rppal-gpio"`.)
//!
//! Channel n is driven by `lines[n - 1]`, a line offset on `chip`; with
//! `active_low` the relay is closed while its line is low.
//!
//! Opening must not glitch a closed relay open: the lines are requested
//! as they are (`as_is`), their levels read, and only then made outputs at
//! those same levels (one reconfigure, which sets direction and value
//! together).
//!
//! Relays must hold after benchctl exits. The character device gives
//! requested lines back to the kernel when the process ends, and what a
//! released output then does is up to the chip's driver: most keep the
//! last level, some let the line float (and an optocoupled relay board
//! then falls back to open). `doctor` says so; check a board with a meter
//! once (`benchctl power X on`, exit, measure), or keep benchctl holding
//! the lines for the length of a run (what `run` and `suite` do anyway).

use std::path::{Path, PathBuf};

use gpiocdev::line::{Offset, Value};
use gpiocdev::request::{Config, Request};

use super::gpio_lines::{Line, Relays, relay_closed};
use super::{Check, HwError, Reading, RelayBoard};

#[derive(Debug)]
pub struct GpiocdevRelayBoard {
    name: String,
    chip: PathBuf,
    relays: Relays<RequestedLine>,
}

/// One output line of the board's request (all lines share it).
#[derive(Debug)]
struct RequestedLine {
    request: std::sync::Arc<Request>,
    offset: Offset,
}

impl Line for RequestedLine {
    fn set_high(&mut self, high: bool) -> Result<(), String> {
        // The request is made active-high: the relay logic decides levels.
        let value = if high { Value::Active } else { Value::Inactive };
        self.request
            .set_value(self.offset, value)
            .map_err(|e| format!("cannot set line {}: {e}", self.offset))
    }

    fn is_high(&self) -> Result<bool, String> {
        self.request
            .value(self.offset)
            .map(|v| v == Value::Active)
            .map_err(|e| format!("cannot read line {}: {e}", self.offset))
    }
}

impl GpiocdevRelayBoard {
    pub fn open(name: &str, chip: &Path, lines: &[u32], active_low: bool) -> Result<Self, HwError> {
        let device = device_name(name, chip, lines);
        let request = Request::builder()
            .on_chip(chip)
            .with_consumer(format!("benchctl {name}"))
            .with_lines(lines)
            .as_is()
            .request()
            .map_err(|e| gpio_error(&device, chip, e))?;
        // Read the levels first, then make the lines outputs at them.
        let mut config: Config = request.config();
        for &offset in lines {
            let level = request
                .value(offset)
                .map_err(|e| gpio_error(&device, chip, e))?;
            config.with_line(offset).as_output(level);
        }
        request
            .reconfigure(&config)
            .map_err(|e| gpio_error(&device, chip, e))?;
        let request = std::sync::Arc::new(request);
        let lines = lines
            .iter()
            .map(|&offset| RequestedLine {
                request: request.clone(),
                offset,
            })
            .collect();
        Ok(GpiocdevRelayBoard {
            name: name.to_string(),
            chip: chip.to_path_buf(),
            relays: Relays::new(lines, active_low),
        })
    }

    fn device(&self) -> String {
        let lines: Vec<u32> = self.relays.lines.iter().map(|l| l.offset).collect();
        device_name(&self.name, &self.chip, &lines)
    }
}

impl RelayBoard for GpiocdevRelayBoard {
    fn set(&mut self, channel: u8, on: bool) -> Result<(), HwError> {
        self.relays
            .set(channel, on)
            .map_err(|what| HwError::new(self.device(), what))
    }

    /// The level read back from the line, not what benchctl last wrote.
    fn get(&mut self, channel: u8) -> Result<Reading<bool>, HwError> {
        self.relays
            .closed(channel)
            .map(Reading::Read)
            .map_err(|what| HwError::new(self.device(), what))
    }

    fn probe(&mut self) -> Vec<Check> {
        let mut checks = vec![Check::ok(format!(
            "{}: lines requested",
            self.chip.display()
        ))];
        let active_low = self.relays.active_low;
        for (i, line) in self.relays.lines.iter().enumerate() {
            let channel = i + 1;
            match line.is_high() {
                Ok(high) => checks.push(Check::ok(format!(
                    "channel {channel}: line {} {} (relay {})",
                    line.offset,
                    if high { "high" } else { "low" },
                    if relay_closed(high, active_low) {
                        "closed"
                    } else {
                        "open"
                    },
                ))),
                Err(e) => checks.push(Check::fail(
                    format!("channel {channel}: {e}"),
                    Some("check the line offsets with `gpioinfo`".into()),
                )),
            }
        }
        checks.push(Check::warn(
            "a released GPIO line keeps its level only if the chip's driver keeps it",
            format!(
                "check once that relay board \"{}\" holds after benchctl exits (power on, exit, measure)",
                self.name
            ),
        ));
        checks
    }
}

fn device_name(name: &str, chip: &Path, lines: &[u32]) -> String {
    let lines: Vec<String> = lines.iter().map(u32::to_string).collect();
    format!(
        "relay board \"{name}\" ({} lines {})",
        chip.display(),
        lines.join(", ")
    )
}

/// gpiocdev's errors in lab terms.
fn gpio_error(device: &str, chip: &Path, e: gpiocdev::Error) -> HwError {
    use gpiocdev::Error;
    use std::io::ErrorKind;
    let what = format!("cannot use the GPIO lines: {e}");
    match &e {
        Error::GpioChip(_, _) | Error::Os(_) | Error::Uapi(_, _) => {
            let text = e.to_string().to_lowercase();
            if !chip.exists() {
                HwError::new(device, format!("{}: no such GPIO chip", chip.display())).with_fix(
                    "`gpiodetect` (Debian gpiod) lists the chips: set `chip` to one of them",
                )
            } else if text.contains("permission") || text.contains("denied") {
                let io = std::io::Error::new(ErrorKind::PermissionDenied, "permission denied");
                HwError {
                    device: device.to_string(),
                    what,
                    fix: super::io_fix(&chip.display().to_string(), &io),
                    source: Some(io),
                }
            } else if text.contains("busy") {
                HwError::new(device, what).with_fix(
                    "another program holds one of these lines (`gpioinfo` names it as the consumer)",
                )
            } else {
                HwError::new(device, what)
            }
        }
        Error::InvalidArgument(_) => HwError::new(device, what)
            .with_fix("a line offset is past the chip's last line: `gpioinfo` lists them"),
        _ => HwError::new(device, what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chip path that is not there fails with the fix, not a panic.
    #[test]
    fn a_missing_chip_is_an_error_with_a_fix() {
        let err =
            GpiocdevRelayBoard::open("relays", Path::new("/dev/gpiochip-none"), &[17, 27], true)
                .expect_err("no such chip");
        assert!(err.device.contains("relay board \"relays\""), "{err}");
        assert!(err.device.contains("lines 17, 27"), "{err}");
        assert!(err.what.contains("no such GPIO chip"), "{err}");
        assert!(
            err.fix.as_deref().is_some_and(|f| f.contains("gpiodetect")),
            "{err}"
        );
    }

    /// Against the kernel's gpio-sim (a simulated chip made through
    /// configfs): the relays switch, read back, and the levels hold while
    /// the board is reopened. This machine's kernel has no gpio-sim.
    #[test]
    #[ignore = "needs the kernel's gpio-sim (configfs: /sys/kernel/config/gpio-sim) and root; run with --ignored there"]
    fn relays_switch_on_a_gpio_sim_chip() {
        let sim = GpioSim::new("benchctl-test", 4).expect("gpio-sim chip");
        let mut board =
            GpiocdevRelayBoard::open("relays", &sim.chip(), &[0, 1, 2, 3], true).expect("open");
        board.set(2, true).expect("close channel 2");
        assert!(matches!(board.get(2), Ok(Reading::Read(true))));
        assert!(matches!(board.get(1), Ok(Reading::Read(false))));
        assert_eq!(sim.level(1), Some(false), "active-low: line 1 pulled low");
        drop(board);
        let mut again =
            GpiocdevRelayBoard::open("relays", &sim.chip(), &[0, 1, 2, 3], true).expect("reopen");
        assert!(
            matches!(again.get(2), Ok(Reading::Read(true))),
            "no glitch on open"
        );
    }

    /// A gpio-sim chip made through configfs, removed on drop.
    struct GpioSim {
        dir: PathBuf,
    }

    impl GpioSim {
        fn new(name: &str, lines: u32) -> std::io::Result<GpioSim> {
            let dir = Path::new("/sys/kernel/config/gpio-sim").join(name);
            std::fs::create_dir(&dir)?;
            std::fs::create_dir(dir.join("bank0"))?;
            std::fs::write(dir.join("bank0/num_lines"), lines.to_string())?;
            std::fs::write(dir.join("live"), "1")?;
            Ok(GpioSim { dir })
        }

        fn chip(&self) -> PathBuf {
            let name =
                std::fs::read_to_string(self.dir.join("bank0/chip_name")).unwrap_or_default();
            Path::new("/dev").join(name.trim())
        }

        /// The level the simulated chip sees on `line`.
        fn level(&self, line: u32) -> Option<bool> {
            let dev = std::fs::read_to_string(self.dir.join("dev_name")).ok()?;
            let chip = std::fs::read_to_string(self.dir.join("bank0/chip_name")).ok()?;
            let path = format!(
                "/sys/devices/platform/{}/{}/sim_gpio{line}/value",
                dev.trim(),
                chip.trim()
            );
            std::fs::read_to_string(path).ok().map(|v| v.trim() == "1")
        }
    }

    impl Drop for GpioSim {
        fn drop(&mut self) {
            let _ = std::fs::write(self.dir.join("live"), "0");
            let _ = std::fs::remove_dir(self.dir.join("bank0"));
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}
