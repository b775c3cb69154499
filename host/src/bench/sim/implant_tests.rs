//! What each implant makes a simulated phone emit: the behaviours
//! bench.toml's `implants` (`config::implant`) describe, as the phone model
//! (`phone.rs`) carries them out.

use std::net::Ipv4Addr;

use super::phone::tests::{decode_udp, run};
use super::phone::{Emissions, PhoneEvent, PhoneNet, SimPhone};
use crate::config::implant::*;

fn one(implant: Implant) -> SimPhone {
    SimPhone::new("phone-a", 7, vec![implant])
}

/// Boot at 0, running from 8 s; `events` after that.
fn scenario(implant: Implant, events: &[(f64, PhoneEvent)], until: f64) -> Emissions {
    let mut p = one(implant);
    let mut all = vec![(0.0, PhoneEvent::PowerOn)];
    all.extend_from_slice(events);
    run(&mut p, &all, until)
}

#[test]
fn airplane_tx_only_in_airplane_mode() {
    let imp = Implant::AirplaneTx(AirplaneTx::default());
    let at = |e: &Emissions| {
        e.rf.iter()
            .filter(|b| (b.duration_s - 0.005).abs() < 1e-9 && b.level_dbm == -40.0)
            .map(|b| b.start_s)
            .collect::<Vec<_>>()
    };
    let e = scenario(imp.clone(), &[(20.0, PhoneEvent::AirplaneOn)], 60.0);
    let bursts = at(&e);
    assert_eq!(bursts.len(), 3, "{bursts:?}");
    assert!(bursts.iter().all(|&t| t > 20.0));
    // Every RF burst in airplane mode is the implant's.
    assert!(
        e.rf.iter()
            .filter(|b| b.start_s > 20.0)
            .all(|b| b.center_khz == 1_747_500)
    );
    let e = scenario(imp, &[], 60.0);
    assert!(at(&e).is_empty());
}

#[test]
fn fake_off_draws_and_wakes_after_soft_off_only() {
    let imp = Implant::FakeOff(FakeOff::default());
    let e = scenario(imp.clone(), &[(20.0, PhoneEvent::SoftPowerOff)], 120.0);
    // Between wakes: its 40 mA, where a real soft-off phone draws < 5 mA.
    let quiet = e.current_at(21.0);
    assert!((0.035..0.045).contains(&quiet), "{quiet}");
    let wakes: Vec<f64> =
        e.rf.iter()
            .filter(|b| b.start_s > 20.0)
            .map(|b| b.start_s)
            .collect();
    assert!((2..=5).contains(&wakes.len()), "{wakes:?}");
    let peak = e
        .current
        .iter()
        .filter(|s| s.start_s > 20.0)
        .map(|s| s.amps)
        .fold(0.0, f64::max);
    assert!(peak > 0.25, "{peak}");
    // Not soft-off: the benign phone's numbers (no 40 mA floor when off).
    let e = scenario(imp, &[(20.0, PhoneEvent::PowerOff)], 60.0);
    assert!(e.current_at(30.0) < 0.001);
}

#[test]
fn isolated_talker_only_when_isolated() {
    let dest: Ipv4Addr = IsolatedTalker::default().dest_ip;
    let imp = Implant::IsolatedTalker(IsolatedTalker::default());
    let to_dest = |e: &Emissions| {
        e.packets
            .iter()
            .filter(|p| decode_udp(&p.frame).is_some_and(|u| u.dst == dest))
            .count()
    };
    let e = scenario(imp.clone(), &[], 60.0);
    assert!((4..=6).contains(&to_dest(&e)), "{}", to_dest(&e));
    let e = scenario(imp, &[(0.0, PhoneEvent::Network(PhoneNet::Open))], 60.0);
    assert_eq!(to_dest(&e), 0);
}

#[test]
fn dns_exfil_labels_never_repeat_and_look_random() {
    let imp = Implant::DnsExfil(DnsExfil::default());
    let e = scenario(imp.clone(), &[], 320.0);
    let names: Vec<String> = e
        .packets
        .iter()
        .filter(|p| p.outbound)
        .filter_map(|p| crate::bench::sim::phone::tests::dns_name(&p.frame))
        .filter(|n| n.ends_with(".cdn-metrics.example.net"))
        .collect();
    // Each label is asked for as A and AAAA, one after the other.
    let mut names = names;
    names.dedup();
    assert!(names.len() >= 18, "{}", names.len());
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    for n in &names {
        let label = n.split('.').next().expect("label");
        assert_eq!(label.len(), 32);
        let mut chars: Vec<char> = label.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        assert!(chars.len() > 12, "low entropy label {label}");
    }
    // Airplane from the start of running: no network, no queries.
    let e = scenario(imp, &[(0.0, PhoneEvent::AirplaneOn)], 120.0);
    assert!(e.packets.is_empty());
}

