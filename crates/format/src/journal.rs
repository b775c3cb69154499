//! `events.jsonl`, the run's journal: one JSON object per line, each with
//! `t` (seconds on the run clock) and `kind`.
//!
//! Lines go through a buffer that the caller's `maybe_flush(now)` empties at
//! least once a second; each line enters the buffer in one piece, so the file
//! only ever holds whole lines up to the last flush.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{RecordError, StreamFile};

/// The journal's file name inside a run directory.
pub const FILE_NAME: &str = "events.jsonl";

/// The spec's default for `off_current_a`, amperes.
pub const DEFAULT_OFF_CURRENT_A: f64 = 0.005;

/// `expect.rf`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RfExpect {
    #[default]
    Any,
    /// Emit nothing on any of the DUT's RF channels.
    Silent,
}

/// `expect.net`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetExpect {
    #[default]
    Any,
    /// Send no packet at all.
    None,
    /// Talk only to the destinations in `allow`.
    Allowlist,
}

/// `expect.power`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerExpect {
    #[default]
    Any,
    /// Draw no more than `off_current_a`.
    Off,
}

/// A phase's expectations. Keys at their `"any"` default are left out of the
/// line, as the spec's examples do, so `Expect::default()` writes `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Expect {
    #[serde(default, skip_serializing_if = "is_default")]
    pub rf: RfExpect,
    #[serde(default, skip_serializing_if = "is_default")]
    pub net: NetExpect,
    /// DNS names (with their subdomains), IP addresses, CIDR blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub power: PowerExpect,
    /// Amperes; readers default to 0.005 when it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_current_a: Option<f64>,
    /// Seconds from the phase's start that are the DUT's time to obey (a
    /// radio detaching after the airplane command): expectations are judged
    /// from `t + settle_s` on, what comes before is reported at `low`.
    /// Readers take a missing one as 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_s: Option<f64>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl Expect {
    /// Everything allowed: `{}`.
    pub fn any() -> Self {
        Self::default()
    }

    /// `rf: "silent"`.
    pub fn rf_silent(mut self) -> Self {
        self.rf = RfExpect::Silent;
        self
    }

    /// `net: "none"`.
    pub fn net_none(mut self) -> Self {
        self.net = NetExpect::None;
        self.allow.clear();
        self
    }

    /// `net: "allowlist"` with these destinations.
    pub fn allowlist<S: Into<String>>(mut self, allow: impl IntoIterator<Item = S>) -> Self {
        self.net = NetExpect::Allowlist;
        self.allow = allow.into_iter().map(Into::into).collect();
        self
    }

    /// `settle_s`, written only when above 0 (readers take a missing one
    /// as 0).
    pub fn settle(mut self, seconds: f64) -> Self {
        self.settle_s = (seconds > 0.0).then_some(seconds);
        self
    }

    /// `power: "off"`, with the threshold written out when given (readers
    /// default it to 0.005 A).
    pub fn power_off(mut self, off_current_a: Option<f64>) -> Self {
        self.power = PowerExpect::Off;
        self.off_current_a = off_current_a;
        self
    }
}

/// One journal line without its `t`. Serialized with `kind` as the tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Event {
    /// From `t` on, `dut` is in phase `name` with these expectations.
    Phase {
        dut: String,
        name: String,
        expect: Expect,
    },
    /// The bench did something (`power.on`, `net.isolate`...). `dut` is
    /// written as null for bench-wide actions: the spec lists it as a key of
    /// every action line.
    Action {
        dut: Option<String>,
        action: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Something went wrong: lost frames, a device that stopped answering.
    Fault {
        source: String,
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dut: Option<String>,
    },
    /// Free text.
    Note { text: String },
}

impl Event {
    pub fn phase(dut: impl Into<String>, name: impl Into<String>, expect: Expect) -> Self {
        Self::Phase {
            dut: dut.into(),
            name: name.into(),
            expect,
        }
    }

