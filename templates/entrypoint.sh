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
if command -v sccache >/dev/null 2>&1; then
  export RUSTC_WRAPPER=sccache
elif [ ! -e "$state/sccache-warned" ]; then
  say "sccache is not installed in this image: Rust builds run without a compile cache (install sccache to enable it)"
  : >"$state/sccache-warned" 2>/dev/null || true
fi

agent="${CLAUDERON_AGENT:?CLAUDERON_AGENT is not set}"
if ! command -v "$agent" >/dev/null 2>&1; then
  say "'$agent' is not installed in this image (PATH=$PATH)"
  say "install the $agent CLI in the image, or pick another image with --image"
  exit 127
fi

# The prompt is read from a file, byte for byte (the trailing x keeps final newlines).
prompt="$(cat "$files/prompt"; printf x)"
prompt="${prompt%x}"

case "$agent" in
claude)
  # The agent's own state file (onboarding, trust, bypass mode accepted):
  # generated per session, copied once so the agent can rewrite it freely.
  if [ ! -s "$HOME/.claude.json" ]; then
    cat "$files/claude.json" >"$HOME/.claude.json"
  fi
  # A conversation already on disk means this is a restart: resume it.
  if compgen -G "$HOME/.claude/projects/*/*.jsonl" >/dev/null; then
    say "resuming the previous conversation"
    exec claude --dangerously-skip-permissions --continue
  fi
  exec claude --dangerously-skip-permissions -- "$prompt"
  ;;
codex)
  if compgen -G "${CODEX_HOME:-$HOME/.codex}/sessions/*/*/*/*.jsonl" >/dev/null; then
    say "resuming the previous conversation"
    exec codex resume --last --dangerously-bypass-approvals-and-sandbox
  fi
  exec codex --dangerously-bypass-approvals-and-sandbox -- "$prompt"
  ;;
*)
  say "unknown agent '$agent'"
  exit 2
  ;;
esac
