//! Codex for real: the REAL Codex CLI runs a tool in a session container
//! against a local stand-in for the OpenAI Responses API
//! (tests/support/responses.py), through the daemon's proxy; its CLI image
//! beside Claude Code's, and musl images accepted for it.

use crate::common;

use std::process::Command;

use crate::common::Env;
use crate::common::codex::{
    CODEX_CLI_IMAGE, CODEX_IMAGE, codex_ready, mount_codex_cli, wait_until,
};
use crate::common::standin::{PLACEHOLDER, REAL_KEY, Standin};
use serde_json::Value;

fn agent_status(env: &Env, name: &str) -> String {
    let r = env.run(&["list", "--json"]).ok();
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    let row = rows.iter().find(|r| r["name"] == name).unwrap();
    row["agent_status"].as_str().unwrap_or("-").to_string()
}

/// A session of the real Codex CLI.
struct Case {
    engine: &'static str,
    image: &'static str,
    /// The image can run the hook script (it has curl).
    reports_status: bool,
    /// Codex talks to a custom endpoint (llm.test, `[agent] codex_base_url`)
    /// instead of api.openai.com.
    custom_endpoint: bool,
}

/// A Responses endpoint of one's own: Codex's model provider, and the
/// proxy rule that swaps the placeholder on its host.
const CUSTOM_ENDPOINT: &str = "[[proxy.rules]]\nhost = \"llm.test\"\nheader = \"authorization\"\nformat = \"text\"\nplaceholder = \"sk-openai-clauderon-proxy-placeholder\"\nenv = \"OPENAI_API_KEY\"\n[agent]\ncodex_base_url = \"https://llm.test/v1\"\n";

struct Running {
    standin: Standin,
    env: Env,
    name: String,
    container: String,
}

impl Running {
    fn logs(&self, engine: &str) -> String {
        let out = Command::new(engine)
            .args(["logs", &self.container])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }
}

/// Creates the session and waits for the file its tool call writes.
fn start(case: &Case) -> Running {
    let standin = Standin::start(&[]);
    let env = standin.env();
    if case.engine == "podman" {
        // Podman mounts the Codex CLI image built from the real binaries.
        mount_codex_cli(&env);
    }
    if case.custom_endpoint {
        let path = env.home().join("config.toml");
        let config = std::fs::read_to_string(&path).unwrap() + CUSTOM_ENDPOINT;
        std::fs::write(path, config).unwrap();
    }
    let name = common::unique("codex");
    let args = ["--agent", "codex", "--backend", case.engine];
    env.create_from(&name, "write codex-made.txt", case.image, &args)
        .ok();
    let container = format!("clauderon-{name}");
    let running = Running {
        standin,
        env,
        name,
        container,
    };
    let made = running.env.worktree(&running.name).join("codex-made.txt");
    wait_until("the tool call's file", 90, || {
        let seen = running.standin.requests().len();
        (!made.exists()).then(|| format!("{seen} requests; logs: {}", running.logs(case.engine)))
    });
    assert_eq!(std::fs::read_to_string(&made).unwrap(), "made-by-codex\n");
    // The tool's output goes back in the next request, after the file exists.
    wait_until("the tool's output at the stand-in", 30, || {
        let seen = running.standin.requests();
        (!seen.iter().any(carries_tool_output)).then(|| format!("{} requests", seen.len()))
    });
    running
}

fn carries_tool_output(r: &Value) -> bool {
    r["body"]["input"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["type"] == "custom_tool_call_output"))
}

/// Every request carried the real key, the turns came over `transport`
/// (api.openai.com: the WebSocket the proxy carried; a custom endpoint:
/// HTTPS with server-sent events), and the tool's output came back.
fn assert_the_standin_saw_the_real_key(standin: &Standin, transport: &str) {
    let seen = standin.requests();
    let keys: Vec<&str> = seen
        .iter()
        .filter_map(|r| r["headers"]["authorization"].as_str())
        .collect();
    assert!(!keys.is_empty(), "{seen:?}");
    let real = format!("Bearer {REAL_KEY}");
    assert!(keys.iter().all(|k| *k == real), "{keys:?}");
    let turns: Vec<&Value> = seen
        .iter()
        .filter(|r| r["body"]["input"].is_array())
        .collect();
    assert!(!turns.is_empty());
    assert!(
        turns.iter().all(|r| r["transport"] == transport),
        "{turns:?}"
    );
    assert!(turns.iter().any(|r| carries_tool_output(r)), "{turns:?}");
}

