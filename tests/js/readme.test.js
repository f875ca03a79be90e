// The README's usage example runs as written, through Node's own resolution
// of the package name, so the README cannot drift from the API.
import { expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('README usage example runs', () => {
  const readme = readFileSync(new URL('README.md', `file://${root}`), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThan(0);
  const example = blocks[0];
  expect(example).toContain("from 'attnkit'");

  // Print what the example computed so the test can check it.
  const script = `${example}\nconsole.log(JSON.stringify({ dims: out.dims, rotated: rotated.dims, simd: ak.simd }));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root }).toString();
  const lines = output.trim().split('\n');
  const result = JSON.parse(lines[lines.length - 1]);
  expect(result.dims).toEqual([2, 4, 8]);
  expect(result.rotated).toEqual([1, 4, 2, 8]);
  expect(result.simd).toBe('wasm-simd128');
});
