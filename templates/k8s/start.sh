#!/usr/bin/env bash
# clauderon on Kubernetes: the pod's first program. The session's branch
# arrives by `git push` over `kubectl exec` (no clone from a remote, no
# `kubectl cp`); this waits for it, checks it out once, then runs the same
# entrypoint as every other backend. Values come from the environment only.
set -uo pipefail

say() { printf 'clauderon: %s\n' "$*" >&2; }
files=/etc/clauderon/session
branch="${CLAUDERON_BRANCH:?CLAUDERON_BRANCH is not set}"
cd /workspace || exit 1
# The readiness marker is this pod's only once the pod's uid is next to it
# (the volume outlives pods: a marker left by the last one must not count).
rm -f .clauderon/ready 2>/dev/null
mkdir -p .clauderon && printf '%s\n' "${CLAUDERON_POD_UID:-}" >.clauderon/pod-uid

if ! command -v git >/dev/null 2>&1; then
  say "git is not installed in this image: the session's code cannot arrive (install git in the image)"
  exit 127
fi
if [ ! -d .git ]; then
  # An unborn HEAD on another branch, so the push of $branch is accepted.
  git init -q . && git symbolic-ref HEAD refs/heads/clauderon-waiting || exit 1
  cat "$files/exclude" >>.git/info/exclude
fi
if [ "$(git symbolic-ref -q HEAD)" != "refs/heads/$branch" ]; then
  say "waiting for clauderon to push branch $branch"
  until git rev-parse -q --verify "refs/heads/$branch^{commit}" >/dev/null; do
    sleep 0.2
  done
  git checkout -q "$branch" || exit 1
fi
mkdir -p "$CLAUDERON_WORKDIR" 2>/dev/null
cd "$CLAUDERON_WORKDIR" || exit 1
exec bash "$files/entrypoint.sh"
