"""Minimal, fast packet builders and a pcapng writer (written from the
pcapng / IETF RFC layouts, not from benchctl).  Scapy is used only by the
self-check to read the result back, and for DHCP here (rare)."""
import ipaddress
import struct

ETH_IP4 = 0x0800
ETH_ARP = 0x0806
ETH_IP6 = 0x86DD


def mac_b(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, etype, payload):
    return mac_b(dst) + mac_b(src) + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, ttl=64, ident=0):
    s = ipaddress.IPv4Address(src).packed
    d = ipaddress.IPv4Address(dst).packed
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF,
                      0x4000, ttl, proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr, s, d


def l4_ipv4(src, dst, proto, l4, ttl=64, ident=0):
    s = ipaddress.IPv4Address(src).packed
    d = ipaddress.IPv4Address(dst).packed
    pseudo = s + d + struct.pack("!BBH", 0, proto, len(l4))
    c = csum(pseudo + l4)
    off = 6 if proto == 17 else 16
    if proto == 17 and c == 0:
        c = 0xFFFF
    l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    hdr, _, _ = ipv4(src, dst, proto, l4, ttl, ident)
    return hdr + l4


def l4_ipv6(src, dst, nh, l4, hlim=64):
    s = ipaddress.IPv6Address(src).packed
    d = ipaddress.IPv6Address(dst).packed
    pseudo = s + d + struct.pack("!IxxxB", len(l4), nh)
    c = csum(pseudo + l4)
    off = {17: 6, 6: 16, 58: 2}[nh]
    l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    hdr = struct.pack("!IHBB16s16s", 0x60000000, len(l4), nh, hlim, s, d)
    return hdr + l4


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq, ack, flags, payload=b"", win=65535):
    fl = 0
    for ch, bit in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("A", 16)):
        if ch in flags:
            fl |= bit
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       5 << 4, fl, win, 0, 0) + payload


def udp4(src_mac, dst_mac, src, dst, sport, dport, payload, ident=0):
    return eth(dst_mac, src_mac, ETH_IP4, l4_ipv4(src, dst, 17, udp(sport, dport, payload), ident=ident))


def tcp4(src_mac, dst_mac, src, dst, sport, dport, seq, ack, flags, payload=b"", ident=0):
    return eth(dst_mac, src_mac, ETH_IP4,
               l4_ipv4(src, dst, 6, tcp(sport, dport, seq, ack, flags, payload), ident=ident))


def udp6(src_mac, dst_mac, src, dst, sport, dport, payload):
    return eth(dst_mac, src_mac, ETH_IP6, l4_ipv6(src, dst, 17, udp(sport, dport, payload)))


def arp(src_mac, dst_mac, op, sha, spa, tha, tpa):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac_b(sha),
                       ipaddress.IPv4Address(spa).packed, mac_b(tha),
                       ipaddress.IPv4Address(tpa).packed)
    return eth(dst_mac, src_mac, ETH_ARP, body + b"\0" * 18)


def icmp6(src_mac, dst_mac, src, dst, typ, code, body):
    l4 = struct.pack("!BBH", typ, code, 0) + body
    return eth(dst_mac, src_mac, ETH_IP6, l4_ipv6(src, dst, 58, l4, hlim=255))


def rs6(src_mac, src_ip):
    # router solicitation to all-routers, with source link-layer option
    body = b"\0\0\0\0" + (b"\x01\x01" + mac_b(src_mac) if src_ip != "::" else b"")
    return icmp6(src_mac, "33:33:00:00:00:02", src_ip, "ff02::2", 133, 0, body)


def ns6(src_mac, src_ip, target):
    t = ipaddress.IPv6Address(target).packed
    sol = "ff02::1:ff" + t[13:14].hex() + ":" + t[14:16].hex()
    dmac = "33:33:ff:%02x:%02x:%02x" % (t[13], t[14], t[15])
    body = b"\0\0\0\0" + t
    return icmp6(src_mac, dmac, src_ip, sol, 135, 0, body)


