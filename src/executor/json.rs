//! `--dry-run --json`: a plan as data for scripts. Each step has its kind,
//! its fields (argv as an array, files with their contents), the same shell
//! text the plain dry run prints, and its undo and cleanup steps. Secrets are
//! redacted exactly as in the text: secret env values and secret files are
//! never included.

use serde_json::{Value, json};

use crate::exec::{Cmd, EnvValue};
use crate::plan::{Plan, Step};

impl Plan {
    /// `what` is the command, e.g. `stop web`.
    pub fn to_json(&self, what: &str) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|p| {
                let mut v = p.step.to_json();
                v["undo"] = p.undo.iter().map(Step::to_json).collect();
                v["on_failure"] = p.on_failure.iter().map(Step::to_json).collect();
                v
            })
            .collect();
        json!({
            "command": format!("clauderon {what}"),
            "dry_run": true,
            "notes": self.notes,
            "steps": steps,
        })
    }
}

fn cmd_json(cmd: &Cmd) -> Value {
    let env: Vec<Value> = cmd
        .env
        .iter()
        .map(|(name, value)| match value {
            EnvValue::Plain(v) => json!({"name": name, "value": v}),
            EnvValue::Secret(_) => json!({"name": name, "secret": true}),
            EnvValue::Unset => json!({"name": name, "unset": true}),
        })
        .collect();
    // Stdin as the dry run shows it: its secrets already replaced.
    let stdin = cmd.stdin.as_ref().map(|input| input.shown.clone());
    json!({"argv": cmd.argv, "env": env, "stdin": stdin})
}

fn path(p: &std::path::Path) -> Value {
    Value::String(p.to_string_lossy().into_owned())
}

fn mode(m: u32) -> Value {
    Value::String(format!("{m:04o}"))
}

impl Step {
    pub fn to_json(&self) -> Value {
        let mut v = self.fields();
        v["shell"] = Value::String(self.render());
        v
    }

    /// The kind and the fields of a step, no secret among them.
    fn fields(&self) -> Value {
        match self {
            Step::Run { cmd, .. } | Step::RunWithLogs { cmd, .. } => {
                json!({"kind": "run", "command": cmd_json(cmd)})
            }
            Step::Interactive { cmd, .. } => {
                json!({"kind": "interactive", "command": cmd_json(cmd)})
            }
            Step::Mkdir {
                path: p,
                mode: m,
                exclusive,
            } => {
                json!({"kind": "mkdir", "path": path(p), "mode": mode(*m), "exclusive": exclusive})
            }
            Step::WriteFile {
                path: p,
                contents,
                mode: m,
                secret,
            } => json!({
                "kind": "write_file", "path": path(p), "mode": mode(*m), "bytes": contents.len(),
                "secret": secret,
                "contents": (!secret).then(|| String::from_utf8_lossy(contents).into_owned()),
            }),
            Step::AppendFile { path: p, contents } => json!({
                "kind": "append_file", "path": path(p),
                "contents": String::from_utf8_lossy(contents),
            }),
            Step::MkdirBelow {
                root,
                relative,
                mode: m,
            } => {
                json!({"kind": "mkdir_below", "path": path(&root.join(relative)), "mode": mode(*m)})
            }
            Step::RemoveBelow { root, relative } => {
                json!({"kind": "remove_file", "path": path(&root.join(relative))})
            }
            Step::RemoveDir { path: p } => json!({"kind": "remove_dir", "path": path(p)}),
            Step::ForgetWorktree {
                common_dir,
                worktree,
            } => {
                json!({"kind": "forget_worktree", "git_dir": path(common_dir), "worktree": path(worktree)})
            }
            Step::VerifyStarted { state, .. } => {
                json!({"kind": "verify_started", "check": cmd_json(state)})
            }
            Step::WaitOnCreate { timeout, state, .. } => json!({
                "kind": "wait_on_create", "timeout_secs": timeout.as_secs(), "check": cmd_json(state),
            }),
            Step::Poll {
                cmd, what, timeout, ..
            } => json!({
                "kind": "poll", "what": what, "timeout_secs": timeout.as_secs(), "check": cmd_json(cmd),
            }),
            _ => self.daemon_fields(),
        }
    }

    /// The daemon's, the CA's and the uploads' steps, and the check that
    /// writes a podman-compose project's hosts file.
    fn daemon_fields(&self) -> Value {
        match self {
            step @ Step::CopyUploads { .. } => copy_json(step),
            Step::CopyFiles { files, max_bytes } => {
                let files: Vec<Value> = files
                    .iter()
                    .map(|(from, to)| json!({"from": path(from), "to": path(to)}))
                    .collect();
                json!({"kind": "copy_files", "max_bytes": max_bytes, "files": files})
            }
            Step::StartDaemon {
                home,
                port,
                exact_port,
            } => {
                json!({"kind": "start_daemon", "home": path(&home.root), "port": port, "exact_port": exact_port})
            }
            Step::StopDaemon { home, pid } => {
                json!({"kind": "stop_daemon", "home": path(&home.root), "pid": pid})
            }
            Step::RotateCa { home, extra_ca } => json!({
                "kind": "rotate_ca", "home": path(&home.root),
                "upstream_ca_file": extra_ca.as_deref().map(path),
            }),
            Step::ComposeHosts {
                containers,
                path: p,
                ..
            } => json!({
                "kind": "compose_hosts", "path": path(p),
                "command": cmd_json(&crate::backend::compose::podman::inspect(containers)),
            }),
            other => unreachable!("not a daemon step: {other:?}"),
        }
    }
}

/// A copy of uploads: where from, under which names, into which directory.
fn copy_json(step: &Step) -> Value {
    let Step::CopyUploads {
        files,
        dir,
        max_bytes,
    } = step
    else {
        unreachable!("not a copy: {step:?}")
    };
    let files: Vec<Value> = files
        .iter()
        .map(|f| json!({"from": path(&f.path), "name": f.name}))
        .collect();
    json!({"kind": "copy_uploads", "dir": path(dir), "max_bytes": max_bytes, "files": files})
}
