#!/usr/bin/env node
// Conformance runner: node tests/conformance/run.mjs DIR [DIR...]
// Runs every case JSON under the folders through the npm API, prints one
// line per failing case and then "N passed, N failed"; exits 1 on any
// failure and 2 on bad usage.
import { runConformance } from './conformance.mjs';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node tests/conformance/run.mjs DIR [DIR...]');
  process.exit(2);
}

const results = await runConformance(dirs);
let passed = 0;
for (const result of results) {
  if (result.ok) passed += 1;
  else console.log(`FAIL ${result.name}: ${result.message}`);
}
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
