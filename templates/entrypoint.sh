#!/usr/bin/env bash
# clauderon session entrypoint: starts the agent in /workspace.
# Every value comes from the environment or from files in
# /etc/clauderon/session; nothing user-supplied is spliced into this script.
set -uo pipefail

files=/etc/clauderon/session
state="$HOME/.clauderon"
say() { printf 'clauderon: %s\n' "$*" >&2; }

mkdir -p "$state" 2>/dev/null || say "cannot write $state: is /workspace writable by uid $(id -u 2>/dev/null || echo '?')?"

# Rust build cache: only when the image has sccache, so a missing one never breaks cargo.
# A missing sccache is reported by `image check` and `doctor`, not in every session's log.
if command -v sccache >/dev/null 2>&1; then
  export RUSTC_WRAPPER=sccache
fi

# An agent CLI mounted from its own image (Podman) comes first.
if [ -n "${CLAUDERON_AGENT_DIR:-}" ]; then
  export PATH="$CLAUDERON_AGENT_DIR:$PATH"
fi

agent="${CLAUDERON_AGENT:?CLAUDERON_AGENT is not set}"

# Lifecycle commands (--on-create, --post-start): one file each, run with bash.
run_commands() { # run_commands on-create|post-start
  local f rc
  for f in "$files/$1"-*; do
    [ -e "$f" ] || continue
    say "$1: $(cat "$f")"
    bash -c "$(cat "$f")"
    rc=$?
    if [ "$rc" -ne 0 ]; then
      say "$1 command failed with exit code $rc"
      return "$rc"
    fi
  done
}
# on-create runs once per session (the marker lives in the worktree, so a
# refreshed container skips it); clauderon create waits for the status file.
if [ ! -e "$state/on-create.done" ]; then
  run_commands on-create
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "failed $rc" >"$state/on-create.status"
    exit "$rc"
  fi
  : >"$state/on-create.done"
fi
echo ok >"$state/on-create.status"
run_commands post-start || exit $?

# (checked after the lifecycle commands, which may install it)
if ! command -v "$agent" >/dev/null 2>&1; then
  say "'$agent' is not installed in this image (PATH=$PATH)"
  say "install the $agent CLI in the image, or pick another image with --image"
  exit 127
fi

# The prompt is read from a file, byte for byte (the trailing x keeps final newlines).
prompt="$(cat "$files/prompt"; printf x)"
prompt="${prompt%x}"
# Without one the agent starts and waits for the user (clauderon attach).
with_prompt=(-- "$prompt")
[ -n "$prompt" ] || with_prompt=()

# The agent's options (--model, tool lists, ...): NUL-separated arguments.
args=()
if [ -e "$files/agent-args" ]; then
  while IFS= read -r -d '' a; do args+=("$a"); done <"$files/agent-args"
fi

# The agent's own state file (onboarding, trust, bypass mode accepted):
# generated per session, copied once so the agent can rewrite it freely.
# With CLAUDE_CONFIG_DIR (the session's copy of your ~/.claude) Claude Code
# keeps it, and its transcripts, there instead of in HOME.
claude_dir="${CLAUDE_CONFIG_DIR:-$HOME/.claude}"
claude_state="${CLAUDE_CONFIG_DIR:-$HOME}/.claude.json"
if [ "$agent" = claude ] && [ ! -s "$claude_state" ]; then
  cat "$files/claude.json" >"$claude_state"
fi
# Codex: the session's config (approvals off, workspace trusted, status
# hooks) and its placeholder login, copied into CODEX_HOME at every start.
# A config.toml that is not clauderon's (the repository's own .codex/) is kept.
if [ "$agent" = codex ]; then
  codex_home="${CODEX_HOME:-$HOME/.codex}"
  mkdir -p "$codex_home"
  for f in config.toml auth.json; do
    src=/etc/clauderon/codex/$f
    [ -e "$src" ] || src="$files/codex-${f}"
    [ -e "$src" ] || continue
    first=
    [ -s "$codex_home/$f" ] && IFS= read -r first <"$codex_home/$f"
    if [ "$f" = config.toml ] && [ -n "$first" ] && [[ $first != "# clauderon:"* ]]; then
      say "keeping $codex_home/$f (not written by clauderon): approvals are off by flag, but status hooks are not installed"
      continue
    fi
    cat "$src" >"$codex_home/$f"
  done
  # Hooks are clauderon's own (the session files, read-only), not the repository's.
  codex_flags=(--dangerously-bypass-approvals-and-sandbox --dangerously-bypass-hook-trust)
