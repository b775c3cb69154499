//! The recorder: a thread that takes what the bench's sensors deliver (the
//! shield's sample blocks, the packets tapped on the DUTs' links) and streams
//! it into the run directory's files, flushing at least once a second.
//!
//! Samples are placed by the shield's own clock: sample `i` of the recording
//! is the shield sample `i` periods after the first one it sent, so a lost
//! block (or samples the shield skipped when it fell behind) becomes NaN at
//! exactly the samples that are missing, with a fault line in the journal.
//! The run-clock time of sample 0 (`bench:t0`) comes from the clock
//! estimator that maps the shield's clock onto the host's.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use shield_protocol::{LogLevel, SampleBlock};

use benchctl_format::RecordError;
use benchctl_format::journal::{Event, Journal};
use benchctl_format::pcapng::PcapngWriter;
use benchctl_format::sigmf::{self, SigmfWriter, Unit};
use crate::bench::shield::lab_value;
use crate::config::{ShieldChannel, ShieldQuantity};
use crate::hw::TappedPacket;
use crate::hw::shield::{ClockConfig, ClockEstimator, RunClock, ShieldEvent, Stream};

/// The journal, shared by the runner (actions, phases) and the recorder
/// (faults): each line is stamped with the run clock while the lock is held,
/// so lines reach the file in `t` order whoever writes them.
#[derive(Debug)]
pub struct RunJournal {
    journal: Mutex<Option<Journal>>,
    clock: RunClock,
    faults: AtomicU64,
}

impl RunJournal {
    pub fn new(journal: Journal, clock: RunClock) -> Self {
        RunJournal {
            journal: Mutex::new(Some(journal)),
            clock,
            faults: AtomicU64::new(0),
        }
    }

    pub fn clock(&self) -> RunClock {
        self.clock
    }

    fn lock(&self) -> MutexGuard<'_, Option<Journal>> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append `event` now; returns its `t`.
    pub fn record(&self, event: Event) -> Result<f64, RecordError> {
        let mut journal = self.lock();
        let t = self.clock.seconds(Instant::now());
        if matches!(event, Event::Fault { .. }) {
            self.faults.fetch_add(1, Ordering::Relaxed);
        }
        match journal.as_mut() {
            Some(j) => j.record(t, event).map(|()| t),
            // Finished: the run is over, nothing more belongs in it.
            None => Ok(t),
        }
    }

    /// Fault lines so far.
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    pub fn maybe_flush(&self, now: Instant) -> Result<bool, RecordError> {
        match self.lock().as_mut() {
            Some(j) => j.maybe_flush(now),
            None => Ok(false),
        }
    }

    /// Flush and fsync; later `record`s are dropped.
    pub fn finish(&self) -> Result<(), RecordError> {
        match self.lock().take() {
            Some(j) => j.finish(),
            None => Ok(()),
        }
    }
}

/// What the recorder writes besides the journal.
#[derive(Debug)]
pub struct RecorderSetup {
    /// The shield's channels in stream order, and its sample rate.
    pub channels: Vec<ShieldChannel>,
    pub sample_rate_hz: u32,
    /// One pcapng interface per entry: the DUTs with a link, in this order.
    pub tapped_duts: Vec<String>,
    pub started_utc: SystemTime,
}

/// Live counters for the progress display.
#[derive(Debug, Default)]
pub struct RecorderStats {
    pub frames: AtomicU64,
    pub frames_lost: AtomicU64,
    pub packets: AtomicU64,
}

/// What the recorder did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderReport {
    pub frames: u64,
    pub frames_lost: u64,
    pub packets: u64,
    /// The shield's link broke during the run.
    pub shield_lost: bool,
    /// Run time (s) of sample 0, if any sample came.
    pub t0: Option<f64>,
    /// The clock fit between shield and host at the end.
    pub clock_drift_ppm: Option<f64>,
}

/// The running recorder thread.
#[derive(Debug)]
pub struct Recorder {
    stop: Arc<AtomicBool>,
    stats: Arc<RecorderStats>,
    thread: Option<JoinHandle<Result<RecorderReport, RecordError>>>,
}

/// Where in a run directory each stream goes.
const RF_NAME: &str = "rf";
const POWER_NAME: &str = "power";
const NET_FILE: &str = "net.pcapng";

/// How long the recorder waits for the shield before it looks at packets
/// and flush clocks again.
const POLL: Duration = Duration::from_millis(20);

