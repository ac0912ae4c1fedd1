#!/usr/bin/env bash
# The credential proxy side by side with a direct connection and with
# mitmproxy, in one run, against a local nginx HTTPS upstream, curl as the
# client; then the daemon's memory with many sessions and open tunnels, and
# the binary's size.
#
#   scripts/bench-proxy.sh [--runs N] [--build] [--no-mitm] [--baseline BINARY] [--only M,M] [--ledger]
#
#   --runs N    rounds of every measurement (default 7); each round measures
#               direct, clauderon and mitmproxy one after the other, in an
#               order that rotates, so load from elsewhere hits all three
#   --build     also time a clean `cargo build --release` (minutes)
#   --no-mitm   leave mitmproxy out
#   --only M,M  only these measurements (ka_intercept ka_tunnel new_tunnel
#               new_intercept par_intercept par_tunnel dl_tunnel dl_intercept;
#               the ledger's: ka_meter ka_nometer fb_meter fb_nometer
#               dl_meter dl_nometer, also `--only ledger` for all six)
#   --ledger    skip the tunnel-memory figure (with `--only ledger`: the
#               ledger's figures alone)
#   --baseline BINARY   also measure another clauderon build (a daemon of
#               its own, interleaved with the others): before/after numbers
#               of a change from one run
#
# Everything runs on 127.0.0.1 in a temporary directory that is removed at
# the end. What it needs (nginx-light, curl, openssl, mitmproxy 11.0.2) is
# installed if missing. The clauderon daemon is the release binary, started
# with `clauderon daemon start` in its own CLAUDERON_HOME, as a user would;
# curl reaches it on its loopback TCP port with the session's credentials
# (Proxy-Authorization: Basic session:token), like a session in network
# mode open. Times are medians over the runs, with min–max.
set -euo pipefail

RUNS=7
BUILD=0
MITM=1
BASELINE=""
ONLY="ka_intercept ka_tunnel new_tunnel new_intercept par_intercept par_tunnel dl_tunnel dl_intercept"
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS="$2"; shift ;;
    --build) BUILD=1 ;;
    --no-mitm) MITM=0 ;;
    --baseline) BASELINE="$(realpath "$2")"; shift ;;
    --only) ONLY="${2//,/ }"; shift ;;
    --ledger) LEDGER_ONLY=1 MEM_ROUNDS=0 ;;
    *) echo "usage: $0 [--runs N] [--build] [--no-mitm] [--baseline BINARY] [--only M,M] [--ledger]" >&2; exit 2 ;;
    esac
    shift
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HELP="$ROOT/scripts/bench-proxy"
SECRET="ghp_BENCHsecretVALUE0123456789"
KA_REQUESTS=300      # requests on one kept-alive connection
NEW_CONNECTIONS=60   # new connections, one request each
PAR_CLIENTS=16
PAR_REQUESTS=500     # per client, on its kept-alive connection
SESSIONS=50
TUNNELS=500
MEM_ROUNDS=${MEM_ROUNDS:-4}  # open and close the tunnels this often (0 with --ledger)
LEDGER_LINES=10000   # ledger entries per session for the memory and list figures
LEDGER_METRICS="ka_meter ka_nometer fb_meter fb_nometer dl_meter dl_nometer"
ONLY="${ONLY//ledger/$LEDGER_METRICS}"

say() { printf '%s\n' "$*" >&2; }

