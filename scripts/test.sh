#!/usr/bin/env bash
# The whole test suite, from a fresh clone: formatting, lints, unit and integration
# tests (the integration tests drive the real binary on lakes they write themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "cargo is needed: install Rust from https://rustup.rs" >&2
    exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
