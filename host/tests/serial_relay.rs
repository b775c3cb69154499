//! The serial-relay backend against an emulated LCUS module on a real pty.
//! What the module did is read from the emulator, never from the driver.
#![cfg(unix)]

use std::time::{Duration, Instant};

use bench_testkit::LcusEmulator;
use benchctl::config::SerialPortSpec;
use benchctl::hw::serial_relay::{INTER_FRAME_GAP, SerialRelayBoard};
use benchctl::hw::{CheckLevel, Reading, RelayBoard};

/// Generous: only reached when a test is failing.
const WAIT: Duration = Duration::from_secs(5);

fn open(emu: &LcusEmulator) -> SerialRelayBoard {
    let path = emu.path().to_string_lossy().into_owned();
    SerialRelayBoard::open("relays", &SerialPortSpec::Path(path), 9600, emu.channels())
        .expect("open the emulated module")
}

#[test]
fn switching_channels_sends_the_sheet_frames_and_moves_the_relays() {
    let emu = LcusEmulator::start(4).expect("start the emulator");
    let mut board = open(&emu);

    let mut expected_relays = vec![false; 4];
    let mut sent = 0;
    for on in [true, false] {
        for channel in 1..=4u8 {
            board.set(channel, on).expect("switch");
            sent += 1;
            assert!(
                emu.wait_for_frames(sent, WAIT),
                "frame {sent} never arrived"
            );
            expected_relays[usize::from(channel - 1)] = on;
            assert_eq!(
                emu.relays(),
                expected_relays,
                "after channel {channel} {on}"
            );
        }
    }

    // Written out by hand from the protocol sheet, not computed with `frame`.
    #[rustfmt::skip]
    let expected: [u8; 32] = [
        0xA0, 0x01, 0x01, 0xA2,  0xA0, 0x02, 0x01, 0xA3,
        0xA0, 0x03, 0x01, 0xA4,  0xA0, 0x04, 0x01, 0xA5,
        0xA0, 0x01, 0x00, 0xA1,  0xA0, 0x02, 0x00, 0xA2,
        0xA0, 0x03, 0x00, 0xA3,  0xA0, 0x04, 0x00, 0xA4,
    ];
    assert_eq!(emu.received(), expected);
    assert_eq!(emu.rejected(), 0);
}

#[test]
fn switching_a_relay_to_its_state_again_still_sends_the_frame() {
    // The module cannot be asked, so benchctl must not skip a frame because it
    // believes the relay is already there.
    let emu = LcusEmulator::start(2).expect("start the emulator");
    let mut board = open(&emu);
    board.set(2, true).expect("switch");
    board.set(2, true).expect("switch again");
    assert!(emu.wait_for_frames(2, WAIT));
    assert_eq!(
        emu.received(),
        [0xA0, 0x02, 0x01, 0xA3, 0xA0, 0x02, 0x01, 0xA3]
    );
    assert_eq!(emu.relays(), [false, true]);
}

#[test]
fn a_channel_out_of_range_sends_nothing() {
    let emu = LcusEmulator::start(4).expect("start the emulator");
    let mut board = open(&emu);

    for channel in [0, 5, 255] {
        let err = board.set(channel, true).expect_err("no such channel");
        assert!(err.what.contains(&format!("no channel {channel}")), "{err}");
        assert!(err.what.contains("1 to 4"), "{err}");
        assert!(board.get(channel).is_err());
    }

    // A valid frame after the refused ones: once it is in, anything sent
    // before it is too.
    board.set(1, true).expect("switch");
    assert!(emu.wait_for_frames(1, WAIT));
    assert_eq!(emu.received(), [0xA0, 0x01, 0x01, 0xA2]);
    assert_eq!(emu.rejected(), 0);
}

