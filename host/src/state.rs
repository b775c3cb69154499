//! The bench's state directory: the lock, the simulated lab, and what the
//! bench last set on outputs that cannot be read back. It is per bench, so two
//! benches on one host never share a lock.

use std::io::Write;
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

/// Replace `path` with `bytes` so that a reader sees the old or the new
/// content, never a mix, and a crash leaves one of the two.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
