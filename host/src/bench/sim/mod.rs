//! The simulated lab: the state of simulated relays, hub ports, links and
//! phones. It lives in a file in the bench's state directory so that it holds
//! between commands, exactly as a physical relay holds after `benchctl` exits.
//!
//! Writes go to a temporary file renamed over the old one, so a reader (such
//! as `status`, which takes no lock) never sees half a state.

pub mod backends;
pub mod exposure;
#[cfg(test)]
mod implant_tests;
pub mod phone;
pub mod plant;
pub mod shield;
pub mod virtual_lab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::config::NetState;
use crate::hw::HwError;

/// Everything simulated on one bench.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabState {
    /// Relay board name -> closed channels (1-based).
    pub relays: BTreeMap<String, Vec<u8>>,
    /// Hub name -> powered ports (1-based).
    pub hubs: BTreeMap<String, Vec<u8>>,
    /// Link name -> state; a link not listed is isolated.
    pub links: BTreeMap<String, NetState>,
    /// Link name -> the allowlist it filters by in state `allowlist`.
    pub allowlists: BTreeMap<String, Vec<String>>,
    /// DUT name -> what the simulated phone was told.
    pub phones: BTreeMap<String, PhoneSettings>,
    /// "board/channel" -> how many times that relay has closed. A phone's
    /// settings belong to one power-on: after the supply was cut they are gone.
    pub power_ons: BTreeMap<String, u64>,
    /// "board/channel" -> the lab time (`SimLab::now`) that relay last
    /// closed: a phone boots (bench.toml's `boot`) from then.
    pub closed_at: BTreeMap<String, f64>,
    /// DUT -> the lab time its phone was last told to reboot.
    pub rebooted_at: BTreeMap<String, f64>,
    /// In virtual time, the run time the lab has reached (a live lab goes
    /// by the wall clock).
    pub virtual_now: Option<f64>,
}

impl LabState {
    pub fn relay_closed(&self, board: &str, channel: u8) -> bool {
        self.relays.get(board).is_some_and(|c| c.contains(&channel))
    }

    pub fn power_on_count(&self, board: &str, channel: u8) -> u64 {
        self.power_ons
            .get(&format!("{board}/{channel}"))
            .copied()
            .unwrap_or(0)
    }
}

/// What a phone waits beyond its boot before it takes commands: the plant
/// sees a switch at its next tick (10 ms), so the model's boot ends a
/// moment after the relay's.
const BOOT_MARGIN_S: f64 = 0.02;

/// The settings a simulated phone keeps while powered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhoneSettings {
    pub airplane: bool,
    pub screen: bool,
    /// Switched off in software: the phone says it is off, the supply is still on.
    pub soft_off: bool,
    /// The supply's power-on count these settings were made in.
    pub power_on: u64,
    /// Reboots asked for in this power-on (the model restarts on each).
    pub reboots: u64,
}

/// Whether a phone can take a command now.
impl PhoneSettings {
    /// Starting, up, or not answering: given whether it has power, how
    /// long ago (seconds of lab time) it last started, by power or reboot,
    /// and how long it boots. A little more is allowed for the phone model
    /// to see the switch at its next tick.
    pub fn readiness(
        &self,
        dut: &str,
        powered: bool,
        started_s_ago: Option<f64>,
        boot_s: f64,
    ) -> crate::hw::Readiness {
        use crate::hw::Readiness;
        if !powered {
            return Readiness::Off(format!("phone \"{dut}\" has no power"));
        }
        if self.soft_off {
            return Readiness::Off(format!("phone \"{dut}\" is switched off in software"));
        }
        match started_s_ago {
            Some(ago) if ago < boot_s + BOOT_MARGIN_S => Readiness::Starting(format!(
                "phone \"{dut}\" is still starting ({ago:.1} s into a {boot_s:.1} s boot)"
            )),
            _ => Readiness::Ready,
        }
    }

    /// What a simulated phone does when told `cmd`: the simulated device
    /// backend (`hw::sim`) and the offline recorder (`sim::offline`) both
    /// go through here. A phone without power, or switched off in software
    /// (except for a reboot, its power key), does not answer.
    pub fn obey(
        &mut self,
        dut: &str,
        powered: bool,
        cmd: crate::hw::DeviceCommand,
    ) -> Result<(), HwError> {
        use crate::hw::DeviceCommand;
        if !powered || (self.soft_off && cmd != DeviceCommand::Reboot) {
            return Err(HwError::new(
                format!("phone \"{dut}\""),
                format!("cannot {cmd}: the phone is off and does not answer"),
            )
            .with_fix(format!("`benchctl power {dut} on` first")));
        }
        match cmd {
            DeviceCommand::Airplane(on) => self.airplane = on,
            DeviceCommand::Screen(on) => self.screen = on,
            DeviceCommand::PowerOff => self.soft_off = true,
            DeviceCommand::Reboot => {
                self.soft_off = false;
                self.reboots += 1;
            }
        }
        Ok(())
    }
}

/// The simulated lab of one bench, shared by its simulated devices.
///
/// On a live bench it keeps nothing in memory: every read and every change
/// goes to the file, so a process that waited for the bench lock sees what
/// the previous holder left, not what was there when it started. A run in
/// virtual time keeps it in memory instead: nothing outlives that run.
#[derive(Debug)]
pub struct SimLab {
    store: Store,
}

