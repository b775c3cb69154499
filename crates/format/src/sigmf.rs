//! SigMF recordings of sampled bench quantities: `rf` (band power, dBm) and
//! `power` (supply current, A), one `<name>.sigmf-meta` + `<name>.sigmf-data`
//! pair each.
//!
//! Format decisions:
//! - `core:datatype` `rf32_le`: real little-endian f32, channels interleaved
//!   (frame `i` is N values, channel 0 first), NaN for a missing sample.
//! - `core:version` `"1.0.0"`: every `core:` key written here exists in SigMF
//!   1.0.0, so declaring the oldest 1.x keeps old readers happy; the `sigmf`
//!   Python package (1.14, spec 1.2.6) validates it against its current
//!   schema, which accepts any `X.Y.Z`.
//! - Bench-specific keys live in the `bench` extension namespace, declared in
//!   `core:extensions` as optional so generic SigMF tools may ignore them.
//!
//! Crash safety: the meta file is valid from `create` on (it holds no sample
//! count, so it never goes stale as data grows) and is only ever replaced
//! atomically, at flush points when annotations changed and at `finish`. The
//! data file is appended in whole frames and flushed before the meta file is
//! replaced, so an annotation never points past the data a reader sees.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{FlushClock, RecordError};

/// The SigMF spec version written in `core:version`.
pub const SIGMF_VERSION: &str = "1.0.0";

/// The `bench` extension's declaration in `core:extensions`.
pub const BENCH_EXTENSION_VERSION: &str = "1.0.0";

/// `bench:unit` of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Received power, `"dBm"`.
    Dbm,
    /// Supply current, `"A"`.
    Ampere,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dbm => "dBm",
            Self::Ampere => "A",
        }
    }
}

/// A `bench:channels` entry for an RF band channel. `dut` is None for an
/// ambient reference antenna outside every DUT enclosure.
pub fn rf_channel(dut: Option<&str>, band: &str, low_hz: u64, high_hz: u64) -> Value {
    json!({"dut": dut, "band": band, "low_hz": low_hz, "high_hz": high_hz})
}

/// A `bench:channels` entry for a DUT's supply current.
pub fn current_channel(dut: Option<&str>) -> Value {
    json!({"dut": dut, "quantity": "current"})
}

/// Streams one multi-channel SigMF recording.
#[derive(Debug)]
pub struct SigmfWriter {
    meta_path: PathBuf,
    data_path: PathBuf,
    data: BufWriter<File>,
    num_channels: usize,
    sample_rate: f64,
    unit: Unit,
    channels: Vec<Value>,
    started_utc: String,
    t0: Option<f64>,
    /// Kept sorted by `core:sample_start`, as SigMF requires.
    annotations: Vec<Value>,
    frames: u64,
    /// Annotations or capture changed since the meta file was last written.
    meta_dirty: bool,
    clock: FlushClock,
    /// Reused to hand whole frames to the buffer in one write.
    scratch: Vec<u8>,
    finished: bool,
}

