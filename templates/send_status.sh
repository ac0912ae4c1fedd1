#!/usr/bin/env bash
# clauderon hook: Claude Code and Codex run this for each hook event with the
# event's JSON on stdin; Codex's `notify` runs it as
# `send_status.sh --codex-notify JSON` when a turn completes. It forwards
# the useful fields to the clauderon daemon on the host. It must never hurt
# the agent: nothing on stdout, exit 0 whatever happens (daemon down, curl
# missing, odd input), and it never waits for the daemon: the agent waits
# for each hook (SessionStart is before its first model call), so the event
# is queued in a spool file and sent by a background process, which sends
# the queue in order (one sender at a time, under flock, where there is one).
set -euo pipefail

files="${CLAUDERON_SESSION_FILES:-/etc/clauderon/session}"

# A JSON string token ("..." with escapes) that follows "KEY": in the payload.
# The captured token is still JSON-escaped, so it can be copied into JSON as is.
json_string_field() {
  local key="$1" re
  re="\"$key\"[[:space:]]*:[[:space:]]*(\"([^\"\\\\]|\\\\.)*\")"
  if [[ $payload =~ $re ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  else
    printf 'null'
  fi
}

main() {
  local port="${CLAUDERON_HTTP_PORT:-}"
  [ -n "$port" ] && [ -n "${CLAUDERON_SESSION_ID:-}" ] && [ -n "${CLAUDERON_SESSION:-}" ] || return 0
  local event message=null kind=null reason=null source=null
  if [ "${1:-}" = --codex-notify ]; then
    payload="${2:-}"
    # Only a finished turn says something about the status.
    [ "$(json_string_field type)" = '"agent-turn-complete"' ] || return 0
    event='"agent-turn-complete"'
  else
    payload="$(cat)"
    event="$(json_string_field hook_event_name)"
  fi
  case "$event" in
  '"Notification"')
    message="$(json_string_field message)"
    kind="$(json_string_field notification_type)"
    ;;
  '"SessionStart"')
    source="$(json_string_field source)"
    ;;
  '"SessionEnd"')
    reason="$(json_string_field reason)"
    ;;
  esac
  local body agent_session
  agent_session="$(json_string_field session_id)"
  [ "$agent_session" != null ] || agent_session="$(json_string_field thread-id)"
  local now
  # (bash's own clock and strftime: no date process per hook)
  TZ=UTC printf -v now '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  body="{\"event\":$event,\"agent_session_id\":$agent_session,\"tool_name\":$(json_string_field tool_name),\"message\":$message,\"notification_type\":$kind,\"reason\":$reason,\"source\":$source,\"timestamp\":\"$now\"}"
  local url="http://${CLAUDERON_HOST:-host.docker.internal}:$port/api/hooks"
  local spool="${TMPDIR:-/tmp}/clauderon-hooks-$CLAUDERON_SESSION_ID" tick
  # Named by the time it was queued (fixed width), so a glob lists the queue in order.
  tick="${EPOCHREALTIME:-$(date +%s.%N)}"
  if mkdir -p -m 0700 "$spool" && printf '%s' "$body" >"$spool/${tick/[.,]/}-$$.json"; then
    send_queue "$spool" "$url" &
  else
    # No writable temporary directory: this event alone, still in the background.
    printf '%s' "$body" | post "$url" - &
  fi
}

# post URL FILE: one event (FILE, or - for stdin) to the daemon.
post() {
  # The token is read by curl from a header file, so it is not in argv.
  curl --silent --connect-timeout 2 --max-time 4 --output /dev/null \
    --request POST \
    --header "Content-Type: application/json" \
    --header "X-Clauderon-Session: $CLAUDERON_SESSION_ID" \
    --header "X-Clauderon-Session-Name: ${CLAUDERON_SESSION:-}" \
    --header "@$files/hook-auth" \
    --data-binary "@$2" \
    "$1"
}

# send_queue SPOOL URL: sends and removes every queued event, oldest first,
# one sender at a time (a sender that waited for the lock sends what is
# left; without flock, senders may overlap and reorder).
send_queue() {
  local f
  if command -v flock >/dev/null 2>&1; then
    exec 9>>"$1/.lock"
    flock 9 || return 0
  fi
  for f in "$1"/*.json; do
    [ -e "$f" ] || continue
    post "$2" "$f"
    rm -f "$f"
  done
}

# Redirected with exec, not on main's call: a redirection on a call keeps a
# copy of the caller's stdout open, which the background sender would hold,
# and the agent reads the hook's stdout to its end.
exec >/dev/null 2>&1
main "$@" || true
exit 0
