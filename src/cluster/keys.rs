//! The host's copy of what a namespace's in-cluster daemon holds: its own
//! proxy CA (key and certificate) and the session key, made once per
//! context and namespace under `~/.clauderon/kube/<label>/` and shipped in
//! the daemon's Secret. The CA is not the host daemon's: whoever can read
//! Secrets in that namespace gets this key, and must not be able to
//! intercept the host's Docker and Podman sessions with it.

use std::path::{Path, PathBuf};

use super::SessionKey;
use crate::error::{Error, Result};
use crate::proxy::ca;
use crate::store::Home;

/// What the daemon's Secret carries besides the credentials.
#[derive(Clone, Debug)]
pub struct ClusterKeys {
    pub session_key: String,
    pub ca_pem: String,
    pub ca_key_pem: String,
    /// System roots + upstream CA + this CA: what agent pods trust.
    pub ca_bundle: String,
}

/// The directory of one context and namespace (a hash: a context name
/// may hold `/` or spaces).
pub fn dir(home: &Home, context: &str, namespace: &str) -> PathBuf {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{context}\0{namespace}").as_bytes(),
    );
    let label: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    home.root.join("kube").join(label)
}

fn key_path(dir: &Path) -> PathBuf {
    dir.join("session-key")
}

/// The keys, made now if they do not exist yet (a CA, a session key).
pub fn load_or_create(
    home: &Home,
    context: &str,
    namespace: &str,
    upstream_ca: Option<&Path>,
) -> Result<ClusterKeys> {
    let dir = dir(home, context, namespace);
    let kube_home = Home { root: dir.clone() };
    if !ca::cert_path(&kube_home).exists() || !ca::key_path(&kube_home).exists() {
        ca::generate(&kube_home)?;
    }
    ca::write_bundle(&kube_home, upstream_ca)?;
    if !key_path(&dir).exists() {
        let text = format!("{}\n", SessionKey::generate_hex());
        crate::plan::write_atomic(&key_path(&dir), text.as_bytes(), 0o600)?;
    }
    load(home, context, namespace).ok_or_else(|| {
        Error::failed(format!(
            "could not read the cluster keys in {}",
            dir.display()
        ))
    })
}

/// The keys if they exist (a dry run makes nothing).
pub fn load(home: &Home, context: &str, namespace: &str) -> Option<ClusterKeys> {
    let dir = dir(home, context, namespace);
    let kube_home = Home { root: dir.clone() };
    let read = |p: PathBuf| std::fs::read_to_string(p).ok();
    Some(ClusterKeys {
        session_key: read(key_path(&dir))?.trim().to_string(),
        ca_pem: read(ca::cert_path(&kube_home))?,
        ca_key_pem: read(ca::key_path(&kube_home))?,
        ca_bundle: read(ca::bundle_path(&kube_home))?,
    })
}

impl ClusterKeys {
    pub fn key(&self) -> Result<SessionKey> {
        SessionKey::from_hex(&self.session_key)
    }
}
