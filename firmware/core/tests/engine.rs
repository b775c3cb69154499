//! The engine driven as a board would: encoded requests in, frames out,
//! decoded with the host's decoder, on a clock the test moves by hand.

use shield_core::synthetic::{FLOOR_CENTI_DBM, FLOOR_MICRO_AMP, default_detectors};
use shield_core::{Identity, Limits, Shield, SyntheticFrontEnd, TX_BLOCKS};
use shield_protocol::{
    Calibration, ChannelConfig, Command, Config, DEFAULT_WATCHDOG_MS, Decoder, FromShield, Hello,
    Layout, LogLine, MAX_BLOCK_VALUES, MAX_FRAME, ProtocolVersion, Reply, Request, RequestId,
    SampleBlock, ShieldError, Status, Stimulus, VERSION, encode,
};

const MAX_SAMPLES_PER_S: u32 = 20_000;
/// 2.44 GHz: a Wi-Fi/Bluetooth band centre.
const WIFI_KHZ: u32 = 2_440_000;
/// 868 MHz: the EU SRD band.
const SRD_KHZ: u32 = 868_000;

/// A shield on a bench with a host decoder and a clock in µs.
struct Bench {
    shield: Shield<SyntheticFrontEnd>,
    decoder: Decoder,
    next_id: RequestId,
    now: u64,
    /// What `ask` received besides its reply, for the next `drain`.
    backlog: Received,
}

/// Everything the shield sent, sorted by kind.
#[derive(Debug, Default)]
struct Received {
    replies: Vec<(RequestId, Reply)>,
    blocks: Vec<SampleBlock>,
    statuses: Vec<Status>,
    logs: Vec<LogLine>,
}

impl Received {
    fn reply(&self, id: RequestId) -> &Reply {
        let mut matching = self.replies.iter().filter(|(i, _)| *i == id);
        let (_, reply) = matching.next().expect("a reply to the request");
        assert!(matching.next().is_none(), "exactly one reply to {id}");
        reply
    }

    fn log_containing(&self, text: &str) -> Option<&LogLine> {
        self.logs.iter().find(|l| l.text.contains(text))
    }

    fn samples(&self) -> usize {
        self.blocks.iter().map(SampleBlock::samples).sum()
    }

    /// Every value of `channel`, in time order, with its time.
    fn channel(&self, channel: usize) -> Vec<(u64, i32)> {
        let mut out = Vec::new();
        for block in &self.blocks {
            for i in 0..block.samples() {
                let t = block.t_us + i as u64 * u64::from(block.period_us);
                out.push((t, block.value(channel, i).expect("value in range")));
            }
        }
        out
    }

    fn extend(&mut self, other: Received) {
        self.replies.extend(other.replies);
        self.blocks.extend(other.blocks);
        self.statuses.extend(other.statuses);
        self.logs.extend(other.logs);
    }
}

impl Bench {
    fn new() -> Self {
        Self::with_front_end(SyntheticFrontEnd::new(&default_detectors()).with_seed(7))
    }

    fn with_front_end(front_end: SyntheticFrontEnd) -> Self {
        let identity = Identity {
            firmware: "shield-core test",
            board: "synthetic",
            serial: "TEST-0001".try_into().expect("fits"),
        };
        let limits = Limits {
            max_samples_per_s: MAX_SAMPLES_PER_S,
        };
        Bench {
            shield: Shield::new(front_end, identity, limits),
            decoder: Decoder::new(),
            next_id: 1,
            now: 1_000_000,
            backlog: Received::default(),
        }
    }

    fn frame(id: RequestId, command: Command) -> Vec<u8> {
        let mut out = [0u8; MAX_FRAME];
        let n = encode(&Request { id, command }, &mut out).expect("request fits");
        out[..n].to_vec()
    }

    /// Send one request now; returns its id.
    fn send(&mut self, command: Command) -> RequestId {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let bytes = Self::frame(id, command);
        self.shield.on_rx(&bytes, self.now);
        id
    }

    /// Send one request and read what the shield sends: its reply (the rest
    /// is kept for the next `drain`).
    fn ask(&mut self, command: Command) -> Reply {
        let id = self.send(command);
        let got = self.drain();
        let reply = got.reply(id).clone();
        self.backlog = got;
        reply
    }

    /// Everything the shield has to send (and what `ask` kept back).
    fn drain(&mut self) -> Received {
        let mut frame = [0u8; MAX_FRAME];
        let mut received = std::mem::take(&mut self.backlog);
        let mut messages = Vec::new();
        while let Some(n) = self.shield.next_frame(&mut frame) {
            assert!(n <= MAX_FRAME);
            assert_eq!(frame[n - 1], 0, "frames end in the delimiter");
            self.decoder
                .feed::<FromShield>(&frame[..n], |m| messages.push(m));
        }
        assert_eq!(self.decoder.stats().bad_frames, 0, "every frame decodes");
        for message in messages {
            match message {
                FromShield::Reply { id, reply } => received.replies.push((id, reply)),
                FromShield::Samples(block) => received.blocks.push(block),
                FromShield::Status(status) => received.statuses.push(status),
                FromShield::Log(line) => received.logs.push(line),
            }
        }
        received
    }

