//! USB port power (VBUS) through the `uhubctl` program, <https://github.com/mvp/uhubctl>.
//!
//! What benchctl relies on, from uhubctl's README.md and uhubctl.c (2.x):
//!
//! - Command line: `-l <location>` picks one hub (`b-x.y.z`: bus, then the port
//!   path from the root hub, as `uhubctl` without arguments prints it);
//!   `-p <ports>` the ports (`2`, `2,4`, `1-3`); `-a off|on|cycle|toggle`. Without
//!   `-a` it only prints the status. `-r N` repeats a power-off request N times
//!   (README FAQ "Power comes back on after few seconds on Linux": some kernel
//!   drivers power a port they lose straight back on). `-N` skips reading the
//!   string descriptors of the devices on the ports ("helpful for unresponsive
//!   devices": a wedged phone must not stall the bench). `-e` turns off the USB3
//!   duality handling below, so benchctl never passes it. `-f` lists and
//!   switches hubs without per-port switching; benchctl only uses it in `probe`,
//!   to tell a ganged hub from a missing one.
//! - Output: for every hub acted on,
//!   `Current status for hub 1-1 [2109:2817 VIA Labs, Inc. USB2.0 Hub, USB 2.10, 4 ports, ppps]`,
//!   one `  Port N: XXXX flags` line per selected port, then for an action
//!   `Sent power off request` and `New status for hub ...` with the ports again.
//!   `XXXX` is wPortStatus in hex: the power bit is 0x0100 on a USB2 hub and
//!   0x0200 on a USB3 hub (USB 3.0 spec table 10-10), so a USB3 port that is
//!   off still shows link-state bits (`00a0 off`). The description ends with
//!   `USB x.yz, N ports, ppps|ganged|nops` (per-port, all ports at once, no
//!   power switching); older versions (e.g. in issue #277, 2020) leave out the mode.
//! - Exit status is 1 for "No compatible devices detected [at location X]!",
//!   bad arguments, and more than one hub selected for an action; a failed
//!   power request only prints `Failed to control port power!` on stderr and
//!   still exits 0. So benchctl checks the "New status" it prints, not just
//!   the exit status.
//! - Without access to /dev/bus/usb it prints "There were permission problems
//!   while accessing USB." (fix: a udev rule, README "Linux USB permissions",
//!   or root).
//! - A USB3 hub shows up as two hubs, a USB2 and a USB3 half with the same
//!   container ID (README "USB 3.0 duality note"); VBUS only goes off when both
//!   halves switch the port off. uhubctl pairs them itself and acts on both, so
//!   its output then holds two hubs, and benchctl checks the port on both.
//! - The VBUS trap (README FAQ "How do I check if my USB hub is supported"; issues
//!   #253, #319, #523, #584): many hubs report per-port switching (`ppps`) and
//!   their port status says `off`, but they only cut the data lines and leave
//!   5 V on the port, so a phone keeps charging. Nothing in software can tell;
//!   only a meter (or a USB lamp) on the port can. Hence `vbus_verified` in
//!   bench.toml, and the doctor warning until someone has measured.

use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Check, HwError, Reading, UsbHub};

/// Power-off requests per `set_port(.., false)`: the README suggests 10 to 1000
/// against drivers that power the port back on. uhubctl waits 20 ms between
/// them, so this costs about 0.4 s. Current uhubctl (2025 source) switches
/// through the kernel's sysfs port `disable` file where it exists (Linux 6.0+),
/// which keeps the kernel from powering the port back; the repeat is then unused.
const OFF_REPEAT: &str = "20";

/// uhubctl's own USB control timeout is 5 s per request; a call that takes
/// much longer than a few of those is hung on a wedged hub.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL_FIX: &str =
    "install uhubctl (`sudo apt install uhubctl`) or set `program` in bench.toml";

const PERMISSION_FIX: &str = "give this user access to the hub: add a udev rule like \
`SUBSYSTEM==\"usb\", ATTR{idVendor}==\"2109\", MODE=\"0666\"` (the hub's vendor id, see `sudo uhubctl`) \
to /etc/udev/rules.d/52-usb.rules, then `sudo udevadm trigger --attr-match=subsystem=usb`; or run benchctl as root";

const NOT_FOUND_FIX: &str = "run `sudo uhubctl` and copy the hub's location into bench.toml \
(it changes when the hub moves to another USB port); `benchctl doctor` tells a missing hub \
from one that cannot switch single ports";

