//! A local stand-in for the OpenAI Responses API (tests/support/responses.py),
//! serving HTTPS as api.openai.com, and a home whose daemon holds the real
//! key and sends api.openai.com to it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use serde_json::Value;

use super::Env;

/// The key the daemon holds; the container only ever sees the placeholder.
pub const REAL_KEY: &str = "sk-proj-REALopenaiKEY0123456789";
pub const PLACEHOLDER: &str = clauderon::proxy::rules::OPENAI_PLACEHOLDER;

/// The stand-in, serving HTTPS as api.openai.com with a test CA.
pub struct Standin {
    child: Child,
    pub port: u16,
    log: PathBuf,
    pub ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Standin {
    pub fn start(extra: &[&str]) -> Standin {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) =
            super::upstream::test_pki_for(dir.path(), &["api.openai.com", "llm.test"]);
        let log = dir.path().join("requests.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/responses.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .args(["--log", log.to_str().unwrap(), "--key", REAL_KEY])
            .args(["--cert", cert.to_str().unwrap()])
            .args(["--tls-key", key.to_str().unwrap()])
            .args(extra);
        let (child, port) = super::spawn_server(cmd);
        Standin {
            child,
            port,
            log,
            ca,
            _dir: dir,
        }
    }

    pub fn requests(&self) -> Vec<Value> {
        super::read_jsonl(&self.log)
    }

    /// A home whose daemon holds the real key and sends api.openai.com
    /// (and llm.test, a custom endpoint) to the stand-in, trusting its CA.
    pub fn env(&self) -> Env {
        let mut env = Env::new();
        let config = format!(
            "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\nupstream_ca_file = {:?}\n[proxy.resolve]\n\"api.openai.com\" = \"127.0.0.1:{port}\"\n\"llm.test\" = \"127.0.0.1:{port}\"\n",
            self.ca.to_str().unwrap(),
            port = self.port
        );
        std::fs::write(env.home().join("config.toml"), config).unwrap();
        env.extra_env
            .push(("OPENAI_API_KEY".into(), REAL_KEY.into()));
        env
    }
}
