//! The shield's firmware logic, free of any I/O: bytes from the host go in
//! (`on_rx`), frames for the host come out (`next_frame`), and `poll` does
//! whatever is due at the time the board's clock says. The board supplies the
//! detectors (`FrontEnd`), the clock and the serial port; this is the same
//! code on the RP2040, on QEMU and in the simulated shield on the host.
//!
//! CONTRACT (the boards and the host's simulated shield are written against
//! these signatures; keep them).
//!
//! A board's main loop, in outline:
//!
//! ```text
//! loop {
//!     shield.on_rx(&bytes_from_uart, now());
//!     shield.poll(now());
//!     while let Some(n) = shield.next_frame(&mut frame) { uart.write(&frame[..n]); }
//!     sleep until shield.next_deadline() or a byte arrives
//! }
//! ```
//!
//! Timing: sample `k` of a stream stands for time `t0 + k * period_us`, where
//! `t0` is the `now_us` of the Start and `period_us = 1_000_000 / rate`
//! (integer µs, so 3 Hz runs at 333_333 µs, and every block says its true
//! `period_us`). A board that polls late still gets the samples with their
//! nominal timestamps, measured late; one that fell hopelessly behind skips
//! the oldest samples, closes the block there (so every block's timeline
//! stays `t_us + i * period_us`) and says so in a Log line.
//!
//! Nothing is dropped silently: lost sample blocks show as `seq` gaps and in
//! `Status::frames_dropped`; lost replies, log lines and skipped samples are
//! counted and reported in Log lines.

use core::fmt::{self, Write as _};

use heapless::{Deque, String, Vec};
use shield_protocol::{
    ChannelConfig, Command, Config, DEFAULT_WATCHDOG_MS, Decoder, DetectorInfo, FromShield, Hello,
    Info, Layout, LogLevel, LogLine, MAX_BLOCK_VALUES, MAX_CHANNELS, MAX_DETECTORS, MAX_FRAME,
    Reply, Request, RequestId, SampleBlock, SelfTestReport, ShieldError, Status, VERSION,
    compatible, encode,
};

/// The board's detectors, as the engine uses them.
pub trait FrontEnd {
    /// What this board can measure; `DetectorInfo::id` indexes them.
    fn detectors(&self) -> &[DetectorInfo];

    /// Get ready to measure `config` as channel number `channel` (tune a
    /// receiver, set a calibration). Called for every channel on Configure,
    /// after the engine checked the detector id and frequency range.
    fn prepare(&mut self, channel: u8, config: &ChannelConfig) -> Result<(), ShieldError>;

    /// Measure channel `channel` now, in the detector's unit (centi-dBm,
    /// microamps, permille); `shield_protocol::NO_READING` if it failed.
    ///
    /// The engine passes the sample's nominal time (`t0 + k * period_us`),
    /// which is `now` unless the board polled late.
    fn measure(&mut self, channel: u8, config: &ChannelConfig, now_us: u64) -> i32;

    /// Check every detector answers (IDs, a register read-back).
    fn self_test(&mut self) -> SelfTestReport;
}

/// Who the shield is, for the Hello reply.
#[derive(Debug, Clone)]
pub struct Identity {
    pub firmware: &'static str,
    pub board: &'static str,
    pub serial: String<24>,
}

/// Limits of a board.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// sample rate x channels the board sustains.
    pub max_samples_per_s: u32,
}

/// Sample blocks waiting to be sent; when full, new blocks are dropped and
/// counted (`Status::frames_dropped`), never silently.
pub const TX_BLOCKS: usize = 16;

/// Replies waiting to be sent. One request gets one reply and a well-behaved
/// host waits for it, so 8 only fills when a host floods requests without
/// reading; the oldest reply is then dropped and counted.
const REPLY_QUEUE: usize = 8;
/// Log lines waiting to be sent; on overflow the oldest is dropped and counted.
const LOG_QUEUE: usize = 8;
/// Status snapshots waiting to be sent. Each is complete, so when the queue
/// overflows the oldest one is superseded rather than lost.
const STATUS_QUEUE: usize = 4;

