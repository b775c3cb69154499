//! Fail safe: whatever way a command ends, the DUTs it touched end up in their
//! safe state, unless the command finished a switch the user meant to hold.
//!
//! The guard works on drop, so it covers an early `?` return, an
//! interrupted wait (Ctrl-C, SIGTERM: see `crate::shutdown`) and a panic
//! (drop runs while the panic unwinds; the release profile keeps
//! `panic = "unwind"` for this reason). Only `kill -9` and a power cut get
//! past it, and the hardware then holds its last state.

use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};

use super::Bench;

/// Borrow of the bench that restores touched DUTs to their safe state on drop.
#[derive(Debug)]
pub struct SafetyGuard<'b> {
    bench: &'b mut Bench,
    touched: BTreeSet<String>,
    hold: bool,
}

impl<'b> SafetyGuard<'b> {
    pub fn new(bench: &'b mut Bench) -> Self {
        SafetyGuard {
            bench,
            touched: BTreeSet::new(),
            hold: false,
        }
    }

    /// Note a DUT before switching any of its outputs (also in the bench
    /// lock's note, for whoever takes over if this process dies).
    pub fn touch(&mut self, dut: &str) {
        self.touched.insert(dut.to_string());
        self.bench.note_touched(dut);
    }

    /// The command did what was asked: keep the outputs as they are.
    pub fn hold(mut self) {
        self.hold = true;
        self.bench.note_settled();
    }
}

impl Deref for SafetyGuard<'_> {
    type Target = Bench;
    fn deref(&self) -> &Bench {
        self.bench
    }
}

impl DerefMut for SafetyGuard<'_> {
    fn deref_mut(&mut self) -> &mut Bench {
        self.bench
    }
}

impl Drop for SafetyGuard<'_> {
    fn drop(&mut self) {
        if self.hold {
            return;
        }
        let mut all_safe = true;
        for dut in std::mem::take(&mut self.touched) {
            let failures = self.bench.apply_safe_state(&dut);
            if failures.is_empty() {
                tracing::warn!(dut, "returned to its safe state");
            }
            for e in failures {
                // Nothing more we can do from here than say it loudly.
                tracing::error!(dut, "could not reach the safe state: {e}");
                all_safe = false;
            }
        }
        // What could not be made safe stays noted: the next holder tries.
        if all_safe {
            self.bench.note_settled();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NetState;

    fn bench(dir: &std::path::Path) -> Bench {
        let config = crate::config::parse(
            std::path::Path::new("bench.toml"),
            include_str!("../../../bench.toml"),
        )
        .expect("default bench is valid");
        Bench::new(config, dir).expect("bench")
    }

    fn outputs(b: &mut Bench, dut: &str) -> (Option<bool>, Option<bool>, Option<NetState>) {
        let s = b.status();
        let d = s.duts.iter().find(|d| d.name == dut).expect("dut");
        (
            d.power.as_ref().and_then(|s| s.value()),
            d.usb.as_ref().and_then(|s| s.value()),
            d.net.as_ref().and_then(|s| s.value()),
        )
    }

    #[test]
    fn a_panic_drives_touched_duts_to_safe_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = bench(dir.path());
        for dut in ["phone-a", "phone-b"] {
            b.set_power(dut, true).expect("power");
            b.set_usb(dut, true).expect("usb");
            b.set_net(dut, NetState::Open).expect("net");
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut guard = SafetyGuard::new(&mut b);
            guard.touch("phone-a");
            panic!("bug in a command");
        }));
        assert!(result.is_err());
        assert_eq!(
            outputs(&mut b, "phone-a"),
            (Some(false), Some(false), Some(NetState::Isolated))
        );
        // Untouched DUTs keep running.
        assert_eq!(
            outputs(&mut b, "phone-b"),
            (Some(true), Some(true), Some(NetState::Open))
        );
    }

    #[test]
    fn hold_keeps_what_was_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = bench(dir.path());
        let mut guard = SafetyGuard::new(&mut b);
        guard.touch("phone-a");
        guard.set_power("phone-a", true).expect("power");
        guard.hold();
        assert_eq!(outputs(&mut b, "phone-a").0, Some(true));
    }
}
