//! The one place a command tells a cluster's session from this host's.
//!
//! The plans are the backend's (`Backend`'s verbs in `backend/verbs.rs`).
//! What differs is the facts a command gathers before it asks for one: on
//! this host, its daemon, the worktree and the engine's state; in a
//! cluster, its context, the in-cluster daemon's wiring and the
//! namespace's keys (`commands/kube/`). A command loads the session, then
//! hands it to its flow; a new backend is one more arm here.

use crate::cli::CreateArgs;
use crate::commands::create::{self, resolve::Flags};
use crate::commands::delete::DeleteFlags;
use crate::commands::{Ctx, kube, lifecycle, refresh};
use crate::devcontainer::Applied;
use crate::error::Result;
use crate::plan::Mode;
use crate::session::{BackendKind, SessionSpec};

/// What `create` has read before its flow takes over: the flags, and the
/// devcontainer.json they came from, if any.
pub struct CreateJob {
    pub args: CreateArgs,
    pub flags: Flags,
    pub devcontainer: Option<Applied>,
}

/// The verbs whose facts come from where the session runs.
pub trait Flow: Sync {
    fn create(&self, ctx: &Ctx, job: CreateJob, mode: Mode) -> Result<()>;
    fn attach(&self, ctx: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<i32>;
    fn start(&self, ctx: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<()>;
    /// Runs under the session's lock, which `refresh` takes first.
    fn refresh(&self, ctx: &Ctx, spec: SessionSpec, no_pull: bool, mode: Mode) -> Result<()>;
    /// Runs under the session's lock; `spec` is `None` when only
    /// leftovers of a session are found (no record).
    fn delete(
        &self,
        ctx: &Ctx,
        name: &str,
        spec: Option<SessionSpec>,
        flags: DeleteFlags,
    ) -> Result<()>;
}

/// Docker, Podman and compose sessions: the container runs on this host.
pub struct Host;

/// Kubernetes sessions: the pod runs in a cluster.
pub struct Cluster;

/// The flow of a session of this kind.
pub fn of(kind: BackendKind) -> &'static dyn Flow {
    match kind {
        BackendKind::Kubernetes => &Cluster,
        BackendKind::Docker | BackendKind::Podman => &Host,
    }
}

impl Flow for Host {
    fn create(&self, ctx: &Ctx, job: CreateJob, mode: Mode) -> Result<()> {
        create::on_host(ctx, job, mode)
    }

    fn attach(&self, ctx: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<i32> {
        lifecycle::attach_on_host(ctx, spec, mode)
    }

    fn start(&self, ctx: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<()> {
        lifecycle::start_on_host(ctx, spec, mode)
    }

    fn refresh(&self, ctx: &Ctx, spec: SessionSpec, no_pull: bool, mode: Mode) -> Result<()> {
        refresh::on_host(ctx, spec, no_pull, mode)
    }

    fn delete(
        &self,
        ctx: &Ctx,
        name: &str,
        spec: Option<SessionSpec>,
        flags: DeleteFlags,
    ) -> Result<()> {
        crate::commands::delete::on_host(ctx, name, spec, flags)
    }
}

impl Flow for Cluster {
    fn create(&self, ctx: &Ctx, job: CreateJob, mode: Mode) -> Result<()> {
        let spec = create::resolve(ctx, &job.args, job.flags)?;
        create::note_kubernetes(ctx, &job.args, spec.agent);
        kube::create::run(ctx, spec, mode)
    }

    fn attach(&self, _: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<i32> {
        kube::lifecycle::attach(spec, mode)
    }

    fn start(&self, ctx: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<()> {
        // Start may renew the namespace's keys: one start at a time.
        let _lock = (!mode.is_dry_run())
            .then(|| ctx.home.lock_session(&spec.name))
            .transpose()?;
        kube::lifecycle::start(ctx, spec, mode)
    }

    fn refresh(&self, ctx: &Ctx, spec: SessionSpec, no_pull: bool, mode: Mode) -> Result<()> {
        refresh::image_allowed(ctx, &spec)?;
        kube::lifecycle::refresh(ctx, &spec, no_pull, mode)
    }

    fn delete(
        &self,
        ctx: &Ctx,
        name: &str,
        spec: Option<SessionSpec>,
        flags: DeleteFlags,
    ) -> Result<()> {
        match spec {
            Some(spec) => kube::pull::delete(ctx, &spec, flags),
            None => Host.delete(ctx, name, None, flags),
        }
    }
}