const OLD_PROGRAM_FIX: &str = "install a current uhubctl: benchctl passes -N, which uhubctl has had since 2020 (`uhubctl -v`)";

#[derive(Debug)]
pub struct UhubctlHub {
    name: String,
    program: PathBuf,
    location: String,
    ports: u8,
    vbus_verified: bool,
}

impl UhubctlHub {
    pub fn new(name: &str, program: &Path, location: &str, ports: u8, vbus_verified: bool) -> Self {
        UhubctlHub {
            name: name.to_string(),
            program: program.to_path_buf(),
            location: location.to_string(),
            ports,
            vbus_verified,
        }
    }

    fn device(&self) -> String {
        format!("hub \"{}\" (uhubctl location {})", self.name, self.location)
    }

    fn check_port(&self, port: u8) -> Result<(), HwError> {
        if port == 0 || port > self.ports {
            return Err(HwError::new(
                self.device(),
                format!("port {port} does not exist (ports 1-{})", self.ports),
            ));
        }
        Ok(())
    }

    /// Run the program with a time limit, collecting its output.
    fn run(&self, args: &[&str]) -> Result<Run, HwError> {
        let program = self.program.display().to_string();
        let spawn = || {
            Command::new(&self.program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        };
        // A program file still open for writing somewhere (being installed
        // or replaced, or inherited by a fork in another thread of a process
        // that just wrote it) cannot be run for a moment: ETXTBSY. Retry
        // briefly before calling it an error.
        let mut tries = 0;
        let mut child = loop {
            match spawn() {
                Err(e) if e.kind() == ErrorKind::ExecutableFileBusy && tries < 20 => {
                    tries += 1;
                    thread::sleep(Duration::from_millis(10));
                }
                other => break other.map_err(|e| self.spawn_error(&program, e))?,
            }
        };
        // Drain both pipes while waiting, so a chatty uhubctl never blocks on a full pipe.
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    // Kill our own child; the error below is what matters.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(HwError::new(
                        self.device(),
                        format!(
                            "`{program} {}` did not finish within {} s",
                            args.join(" "),
                            RUN_TIMEOUT.as_secs()
                        ),
                    )
                    .with_fix(
                        "the hub or a device on it is not answering: unplug the hub's upstream cable and plug it back",
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(HwError::io(self.device(), &program, e)),
            }
        };
        let collect = |h: Option<thread::JoinHandle<Vec<u8>>>| {
            h.and_then(|h| h.join().ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        Ok(Run {
            command: format!("{program} {}", args.join(" ")),
            status,
            stdout: collect(stdout),
            stderr: collect(stderr),
        })
    }

    fn spawn_error(&self, program: &str, e: std::io::Error) -> HwError {
        let fix = match e.kind() {
            ErrorKind::NotFound => INSTALL_FIX.to_string(),
            ErrorKind::PermissionDenied => {
                format!("{program} is not executable: `chmod +x {program}`, or {INSTALL_FIX}")
            }
            _ => INSTALL_FIX.to_string(),
        };
        let what = match e.kind() {
            ErrorKind::NotFound => format!("cannot run {program}: program not found"),
            _ => format!("cannot run {program}: {e}"),
        };
        HwError {
            device: self.device(),
            what,
            fix: Some(fix),
            source: Some(e),
        }
    }

    /// The error for a run that exited with failure.
    fn failed(&self, run: &Run) -> HwError {
        let stderr = one_line(&run.stderr);
        let (what, fix) = match classify_failure(&run.stderr) {
            Failure::Permission => (
                "uhubctl has no access to the USB hubs".to_string(),
                Some(PERMISSION_FIX),
            ),
            Failure::NotFound => (
                format!(
                    "uhubctl finds no hub with per-port power switching at location {}",
                    self.location
                ),
                Some(NOT_FOUND_FIX),
            ),
            Failure::OldProgram => (
                "this uhubctl does not know the options benchctl uses".to_string(),
                Some(OLD_PROGRAM_FIX),
            ),
            Failure::Other => (format!("`{}` failed ({})", run.command, run.status), None),
        };
        let what = if stderr.is_empty() {
            what
        } else {
            format!("{what}: {stderr}")
        };
        HwError {
            device: self.device(),
            what,
            fix: fix.map(str::to_string),
            source: None,
        }
    }

    /// The hub's status as uhubctl prints it (for doctor: full descriptions, `-f`
    /// if asked). `Ok(None)` when uhubctl finds no such hub.
    fn status_for_probe(&self, force: bool) -> Result<Option<Vec<HubStatus>>, HwError> {
        let mut args = vec!["-l", self.location.as_str()];
        if force {
            args.push("-f");
        }
        let run = self.run(&args)?;
        if !run.status.success() {
            return match classify_failure(&run.stderr) {
                Failure::NotFound => Ok(None),
                _ => Err(self.failed(&run)),
            };
        }
        Ok(Some(parse_output(&run.stdout).current))
    }
}

impl UsbHub for UhubctlHub {
    fn set_port(&mut self, port: u8, on: bool) -> Result<(), HwError> {
        self.check_port(port)?;
        let port_arg = port.to_string();
        let mut args = vec![
            "-N",
            "-l",
            self.location.as_str(),
            "-p",
            port_arg.as_str(),
            "-a",
            if on { "on" } else { "off" },
        ];
        if !on {
            args.extend(["-r", OFF_REPEAT]);
        }
        let run = self.run(&args)?;
        if !run.status.success() {
            return Err(self.failed(&run));
        }
        let report = parse_output(&run.stdout);
        if let Err(problem) = verify_switched(&report.new, &self.location, port, on) {
            let stderr = one_line(&run.stderr);
            let what = if stderr.is_empty() {
                problem
            } else {
                format!("{problem} (uhubctl: {stderr})")
            };
            let fix = if on {
                "check the hub's own power supply, then `benchctl doctor`"
            } else {
                "the kernel may be powering the port back on (uhubctl README FAQ), or the hub ignores the request; \
check with `sudo uhubctl -l <location>`"
            };
            return Err(HwError::new(self.device(), what).with_fix(fix));
        }
        if !run.stderr.trim().is_empty() {
            // e.g. the sysfs fallback notice of uhubctl 2.5+; switching was verified above.
            tracing::debug!(hub = %self.name, stderr = %run.stderr.trim(), "uhubctl warned");
        }
        Ok(())
    }

