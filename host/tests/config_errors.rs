//! Golden messages for broken bench files: each case is a bench file and the
//! exact text a lab engineer sees (`file:line:col: what` and the help line).

use std::path::Path;

fn errors(text: &str) -> String {
    match benchctl::config::parse(Path::new("bench.toml"), text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const HEADER: &str = "[bench]\nname = \"lab\"\n\n[relays.relays]\nkind = \"sim\"\nchannels = 4\n\n[hubs.hub]\nkind = \"sim\"\nports = 4\n\n[links.link-a]\nkind = \"sim\"\n\n";

fn with_header(rest: &str) -> String {
    format!("{HEADER}{rest}")
}

#[test]
fn the_default_bench_is_valid() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench.toml"))
        .expect("bench.toml");
    let c = benchctl::config::parse(Path::new("bench.toml"), &text).expect("valid");
    assert_eq!(c.name, "sim-lab");
    assert_eq!(c.duts.len(), 2);
}

#[test]
fn relay_channel_out_of_range() {
    // Line 17, the `7` at column 39.
    let text =
        with_header("[duts.phone-a]\nmodel = \"x\"\npower = { relay = \"relays\", channel = 7 }\n");
    assert_eq!(
        errors(&text),
        "bench.toml:17:39: relay channel 7 does not exist on board \"relays\" (channels 1-4)"
    );
}

#[test]
fn unknown_key_suggests_the_right_one() {
    assert_eq!(
        errors("[bench]\nname = \"lab\"\n\n[relays.r]\nkind = \"sim\"\nchanels = 4\n"),
        "bench.toml:6:1: unknown key `chanels`\n  help: did you mean `channels`? (valid: `kind`, `channels`, `pins`, `active_low`, `chip`, `lines`, `port`, `usb`, `baud`, `fail_after`)"
    );
}

#[test]
fn unknown_kind_suggests_the_right_one() {
    assert_eq!(
        errors("[bench]\nname = \"lab\"\n\n[relays.r]\nkind = \"serial_relay\"\nchannels = 4\n"),
        "bench.toml:5:8: unknown value `serial_relay`\n  help: did you mean `serial-relay`? (valid: `sim`, `rppal-gpio`, `gpiocdev`, `serial-relay`)"
    );
}

#[test]
fn unknown_board_suggests_a_declared_one() {
    let text =
        with_header("[duts.phone-a]\nmodel = \"x\"\npower = { relay = \"relay\", channel = 1 }\n");
    assert_eq!(
        errors(&text),
        "bench.toml:17:19: no relay board named \"relay\" in this bench\n  help: did you mean \"relays\"?"
    );
}

#[test]
fn two_duts_on_one_channel() {
    let text = with_header(
        "[duts.phone-a]\nmodel = \"x\"\npower = { relay = \"relays\", channel = 2 }\n\n\
         [duts.phone-b]\nmodel = \"x\"\npower = { relay = \"relays\", channel = 2 }\n",
    );
    assert_eq!(
        errors(&text),
        "bench.toml:21:9: relay channel 2 on board \"relays\" already feeds DUT \"phone-a\"\n  help: each DUT needs its own relay channel, or power-cycling one would cut the other"
    );
}

#[test]
fn two_duts_on_one_port_and_one_link() {
    let text = with_header(
        "[duts.a]\nmodel = \"x\"\nusb = { hub = \"hub\", port = 3 }\nlink = \"link-a\"\n\n\
         [duts.b]\nmodel = \"x\"\nusb = { hub = \"hub\", port = 3 }\nlink = \"link-a\"\n",
    );
    let e = errors(&text);
    assert!(
        e.contains("bench.toml:22:7: USB port 3 on hub \"hub\" already carries DUT \"a\""),
        "{e}"
    );
    assert!(
        e.contains("bench.toml:23:8: link \"link-a\" already carries DUT \"a\""),
        "{e}"
    );
}

#[test]
fn hub_port_out_of_range() {
    let text = with_header("[duts.a]\nmodel = \"x\"\nusb = { hub = \"hub\", port = 0 }\n");
    assert_eq!(
        errors(&text),
        "bench.toml:17:29: USB port 0 does not exist on hub \"hub\" (ports 1-4)"
    );
}

#[test]
fn bad_duration() {
    let text = with_header("[duts.a]\nmodel = \"x\"\npower_cycle_off = \"3\"\n");
    assert_eq!(
        errors(&text),
        "bench.toml:17:19: power_cycle_off: `3` has no unit; write `3s` for seconds (units: ms, s, m, h)"
    );
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = with_header(
        "[duts.a]\nmodel = \"x\"\npower = { relay = \"relays\", channel = 9 }\nlink = \"nope\"\npower_cycle_off = \"5 minutes\"\n",
    );
    let e = errors(&text);
    let lines: Vec<&str> = e.lines().filter(|l| l.starts_with("bench.toml:")).collect();
    assert_eq!(lines.len(), 3, "{e}");
    assert!(lines[0].starts_with("bench.toml:17:"), "{e}");
    assert!(lines[1].starts_with("bench.toml:18:"), "{e}");
    assert!(lines[2].starts_with("bench.toml:19:"), "{e}");
}

#[test]
fn backend_keys_must_match_the_kind() {
    assert_eq!(
        errors(
            "[bench]\nname = \"lab\"\n\n[relays.r]\nkind = \"sim\"\nchannels = 4\nport = \"/dev/ttyUSB0\"\n"
        ),
        "bench.toml:7:8: `port` does not apply to kind \"sim\"\n  help: `port` is read by kind \"serial-relay\"; remove it or change `kind`"
    );
}

#[test]
fn gpio_pins_must_exist_and_match_channels() {
    let e = errors(
        "[bench]\nname = \"lab\"\n\n[relays.hat]\nkind = \"rppal-gpio\"\nchannels = 4\npins = [5, 6, 40]\n",
    );
    assert!(
        e.contains("bench.toml:7:15: GPIO 40 does not exist on the 40-pin header\n  help: use BCM numbers 0-27"),
        "{e}"
    );
    assert!(
        e.contains("bench.toml:7:8: 3 pins listed for 4 channels"),
        "{e}"
    );
}

#[test]
fn serial_relay_needs_a_port_and_a_sane_usb_id() {
    let e =
        errors("[bench]\nname = \"lab\"\n\n[relays.lcus]\nkind = \"serial-relay\"\nchannels = 4\n");
    assert!(
        e.contains("bench.toml:4:9: kind \"serial-relay\" needs `port` or `usb`"),
        "{e}"
    );
    let e = errors(
        "[bench]\nname = \"lab\"\n\n[relays.lcus]\nkind = \"serial-relay\"\nchannels = 4\nusb = { vid = \"1a86\", pid = \"75\" }\n",
    );
    assert!(
        e.contains("bench.toml:7:29: USB pid \"75\" is not four hex digits"),
        "{e}"
    );
    let e = errors(
        "[bench]\nname = \"lab\"\n\n[relays.lcus]\nkind = \"serial-relay\"\nchannels = 16\nport = \"/dev/ttyUSB0\"\n",
    );
    assert!(
        e.contains("bench.toml:6:12: LCUS serial relay modules have at most 8 channels, not 16"),
        "{e}"
    );
}

#[test]
fn uhubctl_location_is_checked() {
    let e = errors(
        "[bench]\nname = \"lab\"\n\n[hubs.h]\nkind = \"uhubctl\"\nports = 4\nlocation = \"usb1\"\n",
    );
    assert!(
        e.contains("bench.toml:7:12: \"usb1\" is not a USB hub location\n  help: run `uhubctl`"),
        "{e}"
    );
}

#[test]
fn syntax_errors_have_a_place_too() {
    assert_eq!(
        errors("[bench]\nname = \"lab\"\n[relays.r]\nkind = \"sim\"\nchannels = [4\n"),
        "bench.toml:5:14: unclosed array, expected `]`"
    );
}

#[test]
fn a_dut_called_all_is_refused() {
    let text = with_header("[duts.all]\nmodel = \"x\"\n");
    assert_eq!(
        errors(&text),
        "bench.toml:15:7: a DUT cannot be called \"all\": the CLI uses that word for every DUT"
    );
}

#[test]
fn missing_file_says_how_to_point_at_one() {
    let e = benchctl::config::load(Path::new("/nonexistent/bench.toml"))
        .expect_err("missing")
        .to_string();
    assert!(
        e.starts_with("/nonexistent/bench.toml: cannot read bench file"),
        "{e}"
    );
    assert!(e.contains("--bench PATH, set BENCHCTL_BENCH"), "{e}");
}

#[test]
fn the_example_benches_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/benches");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/benches") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            benchctl::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "expected the example benches in {}",
        dir.display()
    );
}

