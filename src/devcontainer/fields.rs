//! devcontainer.json's fields, mapped onto what `create` already knows:
//! an image (or a build), a compose file and service, lifecycle commands,
//! environment and mounts. Every field clauderon does not honour gets one
//! line saying so; none is run on the host.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// A Dockerfile build (`build`, or the older top-level `dockerFile`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSpec {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub args: Vec<(String, String)>,
    pub target: Option<String>,
}

/// What the file asks for, checked, with the lines for what is left out.
#[derive(Debug, Default)]
pub struct Settings {
    pub image: Option<String>,
    pub build: Option<BuildSpec>,
    pub compose_files: Vec<PathBuf>,
    pub service: Option<String>,
    pub on_create: Vec<String>,
    pub post_start: Vec<String>,
    pub env: Vec<(String, String)>,
    /// In `--mount` syntax, so `--mount`'s rules check them.
    pub mounts: Vec<String>,
    pub cpus: Option<String>,
    pub memory: Option<String>,
    pub notes: Vec<String>,
}

/// Where the file's relative paths and variables resolve.
pub struct Base<'a> {
    pub repo_root: &'a Path,
    /// The directory holding devcontainer.json.
    pub dir: &'a Path,
}

/// Why each well-known field is left out.
fn unsupported_reason(key: &str) -> &'static str {
    match key {
        "initializeCommand" => {
            "it runs on the host in the spec, and clauderon never runs repository code on the host: not run"
        }
        "features" => "features are not installed: put what they add in the image or a Dockerfile",
        "forwardPorts" | "appPort" | "portsAttributes" | "otherPortsAttributes" => {
            "no port of a session is published to the host"
        }
        "remoteUser" | "containerUser" | "updateRemoteUserUID" => "the agent runs as your user id",
        "workspaceFolder" | "workspaceMount" => "the agent works in /workspace",
        "customizations" | "extensions" | "settings" => "editor settings do not apply to the agent",
        "updateContentCommand" | "postAttachCommand" => {
            "only onCreateCommand, postCreateCommand and postStartCommand run"
        }
        "name" | "$schema" => "a name for editors; sessions have their own",
        _ => "clauderon does not support it",
    }
}

pub fn read(json: &Value, base: &Base) -> Result<Settings> {
    let mut s = Settings::default();
    let Value::Object(map) = json else {
        return Err(Error::input(
            "devcontainer.json: the top level must be an object",
        ));
    };
    for (key, value) in map {
        read_field(&mut s, key, value, map, base)?;
    }
    check_shape(&s)?;
    Ok(s)
}

fn read_field(
    s: &mut Settings,
    key: &str,
    value: &Value,
    map: &serde_json::Map<String, Value>,
    base: &Base,
) -> Result<()> {
    match key {
        "image" => s.image = Some(string(key, value)?),
        "build" => s.build = Some(build(value, base)?),
        // The spec's first form: `dockerFile` beside an optional `context`.
        "dockerFile" => {
            let mut legacy = serde_json::json!({ "dockerfile": value });
            if let Some(context) = map.get("context") {
                legacy["context"] = context.clone();
            }
            s.build = Some(build(&legacy, base)?);
        }
        // (read with dockerFile)
        "context" if map.contains_key("dockerFile") => {}
        "dockerComposeFile" => s.compose_files = compose_files(value, base)?,
        "service" => s.service = Some(string(key, value)?),
        "onCreateCommand" | "postCreateCommand" => s.on_create.extend(commands(key, value)?),
        "postStartCommand" => s.post_start.extend(commands(key, value)?),
        "containerEnv" | "remoteEnv" => env(s, key, value)?,
        "mounts" => mounts(s, value, base)?,
        "runArgs" => super::run_args::read(s, value, base)?,
        _ => s.notes.push(format!(
            "devcontainer.json: `{key}` is not supported ({}); left out",
            unsupported_reason(key)
        )),
    }
    Ok(())
}

fn check_shape(s: &Settings) -> Result<()> {
    let ways = [
        s.image.is_some(),
        s.build.is_some(),
        !s.compose_files.is_empty(),
    ];
    match ways.iter().filter(|w| **w).count() {
        1 => {}
        0 => {
            return Err(Error::input(
                "devcontainer.json names no image: give `image`, `build.dockerfile` or `dockerComposeFile`",
            )
            .with_fix("add one of them, or pass --image (or --no-devcontainer)"));
        }
        _ => {
            return Err(Error::input(
                "devcontainer.json gives more than one of `image`, `build` and `dockerComposeFile`",
            )
            .with_fix("keep one of them"));
        }
    }
    if !s.compose_files.is_empty() && s.service.is_none() {
        return Err(Error::input(
            "devcontainer.json: `dockerComposeFile` needs `service`, the service the agent runs in",
        )
        .with_fix("add \"service\": \"<name>\""));
    }
    Ok(())
}

