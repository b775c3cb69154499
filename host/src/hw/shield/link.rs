//! The host end of the shield link: one serial port, one reader thread,
//! requests matched to replies by id, a bounded stream of sample blocks.
//!
//! See the module docs of `hw::shield` for the design; this file is the
//! mechanics.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;
use serialport::{ClearBuffer, SerialPort};
use shield_protocol::{
    Command, Config, DEFAULT_WATCHDOG_MS, DecodeStats, FromShield, GluedDecoder, Hello, Info,
    LogLevel, LogLine, MAX_FRAME, ProtocolVersion, Reply, Request, RequestId, SampleBlock,
    SelfTestReport, ShieldError, Status, VERSION, compatible, encode,
};

use crate::config::SerialPortSpec;
use crate::hw::HwError;
use crate::hw::serial_relay::{open_error, resolve};

/// Line speed asked for on open. USB CDC and ptys ignore it; a UART bridge
/// in front of a shield would need this.
pub const BAUD: u32 = 115_200;

/// How long the reader blocks in one read. It bounds how long closing the
/// link waits for the reader to notice, not the latency of data (a read
/// returns as soon as bytes are there).
pub const READ_POLL: Duration = Duration::from_millis(25);

/// How long one write may wait for room in the port's buffer before the
/// attempt counts as failed (and is retried like a lost request).
pub const WRITE_TIMEOUT: Duration = Duration::from_millis(500);

/// Per try of the first Hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_millis(1500);

/// Tuning of a [`ShieldLink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOptions {
    /// Per attempt, for the requests the link makes itself (hello, info,
    /// start, stop). A USB round trip takes a few ms; the QEMU board is
    /// slower, hence the margin.
    pub request_timeout: Duration,
    /// Resends of a request that got no reply, with the same id.
    pub retries: u32,
    /// Heartbeat period while streaming; `None` = a third of the
    /// configured watchdog, so two heartbeats may be lost before the
    /// shield gives up on the host.
    pub heartbeat: Option<Duration>,
    /// Events (blocks, status, log lines) waiting for the consumer. At 50
    /// blocks/s, 1024 is 20 s of slack before blocks are dropped.
    pub stream_capacity: usize,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            request_timeout: Duration::from_millis(300),
            retries: 2,
            heartbeat: None,
            stream_capacity: 1024,
        }
    }
}

/// Why a request or the link failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShieldLinkError {
    #[error(
        "{label}: no reply to {command} after {attempts} tries of {}ms each (is the shield powered and running its firmware?)",
        per_try.as_millis()
    )]
    Timeout {
        label: String,
        command: &'static str,
        attempts: u32,
        per_try: Duration,
    },
    #[error("{label}: the shield refused {command}: {error}")]
    Nack {
        label: String,
        command: &'static str,
        error: ShieldError,
    },
    #[error("{label}: link lost: {reason}")]
    Disconnected { label: String, reason: String },
    #[error(
        "{label}: shield speaks protocol {shield}, this benchctl speaks {host}: update the firmware or benchctl"
    )]
    VersionMismatch {
        label: String,
        shield: ProtocolVersion,
        host: ProtocolVersion,
    },
    #[error("{label}: {command} before hello: call ShieldLink::hello first")]
    NoHello {
        label: String,
        command: &'static str,
    },
    #[error("{label}: unexpected reply to {command}: {reply}")]
    UnexpectedReply {
        label: String,
        command: &'static str,
        reply: String,
    },
    #[error("{label}: already streaming: stop the running stream first")]
    AlreadyStreaming { label: String },
    #[error("{label}: {command} does not fit in a frame (a benchctl bug)")]
    TooLarge {
        label: String,
        command: &'static str,
    },
}

