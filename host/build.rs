//! Tests that read the shared data (`../shared/data`, next to a checkout of
//! the project, not inside it: real captures under other people's
//! licences) are compiled as ignored, with the reason, when it is not
//! there: a clone alone reports them as skipped, never as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(shared_data)");
    println!("cargo::rerun-if-changed=build.rs");
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if data.join("real").is_dir() && data.join("nefias").is_dir() {
        println!("cargo::rustc-cfg=shared_data");
    }
}
