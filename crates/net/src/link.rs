//! The link layers a lab's captures come in, down to the network layer that
//! [`crate::packet`] reads. A capture says its link type per interface
//! (`LINKTYPE_*`, <https://www.tcpdump.org/linktypes.html>); a frame read
//! as the wrong one is garbage, so the reader of a capture asks
//! [`parse_frame`] with the interface's type, never assumes Ethernet.
//!
//! | link type | where a lab meets it | read as |
//! | --- | --- | --- |
//! | Ethernet (1) | the bench's own capture, a USB Ethernet adapter, a VLAN | Ethernet II, any stack of 802.1Q/802.1ad tags (Q-in-Q) as tshark reads it |
//! | Linux cooked (113), v2 (276) | `tcpdump -i any` (v2 with current libpcap) | the cooked header's protocol and sender address |
//! | raw IP (101; 12, 14 on some systems), IPv4 (228), IPv6 (229) | a capture app on the phone itself, a tunnel | IP by its version nibble |
//! | BSD loopback (0, host byte order), OpenBSD loop (108, network order) | loopback and tunnel interfaces | the address family, then IP |
//! | 802.11 (105), 802.11 with radiotap (127) | the bench's Wi-Fi access point in monitor mode | data frames through LLC/SNAP to IP; management, control and null frames as link control (read, no packet); protected (encrypted) frames not readable |
//!
//! Any other link type is [`FrameError::NotRead`]: the caller counts the
//! frame as one it could not judge, it never passes for silence.

use std::net::IpAddr;

use crate::packet::{
    Cursor, Frame, Layer, Link, MacAddr, Network, ParseError, ethertype, network, parse_ip_at,
    vlan_tags,
};

/// LINKTYPE_* values this module knows (tcpdump.org's registry).
pub mod code {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    /// DLT_RAW as some systems wrote it into pcap files before
    /// LINKTYPE_RAW existed.
    pub const RAW_12: u32 = 12;
    pub const RAW_14: u32 = 14;
    pub const RAW: u32 = 101;
    pub const IEEE802_11: u32 = 105;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IEEE802_11_RADIOTAP: u32 = 127;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// A capture interface's link type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkType {
    Ethernet,
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    Null,
    /// OpenBSD loopback: the address family in network byte order.
    Loop,
    /// Raw IP, either version.
    Raw,
    Ipv4,
    Ipv6,
    LinuxSll,
    LinuxSll2,
    Ieee80211,
    Radiotap,
    /// A link type this module does not read: its number.
    Other(u32),
}

