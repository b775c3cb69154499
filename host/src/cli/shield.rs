//! `benchctl shield info|stream|selftest|sim`: talk to the radio shield.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{CliError, Context, table};
use crate::bench::BenchError;
use crate::bench::shield::{BenchShield, DetectorRow, detector_rows, lab_value};
use crate::config::{ShieldQuantity, format_khz};
use crate::hw::HwError;
use crate::hw::shield::{ClockConfig, ClockEstimator, LinkStats, RunClock, ShieldEvent};

/// Talk to the radio shield: who it is, what it measures, live levels.
///
/// The shield is the bench's ears: RF power per band in each DUT's
/// enclosure (and one ambient antenna outside), and each DUT's supply
/// current. On the default bench it is simulated: the real firmware logic
/// behind a pseudo-terminal, opened as a board's serial port is (a real
/// shield is /dev/ttyACM0 or, better, its /dev/serial/by-id/ path).
#[derive(Debug, Args)]
pub struct Shield {
    #[command(flatten)]
    pub lock: super::LockArgs,
    #[command(subcommand)]
    pub command: ShieldCommand,
}

#[derive(Debug, Subcommand)]
pub enum ShieldCommand {
    /// Protocol and firmware version, board, serial number, detectors, and
    /// how bench.toml's channels map onto them
    Info,
    /// Stream the configured channels and show live levels
    ///
    /// On a terminal, a table refreshed in place a few times a second;
    /// otherwise (a pipe, a log) the table again once a second. With
    /// --json, every sample block as a JSON line. Ends with what was
    /// received and lost, also when the link dies (then exit 3).
    Stream {
        /// Stop after this many seconds [default: until Ctrl-C]
        #[arg(long, value_name = "N")]
        seconds: Option<f64>,
    },
    /// Ask the shield to check each of its detectors
    Selftest,
    /// Run the simulated shield on its own, on a pseudo-terminal, until
    /// Ctrl-C: for trying a `kind = "serial"` bench without a board
    Sim,
}

impl Shield {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        if let ShieldCommand::Sim = self.command {
            return serve_sim(ctx).await;
        }
        let mut bench = ctx.take_bench().await?;
        let shield = bench.open_shield().map_err(BenchError::from)?;
        match self.command {
            ShieldCommand::Info => info(ctx, &shield),
            ShieldCommand::Stream { seconds } => stream(ctx, &shield, seconds).await,
            ShieldCommand::Selftest => selftest(ctx, &shield),
            ShieldCommand::Sim => unreachable!("handled above"),
        }
    }
}

#[derive(Debug, Serialize)]
struct InfoReport {
    protocol: String,
    firmware: String,
    board: String,
    serial: String,
    max_samples_per_s: u32,
    detectors: Vec<DetectorRow>,
    channels: Vec<crate::config::ShieldChannel>,
    sample_rate_hz: u32,
}

fn info(ctx: &Context, shield: &BenchShield) -> Result<(), CliError> {
    let report = InfoReport {
        protocol: shield.hello.protocol.to_string(),
        firmware: shield.hello.firmware.to_string(),
        board: shield.hello.board.to_string(),
        serial: shield.hello.serial.to_string(),
        max_samples_per_s: shield.info.max_samples_per_s,
        detectors: detector_rows(&shield.info),
        channels: shield.config.channels.clone(),
        sample_rate_hz: shield.config.sample_rate_hz,
    };
    ctx.print(&report, || {
        let mut out = format!(
            "{}: board {}\n  firmware {}, protocol {}, serial {}, up to {} samples/s\n",
            shield.link.label(),
            report.board,
            report.firmware,
            report.protocol,
            report.serial,
            report.max_samples_per_s
        );
        out.push_str("\nDetectors\n");
        let rows: Vec<Vec<String>> = report
            .detectors
            .iter()
            .map(|d| {
                vec![
                    d.id.to_string(),
                    d.kind.clone(),
                    d.measures.to_string(),
                    d.range.clone(),
                ]
            })
            .collect();
        out.push_str(&table::render(
            "  ",
            &["ID", "KIND", "MEASURES", "RANGE"],
            &rows,
        ));
        out.push_str(&format!(
            "\nChannels (bench.toml, {} Hz each)\n",
            report.sample_rate_hz
        ));
        out.push_str(&channel_table(&report.channels));
        out
    });
    Ok(())
}

