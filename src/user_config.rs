//! The user's own agent configuration, copied into each session without
//! the user's secrets: Claude Code's `CLAUDE.md`, skills, commands, agents,
//! output styles and `settings.json` (credential-looking `env` entries,
//! `hooks` and credential helpers removed); Codex's `AGENTS.md` and
//! prompts. The copy is the session's own directory, outside the worktree
//! (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`), so the repository's `.claude/` and
//! `AGENTS.md` stay project-level beside it and nothing reaches the host's.

use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::Step;
use crate::session::Agent;

// The spec's part: what a session records of the user's configuration.
pub use crate::spec::user_config::Record;

/// Where the session's copy is mounted (read-write: the agent's own state
/// lives there too, its transcripts and `.claude.json`).
pub const CLAUDE_DIR: &str = "/clauderon/claude";
pub const CODEX_DIR: &str = "/clauderon/codex";

/// Names never copied, wherever they are.
const NEVER: [&str; 7] = [
    ".credentials.json",
    "auth.json",
    "history.jsonl",
    "history",
    "projects",
    "sessions",
    ".claude.json",
];

/// The copy `create` makes: the files, and `settings.json` as filtered.
#[derive(Clone, Debug, Default)]
pub struct Gathered {
    pub record: Record,
    pub copies: Vec<(PathBuf, PathBuf)>,
    pub settings: Option<Vec<u8>>,
    pub max_bytes: u64,
}

/// The session's copy on the host (under its session directory, removed
/// with it), and the agent's part of it.
pub fn host_dir(home: &crate::store::Home, name: &str, agent: Agent) -> PathBuf {
    home.session_dir(name)
        .join("agent-config")
        .join(agent.as_str())
}

pub fn container_dir(agent: Agent) -> &'static str {
    match agent {
        Agent::Claude => CLAUDE_DIR,
        Agent::Codex => CODEX_DIR,
    }
}

/// The user's configuration directory for `agent` on this machine: the
/// agent's own variable (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`) or `~/.claude`, `~/.codex`.
pub fn source_dir(agent: Agent) -> Option<PathBuf> {
    let (var, default) = match agent {
        Agent::Claude => ("CLAUDE_CONFIG_DIR", ".claude"),
        Agent::Codex => ("CODEX_HOME", ".codex"),
    };
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("HOME").map(|h| Path::new(&h).join(default)),
    }
}

/// The items each agent reads from its user-level directory.
fn items(agent: Agent) -> &'static [&'static str] {
    match agent {
        Agent::Claude => &["CLAUDE.md", "skills", "commands", "agents", "output-styles"],
        Agent::Codex => &["AGENTS.md", "prompts"],
    }
}