/// Everything the link counted since it was opened. Nothing is dropped
/// without being counted here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Messages decoded and verified, of every kind.
    pub frames_decoded: u64,
    /// Sample blocks decoded (in a stream or not).
    pub blocks_received: u64,
    /// Sample blocks missing from a stream's `seq` sequence: lost on the
    /// wire (a corrupted frame) or dropped by the shield (its buffer was
    /// full, see `shield_frames_dropped`).
    pub blocks_lost: u64,
    /// Times `seq` went backwards in a stream (the shield restarted): the
    /// count starts over from the new value instead of calling it a gap of
    /// four billion.
    pub seq_restarts: u64,
    /// Blocks decoded but thrown away because the consumer was too slow.
    pub blocks_dropped_host: u64,
    /// Status and log lines thrown away for the same reason.
    pub events_dropped_host: u64,
    /// Blocks that arrived with no stream running (a shield still
    /// streaming for a host that went away, the tail after Stop).
    pub blocks_outside_stream: u64,
    /// What the decoder threw away (its own counts, frames included).
    pub decoder: DecodeStats,
    /// The shield's own count of blocks it could not send, from its last
    /// Status (since its boot).
    pub shield_frames_dropped: Option<u32>,
    /// Replies matching no waiting request: late duplicates of a resent
    /// request, or replies after the requester gave up.
    pub replies_unmatched: u64,
    /// Requests sent again after a timeout.
    pub requests_resent: u64,
    /// Heartbeats with no reply by the time the next one was due.
    pub heartbeats_sent: u64,
    pub heartbeats_unanswered: u64,
}

/// What a stream delivers, in the order the shield sent it.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every event is a block: boxing it would add an allocation per block and save nothing"
)]
pub enum ShieldEvent {
    /// A block and when the host had it (for `clock::ClockEstimator`).
    Samples {
        block: SampleBlock,
        received_at: Instant,
    },
    Status(Status),
    /// Also logged through `tracing`.
    Log(LogLine),
}

/// One step of a `seq` sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqStep {
    /// The first block: nothing to compare with.
    First,
    /// The block after the previous one.
    Next,
    /// `n` blocks are missing before this one.
    Lost(u32),
    /// Not after the previous one (a duplicate or a restarted shield):
    /// counting starts over from here.
    Restart,
}

/// Loss accounting on `SampleBlock::seq`, which wraps at u32.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqTracker {
    last: Option<u32>,
}

impl SeqTracker {
    pub fn new() -> Self {
        SeqTracker::default()
    }

    /// Forget the previous block: the next one starts a new session.
    pub fn reset(&mut self) {
        self.last = None;
    }

    pub fn observe(&mut self, seq: u32) -> SeqStep {
        let step = match self.last {
            None => SeqStep::First,
            Some(last) => match seq.wrapping_sub(last.wrapping_add(1)) {
                0 => SeqStep::Next,
                // Forward by less than half the range is a gap (at 50
                // blocks/s, half the range is 16 months); further "forward"
                // is really backwards.
                gap if gap < 1 << 31 => SeqStep::Lost(gap),
                _ => SeqStep::Restart,
            },
        };
        self.last = Some(seq);
        step
    }
}

/// The name of a command in messages.
pub fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Hello { .. } => "Hello",
        Command::GetInfo => "GetInfo",
        Command::Configure(_) => "Configure",
        Command::Start => "Start",
        Command::Stop => "Stop",
        Command::Heartbeat => "Heartbeat",
        Command::SelfTest => "SelfTest",
    }
}

/// The heartbeat period for a configuration: a third of its watchdog.
pub fn default_heartbeat(config: &Config) -> Duration {
    let watchdog_ms = match config.watchdog_ms {
        0 => DEFAULT_WATCHDOG_MS,
        ms => ms,
    };
    Duration::from_millis(u64::from(watchdog_ms / 3).max(1))
}

/// State the reader thread shares with the requesters and the stream.
struct Shared {
    label: String,
    state: Mutex<State>,
    /// Signalled after every chunk the reader handled and on disconnect.
    changed: Condvar,
    /// The link is being closed: the reader returns.
    closing: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update to `State` is a few plain assignments; a panic in
        // another thread cannot leave it half-done in a way that matters.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn disconnect(&self, reason: String) {
        {
            let mut state = self.lock();
            if state.disconnected.is_none() {
                tracing::warn!("{}: link lost: {reason}", self.label);
                state.disconnected = Some(reason);
            }
            // Dropping the senders wakes every waiting requester and the
            // stream's consumer at once.
            state.pending.clear();
            state.consumer = None;
        }
        self.changed.notify_all();
    }
}

#[derive(Default)]
struct State {
    stats: LinkStats,
    pending: HashMap<RequestId, SyncSender<Reply>>,
    /// The running stream's queue, if any.
    consumer: Option<SyncSender<ShieldEvent>>,
    seq: SeqTracker,
    /// The last Status said the watchdog stopped the stream (to log the
    /// change once, not every status).
    watchdog_stopped: bool,
    disconnected: Option<String>,
}

