#!/usr/bin/env bash
# Build the container images used by the clauderon test suite, without any
# container registry (nothing can be pulled on CI machines).
#
# Images (for the engine named by $ENGINE: docker (default) or podman):
#   clauderon-test-base:1    Debian bookworm minbase rootfs (debootstrap) with
#                            bash, curl, git, ca-certificates, the stub agent as
#                            /usr/local/bin/claude and /usr/local/bin/codex, and
#                            a world-writable /workspace.
#   clauderon-test-codex:1   The base rootfs with the REAL Codex CLI (codex and
#                            codex-code-mode-host from the npm package
#                            @openai/codex@$CODEX_VERSION-linux-x64, cached).
#   clauderon-test-codex-cli:1  (Podman only) the same two binaries alone, FROM
#                            scratch: the Codex CLI image sessions mount, as
#                            `clauderon agent-image build --agent codex` makes.
#   clauderon-test-claude:1  The base rootfs with the REAL Claude Code CLI (claude
#                            from the npm package
#                            @anthropic-ai/claude-code-linux-x64@$CLAUDE_VERSION,
#                            cached; default templates/claude-code.version).
#   clauderon-test-noagent:1 The base rootfs without any agent.
#   clauderon-test-musl:1    Alpine-like: musl's loader, busybox-static, a static
#                            bash (bash-static) and a CA bundle; no agent, no curl.
#   The npm packages are cached under $CLAUDERON_TEST_CACHE/npm (CODEX_VERSION
#   and CLAUDE_VERSION pick other versions).
#   clauderon-test-nobash:1  Tiny image WITHOUT bash (busybox-static /bin/sh),
#                            used to make `--entrypoint bash` container starts fail.
#
# Images are cached: an image that already exists in the engine is kept unless
# --rebuild is given, or unless it was built from a different recipe (stub agent
# script or this recipe changed; detected through an image label).
# The debootstrap rootfs tarball is cached under
# ${CLAUDERON_TEST_CACHE:-/var/cache/clauderon-test}, so building for podman
# after docker (or after `--rebuild`) does not run debootstrap again.
#
# Usage: [ENGINE=docker|podman] scripts/build-test-images.sh [--rebuild] [--rebuild-rootfs]
#   --rebuild          re-import the images even if they exist
#   --rebuild-rootfs   also re-run debootstrap (implies --rebuild)
# Env:
#   ENGINE               container engine CLI (default docker)
#   CLAUDERON_TEST_CACHE cache directory (default /var/cache/clauderon-test)
#   DEBIAN_MIRROR        Debian mirror URL (default: taken from apt's sources)
set -euo pipefail

BASE_IMAGE="clauderon-test-base:1"
NOBASH_IMAGE="clauderon-test-nobash:1"
NOAGENT_IMAGE="clauderon-test-noagent:1"
MUSL_IMAGE="clauderon-test-musl:1"
CODEX_IMAGE="clauderon-test-codex:1"
CODEX_CLI_IMAGE="clauderon-test-codex-cli:1"
CODEX_VERSION="${CODEX_VERSION:-0.169.0}"
CLAUDE_IMAGE="clauderon-test-claude:1"
SUITE="bookworm"
INCLUDE="bash,curl,git,ca-certificates"
# Bump when the image recipe changes in a way that should invalidate cached images.
RECIPE_VERSION="1"
REV_LABEL="org.clauderon.test.rev"

ENGINE="${ENGINE:-docker}"
CACHE="${CLAUDERON_TEST_CACHE:-/var/cache/clauderon-test}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STUB="$SCRIPT_DIR/stub-agent.sh"
CLAUDE_VERSION="${CLAUDE_VERSION:-$(tr -d '[:space:]' <"$SCRIPT_DIR/../templates/claude-code.version")}"

log() { printf '[build-test-images] %s\n' "$*" >&2; }
die() { printf '[build-test-images] ERROR: %s\n' "$*" >&2; exit 1; }

REBUILD=0
REBUILD_ROOTFS=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --rebuild-rootfs) REBUILD=1; REBUILD_ROOTFS=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done

