//! Puts memory.x where the linker looks for it, so cortex-m-rt's `link.x` finds it.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let Some(out_dir) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        panic!("cargo sets OUT_DIR for build scripts");
    };
    if let Err(error) = fs::copy("memory.x", out_dir.join("memory.x")) {
        panic!("cannot copy memory.x to {}: {error}", out_dir.display());
    }
    println!("cargo:rustc-link-search={}", out_dir.display());
    println!("cargo:rerun-if-changed=memory.x");
}
