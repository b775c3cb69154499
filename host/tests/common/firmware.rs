//! A firmware update that adds a beacon, in the simulated lab: the default
//! bench with honest phones, and the same bench after phone-a got a build
//! that checks in with a host inside the allowlist every 10 s (so no single
//! finding fails it, only a comparison with an earlier night can), and a
//! short scenario that gives the beacon enough check-ins to be a timer.

use super::repo_root;

/// Where phone-a's online traffic may go (the beacon's 10.77.0.5 too).
pub const ALLOW: &str = r#"["gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"]"#;

/// The build string phone-a reports after the update.
pub const BEACON_BUILD: &str = "sim-android 14 (UP1A.231005.008-beacon)";

/// The scenario's name.
pub const SCENARIO: &str = "history-check";

/// Boot, two minutes online (a beacon every 10 s shows 11 check-ins; the
/// detector needs 6), a few seconds of airplane mode.
pub fn scenario_text() -> String {
    format!(
        r#"[scenario]
name = "{SCENARIO}"
duts = ["phone-a", "phone-b"]
on_fault = "abort"
steps = [
  {{ phase = "boot" }}, {{ do = "net.isolate" }}, {{ do = "usb.on" }}, {{ do = "power.on" }}, {{ wait = "10s" }},
  {{ phase = "online", net = "allowlist", allow = {ALLOW} }},
  {{ do = "net.allowlist", allow = {ALLOW} }}, {{ wait = "120s" }},
  {{ phase = "airplane", rf = "silent", net = "none" }}, {{ do = "net.isolate" }},
  {{ do = "device.airplane", state = "on" }}, {{ wait = "5s" }},
]
"#
    )
}

/// The default bench with honest phones; with `beacon`, phone-a runs
/// [`BEACON_BUILD`], which checks in with 10.77.0.5:443 every 10 s.
pub fn bench_text(beacon: bool) -> String {
    let text = std::fs::read_to_string(repo_root().join("bench.toml")).expect("bench.toml");
    let start = text.find("implants = [").expect("phone-b has implants");
    let end = start + text[start..].find("]\n").expect("implants list ends") + 2;
    let text = format!("{}implants = []\n{}", &text[..start], &text[end..]);
    if beacon {
        let device = format!(
            r#"device = {{ kind = "sim", build = "{BEACON_BUILD}", implants = [{{ kind = "beacon", dest_ip = "10.77.0.5", port = 443, period_s = 10, jitter = 0.1, proto = "tcp" }}] }}"#
        );
        text.replacen(r#"device = { kind = "sim" }"#, &device, 1)
    } else {
        text
    }
}
