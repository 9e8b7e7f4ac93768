#!/usr/bin/env bash
# The reference job on S3 with a DynamoDB manifest, checked by the shared checker:
#   scripts/with-moto.sh scripts/check-reference-s3.sh SHARED_BENCH_DIR [PROFILE]
# Generates the lake, uploads it to the test S3 server, compacts it into S3 through a
# DynamoDB manifest, downloads the live files and runs check_lake.py on them.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd "${1:?usage: $0 SHARED_BENCH_DIR [PROFILE]}" && pwd)
profile=${2:-ci}
: "${LAKETIDY_TEST_MOTO:?run under scripts/with-moto.sh}"
py=.venv/bin/python
profile_dir=${LAKETIDY_PROFILE:-release}
cargo build --profile "$profile_dir" --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/$([ "$profile_dir" = dev ] && echo debug || echo "$profile_dir")/laketidy

work=$PWD/.work/reference-s3/$profile
rm -rf "$work"
mkdir -p "$work"
id="ref-$profile-$(date +%s)"
echo "== $profile on S3 + DynamoDB: generating and uploading"
$py "$bench/gen_lake.py" "$work/raw" --profile "$profile" >/dev/null
$py scripts/reference/s3sync.py up "$work/raw" "s3://laketidy-raw/$id"
cat > "$work/events.json" <<JSON
{
  "name": "events",
  "source": "s3://laketidy-raw/$id/",
  "target": "s3://laketidy-lake/$id/",
  "partition_by": [
    {"name": "dt", "from": "event_time", "transform": "day"},
    {"name": "hour", "from": "event_time", "transform": "hour"}
  ],
  "sort_by": ["user_id", "event_time"],
  "dedup": {"key": ["event_id"], "keep": "latest", "order_by": "received_at"}
}
JSON
export LAKETIDY_MANIFEST="dynamodb://laketidy-$id"
"$bin" init
/usr/bin/time -f "   %e s, %M KiB peak" "$bin" compact "$work/events.json" --no-progress
"$bin" files "$work/events.json" > "$work/live-urls.txt"
$py scripts/reference/s3sync.py down "$work/live-urls.txt" "$work/download" > "$work/live.txt"
$py "$bench/check_lake.py" "$work/download/$id" --expected "$work/raw/_expected.json" \
    --sorted-by user_id,event_time --files "$work/live.txt"
"$bin" verify "$work/events.json"
echo "reference-s3: 1 passed, 0 failed"
