//! A scenario as the runner executes it: every DUT's timeline flattened into
//! one list of timed operations on the run clock.
//!
//! Each operation is due at its timeline's nominal time (the sum of the
//! waits before it), not "after the previous one finished": a slow relay
//! makes one step late, it does not push the rest of the scenario back. How
//! late each step really started is the run's timing jitter.

use std::time::Duration;

use crate::scenario::{Action, Expect, Scenario, StepKind};

/// One thing to do at a time on the run clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// When it is due, from the start of the run.
    pub at: Duration,
    pub dut: String,
    /// Line of the step in the scenario file.
    pub line: usize,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Phase { name: String, expect: Expect },
    Act(Act),
    Mark(String),
}

/// A bench action. A power cycle is two: off, then on after its off time,
/// so the supply really stays off that long on the run clock and both
/// switchings are in the journal.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    Scenario(Action),
    CycleOff { off_time: Duration },
    CycleOn,
}

impl Act {
    /// The journal's `action`.
    pub fn name(&self) -> &'static str {
        match self {
            Act::Scenario(a) => a.name(),
            Act::CycleOff { .. } => "power.off",
            Act::CycleOn => "power.on",
        }
    }

    /// The journal's `detail`.
    pub fn detail(&self) -> Option<String> {
        match self {
            Act::Scenario(a) => a.detail(),
            Act::CycleOff { off_time } => Some(format!(
                "power.cycle: off for {}",
                crate::config::duration::format(*off_time)
            )),
            Act::CycleOn => Some("power.cycle: on again".into()),
        }
    }
}

/// The scenario's operations in the order they are due (a DUT's own steps
/// keep their file order at equal times), and when the run ends.
pub fn plan(scenario: &Scenario) -> (Vec<Op>, Duration) {
    let mut ops = Vec::new();
    for timeline in &scenario.timelines {
        for (at, step) in timeline.schedule() {
            let op = |what| Op {
                at,
                dut: timeline.dut.clone(),
                line: step.line,
                what,
            };
            match &step.kind {
                StepKind::Wait { .. } => {}
                StepKind::Mark { text } => ops.push(op(What::Mark(text.clone()))),
                StepKind::Phase { name, expect } => ops.push(op(What::Phase {
                    name: name.clone(),
                    expect: expect.clone(),
                })),
                StepKind::Action {
                    action: Action::PowerCycle { off_time },
                } => {
                    ops.push(op(What::Act(Act::CycleOff {
                        off_time: *off_time,
                    })));
                    ops.push(Op {
                        at: at + *off_time,
                        ..op(What::Act(Act::CycleOn))
                    });
                }
                StepKind::Action { action } => {
                    ops.push(op(What::Act(Act::Scenario(action.clone()))))
                }
            }
        }
    }
    // Stable: equal times keep timeline order, and a timeline's file order.
    ops.sort_by_key(|op| op.at);
    (ops, scenario.nominal_duration())
}

/// How late steps started, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Jitter {
    pub steps: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Jitter {
    /// From each step's lateness in seconds.
    pub fn of(late_s: &[f64]) -> Jitter {
        if late_s.is_empty() {
            return Jitter::default();
        }
        let mut ms: Vec<f64> = late_s.iter().map(|s| s * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least p of the steps at
        // or below it.
        let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Jitter {
            steps: ms.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: ms[ms.len() - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        let bench = crate::config::parse(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench.toml")),
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench.toml"))
                .expect("bench.toml"),
        )
        .expect("default bench");
        crate::scenario::parse(std::path::Path::new("t.toml"), text, &bench).expect("scenario")
    }

    #[test]
    fn timelines_interleave_on_one_clock_and_a_cycle_is_two_switchings() {
        let s = scenario(
            r#"
[scenario]
name = "t"
duts = ["phone-a", "phone-b"]
steps = [{ phase = "boot" }, { do = "power.on" }, { wait = "5s" }, { mark = "up" }]

[timelines.phone-b]
steps = [{ wait = "2s" }, { do = "power.cycle", off_time = "1s" }, { wait = "4s" }]
"#,
        );
        let (ops, end) = plan(&s);
        let seen: Vec<(u64, &str, &str)> = ops
            .iter()
            .map(|o| {
                let what = match &o.what {
                    What::Phase { name, .. } => name.as_str(),
                    What::Act(a) => a.name(),
                    What::Mark(m) => m.as_str(),
                };
                (o.at.as_millis() as u64, o.dut.as_str(), what)
            })
            .collect();
        assert_eq!(
            seen,
            [
                (0, "phone-a", "boot"),
                (0, "phone-a", "power.on"),
                (2000, "phone-b", "power.off"),
                (3000, "phone-b", "power.on"),
                (5000, "phone-a", "up"),
            ]
        );
        assert_eq!(end, Duration::from_secs(7));
    }

    #[test]
    fn jitter_percentiles_by_nearest_rank() {
        let late: Vec<f64> = (1..=100).map(|i| f64::from(i) / 1000.0).collect();
        let j = Jitter::of(&late);
        assert_eq!(j.steps, 100);
        assert!((j.p50_ms - 50.0).abs() < 1e-9);
        assert!((j.p99_ms - 99.0).abs() < 1e-9);
        assert!((j.max_ms - 100.0).abs() < 1e-9);
        assert_eq!(Jitter::of(&[]), Jitter::default());
        assert!((Jitter::of(&[0.002]).p99_ms - 2.0).abs() < 1e-9);
    }
}
