//! Ethernet II frames (pcapng link type 1) down to UDP, TCP and ICMP; the
//! other link types a lab's captures come in are read by [`crate::link`],
//! which hands their network layer to the same IP parser.
//!
//! The parser borrows: a [`Frame`] points into the captured bytes, so
//! reading a whole capture allocates nothing per packet (an error message
//! is the only allocation). It never panics and never trusts a length field:
//! every length is checked against what is really there, and a frame that
//! ends early or says something impossible is an error naming the layer and
//! the byte offset, so "frame 812: frame ends inside the TCP header at byte
//! 34" can go straight into a log.
//!
//! What it deliberately does not do:
//!
//! - Verify checksums. Captures taken on a host with checksum offload carry
//!   zeroes or garbage in outgoing checksums; rejecting those would hide
//!   exactly the packets the analyzer is looking for.
//! - Reassemble IP fragments or TCP streams. A non-first fragment has no
//!   transport header, so its transport is [`Transport::Other`] and its
//!   `fragment` says where it belongs.
//! - Follow tunnels (GRE, IP-in-IP, VXLAN): the outer packet is what crossed
//!   the DUT's link, and that is what an allowlist judges.
//!
//! Why our own parser and not `etherparse` (judged 2026-12, etherparse
//! 0.19): etherparse is faster (`cargo bench -p benchctl-net --features
//! test-util --bench parse`: 36 ns a frame against our 56 on a phone's
//! traffic mix), but both read a busy phone's day (about ten million
//! frames) in well under a second, while reading the capture and running
//! the detectors take longer (the `analyze_packets` benchmark). What ours
//! does that it does not: one parser for every link type a lab's captures
//! come in (etherparse has Linux cooked v1, not v2, 802.11, radiotap or BSD
//! loopback; see [`crate::link`]); a frame the snap length cut keeps its
//! headers and says it is cut ([`Packet::cut`]), which decides whether a
//! DUT is judged or incomplete; and errors in words naming the layer and
//! the byte ("frame ends inside the TCP header at byte 34: 20 bytes needed,
//! 12 there") that go into a finding's reasons as they are. It has no
//! dependencies, and the fuzz-style tests below hold it to never panic.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// pcapng/pcap link type of an Ethernet II capture (LINKTYPE_ETHERNET).
pub const LINKTYPE_ETHERNET: u16 = 1;

/// Ethertypes this module reads (IEEE registry).
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const IPV6: u16 = 0x86dd;
    /// IEEE 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad service VLAN tag (the outer tag of Q-in-Q).
    pub const QINQ: u16 = 0x88a8;
    /// The pre-standard Q-in-Q outer tag, which tshark also reads as a
    /// VLAN tag (its `vlan.qinq_ethertype` preference, 0x9100 by default).
    pub const QINQ_LEGACY: u16 = 0x9100;
}

/// IP protocol numbers this module reads (IANA "Assigned Internet Protocol
/// Numbers"); also the `Next Header` values of IPv6.
pub mod ip_proto {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const IGMP: u8 = 2;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const NO_NEXT_HEADER: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
}

const ETH_HEADER: usize = 14;
const VLAN_TAG: usize = 4;
const IPV4_MIN_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;
const TCP_MIN_HEADER: usize = 20;
/// Type, code and checksum: the part every ICMP and ICMPv6 message shares
/// (RFC 792, RFC 4443 §2.1). The next four bytes differ by type.
const ICMP_HEADER: usize = 4;
/// An Ethernet/IPv4 ARP packet (RFC 826): 8 fixed bytes, 2 × (6 + 4).
const ARP_ETH_IPV4: usize = 28;

/// The protocol layer a [`ParseError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Ethernet,
    /// A link-layer header other than Ethernet: Linux cooked, BSD
    /// loopback, radiotap, 802.11, LLC/SNAP.
    Link(&'static str),
    Vlan,
    Arp,
    Ipv4,
    Ipv6,
    Ipv6Extension,
    Udp,
    Tcp,
    Icmp,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Ethernet => "Ethernet header",
            Layer::Link(name) => name,
            Layer::Vlan => "802.1Q VLAN tag",
            Layer::Arp => "ARP packet",
            Layer::Ipv4 => "IPv4 header",
            Layer::Ipv6 => "IPv6 header",
            Layer::Ipv6Extension => "IPv6 extension header",
            Layer::Udp => "UDP header",
            Layer::Tcp => "TCP header",
            Layer::Icmp => "ICMP header",
        })
    }
}

/// Why a frame could not be read. Offsets count from the first byte of the
/// frame (of the IP packet for [`parse_ip`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(
        "frame ends inside the {layer} at byte {offset}: {needed} bytes needed, {available} there"
    )]
    Truncated {
        layer: Layer,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("bad {layer} at byte {offset}: {reason}")]
    Invalid {
        layer: Layer,
        offset: usize,
        reason: String,
    },
}

/// A 48-bit IEEE MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// The I/G bit (IEEE 802 §8.2): set for group addresses, which includes
    /// broadcast and the 01:00:5e / 33:33 IP multicast ranges.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl std::str::FromStr for MacAddr {
    type Err = String;

    /// `02:00:00:4d:01:01` (or with `-`), as `ip link` and run.json write it.
    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split([':', '-']).collect();
        let mut mac = [0u8; 6];
        if parts.len() != 6 {
            return Err(format!(
                "\"{text}\" is not a MAC address (six hex bytes, 02:00:00:4d:01:01)"
            ));
        }
        for (byte, part) in mac.iter_mut().zip(&parts) {
            *byte = u8::from_str_radix(part, 16)
                .ok()
                .filter(|_| part.len() == 2)
                .ok_or_else(|| {
                    format!("\"{text}\" is not a MAC address (six hex bytes, 02:00:00:4d:01:01)")
                })?;
        }
        Ok(MacAddr(mac))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// An 802.1Q tag control field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// The tag protocol identifier that announced the tag: 0x8100 or 0x88a8.
    pub tpid: u16,
    /// Priority code point (0-7).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (0-4095).
    pub vid: u16,
}

/// The link layer of one captured frame, as far as its link type has one:
/// Ethernet and 802.11 carry both addresses, a Linux cooked capture the
/// sender's, raw IP and BSD loopback none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub kind: crate::link::LinkType,
    pub dst: Option<MacAddr>,
    pub src: Option<MacAddr>,
    /// The outermost 802.1Q/802.1ad tag, if the frame is tagged.
    pub vlan: Option<VlanTag>,
    /// The innermost tag when there are two or more (Q-in-Q: 802.1ad
    /// outside, 802.1Q inside): the customer VLAN.
    pub inner_vlan: Option<VlanTag>,
    /// The type of the payload (after the VLAN tag, if any), an ethertype;
    /// for raw IP and BSD loopback the IP version's. On Ethernet, values up
    /// to 1500 are IEEE 802.3 lengths, not types: LLC frames such as STP.
    pub ethertype: u16,
    /// Linux cooked captures: the packet type (0 to the capturing host,
    /// 1 broadcast, 2 multicast, 3 to another host, 4 sent by it).
    pub packet_type: Option<u16>,
}

