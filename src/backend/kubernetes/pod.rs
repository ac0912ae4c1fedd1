//! The agent Pod: the restricted Pod Security profile, the seeds'
//! environment (as on Docker, pointed at the in-cluster daemon), limits,
//! pull policy, and the session's files mounted read-only.

use serde_json::{Value, json};

use super::manifests::{DAEMON_HOOK_PORT, DAEMON_PROXY_PORT, KubeWiring, labels, template};
use super::{DAEMON, KubeSpec, files_name, object_name};
use crate::agent;
use crate::backend::env::{git_env, placeholders, session_vars};
use crate::backend::oci::{CONTAINER_CA, CONTAINER_CA_BUNDLE};
use crate::hooks;
use crate::session::{Agent, PullPolicy, SessionSpec, looks_secret};

const POD: &str = include_str!("../../../templates/k8s/pod.json");

/// The pod runs as this uid/gid when the session's is root (the
/// restricted profile requires a non-root user).
pub const FALLBACK_UID: u32 = 1000;

/// The session's proxy URL: it holds the session's token, so it lives in
/// the Secret and reaches the pod by `secretKeyRef`.
pub fn proxy_url(spec: &SessionSpec) -> String {
    format!(
        "http://{}:{}@{DAEMON}:{DAEMON_PROXY_PORT}",
        spec.name, spec.hook_token
    )
}

/// `--env` values that never go into a manifest in the clear: credential-
/// like names and values taken from the user's environment.
pub fn secret_env(spec: &SessionSpec) -> Vec<(String, String)> {
    spec.env
        .iter()
        .filter(|(k, _)| looks_secret(k) || spec.env_from_host.contains(k))
        .cloned()
        .collect()
}

pub fn pod(spec: &SessionSpec, kube: &KubeSpec, wiring: &KubeWiring) -> Value {
    let mut v = template(POD);
    v["metadata"]["name"] = json!(object_name(&spec.name));
    v["metadata"]["labels"] = Value::Object(labels(spec, kube));
    let uid = non_root(spec.uid);
    let gid = non_root(spec.gid);
    let psc = &mut v["spec"]["securityContext"];
    psc["runAsUser"] = json!(uid);
    psc["runAsGroup"] = json!(gid);
    psc["fsGroup"] = json!(gid);
    if let Some(class) = &kube.runtime_class {
        v["spec"]["runtimeClassName"] = json!(class);
    }
    if !kube.image_pull_secrets.is_empty() {
        v["spec"]["imagePullSecrets"] = json!(
            kube.image_pull_secrets
                .iter()
                .map(|s| json!({ "name": s }))
                .collect::<Vec<_>>()
        );
    }
    let c = &mut v["spec"]["containers"][0];
    c["image"] = json!(spec.image);
    c["imagePullPolicy"] = json!(pull_policy(spec.pull_policy));
    c["env"] = Value::Array(env(spec, wiring));
    if let Some(resources) = resources(spec) {
        c["resources"] = resources;
    }
    if spec
        .security
        .cap_add
        .iter()
        .any(|cap| cap == "NET_BIND_SERVICE")
    {
        c["securityContext"]["capabilities"]["add"] = json!(["NET_BIND_SERVICE"]);
    }
    add_mounts(c, spec, wiring);
    if let Some(proxy) = &wiring.proxy {
        v["spec"]["hostAliases"] = json!([{ "ip": proxy.daemon_ip, "hostnames": [DAEMON] }]);
    }
    v["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = json!(object_name(&spec.name));
    v["spec"]["volumes"][1]["projected"]["sources"] = session_sources(spec, wiring);
    v
}

fn non_root(id: u32) -> u32 {
    if id == 0 { FALLBACK_UID } else { id }
}

pub fn pull_policy(policy: PullPolicy) -> &'static str {
    match policy {
        PullPolicy::Always => "Always",
        PullPolicy::IfNotPresent => "IfNotPresent",
        PullPolicy::Never => "Never",
    }
}

/// `--cpu-limit`/`--memory-limit` as both requests and limits.
fn resources(spec: &SessionSpec) -> Option<Value> {
    let mut amounts = serde_json::Map::new();
    if let Some(cpu) = spec.limits.cpu {
        amounts.insert("cpu".into(), json!(cpu.kube()));
    }
    if let Some(mem) = spec.limits.memory {
        amounts.insert("memory".into(), json!(mem.kube()));
    }
    (!amounts.is_empty()).then(|| json!({ "requests": amounts, "limits": amounts }))
}

