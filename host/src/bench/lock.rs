//! One process controls a bench at a time.
//!
//! The lock is an advisory `flock` on `<state_dir>/lock`. The kernel drops it
//! when the holder dies, however it dies (`kill -9`, a cancelled CI job, a
//! power cut of the host), so there is never a stale lock to clean up by hand:
//! the top complaint about lab tools that keep lock state in a file's
//! existence or in a server. The file's content names the holder (pid, host,
//! user, command, since when) so a refused process can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Who holds a bench.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub user: String,
    pub command: String,
    /// RFC 3339, UTC.
    pub since: String,
    /// DUTs it is in the middle of switching (touched, not yet held or
    /// made safe): a holder that dies leaves them in whatever state, and
    /// whoever takes over sends them to their safe state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touched: Vec<String>,
    /// The run directory it is recording into, if any: where the takeover
    /// is journaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<PathBuf>,
}

impl Holder {
    /// This process.
    pub fn current() -> Self {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            user: user_name(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            touched: Vec::new(),
            run_dir: None,
        }
    }
}

/// Who runs this process: `$USER` (or `$LOGNAME`), else the name
/// /etc/passwd gives our uid (a service or a CI runner often sets neither),
/// else `uid N`.
fn user_name() -> String {
    if let Some(name) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
    {
        return name;
    }
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid());
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id: u32 = fields.nth(1)?.parse().ok()?;
                (id == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} (user {}) running `{}` since {}",
            self.pid, self.host, self.user, self.command, self.since
        )
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("bench \"{bench}\" is in use by {holder}")]
    Busy {
        bench: String,
        /// None when the holder's note could not be read (it is being written).
        holder: HolderText,
        path: PathBuf,
    },
    #[error("bench \"{bench}\" still in use after waiting {waited}: {holder}")]
    Timeout {
        bench: String,
        holder: HolderText,
        waited: String,
    },
    #[error("cannot use the bench lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("interrupted while waiting for the bench lock")]
    Interrupted,
}

/// The holder as far as we could tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderText(pub Option<Box<Holder>>);

impl std::fmt::Display for HolderText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(h) => h.fmt(f),
            None => f.write_str("another process (it has not written its name yet)"),
        }
    }
}

/// A held bench. Dropping it releases the bench.
#[derive(Debug)]
pub struct BenchLock {
    file: File,
    path: PathBuf,
    /// The previous holder died without releasing (its note was still there).
    pub took_over_from: Option<Holder>,
    /// What this holder's note says.
    note: Holder,
}

