#!/usr/bin/env bash
# How long until the agent makes its first model call: the REAL Claude Code
# CLI (clauderon-test-claude:1, scripts/build-test-images.sh, the version in
# templates/claude-code.version) against a local Messages API stand-in
# (tests/support/messages.py) serving TLS as api.anthropic.com. Timed from
# the command's start to the stand-in's arrival time of the first
# `POST /v1/messages` (its log's `t`). Not a test: it gates nothing.
#
#   scripts/bench-first-call.sh [docker|podman]      (scripts/bench.sh runs it too)
#
# bare         <engine> run --rm of the same image and CLI, in print mode, on the
#              engine's bridge network with --add-host api.anthropic.com:<gateway>
#              and the stand-in's CA trusted (NODE_EXTRA_CA_CERTS), the real key
#              in its environment: the baseline.
# print        clauderon create --print (the stand-in through [proxy.resolve]).
# interactive  clauderon create (the agent in its TTY with the same prompt).
# bare tty     <engine> run -d -t of the same CLI, interactive, its screens
#              answered as a session's are: what the interactive CLI costs itself.
# 10 at once   ten clauderon create --print started together: each one's time.
# The three single figures are interleaved round by round (RUNS, default 5).
# Env: RUNS, PARALLEL (default 10), IMAGE, BIN (a clauderon binary: no build),
#      STANDIN_PORT (default 443: the bare run's CLI calls api.anthropic.com:443).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ENGINE="${1:-docker}"
RUNS="${RUNS:-5}"
PARALLEL="${PARALLEL:-10}"
IMAGE="${IMAGE:-clauderon-test-claude:1}"
PORT="${STANDIN_PORT:-443}"
KEY="sk-ant-api03-bench-REAL-key"
RM=(rm -f)
[ "$ENGINE" = podman ] && RM=(rm -f -t 0)

