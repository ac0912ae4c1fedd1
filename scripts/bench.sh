#!/usr/bin/env bash
# Side-by-side timings of clauderon commands and the raw engine and git
# commands they wrap, in one run on this machine: median and min-max over
# RUNS runs each (default 7). Not a test: it gates nothing.
#
#   scripts/bench.sh [docker|podman]     (default docker; needs the test image)
#   BIN=/path/to/clauderon scripts/bench.sh   (that binary, not a release build)
#
# create   vs  git worktree add + <engine> run -d of the same image
# list     vs  <engine> ps -a with the same filter (SESSIONS sessions, default 20)
# dry run  vs  git rev-parse + <engine> version
# delete   vs  <engine> rm -f + git worktree remove
# stop, start  vs  <engine> stop / start of an identical session container
# first model call  vs  a bare <engine> run of the same image and real Claude
#          Code CLI: scripts/bench-first-call.sh, run at the end (FIRST_CALL=0
#          skips it; it needs clauderon-test-claude:1 and port 443 free).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ENGINE="${1:-docker}"
RUNS="${RUNS:-7}"
SESSIONS="${SESSIONS:-20}"
IMAGE="${IMAGE:-clauderon-test-base:1}"
# Podman waits 10 s for a container without an init to stop: do not.
RM=(rm -f)
[ "$ENGINE" = podman ] && RM=(rm -f -t 0)

# BIN=path/to/clauderon times that binary instead (say, an older build
# beside this one, in the same run).
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN="$PWD/target/release/clauderon"
fi
work="$(mktemp -d /tmp/clauderon-bench.XXXXXX)"
export CLAUDERON_HOME="$work/home"
mkdir -p "$CLAUDERON_HOME"
printf '[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[agent]\nmount_agent_cli = false\n' >"$CLAUDERON_HOME/config.toml"
repo="$work/repo"
git init -q -b main "$repo"
git -C "$repo" -c user.name=b -c user.email=b@b commit -q --allow-empty -m init
cleanup() {
  "$ENGINE" ps -aq --filter "label=clauderon.home=$CLAUDERON_HOME" | xargs -r "$ENGINE" "${RM[@]}" >/dev/null 2>&1 || true
  "$ENGINE" ps -aq --filter "label=clauderon-bench=1" | xargs -r "$ENGINE" "${RM[@]}" >/dev/null 2>&1 || true
  "$BIN" daemon stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$BIN" daemon start >/dev/null

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
# timed ARRAY CMD...: runs CMD (output discarded) and appends its wall time
# in milliseconds to ARRAY.
timed() {
  local -n into="$1"
  shift
  local t
  t=$(now)
  "$@" >/dev/null 2>&1
  into+=("$(awk -v ns="$(($(now) - t))" 'BEGIN { printf "%.1f", ns / 1e6 }')")
}
# report OURS_NAME BASE_NAME: the two series in $ours and $base, and their ratio.
report() {
  stats "$1" "${ours[@]}"
  stats "$2" "${base[@]}"
  awk -v a="$(median "${ours[@]}")" -v b="$(median "${base[@]}")" 'BEGIN { printf "  -> %.2fx the baseline\n\n", a / b }'
}
clauderon() { "$BIN" "$@"; }
new_session() { clauderon create --backend "$ENGINE" --repo "$repo" --prompt bench --name "$1" --image "$IMAGE" --pull-policy never "${@:2}"; }
raw_create() {
  git -C "$repo" worktree add -q -b "raw$1" "$work/raw$1" HEAD
  "$ENGINE" run -d --label clauderon-bench=1 --name "clauderon-bench-raw$1" "$IMAGE" sleep 600
}
raw_delete() {
  "$ENGINE" "${RM[@]}" "clauderon-bench-raw$1"
  git -C "$repo" worktree remove --force "$work/raw$1"
}
raw_dry_run() {
  git -C "$repo" rev-parse --show-toplevel
  "$ENGINE" version --format '{{.Server.Version}}'
}

echo "clauderon bench: $ENGINE, $(nproc) cores, $(date -u +%Y-%m-%d), $RUNS runs each"
echo

ours=() base=()
for i in $(seq "$RUNS"); do
  timed ours new_session "c$i"
  timed base raw_create "$i"
done
report "clauderon create" "git worktree add + $ENGINE run -d"

ours=() base=()
for i in $(seq "$RUNS"); do
  timed ours clauderon delete --force "c$i"
  timed base raw_delete "$i"
done
report "clauderon delete" "$ENGINE ${RM[*]} + git worktree remove"

# stop and start against the engine's own, on identical session containers.
new_session ours >/dev/null 2>&1
new_session raw >/dev/null 2>&1
for verb in stop start; do
  other=$([ "$verb" = stop ] && echo start || echo stop)
  ours=() base=()
  for _ in $(seq "$RUNS"); do
    timed ours clauderon "$verb" ours
    timed base "$ENGINE" "$verb" clauderon-raw
    # Back to where the next run starts from (not timed).
    clauderon "$other" ours >/dev/null 2>&1
    "$ENGINE" "$other" clauderon-raw >/dev/null
  done
  report "clauderon $verb" "$ENGINE $verb"
  # start is timed from stopped containers.
  if [ "$verb" = stop ]; then
    clauderon stop ours >/dev/null 2>&1
    "$ENGINE" stop clauderon-raw >/dev/null
  fi
done
clauderon delete --force ours >/dev/null 2>&1
clauderon delete --force raw >/dev/null 2>&1

for i in $(seq "$SESSIONS"); do
  new_session "l$i" >/dev/null 2>&1
done
ours=() base=()
for _ in $(seq "$RUNS"); do
  timed ours clauderon list
  timed base "$ENGINE" ps -a --no-trunc --filter "label=clauderon.home=$CLAUDERON_HOME"
done
report "clauderon list ($SESSIONS sessions)" "$ENGINE ps -a --filter"

ours=() base=()
for _ in $(seq "$RUNS"); do
  timed ours new_session dry --dry-run
  timed base raw_dry_run
done
report "clauderon create --dry-run" "git rev-parse + $ENGINE version"

if [ "${FIRST_CALL:-1}" = 1 ]; then
  echo
  BIN="$BIN" scripts/bench-first-call.sh "$ENGINE"
fi
