//! Detectors: each file holds one statistic, where it comes from, and the
//! test that shows it can fail. They take plain data (sample values, event
//! times, DNS names) and return an assessment; `analyze` feeds them from a
//! run directory and turns assessments into findings (findings.md).
//!
//! | file | finding kind |
//! | --- | --- |
//! | `timing.rs` | `timing-channel` (packets per flow, RF bursts per channel) |
//! | `beacon.rs` | `net-beacon` |
//! | `dns_exfil.rs` | `dns-exfiltration` |

pub mod beacon;
pub mod dns_exfil;
pub mod timing;

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
}
