//! What each agent needs inside the container: its entrypoint, its
//! environment and its state files.

use serde_json::json;

use crate::codex;
use crate::hooks;
use crate::proxy::rules::ANTHROPIC_KEY_PLACEHOLDER;
use crate::session::{Agent, SessionSpec};

/// The bash script every session container runs (see templates/entrypoint.sh).
pub const ENTRYPOINT: &str = include_str!("../templates/entrypoint.sh");

/// A file the session mounts read-only under `/etc/clauderon/session`.
pub struct SessionFile {
    pub name: String,
    pub contents: Vec<u8>,
    pub mode: u32,
    /// Holds (part of) a credential: never printed.
    pub secret: bool,
}

/// The files every session container reads at start.
/// The agent's options as arguments, and the print-mode marker.
fn option_files(spec: &SessionSpec) -> Vec<SessionFile> {
    let mut files = Vec::new();
    let args = spec.agent_options.args_file(spec.agent);
    if !args.is_empty() {
        files.push(SessionFile {
            name: "agent-args".into(),
            contents: args,
            mode: 0o644,
            secret: false,
        });
    }
    if spec.agent_options.print {
        files.push(SessionFile {
            name: "print".into(),
            contents: b"print mode: the agent runs once, to completion\n".to_vec(),
            mode: 0o644,
            secret: false,
        });
    }
    files
}

pub fn session_files(spec: &SessionSpec) -> Vec<SessionFile> {
    let mut files = vec![
        SessionFile {
            name: "entrypoint.sh".into(),
            contents: ENTRYPOINT.as_bytes().to_vec(),
            mode: 0o755,
            secret: false,
        },
        SessionFile {
            name: "prompt".into(),
            contents: spec.prompt.as_bytes().to_vec(),
            mode: 0o644,
            secret: false,
        },
    ];
    files.extend(option_files(spec));
    // (in this order: dry runs and their snapshots list them so)
    let [send_status, hook_auth] = hook_files(spec);
    files.push(send_status);
    if spec.agent == Agent::Claude {
        files.push(SessionFile {
            name: "managed-settings.json".into(),
            contents: hooks::MANAGED_SETTINGS.as_bytes().to_vec(),
            mode: 0o644,
            secret: false,
        });
    }
    files.push(hook_auth);
    files.extend(agent_files(spec));
    // Lifecycle commands, one file each, run in order by the entrypoint.
    for (kind, commands) in [
        ("on-create", &spec.lifecycle.on_create),
        ("post-start", &spec.lifecycle.post_start),
    ] {
        for (i, command) in commands.iter().enumerate() {
            files.push(SessionFile {
                name: format!("{kind}-{:03}", i + 1),
                contents: command.as_bytes().to_vec(),
                mode: 0o644,
                secret: false,
            });
        }
    }
    files
}

/// The hook script and its token, for either agent's hooks.
fn hook_files(spec: &SessionSpec) -> [SessionFile; 2] {
    [
        SessionFile {
            name: "send_status.sh".into(),
            contents: hooks::SEND_STATUS.as_bytes().to_vec(),
            mode: 0o755,
            secret: false,
        },
        // A curl header file, so the token never appears in argv.
        SessionFile {
            name: "hook-auth".into(),
            contents: format!("Authorization: Bearer {}\n", spec.hook_token).into_bytes(),
            mode: 0o600,
            secret: true,
        },
    ]
}

/// The agent's own settings and state for an unattended run.
fn agent_files(spec: &SessionSpec) -> Vec<SessionFile> {
    let file = |name: &str, contents: Vec<u8>, mode: u32, secret: bool| SessionFile {
        name: name.into(),
        contents,
        mode,
        secret,
    };
    match spec.agent {
        Agent::Claude => {
            let has_api_key = spec.env.iter().any(|(k, _)| k == "ANTHROPIC_API_KEY");
            let mode = if has_api_key { 0o600 } else { 0o644 };
            vec![file("claude.json", claude_state(spec), mode, has_api_key)]
        }
        // Placeholders only: nothing secret.
        Agent::Codex => vec![
            file(CODEX_CONFIG, codex_config(spec), 0o644, false),
            file(CODEX_AUTH, codex::auth(), 0o644, false),
        ],
    }
}