pub(super) fn string(key: &str, value: &Value) -> Result<String> {
    match value.as_str() {
        Some(s) if !s.contains('\0') => Ok(s.to_string()),
        _ => Err(Error::input(format!(
            "devcontainer.json: `{key}` must be a string"
        ))),
    }
}

/// A path the file names, relative to its directory; it must stay in the
/// repository (the engine reads what it names).
pub(super) fn path_in_repo(key: &str, rel: &str, base: &Base) -> Result<PathBuf> {
    let joined = base.dir.join(expand(key, rel, base)?);
    let real = std::fs::canonicalize(&joined).map_err(|e| {
        Error::input(format!("devcontainer.json: `{key}` {rel:?}: {e}"))
            .with_fix("name a file or directory of the repository")
    })?;
    let root = std::fs::canonicalize(base.repo_root)
        .map_err(|e| Error::io(base.repo_root.display(), e))?;
    if !real.starts_with(&root) {
        return Err(Error::input(format!(
            "devcontainer.json: `{key}` {rel:?} is outside the repository ({})",
            real.display()
        ))
        .with_fix("keep the build inputs inside the repository"));
    }
    Ok(real)
}

/// The spec's variables that have a meaning here; any other is refused.
pub(super) fn expand(key: &str, text: &str, base: &Base) -> Result<String> {
    let home = std::env::var("HOME").unwrap_or_default();
    let user_profile = std::env::var("USERPROFILE").unwrap_or_default();
    let root = base.repo_root.to_string_lossy();
    let out = text
        .replace("${localWorkspaceFolder}", &root)
        .replace("${localEnv:HOME}", &home)
        // Windows' home: unset here (empty, as the spec expands an unset
        // variable), so `${localEnv:HOME}${localEnv:USERPROFILE}` works.
        .replace("${localEnv:USERPROFILE}", &user_profile)
        .replace("${env:HOME}", &home)
        .replace("${containerWorkspaceFolder}", "/workspace");
    if let Some(start) = out.find("${") {
        let var: String = out[start..].chars().take_while(|c| *c != '}').collect();
        return Err(Error::input(format!(
            "devcontainer.json: `{key}` uses {var}}}, which clauderon does not expand"
        ))
        .with_fix("write the value out, or pass --no-devcontainer"));
    }
    Ok(out)
}

fn build(value: &Value, base: &Base) -> Result<BuildSpec> {
    let Value::Object(b) = value else {
        return Err(Error::input("devcontainer.json: `build` must be an object"));
    };
    let dockerfile = string(
        "build.dockerfile",
        b.get("dockerfile").unwrap_or(&Value::Null),
    )?;
    let context = match b.get("context") {
        Some(c) => string("build.context", c)?,
        None => ".".into(),
    };
    let mut spec = BuildSpec {
        dockerfile: path_in_repo("build.dockerfile", &dockerfile, base)?,
        context: path_in_repo("build.context", &context, base)?,
        args: Vec::new(),
        target: b
            .get("target")
            .map(|t| string("build.target", t))
            .transpose()?,
    };
    if let Some(Value::Object(args)) = b.get("args") {
        for (k, v) in args {
            let v = expand(
                &format!("build.args.{k}"),
                &string(&format!("build.args.{k}"), v)?,
                base,
            )?;
            check_env_pair("build.args", k, &v)?;
            spec.args.push((k.clone(), v));
        }
    }
    if let Some(extra) = b
        .keys()
        .find(|k| !["dockerfile", "context", "args", "target"].contains(&k.as_str()))
    {
        return Err(Error::input(format!(
            "devcontainer.json: `build.{extra}` is not supported"
        ))
        .with_fix("remove it: clauderon builds with dockerfile, context, args and target only"));
    }
    Ok(spec)
}

fn compose_files(value: &Value, base: &Base) -> Result<Vec<PathBuf>> {
    let names = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| string("dockerComposeFile", i))
            .collect::<Result<_>>()?,
        _ => {
            return Err(Error::input(
                "devcontainer.json: `dockerComposeFile` must be a string or a list",
            ));
        }
    };
    names
        .iter()
        .map(|n| path_in_repo("dockerComposeFile", n, base))
        .collect()
}

