#!/usr/bin/env bash
# Installs clauderon on a Debian/Ubuntu machine, with what it needs:
#   - a container engine: Debian's docker.io, unless docker already answers
#   - the clauderon binary (cargo install, into ~/.cargo/bin)
#   - the default session image clauderon-agent:latest (Debian + the real
#     Claude Code CLI), built locally: no registry is needed
# Re-running it is cheap: it skips what is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
as_root() { "${SUDO[@]+"${SUDO[@]}"}" "$@"; }

command -v cargo >/dev/null || die "cargo is missing: install a Rust toolchain (1.88 or newer), e.g. with rustup"

need=()
command -v docker >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v git >/dev/null || need+=(git)
[ -n "${CLAUDE_BINARY:-}" ] || command -v npm >/dev/null || need+=(npm)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

if ! docker info >/dev/null 2>&1 && ! as_root docker info >/dev/null 2>&1; then
  log "starting the Docker engine"
  if [ -d /run/systemd/system ]; then
    as_root systemctl start docker
  else
    as_root bash -c 'setsid nohup dockerd >>/tmp/dockerd.log 2>&1 </dev/null &'
  fi
  for _ in $(seq 60); do as_root docker info >/dev/null 2>&1 && break; sleep 1; done
  as_root docker info >/dev/null 2>&1 || die "the Docker engine did not start (see /tmp/dockerd.log or 'journalctl -u docker')"
fi
if ! docker info >/dev/null 2>&1; then
  log "note: your user cannot reach Docker yet: sudo usermod -aG docker \$USER, then log in again"
fi

log "building and installing clauderon"
cargo install --quiet --locked --path . --force
as_root env ${CLAUDE_BINARY:+CLAUDE_BINARY="$CLAUDE_BINARY"} scripts/build-agent-image.sh
log "done: $(command -v clauderon || echo "$HOME/.cargo/bin/clauderon (add ~/.cargo/bin to PATH)")"
