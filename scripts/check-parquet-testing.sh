#!/usr/bin/env bash
# Every file of the Apache parquet-testing corpus (given as DIR; CI passes
# ../shared/parquet-testing) either compacts to exactly the rows pyarrow reads from it,
# or is refused with a clear error naming it (exit 3). A panic, a hang, another exit
# code or different rows fails. Uses the debug build unless LAKETIDY_PROFILE=release.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:?usage: scripts/check-parquet-testing.sh PARQUET_TESTING_DIR}
scripts/venv.sh
profile=${LAKETIDY_PROFILE:-dev}
cargo build --quiet --locked --profile "$profile"
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
.venv/bin/python scripts/reference/parquet_corpus.py "${CARGO_TARGET_DIR:-target}/$dir/laketidy" "$corpus"