fn codex_config(spec: &SessionSpec) -> Vec<u8> {
    let base_url = spec.agent_options.codex_base_url.as_deref();
    codex::config(&spec.workdir(), base_url)
}

/// The session files mounted at `/etc/clauderon/codex/`.
pub const CODEX_CONFIG: &str = "codex-config.toml";
pub const CODEX_AUTH: &str = "codex-auth.json";

/// Steps that write the session's files into its (existing) files directory.
pub fn write_session_files(
    spec: &SessionSpec,
    home: &crate::store::Home,
) -> Vec<crate::plan::Step> {
    let dir = home.container_files_dir(&spec.name);
    session_files(spec)
        .into_iter()
        .map(|file| crate::plan::Step::WriteFile {
            path: dir.join(file.name),
            contents: file.contents,
            mode: file.mode,
            secret: file.secret,
        })
        .collect()
}

/// Claude Code's `~/.claude.json` for an unattended run: onboarding done,
/// bypass-permissions mode accepted, the workspace trusted, and the API key
/// the container holds (if any) approved, so no interactive screen stops it.
pub fn claude_state(spec: &SessionSpec) -> Vec<u8> {
    let mut projects = serde_json::Map::new();
    for dir in ["/workspace".to_string(), spec.workdir()] {
        projects.insert(
            dir,
            json!({ "hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true }),
        );
    }
    let mut state = json!({
        "hasCompletedOnboarding": true,
        "bypassPermissionsModeAccepted": true,
        "projects": projects,
    });
    // The key the container holds: the user's own (--env), else the proxy's placeholder.
    let key = spec
        .env
        .iter()
        .find(|(k, _)| k == "ANTHROPIC_API_KEY")
        .map(|(_, v)| v.as_str())
        .unwrap_or(ANTHROPIC_KEY_PLACEHOLDER);
    // Claude Code remembers approved keys by their last 20 characters.
    let tail: String = key
        .chars()
        .skip(key.chars().count().saturating_sub(20))
        .collect();
    state["customApiKeyResponses"] = json!({ "approved": [tail], "rejected": [] });
    // The user's MCP servers, their tokens as placeholders.
    let servers = crate::mcp::user_definitions(&spec.mcp_servers);
    if !servers.is_empty() {
        state["mcpServers"] = serde_json::Value::Object(servers);
    }
    let mut bytes = serde_json::to_vec_pretty(&state).expect("json serializes");
    bytes.push(b'\n');
    bytes
}

/// Whether the agent's CLI needs a glibc image: Claude Code's native binary
/// does; Codex's are statically linked (musl) and run in any image, Alpine
/// included.
pub fn cli_needs_glibc(agent: Agent) -> bool {
    match agent {
        Agent::Claude => true,
        Agent::Codex => false,
    }
}

/// Environment the agent needs, beyond what every session gets.
pub fn agent_env(spec: &SessionSpec) -> Vec<(String, String)> {
    let mut env = vec![(
        "CLAUDERON_AGENT".to_string(),
        spec.agent.as_str().to_string(),
    )];
    // The user's configuration (and the agent's state) in a directory of
    // its own, not HOME=/workspace, the repository's project level.
    if spec.user_config.is_some() {
        let var = match spec.agent {
            Agent::Claude => "CLAUDE_CONFIG_DIR",
            Agent::Codex => "CODEX_HOME",
        };
        env.push((
            var.into(),
            crate::user_config::container_dir(spec.agent).into(),
        ));
    }
    match spec.agent {
        Agent::Claude => {
            env.push(("DISABLE_AUTOUPDATER".into(), "1".into()));
            // Claude Code refuses --dangerously-skip-permissions as root unless told
            // it runs in a sandbox, which a session container is.
            if spec.uid == 0 {
                env.push(("IS_SANDBOX".into(), "1".into()));
            }
        }
        Agent::Codex if spec.user_config.is_none() => {
            env.push(("CODEX_HOME".into(), codex::CODEX_HOME.into()))
        }
        Agent::Codex => {}
    }
    env
}