fn channel_table(channels: &[crate::config::ShieldChannel]) -> String {
    let rows: Vec<Vec<String>> = channels
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.dut.clone().unwrap_or_else(|| "(ambient)".into()),
                c.detector.to_string(),
                if c.center_khz == 0 {
                    "-".into()
                } else {
                    format_khz(c.center_khz)
                },
                c.band.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table::render(
        "  ",
        &["CHANNEL", "DUT", "DETECTOR", "FREQUENCY", "BAND"],
        &rows,
    )
}

fn selftest(ctx: &Context, shield: &BenchShield) -> Result<(), CliError> {
    let report = shield
        .link
        .self_test(Duration::from_secs(5))
        .map_err(|e| CliError::Hw(HwError::new("shield", e.to_string())))?;
    let passed = report.passed();
    #[derive(Serialize)]
    struct Row {
        detector: u8,
        ok: bool,
        detail: String,
    }
    let rows: Vec<Row> = report
        .results
        .iter()
        .map(|r| Row {
            detector: r.detector,
            ok: r.ok,
            detail: r.detail.to_string(),
        })
        .collect();
    ctx.print(&rows, || {
        let t: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.detector.to_string(),
                    if r.ok { "ok".into() } else { "FAIL".into() },
                    r.detail.clone(),
                ]
            })
            .collect();
        table::render("", &["DETECTOR", "RESULT", "DETAIL"], &t)
    });
    if passed {
        Ok(())
    } else {
        Err(CliError::Reported("the shield's self-test failed".into()))
    }
}

/// Running figures per channel between two refreshes of the live table.
#[derive(Debug, Clone, Default)]
struct Window {
    sum: f64,
    n: u64,
    peak: Option<f64>,
}

impl Window {
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.n += 1;
        self.peak = Some(self.peak.map_or(v, |p| p.max(v)));
    }
    fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

#[derive(Debug, Serialize)]
struct BlockLine<'a> {
    /// Run clock (s since the stream started) of the block's first sample.
    t: f64,
    seq: u32,
    period_s: f64,
    channels: &'a [String],
    /// Per channel, its samples in lab units (dBm, A, fraction); null = no reading.
    values: Vec<Vec<Option<f64>>>,
}

#[derive(Debug, Serialize)]
struct StreamSummary {
    seconds: f64,
    blocks: u64,
    samples_per_channel: u64,
    stats: LinkStats,
    clock_offset_s: Option<f64>,
    clock_drift_ppm: Option<f64>,
}

