#!/usr/bin/env bash
# Idempotent set-up of a (fresh) Debian 12 machine for the clauderon test suite.
#
#  - installs the missing ones of: docker.io docker-compose podman podman-compose runc debootstrap uidmap
#    busybox-static bash-static tmux musl git curl ca-certificates, and both of Podman's network
#    backends (netavark aardvark-dns containernetworking-plugins: the suite tests compose on each)
#  - lets bridged frames through netavark's bridges when Docker's FORWARD policy drops them
#    (the rule `clauderon doctor` prints; see docs/podman-networks.md)
#  - installs cargo-nextest if missing (per-test time limits: .config/nextest.toml)
#  - configures podman to use runc with low default ulimits
#    (/etc/containers/containers.conf; crun and the default rlimits fail here)
#  - starts dockerd in the background if `docker info` fails
#  - makes sure git has a user.name/user.email (the tests create commits)
#  - installs kubernetes-validate (PyPI) for the offline manifest checks
#  - installs schemathesis and jsonschema (PyPI) for the HTTP API's contract tests
#  - builds the test images for docker and podman (scripts/build-test-images.sh)
#  - smoke-tests both engines
#
# Runs as root; uses sudo for privileged steps otherwise. Cheap when the machine
# is already provisioned (it is meant to run before every test run).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PACKAGES=(docker.io docker-compose podman podman-compose runc debootstrap uidmap busybox-static bash-static tmux musl git curl ca-certificates python3 openssl iptables netavark aardvark-dns containernetworking-plugins)
CONTAINERS_CONF=/etc/containers/containers.conf
DOCKERD_LOG="${DOCKERD_LOG:-/tmp/clauderon-dockerd.log}"
TEST_IMAGE="clauderon-test-base:1"

log() { printf '[ci-provision] %s\n' "$*" >&2; }
die() { printf '[ci-provision] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and sudo is not available"
  SUDO=(sudo)
fi
as_root() { "${SUDO[@]+"${SUDO[@]}"}" "$@"; }

start=$SECONDS

# --- packages ---------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "packages: all present"
fi

# --- podman configuration ---------------------------------------------------
# crun fails on this kernel's cgroups, and raising rlimits is not permitted,
# so podman must use runc and request low ulimits.
want_conf='# Written by clauderon scripts/ci-provision.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
'
conf_ok() {
  [ -f "$CONTAINERS_CONF" ] || return 1
  local c
  c="$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$CONTAINERS_CONF")"
  grep -qx 'runtime="runc"' <<<"$c" \
    && grep -qx 'default_ulimits=\["nofile=1024:1024","nproc=4096:4096"\]' <<<"$c"
}
if conf_ok; then
  log "podman: $CONTAINERS_CONF already configured"
else
  if [ -f "$CONTAINERS_CONF" ]; then
    backup="$CONTAINERS_CONF.bak.$(date +%Y%m%d%H%M%S)"
    log "podman: replacing $CONTAINERS_CONF (old one saved as $backup)"
    as_root cp -p "$CONTAINERS_CONF" "$backup"
  else
    log "podman: writing $CONTAINERS_CONF"
  fi
  as_root mkdir -p "$(dirname "$CONTAINERS_CONF")"
  printf '%s' "$want_conf" | as_root tee "$CONTAINERS_CONF" >/dev/null
  conf_ok || die "podman: $CONTAINERS_CONF still not as expected"
fi

# --- docker engine ----------------------------------------------------------
if docker info >/dev/null 2>&1; then
  log "docker: engine running"
else
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    log "docker: starting docker.service"
    as_root systemctl start docker.service || log "docker: systemctl start failed, starting dockerd by hand"
  fi
  if ! docker info >/dev/null 2>&1 && ! pgrep -x dockerd >/dev/null; then
    log "docker: starting dockerd in the background (log: $DOCKERD_LOG)"
    # shellcheck disable=SC2016  # $1 expands in the inner shell
    as_root bash -c 'setsid nohup dockerd >>"$1" 2>&1 </dev/null &' _ "$DOCKERD_LOG"
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    tail -n 30 "$DOCKERD_LOG" >&2 2>/dev/null || true
    docker info >&2 || true
    die "docker: 'docker info' still fails after 60 s"
  fi
  log "docker: engine up"
fi

# --- netavark behind Docker's FORWARD drop -------------------------------------
# Docker sets FORWARD's policy to DROP and loads br_netfilter; netavark adds
# no rule for an internal network, so a compose project's services could not
# reach each other. This is the fix `clauderon doctor` prints (bridged frames
# within one netavark bridge only), applied here because this is the CI
# machine's own set-up; clauderon itself never changes the firewall.
NETAVARK_RULE=(FORWARD -i podman+ -o podman+ -m physdev --physdev-is-bridged -j ACCEPT)
if [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] \
  && as_root iptables -S FORWARD | grep -qx -- '-P FORWARD DROP'; then
  if as_root iptables -C "${NETAVARK_RULE[@]}" 2>/dev/null; then
    log "netavark: FORWARD rule present"
  else
    log "netavark: adding iptables -I ${NETAVARK_RULE[*]}"
    as_root iptables -I "${NETAVARK_RULE[@]}"
  fi
