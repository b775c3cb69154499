//! `net.pcapng` (and bare `.pcap`/`.pcapng` files), read: a streaming packet
//! reader for pcapng and classic pcap, told apart by their first bytes (a
//! `.pcap` name is no promise: dumpcap writes pcapng under any name).
//!
//! pcapng (draft-ietf-opsawg-pcapng): sections in either byte order, several
//! sections per file, Interface Description Blocks with `if_name`,
//! `if_tsresol` (10^-n or 2^-n) and `if_tsoffset`, Enhanced, Simple and the
//! obsolete Packet Blocks. Every other block type (name resolution,
//! statistics, decryption secrets, custom...) is skipped by its length.
//! Classic pcap: both magics (µs and ns) in both byte orders, and the
//! "modified" pcap of magic a1b2cd34.
//!
//! One block (or record) is in memory at a time, and no block may claim more
//! than [`MAX_BLOCK_BYTES`]: a corrupt length cannot make the reader
//! allocate gigabytes. A last block cut short (the recorder crashed
//! mid-write) ends the capture cleanly with [`PacketReader::truncated`] set;
//! damage before the end (a length that does not match its trailer, a packet
//! on an interface nobody described) is an error with its byte offset.
//!
//! Interfaces are numbered across the whole file, in the order their
//! descriptions appear: with one section (what benchctl and most tools
//! write) that is pcapng's own interface number; a second section's first
//! interface continues the count instead of starting again at 0, so every
//! packet names one interface unambiguously.

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{ReadError, UtcTime};

/// The most bytes one pcapng block or pcap record may hold. Real packets are
/// at most 256 KiB (dumpcap's snap length); 16 MiB leaves room for large
/// statistics or secrets blocks and still bounds memory.
pub const MAX_BLOCK_BYTES: u32 = 16 << 20;

const SHB_TYPE: u32 = 0x0A0D_0D0A;
const IDB_TYPE: u32 = 0x0000_0001;
const PB_TYPE: u32 = 0x0000_0002;
const SPB_TYPE: u32 = 0x0000_0003;
const EPB_TYPE: u32 = 0x0000_0006;
const OPT_ENDOFOPT: u16 = 0;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// The container of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcapng,
    /// Classic libpcap format.
    Pcap,
}

/// How long one timestamp tick is: `if_tsresol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeResolution {
    /// 10^-n seconds (`if_tsresol` n, top bit clear). 6 (µs) is the default.
    Decimal(u8),
    /// 2^-n seconds (`if_tsresol` top bit set).
    Binary(u8),
}

impl TimeResolution {
    /// From the `if_tsresol` byte.
    pub fn from_option(byte: u8) -> Self {
        if byte & 0x80 == 0 {
            Self::Decimal(byte)
        } else {
            Self::Binary(byte & 0x7F)
        }
    }

    /// `ticks` since 1970 as a time, truncated to the nanosecond.
    pub fn to_time(self, ticks: u64, offset_s: i64) -> UtcTime {
        const NANOS: u128 = 1_000_000_000;
        let (secs, nanos) = match self {
            Self::Decimal(n) => {
                match 10u64.checked_pow(u32::from(n)) {
                    Some(per_sec) => {
                        let rem = u128::from(ticks % per_sec);
                        (ticks / per_sec, rem * NANOS / u128::from(per_sec))
                    }
                    // Finer than u64 can count a second in: every tick
                    // count is below one second.
                    None => (
                        0,
                        10u128
                            .checked_pow(u32::from(n))
                            .map_or(0, |per_sec| u128::from(ticks) * NANOS / per_sec),
                    ),
                }
            }
            Self::Binary(n) if n < 64 => {
                let rem = ticks & ((1u64 << n) - 1);
                (ticks >> n, (u128::from(rem) * NANOS) >> n)
            }
            // n < 128: the shift fits u128.
            Self::Binary(n) => (0, (u128::from(ticks) * NANOS) >> n),
        };
        // Both below one second's worth, so below 1e9.
        let nanos = u64::try_from(nanos).unwrap_or(0);
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        UtcTime::new(secs.saturating_add(offset_s), nanos)
    }
}

/// A link the capture was taken on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// LINKTYPE_* (1 = Ethernet).
    pub link_type: u16,
    /// Most bytes captured per packet; 0 = no limit.
    pub snaplen: u32,
    /// `if_name`: for a benchctl run, the DUT's name.
    pub name: Option<String>,
    /// `if_description`.
    pub description: Option<String>,
    pub resolution: TimeResolution,
    /// `if_tsoffset`: seconds added to every timestamp.
    pub offset_s: i64,
    /// Which section (0-based) the interface belongs to.
    pub section: u32,
}

/// A packet, borrowing its bytes from the reader until the next read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Index into [`PacketReader::interfaces`].
    pub interface: usize,
    /// UTC capture time; None only for a Simple Packet Block, which carries
    /// no time.
    pub time: Option<UtcTime>,
    /// The bytes captured (possibly fewer than went over the wire).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub original_len: u32,
    /// Byte offset of its block or record in the file.
    pub offset: u64,
}

impl Packet<'_> {
    /// Copy the bytes out, to keep the packet past the next read.
    pub fn into_owned(self) -> OwnedPacket {
        OwnedPacket {
            interface: self.interface,
            time: self.time,
            data: self.data.to_vec(),
            original_len: self.original_len,
            offset: self.offset,
        }
    }
}

/// A packet holding its own bytes: what the `Iterator` impl yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPacket {
    pub interface: usize,
    pub time: Option<UtcTime>,
    pub data: Vec<u8>,
    pub original_len: u32,
    pub offset: u64,
}

/// Where and how the capture was cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Byte offset of the cut-off block or record.
    pub offset: u64,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, bytes: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => u16::from_le_bytes(b),
            Self::Big => u16::from_be_bytes(b),
        })
    }

    fn u32(self, bytes: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => u32::from_le_bytes(b),
            Self::Big => u32::from_be_bytes(b),
        })
    }

    fn i64(self, bytes: &[u8], at: usize) -> Option<i64> {
        let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => i64::from_le_bytes(b),
            Self::Big => i64::from_be_bytes(b),
        })
    }
}

/// A packet read but not yet handed out; its bytes are `block[data]`.
#[derive(Debug, Clone)]
struct Pending {
    interface: usize,
    time: Option<UtcTime>,
    data: Range<usize>,
    original_len: u32,
    offset: u64,
}

/// What reading the next block (or record) gave.
enum Next {
    Packet(Pending),
    /// A block that is not a packet (handled already).
    Other,
    End,
}

