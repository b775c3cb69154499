//! Fuzzes the frame decoders with arbitrary bytes in arbitrary chunkings.
//!
//! Both decoders (`Decoder`, the firmware's one-frame one, and
//! `GluedDecoder`, the host's) decode both directions (`FromShield`,
//! `Request`) from the same input, and must hold to:
//!
//! - no panic, whatever the bytes and however they are split into reads;
//! - every message they deliver re-encodes, and that frame decodes to the
//!   same message (a decoder that accepts what the encoder cannot say would
//!   be trusting garbage that happened to pass the CRC);
//! - the counters add up: bad frames are the sum of their causes, frames is
//!   what was delivered, recovered frames come in pairs, and no more bytes
//!   are discarded or pending than were fed;
//! - `Decoder` never delivers a message `GluedDecoder` does not: they only
//!   differ on runs too long for one frame, which the glued one may split;
//! - whatever came before, a 0x00 and then a good frame yield that frame:
//!   COBS resynchronisation, the reason the framing exists.
//!
//! Input layout: byte 0 says how many chunk-size bytes follow (1..=8); those
//! sizes are used in turn to cut the rest into the reads fed to the
//! decoders, so the fuzzer explores read boundaries as well as contents.
//!
//! Run: `cd firmware/protocol/fuzz && cargo +nightly fuzz run decoder`

#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use shield_protocol::{
    Command, FrameDecoder, FrameError, FromShield, MAX_FRAME, Request, Status, decode_frame, encode,
};

/// The two message types, behind one interface so the checks are written
/// once. (The decoder's methods are generic over serde traits; going
/// through concrete impls keeps serde out of this crate's dependencies.)
trait Message: Sized + PartialEq + Debug {
    fn feed<const CAP: usize>(d: &mut FrameDecoder<CAP>, chunk: &[u8], out: &mut Vec<Self>);
    /// The frame, delimiter included, or `None` if the message is too large.
    fn encode_frame(&self) -> Option<Vec<u8>>;
    /// `raw` without its delimiter.
    fn decode(raw: &[u8]) -> Result<Self, FrameError>;
    /// A known-good message for the resynchronisation check.
    fn sentinel() -> Self;
}

macro_rules! impl_message {
    ($t:ty, $sentinel:expr) => {
        impl Message for $t {
            fn feed<const CAP: usize>(
                d: &mut FrameDecoder<CAP>,
                chunk: &[u8],
                out: &mut Vec<Self>,
            ) {
                d.feed::<$t>(chunk, |m| out.push(m));
            }

            fn encode_frame(&self) -> Option<Vec<u8>> {
                let mut frame = [0u8; MAX_FRAME];
                let n = encode(self, &mut frame).ok()?;
                Some(frame[..n].to_vec())
            }

            fn decode(raw: &[u8]) -> Result<Self, FrameError> {
                decode_frame::<$t>(raw)
            }

            fn sentinel() -> Self {
                $sentinel
            }
        }
    };
}

impl_message!(
    FromShield,
    FromShield::Status(Status {
        uptime_ms: 1234,
        streaming: true,
        frames_dropped: 0,
        buffer_high_water: 3,
        buffer_capacity: 8,
        watchdog_stopped: false,
        next_seq: 42,
    })
);
impl_message!(
    Request,
    Request {
        id: 7,
        command: Command::Heartbeat,
    }
);

/// Chunk sizes 1..=240 in steps of one, then 256..=4096 in steps of 256:
/// single bytes, partial frames, and reads spanning several frames.
fn chunk_size(b: u8) -> usize {
    if b < 0xF0 {
        usize::from(b) + 1
    } else {
        usize::from(b - 0xEF) * 256
    }
}

/// Cut `data` into reads whose sizes cycle through `sizes`.
fn chunks<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunk_size(sizes[i % sizes.len()]).min(rest.len());
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
        i += 1;
    }
    out
}

