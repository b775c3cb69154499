//! A validated scenario: per DUT, a timeline of steps the runner can trust.

use std::time::Duration;

use serde::Serialize;

use crate::hw::DeviceCommand;

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// What a failing action does to the run.
    pub on_fault: FaultPolicy,
    /// How long a device command waits for a phone that is still starting
    /// (booting, restarting) before it fails: `device_timeout`, default
    /// [`DEFAULT_DEVICE_TIMEOUT`].
    #[serde(with = "crate::config::duration::serde_secs")]
    pub device_timeout: Duration,
    /// One per DUT, run in parallel on one run clock.
    pub timelines: Vec<Timeline>,
}

/// How long a device command waits for a phone still starting, unless the
/// scenario says otherwise: a real phone boots in 30 to 60 s.
pub const DEFAULT_DEVICE_TIMEOUT: Duration = Duration::from_secs(90);

impl Scenario {
    /// How long the longest timeline takes when every action is instant.
    pub fn nominal_duration(&self) -> Duration {
        self.timelines
            .iter()
            .map(Timeline::nominal_duration)
            .max()
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultPolicy {
    /// Stop the run at the first failed action (safe state, recording kept).
    Abort,
    /// Journal the fault and go on with the timeline.
    Continue,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub dut: String,
    pub steps: Vec<Step>,
}

impl Timeline {
    pub fn nominal_duration(&self) -> Duration {
        self.steps.iter().map(|s| s.kind.takes()).sum()
    }

    /// Each step with the run-clock time it starts at, if actions are instant.
    pub fn schedule(&self) -> Vec<(Duration, &Step)> {
        let mut t = Duration::ZERO;
        self.steps
            .iter()
            .map(|s| {
                let at = t;
                t += s.kind.takes();
                (at, s)
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Line in the scenario file, for messages and the journal.
    pub line: usize,
    #[serde(flatten)]
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "step")]
pub enum StepKind {
    Action {
        action: Action,
    },
    Wait {
        #[serde(with = "crate::config::duration::serde_secs")]
        duration: Duration,
    },
    Mark {
        text: String,
    },
    Phase {
        name: String,
        expect: Expect,
    },
}

impl StepKind {
    /// How long the step holds its timeline up.
    pub fn takes(&self) -> Duration {
        match self {
            StepKind::Wait { duration } => *duration,
            StepKind::Action {
                action: Action::PowerCycle { off_time },
            } => *off_time,
            _ => Duration::ZERO,
        }
    }
}

/// What the bench does to a DUT. Serialized as the scenario file writes
/// it: `{"do": "net.isolate"}`, `{"do": "power.cycle", "off_time": 3.0}`,
/// `{"do": "device.airplane", "state": "on"}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    PowerOn,
    PowerOff,
    PowerCycle { off_time: Duration },
    UsbOn,
    UsbOff,
    NetIsolate,
    NetOpen,
    NetAllowlist { allow: Vec<String> },
    Device { command: DeviceCommand },
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("do", self.name())?;
        match self {
            Action::PowerCycle { off_time } => {
                map.serialize_entry("off_time", &off_time.as_secs_f64())?
            }
            Action::NetAllowlist { allow } => map.serialize_entry("allow", allow)?,
            Action::Device {
                command: DeviceCommand::Airplane(on) | DeviceCommand::Screen(on),
            } => map.serialize_entry("state", if *on { "on" } else { "off" })?,
            _ => {}
        }
        map.end()
    }
}

impl Action {
    /// The name used in scenario files and the journal (`power.on`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::PowerOn => "power.on",
            Action::PowerOff => "power.off",
            Action::PowerCycle { .. } => "power.cycle",
            Action::UsbOn => "usb.on",
            Action::UsbOff => "usb.off",
            Action::NetIsolate => "net.isolate",
            Action::NetOpen => "net.open",
            Action::NetAllowlist { .. } => "net.allowlist",
            Action::Device { command } => match command {
                DeviceCommand::Airplane(_) => "device.airplane",
                DeviceCommand::Screen(_) => "device.screen",
                DeviceCommand::PowerOff => "device.power-off",
                DeviceCommand::Reboot => "device.reboot",
            },
        }
    }

    /// Its argument in words, for people (`on`, `3s`, the allowlist).
    pub fn detail(&self) -> Option<String> {
        match self {
            Action::PowerCycle { off_time } => Some(format!(
                "off {}",
                crate::config::duration::format(*off_time)
            )),
            Action::NetAllowlist { allow } => Some(allow.join(", ")),
            Action::Device {
                command: DeviceCommand::Airplane(on) | DeviceCommand::Screen(on),
            } => Some(if *on { "on" } else { "off" }.into()),
            _ => None,
        }
    }
}

/// A phase's expectations are the journal's: the scenario says them, the
/// recorder writes them into events.jsonl unchanged.
pub use benchctl_format::journal::{
    DEFAULT_OFF_CURRENT_A, Expect, NetExpect, PowerExpect, RfExpect,
};

/// A phase's expectations in words, for people (`run --dry-run`): "no
/// packets, RF silent", "allowlist of 6 (gstatic.com, google.com, ...)",
/// "anything".
pub fn expect_words(e: &Expect) -> String {
    let mut words = Vec::new();
    if e.rf == RfExpect::Silent {
        words.push("RF silent".to_string());
    }
    match e.net {
        NetExpect::None => words.push("no packets".into()),
        NetExpect::Allowlist => {
            let shown: Vec<&str> = e.allow.iter().take(3).map(String::as_str).collect();
            let more = if e.allow.len() > shown.len() {
                ", ..."
            } else {
                ""
            };
            words.push(format!(
                "allowlist of {} ({}{more})",
                e.allow.len(),
                shown.join(", ")
            ));
        }
        NetExpect::Any => {}
    }
    if e.power == PowerExpect::Off {
        let amps = e.off_current_a.unwrap_or(DEFAULT_OFF_CURRENT_A);
        words.push(format!("power off (at most {:.0} mA)", amps * 1e3));
    }
    let mut text = if words.is_empty() {
        "anything".to_string()
    } else {
        words.join(", ")
    };
    if let Some(s) = e.settle_s {
        text.push_str(&format!(" (from {s} s after its start)"));
    }
    text
}
