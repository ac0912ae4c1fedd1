#!/usr/bin/env bash
# Side-by-side timings of clauderon commands and the raw engine and git
# commands they wrap, in one run on this machine: median and min-max over
# RUNS runs each (default 7). Not a test: it gates nothing.
#
#   scripts/bench.sh [docker|podman]     (default docker; needs the test image)
#
# create   vs  git worktree add + <engine> run -d of the same image
# list     vs  <engine> ps -a with the same filter (SESSIONS sessions, default 20)
# dry run  vs  git rev-parse + <engine> version
# delete   vs  <engine> rm -f + git worktree remove
# stop, start  vs  <engine> stop / start of an identical session container
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ENGINE="${1:-docker}"
RUNS="${RUNS:-7}"
SESSIONS="${SESSIONS:-20}"
IMAGE="${IMAGE:-clauderon-test-base:1}"
# Podman waits 10 s for a container without an init to stop: do not.
RM=(rm -f)
[ "$ENGINE" = podman ] && RM=(rm -f -t 0)

cargo build --release --quiet
BIN="$PWD/target/release/clauderon"
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

now() { date +%s%N; }
# stats NAME MS...: median and range in milliseconds
stats() {
  local name="$1"
  shift
  printf '%s\n' "$@" | sort -n | awk -v name="$name" '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%-44s median %7.1f ms  (min %.1f, max %.1f, %d runs)\n", name, m, v[1], v[NR], NR }'
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "  -> %.2fx the baseline\n\n", a / b }'; }

echo "clauderon bench: $ENGINE, $(nproc) cores, $(date -u +%Y-%m-%d), $RUNS runs each"
echo

# --- create vs worktree add + run -d --------------------------------------------
ours=() base=()
for i in $(seq "$RUNS"); do
  t=$(now)
  "$BIN" create --backend "$ENGINE" --repo "$repo" --prompt bench --name "c$i" --image "$IMAGE" --pull-policy never >/dev/null 2>&1
  ours+=($((($(now) - t) / 1000)))
  t=$(now)
  git -C "$repo" worktree add -q -b "raw$i" "$work/raw$i" HEAD
  "$ENGINE" run -d --label clauderon-bench=1 --name "clauderon-bench-raw$i" "$IMAGE" sleep 600 >/dev/null
  base+=($((($(now) - t) / 1000)))
done
to_ms() { for us in "$@"; do awk -v u="$us" 'BEGIN { printf "%.1f\n", u / 1000 }'; done; }
mapfile -t o < <(to_ms "${ours[@]}")
mapfile -t b < <(to_ms "${base[@]}")
stats "clauderon create" "${o[@]}"
stats "git worktree add + $ENGINE run -d" "${b[@]}"
ratio "$(median "${o[@]}")" "$(median "${b[@]}")"

# --- delete vs rm -f + worktree remove ------------------------------------------
ours=() base=()
for i in $(seq "$RUNS"); do
  t=$(now)
  "$BIN" delete --force "c$i" >/dev/null 2>&1
  ours+=($((($(now) - t) / 1000)))
  t=$(now)
  "$ENGINE" "${RM[@]}" "clauderon-bench-raw$i" >/dev/null
  git -C "$repo" worktree remove --force "$work/raw$i"
  base+=($((($(now) - t) / 1000)))
done
mapfile -t o < <(to_ms "${ours[@]}")
mapfile -t b < <(to_ms "${base[@]}")
stats "clauderon delete" "${o[@]}"
stats "$ENGINE ${RM[*]} + git worktree remove" "${b[@]}"
ratio "$(median "${o[@]}")" "$(median "${b[@]}")"

# --- stop and start vs the engine's own, on identical session containers ------------
"$BIN" create --backend "$ENGINE" --repo "$repo" --prompt bench --name ours --image "$IMAGE" --pull-policy never >/dev/null 2>&1
"$BIN" create --backend "$ENGINE" --repo "$repo" --prompt bench --name raw --image "$IMAGE" --pull-policy never >/dev/null 2>&1
for verb in stop start; do
  other=$([ "$verb" = stop ] && echo start || echo stop)
  ours=() base=()
  for _ in $(seq "$RUNS"); do
    t=$(now)
    "$BIN" "$verb" ours >/dev/null 2>&1
    ours+=($((($(now) - t) / 1000)))
    t=$(now)
    "$ENGINE" "$verb" clauderon-raw >/dev/null
    base+=($((($(now) - t) / 1000)))
    # Back to where the next run starts from (not timed).
    "$BIN" "$other" ours >/dev/null 2>&1
    "$ENGINE" "$other" clauderon-raw >/dev/null
  done
  # start is timed from stopped containers.
  [ "$verb" = stop ] && "$BIN" stop ours >/dev/null 2>&1 && "$ENGINE" stop clauderon-raw >/dev/null
  mapfile -t o < <(to_ms "${ours[@]}")
  mapfile -t b < <(to_ms "${base[@]}")
  stats "clauderon $verb" "${o[@]}"
  stats "$ENGINE $verb" "${b[@]}"
  ratio "$(median "${o[@]}")" "$(median "${b[@]}")"
done
"$BIN" delete --force ours >/dev/null 2>&1
"$BIN" delete --force raw >/dev/null 2>&1

# --- list with SESSIONS sessions vs ps -------------------------------------------
for i in $(seq "$SESSIONS"); do
  "$BIN" create --backend "$ENGINE" --repo "$repo" --prompt bench --name "l$i" --image "$IMAGE" --pull-policy never >/dev/null 2>&1
done
ours=() base=()
for _ in $(seq "$RUNS"); do
  t=$(now)
  "$BIN" list >/dev/null
  ours+=($((($(now) - t) / 1000)))
  t=$(now)
  "$ENGINE" ps -a --no-trunc --filter "label=clauderon.home=$CLAUDERON_HOME" >/dev/null
  base+=($((($(now) - t) / 1000)))
done
mapfile -t o < <(to_ms "${ours[@]}")
mapfile -t b < <(to_ms "${base[@]}")
stats "clauderon list ($SESSIONS sessions)" "${o[@]}"
stats "$ENGINE ps -a --filter" "${b[@]}"
ratio "$(median "${o[@]}")" "$(median "${b[@]}")"

# --- dry run vs rev-parse + version ----------------------------------------------
ours=() base=()
for _ in $(seq "$RUNS"); do
  t=$(now)
  "$BIN" create --backend "$ENGINE" --repo "$repo" --prompt bench --name dry --image "$IMAGE" --pull-policy never --dry-run >/dev/null 2>&1
  ours+=($((($(now) - t) / 1000)))
  t=$(now)
  git -C "$repo" rev-parse --show-toplevel >/dev/null
  "$ENGINE" version --format '{{.Server.Version}}' >/dev/null
  base+=($((($(now) - t) / 1000)))
done
mapfile -t o < <(to_ms "${ours[@]}")
mapfile -t b < <(to_ms "${base[@]}")
stats "clauderon create --dry-run" "${o[@]}"
stats "git rev-parse + $ENGINE version" "${b[@]}"
ratio "$(median "${o[@]}")" "$(median "${b[@]}")"
