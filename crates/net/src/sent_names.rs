//! The host names a phone itself puts in what it sends: the TLS Server
//! Name Indication of a ClientHello (RFC 8446 §4.1.2, RFC 6066 §3) and the
//! `Host` header of an HTTP/1.x request (RFC 9112 §3.2). With DNS over
//! HTTPS, names show only there (findings.md, bare captures: a destination
//! is named by a DNS answer to the DUT's query, or by the SNI or Host the
//! DUT sent to it).
//!
//! Both readers take the first data of a TCP connection as captured and
//! never panic on what they are given: a segment cut short, a record that
//! is not a handshake, lengths that run past the end are "no name".

/// The SNI host name of a TLS ClientHello starting at `payload[0]` (one
/// record; a hello split over two segments is not read), lowercased.
pub fn tls_server_name(payload: &[u8]) -> Option<String> {
    let mut r = Reader(payload);
    // TLSPlaintext: handshake (22), legacy version, length.
    if r.u8()? != 22 {
        return None;
    }
    r.skip(2)?;
    let record = r.vec16()?;
    let mut h = Reader(record);
    // Handshake: client_hello (1), 24-bit length.
    if h.u8()? != 1 {
        return None;
    }
    let len = usize::from(h.u8()?) << 16 | usize::from(h.u16()?);
    let mut hello = Reader(h.take(len)?);
    hello.skip(2 + 32)?; // legacy_version, random
    hello.vec8()?; // legacy_session_id
    hello.vec16()?; // cipher_suites
    hello.vec8()?; // legacy_compression_methods
    let mut extensions = Reader(hello.vec16()?);
    while !extensions.0.is_empty() {
        let kind = extensions.u16()?;
        let data = extensions.vec16()?;
        if kind != 0 {
            continue;
        }
        // ServerNameList: length, then (type, length, name) entries.
        let mut list = Reader(data);
        let mut names = Reader(list.vec16()?);
        while !names.0.is_empty() {
            let name_type = names.u8()?;
            let name = names.vec16()?;
            if name_type == 0 {
                return host_name(name);
            }
        }
    }
    None
}

/// The `Host` of an HTTP/1.x request starting at `payload[0]` (its port
/// left off), lowercased; None when the payload is no request line and
/// headers, or has no `Host`.
pub fn http_host(payload: &[u8]) -> Option<String> {
    let head = &payload[..payload.len().min(MAX_HEAD)];
    let method_end = head.iter().position(|&b| b == b' ')?;
    let method = &head[..method_end];
    if method.is_empty() || !method.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // A body or a cut may leave invalid UTF-8 after the headers.
        let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
        std::str::from_utf8(&head[..end]).ok()
    })?;
    let mut lines = text.split("\r\n");
    let request = lines.next()?;
    if !request.contains(" HTTP/1.") {
        return None;
    }
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("host") {
            let value = value.trim();
            // host [":" port]; an IPv6 literal in brackets keeps them.
            let host = match value.rsplit_once(':') {
                Some((h, port)) if !h.ends_with(']') || value.starts_with('[') => {
                    if port.bytes().all(|b| b.is_ascii_digit()) {
                        h
                    } else {
                        value
                    }
                }
                _ => value,
            };
            return host_name(host.as_bytes());
        }
    }
    None
}

/// The first bytes of a request read for its headers.
const MAX_HEAD: usize = 8192;

/// A host name as sent, lowercased without a trailing dot; None when it is
/// empty, over 253 characters, or not printable ASCII.
fn host_name(bytes: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(bytes).ok()?.trim_end_matches('.');
    let ok = !name.is_empty() && name.len() <= 253 && name.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| name.to_ascii_lowercase())
}

/// A TLS record holding a ClientHello with the given SNI (and an ALPN
/// extension before it), for tests.
#[cfg(any(test, feature = "test-util"))]
pub fn client_hello(sni: &str) -> Vec<u8> {
    let mut ext = Vec::new();
    // ALPN "h2", to be skipped.
    ext.extend([0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, b'h', b'2']);
    let name = sni.as_bytes();
    let n = name.len() as u16;
    ext.extend([0x00, 0x00]);
    ext.extend((n + 5).to_be_bytes());
    ext.extend((n + 3).to_be_bytes());
    ext.push(0);
    ext.extend(n.to_be_bytes());
    ext.extend(name);
    let mut hello = vec![0x03, 0x03];
    hello.extend([7u8; 32]);
    hello.push(32);
    hello.extend([9u8; 32]);
    hello.extend([0x00, 0x02, 0x13, 0x01]);
    hello.extend([0x01, 0x00]);
    hello.extend((ext.len() as u16).to_be_bytes());
    hello.extend(ext);
    let mut hs = vec![1, 0];
    hs.extend((hello.len() as u16).to_be_bytes());
    hs.extend(hello);
    let mut record = vec![22, 0x03, 0x01];
    record.extend((hs.len() as u16).to_be_bytes());
    record.extend(hs);
    record
}

/// Bytes read from the front, each read checked against the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// A vector with a one-byte length before it (RFC 8446 §3.4).
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n.into())
    }

    /// A vector with a two-byte length before it.
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sni_of_a_client_hello_is_read() {
        let hello = client_hello("Mtalk.Google.com");
        assert_eq!(tls_server_name(&hello).as_deref(), Some("mtalk.google.com"));
        // Cut anywhere: no name, no panic.
        for cut in 0..hello.len() {
            assert_eq!(tls_server_name(&hello[..cut]), None, "cut at {cut}");
        }
        // Not a handshake, not a hello.
        let mut alert = hello.clone();
        alert[0] = 21;
        assert_eq!(tls_server_name(&alert), None);
        let mut server = hello.clone();
        server[5] = 2;
        assert_eq!(tls_server_name(&server), None);
        assert_eq!(tls_server_name(b"GET / HTTP/1.1\r\n"), None);
    }

    #[test]
    fn the_host_of_an_http_request_is_read() {
        let req = b"GET /generate_204 HTTP/1.1\r\nUser-Agent: x\r\nhost: ConnectivityCheck.gstatic.com:80\r\n\r\n";
        assert_eq!(
            http_host(req).as_deref(),
            Some("connectivitycheck.gstatic.com")
        );
        let v6 = b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n";
        assert_eq!(http_host(v6).as_deref(), Some("[2001:db8::1]"));
        assert_eq!(http_host(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), None);
        assert_eq!(http_host(b"\x16\x03\x01\x00\x05hello"), None);
        assert_eq!(http_host(b"get / HTTP/1.1\r\nHost: a\r\n\r\n"), None);
        let full = b"POST /x HTTP/1.1\r\nHost: api.example.org\r\n\r\n\xff\xfe body";
        assert_eq!(http_host(full).as_deref(), Some("api.example.org"));
        for cut in 0..req.len() {
            let _ = http_host(&req[..cut]);
        }
    }
}
