//! The uhubctl backend against the fake `uhubctl` (tests/fakes/uhubctl), which
//! follows the real program's command line and output. Every check looks at
//! the fake's state file (the hub), not at what the backend believes.
//!
//! Each test gets its own wrapper script that sets the fake's environment and
//! runs it, so tests run in parallel without touching this process's env.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bench_testkit::FakeUhubctl;
use bench_testkit::uhubctl::fake_uhubctl_script;

use benchctl::hw::uhubctl::UhubctlHub;
use benchctl::hw::{CheckLevel, Reading, UsbHub};

/// A fake uhubctl with a backend constructor.
struct Lab(FakeUhubctl);

impl Lab {
    fn new(hubs: &str, extra_env: &[(&str, &str)]) -> Lab {
        Lab(FakeUhubctl::new(hubs, extra_env).expect("fake uhubctl"))
    }

    fn hub(&self, location: &str, ports: u8, vbus_verified: bool) -> UhubctlHub {
        UhubctlHub::new("hub", &self.0.program(), location, ports, vbus_verified)
    }

    fn port_state(&self, location: &str, port: u8) -> String {
        self.0.port_state(location, port)
    }

    fn calls(&self) -> Vec<String> {
        self.0.calls()
    }
}

#[test]
fn fake_is_executable() {
    let mode = fs::metadata(fake_uhubctl_script())
        .expect("tests/fakes/uhubctl")
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "tests/fakes/uhubctl must be executable");
}

#[test]
fn switching_a_port_changes_the_hub() {
    let lab = Lab::new("1-1:4:ppps", &[]);
    let mut hub = lab.hub("1-1", 4, true);

    hub.set_port(2, false).expect("switch the port");
    assert_eq!(lab.port_state("1-1", 2), "off");
    assert_eq!(lab.port_state("1-1", 1), "on", "only port 2 switches");
    assert_eq!(
        hub.get_port(2).expect("read the port"),
        Reading::Read(false)
    );
    assert_eq!(hub.get_port(1).expect("read the port"), Reading::Read(true));

    hub.set_port(2, true).expect("switch the port");
    assert_eq!(lab.port_state("1-1", 2), "on");
    assert_eq!(hub.get_port(2).expect("read the port"), Reading::Read(true));

    // Switching to the state it is in already is fine.
    hub.set_port(2, true).expect("switch the port");
    assert_eq!(lab.port_state("1-1", 2), "on");

    let calls = lab.calls();
    assert!(
        calls.iter().any(|c| c.contains("-l 1-1 -p 2 -a off")),
        "{calls:?}"
    );
    assert!(
        calls.iter().all(|c| !c.contains("-e")),
        "never -e: {calls:?}"
    );
}

#[test]
fn usb3_hub_switches_both_halves() {
    let lab = Lab::new("1-1:4:ppps:2:2-1 2-1:4:ppps:3:1-1", &[]);
    let mut hub = lab.hub("2-1", 4, true);
    hub.set_port(3, false).expect("switch the port");
    assert_eq!(lab.port_state("2-1", 3), "off");
    assert_eq!(
        lab.port_state("1-1", 3),
        "off",
        "the USB2 half goes off too"
    );
    assert_eq!(
        hub.get_port(3).expect("read the port"),
        Reading::Read(false)
    );
    hub.set_port(3, true).expect("switch the port");
    assert_eq!(lab.port_state("2-1", 3), "on");
    assert_eq!(lab.port_state("1-1", 3), "on");
}

#[test]
fn a_port_that_does_not_switch_is_an_error() {
    let lab = Lab::new("1-1:4:ppps", &[("FAKE_UHUBCTL_STUCK", "1-1:2")]);
    let mut hub = lab.hub("1-1", 4, true);
    let err = hub.set_port(2, false).expect_err("must fail");
    assert!(err.what.contains("port 2 is still on"), "{err}");
    assert_eq!(lab.port_state("1-1", 2), "on");
    assert_eq!(hub.get_port(2).expect("read the port"), Reading::Read(true));
}

#[test]
fn unknown_location_is_a_clear_error() {
    let lab = Lab::new("1-1:4:ppps", &[]);
    let mut hub = lab.hub("9-9", 4, true);
    let err = hub.set_port(1, false).expect_err("must fail");
    assert!(err.device.contains("9-9"), "{err}");
    assert!(err.what.contains("no hub"), "{err}");
    assert!(
        err.what
            .contains("No compatible devices detected at location 9-9"),
        "uhubctl's own words: {err}"
    );
    assert!(
        err.fix
            .as_deref()
            .is_some_and(|f| f.contains("sudo uhubctl")),
        "{err}"
    );
    assert!(hub.get_port(1).is_err());
    assert_eq!(lab.port_state("1-1", 1), "on");
}

