#!/usr/bin/env bash
# Stub agent CLI used by the clauderon test suite.
#
# Installed in test images as both /usr/local/bin/claude and /usr/local/bin/codex.
# On every start it records how it was invoked into ${STUB_OUT:-$HOME/.clauderon/stub}:
#   argv  - arguments, each terminated by a NUL byte
#   env   - `env -0` output
#   cwd   - working directory
#   id    - uid:gid
#   name  - basename of $0 (claude / codex)
#   runs  - one line "start" appended per invocation
# In print mode it keeps the conversation's prompts in
# $HOME/.claude/stub-conversation; resumed (--continue, `codex exec resume`),
# its answer names them: "stub answer to: P2 (the conversation so far: P1|P2)".
# Like Claude Code, it runs the hooks registered in the managed settings
# (/etc/claude-code/managed-settings.json) with a realistic JSON payload on
# stdin: SessionStart, then UserPromptSubmit when started with a prompt; then,
# while sleeping, one event per line appended to $out/control:
#   PreToolUse | PostToolUse | PermissionRequest | Stop | SessionEnd
#   Notification permission_prompt|idle_prompt
# Each hook run is logged to $out/hooks as "EVENT exit=N ms=N".
# Then it behaves per $STUB_BEHAVIOR:
#   unset | sleep  - print "stub agent running", wait until SIGTERM/SIGINT, exit 0
#   exit:N         - exit with status N immediately
set -u
# Installed first so that a stop request arriving while we record is not lost
# (as PID 1 in a container, signals without a handler are ignored).
trap 'exit 0' TERM INT

out="${STUB_OUT:-${HOME:-/tmp}/.clauderon/stub}"
mkdir -p "$out"
if [ "$#" -gt 0 ]; then printf '%s\0' "$@"; fi > "$out/argv"   # no args -> empty file
env -0 > "$out/env"
pwd > "$out/cwd"
printf '%s:%s\n' "$(id -u)" "$(id -g)" > "$out/id"
printf '%s\n' "${0##*/}" > "$out/name"
echo start >> "$out/runs"

settings=/etc/claude-code/managed-settings.json
sid="stub-$$"

# The command registered for an event (in clauderon's pretty-printed settings).
hook_command() {
  [ -r "$settings" ] || return 0
  awk -v ev="\"$1\": [" 'index($0, ev) { found = 1 }
    found && /"command":/ { sub(/^[^:]*: *"/, ""); sub(/",?$/, ""); print; exit }' "$settings"
}

payload() { # payload EVENT [ARG]
  local common="\"session_id\":\"$sid\",\"transcript_path\":\"$HOME/.claude/projects/-workspace/$sid.jsonl\",\"cwd\":\"$PWD\",\"hook_event_name\":\"$1\""
  case "$1" in
  SessionStart) echo "{$common,\"source\":\"${2:-startup}\"}" ;;
  UserPromptSubmit) echo "{$common,\"prompt\":\"(the prompt)\"}" ;;
  PreToolUse | PermissionRequest) echo "{$common,\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls -la\",\"description\":\"List \\\"files\\\" here\"}}" ;;
  PostToolUse) echo "{$common,\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls\"},\"tool_response\":{\"stdout\":\"a\\nb\",\"message\":\"nested, not top-level\"}}" ;;
  Notification)
    case "${2:-permission_prompt}" in
    idle_prompt) echo "{$common,\"message\":\"Claude is waiting for your input\",\"notification_type\":\"idle_prompt\"}" ;;
    *) echo "{$common,\"message\":\"Claude needs your permission to use Bash\",\"notification_type\":\"permission_prompt\"}" ;;
    esac ;;
  Stop) echo "{$common,\"stop_hook_active\":false}" ;;
  SessionEnd) echo "{$common,\"reason\":\"${2:-other}\"}" ;;
  *) echo "{$common}" ;;
  esac
}

fire() { # fire EVENT [ARG]
  local cmd start rc
  cmd="$(hook_command "$1")"
  [ -n "$cmd" ] || return 0
  start=$(date +%s%N)
  payload "$@" | bash -c "$cmd" >"$out/hook-stdout" 2>&1
  rc=$?
  echo "$1 exit=$rc ms=$((($(date +%s%N) - start) / 1000000))" >>"$out/hooks"
}

resume=0
for a in "$@"; do [ "$a" = --continue ] && resume=1; done
# Like Claude Code, leave a transcript behind, so a restart resumes.
mkdir -p "$HOME/.claude/projects/-workspace" && echo '{}' >>"$HOME/.claude/projects/-workspace/$sid.jsonl"
if [ "$resume" = 1 ]; then fire SessionStart resume; else fire SessionStart startup; fi
# A prompt comes after `--` (without one the agent waits for the user).
has_prompt=0
for a in "$@"; do [ "$a" = -- ] && has_prompt=1; done
if [ "$resume" = 0 ] && [ "$has_prompt" = 1 ]; then fire UserPromptSubmit; fi

# Print mode (claude -p / codex exec): answer once, like the real CLIs, and exit.
print=0
for a in "$@"; do [ "$a" = -p ] && print=1; done
[ "${1:-}" = exec ] && print=1
if [ "$print" = 1 ]; then
  fire Stop
  answer="stub answer to: ${!#}"
  # The conversation's prompts, one a line: a resumed one (--continue,
  # `exec resume`) remembers the earlier ones and names them in its answer.
  conversation="$HOME/.claude/stub-conversation"
  if [ "$resume" = 1 ] || [ "${2:-}" = resume ]; then
    answer="$answer (the conversation so far: $(tr '\n' '|' <"$conversation" 2>/dev/null)${!#})"
  else
    : >"$conversation"
  fi
  { printf '%s' "${!#}" | tr '\n' ' '; echo; } >>"$conversation"
  json=0
  for a in "$@"; do [ "$a" = json ] || [ "$a" = --json ] && json=1; done
  if [ "$json" = 1 ]; then
    printf '{"type":"result","result":"%s","session_id":"%s","usage":{"input_tokens":3,"output_tokens":5}}\n' "stub answer" "$sid"
  else
    echo "$answer"
  fi
  case "${STUB_BEHAVIOR:-}" in exit:*) exit "${STUB_BEHAVIOR#exit:}" ;; esac
  exit 0
fi

behavior="${STUB_BEHAVIOR:-sleep}"
case "$behavior" in
  sleep)
    echo "stub agent running"
    # Control lines already acted on survive restarts.
    done_lines=$(cat "$out/control.done" 2>/dev/null || echo 0)
    while :; do
      if [ -f "$out/control" ]; then
        total=$(wc -l <"$out/control")
        while [ "$done_lines" -lt "$total" ]; do
          done_lines=$((done_lines + 1))
          read -r ev arg < <(sed -n "${done_lines}p" "$out/control")
          fire "$ev" "${arg:-}"
          echo "$done_lines" >"$out/control.done"
        done
      fi
      sleep 0.2 &
      wait $! 2>/dev/null
    done
    ;;
  exit:*)
    code="${behavior#exit:}"
    case "$code" in
      ''|*[!0-9]*) echo "stub agent: bad exit code in STUB_BEHAVIOR=$behavior" >&2; exit 2 ;;
    esac
    exit "$code"
    ;;
  *)
    echo "stub agent: unknown STUB_BEHAVIOR=$behavior" >&2
    exit 2
    ;;
esac
