//! A scenario file as written, with every value's place kept for messages.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenarioFile {
    pub scenario: Spanned<RawHeader>,
    /// Timelines of single DUTs, run in parallel with the others.
    #[serde(default)]
    pub timelines: BTreeMap<Spanned<String>, Spanned<RawTimeline>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub duts: Spanned<Vec<Spanned<String>>>,
    pub on_fault: Option<Spanned<RawFaultPolicy>>,
    /// How long a device command waits for a phone that is still starting.
    pub device_timeout: Option<Spanned<String>>,
    /// Every phase's settle window unless the phase sets its own.
    pub settle: Option<Spanned<String>>,
    /// The timeline every DUT in `duts` runs, unless it has its own.
    pub steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
pub enum RawFaultPolicy {
    Abort,
    Continue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeline {
    pub steps: Spanned<Vec<Spanned<RawStep>>>,
}

/// One step: exactly one of `do`, `wait`, `mark`, `phase`, with the keys
/// that go with it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    #[serde(rename = "do")]
    pub action: Option<Spanned<String>>,
    pub wait: Option<Spanned<String>>,
    pub mark: Option<Spanned<String>>,
    pub phase: Option<Spanned<String>>,

    /// device.airplane / device.screen: "on" or "off".
    pub state: Option<Spanned<String>>,
    /// power.cycle: how long the supply stays off.
    pub off_time: Option<Spanned<String>>,
    /// net.allowlist, and a phase with net = "allowlist".
    pub allow: Option<Spanned<Vec<Spanned<String>>>>,

    /// Phase expectations (spec: recording-format.md, events.jsonl `expect`).
    pub rf: Option<Spanned<String>>,
    pub net: Option<Spanned<String>>,
    pub power: Option<Spanned<String>>,
    pub off_current_a: Option<Spanned<f64>>,
    /// How long after the phase starts the DUT has to obey (`expect.settle_s`).
    pub settle: Option<Spanned<String>>,
}