/// Reads what will be copied from `from` into `dest` (nothing is written).
pub fn gather(agent: Agent, from: &Path, dest: &Path, max_bytes: u64) -> Result<Gathered> {
    let mut g = Gathered {
        record: Record {
            from: from.to_path_buf(),
            ..Record::default()
        },
        max_bytes,
        ..Gathered::default()
    };
    let Ok(root) = std::fs::canonicalize(from) else {
        return Ok(g);
    };
    for item in items(agent) {
        let before = g.copies.len();
        walk(&root, Path::new(item), dest, &mut g);
        let n = g.copies.len() - before;
        if n == 1 && !root.join(item).is_dir() {
            g.record.brought.push((*item).to_string());
        } else if n > 0 {
            g.record.brought.push(format!(
                "{item}/ ({n} file{})",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    if agent == Agent::Claude {
        settings(&root, &mut g);
    }
    for never in [".credentials.json", "auth.json"] {
        if root.join(never).exists() {
            g.record.left_out.push(format!(
                "{never}: never copied (your login stays on this machine)"
            ));
        }
    }
    Ok(g)
}

/// One file or directory of the configuration, links resolved; what
/// resolves outside the directory, or is too large, is left out.
fn walk(root: &Path, rel: &Path, dest: &Path, g: &mut Gathered) {
    let path = root.join(rel);
    let shown = rel.display();
    if rel
        .file_name()
        .is_some_and(|n| NEVER.iter().any(|x| n == *x))
    {
        g.record.left_out.push(format!("{shown}: never copied"));
        return;
    }
    let Ok(real) = std::fs::canonicalize(&path) else {
        return;
    };
    if !real.starts_with(root) {
        g.record.left_out.push(format!(
            "{shown}: a link to {}, outside {}",
            real.display(),
            root.display()
        ));
        return;
    }
    let Ok(meta) = std::fs::metadata(&real) else {
        return;
    };
    if meta.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(&real)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        names.sort();
        for name in names {
            walk(root, &rel.join(name), dest, g);
        }
    } else if !meta.is_file() {
        g.record
            .left_out
            .push(format!("{shown}: not a regular file"));
    } else if meta.len() > g.max_bytes {
        g.record.left_out.push(format!(
            "{shown}: {} bytes, over [agent] user_config_max_bytes ({})",
            meta.len(),
            g.max_bytes
        ));
    } else {
        g.copies.push((real, dest.join(rel)));
    }
}

/// Keys of settings.json that run programs on the user's machine or hand
/// out credentials: left out.
const HOST_PROGRAMS: [&str; 5] = [
    "hooks",
    "apiKeyHelper",
    "awsAuthRefresh",
    "awsCredentialExport",
    "otelHeadersHelper",
];

/// `settings.json`, without what names host programs or holds credentials.
fn settings(root: &Path, g: &mut Gathered) {
    let path = root.join("settings.json");
    let Ok(meta) = std::fs::metadata(&path) else {
        return;
    };
    let inside = std::fs::canonicalize(&path).is_ok_and(|p| p.starts_with(root));
    let parsed = (inside && meta.is_file() && meta.len() <= g.max_bytes)
        .then(|| std::fs::read(&path).ok())
        .flatten()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let Some(serde_json::Value::Object(mut map)) = parsed else {
        g.record.left_out.push(
            "settings.json: not read (a link outside, too large, or not a JSON object)".into(),
        );
        return;
    };
    for key in HOST_PROGRAMS {
        if map.remove(key).is_some() {
            g.record.left_out.push(format!(
                "settings.json `{key}`: left out (it runs programs on your machine)"
            ));
        }
    }
    if let Some(serde_json::Value::Object(env)) = map.get_mut("env") {
        let secret: Vec<String> = env
            .iter()
            .filter(|(k, v)| {
                crate::session::looks_secret(k)
                    || v.as_str().is_some_and(crate::session::carries_credential)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in secret {
            env.remove(&key);
            g.record.left_out.push(format!(
                "settings.json env {key}: removed (it looks like a credential)"
            ));
        }
    }
    let mut bytes =
        serde_json::to_vec_pretty(&serde_json::Value::Object(map)).expect("json serializes");
    bytes.push(b'\n');
    g.settings = Some(bytes);
    g.record.brought.push("settings.json".into());
}

/// The steps that make the session's copy.
pub fn steps(g: &Gathered, dir: &Path) -> Vec<Step> {
    let mut steps = vec![Step::Mkdir {
        path: dir.to_path_buf(),
        mode: 0o700,
        exclusive: false,
    }];
    if !g.copies.is_empty() {
        steps.push(Step::CopyFiles {
            files: g.copies.clone(),
            max_bytes: g.max_bytes,
        });
    }
    if let Some(settings) = &g.settings {
        steps.push(Step::WriteFile {
            path: dir.join("settings.json"),
            contents: settings.clone(),
            mode: 0o644,
            secret: false,
        });
    }
    steps
}

/// Copies each file, checked again as it is opened: a regular file (no
/// link followed), within `max_bytes`; its directories are made.
pub fn copy(files: &[(PathBuf, PathBuf)], max_bytes: u64) -> Result<()> {
    for (from, to) in files {
        let fail = |e| Error::io(format!("could not copy {}", from.display()), e);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(crate::safe_fs::O_NOFOLLOW | crate::safe_fs::O_NONBLOCK)
            .open(from)
            .map_err(fail)?;
        let meta = file.metadata().map_err(fail)?;
        if !meta.is_file() || meta.len() > max_bytes {
            return Err(Error::input(format!(
                "{} changed since it was checked (no longer a regular file within {max_bytes} bytes)",
                from.display()
            )));
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(crate::safe_fs::O_NOFOLLOW)
            .open(to)
            .map_err(|e| Error::io(format!("could not write {}", to.display()), e))?;
        std::io::copy(&mut file.take(max_bytes + 1), &mut out).map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path, files: &[(&str, &str)]) {
        for (path, body) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
    }

    #[test]
    fn claude_items_without_secrets_links_out_or_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join(".claude");
        tree(
            &c,
            &[
                ("CLAUDE.md", "be brief"),
                ("skills/a/SKILL.md", "skill"),
                ("skills/a/.credentials.json", "x"),
                ("commands/big.md", &"x".repeat(100)),
                ("projects/p/t.jsonl", "history"),
                (".credentials.json", "login"),
                (
                    "settings.json",
                    r#"{"env":{"GH_TOKEN":"x","A":"sk-live","EDITOR":"vi"},"hooks":{},"model":"m"}"#,
                ),
            ],
        );
        std::os::unix::fs::symlink(dir.path(), c.join("agents")).unwrap();
        let g = gather(Agent::Claude, &c, Path::new("/dest"), 90).unwrap();
        let to: Vec<_> = g
            .copies
            .iter()
            .map(|(_, to)| to.display().to_string())
            .collect();
        assert_eq!(to, ["/dest/CLAUDE.md", "/dest/skills/a/SKILL.md"]);
        let settings: serde_json::Value =
            serde_json::from_slice(g.settings.as_ref().unwrap()).unwrap();
        assert_eq!(
            settings,
            serde_json::json!({"env": {"EDITOR": "vi"}, "model": "m"})
        );
        let left = g.record.left_out.join("\n");
        for expected in [
            "commands/big.md: 100 bytes",
            "agents: a link to",
            "skills/a/.credentials.json: never",
            "GH_TOKEN",
            "env A",
            "`hooks`",
        ] {
            assert!(left.contains(expected), "{expected}: {left}");
        }
        assert_eq!(
            g.record.brought,
            ["CLAUDE.md", "skills/ (1 file)", "settings.json"]
        );
    }

    #[test]
    fn codex_brings_agents_md_and_prompts_only() {
        let dir = tempfile::tempdir().unwrap();
        tree(
            dir.path(),
            &[
                ("AGENTS.md", "a"),
                ("prompts/p.md", "p"),
                ("auth.json", "k"),
                ("config.toml", "x"),
            ],
        );
        let g = gather(Agent::Codex, dir.path(), Path::new("/d"), 1000).unwrap();
        assert_eq!(g.record.brought, ["AGENTS.md", "prompts/ (1 file)"]);
        assert!(g.record.left_out.iter().any(|l| l.starts_with("auth.json")));
        assert!(g.settings.is_none());
        let none = gather(
            Agent::Codex,
            &dir.path().join("missing"),
            Path::new("/d"),
            1,
        )
        .unwrap();
        assert!(none.copies.is_empty() && none.record.brought.is_empty());
    }
}
