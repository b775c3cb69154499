//! Simulated relays, hub ports, links and phones, backed by the simulated lab
//! (`crate::sim`). They behave like the real thing from the outside: state
//! holds between commands and can be read back.

use std::sync::Arc;

use super::{LabState, PhoneSettings, SimLab};
use crate::config::DutConfig;
use crate::hw::{
    Check, DeviceCommand, DeviceControl, DeviceMode, DeviceState, HwError, NetLink, NetState,
    Readiness, Reading, RelayBoard, UsbHub,
};

/// Add or remove `n` in a sorted set kept as a Vec (the file stays readable).
pub(crate) fn set_member(list: &mut Vec<u8>, n: u8, present: bool) {
    list.retain(|&x| x != n);
    if present {
        list.push(n);
        list.sort_unstable();
    }
}

#[derive(Debug)]
pub struct SimRelayBoard {
    lab: Arc<SimLab>,
    name: String,
    /// After this many successful switching requests, closing a relay fails
    /// (a relay that will not pull in). Opening always works, so the safe
    /// state can still be reached: that is what the fault tests check.
    fail_after: Option<u32>,
    switched: u32,
}

impl SimRelayBoard {
    pub fn new(lab: Arc<SimLab>, name: &str, fail_after: Option<u32>) -> Self {
        SimRelayBoard {
            lab,
            name: name.to_string(),
            fail_after,
            switched: 0,
        }
    }
}

impl RelayBoard for SimRelayBoard {
    fn set(&mut self, channel: u8, on: bool) -> Result<(), HwError> {
        if on && self.fail_after.is_some_and(|n| self.switched >= n) {
            return Err(HwError::new(
                format!("relay board \"{}\"", self.name),
                format!("channel {channel} did not close (simulated fault: fail_after)"),
            ));
        }
        let name = self.name.clone();
        let now = self.lab.now()?;
        self.lab.update(|s| {
            if on && !s.relay_closed(&name, channel) {
                *s.power_ons.entry(format!("{name}/{channel}")).or_default() += 1;
                s.closed_at.insert(format!("{name}/{channel}"), now);
            }
            set_member(s.relays.entry(name).or_default(), channel, on);
        })?;
        self.switched += 1;
        Ok(())
    }

    fn get(&mut self, channel: u8) -> Result<Reading<bool>, HwError> {
        Ok(Reading::Read(
            self.lab.snapshot()?.relay_closed(&self.name, channel),
        ))
    }

    fn probe(&mut self) -> Vec<Check> {
        vec![Check::ok("simulated relay board")]
    }
}

#[derive(Debug)]
pub struct SimHub {
    lab: Arc<SimLab>,
    name: String,
}

impl SimHub {
    pub fn new(lab: Arc<SimLab>, name: &str) -> Self {
        SimHub {
            lab,
            name: name.to_string(),
        }
    }
}

impl UsbHub for SimHub {
    fn set_port(&mut self, port: u8, on: bool) -> Result<(), HwError> {
        let name = self.name.clone();
        self.lab
            .update(|s| set_member(s.hubs.entry(name).or_default(), port, on))
    }

    fn get_port(&mut self, port: u8) -> Result<Reading<bool>, HwError> {
        let state = self.lab.snapshot()?;
        Ok(Reading::Read(
            state
                .hubs
                .get(&self.name)
                .is_some_and(|p| p.contains(&port)),
        ))
    }

    fn probe(&mut self) -> Vec<Check> {
        vec![Check::ok("simulated hub (its ports really cut VBUS)")]
    }
}

#[derive(Debug)]
pub struct SimLink {
    lab: Arc<SimLab>,
    name: String,
}

impl SimLink {
    pub fn new(lab: Arc<SimLab>, name: &str) -> Self {
        SimLink {
            lab,
            name: name.to_string(),
        }
    }
}

impl NetLink for SimLink {
    fn set(&mut self, state: NetState) -> Result<(), HwError> {
        let name = self.name.clone();
        self.lab.update(|s| {
            s.links.insert(name, state);
        })
    }

    fn set_allowlist(&mut self, allow: &[String]) -> Result<(), HwError> {
        let name = self.name.clone();
        self.lab.update(|s| {
            s.allowlists.insert(name.clone(), allow.to_vec());
            s.links.insert(name, NetState::Allowlist);
        })
    }

    fn get(&mut self) -> Result<Reading<NetState>, HwError> {
        let state = self.lab.snapshot()?;
        Ok(Reading::Read(
            state
                .links
                .get(&self.name)
                .copied()
                .unwrap_or(NetState::Isolated),
        ))
    }

