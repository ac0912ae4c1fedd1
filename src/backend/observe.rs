//! What the engines say about this home's sessions: one `ps` per engine in
//! use, and (see `kubernetes::observe`) one `kubectl get pods` and one call
//! to the in-cluster daemon per cluster in use.

use std::collections::BTreeMap;

use crate::backend::oci::ENGINES;
use crate::session::{BackendKind, SessionSpec};
use crate::store::Home;

/// What the engines say: (backend, container name) -> (state, status text, session label).
pub struct EngineView {
    pub containers: BTreeMap<(BackendKind, String), (String, String, String)>,
    /// Engines that could not be asked, with why.
    pub unreachable: BTreeMap<BackendKind, String>,
    /// Kubernetes sessions' hook events, from the in-cluster daemons:
    /// (session, id) -> the events that set its status.
    pub hook_events: BTreeMap<(String, String), Vec<crate::hooks::HookEvent>>,
    /// Kubernetes sessions whose daemon could not be asked.
    pub no_events: std::collections::BTreeSet<String>,
    /// What else went wrong, one line each.
    pub warnings: Vec<String>,
}

/// The states of all sessions of this home, for `list`: one `ps` per
/// engine in use (the engines of the sessions; every installed one when an
/// interrupted create left a session of unknown backend), run concurrently,
/// then one look per cluster in use (`kubernetes::observe`).
pub fn observe(home: &Home, specs: &[SessionSpec], any_incomplete: bool) -> EngineView {
    let mut view = EngineView {
        containers: BTreeMap::new(),
        unreachable: BTreeMap::new(),
        hook_events: BTreeMap::new(),
        no_events: Default::default(),
        warnings: Vec::new(),
    };
    let engines: Vec<_> = ENGINES
        .into_iter()
        .map(|e| {
            // An engine where delete left a container is asked too.
            let used = specs.iter().any(|s| s.backend == e.kind);
            (e, used || home.leftover_marked(e.kind))
        })
        .filter(|(e, needed)| *needed || (any_incomplete && installed(e.program)))
        .collect();
    let answers: Vec<_> = std::thread::scope(|scope| {
        let asks: Vec<_> = engines
            .iter()
            .map(|(engine, _)| scope.spawn(|| engine.list_sessions(home).run()))
            .collect();
        asks.into_iter()
            .map(|a| a.join().expect("ps thread"))
            .collect()
    });
    for ((engine, needed), answer) in engines.into_iter().zip(answers) {
        match answer {
            Ok(out) => {
                for (name, state, status, label) in engine.parse_sessions(&out.stdout) {
                    view.containers
                        .insert((engine.kind, name), (state, status, label));
                }
            }
            Err(f) if needed => {
                view.unreachable
                    .insert(engine.kind, engine.classify(f).to_string());
            }
            Err(_) => {} // an engine with no sessions here is not our business
        }
    }
    super::kubernetes::observe::observe(specs, &mut view);
    view
}

fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}
