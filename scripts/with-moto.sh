#!/usr/bin/env bash
# Runs a command with a local S3 + DynamoDB server (moto, requests serialised) on
# 127.0.0.1 and the AWS variables pointing at it; stops the server afterwards.
#   scripts/with-moto.sh COMMAND [ARG...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
.venv/bin/python scripts/moto_server.py "$port" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
    if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
        break
    fi
    if ! kill -0 $server 2>/dev/null; then
        echo "moto server failed to start:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.2
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ALLOW_HTTP=true
export AWS_ACCESS_KEY_ID=laketidy-test
export AWS_SECRET_ACCESS_KEY=laketidy-test-secret
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export LAKETIDY_TEST_MOTO="$AWS_ENDPOINT_URL"
# buckets the tests share; each test works under a prefix of its own
.venv/bin/python - <<'PY'
import boto3
s3 = boto3.client("s3")
for bucket in ("laketidy-raw", "laketidy-lake", "laketidy-manifest"):
    s3.create_bucket(Bucket=bucket)
PY
"$@"
