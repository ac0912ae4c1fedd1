//! The plan of a compose session's create: podman-compose's hosts file,
//! clauderon's override, the record, the volumes compose does not make,
//! `up` (taken down again on failure) and the checks after it.

use super::ComposeSpec;
use crate::backend::Wiring;
use crate::backend::oci::create::add_own_cache_volumes;
use crate::backend::oci::{CACHE_VOLUMES, Engine};
use crate::backend::record::record_step;
use crate::plan::{Plan, Step, Tolerate};
use crate::session::SessionSpec;
use crate::store::Home;

/// What the override names but compose does not make: the shared caches
/// (external), and on Podman the agent CLI's image volume.
fn add_volumes(plan: &mut Plan, spec: &SessionSpec, engine: &Engine) {
    let classify = engine.classifier();
    for (volume, _) in CACHE_VOLUMES {
        plan.push(Step::Run {
            cmd: engine.create_cache_volume(volume),
            classify,
            tolerate: Some(Tolerate::If(Engine::is_existing_volume)),
        });
    }
    if let Some(cli) = &spec.agent_cli_image {
        let project = ComposeSpec::project(spec);
        plan.push_undoable(
            Step::Run {
                cmd: super::podman::create_cli_volume(&project, cli),
                classify,
                tolerate: Some(Tolerate::If(Engine::is_existing_volume)),
            },
            vec![Step::Run {
                cmd: engine.remove_volumes([super::podman::cli_volume(&project).as_str()]),
                classify,
                tolerate: Some(Tolerate::If(|_| true)),
            }],
        );
    }
}

/// podman-compose's hosts file and its first lines; before the override: a
/// session directory with an override and no hosts file is Docker's (see
/// `compose::down_unrecorded`).
fn add_hosts_files(
    plan: &mut Plan,
    spec: &SessionSpec,
    compose: &ComposeSpec,
    engine: &Engine,
    wiring: &Wiring,
) {
    if let Some(hosts) = compose.hosts_file() {
        let base = super::podman::hosts_base(&super::host_lines(spec, engine, wiring));
        for path in [hosts.with_extension("base"), hosts] {
            plan.push(Step::WriteFile {
                path,
                contents: base.clone(),
                mode: 0o644,
                secret: false,
            });
        }
    }
}

/// The override, the record, `up` (a failure shows the services' last
/// lines, then takes the project down with its volumes), and the checks.
pub fn add_project(
    plan: &mut Plan,
    spec: &SessionSpec,
    compose: &ComposeSpec,
    home: &Home,
    engine: &Engine,
    wiring: &Wiring,
) {
    add_hosts_files(plan, spec, compose, engine, wiring);
    let secrets = write_override(plan, spec, compose, home, engine, wiring);
    plan.push(record_step(spec, home));
    add_volumes(plan, spec, engine);
    // A failed `up`, or a service it did not start, takes it all down.
    let down = || -> Vec<Step> {
        (compose.down_steps(spec, engine, false).into_iter())
            .map(|step| match step {
                Step::Run { cmd, classify, .. } => Step::Run {
                    cmd,
                    classify,
                    tolerate: Some(Tolerate::If(|_| true)),
                },
                other => other,
            })
            .collect()
    };
    let mut up = compose.up_steps(spec, engine, &secrets).into_iter();
    if let Some(first) = up.next() {
        plan.push_with_cleanup(first, down(), down());
    }
    for step in up {
        plan.push(step);
    }
    // After `up`, which pulls the image if it has to.
    add_own_cache_volumes(plan, spec, engine);
    let container = spec.container_name();
    if !spec.lifecycle.on_create.is_empty() {
        let timeout = spec
            .lifecycle
            .on_create_timeout
            .unwrap_or(crate::session::DEFAULT_ON_CREATE_TIMEOUT);
        plan.push(engine.wait_on_create(
            &container,
            &spec.worktree,
            std::path::Path::new(".clauderon/on-create.status"),
            std::time::Duration::from_secs(timeout),
        ));
    }
    plan.push(engine.verify_started(&container, &spec.worktree));
}

/// Writes clauderon's override of the user's compose file; the secrets it
/// leaves out of the file, which compose is given as its environment.
pub(super) fn write_override(
    plan: &mut Plan,
    spec: &SessionSpec,
    compose: &ComposeSpec,
    home: &Home,
    engine: &Engine,
    wiring: &Wiring,
) -> Vec<(String, String)> {
    let (contents, secrets) = super::override_file(spec, home, engine, wiring, compose);
    plan.push(Step::WriteFile {
        path: compose.override_file.clone(),
        contents,
        mode: 0o600,
        secret: false,
    });
    secrets
}
