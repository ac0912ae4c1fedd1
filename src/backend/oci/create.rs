//! The plan of a create on Docker or Podman: the session's files, the
//! worktree on its new branch, then the container (or, for a compose
//! session, its project: see `compose::create`).

use std::path::PathBuf;

use super::{CACHE_VOLUMES, Engine};
use crate::agent;
use crate::backend::Wiring;
use crate::backend::record::{record_step, reserve_session_dir};
use crate::git;
use crate::plan::{Plan, Step, Tolerate};
use crate::session::SessionSpec;
use crate::store::Home;

/// What a create copies in besides the spec: the files handed to the
/// agent (`--attach`) and the user's agent configuration.
#[derive(Default)]
pub struct Extras {
    pub attach: Vec<crate::uploads::Source>,
    pub uploads_max_bytes: u64,
    pub user_config: Option<crate::user_config::Gathered>,
}

/// The steps of a create, in order, each with its undo. Pure: the same spec
/// gives the same plan, which is what the snapshot tests pin.
pub fn create_plan(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    exclude: Option<(PathBuf, Vec<u8>)>,
    wiring: &Wiring,
) -> Plan {
    create_plan_with(spec, home, engine, exclude, wiring, Extras::default())
}

/// `create_plan`, with the extras copied in before the agent starts.
pub fn create_plan_with(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    exclude: Option<(PathBuf, Vec<u8>)>,
    wiring: &Wiring,
    extras: Extras,
) -> Plan {
    let mut plan = Plan::default();
    add_session_files(&mut plan, spec, home);
    if let Some(g) = &extras.user_config {
        let dir = crate::user_config::host_dir(home, &spec.name, spec.agent);
        for step in crate::user_config::steps(g, &dir) {
            plan.push(step);
        }
    }
    if spec.uploads {
        add_uploads(
            &mut plan,
            spec,
            home,
            extras.attach,
            extras.uploads_max_bytes,
        );
    }
    if let Some((path, contents)) = exclude {
        // Appended: the user's own patterns in that file stay as they are.
        plan.push(Step::AppendFile { path, contents });
    }
    add_worktree(&mut plan, spec);
    match &spec.compose {
        Some(c) => {
            crate::backend::compose::create::add_project(&mut plan, spec, c, home, engine, wiring)
        }
        None => add_container(&mut plan, spec, home, engine, wiring),
    }
    plan
}

/// The session directory (taking it is what reserves the name: a
/// concurrent create of the same name fails here, before touching
/// anything) and the files mounted into the container.
fn add_session_files(plan: &mut Plan, spec: &SessionSpec, home: &Home) {
    reserve_session_dir(plan, home, &spec.name);
    plan.push(Step::Mkdir {
        path: home.container_files_dir(&spec.name),
        mode: 0o755,
        exclusive: true,
    });
    for step in agent::write_session_files(spec, home) {
        plan.push(step);
    }
}

/// The session's uploads directory, and the files given with `--attach`.
fn add_uploads(
    plan: &mut Plan,
    spec: &SessionSpec,
    home: &Home,
    files: Vec<crate::uploads::Source>,
    max_bytes: u64,
) {
    let dir = crate::uploads::host_dir(home, &spec.id);
    plan.push_undoable(
        Step::Mkdir {
            path: dir.clone(),
            mode: 0o700,
            exclusive: true,
        },
        vec![Step::RemoveDir { path: dir.clone() }],
    );
    if !files.is_empty() {
        plan.push(Step::CopyUploads {
            files,
            dir,
            max_bytes,
        });
    }
}

/// The worktree on its new branch, and the cache mount points in it.
fn add_worktree(plan: &mut Plan, spec: &SessionSpec) {
    let repo = &spec.repo_root;
    let wt = spec.worktree.to_string_lossy().to_string();
    let add = [
        "worktree",
        "add",
        "--lock",
        "-b",
        &spec.branch,
        &wt,
        &spec.base,
    ];
    // Undone without git but for the branch: by then the agent may have run.
    let undo = crate::worktree::removal(Some(&spec.git_common_dir), &spec.worktree)
        .into_iter()
        .chain([Step::run_cmd(
            git::git(repo).args(["branch", "-D", &spec.branch]),
            git::classify,
        )])
        .collect();
    plan.push_undoable(Step::run_cmd(git::git(repo).args(add), git::classify), undo);
    // Cache mount points made by us, not by the engine as root, so the
    // agent (running as you) can write `.cargo/` and `.cache/`; below the
    // worktree, which holds whatever the repository committed (a `.cargo`
    // link, say), so made without following links.
    let uploads = spec
        .uploads
        .then(|| format!("{}/{}", crate::uploads::WORKTREE_DIR, spec.id));
    for target in CACHE_VOLUMES
        .iter()
        .map(|(_, t)| t.trim_start_matches("/workspace/").to_string())
        .chain(uploads)
    {
        plan.push(Step::MkdirBelow {
            root: spec.worktree.clone(),
            relative: PathBuf::from(target),
            mode: 0o755,
        });
    }
}

/// The container, the record, the start and the checks after it: one
/// `run --detach` where the engine allows it, else `create` then `start`.
fn add_container(
    plan: &mut Plan,
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    wiring: &Wiring,
) {
    let classify = engine.classifier();
    let container = spec.container_name();
    let undo = || vec![Step::run_cmd(engine.remove(&container), classify)];
    if engine.one_call_run {
        plan.push(record_step(spec, home));
        plan.push_with_cleanup(
            Step::run_cmd(engine.run_detached(spec, home, wiring), classify),
            undo(),
            vec![Step::Run {
                cmd: engine.remove_failed(&spec.id),
                classify,
                tolerate: Some(Tolerate::If(|_| true)),
            }],
        );
        // After the run, which pulls the image if it has to.
        add_own_cache_volumes(plan, spec, engine);
    } else {
        plan.push_undoable(
            Step::run_cmd(engine.create(spec, home, wiring), classify),
            undo(),
        );
        add_own_cache_volumes(plan, spec, engine);
        plan.push(record_step(spec, home));
        plan.push(Step::run_cmd(engine.start(&container), classify));
    }
    if !spec.lifecycle.on_create.is_empty() {
        plan.push(
            engine.wait_on_create(
                &container,
                &spec.worktree,
                std::path::Path::new(".clauderon/on-create.status"),
                std::time::Duration::from_secs(
                    spec.lifecycle
                        .on_create_timeout
                        .unwrap_or(crate::session::DEFAULT_ON_CREATE_TIMEOUT),
                ),
            ),
        );
    }
    plan.push(engine.verify_started(&container, &spec.worktree));
}

/// New named volumes belong to root; hand them to the user. Not fatal: an
/// image without chown only loses the build caches.
pub(crate) fn add_own_cache_volumes(plan: &mut Plan, spec: &SessionSpec, engine: &Engine) {
    if spec.uid == 0 {
        return;
    }
    plan.push(Step::Run {
        cmd: engine.own_cache_volumes(&spec.image, spec.uid, spec.gid),
        classify: engine.classifier(),
        tolerate: Some(Tolerate::Warn(|f| {
            format!("could not give the cache volumes to your user ({}); Rust build caches may not be writable", f.stderr_tail())
        })),
    });
}
