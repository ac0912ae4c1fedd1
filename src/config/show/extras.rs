//! `config show`'s rows for what sessions get beyond the container:
//! uploads, extra mounts, the Talos config, notifications, budgets and prices.

use serde_json::json;

use super::Table;
use crate::config::Config;

impl Config {
    pub(super) fn extras_settings(&self, t: &mut Table) {
        let max = self.uploads_max_bytes;
        let src = t.src(max == crate::uploads::DEFAULT_MAX_BYTES);
        t.add("uploads", "max_bytes", json!(max), src);
        let m = &self.mounts;
        let src = t.src(m.allowed_roots.is_empty());
        t.add_or(
            "mounts",
            "allowed_roots",
            json!((!m.allowed_roots.is_empty()).then_some(&m.allowed_roots)),
            "(none: every --mount is refused)",
            src,
        );
        let src = t.src(m.allow_secret_stores.is_empty());
        t.add_or(
            "mounts",
            "allow_secret_stores",
            json!((!m.allow_secret_stores.is_empty()).then_some(&m.allow_secret_stores)),
            "(none)",
            src,
        );
        let src = t.src(self.talos.config.is_none());
        t.add_or(
            "talos",
            "config",
            json!(self.talos.config),
            "(none: not mounted)",
            src,
        );
        self.notify_settings(t);
        self.books_settings(t);
    }

    /// `[budget]` and `[pricing]` (the shipped prices are in docs/usage.md).
    fn books_settings(&self, t: &mut Table) {
        let b = &self.budget;
        for (key, value) in [("session_usd", b.session_usd), ("daily_usd", b.daily_usd)] {
            let src = t.src(value.is_none());
            t.add_or("budget", key, json!(value), "(none: not limited)", src);
        }
        for (model, price) in &self.prices.overrides {
            let src = t.src(false);
            t.add("pricing", model, json!(price), src);
        }
    }

    fn notify_settings(&self, t: &mut Table) {
        let n = &self.notify;
        let src = t.src(n.command.is_empty());
        let command = (!n.command.is_empty()).then_some(&n.command);
        t.add_or(
            "notify",
            "command",
            json!(command),
            "(none: no notifications)",
            src,
        );
        t.add("notify", "bell", json!(n.bell), t.src(!n.bell));
        let d = n.debounce().as_secs();
        let src = t.src(n.debounce_secs.is_none());
        t.add("notify", "debounce_secs", json!(d), src);
        let src = t.src(n.timeout_secs.is_none());
        t.add("notify", "timeout_secs", json!(n.timeout().as_secs()), src);
    }
}
