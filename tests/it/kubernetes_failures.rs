//! Failures of the kubectl flow, against the recording stand-in `kubectl`
//! (tests/support/kubectl): each fails fast, names the fix and rolls back;
//! dry runs and flags meant for other backends never reach kubectl.

use crate::common;

use crate::common::filters::{engine_transcript, snapshot, transcript};
use crate::common::kube::Kube;
use crate::common::{Env, git};
use serde_json::Value;

const HOSTILE: &str = "'; rm -rf / #\n$(touch /tmp/pwned)\n`id` \"q\" --flag 日本語 ✨\n";

/// `create --backend kubernetes --name NAME` and its extra flags, as the
/// snapshots show `Kube::create` (which adds --repo, --prompt and --image).
fn kube_create_args<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["create", "--backend", "kubernetes", "--name", name];
    args.extend_from_slice(extra);
    args
}

#[test]
fn each_failure_reason_fails_fast_and_rolls_back() {
    let mut shown = String::new();
    for reason in [
        "ImagePullBackOff",
        "ErrImagePull",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "InvalidImageName",
        "Unschedulable",
        "terminated",
    ] {
        let k = Kube::new();
        k.set("pod-state", reason);
        let e = k.create("kf", "work", &[]).fails();
        shown.push_str(&format!("# the pod: {reason}\n"));
        shown.push_str(&engine_transcript(&kube_create_args("kf", &[]), &e));
        for kind in [
            "Pod",
            "PersistentVolumeClaim",
            "ConfigMap",
            "Secret",
            "NetworkPolicy",
        ] {
            assert!(k.objects(kind).is_empty(), "{reason}: {kind} left");
        }
        assert!(
            git(k.env.repo(), &["branch", "--list", "kf"])
                .trim()
                .is_empty(),
            "{reason}: branch left"
        );
        assert!(!k.env.home().join("sessions/kf").exists(), "{reason}");
        // The namespace this create made is rolled back too.
        assert!(
            !k.dir
                .path()
                .join("objects/_cluster/Namespace/clauderon.json")
                .exists(),
            "{reason}"
        );
    }
    // Each reason named, with its fix, and the rollback said.
    snapshot!(shown);
}

#[test]
fn a_pod_that_never_runs_times_out_and_rolls_back() {
    let k = Kube::new();
    k.set("pod-state", "pending");
    let cfg = k.env.home().join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("[kubernetes]\ncreate_timeout = 1\n");
    std::fs::write(&cfg, text).unwrap();
    let e = k.create("kt", "work", &[]).fails();
    snapshot!(engine_transcript(&kube_create_args("kt", &[]), &e));
    assert!(k.objects("PersistentVolumeClaim").is_empty());
}

#[test]
fn forbidden_no_context_and_no_kubectl_name_the_fix() {
    let k = Kube::new();
    k.set("fail-apply", "Error from server (Forbidden): pods is forbidden: User \"dev\" cannot create resource \"pods\" in API group \"\" in the namespace \"clauderon\"");
    let e = k.create("kx", "work", &[]).fails();
    assert!(e.stderr.contains("auth can-i"), "{}", e.stderr);
    assert!(!k.env.home().join("sessions/kx").exists());
    let e = k.create("ky", "work", &["--context", "nope"]).fails();
    assert!(e.stderr.contains("no such kubectl context"), "{}", e.stderr);
    assert!(e.stderr.contains("kind-test"), "{}", e.stderr);
    // A PATH with git but no kubectl.
    let mut bare = Env::new();
    let bin = tempfile::tempdir().unwrap();
    let which = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let git_path = String::from_utf8(which.stdout).unwrap();
    std::os::unix::fs::symlink(git_path.trim(), bin.path().join("git")).unwrap();
    bare.extra_env
        .push(("PATH".into(), bin.path().display().to_string()));
    let repo = bare.repo().display().to_string();
    for extra in [&["--context", "c"][..], &[][..]] {
        let mut args = vec![
            "create",
            "--backend",
            "kubernetes",
            "--repo",
            &repo,
            "--prompt",
            "p",
        ];
        args.extend_from_slice(extra);
        let e = bare.run(&args).fails();
        assert!(e.stderr.contains("install kubectl"), "{}", e.stderr);
        assert!(!bare.home().join("sessions").exists());
    }
}

