//! DNS messages (RFC 1035 §4): reading what a DUT asked and what it was
//! told, and building the few messages the simulator answers with.
//!
//! The reader is strict about structure and lenient about content. Every
//! count, length and compression pointer is checked against the message, a
//! pointer loop ends after [`MAX_POINTERS`] jumps, and any message that does
//! not add up is a [`DnsError`], never a panic: DNS payloads on a DUT's link
//! are exactly where an implant would put bytes no resolver ever sent. What
//! labels contain is not policed: a label of arbitrary bytes is legal DNS
//! (RFC 2181 §11), and exfiltration through such labels is something the
//! analyzer wants to see, not something the parser should refuse to show.
//!
//! Names come out as lowercase dotted text without the trailing dot
//! (`connectivitycheck.gstatic.com`; the root is `.`). DNS compares names
//! case-insensitively in ASCII only (RFC 4343 §3), so only `A`-`Z` are
//! folded. Bytes that would make the text ambiguous (`.` and `\` inside a
//! label, spaces, control and non-ASCII bytes) are written `\DDD` in
//! decimal, as in master files (RFC 1035 §5.1), so splitting the text on
//! `.` always gives the real labels.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::packet::{Packet, Transport};

/// The DNS port for UDP and TCP (RFC 1035 §4.2).
pub const PORT: u16 = 53;

/// The Internet class (RFC 1035 §3.2.4).
pub const CLASS_IN: u16 = 1;

/// The most compression pointers one name may follow. A legal name has at
/// most 127 labels (255 octets, two per label at least), and each pointer
/// in a sane message leads to at least one label, so more jumps than that
/// can only be a loop.
pub const MAX_POINTERS: usize = 127;

/// The longest name on the wire, length bytes and root included
/// (RFC 1035 §2.3.4).
pub const MAX_NAME_OCTETS: usize = 255;

/// The longest label (RFC 1035 §2.3.4); the two top bits of a length byte
/// mark pointers, so a plain label cannot be longer anyway.
pub const MAX_LABEL_OCTETS: usize = 63;

const HEADER_LEN: usize = 12;

/// Resource record types this module knows by name (IANA "Resource Record
/// (RR) TYPEs").
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const OPT: u16 = 41;
    pub const SVCB: u16 = 64;
    pub const HTTPS: u16 = 65;
    pub const ANY: u16 = 255;

    /// The mnemonic, or `TYPE<n>` for the rest (RFC 3597 §5), for evidence
    /// text such as "A query for time.android.com".
    pub fn name(t: u16) -> String {
        match t {
            A => "A".into(),
            NS => "NS".into(),
            CNAME => "CNAME".into(),
            SOA => "SOA".into(),
            PTR => "PTR".into(),
            MX => "MX".into(),
            TXT => "TXT".into(),
            AAAA => "AAAA".into(),
            SRV => "SRV".into(),
            OPT => "OPT".into(),
            SVCB => "SVCB".into(),
            HTTPS => "HTTPS".into(),
            ANY => "ANY".into(),
            n => format!("TYPE{n}"),
        }
    }
}

/// Why a DNS message could not be read. Offsets count from the first byte
/// of the message (after the length prefix, for TCP).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("message ends inside the {what} at byte {offset}")]
    Truncated { what: &'static str, offset: usize },
    #[error(
        "compression pointer at byte {offset} points to byte {target}, past the end of the {len}-byte message"
    )]
    PointerOutOfRange {
        offset: usize,
        target: usize,
        len: usize,
    },
    #[error(
        "name at byte {offset} follows more than {MAX_POINTERS} compression pointers: a pointer loop"
    )]
    PointerLoop { offset: usize },
    #[error("name at byte {offset} is longer than {MAX_NAME_OCTETS} bytes")]
    NameTooLong { offset: usize },
    #[error("label at byte {offset} has the reserved type bits of 0x{byte:02x}")]
    ReservedLabel { offset: usize, byte: u8 },
    #[error("{rtype} record data at byte {offset}: {reason}")]
    BadRdata {
        rtype: String,
        offset: usize,
        reason: String,
    },
    #[error("TCP length prefix announces {declared} bytes, {available} there")]
    TcpLength { declared: usize, available: usize },
}

/// The fixed header (RFC 1035 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    /// QR: a response, not a query.
    pub response: bool,
    /// 0 QUERY, 4 NOTIFY, 5 UPDATE, ...
    pub opcode: u8,
    pub authoritative: bool,
    /// TC: the answer did not fit and was cut (retry over TCP).
    pub truncated: bool,
    pub recursion_desired: bool,
    pub recursion_available: bool,
    /// 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ...
    pub rcode: u8,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

/// One entry of the question section (RFC 1035 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// What a resource record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// The canonical name the owner is an alias for.
    Cname(String),
    /// Any other type, as raw bytes (names inside are left compressed).
    Other(Vec<u8>),
}

/// A resource record (RFC 1035 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The owner name.
    pub name: String,
    pub rtype: u16,
    /// The class; for OPT (RFC 6891 §6.1.2) the requester's UDP size.
    pub class: u16,
    pub ttl: u32,
    pub data: RData,
}

