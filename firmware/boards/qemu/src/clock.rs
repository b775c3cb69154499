//! µs since boot from SysTick.
//!
//! Why SysTick and not a general-purpose timer: QEMU's Stellaris GPTM model
//! cannot be read (hw/arm/stellaris.c, `gptm_read`: "GPTM: read of TAR but
//! timer read not supported", returns 0), so it can only raise interrupts.
//! SysTick's current value (SYST_CVR) is readable (hw/timer/armv7m_systick.c,
//! backed by a ptimer).
//!
//! Frequency: SysTick runs from the core clock (CSR.CLKSOURCE = 1). QEMU
//! derives the core clock from RCC (stellaris.c, `ssys_calculate_system_clock`:
//! period = 5 ns × (SYSDIV + 1), i.e. a 200 MHz PLL divided by SYSDIV + 1), and
//! `ssys_reset` sets RCC = 0x078E_3AC0: SYSDIV (bits 26:23) = 0xF, so 80 ns =
//! 12.5 MHz (RCC2 is not used: its USERCC2 bit 31 is 0 at reset). We never
//! write RCC, so it stays 12.5 MHz: 12 500 ticks per ms. Measured in QEMU
//! 7.2: a stream of one report per 1 000 000 guest µs arrived once per host
//! second (±0.3 ms) for 6 s, and the end-to-end test gets 1000 samples in 5 s
//! at 200 Hz. QEMU prints "Timer with period zero, disabling" at start
//! whatever SysTick is set to (also with SysTick untouched): not ours.
//!
//! Wrap: SysTick is a 24-bit down-counter. We reload every 1 ms (12 500 ticks)
//! and count reloads in the SysTick exception; `now_us` adds the ticks into the
//! current millisecond. The 1 ms interrupt doubles as the main loop's wake-up
//! from WFI. Race: between reading the millisecond count and CVR the counter
//! may wrap with the exception not yet taken (interrupts are off in the
//! critical section); then ICSR.PENDSTSET is set and we count that wrap
//! ourselves, re-reading CVR after seeing it (the first read may predate the
//! wrap).
//!
//! QEMU specifics: the counter follows QEMU_CLOCK_VIRTUAL, which under TCG
//! without `-icount` tracks the host's monotonic clock while the VM runs, so
//! guest µs ≈ host µs (what the end-to-end test relies on to check 200 Hz).
//! `-icount` would tie guest time to instructions executed instead:
//! deterministic, but then a 5 s host-side test window no longer means 5 s
//! of shield time. Not needed here. If CVR reads 0 for a counter that expired
//! before QEMU ran the reload (hw/core/ptimer.c clamps an expired count to 0,
//! as far as we read it), `now_us` reads the end of the current ms until the
//! wrap is processed: it may stall for a moment, never run backwards.

use core::cell::Cell;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;
use critical_section::Mutex;

/// Core clock in QEMU's lm3s6965evb after reset (see module docs).
pub const CORE_HZ: u32 = 12_500_000;
const TICKS_PER_MS: u32 = CORE_HZ / 1000;
const RELOAD: u32 = TICKS_PER_MS - 1;
const _: () = assert!(RELOAD < (1 << 24), "SysTick is 24 bits");

/// Completed milliseconds (SysTick reloads) since `start`.
static MILLIS: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

/// The running clock; owning it means SysTick is ours.
pub struct Clock {
    _syst: SYST,
}

impl Clock {
    pub fn start(mut syst: SYST) -> Clock {
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        Clock { _syst: syst }
    }

    /// µs since `start`, monotonic.
    pub fn now_us(&self) -> u64 {
        critical_section::with(|cs| {
            let mut millis = MILLIS.borrow(cs).get();
            let mut current = SYST::get_current();
            if SCB::is_pendst_pending() {
                // Wrapped, exception not taken yet: count it here. Re-read,
                // the first read may be from just before the wrap.
                current = SYST::get_current();
                millis += 1;
            }
            let into_ms = RELOAD.saturating_sub(current);
            // into_ms < 12 500 ticks of 80 ns: × 2 / 25 gives µs (< 1000).
            millis * 1000 + u64::from(into_ms * 2 / 25)
        })
    }
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let millis = MILLIS.borrow(cs);
        millis.set(millis.get() + 1);
    });
}
