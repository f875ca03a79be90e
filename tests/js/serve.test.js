// scripts/serve.mjs: what it serves, with which headers, and what it rejects.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { request } from 'node:http';
import { parsePort, startServer } from '../../scripts/serve.mjs';

let server;
let port;
const logLines = [];

beforeAll(async () => {
  server = await startServer(0, { log: (line) => logLines.push(line) });
  port = server.address().port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

// Sends a raw request, so paths with ".." reach the server unnormalised.
function get(path, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve.mjs', () => {
  test('listens on 127.0.0.1 only', () => {
    expect(server.address().address).toBe('127.0.0.1');
  });

  test('root redirects to the demo page', async () => {
    const res = await get('/');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/web/demo/');
  });

  test.each([
    ['/web/demo/', 'text/html; charset=utf-8'],
    ['/web/demo/main.js', 'text/javascript; charset=utf-8'],
    ['/web/demo/demo.css', 'text/css; charset=utf-8'],
    ['/web/lib/attnkit.js', 'text/javascript; charset=utf-8'],
    ['/dist/attnkit.mjs', 'text/javascript; charset=utf-8'],
    ['/dist/attnkit.wasm', 'application/wasm'],
  ])('serves %s as %s', async (path, type) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
  });

  test('sends the cross-origin isolation headers', async () => {
    const res = await get('/web/demo/');
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(res.headers['cross-origin-embedder-policy']).toBe('require-corp');
  });

  test('wasm file starts with the wasm magic', async () => {
    const res = await get('/dist/attnkit.wasm');
    expect([...res.body.subarray(0, 4)]).toEqual([0x00, 0x61, 0x73, 0x6d]);
  });

  test.each([
    '/package.json',
    '/web/../package.json',
    '/web/demo/../../package.json',
    '/web/%2e%2e/package.json',
    '/web/demo/..%2f..%2fpackage.json',
    '/web/demo/%2e%2e%2f%2e%2e%2fscripts/serve.mjs',
    '/web/demo\\..\\..\\package.json',
    '/web/demo/%00index.html',
    '/node_modules/jest/package.json',
    '/scripts/serve.mjs',
    '/web/demo/%E0%A4%A',
    '/web/demo/missing.js',
  ])('rejects %s', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain('"name"');
    expect(logLines.at(-1)).toBe(`serve: 404 GET ${path}`);
  });

  test('rejects methods other than GET and HEAD', async () => {
    const res = await get('/web/demo/', 'POST');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  test('HEAD sends headers without a body', async () => {
    const res = await get('/dist/attnkit.wasm', 'HEAD');
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
  });

  test('port from flag, variable or default', () => {
    expect(parsePort([], {})).toBe(8080);
    expect(parsePort([], { PORT: '9000' })).toBe(9000);
    expect(parsePort(['--port', '9001'], { PORT: '9000' })).toBe(9001);
    expect(parsePort(['--port=0'], {})).toBe(0);
    expect(() => parsePort(['--port', 'abc'], {})).toThrow("serve: port must be an integer from 0 to 65535, got 'abc'");
    expect(() => parsePort(['--port', '70000'], {})).toThrow(RangeError);
    expect(() => parsePort(['--port'], {})).toThrow(RangeError);
    expect(() => parsePort(['--verbose'], {})).toThrow("serve: unknown argument '--verbose'; expected --port N");
  });
});
