//! `config show`'s `[api]` rows: where the API listens, how many runs at
//! once, its webhooks, and where runs' volumes may come from.

use serde_json::json;

use super::Table;
use crate::config::Config;

impl Config {
    pub(super) fn api_settings(&self, t: &mut Table) {
        let listen = self.api_listen.as_ref().map(|l| l.to_string());
        t.add_or(
            "api",
            "listen",
            json!(listen),
            "(off)",
            t.src(listen.is_none()),
        );
        let runs = self.api_max_runs;
        let default_runs = crate::api::settings::DEFAULT_MAX_RUNS;
        t.add(
            "api",
            "max_concurrent_runs",
            json!(runs),
            t.src(runs == default_runs),
        );
        let hooks = &self.api_webhooks;
        t.add(
            "api",
            "webhook_hosts",
            json!(hooks.hosts),
            t.src(hooks.hosts.is_empty()),
        );
        // Never its value: it signs the callbacks.
        let secret = hooks.secret.as_ref().map(|_| "(set)");
        t.add_or(
            "api",
            "webhook_secret",
            json!(secret),
            "(none)",
            t.src(secret.is_none()),
        );
        let roots = &self.api_volume_roots;
        t.add_or(
            "api",
            "allowed_volume_roots",
            json!((!roots.is_empty()).then_some(roots)),
            "(none: a run mounts no volume but its repository)",
            t.src(roots.is_empty()),
        );
    }
}
