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
        let duts: Vec<String> = self.config.duts.iter().map(|d| d.name.clone()).collect();
        self.probe(&duts, true)
    }

    /// Open and probe what `duts` are wired to: their relay boards, hubs,
    /// links and device control (what a run of them switches), before
    /// anything is switched.
    pub fn probe_for(&mut self, duts: &[String]) -> Vec<Probe> {
        self.probe(duts, false)
    }

    fn probe(&mut self, duts: &[String], everything: bool) -> Vec<Probe> {
        let config = self.config.clone();
        let wired: Vec<&crate::config::DutConfig> =
            duts.iter().filter_map(|d| config.dut(d)).collect();
        let uses = |pick: &dyn Fn(&crate::config::DutConfig) -> Option<String>, name: &str| {
            everything || wired.iter().any(|d| pick(d).as_deref() == Some(name))
        };
        let mut probes = Vec::new();
        for r in config
            .relays
            .iter()
            .filter(|r| uses(&|d| d.power.as_ref().map(|p| p.board.clone()), &r.name))
        {
            probes.push(Probe {
                subject: format!("relay board \"{}\" ({})", r.name, r.backend.kind()),
                checks: match self.relay_board(&r.name) {
                    Ok(board) => board.probe(),
                    Err(e) => vec![Check::from_error(&e)],
                },
            });
        }
        for h in config
            .hubs
            .iter()
            .filter(|h| uses(&|d| d.usb.as_ref().map(|u| u.hub.clone()), &h.name))
        {
            probes.push(Probe {
                subject: format!("hub \"{}\" ({})", h.name, h.backend.kind()),
                checks: match self.hub(&h.name) {
                    Ok(hub) => hub.probe(),
                    Err(e) => vec![Check::from_error(&e)],
                },
            });
        }
        for l in config
            .links
            .iter()
            .filter(|l| uses(&|d| d.link.clone(), &l.name))
        {
            probes.push(Probe {
                subject: format!("link \"{}\" ({})", l.name, l.backend.kind()),
                checks: match self.link(&l.name) {
                    Ok(link) => link.probe(),
                    Err(e) => vec![Check::from_error(&e)],
                },
            });
        }
        for d in config.duts.iter().filter(|d| duts.contains(&d.name)) {
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