impl Link {
    /// A frame to everyone on the link: the broadcast MAC, or a Linux
    /// cooked capture's "broadcast" packet type.
    pub fn is_broadcast(&self) -> bool {
        self.dst.is_some_and(|d| d.is_broadcast()) || self.packet_type == Some(1)
    }
}

/// One parsed frame: its link layer and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub link: Link,
    pub net: Network<'a>,
}

impl<'a> Frame<'a> {
    /// The IP packet, if the frame carries one.
    pub fn ip(&self) -> Option<&Packet<'a>> {
        match &self.net {
            Network::Ip(p) => Some(p),
            _ => None,
        }
    }

    /// A frame of a protocol that manages the link itself and that no
    /// bridge forwards: 802.11 link control, anything to the IEEE 802.1
    /// reserved group addresses 01:80:c2:00:00:00-0f (spanning tree, LLDP,
    /// 802.1X, LACP, pause) or to Cisco's 01:00:0c:cc:cc:cc/cd (CDP, VTP,
    /// DTP, PVST), LLDP, EAPOL, slow protocols, Realtek's RRCP, 802.11
    /// TDLS set-up, Ethernet loopback tests, and 802.2 XID and TEST
    /// frames. Switches and access points talk like this on every link;
    /// none of it reaches beyond the link, so it is read as housekeeping,
    /// not as traffic benchctl cannot read.
    pub fn is_link_management(&self) -> bool {
        let Network::Other { ethertype, payload } = &self.net else {
            return matches!(self.net, Network::LinkControl);
        };
        let dst = self.link.dst.map(|d| d.0);
        let bridge_reserved =
            dst.is_some_and(|d| d[..5] == [0x01, 0x80, 0xc2, 0, 0] && d[5] <= 0x0f);
        let cisco = dst.is_some_and(|d| {
            d[..5] == [0x01, 0x00, 0x0c, 0xcc, 0xcc] && matches!(d[5], 0xcc | 0xcd)
        });
        let protocol = matches!(
            *ethertype,
            0x88cc /* LLDP */ | 0x888e /* EAPOL */ | 0x8809 /* slow protocols */
                | 0x8899 /* RRCP */ | 0x890d /* 802.11 TDLS */ | 0x9000 /* loopback */
        );
        // 802.3 length field, then LLC: DSAP, SSAP, control (XID 0xaf,
        // TEST 0xe3, either with the poll/final bit 0x10).
        let xid_or_test = *ethertype <= 1500
            && payload
                .get(2)
                .is_some_and(|c| matches!(c & 0xef, 0xaf | 0xe3));
        bridge_reserved || cisco || protocol || xid_or_test
    }
}

/// What a frame carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network<'a> {
    Ip(Packet<'a>),
    /// Ethernet/IPv4 ARP (RFC 826); ARP for other hardware or protocol
    /// types comes as [`Network::Other`] with ethertype 0x0806.
    Arp(Arp),
    /// A frame that manages the link itself and carries no packet: 802.11
    /// management, control and null data frames. Read, nothing to judge.
    LinkControl,
    /// Anything else: LLDP, EAPOL, 802.3 LLC, ...
    Other {
        ethertype: u16,
        payload: &'a [u8],
    },
}

/// An Ethernet/IPv4 ARP packet (RFC 826).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply (RFC 826); others exist (RARP, InARP).
    pub op: u16,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

/// Where an IP fragment belongs in its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// The datagram's identification (16 bits in IPv4, 32 in IPv6).
    pub id: u32,
    /// Offset of this fragment's data in the datagram, in bytes.
    pub offset: u16,
    pub more_fragments: bool,
}

/// TCP control bits (RFC 9293 §3.1, RFC 3168 §6.1 for ECE/CWR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const ECE: TcpFlags = TcpFlags(0x40);
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl fmt::Display for TcpFlags {
    /// `SYN,ACK`, as Wireshark lists them; `none` for a segment without any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u8, &str); 8] = [
            (0x01, "FIN"),
            (0x02, "SYN"),
            (0x04, "RST"),
            (0x08, "PSH"),
            (0x10, "ACK"),
            (0x20, "URG"),
            (0x40, "ECE"),
            (0x80, "CWR"),
        ];
        let mut first = true;
        for (bit, name) in NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// The transport header of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp {
        sport: u16,
        dport: u16,
    },
    Tcp {
        sport: u16,
        dport: u16,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
    },
    /// ICMP for IPv4 (RFC 792).
    Icmp {
        icmp_type: u8,
        code: u8,
    },
    /// ICMPv6 (RFC 4443), which also carries neighbour discovery (RFC 4861).
    Icmpv6 {
        icmp_type: u8,
        code: u8,
    },
    /// Any other protocol, with its IP protocol number; also the transport of
    /// every non-first fragment, whose transport header is in another packet.
    Other(u8),
}

/// An IPv4 or IPv6 packet and its transport header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub hop_limit: u8,
    /// The IP protocol number of the transport, after any IPv6 extension
    /// headers (so 6 for TCP behind a hop-by-hop header).
    pub protocol: u8,
    /// `Some` when the packet is a fragment (IPv4 MF or offset set, or an
    /// IPv6 fragment header).
    pub fragment: Option<Fragment>,
    pub transport: Transport,
    /// What follows the transport header: UDP/TCP data, the ICMP message
    /// after type/code/checksum, or the whole IP payload for
    /// [`Transport::Other`]. Ethernet padding is not part of it.
    pub payload: &'a [u8],
    /// The capture cut the packet short (its snap length): the headers are
    /// whole, `payload` is only its first part.
    pub cut: bool,
}

impl Packet<'_> {
    /// Whether this is a fragment other than the first: it has no transport
    /// header of its own, so ports are unknown.
    pub fn is_later_fragment(&self) -> bool {
        self.fragment.is_some_and(|f| f.offset > 0)
    }

    /// Source and destination port for UDP and TCP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.transport {
            Transport::Udp { sport, dport } | Transport::Tcp { sport, dport, .. } => {
                Some((sport, dport))
            }
            _ => None,
        }
    }

    /// The flow this packet belongs to, seen from its sender.
    pub fn flow(&self) -> Flow {
        let (sport, dport) = self.ports().unwrap_or((0, 0));
        Flow {
            src: self.src,
            dst: self.dst,
            protocol: self.protocol,
            sport,
            dport,
        }
    }
}

/// The five-tuple that names a flow. Ports are 0 for protocols without them
/// (and for non-first fragments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flow {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub sport: u16,
    pub dport: u16,
}

impl Flow {
    /// The same flow seen from the other end (the answers' key).
    pub fn reversed(&self) -> Flow {
        Flow {
            src: self.dst,
            dst: self.src,
            protocol: self.protocol,
            sport: self.dport,
            dport: self.sport,
        }
    }
}

