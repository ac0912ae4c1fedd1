//! The kubectl flow against a recording stand-in `kubectl`
//! (tests/support/kubectl), first on PATH: no cluster can run on the
//! machines these tests run on. The stand-in records argv and stdin and
//! answers like kubectl; its `exec` runs the real git-receive-pack and
//! git-upload-pack, so the ext:: push and fetch are real on git's side.

use std::path::Path;

use crate::common::filters::snapshot;
use crate::common::git;
use crate::common::kube::Kube;
use serde_json::Value;

const HOSTILE: &str = "'; rm -rf / #\n$(touch /tmp/pwned)\n`id` \"q\" --flag 日本語 ✨\n";

/// kubectl calls as the stand-in recorded them: (argv, stdin).
type Calls = [(Vec<String>, Option<String>)];

/// The first create made the namespace, and applied the session's objects
/// in order, with the prompt byte for byte in its ConfigMap.
fn assert_applied_in_order_with_the_prompt(k: &Kube, calls: &Calls) {
    let apply = calls
        .iter()
        .find(|(a, s)| {
            a.get(2).is_some_and(|v| v == "apply") && s.as_deref().unwrap().contains("\"Pod\"")
        })
        .unwrap();
    // The first create in the namespace made it, as `kube setup` does.
    assert!(
        k.dir
            .path()
            .join("objects/_cluster/Namespace/clauderon.json")
            .exists()
    );
    let list: Value = serde_json::from_str(apply.1.as_deref().unwrap()).unwrap();
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "NetworkPolicy",
            "PersistentVolumeClaim",
            "ConfigMap",
            "Secret",
            "Pod"
        ]
    );
    let map = &list["items"][2];
    assert_eq!(
        map["data"]["prompt"].as_str().unwrap(),
        HOSTILE,
        "the prompt byte for byte"
    );
}

#[test]
fn create_applies_waits_pushes_and_the_agent_gets_the_branch() {
    let k = Kube::new();
    k.create("k1", HOSTILE, &[]).ok();
    let calls = k.calls();
    // Context resolved once, from kubectl's current context.
    assert_eq!(calls[0].0, ["config", "current-context"]);
    for (argv, _) in calls.iter().filter(|(a, _)| a[0] != "config") {
        assert_eq!(argv[0], "--context=kind-test", "{argv:?}");
        assert_eq!(argv[1], "--namespace=clauderon", "{argv:?}");
    }
    assert_applied_in_order_with_the_prompt(&k, &calls);
    // No secret in any argv: the record's token and proxy URL are stdin only.
    let record: Value = serde_json::from_slice(
        &std::fs::read(k.env.home().join("sessions/k1/session.json")).unwrap(),
    )
    .unwrap();
    let token = record["hook_token"].as_str().unwrap();
    assert!(calls.iter().all(|(a, _)| !a.join(" ").contains(token)));
    assert_eq!(record["kubernetes"]["context"], "kind-test");
    // The branch arrived in the pod's volume by git over kubectl exec.
    let host_tip = git(k.env.repo(), &["rev-parse", "main"]);
    let pod_tip = git(&k.volume("k1"), &["rev-parse", "refs/heads/k1"]);
    assert_eq!(host_tip, pod_tip);
    assert!(
        calls
            .iter()
            .any(|(a, _)| a.contains(&"git-receive-pack".to_string()))
    );
    // No worktree on the host: the code lives in the cluster.
    assert!(!k.env.worktree("k1").exists());
    let out = k.env.run(&["list", "--json"]).ok();
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows[0]["backend"], "kubernetes");
    assert_eq!(rows[0]["state"], "running");
}

