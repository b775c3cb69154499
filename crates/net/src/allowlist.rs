//! The `allow` list of a phase with `net = "allowlist"` (recording-format.md):
//! which destinations a DUT may talk to, and a verdict for every packet.
//!
//! An allowlist is a list of strings, each one of
//!
//! - an IP address, v4 or v6: `10.77.0.1`, `2001:db8::53`;
//! - a CIDR block: `10.77.0.0/16`, `2001:db8:77::/64` (host bits are
//!   ignored, so `10.77.1.2/16` means `10.77.0.0/16`);
//! - a DNS name, which also allows its subdomains: `gstatic.com` allows
//!   `connectivitycheck.gstatic.com` but not `evil-gstatic.com`.
//!
//! Names reach addresses through DNS, so the list learns: an address that a
//! DNS answer seen on the link gave for an allowed name is allowed from then
//! on. The spec's "captured DNS answer" is read strictly: only an answer
//! to a query the DUT sent teaches anything ([`ResolverCache`]): same
//! transaction id and question name, from the address and port the query
//! went to, to the address and port it came from, within
//! [`QUERY_TIMEOUT_S`]. An answer nobody asked for (a forged or injected
//! "google.com is 198.51.100.4") teaches nothing. Nor does one that did not
//! come from the bench side of the link (recording-format.md, "Whose
//! packet is it"): a DUT that sends itself "connectivitycheck.gstatic.com
//! is 203.0.113.7" from the resolver's address is answering itself, and
//! [`ResolverCache::observe_frame`] calls that answer forged
//! ([`Observed::Forged`]) for the analyzer to report. Where the bench side
//! is known only by address, an answer that leaves from the very MAC the
//! query left from, to another MAC, is the DUT's all the same. Learned
//! addresses do not expire with the record's TTL,
//! because phones keep using an address past it. The analyzer keeps one
//! [`ResolverCache`] per DUT for the whole run and asks each allowlist phase
//! whether one of the names an address was learned for is allowed
//! ([`Allowlist::judge_learned`]), so a name resolved during boot still
//! counts when the phone connects in the allowlist phase.
//!
//! A packet from the DUT is allowed when its destination is allowed, or when
//! it is a plain DNS lookup whose every question is an allowed name (to any
//! resolver: a phone may use one the bench does not list). A packet to the
//! DUT is allowed when its source is allowed, or when it is a DNS answer
//! about allowed names. Besides allowed and denied there is a third verdict,
//! [`Decision::Housekeeping`]: ARP, DHCP, IPv6 neighbour discovery and
//! multicast or broadcast, which every phone does on every link and which
//! never leave the link: only what is addressed to stay there (the limited
//! broadcast, link-scoped groups, SSDP's and WS-Discovery's groups for
//! discovery), never a routable address whatever its port or frame; what
//! takes knowing the bench (a renewal unicast to its DHCP server, the
//! DUT's subnet broadcast) is the analyzer's to set apart. The caller
//! decides what they count as: the simulated link lets them through (a
//! link without ARP is no link), an analyzer may list them separately.
//!
//! Known limits, each a consequence of judging one packet at a time:
//!
//! - A TCP connection to an unlisted resolver is denied from its SYN on,
//!   even if it would only carry lookups of allowed names: the handshake
//!   says nothing about what follows.
//! - DNS to an allowed address is allowed whatever it asks: the list says
//!   where the DUT may send packets, not what they may say. Data smuggled in
//!   the names is the `dns-exfiltration` detector's business, and a name
//!   outside the list asked again and again on a timer is a beacon to that
//!   name (`net-beacon`, judged by the name). To an unlisted address only a
//!   plain lookup of allowed names passes: extra records, trailing bytes,
//!   another opcode, or EDNS options beyond what a stub resolver sends (a
//!   cookie, a client subnet, zero padding: `edns_extra`) are data riding
//!   on the lookup, and the query is denied.
//! - Learning trusts the resolver the DUT asked. A DUT that asks an
//!   accomplice's server (allowed: a lookup of an allowed name is allowed
//!   to any resolver, as the spec says) and gets "android.com is
//!   203.0.113.9" back has made 203.0.113.9 allowed, and its traffic to it
//!   passes. Matching answers to queries only stops answers nobody asked
//!   for; the spec's rule gives no way to tell an accomplice from a
//!   resolver the phone was configured with, and queries to resolvers the
//!   list does not name are deliberately not findings. A bench that must
//!   rule this out lists its resolvers' addresses and leaves the names off
//!   (or runs its own resolver on the link).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use super::dns::{self, Message, RData};
use super::packet::{self, Frame, MacAddr, Network, Packet, Transport, ethertype};

/// The longest DNS name in text, without the trailing dot: 255 octets on
/// the wire less the first length byte and the root (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 253;

/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Which way a packet crossed the DUT's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the DUT: its destination is what the allowlist judges.
    FromDut,
    /// Sent to the DUT: its source is what the allowlist judges.
    ToDut,
}

/// An address block, host bits cleared. The block arithmetic is the
/// `ipnet` crate's (well kept, no dependencies of its own); what is ours is
/// what an allowlist needs on top: the error words for a bad entry, and an
/// IPv4-mapped IPv6 address counted as the IPv4 host it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(ipnet::IpNet);

impl Cidr {
    /// The block of `prefix` leading bits of `addr`; host bits are cleared.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, EntryError> {
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        ipnet::IpNet::new(addr, prefix)
            .map(|net| Cidr(net.trunc()))
            .map_err(|_| EntryError::PrefixTooLong {
                prefix: u32::from(prefix),
                bits,
            })
    }

    /// The first address of the block.
    pub fn addr(&self) -> IpAddr {
        self.0.network()
    }

    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether `ip` is in the block. An IPv4-mapped IPv6 address
    /// (`::ffff:10.0.0.1`) is in the IPv4 blocks its IPv4 address is in:
    /// it is the same host.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip) || self.0.contains(&ip.to_canonical())
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.prefix())
    }
}

impl FromStr for Cidr {
    type Err = EntryError;

    fn from_str(s: &str) -> Result<Cidr, EntryError> {
        let Some((addr, prefix)) = s.split_once('/') else {
            // A bare address is the block of that one host.
            let ip: IpAddr = s
                .parse()
                .map_err(|_| EntryError::BadCidrAddress(s.to_string()))?;
            return Cidr::new(ip, if ip.is_ipv4() { 32 } else { 128 });
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| EntryError::BadCidrAddress(addr.to_string()))?;
        // Digits only: u32's parser would take "+8".
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EntryError::BadPrefix(prefix.to_string()));
        }
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let n: u32 = prefix.parse().unwrap_or(u32::MAX);
        let n = u8::try_from(n)
            .ok()
            .filter(|&p| p <= bits)
            .ok_or(EntryError::PrefixTooLong { prefix: n, bits })?;
        Cidr::new(addr, n)
    }
}

/// One entry of an allowlist, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Ip(IpAddr),
    Cidr(Cidr),
    /// Lowercase, without the trailing dot.
    Name(String),
    /// `bench`: the bench side of the DUT's link (its gateway, resolver,
    /// DHCP server), whatever its addresses on a given bench. Only a bench
    /// knows them: [`expand_bench`] turns the entry into them before a
    /// list is parsed or recorded.
    Bench,
}

/// The entry that names the bench side of the DUT's link.
pub const BENCH_ENTRY: &str = "bench";

/// `entries` with [`BENCH_ENTRY`] replaced by the bench's addresses on the
/// DUT's link (an empty list drops it: a link without addresses has no
/// bench side to reach).
pub fn expand_bench(entries: &[String], bench: &[IpAddr]) -> Vec<String> {
    let mut out = Vec::with_capacity(entries.len() + bench.len());
    for e in entries {
        if e.eq_ignore_ascii_case(BENCH_ENTRY) {
            out.extend(bench.iter().map(ToString::to_string));
        } else {
            out.push(e.clone());
        }
    }
    out
}

impl FromStr for Entry {
    type Err = EntryError;

    /// Classify one entry: an IP address, else a CIDR block (it has a
    /// slash), else a DNS name (RFC 1035 §2.3.1 syntax, plus `_` as in
    /// service names like `_dns.resolver.arpa`, RFC 8552).
    fn from_str(s: &str) -> Result<Entry, EntryError> {
        if s.is_empty() {
            return Err(EntryError::Empty);
        }
        if s.eq_ignore_ascii_case(BENCH_ENTRY) {
            return Ok(Entry::Bench);
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Entry::Ip(ip.to_canonical()));
        }
        if s.contains('/') {
            return s.parse().map(Entry::Cidr);
        }
        if s.contains(':') {
            // No DNS name has a colon; this was meant as an IPv6 address
            // (a zone index like `%wlan0` included: it means nothing off
            // the host that wrote it).
            return Err(EntryError::NotIpv6);
        }
        check_name(s).map(Entry::Name)
    }
}

/// The name, lowercased and without its trailing dot, if its syntax is that
/// of a host name.
fn check_name(s: &str) -> Result<String, EntryError> {
    let name = s.strip_suffix('.').unwrap_or(s);
    if let Some(parent) = name.strip_prefix("*.") {
        return Err(EntryError::Wildcard(parent.to_ascii_lowercase()));
    }
    if name.is_empty() {
        return Err(EntryError::Root);
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii()) {
        return Err(EntryError::NonAscii(c));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(EntryError::NameTooLong(name.len()));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(EntryError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(EntryError::LabelTooLong(label.to_string()));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(EntryError::BadChar(c));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(EntryError::HyphenEdge(label.to_string()));
        }
    }
    // No top-level domain is all digits (RFC 3696 §2), so `10.77.0.256` or
    // `10.77.0` is a mistyped address, not a name.
    if name
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(EntryError::NumericTld);
    }
    Ok(name.to_ascii_lowercase())
}

/// Why one entry is not an IP address, a CIDR block or a DNS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("an empty entry names nothing")]
    Empty,
    #[error("names the bench side of a DUT's link, whose addresses only a bench knows")]
    BenchUnresolved,
    #[error("prefix length {prefix} is longer than {bits} bits")]
    PrefixTooLong { prefix: u32, bits: u8 },
    #[error("prefix length \"{0}\" after the slash is not a number")]
    BadPrefix(String),
    #[error("\"{0}\" before the slash is not an IP address")]
    BadCidrAddress(String),
    #[error("not a valid IPv6 address (and a DNS name has no colon)")]
    NotIpv6,
    #[error("no wildcard needed: a name already allows its subdomains, so write \"{0}\"")]
    Wildcard(String),
    #[error("the root name would allow every name; list the names instead")]
    Root,
    #[error("character '{0}' is not ASCII: write an internationalised name in its xn-- form")]
    NonAscii(char),
    #[error("the name is {0} characters long; DNS allows {MAX_NAME_LEN}")]
    NameTooLong(usize),
    #[error("the name has an empty label (two dots in a row, or a leading dot)")]
    EmptyLabel,
    #[error("label \"{0}\" is longer than {MAX_LABEL_LEN} characters")]
    LabelTooLong(String),
    #[error("character '{0}' is not allowed in a DNS name (letters, digits, '-' and '_' are)")]
    BadChar(char),
    #[error("label \"{0}\" starts or ends with a hyphen")]
    HyphenEdge(String),
    #[error("the last label is all digits, which no DNS name has: a mistyped IP address?")]
    NumericTld,
}

/// An entry of an allowlist that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?}: {reason}")]
pub struct AllowlistError {
    pub entry: String,
    #[source]
    pub reason: EntryError,
}

/// Why a packet may cross the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// The far end's address is listed.
    ListedIp(IpAddr),
    /// The far end's address is in a listed block.
    Cidr { ip: IpAddr, block: Cidr },
    /// A DNS answer gave the far end's address for `name`, an allowed name.
    LearnedFromDns { ip: IpAddr, name: String },
    /// A DNS lookup of `name` (and any other questions), all allowed names.
    DnsQueryForAllowedName { name: String },
    /// A DNS answer about `name` (and any other questions), all allowed.
    DnsAnswerForAllowedName { name: String },
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowed::ListedIp(ip) => write!(f, "{ip} is on the allowlist"),
            Allowed::Cidr { ip, block } => {
                write!(f, "{ip} is in {block}, which the allowlist names")
            }
            Allowed::LearnedFromDns { ip, name } => write!(
                f,
                "{ip} is an address a DNS answer gave for {name}, which the allowlist names"
            ),
            Allowed::DnsQueryForAllowedName { name } => {
                write!(f, "query for {name}, which the allowlist names")
            }
            Allowed::DnsAnswerForAllowedName { name } => {
                write!(f, "DNS answer for {name}, which the allowlist names")
            }
        }
    }
}

