//! The in-cluster daemon `kube setup` applies once per namespace: its
//! credentials Secret (the host's credential variables, the session key
//! and the namespace's proxy CA), an ingress NetworkPolicy that lets only
//! session pods reach it, its Service and its Deployment, which runs the
//! same clauderon binary as `clauderon daemon --cluster-dir`.

use serde_json::{Map, Value, json};

use super::manifests::template;
use super::{DAEMON, Kubectl, REQUEST_TIMEOUT, label};
use crate::cluster::keys::ClusterKeys;
use crate::error::Error;
use crate::exec::Cmd;

/// Where the clauderon binary is in the daemon's image, and what its
/// Deployment runs (`commands::daemon_image` puts it there).
pub const BINARY: &str = "/usr/local/bin/clauderon";

const SECRET: &str = include_str!("../../../templates/k8s/daemon-secret.json");
const NETWORK_POLICY: &str = include_str!("../../../templates/k8s/daemon-networkpolicy.json");
const SERVICE: &str = include_str!("../../../templates/k8s/daemon-service.json");
const DEPLOYMENT: &str = include_str!("../../../templates/k8s/daemon-deployment.json");

/// Where the Deployment mounts the Secret (`--cluster-dir`).
pub const SECRET_DIR: &str = "/etc/clauderon/daemon";
/// The daemon's container in its pod.
pub const CONTAINER: &str = "daemon";

/// What the daemon's manifests are made of.
pub struct DaemonParts<'a> {
    pub image: &'a str,
    pub home_label: &'a str,
    pub keys: &'a ClusterKeys,
    /// (variable, value) of the credentials the proxy injects.
    pub credentials: &'a [(String, String)],
}

fn labels(home_label: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(label::MANAGED_BY.into(), json!("clauderon"));
    m.insert(label::NAME.into(), json!(DAEMON));
    m.insert(label::HOME.into(), json!(home_label));
    m
}

fn labelled(text: &str, home_label: &str) -> Value {
    let mut v = template(text);
    v["metadata"]["labels"] = Value::Object(labels(home_label));
    v
}

/// The Secret: one key per credential variable, the session key, the CA.
pub fn secret(parts: &DaemonParts) -> Value {
    let mut v = labelled(SECRET, parts.home_label);
    let data = &mut v["stringData"];
    for (name, value) in parts.credentials {
        data[name.as_str()] = json!(value);
    }
    data["session-key"] = json!(parts.keys.session_key);
    data["proxy-ca.pem"] = json!(parts.keys.ca_pem);
    data["proxy-ca-key.pem"] = json!(parts.keys.ca_key_pem);
    v
}

/// The pod template's annotation naming which keys the daemon runs with.
pub const KEYS_ANNOTATION: &str = "clauderon.io/keys";

