#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine or a provisioned one:
# provisions what the tests need (Docker engine, Podman, test images), then
# checks formatting and lints, then runs every test against the real engines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/ci-provision.sh

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

# Snapshots are compared, never rewritten, here.
export INSTA_UPDATE=no
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
