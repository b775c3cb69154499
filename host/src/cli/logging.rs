//! What the binaries (benchctl and the tools beside it) set up first: the
//! runtime and logging.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Logs to stderr: `-q` errors only, `-v` debug, `-vv` trace; `RUST_LOG`
/// wins when set. Shared by benchctl and the tools beside it.
pub fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    // RUST_LOG, when set, wins: `RUST_LOG=benchctl::hw=trace` for one layer.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Messages and fields carry text from files (phase names, DNS names,
    // `model`): written terminal-safe, while the level keeps its colour.
    let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = format!("{value:?}");
        let text = super::text::terminal_safe(&text);
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{}={text}", field.name())
        }
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .fmt_fields(fields)
        .with_writer(|| Stderr)
        // Colour only for people: CI logs and files get plain text.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .without_time()
        .with_target(false)
        .init();
}

/// stderr for logs, where a failed write is dropped. A CI runner or a
/// supervisor may close the pipe; `eprintln!` would then panic, and a panic
/// while the safety guard is returning the bench to its safe state aborts
/// the process half-way. Losing a log line is the lesser harm.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// The runtime a binary runs on. One thread is plenty: the bench's I/O is a
/// few bytes at a time, and a single thread keeps the order of switching
/// obvious. Exit code 3 (said on stderr) when it cannot start.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            let _ = writeln!(std::io::stderr(), "error: cannot start the runtime: {e}");
            ExitCode::from(3)
        })
}
