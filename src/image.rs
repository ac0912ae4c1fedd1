//! Images: the allowlist, and the compatibility contract (what an image
//! needs for clauderon sessions), checked in a throwaway container.

use serde::{Deserialize, Serialize};

use crate::backend::oci::Engine;
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::session::Agent;
use crate::store::Home;

/// The image used when neither `--image` nor the config names one. It is not
/// published anywhere: `scripts/build-agent-image.sh` builds it locally.
pub const DEFAULT_IMAGE: &str = "clauderon-agent:latest";

/// A reference in its full form, so patterns and references compare the
/// same way: `python` -> `docker.io/library/python:latest`,
/// `me/app:1` -> `docker.io/me/app:1`, `ghcr.io/org/app` -> `ghcr.io/org/app:latest`.
/// A reference with a digest keeps it (`name@sha256:...`), with no tag added.
pub fn normalize(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let first = name.split('/').next().unwrap_or("");
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_registry {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    let last = full.rsplit('/').next().unwrap_or("");
    match digest {
        Some(d) => format!("{full}@{d}"),
        None => {
            if !last.contains(':') {
                full.push_str(":latest");
            }
            full
        }
    }
}

/// Does `pattern` allow `reference`? Both are normalized first, so
/// `python:*` allows `python:3.12` and `docker.io/library/python:3`, and
/// not `evil.io/python:3`.
pub fn allowed_by(pattern: &str, reference: &str) -> bool {
    let reference = normalize(reference);
    let pattern = pattern.trim();
    // A pattern ending in `*` right after the name (`ghcr.io/org/*`) must not
    // get `:latest` appended by normalization.
    let normalized = if pattern.ends_with('*') {
        let (name, _) = pattern.rsplit_once('*').unwrap_or((pattern, ""));
        // Normalize the part before the star, as if it went on with "x".
        let probe = normalize(&format!("{name}x"));
        let prefix = probe.strip_suffix(":latest").unwrap_or(&probe);
        format!("{}*", prefix.strip_suffix('x').unwrap_or(prefix))
    } else {
        normalize(pattern)
    };
    // `*` matches any run of characters, `/` included (`?` cannot occur in
    // a valid reference).
    wildmatch::WildMatch::new(&normalized).matches(&reference)
}

pub fn check_allowed(patterns: &[String], reference: &str, source: &str) -> Result<()> {
    if patterns.is_empty() || patterns.iter().any(|p| allowed_by(p, reference)) {
        return Ok(());
    }
    Err(Error::refused(format!(
        "image {reference:?} is not allowed: it matches none of the allowed patterns [{}] (from {source})",
        patterns.join(", ")
    ))
    .with_fix("use an image that matches one of the patterns, or add a pattern to [images] allowed_patterns in config.toml (or CLAUDERON_ALLOWED_IMAGES)"))
}

/// The probe run in a throwaway container. POSIX sh only; prints key=value.
const PROBE: &str = r#"
have() { command -v "$1" >/dev/null 2>&1 && echo "$1=$(command -v "$1")" || echo "$1="; }
for c in claude codex bash curl mkdir chmod cat date git sccache; do have "$c"; done
libc=unknown
for f in /lib/ld-musl-* /usr/lib/ld-musl-* /lib/libc.musl-*; do [ -e "$f" ] && libc=musl; done
if [ "$libc" = unknown ]; then
  for f in /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.* /lib/*-linux-gnu/ld-linux-*.so.* /usr/lib64/ld-linux-*.so.*; do [ -e "$f" ] && libc=glibc; done
fi
echo "libc=$libc"
ca=
for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem /etc/ssl/ca-bundle.pem; do [ -s "$f" ] && ca="$f"; done
echo "ca=$ca"
if (mkdir -p /workspace/.clauderon-probe && : > /workspace/.clauderon-probe/x) 2>/dev/null; then echo workspace=yes; else echo workspace=no; fi
echo uid=$(id -u 2>/dev/null)
"#;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Command -> path, for the commands found.
    pub found: std::collections::BTreeMap<String, String>,
    pub libc: String,
    pub ca_bundle: String,
    pub workspace_writable: bool,
}

impl Probe {
    fn parse(output: &str) -> Probe {
        let mut p = Probe::default();
        for line in output.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "libc" => p.libc = v.to_string(),
                "ca" => p.ca_bundle = v.to_string(),
                "workspace" => p.workspace_writable = v == "yes",
                "uid" => {}
                _ if !v.is_empty() => {
                    p.found.insert(k.to_string(), v.to_string());
                }
                _ => {}
            }
        }
        p
    }

    pub fn has(&self, command: &str) -> bool {
        self.found.contains_key(command)
    }
}

/// The image's ID, or None when it is not local.
pub fn image_id(engine: &Engine, image: &str) -> Result<Option<String>> {
    match engine.image_exists(image).run() {
        Ok(o) => Ok(Some(o.stdout.trim().to_string())),
        Err(f) if Engine::is_no_such_image(&f) => Ok(None),
        Err(f) => Err(engine.classify(f)),
    }
}

/// Runs the probe in a throwaway container as the invoking user, with a
/// fresh directory at /workspace (as sessions have), caching by image ID.
fn probe_cache_path(home: &Home, id: &str) -> std::path::PathBuf {
    home.root
        .join("cache")
        .join("image-probes")
        .join(format!("{}.json", id.replace([':', '/'], "_")))
}

/// An earlier probe of this image ID, if there is one.
pub fn cached_probe(home: &Home, id: &str) -> Option<Probe> {
    serde_json::from_slice(&std::fs::read(probe_cache_path(home, id)).ok()?).ok()
}

pub fn probe(engine: &Engine, home: &Home, image: &str, id: &str) -> Result<Probe> {
    let cache = probe_cache_path(home, id);
    if let Some(p) = cached_probe(home, id) {
        return Ok(p);
    }
    let scratch = tempfile::Builder::new()
        .prefix("clauderon-probe")
        .tempdir()
        .map_err(|e| Error::io("could not make a temp dir", e))?;
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let out = engine.probe(image, uid, gid, scratch.path(), PROBE).run();
    let probe = match out {
        Ok(o) => Probe::parse(&o.stdout),
        Err(f)
            if f.stderr.contains("/bin/sh")
                || f.stderr.contains("executable file not found")
                || f.stderr.contains("no such file or directory") =>
        {
            // No shell at all: nothing else can be checked.
            Probe {
                libc: "unknown".into(),
                ..Probe::default()
            }
        }
        Err(f) => return Err(engine.classify(f)),
    };
    if let Some(dir) = cache.parent() {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(
            &cache,
            serde_json::to_vec(&probe).expect("probe serializes"),
        );
    }
    Ok(probe)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub required: bool,
    pub passed: bool,
    pub detail: String,
    pub fix: String,
}

/// Programs the contract asks for: (name, required, detail when missing, fix).
const PROGRAMS: &[(&str, bool, &str, &str)] = &[
    (
        "bash",
        true,
        "missing (sh alone is not enough)",
        "install bash (Alpine: apk add bash; Debian: apt-get install bash)",
    ),
    (
        "curl",
        true,
        "missing: hooks cannot report status",
        "install curl",
    ),
    ("mkdir", true, "missing", "install coreutils (or busybox)"),
    ("chmod", true, "missing", "install coreutils (or busybox)"),
    ("cat", true, "missing", "install coreutils (or busybox)"),
    ("date", true, "missing", "install coreutils (or busybox)"),
];

/// Recommended, not required: checked after the rest.
const OPTIONAL_PROGRAMS: &[(&str, bool, &str, &str)] = &[
    (
        "git",
        false,
        "missing: git will not work inside the session",
        "install git (recommended)",
    ),
    (
        "sccache",
        false,
        "missing: Rust builds run without a compile cache",
        "install sccache (optional)",
    ),
];

fn check(name: &str, required: bool, passed: bool, detail: String, fix: &str) -> Check {
    Check {
        name: name.into(),
        required,
        passed,
        detail,
        fix: fix.into(),
    }
}

fn program_checks(p: &Probe, programs: &[(&str, bool, &str, &str)]) -> Vec<Check> {
    programs
        .iter()
        .map(|(name, required, missing, fix)| {
            let detail = p
                .found
                .get(*name)
                .cloned()
                .unwrap_or_else(|| missing.to_string());
            check(name, *required, p.has(name), detail, fix)
        })
        .collect()
}

/// The agent CLI: in the image, or mountable from its own image (Claude
/// Code's needs glibc; Codex's static binaries run on any libc).
fn agent_check(p: &Probe, agent: Agent, mountable: bool) -> Check {
    let a = agent.as_str();
    let runs_here = !crate::agent::cli_needs_glibc(agent) || p.libc == "glibc";
    let detail = match (p.found.get(a), mountable) {
        (Some(path), _) => path.to_string(),
        (None, true) if runs_here && p.libc == "glibc" => {
            "not in the image; mounted from the agent CLI image (glibc present)".into()
        }
        (None, true) if runs_here => format!(
            "not in the image; mounted from the agent CLI image (static, runs on {})",
            p.libc
        ),
        (None, true) => format!(
            "not in the image, and the mounted CLI needs glibc (this image: {})",
            p.libc
        ),
        (None, false) => "not found in PATH".into(),
    };
    let fix = format!(
        "install the {a} CLI in the image (e.g. /usr/local/bin/{a}), or use Podman with mount_agent_cli"
    );
    check(
        &format!("{a} in PATH"),
        true,
        p.has(a) || (mountable && runs_here),
        detail,
        &fix,
    )
}

/// The compatibility contract, as checks. `mountable` means the agent CLI
/// would be mounted from its image (Podman), so it need not be in the image.
pub fn checks(p: &Probe, agent: Agent, mountable: bool) -> Vec<Check> {
    let mut out = vec![agent_check(p, agent, mountable)];
    out.extend(program_checks(p, PROGRAMS));
    let writable = if p.workspace_writable {
        "writable as your uid"
    } else {
        "not writable as your uid"
    };
    out.push(check(
        "writable /workspace",
        true,
        p.workspace_writable,
        writable.into(),
        "do not set USER or chown /workspace in the image; clauderon runs as your uid",
    ));
    // Only a mounted CLI that needs glibc (Claude Code's) cares.
    let needs_glibc = mountable && crate::agent::cli_needs_glibc(agent);
    out.push(check(
        "C library",
        needs_glibc,
        p.libc == "glibc" || !needs_glibc,
        p.libc.clone(),
        "use a glibc-based image (the Debian/Ubuntu variant, not Alpine): the mounted agent CLI needs glibc",
    ));
    let bundle = if p.ca_bundle.is_empty() {
        "no CA bundle found".into()
    } else {
        p.ca_bundle.clone()
    };
    out.push(check(
        "CA certificates",
        true,
        !p.ca_bundle.is_empty(),
        bundle,
        "install ca-certificates",
    ));
    out.extend(program_checks(p, OPTIONAL_PROGRAMS));
    out
}

pub fn all_required_pass(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.passed || !c.required)
}

/// `docker pull` (with progress) and no capture.
pub fn pull(engine: &Engine, image: &str) -> Cmd {
    engine.pull(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalize() {
        assert_eq!(normalize("python"), "docker.io/library/python:latest");
        assert_eq!(normalize("python:3.12"), "docker.io/library/python:3.12");
        assert_eq!(normalize("me/app"), "docker.io/me/app:latest");
        assert_eq!(normalize("ghcr.io/org/app:1"), "ghcr.io/org/app:1");
        assert_eq!(normalize("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(
            normalize("python@sha256:abc"),
            "docker.io/library/python@sha256:abc"
        );
    }

    #[test]
    fn allowlist_patterns_match_the_full_reference() {
        assert!(allowed_by("python:*", "python:3.12"));
        assert!(allowed_by("python:*", "docker.io/library/python:3.12-slim"));
        assert!(!allowed_by("python:*", "evil.io/python:3"));
        assert!(!allowed_by("python:*", "pythonista:3"));
        assert!(allowed_by("python", "python:latest"));
        assert!(!allowed_by("python", "python:3"));
        assert!(allowed_by("ghcr.io/myorg/*", "ghcr.io/myorg/app:1"));
        assert!(allowed_by("ghcr.io/myorg/*", "ghcr.io/myorg/team/app"));
        assert!(!allowed_by("ghcr.io/myorg/*", "ghcr.io/myorgevil/app:1"));
        assert!(!allowed_by("ghcr.io/myorg/*", "evil.io/ghcr.io/myorg/app"));
        assert!(!allowed_by("python:*", "python@sha256:abc"));
        assert!(allowed_by("python@sha256:*", "python@sha256:abc"));
        assert!(allowed_by("node:20*", "node:20-bookworm"));
    }

    #[test]
    fn probe_output_parses_and_checks_follow_the_contract() {
        let out = "claude=/usr/local/bin/claude\ncodex=\nbash=/bin/bash\ncurl=/usr/bin/curl\nmkdir=/bin/mkdir\nchmod=/bin/chmod\ncat=/bin/cat\ndate=/bin/date\ngit=\nsccache=\nlibc=glibc\nca=/etc/ssl/certs/ca-certificates.crt\nworkspace=yes\nuid=1000\n";
        let p = Probe::parse(out);
        assert!(all_required_pass(&checks(&p, Agent::Claude, false)));
        assert!(!all_required_pass(&checks(&p, Agent::Codex, false)));
        let mut musl = p.clone();
        musl.libc = "musl".into();
        musl.found.remove("claude");
        assert!(!all_required_pass(&checks(&musl, Agent::Claude, true)));
        // Codex's mounted CLI is static: a musl (Alpine) image is fine.
        assert!(all_required_pass(&checks(&musl, Agent::Codex, true)));
        assert!(!all_required_pass(&checks(&musl, Agent::Codex, false)));
        let mut mounted = p.clone();
        mounted.found.remove("claude");
        assert!(all_required_pass(&checks(&mounted, Agent::Claude, true)));
    }
}
