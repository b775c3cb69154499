//! What `power`, `usb` and `isolate` share: take the bench, switch one output
//! of the chosen DUTs step by step under the safety guard, and report.

use std::time::Duration;

use serde::Serialize;

use super::{CliError, Context, on_off};
use crate::bench::safety::SafetyGuard;
use crate::bench::{Bench, Output};
use crate::config::NetState;

/// A value for one DUT output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Power(bool),
    Usb(bool),
    Net(NetState),
}

impl Setting {
    fn output(self) -> Output {
        match self {
            Setting::Power(_) => Output::Power,
            Setting::Usb(_) => Output::Usb,
            Setting::Net(_) => Output::Net,
        }
    }

    /// The output as a bench file calls its wiring.
    fn wiring(self) -> &'static str {
        match self {
            Setting::Power(_) => "power relay",
            Setting::Usb(_) => "USB hub port",
            Setting::Net(_) => "network link",
        }
    }

    /// The output's key in JSON results.
    fn key(self) -> &'static str {
        match self {
            Setting::Power(_) => "power",
            Setting::Usb(_) => "usb",
            Setting::Net(_) => "net",
        }
    }

    fn state(self) -> String {
        match self {
            Setting::Power(on) | Setting::Usb(on) => on_off(on).to_string(),
            Setting::Net(s) => s.to_string(),
        }
    }

    fn describe(self) -> String {
        match self {
            Setting::Power(on) => format!("power {}", on_off(on)),
            Setting::Usb(on) => format!("usb {}", on_off(on)),
            Setting::Net(s) => format!("network {s}"),
        }
    }

    fn apply(self, bench: &mut Bench, dut: &str) -> Result<(), CliError> {
        match self {
            Setting::Power(on) => bench.set_power(dut, on)?,
            Setting::Usb(on) => bench.set_usb(dut, on)?,
            Setting::Net(s) => bench.set_net(dut, s)?,
        }
        Ok(())
    }
}

/// One step of a switching command.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    Set(Setting),
    /// Hold the outputs as they are for this long (e.g. the off time of a power cycle).
    Wait(Duration),
}

#[derive(Debug, Serialize)]
struct Switched {
    dut: String,
    output: &'static str,
    state: String,
}

/// Run `steps` on the output of `which` ("all" or a DUT name). Every way out
/// but success sends the touched DUTs to their safe state.
pub async fn run(ctx: &Context, which: &str, steps: &[Step]) -> Result<(), CliError> {
    let last = steps
        .iter()
        .rev()
        .find_map(|s| match s {
            Step::Set(setting) => Some(*setting),
            Step::Wait(_) => None,
        })
        .expect("a switching command sets something");
    let (output, output_name) = (last.output(), last.wiring());
    let (mut bench, _lock) = ctx.take_bench().await?;
    let selected = bench.select(which)?;
    let duts: Vec<String> = selected
        .iter()
        .filter(|d| bench.has(d, output))
        .cloned()
        .collect();
    if duts.is_empty() {
        return Err(CliError::Usage(if which == "all" {
            format!("no DUT on this bench has a {output_name}")
        } else {
            format!(
                "DUT \"{which}\" has no {output_name} in {}",
                ctx.bench_path().display()
            )
        }));
    }
    for skipped in selected.iter().filter(|d| !duts.contains(d)) {
        tracing::info!("{skipped}: no {output_name}, skipped");
    }

    let mut guard = SafetyGuard::new(&mut bench);
    for dut in &duts {
        guard.touch(dut);
    }
    for step in steps {
        match *step {
            Step::Set(setting) => {
                for dut in &duts {
                    ctx.check_stop()?;
                    setting.apply(&mut guard, dut)?;
                    tracing::info!("{dut}: {}", setting.describe());
                }
            }
            Step::Wait(d) => {
                tracing::info!(
                    "{}: waiting {} before the next step (Ctrl-C stops and makes them safe)",
                    duts.join(", "),
                    crate::config::duration::format(d)
                );
                let mut stop = ctx.shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    signo = stop.requested() => return Err(CliError::Interrupted(signo)),
                }
            }
        }
    }
    ctx.check_stop()?;
    guard.hold();

    let report: Vec<Switched> = duts
        .iter()
        .map(|d| Switched {
            dut: d.clone(),
            output: last.key(),
            state: last.state(),
        })
        .collect();
    ctx.print(&report, || {
        report
            .iter()
            .map(|r| format!("{:<12} {:<6} {}\n", r.dut, r.output, r.state))
            .collect()
    });
    Ok(())
}
