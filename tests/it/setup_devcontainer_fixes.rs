//! Every refusal of a devcontainer.json names the file and says how to get
//! past it, a file in a subfolder (`--devcontainer NAME`) included; and
//! subfolder files that no flag picks are said, not silently unused.

use crate::common::Env;

/// Writes `body` at `rel` in the test repository (uncommitted: create
/// reads the working tree).
fn write(env: &Env, rel: &str, body: &[u8]) {
    let path = env.repo().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fn dry_create(env: &Env, extra: &[&str]) -> crate::common::Run {
    let repo = env.repo().display().to_string();
    let mut args = vec!["create", "--repo", &repo, "--prompt", "hi", "--dry-run"];
    args.extend_from_slice(extra);
    env.run(&args)
}

#[test]
fn refusals_name_the_file_and_the_fix() {
    let cases: [(&str, &[u8], &[&str], &str); 3] = [
        (
            ".devcontainer/devcontainer.json",
            br#"{ "image": 123 }"#,
            &[],
            "clauderon: error: devcontainer.json: `image` must be a string\n  fix: fix it in .devcontainer/devcontainer.json, or pass --no-devcontainer\n",
        ),
        (
            ".devcontainer/node/devcontainer.json",
            br#"{ "image": "x", "containerEnv": { "A": 1 } }"#,
            &["--devcontainer", "node"],
            "clauderon: error: devcontainer.json: `containerEnv.A` must be a string\n  fix: fix it in .devcontainer/node/devcontainer.json, or pass --no-devcontainer\n",
        ),
        (
            ".devcontainer.json",
            b"\xff{}",
            &[],
            "clauderon: error: .devcontainer.json is not UTF-8 text\n  fix: fix it in .devcontainer.json, or pass --no-devcontainer\n",
        ),
    ];
    for (rel, body, extra, expected) in cases {
        let env = Env::new();
        write(&env, rel, body);
        let r = dry_create(&env, extra).fails();
        assert_eq!(r.code, 2, "{rel}: {}", r.stderr);
        assert_eq!(r.stderr, expected, "{rel}");
    }
}

/// Only subfolder files (`.devcontainer/NAME/devcontainer.json`): create
/// says they are there and how to pick one; --no-devcontainer is quiet.
#[test]
fn subfolder_files_no_flag_picks_are_said() {
    let env = Env::new();
    for name in ["python", "node"] {
        let rel = format!(".devcontainer/{name}/devcontainer.json");
        write(&env, &rel, br#"{ "image": "--privileged" }"#);
    }
    let r = dry_create(&env, &[]).ok();
    assert_eq!(
        r.stderr,
        "clauderon: note: .devcontainer/ holds devcontainer.json files for node, python but none is used without --devcontainer NAME (e.g. --devcontainer node); using the default image\n"
    );
    let r = dry_create(&env, &["--no-devcontainer"]).ok();
    assert_eq!(r.stderr, "");
}

/// A FIFO where devcontainer.json should be is refused at once (opening it
/// would wait for a writer forever); a byte-order mark, as editors on
/// Windows write, is read past.
#[test]
fn a_fifo_is_refused_and_a_byte_order_mark_is_read_past() {
    let env = Env::new();
    let dir = env.repo().join(".devcontainer");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("devcontainer.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let r = dry_create(&env, &[]).fails();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "clauderon: error: .devcontainer/devcontainer.json is not a regular file\n  fix: make it a file, or pass --no-devcontainer\n"
    );
    std::fs::remove_file(&fifo).unwrap();
    write(
        &env,
        ".devcontainer/devcontainer.json",
        "\u{feff}{ \"image\": \"clauderon-test-bom:1\" }".as_bytes(),
    );
    let r = dry_create(&env, &[]).ok();
    assert!(r.stdout.contains("clauderon-test-bom:1"), "{}", r.stdout);
}

/// The cross-platform idiom `${localEnv:HOME}${localEnv:USERPROFILE}`:
/// Windows' variable is unset here, so it expands to nothing, as the spec
/// expands an unset variable.
#[test]
fn the_cross_platform_home_idiom_expands_to_home() {
    let mut env = Env::new();
    let home = tempfile::tempdir().unwrap();
    let home_dir = home.path().canonicalize().unwrap();
    std::fs::create_dir_all(home_dir.join("data")).unwrap();
    env.append_config(&format!(
        "[mounts]\nallowed_roots = [{:?}]\n",
        home_dir.display().to_string()
    ));
    env.extra_env
        .push(("HOME".into(), home_dir.display().to_string()));
    write(
        &env,
        ".devcontainer/devcontainer.json",
        br#"{ "image": "clauderon-test-base:1", "mounts": ["source=${localEnv:HOME}${localEnv:USERPROFILE}/data,target=/data,type=bind"] }"#,
    );
    let r = dry_create(&env, &[]).ok();
    let mount = format!("src={}/data,dst=/data,readonly", home_dir.display());
    assert!(r.stdout.contains(&mount), "{}", r.stdout);
}
