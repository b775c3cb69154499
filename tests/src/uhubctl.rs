//! A fake `uhubctl` (the script `tests/fakes/uhubctl`) with its own hubs,
//! state file and call log. It follows the real program's command line and
//! output, so a backend tested against it works against the real one.
//!
//! Each instance writes a wrapper script that sets the fake's environment,
//! so tests run in parallel without touching their own process's env.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The fake program itself.
pub fn fake_uhubctl_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fakes/uhubctl")
}

/// A set of fake hubs behind one `uhubctl` program.
#[derive(Debug)]
pub struct FakeUhubctl {
    dir: tempfile::TempDir,
}

impl FakeUhubctl {
    /// `hubs` as the fake's `FAKE_UHUBCTL_HUBS`: space-separated
    /// `location:ports:mode[:usb[:companion]]`, e.g. `"1-1:4:ppps"`.
    /// `extra_env` sets more of the fake's knobs (`FAKE_UHUBCTL_STUCK`, ...).
    pub fn new(hubs: &str, extra_env: &[(&str, &str)]) -> io::Result<FakeUhubctl> {
        let dir = tempfile::tempdir()?;
        let mut script = String::from("#!/bin/sh\n");
        let state = dir.path().join("state");
        let log = dir.path().join("log");
        script += &format!("export FAKE_UHUBCTL_STATE='{}'\n", state.display());
        script += &format!("export FAKE_UHUBCTL_LOG='{}'\n", log.display());
        script += &format!("export FAKE_UHUBCTL_HUBS='{hubs}'\n");
        for (k, v) in extra_env {
            script += &format!("export {k}='{v}'\n");
        }
        script += &format!("exec '{}' \"$@\"\n", fake_uhubctl_script().display());
        let wrapper = dir.path().join("uhubctl");
        fs::write(&wrapper, script)?;
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))?;
        Ok(FakeUhubctl { dir })
    }

    /// The program to configure as `program = ...`.
    pub fn program(&self) -> PathBuf {
        self.dir.path().join("uhubctl")
    }

    /// The port's power as the fake hub keeps it: "on" or "off".
    pub fn port_state(&self, location: &str, port: u8) -> String {
        let state = fs::read_to_string(self.dir.path().join("state")).unwrap_or_default();
        state
            .lines()
            .find_map(|l| {
                let mut f = l.split_whitespace();
                (f.next() == Some(location) && f.next() == Some(&port.to_string()))
                    .then(|| f.next().unwrap_or_default().to_string())
            })
            .unwrap_or_else(|| panic!("no state for {location} port {port} in:\n{state}"))
    }

    /// Every command line the fake was run with.
    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}