impl State {
    fn dispatch(&mut self, label: &str, message: FromShield, received_at: Instant) {
        match message {
            FromShield::Reply { id, reply } => match self.pending.remove(&id) {
                // The requester may have just given up; then nobody cares.
                Some(waiting) => {
                    let _ = waiting.try_send(reply);
                }
                None => {
                    self.stats.replies_unmatched += 1;
                    tracing::debug!("{label}: reply to request {id} that nobody waits for");
                }
            },
            FromShield::Samples(block) => {
                self.stats.blocks_received += 1;
                let Some(consumer) = &self.consumer else {
                    self.stats.blocks_outside_stream += 1;
                    return;
                };
                match self.seq.observe(block.seq) {
                    SeqStep::First | SeqStep::Next => {}
                    SeqStep::Lost(n) => self.stats.blocks_lost += u64::from(n),
                    SeqStep::Restart => {
                        self.stats.seq_restarts += 1;
                        tracing::warn!(
                            "{label}: block seq went back to {}: did the shield restart?",
                            block.seq
                        );
                    }
                }
                match consumer.try_send(ShieldEvent::Samples { block, received_at }) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => self.stats.blocks_dropped_host += 1,
                    Err(TrySendError::Disconnected(_)) => {
                        self.consumer = None;
                        self.stats.blocks_outside_stream += 1;
                    }
                }
            }
            FromShield::Status(status) => {
                self.stats.shield_frames_dropped = Some(status.frames_dropped);
                if status.watchdog_stopped && !self.watchdog_stopped {
                    tracing::warn!(
                        "{label}: the shield stopped streaming on its own: no heartbeat within its watchdog"
                    );
                }
                self.watchdog_stopped = status.watchdog_stopped;
                self.forward(ShieldEvent::Status(status));
            }
            FromShield::Log(line) => {
                let text = line.text.as_str();
                match line.level {
                    LogLevel::Error => tracing::error!("{label}: {text}"),
                    LogLevel::Warn => tracing::warn!("{label}: {text}"),
                    LogLevel::Info => tracing::info!("{label}: {text}"),
                    LogLevel::Debug => tracing::debug!("{label}: {text}"),
                }
                self.forward(ShieldEvent::Log(line));
            }
        }
    }

    /// Status and log lines to the consumer, never blocking.
    fn forward(&mut self, event: ShieldEvent) {
        if let Some(consumer) = &self.consumer {
            match consumer.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => self.stats.events_dropped_host += 1,
                Err(TrySendError::Disconnected(_)) => self.consumer = None,
            }
        }
    }
}

/// The reader thread: the only place bytes come in.
fn read_loop(mut port: Box<dyn SerialPort>, shared: &Shared) {
    // Room for two frames, so a corrupted delimiter between two full sample
    // blocks costs nothing instead of both blocks.
    let mut decoder = GluedDecoder::new();
    // A full-speed USB CDC read returns at most a few 64-byte packets; 4 KiB
    // takes whatever the kernel has queued in one go.
    let mut buf = [0u8; 4096];
    let reason = loop {
        if shared.closing.load(Ordering::Acquire) {
            return;
        }
        match port.read(&mut buf) {
            Ok(0) => break "the port reported end of file (unplugged?)".to_owned(),
            Ok(n) => {
                let received_at = Instant::now();
                {
                    let mut state = shared.lock();
                    decoder.feed::<FromShield>(&buf[..n], |message| {
                        state.dispatch(&shared.label, message, received_at);
                    });
                    let stats = decoder.stats();
                    state.stats.frames_decoded = stats.frames;
                    state.stats.decoder = stats;
                }
                shared.changed.notify_all();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => break format!("reading failed: {e} (unplugged?)"),
        }
    };
    if !shared.closing.load(Ordering::Acquire) {
        shared.disconnect(reason);
    }
}

/// What hello found out.
#[derive(Debug, Clone)]
enum Greeting {
    NotYet,
    Compatible(Hello),
    Mismatch(ProtocolVersion),
}

/// The link proper, shared by the [`ShieldLink`] handle, a [`Stream`] and
/// its heartbeat thread. Dropping the last of them stops the reader.
struct Core {
    label: String,
    options: LinkOptions,
    shared: Arc<Shared>,
    writer: Mutex<Box<dyn SerialPort>>,
    next_id: AtomicU16,
    greeting: Mutex<Greeting>,
    reader: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Core {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::Release);
        let reader = self
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(reader) = reader {
            // Returns within READ_POLL.
            let _ = reader.join();
        }
    }
}