    fn get_port(&mut self, port: u8) -> Result<Reading<bool>, HwError> {
        self.check_port(port)?;
        let port_arg = port.to_string();
        let run = self.run(&["-N", "-l", &self.location, "-p", &port_arg])?;
        if !run.status.success() {
            return Err(self.failed(&run));
        }
        let report = parse_output(&run.stdout);
        port_powered(&report.current, &self.location, port)
            .map(Reading::Read)
            .map_err(|problem| HwError::new(self.device(), problem))
    }

    fn probe(&mut self) -> Vec<Check> {
        let mut checks = Vec::new();
        let hubs = match self.status_for_probe(false) {
            Ok(Some(hubs)) => hubs,
            Ok(None) => {
                // Not among the switchable hubs: missing, or seen only with -f.
                checks.push(match self.status_for_probe(true) {
                    Ok(Some(hubs)) => match hubs.iter().find(|h| h.is(&self.location)) {
                        Some(hub) => not_switchable(hub),
                        None => self.missing(),
                    },
                    Ok(None) => self.missing(),
                    Err(e) => Check::from_error(&e),
                });
                return checks;
            }
            Err(e) => return vec![Check::from_error(&e)],
        };
        let Some(hub) = hubs.iter().find(|h| h.is(&self.location)) else {
            return vec![self.missing()];
        };
        if hub.mode.is_some_and(|m| m != SwitchingMode::PerPort) {
            return vec![not_switchable(hub)];
        }
        let states: Vec<String> = hub
            .ports
            .iter()
            .map(|p| format!("{} {}", p.port, if p.powered { "on" } else { "off" }))
            .collect();
        checks.push(Check::ok(format!(
            "uhubctl sees hub {}: {}; ports {}",
            hub.location,
            hub.description,
            states.join(", ")
        )));
        if let Some(n) = hub.nports
            && n < self.ports
        {
            checks.push(Check::fail(
                format!(
                    "bench.toml gives the hub {} ports, but the hub at {} has {n}",
                    self.ports, self.location
                ),
                Some(
                    "many 7- and 10-port hubs are 4-port hubs chained inside, each with its own location \
(uhubctl README FAQ): list each as its own hub in bench.toml"
                        .to_string(),
                ),
            ));
        }
        let companions: Vec<&str> = hubs
            .iter()
            .filter(|h| !h.is(&self.location))
            .map(|h| h.location.as_str())
            .collect();
        if !companions.is_empty() {
            checks.push(Check::ok(format!(
                "USB3 hub: uhubctl switches its other half ({}) with it",
                companions.join(", ")
            )));
        } else if hub.usb3 {
            checks.push(Check::warn(
                format!(
                    "hub {} is the USB3 half of a hub and uhubctl finds no USB2 half to switch with it: VBUS may stay on",
                    self.location
                ),
                "run `sudo uhubctl`, and if the hub's USB2 half is listed, use its location in bench.toml",
            ));
        }
        if self.vbus_verified {
            checks.push(Check::ok(
                "VBUS cut-off measured on this hub (vbus_verified = true)",
            ));
        } else {
            checks.push(Check::warn(
                "uhubctl cannot confirm that this hub really cuts VBUS; check a port with a USB power meter, then set `vbus_verified = true`",
                format!(
                    "switch a port off (`benchctl` or `sudo uhubctl -l {} -p 1 -a off`), measure 0 V on it, then add `vbus_verified = true` to [hubs.{}]",
                    self.location, self.name
                ),
            ));
        }
        checks
    }
}

impl UhubctlHub {
    fn missing(&self) -> Check {
        Check::fail(
            format!("{}: uhubctl finds no hub at location {}", self.device(), self.location),
            Some(
                "check the hub is plugged in and powered; run `sudo uhubctl` to list hubs and copy the location into bench.toml"
                    .to_string(),
            ),
        )
    }
}

fn not_switchable(hub: &HubStatus) -> Check {
    let how = match hub.mode {
        Some(SwitchingMode::Ganged) => "switches all its ports together (ganged)",
        _ => "has no port power switching (nops)",
    };
    Check::fail(
        format!(
            "hub {} [{}] {how}: it cannot switch one port",
            hub.location, hub.description
        ),
        Some(
            "use a hub with per-port power switching (`ppps` in `sudo uhubctl`); see the list in uhubctl's README".to_string(),
        ),
    )
}

/// Read a pipe to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error just ends the output early; the exit status still counts.
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// stderr folded into one line for an error message.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Run with -h"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug)]
struct Run {
    command: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

// ---- parsing uhubctl's output: pure functions ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Permission,
    NotFound,
    OldProgram,
    Other,
}

/// Why uhubctl failed, from its stderr.
fn classify_failure(stderr: &str) -> Failure {
    if stderr.contains("permission problems") {
        Failure::Permission
    } else if stderr.contains("No compatible devices detected") {
        Failure::NotFound
    } else if stderr.contains("invalid option") || stderr.contains("unrecognized option") {
        Failure::OldProgram
    } else {
        Failure::Other
    }
}

/// How a hub switches port power (USB 2.0 spec table 11-13, wHubCharacteristics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SwitchingMode {
    /// `ppps`: per-port power switching.
    PerPort,
    /// `ganged`: all ports at once.
    Ganged,
    /// `nops`: no power switching.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PortStatus {
    port: u8,
    /// wPortStatus as printed.
    raw: u16,
    powered: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HubStatus {
    location: String,
    /// Inside the brackets: `2109:2817 VIA Labs, Inc. USB2.0 Hub, USB 2.10, 4 ports, ppps`.
    description: String,
    usb3: bool,
    nports: Option<u8>,
    /// `None` from older uhubctl, which listed only per-port switching hubs anyway.
    mode: Option<SwitchingMode>,
    ports: Vec<PortStatus>,
}

impl HubStatus {
    /// uhubctl compares locations ignoring case (strcasecmp).
    fn is(&self, location: &str) -> bool {
        self.location.eq_ignore_ascii_case(location)
    }

