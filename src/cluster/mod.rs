//! The in-cluster daemon's side of Kubernetes sessions that the host shares:
//! the session key that makes each session's token, where the daemon
//! keeps hook events, and the statuses `list` asks it for.
//!
//! The in-cluster daemon has no session records (they live on the host),
//! so it cannot look a token up. Instead a session's token is derived:
//! `<id>.<HMAC-SHA256(key, name, id)>`, made by the host at create with the
//! namespace's key, which the daemon reads from its Secret. The daemon
//! checks a token by computing it again: nothing is registered, and a
//! session is usable the moment its pod starts.

pub mod keys;
pub mod statuses;

use std::sync::Arc;

use crate::error::{Error, Result};

/// How the daemon checks a session's token: against the session's record
/// on disk (the host daemon), or by deriving it (the in-cluster daemon).
#[derive(Clone)]
pub enum Auth {
    Records,
    Derived(Arc<SessionKey>),
}

/// The namespace's key for session tokens (32 random bytes, hex).
pub struct SessionKey {
    key: ring::hmac::Key,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SessionKey {
    pub fn from_hex(text: &str) -> Result<SessionKey> {
        let text = text.trim();
        let valid = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(Error::failed("the session key is not 64 hex digits")
                .with_fix("`clauderon kube setup` writes the daemon's Secret again"));
        }
        Ok(SessionKey {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, text.as_bytes()),
        })
    }

    /// A new random key, as the hex text kept on the host and in the Secret.
    pub fn generate_hex() -> String {
        hex(&crate::ids::random_bytes(32))
    }

    fn mac(&self, name: &str, id: &str) -> ring::hmac::Tag {
        // NUL cannot occur in a name or an id, so the message is unambiguous.
        let message = format!("clauderon session token\0{name}\0{id}");
        ring::hmac::sign(&self.key, message.as_bytes())
    }

    /// The token of session `name` with id `id`.
    pub fn token(&self, name: &str, id: &str) -> String {
        format!("{id}.{}", hex(self.mac(name, id).as_ref()))
    }

    /// The session id in `token`, if it is the token of session `name`.
    pub fn verify(&self, name: &str, token: &str) -> Option<String> {
        crate::session::validate_name(name).ok()?;
        let (id, _) = token.split_once('.')?;
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        {
            return None;
        }
        let expected = self.token(name, id);
        crate::ids::constant_time_eq(expected.as_bytes(), token.as_bytes()).then(|| id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_valid_for_its_own_session_only() {
        let key = SessionKey::from_hex(&SessionKey::generate_hex()).unwrap();
        let other = SessionKey::from_hex(&SessionKey::generate_hex()).unwrap();
        let id = "00000000-0000-4000-8000-000000000000";
        let token = key.token("s1", id);
        assert_eq!(key.verify("s1", &token).as_deref(), Some(id));
        assert_eq!(key.verify("s2", &token), None, "another name");
        assert_eq!(other.verify("s1", &token), None, "another key");
        let forged = format!(
            "11111111-0000-4000-8000-000000000000.{}",
            &token[id.len() + 1..]
        );
        assert_eq!(key.verify("s1", &forged), None, "another id");
        assert_eq!(key.verify("../s1", &token), None);
        assert_eq!(key.verify("s1", ""), None);
        assert!(SessionKey::from_hex("zz").is_err());
    }
}
