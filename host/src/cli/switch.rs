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

/// What a switching command did to one DUT's output.
#[derive(Debug, Serialize)]
struct Switched {
    dut: String,
    output: &'static str,
    /// The state it was left in by the command; None if it failed or was
    /// not reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The per-DUT report of a switching command, in words or JSON.
fn print_report(ctx: &Context, report: &[Switched]) {
    ctx.print(&report, || {
        report
            .iter()
            .map(|r| match (&r.state, &r.error) {
                (_, Some(e)) => format!("{:<12} {:<6} {e}\n", r.dut, r.output),
                (Some(state), None) => format!("{:<12} {:<6} {state}\n", r.dut, r.output),
                (None, None) => format!("{:<12} {:<6} not switched\n", r.dut, r.output),
            })
            .collect()
    });
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
    let mut bench = ctx.take_bench().await?;
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
                for (k, dut) in duts.iter().enumerate() {
                    ctx.check_stop()?;
                    if let Err(e) = setting.apply(&mut guard, dut) {
                        // Say per DUT what happened before the guard sends
                        // every touched DUT to its safe state (on return).
                        let report: Vec<Switched> = duts
                            .iter()
                            .enumerate()
                            .map(|(i, d)| Switched {
                                dut: d.clone(),
                                output: last.key(),
                                state: None,
                                error: match i.cmp(&k) {
                                    std::cmp::Ordering::Equal => Some(format!(
                                        "failed: {e}; every DUT of this command goes to its safe state"
                                    )),
                                    std::cmp::Ordering::Less => Some(format!(
                                        "{} done, then sent to its safe state",
                                        setting.describe()
                                    )),
                                    std::cmp::Ordering::Greater => None,
                                },
                            })
                            .collect();
                        print_report(ctx, &report);
                        return Err(e);
                    }
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
            state: Some(last.state()),
            error: None,
        })
        .collect();
    print_report(ctx, &report);
    Ok(())
}
