//! `config show`: every effective setting and where its value came from,
//! as one table that is printed as text or JSON.

use std::path::Path;

use serde_json::{Value, json};

use super::{Config, DEFAULT_CLI_IMAGE, DEFAULT_CODEX_CLI_IMAGE, Source};

mod api;
mod extras;

/// One effective setting.
pub struct Setting {
    pub section: &'static str,
    pub key: String,
    /// The value as data (null: unset).
    pub value: Value,
    /// How text output shows an unset value ("(no limit)").
    pub unset: &'static str,
    pub source: Source,
}

struct Table<'a> {
    rows: Vec<Setting>,
    file: &'a Path,
    /// The file as written, to tell a value set to its default from one
    /// not set at all.
    written: toml::Table,
}

impl Table<'_> {
    fn add(&mut self, section: &'static str, key: &str, value: Value, source: Source) {
        self.add_or(section, key, value, "", source);
    }

    fn add_or(
        &mut self,
        section: &'static str,
        key: &str,
        value: Value,
        unset: &'static str,
        source: Source,
    ) {
        let source = match source {
            Source::Default if self.written_in_file(section, key) => {
                Source::File(self.file.to_path_buf())
            }
            other => other,
        };
        self.rows.push(Setting {
            section,
            key: key.to_string(),
            value,
            unset,
            source,
        });
    }

    /// Is `section.key` in the file (`docker.limits` is a nested table)?
    fn written_in_file(&self, section: &str, key: &str) -> bool {
        let mut table = &self.written;
        for part in section.split('.') {
            match table.get(part).and_then(|v| v.as_table()) {
                Some(t) => table = t,
                None => return false,
            }
        }
        table.contains_key(key)
    }

    /// Settings read only from the file: the file when changed, else the default.
    fn src(&self, is_default: bool) -> Source {
        if is_default {
            Source::Default
        } else {
            Source::File(self.file.to_path_buf())
        }
    }
}

impl Config {
    /// Every effective setting, in the order `config show` prints them.
    pub fn settings(&self) -> Vec<Setting> {
        let written = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .unwrap_or_default();
        let mut t = Table {
            rows: Vec::new(),
            file: &self.path,
            written,
        };
        self.engine_settings(&mut t);
        self.agent_settings(&mut t);
        self.images_and_lifecycle(&mut t);
        self.isolation_settings(&mut t);
        self.proxy_settings(&mut t);
        self.kubernetes_settings(&mut t);
        self.compose_settings(&mut t);
        self.api_settings(&mut t);
        self.extras_settings(&mut t);
        t.rows
    }

    fn engine_settings(&self, t: &mut Table) {
        t.add(
            "docker",
            "default_image",
            json!(self.default_image.value),
            self.default_image.source.clone(),
        );
        t.add(
            "docker",
            "pull_policy",
            json!(self.pull_policy.value.as_str()),
            self.pull_policy.source.clone(),
        );
        let cpu = self.cpu.value.map(|c| c.docker());
        t.add_or(
            "docker.limits",
            "cpu",
            json!(cpu),
            "\"\"   (no limit)",
            self.cpu.source.clone(),
        );
        let memory = self.memory.value.map(|m| m.docker());
        t.add_or(
            "docker.limits",
            "memory",
            json!(memory),
            "\"\"   (no limit)",
            self.memory.source.clone(),
        );
        t.add(
            "daemon",
            "http_port",
            json!(self.http_port.value),
            self.http_port.source.clone(),
        );
        let podman = self.podman_default_image.is_none();
        t.add_or(
            "podman",
            "default_image",
            json!(self.podman_default_image),
            "(the [docker] one)",
            t.src(podman),
        );
    }