/// Removes a request's entry however the requester leaves.
struct Forget<'a> {
    shared: &'a Shared,
    id: RequestId,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.shared.lock().pending.remove(&self.id);
    }
}

impl Core {
    fn disconnected(&self, reason: &str) -> ShieldLinkError {
        ShieldLinkError::Disconnected {
            label: self.label.clone(),
            reason: reason.to_owned(),
        }
    }

    fn lost(&self) -> ShieldLinkError {
        let reason = self
            .shared
            .lock()
            .disconnected
            .clone()
            .unwrap_or_else(|| "the reader stopped".into());
        self.disconnected(&reason)
    }

    fn greeting(&self) -> MutexGuard<'_, Greeting> {
        self.greeting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refuses everything but Hello until hello succeeded.
    fn check_greeting(&self, command: &'static str) -> Result<(), ShieldLinkError> {
        match &*self.greeting() {
            Greeting::Compatible(_) => Ok(()),
            Greeting::NotYet => Err(ShieldLinkError::NoHello {
                label: self.label.clone(),
                command,
            }),
            Greeting::Mismatch(shield) => Err(self.mismatch(*shield)),
        }
    }

    fn mismatch(&self, shield: ProtocolVersion) -> ShieldLinkError {
        ShieldLinkError::VersionMismatch {
            label: self.label.clone(),
            shield,
            host: VERSION,
        }
    }

    /// Registers a new request id and encodes the request.
    fn prepare(
        &self,
        command: Command,
    ) -> Result<(RequestId, Receiver<Reply>, Vec<u8>), ShieldLinkError> {
        let name = command_name(&command);
        // Wraps at u16, as the protocol says; 65536 requests later an id is
        // long answered.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = [0u8; MAX_FRAME];
        let len = encode(&Request { id, command }, &mut frame).map_err(|_| {
            ShieldLinkError::TooLarge {
                label: self.label.clone(),
                command: name,
            }
        })?;
        let (tx, rx) = mpsc::sync_channel(1);
        let mut state = self.shared.lock();
        if let Some(reason) = &state.disconnected {
            return Err(self.disconnected(reason));
        }
        state.pending.insert(id, tx);
        Ok((id, rx, frame[..len].to_vec()))
    }

    /// Writes one frame. `Ok(false)`: the port had no room in time (the
    /// attempt failed, the link is still there).
    fn write(&self, frame: &[u8]) -> Result<bool, ShieldLinkError> {
        let mut port = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        // No flush: on a tty that is tcdrain, which has no timeout and
        // would hang here if the shield stopped reading. The kernel sends
        // what write() queued.
        match port.write_all(frame) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                tracing::debug!("{}: write timed out: the shield is not reading", self.label);
                Ok(false)
            }
            Err(e) => {
                let reason = format!("writing failed: {e} (unplugged?)");
                self.shared.disconnect(reason.clone());
                Err(self.disconnected(&reason))
            }
        }
    }

    /// Sends a request and waits for its reply, resending with the same id
    /// on timeout. Nack is an error.
    fn exchange(&self, command: Command, timeout: Duration) -> Result<Reply, ShieldLinkError> {
        let name = command_name(&command);
        let (id, replies, frame) = self.prepare(command)?;
        let _forget = Forget {
            shared: &self.shared,
            id,
        };
        let attempts = self.options.retries.saturating_add(1);
        for attempt in 0..attempts {
            if attempt > 0 {
                self.shared.lock().stats.requests_resent += 1;
                tracing::debug!(
                    "{}: no reply to {name} (id {id}), sending it again",
                    self.label
                );
            }
            if !self.write(&frame)? {
                continue;
            }
            match replies.recv_timeout(timeout) {
                Ok(Reply::Nack(ShieldError::VersionMismatch { shield })) => {
                    return Err(self.mismatch(shield));
                }
                Ok(Reply::Nack(error)) => {
                    return Err(ShieldLinkError::Nack {
                        label: self.label.clone(),
                        command: name,
                        error,
                    });
                }
                Ok(reply) => return Ok(reply),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(self.lost()),
            }
        }
        Err(ShieldLinkError::Timeout {
            label: self.label.clone(),
            command: name,
            attempts,
            per_try: timeout,
        })
    }

    fn request(&self, command: Command, timeout: Duration) -> Result<Reply, ShieldLinkError> {
        if !matches!(command, Command::Hello { .. }) {
            self.check_greeting(command_name(&command))?;
        }
        self.exchange(command, timeout)
    }

    /// A request that must be answered with Ack.
    fn command(&self, command: Command) -> Result<(), ShieldLinkError> {
        let name = command_name(&command);
        match self.request(command, self.options.request_timeout)? {
            Reply::Ack => Ok(()),
            other => Err(self.unexpected(name, &other)),
        }
    }

    fn unexpected(&self, command: &'static str, reply: &Reply) -> ShieldLinkError {
        ShieldLinkError::UnexpectedReply {
            label: self.label.clone(),
            command,
            reply: format!("{reply:?}"),
        }
    }

    /// One heartbeat, not waited for: the heartbeat thread checks the
    /// reply when the next one is due.
    fn send_heartbeat(&self) -> Result<(RequestId, Receiver<Reply>), ShieldLinkError> {
        let (id, replies, frame) = self.prepare(Command::Heartbeat)?;
        self.shared.lock().stats.heartbeats_sent += 1;
        if let Err(e) = self.write(&frame) {
            self.shared.lock().pending.remove(&id);
            return Err(e);
        }
        Ok((id, replies))
    }
}

