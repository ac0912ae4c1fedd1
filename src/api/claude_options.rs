//! Stromboli's `claude` options of `POST /run`: every one is accepted and
//! becomes the Claude Code flag it names (`create`'s own flag, or
//! `--agent-arg`, which passes only flags that stay inside the container),
//! or is refused with a 400 that names it and says why. docs/api.md has
//! the table.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaudeOptions {
    model: Option<String>,
    #[serde(default, deserialize_with = "super::whole_number::optional_u32")]
    max_turns: Option<u32>,
    #[serde(default)]
    allowed_tools: Vec<String>,
    #[serde(default)]
    disallowed_tools: Vec<String>,
    append_system_prompt: Option<String>,
    output_format: Option<String>,
    #[serde(default)]
    add_dirs: Vec<String>,
    agent: Option<String>,
    agents: Option<BTreeMap<String, Value>>,
    allow_dangerously_skip_permissions: Option<bool>,
    #[serde(default)]
    betas: Vec<String>,
    #[serde(rename = "continue")]
    continue_: Option<bool>,
    dangerously_skip_permissions: Option<bool>,
    debug: Option<String>,
    disable_slash_commands: Option<bool>,
    fallback_model: Option<String>,
    #[serde(default)]
    files: Vec<String>,
    fork_session: Option<bool>,
    include_partial_messages: Option<bool>,
    input_format: Option<String>,
    json_schema: Option<String>,
    max_budget_usd: Option<f64>,
    #[serde(default)]
    mcp_configs: Vec<String>,
    no_persistence: Option<bool>,
    permission_mode: Option<String>,
    #[serde(default)]
    plugin_dirs: Vec<String>,
    replay_user_messages: Option<bool>,
    resume: Option<bool>,
    session_id: Option<String>,
    #[serde(default)]
    setting_sources: Vec<String>,
    settings: Option<String>,
    strict_mcp_config: Option<bool>,
    system_prompt: Option<String>,
    #[serde(default)]
    tools: Vec<String>,
    verbose: Option<bool>,
}

fn refuse(option: &str, why: &str) -> Error {
    Error::input(format!("claude.{option}: {why}"))
        .with_fix("leave it out (docs/api.md lists what each `claude` option becomes)")
}

/// A path in the container (absolute, no `..`): `add_dirs`, `plugin_dirs`.
fn container_path(option: &str, p: &str) -> Result<()> {
    let path = std::path::Path::new(p);
    let inside = path.is_absolute()
        && !path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
    match inside {
        true => Ok(()),
        false => Err(refuse(
            option,
            &format!(
                "{p:?} must be an absolute path in the container (the host's directories come in only through the mount rules)"
            ),
        )),
    }
}

impl ClaudeOptions {
    /// Refuses the options a run cannot honour.
    fn check(&self) -> Result<()> {
        self.refuse_what_a_run_cannot_do()?;
        self.check_values()
    }

    /// Refuses the options that need what a run has not: a second
    /// conversation, someone to answer prompts, a client on stdin.
    fn refuse_what_a_run_cannot_do(&self) -> Result<()> {
        if self.fork_session == Some(true) {
            return Err(refuse(
                "fork_session",
                "a clauderon session holds one conversation in its own worktree and home; resume it (session_id), or start a new run",
            ));
        }
        if self.dangerously_skip_permissions == Some(false) {
            return Err(refuse(
                "dangerously_skip_permissions",
                "a run has no one to answer permission prompts: the container is the sandbox, so clauderon always runs Claude Code with --dangerously-skip-permissions; use allowed_tools/disallowed_tools or permission_mode to narrow it",
            ));
        }
        if self.input_format.as_deref().is_some_and(|f| f != "text") {
            return Err(refuse(
                "input_format",
                "a run's input is its prompt (text); stream-json input needs a client on stdin",
            ));
        }
        if self.include_partial_messages == Some(true)
            && self.output_format.as_deref() != Some("stream-json")
        {
            return Err(refuse(
                "include_partial_messages",
                "Claude Code gives partial messages only with output_format stream-json",
            ));
        }
        if self.replay_user_messages == Some(true) {
            return Err(refuse(
                "replay_user_messages",
                "it needs stream-json input, which a run does not take",
            ));
        }
        Ok(())
    }

