//! The bench: the validated config plus live hardware, addressed by DUT.
//!
//! Commands say "power phone-a off"; the bench knows that means channel 1 of
//! relay board "relays". Devices are opened on first use, so a missing serial
//! relay does not stop `status` from showing the hub.

mod doctor;
pub mod lock;
pub mod open;
pub mod safety;
pub mod shield;
pub mod sim;
mod state;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use doctor::Probe;
pub use state::{state_dir, unusable_state_dir};
pub use status::{BenchStatus, DutStatus, LinkStatus, OutputStatus, Shown};

use crate::config::{BenchConfig, DutConfig, NetState, SafeState};
use crate::hw::shield::RunClock;
use crate::hw::{
    DeviceCommand, DeviceControl, DeviceState, HwError, NetLink, Readiness, Reading, RelayBoard,
    TappedPacket, UsbHub,
};
use open::Backends;
use sim::LazyLab;
pub use sim::plant::{Plant, PlantReport};
pub use sim::virtual_lab::{
    PhoneTuning, SensorSink, TICK_US as VIRTUAL_TICK_US, VirtualLab, VirtualLabError,
    VirtualOptions,
};
use std::sync::mpsc::Sender;

/// Errors of bench operations: either the request makes no sense for this
/// bench (a usage error) or the hardware failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("no DUT named \"{name}\" on bench \"{bench}\"{}", suggestion.as_ref().map(|s| format!("; did you mean \"{s}\"?")).unwrap_or_default())]
    UnknownDut {
        name: String,
        bench: String,
        suggestion: Option<String>,
    },
    #[error("DUT \"{dut}\" has no {what} in the bench file")]
    NotWired { dut: String, what: &'static str },
    #[error(transparent)]
    Hw(#[from] HwError),
}

/// The outputs of one DUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Power,
    Usb,
    Net,
    /// Control of the phone itself (not an electrical output, never switched to a safe state).
    Device,
}

/// What the bench last set on outputs, for hardware that cannot be read back.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Memory {
    relays: BTreeMap<String, BTreeMap<u8, bool>>,
    hubs: BTreeMap<String, BTreeMap<u8, bool>>,
    links: BTreeMap<String, NetState>,
}

pub struct Bench {
    config: BenchConfig,
    state_dir: PathBuf,
    /// The simulated lab, opened when a simulated backend first needs it.
    lab: LazyLab,
    backends: Backends,
    relays: HashMap<String, Box<dyn RelayBoard>>,
    hubs: HashMap<String, Box<dyn UsbHub>>,
    links: HashMap<String, Box<dyn NetLink>>,
    devices: HashMap<String, Option<Box<dyn DeviceControl>>>,
    /// The bench's lock, when this process holds it: its note says which
    /// DUTs are being switched, for whoever takes over after a crash.
    /// Last, so it is released after every backend has closed.
    lock: Option<lock::BenchLock>,
}

