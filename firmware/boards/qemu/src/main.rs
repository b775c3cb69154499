//! The radio shield on QEMU's `lm3s6965evb` (TI/Luminary LM3S6965, Cortex-M3).
//!
//! - UART0 (QEMU `-serial` #0): the host link, the same framed protocol as the
//!   real shield's USB CDC port.
//! - UART1 (QEMU `-serial` #1): `Stimulus` frames (same COBS framing) that set
//!   what the synthetic antenna hears.
//! - SysTick: the µs clock and a 1 ms wake-up (see `clock`).
//!
//! The main loop polls; between events it sleeps in WFI until the next
//! SysTick (≤ 1 ms), so QEMU does not spin a host core at 100 %.
//!
//! UART1 is not only an input: every `Stimulus` applied is echoed back on
//! UART1, re-encoded, after it took effect, so the plant side (the test
//! harness) knows when the antenna hears it instead of sleeping and hoping.
//!
//! How QEMU's pty backend treats these UARTs (what the host must expect) is
//! written down, with measurements, in tests/src/qemu.rs.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

mod clock;
mod mmio;

use core::fmt::Write as _;
use core::panic::PanicInfo;

use cortex_m_rt::entry;
use heapless::String;
use shield_core::synthetic::{SyntheticFrontEnd, default_detectors};
use shield_core::{Identity, Limits, Shield};
use shield_protocol::{Decoder, FromShield, LogLevel, LogLine, MAX_FRAME, Stimulus, encode};

use crate::clock::Clock;
use crate::mmio::Uart;

/// sample rate × channels this board accepts. QEMU's PL011 has no line rate
/// (a DR write goes straight to the pty, see `mmio`), so the limit is how fast
/// the emulated M3 makes blocks and the host drains the pty. 20 000 values/s
/// is at most ~100 KB/s on the wire (≤ 5 bytes per varint value), which a pty
/// carries easily, and leaves the TCG-emulated 12.5 MHz-nominal core (it runs
/// as fast as the host lets it) most of its time idle. It is *not* what a
/// 115200-baud UART could carry (~11.5 KB/s): this board has no baud rate.
const MAX_SAMPLES_PER_S: u32 = 20_000;

/// Bytes taken from a UART per `on_rx`/`feed` call: more than the 16-entry
/// FIFO, so one call normally empties it.
const RX_CHUNK: usize = 32;

/// While sending a frame, look at the RX FIFOs every this many bytes even if
/// TX never blocks (in QEMU it never does), so a long frame cannot starve RX.
const RX_CHECK_EVERY: usize = 16;

struct Board {
    shield: &'static mut Shield<SyntheticFrontEnd>,
    host: Uart,
    stimulus: Uart,
    stimulus_decoder: Decoder,
    clock: Clock,
}

/// Move what a UART has received into `buf`, up to its size; the count.
fn read_available(uart: &mut Uart, buf: &mut [u8]) -> usize {
    let mut n = 0;
    for slot in buf.iter_mut() {
        match uart.try_read() {
            Some(b) => {
                *slot = b;
                n += 1;
            }
            None => break,
        }
    }
    n
}

impl Board {
    /// Drain both RX FIFOs into the engine. Returns whether anything came in.
    fn service_rx(&mut self) -> bool {
        let mut any = false;
        let mut buf = [0u8; RX_CHUNK];
        loop {
            let n = read_available(&mut self.host, &mut buf);
            if n == 0 {
                break;
            }
            any = true;
            self.shield.on_rx(&buf[..n], self.clock.now_us());
        }
        loop {
            let n = read_available(&mut self.stimulus, &mut buf);
            if n == 0 {
                break;
            }
            any = true;
            let shield = &mut self.shield;
            let port = &mut self.stimulus;
            let mut echo = [0u8; MAX_FRAME];
            self.stimulus_decoder.feed(&buf[..n], |stimulus: Stimulus| {
                shield.front_end().apply(&stimulus);
                // The acknowledgement. A Stimulus is a few bytes, far below
                // MAX_MESSAGE, so encoding cannot fail; if it ever did, the
                // plant would time out waiting for the echo and say so.
                if let Ok(len) = encode(&stimulus, &mut echo) {
                    for &byte in echo.get(..len).unwrap_or(&[]) {
                        // UART1 carries a few bytes per stimulus: spin on
                        // TXFF without serving RX (never full in QEMU).
                        while !port.try_write(byte) {}
                    }
                }
            });
        }
        any
    }

