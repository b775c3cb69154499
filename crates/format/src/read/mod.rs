//! The reading side of a run directory (`benchctl-run/1`, see
//! `recording-format.md`): what the analyzer and the format conformance
//! tests read a recorded run with.
//!
//! ```text
//! <run>/run.json        RunDir::open        (run_dir)   required
//! <run>/events.jsonl    Events              (events)    required
//! <run>/rf.sigmf-*      SigmfReader         (sigmf)     optional
//! <run>/power.sigmf-*   SigmfReader         (sigmf)     optional
//! <run>/net.pcapng      PacketReader        (packets)   optional
//! ```
//!
//! Why a reader of its own rather than the writers' types read back: the
//! format is a contract with outside tools. The analyzer must take any
//! directory that follows the spec, whoever wrote it — a pcapng from dumpcap
//! in big-endian with blocks benchctl never writes, a SigMF file with several
//! captures, a journal from a newer benchctl with event kinds this one does
//! not know. So the readers follow the spec, not the writers: unknown keys
//! are ignored, unknown event kinds and pcapng blocks are kept or skipped,
//! and only what the spec requires is required.
//!
//! Three rules hold throughout:
//!
//! - **Flat memory.** A day of 11 channels at 1 kS/s is ~3.8 GB of SigMF data,
//!   and a packet capture can be larger. Data files are streamed through a
//!   buffer, never loaded whole; only `run.json`, `events.jsonl` and the
//!   `.sigmf-meta` files (small by nature) are read into memory.
//! - **A crash leaves a readable run.** The recorder can die mid-write (even
//!   `kill -9`), leaving a cut last line, a partial SigMF frame or half a
//!   pcapng block. That tail is ignored and reported (a `truncated` flag),
//!   everything before it reads. Damage anywhere else is an error: a corrupt
//!   file in the middle of a recording must not pass silently.
//! - **No panic on any input.** Lengths read from files are checked before
//!   they size anything (a corrupt pcapng block length cannot ask for 4 GiB),
//!   and every error names the file and the place (line, byte offset or key)
//!   in words a lab engineer can act on.

pub mod events;
pub mod packets;
pub mod run_dir;
pub mod sigmf;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use events::{Action, Events, Fault, Phase, PhaseExpect, PhaseInterval, RunEvent, TimedEvent};
pub use packets::{
    CaptureFormat, Interface, OwnedPacket, Packet, PacketReader, TimeResolution, Truncation,
};
pub use run_dir::RunDir;
pub use sigmf::{
    Annotation, Capture, Channel, ChannelKind, ChannelValues, Sample, SampleFormat, SigmfMeta,
    SigmfReader, Stream,
};

/// Why a run directory, or one of its files, cannot be read. Every variant
/// carries the file's path; the message adds where in it (line, byte offset
/// or key) and why.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file the spec requires is not there.
    #[error("{} is missing: {why}", path.display())]
    Missing { path: PathBuf, why: String },
    /// The operating system refused (permissions, disk error, ...).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A JSON file (`run.json`, `.sigmf-meta`) is not JSON at all.
    #[error("{} is not valid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// `run.json` declares a format this reader does not understand.
    #[error(
        "{}: format is {found}, this benchctl reads \"{expected}\" (a newer major version, or not a benchctl run directory)",
        path.display()
    )]
    Format {
        path: PathBuf,
        /// The value found, as JSON text (`"benchctl-run/2"`, `null`, ...).
        found: String,
        expected: &'static str,
    },
    /// A key of a JSON file is missing or holds a value the spec does not
    /// allow.
    #[error("{}: key {key}: {detail}", path.display())]
    Key {
        path: PathBuf,
        key: String,
        detail: String,
    },
    /// A line of a line-based file (`events.jsonl`) is wrong.
    #[error("{}:{line}: {detail}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        detail: String,
    },
    /// A binary file (`.sigmf-data`, pcap, pcapng) is damaged at this byte.
    #[error("{} at byte {offset}: {detail}", path.display())]
    Bytes {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
}

impl ReadError {
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn key(path: &Path, key: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Key {
            path: path.to_path_buf(),
            key: key.into(),
            detail: detail.into(),
        }
    }

    pub fn bytes(path: &Path, offset: u64, detail: impl Into<String>) -> Self {
        Self::Bytes {
            path: path.to_path_buf(),
            offset,
            detail: detail.into(),
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Missing { path, .. }
            | Self::Io { path, .. }
            | Self::Json { path, .. }
            | Self::Format { path, .. }
            | Self::Key { path, .. }
            | Self::Line { path, .. }
            | Self::Bytes { path, .. } => path,
        }
    }
}

