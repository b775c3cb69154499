//! `run.json`, the run manifest: written at the start with `complete: false`
//! and replaced at the end, both times atomically, so a reader never sees
//! half a manifest.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{RecordError, utc_rfc3339_millis};

/// The value of `format`; readers refuse other major versions.
pub const FORMAT: &str = "benchctl-run/1";

/// The manifest's file name inside a run directory.
pub const FILE_NAME: &str = "run.json";

/// The contents of `run.json`. Keys the recorder does not know (written by a
/// newer recorder, or added by the caller in `extra`) are kept on a read and
/// written back, since readers ignore unknown keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub format: String,
    pub run_id: String,
    pub bench: String,
    pub scenario: String,
    /// RFC 3339, milliseconds, `Z`: the `t = 0` of every time in the run.
    pub started_utc: String,
    /// Seconds; 0 until the run ends.
    #[serde(default)]
    pub duration_s: f64,
    /// Missing means false: a manifest without it never saw the end.
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub duts: Vec<DutEntry>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One DUT of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutEntry {
    pub name: String,
    pub model: String,
    /// Addresses on the DUT's isolated link, as text (IPv4 or IPv6); text, not
    /// `IpAddr`, so a scoped IPv6 address written by another tool still reads.
    #[serde(default)]
    pub ip: Vec<String>,
    /// The firmware build the DUT reported, when known: what a nightly
    /// regression compares against last night.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// The bench side of the DUT's link (its interface, gateway and
    /// resolver): frames from this MAC were sent to the DUT, every other
    /// frame on its interface by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bench_mac: Option<String>,
    /// The bench side's addresses on the link.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bench_ip: Vec<String>,
}

impl DutEntry {
    /// `bench_mac`, when it reads as a MAC address (the reader checks it).
    pub fn bench_mac(&self) -> Option<benchctl_net::MacAddr> {
        self.bench_mac.as_deref()?.parse().ok()
    }

    /// `bench_ip` as addresses, canonical.
    pub fn bench_addresses(&self) -> Vec<std::net::IpAddr> {
        self.bench_ip
            .iter()
            .filter_map(|ip| parse_ip(ip))
            .map(|ip| ip.to_canonical())
            .collect()
    }

    /// The addresses in `ip` that read as addresses (see [`parse_ip`]),
    /// canonical (an IPv4-mapped IPv6 address as the IPv4 one), as packets
    /// are matched against them.
    pub fn addresses(&self) -> Vec<std::net::IpAddr> {
        self.ip
            .iter()
            .filter_map(|ip| parse_ip(ip))
            .map(|ip| ip.to_canonical())
            .collect()
    }
}

/// An address as `run.json` writes it: IPv4 or IPv6 text, an IPv6 one
/// possibly scoped to an interface (`fe80::1%eth1`; the scope does not
/// change which packets are the DUT's).
pub fn parse_ip(text: &str) -> Option<std::net::IpAddr> {
    let unscoped = match text.split_once('%') {
        Some((addr, _zone)) if addr.contains(':') => addr,
        _ => text,
    };
    unscoped.parse().ok()
}

impl RunManifest {
    /// A manifest for a run starting at `started`, not yet complete.
    pub fn new(
        run_id: impl Into<String>,
        bench: impl Into<String>,
        scenario: impl Into<String>,
        started: SystemTime,
        duts: Vec<DutEntry>,
    ) -> Self {
        Self {
            format: FORMAT.to_string(),
            run_id: run_id.into(),
            bench: bench.into(),
            scenario: scenario.into(),
            started_utc: utc_rfc3339_millis(started),
            duration_s: 0.0,
            complete: false,
            duts,
            extra: serde_json::Map::new(),
        }
    }

    /// `<dir>/run.json`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Write (or replace) `<dir>/run.json` atomically, creating `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), RecordError> {
        let path = Self::path(dir);
        let mut bytes = serde_json::to_vec_pretty(self).map_err(RecordError::json(&path))?;
        bytes.push(b'\n');
        crate::write_atomic(&path, &bytes).map_err(RecordError::io(&path))
    }

    /// Record the end of the run and replace the manifest. `complete` is false
    /// when the run was cut short (fault, Ctrl-C, crash recovery).
    pub fn finish(
        &mut self,
        dir: &Path,
        duration_s: f64,
        complete: bool,
    ) -> Result<(), RecordError> {
        self.duration_s = duration_s;
        self.complete = complete;
        self.write(dir)
    }

    /// Read `<dir>/run.json`.
    pub fn read(dir: &Path) -> Result<Self, RecordError> {
        let path = Self::path(dir);
        let bytes = crate::input::read_document(&path)
            .map_err(|e| RecordError::invalid(&path, format!("cannot read: {e}")))?;
        serde_json::from_slice(&bytes).map_err(RecordError::json(&path))
    }
}
