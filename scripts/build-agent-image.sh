#!/usr/bin/env bash
# Builds clauderon's default session image, clauderon-agent:latest, with no
# container registry: a Debian bookworm rootfs (debootstrap) with bash, curl,
# git and CA certificates, plus the real Claude Code CLI, a native binary taken
# from the npm package @anthropic-ai/claude-code-linux-x64.
#
# Usage: scripts/build-agent-image.sh [--rebuild]
# Env:   ENGINE=docker|podman (default docker)   IMAGE (default clauderon-agent:latest)
#        CLAUDE_BINARY=/path/to/claude  use this binary instead of downloading one
#        CLAUDE_VERSION=X  the Claude Code version to fetch (default: the tested one,
#        templates/claude-code.version, which `clauderon agent-image build` reads too)
set -euo pipefail

CLAUDE_VERSION="${CLAUDE_VERSION:-$(tr -d '[:space:]' <"$(dirname "$0")/../templates/claude-code.version")}"

ENGINE="${ENGINE:-docker}"
IMAGE="${IMAGE:-clauderon-agent:latest}"
CACHE="${CLAUDERON_IMAGE_CACHE:-/var/cache/clauderon-agent-image}"
log() { printf '[build-agent-image] %s\n' "$*" >&2; }
die() { printf '[build-agent-image] error: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" != "--rebuild" ] && "$ENGINE" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE already exists in $ENGINE (pass --rebuild to build it again)"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap needs it): sudo $0 $*"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
mkdir -p "$CACHE"
work="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf --one-file-system "$work"' EXIT

# 1. The agent CLI.
if [ -n "${CLAUDE_BINARY:-}" ]; then
  cp "$CLAUDE_BINARY" "$work/claude"
else
  command -v npm >/dev/null || die "npm is missing (apt-get install npm), or set CLAUDE_BINARY=/path/to/claude"
  log "fetching the Claude Code CLI $CLAUDE_VERSION (npm package @anthropic-ai/claude-code-linux-x64)"
  (cd "$work" && npm pack --silent "@anthropic-ai/claude-code-linux-x64@$CLAUDE_VERSION" >/dev/null)
  tar -xzf "$work"/anthropic-ai-claude-code-linux-x64-*.tgz -C "$work" package/claude
  mv "$work/package/claude" "$work/claude"
fi
chmod 0755 "$work/claude"
version="$("$work/claude" --version 2>/dev/null | head -n1 | awk '{print $1}' || true)"; version="${version:-unknown}"
log "Claude Code: $version"

# 2. The rootfs (cached: debootstrap takes about a minute).
rootfs_tar="$CACHE/rootfs-bookworm.tar"
if [ ! -s "$rootfs_tar" ]; then
  mirror="${DEBIAN_MIRROR:-$(awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)}"
  if [ -z "$mirror" ]; then
    mirror="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  fi
  mirror="${mirror:-http://deb.debian.org/debian}"
  log "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase --include=bash,curl,git,ca-certificates,procps,less bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$work/rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
fi

# 3. Rootfs + CLI -> image.
mkdir -p "$work/image"
tar --numeric-owner -xf "$rootfs_tar" -C "$work/image"
install -m 0755 "$work/claude" "$work/image/usr/local/bin/claude"
mkdir -p "$work/image/workspace" && chmod 1777 "$work/image/workspace"
log "importing $IMAGE into $ENGINE"
tar --numeric-owner -C "$work/image" -c . | "$ENGINE" import \
  --change 'CMD ["/bin/bash"]' \
  --change 'WORKDIR /workspace' \
  --change "LABEL org.clauderon.agent=claude org.clauderon.agent.version=$version" \
  - "$IMAGE" >/dev/null
log "built $IMAGE"
