#!/usr/bin/env bash
# Checks laketidy against the shared reference workload and its independent checker:
#   scripts/check-reference.sh SHARED_BENCH_DIR [PROFILE...]   (default profiles: ci small)
# For each profile: generate the raw lake, compact half of the arrival hours, then the
# rest (the second run must rewrite only partitions that received rows), check the
# result with check_lake.py, and re-run to see that nothing is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd "${1:?usage: $0 SHARED_BENCH_DIR [PROFILE...]}" && pwd)
shift
profiles=("${@:-ci}")
[ $# -eq 0 ] && profiles=(ci small)

scripts/venv.sh
py=.venv/bin/python
# release by default; LAKETIDY_PROFILE=dev reuses the test build (no second full compile)
profile=${LAKETIDY_PROFILE:-release}
cargo build --profile "$profile" --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/$([ "$profile" = dev ] && echo debug || echo "$profile")/laketidy

for profile in "${profiles[@]}"; do
    work=$PWD/.work/reference/$profile
    rm -rf "$work"
    mkdir -p "$work/staging"
    echo "== $profile: generating"
    $py "$bench/gen_lake.py" "$work/raw" --profile "$profile" >/dev/null
    # hold back the second half of the arrival hours for the incremental run
    mapfile -t hours < <(cd "$work/raw" && find . -mindepth 2 -maxdepth 2 -type d -name 'hour=*' | sort)
    half=$(( ${#hours[@]} / 2 ))
    for h in "${hours[@]:$half}"; do
        mkdir -p "$work/staging/$(dirname "$h")"
        mv "$work/raw/$h" "$work/staging/$h"
    done
    cat > "$work/events.json" <<JSON
{
  "name": "events",
  "source": "raw",
  "target": "lake",
  "partition_by": [
    {"name": "dt", "from": "event_time", "transform": "day"},
    {"name": "hour", "from": "event_time", "transform": "hour"}
  ],
  "sort_by": ["user_id", "event_time"],
  "dedup": {"key": ["event_id"], "keep": "latest", "order_by": "received_at"},
  "target_file_size": "128MiB",
  "compression": "zstd(3)"
}
JSON
    echo "== $profile: first half (${half} of ${#hours[@]} arrival hours)"
    /usr/bin/time -f "   %e s, %M KiB peak" "$bin" compact "$work/events.json" --no-progress
    for h in "${hours[@]:$half}"; do
        mkdir -p "$work/raw/$(dirname "$h")"
        mv "$work/staging/$h" "$work/raw/$h"
    done
    echo "== $profile: second half"
    /usr/bin/time -f "   %e s, %M KiB peak" "$bin" compact "$work/events.json" --no-progress --output json > "$work/second.json"
    $py scripts/reference/expect_rewritten.py "$work/raw" "${hours[@]:$half}" --report "$work/second.json"
    "$bin" files "$work/events.json" > "$work/live.txt"
    $py "$bench/check_lake.py" "$work/lake" --expected "$work/raw/_expected.json" \
        --sorted-by user_id,event_time --files "$work/live.txt"
    echo "== $profile: re-run"
    "$bin" compact "$work/events.json" --output json > "$work/rerun.json"
    $py - "$work/rerun.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["status"] == "nothing_to_do" and doc["version"] is None, doc
print("   re-run: nothing to do, no new version")
PY
done
echo "reference checks passed: ${profiles[*]}"
echo "reference: ${#profiles[@]} passed, 0 failed"
