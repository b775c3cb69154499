//! The crates' own format pages against the contracts (`docs/spec/`, the
//! repository's copies of the shared contracts): every file,
//! key, kind and value the contract names in backticks appears on the
//! page, described or listed under "Not yet as the contract says". A
//! contract that grows a key fails here until the page says what the code
//! does with it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The identifiers a contract names in backticks: `run.json`, `bench:t0`,
/// `settle_s`, `"silent"`... (prose and JSON in backticks are left out).
fn named_terms(contract: &str) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    let mut rest = contract;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else { break };
        let term = after[..close].trim_matches('"');
        rest = &after[close + 1..];
        let identifier = term.starts_with(|c: char| c.is_ascii_lowercase())
            && term
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_:.-".contains(c));
        if identifier && !term.contains('\n') {
            terms.insert(term.to_string());
        }
    }
    terms
}

fn check(contract: &str, page: &str) {
    let spec = repo().join("docs/spec").join(contract);
    let spec = std::fs::read_to_string(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
    let page_path = repo().join(page);
    let text = std::fs::read_to_string(&page_path).expect("the crate's page");
    let terms = named_terms(&spec);
    assert!(
        terms.len() > 20,
        "{contract}: too few terms found: {terms:?}"
    );
    let missing: Vec<&String> = terms
        .iter()
        .filter(|t| !text.contains(t.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{page} does not mention what {contract} names: {missing:?}"
    );
}

#[test]
fn the_format_page_covers_the_recording_format() {
    check("recording-format.md", "crates/format/README.md");
}

#[test]
fn the_findings_page_covers_the_findings_format() {
    check("findings.md", "crates/detect/README.md");
}

#[test]
fn terms_are_taken_from_backticks_only() {
    let terms = named_terms(
        "The `run.json` has `bench:t0`, `\"silent\"` and `Some Prose` and `{\"t\":0}`.",
    );
    let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
    assert_eq!(terms, ["bench:t0", "run.json", "silent"]);
}

/// The repository's copies of the contracts are the shared ones, word for
/// word: a contract that changes is copied in (and the pages above then
/// say what the code does with the change).
#[test]
#[cfg_attr(not(shared_spec), ignore = "needs ../shared/spec next to the checkout")]
fn the_copied_contracts_are_the_shared_ones() {
    for contract in ["recording-format.md", "findings.md"] {
        let shared = repo().join("../shared/spec").join(contract);
        let shared = std::fs::read_to_string(&shared)
            .unwrap_or_else(|e| panic!("{}: {e}", shared.display()));
        let ours = std::fs::read_to_string(repo().join("docs/spec").join(contract))
            .expect("docs/spec copy");
        assert!(
            shared == ours,
            "docs/spec/{contract} differs from ../shared/spec/{contract}: copy the shared one in"
        );
    }
}