async fn stream(ctx: &Context, shield: &BenchShield, seconds: Option<f64>) -> Result<(), CliError> {
    let link_err =
        |e: crate::hw::shield::ShieldLinkError| CliError::Hw(HwError::new("shield", e.to_string()));
    let config = shield.wire_config();
    let names: Vec<String> = shield
        .config
        .channels
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let quantities: Vec<ShieldQuantity> =
        shield.config.channels.iter().map(|c| c.quantity).collect();
    let clock = RunClock::start();
    let mut sync = ClockEstimator::new(ClockConfig::default());
    let stream = shield.link.start(&config).map_err(link_err)?;
    let started = Instant::now();
    let end = seconds.map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let live = !ctx.global.json && std::io::stdout().is_terminal();
    let refresh = if live {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(1)
    };
    let mut windows = vec![Window::default(); names.len()];
    let mut next_refresh = started + refresh;
    let mut drawn_lines = 0;
    let (mut blocks, mut samples) = (0u64, 0u64);
    let mut stop = ctx.shutdown.clone();
    let mut stdout = std::io::stdout().lock();
    // A link that dies mid-stream still gets its summary: what came
    // before it is the evidence.
    let mut lost_link: Option<CliError> = None;
    'streaming: loop {
        // Drain what arrived, then yield to the runtime so Ctrl-C is seen.
        loop {
            let event = match stream.try_recv() {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) => {
                    lost_link = Some(link_err(e));
                    break 'streaming;
                }
            };
            let ShieldEvent::Samples { block, received_at } = event else {
                continue;
            };
            sync.add_block(&block, clock.seconds(received_at));
            blocks += 1;
            let per = block.samples();
            samples += per as u64;
            let mut values = vec![Vec::with_capacity(per); names.len()];
            for (ch, column) in values.iter_mut().enumerate() {
                for i in 0..per {
                    let v = block
                        .value(ch, i)
                        .and_then(|raw| lab_value(quantities[ch], raw));
                    if let Some(v) = v {
                        windows[ch].add(v);
                    }
                    column.push(v);
                }
            }
            if ctx.global.json {
                let t = sync
                    .estimate()
                    .map_or(clock.seconds(received_at), |fit| fit.us_to_run(block.t_us));
                let line = BlockLine {
                    t,
                    seq: block.seq,
                    period_s: f64::from(block.period_us) / 1e6,
                    channels: &names,
                    values,
                };
                let _ = writeln!(
                    stdout,
                    "{}",
                    serde_json::to_string(&line).expect("block serializes")
                );
            }
        }
        let now = Instant::now();
        if !ctx.global.json && now >= next_refresh {
            let text = live_table(&shield.config.channels, &windows, &stream.stats(), started);
            if live && drawn_lines > 0 {
                // Move back up over the previous table and redraw in place.
                let _ = write!(stdout, "\x1b[{drawn_lines}A\x1b[J");
            }
            drawn_lines = text.lines().count();
            let _ = write!(stdout, "{text}");
            let _ = stdout.flush();
            windows.iter_mut().for_each(|w| *w = Window::default());
            next_refresh = now + refresh;
        }
        if end.is_some_and(|e| now >= e) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            signo = stop.requested() => {
                // Stop the stream first (Stop is sent on drop), then report.
                drop(stream);
                return Err(CliError::Interrupted(signo));
            }
        }
    }
    let stats = match &lost_link {
        // Nothing to stop: what the link counted up to its end.
        Some(_) => stream.stats(),
        None => stream.stop().map_err(link_err)?,
    };
    let fit = sync.estimate();
    let summary = StreamSummary {
        seconds: started.elapsed().as_secs_f64(),
        blocks,
        samples_per_channel: samples,
        stats,
        clock_offset_s: fit.as_ref().map(|f| f.offset_s),
        clock_drift_ppm: fit.as_ref().map(|f| f.drift_ppm),
    };
    if ctx.global.json {
        // The summary is the last line, so a consumer of JSON lines sees it.
        let mut line = serde_json::json!({ "summary": summary });
        if let Some(e) = &lost_link {
            line["error"] = e.to_string().into();
        }
        let _ = writeln!(
            stdout,
            "{}",
            serde_json::to_string(&line).expect("summary serializes")
        );
    } else {
        let _ = writeln!(
            stdout,
            "\n{} blocks, {} samples per channel in {:.1} s ({:.0} Hz); lost: {} blocks in transit, {} dropped by the shield, {} by this host; {} bad frames ({} bytes)",
            summary.blocks,
            summary.samples_per_channel,
            summary.seconds,
            summary.samples_per_channel as f64 / summary.seconds.max(1e-9),
            stats.blocks_lost,
            stats.shield_frames_dropped.unwrap_or(0),
            stats.blocks_dropped_host,
            stats.decoder.bad_frames,
            stats.decoder.bytes_discarded
        );
        let _ = match &fit {
            Some(f) => writeln!(
                stdout,
                "shield clock: offset {:.6} s, drift {:+.1} ppm, jitter {:.2} ms over {:.0} s",
                f.offset_s,
                f.drift_ppm,
                f.jitter_s * 1e3,
                f.span_s
            ),
            None => writeln!(
                stdout,
                "shield clock: too short a stream to estimate offset and drift"
            ),
        };
    }
    match lost_link {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn live_table(
    channels: &[crate::config::ShieldChannel],
    windows: &[Window],
    stats: &LinkStats,
    started: Instant,
) -> String {
    let fmt = |q: ShieldQuantity, v: Option<f64>| match (q, v) {
        (_, None) => "-".to_string(),
        (ShieldQuantity::Rf, Some(v)) => format!("{v:.1} dBm"),
        (ShieldQuantity::Current, Some(v)) => format!("{:.2} mA", v * 1e3),
        (ShieldQuantity::Occupancy, Some(v)) => format!("{:.0} %", v * 100.0),
    };
    let rows: Vec<Vec<String>> = channels
        .iter()
        .zip(windows)
        .map(|(c, w)| {
            vec![
                c.name.clone(),
                c.dut.clone().unwrap_or_else(|| "(ambient)".into()),
                c.band.clone().unwrap_or_default(),
                fmt(c.quantity, w.mean()),
                fmt(c.quantity, w.peak),
            ]
        })
        .collect();
    let mut out = format!(
        "t = {:.1} s, {} blocks, {} lost\n",
        started.elapsed().as_secs_f64(),
        stats.blocks_received,
        stats.blocks_lost
    );
    out.push_str(&table::render(
        "  ",
        &["CHANNEL", "DUT", "BAND", "MEAN", "PEAK"],
        &rows,
    ));
    out
}

/// `shield sim`: the simulated shield on its own pty until stopped.
async fn serve_sim(ctx: &Context) -> Result<(), CliError> {
    let sim = crate::bench::open::start_sim_shield()?;
    let path = sim.path().display().to_string();
    if ctx.global.json {
        // One line, so a supervising program can read it before we block.
        let _ = writeln!(std::io::stdout(), "{}", serde_json::json!({ "port": path }));
    } else {
        let _ = writeln!(
            std::io::stdout(),
            "simulated shield on {path}\nuse it with [shield] kind = \"serial\", port = \"{path}\"; Ctrl-C stops it"
        );
    }
    let _ = std::io::stdout().flush();
    let mut stop = ctx.shutdown.clone();
    let mut was_streaming = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = stop.requested() => return Ok(()),
        }
        let streaming = sim.is_streaming();
        if streaming != was_streaming {
            tracing::info!(
                "simulated shield {}",
                if streaming {
                    "streaming"
                } else {
                    "stopped streaming"
                }
            );
            was_streaming = streaming;
        }
    }
}