impl fmt::Display for Flow {
    /// `10.77.1.2:40122>203.0.113.9:443/tcp`, the `channel` of a network
    /// finding (findings.md); IPv6 addresses in brackets, no ports for
    /// protocols without them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let has_ports = matches!(self.protocol, ip_proto::TCP | ip_proto::UDP);
        let end = |f: &mut fmt::Formatter<'_>, ip: IpAddr, port: u16| match (ip, has_ports) {
            (IpAddr::V4(a), true) => write!(f, "{a}:{port}"),
            (IpAddr::V6(a), true) => write!(f, "[{a}]:{port}"),
            (a, false) => write!(f, "{a}"),
        };
        end(f, self.src, self.sport)?;
        f.write_str(">")?;
        end(f, self.dst, self.dport)?;
        match self.protocol {
            ip_proto::TCP => f.write_str("/tcp"),
            ip_proto::UDP => f.write_str("/udp"),
            ip_proto::ICMP => f.write_str("/icmp"),
            ip_proto::ICMPV6 => f.write_str("/icmpv6"),
            p => write!(f, "/ip-proto-{p}"),
        }
    }
}

/// Bounds-checked big-endian reads over one layer's bytes, reporting
/// offsets from the start of the frame.
#[derive(Clone, Copy)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    /// Offset of `bytes[0]` in the frame.
    base: usize,
    layer: Layer,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub(crate) fn new(bytes: &'a [u8], base: usize, layer: Layer) -> Self {
        Cursor { bytes, base, layer }
    }

    /// `len` bytes at `at`, or a truncation error saying how many were
    /// needed from the start of this layer.
    #[inline]
    pub(crate) fn take(&self, at: usize, len: usize) -> Result<&'a [u8], ParseError> {
        at.checked_add(len)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| ParseError::Truncated {
                layer: self.layer,
                offset: self.base,
                needed: at.saturating_add(len),
                available: self.bytes.len(),
            })
    }

    #[inline]
    pub(crate) fn need(&self, len: usize) -> Result<(), ParseError> {
        self.take(0, len).map(|_| ())
    }

    #[inline]
    pub(crate) fn u8(&self, at: usize) -> Result<u8, ParseError> {
        Ok(self.take(at, 1)?[0])
    }

    #[inline]
    pub(crate) fn u16(&self, at: usize) -> Result<u16, ParseError> {
        let b = self.take(at, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    #[inline]
    pub(crate) fn u32(&self, at: usize) -> Result<u32, ParseError> {
        let b = self.take(at, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[inline]
    pub(crate) fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], ParseError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(at, N)?);
        Ok(out)
    }

    pub(crate) fn invalid(&self, reason: impl Into<String>) -> ParseError {
        ParseError::Invalid {
            layer: self.layer,
            offset: self.base,
            reason: reason.into(),
        }
    }

    /// The bytes from `at` on (empty if `at` is past the end).
    #[inline]
    pub(crate) fn rest(&self, at: usize) -> &'a [u8] {
        self.bytes.get(at..).unwrap_or(&[])
    }
}

/// Parse one Ethernet II frame as pcapng link type 1 stores it (no
/// preamble, no FCS; a trailing FCS or padding is ignored because the IP
/// length bounds the packet).
pub fn parse_ethernet(frame: &[u8]) -> Result<Frame<'_>, ParseError> {
    ethernet(frame, false)
}

/// [`parse_ethernet`]; `cut`: the capture kept only the frame's first
/// bytes, so lengths may point past its end (see [`parse_ip_at`]).
pub(crate) fn ethernet(frame: &[u8], cut: bool) -> Result<Frame<'_>, ParseError> {
    let c = Cursor::new(frame, 0, Layer::Ethernet);
    c.need(ETH_HEADER)?;
    let dst = MacAddr(c.array(0)?);
    let src = MacAddr(c.array(6)?);
    let (vlan, inner_vlan, ethertype, at) = vlan_tags(&c, c.u16(12)?, ETH_HEADER)?;
    let link = Link {
        kind: crate::link::LinkType::Ethernet,
        dst: Some(dst),
        src: Some(src),
        vlan,
        inner_vlan,
        ethertype,
        packet_type: None,
    };
    Ok(Frame {
        link,
        net: network(ethertype, c.rest(at), at, cut)?,
    })
}

/// 802.1Q (or 802.1ad) tags sit between the addresses and the real type
/// (IEEE 802.1Q §9.3) when `ethertype` announces one; Q-in-Q stacks them,
/// an 802.1ad service tag outside an 802.1Q customer tag (§6.13). As
/// tshark does, every tag announced by 0x8100, 0x88a8 or 0x9100 is read
/// and skipped, however many there are (each is 4 bytes, so the stack ends
/// with the frame). Returns the outermost tag, the innermost when there
/// are two or more, the real type and where the payload starts.
pub(crate) fn vlan_tags(
    c: &Cursor<'_>,
    mut ethertype: u16,
    mut at: usize,
) -> Result<(Option<VlanTag>, Option<VlanTag>, u16, usize), ParseError> {
    let mut outer = None;
    let mut inner = None;
    while is_vlan_tpid(ethertype) {
        let t = Cursor::new(c.rest(at), c.base + at, Layer::Vlan);
        t.need(VLAN_TAG)?;
        let tci = t.u16(0)?;
        let tag = VlanTag {
            tpid: ethertype,
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        };
        if outer.is_none() {
            outer = Some(tag);
        } else {
            inner = Some(tag);
        }
        ethertype = t.u16(2)?;
        at += VLAN_TAG;
    }
    Ok((outer, inner, ethertype, at))
}

/// A tag protocol identifier: what announces a VLAN tag.
pub(crate) fn is_vlan_tpid(ethertype: u16) -> bool {
    matches!(
        ethertype,
        ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_LEGACY
    )
}

/// The network layer of a frame whose link layer says `ethertype`;
/// `payload` starts at byte `base` of the frame.
pub(crate) fn network(
    ethertype: u16,
    payload: &[u8],
    base: usize,
    cut: bool,
) -> Result<Network<'_>, ParseError> {
    Ok(match ethertype {
        ethertype::IPV4 | ethertype::IPV6 => Network::Ip(parse_ip_at(payload, base, cut)?),
        ethertype::ARP => match parse_arp(payload, base)? {
            Some(arp) => Network::Arp(arp),
            None => Network::Other { ethertype, payload },
        },
        _ => Network::Other { ethertype, payload },
    })
}

/// Parse a bare IPv4 or IPv6 packet (pcap link types RAW/IPV4/IPV6), telling
/// the versions apart by the first nibble.
pub fn parse_ip(packet: &[u8]) -> Result<Packet<'_>, ParseError> {
    parse_ip_at(packet, 0, false)
}

/// An IP packet at frame offset `base`. `cut`: the capture's snap length
/// cut the frame, so a length field may promise more than is there: the
/// headers must be whole, the data is taken as far as it goes, and the
/// packet says it is [`Packet::cut`]. Without `cut` a length that points
/// past the end is a damaged frame.
pub(crate) fn parse_ip_at(bytes: &[u8], base: usize, cut: bool) -> Result<Packet<'_>, ParseError> {
    let c = Cursor::new(bytes, base, Layer::Ipv4);
    match c.u8(0)? >> 4 {
        4 => parse_ipv4(bytes, base, cut),
        6 => parse_ipv6(bytes, base, cut),
        v => Err(c.invalid(format!("IP version {v}"))),
    }
}