impl Recorder {
    /// Create the run directory's data files and start recording `stream`
    /// (if the bench has a shield) and `tap` (packets on the DUTs' links).
    pub fn start(
        dir: &Path,
        setup: RecorderSetup,
        stream: Option<Stream>,
        tap: Receiver<TappedPacket>,
        journal: Arc<RunJournal>,
    ) -> Result<Recorder, RecordError> {
        let mut files = Files::create(dir, &setup)?;
        let stats = Arc::new(RecorderStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stats = stats.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("recorder".into())
                .spawn(move || files.run(stream, tap, &journal, &stats, &stop))
                .map_err(RecordError::io(dir))?
        };
        Ok(Recorder {
            stop,
            stats,
            thread: Some(thread),
        })
    }

    pub fn stats(&self) -> &RecorderStats {
        &self.stats
    }

    /// Whether the thread has ended on its own (a write error).
    pub fn failed(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| t.is_finished())
    }

    /// Drain what is queued, finish every file (fsync) and say what was
    /// recorded.
    pub fn finish(mut self) -> Result<RecorderReport, RecordError> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(RecordError::Invalid {
                path: NET_FILE.into(),
                detail: "the recorder thread panicked".into(),
            }),
            None => Ok(RecorderReport::default()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Which recording a shield channel's samples go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Rf,
    Power,
    /// Occupancy is a fraction, neither dBm nor A: not in either file.
    Skip,
}

/// How a shield's channels split over `rf.sigmf` and `power.sigmf`: each
/// channel's route, and the `bench:channels` entries of the two files.
/// The live recorder and the offline one (`sim::offline`) both use it, so
/// the two cannot lay out a run differently.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChannelSplit {
    pub routes: Vec<Route>,
    pub rf: Vec<serde_json::Value>,
    pub power: Vec<serde_json::Value>,
}

pub(crate) fn split_channels(channels: &[ShieldChannel]) -> ChannelSplit {
    let mut split = ChannelSplit::default();
    for ch in channels {
        let route = match ch.quantity {
            ShieldQuantity::Rf => {
                let (low, high) = ch.band_hz();
                split.rf.push(sigmf::rf_channel(
                    ch.dut.as_deref(),
                    ch.band.as_deref().unwrap_or(&ch.name),
                    low,
                    high,
                ));
                Route::Rf
            }
            ShieldQuantity::Current => {
                split.power.push(sigmf::current_channel(ch.dut.as_deref()));
                Route::Power
            }
            ShieldQuantity::Occupancy => Route::Skip,
        };
        split.routes.push(route);
    }
    split
}

/// Append a tapped packet to its DUT's interface (`tapped` lists the
/// interfaces' DUTs in order), stamped `started` + its run time. False when
/// the run does not record that DUT's link.
pub(crate) fn write_tapped(
    net: &mut PcapngWriter,
    tapped: &[String],
    started: SystemTime,
    p: &TappedPacket,
) -> Result<bool, RecordError> {
    let Some(interface) = tapped.iter().position(|d| *d == p.dut) else {
        return Ok(false);
    };
    let at = started + Duration::from_secs_f64(p.t.max(0.0));
    let len = u32::try_from(p.frame.len()).unwrap_or(u32::MAX);
    net.packet(interface as u32, at, &p.frame, len)?;
    Ok(true)
}

struct Files {
    rf: Option<SigmfWriter>,
    power: Option<SigmfWriter>,
    net: Option<PcapngWriter>,
    /// The pcapng interfaces: DUT names in interface order.
    tapped: Vec<String>,
    routes: Vec<(Route, ShieldQuantity)>,
    period_us: u64,
    started_utc: SystemTime,
    /// Reused frame buffers.
    rf_frame: Vec<f32>,
    power_frame: Vec<f32>,
}

impl Files {
    fn create(dir: &Path, setup: &RecorderSetup) -> Result<Files, RecordError> {
        let started = benchctl_format::utc_rfc3339_millis(setup.started_utc);
        let rate = f64::from(setup.sample_rate_hz);
        let split = split_channels(&setup.channels);
        let routes = split
            .routes
            .iter()
            .copied()
            .zip(setup.channels.iter().map(|c| c.quantity))
            .collect();
        let (rf_channels, power_channels) = (split.rf, split.power);
        let rf = (!rf_channels.is_empty())
            .then(|| SigmfWriter::create(dir, RF_NAME, rate, rf_channels, Unit::Dbm, &started))
            .transpose()?;
        let power = (!power_channels.is_empty())
            .then(|| {
                SigmfWriter::create(
                    dir,
                    POWER_NAME,
                    rate,
                    power_channels,
                    Unit::Ampere,
                    &started,
                )
            })
            .transpose()?;
        let net = (!setup.tapped_duts.is_empty())
            .then(|| PcapngWriter::create(&dir.join(NET_FILE), &setup.tapped_duts))
            .transpose()?;
        Ok(Files {
            rf,
            power,
            net,
            tapped: setup.tapped_duts.clone(),
            routes,
            period_us: (1_000_000 / u64::from(setup.sample_rate_hz.max(1))).max(1),
            started_utc: setup.started_utc,
            rf_frame: Vec::new(),
            power_frame: Vec::new(),
        })
    }

