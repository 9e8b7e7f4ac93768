#!/usr/bin/env bash
# CI smoke check on a fixture lake: compact it, verify it, and make sure a second run
# has nothing to do. Any failure exits non-zero with laketidy's own exit code.
#   LAKETIDY=path/to/laketidy TABLE=fixtures/events/events.json examples/ci/smoke-check.sh
set -euo pipefail
laketidy=${LAKETIDY:-laketidy}
table=${TABLE:-fixtures/events/events.json}

"$laketidy" compact "$table" --no-progress
"$laketidy" verify "$table"
second=$("$laketidy" compact "$table" --output json)
case "$second" in
    *'"status": "nothing_to_do"'*) echo "smoke check passed: compacted, verified, idempotent" ;;
    *) echo "a second compact should have had nothing to do:" >&2; echo "$second" >&2; exit 1 ;;
esac
