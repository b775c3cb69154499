//! `bench.toml`: raw serde structs (`raw.rs`) checked into the model the rest
//! of benchctl trusts (`model.rs`). Errors carry `file:line:col`.

pub mod duration;
mod error;
mod frequency;
pub mod implant;
mod model;
mod raw;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use error::Diagnostics;
pub use error::{ConfigError, ConfigErrors, did_you_mean, line_col};
pub use frequency::{format_khz, parse_khz};
pub use model::*;

/// Shield samples per second per channel unless bench.toml says otherwise.
pub const DEFAULT_SAMPLE_RATE_HZ: u32 = 1000;
/// How long the shield streams without a heartbeat before it stops by itself.
pub const DEFAULT_SHIELD_WATCHDOG: Duration = Duration::from_secs(3);
/// An RF channel's bandwidth unless bench.toml says otherwise: about one
/// narrow channel (a BLE channel is 2 MHz, an LTE resource block 180 kHz).
pub const DEFAULT_BANDWIDTH_KHZ: u32 = 1_000;
/// Channels one shield configuration can hold (the wire protocol's limit).
pub const MAX_SHIELD_CHANNELS: usize = 16;

/// `power cycle` keeps the supply off this long unless the DUT or the command says otherwise.
pub const DEFAULT_POWER_CYCLE_OFF: Duration = Duration::from_secs(3);

/// Read and validate a bench file.
pub fn load(path: &Path) -> Result<BenchConfig, ConfigErrors> {
    let source = read_source(
        path,
        "bench file",
        benchctl_format::input::MAX_CONFIG_BYTES,
        "pass --bench PATH, set BENCHCTL_BENCH, or run from a folder with a bench.toml",
    )?;
    parse(path, &source)
}

/// Validate bench file text; `path` is used in messages and to resolve relative paths.
pub fn parse(path: &Path, source: &str) -> Result<BenchConfig, ConfigErrors> {
    validate::parse(path, source)
}

/// The bench file to use: `--bench`, else `$BENCHCTL_BENCH` (clap fills both), else `./bench.toml`.
pub fn default_bench_path() -> PathBuf {
    PathBuf::from("bench.toml")
}

/// Deserialize TOML text into raw structs; a syntax or shape error becomes a
/// placed `ConfigError` with a "did you mean" where one fits. Shared by every
/// file benchctl reads (bench files, scenarios).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    source: &str,
) -> Result<T, ConfigErrors> {
    toml::from_str(source).map_err(|e| {
        let mut diag = Diagnostics::new(path, source);
        let (message, help) = error::explain_serde_message(e.message());
        let span = e.span().unwrap_or(0..0);
        match help {
            Some(help) => diag.error_with_help(span, message, help),
            None => diag.error(span, message),
        }
        diag.finish().expect_err("one error was pushed")
    })
}

/// Read a file for one of the parsers above, with a placed error if it cannot be read.
pub(crate) fn read_source(
    path: &Path,
    what: &str,
    cap: u64,
    hint: &str,
) -> Result<String, ConfigErrors> {
    benchctl_format::input::read_text_capped(path, cap, &format!("a {what}")).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            path: path.to_path_buf(),
            line: 0,
            col: 0,
            message: format!("cannot read {what}: {e}"),
            help: (e.kind() == std::io::ErrorKind::NotFound).then(|| hint.to_string()),
        }])
    })
}
