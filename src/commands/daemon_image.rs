//! `clauderon daemon-image build`: the in-cluster daemon's image, FROM
//! scratch, holding the running clauderon binary (`current_exe`), the
//! shared libraries `ldd` says it links, and the host's CA certificates
//! (the proxy verifies upstream servers against them). Nothing is pulled.

use std::path::{Path, PathBuf};

use crate::backend::oci::Engine;
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::{Mode, Plan, Step};
use crate::session::BackendKind;

const CONTAINERFILE: &str = include_str!("../../templates/daemon.Containerfile");
/// The CA certificates the daemon's upstream TLS trusts (Debian's path,
/// one of those rustls-native-certs reads).
const CA_CERTS: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Where the binary goes in the image (the Deployment runs it).
pub use crate::backend::kubernetes::daemon::BINARY;

/// The shared libraries of `binary`, from `ldd` (none for a static binary).
fn libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let out = match Cmd::new(["ldd"]).arg(binary.to_string_lossy()).run() {
        Ok(out) => out.stdout,
        Err(f) if f.stderr.contains("not a dynamic executable") => return Ok(vec![]),
        Err(f) => {
            return Err(f
                .into_error()
                .with_fix("ldd (Debian: libc-bin) lists the binary's libraries"));
        }
    };
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and the loader
    // "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
    Ok(out
        .lines()
        .filter_map(|line| {
            let word = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            word.starts_with('/').then(|| PathBuf::from(word))
        })
        .collect())
}

/// `install -D` of `from` to the same path under `rootfs` (links followed).
fn copy_step(from: &Path, rootfs: &Path, mode: &str, to: &str) -> Step {
    let dest = rootfs.join(to.trim_start_matches('/'));
    Step::Run {
        cmd: Cmd::new(["install", "-D", "-m", mode])
            .arg(from.to_string_lossy())
            .arg(dest.to_string_lossy()),
        classify: |f| f.into_error(),
        tolerate: None,
    }
}

fn context_steps(plan: &mut Plan, context: &Path) -> Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("could not find the running clauderon binary", e))?;
    if !Path::new(CA_CERTS).is_file() {
        return Err(Error::failed(format!("{CA_CERTS} does not exist"))
            .with_fix("install the CA certificates (Debian: apt install ca-certificates)"));
    }
    let rootfs = context.join("rootfs");
    plan.push(Step::RemoveDir {
        path: context.to_path_buf(),
    });
    plan.push(Step::Mkdir {
        path: context.to_path_buf(),
        mode: 0o700,
        exclusive: false,
    });
    plan.push(copy_step(&exe, &rootfs, "0755", BINARY));
    for lib in libraries(&exe)? {
        plan.push(copy_step(&lib, &rootfs, "0755", &lib.to_string_lossy()));
    }
    plan.push(copy_step(Path::new(CA_CERTS), &rootfs, "0644", CA_CERTS));
    let version = env!("CLAUDERON_VERSION");
    plan.push(Step::WriteFile {
        path: context.join("Containerfile"),
        contents: CONTAINERFILE.replace("{version}", version).into_bytes(),
        mode: 0o644,
        secret: false,
    });
    Ok(())
}

pub fn build(ctx: &Ctx, backend: BackendKind, mode: Mode) -> Result<()> {
    if !backend.builds_images() {
        return Err(Error::input("the daemon image is built with docker or podman")
            .with_fix("--backend docker or --backend podman, then load it into the cluster (see the README)"));
    }
    let engine = Engine::for_kind(backend)?;
    let reference = ctx.config.kubernetes.daemon_image();
    let context = ctx.home.root.join("cache").join("daemon-image");
    let mut plan = Plan::default();
    context_steps(&mut plan, &context)?;
    let build = engine.build(&reference, &context.join("Containerfile"), &context);
    plan.push(Step::run_cmd(build, engine.classifier()));
    if !mode.is_dry_run() {
        probe_engine(&engine)?;
    }
    print_or_execute("daemon-image build", &plan, mode)?;
    if !mode.is_dry_run() {
        crate::output::info(format!(
            "Built {reference} with {} (this clauderon, {}). Load it into the cluster: {}",
            engine.program,
            env!("CLAUDERON_VERSION"),
            load_hint(backend, &reference)
        ));
    }
    Ok(())
}

/// How to get the image into a kind or k3d cluster's nodes.
fn load_hint(backend: BackendKind, reference: &str) -> String {
    if backend == BackendKind::Podman {
        return format!(
            "`podman save --output daemon.tar {reference}`, then `kind load image-archive daemon.tar` or `k3d image import daemon.tar`"
        );
    }
    format!("`kind load docker-image {reference}` or `k3d image import {reference}`")
}