    /// Refuses values Claude Code would not take: an unknown permission
    /// mode or setting source, a budget that is not positive, a path that
    /// is not in the container.
    fn check_values(&self) -> Result<()> {
        if let Some(mode) = &self.permission_mode {
            let known = [
                "acceptEdits",
                "bypassPermissions",
                "default",
                "dontAsk",
                "plan",
                "auto",
            ];
            if !known.contains(&mode.as_str()) {
                return Err(refuse(
                    "permission_mode",
                    &format!("{mode:?} is none of {}", known.join(", ")),
                ));
            }
        }
        if self
            .max_budget_usd
            .is_some_and(|b| !(b > 0.0 && b.is_finite()))
        {
            return Err(refuse("max_budget_usd", "a positive number of dollars"));
        }
        for s in &self.setting_sources {
            if !["user", "project", "local"].contains(&s.as_str()) {
                return Err(refuse(
                    "setting_sources",
                    &format!("{s:?} is none of user, project, local"),
                ));
            }
        }
        for d in &self.add_dirs {
            container_path("add_dirs", d)?;
        }
        for d in &self.plugin_dirs {
            container_path("plugin_dirs", d)?;
        }
        Ok(())
    }

    /// `create`'s flags for these options, each one `--flag=value` argument.
    pub fn create_flags(&self) -> Result<Vec<String>> {
        self.check()?;
        let mut args = Vec::new();
        let mut flag = |name: &str, value: &str| args.push(format!("--{name}={value}"));
        let own = [
            ("model", self.model.clone()),
            ("max-turns", self.max_turns.map(|n| n.to_string())),
            ("append-system-prompt", self.append_system_prompt.clone()),
            ("output-format", self.output_format.clone()),
            // The proxy's budget, which the agent cannot get around; create
            // passes Claude Code's own --max-budget-usd in print mode too.
            ("budget", self.max_budget_usd.map(|b| b.to_string())),
        ];
        for (name, value) in own {
            if let Some(v) = value {
                flag(name, &v);
            }
        }
        for t in &self.allowed_tools {
            flag("allowed-tools", t);
        }
        for t in &self.disallowed_tools {
            flag("disallowed-tools", t);
        }
        for a in self.agent_args() {
            flag("agent-arg", &a);
        }
        Ok(args)
    }

    /// The Claude Code flags passed on with `--agent-arg`.
    fn agent_args(&self) -> Vec<String> {
        let mut out = self.valued_args();
        let lists = [
            ("--add-dir", &self.add_dirs),
            ("--betas", &self.betas),
            ("--file", &self.files),
            ("--mcp-config", &self.mcp_configs),
            ("--plugin-dir", &self.plugin_dirs),
            ("--tools", &self.tools),
        ];
        for (f, values) in lists {
            out.extend(values.iter().map(|v| format!("{f}={v}")));
        }
        if !self.setting_sources.is_empty() {
            out.push(format!(
                "--setting-sources={}",
                self.setting_sources.join(",")
            ));
        }
        out.extend(self.switch_args());
        out
    }

