//! Every memory-mapped register access of this board: the two PL011 UARTs and
//! one system-control register. Nothing else in the crate uses `unsafe`
//! (SysTick and the NVIC go through the `cortex-m` crate's safe API).
//!
//! What QEMU 7.2's models need (read in qemu/qemu, hw/char/pl011.c and
//! hw/arm/stellaris.c, "Luminary Micro Stellaris peripherals"):
//!
//! - Clock gating: stellaris.c's system controller (`ssys_write`, offset
//!   0x104 RCGC1) only *stores* the RCGCn values; no peripheral looks at them.
//!   The UARTs work in QEMU without it. Real LM3S6965 silicon needs RCGC1 bit 0
//!   (UART0) and bit 1 (UART1) set before the UART registers respond
//!   (LM3S6965 datasheet, "Run Mode Clock Gating Control Register 1"), so we
//!   set them anyway: it costs nothing in QEMU.
//! - UARTCTL (offset 0x030): pl011.c's `pl011_write` stores it with the
//!   comment "??? Need to implement the enable bit", and the DR write path says
//!   "??? Check if transmitter is enabled". So UARTEN/TXE/RXE are ignored in
//!   QEMU; we still set UARTEN|TXE|RXE as real hardware requires.
//! - FIFOs: `pl011_get_fifo_depth` is 1 unless LCRH.FEN (bit 4) is set, and
//!   `pl011_reset` clears LCRH. We leave FEN *off*, on purpose: turning it on
//!   empties the RX FIFO (`pl011_write`, LCRH: "Reset the FIFO state on FIFO
//!   enable or disable"), and QEMU starts feeding the UART from the pty before
//!   the guest's first instruction when the host opened the pty early. We saw
//!   it: a Hello written right at boot arrived one byte short (the engine
//!   logged "discarded 1 bad frames"), even when `init` drained the FIFO just
//!   before setting FEN, because every DR read makes QEMU fetch the next byte
//!   at once (`qemu_chr_fe_accept_input`) and it lands before the LCRH write.
//!   With a 1-byte "FIFO" nothing is lost either (next point); QEMU just hands
//!   over one byte per main-loop turn. On silicon one would set FEN first
//!   thing after reset, before any byte can arrive; this crate is QEMU-only.
//! - RX overflow cannot happen in QEMU: `pl011_can_receive` tells the chardev
//!   layer how much room the FIFO has, and the pty backend reads from the host
//!   only that much (`pty_chr_read_poll` in chardev/char-pty.c); the rest waits
//!   in the kernel's pty buffer. On real silicon at 115200 baud a 16-byte FIFO
//!   fills in 1.4 ms (one byte without FEN: 87 µs); the main loop reads at
//!   least every 1 ms (SysTick wake-up), so silicon would want FEN and the RX
//!   interrupt; in QEMU the backpressure makes that moot.
//!   How fast QEMU starts reading a freshly opened pty is another matter: see
//!   the harness (tests/src/qemu.rs): up to 1 s.
//! - TX: a DR write goes straight to `qemu_chr_fe_write_all` ("XXX this blocks
//!   entire thread"): the guest CPU stalls until the host pty took the byte,
//!   and FR.TXFF is never set (nothing in pl011.c sets PL011_FLAG_TXFF). We
//!   still honour TXFF, as on silicon.
//! - Baud rate: QEMU only uses IBRD/FBRD for a trace event
//!   (`pl011_get_baudrate`); there is no line timing. We program 115200 8N1 for
//!   a 12.5 MHz UART clock (see `crate::clock` for why 12.5 MHz):
//!   BRD = 12.5e6 / (16 × 115200) = 6.7817 -> IBRD 6, FBRD round(0.7817 × 64) = 50
//!   (PL011 TRM, "Fractional baud rate divider").

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, Ordering};

/// UART0: the host link (QEMU `-serial` #0).
const UART0_BASE: usize = 0x4000_C000;
/// UART1: the stimulus port (QEMU `-serial` #1).
const UART1_BASE: usize = 0x4000_D000;
/// System control: Run Mode Clock Gating Control Register 1 (LM3S6965 datasheet).
const SYSCTL_RCGC1: usize = 0x400F_E104;
const RCGC1_UART0: u32 = 1 << 0;
const RCGC1_UART1: u32 = 1 << 1;

// PL011 register offsets (ARM PrimeCell UART (PL011) TRM, "Summary of registers").
const DR: usize = 0x000;
const RSR_ECR: usize = 0x004;
const FR: usize = 0x018;
const IBRD: usize = 0x024;
const FBRD: usize = 0x028;
const LCRH: usize = 0x02C;
const CTL: usize = 0x030;
const IMSC: usize = 0x038;

