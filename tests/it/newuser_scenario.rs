//! The README's new-user steps as one scenario against real Docker (issue
//! 20): `scripts/install.sh` into a temporary prefix (this build's binary,
//! no image build), the man pages it installs, then the first `create`,
//! `list`, `attach` (in a pseudo-terminal, through `script`) and `delete`
//! with the installed binary.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{BASE_IMAGE, Env, docker_ready, unique};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs install.sh into `prefix`; returns its stderr (the stage lines).
fn install(prefix: &Path) -> String {
    let out = Command::new(Path::new(ROOT).join("scripts/install.sh"))
        .env("PREFIX", prefix)
        .env("CLAUDERON_BINARY", env!("CARGO_BIN_EXE_clauderon"))
        .env("AGENT_IMAGE", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "install.sh failed: {stderr}");
    stderr
}

/// Every `clauderon-X(1)` a page names is a page that was installed.
fn assert_pages_complete(man1: &Path) {
    let pages: Vec<PathBuf> = std::fs::read_dir(man1)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(pages.len() > 20, "{pages:?}");
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for part in text.split("clauderon\\-").skip(1) {
            let Some((name, _)) = part.split_once("(1)") else {
                continue;
            };
            if name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c == '\\')
            {
                let file = man1.join(format!("clauderon-{}.1", name.replace('\\', "")));
                assert!(file.exists(), "{} names {}", page.display(), file.display());
            }
        }
    }
}

fn installed(bin: &Path, env: &Env, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .args(args)
        .env("CLAUDERON_HOME", env.home())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `attach` in a pseudo-terminal: types a word (the container's terminal
/// echoes it), then detaches with Ctrl-P Ctrl-Q. Returns (exit code, output).
fn attach(bin: &Path, env: &Env, name: &str) -> (Option<i32>, String) {
    let command = format!("{} attach {name}", bin.display());
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("CLAUDERON_HOME", env.home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) runs (util-linux)");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    stdin.write_all(b"hello-from-the-user\r").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    stdin.write_all(&[0x10, 0x11]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "attach did not detach");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn a_new_user_installs_creates_lists_attaches_and_deletes() {
    if !docker_ready() {
        return;
    }
    let prefix = tempfile::tempdir().unwrap();
    let stages = install(prefix.path());
    for stage in ["1/4", "2/4", "3/4", "4/4", "done in"] {
        assert!(stages.contains(stage), "{stage}: {stages}");
    }
    let bin = prefix.path().join("bin/clauderon");
    let man1 = prefix.path().join("share/man/man1");
    assert!(man1.join("clauderon.1").exists() && man1.join("clauderon-create.1").exists());
    assert_pages_complete(&man1);
    assert!(
        prefix
            .path()
            .join("share/bash-completion/completions/clauderon")
            .exists()
    );

    let env = Env::new();
    let name = unique("newuser");
    let repo = env.repo().display().to_string();
    let create = [
        "create",
        "--repo",
        &repo,
        "--prompt",
        "Fix the bug",
        "--name",
        &name,
    ];
    let mut args = create.to_vec();
    args.extend(["--image", BASE_IMAGE, "--pull-policy", "never"]);
    let out = installed(&bin, &env, &args);
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("clauderon attach {name}")),
        "what to do next: {said}"
    );

    let list = String::from_utf8_lossy(&installed(&bin, &env, &["list"]).stdout).into_owned();
    assert!(list.contains(&name) && list.contains("running"), "{list}");

    let (code, text) = attach(&bin, &env, &name);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("hello-from-the-user"),
        "the terminal reached the container: {text}"
    );

    let out = installed(&bin, &env, &["delete", &name, "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8_lossy(&installed(&bin, &env, &["list"]).stdout).into_owned();
    assert!(list.contains("No sessions"), "{list}");
}
