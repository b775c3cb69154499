//! Analysis memory on packet-heavy captures: one phone flow leaking data
//! through its packet timing (gaps of 50 or 150 ms, ±5%), written as a
//! pcapng of 100 000 packets and of BENCH_PACKETS (default 2 000 000, about
//! 55 hours of that flow), each analyzed as a bare capture. Prints the
//! analysis time, the verdict and the peak resident memory of the analysis
//! alone (VmHWM, reset before it starts): it must not grow with the packets.
//!
//!     cargo bench -p benchctl --bench analyze_packets

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use benchctl_format::pcapng::PcapngWriter;
use benchctl_net::frame;
use benchctl_rng::SimRng;

// Only the memory helpers; the long recording is for the other benches.
#[allow(dead_code)]
mod common;

const PHONE: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 17);

/// A capture of `packets` UDP packets from the phone to one server.
fn write_capture(path: &Path, packets: u64) {
    let l4 = frame::udp(
        IpAddr::V4(PHONE),
        IpAddr::V4(SERVER),
        40_000,
        443,
        &[0x17; 40],
    );
    let ip = frame::ipv4(PHONE, SERVER, 17, 64, 1, &l4);
    let frame = frame::ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0x4d, 1, 2], 0x0800, &ip);
    let len = u32::try_from(frame.len()).expect("small frame");
    let mut writer = PcapngWriter::create(path, &["phone"]).expect("create capture");
    let mut rng = SimRng::new(1);
    let mut t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for _ in 0..packets {
        let level = if rng.unit() < 0.5 { 0.05 } else { 0.15 };
        t += Duration::from_secs_f64(level * (1.0 + 0.1 * (rng.unit() - 0.5)));
        writer.packet(0, t, &frame, len).expect("write packet");
    }
    writer.finish().expect("finish capture");
}

fn main() {
    let large: u64 = std::env::var("BENCH_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let dir = std::env::temp_dir().join(format!("benchctl-bench-packets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    for packets in [100_000, large] {
        let path = dir.join(format!("flow-{packets}.pcapng"));
        write_capture(&path, packets);
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        common::reset_vm_hwm();
        let before = common::vm_hwm_kb();
        let t = Instant::now();
        let findings = benchctl_detect::analyze::analyze(&path).expect("analyze");
        let analyze_s = t.elapsed().as_secs_f64();
        let peak = common::vm_hwm_kb();
        let kinds: Vec<&str> = findings
            .duts
            .iter()
            .flat_map(|d| d.findings.iter().map(|f| f.kind))
            .collect();
        println!(
            "{packets} packets ({:.0} MB pcapng): analysis {analyze_s:.2} s, verdict {:?}, findings {kinds:?}",
            size as f64 / 1e6,
            findings.verdict,
        );
        common::print_peak_memory("analysis", before, peak);
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
