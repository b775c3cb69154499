//! A scratch bench for tests of the `benchctl` binary: its own bench file and
//! state directory, so tests run in parallel without sharing relays.

#![allow(dead_code)] // each test file uses part of it

pub mod firmware;
pub mod judged;
pub mod outside;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};

pub struct TestBench {
    pub dir: tempfile::TempDir,
}

impl TestBench {
    /// A copy of the repository's default bench (the simulated lab).
    pub fn default_bench() -> Self {
        let text = std::fs::read_to_string(repo_root().join("bench.toml")).expect("bench.toml");
        Self::with_bench(&text)
    }

    /// The default bench with phones that boot in 200 ms instead of 8 s,
    /// for tests of device commands that need not wait a real boot.
    pub fn quick_boot() -> Self {
        let text = std::fs::read_to_string(repo_root().join("bench.toml")).expect("bench.toml");
        let quick = text
            .replace(
                "device = { kind = \"sim\" }",
                "device = { kind = \"sim\", boot = \"200ms\" }",
            )
            .replace(
                "[duts.phone-b.device]\nkind = \"sim\"\n",
                "[duts.phone-b.device]\nkind = \"sim\"\nboot = \"200ms\"\n",
            );
        assert_eq!(
            quick.matches("boot = \"200ms\"").count(),
            2,
            "both phones boot quickly"
        );
        Self::with_bench(&quick)
    }

    pub fn with_bench(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("bench.toml"), text).expect("write bench");
        std::fs::create_dir(dir.path().join("state")).expect("state dir");
        TestBench { dir }
    }

    pub fn bench_file(&self) -> PathBuf {
        self.dir.path().join("bench.toml")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// `benchctl` with this bench, plain output, no inherited log settings.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_benchctl"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("BENCHCTL_BENCH", self.bench_file())
            .env("BENCHCTL_STATE_DIR", self.state_dir())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    /// Run to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("benchctl runs")
    }

    /// Run and insist on exit 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "benchctl {args:?} failed: {}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// `status --json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status JSON")
    }

    /// (power, usb, net) of a DUT as `status --json` reports them: "on",
    /// "off", "isolated", "open", or why there is no value ("unknown", "error").
    pub fn outputs(&self, dut: &str) -> (String, String, String) {
        let s = self.status();
        let d = s["duts"]
            .as_array()
            .expect("duts")
            .iter()
            .find(|d| d["name"] == dut)
            .expect("dut in status")
            .clone();
        let v = |k: &str| match &d[k]["value"] {
            serde_json::Value::Bool(true) => "on".to_string(),
            serde_json::Value::Bool(false) => "off".to_string(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => d[k]["source"].as_str().unwrap_or("not wired").to_string(),
            other => panic!("{k}: {other}"),
        };
        (v("power"), v("usb"), v("net"))
    }

    /// Start a long command; return it with its stderr as lines.
    pub fn spawn(&self, args: &[&str]) -> (Child, BufReader<ChildStderr>) {
        self.spawn_with(args, Stdio::null())
    }

    /// `spawn`, with stdout piped for the test to read (`child.stdout`).
    pub fn spawn_piped(&self, args: &[&str]) -> (Child, BufReader<ChildStderr>) {
        self.spawn_with(args, Stdio::piped())
    }

    fn spawn_with(&self, args: &[&str], stdout: Stdio) -> (Child, BufReader<ChildStderr>) {
        let mut child = self
            .cmd(args)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn benchctl");
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        (child, stderr)
    }
}

/// Read stderr lines until one contains `needle` (the child has reached that
/// point: no sleeping and hoping). Panics with what was seen if it exits first.
pub fn wait_for_line(stderr: &mut BufReader<ChildStderr>, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("read stderr");
        if n == 0 {
            panic!("process ended before printing {needle:?}; stderr was:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains(needle) {
            return line;
        }
    }
}

/// Send a signal with the system's `kill`.
pub fn send_signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} failed");
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}