/// Only the placeholder is in the container: not in inspect, not in the
/// agent's environment, not in its login file.
fn assert_only_the_placeholder_is_inside(engine: &str, r: &Running) {
    let inspect = Command::new(engine)
        .args(["container", "inspect", &r.container])
        .output()
        .unwrap();
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        !inspect.contains(REAL_KEY),
        "the real key is in {engine} inspect"
    );
    let environ = Command::new(engine)
        .args(["exec", &r.container, "cat", "/proc/1/environ"])
        .output()
        .unwrap();
    let environ = String::from_utf8_lossy(&environ.stdout);
    let placeholder = format!("OPENAI_API_KEY={PLACEHOLDER}");
    assert!(environ.contains(&placeholder), "{environ}");
    // CODEX_HOME is the session's own copy of the user's ~/.codex, outside
    // the worktree (issue 25), mounted from the session's directory.
    assert!(environ.contains("CODEX_HOME=/clauderon/codex"), "{environ}");
    assert!(!environ.contains(REAL_KEY));
    let auth_path = r
        .env
        .home()
        .join("sessions")
        .join(&r.name)
        .join("agent-config/codex/auth.json");
    let auth = std::fs::read_to_string(auth_path).unwrap();
    assert!(
        auth.contains(PLACEHOLDER) && !auth.contains(REAL_KEY),
        "{auth}"
    );
}

/// The real Codex CLI, unattended in a session container: its key is the
/// placeholder, the proxy swaps in the real one (over the Responses
/// WebSocket), the tool call it is given runs in the worktree (no login,
/// trust or approval screen stopped it: nothing was typed), its hooks and
/// notify put its status in `list`, and a restart resumes it.
fn real_codex_session(case: Case) {
    let r = start(&case);
    let transport = if case.custom_endpoint {
        "http"
    } else {
        "websocket"
    };
    assert_the_standin_saw_the_real_key(&r.standin, transport);
    assert_only_the_placeholder_is_inside(case.engine, &r);
    if case.reports_status {
        wait_until("waiting-input in list", 30, || {
            let s = agent_status(&r.env, &r.name);
            (s != "waiting-input").then_some(s)
        });
        // Both sources of status: Codex's hooks, and its notify program.
        // (notify may report before the Stop hook's event is written.)
        wait_until("Codex's hook and notify events", 15, || {
            let events = r.env.run(&["events", &r.name]).ok().stdout;
            let wanted = [
                "UserPromptSubmit",
                "PreToolUse",
                "Stop",
                "agent-turn-complete",
            ];
            let missing = wanted.into_iter().find(|e| !events.contains(e))?;
            Some(format!("{missing} missing from:\n{events}"))
        });
    }
    r.env.run(&["stop", &r.name]).ok();
    r.env.run(&["start", &r.name]).ok();
    wait_until("the resumed conversation", 30, || {
        let out = r.logs(case.engine);
        (!out.contains("resuming the previous conversation")).then_some(out)
    });
}

#[test]
fn the_real_codex_cli_runs_a_tool_through_the_proxy_on_docker() {
    if codex_ready("docker", CODEX_IMAGE) {
        real_codex_session(Case {
            engine: "docker",
            image: CODEX_IMAGE,
            reports_status: true,
            custom_endpoint: false,
        });
    }
}

/// A custom Responses endpoint (`[agent] codex_base_url`): Codex's model
/// provider, its key swapped by a `[[proxy.rules]]` entry, over HTTPS.
#[test]
fn the_real_codex_cli_talks_to_a_custom_endpoint_on_docker() {
    if codex_ready("docker", CODEX_IMAGE) {
        real_codex_session(Case {
            engine: "docker",
            image: CODEX_IMAGE,
            reports_status: true,
            custom_endpoint: true,
        });
    }
}

/// Podman: an image with no agent, the real Codex mounted from its CLI image.
#[test]
fn the_real_codex_cli_mounted_from_its_image_on_podman() {
    if codex_ready("podman", CODEX_CLI_IMAGE) {
        real_codex_session(Case {
            engine: "podman",
            image: common::NOAGENT_IMAGE,
            reports_status: true,
            custom_endpoint: false,
        });
    }
}

/// Codex's static binaries run in a musl image (busybox, musl's loader and
/// a static bash: Alpine-like; no curl, so no status from its hooks).
#[test]
fn the_real_codex_cli_runs_in_a_musl_image_on_podman() {
    if codex_ready("podman", CODEX_CLI_IMAGE) {
        real_codex_session(Case {
            engine: "podman",
            image: common::MUSL_IMAGE,
            reports_status: false,
            custom_endpoint: false,
        });
    }
}

