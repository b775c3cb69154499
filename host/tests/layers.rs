//! The layer rules of docs/architecture.md, enforced: a new upward import,
//! a backend named outside the composition root, or a heavy dependency
//! under the host fails here with the file and the line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod common;

/// The host's modules, bottom first. A module may use those of a lower
/// rank, never one of its own rank or above (the two at rank 6 are
/// siblings that do not know each other; the report shows the history's
/// comparison, so it is above it).
const RANKS: &[(&str, u8)] = &[
    ("shutdown", 0),
    ("config", 1),
    ("hw", 2),
    ("bench", 3),
    ("scenario", 4),
    ("runner", 5),
    ("suite", 6),
    ("history", 6),
    ("report", 7),
    ("cli", 8),
];

/// The types that are backends: only `bench/open.rs` (and the files that
/// define them) may name them.
const BACKENDS: &[&str] = &[
    "SimRelayBoard",
    "SimHub",
    "SimLink",
    "SimPhoneControl",
    "SimShield::start",
    "GpioRelayBoard",
    "SerialRelayBoard",
    "UhubctlHub",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of a file that are code, numbered from 1: comments dropped.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        (!code.trim().is_empty()).then_some((i + 1, code))
    })
}

/// The top-level modules a line of code reaches through `crate::`,
/// including those in a `use crate::{a::x, b}` group.
fn crate_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Names at the group's top level: up to each `,` at depth 0.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        at_start = true;
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 && at_start {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                    } else if !name.is_empty() {
                        found.push(std::mem::take(&mut name));
                        at_start = false;
                    }
                }
            }
            if !name.is_empty() {
                found.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

fn host_src() -> PathBuf {
    common::repo_root().join("host/src")
}

/// `bench/sim/plant.rs` -> `bench`; `suite.rs` -> `suite`.
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix(host_src()).expect("under host/src");
    let first = relative
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn no_module_of_the_host_imports_from_a_layer_above_it() {
    let ranks: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&host_src(), &mut files);
    let mut upward = Vec::new();
    let mut unranked = BTreeSet::new();
    for file in &files {
        let module = module_of(file);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(&rank) = ranks.get(module.as_str()) else {
            unranked.insert(module);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a source file");
        for (line, code) in code_lines(&text) {
            for used in crate_modules(code) {
                if used == module {
                    continue;
                }
                match ranks.get(used.as_str()) {
                    Some(&r) if r < rank => {}
                    Some(_) => upward.push(format!(
                        "{}:{line}: {module} uses crate::{used} (a layer at or above it)",
                        file.display()
                    )),
                    None => {
                        unranked.insert(used);
                    }
                }
            }
        }
    }
    assert!(
        unranked.is_empty(),
        "modules with no place in the layers (add them to RANKS and docs/architecture.md): {unranked:?}"
    );
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn only_the_composition_root_names_backends() {
    let mut files = Vec::new();
    rust_files(&host_src(), &mut files);
    let mut named = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(host_src()).expect("under host/src");
        let relative = relative.to_string_lossy();
        // The root, and the files where backends are defined.
        if relative == "bench/open.rs"
            || relative.starts_with("hw/")
            || relative.starts_with("bench/sim/")
        {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("a source file");
        for (line, code) in code_lines(&text) {
            for backend in BACKENDS {
                if code.contains(backend) {
                    named.push(format!("{relative}:{line}: names {backend}"));
                }
            }
            // Outside the bench, the simulator is reached through the
            // bench's own re-exports.
            if !relative.starts_with("bench/") && code.contains("bench::sim") {
                named.push(format!("{relative}:{line}: reaches into bench::sim"));
            }
        }
    }
    assert!(
        named.is_empty(),
        "backends named outside bench/open.rs:\n{}",
        named.join("\n")
    );
}

/// The workspace's resolved dependency graph, normal dependencies only
/// (what a user of a crate compiles): package name -> names it depends on.
fn normal_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(common::repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let mut graph = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("nodes") {
        let name = names[node["id"].as_str().expect("id")].to_string();
        let deps = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .expect("dep kinds")
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| names[d["pkg"].as_str().expect("pkg")].to_string())
            .collect();
        graph
            .entry(name)
            .or_insert_with(BTreeSet::new)
            .extend::<BTreeSet<String>>(deps);
    }
    graph
}

fn closure(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(p) = todo.pop() {
        for d in graph.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn the_crates_below_the_host_are_the_layers_and_stay_light() {
    let graph = normal_dependencies();
    let ours = |p: &str| {
        let mut d: Vec<String> = graph[p]
            .iter()
            .filter(|d| d.starts_with("benchctl"))
            .cloned()
            .collect();
        d.sort();
        d
    };
    assert_eq!(ours("benchctl-net"), Vec::<String>::new());
    assert_eq!(ours("benchctl-format"), ["benchctl-net"]);
    assert_eq!(ours("benchctl-detect"), ["benchctl-format", "benchctl-net"]);
    for krate in [
        "benchctl-net",
        "benchctl-format",
        "benchctl-detect",
        "benchctl-rng",
    ] {
        let all = closure(&graph, krate);
        for heavy in ["tokio", "rusqlite", "rppal", "serialport", "benchctl"] {
            assert!(!all.contains(heavy), "{krate} depends on {heavy}: {all:?}");
        }
    }
}

#[test]
fn the_import_scanner_sees_groups_and_paths() {
    assert_eq!(
        crate_modules("use crate::{config::{A, B}, hw::X, bench};"),
        ["config", "hw", "bench"]
    );
    assert_eq!(
        crate_modules("let x = crate::runner::run(crate::bench::Bench::new());"),
        ["runner", "bench"]
    );
    assert!(code_lines("// crate::cli\n/// crate::cli").next().is_none());
}
