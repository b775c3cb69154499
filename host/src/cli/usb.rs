//! `benchctl usb <dut|all> on|off`: switch VBUS on the DUTs' hub ports.

use clap::Args;

use super::switch::{self, Setting, Step};
use super::{CliError, Context, OnOff};

/// Switch the USB port (VBUS) of DUTs on their hubs.
///
/// A phone with a battery survives a USB power cut; use `power` to switch its
/// supply. Some hubs do not really cut VBUS: see `benchctl doctor`.
#[derive(Debug, Args)]
pub struct Usb {
    #[command(flatten)]
    pub lock: super::LockArgs,
    /// A DUT name from the bench file, or `all`
    pub dut: String,
    pub state: OnOff,
}

impl Usb {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let on = matches!(self.state, OnOff::On);
        switch::run(ctx, &self.dut, &[Step::Set(Setting::Usb(on))]).await
    }
}
