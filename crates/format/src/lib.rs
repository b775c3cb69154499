//! The recorder's file writers: one run directory per scenario run, in the
//! format of `recording-format.md` (`benchctl-run/1`).
//!
//! ```text
//! <run>/run.json        RunManifest   (run_json)
//! <run>/events.jsonl    Journal       (journal)
//! <run>/rf.sigmf-*      SigmfWriter   (sigmf), unit dBm
//! <run>/power.sigmf-*   SigmfWriter   (sigmf), unit A
//! <run>/net.pcapng      PcapngWriter  (pcapng)
//! ```
//!
//! Every writer streams: it appends to its file as the run goes and never
//! holds the recording in memory. The caller drives a one-second flush clock
//! by calling `maybe_flush(now)` on each writer from its loop (the writers
//! own no thread and no timer, so they fit any loop, sync or async). Data
//! reaches the kernel at least once a second, so a crash of the recorder —
//! even `kill -9`, which runs no destructor — loses at most the last second
//! and leaves a directory the analyzer still reads:
//!
//! - `run.json` is written at start with `complete: false` and replaced
//!   atomically at the end; a reader that finds `complete` false or missing
//!   treats the run as incomplete and says so.
//! - `events.jsonl` only ever holds whole lines up to the last flush (each
//!   line goes to the buffer in one piece).
//! - `.sigmf-meta` is valid from the moment the writer is created and is only
//!   ever replaced atomically; `.sigmf-data` holds whole frames up to the
//!   last flush.
//! - `net.pcapng` holds whole blocks up to the last flush; a pcapng reader
//!   needs no trailer.
//!
//! The files are flushed to the kernel, not fsynced, at each flush point:
//! fsync once a second can stall the loop for long on SD cards, and a
//! process crash does not need it. `finish` fsyncs. A power cut of the host
//! may therefore lose more than a second.

pub mod input;
pub mod journal;
pub mod pcapng;
pub mod read;
pub mod run_json;
pub mod sigmf;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

pub use journal::{Event, Expect, Journal, NetExpect, PowerExpect, RfExpect};
pub use pcapng::PcapngWriter;
pub use run_json::{DutEntry, RunManifest};
pub use sigmf::{SigmfWriter, Unit};

/// How often the writers hand their buffers to the kernel at the latest:
/// the most a crash of the recorder may lose.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Errors of the recording writers. Every variant names the file, since a run
/// directory holds several and "permission denied" alone says little.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode or decode {}: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The caller passed something the format cannot hold (a frame with the
    /// wrong channel count, an unknown interface, a time before 1970...).
    #[error("{}: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
}

impl RecordError {
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn json(path: &Path) -> impl FnOnce(serde_json::Error) -> Self + '_ {
        move |source| Self::Json {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn invalid(path: &Path, detail: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }
}

/// `time` as the run directory writes UTC times: RFC 3339 with milliseconds
/// and `Z` (`2026-11-26T15:30:00.000Z`), the form `run.json`'s `started_utc`
/// and SigMF's `core:datetime` share.
pub fn utc_rfc3339_millis(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// Replace `path` with `bytes` so that a reader sees the old or the new
/// content, never a mix, and a crash leaves one of the two (`run.json` at the
/// end of a run, SigMF meta files, and every state file of the host).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// An append-only file flushed at least once a second: what the journal and
/// the pcapng writer have in common (SigMF also rewrites its meta file).
#[derive(Debug)]
pub(crate) struct StreamFile {
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    clock: FlushClock,
}

impl StreamFile {
    /// Create `path` (replacing an old file), creating its folder.
    pub(crate) fn create(path: &Path) -> Result<Self, RecordError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(RecordError::io(path))?;
        }
        let file = std::fs::File::create(path).map_err(RecordError::io(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
            clock: FlushClock::new(),
        })
    }

    /// Open `path` to append to it (it must exist).
    pub(crate) fn append(path: &Path) -> Result<Self, RecordError> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(RecordError::io(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
            clock: FlushClock::new(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        use std::io::Write;
        self.out
            .write_all(bytes)
            .map_err(RecordError::io(&self.path))
    }

    /// Flush if a second has passed since the last flush; true if it did.
    pub(crate) fn maybe_flush(&mut self, now: Instant) -> Result<bool, RecordError> {
        if !self.clock.due(now) {
            return Ok(false);
        }
        self.flush()?;
        self.clock.flushed(now);
        Ok(true)
    }

    /// Hand everything written so far to the kernel.
    pub(crate) fn flush(&mut self) -> Result<(), RecordError> {
        use std::io::Write;
        self.out.flush().map_err(RecordError::io(&self.path))
    }

    /// Flush and fsync: the file survives a power cut from here on.
    pub(crate) fn finish(mut self) -> Result<(), RecordError> {
        self.flush()?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(RecordError::io(&self.path))
    }
}

/// The flush clock every writer keeps: due once `FLUSH_INTERVAL` has passed
/// since the last flush. The caller's `now` is used, not `Instant::now()`, so
/// tests and simulated runs control it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlushClock {
    last: Instant,
}

impl FlushClock {
    pub(crate) fn new() -> Self {
        Self {
            last: Instant::now(),
        }
    }

    pub(crate) fn due(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last) >= FLUSH_INTERVAL
    }

    pub(crate) fn flushed(&mut self, now: Instant) {
        self.last = now;
    }
}