/// A lifecycle command in any of the spec's three forms: a string (run by
/// a shell), a list (one command, no shell: quoted here for bash), or an
/// object of named commands (the spec runs them in parallel; here, in order).
fn commands(key: &str, value: &Value) -> Result<Vec<String>> {
    let one = |v: &Value| -> Result<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Array(items) => {
                let argv = items
                    .iter()
                    .map(|i| string(key, i))
                    .collect::<Result<Vec<_>>>()?;
                Ok(shell_words::join(argv))
            }
            _ => Err(Error::input(format!(
                "devcontainer.json: `{key}` must be a string, a list or an object"
            ))),
        }
    };
    let list = match value {
        Value::Object(named) => named.values().map(one).collect::<Result<Vec<_>>>()?,
        other => vec![one(other)?],
    };
    if let Some(bad) = list
        .iter()
        .find(|c| c.trim().is_empty() || c.contains('\0'))
    {
        return Err(Error::input(format!(
            "devcontainer.json: `{key}` has an empty command {bad:?}"
        )));
    }
    Ok(list)
}

// Moved to `session`, where mcp and user_config (a layer below) read it too.
pub use crate::session::looks_like_token;

pub(super) fn check_env_pair(field: &str, key: &str, value: &str) -> Result<()> {
    let named_secret = crate::session::looks_secret(key)
        && !value.is_empty()
        && !value.starts_with(['/', '~', '.', '$']);
    if looks_like_token(value) || named_secret {
        return Err(Error::input(format!(
            "devcontainer.json: `{field}` {key} looks like a credential: a container holds only the proxy's placeholders"
        ))
        .with_fix(format!(
            "remove {key} from the file; give the real secret to the proxy ([[proxy.rules]] in config.toml), or pass --env {key} yourself"
        )));
    }
    Ok(())
}

fn env(s: &mut Settings, field: &str, value: &Value) -> Result<()> {
    let Value::Object(vars) = value else {
        return Err(Error::input(format!(
            "devcontainer.json: `{field}` must be an object"
        )));
    };
    for (key, v) in vars {
        let v = string(&format!("{field}.{key}"), v)?;
        if v.contains("${") {
            s.notes.push(format!(
                "devcontainer.json: `{field}` {key} uses a ${{...}} variable, which clauderon does not expand; left out"
            ));
            continue;
        }
        check_env_pair(field, key, &v)?;
        let (key, v) = crate::session::parse_env(&format!("{key}={v}"))
            .map_err(|e| e.context(format!("devcontainer.json: `{field}`")))?;
        if crate::session::reserved_env(&key) {
            return Err(Error::input(format!(
                "devcontainer.json: `{field}` sets {key}, which clauderon sets itself"
            ))
            .with_fix(format!(
                "remove {key} from the file, or pass --no-devcontainer"
            )));
        }
        s.env.push((key, v));
    }
    Ok(())
}

/// `mounts`, as `--mount` arguments: read-only, whatever the file says
/// (a repository does not get to open your files for writing; pass
/// `--mount SRC:DST:rw` yourself for that).
fn mounts(s: &mut Settings, value: &Value, base: &Base) -> Result<()> {
    let Value::Array(items) = value else {
        return Err(Error::input("devcontainer.json: `mounts` must be a list"));
    };
    items.iter().try_for_each(|item| mount_item(s, item, base))
}

/// One mount, `"source=..,target=..,type=bind"` or its object form.
pub(super) fn mount_item(s: &mut Settings, item: &Value, base: &Base) -> Result<()> {
    let fields: Vec<(String, String)> = match item {
        Value::String(text) => text
            .split(',')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                None => (kv.trim().to_string(), String::new()),
            })
            .collect(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => {
            return Err(Error::input(
                "devcontainer.json: each of `mounts` must be a string or an object",
            ));
        }
    };
    let get = |names: &[&str]| {
        fields
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
    };
    let kind = get(&["type"]).unwrap_or_else(|| "bind".into());
    let (Some(src), Some(dst)) = (
        get(&["source", "src"]),
        get(&["target", "dst", "destination"]),
    ) else {
        return Err(Error::input(format!(
            "devcontainer.json: a mount lacks source or target: {item}"
        )));
    };
    if kind != "bind" {
        s.notes.push(format!("devcontainer.json: the {kind} mount at {dst} is not supported (bind mounts only); left out"));
        return Ok(());
    }
    s.mounts
        .push(format!("{}:{dst}", expand("mounts", &src, base)?));
    Ok(())
}
