//! What a new user hit in a day with clauderon (issue 20), against real
//! Docker: delete with the engine down, finished print runs, a kept branch,
//! events' usage and alignment, JSON documents and names.

use crate::common;

use crate::common::{Env, docker_ok, docker_ready, engine_down, unique};
use serde_json::Value;

fn list(env: &Env) -> Vec<Value> {
    serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap()
}

fn row<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {rows:?}"))
}

/// Up to 20 s for `name`'s container to have exited.
fn wait_exited(env: &Env, name: &str) -> Value {
    for _ in 0..100 {
        let rows = list(env);
        let r = row(&rows, name).clone();
        if r["state"] == "exited" {
            return r;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{name} did not exit");
}

#[test]
fn delete_force_with_the_engine_down_exits_1_naming_the_container_and_list_shows_it_after() {
    if !docker_ready() {
        return;
    }
    let mut env = Env::new();
    let name = unique("nudown");
    env.create(&name, "work", &[]).ok();
    let container = format!("clauderon-{name}");
    engine_down(&mut env);
    let r = env.run(&["delete", &name, "--force"]).fails();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let fix = format!("docker rm -f {container}");
    assert!(r.stderr.contains(&fix), "{}", r.stderr);
    // Said once: as the error, not also as a warning before it.
    assert_eq!(r.stderr.matches(&fix).count(), 1, "{}", r.stderr);
    assert!(!r.stdout.contains("Deleted"), "{}", r.stdout);
    assert!(!env.home().join("sessions").join(&name).exists());
    // The engine is back: the container shows, with its fix, although no
    // session of this home uses docker any more.
    env.extra_env.clear();
    let rows = list(&env);
    let left = row(&rows, &name);
    assert_eq!(left["state"], "orphaned", "{left}");
    assert!(
        left["engine_status"].as_str().unwrap().contains(&fix),
        "{left}"
    );
    docker_ok(&["rm", "-f", &container]);
    assert!(list(&env).is_empty());
    assert!(
        !env.home().join("leftovers/docker").exists(),
        "cleared once answered"
    );
}

#[test]
fn a_finished_print_run_is_done_or_failed_with_its_exit_code() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let ok = unique("nuprint");
    let bad = unique("nufail");
    env.create(&ok, "sum it up", &["--print"]).ok();
    env.create(
        &bad,
        "sum it up",
        &["--print", "-e", "STUB_BEHAVIOR=exit:3"],
    )
    .ok();
    assert_eq!(wait_exited(&env, &ok)["agent_status"], "done");
    assert_eq!(wait_exited(&env, &bad)["agent_status"], "failed (exit 3)");
    let table = env.run(&["list"]).ok().stdout;
    assert!(table.contains("failed (exit 3)"), "{table}");
    for n in [&ok, &bad] {
        env.run(&["delete", n, "--force"]).ok();
    }
}

#[test]
fn create_after_delete_names_base_and_delete_branch_for_the_kept_branch() {
    let env = Env::new();
    let name = unique("nubranch");
    common::git(env.repo(), &["branch", &name]);
    let repo = env.repo().display().to_string();
    let r = env
        .run(&[
            "create",
            "--name",
            &name,
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--dry-run",
        ])
        .fails();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("--base {name}")), "{}", r.stderr);
    assert!(r.stderr.contains("--delete-branch"), "{}", r.stderr);
}

#[test]
fn events_without_a_name_mentions_all_and_its_help_names_both_agents() {
    let env = Env::new();
    let r = env.run(&["events"]).fails();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--all"), "{}", r.stderr);
    let help = env.run(&["events", "--help"]).ok().stdout;
    assert!(
        help.contains("Codex") && help.contains("Claude Code"),
        "{help}"
    );
    assert!(help.contains("JSON Lines"), "{help}");
    let help = env.run(&["proxy", "log", "--help"]).ok().stdout;
    assert!(help.contains("JSON Lines"), "{help}");
}

#[test]
fn events_all_aligns_names_longer_than_16() {
    let env = Env::new();
    let long = "a-session-name-of-30-characters";
    for name in [long, "short"] {
        common::fake_session(&env, name, "token");
        let dir = env.home().join("sessions").join(name);
        std::fs::write(
            dir.join("events.jsonl"),
            "{\"event\":\"SessionStart\",\"received_at\":1}\n",
        )
        .unwrap();
    }
    let out = env.run(&["events", "--all"]).ok().stdout;
    let columns: Vec<usize> = out
        .lines()
        .map(|l| l.find("SessionStart").unwrap())
        .collect();
    assert_eq!(columns.len(), 2, "{out}");
    assert_eq!(columns[0], columns[1], "{out}");
    assert!(columns[0] > long.len(), "{out}");
}

/// `create --backend kubernetes --dry-run --json` (no cluster is asked).
pub(crate) fn kube_dry_run_json(env: &Env) -> common::Run {
    let repo = env.repo().display().to_string();
    let kube = ["--backend", "kubernetes", "--context", "kind-test"];
    let mut args = vec!["create"];
    args.extend(kube);
    args.extend(["--repo", &repo, "--prompt", "x", "--dry-run", "--json"]);
    env.run(&args)
}

#[test]
fn kubernetes_dry_run_json_prints_the_json_plan() {
    let env = Env::new();
    let r = kube_dry_run_json(&env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan: Value = serde_json::from_str(&r.stdout).expect("a JSON plan");
    assert_eq!(plan["dry_run"], true);
    assert!(!plan["steps"].as_array().unwrap().is_empty(), "{plan}");
    assert!(plan["notes"].to_string().contains("kubectl was not called"));
}

#[test]
fn list_json_names_the_engine_status_apart_from_the_agent_status() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("nujson");
    env.create(&name, "work", &[]).ok();
    let rows = list(&env);
    let r = row(&rows, &name);
    assert!(r.get("status").is_none(), "{r}");
    assert!(
        r["engine_status"].as_str().unwrap().starts_with("Up"),
        "{r}"
    );
    assert!(r["agent_status"].is_string(), "{r}");
    env.run(&["delete", &name, "--force"]).ok();
}

#[test]
fn completions_offer_session_names_and_a_typo_gets_did_you_mean() {
    let env = Env::new();
    common::fake_session(&env, "nu-claude", "token");
    let script = env.run(&["completions", "bash"]).ok().stdout;
    let path = env.home().join("completion.bash");
    std::fs::write(&path, script).unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_clauderon"))
        .parent()
        .unwrap();
    let path_var = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let complete = |words: &str| {
        let script = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _clauderon_with_sessions clauderon \"${{COMP_WORDS[COMP_CWORD]}}\"; echo \"${{COMPREPLY[@]}}\"",
            path.display()
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &script])
            .env("PATH", &path_var)
            .env("CLAUDERON_HOME", env.home())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(complete("clauderon attach nu"), "nu-claude");
    assert_eq!(complete("clauderon status ''"), "nu-claude");
    assert!(complete("clauderon attach --dr").contains("--dry-run"));
    for shell in ["zsh", "fish"] {
        let script = env.run(&["completions", shell]).ok().stdout;
        assert!(script.contains("clauderon __sessions"), "{shell}");
    }
    let r = env.run(&["status", "nu-claud"]).fails();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean nu-claude?"), "{}", r.stderr);
}
