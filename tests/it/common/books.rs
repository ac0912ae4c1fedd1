//! The model APIs played locally for the proxy's books: the Messages
//! stand-in (tests/support/messages.py) as api.anthropic.com and the
//! Responses stand-in (tests/support/responses.py) as api.openai.com, a
//! home whose daemon sends both there, and curl through its proxy as a
//! session would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use super::Env;
use super::standin::Standin;

pub const ANTHROPIC_KEY: &str = "sk-ant-api03-REALanthropicKEY";
pub const ANTHROPIC_PLACEHOLDER: &str = clauderon::proxy::rules::ANTHROPIC_KEY_PLACEHOLDER;

/// What the Messages stand-in serves per call.
/// The test image with the real Claude Code CLI (scripts/build-test-images.sh).
pub const CLAUDE_IMAGE: &str = "clauderon-test-claude:1";

pub const MESSAGES_USAGE: (u64, u64, u64, u64) = (25, 3, 4, 15);

pub struct Models {
    messages: Child,
    pub messages_port: u16,
    messages_ca: PathBuf,
    pub responses: Standin,
    dir: tempfile::TempDir,
}

impl Drop for Models {
    fn drop(&mut self) {
        let _ = self.messages.kill();
        let _ = self.messages.wait();
    }
}

impl Models {
    pub fn start() -> Models {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = super::upstream::test_pki_for(dir.path(), &["api.anthropic.com"]);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/messages.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .args(["--log", dir.path().join("messages.jsonl").to_str().unwrap()])
            .args(["--key", ANTHROPIC_KEY])
            .args(["--cert", cert.to_str().unwrap()])
            .args(["--tls-key", key.to_str().unwrap()]);
        let (messages, messages_port) = super::spawn_server(cmd);
        Models {
            messages,
            messages_port,
            messages_ca: ca,
            responses: Standin::start(&[]),
            dir,
        }
    }

    /// A home whose daemon holds both real keys and sends both APIs to the
    /// stand-ins (trusting their CAs); `extra` is more config.toml.
    pub fn env(&self, extra: &str) -> Env {
        self.env_with(extra, &[], &[])
    }

    /// As `env`, with more hosts sent to local servers and their CAs trusted.
    pub fn env_with(&self, extra: &str, cas: &[&Path], resolve: &[(&str, u16)]) -> Env {
        let mut env = Env::new();
        let bundle = self.dir.path().join("cas.pem");
        let mut all = std::fs::read_to_string(&self.messages_ca).unwrap()
            + &std::fs::read_to_string(&self.responses.ca).unwrap();
        for ca in cas {
            all += &std::fs::read_to_string(ca).unwrap();
        }
        std::fs::write(&bundle, all).unwrap();
        let mut config = format!(
            "[daemon]\nhttp_port = 0\n{extra}\n[proxy]\nport = 0\nupstream_ca_file = {bundle:?}\n[proxy.resolve]\n\"api.anthropic.com\" = \"127.0.0.1:{}\"\n\"api.openai.com\" = \"127.0.0.1:{}\"\n",
            self.messages_port, self.responses.port
        );
        for (host, port) in resolve {
            config += &format!("\"{host}\" = \"127.0.0.1:{port}\"\n");
        }
        std::fs::write(env.home().join("config.toml"), config).unwrap();
        env.extra_env
            .push(("ANTHROPIC_API_KEY".into(), ANTHROPIC_KEY.into()));
        env.extra_env
            .push(("OPENAI_API_KEY".into(), super::standin::REAL_KEY.into()));
        env
    }

    /// What the Messages stand-in was asked (tests/support/messages.py's log).
    pub fn messages_requests(&self) -> Vec<serde_json::Value> {
        super::read_jsonl(&self.dir.path().join("messages.jsonl"))
    }

    /// The model calls (`POST /v1/messages`) the Messages stand-in saw.
    pub fn model_calls(&self) -> Vec<serde_json::Value> {
        let is_model_call = |r: &serde_json::Value| {
            r["method"] == "POST"
                && r["path"]
                    .as_str()
                    .unwrap_or("")
                    .split('?')
                    .next()
                    .is_some_and(|p| p.ends_with("/v1/messages"))
        };
        self.messages_requests()
            .into_iter()
            .filter(is_model_call)
            .collect()
    }

    /// The Messages stand-in asked directly (no proxy), for the bytes it sends.
    pub fn direct_messages(&self, body: &str) -> Vec<u8> {
        let out = Command::new("curl")
            .args(["-sS", "--cacert", self.messages_ca.to_str().unwrap()])
            .args([
                "--resolve",
                &format!("api.anthropic.com:{}:127.0.0.1", self.messages_port),
            ])
            .args(["-H", &format!("x-api-key: {ANTHROPIC_KEY}"), "-d", body])
            .arg(format!(
                "https://api.anthropic.com:{}/v1/messages",
                self.messages_port
            ))
            .output()
            .unwrap();
        out.stdout
    }
}

/// curl through the home's proxy as `session`: (exit code, stdout, stderr).
pub fn curl(env: &Env, session: &str, token: &str, args: &[&str]) -> (i32, Vec<u8>, String) {
    let (_, proxy_port) = super::daemon_ports(env);
    let ca = clauderon::proxy::ca::cert_path(&clauderon::store::Home {
        root: env.home().to_path_buf(),
    });
    let out = Command::new("curl")
        .args(["-sS", "--cacert", ca.to_str().unwrap()])
        .args([
            "--proxy",
            &format!("http://127.0.0.1:{}", proxy_port.unwrap()),
        ])
        .args(["--proxy-user", &format!("{session}:{token}")])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A Messages call through the proxy; `stream` picks SSE or JSON.
pub fn messages_call(
    env: &Env,
    session: &str,
    token: &str,
    model: &str,
    stream: bool,
) -> (i32, Vec<u8>, String) {
    let body = serde_json::json!({"model": model, "stream": stream, "max_tokens": 10}).to_string();
    curl(
        env,
        session,
        token,
        &[
            "-H",
            &format!("x-api-key: {ANTHROPIC_PLACEHOLDER}"),
            "-d",
            &body,
            "https://api.anthropic.com/v1/messages",
        ],
    )
}
