//! The shield's firmware logic, free of any I/O: bytes from the host go in
//! (`on_rx`), frames for the host come out (`next_frame`), and `poll` does
//! whatever is due at the time the board's clock says. The board supplies the
//! detectors (`FrontEnd`), the clock and the serial port; this is the same
//! code on the RP2040, on QEMU and in the simulated shield on the host.
//!
//! CONTRACT (the boards and the host's simulated shield are written against
//! these signatures; keep them).

use heapless::String;
use shield_protocol::{ChannelConfig, DetectorInfo, MAX_FRAME, SelfTestReport, ShieldError};

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

/// The shield.
pub struct Shield<F: FrontEnd> {
    front_end: F,
    identity: Identity,
    limits: Limits,
    // ... state: config, streaming, schedule, current block, ring buffer of
    // blocks (capacity TX_BLOCKS), reply queue, watchdog, counters.
}

impl<F: FrontEnd> Shield<F> {
    pub fn new(front_end: F, identity: Identity, limits: Limits) -> Self {
        Shield {
            front_end,
            identity,
            limits,
        }
    }

    /// Bytes received from the host, any chunking. Requests are decoded,
    /// answered (replies queued for `next_frame`) and acted upon.
    pub fn on_rx(&mut self, bytes: &[u8], now_us: u64) {
        let _ = (bytes, now_us, &self.identity, self.limits);
        unimplemented!("engine being written")
    }

    /// Do what is due at `now_us` (µs since boot, monotonic): take samples,
    /// close full blocks, send a status now and then, stop on a silent host.
    pub fn poll(&mut self, now_us: u64) {
        let _ = now_us;
        unimplemented!("engine being written")
    }

    /// The next frame for the host (replies and logs first, then status, then
    /// samples), encoded into `out`; returns its length, or `None` if idle.
    pub fn next_frame(&mut self, out: &mut [u8; MAX_FRAME]) -> Option<usize> {
        let _ = out;
        unimplemented!("engine being written")
    }

    /// When `poll` has something to do next (µs), or `None` when idle: lets a
    /// board sleep, and the simulated shield wait on a clock.
    pub fn next_deadline(&self) -> Option<u64> {
        unimplemented!("engine being written")
    }

    pub fn is_streaming(&self) -> bool {
        unimplemented!("engine being written")
    }

    /// The board's detectors, e.g. for the simulated shield to set the levels
    /// its synthetic antenna hears.
    pub fn front_end(&mut self) -> &mut F {
        &mut self.front_end
    }
}