/// Traffic every device sends on every link, which never leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Housekeeping {
    /// Address resolution (RFC 826).
    Arp,
    /// DHCP (RFC 2131, UDP 67/68) or DHCPv6 (RFC 8415, UDP 546/547).
    Dhcp,
    /// IPv6 neighbour discovery (RFC 4861): router and neighbour
    /// solicitations and advertisements, redirects.
    NeighbourDiscovery { icmp_type: u8 },
    /// To a multicast group that stays on the link (224.0.0.0/24, ff02::/16)
    /// or to SSDP's and WS-Discovery's groups: mDNS, LLMNR, SSDP, MLD
    /// reports, ...
    Multicast(IpAddr),
    /// To the limited broadcast address (the analyzer also says so of the
    /// DUT's subnet broadcast, which it knows).
    Broadcast(IpAddr),
    /// 802.11 management, control and null frames: the radio link itself.
    LinkControl,
}

impl fmt::Display for Housekeeping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Housekeeping::Arp => f.write_str("ARP (link housekeeping)"),
            Housekeeping::LinkControl => f.write_str("802.11 link control (link housekeeping)"),
            Housekeeping::Dhcp => f.write_str("DHCP (link housekeeping)"),
            Housekeeping::NeighbourDiscovery { icmp_type } => {
                let what = match icmp_type {
                    133 => "router solicitation",
                    134 => "router advertisement",
                    135 => "neighbour solicitation",
                    136 => "neighbour advertisement",
                    _ => "redirect",
                };
                write!(f, "IPv6 {what} (link housekeeping)")
            }
            Housekeeping::Multicast(ip) => write!(f, "multicast to {ip} (link housekeeping)"),
            Housekeeping::Broadcast(ip) => write!(f, "broadcast to {ip} (link housekeeping)"),
        }
    }
}

/// Why a packet may not cross the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The DUT sent to an address the allowlist does not allow.
    Destination(IpAddr),
    /// The DUT received from an address the allowlist does not allow.
    Source(IpAddr),
    /// A lookup of a name the allowlist does not name, to a resolver it
    /// does not list.
    DnsQuery { name: String, resolver: IpAddr },
    /// A lookup of allowed names to an unlisted address that carries more
    /// than the lookup: records, trailing bytes, an unusual opcode.
    DnsQueryWithExtra {
        name: String,
        dest: IpAddr,
        extra: String,
    },
    /// An answer about a name the allowlist does not name, from a resolver
    /// it does not list.
    DnsAnswer { name: String, resolver: IpAddr },
    /// Neither IP nor ARP (LLDP, EAPOL, ...): an allowlist of addresses and
    /// names has nothing to say about it.
    NotIp { ethertype: u16 },
}

impl Denied {
    /// The far end the evidence is about: an address, or the name a lookup
    /// asked for (the name is what leaks).
    pub fn destination(&self) -> String {
        match self {
            Denied::Destination(ip) | Denied::Source(ip) => ip.to_string(),
            Denied::DnsQueryWithExtra { dest, .. } => dest.to_string(),
            Denied::DnsQuery { name, .. } | Denied::DnsAnswer { name, .. } => name.clone(),
            Denied::NotIp { ethertype } => format!("ethertype 0x{ethertype:04x}"),
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::Destination(ip) => write!(f, "{ip} is not on the allowlist"),
            Denied::Source(ip) => write!(f, "answer from {ip}, which is not on the allowlist"),
            Denied::DnsQuery { name, resolver } => write!(
                f,
                "query for {name}, which the allowlist does not name \
                 (resolver {resolver} is not on it either)"
            ),
            Denied::DnsQueryWithExtra { name, dest, extra } => write!(
                f,
                "query for {name} to {dest} carries more than a lookup ({extra}), \
                 and {dest} is not on the allowlist"
            ),
            Denied::DnsAnswer { name, resolver } => write!(
                f,
                "answer for {name}, which the allowlist does not name \
                 (resolver {resolver} is not on it either)"
            ),
            Denied::NotIp { ethertype } => write!(
                f,
                "non-IP frame (ethertype 0x{ethertype:04x}), which an allowlist cannot allow"
            ),
        }
    }
}

/// The verdict on one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed(Allowed),
    Housekeeping(Housekeeping),
    Denied(Denied),
}

impl Decision {
    /// Allowed by the list (housekeeping is not).
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }

    pub fn is_housekeeping(&self) -> bool {
        matches!(self, Decision::Housekeeping(_))
    }

    pub fn is_denied(&self) -> bool {
        matches!(self, Decision::Denied(_))
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allowed(a) => a.fmt(f),
            Decision::Housekeeping(h) => h.fmt(f),
            Decision::Denied(d) => d.fmt(f),
        }
    }
}

/// How long a query waits for its answer. Stub resolvers give up and retry
/// after a few seconds (Android's after 5 s, glibc's `timeout:5`); an
/// answer later than twice that is answering nobody.
pub const QUERY_TIMEOUT_S: f64 = 10.0;

/// Queries waiting for an answer, at most. A phone has a handful in flight;
/// a DUT tunnelling data through DNS may have hundreds, and the oldest go
/// first, so memory stays flat whatever it sends.
pub const MAX_PENDING_QUERIES: usize = 1024;

/// Addresses a resolver cache remembers, at most, and names per address.
/// A phone talks to a few hundred addresses in a day; past the cap nothing
/// new is learned, which can only make later packets denied (loud), never
/// allowed.
pub const MAX_LEARNED_ADDRESSES: usize = 16_384;
pub const MAX_NAMES_PER_ADDRESS: usize = 16;

/// A DNS query the DUT sent, waiting for its answer.
#[derive(Debug, Clone, PartialEq)]
struct PendingQuery {
    t: f64,
    resolver: IpAddr,
    resolver_port: u16,
    /// The address and port it came from.
    dut_addr: IpAddr,
    dut_port: u16,
    id: u16,
    /// The first question's name, lowercase, without the trailing dot.
    name: String,
    /// The MACs it left from and went to, when the link has them.
    macs: Macs,
}

impl PendingQuery {
    /// Whether `p`, from port 53, is addressed as the answer to this query
    /// would be: from the address and port the query went to, to the
    /// address and port it came from. Id and question aside: a spoofer who
    /// gets the id wrong is still a spoofer.
    fn answered_by(&self, p: &Packet<'_>, sport: u16, dport: u16) -> bool {
        self.resolver == p.src.to_canonical()
            && self.resolver_port == sport
            && self.dut_addr == p.dst.to_canonical()
            && self.dut_port == dport
    }
}

/// A frame's (source, destination) MACs, where its link has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Macs {
    src: Option<MacAddr>,
    dst: Option<MacAddr>,
}

impl Macs {
    fn of(frame: &Frame<'_>) -> Macs {
        Macs {
            src: frame.link.src,
            dst: frame.link.dst,
        }
    }
}

/// Who sent a frame on a DUT's link, as far as the capture can tell
/// (recording-format.md, "Whose packet is it").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The DUT: every frame on its link that does not come from the bench
    /// side, whatever source address it carries.
    Dut,
    /// The bench side: its MAC (`bench_mac`, or the one learned from the
    /// capture), or, without a MAC to go by, a source address in
    /// `bench_ip`.
    Bench,
    /// Not known (a bare capture: both ends are judged as the DUT's).
    /// Queries are noted; an answer that matches one teaches (the answer
    /// to the DUT's own query, findings.md's bare captures), and only one
    /// from the very MAC the query left from is called forged.
    Unknown,
}

impl From<Direction> for Sender {
    fn from(dir: Direction) -> Sender {
        match dir {
            Direction::FromDut => Sender::Dut,
            Direction::ToDut => Sender::Bench,
        }
    }
}

/// What a [`ResolverCache`] made of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// Nothing it keeps: not DNS, or an answer to no query of the DUT's.
    Nothing,
    /// A query of the DUT's, now waiting for its answer.
    Query,
    /// The answer to a query of the DUT's, from the bench side; `new`
    /// addresses were learned.
    Answer { new: usize },
    /// A DNS answer addressed as the answer to a query of the DUT's that
    /// did not come from the bench side: the DUT answering itself. It
    /// teaches nothing, and the query still waits for its real answer.
    Forged(ForgedAnswer),
}

/// A DNS answer the DUT's side of the link made up ([`Observed::Forged`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgedAnswer {
    /// The name it answers (its first question), lowercase.
    pub name: String,
    /// The resolver whose address it carries as its source.
    pub resolver: IpAddr,
    /// The addresses its answer section gives.
    pub addresses: Vec<IpAddr>,
    /// The MAC it was sent from, when the link has one.
    pub src_mac: Option<MacAddr>,
    /// Why it is not the bench's.
    pub tell: ForgeryTell,
}

/// How a forged answer gave itself away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeryTell {
    /// It did not come from the bench side (by `bench_mac`, the learned
    /// bench MAC or `bench_ip`): every other frame is the DUT's.
    NotFromBench,
    /// It came from the MAC the DUT's query left from, and went elsewhere
    /// than the query went: a resolver answers from where it was asked.
    FromTheQuerysMac,
}

impl fmt::Display for ForgedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = match self.src_mac {
            Some(mac) => format!(" from MAC {mac}"),
            None => String::new(),
        };
        let says = if self.addresses.is_empty() {
            "with no address".to_string()
        } else {
            let a: Vec<String> = self.addresses.iter().map(ToString::to_string).collect();
            format!("giving {}", a.join(", "))
        };
        let how = match self.tell {
            ForgeryTell::NotFromBench => "not from the bench side of the link",
            ForgeryTell::FromTheQuerysMac => "from the MAC the DUT's own query left from",
        };
        write!(
            f,
            "forged DNS answer for {} {says}, sent{from} with resolver {}'s address, {how}: \
             only answers from the bench side teach the allowlist",
            self.name, self.resolver
        )
    }
}

/// What a DUT learned from DNS: the addresses answers to its own queries
/// gave for each name it asked about. It is the DUT's resolver cache as a
/// capture shows it, kept for the whole run, whatever the phase: a name
/// looked up at boot is still known when the allowlist phase starts.
///
/// Only an answer that matches an outstanding query teaches anything (same
/// transaction id and question name, from the address and port the query
/// went to, to the port it came from, within [`QUERY_TIMEOUT_S`]); an
/// answer nobody asked for is ignored, as a stub resolver ignores it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolverCache {
    /// Oldest first.
    pending: VecDeque<PendingQuery>,
    /// Address -> the question names answers gave it for.
    learned: BTreeMap<IpAddr, BTreeSet<String>>,
}

impl ResolverCache {
    /// Follow one packet crossing the DUT's link at run time `t`, its
    /// sender told by `dir` (to the DUT: the bench side): note the DUT's
    /// queries, learn from the answers that match one. Returns how many
    /// addresses were new. Without the frame's MACs; the analyzer uses
    /// [`observe_frame`](Self::observe_frame).
    pub fn observe(&mut self, t: f64, p: &Packet<'_>, dir: Direction) -> usize {
        match dns::parse_packet(p).and_then(Result::ok) {
            Some(m) => {
                match self.observe_message(t, p, &m, dir.into(), Macs::default(), |_| true) {
                    Observed::Answer { new } => new,
                    _ => 0,
                }
            }
            None => 0,
        }
    }

    /// Follow one frame crossing the DUT's link at run time `t`, sent by
    /// `sender`: note the DUT's queries; learn from an answer to one of
    /// them only when it comes from the bench side, and call an answer to
    /// one of them from anywhere else forged (recording-format.md, "Whose
    /// packet is it": a DUT that sends itself "connectivitycheck.gstatic.com
    /// is 203.0.113.7" from the resolver's address must not make
    /// 203.0.113.7 allowed). An answer from the very MAC the query left
    /// from, to another MAC than it went to, is the DUT's whatever `sender`
    /// says: that is the DUT answering itself where the bench side is known
    /// only by address.
    pub fn observe_frame(&mut self, t: f64, frame: &Frame<'_>, sender: Sender) -> Observed {
        let Some(p) = frame.ip() else {
            return Observed::Nothing;
        };
        match dns::parse_packet(p).and_then(Result::ok) {
            Some(m) => self.observe_message(t, p, &m, sender, Macs::of(frame), |_| true),
            None => Observed::Nothing,
        }
    }

