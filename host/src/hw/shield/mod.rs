//! The radio shield: a microcontroller board streaming RF power and supply
//! current samples to the host over a serial port (USB CDC `/dev/ttyACM0`
//! on the real board, a pty for the simulated shield and the QEMU board).
//! The wire format is `shield-protocol`'s; this is the host's end of it.
//!
//! Using it (the CLI and the recorder):
//!
//! ```text
//! let link = ShieldLink::open(&spec)?;        // HwError with a fix, like other backends
//! let hello = link.hello()?;                  // first, always: refuses another major version
//! let info = link.info()?;
//! let stream = link.start(&config)?;          // Stop, Configure, Start; heartbeats begin
//! let clock = RunClock::start();
//! let mut sync = ClockEstimator::default();
//! while let Some((block, at)) = stream.next_block(deadline)? {
//!     sync.add_block(&block, clock.seconds(at));
//!     // ... sync.estimate() maps block.t_us to run seconds
//! }
//! let stats = stream.stop()?;                 // or drop it: Stop is sent either way
//! ```
//!
//! Design:
//!
//! - **One reader thread** owns the receiving half of the port. It blocks
//!   in reads with a short timeout ([`link::READ_POLL`], only to notice the
//!   link closing), decodes frames and dispatches: a reply goes to the
//!   request waiting for its id, blocks, status and log lines to the
//!   running stream's bounded queue. Log lines also go to `tracing` at
//!   their level, prefixed with the shield's label.
//! - **The reader never blocks on anyone.** It hands events over with
//!   `try_send`: a consumer that falls behind costs blocks, counted in
//!   [`LinkStats::blocks_dropped_host`], never a late reply or an
//!   overflowing serial buffer (which would lose data on the shield side
//!   instead, uncounted by us).
//! - **Loss accounting is exact.** Every block carries `seq`; in a stream a
//!   gap of k is k lost blocks (wrapping at u32). The decoder counts what it
//!   threw away and the shield reports what it could not send; the stats
//!   keep all of it apart, so one corrupted byte shows up as one bad frame
//!   and one lost block, and a slow consumer as host drops, not loss.
//! - **Requests are retried with the same id.** Start, Stop, Heartbeat and
//!   Configure are idempotent on the shield, so resending after a timeout is
//!   safe, and a late reply to the first copy finds no one waiting and is
//!   only counted.
//! - **Stale data at open.** A shield may still stream for a host that died.
//!   Open clears what the kernel queued and lets COBS resynchronise on the
//!   next frame delimiter (at most one partial frame, counted as bad); Hello
//!   goes first as the protocol asks, and `start` sends Stop before
//!   Configure, which a streaming shield would refuse. Blocks that come in
//!   with no stream running are counted and dropped.
//! - **Heartbeats** go out from a thread of the stream every
//!   [`LinkOptions::heartbeat`], by default a third of the configured
//!   watchdog (1 s for the default 3 s), so two can be lost before the
//!   shield stops. If benchctl dies the heartbeats stop and the shield's
//!   watchdog ends the stream by itself.
//! - **Clock.** [`clock`] maps the shield's µs timestamps to the run clock
//!   by following the lower envelope of (host receive time - shield time).

pub mod clock;
pub mod link;

pub use clock::{ClockConfig, ClockEstimator, ClockFit, RunClock, block_sent_at};
pub use link::{
    LinkOptions, LinkStats, SeqStep, SeqTracker, ShieldEvent, ShieldLink, ShieldLinkError, Stream,
    command_name, default_heartbeat,
};
