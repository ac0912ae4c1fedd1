//! Builds `helper/clauderon-init.rs` (std only) as a static binary and
//! leaves it in OUT_DIR, where `src/helper.rs` embeds it: sessions mount it
//! into their container as PID 1 and the forwarder to the daemon's sockets,
//! so it must run in any Linux image (statically linked glibc does).
//! Elsewhere (macOS) nothing is embedded and sessions need `--network open`.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    version_with_commit();
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

/// `--version` names the commit when built from a git checkout:
/// `0.1.0 (abc1234)`, or `0.1.0 (abc1234, modified)`.
fn version_with_commit() {
    let version = env::var("CARGO_PKG_VERSION").expect("cargo sets it");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let full = match git(&["rev-parse", "--short=9", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            let modified = if dirty { ", modified" } else { "" };
            format!("{version} ({commit}{modified})")
        }
        None => version,
    };
    println!("cargo:rustc-env=CLAUDERON_VERSION={full}");
    // Rebuilt when the commit moves or the tree changes (for "modified").
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    for dir in ["src", "templates", "helper"] {
        println!("cargo:rerun-if-changed={dir}");
    }
    if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
        println!("cargo:rerun-if-changed=.git/{head}");
    }
}
