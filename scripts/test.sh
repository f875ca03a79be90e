#!/usr/bin/env bash
# Runs every test suite: the native GoogleTest suite through CTest, the same
# suite built with AddressSanitizer and UndefinedBehaviorSanitizer, a bounded
# libFuzzer run and the Jest suites, after installing what is missing and
# building all targets. Ends with one line "N passed, N failed" that counts
# all suites, and exits non-zero when any test failed or a suite could not
# run.
#
# ATTNKIT_FUZZ_SECONDS sets the fuzzer's run time (default 60; 0 skips the
# run, which then counts as neither passed nor failed).
set -uo pipefail
cd "$(dirname "$0")/.."

# ATTNKIT_NEED_BROWSER=1: the demo page's browser test needs Debian's chromium.
ATTNKIT_NEED_BROWSER=1 bash scripts/ensure-deps.sh || { echo "test: installing dependencies failed"; echo "0 passed, 1 failed"; exit 1; }
if ! node scripts/build.mjs; then
  echo "test: the build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

total_passed=0
total_failed=0
add_counts() {  # suite passed failed
  echo "test: $1: $2 passed, $3 failed"
  total_passed=$((total_passed + $2))
  total_failed=$((total_failed + $3))
}

# Adds the counts of a CTest log: CTest closes with
# "N% tests passed, F tests failed out of T".
add_ctest_counts() {  # suite log
  local summary failed total
  summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$2" | tail -1)
  if [ -n "$summary" ]; then
    failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    total=$(echo "$summary" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
    add_counts "$1" $((total - failed)) "$failed"
  else
    add_counts "$1" 0 1
  fi
}

# Native suite.
ctest --test-dir build/native --output-on-failure -j2 2>&1 | tee build/ctest.log
add_ctest_counts ctest build/ctest.log

# Native suite and fuzz corpus replay with the sanitizers. A report stops
# the test program (-fno-sanitize-recover=all), so CTest counts it as
# failed; only the Sanitizer.* canaries expect a report.
if node scripts/build.mjs --sanitize; then
  ctest --test-dir build/sanitize --output-on-failure -j2 2>&1 | tee build/ctest-sanitize.log
  add_ctest_counts ctest-sanitize build/ctest-sanitize.log

  fuzz_seconds=${ATTNKIT_FUZZ_SECONDS:-60}
  if ! [[ "$fuzz_seconds" =~ ^[0-9]+$ ]]; then
    echo "test: ATTNKIT_FUZZ_SECONDS must be a whole number of seconds, got '$fuzz_seconds'"
    add_counts fuzz 0 1
  elif [ "$fuzz_seconds" -gt 0 ]; then
    if bash scripts/fuzz.sh "$fuzz_seconds"; then
      add_counts fuzz 1 0
    else
      add_counts fuzz 0 1
    fi
  fi
else
  echo "test: the sanitizer build failed"
  add_counts ctest-sanitize 0 1
fi

# JavaScript suites (Jest in Node, including the conformance runner).
rm -f build/jest.json
node --experimental-vm-modules node_modules/jest/bin/jest.js --json --outputFile=build/jest.json 2>&1 \
  | grep -v 'ExperimentalWarning\|--trace-warnings'
if [ -f build/jest.json ]; then
  read -r jest_passed jest_failed jest_broken < <(node -e '
    const r = require("./build/jest.json");
    const broken = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests, broken);')
  add_counts jest "$jest_passed" $((jest_failed + jest_broken))
else
  add_counts jest 0 1
fi

echo "${total_passed} passed, ${total_failed} failed"
[ "$total_failed" -eq 0 ]
