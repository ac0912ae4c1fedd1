#!/usr/bin/env bash
# clauderon hook: Claude Code and Codex run this for each hook event with the
# event's JSON on stdin; Codex's `notify` runs it as
# `send_status.sh --codex-notify JSON` when a turn completes. It forwards
# the useful fields to the clauderon daemon on the host. It must never hurt the agent: short timeouts, nothing on stdout, and
# exit 0 whatever happens (daemon down, curl missing, odd input).
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
  body="{\"event\":$event,\"agent_session_id\":$agent_session,\"tool_name\":$(json_string_field tool_name),\"message\":$message,\"notification_type\":$kind,\"reason\":$reason,\"source\":$source,\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
  # The token is read by curl from a header file, so it is not in argv.
  printf '%s' "$body" | curl --silent --connect-timeout 2 --max-time 4 --output /dev/null \
    --request POST \
    --header "Content-Type: application/json" \
    --header "X-Clauderon-Session: $CLAUDERON_SESSION_ID" \
    --header "X-Clauderon-Session-Name: ${CLAUDERON_SESSION:-}" \
    --header "@$files/hook-auth" \
    --data-binary @- \
    "http://${CLAUDERON_HOST:-host.docker.internal}:$port/api/hooks"
}

main "$@" >/dev/null 2>&1 || true
exit 0