impl LinkType {
    /// The link type a capture's interface declares.
    pub fn from_code(code: u32) -> LinkType {
        match code {
            code::NULL => LinkType::Null,
            code::ETHERNET => LinkType::Ethernet,
            code::RAW | code::RAW_12 | code::RAW_14 => LinkType::Raw,
            code::IEEE802_11 => LinkType::Ieee80211,
            code::LOOP => LinkType::Loop,
            code::LINUX_SLL => LinkType::LinuxSll,
            code::IEEE802_11_RADIOTAP => LinkType::Radiotap,
            code::IPV4 => LinkType::Ipv4,
            code::IPV6 => LinkType::Ipv6,
            code::LINUX_SLL2 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// Whether [`parse_frame`] reads frames of this type.
    pub fn is_read(self) -> bool {
        !matches!(self, LinkType::Other(_))
    }

    /// Its name as tcpdump's registry gives it (`LINKTYPE_LINUX_SLL2`).
    pub fn name(self) -> String {
        match self {
            LinkType::Ethernet => "LINKTYPE_ETHERNET".into(),
            LinkType::Null => "LINKTYPE_NULL".into(),
            LinkType::Loop => "LINKTYPE_LOOP".into(),
            LinkType::Raw => "LINKTYPE_RAW".into(),
            LinkType::Ipv4 => "LINKTYPE_IPV4".into(),
            LinkType::Ipv6 => "LINKTYPE_IPV6".into(),
            LinkType::LinuxSll => "LINKTYPE_LINUX_SLL".into(),
            LinkType::LinuxSll2 => "LINKTYPE_LINUX_SLL2".into(),
            LinkType::Ieee80211 => "LINKTYPE_IEEE802_11".into(),
            LinkType::Radiotap => "LINKTYPE_IEEE802_11_RADIOTAP".into(),
            LinkType::Other(code) => format!("link type {code}"),
        }
    }
}

/// Why a frame was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The bytes contradict the link type: cut short, or impossible values.
    #[error(transparent)]
    Malformed(#[from] ParseError),
    /// Readable in principle, not by benchctl.
    #[error("{0}")]
    NotRead(NotRead),
}

/// What benchctl does not read, and says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotRead {
    #[error("{} frames are not read by benchctl", .0.name())]
    LinkType(LinkType),
    /// An 802.11 frame with the Protected bit: its payload is encrypted.
    #[error("an encrypted (protected) 802.11 frame")]
    Encrypted,
}

/// Parse one frame of an interface whose link type is `link`.
pub fn parse_frame(link: LinkType, bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    parse_captured(link, bytes, bytes.len())
}

/// Parse a captured frame of `original_len` bytes on the wire, of which the
/// capture kept `bytes` (its snap length may have cut the rest): headers
/// must be whole, and an IP packet the capture cut says so
/// ([`crate::Packet::cut`]) instead of failing.
pub fn parse_captured(
    link: LinkType,
    bytes: &[u8],
    original_len: usize,
) -> Result<Frame<'_>, FrameError> {
    let cut = bytes.len() < original_len;
    match link {
        LinkType::Ethernet => Ok(crate::packet::ethernet(bytes, cut)?),
        LinkType::Raw => Ok(ip_frame(link, bytes, 0, None, cut)?),
        LinkType::Ipv4 | LinkType::Ipv6 => {
            // The link type promises the version; the packet must keep it.
            let want = if link == LinkType::Ipv4 { 4 } else { 6 };
            let c = Cursor::new(bytes, 0, Layer::Ipv4);
            if c.u8(0)? >> 4 != want {
                return Err(c
                    .invalid(format!("{} frame holds no IPv{want} packet", link.name()))
                    .into());
            }
            Ok(ip_frame(link, bytes, 0, None, cut)?)
        }
        LinkType::Null | LinkType::Loop => Ok(loopback(link, bytes, cut)?),
        LinkType::LinuxSll => Ok(sll(bytes, cut)?),
        LinkType::LinuxSll2 => Ok(sll2(bytes, cut)?),
        LinkType::Ieee80211 => ieee80211(link, bytes, 0, cut),
        LinkType::Radiotap => radiotap(bytes, cut),
        LinkType::Other(_) => Err(FrameError::NotRead(NotRead::LinkType(link))),
    }
}

/// An IP packet with no link addresses, at byte `at` of the frame.
fn ip_frame(
    kind: LinkType,
    bytes: &[u8],
    at: usize,
    packet_type: Option<u16>,
    cut: bool,
) -> Result<Frame<'_>, ParseError> {
    let payload = bytes.get(at..).unwrap_or(&[]);
    let packet = parse_ip_at(payload, at, cut)?;
    let ethertype = match packet.src {
        std::net::IpAddr::V4(_) => ethertype::IPV4,
        std::net::IpAddr::V6(_) => ethertype::IPV6,
    };
    Ok(Frame {
        link: Link {
            kind,
            dst: None,
            src: None,
            vlan: None,
            inner_vlan: None,
            ethertype,
            packet_type,
        },
        net: Network::Ip(packet),
    })
}

