#!/usr/bin/env bash
# Installs clauderon on a Debian/Ubuntu machine, with what it needs:
#   1. a container engine: Debian's docker.io, unless docker already answers
#   2. the clauderon binary (cargo install into PREFIX/bin, cargo's own
#      progress shown: about 3-4 minutes the first time)
#   3. its man pages (clauderon.1 and one per subcommand) into
#      PREFIX/share/man/man1, where `man clauderon` finds them once PREFIX/bin
#      is on PATH, and bash completions into PREFIX/share/bash-completion
#   4. the default session image clauderon-agent:latest (Debian + the real
#      Claude Code CLI at the pinned version), built locally: no registry
# Each stage prints a line when it starts and its time when it ends.
# Re-running it is cheap: it skips what is already there (the image too:
# `clauderon agent-image build --backend docker --update` upgrades its CLI).
#
# Env: PREFIX (default ~/.cargo)   CLAUDERON_BINARY=PATH  install this
#      binary instead of building one   AGENT_IMAGE=0  skip stage 4
#      CLAUDE_BINARY=PATH  the Claude Code binary for the image (no npm)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

PREFIX="${PREFIX:-$HOME/.cargo}"
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
as_root() { "${SUDO[@]+"${SUDO[@]}"}" "$@"; }

stage_start=0
stage() { stage_start=$SECONDS; log "$1/4 $2"; }
stage_done() { log "    done in $((SECONDS - stage_start)) s${1:+: $1}"; }

stage 1 "container engine and tools"
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v git >/dev/null || need+=(git)
[ -n "${CLAUDE_BINARY:-}" ] || [ "${AGENT_IMAGE:-1}" = 0 ] || command -v npm >/dev/null || need+=(npm)
if [ "${#need[@]}" -gt 0 ]; then
  log "    installing ${need[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
if ! docker info >/dev/null 2>&1 && ! as_root docker info >/dev/null 2>&1; then
  log "    starting the Docker engine"
  if [ -d /run/systemd/system ]; then
    as_root systemctl start docker
  else
    as_root bash -c 'setsid nohup dockerd >>/tmp/dockerd.log 2>&1 </dev/null &'
  fi
  for _ in $(seq 60); do as_root docker info >/dev/null 2>&1 && break; sleep 1; done
  as_root docker info >/dev/null 2>&1 || die "the Docker engine did not start (see /tmp/dockerd.log or 'journalctl -u docker')"
fi
if ! docker info >/dev/null 2>&1; then
  log "    note: your user cannot reach Docker yet: sudo usermod -aG docker \$USER, then log in again"
fi
stage_done

stage 2 "clauderon into $PREFIX/bin"
mkdir -p "$PREFIX/bin"
if [ -n "${CLAUDERON_BINARY:-}" ]; then
  install -m 0755 "$CLAUDERON_BINARY" "$PREFIX/bin/clauderon"
else
  command -v cargo >/dev/null || die "cargo is missing: install a Rust toolchain (1.88 or newer), e.g. with rustup"
  log "    cargo install --locked --path . (its progress follows)"
  cargo install --locked --path . --force --root "$PREFIX"
fi
bin="$PREFIX/bin/clauderon"
stage_done "$("$bin" --version)"

stage 3 "man pages and completions"
man_dir="$PREFIX/share/man/man1"
"$bin" man --out-dir "$man_dir" >/dev/null
completions="$PREFIX/share/bash-completion/completions"
mkdir -p "$completions"
"$bin" completions bash >"$completions/clauderon"
stage_done "$man_dir (man clauderon), $completions/clauderon"

stage 4 "the default session image clauderon-agent:latest"
if [ "${AGENT_IMAGE:-1}" = 0 ]; then
  stage_done "skipped (AGENT_IMAGE=0)"
else
  as_root env ${CLAUDE_BINARY:+CLAUDE_BINARY="$CLAUDE_BINARY"} scripts/build-agent-image.sh
  stage_done
fi

case ":$PATH:" in
  *":$PREFIX/bin:"*) log "installed: $bin" ;;
  *) log "installed: $bin (add $PREFIX/bin to PATH; man finds the pages then)" ;;
esac
log "next: clauderon doctor, then clauderon create --repo . --prompt \"...\""