/// ARP (RFC 826). Only the Ethernet/IPv4 form is decoded; `None` for the
/// others, which are still ARP and still not IP.
fn parse_arp(bytes: &[u8], base: usize) -> Result<Option<Arp>, ParseError> {
    let c = Cursor::new(bytes, base, Layer::Arp);
    c.need(8)?;
    let (htype, ptype, hlen, plen) = (c.u16(0)?, c.u16(2)?, c.u8(4)?, c.u8(5)?);
    if (htype, ptype, hlen, plen) != (1, ethertype::IPV4, 6, 4) {
        return Ok(None);
    }
    c.need(ARP_ETH_IPV4)?;
    Ok(Some(Arp {
        op: c.u16(6)?,
        sender_mac: MacAddr(c.array(8)?),
        sender_ip: Ipv4Addr::from(c.array::<4>(14)?),
        target_mac: MacAddr(c.array(18)?),
        target_ip: Ipv4Addr::from(c.array::<4>(24)?),
    }))
}

/// IPv4 (RFC 791 §3.1).
fn parse_ipv4(bytes: &[u8], base: usize, cut: bool) -> Result<Packet<'_>, ParseError> {
    let c = Cursor::new(bytes, base, Layer::Ipv4);
    c.need(IPV4_MIN_HEADER)?;
    let ihl = usize::from(c.u8(0)? & 0x0f) * 4;
    if ihl < IPV4_MIN_HEADER {
        return Err(c.invalid(format!(
            "header length {ihl} bytes is shorter than the 20-byte minimum"
        )));
    }
    c.need(ihl)?;
    let mut total = usize::from(c.u16(2)?);
    if total == 0 {
        // Linux hands segmentation-offloaded (TSO/GSO) packets to the capture
        // before the NIC splits them, with total length 0; Wireshark reads
        // them as "the rest of the frame" too.
        total = bytes.len();
    }
    if total < ihl {
        return Err(c.invalid(format!(
            "total length {total} is shorter than its {ihl}-byte header"
        )));
    }
    let clipped = cut && total > bytes.len();
    if clipped {
        total = bytes.len();
    }
    c.need(total)?;
    let ident = c.u16(4)?;
    // Flags and fragment offset (RFC 791 §3.1). The reserved top bit should
    // be zero; it is not worth refusing a packet for.
    let frag = c.u16(6)?;
    let more_fragments = frag & 0x2000 != 0;
    let offset = (frag & 0x1fff) * 8;
    let fragment = (more_fragments || offset > 0).then_some(Fragment {
        id: u32::from(ident),
        offset,
        more_fragments,
    });
    let protocol = c.u8(9)?;
    let src = IpAddr::V4(Ipv4Addr::from(c.array::<4>(12)?));
    let dst = IpAddr::V4(Ipv4Addr::from(c.array::<4>(16)?));
    let body = c.take(ihl, total - ihl)?;
    let (transport, payload, short) = transport(protocol, body, base + ihl, fragment, cut)?;
    Ok(Packet {
        src,
        dst,
        hop_limit: c.u8(8)?,
        protocol,
        fragment,
        transport,
        payload,
        cut: clipped || short,
    })
}

/// IPv6 (RFC 8200 §3), skipping the extension headers of §4 to find the
/// transport.
fn parse_ipv6(bytes: &[u8], base: usize, cut: bool) -> Result<Packet<'_>, ParseError> {
    let c = Cursor::new(bytes, base, Layer::Ipv6);
    c.need(IPV6_HEADER)?;
    let mut payload_len = usize::from(c.u16(4)?);
    if payload_len == 0 {
        // Zero is a jumbogram (RFC 2675), which Ethernet cannot carry, or a
        // segmentation-offloaded packet captured before splitting, as for
        // IPv4 above: either way the payload is the rest of the frame.
        payload_len = bytes.len() - IPV6_HEADER;
    }
    let clipped = cut && IPV6_HEADER + payload_len > bytes.len();
    if clipped {
        payload_len = bytes.len() - IPV6_HEADER;
    }
    let body = c.take(IPV6_HEADER, payload_len)?;
    let src = IpAddr::V6(Ipv6Addr::from(c.array::<16>(8)?));
    let dst = IpAddr::V6(Ipv6Addr::from(c.array::<16>(24)?));
    let hop_limit = c.u8(7)?;

    let mut next = c.u8(6)?;
    let mut at = 0usize;
    let mut fragment = None;
    // Every extension header is at least 8 bytes, so this ends within
    // payload_len / 8 rounds.
    loop {
        let e = Cursor::new(
            body.get(at..).unwrap_or(&[]),
            base + IPV6_HEADER + at,
            Layer::Ipv6Extension,
        );
        match next {
            ip_proto::HOP_BY_HOP | ip_proto::ROUTING | ip_proto::DEST_OPTS => {
                // RFC 8200 §4.3-4.6: Hdr Ext Len in 8-octet units, not
                // counting the first 8.
                e.need(8)?;
                let len = (usize::from(e.u8(1)?) + 1) * 8;
                e.need(len)?;
                next = e.u8(0)?;
                at += len;
            }
            ip_proto::AH => {
                // RFC 4302 §2.2: Payload Len in 4-octet units, minus 2.
                e.need(8)?;
                let len = (usize::from(e.u8(1)?) + 2) * 4;
                e.need(len)?;
                next = e.u8(0)?;
                at += len;
            }
            ip_proto::FRAGMENT => {
                // RFC 8200 §4.5: fixed 8 bytes; offset in 8-octet units in
                // the top 13 bits, M flag in the lowest.
                e.need(8)?;
                let off = e.u16(2)?;
                let f = Fragment {
                    id: e.u32(4)?,
                    offset: (off >> 3) * 8,
                    more_fragments: off & 1 != 0,
                };
                fragment = Some(f);
                next = e.u8(0)?;
                at += 8;
            }
            _ => break,
        }
    }
    let rest = body.get(at..).unwrap_or(&[]);
    let (transport, payload, short) =
        transport(next, rest, base + IPV6_HEADER + at, fragment, cut)?;
    Ok(Packet {
        src,
        dst,
        hop_limit,
        protocol: next,
        fragment,
        transport,
        payload,
        cut: clipped || short,
    })
}

