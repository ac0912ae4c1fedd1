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
# nextest gives every test a time limit (.config/nextest.toml), so a hang
# fails with its name; cargo test has none, so it is not a fallback here:
# ci-provision.sh installs nextest when it is missing.
cargo nextest --version >/dev/null 2>&1 \
  || { echo "cargo-nextest is missing: run scripts/ci-provision.sh (or cargo install --locked cargo-nextest)" >&2; exit 1; }
profile=default
if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
  profile=ci
fi
cargo nextest run --profile "$profile" --no-fail-fast "$@"
