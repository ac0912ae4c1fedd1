//! The parts of `[proxy]` the daemon applies live: the host policy
//! (`policy`, `allow_hosts`, `deny_hosts`), `[proxy.github]` and the
//! `[[proxy.rules]]` (their secrets still come from the daemon's
//! environment, files or commands, as at start). When
//! config.toml changes (checked at most once a second, on use) it is read
//! again; a file that does not parse, or whose `[proxy]` is invalid, keeps
//! the previous values, and the error goes to the daemon's log.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::proxy::github::GithubScope;
use crate::proxy::policy::Policy;
use crate::proxy::rules::Rule;
use crate::proxy::settings::ProxySection;

const RECHECK: Duration = Duration::from_secs(1);

/// What the proxy applies now.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub policy: Policy,
    pub github: GithubScope,
    /// The built-in rules, then `[[proxy.rules]]`.
    pub rules: Arc<Vec<Rule>>,
}

/// The built-in credential rules, then the configured ones.
fn all_rules(configured: &[Rule]) -> Arc<Vec<Rule>> {
    let mut rules = crate::proxy::rules::builtin_rules();
    rules.extend(configured.iter().cloned());
    Arc::new(rules)
}

pub struct LiveSettings {
    /// None: nothing to reload (the in-cluster daemon reads no file).
    path: Option<PathBuf>,
    state: Mutex<State>,
}

struct State {
    checked: Instant,
    stamp: Option<(SystemTime, u64)>,
    applied: Arc<Applied>,
}

impl LiveSettings {
    pub fn new(path: Option<PathBuf>, initial: Applied) -> LiveSettings {
        let stamp = path.as_deref().and_then(stamp);
        LiveSettings {
            path,
            state: Mutex::new(State {
                checked: Instant::now(),
                stamp,
                applied: Arc::new(initial),
            }),
        }
    }

    /// The daemon's: config.toml of `home`, starting from `settings`.
    pub fn for_home(
        home: &crate::store::Home,
        settings: &crate::proxy::settings::ProxySettings,
    ) -> LiveSettings {
        let applied = Applied {
            policy: settings.policy.clone(),
            github: settings.github.clone(),
            rules: all_rules(&settings.rules),
        };
        LiveSettings::new(Some(home.root.join("config.toml")), applied)
    }

    /// These settings as they are now, never read again (the in-cluster
    /// daemon reads no config.toml).
    pub fn fixed(&self) -> LiveSettings {
        LiveSettings::new(None, (*self.current()).clone())
    }

    /// The settings to apply, read again if the file changed.
    pub fn current(&self) -> Arc<Applied> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(path) = &self.path else {
            return Arc::clone(&state.applied);
        };
        if state.checked.elapsed() < RECHECK {
            return Arc::clone(&state.applied);
        }
        state.checked = Instant::now();
        let now = stamp(path);
        if now == state.stamp {
            return Arc::clone(&state.applied);
        }
        state.stamp = now;
        match read(path) {
            Ok(applied) => {
                eprintln!(
                    "clauderon daemon: {} changed: the proxy policy is now {:?} (allow {:?}, deny {:?}), with {} credential rules",
                    path.display(),
                    applied.policy.preset.as_str(),
                    applied.policy.allow_hosts,
                    applied.policy.deny_hosts,
                    applied.rules.len()
                );
                state.applied = Arc::new(applied);
            }
            Err(why) => eprintln!(
                "clauderon daemon: error: {} changed but is invalid ({why}); the proxy keeps its previous policy until the file is fixed",
                path.display()
            ),
        }
        Arc::clone(&state.applied)
    }
}

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// `[proxy]` of the file at `path` (a missing file: the defaults).
pub fn read(path: &std::path::Path) -> Result<Applied, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    read_text(&text)
}

/// `[proxy]` of a config file's text.
pub fn read_text(text: &str) -> Result<Applied, String> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let section: ProxySection = match table.remove("proxy") {
        Some(value) => value
            .try_into()
            .map_err(|e: toml::de::Error| format!("[proxy]: {}", e.message()))?,
        None => ProxySection::default(),
    };
    let settings = section
        .settings()
        .map_err(|(key, message)| format!("{key}: {message}"))?;
    Ok(Applied {
        rules: all_rules(&settings.rules),
        policy: settings.policy,
        github: settings.github,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_applies_and_an_invalid_one_keeps_the_old_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[proxy]\nallow_hosts = [\"a.test\"]\n").unwrap();
        let live = LiveSettings::new(Some(path.clone()), read(&path).unwrap());
        assert_eq!(live.current().policy.allow_hosts, ["a.test"]);
        let wait = || std::thread::sleep(RECHECK + Duration::from_millis(50));
        std::fs::write(&path, "[proxy]\nallow_hosts = [\"a.test\", \"b.test\"]\n").unwrap();
        wait();
        assert_eq!(live.current().policy.allow_hosts, ["a.test", "b.test"]);
        std::fs::write(&path, "[proxy]\nallow_hosts = [\"not a host\"]\n").unwrap();
        wait();
        assert_eq!(live.current().policy.allow_hosts, ["a.test", "b.test"]);
        std::fs::write(&path, "[proxy\n").unwrap();
        wait();
        assert_eq!(live.current().policy.allow_hosts, ["a.test", "b.test"]);
        std::fs::write(
            &path,
            "[proxy]\ndeny_hosts = [\"c.test\"]\n[proxy.github]\nscope = \"account\"\n",
        )
        .unwrap();
        wait();
        let now = live.current();
        assert!(now.policy.allow_hosts.is_empty() && now.github.account);
    }
}