#[test]
fn missing_program_says_how_to_install() {
    let mut hub = UhubctlHub::new("hub", Path::new("/nonexistent/uhubctl"), "1-1", 4, true);
    let err = hub.set_port(1, true).expect_err("must fail");
    assert!(err.what.contains("not found"), "{err}");
    assert!(
        err.fix
            .as_deref()
            .is_some_and(|f| f.contains("sudo apt install uhubctl") && f.contains("`program`")),
        "{err}"
    );
    let checks = hub.probe();
    assert!(checks.iter().any(|c| {
        c.level == CheckLevel::Fail
            && c.fix
                .as_deref()
                .is_some_and(|f| f.contains("sudo apt install uhubctl"))
    }));
}

#[test]
fn no_usb_permission_names_udev() {
    let lab = Lab::new("1-1:4:ppps", &[("FAKE_UHUBCTL_NO_ACCESS", "1")]);
    let mut hub = lab.hub("1-1", 4, true);
    let err = hub.set_port(1, false).expect_err("must fail");
    assert!(err.what.contains("no access"), "{err}");
    assert!(
        err.fix
            .as_deref()
            .is_some_and(|f| f.contains("udev") && f.contains("root")),
        "{err}"
    );
    let checks = hub.probe();
    assert!(checks.iter().any(
        |c| c.level == CheckLevel::Fail && c.fix.as_deref().is_some_and(|f| f.contains("udev"))
    ));
}

#[test]
fn probe_warns_until_vbus_is_verified_and_switches_nothing() {
    let lab = Lab::new("1-1:4:ppps", &[]);
    let mut hub = lab.hub("1-1", 4, false);
    let checks = hub.probe();
    assert!(
        checks
            .iter()
            .any(|c| c.level == CheckLevel::Ok && c.message.contains("VIA Labs")),
        "{checks:?}"
    );
    let warn = checks
        .iter()
        .find(|c| c.level == CheckLevel::Warn)
        .expect("a warning");
    assert!(
        warn.message
            .contains("cannot confirm that this hub really cuts VBUS"),
        "{warn:?}"
    );
    assert!(warn.message.contains("vbus_verified = true"), "{warn:?}");
    assert!(
        checks.iter().all(|c| c.level != CheckLevel::Fail),
        "{checks:?}"
    );

    let mut verified = lab.hub("1-1", 4, true);
    let checks = verified.probe();
    assert!(
        checks.iter().all(|c| c.level == CheckLevel::Ok),
        "{checks:?}"
    );

    let calls = lab.calls();
    assert!(!calls.is_empty());
    assert!(
        calls.iter().all(|c| !c.contains("-a")),
        "probe switched: {calls:?}"
    );
    for p in 1..=4 {
        assert_eq!(lab.port_state("1-1", p), "on");
    }
}

#[test]
fn probe_fails_on_a_ganged_hub() {
    let lab = Lab::new("3-4:4:ganged", &[]);
    let mut hub = lab.hub("3-4", 4, true);
    let checks = hub.probe();
    let fail = checks
        .iter()
        .find(|c| c.level == CheckLevel::Fail)
        .unwrap_or_else(|| panic!("no failure in {checks:?}"));
    assert!(fail.message.contains("ganged"), "{fail:?}");
    assert!(
        fail.fix.as_deref().is_some_and(|f| f.contains("ppps")),
        "{fail:?}"
    );
    assert!(lab.calls().iter().all(|c| !c.contains("-a")));

    // And switching it fails: uhubctl does not offer it without -f.
    assert!(hub.set_port(1, false).is_err());
    assert_eq!(lab.port_state("3-4", 1), "on");
}

#[test]
fn probe_fails_on_a_missing_hub_and_too_few_ports() {
    let lab = Lab::new("1-1:4:ppps", &[]);
    let checks = lab.hub("5-1", 4, true).probe();
    assert!(
        checks
            .iter()
            .any(|c| c.level == CheckLevel::Fail && c.message.contains("no hub at location 5-1")),
        "{checks:?}"
    );
    let checks = lab.hub("1-1", 7, true).probe();
    assert!(
        checks
            .iter()
            .any(|c| c.level == CheckLevel::Fail && c.message.contains("has 4")),
        "{checks:?}"
    );
}

#[test]
fn ports_outside_the_hub_are_refused() {
    let lab = Lab::new("1-1:4:ppps", &[]);
    let mut hub = lab.hub("1-1", 4, true);
    assert!(hub.set_port(0, true).is_err());
    assert!(hub.set_port(5, true).is_err());
    assert!(lab.calls().is_empty(), "refused before running uhubctl");
}
