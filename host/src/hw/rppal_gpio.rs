//! Relay HATs on Raspberry Pi GPIO, through rppal 0.22 (memory-mapped GPIO
//! registers via /dev/gpiomem, or /dev/gpiomem0 on the Pi 5).
//!
//! Channel n is driven by `pins[n - 1]` (BCM numbers). With `active_low` the
//! relay is closed while its pin is low, as on most optocoupled HATs.
//!
//! Relays must hold after benchctl exits (`benchctl power phone-a on`, then the
//! process ends). From rppal's docs (`gpio` module, "Pins are reset to their
//! original state when they go out of scope"; `OutputPin::set_reset_on_drop`):
//! by default dropping an `OutputPin` puts the pin back into the mode it had
//! before (usually input), which would let the relay fall back. Every pin here
//! has `set_reset_on_drop(false)`, so it stays an output at its level. (On a
//! crash rppal's drop does not run at all, which also leaves the level alone.)
//!
//! Opening must not glitch a closed relay open. From rppal 0.22 `Pin`:
//! `into_output()` "sets the mode to Output and leaves the logic level
//! unchanged" (the output latch, which for a pin that was an input may hold
//! anything); `into_output_low/high()` "changes the logic level ... and then
//! sets the mode to Output". So `open` reads the level on the line first and
//! takes the pin with `into_output_high/low` at that same level: a pin still
//! driven from the last run gets its own level written again (no change), and
//! a pin that was an input keeps the level the relay driver sees now.

use rppal::gpio::{Gpio, Level, Mode, OutputPin};
use rppal::system::DeviceInfo;

use super::gpio_lines::{Line, Relays, relay_closed};
use super::{Check, HwError, Reading, RelayBoard};

#[derive(Debug)]
pub struct GpioRelayBoard {
    name: String,
    pins: Vec<u8>,
    /// The Pi as rppal identifies it, for `benchctl doctor`.
    model: Option<String>,
    /// Each pin's mode before benchctl took it; an alternate function means
    /// the pin also belongs to a UART, I2C or SPI bus.
    modes_before: Vec<Mode>,
    relays: Relays<OutputPin>,
}

impl GpioRelayBoard {
    pub fn open(name: &str, pins: &[u8], active_low: bool) -> Result<Self, HwError> {
        let device = device_name(name, pins);
        let gpio = Gpio::new().map_err(|e| gpio_error(&device, e))?;
        let mut lines = Vec::with_capacity(pins.len());
        let mut modes_before = Vec::with_capacity(pins.len());
        for &bcm in pins {
            let pin = gpio.get(bcm).map_err(|e| gpio_error(&device, e))?;
            modes_before.push(pin.mode());
            let mut out = match pin.read() {
                Level::High => pin.into_output_high(),
                Level::Low => pin.into_output_low(),
            };
            out.set_reset_on_drop(false);
            lines.push(out);
        }
        Ok(GpioRelayBoard {
            name: name.to_string(),
            pins: pins.to_vec(),
            model: DeviceInfo::new().ok().map(|d| d.model().to_string()),
            modes_before,
            relays: Relays::new(lines, active_low),
        })
    }

    fn device(&self) -> String {
        device_name(&self.name, &self.pins)
    }
}

impl RelayBoard for GpioRelayBoard {
    fn set(&mut self, channel: u8, on: bool) -> Result<(), HwError> {
        self.relays
            .set(channel, on)
            .map_err(|what| HwError::new(self.device(), what))
    }

    /// The level read back from the pin, not what benchctl last wrote.
    fn get(&mut self, channel: u8) -> Result<Reading<bool>, HwError> {
        self.relays
            .closed(channel)
            .map(Reading::Read)
            .map_err(|what| HwError::new(self.device(), what))
    }