/// Feed the reads to a fresh decoder of capacity `CAP`, check it, and
/// return what it delivered from the fuzz input (before the sentinel).
fn run<T: Message, const CAP: usize>(reads: &[&[u8]]) -> Vec<T> {
    let mut d = FrameDecoder::<CAP>::new();
    let mut messages = Vec::new();
    let mut fed = 0u64;
    for read in reads {
        T::feed(&mut d, read, &mut messages);
        fed += read.len() as u64;
        assert!(
            d.pending() <= CAP,
            "pending {} > capacity {CAP}",
            d.pending()
        );
    }
    check_stats(&d, fed, messages.len());

    // Resynchronisation: a delimiter ends whatever was pending (which may
    // still yield messages of its own), and then a good frame is decoded.
    T::feed(&mut d, &[0], &mut messages);
    fed += 1;
    let from_input = messages.len();
    let sentinel = T::sentinel();
    let frame = sentinel.encode_frame().expect("the sentinel fits a frame");
    T::feed(&mut d, &frame, &mut messages);
    fed += frame.len() as u64;
    assert_eq!(
        &messages[from_input..],
        std::slice::from_ref(&sentinel),
        "a good frame after a delimiter was not decoded (capacity {CAP})"
    );
    check_stats(&d, fed, messages.len());
    assert_eq!(d.pending(), 0, "bytes pending after a delimiter");

    messages.truncate(from_input);
    for m in &messages {
        check_round_trip(m);
    }
    messages
}

fn check_stats<const CAP: usize>(d: &FrameDecoder<CAP>, fed: u64, delivered: usize) {
    let s = d.stats();
    assert_eq!(
        s.bad_frames,
        s.bad_crc + s.bad_cobs + s.bad_message + s.oversize,
        "bad frames are not the sum of their causes: {s:?}"
    );
    assert_eq!(s.frames, delivered as u64, "frames != delivered: {s:?}");
    assert!(s.recovered <= s.frames, "recovered > frames: {s:?}");
    assert_eq!(s.recovered % 2, 0, "recovered frames come in pairs: {s:?}");
    assert!(
        s.bytes_discarded + d.pending() as u64 <= fed,
        "discarded {} + pending {} > fed {fed}: {s:?}",
        s.bytes_discarded,
        d.pending()
    );
    // Every run between delimiters that counted, good or bad, took at
    // least one byte and its delimiter; a recovered pair is one such run.
    let frames_on_wire = s.frames - s.recovered / 2 + s.bad_frames;
    assert!(
        2 * frames_on_wire <= fed,
        "more frames than bytes allow: {s:?}, fed {fed}"
    );
}

/// A delivered message must survive encode -> decode unchanged, both through
/// `decode_frame` and through a fresh decoder.
fn check_round_trip<T: Message>(m: &T) {
    let frame = m
        .encode_frame()
        .unwrap_or_else(|| panic!("a decoded message does not re-encode: {m:?}"));
    let back = T::decode(&frame[..frame.len() - 1])
        .unwrap_or_else(|e| panic!("re-encoded {m:?} does not decode: {e:?}"));
    assert_eq!(&back, m, "re-encoded message decodes differently");
    let mut d = FrameDecoder::<MAX_FRAME>::new();
    let mut out = Vec::new();
    T::feed(&mut d, &frame, &mut out);
    assert_eq!(out.as_slice(), std::slice::from_ref(m));
}

/// `sub` appears in `all` in order (not necessarily contiguously).
fn is_subsequence<T: PartialEq>(sub: &[T], all: &[T]) -> bool {
    let mut it = all.iter();
    sub.iter().all(|x| it.any(|y| y == x))
}

fn check_both<T: Message>(reads: &[&[u8]]) {
    let one = run::<T, { shield_protocol::MAX_FRAME }>(reads);
    let glued = run::<T, { shield_protocol::GLUED_CAPACITY }>(reads);
    assert!(
        is_subsequence(&one, &glued),
        "Decoder delivered what GluedDecoder did not:\n one: {one:?}\n glued: {glued:?}"
    );
}

fuzz_target!(|input: &[u8]| {
    let Some((&k, rest)) = input.split_first() else {
        return;
    };
    let n = (usize::from(k) % 8 + 1).min(rest.len());
    let (sizes, data) = rest.split_at(n);
    if sizes.is_empty() {
        return;
    }
    let reads = chunks(data, sizes);
    check_both::<FromShield>(&reads);
    check_both::<Request>(&reads);
});