/// BSD loopback: a 4-byte address family, then the packet. AF_INET is 2
/// everywhere; AF_INET6 is 24, 28 or 30 depending on the BSD that wrote
/// it (10 on Linux). LINKTYPE_NULL stores it in the writer's byte order,
/// which the reader cannot know: a family that reads as one of these in
/// either order is taken.
fn loopback(kind: LinkType, bytes: &[u8], cut: bool) -> Result<Frame<'_>, ParseError> {
    let c = Cursor::new(bytes, 0, Layer::Link("BSD loopback header"));
    let raw: [u8; 4] = c.array(0)?;
    let families = match kind {
        LinkType::Loop => vec![u32::from_be_bytes(raw)],
        _ => vec![u32::from_le_bytes(raw), u32::from_be_bytes(raw)],
    };
    let ip = families.iter().any(|f| matches!(f, 2 | 10 | 24 | 28 | 30));
    if !ip {
        return Ok(Frame {
            link: Link {
                kind,
                dst: None,
                src: None,
                vlan: None,
                inner_vlan: None,
                ethertype: 0,
                packet_type: None,
            },
            net: Network::Other {
                ethertype: 0,
                payload: c.rest(4),
            },
        });
    }
    ip_frame(kind, bytes, 4, None, cut)
}

/// Linux cooked capture v1: packet type, ARPHRD type, address length,
/// 8 address bytes, protocol (an ethertype for Ethernet-like devices).
fn sll(bytes: &[u8], cut: bool) -> Result<Frame<'_>, ParseError> {
    let c = Cursor::new(bytes, 0, Layer::Link("Linux cooked header"));
    c.need(16)?;
    let packet_type = c.u16(0)?;
    let address_len = usize::from(c.u16(4)?);
    let address: [u8; 8] = c.array(6)?;
    let protocol = c.u16(14)?;
    let header = Cooked {
        packet_type,
        address_len,
        address,
        protocol,
        at: 16,
    };
    cooked(LinkType::LinuxSll, &c, header, cut)
}

/// Linux cooked capture v2: protocol, reserved, interface index, ARPHRD
/// type, packet type, address length, 8 address bytes.
fn sll2(bytes: &[u8], cut: bool) -> Result<Frame<'_>, ParseError> {
    let c = Cursor::new(bytes, 0, Layer::Link("Linux cooked v2 header"));
    c.need(20)?;
    let protocol = c.u16(0)?;
    let packet_type = u16::from(c.u8(10)?);
    let address_len = usize::from(c.u8(11)?);
    let address: [u8; 8] = c.array(12)?;
    let header = Cooked {
        packet_type,
        address_len,
        address,
        protocol,
        at: 20,
    };
    cooked(LinkType::LinuxSll2, &c, header, cut)
}

/// What both cooked headers carry: the sender's link address (when it is
/// a MAC) and the protocol; the payload starts at `at`.
struct Cooked {
    packet_type: u16,
    address_len: usize,
    address: [u8; 8],
    protocol: u16,
    at: usize,
}

fn cooked<'a>(
    kind: LinkType,
    c: &Cursor<'a>,
    h: Cooked,
    cut: bool,
) -> Result<Frame<'a>, ParseError> {
    let src = (h.address_len == 6).then(|| {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&h.address[..6]);
        MacAddr(mac)
    });
    let (vlan, inner_vlan, ethertype, at) = vlan_tags(c, h.protocol, h.at)?;
    Ok(Frame {
        link: Link {
            kind,
            dst: None,
            src,
            vlan,
            inner_vlan,
            ethertype,
            packet_type: Some(h.packet_type),
        },
        net: network(ethertype, c.rest(at), at, cut)?,
    })
}

/// The radiotap header (its length is its own third and fourth bytes,
/// little-endian), then an 802.11 frame. Its fields (rates, signal) say
/// nothing about who sent what; a trailing FCS it announces is harmless,
/// as the IP length bounds the packet.
fn radiotap(bytes: &[u8], cut: bool) -> Result<Frame<'_>, FrameError> {
    let c = Cursor::new(bytes, 0, Layer::Link("radiotap header"));
    c.need(8)?;
    if c.u8(0)? != 0 {
        return Err(c.invalid(format!("radiotap version {}", c.u8(0)?)).into());
    }
    let len = usize::from(u16::from_le_bytes(c.array(2)?));
    if len < 8 {
        return Err(c.invalid(format!("radiotap length {len}")).into());
    }
    c.need(len)?;
    ieee80211(LinkType::Radiotap, bytes, len, cut)
}