    /// Poll every `step_us` up to and including `until`, draining after
    /// each poll like a board, and heartbeating every `heartbeat_us` if set.
    fn run_until(&mut self, until: u64, step_us: u64, heartbeat_us: Option<u64>) -> Received {
        let mut received = Received::default();
        let mut last_heartbeat = self.now;
        while self.now < until {
            self.now = (self.now + step_us).min(until);
            if let Some(every) = heartbeat_us
                && self.now - last_heartbeat >= every
            {
                last_heartbeat = self.now;
                let id = self.send(Command::Heartbeat);
                let got = self.drain();
                assert_eq!(got.reply(id), &Reply::Ack);
                received.extend(got);
            }
            self.shield.poll(self.now);
            received.extend(self.drain());
        }
        received
    }

    fn configure(&mut self, config: Config) -> Reply {
        self.ask(Command::Configure(config))
    }
}

fn channel(detector: u8, center_khz: u32) -> ChannelConfig {
    ChannelConfig {
        detector,
        center_khz,
        calibration: Calibration::Default,
    }
}

fn config(rate: u32, channels: &[ChannelConfig], layout: Layout) -> Config {
    Config {
        sample_rate_hz: rate,
        channels: heapless::Vec::from_slice(channels).expect("at most MAX_CHANNELS"),
        layout,
        watchdog_ms: 0,
    }
}

/// Wi-Fi power, SRD power and supply current.
fn three_channels() -> [ChannelConfig; 3] {
    [channel(0, WIFI_KHZ), channel(0, SRD_KHZ), channel(1, 0)]
}

#[test]
fn hello_answers_with_identity_and_version() {
    let mut bench = Bench::new();
    let reply = bench.ask(Command::Hello { host: VERSION });
    let Reply::Hello(Hello {
        protocol,
        firmware,
        board,
        serial,
    }) = reply
    else {
        panic!("not a Hello: {reply:?}");
    };
    assert_eq!(protocol, VERSION);
    assert_eq!(firmware.as_str(), "shield-core test");
    assert_eq!(board.as_str(), "synthetic");
    assert_eq!(serial.as_str(), "TEST-0001");
}

#[test]
fn info_lists_the_detectors_and_limits() {
    let mut bench = Bench::new();
    let Reply::Info(info) = bench.ask(Command::GetInfo) else {
        panic!("not Info");
    };
    assert_eq!(info.detectors.as_slice(), &default_detectors());
    assert_eq!(info.max_samples_per_s, MAX_SAMPLES_PER_S);
    assert_eq!(
        usize::from(info.max_channels),
        shield_protocol::MAX_CHANNELS
    );
}

#[test]
fn an_incompatible_host_gets_hello_then_only_version_mismatch() {
    let mut bench = Bench::new();
    let future = ProtocolVersion {
        major: VERSION.major + 1,
        minor: 0,
    };
    let Reply::Hello(hello) = bench.ask(Command::Hello { host: future }) else {
        panic!("Hello is always answered");
    };
    assert_eq!(hello.protocol, VERSION);
    let mismatch = Reply::Nack(ShieldError::VersionMismatch { shield: VERSION });
    assert_eq!(bench.ask(Command::GetInfo), mismatch);
    assert_eq!(bench.ask(Command::Heartbeat), mismatch);
    assert_eq!(
        bench.configure(config(100, &three_channels(), Layout::Interleaved)),
        mismatch
    );
    assert_eq!(bench.ask(Command::Start), mismatch);
    assert!(!bench.shield.is_streaming());

    // A newer minor is still compatible, and a compatible Hello lifts the ban.
    let newer_minor = ProtocolVersion {
        major: VERSION.major,
        minor: VERSION.minor + 3,
    };
    assert!(matches!(
        bench.ask(Command::Hello { host: newer_minor }),
        Reply::Hello(_)
    ));
    assert_eq!(bench.ask(Command::Heartbeat), Reply::Ack);
}

#[test]
fn commands_before_any_hello_are_accepted() {
    let mut bench = Bench::new();
    assert_eq!(bench.ask(Command::Heartbeat), Reply::Ack);
    assert!(matches!(bench.ask(Command::GetInfo), Reply::Info(_)));
}