/// The transport header of an IP payload `body` (at frame offset `base`),
/// its payload, and whether that payload is short of what the header says
/// (only when `cut`: the capture's snap length).
fn transport(
    protocol: u8,
    body: &[u8],
    base: usize,
    fragment: Option<Fragment>,
    cut: bool,
) -> Result<(Transport, &[u8], bool), ParseError> {
    if fragment.is_some_and(|f| f.offset > 0) {
        // The transport header is in the first fragment (RFC 791 §2.3,
        // RFC 8200 §4.5); what is here is the middle of the datagram.
        return Ok((Transport::Other(protocol), body, false));
    }
    // A first fragment carries the header but only part of the data, so the
    // UDP length may exceed what is here.
    let first_fragment = fragment.is_some();
    match protocol {
        ip_proto::UDP => {
            // RFC 768: length covers header and data.
            let c = Cursor::new(body, base, Layer::Udp);
            c.need(UDP_HEADER)?;
            let len = usize::from(c.u16(4)?);
            if len < UDP_HEADER {
                return Err(c.invalid(format!("length {len} is shorter than the 8-byte header")));
            }
            let short = cut && !first_fragment && len > body.len();
            let payload = if first_fragment || short {
                c.rest(UDP_HEADER)
            } else {
                c.take(UDP_HEADER, len - UDP_HEADER)?
            };
            Ok((
                Transport::Udp {
                    sport: c.u16(0)?,
                    dport: c.u16(2)?,
                },
                payload,
                short,
            ))
        }
        ip_proto::TCP => {
            // RFC 9293 §3.1: data offset in 32-bit words.
            let c = Cursor::new(body, base, Layer::Tcp);
            c.need(TCP_MIN_HEADER)?;
            let hlen = usize::from(c.u8(12)? >> 4) * 4;
            if hlen < TCP_MIN_HEADER {
                return Err(c.invalid(format!(
                    "data offset {hlen} bytes is shorter than the 20-byte header"
                )));
            }
            // A snap length may cut the options (a SYN's are 20 bytes):
            // the fixed header still says what the segment is.
            let short = cut && body.len() < hlen;
            if !short {
                c.need(hlen)?;
            }
            Ok((
                Transport::Tcp {
                    sport: c.u16(0)?,
                    dport: c.u16(2)?,
                    flags: TcpFlags(c.u8(13)?),
                    seq: c.u32(4)?,
                    ack: c.u32(8)?,
                },
                c.rest(hlen),
                short,
            ))
        }
        ip_proto::ICMP | ip_proto::ICMPV6 => {
            let c = Cursor::new(body, base, Layer::Icmp);
            c.need(ICMP_HEADER)?;
            let (icmp_type, code) = (c.u8(0)?, c.u8(1)?);
            let t = if protocol == ip_proto::ICMP {
                Transport::Icmp { icmp_type, code }
            } else {
                Transport::Icmpv6 { icmp_type, code }
            };
            Ok((t, c.rest(ICMP_HEADER), false))
        }
        other => Ok((Transport::Other(other), body, false)),
    }
}

