//! The body of `POST /run` (Stromboli's shape) and what it becomes: the
//! `clauderon create --print` command line, the run's timeout, and the
//! values passed through the child's environment.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::claude_options::{ClaudeOptions, Target};
use crate::error::{Error, Result};
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
struct EngineOptions {
    image: Option<String>,
    memory: Option<String>,
    cpus: Option<String>,
    /// Relative CPU weight (`create --cpu-shares`).
    #[serde(default, deserialize_with = "super::whole_number::optional_u32")]
    cpu_shares: Option<u32>,
    /// `{"ENV": "CREDENTIAL"}`: ENV holds the placeholder of a credential
    /// the proxy injects (a name `GET /secrets` lists), never its value.
    #[serde(default)]
    secrets_env: BTreeMap<String, String>,
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
    prompt: String,
    /// `claude.session_id`/`resume`/`continue`: what the run goes on with.
    target: Option<Target>,
    /// The engine the body named (`docker` or `podman`), if it named one.
    pub engine_named: Option<BackendKind>,
    /// The run's place among the running runs (`resume::Running`).
    pub claim: Option<super::resume::Claim>,
    /// Set when the run goes on with an existing session.
    pub resumed: Option<super::resume::Resumed>,
    /// False until the agent has the prompt: a resumed session's output
    /// is the last run's until then (`GET /run/stream` waits for it).
    pub delivered: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// `90`, `90s`, `30m`, `2h`.
fn parse_timeout(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| Error::input(format!("timeout {text:?}: use seconds or 90s, 30m, 2h")))?;
    let secs = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => {
            let why = format!("timeout {text:?}: use seconds or 90s, 30m, 2h");
            return Err(Error::input(why));
        }
    }
    .unwrap_or(u64::MAX);
    if secs == 0 || secs > 24 * 3600 {
        return Err(Error::input(format!(
            "timeout {text:?}: between 1 s and 24 h"
        )));
    }
    Ok(Duration::from_secs(secs))
}

impl RunRequest {
    /// The run, checked. `rules` are config.toml's proxy rules, for the
    /// credentials `secrets_env` names.
    pub fn validate(self, rules: &[crate::proxy::rules::Rule]) -> Result<Validated> {
        let bad = |m: String| Err(Error::input(m));
        if self.prompt.trim().is_empty() || self.prompt.contains('\0') {
            return bad("`prompt` must be text: not empty, no NUL byte".into());
        }
        let (backend, engine, engine_named) = chosen_engine(self.docker, self.podman)?;
        let compose = compose_path(engine.environment.as_ref())?;
        let (repo, mounts) = volumes(self.repo, &engine.volumes)?;
        if let Some(w) = &self.workdir
            && w != "/workspace"
        {
            return bad(format!(
                "workdir {w:?}: a run works in /workspace (its repository's worktree); give the repository as `repo`"
            ));
        }
        check_env_names(&engine)?;
        let timeout = engine
            .timeout
            .as_deref()
            .map(parse_timeout)
            .transpose()?
            .unwrap_or(DEFAULT_TIMEOUT);
        let mut env: Vec<(String, String)> = engine.env.clone().into_iter().collect();
        env.extend(secret_placeholders(&engine.secrets_env, rules)?);
        let claude_options = self.claude.unwrap_or_default();
        let target = claude_options.resume_target();
        let claude = claude_options.create_flags()?;
        let mut args = create_flags(self.agent.as_deref(), backend, &engine, &env);
        args.extend(claude);
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
            env,
            args,
            compose,
            prompt: self.prompt,
            target,
            engine_named,
            claim: None,
            resumed: None,
            delivered: std::sync::Arc::new(true.into()),
        })
    }
}

/// The engine a run asks for (Docker when it names none), its options, and
/// the engine it named, if it named one.
fn chosen_engine(
    docker: Option<EngineOptions>,
    podman: Option<EngineOptions>,
) -> Result<(BackendKind, EngineOptions, Option<BackendKind>)> {
    let named = match (&docker, &podman) {
        (Some(_), None) => Some(BackendKind::Docker),
        (None, Some(_)) => Some(BackendKind::Podman),
        _ => None,
    };
    let (backend, engine) = match (docker, podman) {
        (Some(_), Some(_)) => return Err(Error::input("give `docker` or `podman`, not both")),
        (Some(d), None) => (BackendKind::Docker, d),
        (None, Some(p)) => (BackendKind::Podman, p),
        (None, None) => (BackendKind::Docker, EngineOptions::default()),
    };
    Ok((backend, engine, named))
}

