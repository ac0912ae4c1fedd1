//! The body of `POST /run` (Stromboli's shape) and what it becomes: the
//! `clauderon create --print` command line, the run's timeout, and the
//! values passed through the child's environment.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::session::BackendKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    prompt: String,
    /// A host git repository: the run gets a worktree on a new branch.
    repo: Option<String>,
    /// Where the agent works in the container: /workspace or below it.
    workdir: Option<String>,
    agent: Option<String>,
    claude: Option<ClaudeOptions>,
    podman: Option<EngineOptions>,
    docker: Option<EngineOptions>,
    /// With `/run/async`: called when the job ends.
    webhook_url: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaudeOptions {
    model: Option<String>,
    max_turns: Option<u32>,
    #[serde(default)]
    allowed_tools: Vec<String>,
    #[serde(default)]
    disallowed_tools: Vec<String>,
    append_system_prompt: Option<String>,
    output_format: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineOptions {
    image: Option<String>,
    memory: Option<String>,
    cpus: Option<String>,
    #[serde(default)]
    lifecycle: Lifecycle,
    environment: Option<Environment>,
    timeout: Option<String>,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

/// Stromboli's `environment`: the agent in a service of a compose file in
/// the run's repository (`path` relative to it), the others beside it.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Environment {
    Compose {
        path: String,
        service: Option<String>,
    },
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lifecycle {
    #[serde(default)]
    on_create_command: Vec<String>,
    #[serde(default)]
    post_start: Vec<String>,
}

/// A run, checked: what `create` is given and how long it may take.
pub struct Validated {
    /// The session's name, chosen now so an async run's 202 can give it.
    pub name: String,
    pub webhook_url: Option<String>,
    pub backend: BackendKind,
    pub repo: Option<String>,
    pub timeout: Duration,
    pub env: Vec<(String, String)>,
    args: Vec<String>,
    /// The compose file, relative to the repository.
    compose: Option<String>,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// `90`, `90s`, `30m`, `2h`.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("timeout {text:?}: use seconds or 90s, 30m, 2h"))?;
    let secs = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => return Err(format!("timeout {text:?}: use seconds or 90s, 30m, 2h")),
    }
    .unwrap_or(u64::MAX);
    if secs == 0 || secs > 24 * 3600 {
        return Err(format!("timeout {text:?}: between 1 s and 24 h"));
    }
    Ok(Duration::from_secs(secs))
}

impl RunRequest {
    pub fn validate(self) -> Result<Validated, String> {
        if self.prompt.trim().is_empty() || self.prompt.contains('\0') {
            return Err("`prompt` must be text: not empty, no NUL byte".into());
        }
        let (backend, engine) = match (self.docker, self.podman) {
            (Some(_), Some(_)) => return Err("give `docker` or `podman`, not both".into()),
            (Some(d), None) => (BackendKind::Docker, d),
            (None, Some(p)) => (BackendKind::Podman, p),
            (None, None) => (BackendKind::Docker, EngineOptions::default()),
        };
        let compose = compose_path(engine.environment.as_ref())?;
        let (repo, mounts) = volumes(self.repo, &engine.volumes)?;
        if let Some(w) = &self.workdir
            && w != "/workspace"
        {
            return Err(format!(
                "workdir {w:?}: a run works in /workspace (its repository's worktree); give the repository as `repo`"
            ));
        }
        for key in engine.env.keys() {
            if !crate::validate::env_name(key) {
                return Err(format!("env: {key:?} is not a variable name"));
            }
        }
        let timeout = engine
            .timeout
            .as_deref()
            .map(parse_timeout)
            .transpose()?
            .unwrap_or(DEFAULT_TIMEOUT);
        let mut args = create_flags(
            &self.prompt,
            self.agent.as_deref(),
            backend,
            &engine,
            &self.claude.unwrap_or_default(),
        );
        if let Some(Environment::Compose {
            service: Some(s), ..
        }) = &engine.environment
        {
            args.push(format!("--service={s}"));
        }
        args.extend(mounts);
        Ok(Validated {
            name: run_name(&self.prompt),
            webhook_url: self.webhook_url,
            backend,
            repo,
            timeout,
            env: engine.env.into_iter().collect(),
            args,
            compose,
        })
    }
}

/// The CLI's name for the prompt (`fix-the-login-bug-k3x9`) with six more
/// random characters: runs come in bulk, and two must not collide.
fn run_name(prompt: &str) -> String {
    let name = crate::session::derive_name(prompt);
    format!("{name}{}", crate::session::random_suffix(6))
}

/// A compose environment's file (docker's or podman's): a path inside the
/// repository (relative, without `..`).
fn compose_path(env: Option<&Environment>) -> Result<Option<String>, String> {
    let Some(Environment::Compose { path, .. }) = env else {
        return Ok(None);
    };
    let p = std::path::Path::new(path);
    let inside = p.is_relative()
        && p.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if !inside || path.is_empty() {
        return Err(format!(
            "compose path {path:?}: a path in the run's repository, relative to it"
        ));
    }
    Ok(Some(path.clone()))
}

/// Stromboli's volumes, `HOST:CONTAINER[:ro|:rw]`. The one at /workspace
/// is the run's repository (or `repo` is); the others become `--mount`s
/// of its create, read-only unless `:rw`, which that create checks as the
/// CLI's (under `[api] allowed_volume_roots`, no secret store).
fn volumes(
    repo: Option<String>,
    volumes: &[String],
) -> Result<(Option<String>, Vec<String>), String> {
    let mut repo = repo;
    let mut mounts = Vec::new();
    for v in volumes {
        let bad =
            |why: &str| format!("volume {v:?}: {why}; use HOST:CONTAINER[:ro|:rw], both absolute");
        let (host, container, mode) = match v.split(':').collect::<Vec<_>>()[..] {
            [host, container] => (host, container, None),
            [host, container, mode @ ("ro" | "rw")] => (host, container, Some(mode)),
            [_, _, mode] => return Err(bad(&format!("{mode:?} is neither ro nor rw"))),
            _ => {
                return Err(bad(
                    "not HOST:CONTAINER (a path with `:` cannot be mounted)",
                ));
            }
        };
        super::child::absolute(host, "volumes")?;
        if container != "/workspace" {
            let rw = if mode == Some("rw") { ":rw" } else { "" };
            mounts.push(format!("--mount={host}:{container}{rw}"));
        } else if mode == Some("ro") {
            return Err(bad(
                "the repository at /workspace cannot be read-only: the agent commits there",
            ));
        } else if repo.is_some() {
            return Err(bad(
                "the run already has its repository (`repo`, or another volume at /workspace)",
            ));
        } else {
            repo = Some(host.to_string());
        }
    }
    if let Some(r) = &repo {
        super::child::absolute(r, "repo")?;
    }
    Ok((repo, mounts))
}

/// `create --print` flags, `--flag=value` so no value passes for a flag.
fn create_flags(
    prompt: &str,
    agent: Option<&str>,
    backend: BackendKind,
    e: &EngineOptions,
    c: &ClaudeOptions,
) -> Vec<String> {
    let mut args = vec!["create".to_string(), "--json".into(), "--print".into()];
    let mut flag = |name: &str, value: &str| args.push(format!("--{name}={value}"));
    flag("prompt", prompt);
    flag("backend", backend.as_str());
    let optional = [
        ("agent", agent.map(String::from)),
        ("image", e.image.clone()),
        ("memory-limit", e.memory.clone()),
        ("cpu-limit", e.cpus.clone()),
        ("model", c.model.clone()),
        ("max-turns", c.max_turns.map(|n| n.to_string())),
        ("append-system-prompt", c.append_system_prompt.clone()),
        ("output-format", c.output_format.clone()),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            flag(name, &v);
        }
    }
    let lists = [
        ("on-create", &e.lifecycle.on_create_command),
        ("post-start", &e.lifecycle.post_start),
        ("allowed-tools", &c.allowed_tools),
        ("disallowed-tools", &c.disallowed_tools),
    ];
    for (name, values) in lists {
        for v in values {
            flag(name, v);
        }
    }
    for key in e.env.keys() {
        flag("env", key);
    }
    args
}

impl Validated {
    pub fn create_args(&self, name: &str, repo: &str) -> Vec<String> {
        let mut args = self.args.clone();
        args.push(format!("--name={name}"));
        args.push(format!("--repo={repo}"));
        if let Some(path) = &self.compose {
            let file = std::path::Path::new(repo).join(path);
            args.push(format!("--compose={}", file.display()));
        }
        args
    }
}
