//! `benchctl isolate <dut|all> on|off`: cut DUTs off the network, or let them out.

use clap::Args;

use super::switch::{self, Setting, Step};
use super::{CliError, Context};
use crate::config::NetState;

/// Cut DUTs off the outside network (`on`), or open their link (`off`).
#[derive(Debug, Args)]
pub struct Isolate {
    #[command(flatten)]
    pub lock: super::LockArgs,
    /// A DUT name from the bench file, or `all`
    pub dut: String,
    pub state: Isolation,
}

/// `isolate on` cuts the DUT off; `isolate off` lets it out.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Isolation {
    /// Cut the DUT off the outside network (its link isolated)
    On,
    /// Let the DUT out (its link open)
    Off,
}

impl Isolate {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let state = match self.state {
            Isolation::On => NetState::Isolated,
            Isolation::Off => NetState::Open,
        };
        switch::run(ctx, &self.dut, &[Step::Set(Setting::Net(state))]).await
    }
}