#[test]
fn get_reports_unknown_because_the_module_only_listens() {
    let emu = LcusEmulator::start(1).expect("start the emulator");
    let mut board = open(&emu);
    board.set(1, true).expect("switch");
    assert_eq!(board.get(1).expect("get"), Reading::Unknown);
    assert!(emu.wait_for_frames(1, WAIT));
    // Asking sent nothing.
    assert_eq!(emu.received(), [0xA0, 0x01, 0x01, 0xA2]);
}

#[test]
fn frames_in_a_burst_keep_the_gap_real_boards_need() {
    let emu = LcusEmulator::start(4).expect("start the emulator");
    let mut board = open(&emu);
    let started = Instant::now();
    for channel in 1..=4 {
        board.set(channel, true).expect("switch");
    }
    // Four frames, three gaps. `set` returns once its frame is written, so
    // this is a lower bound that does not depend on the machine's speed.
    assert!(
        started.elapsed() >= INTER_FRAME_GAP * 3,
        "{:?}",
        started.elapsed()
    );
    assert!(emu.wait_for_frames(4, WAIT));
    assert_eq!(emu.relays(), [true; 4]);
}

#[test]
fn probe_reports_the_port_and_the_unknown_state_without_switching() {
    let emu = LcusEmulator::start(4).expect("start the emulator");
    let mut board = open(&emu);
    let path = emu.path().to_string_lossy().into_owned();

    let checks = board.probe();
    let ok: Vec<_> = checks
        .iter()
        .filter(|c| c.level == CheckLevel::Ok)
        .collect();
    assert!(
        ok.iter()
            .any(|c| c.message.contains(&path) && c.message.contains("9600 baud")),
        "{checks:#?}"
    );
    let warn = checks
        .iter()
        .find(|c| c.level == CheckLevel::Warn)
        .expect("a warning about the relay state");
    assert!(warn.message.contains("last state it set"), "{warn:?}");
    assert!(warn.fix.is_some());
    assert!(
        checks.iter().all(|c| c.level != CheckLevel::Fail),
        "{checks:#?}"
    );

    board.set(3, true).expect("switch");
    assert!(emu.wait_for_frames(1, WAIT));
    assert_eq!(
        emu.received(),
        [0xA0, 0x03, 0x01, 0xA4],
        "probe switched something"
    );
}

#[test]
fn a_missing_path_names_the_path_and_the_fix() {
    let path = "/dev/ttyUSB-benchctl-test-missing";
    let err = SerialRelayBoard::open("relays", &SerialPortSpec::Path(path.into()), 9600, 4)
        .expect_err("no such device");
    assert!(err.device.contains("relays"), "{err}");
    assert!(err.what.contains(path), "{err}");
    let fix = err.fix.as_deref().expect("a fix");
    assert!(
        fix.contains("plugged in") && fix.contains("benchctl doctor"),
        "{fix}"
    );
}

#[test]
fn a_port_held_by_another_program_says_so() {
    let emu = LcusEmulator::start(1).expect("start the emulator");
    let _first = open(&emu);
    let path = emu.path().to_string_lossy().into_owned();
    let err = SerialRelayBoard::open("relays", &SerialPortSpec::Path(path.clone()), 9600, 1)
        .expect_err("the port is taken");
    assert!(err.what.contains("in use"), "{err}");
    assert!(
        err.fix
            .as_deref()
            .is_some_and(|f| f.contains(&format!("fuser -v {path}"))),
        "{err}"
    );
}

#[test]
fn usb_matching_with_no_such_device_is_a_clear_error() {
    // No real device has this VID:PID:serial.
    let spec = SerialPortSpec::Usb {
        vid: 0xdead,
        pid: 0xbeef,
        serial: Some("benchctl-test".into()),
    };
    let err = SerialRelayBoard::open("relays", &spec, 9600, 4).expect_err("no such device");
    assert!(
        err.device.contains("usb dead:beef serial benchctl-test"),
        "{err}"
    );
    assert!(
        err.what.contains("no USB serial port matches") || err.what.contains("cannot list"),
        "{err}"
    );
    assert!(err.fix.is_some(), "{err}");
}
