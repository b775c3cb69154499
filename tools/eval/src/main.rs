//! `benchctl-eval`: measure the detectors. Generates a labelled corpus from
//! the simulated lab (every implant class at several strengths, and honest
//! phones in hard conditions), analyzes every run exactly as `benchctl
//! analyze` would, and reports per class the detection rate, the false
//! positive rate on honest phones, and the time per run.
//!
//! A tool of the people who build the detectors, not of a lab at its bench:
//! it lives beside benchctl, not in it, so the product binary carries no
//! corpus generator (`cargo run --release -p benchctl-eval -- --help`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Parser;
use serde::Serialize;

use benchctl::cli::table;
use benchctl::shutdown::Shutdown;
use benchctl_detect::Severity;
use benchctl_detect::analyze::{self, Verdict};
use benchctl_eval::corpus::{self, Class};

mod progress;

/// Measure detection and false positive rates on a generated corpus.
///
/// Every case is a recording of the evaluation scenario (all phases) made
/// in virtual time by the simulated lab on the default bench built into
/// benchctl (not --bench): phone-b carries one implant with randomized
/// parameters, across strength tiers down to the weakest the detectors
/// claim to catch, or none (the benign class: room interference, BLE, push
/// keep-alives, bursty apps, slow networks). phone-a stays switched off
/// outside the scenario: its empty enclosure is the room's reference.
///
/// Detection: phone-b fails with the finding its implant should cause. False
/// positive: the honest phone-b of a benign case fails (implant classes
/// judge no honest phone, so their false positive column is "-").
/// Thresholds are fixed; the default seed is not the one they were chosen on.
///
/// The table: per class, runs, detection rate (detected/runs), detection per
/// strength tier (benign: runs per condition), the false positive rate
/// (false positives/honest phones), and the mean time per run to record it
/// in virtual time and to analyze it. Exit code 0 whenever the evaluation
/// ran, whatever the rates (the targets are in the README); 3 if a case
/// could not be recorded or analyzed.
#[derive(Debug, Parser)]
#[command(
    name = "benchctl-eval",
    version,
    after_help = "Examples:
  benchctl-eval                               200 runs per class (several minutes on 2 cores)
  benchctl-eval --runs 20 --class beacon      a quick look at one class
  benchctl-eval --keep corpus/                keep the run directories and their labels

From a clone: cargo run --release -p benchctl-eval -- --runs 200 --seed 2"
)]
pub struct Eval {
    /// Runs per class
    #[arg(long, default_value_t = 200)]
    pub runs: u64,
    /// Master seed of the corpus (thresholds were fixed on seed 1)
    #[arg(long, default_value_t = 2)]
    pub seed: u64,
    /// Only this class (repeatable): benign, airplane-tx, fake-off, ...
    #[arg(long = "class", value_name = "CLASS")]
    pub classes: Vec<Class>,
    /// Keep the corpus here (run directories with label.json)
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Worker threads [default: the CPUs available]
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Machine-readable output on stdout
    #[arg(long)]
    pub json: bool,
    /// More log output (-v debug, -vv trace)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long)]
    pub quiet: bool,
}

/// Why the evaluation did not give a table.
#[derive(Debug)]
enum Failed {
    /// Exit 2: a folder that cannot be made.
    Usage(String),
    /// Exit 3: a case that could not be recorded or analyzed.
    Case(String),
    /// Exit 128 + N.
    Stopped(i32),
}

fn main() -> ExitCode {
    let eval = Eval::parse();
    benchctl::cli::init_logging(eval.verbose, eval.quiet);
    let runtime = match benchctl::cli::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // The signal handlers run on this thread; the evaluation on workers.
    let outcome = runtime.block_on(async {
        let shutdown = Shutdown::install()
            .map_err(|e| Failed::Case(format!("cannot install signal handlers: {e}")))?;
        tokio::task::spawn_blocking(move || eval.run(&shutdown))
            .await
            .map_err(|e| Failed::Case(format!("the evaluation panicked: {e}")))?
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed::Usage(e)) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(2)
        }
        Err(Failed::Case(e)) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(3)
        }
        Err(Failed::Stopped(signal)) => {
            let _ = writeln!(std::io::stderr(), "stopped by signal {signal}");
            ExitCode::from(128 + signal as u8)
        }
    }
}