    /// [`observe_frame`](Self::observe_frame) with the message parsed
    /// already, learning only names `keep` accepts.
    fn observe_message(
        &mut self,
        t: f64,
        p: &Packet<'_>,
        m: &Message,
        sender: Sender,
        macs: Macs,
        keep: impl Fn(&str) -> bool,
    ) -> Observed {
        let Some((sport, dport)) = p.ports() else {
            return Observed::Nothing;
        };
        self.expire(t);
        if matches!(sender, Sender::Dut | Sender::Unknown) && is_query_to_port_53(p, m) {
            let Some(q) = m.questions.first() else {
                return Observed::Nothing;
            };
            if self.pending.len() >= MAX_PENDING_QUERIES {
                self.pending.pop_front();
            }
            self.pending.push_back(PendingQuery {
                t,
                resolver: p.dst.to_canonical(),
                resolver_port: dport,
                dut_addr: p.src.to_canonical(),
                dut_port: sport,
                id: m.header.id,
                name: plain_name(&q.name),
                macs,
            });
            return Observed::Query;
        }
        if !is_answer_from_port_53(p, m) {
            return Observed::Nothing;
        }
        let claimed: Vec<&PendingQuery> = self
            .pending
            .iter()
            .filter(|w| w.answered_by(p, sport, dport))
            .collect();
        if claimed.is_empty() {
            return Observed::Nothing;
        }
        let from_the_querys_mac = macs.src.is_some()
            && claimed
                .iter()
                .any(|w| w.macs.src == macs.src && w.macs.dst != macs.dst);
        let tell = match sender {
            Sender::Dut => Some(ForgeryTell::NotFromBench),
            _ if from_the_querys_mac => Some(ForgeryTell::FromTheQuerysMac),
            _ => None,
        };
        if let Some(tell) = tell {
            return Observed::Forged(ForgedAnswer {
                name: m
                    .questions
                    .first()
                    .map_or_else(|| ".".to_string(), |q| plain_name(&q.name)),
                resolver: p.src.to_canonical(),
                addresses: m.addresses().map(|(_, ip)| ip).collect(),
                src_mac: macs.src,
                tell,
            });
        }
        let Some(q) = m.questions.first() else {
            return Observed::Nothing;
        };
        let name = plain_name(&q.name);
        let Some(i) = self
            .pending
            .iter()
            .position(|w| w.answered_by(p, sport, dport) && w.id == m.header.id && w.name == name)
        else {
            return Observed::Nothing;
        };
        // One answer per query: a second one with the same id is a spoofer
        // racing the resolver.
        self.pending.remove(i);
        let new = if keep(&name) {
            self.learn_answer(m, &q.name)
        } else {
            0
        };
        Observed::Answer { new }
    }

    /// Drop queries that waited longer than [`QUERY_TIMEOUT_S`].
    fn expire(&mut self, t: f64) {
        while self
            .pending
            .front()
            .is_some_and(|w| t - w.t > QUERY_TIMEOUT_S)
        {
            self.pending.pop_front();
        }
    }

    /// Queries still waiting for their answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Remember `ip` as an address of `name`; false if it was known or
    /// the cache is full.
    pub fn learn(&mut self, ip: IpAddr, name: &str) -> bool {
        let ip = ip.to_canonical();
        if !self.learned.contains_key(&ip) && self.learned.len() >= MAX_LEARNED_ADDRESSES {
            return false;
        }
        let names = self.learned.entry(ip).or_default();
        let name = plain_name(name);
        names.len() < MAX_NAMES_PER_ADDRESS && names.insert(name)
    }

    /// Learn the A and AAAA records an answer gave for `question` and for
    /// the names its CNAME chain in the answer section leads to, all as
    /// addresses of `question` (the name the DUT asked for). Returns how
    /// many addresses were new.
    fn learn_answer(&mut self, msg: &Message, question: &str) -> usize {
        // Names compare without case and trailing dot: resolvers that mix
        // the case of a query (DNS 0x20) answer in the case they chose.
        let mut reached: BTreeSet<String> = BTreeSet::from([plain_name(question)]);
        // Follow CNAMEs in any order: each round adds at least one name or
        // stops, so answers.len() rounds are enough.
        for _ in 0..msg.answers.len() {
            let mut grew = false;
            for r in &msg.answers {
                if let RData::Cname(target) = &r.data
                    && reached.contains(&plain_name(&r.name))
                {
                    grew |= reached.insert(plain_name(target));
                }
            }
            if !grew {
                break;
            }
        }
        let mut new = 0;
        for (owner, ip) in msg.addresses() {
            if reached.contains(&plain_name(owner)) {
                let known = self.learned.contains_key(&ip.to_canonical());
                if self.learn(ip, question) && !known {
                    new += 1;
                }
            }
        }
        new
    }

    /// The names answers gave `ip` for.
    pub fn names(&self, ip: IpAddr) -> impl Iterator<Item = &str> {
        self.learned
            .get(&ip.to_canonical())
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Every (address, name) learned.
    pub fn learned(&self) -> impl Iterator<Item = (IpAddr, &str)> {
        self.learned
            .iter()
            .flat_map(|(ip, names)| names.iter().map(|n| (*ip, n.as_str())))
    }

    pub fn is_empty(&self) -> bool {
        self.learned.is_empty()
    }
}

/// A name as the cache keys it: lowercase, without the trailing dot (the
/// 0x20 trick of some resolvers mixes the case of the echoed question).
fn plain_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// A parsed allowlist plus the addresses it learned from DNS. `default()`
/// is the empty list: nothing but housekeeping gets through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allowlist {
    ips: BTreeSet<IpAddr>,
    cidrs: Vec<Cidr>,
    names: BTreeSet<String>,
    /// What the link learned when it is the filter itself
    /// ([`observe`](Self::observe)): addresses of allowed names only.
    learned: ResolverCache,
}

impl Allowlist {
    /// Read the `allow` entries of a phase; the first bad entry is the error.
    pub fn parse(entries: &[String]) -> Result<Allowlist, AllowlistError> {
        let mut list = Allowlist::default();
        for entry in entries {
            match entry.parse::<Entry>() {
                Ok(Entry::Ip(ip)) => {
                    list.ips.insert(ip);
                }
                Ok(Entry::Cidr(c)) => {
                    if !list.cidrs.contains(&c) {
                        list.cidrs.push(c);
                    }
                }
                Ok(Entry::Name(n)) => {
                    list.names.insert(n);
                }
                Ok(Entry::Bench) => {
                    return Err(AllowlistError {
                        entry: entry.clone(),
                        reason: EntryError::BenchUnresolved,
                    });
                }
                Err(reason) => {
                    return Err(AllowlistError {
                        entry: entry.clone(),
                        reason,
                    });
                }
            }
        }
        Ok(list)
    }

    /// No entries and nothing learned.
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty()
            && self.cidrs.is_empty()
            && self.names.is_empty()
            && self.learned.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    pub fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.ips.iter().copied()
    }

    pub fn cidrs(&self) -> &[Cidr] {
        &self.cidrs
    }

    /// Addresses learned from DNS answers, with the name each was for.
    pub fn learned(&self) -> impl Iterator<Item = (IpAddr, &str)> {
        self.learned.learned()
    }

    /// Whether `name` or one of its parents is listed. Case and a trailing
    /// dot do not matter; matching is by whole labels, so `evil-google.com`
    /// is not under `google.com`.
    pub fn allows_name(&self, name: &str) -> bool {
        self.matching_name(name).is_some()
    }

    /// The listed name that allows `name` (itself or a parent).
    pub fn matching_name(&self, name: &str) -> Option<&str> {
        matching_name(&self.names, name)
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.why_ip(ip).is_some()
    }

    /// Why `ip` is allowed: listed, in a listed block, or learned.
    pub fn why_ip(&self, ip: IpAddr) -> Option<Allowed> {
        self.why_ip_learned(ip, &self.learned)
    }

    /// Why `ip` is allowed by the entries, or by one of the names `dns`
    /// learned it for.
    pub fn why_ip_learned(&self, ip: IpAddr, dns: &ResolverCache) -> Option<Allowed> {
        let canon = ip.to_canonical();
        if self.ips.contains(&canon) {
            return Some(Allowed::ListedIp(ip));
        }
        if let Some(block) = self.cidrs.iter().find(|c| c.contains(ip)) {
            return Some(Allowed::Cidr { ip, block: *block });
        }
        dns.names(canon)
            .find(|n| self.allows_name(n))
            .map(|name| Allowed::LearnedFromDns {
                ip,
                name: name.to_string(),
            })
    }

    /// Allow `ip` as an address of `name` (which should be allowed).
    pub fn learn(&mut self, ip: IpAddr, name: &str) {
        self.learned.learn(ip, name);
    }

    /// Learn the addresses a DNS response gave for allowed questions: the A
    /// and AAAA records of the name and of the names its CNAME chain in the
    /// answer section leads to. Returns how many addresses were new.
    ///
    /// This trusts the answer: call it only for an answer known to answer
    /// the DUT's query ([`observe`](Self::observe) checks that).
    pub fn learn_from_dns(&mut self, msg: &Message) -> usize {
        if !msg.is_response() {
            return 0;
        }
        let mut new = 0;
        for q in &msg.questions {
            if matching_name(&self.names, &q.name).is_some() {
                new += self.learned.learn_answer(msg, &q.name);
            }
        }
        new
    }

    /// The verdict on one frame crossing the DUT's link in direction `dir`.
    pub fn judge(&self, frame: &Frame<'_>, dir: Direction) -> Decision {
        self.judge_learned(frame, dir, &self.learned)
    }

    /// [`judge`](Self::judge) with the addresses `dns` learned (the
    /// analyzer's per-DUT cache) instead of the list's own.
    pub fn judge_learned(
        &self,
        frame: &Frame<'_>,
        dir: Direction,
        dns: &ResolverCache,
    ) -> Decision {
        match &frame.net {
            Network::Arp(_) => Decision::Housekeeping(Housekeeping::Arp),
            Network::LinkControl => Decision::Housekeeping(Housekeeping::LinkControl),
            Network::Other {
                ethertype: ethertype::ARP,
                ..
            } => Decision::Housekeeping(Housekeeping::Arp),
            Network::Other { ethertype, .. } => Decision::Denied(Denied::NotIp {
                ethertype: *ethertype,
            }),
            Network::Ip(p) => self.judge_ip(p, dir, dns),
        }
    }

    /// The verdict on a bare IP packet (a capture without Ethernet
    /// headers): the same as in a frame, as the addresses decide.
    pub fn judge_packet(&self, packet: &Packet<'_>, dir: Direction) -> Decision {
        self.judge_ip(packet, dir, &self.learned)
    }

    fn judge_ip(&self, p: &Packet<'_>, dir: Direction, dns: &ResolverCache) -> Decision {
        if let Some(h) = housekeeping(p, dir) {
            return Decision::Housekeeping(h);
        }
        let remote = match dir {
            Direction::FromDut => p.dst,
            Direction::ToDut => p.src,
        };
        if let Some(a) = self.why_ip_learned(remote, dns) {
            return Decision::Allowed(a);
        }
        let msg = dns::parse_packet(p).and_then(Result::ok);
        match (dir, msg) {
            (Direction::FromDut, Some(m)) if is_query_to_port_53(p, &m) => {
                self.judge_query(&m, p.dst)
            }
            (Direction::ToDut, Some(m)) if is_answer_from_port_53(p, &m) => {
                self.judge_answer(&m, p.src)
            }
            (Direction::FromDut, _) => Decision::Denied(Denied::Destination(remote)),
            (Direction::ToDut, _) => Decision::Denied(Denied::Source(remote)),
        }
    }

    fn judge_query(&self, m: &Message, dest: IpAddr) -> Decision {
        let Some(first) = m.questions.first() else {
            return Decision::Denied(Denied::Destination(dest));
        };
        if let Some(q) = m.questions.iter().find(|q| !self.allows_name(&q.name)) {
            return Decision::Denied(Denied::DnsQuery {
                name: q.name.clone(),
                resolver: dest,
            });
        }
        if let Some(extra) = query_extra(m) {
            return Decision::Denied(Denied::DnsQueryWithExtra {
                name: first.name.clone(),
                dest,
                extra,
            });
        }
        Decision::Allowed(Allowed::DnsQueryForAllowedName {
            name: first.name.clone(),
        })
    }

    fn judge_answer(&self, m: &Message, resolver: IpAddr) -> Decision {
        let Some(first) = m.questions.first() else {
            return Decision::Denied(Denied::Source(resolver));
        };
        if let Some(q) = m.questions.iter().find(|q| !self.allows_name(&q.name)) {
            return Decision::Denied(Denied::DnsAnswer {
                name: q.name.clone(),
                resolver,
            });
        }
        if m.trailing > 0 {
            return Decision::Denied(Denied::Source(resolver));
        }
        Decision::Allowed(Allowed::DnsAnswerForAllowedName {
            name: first.name.clone(),
        })
    }

    /// Judge a frame at run time `t` and learn from it: what a link
    /// filtering by this list does with each packet. The DUT's queries are
    /// noted; an answer to the DUT teaches the addresses it gave for allowed
    /// names when it answers one of them and was not denied, so a dropped
    /// answer teaches nothing, just as it told the DUT nothing.
    pub fn observe(&mut self, t: f64, frame: &Frame<'_>, dir: Direction) -> Decision {
        let decision = self.judge(frame, dir);
        if let Some(p) = frame.ip()
            && !decision.is_denied()
            && let Some(Ok(m)) = dns::parse_packet(p)
        {
            let names = &self.names;
            self.learned
                .observe_message(t, p, &m, dir.into(), Macs::of(frame), |q| {
                    matching_name(names, q).is_some()
                });
        }
        decision
    }

    /// Whether a link filtering by this list passes the raw Ethernet frame
    /// at run time `t`: allowed and housekeeping pass, denied and unreadable
    /// frames do not (a filter cannot vouch for what it cannot read). Learns
    /// as [`observe`](Self::observe) does.
    pub fn lets_through(&mut self, t: f64, frame: &[u8], dir: Direction) -> bool {
        match packet::parse_ethernet(frame) {
            Ok(f) => !self.observe(t, &f, dir).is_denied(),
            Err(_) => false,
        }
    }

    /// [`lets_through`](Self::lets_through) for a frame to the DUT.
    pub fn lets_in(&mut self, t: f64, frame: &[u8]) -> bool {
        self.lets_through(t, frame, Direction::ToDut)
    }

    /// [`lets_through`](Self::lets_through) for a frame from the DUT.
    pub fn lets_out(&mut self, t: f64, frame: &[u8]) -> bool {
        self.lets_through(t, frame, Direction::FromDut)
    }
}