"$ENGINE" image inspect "$IMAGE" >/dev/null 2>&1 \
  || { echo "$IMAGE is missing in $ENGINE: run ENGINE=$ENGINE scripts/build-test-images.sh" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN="$PWD/target/release/clauderon"
fi
work="$(mktemp -d /tmp/clauderon-firstcall.XXXXXX)"
export CLAUDERON_HOME="$work/home"
mkdir -p "$CLAUDERON_HOME"
cleanup() {
  "$ENGINE" ps -aq --filter "label=clauderon.home=$CLAUDERON_HOME" | xargs -r "$ENGINE" "${RM[@]}" >/dev/null 2>&1 || true
  "$ENGINE" ps -aq --filter "label=clauderon-bench-firstcall=$work" | xargs -r "$ENGINE" "${RM[@]}" >/dev/null 2>&1 || true
  "$BIN" daemon stop >/dev/null 2>&1 || true
  [ -n "${standin:-}" ] && kill "$standin" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A CA and a leaf for api.anthropic.com, as the real API would present one.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=api.anthropic.com \
  -keyout "$work/leaf.key" -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:api.anthropic.com\n' >"$work/san"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/san" -out "$work/leaf.pem" 2>/dev/null
log="$work/messages.jsonl"
python3 tests/support/messages.py --log "$log" --key "$KEY" --cert "$work/leaf.pem" \
  --tls-key "$work/leaf.key" --port "$PORT" --bind 0.0.0.0 >"$work/standin.port" 2>"$work/standin.err" &
standin=$!
for _ in $(seq 50); do [ -s "$work/standin.port" ] && break; sleep 0.1; done
[ -s "$work/standin.port" ] || { echo "the stand-in did not start on port $PORT" >&2; exit 1; }

cat >"$CLAUDERON_HOME/config.toml" <<EOF
[daemon]
http_port = 0
[proxy]
port = 0
upstream_ca_file = "$work/ca.pem"
[proxy.resolve]
"api.anthropic.com" = "127.0.0.1:$PORT"
[agent]
mount_agent_cli = false
EOF
# The key in the environment, as a user has it: create then gives the session
# the API key placeholder (the daemon holds the key itself).
export ANTHROPIC_API_KEY="$KEY"
"$BIN" daemon start >/dev/null
repo="$work/repo"
git init -q -b main "$repo"
git -C "$repo" -c user.name=b -c user.email=b@b commit -q --allow-empty -m init
gateway=$("$ENGINE" network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}' 2>/dev/null || true)
[ "$ENGINE" = podman ] && gateway=$(podman network inspect podman --format '{{range .Subnets}}{{.Gateway}}{{end}}')

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
# first_call START MARKER: milliseconds from START (ns) to the stand-in's first
# POST /v1/messages whose user text holds MARKER (empty if none came).
first_call() {
  python3 - "$log" "$1" "$2" <<'EOF'
import json, sys
log, start, marker = sys.argv[1], int(sys.argv[2]) / 1e9, sys.argv[3]
ts = []
for line in open(log):
    e = json.loads(line)
    if e.get("method") == "POST" and e["path"].partition("?")[0].endswith("/v1/messages") and marker in e.get("text", ""):
        ts.append(e["t"])
print(f"{(min(ts) - start) * 1000:.1f}" if ts else "")
EOF
}
# wait_first_call START MARKER: polls (bounded, 60 s) until it came.
wait_first_call() {
  local ms
  for _ in $(seq 600); do
    ms=$(first_call "$1" "$2")
    [ -n "$ms" ] && { echo "$ms"; return; }
    sleep 0.1
  done
  echo "no model call for $2 within 60 s (stand-in log: $log)" >&2
  exit 1
}
bare() { # bare MARKER
  "$ENGINE" run --rm --label "clauderon-bench-firstcall=$work" --user 0:0 \
    --add-host "api.anthropic.com:$gateway" \
    --mount "type=bind,src=$repo,dst=/workspace" --workdir /workspace \
    --mount "type=bind,src=$work/ca.pem,dst=/etc/bench-ca.pem,readonly" \
    --env HOME=/workspace --env IS_SANDBOX=1 --env DISABLE_AUTOUPDATER=1 \
    --env "ANTHROPIC_API_KEY=$KEY" --env NODE_EXTRA_CA_CERTS=/etc/bench-ca.pem \
    "$IMAGE" claude --dangerously-skip-permissions -p -- "say hello $1!"
}
# bare_tty MARKER: the same CLI interactive (in a TTY, the prompt its first
# message), detached, with a ~/.claude.json that has its screens answered as a
# session's has (onboarding, bypass mode, the workspace trusted, the key
# approved): the baseline of an interactive session. Removed by bare_tty_rm.
bare_tty() {
  local home="$work/tty-home-$1"
  mkdir -p "$home"
  python3 - "$home/.claude.json" "${KEY: -20}" <<'PY'
import json, sys
trusted = {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}
json.dump({"hasCompletedOnboarding": True, "bypassPermissionsModeAccepted": True,
           "projects": {"/workspace": trusted},
           "customApiKeyResponses": {"approved": [sys.argv[2]], "rejected": []}},
          open(sys.argv[1], "w"))
PY
  "$ENGINE" run -d -t --name "clauderon-firstcall-tty-$1-$$" --label "clauderon-bench-firstcall=$work" --user 0:0 \
    --add-host "api.anthropic.com:$gateway" \
    --mount "type=bind,src=$repo,dst=/workspace" --workdir /workspace \
    --mount "type=bind,src=$home,dst=/bench-home" \
    --mount "type=bind,src=$work/ca.pem,dst=/etc/bench-ca.pem,readonly" \
    --env HOME=/bench-home --env IS_SANDBOX=1 --env DISABLE_AUTOUPDATER=1 --env TERM=xterm-256color \
    --env "ANTHROPIC_API_KEY=$KEY" --env NODE_EXTRA_CA_CERTS=/etc/bench-ca.pem \
    "$IMAGE" claude --dangerously-skip-permissions -- "say hello $1!"
}
bare_tty_rm() { "$ENGINE" "${RM[@]}" "clauderon-firstcall-tty-$1-$$" >/dev/null 2>&1 || true; }
session() { # session NAME [create flags]: created, then waited for (untimed part)
  "$BIN" create --backend "$ENGINE" --repo "$repo" --prompt "say hello $1!" --name "$1" \
    --image "$IMAGE" --pull-policy never "${@:2}"
}
# timed_call SERIES NAME FUNCTION [ARGS]: runs FUNCTION NAME ARGS, appends
# the first call's time to SERIES.
timed_call() {
  local -n into="$1"
  local t name="$2" fn="$3"
  shift 3
  t=$(now)
  "$fn" "$name" "$@" >>"$work/runs.log" 2>&1 || { echo "$fn $name $* failed (see below)" >&2; tail -n 20 "$work/runs.log" >&2; exit 1; }
  into+=("$(wait_first_call "$t" "hello $name!")")
}
delete() { "$BIN" delete --force "$1" >/dev/null 2>&1 || true; }
# A daemon that is not running is started before a session's timed part
# (not in it): on this shared machine daemons were seen to vanish between
# rounds; each start is counted in the daemon's log and reported.
ensure_daemon() { "$BIN" daemon start >/dev/null; }
ratio() { awk -v a="$(median "${@:2}")" -v b="$1" 'BEGIN { printf "  -> %.2fx the bare run\n", a / b }'; }

# stages: one print-mode session and one bare run, each stage's end as
# milliseconds from the command's start: the worktree (its .git file
# written), the container started (the engine's StartedAt), the entrypoint
# handing over to the agent (its ready marker), the CLI's first request at
# the stand-in, its first model call; and every request the proxy saw
# (its audit log: start, duration, method, host, path).
stages() {
  local t0 tb
  ensure_daemon
  t0=$(now)
  # Print mode, as the bare run: the interactive CLI does more of its own
  # before its first call (its TUI), which is not the session's.
  session stage --print >>"$work/runs.log" 2>&1
  wait_first_call "$t0" "hello stage!" >/dev/null
  tb=$(now)
  "$ENGINE" run --name "clauderon-firstcall-bare-$$" --label "clauderon-bench-firstcall=$work" --user 0:0 \
    --add-host "api.anthropic.com:$gateway" \
    --mount "type=bind,src=$repo,dst=/workspace" --workdir /workspace \
    --mount "type=bind,src=$work/ca.pem,dst=/etc/bench-ca.pem,readonly" \
    --env HOME=/workspace --env IS_SANDBOX=1 --env DISABLE_AUTOUPDATER=1 \
    --env "ANTHROPIC_API_KEY=$KEY" --env NODE_EXTRA_CA_CERTS=/etc/bench-ca.pem \
    "$IMAGE" claude --dangerously-skip-permissions -p -- "say hello stagebare!" >/dev/null 2>&1
  python3 - "$log" "$t0" "$tb" "$CLAUDERON_HOME" \
    "$("$ENGINE" inspect --format '{{.State.StartedAt}}' clauderon-stage)" \
    "$("$ENGINE" inspect --format '{{.State.StartedAt}}' "clauderon-firstcall-bare-$$")" <<'PY'
import datetime, json, os, re, sys
log, t0, tb, home, started, bare_started = sys.argv[1:]
t0, tb = int(t0) / 1e9, int(tb) / 1e9
def rfc(s):  # the engine's start time (Docker: RFC 3339; Podman: "2026-12-07 06:41:07.12 +0000 UTC")
    m = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)? ?(Z|[+-]\d\d:?\d\d)", s.strip())
    zone = m.group(4).replace("Z", "+00:00")
    zone = zone if ":" in zone else zone[:3] + ":" + zone[3:]
    base = datetime.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{zone}")
    return base.timestamp() + float(m.group(3) or 0)
reqs = [json.loads(l) for l in open(log)]
def first(marker, post):
    # requests of a run: from its start to its first model call (marker)
    call = min(e["t"] for e in reqs if marker in e.get("text", "") and e["method"] == "POST")
    return call
wt = os.path.join(home, "worktrees", "stage")
rows = [
    ("worktree made (.git written)", os.stat(os.path.join(wt, ".git")).st_mtime),
    ("container started (engine's StartedAt)", rfc(started)),
    ("entrypoint hands over (ready marker)", os.stat(os.path.join(wt, ".clauderon", "ready")).st_mtime),
]
call = first("hello stage!", True)
before = [e for e in reqs if rows[-1][1] <= e["t"] <= call]
if before:
    rows.append(("CLI's first request at the stand-in", before[0]["t"]))
rows.append(("first model call", call))
def show(title, start, rows):
    print(title)
    prev = start
    for name, t in rows:
        print(f"  {name:<44} {1000 * (t - start):8.1f}  (+{1000 * (t - prev):.1f})")
        prev = t
show("\nstages, clauderon create --print, ms from the command's start:", t0, rows)
bcall = first("hello stagebare!", True)
brows = [("container started (engine's StartedAt)", rfc(bare_started))]
bbefore = [e for e in reqs if brows[0][1] <= e["t"] <= bcall]
if bbefore:
    brows.append(("CLI's first request at the stand-in", bbefore[0]["t"]))
brows.append(("first model call", bcall))
show("stages, bare run, ms from the command's start:", tb, brows)
print("requests through the proxy before the first model call (audit log; ms from create's start):")
for line in open(os.path.join(home, "audit.jsonl")):
    e = json.loads(line)
    if e.get("session") != "stage" or e["time_ms"] / 1000 > call + 0.5:
        continue
    print(f"  {e['time_ms'] - 1000 * t0:8.1f}  {e['duration_ms']:5} ms  {e['status']}  {e['method']} {e['host']}{e['path']}")
print("requests at the stand-in before the first model call:")
for e in before:
    print(f"  {1000 * (e['t'] - t0):8.1f}  {e['method']} {e['path']}")
print("requests at the stand-in before the bare run's first model call (ms from its start):")
for e in bbefore:
    print(f"  {1000 * (e['t'] - tb):8.1f}  {e['method']} {e['path']}")
PY
  "$ENGINE" "${RM[@]}" "clauderon-firstcall-bare-$$" >/dev/null 2>&1 || true
  # The hook and per-request timings run in a session that stays up.
  delete stage
  session hooks >>"$work/runs.log" 2>&1
}

# hook_times: the status script's own time (20 runs each, 3 when hung, in the
# interactive session's container): this build's and the one in git's main branch, with
# the daemon up, hung (SIGSTOP: it accepts and never answers) and stopped.
hook_times() {
  local old="$work/send_status.main.sh" pid
  git show main:templates/send_status.sh >"$old" 2>/dev/null || cp templates/send_status.sh "$old"
  "$ENGINE" exec -i clauderon-hooks bash -c 'cat >/tmp/send_status.main.sh' <"$old"
  pid=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"pid\"])" "$CLAUDERON_HOME/daemon.json")
  for state in up hung stopped; do
    case "$state" in
    hung) kill -STOP "$pid" ;;
    stopped) kill -CONT "$pid"; "$BIN" daemon stop >/dev/null ;;
    esac
    for which in main new; do
      script=/etc/clauderon/session/send_status.sh
      [ "$which" = main ] && script=/tmp/send_status.main.sh
      # (a hung daemon held the old script 4 s a run: 3 runs there)
      n=20
      [ "$state" = hung ] && n=3
      mapfile -t ms < <("$ENGINE" exec clauderon-hooks bash -c '
        for i in $(seq "$2"); do
          t=${EPOCHREALTIME/[.,]/}
          printf "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\"}" | bash "$1"
          e=${EPOCHREALTIME/[.,]/}
          echo "$(( (e - t) / 1000 )).$(( (e - t) / 100 % 10 ))"
        done' _ "$script" "$n")
      stats "hook ($which script), daemon $state" "${ms[@]}"
    done
  done
  ANTHROPIC_API_KEY="$KEY" "$BIN" daemon start >/dev/null
}

