//! kubectl's failures as errors that name the fix. The markers are the
//! messages kubectl and the API server print (kubectl 1.2x).

use crate::error::Error;
use crate::exec::Failure;

/// Turns a kubectl failure into an error that names the fix.
pub fn classify(f: Failure) -> Error {
    let err = f.stderr.as_str();
    let has = |m: &str| err.contains(m);
    if f.not_found {
        return Error::unavailable("`kubectl` is not installed or not in PATH").with_fix(
            "install kubectl (https://kubernetes.io/docs/tasks/tools/; Debian/Ubuntu: `sudo apt install kubectl` from the Kubernetes apt repository), then check `kubectl version --client`",
        );
    }
    if has("context") && has("does not exist") {
        return Error::input(format!("no such kubectl context: {}", f.stderr_tail())).with_fix(
            "`kubectl config get-contexts` lists the contexts; pass one with --context or set [kubernetes] context in config.toml",
        );
    }
    // Also a "Forbidden", but no Role fixes it: a rolled-back create (or a
    // `kubectl delete namespace`) is still removing the namespace.
    if has("because it is being terminated") {
        return Error::failed(format!(
            "the namespace is still being deleted: {}",
            f.stderr_tail()
        ))
        .with_fix("wait until `kubectl get namespace <namespace>` says NotFound (a rolled-back create removes the namespace it made in the background), then try again");
    }
    if has("(Forbidden)") || has("is forbidden") {
        return Error::refused(format!("the cluster refused: {}", f.stderr_tail())).with_fix(
            "your user needs a Role in the session namespace that may create, get, list, watch, patch, delete pods, pods/exec, pods/attach, pods/log, persistentvolumeclaims, configmaps, secrets, services, networkpolicies and deployments (apps; `kube setup` makes the daemon's), and create namespaces for setup; check with `kubectl auth can-i create pods --namespace <namespace>`",
        );
    }
    if has("(Unauthorized)") || has("You must be logged in") {
        return Error::failed(format!("the cluster does not accept your credentials: {}", f.stderr_tail()))
            .with_fix("log in again (refresh your kubeconfig's credentials), then check `kubectl auth whoami`");
    }
    if has("namespaces \"") && has("not found") {
        return Error::failed(format!("the namespace does not exist: {}", f.stderr_tail()))
            .with_fix("`clauderon kube setup --namespace <namespace>` creates it (with the in-cluster daemon)");
    }
    if has("Unable to connect to the server")
        || has("connection refused")
        || has("was refused")
        || has("i/o timeout")
        || has("no such host")
        || has("context deadline exceeded")
        || has("Client.Timeout")
    {
        return Error::unavailable(format!("the cluster is not reachable: {}", f.stderr_tail()))
            .with_fix(
                "check the cluster and your kubeconfig: `kubectl cluster-info --context <context>`",
            );
    }
    f.into_error()
}

/// kubectl says the object is not there.
pub fn is_not_found(f: &Failure) -> bool {
    f.stderr.contains("(NotFound)") && !f.stderr.contains("namespaces \"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(stderr: &str) -> Failure {
        Failure {
            shown: "kubectl get".into(),
            short: "kubectl get".into(),
            code: Some(1),
            stderr: stderr.into(),
            not_found: false,
            live: false,
        }
    }

    #[test]
    fn kubectl_errors_name_the_fix() {
        let e = classify(f("error: context \"nope\" does not exist"));
        assert!(e.fix.unwrap().contains("get-contexts"));
        let e = classify(f(
            "Error from server (Forbidden): pods is forbidden: User \"dev\" cannot create resource \"pods\" in API group \"\" in the namespace \"clauderon\"",
        ));
        assert!(e.fix.unwrap().contains("auth can-i"));
        let e = classify(f(
            "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
        ));
        assert!(e.fix.unwrap().contains("cluster-info"));
        let e = classify(f(
            "Error from server (NotFound): namespaces \"x\" not found",
        ));
        assert!(e.fix.unwrap().contains("kube setup"));
        let e = classify(f(
            "Error from server (Forbidden): error when creating \"STDIN\": pods \"clauderon-a\" is forbidden: unable to create new content in namespace clauderon because it is being terminated",
        ));
        assert!(e.message.contains("still being deleted"), "{}", e.message);
        assert!(e.fix.unwrap().contains("says NotFound"));
        let mut missing = f("");
        missing.not_found = true;
        assert!(classify(missing).fix.unwrap().contains("install kubectl"));
    }
}
