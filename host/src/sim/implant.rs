//! Covert behaviours a simulated phone can be given, as a scenario or test
//! fixture names them (`{"kind": "beacon", "period_s": 60}`). Each one is a
//! known signature the analyzer must find; a phone without implants is the
//! benign reference it must not flag.
//!
//! Every field has a default, so `{"kind": "fake-off"}` is a complete implant.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// What the timing channels leak, cyclically, most significant bit first:
/// the ground truth a decoder of the gaps should recover.
pub const SECRET: &[u8] = b"IMEI=359871042377158";

/// Bit `i` of the endless repetition of [`SECRET`].
pub fn secret_bit(i: u64) -> bool {
    let bits = SECRET.len() as u64 * 8;
    let i = i % bits;
    let byte = SECRET[(i / 8) as usize];
    byte >> (7 - i % 8) & 1 == 1
}

/// One covert behaviour. Each variant holds its own parameter struct so the
/// struct can carry `deny_unknown_fields` and field defaults; serde removes
/// the `kind` tag before the struct sees the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Implant {
    /// Transmits bursts while in airplane mode.
    AirplaneTx(AirplaneTx),
    /// After a software power-off keeps drawing current and wakes up.
    FakeOff(FakeOff),
    /// Keeps sending to one address while the link is isolated.
    IsolatedTalker(IsolatedTalker),
    /// DNS queries with high-entropy, never-repeating labels under one domain.
    DnsExfil(DnsExfil),
    /// Periodic check-ins to a host no allowlist names.
    Beacon(Beacon),
    /// Bits in the gaps between packets to an allowed host.
    TimingChannel(TimingChannel),
    /// Bits in the gaps between RF bursts.
    RfTiming(RfTiming),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AirplaneTx {
    /// Bursts per airplane-mode period.
    pub count: u32,
    pub level_dbm: f32,
    pub duration_ms: f64,
    pub center_khz: u32,
}