provision() {
    local apt=()
    command -v nginx >/dev/null || apt+=(nginx-light)
    command -v curl >/dev/null || apt+=(curl)
    command -v openssl >/dev/null || apt+=(openssl)
    if [ ${#apt[@]} -gt 0 ]; then
        say "installing ${apt[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt[@]}" >/dev/null
    fi
    if [ "$MITM" = 1 ] && ! command -v mitmdump >/dev/null; then
        say "installing mitmproxy 11.0.2"
        pip install -q mitmproxy==11.0.2
    fi
    if [ "$MITM" = 1 ] && ! unshare -m true 2>/dev/null; then
        say "unshare -m is not permitted here: mitmproxy is left out"
        MITM=0
    fi
}

# A CA and an ECDSA leaf for the two hosts nginx plays.
make_pki() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$W/ca-key.pem" -out "$W/ca.pem" -days 2 -subj "/CN=bench upstream CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$W/leaf-key.pem" -out "$W/leaf.csr" -subj "/CN=api.github.com" 2>/dev/null
    printf 'subjectAltName=DNS:api.github.com,DNS:tunnel.test\n' >"$W/ext.cnf"
    openssl x509 -req -in "$W/leaf.csr" -CA "$W/ca.pem" -CAkey "$W/ca-key.pem" \
        -CAcreateserial -days 2 -extfile "$W/ext.cnf" -out "$W/leaf.pem" 2>/dev/null
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_nginx() {
    mkdir -p "$W/www" "$W/nginx"
    printf 'ok' >"$W/www/tiny"
    head -c 100000000 /dev/urandom >"$W/www/big"
    python3 "$HELP/model.py" sse "$W/www"
    NGX=$(free_port)
    cat >"$W/nginx.conf" <<EOF
user root;
worker_processes auto;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$NGX ssl;
        ssl_certificate $W/leaf.pem;
        ssl_certificate_key $W/leaf-key.pem;
        root $W/www;
        location = /echo { default_type text/plain; return 200 "\$http_authorization"; }
        # The model streams: POSTed, answered from static files.
        location ~ ^/[sb]/v1/ { default_type text/event-stream; error_page 405 =200 \$uri; }
    }
}
EOF
    nginx -c "$W/nginx.conf" -g 'daemon off;' &
    NGINX_PID=$!
}

# 50 sessions the proxy accepts (records as `clauderon create` writes
# them; no containers are needed for the proxy), and the daemon.
# start_clauderon HOME BINARY: prints its proxy port and pid.
start_clauderon() {
    local H=$1 bin=$2
    mkdir -p "$H/sessions"
    cat >"$H/config.toml" <<EOF
[daemon]
http_port = 0
[proxy]
port = 0
upstream_ca_file = "$W/ca.pem"
# the tunnel's host is no model API or forge: allowed as a user would
allow_hosts = ["tunnel.test"]
[proxy.github]
# the bench's paths are no repository's: the whole account's scope
scope = "account"
[proxy.resolve]
"api.github.com" = "127.0.0.1:$NGX"
"tunnel.test" = "127.0.0.1:$NGX"
EOF
    : >"$H/tokens"
    for i in $(seq -w 0 $((SESSIONS - 1))); do
        local name="bench$i" token
        token=$(openssl rand -hex 16)
        mkdir -p "$H/sessions/$name"
        cat >"$H/sessions/$name/session.json" <<EOF
{"name":"$name","id":"b$i","backend":"docker","agent":"claude","image":"x","pull_policy":"never",
 "limits":{"cpu":null,"memory":null},"env":[],"prompt":"p","repo_root":"/","git_common_dir":"/",
 "subdir":"","base":"HEAD","branch":"$name","worktree":"/","uid":0,"gid":0,
 "git_identity":{"name":null,"email":null},"created_at":0,"hook_token":"$token","budget_usd":1000000}
EOF
        echo "$name $token" >>"$H/tokens"
    done
    CLAUDERON_HOME="$H" GH_TOKEN="$SECRET" "$bin" daemon start >/dev/null
    python3 -c 'import json,sys; i = json.load(open(sys.argv[1])); print(i["proxy_port"], i["pid"])' "$H/daemon.json"
}

