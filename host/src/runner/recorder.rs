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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use benchctl_format::RecordError;
use benchctl_format::journal::Event;
use shield_protocol::{LogLevel, NO_READING, SampleBlock};

use super::files::{FilesSetup, RunFiles};
use super::journal::RunJournal;
use crate::hw::TappedPacket;
use crate::hw::shield::{ClockConfig, ClockEstimator, RunClock, ShieldEvent, Stream};

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

/// Named in the error when the thread panicked.
const NET_FILE: &str = "net.pcapng";

/// How long the recorder waits for the shield before it looks at packets
/// and flush clocks again.
const POLL: Duration = Duration::from_millis(20);

impl Recorder {
    /// Create the run directory's data files and start recording `stream`
    /// (if the bench has a shield) and `tap` (packets on the DUTs' links).
    pub fn start(
        dir: &Path,
        setup: &FilesSetup<'_>,
        clock: RunClock,
        stream: Option<Stream>,
        tap: Receiver<TappedPacket>,
        journal: Arc<RunJournal>,
    ) -> Result<Recorder, RecordError> {
        let files = Thread {
            files: RunFiles::create(dir, setup)?,
            clock,
            period_us: (1_000_000 / u64::from(setup.sample_rate_hz.max(1))).max(1),
            raw: Vec::new(),
        };
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

/// The recorder thread's state: the files and the clock fit.
struct Thread {
    files: RunFiles,
    clock: RunClock,
    period_us: u64,
    /// Reused: one block's frames.
    raw: Vec<i32>,
}

impl Thread {
    fn run(
        mut self,
        stream: Option<Stream>,
        tap: Receiver<TappedPacket>,
        journal: &RunJournal,
        stats: &RecorderStats,
        stop: &AtomicBool,
    ) -> Result<RecorderReport, RecordError> {
        let clock = self.clock;
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
                self.files.packet(&p)?;
                stats.packets.fetch_add(1, Ordering::Relaxed);
            }
            let now = Instant::now();
            // Place sample 0 on the run clock once the estimate has a few
            // seconds behind it, then refine it every ten seconds.
            if let (Some(first), Some(fit)) = (samples.first_us, sync.estimate())
                && fit.span_s >= 2.0
                && t0_written_at.is_none_or(|w| now.duration_since(w) >= Duration::from_secs(10))
            {
                self.files.set_t0(fit.us_to_run(first))?;
                t0_written_at = Some(now);
            }
            self.files.maybe_flush(now)?;
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
            self.files.set_t0(t0)?;
            report.t0 = Some(t0);
        }
        report.clock_drift_ppm = fit.map(|f| f.drift_ppm);
        report.frames = stats.frames.load(Ordering::Relaxed);
        report.frames_lost = stats.frames_lost.load(Ordering::Relaxed);
        report.packets = stats.packets.load(Ordering::Relaxed);
        self.files.finish()?;
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
                self.files.push_missing(missing)?;
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
        let channels = self.files.channels();
        self.raw.clear();
        for i in 0..n {
            for ch in 0..channels {
                self.raw.push(block.value(ch, i).unwrap_or(NO_READING));
            }
        }
        self.files.push_raw_frames(&self.raw)?;
        placer.advance(n as u64);
        stats.frames.fetch_add(n as u64, Ordering::Relaxed);
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
