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
    /// A DUT name from the bench file, or `all`
    pub dut: String,
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

#[derive(Debug, Serialize)]
struct Answer {
    dut: String,
    state: DeviceState,
}

impl Device {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let cmd = match self.action {
            DeviceAction::Airplane { state } => DeviceCommand::Airplane(matches!(state, OnOff::On)),
            DeviceAction::Screen { state } => DeviceCommand::Screen(matches!(state, OnOff::On)),
            DeviceAction::PowerOff => DeviceCommand::PowerOff,
            DeviceAction::Reboot => DeviceCommand::Reboot,
        };
        let (mut bench, _lock) = ctx.take_bench().await?;
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
        let mut answers = Vec::new();
        for dut in &duts {
            ctx.check_stop()?;
            bench.device_command(dut, cmd)?;
            tracing::info!("{dut}: {cmd}");
            if let Some(state) = bench.device_state(dut)? {
                answers.push(Answer {
                    dut: dut.clone(),
                    state,
                });
            }
        }
        ctx.print(&answers, || {
            answers
                .iter()
                .map(|a| {
                    format!(
                        "{:<12} {}\n",
                        a.dut,
                        super::status::describe_device(&a.state)
                    )
                })
                .collect()
        });
        Ok(())
    }
}