/// A whole DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
    /// Bytes after the last record: in the UDP payload, or in the TCP segment
    /// after the message its length prefix announced. A resolver sends none;
    /// bytes here are someone else's data riding along.
    pub trailing: usize,
}

impl Message {
    pub fn is_response(&self) -> bool {
        self.header.response
    }

    /// The addresses of the A and AAAA records of the answer section, with
    /// their owner names.
    pub fn addresses(&self) -> impl Iterator<Item = (&str, IpAddr)> {
        self.answers.iter().filter_map(|r| match r.data {
            RData::A(a) => Some((r.name.as_str(), IpAddr::V4(a))),
            RData::Aaaa(a) => Some((r.name.as_str(), IpAddr::V6(a))),
            _ => None,
        })
    }
}

/// One option of an EDNS(0) OPT record (RFC 6891 §6.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdnsOption<'a> {
    /// The option code (IANA "DNS EDNS0 Option Codes (OPT)").
    pub code: u16,
    pub data: &'a [u8],
}

/// EDNS(0) option codes this module knows by name.
pub mod edns_option {
    /// Name server identifier (RFC 5001).
    pub const NSID: u16 = 3;
    /// DNSSEC algorithms understood (RFC 6975).
    pub const DAU: u16 = 5;
    pub const DHU: u16 = 6;
    pub const N3U: u16 = 7;
    /// Client subnet (RFC 7871).
    pub const CLIENT_SUBNET: u16 = 8;
    /// SOA expire (RFC 7314).
    pub const EXPIRE: u16 = 9;
    /// Cookie (RFC 7873).
    pub const COOKIE: u16 = 10;
    /// TCP keepalive (RFC 7828).
    pub const TCP_KEEPALIVE: u16 = 11;
    /// Padding (RFC 7830).
    pub const PADDING: u16 = 12;
    /// CHAIN (RFC 7901).
    pub const CHAIN: u16 = 13;
    /// Key tags (RFC 8145).
    pub const KEY_TAG: u16 = 14;
    /// Extended DNS error (RFC 8914).
    pub const EXTENDED_ERROR: u16 = 15;
    /// Client and server tags (draft-bellis-dnsop-edns-tags).
    pub const CLIENT_TAG: u16 = 16;
    pub const SERVER_TAG: u16 = 17;
    /// Report channel (RFC 9567).
    pub const REPORT_CHANNEL: u16 = 18;
}

/// An OPT pseudo-record read (RFC 6891 §6.1): what its class, TTL and data
/// mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edns<'a> {
    /// The owner name; the root (`.`) in every OPT a sender may send.
    pub owner: &'a str,
    /// The requester's UDP payload size (the record's class).
    pub udp_size: u16,
    /// The upper 8 bits of the extended RCODE (the TTL's first byte).
    pub ext_rcode: u8,
    pub version: u8,
    /// DO: DNSSEC records wanted (RFC 3225).
    pub dnssec_ok: bool,
    /// The flag bits after DO, which senders must set to zero (RFC 6891
    /// §6.1.4).
    pub z: u16,
    pub options: Vec<EdnsOption<'a>>,
    /// Bytes at the end of the data that do not make a whole option.
    pub leftover: usize,
}

impl Record {
    /// The record as an EDNS(0) OPT, if it is one.
    pub fn edns(&self) -> Option<Edns<'_>> {
        let RData::Other(data) = &self.data else {
            return None;
        };
        if self.rtype != rtype::OPT {
            return None;
        }
        let mut options = Vec::new();
        let mut rest = data.as_slice();
        while let Some((head, body)) = rest.split_first_chunk::<4>() {
            let code = u16::from_be_bytes([head[0], head[1]]);
            let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
            let Some(option) = body.get(..len) else {
                break;
            };
            options.push(EdnsOption { code, data: option });
            rest = &body[len..];
        }
        let [ext_rcode, version, flags @ ..] = self.ttl.to_be_bytes();
        let flags = u16::from_be_bytes(flags);
        Some(Edns {
            owner: &self.name,
            udp_size: self.class,
            ext_rcode,
            version,
            dnssec_ok: flags & 0x8000 != 0,
            z: flags & 0x7fff,
            options,
            leftover: rest.len(),
        })
    }
}

/// Parse a DNS message as carried in a UDP payload (RFC 1035 §4.2.1).
pub fn parse(msg: &[u8]) -> Result<Message, DnsError> {
    parse_with_extra(msg, 0)
}

/// Parse the first DNS message of a TCP segment: a two-byte length, then
/// the message (RFC 1035 §4.2.2, RFC 7766 §8). Bytes past the announced
/// length (a pipelined second message) count as `trailing`. A message split
/// over several segments cannot be read from one and is an error.
pub fn parse_tcp(segment: &[u8]) -> Result<Message, DnsError> {
    let Some((prefix, rest)) = segment.split_first_chunk::<2>() else {
        return Err(DnsError::Truncated {
            what: "TCP length prefix",
            offset: 0,
        });
    };
    let declared = usize::from(u16::from_be_bytes(*prefix));
    let Some(msg) = rest.get(..declared) else {
        return Err(DnsError::TcpLength {
            declared,
            available: rest.len(),
        });
    };
    parse_with_extra(msg, rest.len() - declared)
}