/// An IEEE 802.11 frame at byte `at`: a data frame's addresses by its
/// To DS / From DS bits, its LLC/SNAP header, then the network layer.
/// Management and control frames carry no IP: `Network::Other`.
fn ieee80211(kind: LinkType, bytes: &[u8], at: usize, cut: bool) -> Result<Frame<'_>, FrameError> {
    let c = Cursor::new(
        bytes.get(at..).unwrap_or(&[]),
        at,
        Layer::Link("802.11 header"),
    );
    let fc0 = c.u8(0)?;
    let flags = c.u8(1)?;
    let frame_type = (fc0 >> 2) & 0x3;
    let subtype = fc0 >> 4;
    let mac = |offset: usize| -> Result<MacAddr, ParseError> { Ok(MacAddr(c.array(offset)?)) };
    let not_data = |dst, src| Frame {
        link: Link {
            kind,
            dst,
            src,
            vlan: None,
            inner_vlan: None,
            ethertype: 0,
            packet_type: None,
        },
        net: Network::LinkControl,
    };
    if frame_type != 2 {
        // Management (0), control (1), extension (3): the sender is
        // address 2 where the frame has one.
        let dst = mac(4).ok();
        let src = if frame_type == 1 { None } else { mac(10).ok() };
        return Ok(not_data(dst, src));
    }
    let (to_ds, from_ds) = (flags & 0x01 != 0, flags & 0x02 != 0);
    c.need(24)?;
    let (dst, src) = match (to_ds, from_ds) {
        (false, false) => (mac(4)?, mac(10)?),
        (true, false) => (mac(16)?, mac(10)?),
        (false, true) => (mac(4)?, mac(16)?),
        (true, true) => (mac(16)?, mac(24)?),
    };
    let mut header = if to_ds && from_ds { 30 } else { 24 };
    let qos = subtype & 0x08 != 0;
    if qos {
        header += 2;
        // +HTC: an HT control field follows QoS when Order is set.
        if flags & 0x80 != 0 {
            header += 4;
        }
    }
    // Null data (subtypes 4 and 12) carries nothing.
    if subtype & 0x04 != 0 {
        return Ok(not_data(Some(dst), Some(src)));
    }
    if flags & 0x40 != 0 {
        return Err(FrameError::NotRead(NotRead::Encrypted));
    }
    let llc = Cursor::new(c.rest(header), at + header, Layer::Link("LLC/SNAP header"));
    llc.need(8)?;
    let snap: [u8; 6] = llc.array(0)?;
    if snap[..3] != [0xaa, 0xaa, 0x03] {
        // Plain LLC (no SNAP): a protocol benchctl does not read.
        return Ok(Frame {
            link: Link {
                kind,
                dst: Some(dst),
                src: Some(src),
                vlan: None,
                inner_vlan: None,
                ethertype: 0,
                packet_type: None,
            },
            net: Network::Other {
                ethertype: 0,
                payload: llc.rest(0),
            },
        });
    }
    let ethertype = llc.u16(6)?;
    let payload_at = at + header + 8;
    Ok(Frame {
        link: Link {
            kind,
            dst: Some(dst),
            src: Some(src),
            vlan: None,
            inner_vlan: None,
            ethertype,
            packet_type: None,
        },
        net: network(
            ethertype,
            bytes.get(payload_at..).unwrap_or(&[]),
            payload_at,
            cut,
        )?,
    })
}

/// What can still be told of a frame that did not parse (damaged, cut
/// before its headers ended, encrypted, of a protocol benchctl does not
/// read): its link addresses and, where its IP header got as far as them,
/// its IP addresses. A frame that cannot be read still crossed the link;
/// whose it was and where it went decide whether it broke the phase's
/// expectation (in a phase that allows no packets, every one counts).
/// Nothing here is checked beyond the bytes being there: it is evidence,
/// never a reason to call a frame harmless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Salvaged {
    pub src_mac: Option<MacAddr>,
    pub dst_mac: Option<MacAddr>,
    /// The network layer's type, when the link header (and its VLAN tags)
    /// was whole.
    pub ethertype: Option<u16>,
    /// IP source and destination, when the IP header held them.
    pub ips: Option<(IpAddr, IpAddr)>,
    /// The IP protocol number (IPv6: the fixed header's next header).
    pub protocol: Option<u8>,
}

