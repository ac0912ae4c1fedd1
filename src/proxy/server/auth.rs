//! The session a proxy request comes from: `Proxy-Authorization: Basic
//! session:token`, checked against that session's record on disk as it is
//! now. A record's token is remembered while its file is unchanged (same
//! device, inode, size, modification and change times), so a CONNECT costs
//! one stat instead of a read and a parse of the record; a rewritten record
//! is read again, and a removed one is refused and forgotten. In the
//! cluster, the token is checked by deriving it again (`crate::cluster`).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

use crate::ids::constant_time_eq;
use crate::store::Home;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// What the proxy needs of a session's record besides its token: the
/// branch its pushes may reach, the remote its GitHub credential opens and
/// the session's own host policy.
#[derive(Debug)]
pub(super) struct SessionFacts {
    pub branch: String,
    pub remote_url: Option<String>,
    pub policy: crate::proxy::session_policy::SessionPolicy,
}

/// What the proxy keeps of a session's record while its file is unchanged:
/// its token, its MCP servers (their rules, and where to see they are
/// still configured), its budget and its facts.
#[derive(Clone, Default)]
pub(super) struct Known {
    token: String,
    pub(super) mcp: std::sync::Arc<crate::mcp::SessionRules>,
    budget: Option<crate::usd::Usd>,
    facts: Option<std::sync::Arc<SessionFacts>>,
}

#[derive(Default)]
pub(super) struct Tokens {
    known: Mutex<HashMap<String, (Stamp, Known)>>,
    /// In the cluster there are no records: tokens are derived.
    derived: Option<std::sync::Arc<crate::cluster::SessionKey>>,
}

impl Tokens {
    pub(super) fn derived(key: std::sync::Arc<crate::cluster::SessionKey>) -> Tokens {
        Tokens {
            derived: Some(key),
            ..Tokens::default()
        }
    }

    /// Does `token` match the hook token in session `name`'s record (or,
    /// in the cluster, the token derived for that name)?
    pub(super) fn check(&self, home: &Home, name: &str, token: &str) -> bool {
        if let Some(key) = &self.derived {
            return key.verify(name, token).is_some();
        }
        self.current(home, name)
            .is_some_and(|k| matches(&k.token, token))
    }

    /// The session's budget as its record says now (`clauderon budget`
    /// rewrites the record: one stat tells).
    pub(super) fn budget(&self, home: &Home, name: &str) -> Option<crate::usd::Usd> {
        if self.derived.is_some() {
            return None;
        }
        self.current(home, name)?.budget
    }

    fn current(&self, home: &Home, name: &str) -> Option<Known> {
        if crate::session::validate_name(name).is_err() {
            return None;
        }
        let Ok(meta) = std::fs::metadata(home.record_path(name)) else {
            self.lock().remove(name);
            return None;
        };
        let stamp = Stamp::of(&meta);
        if let Some((known, k)) = self.lock().get(name)
            && *known == stamp
        {
            return Some(k.clone());
        }
        // Read with the lock released; the stamp taken before the read, so
        // a record rewritten meanwhile is read again next time.
        let spec = home.load(name).ok()?;
        let facts = SessionFacts {
            branch: spec.branch.clone(),
            remote_url: spec.remote_url.clone(),
            policy: spec.policy.clone(),
        };
        let known = Known {
            mcp: std::sync::Arc::new(crate::mcp::SessionRules::of(&spec)),
            budget: spec.budget_usd,
            facts: Some(std::sync::Arc::new(facts)),
            token: spec.hook_token,
        };
        self.lock().insert(name.to_string(), (stamp, known.clone()));
        Some(known)
    }

    /// The MCP rules of a session `check` has let in (none in the cluster).
    pub(super) fn mcp(&self, name: &str) -> std::sync::Arc<crate::mcp::SessionRules> {
        self.lock()
            .get(name)
            .map(|(_, k)| std::sync::Arc::clone(&k.mcp))
            .unwrap_or_default()
    }

    /// The facts of a session whose token `check` accepted (none in the
    /// cluster, where there are no records).
    pub(super) fn facts(&self, name: &str) -> Option<std::sync::Arc<SessionFacts>> {
        self.lock().get(name).and_then(|(_, k)| k.facts.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Stamp, Known)>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn matches(expected: &str, token: &str) -> bool {
    !expected.is_empty() && constant_time_eq(expected.as_bytes(), token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_record(home: &Home, name: &str, token: &str) {
        std::fs::create_dir_all(home.session_dir(name)).unwrap();
        let record = serde_json::json!({
            "name": name, "id": "b", "backend": "docker", "agent": "claude", "image": "x",
            "pull_policy": "never", "limits": {"cpu": null, "memory": null}, "env": [],
            "prompt": "p", "repo_root": "/", "git_common_dir": "/", "subdir": "", "base": "HEAD",
            "branch": name, "worktree": "/", "uid": 0, "gid": 0,
            "git_identity": {"name": null, "email": null}, "created_at": 0, "hook_token": token
        });
        // Written as the store writes records: a new file renamed over the old.
        let tmp = home.session_dir(name).join("session.json.tmp");
        std::fs::write(&tmp, record.to_string()).unwrap();
        std::fs::rename(&tmp, home.record_path(name)).unwrap();
    }

    #[test]
    fn a_rewritten_or_removed_record_is_never_answered_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home {
            root: dir.path().to_path_buf(),
        };
        let tokens = Tokens::default();
        write_record(&home, "s", "old");
        assert!(tokens.check(&home, "s", "old"));
        assert!(tokens.check(&home, "s", "old"));
        assert!(!tokens.check(&home, "s", "wrong"));
        write_record(&home, "s", "new");
        assert!(!tokens.check(&home, "s", "old"));
        assert!(tokens.check(&home, "s", "new"));
        std::fs::remove_dir_all(home.session_dir("s")).unwrap();
        assert!(!tokens.check(&home, "s", "new"));
        write_record(&home, "e", "");
        assert!(!tokens.check(&home, "e", ""));
        assert!(!tokens.check(&home, "../s", "new"));
    }
}