const SHIELD_BENCH: &str = "[bench]\nname = \"lab\"\n\n[duts.phone-a]\nmodel = \"x\"\n\n[shield]\nkind = \"sim\"\n\n[shield.channels]\n";

#[test]
fn shield_channel_problems_are_placed() {
    let e = errors(&format!(
        "{SHIELD_BENCH}a = {{ dut = \"phone-c\", detector = 0, frequency = \"868MHz\" }}\nb = {{ detector = 300, frequency = \"868MHz\" }}\nc = {{ detector = 0 }}\nd = {{ detector = 0, frequency = \"868\" }}\ne = {{ detector = 8, quantity = \"current\", frequency = \"1MHz\" }}\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines[0],
        "bench.toml:11:13: no DUT named \"phone-c\" in this bench"
    );
    assert_eq!(lines[1], "  help: did you mean \"phone-a\"?");
    assert_eq!(
        lines[2],
        "bench.toml:12:18: detector 300 does not exist (0-255, as `benchctl shield info` lists them)"
    );
    assert_eq!(
        lines[3],
        "bench.toml:13:1: shield channel \"c\" needs a `frequency`"
    );
    assert_eq!(
        lines[5],
        "bench.toml:14:33: frequency: `868` has no unit; write e.g. `868MHz`, `2.437GHz`, `433920kHz`"
    );
    assert_eq!(
        lines[6],
        "bench.toml:15:55: a current channel has no frequency; remove `frequency`"
    );
}

#[test]
fn shield_calibration_must_fit() {
    let e = errors(&format!(
        "{SHIELD_BENCH}a = {{ detector = 0, frequency = \"868MHz\", calibration = {{ shunt_mohm = 100, max_current_a = 2 }} }}\n"
    ));
    assert!(
        e.starts_with("bench.toml:11:57: this calibration does not fit the channel's quantity"),
        "{e}"
    );
    let e = errors(&format!(
        "{SHIELD_BENCH}a = {{ detector = 0, frequency = \"868MHz\", calibration = {{ rssi_offset_db = 74, shunt_mohm = 1 }} }}\n"
    ));
    assert!(e.contains("calibration must be one of three shapes"), "{e}");
}

#[test]
fn a_serial_shield_needs_a_port() {
    let e = errors(
        "[bench]\nname = \"lab\"\n\n[shield]\nkind = \"serial\"\n\n[shield.channels]\na = { detector = 0, frequency = \"868MHz\" }\n",
    );
    assert!(
        e.contains("bench.toml:4:1: kind \"serial\" needs `port` or `usb`\n  help: add `port = \"/dev/ttyACM0\"`"),
        "{e}"
    );
}

#[test]
fn sim_phone_implants_and_shield_bands_are_checked() {
    let e = errors(&with_header(concat!(
        "[duts.phone-a]\nmodel = \"x\"\n",
        "[duts.phone-a.device]\nkind = \"sim\"\nseed = -1\n",
        "implants = [\n",
        "  { kind = \"beakon\" },\n",
        "  { kind = \"airplane-tx\", cout = 3 },\n",
        "  { kind = \"timing-channel\", levels_ms = [10, 20, 30] },\n",
        "]\n",
        "[shield]\nkind = \"sim\"\nroom_interference = \"loud\"\n",
        "[shield.channels]\n",
        "a = { dut = \"phone-a\", detector = 0, frequency = \"868MHz\", bandwidth = \"2000MHz\" }\n",
        "b = { dut = \"phone-a\", detector = 8, quantity = \"current\", bandwidth = \"1MHz\" }\n",
    )));
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines[0],
        "bench.toml:19:8: seed must be a whole number from 0 up"
    );
    assert_eq!(lines[1], "bench.toml:21:3: implant: unknown value `beakon`");
    assert_eq!(
        lines[2],
        "  help: did you mean `beacon`? (valid: `airplane-tx`, `fake-off`, `isolated-talker`, `dns-exfil`, `beacon`, `timing-channel`, `rf-timing`)"
    );
    assert_eq!(lines[3], "bench.toml:22:3: implant: unknown key `cout`");
    assert_eq!(
        lines[5],
        "bench.toml:23:3: implant timing-channel: levels_ms lists 3 gaps; a gap carries whole bits, so give 2, 4, 8 or 16"
    );
    assert!(e.contains("room_interference: "), "{e}");
    assert!(
        e.contains(
            "the band would reach below 0 Hz: bandwidth is the full width, centred on `frequency`"
        ),
        "{e}"
    );
    assert!(
        e.contains("a current channel has no bandwidth; remove `bandwidth`"),
        "{e}"
    );
}