/// A Status while streaming this often.
const STATUS_INTERVAL_US: u64 = 1_000_000;
/// At most one "send buffer full" Log line this often, with the count: a host
/// that stopped reading must not also flood the log queue.
const DROP_LOG_INTERVAL_US: u64 = 1_000_000;
/// Blocks per second to aim for: few enough that per-frame overhead (header,
/// CRC, COBS, delimiter) stays small, many enough that the host sees fresh
/// data every 50 ms.
const BLOCKS_PER_SECOND: u32 = 20;
/// A board that fell further behind than this skips the oldest samples
/// rather than measuring a burst of stale ones (and blocking its loop).
const CATCH_UP_US: u64 = 500_000;
/// The fastest sample rate with a whole-µs period.
const MAX_RATE_HZ: u32 = 1_000_000;

/// A configuration that passed validation and was prepared on the front end.
#[derive(Debug)]
struct Armed {
    config: Config,
    period_us: u32,
    /// Samples per channel in a full block.
    samples_per_block: usize,
    watchdog_us: u64,
}

/// The schedule of the stream in progress.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Nominal time of the next sample to take.
    next_sample_us: u64,
    next_status_us: u64,
    /// Samples skipped because the board fell behind, this stream.
    samples_skipped: u64,
}

/// The shield.
pub struct Shield<F: FrontEnd> {
    front_end: F,
    identity: Identity,
    limits: Limits,

    /// Requests from the host, reassembled from any chunking.
    decoder: Decoder,
    /// Bad frames from the host already reported in a Log line.
    bad_frames_reported: u64,
    /// The last Hello came from a host we can talk with (true before any
    /// Hello: a host may reconnect without one).
    host_compatible: bool,
    /// Latest clock value seen: keeps our view of time monotonic even if a
    /// caller passes an older `now_us`.
    now_us: u64,

    armed: Option<Armed>,
    /// `Some` while streaming.
    run: Option<Run>,
    /// Last sign of life from a compatible host.
    last_life_us: u64,
    watchdog_stopped: bool,

    /// The block being filled, always interleaved (reordered when it closes).
    block: Vec<i32, MAX_BLOCK_VALUES>,
    /// Time of the first sample in `block`.
    block_t_us: u64,

    /// Closed blocks waiting to be sent. Each slot is always a
    /// `FromShield::Samples`, filled in place and encoded in place, so no
    /// ~750-byte block is ever moved through the stack.
    ring: [FromShield; TX_BLOCKS],
    ring_head: usize,
    ring_len: usize,
    next_seq: u32,
    frames_dropped: u32,
    buffer_high_water: u16,
    /// Blocks dropped since the last "send buffer full" Log line.
    drops_unlogged: u32,
    next_drop_log_us: u64,

    replies: Deque<(RequestId, Reply), REPLY_QUEUE>,
    logs: Deque<LogLine, LOG_QUEUE>,
    statuses: Deque<Status, STATUS_QUEUE>,
    /// Counted losses not reported yet (see `take_note`).
    replies_lost: u32,
    logs_lost: u32,
    requests_lost: u32,
    encode_failures: u32,
}

impl<F: FrontEnd> fmt::Debug for Shield<F> {
    // A summary: the sample buffers are kilobytes of numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield")
            .field("identity", &self.identity)
            .field("limits", &self.limits)
            .field("host_compatible", &self.host_compatible)
            .field("configured", &self.armed.is_some())
            .field("streaming", &self.run.is_some())
            .field("watchdog_stopped", &self.watchdog_stopped)
            .field("blocks_waiting", &self.ring_len)
            .field("next_seq", &self.next_seq)
            .field("frames_dropped", &self.frames_dropped)
            .finish_non_exhaustive()
    }
}

