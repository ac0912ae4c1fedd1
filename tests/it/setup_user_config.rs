//! The user's own agent configuration in a session, on a REAL Docker
//! engine: a fake HOME with CLAUDE.md, a skill, a command, a settings.json
//! whose env holds a token, a login file, history, a link outside and an
//! oversize file. The session gets its own copy (CLAUDE_CONFIG_DIR, outside
//! the worktree), without the token or the login anywhere in the container
//! or in `docker inspect`; the repository's own .claude/ stays where it was.

use crate::common;

use std::path::Path;

use crate::common::{BASE_IMAGE, Env, docker, docker_ok, docker_ready, unique};

const TOKEN: &str = "ghp_userSETTINGStoken0123456789";
const LOGIN: &str = "sk-ant-oat01-REAL-LOGIN-never-copied";

/// A user's ~/.claude and ~/.codex under a temp HOME.
fn fake_home(env: &mut Env) -> tempfile::TempDir {
    let home = tempfile::Builder::new()
        .prefix("clauderon-user")
        .tempdir()
        .unwrap();
    let c = home.path().join(".claude");
    for d in [
        "skills/review",
        "commands",
        "agents",
        "projects/old",
        "output-styles",
    ] {
        std::fs::create_dir_all(c.join(d)).unwrap();
    }
    std::fs::write(c.join("CLAUDE.md"), "Always answer in haiku.\n").unwrap();
    std::fs::write(
        c.join("skills/review/SKILL.md"),
        "---\nname: review\n---\nReview carefully.\n",
    )
    .unwrap();
    std::fs::write(c.join("commands/deploy.md"), "Deploy $ARGUMENTS\n").unwrap();
    std::fs::write(c.join("agents/big.md"), "x".repeat(3000)).unwrap();
    std::fs::write(
        c.join("projects/old/t.jsonl"),
        format!("{{\"k\":\"{LOGIN}\"}}\n"),
    )
    .unwrap();
    std::fs::write(
        c.join(".credentials.json"),
        format!("{{\"token\":\"{LOGIN}\"}}"),
    )
    .unwrap();
    let settings = serde_json::json!({
        "env": {"GITHUB_TOKEN": TOKEN, "EDITOR": "vim"},
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "/usr/local/bin/notify-me"}]}]},
        "apiKeyHelper": "/usr/local/bin/get-key",
        "model": "opus"
    });
    std::fs::write(c.join("settings.json"), settings.to_string()).unwrap();
    let outside = home.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret.md"), LOGIN).unwrap();
    std::os::unix::fs::symlink(&outside, c.join("commands/linked")).unwrap();
    env.append_config("[agent]\nuser_config_max_bytes = 2000\n");
    env.use_user_home(home.path());
    home
}

fn exec(container: &str, script: &str) -> String {
    docker_ok(&["exec", container, "sh", "-c", script])
}

/// What the session's copy holds, and what it must not.
fn assert_copied(c: &str) {
    assert_eq!(exec(c, "printenv CLAUDE_CONFIG_DIR"), "/clauderon/claude");
    assert_eq!(
        exec(c, "cat /clauderon/claude/CLAUDE.md"),
        "Always answer in haiku."
    );
    assert!(exec(c, "cat /clauderon/claude/skills/review/SKILL.md").contains("Review carefully."));
    assert!(exec(c, "cat /clauderon/claude/commands/deploy.md").contains("Deploy"));
    let settings: serde_json::Value =
        serde_json::from_str(&exec(c, "cat /clauderon/claude/settings.json")).unwrap();
    assert_eq!(settings["env"], serde_json::json!({"EDITOR": "vim"}));
    assert_eq!(settings["model"], "opus");
    assert!(settings.get("hooks").is_none() && settings.get("apiKeyHelper").is_none());
    for gone in [
        "/clauderon/claude/.credentials.json",
        "/clauderon/claude/agents/big.md",
        "/clauderon/claude/commands/linked",
    ] {
        assert!(
            !docker(&["exec", c, "test", "-e", gone]).status.success(),
            "{gone}"
        );
    }
    // The repository's own .claude/ is where Claude Code reads project files.
    assert_eq!(
        exec(c, "cat /workspace/.claude/commands/x.md"),
        "the project's command"
    );
}