/// `kind = "gpiocdev"`: a chip by name or path, one line offset per
/// channel; what is wrong is placed.
#[test]
fn gpiocdev_relay_boards() {
    let board = |body: &str| {
        format!("[bench]\nname = \"lab\"\n\n[relays.r]\nkind = \"gpiocdev\"\nchannels = 2\n{body}")
    };
    let c = benchctl::config::parse(
        Path::new("bench.toml"),
        &board("chip = \"gpiochip1\"\nlines = [17, 27]\n"),
    )
    .expect("valid");
    match &c.relays[0].backend {
        benchctl::config::RelayBackend::Gpiocdev {
            chip,
            lines,
            active_low,
        } => {
            assert_eq!(chip, Path::new("/dev/gpiochip1"));
            assert_eq!(lines, &[17, 27]);
            assert!(*active_low);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        errors(&board("lines = [17, 27]\n")),
        "bench.toml:4:9: kind \"gpiocdev\" needs `chip`\n  help: add e.g. `chip = \"/dev/gpiochip0\"`"
    );
    assert_eq!(
        errors(&board("chip = \"/dev/gpiochip0\"\nlines = [17, 17]\n")),
        "bench.toml:8:14: line 17 is listed twice; one line drives one relay"
    );
    assert_eq!(
        errors(&board("chip = \"/dev/gpiochip0\"\nlines = [17]\n")),
        "bench.toml:8:9: 1 lines listed for 2 channels; list one line offset per channel, channel 1 first"
    );
    assert!(
        errors(&board(
            "chip = \"/dev/gpiochip0\"\nlines = [17, 27]\npins = [5, 6]\n"
        ))
        .contains("`pins` does not apply to kind \"gpiocdev\"")
    );
}

/// A DUT with a mistake of its own is still declared: the shield channels
/// that name it are not "no DUT named" as well (one mistake, one message).
#[test]
fn a_broken_entry_is_not_also_missing() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench.toml"))
        .expect("bench.toml")
        .replace("power_cycle_off = \"3s\"", "power_cycle_off = \"3\"");
    let e = errors(&text);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("power_cycle_off: `3` has no unit"), "{e}");

    // A board with a bad value, referenced by a DUT: the board's error only.
    let text = "[bench]\nname = \"lab\"\n\n[relays.relays]\nkind = \"sim\"\nchannels = 40\n\n[duts.phone-a]\nmodel = \"x\"\npower = { relay = \"relays\", channel = 1 }\n";
    let e = errors(text);
    assert!(!e.contains("no relay board named"), "{e}");
}

