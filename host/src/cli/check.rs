//! `benchctl check`: validate the bench file and show the bench. Never
//! touches hardware.

use clap::Args;

use super::{CliError, Context, on_off, table};
use crate::config::{
    BenchConfig, HubBackend, RelayBackend, ShieldCalibration, duration, format_khz,
};

/// Validate the bench file and print the bench as tables. Touches no hardware.
///
/// Errors point at `file:line:col` and the exit code is 2.
#[derive(Debug, Args)]
pub struct Check {
    #[command(flatten)]
    pub bench: super::BenchArg,
}

impl Check {
    pub fn run(self, ctx: &Context) -> Result<(), CliError> {
        let config = ctx.load_config()?;
        ctx.print(&config, || render(&config));
        Ok(())
    }
}

fn render(c: &BenchConfig) -> String {
    let mut out = format!("bench \"{}\" ({})", c.name, c.path.display());
    if let Some(d) = &c.description {
        out.push_str(&format!("\n  {d}"));
    }
    out.push_str("\n\nRelay boards\n");
    let rows: Vec<Vec<String>> = c
        .relays
        .iter()
        .map(|r| {
            let detail = match &r.backend {
                RelayBackend::Sim { fail_after: None } => String::new(),
                RelayBackend::Sim {
                    fail_after: Some(n),
                } => format!("fault injection: closing fails after {n} switches"),
                RelayBackend::RppalGpio { pins, active_low } => format!(
                    "BCM GPIO {}, active {}",
                    pins.iter().map(u8::to_string).collect::<Vec<_>>().join(","),
                    if *active_low { "low" } else { "high" }
                ),
                RelayBackend::Gpiocdev {
                    chip,
                    lines,
                    active_low,
                } => format!(
                    "{} lines {}, active {}",
                    chip.display(),
                    lines
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    if *active_low { "low" } else { "high" }
                ),
                RelayBackend::SerialRelay { port, baud } => format!("{port} at {baud} baud"),
            };
            vec![
                r.name.clone(),
                r.backend.kind().into(),
                r.channels.to_string(),
                detail,
            ]
        })
        .collect();
    out.push_str(&table::render(
        "  ",
        &["NAME", "KIND", "CHANNELS", "WHERE"],
        &rows,
    ));

    out.push_str("\nUSB hubs\n");
    let rows: Vec<Vec<String>> = c
        .hubs
        .iter()
        .map(|h| {
            let detail = match &h.backend {
                HubBackend::Sim => String::new(),
                HubBackend::Uhubctl {
                    location,
                    program,
                    vbus_verified,
                } => format!(
                    "{} -l {location}{}",
                    program.display(),
                    if *vbus_verified {
                        ""
                    } else {
                        " (VBUS cut not verified)"
                    }
                ),
            };
            vec![
                h.name.clone(),
                h.backend.kind().into(),
                h.ports.to_string(),
                detail,
            ]
        })
        .collect();
    out.push_str(&table::render(
        "  ",
        &["NAME", "KIND", "PORTS", "WHERE"],
        &rows,
    ));

    out.push_str("\nNetwork links\n");
    let rows: Vec<Vec<String>> = c
        .links
        .iter()
        .map(|l| {
            vec![
                l.name.clone(),
                l.backend.kind().into(),
                l.subnet.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table::render("  ", &["NAME", "KIND", "SUBNET"], &rows));

    out.push_str("\nDUTs\n");
    let dash = || "-".to_string();
    let rows: Vec<Vec<String>> = c
        .duts
        .iter()
        .map(|d| {
            vec![
                d.name.clone(),
                d.model.clone(),
                d.power
                    .as_ref()
                    .map_or_else(dash, |p| format!("{} ch {}", p.board, p.channel)),
                d.usb
                    .as_ref()
                    .map_or_else(dash, |u| format!("{} port {}", u.hub, u.port)),
                d.link.clone().unwrap_or_else(dash),
                match &d.device {
                    crate::config::DeviceBackend::None => "none".into(),
                    crate::config::DeviceBackend::Sim(sim) if sim.implants.is_empty() => {
                        "sim".into()
                    }
                    crate::config::DeviceBackend::Sim(sim) => format!(
                        "sim + {}",
                        sim.implants
                            .iter()
                            .map(|i| i.kind())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
                duration::format(d.power_cycle_off),
                format!(
                    "power {}, usb {}, net {}",
                    on_off(d.safe.power),
                    on_off(d.safe.usb),
                    d.safe.net
                ),
            ]
        })
        .collect();
    out.push_str(&table::render(
        "  ",
        &[
            "NAME",
            "MODEL",
            "POWER",
            "USB",
            "LINK",
            "DEVICE",
            "CYCLE OFF",
            "SAFE STATE",
        ],
        &rows,
    ));
    if let Some(shield) = &c.shield {
        let place = match &shield.backend {
            crate::config::ShieldBackend::Sim => "simulated, behind a pseudo-terminal".to_string(),
            crate::config::ShieldBackend::Serial { port } => port.to_string(),
        };
        out.push_str(&format!(
            "\nShield ({}: {place}), {} Hz per channel, watchdog {}\n",
            shield.backend.kind(),
            shield.sample_rate_hz,
            duration::format(shield.watchdog)
        ));
        let rows: Vec<Vec<String>> = shield
            .channels
            .iter()
            .map(|ch| {
                vec![
                    ch.name.clone(),
                    ch.dut.clone().unwrap_or_else(|| "(ambient)".into()),
                    ch.detector.to_string(),
                    format!("{:?}", ch.quantity).to_lowercase(),
                    if ch.center_khz == 0 {
                        "-".into()
                    } else {
                        format!(
                            "{} ± {}",
                            format_khz(ch.center_khz),
                            format_khz(ch.bandwidth_khz / 2)
                        )
                    },
                    ch.band.clone().unwrap_or_default(),
                    match ch.calibration {
                        ShieldCalibration::Default => "default".into(),
                        ShieldCalibration::RssiOffset { db } => format!("RSSI offset {db} dB"),
                        ShieldCalibration::LogSlope {
                            slope_mv_per_db,
                            intercept_dbm,
                        } => format!("{slope_mv_per_db} mV/dB, {intercept_dbm} dBm"),
                        ShieldCalibration::Shunt {
                            mohm,
                            max_current_a,
                        } => {
                            format!("shunt {mohm} mΩ, {max_current_a} A")
                        }
                    },
                ]
            })
            .collect();
        out.push_str(&table::render(
            "  ",
            &[
                "CHANNEL",
                "DUT",
                "DETECTOR",
                "QUANTITY",
                "FREQUENCY",
                "BAND",
                "CALIBRATION",
            ],
            &rows,
        ));
    }
    out
}
