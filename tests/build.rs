//! The test that compares `docs/spec/` with the shared contracts
//! (`../shared/spec`, next to a checkout of the project, not inside it) is
//! compiled as ignored, with
//! the reason, when the contracts are not there: a clone alone reports them
//! as skipped, never as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(shared_spec)");
    println!("cargo::rerun-if-changed=build.rs");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec");
    if spec.join("recording-format.md").is_file() && spec.join("findings.md").is_file() {
        println!("cargo::rustc-cfg=shared_spec");
    }
}
