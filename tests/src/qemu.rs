//! The radio shield's firmware running in QEMU (`firmware/boards/qemu`, a
//! Cortex-M3 on the `lm3s6965evb` machine), its two UARTs on pseudo-terminals:
//!
//! - [`QemuShield::host_link`] (UART0): the shield's host link, opened like
//!   the real shield's `/dev/ttyACM0`;
//! - [`QemuShield::stimulus_port`] (UART1): the synthetic antenna. The harness
//!   holds it open and [`QemuShield::stimulus`] writes `Stimulus` frames there.
//!
//! What QEMU's pty backend does (QEMU 7.2 from Debian; chardev/char-pty.c),
//! measured with this firmware:
//!
//! - What the guest writes while no process has the pty open is *dropped*
//!   (`char_pty_chr_write` reports it written while "not connected"). Open the
//!   host link before sending a request; nothing from before is kept.
//! - QEMU reads what the host writes only once it has noticed the open, and
//!   for a pty opened after boot that happens at its once-a-second check
//!   (`pty_chr_timer`, 1000 ms): a Hello written 0.3 s after boot was answered
//!   0.7 s later, one written 1.5 s after boot 0.5 s later, each on the next
//!   whole second of QEMU's uptime. Guest writes did not make it sooner (a
//!   firmware sending a 0x00 every 100 ms changed nothing). A pty opened before
//!   QEMU attaches the UART (right after it prints the pty line) is served at
//!   once. So: give the first request after opening a deadline of seconds,
//!   not milliseconds. Later requests are answered in about a millisecond.
//! - Bytes written before the firmware runs are not lost: the PL011 model
//!   takes one byte at a time and the rest waits in the kernel (the firmware
//!   leaves the FIFO mode off for this reason, see its `mmio` module).
//! - Once open, a process that stops reading stalls the guest: the PL011
//!   model writes with `qemu_chr_fe_write_all`, which waits for room in the
//!   pty (a few KiB of kernel buffer). Keep reading the host link while
//!   streaming; the harness drains the stimulus port itself for that reason.
//! - Closing the host link makes QEMU drop output again until it notices the
//!   next open (up to 1 s, as above): a reconnecting host starts with a Hello.
//!
//! [`QemuShield::boot`] opens the stimulus port itself and returns once the
//! firmware echoed a `Stimulus::Clear` there, so QEMU is known to be reading
//! it; after that [`QemuShield::stimulus`] takes milliseconds. It waits for the
//! firmware's echo of each stimulus (sent after applying it), so when it
//! returns the antenna hears it: no sleeping and hoping.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use shield_protocol::{Decoder, MAX_FRAME, Stimulus, encode};

/// The QEMU binary and machine the board crate is written for.
const QEMU: &str = "qemu-system-arm";
const MACHINE: &str = "lm3s6965evb";
const TARGET: &str = "thumbv7m-none-eabi";
const INSTALL_HINT: &str = "run scripts/install-test-deps";

/// How long QEMU may take to create its ptys (it prints them before the
/// guest starts; this is process start-up only).
const PTY_DEADLINE: Duration = Duration::from_secs(20);
/// How long the firmware may take to echo a stimulus: ~1 ms once QEMU reads
/// the pty, which after the open at boot takes up to ~1 s (module docs).
const ECHO_DEADLINE: Duration = Duration::from_secs(5);
/// How long the stimulus reader blocks before looking at its stop flag.
const READ_POLL: Duration = Duration::from_millis(100);

/// The firmware under QEMU; killed on drop.
#[derive(Debug)]
pub struct QemuShield {
    child: Child,
    elf: PathBuf,
    host_link: PathBuf,
    stimulus_port: PathBuf,
    /// Our writing end of UART1.
    stimulus_tx: Mutex<TTYPort>,
    echoes: Arc<Echoes>,
    reader: Option<JoinHandle<()>>,
    /// Everything QEMU printed (stdout and stderr), for error messages.
    output: Arc<Mutex<String>>,
}

/// Stimuli the firmware echoed on UART1, in order.
#[derive(Debug, Default)]
struct Echoes {
    queue: Mutex<EchoState>,
    arrived: Condvar,
    stop: AtomicBool,
}

#[derive(Debug, Default)]
struct EchoState {
    echoed: VecDeque<Stimulus>,
    /// The reader stopped (QEMU exited or the pty failed).
    dead: Option<String>,
}

