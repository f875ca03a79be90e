#!/usr/bin/env bash
# Runs the libFuzzer target build/sanitize/attnkit_fuzz for a number of
# seconds (default 3600) on one core, starting from the committed seed
# corpus. New inputs go to build/fuzz-corpus, so the committed corpus
# only changes by hand. An input that crashes is written to
# build/fuzz-artifacts/; after fixing the bug, copy it into
# tests/fuzz/regressions/ so CTest replays it from then on.
#
#   bash scripts/fuzz.sh [seconds]
# Build the target first with: node scripts/build.mjs --sanitize
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-3600}
fuzzer=build/sanitize/attnkit_fuzz
if [ ! -x "$fuzzer" ]; then
  echo "fuzz: $fuzzer not found; build it with 'node scripts/build.mjs --sanitize'"
  exit 1
fi

mkdir -p build/fuzz-corpus build/fuzz-artifacts
echo "fuzz: running $fuzzer for $seconds s"
# -max_len bounds each input, which with the fuzzer's own size limits keeps
# every call small. -rss_limit_mb stops the run if memory use grows.
if "$fuzzer" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix=build/fuzz-artifacts/ build/fuzz-corpus tests/fuzz/corpus tests/fuzz/regressions \
  > build/fuzz.log 2>&1; then
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' build/fuzz.log || true
  echo "fuzz: no crash in $seconds s"
else
  tail -40 build/fuzz.log
  echo "fuzz: the fuzzer found a crash; the input is in build/fuzz-artifacts/ (full log: build/fuzz.log)"
  exit 1
fi
