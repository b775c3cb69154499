//! Fuzzes the bench file reader: `config::parse` on arbitrary text.
//!
//! Must hold: no panic, no hang, bounded memory, whatever the text; an
//! error renders (its `file:line:col` is computed from spans into the text).
//!
//! Run: `scripts/fuzz --smoke` (all targets), or
//! `cd host/fuzz && cargo +nightly fuzz run bench-toml`.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // Lossy: invalid UTF-8 still reaches the parser, as U+FFFD (multi-byte
    // characters are where a span could split one).
    let text = String::from_utf8_lossy(input);
    match benchctl::config::parse(Path::new("bench.toml"), &text) {
        Ok(bench) => {
            let _ = bench.real_hardware();
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
