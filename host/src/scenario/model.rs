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
    /// One per DUT, run in parallel on one run clock.
    pub timelines: Vec<Timeline>,
}

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

/// What the bench does to a DUT.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "do")]
pub enum Action {
    PowerOn,
    PowerOff,
    PowerCycle {
        #[serde(with = "crate::config::duration::serde_secs")]
        off_time: Duration,
    },
    UsbOn,
    UsbOff,
    NetIsolate,
    NetOpen,
    NetAllowlist {
        allow: Vec<String>,
    },
    Device {
        command: DeviceCommand,
    },
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

/// A phase's expectations, as events.jsonl's `expect` object carries them
/// (spec: recording-format.md). `Any` values are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Expect {
    #[serde(skip_serializing_if = "RfExpect::is_any")]
    pub rf: RfExpect,
    #[serde(skip_serializing_if = "NetExpect::is_any")]
    pub net: NetExpect,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    #[serde(skip_serializing_if = "PowerExpect::is_any")]
    pub power: PowerExpect,
    /// With power = "off": the most current the DUT may draw, amperes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub off_current_a: Option<f64>,
}

/// The spec's default for `off_current_a`.
pub const DEFAULT_OFF_CURRENT_A: f64 = 0.005;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RfExpect {
    #[default]
    Any,
    Silent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetExpect {
    #[default]
    Any,
    None,
    Allowlist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PowerExpect {
    #[default]
    Any,
    Off,
}

impl RfExpect {
    fn is_any(&self) -> bool {
        *self == RfExpect::Any
    }
}
impl NetExpect {
    fn is_any(&self) -> bool {
        *self == NetExpect::Any
    }
}
impl PowerExpect {
    fn is_any(&self) -> bool {
        *self == PowerExpect::Any
    }
}