/// The DNS message of a UDP or TCP packet to or from port 53: `None` when
/// the packet is not DNS by its ports or is a TCP segment without data (a
/// handshake); `Some(Err)` when it should be DNS and is not readable.
pub fn parse_packet(packet: &Packet<'_>) -> Option<Result<Message, DnsError>> {
    match packet.transport {
        Transport::Udp { sport, dport } if sport == PORT || dport == PORT => {
            Some(parse(packet.payload))
        }
        Transport::Tcp { sport, dport, .. }
            if (sport == PORT || dport == PORT) && !packet.payload.is_empty() =>
        {
            Some(parse_tcp(packet.payload))
        }
        _ => None,
    }
}

fn parse_with_extra(msg: &[u8], extra: usize) -> Result<Message, DnsError> {
    let r = Reader { msg };
    let header = r.header()?;
    let mut at = HEADER_LEN;
    // No capacity from the counts: they are attacker-chosen, the message is
    // not. Each entry takes at least 5 bytes, so the loops are bounded by
    // the message length whatever the counts say.
    let mut questions = Vec::new();
    for _ in 0..header.qdcount {
        let (name, end) = r.name(at)?;
        let qtype = r.u16(end, "question")?;
        let qclass = r.u16(end + 2, "question")?;
        questions.push(Question {
            name,
            qtype,
            qclass,
        });
        at = end + 4;
    }
    let mut sections: [Vec<Record>; 3] = Default::default();
    for (section, count) in
        sections
            .iter_mut()
            .zip([header.ancount, header.nscount, header.arcount])
    {
        for _ in 0..count {
            let (record, end) = r.record(at)?;
            section.push(record);
            at = end;
        }
    }
    let [answers, authority, additional] = sections;
    Ok(Message {
        header,
        questions,
        answers,
        authority,
        additional,
        trailing: msg.len() - at + extra,
    })
}

struct Reader<'a> {
    msg: &'a [u8],
}