# mitmdump, intercepting api.github.com (inject.py swaps the same header)
# and passing tunnel.test through. It resolves both names to 127.0.0.1 by a
# hosts file bound over /etc/hosts in a mount namespace of its own.
start_mitm() {
    MP=$(free_port)
    printf '127.0.0.1 localhost\n127.0.0.1 api.github.com tunnel.test\n' >"$W/hosts"
    BENCH_SECRET="$SECRET" unshare -m sh -c '
        mount --bind "$1/hosts" /etc/hosts && exec mitmdump -q \
            --listen-host 127.0.0.1 --listen-port "$2" --set confdir="$1/mitm" \
            --set ssl_verify_upstream_trusted_ca="$1/ca.pem" \
            --set stream_large_bodies=1m --ignore-hosts "^tunnel\.test" \
            -s "$3/inject.py"' sh "$W" "$MP" "$HELP" >"$W/mitm.log" 2>&1 &
    MITM_PID=$!
}

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    say "nothing listens on port $1"; return 1
}

cleanup() {
    [ -n "${H:-}" ] && CLAUDERON_HOME="$H" "$BIN" daemon stop >/dev/null 2>&1 || true
    [ -n "${BASELINE:-}" ] && CLAUDERON_HOME="$W/baseline" "$BASELINE" daemon stop >/dev/null 2>&1 || true
    for pid in ${MITM_PID:-} ${NGINX_PID:-}; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${W:-}" ] && rm -rf "$W"
}

# curl's arguments for a variant: how it reaches the upstream.
via() {
    case "$1" in
    direct) echo "--cacert $W/ca.pem --resolve api.github.com:$NGX:127.0.0.1 --resolve tunnel.test:$NGX:127.0.0.1" ;;
    clauderon) echo "--cacert $W/clauderon.pem --proxy http://127.0.0.1:$PP --proxy-user $(head -1 "$H/tokens" | tr ' ' :)" ;;
    baseline) echo "--cacert $W/baseline.pem --proxy http://127.0.0.1:$BP --proxy-user $(head -1 "$W/baseline/tokens" | tr ' ' :)" ;;
    mitmproxy) echo "--cacert $W/mitmproxy.pem --proxy http://127.0.0.1:$MP" ;;
    esac
}

# A curl config of N requests for PATH on HOST.
urls() {
    local host=$1 path=$2 n=$3
    for _ in $(seq "$n"); do printf 'url = "https://%s:%s%s"\noutput = "/dev/null"\n' "$host" "$NGX" "$path"; done
}

CURL=(curl -sS --fail -H "Authorization: token clauderon-proxy")

# Median µs per request on one kept-alive connection (the first, which
# connects, left out).
keep_alive() {
    local variant=$1 host=$2
    # shellcheck disable=SC2046
    urls "$host" /tiny "$KA_REQUESTS" | "${CURL[@]}" $(via "$variant") -w '%{time_total}\n' --config - |
        python3 "$HELP/stats.py" median --skip 1 --scale 1e6
}

# The ledger's share, in one run: the same intercepted SSE response with
# usage events on a path the proxy meters (POST …/v1/messages) and on one
# it does not (…/v1/messagez). The bench sessions have a budget, so the
# metered calls also pay the budget check.
model_path() {
    local size=s
    case $1 in dl_*) size=b ;; esac
    case $1 in *_nometer) echo "/$size/v1/messagez" ;; *) echo "/$size/v1/messages" ;; esac
}

# Median µs per model call on one kept-alive connection; with
# time_starttransfer, the median µs to the first byte.
model_calls() {
    local variant=$1 host=$2 metric=$3 what='%{time_total}'
    case $metric in fb_*) what='%{time_starttransfer}' ;; esac
    # shellcheck disable=SC2046
    urls "$host" "$(model_path "$metric")" "$KA_REQUESTS" | "${CURL[@]}" $(via "$variant") \
        -d '{"model":"claude-sonnet-4-5","stream":true}' -w "$what\n" --config - |
        python3 "$HELP/stats.py" median --skip 1 --scale 1e6
}

# MiB/s of the 100 MB model stream.
model_download() {
    local variant=$1 host=$2 metric=$3
    # shellcheck disable=SC2046
    "${CURL[@]}" $(via "$variant") -d '{"stream":true}' -o /dev/null -w '%{speed_download}\n' \
        "https://$host:$NGX$(model_path "$metric")" |
        python3 "$HELP/stats.py" median --scale "$(python3 -c 'print(1/1048576)')"
}

