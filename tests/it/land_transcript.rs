//! `transcript` of recorded Claude Code and Codex sessions, placed in a
//! real Docker session's worktree: prompts, the assistant's text, tool
//! calls and cut results, with no terminal escape codes; a link planted
//! among the transcripts is not followed.

use crate::common::{Env, docker_ready, unique};
use serde_json::Value;

const CLAUDE: &str = include_str!("../support/transcripts/claude-session.jsonl");
const CODEX: &str = include_str!("../support/transcripts/codex-rollout.jsonl");

/// Where the session's agent keeps its conversations: its copy of the
/// user's agent configuration when it has one (`CLAUDE_CONFIG_DIR`,
/// `CODEX_HOME`), else the worktree (`HOME`, `.claude/` or `.codex/`).
fn state_dir(env: &Env, name: &str, agent: &str) -> std::path::PathBuf {
    let copied = env
        .home()
        .join("sessions")
        .join(name)
        .join("agent-config")
        .join(agent);
    match copied.is_dir() {
        true => copied,
        false => env.worktree(name).join(format!(".{agent}")),
    }
}

fn place(env: &Env, name: &str, dir: &str, file: &str, text: &str) {
    let agent = if dir.starts_with("projects") {
        "claude"
    } else {
        "codex"
    };
    let dir = state_dir(env, name, agent).join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(dir.join(file), text).unwrap();
}

#[test]
fn transcript_reads_claude_code_and_codex_sessions() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("transcript");
    env.create(&name, "x", &[]).ok();
    env.wait_for_runs(&name, 1);
    let planted = state_dir(&env, &name, "claude").join("projects/planted");
    std::fs::create_dir_all(&planted).unwrap();
    place(&env, &name, "projects/-workspace", "0b9d6a52.jsonl", CLAUDE);
    std::os::unix::fs::symlink("/etc/passwd", planted.join("zzz.jsonl")).unwrap();
    let out = env.run(&["transcript", &name]).ok().stdout;
    for want in [
        "=== turn 1  2026-12-07T02:41:10.512Z",
        "> List the files, then say done",
        "I'll list the files in the workspace.",
        "  -> Bash: ls -la",
        "     | total 16",
        "output truncated: 11 line(s) in all",
        "The workspace has a README and a sub directory. done",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    assert!(
        !out.contains('\u{1b}') && !out.contains("line 8") && !out.contains("root:x:0"),
        "{out}"
    );
    let json = env.run(&["--json", "transcript", &name]).ok().stdout;
    let turns: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(turns.len(), 1, "{json}");
    assert_eq!(turns[0]["prompt"], "List the files, then say done");
    assert_eq!(turns[0]["items"][2]["tool"], "Bash");

    let codex = unique("transcriptx");
    env.create(&codex, "x", &["--agent", "codex"]).ok();
    place(
        &env,
        &codex,
        "sessions/2026/12/07",
        "rollout-2026-12-07T02-50-01-0199f0a2.jsonl",
        CODEX,
    );
    let out = env.run(&["transcript", &codex]).ok().stdout;
    for want in [
        "> Count the files",
        "  -> shell: bash -lc ls | wc -l",
        "     | 2",
        "There are 2 files.",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    assert!(!out.contains("environment_context"), "{out}");
}
