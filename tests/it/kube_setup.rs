//! `kube setup` and the first create's setup against the recording
//! stand-in kubectl: the daemon's Secret on stdin only, idempotence,
//! another home's daemon or other keys refused, the daemon's pod waited
//! for (failing fast on its image), rollback, a namespace that is not
//! clauderon's left alone, and the agent pod reaching the daemon by its
//! Service's ClusterIP with no DNS.

use crate::common;

use crate::common::kube::{Kube, REAL_GH, REAL_KEY, applies, kube_with_credentials, object};

/// The dry run shows the daemon with its secrets redacted, calling no kubectl.
fn assert_dry_run_redacted(k: &Kube) {
    let dry = k
        .env
        .run(&["kube", "setup", "--dry-run", "--context", "kind-test"])
        .ok();
    assert!(
        dry.stdout.contains("\"kind\": \"Deployment\""),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("\"GH_TOKEN\": \"<redacted:"),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains(REAL_KEY) && !dry.stdout.contains(REAL_GH));
    assert!(k.calls().is_empty(), "the dry run called kubectl");
}

#[test]
fn setup_is_idempotent_and_the_secret_goes_on_stdin_never_argv() {
    let k = kube_with_credentials();
    assert_dry_run_redacted(&k);

    k.env.run(&["kube", "setup"]).ok();
    k.env.run(&["kube", "setup"]).ok();
    let e = k
        .env
        .run(&["daemon", "statuses", "--session", "../x"])
        .fails();
    assert!(e.stderr.contains("invalid session name"), "{}", e.stderr);
    for kind in ["Secret", "NetworkPolicy", "Service", "Deployment"] {
        assert_eq!(k.objects(kind), ["clauderon-daemon"], "{kind}");
    }
    let secret = object(&k, "Secret", "clauderon-daemon");
    assert_eq!(secret["stringData"]["ANTHROPIC_API_KEY"], REAL_KEY);
    assert_eq!(secret["stringData"]["GH_TOKEN"], REAL_GH);
    let session_key = secret["stringData"]["session-key"].as_str().unwrap();
    assert_eq!(session_key.len(), 64);
    // The same objects both times: the session key and the CA are kept.
    let all = applies(&k);
    assert_eq!(all.len(), 4, "namespace + daemon, twice");
    assert_eq!(all[0..2], all[2..4], "a second setup applies the same");
    for (argv, _) in k.calls() {
        let line = argv.join(" ");
        for secret in [REAL_KEY, REAL_GH, session_key] {
            assert!(!line.contains(secret), "a secret in argv: {line}");
        }
    }
    assert!(
        k.calls().iter().any(|(a, _)| a[2..]
            == [
                "rollout",
                "status",
                "deployment/clauderon-daemon",
                "--timeout=300s"
            ]),
        "setup waits for the daemon"
    );

    // Another clauderon home must not take this namespace's daemon over.
    let mut stranger = common::Env::new();
    stranger.extra_env = k.env.extra_env.clone();
    let e = stranger.run(&["kube", "setup"]).fails();
    assert!(e.stderr.contains("another clauderon home"), "{}", e.stderr);
    assert_eq!(applies(&k).len(), 4, "nothing applied");
}

#[test]
fn a_daemon_that_never_gets_ready_names_the_image_fix() {
    let k = kube_with_credentials();
    k.set("daemon-not-ready", "");
    let e = k.create("kr", "work", &[]).fails();
    assert!(e.stderr.contains("kind load docker-image"), "{}", e.stderr);
    // The create rolled back what it applied: the daemon and the namespace too.
    assert!(k.objects("Deployment").is_empty());
    assert!(k.objects("Secret").is_empty());
    assert!(!k.env.home().join("sessions/kr").exists());
}