case "$ENGINE" in
  docker|podman) ;;
  *) log "warning: ENGINE=$ENGINE is neither docker nor podman; assuming a docker-compatible CLI" ;;
esac
command -v "$ENGINE" >/dev/null || die "container engine CLI '$ENGINE' not found"
[ -f "$STUB" ] || die "stub agent script not found at $STUB"

if [ "$(id -u)" -ne 0 ]; then
  # debootstrap, and extracting a rootfs with its owners and device nodes, need root.
  if [ "$ENGINE" = podman ]; then
    die "run as root: images built via sudo would land in root's podman storage, not in your rootless one"
  fi
  command -v sudo >/dev/null || die "must run as root (debootstrap needs it) or have sudo"
  log "not root, re-running with sudo"
  exec sudo --preserve-env=ENGINE,CLAUDERON_TEST_CACHE,DEBIAN_MIRROR,http_proxy,https_proxy "$0" "$@"
fi

# ---------------------------------------------------------------------------
# helpers

TMPDIRS=()
cleanup() {
  local d
  for d in "${TMPDIRS[@]+"${TMPDIRS[@]}"}"; do
    [ -n "$d" ] && [ -e "$d" ] && rm -rf --one-file-system "$d"
  done
  return 0
}
trap cleanup EXIT

mktmp() { # mktmp VAR: create a temp dir inside the cache dir, registered for cleanup
  local d
  d="$(mktemp -d "$CACHE/tmp.XXXXXXXX")"
  TMPDIRS+=("$d")
  printf -v "$1" '%s' "$d"
}

# Current revision of an image recipe: hash of the recipe version, the
# parameters and the stub agent, so that editing the stub invalidates images.
recipe_rev() { # recipe_rev NAME
  { printf '%s\n' "$RECIPE_VERSION" "$1" "$SUITE" "$INCLUDE"; cat "$STUB"; } \
    | sha256sum | cut -c1-16
}

image_exists() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

image_id() { "$ENGINE" image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

image_rev() {
  "$ENGINE" image inspect --format "{{ index .Config.Labels \"$REV_LABEL\" }}" "$1" 2>/dev/null || true
}

# needs_build NAME REV: 0 if the image must be (re)built
needs_build() {
  local name="$1" rev="$2" have
  if [ "$REBUILD" = 1 ]; then
    log "$name: rebuilding (--rebuild)"
    return 0
  fi
  if ! image_exists "$name"; then
    log "$name: not present in $ENGINE, building"
    return 0
  fi
  have="$(image_rev "$name")"
  if [ "$have" != "$rev" ]; then
    log "$name: present in $ENGINE but built from another recipe (label ${have:-none}, want $rev), rebuilding"
    return 0
  fi
  log "$name: already present in $ENGINE (rev $rev), skipping"
  return 1
}

# import_dir DIR NAME REV [--change ...]...: import DIR's contents as image NAME
import_dir() {
  local dir="$1" name="$2" rev="$3"
  shift 3
  log "$name: importing into $ENGINE"
  local id old
  old="$(image_id "$name")"
  id="$(tar --numeric-owner -C "$dir" -c . \
    | "$ENGINE" import --change "LABEL $REV_LABEL=$rev" "$@" - "$name" | tail -n 1)" \
    || die "$name: $ENGINE import failed"
  image_exists "$name" || die "$name: imported, but '$ENGINE image inspect $name' fails"
  # Drop the image this one replaces, unless something still uses it.
  if [ -n "$old" ] && [ "$old" != "$(image_id "$name")" ]; then
    "$ENGINE" rmi "$old" >/dev/null 2>&1 || true
  fi
  log "$name: done ($id)"
}

# Debian mirror for debootstrap: the first enabled `deb` source for $SUITE in
# apt's configuration (one-line *.list or deb822 *.sources format).
detect_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "$DEBIAN_MIRROR"
    return
  fi
  local f uri=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri="$(awk -v suite="$SUITE" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f")"
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ]; then
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      uri="$(awk -v suite="$SUITE" '
        function flush() {
          if (!done && types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " suite " ") && uris != "") {
            split(uris, u, " "); print u[1]; done = 1
          }
          types = ""; suites = ""; uris = ""; enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
          key = tolower($1); sub(/:$/, "", key)
          val = $0; sub(/^[^:]*:[ \t]*/, "", val)
          if (key == "types") types = val
          else if (key == "suites") suites = val
          else if (key == "uris") uris = val
          else if (key == "enabled") enabled = tolower(val)
        }
        END { flush() }' "$f")"
      [ -n "$uri" ] && break
    done
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# ---------------------------------------------------------------------------
# rootfs tarball (cached, engine independent)

