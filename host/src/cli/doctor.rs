//! `benchctl doctor`: probe each device and say what works, what does not,
//! and the fix.

use clap::Args;
use serde::Serialize;

use super::{CliError, Context};
use crate::bench::Probe;
use crate::hw::{Check, CheckLevel};

/// Probe every device of the bench and say what works and what does not,
/// with the fix. Switches nothing.
///
/// Takes the bench lock (opening a device another job is using could disturb
/// it), so it honours --wait. Exit code 3 when any check fails; warnings
/// alone exit 0.
#[derive(Debug, Args)]
pub struct Doctor {
    #[command(flatten)]
    pub lock: super::LockArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: String,
    ok: bool,
    probes: Vec<Probe>,
}

impl Doctor {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let mut bench = ctx.take_bench().await?;
        let mut probes = vec![Probe {
            subject: "host".into(),
            checks: host_checks(bench.state_dir(), uses_serial_ports(bench.config())),
        }];
        probes.extend(bench.probe_all());
        probes.extend(super::shield::probe(&mut bench));
        let failed = probes
            .iter()
            .filter(|p| p.worst() == CheckLevel::Fail)
            .count();
        let report = Report {
            bench: bench.config().name.clone(),
            ok: failed == 0,
            probes,
        };
        ctx.print(&report, || render(&report));
        if failed > 0 {
            return Err(CliError::Reported(format!(
                "{failed} device(s) failed their checks"
            )));
        }
        Ok(())
    }
}

/// Whether a backend of the bench opens a serial port by its path or USB
/// id (an LCUS relay module, a shield on a board): only then is the list
/// of the host's ports worth showing.
fn uses_serial_ports(config: &crate::config::BenchConfig) -> bool {
    use crate::config::{RelayBackend, ShieldBackend};
    config
        .relays
        .iter()
        .any(|r| matches!(r.backend, RelayBackend::SerialRelay { .. }))
        || config
            .shield
            .as_ref()
            .is_some_and(|s| matches!(s.backend, ShieldBackend::Serial { .. }))
}

fn host_checks(state_dir: &std::path::Path, serial: bool) -> Vec<Check> {
    let mut checks = vec![Check::ok(format!(
        "state directory {} is writable",
        state_dir.display()
    ))];
    if !serial {
        return checks;
    }
    // Serial ports present, so a wrong `port =` can be fixed by copying a line.
    match serialport::available_ports() {
        Ok(ports) if ports.is_empty() => checks.push(Check::ok("no serial ports on this host")),
        Ok(ports) => {
            for p in ports {
                let what = match &p.port_type {
                    serialport::SerialPortType::UsbPort(u) => format!(
                        "usb {:04x}:{:04x}{}{}",
                        u.vid,
                        u.pid,
                        u.product
                            .as_ref()
                            .map(|s| format!(" {s}"))
                            .unwrap_or_default(),
                        u.serial_number
                            .as_ref()
                            .map(|s| format!(" serial {s}"))
                            .unwrap_or_default()
                    ),
                    serialport::SerialPortType::PciPort => "pci".into(),
                    serialport::SerialPortType::BluetoothPort => "bluetooth".into(),
                    // The board's own UARTs (ttyS*, ttyAMA*): no USB id to match.
                    serialport::SerialPortType::Unknown => {
                        "built-in UART or unknown, no USB id".into()
                    }
                };
                checks.push(Check::ok(format!("serial port {} ({what})", p.port_name)));
            }
        }
        Err(e) => checks.push(Check::warn(
            format!("cannot list serial ports: {e}"),
            "serial relays configured by `usb = {...}` will not be found",
        )),
    }
    checks
}

fn render(r: &Report) -> String {
    let mut out = format!("bench \"{}\"\n", r.bench);
    for p in &r.probes {
        out.push_str(&format!("\n{}\n", p.subject));
        for c in &p.checks {
            let tag = match c.level {
                CheckLevel::Ok => "ok  ",
                CheckLevel::Warn => "WARN",
                CheckLevel::Fail => "FAIL",
            };
            out.push_str(&format!("  {tag}  {}\n", c.message));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("        fix: {fix}\n"));
            }
        }
    }
    out.push_str(if r.ok {
        "\nall checks passed\n"
    } else {
        "\nsome checks FAILED\n"
    });
    out
}