    fn agent_settings(&self, t: &mut Table) {
        let a = &self.agent;
        for (key, value, default) in [
            ("cli_image", &a.cli_image, DEFAULT_CLI_IMAGE),
            ("cli_image_tag", &a.cli_image_tag, "latest"),
            (
                "codex_cli_image",
                &a.codex_cli_image,
                DEFAULT_CODEX_CLI_IMAGE,
            ),
            ("codex_cli_image_tag", &a.codex_cli_image_tag, "latest"),
        ] {
            t.add("agent", key, json!(value), t.src(value == default));
        }
        let base = &a.codex_base_url;
        t.add_or(
            "agent",
            "codex_base_url",
            json!(base),
            "(api.openai.com)",
            t.src(base.is_none()),
        );
        for (key, on) in [
            ("auto_pull_cli", a.auto_pull_cli),
            ("mount_agent_cli", a.mount_agent_cli),
            ("user_config", a.user_config),
        ] {
            t.add("agent", key, json!(on), t.src(on));
        }
        let max = a.user_config_max_bytes;
        t.add(
            "agent",
            "user_config_max_bytes",
            json!(max),
            t.src(max == crate::config::DEFAULT_USER_CONFIG_MAX_BYTES),
        );
    }

    fn images_and_lifecycle(&self, t: &mut Table) {
        t.add(
            "images",
            "allowed_patterns",
            json!(self.allowed_images.value),
            self.allowed_images.source.clone(),
        );
        let l = &self.lifecycle;
        t.add(
            "lifecycle",
            "on_create",
            json!(l.on_create),
            t.src(l.on_create.is_empty()),
        );
        t.add(
            "lifecycle",
            "post_start",
            json!(l.post_start),
            t.src(l.post_start.is_empty()),
        );
        let timeout = l
            .on_create_timeout
            .unwrap_or(crate::session::DEFAULT_ON_CREATE_TIMEOUT);
        t.add(
            "lifecycle",
            "on_create_timeout",
            json!(timeout),
            t.src(l.on_create_timeout.is_none()),
        );
    }

    fn isolation_settings(&self, t: &mut Table) {
        t.add(
            "network",
            "mode",
            json!(self.network.value.as_str()),
            self.network.source.clone(),
        );
        let sec = &self.security;
        let d = crate::isolation::Security::default();
        t.add(
            "security",
            "cap_add",
            json!(sec.cap_add),
            t.src(sec.cap_add.is_empty()),
        );
        t.add(
            "security",
            "pids_limit",
            json!(sec.pids_limit),
            t.src(sec.pids_limit == d.pids_limit),
        );
        t.add(
            "security",
            "no_new_privileges",
            json!(sec.no_new_privileges),
            t.src(sec.no_new_privileges),
        );
    }

    fn proxy_settings(&self, t: &mut Table) {
        let p = &self.proxy;
        t.add("proxy", "enabled", json!(p.enabled), t.src(p.enabled));
        let default_port = crate::proxy::settings::DEFAULT_PROXY_PORT;
        t.add(
            "proxy",
            "port",
            json!(p.port),
            t.src(p.port == default_port),
        );
        let policy = &p.policy;
        let preset = policy.preset == crate::proxy::policy::Preset::default();
        t.add(
            "proxy",
            "policy",
            json!(policy.preset.as_str()),
            t.src(preset),
        );
        t.add(
            "proxy",
            "allow_hosts",
            json!(policy.allow_hosts),
            t.src(policy.allow_hosts.is_empty()),
        );
        t.add(
            "proxy",
            "deny_hosts",
            json!(policy.deny_hosts),
            t.src(policy.deny_hosts.is_empty()),
        );
        let ca = p.upstream_ca_file.as_ref().map(|f| f.display().to_string());
        t.add_or(
            "proxy",
            "upstream_ca_file",
            json!(ca),
            "(none)",
            t.src(ca.is_none()),
        );
        for (host, addr) in &p.resolve {
            t.add(
                "proxy",
                &format!("resolve.{host:?}"),
                json!(addr),
                t.src(false),
            );
        }
    }

    fn compose_settings(&self, t: &mut Table) {
        let c = &self.compose;
        let file = c.file.as_ref().map(|f| f.display().to_string());
        let src = t.src(file.is_none());
        t.add_or(
            "compose",
            "file",
            json!(file),
            "(none: sessions are single containers)",
            src,
        );
        let src = t.src(c.service.is_none());
        t.add_or(
            "compose",
            "service",
            json!(c.service),
            "(the first without ports:)",
            src,
        );
        t.add(
            "compose",
            "allow_ports",
            json!(c.allow_ports),
            t.src(!c.allow_ports),
        );
        t.add(
            "compose",
            "allow_build",
            json!(c.allow_build),
            t.src(!c.allow_build),
        );
    }