impl BenchLock {
    /// Take the bench now or fail naming the holder.
    pub fn try_acquire(state_dir: &Path, bench: &str) -> Result<BenchLock, LockError> {
        let path = state_dir.join("lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LockError::Busy {
                    bench: bench.to_string(),
                    holder: HolderText(read_holder(&mut file).map(Box::new)),
                    path,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        // A note left behind means the last holder died holding the bench.
        let took_over_from = read_holder(&mut file);
        let mut lock = BenchLock {
            file,
            path: path.clone(),
            took_over_from,
            note: Holder::current(),
        };
        lock.write_note().map_err(io)?;
        Ok(lock)
    }

    /// Rewrite the note (synced: it must outlive a `kill -9`).
    fn write_note(&mut self) -> std::io::Result<()> {
        let note = serde_json::to_string(&self.note).expect("holder serializes");
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(note.as_bytes())?;
        self.file.sync_data()
    }

    /// Note that this holder is switching `dut` (see [`Holder::touched`]).
    pub fn note_touched(&mut self, dut: &str) {
        if !self.note.touched.iter().any(|d| d == dut) {
            self.note.touched.push(dut.to_string());
            self.rewrite();
        }
    }

    /// Note that nothing this holder switched needs undoing any more: it
    /// held what it meant to, or made it safe.
    pub fn note_settled(&mut self) {
        if !self.note.touched.is_empty() || self.note.run_dir.is_some() {
            self.note.touched.clear();
            self.note.run_dir = None;
            self.rewrite();
        }
    }

    /// Note the run directory this holder records into.
    pub fn note_run_dir(&mut self, dir: &Path) {
        self.note.run_dir = Some(dir.to_path_buf());
        self.rewrite();
    }

    fn rewrite(&mut self) {
        if let Err(e) = self.write_note() {
            // The lock itself holds; only a takeover after a crash would
            // know less.
            tracing::warn!(
                "cannot update the bench lock's note {}: {e}",
                self.path.display()
            );
        }
    }

    /// Take the bench, queueing up to `wait` behind the holder. `on_wait` is
    /// called once with the holder when we start waiting; `cancelled` is polled
    /// between attempts so Ctrl-C ends the wait.
    pub async fn acquire(
        state_dir: &Path,
        bench: &str,
        wait: Duration,
        mut on_wait: impl FnMut(&HolderText),
        cancelled: impl Fn() -> bool,
    ) -> Result<BenchLock, LockError> {
        let start = tokio::time::Instant::now();
        let mut told = false;
        // Poll: flock has no async wait, and a blocking flock cannot be
        // cancelled by Ctrl-C. Back off to 1 s so a queue of CI jobs stays cheap.
        let mut pause = Duration::from_millis(50);
        loop {
            match Self::try_acquire(state_dir, bench) {
                Err(LockError::Busy { holder, bench, .. }) => {
                    if start.elapsed() >= wait {
                        return Err(if wait.is_zero() {
                            LockError::Busy {
                                bench,
                                holder,
                                path: state_dir.join("lock"),
                            }
                        } else {
                            LockError::Timeout {
                                bench,
                                holder,
                                waited: crate::config::duration::format(wait),
                            }
                        });
                    }
                    if !told {
                        on_wait(&holder);
                        told = true;
                    }
                    if cancelled() {
                        return Err(LockError::Interrupted);
                    }
                    let left = wait.saturating_sub(start.elapsed());
                    tokio::time::sleep(pause.min(left)).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BenchLock {
    fn drop(&mut self) {
        // Clear the note first: a note without a lock means "died holding it".
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = BenchLock::try_acquire(dir.path(), "lab").expect("first");
        assert_eq!(first.took_over_from, None);
        // flock locks belong to the open file description, so a second open in
        // the same process conflicts just as another process would.
        match BenchLock::try_acquire(dir.path(), "lab") {
            Err(LockError::Busy { holder, .. }) => {
                let h = holder.0.expect("holder note");
                assert_eq!(h.pid, std::process::id());
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(first);
        let again = BenchLock::try_acquire(dir.path(), "lab").expect("after release");
        assert_eq!(again.took_over_from, None, "a clean release leaves no note");
    }

    #[test]
    fn a_note_without_a_lock_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dead = Holder {
            pid: 999_999,
            host: "bench-host".into(),
            user: "ci".into(),
            command: "benchctl run nightly.toml".into(),
            since: "2026-11-26T03:00:00Z".into(),
            touched: vec!["phone-a".into()],
            run_dir: Some("runs/x".into()),
        };
        std::fs::write(
            dir.path().join("lock"),
            serde_json::to_string(&dead).expect("json"),
        )
        .expect("write");
        let lock = BenchLock::try_acquire(dir.path(), "lab").expect("take over");
        assert_eq!(lock.took_over_from, Some(dead));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_times_out_naming_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = BenchLock::try_acquire(dir.path(), "lab").expect("first");
        let mut waited_for = None;
        let err = BenchLock::acquire(
            dir.path(),
            "lab",
            Duration::from_secs(5),
            |h| waited_for = Some(h.clone()),
            || false,
        )
        .await
        .expect_err("held");
        assert!(matches!(err, LockError::Timeout { .. }), "{err:?}");
        assert!(err.to_string().contains("after waiting 5s"), "{err}");
        assert!(waited_for.is_some());
    }
}