#[test]
fn configure_refuses_what_the_board_cannot_do() {
    let mut bench = Bench::new();
    let nack = |e| Reply::Nack(e);

    assert_eq!(
        bench.configure(config(100, &[], Layout::Interleaved)),
        nack(ShieldError::NoChannels)
    );
    assert_eq!(
        bench.configure(config(
            100,
            &[channel(0, WIFI_KHZ), channel(7, 0)],
            Layout::Interleaved
        )),
        nack(ShieldError::UnknownDetector {
            channel: 1,
            detector: 7
        })
    );
    // 100 MHz is below the detector's 300 MHz..6 GHz; 0 is not "any" for a
    // tunable detector.
    for khz in [100_000, 0, 6_000_001] {
        assert_eq!(
            bench.configure(config(100, &[channel(0, khz)], Layout::Interleaved)),
            nack(ShieldError::FrequencyOutOfRange { channel: 0 }),
            "{khz} kHz"
        );
    }
    // The range ends are inside it.
    for khz in [300_000, 6_000_000] {
        assert_eq!(
            bench.configure(config(100, &[channel(0, khz)], Layout::Interleaved)),
            Reply::Ack
        );
    }
    // An untunable detector takes any centre frequency.
    assert_eq!(
        bench.configure(config(100, &[channel(1, 123)], Layout::Interleaved)),
        Reply::Ack
    );

    let too_high = nack(ShieldError::RateTooHigh {
        max_samples_per_s: MAX_SAMPLES_PER_S,
    });
    assert_eq!(
        bench.configure(config(0, &three_channels(), Layout::Interleaved)),
        too_high
    );
    assert_eq!(
        bench.configure(config(
            MAX_SAMPLES_PER_S / 3 + 1,
            &three_channels(),
            Layout::Interleaved
        )),
        too_high
    );
    assert_eq!(
        bench.configure(config(
            MAX_SAMPLES_PER_S / 3,
            &three_channels(),
            Layout::Interleaved
        )),
        Reply::Ack
    );

    // The front end's own refusals come through: a shunt calibration on an
    // RF detector, a detector that does not answer.
    let mut shunt = channel(0, WIFI_KHZ);
    shunt.calibration = Calibration::Shunt {
        micro_ohm: 100_000,
        max_current_ma: 2000,
    };
    assert_eq!(
        bench.configure(config(100, &[channel(1, 0), shunt], Layout::Interleaved)),
        nack(ShieldError::BadCalibration { channel: 1 })
    );
    bench.shield.front_end().set_fault(1, true);
    assert_eq!(
        bench.configure(config(100, &three_channels(), Layout::Interleaved)),
        nack(ShieldError::SensorFault { detector: 1 })
    );
    // A failed prepare leaves the shield unconfigured.
    assert_eq!(bench.ask(Command::Start), nack(ShieldError::NotConfigured));
    bench.shield.front_end().set_fault(1, false);

    assert_eq!(
        bench.configure(config(100, &three_channels(), Layout::Interleaved)),
        Reply::Ack
    );
    assert_eq!(bench.ask(Command::Start), Reply::Ack);
    assert_eq!(
        bench.configure(config(100, &three_channels(), Layout::Interleaved)),
        nack(ShieldError::Streaming)
    );
}

#[test]
fn start_needs_a_configuration_and_is_idempotent() {
    let mut bench = Bench::new();
    assert_eq!(
        bench.ask(Command::Start),
        Reply::Nack(ShieldError::NotConfigured)
    );
    assert_eq!(bench.shield.next_deadline(), None);
    bench.configure(config(100, &three_channels(), Layout::Interleaved));
    let start = bench.now;
    assert_eq!(bench.ask(Command::Start), Reply::Ack);
    assert!(bench.shield.is_streaming());
    assert_eq!(
        bench.shield.next_deadline(),
        Some(start),
        "first sample at Start"
    );
    bench.now += 5_000;
    assert_eq!(bench.ask(Command::Start), Reply::Ack);
    let got = bench.run_until(start + 99_999, 1_000, None);
    assert_eq!(
        got.samples(),
        10,
        "a second Start does not restart the stream"
    );
    assert_eq!(bench.ask(Command::Stop), Reply::Ack);
    assert_eq!(
        bench.ask(Command::Stop),
        Reply::Ack,
        "Stop when idle is fine"
    );
    assert_eq!(bench.shield.next_deadline(), None);
}

/// 1000 Hz on three channels for two simulated seconds.
fn stream_two_seconds(layout: Layout) -> Received {
    let mut bench = Bench::new();
    bench.shield.front_end().set(0, WIFI_KHZ, -4_000, 0);
    bench.shield.front_end().set(0, SRD_KHZ, -7_000, 0);
    bench.shield.front_end().set(1, 0, 250_000, 0);
    assert_eq!(
        bench.configure(config(1000, &three_channels(), layout)),
        Reply::Ack
    );
    let start = bench.now;
    assert_eq!(bench.ask(Command::Start), Reply::Ack);
    // Sample k is at start + k ms; the last one of two seconds at start + 1999 ms.
    let mut got = bench.run_until(start + 1_999_000, 3_700, Some(500_000));
    assert_eq!(bench.ask(Command::Stop), Reply::Ack);
    got.extend(bench.drain());
    got
}

