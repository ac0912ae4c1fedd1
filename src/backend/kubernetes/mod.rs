//! The Kubernetes backend: manifests rendered from `templates/k8s/` and the
//! `kubectl` argv that applies, watches and removes them. Like the OCI
//! recipe, nothing here runs a command; every call names `--context` and
//! `--namespace`, and manifests reach kubectl on stdin, never in argv.

use crate::exec::Cmd;

pub mod classify;
pub mod create;
pub mod daemon;
pub mod delete;
pub mod manifests;
pub mod observe;
pub mod setup;
pub mod start;

mod pod;

pub mod status;
pub mod transport;

pub use classify::classify;
// The spec's part: where a kubernetes session runs.
pub use crate::spec::kubernetes::KubeSpec;

pub const PROGRAM: &str = "kubectl";
/// The agent's container in the session pod.
pub const CONTAINER: &str = "agent";
/// The in-cluster daemon's Deployment, Service and pod label.
pub const DAEMON: &str = "clauderon-daemon";
/// Where the session's repository lives in the pod (on its volume).
pub const WORKSPACE: &str = "/workspace";
/// How long `list` and other read-only calls wait for an unreachable cluster.
pub const REQUEST_TIMEOUT: &str = "--request-timeout=5s";

pub mod label {
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub const NAME: &str = "app.kubernetes.io/name";
    pub const SESSION: &str = "clauderon.io/session";
    pub const ID: &str = "clauderon.io/id";
    pub const HOME: &str = "clauderon.io/home";
    pub const AGENT: &str = "clauderon.io/agent";
}

/// The uid and gid a session pod runs as when the host user is root (the
/// restricted profile requires a non-root user).
pub fn pod_uid() -> u32 {
    pod::FALLBACK_UID
}

/// Object names of a session: the pod, its volume claim and the rest share
/// `clauderon-<name>`; the ConfigMap of files is `clauderon-<name>-files`.
pub fn object_name(session: &str) -> String {
    crate::session::container_name(session)
}

pub fn files_name(session: &str) -> String {
    format!("{}-files", object_name(session))
}

/// The label value that marks one home's objects: the first 16 hex digits
/// of the SHA-256 of its path.
pub fn home_label(home: &crate::store::Home) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        home.root.as_os_str().as_encoded_bytes(),
    );
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `kubectl --context=C --namespace=N`: every call names both, as one
/// argument each, so neither can be read as another flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kubectl {
    pub context: String,
    pub namespace: String,
}

/// `kubectl config current-context`: asked once, at create, when neither
/// `--context` nor `[kubernetes] context` names one.
pub fn current_context() -> Cmd {
    Cmd::new([PROGRAM, "config", "current-context"])
}

/// The context names of the user's kubeconfig, one a line.
pub fn context_names() -> Cmd {
    Cmd::new([PROGRAM, "config", "get-contexts", "--output=name"])
}

impl Kubectl {
    pub fn new(context: &str, namespace: &str) -> Kubectl {
        Kubectl {
            context: context.into(),
            namespace: namespace.into(),
        }
    }

    pub fn for_spec(kube: &KubeSpec) -> Kubectl {
        Kubectl::new(&kube.context, &kube.namespace)
    }

    /// The same prefix, for the namespace's own commands (`setup`).
    pub(super) fn cmd_for_setup(&self) -> Cmd {
        self.cmd()
    }

    fn cmd(&self) -> Cmd {
        Cmd::new([
            PROGRAM.to_string(),
            format!("--context={}", self.context),
            format!("--namespace={}", self.namespace),
        ])
    }

    /// `kubectl apply -f -` of the manifests, given on stdin (shown with
    /// the Secrets' values redacted).
    pub fn apply(&self, manifests: &[serde_json::Value]) -> Cmd {
        let (bytes, shown) = manifests::stdin_list(manifests);
        self.cmd()
            .args(["apply", "--filename=-"])
            .stdin(bytes, shown)
    }

    /// One pod as JSON, for the wait and `status`.
    pub fn get_pod(&self, pod: &str) -> Cmd {
        self.cmd()
            .args(["get", "pod", pod, "--output=json", REQUEST_TIMEOUT])
    }

    /// Every session pod of a home, in one call.
    pub fn list_pods(&self, home_label: &str) -> Cmd {
        let selector = format!(
            "--selector={}=clauderon,{}={home_label}",
            label::MANAGED_BY,
            label::HOME
        );
        self.cmd()
            .args(["get", "pods", &selector, "--output=json", REQUEST_TIMEOUT])
    }

    /// Removes everything carrying the session's labels.
    pub fn delete_session(&self, session: &str, home_label: &str) -> Cmd {
        let selector = format!(
            "--selector={}={session},{}={home_label}",
            label::SESSION,
            label::HOME
        );
        self.cmd().args([
            "delete",
            "pod,persistentvolumeclaim,configmap,secret,networkpolicy",
            &selector,
            "--ignore-not-found=true",
            "--wait=false",
        ])
    }

    /// Deletes the pod (the volume, files and secret stay) and waits for it
    /// to be gone, so the next apply makes a new one.
    pub fn delete_pod(&self, pod: &str) -> Cmd {
        self.cmd().args([
            "delete",
            "pod",
            pod,
            "--ignore-not-found=true",
            "--wait=true",
        ])
    }

    pub fn attach(&self, pod: &str) -> Cmd {
        self.cmd()
            .args(["attach", "--stdin", "--tty", pod, "--container", CONTAINER])
    }

    pub fn logs(&self, pod: &str, follow: bool, tail: Option<u64>) -> Cmd {
        let mut cmd = self.cmd().args(["logs", pod, "--container", CONTAINER]);
        if follow {
            cmd = cmd.arg("--follow");
        }
        if let Some(n) = tail {
            cmd = cmd.arg(format!("--tail={n}"));
        }
        cmd
    }

    /// Runs `program` in the pod's agent container (no terminal).
    pub fn exec<I, S>(&self, pod: &str, program: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd::new(self.exec_argv(pod)).args(program)
    }

    /// `kubectl exec -i POD -c agent --` and then the program: what git's
    /// `ext::` transport runs to reach the repository in the pod.
    pub fn exec_argv(&self, pod: &str) -> Vec<String> {
        let mut argv = self.cmd().argv;
        argv.extend(
            ["exec", "--stdin", pod, "--container", CONTAINER, "--"]
                .iter()
                .map(|s| s.to_string()),
        );
        argv
    }
}