impl<F: FrontEnd> Shield<F> {
    pub fn new(front_end: F, identity: Identity, limits: Limits) -> Self {
        Shield {
            front_end,
            identity,
            limits,
            decoder: Decoder::new(),
            bad_frames_reported: 0,
            host_compatible: true,
            now_us: 0,
            armed: None,
            run: None,
            last_life_us: 0,
            watchdog_stopped: false,
            block: Vec::new(),
            block_t_us: 0,
            ring: core::array::from_fn(|_| FromShield::Samples(empty_block())),
            ring_head: 0,
            ring_len: 0,
            next_seq: 0,
            frames_dropped: 0,
            buffer_high_water: 0,
            drops_unlogged: 0,
            next_drop_log_us: 0,
            replies: Deque::new(),
            logs: Deque::new(),
            statuses: Deque::new(),
            replies_lost: 0,
            logs_lost: 0,
            requests_lost: 0,
            encode_failures: 0,
        }
    }

    /// Bytes received from the host, any chunking. Requests are decoded,
    /// answered (replies queued for `next_frame`) and acted upon.
    pub fn on_rx(&mut self, bytes: &[u8], now_us: u64) {
        let now = self.clock(now_us);
        // Feed up to one delimiter at a time: only a delimiter completes a
        // frame, and one delimiter yields at most two requests (the decoder
        // recovers two frames glued by a corrupted delimiter). So a two-slot
        // buffer holds everything and requests are handled in order, without
        // the decoder and `self` being borrowed at once.
        for piece in bytes.split_inclusive(|&b| b == 0) {
            let mut requests: Vec<Request, 2> = Vec::new();
            let mut overflow = 0u32;
            self.decoder.feed::<Request>(piece, |request| {
                if requests.push(request).is_err() {
                    overflow = overflow.saturating_add(1);
                }
            });
            self.requests_lost = self.requests_lost.saturating_add(overflow);
            for request in requests {
                self.handle(request, now);
            }
        }
        self.report_bad_frames();
    }

    /// Do what is due at `now_us` (µs since boot, monotonic): take samples,
    /// close full blocks, send a status now and then, stop on a silent host.
    pub fn poll(&mut self, now_us: u64) {
        let now = self.clock(now_us);
        let (Some(run), Some(armed)) = (self.run, self.armed.as_ref()) else {
            return;
        };
        let watchdog_deadline = self.last_life_us.saturating_add(armed.watchdog_us);

        // Samples are taken up to the watchdog deadline, not beyond: a board
        // that polls late must not stream data the host was no longer there
        // to ask for.
        let last_sample_us = now.min(watchdog_deadline.saturating_sub(1));
        self.take_due_samples(run, last_sample_us);

        if now >= watchdog_deadline {
            let silent_ms = now.saturating_sub(self.last_life_us) / 1000;
            self.watchdog_stopped = true;
            self.stop_streaming();
            self.log(
                LogLevel::Warn,
                format_args!("host silent for {silent_ms} ms: stopped streaming"),
            );
            return;
        }

        if self.drops_unlogged > 0 && now >= self.next_drop_log_us {
            self.report_drops();
        }
        if let Some(run) = self.run.as_mut()
            && now >= run.next_status_us
        {
            run.next_status_us = run.next_status_us.saturating_add(STATUS_INTERVAL_US);
            if run.next_status_us <= now {
                // Far behind: one status now, not a burst of stale ones.
                run.next_status_us = now.saturating_add(STATUS_INTERVAL_US);
            }
            self.queue_status();
        }
    }

    /// The next frame for the host (replies and logs first, then status, then
    /// samples), encoded into `out`; returns its length, or `None` if idle.
    pub fn next_frame(&mut self, out: &mut [u8; MAX_FRAME]) -> Option<usize> {
        // Every turn takes one message off a queue, so this ends; a message
        // that does not encode (none can: all are bounded well below
        // MAX_MESSAGE) is counted and reported rather than blocking the rest.
        loop {
            let encoded = if let Some((id, reply)) = self.replies.pop_front() {
                encode(&FromShield::Reply { id, reply }, out)
            } else if let Some(note) = self.take_note() {
                encode(&FromShield::Log(note), out)
            } else if let Some(line) = self.logs.pop_front() {
                encode(&FromShield::Log(line), out)
            } else if let Some(status) = self.statuses.pop_front() {
                encode(&FromShield::Status(status), out)
            } else if self.ring_len > 0 {
                let encoded = match self.ring.get(self.ring_head) {
                    Some(message) => encode(message, out),
                    None => Err(shield_protocol::frame::TooLarge),
                };
                self.ring_head = (self.ring_head + 1) % TX_BLOCKS;
                self.ring_len -= 1;
                encoded
            } else {
                return None;
            };
            match encoded {
                Ok(len) => return Some(len),
                Err(_) => self.encode_failures = self.encode_failures.saturating_add(1),
            }
        }
    }

