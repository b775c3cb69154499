//! `benchctl device <dut|all> airplane|screen on|off`, `power-off`, `reboot`:
//! ask the phone itself (the simulated phones now; adb later).

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{CliError, Context, OnOff};
use crate::bench::Output;
use crate::hw::{DeviceCommand, DeviceState};

/// Ask the phones themselves: airplane mode, screen, software power-off, reboot.
///
/// This is what the phone is told, not what it does: the point of the bench
/// is to check the one against the other. A phone answers only while its
/// supply is on. These commands change no relay, port or link, so they hold
/// whatever happens.
#[derive(Debug, Args)]
pub struct Device {
    #[command(flatten)]
    pub lock: super::LockArgs,
    /// A DUT name from the bench file, or `all`
    pub dut: String,
    /// Wait this long for a phone that is still starting (booting,
    /// restarting) before giving up on it
    #[arg(long, value_name = "DURATION", default_value = "90s", value_parser = super::parse_duration)]
    pub ready_timeout: std::time::Duration,
    #[command(subcommand)]
    pub action: DeviceAction,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum DeviceAction {
    /// Airplane mode on or off
    Airplane { state: OnOff },
    /// Screen on or off
    Screen { state: OnOff },
    /// "Switch off" in software: the phone claims to be off, its supply stays on
    PowerOff,
    /// Restart the phone (also wakes one that was switched off in software)
    Reboot,
}

/// What one DUT made of the command: its state after it, or why not.
#[derive(Debug, Serialize)]
struct Answer {
    dut: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<DeviceState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Device {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let cmd = match self.action {
            DeviceAction::Airplane { state } => DeviceCommand::Airplane(matches!(state, OnOff::On)),
            DeviceAction::Screen { state } => DeviceCommand::Screen(matches!(state, OnOff::On)),
            DeviceAction::PowerOff => DeviceCommand::PowerOff,
            DeviceAction::Reboot => DeviceCommand::Reboot,
        };
        let mut bench = ctx.take_bench().await?;
        let duts: Vec<String> = bench
            .select(&self.dut)?
            .into_iter()
            .filter(|d| bench.has(d, Output::Device))
            .collect();
        if duts.is_empty() {
            return Err(CliError::Usage(format!(
                "{} no device control in {} (add `device = {{ kind = \"sim\" }}`)",
                if self.dut == "all" {
                    "no DUT on this bench has".to_string()
                } else {
                    format!("DUT \"{}\" has", self.dut)
                },
                ctx.bench_path().display()
            )));
        }
        // Every DUT is asked, whatever another answered: a command to a
        // phone changes no output, so one that fails leaves nothing unsafe,
        // and the others' results are worth reporting (in JSON too).
        let mut answers = Vec::new();
        for dut in &duts {
            ctx.check_stop()?;
            wait_until_ready(ctx, &mut bench, dut, self.ready_timeout).await?;
            let asked = bench
                .device_command(dut, cmd)
                .and_then(|()| bench.device_state(dut));
            answers.push(match asked {
                Ok(state) => {
                    tracing::info!("{dut}: {cmd}");
                    Answer {
                        dut: dut.clone(),
                        ok: true,
                        state,
                        error: None,
                    }
                }
                Err(e) => Answer {
                    dut: dut.clone(),
                    ok: false,
                    state: None,
                    error: Some(e.to_string()),
                },
            });
        }
        ctx.print(&answers, || {
            answers
                .iter()
                .map(|a| match (&a.state, &a.error) {
                    (_, Some(e)) => format!("{:<12} failed: {e}\n", a.dut),
                    (Some(state), None) => {
                        format!("{:<12} {}\n", a.dut, super::status::describe_device(state))
                    }
                    (None, None) => format!("{:<12} done\n", a.dut),
                })
                .collect()
        });
        let failed: Vec<String> = answers
            .iter()
            .filter_map(|a| a.error.as_ref().map(|e| format!("{}: {e}", a.dut)))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(CliError::Reported(format!(
                "{} of {} DUT(s) did not take the command: {}",
                failed.len(),
                answers.len(),
                failed.join("; ")
            )))
        }
    }
}

/// Wait, at most `timeout`, for `dut`'s phone to finish starting: a phone
/// still booting does not take commands. Off, or not up by then, the
/// command itself says why.
async fn wait_until_ready(
    ctx: &Context,
    bench: &mut crate::bench::Bench,
    dut: &str,
    timeout: std::time::Duration,
) -> Result<(), CliError> {
    let deadline = std::time::Instant::now() + timeout;
    let mut told = false;
    let mut stop = ctx.shutdown.clone();
    while let Ok(crate::hw::Readiness::Starting(why)) = bench.device_ready(dut) {
        if std::time::Instant::now() >= deadline {
            break;
        }
        if !told {
            tracing::info!(
                "{why}; waiting for it (up to {})",
                crate::config::duration::format(timeout)
            );
            told = true;
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            signo = stop.requested() => return Err(CliError::Interrupted(signo)),
        }
    }
    Ok(())
}
