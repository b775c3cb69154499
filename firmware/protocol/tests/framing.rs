//! Framing under abuse: round trips of every message shape, corruption and
//! truncation at every byte, garbage between frames, arbitrary chunking.

use proptest::prelude::*;
use shield_protocol::*;

fn block(seq: u32, n: usize) -> FromShield {
    FromShield::Samples(SampleBlock {
        seq,
        t_us: 1_000_000 + u64::from(seq) * 10_000,
        period_us: 1000,
        channels: 3,
        layout: Layout::Interleaved,
        values: (0..n as i32).map(|i| -9000 + i * 37).collect(),
    })
}

fn frame_of(m: &FromShield) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let n = encode(m, &mut out).expect("fits");
    out[..n].to_vec()
}

fn decode_all(bytes: &[u8], chunk: usize) -> (Vec<FromShield>, DecodeStats) {
    let mut d = Decoder::new();
    let mut got = Vec::new();
    for c in bytes.chunks(chunk.max(1)) {
        d.feed::<FromShield>(c, |m| got.push(m));
    }
    (got, d.stats())
}

#[test]
fn the_largest_block_fits_one_frame() {
    let worst = FromShield::Samples(SampleBlock {
        seq: u32::MAX,
        t_us: u64::MAX,
        period_us: u32::MAX,
        channels: u8::MAX,
        layout: Layout::ChannelMajor,
        values: core::iter::repeat_n(i32::MIN, MAX_BLOCK_VALUES).collect(),
    });
    let f = frame_of(&worst);
    assert!(f.len() <= MAX_FRAME, "{} bytes", f.len());
    assert_eq!(
        f.iter().filter(|&&b| b == 0).count(),
        1,
        "one delimiter, at the end"
    );
    assert_eq!(*f.last().expect("nonempty"), 0);
}

#[test]
fn every_single_byte_corruption_costs_at_most_one_frame() {
    let frames: Vec<FromShield> = (0..3).map(|s| block(s, 60)).collect();
    let stream: Vec<u8> = frames.iter().flat_map(frame_of).collect();
    let middle_start = frame_of(&frames[0]).len();
    let middle_end = middle_start + frame_of(&frames[1]).len();
    for at in middle_start..middle_end {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut bad = stream.clone();
            bad[at] ^= flip;
            let (got, stats) = decode_all(&bad, 7);
            // Frames 0 and 2 always survive; frame 1 is lost or (delimiter hit) recovered.
            assert!(got.contains(&frames[0]), "byte {at} ^ {flip:#x}");
            assert!(got.contains(&frames[2]), "byte {at} ^ {flip:#x}");
            assert!(
                got.len() >= 2 && got.len() <= 3,
                "byte {at}: {} frames",
                got.len()
            );
            if got.len() == 2 {
                assert!(stats.bad_frames >= 1, "the loss is counted");
                assert!(stats.bytes_discarded > 0);
            }
            for m in &got {
                assert!(frames.contains(m), "a corrupted frame was accepted");
            }
        }
    }
}

#[test]
fn a_corrupted_delimiter_loses_nothing() {
    let a = frame_of(&block(1, 40));
    let b = frame_of(&block(2, 40));
    let mut glued = a.clone();
    *glued.last_mut().expect("delimiter") = 0x5A;
    glued.extend_from_slice(&b);
    let (got, stats) = decode_all(&glued, 64);
    assert_eq!(got, vec![block(1, 40), block(2, 40)]);
    assert_eq!(stats.recovered, 2);
    assert_eq!(stats.bad_frames, 0);
}

#[test]
fn a_corrupted_delimiter_between_two_full_blocks_loses_nothing_with_room_for_two() {
    // Supply currents in µA: 3-4 byte varints, so one block is ~700 bytes.
    let full = |seq: u32| {
        FromShield::Samples(SampleBlock {
            seq,
            t_us: u64::from(seq) * 180_000,
            period_us: 1000,
            channels: 2,
            layout: Layout::Interleaved,
            values: (0..MAX_BLOCK_VALUES as i32)
                .map(|i| 1_000_000 + i * 997)
                .collect(),
        })
    };
    let a = frame_of(&full(1));
    let b = frame_of(&full(2));
    let mut glued = a.clone();
    *glued.last_mut().expect("delimiter") = 0x5A;
    glued.extend_from_slice(&b);
    assert!(glued.len() > MAX_FRAME, "the pair is longer than one frame");

    let mut d = GluedDecoder::new();
    let mut got = Vec::new();
    d.feed::<FromShield>(&glued, |m| got.push(m));
    assert_eq!(got, vec![full(1), full(2)]);
    assert_eq!(d.stats().recovered, 2);

    // A one-frame decoder (the firmware's) drops the pair, and says so.
    let mut small = Decoder::new();
    let mut got = Vec::new();
    small.feed::<FromShield>(&glued, |m| got.push(m));
    assert!(got.is_empty());
    assert_eq!(small.stats().oversize, 1);
}