impl std::fmt::Debug for Bench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench")
            .field("name", &self.config.name)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl Bench {
    /// Prepare a bench; nothing is opened or switched yet.
    pub fn new(config: BenchConfig, state_dir: &Path) -> Result<Self, HwError> {
        std::fs::create_dir_all(state_dir).map_err(|e| {
            HwError::io("bench state directory", &state_dir.display().to_string(), e)
                .with_fix("set BENCHCTL_STATE_DIR or `[bench] state_dir` to a writable folder")
        })?;
        Ok(Bench {
            config,
            state_dir: state_dir.to_path_buf(),
            lab: LazyLab::in_state_dir(state_dir),
            backends: Backends::AsConfigured,
            relays: HashMap::new(),
            hubs: HashMap::new(),
            links: HashMap::new(),
            devices: HashMap::new(),
            lock: None,
        })
    }

    /// The bench as a run in virtual time sees it: every relay board and hub
    /// its simulated twin, the simulated lab in memory (everything off and
    /// isolated at the start, gone at the end), no state directory.
    pub fn in_virtual_time(config: BenchConfig) -> Self {
        Bench {
            config,
            state_dir: PathBuf::new(),
            lab: LazyLab::in_memory(),
            backends: Backends::SimulatedTwins,
            relays: HashMap::new(),
            hubs: HashMap::new(),
            links: HashMap::new(),
            devices: HashMap::new(),
            lock: None,
        }
    }

    pub fn config(&self) -> &BenchConfig {
        &self.config
    }

    /// Hold the bench under `lock` for as long as this `Bench` lives. When
    /// its previous holder died switching DUTs (a `kill -9`, a power cut),
    /// those DUTs go to their safe state first, and the dead holder's run,
    /// if it was recording one, is told in its journal. Returns what was
    /// done, in words.
    pub fn take(&mut self, lock: lock::BenchLock) -> Vec<String> {
        let mut said = Vec::new();
        if let Some(dead) = lock.took_over_from.clone()
            && !dead.touched.is_empty()
        {
            let mut made_safe = Vec::new();
            let known: Vec<String> = dead
                .touched
                .iter()
                .filter(|d| self.config.dut(d).is_some())
                .cloned()
                .collect();
            for dut in &known {
                let failures = self.apply_safe_state(dut);
                let detail = self.safe_state_words(dut);
                for e in &failures {
                    said.push(format!("{dut}: could not reach its safe state: {e}"));
                }
                made_safe.push((dut.clone(), failures.is_empty(), detail));
            }
            let names: Vec<&str> = made_safe.iter().map(|(d, _, _)| d.as_str()).collect();
            said.push(format!(
                "the last holder ({dead}) ended without finishing; {} it was switching went to the safe state",
                names.join(", ")
            ));
            if let Some(dir) = &dead.run_dir {
                match journal_takeover(dir, &dead, &made_safe) {
                    Ok(()) => said.push(format!("said so in {}", dir.display())),
                    Err(e) => said.push(format!("could not say so in {}: {e}", dir.display())),
                }
            }
        }
        self.lock = Some(lock);
        said
    }

    /// Note in the lock that `dut` is being switched (see [`Bench::take`]).
    pub fn note_touched(&mut self, dut: &str) {
        if let Some(lock) = &mut self.lock {
            lock.note_touched(dut);
        }
    }

    /// Note in the lock that what was switched is settled: held as meant,
    /// or made safe.
    pub fn note_settled(&mut self) {
        if let Some(lock) = &mut self.lock {
            lock.note_settled();
        }
    }

    /// Note in the lock the run directory being recorded.
    pub fn note_run_dir(&mut self, dir: &Path) {
        if let Some(lock) = &mut self.lock {
            lock.note_run_dir(dir);
        }
    }

    /// A DUT's safe state in words, for journals and logs.
    pub fn safe_state_words(&self, dut: &str) -> String {
        match self.config.dut(dut) {
            Some(d) => {
                let on_off = |on: bool| if on { "on" } else { "off" };
                format!(
                    "power {}, usb {}, net {}",
                    on_off(d.safe.power),
                    on_off(d.safe.usb),
                    d.safe.net
                )
            }
            None => String::new(),
        }
    }

    /// The bench side of `dut`'s link (see `open::link_bench_side`).
    pub fn link_bench_side(
        &self,
        dut: &str,
    ) -> (Option<benchctl_net::MacAddr>, Vec<std::net::IpAddr>) {
        open::link_bench_side(&self.config, dut)
    }

    /// Start the simulated phones among `duts` for a live run (see
    /// `open::start_plant`); `None` when none of them is simulated.
    pub fn start_plant(
        &self,
        duts: &[&str],
        shield: Option<&shield::BenchShield>,
        clock: RunClock,
        tap: Sender<TappedPacket>,
        room_seed: u64,
    ) -> Result<Option<Plant>, HwError> {
        open::start_plant(
            &self.config,
            &self.lab,
            duts,
            shield.and_then(|s| s.sim()),
            clock,
            tap,
            room_seed,
        )
    }

    /// The simulated lab of a bench in virtual time, stepped by the caller
    /// (see `sim::virtual_lab`).
    pub fn virtual_lab(
        &self,
        duts: &[&str],
        options: &VirtualOptions,
    ) -> Result<VirtualLab, VirtualLabError> {
        VirtualLab::new(&self.config, &self.lab, duts, options)
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The DUTs a command names: one by name, or every DUT for "all".
    pub fn select(&self, which: &str) -> Result<Vec<String>, BenchError> {
        if which == "all" {
            return Ok(self.config.duts.iter().map(|d| d.name.clone()).collect());
        }
        match self.config.dut(which) {
            Some(d) => Ok(vec![d.name.clone()]),
            None => Err(BenchError::UnknownDut {
                name: which.to_string(),
                bench: self.config.name.clone(),
                suggestion: crate::config::did_you_mean(
                    which,
                    self.config.duts.iter().map(|d| d.name.as_str()),
                )
                .map(str::to_string),
            }),
        }
    }

    pub fn dut(&self, name: &str) -> Result<&DutConfig, BenchError> {
        self.config.dut(name).ok_or_else(|| BenchError::UnknownDut {
            name: name.to_string(),
            bench: self.config.name.clone(),
            suggestion: None,
        })
    }

    /// Whether a DUT has this output wired.
    pub fn has(&self, dut: &str, output: Output) -> bool {
        self.config.dut(dut).is_some_and(|d| match output {
            Output::Power => d.power.is_some(),
            Output::Usb => d.usb.is_some(),
            Output::Net => d.link.is_some(),
            Output::Device => !d.device.is_none(),
        })
    }

    pub fn set_power(&mut self, dut: &str, on: bool) -> Result<(), BenchError> {
        let r = self.dut(dut)?.power.clone().ok_or(BenchError::NotWired {
            dut: dut.to_string(),
            what: "power relay",
        })?;
        self.relay_board(&r.board)?.set(r.channel, on)?;
        tracing::debug!(dut, board = %r.board, channel = r.channel, on, "power");
        self.remember(|m| {
            m.relays.entry(r.board).or_default().insert(r.channel, on);
        });
        Ok(())
    }

    pub fn set_usb(&mut self, dut: &str, on: bool) -> Result<(), BenchError> {
        let p = self.dut(dut)?.usb.clone().ok_or(BenchError::NotWired {
            dut: dut.to_string(),
            what: "USB hub port",
        })?;
        self.hub(&p.hub)?.set_port(p.port, on)?;
        tracing::debug!(dut, hub = %p.hub, port = p.port, on, "usb");
        self.remember(|m| {
            m.hubs.entry(p.hub).or_default().insert(p.port, on);
        });
        Ok(())
    }

    pub fn set_net(&mut self, dut: &str, state: NetState) -> Result<(), BenchError> {
        let l = self.dut(dut)?.link.clone().ok_or(BenchError::NotWired {
            dut: dut.to_string(),
            what: "network link",
        })?;
        self.link(&l)?.set(state)?;
        tracing::debug!(dut, link = %l, %state, "net");
        self.remember(|m| {
            m.links.insert(l, state);
        });
        Ok(())
    }

    /// Let the DUT reach only the destinations in `allow`.
    pub fn set_net_allowlist(&mut self, dut: &str, allow: &[String]) -> Result<(), BenchError> {
        let l = self.dut(dut)?.link.clone().ok_or(BenchError::NotWired {
            dut: dut.to_string(),
            what: "network link",
        })?;
        self.link(&l)?.set_allowlist(allow)?;
        tracing::debug!(dut, link = %l, allow = allow.join(", "), "net allowlist");
        self.remember(|m| {
            m.links.insert(l, NetState::Allowlist);
        });
        Ok(())
    }

    pub fn device_command(&mut self, dut: &str, cmd: DeviceCommand) -> Result<(), BenchError> {
        self.device(dut)?
            .ok_or(BenchError::NotWired {
                dut: dut.to_string(),
                what: "device control",
            })?
            .command(cmd)?;
        tracing::debug!(dut, %cmd, "device");
        Ok(())
    }

    /// Whether the DUT's phone can take a command now (see
    /// `DeviceControl::ready`).
    pub fn device_ready(&mut self, dut: &str) -> Result<Readiness, BenchError> {
        Ok(self
            .device(dut)?
            .ok_or(BenchError::NotWired {
                dut: dut.to_string(),
                what: "device control",
            })?
            .ready()?)
    }

    pub fn device_state(&mut self, dut: &str) -> Result<Option<DeviceState>, BenchError> {
        match self.device(dut)? {
            Some(d) => Ok(Some(d.state()?)),
            None => Ok(None),
        }
    }

    /// Drive one DUT's outputs to its safe state. Every output is tried even
    /// if one fails: a relay that will not open is no reason to leave the
    /// network open. Returns the failures.
    pub fn apply_safe_state(&mut self, dut: &str) -> Vec<BenchError> {
        let Some(safe): Option<SafeState> = self.config.dut(dut).map(|d| d.safe) else {
            return Vec::new();
        };
        let mut failures = Vec::new();
        // Network first: cut the DUT off before anything else can go wrong.
        if self.has(dut, Output::Net) {
            failures.extend(self.set_net(dut, safe.net).err());
        }
        if self.has(dut, Output::Usb) {
            failures.extend(self.set_usb(dut, safe.usb).err());
        }
        if self.has(dut, Output::Power) {
            failures.extend(self.set_power(dut, safe.power).err());
        }
        failures
    }

    /// What the bench last set, read fresh: another process may have
    /// switched since this one started.
    fn recall(&self) -> Memory {
        std::fs::read(self.state_dir.join("outputs.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn remember(&self, change: impl FnOnce(&mut Memory)) {
        if self.backends == Backends::SimulatedTwins {
            // In virtual time everything can be read back, and nothing outlives the run.
            return;
        }
        let mut memory = self.recall();
        change(&mut memory);
        let json = serde_json::to_vec_pretty(&memory).expect("memory serializes");
        if let Err(e) = benchctl_format::write_atomic(&self.state_dir.join("outputs.json"), &json) {
            // Only `status` of write-only hardware depends on it; never fail a switch for it.
            tracing::warn!(
                "cannot remember output states in {}: {e}",
                self.state_dir.display()
            );
        }
    }

    fn relay_board(&mut self, name: &str) -> Result<&mut Box<dyn RelayBoard>, HwError> {
        let (config, lab, backends) = (&self.config, &self.lab, self.backends);
        opened(&mut self.relays, name, || {
            let cfg = config.relay_board(name).expect("validated: board exists");
            open::open_relay_board(cfg, lab, backends)
        })
    }

    fn hub(&mut self, name: &str) -> Result<&mut Box<dyn UsbHub>, HwError> {
        let (config, lab, backends) = (&self.config, &self.lab, self.backends);
        opened(&mut self.hubs, name, || {
            open::open_hub(
                config.hub(name).expect("validated: hub exists"),
                lab,
                backends,
            )
        })
    }

    fn link(&mut self, name: &str) -> Result<&mut Box<dyn NetLink>, HwError> {
        let (config, lab) = (&self.config, &self.lab);
        opened(&mut self.links, name, || {
            open::open_link(config.link(name).expect("validated: link exists"), lab)
        })
    }

    fn device(&mut self, dut: &str) -> Result<Option<&mut Box<dyn DeviceControl>>, BenchError> {
        let cfg = self.dut(dut)?.clone();
        let lab = &self.lab;
        Ok(opened(&mut self.devices, dut, || open::open_device(&cfg, lab))?.as_mut())
    }

    /// What the bench last set on a relay channel, if anything.
    fn remembered_relay(&self, board: &str, channel: u8) -> Option<bool> {
        self.recall().relays.get(board)?.get(&channel).copied()
    }

    fn remembered_port(&self, hub: &str, port: u8) -> Option<bool> {
        self.recall().hubs.get(hub)?.get(&port).copied()
    }

    fn remembered_link(&self, link: &str) -> Option<NetState> {
        self.recall().links.get(link).copied()
    }
}

/// Append to a dead holder's run journal what became of its run: a fault
/// saying its process ended without finishing, and each DUT's safe state
/// as applied by whoever took the bench over.
fn journal_takeover(
    dir: &Path,
    dead: &lock::Holder,
    made_safe: &[(String, bool, String)],
) -> Result<(), String> {
    use benchctl_format::journal::{Event, Journal};
    let manifest =
        benchctl_format::input::read_document(&dir.join(benchctl_format::run_json::FILE_NAME))
            .map_err(|e| e.to_string())?;
    let manifest: benchctl_format::RunManifest =
        serde_json::from_slice(&manifest).map_err(|e| e.to_string())?;
    let started = humantime::parse_rfc3339(&manifest.started_utc).map_err(|e| e.to_string())?;
    let t = std::time::SystemTime::now()
        .duration_since(started)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut journal = Journal::append_to(dir).map_err(|e| e.to_string())?;
    journal
        .record(
            t,
            Event::fault(
                "bench",
                format!(
                    "the run's process (pid {} on {}) ended without finishing; the next holder of the bench sent its DUTs to their safe state",
                    dead.pid, dead.host
                ),
                None,
            ),
        )
        .map_err(|e| e.to_string())?;
    for (dut, ok, detail) in made_safe {
        journal
            .record(t, Event::action(Some(dut), "safe-state", *ok, Some(detail)))
            .map_err(|e| e.to_string())?;
    }
    journal.finish().map_err(|e| e.to_string())
}

/// The device called `name`, opened on first use and kept open after.
fn opened<'m, T>(
    devices: &'m mut HashMap<String, T>,
    name: &str,
    open: impl FnOnce() -> Result<T, HwError>,
) -> Result<&'m mut T, HwError> {
    if !devices.contains_key(name) {
        devices.insert(name.to_string(), open()?);
    }
    Ok(devices.get_mut(name).expect("inserted above"))
}

/// Combine a hardware reading with what the bench remembers setting.
fn shown<T: Copy>(reading: Result<Reading<T>, HwError>, remembered: Option<T>) -> Shown<T> {
    match reading {
        Ok(Reading::Read(v)) => Shown::Read(v),
        Ok(Reading::Unknown) => match remembered {
            Some(v) => Shown::LastSet(v),
            None => Shown::Unknown,
        },
        Err(e) => Shown::Error(e.to_string()),
    }
}
