//! What `clauderon kube setup` applies once per namespace: the namespace,
//! labelled so the cluster enforces the restricted Pod Security profile on
//! every pod in it (the session pods meet it).

use serde_json::{Value, json};

use super::Kubectl;
use super::manifests::template;
use crate::exec::Cmd;

const NAMESPACE: &str = include_str!("../../../templates/k8s/namespace.json");

pub fn namespace(name: &str) -> Value {
    let mut v = template(NAMESPACE);
    v["metadata"]["name"] = json!(name);
    v
}

/// `kubectl apply` of the namespace (a cluster-scoped object: the
/// `--namespace` flag kubectl is given names the same namespace).
pub fn apply_namespace(kubectl: &Kubectl) -> Cmd {
    kubectl.apply(&[namespace(&kubectl.namespace)])
}