/// Print mode (`create --print`): `codex exec` runs once, to completion,
/// and its answer is kept in the worktree.
#[test]
fn the_real_codex_cli_answers_once_in_print_mode() {
    if !codex_ready("docker", CODEX_IMAGE) {
        return;
    }
    let standin = Standin::start(&[]);
    let (env, name, state) = common::codex::print_run(&standin, &[]);
    let output = std::fs::read_to_string(state.join("output")).unwrap();
    assert!(output.contains("Done: the file is written."), "{output}");
    let made = env.worktree(&name).join("codex-made.txt");
    assert_eq!(std::fs::read_to_string(made).unwrap(), "made-by-codex\n");
    assert!(standin.requests().iter().any(carries_tool_output));
    // A run the container's restart cut short (no print.done yet) resumes
    // its conversation (codex exec resume --last) instead of starting over.
    std::fs::remove_file(state.join("print.done")).unwrap();
    let before = standin.requests().len();
    env.run(&["start", &name]).ok();
    wait_until("the resumed print run", 90, || {
        let done = state.join("print.done").exists();
        (!done).then(|| format!("{} requests", standin.requests().len()))
    });
    let seen = standin.requests();
    let resumed = seen[before..]
        .iter()
        .map(|r| r["body"]["input"].to_string())
        .find(|text| text.contains("carry on with the task"));
    let text = resumed.unwrap_or_else(|| panic!("not resumed: {:?}", &seen[before..]));
    assert!(
        text.contains("write codex-made.txt"),
        "the old conversation came back: {text}"
    );
}

/// A repository with its own `.codex/config.toml` keeps it: the session's
/// config does not overwrite a file that is not clauderon's (the stub agent
/// plays Codex here).
#[test]
fn a_repositorys_own_codex_config_is_kept() {
    if !common::docker_ready() {
        return;
    }
    let env = Env::new();
    std::fs::create_dir(env.repo().join(".codex")).unwrap();
    let own = "model = \"mine\"\n";
    std::fs::write(env.repo().join(".codex/config.toml"), own).unwrap();
    common::git(env.repo(), &["add", "-f", ".codex/config.toml"]);
    common::git(env.repo(), &["commit", "-q", "-m", "codex config"]);
    let name = common::unique("cxown");
    // Without the user's configuration CODEX_HOME is the worktree's .codex
    // (with it, the session's own copy elsewhere: nothing meets there).
    env.create(&name, "p", &["--agent", "codex", "--no-user-config"])
        .ok();
    env.wait_for_runs(&name, 1);
    let codex_home = env.worktree(&name).join(".codex");
    let config = std::fs::read_to_string(codex_home.join("config.toml")).unwrap();
    assert_eq!(config, own);
    // The placeholder login is still written.
    let auth = std::fs::read_to_string(codex_home.join("auth.json")).unwrap();
    assert!(auth.contains(PLACEHOLDER), "{auth}");
    let logs = common::docker(&["logs", &format!("clauderon-{name}")]);
    // (a TTY: everything is on stdout)
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.contains("keeping /workspace/.codex/config.toml"),
        "{logs}"
    );
    let status = common::git(&env.worktree(&name), &["status", "--porcelain"]);
    assert_eq!(status.trim(), "", "the tracked file is untouched");
}

/// Without a prompt the real Codex starts interactively and waits, and
/// `list` says so (Codex's own SessionStart comes only with a first prompt).
#[test]
fn the_real_codex_cli_waits_for_input_without_a_prompt() {
    if !codex_ready("docker", CODEX_IMAGE) {
        return;
    }
    let standin = Standin::start(&[]);
    let env = standin.env();
    let name = common::unique("cxwait");
    let repo = env.repo().to_string_lossy().to_string();
    let args = [
        "create", "--agent", "codex", "--name", &name, "--repo", &repo,
    ];
    let image = ["--image", CODEX_IMAGE, "--pull-policy", "never"];
    env.run(&[&args[..], &image].concat()).ok();
    wait_until("waiting-input in list", 30, || {
        let s = agent_status(&env, &name);
        (s != "waiting-input").then_some(s)
    });
    // It asked the model nothing: it waits for the user.
    let turns = standin.requests();
    assert!(
        !turns
            .iter()
            .any(|r| r["body"]["input"].as_array().is_some_and(|i| !i.is_empty())),
        "{turns:?}"
    );
}
