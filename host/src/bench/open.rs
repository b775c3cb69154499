//! The composition root: the one place that turns bench.toml's `kind`s into
//! backends, real or simulated. Everything above it (the bench's wiring, the
//! runner, the commands) talks to the traits in `hw` and never asks which
//! backend it got.
//!
//! Nothing is opened until a command needs it, so `status` on a bench with a
//! missing serial relay still shows the rest, and the simulated lab's state
//! file is read only when a `kind = "sim"` backend is opened.
//!
//! A bench opened for a run in virtual time (`Backends::SimulatedTwins`)
//! gets a simulated twin for every relay board and hub, whatever its kind:
//! virtual time has no real hardware to wait for.

use std::sync::mpsc::Sender;
use std::time::Instant;

use super::shield::ShieldError;
use super::sim::LazyLab;
use super::sim::backends::{SimHub, SimLink, SimPhoneControl, SimRelayBoard};
use super::sim::exposure::Exposure;
use super::sim::plant::{Plant, PlantSetup};
use super::sim::shield::{SimShield, stimuli_for};
use crate::config::{
    BenchConfig, DeviceBackend, DutConfig, HubBackend, HubConfig, LinkBackend, LinkConfig,
    RelayBackend, RelayBoardConfig, SerialPortSpec, ShieldBackend, ShieldConfig,
};
use crate::hw::gpiocdev::GpiocdevRelayBoard;
use crate::hw::rppal_gpio::GpioRelayBoard;
use crate::hw::serial_relay::SerialRelayBoard;
use crate::hw::shield::{RunClock, ShieldLink};
use crate::hw::uhubctl::UhubctlHub;
use crate::hw::{DeviceControl, HwError, NetLink, RelayBoard, TappedPacket, UsbHub};

/// Which backends a bench gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backends {
    /// What bench.toml says.
    AsConfigured,
    /// The simulated twin of every relay board and hub (a run in virtual time).
    SimulatedTwins,
}

pub fn open_relay_board(
    cfg: &RelayBoardConfig,
    lab: &LazyLab,
    backends: Backends,
) -> Result<Box<dyn RelayBoard>, HwError> {
    Ok(match (&cfg.backend, backends) {
        (RelayBackend::Sim { fail_after }, _) => {
            Box::new(SimRelayBoard::new(lab.get()?, &cfg.name, *fail_after))
        }
        (_, Backends::SimulatedTwins) => Box::new(SimRelayBoard::new(lab.get()?, &cfg.name, None)),
        (RelayBackend::RppalGpio { pins, active_low }, Backends::AsConfigured) => {
            Box::new(GpioRelayBoard::open(&cfg.name, pins, *active_low)?)
        }
        (
            RelayBackend::Gpiocdev {
                chip,
                lines,
                active_low,
            },
            Backends::AsConfigured,
        ) => Box::new(GpiocdevRelayBoard::open(
            &cfg.name,
            chip,
            lines,
            *active_low,
        )?),
        (RelayBackend::SerialRelay { port, baud }, Backends::AsConfigured) => Box::new(
            SerialRelayBoard::open(&cfg.name, port, *baud, cfg.channels)?,
        ),
    })
}

pub fn open_hub(
    cfg: &HubConfig,
    lab: &LazyLab,
    backends: Backends,
) -> Result<Box<dyn UsbHub>, HwError> {
    Ok(match (&cfg.backend, backends) {
        (HubBackend::Sim, _) | (_, Backends::SimulatedTwins) => {
            Box::new(SimHub::new(lab.get()?, &cfg.name))
        }
        (
            HubBackend::Uhubctl {
                location,
                program,
                vbus_verified,
            },
            Backends::AsConfigured,
        ) => Box::new(UhubctlHub::new(
            &cfg.name,
            program,
            location,
            cfg.ports,
            *vbus_verified,
        )),
    })
}

pub fn open_link(cfg: &LinkConfig, lab: &LazyLab) -> Result<Box<dyn NetLink>, HwError> {
    Ok(match &cfg.backend {
        LinkBackend::Sim => Box::new(SimLink::new(lab.get()?, &cfg.name)),
    })
}

/// The device control of a DUT, or `None` when the bench has none for it.
pub fn open_device(
    dut: &DutConfig,
    lab: &LazyLab,
) -> Result<Option<Box<dyn DeviceControl>>, HwError> {
    Ok(match dut.device {
        DeviceBackend::Sim(_) => Some(Box::new(SimPhoneControl::new(lab.get()?, dut))),
        DeviceBackend::None => None,
    })
}

/// The link to the shield: the board on its serial port, or a simulated
/// shield started on a pseudo-terminal for the purpose (kept alive by the
/// caller as long as the link), already exposed to the current draw of the
/// phones the lab has switched on.
pub fn open_shield_link(
    shield: &ShieldConfig,
    bench: &BenchConfig,
    lab: &LazyLab,
) -> Result<(ShieldLink, Option<SimShield>), ShieldError> {
    Ok(match &shield.backend {
        ShieldBackend::Sim => {
            let sim = start_sim_shield()?;
            let state = lab.get()?.snapshot()?;
            for s in stimuli_for(shield, &state, bench) {
                sim.stimulus(s);
            }
            let path = sim.path().display().to_string();
            let link = ShieldLink::open(&SerialPortSpec::Path(path))?;
            (link, Some(sim))
        }
        ShieldBackend::Serial { port } => (ShieldLink::open(port)?, None),
    })
}

/// The bench side of a DUT's link as its backend knows it: the MAC frames
/// to the DUT come from, and the bench's addresses on the link (what
/// run.json's `bench_mac` and `bench_ip` record).
pub fn link_bench_side(
    bench: &BenchConfig,
    dut: &str,
) -> (Option<benchctl_net::MacAddr>, Vec<std::net::IpAddr>) {
    let Some(link) = bench
        .dut(dut)
        .and_then(|d| d.link.as_deref())
        .and_then(|l| bench.link(l))
    else {
        return (None, Vec::new());
    };
    match link.backend {
        LinkBackend::Sim => match bench.dut_address(dut) {
            Some(ip) => (
                Some(benchctl_net::MacAddr(super::sim::phone::gateway_mac(ip))),
                vec![super::sim::phone::gateway(ip).into()],
            ),
            None => (None, Vec::new()),
        },
    }
}

/// The simulated shield on its own pseudo-terminal (`shield sim`).
pub fn start_sim_shield() -> Result<SimShield, HwError> {
    SimShield::start().map_err(|e| HwError::new("simulated shield", format!("cannot start: {e}")))
}

/// Start the simulated phones among `duts` on the run clock, when the bench
/// has any: they follow the lab as the bench switches it, and emit into the
/// simulated shield (when `shield` is one; a real shield hears real phones
/// only, and the simulated phones then still talk on their links) and onto
/// the tap.
pub fn start_plant(
    bench: &BenchConfig,
    lab: &LazyLab,
    duts: &[&str],
    shield: Option<&SimShield>,
    clock: RunClock,
    tap: Sender<TappedPacket>,
    room_seed: u64,
) -> Result<Option<Plant>, HwError> {
    let setup = PlantSetup::for_bench(bench, duts, room_seed);
    if setup.phones.is_empty() {
        return Ok(None);
    }
    let (exposure, boot) = match shield {
        Some(s) => (s.exposure().clone(), s.boot()),
        None => (Exposure::new(), Instant::now()),
    };
    Plant::start(setup, lab.get()?, exposure, boot, clock, tap)
        .map(Some)
        .map_err(|e| HwError::new("simulated lab", format!("cannot start the plant: {e}")))
}