impl Echoes {
    fn lock(&self) -> MutexGuard<'_, EchoState> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn lock_text(m: &Mutex<String>) -> MutexGuard<'_, String> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl QemuShield {
    /// Build the QEMU board firmware (once per test process) and boot it.
    pub fn boot() -> io::Result<QemuShield> {
        let elf = firmware()?;
        check_qemu()?;
        let mut child = Command::new(QEMU)
            .args(["-M", MACHINE, "-nographic", "-monitor", "none"])
            // In order: serial0 = UART0 (host link), serial1 = UART1
            // (stimulus); hw/arm/stellaris.c wires serial_hd(i) to UART i.
            .args(["-serial", "pty", "-serial", "pty"])
            .arg("-kernel")
            .arg(&elf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| with_hint(e, &format!("cannot start {QEMU}")))?;

        // Both streams go to one channel line by line, and keep being drained
        // after the ptys are known so QEMU never blocks on a full pipe.
        let output = Arc::new(Mutex::new(String::new()));
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        for stream in [
            stdout.map(|s| Box::new(s) as Box<dyn Read + Send>),
            stderr.map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines_tx = lines_tx.clone();
            let output = output.clone();
            thread::Builder::new()
                .name("qemu-output".into())
                .spawn(move || {
                    for line in BufReader::new(stream).lines() {
                        let Ok(line) = line else { break };
                        let mut all = lock_text(&output);
                        all.push_str(&line);
                        all.push('\n');
                        drop(all);
                        // The receiver is gone once the ptys are known.
                        let _ = lines_tx.send(line);
                    }
                })?;
        }
        drop(lines_tx);

        let (host_link, stimulus_port) = match wait_for_ptys(&mut child, &lines_rx, &output) {
            Ok(ptys) => ptys,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };

        let opened = open_pty(&stimulus_port).and_then(|tx| {
            let rx = tx.try_clone_native().map_err(io::Error::from)?;
            Ok((tx, rx))
        });
        let (stimulus_tx, stimulus_rx) = match opened {
            Ok(ports) => ports,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let echoes = Arc::new(Echoes::default());
        let reader = thread::Builder::new()
            .name(format!("qemu-stimulus {}", stimulus_port.display()))
            .spawn({
                let echoes = echoes.clone();
                move || read_echoes(stimulus_rx, &echoes)
            })?;

        let shield = QemuShield {
            child,
            elf,
            host_link,
            stimulus_port,
            stimulus_tx: Mutex::new(stimulus_tx),
            echoes,
            reader: Some(reader),
            output,
        };
        // Ready means QEMU reads UART1: the first echo proves it (and the
        // antenna starts from its floor, as after reset). On error, dropping
        // `shield` kills QEMU.
        shield.stimulus(&Stimulus::Clear)?;
        Ok(shield)
    }

    /// UART0's pty: open it as the shield's serial port.
    pub fn host_link(&self) -> &Path {
        &self.host_link
    }

    /// UART1's pty. The harness holds it open (exclusively): use
    /// [`stimulus`](Self::stimulus) rather than opening it again.
    pub fn stimulus_port(&self) -> &Path {
        &self.stimulus_port
    }

    /// The firmware ELF that is running.
    pub fn elf(&self) -> &Path {
        &self.elf
    }

    /// Everything QEMU printed so far.
    pub fn qemu_output(&self) -> String {
        lock_text(&self.output).clone()
    }

    /// Open the host link as a raw serial port (115200 8N1 is what a real
    /// UART would use; a pty ignores the rate) with a read timeout.
    pub fn open_host_link(&self, read_timeout: Duration) -> io::Result<TTYPort> {
        let mut port = open_pty(&self.host_link)?;
        port.set_timeout(read_timeout).map_err(io::Error::from)?;
        Ok(port)
    }

    /// Tell the synthetic antenna what to hear. Returns once the firmware
    /// echoed it, i.e. applied it: samples taken from then on reflect it.
    pub fn stimulus(&self, stimulus: &Stimulus) -> io::Result<()> {
        let mut frame = [0u8; MAX_FRAME];
        let n = encode(stimulus, &mut frame)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let bytes = frame.get(..n).unwrap_or_default();
        {
            let mut tx = self
                .stimulus_tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            tx.write_all(bytes)?;
            tx.flush()?;
        }
        let deadline = Instant::now() + ECHO_DEADLINE;
        let mut state = self.echoes.lock();
        loop {
            // Echoes of earlier stimuli (a caller that gave up waiting) are
            // skipped; the firmware echoes in order.
            while let Some(echo) = state.echoed.pop_front() {
                if &echo == stimulus {
                    return Ok(());
                }
            }
            if let Some(why) = &state.dead {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    format!(
                        "stimulus port closed ({why}); QEMU said:\n{}",
                        self.qemu_output()
                    ),
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the firmware did not echo {stimulus:?} within {ECHO_DEADLINE:?}; QEMU said:\n{}",
                        self.qemu_output()
                    ),
                ));
            }
            state = self
                .echoes
                .arrived
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for QemuShield {
    fn drop(&mut self) {
        self.echoes.stop.store(true, Ordering::Release);
        // Killing QEMU closes the ptys' master side: the reader's next read
        // fails at once (else it sees the stop flag within READ_POLL).
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Parse "char device redirected to /dev/pts/N (label serialK)" for serial0
/// and serial1, until `PTY_DEADLINE`.
fn wait_for_ptys(
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
    output: &Mutex<String>,
) -> io::Result<(PathBuf, PathBuf)> {
    let deadline = Instant::now() + PTY_DEADLINE;
    let mut serial0 = None;
    let mut serial1 = None;
    while serial0.is_none() || serial1.is_none() {
        let now = Instant::now();
        if now >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{QEMU} did not report both ptys within {PTY_DEADLINE:?}; it said:\n{}",
                    lock_text(output)
                ),
            ));
        }
        match lines.recv_timeout((deadline - now).min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Some((path, label)) = parse_pty_line(&line) {
                    match label {
                        "serial0" => serial0 = Some(path),
                        "serial1" => serial1 = Some(path),
                        _ => {}
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Both pipes closed: QEMU is gone. Give it a moment to be reaped.
                let status = child.wait()?;
                return Err(io::Error::other(format!(
                    "{QEMU} exited ({status}) before reporting its ptys; it said:\n{}",
                    lock_text(output)
                )));
            }
        }
    }
    match (serial0, serial1) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(io::Error::other("unreachable: loop ends with both ptys")),
    }
}

