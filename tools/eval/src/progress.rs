//! What a person sees while the corpus is recorded and judged (minutes):
//! at a terminal a bar with the runs done, elapsed and remaining time;
//! elsewhere (a CI log, a pipe) a plain line every ten seconds.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often plain mode writes a line.
const LINE_EVERY: Duration = Duration::from_secs(10);

pub struct RunsProgress {
    bar: Option<ProgressBar>,
    total: u64,
    started: Instant,
    /// Plain mode: when the last line was written.
    last_line: Mutex<Instant>,
    quiet: bool,
}

impl RunsProgress {
    /// A bar on stderr when it is a terminal; plain lines otherwise;
    /// nothing when `quiet`.
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} runs, {eta} left",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let now = Instant::now();
        RunsProgress {
            bar,
            total,
            started: now,
            last_line: Mutex::new(now),
            quiet,
        }
    }

    /// `done` runs of the corpus are recorded and judged.
    pub fn done(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        } else if !self.quiet
            && let Some(line) = self.line_due(done, Instant::now())
        {
            tracing::info!("{line}");
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// The plain line to write at `now`, if one is due: the first after
    /// ten seconds, then one every ten seconds, and the last run's.
    fn line_due(&self, done: u64, now: Instant) -> Option<String> {
        let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(*last) < LINE_EVERY && done < self.total {
            return None;
        }
        *last = now;
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let left = if done == 0 {
            String::new()
        } else {
            let rest = elapsed / done as f64 * (self.total - done.min(self.total)) as f64;
            format!(", about {rest:.0} s left")
        };
        Some(format!("{done}/{} runs, {elapsed:.0} s{left}", self.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_come_every_ten_seconds_and_at_the_end() {
        let t0 = Instant::now();
        let p = RunsProgress {
            bar: None,
            total: 100,
            started: t0,
            last_line: Mutex::new(t0),
            quiet: false,
        };
        assert_eq!(p.line_due(3, t0 + Duration::from_secs(4)), None);
        assert_eq!(
            p.line_due(25, t0 + Duration::from_secs(10)).as_deref(),
            Some("25/100 runs, 10 s, about 30 s left")
        );
        assert_eq!(p.line_due(30, t0 + Duration::from_secs(15)), None);
        assert_eq!(
            p.line_due(100, t0 + Duration::from_secs(16)).as_deref(),
            Some("100/100 runs, 16 s, about 0 s left")
        );
    }
}
