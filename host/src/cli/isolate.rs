//! `benchctl isolate <dut|all> on|off`: cut DUTs off the network, or let them out.

use clap::Args;

use super::switch::{self, Setting, Step};
use super::{CliError, Context, OnOff};
use crate::config::NetState;

/// Cut DUTs off the outside network (`on`), or open their link (`off`).
#[derive(Debug, Args)]
pub struct Isolate {
    /// A DUT name from the bench file, or `all`
    pub dut: String,
    pub state: OnOff,
}

impl Isolate {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let state = match self.state {
            OnOff::On => NetState::Isolated,
            OnOff::Off => NetState::Open,
        };
        switch::run(ctx, &self.dut, &[Step::Set(Setting::Net(state))]).await
    }
}