fi

# --- git identity (for the user running the tests) ----------------------------
if [ -z "$(git config --global user.name || true)" ]; then
  log "git: setting global user.name"
  git config --global user.name "clauderon CI"
fi
if [ -z "$(git config --global user.email || true)" ]; then
  log "git: setting global user.email"
  git config --global user.email "ci@clauderon.invalid"
fi

# --- kubernetes-validate (offline manifest checks) ---------------------------
# No cluster runs here: the Kubernetes manifests are validated against the
# official schemas with kubernetes-validate from PyPI (tests/it/kube_plans.rs).
if command -v kubernetes-validate >/dev/null 2>&1; then
  log "kubernetes-validate: present"
else
  log "kubernetes-validate: installing with pip"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-pip
  fi
  python3 -m pip install --quiet kubernetes-validate \
    || python3 -m pip install --quiet --break-system-packages kubernetes-validate \
    || die "kubernetes-validate: pip install failed"
  command -v kubernetes-validate >/dev/null 2>&1 || die "kubernetes-validate: installed but not in PATH ($(python3 -m site --user-base)/bin?)"
fi

# --- prometheus_client (GET /metrics is parsed with its text-format parser) ---
if python3 -c 'import prometheus_client' >/dev/null 2>&1; then
  log "prometheus_client: present"
else
  log "prometheus_client: installing with pip"
  python3 -m pip install --quiet prometheus_client \
    || python3 -m pip install --quiet --break-system-packages prometheus_client \
    || die "prometheus_client: pip install failed"
fi

# --- schemathesis and jsonschema (the HTTP API's contract tests) -------------
# tests/it/api_stromboli.rs checks every answer against Stromboli's spec
# (jsonschema) and fuzzes clauderon's own openapi.json (schemathesis 4).
if command -v schemathesis >/dev/null 2>&1 && python3 -c 'import jsonschema, referencing' 2>/dev/null; then
  log "schemathesis: present"
else
  log "schemathesis: installing with pip"
  python3 -m pip install --quiet 'schemathesis>=4.32,<5' jsonschema \
    || python3 -m pip install --quiet --break-system-packages 'schemathesis>=4.32,<5' jsonschema \
    || die "schemathesis: pip install failed"
  command -v schemathesis >/dev/null 2>&1 || die "schemathesis: installed but not in PATH ($(python3 -m site --user-base)/bin?)"
fi

# npm fetches the real Codex CLI for clauderon-test-codex:1 (cached by
# build-test-images.sh); this machine's may come with nodejs itself.
if ! command -v npm >/dev/null 2>&1; then
  log "installing: npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
fi

# --- cargo-nextest (per-test time limits, .config/nextest.toml) -------------
# The version this suite is run with; --locked builds it with the versions
# its authors tested (about 4 minutes on 2 cores, once: ~/.cargo/bin keeps it).
NEXTEST_VERSION="${NEXTEST_VERSION:-0.9.143}"
if cargo nextest --version >/dev/null 2>&1; then
  log "cargo-nextest: present"
else
  log "cargo-nextest: installing $NEXTEST_VERSION with cargo install --locked"
  cargo install --locked --quiet "cargo-nextest@$NEXTEST_VERSION" \
    || die "cargo-nextest: 'cargo install --locked cargo-nextest@$NEXTEST_VERSION' failed"
fi

# --- podman's locks ---------------------------------------------------------------
# Podman keeps its locks in /dev/shm and tells a reboot by /run/libpod/alive.
# A machine restored from a snapshot can keep /run and its containers but
# start with an empty /dev/shm: podman then skips its refresh, and a new
# container shares a lock with an old volume ("deadlock due to lock
# mismatch", seen here). Renumbering gives every object its own lock again;
# podman allows it only with no container running, which is the case here.
if [ -z "$(as_root podman ps -q 2>/dev/null)" ]; then
  as_root podman system renumber || die "podman: 'podman system renumber' failed"
  log "podman: locks renumbered"
fi

# --- test images --------------------------------------------------------------
for engine in docker podman; do
  as_root env ENGINE="$engine" ${CLAUDERON_TEST_CACHE:+CLAUDERON_TEST_CACHE="$CLAUDERON_TEST_CACHE"} \
    "$SCRIPT_DIR/build-test-images.sh"
done

# --- smoke tests ----------------------------------------------------------------
for engine in docker podman; do
  out="$(as_root "$engine" run --rm "$TEST_IMAGE" bash -c 'echo ok' 2>&1)" \
    || die "$engine: '$engine run --rm $TEST_IMAGE bash -c \"echo ok\"' failed: $out"
  [ "$out" = ok ] || die "$engine: unexpected output from test container: $out"
  log "$engine: runs containers"
done

log "done in $((SECONDS - start))s"
