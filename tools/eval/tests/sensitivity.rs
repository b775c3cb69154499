//! Detection targets measured on cases of the corpus, in a lab's terms.

use std::path::Path;

/// The issue's sensitivity target as a lab would meet it: a ten-minute
/// airplane phase, in which the evaluation's hardest airplane-tx case
/// sends one 50 ms burst 10 dB above the floor, in the default bench's room
/// (interference every 20 s on average, heard by every antenna). Each such
/// phone fails for exactly that one burst. The same phone without the
/// implant passes in a busy room (every 3 s). The implanted runs do not use
/// the busy room: a room event 30 dB stronger than the burst that covers it
/// hides it from any detector (seed 13 puts its burst under one). Recorded
/// in virtual time.
#[test]
fn one_weak_burst_in_ten_minutes_of_airplane_mode_fails_and_the_room_does_not() {
    use benchctl::config::DeviceBackend;
    use benchctl::config::implant::Implant;
    use benchctl_detect::analyze::{self, Verdict};
    use benchctl_eval::corpus::{self, Class, DUT};

    const TEN_MINUTES: &str = r#"
[scenario]
name = "ten-minutes-airplane"
duts = ["phone-b"]
on_fault = "abort"
steps = [
  { phase = "boot" },
  { do = "net.isolate" },
  { do = "power.on" },
  { wait = "10s" },
  { phase = "airplane", rf = "silent", net = "none" },
  { do = "device.airplane", state = "on" },
  { wait = "600s" },
]
"#;
    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp = tmp.path();
    let room_every = |case: &mut corpus::Case, s: u64| {
        if let Some(shield) = &mut case.bench.shield {
            shield.room_interference = Some(std::time::Duration::from_secs(s));
        }
    };
    for seed in [11, 12, 13] {
        // Index 3: the class's hardest tier.
        let mut case = corpus::case(Class::AirplaneTx, 3, seed).expect("case");
        let Some(Implant::AirplaneTx(tx)) = case.implant.clone() else {
            panic!(
                "an airplane-tx case carries its implant: {:?}",
                case.implant
            )
        };
        assert_eq!((tx.count, tx.duration_ms, tx.level_dbm), (1, 50.0, -85.0));
        case.scenario =
            benchctl::scenario::parse(Path::new("ten-minutes.toml"), TEN_MINUTES, &case.bench)
                .expect("scenario");
        room_every(&mut case, 20);
        let implanted = tmp.join(format!("implanted-{seed}"));
        case.record(&implanted).expect("record");
        let findings = analyze::analyze(&implanted).expect("analyze");
        let dut = findings
            .duts
            .iter()
            .find(|d| d.dut == DUT)
            .expect("phone-b judged");
        let kinds: Vec<(&str, Option<&str>)> = dut
            .findings
            .iter()
            .map(|f| (f.kind, f.phase.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [("rf-in-silence", Some("airplane"))],
            "seed {seed}: {:#?}",
            dut.findings
        );
        assert_eq!(dut.findings[0].evidence["bursts"], 1, "seed {seed}");
        assert_eq!(findings.verdict, Verdict::Fail, "seed {seed}");

        // The same phone without the implant, in a busy room.
        room_every(&mut case, 3);
        if let Some(d) = case.bench.duts.iter_mut().find(|d| d.name == DUT)
            && let DeviceBackend::Sim(sim) = &mut d.device
        {
            sim.implants.clear();
        }
        let honest = tmp.join(format!("honest-{seed}"));
        case.record(&honest).expect("record");
        let findings = analyze::analyze(&honest).expect("analyze");
        assert_eq!(
            findings.verdict,
            Verdict::Pass,
            "seed {seed}: {:#?}",
            findings.duts
        );
    }
}
