#!/usr/bin/env bash
# Builds the release binary and runs the reference benchmark (scripts/bench.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
.venv/bin/python -c "import duckdb" 2>/dev/null || .venv/bin/pip install --quiet "duckdb>=1.1"
cargo build --release --quiet
exec .venv/bin/python scripts/bench.py "$@"
