//! How the agent is asked to work: interactively (the default) or once, to
//! completion, in print mode (`create --print`, the HTTP API's runs), with
//! the model and tool options its CLI takes. Rendered into a file of
//! NUL-separated arguments that the entrypoint reads: never spliced into
//! shell.

use serde::{Deserialize, Serialize};

use super::Agent;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentOptions {
    /// Run once with the prompt and exit (`claude -p`, `codex exec`).
    #[serde(default)]
    pub print: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disallowed_tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_system_prompt: Option<String>,
    /// Print mode's output: text, json or stream-json.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    /// Codex's Responses endpoint when not api.openai.com (`[agent]
    /// codex_base_url`), written into its config as a model provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex_base_url: Option<String>,
    /// More Claude Code flags, each `--flag` or `--flag=value`, of those in
    /// `CLAUDE_FLAGS` only (`create --agent-arg`; the API's `claude` options).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_args: Vec<String>,
}

/// The Claude Code flags `--agent-arg` passes on (checked against `claude
/// --help` of 2.1.x): none of them reaches outside the container. Flags that
/// would (`--debug-file`, `--ide`, `--chrome`, `--remote-control`, ...) or
/// that clauderon sets itself (`--print`, `--resume`, `--continue`) are not
/// here.
pub const CLAUDE_FLAGS: &[&str] = &[
    "--add-dir",
    "--agent",
    "--agents",
    "--allow-dangerously-skip-permissions",
    "--betas",
    "--debug",
    "--disable-slash-commands",
    "--fallback-model",
    "--file",
    "--include-partial-messages",
    "--input-format",
    "--json-schema",
    "--max-budget-usd",
    "--mcp-config",
    "--no-session-persistence",
    "--permission-mode",
    "--plugin-dir",
    "--session-id",
    "--setting-sources",
    "--settings",
    "--strict-mcp-config",
    "--system-prompt",
    "--tools",
    "--verbose",
];

/// Why an `--agent-arg` is refused, or None when it is one of `CLAUDE_FLAGS`.
fn agent_arg_refused(arg: &str) -> Option<String> {
    let flag = arg.split_once('=').map_or(arg, |(f, _)| f);
    if arg.contains(['\0', '\n']) {
        return Some(format!(
            "agent argument {arg:?} has a NUL byte or a newline"
        ));
    }
    (!CLAUDE_FLAGS.contains(&flag)).then(|| {
        format!(
            "agent argument {flag:?} is not one clauderon passes on; these are: {}",
            CLAUDE_FLAGS.join(" ")
        )
    })
}

impl AgentOptions {
    /// Refuses what this agent's CLI cannot do, or what needs print mode.
    pub fn validate(&self, agent: Agent) -> Result<(), String> {
        if let Some(f) = &self.output_format
            && !matches!(f.as_str(), "text" | "json" | "stream-json")
        {
            return Err(format!(
                "output format {f:?}: use text, json or stream-json"
            ));
        }
        if !self.print && (self.max_turns.is_some() || self.output_format.is_some()) {
            return Err("max turns and the output format apply to print mode (--print)".into());
        }
        // Names: no spaces around, no flag, no separator of the tool lists.
        let name_ok = |v: &str| {
            !v.is_empty() && v.trim() == v && !v.starts_with('-') && !v.contains([',', '\n', '\0'])
        };
        let names = self
            .model
            .iter()
            .chain(&self.allowed_tools)
            .chain(&self.disallowed_tools);
        if let Some(v) = names.into_iter().find(|v| !name_ok(v)) {
            return Err(format!("{v:?} is not a model or tool name"));
        }
        if self.max_turns == Some(0) {
            return Err("max turns must be at least 1".into());
        }
        let empty = |p: &String| p.trim().is_empty() || p.contains('\0');
        if self.append_system_prompt.as_ref().is_some_and(empty) {
            return Err("the text added to the system prompt is empty or has a NUL byte".into());
        }
        let claude_only = self.max_turns.is_some()
            || !self.allowed_tools.is_empty()
            || !self.disallowed_tools.is_empty()
            || self.append_system_prompt.is_some();
        if let Some(why) = self.agent_args.iter().find_map(|a| agent_arg_refused(a)) {
            return Err(why);
        }
        if agent == Agent::Codex && (claude_only || !self.agent_args.is_empty()) {
            return Err("codex takes --model and --output-format only (max turns, tool lists and the system prompt are Claude Code options)".into());
        }
        Ok(())
    }

    /// The agent CLI's arguments for these options, before the prompt.
    pub fn args(&self, agent: Agent) -> Vec<String> {
        let mut args = Vec::new();
        let mut push = |flag: &str, value: String| {
            args.push(flag.to_string());
            args.push(value);
        };
        if let Some(m) = &self.model {
            push("--model", m.clone());
        }
        match agent {
            Agent::Claude => {
                if let Some(n) = self.max_turns {
                    push("--max-turns", n.to_string());
                }
                if !self.allowed_tools.is_empty() {
                    push("--allowedTools", self.allowed_tools.join(","));
                }
                if !self.disallowed_tools.is_empty() {
                    push("--disallowedTools", self.disallowed_tools.join(","));
                }
                if let Some(p) = &self.append_system_prompt {
                    push("--append-system-prompt", p.clone());
                }
                if let Some(f) = &self.output_format {
                    push("--output-format", f.clone());
                }
                args.extend(self.agent_args.iter().cloned());
            }
            Agent::Codex if self.output_format.as_deref().is_some_and(|f| f != "text") => {
                args.push("--json".into());
            }
            Agent::Codex => {}
        }
        args
    }

    /// The `agent-args` file: each argument NUL-terminated.
    pub fn args_file(&self, agent: Agent) -> Vec<u8> {
        let mut bytes = Vec::new();
        for a in self.args(agent) {
            bytes.extend_from_slice(a.as_bytes());
            bytes.push(0);
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_separate_arguments_and_bad_ones_are_refused() {
        let o = AgentOptions {
            print: true,
            model: Some("sonnet".into()),
            max_turns: Some(3),
            allowed_tools: vec!["Bash(git:*)".into(), "Edit".into()],
            append_system_prompt: Some("Be brief; $(id) stays text".into()),
            output_format: Some("json".into()),
            ..Default::default()
        };
        assert!(o.validate(Agent::Claude).is_ok());
        assert_eq!(
            o.args(Agent::Claude),
            [
                "--model",
                "sonnet",
                "--max-turns",
                "3",
                "--allowedTools",
                "Bash(git:*),Edit",
                "--append-system-prompt",
                "Be brief; $(id) stays text",
                "--output-format",
                "json"
            ]
        );
        assert!(o.validate(Agent::Codex).is_err());
        let bad = AgentOptions {
            model: Some("--dangerous".into()),
            ..Default::default()
        };
        assert!(bad.validate(Agent::Claude).is_err());
        let needs_print = AgentOptions {
            max_turns: Some(1),
            ..Default::default()
        };
        assert!(needs_print.validate(Agent::Claude).is_err());
    }
}
