//! The `benchctl` binary: parse the command line, set up logging and the stop
//! signals, run the command, turn the outcome into an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use benchctl::cli::Cli;
use benchctl::cli::text::terminal_safe;
use benchctl::shutdown::Shutdown;

fn main() -> ExitCode {
    let cli = Cli::parse();
    benchctl::cli::init_logging(cli.global.verbose, cli.global.quiet);

    let runtime = match benchctl::cli::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let shutdown = match cli.may_switch().then(Shutdown::install) {
            None => Shutdown::never(),
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "error: cannot install signal handlers: {e}"
                );
                return ExitCode::from(3);
            }
        };
        match cli.run(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            // A verdict is the answer, not a failure of benchctl.
            Err(e @ benchctl::cli::CliError::Verdict(_)) => {
                let _ = writeln!(std::io::stderr(), "{}", terminal_safe(&e.to_string()));
                e.exit_code()
            }
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "error: {}",
                    terminal_safe(&e.to_string())
                );
                e.exit_code()
            }
        }
    })
}
