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

behavior="${STUB_BEHAVIOR:-sleep}"
case "$behavior" in
  sleep)
    echo "stub agent running"
    while :; do
      sleep 1 &
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