# per_request: one HTTPS request on a new connection (curl, 20 each, GET of
# an unknown route: the stand-in's 404), from the interactive session's container
# through its forwarder and the proxy (CONNECT, the minted leaf's TLS, TLS
# upstream), and from a bare container straight to the stand-in.
per_request() {
  local loop='for i in $(seq 20); do curl -s -o /dev/null -w "%{time_total}\n" "$@" https://api.anthropic.com/api/bench; done'
  mapfile -t ms < <("$ENGINE" exec clauderon-hooks bash -c "$loop" _ | awk '{ printf "%.1f\n", $1 * 1000 }')
  stats "one request, new connection, through the proxy" "${ms[@]}"
  mapfile -t ms < <("$ENGINE" run --rm --label "clauderon-bench-firstcall=$work" \
    --add-host "api.anthropic.com:$gateway" \
    --mount "type=bind,src=$work/ca.pem,dst=/etc/bench-ca.pem,readonly" \
    "$IMAGE" bash -c "$loop" _ --cacert /etc/bench-ca.pem | awk '{ printf "%.1f\n", $1 * 1000 }')
  stats "one request, new connection, direct (bare)" "${ms[@]}"
}

echo "first model call: $ENGINE, $IMAGE, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d), $RUNS rounds"
# One untimed warm-up of each (page cache, the daemon's first leaf).
bare warmup >/dev/null 2>&1 || true
session warmup --print >/dev/null 2>&1 || true
delete warmup
bares=() prints=() inters=() ttys=()
kinds=$'bare\nprint\ninter\ntty'
for i in $(seq "$RUNS"); do
  # The order rotates, so no kind always runs right after another.
  for kind in $(tail -n +$((i % 4 + 1)) <<<"$kinds"; head -n $((i % 4)) <<<"$kinds"); do
    case "$kind" in
    bare) timed_call bares "b$i" bare ;;
    tty) timed_call ttys "t$i" bare_tty; bare_tty_rm "t$i" ;;
    print) ensure_daemon; timed_call prints "p$i" session --print; delete "p$i" ;;
    inter) ensure_daemon; timed_call inters "i$i" session; delete "i$i" ;;
    esac
  done
