#!/usr/bin/env bash
# Creates .venv with the Python packages the reference checks need; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import pyarrow, numpy, moto.server, jsonschema, duckdb, pyspark, sqlglot, polars" 2>/dev/null; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
fi
