//! What a person (or a CI log) sees while a scenario runs: at a terminal a
//! live bar with elapsed and remaining time, the phase each DUT is in, and
//! the counts of frames, packets and faults; elsewhere plain lines, one at
//! each phase change and one every ten seconds, that read well in a log.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The counts shown with the bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub frames: u64,
    pub frames_lost: u64,
    pub packets: u64,
    pub faults: u64,
}

#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    phases: BTreeMap<String, String>,
    total: Duration,
    /// Plain mode: elapsed time of the last status line.
    last_line: Option<Duration>,
    quiet: bool,
}

/// How often plain mode writes a status line between phase changes.
const LINE_EVERY: Duration = Duration::from_secs(10);

impl Progress {
    /// A bar on stderr when it is a terminal and `live` allows it; plain
    /// lines otherwise; nothing at all when `quiet`.
    pub fn new(total: Duration, live: bool, quiet: bool) -> Progress {
        let bar = (live && !quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total.as_millis() as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {prefix} left\n  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            phases: BTreeMap::new(),
            total,
            last_line: None,
            quiet,
        }
    }

    /// `dut` entered phase `name` at run time `t`.
    pub fn phase(&mut self, t: Duration, dut: &str, name: &str) {
        self.phases.insert(dut.to_string(), name.to_string());
        if self.bar.is_none() && !self.quiet {
            tracing::info!("t={:>6.1}s  {dut}: phase {name}", t.as_secs_f64());
        }
    }

    /// A line worth a person's attention (a fault, a failed action).
    pub fn warn(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| tracing::warn!("{text}")),
            None => tracing::warn!("{text}"),
        }
    }

    /// Refresh with the run at `elapsed`.
    pub fn update(&mut self, elapsed: Duration, counts: Counts) {
        let phases = self
            .phases
            .iter()
            .map(|(dut, phase)| format!("{dut}: {phase}"))
            .collect::<Vec<_>>()
            .join("  ");
        let left = self.total.saturating_sub(elapsed);
        let status = format!(
            "{phases}  |  {} frames{}, {} packets, {} faults",
            counts.frames,
            if counts.frames_lost > 0 {
                format!(" ({} lost)", counts.frames_lost)
            } else {
                String::new()
            },
            counts.packets,
            counts.faults
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(elapsed.as_millis() as u64);
                bar.set_prefix(format!("{:.0}s", left.as_secs_f64().ceil()));
                bar.set_message(status);
            }
            None if !self.quiet
                && self
                    .last_line
                    .is_none_or(|last| elapsed.saturating_sub(last) >= LINE_EVERY) =>
            {
                self.last_line = Some(elapsed);
                tracing::info!(
                    "t={:>6.1}s  {:.0}s left  {status}",
                    elapsed.as_secs_f64(),
                    left.as_secs_f64().ceil()
                );
            }
            None => {}
        }
    }

    /// Take the bar off the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