fi

# A follow-up from `clauderon send`: delivered once (its id is remembered),
# byte for byte, as the resumed conversation's next prompt.
message=
if [ -e "$files/message-id" ] && [ "$(cat "$files/message-id")" != "$(cat "$state/message.delivered" 2>/dev/null)" ]; then
  message="$(cat "$files/message"; printf x)"
  message="${message%x}"
  cat "$files/message-id" >"$state/message.delivered"
fi

# Tell clauderon the container is up and hands over to the agent now
# (create and start wait for this instead of a fixed time).
echo ready >"$state/ready" 2>/dev/null || true

# Print mode (create --print, the API's runs): once, to completion; the
# answer is kept in the worktree's .clauderon/output and printed.
if [ -e "$files/print" ]; then
  # A sent message: the run's conversation goes on with it, once more to completion.
  if [ -n "$message" ]; then
    say "resuming the conversation with the message from clauderon send"
    case "$agent" in
    claude) claude --dangerously-skip-permissions "${args[@]}" -p --continue -- "$message" >"$state/output" ;;
    codex)
      codex exec resume --last "${codex_flags[@]}" --skip-git-repo-check "${args[@]}" \
        -- "$message" </dev/null >"$state/output"
      ;;
    *) say "unknown agent '$agent'"; exit 2 ;;
    esac
    rc=$?
    : >"$state/print.done"
    cat "$state/output"
    exit "$rc"
  fi
  # Once: a restarted print session shows its answer, it does not ask again.
  if [ -e "$state/print.done" ]; then
    say "this session's agent has already answered (below); create a new session to ask again"
    cat "$state/output"
    exit 0
  fi
  case "$agent" in
  claude) claude --dangerously-skip-permissions "${args[@]}" -p -- "$prompt" >"$state/output" ;;
  codex)
    # --skip-git-repo-check: a subdirectory session's workdir is still in the worktree.
    if compgen -G "${CODEX_HOME:-$HOME/.codex}/sessions/*/*/*/*.jsonl" >/dev/null; then
      # Restarted before the run finished: resume it rather than start over.
      say "resuming the interrupted run"
      codex exec resume --last "${codex_flags[@]}" --skip-git-repo-check "${args[@]}" \
        -- "The container restarted before you finished: carry on with the task." </dev/null >"$state/output"
    else
      codex exec "${codex_flags[@]}" --skip-git-repo-check "${args[@]}" -- "$prompt" </dev/null >"$state/output"
    fi
    ;;
  *) say "unknown agent '$agent'"; exit 2 ;;
  esac
  rc=$?
  : >"$state/print.done"
  cat "$state/output"
  exit "$rc"
fi

case "$agent" in
claude)
  if [ -n "$message" ]; then
    say "resuming the conversation with the message from clauderon send"
    exec claude --dangerously-skip-permissions "${args[@]}" --continue -- "$message"
  fi
  # A conversation already on disk means this is a restart: resume it.
  # (also HOME's: transcripts of a session made before CLAUDE_CONFIG_DIR)
  if compgen -G "$claude_dir/projects/*/*.jsonl" >/dev/null || compgen -G "$HOME/.claude/projects/*/*.jsonl" >/dev/null; then
    say "resuming the previous conversation"
    exec claude --dangerously-skip-permissions "${args[@]}" --continue
  fi
  exec claude --dangerously-skip-permissions "${args[@]}" "${with_prompt[@]}"
  ;;
codex)
  # Codex runs its SessionStart hook only when a conversation begins (at the
  # first prompt): a session that waits for the user says so itself.
  started() { printf '{"hook_event_name":"SessionStart","source":"%s"}' "$1" | "$files/send_status.sh" & }
  if [ -n "$message" ]; then
    say "resuming the conversation with the message from clauderon send"
    started resume
    exec codex resume --last "${codex_flags[@]}" "${args[@]}" -- "$message"
  fi
  if compgen -G "${CODEX_HOME:-$HOME/.codex}/sessions/*/*/*/*.jsonl" >/dev/null; then
    say "resuming the previous conversation"
    started resume
    exec codex resume --last "${codex_flags[@]}" "${args[@]}"
  fi
  [ -n "$prompt" ] || started startup
  exec codex "${codex_flags[@]}" "${args[@]}" "${with_prompt[@]}"
  ;;
*)
  say "unknown agent '$agent'"
  exit 2
  ;;
esac