#[derive(Debug)]
enum Store {
    File {
        path: PathBuf,
        /// Serialises read-modify-write within this process; the bench lock
        /// does it between processes.
        writing: Mutex<()>,
    },
    Memory(Mutex<LabState>),
}

impl SimLab {
    /// Open the lab whose state lives in `state_dir`; a missing file is a lab
    /// with everything off. The file is checked now so a corrupt one is
    /// reported before anything is switched.
    pub fn open(state_dir: &Path) -> Result<Self, HwError> {
        let lab = SimLab {
            store: Store::File {
                path: state_dir.join(FILE_NAME),
                writing: Mutex::new(()),
            },
        };
        lab.read()?;
        Ok(lab)
    }

    /// A lab with everything off and isolated that lives in memory only.
    pub fn in_memory() -> Self {
        SimLab {
            store: Store::Memory(Mutex::new(LabState::default())),
        }
    }

    /// The current state.
    pub fn snapshot(&self) -> Result<LabState, HwError> {
        self.read()
    }

    /// The lab's clock: the wall clock (seconds since 1970) for a lab on
    /// file, the run time it has reached for one in virtual time.
    pub fn now(&self) -> Result<f64, HwError> {
        match &self.store {
            Store::File { .. } => Ok(std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())),
            Store::Memory(state) => Ok(state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .virtual_now
                .unwrap_or(0.0)),
        }
    }

    /// Look at the current state without copying it (in memory) or with
    /// one read (from the file).
    pub fn inspect<R>(&self, look: impl FnOnce(&LabState) -> R) -> Result<R, HwError> {
        match &self.store {
            Store::Memory(state) => Ok(look(&state.lock().unwrap_or_else(|p| p.into_inner()))),
            Store::File { .. } => Ok(look(&self.read()?)),
        }
    }

    /// Change the state and persist it before returning, like a relay that
    /// has clicked.
    pub fn update<R>(&self, change: impl FnOnce(&mut LabState) -> R) -> Result<R, HwError> {
        match &self.store {
            // A panic while holding a mutex leaves nothing half-done in memory.
            Store::Memory(state) => {
                Ok(change(&mut state.lock().unwrap_or_else(|p| p.into_inner())))
            }
            Store::File { path, writing } => {
                let _guard = writing.lock().unwrap_or_else(|p| p.into_inner());
                let mut state = self.read()?;
                let result = change(&mut state);
                let json = serde_json::to_vec_pretty(&state).expect("lab state serializes");
                benchctl_format::write_atomic(path, &json)
                    .map_err(|e| HwError::io("simulated lab", &path.display().to_string(), e))?;
                Ok(result)
            }
        }
    }

    fn read(&self) -> Result<LabState, HwError> {
        let path = match &self.store {
            Store::Memory(state) => {
                return Ok(state.lock().unwrap_or_else(|p| p.into_inner()).clone());
            }
            Store::File { path, .. } => path,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                HwError::new(
                    "simulated lab",
                    format!("{}: unreadable: {e}", path.display()),
                )
                .with_fix("delete the file to reset the simulated lab to everything off")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LabState::default()),
            Err(e) => Err(HwError::io("simulated lab", &path.display().to_string(), e)),
        }
    }
}

/// The simulated lab's file in the bench's state directory.
pub const FILE_NAME: &str = "sim-lab.json";

/// The lab a bench's simulated backends share, opened when the first of
/// them is: a bench without simulated hardware never reads or creates the
/// file (and a corrupt one cannot stop it).
#[derive(Debug)]
pub struct LazyLab {
    state_dir: PathBuf,
    lab: OnceLock<Arc<SimLab>>,
}

impl LazyLab {
    /// The lab kept in `state_dir`, not opened yet.
    pub fn in_state_dir(state_dir: &Path) -> Self {
        LazyLab {
            state_dir: state_dir.to_path_buf(),
            lab: OnceLock::new(),
        }
    }

    /// A lab that lives in memory (a run in virtual time).
    pub fn in_memory() -> Self {
        let lab = OnceLock::new();
        let _ = lab.set(Arc::new(SimLab::in_memory()));
        LazyLab {
            state_dir: PathBuf::new(),
            lab,
        }
    }

    /// The lab, opened now if no simulated backend has opened it yet.
    pub fn get(&self) -> Result<Arc<SimLab>, HwError> {
        if let Some(lab) = self.lab.get() {
            return Ok(lab.clone());
        }
        let opened = Arc::new(SimLab::open(&self.state_dir)?);
        // Another thread may have won: use whichever is there.
        Ok(self.lab.get_or_init(|| opened).clone())
    }

    /// The lab if something opened it already.
    pub fn opened(&self) -> Option<Arc<SimLab>> {
        self.lab.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lab = SimLab::open(dir.path()).expect("open");
        lab.update(|s| s.relays.insert("relays".into(), vec![1, 3]))
            .expect("update");
        let again = SimLab::open(dir.path()).expect("reopen");
        assert_eq!(again.snapshot().expect("read").relays["relays"], vec![1, 3]);
    }

    #[test]
    fn corrupt_state_is_an_error_with_a_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").expect("write");
        let err = SimLab::open(dir.path()).expect_err("corrupt");
        assert!(err.to_string().contains("unreadable"), "{err}");
        assert!(err.fix.expect("fix").contains("delete the file"));
    }
}