# Median µs per request, each on a new connection (a new CONNECT).
new_connection() {
    local variant=$1 host=$2
    # shellcheck disable=SC2046
    urls "$host" /tiny "$NEW_CONNECTIONS" | "${CURL[@]}" $(via "$variant") -H 'Connection: close' \
        -w '%{num_connects} %{time_total}\n' --config - |
        awk '$1 != 1 { print "a request reused a connection" > "/dev/stderr"; exit 1 } { print $2 }' |
        python3 "$HELP/stats.py" median --scale 1e6
}

# Requests/s of 16 clients at once, each on its own kept-alive connection.
parallel() {
    local variant=$1 host=$2 start end ok pids=()
    urls "$host" /tiny "$PAR_REQUESTS" >"$W/par.cfg"
    start=$(date +%s%N)
    for c in $(seq "$PAR_CLIENTS"); do
        # shellcheck disable=SC2046
        "${CURL[@]}" $(via "$variant") -w '%{http_code}\n' --config "$W/par.cfg" >"$W/par.$c" &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    end=$(date +%s%N)
    ok=$(cat "$W"/par.* | grep -c '^200$' || true)
    rm -f "$W"/par.*
    [ "$ok" = $((PAR_CLIENTS * PAR_REQUESTS)) ] || { say "parallel $variant $host: $ok requests answered"; return 1; }
    python3 -c "print(f'{$ok / (($end - $start) / 1e9):.1f}')"
}

# MiB/s of the 100 MB download.
download() {
    local variant=$1 host=$2
    # shellcheck disable=SC2046
    "${CURL[@]}" $(via "$variant") -o /dev/null -w '%{speed_download}\n' "https://$host:$NGX/big" |
        python3 "$HELP/stats.py" median --scale "$(python3 -c 'print(1/1048576)')"
}

# The proxies must really do the work: the header swapped on the intercepted
# host, the tunnelled host untouched.
check_setup() {
    local variant got
    for variant in "${VARIANTS[@]}"; do
        # shellcheck disable=SC2046
        got=$("${CURL[@]}" $(via "$variant") "https://api.github.com:$NGX/echo")
        local want="token $SECRET"
        [ "$variant" = direct ] && want="token clauderon-proxy"
        [ "$got" = "$want" ] || { say "$variant: upstream saw Authorization '$got', not '$want'"; return 1; }
        # shellcheck disable=SC2046
        got=$("${CURL[@]}" $(via "$variant") "https://tunnel.test:$NGX/echo")
        [ "$got" = "token clauderon-proxy" ] || { say "$variant: the tunnelled host saw '$got'"; return 1; }
    done
}

