//! The run directory's data files as a run writes them: `rf.sigmf-*`,
//! `power.sigmf-*` and `net.pcapng`. The live recorder (frames from the
//! shield's stream, packets from the tap) and a run in virtual time (frames
//! measured by the simulated detectors) both write through here, so the two
//! cannot lay out a run differently.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use benchctl_format::read::Stream as RecordingStream;
use benchctl_format::read::run_dir::NET_FILE_NAME;
use benchctl_format::sigmf::{self, SigmfWriter, Unit};
use benchctl_format::{PcapngWriter, RecordError};

use crate::bench::SensorSink;
use crate::bench::shield::lab_value;
use crate::config::{ShieldChannel, ShieldQuantity};
use crate::hw::TappedPacket;

/// Which recording a shield channel's samples go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Rf,
    Power,
    /// Occupancy is a fraction, neither dBm nor A: not in either file.
    Skip,
}

/// What the files of one run are to hold.
#[derive(Debug)]
pub struct FilesSetup<'a> {
    /// The shield's channels in stream order, and its sample rate.
    pub channels: &'a [ShieldChannel],
    pub sample_rate_hz: u32,
    /// One pcapng interface per entry: the DUTs with a link, in this order.
    pub tapped_duts: &'a [String],
    pub started_utc: SystemTime,
}

/// The open data files of a run.
#[derive(Debug)]
pub struct RunFiles {
    rf: Option<SigmfWriter>,
    power: Option<SigmfWriter>,
    net: Option<PcapngWriter>,
    /// The pcapng interfaces: DUT names in interface order.
    tapped: Vec<String>,
    routes: Vec<(Route, ShieldQuantity)>,
    started_utc: SystemTime,
    /// Frames written per recording (NaN frames for lost samples included).
    pub frames: u64,
    /// Packets written to `net.pcapng`.
    pub packets: u64,
    /// Reused frame buffers.
    rf_frames: Vec<f32>,
    power_frames: Vec<f32>,
}

impl RunFiles {
    /// Create the files `setup` calls for in `dir`: a SigMF recording per
    /// quantity the shield measures, a capture when some DUT has a link.
    pub fn create(dir: &Path, setup: &FilesSetup<'_>) -> Result<RunFiles, RecordError> {
        let started = benchctl_format::utc_rfc3339_millis(setup.started_utc);
        let rate = f64::from(setup.sample_rate_hz);
        let mut rf_channels = Vec::new();
        let mut power_channels = Vec::new();
        let mut routes = Vec::new();
        for ch in setup.channels {
            let route = match ch.quantity {
                ShieldQuantity::Rf => {
                    let (low, high) = ch.band_hz();
                    let mut entry = sigmf::rf_channel(
                        ch.dut.as_deref(),
                        ch.band.as_deref().unwrap_or(&ch.name),
                        low,
                        high,
                    );
                    // Recorded when the bench measured it; readers assume
                    // the spec's default otherwise.
                    if let (Some(db), Some(map)) = (ch.isolation_db, entry.as_object_mut()) {
                        map.insert("isolation_db".into(), serde_json::json!(db));
                    }
                    rf_channels.push(entry);
                    Route::Rf
                }
                ShieldQuantity::Current => {
                    power_channels.push(sigmf::current_channel(ch.dut.as_deref()));
                    Route::Power
                }
                ShieldQuantity::Occupancy => Route::Skip,
            };
            routes.push((route, ch.quantity));
        }
        let recording = |stream: RecordingStream, channels: Vec<serde_json::Value>, unit| {
            (!channels.is_empty())
                .then(|| SigmfWriter::create(dir, stream.name(), rate, channels, unit, &started))
                .transpose()
        };
        let rf = recording(RecordingStream::Rf, rf_channels, Unit::Dbm)?;
        let power = recording(RecordingStream::Power, power_channels, Unit::Ampere)?;
        let net = (!setup.tapped_duts.is_empty())
            .then(|| PcapngWriter::create(&dir.join(NET_FILE_NAME), setup.tapped_duts))
            .transpose()?;
        Ok(RunFiles {
            rf,
            power,
            net,
            tapped: setup.tapped_duts.to_vec(),
            routes,
            started_utc: setup.started_utc,
            frames: 0,
            packets: 0,
            rf_frames: Vec::new(),
            power_frames: Vec::new(),
        })
    }