#[test]
fn two_seconds_at_1000_hz_on_three_channels_give_6000_values() {
    let got = stream_two_seconds(Layout::Interleaved);
    assert_eq!(got.samples(), 2000);
    let values: usize = got.blocks.iter().map(|b| b.values.len()).sum();
    assert_eq!(values, 6000);
    let start = got.blocks[0].t_us;
    // 1000 Hz / 20 blocks a second = 50 samples per block.
    assert_eq!(got.blocks.len(), 40);
    for (i, block) in got.blocks.iter().enumerate() {
        assert_eq!(block.seq, i as u32, "consecutive seqs");
        assert_eq!(block.period_us, 1000);
        assert_eq!(block.channels, 3);
        assert_eq!(block.samples(), 50);
        assert_eq!(block.t_us, start + i as u64 * 50_000, "t_us of block {i}");
    }
    // Values land on their channel.
    assert!(got.channel(0).iter().all(|&(_, v)| v == -4_000));
    assert!(got.channel(1).iter().all(|&(_, v)| v == -7_000));
    assert!(got.channel(2).iter().all(|&(_, v)| v == 250_000));
    // A status once a second, plus Start and Stop.
    assert!(got.statuses.first().expect("status on Start").streaming);
    assert!(!got.statuses.last().expect("status on Stop").streaming);
    assert_eq!(got.statuses.len(), 2 + 1, "Start, t+1 s, Stop");
    assert_eq!(got.statuses.last().map(|s| s.next_seq), Some(40));
    assert_eq!(got.statuses.last().map(|s| s.frames_dropped), Some(0));
}

#[test]
fn both_layouts_carry_the_same_values() {
    let interleaved = stream_two_seconds(Layout::Interleaved);
    let channel_major = stream_two_seconds(Layout::ChannelMajor);
    assert!(
        channel_major
            .blocks
            .iter()
            .all(|b| b.layout == Layout::ChannelMajor)
    );
    for ch in 0..3 {
        assert_eq!(interleaved.channel(ch), channel_major.channel(ch));
    }
    // And the raw order really differs: ch0 s0, ch0 s1, ...
    let block = &channel_major.blocks[0];
    assert_eq!(&block.values[..2], &[-4_000, -4_000]);
    assert_eq!(block.values[50], -7_000);
    assert_eq!(block.values[100], 250_000);
}

#[test]
fn noise_stays_within_its_peak_and_channel_major_transposes_it() {
    let run = |layout| {
        let mut bench = Bench::new();
        bench.shield.front_end().set(0, WIFI_KHZ, -5_000, 300);
        bench.shield.front_end().set(1, 0, 80_000, 1_000);
        bench.configure(config(200, &[channel(0, WIFI_KHZ), channel(1, 0)], layout));
        let start = bench.now;
        bench.ask(Command::Start);
        let mut got = bench.run_until(start + 999_999, 10_000, None);
        bench.ask(Command::Stop);
        got.extend(bench.drain());
        got
    };
    let interleaved = run(Layout::Interleaved);
    let channel_major = run(Layout::ChannelMajor);
    let rf = interleaved.channel(0);
    assert_eq!(rf.len(), 200);
    assert!(rf.iter().all(|&(_, v)| (-5_300..=-4_700).contains(&v)));
    assert!(
        rf.iter().any(|&(_, v)| v != -5_000),
        "noise is there at all"
    );
    let current = interleaved.channel(1);
    assert!(current.iter().all(|&(_, v)| (79_000..=81_000).contains(&v)));
    // The same seed gives the same noise, whatever the layout.
    assert_eq!(rf, channel_major.channel(0));
    assert_eq!(current, channel_major.channel(1));
}

#[test]
fn stimulus_levels_come_back_on_the_right_channel() {
    let mut bench = Bench::new();
    bench.configure(config(100, &three_channels(), Layout::ChannelMajor));
    let start = bench.now;
    bench.ask(Command::Start);
    let before = bench.run_until(start + 490_000, 10_000, None);
    // The plant switches a transmitter on at 868 MHz and the phone wakes up.
    bench.shield.front_end().apply(&Stimulus::Set {
        detector: 0,
        center_khz: SRD_KHZ,
        level: -2_500,
        noise: 0,
    });
    bench.shield.front_end().apply(&Stimulus::Set {
        detector: 1,
        center_khz: 0,
        level: 180_000,
        noise: 0,
    });
    let during = bench.run_until(start + 990_000, 10_000, None);
    bench.shield.front_end().apply(&Stimulus::Clear);
    let after = bench.run_until(start + 1_490_000, 10_000, None);
    bench.ask(Command::Stop);
    let mut after = after;
    after.extend(bench.drain());

    for (t, v) in before.channel(0).iter().chain(before.channel(1).iter()) {
        assert_eq!(*v, FLOOR_CENTI_DBM, "RF floor at {t}");
    }
    assert!(before.channel(2).iter().all(|&(_, v)| v == FLOOR_MICRO_AMP));
    let during_blocks: Vec<_> = during.blocks.iter().collect();
    assert!(!during_blocks.is_empty());
    assert!(
        during.channel(0).iter().all(|&(_, v)| v == FLOOR_CENTI_DBM),
        "2.44 GHz stays quiet"
    );
    assert!(during.channel(1).iter().any(|&(_, v)| v == -2_500));
    assert!(during.channel(2).iter().any(|&(_, v)| v == 180_000));
    assert!(
        after
            .channel(1)
            .iter()
            .rev()
            .take(10)
            .all(|&(_, v)| v == FLOOR_CENTI_DBM),
        "Clear: back to the floor"
    );
}