/// A step shared by every DUT is checked once per DUT, but its mistake is
/// reported once.
#[test]
fn a_scenario_mistake_shared_by_every_dut_is_reported_once() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench.toml"))
        .expect("bench.toml");
    let bench = benchctl::config::parse(Path::new("bench.toml"), &text).expect("bench");
    let e = benchctl::scenario::parse(
        Path::new("s.toml"),
        "[scenario]\nname = \"s\"\nduts = [\"phone-a\", \"phone-b\"]\nsteps = [\n  { do = \"power.onn\" },\n  { wait = \"1\" },\n]\n",
        &bench,
    )
    .expect_err("two mistakes")
    .to_string();
    assert_eq!(
        e,
        "s.toml:5:10: unknown action `power.onn`\n  help: did you mean `power.on`?\ns.toml:6:12: wait: `1` has no unit; write `1s` for seconds (units: ms, s, m, h)",
    );
}

/// `isolation_db` belongs to an RF antenna inside a DUT's enclosure.
#[test]
fn isolation_is_an_enclosure_antenna_s() {
    let e = errors(&format!(
        "{SHIELD_BENCH}a = {{ detector = 0, frequency = \"868MHz\", isolation_db = 30 }}\nb = {{ dut = \"phone-a\", detector = 8, quantity = \"current\", isolation_db = 30 }}\nc = {{ dut = \"phone-a\", detector = 1, frequency = \"868MHz\", isolation_db = 500 }}\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert!(
        lines[0].ends_with("the ambient antenna is outside every enclosure: it has no isolation"),
        "{e}"
    );
    assert!(
        lines[2].ends_with(
            "isolation_db is an RF antenna's isolation from the room; remove it from this channel"
        ),
        "{e}"
    );
    assert!(
        lines[3].ends_with("isolation_db 500 is not an enclosure's isolation (0 to 120 dB)"),
        "{e}"
    );
    let ok = format!(
        "{SHIELD_BENCH}a = {{ dut = \"phone-a\", detector = 0, frequency = \"868MHz\", isolation_db = 45 }}\n"
    );
    let c = benchctl::config::parse(Path::new("bench.toml"), &ok).expect("valid");
    let shield = c.shield.expect("shield");
    assert_eq!(shield.channels[0].isolation_db, Some(45.0));
    assert_eq!(shield.channels[0].isolation(), 45.0);
}
