//! The spec, home and wiring that the plan snapshots render from.

use std::path::PathBuf;

use clauderon::backend::{HostNetwork, ProxyWiring, Wiring};
use clauderon::isolation::{NetworkMode, Security};
use clauderon::limits::Limits;
use clauderon::session::{Agent, BackendKind, GitIdentity, PullPolicy, SessionSpec};
use clauderon::store::Home;

/// Daemon on 3030, proxy on 3031, the user's Anthropic credential an API key.
pub fn wiring() -> Wiring {
    Wiring {
        host: HostNetwork {
            gateway: "host-gateway".into(),
            rootless: false,
            remote: false,
        },
        init_helper: true,
        http_port: 3030,
        proxy: Some(ProxyWiring {
            port: 3031,
            anthropic_api_key: true,
        }),
    }
}

pub fn home() -> Home {
    Home {
        root: PathBuf::from("/home/dev/.clauderon"),
    }
}

pub fn spec() -> SessionSpec {
    SessionSpec {
        name: "fix-bug-a1b2".into(),
        id: "00000000-0000-4000-8000-000000000000".into(),
        backend: BackendKind::Docker,
        agent: Agent::Claude,
        image: "clauderon-agent:latest".into(),
        pull_policy: PullPolicy::IfNotPresent,
        limits: Limits::default(),
        env: vec![],
        prompt: "Fix the bug".into(),
        repo_root: "/home/dev/project".into(),
        git_common_dir: "/home/dev/project/.git".into(),
        subdir: String::new(),
        base: "HEAD".into(),
        branch: "fix-bug-a1b2".into(),
        worktree: "/home/dev/.clauderon/worktrees/fix-bug-a1b2".into(),
        uid: 1000,
        gid: 1000,
        git_identity: GitIdentity {
            name: Some("Dev O'Neil".into()),
            email: Some("dev@example.com".into()),
        },
        created_at: 1_700_000_000,
        hook_token: "0123456789abcdef-test-token".into(),
        lifecycle: Default::default(),
        agent_cli_image: None,
        network: NetworkMode::Proxy,
        security: Security::default(),
        env_from_host: vec![],
        isolation_recorded: true,
        agent_options: Default::default(),
        kubernetes: None,
        compose: None,
        uploads: false,
        mounts: vec![],
        talos_config: None,
        budget_usd: None,
        remote_url: None,
        policy: Default::default(),
        landing: Default::default(),
        devcontainer: None,
        user_config: None,
        mcp_servers: Vec::new(),
    }
}