/// For `doctor`: open the shield, greet it, self-test it.
pub fn probe(bench: &mut crate::bench::Bench) -> Option<crate::bench::Probe> {
    use crate::hw::Check;
    let shield = bench.config().shield.as_ref()?;
    let subject = format!("shield ({})", shield.backend.kind());
    let checks = match bench.open_shield() {
        Err(e) => vec![Check::fail(e.to_string(), None)],
        Ok(s) => {
            let mut checks = vec![Check::ok(format!(
                "{} firmware {}, protocol {}, serial {}",
                s.hello.board, s.hello.firmware, s.hello.protocol, s.hello.serial
            ))];
            checks.push(Check::ok(format!(
                "{} channels of bench.toml match its detectors",
                s.config.channels.len()
            )));
            match s.link.self_test(Duration::from_secs(5)) {
                Ok(r) => {
                    for d in &r.results {
                        checks.push(if d.ok {
                            Check::ok(format!("detector {}: {}", d.detector, d.detail))
                        } else {
                            Check::fail(format!("detector {}: {}", d.detector, d.detail), None)
                        });
                    }
                }
                Err(e) => checks.push(Check::fail(format!("self-test: {e}"), None)),
            }
            checks
        }
    };
    Some(crate::bench::Probe { subject, checks })
}
