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

/// The namespace as JSON: does it exist, and did clauderon make it?
/// (NotFound says no; any other answer is left to the apply that follows.)
pub fn get_namespace(kubectl: &Kubectl) -> Cmd {
    kubectl.cmd_for_setup().args([
        "get",
        "namespace",
        &kubectl.namespace,
        "--output=json",
        super::REQUEST_TIMEOUT,
    ])
}

/// Removes a namespace this create made (its rollback).
pub fn delete_namespace(kubectl: &Kubectl) -> Cmd {
    kubectl.cmd_for_setup().args([
        "delete",
        "namespace",
        &kubectl.namespace,
        "--ignore-not-found=true",
        "--wait=false",
    ])
}

/// `kubectl apply` of the namespace (a cluster-scoped object: the
/// `--namespace` flag kubectl is given names the same namespace).
pub fn apply_namespace(kubectl: &Kubectl) -> Cmd {
    kubectl.apply(&[namespace(&kubectl.namespace)])
}