    /// Send one frame on UART0. When the TX FIFO is full, serve RX while
    /// waiting, so the 16-byte RX FIFO cannot overflow behind a long frame.
    fn send(&mut self, frame: &[u8]) {
        for (i, &byte) in frame.iter().enumerate() {
            if i % RX_CHECK_EVERY == 0 && (self.host.rx_ready() || self.stimulus.rx_ready()) {
                self.service_rx();
            }
            while !self.host.try_write(byte) {
                self.service_rx();
            }
        }
    }
}

#[entry]
fn main() -> ! {
    let core = cortex_m::Peripherals::take()
        .expect("first and only call: nothing took the core peripherals before main");
    let (host, stimulus) = mmio::take().expect("first and only call of mmio::take");
    let clock = Clock::start(core.SYST);

    let identity = Identity {
        firmware: env!("CARGO_PKG_VERSION"),
        board: "qemu-lm3s6965",
        serial: String::try_from("QEMU-0001").expect("9 bytes fit in String<24>"),
    };
    let shield = make_shield(identity);
    let mut board = Board {
        shield,
        host,
        stimulus,
        stimulus_decoder: Decoder::new(),
        clock,
    };

    let mut frame = [0u8; MAX_FRAME];
    loop {
        let received = board.service_rx();
        board.shield.poll(board.clock.now_us());
        let mut sent = false;
        while let Some(n) = board.shield.next_frame(&mut frame) {
            // `n` is at most MAX_FRAME by contract; `get` keeps a bad length
            // from panicking the data path.
            if let Some(bytes) = frame.get(..n) {
                board.send(bytes);
            }
            sent = true;
        }
        if received || sent {
            continue;
        }
        let due = board
            .shield
            .next_deadline()
            .is_some_and(|d| d <= board.clock.now_us());
        if !due && !board.host.rx_ready() && !board.stimulus.rx_ready() {
            // Sleep until the next interrupt: the 1 ms SysTick at the latest.
            // A byte arriving between the check and WFI waits ≤ 1 ms (QEMU
            // holds it in the pty meanwhile, see `mmio`).
            cortex_m::asm::wfi();
        }
    }
}

/// The engine, in a static: a `Shield` is ~20 KB (16 sample blocks of up to
/// 180 values, `shield_core::TX_BLOCKS`), and kept in `main`'s frame, with the
/// copies the compiler makes while moving it, it pushed the stack past the
/// 64 KiB of RAM (QEMU logged "Invalid write at addr 0x1FFFFCF8": the stack
/// ran below 0x2000_0000). In a static it is counted in .bss by size.sh, and
/// this function's frame, which may hold one temporary copy, is gone before
/// the main loop runs.
#[inline(never)]
fn make_shield(identity: Identity) -> &'static mut Shield<SyntheticFrontEnd> {
    let front_end = SyntheticFrontEnd::new(&default_detectors());
    cortex_m::singleton!(: Shield<SyntheticFrontEnd> = Shield::new(
        front_end,
        identity,
        Limits {
            max_samples_per_s: MAX_SAMPLES_PER_S,
        },
    ))
    .expect("make_shield runs once, from main")
}

/// Truncating writer: a long panic message is cut, not lost.
struct Truncate<'a>(&'a mut String<96>);

impl core::fmt::Write for Truncate<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Tell the host why we stopped, as a framed `Log` at `Error` level on the
/// host link, then halt. The leading 0x00 ends whatever frame the main loop
/// was in the middle of, so the host's decoder resynchronises before ours.
#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    let mut text = String::<96>::new();
    let _ = write!(Truncate(&mut text), "panic: {}", info);
    let mut frame = [0u8; MAX_FRAME];
    let message = FromShield::Log(LogLine {
        level: LogLevel::Error,
        text,
    });
    mmio::panic_write_uart0(&[0]);
    if let Ok(n) = encode(&message, &mut frame) {
        mmio::panic_write_uart0(frame.get(..n).unwrap_or(&[]));
    }
    loop {
        // Interrupts are off: nothing runs again. WFI keeps QEMU's host CPU idle.
        cortex_m::asm::wfi();
    }
}