    /// The shield channels a frame holds (occupancy included).
    pub fn channels(&self) -> usize {
        self.routes.len()
    }

    /// Whole shield frames, interleaved (one raw wire value per channel,
    /// `NO_READING` for none), converted to lab units and split over the
    /// RF and power recordings.
    pub fn push_raw_frames(&mut self, raw: &[i32]) -> Result<(), RecordError> {
        let channels = self.routes.len();
        if channels == 0 {
            return Ok(());
        }
        self.rf_frames.clear();
        self.power_frames.clear();
        for frame in raw.chunks_exact(channels) {
            for (value, (route, quantity)) in frame.iter().zip(&self.routes) {
                let v = lab_value(*quantity, *value).map_or(f32::NAN, |v| v as f32);
                match route {
                    Route::Rf => self.rf_frames.push(v),
                    Route::Power => self.power_frames.push(v),
                    Route::Skip => {}
                }
            }
        }
        if let Some(w) = &mut self.rf {
            w.push_frames(&self.rf_frames)?;
        }
        if let Some(w) = &mut self.power {
            w.push_frames(&self.power_frames)?;
        }
        self.frames += (raw.len() / channels) as u64;
        Ok(())
    }

    /// `frames` frames of NaN: samples that were lost.
    pub fn push_missing(&mut self, frames: u64) -> Result<(), RecordError> {
        for w in [&mut self.rf, &mut self.power].into_iter().flatten() {
            w.push_missing(frames)?;
        }
        self.frames += frames;
        Ok(())
    }

    /// Append a tapped packet to its DUT's interface, stamped `started_utc`
    /// + its run time. A DUT whose link the run does not record is skipped.
    pub fn packet(&mut self, p: &TappedPacket) -> Result<(), RecordError> {
        let Some(net) = &mut self.net else {
            return Ok(());
        };
        let Some(interface) = self.tapped.iter().position(|d| *d == p.dut) else {
            return Ok(());
        };
        let at = self.started_utc + Duration::from_secs_f64(p.t.max(0.0));
        let len = u32::try_from(p.frame.len()).unwrap_or(u32::MAX);
        net.packet(interface as u32, at, &p.frame, len)?;
        self.packets += 1;
        Ok(())
    }

    /// The run time of sample 0 (`bench:t0`).
    pub fn set_t0(&mut self, t0: f64) -> Result<(), RecordError> {
        for w in [&mut self.rf, &mut self.power].into_iter().flatten() {
            w.set_t0(t0)?;
        }
        Ok(())
    }

    /// Hand the buffers to the kernel if a second has passed.
    pub fn maybe_flush(&mut self, now: Instant) -> Result<(), RecordError> {
        for w in [&mut self.rf, &mut self.power].into_iter().flatten() {
            w.maybe_flush(now)?;
        }
        if let Some(net) = &mut self.net {
            net.maybe_flush(now)?;
        }
        Ok(())
    }

    /// Hand everything to the kernel, without fsync: a recording made in
    /// virtual time from a seed is made again from it, and a corpus of
    /// thousands would spend more time waiting for the disk than computing.
    pub fn flush(mut self) -> Result<(), RecordError> {
        for w in [&mut self.rf, &mut self.power].into_iter().flatten() {
            w.flush()?;
        }
        if let Some(net) = &mut self.net {
            net.flush()?;
        }
        Ok(())
    }

    /// Flush and fsync every file: a live recording survives a power cut
    /// from here on.
    pub fn finish(self) -> Result<(), RecordError> {
        for w in [self.rf, self.power].into_iter().flatten() {
            w.finish()?;
        }
        if let Some(net) = self.net {
            net.finish()?;
        }
        Ok(())
    }
}

impl SensorSink for RunFiles {
    type Error = RecordError;

    fn packet(&mut self, packet: &TappedPacket) -> Result<(), RecordError> {
        RunFiles::packet(self, packet)
    }

    fn frames(&mut self, raw: &[i32]) -> Result<(), RecordError> {
        self.push_raw_frames(raw)
    }
}
