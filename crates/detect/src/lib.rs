//! Detectors: one file per finding kind (findings.md), holding its
//! statistic, where the statistic comes from, the finding it writes and the
//! test that shows it can fail. The statistics take plain data (sample
//! values, burst and packet times, DNS names) or stream a recording once;
//! `analyze` reads the run directory, feeds them per DUT and phase, and
//! collects their findings.
//!
//! | file | finding kind | statistic |
//! | --- | --- | --- |
//! | `rf_silence.rs` | `rf-in-silence` | noise floor by median/MAD, bursts above it, the room set aside |
//! | `power_off.rs` | `power-in-off` | supply current above the phase's `off_current_a` |
//! | `net_policy.rs` | `net-in-isolation`, `net-unexpected-destination` | each packet against the phase's `net` expectation and allowlist |
//! | `dns_exfil.rs` | `dns-exfiltration` | label length, entropy and novelty per parent domain |
//! | `beacon.rs` | `net-beacon` | RITA's interval and size scoring per destination |
//! | `timing/` | `timing-channel` | gap levels, Cabuk's regularity and ε-similarity, κ, CCE; packets per flow and RF bursts per channel; periodic sources heard together (`timing/sources.rs`) |

pub mod analyze;
pub mod beacon;
pub mod dns_exfil;
pub mod net_policy;
pub mod power_off;
pub mod rf_silence;
pub mod timing;
pub mod xml;

use std::collections::BTreeMap;

use serde::Serialize;

/// How much a finding matters (findings.md): `low` is worth a look and does
/// not fail a DUT; `medium` and `high` fail it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

/// One finding as findings.json writes it. `evidence` holds the statistic
/// and its value (and whatever else a person needs to check the claim).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub severity: Severity,
    pub phase: Option<String>,
    pub start_s: f64,
    pub end_s: f64,
    pub channel: Option<String>,
    /// 0..1, the detector's confidence.
    pub score: f64,
    /// One sentence a lab engineer understands.
    pub summary: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// It fell inside its phase's settle window (`expect.settle_s`): the
    /// DUT's time to obey, reported at `low` and never dropped
    /// (findings.md). Written only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub settle: bool,
}

impl Finding {
    /// This finding as one inside its phase's settle window of `settle_s`
    /// seconds: `low`, marked `settle`, and saying so, so a person sees
    /// what the DUT did while it was still obeying the bench.
    pub fn in_settle_window(mut self, settle_s: f64) -> Self {
        self.severity = Severity::Low;
        self.settle = true;
        self.summary = format!(
            "{} (inside its {settle_s} s settle window: reported, not failed)",
            self.summary
        );
        self
    }
}

/// `v` rounded to `digits` decimals, for evidence a person reads.
pub(crate) fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// "s" unless there is exactly one.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "a, b, c and 4 more".
pub(crate) fn list(items: &[&str], max: usize) -> String {
    let shown = items
        .iter()
        .take(max)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        format!("{shown} and {} more", items.len() - max)
    } else {
        shown
    }
}
