//! Builds `helper/clauderon-init.rs` (std only) as a static binary and
//! leaves it in OUT_DIR, where `src/helper.rs` embeds it: sessions mount it
//! into their container as PID 1 and the forwarder to the daemon's sockets,
//! so it must run in any Linux image (statically linked glibc does).
//! Elsewhere (macOS) nothing is embedded and sessions need `--network open`.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "helper/clauderon-init.rs";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dest = out.join("clauderon-init");
    let target = env::var("TARGET").expect("cargo sets TARGET");
    if !target.contains("linux") {
        std::fs::write(&dest, b"").expect("OUT_DIR is writable");
        return;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(rustc)
        .args([
            "--edition=2024",
            "--crate-name=clauderon_init",
            "--target",
            &target,
        ])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "strip=symbols",
        ])
        .args(["-C", "target-feature=+crt-static", "-o"])
        .arg(&dest)
        .arg(source)
        .status()
        .expect("rustc runs");
    assert!(
        status.success(),
        "building {source} statically failed: the static C library is needed (Debian: libc6-dev)"
    );
}
