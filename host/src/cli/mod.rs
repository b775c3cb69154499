//! The `benchctl` command line: one file per subcommand, each a clap struct
//! with a `run` method. Results go to stdout (a table, or JSON with
//! `--json`); progress and logs go to stderr.

mod analyze;
mod check;
mod device;
mod diff;
mod doctor;
mod history;
mod isolate;
mod logging;
mod power;
mod report;
mod run;
mod shield;
mod status;
mod suite;
mod switch;
pub mod table;
pub mod text;
mod usb;

pub use logging::{init_logging, runtime};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::bench::lock::{BenchLock, LockError};
use crate::bench::{Bench, BenchError};
use crate::config::{BenchConfig, ConfigErrors};
use crate::hw::HwError;
use crate::shutdown::Shutdown;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  verdict fail (`run`, `analyze`, `suite`): a DUT did what its phase forbids, or a
     covert pattern; or a regression against the baseline (`diff`, `suite --baseline`)
  2  usage, bench/scenario/suite file error, an input or run history that cannot be
     read, or an output place that cannot be written; nothing was switched
  3  hardware or infrastructure fault (a device failed, the bench is in use), or
     a run that did not record completely and in which nothing failed
  130, 143, 129  stopped by SIGINT, SIGTERM, SIGHUP; touched DUTs went to their safe state

