//! `net.pcapng`: the packets on the DUTs' isolated links, written by hand per
//! the pcapng draft (draft-ietf-opsawg-pcapng).
//!
//! Layout: one Section Header Block, then one Interface Description Block per
//! DUT (interface index = position in the DUT list, `if_name` = DUT name,
//! link type 1 Ethernet), then an Enhanced Packet Block per packet. Every
//! block is `type, total length, body padded to 32 bits, total length`, in
//! host byte order (the SHB's byte-order magic tells readers which).
//!
//! Timestamps: `if_tsresol` = 6, microseconds since 1970 UTC. That is the
//! pcapng default, so a reader that ignores the option still gets the right
//! time; the option is written anyway to make the choice explicit. Bridge and
//! tap captures carry no meaningful sub-microsecond precision.
//!
//! Each block reaches the buffer in one write, so a crash leaves whole blocks
//! up to the last flush; pcapng needs no trailer, and the SHB's section
//! length is -1 (unknown), so the file is readable at any flush point.

use std::path::Path;
use std::time::{Instant, SystemTime};

use super::{RecordError, StreamFile};

const SHB_TYPE: u32 = 0x0A0D_0D0A;
const IDB_TYPE: u32 = 0x0000_0001;
const EPB_TYPE: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const LINKTYPE_ETHERNET: u16 = 1;
const OPT_ENDOFOPT: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// `if_tsresol` written for every interface: 10^-6 s.
pub const TSRESOL_EXPONENT: u8 = 6;

/// Streams a pcapng capture.
#[derive(Debug)]
pub struct PcapngWriter {
    out: StreamFile,
    interfaces: u32,
    block: Vec<u8>,
}

impl PcapngWriter {
    /// Create `path` (replacing an old file) with one interface per name in
    /// `interfaces`; packets name their interface by its index here.
    pub fn create<S: AsRef<str>>(path: &Path, interfaces: &[S]) -> Result<Self, RecordError> {
        let count = u32::try_from(interfaces.len())
            .map_err(|_| RecordError::invalid(path, "too many interfaces for pcapng"))?;
        let mut writer = Self {
            out: StreamFile::create(path)?,
            interfaces: count,
            block: Vec::with_capacity(2048),
        };

        // Section Header Block: magic, version 1.0, section length -1
        // (not known while streaming), shb_userappl.
        let mut body = Vec::new();
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&(-1i64).to_ne_bytes());
        let appl = concat!("benchctl ", env!("CARGO_PKG_VERSION"));
        push_option(&mut body, SHB_USERAPPL, appl.as_bytes());
        push_option(&mut body, OPT_ENDOFOPT, &[]);
        writer.write_block(SHB_TYPE, &body)?;

        for name in interfaces {
            // Interface Description Block: link type, reserved, snaplen 0
            // (no limit), if_name, if_tsresol.
            let mut body = Vec::new();
            body.extend_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
            body.extend_from_slice(&0u16.to_ne_bytes());
            body.extend_from_slice(&0u32.to_ne_bytes());
            push_option(&mut body, IF_NAME, name.as_ref().as_bytes());
            push_option(&mut body, IF_TSRESOL, &[TSRESOL_EXPONENT]);
            push_option(&mut body, OPT_ENDOFOPT, &[]);
            writer.write_block(IDB_TYPE, &body)?;
        }
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        self.out.path()
    }

    /// Append an Ethernet frame seen on interface `interface` at `utc_time`.
    /// `frame` is what was captured, `original_len` the length on the wire
    /// (at least `frame.len()`).
    pub fn packet(
        &mut self,
        interface: u32,
        utc_time: SystemTime,
        frame: &[u8],
        original_len: u32,
    ) -> Result<(), RecordError> {
        if interface >= self.interfaces {
            return Err(RecordError::invalid(
                self.out.path(),
                format!(
                    "packet on interface {interface}, the capture has {}",
                    self.interfaces
                ),
            ));
        }
        let captured = u32::try_from(frame.len())
            .map_err(|_| RecordError::invalid(self.out.path(), "packet longer than 4 GiB"))?;
        if original_len < captured {
            return Err(RecordError::invalid(
                self.out.path(),
                format!("original length {original_len} below captured length {captured}"),
            ));
        }
        let since_epoch = utc_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| RecordError::invalid(self.out.path(), "packet time before 1970"))?;
        let micros = u64::try_from(since_epoch.as_micros()).map_err(|_| {
            RecordError::invalid(self.out.path(), "packet time beyond pcapng's range")
        })?;

        // Enhanced Packet Block: interface, timestamp (high, low 32 bits),
        // captured and original length, data padded to 32 bits, no options.
        let mut body = Vec::with_capacity(20 + frame.len() + 3);
        body.extend_from_slice(&interface.to_ne_bytes());
        body.extend_from_slice(&((micros >> 32) as u32).to_ne_bytes());
        body.extend_from_slice(&(micros as u32).to_ne_bytes());
        body.extend_from_slice(&captured.to_ne_bytes());
        body.extend_from_slice(&original_len.to_ne_bytes());
        body.extend_from_slice(frame);
        pad32(&mut body);
        self.write_block(EPB_TYPE, &body)
    }

    /// Frame `body` (already padded) as a block and hand it to the buffer in
    /// one write.
    fn write_block(&mut self, block_type: u32, body: &[u8]) -> Result<(), RecordError> {
        let total = u32::try_from(body.len() + 12)
            .map_err(|_| RecordError::invalid(self.out.path(), "pcapng block longer than 4 GiB"))?;
        self.block.clear();
        self.block.extend_from_slice(&block_type.to_ne_bytes());
        self.block.extend_from_slice(&total.to_ne_bytes());
        self.block.extend_from_slice(body);
        self.block.extend_from_slice(&total.to_ne_bytes());
        self.out.write_all(&self.block)
    }

    /// Flush if a second has passed since the last flush; true if it did.
    pub fn maybe_flush(&mut self, now: Instant) -> Result<bool, RecordError> {
        self.out.maybe_flush(now)
    }

    /// Hand everything written so far to the kernel.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.out.flush()
    }

    /// Flush and fsync.
    pub fn finish(self) -> Result<(), RecordError> {
        self.out.finish()
    }
}

/// An option: code, length (unpadded), value padded to 32 bits.
fn push_option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    // Option values here are names and short strings; a longer one is cut
    // rather than failing the capture.
    let value = &value[..value.len().min(usize::from(u16::MAX) - 3)];
    body.extend_from_slice(&code.to_ne_bytes());
    body.extend_from_slice(&(value.len() as u16).to_ne_bytes());
    body.extend_from_slice(value);
    pad32(body);
}

fn pad32(body: &mut Vec<u8>) {
    body.resize(body.len().next_multiple_of(4), 0);
}
