//! Probe every device of the bench without switching anything.

use serde::Serialize;

use super::Bench;
use crate::hw::{Check, CheckLevel};

/// The checks about one device of the bench.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The device as the user knows it: `relay board "relays" (serial-relay)`.
    pub subject: String,
    pub checks: Vec<Check>,
}

impl Probe {
    pub fn worst(&self) -> CheckLevel {
        self.checks
            .iter()
            .map(|c| c.level)
            .max()
            .unwrap_or(CheckLevel::Ok)
    }
}

impl Bench {
    /// Open and probe every relay board, hub, link and DUT device.
    pub fn probe_all(&mut self) -> Vec<Probe> {
        let config = self.config.clone();
        let mut probes = Vec::new();
        for r in &config.relays {
            probes.push(Probe {
                subject: format!("relay board \"{}\" ({})", r.name, r.backend.kind()),
                checks: match self.relay_board(&r.name) {
                    Ok(board) => board.probe(),
                    Err(e) => vec![Check::from_error(&e)],
                },
            });
        }
        for h in &config.hubs {
            probes.push(Probe {
                subject: format!("hub \"{}\" ({})", h.name, h.backend.kind()),
                checks: match self.hub(&h.name) {
                    Ok(hub) => hub.probe(),
                    Err(e) => vec![Check::from_error(&e)],
                },
            });
        }
        for l in &config.links {
            probes.push(Probe {
                subject: format!("link \"{}\" ({})", l.name, l.backend.kind()),
                checks: match self.link(&l.name) {
                    Ok(link) => link.probe(),
                    Err(e) => vec![Check::from_error(&e)],
                },
            });
        }
        for d in &config.duts {
            let checks = match self.device(&d.name) {
                Ok(Some(device)) => device.probe(),
                Ok(None) => vec![Check::ok(
                    "no device control configured: power, USB and network only",
                )],
                Err(e) => vec![Check::fail(e.to_string(), None)],
            };
            probes.push(Probe {
                subject: format!("DUT \"{}\" ({})", d.name, d.model),
                checks,
            });
        }
        probes
    }
}