Examples:
  benchctl run scenarios/backdoor-hunt.toml  the demo: record both phones, judge them
  benchctl analyze runs/* --junit out.xml  judge recordings again, JUnit for CI
  benchctl check                       validate bench.toml and show the bench
  benchctl power phone-a on            switch phone-a's supply on (it stays on)
  benchctl power all cycle --off-time 10s
  benchctl --wait 5m usb phone-b off   queue behind another job for up to 5 minutes
  benchctl device phone-a airplane on  tell the phone to go into airplane mode
  benchctl status --json | jq .duts";

/// Drive a hardware-in-the-loop phone test bench: relays, USB hubs, network
/// links and the phones on them.
#[derive(Debug, Parser)]
#[command(name = "benchctl", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The bench file, for the commands that use one (also accepted after
    /// the command) [default: $BENCHCTL_BENCH, else ./bench.toml]
    #[arg(long, value_name = "PATH")]
    pub bench: Option<PathBuf>,

    /// Machine-readable output on stdout
    #[arg(long, global = true)]
    pub json: bool,

    /// For the commands that take the bench: if another process holds it,
    /// wait this long for it (e.g. 30s, 5m; also accepted after the
    /// command) [default: 0s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<Duration>,

    /// More log output (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// `--bench`, for a command that reads the bench file.
#[derive(Debug, Args, Default)]
pub struct BenchArg {
    /// The bench file [default: $BENCHCTL_BENCH, else ./bench.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub bench: Option<PathBuf>,
}

/// `--bench` and `--wait`, for a command that takes the bench.
#[derive(Debug, Args, Default)]
pub struct LockArgs {
    #[command(flatten)]
    pub bench: BenchArg,
    /// If another process holds the bench, wait this long for it (e.g.
    /// 30s, 5m) [default: 0s]
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<Duration>,
}

/// What a command does with the bench: which of `--bench` and `--wait` it takes.
enum BenchUse<'a> {
    None,
    Reads(&'a BenchArg),
    Takes(&'a LockArgs),
}

/// The commands that read the bench file, and those that take the bench.
const READERS: &str = "check, status";
const TAKERS: &str = "run, power, usb, isolate, device, shield, doctor, suite";

#[derive(Debug, Subcommand)]
pub enum Command {
    Check(check::Check),
    Run(run::Run),
    Analyze(analyze::Analyze),
    Status(status::Status),
    Power(power::Power),
    Usb(usb::Usb),
    Isolate(isolate::Isolate),
    Device(device::Device),
    Shield(shield::Shield),
    Doctor(doctor::Doctor),
    Suite(suite::SuiteCmd),
    History(history::History),
    Diff(diff::Diff),
    Report(report::Report),
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::duration::parse(s)
}

/// Why a command failed, which decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Hw(#[from] HwError),
    #[error(transparent)]
    Lock(Box<LockError>),
    #[error("stopped by signal {0}; touched DUTs were sent to their safe state")]
    Interrupted(i32),
    /// A command that reports its own problems (doctor) and only needs the code.
    #[error("{0}")]
    Reported(String),
    /// The analysis judged: a DUT failed, or the run was incomplete.
    #[error("{}", match .0 {
        benchctl_detect::analyze::Verdict::Fail => "verdict: fail",
        benchctl_detect::analyze::Verdict::Incomplete => "verdict: incomplete (the recording is not whole; nothing failed in what is there)",
        benchctl_detect::analyze::Verdict::Pass => "verdict: pass",
    })]
    Verdict(benchctl_detect::analyze::Verdict),
    /// `diff` found regressions: the bench's answer, as a failing verdict is.
    #[error("{0} regression(s) against the baseline")]
    Regression(usize),
}

impl From<BenchError> for CliError {
    fn from(e: BenchError) -> Self {
        match e {
            BenchError::Hw(hw) => CliError::Hw(hw),
            other => CliError::Usage(other.to_string()),
        }
    }
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Config(_) | CliError::Usage(_) => 2,
            CliError::Hw(_) | CliError::Lock(_) | CliError::Reported(_) => 3,
            CliError::Interrupted(signo) => 128 + *signo as u8,
            CliError::Verdict(benchctl_detect::analyze::Verdict::Fail)
            | CliError::Regression(_) => 1,
            CliError::Verdict(benchctl_detect::analyze::Verdict::Incomplete) => 3,
            CliError::Verdict(benchctl_detect::analyze::Verdict::Pass) => 0,
        })
    }
}

/// Before anything is switched: `dir` can be made and takes new files (a
/// folder that exists may still refuse them: one is written to see).
/// Found out after a run on the bench, it would cost the run.
pub(crate) fn writable_dir(dir: &Path, what: &str) -> Result<(), CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Usage(format!("{what} {}: cannot make it: {e}", dir.display())))?;
    let probe = dir.join(format!(".benchctl-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| CliError::Usage(format!("{what} {}: cannot write in it: {e}", dir.display())))
}

/// Before anything is switched: the file `path` can be written later (by a
/// rename in its folder, so the folder must take new files).
pub(crate) fn writable_file(path: &Path, what: &str) -> Result<(), CliError> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() || path.is_dir() {
        return Err(CliError::Usage(format!(
            "{what} {}: {} is not a folder to write it in",
            path.display(),
            if path.is_dir() { path } else { folder }.display()
        )));
    }
    writable_dir(folder, &format!("{what}'s folder"))
}

/// What every command gets: global options, the bench file and lock wait
/// it was given, and the stop signal.
#[derive(Debug)]
pub struct Context {
    pub global: GlobalArgs,
    /// `--bench`, after or before the command.
    pub bench: Option<PathBuf>,
    /// `--wait`, after or before the command; 0 when not given.
    pub wait: Duration,
    pub shutdown: Shutdown,
}

impl Context {
    /// `--bench`, else `$BENCHCTL_BENCH`, else `./bench.toml`.
    pub fn bench_path(&self) -> PathBuf {
        self.bench
            .clone()
            .or_else(|| {
                std::env::var_os("BENCHCTL_BENCH")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(crate::config::default_bench_path)
    }

    pub fn load_config(&self) -> Result<BenchConfig, CliError> {
        Ok(crate::config::load(&self.bench_path())?)
    }

    /// Load the bench without taking it (for read-only commands).
    pub fn open_bench(&self) -> Result<Bench, CliError> {
        let config = self.load_config()?;
        let dir = crate::bench::state_dir(&config);
        if let Some(why) = crate::bench::unusable_state_dir(&dir) {
            return Err(CliError::Usage(why));
        }
        Ok(Bench::new(config, &dir)?)
    }

    /// Take the bench's lock, waiting up to `--wait`, then open the bench.
    pub async fn take_bench(&self) -> Result<Bench, CliError> {
        let config = self.load_config()?;
        let state_dir = crate::bench::state_dir(&config);
        if let Some(why) = crate::bench::unusable_state_dir(&state_dir) {
            return Err(CliError::Usage(why));
        }
        let shutdown = self.shutdown.clone();
        let lock = BenchLock::acquire(
            &state_dir,
            &config.name,
            self.wait,
            |holder| {
                tracing::warn!(
                    "bench in use by {holder}; waiting up to {}",
                    crate::config::duration::format(self.wait)
                )
            },
            || shutdown.signal().is_some(),
        )
        .await
        .map_err(|e| match e {
            LockError::Interrupted => CliError::Interrupted(self.shutdown.signal().unwrap_or(2)),
            other => CliError::Lock(Box::new(other)),
        })?;
        if let Some(dead) = &lock.took_over_from
            && dead.touched.is_empty()
        {
            tracing::warn!("took over the bench from {dead}, which ended without releasing it");
        }
        let mut bench = Bench::new(config, &state_dir)?;
        for words in bench.take(lock) {
            tracing::warn!("{words}");
        }
        Ok(bench)
    }

    /// Fail with `Interrupted` if a stop was requested.
    pub fn check_stop(&self) -> Result<(), CliError> {
        match self.shutdown.signal() {
            Some(s) => Err(CliError::Interrupted(s)),
            None => Ok(()),
        }
    }

    /// Print one result of several: a JSON line with `--json` (JSON Lines),
    /// else the human text.
    pub fn print_line<T: serde::Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        use std::io::Write;
        let text = if self.global.json {
            serde_json::to_string(value).expect("results serialize") + "\n"
        } else {
            text::terminal_safe(&human()).into_owned()
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    /// Print a result: JSON with `--json`, else the human text. A closed
    /// stdout (`benchctl status | head -3`) is not an error: the command
    /// already did its work.
    pub fn print<T: serde::Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        use std::io::Write;
        let text = if self.global.json {
            serde_json::to_string_pretty(value).expect("results serialize") + "\n"
        } else {
            text::terminal_safe(&human()).into_owned()
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }
}

impl Cli {
    /// Whether the command may switch a relay, hub port, link or phone, so
    /// that a stop signal must be turned into "stop, then safe state".
    /// The others (reading files, judging, printing) switch nothing: they
    /// keep the signals' default action and end at once on SIGTERM, even
    /// blocked in a read or a write (a CI runner's timeout must be able to
    /// end them; they write their results atomically, so nothing is left
    /// half-written).
    pub fn may_switch(&self) -> bool {
        match &self.command {
            Command::Check(_)
            | Command::Analyze(_)
            | Command::Status(_)
            | Command::History(_)
            | Command::Diff(_)
            | Command::Report(_) => false,
            Command::Run(_)
            | Command::Power(_)
            | Command::Usb(_)
            | Command::Isolate(_)
            | Command::Device(_)
            | Command::Shield(_)
            | Command::Doctor(_)
            | Command::Suite(_) => true,
        }
    }

    /// What the command does with the bench.
    fn bench_use(&self) -> BenchUse<'_> {
        match &self.command {
            Command::Check(c) => BenchUse::Reads(&c.bench),
            Command::Status(c) => BenchUse::Reads(&c.bench),
            Command::Run(c) => BenchUse::Takes(&c.lock),
            Command::Power(c) => BenchUse::Takes(&c.lock),
            Command::Usb(c) => BenchUse::Takes(&c.lock),
            Command::Isolate(c) => BenchUse::Takes(&c.lock),
            Command::Device(c) => BenchUse::Takes(&c.lock),
            Command::Shield(c) => BenchUse::Takes(&c.lock),
            Command::Doctor(c) => BenchUse::Takes(&c.lock),
            Command::Suite(c) => BenchUse::Takes(&c.lock),
            Command::Analyze(_) | Command::History(_) | Command::Diff(_) | Command::Report(_) => {
                BenchUse::None
            }
        }
    }

    fn name(&self) -> &'static str {
        match &self.command {
            Command::Check(_) => "check",
            Command::Run(_) => "run",
            Command::Analyze(_) => "analyze",
            Command::Status(_) => "status",
            Command::Power(_) => "power",
            Command::Usb(_) => "usb",
            Command::Isolate(_) => "isolate",
            Command::Device(_) => "device",
            Command::Shield(_) => "shield",
            Command::Doctor(_) => "doctor",
            Command::Suite(_) => "suite",
            Command::History(_) => "history",
            Command::Diff(_) => "diff",
            Command::Report(_) => "report",
        }
    }

    /// The bench file and lock wait the command was given, after it or
    /// before it; given to a command that has no use for them, a usage
    /// error rather than silently ignored.
    fn bench_and_wait(&self) -> Result<(Option<PathBuf>, Duration), CliError> {
        let name = self.name();
        let before = (self.global.bench.clone(), self.global.wait);
        match self.bench_use() {
            BenchUse::None if before.0.is_some() || before.1.is_some() => {
                Err(CliError::Usage(format!(
                    "`{name}` uses no bench: --bench is for {READERS}, {TAKERS}; --wait is for {TAKERS}"
                )))
            }
            BenchUse::None => Ok((None, Duration::ZERO)),
            BenchUse::Reads(_) if before.1.is_some() => Err(CliError::Usage(format!(
                "`{name}` does not take the bench, so it never waits for it: --wait is for {TAKERS}"
            ))),
            BenchUse::Reads(arg) => Ok((arg.bench.clone().or(before.0), Duration::ZERO)),
            BenchUse::Takes(args) => Ok((
                args.bench.bench.clone().or(before.0),
                args.wait.or(before.1).unwrap_or(Duration::ZERO),
            )),
        }
    }

    pub async fn run(self, shutdown: Shutdown) -> Result<(), CliError> {
        let (bench, wait) = self.bench_and_wait()?;
        let ctx = Context {
            global: self.global,
            bench,
            wait,
            shutdown,
        };
        match self.command {
            Command::Check(c) => c.run(&ctx),
            Command::Run(c) => c.run(&ctx).await,
            Command::Analyze(c) => c.run(&ctx),
            Command::Status(c) => c.run(&ctx),
            Command::Power(c) => c.run(&ctx).await,
            Command::Usb(c) => c.run(&ctx).await,
            Command::Isolate(c) => c.run(&ctx).await,
            Command::Device(c) => c.run(&ctx).await,
            Command::Shield(c) => c.run(&ctx).await,
            Command::Doctor(c) => c.run(&ctx).await,
            Command::Suite(c) => c.run(&ctx).await,
            Command::History(c) => c.run(&ctx),
            Command::Diff(c) => c.run(&ctx),
            Command::Report(c) => c.run(&ctx),
        }
    }
}

/// `on`/`off`/`open`/… as lab people write them.
pub fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OnOff {
    /// Switch on
    On,
    /// Switch off
    Off,
}