#[test]
fn beacon_intervals_follow_period_and_jitter() {
    let imp = Implant::Beacon(Beacon {
        period_s: 20.0,
        jitter: 0.1,
        ..Beacon::default()
    });
    let dest = Beacon::default().dest_ip;
    let e = scenario(
        imp.clone(),
        &[(0.0, PhoneEvent::Network(PhoneNet::Open))],
        1000.0,
    );
    let syns: Vec<f64> = e
        .packets
        .iter()
        .filter(|p| p.outbound)
        .filter_map(|p| crate::bench::sim::phone::tests::decode_tcp(&p.frame).map(|t| (p.t_s, t)))
        .filter(|(_, t)| t.dst == dest && t.flags == 0x02)
        .map(|(t, _)| t)
        .collect();
    assert!(syns.len() >= 45, "{}", syns.len());
    for w in syns.windows(2) {
        let gap = w[1] - w[0];
        assert!((18.0 - 1e-9..=22.0 + 1e-9).contains(&gap), "gap {gap}");
    }
    let mean = (syns[syns.len() - 1] - syns[0]) / (syns.len() - 1) as f64;
    assert!((19.0..21.0).contains(&mean), "{mean}");
    // Powered off: nothing.
    let e = scenario(imp, &[(1.0, PhoneEvent::PowerOff)], 200.0);
    assert!(e.packets.is_empty());
}

#[test]
fn timing_channel_gaps_carry_the_secret() {
    let tc = TimingChannel::default();
    let imp = Implant::TimingChannel(tc.clone());
    let e = scenario(
        imp,
        &[(0.0, PhoneEvent::Network(PhoneNet::Allowlist))],
        60.0,
    );
    let times: Vec<f64> = e
        .packets
        .iter()
        .filter(|p| decode_udp(&p.frame).is_some_and(|u| u.dst == tc.dest_ip && u.dport == 443))
        .map(|p| p.t_s)
        .collect();
    let bits = decode_gaps(&times, tc.short_ms, tc.long_ms);
    assert!(bits.len() >= 64, "{}", bits.len());
    let want: Vec<bool> = (0..bits.len() as u64).map(secret_bit).collect();
    assert_eq!(bits, want);
}

#[test]
fn multi_level_timing_channel_sends_two_bits_a_gap() {
    let tc = TimingChannel {
        levels_ms: vec![40.0, 80.0, 120.0, 160.0],
        jitter: 0.05,
        ..TimingChannel::default()
    };
    assert_eq!(Implant::TimingChannel(tc.clone()).problem(), None);
    let e = scenario(
        Implant::TimingChannel(tc.clone()),
        &[(0.0, PhoneEvent::Network(PhoneNet::Allowlist))],
        60.0,
    );
    let times: Vec<f64> = e
        .packets
        .iter()
        .filter(|p| decode_udp(&p.frame).is_some_and(|u| u.dst == tc.dest_ip && u.dport == 443))
        .map(|p| p.t_s)
        .collect();
    // Nearest level per gap; gaps beyond the longest level end a byte.
    let mut bits = Vec::new();
    for w in times.windows(2) {
        let ms = (w[1] - w[0]) * 1000.0;
        if ms > 200.0 {
            continue;
        }
        let symbol = (0..4)
            .min_by(|&a, &b| {
                (tc.levels_ms[a] - ms)
                    .abs()
                    .total_cmp(&(tc.levels_ms[b] - ms).abs())
            })
            .expect("levels");
        bits.extend([symbol & 2 != 0, symbol & 1 != 0]);
    }
    assert!(bits.len() >= 64, "{}", bits.len());
    let want: Vec<bool> = (0..bits.len() as u64).map(secret_bit).collect();
    assert_eq!(bits, want);
    let three = TimingChannel {
        levels_ms: vec![1.0, 2.0, 3.0],
        ..TimingChannel::default()
    };
    let why = Implant::TimingChannel(three).problem().expect("3 levels");
    assert!(why.contains("2, 4, 8 or 16"), "{why}");
}

#[test]
fn rf_timing_gaps_carry_the_secret_and_stop_when_off() {
    let rt = RfTiming {
        center_khz: 915_000,
        ..RfTiming::default()
    };
    let imp = Implant::RfTiming(rt.clone());
    let e = scenario(imp.clone(), &[(8.5, PhoneEvent::AirplaneOn)], 40.0);
    let times: Vec<f64> =
        e.rf.iter()
            .filter(|b| b.center_khz == 915_000)
            .map(|b| b.start_s)
            .collect();
    let bits = decode_gaps(&times, rt.short_ms, rt.long_ms);
    assert!(bits.len() >= 64, "{}", bits.len());
    let want: Vec<bool> = (0..bits.len() as u64).map(secret_bit).collect();
    assert_eq!(bits, want);
    let e = scenario(imp, &[(8.5, PhoneEvent::SoftPowerOff)], 40.0);
    assert!(e.rf.iter().all(|b| b.start_s < 8.5));
}

/// Gaps shorter than the midpoint are 0, up to twice the long gap 1, longer
/// ones separate bytes or messages.
fn decode_gaps(times: &[f64], short_ms: f64, long_ms: f64) -> Vec<bool> {
    let mid = (short_ms + long_ms) / 2000.0;
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&g| g < 2.0 * long_ms / 1000.0)
        .map(|g| g > mid)
        .collect()
}

#[test]
fn benign_phone_has_none_of_the_signatures() {
    let mut p = SimPhone::new("phone-a", 7, vec![]);
    let e = run(
        &mut p,
        &[
            (0.0, PhoneEvent::PowerOn),
            (20.0, PhoneEvent::AirplaneOn),
            (40.0, PhoneEvent::AirplaneOff),
            (60.0, PhoneEvent::SoftPowerOff),
        ],
        120.0,
    );
    assert!(
        e.rf.iter()
            .all(|b| !(20.0..40.0).contains(&b.start_s) && b.start_s < 60.0)
    );
    assert!(e.current_at(90.0) < 0.005);
}
