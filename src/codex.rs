//! Codex's files for an unattended session: its `config.toml` (no approval
//! prompt, no sandbox inside the container, the workspace trusted, status
//! reported through `notify` and hooks) and an `auth.json` holding the
//! proxy's placeholder, so no login screen appears. Both are mounted at
//! `/etc/clauderon/codex/` and copied into `CODEX_HOME` by the entrypoint.

use crate::proxy::rules::OPENAI_PLACEHOLDER;

/// Where Codex keeps its state in the container (in the worktree, so a
/// refreshed container resumes the conversation).
pub const CODEX_HOME: &str = "/workspace/.codex";

/// Where the session's Codex files are mounted.
pub const CONFIG_PATH: &str = "/etc/clauderon/codex/config.toml";
pub const AUTH_PATH: &str = "/etc/clauderon/codex/auth.json";

/// The first line of the config clauderon writes; the entrypoint replaces
/// a `CODEX_HOME/config.toml` that starts with it, and leaves any other.
pub const CONFIG_MARKER: &str = "# clauderon: this session's Codex config";

/// The hook script, as the session files mount it.
const SEND_STATUS: &str = "/etc/clauderon/session/send_status.sh";

/// Codex 0.169's hook events that say what the agent is doing (the same
/// names, and the same JSON on stdin, as Claude Code's).
const HOOK_EVENTS: [&str; 6] = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PermissionRequest",
    "Stop",
];

/// A TOML basic string, on one line, usable as a key too: JSON's string
/// escapes are all valid in TOML (toml's own Display may pick a multi-line
/// string, which a key cannot be).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// The session's `config.toml`; `workdir` is where the agent starts, and
/// `base_url` Codex's Responses endpoint when not api.openai.com.
pub fn config(workdir: &str, base_url: Option<&str>) -> Vec<u8> {
    let mut out = format!(
        "{CONFIG_MARKER}, written at every start (edits here are replaced).\n\
         # The container is the sandbox: no approval prompts, no nested sandbox.\n\
         approval_policy = \"never\"\n\
         sandbox_mode = \"danger-full-access\"\n\
         check_for_update_on_startup = false\n\
         cli_auth_credentials_store = \"file\"\n\
         # A finished turn tells clauderon the agent waits for input.\n\
         notify = [{}, \"--codex-notify\"]\n",
        toml_string(SEND_STATUS)
    );
    if base_url.is_some() {
        // (a top-level key: before any table)
        out.push_str("model_provider = \"clauderon\"\n");
    }
    let mut dirs = vec!["/workspace", workdir];
    dirs.dedup();
    for dir in dirs {
        out.push_str(&format!(
            "\n[projects.{}]\ntrust_level = \"trusted\"\n",
            toml_string(dir)
        ));
    }
    for event in HOOK_EVENTS {
        out.push_str(&format!(
            "\n[[hooks.{event}]]\n[[hooks.{event}.hooks]]\ntype = \"command\"\ncommand = {}\ntimeout = 10\n",
            toml_string(SEND_STATUS)
        ));
    }
    if let Some(url) = base_url {
        // Its key is the placeholder in OPENAI_API_KEY: a [[proxy.rules]]
        // entry for the endpoint's host swaps it.
        out.push_str(&format!(
            "\n[model_providers.clauderon]\nname = \"clauderon ([agent] codex_base_url)\"\nbase_url = {}\nenv_key = \"OPENAI_API_KEY\"\nwire_api = \"responses\"\n",
            toml_string(url)
        ));
    }
    out.into_bytes()
}

/// The session's `auth.json`: API-key login with the proxy's placeholder
/// (the proxy swaps it for the real key on the way to api.openai.com).
pub fn auth() -> Vec<u8> {
    let auth = serde_json::json!({ "auth_mode": "apikey", "OPENAI_API_KEY": OPENAI_PLACEHOLDER });
    let mut bytes = serde_json::to_vec_pretty(&auth).expect("json serializes");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_config_is_valid_toml_with_hooks_for_every_event() {
        let text = String::from_utf8(super::config("/workspace/s\"x\n]weird", None)).unwrap();
        let value: toml::Value = toml::from_str(&text).expect("valid TOML");
        assert_eq!(value["approval_policy"].as_str(), Some("never"));
        assert_eq!(value["sandbox_mode"].as_str(), Some("danger-full-access"));
        assert_eq!(value["notify"][1].as_str(), Some("--codex-notify"));
        for event in super::HOOK_EVENTS {
            assert!(value["hooks"][event][0]["hooks"][0]["command"].is_str());
        }
        assert!(text.starts_with(super::CONFIG_MARKER));
        let trusted = &value["projects"]["/workspace/s\"x\n]weird"]["trust_level"];
        assert_eq!(trusted.as_str(), Some("trusted"));
        assert!(value.get("model_provider").is_none());
    }

    #[test]
    fn a_base_url_is_a_responses_provider() {
        let url = "https://llm.example.com/v1?a=\"b\"";
        let text = String::from_utf8(super::config("/workspace", Some(url))).unwrap();
        let value: toml::Value = toml::from_str(&text).expect("valid TOML");
        assert_eq!(value["model_provider"].as_str(), Some("clauderon"));
        let provider = &value["model_providers"]["clauderon"];
        assert_eq!(provider["base_url"].as_str(), Some(url));
        assert_eq!(provider["env_key"].as_str(), Some("OPENAI_API_KEY"));
        assert_eq!(provider["wire_api"].as_str(), Some("responses"));
    }
}
