//! The clauderon home (`~/.clauderon`, or `$CLAUDERON_HOME`) and the session
//! records in it. Records are written atomically; the session directory is
//! created exclusively, which is what makes a session name taken.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::session::SessionSpec;

#[derive(Clone, Debug)]
pub struct Home {
    pub root: PathBuf,
}

/// Files a session mounts into its container, read-only, at this path.
pub const CONTAINER_SESSION_DIR: &str = "/etc/clauderon/session";

impl Home {
    /// `$CLAUDERON_HOME`, else `~/.clauderon`.
    pub fn from_env() -> Result<Home> {
        if let Some(dir) = std::env::var_os("CLAUDERON_HOME").filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            let dir = if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir()
                    .map_err(|e| Error::io("could not read the current directory", e))?
                    .join(dir)
            };
            return Ok(Home { root: dir });
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                Error::input("neither CLAUDERON_HOME nor HOME is set")
                    .with_fix("set HOME, or CLAUDERON_HOME to the directory clauderon should use")
            })?;
        Ok(Home {
            root: PathBuf::from(home).join(".clauderon"),
        })
    }

    /// Creates the home if needed, readable by the user only (it holds
    /// tokens, the proxy CA key, audit and event logs).
    pub fn ensure(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.root.join("sessions")
    }

    pub fn session_dir(&self, name: &str) -> PathBuf {
        self.sessions_dir().join(name)
    }

    /// Holds the session's lock for as long as the returned file lives, so
    /// two commands never change one session at once (a delete during its
    /// create, two refreshes). The lock file lives outside the session
    /// directory, which delete removes; the kernel drops the lock with the
    /// process.
    pub fn lock_session(&self, name: &str) -> Result<std::fs::File> {
        let dir = self.root.join("locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("could not create {}", dir.display()), e))?;
        let path = dir.join(format!("{name}.lock"));
        let file = std::fs::File::create(&path)
            .map_err(|e| Error::io(format!("could not open {}", path.display()), e))?;
        if file.try_lock().is_err() {
            return Err(Error::new(
                crate::error::ErrorKind::Locked,
                format!("another clauderon command is changing session '{name}' right now"),
            )
            .with_fix("wait for it to finish, then try again"));
        }
        Ok(file)
    }

    pub fn record_path(&self, name: &str) -> PathBuf {
        self.session_dir(name).join("session.json")
    }

    /// Files mounted into the container (entrypoint, prompt, agent config).
    pub fn container_files_dir(&self, name: &str) -> PathBuf {
        self.session_dir(name).join("container")
    }

    pub fn worktree_path(&self, name: &str) -> PathBuf {
        self.root.join("worktrees").join(name)
    }

    /// The record of one session; a clear error if there is none.
    pub fn load(&self, name: &str) -> Result<SessionSpec> {
        // The name becomes a path: never let `..`, `/` or "" through.
        crate::session::validate_name(name).map_err(|_| {
            Error::not_found(format!("no session named {name:?}"))
                .with_fix("`clauderon list` shows the sessions")
        })?;
        let path = self.record_path(name);
        match std::fs::read(&path) {
            Ok(bytes) => parse_record(&path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.session_dir(name).exists() {
                    Err(Error::failed(format!(
                        "session '{name}' is incomplete (its creation was interrupted)"
                    ))
                    .with_fix(format!("clauderon delete --force {name}")))
                } else {
                    let fix = match self.closest_name(name) {
                        Some(c) => {
                            format!("did you mean {c}? (`clauderon list` shows the sessions)")
                        }
                        None => "`clauderon list` shows the sessions".to_string(),
                    };
                    Err(Error::not_found(format!("no session named '{name}'")).with_fix(fix))
                }
            }
            Err(e) => Err(Error::io(format!("could not read {}", path.display()), e)),
        }
    }

    /// All records, sorted by creation time, plus the names of session
    /// directories whose record is missing (interrupted creates).
    /// The session name most like `name` (a typo, a missing letter), if
    /// one is close enough to suggest.
    pub fn closest_name(&self, name: &str) -> Option<String> {
        let entries = std::fs::read_dir(self.sessions_dir()).ok()?;
        entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .map(|n| (strsim::jaro_winkler(name, &n), n))
            .filter(|(score, _)| *score >= 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, n)| n)
    }

    pub fn load_all(&self) -> Result<(Vec<SessionSpec>, Vec<String>)> {
        let dir = self.sessions_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], vec![])),
            Err(e) => return Err(Error::io(format!("could not read {}", dir.display()), e)),
        };
        let mut specs = Vec::new();
        let mut incomplete = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.path().is_dir() {
                continue;
            }
            let record = entry.path().join("session.json");
            match std::fs::read(&record).map(|b| parse_record(&record, &b)) {
                Ok(Ok(spec)) => specs.push(spec),
                // One broken record must not hide every other session.
                Ok(Err(e)) => {
                    eprintln!("clauderon: warning: {}", e.message);
                    incomplete.push(name);
                }
                Err(_) => incomplete.push(name),
            }
        }
        specs.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
        incomplete.sort();
        Ok((specs, incomplete))
    }
}

fn parse_record(path: &Path, bytes: &[u8]) -> Result<SessionSpec> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::failed(format!(
            "{} is not a valid session record: {e}",
            path.display()
        ))
    })
}

pub fn record_bytes(spec: &SessionSpec) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(spec).expect("a session spec serializes");
    bytes.push(b'\n');
    bytes
}

/// Engines that may hold a container of this home with no session record:
/// `delete --force` could not remove it (the engine did not answer). `list`
/// asks only the engines its sessions use (its speed bar is one `ps` per
/// engine in use), so a marked engine is asked too until it answers with
/// no such container left. One empty file per engine: `leftovers/<engine>`.
impl Home {
    fn leftover_marker(&self, kind: crate::session::BackendKind) -> PathBuf {
        self.root.join("leftovers").join(kind.as_str())
    }

    /// Marks `kind` as holding a leftover container.
    pub fn mark_leftover(&self, kind: crate::session::BackendKind) -> Result<()> {
        let path = self.leftover_marker(kind);
        let dir = self.root.join("leftovers");
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, b""))
            .map_err(|e| Error::io(format!("could not write {}", path.display()), e))
    }

    pub fn leftover_marked(&self, kind: crate::session::BackendKind) -> bool {
        self.leftover_marker(kind).is_file()
    }

    /// `kind` answered and holds no leftover of this home any more.
    pub fn clear_leftover(&self, kind: crate::session::BackendKind) {
        let _ = std::fs::remove_file(self.leftover_marker(kind));
    }
}
