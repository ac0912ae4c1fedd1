//! A session's manifests, from the JSON templates in `templates/k8s/`:
//! each template is parsed, then its fields are set as JSON values, so no
//! user text is ever spliced into YAML, JSON or shell.

use serde_json::{Map, Value, json};

use super::{KubeSpec, files_name, label, object_name};
use crate::agent;
use crate::isolation::NetworkMode;
use crate::session::SessionSpec;

const PVC: &str = include_str!("../../../templates/k8s/pvc.json");
const CONFIG_MAP: &str = include_str!("../../../templates/k8s/configmap.json");
const SECRET: &str = include_str!("../../../templates/k8s/secret.json");
const NETWORK_POLICY: &str = include_str!("../../../templates/k8s/networkpolicy.json");
/// The pod's first program: waits for the pushed branch, then the entrypoint.
pub const START_SCRIPT: &str = include_str!("../../../templates/k8s/start.sh");

/// The in-cluster daemon's ports (its Service and the NetworkPolicy).
pub const DAEMON_HOOK_PORT: u16 = 3030;
pub const DAEMON_PROXY_PORT: u16 = 3031;

/// What a session's pod is wired to: the in-cluster daemon's proxy (when
/// enabled) and the CA that the proxy's certificates chain to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeWiring {
    pub proxy: Option<ProxyCa>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyCa {
    /// The Anthropic credential is an API key (placeholder `ANTHROPIC_API_KEY`).
    pub anthropic_api_key: bool,
    pub ca_pem: String,
    /// System roots + upstream CA + the proxy CA.
    pub ca_bundle: String,
    /// The `clauderon-daemon` Service's ClusterIP: the pod's `hostAliases`
    /// map the daemon's name to it, so the pod needs no DNS (its
    /// NetworkPolicy allows none: DNS queries would be a way out).
    pub daemon_ip: String,
}

/// A template as a JSON value (the templates are part of the binary, so a
/// broken one is a bug caught by the tests).
pub(super) fn template(text: &str) -> Value {
    serde_json::from_str(text).expect("templates/k8s holds valid JSON")
}

/// The labels every object of the session carries.
pub fn labels(spec: &SessionSpec, kube: &KubeSpec) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(label::MANAGED_BY.into(), json!("clauderon"));
    m.insert(label::SESSION.into(), json!(spec.name));
    m.insert(label::ID.into(), json!(spec.id));
    m.insert(label::HOME.into(), json!(kube.home_label));
    m.insert(label::AGENT.into(), json!(spec.agent.as_str()));
    m
}

fn named(text: &str, name: &str, spec: &SessionSpec, kube: &KubeSpec) -> Value {
    let mut v = template(text);
    v["metadata"]["name"] = json!(name);
    v["metadata"]["labels"] = Value::Object(labels(spec, kube));
    v
}

/// Every manifest of a session, in the order they are applied: the network
/// policy first, so the pod is never up without it.
pub fn session_manifests(spec: &SessionSpec, kube: &KubeSpec, wiring: &KubeWiring) -> Vec<Value> {
    let mut all = Vec::new();
    if spec.network == NetworkMode::Proxy {
        all.push(network_policy(spec, kube));
    }
    all.push(volume_claim(spec, kube));
    let (config_map, secret) = files(spec, kube, wiring);
    all.push(config_map);
    all.push(secret);
    all.push(super::pod::pod(spec, kube, wiring));
    all
}

/// The volume holding the repository and the agent's home.
pub fn volume_claim(spec: &SessionSpec, kube: &KubeSpec) -> Value {
    let mut v = named(PVC, &object_name(&spec.name), spec, kube);
    v["spec"]["resources"]["requests"]["storage"] = json!(kube.storage_size);
    if let Some(class) = &kube.storage_class {
        v["spec"]["storageClassName"] = json!(class);
    }
    v
}

/// Egress only to the in-cluster daemon (proxy and hooks), not even DNS
/// (the pod has the daemon's address in its hosts file); no ingress.
pub fn network_policy(spec: &SessionSpec, kube: &KubeSpec) -> Value {
    let mut v = named(NETWORK_POLICY, &object_name(&spec.name), spec, kube);
    v["spec"]["podSelector"]["matchLabels"] =
        json!({ label::SESSION: spec.name, label::HOME: kube.home_label });
    v
}

/// The session's files: the ConfigMap holds what may be read, the Secret
/// what holds a credential (the hook token, the proxy URL, `--env` secrets).
pub fn files(spec: &SessionSpec, kube: &KubeSpec, wiring: &KubeWiring) -> (Value, Value) {
    let mut config_map = named(CONFIG_MAP, &files_name(&spec.name), spec, kube);
    let mut secret = named(SECRET, &object_name(&spec.name), spec, kube);
    for file in agent::session_files(spec) {
        let text = json!(String::from_utf8_lossy(&file.contents));
        let target = if file.secret {
            &mut secret["stringData"]
        } else {
            &mut config_map["data"]
        };
        target[file.name.as_str()] = text;
    }
    config_map["data"]["start.sh"] = json!(START_SCRIPT);
    config_map["data"]["exclude"] = json!(crate::git::EXCLUDE_BLOCK);
    if let Some(ca) = &wiring.proxy {
        config_map["data"]["proxy-ca.pem"] = json!(ca.ca_pem);
        config_map["data"]["proxy-ca-bundle.pem"] = json!(ca.ca_bundle);
        secret["stringData"]["proxy-url"] = json!(super::pod::proxy_url(spec));
    }
    for (k, v) in super::pod::secret_env(spec) {
        secret["stringData"][format!("env.{k}")] = json!(v);
    }
    (config_map, secret)
}

/// The manifests as one `List` for `kubectl apply -f -`: the bytes fed to
/// kubectl, and what a dry run shows (every Secret value redacted).
pub fn stdin_list(manifests: &[Value]) -> (Vec<u8>, String) {
    let list = |items: Vec<Value>| {
        let mut text = serde_json::to_string_pretty(&json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": items,
        }))
        .expect("json serializes");
        text.push('\n');
        text
    };
    let shown = manifests.iter().cloned().map(redacted).collect();
    (list(manifests.to_vec()).into_bytes(), list(shown))
}

/// A Secret with each value replaced by a note of its size.
pub fn redacted(mut v: Value) -> Value {
    if v["kind"] != "Secret" {
        return v;
    }
    for key in ["stringData", "data"] {
        if let Some(map) = v.get_mut(key).and_then(Value::as_object_mut) {
            for value in map.values_mut() {
                let len = value.as_str().map_or(0, str::len);
                *value = json!(format!("<redacted: {len} bytes>"));
            }
        }
    }
    v
}
