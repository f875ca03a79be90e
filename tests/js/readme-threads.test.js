// The README's example of threads and ak.alloc runs as written.
import { expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('README alloc example runs', () => {
  const readme = readFileSync(new URL('README.md', `file://${root}`), 'utf8');
  const example = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('ak.alloc('));
  expect(example).toBeDefined();

  const script = `${example}\nconsole.log(JSON.stringify({ threads: ak.threads, first, disposed: out.disposed }));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root }).toString();
  const result = JSON.parse(output.trim().split('\n').pop());
  expect(result.threads).toBe(2);
  // K is zero, so every weight is equal and the output is the mean of V.
  expect(result.first).toBe(0.25);
  expect(result.disposed).toBe(true);
});