/// Neither the token nor the login anywhere in the container or its inspect.
fn assert_no_secret(c: &str) {
    let grep = format!(
        "grep -rlsF -e {TOKEN} -e {LOGIN} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null; true"
    );
    let found = docker(&["exec", c, "sh", "-c", &grep]);
    assert_eq!(
        String::from_utf8_lossy(&found.stdout).trim(),
        "",
        "a secret is in the container"
    );
    let inspect = docker_ok(&["container", "inspect", c]);
    assert!(!inspect.contains(TOKEN) && !inspect.contains(LOGIN));
}

#[test]
fn the_users_configuration_comes_without_the_users_secrets() {
    if !docker_ready() {
        return;
    }
    let mut env = Env::new();
    let home = fake_home(&mut env);
    std::fs::create_dir_all(env.repo().join(".claude/commands")).unwrap();
    std::fs::write(
        env.repo().join(".claude/commands/x.md"),
        "the project's command\n",
    )
    .unwrap();
    common::git(env.repo(), &["add", "-A"]);
    common::git(env.repo(), &["commit", "-q", "-m", "project command"]);
    let name = unique("user-config");
    let dry = env.create(&name, "hi", &["--dry-run"]).ok().stdout;
    assert!(
        dry.contains("cp -- ") && dry.contains("skills/review/SKILL.md"),
        "{dry}"
    );
    assert!(!dry.contains(TOKEN) && !dry.contains(LOGIN), "{dry}");
    // Each subdirectory is made before its copy: the lines work pasted.
    let copies: Vec<&str> = (dry.lines())
        .filter(|l| l.starts_with("cp -- ") || l.starts_with("mkdir -p -- "))
        .collect();
    let shown = (copies.join("\n"))
        .replace(&home.path().display().to_string(), "[USER_HOME]")
        .replace(&env.home().display().to_string(), "[CLAUDERON_HOME]")
        .replace(&name, "[NAME]");
    insta::assert_snapshot!(shown);
    env.create(&name, "hi", &[]).ok();
    let c = format!("clauderon-{name}");
    assert_copied(&c);
    assert_no_secret(&c);
    let status = env.run(&["status", &name]).ok().stdout;
    for expected in [
        "CLAUDE.md",
        "skills/ (1 file)",
        "settings.json",
        "hooks",
        "GITHUB_TOKEN",
        ".credentials.json",
        "agents/big.md",
        "outside",
    ] {
        assert!(status.contains(expected), "{expected}: {status}");
    }
    // The session's copy is its own: the agent's edit stays there.
    exec(&c, "echo changed > /clauderon/claude/CLAUDE.md");
    let host = std::fs::read_to_string(home.path().join(".claude/CLAUDE.md")).unwrap();
    assert_eq!(host, "Always answer in haiku.\n");
    let other = unique("user-config2");
    env.create(&other, "hi", &[]).ok();
    let copy = exec(
        &format!("clauderon-{other}"),
        "cat /clauderon/claude/CLAUDE.md",
    );
    assert_eq!(copy, "Always answer in haiku.");
    env.run(&["delete", "--force", &name]).ok();
    env.run(&["delete", "--force", &other]).ok();
}

#[test]
fn no_user_config_brings_nothing() {
    if !docker_ready() {
        return;
    }
    let mut env = Env::new();
    let _home = fake_home(&mut env);
    let name = unique("no-user-config");
    let dry = env
        .create(&name, "hi", &["--no-user-config", "--dry-run"])
        .ok()
        .stdout;
    assert!(
        !dry.contains("agent-config") && !dry.contains("CLAUDE_CONFIG_DIR=/clauderon"),
        "{dry}"
    );
    env.create(&name, "hi", &["--no-user-config"]).ok();
    let c = format!("clauderon-{name}");
    assert!(
        !docker(&["exec", &c, "test", "-e", "/clauderon/claude"])
            .status
            .success()
    );
    let v: serde_json::Value =
        serde_json::from_str(&env.run(&["--json", "status", &name]).ok().stdout).unwrap();
    assert!(v["setup"]["user_config"].is_null(), "{v}");
    let _ = Path::new(BASE_IMAGE);
    env.run(&["delete", "--force", &name]).ok();
}
