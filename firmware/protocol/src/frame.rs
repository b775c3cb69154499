//! Framing: `COBS(postcard(message) ++ CRC-32(postcard(message)))` then 0x00.
//!
//! COBS (Cheshire & Baker, "Consistent Overhead Byte Stuffing", 1999) removes
//! every 0x00 from the frame, so 0x00 marks frame ends and a receiver that
//! lost track (garbage, a dropped byte, a host that opened the port
//! mid-stream) resynchronises at the next 0x00. The CRC-32 (ISO-HDLC, the
//! Ethernet/zlib polynomial, little-endian on the wire) catches what COBS
//! cannot: a corrupted byte that is not 0x00.
//!
//! The decoder is fed chunks of any size and never allocates. It recovers
//! the one case where a single corrupted byte would otherwise cost two
//! frames: a corrupted delimiter that glues two frames together (see
//! `split_glued`).

use crc::{CRC_32_ISO_HDLC, Crc};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest message (postcard bytes) a frame carries.
pub const MAX_MESSAGE: usize = 1000;
/// Largest frame on the wire, COBS overhead and the 0x00 delimiter included:
/// MAX_MESSAGE + 4 (CRC) + 1 COBS byte per 254 + 1, rounded up.
pub const MAX_FRAME: usize = 1024;
const MAX_PAYLOAD: usize = MAX_MESSAGE + 4;
const _: () = assert!(MAX_PAYLOAD + MAX_PAYLOAD / 254 + 2 <= MAX_FRAME);

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The message does not fit in a frame (a bug: message sizes are bounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl core::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "message larger than {MAX_MESSAGE} bytes")
    }
}

/// Encode one message as a complete frame (ending in 0x00) into `out`;
/// returns the frame length.
pub fn encode<T: Serialize>(message: &T, out: &mut [u8; MAX_FRAME]) -> Result<usize, TooLarge> {
    let mut payload = [0u8; MAX_PAYLOAD];
    let len = postcard::to_slice(message, &mut payload[..MAX_MESSAGE])
        .map_err(|_| TooLarge)?
        .len();
    let crc = CRC32.checksum(&payload[..len]);
    payload[len..len + 4].copy_from_slice(&crc.to_le_bytes());
    let n = cobs_encode(&payload[..len + 4], &mut out[..]);
    out[n] = 0;
    Ok(n + 1)
}

/// COBS-encode `data` into `out` (which must hold data.len() + data.len()/254 + 1).
fn cobs_encode(data: &[u8], out: &mut [u8]) -> usize {
    let mut code_at = 0;
    let mut o = 1;
    let mut code: u8 = 1;
    for &b in data {
        if b == 0 {
            out[code_at] = code;
            code_at = o;
            o += 1;
            code = 1;
        } else {
            out[o] = b;
            o += 1;
            code += 1;
            if code == 0xFF {
                out[code_at] = code;
                code_at = o;
                o += 1;
                code = 1;
            }
        }
    }
    out[code_at] = code;
    o
}

/// COBS-decode `data` (no delimiter) into `out`; `None` if malformed.
fn cobs_decode(data: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut i = 0;
    let mut o = 0;
    while i < data.len() {
        let code = data[i];
        if code == 0 {
            return None;
        }
        i += 1;
        let run = usize::from(code) - 1;
        if i + run > data.len() || o + run > out.len() {
            return None;
        }
        out[o..o + run].copy_from_slice(&data[i..i + run]);
        o += run;
        i += run;
        // A code below 0xFF stands for a zero after its run, except at the end.
        if code != 0xFF && i < data.len() {
            if o >= out.len() {
                return None;
            }
            out[o] = 0;
            o += 1;
        }
    }
    Some(o)
}

/// What the decoder threw away, for the journal: nothing is dropped silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecodeStats {
    /// Messages decoded and verified.
    pub frames: u64,
    /// Chunks between delimiters that were not a valid frame.
    pub bad_frames: u64,
    /// ... of which failed the CRC.
    pub bad_crc: u64,
    /// ... of which were not valid COBS.
    pub bad_cobs: u64,
    /// ... of which had a good CRC but were not a message we know.
    pub bad_message: u64,
    /// ... of which were longer than MAX_FRAME.
    pub oversize: u64,
    /// Bytes thrown away in all of the above.
    pub bytes_discarded: u64,
    /// Frames recovered from two frames glued by a corrupted delimiter.
    pub recovered: u64,
}

/// Why one frame was thrown away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    BadCobs,
    BadCrc,
    BadMessage,
    Oversize,
}

/// A decoder that holds two whole frames, so that two full-size frames glued
/// by one corrupted delimiter can still be split apart and both kept. The
/// host uses it for the shield's sample stream; the firmware, which only
/// receives short requests, saves the RAM and uses the default.
pub const GLUED_CAPACITY: usize = 2 * MAX_FRAME;

/// Accumulates bytes and yields verified messages of type `T`. `CAP` is the
/// longest run between delimiters it keeps; longer runs are dropped as
/// oversize.
#[derive(Debug)]
pub struct FrameDecoder<const CAP: usize> {
    buf: [u8; CAP],
    len: usize,
    /// The current frame overflowed the buffer: drop it up to the next 0x00.
    overflowed: bool,
    stats: DecodeStats,
}

/// The decoder for one frame at a time (the firmware's).
pub type Decoder = FrameDecoder<MAX_FRAME>;
/// The decoder with room for two glued frames (the host's).
pub type GluedDecoder = FrameDecoder<GLUED_CAPACITY>;

