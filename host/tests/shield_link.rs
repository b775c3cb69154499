//! The shield link against a scripted fake shield on a real pty pair. The
//! fake holds the master side; the link opens the slave's path exactly as
//! it opens /dev/ttyACM0. The fake is written with shield-protocol alone:
//! what the link did is read from the fake's record of requests, and what
//! the fake sent is chosen by each test.
//!
//! Nothing waits a fixed time for something to happen: every wait is on an
//! observable event (a request arriving at the fake, a block arriving at
//! the stream, a counter in the stats) with a generous deadline that only
//! a failing test reaches.
#![cfg(unix)]

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use benchctl::config::SerialPortSpec;
use benchctl::hw::shield::{LinkOptions, ShieldEvent, ShieldLink, ShieldLinkError, Stream};
use serialport::{SerialPort, TTYPort};
use shield_protocol::{
    Calibration, ChannelConfig, Command, Config, Decoder, FromShield, Hello, Info, Layout,
    LogLevel, LogLine, MAX_FRAME, ProtocolVersion, Reply, Request, SampleBlock, SelfTestReport,
    ShieldError, Status, encode,
};

/// Only reached when a test is failing.
const WAIT: Duration = Duration::from_secs(5);

/// What the fake does with requests.
#[derive(Debug, Clone)]
struct Script {
    protocol: ProtocolVersion,
    /// Commands whose first copy (per request id) gets no reply.
    ignore_first: Vec<&'static str>,
    /// Commands never answered.
    ignore_all: Vec<&'static str>,
    /// Commands refused with this error.
    nack: Vec<(&'static str, ShieldError)>,
    /// Commands answered twice.
    duplicate: Vec<&'static str>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            protocol: shield_protocol::VERSION,
            ignore_first: Vec::new(),
            ignore_all: Vec::new(),
            nack: Vec::new(),
            duplicate: Vec::new(),
        }
    }
}

fn name(command: &Command) -> &'static str {
    benchctl::hw::shield::command_name(command)
}

#[derive(Debug, Default)]
struct Record {
    /// Every request received, with when it was read.
    requests: Vec<(Instant, Request)>,
    seen_ids: HashSet<u16>,
}

#[derive(Debug)]
struct FakeShared {
    record: Mutex<Record>,
    changed: Condvar,
    stop: AtomicBool,
}