/// "char device redirected to /dev/pts/3 (label serial0)" -> (path, label).
fn parse_pty_line(line: &str) -> Option<(PathBuf, &str)> {
    let rest = line.split("char device redirected to ").nth(1)?;
    let (path, rest) = rest.split_once(" (label ")?;
    let label = rest.strip_suffix(')')?;
    Some((PathBuf::from(path.trim()), label.trim()))
}

fn open_pty(path: &Path) -> io::Result<TTYPort> {
    serialport::new(path.to_string_lossy(), 115_200)
        .timeout(READ_POLL)
        .open_native()
        .map_err(|e| io::Error::other(format!("cannot open {}: {e}", path.display())))
}

/// Drain UART1: decode the firmware's echoes, skip its idle 0x00s.
fn read_echoes(mut port: TTYPort, echoes: &Echoes) {
    let mut decoder = Decoder::new();
    let mut buf = [0u8; 256];
    let why = loop {
        if echoes.stop.load(Ordering::Acquire) {
            break "stopped".to_string();
        }
        match port.read(&mut buf) {
            Ok(0) => break "end of file".to_string(),
            Ok(n) => {
                let mut got = Vec::new();
                decoder.feed::<Stimulus>(buf.get(..n).unwrap_or_default(), |s| got.push(s));
                if !got.is_empty() {
                    echoes.lock().echoed.extend(got);
                    echoes.arrived.notify_all();
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => break format!("read failed: {e}"),
        }
    };
    echoes.lock().dead = Some(why);
    echoes.arrived.notify_all();
}

fn with_hint(e: io::Error, what: &str) -> io::Error {
    if e.kind() == io::ErrorKind::NotFound {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{what}: {QEMU} not found; {INSTALL_HINT}"),
        )
    } else {
        io::Error::new(e.kind(), format!("{what}: {e}"))
    }
}

fn check_qemu() -> io::Result<()> {
    let out = Command::new(QEMU)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| with_hint(e, &format!("cannot run {QEMU} --version")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{QEMU} --version failed ({}); {INSTALL_HINT}",
            out.status
        )))
    }
}

/// The board crate's directory.
pub fn board_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/boards/qemu")
}

/// Build the QEMU board firmware (`cargo build --release` in its directory)
/// once per process and return the ELF.
pub fn firmware() -> io::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, (io::ErrorKind, String)>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_firmware().map_err(|e| (e.kind(), e.to_string())))
        .clone()
        .map_err(|(kind, message)| io::Error::new(kind, message))
}

fn build_firmware() -> io::Result<PathBuf> {
    let dir = board_dir();
    check_target(&dir)?;
    let target_dir = dir.join("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .stdin(Stdio::null());
    // The test process inherits the outer build's settings; any of these
    // would override the board's .cargo/config.toml (target, -Tlink.x,
    // panic strategy).
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key == "RUSTFLAGS"
            || key == "CARGO_ENCODED_RUSTFLAGS"
            || key.starts_with("CARGO_BUILD_")
            || key.starts_with("CARGO_PROFILE_")
            || (key.starts_with("CARGO_TARGET_") && key != "CARGO_TARGET_DIR")
        {
            command.env_remove(key);
        }
    }
    let out = command.output().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot run cargo in {}: {e}", dir.display()),
        )
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let hint = if stderr.contains("may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            format!(" (the {TARGET} target is missing; {INSTALL_HINT})")
        } else {
            String::new()
        };
        return Err(io::Error::other(format!(
            "building the QEMU board firmware failed{hint}:\n{stderr}"
        )));
    }
    let elf = target_dir
        .join(TARGET)
        .join("release")
        .join("shield-board-qemu");
    if elf.is_file() {
        Ok(elf)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("cargo built, but {} is not there", elf.display()),
        ))
    }
}

/// The thumbv7m standard library is installed for the toolchain the board
/// directory uses.
fn check_target(dir: &Path) -> io::Result<()> {
    let out = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", TARGET])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run rustc: {e}")))?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_core = std::fs::read_dir(&libdir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
        })
        .unwrap_or(false);
    if out.status.success() && has_core {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the Rust target {TARGET} is not installed; {INSTALL_HINT}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qemu_pty_lines() {
        assert_eq!(
            parse_pty_line("char device redirected to /dev/pts/7 (label serial1)"),
            Some((PathBuf::from("/dev/pts/7"), "serial1"))
        );
        assert_eq!(parse_pty_line("Timer with period zero, disabling"), None);
    }
}