/// The managed settings (Claude) and the CA files, each one file of the
/// projected session volume.
fn add_mounts(c: &mut Value, spec: &SessionSpec, wiring: &KubeWiring) {
    let mounts = c["volumeMounts"]
        .as_array_mut()
        .expect("template has mounts");
    let mut file = |key: &str, path: &str| {
        mounts.push(
            json!({ "name": "session", "mountPath": path, "subPath": key, "readOnly": true }),
        );
    };
    if spec.agent == Agent::Claude {
        file("managed-settings.json", hooks::MANAGED_SETTINGS_PATH);
    }
    if wiring.proxy.is_some() {
        file("proxy-ca.pem", CONTAINER_CA);
        file("proxy-ca-bundle.pem", CONTAINER_CA_BUNDLE);
    }
}

/// `/etc/clauderon/session`: the ConfigMap's files and the Secret's
/// session files (the hook token, a `.claude.json` with a key), each with
/// its mode (`send_status.sh` is run by Claude Code, so it is executable).
fn session_sources(spec: &SessionSpec, wiring: &KubeWiring) -> Value {
    let item = |key: &str, mode: u32| json!({ "key": key, "path": key, "mode": mode });
    let mut from_map = vec![item("start.sh", 0o444), item("exclude", 0o444)];
    if wiring.proxy.is_some() {
        from_map.push(item("proxy-ca.pem", 0o444));
        from_map.push(item("proxy-ca-bundle.pem", 0o444));
    }
    let mut from_secret = Vec::new();
    for f in agent::session_files(spec) {
        if f.secret {
            // Readable by the pod's group (fsGroup), not by others.
            from_secret.push(item(&f.name, 0o440));
        } else {
            from_map.push(item(&f.name, f.mode & 0o555));
        }
    }
    let mut sources =
        vec![json!({ "configMap": { "name": files_name(&spec.name), "items": from_map } })];
    if !from_secret.is_empty() {
        sources
            .push(json!({ "secret": { "name": object_name(&spec.name), "items": from_secret } }));
    }
    Value::Array(sources)
}

fn plain(k: &str, v: &str) -> Value {
    json!({ "name": k, "value": v })
}

fn from_secret(k: &str, secret: &str, key: &str) -> Value {
    json!({ "name": k, "valueFrom": { "secretKeyRef": { "name": secret, "key": key } } })
}

/// The container's environment, as on Docker: plain values in the
/// manifest; the proxy URL and secret `--env` values by `secretKeyRef`.
fn env(spec: &SessionSpec, wiring: &KubeWiring) -> Vec<Value> {
    let mut env = session_vars(spec, DAEMON, DAEMON_HOOK_PORT);
    env.push(("CLAUDERON_BRANCH".into(), spec.branch.clone()));
    env.push(("CLAUDERON_WORKDIR".into(), spec.workdir()));
    env.extend(git_env(spec, wiring.proxy.is_some()));
    env.extend(agent::agent_env(spec));
    let secret = object_name(&spec.name);
    let mut out: Vec<Value> = env.iter().map(|(k, v)| plain(k, v)).collect();
    // Tells this pod's readiness marker from one a previous pod left.
    out.push(json!({ "name": "CLAUDERON_POD_UID", "valueFrom": { "fieldRef": { "fieldPath": "metadata.uid" } } }));
    if let Some(ca) = &wiring.proxy {
        for k in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
            out.push(from_secret(k, &secret, "proxy-url"));
        }
        let no_proxy = format!("localhost,127.0.0.1,{DAEMON}");
        out.push(plain("NO_PROXY", &no_proxy));
        out.push(plain("no_proxy", &no_proxy));
        for (k, v) in placeholders(spec, ca.anthropic_api_key) {
            if !spec.env.iter().any(|(u, _)| u == k) {
                out.push(plain(k, v));
            }
        }
        for k in [
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
            "GIT_SSL_CAINFO",
        ] {
            out.push(plain(k, CONTAINER_CA_BUNDLE));
        }
        out.push(plain("NODE_EXTRA_CA_CERTS", CONTAINER_CA));
    }
    let secrets = secret_env(spec);
    for (k, v) in &spec.env {
        if secrets.iter().any(|(s, _)| s == k) {
            out.push(from_secret(k, &secret, &format!("env.{k}")));
        } else {
            out.push(plain(k, v));
        }
    }
    out
}