impl FakeShared {
    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A shield on a pty that answers requests by its script and sends what
/// the test tells it to.
struct FakeShield {
    path: String,
    shared: Arc<FakeShared>,
    writer: Arc<Mutex<TTYPort>>,
    /// Our own handle on the slave: keeps the pty alive while the link has
    /// it closed (reading the master fails otherwise).
    _slave: TTYPort,
    reader: Option<JoinHandle<()>>,
}

impl FakeShield {
    fn start(script: Script) -> FakeShield {
        let (mut master, slave) = TTYPort::pair().expect("a pty pair");
        let path = slave.name().expect("the slave has a path");
        master
            .set_timeout(Duration::from_millis(20))
            .expect("timeout");
        let writer = Arc::new(Mutex::new(master.try_clone_native().expect("clone")));
        let shared = Arc::new(FakeShared {
            record: Mutex::new(Record::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let reader = thread::spawn({
            let shared = shared.clone();
            let writer = writer.clone();
            move || serve(master, &shared, &writer, &script)
        });
        FakeShield {
            path,
            shared,
            writer,
            _slave: slave,
            reader: Some(reader),
        }
    }

    fn link(&self, options: LinkOptions) -> ShieldLink {
        ShieldLink::open_with(&SerialPortSpec::Path(self.path.clone()), options)
            .expect("open the fake shield's pty")
    }

    fn send(&self, message: &FromShield) {
        self.send_bytes(&frame(message));
    }

    fn send_bytes(&self, bytes: &[u8]) {
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        w.write_all(bytes).expect("write to the pty");
    }

    fn requests(&self) -> Vec<(Instant, Request)> {
        self.shared.lock().requests.clone()
    }

    fn commands(&self) -> Vec<&'static str> {
        self.requests()
            .iter()
            .map(|(_, r)| name(&r.command))
            .collect()
    }

    /// Waits until `done` holds for the requests received so far.
    fn wait_for(&self, done: impl Fn(&[(Instant, Request)]) -> bool) -> Vec<(Instant, Request)> {
        let guard = self.shared.lock();
        let (guard, _) = self
            .shared
            .changed
            .wait_timeout_while(guard, WAIT, |r| !done(&r.requests))
            .unwrap_or_else(PoisonError::into_inner);
        assert!(
            done(&guard.requests),
            "the fake shield never saw what the test waited for; it saw {:?}",
            guard
                .requests
                .iter()
                .map(|(_, r)| name(&r.command))
                .collect::<Vec<_>>()
        );
        guard.requests.clone()
    }

    fn count(&self, command: &'static str) -> impl Fn(&[(Instant, Request)]) -> usize {
        move |requests| {
            requests
                .iter()
                .filter(|(_, r)| name(&r.command) == command)
                .count()
        }
    }
}

impl Drop for FakeShield {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

fn frame(message: &FromShield) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME];
    let n = encode(message, &mut buf).expect("fits");
    buf[..n].to_vec()
}

/// The fake's MCU: decode requests, record them, answer by the script.
fn serve(mut master: TTYPort, shared: &FakeShared, writer: &Mutex<TTYPort>, script: &Script) {
    let mut decoder = Decoder::new();
    let mut buf = [0u8; 1024];
    while !shared.stop.load(Ordering::Acquire) {
        let n = match master.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(_) => return,
        };
        let now = Instant::now();
        let mut requests = Vec::new();
        decoder.feed::<Request>(&buf[..n], |r| requests.push(r));
        for request in requests {
            let first_copy = shared.lock().seen_ids.insert(request.id);
            let command = name(&request.command);
            let reply = answer(script, &request.command);
            // Recorded before answering: once the link has the reply, the
            // record has the request.
            shared.lock().requests.push((now, request.clone()));
            shared.changed.notify_all();
            if script.ignore_all.contains(&command)
                || (first_copy && script.ignore_first.contains(&command))
            {
                continue;
            }
            let copies = if script.duplicate.contains(&command) {
                2
            } else {
                1
            };
            let bytes = frame(&FromShield::Reply {
                id: request.id,
                reply,
            });
            let mut w = writer.lock().unwrap_or_else(PoisonError::into_inner);
            for _ in 0..copies {
                if w.write_all(&bytes).is_err() {
                    return;
                }
            }
        }
    }
}

fn answer(script: &Script, command: &Command) -> Reply {
    if let Some((_, error)) = script.nack.iter().find(|(c, _)| *c == name(command)) {
        return Reply::Nack(*error);
    }
    match command {
        Command::Hello { .. } => Reply::Hello(Hello {
            protocol: script.protocol,
            firmware: "fake-0.1".try_into().expect("fits"),
            board: "scripted".try_into().expect("fits"),
            serial: "F00D".try_into().expect("fits"),
        }),
        Command::GetInfo => Reply::Info(Info {
            detectors: Default::default(),
            max_samples_per_s: 9000,
            max_channels: 9,
        }),
        Command::SelfTest => Reply::SelfTest(SelfTestReport {
            results: Default::default(),
        }),
        _ => Reply::Ack,
    }
}

fn options() -> LinkOptions {
    LinkOptions {
        request_timeout: Duration::from_millis(500),
        retries: 2,
        heartbeat: None,
        stream_capacity: 256,
    }
}

fn config() -> Config {
    let mut config = Config {
        sample_rate_hz: 1000,
        channels: Default::default(),
        layout: Layout::Interleaved,
        watchdog_ms: 3000,
    };
    for detector in 0..2 {
        config
            .channels
            .push(ChannelConfig {
                detector,
                center_khz: 868_000,
                calibration: Calibration::Default,
            })
            .expect("fits");
    }
    config
}

fn block(seq: u32) -> SampleBlock {
    let mut block = SampleBlock {
        seq,
        t_us: u64::from(seq) * 5000,
        period_us: 1000,
        channels: 2,
        layout: Layout::Interleaved,
        values: Default::default(),
    };
    for i in 0..10 {
        block
            .values
            .push(-9000 + i32::try_from(seq % 100).expect("small") + i)
            .expect("fits");
    }
    block
}

/// The next sample block's seq, skipping status and log lines.
fn next_seq(stream: &Stream) -> u32 {
    let deadline = Instant::now() + WAIT;
    let (block, _) = stream
        .next_block(deadline)
        .expect("link up")
        .expect("a block before the deadline");
    block.seq
}

fn greeted(fake: &FakeShield, options: LinkOptions) -> ShieldLink {
    let link = fake.link(options);
    link.hello().expect("hello");
    link
}

#[test]
fn hello_goes_first_and_a_compatible_shield_is_accepted() {
    for minor in [0, 3] {
        let fake = FakeShield::start(Script {
            protocol: ProtocolVersion { major: 1, minor },
            ..Script::default()
        });
        let link = fake.link(options());
        let err = link.info().expect_err("nothing before hello");
        assert!(matches!(err, ShieldLinkError::NoHello { .. }), "{err}");

        let hello = link.hello().expect("same major version");
        assert_eq!(hello.board.as_str(), "scripted");
        assert_eq!(link.greeting(), Some(hello));
        let info = link.info().expect("info after hello");
        assert_eq!(info.max_channels, 9);
        assert_eq!(fake.commands(), ["Hello", "GetInfo"]);
    }
}

#[test]
fn another_major_version_is_refused_with_a_clear_message_before_anything_else() {
    let fake = FakeShield::start(Script {
        protocol: ProtocolVersion { major: 2, minor: 0 },
        ..Script::default()
    });
    let link = fake.link(options());
    let err = link.hello().expect_err("major version differs");
    assert!(
        matches!(
            err,
            ShieldLinkError::VersionMismatch {
                shield: ProtocolVersion { major: 2, minor: 0 },
                host: ProtocolVersion { major: 1, minor: 0 },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with(
            "shield speaks protocol 2.0, this benchctl speaks 1.0: update the firmware or benchctl"
        ),
        "{err}"
    );
    // Nothing else goes out: every later request is refused on the host.
    let err = link.start(&config()).expect_err("refused");
    assert!(
        matches!(err, ShieldLinkError::VersionMismatch { .. }),
        "{err}"
    );
    let err = link.info().expect_err("refused");
    assert!(
        matches!(err, ShieldLinkError::VersionMismatch { .. }),
        "{err}"
    );
    assert_eq!(fake.commands(), ["Hello"]);
}

#[test]
fn an_unanswered_request_is_resent_with_the_same_id() {
    let fake = FakeShield::start(Script {
        ignore_first: vec!["GetInfo"],
        ignore_all: vec!["SelfTest"],
        duplicate: vec!["Heartbeat"],
        ..Script::default()
    });
    let link = greeted(
        &fake,
        LinkOptions {
            // Long enough that the second copy is never timed out too, even
            // on a loaded machine; the first is ignored, so it costs one.
            request_timeout: Duration::from_millis(400),
            ..options()
        },
    );

    // The first copy is ignored, the second answered.
    link.info().expect("answered on the second try");
    let copies: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|(_, r)| r.command == Command::GetInfo)
        .map(|(_, r)| r.id)
        .collect();
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert_eq!(copies[0], copies[1], "resent with the same id");
    assert_eq!(link.stats().requests_resent, 1);

    // A duplicate reply finds nobody waiting: counted, and the next
    // request still gets its own reply.
    let reply = link
        .request(Command::Heartbeat, Duration::from_millis(500))
        .expect("ack");
    assert_eq!(reply, Reply::Ack);
    let stats = link
        .wait_for_stats(WAIT, |s| s.replies_unmatched == 1)
        .expect("the duplicate reply arrives and is counted");
    assert_eq!(stats.replies_unmatched, 1);
    link.info().expect("next request unaffected");

    // Never answered: a timeout naming the command after 1 + 2 tries.
    let err = link
        .self_test(Duration::from_millis(100))
        .expect_err("never answered");
    match &err {
        ShieldLinkError::Timeout {
            command, attempts, ..
        } => {
            assert_eq!(*command, "SelfTest");
            assert_eq!(*attempts, 3);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("no reply to SelfTest after 3 tries"),
        "{err}"
    );
    let requests = fake.wait_for(|r| fake.count("SelfTest")(r) == 3);
    let ids: HashSet<u16> = requests
        .iter()
        .filter(|(_, r)| r.command == Command::SelfTest)
        .map(|(_, r)| r.id)
        .collect();
    assert_eq!(ids.len(), 1, "every copy has the same id");
}

#[test]
fn a_nack_carries_the_shields_reason() {
    let fake = FakeShield::start(Script {
        nack: vec![(
            "Configure",
            ShieldError::RateTooHigh {
                max_samples_per_s: 4000,
            },
        )],
        ..Script::default()
    });
    let link = greeted(&fake, options());
    let err = link.start(&config()).expect_err("refused");
    assert!(
        matches!(
            err,
            ShieldLinkError::Nack {
                command: "Configure",
                error: ShieldError::RateTooHigh {
                    max_samples_per_s: 4000
                },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with(
            "the shield refused Configure: sample rate too high: at most 4000 samples/s over all channels"
        ),
        "{err}"
    );
    // Refused before Start: not streaming, no Start sent.
    assert_eq!(fake.commands(), ["Hello", "Stop", "Configure"]);
}

#[test]
fn seq_gaps_count_exactly_the_missing_blocks() {
    let fake = FakeShield::start(Script::default());
    let link = greeted(&fake, options());
    let stream = link.start(&config()).expect("start");

    let sent: Vec<u32> = (0..12).filter(|s| *s != 4 && *s != 9).collect();
    let mut bytes = Vec::new();
    for &seq in &sent {
        bytes.extend(frame(&FromShield::Samples(block(seq))));
    }
    // A status and a log line in between are delivered, not counted as loss.
    bytes.extend(frame(&FromShield::Status(Status {
        uptime_ms: 60,
        streaming: true,
        frames_dropped: 0,
        buffer_high_water: 3,
        buffer_capacity: 16,
        watchdog_stopped: false,
        next_seq: 12,
    })));
    bytes.extend(frame(&FromShield::Log(LogLine {
        level: LogLevel::Info,
        text: "hello from the fake".try_into().expect("fits"),
    })));
    fake.send_bytes(&bytes);

    let got: Vec<u32> = sent.iter().map(|_| next_seq(&stream)).collect();
    assert_eq!(got, sent);
    let deadline = Instant::now() + WAIT;
    let mut others = Vec::new();
    while others.len() < 2 {
        match stream.recv_deadline(deadline).expect("link up") {
            Some(ShieldEvent::Status(s)) => others.push(format!("status {}", s.next_seq)),
            Some(ShieldEvent::Log(l)) => others.push(format!("log {}", l.text)),
            Some(ShieldEvent::Samples { .. }) => panic!("no more blocks were sent"),
            None => panic!("status and log never came"),
        }
    }
    assert_eq!(others, ["status 12", "log hello from the fake"]);

    let stats = stream.stop().expect("stop");
    assert_eq!(stats.blocks_received, 10);
    assert_eq!(stats.blocks_lost, 2, "{stats:?}");
    assert_eq!(stats.decoder.bad_frames, 0);
    assert_eq!(stats.blocks_dropped_host, 0);
    assert_eq!(stats.shield_frames_dropped, Some(0));
}

#[test]
fn one_corrupted_byte_costs_exactly_one_block() {
    let fake = FakeShield::start(Script::default());
    let link = greeted(&fake, options());
    let stream = link.start(&config()).expect("start");
    let before = link.stats();

    let mut bytes = Vec::new();
    for seq in 0..10 {
        let mut f = frame(&FromShield::Samples(block(seq)));
        if seq == 5 {
            // Mid-frame, and never 0x00: that would be a delimiter.
            let i = f.len() / 2;
            f[i] = if f[i] == 0x5a { 0xa5 } else { 0x5a };
        }
        bytes.extend(f);
    }
    fake.send_bytes(&bytes);

    let got: Vec<u32> = (0..9).map(|_| next_seq(&stream)).collect();
    assert_eq!(got, [0, 1, 2, 3, 4, 6, 7, 8, 9]);
    let stats = stream.stop().expect("stop");
    assert_eq!(stats.blocks_received, 9);
    assert_eq!(stats.blocks_lost, 1, "{stats:?}");
    assert_eq!(stats.decoder.bad_frames - before.decoder.bad_frames, 1);
    assert_eq!(stats.decoder.bad_crc - before.decoder.bad_crc, 1);
    assert_eq!(stats.decoder.recovered, 0);
    assert!(stats.decoder.bytes_discarded > 0);
}

#[test]
fn a_slow_consumer_costs_blocks_on_the_host_and_never_delays_replies() {
    let fake = FakeShield::start(Script::default());
    let link = greeted(
        &fake,
        LinkOptions {
            stream_capacity: 4,
            // A blocked reader would never answer at all; this only keeps a
            // loaded machine from turning a slow answer into a resend.
            request_timeout: Duration::from_secs(2),
            ..options()
        },
    );
    let stream = link.start(&config()).expect("start");

    let mut bytes = Vec::new();
    for seq in 0..50 {
        bytes.extend(frame(&FromShield::Samples(block(seq))));
    }
    fake.send_bytes(&bytes);
    // The consumer reads nothing. The reply comes in behind the 50 blocks,
    // so once it is here the reader has handled them all.
    link.info().expect("answered while the consumer sleeps");

    let stats = link.stats();
    assert_eq!(stats.requests_resent, 0, "answered on the first try");
    assert_eq!(stats.blocks_received, 50);
    assert_eq!(stats.blocks_dropped_host, 46, "{stats:?}");
    assert_eq!(
        stats.blocks_lost, 0,
        "dropped on the host is not lost on the link"
    );
    let got: Vec<u32> = (0..4).map(|_| next_seq(&stream)).collect();
    assert_eq!(got, [0, 1, 2, 3]);
}

#[test]
fn heartbeats_keep_the_configured_interval_while_streaming() {
    let interval = Duration::from_millis(150);
    let fake = FakeShield::start(Script::default());
    let link = greeted(
        &fake,
        LinkOptions {
            heartbeat: Some(interval),
            ..options()
        },
    );
    let stream = link.start(&config()).expect("start");
    assert_eq!(stream.heartbeat_interval(), interval);

    let requests = fake.wait_for(|r| fake.count("Heartbeat")(r) >= 6);
    let times: Vec<Instant> = requests
        .iter()
        .filter(|(_, r)| r.command == Command::Heartbeat)
        .map(|(t, _)| *t)
        .collect();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Timed from each send, so never early; the fake reading one late and
    // the next on time shortens a gap by its lateness, hence the margin.
    for gap in &gaps {
        assert!(*gap >= interval / 2, "heartbeat gap {gap:?}: {gaps:?}");
    }
    let mean = gaps.iter().sum::<Duration>() / u32::try_from(gaps.len()).expect("few");
    assert!(
        mean >= interval * 9 / 10 && mean <= interval * 2,
        "mean gap {mean:?}: {gaps:?}"
    );
    let stats = stream.stop().expect("stop");
    assert!(stats.heartbeats_sent >= 6, "{stats:?}");
}

#[test]
fn dropping_the_stream_sends_stop() {
    let fake = FakeShield::start(Script::default());
    let link = greeted(&fake, options());
    let stream = link.start(&config()).expect("start");
    fake.send(&FromShield::Samples(block(0)));
    assert_eq!(next_seq(&stream), 0);
    drop(stream);

    // Drop waits for the Ack, so the Stop is already at the fake.
    let commands: Vec<&str> = fake
        .commands()
        .into_iter()
        .filter(|c| *c != "Heartbeat")
        .collect();
    assert_eq!(commands, ["Hello", "Stop", "Configure", "Start", "Stop"]);

    // Blocks still coming after Stop belong to no stream.
    fake.send(&FromShield::Samples(block(1)));
    let stats = link
        .wait_for_stats(WAIT, |s| s.blocks_outside_stream == 1)
        .expect("the late block is counted");
    assert_eq!(stats.blocks_received, 2);

    // A new stream can start after the old one was dropped.
    let stream = link.start(&config()).expect("start again");
    stream.stop().expect("explicit stop");
    let stops = fake.count("Stop")(&fake.requests());
    assert_eq!(stops, 4, "Stop before each Configure and at each end");
}

#[test]
fn a_vanished_shield_is_reported_as_disconnected() {
    let fake = FakeShield::start(Script::default());
    let link = greeted(&fake, options());
    let stream = link.start(&config()).expect("start");
    drop(fake);

    let lost = Instant::now() + WAIT;
    let err = loop {
        match stream.recv_deadline(lost) {
            Err(e) => break e,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream never noticed the shield was gone"),
        }
    };
    assert!(matches!(err, ShieldLinkError::Disconnected { .. }), "{err}");
    assert!(link.lost().is_some());
    let err = link.info().expect_err("link lost");
    assert!(matches!(err, ShieldLinkError::Disconnected { .. }), "{err}");
    // Dropping the stream now must not wait out Stop's retries.
    let started = Instant::now();
    drop(stream);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_missing_port_says_how_to_fix_it() {
    let err = ShieldLink::open(&SerialPortSpec::Path("/dev/ttyACM-not-here".into()))
        .expect_err("no such port");
    assert_eq!(err.device, "radio shield (/dev/ttyACM-not-here)");
    let fix = err.fix.expect("a fix");
    assert!(fix.contains("is the device plugged in?"), "{fix}");
}