#[test]
fn an_unreachable_cluster_warns_once_and_list_still_works() {
    let k = Kube::new();
    k.create("ka", "work", &[]).ok();
    k.create("kb", "work", &[]).ok();
    // A docker session (a record only) is still listed from docker's answer.
    common::fake_session(&k.env, "dock-1", "tok");
    k.set("unreachable", "");
    let before = k.calls().len();
    let out = k.env.run(&["list", "--json"]).ok();
    // One warning, whole.
    snapshot!(out.stderr);
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let by = |n: &str| rows.iter().find(|r| r["name"] == n).unwrap().clone();
    assert_eq!(by("ka")["state"], "unknown");
    assert_eq!(by("kb")["state"], "unknown");
    assert_eq!(by("dock-1")["backend"], "docker");
    assert_eq!(by("dock-1")["state"], "missing", "docker answered for it");
    let lists = k.calls()[before..]
        .iter()
        .filter(|(a, _)| a.get(2).is_some_and(|v| v == "get") && a[3] == "pods")
        .count();
    assert_eq!(lists, 1, "one get pods per list");
}

#[test]
fn dry_runs_never_call_kubectl() {
    let k = Kube::new();
    let out = k
        .create("kd", HOSTILE, &["--context", "kind-test", "--dry-run"])
        .ok();
    assert!(
        out.stdout
            .contains("apply '--filename=-' <<'CLAUDERON_EOF'"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("<redacted:"), "{}", out.stdout);
    let out = k
        .env
        .run(&["kube", "setup", "--context", "kind-test", "--dry-run"])
        .ok();
    assert!(
        out.stdout.contains("pod-security.kubernetes.io/enforce"),
        "{}",
        out.stdout
    );
    assert!(k.calls().is_empty(), "{:?}", k.calls());
    k.env.run(&["kube", "setup", "--context", "kind-test"]).ok();
    assert!(
        k.dir
            .path()
            .join("objects/_cluster/Namespace/clauderon.json")
            .exists()
    );
}

#[test]
fn kubernetes_only_flags_are_refused_elsewhere() {
    let k = Kube::new();
    let repo = k.env.repo().display().to_string();
    let args = ["create", "--context", "c", "--repo", &repo, "--prompt", "p"];
    let mut shown = transcript(&args, &k.env.run(&args).fails());
    let e = k.create("bad_name", "p", &[]).fails();
    shown.push_str(&transcript(&kube_create_args("bad_name", &[]), &e));
    let cap = ["--cap-add", "SYS_ADMIN"];
    let e = k.create("capx", "p", &cap).fails();
    shown.push_str(&transcript(&kube_create_args("capx", &cap), &e));
    snapshot!(shown);
    assert!(k.calls().iter().all(|(a, _)| a[0] == "config"));
}

#[test]
fn a_namespace_that_was_there_before_survives_a_rollback() {
    let k = Kube::new();
    k.env.run(&["kube", "setup"]).ok();
    k.set("pod-state", "ErrImagePull");
    k.create("kn", "work", &[]).fails();
    assert!(
        k.dir
            .path()
            .join("objects/_cluster/Namespace/clauderon.json")
            .exists()
    );
    let applies = k
        .calls()
        .into_iter()
        .filter(|(a, _)| a.get(2).is_some_and(|v| v == "apply"))
        .count();
    assert_eq!(
        applies, 3,
        "setup's namespace and daemon, then the session: create did not apply them again"
    );
    // The daemon that was there before survives the rollback too.
    assert_eq!(k.objects("Deployment"), ["clauderon-daemon"]);
    assert_eq!(k.objects("Secret"), ["clauderon-daemon"]);
}

#[test]
fn delete_force_discard_of_a_session_on_a_vanished_cluster_removes_the_record() {
    let k = Kube::new();
    k.create("kv", "work", &[]).ok();
    k.set("unreachable", "");
    let args = ["delete", "--force", "kv"];
    let mut shown = transcript(&args, &k.env.run(&args).fails());
    assert!(k.env.home().join("sessions/kv").exists());
    let args = ["delete", "--force", "--discard", "kv"];
    shown.push_str(&transcript(&args, &k.env.run(&args).ok()));
    snapshot!(shown);
    assert!(!k.env.home().join("sessions/kv").exists());
}