/// An open link to a radio shield.
///
/// Open, then [`hello`](Self::hello) before anything else; then
/// [`info`](Self::info), [`start`](Self::start) a [`Stream`].
pub struct ShieldLink {
    core: Arc<Core>,
}

impl fmt::Debug for ShieldLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShieldLink")
            .field("label", &self.core.label)
            .field("options", &self.core.options)
            .finish_non_exhaustive()
    }
}

impl ShieldLink {
    /// Finds the port (path or USB match, like the relay boards) and opens
    /// it with the default options.
    pub fn open(spec: &SerialPortSpec) -> Result<ShieldLink, HwError> {
        ShieldLink::open_with(spec, LinkOptions::default())
    }

    pub fn open_with(spec: &SerialPortSpec, options: LinkOptions) -> Result<ShieldLink, HwError> {
        let path = resolve("shield", spec).map_err(|mut e| {
            // `resolve` names the device for relay boards.
            e.device = format!("radio shield ({spec})");
            e
        })?;
        let label = format!("radio shield ({path})");
        let port = serialport::new(&path, BAUD)
            .timeout(WRITE_TIMEOUT)
            .open()
            .map_err(|e| open_error(&label, &path, e))?;
        ShieldLink::from_port_with(port, label, options)
    }

    /// A link over a port already open (tests, a pty of the simulated
    /// shield). `label` names the shield in messages.
    pub fn from_port(
        port: Box<dyn SerialPort>,
        label: impl Into<String>,
    ) -> Result<ShieldLink, HwError> {
        ShieldLink::from_port_with(port, label, LinkOptions::default())
    }