    /// When `poll` has something to do next (µs), or `None` when idle: lets a
    /// board sleep, and the simulated shield wait on a clock.
    ///
    /// Only `poll`'s work counts (next sample, status, watchdog check, a
    /// rate-limited drop report); frames already queued are for `next_frame`,
    /// which a board drains on every turn of its loop whatever this says.
    pub fn next_deadline(&self) -> Option<u64> {
        let (Some(run), Some(armed)) = (self.run.as_ref(), self.armed.as_ref()) else {
            return None;
        };
        let watchdog_deadline = self.last_life_us.saturating_add(armed.watchdog_us);
        let mut deadline = run
            .next_sample_us
            .min(run.next_status_us)
            .min(watchdog_deadline);
        if self.drops_unlogged > 0 {
            deadline = deadline.min(self.next_drop_log_us);
        }
        Some(deadline)
    }

    pub fn is_streaming(&self) -> bool {
        self.run.is_some()
    }

    /// The board's detectors, e.g. for the simulated shield to set the levels
    /// its synthetic antenna hears.
    pub fn front_end(&mut self) -> &mut F {
        &mut self.front_end
    }

    /// Our clock: the caller's, never going backwards.
    fn clock(&mut self, now_us: u64) -> u64 {
        self.now_us = self.now_us.max(now_us);
        self.now_us
    }

    /// Answer one request and act on it.
    fn handle(&mut self, request: Request, now: u64) {
        let Request { id, command } = request;
        let reply = match command {
            Command::Hello { host } => {
                self.host_compatible = compatible(host);
                if self.host_compatible {
                    self.last_life_us = now;
                }
                Reply::Hello(self.hello())
            }
            _ if !self.host_compatible => {
                Reply::Nack(ShieldError::VersionMismatch { shield: VERSION })
            }
            command => {
                self.last_life_us = now;
                self.obey(command, now)
            }
        };
        self.queue_reply(id, reply);
    }

    /// Everything but Hello, from a compatible host.
    fn obey(&mut self, command: Command, now: u64) -> Reply {
        match command {
            Command::Hello { .. } => Reply::Hello(self.hello()),
            Command::GetInfo => Reply::Info(self.info()),
            Command::Configure(config) => match self.configure(config) {
                Ok(()) => Reply::Ack,
                Err(error) => Reply::Nack(error),
            },
            Command::Start => {
                if self.run.is_some() {
                    // Idempotent: a host that lost the Ack may repeat Start.
                    Reply::Ack
                } else if self.armed.is_none() {
                    Reply::Nack(ShieldError::NotConfigured)
                } else {
                    self.start_streaming(now);
                    Reply::Ack
                }
            }
            Command::Stop => {
                if self.run.is_some() {
                    self.stop_streaming();
                }
                Reply::Ack
            }
            Command::Heartbeat => Reply::Ack,
            Command::SelfTest => Reply::SelfTest(self.front_end.self_test()),
        }
    }

    fn hello(&self) -> Hello {
        Hello {
            protocol: VERSION,
            firmware: truncated(self.identity.firmware),
            board: truncated(self.identity.board),
            serial: self.identity.serial.clone(),
        }
    }

    fn info(&self) -> Info {
        let mut detectors = Vec::new();
        // A board declaring more than MAX_DETECTORS is a board bug; the host
        // sees the first ones rather than nothing.
        for detector in self.front_end.detectors().iter().take(MAX_DETECTORS) {
            let _ = detectors.push(detector.clone());
        }
        Info {
            detectors,
            max_samples_per_s: self.limits.max_samples_per_s,
            max_channels: u8::try_from(MAX_CHANNELS).unwrap_or(u8::MAX),
        }
    }

