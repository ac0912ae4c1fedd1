//! The real Codex CLI's test images, and what the Codex tests wait for.

use super::Env;

/// The test images with the real Codex CLI (scripts/build-test-images.sh):
/// a Debian image with it installed, and its CLI image for Podman's mount.
pub const CODEX_IMAGE: &str = "clauderon-test-codex:1";
pub const CODEX_CLI_IMAGE: &str = "clauderon-test-codex-cli:1";

/// The engine works and `image` is there; in CI both must be.
pub fn codex_ready(engine: &str, image: &str) -> bool {
    cli_image_ready(engine, image)
}

/// The engine works and `image` (a test image with a real agent CLI:
/// Codex's or Claude Code's) is there; in CI both must be.
pub fn cli_image_ready(engine: &str, image: &str) -> bool {
    let ready = match engine {
        "docker" => super::docker_ready(),
        _ => super::podman_ready(),
    };
    if !ready {
        return false;
    }
    if super::engine_image_exists(engine, image) {
        return true;
    }
    let why = format!(
        "{image} is missing in {engine} (run ENGINE={engine} scripts/build-test-images.sh)"
    );
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "CI=true: {why}; the tests of the real agent CLIs must not be skipped in CI"
    );
    eprintln!("SKIPPED: {why}");
    false
}

/// Waits (bounded) for `done`, saying what was last seen if it never comes.
#[track_caller]
pub fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> Option<String>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut last = None;
    while std::time::Instant::now() < deadline {
        match done() {
            None => return,
            Some(seen) => last = Some(seen),
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{what}: not within {secs}s; last seen: {last:?}");
}

/// A home whose Podman sessions mount the test's Codex CLI image.
pub fn mount_codex_cli(env: &Env) {
    let (name, tag) = CODEX_CLI_IMAGE.split_once(':').unwrap();
    let path = env.home().join("config.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(&format!(
        "[agent]\ncodex_cli_image = \"{name}\"\ncodex_cli_image_tag = \"{tag}\"\nauto_pull_cli = false\n"
    ));
    std::fs::write(path, config).unwrap();
}

/// A print-mode Codex session (`extra` more create flags) run to its end
/// against `standin`: the home, the session's name and its state directory.
pub fn print_run(
    standin: &super::standin::Standin,
    extra: &[&str],
) -> (Env, String, std::path::PathBuf) {
    let env = standin.env();
    let name = super::unique("cxprint");
    let args = [&["--agent", "codex", "--print"][..], extra].concat();
    env.create_from(&name, "write codex-made.txt", CODEX_IMAGE, &args)
        .ok();
    let state = env.worktree(&name).join(".clauderon");
    wait_until("the print run", 90, || {
        let done = state.join("print.done").exists();
        (!done).then(|| format!("{} requests", standin.requests().len()))
    });
    (env, name, state)
}