/// Streams the packets of a pcapng or pcap capture.
#[derive(Debug)]
pub struct PacketReader<R = BufReader<File>> {
    path: PathBuf,
    input: R,
    format: CaptureFormat,
    endian: Endian,
    /// Bytes consumed so far: the offset of the next block.
    offset: u64,
    interfaces: Vec<Interface>,
    /// pcapng: this section's interface numbers → index in `interfaces`.
    section_interfaces: Vec<usize>,
    /// pcapng: sections seen.
    sections: u32,
    /// Classic pcap: ticks per second are 10^-9 (true) or 10^-6.
    pcap_nanos: bool,
    /// Bytes after the 16 of a classic pcap record header (8 in the
    /// "modified" format).
    pcap_record_extra: usize,
    /// The current block's bytes after its 8-byte header.
    block: Vec<u8>,
    pending: Option<Pending>,
    /// An error met while reading ahead at open, for the first read.
    deferred: Option<ReadError>,
    truncated: Option<Truncation>,
    /// No more reads: the end, a truncation or an error was reached.
    done: bool,
    packets: u64,
}

impl PacketReader<BufReader<File>> {
    /// Open a pcapng or pcap file.
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let file = crate::input::open(path).map_err(ReadError::io(path))?;
        Self::from_reader(path, BufReader::with_capacity(1 << 16, file))
    }
}

impl<R: Read> PacketReader<R> {
    /// Read a capture from `input`; `path` names it in messages. Reads the
    /// file header and, for pcapng, every block up to the first packet, so
    /// [`interfaces`](Self::interfaces) already lists the interfaces
    /// described before it (all of them, for benchctl's and dumpcap's
    /// files).
    pub fn from_reader(path: &Path, mut input: R) -> Result<Self, ReadError> {
        let mut magic = [0u8; 4];
        let got = read_full(&mut input, &mut magic).map_err(ReadError::io(path))?;
        let mut reader = Self {
            path: path.to_path_buf(),
            input,
            format: CaptureFormat::Pcapng,
            endian: Endian::Little,
            offset: 0,
            interfaces: Vec::new(),
            section_interfaces: Vec::new(),
            sections: 0,
            pcap_nanos: false,
            pcap_record_extra: 0,
            block: Vec::new(),
            pending: None,
            deferred: None,
            truncated: None,
            done: false,
            packets: 0,
        };
        if got < magic.len() {
            // An empty or nearly empty file: a recorder that died before its
            // first flush. Nothing to read, and nothing wrong before the cut.
            reader.truncate(
                0,
                format!("the file ends after {got} bytes, before its header"),
            );
            return Ok(reader);
        }
        match magic {
            [0x0A, 0x0D, 0x0D, 0x0A] => {
                reader.read_first_shb()?;
                reader.prime();
            }
            [0xD4, 0xC3, 0xB2, 0xA1] => reader.read_pcap_header(Endian::Little, false)?,
            [0xA1, 0xB2, 0xC3, 0xD4] => reader.read_pcap_header(Endian::Big, false)?,
            [0x4D, 0x3C, 0xB2, 0xA1] => reader.read_pcap_header(Endian::Little, true)?,
            [0xA1, 0xB2, 0x3C, 0x4D] => reader.read_pcap_header(Endian::Big, true)?,
            // Kuznetzov's "modified" pcap (old Red Hat tcpdump): µs times
            // and 8 more bytes per record header (ifindex, protocol,
            // packet type, padding), which say nothing we use.
            [0x34, 0xCD, 0xB2, 0xA1] => {
                reader.pcap_record_extra = 8;
                reader.read_pcap_header(Endian::Little, false)?
            }
            [0xA1, 0xB2, 0xCD, 0x34] => {
                reader.pcap_record_extra = 8;
                reader.read_pcap_header(Endian::Big, false)?
            }
            other => {
                return Err(ReadError::bytes(
                    path,
                    0,
                    format!(
                        "not a pcapng or pcap capture (it starts with {:02x} {:02x} {:02x} {:02x})",
                        other[0], other[1], other[2], other[3]
                    ),
                ));
            }
        }
        Ok(reader)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// The interfaces described so far (see [`from_reader`](Self::from_reader)).
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// Set when the capture ends in a cut-off block (a crash mid-write).
    pub fn truncated(&self) -> Option<&Truncation> {
        self.truncated.as_ref()
    }

    /// Packets handed out so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// The next packet, or None at the end of the capture (or after a cut).
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, ReadError> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        if self.pending.is_none() {
            self.pending = self.advance()?;
        }
        let Some(p) = self.pending.take() else {
            return Ok(None);
        };
        self.packets += 1;
        Ok(Some(Packet {
            interface: p.interface,
            time: p.time,
            data: self.block.get(p.data).unwrap_or_default(),
            original_len: p.original_len,
            offset: p.offset,
        }))
    }