    fn probe(&mut self) -> Vec<Check> {
        vec![Check::ok("simulated link")]
    }
}

/// A simulated phone's control channel (what adb is to a real one). It
/// answers only while its supply relay is closed.
#[derive(Debug)]
pub struct SimPhoneControl {
    lab: Arc<SimLab>,
    dut: String,
    /// The relay feeding it, to know whether it has power at all.
    supply: Option<(String, u8)>,
    /// How long it boots, seconds.
    boot_s: f64,
}

impl SimPhoneControl {
    pub fn new(lab: Arc<SimLab>, dut: &DutConfig) -> Self {
        SimPhoneControl {
            lab,
            dut: dut.name.clone(),
            supply: dut.power.as_ref().map(|p| (p.board.clone(), p.channel)),
            boot_s: match &dut.device {
                crate::config::DeviceBackend::Sim(sim) => sim.boot.as_secs_f64(),
                crate::config::DeviceBackend::None => super::phone::BOOT_S,
            },
        }
    }

    fn powered(&self, state: &LabState) -> bool {
        match &self.supply {
            // A phone with no relay on the bench is on its own battery.
            None => true,
            Some((board, ch)) => state.relay_closed(board, *ch),
        }
    }

    fn power_on_count(&self, state: &LabState) -> u64 {
        self.supply
            .as_ref()
            .map_or(0, |(board, ch)| state.power_on_count(board, *ch))
    }

    /// Whether the phone can take a command: it started (power, reboot) at
    /// the later of its relay's closing and its last reboot.
    fn readiness(&self, state: &LabState, settings: &PhoneSettings) -> Result<Readiness, HwError> {
        let closed = self
            .supply
            .as_ref()
            .and_then(|(board, ch)| state.closed_at.get(&format!("{board}/{ch}")))
            .copied();
        let rebooted = state.rebooted_at.get(&self.dut).copied();
        let started = match (closed, rebooted) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let now = self.lab.now()?;
        Ok(settings.readiness(
            &self.dut,
            self.powered(state),
            started.map(|t| now - t),
            self.boot_s,
        ))
    }

    /// What the phone remembers: nothing from before its supply was last cut.
    fn settings(&self, state: &LabState) -> PhoneSettings {
        let power_on = self.power_on_count(state);
        match state.phones.get(&self.dut) {
            Some(s) if s.power_on == power_on => *s,
            _ => PhoneSettings {
                power_on,
                ..PhoneSettings::default()
            },
        }
    }
}

impl DeviceControl for SimPhoneControl {
    fn command(&mut self, cmd: DeviceCommand) -> Result<(), HwError> {
        let state = self.lab.snapshot()?;
        let mut settings = self.settings(&state);
        // A phone still starting does not take commands (its power key, a
        // reboot, it does): refuse rather than claim it obeyed.
        if let Readiness::Starting(why) = self.readiness(&state, &settings)?
            && cmd != DeviceCommand::Reboot
        {
            return Err(HwError::new(
                format!("phone \"{}\"", self.dut),
                format!("cannot {cmd}: {why}"),
            )
            .with_fix("give it time to boot: a scenario step waits up to `device_timeout`"));
        }
        settings.obey(&self.dut, self.powered(&state), cmd)?;
        let dut = self.dut.clone();
        let now = self.lab.now()?;
        self.lab.update(|s| {
            if cmd == DeviceCommand::Reboot {
                s.rebooted_at.insert(dut.clone(), now);
            }
            s.phones.insert(dut, settings);
        })
    }

    fn ready(&mut self) -> Result<Readiness, HwError> {
        let state = self.lab.snapshot()?;
        let settings = self.settings(&state);
        self.readiness(&state, &settings)
    }

    fn state(&mut self) -> Result<DeviceState, HwError> {
        let state = self.lab.snapshot()?;
        let settings = self.settings(&state);
        let on = self.powered(&state) && !settings.soft_off;
        let mode = match self.readiness(&state, &settings)? {
            Readiness::Ready => DeviceMode::Running,
            Readiness::Starting(_) => DeviceMode::Booting,
            Readiness::Off(_) => DeviceMode::Off,
        };
        Ok(DeviceState {
            mode,
            airplane: settings.airplane,
            screen: on && settings.screen,
        })
    }

    fn probe(&mut self) -> Vec<Check> {
        vec![Check::ok("simulated phone")]
    }
}
