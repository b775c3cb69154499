//! shield-protocol: the one place the radio shield's wire format is written
//! down. The firmware (`shield-core`, the boards) and the host (`benchctl`)
//! both depend on this crate, so they cannot disagree about it.
//!
//! A session: the host sends `Hello` with its version and checks the reply's
//! before anything else; then `GetInfo`, `Configure`, `Start`, `Heartbeat`s
//! while streaming, `Stop`. The shield streams `Samples` and sends `Status`
//! now and then, and `Log` lines when it has something to say.

#![cfg_attr(not(feature = "std"), no_std)]

pub mod frame;
pub mod message;

pub use frame::{
    DecodeStats, Decoder, FrameDecoder, FrameError, GLUED_CAPACITY, GluedDecoder, MAX_FRAME,
    MAX_MESSAGE, decode_frame, encode,
};
pub use message::*;

/// The protocol this crate speaks.
pub const VERSION: ProtocolVersion = ProtocolVersion { major: 1, minor: 0 };

/// Whether a peer speaking `other` can talk with us.
pub fn compatible(other: ProtocolVersion) -> bool {
    other.major == VERSION.major
}