impl fmt::Display for Allowlist {
    /// The entries as a scenario would list them (learned addresses not
    /// included): `connectivitycheck.gstatic.com, 10.77.0.1, 10.0.0.0/8`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for n in &self.names {
            write!(f, "{sep}{n}")?;
            sep = ", ";
        }
        for ip in &self.ips {
            write!(f, "{sep}{ip}")?;
            sep = ", ";
        }
        for c in &self.cidrs {
            write!(f, "{sep}{c}")?;
            sep = ", ";
        }
        if sep.is_empty() {
            f.write_str("(nothing)")?;
        }
        Ok(())
    }
}

/// The name in `names` that allows `name` (itself or a parent).
fn matching_name<'a>(names: &'a BTreeSet<String>, name: &str) -> Option<&'a str> {
    let name = plain_name(name);
    let mut rest = name.as_str();
    while !rest.is_empty() {
        if let Some(n) = names.get(rest) {
            return Some(n);
        }
        rest = rest.split_once('.').map_or("", |(_, parent)| parent);
    }
    None
}

/// A query from the DUT: to port 53, QR clear.
fn is_query_to_port_53(p: &Packet<'_>, m: &Message) -> bool {
    !m.is_response() && p.ports().is_some_and(|(_, d)| d == dns::PORT)
}

/// An answer to the DUT: from port 53, QR set.
fn is_answer_from_port_53(p: &Packet<'_>, m: &Message) -> bool {
    m.is_response() && p.ports().is_some_and(|(s, _)| s == dns::PORT)
}

/// What a query carries beyond a plain lookup, if anything. A stub resolver
/// sends opcode QUERY, its questions and at most one EDNS OPT record
/// (RFC 6891 §6.1.1); anything else going to an unlisted address is a
/// message for whoever listens there, whatever names it asks about.
fn query_extra(m: &Message) -> Option<String> {
    if m.header.opcode != 0 {
        return Some(format!("opcode {}", m.header.opcode));
    }
    let records = m.answers.len() + m.authority.len();
    if records > 0 {
        return Some(format!("{records} answer or authority records"));
    }
    let non_opt = m
        .additional
        .iter()
        .filter(|r| r.rtype != dns::rtype::OPT)
        .count();
    if non_opt > 0 || m.additional.len() > 1 {
        return Some(format!("{} additional records", m.additional.len()));
    }
    if let Some(extra) = m
        .additional
        .first()
        .and_then(dns::Record::edns)
        .and_then(|e| edns_extra(&e))
    {
        return Some(extra);
    }
    if m.trailing > 0 {
        return Some(format!("{} bytes after the message", m.trailing));
    }
    None
}

/// What the OPT record of a query holds beyond what a stub resolver puts
/// there, if anything. EDNS options are free-form bytes the resolver
/// asked reads, so a lookup of an allowed name can carry hundreds of bytes
/// of data to whoever listens at an unlisted address. A stub sends its OPT
/// owned by the root, version 0, the extended RCODE and Z bits zero (RFC
/// 6891 §6.1.2-6.1.4), and at most: a cookie (RFC 7873 §4: 8 bytes, 16-40
/// with the server's), a client subnet (RFC 7871 §6: 4 bytes and an
/// address), key tags and DNSSEC algorithm lists of a few entries (RFC
/// 8145, RFC 6975), empty NSID, EXPIRE and TCP keepalive options (RFC
/// 5001, 7314, 7828 §3.2.1), and padding of zeros (RFC 7830 §3), each
/// option once. Anything else (an option of another code with content,
/// padding that is not zeros, a known option longer than its RFC allows,
/// one twice) is data riding on the lookup.
fn edns_extra(e: &dns::Edns<'_>) -> Option<String> {
    use dns::edns_option as o;
    if e.owner != "." {
        return Some(format!("an EDNS record owned by {}, not the root", e.owner));
    }
    if e.ext_rcode != 0 || e.version != 0 || e.z != 0 {
        return Some(format!(
            "EDNS header bits a query leaves zero (extended RCODE {}, version {}, Z 0x{:04x})",
            e.ext_rcode, e.version, e.z
        ));
    }
    if e.leftover > 0 {
        return Some(format!(
            "{} bytes in its EDNS record that make no option",
            e.leftover
        ));
    }
    let mut seen = BTreeSet::new();
    for opt in &e.options {
        let len = opt.data.len();
        if opt.code != o::PADDING && !seen.insert(opt.code) {
            return Some(format!("EDNS option {} twice", opt.code));
        }
        let most = match opt.code {
            o::PADDING if opt.data.iter().all(|&b| b == 0) => continue,
            o::PADDING => {
                return Some(format!("EDNS padding of {len} bytes that are not zeros"));
            }
            o::COOKIE => 40,
            o::CLIENT_SUBNET => 20,
            o::KEY_TAG | o::DAU | o::DHU | o::N3U => 16,
            _ => 0,
        };
        if len > most {
            return Some(format!(
                "EDNS option {} carrying {len} bytes (a query's carries {})",
                opt.code,
                if most == 0 {
                    "none".to_string()
                } else {
                    format!("at most {most}")
                }
            ));
        }
    }
    None
}

/// Whether `p` is link housekeeping, and which: what findings.md lists
/// (DHCP, neighbour and router discovery, local discovery multicast and
/// broadcast), addressed so that it stays on the link. Nothing addressed to
/// a routable unicast or a wider-scoped multicast address is housekeeping,
/// whatever its port or its frame: a DHCPREQUEST to 203.0.113.7:67 or a
/// datagram to the global group 233.252.0.7 leaves the link with whatever
/// it carries, and an IP packet in an Ethernet broadcast frame is still
/// addressed to its IP destination. What takes knowing the bench (a unicast
/// DHCP renewal to the bench's own server, the broadcast address of the
/// DUT's subnet) is not known to a list of addresses and names: those are
/// judged by their destination here, and the analyzer, which knows the
/// DUT's link, sets them apart (`benchctl-detect`'s `net_policy`).
fn housekeeping(p: &Packet<'_>, dir: Direction) -> Option<Housekeeping> {
    if let Some((s, d)) = p
        .ports()
        .filter(|_| matches!(p.transport, Transport::Udp { .. }))
    {
        // DHCP client 68, server 67 (RFC 2131 §4.1); DHCPv6 client 546,
        // server 547 (RFC 8415 §7.2). From the DUT, only to the limited
        // broadcast or DHCPv6's link-scoped ff02::1:2: a client with a lease
        // renews unicast to its server, which only the bench knows is
        // its own. To the DUT, a server's (or relay's) reply.
        let client = matches!((s, d), (68, 67)) && p.src.is_ipv4()
            || matches!((s, d), (546, 547)) && p.src.is_ipv6();
        let server = matches!((s, d), (67, 68)) && p.src.is_ipv4()
            || matches!((s, d), (547, 546)) && p.src.is_ipv6();
        let dhcp = match dir {
            Direction::FromDut => client && stays_on_link(p.dst),
            Direction::ToDut => server,
        };
        if dhcp {
            return Some(Housekeeping::Dhcp);
        }
    }
    if let Transport::Icmpv6 { icmp_type, .. } = p.transport {
        // RFC 4861 §6.1-8.1: nodes drop ND messages whose hop limit is not
        // 255, which proves they were not routed; and the far end must be on
        // the link (link-local or link-scoped multicast, or unspecified
        // during DAD).
        let remote = match dir {
            Direction::FromDut => p.dst,
            Direction::ToDut => p.src,
        };
        if (133..=137).contains(&icmp_type) && p.hop_limit == 255 && on_link(remote) {
            return Some(Housekeeping::NeighbourDiscovery { icmp_type });
        }
    }
    if p.dst == IpAddr::V4(Ipv4Addr::BROADCAST) {
        return Some(Housekeeping::Broadcast(p.dst));
    }
    if stays_on_link(p.dst) || local_discovery(p) {
        return Some(Housekeeping::Multicast(p.dst));
    }
    None
}

/// An address no router forwards to: the limited broadcast
/// 255.255.255.255 (RFC 919), the IPv4 link-local multicast block
/// 224.0.0.0/24 (RFC 5771 §4: mDNS, LLMNR, IGMPv3 reports), IPv6 multicast
/// of interface- or link-local scope (RFC 4291 §2.7: ff02::/16 and its
/// flagged forms: mDNS, LLMNR, MLD, DHCPv6, WS-Discovery). The DUT's own
/// subnet broadcast is one too, but only the analyzer knows the subnet.
pub fn stays_on_link(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(a) => a.is_broadcast() || a.octets()[..3] == [224, 0, 0],
        IpAddr::V6(a) => a.is_multicast() && a.segments()[0] & 0x000f <= 2,
    }
}

/// The two discovery groups findings.md lets pass though their scope is
/// wider than the link: SSDP's and WS-Discovery's 239.255.255.250 (RFC
/// 2365 local scope) and ff05::c (site-local), for those protocols' UDP
/// ports (1900, 3702) and the group memberships that join them (IGMP, MLD).
fn local_discovery(p: &Packet<'_>) -> bool {
    let discovery = match p.transport {
        Transport::Udp { dport, .. } => matches!(dport, 1900 | 3702),
        // MLD query, report, done (RFC 2710 §3.6), MLDv2 report (RFC 3810).
        Transport::Icmpv6 { icmp_type, .. } => matches!(icmp_type, 130..=132 | 143),
        Transport::Other(packet::ip_proto::IGMP) => true,
        _ => false,
    };
    is_discovery_group(p.dst) && discovery
}

/// SSDP's and WS-Discovery's group, 239.255.255.250 or ff05::c.
pub fn is_discovery_group(ip: IpAddr) -> bool {
    const SSDP_V4: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
    const SSDP_V6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 0, 0xc);
    match ip.to_canonical() {
        IpAddr::V4(a) => a == SSDP_V4,
        IpAddr::V6(a) => a == SSDP_V6,
    }
}

/// Whether a datagram to `dst`, UDP port `dport`, is local discovery that
/// findings.md keeps on the link though its group's scope is wider: SSDP
/// (1900) and WS-Discovery (3702) to their group.
pub fn is_local_discovery_udp(dst: IpAddr, dport: u16) -> bool {
    is_discovery_group(dst) && matches!(dport, 1900 | 3702)
}