    pub fn action(
        dut: Option<&str>,
        action: impl Into<String>,
        ok: bool,
        detail: Option<&str>,
    ) -> Self {
        Self::Action {
            dut: dut.map(str::to_string),
            action: action.into(),
            ok,
            detail: detail.map(str::to_string),
        }
    }

    pub fn fault(source: impl Into<String>, detail: impl Into<String>, dut: Option<&str>) -> Self {
        Self::Fault {
            source: source.into(),
            detail: detail.into(),
            dut: dut.map(str::to_string),
        }
    }

    pub fn note(text: impl Into<String>) -> Self {
        Self::Note { text: text.into() }
    }
}

/// A whole journal line: `t` first, then the event's keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub t: f64,
    #[serde(flatten)]
    pub event: Event,
}

/// Appends lines to `events.jsonl`.
#[derive(Debug)]
pub struct Journal {
    out: StreamFile,
    /// Reused for each line so that a line reaches the buffer in one write.
    line: Vec<u8>,
}

impl Journal {
    /// Create `<dir>/events.jsonl` (replacing an old one), creating `dir`.
    pub fn create(dir: &Path) -> Result<Self, RecordError> {
        Self::create_at(&dir.join(FILE_NAME))
    }

    /// Create a journal at `path` (replacing an old one).
    pub fn create_at(path: &Path) -> Result<Self, RecordError> {
        Ok(Self {
            out: StreamFile::create(path)?,
            line: Vec::with_capacity(256),
        })
    }

    /// Open the journal of an existing run directory to append to it (a
    /// later process saying what became of a run whose own process died).
    pub fn append_to(dir: &Path) -> Result<Self, RecordError> {
        Ok(Self {
            out: StreamFile::append(&dir.join(FILE_NAME))?,
            line: Vec::with_capacity(256),
        })
    }

    pub fn path(&self) -> &Path {
        self.out.path()
    }

    /// Append `event` at run time `t` (seconds). Lines must come in `t`
    /// order; the journal does not reorder them.
    pub fn record(&mut self, t: f64, event: Event) -> Result<(), RecordError> {
        if !t.is_finite() {
            // serde_json would write null, which no reader can place in time.
            return Err(RecordError::invalid(
                self.out.path(),
                format!("event time {t} is not finite"),
            ));
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, &Line { t, event })
            .map_err(RecordError::json(self.out.path()))?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    /// `{"t", "kind": "phase", "dut", "name", "expect"}`.
    pub fn phase(
        &mut self,
        t: f64,
        dut: &str,
        name: &str,
        expect: Expect,
    ) -> Result<(), RecordError> {
        self.record(t, Event::phase(dut, name, expect))
    }

    /// `{"t", "kind": "action", "dut" (or null), "action", "ok", "detail"?}`.
    pub fn action(
        &mut self,
        t: f64,
        dut: Option<&str>,
        action: &str,
        ok: bool,
        detail: Option<&str>,
    ) -> Result<(), RecordError> {
        self.record(t, Event::action(dut, action, ok, detail))
    }

    /// `{"t", "kind": "fault", "source", "detail", "dut"?}`.
    pub fn fault(
        &mut self,
        t: f64,
        source: &str,
        detail: &str,
        dut: Option<&str>,
    ) -> Result<(), RecordError> {
        self.record(t, Event::fault(source, detail, dut))
    }

    /// `{"t", "kind": "note", "text"}`.
    pub fn note(&mut self, t: f64, text: &str) -> Result<(), RecordError> {
        self.record(t, Event::note(text))
    }

    /// Flush if a second has passed since the last flush; true if it did.
    pub fn maybe_flush(&mut self, now: Instant) -> Result<bool, RecordError> {
        self.out.maybe_flush(now)
    }

    /// Hand everything written so far to the kernel.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.out.flush()
    }

    /// Flush and fsync: the journal survives a power cut from here on.
    pub fn finish(self) -> Result<(), RecordError> {
        self.out.finish()
    }
}

// No Drop impl: `BufWriter` flushes on drop already (errors ignored, as a
// destructor cannot report them); `finish` is the path that reports them.