    fn probe(&mut self) -> Vec<Check> {
        let mut checks = vec![Check::ok(format!(
            "{}: GPIO accessible",
            self.model.as_deref().unwrap_or("Raspberry Pi")
        ))];
        let logic = if self.relays.active_low {
            "active-low"
        } else {
            "active-high"
        };
        for (i, (&bcm, &mode)) in self.pins.iter().zip(&self.modes_before).enumerate() {
            let channel = i + 1;
            let Some(Ok(high)) = self.relays.lines.get(i).map(Line::is_high) else {
                continue;
            };
            let closed = relay_closed(high, self.relays.active_low);
            checks.push(Check::ok(format!(
                "channel {channel}: GPIO {bcm} {} (relay {}, {logic})",
                if high { "high" } else { "low" },
                if closed { "closed" } else { "open" },
            )));
            if !matches!(mode, Mode::Input | Mode::Output) {
                checks.push(Check::warn(
                    format!(
                        "GPIO {bcm} (channel {channel}) was in mode {mode} before benchctl took it: \
it may belong to a UART, I2C or SPI bus"
                    ),
                    format!(
                        "disable that interface in /boot/firmware/config.txt or wire the relay to another GPIO and change `pins` in [relays.{}]",
                        self.name
                    ),
                ));
            }
        }
        checks
    }
}

fn device_name(name: &str, pins: &[u8]) -> String {
    let pins: Vec<String> = pins.iter().map(u8::to_string).collect();
    format!("relay board \"{name}\" (GPIO {})", pins.join(", "))
}

const NOT_A_PI_FIX: &str =
    "this board kind needs a Raspberry Pi; on other boards use kind = \"serial-relay\"";

/// rppal's errors in lab terms.
fn gpio_error(device: &str, e: rppal::gpio::Error) -> HwError {
    use rppal::gpio::Error;
    use std::io::{self, ErrorKind};
    match e {
        Error::UnknownModel => {
            HwError::new(device, format!("no Raspberry Pi GPIO here (rppal: {e})"))
                .with_fix(NOT_A_PI_FIX)
        }
        Error::PermissionDenied(path) => {
            // rppal names /dev/mem when /dev/gpiomem was refused as well; the
            // fix is the gpio group either way.
            let e = io::Error::new(ErrorKind::PermissionDenied, "permission denied");
            HwError {
                device: device.to_string(),
                what: format!("cannot open the GPIO: {path}: permission denied"),
                fix: super::io_fix("/dev/gpiomem", &e),
                source: Some(e),
            }
        }
        Error::PinNotAvailable(pin) => {
            HwError::new(device, format!("GPIO {pin} does not exist on this Pi")).with_fix(
                "`pins` are BCM GPIO numbers (GPIO 17 is header pin 11), 0-27 on the 40-pin header",
            )
        }
        Error::PinUsed(pin) => HwError::new(
            device,
            format!("GPIO {pin} is already in use by this benchctl"),
        )
        .with_fix("a GPIO drives one relay channel only: check `pins` in bench.toml"),
        Error::Io(io) => {
            let fix = match io.kind() {
                // rppal found a Pi but no GPIO device node.
                ErrorKind::NotFound => Some(format!("is this Raspberry Pi OS? {NOT_A_PI_FIX}")),
                _ => super::io_fix("/dev/gpiomem", &io),
            };
            HwError {
                device: device.to_string(),
                what: format!("cannot open the GPIO (rppal: {io})"),
                fix,
                source: Some(io),
            }
        }
        other => HwError::new(device, format!("GPIO error (rppal: {other})")),
    }
}

impl Line for OutputPin {
    fn set_high(&mut self, high: bool) -> Result<(), String> {
        self.write(Level::from(high));
        Ok(())
    }
    fn is_high(&self) -> Result<bool, String> {
        Ok(self.is_set_high())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test machine is no Pi: opening must fail cleanly, not panic.
    #[test]
    fn open_without_pi_gpio_fails_with_a_fix() {
        if std::path::Path::new("/dev/gpiomem").exists()
            || std::path::Path::new("/dev/gpiomem0").exists()
        {
            return; // on a real Pi this would take the pins
        }
        let err = GpioRelayBoard::open("relays", &[5, 6, 13, 19], true).expect_err("must fail");
        assert!(err.device.contains("relay board \"relays\""), "{err}");
        assert!(err.device.contains("GPIO 5, 6, 13, 19"), "{err}");
        assert!(err.what.contains("no Raspberry Pi GPIO here"), "{err}");
        assert!(
            err.fix
                .as_deref()
                .is_some_and(|f| f.contains("serial-relay")),
            "{err}"
        );
    }

    #[test]
    fn permission_denied_names_the_gpio_group() {
        let e = gpio_error(
            "relay board \"relays\"",
            rppal::gpio::Error::PermissionDenied("/dev/gpiomem".into()),
        );
        assert!(
            e.fix
                .as_deref()
                .is_some_and(|f| f.contains("usermod -aG gpio")),
            "{e}"
        );
    }
}
