// The example of the README's "RoPE options" section runs as written.
import { expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('README RoPE example runs', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('## RoPE options'));
  const example = section.match(/```js\n([\s\S]*?)```/)[1];

  // The example imports the package itself, so it runs as a user pastes it.
  expect(example).toContain("from 'attnkit'");
  const script = [
    example,
    'console.log(JSON.stringify({ dims: q.dims, rows: tables.cosCache.dims, finite: q.data.every(Number.isFinite) }));',
  ].join('\n');
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root }).toString();
  const lines = output.trim().split('\n');
  const result = JSON.parse(lines[lines.length - 1]);
  expect(result.dims).toEqual([1, 32, 1, 128]);
  expect(result.rows).toEqual([8192, 64]);
  expect(result.finite).toBe(true);
});
