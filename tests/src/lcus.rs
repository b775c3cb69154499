//! An LCUS-1/2/4/8 USB relay module (CH340 USB-serial chip + a small MCU
//! driving the relays), emulated on a pseudo-terminal.
//!
//! The protocol, from the seller's sheet that ships with every variant (seen
//! e.g. at https://www.optimusdigital.ro/en/relay-modules/12595-usb-5v-10a-relay-module.html
//! and https://tilga.com/prod/5732195), 9600 8N1:
//! - the host sends 4-byte frames `A0 <channel> <state> <checksum>`, channel
//!   counted from 1, state 0x01 closes the relay (on) and 0x00 opens it (off),
//!   checksum = low byte of 0xA0 + channel + state (`A0 01 01 A2` = channel 1
//!   on, `A0 01 00 A1` = channel 1 off);
//! - the module never acknowledges a frame;
//! - what it does not understand, it ignores.
//!
//! How this emulator ignores things: anything that does not start with 0xA0 is
//! dropped byte by byte; a 4-byte window starting with 0xA0 that is not a valid
//! frame (bad checksum, channel outside 1..=channels, state other than 0/1) is
//! counted in [`LcusEmulator::rejected`] and skipped by one byte only, so that
//! a valid frame right behind a truncated one is still found.
//!
//! Not modelled: the 0xFF status query that some firmware answers (the boards
//! disagree on the answer, and benchctl does not use it), the baud rate (a pty
//! has none) and the DTR/RTS lines.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

/// First byte of every frame.
const START: u8 = 0xA0;

/// How long the reader blocks on the pty before looking at the stop flag.
/// Only matters if the wake-up byte written on drop got lost; normally drop
/// wakes the reader at once.
const READ_POLL: Duration = Duration::from_millis(100);

/// An LCUS relay module on a pty. Open [`path`](Self::path) as a serial port,
/// as benchctl opens `/dev/ttyUSB0`.
///
/// To check that something did *not* reach the module (a refused request, a
/// health check that must not switch), send a valid frame after it and wait
/// for that one: frames are handled in order, so once it has arrived anything
/// sent before it has too.
#[derive(Debug)]
pub struct LcusEmulator {
    path: PathBuf,
    channels: u8,
    shared: Arc<Shared>,
    /// Our own handle on the host side of the pty. Holding it keeps the pty
    /// alive while no host has it open (without it, reading the master side
    /// fails with EIO between two host sessions), and writing to it wakes the
    /// reader on drop.
    host_side: TTYPort,
    reader: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    module: Mutex<Module>,
    /// Signalled whenever bytes have been handled.
    progress: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Module> {
        // A panic while holding the lock cannot leave `Module` half-updated in
        // a way that matters to a test; keep serving.
        self.module.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LcusEmulator {
    /// A module with `channels` relays (1, 2, 4 or 8 on real boards), all open,
    /// as when freshly plugged in.
    pub fn start(channels: u8) -> io::Result<LcusEmulator> {
        if channels == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an LCUS module has at least one channel",
            ));
        }
        let (mut module_side, host_side) = TTYPort::pair().map_err(io::Error::from)?;
        let path = host_side
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the pty has no device path"))?;
        module_side
            .set_timeout(READ_POLL)
            .map_err(io::Error::from)?;
        let shared = Arc::new(Shared {
            module: Mutex::new(Module::new(channels)),
            progress: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let reader = thread::Builder::new()
            .name(format!("lcus-emulator {}", path.display()))
            .spawn({
                let shared = shared.clone();
                move || serve(module_side, &shared)
            })?;
        Ok(LcusEmulator {
            path,
            channels,
            shared,
            host_side,
            reader: Some(reader),
        })
    }

    /// The tty to open from the host, like `/dev/ttyUSB0` on the bench.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    pub fn channels(&self) -> u8 {
        self.channels
    }

    /// The relays as the module holds them; `relays()[0]` is channel 1,
    /// `true` is closed (on).
    pub fn relays(&self) -> Vec<bool> {
        self.shared.lock().relays.clone()
    }

    /// Every byte received so far, garbage included, in order.
    pub fn received(&self) -> Vec<u8> {
        self.shared.lock().received.clone()
    }

    /// Valid frames received and acted on (a frame that sets a relay to the
    /// state it already has counts too).
    pub fn frames(&self) -> usize {
        self.shared.lock().frames
    }

    /// Frames starting with 0xA0 that a real module would ignore: bad
    /// checksum, channel outside the board, state byte other than 0/1, or cut
    /// short by the next frame.
    pub fn rejected(&self) -> usize {
        self.shared.lock().rejected
    }

