//! Firmware in the loop: the QEMU board (the real firmware engine on an
//! emulated Cortex-M3) behind its UART0 pty, driven by the `benchctl` binary
//! exactly as a board on /dev/ttyACM0 would be. The plant (this test) sets
//! what the emulated antenna hears over UART1.

mod common;

use bench_testkit::QemuShield;
use common::TestBench;
use shield_protocol::Stimulus;

fn qemu_bench(port: &std::path::Path) -> TestBench {
    TestBench::with_bench(&format!(
        r#"[bench]
name = "qemu-bench"

[duts.phone]
model = "test phone"

[shield]
kind = "serial"
port = "{}"
sample_rate_hz = 200
watchdog = "1s"

[shield.channels]
lte = {{ dut = "phone", detector = 0, frequency = "1747.5MHz" }}
srd = {{ dut = "phone", detector = 0, frequency = "868MHz" }}
current = {{ dut = "phone", detector = 1, quantity = "current" }}
"#,
        port.display()
    ))
}

#[test]
fn benchctl_talks_to_the_qemu_board() {
    let qemu = QemuShield::boot().expect("boot the QEMU shield (scripts/install-test-deps)");
    let bench = qemu_bench(qemu.host_link());

    let info = bench.ok(&["shield", "info"]);
    assert!(info.contains("board qemu-lm3s6965"), "{info}");
    assert!(info.contains("protocol 1.0"), "{info}");

    // The plant: a transmitter at 1747.5 MHz, -40 dBm.
    qemu.stimulus(&Stimulus::Set {
        detector: 0,
        center_khz: 1_747_500,
        level: -4000,
        noise: 0,
    })
    .expect("stimulus");

    let out = bench.ok(&["shield", "stream", "--seconds", "5", "--json"]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let (summary, blocks) = lines.split_last().expect("lines");
    let stats = &summary["summary"]["stats"];
    assert_eq!(stats["blocks_lost"], 0, "{stats}");
    assert_eq!(stats["decoder"]["bad_frames"], 0, "{stats}");
    let seqs: Vec<u64> = blocks
        .iter()
        .map(|b| b["seq"].as_u64().expect("seq"))
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gaps in {seqs:?}"
    );

    // 5 s at 200 Hz. The window is timed on the host; emulated time follows
    // the host clock to well under a millisecond (firmware/boards/README.md),
    // so the count is off only by the blocks in flight at either end (10
    // samples each).
    let samples: usize = blocks
        .iter()
        .map(|b| b["values"][0].as_array().expect("values").len())
        .sum();
    assert!(
        (950..=1030).contains(&samples),
        "{samples} samples per channel"
    );

    let channels = blocks[0]["channels"].as_array().expect("channels");
    let mean = |name: &str| {
        let c = channels.iter().position(|x| x == name).expect("channel");
        let v: Vec<f64> = blocks
            .iter()
            .flat_map(|b| b["values"][c].as_array().expect("col").clone())
            .filter_map(|x| x.as_f64())
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!((mean("lte") + 40.0).abs() < 0.01, "lte {}", mean("lte"));
    assert!((mean("srd") + 95.0).abs() < 0.01, "srd {}", mean("srd"));
}