    /// Validate `config`, prepare the detectors and keep it for Start.
    fn configure(&mut self, config: Config) -> Result<(), ShieldError> {
        if self.run.is_some() {
            return Err(ShieldError::Streaming);
        }
        let channels = config.channels.len();
        if channels == 0 {
            return Err(ShieldError::NoChannels);
        }
        if channels > MAX_CHANNELS {
            // The message type already bounds this; kept so the rule is written down.
            return Err(ShieldError::TooManyChannels {
                max: u8::try_from(MAX_CHANNELS).unwrap_or(u8::MAX),
            });
        }
        for (index, channel) in config.channels.iter().enumerate() {
            let number = channel_number(index);
            let Some(detector) = self
                .front_end
                .detectors()
                .iter()
                .find(|d| d.id == channel.detector)
            else {
                return Err(ShieldError::UnknownDetector {
                    channel: number,
                    detector: channel.detector,
                });
            };
            // min = max = 0 means the detector has no tuning (a current
            // sensor): any centre frequency is accepted and ignored.
            let tunable = detector.min_khz != 0 || detector.max_khz != 0;
            if tunable && !(detector.min_khz..=detector.max_khz).contains(&channel.center_khz) {
                return Err(ShieldError::FrequencyOutOfRange { channel: number });
            }
        }
        let rate = config.sample_rate_hz;
        let total = u64::from(rate).saturating_mul(channels as u64);
        if rate == 0 || rate > MAX_RATE_HZ || total > u64::from(self.limits.max_samples_per_s) {
            return Err(ShieldError::RateTooHigh {
                max_samples_per_s: self.limits.max_samples_per_s,
            });
        }

        // From here the front end changes state: whatever was armed before is
        // no longer what the detectors are set up for, even if this fails.
        self.armed = None;
        for (index, channel) in config.channels.iter().enumerate() {
            self.front_end.prepare(channel_number(index), channel)?;
        }

        let period_us = MAX_RATE_HZ / rate;
        let per_block = usize::try_from(rate / BLOCKS_PER_SECOND).unwrap_or(usize::MAX);
        let samples_per_block = per_block.min(MAX_BLOCK_VALUES / channels).max(1);
        let watchdog_ms = match config.watchdog_ms {
            0 => DEFAULT_WATCHDOG_MS,
            ms => ms,
        };
        self.armed = Some(Armed {
            config,
            period_us,
            samples_per_block,
            watchdog_us: u64::from(watchdog_ms) * 1000,
        });
        Ok(())
    }

    fn start_streaming(&mut self, now: u64) {
        self.watchdog_stopped = false;
        self.block.clear();
        self.last_life_us = now;
        self.run = Some(Run {
            next_sample_us: now,
            next_status_us: now.saturating_add(STATUS_INTERVAL_US),
            samples_skipped: 0,
        });
        self.queue_status();
    }

    /// End the stream at the last sample taken: the partial block is sent,
    /// pending drop counts are reported, and a Status says we stopped.
    fn stop_streaming(&mut self) {
        self.close_block();
        self.run = None;
        if self.drops_unlogged > 0 {
            self.report_drops();
        }
        self.queue_status();
    }

