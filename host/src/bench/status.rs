//! `status`: every relay channel, hub port and link, and the DUT it feeds.

use serde::Serialize;

use super::{Bench, shown};
use crate::config::{NetState, RelayBackend};
use crate::hw::{DeviceState, Reading};

/// An output's state as far as the bench can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "source", content = "value")]
pub enum Shown<T> {
    /// Read back from the hardware just now.
    Read(T),
    /// The hardware cannot report it; this is what benchctl last set.
    LastSet(T),
    /// Cannot report it and benchctl never set it.
    Unknown,
    /// Reading it failed.
    Error(String),
}

impl<T: Copy> Shown<T> {
    pub fn value(&self) -> Option<T> {
        match self {
            Shown::Read(v) | Shown::LastSet(v) => Some(*v),
            Shown::Unknown | Shown::Error(_) => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputStatus {
    /// Relay board or hub name.
    pub device: String,
    pub kind: &'static str,
    /// Relay channel or hub port number.
    pub number: u8,
    pub on: Shown<bool>,
    pub dut: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkStatus {
    pub link: String,
    pub kind: &'static str,
    pub state: Shown<NetState>,
    pub dut: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DutStatus {
    pub name: String,
    pub model: String,
    pub power: Option<Shown<bool>>,
    pub usb: Option<Shown<bool>>,
    pub net: Option<Shown<NetState>>,
    /// What the phone reports about itself, when the bench can ask it.
    pub device: Option<DeviceState>,
    /// Why the phone could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchStatus {
    pub bench: String,
    pub bench_file: String,
    pub state_dir: String,
    pub relays: Vec<OutputStatus>,
    pub hub_ports: Vec<OutputStatus>,
    pub links: Vec<LinkStatus>,
    pub duts: Vec<DutStatus>,
}

impl Bench {
    /// Read every output. Reads never switch anything and need no lock.
    pub fn status(&mut self) -> BenchStatus {
        let config = self.config.clone();
        let mut relays = Vec::new();
        for board in &config.relays {
            // LCUS modules only listen, and opening their port would fight a
            // running job for it (ports are opened exclusively): show memory.
            let write_only = matches!(board.backend, RelayBackend::SerialRelay { .. });
            for ch in 1..=board.channels {
                let reading = if write_only {
                    Ok(Reading::Unknown)
                } else {
                    self.relay_board(&board.name).and_then(|b| b.get(ch))
                };
                relays.push(OutputStatus {
                    device: board.name.clone(),
                    kind: board.backend.kind(),
                    number: ch,
                    on: shown(reading, self.remembered_relay(&board.name, ch)),
                    dut: config.dut_on_relay(&board.name, ch).map(|d| d.name.clone()),
                });
            }
        }
        let mut hub_ports = Vec::new();
        for hub in &config.hubs {
            for port in 1..=hub.ports {
                let reading = self.hub(&hub.name).and_then(|h| h.get_port(port));
                hub_ports.push(OutputStatus {
                    device: hub.name.clone(),
                    kind: hub.backend.kind(),
                    number: port,
                    on: shown(reading, self.remembered_port(&hub.name, port)),
                    dut: config.dut_on_port(&hub.name, port).map(|d| d.name.clone()),
                });
            }
        }
        let mut links = Vec::new();
        for link in &config.links {
            let reading = self.link(&link.name).and_then(|l| l.get());
            links.push(LinkStatus {
                link: link.name.clone(),
                kind: link.backend.kind(),
                state: shown(reading, self.remembered_link(&link.name)),
                dut: config.dut_on_link(&link.name).map(|d| d.name.clone()),
            });
        }
        let duts = config
            .duts
            .iter()
            .map(|d| {
                let (device, device_error) = match self.device_state(&d.name) {
                    Ok(state) => (state, None),
                    Err(e) => (None, Some(e.to_string())),
                };
                DutStatus {
                    name: d.name.clone(),
                    model: d.model.clone(),
                    power: d.power.as_ref().and_then(|p| {
                        relays
                            .iter()
                            .find(|r| r.device == p.board && r.number == p.channel)
                            .map(|r| r.on.clone())
                    }),
                    usb: d.usb.as_ref().and_then(|u| {
                        hub_ports
                            .iter()
                            .find(|h| h.device == u.hub && h.number == u.port)
                            .map(|h| h.on.clone())
                    }),
                    net: d
                        .link
                        .as_ref()
                        .and_then(|l| links.iter().find(|k| &k.link == l).map(|k| k.state.clone())),
                    device,
                    device_error,
                }
            })
            .collect();
        BenchStatus {
            bench: config.name.clone(),
            bench_file: config.path.display().to_string(),
            state_dir: self.state_dir.display().to_string(),
            relays,
            hub_ports,
            links,
            duts,
        }
    }
}
