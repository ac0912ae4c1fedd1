//! The kubernetes part of `list`: one `kubectl get pods` per cluster and
//! namespace in use (usually one), only when a kubernetes session exists;
//! an unreachable cluster is one warning within `--request-timeout`.

use std::collections::BTreeMap;

use crate::backend::kubernetes::{Kubectl, classify, object_name, status};
use crate::commands::list::EngineView;
use crate::session::{BackendKind, SessionSpec};

/// Adds the session pods of every cluster in use to `view`; a kubernetes
/// session without a pod is `stopped` (its volume is kept).
pub fn observe(specs: &[SessionSpec], view: &mut EngineView) {
    let mut targets: BTreeMap<(String, String, String), Vec<&SessionSpec>> = BTreeMap::new();
    for spec in specs
        .iter()
        .filter(|s| s.backend == BackendKind::Kubernetes)
    {
        if let Some(k) = &spec.kubernetes {
            let key = (k.context.clone(), k.namespace.clone(), k.home_label.clone());
            targets.entry(key).or_default().push(spec);
        }
    }
    let answers: Vec<_> = std::thread::scope(|scope| {
        let asks: Vec<_> = targets
            .keys()
            .map(|(c, n, h)| scope.spawn(move || Kubectl::new(c, n).list_pods(h).run()))
            .collect();
        asks.into_iter()
            .map(|a| a.join().expect("kubectl thread"))
            .collect()
    });
    for (((context, namespace, _), sessions), answer) in targets.into_iter().zip(answers) {
        match answer {
            Ok(out) => {
                let pods = status::parse_pods(&out.stdout);
                for (session, state, text) in pods {
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
            }
            Err(f) => {
                let why = classify(f).to_string();
                view.unreachable.insert(
                    BackendKind::Kubernetes,
                    format!("context {context}, namespace {namespace}: {why}"),
                );
            }
        }
    }
}