    /// Take every sample due up to and including `last_sample_us`.
    fn take_due_samples(&mut self, mut run: Run, last_sample_us: u64) {
        let Some(armed) = self.armed.as_ref() else {
            return;
        };
        if run.next_sample_us > last_sample_us {
            return;
        }
        let period = u64::from(armed.period_us.max(1));
        let per_block = armed.samples_per_block as u64;
        let due = (last_sample_us - run.next_sample_us) / period + 1;
        // Half a second of samples, but at least one block and at most half
        // the send buffer: a catch-up burst must neither starve the loop nor
        // overflow the buffer on its own.
        let cap = (CATCH_UP_US / period)
            .min(per_block.saturating_mul(TX_BLOCKS as u64 / 2))
            .max(per_block)
            .max(1);
        if due > cap {
            let skipped = due - cap;
            // Close the block before the gap, so every block's samples stay
            // evenly spaced from its t_us.
            self.close_block();
            let from_us = run.next_sample_us;
            run.next_sample_us = from_us.saturating_add(skipped.saturating_mul(period));
            run.samples_skipped = run.samples_skipped.saturating_add(skipped);
            let total = run.samples_skipped;
            self.log(
                LogLevel::Warn,
                format_args!(
                    "fell behind: skipped {skipped} samples from t={from_us} us ({total} this stream)"
                ),
            );
        }
        for _ in 0..due.min(cap) {
            self.take_sample(run.next_sample_us);
            run.next_sample_us = run.next_sample_us.saturating_add(period);
        }
        if let Some(current) = self.run.as_mut() {
            current.next_sample_us = run.next_sample_us;
            current.samples_skipped = run.samples_skipped;
        }
    }

    /// Measure every channel for the sample at `t_us`; close the block when full.
    fn take_sample(&mut self, t_us: u64) {
        let Some(armed) = self.armed.as_ref() else {
            return;
        };
        if self.block.is_empty() {
            self.block_t_us = t_us;
        }
        for (index, channel) in armed.config.channels.iter().enumerate() {
            let value = self.front_end.measure(channel_number(index), channel, t_us);
            // Cannot fail: samples_per_block * channels <= MAX_BLOCK_VALUES
            // and a full block is closed right below.
            if self.block.push(value).is_err() {
                break;
            }
        }
        let full = self.block.len() >= armed.samples_per_block * armed.config.channels.len();
        if full {
            self.close_block();
        }
    }

    /// Give the block being filled its `seq` and queue it for sending, in
    /// the configured layout; drop it (counted) if the send buffer is full.
    fn close_block(&mut self) {
        if self.block.is_empty() {
            return;
        }
        let seq = self.next_seq;
        // seq counts every block, sent or not: a gap on the host is loss.
        self.next_seq = self.next_seq.wrapping_add(1);
        let Some(armed) = self.armed.as_ref() else {
            self.block.clear();
            return;
        };
        if self.ring_len >= TX_BLOCKS {
            self.block.clear();
            self.frames_dropped = self.frames_dropped.saturating_add(1);
            self.drops_unlogged = self.drops_unlogged.saturating_add(1);
            if self.now_us >= self.next_drop_log_us {
                self.report_drops();
            }
            return;
        }

        let slot_index = (self.ring_head + self.ring_len) % TX_BLOCKS;
        if let Some(slot) = self.ring.get_mut(slot_index) {
            if !matches!(slot, FromShield::Samples(_)) {
                // Never happens (slots are only ever Samples); repaired
                // rather than assumed.
                *slot = FromShield::Samples(empty_block());
            }
            if let FromShield::Samples(out) = slot {
                let channels = armed.config.channels.len();
                out.seq = seq;
                out.t_us = self.block_t_us;
                out.period_us = armed.period_us;
                out.channels = channel_number(channels);
                out.layout = armed.config.layout;
                out.values.clear();
                match armed.config.layout {
                    Layout::Interleaved => {
                        for &value in &self.block {
                            let _ = out.values.push(value);
                        }
                    }
                    Layout::ChannelMajor => {
                        // The block was filled sample by sample; transpose.
                        let samples = self.block.len() / channels.max(1);
                        for channel in 0..channels {
                            for sample in 0..samples {
                                if let Some(&value) = self.block.get(sample * channels + channel) {
                                    let _ = out.values.push(value);
                                }
                            }
                        }
                    }
                }
            }
        }
        self.block.clear();
        self.ring_len += 1;
        let waiting = u16::try_from(self.ring_len).unwrap_or(u16::MAX);
        self.buffer_high_water = self.buffer_high_water.max(waiting);
    }

    /// Log the blocks dropped since the last report.
    fn report_drops(&mut self) {
        let dropped = core::mem::take(&mut self.drops_unlogged);
        let total = self.frames_dropped;
        self.next_drop_log_us = self.now_us.saturating_add(DROP_LOG_INTERVAL_US);
        self.log(
            LogLevel::Warn,
            format_args!("send buffer full: dropped {dropped} sample blocks ({total} since boot)"),
        );
    }