impl Reader<'_> {
    fn bytes(&self, at: usize, len: usize, what: &'static str) -> Result<&[u8], DnsError> {
        at.checked_add(len)
            .and_then(|end| self.msg.get(at..end))
            .ok_or(DnsError::Truncated { what, offset: at })
    }

    fn u16(&self, at: usize, what: &'static str) -> Result<u16, DnsError> {
        let b = self.bytes(at, 2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize, what: &'static str) -> Result<u32, DnsError> {
        let b = self.bytes(at, 4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn header(&self) -> Result<Header, DnsError> {
        self.bytes(0, HEADER_LEN, "header")?;
        let flags = self.u16(2, "header")?;
        Ok(Header {
            id: self.u16(0, "header")?,
            response: flags & 0x8000 != 0,
            opcode: ((flags >> 11) & 0x0f) as u8,
            authoritative: flags & 0x0400 != 0,
            truncated: flags & 0x0200 != 0,
            recursion_desired: flags & 0x0100 != 0,
            recursion_available: flags & 0x0080 != 0,
            rcode: (flags & 0x000f) as u8,
            qdcount: self.u16(4, "header")?,
            ancount: self.u16(6, "header")?,
            nscount: self.u16(8, "header")?,
            arcount: self.u16(10, "header")?,
        })
    }

    /// The name at `start` and the offset just after it where it stands
    /// (after its first pointer, if compressed).
    fn name(&self, start: usize) -> Result<(String, usize), DnsError> {
        let mut out = String::new();
        let mut pos = start;
        let mut end = None;
        let mut jumps = 0;
        // The root's zero byte counts too.
        let mut octets = 1;
        loop {
            let len = *self.bytes(pos, 1, "name")?.first().unwrap_or(&0);
            match len >> 6 {
                0b00 if len == 0 => {
                    if out.is_empty() {
                        out.push('.');
                    }
                    return Ok((out, end.unwrap_or(pos + 1)));
                }
                0b00 => {
                    let label = self.bytes(pos + 1, usize::from(len), "name")?;
                    octets += 1 + label.len();
                    if octets > MAX_NAME_OCTETS {
                        return Err(DnsError::NameTooLong { offset: start });
                    }
                    if !out.is_empty() {
                        out.push('.');
                    }
                    push_label(&mut out, label);
                    pos += 1 + label.len();
                }
                0b11 => {
                    // RFC 1035 §4.1.4: 14-bit offset from the message start.
                    let low = self.bytes(pos + 1, 1, "name")?.first().copied();
                    let target = usize::from(len & 0x3f) << 8 | usize::from(low.unwrap_or(0));
                    if end.is_none() {
                        end = Some(pos + 2);
                    }
                    jumps += 1;
                    if jumps > MAX_POINTERS {
                        return Err(DnsError::PointerLoop { offset: start });
                    }
                    if target >= self.msg.len() {
                        return Err(DnsError::PointerOutOfRange {
                            offset: pos,
                            target,
                            len: self.msg.len(),
                        });
                    }
                    pos = target;
                }
                // 0b01 was the extended label type of RFC 2671, deprecated
                // by RFC 6891 §5; 0b10 was never assigned.
                _ => {
                    return Err(DnsError::ReservedLabel {
                        offset: pos,
                        byte: len,
                    });
                }
            }
        }
    }

    /// A resource record at `at` and the offset after it.
    fn record(&self, at: usize) -> Result<(Record, usize), DnsError> {
        let (name, end) = self.name(at)?;
        let rtype = self.u16(end, "record header")?;
        let class = self.u16(end + 2, "record header")?;
        let ttl = self.u32(end + 4, "record header")?;
        let rdlen = usize::from(self.u16(end + 8, "record header")?);
        let start = end + 10;
        let rdata = self.bytes(start, rdlen, "record data")?;
        let bad = |reason: String| DnsError::BadRdata {
            rtype: rtype::name(rtype),
            offset: start,
            reason,
        };
        let data = match rtype {
            rtype::A => RData::A(Ipv4Addr::from(
                <[u8; 4]>::try_from(rdata)
                    .map_err(|_| bad(format!("{rdlen} bytes, an IPv4 address is 4")))?,
            )),
            rtype::AAAA => RData::Aaaa(Ipv6Addr::from(
                <[u8; 16]>::try_from(rdata)
                    .map_err(|_| bad(format!("{rdlen} bytes, an IPv6 address is 16")))?,
            )),
            rtype::CNAME => {
                // RFC 1035 §3.3.1: the data is exactly one name.
                let (target, name_end) = self.name(start)?;
                if name_end != start + rdlen {
                    return Err(bad(format!(
                        "the name takes {} bytes, the record says {rdlen}",
                        name_end.saturating_sub(start)
                    )));
                }
                RData::Cname(target)
            }
            _ => RData::Other(rdata.to_vec()),
        };
        Ok((
            Record {
                name,
                rtype,
                class,
                ttl,
                data,
            },
            start + rdlen,
        ))
    }
}

/// Append one label as lowercase text, escaping what would be ambiguous.
fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'A'..=b'Z' => out.push(char::from(b.to_ascii_lowercase())),
            b'.' | b'\\' => {
                let _ = write!(out, "\\{b:03}");
            }
            0x21..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}

/// `name` in wire form. Labels are taken as plain bytes between dots (no
/// escapes); empty labels are skipped, so a trailing dot is fine. Names the
/// wire cannot carry are cut rather than refused, since the builders serve
/// the simulator and tests, whose names are short by construction: a label
/// to 63 bytes, then whole labels from the end until the name fits 255.
fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let label = label.as_bytes();
        let label = label.get(..MAX_LABEL_OCTETS).unwrap_or(label);
        if out.len() + 1 + label.len() + 1 > MAX_NAME_OCTETS {
            break;
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// A recursive query for one name, class IN, as a stub resolver sends it
/// (RFC 1035 §4.1: RD set, one question, no EDNS).
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(name.len() + 18);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&encode_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m
}

/// A recursive resolver's NOERROR answer to an A query for `name`: the
/// question echoed, then one A record per address, each owner name a
/// pointer to the question (RFC 1035 §4.1.4), as resolvers compress it.
/// No addresses gives an empty NOERROR answer (NODATA).
pub fn build_response(query_id: u16, name: &str, addrs: &[Ipv4Addr], ttl: u32) -> Vec<u8> {
    let mut m = build_query(query_id, name, rtype::A);
    m[2..4].copy_from_slice(&0x8180u16.to_be_bytes()); // QR RD RA, NOERROR
    let count = u16::try_from(addrs.len()).unwrap_or(u16::MAX);
    m[6..8].copy_from_slice(&count.to_be_bytes());
    for a in addrs.iter().take(usize::from(count)) {
        m.extend_from_slice(&[0xc0, 0x0c]); // the question's name, at 12
        m.extend_from_slice(&rtype::A.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&4u16.to_be_bytes());
        m.extend_from_slice(&a.octets());
    }
    m
}

/// A resolver's empty NOERROR answer (NODATA) to a `qtype` query for
/// `name`: what a resolver of an IPv4-only network says to AAAA.
pub fn build_nodata(query_id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = build_query(query_id, name, qtype);
    m[2..4].copy_from_slice(&0x8180u16.to_be_bytes()); // QR RD RA, NOERROR
    m
}

/// `message` with the two-byte length prefix DNS over TCP needs
/// (RFC 1035 §4.2.2). A message over 65535 bytes cannot be sent over TCP;
/// it is cut to fit rather than announced wrongly.
pub fn tcp_framed(message: &[u8]) -> Vec<u8> {
    let len = u16::try_from(message.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(message.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message.get(..usize::from(len)).unwrap_or(message));
    out
}

/// The registrable domain of a DNS name: the part one owner registered,
/// by the Public Suffix List (its ICANN and private sections), so
/// `a.example.co.uk` is under `example.co.uk` (not `co.uk`, which every
/// British company shares) and `d1a2b3.cloudfront.net` is a CloudFront
/// customer's own (not CloudFront's). The `psl` crate, not a list of our
/// own: the list changes every week, and a hand-kept second-level list got
/// both cases wrong. A name the list knows no suffix for keeps its last two
/// labels (its rule `*`); a bare suffix or a one-label name has none.
/// Expects a lowercase name without the root dot.
pub fn registrable_domain(name: &str) -> Option<&str> {
    let domain = psl::domain(name.as_bytes())?;
    let len = domain.as_bytes().len();
    (len <= name.len()).then(|| &name[name.len() - len..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        use super::registrable_domain as r;
        assert_eq!(r("a.example.co.uk"), Some("example.co.uk"));
        assert_eq!(r("b.co.uk"), Some("b.co.uk"));
        assert_ne!(r("a.co.uk"), r("b.co.uk"), "two British companies");
        assert_eq!(r("x.y.example.com.au"), Some("example.com.au"));
        assert_eq!(r("d1a2b3.cloudfront.net"), Some("d1a2b3.cloudfront.net"));
        assert_ne!(r("alice.github.io"), r("bob.github.io"), "two Pages sites");
        assert_eq!(r("t.example.net"), Some("example.net"));
        assert_eq!(r("co.uk"), None);
        assert_eq!(r("printer.lan"), Some("printer.lan"));
    }

    use super::*;
    use crate::packet::{build, parse_ethernet};

    #[test]
    fn an_opt_record_reads_as_edns() {
        // A query with an OPT record: UDP size 1232, DO set, a cookie, 300
        // bytes in a private-use option, and 3 bytes that make no option.
        let mut m = build_query(9, "connectivitycheck.gstatic.com", rtype::A);
        m[10..12].copy_from_slice(&1u16.to_be_bytes());
        m.push(0);
        m.extend_from_slice(&rtype::OPT.to_be_bytes());
        m.extend_from_slice(&1232u16.to_be_bytes());
        m.extend_from_slice(&0x0000_8000u32.to_be_bytes());
        let mut data = vec![0, 10, 0, 8];
        data.extend_from_slice(&[7; 8]);
        data.extend_from_slice(&[0xfd, 0xe9, 0x01, 0x2c]);
        data.extend_from_slice(&[0x41; 300]);
        data.extend_from_slice(&[0, 12, 0]);
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(&data);
        let msg = parse(&m).unwrap();
        assert_eq!(msg.trailing, 0);
        let e = msg.additional[0].edns().expect("an OPT record");
        assert_eq!(
            (
                e.owner,
                e.udp_size,
                e.ext_rcode,
                e.version,
                e.dnssec_ok,
                e.z
            ),
            (".", 1232, 0, 0, true, 0)
        );
        let codes: Vec<(u16, usize)> = e.options.iter().map(|o| (o.code, o.data.len())).collect();
        assert_eq!(codes, [(edns_option::COOKIE, 8), (65001, 300)]);
        assert_eq!(e.leftover, 3);
        // Other records are not EDNS.
        let r = parse(&build_response(
            1,
            "a.example",
            &[Ipv4Addr::new(192, 0, 2, 1)],
            60,
        ))
        .unwrap();
        assert!(r.answers[0].edns().is_none());
    }

    #[test]
    fn nodata_echoes_the_question_and_answers_nothing() {
        let m = parse(&build_nodata(7, "time.android.com", rtype::AAAA)).expect("parses");
        assert!(m.is_response());
        assert_eq!(m.header.id, 7);
        assert_eq!(m.questions[0].qtype, rtype::AAAA);
        assert!(m.answers.is_empty());
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .collect();
        let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// A recursive resolver's answer to `A www.example.com` that goes
    /// through two CNAMEs to a CDN, laid out the way BIND and Unbound
    /// compress it: owner names point back into earlier records, the second
    /// CNAME's target reuses the tail of the first one's, and an EDNS OPT
    /// record closes the message. Checked with tshark, which decodes it as
    /// written in the comments.
    const CDN_ANSWER: &str = "
        be ef 81 80 00 01 00 04 00 00 00 01   # id, QR RD RA NOERROR, 1 question, 4 answers, 1 additional
        03 77 77 77 07 65 78 61 6d 70 6c 65   # @12 www.example.com
        03 63 6f 6d 00
        00 01 00 01                           # A IN
        c0 0c 00 05 00 01 00 00 0e 10 00 14   # @33 www.example.com CNAME, TTL 3600, 20 bytes:
        02 64 31 03 63 64 6e 07 65 78 61 6d   # @45 d1.cdn.example.net
        70 6c 65 03 6e 65 74 00
        c0 2d 00 05 00 01 00 00 00 3c 00 07   # @65 d1.cdn.example.net CNAME, TTL 60, 7 bytes:
        04 65 64 67 65 c0 30                  # @77 edge + @48 (cdn.example.net)
        c0 4d 00 01 00 01 00 00 00 14 00 04   # @84 edge.cdn.example.net A, TTL 20
        c0 00 02 0a                           # 192.0.2.10
        c0 4d 00 01 00 01 00 00 00 14 00 04   # edge.cdn.example.net A, TTL 20
        c0 00 02 0b                           # 192.0.2.11
        00 00 29 04 d0 00 00 00 00 00 00      # OPT: root, UDP size 1232, no options
    ";

    #[test]
    fn cdn_answer_with_cname_chain_and_compression() {
        let m = parse(&hex(CDN_ANSWER)).unwrap();
        assert_eq!(m.header.id, 0xbeef);
        assert!(m.is_response() && m.header.recursion_available);
        assert_eq!((m.header.opcode, m.header.rcode), (0, 0));
        assert_eq!(
            m.questions,
            vec![Question {
                name: "www.example.com".into(),
                qtype: rtype::A,
                qclass: CLASS_IN
            }]
        );
        assert_eq!(m.answers.len(), 4);
        assert_eq!(m.answers[0].name, "www.example.com");
        assert_eq!(m.answers[0].ttl, 3600);
        assert_eq!(m.answers[0].data, RData::Cname("d1.cdn.example.net".into()));
        assert_eq!(m.answers[1].name, "d1.cdn.example.net");
        assert_eq!(
            m.answers[1].data,
            RData::Cname("edge.cdn.example.net".into())
        );
        let addrs: Vec<_> = m.addresses().collect();
        assert_eq!(
            addrs,
            vec![
                ("edge.cdn.example.net", "192.0.2.10".parse().unwrap()),
                ("edge.cdn.example.net", "192.0.2.11".parse().unwrap()),
            ]
        );
        assert_eq!(m.answers[3].ttl, 20);
        assert_eq!(m.additional.len(), 1);
        assert_eq!(m.additional[0].rtype, rtype::OPT);
        assert_eq!(m.additional[0].name, ".");
        assert_eq!(m.additional[0].class, 1232);
        assert_eq!(m.trailing, 0);
    }

    #[test]
    fn aaaa_nxdomain_and_other_types() {
        let mut m = build_query(7, "ipv6.example.org", rtype::AAAA);
        m[2..4].copy_from_slice(&0x8180u16.to_be_bytes());
        m[7] = 2;
        m.extend_from_slice(&[0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 1, 0, 0, 16]);
        m.extend_from_slice(&"2001:db8::53".parse::<Ipv6Addr>().unwrap().octets());
        m.extend_from_slice(&[
            0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 0, 0, 4, 3, b'h', b'e', b'y',
        ]);
        let p = parse(&m).unwrap();
        assert_eq!(
            p.answers[0].data,
            RData::Aaaa("2001:db8::53".parse().unwrap())
        );
        assert_eq!(p.answers[1].data, RData::Other(vec![3, b'h', b'e', b'y']));
        assert_eq!(p.addresses().count(), 1);

        let mut nx = build_query(8, "nope.example", rtype::A);
        nx[2..4].copy_from_slice(&0x8183u16.to_be_bytes());
        let p = parse(&nx).unwrap();
        assert_eq!(p.header.rcode, 3);
        assert!(p.answers.is_empty());

        assert_eq!(rtype::name(rtype::HTTPS), "HTTPS");
        assert_eq!(rtype::name(99), "TYPE99");
    }

    #[test]
    fn query_bytes_and_round_trip() {
        let q = build_query(0x0a15, "Connectivitycheck.gstatic.com.", rtype::A);
        // Byte for byte what a stub resolver sends (and the simulator did).
        let mut want = hex("0a 15 01 00 00 01 00 00 00 00 00 00");
        want.extend_from_slice(b"\x11connectivitycheck\x07gstatic\x03com\x00\x00\x01\x00\x01");
        // The case is kept on the wire; the reader folds it.
        want[13] = b'C';
        assert_eq!(q, want);
        let m = parse(&q).unwrap();
        assert!(!m.is_response());
        assert!(m.header.recursion_desired);
        assert_eq!(m.header.qdcount, 1);
        assert_eq!(m.questions[0].name, "connectivitycheck.gstatic.com");
        assert_eq!(m.questions[0].qtype, rtype::A);
        assert_eq!(m.trailing, 0);
    }

    #[test]
    fn response_round_trip() {
        let addrs = [
            "142.250.74.99".parse().unwrap(),
            "142.250.74.100".parse().unwrap(),
        ];
        let r = build_response(0x57cf, "time.android.com", &addrs, 300);
        let m = parse(&r).unwrap();
        assert_eq!(m.header.id, 0x57cf);
        assert!(m.is_response() && m.header.recursion_desired && m.header.recursion_available);
        assert_eq!(m.header.rcode, 0);
        assert_eq!(m.questions[0].name, "time.android.com");
        assert_eq!(m.answers.len(), 2);
        for (rec, a) in m.answers.iter().zip(addrs) {
            assert_eq!(rec.name, "time.android.com");
            assert_eq!((rec.rtype, rec.class, rec.ttl), (rtype::A, CLASS_IN, 300));
            assert_eq!(rec.data, RData::A(a));
        }
        let empty = parse(&build_response(1, "x.test", &[], 60)).unwrap();
        assert!(empty.is_response() && empty.answers.is_empty());
    }

    #[test]
    fn names_too_long_for_the_wire_are_cut_when_building() {
        let long_label = "a".repeat(70);
        let m = parse(&build_query(1, &format!("{long_label}.example"), 1)).unwrap();
        assert_eq!(m.questions[0].name, format!("{}.example", "a".repeat(63)));

        let long_name = vec!["b".repeat(60); 6].join(".");
        let m = parse(&build_query(1, &long_name, 1)).unwrap();
        assert_eq!(m.questions[0].name, vec!["b".repeat(60); 4].join("."));
        assert_eq!(
            parse(&build_query(1, "", 1)).unwrap().questions[0].name,
            "."
        );
    }

    #[test]
    fn labels_of_odd_bytes_are_escaped() {
        let mut m = hex("00 01 00 00 00 01 00 00 00 00 00 00");
        m.extend_from_slice(b"\x05A.b\\ \x02\xff\x00\x03COM\x00\x00\x10\x00\x01");
        let p = parse(&m).unwrap();
        assert_eq!(p.questions[0].name, r"a\046b\092\032.\255\000.com");
        assert_eq!(p.questions[0].name.split('.').count(), 3);
    }

    #[test]
    fn longest_legal_name_and_one_byte_more() {
        // 3 × 63-byte labels + a 61-byte label: 3×64 + 62 + 1 = 255 octets.
        let labels = [
            "x".repeat(63),
            "y".repeat(63),
            "z".repeat(63),
            "w".repeat(61),
        ];
        let name = labels.join(".");
        let q = build_query(1, &name, 1);
        assert_eq!(parse(&q).unwrap().questions[0].name, name);
        // Hand-build one more byte (the builder would cut it).
        let mut m = hex("00 01 00 00 00 01 00 00 00 00 00 00");
        for l in [
            "x".repeat(63),
            "y".repeat(63),
            "z".repeat(63),
            "w".repeat(62),
        ] {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(parse(&m), Err(DnsError::NameTooLong { offset: 12 }));
    }

    #[test]
    fn pointer_loops_and_bad_pointers() {
        let head = hex("00 01 81 80 00 01 00 00 00 00 00 00");
        let with = |name: &[u8]| {
            let mut m = head.clone();
            m.extend_from_slice(name);
            m.extend_from_slice(&[0, 1, 0, 1]);
            m
        };
        // A pointer to itself.
        assert_eq!(
            parse(&with(&[0xc0, 0x0c])),
            Err(DnsError::PointerLoop { offset: 12 })
        );
        // Two pointers pointing at each other.
        assert_eq!(
            parse(&with(&[0xc0, 0x0e, 0xc0, 0x0c])),
            Err(DnsError::PointerLoop { offset: 12 })
        );
        // A loop that adds a label each time around runs into the length cap.
        assert_eq!(
            parse(&with(&[0x01, b'a', 0xc0, 0x0c])),
            Err(DnsError::NameTooLong { offset: 12 })
        );
        // Past the end.
        assert_eq!(
            parse(&with(&[0xc1, 0x00])),
            Err(DnsError::PointerOutOfRange {
                offset: 12,
                target: 256,
                len: 18
            })
        );
        // Reserved label types.
        assert_eq!(
            parse(&with(&[0x41, 0x00])),
            Err(DnsError::ReservedLabel {
                offset: 12,
                byte: 0x41
            })
        );
        assert!(matches!(
            parse(&with(&[0x80, 0x00])),
            Err(DnsError::ReservedLabel { .. })
        ));
        // A pointer forward to a later name is read (RFC 1035 only says
        // "prior", and tolerating it costs nothing with the jump limit).
        let mut m = hex("00 01 81 80 00 02 00 00 00 00 00 00");
        m.extend_from_slice(&[0xc0, 0x12, 0, 1, 0, 1, 1, b'z', 0, 0, 1, 0, 1]);
        let p = parse(&m).unwrap();
        assert_eq!(p.questions[0].name, "z");
        assert_eq!(p.questions[1].name, "z");
        assert_eq!(
            DnsError::PointerLoop { offset: 12 }.to_string(),
            "name at byte 12 follows more than 127 compression pointers: a pointer loop"
        );
    }

    #[test]
    fn bad_record_data() {
        let mut m = build_response(1, "a.test", &["192.0.2.1".parse().unwrap()], 5);
        let n = m.len();
        m[n - 5] = 3; // rdlength 3 for an A record
        m.pop();
        assert_eq!(
            parse(&m).unwrap_err().to_string(),
            "A record data at byte 36: 3 bytes, an IPv4 address is 4"
        );
        // A CNAME whose name runs past its rdlength.
        let mut m = build_query(1, "a.test", 5);
        m[2] = 0x81;
        m[7] = 1;
        m.extend_from_slice(&[
            0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 1, b'b', 0xc0, 0x0c,
        ]);
        assert!(matches!(parse(&m), Err(DnsError::BadRdata { .. })));
        m[35] = 4;
        assert_eq!(
            parse(&m).unwrap().answers[0].data,
            RData::Cname("b.a.test".into())
        );
    }

    #[test]
    fn counts_larger_than_the_message() {
        let mut q = build_query(1, "a.test", 1);
        q[4..6].copy_from_slice(&0xffffu16.to_be_bytes());
        assert_eq!(
            parse(&q),
            Err(DnsError::Truncated {
                what: "name",
                offset: 24
            })
        );
        let mut q = build_query(1, "a.test", 1);
        q[10..12].copy_from_slice(&1u16.to_be_bytes());
        assert!(matches!(parse(&q), Err(DnsError::Truncated { .. })));
    }

    #[test]
    fn trailing_bytes_are_counted() {
        let mut q = build_query(1, "a.test", 1);
        q.extend_from_slice(b"smuggled");
        assert_eq!(parse(&q).unwrap().trailing, 8);
    }

    #[test]
    fn tcp_length_prefix() {
        let q = build_query(9, "time.android.com", rtype::AAAA);
        let framed = tcp_framed(&q);
        assert_eq!(&framed[..2], &(q.len() as u16).to_be_bytes());
        let m = parse_tcp(&framed).unwrap();
        assert_eq!(m.questions[0].name, "time.android.com");
        assert_eq!(m.trailing, 0);
        // A pipelined second message is trailing for the first.
        let mut two = framed.clone();
        two.extend_from_slice(&framed);
        assert_eq!(parse_tcp(&two).unwrap().trailing, framed.len());
        // Split over segments: not readable from one.
        assert_eq!(
            parse_tcp(&framed[..10]),
            Err(DnsError::TcpLength {
                declared: q.len(),
                available: 8
            })
        );
        assert!(matches!(
            parse_tcp(&[0x00]),
            Err(DnsError::Truncated { .. })
        ));
    }

    #[test]
    fn dns_from_packets() {
        let (dut, gw) = ("10.77.1.2".parse().unwrap(), "10.77.1.1".parse().unwrap());
        let q = build_query(3, "time.android.com", 1);
        let f = build::v4_udp(true, dut, gw, 40000, 53, &q);
        let f = parse_ethernet(&f).unwrap();
        let m = parse_packet(f.ip().unwrap()).unwrap().unwrap();
        assert_eq!(m.questions[0].name, "time.android.com");

        let f = build::v4_tcp(true, dut, gw, 40000, 53, 0x18, &tcp_framed(&q));
        let f = parse_ethernet(&f).unwrap();
        assert!(parse_packet(f.ip().unwrap()).unwrap().is_ok());
        // A handshake carries no message; other ports are not DNS.
        let f = build::v4_tcp(true, dut, gw, 40000, 53, 0x02, &[]);
        assert!(parse_packet(parse_ethernet(&f).unwrap().ip().unwrap()).is_none());
        let f = build::v4_udp(true, dut, gw, 40000, 123, &q);
        assert!(parse_packet(parse_ethernet(&f).unwrap().ip().unwrap()).is_none());
        // Port 53 and garbage: DNS that does not read.
        let f = build::v4_udp(true, dut, gw, 40000, 53, b"nope");
        assert!(matches!(
            parse_packet(parse_ethernet(&f).unwrap().ip().unwrap()),
            Some(Err(_))
        ));
    }

    fn samples() -> Vec<Vec<u8>> {
        vec![
            hex(CDN_ANSWER),
            build_query(1, "connectivitycheck.gstatic.com", 1),
            build_response(
                2,
                "time.android.com",
                &[
                    "216.239.35.0".parse().unwrap(),
                    "216.239.35.4".parse().unwrap(),
                ],
                60,
            ),
        ]
    }

    #[test]
    fn every_prefix_of_a_valid_message_is_an_error() {
        for msg in samples() {
            assert!(parse(&msg).is_ok());
            for n in 0..msg.len() {
                assert!(parse(&msg[..n]).is_err(), "prefix {n} parsed");
                assert!(parse_tcp(&tcp_framed(&msg[..n])).is_err());
            }
        }
    }

    #[test]
    fn random_and_mutated_messages_never_panic() {
        let mut rng = benchctl_rng::SimRng::new(0xd05);
        let samples = samples();
        let mut ok = 0;
        for round in 0..30_000 {
            let bytes: Vec<u8> = if round % 3 == 0 {
                let len = rng.index(80);
                (0..len).map(|_| rng.next_u64() as u8).collect()
            } else {
                let mut m = samples[rng.index(samples.len())].clone();
                for _ in 0..1 + rng.index(3) {
                    let i = rng.index(m.len());
                    // Half the time a pointer byte: the interesting case.
                    m[i] = if rng.index(2) == 0 {
                        0xc0 | (rng.next_u64() as u8 & 0x01)
                    } else {
                        rng.next_u64() as u8
                    };
                }
                m
            };
            if let Ok(m) = parse(&bytes) {
                ok += 1;
                for q in &m.questions {
                    assert!(q.name.len() <= 4 * MAX_NAME_OCTETS);
                }
            }
            let _ = parse_tcp(&bytes);
        }
        assert!(ok > 1000, "{ok}");
    }
}