/// [`Salvaged`] of a frame of an interface whose link type is `link`.
pub fn salvage(link: LinkType, bytes: &[u8]) -> Salvaged {
    let mac = |at: usize| -> Option<MacAddr> {
        let b: [u8; 6] = bytes.get(at..at + 6)?.try_into().ok()?;
        Some(MacAddr(b))
    };
    match link {
        LinkType::Ethernet => {
            let mut s = Salvaged {
                dst_mac: mac(0),
                src_mac: mac(6),
                ..Salvaged::default()
            };
            if let Some(t) = bytes.get(12..14) {
                let c = Cursor::new(bytes, 0, Layer::Ethernet);
                if let Ok((_, _, ethertype, at)) =
                    vlan_tags(&c, u16::from_be_bytes([t[0], t[1]]), 14)
                {
                    s.ethertype = Some(ethertype);
                    s.with_ip(ethertype, bytes.get(at..));
                }
            }
            s
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => {
            let mut s = Salvaged::default();
            s.with_ip(ethertype::IPV4, Some(bytes));
            s
        }
        LinkType::Null | LinkType::Loop => {
            let mut s = Salvaged::default();
            s.with_ip(ethertype::IPV4, bytes.get(4..));
            s
        }
        LinkType::LinuxSll | LinkType::LinuxSll2 => {
            let (len_at, addr_at, proto_at, at) = if link == LinkType::LinuxSll {
                (5, 6, 14, 16)
            } else {
                (11, 12, 0, 20)
            };
            let mut s = Salvaged {
                src_mac: mac(addr_at).filter(|_| bytes.get(len_at) == Some(&6)),
                ..Salvaged::default()
            };
            if let (Some(p), true) = (bytes.get(proto_at..proto_at + 2), bytes.len() >= at) {
                let c = Cursor::new(bytes, 0, Layer::Link("Linux cooked header"));
                if let Ok((_, _, ethertype, at)) =
                    vlan_tags(&c, u16::from_be_bytes([p[0], p[1]]), at)
                {
                    s.ethertype = Some(ethertype);
                    s.with_ip(ethertype, bytes.get(at..));
                }
            }
            s
        }
        LinkType::Ieee80211 => salvage_80211(bytes),
        LinkType::Radiotap => bytes
            .get(2..4)
            .map(|l| usize::from(u16::from_le_bytes([l[0], l[1]])))
            .and_then(|len| bytes.get(len..))
            .map(salvage_80211)
            .unwrap_or_default(),
        LinkType::Other(_) => Salvaged::default(),
    }
}

/// The addresses of an 802.11 data frame by its To DS / From DS bits (the
/// payload of a protected one stays unread).
fn salvage_80211(bytes: &[u8]) -> Salvaged {
    let mac = |at: usize| -> Option<MacAddr> {
        let b: [u8; 6] = bytes.get(at..at + 6)?.try_into().ok()?;
        Some(MacAddr(b))
    };
    let (Some(&fc0), Some(&flags)) = (bytes.first(), bytes.get(1)) else {
        return Salvaged::default();
    };
    if (fc0 >> 2) & 0x3 != 2 {
        return Salvaged {
            dst_mac: mac(4),
            src_mac: mac(10),
            ..Salvaged::default()
        };
    }
    let (dst, src) = match (flags & 0x01 != 0, flags & 0x02 != 0) {
        (false, false) => (4, 10),
        (true, false) => (16, 10),
        (false, true) => (4, 16),
        (true, true) => (16, 24),
    };
    Salvaged {
        dst_mac: mac(dst),
        src_mac: mac(src),
        ..Salvaged::default()
    }
}

impl Salvaged {
    /// The IP addresses of `ip`, if the link said IP and the header is
    /// there as far as them.
    fn with_ip(&mut self, ethertype: u16, ip: Option<&[u8]>) {
        if !matches!(ethertype, ethertype::IPV4 | ethertype::IPV6) {
            return;
        }
        let Some(ip) = ip else { return };
        let addr4 = |at: usize| -> Option<IpAddr> {
            let b: [u8; 4] = ip.get(at..at + 4)?.try_into().ok()?;
            Some(IpAddr::from(b))
        };
        let addr6 = |at: usize| -> Option<IpAddr> {
            let b: [u8; 16] = ip.get(at..at + 16)?.try_into().ok()?;
            Some(IpAddr::from(b))
        };
        let (ips, protocol) = match ip.first().map(|b| b >> 4) {
            Some(4) => (addr4(12).zip(addr4(16)), ip.get(9)),
            Some(6) => (addr6(8).zip(addr6(24)), ip.get(6)),
            _ => (None, None),
        };
        if ips.is_some() {
            self.ips = ips;
            self.protocol = protocol.copied();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::build;
    use std::net::Ipv4Addr;

    const DUT: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);
    const FAR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);

    /// A UDP datagram from the DUT to 203.0.113.9:443 as an IP packet.
    fn ip_packet() -> Vec<u8> {
        build::ipv4(
            DUT,
            FAR,
            17,
            64,
            &build::udp(DUT.into(), FAR.into(), 40000, 443, b"hello"),
        )
    }

    fn assert_the_datagram(frame: &Frame<'_>) {
        let ip = frame.ip().expect("an IP packet");
        assert_eq!((ip.src, ip.dst), (DUT.into(), FAR.into()));
        assert_eq!(ip.ports(), Some((40000, 443)));
        assert_eq!(ip.payload, b"hello");
    }

    #[test]
    fn raw_ip_and_the_versioned_link_types() {
        let ip = ip_packet();
        for link in [LinkType::Raw, LinkType::Ipv4] {
            assert_the_datagram(&parse_frame(link, &ip).expect("read"));
        }
        let wrong = parse_frame(LinkType::Ipv6, &ip).expect_err("an IPv4 packet on an IPv6 link");
        assert!(matches!(wrong, FrameError::Malformed(_)), "{wrong}");
        assert_eq!(LinkType::from_code(101), LinkType::Raw);
        assert_eq!(LinkType::from_code(12), LinkType::Raw);
    }

    #[test]
    fn bsd_loopback_in_either_byte_order() {
        for family in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let mut f = family.to_vec();
            f.extend(ip_packet());
            assert_the_datagram(&parse_frame(LinkType::Null, &f).expect("null"));
        }
        let mut f = 2u32.to_be_bytes().to_vec();
        f.extend(ip_packet());
        assert_the_datagram(&parse_frame(LinkType::Loop, &f).expect("loop"));
        // Not an IP family: read, but not IP.
        let mut other = 17u32.to_be_bytes().to_vec();
        other.extend(ip_packet());
        let frame = parse_frame(LinkType::Loop, &other).expect("read");
        assert!(frame.ip().is_none());
    }

    fn sll_header(packet_type: u16, protocol: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(packet_type.to_be_bytes());
        h.extend(1u16.to_be_bytes()); // ARPHRD_ETHER
        h.extend(6u16.to_be_bytes());
        h.extend([0x02, 0, 0, 0x4d, 1, 2, 0, 0]);
        h.extend(protocol.to_be_bytes());
        h
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let mut f = sll_header(4, ethertype::IPV4);
        f.extend(ip_packet());
        let frame = parse_frame(LinkType::LinuxSll, &f).expect("sll");
        assert_the_datagram(&frame);
        assert_eq!(frame.link.src, Some(MacAddr([0x02, 0, 0, 0x4d, 1, 2])));
        assert_eq!(frame.link.packet_type, Some(4));

        // With a VLAN tag: the cooked protocol announces it.
        let mut tagged = sll_header(0, ethertype::VLAN);
        tagged.extend([0x00, 0x07]);
        tagged.extend(ethertype::IPV4.to_be_bytes());
        tagged.extend(ip_packet());
        let frame = parse_frame(LinkType::LinuxSll, &tagged).expect("tagged");
        assert_the_datagram(&frame);
        assert_eq!(frame.link.vlan.map(|v| v.vid), Some(7));

        let mut v2 = Vec::new();
        v2.extend(ethertype::IPV4.to_be_bytes());
        v2.extend([0, 0]);
        v2.extend(3u32.to_be_bytes());
        v2.extend(1u16.to_be_bytes());
        v2.extend([1, 6]); // broadcast, 6-byte address
        v2.extend([0x02, 0, 0, 0x4d, 1, 1, 0, 0]);
        v2.extend(ip_packet());
        let frame = parse_frame(LinkType::LinuxSll2, &v2).expect("sll2");
        assert_the_datagram(&frame);
        assert!(frame.link.is_broadcast());
    }

    /// An 802.11 QoS data frame from the DUT to the access point (To DS),
    /// with LLC/SNAP, behind a minimal radiotap header.
    fn wifi(flags: u8) -> Vec<u8> {
        let mut f = vec![0, 0, 8, 0, 0, 0, 0, 0]; // radiotap: version 0, length 8, nothing present
        f.extend([0x88, flags]); // QoS data
        f.extend([0, 0]); // duration
        f.extend([0x02, 0, 0, 0x4d, 1, 1]); // address 1: BSSID
        f.extend([0x02, 0, 0, 0x4d, 1, 2]); // address 2: source
        f.extend([0xff; 6]); // address 3: destination
        f.extend([0, 0]); // sequence
        f.extend([0, 0]); // QoS control
        f.extend([0xaa, 0xaa, 0x03, 0, 0, 0]);
        f.extend(ethertype::IPV4.to_be_bytes());
        f.extend(ip_packet());
        f
    }

    #[test]
    fn wifi_data_frames_reach_ip_and_protected_ones_are_not_read() {
        let bytes = wifi(0x01);
        let frame = parse_frame(LinkType::Radiotap, &bytes).expect("data frame");
        assert_the_datagram(&frame);
        assert_eq!(frame.link.src, Some(MacAddr([0x02, 0, 0, 0x4d, 1, 2])));
        assert!(
            frame.link.is_broadcast(),
            "address 3 is the destination when To DS"
        );
        let plain = wifi(0x01);
        assert_the_datagram(&parse_frame(LinkType::Ieee80211, &plain[8..]).expect("no radiotap"));
        assert_eq!(
            parse_frame(LinkType::Radiotap, &wifi(0x41)),
            Err(FrameError::NotRead(NotRead::Encrypted))
        );
        // A beacon (management): read, not IP.
        let mut beacon = vec![0, 0, 8, 0, 0, 0, 0, 0, 0x80, 0, 0, 0];
        beacon.extend([0xff; 6]);
        beacon.extend([0x02, 0, 0, 0x4d, 1, 1]);
        beacon.extend([0x02, 0, 0, 0x4d, 1, 1]);
        beacon.extend([0; 14]);
        let beacon = parse_frame(LinkType::Radiotap, &beacon).expect("beacon");
        assert_eq!(beacon.net, Network::LinkControl);
    }

    #[test]
    fn a_frame_the_snap_length_cut_keeps_its_headers_and_says_it_is_cut() {
        let mut f = sll_header(4, ethertype::IPV4);
        f.extend(ip_packet());
        let whole = f.len();
        let cut = &f[..16 + 20 + 8 + 2];
        assert!(
            parse_frame(LinkType::LinuxSll, cut).is_err(),
            "a length past the end is damage"
        );
        let frame = parse_captured(LinkType::LinuxSll, cut, whole).expect("headers whole");
        let ip = frame.ip().expect("IP");
        assert!(ip.cut);
        assert_eq!(ip.ports(), Some((40000, 443)));
        assert_eq!(ip.payload, b"he");
        let uncut = parse_captured(LinkType::LinuxSll, &f, whole).expect("whole");
        assert!(!uncut.ip().expect("IP").cut);
        // Cut inside the UDP header: the headers are not whole.
        assert!(parse_captured(LinkType::LinuxSll, &f[..16 + 24], whole).is_err());
    }

    #[test]
    fn an_unknown_link_type_is_said_not_read() {
        let err = parse_frame(LinkType::from_code(147), &ip_packet()).expect_err("DLT_USER0");
        assert_eq!(
            err,
            FrameError::NotRead(NotRead::LinkType(LinkType::Other(147)))
        );
        assert!(err.to_string().contains("link type 147"), "{err}");
    }

    /// A frame that does not parse still says who sent it and where its
    /// IP header said it went: what the analyzer needs to count it.
    #[test]
    fn a_damaged_frame_still_gives_its_addresses() {
        // UDP length 64 bytes past the datagram's end: not parsed.
        let mut ip = ip_packet();
        let len = u16::from_be_bytes([ip[24], ip[25]]) + 64;
        ip[24..26].copy_from_slice(&len.to_be_bytes());
        let eth = build::ethernet(build::GW_MAC, build::DUT_MAC, ethertype::IPV4, &ip);
        assert!(parse_frame(LinkType::Ethernet, &eth).is_err());
        let s = salvage(LinkType::Ethernet, &eth);
        assert_eq!(s.src_mac, Some(MacAddr(build::DUT_MAC)));
        assert_eq!(s.dst_mac, Some(MacAddr(build::GW_MAC)));
        assert_eq!(s.ethertype, Some(ethertype::IPV4));
        assert_eq!(s.ips, Some((DUT.into(), FAR.into())));
        assert_eq!(s.protocol, Some(17));
        // Behind two VLAN tags, in a cooked capture, as raw IP.
        let mut tagged = eth[..12].to_vec();
        tagged.extend([0x88, 0xa8, 0, 1, 0x81, 0, 0, 2]);
        tagged.extend(&eth[12..]);
        assert_eq!(salvage(LinkType::Ethernet, &tagged).ips, s.ips);
        let mut cooked = sll_header(4, ethertype::IPV4);
        cooked.extend(&ip);
        let c = salvage(LinkType::LinuxSll, &cooked);
        assert_eq!((c.src_mac, c.ips), (s.src_mac, s.ips));
        assert_eq!(salvage(LinkType::Raw, &ip).ips, s.ips);
        // A protected 802.11 frame: its addresses, not its payload.
        let w = salvage(LinkType::Radiotap, &wifi(0x41));
        assert_eq!(w.src_mac, Some(MacAddr([0x02, 0, 0, 0x4d, 1, 2])));
        assert_eq!(w.dst_mac, Some(MacAddr::BROADCAST));
        assert_eq!(w.ips, None);
        // Too short for anything: nothing, and no panic on any prefix.
        assert_eq!(salvage(LinkType::Ethernet, &eth[..5]), Salvaged::default());
        for link in [
            LinkType::Ethernet,
            LinkType::LinuxSll2,
            LinkType::Radiotap,
            LinkType::Null,
        ] {
            for n in 0..eth.len() {
                let _ = salvage(link, &eth[..n]);
            }
        }
    }

    #[test]
    fn no_link_type_panics_on_damaged_frames() {
        let samples = [
            {
                let mut f = sll_header(4, ethertype::IPV4);
                f.extend(ip_packet());
                f
            },
            wifi(0x01),
            ip_packet(),
        ];
        let mut rng = benchctl_rng::SimRng::new(0x11);
        for link in [
            LinkType::Ethernet,
            LinkType::Null,
            LinkType::Loop,
            LinkType::Raw,
            LinkType::Ipv4,
            LinkType::Ipv6,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Ieee80211,
            LinkType::Radiotap,
        ] {
            for _ in 0..2000 {
                let mut f = samples[rng.index(samples.len())].clone();
                for _ in 0..1 + rng.index(4) {
                    let i = rng.index(f.len());
                    f[i] = rng.next_u64() as u8;
                }
                let keep = f.len() - rng.index(f.len().min(40));
                let _ = parse_frame(link, &f[..keep]);
            }
        }
    }
}