/// A fingerprint of the session key and the CA (a hash: never the key).
/// The daemon reads both once, at start, so when they change (the host's
/// copy was made again) the changed annotation makes the Deployment roll
/// its pod; unchanged keys leave the pod alone. Credentials are not in
/// it: the daemon reads those from the Secret's files on every request.
pub fn keys_fingerprint(keys: &ClusterKeys) -> String {
    let text = format!(
        "clauderon daemon keys\0{}\0{}",
        keys.session_key, keys.ca_pem
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn deployment(parts: &DaemonParts) -> Value {
    let mut v = labelled(DEPLOYMENT, parts.home_label);
    let pod = &mut v["spec"]["template"]["metadata"];
    pod["labels"] = Value::Object(labels(parts.home_label));
    pod["annotations"] = json!({ KEYS_ANNOTATION: keys_fingerprint(parts.keys) });
    v["spec"]["template"]["spec"]["containers"][0]["image"] = json!(parts.image);
    v
}

/// Every manifest of the daemon, in the order they are applied (the
/// Secret before the pod that mounts it).
pub fn daemon_manifests(parts: &DaemonParts) -> Vec<Value> {
    vec![
        secret(parts),
        labelled(NETWORK_POLICY, parts.home_label),
        labelled(SERVICE, parts.home_label),
        deployment(parts),
    ]
}

impl Kubectl {
    /// The daemon's Deployment as JSON: is it there, and whose is it?
    pub fn get_daemon(&self) -> Cmd {
        self.cmd_for_setup().args([
            "get",
            "deployment",
            DAEMON,
            "--output=json",
            REQUEST_TIMEOUT,
        ])
    }

    /// The daemon Service's ClusterIP (what agent pods' `hostAliases` name).
    pub fn daemon_service_ip(&self) -> Cmd {
        self.cmd_for_setup().args([
            "get",
            "service",
            DAEMON,
            "--output=jsonpath={.spec.clusterIP}",
            REQUEST_TIMEOUT,
        ])
    }

    /// The daemon's pods as JSON, for the wait after setup's apply.
    pub fn get_daemon_pods(&self) -> Cmd {
        self.cmd_for_setup().args([
            "get".to_string(),
            "pods".to_string(),
            format!("--selector={}={DAEMON}", label::NAME),
            "--output=json".to_string(),
            REQUEST_TIMEOUT.to_string(),
        ])
    }

    /// Waits until the daemon's pod is ready (its readiness probe).
    pub fn daemon_rollout(&self, seconds: u64) -> Cmd {
        self.cmd_for_setup().args([
            "rollout".to_string(),
            "status".to_string(),
            format!("deployment/{DAEMON}"),
            format!("--timeout={seconds}s"),
        ])
    }

    /// Removes what setup applied for the daemon (a rolled-back create).
    pub fn delete_daemon(&self) -> Cmd {
        self.cmd_for_setup().args([
            "delete".to_string(),
            "deployment,service,networkpolicy,secret".to_string(),
            format!(
                "--selector={}=clauderon,{}={DAEMON}",
                label::MANAGED_BY,
                label::NAME
            ),
            "--ignore-not-found=true".to_string(),
            "--wait=false".to_string(),
        ])
    }

    /// One call for every session's hook statuses: `clauderon daemon
    /// statuses` run in the daemon's pod (`session`: one session's events).
    pub fn daemon_statuses(&self, session: Option<&str>) -> Cmd {
        let mut cmd = self.cmd_for_setup().args([
            "exec".to_string(),
            format!("deployment/{DAEMON}"),
            "--container".to_string(),
            CONTAINER.to_string(),
            REQUEST_TIMEOUT.to_string(),
            "--".to_string(),
            BINARY.to_string(),
            "daemon".to_string(),
            "statuses".to_string(),
        ]);
        if let Some(name) = session {
            cmd = cmd.arg(format!("--session={name}"));
        }
        // --request-timeout may not bound an exec whose stream is open
        // (kubernetes#56620): `list` must not stall on a half-answering node.
        cmd.time_limit(std::time::Duration::from_secs(10))
    }
}

/// One look at the daemon's pods while setup waits: failed at once on a
/// reason waiting does not cure (the image not in the cluster, above
/// all: `rollout status` would wait out its whole timeout); ready when a
/// pod that is not being removed is ready (`rollout status` follows, for
/// the exact answer).
pub fn check_daemon_pods(answer: Result<&str, crate::exec::Failure>) -> crate::plan::Poll {
    use crate::plan::Poll;
    let text = match answer {
        Ok(text) => text,
        Err(f) => return Poll::Failed(super::classify(f)),
    };
    let list: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let pods = list["items"].as_array().cloned().unwrap_or_default();
    let live = pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null());
    for pod in live {
        let image = pod["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("?");
        let statuses = pod["status"]["containerStatuses"].as_array();
        let Some(c) = statuses.and_then(|cs| cs.iter().find(|c| c["name"] == CONTAINER)) else {
            continue;
        };
        if c["ready"] == true {
            return Poll::Ready;
        }
        let waiting = &c["state"]["waiting"];
        let reason = waiting["reason"].as_str().unwrap_or("");
        let message = waiting["message"].as_str().unwrap_or("");
        let fix = match reason {
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" => format!(
                "the cluster does not have {image}: `clauderon daemon-image build`, then `kind load docker-image {image}` or `k3d image import {image}` (or set [kubernetes] daemon_image to an image the nodes can pull), and run `clauderon kube setup` again"
            ),
            "CrashLoopBackOff" | "CreateContainerConfigError" | "CreateContainerError" => format!(
                "`kubectl logs deployment/{DAEMON} --container {CONTAINER}` and `kubectl describe pod --selector={}={DAEMON}` say why",
                label::NAME
            ),
            _ => continue,
        };
        return Poll::Failed(
            Error::failed(format!(
                "the in-cluster daemon's pod is {reason}: {message}"
            ))
            .with_fix(fix),
        );
    }
    Poll::Waiting("the daemon's pod is not ready yet".into())
}

/// The home label of an existing daemon Deployment (from `get_daemon`).
pub fn daemon_home(deployment: &Value) -> Option<String> {
    deployment["metadata"]["labels"][label::HOME]
        .as_str()
        .map(String::from)
}

/// The keys fingerprint an existing daemon runs with (none before it had one).
pub fn daemon_keys(deployment: &Value) -> Option<String> {
    deployment["spec"]["template"]["metadata"]["annotations"][KEYS_ANNOTATION]
        .as_str()
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::kubernetes::manifests::{DAEMON_HOOK_PORT, DAEMON_PROXY_PORT};

    #[test]
    fn the_deployment_runs_the_daemon_on_the_service_ports() {
        let keys = ClusterKeys {
            session_key: "k".into(),
            ca_pem: "c".into(),
            ca_key_pem: "p".into(),
            ca_bundle: "b".into(),
        };
        let parts = DaemonParts {
            image: "clauderon-daemon:1",
            home_label: "h",
            keys: &keys,
            credentials: &[],
        };
        let d = deployment(&parts);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        let argv: Vec<&str> = c["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(argv[0], super::BINARY);
        let port = |flag: &str| argv[argv.iter().position(|a| *a == flag).unwrap() + 1];
        assert_eq!(port("--http-port"), DAEMON_HOOK_PORT.to_string());
        assert_eq!(port("--proxy-port"), DAEMON_PROXY_PORT.to_string());
        assert_eq!(port("--cluster-dir"), SECRET_DIR);
        assert_eq!(c["volumeMounts"][0]["mountPath"], SECRET_DIR);
    }

    #[test]
    fn new_keys_roll_the_daemon_and_the_annotation_holds_no_key() {
        let keys = |session_key: &str, ca: &str| ClusterKeys {
            session_key: session_key.into(),
            ca_pem: ca.into(),
            ca_key_pem: "ca key".into(),
            ca_bundle: "bundle".into(),
        };
        let annotation = |k: &ClusterKeys, credentials: &[(String, String)]| {
            let parts = DaemonParts {
                image: "i",
                home_label: "h",
                keys: k,
                credentials,
            };
            deployment(&parts)["spec"]["template"]["metadata"]["annotations"][KEYS_ANNOTATION]
                .as_str()
                .unwrap()
                .to_string()
        };
        let key = "ab".repeat(32);
        let first = annotation(&keys(&key, "ca1"), &[]);
        assert_eq!(first, annotation(&keys(&key, "ca1"), &[]), "stable");
        let creds = [("GH_TOKEN".to_string(), "ghp_x".to_string())];
        assert_eq!(
            first,
            annotation(&keys(&key, "ca1"), &creds),
            "credentials are read per request"
        );
        assert_ne!(
            first,
            annotation(&keys(&"cd".repeat(32), "ca1"), &[]),
            "a new session key"
        );
        assert_ne!(first, annotation(&keys(&key, "ca2"), &[]), "a new CA");
        assert!(!first.contains(&key[..8]));
    }
}
