#!/usr/bin/env bash
# Regenerates completions/ and man/ from the clap definitions (the tests check they are current).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=${CARGO_TARGET_DIR:-target}/debug/laketidy
$bin completions bash > completions/laketidy.bash
$bin completions zsh > completions/_laketidy
$bin completions fish > completions/laketidy.fish
$bin completions powershell > completions/_laketidy.ps1
$bin completions elvish > completions/laketidy.elv
rm -f man/*.1
$bin man --out-dir man >/dev/null
echo "completions/ and man/ regenerated"
