//! Frame builders: real Ethernet II, IPv4, IPv6, UDP, TCP and ICMP header
//! layouts with correct checksums (RFC 1071), so tshark and our own parser
//! read them as they would a capture. The simulated phones make every frame
//! they send with these; tests make frames for the parsers with them.
//!
//! Builders only: the choices a sender makes (IP id, TTL, TCP window and
//! options, padding) are the caller's, because they are what makes a
//! simulated Android phone look like one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// RFC 1071 Internet checksum over `data`, continuing `sum`: the ones'
/// complement sum of 16-bit words, folded and inverted. Over a header with
/// its checksum in place the result is 0.
pub fn checksum(data: &[u8], mut sum: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The pseudo-header sum that UDP, TCP (RFC 768, RFC 793, RFC 8200 §8.1)
/// and ICMPv6 checksums start from: both addresses, protocol, length.
pub fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let words = |bytes: &[u8]| -> u32 {
        bytes
            .chunks_exact(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum()
    };
    let addr = |a: IpAddr| match a {
        IpAddr::V4(a) => words(&a.octets()),
        IpAddr::V6(a) => words(&a.octets()),
    };
    addr(src) + addr(dst) + u32::from(proto) + len as u32
}

/// An Ethernet II frame as the host captures it (no FCS, no padding: a
/// frame the host sends is captured before the NIC pads it).
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + body.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// An IPv4 packet with a 20-byte header, Don't Fragment set (as Linux sets
/// it for path MTU discovery).
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, id: u16, l4: &[u8]) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut h = Vec::with_capacity(usize::from(total));
    h.extend_from_slice(&[0x45, 0x00]);
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&0x4000u16.to_be_bytes());
    h.extend_from_slice(&[ttl, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&h, 0);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

/// An IPv6 packet: the fixed header, then `next` with `body`.
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, hops: u8, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(40 + body.len());
    h.extend_from_slice(&[0x60, 0x00, 0x00, 0x00]);
    h.extend_from_slice(&(body.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, hops]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(body);
    h
}

/// A UDP datagram between `src` and `dst` (for its checksum).
pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut s = Vec::with_capacity(len);
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&(len as u16).to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(payload);
    let mut c = checksum(&s, pseudo_sum(src, dst, 17, len));
    // 0 means "no checksum" in UDP; a computed 0 is sent as all ones.
    if c == 0 {
        c = 0xffff;
    }
    s[6..8].copy_from_slice(&c.to_be_bytes());
    s
}

/// The fields of a TCP header a sender chooses.
#[derive(Debug, Clone, Copy)]
pub struct Tcp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Options, a multiple of 4 bytes long.
    pub options: &'a [u8],
}

impl Tcp<'_> {
    /// The segment between `src` and `dst` (for its checksum).
    pub fn segment(&self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> Vec<u8> {
        let hlen = 20 + self.options.len();
        let mut s = Vec::with_capacity(hlen + payload.len());
        s.extend_from_slice(&self.sport.to_be_bytes());
        s.extend_from_slice(&self.dport.to_be_bytes());
        s.extend_from_slice(&self.seq.to_be_bytes());
        s.extend_from_slice(&self.ack.to_be_bytes());
        s.push(((hlen / 4) as u8) << 4);
        s.push(self.flags);
        s.extend_from_slice(&self.window.to_be_bytes());
        s.extend_from_slice(&[0, 0, 0, 0]);
        s.extend_from_slice(self.options);
        s.extend_from_slice(payload);
        let c = checksum(&s, pseudo_sum(src, dst, 6, s.len()));
        s[16..18].copy_from_slice(&c.to_be_bytes());
        s
    }
}

/// An ICMP or ICMPv6 message; `rest` follows the checksum.
pub fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut m = vec![icmp_type, code, 0, 0];
    m.extend_from_slice(rest);
    // ICMPv6 sums a pseudo-header (RFC 4443 §2.3); ICMP does not.
    let sum = match src {
        IpAddr::V4(_) => 0,
        IpAddr::V6(_) => pseudo_sum(src, dst, 58, m.len()),
    };
    let c = checksum(&m, sum);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_its_published_value() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2 (before inverting).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data, 0), !0xddf2);
    }

    #[test]
    fn every_header_checks_out_to_zero() {
        let (a, b) = (Ipv4Addr::new(10, 77, 1, 2), Ipv4Addr::new(8, 8, 8, 8));
        let ip = ipv4(a, b, 17, 64, 7, &[]);
        assert_eq!(checksum(&ip[..20], 0), 0);
        let u = udp(a.into(), b.into(), 40000, 53, b"odd");
        assert_eq!(checksum(&u, pseudo_sum(a.into(), b.into(), 17, u.len())), 0);
        let opts = [2, 4, 0x05, 0xb4];
        let t = Tcp {
            sport: 40000,
            dport: 443,
            seq: 1,
            ack: 0,
            flags: 0x02,
            window: 65535,
            options: &opts,
        }
        .segment(a.into(), b.into(), b"x");
        assert_eq!(t[12] >> 4, 6, "data offset counts the options");
        assert_eq!(checksum(&t, pseudo_sum(a.into(), b.into(), 6, t.len())), 0);
    }
}