done
base=$(median "${bares[@]}")
stats "bare $ENGINE run -p (baseline)" "${bares[@]}"
stats "clauderon create --print" "${prints[@]}"
ratio "$base" "${prints[@]}"
stats "clauderon create (interactive)" "${inters[@]}"
ratio "$base" "${inters[@]}"
stats "bare $ENGINE run -t, interactive" "${ttys[@]}"
ratio "$base" "${ttys[@]}"
awk -v a="$(median "${inters[@]}")" -v b="$(median "${ttys[@]}")" \
  'BEGIN { printf "  -> the interactive session is %.2fx the bare interactive run\n", a / b }'

[ "${STAGES:-1}" = 1 ] && stages
[ "${HOOKS:-1}" = 1 ] && hook_times
[ "${PER_REQUEST:-1}" = 1 ] && per_request
delete hooks

# Ten at once: each one's time against one alone (the print median above),
# and ten bare runs at once against one bare run, in the same run.
# at_once SERIES PREFIX FUNCTION [ARGS]: PARALLEL runs started together.
at_once() {
  local -n into="$1"
  local prefix="$2" fn="$3" starts=() pids=() i
  shift 3
  for i in $(seq "$PARALLEL"); do
    starts+=("$(now)")
    "$fn" "$prefix$i" "$@" >>"$work/runs.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" || { echo "a parallel $fn failed" >&2; tail -n 20 "$work/runs.log" >&2; exit 1; }
  for i in $(seq "$PARALLEL"); do into+=("$(wait_first_call "${starts[$((i - 1))]}" "hello $prefix$i!")"); done
}
slowest() { printf '%s\n' "$@" | sort -n | tail -n 1; }
# (PARALLEL=0: none; an empty `wait` would wait for the stand-in forever)
[ "$PARALLEL" -gt 0 ] || exit 0
many=() many_bare=()
at_once many_bare y bare
ensure_daemon
at_once many x session --print
stats "$PARALLEL x bare $ENGINE run at once" "${many_bare[@]}"
awk -v m="$(slowest "${many_bare[@]}")" -v one="$base" 'BEGIN { printf "  -> slowest %.2fx one bare run alone\n", m / one }'
stats "$PARALLEL x clauderon create --print at once" "${many[@]}"
awk -v m="$(slowest "${many[@]}")" -v one="$(median "${prints[@]}")" \
  'BEGIN { printf "  -> slowest %.2fx one session alone\n", m / one }'
awk -v m="$(median "${many[@]}")" -v b="$(median "${many_bare[@]}")" \
  'BEGIN { printf "  -> median %.2fx the bare runs at once\n", m / b }'
for i in $(seq "$PARALLEL"); do delete "x$i"; done
echo "daemon starts in this run: $(grep -c ' listening on ' "$CLAUDERON_HOME/daemon.log") (1 expected, 2 with the hook timing's stop)"
