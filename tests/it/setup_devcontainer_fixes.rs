//! Every refusal of a devcontainer.json names the file and says how to get
//! past it, a file in a subfolder (`--devcontainer NAME`) included.

use crate::common::Env;

/// Writes `body` at `rel` in the test repository (uncommitted: create
/// reads the working tree).
fn write(env: &Env, rel: &str, body: &[u8]) {
    let path = env.repo().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fn dry_create(env: &Env, extra: &[&str]) -> crate::common::Run {
    let repo = env.repo().display().to_string();
    let mut args = vec!["create", "--repo", &repo, "--prompt", "hi", "--dry-run"];
    args.extend_from_slice(extra);
    env.run(&args)
}

#[test]
fn refusals_name_the_file_and_the_fix() {
    let cases: [(&str, &[u8], &[&str], &str); 3] = [
        (
            ".devcontainer/devcontainer.json",
            br#"{ "image": 123 }"#,
            &[],
            "clauderon: error: devcontainer.json: `image` must be a string\n  fix: fix it in .devcontainer/devcontainer.json, or pass --no-devcontainer\n",
        ),
        (
            ".devcontainer/node/devcontainer.json",
            br#"{ "image": "x", "containerEnv": { "A": 1 } }"#,
            &["--devcontainer", "node"],
            "clauderon: error: devcontainer.json: `containerEnv.A` must be a string\n  fix: fix it in .devcontainer/node/devcontainer.json, or pass --no-devcontainer\n",
        ),
        (
            ".devcontainer.json",
            b"\xff{}",
            &[],
            "clauderon: error: .devcontainer.json is not UTF-8 text\n  fix: fix it in .devcontainer.json, or pass --no-devcontainer\n",
        ),
    ];
    for (rel, body, extra, expected) in cases {
        let env = Env::new();
        write(&env, rel, body);
        let r = dry_create(&env, extra).fails();
        assert_eq!(r.code, 2, "{rel}: {}", r.stderr);
        assert_eq!(r.stderr, expected, "{rel}");
    }
}
