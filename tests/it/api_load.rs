//! The API under load, against real Docker: 20 `POST /run`s at once with
//! `[api] max_concurrent_runs = 4`. Each ends `completed` or is a 429, and
//! the refused ones leave nothing behind; the completed ones delete clean.

use std::path::Path;
use std::time::Instant;

use crate::common::api::{Api, call};
use crate::common::{BASE_IMAGE, Env, docker_ok, docker_ready, git};
use serde_json::{Value, json};

/// Entries of a directory of the home (0 when it does not exist).
fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn branches(repo: &Path) -> Vec<String> {
    git(repo, &["branch", "--format=%(refname:short)"])
        .lines()
        .filter(|b| *b != "main")
        .map(String::from)
        .collect()
}

/// 20 `POST /run`s at once: half give the repository, half work in a
/// scratch one of their own. (repository given, status, answer) of each.
fn twenty_runs_at_once(api: &Api) -> Vec<(bool, u16, Value)> {
    std::thread::scope(|s| {
        let calls: Vec<_> = (0..20)
            .map(|i| {
                s.spawn(move || {
                    let mut body =
                        json!({"prompt": format!("load {i}"), "docker": {"image": BASE_IMAGE}});
                    if i % 2 == 0 {
                        body["repo"] = json!(api.repo);
                    }
                    let (code, answer) = api.post("/run", &body);
                    (i % 2 == 0, code, answer)
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    })
}

/// Each answer is `completed` or a 429 naming the limit: the completed
/// sessions, how many of them gave the repository, and how many got 429.
fn completed_or_refused(answers: &[(bool, u16, Value)]) -> (Vec<String>, usize, usize) {
    let mut completed = Vec::new();
    let (mut with_repo, mut refused) = (0, 0);
    for (given, code, answer) in answers {
        match code {
            200 => {
                assert_eq!(answer["status"], "completed", "{answer}");
                completed.push(answer["session"].as_str().unwrap().to_string());
                with_repo += usize::from(*given);
            }
            429 => {
                assert!(
                    answer["error"]
                        .as_str()
                        .unwrap()
                        .contains("max_concurrent_runs")
                );
                refused += 1;
            }
            _ => panic!("{code} {answer}"),
        }
    }
    (completed, with_repo, refused)
}

/// The home's containers (running or not).
fn containers(env: &Env) -> usize {
    let filter = format!("label=clauderon.home={}", env.home().display());
    docker_ok(&["ps", "-aq", "--filter", &filter])
        .lines()
        .count()
}

/// What exists is the completed runs', and only theirs.
fn assert_only_the_completed_exist(env: &Env, completed: &[String], with_repo: usize) {
    let n = completed.len();
    let home = env.home();
    assert_eq!(containers(env), n, "containers");
    assert_eq!(entries(&home.join("sessions")), n, "session records");
    assert_eq!(entries(&home.join("worktrees")), n, "worktrees");
    assert_eq!(
        entries(&home.join("scratch")),
        n - with_repo,
        "scratch repositories"
    );
    let mut made = branches(env.repo());
    made.sort();
    assert_eq!(made.len(), with_repo, "branches: {made:?}");
    assert!(made.iter().all(|b| completed.contains(b)), "{made:?}");
    let listed: Value = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), n, "{listed}");
}

/// The completed runs are ordinary sessions: deleted, nothing is left.
fn assert_deleted_leaving_nothing(env: &Env, completed: &[String]) {
    let home = env.home();
    for name in completed {
        env.run(&["delete", "--force", "--delete-branch", name])
            .ok();
    }
    assert_eq!(containers(env), 0, "containers after delete");
    assert_eq!(entries(&home.join("sessions")), 0);
    assert_eq!(entries(&home.join("worktrees")), 0);
    assert!(branches(env.repo()).is_empty());
    assert_eq!(entries(&home.join("scratch")), 0, "scratch repositories");
    assert_eq!(env.run(&["list", "--json"]).ok().stdout.trim(), "[]");
}

#[test]
fn twenty_runs_at_once_complete_or_get_429_and_leave_nothing_half_made() {
    if !docker_ready() {
        return;
    }
    let api = Api::new("max_concurrent_runs = 4\n");
    let started = Instant::now();
    let answers = twenty_runs_at_once(&api);
    let elapsed = started.elapsed();
    let (completed, with_repo, refused) = completed_or_refused(&answers);
    eprintln!(
        "{} completed, {refused} got 429, in {elapsed:?}",
        completed.len()
    );
    assert!(completed.len() >= 4, "{answers:?}");
    assert_eq!(completed.len() + refused, 20);
    assert_only_the_completed_exist(&api.env, &completed, with_repo);
    assert_deleted_leaving_nothing(&api.env, &completed);
    assert_eq!(call(api.port, "GET", "/health", None, "").0, 200);
}