impl<const CAP: usize> Default for FrameDecoder<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CAP: usize> FrameDecoder<CAP> {
    pub const fn new() -> Self {
        FrameDecoder {
            buf: [0; CAP],
            len: 0,
            overflowed: false,
            stats: DecodeStats {
                frames: 0,
                bad_frames: 0,
                bad_crc: 0,
                bad_cobs: 0,
                bad_message: 0,
                oversize: 0,
                bytes_discarded: 0,
                recovered: 0,
            },
        }
    }

    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Bytes waiting for their delimiter.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Feed received bytes; `on_message` gets each verified message in order.
    pub fn feed<T: DeserializeOwned>(&mut self, chunk: &[u8], mut on_message: impl FnMut(T)) {
        for &b in chunk {
            if b != 0 {
                if self.overflowed {
                    self.stats.bytes_discarded += 1;
                } else if self.len < CAP {
                    self.buf[self.len] = b;
                    self.len += 1;
                } else {
                    // Too long to be a frame: drop it all, up to the next 0x00.
                    self.overflowed = true;
                    self.stats.bytes_discarded += self.len as u64 + 1;
                    self.len = 0;
                }
                continue;
            }
            // Delimiter: whatever came before is one frame (or garbage).
            if self.overflowed {
                self.overflowed = false;
                self.stats.bad_frames += 1;
                self.stats.oversize += 1;
                self.len = 0;
                continue;
            }
            if self.len == 0 {
                // Back-to-back delimiters: senders may use them to flush.
                continue;
            }
            let len = core::mem::take(&mut self.len);
            take_frame(&self.buf[..len], &mut self.stats, &mut on_message);
        }
    }
}

/// Verify one chunk between delimiters and hand on what it holds.
fn take_frame<T: DeserializeOwned>(
    raw: &[u8],
    stats: &mut DecodeStats,
    on_message: &mut impl FnMut(T),
) {
    match decode_frame::<T>(raw) {
        Ok(m) => {
            stats.frames += 1;
            on_message(m);
        }
        Err(e) => {
            if let Some((first, second)) = split_glued::<T>(raw) {
                stats.frames += 2;
                stats.recovered += 2;
                on_message(first);
                on_message(second);
                return;
            }
            stats.bad_frames += 1;
            stats.bytes_discarded += raw.len() as u64 + 1;
            match e {
                FrameError::BadCobs => stats.bad_cobs += 1,
                FrameError::BadCrc => stats.bad_crc += 1,
                FrameError::BadMessage => stats.bad_message += 1,
                FrameError::Oversize => stats.oversize += 1,
            }
        }
    }
}

/// A corrupted delimiter glues frame A and frame B into one chunk. A's
/// COBS code chain then ends exactly on the byte that should have been
/// 0x00, so only the positions the chain visits can be that byte. Try
/// each: both halves must pass their CRC (a false match needs two CRC-32
/// collisions at once).
fn split_glued<T: DeserializeOwned>(raw: &[u8]) -> Option<(T, T)> {
    let mut i = 0;
    while i < raw.len() {
        let code = usize::from(raw[i]);
        if code == 0 {
            return None;
        }
        let next = i + code;
        if next >= raw.len() {
            return None;
        }
        if let (Ok(a), Ok(b)) = (
            decode_frame::<T>(&raw[..next]),
            decode_frame::<T>(&raw[next + 1..]),
        ) {
            return Some((a, b));
        }
        i = next;
    }
    None
}

/// Decode one frame (delimiter removed): COBS, CRC, postcard.
pub fn decode_frame<T: DeserializeOwned>(raw: &[u8]) -> Result<T, FrameError> {
    if raw.len() > MAX_FRAME {
        return Err(FrameError::Oversize);
    }
    let mut payload = [0u8; MAX_FRAME];
    let n = cobs_decode(raw, &mut payload).ok_or(FrameError::BadCobs)?;
    if n < 5 {
        return Err(FrameError::BadCrc);
    }
    let (body, crc) = payload[..n].split_at(n - 4);
    let expected = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if CRC32.checksum(body) != expected {
        return Err(FrameError::BadCrc);
    }
    postcard::from_bytes(body).map_err(|_| FrameError::BadMessage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cobs_matches_the_paper_examples() {
        // Examples from the COBS paper / Wikipedia's table.
        let cases: [(&[u8], &[u8]); 4] = [
            (&[0x00], &[0x01, 0x01]),
            (&[0x00, 0x00], &[0x01, 0x01, 0x01]),
            (&[0x11, 0x22, 0x00, 0x33], &[0x03, 0x11, 0x22, 0x02, 0x33]),
            (&[0x11, 0x00, 0x00, 0x00], &[0x02, 0x11, 0x01, 0x01, 0x01]),
        ];
        for (data, encoded) in cases {
            let mut out = [0u8; 16];
            let n = cobs_encode(data, &mut out);
            assert_eq!(&out[..n], encoded);
            let mut back = [0u8; 16];
            let m = cobs_decode(encoded, &mut back).expect("valid");
            assert_eq!(&back[..m], data);
        }
    }

    #[test]
    fn cobs_handles_runs_of_254() {
        let data: [u8; 300] = core::array::from_fn(|i| (i % 255) as u8 + 1);
        let mut out = [0u8; 310];
        let n = cobs_encode(&data, &mut out);
        assert!(!out[..n].contains(&0));
        let mut back = [0u8; 310];
        let m = cobs_decode(&out[..n], &mut back).expect("valid");
        assert_eq!(&back[..m], &data[..]);
    }
}
