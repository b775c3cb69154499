//! The run's journal as the runner and the recorder share it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use benchctl_format::RecordError;
use benchctl_format::journal::{Event, Journal};

use crate::hw::shield::RunClock;

/// What the run clock reads now: the wall clock since the run's origin, or
/// the virtual clock wherever the runner has advanced it.
#[derive(Debug, Clone)]
pub enum RunTime {
    Wall(RunClock),
    /// Microseconds since t = 0, set by `runner::virtual_time`.
    Virtual(Arc<AtomicU64>),
}

impl RunTime {
    /// Run-clock seconds now (negative before a wall clock's origin).
    pub fn seconds(&self) -> f64 {
        match self {
            RunTime::Wall(clock) => clock.seconds(Instant::now()),
            RunTime::Virtual(us) => us.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// The journal, shared by the runner (actions, phases) and the recorder
/// (faults): each line is stamped with the run clock while the lock is held,
/// so lines reach the file in `t` order whoever writes them.
#[derive(Debug)]
pub struct RunJournal {
    journal: Mutex<Option<Journal>>,
    clock: RunTime,
    faults: AtomicU64,
}

impl RunJournal {
    pub fn new(journal: Journal, clock: RunTime) -> Self {
        RunJournal {
            journal: Mutex::new(Some(journal)),
            clock,
            faults: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Journal>> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append `event` now; returns its `t`.
    pub fn record(&self, event: Event) -> Result<f64, RecordError> {
        let mut journal = self.lock();
        let t = self.clock.seconds();
        if matches!(event, Event::Fault { .. }) {
            self.faults.fetch_add(1, Ordering::Relaxed);
        }
        match journal.as_mut() {
            Some(j) => j.record(t, event).map(|()| t),
            // Finished: the run is over, nothing more belongs in it.
            None => Ok(t),
        }
    }

    /// Fault lines so far.
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    pub fn maybe_flush(&self, now: Instant) -> Result<bool, RecordError> {
        match self.lock().as_mut() {
            Some(j) => j.maybe_flush(now),
            None => Ok(false),
        }
    }

    /// Flush and fsync; later `record`s are dropped.
    pub fn finish(&self) -> Result<(), RecordError> {
        match self.lock().take() {
            Some(j) => j.finish(),
            None => Ok(()),
        }
    }
}
