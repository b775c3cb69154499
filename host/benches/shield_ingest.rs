//! End-to-end ingest: the simulated shield (the real firmware engine on a
//! thread) streams over a pty into a `ShieldLink`, and this consumes every
//! event, as the recorder would. It measures what the whole host path
//! sustains — serial reads, decoding, dispatch, the stream queue — at the
//! highest rate the simulated shield accepts, and at the default bench's
//! rate for comparison. Not a timed test: it prints numbers.
//!
//! The simulated shield runs in this process, so the process CPU share
//! includes it; per-thread times from /proc/self/task separate the reader
//! thread ("shield-reader") from the shield ("sim-shield") and from this
//! consumer (the main thread, which also re-encodes every block to count
//! wire bytes: that cost is the benchmark's, not the link's).
//!
//! Run: `cargo bench -p benchctl --bench shield_ingest`
//! (`BENCH_SECONDS=30` for longer runs; default 10 s per case.)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use benchctl::bench::sim::shield::SimShield;
use benchctl::config::SerialPortSpec;
use benchctl::hw::shield::{LinkStats, ShieldEvent, ShieldLink};
use shield_protocol::{
    Calibration, ChannelConfig, Config, FromShield, Info, Layout, MAX_CHANNELS, MAX_FRAME, Status,
    Unit, encode,
};

const DEFAULT_SECONDS: u64 = 10;

/// One case: a name and how to build its configuration from the shield's Info.
struct Case {
    name: &'static str,
    config: fn(&Info) -> anyhow::Result<Config>,
}

/// As many channels as the shield takes, at the highest per-channel rate
/// its sample budget allows: the most the host can be asked to ingest.
fn highest_rate(info: &Info) -> anyhow::Result<Config> {
    let channels = MAX_CHANNELS.min(usize::from(info.max_channels));
    // Only RF detectors: their values are the larger varints, so the frames
    // are the larger ones too.
    let rf: Vec<_> = info
        .detectors
        .iter()
        .filter(|d| d.unit == Unit::CentiDbm && d.max_khz > d.min_khz)
        .collect();
    if rf.is_empty() || channels == 0 {
        bail!("the shield has no tunable RF detector or takes no channel");
    }
    let rate = info.max_samples_per_s / channels as u32;
    let mut config = Config {
        sample_rate_hz: rate,
        channels: Default::default(),
        layout: Layout::Interleaved,
        watchdog_ms: 0,
    };
    for i in 0..channels {
        let d = rf[i % rf.len()];
        // Spread the centres over the detector's range, so the channels are
        // not all the same tuning.
        let span = u64::from(d.max_khz - d.min_khz);
        let center_khz = d.min_khz + (span * (i as u64 + 1) / (channels as u64 + 1)) as u32;
        let channel = ChannelConfig {
            detector: d.id,
            center_khz,
            calibration: Calibration::Default,
        };
        if config.channels.push(channel).is_err() {
            bail!("more than MAX_CHANNELS channels");
        }
    }
    Ok(config)
}

/// The default bench (bench.toml): two phones with four bands and a
/// current sensor each, and one room antenna; 11 channels at 1 kHz.
fn default_bench(_: &Info) -> anyhow::Result<Config> {
    const MHZ: u32 = 1000;
    let bands = [1_747_500, 2_437 * MHZ, 2_402 * MHZ, 868 * MHZ];
    let mut channels = Vec::new();
    for (antenna, current) in [(0u8, 8u8), (1, 9)] {
        for center_khz in bands {
            channels.push((antenna, center_khz));
        }
        channels.push((current, 0));
    }
    channels.push((2, 1_747_500));
    let mut config = Config {
        sample_rate_hz: 1000,
        channels: Default::default(),
        layout: Layout::Interleaved,
        watchdog_ms: 0,
    };
    for (detector, center_khz) in channels {
        let channel = ChannelConfig {
            detector,
            center_khz,
            calibration: Calibration::Default,
        };
        if config.channels.push(channel).is_err() {
            bail!("more than MAX_CHANNELS channels");
        }
    }
    Ok(config)
}