    /// Waits until at least `n` valid frames have been acted on in total.
    /// Returns false on timeout.
    pub fn wait_for_frames(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |m| m.frames >= n)
    }

    /// Waits until at least `n` bytes have been received in total, valid or
    /// not. Returns false on timeout.
    pub fn wait_for_bytes(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |m| m.received.len() >= n)
    }

    fn wait_until(&self, timeout: Duration, done: impl Fn(&Module) -> bool) -> bool {
        let guard = self.shared.lock();
        let (guard, _) = self
            .shared
            .progress
            .wait_timeout_while(guard, timeout, |m| !done(m) && !m.dead)
            .unwrap_or_else(PoisonError::into_inner);
        done(&guard)
    }
}

impl Drop for LcusEmulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // A byte written on the host side comes out of the module side: it
        // wakes the reader now instead of at its next poll. If it fails, the
        // reader still stops within READ_POLL.
        let _ = self.host_side.write_all(&[0]);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// The reader thread: the module's MCU.
fn serve(mut pty: TTYPort, shared: &Shared) {
    let mut buf = [0u8; 256];
    while !shared.stop.load(Ordering::Acquire) {
        match pty.read(&mut buf) {
            Ok(0) => {
                give_up(shared, "the pty was closed");
                return;
            }
            Ok(n) => {
                if shared.stop.load(Ordering::Acquire) {
                    // The wake-up byte from drop, not host traffic.
                    return;
                }
                shared.lock().feed(&buf[..n]);
                shared.progress.notify_all();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                give_up(shared, &format!("reading the pty failed: {e}"));
                return;
            }
        }
    }
}

/// Stops serving and releases anyone waiting, rather than letting tests sit
/// out their whole timeout.
fn give_up(shared: &Shared, why: &str) {
    eprintln!("LCUS emulator stopped: {why}");
    shared.lock().dead = true;
    shared.progress.notify_all();
}

/// The module's state and its frame decoder, apart from any I/O.
#[derive(Debug)]
struct Module {
    relays: Vec<bool>,
    received: Vec<u8>,
    /// Received bytes not yet decoded: the start of a frame still arriving.
    pending: Vec<u8>,
    frames: usize,
    rejected: usize,
    /// The reader thread stopped on an error.
    dead: bool,
}