/// The pod finds the daemon without DNS (its NetworkPolicy allows none):
/// its hosts file maps `clauderon-daemon` to the Service's ClusterIP, read
/// after setup made the Service and again at each start.
#[test]
fn the_pod_reaches_the_daemon_by_its_cluster_ip_and_no_dns() {
    let k = kube_with_credentials();
    k.set("service-ip", "10.96.7.7");
    k.create("ip", "work", &[]).ok();
    let pod = object(&k, "Pod", "clauderon-ip");
    assert_eq!(
        pod["spec"]["hostAliases"],
        serde_json::json!([{ "ip": "10.96.7.7", "hostnames": ["clauderon-daemon"] }])
    );
    let policy = object(&k, "NetworkPolicy", "clauderon-ip");
    let egress = policy["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 1, "only the daemon: {egress:?}");
    assert!(!policy.to_string().contains("kube-dns"), "{policy}");
    // A Service gone since: start says how to bring it back, applies nothing.
    k.env.run(&["stop", "ip"]).ok();
    std::fs::remove_file(
        k.dir
            .path()
            .join("objects/clauderon/Service/clauderon-daemon.json"),
    )
    .unwrap();
    let before = applies(&k).len();
    let e = k.env.run(&["start", "ip"]).fails();
    assert!(
        e.stderr.contains("no clauderon-daemon Service"),
        "{}",
        e.stderr
    );
    assert!(
        e.stderr
            .contains("clauderon kube setup --context=kind-test --namespace=clauderon"),
        "{}",
        e.stderr
    );
    assert_eq!(applies(&k).len(), before);
}

/// The first create runs setup before the session's steps (the pod names
/// the Service's address); when a later step fails, setup is undone too.
#[test]
fn a_first_create_failing_after_setup_removes_the_daemon_and_namespace() {
    let k = kube_with_credentials();
    k.set("pod-state", "ErrImagePull");
    let e = k.create("fa", "work", &[]).fails();
    assert!(e.stderr.contains("ErrImagePull"), "{}", e.stderr);
    assert_eq!(e.stderr.matches("rolled back").count(), 1, "{}", e.stderr);
    for kind in ["Deployment", "Service", "Secret", "NetworkPolicy", "Pod"] {
        assert!(k.objects(kind).is_empty(), "{kind}: {:?}", k.objects(kind));
    }
    assert!(
        !k.dir
            .path()
            .join("objects/_cluster/Namespace/clauderon.json")
            .exists()
    );
    assert!(!k.env.home().join("sessions/fa").exists());
}

/// The home label is a hash of the home's path, which another machine can
/// share; or the host's keys were made again. A daemon with other keys
/// would refuse every token, so create refuses and names setup, which
/// gives the daemon this home's keys (its pod rolls: the fingerprint).
#[test]
fn a_daemon_with_other_keys_is_refused_by_create_until_setup_replaces_them() {
    let k = kube_with_credentials();
    k.create("k1", "work", &[]).ok();
    let fingerprint = |k: &Kube| {
        object(k, "Deployment", "clauderon-daemon")["spec"]["template"]["metadata"]["annotations"]
            ["clauderon.io/keys"]
            .clone()
    };
    let before = fingerprint(&k);
    std::fs::remove_dir_all(k.env.home().join("kube")).unwrap();
    let applied = applies(&k).len();
    let e = k.create("k2", "work", &[]).fails();
    assert!(e.stderr.contains("runs with other keys"), "{}", e.stderr);
    assert!(
        e.stderr
            .contains("clauderon kube setup --context=kind-test --namespace=clauderon"),
        "{}",
        e.stderr
    );
    assert_eq!(applies(&k).len(), applied, "nothing applied");
    assert!(!k.env.home().join("sessions/k2").exists());
    let out = k.env.run(&["kube", "setup"]).ok();
    assert!(
        out.stderr.contains("runs with other keys"),
        "{}",
        out.stderr
    );
    assert_ne!(fingerprint(&k), before);
    k.create("k2", "work", &[]).ok();
    // k1, made with the old keys, gets a token and CA of the new ones
    // from refresh (its Secret and ConfigMap applied with the pod).
    let record = |k: &Kube| -> serde_json::Value {
        let path = k.env.home().join("sessions/k1/session.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let old_token = record(&k)["hook_token"].as_str().unwrap().to_string();
    k.env.run(&["refresh", "k1"]).ok();
    let token = record(&k)["hook_token"].as_str().unwrap().to_string();
    assert_ne!(token, old_token);
    let files = object(&k, "Secret", "clauderon-k1");
    assert!(
        files["stringData"]["proxy-url"]
            .as_str()
            .unwrap()
            .contains(&token)
    );
    assert!(
        files["stringData"]["hook-auth"]
            .as_str()
            .unwrap()
            .contains(&token)
    );
    let ca = object(&k, "Secret", "clauderon-daemon")["stringData"]["proxy-ca.pem"].clone();
    assert_eq!(
        object(&k, "ConfigMap", "clauderon-k1-files")["data"]["proxy-ca.pem"],
        ca
    );
}

/// The daemon's image missing from the cluster (a first-time user's usual
/// slip) fails at once with the fix, not after `rollout status` waited out
/// the whole create_timeout.
#[test]
fn a_daemon_image_the_cluster_cannot_pull_fails_fast_with_the_fix() {
    let k = kube_with_credentials();
    k.set("daemon-pod-state", "ErrImagePull");
    let started = std::time::Instant::now();
    let e = k.env.run(&["kube", "setup"]).fails();
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    assert!(
        e.stderr.contains("daemon's pod is ErrImagePull"),
        "{}",
        e.stderr
    );
    assert!(
        e.stderr
            .contains("kind load docker-image clauderon-daemon:"),
        "{}",
        e.stderr
    );
    let rollouts = k
        .calls()
        .iter()
        .filter(|(a, _)| a.contains(&"rollout".to_string()))
        .count();
    assert_eq!(rollouts, 0, "it did not wait for the rollout");
    // The Deployment setup left does not pass for a daemon: create waits
    // for its pod too, and fails the same way, making nothing.
    let e = k.create("ip", "work", &[]).fails();
    assert!(
        e.stderr.contains("daemon's pod is ErrImagePull"),
        "{}",
        e.stderr
    );
    assert!(k.objects("Pod").is_empty() && k.objects("PersistentVolumeClaim").is_empty());
    assert!(!k.env.home().join("sessions/ip").exists());
    // A first create's own setup fails the same way, and is undone.
    let fresh = kube_with_credentials();
    fresh.set("daemon-pod-state", "ErrImagePull");
    let e = fresh.create("ip", "work", &[]).fails();
    assert!(
        e.stderr.contains("daemon's pod is ErrImagePull"),
        "{}",
        e.stderr
    );
    assert!(fresh.objects("Deployment").is_empty() && fresh.objects("Secret").is_empty());
}

/// A namespace someone else made keeps its labels: relabelling it would
/// enforce the restricted profile on every pod of theirs there.
#[test]
fn setup_leaves_the_labels_of_a_namespace_it_did_not_make() {
    let k = kube_with_credentials();
    let ns = k.dir.path().join("objects/_cluster/Namespace/team.json");
    std::fs::create_dir_all(ns.parent().unwrap()).unwrap();
    let theirs = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team","labels":{"owner":"them"}}}"#;
    std::fs::write(&ns, theirs).unwrap();
    let out = k.env.run(&["kube", "setup", "--namespace", "team"]).ok();
    assert!(
        out.stderr.contains("was not made by clauderon"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("label namespace team pod-security.kubernetes.io/enforce=restricted"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("labels are as they were"),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read_to_string(&ns).unwrap(), theirs);
    assert!(
        applies(&k)
            .iter()
            .all(|stdin| !stdin.contains("\"Namespace\""))
    );
    assert!(
        k.dir
            .path()
            .join("objects/team/Deployment/clauderon-daemon.json")
            .exists()
    );
    // The namespace setup made itself is applied again (idempotent).
    k.env.run(&["kube", "setup"]).ok();
    let before = applies(&k).len();
    k.env.run(&["kube", "setup"]).ok();
    let again = applies(&k)[before..].to_vec();
    assert!(again.iter().any(|stdin| stdin.contains("\"Namespace\"")));
}

/// A user with a Role in the namespace only (no cluster-wide read of
/// namespaces) can still set the daemon up in it.
#[test]
fn setup_works_for_a_user_who_may_not_read_namespaces() {
    let k = kube_with_credentials();
    k.set("forbidden-namespaces", "");
    let out = k.env.run(&["kube", "setup"]).ok();
    assert!(
        out.stderr.contains("you may not read namespace clauderon"),
        "{}",
        out.stderr
    );
    assert!(
        applies(&k)
            .iter()
            .all(|stdin| !stdin.contains("\"Namespace\""))
    );
    assert_eq!(k.objects("Deployment"), ["clauderon-daemon"]);
}