    /// Log frames from the host the decoder threw away since the last report.
    fn report_bad_frames(&mut self) {
        let stats = self.decoder.stats();
        if stats.bad_frames > self.bad_frames_reported {
            let new = stats.bad_frames - self.bad_frames_reported;
            self.bad_frames_reported = stats.bad_frames;
            let bytes = stats.bytes_discarded;
            self.log(
                LogLevel::Warn,
                format_args!("discarded {new} bad frames from the host ({bytes} bytes since boot)"),
            );
        }
    }

    fn status(&self) -> Status {
        Status {
            uptime_ms: self.now_us / 1000,
            streaming: self.run.is_some(),
            frames_dropped: self.frames_dropped,
            buffer_high_water: self.buffer_high_water,
            buffer_capacity: u16::try_from(TX_BLOCKS).unwrap_or(u16::MAX),
            watchdog_stopped: self.watchdog_stopped,
            next_seq: self.next_seq,
        }
    }

    fn queue_status(&mut self) {
        let status = self.status();
        if self.statuses.is_full() {
            // Superseded by the newer, complete snapshot.
            let _ = self.statuses.pop_front();
        }
        let _ = self.statuses.push_back(status);
    }

    fn queue_reply(&mut self, id: RequestId, reply: Reply) {
        if self.replies.is_full() {
            let _ = self.replies.pop_front();
            self.replies_lost = self.replies_lost.saturating_add(1);
        }
        let _ = self.replies.push_back((id, reply));
    }

    fn log(&mut self, level: LogLevel, args: fmt::Arguments<'_>) {
        let mut text = String::new();
        // Truncating never fails; a clipped line beats no line.
        let _ = Truncating(&mut text).write_fmt(args);
        if self.logs.is_full() {
            let _ = self.logs.pop_front();
            self.logs_lost = self.logs_lost.saturating_add(1);
        }
        let _ = self.logs.push_back(LogLine { level, text });
    }

    /// A Log line for losses counted where no line could be queued (a full
    /// reply or log queue), so they are reported once the queues drain.
    fn take_note(&mut self) -> Option<LogLine> {
        let mut text = String::new();
        let mut out = Truncating(&mut text);
        // Truncating never fails, so the write results carry nothing.
        let _ = if self.replies_lost > 0 {
            let n = core::mem::take(&mut self.replies_lost);
            write!(out, "reply queue full: {n} replies lost (host not reading)")
        } else if self.logs_lost > 0 {
            let n = core::mem::take(&mut self.logs_lost);
            write!(out, "log queue full: {n} log lines lost")
        } else if self.requests_lost > 0 {
            let n = core::mem::take(&mut self.requests_lost);
            write!(out, "{n} requests lost in the decoder")
        } else if self.encode_failures > 0 {
            let n = core::mem::take(&mut self.encode_failures);
            write!(out, "{n} messages too large to send (firmware bug)")
        } else {
            return None;
        };
        Some(LogLine {
            level: LogLevel::Warn,
            text,
        })
    }
}

/// Channel index as the wire numbers it (at most MAX_CHANNELS, so it fits).
fn channel_number(index: usize) -> u8 {
    u8::try_from(index).unwrap_or(u8::MAX)
}

fn empty_block() -> SampleBlock {
    SampleBlock {
        seq: 0,
        t_us: 0,
        period_us: 0,
        channels: 0,
        layout: Layout::Interleaved,
        values: Vec::new(),
    }
}

/// `text` cut to what fits (at a character boundary).
fn truncated<const N: usize>(text: &str) -> String<N> {
    let mut out = String::new();
    let _ = Truncating(&mut out).write_str(text);
    out
}

/// Writes what fits into a fixed-capacity string and silently clips the
/// rest, so formatting a log line never fails halfway.
struct Truncating<'a, const N: usize>(&'a mut String<N>);

impl<const N: usize> fmt::Write for Truncating<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}
