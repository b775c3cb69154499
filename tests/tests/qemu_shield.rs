//! The QEMU board firmware end to end: the real firmware binary (engine,
//! framing, UART driver, SysTick clock) on an emulated Cortex-M3, spoken to
//! over its UART's pty exactly as benchctl speaks to the shield.
//!
//! Needs `qemu-system-arm` and the thumbv7m-none-eabi target
//! (scripts/install-test-deps); fails with that hint when they are missing.

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bench_testkit::QemuShield;
use serialport::TTYPort;
use shield_protocol::{
    Calibration, ChannelConfig, Command, Config, Decoder, DetectorKind, FromShield, Layout,
    MAX_FRAME, Reply, Request, SampleBlock, Status, Stimulus, Unit, VERSION, compatible, encode,
};

/// What we configure: 200 Hz on 3 channels.
const RATE_HZ: u32 = 200;
const PERIOD_US: u32 = 1_000_000 / RATE_HZ;
/// Band 3 (1800 MHz) downlink, where the stimulus goes (channel 0).
const BAND3_KHZ: u32 = 1_747_500;
/// 868 MHz SRD band: same detector, other tuning (channel 1), must not hear it.
const SRD_KHZ: u32 = 868_000;
/// The synthetic front end's idle readings (shield_core::synthetic).
const FLOOR_CENTI_DBM: i32 = -9_500;
const FLOOR_MICRO_AMP: i32 = 350;
const STIMULUS_CENTI_DBM: i32 = -4_000;
/// Short, so the watchdog part of the test is quick.
const WATCHDOG_MS: u32 = 1_000;
const HEARTBEAT_EVERY: Duration = Duration::from_millis(250);
const STREAM_FOR: Duration = Duration::from_secs(5);

/// Tolerance on the number of samples per channel in `STREAM_FOR` (1000
/// expected): the engine closes a block every 50 ms (10 samples at 200 Hz),
/// so each end of the host's 5 s window can cut off up to one block (±20
/// samples together); on top, the QEMU process or this test thread may be
/// scheduled late on a busy host by ~150 ms (30 samples). QEMU's guest clock
/// itself follows the host clock (TCG without -icount), so there is no drift
/// to allow for. Sample *continuity* is checked exactly, separately.
const COUNT_TOLERANCE: usize = 50;

/// One side of the host link: requests out, everything the shield says in,
/// timestamped on arrival.
struct Link {
    port: TTYPort,
    inbox: mpsc::Receiver<(Instant, FromShield)>,
    next_id: u16,
    _reader: thread::JoinHandle<()>,
}

impl Link {
    fn open(qemu: &QemuShield) -> io::Result<Link> {
        let port = qemu.open_host_link(Duration::from_millis(50))?;
        let mut rx = port.try_clone_native().map_err(io::Error::from)?;
        let (tx, inbox) = mpsc::channel();
        let reader = thread::spawn(move || {
            let mut decoder = Decoder::new();
            let mut buf = [0u8; 4096];
            loop {
                match rx.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        let now = Instant::now();
                        let mut gone = false;
                        decoder.feed::<FromShield>(&buf[..n], |m| {
                            gone |= tx.send((now, m)).is_err();
                        });
                        if gone {
                            return;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                        ) => {}
                    Err(_) => return,
                }
            }
        });
        Ok(Link {
            port,
            inbox,
            next_id: 1,
            _reader: reader,
        })
    }

    fn send(&mut self, command: Command) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut frame = [0u8; MAX_FRAME];
        let n = encode(&Request { id, command }, &mut frame).expect("requests are small");
        self.port
            .write_all(&frame[..n])
            .expect("write to the host link");
        id
    }

    /// The next message, or None at the deadline.
    fn recv(&self, deadline: Instant) -> Option<(Instant, FromShield)> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.inbox.recv_timeout(left).ok()
    }

    /// Send and wait for the reply to it; whatever else arrives meanwhile is
    /// handed to `other`.
    fn request(
        &mut self,
        command: Command,
        timeout: Duration,
        mut other: impl FnMut(Instant, FromShield),
    ) -> Reply {
        let what = format!("{command:?}");
        let id = self.send(command);
        let deadline = Instant::now() + timeout;
        loop {
            match self.recv(deadline) {
                Some((_, FromShield::Reply { id: got, reply })) if got == id => return reply,
                Some((at, m)) => other(at, m),
                None => panic!("no reply to {what} within {timeout:?}"),
            }
        }
    }
}

#[derive(Default)]
struct Stream {
    blocks: Vec<(Instant, SampleBlock)>,
    statuses: Vec<(Instant, Status)>,
    logs: Vec<String>,
}

impl Stream {
    fn take(&mut self, at: Instant, m: FromShield) {
        match m {
            FromShield::Samples(b) => self.blocks.push((at, b)),
            FromShield::Status(s) => self.statuses.push((at, s)),
            FromShield::Log(l) => self.logs.push(format!("{:?}: {}", l.level, l.text)),
            FromShield::Reply { id, reply } => {
                if reply != Reply::Ack {
                    panic!("unexpected reply {id}: {reply:?}");
                }
            }
        }
    }

