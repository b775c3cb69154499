//! The bench's state directory: the lock, the simulated lab, and what the
//! bench last set on outputs that cannot be read back. It is per bench, so two
//! benches on one host never share a lock.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::BenchConfig;

/// Where a bench keeps its state, first match wins:
/// `$BENCHCTL_STATE_DIR`, `[bench] state_dir`, `$XDG_RUNTIME_DIR/benchctl/<bench>`,
/// `/tmp/benchctl-<uid>/<bench>`.
///
/// The runtime directory is cleared at reboot, like the state of most relay
/// boards after a power cut of the host. Set `state_dir` to share one bench
/// between several users of a host (the lock lives there).
pub fn state_dir(config: &BenchConfig) -> PathBuf {
    if let Some(dir) = std::env::var_os("BENCHCTL_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = &config.state_dir {
        return dir.clone();
    }
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(run).join("benchctl").join(&config.name);
    }
    // No libc call needed for the uid: /proc/self belongs to us.
    let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    std::env::temp_dir()
        .join(format!("benchctl-{uid}"))
        .join(&config.name)
}

/// Why `dir` cannot be a bench's state directory, in words: a path that
/// exists as something else than a folder (`create_dir_all` would only say
/// "File exists").
pub fn unusable_state_dir(dir: &Path) -> Option<String> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Some(format!(
            "the bench's state directory {} is a file, not a folder: set `[bench] state_dir` or BENCHCTL_STATE_DIR to a folder (or remove the file)",
            dir.display()
        )),
        _ => None,
    }
}