/// One class's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassResult {
    pub class: String,
    pub runs: u64,
    /// Implant classes: runs where phone-b failed with the expected finding.
    pub detected: u64,
    pub detection_rate: Option<f64>,
    /// Honest phones judged (phone-b in benign runs).
    pub honest_phones: u64,
    pub false_positives: u64,
    /// None when the class judged no honest phone.
    pub false_positive_rate: Option<f64>,
    /// Per strength tier: (runs, detected).
    pub by_strength: BTreeMap<String, (u64, u64)>,
    pub mean_record_ms: f64,
    pub mean_analyze_ms: f64,
    /// A few runs that were missed or falsely flagged, for a look.
    pub examples: Vec<String>,
}

/// The finding kinds that count as catching `class`.
fn expected(class: Class) -> &'static [&'static str] {
    match class {
        Class::Benign => &[],
        Class::AirplaneTx => &["rf-in-silence"],
        Class::FakeOff => &["power-in-off"],
        Class::IsolatedTalker => &["net-in-isolation"],
        Class::DnsExfil => &["dns-exfiltration"],
        Class::Beacon => &["net-beacon"],
        Class::TimingChannel | Class::RfTiming => &["timing-channel"],
    }
}

impl Eval {
    fn run(self, shutdown: &Shutdown) -> Result<(), Failed> {
        let classes = if self.classes.is_empty() {
            Class::ALL.to_vec()
        } else {
            self.classes.clone()
        };
        let jobs = self
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        let scratch = std::env::temp_dir().join(format!("benchctl-eval-{}", std::process::id()));
        let root = self.keep.clone().unwrap_or_else(|| scratch.clone());
        std::fs::create_dir_all(&root)
            .map_err(|e| Failed::Usage(format!("cannot make {}: {e}", root.display())))?;
        let work: Vec<(Class, u64)> = classes
            .iter()
            .flat_map(|&c| (0..self.runs).map(move |i| (c, i)))
            .collect();
        let next = AtomicU64::new(0);
        let results: Mutex<BTreeMap<String, ClassResult>> = Mutex::new(BTreeMap::new());
        let failure: Mutex<Option<String>> = Mutex::new(None);
        let started = Instant::now();
        let progress = progress::RunsProgress::new(work.len() as u64, self.quiet);
        let done = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some(&(class, index)) = work.get(k) else {
                            break;
                        };
                        if shutdown.signal().is_some() || failure.lock().is_ok_and(|f| f.is_some())
                        {
                            break;
                        }
                        match self.one(class, index, &root) {
                            Ok(outcome) => {
                                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                                outcome
                                    .add_to(r.entry(class.name().to_string()).or_default(), class);
                            }
                            Err(e) => {
                                *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            }
                        }
                        progress.done(done.fetch_add(1, Ordering::Relaxed) + 1);
                    }
                });
            }
        });
        progress.finish();
        if self.keep.is_none() {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        if let Some(signal) = shutdown.signal() {
            return Err(Failed::Stopped(signal));
        }
        if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(Failed::Case(e));
        }
        let mut results: Vec<ClassResult> = results
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_values()
            .collect();
        for r in &mut results {
            r.mean_record_ms /= r.runs.max(1) as f64;
            r.mean_analyze_ms /= r.runs.max(1) as f64;
            r.false_positive_rate =
                (r.honest_phones > 0).then(|| r.false_positives as f64 / r.honest_phones as f64);
        }
        let report = Report {
            seed: self.seed,
            runs_per_class: self.runs,
            seconds: started.elapsed().as_secs_f64(),
            jobs,
            classes: results,
        };
        let text = if self.json {
            serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
        } else {
            render(&report)
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        Ok(())
    }

    /// Record and analyze one case.
    fn one(&self, class: Class, index: u64, root: &std::path::Path) -> Result<Outcome, String> {
        let case = corpus::case(class, index, self.seed).map_err(|e| e.to_string())?;
        // A neutral name: the run id must not give the class away.
        let dir = root.join(format!("run-{:016x}", benchctl_rng::mix(case.seed ^ index)));
        let t = Instant::now();
        case.record(&dir)
            .map_err(|e| format!("recording case {class} #{index}: {e}"))?;
        let record_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let findings =
            analyze::analyze(&dir).map_err(|e| format!("analyzing case {class} #{index}: {e}"))?;
        let analyze_ms = t.elapsed().as_secs_f64() * 1e3;
        if self.keep.is_some() {
            let label = serde_json::to_vec_pretty(&case.label()).unwrap_or_default();
            let _ = std::fs::write(dir.join("label.json"), label);
            let _ = analyze::write(&dir, &findings);
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
        let dut = corpus::DUT;
        let caught = findings.duts.iter().any(|d| {
            d.dut == dut
                && d.findings
                    .iter()
                    .any(|f| f.severity >= Severity::Medium && expected(class).contains(&f.kind))
        });
        let honest: Vec<bool> = findings
            .duts
            .iter()
            .filter(|d| d.dut != dut || class == Class::Benign)
            .map(|d| d.verdict == Verdict::Fail)
            .collect();
        Ok(Outcome {
            strength: case.strength.clone(),
            caught,
            honest,
            record_ms,
            analyze_ms,
            name: format!("{class} #{index} ({}) {}", case.strength, dir.display()),
        })
    }
}