    /// (channel 0, 1, 2) values in stream order.
    fn values(&self) -> [Vec<i32>; 3] {
        let mut out: [Vec<i32>; 3] = Default::default();
        for (_, b) in &self.blocks {
            for i in 0..b.samples() {
                for (ch, values) in out.iter_mut().enumerate() {
                    values.push(b.value(ch, i).expect("3 channels in every block"));
                }
            }
        }
        out
    }
}

fn firmware_version() -> String {
    let manifest = std::fs::read_to_string(bench_testkit::qemu::board_dir().join("Cargo.toml"))
        .expect("read the board's Cargo.toml");
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("the board's Cargo.toml has a version line")
        .to_string()
}

#[test]
fn qemu_shield_streams_hears_stimuli_and_stops_on_silence() {
    let qemu = QemuShield::boot().expect("boot the QEMU shield");
    let mut link = Link::open(&qemu).expect("open the host link");
    let mut stream = Stream::default();

    // Hello: version and identity. QEMU starts reading a pty opened after
    // boot at its next once-a-second check (tests/src/qemu.rs), so the first
    // reply may take up to ~1 s; 5 s is generous.
    let reply = link.request(
        Command::Hello { host: VERSION },
        Duration::from_secs(5),
        |_, m| panic!("before Hello the shield sent {m:?}"),
    );
    let Reply::Hello(hello) = reply else {
        panic!("Hello answered with {reply:?}")
    };
    assert!(
        compatible(hello.protocol),
        "shield speaks {}",
        hello.protocol
    );
    assert_eq!(hello.board.as_str(), "qemu-lm3s6965");
    assert_eq!(hello.serial.as_str(), "QEMU-0001");
    assert_eq!(hello.firmware.as_str(), firmware_version());

    let reply = link.request(Command::GetInfo, Duration::from_secs(2), |at, m| {
        stream.take(at, m)
    });
    let Reply::Info(info) = reply else {
        panic!("GetInfo answered with {reply:?}")
    };
    assert_eq!(info.max_samples_per_s, 20_000);
    let rf = info
        .detectors
        .iter()
        .find(|d| d.unit == Unit::CentiDbm)
        .expect("an RF power detector");
    let current = info
        .detectors
        .iter()
        .find(|d| d.unit == Unit::MicroAmp)
        .expect("a current detector");
    assert!(
        info.detectors
            .iter()
            .all(|d| d.kind == DetectorKind::Synthetic)
    );
    assert!((rf.min_khz..=rf.max_khz).contains(&BAND3_KHZ));
    assert!((rf.min_khz..=rf.max_khz).contains(&SRD_KHZ));

    let channel = |detector, center_khz| ChannelConfig {
        detector,
        center_khz,
        calibration: Calibration::Default,
    };
    let config = Config {
        sample_rate_hz: RATE_HZ,
        channels: [
            channel(rf.id, BAND3_KHZ),
            channel(rf.id, SRD_KHZ),
            channel(current.id, 0),
        ]
        .into_iter()
        .collect(),
        layout: Layout::Interleaved,
        watchdog_ms: WATCHDOG_MS,
    };
    let reply = link.request(
        Command::Configure(config),
        Duration::from_secs(2),
        |at, m| stream.take(at, m),
    );
    assert_eq!(reply, Reply::Ack, "Configure");

    let reply = link.request(Command::Start, Duration::from_secs(2), |at, m| {
        stream.take(at, m)
    });
    assert_eq!(reply, Reply::Ack, "Start");
    let started = Instant::now();

    // Stream for 5 s with heartbeats; halfway, the antenna hears band 3.
    let stimulus = Stimulus::Set {
        detector: rf.id,
        center_khz: BAND3_KHZ,
        level: STIMULUS_CENTI_DBM,
        noise: 0,
    };
    let mut stimulated = false;
    let mut last_heartbeat = Instant::now();
    link.send(Command::Heartbeat);
    let end = started + STREAM_FOR;
    while Instant::now() < end {
        if !stimulated && started.elapsed() >= STREAM_FOR / 2 {
            qemu.stimulus(&stimulus).expect("stimulus applied");
            stimulated = true;
        }
        if last_heartbeat.elapsed() >= HEARTBEAT_EVERY {
            link.send(Command::Heartbeat);
            last_heartbeat = Instant::now();
        }
        let wait = (last_heartbeat + HEARTBEAT_EVERY).min(end);
        if let Some((at, m)) = link.recv(wait) {
            stream.take(at, m);
        }
    }
    let in_window = stream.blocks.iter().filter(|(at, _)| *at < end).count();
    let samples_in_window: usize = stream
        .blocks
        .iter()
        .filter(|(at, _)| *at < end)
        .map(|(_, b)| b.samples())
        .sum();

    // Now go silent: no more heartbeats. The shield must stop by itself
    // within the watchdog period and say so in a Status.
    let silent_since = last_heartbeat;
    let deadline = silent_since + Duration::from_millis(u64::from(WATCHDOG_MS) + 2_000);
    let (stopped_at, stop_next_seq) = loop {
        let Some((at, m)) = link.recv(deadline) else {
            panic!(
                "no watchdog stop within {} ms of the last heartbeat; logs: {:?}",
                WATCHDOG_MS + 2_000,
                stream.logs
            );
        };
        let stop = match &m {
            FromShield::Status(s) if !s.streaming => Some(s.next_seq),
            _ => None,
        };
        stream.take(at, m);
        if let Some(next_seq) = stop {
            break (at, next_seq);
        }
    };
    // The engine sends a Status before queued sample blocks, so the last
    // block (closed at the stop) may still follow; nothing produced after it.
    let quiet_until = Instant::now() + Duration::from_millis(500);
    while let Some((at, m)) = link.recv(quiet_until) {
        if let FromShield::Samples(b) = &m {
            assert!(
                b.seq < stop_next_seq,
                "block seq {} produced after the watchdog stop (next_seq was {stop_next_seq})",
                b.seq
            );
        }
        stream.take(at, m);
    }

    // --- Rate: ≈ 5 s × 200 Hz per channel, in whole blocks.
    println!(
        "{in_window} blocks, {samples_in_window} samples per channel in {STREAM_FOR:?} (expected {})",
        RATE_HZ as usize * STREAM_FOR.as_secs() as usize
    );
    let expected = RATE_HZ as usize * STREAM_FOR.as_secs() as usize;
    assert!(
        samples_in_window.abs_diff(expected) <= COUNT_TOLERANCE,
        "{samples_in_window} samples per channel in {STREAM_FOR:?}, expected {expected} ± {COUNT_TOLERANCE}"
    );

    // --- Continuity: no seq gap, every block on the 200 Hz timeline.
    assert!(!stream.blocks.is_empty());
    for pair in stream.blocks.windows(2) {
        let (a, b) = (&pair[0].1, &pair[1].1);
        assert_eq!(b.seq, a.seq + 1, "sequence gap");
        assert_eq!(
            b.t_us,
            a.t_us + u64::from(PERIOD_US) * a.samples() as u64,
            "samples skipped between seq {} and {}",
            a.seq,
            b.seq
        );
    }
    for (_, b) in &stream.blocks {
        assert_eq!(b.period_us, PERIOD_US);
        assert_eq!(b.channels, 3);
        assert_eq!(b.values.len() % 3, 0);
    }
    let first_seq = stream.blocks[0].1.seq;
    assert_eq!(first_seq, 0, "the first block of the first stream is seq 0");

    // --- Stimulus: band 3 steps from the floor to -40 dBm and stays there;
    // 868 MHz and the current sensor do not hear it.
    let [band3, srd, amps] = stream.values();
    let step = band3
        .iter()
        .position(|&v| v == STIMULUS_CENTI_DBM)
        .expect("the stimulus reached channel 0");
    assert!(step > 0, "channel 0 heard the stimulus before it was sent");
    assert!(
        band3[..step].iter().all(|&v| v == FLOOR_CENTI_DBM),
        "channel 0 before: floor"
    );
    assert!(
        band3[step..].iter().all(|&v| v == STIMULUS_CENTI_DBM),
        "channel 0 after: -40 dBm"
    );
    assert!(
        srd.iter().all(|&v| v == FLOOR_CENTI_DBM),
        "channel 1 (868 MHz) stays at the floor"
    );
    assert!(
        amps.iter().all(|&v| v == FLOOR_MICRO_AMP),
        "channel 2 (current) unchanged"
    );

    // --- Statuses: about one a second, nothing dropped; the last one says
    // the watchdog stopped the stream, within the watchdog period.
    let (_, last) = stream.statuses.last().expect("statuses");
    assert!(!last.streaming);
    assert!(last.watchdog_stopped, "last status: {last:?}");
    assert_eq!(last.frames_dropped, 0, "blocks dropped: {last:?}");
    assert_eq!(
        last.next_seq,
        stream.blocks.last().map(|(_, b)| b.seq + 1).unwrap_or(0),
        "every block produced was received"
    );
    let silence = stopped_at.duration_since(silent_since);
    println!("stopped {silence:?} after the last heartbeat (watchdog {WATCHDOG_MS} ms)");
    // The heartbeat reaches the shield after we sent it, so the stop cannot
    // come earlier than the period (less a few ms of clock rounding); it must
    // come within the period plus delivery slack (one poll, the pty, this
    // thread's scheduling).
    assert!(
        silence >= Duration::from_millis(u64::from(WATCHDOG_MS) - 20),
        "stopped early: {silence:?}"
    );
    assert!(
        silence <= Duration::from_millis(u64::from(WATCHDOG_MS) + 300),
        "stopped late: {silence:?}"
    );
    assert!(
        stream.logs.iter().any(|l| l.contains("stopped streaming")),
        "a log line says why it stopped: {:?}",
        stream.logs
    );
}