/// Frame builders for tests of this crate and of the crates above it (the
/// `test-util` feature): real header layouts with correct checksums, so
/// tshark reads them as it would a capture.
#[cfg(any(test, feature = "test-util"))]
pub mod build {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    pub const DUT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x4d, 0x01, 0x02];
    pub const GW_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x4d, 0x01, 0x01];

    use crate::frame::{self, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
    pub use crate::frame::{icmp, ipv6, udp};

    /// An Ethernet frame padded to the IEEE 802.3 minimum (60 bytes before
    /// the FCS), as one arrives from the wire.
    pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, body: &[u8]) -> Vec<u8> {
        let mut f = frame::ethernet(dst, src, ethertype, body);
        f.resize(f.len().max(60), 0);
        f
    }

    /// IPv4 with a fixed id.
    pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, l4: &[u8]) -> Vec<u8> {
        frame::ipv4(src, dst, proto, ttl, 0x1c46, l4)
    }

    /// A TCP segment without options, with Linux's usual window.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        src: IpAddr,
        dst: IpAddr,
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        frame::Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            window: 64240,
            options: &[],
        }
        .segment(src, dst, payload)
    }

    /// A whole Ethernet/IPv4 frame around an L4 segment.
    pub fn v4_frame(outbound: bool, src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
        let (dmac, smac) = if outbound {
            (GW_MAC, DUT_MAC)
        } else {
            (DUT_MAC, GW_MAC)
        };
        ethernet(dmac, smac, ETHERTYPE_IPV4, &ipv4(src, dst, proto, 64, l4))
    }

    /// Ethernet/IPv4/UDP.
    pub fn v4_udp(
        outbound: bool,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let seg = udp(src.into(), dst.into(), sport, dport, payload);
        v4_frame(outbound, src, dst, 17, &seg)
    }

    /// Ethernet/IPv4/TCP.
    #[allow(clippy::too_many_arguments)]
    pub fn v4_tcp(
        outbound: bool,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let seg = tcp(
            src.into(),
            dst.into(),
            sport,
            dport,
            0x1000_0000,
            0x2000_0000,
            flags,
            payload,
        );
        v4_frame(outbound, src, dst, 6, &seg)
    }

    /// Ethernet/IPv6 with any next header and body.
    pub fn v6_frame(
        dmac: [u8; 6],
        src: Ipv6Addr,
        dst: Ipv6Addr,
        next: u8,
        hops: u8,
        body: &[u8],
    ) -> Vec<u8> {
        ethernet(
            dmac,
            DUT_MAC,
            ETHERTYPE_IPV6,
            &ipv6(src, dst, next, hops, body),
        )
    }

    /// An ARP request from the DUT for `target` (RFC 826), broadcast.
    pub fn arp_request(sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
        let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
        a.extend_from_slice(&DUT_MAC);
        a.extend_from_slice(&sender.octets());
        a.extend_from_slice(&[0; 6]);
        a.extend_from_slice(&target.octets());
        ethernet([0xff; 6], DUT_MAC, ETHERTYPE_ARP, &a)
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// Bytes from a hex dump; whitespace and line breaks ignored.
    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// A TCP SYN as a real Linux client sent it, hex from a capture
    /// (shared/data/nefias/HTTPS_NWZ_Zeitung.pcap, frame 1): 192.168.0.206
    /// -> 80.228.115.12:443, MSS/SACK/timestamps/window-scale options.
    const REAL_SYN: &str = "
        f8 8b 37 b6 8c a7 00 22 5f d6 0e 2d 08 00 45 00
        00 3c 03 05 40 00 40 06 b2 50 c0 a8 00 ce 50 e4
        73 0c e5 80 01 bb 3c 7d 30 3e 00 00 00 00 a0 02
        fa f0 d8 44 00 00 02 04 05 b4 04 02 08 0a 54 f8
        46 74 00 00 00 00 01 03 03 07";

    #[test]
    fn link_management_frames_are_told_from_unknown_protocols() {
        let stp = build::ethernet(
            [0x01, 0x80, 0xc2, 0, 0, 0],
            build::GW_MAC,
            38,
            &[0x42, 0x42, 0x03, 0, 0],
        );
        assert!(parse_ethernet(&stp).unwrap().is_link_management());
        let lldp = build::ethernet(
            [0x01, 0x80, 0xc2, 0, 0, 0x0e],
            build::GW_MAC,
            0x88cc,
            &[0; 20],
        );
        assert!(parse_ethernet(&lldp).unwrap().is_link_management());
        let xid = build::ethernet([0xff; 6], build::DUT_MAC, 3, &[0, 1, 0xaf]);
        assert!(parse_ethernet(&xid).unwrap().is_link_management());
        // A made-up ethertype to the gateway: not housekeeping.
        let odd = build::ethernet(build::GW_MAC, build::DUT_MAC, 0x88b5, b"exfil");
        assert!(!parse_ethernet(&odd).unwrap().is_link_management());
        let ip = build::v4_udp(
            true,
            [10, 77, 1, 2].into(),
            [203, 0, 113, 9].into(),
            1,
            2,
            b"",
        );
        assert!(!parse_ethernet(&ip).unwrap().is_link_management());
    }

    #[test]
    fn mac_addresses_read_as_ip_link_writes_them() {
        let mac: MacAddr = "02:00:00:4D:01:0a".parse().unwrap();
        assert_eq!(mac, MacAddr([2, 0, 0, 0x4d, 1, 0x0a]));
        assert_eq!(mac.to_string(), "02:00:00:4d:01:0a");
        assert_eq!("02-00-00-4d-01-0a".parse::<MacAddr>(), Ok(mac));
        for bad in [
            "",
            "02:00:00:4d:01",
            "02:00:00:4d:01:0a:ff",
            "2:00:00:4d:01:0a",
            "zz:00:00:4d:01:0a",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn real_tcp_syn_with_options() {
        let bytes = hex(REAL_SYN);
        let f = parse_ethernet(&bytes).unwrap();
        assert_eq!(
            f.link.src.map(|m| m.to_string()).as_deref(),
            Some("00:22:5f:d6:0e:2d")
        );
        assert_eq!(
            f.link.dst.map(|m| m.to_string()).as_deref(),
            Some("f8:8b:37:b6:8c:a7")
        );
        assert_eq!(f.link.ethertype, ethertype::IPV4);
        let p = f.ip().unwrap();
        assert_eq!(p.src, IpAddr::V4(v4("192.168.0.206")));
        assert_eq!(p.dst, IpAddr::V4(v4("80.228.115.12")));
        assert_eq!(p.hop_limit, 64);
        assert_eq!(p.fragment, None, "DF alone is not a fragment");
        assert_eq!(
            p.transport,
            Transport::Tcp {
                sport: 58752,
                dport: 443,
                flags: TcpFlags::SYN,
                seq: 0x3c7d_303e,
                ack: 0,
            }
        );
        assert!(p.payload.is_empty(), "20 option bytes are header, not data");
        assert_eq!(
            p.flow().to_string(),
            "192.168.0.206:58752>80.228.115.12:443/tcp"
        );
        assert_eq!(
            p.flow().reversed().to_string(),
            "80.228.115.12:443>192.168.0.206:58752/tcp"
        );
    }

    /// Every frame of a real capture parses as TCP between the two hosts
    /// its README names. Skipped where shared/ is not beside the checkout.
    #[test]
    fn real_capture_parses_whole() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/nefias/HTTPS_NWZ_Zeitung.pcap");
        let Ok(data) = std::fs::read(&path) else {
            eprintln!("skipped: {} not found", path.display());
            return;
        };
        // pcapng despite the name: a little-endian section header block,
        // then an interface block (link type Ethernet) and enhanced packet
        // blocks (RFC draft-ietf-opsawg-pcapng §4).
        let le = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        assert_eq!(le(0), 0x0a0d_0d0a);
        assert_eq!(le(8), 0x1a2b_3c4d, "little-endian section");
        let (client, server) = (v4("192.168.0.206"), v4("80.228.115.12"));
        let mut at = 0;
        let mut n = 0;
        let mut with_data = 0;
        while at + 12 <= data.len() {
            let (kind, len) = (le(at), le(at + 4) as usize);
            if kind == 1 {
                assert_eq!(
                    u16::from_le_bytes([data[at + 8], data[at + 9]]),
                    LINKTYPE_ETHERNET
                );
            }
            if kind == 6 {
                let caplen = le(at + 20) as usize;
                let frame = &data[at + 28..at + 28 + caplen];
                let p = parse_ethernet(frame).unwrap();
                let p = p.ip().unwrap();
                let ends = [p.src, p.dst];
                assert!(ends.contains(&client.into()) && ends.contains(&server.into()));
                assert!(matches!(p.transport, Transport::Tcp { .. }), "{p:?}");
                assert!(p.ports().unwrap().0 == 443 || p.ports().unwrap().1 == 443);
                if !p.payload.is_empty() {
                    with_data += 1;
                }
                n += 1;
            }
            at += len;
        }
        assert_eq!(n, 5000);
        assert!(with_data > 1000, "{with_data}");
    }

    #[test]
    fn udp_over_ipv4_with_padding_and_fcs_ignored() {
        let mut f = v4_udp(true, v4("10.77.1.2"), v4("10.77.1.1"), 40000, 53, b"hi");
        assert_eq!(f.len(), 60, "padded to the Ethernet minimum");
        f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // an FCS some captures keep
        let p = parse_ethernet(&f).unwrap();
        let p = p.ip().unwrap();
        assert_eq!(
            p.transport,
            Transport::Udp {
                sport: 40000,
                dport: 53
            }
        );
        assert_eq!(p.payload, b"hi", "padding and FCS are not payload");
        assert_eq!(p.protocol, ip_proto::UDP);
        assert_eq!(p.flow().to_string(), "10.77.1.2:40000>10.77.1.1:53/udp");
    }

    #[test]
    fn vlan_tag_is_read_and_skipped() {
        let plain = v4_udp(true, v4("10.0.0.2"), v4("10.0.0.1"), 1, 2, b"x");
        let mut tagged = plain[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0xa0, 0x2a]); // PCP 5, VID 42
        tagged.extend_from_slice(&plain[12..]);
        let f = parse_ethernet(&tagged).unwrap();
        assert_eq!(
            f.link.vlan,
            Some(VlanTag {
                tpid: 0x8100,
                pcp: 5,
                dei: false,
                vid: 42
            })
        );
        assert_eq!(f.link.ethertype, ethertype::IPV4);
        assert_eq!(f.ip().unwrap().payload, b"x");
        assert_eq!(f.link.inner_vlan, None);
    }

    /// Q-in-Q as tshark reads it: an 802.1ad service tag (0x88a8) outside
    /// an 802.1Q customer tag (0x8100), and the other stacks tshark follows
    /// (0x9100 outside, two 0x8100, three tags), all down to the IP packet.
    #[test]
    fn stacked_vlan_tags_are_all_skipped() {
        let plain = v4_udp(true, v4("10.77.2.2"), v4("203.0.113.7"), 1, 443, b"x");
        let stacked = |tags: &[(u16, u16)]| {
            let mut f = plain[..12].to_vec();
            for (tpid, vid) in tags {
                f.extend_from_slice(&tpid.to_be_bytes());
                f.extend_from_slice(&vid.to_be_bytes());
            }
            f.extend_from_slice(&plain[12..]);
            f
        };
        let qinq = stacked(&[(0x88a8, 100), (0x8100, 200)]);
        let f = parse_ethernet(&qinq).unwrap();
        assert_eq!(f.link.vlan.map(|t| (t.tpid, t.vid)), Some((0x88a8, 100)));
        assert_eq!(
            f.link.inner_vlan.map(|t| (t.tpid, t.vid)),
            Some((0x8100, 200))
        );
        assert_eq!(f.link.ethertype, ethertype::IPV4);
        let ip = f.ip().expect("the IP packet inside both tags");
        assert_eq!(ip.dst, IpAddr::V4(v4("203.0.113.7")));
        assert_eq!(ip.payload, b"x");
        for tags in [
            &[(0x9100, 1), (0x8100, 2)][..],
            &[(0x8100, 1), (0x8100, 2)],
            &[(0x8100, 1), (0x8100, 2), (0x8100, 3)],
            &[(0x88a8, 1), (0x88a8, 2)],
        ] {
            let bytes = stacked(tags);
            let f = parse_ethernet(&bytes).unwrap();
            assert_eq!(f.ip().map(|p| p.payload), Some(&b"x"[..]), "{tags:?}");
            assert_eq!(f.link.inner_vlan.map(|t| t.vid), tags.last().map(|t| t.1));
        }
        // A stack that runs off the end of the frame is an error naming the
        // tag, not a panic.
        let cut = &stacked(&[(0x88a8, 1), (0x8100, 2)])[..16];
        let err = parse_ethernet(cut).unwrap_err().to_string();
        assert!(err.contains("VLAN tag"), "{err}");
    }

    #[test]
    fn arp_is_recognised_as_not_ip() {
        let f = arp_request(v4("10.77.1.2"), v4("10.77.1.1"));
        let f = parse_ethernet(&f).unwrap();
        assert!(f.link.is_broadcast());
        assert!(f.ip().is_none());
        assert_eq!(
            f.net,
            Network::Arp(Arp {
                op: 1,
                sender_mac: MacAddr(DUT_MAC),
                sender_ip: v4("10.77.1.2"),
                target_mac: MacAddr([0; 6]),
                target_ip: v4("10.77.1.1"),
            })
        );
        // ARP for another hardware type is still ARP, just not decoded.
        let mut odd = arp_request(v4("10.77.1.2"), v4("10.77.1.1"));
        odd[15] = 6; // htype 6, IEEE 802
        assert!(matches!(
            parse_ethernet(&odd).unwrap().net,
            Network::Other {
                ethertype: ethertype::ARP,
                ..
            }
        ));
    }

    #[test]
    fn tcp_fields_and_payload() {
        let f = v4_tcp(
            false,
            v4("203.0.113.9"),
            v4("10.77.1.2"),
            443,
            40122,
            0x18,
            b"\x17\x03\x03",
        );
        let p = parse_ethernet(&f).unwrap();
        let p = p.ip().unwrap();
        let Transport::Tcp {
            sport,
            dport,
            flags,
            seq,
            ack,
        } = p.transport
        else {
            panic!("{p:?}")
        };
        assert_eq!(
            (sport, dport, seq, ack),
            (443, 40122, 0x1000_0000, 0x2000_0000)
        );
        assert!(flags.contains(TcpFlags::PSH) && flags.contains(TcpFlags::ACK));
        assert!(!flags.contains(TcpFlags::SYN));
        assert_eq!(flags.to_string(), "PSH,ACK");
        assert_eq!(TcpFlags(0).to_string(), "none");
        assert_eq!(p.payload, b"\x17\x03\x03");
    }

    #[test]
    fn icmp_echo() {
        let (s, d) = (v4("10.77.1.2"), v4("8.8.8.8"));
        let m = icmp(s.into(), d.into(), 8, 0, &[0x12, 0x34, 0, 1, b'p', b'i']);
        let f = v4_frame(true, s, d, 1, &m);
        let p = parse_ethernet(&f).unwrap();
        let p = p.ip().unwrap();
        assert_eq!(
            p.transport,
            Transport::Icmp {
                icmp_type: 8,
                code: 0
            }
        );
        assert_eq!(p.payload, &[0x12, 0x34, 0, 1, b'p', b'i']);
        assert_eq!(p.ports(), None);
        assert_eq!(p.flow().to_string(), "10.77.1.2>8.8.8.8/icmp");
    }

    #[test]
    fn ipv4_options_and_fragments() {
        // IHL 6: four bytes of options (a NOP-padded router alert).
        let (s, d) = (v4("10.77.1.2"), v4("10.77.1.1"));
        let seg = udp(s.into(), d.into(), 5, 6, b"data");
        let mut ip = ipv4(s, d, 17, 64, &seg);
        ip.splice(20..20, [0x94, 0x04, 0x00, 0x00]);
        ip[0] = 0x46;
        let total = ip.len() as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        let p = parse_ip(&ip).unwrap();
        assert_eq!(p.payload, b"data");
        assert_eq!(p.transport, Transport::Udp { sport: 5, dport: 6 });

        // First fragment: MF set, UDP length covers data not here.
        let mut big = udp(s.into(), d.into(), 5, 6, &[7u8; 100]);
        big.truncate(48);
        let mut first = ipv4(s, d, 17, 64, &big);
        first[6..8].copy_from_slice(&0x2000u16.to_be_bytes());
        let p = parse_ip(&first).unwrap();
        assert_eq!(
            p.fragment,
            Some(Fragment {
                id: 0x1c46,
                offset: 0,
                more_fragments: true
            })
        );
        assert!(!p.is_later_fragment());
        assert_eq!(p.transport, Transport::Udp { sport: 5, dport: 6 });
        assert_eq!(p.payload.len(), 40);

        // A later fragment: bytes that look like a UDP header are data.
        let mut later = ipv4(s, d, 17, 64, &[0xff; 24]);
        later[6..8].copy_from_slice(&6u16.to_be_bytes()); // offset 48 bytes, last
        let p = parse_ip(&later).unwrap();
        assert_eq!(
            p.fragment,
            Some(Fragment {
                id: 0x1c46,
                offset: 48,
                more_fragments: false
            })
        );
        assert!(p.is_later_fragment());
        assert_eq!(p.transport, Transport::Other(17));
        assert_eq!(p.payload.len(), 24);
        // Ports are unknown: 0, the reserved port no socket uses.
        assert_eq!(p.flow().to_string(), "10.77.1.2:0>10.77.1.1:0/udp");
    }

    #[test]
    fn ipv4_zero_total_length_is_offload() {
        let (s, d) = (v4("10.77.1.2"), v4("10.77.1.1"));
        let seg = tcp(s.into(), d.into(), 1, 2, 3, 4, 0x10, &[9; 3000]);
        let mut ip = ipv4(s, d, 6, 64, &seg);
        ip[2..4].copy_from_slice(&[0, 0]);
        assert_eq!(parse_ip(&ip).unwrap().payload.len(), 3000);
    }

    #[test]
    fn ipv6_extension_headers_are_skipped() {
        let (s, d) = (v6("2001:db8::2"), v6("2001:db8:1::9"));
        let seg = udp(s.into(), d.into(), 1000, 53, b"q");
        // hop-by-hop (8 bytes, PadN) -> dest-opts (16 bytes) -> routing (8)
        // -> fragment (8, first fragment) -> UDP
        let mut body = vec![60, 0, 1, 4, 0, 0, 0, 0];
        body.extend_from_slice(&[43, 1, 1, 12]);
        body.extend_from_slice(&[0; 12]);
        body.extend_from_slice(&[44, 0, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&[17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef]);
        body.extend_from_slice(&seg);
        let f = v6_frame(GW_MAC, s, d, ip_proto::HOP_BY_HOP, 64, &body);
        let p = parse_ethernet(&f).unwrap();
        let p = p.ip().unwrap();
        assert_eq!(p.protocol, ip_proto::UDP);
        assert_eq!(
            p.transport,
            Transport::Udp {
                sport: 1000,
                dport: 53
            }
        );
        assert_eq!(p.payload, b"q");
        assert_eq!(
            p.fragment,
            Some(Fragment {
                id: 0xdead_beef,
                offset: 0,
                more_fragments: true
            })
        );
        assert_eq!(
            p.flow().to_string(),
            "[2001:db8::2]:1000>[2001:db8:1::9]:53/udp"
        );

        // A later IPv6 fragment: transport unknown.
        let mut body = vec![6, 0, 0x00, 0x08, 0, 0, 0, 1];
        body.extend_from_slice(&[0; 16]);
        let f = v6_frame(GW_MAC, s, d, ip_proto::FRAGMENT, 64, &body);
        let p = parse_ethernet(&f).unwrap();
        let p = p.ip().unwrap();
        assert!(p.is_later_fragment());
        assert_eq!(p.transport, Transport::Other(ip_proto::TCP));
        assert_eq!(p.payload.len(), 16);
    }

    #[test]
    fn ipv6_neighbour_solicitation() {
        let src = v6("fe80::2");
        let dst = v6("ff02::1:ff00:1");
        let mut rest = vec![0, 0, 0, 0];
        rest.extend_from_slice(&v6("fe80::1").octets());
        let m = icmp(src.into(), dst.into(), 135, 0, &rest);
        let f = v6_frame(
            [0x33, 0x33, 0xff, 0, 0, 1],
            src,
            dst,
            ip_proto::ICMPV6,
            255,
            &m,
        );
        let fr = parse_ethernet(&f).unwrap();
        assert!(fr.link.dst.is_some_and(|d| d.is_multicast()) && !fr.link.is_broadcast());
        let p = fr.ip().unwrap();
        assert_eq!(
            p.transport,
            Transport::Icmpv6 {
                icmp_type: 135,
                code: 0
            }
        );
        assert_eq!(p.hop_limit, 255);
        assert_eq!(p.flow().to_string(), "fe80::2>ff02::1:ff00:1/icmpv6");
    }

    #[test]
    fn errors_name_layer_and_offset() {
        let f = v4_tcp(true, v4("10.0.0.2"), v4("10.0.0.1"), 1, 2, 0x02, &[]);
        // Cut inside the TCP header (starts at 34).
        let mut cut = f[..40].to_vec();
        cut[16..18].copy_from_slice(&26u16.to_be_bytes()); // IP says 26: 6 TCP bytes
        let e = parse_ethernet(&cut).unwrap_err();
        assert_eq!(
            e,
            ParseError::Truncated {
                layer: Layer::Tcp,
                offset: 34,
                needed: 20,
                available: 6
            }
        );
        assert_eq!(
            e.to_string(),
            "frame ends inside the TCP header at byte 34: 20 bytes needed, 6 there"
        );

        let mut bad = f.clone();
        bad[14] = 0x44; // IHL 4
        assert_eq!(
            parse_ethernet(&bad).unwrap_err().to_string(),
            "bad IPv4 header at byte 14: header length 16 bytes is shorter than the 20-byte minimum"
        );
        let mut bad = f.clone();
        bad[14] = 0x55;
        assert_eq!(
            parse_ethernet(&bad).unwrap_err().to_string(),
            "bad IPv4 header at byte 14: IP version 5"
        );
        let mut bad = f.clone();
        bad[46] = 0x40; // TCP data offset 4
        assert!(matches!(
            parse_ethernet(&bad),
            Err(ParseError::Invalid {
                layer: Layer::Tcp,
                offset: 34,
                ..
            })
        ));
        assert!(matches!(
            parse_ethernet(&f[..13]),
            Err(ParseError::Truncated {
                layer: Layer::Ethernet,
                offset: 0,
                needed: 14,
                available: 13
            })
        ));
        // UDP length below its header.
        let mut u = v4_udp(true, v4("10.0.0.2"), v4("10.0.0.1"), 1, 2, b"abc");
        u[38..40].copy_from_slice(&7u16.to_be_bytes());
        assert!(matches!(
            parse_ethernet(&u),
            Err(ParseError::Invalid {
                layer: Layer::Udp,
                ..
            })
        ));
        // UDP length beyond the IP packet.
        u[38..40].copy_from_slice(&200u16.to_be_bytes());
        assert!(matches!(
            parse_ethernet(&u),
            Err(ParseError::Truncated {
                layer: Layer::Udp,
                ..
            })
        ));
    }

    /// Valid frames of every kind the tests build, unpadded so that every
    /// shorter prefix is missing something.
    fn samples() -> Vec<Vec<u8>> {
        let (a, b) = (v4("10.77.1.2"), v4("10.77.1.1"));
        let (x, y) = (v6("2001:db8::2"), v6("2001:db8::1"));
        let unpadded = |eth: Vec<u8>, ip_len: usize| eth[..14 + ip_len].to_vec();
        let mut out = vec![hex(REAL_SYN)];
        let seg = udp(a.into(), b.into(), 1, 53, b"\x12\x34\x01\x00");
        out.push(unpadded(v4_frame(true, a, b, 17, &seg), 20 + seg.len()));
        let seg = tcp(a.into(), b.into(), 1, 2, 3, 4, 0x18, b"GET");
        out.push(unpadded(v4_frame(true, a, b, 6, &seg), 20 + seg.len()));
        let m = icmp(a.into(), b.into(), 8, 0, &[0, 1, 0, 1]);
        out.push(unpadded(v4_frame(true, a, b, 1, &m), 20 + m.len()));
        let seg = udp(x.into(), y.into(), 1, 2, b"v6");
        let mut body = vec![17, 0, 1, 4, 0, 0, 0, 0];
        body.extend_from_slice(&seg);
        out.push(v6_frame(GW_MAC, x, y, 0, 64, &body));
        let m = icmp(x.into(), y.into(), 128, 0, &[0, 1, 0, 1]);
        out.push(v6_frame(GW_MAC, x, y, 58, 64, &m));
        out.push(arp_request(a, b)[..42].to_vec());
        out
    }

    #[test]
    fn every_prefix_of_a_valid_frame_is_an_error_not_a_panic() {
        for frame in samples() {
            assert!(parse_ethernet(&frame).is_ok());
            for n in 0..frame.len() {
                assert!(
                    parse_ethernet(&frame[..n]).is_err(),
                    "prefix {n} of {frame:02x?} parsed"
                );
            }
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = benchctl_rng::SimRng::new(0x5eed);
        let samples = samples();
        let mut parsed = 0;
        for round in 0..20_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = rng.index(120);
                (0..len).map(|_| rng.next_u64() as u8).collect()
            } else {
                // Flip a few bytes of a valid frame: the interesting inputs
                // are the ones that get past the first checks.
                let mut f = samples[rng.index(samples.len())].clone();
                for _ in 0..1 + rng.index(4) {
                    let i = rng.index(f.len());
                    f[i] = rng.next_u64() as u8;
                }
                let keep = f.len() - rng.index(4).min(f.len());
                f.truncate(keep);
                f
            };
            if let Ok(f) = parse_ethernet(&bytes) {
                parsed += 1;
                if let Some(p) = f.ip() {
                    // The payload is inside the frame, whatever the headers said.
                    assert!(p.payload.len() <= bytes.len());
                    let _ = p.flow().to_string();
                }
            }
            let _ = parse_ip(&bytes);
        }
        assert!(
            parsed > 1000,
            "mutations should often still parse: {parsed}"
        );
    }
}
