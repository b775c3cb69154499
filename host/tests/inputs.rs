//! Inputs that are not what they claim (issue 18, items 2 and 3): a FIFO, a
//! device or a huge file given as any input is refused at once with exit
//! 2 and what the path is; a command that switches nothing ends on SIGTERM
//! even while blocked.

mod common;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use common::{TestBench, repo_root, send_signal};

/// How long a command may take before the test calls it a hang (it is a
/// guard against a hang, not a speed target: the commands here take
/// milliseconds).
const HANG: Duration = Duration::from_secs(60);

/// Wait for `child` at most [`HANG`]; kill it and fail if it is still there.
fn finish(mut child: Child, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > HANG {
            let _ = child.kill();
            panic!("{what}: still running after {HANG:?} (blocked)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

fn copy_fixture(name: &str, into: &Path) -> PathBuf {
    let to = into.join(name);
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(repo_root().join("fixtures/runs").join(name)).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    to
}

fn run_bounded(bench: &TestBench, args: &[&str]) -> Output {
    let child = bench
        .cmd(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    finish(child, &format!("benchctl {args:?}"))
}

#[test]
fn a_fifo_given_as_any_input_is_refused_at_once() {
    let bench = TestBench::default_bench();
    let dir = bench.dir.path();

    let fifo = dir.join("fifo.toml");
    mkfifo(&fifo);
    let out = run_bounded(&bench, &["check", "--bench", fifo.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read bench file: it is a FIFO (named pipe), not a regular file"),
        "{err}"
    );

    let out = run_bounded(&bench, &["run", "--dry-run", fifo.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot read scenario: it is a FIFO"), "{err}");

    // Each file of a run directory in turn.
    for file in [
        "run.json",
        "events.jsonl",
        "rf.sigmf-meta",
        "rf.sigmf-data",
        "power.sigmf-meta",
        "net.pcapng",
    ] {
        let run = copy_fixture("airplane-tx", &dir.join(file));
        mkfifo(&run.join(file));
        let out = run_bounded(
            &bench,
            &["analyze", "--no-write", run.to_str().expect("utf-8")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains("a FIFO (named pipe)"), "{file}: {err}");
        assert!(err.contains(file), "{file}: {err}");
    }

    // A bare capture, and the history of a folder holding such a run.
    let capture = dir.join("capture.pcapng");
    mkfifo(&capture);
    let out = run_bounded(&bench, &["analyze", capture.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let runs = dir.join("events.jsonl");
    let out = run_bounded(
        &bench,
        &["history", "--runs", runs.to_str().expect("utf-8")],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not indexed: cannot read")
            && String::from_utf8_lossy(&out.stderr).contains("a FIFO (named pipe)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_device_or_a_huge_file_is_refused_by_its_size_or_kind() {
    let bench = TestBench::default_bench();
    let out = run_bounded(&bench, &["check", "--bench", "/dev/zero"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("it is a character device"), "{err}");

    // Sparse: the size is declared, nothing is on disk.
    let big = bench.dir.path().join("big.toml");
    std::fs::File::create(&big)
        .expect("create")
        .set_len(5 << 20)
        .expect("set_len");
    let out = run_bounded(&bench, &["check", "--bench", big.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("it is 5 MiB, more than the 1 MiB a bench file may be"),
        "{err}"
    );

    for (file, size) in [("run.json", 1u64 << 30), ("rf.sigmf-meta", 100 << 20)] {
        let run = copy_fixture("airplane-tx", &bench.dir.path().join(file));
        std::fs::File::create(run.join(file))
            .expect("create")
            .set_len(size)
            .expect("set_len");
        let out = run_bounded(
            &bench,
            &["analyze", "--no-write", run.to_str().expect("utf-8")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains(&format!("more than the 64 MiB a {file} may be")),
            "{err}"
        );
    }
}

/// A command that switches nothing keeps SIGTERM's default action: ended
/// at once by the signal, even blocked. Here `analyze` blocks writing to a
/// stdout nobody reads (200 runs' findings fill the pipe). Before, it had
/// the runner's handlers, which only a run observes: it never ended.
#[test]
fn a_command_that_switches_nothing_ends_on_sigterm_even_blocked() {
    let bench = TestBench::default_bench();
    let run = copy_fixture("airplane-tx", bench.dir.path());
    let run = run.to_str().expect("utf-8");
    let mut args = vec!["--json", "analyze", "--no-write"];
    args.extend(std::iter::repeat_n(run, 200));
    let (mut child, _stderr) = bench.spawn_piped(&args);
    // One byte read: the process is past its start (where handlers would
    // have been installed) and writing; then nobody reads.
    let mut first = [0u8; 1];
    child
        .stdout
        .as_mut()
        .expect("piped stdout")
        .read_exact(&mut first)
        .expect("output starts");
    send_signal(&child, "TERM");
    let out = finish(child, "analyze after SIGTERM");
    assert_eq!(out.status.signal(), Some(15), "{:?}", out.status);
}