/// Link-local unicast (fe80::/10, RFC 4291 §2.5.6), link-scoped multicast
/// or unspecified: an IPv6 address that routers do not forward to.
fn on_link(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(a) => a.is_unicast_link_local() || stays_on_link(ip) || a.is_unspecified(),
        IpAddr::V4(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{build_query, build_response, tcp_framed};
    use crate::packet::{build, parse_ethernet};
    use std::net::Ipv6Addr;

    const DUT: &str = "10.77.1.2";
    const GW: &str = "10.77.1.1";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn list(entries: &[&str]) -> Allowlist {
        let e: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        Allowlist::parse(&e).unwrap()
    }
    fn err(entry: &str) -> String {
        Allowlist::parse(&[entry.to_string()])
            .unwrap_err()
            .to_string()
    }
    fn judge(l: &Allowlist, frame: &[u8], dir: Direction) -> Decision {
        l.judge(&parse_ethernet(frame).unwrap(), dir)
    }
    /// The example allowlist of recording-format.md.
    fn spec_list() -> Allowlist {
        list(&[
            "connectivitycheck.gstatic.com",
            "time.android.com",
            "10.77.0.1",
        ])
    }

    /// A DNS response with records given as (owner, type, rdata) with
    /// uncompressed names.
    fn response(question: &str, records: &[(&str, u16, Vec<u8>)]) -> Vec<u8> {
        let mut m = build_query(0x4242, question, dns::rtype::A);
        m[2..4].copy_from_slice(&0x8180u16.to_be_bytes());
        m[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
        for (owner, t, data) in records {
            m.extend_from_slice(&wire(owner));
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(data);
        }
        m
    }
    fn wire(name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for l in name.split('.') {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
        out
    }
    fn a(addr: &str) -> Vec<u8> {
        v4(addr).octets().to_vec()
    }

    #[test]
    fn entries_are_classified() {
        let l = list(&[
            "10.77.0.1",
            "2001:DB8::53",
            "::ffff:192.0.2.7",
            "10.0.0.0/8",
            "2001:db8:77::/64",
            "Time.Android.COM.",
            "_dns.resolver.arpa",
            "xn--bcher-kva.example",
        ]);
        assert_eq!(
            l.ips().collect::<Vec<_>>(),
            vec![ip("10.77.0.1"), ip("192.0.2.7"), ip("2001:db8::53")]
        );
        assert_eq!(
            l.cidrs().iter().map(Cidr::to_string).collect::<Vec<_>>(),
            vec!["10.0.0.0/8", "2001:db8:77::/64"]
        );
        assert_eq!(
            l.names().collect::<Vec<_>>(),
            vec![
                "_dns.resolver.arpa",
                "time.android.com",
                "xn--bcher-kva.example"
            ]
        );
        assert_eq!(
            l.to_string(),
            "_dns.resolver.arpa, time.android.com, xn--bcher-kva.example, \
             10.77.0.1, 192.0.2.7, 2001:db8::53, 10.0.0.0/8, 2001:db8:77::/64"
        );
        assert_eq!(Allowlist::default().to_string(), "(nothing)");
        assert!(Allowlist::default().is_empty());
        assert!(Allowlist::parse(&[]).unwrap().is_empty());
    }

    #[test]
    fn bad_entries_say_which_and_why() {
        assert_eq!(
            err("10.77.0.0/33"),
            r#""10.77.0.0/33": prefix length 33 is longer than 32 bits"#
        );
        assert_eq!(
            err("2001:db8::/129"),
            r#""2001:db8::/129": prefix length 129 is longer than 128 bits"#
        );
        assert_eq!(
            err("10.0.0.0/99999999999"),
            r#""10.0.0.0/99999999999": prefix length 4294967295 is longer than 32 bits"#
        );
        assert_eq!(
            err("10.0.0.0/+8"),
            r#""10.0.0.0/+8": prefix length "+8" after the slash is not a number"#
        );
        assert_eq!(
            err("10.0.0.0/"),
            r#""10.0.0.0/": prefix length "" after the slash is not a number"#
        );
        assert_eq!(
            err("10.0.0/8"),
            r#""10.0.0/8": "10.0.0" before the slash is not an IP address"#
        );
        assert_eq!(
            err("example.com/24"),
            r#""example.com/24": "example.com" before the slash is not an IP address"#
        );
        assert_eq!(err(""), r#""": an empty entry names nothing"#);
        assert_eq!(
            err("fe80::1%wlan0"),
            r#""fe80::1%wlan0": not a valid IPv6 address (and a DNS name has no colon)"#
        );
        assert_eq!(
            err("*.google.com"),
            r#""*.google.com": no wildcard needed: a name already allows its subdomains, so write "google.com""#
        );
        assert_eq!(
            err("."),
            r#"".": the root name would allow every name; list the names instead"#
        );
        assert_eq!(
            err("bücher.de"),
            r#""bücher.de": character 'ü' is not ASCII: write an internationalised name in its xn-- form"#
        );
        assert_eq!(
            err("a..b"),
            r#""a..b": the name has an empty label (two dots in a row, or a leading dot)"#
        );
        assert_eq!(
            err(".a.b"),
            r#"".a.b": the name has an empty label (two dots in a row, or a leading dot)"#
        );
        assert_eq!(
            err("google .com"),
            r#""google .com": character ' ' is not allowed in a DNS name (letters, digits, '-' and '_' are)"#
        );
        assert_eq!(
            err("-bad.example"),
            r#""-bad.example": label "-bad" starts or ends with a hyphen"#
        );
        assert_eq!(
            err("bad-.example"),
            r#""bad-.example": label "bad-" starts or ends with a hyphen"#
        );
        assert_eq!(
            err("10.77.0.256"),
            r#""10.77.0.256": the last label is all digits, which no DNS name has: a mistyped IP address?"#
        );
        let long_label = format!("{}.example", "a".repeat(64));
        assert_eq!(
            err(&long_label),
            format!(
                "{long_label:?}: label \"{}\" is longer than 63 characters",
                "a".repeat(64)
            )
        );
        let long_name = vec!["a".repeat(63); 4].join("."); // 255 characters
        assert_eq!(
            err(&long_name),
            format!("{long_name:?}: the name is 255 characters long; DNS allows 253")
        );
        // 253 is fine, and so is its trailing dot.
        let max = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "b".repeat(61));
        assert_eq!(max.len(), 253);
        assert!(Allowlist::parse(&[format!("{max}.")]).is_ok());
        // The first bad entry is the one named.
        let e = Allowlist::parse(&["ok.example".into(), "1.2.3.4/40".into(), "x y".into()])
            .unwrap_err();
        assert_eq!(e.entry, "1.2.3.4/40");
        assert_eq!(
            e.reason,
            EntryError::PrefixTooLong {
                prefix: 40,
                bits: 32
            }
        );
    }

    #[test]
    fn cidr_edges() {
        let all4 = "0.0.0.0/0".parse::<Cidr>().unwrap();
        assert!(all4.contains(ip("0.0.0.0")) && all4.contains(ip("255.255.255.255")));
        assert!(!all4.contains(ip("::1")), "a v4 block holds no v6 address");
        let all6 = "::/0".parse::<Cidr>().unwrap();
        assert!(all6.contains(ip("2001:db8::1")) && all6.contains(ip("ff02::1")));
        assert!(!all6.contains(ip("10.0.0.1")));

        let host = "10.77.0.1/32".parse::<Cidr>().unwrap();
        assert!(host.contains(ip("10.77.0.1")));
        assert!(!host.contains(ip("10.77.0.0")) && !host.contains(ip("10.77.0.2")));
        let host6 = "2001:db8::1/128".parse::<Cidr>().unwrap();
        assert!(host6.contains(ip("2001:db8::1")) && !host6.contains(ip("2001:db8::2")));

        let lan = "2001:db8:77:1::/64".parse::<Cidr>().unwrap();
        assert!(lan.contains(ip("2001:db8:77:1:ffff:ffff:ffff:ffff")));
        assert!(lan.contains(ip("2001:db8:77:1::")));
        assert!(!lan.contains(ip("2001:db8:77:2::1")));
        assert!(!lan.contains(ip("2001:db8:77::1")));

        let odd = "10.77.0.0/15".parse::<Cidr>().unwrap();
        assert_eq!(odd.addr(), ip("10.76.0.0"));
        assert_eq!(odd.to_string(), "10.76.0.0/15", "host bits cleared");
        assert!(odd.contains(ip("10.77.255.255")) && !odd.contains(ip("10.78.0.0")));

        let v4 = "192.0.2.0/24".parse::<Cidr>().unwrap();
        assert!(
            v4.contains(ip("::ffff:192.0.2.9")),
            "mapped address, same host"
        );

        assert_eq!(
            "10.1.2.3".parse::<Cidr>().unwrap().to_string(),
            "10.1.2.3/32"
        );
        assert_eq!("2001:db8::1".parse::<Cidr>().unwrap().prefix(), 128);
        assert_eq!(
            Cidr::new(ip("10.0.0.0"), 33),
            Err(EntryError::PrefixTooLong {
                prefix: 33,
                bits: 32
            })
        );
        // /0 holds everything of its family; host bits are cleared.
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("2001:db8::1")));
        assert_eq!(
            "10.77.1.2/16".parse::<Cidr>().unwrap().to_string(),
            "10.77.0.0/16"
        );
        assert!(
            "2001:db8::/64"
                .parse::<Cidr>()
                .unwrap()
                .contains(ip("2001:db8::ffff"))
        );
    }

    #[test]
    fn names_match_themselves_and_their_subdomains_only() {
        let l = list(&["google.com", "Time.Android.com."]);
        for yes in [
            "google.com",
            "GOOGLE.COM",
            "google.com.",
            "www.google.com",
            "a.b.c.google.com",
            "time.android.com",
            "ntp.time.android.com",
        ] {
            assert!(l.allows_name(yes), "{yes}");
        }
        for no in [
            "evil-google.com",
            "evilgoogle.com",
            "google.com.evil.net",
            "google.co",
            "oogle.com",
            "com",
            "android.com",
            "",
            ".",
            "google\\046com",
        ] {
            assert!(!l.allows_name(no), "{no}");
        }
        assert_eq!(l.matching_name("WWW.Google.com"), Some("google.com"));
        // A label with an escaped dot is one label under its parent.
        assert!(l.allows_name("a\\046b.google.com"));
    }

    #[test]
    fn addresses_listed_in_blocks_and_learned() {
        let mut l = list(&["10.77.0.1", "10.99.0.0/16", "2001:db8::/32", "gstatic.com"]);
        assert_eq!(
            l.why_ip(ip("10.77.0.1")),
            Some(Allowed::ListedIp(ip("10.77.0.1")))
        );
        assert!(l.allows_ip(ip("::ffff:10.77.0.1")));
        assert_eq!(
            l.why_ip(ip("10.99.3.4")),
            Some(Allowed::Cidr {
                ip: ip("10.99.3.4"),
                block: "10.99.0.0/16".parse().unwrap()
            })
        );
        assert!(l.allows_ip(ip("2001:db8:ffff::1")));
        assert!(!l.allows_ip(ip("10.77.0.2")));
        assert!(!l.allows_ip(ip("142.250.74.99")));
        l.learn(ip("142.250.74.99"), "connectivitycheck.gstatic.com");
        assert_eq!(
            l.why_ip(ip("142.250.74.99")),
            Some(Allowed::LearnedFromDns {
                ip: ip("142.250.74.99"),
                name: "connectivitycheck.gstatic.com".into()
            })
        );
    }

    #[test]
    fn learning_follows_cname_chains_of_allowed_questions_only() {
        let mut l = list(&["example.com"]);
        // Out of order on purpose: the chain is followed whatever the order.
        let m = response(
            "www.example.com",
            &[
                ("edge.cdn.example.net", dns::rtype::A, a("192.0.2.10")),
                (
                    "d1.cdn.example.net",
                    dns::rtype::CNAME,
                    wire("edge.cdn.example.net"),
                ),
                (
                    "www.example.com",
                    dns::rtype::CNAME,
                    wire("d1.cdn.example.net"),
                ),
                ("edge.cdn.example.net", dns::rtype::A, a("192.0.2.11")),
                // Not on the chain: a resolver's stray record teaches nothing.
                ("unrelated.example.org", dns::rtype::A, a("198.51.100.66")),
            ],
        );
        let m = dns::parse(&m).unwrap();
        assert_eq!(l.learn_from_dns(&m), 2);
        assert_eq!(l.learn_from_dns(&m), 0, "nothing new the second time");
        assert_eq!(
            l.learned().collect::<Vec<_>>(),
            vec![
                (ip("192.0.2.10"), "www.example.com"),
                (ip("192.0.2.11"), "www.example.com")
            ]
        );
        assert!(!l.allows_ip(ip("198.51.100.66")));
        assert!(
            !l.allows_name("edge.cdn.example.net"),
            "CNAME targets are not names to allow"
        );
        assert_eq!(
            l.why_ip(ip("192.0.2.10")).unwrap().to_string(),
            "192.0.2.10 is an address a DNS answer gave for www.example.com, \
             which the allowlist names"
        );

        // Answers about names the list does not name teach nothing, and
        // neither do queries (even with records in them).
        let mut l = list(&["example.com"]);
        let other = build_response(1, "evil.example.net", &[v4("203.0.113.9")], 60);
        assert_eq!(l.learn_from_dns(&dns::parse(&other).unwrap()), 0);
        let mut fake = build_response(1, "www.example.com", &[v4("203.0.113.9")], 60);
        fake[2] &= 0x7f; // QR clear: a query
        assert_eq!(l.learn_from_dns(&dns::parse(&fake).unwrap()), 0);
        assert!(!l.is_empty() && l.learned().count() == 0);

        // AAAA too.
        let m = response(
            "v6.example.com",
            &[(
                "v6.example.com",
                dns::rtype::AAAA,
                "2001:db8::99"
                    .parse::<Ipv6Addr>()
                    .unwrap()
                    .octets()
                    .to_vec(),
            )],
        );
        assert_eq!(l.learn_from_dns(&dns::parse(&m).unwrap()), 1);
        assert!(l.allows_ip(ip("2001:db8::99")));
    }

    #[test]
    fn outbound_verdicts() {
        let l = list(&["time.android.com", "10.77.0.1", "203.0.113.0/24"]);
        let out = |dst: &str, dport: u16, payload: &[u8]| {
            judge(
                &l,
                &build::v4_udp(true, v4(DUT), v4(dst), 40000, dport, payload),
                Direction::FromDut,
            )
        };
        assert_eq!(
            out("10.77.0.1", 123, b"ntp"),
            Decision::Allowed(Allowed::ListedIp(ip("10.77.0.1")))
        );
        assert_eq!(
            out("203.0.113.9", 443, b"quic").to_string(),
            "203.0.113.9 is in 203.0.113.0/24, which the allowlist names"
        );
        let d = out("198.51.100.7", 443, b"quic");
        assert_eq!(d, Decision::Denied(Denied::Destination(ip("198.51.100.7"))));
        assert_eq!(d.to_string(), "198.51.100.7 is not on the allowlist");

        // A lookup of an allowed name may go to any resolver.
        let q = build_query(1, "ntp.time.android.com", dns::rtype::A);
        assert_eq!(
            out("8.8.8.8", 53, &q),
            Decision::Allowed(Allowed::DnsQueryForAllowedName {
                name: "ntp.time.android.com".into()
            })
        );
        // A lookup of another name may not, unless the resolver is listed.
        let q = build_query(1, "x.example.net", dns::rtype::A);
        let d = out("8.8.8.8", 53, &q);
        assert_eq!(
            d.to_string(),
            "query for x.example.net, which the allowlist does not name \
             (resolver 8.8.8.8 is not on it either)"
        );
        if let Decision::Denied(den) = &d {
            assert_eq!(den.destination(), "x.example.net");
        }
        assert!(out("10.77.0.1", 53, &q).is_allowed());

        // Data riding along with an allowed lookup, to an unlisted address.
        let mut q = build_query(1, "time.android.com", dns::rtype::A);
        q.extend_from_slice(b"exfiltrated");
        let d = out("198.51.100.7", 53, &q);
        assert_eq!(
            d.to_string(),
            "query for time.android.com to 198.51.100.7 carries more than a lookup \
             (11 bytes after the message), and 198.51.100.7 is not on the allowlist"
        );
        let mut upd = build_query(1, "time.android.com", dns::rtype::A);
        upd[2] |= 5 << 3; // opcode UPDATE
        assert!(
            out("198.51.100.7", 53, &upd)
                .to_string()
                .contains("(opcode 5)")
        );
        // An EDNS OPT record is part of a plain lookup.
        let mut edns = build_query(1, "time.android.com", dns::rtype::A);
        edns[11] = 1;
        edns.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
        assert!(out("198.51.100.7", 53, &edns).is_allowed());
        // Not DNS (a handshake-less garbage "query"): judged by address.
        assert_eq!(
            out("198.51.100.7", 53, b"garbage"),
            Decision::Denied(Denied::Destination(ip("198.51.100.7")))
        );
        // A "response" sent by the DUT to port 53 is not a lookup.
        let r = build_response(1, "time.android.com", &[v4("1.2.3.4")], 1);
        assert!(out("198.51.100.7", 53, &r).is_denied());
        // Lookups over TCP are read too; the handshake is judged by address.
        let q = tcp_framed(&build_query(2, "time.android.com", dns::rtype::AAAA));
        let f = build::v4_tcp(true, v4(DUT), v4("9.9.9.9"), 40001, 53, 0x18, &q);
        assert!(judge(&l, &f, Direction::FromDut).is_allowed());
        let syn = build::v4_tcp(true, v4(DUT), v4("9.9.9.9"), 40001, 53, 0x02, &[]);
        assert!(judge(&l, &syn, Direction::FromDut).is_denied());
    }

    #[test]
    fn inbound_verdicts() {
        let l = list(&["time.android.com", "10.77.0.1"]);
        let inb = |src: &str, sport: u16, payload: &[u8]| {
            judge(
                &l,
                &build::v4_udp(false, v4(src), v4(DUT), sport, 40000, payload),
                Direction::ToDut,
            )
        };
        assert!(inb("10.77.0.1", 123, b"ntp").is_allowed());
        let d = inb("198.51.100.7", 443, b"push");
        assert_eq!(d, Decision::Denied(Denied::Source(ip("198.51.100.7"))));
        assert_eq!(
            d.to_string(),
            "answer from 198.51.100.7, which is not on the allowlist"
        );

        let r = build_response(1, "time.android.com", &[v4("216.239.35.0")], 60);
        assert_eq!(
            inb("8.8.8.8", 53, &r).to_string(),
            "DNS answer for time.android.com, which the allowlist names"
        );
        let r = build_response(1, "evil.example.net", &[v4("203.0.113.9")], 60);
        assert_eq!(
            inb("8.8.8.8", 53, &r).to_string(),
            "answer for evil.example.net, which the allowlist does not name \
             (resolver 8.8.8.8 is not on it either)"
        );
        // A "query" arriving from port 53 is not an answer.
        let q = build_query(1, "time.android.com", 1);
        assert!(inb("8.8.8.8", 53, &q).is_denied());
        // From port 5353 it is not unicast DNS at all.
        let r = build_response(1, "time.android.com", &[v4("216.239.35.0")], 60);
        assert!(inb("8.8.8.8", 5353, &r).is_denied());
    }

    #[test]
    fn housekeeping_is_its_own_verdict() {
        let l = Allowlist::default();
        let out = |f: &[u8]| judge(&l, f, Direction::FromDut);

        let arp = build::arp_request(v4(DUT), v4(GW));
        assert_eq!(out(&arp), Decision::Housekeeping(Housekeeping::Arp));
        assert_eq!(out(&arp).to_string(), "ARP (link housekeeping)");

        // DHCPDISCOVER: 0.0.0.0:68 -> 255.255.255.255:67.
        let disc = build::ethernet(
            [0xff; 6],
            build::DUT_MAC,
            0x0800,
            &build::ipv4(
                v4("0.0.0.0"),
                v4("255.255.255.255"),
                17,
                64,
                &build::udp(ip("0.0.0.0"), ip("255.255.255.255"), 68, 67, &[1; 240]),
            ),
        );
        assert_eq!(out(&disc).to_string(), "DHCP (link housekeeping)");
        // A unicast renewal goes to a server only the bench knows is its
        // own: judged by its destination here (the analyzer sets the
        // bench's server apart), and one to a routable address beyond the
        // link is never housekeeping, whatever it says it is.
        let renew = build::v4_udp(true, v4(DUT), v4(GW), 68, 67, &[1; 240]);
        assert_eq!(out(&renew), Decision::Denied(Denied::Destination(ip(GW))));
        assert!(
            list(&[GW])
                .judge(&parse_ethernet(&renew).unwrap(), Direction::FromDut)
                .is_allowed()
        );
        let far = build::v4_udp(true, v4(DUT), v4("203.0.113.7"), 68, 67, &[1; 240]);
        assert!(out(&far).is_denied());
        // The server's reply to the DUT is DHCP whoever the server is.
        let offer = build::v4_udp(false, v4(GW), v4(DUT), 67, 68, &[2; 240]);
        assert!(judge(&l, &offer, Direction::ToDut).is_housekeeping());
        // Port 67 from another port is not.
        let fake = build::v4_udp(true, v4(DUT), v4("203.0.113.9"), 40000, 67, b"x");
        assert!(out(&fake).is_denied());

        // Limited broadcast is; a directed broadcast in an Ethernet
        // broadcast frame is judged by its address (the analyzer knows the
        // DUT's subnet and sets its broadcast apart).
        let bc = build::ethernet(
            [0xff; 6],
            build::DUT_MAC,
            0x0800,
            &build::ipv4(
                v4(DUT),
                v4("10.77.1.255"),
                17,
                64,
                &build::udp(ip(DUT), ip("10.77.1.255"), 9, 9, b""),
            ),
        );
        assert_eq!(
            out(&bc),
            Decision::Denied(Denied::Destination(ip("10.77.1.255")))
        );
        let limited = build::ethernet(
            [0xff; 6],
            build::DUT_MAC,
            0x0800,
            &build::ipv4(
                v4(DUT),
                v4("255.255.255.255"),
                17,
                64,
                &build::udp(ip(DUT), ip("255.255.255.255"), 137, 137, b""),
            ),
        );
        assert_eq!(
            out(&limited).to_string(),
            "broadcast to 255.255.255.255 (link housekeeping)"
        );

        // mDNS to 224.0.0.251 and ff02::fb.
        let mdns = build::v4_udp(true, v4(DUT), v4("224.0.0.251"), 5353, 5353, b"q");
        assert_eq!(
            out(&mdns).to_string(),
            "multicast to 224.0.0.251 (link housekeeping)"
        );
        let (ll, fb) = ("fe80::2".parse().unwrap(), "ff02::fb".parse().unwrap());
        let m6 = build::v6_frame(
            [0x33, 0x33, 0, 0, 0, 0xfb],
            ll,
            fb,
            17,
            255,
            &build::udp(IpAddr::V6(ll), IpAddr::V6(fb), 5353, 5353, b"q"),
        );
        assert_eq!(
            out(&m6),
            Decision::Housekeeping(Housekeeping::Multicast(IpAddr::V6(fb)))
        );

        // Router solicitation to ff02::2; neighbour solicitation unicast to
        // the router's link-local address (unreachability detection).
        let rs_dst = "ff02::2".parse().unwrap();
        let rs = build::icmp(IpAddr::V6(ll), IpAddr::V6(rs_dst), 133, 0, &[0; 4]);
        let rs = build::v6_frame([0x33, 0x33, 0, 0, 0, 2], ll, rs_dst, 58, 255, &rs);
        assert_eq!(
            out(&rs).to_string(),
            "IPv6 router solicitation (link housekeeping)"
        );
        let router: Ipv6Addr = "fe80::1".parse().unwrap();
        let mut body = vec![0; 4];
        body.extend_from_slice(&router.octets());
        let ns = build::icmp(IpAddr::V6(ll), IpAddr::V6(router), 135, 0, &body);
        let ns_frame = build::v6_frame(build::GW_MAC, ll, router, 58, 255, &ns);
        assert_eq!(
            out(&ns_frame),
            Decision::Housekeeping(Housekeeping::NeighbourDiscovery { icmp_type: 135 })
        );
        // Hop limit below 255: not ND a neighbour would accept.
        let routed = build::v6_frame(build::GW_MAC, ll, router, 58, 64, &ns);
        assert!(out(&routed).is_denied());
        // "ND" to a global address off the link: not housekeeping.
        let far: Ipv6Addr = "2001:db8::66".parse().unwrap();
        let ns_far = build::icmp(IpAddr::V6(ll), IpAddr::V6(far), 135, 0, &body);
        let ns_far = build::v6_frame(build::GW_MAC, ll, far, 58, 255, &ns_far);
        assert_eq!(
            out(&ns_far).to_string(),
            "2001:db8::66 is not on the allowlist"
        );
        // A neighbour advertisement coming in from the router.
        let na = build::icmp(IpAddr::V6(router), IpAddr::V6(ll), 136, 0, &body);
        let mut na = build::v6_frame(build::DUT_MAC, router, ll, 58, 255, &na);
        na[6..12].copy_from_slice(&build::GW_MAC);
        assert_eq!(
            judge(&l, &na, Direction::ToDut).to_string(),
            "IPv6 neighbour advertisement (link housekeeping)"
        );

        // Neither IP nor ARP: LLDP.
        let lldp = build::ethernet(
            [0x01, 0x80, 0xc2, 0, 0, 0x0e],
            build::DUT_MAC,
            0x88cc,
            &[0; 30],
        );
        let d = out(&lldp);
        assert_eq!(
            d.to_string(),
            "non-IP frame (ethertype 0x88cc), which an allowlist cannot allow"
        );
    }

    #[test]
    fn the_link_learns_from_answers_it_lets_in() {
        let mut l = spec_list();
        let gw = v4("10.77.0.1");
        let cdn = v4("142.250.74.99");
        let syn_ack = build::v4_tcp(false, cdn, v4(DUT), 80, 40100, 0x12, &[]);
        let syn = build::v4_tcp(true, v4(DUT), cdn, 40100, 80, 0x02, &[]);
        assert!(!l.lets_in(0.0, &syn_ack), "not before the DNS answer");
        assert!(!l.clone().lets_out(0.0, &syn));

        // The DUT asks the listed gateway; the answer comes back.
        let q = build_query(0x0a15, "connectivitycheck.gstatic.com", dns::rtype::A);
        assert!(l.lets_out(0.0, &build::v4_udp(true, v4(DUT), gw, 40000, 53, &q)));
        let r = build_response(0x0a15, "connectivitycheck.gstatic.com", &[cdn], 300);
        assert!(l.lets_in(0.0, &build::v4_udp(false, gw, v4(DUT), 53, 40000, &r)));

        assert!(l.lets_out(0.0, &syn));
        assert!(l.lets_in(0.0, &syn_ack));
        let f = parse_ethernet(&syn).unwrap();
        assert_eq!(
            l.judge(&f, Direction::FromDut).to_string(),
            "142.250.74.99 is an address a DNS answer gave for connectivitycheck.gstatic.com, \
             which the allowlist names"
        );
        // The flow's key, for the analyzer's evidence.
        assert_eq!(
            f.ip().unwrap().flow().to_string(),
            "10.77.1.2:40100>142.250.74.99:80/tcp"
        );

        // Unreadable frames do not pass.
        assert!(!l.lets_in(0.0, &syn_ack[..30]));
        // Housekeeping does.
        assert!(l.lets_out(0.0, &build::arp_request(v4(DUT), gw)));
    }

    /// An Ethernet/IPv4/UDP frame between the given MACs.
    fn udp_between(
        (smac, dmac): ([u8; 6], [u8; 6]),
        (src, sport): (&str, u16),
        (dst, dport): (&str, u16),
        payload: &[u8],
    ) -> Vec<u8> {
        let seg = build::udp(ip(src), ip(dst), sport, dport, payload);
        build::ethernet(
            dmac,
            smac,
            crate::frame::ETHERTYPE_IPV4,
            &build::ipv4(v4(src), v4(dst), 17, 64, &seg),
        )
    }

    /// Issue 21, class 6: the DUT sends a query, then "answers" it itself
    /// from the resolver's address. Only answers from the bench side
    /// teach; one from the DUT's side, or from the very MAC the query left
    /// from, is forged and teaches nothing, and the real answer still does.
    #[test]
    fn an_answer_the_dut_sends_itself_is_forged_and_teaches_nothing() {
        let resolver = "10.77.0.1";
        let name = "connectivitycheck.gstatic.com";
        let evil = v4("203.0.113.7");
        let real = v4("142.250.74.99");
        let (dut, gw) = (build::DUT_MAC, build::GW_MAC);
        let query = udp_between(
            (dut, gw),
            (DUT, 41_000),
            (resolver, 53),
            &build_query(0x6006, name, dns::rtype::A),
        );
        let answer = |macs, id: u16, addr| {
            udp_between(
                macs,
                (resolver, 53),
                (DUT, 41_000),
                &build_response(id, name, &[addr], 300),
            )
        };
        let see = |cache: &mut ResolverCache, t: f64, f: &[u8], sender: Sender| {
            cache.observe_frame(t, &parse_ethernet(f).unwrap(), sender)
        };
        let forged_by = |tell| ForgedAnswer {
            name: name.into(),
            resolver: ip(resolver),
            addresses: vec![IpAddr::V4(evil)],
            src_mac: Some(MacAddr(dut)),
            tell,
        };

        // The bench side known by MAC: the DUT's frame is the DUT's.
        let mut cache = ResolverCache::default();
        assert_eq!(see(&mut cache, 0.0, &query, Sender::Dut), Observed::Query);
        let forged = answer((dut, dut), 0x6006, evil);
        assert_eq!(
            see(&mut cache, 0.004, &forged, Sender::Dut),
            Observed::Forged(forged_by(ForgeryTell::NotFromBench))
        );
        // A spoofer who gets the id wrong is still one.
        assert!(matches!(
            see(
                &mut cache,
                0.005,
                &answer((dut, gw), 0x0bad, evil),
                Sender::Dut
            ),
            Observed::Forged(_)
        ));
        assert!(cache.is_empty(), "forged answers teach nothing");
        // The resolver's real answer still teaches.
        assert_eq!(
            see(
                &mut cache,
                0.02,
                &answer((gw, dut), 0x6006, real),
                Sender::Bench
            ),
            Observed::Answer { new: 1 }
        );
        assert_eq!(cache.names(real.into()).collect::<Vec<_>>(), [name]);
        assert_eq!(cache.names(evil.into()).count(), 0);

        // The bench side known by address only (`bench_ip`, or the address
        // fallback): the forged frame passes for the bench's by its source
        // address, but it left from the query's MAC to another MAC.
        let mut cache = ResolverCache::default();
        see(&mut cache, 0.0, &query, Sender::Dut);
        let got = see(&mut cache, 0.004, &forged, Sender::Bench);
        let by_mac = forged_by(ForgeryTell::FromTheQuerysMac);
        assert_eq!(got, Observed::Forged(by_mac.clone()));
        assert_eq!(
            by_mac.to_string(),
            "forged DNS answer for connectivitycheck.gstatic.com giving 203.0.113.7, \
             sent from MAC 02:00:00:4d:01:02 with resolver 10.77.0.1's address, from the \
             MAC the DUT's own query left from: only answers from the bench side teach \
             the allowlist"
        );
        assert!(cache.is_empty());

        // A capture written with one MAC pair for every frame tells the
        // sides apart by nothing: the answer teaches, as before.
        let mut cache = ResolverCache::default();
        see(&mut cache, 0.0, &query, Sender::Dut);
        assert_eq!(
            see(
                &mut cache,
                0.02,
                &answer((dut, gw), 0x6006, real),
                Sender::Bench
            ),
            Observed::Answer { new: 1 }
        );

        // A bare capture (no sides known): queries noted; the answer to
        // one teaches (findings.md: a destination named by a DNS answer to
        // the DUT's own query), and one from the query's own MAC is still
        // forged.
        let mut cache = ResolverCache::default();
        assert_eq!(
            see(&mut cache, 0.0, &query, Sender::Unknown),
            Observed::Query
        );
        assert_eq!(
            see(&mut cache, 0.02, &forged, Sender::Unknown),
            Observed::Forged(forged_by(ForgeryTell::FromTheQuerysMac))
        );
        assert_eq!(
            see(
                &mut cache,
                0.03,
                &answer((gw, dut), 0x6006, real),
                Sender::Unknown
            ),
            Observed::Answer { new: 1 }
        );

        // An answer to no query of the DUT's is nothing, forged or not.
        let mut cache = ResolverCache::default();
        assert_eq!(
            see(&mut cache, 0.0, &forged, Sender::Dut),
            Observed::Nothing
        );

        // The link filter learns as the analyzer does: the DUT's own
        // answer goes out and teaches nothing.
        let mut l = spec_list();
        let q = udp_between(
            (dut, gw),
            (DUT, 41_000),
            ("10.77.0.1", 53),
            &build_query(7, "time.android.com", dns::rtype::A),
        );
        assert!(l.lets_out(0.0, &q));
        let forged = udp_between(
            (dut, dut),
            ("10.77.0.1", 53),
            (DUT, 41_000),
            &build_response(7, "time.android.com", &[evil], 300),
        );
        l.lets_out(0.01, &forged);
        assert!(!l.allows_ip(evil.into()));
    }

    /// A query with one OPT record of `options` (code, data), TTL `ttl`
    /// and owner `owner` (wire form).
    fn query_with_opt(name: &str, owner: &[u8], ttl: u32, options: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut m = build_query(0x1234, name, dns::rtype::A);
        m[10..12].copy_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(owner);
        m.extend_from_slice(&dns::rtype::OPT.to_be_bytes());
        m.extend_from_slice(&1232u16.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        let data: Vec<u8> = options
            .iter()
            .flat_map(|(code, d)| {
                let mut o = code.to_be_bytes().to_vec();
                o.extend_from_slice(&(d.len() as u16).to_be_bytes());
                o.extend_from_slice(d);
                o
            })
            .collect();
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(&data);
        m
    }

    /// Issue 21, class 10: a lookup of an allowed name to an unlisted
    /// resolver may carry what a stub's EDNS record carries (a cookie, a
    /// client subnet, zero padding), not data in an option.
    #[test]
    fn a_lookup_carrying_data_in_edns_is_not_a_lookup() {
        use dns::edns_option as o;
        let l = spec_list();
        let name = "connectivitycheck.gstatic.com";
        let to = |resolver: &str, m: &[u8]| {
            judge(
                &l,
                &build::v4_udp(true, v4(DUT), v4(resolver), 40000, 53, m),
                Direction::FromDut,
            )
        };
        let root = [0u8];
        let stub = query_with_opt(
            name,
            &root,
            0x0000_8000,
            &[
                (o::COOKIE, vec![7; 8]),
                (o::CLIENT_SUBNET, vec![0, 1, 24, 0, 10, 77, 1]),
                (o::PADDING, vec![0; 96]),
            ],
        );
        assert_eq!(
            to("198.51.100.53", &stub).to_string(),
            format!("query for {name}, which the allowlist names")
        );
        let data = vec![0x41; 300];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                query_with_opt(name, &root, 0, &[(65001, data.clone())]),
                "EDNS option 65001 carrying 300 bytes (a query's carries none)",
            ),
            (
                query_with_opt(name, &root, 0, &[(o::PADDING, data.clone())]),
                "EDNS padding of 300 bytes that are not zeros",
            ),
            (
                query_with_opt(name, &root, 0, &[(o::COOKIE, vec![1; 64])]),
                "EDNS option 10 carrying 64 bytes (a query's carries at most 40)",
            ),
            (
                query_with_opt(
                    name,
                    &root,
                    0,
                    &[(o::COOKIE, vec![1; 8]), (o::COOKIE, vec![2; 8])],
                ),
                "EDNS option 10 twice",
            ),
            (
                query_with_opt(name, &root, 0, &[(o::NSID, vec![1; 4])]),
                "EDNS option 3 carrying 4 bytes (a query's carries none)",
            ),
            (
                query_with_opt(name, &[4, b'd', b'a', b't', b'a', 0], 0, &[]),
                "an EDNS record owned by data, not the root",
            ),
            (
                query_with_opt(name, &root, 0x0001_1234, &[]),
                "EDNS header bits a query leaves zero (extended RCODE 0, version 1, Z 0x1234)",
            ),
        ];
        for (m, extra) in cases {
            let d = to("198.51.100.53", &m);
            assert_eq!(
                d.to_string(),
                format!(
                    "query for {name} to 198.51.100.53 carries more than a lookup ({extra}), \
                     and 198.51.100.53 is not on the allowlist"
                )
            );
            // To a listed resolver the address decides (its options go no
            // further than the bench's resolver).
            assert!(to("10.77.0.1", &m).is_allowed());
        }
        // Bytes in the OPT data that make no whole option.
        let mut cut = query_with_opt(name, &root, 0, &[]);
        let n = cut.len();
        cut[n - 2..].copy_from_slice(&3u16.to_be_bytes());
        cut.extend_from_slice(&[0, 10, 0]);
        assert!(
            to("198.51.100.53", &cut)
                .to_string()
                .contains("3 bytes in its EDNS record that make no option"),
        );
    }

    #[test]
    fn forged_or_dropped_answers_teach_nothing() {
        let mut l = spec_list();
        let evil = v4("203.0.113.9");
        let r = build_response(1, "time.android.com", &[evil], 300);
        // The DUT "answering" itself: outbound, never learned from.
        l.lets_out(
            0.0,
            &build::v4_udp(true, v4(DUT), v4("10.77.0.1"), 53, 40000, &r),
        );
        assert!(!l.allows_ip(evil.into()));
        // The DUT asks an unlisted resolver about an allowed name: allowed.
        let q = build_query(1, "time.android.com", dns::rtype::A);
        assert!(l.lets_out(
            0.0,
            &build::v4_udp(true, v4(DUT), v4("198.51.100.1"), 40000, 53, &q)
        ));
        // An answer the link drops (trailing bytes from an unlisted server)
        // never reached the DUT.
        let mut r2 = r.clone();
        r2.extend_from_slice(b"cmd");
        let answer =
            |bytes: &[u8]| build::v4_udp(false, v4("198.51.100.1"), v4(DUT), 53, 40000, bytes);
        assert!(!l.lets_in(0.1, &answer(&r2)));
        assert!(!l.allows_ip(evil.into()));
        // The same answer without trailing bytes is let in, and learned.
        assert!(l.lets_in(0.1, &answer(&r)));
        assert!(l.allows_ip(evil.into()));
    }

    #[test]
    fn only_answers_to_the_duts_queries_teach() {
        let resolver = v4("10.77.0.1");
        let evil = v4("198.51.100.4");
        let query = build_query(7, "time.android.com", dns::rtype::A);
        let sent = build::v4_udp(true, v4(DUT), resolver, 40000, 53, &query);
        let answer = |id: u16, name: &str, from: &str, sport: u16, dport: u16| {
            let r = build_response(id, name, &[evil], 300);
            build::v4_udp(false, v4(from), v4(DUT), sport, dport, &r)
        };
        let learns = |t: f64, reply: &[u8]| {
            let mut l = spec_list();
            assert!(l.lets_out(0.0, &sent));
            l.lets_in(t, reply);
            l.allows_ip(evil.into())
        };
        assert!(learns(
            0.05,
            &answer(7, "time.android.com", "10.77.0.1", 53, 40000)
        ));
        assert!(
            learns(0.05, &answer(7, "TIME.Android.com", "10.77.0.1", 53, 40000)),
            "the 0x20 trick changes the case, not the name"
        );
        for (why, reply) in [
            (
                "another id",
                answer(8, "time.android.com", "10.77.0.1", 53, 40000),
            ),
            (
                "another question",
                answer(7, "android.com", "10.77.0.1", 53, 40000),
            ),
            (
                "another resolver",
                answer(7, "time.android.com", "10.77.0.9", 53, 40000),
            ),
            (
                "another port",
                answer(7, "time.android.com", "10.77.0.1", 53, 40001),
            ),
        ] {
            assert!(!learns(0.05, &reply), "{why}");
        }
        let right = answer(7, "time.android.com", "10.77.0.1", 53, 40000);
        assert!(!learns(QUERY_TIMEOUT_S + 0.5, &right), "too late");
        // Nobody asked at all.
        let mut l = spec_list();
        assert!(
            l.lets_in(0.0, &right),
            "an answer about an allowed name passes"
        );
        assert!(!l.allows_ip(evil.into()), "but teaches nothing");
        // One answer per query: the second, a spoofer's, teaches nothing.
        let mut l = spec_list();
        l.lets_out(0.0, &sent);
        let honest = build::v4_udp(
            false,
            resolver,
            v4(DUT),
            53,
            40000,
            &build_response(7, "time.android.com", &[v4("216.239.35.0")], 60),
        );
        assert!(l.lets_in(0.01, &honest));
        l.lets_in(0.02, &right);
        assert!(l.allows_ip(ip("216.239.35.0")));
        assert!(!l.allows_ip(evil.into()));
    }

    #[test]
    fn a_resolver_cache_serves_every_phase_and_stays_bounded() {
        let mut cache = ResolverCache::default();
        let resolver = v4("10.77.0.1");
        let mtalk = v4("142.250.102.188");
        let q = build_query(3, "mtalk.google.com", dns::rtype::A);
        let r = build_response(3, "mtalk.google.com", &[mtalk], 300);
        // Looked up during boot, whose phase has no allowlist.
        for (t, dir, f) in [
            (
                2.0,
                Direction::FromDut,
                build::v4_udp(true, v4(DUT), resolver, 40003, 53, &q),
            ),
            (
                2.02,
                Direction::ToDut,
                build::v4_udp(false, resolver, v4(DUT), 53, 40003, &r),
            ),
        ] {
            let f = parse_ethernet(&f).unwrap();
            cache.observe(t, f.ip().unwrap(), dir);
        }
        assert_eq!(
            cache.names(mtalk.into()).collect::<Vec<_>>(),
            ["mtalk.google.com"]
        );
        // Two later allowlist phases judge the same address by their rules.
        let syn = build::v4_tcp(true, v4(DUT), mtalk, 40100, 5228, 0x02, &[]);
        let syn = parse_ethernet(&syn).unwrap();
        let online = list(&["google.com"]);
        assert_eq!(
            online
                .judge_learned(&syn, Direction::FromDut, &cache)
                .to_string(),
            "142.250.102.188 is an address a DNS answer gave for mtalk.google.com, \
             which the allowlist names"
        );
        let strict = list(&["android.com"]);
        assert!(
            strict
                .judge_learned(&syn, Direction::FromDut, &cache)
                .is_denied()
        );
        assert!(
            online.judge(&syn, Direction::FromDut).is_denied(),
            "its own cache is empty"
        );

        // A DUT flooding queries nobody answers keeps the table flat, and
        // queries expire.
        let mut cache = ResolverCache::default();
        for i in 0..5000u16 {
            let q = build_query(i, "x.example.net", dns::rtype::A);
            let f = build::v4_udp(true, v4(DUT), resolver, 40000, 53, &q);
            cache.observe(
                0.001 * f64::from(i),
                parse_ethernet(&f).unwrap().ip().unwrap(),
                Direction::FromDut,
            );
        }
        assert_eq!(cache.pending(), MAX_PENDING_QUERIES);
        let f = build::v4_udp(true, v4(DUT), resolver, 40000, 53, &q);
        cache.observe(
            100.0,
            parse_ethernet(&f).unwrap().ip().unwrap(),
            Direction::FromDut,
        );
        assert_eq!(cache.pending(), 1);
        // Names per address are capped.
        for i in 0..100 {
            cache.learn(mtalk.into(), &format!("n{i}.example"));
        }
        assert_eq!(cache.names(mtalk.into()).count(), MAX_NAMES_PER_ADDRESS);
    }

    /// Housekeeping is what stays on the link (issue 21, class 7): data to
    /// a routable address is judged by that address, whatever its port,
    /// its multicast-ness or its Ethernet frame.
    #[test]
    fn housekeeping_stays_on_the_link() {
        let l = Allowlist::default();
        let out = |f: &[u8]| judge(&l, f, Direction::FromDut);
        let udp4 = |dst: &str, sport: u16, dport: u16| {
            build::v4_udp(true, v4(DUT), v4(dst), sport, dport, b"data")
        };
        // A DHCPREQUEST unicast to a routable address: not DHCP.
        assert_eq!(
            out(&udp4("203.0.113.7", 68, 67)),
            Decision::Denied(Denied::Destination(ip("203.0.113.7")))
        );
        // A routable (GLOP) group, and any group outside the local scopes.
        for group in ["233.252.0.7", "239.1.2.3", "224.0.1.1"] {
            assert!(out(&udp4(group, 5000, 5000)).is_denied(), "{group}");
        }
        // Link-local groups and SSDP's, for discovery.
        assert!(out(&udp4("224.0.0.251", 5353, 5353)).is_housekeeping());
        assert!(out(&udp4("224.0.0.252", 50000, 5355)).is_housekeeping());
        assert!(out(&udp4("239.255.255.250", 50000, 1900)).is_housekeeping());
        assert!(out(&udp4("239.255.255.250", 50000, 3702)).is_housekeeping());
        assert!(out(&udp4("239.255.255.250", 50000, 5000)).is_denied());
        // An IGMPv2 report joining SSDP's group is addressed to the group.
        let igmp = build::v4_frame(
            true,
            v4(DUT),
            v4("239.255.255.250"),
            2,
            &[0x16, 0, 0, 0, 239, 255, 255, 250],
        );
        assert!(out(&igmp).is_housekeeping());
        // An Ethernet broadcast frame carrying a packet to a routable host.
        let mut bc = udp4("203.0.113.7", 5000, 5000);
        bc[..6].copy_from_slice(&[0xff; 6]);
        assert!(out(&bc).is_denied());
        // IPv6: link scope (and its flagged forms) yes, wider scopes no
        // except ff05::c for discovery; DHCPv6 to ff02::1:2.
        let ll: Ipv6Addr = "fe80::2".parse().unwrap();
        let udp6 = |dst: &str, sport: u16, dport: u16| {
            let d: Ipv6Addr = dst.parse().unwrap();
            let seg = build::udp(IpAddr::V6(ll), IpAddr::V6(d), sport, dport, b"data");
            build::v6_frame([0x33, 0x33, 0, 0, 0, 1], ll, d, 17, 64, &seg)
        };
        assert!(out(&udp6("ff02::fb", 5353, 5353)).is_housekeeping());
        assert!(out(&udp6("ff12::1234", 5000, 5000)).is_housekeeping());
        assert!(out(&udp6("ff02::1:2", 546, 547)).is_housekeeping());
        assert!(out(&udp6("ff05::c", 50000, 1900)).is_housekeeping());
        assert!(out(&udp6("ff05::c", 50000, 6000)).is_denied());
        assert!(out(&udp6("ff0e::1234", 5000, 5000)).is_denied());
        assert!(out(&udp6("ff05::1:3", 546, 547)).is_denied());
        // "Neighbour discovery" to a global-scope group is not.
        let g: Ipv6Addr = "ff0e::1".parse().unwrap();
        let ns = build::icmp(IpAddr::V6(ll), IpAddr::V6(g), 135, 0, &[0; 20]);
        let ns = build::v6_frame([0x33, 0x33, 0, 0, 0, 1], ll, g, 58, 255, &ns);
        assert!(out(&ns).is_denied());
        assert!(stays_on_link(ip("255.255.255.255")));
        assert!(!stays_on_link(ip("10.77.1.255")));
        assert!(stays_on_link(ip("::ffff:224.0.0.251")));
    }

    #[test]
    fn allowed_and_denied_texts() {
        let texts = [
            (
                Decision::Allowed(Allowed::ListedIp(ip("10.77.0.1"))),
                "10.77.0.1 is on the allowlist",
            ),
            (
                Decision::Allowed(Allowed::Cidr {
                    ip: ip("10.1.2.3"),
                    block: "10.0.0.0/8".parse().unwrap(),
                }),
                "10.1.2.3 is in 10.0.0.0/8, which the allowlist names",
            ),
            (
                Decision::Allowed(Allowed::DnsQueryForAllowedName {
                    name: "time.android.com".into(),
                }),
                "query for time.android.com, which the allowlist names",
            ),
            (
                Decision::Denied(Denied::Destination(ip("10.77.2.9"))),
                "10.77.2.9 is not on the allowlist",
            ),
            (
                Decision::Denied(Denied::DnsQuery {
                    name: "x.example.net".into(),
                    resolver: ip("10.77.2.9"),
                }),
                "query for x.example.net, which the allowlist does not name \
                 (resolver 10.77.2.9 is not on it either)",
            ),
            (
                Decision::Housekeeping(Housekeeping::Broadcast(ip("255.255.255.255"))),
                "broadcast to 255.255.255.255 (link housekeeping)",
            ),
            (
                Decision::Housekeeping(Housekeeping::NeighbourDiscovery { icmp_type: 137 }),
                "IPv6 redirect (link housekeeping)",
            ),
        ];
        for (d, text) in texts {
            assert_eq!(d.to_string(), text);
        }
        assert_eq!(
            Denied::NotIp { ethertype: 0x88cc }.destination(),
            "ethertype 0x88cc"
        );
        assert_eq!(
            Denied::Source(ip("2001:db8::1")).destination(),
            "2001:db8::1"
        );
    }

    #[test]
    fn mangled_frames_never_panic_the_link() {
        let mut rng = benchctl_rng::SimRng::new(0xa11);
        let r = build_response(1, "time.android.com", &[v4("216.239.35.0")], 60);
        let q = build_query(1, "connectivitycheck.gstatic.com", dns::rtype::A);
        let samples = [
            build::v4_udp(false, v4(GW), v4(DUT), 53, 40000, &r),
            build::v4_udp(true, v4(DUT), v4("8.8.8.8"), 40000, 53, &q),
            build::v4_tcp(
                true,
                v4(DUT),
                v4("8.8.8.8"),
                40000,
                53,
                0x18,
                &tcp_framed(&q),
            ),
        ];
        let mut l = spec_list();
        for _ in 0..20_000 {
            let mut f = samples[rng.index(samples.len())].clone();
            for _ in 0..1 + rng.index(3) {
                let i = 14 + rng.index(f.len() - 14);
                f[i] = rng.next_u64() as u8;
            }
            let _ = l.lets_in(0.0, &f);
            let _ = l.lets_out(0.0, &f);
        }
        // Whatever was learned came from answers about allowed names.
        for (_, name) in l.learned() {
            assert!(l.allows_name(name), "{name}");
        }
    }

    #[test]
    fn ipv6_destinations() {
        let l = list(&["2001:db8:77::/48"]);
        let (src, dst): (Ipv6Addr, Ipv6Addr) = (
            "2001:db8:1::2".parse().unwrap(),
            "2001:db8:77:5::1".parse().unwrap(),
        );
        let seg = build::udp(src.into(), dst.into(), 5000, 443, b"x");
        let f = build::v6_frame(build::GW_MAC, src, dst, 17, 64, &seg);
        assert!(judge(&l, &f, Direction::FromDut).is_allowed());
        let other: Ipv6Addr = "2001:db8:78::1".parse().unwrap();
        let seg = build::udp(src.into(), other.into(), 5000, 443, b"x");
        let f = build::v6_frame(build::GW_MAC, src, other, 17, 64, &seg);
        assert_eq!(
            judge(&l, &f, Direction::FromDut).to_string(),
            "2001:db8:78::1 is not on the allowlist"
        );
    }
}
