//! What each kind of backend can do, asked by the commands' checks instead
//! of matching on the kind: a new backend answers these here.

use crate::session::BackendKind;

impl BackendKind {
    /// Its sessions run in a cluster, not on this host: named with
    /// `--context` and `--namespace`, and the agent's commits live in the
    /// pod until `pull` fetches them.
    pub fn in_cluster(self) -> bool {
        matches!(self, BackendKind::Kubernetes)
    }

    /// The session's container sees files of this machine: `--attach`,
    /// `--mount`, uploads and the user's agent configuration.
    pub fn sees_host_files(self) -> bool {
        !self.in_cluster()
    }

    /// CPU shares (`--cpu-shares`): a pod's CPU request is its weight.
    pub fn has_cpu_shares(self) -> bool {
        !self.in_cluster()
    }

    /// A compose project can hold the session (`--compose`).
    pub fn runs_compose(self) -> bool {
        !self.in_cluster()
    }

    /// It builds images itself (`daemon-image build`).
    pub fn builds_images(self) -> bool {
        !self.in_cluster()
    }

    /// The proxy policy its sessions' daemon applies, as `status` shows
    /// it, when that daemon is not this host's (which reads config.toml):
    /// the in-cluster daemon has no config.toml and applies the default.
    pub fn own_daemon_policy(self) -> Option<String> {
        let preset = crate::proxy::policy::Policy::default().preset;
        self.in_cluster()
            .then(|| format!("{} (the in-cluster daemon's default)", preset.as_str()))
    }
}