/// `env` and `secrets_env` name variables, and none that changes which
/// programs the host runs.
fn check_env_names(engine: &EngineOptions) -> Result<()> {
    let names = engine.env.keys().chain(engine.secrets_env.keys());
    if let Some(key) = names.clone().find(|k| !crate::validate::env_name(k)) {
        return Err(Error::input(format!("env: {key:?} is not a variable name")));
    }
    if let Some(key) = names
        .into_iter()
        .find(|k| crate::validate::changes_host_programs(k))
    {
        return Err(Error::input(host_program_env(key)));
    }
    Ok(())
}

/// `secrets_env`: each variable gets the placeholder of the credential it
/// names; the proxy swaps the real value in on the way out.
fn secret_placeholders(
    wanted: &BTreeMap<String, String>,
    rules: &[crate::proxy::rules::Rule],
) -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    for (var, secret) in wanted {
        let Some(placeholder) = crate::proxy::credentials::placeholder_for(rules, secret) else {
            return Err(Error::input(format!(
                "podman.secrets_env: {var} names {secret:?}, which is no credential the proxy injects (GET /secrets lists them)"
            ))
            .with_fix("name one of GET /secrets, or add a [[proxy.rules]] entry with env = \"NAME\" to config.toml"));
        };
        env.push((var.clone(), placeholder));
    }
    Ok(env)
}

/// The CLI's name for the prompt (`fix-the-login-bug-k3x9`) with six more
/// random characters: runs come in bulk, and two must not collide.
fn run_name(prompt: &str) -> String {
    let name = crate::session::derive_name(prompt);
    format!("{name}{}", crate::session::random_suffix(6))
}

/// A compose environment's file (docker's or podman's): a path inside the
/// repository (relative, without `..`).
fn compose_path(env: Option<&Environment>) -> Result<Option<String>> {
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
        return Err(Error::input(format!(
            "compose path {path:?}: a path in the run's repository, relative to it"
        )));
    }
    Ok(Some(path.clone()))
}

/// Stromboli's volumes, `HOST:CONTAINER[:ro|:rw]`. The one at /workspace
/// is the run's repository (or `repo` is); the others become `--mount`s
/// of its create, read-only unless `:rw`, which that create checks as the
/// CLI's (under `[api] allowed_volume_roots`, no secret store).
fn volumes(repo: Option<String>, volumes: &[String]) -> Result<(Option<String>, Vec<String>)> {
    let mut repo = repo;
    let mut mounts = Vec::new();
    for v in volumes {
        let bad = |why: &str| {
            Error::input(format!(
                "volume {v:?}: {why}; use HOST:CONTAINER[:ro|:rw], both absolute"
            ))
        };
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

/// Why an `env` name is refused over HTTP (`validate::changes_host_programs`).
pub(super) fn host_program_env(key: &str) -> String {
    format!(
        "env: {key} is refused: it would also change the programs clauderon runs on the host to start the container (set it in the image, or in a lifecycle command)"
    )
}

/// `create --print` flags, `--flag=value` so no value passes for a flag.
/// `env` values go through the child's environment (`--env KEY` only), the
/// prompt through its stdin (`--prompt-file=-`, `child::run_until`'s input):
/// in no process list, and with no limit of argv's (128 KiB an argument).
fn create_flags(
    agent: Option<&str>,
    backend: BackendKind,
    e: &EngineOptions,
    env: &[(String, String)],
) -> Vec<String> {
    let mut args = vec!["create".to_string(), "--json".into(), "--print".into()];
    let mut flag = |name: &str, value: &str| args.push(format!("--{name}={value}"));
    flag("prompt-file", "-");
    flag("backend", backend.as_str());
    let optional = [
        ("agent", agent.map(String::from)),
        ("image", e.image.clone()),
        ("memory-limit", e.memory.clone()),
        ("cpu-limit", e.cpus.clone()),
        ("cpu-shares", e.cpu_shares.map(|n| n.to_string())),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            flag(name, &v);
        }
    }
    let lists = [
        ("on-create", &e.lifecycle.on_create_command),
        ("post-start", &e.lifecycle.post_start),
    ];
    for (name, values) in lists {
        for v in values {
            flag(name, v);
        }
    }
    for (key, _) in env {
        flag("env", key);
    }
    args
}

impl Validated {
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    pub fn resume_target(&self) -> Option<Target> {
        self.target.clone()
    }

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
