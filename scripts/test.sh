#!/usr/bin/env bash
# The whole test suite, from a fresh clone: formatting, lints, unit and integration
# tests (the integration tests drive the real binary on lakes they write themselves).
# S3 and DynamoDB are a local moto server that scripts/with-moto.sh installs (in
# .venv) and starts for the duration of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "cargo is needed: install Rust from https://rustup.rs" >&2
    exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# tmux drives a real pseudo-terminal in the progress-bar test
if ! command -v tmux >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq tmux >/dev/null
    else
        echo "tmux is needed for the terminal test: install it (e.g. sudo apt-get install tmux)" >&2
        exit 1
    fi
fi

# Spark (pyspark, local mode) executes the hive and spark DDL in the tests
if ! command -v java >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
    else
        echo "a Java 17+ runtime is needed for the Spark DDL test: install it (e.g. sudo apt-get install openjdk-17-jre-headless)" >&2
        exit 1
    fi
fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
scripts/with-moto.sh cargo test --locked
