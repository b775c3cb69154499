//! Ctrl-C, SIGTERM and SIGHUP become a request to stop, which commands
//! observe between steps and in every wait. The process never dies in the
//! middle of switching: it stops, drives the bench to its safe state (see
//! `bench::safety`) and exits with 128 + the signal number, as shells expect.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A shared view of "has someone asked us to stop?".
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Option<i32>>,
}

impl Shutdown {
    /// Start listening for stop signals; call inside the tokio runtime.
    pub fn install() -> std::io::Result<Shutdown> {
        let (tx, rx) = watch::channel(None);
        for (kind, signo) in [
            (SignalKind::interrupt(), 2),
            (SignalKind::terminate(), 15),
            (SignalKind::hangup(), 1),
        ] {
            let mut stream = signal(kind)?;
            let tx = tx.clone();
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    tracing::warn!("signal {signo} received: stopping, bench to safe state");
                    // The first signal wins; later ones while stopping are ignored.
                    tx.send_if_modified(|s| s.is_none() && s.replace(signo).is_none());
                }
            });
        }
        Ok(Shutdown { rx })
    }

    /// A shutdown that never fires (for library users and tests).
    pub fn never() -> Shutdown {
        let (tx, rx) = watch::channel(None);
        // Keep the sender alive forever so `requested` stays pending.
        std::mem::forget(tx);
        Shutdown { rx }
    }

    /// The signal that asked us to stop, if any.
    pub fn signal(&self) -> Option<i32> {
        *self.rx.borrow()
    }

    /// Wait until a stop is requested; returns the signal number.
    pub async fn requested(&mut self) -> i32 {
        loop {
            if let Some(s) = *self.rx.borrow_and_update() {
                return s;
            }
            if self.rx.changed().await.is_err() {
                // Sender gone: nobody can ask any more.
                std::future::pending::<()>().await;
            }
        }
    }
}