    fn kubernetes_settings(&self, t: &mut Table) {
        let k = &self.kubernetes;
        let d = super::KubernetesSettings::default();
        let s = "kubernetes";
        let context = "(kubectl's current context at create)";
        t.add_or(
            s,
            "context",
            json!(k.context),
            context,
            t.src(k.context.is_none()),
        );
        t.add(
            s,
            "namespace",
            json!(k.namespace),
            t.src(k.namespace == d.namespace),
        );
        let image = "([docker] default_image)";
        t.add_or(
            s,
            "default_image",
            json!(k.default_image),
            image,
            t.src(k.default_image.is_none()),
        );
        let class = "(the cluster's default)";
        t.add_or(
            s,
            "storage_class",
            json!(k.storage_class),
            class,
            t.src(k.storage_class.is_none()),
        );
        t.add(
            s,
            "storage_size",
            json!(k.storage_size),
            t.src(k.storage_size == d.storage_size),
        );
        self.kubernetes_pod_settings(t);
    }

    fn kubernetes_pod_settings(&self, t: &mut Table) {
        let k = &self.kubernetes;
        let d = super::KubernetesSettings::default();
        let s = "kubernetes";
        let secrets = &k.image_pull_secrets;
        t.add(
            s,
            "image_pull_secrets",
            json!(secrets),
            t.src(secrets.is_empty()),
        );
        t.add_or(
            s,
            "runtime_class",
            json!(k.runtime_class),
            "(none)",
            t.src(k.runtime_class.is_none()),
        );
        let timeout = k.create_timeout;
        t.add(
            s,
            "create_timeout",
            json!(timeout),
            t.src(timeout == d.create_timeout),
        );
        t.add(
            s,
            "daemon_image",
            json!(k.daemon_image()),
            t.src(k.daemon_image.is_none()),
        );
    }

    /// The hosts of the credential rules from the file (5 are built in).
    fn rule_hosts(&self) -> Vec<&str> {
        self.proxy.rules.iter().map(|r| r.host.as_str()).collect()
    }

    /// `config show`: each effective value and where it came from.
    pub fn show(&self, home: &Path) -> String {
        let absent = if self.path.exists() {
            ""
        } else {
            " (not present: built-in defaults apply)"
        };
        let mut out = format!(
            "# clauderon home: {}\n# config file: {}{absent}\n",
            home.display(),
            self.path.display(),
        );
        let mut section = "";
        for s in self.settings() {
            if s.section != section {
                let gap = if section.is_empty() { "" } else { "\n" };
                out.push_str(&format!("{gap}[{}]\n", s.section));
                section = s.section;
            }
            let value = match &s.value {
                Value::Null => s.unset.to_string(),
                // Strings and lists as TOML would write them.
                Value::String(v) => format!("{v:?}"),
                Value::Array(items) => format!(
                    "{:?}",
                    items
                        .iter()
                        .map(|i| i.as_str().unwrap_or_default())
                        .collect::<Vec<_>>()
                ),
                other => other.to_string(),
            };
            out.push_str(&format!("{:<22} = {value:<28} # {}\n", s.key, s.source));
        }
        out.push_str("credential rules: 5 built in");
        let hosts = self.rule_hosts();
        if !hosts.is_empty() {
            out.push_str(&format!(
                ", {} from the file ({})",
                hosts.len(),
                hosts.join(", ")
            ));
        }
        out.push('\n');
        out
    }

    /// `config show --json`.
    pub fn show_json(&self, home: &Path) -> Value {
        let settings: Vec<Value> = self
            .settings()
            .into_iter()
            .map(|s| json!({"section": s.section, "key": s.key, "value": s.value, "source": s.source.to_string()}))
            .collect();
        json!({
            "home": home,
            "config_file": self.path,
            "config_file_exists": self.path.exists(),
            "settings": settings,
            "credential_rules": {"built_in": 5, "from_file": self.rule_hosts()},
        })
    }
}