fn commit_as_agent(volume: &Path, file: &str) -> String {
    std::fs::write(volume.join(file), "agent work\n").unwrap();
    git(volume, &["add", file]);
    git(volume, &["commit", "-q", "-m", "agent commit"]);
    git(volume, &["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn pull_fetches_the_agents_commits_without_a_checkout() {
    let k = Kube::new();
    k.create("k2", "work", &[]).ok();
    let head_before = git(k.env.repo(), &["rev-parse", "HEAD"]);
    let agent = commit_as_agent(&k.volume("k2"), "agent.txt");
    k.env.run(&["pull", "k2"]).ok();
    assert_eq!(git(k.env.repo(), &["rev-parse", "k2"]).trim(), agent);
    assert_eq!(git(k.env.repo(), &["rev-parse", "HEAD"]), head_before);
    assert!(
        !k.env.repo().join("agent.txt").exists(),
        "nothing was checked out"
    );
    let fetch = k
        .calls()
        .into_iter()
        .find(|(a, _)| a.contains(&"git-upload-pack".to_string()));
    assert!(fetch.is_some());
}

#[test]
fn delete_pulls_first_then_removes_everything_labelled() {
    let k = Kube::new();
    k.create("k3", "work", &[]).ok();
    let agent = commit_as_agent(&k.volume("k3"), "a.txt");
    k.env.run(&["delete", "--force", "k3"]).ok();
    assert_eq!(git(k.env.repo(), &["rev-parse", "k3"]).trim(), agent);
    for kind in [
        "Pod",
        "PersistentVolumeClaim",
        "ConfigMap",
        "Secret",
        "NetworkPolicy",
    ] {
        // The namespace's daemon stays: it serves the other sessions.
        let left: Vec<String> = k
            .objects(kind)
            .into_iter()
            .filter(|o| o != "clauderon-daemon")
            .collect();
        assert!(left.is_empty(), "{kind} left: {left:?}");
    }
    assert!(!k.env.home().join("sessions/k3").exists());
}

#[test]
fn stop_keeps_the_volume_start_and_refresh_apply_the_pod_again() {
    let k = Kube::new();
    k.create("k4", "work", &[]).ok();
    k.env.run(&["stop", "k4"]).ok();
    assert!(k.objects("Pod").is_empty());
    assert_eq!(k.objects("PersistentVolumeClaim"), ["clauderon-k4"]);
    let rows: Value = serde_json::from_str(&k.env.run(&["list", "--json"]).ok().stdout).unwrap();
    assert_eq!(rows[0]["state"], "stopped");
    // Without a pod there is nothing to pull from: delete says so.
    let e = k.env.run(&["delete", "--force", "k4"]).fails();
    assert!(e.stderr.contains("clauderon start k4"), "{}", e.stderr);
    k.env.run(&["start", "k4"]).ok();
    assert_eq!(k.objects("Pod"), ["clauderon-k4"]);
    k.env.run(&["refresh", "k4"]).ok();
    let last_apply = k
        .calls()
        .into_iter()
        .rev()
        .find(|(a, _)| a.get(2).is_some_and(|v| v == "apply"))
        .unwrap();
    // Refresh applies the session's files (their token and CA follow the
    // namespace's keys), then the pod; never the volume.
    let list: Value = serde_json::from_str(last_apply.1.as_deref().unwrap()).unwrap();
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ConfigMap", "Secret", "Pod"]);
    assert_eq!(
        list["items"][2]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    k.env.run(&["delete", "--force", "--discard", "k4"]).ok();
    assert!(k.objects("PersistentVolumeClaim").is_empty());
}

#[test]
fn attach_and_logs_argv() {
    let k = Kube::new();
    k.create(
        "k5",
        "work",
        &["--context", "kind-test", "--namespace", "clauderon"],
    )
    .ok();
    let out = k.env.run(&["attach", "--dry-run", "k5"]).ok();
    assert!(out.stdout.contains("kubectl '--context=kind-test' '--namespace=clauderon' attach --stdin --tty clauderon-k5 --container agent"), "{}", out.stdout);
    k.env.run(&["logs", "--tail", "5", "k5"]).ok();
    let logs = k
        .calls()
        .into_iter()
        .find(|(a, _)| a.get(2).is_some_and(|v| v == "logs"))
        .unwrap();
    assert_eq!(
        logs.0[2..],
        ["logs", "clauderon-k5", "--container", "agent", "--tail=5"]
    );
}

#[test]
fn status_and_events_of_a_kubernetes_session() {
    let k = Kube::new();
    k.create("ke", "work", &["--namespace", "team-a"]).ok();
    let out = k.env.run(&["status", "ke"]).ok();
    assert!(
        out.stdout.contains("context kind-test, namespace team-a"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("running"), "{}", out.stdout);
    assert!(out.stdout.contains("No events yet."), "{}", out.stdout);
    // The hook events come from the namespace's in-cluster daemon.
    let out = k.env.run(&["events", "ke"]).ok();
    assert_eq!(out.stdout, "", "no hook event yet");
    let ev = k
        .calls()
        .into_iter()
        .rfind(|(a, _)| a.contains(&"--session=ke".to_string()))
        .unwrap();
    assert_eq!(
        ev.0[..3],
        ["--context=kind-test", "--namespace=team-a", "exec"]
    );
    assert!(ev.0.contains(&"deployment/clauderon-daemon".to_string()));
    assert!(ev.0.contains(&"--request-timeout=5s".to_string()));
}

#[test]
fn a_readiness_marker_left_by_the_previous_pod_does_not_count() {
    let k = Kube::new();
    // The timeout is the session's, recorded at create.
    let cfg = k.env.home().join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap() + "[kubernetes]\ncreate_timeout = 2\n";
    std::fs::write(&cfg, text).unwrap();
    k.create("kr", "work", &[]).ok();
    k.env.run(&["stop", "kr"]).ok();
    assert!(
        k.volume("kr").join(".clauderon/ready").exists(),
        "the old marker is still on the volume"
    );
    k.set("no-handover", "");
    let began = std::time::Instant::now();
    let e = k.env.run(&["start", "kr"]).fails();
    assert!(e.stderr.contains("hand over to the agent"), "{}", e.stderr);
    assert!(began.elapsed() < std::time::Duration::from_secs(30));
}

/// The lifecycle dry runs (`all`) with what differs per run replaced:
/// temp paths, the session's id, home label, uid and gid, and keys.
fn redact(mut all: String, k: &Kube, record: &Value) -> String {
    let replace = [
        (k.env.home().display().to_string(), "<HOME>"),
        (k.env.repo().display().to_string(), "<REPO>"),
        (record["id"].as_str().unwrap().to_string(), "<ID>"),
        (
            record["kubernetes"]["home_label"]
                .as_str()
                .unwrap()
                .to_string(),
            "<HOME-LABEL>",
        ),
    ];
    for (from, to) in replace {
        all = all.replace(&from, to);
    }
    // The pod runs as your uid (1000 when you are root).
    let (uid, gid) = (
        record["uid"].as_u64().unwrap(),
        record["gid"].as_u64().unwrap(),
    );
    for (key, id) in [("runAsUser", uid), ("runAsGroup", gid), ("fsGroup", gid)] {
        all = all.replace(&format!("\"{key}\": {id},"), &format!("\"{key}\": <ID>,"));
        all = all.replace(&format!("\"{key}\": {id}\n"), &format!("\"{key}\": <ID>\n"));
    }
    // The daemon's keys fingerprint hashes this run's random keys; the
    // namespace CA is made per run, and its bundle holds this machine's roots.
    let random = ["clauderon.io/keys", "proxy-ca.pem", "proxy-ca-bundle.pem"];
    all.lines()
        .map(|l| {
            let found = random
                .iter()
                .find_map(|key| l.find(&format!("\"{key}\": \"")).map(|i| (i, key)))
                .filter(|_| !l.contains("<redacted: "));
            match found {
                Some((i, key)) => format!("{}\"{key}\": \"<RANDOM>\"\n", &l[..i]),
                None => format!("{l}\n"),
            }
        })
        .collect()
}

/// The dry runs of every other command on a kubernetes session, exactly
/// (temp paths, the session id and the home label replaced).
#[test]
fn lifecycle_dry_runs_snapshot() {
    let mut k = Kube::new();
    // Which placeholder the pod gets depends on it: pin it.
    k.env
        .extra_env
        .push(("ANTHROPIC_API_KEY".into(), "not-a-real-key".into()));
    k.create("kl", "work", &["--namespace", "team-a"]).ok();
    let record: Value = serde_json::from_slice(
        &std::fs::read(k.env.home().join("sessions/kl/session.json")).unwrap(),
    )
    .unwrap();
    let calls_before = k.calls().len();
    let mut all = String::new();
    for args in [
        &["stop", "--dry-run", "kl"][..],
        &["start", "--dry-run", "kl"],
        &["refresh", "--dry-run", "kl"],
        &["pull", "--dry-run", "kl"],
        &["delete", "--dry-run", "kl"],
        &["delete", "--dry-run", "--discard", "--delete-branch", "kl"],
        &["attach", "--dry-run", "kl"],
        &[
            "kube",
            "setup",
            "--dry-run",
            "--context",
            "kind-test",
            "--namespace",
            "team-a",
        ],
    ] {
        let out = k.env.run(args).ok();
        all.push_str(&format!("$ clauderon {}\n{}\n", args.join(" "), out.stdout));
    }
    assert_eq!(k.calls().len(), calls_before, "a dry run called kubectl");
    snapshot!(redact(all, &k, &record));
}

#[test]
fn start_replaces_the_pod_of_an_agent_that_ended() {
    let k = Kube::new();
    k.create("kz", "work", &[]).ok();
    k.set("pod-state", "terminated");
    let rows: Value = serde_json::from_str(&k.env.run(&["list", "--json"]).ok().stdout).unwrap();
    assert_eq!(rows[0]["state"], "exited");
    // The next pod the stand-in gets runs.
    k.set("pod-state-next", "running");
    let before = k.calls().len();
    k.env.run(&["start", "kz"]).ok();
    let verbs: Vec<String> = k.calls()[before..]
        .iter()
        .filter_map(|(a, _)| a.get(2).cloned())
        .collect();
    // The pod's state, the daemon Service's ClusterIP (the pod's hosts
    // entry), then the ended pod replaced.
    assert_eq!(verbs[..4], ["get", "get", "delete", "apply"], "{verbs:?}");
}

/// `--json` and `--quiet` mean on Kubernetes what they mean on every
/// backend: create prints one JSON document (the same fields as Docker's),
/// and the lifecycle commands' result lines stay out of a quiet run.
#[test]
fn json_and_quiet_mean_the_same_on_kubernetes() {
    let k = Kube::new();
    let out = k.create("kq", "work", &["--json"]).ok().stdout;
    let created: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        (created["name"].as_str(), created["backend"].as_str()),
        (Some("kq"), Some("kubernetes"))
    );
    for args in [
        &["--quiet", "stop", "kq"][..],
        &["--quiet", "start", "kq"],
        &["--quiet", "refresh", "kq"],
        &["--quiet", "delete", "--force", "--discard", "kq"],
    ] {
        let out = k.env.run(args).ok().stdout;
        assert_eq!(out, "", "{args:?}");
    }
}