    fn run(
        &mut self,
        stream: Option<Stream>,
        tap: Receiver<TappedPacket>,
        journal: &RunJournal,
        stats: &RecorderStats,
        stop: &AtomicBool,
    ) -> Result<RecorderReport, RecordError> {
        let clock = journal.clock();
        let mut report = RecorderReport::default();
        let mut sync = ClockEstimator::new(ClockConfig::default());
        let mut samples = SamplePlacer::default();
        let mut t0_written_at: Option<Instant> = None;
        let mut stream = stream;
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            if let Some(s) = &stream {
                // When stopping, take only what already arrived.
                let wait = if stopping { Duration::ZERO } else { POLL };
                let deadline = Instant::now() + wait;
                loop {
                    let event = match s.recv_deadline(deadline) {
                        Ok(Some(event)) => event,
                        Ok(None) => break,
                        Err(e) => {
                            report.shield_lost = true;
                            journal.record(Event::fault(
                                "shield",
                                format!("link lost, no more RF or current data: {e}"),
                                None,
                            ))?;
                            stream = None;
                            break;
                        }
                    };
                    match event {
                        ShieldEvent::Samples { block, received_at } => {
                            sync.add_block(&block, clock.seconds(received_at));
                            self.block(&block, &mut samples, journal, stats)?;
                        }
                        ShieldEvent::Log(line)
                            if matches!(line.level, LogLevel::Warn | LogLevel::Error) =>
                        {
                            journal.record(Event::fault(
                                "shield",
                                line.text.as_str().to_string(),
                                None,
                            ))?;
                        }
                        ShieldEvent::Log(_) | ShieldEvent::Status(_) => {}
                    }
                }
            } else if !stopping {
                std::thread::sleep(POLL);
            }
            for p in tap.try_iter() {
                self.packet(&p)?;
                stats.packets.fetch_add(1, Ordering::Relaxed);
            }
            let now = Instant::now();
            // Place sample 0 on the run clock once the estimate has a few
            // seconds behind it, then refine it every ten seconds.
            if let (Some(first), Some(fit)) = (samples.first_us, sync.estimate())
                && fit.span_s >= 2.0
                && t0_written_at.is_none_or(|w| now.duration_since(w) >= Duration::from_secs(10))
            {
                self.set_t0(fit.us_to_run(first))?;
                t0_written_at = Some(now);
            }
            self.maybe_flush(now)?;
            journal.maybe_flush(now)?;
            if stopping {
                break;
            }
        }
        if let Some(s) = stream {
            // Tell the shield to stop; what it sent meanwhile is not needed.
            if let Err(e) = s.stop() {
                tracing::debug!("stopping the shield stream: {e}");
            }
        }
        let fit = sync.estimate();
        if let (Some(first), Some(fit)) = (samples.first_us, &fit) {
            let t0 = fit.us_to_run(first);
            self.set_t0(t0)?;
            report.t0 = Some(t0);
        }
        report.clock_drift_ppm = fit.map(|f| f.drift_ppm);
        report.frames = stats.frames.load(Ordering::Relaxed);
        report.frames_lost = stats.frames_lost.load(Ordering::Relaxed);
        report.packets = stats.packets.load(Ordering::Relaxed);
        self.finish()?;
        Ok(report)
    }

    /// One block from the shield: NaN for whatever is missing before it,
    /// then its samples, split into the RF and power files.
    fn block(
        &mut self,
        block: &SampleBlock,
        placer: &mut SamplePlacer,
        journal: &RunJournal,
        stats: &RecorderStats,
    ) -> Result<(), RecordError> {
        let period = u64::from(block.period_us.max(1));
        if period != self.period_us {
            journal.record(Event::fault(
                "shield",
                format!(
                    "block {} has a {period} µs sample period, the run records {} µs: dropped",
                    block.seq, self.period_us
                ),
                None,
            ))?;
            return Ok(());
        }
        match placer.place(block.t_us, period) {
            Placement::InOrder => {}
            Placement::Gap(missing) => {
                self.push_missing(missing)?;
                stats.frames_lost.fetch_add(missing, Ordering::Relaxed);
                journal.record(Event::fault(
                    "shield",
                    format!(
                        "{missing} samples per channel lost before block {} ({} ms of data, NaN in the recording)",
                        block.seq,
                        missing * period / 1000
                    ),
                    None,
                ))?;
            }
            Placement::Overlap => {
                journal.record(Event::fault(
                    "shield",
                    format!(
                        "block {} starts before the end of the previous one (did the shield restart?): dropped",
                        block.seq
                    ),
                    None,
                ))?;
                return Ok(());
            }
        }
        let n = block.samples();
        for i in 0..n {
            self.rf_frame.clear();
            self.power_frame.clear();
            for (ch, (route, quantity)) in self.routes.iter().enumerate() {
                let v = block
                    .value(ch, i)
                    .and_then(|raw| lab_value(*quantity, raw))
                    .map_or(f32::NAN, |v| v as f32);
                match route {
                    Route::Rf => self.rf_frame.push(v),
                    Route::Power => self.power_frame.push(v),
                    Route::Skip => {}
                }
            }
            if let Some(w) = &mut self.rf {
                w.push_frame(&self.rf_frame)?;
            }
            if let Some(w) = &mut self.power {
                w.push_frame(&self.power_frame)?;
            }
        }
        placer.advance(n as u64);
        stats.frames.fetch_add(n as u64, Ordering::Relaxed);
        Ok(())
    }

    fn push_missing(&mut self, frames: u64) -> Result<(), RecordError> {
        for w in [&mut self.rf, &mut self.power].into_iter().flatten() {
            w.push_missing(frames)?;
        }
        Ok(())
    }

    fn packet(&mut self, p: &TappedPacket) -> Result<(), RecordError> {
        match &mut self.net {
            // A DUT whose link the run does not record is skipped inside.
            Some(net) => write_tapped(net, &self.tapped, self.started_utc, p).map(|_| ()),
            None => Ok(()),
        }
    }

    fn set_t0(&mut self, t0: f64) -> Result<(), RecordError> {
        for w in [&mut self.rf, &mut self.power].into_iter().flatten() {
            w.set_t0(t0)?;
        }
        Ok(())
    }

    fn maybe_flush(&mut self, now: Instant) -> Result<(), RecordError> {
        for w in [&mut self.rf, &mut self.power].into_iter().flatten() {
            w.maybe_flush(now)?;
        }
        if let Some(net) = &mut self.net {
            net.maybe_flush(now)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), RecordError> {
        for w in [self.rf.take(), self.power.take()].into_iter().flatten() {
            w.finish()?;
        }
        if let Some(net) = self.net.take() {
            net.finish()?;
        }
        Ok(())
    }
}

