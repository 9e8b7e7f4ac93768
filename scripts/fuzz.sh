#!/usr/bin/env bash
# Fuzzes the table-definition parser, the partition-path escaper and the DDL quoting
# for a bounded time each (cargo-fuzz, libFuzzer; needs rustup's nightly toolchain).
#
#   scripts/fuzz.sh                    every target for 60 s
#   scripts/fuzz.sh --seconds 600      the long runs (not CI's)
#   scripts/fuzz.sh ddl_quote          one target
#
# Installs cargo-fuzz if it is missing. Starts from fuzz/seeds/TARGET and keeps what
# it learns in fuzz/corpus/TARGET (ignored by git). A crash stops the run with exit 1
# and leaves its input in fuzz/artifacts/TARGET/: turn it into a unit test next to
# the code it broke, then fix the code.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(definition partition_path ddl_quote)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd fuzz
cargo +nightly fuzz build
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "fuzzing $target for ${seconds}s" >&2
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
done