impl Module {
    fn new(channels: u8) -> Module {
        Module {
            relays: vec![false; usize::from(channels)],
            received: Vec::new(),
            pending: Vec::new(),
            frames: 0,
            rejected: 0,
            dead: false,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.received.extend_from_slice(bytes);
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(&first) = self.pending.get(at) {
            if first != START {
                at += 1;
                continue;
            }
            let Some(window) = self
                .pending
                .get(at..at + 4)
                .and_then(|w| <[u8; 4]>::try_from(w).ok())
            else {
                // The rest of this frame has not arrived yet.
                break;
            };
            match self.decode(window) {
                Some((index, on)) => {
                    self.relays[index] = on;
                    self.frames += 1;
                    at += 4;
                }
                None => {
                    self.rejected += 1;
                    at += 1;
                }
            }
        }
        self.pending.drain(..at);
    }

    /// The relay index and state a frame asks for, if the module would obey it.
    fn decode(&self, [start, channel, state, checksum]: [u8; 4]) -> Option<(usize, bool)> {
        let sum = start.wrapping_add(channel).wrapping_add(state);
        if start != START || checksum != sum {
            return None;
        }
        let on = match state {
            0x00 => false,
            0x01 => true,
            _ => return None,
        };
        let index = usize::from(channel).checked_sub(1)?;
        (index < self.relays.len()).then_some((index, on))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    /// Opens the emulator the way a host program opens a real module.
    fn host(emu: &LcusEmulator) -> Box<dyn SerialPort> {
        serialport::new(emu.path().to_string_lossy(), 9600)
            .timeout(Duration::from_secs(1))
            .open()
            .expect("open the emulator's pty")
    }

    fn send(port: &mut Box<dyn SerialPort>, bytes: &[u8]) {
        port.write_all(bytes).expect("write to the pty");
        port.flush().expect("flush the pty");
    }

    #[test]
    fn decoder_follows_the_sheet_examples() {
        let mut m = Module::new(4);
        m.feed(&[0xA0, 0x01, 0x01, 0xA2]);
        assert_eq!(m.relays, [true, false, false, false]);
        m.feed(&[0xA0, 0x04, 0x01, 0xA5]);
        assert_eq!(m.relays, [true, false, false, true]);
        m.feed(&[0xA0, 0x01, 0x00, 0xA1]);
        assert_eq!(m.relays, [false, false, false, true]);
        assert_eq!((m.frames, m.rejected), (3, 0));
        assert!(m.pending.is_empty());
    }

    #[test]
    fn decoder_waits_for_a_frame_cut_across_reads() {
        let mut m = Module::new(2);
        m.feed(&[0xA0]);
        m.feed(&[0x02, 0x01]);
        assert_eq!(m.frames, 0);
        m.feed(&[0xA3]);
        assert_eq!(m.relays, [false, true]);
        assert_eq!((m.frames, m.rejected), (1, 0));
    }

    #[test]
    fn decoder_skips_garbage_without_counting_it() {
        let mut m = Module::new(4);
        m.feed(&[0x00, 0xFF, 0x13, 0x0A, 0xA0, 0x02, 0x01, 0xA3, 0x55]);
        assert_eq!(m.relays, [false, true, false, false]);
        assert_eq!((m.frames, m.rejected), (1, 0));
        assert!(m.pending.is_empty());
    }

    #[test]
    fn decoder_rejects_what_a_module_ignores() {
        let mut m = Module::new(4);
        // Bad checksum, channel 5 on a 4-channel board, channel 0, state 2.
        m.feed(&[0xA0, 0x01, 0x01, 0xA3]);
        m.feed(&[0xA0, 0x05, 0x01, 0xA6]);
        m.feed(&[0xA0, 0x00, 0x01, 0xA1]);
        m.feed(&[0xA0, 0x01, 0x02, 0xA3]);
        assert_eq!(m.relays, [false; 4]);
        assert_eq!((m.frames, m.rejected), (0, 4));
        assert!(m.pending.is_empty());
    }

    #[test]
    fn decoder_finds_a_frame_behind_a_truncated_one() {
        let mut m = Module::new(4);
        // `A0 01` cut short, then a whole frame for channel 3: the window
        // `A0 01 A0 03` fails, the decoder moves one byte and finds channel 3.
        m.feed(&[0xA0, 0x01, 0xA0, 0x03, 0x01, 0xA4]);
        assert_eq!(m.relays, [false, false, true, false]);
        assert_eq!((m.frames, m.rejected), (1, 1));
        // A doubled start byte.
        m.feed(&[0xA0, 0xA0, 0x01, 0x01, 0xA2]);
        assert_eq!(m.relays, [true, false, true, false]);
        assert_eq!((m.frames, m.rejected), (2, 2));
    }

    #[test]
    fn frames_through_the_pty_switch_relays() {
        let emu = LcusEmulator::start(4).expect("start the emulator");
        assert_eq!(emu.relays(), [false; 4]);
        let mut port = host(&emu);
        send(&mut port, &[0xA0, 0x01, 0x01, 0xA2, 0xA0, 0x03, 0x01, 0xA4]);
        assert!(emu.wait_for_frames(2, WAIT));
        assert_eq!(emu.relays(), [true, false, true, false]);
        send(&mut port, &[0xA0, 0x01, 0x00, 0xA1]);
        assert!(emu.wait_for_frames(3, WAIT));
        assert_eq!(emu.relays(), [false, false, true, false]);
        assert_eq!(
            emu.received(),
            [
                0xA0, 0x01, 0x01, 0xA2, 0xA0, 0x03, 0x01, 0xA4, 0xA0, 0x01, 0x00, 0xA1
            ]
        );
        assert_eq!(emu.rejected(), 0);
    }

    #[test]
    fn garbage_and_bad_frames_through_the_pty_are_ignored() {
        let emu = LcusEmulator::start(2).expect("start the emulator");
        let mut port = host(&emu);
        let noise = [0x0D, 0x0A, 0xFF];
        let bad_checksum = [0xA0, 0x01, 0x01, 0xA1];
        let no_such_channel = [0xA0, 0x03, 0x01, 0xA4];
        let barrier = [0xA0, 0x02, 0x01, 0xA3];
        for part in [&noise[..], &bad_checksum, &no_such_channel, &barrier] {
            send(&mut port, part);
        }
        assert!(emu.wait_for_frames(1, WAIT));
        assert_eq!(emu.relays(), [false, true]);
        assert_eq!(emu.rejected(), 2);
        assert_eq!(emu.received().len(), 15);
    }

    #[test]
    fn the_module_stays_up_between_host_sessions() {
        let emu = LcusEmulator::start(1).expect("start the emulator");
        send(&mut host(&emu), &[0xA0, 0x01, 0x01, 0xA2]);
        assert!(emu.wait_for_frames(1, WAIT));
        // The first host has closed the port; a second one reaches the same module.
        send(&mut host(&emu), &[0xA0, 0x01, 0x00, 0xA1]);
        assert!(emu.wait_for_frames(2, WAIT));
        assert_eq!(emu.relays(), [false]);
    }

    #[test]
    fn waiting_for_what_never_comes_times_out() {
        let emu = LcusEmulator::start(1).expect("start the emulator");
        assert!(!emu.wait_for_frames(1, Duration::from_millis(20)));
        assert!(!emu.wait_for_bytes(1, Duration::from_millis(20)));
    }

    #[test]
    fn drop_stops_the_module_while_a_host_holds_the_port() {
        let emu = LcusEmulator::start(8).expect("start the emulator");
        let port = host(&emu);
        drop(emu);
        drop(port);
    }

    #[test]
    fn a_module_without_channels_is_refused() {
        let err = LcusEmulator::start(0).expect_err("0 channels");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