/// Where the next block's samples go in the recording, by the shield's clock.
#[derive(Debug, Default)]
struct SamplePlacer {
    /// Shield time (µs) of recording sample 0.
    first_us: Option<u64>,
    /// Samples per channel recorded so far (NaN included).
    recorded: u64,
}

#[derive(Debug, PartialEq, Eq)]
enum Placement {
    InOrder,
    /// This many samples per channel are missing before the block.
    Gap(u64),
    /// The block starts before samples already recorded.
    Overlap,
}

impl SamplePlacer {
    fn place(&mut self, t_us: u64, period_us: u64) -> Placement {
        let first = *self.first_us.get_or_insert(t_us);
        let Some(since) = t_us.checked_sub(first) else {
            return Placement::Overlap;
        };
        // Rounded: a board's timer may stamp a block a few µs off the grid.
        let index = (since + period_us / 2) / period_us;
        match index.cmp(&self.recorded) {
            std::cmp::Ordering::Equal => Placement::InOrder,
            std::cmp::Ordering::Greater => {
                let missing = index - self.recorded;
                self.recorded = index;
                Placement::Gap(missing)
            }
            std::cmp::Ordering::Less => Placement::Overlap,
        }
    }

    fn advance(&mut self, samples: u64) {
        self.recorded += samples;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_placed_by_the_shield_clock() {
        let mut p = SamplePlacer::default();
        assert_eq!(p.place(5_000, 1_000), Placement::InOrder);
        p.advance(10);
        assert_eq!(p.place(15_000, 1_000), Placement::InOrder);
        p.advance(10);
        // Block 25_000.. lost: 10 samples missing before this one.
        assert_eq!(p.place(35_000, 1_000), Placement::Gap(10));
        p.advance(10);
        assert_eq!(
            p.place(45_003, 1_000),
            Placement::InOrder,
            "a few µs off the grid"
        );
        assert_eq!(p.place(4_000, 1_000), Placement::Overlap);
        assert_eq!(p.place(20_000, 1_000), Placement::Overlap);
    }
}