def ra6(src_mac, src_ip, prefix):
    p = ipaddress.IPv6Network(prefix)
    body = struct.pack("!BBHII", 64, 0, 1800, 0, 0)
    body += struct.pack("!BBBBIII16s", 3, 4, p.prefixlen, 0xC0, 86400, 14400, 0, p.network_address.packed)
    body += b"\x01\x01" + mac_b(src_mac)
    return icmp6(src_mac, "33:33:00:00:00:01", src_ip, "ff02::1", 134, 0, body)


# ---------------------------------------------------------------- DNS

def dns_name(name):
    out = b""
    for lab in name.rstrip(".").split("."):
        lb = lab.encode()
        out += bytes([len(lb)]) + lb
    return out + b"\0"


QTYPE = {"A": 1, "AAAA": 28, "TXT": 16, "HTTPS": 65, "CNAME": 5}


def dns_query(txid, name, qtype="A"):
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", QTYPE[qtype], 1)


def dns_answer(txid, name, qtype="A", addrs=(), ttl=300, rcode=0, txt=None):
    q = dns_name(name) + struct.pack("!HH", QTYPE[qtype], 1)
    ans = b""
    n = 0
    for a in addrs:
        ip = ipaddress.ip_address(a)
        t = 1 if ip.version == 4 else 28
        ans += b"\xc0\x0c" + struct.pack("!HHIH", t, 1, ttl, len(ip.packed)) + ip.packed
        n += 1
    if txt is not None:
        tb = txt.encode()[:255]
        ans += b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, ttl, len(tb) + 1) + bytes([len(tb)]) + tb
        n += 1
    flags = 0x8180 | (rcode & 0xF)
    return struct.pack("!HHHHHH", txid, flags, 1, n, 0, 0) + q + ans


def mdns_announce(name, ip):
    # unsolicited response for <name>.local A record
    ipb = ipaddress.IPv4Address(ip).packed
    rr = dns_name(name + ".local") + struct.pack("!HHIH", 1, 0x8001, 120, 4) + ipb
    return struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0) + rr


def tls_client_hello(sni, rnd):
    """A syntactically valid TLS 1.2-style ClientHello record carrying SNI."""
    host = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(host) + 5, len(host) + 3, 0, len(host)) + host
    exts = sni_ext + bytes.fromhex("000a00080006001d00170018") + bytes.fromhex("000d000400020403")
    suites = bytes.fromhex("130113021303c02bc02fc02cc030")
    body = b"\x03\x03" + rnd[:32] + b"\x20" + rnd[32:64] + struct.pack("!H", len(suites)) + suites + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def ntp_request(ts_bytes):
    return b"\x23" + b"\0" * 39 + ts_bytes[:8]


# ---------------------------------------------------------------- pcapng

def _opt(code, value):
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def _block(btype, body):
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def write_pcapng(path, ifaces, packets, tsresol_exp=6, appl="indep-generator"):
    """ifaces: list of names; packets: list of (epoch_seconds_float, iface_index, bytes).
    tsresol_exp: 6 (microseconds, the pcapng default) or 9 (nanoseconds)."""
    with open(path, "wb") as f:
        shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _opt(4, appl.encode()) + _opt(0, b"")
        f.write(_block(0x0A0D0D0A, shb))
        for name in ifaces:
            opts = _opt(2, name.encode())
            if tsresol_exp != 6:
                opts += _opt(9, bytes([tsresol_exp]))
            opts += _opt(0, b"")
            f.write(_block(1, struct.pack("<HHI", 1, 0, 262144) + opts))
        scale = 10 ** tsresol_exp
        for ts, idx, data in sorted(packets, key=lambda p: p[0]):
            # integer arithmetic to avoid float rounding at ns scale
            sec = int(ts)
            frac = int(round((ts - sec) * scale))
            v = sec * scale + frac
            pad = (-len(data)) % 4
            body = struct.pack("<IIIII", idx, v >> 32, v & 0xFFFFFFFF, len(data), len(data)) + data + b"\0" * pad
            f.write(_block(6, body))
