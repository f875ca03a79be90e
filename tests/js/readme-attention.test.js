// The examples of the README's "Attention options" section run as written,
// and each computes what its comment states.
import { expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(new URL('README.md', `file://${root}`), 'utf8');
const section = readme.split('## Attention options')[1]?.split('\n## ')[0] ?? '';
const examples = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

// Runs one example and prints `probe` (an expression over its variables).
function runExample(code, probe) {
  const script = `${code}\nconsole.log(JSON.stringify(${probe}));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root }).toString();
  const lines = output.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

test('section has the causal, GQA and KV-cache examples', () => {
  expect(examples).toHaveLength(3);
});

test('causal example: the first row returns the first value row', () => {
  const result = runExample(examples[0], '{ dims: out.dims, row0: Array.from(out.data.slice(0, 4)), x0: Array.from(x.data.slice(0, 4)) }');
  expect(result.dims).toEqual([1, 2, 5, 4]);
  result.row0.forEach((value, i) => expect(value).toBeCloseTo(result.x0[i], 6));
});

test('GQA example: output dims', () => {
  expect(runExample(examples[1], 'out.dims')).toEqual([1, 6, 128]);
});

test('KV-cache example: the cache grows by one per step', () => {
  expect(runExample(examples[2], 'cache.pastKey.dims')).toEqual([1, 2, 3, 8]);
});
