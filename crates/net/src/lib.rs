//! Packets on a DUT's network link, and whether an allowlist lets them pass.
//!
//! Two parts of the bench ask the same question of the same bytes. The
//! simulated link of a DUT in state `allowlist` decides frame by frame what
//! gets through; the analyzer reads `net.pcapng` afterwards and decides
//! whether a DUT talked to destinations outside the `allow` list of its phase
//! (`net-unexpected-destination` in findings.md). Both use this module, so
//! the link drops exactly what the analyzer would flag, and both explain a
//! verdict in the same words.
//!
//! Data flows one way, frames in, decisions out; nothing here does I/O,
//! keeps time or spawns threads:
//!
//! ```text
//! frame bytes and the capture's link type
//!   -> link::parse_frame        Frame { link, net: Ip(Packet) | Arp | Other }
//!   -> dns::parse_packet        Message, for UDP/TCP port 53
//!   -> Allowlist::judge         Decision: Allowed(why) | Housekeeping(what) | Denied(why)
//!      Allowlist::observe       ... and learns addresses from DNS answers to the DUT's queries
//!   ResolverCache               what answers to its own queries taught a DUT (any phase)
//! ```
//!
//! - [`link`]: the link types of real captures (Ethernet, Linux cooked v1
//!   and v2, raw IP, BSD loopback, 802.11 with or without radiotap) down
//!   to the network layer, and what is not read, said as such.
//! - [`packet`]: Ethernet II with its VLAN tags (Q-in-Q too), ARP, IPv4 (options,
//!   fragments), IPv6 (extension headers), UDP, TCP, ICMP/ICMPv6; borrowed
//!   views, errors that name the layer and byte offset, no panics on any
//!   input.
//! - [`dns`]: RFC 1035 messages with name compression (loop-safe), over UDP
//!   and TCP; builders for the queries and A answers the simulator sends.
//! - [`frame`]: the other direction, builders of real frames with correct
//!   checksums, for the simulated phones and for tests.
//! - [`allowlist`]: the `allow` entries (IP addresses, CIDR blocks, DNS
//!   names with their subdomains), addresses learned from DNS answers to
//!   the DUT's queries, and
//!   the per-packet verdict with a reason a lab engineer can read.
//!
//! Not here: reading pcapng files (the recorder's and analyzer's business),
//! stream reassembly, and anything stateful beyond learned addresses and
//! the queries waiting for their answers.

pub mod allowlist;
pub mod dns;
pub mod frame;
pub mod link;
pub mod packet;
pub mod sent_names;

pub use allowlist::{
    Allowed, Allowlist, AllowlistError, Cidr, Decision, Denied, Direction, Entry, EntryError,
    Housekeeping, ResolverCache, expand_bench,
};
pub use dns::DnsError;
pub use link::{FrameError, LinkType, NotRead, Salvaged, parse_captured, parse_frame, salvage};
pub use packet::{
    Flow, Frame, Link, MacAddr, Network, Packet, ParseError, TcpFlags, Transport, parse_ethernet,
    parse_ip,
};
