//! Fuzzes the SigMF meta reader: `SigmfMeta::parse` on arbitrary bytes, as
//! the meta of either stream (rf, power).
//!
//! Must hold: no panic, no hang, bounded memory, whatever the bytes; an
//! error renders.
//!
//! Run: `scripts/fuzz --smoke` (all targets), or
//! `cd host/fuzz && cargo +nightly fuzz run sigmf-meta`.

#![no_main]

use std::path::Path;

use benchctl_format::read::SigmfMeta;
use benchctl_format::read::sigmf::Stream;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    for stream in [Stream::Rf, Stream::Power] {
        match SigmfMeta::parse(Path::new("x.sigmf-meta"), input, stream) {
            Ok(meta) => {
                let _ = meta.frame_bytes();
                for channel in &meta.channels {
                    let _ = channel.label();
                }
                for annotation in &meta.annotations {
                    let _ = annotation.phase_name();
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