/// A UTC time to the nanosecond: seconds since 1970-01-01T00:00:00Z plus a
/// fraction. Packet timestamps and `started_utc` use it, not f64 seconds: an
/// f64 of today's epoch seconds keeps only ~0.2 µs, and the run clock is the
/// *difference* of two such times, which [`UtcTime::seconds_since`] takes
/// exactly before converting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UtcTime {
    /// Whole seconds since 1970 UTC (negative before 1970).
    pub secs: i64,
    /// Nanoseconds into that second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl UtcTime {
    const NANOS_PER_SEC: u32 = 1_000_000_000;

    /// `secs` + `nanos`, carrying whole seconds out of `nanos`.
    pub fn new(secs: i64, nanos: u64) -> Self {
        let carry = i64::try_from(nanos / u64::from(Self::NANOS_PER_SEC)).unwrap_or(i64::MAX);
        Self {
            secs: secs.saturating_add(carry),
            // Below 1e9, so it fits.
            nanos: (nanos % u64::from(Self::NANOS_PER_SEC)) as u32,
        }
    }

    pub fn from_system_time(time: SystemTime) -> Self {
        match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => Self {
                secs: i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                nanos: after.subsec_nanos(),
            },
            Err(before) => {
                let before = before.duration();
                let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                if before.subsec_nanos() == 0 {
                    Self {
                        secs: -secs,
                        nanos: 0,
                    }
                } else {
                    Self {
                        secs: -secs - 1,
                        nanos: Self::NANOS_PER_SEC - before.subsec_nanos(),
                    }
                }
            }
        }
    }

    /// Parse an RFC 3339 time (`2026-11-26T15:30:00.000Z`). Besides `Z`, a
    /// numeric offset (`+01:00`) is accepted, since other tools write one.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        // `±HH:MM` at the end; all ASCII, so cutting it off is on a char
        // boundary.
        let offset = bytes.len().checked_sub(6).and_then(|at| {
            let tail = bytes.get(at..)?;
            let digit = |i: usize| tail.get(i).filter(|b| b.is_ascii_digit()).map(|b| b - b'0');
            let sign = match tail.first()? {
                b'+' => 1i64,
                b'-' => -1i64,
                _ => return None,
            };
            if tail.get(3) != Some(&b':') {
                return None;
            }
            let hours = i64::from(digit(1)? * 10 + digit(2)?);
            let minutes = i64::from(digit(4)? * 10 + digit(5)?);
            Some((at, sign * (hours * 3600 + minutes * 60)))
        });
        let (base, offset_s) = match offset {
            Some((at, offset_s)) => (format!("{}Z", text.get(..at)?), offset_s),
            None => (text.replace('z', "Z"), 0),
        };
        let time = humantime::parse_rfc3339(&base).ok()?;
        let utc = Self::from_system_time(time);
        Some(Self {
            secs: utc.secs.checked_sub(offset_s)?,
            nanos: utc.nanos,
        })
    }

    /// Seconds since 1970 as f64 (about 0.2 µs resolution today).
    pub fn as_secs_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) * 1e-9
    }

    /// Seconds from `earlier` to `self` (negative if `self` is earlier),
    /// taken exactly before converting to f64: the run clock `t` of a packet
    /// is `packet.seconds_since(run.started())`.
    pub fn seconds_since(self, earlier: UtcTime) -> f64 {
        let secs = i128::from(self.secs) - i128::from(earlier.secs);
        let nanos = i64::from(self.nanos) - i64::from(earlier.nanos);
        secs as f64 + nanos as f64 * 1e-9
    }
}

/// serde_json's message without its " at line L column C" tail, for callers
/// that say where themselves.
pub(crate) fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let tail = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&tail) {
        Some(message) => message.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_parses_z_and_offsets() {
        let t = UtcTime::parse_rfc3339("2026-11-26T15:30:00.250Z").unwrap();
        let expected = humantime::parse_rfc3339("2026-11-26T15:30:00Z").unwrap();
        assert_eq!(t.secs, UtcTime::from_system_time(expected).secs);
        assert_eq!(t.nanos, 250_000_000);
        let plus = UtcTime::parse_rfc3339("2026-11-26T16:30:00.250+01:00").unwrap();
        assert_eq!(plus, t);
        let minus = UtcTime::parse_rfc3339("2026-11-26T14:30:00.250-01:00").unwrap();
        assert_eq!(minus, t);
        assert_eq!(UtcTime::parse_rfc3339("2026-11-26T15:30:00.250z"), Some(t));
        for bad in [
            "",
            "yesterday",
            "2026-11-26 15:30",
            "2026-11-26T15:30:00.000+1:00",
            "é",
        ] {
            assert_eq!(UtcTime::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn utc_time_differences_are_exact() {
        let a = UtcTime::new(1_800_000_000, 999_999_999);
        let b = UtcTime::new(1_800_000_001, 1);
        assert!((b.seconds_since(a) - 2e-9).abs() < 1e-15);
        assert_eq!(
            UtcTime::new(5, 2_500_000_000),
            UtcTime {
                secs: 7,
                nanos: 500_000_000
            }
        );
        let before = SystemTime::UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(
            UtcTime::from_system_time(before),
            UtcTime {
                secs: -2,
                nanos: 500_000_000
            }
        );
    }
}