    pub fn from_port_with(
        mut port: Box<dyn SerialPort>,
        label: impl Into<String>,
        options: LinkOptions,
    ) -> Result<ShieldLink, HwError> {
        let label = label.into();
        let fail = |what: &str, e: serialport::Error| {
            HwError::new(&label, format!("{what}: {e}"))
                .with_fix("is the shield still plugged in? `benchctl doctor` lists serial ports")
        };
        // Bytes the kernel queued before we opened belong to a previous
        // session; what is still on its way the decoder skips up to the
        // next frame delimiter.
        port.clear(ClearBuffer::Input)
            .map_err(|e| fail("cannot clear the input buffer", e))?;
        port.set_timeout(WRITE_TIMEOUT)
            .map_err(|e| fail("cannot set the timeout", e))?;
        let mut reader_port = port
            .try_clone()
            .map_err(|e| fail("cannot open a second handle for the reader", e))?;
        // A clone has its own timeout: short for the reader only.
        reader_port
            .set_timeout(READ_POLL)
            .map_err(|e| fail("cannot set the read timeout", e))?;
        let shared = Arc::new(Shared {
            label: label.clone(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            closing: AtomicBool::new(false),
        });
        let reader = thread::Builder::new()
            .name("shield-reader".into())
            .spawn({
                let shared = shared.clone();
                move || read_loop(reader_port, &shared)
            })
            .map_err(|e| HwError::new(&label, format!("cannot start the reader thread: {e}")))?;
        Ok(ShieldLink {
            core: Arc::new(Core {
                label,
                options,
                shared,
                writer: Mutex::new(port),
                next_id: AtomicU16::new(0),
                greeting: Mutex::new(Greeting::NotYet),
                reader: Mutex::new(Some(reader)),
            }),
        })
    }

    /// `radio shield (/dev/ttyACM0)`.
    pub fn label(&self) -> &str {
        &self.core.label
    }

    pub fn options(&self) -> &LinkOptions {
        &self.core.options
    }

    /// The first request of a session: exchanges protocol versions and
    /// refuses an incompatible shield before anything else is sent.
    pub fn hello(&self) -> Result<Hello, ShieldLinkError> {
        let command = Command::Hello { host: VERSION };
        // The first exchange waits longer than the others: a board may still
        // be enumerating, and QEMU reads a pty opened after boot only at its
        // next once-a-second check (hw notes in firmware/boards/README.md).
        let reply = self.core.request(
            command,
            self.core.options.request_timeout.max(HELLO_TIMEOUT),
        );
        let hello = match reply {
            Ok(Reply::Hello(hello)) => hello,
            Ok(other) => return Err(self.core.unexpected("Hello", &other)),
            Err(ShieldLinkError::VersionMismatch { shield, .. }) => {
                *self.core.greeting() = Greeting::Mismatch(shield);
                return Err(self.core.mismatch(shield));
            }
            Err(e) => return Err(e),
        };
        if !compatible(hello.protocol) {
            *self.core.greeting() = Greeting::Mismatch(hello.protocol);
            return Err(self.core.mismatch(hello.protocol));
        }
        tracing::info!(
            "{}: {} firmware {} serial {}, protocol {}",
            self.core.label,
            hello.board,
            hello.firmware,
            hello.serial,
            hello.protocol
        );
        *self.core.greeting() = Greeting::Compatible(hello.clone());
        Ok(hello)
    }

    /// What hello returned, once it succeeded.
    pub fn greeting(&self) -> Option<Hello> {
        match &*self.core.greeting() {
            Greeting::Compatible(hello) => Some(hello.clone()),
            _ => None,
        }
    }

    /// Any request, resent with the same id up to `LinkOptions::retries`
    /// times when `timeout` passes without a reply. A Nack is an error.
    pub fn request(&self, command: Command, timeout: Duration) -> Result<Reply, ShieldLinkError> {
        self.core.request(command, timeout)
    }

    /// The shield's detectors and limits.
    pub fn info(&self) -> Result<Info, ShieldLinkError> {
        match self
            .core
            .request(Command::GetInfo, self.core.options.request_timeout)?
        {
            Reply::Info(info) => Ok(info),
            other => Err(self.core.unexpected("GetInfo", &other)),
        }
    }

    /// Asks every detector to answer. Slower than other requests (the
    /// shield talks to each chip): give it a timeout of its own.
    pub fn self_test(&self, timeout: Duration) -> Result<SelfTestReport, ShieldLinkError> {
        match self.core.request(Command::SelfTest, timeout)? {
            Reply::SelfTest(report) => Ok(report),
            other => Err(self.core.unexpected("SelfTest", &other)),
        }
    }

    /// Stop (in case the shield still streams for a host that went away:
    /// it would refuse Configure), Configure, Start; then heartbeats every
    /// [`LinkOptions::heartbeat`] (default: a third of the watchdog) until
    /// the stream is stopped or dropped.
    pub fn start(&self, config: &Config) -> Result<Stream, ShieldLinkError> {
        self.core.check_greeting("Start")?;
        let (tx, rx) = mpsc::sync_channel(self.core.options.stream_capacity.max(1));
        {
            let state = self.core.shared.lock();
            if state.consumer.is_some() {
                return Err(ShieldLinkError::AlreadyStreaming {
                    label: self.core.label.clone(),
                });
            }
        }
        self.core.command(Command::Stop)?;
        self.core.command(Command::Configure(config.clone()))?;
        {
            // Before Start, so that its first blocks are counted in it.
            let mut state = self.core.shared.lock();
            if state.consumer.is_some() {
                return Err(ShieldLinkError::AlreadyStreaming {
                    label: self.core.label.clone(),
                });
            }
            state.consumer = Some(tx);
            state.seq.reset();
        }
        if let Err(e) = self.core.command(Command::Start) {
            self.core.shared.lock().consumer = None;
            return Err(e);
        }
        let interval = self
            .core
            .options
            .heartbeat
            .unwrap_or_else(|| default_heartbeat(config));
        let watchdog = u64::from(match config.watchdog_ms {
            0 => DEFAULT_WATCHDOG_MS,
            ms => ms,
        });
        if interval >= Duration::from_millis(watchdog) {
            tracing::warn!(
                "{}: heartbeat every {}ms but the watchdog is {watchdog}ms: the shield will stop streaming",
                self.core.label,
                interval.as_millis()
            );
        }
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let heartbeat = thread::Builder::new()
            .name("shield-heartbeat".into())
            .spawn({
                let core = self.core.clone();
                move || heartbeat_loop(&core, interval, &stop_rx)
            });
        let heartbeat = match heartbeat {
            Ok(handle) => handle,
            Err(e) => {
                // Without heartbeats the watchdog would stop the stream
                // soon anyway; stop it now and say why.
                let _ = self.core.command(Command::Stop);
                self.core.shared.lock().consumer = None;
                return Err(self
                    .core
                    .disconnected(&format!("cannot start the heartbeat thread: {e}")));
            }
        };
        Ok(Stream {
            core: self.core.clone(),
            events: rx,
            heartbeat: Some((stop_tx, heartbeat)),
            interval,
            stopped: false,
        })
    }

    /// Everything counted since the link was opened.
    pub fn stats(&self) -> LinkStats {
        self.core.shared.lock().stats
    }

    /// Why the link is lost, if it is.
    pub fn lost(&self) -> Option<String> {
        self.core.shared.lock().disconnected.clone()
    }

    /// Waits until the stats satisfy `done` (checked each time the reader
    /// handled bytes) or the link is lost; `None` after `timeout`.
    pub fn wait_for_stats(
        &self,
        timeout: Duration,
        done: impl Fn(&LinkStats) -> bool,
    ) -> Option<LinkStats> {
        let shared = &self.core.shared;
        let guard = shared.lock();
        let (guard, _) = shared
            .changed
            .wait_timeout_while(guard, timeout, |s| {
                !done(&s.stats) && s.disconnected.is_none()
            })
            .unwrap_or_else(PoisonError::into_inner);
        done(&guard.stats).then_some(guard.stats)
    }
}

fn heartbeat_loop(core: &Core, interval: Duration, stop: &Receiver<()>) {
    let mut outstanding: Option<(RequestId, Receiver<Reply>)> = None;
    // Timed from after each send, so heartbeats are never closer than
    // `interval`, even after the thread was held up.
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
        if let Some((id, reply)) = outstanding.take()
            && let Err(TryRecvError::Empty) = reply.try_recv()
        {
            let mut state = core.shared.lock();
            state.pending.remove(&id);
            state.stats.heartbeats_unanswered += 1;
            tracing::warn!("{}: heartbeat {id} not answered", core.label);
        }
        match core.send_heartbeat() {
            Ok(sent) => outstanding = Some(sent),
            Err(ShieldLinkError::Disconnected { .. }) => break,
            Err(e) => tracing::warn!("{e}"),
        }
    }
    if let Some((id, _)) = outstanding {
        core.shared.lock().pending.remove(&id);
    }
}

