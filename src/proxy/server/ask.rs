//! The host policy of one connection: the home's (live from config.toml)
//! with the session's own on top; in `ask` mode a host outside it is held
//! for `clauderon approve` (see `crate::proxy::approvals`).

use super::*;
use crate::proxy::approvals::Outcome;
use crate::proxy::rules::host_matches;
use crate::proxy::session_policy::SessionPolicy;

impl Proxy {
    /// Ok(named) if `host` may be reached (named: the user wrote it exactly,
    /// which lets it resolve to a private address), else why not.
    pub(super) async fn check_policy(
        &self,
        session: &str,
        host: &str,
        pinned: bool,
    ) -> Result<bool, String> {
        let applied = self.live.current();
        let policy = &applied.policy;
        let own = self
            .tokens
            .facts(session)
            .map(|f| f.policy.clone())
            .unwrap_or_default();
        let named = policy.named_exactly(host) || own.named_exactly(host);
        let Err(why) = own.check(policy, session, host, pinned) else {
            return Ok(named);
        };
        if self.in_cluster {
            return Err(policy.in_cluster_refusal(host));
        }
        let asks = own.asks() || self.settings.ask_unknown;
        if !asks || denied(&own, &policy.deny_hosts, host) {
            return Err(why);
        }
        let decide = || self.decide_again(session, host, pinned);
        let timeout = self.settings.approval_timeout;
        match self
            .waiting
            .hold(&self.home, session, host, timeout, decide)
            .await
        {
            Outcome::Allowed => Ok(named),
            Outcome::Refused(why) => Err(why),
        }
    }

    /// A held request's policy as it is now (the record and config.toml
    /// read again): allowed, denied, or still nothing said.
    fn decide_again(&self, session: &str, host: &str, pinned: bool) -> Option<Outcome> {
        let own = self
            .home
            .load(session)
            .map(|s| s.policy)
            .unwrap_or_default();
        let applied = self.live.current();
        let policy = &applied.policy;
        match own.check(policy, session, host, pinned) {
            Ok(()) => Some(Outcome::Allowed),
            Err(why) if denied(&own, &policy.deny_hosts, host) => Some(Outcome::Refused(why)),
            Err(_) => None,
        }
    }
}

/// Refused by name (the session's or the home's deny list), not merely unknown.
fn denied(own: &SessionPolicy, home_denied: &[String], host: &str) -> bool {
    own.deny_hosts
        .iter()
        .chain(home_denied)
        .any(|p| host_matches(p, host))
}