    /// The `--flag=value` flags, for the options that are set.
    fn valued_args(&self) -> Vec<String> {
        let valued = [
            ("--agent", self.agent.clone()),
            (
                "--agents",
                self.agents
                    .as_ref()
                    .map(|a| serde_json::to_string(a).unwrap_or_default()),
            ),
            ("--debug", self.debug.clone()),
            ("--fallback-model", self.fallback_model.clone()),
            ("--input-format", self.input_format.clone()),
            ("--json-schema", self.json_schema.clone()),
            ("--permission-mode", self.permission_mode.clone()),
            // A new conversation's id; a resumed run's session_id names
            // the session instead (`resume_target`).
            (
                "--session-id",
                self.session_id.clone().filter(|_| !self.resuming()),
            ),
            ("--settings", self.settings.clone()),
            ("--system-prompt", self.system_prompt.clone()),
        ];
        valued
            .into_iter()
            .filter_map(|(f, v)| Some(format!("{f}={}", v?)))
            .collect()
    }

    /// The switches that are on (`Some(true)`).
    fn switch_args(&self) -> Vec<String> {
        let switches = [
            (
                "--allow-dangerously-skip-permissions",
                self.allow_dangerously_skip_permissions,
            ),
            ("--disable-slash-commands", self.disable_slash_commands),
            ("--include-partial-messages", self.include_partial_messages),
            ("--no-session-persistence", self.no_persistence),
            ("--strict-mcp-config", self.strict_mcp_config),
            ("--verbose", self.verbose),
        ];
        switches
            .into_iter()
            .filter(|(_, on)| *on == Some(true))
            .map(|(f, _)| f.to_string())
            .collect()
    }
}

/// What a run goes on with (Stromboli's `session_id`, `resume`, `continue`).
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// `session_id` with `resume`: that session, which must exist.
    Session(String),
    /// `session_id` alone: that session if it exists; otherwise a new
    /// conversation with this id (which must then be a UUID).
    SessionOrNew(String),
    /// `continue`, or `resume` without `session_id`: the newest session of
    /// the run's repository (its workspace).
    Latest,
}

impl ClaudeOptions {
    fn resuming(&self) -> bool {
        self.resume == Some(true) || self.continue_ == Some(true)
    }

    /// The session a run goes on with, if any (`continue` ignores
    /// `session_id`, as Stromboli says).
    pub fn resume_target(&self) -> Option<Target> {
        match (&self.session_id, self.resume, self.continue_) {
            (_, _, Some(true)) | (None, Some(true), _) => Some(Target::Latest),
            (Some(id), Some(true), _) => Some(Target::Session(id.clone())),
            (Some(id), _, _) => Some(Target::SessionOrNew(id.clone())),
            (None, _, _) => None,
        }
    }
}

pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_a_flag_or_a_refusal_that_names_it() {
        let o: ClaudeOptions = serde_json::from_value(serde_json::json!({
            "model": "sonnet", "agent": "reviewer", "fallback_model": "haiku",
            "max_budget_usd": 5, "add_dirs": ["/data"], "verbose": true,
            "setting_sources": ["user", "project"], "dangerously_skip_permissions": true,
            "agents": {"reviewer": {"description": "d", "prompt": "p"}},
        }))
        .unwrap();
        let flags = o.create_flags().unwrap();
        assert!(flags.contains(&"--model=sonnet".to_string()));
        assert!(flags.contains(&"--agent-arg=--fallback-model=haiku".to_string()));
        assert!(flags.contains(&"--budget=5".to_string()));
        assert!(!flags.iter().any(|f| f.contains("--max-budget-usd")));
        assert!(flags.contains(&"--agent-arg=--setting-sources=user,project".to_string()));
        assert!(flags.contains(&"--agent-arg=--verbose".to_string()));
        for (body, named) in [
            (
                serde_json::json!({"fork_session": true}),
                "claude.fork_session",
            ),
            (
                serde_json::json!({"add_dirs": ["../etc"]}),
                "claude.add_dirs",
            ),
            (
                serde_json::json!({"dangerously_skip_permissions": false}),
                "claude.dangerously_skip_permissions",
            ),
        ] {
            let o: ClaudeOptions = serde_json::from_value(body).unwrap();
            let e = o.create_flags().unwrap_err();
            assert!(e.message.starts_with(named), "{}", e.message);
        }
    }
}
