//! What `kubectl get pod -o json` says: whether the agent container runs,
//! is still coming up, or failed in a way waiting will not fix (with the
//! pod's reason and the fix); and the session pods for `list`.

use serde_json::Value;

use super::{CONTAINER, classify, label};
use crate::error::Error;
use crate::exec::Failure;
use crate::plan::Poll;

/// One look at the pod during create/start/refresh.
pub fn check_pod(answer: Result<&str, Failure>) -> Poll {
    let text = match answer {
        Ok(text) => text,
        // Just applied: the API may not list it for a moment.
        Err(f) if classify::is_not_found(&f) => return Poll::Waiting("not created yet".into()),
        Err(f) => return Poll::Failed(classify(f)),
    };
    let Ok(pod) = serde_json::from_str::<Value>(text) else {
        return Poll::Failed(Error::failed(format!(
            "kubectl printed something that is not a pod's JSON: {}",
            text.chars().take(200).collect::<String>()
        )));
    };
    pod_state(&pod)
}

fn container_status(pod: &Value) -> Option<&Value> {
    pod["status"]["containerStatuses"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == CONTAINER)
}

fn pod_state(pod: &Value) -> Poll {
    let image = pod["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("?");
    if let Some(c) = container_status(pod) {
        let state = &c["state"];
        if state["running"].is_object() {
            return Poll::Ready;
        }
        if let Some(reason) = state["waiting"]["reason"].as_str() {
            let message = state["waiting"]["message"].as_str().unwrap_or("");
            if let Some(fix) = waiting_fix(reason, image) {
                return Poll::Failed(
                    Error::failed(format!("the agent pod is {reason}: {message}")).with_fix(fix),
                );
            }
            return Poll::Waiting(reason.to_string());
        }
        if state["terminated"].is_object() {
            let code = &state["terminated"]["exitCode"];
            return Poll::Failed(Error::failed(format!(
                "the agent container exited right after starting (exit code {code}, {})",
                state["terminated"]["reason"].as_str().unwrap_or("no reason given")
            )).with_fix("`clauderon logs <name>` shows its output: an image without bash, git or the agent CLI, or a failing --post-start/--on-create command"));
        }
    }
    if let Some(cond) = pod["status"]["conditions"].as_array().and_then(|cs| {
        cs.iter()
            .find(|c| c["type"] == "PodScheduled" && c["reason"] == "Unschedulable")
    }) {
        let message = cond["message"].as_str().unwrap_or("");
        return Poll::Failed(Error::failed(format!("the agent pod is Unschedulable: {message}")).with_fix(
            "lower --cpu-limit/--memory-limit, add capacity to the cluster, or (for an unbound PersistentVolumeClaim) set [kubernetes] storage_class to a class the cluster has (`kubectl get storageclass`)",
        ));
    }
    match pod["status"]["phase"].as_str() {
        Some("Failed") | Some("Succeeded") => Poll::Failed(Error::failed(format!(
            "the agent pod ended before it ran: {}",
            pod["status"]["message"].as_str().unwrap_or("no message")
        ))),
        Some(phase) => Poll::Waiting(phase.to_string()),
        None => Poll::Waiting("no status yet".into()),
    }
}

/// The fix for a waiting reason that waiting will not cure.
fn waiting_fix(reason: &str, image: &str) -> Option<String> {
    Some(match reason {
        "ImagePullBackOff" | "ErrImagePull" => format!(
            "the cluster cannot pull {image}: check the name, that the nodes can reach its registry, and [kubernetes] image_pull_secrets for a private one; on kind load a local image with `kind load docker-image {image}`, on k3d `k3d image import {image}`, and use --pull-policy never or if-not-present"
        ),
        "InvalidImageName" => format!("{image} is not an image name the cluster accepts: pass another --image"),
        "CrashLoopBackOff" => "`clauderon logs <name>` shows why the agent container keeps exiting".to_string(),
        "CreateContainerConfigError" | "CreateContainerError" => {
            "the message above names the missing or invalid setting; `kubectl describe pod` shows the pod's events".to_string()
        }
        _ => return None,
    })
}

/// A session pod as `list` shows it: (session, state, status text).
pub fn parse_pods(stdout: &str) -> Vec<(String, String, String)> {
    let all: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    let Some(items) = all["items"].as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|pod| {
            let session = pod["metadata"]["labels"][label::SESSION]
                .as_str()?
                .to_string();
            let (state, status) = summary(pod);
            Some((session, state, status))
        })
        .collect()
}

/// ("running", "Running since ..."), ("exited", "Completed (exit 0)"), ...
/// in the words `list` uses for containers.
pub fn summary(pod: &Value) -> (String, String) {
    let phase = pod["status"]["phase"].as_str().unwrap_or("Unknown");
    let Some(c) = container_status(pod) else {
        return ("created".into(), phase.to_string());
    };
    let state = &c["state"];
    if state["running"].is_object() {
        let since = state["running"]["startedAt"].as_str().unwrap_or("");
        return ("running".into(), format!("Running since {since}"));
    }
    if let Some(reason) = state["waiting"]["reason"].as_str() {
        return ("created".into(), reason.to_string());
    }
    if state["terminated"].is_object() {
        let t = &state["terminated"];
        return (
            "exited".into(),
            format!(
                "{} (exit {})",
                t["reason"].as_str().unwrap_or("Terminated"),
                t["exitCode"]
            ),
        );
    }
    ("created".into(), phase.to_string())
}