/// A running stream. Receives the shield's blocks, status and log lines;
/// keeps the heartbeats going; stopping or dropping it sends Stop.
pub struct Stream {
    core: Arc<Core>,
    events: Receiver<ShieldEvent>,
    heartbeat: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    interval: Duration,
    stopped: bool,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("label", &self.core.label)
            .field("heartbeat", &self.interval)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// The next event, waiting at most `timeout`; `Ok(None)` if none came.
    /// After the link is lost, the events still queued, then `Disconnected`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<ShieldEvent>, ShieldLinkError> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => Ok(Some(event)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(self.core.lost()),
        }
    }

    /// The next event before `deadline`.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<Option<ShieldEvent>, ShieldLinkError> {
        self.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    }

    /// The next event if one is queued.
    pub fn try_recv(&self) -> Result<Option<ShieldEvent>, ShieldLinkError> {
        match self.events.try_recv() {
            Ok(event) => Ok(Some(event)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(self.core.lost()),
        }
    }

    /// The next sample block before `deadline`, passing over status and
    /// log lines (which `tracing` and the stats have seen).
    pub fn next_block(
        &self,
        deadline: Instant,
    ) -> Result<Option<(SampleBlock, Instant)>, ShieldLinkError> {
        loop {
            match self.recv_deadline(deadline)? {
                Some(ShieldEvent::Samples { block, received_at }) => {
                    return Ok(Some((block, received_at)));
                }
                Some(_) => {}
                None => return Ok(None),
            }
        }
    }

    /// The heartbeat period in use.
    pub fn heartbeat_interval(&self) -> Duration {
        self.interval
    }

    pub fn stats(&self) -> LinkStats {
        self.core.shared.lock().stats
    }

    /// Stops heartbeats and streaming; the stats at the end.
    pub fn stop(mut self) -> Result<LinkStats, ShieldLinkError> {
        self.finish()?;
        Ok(self.stats())
    }

    fn finish(&mut self) -> Result<(), ShieldLinkError> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        if let Some((stop, thread)) = self.heartbeat.take() {
            drop(stop);
            let _ = thread.join();
        }
        let result = self.core.command(Command::Stop);
        // Blocks still on their way after the Ack count as outside a stream.
        self.core.shared.lock().consumer = None;
        result
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            tracing::warn!("stopping the stream: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_gaps_count_lost_blocks() {
        let mut seq = SeqTracker::new();
        assert_eq!(seq.observe(10), SeqStep::First);
        assert_eq!(seq.observe(11), SeqStep::Next);
        assert_eq!(seq.observe(14), SeqStep::Lost(2));
        assert_eq!(seq.observe(15), SeqStep::Next);
    }

    #[test]
    fn seq_wraps_at_u32() {
        let mut seq = SeqTracker::new();
        seq.observe(u32::MAX - 1);
        assert_eq!(seq.observe(u32::MAX), SeqStep::Next);
        assert_eq!(seq.observe(0), SeqStep::Next);
        seq.observe(u32::MAX - 1);
        assert_eq!(seq.observe(1), SeqStep::Lost(2));
    }

    #[test]
    fn seq_going_back_is_a_restart_not_a_huge_gap() {
        let mut seq = SeqTracker::new();
        seq.observe(1000);
        assert_eq!(seq.observe(3), SeqStep::Restart);
        assert_eq!(seq.observe(4), SeqStep::Next);
        assert_eq!(seq.observe(4), SeqStep::Restart, "a duplicate");
        seq.reset();
        assert_eq!(seq.observe(77), SeqStep::First);
    }

    #[test]
    fn heartbeat_defaults_to_a_third_of_the_watchdog() {
        let mut config = Config {
            sample_rate_hz: 1000,
            channels: Default::default(),
            layout: shield_protocol::Layout::Interleaved,
            watchdog_ms: 0,
        };
        assert_eq!(default_heartbeat(&config), Duration::from_millis(1000));
        config.watchdog_ms = 600;
        assert_eq!(default_heartbeat(&config), Duration::from_millis(200));
    }

    #[test]
    fn errors_read_well() {
        let mismatch = ShieldLinkError::VersionMismatch {
            label: "radio shield (/dev/ttyACM0)".into(),
            shield: ProtocolVersion { major: 2, minor: 0 },
            host: ProtocolVersion { major: 1, minor: 0 },
        };
        assert_eq!(
            mismatch.to_string(),
            "radio shield (/dev/ttyACM0): shield speaks protocol 2.0, this benchctl speaks 1.0: \
             update the firmware or benchctl"
        );
        let timeout = ShieldLinkError::Timeout {
            label: "radio shield (/dev/ttyACM0)".into(),
            command: "Start",
            attempts: 3,
            per_try: Duration::from_millis(300),
        };
        assert!(
            timeout
                .to_string()
                .contains("no reply to Start after 3 tries of 300ms each"),
            "{timeout}"
        );
    }
}
