//! `[api]` in config.toml: where the daemon serves the HTTP API (off unless
//! `listen` is set).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    listen: Option<String>,
    max_concurrent_runs: Option<usize>,
    #[serde(default)]
    webhook_hosts: Vec<String>,
    webhook_secret: Option<String>,
    /// Where a run's extra `volumes` (and a session's `mount`) may come
    /// from; empty: none.
    #[serde(default)]
    allowed_volume_roots: Vec<String>,
}

/// Where `POST /run/async` may call back (`[api] webhook_hosts`, exact host
/// names), and the key of the HMAC-SHA256 signature it sends.
#[derive(Clone, Debug, Default)]
pub struct Webhooks {
    pub hosts: Vec<String>,
    pub secret: Option<String>,
}

/// Where the API listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    /// `unix:/path`: a socket, reachable by whoever may open the path.
    Unix(PathBuf),
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(addr) => write!(f, "{addr}"),
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// `POST /run`s at once unless `[api] max_concurrent_runs` says otherwise.
pub const DEFAULT_MAX_RUNS: usize = 4;

impl ApiSection {
    pub fn webhooks(&self) -> Result<Webhooks, (String, String)> {
        if let Some(bad) = self
            .webhook_hosts
            .iter()
            .find(|h| h.is_empty() || h.contains(['/', ':', ' ']))
        {
            return Err((
                "api.webhook_hosts".into(),
                format!("{bad:?} is not a host name (no scheme, port or path)"),
            ));
        }
        if self.webhook_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err((
                "api.webhook_secret".into(),
                "use at least 16 characters".into(),
            ));
        }
        Ok(Webhooks {
            hosts: self
                .webhook_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            secret: self.webhook_secret.clone(),
        })
    }

    /// `[api] allowed_volume_roots`, as written (`~/` allowed).
    pub fn volume_roots(&self) -> Result<Vec<String>, (String, String)> {
        crate::mounts::check_roots("api.allowed_volume_roots", &self.allowed_volume_roots)?;
        Ok(self.allowed_volume_roots.clone())
    }

    pub fn max_runs(&self) -> Result<usize, (String, String)> {
        match self.max_concurrent_runs {
            Some(0) => Err((
                "api.max_concurrent_runs".into(),
                "must be at least 1".into(),
            )),
            Some(n) => Ok(n),
            None => Ok(DEFAULT_MAX_RUNS),
        }
    }

    pub fn listen(&self) -> Result<Option<Listen>, (String, String)> {
        let Some(text) = self.listen.as_deref().map(str::trim) else {
            return Ok(None);
        };
        let bad = |m: String| ("api.listen".to_string(), m);
        if let Some(path) = text.strip_prefix("unix:") {
            if !path.starts_with('/') {
                return Err(bad(format!(
                    "{text:?}: a socket needs an absolute path, e.g. unix:/run/user/1000/clauderon-api.sock"
                )));
            }
            return Ok(Some(Listen::Unix(PathBuf::from(path))));
        }
        // `localhost` is loopback (127.0.0.1), not whatever a resolver says.
        let text = match text.strip_prefix("localhost:") {
            Some(port) => format!("127.0.0.1:{port}"),
            None => text.to_string(),
        };
        // An address and a port, written out: 0.0.0.0 only when written so.
        text.parse::<SocketAddr>()
            .map(|a| Some(Listen::Tcp(a)))
            .map_err(|_| {
                bad(format!(
                    "{text:?} is not address:port or unix:/path (e.g. \"127.0.0.1:8080\")"
                ))
            })
    }
}

impl Listen {
    /// The socket the daemon serves the API on. A Unix socket replaces only
    /// a stale socket at that path (never another file) and is made 0600;
    /// its directory is left as it is.
    pub fn bind(&self) -> std::io::Result<crate::serve::Listening> {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        match self {
            Listen::Tcp(addr) => {
                std::net::TcpListener::bind(addr).map(crate::serve::Listening::Tcp)
            }
            Listen::Unix(path) => {
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if !meta.file_type().is_socket() {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::AlreadyExists,
                            format!("{} exists and is not a socket", path.display()),
                        ));
                    }
                    // A socket someone answers on is another daemon's API.
                    if std::os::unix::net::UnixStream::connect(path).is_ok() {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::AddrInUse,
                            format!("another process serves {}", path.display()),
                        ));
                    }
                    std::fs::remove_file(path)?;
                }
                let listener = std::os::unix::net::UnixListener::bind(path)?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                Ok(crate::serve::Listening::Unix(listener))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(text: &str) -> Result<Option<Listen>, (String, String)> {
        ApiSection {
            listen: Some(text.into()),
            ..Default::default()
        }
        .listen()
    }

    #[test]
    fn listen_takes_an_address_localhost_or_a_socket_and_names_the_key_otherwise() {
        let tcp = |a: &str| Ok(Some(Listen::Tcp(a.parse().unwrap())));
        assert_eq!(listen("127.0.0.1:8080"), tcp("127.0.0.1:8080"));
        assert_eq!(listen("localhost:8080"), tcp("127.0.0.1:8080"));
        assert_eq!(listen("[::1]:9"), tcp("[::1]:9"));
        assert_eq!(
            listen("unix:/run/api.sock"),
            Ok(Some(Listen::Unix("/run/api.sock".into())))
        );
        for bad in ["8080", "localhost", "example.com:80", "unix:relative"] {
            assert_eq!(listen(bad).unwrap_err().0, "api.listen", "{bad}");
        }
    }
}
