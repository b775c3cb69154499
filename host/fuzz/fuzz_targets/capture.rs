//! Fuzzes the capture reader and the frame parser: `PacketReader` (pcapng
//! and pcap) over arbitrary bytes, every packet read, each frame parsed by
//! its interface's link type, and DNS read where the ports say DNS.
//!
//! Must hold: no panic, no hang, bounded memory, whatever the bytes (a
//! block length from the file must not size an allocation); an error
//! renders.
//!
//! Run: `scripts/fuzz --smoke` (all targets), or
//! `cd host/fuzz && cargo +nightly fuzz run capture`.

#![no_main]

use std::io::Cursor;
use std::path::Path;

use benchctl_format::read::PacketReader;
use benchctl_net::LinkType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut reader = match PacketReader::from_reader(Path::new("net.pcapng"), Cursor::new(input)) {
        Ok(reader) => reader,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet.into_owned(),
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        };
        let link_type = reader
            .interfaces()
            .get(packet.interface)
            .map(|i| u32::from(i.link_type))
            .expect("a packet names an interface the reader knows");
        let link = LinkType::from_code(link_type);
        let original_len = packet.original_len as usize;
        match benchctl_net::parse_captured(link, &packet.data, original_len) {
            Ok(frame) => {
                let _ = frame.is_link_management();
                if let Some(ip) = frame.ip() {
                    let _ = ip.flow();
                    if let Some(Err(e)) = benchctl_net::dns::parse_packet(ip) {
                        let _ = e.to_string();
                    }
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let _ = reader.truncated();
});
