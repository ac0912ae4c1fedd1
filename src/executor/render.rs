//! How a plan is printed for `--dry-run`: each step as the shell command
//! (or heredoc) that does the same, quoted so it can be pasted.

use std::path::Path;

use crate::exec::Cmd;
use crate::plan::Step;
use crate::store::Home;

impl Step {
    pub fn render(&self) -> String {
        match self {
            Step::Run { cmd, .. } | Step::RunWithLogs { cmd, .. } => {
                format!("{}\n", with_stdin(cmd, render_command(cmd)))
            }
            Step::WaitOnCreate { root, status, .. } => {
                format!(
                    "# wait for the on-create commands to finish (until {} says ok)\n",
                    quote_path(&root.join(status))
                )
            }
            Step::VerifyStarted { state, .. } => {
                format!(
                    "# check that it is still running a moment later: {}\n",
                    state.shown()
                )
            }
            Step::Interactive { cmd, .. } => format!("{}\n", render_command(cmd)),
            Step::Poll {
                cmd, what, timeout, ..
            } => format!(
                "# wait (at most {} s) for {what}, polling: {}\n",
                timeout.as_secs(),
                cmd.shown()
            ),
            Step::StartDaemon {
                home,
                port,
                exact_port,
            } => render_daemon_start(home, *port, *exact_port),
            Step::StopDaemon { pid, .. } => {
                format!("kill -TERM {pid}  # then wait until it has exited\n")
            }
            Step::ComposeHosts {
                containers, path, ..
            } => format!(
                "# check that every service started and write their addresses to {} (in place), from: {}\n",
                quote_path(path),
                crate::backend::compose::podman::inspect(containers).shown()
            ),
            Step::RotateCa { home, .. } => format!(
                "# make a new CA key and certificate, replacing {} and {} (in place), and rebuild the containers' trust bundle {}\n",
                quote_path(&crate::proxy::ca::key_path(home)),
                quote_path(&crate::proxy::ca::cert_path(home)),
                quote_path(&crate::proxy::ca::bundle_path(home))
            ),
            _ => self.render_file_step(),
        }
    }

    /// The steps that only touch files and directories, as shell.
    fn render_file_step(&self) -> String {
        match self {
            Step::Mkdir {
                path,
                mode,
                exclusive,
            } => match (exclusive, path.parent()) {
                // Exclusive: the parents may be made, the directory itself must be new.
                (true, Some(parent)) => format!(
                    "mkdir -p {} && mkdir -m {mode:04o} {}\n",
                    quote_path(parent),
                    quote_path(path)
                ),
                _ => format!("mkdir -p -m {mode:04o} {}\n", quote_path(path)),
            },
            Step::WriteFile {
                path,
                contents,
                mode,
                secret,
            } => render_write(path, contents, *mode, *secret),
            Step::MkdirBelow {
                root,
                relative,
                mode,
            } => format!(
                "mkdir -p -m {mode:04o} {}\n",
                quote_path(&root.join(relative))
            ),
            Step::RemoveBelow { root, relative } => {
                format!("rm -f {}\n", quote_path(&root.join(relative)))
            }
            Step::AppendFile { path, contents } => {
                let text = String::from_utf8_lossy(contents);
                format!(
                    "printf '%s' {} >> {}\n",
                    shell_words::quote(&text),
                    quote_path(path)
                )
            }
            Step::RemoveDir { path } => format!("rm -rf {}\n", quote_path(path)),
            Step::CopyUploads { files, dir, .. } => render_copies(files, dir),
            Step::CopyFiles { files, .. } => render_file_copies(files),
            Step::Poll {
                cmd, what, timeout, ..
            } => format!(
                "# wait (at most {} s) for {what}, polling: {}\n",
                timeout.as_secs(),
                cmd.shown()
            ),
            Step::ForgetWorktree {
                common_dir,
                worktree,
            } => render_forget(common_dir, worktree),
            other => unreachable!("not a file step: {other:?}"),
        }
    }
}

