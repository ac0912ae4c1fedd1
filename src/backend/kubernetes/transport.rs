//! Code in and out of the pod by git over `kubectl exec` (git's `ext::`
//! transport): the session's branch is pushed into the pod's volume, and
//! the agent's commits are fetched back onto the host branch. Nothing is
//! cloned from a remote and `kubectl cp` is not used. `ext::` is allowed
//! for these calls only, and the host-side git keeps its hardening (no
//! hooks, no fsmonitor) and checks every object it receives.

use super::{Kubectl, WORKSPACE, object_name};
use crate::exec::Cmd;
use crate::git;
use crate::session::SessionSpec;

/// `ext::kubectl --context=C --namespace=N exec --stdin POD --container
/// agent -- %S /workspace`: git runs that argv (no shell) with `%S` the
/// pack program (git-receive-pack to push, git-upload-pack to fetch).
pub fn ext_url(kubectl: &Kubectl, pod: &str) -> String {
    let mut words: Vec<String> = kubectl.exec_argv(pod).iter().map(|w| escape(w)).collect();
    words.push("%S".into());
    words.push(escape(WORKSPACE));
    format!("ext::{}", words.join(" "))
}

/// git's ext:: command line splits on spaces; `% ` is a space and `%%` a
/// percent sign inside one argument.
fn escape(word: &str) -> String {
    word.replace('%', "%%").replace(' ', "% ")
}

/// `git` on the host repository with `ext::` allowed for this call only.
fn git_with_ext(spec: &SessionSpec) -> Cmd {
    git::git(&spec.repo_root).args([
        "-c",
        "protocol.ext.allow=always",
        "-c",
        "transfer.fsckObjects=true",
    ])
}

fn refspec(spec: &SessionSpec) -> String {
    format!("refs/heads/{0}:refs/heads/{0}", spec.branch)
}

/// Pushes the session's branch (with every commit it has, pushed or not)
/// into the pod's repository, where the pod's start script checks it out.
pub fn push(spec: &SessionSpec, kubectl: &Kubectl) -> Cmd {
    git_with_ext(spec)
        .args(["push", "--no-verify", "--quiet"])
        .arg(ext_url(kubectl, &object_name(&spec.name)))
        .arg(refspec(spec))
}

/// Fetches the agent's commits onto the host branch: no checkout, no
/// hooks, no tags, no FETCH_HEAD; a history the agent rewrote is refused
/// (not a fast-forward) rather than overwriting the host branch.
pub fn fetch(spec: &SessionSpec, kubectl: &Kubectl) -> Cmd {
    git_with_ext(spec)
        .args([
            "fetch",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--quiet",
        ])
        .arg(ext_url(kubectl, &object_name(&spec.name)))
        .arg(refspec(spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_words_are_escaped() {
        let k = Kubectl::new("my ctx%1", "ns");
        let url = ext_url(&k, "clauderon-a");
        assert_eq!(
            url,
            "ext::kubectl --context=my% ctx%%1 --namespace=ns exec --stdin clauderon-a --container agent -- %S /workspace"
        );
    }
}
