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
}