/// The daemon's start as a pasteable background command, then the wait.
fn render_daemon_start(home: &Home, port: u16, exact_port: bool) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "clauderon".into());
    let mut argv = vec![exe, "daemon".into(), "--http-port".into(), port.to_string()];
    if !exact_port {
        argv.push("--any-port-if-busy".into());
    }
    format!(
        "CLAUDERON_HOME={} {} >> {} 2>&1 &  # then wait until it answers\n",
        quote_path(&home.root),
        shell_words::join(&argv),
        quote_path(&crate::daemon::log_path(home))
    )
}

fn render_forget(common_dir: &Path, worktree: &Path) -> String {
    match crate::worktree::registration(common_dir, worktree) {
        Some(reg) => format!("rm -rf {}\n", quote_path(&reg)),
        None => format!(
            "# remove git's registration of {} from {}/worktrees, if any (no git runs)\n",
            quote_path(worktree),
            quote_path(common_dir)
        ),
    }
}

/// Each copy, after a `mkdir -p` of a directory the step makes for it (a
/// subdirectory of the first file's, which an earlier step made): the run
/// makes them, so the shown commands work when pasted.
fn render_file_copies(files: &[(std::path::PathBuf, std::path::PathBuf)]) -> String {
    let mut made: Vec<&Path> = files
        .first()
        .and_then(|(_, to)| to.parent())
        .into_iter()
        .collect();
    let mut out = String::new();
    for (from, to) in files {
        if let Some(parent) = to.parent().filter(|p| !made.contains(p)) {
            out.push_str(&format!("mkdir -p -- {}\n", quote_path(parent)));
            made.push(parent);
        }
        out.push_str(&format!("cp -- {} {}\n", quote_path(from), quote_path(to)));
    }
    out
}

fn quote_path(path: &Path) -> String {
    shell_words::quote(&path.to_string_lossy()).into_owned()
}

/// Long commands are broken before each flag so a dry-run stays readable;
/// the result is still one pasteable shell command.
fn render_command(cmd: &Cmd) -> String {
    let one_line = cmd.shown();
    if one_line.len() <= 100 {
        return one_line;
    }
    let mut env = Cmd {
        argv: vec![],
        ..cmd.clone()
    }
    .shown();
    let mut out = String::new();
    if !env.trim().is_empty() {
        env = env.trim().to_string();
        out.push_str(&env);
        out.push(' ');
    }
    let mut line = String::new();
    for (i, arg) in cmd.argv.iter().enumerate() {
        let quoted = shell_words::quote(arg);
        if i > 1 && arg.starts_with('-') && !line.is_empty() {
            out.push_str(line.trim_end());
            out.push_str(" \\\n    ");
            line.clear();
        }
        line.push_str(&quoted);
        line.push(' ');
    }
    out.push_str(line.trim_end());
    out
}

/// A command that reads stdin gets it as a here-document (the shown text,
/// with its secrets already replaced).
pub fn with_stdin(cmd: &Cmd, line: String) -> String {
    let Some(input) = &cmd.stdin else {
        return line;
    };
    let delimiter = "CLAUDERON_EOF";
    let mut text = input.shown.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if text.lines().any(|l| l == delimiter) {
        return format!("printf '%s' {} | {line}", shell_words::quote(&input.shown));
    }
    format!("{line} <<'{delimiter}'\n{text}{delimiter}")
}

fn render_write(path: &Path, contents: &[u8], mode: u32, secret: bool) -> String {
    let p = quote_path(path);
    if secret {
        return format!(
            "# write {p} (mode {mode:04o}, {} bytes; not shown: it holds secrets)\n",
            contents.len()
        );
    }
    let text = String::from_utf8_lossy(contents);
    let delimiter = "CLAUDERON_EOF";
    let body = if text.ends_with('\n') && !text.lines().any(|l| l == delimiter) {
        format!("cat > {p} <<'{delimiter}'\n{text}{delimiter}\n")
    } else {
        format!("printf '%s' {} > {p}\n", shell_words::quote(&text))
    };
    format!("{body}chmod {mode:04o} {p}\n")
}

/// Uploads as `cp` lines (the real copy stages them and renames them in).
fn render_copies(files: &[crate::plan::UploadSource], dir: &Path) -> String {
    files
        .iter()
        .map(|f| {
            let to = dir.join(&f.name);
            format!("cp -- {} {}\n", quote_path(&f.path), quote_path(&to))
        })
        .collect()
}