/// CPU time (user + system, clock ticks) of the process and of each thread
/// by name. Threads that ended in between are only in the process total.
#[derive(Debug, Default)]
struct CpuSnapshot {
    process: u64,
    threads: BTreeMap<String, u64>,
}

/// (comm, utime + stime) from a /proc stat line. comm is in parentheses and
/// may hold spaces, so fields are counted from the last ')': after it come
/// field 3 (state) onwards, putting utime (14) and stime (15) at 11 and 12.
fn parse_stat(line: &str) -> Option<(String, u64)> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let comm = line.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

fn cpu_snapshot() -> anyhow::Result<CpuSnapshot> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    let (_, process) = parse_stat(&stat).context("parsing /proc/self/stat")?;
    let mut threads = BTreeMap::new();
    // Per-thread times are a bonus: without them the process total stands.
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let Ok(line) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            if let Some((comm, ticks)) = parse_stat(&line) {
                *threads.entry(comm).or_insert(0) += ticks;
            }
        }
    }
    Ok(CpuSnapshot { process, threads })
}

/// Clock ticks per second for /proc times; 100 if getconf is unavailable.
fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// What the consumer saw during one run.
#[derive(Debug, Default)]
struct Tally {
    blocks: u64,
    values: u64,
    block_bytes: u64,
    other_bytes: u64,
    statuses: u64,
    logs: u64,
    /// Log lines saying the shield fell behind and skipped samples: loss
    /// that no `seq` gap shows (the blocks stay contiguous).
    fell_behind: u64,
    last_status: Option<Status>,
    /// Shield time covered by the blocks: first t_us, and end of the last.
    first_t_us: Option<u64>,
    end_t_us: u64,
}

fn frame_len(message: &FromShield, frame: &mut [u8; MAX_FRAME]) -> u64 {
    // Every message the shield sent fitted in a frame, so this cannot fail;
    // 0 would only under-count the wire.
    encode(message, frame).map_or(0, |n| n as u64)
}

