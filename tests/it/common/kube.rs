//! The recording stand-in `kubectl` (tests/support/kubectl), first on
//! PATH, and its small "cluster" in a temp dir.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Env;

pub struct Kube {
    pub env: Env,
    pub dir: tempfile::TempDir,
}

impl Kube {
    pub fn new() -> Kube {
        let mut env = Env::new();
        let dir = tempfile::tempdir().unwrap();
        let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
        let path = format!("{}:{}", support.display(), std::env::var("PATH").unwrap());
        env.extra_env.push(("PATH".into(), path));
        env.extra_env
            .push(("FAKE_KUBE_DIR".into(), dir.path().display().to_string()));
        // The credentials kube setup ships are the tests' own, never this
        // machine's (an empty value counts as unset; a test may set one).
        for name in clauderon::proxy::credentials::rule_env_vars() {
            env.extra_env.push((name, String::new()));
        }
        env.extra_env.push((
            "FAKE_KUBE_CLAUDERON".into(),
            env!("CARGO_BIN_EXE_clauderon").into(),
        ));
        Kube { env, dir }
    }

    pub fn set(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    pub fn calls(&self) -> Vec<(Vec<String>, Option<String>)> {
        let text = std::fs::read_to_string(self.dir.path().join("calls.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let argv = v["argv"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                (argv, v["stdin"].as_str().map(String::from))
            })
            .collect()
    }

    pub fn objects(&self, kind: &str) -> Vec<String> {
        let d = self.dir.path().join("objects/clauderon").join(kind);
        let mut names: Vec<String> = std::fs::read_dir(d)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().replace(".json", ""))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    pub fn volume(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .join("volumes/clauderon")
            .join(format!("clauderon-{name}"))
    }

    pub fn create(&self, name: &str, prompt: &str, extra: &[&str]) -> super::Run {
        let repo = self.env.repo().display().to_string();
        let mut args = vec![
            "create",
            "--backend",
            "kubernetes",
            "--name",
            name,
            "--repo",
            &repo,
            "--prompt",
            prompt,
            "--image",
            "ghcr.io/example/agent:1",
        ];
        args.extend_from_slice(extra);
        self.env.run(&args)
    }
}

pub const REAL_KEY: &str = "sk-ant-api03-REALinClusterKEY";
/// Hostile on purpose: it must reach the Secret byte for byte, through JSON.
pub const REAL_GH: &str = "ghp_REAL\"$(id)\n'clusterGH ✨";

/// A stand-in cluster whose setup ships these (test) credentials.
pub fn kube_with_credentials() -> Kube {
    let mut k = Kube::new();
    k.env
        .extra_env
        .push(("ANTHROPIC_API_KEY".into(), REAL_KEY.into()));
    k.env.extra_env.push(("GH_TOKEN".into(), REAL_GH.into()));
    k
}

/// An object the stand-in holds in namespace clauderon.
pub fn object(k: &Kube, kind: &str, name: &str) -> Value {
    let path = k
        .dir
        .path()
        .join("objects/clauderon")
        .join(kind)
        .join(format!("{name}.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The stdin of every `kubectl apply`, in order.
pub fn applies(k: &Kube) -> Vec<String> {
    k.calls()
        .into_iter()
        .filter(|(a, _)| a.get(2).is_some_and(|v| v == "apply"))
        .map(|(_, stdin)| stdin.unwrap())
        .collect()
}
