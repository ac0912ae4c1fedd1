//! Where the proxy reads the real secrets from: environment variables (in
//! the cluster, the files of the daemon's Secret), files, or commands (a
//! password manager), whose outputs are kept briefly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::rules::Source;

/// A command's argv -> when it ran and what it printed (None: it failed).
type CommandCache = HashMap<Vec<String>, (Instant, Option<String>)>;

/// Reads secrets; command outputs are kept briefly so a password manager is
/// not asked for every request.
pub struct Secrets {
    cache: Mutex<CommandCache>,
    /// In the cluster: environment-variable sources are files here (the
    /// daemon's Secret, mounted), read each time, so an updated Secret
    /// counts without a restart.
    env_dir: Option<std::path::PathBuf>,
}

const COMMAND_TTL: Duration = Duration::from_secs(30);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for Secrets {
    fn default() -> Self {
        Secrets {
            cache: Mutex::new(HashMap::new()),
            env_dir: None,
        }
    }
}

impl Secrets {
    pub fn from_dir(dir: std::path::PathBuf) -> Secrets {
        Secrets {
            env_dir: Some(dir),
            ..Secrets::default()
        }
    }

    pub fn read(&self, source: &Source) -> Option<String> {
        let value = match (source, &self.env_dir) {
            (Source::Env(vars), Some(dir)) => vars
                .iter()
                .find_map(|v| std::fs::read_to_string(dir.join(v)).ok()),
            (Source::Env(vars), None) => vars.iter().find_map(|v| std::env::var(v).ok()),
            (Source::File(path), _) => std::fs::read_to_string(path).ok(),
            (Source::Command(argv), _) => self.command(argv),
            (
                Source::McpHeader {
                    file,
                    server,
                    header,
                },
                _,
            ) => crate::mcp::header_value(file, server, header),
        }?;
        let value = value.trim().to_string();
        (!value.is_empty()).then_some(value)
    }

    /// A command's output, cached for a while (failures too, briefly, so a
    /// broken password manager is not hammered). The lock is not held while
    /// the command runs, and a command gets COMMAND_TIMEOUT at most.
    fn command(&self, argv: &[String]) -> Option<String> {
        if let Some((at, v)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(argv)
            && at.elapsed() < COMMAND_TTL
        {
            return v.clone();
        }
        let value = crate::proxy::command::run_with_timeout(argv, COMMAND_TIMEOUT);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(argv.to_vec(), (Instant::now(), value.clone()));
        value
    }
}