impl Default for AirplaneTx {
    fn default() -> Self {
        // Inside the LTE band 3 uplink, where a benign phone's own grants
        // would hide it outside airplane mode.
        AirplaneTx {
            count: 3,
            level_dbm: -40.0,
            duration_ms: 5.0,
            center_khz: 1_747_500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FakeOff {
    /// Drawn between wake-ups, where a real soft-off phone draws < 5 mA.
    pub current_ma: f64,
    pub wake_every_s: f64,
    pub wake_ms: f64,
}

impl Default for FakeOff {
    fn default() -> Self {
        FakeOff {
            current_ma: 40.0,
            wake_every_s: 30.0,
            wake_ms: 200.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IsolatedTalker {
    pub every_s: f64,
    pub dest_ip: Ipv4Addr,
}

impl Default for IsolatedTalker {
    fn default() -> Self {
        IsolatedTalker {
            every_s: 10.0,
            dest_ip: Ipv4Addr::new(203, 0, 113, 7),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsExfil {
    pub domain: String,
    pub every_s: f64,
    /// Characters of the leaking label; clamped to 8..=63 (a DNS label's limit).
    pub label_len: usize,
}

impl Default for DnsExfil {
    fn default() -> Self {
        DnsExfil {
            domain: "cdn-metrics.example.net".into(),
            every_s: 15.0,
            label_len: 32,
        }
    }
}

impl TimingChannel {
    /// Bits per gap, and the gap (ms) for each symbol.
    pub fn alphabet(&self) -> (u32, Vec<f64>) {
        if self.levels_ms.len() >= 2 {
            (self.levels_ms.len().ilog2(), self.levels_ms.clone())
        } else {
            (1, vec![self.short_ms, self.long_ms])
        }
    }
}

impl Implant {
    /// What is wrong with the parameters, in words for bench.toml's reader.
    pub fn problem(&self) -> Option<String> {
        let positive = |what: &str, v: f64| {
            (v.is_nan() || v <= 0.0).then(|| format!("{what} must be more than 0"))
        };
        match self {
            Implant::AirplaneTx(a) => positive("duration_ms", a.duration_ms),
            Implant::FakeOff(f) => positive("wake_every_s", f.wake_every_s),
            Implant::IsolatedTalker(k) => positive("every_s", k.every_s),
            Implant::DnsExfil(d) => positive("every_s", d.every_s),
            Implant::Beacon(b) => positive("period_s", b.period_s).or_else(|| {
                (!(0.0..1.0).contains(&b.jitter))
                    .then(|| "jitter is a fraction of the period, 0 to below 1".into())
            }),
            Implant::TimingChannel(c) => {
                let n = c.levels_ms.len();
                if n != 0 && !(n.is_power_of_two() && (2..=16).contains(&n)) {
                    return Some(format!(
                        "levels_ms lists {n} gaps; a gap carries whole bits, so give 2, 4, 8 or 16"
                    ));
                }
                let (_, gaps) = c.alphabet();
                gaps.iter()
                    .find_map(|g| positive("every gap", *g))
                    .or_else(|| {
                        (!(0.0..1.0).contains(&c.jitter))
                            .then(|| "jitter is a fraction of the gap, 0 to below 1".into())
                    })
            }
            Implant::RfTiming(r) => {
                positive("short_ms", r.short_ms).or_else(|| positive("long_ms", r.long_ms))
            }
        }
    }

    /// The name bench.toml gives it (`airplane-tx`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Implant::AirplaneTx(_) => "airplane-tx",
            Implant::FakeOff(_) => "fake-off",
            Implant::IsolatedTalker(_) => "isolated-talker",
            Implant::DnsExfil(_) => "dns-exfil",
            Implant::Beacon(_) => "beacon",
            Implant::TimingChannel(_) => "timing-channel",
            Implant::RfTiming(_) => "rf-timing",
        }
    }
}

/// Transport of a beacon's check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proto {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Beacon {
    pub dest_ip: Ipv4Addr,
    pub port: u16,
    pub period_s: f64,
    /// Fraction of the period: each interval is `period * (1 ± jitter)`.
    pub jitter: f64,
    pub proto: Proto,
}

impl Default for Beacon {
    fn default() -> Self {
        Beacon {
            dest_ip: Ipv4Addr::new(198, 51, 100, 23),
            port: 443,
            period_s: 60.0,
            jitter: 0.1,
            proto: Proto::Tcp,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimingChannel {
    pub dest_ip: Ipv4Addr,
    pub port: u16,
    /// Gap after a packet that carries a 0 bit.
    pub short_ms: f64,
    /// Gap after a packet that carries a 1 bit.
    pub long_ms: f64,
    /// Fraction: each gap is `gap * (1 ± jitter)`.
    pub jitter: f64,
    /// Send the bits a byte at a time, with app-like idle pauses and payload
    /// sizes between bytes, instead of one steady stream.
    pub cover_traffic: bool,
    /// Multi-level gaps instead of short/long: 2, 4, 8 or 16 gap lengths,
    /// each gap carrying log2(levels) bits (gap `i` sends symbol `i`).
    pub levels_ms: Vec<f64>,
}

impl Default for TimingChannel {
    fn default() -> Self {
        // The lab gateway: on every allowlist in the example scenarios.
        TimingChannel {
            dest_ip: Ipv4Addr::new(10, 77, 0, 1),
            port: 443,
            short_ms: 50.0,
            long_ms: 150.0,
            jitter: 0.05,
            cover_traffic: false,
            levels_ms: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RfTiming {
    pub center_khz: u32,
    pub short_ms: f64,
    pub long_ms: f64,
}

impl Default for RfTiming {
    fn default() -> Self {
        // Wi-Fi channel 6, where the phone's own frames are.
        RfTiming {
            center_khz: 2_437_000,
            short_ms: 20.0,
            long_ms: 60.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::phone::tests::{decode_udp, run};
    use crate::sim::phone::{Emissions, PhoneEvent, PhoneNet, SimPhone};

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
    fn implants_parse_with_defaults_and_reject_unknown_fields() {
        let i: Implant = serde_json::from_str(r#"{"kind":"fake-off"}"#).expect("parse");
        assert_eq!(i, Implant::FakeOff(FakeOff::default()));
        let i: Implant =
            serde_json::from_str(r#"{"kind":"beacon","dest_ip":"192.0.2.9","period_s":5}"#)
                .expect("parse");
        let Implant::Beacon(b) = i else {
            panic!("not a beacon")
        };
        assert_eq!(
            (b.dest_ip, b.period_s, b.port),
            ("192.0.2.9".parse().expect("ip"), 5.0, 443)
        );
        let err = serde_json::from_str::<Implant>(r#"{"kind":"beacon","perod_s":5}"#)
            .expect_err("typo must be refused");
        assert!(err.to_string().contains("perod_s"), "{err}");
        assert!(serde_json::from_str::<Implant>(r#"{"kind":"nope"}"#).is_err());
    }

    #[test]
    fn secret_bits_are_msb_first() {
        // 'I' = 0x49 = 0100_1001
        let bits: Vec<bool> = (0..8).map(secret_bit).collect();
        assert_eq!(bits, [false, true, false, false, true, false, false, true]);
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
            .filter_map(|p| crate::sim::phone::tests::dns_name(&p.frame))
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
            .filter_map(|p| crate::sim::phone::tests::decode_tcp(&p.frame).map(|t| (p.t_s, t)))
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
}