ROOTFS_TAR="$CACHE/rootfs-$SUITE-minbase-$(printf '%s' "$INCLUDE" | sha256sum | cut -c1-12).tar"

ensure_rootfs() {
  if [ -s "$ROOTFS_TAR" ] && [ "$REBUILD_ROOTFS" = 0 ]; then
    log "rootfs: using cached $ROOTFS_TAR"
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install debootstrap)"
  local mirror dir start
  mirror="$(detect_mirror)"
  mktmp dir
  log "rootfs: debootstrap --variant=minbase --include=$INCLUDE $SUITE from $mirror"
  start=$SECONDS
  if ! debootstrap --variant=minbase --include="$INCLUDE" \
      "$SUITE" "$dir/root" "$mirror" >"$dir/debootstrap.log" 2>&1; then
    tail -n 40 "$dir/debootstrap.log" >&2 || true
    [ -f "$dir/root/debootstrap/debootstrap.log" ] && tail -n 40 "$dir/root/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (log above)"
  fi
  log "rootfs: debootstrap took $((SECONDS - start))s"
  # Trim caches that are useless in the image.
  bash -c '
    set -e
    root="$1"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
           "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/log/apt/* \
           "$root"/debootstrap
  ' _ "$dir/root"
  log "rootfs: writing $ROOTFS_TAR"
  tar --numeric-owner -C "$dir/root" -cf "$ROOTFS_TAR.partial" .
  mv -f "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  log "rootfs: cached ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

# ---------------------------------------------------------------------------
# images

build_base() {
  local rev dir
  rev="$(recipe_rev "$BASE_IMAGE")"
  needs_build "$BASE_IMAGE" "$rev" || return 0
  ensure_rootfs
  mktmp dir
  log "$BASE_IMAGE: assembling rootfs"
  tar --numeric-owner -C "$dir" -xf "$ROOTFS_TAR"
  bash -c '
    set -e
    root="$1" stub="$2"
    install -d -m 0755 "$root/usr/local/bin"
    install -m 0755 -o 0 -g 0 "$stub" "$root/usr/local/bin/claude"
    install -m 0755 -o 0 -g 0 "$stub" "$root/usr/local/bin/codex"
    install -d -m 0777 -o 0 -g 0 "$root/workspace"
    chmod 0777 "$root/workspace"
    # Workspaces are bind-mounted from the host and owned by another uid.
    printf "[safe]\n\tdirectory = *\n" > "$root/etc/gitconfig"
    chmod 0644 "$root/etc/gitconfig"
  ' _ "$dir" "$STUB"
  import_dir "$dir" "$BASE_IMAGE" "$rev" --change 'CMD ["/bin/bash"]'
}

# npm_package SPEC FILE: the path of the package's tarball FILE in the cache
# (npm pack SPEC, once).
npm_package() {
  local pkg="$CACHE/npm/$2"
  if [ ! -s "$pkg" ]; then
    command -v npm >/dev/null || die "npm is missing (apt-get install npm): it fetches $1"
    mkdir -p "$CACHE/npm"
    log "npm pack $1"
    (cd "$CACHE/npm" && npm pack --silent "$1" >/dev/null) || die "npm pack $1 failed"
  fi
  printf '%s' "$pkg"
}