impl SigmfWriter {
    /// Create `<dir>/<name>.sigmf-meta` and an empty `<dir>/<name>.sigmf-data`
    /// (replacing old ones), creating `dir`.
    ///
    /// `channels` are the `bench:channels` objects, one per channel in data
    /// order (see [`rf_channel`], [`current_channel`]); `started_utc` is the
    /// run's `started_utc` from `run.json`, written as the capture's
    /// `core:datetime` (RFC 3339, `Z`).
    pub fn create(
        dir: &Path,
        name: &str,
        sample_rate: f64,
        channels: Vec<Value>,
        unit: Unit,
        started_utc: &str,
    ) -> Result<Self, RecordError> {
        let meta_path = dir.join(format!("{name}.sigmf-meta"));
        let data_path = dir.join(format!("{name}.sigmf-data"));
        if channels.is_empty() {
            return Err(RecordError::invalid(
                &meta_path,
                "a recording needs at least one channel",
            ));
        }
        if let Some(bad) = channels.iter().find(|c| !c.is_object()) {
            return Err(RecordError::invalid(
                &meta_path,
                format!("bench:channels entries must be objects, got {bad}"),
            ));
        }
        if !(sample_rate.is_finite() && sample_rate > 0.0) {
            return Err(RecordError::invalid(
                &meta_path,
                format!("sample rate {sample_rate} is not a positive number"),
            ));
        }
        // SigMF allows only `Z` as offset; catch a local-time string here
        // rather than in someone's validator.
        if humantime::parse_rfc3339(started_utc).is_err() {
            return Err(RecordError::invalid(
                &meta_path,
                format!("started_utc {started_utc:?} is not RFC 3339 UTC (…Z)"),
            ));
        }
        std::fs::create_dir_all(dir).map_err(RecordError::io(dir))?;
        let file = File::create(&data_path).map_err(RecordError::io(&data_path))?;
        let writer = Self {
            meta_path,
            data_path,
            data: BufWriter::new(file),
            num_channels: channels.len(),
            sample_rate,
            unit,
            channels,
            started_utc: started_utc.to_string(),
            t0: None,
            annotations: Vec::new(),
            frames: 0,
            meta_dirty: false,
            clock: FlushClock::new(),
            scratch: Vec::new(),
            finished: false,
        };
        writer.write_meta()?;
        Ok(writer)
    }

    pub fn meta_path(&self) -> &Path {
        &self.meta_path
    }

    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    pub fn num_channels(&self) -> usize {
        self.num_channels
    }

    /// Frames pushed so far (written or still buffered).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Record that sample 0 is at run time `t0` seconds (`bench:t0` in the
    /// capture), for a stream that started late. Written at the next flush.
    pub fn set_t0(&mut self, t0: f64) -> Result<(), RecordError> {
        if !t0.is_finite() {
            return Err(RecordError::invalid(
                &self.meta_path,
                format!("bench:t0 {t0} is not finite"),
            ));
        }
        self.t0 = Some(t0);
        self.meta_dirty = true;
        Ok(())
    }

    /// Append one frame: exactly one value per channel, channel 0 first.
    pub fn push_frame(&mut self, frame: &[f32]) -> Result<(), RecordError> {
        if frame.len() != self.num_channels {
            return Err(RecordError::invalid(
                &self.data_path,
                format!(
                    "frame has {} values, the recording {} channels",
                    frame.len(),
                    self.num_channels
                ),
            ));
        }
        self.push_frames(frame)
    }

    /// Append whole frames, interleaved (`frames.len()` a multiple of the
    /// channel count).
    pub fn push_frames(&mut self, frames: &[f32]) -> Result<(), RecordError> {
        if !frames.len().is_multiple_of(self.num_channels) {
            return Err(RecordError::invalid(
                &self.data_path,
                format!(
                    "{} values are not whole frames of {} channels",
                    frames.len(),
                    self.num_channels
                ),
            ));
        }
        self.scratch.clear();
        self.scratch
            .extend(frames.iter().flat_map(|v| v.to_le_bytes()));
        self.write_scratch(frames.len() / self.num_channels)
    }

    /// Append `n_frames` frames of NaN: samples that were lost, so that later
    /// samples stay at their time (`t = i / sample_rate`).
    pub fn push_missing(&mut self, n_frames: u64) -> Result<(), RecordError> {
        const NAN: [u8; 4] = f32::NAN.to_le_bytes();
        // In chunks, so a long outage does not allocate its whole length.
        let mut left = n_frames;
        while left > 0 {
            let chunk = left.min(4096);
            let values = usize::try_from(chunk).unwrap_or(4096) * self.num_channels;
            self.scratch.clear();
            self.scratch
                .extend(std::iter::repeat_n(NAN, values).flatten());
            self.write_scratch(values / self.num_channels)?;
            left -= chunk;
        }
        Ok(())
    }

    fn write_scratch(&mut self, n_frames: usize) -> Result<(), RecordError> {
        self.data
            .write_all(&self.scratch)
            .map_err(RecordError::io(&self.data_path))?;
        self.frames += n_frames as u64;
        Ok(())
    }

