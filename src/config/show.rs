//! `config show`: every effective setting and where its value came from.

use std::path::Path;

use super::{Config, DEFAULT_CLI_IMAGE, Source};

impl Config {
    /// `config show`: each effective value and where it came from.
    pub fn show(&self, home: &Path) -> String {
        let exists = self.path.exists();
        let mut out = format!(
            "# clauderon home: {}\n# config file: {}{}\n",
            home.display(),
            self.path.display(),
            if exists {
                ""
            } else {
                " (not present: built-in defaults apply)"
            }
        );
        let line = |key: &str, value: String, source: &Source| {
            format!("{key:<22} = {value:<28} # {source}\n")
        };
        out.push_str("[docker]\n");
        out.push_str(&line(
            "default_image",
            format!("{:?}", self.default_image.value),
            &self.default_image.source,
        ));
        out.push_str(&line(
            "pull_policy",
            format!("{:?}", self.pull_policy.value.as_str()),
            &self.pull_policy.source,
        ));
        out.push_str("\n[docker.limits]\n");
        let none = || "\"\"   (no limit)".to_string();
        out.push_str(&line(
            "cpu",
            self.cpu
                .value
                .map(|c| format!("{:?}", c.docker()))
                .unwrap_or_else(none),
            &self.cpu.source,
        ));
        out.push_str(&line(
            "memory",
            self.memory
                .value
                .map(|m| format!("{:?}", m.docker()))
                .unwrap_or_else(none),
            &self.memory.source,
        ));
        out.push_str("\n[daemon]\n");
        out.push_str(&line(
            "http_port",
            self.http_port.value.to_string(),
            &self.http_port.source,
        ));
        // The rest: from the file when set there, else the built-in default.
        let file = Source::File(self.path.clone());
        let src = |is_default: bool| {
            if is_default {
                Source::Default
            } else {
                file.clone()
            }
        };
        let list = |v: &[String]| format!("{v:?}");
        out.push_str("\n[podman]\n");
        out.push_str(&line(
            "default_image",
            self.podman_default_image
                .as_ref()
                .map(|i| format!("{i:?}"))
                .unwrap_or_else(|| "(the [docker] one)".into()),
            &src(self.podman_default_image.is_none()),
        ));
        let a = &self.agent;
        out.push_str("\n[agent]\n");
        out.push_str(&line(
            "cli_image",
            format!("{:?}", a.cli_image),
            &src(a.cli_image == DEFAULT_CLI_IMAGE),
        ));
        out.push_str(&line(
            "cli_image_tag",
            format!("{:?}", a.cli_image_tag),
            &src(a.cli_image_tag == "latest"),
        ));
        out.push_str(&line(
            "auto_pull_cli",
            a.auto_pull_cli.to_string(),
            &src(a.auto_pull_cli),
        ));
        out.push_str(&line(
            "mount_agent_cli",
            a.mount_agent_cli.to_string(),
            &src(a.mount_agent_cli),
        ));
        out.push_str("\n[images]\n");
        out.push_str(&line(
            "allowed_patterns",
            list(&self.allowed_images.value),
            &self.allowed_images.source,
        ));
        out.push_str("\n[lifecycle]\n");
        out.push_str(&line(
            "on_create",
            list(&self.lifecycle.on_create),
            &src(self.lifecycle.on_create.is_empty()),
        ));
        out.push_str(&line(
            "post_start",
            list(&self.lifecycle.post_start),
            &src(self.lifecycle.post_start.is_empty()),
        ));
        out.push_str(&line(
            "on_create_timeout",
            self.lifecycle
                .on_create_timeout
                .unwrap_or(crate::session::DEFAULT_ON_CREATE_TIMEOUT)
                .to_string(),
            &src(self.lifecycle.on_create_timeout.is_none()),
        ));
        out.push_str("\n[network]\n");
        out.push_str(&line(
            "mode",
            format!("{:?}", self.network.value.as_str()),
            &self.network.source,
        ));
        let sec = &self.security;
        let d = crate::isolation::Security::default();
        out.push_str("\n[security]\n");
        out.push_str(&line(
            "cap_add",
            list(&sec.cap_add),
            &src(sec.cap_add.is_empty()),
        ));
        out.push_str(&line(
            "pids_limit",
            sec.pids_limit.to_string(),
            &src(sec.pids_limit == d.pids_limit),
        ));
        out.push_str(&line(
            "no_new_privileges",
            sec.no_new_privileges.to_string(),
            &src(sec.no_new_privileges),
        ));
        out.push_str(&self.kubernetes.show(&self.path));
        let p = &self.proxy;
        out.push_str("\n[proxy]\n");
        out.push_str(&line("enabled", p.enabled.to_string(), &src(p.enabled)));
        out.push_str(&line(
            "port",
            p.port.to_string(),
            &src(p.port == crate::proxy::settings::DEFAULT_PROXY_PORT),
        ));
        let policy = &p.policy;
        out.push_str(&line(
            "policy",
            format!("{:?}", policy.preset.as_str()),
            &src(policy.preset == crate::proxy::policy::Preset::default()),
        ));
        out.push_str(&line(
            "allow_hosts",
            list(&policy.allow_hosts),
            &src(policy.allow_hosts.is_empty()),
        ));
        out.push_str(&line(
            "deny_hosts",
            list(&policy.deny_hosts),
            &src(policy.deny_hosts.is_empty()),
        ));
        out.push_str(&line(
            "upstream_ca_file",
            p.upstream_ca_file
                .as_ref()
                .map(|f| format!("{:?}", f.display().to_string()))
                .unwrap_or_else(|| "(none)".into()),
            &src(p.upstream_ca_file.is_none()),
        ));
        for (host, addr) in &p.resolve {
            out.push_str(&line(
                &format!("resolve.{host:?}"),
                format!("{addr:?}"),
                &file,
            ));
        }
        out.push_str("credential rules: 5 built in");
        if !p.rules.is_empty() {
            let hosts: Vec<&str> = p.rules.iter().map(|r| r.host.as_str()).collect();
            out.push_str(&format!(
                ", {} from the file ({})",
                p.rules.len(),
                hosts.join(", ")
            ));
        }
        out.push('\n');
        out
    }
}