# The npm package's two static musl binaries, fetched once into the cache.
fetch_codex() { # fetch_codex DIR: puts codex and codex-code-mode-host in DIR
  local pkg bin=package/vendor/x86_64-unknown-linux-musl/bin
  pkg="$(npm_package "@openai/codex@$CODEX_VERSION-linux-x64" "openai-codex-$CODEX_VERSION-linux-x64.tgz")"
  tar -xzf "$pkg" -C "$1" "$bin/codex" "$bin/codex-code-mode-host"
  mv "$1/$bin/codex" "$1/$bin/codex-code-mode-host" "$1/"
  rm -rf "$1/package"
}

# The glibc Claude Code CLI (one native binary), fetched once into the cache.
fetch_claude() { # fetch_claude DIR: puts claude in DIR
  local pkg
  pkg="$(npm_package "@anthropic-ai/claude-code-linux-x64@$CLAUDE_VERSION" "anthropic-ai-claude-code-linux-x64-$CLAUDE_VERSION.tgz")"
  tar -xzf "$pkg" -C "$1" package/claude
  mv "$1/package/claude" "$1/claude"
  rm -rf "$1/package"
}

# agent_image IMAGE AGENT VERSION FETCH: the base rootfs with the real CLI
# (FETCH DIR puts its binaries in DIR) in /usr/local/bin, labelled as the
# agent's image; the same rootfs as the stub's, so a bare run and a session
# run the same bytes.
agent_image() {
  local image="$1" agent="$2" version="$3" fetch="$4" rev dir
  rev="$(recipe_rev "$image-$version")"
  needs_build "$image" "$rev" || return 0
  ensure_rootfs
  mktmp dir
  mkdir -p "$dir/root" "$dir/bin"
  tar --numeric-owner -C "$dir/root" -xf "$ROOTFS_TAR"
  "$fetch" "$dir/bin"
  install -d -m 0755 "$dir/root/usr/local/bin"
  # (codex finds codex-code-mode-host next to itself: without it, no tools)
  install -m 0755 "$dir/bin/"* "$dir/root/usr/local/bin/"
  install -d -m 0777 "$dir/root/workspace"
  chmod 0777 "$dir/root/workspace"
  printf "[safe]\n\tdirectory = *\n" > "$dir/root/etc/gitconfig"
  import_dir "$dir/root" "$image" "$rev" --change 'CMD ["/bin/bash"]' \
    --change "LABEL org.clauderon.agent=$agent org.clauderon.agent.version=$version"
}

build_codex() { agent_image "$CODEX_IMAGE" codex "$CODEX_VERSION" fetch_codex; }

build_codex_cli() {
  local rev dir
  # Only Podman mounts images into containers.
  [ "$ENGINE" = podman ] || return 0
  rev="$(recipe_rev "$CODEX_CLI_IMAGE-$CODEX_VERSION")"
  needs_build "$CODEX_CLI_IMAGE" "$rev" || return 0
  mktmp dir
  fetch_codex "$dir"
  chmod 0755 "$dir/codex" "$dir/codex-code-mode-host"
  import_dir "$dir" "$CODEX_CLI_IMAGE" "$rev" --change "LABEL org.clauderon.agent-cli=codex"
}

# The speed benchmark's and the real-CLI test's image.
build_claude() { agent_image "$CLAUDE_IMAGE" claude "$CLAUDE_VERSION" fetch_claude; }

# The base image without any agent: sessions mount the agent CLI from its image.
build_noagent() {
  local rev dir
  rev="$(recipe_rev "$NOAGENT_IMAGE")"
  needs_build "$NOAGENT_IMAGE" "$rev" || return 0
  ensure_rootfs
  mktmp dir
  tar --numeric-owner -C "$dir" -xf "$ROOTFS_TAR"
  install -d -m 0777 "$dir/workspace"
  chmod 0777 "$dir/workspace"
  import_dir "$dir" "$NOAGENT_IMAGE" "$rev" --change 'CMD ["/bin/bash"]'
}