    fn port(&self, port: u8) -> Option<&PortStatus> {
        self.ports.iter().find(|p| p.port == port)
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Report {
    /// "Current status" blocks: before the action, or the status alone.
    current: Vec<HubStatus>,
    /// "New status" blocks: after the action.
    new: Vec<HubStatus>,
}

fn parse_output(stdout: &str) -> Report {
    #[derive(Clone, Copy)]
    enum Section {
        Current,
        New,
    }
    fn close(open: &mut Option<(Section, HubStatus)>, report: &mut Report) {
        if let Some((section, hub)) = open.take() {
            match section {
                Section::Current => report.current.push(hub),
                Section::New => report.new.push(hub),
            }
        }
    }
    let mut report = Report::default();
    let mut open: Option<(Section, HubStatus)> = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("Current status for hub ") {
            close(&mut open, &mut report);
            open = Some((Section::Current, parse_hub_header(rest)));
        } else if let Some(rest) = line.strip_prefix("New status for hub ") {
            close(&mut open, &mut report);
            open = Some((Section::New, parse_hub_header(rest)));
        } else if let Some((_, hub)) = open.as_mut() {
            if let Some(port) = parse_port_line(line, hub.usb3) {
                hub.ports.push(port);
            } else if !line.starts_with(' ') {
                // "Sent power off request", "Resetting hub..." end a block.
                close(&mut open, &mut report);
            }
        }
    }
    close(&mut open, &mut report);
    report
}

/// `1-1 [2109:2817 VIA Labs, Inc. USB2.0 Hub, USB 2.10, 4 ports, ppps]`
/// (old versions printed `1-1, vendor 2109:2817, 4 ports`, issue #207).
fn parse_hub_header(rest: &str) -> HubStatus {
    let (location, description) = match rest.split_once(" [") {
        Some((loc, desc)) => (loc, desc.strip_suffix(']').unwrap_or(desc)),
        None => match rest.split_once(", ") {
            Some((loc, desc)) => (loc, desc),
            None => (rest, ""),
        },
    };
    // The vendor and product strings may hold ", " themselves: read from the right.
    let mut usb3 = false;
    let mut nports = None;
    let mut mode = None;
    for field in description.rsplit(", ").take(3) {
        match field {
            "ppps" => mode = Some(SwitchingMode::PerPort),
            "ganged" => mode = Some(SwitchingMode::Ganged),
            "nops" => mode = Some(SwitchingMode::None),
            _ => {
                if let Some(n) = field.strip_suffix(" ports") {
                    nports = n.trim().parse().ok();
                } else if let Some(version) = field.strip_prefix("USB ") {
                    // bcdUSB 3.00 and up is a SuperSpeed hub, whose power bit is 0x0200.
                    usb3 = version
                        .split('.')
                        .next()
                        .and_then(|major| major.parse::<u8>().ok())
                        .is_some_and(|major| major >= 3);
                }
            }
        }
    }
    HubStatus {
        location: location.trim().to_string(),
        description: description.to_string(),
        usb3,
        nports,
        mode,
        ports: Vec::new(),
    }
}

/// `  Port 2: 0100 power` / `  Port 3: 00a0 off` / `  Port 1: 0503 power highspeed enable connect [...]`
fn parse_port_line(line: &str, usb3: bool) -> Option<PortStatus> {
    let rest = line.trim_start().strip_prefix("Port ")?;
    let (number, rest) = rest.split_once(':')?;
    let port = number.trim().parse().ok()?;
    let mut words = rest.split_whitespace();
    let raw = u16::from_str_radix(words.next()?, 16).ok()?;
    // uhubctl decides "power"/"off" from these bits too (print_port_status).
    let power_bit = if usb3 { 0x0200 } else { 0x0100 };
    Some(PortStatus {
        port,
        raw,
        powered: raw & power_bit != 0,
    })
}

/// Whether the port has power: on the hub at `location` and, for a USB3 hub, on
/// its other half too. Either half powering it counts as on, because VBUS is
/// then most likely on.
fn port_powered(hubs: &[HubStatus], location: &str, port: u8) -> Result<bool, String> {
    let Some(hub) = hubs.iter().find(|h| h.is(location)) else {
        return Err(format!("uhubctl printed no status for hub {location}"));
    };
    if hub.port(port).is_none() {
        return Err(format!(
            "uhubctl printed no status for port {port} of hub {location} ({})",
            hub.description
        ));
    }
    Ok(hubs.iter().filter_map(|h| h.port(port)).any(|p| p.powered))
}

/// Check the "New status" uhubctl printed after switching: the port must be in
/// the requested state on the hub and on its other half, if any.
fn verify_switched(new: &[HubStatus], location: &str, port: u8, on: bool) -> Result<(), String> {
    if !new.iter().any(|h| h.is(location)) {
        return Err(format!(
            "uhubctl printed no new status for hub {location}: the request was not sent"
        ));
    }
    let wrong: Vec<String> = new
        .iter()
        .filter_map(|h| h.port(port).map(|p| (h, p)))
        .filter(|(_, p)| p.powered != on)
        .map(|(h, p)| format!("hub {} port {port}: {:04x}", h.location, p.raw))
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "port {port} is still {} after switching it {} ({})",
            if on { "off" } else { "on" },
            if on { "on" } else { "off" },
            wrong.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From uhubctl issue #277 (USB2534 hub, 2020): a USB2 port switched off.
    const USB2_OFF: &str = "\
Current status for hub 1-1 [0424:2534, USB 2.01, 4 ports]
  Port 1: 0103 power enable connect [0457:1080 Silicon Integrated System Co. SiS HID Controller 123456789@A]
Sent power off request
New status for hub 1-1 [0424:2534, USB 2.01, 4 ports]
  Port 1: 0000 off
";

    // From uhubctl issue #584 (Buffalo BSH4A05U3BK): both halves of a USB3 hub.
    // This hub reports `off` but keeps 5 V on its ports: the VBUS trap.
    const USB3_PAIR_OFF: &str = "\
Current status for hub 3-2 [05e3:0610 GenesysLogic USB2.0 Hub, USB 2.10, 4 ports, ppps]
  Port 1: 0000 off
  Port 2: 0000 off
  Port 3: 0000 off
  Port 4: 0000 off
Current status for hub 2-2 [05e3:0617 GenesysLogic USB3.0 Hub, USB 3.00, 4 ports, ppps]
  Port 1: 00a0 off
  Port 2: 00a0 off
  Port 3: 00a0 off
  Port 4: 00a0 off
";

    // From uhubctl PR #541 (Waveshare hub, `uhubctl -f`): a ganged hub.
    const GANGED: &str = "\
Current status for hub 3-4 [1a40:0101 USB 2.0 Hub, USB 2.00, 4 ports, ganged]
  Port 1: 0103 power enable connect [0a5c:2763 Broadcom BCM2708 Boot]
  Port 2: 0100 power
  Port 3: 0100 power
  Port 4: 0503 power highspeed enable connect [0bda:8152 Realtek USB 10/100 LAN 00E04C360150]
";

    // From uhubctl issue #527 (StarTech 5G4AIBS): vendor string with ", ".
    const VIA_PAIR_ON: &str = "\
Current status for hub 20-1 [14b0:01d3 VIA Labs, Inc. USB2.0 Hub 000000000, USB 2.10, 4 ports, ppps]
  Port 1: 0100 power
  Port 2: 0100 power
Current status for hub 1-1 [14b0:01d2 VIA Labs, Inc. USB3.0 Hub 000000000, USB 3.20, 4 ports, ppps]
  Port 1: 02a0 power 5gbps Rx.Detect
  Port 2: 02a0 power 5gbps Rx.Detect
";

    // From uhubctl issue #540: a USB3 root hub port switched off with -e.
    const USB3_ROOT_OFF: &str = "\
Current status for hub 2 [1d6b:0003 Linux 5.10.0-26-amd64 xhci-hcd xHCI Host Controller 0000:04:00.0, USB 3.00, 4 ports, ppps]
  Port 4: 02a0 power 5gbps Rx.Detect
Sent power off request
New status for hub 2 [1d6b:0003 Linux 5.10.0-26-amd64 xhci-hcd xHCI Host Controller 0000:04:00.0, USB 3.00, 4 ports, ppps]
  Port 4: 0080 off
";

    #[test]
    fn reads_usb2_switch_off() {
        let r = parse_output(USB2_OFF);
        assert_eq!(r.current.len(), 1);
        assert_eq!(r.new.len(), 1);
        let hub = &r.current[0];
        assert_eq!(hub.location, "1-1");
        assert_eq!(hub.description, "0424:2534, USB 2.01, 4 ports");
        assert_eq!(hub.nports, Some(4));
        assert_eq!(hub.mode, None);
        assert!(!hub.usb3);
        assert_eq!(
            hub.ports,
            vec![PortStatus {
                port: 1,
                raw: 0x0103,
                powered: true
            }]
        );
        assert!(!r.new[0].ports[0].powered);
        assert_eq!(verify_switched(&r.new, "1-1", 1, false), Ok(()));
        assert!(verify_switched(&r.new, "1-1", 1, true).is_err());
    }

    #[test]
    fn usb3_power_bit_is_0200() {
        let r = parse_output(USB3_PAIR_OFF);
        assert_eq!(r.current.len(), 2);
        assert!(!r.current[0].usb3);
        assert!(r.current[1].usb3);
        // 00a0 has link-state bits but no power bit.
        assert_eq!(r.current[1].ports[2].raw, 0x00a0);
        assert!(!r.current[1].ports[2].powered);
        assert_eq!(port_powered(&r.current, "2-2", 3), Ok(false));

        let on = parse_output(VIA_PAIR_ON);
        assert!(on.current[1].usb3);
        assert_eq!(port_powered(&on.current, "1-1", 2), Ok(true));

        let root = parse_output(USB3_ROOT_OFF);
        assert_eq!(root.new[0].location, "2");
        assert_eq!(verify_switched(&root.new, "2", 4, false), Ok(()));
    }

    #[test]
    fn reads_descriptions_from_the_right() {
        let r = parse_output(VIA_PAIR_ON);
        let hub = &r.current[0];
        assert_eq!(hub.location, "20-1");
        assert_eq!(
            hub.description,
            "14b0:01d3 VIA Labs, Inc. USB2.0 Hub 000000000, USB 2.10, 4 ports, ppps"
        );
        assert_eq!(hub.mode, Some(SwitchingMode::PerPort));
        assert_eq!(hub.nports, Some(4));

        let g = parse_output(GANGED);
        assert_eq!(g.current[0].mode, Some(SwitchingMode::Ganged));
        assert_eq!(g.current[0].ports.len(), 4);
        assert_eq!(g.current[0].ports[3].raw, 0x0503);
        assert!(g.current[0].ports[3].powered);

        let h = parse_hub_header("1-1 [2109:2817, USB 2.10, 7 ports, nops]");
        assert_eq!(h.mode, Some(SwitchingMode::None));
        assert_eq!(h.nports, Some(7));
    }

    #[test]
    fn either_half_powered_counts_as_on() {
        let mixed = "\
Current status for hub 1-1 [2109:2817, USB 2.10, 4 ports, ppps]
  Port 3: 0000 off
Current status for hub 2-1 [2109:0817, USB 3.10, 4 ports, ppps]
  Port 3: 02a0 power 5gbps Rx.Detect
";
        let r = parse_output(mixed);
        assert_eq!(port_powered(&r.current, "1-1", 3), Ok(true));
        assert!(port_powered(&r.current, "1-1", 2).is_err());
        assert!(port_powered(&r.current, "9-9", 3).is_err());
    }

    #[test]
    fn switching_checks_both_halves() {
        // Real order: each half gets Current, Sent, New in turn.
        let out = "\
Current status for hub 1-1 [2109:2817, USB 2.10, 4 ports, ppps]
  Port 3: 0100 power
Sent power off request
New status for hub 1-1 [2109:2817, USB 2.10, 4 ports, ppps]
  Port 3: 0000 off
Current status for hub 2-1 [2109:0817, USB 3.10, 4 ports, ppps]
  Port 3: 02a0 power 5gbps Rx.Detect
Sent power off request
New status for hub 2-1 [2109:0817, USB 3.10, 4 ports, ppps]
  Port 3: 02a0 power 5gbps Rx.Detect
";
        let r = parse_output(out);
        assert_eq!(r.current.len(), 2);
        assert_eq!(r.new.len(), 2);
        let err = verify_switched(&r.new, "1-1", 3, false).expect_err("must fail");
        assert!(err.contains("hub 2-1 port 3: 02a0"), "{err}");
        // No New status at all: nothing was sent.
        assert!(verify_switched(&[], "1-1", 3, false).is_err());
    }

    #[test]
    fn classifies_stderr() {
        assert_eq!(
            classify_failure(
                "There were permission problems while accessing USB.\nFollow https://git.io/JIB2Z for a fix!\n\
No compatible devices detected at location 1-1!\nRun with -h to get usage info.\n"
            ),
            Failure::Permission
        );
        assert_eq!(
            classify_failure(
                "No compatible devices detected at location 9-9!\nRun with -h to get usage info.\n"
            ),
            Failure::NotFound
        );
        assert_eq!(
            classify_failure("uhubctl: invalid option -- 'N'\nRun with -h to get usage info.\n"),
            Failure::OldProgram
        );
        assert_eq!(
            classify_failure("Cannot enumerate USB devices!\n"),
            Failure::Other
        );
        assert_eq!(
            one_line(
                "No compatible devices detected at location 9-9!\nRun with -h to get usage info.\n"
            ),
            "No compatible devices detected at location 9-9!"
        );
    }
}