    /// Read blocks until a packet or the end. Any error ends the capture, so
    /// a caller that goes on reading does not loop on it.
    fn advance(&mut self) -> Result<Option<Pending>, ReadError> {
        while !self.done {
            let next = match self.format {
                CaptureFormat::Pcapng => self.next_pcapng_block(),
                CaptureFormat::Pcap => self.next_pcap_record(),
            };
            match next {
                Ok(Next::Packet(p)) => return Ok(Some(p)),
                Ok(Next::Other) => {}
                Ok(Next::End) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
        Ok(None)
    }

    /// pcapng: read ahead to the first packet so the interfaces described
    /// before it are known. An error on the way is kept for the first
    /// `next_packet`: the interfaces read so far are still worth having.
    fn prime(&mut self) {
        match self.advance() {
            Ok(pending) => self.pending = pending,
            Err(e) => self.deferred = Some(e),
        }
    }

    fn truncate(&mut self, offset: u64, detail: String) {
        self.truncated = Some(Truncation { offset, detail });
        self.done = true;
    }

    fn corrupt(&self, offset: u64, detail: impl Into<String>) -> ReadError {
        ReadError::bytes(&self.path, offset, detail)
    }

    /// Fill `self.block` with `len` bytes; false if the file ended first.
    /// The buffer grows with the bytes that actually arrive, so a length
    /// from a cut-off block costs no more memory than the file has left.
    fn read_block_bytes(&mut self, len: usize) -> Result<bool, ReadError> {
        self.block.clear();
        let got = (&mut self.input)
            .take(len as u64)
            .read_to_end(&mut self.block)
            .map_err(ReadError::io(&self.path))?;
        Ok(got == len)
    }

    // ---- pcapng ----

    /// The first Section Header Block, whose type (4 bytes) was read.
    fn read_first_shb(&mut self) -> Result<(), ReadError> {
        let mut rest = [0u8; 8];
        let got = read_full(&mut self.input, &mut rest).map_err(ReadError::io(&self.path))?;
        if got < rest.len() {
            self.truncate(0, format!("section header cut after {} bytes", 4 + got));
            return Ok(());
        }
        let (length, magic) = rest.split_at(4);
        self.read_shb(0, length, magic)
    }

    /// A Section Header Block at `start` whose type, length and byte-order
    /// magic were read: the magic says how to read the length and the rest
    /// of the section.
    fn read_shb(&mut self, start: u64, length: &[u8], magic: &[u8]) -> Result<(), ReadError> {
        let endian = match magic {
            [0x4D, 0x3C, 0x2B, 0x1A] => Endian::Little,
            [0x1A, 0x2B, 0x3C, 0x4D] => Endian::Big,
            _ => {
                return Err(self.corrupt(
                    start + 8,
                    "section header with an unknown byte-order magic (neither 1a2b3c4d nor 4d3c2b1a): not pcapng, or damaged",
                ));
            }
        };
        let total = endian.u32(length, 0).unwrap_or(0);
        // Type, length, magic, version (4), section length (8), trailer.
        let remaining = self.check_block_length(start, SHB_TYPE, total, 28)?;
        // `remaining` counts from after type and length; the magic is read.
        if !self.read_block_bytes(remaining - 4)? {
            let got = self.block.len();
            self.truncate(
                start,
                format!("section header of {total} bytes cut after {}", 12 + got),
            );
            return Ok(());
        }
        self.check_trailer(start, endian, total)?;
        let major = endian.u16(&self.block, 0).unwrap_or(0);
        let minor = endian.u16(&self.block, 2).unwrap_or(0);
        if major != 1 {
            return Err(self.corrupt(
                start,
                format!("pcapng version {major}.{minor}; this reader knows version 1"),
            ));
        }
        self.endian = endian;
        self.sections += 1;
        // Interface numbers start again in each section.
        self.section_interfaces.clear();
        self.offset = start + u64::from(total);
        Ok(())
    }

    /// Check a block's total length; the byte count after type and length
    /// (body and trailer).
    fn check_block_length(
        &mut self,
        start: u64,
        block_type: u32,
        total: u32,
        minimum: u32,
    ) -> Result<usize, ReadError> {
        if total < minimum || !total.is_multiple_of(4) {
            return Err(self.corrupt(
                start,
                format!(
                    "block of type 0x{block_type:08x} claims a length of {total} bytes (at least {minimum} and a multiple of 4 expected): the file is damaged here"
                ),
            ));
        }
        if total > MAX_BLOCK_BYTES {
            return Err(self.corrupt(
                start,
                format!(
                    "block of type 0x{block_type:08x} claims {total} bytes, more than the {} MiB any real block needs: the file is damaged here",
                    MAX_BLOCK_BYTES >> 20
                ),
            ));
        }
        // At least 12, at most 16 MiB: fits usize, no underflow.
        Ok(total as usize - 8)
    }

    /// The block's last 4 bytes repeat its length.
    fn check_trailer(&mut self, start: u64, endian: Endian, total: u32) -> Result<(), ReadError> {
        let at = self.block.len().saturating_sub(4);
        let trailer = endian.u32(&self.block, at).unwrap_or(0);
        if trailer != total {
            return Err(self.corrupt(
                start,
                format!(
                    "block length {total} does not match the {trailer} at its end: the file is damaged here"
                ),
            ));
        }
        self.block.truncate(at);
        Ok(())
    }

    fn next_pcapng_block(&mut self) -> Result<Next, ReadError> {
        let start = self.offset;
        let mut head = [0u8; 8];
        let got = read_full(&mut self.input, &mut head).map_err(ReadError::io(&self.path))?;
        if got == 0 {
            return Ok(Next::End);
        }
        if got < head.len() {
            self.truncate(start, format!("block header cut after {got} bytes"));
            return Ok(Next::End);
        }
        if head[..4] == [0x0A, 0x0D, 0x0D, 0x0A] {
            // A new section, perhaps in the other byte order.
            let mut magic = [0u8; 4];
            let got = read_full(&mut self.input, &mut magic).map_err(ReadError::io(&self.path))?;
            if got < magic.len() {
                self.truncate(start, format!("section header cut after {} bytes", 8 + got));
                return Ok(Next::End);
            }
            self.read_shb(start, &head[4..8], &magic)?;
            return Ok(Next::Other);
        }
        let endian = self.endian;
        let block_type = endian.u32(&head, 0).unwrap_or(0);
        let total = endian.u32(&head, 4).unwrap_or(0);
        let remaining = self.check_block_length(start, block_type, total, 12)?;
        if !self.read_block_bytes(remaining)? {
            let got = self.block.len();
            self.truncate(
                start,
                format!(
                    "last block (type 0x{block_type:08x}, {total} bytes) cut after {} bytes: the writer stopped mid-write",
                    8 + got
                ),
            );
            return Ok(Next::End);
        }
        self.check_trailer(start, endian, total)?;
        self.offset = start + u64::from(total);
        match block_type {
            IDB_TYPE => {
                self.read_idb(start)?;
                Ok(Next::Other)
            }
            EPB_TYPE => self.read_epb(start, false).map(Next::Packet),
            PB_TYPE => self.read_epb(start, true).map(Next::Packet),
            SPB_TYPE => self.read_spb(start).map(Next::Packet),
            // Name resolution, statistics, secrets, custom, ...: not needed.
            _ => Ok(Next::Other),
        }
    }

    fn read_idb(&mut self, start: u64) -> Result<(), ReadError> {
        let e = self.endian;
        let (Some(link_type), Some(snaplen)) = (e.u16(&self.block, 0), e.u32(&self.block, 4))
        else {
            return Err(self.corrupt(start, "interface description too short"));
        };
        let mut interface = Interface {
            link_type,
            snaplen,
            name: None,
            description: None,
            resolution: TimeResolution::Decimal(6),
            offset_s: 0,
            section: self.sections.saturating_sub(1),
        };
        for (code, value) in options(e, self.block.get(8..).unwrap_or_default())
            .map_err(|why| self.corrupt(start, format!("interface description: {why}")))?
        {
            match code {
                IF_NAME => interface.name = Some(option_text(value)),
                IF_DESCRIPTION => interface.description = Some(option_text(value)),
                IF_TSRESOL => {
                    if let Some(&byte) = value.first() {
                        interface.resolution = TimeResolution::from_option(byte);
                    }
                }
                IF_TSOFFSET => {
                    interface.offset_s = e.i64(value, 0).ok_or_else(|| {
                        self.corrupt(
                            start,
                            "interface description: if_tsoffset shorter than 8 bytes",
                        )
                    })?;
                }
                _ => {}
            }
        }
        self.section_interfaces.push(self.interfaces.len());
        self.interfaces.push(interface);
        Ok(())
    }

    /// The interface of this section numbered `id`.
    fn interface(&self, start: u64, id: u32) -> Result<(usize, &Interface), ReadError> {
        let index = usize::try_from(id)
            .ok()
            .and_then(|id| self.section_interfaces.get(id))
            .copied();
        match index.and_then(|i| Some((i, self.interfaces.get(i)?))) {
            Some(found) => Ok(found),
            None => {
                let described = match self.section_interfaces.len() {
                    0 => "no interface".to_string(),
                    1 => "only interface 0".to_string(),
                    n => format!("only interfaces 0 to {}", n - 1),
                };
                Err(self.corrupt(
                    start,
                    format!(
                        "packet on interface {id}, but the section describes {described} before it"
                    ),
                ))
            }
        }
    }

    /// Enhanced Packet Block, or the obsolete Packet Block (`obsolete`),
    /// whose interface number is 16 bits followed by a drop counter.
    fn read_epb(&mut self, start: u64, obsolete: bool) -> Result<Pending, ReadError> {
        let e = self.endian;
        let id = if obsolete {
            e.u16(&self.block, 0).map(u32::from)
        } else {
            e.u32(&self.block, 0)
        };
        let fields = (
            id,
            e.u32(&self.block, 4),
            e.u32(&self.block, 8),
            e.u32(&self.block, 12),
            e.u32(&self.block, 16),
        );
        let (Some(id), Some(high), Some(low), Some(captured), Some(original_len)) = fields else {
            return Err(self.corrupt(start, "packet block too short for its header"));
        };
        let data_end = 20usize.saturating_add(captured as usize);
        if data_end > self.block.len() {
            return Err(self.corrupt(
                start,
                format!(
                    "packet block claims {captured} captured bytes but holds only {}",
                    self.block.len().saturating_sub(20)
                ),
            ));
        }
        let (index, interface) = self.interface(start, id)?;
        let ticks = (u64::from(high) << 32) | u64::from(low);
        Ok(Pending {
            interface: index,
            time: Some(interface.resolution.to_time(ticks, interface.offset_s)),
            data: 20..data_end,
            original_len,
            offset: start,
        })
    }

    /// Simple Packet Block: interface 0, no time; captured bytes are the
    /// original length cut to the snap length and to what the block holds.
    fn read_spb(&mut self, start: u64) -> Result<Pending, ReadError> {
        let Some(original_len) = self.endian.u32(&self.block, 0) else {
            return Err(self.corrupt(start, "simple packet block too short"));
        };
        let (index, interface) = self.interface(start, 0)?;
        let mut captured = original_len as usize;
        if interface.snaplen != 0 {
            captured = captured.min(interface.snaplen as usize);
        }
        captured = captured.min(self.block.len().saturating_sub(4));
        Ok(Pending {
            interface: index,
            time: None,
            data: 4..4 + captured,
            original_len,
            offset: start,
        })
    }

    // ---- classic pcap ----

    /// The 24-byte file header after its magic.
    fn read_pcap_header(&mut self, endian: Endian, nanos: bool) -> Result<(), ReadError> {
        self.format = CaptureFormat::Pcap;
        self.endian = endian;
        self.pcap_nanos = nanos;
        if !self.read_block_bytes(20)? {
            let got = self.block.len();
            self.truncate(0, format!("pcap file header cut after {} bytes", 4 + got));
            return Ok(());
        }
        let major = endian.u16(&self.block, 0).unwrap_or(0);
        let snaplen = endian.u32(&self.block, 12).unwrap_or(0);
        // Upper bits carry FCS information; the link type is the low 16.
        let link_type = endian.u32(&self.block, 16).unwrap_or(0) & 0xFFFF;
        if major != 2 {
            return Err(self.corrupt(
                4,
                format!("pcap version {major}; this reader knows version 2"),
            ));
        }
        self.interfaces.push(Interface {
            link_type: link_type as u16,
            snaplen,
            name: None,
            description: None,
            resolution: TimeResolution::Decimal(if nanos { 9 } else { 6 }),
            offset_s: 0,
            section: 0,
        });
        self.offset = 24;
        Ok(())
    }

    fn next_pcap_record(&mut self) -> Result<Next, ReadError> {
        let start = self.offset;
        let mut head = [0u8; 24];
        let head = &mut head[..16 + self.pcap_record_extra];
        let got = read_full(&mut self.input, head).map_err(ReadError::io(&self.path))?;
        if got == 0 {
            return Ok(Next::End);
        }
        if got < head.len() {
            self.truncate(
                start,
                format!("last packet record header cut after {got} bytes"),
            );
            return Ok(Next::End);
        }
        let e = self.endian;
        let secs = e.u32(head, 0).unwrap_or(0);
        let frac = e.u32(head, 4).unwrap_or(0);
        let captured = e.u32(head, 8).unwrap_or(0);
        let original_len = e.u32(head, 12).unwrap_or(0);
        if captured > MAX_BLOCK_BYTES {
            return Err(self.corrupt(
                start,
                format!(
                    "packet record claims {captured} captured bytes, more than any real packet: the file is damaged here"
                ),
            ));
        }
        if !self.read_block_bytes(captured as usize)? {
            let got = self.block.len();
            self.truncate(
                start,
                format!(
                    "last packet ({captured} bytes) cut after {got}: the capture stopped mid-write"
                ),
            );
            return Ok(Next::End);
        }
        self.offset = start + (16 + self.pcap_record_extra) as u64 + u64::from(captured);
        let per_sec: u64 = if self.pcap_nanos {
            1_000_000_000
        } else {
            1_000_000
        };
        // Fits: 2^32 * 10^9 < 2^64. A fraction of a second or more is
        // carried, not rejected.
        let ticks = u64::from(secs) * per_sec + u64::from(frac);
        let resolution = TimeResolution::Decimal(if self.pcap_nanos { 9 } else { 6 });
        Ok(Next::Packet(Pending {
            interface: 0,
            time: Some(resolution.to_time(ticks, 0)),
            data: 0..captured as usize,
            original_len,
            offset: start,
        }))
    }
}

impl<R: Read> Iterator for PacketReader<R> {
    type Item = Result<OwnedPacket, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_packet() {
            Ok(Some(packet)) => Some(Ok(packet.into_owned())),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// The options of a block: `(code, value)` up to `opt_endofopt` or the end.
fn options(endian: Endian, mut bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, String> {
    let mut found = Vec::new();
    while bytes.len() >= 4 {
        let code = endian.u16(bytes, 0).unwrap_or(0);
        let len = usize::from(endian.u16(bytes, 2).unwrap_or(0));
        if code == OPT_ENDOFOPT {
            break;
        }
        let padded = len.next_multiple_of(4);
        let Some(value) = bytes.get(4..4 + len) else {
            return Err(format!(
                "option {code} claims {len} bytes, more than are left in the block"
            ));
        };
        found.push((code, value));
        bytes = bytes.get(4 + padded..).unwrap_or_default();
    }
    Ok(found)
}

/// A text option; some writers end it with NULs, which are not part of it.
fn option_text(value: &[u8]) -> String {
    let end = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(value.get(..end).unwrap_or_default()).into_owned()
}

/// Read until `buf` is full or the input ends; the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let Some(rest) = buf.get_mut(got..) else {
            break;
        };
        match input.read(rest) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcapng::PcapngWriter;
    use std::time::{Duration, SystemTime};

    /// Builds pcapng files by hand, in either byte order.
    struct Builder {
        big: bool,
        bytes: Vec<u8>,
    }

    impl Builder {
        fn new() -> Self {
            Self {
                big: false,
                bytes: Vec::new(),
            }
        }

        fn u16(&self, v: u16) -> [u8; 2] {
            if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        fn u32(&self, v: u32) -> [u8; 4] {
            if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        fn block(&mut self, block_type: u32, body: &[u8]) -> &mut Self {
            let mut body = body.to_vec();
            body.resize(body.len().next_multiple_of(4), 0);
            let total = (body.len() + 12) as u32;
            let head = [self.u32(block_type), self.u32(total)].concat();
            self.bytes.extend_from_slice(&head);
            self.bytes.extend_from_slice(&body);
            let tail = self.u32(total);
            self.bytes.extend_from_slice(&tail);
            self
        }

        fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
            body.extend_from_slice(&self.u16(code));
            body.extend_from_slice(&self.u16(value.len() as u16));
            body.extend_from_slice(value);
            body.resize(body.len().next_multiple_of(4), 0);
        }

        /// A section header, switching the byte order from here on.
        fn shb(&mut self, big: bool) -> &mut Self {
            self.big = big;
            let mut body = Vec::new();
            body.extend_from_slice(&self.u32(0x1A2B_3C4D));
            body.extend_from_slice(&self.u16(1));
            body.extend_from_slice(&self.u16(0));
            body.extend_from_slice(&[0xFF; 8]);
            self.option(&mut body, 4, b"hand-made");
            self.option(&mut body, 0, b"");
            self.block(SHB_TYPE, &body)
        }

        fn idb(&mut self, snaplen: u32, options: &[(u16, Vec<u8>)]) -> &mut Self {
            let mut body = Vec::new();
            body.extend_from_slice(&self.u16(1));
            body.extend_from_slice(&self.u16(0));
            body.extend_from_slice(&self.u32(snaplen));
            for (code, value) in options {
                self.option(&mut body, *code, value);
            }
            if !options.is_empty() {
                self.option(&mut body, 0, b"");
            }
            self.block(IDB_TYPE, &body)
        }

        fn epb(&mut self, interface: u32, ticks: u64, data: &[u8], original: u32) -> &mut Self {
            let mut body = Vec::new();
            body.extend_from_slice(&self.u32(interface));
            body.extend_from_slice(&self.u32((ticks >> 32) as u32));
            body.extend_from_slice(&self.u32(ticks as u32));
            body.extend_from_slice(&self.u32(data.len() as u32));
            body.extend_from_slice(&self.u32(original));
            body.extend_from_slice(data);
            body.resize(body.len().next_multiple_of(4), 0);
            // An epb_flags option, which the reader does not need.
            self.option(&mut body, 2, &self.u32(1));
            self.option(&mut body, 0, b"");
            self.block(EPB_TYPE, &body)
        }

        fn obsolete_pb(&mut self, interface: u16, ticks: u64, data: &[u8]) -> &mut Self {
            let mut body = Vec::new();
            body.extend_from_slice(&self.u16(interface));
            body.extend_from_slice(&self.u16(7));
            body.extend_from_slice(&self.u32((ticks >> 32) as u32));
            body.extend_from_slice(&self.u32(ticks as u32));
            body.extend_from_slice(&self.u32(data.len() as u32));
            body.extend_from_slice(&self.u32(data.len() as u32));
            body.extend_from_slice(data);
            self.block(PB_TYPE, &body)
        }

        fn spb(&mut self, original: u32, data: &[u8]) -> &mut Self {
            let mut body = self.u32(original).to_vec();
            body.extend_from_slice(data);
            self.block(SPB_TYPE, &body)
        }
    }

    fn read_bytes(bytes: &[u8]) -> Result<(Vec<OwnedPacket>, PacketReader<&[u8]>), ReadError> {
        let mut reader = PacketReader::from_reader(Path::new("test.pcapng"), bytes)?;
        let mut packets = Vec::new();
        while let Some(p) = reader.next_packet()? {
            packets.push(p.into_owned());
        }
        Ok((packets, reader))
    }

    /// Big-endian section: nanosecond interface with an offset, an unknown
    /// block, a name resolution block, EPB, SPB and obsolete PB. Then a
    /// little-endian section with a 2^-20 interface.
    fn two_sections() -> Vec<u8> {
        let mut b = Builder::new();
        b.shb(true)
            .idb(
                0,
                &[
                    (IF_NAME, b"phone-a".to_vec()),
                    (IF_TSRESOL, vec![9]),
                    (IF_TSOFFSET, 100i64.to_be_bytes().to_vec()),
                    (IF_DESCRIPTION, b"tap\0\0".to_vec()),
                ],
            )
            .block(0x0BAD_F00D, b"unknown to everyone")
            .block(0x0000_0004, &[0; 8])
            .epb(0, 1_700_000_000_123_456_789, &[0xAA; 5], 64)
            .spb(3, &[1, 2, 3])
            .obsolete_pb(0, 1_700_000_001_000_000_000, &[9, 9]);
        b.shb(false)
            .idb(
                2,
                &[
                    (IF_NAME, b"phone-b".to_vec()),
                    (IF_TSRESOL, vec![0x80 | 20]),
                ],
            )
            .epb(0, (1_700_000_000u64 << 20) | (1 << 19), &[7; 4], 4)
            .spb(10, &[5; 12]);
        b.bytes
    }

    #[test]
    fn reads_hand_built_sections_in_both_byte_orders() {
        let bytes = two_sections();
        let (packets, reader) = read_bytes(&bytes).unwrap();
        assert_eq!(reader.format(), CaptureFormat::Pcapng);
        assert!(reader.truncated().is_none());
        assert_eq!(reader.packets_read(), 5);
        let ifs = reader.interfaces();
        assert_eq!(ifs.len(), 2);
        assert_eq!(ifs[0].name.as_deref(), Some("phone-a"));
        assert_eq!(ifs[0].description.as_deref(), Some("tap"));
        assert_eq!(ifs[0].resolution, TimeResolution::Decimal(9));
        assert_eq!(ifs[0].offset_s, 100);
        assert_eq!((ifs[0].section, ifs[1].section), (0, 1));
        assert_eq!(ifs[1].resolution, TimeResolution::Binary(20));
        assert_eq!(ifs[1].snaplen, 2);

        assert_eq!(packets[0].interface, 0);
        assert_eq!(
            packets[0].time,
            Some(UtcTime {
                secs: 1_700_000_100,
                nanos: 123_456_789
            })
        );
        assert_eq!(
            (packets[0].data.as_slice(), packets[0].original_len),
            (&[0xAA; 5][..], 64)
        );
        // SPB: no time, interface 0 of its section, 3 bytes of 4 padded.
        assert_eq!(packets[1].time, None);
        assert_eq!(packets[1].data, [1, 2, 3]);
        assert_eq!(
            packets[2].time,
            Some(UtcTime {
                secs: 1_700_000_101,
                nanos: 0
            })
        );
        assert_eq!(packets[2].data, [9, 9]);
        // Second section: its interface 0 is the file's interface 1.
        assert_eq!(packets[3].interface, 1);
        assert_eq!(
            packets[3].time,
            Some(UtcTime {
                secs: 1_700_000_000,
                nanos: 500_000_000
            })
        );
        // SPB cut to the snap length of 2.
        assert_eq!(
            (packets[4].interface, packets[4].data.as_slice()),
            (1, &[5, 5][..])
        );
        assert_eq!(packets[4].original_len, 10);
        // Offsets point at the blocks.
        assert_eq!(
            &bytes[packets[3].offset as usize..][..4],
            &6u32.to_le_bytes()
        );
    }

    #[test]
    fn time_resolutions() {
        let t = |res: u8, ticks: u64| TimeResolution::from_option(res).to_time(ticks, 0);
        assert_eq!(
            t(6, 1_500_000),
            UtcTime {
                secs: 1,
                nanos: 500_000_000
            }
        );
        assert_eq!(t(9, 1_000_000_001), UtcTime { secs: 1, nanos: 1 });
        assert_eq!(t(0, 42), UtcTime { secs: 42, nanos: 0 });
        assert_eq!(
            t(3, 1_234),
            UtcTime {
                secs: 1,
                nanos: 234_000_000
            }
        );
        assert_eq!(
            t(12, 1_000_000_000_001_500),
            UtcTime {
                secs: 1000,
                nanos: 1
            }
        );
        assert_eq!(
            t(0x80 | 20, (3 << 20) | (1 << 18)),
            UtcTime {
                secs: 3,
                nanos: 250_000_000
            }
        );
        assert_eq!(t(0x80, 7), UtcTime { secs: 7, nanos: 0 });
        // Extremes do not panic.
        for res in 0..=255u8 {
            for ticks in [0, 1, u64::MAX] {
                let time = t(res, ticks);
                assert!(time.nanos < 1_000_000_000, "{res} {ticks}");
            }
        }
        assert_eq!(t(30, u64::MAX).secs, 0);
        let late = TimeResolution::Decimal(0).to_time(u64::MAX, i64::MAX);
        assert_eq!(late.secs, i64::MAX);
    }

    #[test]
    fn reads_what_the_pcapng_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.pcapng");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let mut writer = PcapngWriter::create(&path, &["phone-a", "phone-b", "phone-c"]).unwrap();
        let mut sent = Vec::new();
        for i in 0..50u32 {
            let time = t0 + Duration::from_micros(u64::from(i) * 12_345 + 7);
            let frame: Vec<u8> = (0..(i % 70) as u8).collect();
            let interface = i % 3;
            writer
                .packet(interface, time, &frame, frame.len() as u32 + i)
                .unwrap();
            let original = frame.len() as u32 + i;
            sent.push((
                interface as usize,
                UtcTime::from_system_time(time),
                frame,
                original,
            ));
        }
        writer.finish().unwrap();

        let reader = PacketReader::open(&path).unwrap();
        let names: Vec<_> = reader
            .interfaces()
            .iter()
            .map(|i| i.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["phone-a", "phone-b", "phone-c"]);
        assert!(reader.interfaces().iter().all(|i| i.link_type == 1));
        let got: Vec<_> = reader
            .map(|p| {
                let p = p.unwrap();
                (p.interface, p.time.unwrap(), p.data, p.original_len)
            })
            .collect();
        assert_eq!(got, sent);
    }

    /// Classic pcap, by hand.
    fn classic(big: bool, nanos: bool, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let u32b = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let magic = if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 };
        let mut bytes = u32b(magic).to_vec();
        bytes.extend_from_slice(&u16b(2));
        bytes.extend_from_slice(&u16b(4));
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&u32b(65535));
        // Link type 1 with FCS bits set above it.
        bytes.extend_from_slice(&u32b(0x1000_0001));
        for (secs, frac, data, original) in records {
            bytes.extend_from_slice(&u32b(*secs));
            bytes.extend_from_slice(&u32b(*frac));
            bytes.extend_from_slice(&u32b(data.len() as u32));
            bytes.extend_from_slice(&u32b(*original));
            bytes.extend_from_slice(data);
        }
        bytes
    }

    /// Kuznetzov's modified pcap: 8 more bytes per record header.
    #[test]
    fn reads_the_modified_pcap_format() {
        for big in [false, true] {
            let plain = classic(big, false, &[]);
            let mut bytes = if big {
                0xA1B2_CD34u32.to_be_bytes().to_vec()
            } else {
                0xA1B2_CD34u32.to_le_bytes().to_vec()
            };
            bytes.extend_from_slice(&plain[4..]);
            let u32b = |v: u32| {
                if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            };
            for (secs, data) in [
                (1_509_717_326u32, &[1u8, 2, 3][..]),
                (1_509_717_327, &[4, 5]),
            ] {
                bytes.extend_from_slice(&u32b(secs));
                bytes.extend_from_slice(&u32b(250_000));
                bytes.extend_from_slice(&u32b(data.len() as u32));
                bytes.extend_from_slice(&u32b(data.len() as u32));
                bytes.extend_from_slice(&[0, 0, 0, 2, 0x08, 0x00, 4, 0]);
                bytes.extend_from_slice(data);
            }
            let (packets, reader) = read_bytes(&bytes).unwrap();
            assert_eq!(reader.format(), CaptureFormat::Pcap);
            let data: Vec<&[u8]> = packets.iter().map(|p| p.data.as_slice()).collect();
            assert_eq!(data, [&[1u8, 2, 3][..], &[4, 5]], "big-endian: {big}");
        }
    }

    #[test]
    fn reads_classic_pcap_in_every_flavour() {
        for big in [false, true] {
            for nanos in [false, true] {
                let frac = if nanos { 123_456_789 } else { 123_456 };
                let bytes = classic(
                    big,
                    nanos,
                    &[
                        (1_509_717_326, frac, &[1, 2, 3], 60),
                        (1_509_717_327, 0, &[], 0),
                    ],
                );
                let (packets, reader) = read_bytes(&bytes).unwrap();
                assert_eq!(reader.format(), CaptureFormat::Pcap);
                assert!(reader.truncated().is_none());
                let iface = &reader.interfaces()[0];
                assert_eq!((iface.link_type, iface.snaplen), (1, 65535));
                assert_eq!(packets.len(), 2);
                let nanos_expected = if nanos { 123_456_789 } else { 123_456_000 };
                assert_eq!(
                    packets[0].time,
                    Some(UtcTime {
                        secs: 1_509_717_326,
                        nanos: nanos_expected
                    }),
                    "big {big} nanos {nanos}"
                );
                assert_eq!(
                    (packets[0].data.as_slice(), packets[0].original_len),
                    (&[1, 2, 3][..], 60)
                );
                assert_eq!(packets[1].offset, 24 + 16 + 3);
            }
        }
    }

    /// Cut a file at every byte: never an error or panic, every packet
    /// wholly before the cut read, the cut flagged unless it falls between
    /// blocks.
    fn check_every_cut(bytes: &[u8], block_ends: &[usize], packets_by_end: &[(usize, usize)]) {
        let (all, _) = read_bytes(bytes).unwrap();
        for cut in 0..=bytes.len() {
            let (packets, reader) =
                read_bytes(&bytes[..cut]).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            let expected = packets_by_end.iter().filter(|(end, _)| *end <= cut).count();
            assert_eq!(packets.len(), expected, "cut at {cut}");
            assert_eq!(packets, all[..expected], "cut at {cut}");
            let clean = block_ends.contains(&cut);
            assert_eq!(
                reader.truncated().is_none(),
                clean,
                "cut at {cut}: {:?}",
                reader.truncated()
            );
        }
    }

    /// Where each block ends, walking a pcapng's lengths.
    fn pcapng_block_ends(bytes: &[u8]) -> Vec<usize> {
        let mut ends = vec![];
        let mut at = 0;
        let mut big = false;
        while at < bytes.len() {
            if bytes[at..at + 4] == [0x0A, 0x0D, 0x0D, 0x0A] {
                big = bytes[at + 8] == 0x1A;
            }
            let len: [u8; 4] = bytes[at + 4..at + 8].try_into().unwrap();
            let len = if big {
                u32::from_be_bytes(len)
            } else {
                u32::from_le_bytes(len)
            };
            at += len as usize;
            ends.push(at);
        }
        ends
    }

    #[test]
    fn a_pcapng_cut_at_any_byte_reads_up_to_the_cut() {
        let mut b = Builder::new();
        b.shb(false)
            .idb(0, &[(IF_NAME, b"phone-a".to_vec()), (IF_TSRESOL, vec![6])])
            .epb(0, 1, &[1; 7], 7)
            .block(0x0000_0005, &[0; 16])
            .spb(2, &[2, 2])
            .epb(0, 3, &[3; 3], 3);
        let bytes = b.bytes;
        let ends = pcapng_block_ends(&bytes);
        assert_eq!(ends.len(), 6);
        // A file cut before its section header was whole is still "cut";
        // the empty file too (a recorder that died before its first flush).
        let clean: Vec<usize> = ends.clone();
        let packets = [(ends[2], 0), (ends[4], 1), (ends[5], 2)];
        check_every_cut(&bytes, &clean, &packets);
        // The SHB written by dumpcap in big-endian too.
        let mut b = Builder::new();
        b.shb(true).idb(0, &[]).epb(0, 5, &[1, 2, 3, 4, 5], 5);
        let bytes = b.bytes;
        let ends = pcapng_block_ends(&bytes);
        check_every_cut(&bytes, &ends, &[(ends[2], 0)]);
    }

    #[test]
    fn a_classic_pcap_cut_at_any_byte_reads_up_to_the_cut() {
        let bytes = classic(
            true,
            false,
            &[(1, 2, &[1; 5], 5), (3, 4, &[], 9), (5, 6, &[6; 2], 2)],
        );
        let ends = [24, 24 + 21, 24 + 21 + 16, 24 + 21 + 16 + 18];
        check_every_cut(&bytes, &ends, &[(ends[1], 0), (ends[2], 1), (ends[3], 2)]);
    }

    #[test]
    fn damage_in_the_middle_is_an_error_with_its_offset() {
        let bytes = two_sections();
        let ends = pcapng_block_ends(&bytes);

        // The trailer of the unknown block (the 3rd) disagrees with its head.
        let mut bad = bytes.clone();
        bad[ends[2] - 1] ^= 0x40;
        let err = read_bytes(&bad).err().unwrap().to_string();
        assert!(
            err.contains(&format!("test.pcapng at byte {}:", ends[1])),
            "{err}"
        );
        assert!(err.contains("does not match"), "{err}");

        // A length not a multiple of 4 (big-endian section: last byte).
        let mut bad = bytes.clone();
        bad[ends[3] + 7] = 0x0D;
        let err = read_bytes(&bad).err().unwrap().to_string();
        assert!(
            err.contains(&format!("at byte {}", ends[3])) && err.contains("claims a length"),
            "{err}"
        );

        // A length of 2 GiB is refused before anything is allocated.
        let mut bad = bytes.clone();
        bad[ends[3] + 4] = 0x80;
        let err = read_bytes(&bad).err().unwrap().to_string();
        assert!(err.contains("more than the 16 MiB"), "{err}");

        // A packet on an interface nobody described (EPB is the 5th block).
        let mut bad = bytes.clone();
        bad[ends[3] + 11] = 3;
        let err = read_bytes(&bad).err().unwrap().to_string();
        assert!(
            err.contains(&format!("at byte {}: packet on interface 3", ends[3])),
            "{err}"
        );

        // Captured length beyond the block.
        let mut bad = bytes.clone();
        bad[ends[3] + 8 + 14] = 0x7F;
        let err = read_bytes(&bad).err().unwrap().to_string();
        assert!(err.contains("captured bytes but holds only"), "{err}");

        // A bad byte-order magic in the second section header.
        let mut bad = bytes.clone();
        bad[ends[6] + 8] = 0;
        let err = read_bytes(&bad).err().unwrap().to_string();
        assert!(
            err.contains(&format!(
                "at byte {}: section header with an unknown byte-order",
                ends[6] + 8
            )),
            "{err}"
        );

        // Not a capture at all.
        let err = read_bytes(b"hello world").err().unwrap().to_string();
        assert!(
            err.contains("at byte 0: not a pcapng or pcap capture (it starts with 68 65 6c 6c)"),
            "{err}"
        );

        // An error ends the capture: reading on gives nothing, not a loop.
        let mut bad = bytes.clone();
        bad[ends[3] + 11] = 3;
        let mut reader = PacketReader::from_reader(Path::new("x"), &bad[..]).unwrap();
        assert!(reader.next_packet().is_err());
        assert!(reader.next_packet().unwrap().is_none());

        // Classic pcap: an absurd record length.
        let mut bad = classic(false, false, &[(1, 2, &[1; 5], 5), (3, 4, &[], 9)]);
        bad[24 + 21 + 11] = 0x7F;
        let err = read_bytes(&bad).err().unwrap().to_string();
        assert!(
            err.contains(&format!("at byte {}: packet record claims", 24 + 21)),
            "{err}"
        );
    }

    #[test]
    fn damaged_files_never_panic() {
        let files = [
            two_sections(),
            classic(false, true, &[(1, 2, &[1; 5], 5), (3, 4, &[7; 40], 90)]),
        ];
        // A small xorshift: deterministic, no dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for file in &files {
            for _ in 0..3000 {
                let mut bad = file.clone();
                for _ in 0..1 + random() % 4 {
                    let at = (random() % bad.len() as u64) as usize;
                    bad[at] = random() as u8;
                }
                let cut = (random() % (bad.len() as u64 + 1)) as usize;
                // Any outcome but a panic (or a hang) is fine.
                let _ = read_bytes(&bad[..cut]);
                let _ = read_bytes(&bad);
            }
        }
    }