# A tiny musl image (like Alpine): musl's loader, busybox as /bin/sh and
# the coreutils, and a real (static) bash, so static agents such as Codex
# run in it for real. Its curl is a dangling busybox link (as is `command -v`
# enough for the probe): hooks cannot report from it.
build_musl() {
  local rev dir loader
  rev="$(recipe_rev "$MUSL_IMAGE-bash-static-ca")"
  needs_build "$MUSL_IMAGE" "$rev" || return 0
  if ! is_static /bin/busybox || ! ls /lib/ld-musl-*.so.1 >/dev/null 2>&1 || [ ! -x /bin/bash-static ]; then
    log "$MUSL_IMAGE: installing busybox-static, musl and bash-static with apt-get"
    apt_install busybox-static musl bash-static
  fi
  loader="$(ls /lib/ld-musl-*.so.1 | head -n 1)"
  mktmp dir
  mkdir -p "$dir/root/bin" "$dir/root/lib" "$dir/root/tmp" "$dir/root/workspace"
  chmod 1777 "$dir/root/tmp"
  chmod 0777 "$dir/root/workspace"
  install -m 0755 /bin/busybox "$dir/root/bin/busybox"
  for tool in sh curl mkdir chmod cat date id env ls rm mv cp head grep sed; do ln -s busybox "$dir/root/bin/$tool"; done
  install -m 0755 /bin/bash-static "$dir/root/bin/bash"
  # Alpine's CA bundle path (ca-certificates-bundle).
  install -d "$dir/root/etc/ssl"
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$dir/root/etc/ssl/cert.pem"
  cp -L "$loader" "$dir/root/lib/"
  import_dir "$dir/root" "$MUSL_IMAGE" "$rev" --change 'CMD ["/bin/sh"]'
}

build_nobash() {
  local rev dir
  rev="$(recipe_rev "$NOBASH_IMAGE")"
  needs_build "$NOBASH_IMAGE" "$rev" || return 0
  if ! is_static /bin/busybox && command -v apt-get >/dev/null; then
    log "$NOBASH_IMAGE: installing busybox-static with apt-get"
    apt_install busybox-static \
      || log "$NOBASH_IMAGE: could not install busybox-static, building a shell-less image instead"
  fi
  mktmp dir
  mkdir -p "$dir/root/bin" "$dir/root/tmp"
  chmod 1777 "$dir/root/tmp"
  if is_static /bin/busybox; then
    install -m 0755 /bin/busybox "$dir/root/bin/busybox"
    ln -s busybox "$dir/root/bin/sh"
    import_dir "$dir/root" "$NOBASH_IMAGE" "$rev" --change 'CMD ["/bin/sh"]'
  else
    printf 'clauderon test image without bash\n' > "$dir/root/README"
    import_dir "$dir/root" "$NOBASH_IMAGE" "$rev" --change 'CMD ["/bin/sh"]'
  fi
  # Sanity check: there must be no bash in this image.
  if "$ENGINE" run --rm --entrypoint bash "$NOBASH_IMAGE" -c true >/dev/null 2>&1; then
    die "$NOBASH_IMAGE: 'bash' unexpectedly runs in this image"
  fi
}

# is_static FILE: FILE is an executable that needs no shared libraries
# (a dynamically linked busybox would need its libraries in the image).
is_static() {
  [ -x "$1" ] && ! ldd "$1" >/dev/null 2>&1
}

apt_install() {
  local env=(env DEBIAN_FRONTEND=noninteractive)
  "${env[@]}" apt-get install -y -q --no-install-recommends "$@" >&2 \
    || { apt-get update -q >&2 && "${env[@]}" apt-get install -y -q --no-install-recommends "$@" >&2; }
}

# ---------------------------------------------------------------------------

mkdir -p "$CACHE"
# Serialize concurrent runs (e.g. parallel test processes) on the cache and engine.
exec 9>>"$CACHE/.lock"
if command -v flock >/dev/null; then
  flock -n 9 || { log "waiting for another build-test-images.sh run to finish"; flock 9; }
fi

"$ENGINE" info >/dev/null 2>&1 || die "'$ENGINE info' fails: is the $ENGINE engine running?"
log "engine: $ENGINE, cache: $CACHE"
total=$SECONDS
build_base
build_nobash
build_noagent
build_musl
build_codex
build_codex_cli
build_claude
log "all images ready for $ENGINE in $((SECONDS - total))s"