const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
/// DR bits 8..=10: framing, parity, break error on this byte (PL011 TRM,
/// "Data Register"). Bit 11 (overrun) says an *earlier* byte was lost; the
/// byte itself is good.
const DR_BYTE_ERRORS: u32 = 0b111 << 8;
const LCRH_WLEN_8: u32 = 0b11 << 5;
const CTL_UARTEN: u32 = 1 << 0;
const CTL_TXE: u32 = 1 << 8;
const CTL_RXE: u32 = 1 << 9;

static TAKEN: AtomicBool = AtomicBool::new(false);

/// One PL011 UART. Only `take` makes them, once, so no two owners write the
/// same UART.
#[derive(Debug)]
pub struct Uart {
    base: usize,
    /// Bytes dropped because the UART flagged them (framing/parity/break).
    pub errors: u32,
}

/// UART0 and UART1, clocked and configured; `None` on a second call.
pub fn take() -> Option<(Uart, Uart)> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: SYSCTL_RCGC1 is a 32-bit read/write register of the LM3S6965
    // system control block (datasheet register map; QEMU: ssys_read/ssys_write
    // offset 0x104). Single core, and only this function (guarded by TAKEN)
    // touches it, so the read-modify-write cannot race.
    unsafe {
        let rcgc1 = SYSCTL_RCGC1 as *mut u32;
        write_volatile(rcgc1, read_volatile(rcgc1) | RCGC1_UART0 | RCGC1_UART1);
    }
    let mut uart0 = Uart {
        base: UART0_BASE,
        errors: 0,
    };
    let mut uart1 = Uart {
        base: UART1_BASE,
        errors: 0,
    };
    uart0.init();
    uart1.init();
    Some((uart0, uart1))
}

impl Uart {
    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base` is UART0_BASE or UART1_BASE (only `take` builds a
        // Uart), `offset` is one of the PL011 register offsets above, all
        // word-aligned 32-bit registers inside the 4 KiB block the SoC maps
        // there. Reading DR pops the RX FIFO, which is what the callers want.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read`; `&mut self` makes this owner the only writer.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// 115200 8N1, FIFOs off (see the module docs), interrupts masked (the
    /// main loop polls).
    fn init(&mut self) {
        self.write(CTL, 0);
        self.write(IBRD, 6);
        self.write(FBRD, 50);
        // LCRH after the divisors: the PL011 latches IBRD/FBRD on an LCRH write.
        self.write(LCRH, LCRH_WLEN_8);
        self.write(IMSC, 0);
        self.write(RSR_ECR, 0);
        self.write(CTL, CTL_UARTEN | CTL_TXE | CTL_RXE);
    }

    /// One received byte, if any. Bytes the UART marks as damaged are dropped
    /// (the frame's CRC would reject them anyway) and counted.
    pub fn try_read(&mut self) -> Option<u8> {
        loop {
            if self.read(FR) & FR_RXFE != 0 {
                return None;
            }
            let dr = self.read(DR);
            if dr & DR_BYTE_ERRORS != 0 {
                self.errors = self.errors.wrapping_add(1);
                self.write(RSR_ECR, 0);
                continue;
            }
            return Some((dr & 0xFF) as u8);
        }
    }

    /// Whether a byte is waiting.
    pub fn rx_ready(&self) -> bool {
        self.read(FR) & FR_RXFE == 0
    }

    /// Send one byte if the TX FIFO has room; `false` if it is full.
    pub fn try_write(&mut self, byte: u8) -> bool {
        if self.read(FR) & FR_TXFF != 0 {
            return false;
        }
        self.write(DR, u32::from(byte));
        true
    }
}

/// Last words: write `bytes` to UART0, spinning on TXFF, for the panic
/// handler. Bypasses `take`'s ownership on purpose: once the panic handler
/// runs, the main loop that owns UART0 never runs again.
pub fn panic_write_uart0(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: UART0's FR and DR, as in `Uart::read`/`Uart::write`. The
        // panic handler runs on the only core with the main loop abandoned,
        // and no interrupt handler touches the UARTs, so nothing else writes
        // DR concurrently.
        unsafe {
            while read_volatile((UART0_BASE + FR) as *const u32) & FR_TXFF != 0 {}
            write_volatile((UART0_BASE + DR) as *mut u32, u32::from(b));
        }
    }
}