#[test]
fn truncation_at_every_byte_is_rejected_and_the_next_frame_survives() {
    let a = frame_of(&block(1, 30));
    let b = frame_of(&block(2, 30));
    for cut in 1..a.len() - 1 {
        let mut stream = a[..cut].to_vec();
        stream.push(0); // the line went quiet, then a delimiter
        stream.extend_from_slice(&b);
        let (got, stats) = decode_all(&stream, 5);
        assert_eq!(got, vec![block(2, 30)], "cut at {cut}");
        assert_eq!(stats.bad_frames, 1, "cut at {cut}");
        assert_eq!(stats.bytes_discarded, cut as u64 + 1);
    }
}

#[test]
fn garbage_without_delimiters_is_dropped_as_oversize() {
    let mut stream = vec![0xAB; 5000];
    stream.push(0);
    stream.extend_from_slice(&frame_of(&block(9, 10)));
    let (got, stats) = decode_all(&stream, 333);
    assert_eq!(got, vec![block(9, 10)]);
    assert_eq!(stats.oversize, 1);
    assert_eq!(stats.bytes_discarded, 5000);
}

fn arb_message() -> impl Strategy<Value = FromShield> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u64>(),
            1u32..1_000_000,
            1u8..16,
            prop::collection::vec(any::<i32>(), 0..MAX_BLOCK_VALUES),
            any::<bool>()
        )
            .prop_map(
                |(seq, t_us, period_us, channels, values, cm)| FromShield::Samples(SampleBlock {
                    seq,
                    t_us,
                    period_us,
                    channels,
                    layout: if cm {
                        Layout::ChannelMajor
                    } else {
                        Layout::Interleaved
                    },
                    values: values.into_iter().collect(),
                })
            ),
        (
            any::<u64>(),
            any::<bool>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<bool>(),
            any::<u32>()
        )
            .prop_map(
                |(
                    uptime_ms,
                    streaming,
                    frames_dropped,
                    buffer_high_water,
                    buffer_capacity,
                    watchdog_stopped,
                    next_seq,
                )| {
                    FromShield::Status(Status {
                        uptime_ms,
                        streaming,
                        frames_dropped,
                        buffer_high_water,
                        buffer_capacity,
                        watchdog_stopped,
                        next_seq,
                    })
                }
            ),
        (any::<u16>(), "[ -~]{0,24}", "[ -~]{0,24}").prop_map(|(id, fw, board)| {
            FromShield::Reply {
                id,
                reply: Reply::Hello(Hello {
                    protocol: VERSION,
                    firmware: heapless::String::try_from(fw.as_str()).expect("fits"),
                    board: heapless::String::try_from(board.as_str()).expect("fits"),
                    serial: heapless::String::new(),
                }),
            }
        }),
        (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(id, channel, detector)| {
            FromShield::Reply {
                id,
                reply: Reply::Nack(ShieldError::UnknownDetector { channel, detector }),
            }
        }),
    ]
}

fn arb_request() -> impl Strategy<Value = Request> {
    let channel =
        (any::<u8>(), any::<u32>(), any::<i32>()).prop_map(|(detector, center_khz, centi_db)| {
            ChannelConfig {
                detector,
                center_khz,
                calibration: Calibration::RssiOffset { centi_db },
            }
        });
    (
        any::<u16>(),
        prop_oneof![
            Just(Command::Start),
            Just(Command::Stop),
            Just(Command::Heartbeat),
            Just(Command::GetInfo),
            Just(Command::SelfTest),
            Just(Command::Hello { host: VERSION }),
            (
                any::<u32>(),
                prop::collection::vec(channel, 0..MAX_CHANNELS),
                any::<u32>()
            )
                .prop_map(|(rate, chans, wd)| {
                    Command::Configure(Config {
                        sample_rate_hz: rate,
                        channels: chans.into_iter().collect(),
                        layout: Layout::Interleaved,
                        watchdog_ms: wd,
                    })
                }),
        ],
    )
        .prop_map(|(id, command)| Request { id, command })
}

proptest! {
    #[test]
    fn shield_messages_round_trip_in_any_chunking(msgs in prop::collection::vec(arb_message(), 1..8), chunk in 1usize..200) {
        let stream: Vec<u8> = msgs.iter().flat_map(frame_of).collect();
        let (got, stats) = decode_all(&stream, chunk);
        prop_assert_eq!(got, msgs);
        prop_assert_eq!(stats.bad_frames, 0);
    }

    #[test]
    fn requests_round_trip(req in arb_request()) {
        let mut out = [0u8; MAX_FRAME];
        let n = encode(&req, &mut out).expect("fits");
        let mut d = Decoder::new();
        let mut got = Vec::new();
        d.feed::<Request>(&out[..n], |m| got.push(m));
        prop_assert_eq!(got, vec![req]);
    }

    #[test]
    fn garbage_between_frames_never_hides_a_frame(garbage in prop::collection::vec(any::<u8>(), 0..300), seq in any::<u32>()) {
        let mut stream = frame_of(&block(seq, 20));
        stream.extend_from_slice(&garbage);
        stream.push(0);
        stream.extend_from_slice(&frame_of(&block(seq.wrapping_add(1), 20)));
        let (got, _) = decode_all(&stream, 13);
        prop_assert_eq!(got.first(), Some(&block(seq, 20)));
        prop_assert_eq!(got.last(), Some(&block(seq.wrapping_add(1), 20)));
    }

    #[test]
    fn the_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..4000), chunk in 1usize..100) {
        let _ = decode_all(&bytes, chunk);
    }
}