    /// Add a phase annotation: samples `sample_start ..
    /// sample_start + sample_count` are phase `name` of `dut`
    /// (`core:label` = `"phase:<name>"`, `bench:dut`).
    pub fn annotate_phase(
        &mut self,
        sample_start: u64,
        sample_count: u64,
        name: &str,
        dut: &str,
    ) -> Result<(), RecordError> {
        let mut annotation = Map::new();
        annotation.insert("core:sample_start".into(), sample_start.into());
        annotation.insert("core:sample_count".into(), sample_count.into());
        annotation.insert("core:label".into(), format!("phase:{name}").into());
        annotation.insert("bench:dut".into(), dut.into());
        self.annotate(annotation)
    }

    /// Add any annotation object; it must hold `core:sample_start`. Written
    /// to the meta file at the next flush.
    pub fn annotate(&mut self, annotation: Map<String, Value>) -> Result<(), RecordError> {
        let Some(start) = annotation.get("core:sample_start").and_then(Value::as_u64) else {
            return Err(RecordError::invalid(
                &self.meta_path,
                "an annotation needs an integer core:sample_start",
            ));
        };
        // After existing ones with the same start: keeps insertion order
        // among equals, and SigMF only requires non-decreasing starts.
        let at = self.annotations.partition_point(|a| {
            a.get("core:sample_start")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                <= start
        });
        self.annotations.insert(at, Value::Object(annotation));
        self.meta_dirty = true;
        Ok(())
    }

    /// Flush if a second has passed since the last flush; true if it did.
    pub fn maybe_flush(&mut self, now: Instant) -> Result<bool, RecordError> {
        if !self.clock.due(now) {
            return Ok(false);
        }
        self.flush()?;
        self.clock.flushed(now);
        Ok(true)
    }

    /// Hand the data to the kernel, then replace the meta file if it
    /// changed. Data first: the new meta may annotate the new data.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.data
            .flush()
            .map_err(RecordError::io(&self.data_path))?;
        if self.meta_dirty {
            self.write_meta()?;
            self.meta_dirty = false;
        }
        Ok(())
    }

    /// Flush, fsync the data, and write the final meta file.
    pub fn finish(mut self) -> Result<(), RecordError> {
        self.data
            .flush()
            .map_err(RecordError::io(&self.data_path))?;
        self.data
            .get_ref()
            .sync_all()
            .map_err(RecordError::io(&self.data_path))?;
        self.write_meta()?;
        self.finished = true;
        Ok(())
    }

    /// The meta document as it stands.
    pub fn metadata(&self) -> Value {
        let mut capture = Map::new();
        capture.insert("core:sample_start".into(), 0.into());
        capture.insert("core:datetime".into(), self.started_utc.clone().into());
        if let Some(t0) = self.t0 {
            capture.insert("bench:t0".into(), t0.into());
        }
        json!({
            "global": {
                "core:datatype": "rf32_le",
                "core:sample_rate": self.sample_rate,
                "core:num_channels": self.num_channels,
                "core:version": SIGMF_VERSION,
                "core:recorder": concat!("benchctl ", env!("CARGO_PKG_VERSION")),
                "core:extensions": [
                    {"name": "bench", "version": BENCH_EXTENSION_VERSION, "optional": true}
                ],
                "bench:unit": self.unit.as_str(),
                "bench:channels": self.channels,
            },
            "captures": [Value::Object(capture)],
            "annotations": self.annotations,
        })
    }

    fn write_meta(&self) -> Result<(), RecordError> {
        let mut bytes = serde_json::to_vec_pretty(&self.metadata())
            .map_err(RecordError::json(&self.meta_path))?;
        bytes.push(b'\n');
        crate::write_atomic(&self.meta_path, &bytes).map_err(RecordError::io(&self.meta_path))
    }
}

impl Drop for SigmfWriter {
    /// Without `finish` (an error path unwinding), still leave annotations
    /// added since the last flush in the meta file. Errors are dropped: a
    /// destructor cannot report them, and the last flushed meta is valid.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.flush();
        }
    }
}
