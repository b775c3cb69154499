//! `benchctl status`: every relay channel, hub port and link, and which DUT it
//! feeds. Reads only; takes no lock, so it works while a job runs.

use clap::Args;

use super::{CliError, Context, on_off, table};
use crate::bench::{BenchStatus, Shown};
use crate::hw::{DeviceMode, DeviceState};

/// Show every relay channel, hub port and link, and which DUT it feeds.
///
/// States read back from hardware are shown plainly; for hardware that
/// cannot report (LCUS serial relays) the state benchctl last set is shown,
/// marked "(last set)". Switches nothing and needs no lock.
#[derive(Debug, Args)]
pub struct Status {
    #[command(flatten)]
    pub bench: super::BenchArg,
}

impl Status {
    pub fn run(self, ctx: &Context) -> Result<(), CliError> {
        let mut bench = ctx.open_bench()?;
        let status = bench.status();
        ctx.print(&status, || render(&status));
        Ok(())
    }
}

/// The errors the tables refer to: each said once, under the tables, and
/// a cell says `error [n]` (a board that is not there fails every one of
/// its channels with the same long message).
#[derive(Default)]
struct Problems(std::cell::RefCell<Vec<String>>);

impl Problems {
    fn cell(&self, error: &str) -> String {
        let mut list = self.0.borrow_mut();
        let n = match list.iter().position(|e| e == error) {
            Some(i) => i + 1,
            None => {
                list.push(error.to_string());
                list.len()
            }
        };
        format!("error [{n}]")
    }

    fn render(&self) -> String {
        let list = self.0.borrow();
        if list.is_empty() {
            return String::new();
        }
        let mut out = String::from("\nProblems\n");
        for (i, e) in list.iter().enumerate() {
            out.push_str(&format!("  [{}] {e}\n", i + 1));
        }
        out
    }
}

fn shown<T: Copy>(s: &Shown<T>, problems: &Problems, fmt: impl Fn(T) -> String) -> String {
    match s {
        Shown::Read(v) => fmt(*v),
        Shown::LastSet(v) => format!("{} (last set)", fmt(*v)),
        Shown::Unknown => "unknown".into(),
        Shown::Error(e) => problems.cell(e),
    }
}

fn render(s: &BenchStatus) -> String {
    let dash = || "-".to_string();
    let problems = Problems::default();
    let mut out = format!(
        "bench \"{}\" ({}), state in {}\n",
        s.bench, s.bench_file, s.state_dir
    );
    let outputs = |title: &str, unit: &str, rows: &[crate::bench::OutputStatus]| {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|o| {
                vec![
                    o.device.clone(),
                    format!("{unit} {}", o.number),
                    shown(&o.on, &problems, |v| on_off(v).to_string()),
                    o.dut.clone().unwrap_or_else(dash),
                ]
            })
            .collect();
        format!(
            "\n{title}\n{}",
            table::render(
                "  ",
                &["DEVICE", unit.to_uppercase().as_str(), "STATE", "DUT"],
                &rows
            )
        )
    };
    out.push_str(&outputs("Relays", "ch", &s.relays));
    out.push_str(&outputs("USB ports", "port", &s.hub_ports));
    let rows: Vec<Vec<String>> = s
        .links
        .iter()
        .map(|l| {
            vec![
                l.link.clone(),
                shown(&l.state, &problems, |v| v.to_string()),
                l.dut.clone().unwrap_or_else(dash),
            ]
        })
        .collect();
    out.push_str(&format!(
        "\nNetwork links\n{}",
        table::render("  ", &["LINK", "STATE", "DUT"], &rows)
    ));
    let rows: Vec<Vec<String>> = s
        .duts
        .iter()
        .map(|d| {
            let onoff = |o: &Option<Shown<bool>>| {
                o.as_ref()
                    .map_or_else(dash, |s| shown(s, &problems, |v| on_off(v).to_string()))
            };
            vec![
                d.name.clone(),
                onoff(&d.power),
                onoff(&d.usb),
                d.net
                    .as_ref()
                    .map_or_else(dash, |s| shown(s, &problems, |v| v.to_string())),
                match (&d.device, &d.device_error) {
                    (_, Some(e)) => problems.cell(e),
                    (Some(st), None) => describe_device(st),
                    (None, None) => dash(),
                },
            ]
        })
        .collect();
    out.push_str(&format!(
        "\nDUTs\n{}",
        table::render("  ", &["DUT", "POWER", "USB", "NET", "PHONE SAYS"], &rows)
    ));
    out.push_str(&problems.render());
    out
}

/// What a phone says about itself, in one line.
pub fn describe_device(st: &DeviceState) -> String {
    match st.mode {
        DeviceMode::Off => "off".into(),
        DeviceMode::Booting => "booting".into(),
        DeviceMode::Running => format!(
            "running, airplane {}, screen {}",
            on_off(st.airplane),
            on_off(st.screen)
        ),
    }
}