#[test]
fn a_host_that_does_not_read_loses_blocks_counted_with_seq_gaps() {
    let mut bench = Bench::new();
    bench.configure(config(1000, &three_channels(), Layout::Interleaved));
    let start = bench.now;
    bench.ask(Command::Start);
    // Two seconds of polling without reading (40 blocks, 16 fit), heartbeats
    // arriving but nobody draining.
    while bench.now < start + 1_999_000 {
        bench.now += 1_000;
        if bench.now.is_multiple_of(500_000) {
            bench.send(Command::Heartbeat);
        }
        bench.shield.poll(bench.now);
    }
    let got = bench.drain();
    assert_eq!(got.blocks.len(), TX_BLOCKS, "the send buffer, full");
    // At one second 20 blocks were made and 16 fit.
    let status = got.statuses.last().expect("the one-second status");
    assert_eq!(status.frames_dropped, 20 - TX_BLOCKS as u32);
    assert_eq!(usize::from(status.buffer_high_water), TX_BLOCKS);
    assert_eq!(usize::from(status.buffer_capacity), TX_BLOCKS);
    assert!(
        got.log_containing("send buffer full").is_some(),
        "logs: {:?}",
        got.logs
    );

    // The host resumes reading; later blocks come through.
    bench.now += 1_000;
    let mut later = bench.run_until(bench.now + 500_000, 1_000, None);
    bench.ask(Command::Stop);
    later.extend(bench.drain());
    let mut all = got.blocks.clone();
    all.extend(later.blocks.iter().cloned());
    let gaps: u32 = all.windows(2).map(|w| w[1].seq - w[0].seq - 1).sum();
    let final_status = later.statuses.last().expect("status on Stop");
    assert_eq!(
        gaps, final_status.frames_dropped,
        "every gap is a counted drop"
    );
    assert_eq!(final_status.frames_dropped, 40 - TX_BLOCKS as u32);
    assert_eq!(all.last().map(|b| b.seq + 1), Some(final_status.next_seq));
    // The whole count is in the logs, whatever the rate limit did.
    let logged: u32 = got
        .logs
        .iter()
        .chain(later.logs.iter())
        .filter_map(|l| {
            let rest = l.text.strip_prefix("send buffer full: dropped ")?;
            rest.split(' ').next()?.parse::<u32>().ok()
        })
        .sum();
    assert_eq!(logged, final_status.frames_dropped);
}

#[test]
fn the_watchdog_stops_a_stream_nobody_heartbeats() {
    let mut bench = Bench::new();
    bench.configure(config(100, &three_channels(), Layout::Interleaved));
    let start = bench.now;
    bench.ask(Command::Start);
    let watchdog_us = u64::from(DEFAULT_WATCHDOG_MS) * 1000;
    let mut got = bench.run_until(start + watchdog_us - 1, 10_000, None);
    assert!(bench.shield.is_streaming(), "not yet");
    assert!(got.statuses.iter().all(|s| !s.watchdog_stopped));
    got.extend(bench.run_until(start + watchdog_us + 5_000, 10_000, None));
    assert!(!bench.shield.is_streaming());
    let status = got.statuses.last().expect("status when the watchdog fires");
    assert!(status.watchdog_stopped);
    assert!(!status.streaming);
    let line = got
        .log_containing("host silent for")
        .expect("a log line says why");
    assert!(
        line.text.ends_with("ms: stopped streaming"),
        "{}",
        line.text
    );
    assert_eq!(bench.shield.next_deadline(), None);

    // No sample after the deadline.
    let last = got.blocks.last().expect("blocks");
    let last_t = last.t_us + (last.samples() as u64 - 1) * u64::from(last.period_us);
    assert!(last_t < start + watchdog_us);

    // The next Start clears the flag.
    bench.ask(Command::Start);
    let got = bench.drain();
    assert!(
        got.statuses
            .iter()
            .all(|s| !s.watchdog_stopped && s.streaming)
    );
}