measure_all() {
    local run m host fn v value i k reps
    for run in $(seq "$RUNS"); do
        say "round $run/$RUNS"
        for m in $ONLY; do
            host=api.github.com
            case $m in *tunnel) host=tunnel.test ;; esac
            case $m in
            ka_meter | ka_nometer | fb_*) fn=model_calls ;;
            dl_meter | dl_nometer) fn=model_download ;;
            ka_*) fn=keep_alive ;; new_*) fn=new_connection ;; par_*) fn=parallel ;; dl_*) fn=download ;;
            esac
            # Downloads are short and noisy: three samples a round.
            reps=1
            case $m in dl_*) reps=3 ;; esac
            for k in $(seq "$reps"); do
                # Rotate the order each time.
                for i in $(seq 0 $((${#VARIANTS[@]} - 1))); do
                    v=${VARIANTS[$(((i + run + k) % ${#VARIANTS[@]}))]}
                    value=$($fn "$v" "$host" "$m")
                    printf '%s\t%s\t%s\t%s\n' "$m" "$v" "$run.$k" "$value" >>"$W/results.tsv"
                    if [ "$v" = clauderon ] && [ "$host" = api.github.com ]; then
                        COUNTED=$((COUNTED + $(count "$m")))
                    fi
                done
            done
        done
    done
}

# Intercepted requests a measurement sends through clauderon (for the audit check).
count() {
    case $1 in
    *meter) echo 0 ;; # POSTs: the audit check counts GETs
    ka_*) echo "$KA_REQUESTS" ;; new_*) echo "$NEW_CONNECTIONS" ;;
    par_*) echo $((PAR_CLIENTS * PAR_REQUESTS)) ;; dl_*) echo 1 ;;
    esac
}

memory() {
    say "memory: $SESSIONS sessions, $TUNNELS tunnels held open and closed, $MEM_ROUNDS times"
    python3 "$HELP/tunnels.py" "$DAEMON_PID" "$PP" "$H/tokens" \
        "$H/proxy-ca-bundle.pem" "$NGX" "$TUNNELS" "$MEM_ROUNDS" >"$W/memory.tsv"
}

# The ledger at scale: 50 sessions of 10,000 entries each. The daemon's
# RSS before and after one metered call per session (each loads its
# session's spend for the budget check, and the writer its summary), and
# `clauderon list`'s time with no ledgers, with them (summaries written by
# the daemon) and with the summaries removed (the whole ledgers read).
ledger_scale() {
    local before after name token t_none t_sum t_full
    t_none=$(list_time)
    python3 "$HELP/model.py" ledgers "$H" "$LEDGER_LINES"
    before=$(rss "$DAEMON_PID")
    while read -r name token; do
        curl -sS --fail -o /dev/null --cacert "$W/clauderon.pem" --proxy "http://127.0.0.1:$PP" \
            --proxy-user "$name:$token" -d '{}' "https://api.github.com:$NGX/s/v1/messages"
    done <"$H/tokens"
    sleep 1
    after=$(rss "$DAEMON_PID")
    t_sum=$(list_time)
    rm -f "$H"/sessions/*/usage.json
    t_full=$(list_time)
    echo "ledger: daemon RSS with $SESSIONS sessions x $LEDGER_LINES ledger entries: $before KiB before the sessions' first metered call, $after KiB after one each"
    echo "ledger: \`clauderon list\` ($SESSIONS sessions, median of 5): ${t_none} ms without ledgers, ${t_sum} ms with $LEDGER_LINES entries each (summaries), ${t_full} ms with the summaries removed (every ledger read whole)"
}

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

list_time() {
    local i
    for i in 1 2 3 4 5; do
        /usr/bin/time -f '%e' env CLAUDERON_HOME="$H" "$BIN" list >/dev/null 2>>"$W/list.times" || true
    done
    tail -5 "$W/list.times" | python3 "$HELP/stats.py" median --scale 1000
}

# Every answered request is in the audit log once the daemon has stopped
# cleanly, and so are tunnels still open when it stops (a session "held"
# keeps 10 open through the stop).
audit_check() {
    local held_pid held_logged
    mkdir -p "$H/sessions/held"
    sed -e 's/"name":"bench00"/"name":"held"/' -e 's/"branch":"bench00"/"branch":"held"/' \
        -e 's/"hook_token":"[0-9a-f]*"/"hook_token":"heldtoken"/' \
        "$H/sessions/bench00/session.json" >"$H/sessions/held/session.json"
    mkfifo "$W/held.fifo"
    python3 "$HELP/tunnels.py" hold "$PP" held heldtoken "$NGX" 10 >"$W/held.fifo" &
    held_pid=$!
    read -r _ <"$W/held.fifo"
    CLAUDERON_HOME="$H" "$BIN" daemon stop >/dev/null
    kill "$held_pid" 2>/dev/null || true
    held_logged=$(grep -c '"session":"held","method":"CONNECT"' "$H/audit.jsonl" || true)
    echo "audit log after \`clauderon daemon stop\` with 10 tunnels still open: $held_logged of 10 logged"
    local logged
    # The log rotates at 8 MiB keeping one older file: count both.
    logged=$({ cat "$H/audit.jsonl.1" "$H/audit.jsonl" 2>/dev/null || true; } | python3 -c '
import json, sys
entries = (json.loads(line) for line in sys.stdin)
print(sum(1 for e in entries if e["method"] == "GET" and e["host"] == "api.github.com"))')
    local expected=$((COUNTED + TUNNELS / 2 * MEM_ROUNDS))
    echo "audit log after \`clauderon daemon stop\`: $logged of $expected intercepted requests ($([ "$logged" = "$expected" ] && echo 'none lost' || echo 'SOME LOST'))"
}

binary() {
    local size
    strip -o "$W/clauderon.stripped" "$BIN"
    size=$(stat -c %s "$W/clauderon.stripped")
    echo "binary: $(python3 -c "print(f'{$size / 1048576:.1f}')") MiB stripped ($size bytes; target/release/clauderon is $(stat -c %s "$BIN") bytes)"
}

clean_build() {
    local dir=/tmp/clauderon-cleanbuild start end
    rm -rf "$dir"
    start=$(date +%s)
    (cd "$ROOT" && CARGO_TARGET_DIR="$dir" cargo build --release --quiet)
    end=$(date +%s)
    rm -rf "$dir"
    echo "clean \`cargo build --release\`: $((end - start)) s on $(nproc) cores (load average before: $LOAD)"
}

report() {
    echo
    echo "clauderon proxy vs direct vs mitmproxy 11.0.2 — $(date -u +%Y-%m-%d), $(nproc) cores, $RUNS rounds, median (min–max)"
    echo "upstream: nginx $(nginx -v 2>&1 | sed 's/.*\///') HTTPS on 127.0.0.1; client: $(curl --version | head -1 | cut -d' ' -f1-2)"
    echo
    python3 "$HELP/stats.py" table "$W/results.tsv"
    echo
    if [ -s "$W/memory.tsv" ]; then python3 "$HELP/stats.py" memory "$W/memory.tsv" "$SESSIONS" "$TUNNELS"; fi
    python3 "$HELP/stats.py" ledger "$W/results.tsv"
}

main() {
    LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
    provision
    if [ -z "${CLAUDERON_BIN:-}" ]; then
        (cd "$ROOT" && cargo build --release --quiet)
        BIN="$ROOT/target/release/clauderon"
    else
        BIN="$CLAUDERON_BIN"
    fi
    W=$(mktemp -d /tmp/cbp.XXXXXX)
    trap cleanup EXIT
    VARIANTS=(direct clauderon)
    [ "$MITM" = 1 ] && VARIANTS+=(mitmproxy)
    make_pki
    start_nginx
    H="$W/home"
    read -r PP DAEMON_PID < <(start_clauderon "$H" "$BIN")
    if [ -n "$BASELINE" ]; then
        read -r BP _ < <(start_clauderon "$W/baseline" "$BASELINE")
        VARIANTS+=(baseline)
    fi
    [ "$MITM" = 1 ] && start_mitm
    wait_port "$NGX"
    wait_port "$PP"
    [ "$MITM" = 1 ] && wait_port "$MP" && sleep 0.5
    # Each client trusts the upstream's CA and its proxy's.
    cat "$W/ca.pem" "$H/proxy-ca.pem" >"$W/clauderon.pem"
    [ -n "$BASELINE" ] && cat "$W/ca.pem" "$W/baseline/proxy-ca.pem" >"$W/baseline.pem"
    [ "$MITM" = 1 ] && cat "$W/ca.pem" "$W/mitm/mitmproxy-ca-cert.pem" >"$W/mitmproxy.pem"
    check_setup
    COUNTED=1
    measure_all
    [ "${LEDGER_ONLY:-0}" = 1 ] || memory
    report
    ledger_scale
    binary
    audit_check
    [ "$BUILD" = 1 ] && clean_build
    return 0
}

main
