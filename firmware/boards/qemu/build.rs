//! Puts memory.x where the linker looks for it (cortex-m-rt's link.x does
//! `INCLUDE memory.x`), and relinks when it changes.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo always sets OUT_DIR for build scripts"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("OUT_DIR is writable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
