//! Decoder throughput on a typical shield stream, clean and with 0.1% of
//! its bytes corrupted. Not a timed test: it prints numbers to compare
//! against what the link needs (about 30 kB/s for 9 channels at 1 kS/s).
//!
//! Run: `cargo bench -p benchctl --bench shield_decode`

use std::hint::black_box;
use std::time::{Duration, Instant};

use benchctl::hw::shield::{SeqStep, SeqTracker};
// Seeded, so every run measures the same stream.
use benchctl_rng::SimRng;
use shield_protocol::{
    DecodeStats, FromShield, GluedDecoder, Layout, MAX_FRAME, SampleBlock, encode,
};

/// 9 channels (8 RF detectors and the supply current) at 1 kS/s, 20
/// samples per block: 180 values, the most a block holds; 50 blocks/s.
const CHANNELS: u8 = 9;
const SAMPLES_PER_BLOCK: u32 = 20;
const RATE_HZ: u32 = 1000;
/// 200 s of streaming.
const BLOCKS: u32 = 10_000;
/// One byte in a thousand.
const CORRUPT_PER_MILLE: u64 = 1;
/// What one read from a USB CDC port returns at most, roughly.
const CHUNK: usize = 4096;
const RUNS: usize = 7;

fn stream(rng: &mut SimRng) -> Vec<u8> {
    let period_us = 1_000_000 / RATE_HZ;
    let mut bytes = Vec::new();
    let mut frame = [0u8; MAX_FRAME];
    for seq in 0..BLOCKS {
        let mut block = SampleBlock {
            seq,
            t_us: u64::from(seq) * u64::from(SAMPLES_PER_BLOCK * period_us),
            period_us,
            channels: CHANNELS,
            layout: Layout::Interleaved,
            values: Default::default(),
        };
        for _ in 0..SAMPLES_PER_BLOCK {
            for channel in 0..CHANNELS {
                let value = if channel == CHANNELS - 1 {
                    // Supply current, µA: 150 mA give or take 20.
                    130_000 + rng.below(40_000) as i32
                } else {
                    // RF power, centi-dBm: a noise floor near -90 dBm.
                    -9_300 + rng.below(600) as i32
                };
                if block.values.push(value).is_err() {
                    eprintln!("block overflow: fix CHANNELS * SAMPLES_PER_BLOCK");
                    std::process::exit(1);
                }
            }
        }
        match encode(&FromShield::Samples(block), &mut frame) {
            Ok(n) => bytes.extend_from_slice(&frame[..n]),
            Err(e) => {
                eprintln!("cannot encode a block: {e}");
                std::process::exit(1);
            }
        }
    }
    bytes
}

/// Replaces about `per_mille` of the bytes with a different random value
/// (0x00 included: a corrupted byte can become a delimiter, and a delimiter
/// can be corrupted). Returns how many were changed.
fn corrupt(bytes: &mut [u8], per_mille: u64, rng: &mut SimRng) -> usize {
    let mut changed = 0;
    for b in bytes.iter_mut() {
        if rng.below(1000) < per_mille {
            *b ^= 1 + rng.below(255) as u8;
            changed += 1;
        }
    }
    changed
}

struct Outcome {
    elapsed: Duration,
    blocks: u64,
    lost: u64,
    stats: DecodeStats,
}

fn decode(bytes: &[u8]) -> Outcome {
    let mut decoder = GluedDecoder::new();
    let mut seq = SeqTracker::new();
    // As if the block before seq 0 had arrived (seq wraps), so that losing
    // the first block counts too.
    seq.observe(u32::MAX);
    let (mut blocks, mut lost) = (0u64, 0u64);
    let started = Instant::now();
    for chunk in bytes.chunks(CHUNK) {
        decoder.feed::<FromShield>(black_box(chunk), |message| {
            if let FromShield::Samples(block) = message {
                blocks += 1;
                if let SeqStep::Lost(n) = seq.observe(block.seq) {
                    lost += u64::from(n);
                }
                black_box(&block);
            }
        });
    }
    let elapsed = started.elapsed();
    // As if the block after the last had arrived, so losing the last counts.
    if let SeqStep::Lost(n) = seq.observe(BLOCKS) {
        lost += u64::from(n);
    }
    Outcome {
        elapsed,
        blocks,
        lost,
        stats: decoder.stats(),
    }
}

fn report(name: &str, bytes: &[u8]) {
    let mut runs: Vec<Outcome> = (0..RUNS).map(|_| decode(bytes)).collect();
    runs.sort_by_key(|o| o.elapsed);
    let median = &runs[RUNS / 2];
    let best = &runs[0];
    let mb = bytes.len() as f64 / 1e6;
    let s = |o: &Outcome| o.elapsed.as_secs_f64();
    println!("{name}:");
    println!(
        "  {:.1} MB, {BLOCKS} blocks of {} values; {RUNS} runs",
        mb,
        u32::from(CHANNELS) * SAMPLES_PER_BLOCK
    );
    println!(
        "  median {:.1} MB/s, {:.0} frames/s (best {:.1} MB/s, {:.0} frames/s)",
        mb / s(median),
        median.blocks as f64 / s(median),
        mb / s(best),
        best.blocks as f64 / s(best)
    );
    let per_s = bytes.len() as f64 / f64::from(BLOCKS) * f64::from(RATE_HZ / SAMPLES_PER_BLOCK);
    println!(
        "  the link needs {:.1} kB/s: {:.0}x headroom on one core",
        per_s / 1e3,
        bytes.len() as f64 / s(median) / per_s
    );
    let st = median.stats;
    println!(
        "  blocks decoded {}, lost (seq gaps) {} = {:.2}% (decoded + lost = {}); bad frames {} (crc {}, cobs {}, message {}, oversize {}), recovered {}, bytes discarded {}",
        median.blocks,
        median.lost,
        median.lost as f64 * 100.0 / f64::from(BLOCKS),
        median.blocks + median.lost,
        st.bad_frames,
        st.bad_crc,
        st.bad_cobs,
        st.bad_message,
        st.oversize,
        st.recovered,
        st.bytes_discarded
    );
}

fn main() {
    println!("shield decoder benchmark (run: cargo bench -p benchctl --bench shield_decode)");
    let mut rng = SimRng::new(0x0005_eed0_f511_1e1d);
    let clean = stream(&mut rng);
    let mut damaged = clean.clone();
    let changed = corrupt(&mut damaged, CORRUPT_PER_MILLE, &mut rng);
    report("clean stream", &clean);
    report(
        &format!("0.1% of bytes corrupted ({changed} bytes changed)"),
        &damaged,
    );
}
