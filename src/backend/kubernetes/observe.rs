//! The kubernetes part of `list`: per cluster and namespace in use
//! (usually one), only when a kubernetes session exists, one `kubectl get
//! pods` and one call to the in-cluster daemon for every session's hook
//! statuses, side by side; an unreachable cluster is one warning within
//! `--request-timeout`, and so is an unreachable daemon.

use std::collections::BTreeMap;

use super::{Kubectl, classify, object_name, status};
use crate::backend::observe::EngineView;
use crate::cluster::statuses;
use crate::exec::{Failure, Output};
use crate::session::{BackendKind, SessionSpec};

type Target = (String, String, String);

/// Adds the session pods and hook events of every cluster in use to
/// `view`; a kubernetes session without a pod is `stopped` (its volume is kept).
pub fn observe(specs: &[SessionSpec], view: &mut EngineView) {
    let mut targets: BTreeMap<Target, Vec<&SessionSpec>> = BTreeMap::new();
    for spec in specs
        .iter()
        .filter(|s| s.backend == BackendKind::Kubernetes)
    {
        if let Some(k) = &spec.kubernetes {
            let key = (k.context.clone(), k.namespace.clone(), k.home_label.clone());
            targets.entry(key).or_default().push(spec);
        }
    }
    type Answer = (Result<Output, Failure>, Result<Output, Failure>);
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let asks: Vec<_> = targets
            .keys()
            .map(|(c, n, h)| {
                let pods = scope.spawn(move || Kubectl::new(c, n).list_pods(h).run());
                let events = scope.spawn(move || Kubectl::new(c, n).daemon_statuses(None).run());
                (pods, events)
            })
            .collect();
        asks.into_iter()
            .map(|(p, e)| {
                let join =
                    |t: std::thread::ScopedJoinHandle<'_, _>| t.join().expect("kubectl thread");
                (join(p), join(e))
            })
            .collect()
    });
    for ((target, sessions), (pods, events)) in targets.into_iter().zip(answers) {
        if add_pods(view, &target, &sessions, pods) {
            add_events(view, &target, &sessions, events);
        }
    }
}

/// The pods of one target; false if the cluster could not be asked.
fn add_pods(
    view: &mut EngineView,
    (context, namespace, _): &Target,
    sessions: &[&SessionSpec],
    answer: Result<Output, Failure>,
) -> bool {
    let out = match answer {
        Ok(out) => out,
        Err(f) => {
            let why = classify(f).to_string();
            view.unreachable.insert(
                BackendKind::Kubernetes,
                format!("context {context}, namespace {namespace}: {why}"),
            );
            return false;
        }
    };
    for (session, state, text) in status::parse_pods(&out.stdout) {
        view.containers.insert(
            (BackendKind::Kubernetes, object_name(&session)),
            (state, text, session),
        );
    }
    for s in sessions {
        view.containers
            .entry((BackendKind::Kubernetes, object_name(&s.name)))
            .or_insert_with(|| {
                (
                    "stopped".into(),
                    format!("no pod (volume kept): clauderon start {}", s.name),
                    s.name.clone(),
                )
            });
    }
    true
}

/// The hook events of one target's sessions, or one warning.
fn add_events(
    view: &mut EngineView,
    (context, namespace, _): &Target,
    sessions: &[&SessionSpec],
    answer: Result<Output, Failure>,
) {
    let parsed = answer
        .map_err(|f| daemon_unreachable(f).to_string())
        .and_then(|out| {
            statuses::parse(&out.stdout)
                .ok_or_else(|| "its answer is not the statuses' JSON".to_string())
        });
    match parsed {
        Ok(events) => view.hook_events.extend(events),
        Err(why) => {
            view.warnings.push(format!(
                "cannot ask the in-cluster daemon for agent statuses (context {context}, namespace {namespace}): {why}"
            ));
            view.no_events
                .extend(sessions.iter().map(|s| s.name.clone()));
        }
    }
}

/// One session's pod as JSON, or None when it has none (a stopped session).
pub fn pod(
    spec: &SessionSpec,
    kubectl: &Kubectl,
) -> crate::error::Result<Option<serde_json::Value>> {
    match kubectl.get_pod(&object_name(&spec.name)).run() {
        Ok(out) => Ok(serde_json::from_str(&out.stdout).ok()),
        Err(f) if super::classify::is_not_found(&f) => Ok(None),
        Err(f) => Err(classify(f)),
    }
}

/// One session's recent hook events, from its namespace's in-cluster
/// daemon (the call `list` makes, for this session alone).
pub fn hook_events(
    spec: &SessionSpec,
    kubectl: &Kubectl,
) -> crate::error::Result<Vec<crate::hooks::HookEvent>> {
    let out = kubectl
        .daemon_statuses(Some(&spec.name))
        .run()
        .map_err(daemon_unreachable)?;
    let mut all = statuses::parse(&out.stdout).ok_or_else(|| {
        crate::error::Error::failed("the in-cluster daemon's answer is not the statuses' JSON")
            .with_fix("`clauderon daemon-image build` an image of this clauderon version, load it, and `clauderon kube setup`")
    })?;
    Ok(all
        .remove(&(spec.name.clone(), spec.id.clone()))
        .unwrap_or_default())
}

/// A failed call to the daemon, with the fix.
pub fn daemon_unreachable(f: Failure) -> crate::error::Error {
    if f.stderr.contains("(NotFound)") {
        return crate::error::Error::failed(format!(
            "the namespace has no clauderon daemon: {}",
            f.stderr_tail()
        ))
        .with_fix("`clauderon kube setup` deploys it");
    }
    let e = classify(f);
    if e.fix.is_some() {
        return e;
    }
    e.with_fix(format!(
        "`kubectl get pods --selector={}={}` shows the daemon's pod; `clauderon kube setup` applies it again",
        crate::backend::kubernetes::label::NAME,
        crate::backend::kubernetes::DAEMON
    ))
}
