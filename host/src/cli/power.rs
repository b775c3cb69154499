//! `benchctl power <dut|all> on|off|cycle`: switch DUT supplies.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::switch::{self, Setting, Step};
use super::{CliError, Context};

/// Switch DUT supplies on the relay boards.
///
/// `on` and `off` hold after benchctl exits, like a physical switch. `cycle`
/// switches off, waits, and switches on again. If the command is stopped
/// (Ctrl-C, SIGTERM) or fails half-way, the DUTs it touched go to their safe
/// state from bench.toml (by default power off, USB off, network isolated).
#[derive(Debug, Args)]
pub struct Power {
    #[command(flatten)]
    pub lock: super::LockArgs,
    /// A DUT name from the bench file, or `all`
    pub dut: String,
    pub action: PowerAction,
    /// With `cycle`: how long the supply stays off [default: the DUT's power_cycle_off, 3s]
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub off_time: Option<Duration>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PowerAction {
    /// Close the relay: the DUT's supply is on (and stays on)
    On,
    /// Open the relay: the DUT's supply is off
    Off,
    /// Off, wait --off-time, on again: a hard reboot
    Cycle,
}

impl Power {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        if self.off_time.is_some() && !matches!(self.action, PowerAction::Cycle) {
            return Err(CliError::Usage("--off-time only applies to `cycle`".into()));
        }
        let steps = match self.action {
            PowerAction::On => vec![Step::Set(Setting::Power(true))],
            PowerAction::Off => vec![Step::Set(Setting::Power(false))],
            PowerAction::Cycle => {
                let off = match self.off_time {
                    Some(d) => d,
                    None => {
                        // One wait for all: the longest any selected DUT needs.
                        let config = ctx.load_config()?;
                        config
                            .duts
                            .iter()
                            .filter(|d| self.dut == "all" || d.name == self.dut)
                            .map(|d| d.power_cycle_off)
                            .max()
                            .unwrap_or(crate::config::DEFAULT_POWER_CYCLE_OFF)
                    }
                };
                vec![
                    Step::Set(Setting::Power(false)),
                    Step::Wait(off),
                    Step::Set(Setting::Power(true)),
                ]
            }
        };
        switch::run(ctx, &self.dut, &steps).await
    }
}