fn run_case(case: &Case, seconds: u64, ticks_per_s: u64) -> anyhow::Result<()> {
    let sim = SimShield::start().context("starting the simulated shield")?;
    let spec = SerialPortSpec::Path(sim.path().to_string_lossy().into_owned());
    let link = ShieldLink::open(&spec).map_err(|e| anyhow::anyhow!("{e}"))?;
    link.hello()?;
    let info = link.info()?;
    let config = (case.config)(&info)?;
    let channels = config.channels.len() as u64;
    let configured = u64::from(config.sample_rate_hz) * channels;
    if configured > u64::from(info.max_samples_per_s) {
        bail!(
            "{} samples/s configured, the shield allows {}",
            configured,
            info.max_samples_per_s
        );
    }

    let mut tally = Tally::default();
    let mut frame = [0u8; MAX_FRAME];
    let cpu_before = cpu_snapshot()?;
    let started = Instant::now();
    let stream = link.start(&config)?;
    let deadline = started + Duration::from_secs(seconds);
    while let Some(event) = stream.recv_deadline(deadline)? {
        match event {
            ShieldEvent::Samples { block, .. } => {
                tally.blocks += 1;
                tally.values += block.values.len() as u64;
                tally.first_t_us.get_or_insert(block.t_us);
                tally.end_t_us = block.t_us + block.samples() as u64 * u64::from(block.period_us);
                tally.block_bytes += frame_len(&FromShield::Samples(block), &mut frame);
            }
            ShieldEvent::Status(status) => {
                tally.statuses += 1;
                tally.last_status = Some(status.clone());
                tally.other_bytes += frame_len(&FromShield::Status(status), &mut frame);
            }
            ShieldEvent::Log(line) => {
                tally.logs += 1;
                if line.text.contains("fell behind") {
                    tally.fell_behind += 1;
                }
                tally.other_bytes += frame_len(&FromShield::Log(line), &mut frame);
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = cpu_snapshot()?;
    // Stop after the measurement: its round trip is not ingest.
    let stats = stream.stop()?;
    report(
        case,
        &config,
        configured,
        elapsed,
        &tally,
        &stats,
        &cpu_before,
        &cpu_after,
        ticks_per_s,
    );
    drop(link);
    drop(sim);
    Ok(())
}

#[allow(
    clippy::too_many_arguments,
    reason = "a print-out of one run's numbers; a struct would only rename them"
)]
fn report(
    case: &Case,
    config: &Config,
    configured: u64,
    elapsed: f64,
    t: &Tally,
    stats: &LinkStats,
    before: &CpuSnapshot,
    after: &CpuSnapshot,
    ticks_per_s: u64,
) {
    let channels = config.channels.len();
    println!(
        "{}: {channels} channels x {} Hz = {configured} samples/s configured, {elapsed:.2} s",
        case.name, config.sample_rate_hz
    );
    let received = t.values as f64 / elapsed;
    println!(
        "  samples/s received {:.0} = {:.1}% of configured (host wall clock)",
        received,
        received * 100.0 / configured as f64
    );
    if let Some(first) = t.first_t_us {
        // Against the shield's own clock: start-up and the last partial
        // block do not dilute it.
        let span_s = t.end_t_us.saturating_sub(first) as f64 / 1e6;
        let expected = span_s * configured as f64;
        println!(
            "  over the {span_s:.2} s of shield time the blocks cover: {:.2}% of the samples",
            t.values as f64 * 100.0 / expected
        );
    }
    let wire = t.block_bytes + t.other_bytes;
    println!(
        "  blocks/s {:.1} ({} blocks, {:.0} values each); wire {:.3} MB/s ({:.0} B per block frame; {} status, {} log frames)",
        t.blocks as f64 / elapsed,
        t.blocks,
        t.values as f64 / t.blocks.max(1) as f64,
        wire as f64 / elapsed / 1e6,
        t.block_bytes as f64 / t.blocks.max(1) as f64,
        t.statuses,
        t.logs
    );
    let shield_dropped = stats
        .shield_frames_dropped
        .or(t.last_status.as_ref().map(|s| s.frames_dropped));
    println!(
        "  lost: blocks_lost {}, blocks_dropped_host {}, shield_frames_dropped {}, decoder bad frames {} (bytes discarded {}), fell-behind warnings {}, blocks outside stream {}",
        stats.blocks_lost,
        stats.blocks_dropped_host,
        shield_dropped.map_or_else(|| "unknown".to_owned(), |n| n.to_string()),
        stats.decoder.bad_frames,
        stats.decoder.bytes_discarded,
        t.fell_behind,
        stats.blocks_outside_stream
    );
    let share = |ticks: u64| ticks as f64 / ticks_per_s as f64 / elapsed * 100.0;
    let process = after.process.saturating_sub(before.process);
    println!(
        "  CPU (% of one core, {ticks_per_s} ticks/s): process {:.1}% (sim shield included)",
        share(process)
    );
    let mut named = 0;
    for (name, &ticks) in &after.threads {
        let ticks = ticks.saturating_sub(before.threads.get(name).copied().unwrap_or(0));
        named += ticks;
        println!("    thread {name:<16} {:.1}%", share(ticks));
    }
    // The process total also holds threads that ended in the window (none
    // here: the heartbeat thread ends at Stop, after the snapshot) and
    // per-thread tick rounding. The main thread shows under the binary's
    // name, truncated to 15 characters like every thread name.
    println!(
        "    unattributed            {:.1}%",
        share(process.saturating_sub(named))
    );
}

fn main() -> anyhow::Result<()> {
    let seconds = match std::env::var("BENCH_SECONDS") {
        Ok(s) => s
            .parse()
            .with_context(|| format!("BENCH_SECONDS={s}: not a number of seconds"))?,
        Err(_) => DEFAULT_SECONDS,
    };
    let ticks_per_s = clock_ticks();
    println!(
        "shield ingest benchmark, {seconds} s per case (run: cargo bench -p benchctl --bench shield_ingest)"
    );
    let cases = [
        Case {
            name: "highest rate the sim shield allows",
            config: highest_rate,
        },
        Case {
            name: "default bench",
            config: default_bench,
        },
    ];
    for case in &cases {
        run_case(case, seconds, ticks_per_s)?;
    }
    Ok(())
}