#[test]
fn heartbeats_keep_the_stream_alive_with_a_custom_watchdog() {
    let mut bench = Bench::new();
    let mut cfg = config(50, &three_channels(), Layout::Interleaved);
    cfg.watchdog_ms = 500;
    bench.configure(cfg);
    let start = bench.now;
    bench.ask(Command::Start);
    let got = bench.run_until(start + 10_000_000, 20_000, Some(400_000));
    assert!(bench.shield.is_streaming());
    assert!(got.statuses.iter().all(|s| !s.watchdog_stopped));
    assert!(got.log_containing("host silent").is_none());
    // Any request counts as a sign of life, not only Heartbeat.
    let now = bench.now;
    for _ in 0..10 {
        bench.now += 300_000;
        bench.ask(Command::GetInfo);
        bench.shield.poll(bench.now);
    }
    assert!(bench.shield.is_streaming());
    let got = bench.run_until(now + 3_000_000 + 600_000, 20_000, None);
    assert!(
        !bench.shield.is_streaming(),
        "silence stops it after 500 ms"
    );
    assert!(got.statuses.iter().any(|s| s.watchdog_stopped));
}

#[test]
fn stop_flushes_the_partial_block() {
    let mut bench = Bench::new();
    bench.configure(config(1000, &three_channels(), Layout::ChannelMajor));
    let start = bench.now;
    bench.ask(Command::Start);
    // Samples at start..=start+72 ms: one full block of 50 and 23 more.
    let mut got = bench.run_until(start + 72_000, 1_000, None);
    assert_eq!(got.samples(), 50);
    bench.ask(Command::Stop);
    got.extend(bench.drain());
    assert_eq!(got.samples(), 73);
    let tail = got.blocks.last().expect("the partial block");
    assert_eq!(tail.samples(), 23);
    assert_eq!(tail.values.len(), 69);
    assert_eq!(tail.seq, 1);
    assert_eq!(tail.t_us, start + 50_000);
    assert_eq!(tail.value(2, 22), Some(FLOOR_MICRO_AMP));
    // Nothing more once stopped.
    let more = bench.run_until(bench.now + 1_000_000, 1_000, None);
    assert!(more.blocks.is_empty());
}

#[test]
fn garbage_between_requests_is_survived_and_reported() {
    let mut bench = Bench::new();
    let mut wire = Vec::new();
    wire.extend_from_slice(b"\x00AT+RESET\r\n\x00");
    wire.extend(Bench::frame(10, Command::Hello { host: VERSION }));
    wire.extend_from_slice(&[0x55; 40]);
    wire.extend_from_slice(&[0x00]);
    wire.extend(Bench::frame(11, Command::GetInfo));
    // A frame with one corrupted byte: dropped, no reply possible.
    let mut bad = Bench::frame(12, Command::Heartbeat);
    bad[2] ^= 0x40;
    wire.extend(bad);
    wire.extend_from_slice(&[0xff; 2000]);
    wire.extend_from_slice(&[0x00]);
    wire.extend(Bench::frame(13, Command::SelfTest));
    // Fed in awkward chunks.
    for chunk in wire.chunks(7) {
        bench.shield.on_rx(chunk, bench.now);
    }
    let got = bench.drain();
    assert!(matches!(got.reply(10), Reply::Hello(_)));
    assert!(matches!(got.reply(11), Reply::Info(_)));
    let Reply::SelfTest(report) = got.reply(13) else {
        panic!("self test");
    };
    assert!(report.passed());
    assert_eq!(report.results.len(), 2);
    assert!(
        report
            .results
            .iter()
            .all(|r| r.detail.as_str() == "synthetic")
    );
    assert_eq!(got.replies.len(), 3);
    assert!(
        got.log_containing("bad frames from the host").is_some(),
        "{:?}",
        got.logs
    );
}

#[test]
fn every_request_id_gets_its_reply_in_order() {
    let mut bench = Bench::new();
    bench.configure(config(500, &three_channels(), Layout::Interleaved));
    bench.ask(Command::Start);
    bench.drain();
    // Ids wrap past u16::MAX along the way.
    bench.next_id = u16::MAX - 3_000;
    let mut sent = Vec::new();
    let mut received = Vec::new();
    let commands = [
        Command::Heartbeat,
        Command::GetInfo,
        Command::SelfTest,
        Command::Hello { host: VERSION },
        Command::Start,
    ];
    for round in 0..200 {
        // Requests arrive in bursts of up to 5; ids need not be consecutive.
        bench.next_id = bench.next_id.wrapping_add(100);
        let burst = round % 5 + 1;
        let mut wire = Vec::new();
        for command in commands.iter().take(burst) {
            let id = bench.next_id;
            bench.next_id = bench.next_id.wrapping_add(1);
            sent.push(id);
            wire.extend(Bench::frame(id, command.clone()));
        }
        bench.shield.on_rx(&wire, bench.now);
        bench.now += 3_000;
        bench.shield.poll(bench.now);
        let got = bench.drain();
        received.extend(got.replies.iter().map(|(id, _)| *id));
    }
    assert!(sent.windows(2).any(|w| w[1] < w[0]), "ids wrapped");
    assert_eq!(sent, received);
}