    fn nefias_dir() -> Option<&'static Path> {
        let dir = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/nefias"
        ));
        if dir.exists() {
            Some(dir)
        } else {
            println!("skipped: {} does not exist", dir.display());
            None
        }
    }

    fn read_all(path: &Path) -> (Vec<OwnedPacket>, PacketReader) {
        let mut reader = PacketReader::open(path).unwrap();
        let mut packets = Vec::new();
        while let Some(p) = reader.next_packet().unwrap() {
            packets.push(p.into_owned());
        }
        (packets, reader)
    }

    /// What Wireshark's own tools write: editcap's pcapng of a classic pcap
    /// reads as the same packets, and two editcap pieces of one capture
    /// concatenated (a two-section pcapng) read as the whole capture.
    #[test]
    fn reads_what_editcap_writes() {
        let Some(dir) = nefias_dir() else { return };
        let tmp = tempfile::tempdir().unwrap();
        let editcap = |args: &[&std::ffi::OsStr]| {
            std::process::Command::new("editcap")
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let classic = dir.join("SCC_Faust_60.pcap");
        let converted = tmp.path().join("scc.pcapng");
        if !editcap(&[
            "-F".as_ref(),
            "pcapng".as_ref(),
            classic.as_os_str(),
            converted.as_os_str(),
        ]) {
            println!("skipped: editcap (Wireshark) not available");
            return;
        }
        let (original, _) = read_all(&classic);
        let (again, reader) = read_all(&converted);
        assert_eq!(reader.format(), CaptureFormat::Pcapng);
        assert_eq!(again, {
            // Offsets differ between the containers; the packets do not.
            let mut expected = original.clone();
            for (e, a) in expected.iter_mut().zip(&again) {
                e.offset = a.offset;
            }
            expected
        });

        let whole = dir.join("HTTPS_NWZ_Zeitung.pcap");
        let pieces = tmp.path().join("piece.pcapng");
        assert!(editcap(&[
            "-c".as_ref(),
            "3000".as_ref(),
            whole.as_os_str(),
            pieces.as_os_str()
        ]));
        let mut names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("piece")
            })
            .collect();
        names.sort();
        assert_eq!(names.len(), 2);
        let mut joined = std::fs::read(&names[0]).unwrap();
        joined.extend(std::fs::read(&names[1]).unwrap());
        let (packets, reader) = read_bytes(&joined).unwrap();
        let (original, _) = read_all(&whole);
        assert_eq!(reader.interfaces().len(), 2);
        assert_eq!(reader.interfaces()[1].section, 1);
        assert_eq!(packets.len(), original.len());
        for (i, (p, o)) in packets.iter().zip(&original).enumerate() {
            assert_eq!(
                (p.time, &p.data, p.original_len),
                (o.time, &o.data, o.original_len),
                "packet {i}"
            );
            assert_eq!(p.interface, usize::from(i >= 3000), "packet {i}");
        }
    }

    #[test]
    fn the_nefias_captures_read() {
        let Some(dir) = nefias_dir() else { return };
        // Packet counts and first timestamps as tshark/capinfos report them.
        let expected = [
            (
                "HTTPS_NWZ_Zeitung.pcap",
                CaptureFormat::Pcapng,
                5000,
                1_599_683_571,
                598_230_921,
            ),
            (
                "SCC_ABABAB_40.pcap",
                CaptureFormat::Pcap,
                7640,
                1_509_717_326,
                806_588_000,
            ),
            (
                "SCC_Faust_60.pcap",
                CaptureFormat::Pcap,
                8408,
                1_509_726_965,
                215_286_000,
            ),
            (
                "TCC_ABABAB_40_80.pcap",
                CaptureFormat::Pcap,
                30533,
                1_509_734_336,
                164_839_000,
            ),
            (
                "TCC_Faust_GZ_60_120.pcap",
                CaptureFormat::Pcap,
                11045,
                1_509_977_299,
                280_309_000,
            ),
        ];
        for (name, format, count, secs, nanos) in expected {
            let path = dir.join(name);
            let mut reader = PacketReader::open(&path).unwrap();
            assert_eq!(reader.format(), format, "{name}");
            assert_eq!(reader.interfaces()[0].link_type, 1, "{name}");
            let mut n = 0u64;
            let mut first = None;
            let mut last = UtcTime::default();
            while let Some(packet) = reader.next_packet().unwrap() {
                let time = packet.time.unwrap();
                first.get_or_insert(time);
                last = last.max(time);
                assert_eq!(packet.interface, 0);
                assert!(packet.data.len() as u32 <= packet.original_len);
                n += 1;
            }
            assert_eq!(n, count, "{name}");
            assert_eq!(first, Some(UtcTime { secs, nanos }), "{name}");
            // Recorded in 2017..2020, minutes long.
            assert!(last.seconds_since(first.unwrap()) < 3600.0, "{name}");
            assert!(reader.truncated().is_none(), "{name}");
        }
    }
}