struct Outcome {
    strength: String,
    caught: bool,
    /// Per honest phone: falsely failed.
    honest: Vec<bool>,
    record_ms: f64,
    analyze_ms: f64,
    name: String,
}

impl Outcome {
    fn add_to(self, r: &mut ClassResult, class: Class) {
        r.class = class.name().to_string();
        r.runs += 1;
        r.mean_record_ms += self.record_ms;
        r.mean_analyze_ms += self.analyze_ms;
        r.honest_phones += self.honest.len() as u64;
        let fps = self.honest.iter().filter(|f| **f).count() as u64;
        r.false_positives += fps;
        let tier = r.by_strength.entry(self.strength).or_default();
        tier.0 += 1;
        if class != Class::Benign {
            if self.caught {
                r.detected += 1;
                tier.1 += 1;
            } else if r.examples.len() < 5 {
                r.examples.push(format!("missed: {}", self.name));
            }
            r.detection_rate = Some(r.detected as f64 / r.runs as f64);
        }
        if fps > 0 && r.examples.len() < 5 {
            r.examples.push(format!("false positive: {}", self.name));
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    seed: u64,
    runs_per_class: u64,
    seconds: f64,
    jobs: usize,
    classes: Vec<ClassResult>,
}

fn render(report: &Report) -> String {
    let rows: Vec<Vec<String>> = report
        .classes
        .iter()
        .map(|r| {
            vec![
                r.class.clone(),
                r.runs.to_string(),
                r.detection_rate.map_or("-".into(), |d| {
                    format!("{:.3} ({}/{})", d, r.detected, r.runs)
                }),
                r.by_strength
                    .iter()
                    .map(|(s, (n, d))| {
                        if r.detection_rate.is_some() {
                            format!("{s} {d}/{n}")
                        } else {
                            format!("{s} {n}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                r.false_positive_rate.map_or("-".into(), |rate| {
                    format!("{rate:.3} ({}/{})", r.false_positives, r.honest_phones)
                }),
                format!("{:.0} + {:.0}", r.mean_record_ms, r.mean_analyze_ms),
            ]
        })
        .collect();
    let mut out = format!(
        "corpus seed {}, {} runs per class, {} worker(s), {:.0} s\n\n",
        report.seed, report.runs_per_class, report.jobs, report.seconds
    );
    out.push_str(&table::render(
        "  ",
        &[
            "CLASS",
            "RUNS",
            "DETECTION",
            "BY STRENGTH",
            "FALSE POSITIVES (honest phones)",
            "MS/RUN (record + analyze)",
        ],
        &rows,
    ));
    for r in &report.classes {
        for e in &r.examples {
            out.push_str(&format!("  {e}\n"));
        }
    }
    out
}