#[test]
fn a_flooding_host_loses_the_oldest_replies_and_is_told() {
    let mut bench = Bench::new();
    let mut wire = Vec::new();
    for id in 0..40 {
        wire.extend(Bench::frame(id, Command::Heartbeat));
    }
    bench.shield.on_rx(&wire, bench.now);
    let got = bench.drain();
    let ids: Vec<_> = got.replies.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (32..40).collect::<Vec<_>>(), "the newest 8 replies");
    let line = got
        .log_containing("reply queue full")
        .expect("the loss is logged");
    assert!(line.text.contains("32 replies lost"), "{}", line.text);
}

#[test]
fn a_board_far_behind_skips_samples_and_says_so() {
    let mut bench = Bench::new();
    bench.configure(config(1000, &three_channels(), Layout::Interleaved));
    let start = bench.now;
    bench.ask(Command::Start);
    bench.now = start + 20_000;
    bench.shield.poll(bench.now);
    let mut got = bench.drain();
    // The board stalls for ten seconds (heartbeats still arrive).
    bench.now = start + 10_000_000;
    bench.send(Command::Heartbeat);
    bench.shield.poll(bench.now);
    got.extend(bench.drain());
    bench.ask(Command::Stop);
    got.extend(bench.drain());

    let line = got.log_containing("fell behind").expect("skips are logged");
    assert!(line.text.contains("skipped"), "{}", line.text);
    let values = got.channel(0);
    // Every timestamp is nominal (start + k ms), in order, and the stream
    // ends at the last due sample.
    assert!(values.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(
        values
            .iter()
            .all(|&(t, _)| (t - start).is_multiple_of(1000))
    );
    assert_eq!(values.last().map(|&(t, _)| t), Some(start + 10_000_000));
    let skipped = 10_001 - values.len() as u64;
    assert!(skipped > 0);
    assert!(
        line.text.contains(&format!("skipped {skipped} samples")),
        "{}",
        line.text
    );
    // Catch-up was capped: at most half a second of samples in one poll.
    assert!(values.len() <= 21 + 500);
    // Blocks stay within a frame and evenly spaced.
    for block in &got.blocks {
        assert!(block.values.len() <= MAX_BLOCK_VALUES);
    }
}

#[test]
fn blocks_always_fit_a_frame() {
    // 16 channels at a high rate: 180 / 16 = 11 samples per block.
    let mut bench = Bench::new();
    let channels: Vec<_> = (0..16).map(|_| channel(1, 0)).collect();
    bench.shield.front_end().set(1, 0, i32::MAX - 5, 1000);
    assert_eq!(
        bench.configure(config(1000, &channels, Layout::ChannelMajor)),
        Reply::Ack
    );
    let start = bench.now;
    bench.ask(Command::Start);
    let got = bench.run_until(start + 100_000, 1_000, Some(50_000));
    assert!(!got.blocks.is_empty());
    for block in &got.blocks {
        assert_eq!(block.samples(), 11);
        assert_eq!(block.values.len(), 176);
    }
    // One channel at a low rate: one sample per block.
    let mut bench = Bench::new();
    bench.configure(config(10, &[channel(1, 0)], Layout::Interleaved));
    let start = bench.now;
    bench.ask(Command::Start);
    let got = bench.run_until(start + 1_000_000, 10_000, None);
    assert_eq!(got.blocks.len(), 11);
    assert!(
        got.blocks
            .iter()
            .all(|b| b.samples() == 1 && b.period_us == 100_000)
    );
}

#[test]
fn the_deadline_follows_samples_status_and_watchdog() {
    let mut bench = Bench::new();
    assert_eq!(bench.shield.next_deadline(), None);
    bench.configure(config(4, &[channel(1, 0)], Layout::Interleaved));
    let start = bench.now;
    bench.ask(Command::Start);
    assert_eq!(bench.shield.next_deadline(), Some(start));
    bench.shield.poll(start);
    assert_eq!(bench.shield.next_deadline(), Some(start + 250_000));
    // A board that sleeps until each deadline gets everything.
    let mut got = bench.drain();
    while let Some(t) = bench.shield.next_deadline() {
        assert!(t >= bench.now);
        bench.now = t;
        bench.shield.poll(t);
        got.extend(bench.drain());
    }
    // Stopped by the watchdog at 3 s: samples at 0, 0.25, ..., 2.75 s.
    assert_eq!(got.samples(), 12);
    assert_eq!(bench.now, start + u64::from(DEFAULT_WATCHDOG_MS) * 1000);
    assert!(got.statuses.last().is_some_and(|s| s.watchdog_stopped));
}

#[test]
fn the_shield_fits_a_small_microcontroller() {
    let size = core::mem::size_of::<Shield<SyntheticFrontEnd>>();
    // 16 blocks of 180 i32 are ~12 KiB; the whole shield well under 32 KiB
    // even with 64-bit usize on the host.
    assert!(size < 32 * 1024, "Shield is {size} bytes");
}

/// xorshift32, for the soak test below (deterministic: failures reproduce).
struct Dice(u32);

impl Dice {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
}

fn random_config(dice: &mut Dice) -> Config {
    let channels: Vec<_> = (0..dice.below(18).min(16))
        .map(|_| ChannelConfig {
            detector: dice.below(3) as u8,
            center_khz: match dice.below(4) {
                0 => 0,
                1 => WIFI_KHZ,
                2 => dice.next(),
                _ => 300_000 + dice.below(5_700_001),
            },
            calibration: match dice.below(4) {
                0 => Calibration::Default,
                1 => Calibration::RssiOffset { centi_db: 7_400 },
                2 => Calibration::Shunt {
                    micro_ohm: 100_000,
                    max_current_ma: 2_000,
                },
                _ => Calibration::LogSlope {
                    slope_uv_per_db: -24_500,
                    intercept_cdbm: 2_000,
                },
            },
        })
        .collect();
    Config {
        sample_rate_hz: match dice.below(4) {
            0 => dice.next(),
            1 => 1 + dice.below(5),
            _ => 1 + dice.below(MAX_SAMPLES_PER_S),
        },
        channels: heapless::Vec::from_slice(&channels).expect("at most 16"),
        layout: if dice.below(2) == 0 {
            Layout::Interleaved
        } else {
            Layout::ChannelMajor
        },
        watchdog_ms: dice.below(3) * dice.below(2_000),
    }
}

#[test]
fn soak_random_requests_garbage_and_clock_jumps() {
    let mut blocks_seen = 0usize;
    for seed in 1..=40u32 {
        let mut dice = Dice(seed.wrapping_mul(0x9E37_79B9) | 1);
        let mut bench = Bench::with_front_end(SyntheticFrontEnd::default().with_seed(seed));
        let mut expected = Vec::new();
        let mut answered = Vec::new();
        for _ in 0..400 {
            let mut wire = Vec::new();
            match dice.below(10) {
                0 => {
                    // Garbage, then the delimiter the protocol resynchronises on
                    // (without it the next request would be glued to it, and lost).
                    wire.extend((0..dice.below(300)).map(|_| dice.next() as u8));
                    wire.push(0);
                }
                1 => bench.shield.front_end().apply(&Stimulus::Set {
                    detector: dice.below(3) as u8,
                    center_khz: if dice.below(2) == 0 { 0 } else { WIFI_KHZ },
                    level: dice.next() as i32,
                    noise: dice.next() as u16,
                }),
                _ => {
                    let command = match dice.below(9) {
                        0 => Command::Hello {
                            host: ProtocolVersion {
                                major: if dice.below(4) == 0 { 9 } else { VERSION.major },
                                minor: 0,
                            },
                        },
                        1 => Command::GetInfo,
                        2 | 3 => Command::Configure(random_config(&mut dice)),
                        4 | 5 => Command::Start,
                        6 => Command::Stop,
                        7 => Command::SelfTest,
                        _ => Command::Heartbeat,
                    };
                    let id = dice.next() as u16;
                    expected.push(id);
                    wire.extend(Bench::frame(id, command));
                }
            }
            for chunk in wire.chunks(1 + dice.below(64) as usize) {
                bench.shield.on_rx(chunk, bench.now);
            }
            bench.now += match dice.below(20) {
                0 => u64::from(dice.next()) * 10,
                1 => 0,
                _ => u64::from(dice.below(30_000)),
            };
            bench.shield.poll(bench.now);
            if let Some(deadline) = bench.shield.next_deadline() {
                assert!(deadline < bench.now + 60_000_000);
            }
            // Mostly a reading host; sometimes it reads nothing for a while.
            if dice.below(8) != 0 {
                let got = bench.drain();
                answered.extend(got.replies.iter().map(|(id, _)| *id));
                blocks_seen += got.blocks.len();
                for block in &got.blocks {
                    assert!(block.values.len() <= MAX_BLOCK_VALUES);
                    assert_eq!(block.values.len() % usize::from(block.channels), 0);
                }
                assert!(
                    got.log_containing("reply queue full").is_none(),
                    "at most one request per turn never overflows"
                );
            }
        }
        answered.extend(bench.drain().replies.iter().map(|(id, _)| *id));
        assert_eq!(expected, answered, "seed {seed}");
    }
    // The soak did stream, not only refuse configurations.
    assert!(blocks_seen > 1000, "{blocks_seen} blocks");
}
